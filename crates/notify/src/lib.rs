//! ardoise's notification channels: each adapter implements the domain's
//! [`ardoise_domain::Sender`] port for one [`ardoise_domain::Channel`], and is built from its
//! own small configuration (the `[notify]` settings, filled in by the `app` crate).
//!
//! - [`EmailSender`]: SMTP through `lettre` (STARTTLS for `smtp://`, TLS for `smtps://`),
//!   plain text with an HTML alternative, `Message-ID` from the message id.
//! - [`WebhookSender`]: a JSON `POST` signed as Standard Webhooks do.
//! - [`SmsSender`]: an HTTP SMS gateway, JSON or form body, bearer token.
//! - [`PushSender`]: Firebase Cloud Messaging HTTP v1 with a service account's OAuth2 token.
//!
//! An adapter makes one attempt and classifies its failure as temporary (retry later) or
//! permanent; retries belong to the [`worker`], which delivers the outbox's messages through
//! them.

mod email;
mod http;
mod push;
mod sms;
mod text;
mod webhook;
pub mod worker;

use std::sync::Arc;

use ardoise_domain::Sender;

pub use email::{EmailConfig, EmailSender};
pub use push::{PushConfig, PushSender, FCM_API_URL};
pub use sms::{SmsConfig, SmsFormat, SmsSender};
pub use webhook::{sign, WebhookConfig, WebhookSender};
pub use worker::{Waker, Worker, WorkerSettings};

/// A channel's configuration that cannot work, naming the setting at fault.
#[derive(Debug, thiserror::Error)]
#[error("{setting}: {reason}")]
pub struct ConfigError {
    /// The setting, as written in the configuration (`notify.email.smtp_url`).
    pub setting: &'static str,
    /// What is wrong with it (never its secret part).
    pub reason: String,
}

impl ConfigError {
    fn new(setting: &'static str, reason: impl Into<String>) -> ConfigError {
        ConfigError {
            setting,
            reason: reason.into(),
        }
    }
}

/// `[notify]`: the channels to build. `None` leaves a channel unconfigured (its messages are
/// refused with `CHANNEL_NOT_CONFIGURED`); webhooks need no setting of their own (each
/// partner registers its URL), so they are always there.
#[derive(Debug, Clone, Default)]
pub struct NotifyConfig {
    pub email: Option<EmailConfig>,
    pub sms: Option<SmsConfig>,
    pub push: Option<PushConfig>,
    pub webhook: WebhookConfig,
}

/// The adapter of every configured channel, or the first setting that cannot work.
pub fn senders(config: &NotifyConfig) -> Result<Vec<Arc<dyn Sender>>, ConfigError> {
    let mut senders: Vec<Arc<dyn Sender>> = vec![Arc::new(WebhookSender::new(&config.webhook)?)];
    if let Some(email) = &config.email {
        senders.push(Arc::new(EmailSender::new(email)?));
    }
    if let Some(sms) = &config.sms {
        senders.push(Arc::new(SmsSender::new(sms)?));
    }
    if let Some(push) = &config.push {
        senders.push(Arc::new(PushSender::new(push)?));
    }
    Ok(senders)
}
