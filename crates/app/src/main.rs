//! The `ardoise` binary: reads the settings, wires the crates together, runs a command.

mod cli;
mod export;
mod malformed;
mod observed;
mod serve;
mod settings;
mod wiring;

use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;

use cli::{Cli, Command, ExportCommand, PartnerCommand, ProductCommand, UserCommand};
use settings::{Overrides, Settings};
use wiring::Create;

/// mimalloc instead of glibc's malloc: glibc keeps the 19 MiB argon2 blocks of past logins
/// in its arenas (a server peaked at 250–400 MiB after 64 logins), mimalloc gives freed
/// memory back to the system; it is also faster for the many small allocations of a request.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ardoise: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// `ardoise partner …`: the secrets are printed once, as JSON, and never stored in clear.
async fn partner(settings: &Settings, command: PartnerCommand) -> anyhow::Result<()> {
    let app = wiring::Services::build(settings, Create::Refused).await?;
    match command {
        PartnerCommand::Add {
            name,
            scopes,
            allow_basic,
            credit_cap_operation,
            credit_cap_day,
        } => {
            let credentials = app
                .oauth
                .register_with_caps(
                    &name,
                    &scopes,
                    allow_basic.unwrap_or(false),
                    credit_cap_operation,
                    credit_cap_day,
                )
                .await
                .map_err(|e| anyhow::anyhow!("cannot add the partner: {e}"))?;
            println!(
                "{}",
                serde_json::json!({
                    "client_id": credentials.client_id,
                    "client_secret": credentials.client_secret,
                })
            );
        }
        PartnerCommand::Set {
            client_id,
            name,
            scopes,
            allow_basic,
            enabled,
            credit_cap_operation,
            credit_cap_day,
        } => {
            let changes = ardoise_auth::PartnerChanges {
                name,
                scopes,
                allow_basic,
                active: enabled,
                credit_cap_operation,
                credit_cap_day,
            };
            let p = app
                .oauth
                .update(&client_id, changes)
                .await
                .map_err(|e| anyhow::anyhow!("cannot change {client_id}: {e}"))?;
            println!("{}", partner_json(&p));
        }
        PartnerCommand::List => {
            let mut partners = app
                .oauth
                .partners()
                .await
                .map_err(|e| anyhow::anyhow!("cannot list the partners: {e}"))?;
            partners.sort_by(|a, b| a.client_id.cmp(&b.client_id));
            for p in &partners {
                println!("{}", partner_json(p));
            }
        }
        PartnerCommand::Disable { client_id } => {
            app.oauth
                .disable(&client_id)
                .await
                .map_err(|e| anyhow::anyhow!("cannot disable {client_id}: {e}"))?;
            println!("partner {client_id} disabled");
        }
        PartnerCommand::Rotate { client_id } => {
            let secret = app
                .oauth
                .rotate_secret(&client_id)
                .await
                .map_err(|e| anyhow::anyhow!("cannot rotate the secret of {client_id}: {e}"))?;
            println!(
                "{}",
                serde_json::json!({"client_id": client_id, "client_secret": secret})
            );
        }
    }
    Ok(())
}

/// A partner as the CLI shows it: everything but its secret's hash.
fn partner_json(p: &ardoise_domain::ports::Partner) -> serde_json::Value {
    serde_json::json!({
        "client_id": p.client_id,
        "name": p.name,
        "scopes": p.scopes.join(" "),
        "allow_basic": p.allow_basic,
        "enabled": p.active,
        "credit_cap_operation": p.credit_cap_operation.to_fixed2(),
        "credit_cap_day": p.credit_cap_day.to_fixed2(),
    })
}

