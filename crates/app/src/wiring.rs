//! Wiring: the store, the rules and the authentication, built from the settings.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::sync::Arc;

use anyhow::Context;
use ardoise_auth::{OAuth, OAuthSettings, OsTokens, Staff, StaffSettings};
use ardoise_domain::ports::{
    AccessTokenStore, Catalog, Clock, Ledger, MemberDirectory, PartnerDirectory, SessionStore,
    StaffDirectory, SystemClock,
};
use ardoise_domain::{
    Actor, Bar, CardId, DomainError, Login, Members, Money, Policy, Product, Rights,
};
use ardoise_http::ops::Metrics;
use ardoise_store::{Store, StoreSettings};

use crate::malformed::Malformed;
use crate::observed::CountedLedger;
use tracing_subscriber::layer::{Layer, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;

use crate::settings::{LogFormat, Settings, Synchronous};

/// Sets up `tracing` in the configured format; `RUST_LOG` refines the level. The HTTP layer's
/// lines about malformed requests are counted instead of written (see [`Malformed`]).
pub fn init_logging(settings: &Settings) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let output = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    let registry = tracing_subscriber::registry().with(filter);
    // A second initialisation (tests) is harmless: keep the first.
    let _ = match settings.log.format {
        LogFormat::Human => registry.with(output.with_filter(Malformed)).try_init(),
        LogFormat::Json => registry
            .with(output.json().with_filter(Malformed))
            .try_init(),
    };
}

/// Opens the database named by the settings.
pub fn open_store(settings: &Settings) -> anyhow::Result<Store> {
    let store = Store::connect(&StoreSettings {
        url: settings.database.url.clone(),
        synchronous: match settings.database.synchronous {
            Synchronous::Full => ardoise_store::Synchronous::Full,
            Synchronous::Normal => ardoise_store::Synchronous::Normal,
        },
        pool_size: settings.database.pool_size,
        busy_timeout_ms: settings.database.busy_timeout_ms,
        card_cache_ttl: std::time::Duration::from_millis(settings.database.card_cache_ms),
    })
    .with_context(|| "cannot open the database (database.url)")?;
    Ok(store)
}

/// Everything a command or the server needs.
pub struct Services {
    pub store: Store,
    pub bar: Bar,
    pub members: Members,
    pub staff: Staff,
    pub oauth: OAuth,
    pub metrics: Arc<Metrics>,
}

impl Services {
    /// Opens the store, applies pending migrations if configured, and wires the services.
    pub async fn build(settings: &Settings) -> anyhow::Result<Services> {
        let store = open_store(settings)?;
        if settings.database.migrate_on_start {
            store
                .migrate()
                .context("cannot apply the database migrations")?;
        }
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let policy = Policy {
            max_operation: settings.max_operation()?,
            overdraft_default: settings.overdraft_default()?,
            cancel_window: chrono::Duration::seconds(i64::from(settings.pos.cancel_window_seconds)),
            default_product: settings.pos.default_product.clone(),
        };
        let shared = Arc::new(store.clone());
        let metrics = Arc::new(Metrics::default());
        let ledger = Arc::new(CountedLedger {
            inner: shared.clone(),
            metrics: metrics.clone(),
        });
        let bar = Bar::new(
            ledger.clone() as Arc<dyn Ledger>,
            shared.clone() as Arc<dyn Catalog>,
            clock.clone(),
            policy,
        );
        let members = Members::new(
            shared.clone() as Arc<dyn MemberDirectory>,
            ledger as Arc<dyn Ledger>,
            clock.clone(),
        );
        let staff = Staff::new(
            shared.clone() as Arc<dyn StaffDirectory>,
            shared.clone() as Arc<dyn SessionStore>,
            clock.clone(),
            Arc::new(OsTokens),
            StaffSettings {
                idle: chrono::Duration::seconds(i64::from(settings.sessions.idle_seconds)),
                card_login: settings.sessions.card_login,
                failures_per_minute: settings.sessions.failures_per_minute,
                ..StaffSettings::default()
            },
        );
        let (credit_cap_operation, credit_cap_day) = settings.credit_caps()?;
        let oauth = OAuth::new(
            shared.clone() as Arc<dyn PartnerDirectory>,
            shared as Arc<dyn AccessTokenStore>,
            staff.clone(),
            clock,
            OAuthSettings {
                token_life: chrono::Duration::seconds(i64::from(settings.oauth.token_seconds)),
                failures_per_minute: settings.oauth.failures_per_minute,
                credit_cap_operation,
                credit_cap_day,
            },
        );
        Ok(Services {
            store,
            bar,
            members,
            staff,
            oauth,
            metrics,
        })
    }

    /// `ardoise user add`: the CLI acts as a president.
    pub async fn add_user(
        &self,
        login: &str,
        password: &str,
        rights: i64,
        card: Option<&str>,
    ) -> anyhow::Result<()> {
        let login = Login::parse(login).context("--login")?;
        let rights = Rights::from_level(rights)
            .with_context(|| format!("--rights {rights}: must be 0, 1, 2 or 3"))?;
        let card = card.map(CardId::parse).transpose().context("--card")?;
        self.staff
            .add_user(&Actor::operator(), &login, password, rights, card)
            .await
            .map_err(|e| anyhow::anyhow!("cannot add {login}: {e}"))?;
        Ok(())
    }

    /// `ardoise product set`: creates or updates a product, keeping its bundle prices.
    pub async fn set_product(
        &self,
        name: &str,
        price: &str,
        category: Option<String>,
    ) -> anyhow::Result<()> {
        if !Product::valid_name(name) {
            anyhow::bail!("--name `{name}`: 1 to 64 printable characters");
        }
        let unit_price = Money::parse(price).map_err(|e| anyhow::anyhow!("--price: {e}"))?;
        if !unit_price.is_positive() {
            anyhow::bail!("--price: must be above zero");
        }
        let store = Arc::new(self.store.clone());
        // The operator's shortcut: a category named here is created if it does not exist.
        if let Some(category) = &category {
            if !Product::valid_name(category) {
                anyhow::bail!("--category `{category}`: 1 to 64 printable characters");
            }
            let known = store.categories().await.map_err(anyhow::Error::new)?;
            if !known.iter().any(|c| &c.name == category) {
                match store
                    .add_category(category.clone(), chrono::Utc::now())
                    .await
                {
                    Ok(_) | Err(DomainError::CategoryExists) => {}
                    Err(e) => return Err(anyhow::Error::new(e)),
                }
            }
        }
        let existing = store.product(name).await.map_err(anyhow::Error::new)?;
        let bundles = existing.map(|p| p.bundles).unwrap_or_else(BTreeMap::new);
        store
            .set_product(Product {
                name: name.to_owned(),
                unit_price,
                bundles,
                category,
            })
            .await
            .map_err(anyhow::Error::new)?;
        Ok(())
    }
}
