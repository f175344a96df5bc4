//! An HTTP SMS gateway: one `POST` per message to `notify.sms.url`, with the body in the
//! shape most gateways take (`notify.sms.format`): JSON `{"id", "to", "text"}` or the same
//! fields form-encoded, and `Authorization: Bearer <notify.sms.token>` when a token is set.
//! `id` is the message id, the same on every attempt, so a gateway can drop duplicates.

use ardoise_domain::{Channel, Delivery, DeliveryError, Sender};
use async_trait::async_trait;
use serde::Serialize;
use url::Url;

use crate::{http, text, ConfigError};

/// `notify.sms.format`: how the gateway wants its body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SmsFormat {
    /// `application/json`.
    #[default]
    Json,
    /// `application/x-www-form-urlencoded`.
    Form,
}

impl SmsFormat {
    /// Parses `json` or `form`, naming the setting otherwise.
    pub fn parse(text: &str) -> Result<SmsFormat, ConfigError> {
        match text {
            "json" => Ok(SmsFormat::Json),
            "form" => Ok(SmsFormat::Form),
            _ => Err(ConfigError::new(
                "notify.sms.format",
                "must be json or form",
            )),
        }
    }
}

/// `[notify.sms]`.
#[derive(Clone, Default)]
pub struct SmsConfig {
    /// `notify.sms.url`: the gateway's endpoint (`https`, or `http` to this machine).
    pub url: String,
    /// `notify.sms.format`.
    pub format: SmsFormat,
    /// `notify.sms.token`: sent as a bearer token; empty sends none.
    pub token: String,
}

// The token stays out of logs.
impl std::fmt::Debug for SmsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmsConfig")
            .field("url", &self.url)
            .field("format", &self.format)
            .field("token", &if self.token.is_empty() { "" } else { "***" })
            .finish()
    }
}

/// The SMS channel.
pub struct SmsSender {
    client: reqwest::Client,
    url: Url,
    format: SmsFormat,
    token: Option<String>,
}

#[derive(Serialize)]
struct Sms<'a> {
    id: &'a str,
    to: &'a str,
    text: String,
}

impl SmsSender {
    /// The SMS channel as configured.
    pub fn new(config: &SmsConfig) -> Result<SmsSender, ConfigError> {
        Ok(SmsSender {
            client: http::client("notify.sms.url")?,
            url: http::service_url("notify.sms.url", &config.url)?,
            format: config.format,
            token: Some(config.token.clone()).filter(|t| !t.is_empty()),
        })
    }
}

#[async_trait]
impl Sender for SmsSender {
    fn channel(&self) -> Channel {
        Channel::Sms
    }

    async fn send(&self, delivery: &Delivery) -> Result<(), DeliveryError> {
        let sms = Sms {
            id: &delivery.id,
            to: &delivery.to,
            text: text::one_line(delivery),
        };
        let mut request = self.client.post(self.url.clone());
        request = match self.format {
            SmsFormat::Json => request.json(&sms),
            SmsFormat::Form => request.form(&sms),
        };
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        http::attempt(request).await
    }
}
