//! The worker's logic against an in-memory outbox with the store's semantics (claims with a
//! lease, outcomes guarded by the attempt) and fake senders.

use std::sync::atomic::{AtomicUsize, Ordering};

use ardoise_domain::notify::Delivery;
use ardoise_domain::outbox::{Message, NewMessage, OutboxFigures, Queued, Status};
use ardoise_domain::{DomainError, Page, Paged};
use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::*;

fn t(seconds: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000 + seconds, 0).unwrap()
}

/// A clock the test moves.
struct TestClock(Mutex<DateTime<Utc>>);

impl TestClock {
    fn set(&self, at: DateTime<Utc>) {
        *self.0.lock().unwrap() = at;
    }
}

impl Clock for TestClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap()
    }
}

#[derive(Default)]
struct MemoryOutbox {
    rows: Mutex<Vec<(Message, Origin)>>,
}

impl MemoryOutbox {
    fn add(&self, channel: Channel, to: &str, origin: Origin, at: DateTime<Utc>) -> String {
        let mut rows = self.rows.lock().unwrap();
        let id = format!("msg_{}", rows.len());
        rows.push((
            Message {
                id: id.clone(),
                channel,
                to: to.into(),
                event: "notification".into(),
                title: "Hi".into(),
                message: "Hello".into(),
                link: None,
                origin: origin.clone(),
                member: None,
                status: Status::Queued,
                attempts: 0,
                next_attempt_at: at,
                last_error: None,
                created_at: at,
                sent_at: None,
            },
            origin,
        ));
        id
    }

    fn get(&self, id: &str) -> Message {
        let rows = self.rows.lock().unwrap();
        rows.iter().find(|(m, _)| m.id == id).unwrap().0.clone()
    }

    fn with_status(&self, status: Status) -> usize {
        let rows = self.rows.lock().unwrap();
        rows.iter().filter(|(m, _)| m.status == status).count()
    }
}

#[async_trait]
impl Outbox for MemoryOutbox {
    async fn queue(&self, _: NewMessage, _: DateTime<Utc>) -> Result<Queued, DomainError> {
        unreachable!("the worker never queues")
    }

    async fn message(&self, id: &str) -> Result<Option<Message>, DomainError> {
        Ok(Some(self.get(id)))
    }

    async fn messages_of(&self, _: &Origin, _: Page) -> Result<Paged<Message>, DomainError> {
        unreachable!("the worker never lists")
    }

    async fn claim(
        &self,
        now: DateTime<Utc>,
        lease: chrono::Duration,
        limit: usize,
    ) -> Result<Vec<Claimed>, DomainError> {
        let mut rows = self.rows.lock().unwrap();
        let mut due: Vec<&mut (Message, Origin)> = rows
            .iter_mut()
            .filter(|(m, _)| {
                matches!(m.status, Status::Queued | Status::Sending) && m.next_attempt_at <= now
            })
            .collect();
        due.sort_by_key(|(m, _)| m.next_attempt_at);
        Ok(due
            .into_iter()
            .take(limit)
            .map(|(m, origin)| {
                m.status = Status::Sending;
                m.attempts += 1;
                m.next_attempt_at = now + lease;
                Claimed {
                    delivery: Delivery {
                        id: m.id.clone(),
                        channel: m.channel,
                        to: m.to.clone(),
                        event: m.event.clone(),
                        title: m.title.clone(),
                        message: m.message.clone(),
                        link: None,
                        picture: None,
                        secret: None,
                        created_at: m.created_at,
                        attempt: m.attempts,
                    },
                    origin: origin.clone(),
                }
            })
            .collect())
    }

