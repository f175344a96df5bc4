//! Notifications: what ardoise tells a member or a provider, and the seam to the channels.
//!
//! A message is first a row of the outbox, committed with its cause; a worker then hands each
//! due message to the [`Sender`] of its channel and records the outcome. The channels
//! themselves (SMTP, signed webhooks, an SMS gateway, FCM push) are adapters in
//! `ardoise-notify`; this module only says what they are given and what they answer.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use thiserror::Error;

/// The ways a message reaches its recipient.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Channel {
    Email,
    Sms,
    Push,
    Webhook,
}

impl Channel {
    /// Every channel, in the order the API lists them.
    pub const ALL: [Channel; 4] = [
        Channel::Email,
        Channel::Sms,
        Channel::Push,
        Channel::Webhook,
    ];

    /// The wire name (`"email"`, `"sms"`, `"push"`, `"webhook"`).
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::Sms => "sms",
            Channel::Push => "push",
            Channel::Webhook => "webhook",
        }
    }

    /// Parses a wire name; `None` for anything else.
    pub fn parse(text: &str) -> Option<Channel> {
        Channel::ALL.into_iter().find(|c| c.as_str() == text)
    }
}

/// One attempt at delivering a queued message, as a channel adapter receives it. Everything a
/// channel needs was resolved when the message was queued (the address, the webhook's URL and
/// secret), so an attempt needs no lookup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// The message id, the same on every attempt, so receivers can drop duplicates
    /// (`webhook-id` for webhooks, `Message-ID` for e-mail, a field for SMS and push).
    pub id: String,
    pub channel: Channel,
    /// The recipient on that channel: an e-mail address, a phone number (E.164), an FCM
    /// registration token, or the webhook's `https` URL.
    pub to: String,
    /// What the message is about: `"notification"`, `"advertisement"`, `"low_balance"`,
    /// `"receipt"`, `"card_lost"`, `"invitation"`, `"password_reset"`, `"exchange_message"`.
    pub event: String,
    /// 1–32 characters.
    pub title: String,
    /// 1–166 characters.
    pub message: String,
    /// An `https` link the recipient may follow.
    pub link: Option<String>,
    /// An advertisement's picture, already decoded and checked (PNG or JPEG, ≤ 200 KB).
    pub picture: Option<Vec<u8>>,
    /// The webhook's signing secret (`whsec_` + base64), for webhook deliveries only.
    pub secret: Option<String>,
    /// When the message was queued.
    pub created_at: DateTime<Utc>,
    /// 1 on the first attempt.
    pub attempt: u32,
}

/// Why an attempt failed, which decides what the worker does next.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DeliveryError {
    /// Worth retrying later (a timeout, a refused connection, a 5xx or 429 answer, an SMTP 4xx).
    #[error("temporary failure: {0}")]
    Temporary(String),
    /// Retrying cannot help (a 4xx answer, an address the server refuses): the message fails.
    #[error("permanent failure: {0}")]
    Permanent(String),
}

/// A channel adapter: delivers one message, once. Retries, backoff and bookkeeping are the
/// worker's; an adapter only reports how its attempt went.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait Sender: Send + Sync {
    /// The channel this adapter serves.
    fn channel(&self) -> Channel;
    /// Makes one attempt at delivering `delivery`.
    async fn send(&self, delivery: &Delivery) -> Result<(), DeliveryError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channel_names_round_trip_and_nothing_else_parses() {
        for channel in Channel::ALL {
            assert_eq!(Channel::parse(channel.as_str()), Some(channel));
        }
        assert_eq!(Channel::parse("fax"), None);
        assert_eq!(Channel::parse("Email"), None);
    }
}
