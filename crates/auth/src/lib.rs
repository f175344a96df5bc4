//! ardoise's authentication.
//!
//! Today: the staff side of the POS dialect — argon2id password hashing ([`password`]),
//! CSPRNG session tokens stored only as their SHA-256 ([`tokens`]), sliding-expiry sessions and
//! the staff-account use cases ([`staff::Staff`]), and a per-address throttle of failed logins
//! ([`throttle::LoginThrottle`]); and OAuth2 for partners ([`oauth::OAuth`]): the partner
//! registry, client authentication, access tokens, introspection and revocation; and members'
//! access ([`members::MemberAccess`]): invitations, password links, member sessions (the staff
//! sessions' mechanism with a member as holder).

pub mod cache;
pub mod members;
pub mod memory;
pub mod oauth;
pub mod password;
pub mod services;
pub mod staff;
pub mod throttle;
pub mod tokens;

pub use members::{IssuedLink, MemberAccess, MemberGrant};
pub use oauth::{
    Authorization, Caller, ClientCredentials, IssuedToken, OAuth, OAuthError, OAuthSettings,
    PartnerAdmin, PartnerChanges, PartnerCredentials, TokenInfo,
};
pub use password::{
    hash_password, hash_password_async, verify_password, verify_password_async, MAX_PASSWORD_BYTES,
    MIN_PASSWORD_CHARS,
};
pub use services::ServiceTokens;
pub use staff::{
    Holder, SessionGrant, SessionInfo, Staff, StaffProfile, StaffSettings, UserChanges,
};
pub use throttle::{LoginThrottle, Throttle};
pub use tokens::{constant_time_eq, is_session_token, token_hash, OsTokens, SESSION_TOKEN_LEN};
