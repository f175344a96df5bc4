//! The command line: a stable contract that scripts and acceptance checks rely on.

use std::path::PathBuf;

use ardoise_domain::Money;
use clap::{Args, Parser, Subcommand, ValueEnum};

/// ardoise: a cashless payment service for bars, associations and festivals.
#[derive(Debug, Parser)]
#[command(
    name = "ardoise",
    version,
    about = "ardoise: a cashless payment service for bars, associations and festivals."
)]
pub struct Cli {
    /// A TOML file whose settings override the built-in defaults.
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// The database: sqlite://path/file.db (or a plain path) or postgres://…
    #[arg(long, global = true, env = "ARDOISE_DATABASE_URL", value_name = "URL")]
    pub database_url: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serves the POS API, /v1 and /oauth.
    Serve(ServeArgs),
    /// Applies pending database migrations.
    Migrate,
    /// Manages staff users.
    #[command(subcommand)]
    User(UserCommand),
    /// Manages OAuth2 partners.
    #[command(subcommand)]
    Partner(PartnerCommand),
    /// Manages products.
    #[command(subcommand)]
    Product(ProductCommand),
    /// Copies the database to a file, safely while serving (SQLite).
    Backup {
        /// The file to write.
        #[arg(long, value_name = "FILE")]
        to: PathBuf,
    },
    /// Exports data for the treasurer.
    #[command(subcommand)]
    Export(ExportCommand),
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The address to listen on, e.g. 127.0.0.1:8080 (port 0 picks a free port).
    #[arg(long, env = "ARDOISE_LISTEN", value_name = "ADDR")]
    pub listen: Option<String>,
    /// PEM certificate chain: serve HTTPS only.
    #[arg(long, value_name = "PEM", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key.
    #[arg(long, value_name = "PEM", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Adds a staff user.
    Add {
        /// The login: letters, digits, `.`, `_`, `-`.
        #[arg(long)]
        login: String,
        /// The password (ardoise keeps only its argon2id hash).
        #[arg(long)]
        password: String,
        /// 0 honeypot, 1 association, 2 bar member, 3 president.
        #[arg(long, value_name = "0..3")]
        rights: i64,
        /// A staff card id that logs this user in.
        #[arg(long, value_name = "ID")]
        card: Option<String>,
    },
    /// Lists the active staff users, one JSON object per line.
    List,
    /// Disables a staff user: its sessions end, its history stays. The last president
    /// cannot be disabled.
    Disable {
        /// The user to disable.
        #[arg(long)]
        login: String,
    },
    /// Sets a staff user's password; its sessions end.
    Password {
        /// The user whose password changes.
        #[arg(long)]
        login: String,
        /// The new password.
        #[arg(long)]
        password: String,
    },
    /// Changes a staff user's rights. The last president cannot be demoted.
    Rights {
        /// The user whose rights change.
        #[arg(long)]
        login: String,
        /// 0 honeypot, 1 association, 2 bar member, 3 president.
        #[arg(long, value_name = "0..3")]
        rights: i64,
    },
}

