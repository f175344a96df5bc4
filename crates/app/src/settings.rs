//! Typed, validated settings: built-in defaults, then `--config FILE`, then
//! `ARDOISE__SECTION__KEY` environment variables, then command-line flags.

use std::net::{SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};

use ardoise_domain::Money;
use serde::Deserialize;

/// The embedded defaults (`config/default.toml`).
const DEFAULTS: &str = include_str!("../../../config/default.toml");

/// Why the settings cannot be used; the message names the key.
#[derive(Debug, thiserror::Error)]
#[error("configuration error: {0}")]
pub struct SettingsError(String);

fn invalid(key: &str, why: impl std::fmt::Display) -> SettingsError {
    SettingsError(format!("`{key}`: {why}"))
}

/// All settings, as read from the layers.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub http: Http,
    pub database: Database,
    pub sessions: Sessions,
    pub members: MembersSettings,
    pub money: MoneySettings,
    pub pos: Pos,
    pub oauth: OAuth,
    pub partners: Partners,
    pub log: Log,
    #[serde(default)]
    pub reports: Reports,
    #[serde(default)]
    pub exchange: ExchangeSettings,
    #[serde(default)]
    pub notify: NotifySettings,
    #[serde(default)]
    pub services: ServicesSettings,
}

/// `[notify]`: the notification channels (services.md). A channel whose table is absent is
/// not configured: its messages are refused with `CHANNEL_NOT_CONFIGURED_ERROR`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotifySettings {
    pub email: Option<EmailSettings>,
    pub sms: Option<SmsSettings>,
    pub push: Option<PushSettings>,
    #[serde(default)]
    pub webhook: WebhookSettings,
    /// The most deliveries under way at once on each channel.
    #[serde(default = "default_concurrency")]
    pub concurrency: u32,
    /// Whether this process runs the delivery worker (several processes may: they share the
    /// outbox without delivering a message twice at once).
    #[serde(default = "default_true")]
    pub worker: bool,
    /// How long an attempt holds its message: a message left `sending` by a process that died
    /// is retried after this long. Longer than any attempt takes (the channels time out
    /// within 10 s).
    #[serde(default = "default_lease_seconds")]
    pub lease_seconds: u32,
}

fn default_lease_seconds() -> u32 {
    60
}

impl Default for NotifySettings {
    fn default() -> NotifySettings {
        NotifySettings {
            email: None,
            sms: None,
            push: None,
            webhook: WebhookSettings::default(),
            concurrency: default_concurrency(),
            worker: true,
            lease_seconds: default_lease_seconds(),
        }
    }
}

fn default_concurrency() -> u32 {
    16
}

fn default_true() -> bool {
    true
}

/// `[notify.email]`: SMTP through `lettre`.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailSettings {
    /// `smtp://user:password@host:port` (STARTTLS) or `smtps://…` (TLS).
    pub smtp_url: String,
    /// The sender, `bar@example.org` or `Le Bar <bar@example.org>`.
    pub from: String,
    /// A PEM certificate to trust besides the public roots (a relay with its own authority).
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
}

// The URL's password stays out of logs.
impl std::fmt::Debug for EmailSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmailSettings")
            .field("from", &self.from)
            .field("ca_file", &self.ca_file)
            .finish_non_exhaustive()
    }
}

/// `[notify.sms]`: an HTTP SMS gateway.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmsSettings {
    pub url: String,
    /// `json` or `form`.
    #[serde(default = "default_sms_format")]
    pub format: String,
    /// Sent as a bearer token; empty: none.
    #[serde(default)]
    pub token: String,
}

fn default_sms_format() -> String {
    "json".to_owned()
}

// The token stays out of logs.
impl std::fmt::Debug for SmsSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmsSettings")
            .field("url", &self.url)
            .field("format", &self.format)
            .finish_non_exhaustive()
    }
}

/// `[notify.push]`: Firebase Cloud Messaging HTTP v1.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PushSettings {
    pub fcm_project: String,
    /// The service account's JSON key file.
    pub credentials_file: PathBuf,
    /// The FCM API's base URL (tests point it at a local stand-in).
    #[serde(default)]
    pub api_url: Option<String>,
}

/// `[notify.webhook]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookSettings {
    /// Also accept plain `http://` webhook URLs (local tests only; default: `https` only).
    #[serde(default)]
    pub allow_http: bool,
}

