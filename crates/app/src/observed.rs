//! Adapters that let the operations endpoints see the store: readiness, pool use, and the
//! count of money operations (a decorator around the ledger port).

use std::sync::Arc;

use ardoise_domain::card::Card;
use ardoise_domain::ports::{
    Action, Ledger, Movement, Receipt, StoredAnswer, StoredCredit, TillQuery, TillRead, Totals,
};
use ardoise_domain::{CardId, DomainError, Page, Paged, Transaction, TransactionId};
use ardoise_http::ops::{Metrics, Probe};
use ardoise_store::Store;
use async_trait::async_trait;

/// Readiness and pool figures from the store.
pub struct StoreProbe(pub Store);

#[async_trait]
impl Probe for StoreProbe {
    /// The database answers, and a write commits through the writer (a database that reads
    /// but cannot write, such as on a full disk, is not ready), within 5 s.
    async fn ready(&self) -> Result<(), String> {
        let check = async {
            self.0.ping().await.map_err(|e| format!("read: {e}"))?;
            self.0
                .probe_write()
                .await
                .map_err(|e| format!("write: {e}"))
        };
        actix_web::rt::time::timeout(std::time::Duration::from_secs(5), check)
            .await
            .unwrap_or_else(|_| Err("no answer within 5 s".to_owned()))
    }

    fn pool(&self) -> (u32, u32, u32) {
        let p = self.0.pool_state();
        (p.connections, p.idle, p.max)
    }

    async fn outbox(&self) -> Option<ardoise_domain::outbox::OutboxFigures> {
        use ardoise_domain::outbox::Outbox;
        match self.0.figures().await {
            Ok(figures) => Some(figures),
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the outbox's figures");
                None
            }
        }
    }
}

/// A ledger that counts the money operations it applies, by kind and outcome.
pub struct CountedLedger {
    pub inner: Arc<dyn Ledger>,
    pub metrics: Arc<Metrics>,
}

fn kind(action: &Action) -> &'static str {
    match action {
        Action::Open { .. } => "creation",
        Action::Post { kind, .. } => kind.name(),
        Action::Drain => "drain",
        Action::Flip {
            valid_after: false, ..
        } => "cancel",
        Action::Flip {
            valid_after: true, ..
        } => "redo",
        Action::SetOverdraft { .. } => "overdraft",
        Action::SetStatus { .. } => "status",
        Action::SetValidUntil { .. } => "valid_until",
        Action::Replace { .. } => "replace",
        Action::Transfer { .. } => "transfer",
        Action::CancelTransfer { .. } => "transfer_cancel",
    }
}

#[async_trait]
impl Ledger for CountedLedger {
    async fn card(&self, id: &CardId) -> Result<Option<Card>, DomainError> {
        self.inner.card(id).await
    }

    async fn card_snapshot(&self, id: &CardId) -> Result<Option<Card>, DomainError> {
        self.inner.card_snapshot(id).await
    }

    async fn cards(&self) -> Result<Vec<Card>, DomainError> {
        self.inner.cards().await
    }

    async fn transaction(&self, id: TransactionId) -> Result<Option<Transaction>, DomainError> {
        self.inner.transaction(id).await
    }

    async fn card_transactions(&self, card: &CardId) -> Result<Vec<Transaction>, DomainError> {
        self.inner.card_transactions(card).await
    }

    async fn transactions(
        &self,
        after: Option<TransactionId>,
        limit: Option<u32>,
    ) -> Result<Vec<Transaction>, DomainError> {
        self.inner.transactions(after, limit).await
    }

    async fn author_transactions(
        &self,
        author: &str,
        limit: u32,
    ) -> Result<Vec<Transaction>, DomainError> {
        self.inner.author_transactions(author, limit).await
    }

    async fn till_read(&self, query: TillQuery) -> Result<TillRead, DomainError> {
        self.inner.till_read(query).await
    }

    async fn transaction_page(
        &self,
        card: Option<CardId>,
        page: Page,
    ) -> Result<Paged<Transaction>, DomainError> {
        self.inner.transaction_page(card, page).await
    }

    async fn totals(&self) -> Result<Totals, DomainError> {
        self.inner.totals().await
    }

    async fn idempotent_answer(
        &self,
        owner: &str,
        key: &str,
    ) -> Result<Option<StoredAnswer>, DomainError> {
        self.inner.idempotent_answer(owner, key).await
    }

    async fn credit_by_reference(
        &self,
        partner: &str,
        reference: &str,
    ) -> Result<Option<StoredCredit>, DomainError> {
        self.inner.credit_by_reference(partner, reference).await
    }

    async fn apply(&self, movement: Movement) -> Result<Receipt, DomainError> {
        let kind = kind(&movement.action);
        let outcome = self.inner.apply(movement).await;
        self.metrics.record_movement(kind, outcome.is_ok());
        outcome
    }
}
