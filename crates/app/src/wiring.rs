//! Wiring: the store, the rules and the authentication, built from the settings.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::sync::Arc;

use anyhow::Context;
use ardoise_auth::{
    MemberAccess, OAuth, OAuthSettings, OsTokens, ServiceTokens, Staff, StaffSettings,
};
use ardoise_domain::mandate::MandateBook;
use ardoise_domain::member_events::MemberMail;
use ardoise_domain::notifications::NotificationPorts;
use ardoise_domain::outbox::{Outbox, WebhookStore};
use ardoise_domain::ports::{
    AccessTokenStore, BusinessCardStore, Catalog, Clock, Ledger, MemberAccounts, MemberDirectory,
    PartnerDirectory, SessionStore, StaffDirectory, SystemClock,
};
use ardoise_domain::service::ServiceTokenStore;
use ardoise_domain::voucher::VoucherBook;
use ardoise_domain::{
    Actor, Bar, BusinessCards, CardId, DomainError, Exchange, ExchangeStore, Login, Mandates,
    MemberSpace, Members, Money, Policy, Product, Rights, Vouchers,
};
use ardoise_domain::{Channel, Notifications};
use ardoise_http::ops::Metrics;
use ardoise_notify::{
    EmailConfig, NotifyConfig, PushConfig, SmsConfig, SmsFormat, WebhookConfig, Worker,
    WorkerSettings,
};
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

/// Whether a command may create the database when it does not exist: only `serve` and
/// `migrate` do; the others, run from the wrong folder, would otherwise work on a new empty
/// database and report nothing wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Create {
    Allowed,
    Refused,
}

/// Opens the database named by the settings.
pub fn open_store(settings: &Settings, create: Create) -> anyhow::Result<Store> {
    let store_settings = StoreSettings {
        url: settings.database.url.clone(),
        synchronous: match settings.database.synchronous {
            Synchronous::Full => ardoise_store::Synchronous::Full,
            Synchronous::Normal => ardoise_store::Synchronous::Normal,
        },
        pool_size: settings.database.pool_size,
        busy_timeout_ms: settings.database.busy_timeout_ms,
        card_cache_ttl: std::time::Duration::from_millis(settings.database.card_cache_ms),
    };
    if create == Create::Refused {
        if let Some(path) = store_settings.sqlite_path() {
            if !path.exists() {
                anyhow::bail!(
                    "no database at {} (run `ardoise migrate` first, or pass --database-url)",
                    path.display()
                );
            }
        }
    }
    let store = Store::connect(&store_settings)
        .with_context(|| "cannot open the database (database.url)")?;
    Ok(store)
}

/// The channel adapters' configuration from `[notify]`.
fn notify_config(settings: &Settings) -> NotifyConfig {
    let n = &settings.notify;
    let public_url = settings.http.public_url.trim().trim_end_matches('/');
    NotifyConfig {
        email: n.email.as_ref().map(|e| EmailConfig {
            smtp_url: e.smtp_url.clone(),
            from: e.from.clone(),
            ca_file: e.ca_file.clone(),
            preferences_url: (!public_url.is_empty()).then(|| format!("{public_url}/me")),
        }),
        sms: n.sms.as_ref().map(|s| SmsConfig {
            url: s.url.clone(),
            // Checked when the settings were loaded.
            format: SmsFormat::parse(&s.format).unwrap_or_default(),
            token: s.token.clone(),
        }),
        push: n.push.as_ref().map(|p| PushConfig {
            project: p.fcm_project.clone(),
            credentials_file: p.credentials_file.clone(),
            api_url: p
                .api_url
                .clone()
                .unwrap_or_else(|| ardoise_notify::FCM_API_URL.to_owned()),
        }),
        webhook: WebhookConfig {
            allow_http: n.webhook.allow_http,
        },
    }
}

/// Everything a command or the server needs.
pub struct Services {
    pub store: Store,
    pub bar: Bar,
    pub members: Members,
    /// Members' invitations, password links and sessions.
    pub member_access: MemberAccess,
    /// A member's own space.
    pub me: MemberSpace,
    /// The members' exchange.
    pub exchange: Exchange,
    /// QR vouchers.
    pub vouchers: Vouchers,
    /// Mandates and partners' debits.
    pub mandates: Mandates,
    /// Seed 002's service tokens.
    pub service_tokens: ServiceTokens,
    pub staff: Staff,
    pub oauth: OAuth,
    pub metrics: Arc<Metrics>,
    /// Seed 003's business cards.
    pub business_cards: BusinessCards,
    /// Notifications and advertisements.
    pub notifications: Notifications,
    /// The delivery worker, for `serve` to run (`notify.worker`).
    pub worker: Option<Worker>,
}

