//! Random secrets and how they are stored and compared.

use ardoise_domain::ports::TokenSource;
use rand::rngs::OsRng;
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The length of a POS session token (the Android app refuses any other length).
pub const SESSION_TOKEN_LEN: usize = 30;

/// `len` characters of `[0-9A-Za-z]`, uniformly drawn from the operating system's CSPRNG.
///
/// The bytes are asked of the system in one call per 64: `OsRng` sampled character by
/// character makes one `getrandom` system call per character, which was 11 % of the
/// server's CPU on the web till (a page carries a one-time key per form).
pub(crate) fn random_alphanumeric(len: usize) -> String {
    let mut out = String::with_capacity(len);
    let mut bytes = [0u8; 64];
    while out.len() < len {
        OsRng.fill_bytes(&mut bytes);
        // 248 = 4 × 62: the bytes below it map uniformly onto the alphabet, the others are
        // dropped (rejection sampling, as rand's `Alphanumeric` does).
        for b in bytes.iter().filter(|b| **b < 248).take(len - out.len()) {
            out.push(char::from(ALPHANUMERIC[usize::from(b % 62)]));
        }
    }
    out
}

const ALPHANUMERIC: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// The production [`TokenSource`]: the operating system's CSPRNG (`OsRng`).
#[derive(Debug, Clone, Copy, Default)]
pub struct OsTokens;

impl TokenSource for OsTokens {
    fn alphanumeric(&self, len: usize) -> String {
        random_alphanumeric(len)
    }
}

/// What is stored for a token: its SHA-256 in lower-case hex (64 characters). Tokens carry
/// ~178 bits of entropy, so a fast unsalted hash is enough to make a leaked table useless.
pub fn token_hash(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    let mut hex = String::with_capacity(64);
    for byte in digest {
        hex.push(char::from(HEX[usize::from(byte >> 4)]));
        hex.push(char::from(HEX[usize::from(byte & 0x0f)]));
    }
    hex
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Compares two secrets (or their hashes) in time independent of where they differ.
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

/// Whether `text` has the shape of a session token; anything else is refused before any lookup.
pub fn is_session_token(text: &str) -> bool {
    text.len() == SESSION_TOKEN_LEN && text.bytes().all(|b| b.is_ascii_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn tokens_are_thirty_alphanumerics_and_do_not_repeat() {
        let mut seen = HashSet::new();
        for _ in 0..1000 {
            let t = OsTokens.alphanumeric(SESSION_TOKEN_LEN);
            assert!(is_session_token(&t), "{t}");
            assert!(seen.insert(t));
        }
        assert_eq!(OsTokens.alphanumeric(7).len(), 7);
    }

    #[test]
    fn tokens_use_the_whole_alphabet() {
        let text: String = (0..200).map(|_| OsTokens.alphanumeric(30)).collect();
        assert!(text.bytes().any(|b| b.is_ascii_digit()));
        assert!(text.bytes().any(|b| b.is_ascii_lowercase()));
        assert!(text.bytes().any(|b| b.is_ascii_uppercase()));
        let distinct: HashSet<u8> = text.bytes().collect();
        assert_eq!(distinct.len(), 62);
    }

    #[test]
    fn token_hash_is_hex_sha256() {
        assert_eq!(
            token_hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(token_hash("").len(), 64);
        assert_ne!(token_hash("a"), token_hash("b"));
    }

    #[test]
    fn comparisons() {
        assert!(constant_time_eq("abc", "abc"));
        assert!(!constant_time_eq("abc", "abd"));
        assert!(!constant_time_eq("abc", "abcd"));
        assert!(constant_time_eq("", ""));
    }

    #[test]
    fn token_shape() {
        assert!(is_session_token(&"a".repeat(30)));
        assert!(!is_session_token(&"a".repeat(29)));
        assert!(!is_session_token(&"a".repeat(31)));
        assert!(!is_session_token(&format!("{}-", "a".repeat(29))));
        assert!(!is_session_token(&format!("{}é", "a".repeat(28))));
    }
}
