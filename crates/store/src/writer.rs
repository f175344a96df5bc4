//! The writer: one thread per store that applies money movements in batches (group commit).
//!
//! Callers hand a movement over a channel and await their own answer. The thread takes every
//! movement waiting (up to [`MAX_BATCH`]), applies them in one database transaction, and
//! answers each caller only after that transaction committed. While a batch commits, the next
//! one fills up, so the batch size follows the load with no added delay. On SQLite there can
//! be only one writer anyway; on PostgreSQL one writer per process keeps batches from locking
//! each other. The outbox's writes (messages queued, the worker's claims and outcomes) are
//! batched the same way, in a transaction of their own after the movements'.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;

use ardoise_domain::ports::{Movement, Receipt};
use ardoise_domain::DomainError;
use tokio::sync::oneshot;

use crate::db::{Db, WriterDb};
use crate::error::{Failure, StoreError};
use crate::ledger::apply_batch;
use crate::outbox::{apply_outbox_batch, OutboxAnswer, OutboxJob};
use crate::snapshots::Snapshots;

/// The most movements in one database transaction.
pub(crate) const MAX_BATCH: usize = 512;

type Answer = Result<Receipt, DomainError>;

enum Job {
    /// A money movement, answered once its batch committed.
    Move {
        movement: Movement,
        reply: oneshot::Sender<Answer>,
    },
    /// A session's sliding expiry (`last_seen`), written in the next batch: on SQLite no
    /// other connection then waits for the write lock the writer holds batch after batch.
    Touch {
        touch: Touch,
        reply: oneshot::Sender<Result<(), DomainError>>,
    },
    /// An outbox write (a message queued, a claim, an attempt's outcome), applied with the
    /// others waiting in one transaction after the movements' (see [`apply_outbox_batch`]).
    Outbox {
        job: OutboxJob,
        reply: oneshot::Sender<Result<OutboxAnswer, DomainError>>,
    },
    /// A readiness probe: a small write committed after the batch, on the writer's own path.
    Probe {
        reply: oneshot::Sender<Result<(), DomainError>>,
    },
}

/// A session's `last_seen` to write.
#[derive(Debug, Clone)]
pub(crate) struct Touch {
    pub token_hash: String,
    pub at_ms: i64,
}

/// The handle of a store's writer thread; dropping it lets the thread finish the movements
/// already handed over, then waits for it.
pub(crate) struct Writer {
    jobs: Option<mpsc::Sender<Job>>,
    thread: Option<JoinHandle<()>>,
}

impl Writer {
    /// Starts the thread; after each batch it revises the `snapshots` with what the batch
    /// wrote.
    pub fn start(db: Db, snapshots: Arc<Snapshots>) -> Result<Writer, StoreError> {
        let (jobs, queue) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("ardoise-writer".into())
            .spawn(move || run(&db, &queue, &snapshots))
            .map_err(|e| StoreError::Connect(format!("cannot start the writer thread: {e}")))?;
        Ok(Writer {
            jobs: Some(jobs),
            thread: Some(thread),
        })
    }

    /// Applies one movement (batched with concurrent ones); answers once it is committed.
    pub async fn apply(&self, movement: Movement) -> Answer {
        let (reply, answer) = oneshot::channel();
        if !self.send(Job::Move { movement, reply }) {
            return Err(Failure::Lost("the writer thread has stopped".into()).into_domain());
        }
        answer.await.unwrap_or_else(|_| {
            Err(Failure::Lost("the writer thread dropped a movement".into()).into_domain())
        })
    }

    /// Writes a session's `last_seen` with the next batch; answers once it is committed.
    pub async fn touch(&self, touch: Touch) -> Result<(), DomainError> {
        let (reply, answer) = oneshot::channel();
        if !self.send(Job::Touch { touch, reply }) {
            return Err(Failure::Lost("the writer thread has stopped".into()).into_domain());
        }
        answer.await.unwrap_or_else(|_| {
            Err(Failure::Lost("the writer thread dropped a touch".into()).into_domain())
        })
    }

    /// Applies an outbox write (batched with concurrent ones); answers once it is committed.
    pub async fn outbox(&self, job: OutboxJob) -> Result<OutboxAnswer, DomainError> {
        let (reply, answer) = oneshot::channel();
        if !self.send(Job::Outbox { job, reply }) {
            return Err(Failure::Lost("the writer thread has stopped".into()).into_domain());
        }
        answer.await.unwrap_or_else(|_| {
            Err(Failure::Lost("the writer thread dropped an outbox write".into()).into_domain())
        })
    }

    /// Commits a small write after the movements already queued (see [`probe_write`]):
    /// whether the write path works now.
    pub async fn probe(&self) -> Result<(), DomainError> {
        let (reply, answer) = oneshot::channel();
        if !self.send(Job::Probe { reply }) {
            return Err(Failure::Lost("the writer thread has stopped".into()).into_domain());
        }
        answer.await.unwrap_or_else(|_| {
            Err(Failure::Lost("the writer thread dropped a probe".into()).into_domain())
        })
    }

