//! The outbox (services.md): every message is first a row committed with its cause, then
//! delivered by a worker at least once, with the same id on every attempt, retried with
//! exponential backoff and jitter for 24 h and then `failed`.
//!
//! [`Outbox`] is the port: queue a message, claim the due ones, record how an attempt went.
//! [`RetryPolicy`] decides when a failed attempt is tried again. Both are pure here; the store
//! implements the port, `ardoise-notify`'s worker drives it.

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};

use crate::error::DomainError;
use crate::ids::MemberId;
use crate::notify::{Channel, Delivery};
use crate::paging::{Page, Paged};

/// Where a message is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    /// Waiting for its next attempt.
    Queued,
    /// An attempt is under way (or its process died: the lease runs out and it is retried).
    Sending,
    /// Delivered.
    Sent,
    /// Given up: refused for good, or still failing 24 h after it was queued.
    Failed,
    /// Not sent on purpose (`last_error` says why: `no_consent`, `no_address`).
    Skipped,
}

impl Status {
    /// Every status, in the order of a message's life.
    pub const ALL: [Status; 5] = [
        Status::Queued,
        Status::Sending,
        Status::Sent,
        Status::Failed,
        Status::Skipped,
    ];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Queued => "queued",
            Status::Sending => "sending",
            Status::Sent => "sent",
            Status::Failed => "failed",
            Status::Skipped => "skipped",
        }
    }

    /// Parses a wire name.
    pub fn parse(text: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

/// Who sent a message: ardoise itself (a member event), a partner, or a staff user.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Origin {
    Ardoise,
    /// A partner, by client id.
    Partner(String),
    /// A staff user, by login.
    Staff(String),
}

impl Origin {
    /// As stored: `ardoise`, `partner:<client_id>`, `staff:<login>`.
    pub fn to_text(&self) -> String {
        match self {
            Origin::Ardoise => "ardoise".to_owned(),
            Origin::Partner(id) => format!("partner:{id}"),
            Origin::Staff(login) => format!("staff:{login}"),
        }
    }

    /// Parses the stored form.
    pub fn parse(text: &str) -> Option<Origin> {
        if text == "ardoise" {
            return Some(Origin::Ardoise);
        }
        match text.split_once(':')? {
            ("partner", id) if !id.is_empty() => Some(Origin::Partner(id.to_owned())),
            ("staff", login) if !login.is_empty() => Some(Origin::Staff(login.to_owned())),
            _ => None,
        }
    }
}

/// A message to queue. The recipient's address is resolved now, so that an attempt needs no
/// lookup (a webhook's URL and secret are read from its partner's registration at each
/// attempt: a rotated secret signs the retries).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMessage {
    pub channel: Channel,
    /// The address on `channel` (empty when the member has none: the message is skipped).
    pub to: String,
    /// `notification`, `advertisement`, `low_balance`, `receipt`, …
    pub event: String,
    pub title: String,
    pub message: String,
    pub link: Option<String>,
    pub picture: Option<Vec<u8>>,
    pub origin: Origin,
    pub member: Option<MemberId>,
    /// The partner whose registered webhook a `webhook` message goes to.
    pub webhook_partner: Option<String>,
    /// `Some(reason)`: stored as `skipped` with that reason, never delivered.
    pub skip: Option<String>,
    /// The sender's `Idempotency-Key` and the hash of the request (scoped to the origin).
    pub idempotency: Option<(String, String)>,
}

/// A message as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// `msg_` and 32 hex digits, the same on every attempt.
    pub id: String,
    pub channel: Channel,
    pub to: String,
    pub event: String,
    pub title: String,
    pub message: String,
    pub link: Option<String>,
    pub origin: Origin,
    pub member: Option<MemberId>,
    pub status: Status,
    pub attempts: u32,
    pub next_attempt_at: DateTime<Utc>,
    /// The last failure, or why the message was skipped.
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
}

/// The outcome of queueing: the message, and whether it is the one an earlier identical
/// request queued (`Idempotency-Key`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Queued {
    pub message: Message,
    pub replayed: bool,
}

/// A message claimed for one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claimed {
    /// What the channel adapter is given (`attempt` counts this one).
    pub delivery: Delivery,
    /// Who sent it, for the per-provider rate limit.
    pub origin: Origin,
}

/// How an attempt went, as the worker records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Delivered.
    Sent,
    /// Failed, to be tried again at `at`.
    Retry { at: DateTime<Utc>, error: String },
    /// Failed for good.
    Failed { error: String },
    /// Not attempted and never will be (e.g. `channel_not_configured`: the server has no
    /// sender for the message's channel); `reason` is recorded as its last error.
    Skipped { reason: String },
    /// Not attempted (the provider's rate limit): queued again for `at`, the attempt not
    /// counted.
    Postponed { at: DateTime<Utc> },
}

