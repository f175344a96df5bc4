//! Password hashing: argon2id (`Argon2::default()`), a random salt per hash, PHC strings.
//! Legacy bcrypt hashes (`$2y$…`, imported from 10p5 by `ardoise-import`) still verify, and
//! the login that verifies one replaces it by an argon2id hash ([`is_legacy_hash`]).
//!
//! Hashing and verifying cost tens of milliseconds of CPU on purpose: async code must call the
//! `*_async` forms, which run on tokio's blocking pool, never on an actix worker.

use std::sync::OnceLock;

use ardoise_domain::DomainError;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use rand::rngs::OsRng;

/// The longest password accepted when one is set (argon2 takes any length; this only bounds
/// the work a request can ask for).
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// The shortest password a staff user may be given (NIST SP 800-63B: at least 8 characters).
pub const MIN_PASSWORD_CHARS: usize = 8;

/// Checks a new password (one being set, not one tried at login): at least
/// [`MIN_PASSWORD_CHARS`] characters and at most [`MAX_PASSWORD_BYTES`] bytes.
pub fn check_new_password(password: &str) -> Result<(), DomainError> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(DomainError::malformed(format!(
            "the password must have at least {MIN_PASSWORD_CHARS} characters"
        )));
    }
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(DomainError::malformed(format!(
            "the password is longer than {MAX_PASSWORD_BYTES} bytes"
        )));
    }
    Ok(())
}

/// Hashes a password into an argon2id PHC string with a fresh random salt.
/// An empty password, or one longer than [`MAX_PASSWORD_BYTES`], is `Malformed`.
pub fn hash_password(password: &str) -> Result<String, DomainError> {
    if password.is_empty() {
        return Err(DomainError::malformed("the password is empty"));
    }
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(DomainError::malformed(format!(
            "the password is longer than {MAX_PASSWORD_BYTES} bytes"
        )));
    }
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| DomainError::Internal(format!("argon2 hashing failed: {e}")))
}

/// Whether `hash` is a legacy bcrypt hash (`$2y$`, `$2b$`, `$2a$`: PHP's `password_hash`),
/// which verifies but is replaced by an argon2id hash at the first successful login.
pub fn is_legacy_hash(hash: &str) -> bool {
    ["$2y$", "$2b$", "$2a$"].iter().any(|p| hash.starts_with(p))
}

/// Whether `password` matches the PHC string `hash` (constant-time comparison of the digests),
/// or the legacy bcrypt hash `hash` (as PHP's `password_verify` does: the first 72 bytes).
/// A hash that does not parse never matches.
pub fn verify_password(password: &str, hash: &str) -> bool {
    if is_legacy_hash(hash) {
        return bcrypt::verify(password, hash).unwrap_or(false);
    }
    match PasswordHash::new(hash) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// A hash of a random password with the same parameters as real hashes: verifying against it
/// costs what verifying a real user's hash costs, so an unknown login answers as slowly as a
/// wrong password.
pub(crate) fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        let password = crate::tokens::random_alphanumeric(32);
        hash_password(&password).unwrap_or_default()
    })
}

/// At most one argon2 computation per core at a time, whatever the number of logins under way:
/// each takes 19 MiB for its duration, so a burst of 64 logins would otherwise take over 1 GiB
/// at once (and the allocator keeps some of it), for no gain of speed on a busy CPU.
fn hashing_slots() -> &'static tokio::sync::Semaphore {
    static SLOTS: OnceLock<tokio::sync::Semaphore> = OnceLock::new();
    SLOTS.get_or_init(|| {
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
        tokio::sync::Semaphore::new(cores)
    })
}

/// Runs `work` on tokio's blocking pool once a hashing slot is free; `None` if the task failed.
async fn with_hashing_slot<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Option<T> {
    // The semaphore is never closed: a failed acquire cannot happen, and would only skip the bound.
    let _slot = hashing_slots().acquire().await.ok();
    tokio::task::spawn_blocking(work).await.ok()
}

/// [`hash_password`] on tokio's blocking pool, one computation per core at a time.
pub async fn hash_password_async(password: String) -> Result<String, DomainError> {
    with_hashing_slot(move || hash_password(&password))
        .await
        .unwrap_or_else(|| Err(DomainError::Internal("password hashing task failed".into())))
}

/// [`verify_password`] on tokio's blocking pool, one computation per core at a time. A failed
/// task counts as a mismatch.
pub async fn verify_password_async(password: String, hash: String) -> bool {
    with_hashing_slot(move || verify_password(&password, &hash))
        .await
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_salted_argon2id_phc_strings_that_verify() {
        let a = hash_password("correct horse").unwrap();
        let b = hash_password("correct horse").unwrap();
        assert!(a.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{a}");
        assert_ne!(a, b, "a fresh salt each time");
        assert!(!a.contains("correct horse"));
        assert!(verify_password("correct horse", &a));
        assert!(verify_password("correct horse", &b));
        assert!(!verify_password("correct hors", &a));
        assert!(!verify_password("", &a));
    }

    #[test]
    fn refuses_empty_and_oversized_passwords() {
        assert!(matches!(hash_password(""), Err(DomainError::Malformed(_))));
        let long = "x".repeat(MAX_PASSWORD_BYTES + 1);
        assert!(matches!(
            hash_password(&long),
            Err(DomainError::Malformed(_))
        ));
        assert!(hash_password(&"x".repeat(MAX_PASSWORD_BYTES)).is_ok());
    }

    #[test]
    fn garbage_hashes_never_match() {
        assert!(!verify_password("x", ""));
        assert!(!verify_password("x", "not a phc string"));
        assert!(!verify_password(
            "x",
            "$argon2id$v=19$m=19456,t=2,p=1$AAAA$BBBB"
        ));
    }

    #[test]
    fn legacy_bcrypt_hashes_of_php_verify() {
        // PHP: password_hash("bière pression", PASSWORD_BCRYPT, ["cost" => 4]), as 10p5 stores
        // it ($2y$); the same hash spelled $2b$ (other bcrypt libraries) verifies too.
        let php = bcrypt::hash_with_result("bière pression", 4)
            .unwrap()
            .format_for_version(bcrypt::Version::TwoY);
        assert!(php.starts_with("$2y$04$"), "{php}");
        assert!(is_legacy_hash(&php));
        assert!(verify_password("bière pression", &php));
        assert!(!verify_password("biere pression", &php));
        assert!(!verify_password("", &php));
        let b = php.replacen("$2y$", "$2b$", 1);
        assert!(is_legacy_hash(&b) && verify_password("bière pression", &b));
        assert!(!verify_password("x", "$2y$10$garbage"));
        let argon = hash_password("bière pression").unwrap();
        assert!(!is_legacy_hash(&argon));
    }

    #[test]
    fn the_dummy_hash_is_a_real_hash_of_an_unknown_password() {
        let dummy = dummy_hash();
        assert!(dummy.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(!verify_password("", dummy));
        assert!(!verify_password("admin", dummy));
    }

    #[tokio::test]
    async fn async_forms_agree_with_the_sync_ones() {
        let hash = hash_password_async("s3cret".to_owned()).await.unwrap();
        assert!(verify_password_async("s3cret".to_owned(), hash.clone()).await);
        assert!(!verify_password_async("S3cret".to_owned(), hash).await);
        assert!(hash_password_async(String::new()).await.is_err());
    }
}