    async fn record(
        &self,
        id: &str,
        attempt: u32,
        outcome: Outcome,
        at: DateTime<Utc>,
    ) -> Result<bool, DomainError> {
        let mut rows = self.rows.lock().unwrap();
        let Some((m, _)) = rows
            .iter_mut()
            .find(|(m, _)| m.id == id && m.status == Status::Sending && m.attempts == attempt)
        else {
            return Ok(false);
        };
        match outcome {
            Outcome::Sent => {
                m.status = Status::Sent;
                m.sent_at = Some(at);
            }
            Outcome::Retry { at, error } => {
                m.status = Status::Queued;
                m.next_attempt_at = at;
                m.last_error = Some(error);
            }
            Outcome::Failed { error } => {
                m.status = Status::Failed;
                m.last_error = Some(error);
            }
            Outcome::Skipped { reason } => {
                m.status = Status::Skipped;
                m.last_error = Some(reason);
            }
            Outcome::Postponed { at } => {
                m.status = Status::Queued;
                m.next_attempt_at = at;
                m.attempts -= 1;
            }
        }
        Ok(true)
    }

    async fn figures(&self) -> Result<OutboxFigures, DomainError> {
        unreachable!("the worker reads no figures")
    }
}

/// A sender that answers from a script (then success), records every attempt, and tracks
/// how many of its sends run at once.
struct FakeSender {
    channel: Channel,
    script: Mutex<VecDeque<Result<(), DeliveryError>>>,
    seen: Mutex<Vec<(String, u32)>>,
    delay: Duration,
    running: AtomicUsize,
    most: AtomicUsize,
}

impl FakeSender {
    fn new(channel: Channel, script: Vec<Result<(), DeliveryError>>) -> Arc<FakeSender> {
        Arc::new(FakeSender {
            channel,
            script: Mutex::new(script.into()),
            seen: Mutex::new(Vec::new()),
            delay: Duration::ZERO,
            running: AtomicUsize::new(0),
            most: AtomicUsize::new(0),
        })
    }

    fn seen(&self) -> Vec<(String, u32)> {
        self.seen.lock().unwrap().clone()
    }
}

#[async_trait]
impl Sender for FakeSender {
    fn channel(&self) -> Channel {
        self.channel
    }

    async fn send(&self, delivery: &Delivery) -> Result<(), DeliveryError> {
        let now = self.running.fetch_add(1, Ordering::SeqCst) + 1;
        self.most.fetch_max(now, Ordering::SeqCst);
        if !self.delay.is_zero() {
            tokio::time::sleep(self.delay).await;
        }
        self.seen
            .lock()
            .unwrap()
            .push((delivery.id.clone(), delivery.attempt));
        self.running.fetch_sub(1, Ordering::SeqCst);
        self.script.lock().unwrap().pop_front().unwrap_or(Ok(()))
    }
}

fn settings(per_channel: usize, sends_per_minute: u32) -> WorkerSettings {
    WorkerSettings {
        per_channel,
        sends_per_minute,
        poll_interval: Duration::from_millis(20),
        ..WorkerSettings::default()
    }
}

fn worker(
    outbox: &Arc<MemoryOutbox>,
    senders: Vec<Arc<dyn Sender>>,
    clock: &Arc<TestClock>,
    settings: WorkerSettings,
) -> Worker {
    Worker::new(outbox.clone(), senders, clock.clone(), settings)
}

#[tokio::test]
async fn a_temporary_failure_is_retried_with_the_same_id_until_sent() {
    let outbox = Arc::new(MemoryOutbox::default());
    let clock = Arc::new(TestClock(Mutex::new(t(0))));
    let hook = FakeSender::new(
        Channel::Webhook,
        vec![Err(DeliveryError::Temporary(
            "500 Internal Server Error".into(),
        ))],
    );
    let w = worker(&outbox, vec![hook.clone()], &clock, settings(4, 0));
    let id = outbox.add(
        Channel::Webhook,
        "https://h.example/",
        Origin::Ardoise,
        t(0),
    );

    assert_eq!(w.run_once().await, 1);
    let m = outbox.get(&id);
    assert_eq!(m.status, Status::Queued);
    assert_eq!(m.last_error.as_deref(), Some("500 Internal Server Error"));
    // The first retry comes 5 to 10 s later (10 s backoff, equal jitter).
    assert!(
        m.next_attempt_at >= t(5) && m.next_attempt_at <= t(10),
        "{m:?}"
    );
    assert_eq!(w.run_once().await, 0, "not due yet");

    clock.set(t(10));
    assert_eq!(w.run_once().await, 1);
    let m = outbox.get(&id);
    assert_eq!(
        (m.status, m.attempts, m.sent_at),
        (Status::Sent, 2, Some(t(10)))
    );
    assert_eq!(hook.seen(), vec![(id.clone(), 1), (id, 2)]);
}

