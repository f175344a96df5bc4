//! Webhooks signed as Standard Webhooks do, so receivers verify them with existing libraries:
//! a JSON `POST` with `webhook-id` (the message id, the same on every attempt),
//! `webhook-timestamp` (the attempt's Unix time) and `webhook-signature: v1,<base64
//! HMAC-SHA256 of "id.timestamp.body">`, keyed with the base64 part of the `whsec_` secret.

use ardoise_domain::{Channel, Delivery, DeliveryError, Sender};
use async_trait::async_trait;
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use chrono::{SecondsFormat, Utc};
use ring::hmac;
use serde::Serialize;
use url::Url;

use crate::{http, ConfigError};

/// The prefix of a Standard Webhooks secret.
const SECRET_PREFIX: &str = "whsec_";

/// `[notify.webhook]`.
#[derive(Debug, Clone, Default)]
pub struct WebhookConfig {
    /// `notify.webhook.allow_http`: also deliver to plain `http` URLs (local tests only).
    pub allow_http: bool,
}

/// The webhook channel: one HTTP client shared by every delivery.
#[derive(Debug, Clone)]
pub struct WebhookSender {
    client: reqwest::Client,
    allow_http: bool,
}

/// The JSON body, in the shape Standard Webhooks recommend.
#[derive(Serialize)]
struct Payload<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    timestamp: String,
    data: Data<'a>,
}

#[derive(Serialize)]
struct Data<'a> {
    id: &'a str,
    title: &'a str,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    link: Option<&'a str>,
    /// An advertisement's picture, base64.
    #[serde(skip_serializing_if = "Option::is_none")]
    picture: Option<String>,
}

impl WebhookSender {
    /// The webhook channel as configured.
    pub fn new(config: &WebhookConfig) -> Result<WebhookSender, ConfigError> {
        Ok(WebhookSender {
            client: http::client("notify.webhook")?,
            allow_http: config.allow_http,
        })
    }

    fn url(&self, text: &str) -> Result<Url, DeliveryError> {
        let url = Url::parse(text)
            .map_err(|e| DeliveryError::Permanent(format!("the webhook URL is invalid: {e}")))?;
        match url.scheme() {
            "https" => Ok(url),
            "http" if self.allow_http => Ok(url),
            _ => Err(DeliveryError::Permanent(
                "the webhook URL must be https (notify.webhook.allow_http is off)".to_owned(),
            )),
        }
    }
}

/// The `webhook-signature` value of `body` sent as message `id` at Unix time `timestamp`.
pub fn sign(key: &[u8], id: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = hmac::Context::with_key(&hmac::Key::new(hmac::HMAC_SHA256, key));
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("v1,{}", BASE64.encode(mac.sign().as_ref()))
}

/// The signing key of a `whsec_` secret.
fn key(secret: &str) -> Result<Vec<u8>, DeliveryError> {
    let encoded = secret.strip_prefix(SECRET_PREFIX).unwrap_or(secret);
    BASE64
        .decode(encoded)
        .map_err(|_| DeliveryError::Permanent("the webhook's secret is not whsec_ + base64".into()))
}

#[async_trait]
impl Sender for WebhookSender {
    fn channel(&self) -> Channel {
        Channel::Webhook
    }

    async fn send(&self, delivery: &Delivery) -> Result<(), DeliveryError> {
        let url = self.url(&delivery.to)?;
        let secret = delivery
            .secret
            .as_deref()
            .ok_or_else(|| DeliveryError::Permanent("the webhook has no secret".to_owned()))?;
        let key = key(secret)?;
        let body = serde_json::to_vec(&Payload {
            kind: &delivery.event,
            timestamp: delivery
                .created_at
                .to_rfc3339_opts(SecondsFormat::Millis, true),
            data: Data {
                id: &delivery.id,
                title: &delivery.title,
                message: &delivery.message,
                link: delivery.link.as_deref(),
                picture: delivery.picture.as_ref().map(|p| BASE64.encode(p)),
            },
        })
        .map_err(|e| DeliveryError::Permanent(format!("cannot encode the message: {e}")))?;
        // The attempt's own time: receivers refuse a timestamp far from their clock.
        let timestamp = Utc::now().timestamp();
        let signature = sign(&key, &delivery.id, timestamp, &body);
        http::attempt(
            self.client
                .post(url)
                .header("content-type", "application/json")
                .header("webhook-id", &delivery.id)
                .header("webhook-timestamp", timestamp.to_string())
                .header("webhook-signature", signature)
                .body(body),
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_the_standard_webhooks_example() {
        // The example of the Standard Webhooks specification.
        let key = key("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let body = br#"{"test": 2432232314}"#;
        assert_eq!(
            sign(&key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn a_secret_that_is_not_base64_fails_the_message() {
        assert!(matches!(key("whsec_***"), Err(DeliveryError::Permanent(_))));
    }
}
