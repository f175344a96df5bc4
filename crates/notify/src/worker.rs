//! The delivery worker: claims due messages from the [`Outbox`], hands each to the
//! [`Sender`] of its channel and records how the attempt went.
//!
//! - **At least once.** A message is claimed with a lease (`sending` until the lease runs
//!   out) and its outcome recorded after the attempt; a process that dies in between (a crash,
//!   `kill -9`) leaves it `sending`, and once the lease runs out any process claims it again.
//!   Receivers drop duplicates by the message id, the same on every attempt.
//! - **Several processes.** Claims are atomic in the store (`FOR UPDATE SKIP LOCKED` on
//!   PostgreSQL), and an outcome is recorded only by the attempt that holds the message.
//! - **Bounded.** At most `per_channel` attempts run at once on each channel, and at most
//!   [`CLAIM_AHEAD`] × `per_channel` messages per configured channel are claimed ahead (their
//!   outcomes not yet recorded).
//! - **Batched.** Claims and outcomes are writes of the store, which commits all those waiting
//!   at once (with the messages the routes queue): the worker claims a channel's worth of
//!   messages at a time, and the messages claimed ahead keep the channels busy while claims
//!   and outcomes wait for their commit.
//! - **Rate-limited per provider.** A partner's messages beyond `sends_per_minute` in the last
//!   minute are postponed (not counted as attempts) until the minute allows them.
//! - **Retries** follow the [`RetryPolicy`]: exponential backoff with jitter for 24 h, then
//!   `failed`; a permanent refusal fails at once. A message on a channel without a sender is
//!   `skipped` at once (`channel_not_configured`).

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ardoise_domain::notify::{Channel, DeliveryError, Sender};
use ardoise_domain::outbox::{Claimed, Origin, Outbox, Outcome, RetryPolicy};
use ardoise_domain::ports::Clock;
use tokio::sync::{Notify, Semaphore};
use tokio::task::JoinSet;

/// The reason recorded for a message on a channel the server does not configure.
pub const CHANNEL_NOT_CONFIGURED: &str = "channel_not_configured";

/// How many times `per_channel` messages each configured channel may have claimed, sent or
/// waiting: a claim and an outcome each wait for a commit of the store, during which the
/// messages claimed ahead are being sent.
pub const CLAIM_AHEAD: usize = 4;

/// How the worker runs.
#[derive(Debug, Clone)]
pub struct WorkerSettings {
    /// How long a claim holds a message: longer than any attempt takes (the adapters time out
    /// well before), short enough that a message of a dead process is retried soon.
    pub lease: chrono::Duration,
    /// How often the outbox is read when nothing wakes the worker.
    pub poll_interval: Duration,
    /// The most attempts under way at once on one channel.
    pub per_channel: usize,
    /// The most messages one partner may have sent per minute; 0: no limit.
    pub sends_per_minute: u32,
    pub retry: RetryPolicy,
}

impl Default for WorkerSettings {
    fn default() -> WorkerSettings {
        WorkerSettings {
            lease: chrono::Duration::seconds(60),
            poll_interval: Duration::from_secs(1),
            per_channel: 16,
            sends_per_minute: 600,
            retry: RetryPolicy::default(),
        }
    }
}

/// Wakes the worker at once (after a message is queued), instead of at its next poll.
#[derive(Clone, Default)]
pub struct Waker(Arc<Notify>);

impl Waker {
    /// Tells the worker that a message may be due.
    pub fn wake(&self) {
        self.0.notify_one();
    }
}

impl ardoise_domain::notifications::Wakeup for Waker {
    fn wake(&self) {
        Waker::wake(self);
    }
}

/// The delivery worker (see the module's documentation).
pub struct Worker {
    outbox: Arc<dyn Outbox>,
    senders: HashMap<Channel, Arc<dyn Sender>>,
    channels: HashMap<Channel, Arc<Semaphore>>,
    settings: WorkerSettings,
    clock: Arc<dyn Clock>,
    waker: Waker,
    limiter: Arc<RateLimiter>,
}