#[tokio::test]
async fn a_permanent_failure_fails_at_once_and_a_day_of_failures_gives_up() {
    let outbox = Arc::new(MemoryOutbox::default());
    let clock = Arc::new(TestClock(Mutex::new(t(0))));
    let mut script = vec![Err(DeliveryError::Permanent("410 Gone".into()))];
    script.extend((0..100).map(|_| Err(DeliveryError::Temporary("timeout".into()))));
    let hook = FakeSender::new(Channel::Webhook, script);
    let w = worker(&outbox, vec![hook.clone()], &clock, settings(4, 0));
    let gone = outbox.add(
        Channel::Webhook,
        "https://h.example/",
        Origin::Ardoise,
        t(0),
    );
    w.run_once().await;
    let m = outbox.get(&gone);
    assert_eq!((m.status, m.attempts), (Status::Failed, 1));
    assert_eq!(m.last_error.as_deref(), Some("410 Gone"));

    let down = outbox.add(
        Channel::Webhook,
        "https://h.example/",
        Origin::Ardoise,
        t(0),
    );
    let mut attempts = 0;
    while outbox.get(&down).status == Status::Queued {
        clock.set(outbox.get(&down).next_attempt_at);
        w.run_once().await;
        attempts += 1;
        assert!(attempts < 100, "never gave up");
    }
    let m = outbox.get(&down);
    assert_eq!(m.status, Status::Failed);
    assert!(m
        .last_error
        .as_deref()
        .unwrap()
        .starts_with("gave up after"));
    // Retried for most of a day, never past it.
    assert!(
        clock.now() > t(20 * 3600) && clock.now() <= t(24 * 3600),
        "{}",
        clock.now()
    );
    assert!(attempts > 20, "{attempts} attempts");
}

