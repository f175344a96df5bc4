//! The writer: one thread per store that applies money movements in batches (group commit).
//!
//! Callers hand a movement over a channel and await their own answer. The thread takes every
//! movement waiting (up to [`MAX_BATCH`]), applies them in one database transaction, and
//! answers each caller only after that transaction committed. While a batch commits, the next
//! one fills up, so the batch size follows the load with no added delay. On SQLite there can
//! be only one writer anyway; on PostgreSQL one writer per process keeps batches from locking
//! each other.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc;
use std::thread::JoinHandle;

use ardoise_domain::ports::{Movement, Receipt};
use ardoise_domain::DomainError;
use tokio::sync::oneshot;

use crate::db::Db;
use crate::error::{Failure, StoreError};
use crate::ledger::apply_batch;

/// The most movements in one database transaction.
pub(crate) const MAX_BATCH: usize = 512;

type Answer = Result<Receipt, DomainError>;

struct Job {
    movement: Movement,
    reply: oneshot::Sender<Answer>,
}

/// The handle of a store's writer thread; dropping it lets the thread finish the movements
/// already handed over, then waits for it.
pub(crate) struct Writer {
    jobs: Option<mpsc::Sender<Job>>,
    thread: Option<JoinHandle<()>>,
}

impl Writer {
    pub fn start(db: Db) -> Result<Writer, StoreError> {
        let (jobs, queue) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("ardoise-writer".into())
            .spawn(move || run(&db, &queue))
            .map_err(|e| StoreError::Connect(format!("cannot start the writer thread: {e}")))?;
        Ok(Writer {
            jobs: Some(jobs),
            thread: Some(thread),
        })
    }

    /// Applies one movement (batched with concurrent ones); answers once it is committed.
    pub async fn apply(&self, movement: Movement) -> Answer {
        let (reply, answer) = oneshot::channel();
        let sent = self
            .jobs
            .as_ref()
            .is_some_and(|jobs| jobs.send(Job { movement, reply }).is_ok());
        if !sent {
            return Err(Failure::Lost("the writer thread has stopped".into()).into_domain());
        }
        answer.await.unwrap_or_else(|_| {
            Err(Failure::Lost("the writer thread dropped a movement".into()).into_domain())
        })
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

fn run(db: &Db, queue: &mpsc::Receiver<Job>) {
    while let Ok(first) = queue.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let (movements, replies): (Vec<Movement>, Vec<oneshot::Sender<Answer>>) = batch
            .into_iter()
            .map(|job| (job.movement, job.reply))
            .unzip();
        // A bug must not stop every later payment: answer this batch with an error and go on.
        let answers = catch_unwind(AssertUnwindSafe(|| apply_batch(db, &movements)))
            .unwrap_or_else(|_| {
                let error = Failure::Lost("applying a batch panicked".into()).into_domain();
                movements.iter().map(|_| Err(error.clone())).collect()
            });
        for (reply, answer) in replies.into_iter().zip(answers) {
            // The caller may have gone away; the movement stands either way.
            let _ = reply.send(answer);
        }
    }
}
