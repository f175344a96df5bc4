//! The service tokens of seed 002's `POST /Services`: an administrator enables a service for a
//! partner (a provider) and hands it the service's token, a random UUID; the provider sends it
//! with each call. Stored only as its SHA-256, compared in constant time.

use std::sync::Arc;

use ardoise_domain::ports::{Clock, PartnerDirectory};
use ardoise_domain::service::ServiceTokenStore;
use ardoise_domain::{Actor, DomainError, Operation};
use rand::rngs::OsRng;
use rand::RngCore;

use crate::tokens::{constant_time_eq, token_hash};

/// Seed 002's services, by id.
pub const SERVICE_IDS: std::ops::RangeInclusive<i64> = 1..=4;

/// Enabling services for partners and checking their tokens.
#[derive(Clone)]
pub struct ServiceTokens {
    store: Arc<dyn ServiceTokenStore>,
    partners: Arc<dyn PartnerDirectory>,
    clock: Arc<dyn Clock>,
}

/// A random (version 4) UUID from the operating system's CSPRNG.
fn uuid_v4() -> String {
    let mut b = [0u8; 16];
    OsRng.fill_bytes(&mut b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

impl ServiceTokens {
    /// Wires the service tokens to their ports.
    pub fn new(
        store: Arc<dyn ServiceTokenStore>,
        partners: Arc<dyn PartnerDirectory>,
        clock: Arc<dyn Clock>,
    ) -> ServiceTokens {
        ServiceTokens {
            store,
            partners,
            clock,
        }
    }

    /// Enables service `service` (1 to 4) for partner `client_id` (staff rights 3): a new
    /// token, shown once in clear; an earlier token of that service stops working.
    pub async fn enable(
        &self,
        actor: &Actor,
        client_id: &str,
        service: i64,
    ) -> Result<String, DomainError> {
        actor.check(Operation::ManagePartners)?;
        let service = i16::try_from(service)
            .ok()
            .filter(|s| SERVICE_IDS.contains(&i64::from(*s)))
            .ok_or_else(|| DomainError::malformed("field `service_id` must be 1, 2, 3 or 4"))?;
        if self.partners.partner(client_id).await?.is_none() {
            return Err(DomainError::UnknownPartner);
        }
        let token = uuid_v4();
        self.store
            .set_service_token(client_id, service, token_hash(&token), self.clock.now())
            .await?;
        Ok(token)
    }

    /// Whether `token` is partner `client_id`'s token for `service`: `InvalidToken` if not (or
    /// if the service is not enabled for it).
    pub async fn check(
        &self,
        client_id: &str,
        service: i16,
        token: &str,
    ) -> Result<(), DomainError> {
        let stored = self.store.service_token_hash(client_id, service).await?;
        match stored {
            Some(hash) if constant_time_eq(&hash, &token_hash(token)) => Ok(()),
            _ => Err(DomainError::InvalidToken),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids_are_version_4_and_differ() {
        let a = uuid_v4();
        let b = uuid_v4();
        assert_ne!(a, b);
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "4");
        assert!(matches!(&a[19..20], "8" | "9" | "a" | "b"));
    }
}
