//! The notification use cases (services.md): a provider (a partner) or staff rights 3 send a
//! notification or an advertisement to a member on a channel; a partner registers its
//! webhook. Every message goes through the [`Outbox`].

use std::sync::Arc;

use crate::error::DomainError;
use crate::ids::{CardId, MemberId};
use crate::notify::Channel;
use crate::outbox::{Message, NewMessage, Origin, Outbox, Queued, Status, Webhook, WebhookStore};
use crate::paging::{Page, Paged};
use crate::ports::{Clock, Ledger, MemberAccounts, MemberDirectory, TokenSource};
use crate::rights::{Operation, Principal};

/// The most characters of a title.
pub const TITLE_MAX: usize = 32;
/// The most characters of a message.
pub const MESSAGE_MAX: usize = 166;
/// The most bytes of an advertisement's picture, once decoded.
pub const PICTURE_MAX_BYTES: usize = 200 * 1024;
/// The most characters of a link or a webhook URL.
pub const URL_MAX: usize = 2_048;

/// Why a message was not sent on purpose.
pub const NO_CONSENT: &str = "no_consent";
/// The member has no address on the channel (no e-mail, no phone, no push token).
pub const NO_ADDRESS: &str = "no_address";

/// Wakes the delivery worker after a message is queued (it also polls).
pub trait Wakeup: Send + Sync {
    fn wake(&self);
}

/// Nothing to wake (no worker in this process: another one polls the outbox).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoWakeup;

impl Wakeup for NoWakeup {
    fn wake(&self) {}
}

/// Who a message is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recipient {
    Member(MemberId),
    /// The member the card belongs to.
    Card(CardId),
}

/// A notification or an advertisement to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotificationRequest {
    pub to: Recipient,
    pub title: String,
    pub message: String,
    pub channel: Channel,
    pub link: Option<String>,
    /// An advertisement's picture, already decoded and checked (PNG or JPEG).
    pub picture: Option<Vec<u8>>,
    /// An advertisement: delivered only to members who consented.
    pub advertisement: bool,
    /// The `Idempotency-Key` and the hash of the request.
    pub idempotency: Option<(String, String)>,
}

/// What the notification use cases need.
pub struct NotificationPorts {
    pub outbox: Arc<dyn Outbox>,
    pub webhooks: Arc<dyn WebhookStore>,
    pub members: Arc<dyn MemberDirectory>,
    pub accounts: Arc<dyn MemberAccounts>,
    pub ledger: Arc<dyn Ledger>,
    pub tokens: Arc<dyn TokenSource>,
    pub clock: Arc<dyn Clock>,
    pub wakeup: Arc<dyn Wakeup>,
}

/// The notification use cases.
#[derive(Clone)]
pub struct Notifications {
    ports: Arc<NotificationPorts>,
    /// The channels `[notify]` configures; others are refused (`CHANNEL_NOT_CONFIGURED`).
    configured: Vec<Channel>,
    /// Whether a webhook may be a plain `http://` URL (local tests only).
    allow_http: bool,
}

/// Checks a field's length in characters.
fn text(field: &str, value: &str, max: usize) -> Result<(), DomainError> {
    let count = value.chars().count();
    if count == 0 || value.trim().is_empty() {
        return Err(DomainError::malformed(format!("field `{field}` is empty")));
    }
    if count > max {
        return Err(DomainError::malformed(format!(
            "field `{field}` has {count} characters: at most {max}"
        )));
    }
    if value.chars().any(|c| c.is_control() && c != '\n') {
        return Err(DomainError::malformed(format!(
            "field `{field}` holds a control character"
        )));
    }
    Ok(())
}

/// Checks a URL: the scheme (`https`, or `http` when `allow_http`), a host, no space or
/// control character, at most [`URL_MAX`] characters.
pub fn check_url(field: &str, url: &str, allow_http: bool) -> Result<(), DomainError> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://").filter(|_| allow_http))
        .ok_or_else(|| {
            DomainError::malformed(if allow_http {
                format!("field `{field}` must be an http or https URL")
            } else {
                format!("field `{field}` must be an https URL")
            })
        })?;
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = host.rsplit('@').next().unwrap_or_default();
    if host.is_empty() || host.starts_with(':') {
        return Err(DomainError::malformed(format!(
            "field `{field}` has no host"
        )));
    }
    if url.len() > URL_MAX || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(DomainError::malformed(format!(
            "field `{field}` is not a valid URL"
        )));
    }
    Ok(())
}