#[tokio::test]
async fn attempts_on_a_channel_are_bounded_and_channels_do_not_wait_for_each_other() {
    let outbox = Arc::new(MemoryOutbox::default());
    let clock = Arc::new(TestClock(Mutex::new(t(0))));
    let slow = Arc::new(FakeSender {
        delay: Duration::from_millis(30),
        ..Arc::into_inner(FakeSender::new(Channel::Sms, vec![])).unwrap()
    });
    let mail = FakeSender::new(Channel::Email, vec![]);
    for i in 0..20 {
        outbox.add(
            Channel::Sms,
            &format!("+3360000000{i}"),
            Origin::Ardoise,
            t(0),
        );
        outbox.add(
            Channel::Email,
            &format!("m{i}@example.org"),
            Origin::Ardoise,
            t(0),
        );
    }
    let w = worker(
        &outbox,
        vec![slow.clone(), mail.clone()],
        &clock,
        settings(3, 0),
    );
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let run = tokio::spawn(w.run(async {
        let _ = stopped.await;
    }));
    for _ in 0..200 {
        if outbox.with_status(Status::Sent) == 40 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let _ = stop.send(());
    run.await.unwrap();
    assert_eq!(outbox.with_status(Status::Sent), 40);
    assert_eq!(slow.most.load(Ordering::SeqCst), 3, "at most 3 SMS at once");
    assert!(mail.most.load(Ordering::SeqCst) <= 3);
    assert_eq!(slow.seen().len(), 20);
}

#[tokio::test]
async fn a_partner_beyond_its_sends_per_minute_is_postponed_not_failed() {
    let outbox = Arc::new(MemoryOutbox::default());
    let clock = Arc::new(TestClock(Mutex::new(t(0))));
    let mail = FakeSender::new(Channel::Email, vec![]);
    let w = worker(&outbox, vec![mail.clone()], &clock, settings(16, 5));
    let partner = Origin::Partner("shop".into());
    let ids: Vec<_> = (0..8)
        .map(|i| {
            outbox.add(
                Channel::Email,
                &format!("m{i}@x.org"),
                partner.clone(),
                t(0),
            )
        })
        .collect();
    let ours: Vec<_> = (0..8)
        .map(|i| {
            outbox.add(
                Channel::Email,
                &format!("o{i}@x.org"),
                Origin::Ardoise,
                t(0),
            )
        })
        .collect();
    w.run_once().await;
    let sent = ids
        .iter()
        .filter(|id| outbox.get(id).status == Status::Sent)
        .count();
    assert_eq!(sent, 5, "the partner's minute holds 5");
    for id in &ids {
        let m = outbox.get(id);
        if m.status != Status::Sent {
            assert_eq!((m.status, m.attempts), (Status::Queued, 0), "{m:?}");
            assert!(
                m.next_attempt_at > t(55) && m.next_attempt_at <= t(61),
                "{m:?}"
            );
        }
    }
    assert!(
        ours.iter().all(|id| outbox.get(id).status == Status::Sent),
        "ardoise is not limited"
    );
}

#[tokio::test]
async fn an_unconfigured_channel_is_skipped_at_once_and_a_webhook_without_registration_fails() {
    let outbox = Arc::new(MemoryOutbox::default());
    let clock = Arc::new(TestClock(Mutex::new(t(0))));
    let hook = FakeSender::new(Channel::Webhook, vec![]);
    let w = worker(&outbox, vec![hook.clone()], &clock, settings(4, 0));
    let sms = outbox.add(Channel::Sms, "+33600000000", Origin::Ardoise, t(0));
    let orphan = outbox.add(Channel::Webhook, "", Origin::Ardoise, t(0));
    w.run_once().await;
    let m = outbox.get(&sms);
    assert_eq!(m.status, Status::Skipped);
    assert_eq!(m.last_error.as_deref(), Some("channel_not_configured"));
    assert_eq!(m.attempts, 1);
    // Skipped for good: a later run does not claim it again.
    clock.set(t(86_400));
    assert_eq!(w.run_once().await, 0);
    assert_eq!(outbox.get(&sms).status, Status::Skipped);
    let m = outbox.get(&orphan);
    assert_eq!(m.status, Status::Failed);
    assert!(hook.seen().is_empty(), "nothing posted to an empty URL");
}

#[tokio::test]
async fn a_message_left_sending_by_a_dead_worker_is_delivered_by_the_next_one() {
    let outbox = Arc::new(MemoryOutbox::default());
    let clock = Arc::new(TestClock(Mutex::new(t(0))));
    let id = outbox.add(Channel::Email, "a@x.org", Origin::Ardoise, t(0));
    // A worker claims it and dies before recording anything.
    let lease = WorkerSettings::default().lease;
    assert_eq!(outbox.claim(t(0), lease, 10).await.unwrap().len(), 1);
    let mail = FakeSender::new(Channel::Email, vec![]);
    let w = worker(&outbox, vec![mail.clone()], &clock, settings(4, 0));
    assert_eq!(w.run_once().await, 0, "held by the dead worker's lease");
    clock.set(t(0) + lease);
    assert_eq!(w.run_once().await, 1);
    assert_eq!(outbox.get(&id).status, Status::Sent);
    assert_eq!(mail.seen(), vec![(id, 2)]);
}

#[tokio::test]
async fn the_waker_delivers_a_new_message_before_the_next_poll() {
    let outbox = Arc::new(MemoryOutbox::default());
    let clock = Arc::new(TestClock(Mutex::new(t(0))));
    let mail = FakeSender::new(Channel::Email, vec![]);
    let w = worker(
        &outbox,
        vec![mail.clone()],
        &clock,
        WorkerSettings {
            poll_interval: Duration::from_secs(3600),
            ..settings(4, 0)
        },
    );
    let waker = w.waker();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let run = tokio::spawn(w.run(async {
        let _ = stopped.await;
    }));
    tokio::time::sleep(Duration::from_millis(50)).await;
    let id = outbox.add(Channel::Email, "a@x.org", Origin::Ardoise, t(0));
    waker.wake();
    for _ in 0..100 {
        if outbox.get(&id).status == Status::Sent {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(outbox.get(&id).status, Status::Sent);
    let _ = stop.send(());
    run.await.unwrap();
}
