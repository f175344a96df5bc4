//! ardoise's notification channels: each adapter implements the domain's
//! [`ardoise_domain::Sender`] port for one [`ardoise_domain::Channel`]; the [`worker`]
//! delivers the outbox's messages through them.

pub mod worker;

pub use worker::{Waker, Worker, WorkerSettings};