impl Services {
    /// Opens the store, applies pending migrations if configured, and wires the services.
    pub async fn build(settings: &Settings, create: Create) -> anyhow::Result<Services> {
        let store = open_store(settings, create)?;
        if settings.database.migrate_on_start {
            store
                .migrate()
                .context("cannot apply the database migrations")?;
        }
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let policy = Policy {
            max_operation: settings.max_operation()?,
            overdraft_default: settings.overdraft_default()?,
            max_overdraft: settings.max_overdraft()?,
            cancel_window: chrono::Duration::seconds(i64::from(settings.pos.cancel_window_seconds)),
            default_product: settings.pos.default_product.clone(),
        };
        let shared = Arc::new(store.clone());
        let metrics = Arc::new(Metrics::default());
        let ledger = Arc::new(CountedLedger {
            inner: shared.clone(),
            metrics: metrics.clone(),
        });
        let vouchers = Vouchers::new(
            ledger.clone() as Arc<dyn Ledger>,
            shared.clone() as Arc<dyn VoucherBook>,
            shared.clone() as Arc<dyn Catalog>,
            clock.clone(),
            Arc::new(OsTokens),
            policy.clone(),
        );
        let mandates = Mandates::new(
            ledger.clone() as Arc<dyn Ledger>,
            shared.clone() as Arc<dyn MandateBook>,
            shared.clone() as Arc<dyn PartnerDirectory>,
            clock.clone(),
            policy.clone(),
        );
        let service_tokens = ServiceTokens::new(
            shared.clone() as Arc<dyn ServiceTokenStore>,
            shared.clone() as Arc<dyn PartnerDirectory>,
            clock.clone(),
        );
        let bar = Bar::new(
            ledger.clone() as Arc<dyn Ledger>,
            shared.clone() as Arc<dyn Catalog>,
            clock.clone(),
            policy,
        );
        let members = Members::new(
            shared.clone() as Arc<dyn MemberDirectory>,
            ledger.clone() as Arc<dyn Ledger>,
            clock.clone(),
        );
        let me = MemberSpace::new(
            shared.clone() as Arc<dyn MemberDirectory>,
            shared.clone() as Arc<dyn MemberAccounts>,
            ledger.clone() as Arc<dyn Ledger>,
            clock.clone(),
        );
        let senders = ardoise_notify::senders(&notify_config(settings))
            .map_err(|e| anyhow::anyhow!("configuration error: `{}`: {}", e.setting, e.reason))?;
        let configured: Vec<Channel> = senders.iter().map(|s| s.channel()).collect();
        let worker = Worker::new(
            shared.clone() as Arc<dyn Outbox>,
            senders,
            clock.clone(),
            WorkerSettings {
                per_channel: usize::try_from(settings.notify.concurrency).unwrap_or(16),
                sends_per_minute: settings.services.sends_per_minute,
                lease: chrono::Duration::seconds(i64::from(settings.notify.lease_seconds)),
                ..WorkerSettings::default()
            },
        );
        // What ardoise tells members by itself outside a movement: the invitation and reset
        // links by e-mail, the exchange's news.
        let member_mail = Arc::new(MemberMail::new(
            shared.clone() as Arc<dyn Outbox>,
            shared.clone() as Arc<dyn MemberDirectory>,
            shared.clone() as Arc<dyn MemberAccounts>,
            clock.clone(),
            Arc::new(worker.waker()),
            configured.clone(),
        ));
        let exchange = Exchange::new(
            shared.clone() as Arc<dyn ExchangeStore>,
            ledger as Arc<dyn Ledger>,
            shared.clone() as Arc<dyn MemberDirectory>,
            shared.clone() as Arc<dyn Catalog>,
            member_mail.clone(),
            clock.clone(),
            settings.exchange.enabled,
            settings.max_operation()?,
        );
        let staff = Staff::new(
            shared.clone() as Arc<dyn StaffDirectory>,
            shared.clone() as Arc<dyn SessionStore>,
            clock.clone(),
            Arc::new(OsTokens),
            StaffSettings {
                idle: chrono::Duration::seconds(i64::from(settings.sessions.idle_seconds)),
                member_idle: chrono::Duration::seconds(i64::from(settings.members.idle_seconds)),
                card_login: settings.sessions.card_login,
                failures_per_minute: settings.sessions.failures_per_minute,
                ..StaffSettings::default()
            },
        );
        let business_cards = BusinessCards::new(
            shared.clone() as Arc<dyn BusinessCardStore>,
            shared.clone() as Arc<dyn MemberDirectory>,
            Arc::new(OsTokens),
            clock.clone(),
            settings.partners.business_cards,
        );
        let member_access = MemberAccess::new(
            staff.clone(),
            shared.clone() as Arc<dyn MemberAccounts>,
            shared.clone() as Arc<dyn MemberDirectory>,
            member_mail,
        );
        let notifications = Notifications::new(
            NotificationPorts {
                outbox: shared.clone() as Arc<dyn Outbox>,
                webhooks: shared.clone() as Arc<dyn WebhookStore>,
                members: shared.clone() as Arc<dyn MemberDirectory>,
                accounts: shared.clone() as Arc<dyn MemberAccounts>,
                ledger: shared.clone() as Arc<dyn Ledger>,
                tokens: Arc::new(OsTokens),
                clock: clock.clone(),
                wakeup: Arc::new(worker.waker()),
            },
            configured,
            settings.notify.webhook.allow_http,
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
            member_access,
            me,
            exchange,
            vouchers,
            mandates,
            service_tokens,
            staff,
            oauth,
            metrics,
            business_cards,
            notifications,
            worker: settings.notify.worker.then_some(worker),
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

    /// `ardoise user list`: the active staff users, by login.
    pub async fn users(&self) -> anyhow::Result<Vec<ardoise_auth::StaffProfile>> {
        self.staff
            .users(&Actor::operator())
            .await
            .map_err(|e| anyhow::anyhow!("cannot list the staff users: {e}"))
    }

    /// `ardoise user disable`.
    pub async fn disable_user(&self, login: &str) -> anyhow::Result<()> {
        let login = Login::parse(login).context("--login")?;
        self.staff
            .disable(&Actor::operator(), &login)
            .await
            .map_err(|e| anyhow::anyhow!("cannot disable {login}: {e}"))
    }

    /// `ardoise user password`.
    pub async fn set_password(&self, login: &str, password: &str) -> anyhow::Result<()> {
        let login = Login::parse(login).context("--login")?;
        self.staff
            .change_password(&Actor::operator(), &login, password, None)
            .await
            .map_err(|e| anyhow::anyhow!("cannot change the password of {login}: {e}"))
    }

    /// `ardoise user rights`.
    pub async fn set_rights(&self, login: &str, rights: i64) -> anyhow::Result<()> {
        let login = Login::parse(login).context("--login")?;
        let rights = Rights::from_level(rights)
            .with_context(|| format!("--rights {rights}: must be 0, 1, 2 or 3"))?;
        self.staff
            .set_rights(&Actor::operator(), &login, rights)
            .await
            .map_err(|e| anyhow::anyhow!("cannot change the rights of {login}: {e}"))
    }

    /// `ardoise product list`: every product, by name.
    pub async fn products(&self) -> anyhow::Result<Vec<Product>> {
        self.store.products().await.map_err(anyhow::Error::new)
    }

    /// `ardoise product delete`: the product and its bundles; its transactions keep its name.
    pub async fn delete_product(&self, name: &str) -> anyhow::Result<()> {
        if !self
            .store
            .delete_product(name)
            .await
            .map_err(anyhow::Error::new)?
        {
            anyhow::bail!("--name `{name}`: no such product");
        }
        Ok(())
    }

    /// `ardoise product delete --bundle`: one bundle price of a product.
    pub async fn delete_bundle(&self, name: &str, quantity: u32) -> anyhow::Result<()> {
        let Some(mut product) = self.store.product(name).await.map_err(anyhow::Error::new)? else {
            anyhow::bail!("--name `{name}`: no such product");
        };
        if product.bundles.remove(&quantity).is_none() {
            anyhow::bail!("--bundle {quantity}: `{name}` has no bundle price for {quantity}");
        }
        self.store
            .set_product(product)
            .await
            .map_err(anyhow::Error::new)
    }

    /// `ardoise product set`: creates or updates a product, keeping the bundle prices that
    /// `bundles` does not name.
    pub async fn set_product(
        &self,
        name: &str,
        price: &str,
        category: Option<String>,
        bundles: &[(u32, Money)],
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
        let mut kept = existing.map(|p| p.bundles).unwrap_or_else(BTreeMap::new);
        kept.extend(bundles.iter().copied());
        store
            .set_product(Product {
                name: name.to_owned(),
                unit_price,
                bundles: kept,
                category,
            })
            .await
            .map_err(anyhow::Error::new)?;
        Ok(())
    }
}