/// The events whose `link` carries a one-time secret (an account's invitation or password
/// reset): the store blanks it when the message reaches a final state, in the same write.
pub const SECRET_LINK_EVENTS: [&str; 2] = ["invitation", "password_reset"];

impl Outcome {
    /// Whether the message is done with (sent, failed or skipped): no attempt follows.
    pub fn is_final(&self) -> bool {
        matches!(
            self,
            Outcome::Sent | Outcome::Failed { .. } | Outcome::Skipped { .. }
        )
    }
}

/// The outbox's figures for `/metrics`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OutboxFigures {
    /// Waiting for an attempt (`queued` and `sending`).
    pub queued: u64,
    pub sent: u64,
    pub failed: u64,
    pub skipped: u64,
    /// When the oldest message still waiting was queued.
    pub oldest_queued_at: Option<DateTime<Utc>>,
}

/// The outbox, stored.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait Outbox: Send + Sync {
    /// Queues a message, durably once it answers (the routes; a cause that writes other rows
    /// queues its messages in its own transaction, see the store). With an idempotency key
    /// already used by the same origin: the message it queued when the request hash is the
    /// same, else `IdempotencyKeyReused`. `UnknownMember`, `UnknownPartner`.
    async fn queue(&self, message: NewMessage, at: DateTime<Utc>) -> Result<Queued, DomainError>;

    /// A message by id.
    async fn message(&self, id: &str) -> Result<Option<Message>, DomainError>;

    /// A page of the messages an origin sent, newest first.
    async fn messages_of(&self, origin: &Origin, page: Page)
        -> Result<Paged<Message>, DomainError>;

    /// Claims up to `limit` due messages for one attempt each, atomically (two processes
    /// never claim the same message while its lease runs): `queued` ones whose time has come,
    /// and `sending` ones whose lease ran out (their process died). Each claimed message is
    /// `sending` until `now + lease`, its attempts counted.
    async fn claim(
        &self,
        now: DateTime<Utc>,
        lease: Duration,
        limit: usize,
    ) -> Result<Vec<Claimed>, DomainError>;

    /// Records how attempt `attempt` of message `id` went, if that attempt still holds the
    /// message (a guarded update: a late answer after the lease ran out and another process
    /// took it over changes nothing); whether it did.
    async fn record(
        &self,
        id: &str,
        attempt: u32,
        outcome: Outcome,
        at: DateTime<Utc>,
    ) -> Result<bool, DomainError>;

    /// The figures for `/metrics`.
    async fn figures(&self) -> Result<OutboxFigures, DomainError>;
}

/// A partner's registered webhook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Webhook {
    pub partner: String,
    /// Where the deliveries are posted.
    pub url: String,
    /// The signing secret, `whsec_` + base64 (kept as is: signing needs it).
    pub secret: String,
    pub created_at: DateTime<Utc>,
}

/// The partners' webhooks, stored.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait WebhookStore: Send + Sync {
    /// Registers (or replaces) a partner's webhook: `UnknownPartner`.
    async fn set_webhook(&self, webhook: Webhook) -> Result<(), DomainError>;
    /// A partner's webhook, if it registered one.
    async fn webhook(&self, partner: &str) -> Result<Option<Webhook>, DomainError>;
}

/// When a failed attempt is tried again: exponential backoff from `first_delay`, doubled at
/// each attempt up to `max_delay`, with "equal jitter" (half the delay fixed, half random) so
/// that messages failing together do not retry together; after `give_up_after` from the
/// message's creation, no more attempts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    pub first_delay: Duration,
    pub max_delay: Duration,
    pub give_up_after: Duration,
}

impl Default for RetryPolicy {
    /// 10 s, 20 s, 40 s, … at most an hour apart, for 24 h.
    fn default() -> RetryPolicy {
        RetryPolicy {
            first_delay: Duration::seconds(10),
            max_delay: Duration::hours(1),
            give_up_after: Duration::hours(24),
        }
    }
}