#[derive(Debug, Subcommand)]
pub enum PartnerCommand {
    /// Registers a partner and prints its credentials once, as JSON.
    Add {
        /// The partner's name, shown to administrators.
        #[arg(long)]
        name: String,
        /// Space-separated scopes, e.g. "cards:read cards:credit members:read".
        #[arg(long)]
        scopes: String,
        /// Let the partner send its key and secret with HTTP Basic on each call
        /// (`--allow-basic` alone means true).
        #[arg(long, value_name = "true|false", num_args = 0..=1, default_missing_value = "true")]
        allow_basic: Option<bool>,
        /// The largest credit of one operation, in euros (default:
        /// partners.credit_cap_operation).
        #[arg(long, value_name = "EUROS", value_parser = money)]
        credit_cap_operation: Option<Money>,
        /// The most the partner may credit in one UTC day, in euros (default:
        /// partners.credit_cap_day).
        #[arg(long, value_name = "EUROS", value_parser = money)]
        credit_cap_day: Option<Money>,
    },
    /// Lists the partners (enabled or not), one JSON object per line; never their secrets.
    List,
    /// Changes a partner's settings; what is not given is kept. Disabling it, taking away a
    /// scope or Basic authentication revokes its tokens.
    Set {
        /// The partner's client id. Client ids may start with `-` (their alphabet is
        /// `[A-Za-z0-9_-]`).
        #[arg(long, allow_hyphen_values = true)]
        client_id: String,
        /// A new name.
        #[arg(long)]
        name: Option<String>,
        /// Space-separated scopes, replacing the current ones.
        #[arg(long)]
        scopes: Option<String>,
        /// Whether the partner may use HTTP Basic on each call (`--allow-basic` alone means
        /// true).
        #[arg(long, value_name = "true|false", num_args = 0..=1, default_missing_value = "true")]
        allow_basic: Option<bool>,
        /// Enables or disables the partner (`--enabled` alone means true).
        #[arg(long, value_name = "true|false", num_args = 0..=1, default_missing_value = "true")]
        enabled: Option<bool>,
        /// The largest credit of one operation, in euros.
        #[arg(long, value_name = "EUROS", value_parser = money)]
        credit_cap_operation: Option<Money>,
        /// The most the partner may credit in one UTC day, in euros.
        #[arg(long, value_name = "EUROS", value_parser = money)]
        credit_cap_day: Option<Money>,
    },
    /// Disables a partner: its credentials stop working and its tokens are revoked.
    Disable {
        /// The partner's client id. Client ids may start with `-` (their alphabet is
        /// `[A-Za-z0-9_-]`).
        #[arg(long, allow_hyphen_values = true)]
        client_id: String,
    },
    /// Gives a partner a new secret, printed once as JSON; its tokens are revoked.
    Rotate {
        /// The partner's client id. Client ids may start with `-` (their alphabet is
        /// `[A-Za-z0-9_-]`).
        #[arg(long, allow_hyphen_values = true)]
        client_id: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum ProductCommand {
    /// Creates or updates a product; bundle prices not named are kept.
    Set {
        /// The product's name, e.g. biere (what POS `produit` names).
        #[arg(long)]
        name: String,
        /// Unit price in euros, e.g. 1.80.
        #[arg(long, value_name = "EUROS")]
        price: String,
        /// The category, created if it does not exist.
        #[arg(long)]
        category: Option<String>,
        /// A bundle price: QUANTITY=EUROS, e.g. 6=9.00 (the total for six); repeat for
        /// several.
        #[arg(long, value_name = "QTY=EUROS", value_parser = bundle)]
        bundle: Vec<(u32, Money)>,
    },
    /// Lists the products with their bundle prices, one JSON object per line.
    List,
    /// Deletes a product (its past transactions keep its name), or only one of its bundle
    /// prices with --bundle.
    Delete {
        /// The product.
        #[arg(long)]
        name: String,
        /// Delete only the bundle price of this quantity.
        #[arg(long, value_name = "QTY")]
        bundle: Option<u32>,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ExportFormat {
    Csv,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum ExportCommand {
    /// Every transaction, one row each.
    Transactions {
        /// First day included (YYYY-MM-DD).
        #[arg(long, value_name = "DATE")]
        from: Option<String>,
        /// Last day included (YYYY-MM-DD).
        #[arg(long, value_name = "DATE")]
        to: Option<String>,
        /// csv (one header line, then one line per transaction) or json (an array).
        #[arg(long, value_enum)]
        format: ExportFormat,
        /// Write here instead of standard output.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
}

/// An amount in euros as the command line gives it, e.g. `250.00`.
fn money(text: &str) -> Result<Money, String> {
    Money::parse(text).map_err(|e| e.to_string())
}

/// A bundle price as the command line gives it: `6=9.00`.
fn bundle(text: &str) -> Result<(u32, Money), String> {
    let (quantity, price) = text
        .split_once('=')
        .ok_or_else(|| format!("`{text}` is not QUANTITY=EUROS, e.g. 6=9.00"))?;
    let quantity: u32 = quantity
        .trim()
        .parse()
        .ok()
        .filter(|q| *q >= 1)
        .ok_or_else(|| format!("`{quantity}` is not a quantity of at least 1"))?;
    let price = money(price.trim())?;
    if !price.is_positive() {
        return Err(format!("`{price}`: a bundle price must be above zero"));
    }
    Ok((quantity, price))
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    /// `--help` explains every flag of every command.
    #[test]
    fn every_flag_has_help() {
        fn walk(cmd: &clap::Command, path: &str, missing: &mut Vec<String>) {
            for arg in cmd.get_arguments() {
                let builtin = matches!(arg.get_id().as_str(), "help" | "version");
                if !builtin && !arg.is_positional() && arg.get_help().is_none() {
                    missing.push(format!("{path} --{}", arg.get_id()));
                }
            }
            for sub in cmd.get_subcommands() {
                walk(sub, &format!("{path} {}", sub.get_name()), missing);
            }
        }
        let mut missing = Vec::new();
        walk(&Cli::command(), "ardoise", &mut missing);
        assert!(missing.is_empty(), "flags without help: {missing:?}");
    }

    #[test]
    fn allow_basic_reads_the_same_in_add_and_set() {
        let parse = |args: &[&str]| -> Option<bool> {
            let cli = Cli::try_parse_from(args).unwrap();
            match cli.command {
                Command::Partner(PartnerCommand::Add { allow_basic, .. })
                | Command::Partner(PartnerCommand::Set { allow_basic, .. }) => allow_basic,
                _ => unreachable!(),
            }
        };
        let add = [
            "ardoise",
            "partner",
            "add",
            "--name",
            "n",
            "--scopes",
            "cards:read",
        ];
        let set = ["ardoise", "partner", "set", "--client-id", "-x1"];
        for base in [&add[..], &set[..]] {
            let with = |extra: &[&'static str]| -> Vec<&'static str> { [base, extra].concat() };
            assert_eq!(parse(&with(&["--allow-basic"])), Some(true));
            assert_eq!(parse(&with(&["--allow-basic", "true"])), Some(true));
            assert_eq!(parse(&with(&["--allow-basic", "false"])), Some(false));
            assert_eq!(parse(&with(&["--allow-basic=false"])), Some(false));
            assert_eq!(parse(base), None);
        }
    }

    /// Splits a shell command line's words (quotes as `sh` reads them, no expansions).
    fn words(line: &str) -> Vec<String> {
        let (mut words, mut word, mut quote, mut started) =
            (Vec::new(), String::new(), None, false);
        for c in line.chars() {
            match (quote, c) {
                (None, '\'' | '"') => {
                    quote = Some(c);
                    started = true;
                }
                (Some(q), c) if c == q => quote = None,
                (None, ' ') => {
                    if started {
                        words.push(std::mem::take(&mut word));
                        started = false;
                    }
                }
                (_, c) => {
                    word.push(c);
                    started = true;
                }
            }
        }
        if started {
            words.push(word);
        }
        words
    }

    /// The README's `make run ARGS="…"` examples are command lines the binary accepts
    /// (`ARGS` replaces the whole command, so `ARGS="--listen …"` would not be one), one of
    /// them changes the port, and the README says where the binary is.
    #[test]
    fn the_readme_make_run_examples_parse() {
        let readme = include_str!("../../../README.md");
        // An example may be wrapped over two lines of prose.
        let text = readme.split_whitespace().collect::<Vec<_>>().join(" ");
        let mut examples = Vec::new();
        let mut rest = text.as_str();
        while let Some(at) = rest.find("make run ARGS=\"") {
            let after = &rest[at + "make run ARGS=\"".len()..];
            let end = after.find('"').expect("a closing quote");
            examples.push(after[..end].to_owned());
            rest = &after[end + 1..];
        }
        assert!(
            examples.iter().any(|a| a.starts_with("serve --listen ")),
            "the README shows no port change: {examples:?}"
        );
        for args in &examples {
            let argv = [vec!["ardoise".to_owned()], words(args)].concat();
            if let Err(e) = Cli::try_parse_from(&argv) {
                panic!("README: make run ARGS=\"{args}\" does not parse: {e}");
            }
        }
        assert!(Cli::try_parse_from(["ardoise", "--listen", "127.0.0.1:9000"]).is_err());
        assert!(readme.contains("target/release/ardoise"));
        assert!(readme.contains("several\nminutes") || readme.contains("several minutes"));
    }

    #[test]
    fn bundles() {
        assert_eq!(bundle("6=9.00"), Ok((6, Money::from_cents(900))));
        assert!(bundle("0=1").is_err());
        assert!(bundle("6:9").is_err());
        assert!(bundle("6=0").is_err());
        assert!(bundle("6=1,5").is_err());
    }
}
