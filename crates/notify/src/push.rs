//! Firebase Cloud Messaging HTTP v1: `POST {api}/v1/projects/{project}/messages:send`, with
//! an OAuth2 access token obtained from a service account (the JWT bearer grant, RS256, sent
//! to the `token_uri` of the account's JSON file) and kept until shortly before it expires.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use ardoise_domain::{Channel, Delivery, DeliveryError, Sender};
use async_trait::async_trait;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::StatusCode;
use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;
use url::Url;

use crate::{http, ConfigError};

/// Google's FCM endpoint, the default `api_url`.
pub const FCM_API_URL: &str = "https://fcm.googleapis.com";
/// The OAuth2 scope FCM requires.
const SCOPE: &str = "https://www.googleapis.com/auth/firebase.messaging";
/// The life asked of an access token (the most Google grants).
const TOKEN_SECONDS: i64 = 3600;
/// A token is renewed this long before it expires, so none expires in flight.
const TOKEN_MARGIN: Duration = Duration::from_secs(60);

/// `[notify.push]`.
#[derive(Debug, Clone)]
pub struct PushConfig {
    /// `notify.push.fcm_project`: the Firebase project id.
    pub project: String,
    /// `notify.push.credentials_file`: the service account's JSON key file.
    pub credentials_file: PathBuf,
    /// The FCM API's base URL: [`FCM_API_URL`] but in tests.
    pub api_url: String,
}

/// The fields of a service account's key file that the grant needs.
#[derive(Deserialize)]
struct ServiceAccount {
    client_email: String,
    private_key: String,
    token_uri: String,
}

#[derive(Serialize)]
struct Claims<'a> {
    iss: &'a str,
    scope: &'a str,
    aud: &'a str,
    iat: i64,
    exp: i64,
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    expires_in: u64,
}

/// An access token and when to stop using it.
struct Token {
    value: String,
    renew_at: Instant,
}

/// The push channel.
pub struct PushSender {
    client: reqwest::Client,
    send_url: Url,
    token_url: Url,
    account: String,
    key: EncodingKey,
    /// Held across a renewal, so concurrent deliveries wait for one grant instead of each
    /// asking for its own.
    token: Mutex<Option<Token>>,
}

/// The FCM v1 request body.
#[derive(Serialize)]
struct Send<'a> {
    message: Message<'a>,
}

#[derive(Serialize)]
struct Message<'a> {
    token: &'a str,
    notification: Notification<'a>,
    /// FCM data values are strings: the message id (for duplicates), the event and the link.
    data: Data<'a>,
}

#[derive(Serialize)]
struct Notification<'a> {
    title: &'a str,
    body: &'a str,
}

#[derive(Serialize)]
struct Data<'a> {
    id: &'a str,
    event: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    link: Option<&'a str>,
}

impl PushSender {
    /// The push channel as configured: reads and checks the service account's file now, so a
    /// wrong file stops start-up rather than every message.
    pub fn new(config: &PushConfig) -> Result<PushSender, ConfigError> {
        const FILE: &str = "notify.push.credentials_file";
        if config.project.is_empty()
            || !config
                .project
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-')
        {
            return Err(ConfigError::new(
                "notify.push.fcm_project",
                "must be a Firebase project id (letters, digits and -)",
            ));
        }
        let text = std::fs::read_to_string(&config.credentials_file).map_err(|e| {
            ConfigError::new(
                FILE,
                format!("cannot read {}: {e}", config.credentials_file.display()),
            )
        })?;
        // The file's content is a secret: a parse error names the field, never the text.
        let account: ServiceAccount = serde_json::from_str(&text).map_err(|e| {
            ConfigError::new(
                FILE,
                format!(
                    "not a service account key file (line {}, column {})",
                    e.line(),
                    e.column()
                ),
            )
        })?;
        let key = EncodingKey::from_rsa_pem(account.private_key.as_bytes())
            .map_err(|_| ConfigError::new(FILE, "private_key is not an RSA key in PEM"))?;
        let send_url = Url::parse(&format!(
            "{}/v1/projects/{}/messages:send",
            config.api_url.trim_end_matches('/'),
            config.project
        ))
        .map_err(|e| ConfigError::new("notify.push.api_url", e.to_string()))?;
        Ok(PushSender {
            client: http::client(FILE)?,
            send_url: http::service_url("notify.push.api_url", send_url.as_str())?,
            token_url: http::service_url(FILE, &account.token_uri)?,
            account: account.client_email,
            key,
            token: Mutex::new(None),
        })
    }

    /// A live access token: the kept one, or a new one from the token endpoint. Failures are
    /// temporary: they come from the account or the endpoint, not from the message, and an
    /// operator can fix them while the outbox retries.
    async fn access_token(&self) -> Result<String, DeliveryError> {
        let mut kept = self.token.lock().await;
        if let Some(token) = kept.as_ref().filter(|t| Instant::now() < t.renew_at) {
            return Ok(token.value.clone());
        }
        let now = chrono::Utc::now().timestamp();
        let assertion = jsonwebtoken::encode(
            &Header::new(Algorithm::RS256),
            &Claims {
                iss: &self.account,
                scope: SCOPE,
                aud: self.token_url.as_str(),
                iat: now,
                exp: now + TOKEN_SECONDS,
            },
            &self.key,
        )
        .map_err(|e| DeliveryError::Temporary(format!("cannot sign the token request: {e}")))?;
        let asked = Instant::now();
        let response = self
            .client
            .post(self.token_url.clone())
            .form(&[
                ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
                ("assertion", assertion.as_str()),
            ])
            .send()
            .await
            .map_err(http::transport_error)?;
        let status = response.status();
        if !status.is_success() {
            let body = response.text().await.unwrap_or_default();
            let refusal = match http::outcome(status, &body) {
                Err(DeliveryError::Temporary(e) | DeliveryError::Permanent(e)) => e,
                Ok(()) => format!("HTTP {status}"),
            };
            return Err(DeliveryError::Temporary(format!(
                "the OAuth2 token endpoint refused the service account: {refusal}"
            )));
        }
        let answer: TokenAnswer = response.json().await.map_err(|e| {
            DeliveryError::Temporary(format!("the OAuth2 token endpoint answered badly: {e}"))
        })?;
        let life = Duration::from_secs(answer.expires_in).saturating_sub(TOKEN_MARGIN);
        *kept = Some(Token {
            value: answer.access_token.clone(),
            renew_at: asked + life,
        });
        Ok(answer.access_token)
    }
}

#[async_trait]
impl Sender for PushSender {
    fn channel(&self) -> Channel {
        Channel::Push
    }

    async fn send(&self, delivery: &Delivery) -> Result<(), DeliveryError> {
        let token = self.access_token().await?;
        let body = Send {
            message: Message {
                token: &delivery.to,
                notification: Notification {
                    title: &delivery.title,
                    body: &delivery.message,
                },
                data: Data {
                    id: &delivery.id,
                    event: &delivery.event,
                    link: delivery.link.as_deref(),
                },
            },
        };
        let response = self
            .client
            .post(self.send_url.clone())
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .map_err(http::transport_error)?;
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        if status == StatusCode::UNAUTHORIZED {
            // The token was revoked or expired early: forget it, the next attempt asks anew.
            *self.token.lock().await = None;
            return Err(DeliveryError::Temporary(format!(
                "FCM refused the access token: HTTP 401: {}",
                text.chars().take(200).collect::<String>()
            )));
        }
        // 400 (a malformed token), 403 (another sender's device) and 404 (the app was
        // uninstalled: UNREGISTERED) are final; 429 and 5xx are retried.
        http::outcome(status, &text)
    }
}