impl RetryPolicy {
    /// The delay after failed attempt `attempt` (1 for the first), before jitter.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let doublings = attempt.saturating_sub(1).min(30);
        let millis = self
            .first_delay
            .num_milliseconds()
            .saturating_mul(1_i64 << doublings);
        Duration::milliseconds(millis.min(self.max_delay.num_milliseconds()))
    }

    /// When to try again after failed attempt `attempt` at `now` of a message queued at
    /// `created_at`, with `jitter` in `[0, 1)` drawn by the caller; `None`: give up (the next
    /// attempt would come more than `give_up_after` after the message was queued).
    pub fn next_attempt(
        &self,
        attempt: u32,
        created_at: DateTime<Utc>,
        now: DateTime<Utc>,
        jitter: f64,
    ) -> Option<DateTime<Utc>> {
        let delay = self.backoff(attempt).num_milliseconds();
        let half = delay / 2;
        // `jitter` is a fraction: the product stays below `half`, far from i64's range.
        #[allow(clippy::cast_possible_truncation, clippy::cast_precision_loss)]
        let random = (half as f64 * jitter.clamp(0.0, 1.0)) as i64;
        let at = now + Duration::milliseconds(delay - half + random);
        (at <= created_at + self.give_up_after).then_some(at)
    }

    /// The outcome of a failed attempt: retried later, or failed for good.
    pub fn after_failure(
        &self,
        delivery: &Delivery,
        error: &crate::notify::DeliveryError,
        now: DateTime<Utc>,
        jitter: f64,
    ) -> Outcome {
        use crate::notify::DeliveryError;
        match error {
            DeliveryError::Permanent(why) => Outcome::Failed { error: why.clone() },
            DeliveryError::Temporary(why) => {
                match self.next_attempt(delivery.attempt, delivery.created_at, now, jitter) {
                    Some(at) => Outcome::Retry {
                        at,
                        error: why.clone(),
                    },
                    None => Outcome::Failed {
                        error: format!("gave up after {} attempts: {why}", delivery.attempt),
                    },
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::DeliveryError;

    fn t0() -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap()
    }

    fn delivery(attempt: u32, created_at: DateTime<Utc>) -> Delivery {
        Delivery {
            id: "msg_1".into(),
            channel: Channel::Webhook,
            to: "https://example.org/hook".into(),
            event: "notification".into(),
            title: "t".into(),
            message: "m".into(),
            link: None,
            picture: None,
            secret: None,
            created_at,
            attempt,
        }
    }

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let p = RetryPolicy::default();
        assert_eq!(p.backoff(1), Duration::seconds(10));
        assert_eq!(p.backoff(2), Duration::seconds(20));
        assert_eq!(p.backoff(3), Duration::seconds(40));
        assert_eq!(p.backoff(9), Duration::seconds(2560));
        assert_eq!(p.backoff(10), Duration::hours(1));
        assert_eq!(p.backoff(u32::MAX), Duration::hours(1));
    }

    #[test]
    fn jitter_spreads_over_the_second_half_of_the_delay() {
        let p = RetryPolicy::default();
        let now = t0();
        let low = p.next_attempt(3, now, now, 0.0).unwrap();
        let high = p.next_attempt(3, now, now, 0.999_999).unwrap();
        assert_eq!(low, now + Duration::seconds(20));
        assert!(high > now + Duration::milliseconds(39_990) && high < now + Duration::seconds(40));
        // Out-of-range jitter cannot push a retry outside the window.
        assert_eq!(p.next_attempt(3, now, now, -5.0), Some(low));
        assert!(p.next_attempt(3, now, now, 7.0).unwrap() <= now + Duration::seconds(40));
    }

    #[test]
    fn gives_up_after_a_day() {
        let p = RetryPolicy::default();
        let created = t0();
        // An hour before the end: one more attempt fits (at most an hour later).
        let late = created + Duration::hours(23);
        assert!(p.next_attempt(20, created, late, 0.0).is_some());
        let later = created + Duration::hours(23) + Duration::minutes(45);
        assert_eq!(p.next_attempt(20, created, later, 0.5), None);
        let outcome = p.after_failure(
            &delivery(20, created),
            &DeliveryError::Temporary("503".into()),
            later,
            0.5,
        );
        assert_eq!(
            outcome,
            Outcome::Failed {
                error: "gave up after 20 attempts: 503".into()
            }
        );
    }

    #[test]
    fn a_permanent_failure_is_not_retried() {
        let p = RetryPolicy::default();
        let now = t0();
        assert_eq!(
            p.after_failure(
                &delivery(1, now),
                &DeliveryError::Permanent("410 Gone".into()),
                now,
                0.0
            ),
            Outcome::Failed {
                error: "410 Gone".into()
            }
        );
        assert_eq!(
            p.after_failure(
                &delivery(1, now),
                &DeliveryError::Temporary("timeout".into()),
                now,
                0.0
            ),
            Outcome::Retry {
                at: now + Duration::seconds(5),
                error: "timeout".into()
            }
        );
    }

    #[test]
    fn names_round_trip() {
        for s in Status::ALL {
            assert_eq!(Status::parse(s.as_str()), Some(s));
        }
        assert_eq!(Status::parse("done"), None);
        for o in [
            Origin::Ardoise,
            Origin::Partner("p_1".into()),
            Origin::Staff("alice".into()),
        ] {
            assert_eq!(Origin::parse(&o.to_text()), Some(o));
        }
        assert_eq!(Origin::parse("partner:"), None);
        assert_eq!(Origin::parse("bob"), None);
    }
}
