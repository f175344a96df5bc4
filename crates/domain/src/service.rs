//! Seed 002's `POST /Services`: the port of the service tokens an administrator gives a
//! provider (a partner) for each service it may consume (see `ardoise_auth::ServiceTokens`).

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::error::DomainError;

/// The service tokens, stored as their SHA-256 only.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait ServiceTokenStore: Send + Sync {
    /// Sets (or replaces) the hash of a partner's token for a service: `UnknownPartner`.
    async fn set_service_token(
        &self,
        partner: &str,
        service: i16,
        token_hash: String,
        at: DateTime<Utc>,
    ) -> Result<(), DomainError>;
    /// The hash of a partner's token for a service, if the service is enabled for it.
    async fn service_token_hash(
        &self,
        partner: &str,
        service: i16,
    ) -> Result<Option<String>, DomainError>;
}