/// `[services]`: seed 002's services for providers.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServicesSettings {
    /// The most messages one provider (partner) gets delivered per minute; 0: no limit.
    #[serde(default = "default_sends_per_minute")]
    pub sends_per_minute: u32,
}

impl Default for ServicesSettings {
    fn default() -> ServicesSettings {
        ServicesSettings {
            sends_per_minute: default_sends_per_minute(),
        }
    }
}

fn default_sends_per_minute() -> u32 {
    600
}

/// The members' exchange (`exchange.md`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExchangeSettings {
    /// Whether members may publish offers, write to each other and pay each other.
    pub enabled: bool,
}

impl Default for ExchangeSettings {
    fn default() -> ExchangeSettings {
        ExchangeSettings { enabled: true }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Http {
    pub listen: String,
    pub tls_cert: String,
    pub tls_key: String,
    pub cors_origins: Vec<String>,
    /// The base of the links sent to members; empty: none configured.
    pub public_url: String,
    /// Seconds a client has to send a request's head, and then as long again its body.
    pub request_timeout_seconds: u32,
    /// Connections open at once from one client address.
    pub connections_per_address: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Synchronous {
    Full,
    Normal,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Database {
    pub url: String,
    pub synchronous: Synchronous,
    pub pool_size: u32,
    pub busy_timeout_ms: u64,
    /// How long a card read for an answer is served from memory; 0 switches it off.
    pub card_cache_ms: u64,
    pub migrate_on_start: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sessions {
    pub idle_seconds: u32,
    pub card_login: bool,
    pub failures_per_minute: u32,
}

/// Members' own space.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MembersSettings {
    pub idle_seconds: u32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MoneySettings {
    pub max_operation: String,
    pub overdraft_default: String,
    pub max_overdraft: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pos {
    pub cancel_window_seconds: u32,
    pub default_product: String,
}

/// Partner OAuth2 settings (read by the OAuth2 server).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OAuth {
    pub token_seconds: u32,
    pub failures_per_minute: u32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Partners {
    pub credit_cap_operation: String,
    pub credit_cap_day: String,
    /// The most business cards (seed 003) one partner may create.
    #[serde(default = "default_business_cards")]
    pub business_cards: u32,
}

fn default_business_cards() -> u32 {
    1000
}

/// The office's reports.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reports {
    /// The IANA time zone that days and hours are counted in.
    pub time_zone: String,
}

impl Default for Reports {
    fn default() -> Reports {
        Reports {
            time_zone: "Europe/Paris".to_owned(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Human,
    Json,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Log {
    pub format: LogFormat,
}

/// Overrides given on the command line or by their dedicated environment variables.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub database_url: Option<String>,
    pub listen: Option<String>,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
}

impl Settings {
    /// Reads the layers in order and validates the result.
    pub fn load(file: Option<&Path>, overrides: &Overrides) -> Result<Settings, SettingsError> {
        let mut builder = config::Config::builder()
            .add_source(config::File::from_str(DEFAULTS, config::FileFormat::Toml));
        if let Some(path) = file {
            if !path.is_file() {
                return Err(SettingsError(format!(
                    "the configuration file {} does not exist",
                    path.display()
                )));
            }
            builder = builder.add_source(config::File::from(path).required(true));
        }
        builder = builder.add_source(
            config::Environment::with_prefix("ARDOISE")
                .prefix_separator("__")
                .separator("__")
                .try_parsing(true)
                .list_separator(",")
                .with_list_parse_key("http.cors_origins"),
        );
        let set = |b: config::ConfigBuilder<_>, key: &str, value: &Option<String>| match value {
            Some(v) => b.set_override(key, v.as_str()),
            None => Ok(b),
        };
        let path_text = |p: &Option<PathBuf>| p.as_ref().map(|p| p.display().to_string());
        builder = set(builder, "database.url", &overrides.database_url)
            .and_then(|b| set(b, "http.listen", &overrides.listen))
            .and_then(|b| set(b, "http.tls_cert", &path_text(&overrides.tls_cert)))
            .and_then(|b| set(b, "http.tls_key", &path_text(&overrides.tls_key)))
            .map_err(|e| SettingsError(e.to_string()))?;
        let settings: Settings = builder
            .build()
            .and_then(|c| c.try_deserialize())
            .map_err(|e| SettingsError(e.to_string()))?;
        settings.validate()?;
        Ok(settings)
    }

    fn validate(&self) -> Result<(), SettingsError> {
        self.check_listen()?;
        self.max_operation()?;
        self.overdraft_default()?;
        self.max_overdraft()?;
        self.credit_caps()?;
        if self.http.tls_cert.is_empty() != self.http.tls_key.is_empty() {
            return Err(invalid(
                "http.tls_cert",
                "http.tls_cert and http.tls_key must be set together",
            ));
        }
        self.check_notify()?;
        if self.database.url.trim().is_empty() {
            return Err(invalid("database.url", "must not be empty"));
        }
        if self.http.request_timeout_seconds == 0 {
            return Err(invalid(
                "http.request_timeout_seconds",
                "must be at least 1",
            ));
        }
        if self.http.connections_per_address == 0 {
            return Err(invalid(
                "http.connections_per_address",
                "must be at least 1",
            ));
        }
        if self.database.pool_size == 0 {
            return Err(invalid("database.pool_size", "must be at least 1"));
        }
        if self.sessions.idle_seconds == 0 {
            return Err(invalid("sessions.idle_seconds", "must be at least 1"));
        }
        if self.members.idle_seconds == 0 {
            return Err(invalid("members.idle_seconds", "must be at least 1"));
        }
        let public_url = self.http.public_url.trim();
        if !public_url.is_empty() {
            let origin = public_url.trim_end_matches('/');
            if origin == "*" || ardoise_http::check_origins(&[origin.to_owned()]).is_err() {
                return Err(invalid(
                    "http.public_url",
                    format!("`{public_url}` is not an address such as https://bar.example.org"),
                ));
            }
        }
        if self.oauth.token_seconds == 0 {
            return Err(invalid("oauth.token_seconds", "must be at least 1"));
        }
        if !ardoise_domain::Product::valid_name(&self.pos.default_product) {
            return Err(invalid(
                "pos.default_product",
                "is not a valid product name",
            ));
        }
        Ok(())
    }

    /// Checks the form of `http.listen`: `IP:PORT`, `[IPv6]:PORT` or `HOST:PORT`, without
    /// resolving a host name (only `serve` needs the addresses).
    /// The `[notify]` values that cannot work, named (the adapters check the rest when they
    /// are built).
    fn check_notify(&self) -> Result<(), SettingsError> {
        let n = &self.notify;
        if n.concurrency == 0 {
            return Err(invalid("notify.concurrency", "must be at least 1"));
        }
        if n.lease_seconds == 0 {
            return Err(invalid("notify.lease_seconds", "must be at least 1"));
        }
        if let Some(email) = &n.email {
            if !(email.smtp_url.starts_with("smtp://") || email.smtp_url.starts_with("smtps://")) {
                return Err(invalid(
                    "notify.email.smtp_url",
                    "must be an smtp:// (STARTTLS) or smtps:// (TLS) URL",
                ));
            }
            if email.from.trim().is_empty() {
                return Err(invalid("notify.email.from", "must not be empty"));
            }
        }
        if let Some(sms) = &n.sms {
            if !(sms.url.starts_with("https://") || sms.url.starts_with("http://")) {
                return Err(invalid("notify.sms.url", "must be an https (or http) URL"));
            }
            if !matches!(sms.format.as_str(), "json" | "form") {
                return Err(invalid("notify.sms.format", "must be `json` or `form`"));
            }
        }
        if let Some(push) = &n.push {
            if push.fcm_project.trim().is_empty() {
                return Err(invalid("notify.push.fcm_project", "must not be empty"));
            }
            if !push.credentials_file.is_file() {
                return Err(invalid(
                    "notify.push.credentials_file",
                    format!("{} is not a file", push.credentials_file.display()),
                ));
            }
        }
        Ok(())
    }

    fn check_listen(&self) -> Result<(), SettingsError> {
        let text = self.http.listen.as_str();
        if text.parse::<SocketAddr>().is_ok() {
            return Ok(());
        }
        let host_name = |host: &str| {
            !host.is_empty()
                && host.len() <= 253
                && host
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
        };
        match text.rsplit_once(':') {
            Some((host, port)) if host_name(host) && port.parse::<u16>().is_ok() => Ok(()),
            _ => Err(invalid(
                "http.listen",
                format!("`{text}` is not an address such as 127.0.0.1:8080 or localhost:8080"),
            )),
        }
    }

    /// The addresses to listen on: `http.listen`, its host name resolved (`localhost:8080`
    /// gives the loopback addresses).
    pub fn listen_addrs(&self) -> Result<Vec<SocketAddr>, SettingsError> {
        self.check_listen()?;
        let text = self.http.listen.as_str();
        let addrs: Vec<SocketAddr> = text
            .to_socket_addrs()
            .map_err(|e| invalid("http.listen", format!("cannot resolve `{text}`: {e}")))?
            .collect();
        if addrs.is_empty() {
            return Err(invalid(
                "http.listen",
                format!("`{text}` resolves to no address"),
            ));
        }
        Ok(addrs)
    }

    /// The largest amount of one operation.
    pub fn max_operation(&self) -> Result<Money, SettingsError> {
        positive_money("money.max_operation", &self.money.max_operation)
    }

    /// The limit that the POS overdraft flag sets.
    pub fn overdraft_default(&self) -> Result<Money, SettingsError> {
        let m = Money::parse(&self.money.overdraft_default)
            .map_err(|e| invalid("money.overdraft_default", e))?;
        if m.cents() < 0 {
            return Err(invalid("money.overdraft_default", "must not be negative"));
        }
        Ok(m)
    }

    /// The largest overdraft limit of a card; the default limit may not be above it.
    pub fn max_overdraft(&self) -> Result<Money, SettingsError> {
        let m = Money::parse(&self.money.max_overdraft)
            .map_err(|e| invalid("money.max_overdraft", e))?;
        if m.cents() < 0 {
            return Err(invalid("money.max_overdraft", "must not be negative"));
        }
        if self.overdraft_default()? > m {
            return Err(invalid(
                "money.overdraft_default",
                format!("must not be above money.max_overdraft ({})", m.to_fixed2()),
            ));
        }
        Ok(m)
    }

    /// The default partner credit caps: per operation and per day.
    pub fn credit_caps(&self) -> Result<(Money, Money), SettingsError> {
        Ok((
            positive_money(
                "partners.credit_cap_operation",
                &self.partners.credit_cap_operation,
            )?,
            positive_money("partners.credit_cap_day", &self.partners.credit_cap_day)?,
        ))
    }

    /// Whether TLS is configured.
    pub fn tls(&self) -> Option<(PathBuf, PathBuf)> {
        if self.http.tls_cert.is_empty() {
            None
        } else {
            Some((
                PathBuf::from(&self.http.tls_cert),
                PathBuf::from(&self.http.tls_key),
            ))
        }
    }
}

fn positive_money(key: &str, text: &str) -> Result<Money, SettingsError> {
    let m = Money::parse(text).map_err(|e| invalid(key, e))?;
    if !m.is_positive() {
        return Err(invalid(key, "must be above zero"));
    }
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_load() {
        let s = Settings::load(None, &Overrides::default()).unwrap();
        assert_eq!(s.http.listen, "127.0.0.1:8080");
        assert_eq!(s.database.url, "sqlite://data/ardoise.db");
        assert_eq!(s.database.synchronous, Synchronous::Full);
        assert_eq!(s.max_operation().unwrap(), Money::from_cents(100_000));
        assert_eq!(s.overdraft_default().unwrap(), Money::from_cents(5_000));
        assert_eq!(s.max_overdraft().unwrap(), Money::from_cents(50_000));
        assert_eq!(s.sessions.idle_seconds, 300);
        assert!(s.sessions.card_login);
        assert_eq!(s.pos.default_product, "biere");
    }

    fn load_toml(text: &str) -> Result<Settings, SettingsError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ardoise.toml");
        std::fs::write(&path, text).unwrap();
        Settings::load(Some(&path), &Overrides::default())
    }

    #[test]
    fn notify_channels_are_configured_by_their_tables() {
        let s = Settings::load(None, &Overrides::default()).unwrap();
        assert!(s.notify.email.is_none() && s.notify.sms.is_none() && s.notify.push.is_none());
        assert!(!s.notify.webhook.allow_http);
        assert_eq!(
            (s.notify.concurrency, s.services.sends_per_minute),
            (16, 600)
        );
        let s = load_toml(
            "[notify.email]\nsmtp_url = \"smtp://u:secret@mail.example:587\"\nfrom = \"bar@example.org\"\n\
             [notify.sms]\nurl = \"https://sms.example/send\"\nformat = \"form\"\ntoken = \"t0k\"\n\
             [notify.webhook]\nallow_http = true\n[services]\nsends_per_minute = 30\n",
        )
        .unwrap();
        let email = s.notify.email.as_ref().unwrap();
        assert_eq!(email.from, "bar@example.org");
        assert!(
            !format!("{email:?}").contains("secret"),
            "no password in logs"
        );
        let sms = s.notify.sms.as_ref().unwrap();
        assert_eq!(sms.format, "form");
        assert!(!format!("{sms:?}").contains("t0k"), "no token in logs");
        assert!(s.notify.webhook.allow_http);
        assert_eq!(s.services.sends_per_minute, 30);
        for (toml, key) in [
            (
                "[notify.email]\nsmtp_url = \"http://x\"\nfrom = \"a@b.c\"\n",
                "notify.email.smtp_url",
            ),
            (
                "[notify.email]\nsmtp_url = \"smtp://x:25\"\nfrom = \" \"\n",
                "notify.email.from",
            ),
            (
                "[notify.sms]\nurl = \"https://x\"\nformat = \"xml\"\n",
                "notify.sms.format",
            ),
            (
                "[notify.push]\nfcm_project = \"p\"\ncredentials_file = \"/nonexistent.json\"\n",
                "notify.push.credentials_file",
            ),
            ("[notify]\nconcurrency = 0\n", "notify.concurrency"),
        ] {
            let e = load_toml(toml).unwrap_err().to_string();
            assert!(e.contains(key), "{toml}: {e}");
        }
    }

    #[test]
    fn flags_override() {
        let o = Overrides {
            database_url: Some("sqlite://x.db".into()),
            listen: Some("127.0.0.1:0".into()),
            ..Overrides::default()
        };
        let s = Settings::load(None, &o).unwrap();
        assert_eq!(s.database.url, "sqlite://x.db");
        assert_eq!(s.http.listen, "127.0.0.1:0");
    }

    #[test]
    fn host_names_are_listen_addresses() {
        for (listen, ok) in [
            ("localhost:8080", true),
            ("127.0.0.1:8080", true),
            ("[::1]:8080", true),
            ("localhost", false),
            ("localhost:http", false),
            (":8080", false),
            ("local host:8080", false),
        ] {
            let o = Overrides {
                listen: Some(listen.into()),
                ..Overrides::default()
            };
            assert_eq!(Settings::load(None, &o).is_ok(), ok, "{listen}");
        }
        let o = Overrides {
            listen: Some("localhost:8080".into()),
            ..Overrides::default()
        };
        let addrs = Settings::load(None, &o).unwrap().listen_addrs().unwrap();
        assert!(!addrs.is_empty());
        assert!(
            addrs
                .iter()
                .all(|a| a.ip().is_loopback() && a.port() == 8080),
            "{addrs:?}"
        );
    }

    #[test]
    fn bad_file_values_name_their_key() {
        let dir = tempfile::tempdir().unwrap();
        let cases = [
            ("[money]\nmax_operation = \"1,5\"\n", "money.max_operation"),
            ("[http]\nlisten = \"nowhere\"\n", "http.listen"),
            ("[database]\nsynchronous = \"fast\"\n", "synchronous"),
            ("[sessions]\nidle_seconds = \"soon\"\n", "idle_seconds"),
            ("[sessions]\nunknown_key = 1\n", "unknown_key"),
            ("[money]\nmax_overdraft = \"-1\"\n", "money.max_overdraft"),
            (
                "[money]\nmax_overdraft = \"20.00\"\n",
                "money.overdraft_default",
            ),
        ];
        for (i, (text, key)) in cases.iter().enumerate() {
            let path = dir.path().join(format!("{i}.toml"));
            std::fs::write(&path, text).unwrap();
            let err = Settings::load(Some(&path), &Overrides::default()).unwrap_err();
            assert!(err.to_string().contains(key), "{err} should name {key}");
        }
    }
}
