//! E-mail over SMTP through `lettre`: `smtp://host[:587]` upgrades with STARTTLS (required,
//! never plain), `smtps://host[:465]` speaks TLS from the first byte; the URL's user and
//! password log in. Each message is plain text with an HTML alternative, its `Message-ID`
//! made from the message id so a retried message is recognisably the same one.

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

use ardoise_domain::{Channel, Delivery, DeliveryError, Sender};
use async_trait::async_trait;
use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::transport::smtp::AsyncSmtpTransportBuilder;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use percent_encoding::percent_decode_str;
use url::Url;

use crate::text::{escape_html, plain};
use crate::ConfigError;

/// How long one SMTP command may wait for its answer.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a whole attempt may take (connection, TLS, login, message): well within the
/// outbox worker's claim on the message.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(30);
/// Events about an account being opened or recovered: no preferences footer (the
/// recipient may have no account yet, and cannot opt out of them).
const ACCOUNT_EVENTS: [&str; 2] = ["invitation", "password_reset"];

/// `[notify.email]`.
#[derive(Clone, Default)]
pub struct EmailConfig {
    /// `notify.email.smtp_url`: `smtp://user:password@host:port` (STARTTLS) or `smtps://…`.
    pub smtp_url: String,
    /// `notify.email.from`: the sender, `bar@example.org` or `Le Bar <bar@example.org>`.
    pub from: String,
    /// `notify.email.ca_file`: a PEM certificate to trust besides the public roots (a
    /// relay with its own authority); `None` trusts the public roots only.
    pub ca_file: Option<PathBuf>,
    /// Where a member chooses which messages they receive (`{http.public_url}/me`): the
    /// footer of every member message, so each carries its way out. `None`: no footer.
    pub preferences_url: Option<String>,
}

// The URL's password stays out of logs.
impl std::fmt::Debug for EmailConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut url = Url::parse(&self.smtp_url).ok();
        if let Some(url) = url.as_mut().filter(|u| u.password().is_some()) {
            let _ = url.set_password(Some("***"));
        }
        f.debug_struct("EmailConfig")
            .field("smtp_url", &url.map(String::from).unwrap_or_default())
            .field("from", &self.from)
            .field("ca_file", &self.ca_file)
            .field("preferences_url", &self.preferences_url)
            .finish()
    }
}

/// The e-mail channel: a pooled SMTP transport.
pub struct EmailSender {
    settings: AsyncSmtpTransportBuilder,
    /// Built at the first message: the pool starts a task on the runtime that delivers, so
    /// building the sender needs no runtime.
    transport: OnceLock<AsyncSmtpTransport<Tokio1Executor>>,
    from: Mailbox,
    preferences_url: Option<String>,
}

impl EmailSender {
    /// The e-mail channel as configured; nothing is connected until the first message.
    pub fn new(config: &EmailConfig) -> Result<EmailSender, ConfigError> {
        const URL: &str = "notify.email.smtp_url";
        let from: Mailbox = config.from.parse().map_err(|e| {
            ConfigError::new("notify.email.from", format!("not an e-mail address ({e})"))
        })?;
        let url = Url::parse(&config.smtp_url).map_err(|e| {
            ConfigError::new(
                URL,
                format!("not a URL ({e}); expected smtp:// or smtps://"),
            )
        })?;
        let host = url
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| ConfigError::new(URL, "names no host"))?;
        // An IPv6 host comes bracketed; TLS checks the name (or address) without brackets.
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let mut tls = TlsParameters::builder(host.clone());
        if let Some(file) = &config.ca_file {
            let pem = std::fs::read(file).map_err(|e| {
                ConfigError::new(
                    "notify.email.ca_file",
                    format!("cannot read {}: {e}", file.display()),
                )
            })?;
            let cert = Certificate::from_pem(&pem).map_err(|e| {
                ConfigError::new(
                    "notify.email.ca_file",
                    format!("not a PEM certificate ({e})"),
                )
            })?;
            tls = tls.add_root_certificate(cert);
        }
        let tls = tls
            .build_rustls()
            .map_err(|e| ConfigError::new(URL, format!("cannot set up TLS ({e})")))?;
        let (tls, default_port) = match url.scheme() {
            "smtp" => (Tls::Required(tls), 587),
            "smtps" => (Tls::Wrapper(tls), 465),
            _ => {
                return Err(ConfigError::new(
                    URL,
                    "must start with smtp:// (STARTTLS) or smtps:// (TLS)",
                ))
            }
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
            .port(url.port().unwrap_or(default_port))
            .tls(tls)
            .timeout(Some(COMMAND_TIMEOUT));
        if !url.username().is_empty() {
            let decode = |part: &str| percent_decode_str(part).decode_utf8_lossy().into_owned();
            let user = decode(url.username());
            let password = decode(url.password().unwrap_or_default());
            builder = builder.credentials(Credentials::new(user, password));
        }
        Ok(EmailSender {
            settings: builder,
            transport: OnceLock::new(),
            from,
            preferences_url: config.preferences_url.clone(),
        })
    }