    fn send(&self, job: Job) -> bool {
        self.jobs
            .as_ref()
            .is_some_and(|jobs| jobs.send(job).is_ok())
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        // Closing the channel ends the thread's loop once the queued movements are applied.
        self.jobs = None;
        if let Some(thread) = self.thread.take() {
            if thread.join().is_err() {
                tracing::error!("the writer thread panicked");
            }
        }
    }
}

fn run(db: &Db, queue: &mpsc::Receiver<Job>, snapshots: &Snapshots) {
    let mut writer_db = WriterDb::new(db.clone());
    while let Ok(first) = queue.recv() {
        let mut jobs = vec![first];
        while jobs.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(job) => jobs.push(job),
                Err(_) => break,
            }
        }
        let mut movements = Vec::with_capacity(jobs.len());
        let mut replies = Vec::with_capacity(jobs.len());
        let mut touches = Vec::new();
        let mut touched = Vec::new();
        let mut probes = Vec::new();
        let mut outbox_jobs = Vec::new();
        let mut outbox_replies = Vec::new();
        for job in jobs {
            match job {
                Job::Move { movement, reply } => {
                    movements.push(movement);
                    replies.push(reply);
                }
                Job::Touch { touch, reply } => {
                    touches.push(touch);
                    touched.push(reply);
                }
                Job::Outbox { job, reply } => {
                    outbox_jobs.push(job);
                    outbox_replies.push(reply);
                }
                Job::Probe { reply } => probes.push(reply),
            }
        }
        let before = snapshots.before_batch(&movements);
        // A bug must not stop every later payment: answer this batch with an error and go on.
        let (answers, touch_answer) = catch_unwind(AssertUnwindSafe(|| {
            apply_batch(&mut writer_db, &movements, &touches)
        }))
        .unwrap_or_else(|_| {
            let error = Failure::Lost("applying a batch panicked".into()).into_domain();
            let answers = movements.iter().map(|_| Err(error.clone())).collect();
            (answers, Err(error))
        });
        // Committed (or not at all): before anyone hears of it, the snapshots show it (the
        // balances written, the transactions appended) or forget what it may have changed.
        snapshots.after_batch(&movements, &answers, &before);
        for (reply, answer) in replies.into_iter().zip(answers) {
            // The caller may have gone away; the movement stands either way.
            let _ = reply.send(answer);
        }
        for reply in touched {
            let _ = reply.send(touch_answer.clone());
        }
        if !outbox_jobs.is_empty() {
            let answers = catch_unwind(AssertUnwindSafe(|| {
                apply_outbox_batch(&mut writer_db, &outbox_jobs)
            }))
            .unwrap_or_else(|_| {
                let error = Failure::Lost("applying an outbox batch panicked".into()).into_domain();
                outbox_jobs.iter().map(|_| Err(error.clone())).collect()
            });
            for (reply, answer) in outbox_replies.into_iter().zip(answers) {
                let _ = reply.send(answer);
            }
        }
        if !probes.is_empty() {
            let outcome = catch_unwind(AssertUnwindSafe(|| probe_write(db)))
                .unwrap_or_else(|_| Err(Failure::Lost("the probe panicked".into())))
                .map_err(Failure::into_domain);
            for reply in probes {
                let _ = reply.send(outcome.clone());
            }
        }
    }
}

/// A write that changes no data and must reach the disk to commit, as a payment's does: on
/// SQLite, flipping the lowest bit of the file header's `user_version` (which ardoise does
/// not use) in a write transaction, a page written to the WAL; on PostgreSQL, a transaction
/// that takes a transaction id, whose commit is written and flushed to the WAL (and which a
/// read-only server refuses). A full disk, a read-only file or a lost server fails it.
fn probe_write(db: &Db) -> Result<(), Failure> {
    use diesel::connection::SimpleConnection;
    use diesel::{Connection, RunQueryDsl};

    #[derive(diesel::QueryableByName)]
    struct Version {
        #[diesel(sql_type = diesel::sql_types::Integer)]
        user_version: i32,
    }
    match db {
        Db::Sqlite(pool) => {
            let mut conn = pool.get()?;
            conn.immediate_transaction(|conn| {
                let now: Version = diesel::sql_query("PRAGMA user_version").get_result(conn)?;
                conn.batch_execute(&format!("PRAGMA user_version = {}", now.user_version ^ 1))
            })?;
        }
        Db::Postgres(pool) => {
            let mut conn = pool.get()?;
            conn.transaction(|conn| conn.batch_execute("SELECT txid_current()"))?;
        }
    }
    Ok(())
}