/// Whether `bytes` start as a PNG or a JPEG file does.
fn is_png_or_jpeg(bytes: &[u8]) -> bool {
    bytes.starts_with(b"\x89PNG\r\n\x1a\n") || bytes.starts_with(&[0xFF, 0xD8, 0xFF])
}

impl Notifications {
    /// Wires the use cases; `configured` are the channels with an adapter.
    pub fn new(ports: NotificationPorts, configured: Vec<Channel>, allow_http: bool) -> Self {
        Notifications {
            ports: Arc::new(ports),
            configured,
            allow_http,
        }
    }

    /// The channels configured on this server.
    pub fn configured(&self) -> &[Channel] {
        &self.configured
    }

    /// Who sends: a partner, or staff rights 3.
    fn origin(principal: &Principal) -> Result<Origin, DomainError> {
        match principal {
            Principal::Partner(client_id) => Ok(Origin::Partner(client_id.clone())),
            Principal::Staff(actor) => {
                actor.check(Operation::SendNotifications)?;
                Ok(Origin::Staff(actor.login.to_string()))
            }
            Principal::Member(_) => Err(DomainError::InsufficientRights),
        }
    }

    /// Queues a notification or an advertisement: the fields checked (each error names its
    /// field), the channel configured, the member resolved (from the card if need be) with
    /// their address on the channel. An advertisement to a member who did not consent, or a
    /// message to a member without an address on the channel, is stored `skipped` with its
    /// reason and never sent. A `webhook` message goes to the sending partner's webhook.
    pub async fn send(
        &self,
        principal: &Principal,
        request: NotificationRequest,
    ) -> Result<Queued, DomainError> {
        let origin = Self::origin(principal)?;
        text("title", &request.title, TITLE_MAX)?;
        text("message", &request.message, MESSAGE_MAX)?;
        if let Some(link) = &request.link {
            check_url("link", link, false)?;
        }
        if let Some(picture) = &request.picture {
            if !request.advertisement {
                return Err(DomainError::malformed(
                    "field `picture` is for advertisements only",
                ));
            }
            if picture.len() > PICTURE_MAX_BYTES {
                return Err(DomainError::malformed(format!(
                    "field `picture` is {} bytes: at most {PICTURE_MAX_BYTES}",
                    picture.len()
                )));
            }
            if !is_png_or_jpeg(picture) {
                return Err(DomainError::malformed(
                    "field `picture` is neither a PNG nor a JPEG",
                ));
            }
        }
        if !self.configured.contains(&request.channel) {
            return Err(DomainError::ChannelNotConfigured(request.channel.as_str()));
        }
        let member = match &request.to {
            Recipient::Member(id) => *id,
            Recipient::Card(card) => self
                .ports
                .ledger
                .card(card)
                .await?
                .ok_or(DomainError::UnknownCard)?
                .member
                .ok_or(DomainError::CardNotLinked)?,
        };
        let profile = self
            .ports
            .members
            .member(member)
            .await?
            .ok_or(DomainError::UnknownMember)?
            .profile;
        let (to, webhook_partner) = match request.channel {
            Channel::Email => (profile.email.unwrap_or_default(), None),
            Channel::Sms => (profile.mobile.or(profile.phone).unwrap_or_default(), None),
            // No push registration token is kept for members yet.
            Channel::Push => (String::new(), None),
            Channel::Webhook => {
                let Origin::Partner(partner) = &origin else {
                    return Err(DomainError::malformed(
                        "field `channel`: a webhook notification is sent by a partner to its \
                         own webhook",
                    ));
                };
                let hook = self
                    .ports
                    .webhooks
                    .webhook(partner)
                    .await?
                    .ok_or(DomainError::ChannelNotConfigured("webhook"))?;
                (hook.url, Some(partner.clone()))
            }
        };
        let consented = !request.advertisement
            || self
                .ports
                .accounts
                .preferences(member)
                .await?
                .unwrap_or_default()
                .advertisements;
        let skip = if !consented {
            Some(NO_CONSENT.to_owned())
        } else if to.is_empty() {
            Some(NO_ADDRESS.to_owned())
        } else {
            None
        };
        let event = if request.advertisement {
            "advertisement"
        } else {
            "notification"
        };
        let queued = self
            .ports
            .outbox
            .queue(
                NewMessage {
                    channel: request.channel,
                    to,
                    event: event.to_owned(),
                    title: request.title,
                    message: request.message,
                    link: request.link,
                    picture: request.picture,
                    origin,
                    member: Some(member),
                    webhook_partner,
                    skip,
                    idempotency: request.idempotency,
                },
                self.ports.clock.now(),
            )
            .await?;
        if queued.message.status == Status::Queued {
            self.ports.wakeup.wake();
        }
        Ok(queued)
    }