    /// The e-mail of `delivery`, ready to send.
    fn message(&self, delivery: &Delivery) -> Result<Message, DeliveryError> {
        let to: Mailbox = delivery.to.parse().map_err(|e| {
            DeliveryError::Permanent(format!("not an e-mail address: {}: {e}", delivery.to))
        })?;
        let footer = self
            .preferences_url
            .as_deref()
            .filter(|_| !ACCOUNT_EVENTS.contains(&delivery.event.as_str()));
        let mut text = plain(delivery);
        let mut html = format!(
            "<!DOCTYPE html>\n<html><body>\n<h1>{}</h1>\n<p>{}</p>\n",
            escape_html(&delivery.title),
            escape_html(&delivery.message)
        );
        if let Some(link) = &delivery.link {
            let link = escape_html(link);
            html.push_str(&format!("<p><a href=\"{link}\">{link}</a></p>\n"));
        }
        if let Some(url) = footer {
            text.push_str(&format!(
                "\n-- \nChoose which messages you receive: {url}\n"
            ));
            let url = escape_html(url);
            html.push_str(&format!(
                "<hr>\n<p><small>Choose which messages you receive: <a href=\"{url}\">{url}</a></small></p>\n"
            ));
        }
        html.push_str("</body></html>\n");
        let mut body = MultiPart::alternative_plain_html(text, html);
        if let Some(picture) = &delivery.picture {
            let (name, kind) = if picture.starts_with(b"\x89PNG") {
                ("picture.png", "image/png")
            } else {
                ("picture.jpg", "image/jpeg")
            };
            let kind = ContentType::parse(kind)
                .map_err(|e| DeliveryError::Permanent(format!("picture type: {e}")))?;
            body = MultiPart::mixed()
                .multipart(body)
                .singlepart(Attachment::new(name.to_owned()).body(picture.clone(), kind));
        }
        Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(delivery.title.clone())
            .message_id(Some(format!(
                "<{}@{}>",
                delivery.id,
                self.from.email.domain()
            )))
            .multipart(body)
            .map_err(|e| DeliveryError::Permanent(format!("cannot build the e-mail: {e}")))
    }
}

#[async_trait]
impl Sender for EmailSender {
    fn channel(&self) -> Channel {
        Channel::Email
    }

    async fn send(&self, delivery: &Delivery) -> Result<(), DeliveryError> {
        let message = self.message(delivery)?;
        let transport = self.transport.get_or_init(|| self.settings.clone().build());
        let sent = tokio::time::timeout(ATTEMPT_TIMEOUT, transport.send(message)).await;
        match sent.map_err(|_| DeliveryError::Temporary("SMTP: timed out".to_owned()))? {
            Ok(_) => Ok(()),
            // A 5xx answer (an unknown mailbox, a refused sender) will not change; anything
            // else (4xx, no connection, a timeout, a TLS failure) may.
            Err(e) if e.is_permanent() => Err(DeliveryError::Permanent(format!("SMTP: {e}"))),
            Err(e) => Err(DeliveryError::Temporary(format!("SMTP: {e}"))),
        }
    }
}