/// `ardoise user …`: the CLI acts as the operator (a president).
async fn user(settings: &Settings, command: UserCommand) -> anyhow::Result<()> {
    let app = wiring::Services::build(settings, Create::Refused).await?;
    match command {
        UserCommand::Add {
            login,
            password,
            rights,
            card,
        } => {
            app.add_user(&login, &password, rights, card.as_deref())
                .await?;
            println!("staff user {login} added with rights {rights}");
        }
        UserCommand::List => {
            for u in app.users().await? {
                println!(
                    "{}",
                    serde_json::json!({
                        "login": u.login.as_str(),
                        "rights": u.rights.level(),
                        "card": u.card.map(|c| c.to_string()),
                    })
                );
            }
        }
        UserCommand::Disable { login } => {
            app.disable_user(&login).await?;
            println!("staff user {login} disabled");
        }
        UserCommand::Password { login, password } => {
            app.set_password(&login, &password).await?;
            println!("password of {login} changed");
        }
        UserCommand::Rights { login, rights } => {
            app.set_rights(&login, rights).await?;
            println!("staff user {login} now has rights {rights}");
        }
    }
    Ok(())
}

/// `ardoise product …`.
async fn product(settings: &Settings, command: ProductCommand) -> anyhow::Result<()> {
    let app = wiring::Services::build(settings, Create::Refused).await?;
    match command {
        ProductCommand::Set {
            name,
            price,
            category,
            bundle,
        } => {
            app.set_product(&name, &price, category, &bundle).await?;
            println!("product {name} set at {price}");
        }
        ProductCommand::List => {
            for p in app.products().await? {
                let bundles: serde_json::Map<String, serde_json::Value> = p
                    .bundles
                    .iter()
                    .map(|(q, price)| (q.to_string(), price.to_fixed2().into()))
                    .collect();
                println!(
                    "{}",
                    serde_json::json!({
                        "name": p.name,
                        "price": p.unit_price.to_fixed2(),
                        "category": p.category,
                        "bundles": bundles,
                    })
                );
            }
        }
        ProductCommand::Delete { name, bundle } => match bundle {
            Some(quantity) => {
                app.delete_bundle(&name, quantity).await?;
                println!("bundle of {quantity} of {name} deleted");
            }
            None => {
                app.delete_product(&name).await?;
                println!("product {name} deleted");
            }
        },
    }
    Ok(())
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let mut overrides = Overrides {
        database_url: cli.database_url.clone(),
        ..Overrides::default()
    };
    if let Command::Serve(args) = &cli.command {
        overrides.listen = args.listen.clone();
        overrides.tls_cert = args.tls_cert.clone();
        overrides.tls_key = args.tls_key.clone();
    }
    let settings = Settings::load(cli.config.as_deref(), &overrides)?;
    wiring::init_logging(&settings);
    let system = actix_web::rt::System::new();
    match cli.command {
        Command::Serve(_) => system.block_on(serve::serve(settings)),
        Command::Migrate => system.block_on(async {
            let store = wiring::open_store(&settings, Create::Allowed)?;
            let applied = store.migrate()?;
            println!("{applied} migration(s) applied");
            Ok(())
        }),
        Command::User(command) => system.block_on(user(&settings, command)),
        Command::Product(command) => system.block_on(product(&settings, command)),
        Command::Partner(command) => system.block_on(partner(&settings, command)),
        Command::Backup { to } => {
            let store = wiring::open_store(&settings, Create::Refused)?;
            store
                .backup_to(&to)
                .with_context(|| format!("cannot back up to {}", to.display()))?;
            println!("backup written to {}", to.display());
            Ok(())
        }
        Command::Export(ExportCommand::Transactions {
            from,
            to,
            format,
            out,
        }) => system.block_on(async {
            let from = from.map(|d| export::parse_day("--from", &d)).transpose()?;
            let to = to.map(|d| export::parse_day("--to", &d)).transpose()?;
            let app = wiring::Services::build(&settings, Create::Refused).await?;
            let mut sink: Box<dyn std::io::Write> = match &out {
                Some(path) => Box::new(std::io::BufWriter::new(
                    std::fs::File::create(path)
                        .with_context(|| format!("--out {}", path.display()))?,
                )),
                None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
            };
            let count = export::transactions(&app.store, from, to, format, &mut sink).await?;
            if out.is_some() {
                println!("{count} transaction(s) exported");
            }
            Ok(())
        }),
    }
}