impl Worker {
    /// A worker delivering through `senders` (one per configured channel; a message on a
    /// channel without one is `skipped` with the reason [`CHANNEL_NOT_CONFIGURED`]).
    pub fn new(
        outbox: Arc<dyn Outbox>,
        senders: Vec<Arc<dyn Sender>>,
        clock: Arc<dyn Clock>,
        settings: WorkerSettings,
    ) -> Worker {
        let per_channel = settings.per_channel.max(1);
        let senders: HashMap<Channel, Arc<dyn Sender>> =
            senders.into_iter().map(|s| (s.channel(), s)).collect();
        let channels = Channel::ALL
            .into_iter()
            .map(|c| (c, Arc::new(Semaphore::new(per_channel))))
            .collect();
        Worker {
            outbox,
            senders,
            channels,
            limiter: Arc::new(RateLimiter::new(settings.sends_per_minute)),
            settings,
            clock,
            waker: Waker::default(),
        }
    }

    /// The handle that wakes this worker.
    pub fn waker(&self) -> Waker {
        self.waker.clone()
    }

    /// The most messages claimed ahead: [`CLAIM_AHEAD`] × `per_channel` for each configured
    /// channel.
    fn capacity(&self) -> usize {
        CLAIM_AHEAD * self.settings.per_channel.max(1) * self.senders.len().max(1)
    }

    /// Delivers until `stop` completes, then lets the attempts under way finish (their
    /// messages are retried after the lease if the process stops first).
    pub async fn run(self, stop: impl Future<Output = ()>) {
        tracing::info!(
            channels = ?self.senders.keys().map(|c| c.as_str()).collect::<Vec<_>>(),
            "notification worker started"
        );
        let slots = Arc::new(Semaphore::new(self.capacity()));
        let mut attempts = JoinSet::new();
        // When the outbox has more due than the worker holds, the next claim waits for this
        // many free slots: one claim, one commit, for a channel's worth of messages.
        let batch = self.settings.per_channel.max(1);
        tokio::pin!(stop);
        'claiming: loop {
            // Reap the finished attempts (their errors were logged by the attempt itself).
            while attempts.try_join_next().is_some() {}
            let free = slots.available_permits();
            let claimed = if free == 0 {
                Vec::new()
            } else {
                match self
                    .outbox
                    .claim(self.clock.now(), self.settings.lease, free)
                    .await
                {
                    Ok(claimed) => claimed,
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot claim due notifications");
                        Vec::new()
                    }
                }
            };
            let full = !claimed.is_empty() && claimed.len() == free;
            for message in claimed {
                let Ok(slot) = slots.clone().try_acquire_owned() else {
                    break; // cannot happen: no more were claimed than there were free slots
                };
                let attempt = self.attempt(message);
                attempts.spawn(async move {
                    attempt.await;
                    drop(slot);
                });
            }
            if full {
                // More may be due: claim again once `batch` slots are free, or nothing is
                // under way any more.
                loop {
                    tokio::select! {
                        _ = &mut stop => break 'claiming,
                        done = attempts.join_next() => if done.is_none() { break },
                    }
                    if slots.available_permits() >= batch {
                        break;
                    }
                }
                continue;
            }
            tokio::select! {
                _ = &mut stop => break,
                _ = self.waker.0.notified() => {}
                _ = tokio::time::sleep(self.settings.poll_interval) => {}
            }
        }
        tracing::info!(under_way = attempts.len(), "notification worker stopping");
        while attempts.join_next().await.is_some() {}
    }

    /// Claims and delivers the messages due now, waiting for their attempts; how many were
    /// claimed. For tests and one-shot runs.
    pub async fn run_once(&self) -> usize {
        let claimed = match self
            .outbox
            .claim(self.clock.now(), self.settings.lease, self.capacity())
            .await
        {
            Ok(claimed) => claimed,
            Err(e) => {
                tracing::warn!(error = %e, "cannot claim due notifications");
                return 0;
            }
        };
        let count = claimed.len();
        let mut attempts = JoinSet::new();
        for message in claimed {
            attempts.spawn(self.attempt(message));
        }
        while attempts.join_next().await.is_some() {}
        count
    }

    /// One attempt at a claimed message, as a task of its own: the provider's rate limit,
    /// the channel's concurrency bound, the send, and its outcome recorded.
    fn attempt(&self, claimed: Claimed) -> impl Future<Output = ()> + Send + 'static {
        let outbox = self.outbox.clone();
        let sender = self.senders.get(&claimed.delivery.channel).cloned();
        let channel = self.channels.get(&claimed.delivery.channel).cloned();
        let clock = self.clock.clone();
        let retry = self.settings.retry;
        let limiter = self.limiter.clone();
        async move {
            let Claimed { delivery, origin } = claimed;
            let outcome = if let Some(wait) = limiter.wait(&origin) {
                let at = clock.now()
                    + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::seconds(60));
                Outcome::Postponed { at }
            } else if sender.is_none() {
                // Retrying cannot help until the server is reconfigured: skipped at once.
                Outcome::Skipped {
                    reason: CHANNEL_NOT_CONFIGURED.to_owned(),
                }
            } else {
                let result = match (sender, channel) {
                    (Some(sender), Some(channel)) => {
                        if delivery.channel == Channel::Webhook && delivery.to.is_empty() {
                            Err(DeliveryError::Permanent(
                                "no webhook is registered for this message".into(),
                            ))
                        } else {
                            match channel.acquire_owned().await {
                                Ok(_permit) => sender.send(&delivery).await,
                                Err(_) => Err(DeliveryError::Temporary("stopping".into())),
                            }
                        }
                    }
                    _ => Err(DeliveryError::Temporary(format!(
                        "the {} channel is not configured",
                        delivery.channel.as_str()
                    ))),
                };
                match result {
                    Ok(()) => Outcome::Sent,
                    Err(e) => {
                        tracing::info!(
                            id = %delivery.id,
                            channel = delivery.channel.as_str(),
                            attempt = delivery.attempt,
                            error = %e,
                            "notification attempt failed"
                        );
                        retry.after_failure(&delivery, &e, clock.now(), rand::random::<f64>())
                    }
                }
            };
            match outbox
                .record(&delivery.id, delivery.attempt, outcome, clock.now())
                .await
            {
                Ok(true) => {}
                Ok(false) => tracing::info!(
                    id = %delivery.id,
                    "the lease of a notification ran out during its attempt: another took it over"
                ),
                Err(e) => tracing::warn!(
                    id = %delivery.id,
                    error = %e,
                    "cannot record a notification's attempt: it is retried after its lease"
                ),
            }
        }
    }
}