    /// A message, to its sender (or staff rights 3); another's is unknown.
    pub async fn get(&self, principal: &Principal, id: &str) -> Result<Message, DomainError> {
        let message = self
            .ports
            .outbox
            .message(id)
            .await?
            .ok_or(DomainError::UnknownNotification)?;
        let origin = Self::origin(principal)?;
        if message.origin != origin && !matches!(principal, Principal::Staff(_)) {
            return Err(DomainError::UnknownNotification);
        }
        Ok(message)
    }

    /// The caller's messages, newest first.
    pub async fn list(
        &self,
        principal: &Principal,
        page: Page,
    ) -> Result<Paged<Message>, DomainError> {
        let origin = Self::origin(principal)?;
        self.ports.outbox.messages_of(&origin, page).await
    }

    /// Registers (or replaces) a partner's webhook, by staff rights 3 or the partner itself:
    /// a new signing secret (`whsec_` + base64 of 24 random bytes), shown once to the caller.
    pub async fn set_webhook(
        &self,
        principal: &Principal,
        partner: &str,
        url: &str,
    ) -> Result<Webhook, DomainError> {
        match principal {
            Principal::Partner(own) if own == partner => {}
            Principal::Staff(actor) => actor.check(Operation::ManagePartners)?,
            _ => return Err(DomainError::InsufficientRights),
        }
        check_url("url", url, self.allow_http)?;
        // 32 characters of [0-9A-Za-z] are valid base64: a 24-byte key, ~190 random bits.
        let webhook = Webhook {
            partner: partner.to_owned(),
            url: url.to_owned(),
            secret: format!("whsec_{}", self.ports.tokens.alphanumeric(32)),
            created_at: self.ports.clock.now(),
        };
        self.ports.webhooks.set_webhook(webhook.clone()).await?;
        Ok(webhook)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_checked() {
        assert!(check_url("link", "https://example.org/a?b#c", false).is_ok());
        assert!(check_url("url", "http://127.0.0.1:8080/hook", true).is_ok());
        for bad in [
            "http://example.org",
            "ftp://example.org",
            "https://",
            "https:///path",
            "https://exa mple.org",
            "example.org",
        ] {
            let e = check_url("link", bad, false).unwrap_err();
            assert!(e.to_string().contains("`link`"), "{bad}: {e}");
        }
        assert!(check_url("url", "https://:80/x", true).is_err());
    }

    #[test]
    fn texts_are_counted_in_characters() {
        assert!(text("title", &"é".repeat(32), TITLE_MAX).is_ok());
        assert!(text("title", &"é".repeat(33), TITLE_MAX)
            .unwrap_err()
            .to_string()
            .contains("33 characters"));
        assert!(text("message", "", MESSAGE_MAX).is_err());
        assert!(text("message", "  ", MESSAGE_MAX).is_err());
        assert!(text("message", "a\u{0}b", MESSAGE_MAX).is_err());
    }

    #[test]
    fn pictures_are_recognised_by_their_signature() {
        assert!(is_png_or_jpeg(b"\x89PNG\r\n\x1a\n...."));
        assert!(is_png_or_jpeg(&[0xFF, 0xD8, 0xFF, 0xE0]));
        assert!(!is_png_or_jpeg(b"GIF89a"));
    }
}
