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
        #[arg(long)]
        login: String,
        #[arg(long)]
        password: String,
        /// 0 honeypot, 1 association, 2 bar member, 3 president.
        #[arg(long)]
        rights: i64,
        /// A staff card id that logs this user in.
        #[arg(long)]
        card: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum PartnerCommand {
    /// Registers a partner and prints its credentials once, as JSON.
    Add {
        #[arg(long)]
        name: String,
        /// Space-separated scopes, e.g. "cards:read cards:credit members:read".
        #[arg(long)]
        scopes: String,
        /// Let the partner send its key and secret with HTTP Basic on each call.
        #[arg(long)]
        allow_basic: bool,
        /// The largest credit of one operation, in euros (default: oauth.credit_cap_operation).
        #[arg(long, value_name = "EUROS", value_parser = money)]
        credit_cap_operation: Option<Money>,
        /// The most the partner may credit in one UTC day, in euros (default:
        /// oauth.credit_cap_day).
        #[arg(long, value_name = "EUROS", value_parser = money)]
        credit_cap_day: Option<Money>,
    },
    /// Changes a partner's settings; what is not given is kept. Disabling it, taking away a
    /// scope or Basic authentication revokes its tokens.
    Set {
        /// Client ids may start with `-` (their alphabet is `[A-Za-z0-9_-]`).
        #[arg(long, allow_hyphen_values = true)]
        client_id: String,
        #[arg(long)]
        name: Option<String>,
        /// Space-separated scopes, replacing the current ones.
        #[arg(long)]
        scopes: Option<String>,
        #[arg(long, value_name = "true|false")]
        allow_basic: Option<bool>,
        #[arg(long, value_name = "true|false")]
        enabled: Option<bool>,
        #[arg(long, value_name = "EUROS", value_parser = money)]
        credit_cap_operation: Option<Money>,
        #[arg(long, value_name = "EUROS", value_parser = money)]
        credit_cap_day: Option<Money>,
    },
    /// Disables a partner: its credentials stop working and its tokens are revoked.
    Disable {
        /// Client ids may start with `-` (their alphabet is `[A-Za-z0-9_-]`).
        #[arg(long, allow_hyphen_values = true)]
        client_id: String,
    },
    /// Gives a partner a new secret, printed once as JSON; its tokens are revoked.
    Rotate {
        /// Client ids may start with `-` (their alphabet is `[A-Za-z0-9_-]`).
        #[arg(long, allow_hyphen_values = true)]
        client_id: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum ProductCommand {
    /// Creates or updates a product.
    Set {
        #[arg(long)]
        name: String,
        /// Unit price in euros, e.g. 1.80.
        #[arg(long)]
        price: String,
        #[arg(long)]
        category: Option<String>,
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
        #[arg(long)]
        from: Option<String>,
        /// Last day included (YYYY-MM-DD).
        #[arg(long)]
        to: Option<String>,
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