/// Each partner's sends in the last minute (a sliding window).
struct RateLimiter {
    per_minute: u32,
    sent: Mutex<HashMap<String, VecDeque<Instant>>>,
}

const MINUTE: Duration = Duration::from_secs(60);

impl RateLimiter {
    fn new(per_minute: u32) -> RateLimiter {
        RateLimiter {
            per_minute,
            sent: Mutex::new(HashMap::new()),
        }
    }

    /// `None`: the send may go now (and is counted); `Some(wait)`: the partner used its
    /// minute, try again after `wait`. Only partners are limited.
    fn wait(&self, origin: &Origin) -> Option<Duration> {
        let Origin::Partner(partner) = origin else {
            return None;
        };
        if self.per_minute == 0 {
            return None;
        }
        let now = Instant::now();
        let mut sent = match self.sent.lock() {
            Ok(sent) => sent,
            Err(poisoned) => poisoned.into_inner(),
        };
        let window = sent.entry(partner.clone()).or_default();
        while window
            .front()
            .is_some_and(|at| now.duration_since(*at) >= MINUTE)
        {
            window.pop_front();
        }
        if window.len() >= self.per_minute as usize {
            let oldest = window.front().copied().unwrap_or(now);
            return Some(
                MINUTE.saturating_sub(now.duration_since(oldest)) + Duration::from_millis(1),
            );
        }
        window.push_back(now);
        None
    }
}

#[cfg(test)]
mod tests;
