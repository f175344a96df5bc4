//! OAuth2 for partners (RFC 6749 client credentials, RFC 7662 introspection, RFC 7009
//! revocation): the partner registry, client authentication with its throttle, and opaque
//! access tokens limited by time and, optionally, by a number of requests (seed 003's `rpt`).
//!
//! Secrets and tokens are drawn from the operating system's CSPRNG in the alphabet
//! `[A-Za-z0-9_-]` (6 bits a character) and stored only as their SHA-256, compared in constant
//! time. The HTTP layer only parses and renders: every rule of this page lives here.

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;

use ardoise_domain::ports::{
    AccessToken, AccessTokenStore, Clock, Partner, PartnerDirectory, TokenOwner,
};
use ardoise_domain::{Actor, DomainError, MemberId, Money, Operation};
use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use rand::rngs::OsRng;
use rand::Rng;

use crate::cache::CachedToken;
use crate::staff::{Holder, Staff};
use crate::throttle::Throttle;
use crate::tokens::{constant_time_eq, is_session_token, token_hash};

/// The scopes a partner may be given.
pub const SCOPES: [&str; 8] = [
    "cards:read",
    "cards:credit",
    "members:read",
    "members:write",
    "tokens:introspect",
    "vouchers:issue",
    "cards:debit",
    "notifications:send",
];

/// The scope that lets a caller introspect any token, not only its own.
pub const INTROSPECT_SCOPE: &str = "tokens:introspect";

/// The smallest and largest `rpt` (requests per token) a client may ask for (seed 003).
pub const RPT_MIN: u32 = 1_000;
/// See [`RPT_MIN`].
pub const RPT_MAX: u32 = 100_000;

/// Access tokens and client secrets: 43 characters of 6 bits, 258 bits.
pub const ACCESS_TOKEN_LEN: usize = 43;
/// See [`ACCESS_TOKEN_LEN`].
pub const CLIENT_SECRET_LEN: usize = 43;
/// Client ids: 22 characters, 132 bits, so that they never collide and cannot be enumerated.
pub const CLIENT_ID_LEN: usize = 22;

/// The longest client id looked up; anything longer is refused without a database query.
const MAX_CLIENT_ID_LEN: usize = 128;
/// The longest partner name.
const MAX_NAME_LEN: usize = 100;

const URLSAFE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// `len` characters of `[A-Za-z0-9_-]`, each uniformly drawn from the OS CSPRNG (6 bits each).
pub(crate) fn random_urlsafe(len: usize) -> String {
    let mut rng = OsRng;
    (0..len)
        .map(|_| char::from(URLSAFE[rng.gen_range(0..URLSAFE.len())]))
        .collect()
}

fn is_urlsafe(text: &str) -> bool {
    text.bytes().all(|b| URLSAFE.contains(&b))
}

/// Whether `text` has the shape of an access token; anything else is refused before any lookup.
pub fn is_access_token(text: &str) -> bool {
    text.len() == ACCESS_TOKEN_LEN && is_urlsafe(text)
}

/// The settings of the OAuth2 server (`oauth.*` and `partners.*` in the configuration).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthSettings {
    /// The life of an access token (`expires_in`). Default 3600 s.
    pub token_life: Duration,
    /// Failed client authentications per client id, address and minute before HTTP 429;
    /// 0 switches throttling off. Default 10.
    pub failures_per_minute: u32,
    /// A new partner's cap on one card credit. Default 500.00.
    pub credit_cap_operation: Money,
    /// A new partner's cap on its credits of one day. Default 5000.00.
    pub credit_cap_day: Money,
}

impl Default for OAuthSettings {
    fn default() -> OAuthSettings {
        OAuthSettings {
            token_life: Duration::seconds(3600),
            failures_per_minute: 10,
            credit_cap_operation: Money::from_cents(50_000),
            credit_cap_day: Money::from_cents(500_000),
        }
    }
}

/// Why an OAuth2 request or a partner command is refused. The HTTP layer maps each to its
/// RFC 6749 §5.2 / RFC 6750 §3 answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OAuthError {
    /// A missing, repeated or malformed parameter; the text says which.
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// Unknown client, wrong secret or disabled partner: deliberately indistinguishable.
    #[error("client authentication failed")]
    InvalidClient,
    #[error("only the client_credentials grant is supported")]
    UnsupportedGrantType,
    /// A scope that does not exist or that the partner was not given.
    #[error("invalid scope: {0}")]
    InvalidScope(String),
    /// The token to revoke was issued to someone else.
    #[error("the token was issued to another client")]
    UnauthorizedClient,
    #[error("too many failed client authentications, retry in {retry_after_seconds} s")]
    TooManyAttempts { retry_after_seconds: u64 },
    /// A bearer token that is missing, malformed, unknown, expired, revoked or used up.
    #[error("invalid token: {0}")]
    InvalidToken(&'static str),
    /// A valid token without the scope a resource needs.
    #[error("the token lacks the scope {0}")]
    InsufficientScope(String),
    /// `partner disable`/`rotate` of a client id that does not exist.
    #[error("no partner has this client id")]
    UnknownPartner,
    /// Storage trouble or a bug (`StorageUnavailable`, `Internal`): not the caller's fault.
    #[error(transparent)]
    Storage(DomainError),
}

impl From<DomainError> for OAuthError {
    fn from(e: DomainError) -> OAuthError {
        match e {
            DomainError::TooManyAttempts {
                retry_after_seconds,
            } => OAuthError::TooManyAttempts {
                retry_after_seconds,
            },
            other => OAuthError::Storage(other),
        }
    }
}

/// Changes to a partner's settings; `None` keeps the current value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PartnerChanges {
    pub name: Option<String>,
    /// Space-separated, as at registration.
    pub scopes: Option<String>,
    pub allow_basic: Option<bool>,
    pub active: Option<bool>,
    pub credit_cap_operation: Option<Money>,
    pub credit_cap_day: Option<Money>,
}

/// The partner registry as administrators use it over `/v1` (rights 3): obtained only through
/// [`OAuth::admin`], which checks the rights, and speaking the domain's errors.
pub struct PartnerAdmin<'a> {
    oauth: &'a OAuth,
}

impl OAuth {
    /// The partner registry for `actor`, if it may manage partners (rights 3).
    pub fn admin(&self, actor: &Actor) -> Result<PartnerAdmin<'_>, DomainError> {
        actor.check(Operation::ManagePartners)?;
        Ok(PartnerAdmin { oauth: self })
    }
}

/// The domain's error for a registry refusal: the text names the field.
fn admin_error(e: OAuthError) -> DomainError {
    match e {
        OAuthError::InvalidRequest(what) => DomainError::malformed(what),
        OAuthError::InvalidScope(what) => DomainError::malformed(format!("scopes: {what}")),
        OAuthError::UnknownPartner => DomainError::UnknownPartner,
        OAuthError::Storage(e) => e,
        other => DomainError::Internal(other.to_string()),
    }
}

impl PartnerAdmin<'_> {
    /// Every partner, by client id.
    pub async fn list(&self) -> Result<Vec<Partner>, DomainError> {
        self.oauth.partners().await
    }

    /// One partner, active or not.
    pub async fn get(&self, client_id: &str) -> Result<Partner, DomainError> {
        self.oauth
            .partner(client_id)
            .await?
            .ok_or(DomainError::UnknownPartner)
    }

    /// Registers a partner; the credentials, the secret in clear for the only time.
    pub async fn register(
        &self,
        name: &str,
        scopes: &str,
        allow_basic: bool,
        cap_operation: Option<Money>,
        cap_day: Option<Money>,
    ) -> Result<PartnerCredentials, DomainError> {
        self.oauth
            .register_with_caps(name, scopes, allow_basic, cap_operation, cap_day)
            .await
            .map_err(admin_error)
    }

    /// See [`OAuth::update`].
    pub async fn update(
        &self,
        client_id: &str,
        changes: PartnerChanges,
    ) -> Result<Partner, DomainError> {
        self.oauth
            .update(client_id, changes)
            .await
            .map_err(admin_error)
    }

    /// See [`OAuth::rotate_secret`].
    pub async fn rotate_secret(&self, client_id: &str) -> Result<String, DomainError> {
        self.oauth
            .rotate_secret(client_id)
            .await
            .map_err(admin_error)
    }

    /// See [`OAuth::disable`].
    pub async fn disable(&self, client_id: &str) -> Result<(), DomainError> {
        self.oauth.disable(client_id).await.map_err(admin_error)
    }
}

/// A client id and secret as a client presented them.
#[derive(Clone, PartialEq, Eq)]
pub struct ClientCredentials {
    pub client_id: String,
    pub client_secret: String,
}

impl fmt::Debug for ClientCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientCredentials")
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .finish()
    }
}

/// An `Authorization` header, by scheme (compared case-insensitively).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Authorization {
    /// `Basic base64(form-url-encoded id ":" form-url-encoded secret)`, decoded.
    Basic(ClientCredentials),
    /// `Bearer token`.
    Bearer(String),
    /// Any other scheme.
    Other,
}

impl Authorization {
    /// Parses an `Authorization` header value. The Basic user and password are
    /// form-url-decoded (RFC 6749 §2.3.1), as the `oauth2` crate and other clients encode them.
    pub fn parse(value: &str) -> Result<Authorization, OAuthError> {
        let (scheme, rest) = value.trim().split_once(' ').unwrap_or((value.trim(), ""));
        let rest = rest.trim();
        if scheme.eq_ignore_ascii_case("bearer") {
            if rest.is_empty() {
                return Err(OAuthError::InvalidToken("empty bearer token"));
            }
            return Ok(Authorization::Bearer(rest.to_owned()));
        }
        if !scheme.eq_ignore_ascii_case("basic") {
            return Ok(Authorization::Other);
        }
        let bad = |what: &str| OAuthError::InvalidRequest(format!("Basic credentials: {what}"));
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(rest)
            .map_err(|_| bad("not base64"))?;
        let text = String::from_utf8(decoded).map_err(|_| bad("not UTF-8"))?;
        let (id, secret) = text.split_once(':').ok_or_else(|| bad("no `:`"))?;
        Ok(Authorization::Basic(ClientCredentials {
            client_id: form_url_decode(id).ok_or_else(|| bad("bad %-escape"))?,
            client_secret: form_url_decode(secret).ok_or_else(|| bad("bad %-escape"))?,
        }))
    }
}

/// `application/x-www-form-urlencoded` decoding: `+` is a space, `%XX` a byte, UTF-8 result.
fn form_url_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = |b: Option<&u8>| b.and_then(|b| char::from(*b).to_digit(16));
                let (hi, lo) = (hex(bytes.get(i + 1))?, hex(bytes.get(i + 2))?);
                out.push(u8::try_from(hi * 16 + lo).ok()?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

/// A new partner's credentials, shown once.
#[derive(Clone, PartialEq, Eq)]
pub struct PartnerCredentials {
    pub client_id: String,
    pub client_secret: String,
}

impl fmt::Debug for PartnerCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PartnerCredentials")
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .finish()
    }
}

/// An access token just issued; its value is shown once and stored only as its hash.
#[derive(Clone, PartialEq, Eq)]
pub struct IssuedToken {
    pub access_token: String,
    /// Seconds until it expires.
    pub expires_in: u64,
    pub expires_at: DateTime<Utc>,
    pub scopes: Vec<String>,
    /// Requests it allows, when limited.
    pub rpt: Option<u32>,
}

impl fmt::Debug for IssuedToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuedToken")
            .field("access_token", &"<redacted>")
            .field("expires_at", &self.expires_at)
            .field("scopes", &self.scopes)
            .field("rpt", &self.rpt)
            .finish()
    }
}

/// Who an authenticated request comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// A partner, with the scopes of its token (or all of its scopes, by client credentials).
    Partner {
        client_id: String,
        scopes: Vec<String>,
    },
    /// A staff user: what they may do is decided by their rights, not by scopes.
    Staff { actor: Actor },
    /// A member in their own space (a member's session token): no scope, no staff right.
    Member { member: MemberId },
}

impl Caller {
    /// Whether the caller holds `scope` (staff hold none).
    pub fn has_scope(&self, scope: &str) -> bool {
        match self {
            Caller::Partner { scopes, .. } => scopes.iter().any(|s| s == scope),
            Caller::Staff { .. } | Caller::Member { .. } => false,
        }
    }

    fn owns(&self, owner: &TokenOwner) -> bool {
        match (self, owner) {
            (Caller::Partner { client_id, .. }, TokenOwner::Partner(id)) => client_id == id,
            (Caller::Staff { actor }, TokenOwner::Staff(login)) => &actor.login == login,
            _ => false,
        }
    }
}

/// What introspection tells about an active token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenInfo {
    pub owner: TokenOwner,
    pub scopes: Vec<String>,
    pub issued_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// Requests left, when limited.
    pub rpt_left: Option<u32>,
    /// A stable identifier of the token that reveals nothing of it (`jti`).
    pub id: String,
}

/// The OAuth2 service. Cheap to clone.
#[derive(Clone)]
pub struct OAuth {
    partners: Arc<dyn PartnerDirectory>,
    tokens: Arc<dyn AccessTokenStore>,
    staff: Staff,
    clock: Arc<dyn Clock>,
    settings: OAuthSettings,
    throttle: Arc<Throttle<(String, IpAddr)>>,
}

/// The hash a wrong client id is compared with, so that an unknown client costs the same work.
const DUMMY_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

impl OAuth {
    /// Wires the service to its ports. Staff session tokens are recognised through `staff`.
    pub fn new(
        partners: Arc<dyn PartnerDirectory>,
        tokens: Arc<dyn AccessTokenStore>,
        staff: Staff,
        clock: Arc<dyn Clock>,
        settings: OAuthSettings,
    ) -> OAuth {
        let throttle = Arc::new(Throttle::new(settings.failures_per_minute));
        OAuth {
            partners,
            tokens,
            staff,
            clock,
            settings,
            throttle,
        }
    }

    /// The settings in force.
    pub fn settings(&self) -> &OAuthSettings {
        &self.settings
    }

    // ------------------------------------------------------------ the partner registry

    /// One partner, active or not (its credit caps, for a card credit).
    pub async fn partner(&self, client_id: &str) -> Result<Option<Partner>, DomainError> {
        self.partners.partner(client_id).await
    }

    /// Registers a partner with the space-separated `scopes` (each one of [`SCOPES`]) and the
    /// default credit caps; returns its credentials, the secret in clear for the only time.
    pub async fn register(
        &self,
        name: &str,
        scopes: &str,
        allow_basic: bool,
    ) -> Result<PartnerCredentials, OAuthError> {
        self.register_with_caps(name, scopes, allow_basic, None, None)
            .await
    }

    /// Registers a partner as [`OAuth::register`], with its own credit caps (per operation,
    /// per day) where given, the configured defaults otherwise.
    pub async fn register_with_caps(
        &self,
        name: &str,
        scopes: &str,
        allow_basic: bool,
        cap_operation: Option<Money>,
        cap_day: Option<Money>,
    ) -> Result<PartnerCredentials, OAuthError> {
        let name = check_name(name)?;
        let scopes = check_scopes(scopes)?;
        let cap_operation = cap_operation.unwrap_or(self.settings.credit_cap_operation);
        let cap_day = cap_day.unwrap_or(self.settings.credit_cap_day);
        check_caps(cap_operation, cap_day)?;
        let credentials = PartnerCredentials {
            client_id: random_urlsafe(CLIENT_ID_LEN),
            client_secret: random_urlsafe(CLIENT_SECRET_LEN),
        };
        self.partners
            .add_partner(Partner {
                client_id: credentials.client_id.clone(),
                name: name.to_owned(),
                secret_hash: secret_hash(&credentials.client_secret),
                scopes,
                allow_basic,
                active: true,
                credit_cap_operation: cap_operation,
                credit_cap_day: cap_day,
                created_at: self.clock.now(),
            })
            .await?;
        Ok(credentials)
    }

    /// Disables a partner: its client authentications fail and its tokens are revoked.
    pub async fn disable(&self, client_id: &str) -> Result<(), OAuthError> {
        let disabled = self.partners.disable_partner(client_id).await;
        self.staff.cache().invalidate();
        if disabled? {
            Ok(())
        } else {
            Err(OAuthError::UnknownPartner)
        }
    }

    /// Every partner, active or not, by client id.
    pub async fn partners(&self) -> Result<Vec<Partner>, DomainError> {
        self.partners.partners().await
    }

    /// Changes a partner's settings (`None` keeps a value) and answers the partner as it is
    /// now. Its tokens are revoked when it is disabled or loses a scope, since they carry the
    /// old grant; re-enabling a partner gives it no token back.
    pub async fn update(
        &self,
        client_id: &str,
        changes: PartnerChanges,
    ) -> Result<Partner, OAuthError> {
        if changes == PartnerChanges::default() {
            return Err(OAuthError::InvalidRequest(
                "nothing to change: give at least one of `name`, `scopes`, `allow_basic`, \
                 `enabled`, `credit_cap_operation`, `credit_cap_day`"
                    .into(),
            ));
        }
        let old = self
            .partners
            .partner(client_id)
            .await?
            .ok_or(OAuthError::UnknownPartner)?;
        let mut new = old.clone();
        if let Some(name) = &changes.name {
            new.name = check_name(name)?.to_owned();
        }
        if let Some(scopes) = &changes.scopes {
            new.scopes = check_scopes(scopes)?;
        }
        if let Some(allow_basic) = changes.allow_basic {
            new.allow_basic = allow_basic;
        }
        if let Some(active) = changes.active {
            new.active = active;
        }
        if let Some(cap) = changes.credit_cap_operation {
            new.credit_cap_operation = cap;
        }
        if let Some(cap) = changes.credit_cap_day {
            new.credit_cap_day = cap;
        }
        check_caps(new.credit_cap_operation, new.credit_cap_day)?;
        let revoke = (old.active && !new.active)
            || old.scopes.iter().any(|s| !new.scopes.contains(s))
            || (old.allow_basic && !new.allow_basic);
        // Every cached token of this partner carries its old grant (scopes, caps, name), and
        // a disabled partner or a lost scope revokes them: empty the cache either way.
        let updated = self.partners.update_partner(new.clone(), revoke).await;
        self.staff.cache().invalidate();
        if !updated? {
            return Err(OAuthError::UnknownPartner);
        }
        Ok(new)
    }

    /// Gives a partner a new secret (returned, shown once); the old one stops working and the
    /// tokens issued so far are revoked, since a rotation usually follows a leak.
    pub async fn rotate_secret(&self, client_id: &str) -> Result<String, OAuthError> {
        let secret = random_urlsafe(CLIENT_SECRET_LEN);
        let rotated = self
            .partners
            .set_partner_secret(client_id, secret_hash(&secret))
            .await;
        self.staff.cache().invalidate();
        if rotated? {
            Ok(secret)
        } else {
            Err(OAuthError::UnknownPartner)
        }
    }

    // ------------------------------------------------------------ client authentication

    /// Authenticates a client by its id and secret. Unknown client, wrong secret and disabled
    /// partner all answer `InvalidClient` and count against (client id, address); past
    /// `failures_per_minute` of them in a minute, attempts answer `TooManyAttempts` without
    /// being checked. Other clients and addresses are not affected.
    pub async fn authenticate_client(
        &self,
        credentials: &ClientCredentials,
        source: IpAddr,
    ) -> Result<Partner, OAuthError> {
        let id: String = credentials
            .client_id
            .chars()
            .take(MAX_CLIENT_ID_LEN + 1)
            .collect();
        let key = (id, source);
        let _turn = self.throttle.turn(key.clone()).await;
        self.throttle
            .begin(key.clone(), self.clock.now())
            .inspect_err(
                |_| tracing::warn!(client_id = %key.0, %source, "client authentication throttled"),
            )?;
        let outcome = self.check_client(credentials).await;
        if !matches!(outcome, Err(OAuthError::InvalidClient)) {
            self.throttle.succeeded(key);
        }
        outcome
    }

    async fn check_client(&self, credentials: &ClientCredentials) -> Result<Partner, OAuthError> {
        let id = &credentials.client_id;
        let partner = if id.len() <= MAX_CLIENT_ID_LEN && is_urlsafe(id) && !id.is_empty() {
            self.partners.partner(id).await?
        } else {
            None
        };
        // The secret is hashed and compared even for an unknown client: the same work.
        let presented = secret_hash(&credentials.client_secret);
        let stored = partner
            .as_ref()
            .map_or(DUMMY_HASH, |p| p.secret_hash.as_str());
        let matches = constant_time_eq(&presented, stored);
        match partner {
            Some(p) if matches && p.active => Ok(p),
            _ => Err(OAuthError::InvalidClient),
        }
    }

    // ------------------------------------------------------------ tokens

    /// The client credentials grant: authenticates the client, then issues a token for the
    /// requested scopes (all of the partner's when none) and `rpt`, if given, in
    /// [`RPT_MIN`]..=[`RPT_MAX`].
    pub async fn client_credentials(
        &self,
        credentials: &ClientCredentials,
        source: IpAddr,
        scope: Option<&str>,
        rpt: Option<u32>,
    ) -> Result<IssuedToken, OAuthError> {
        let partner = self.authenticate_client(credentials, source).await?;
        self.issue(&partner, scope, rpt).await
    }

    async fn issue(
        &self,
        partner: &Partner,
        scope: Option<&str>,
        rpt: Option<u32>,
    ) -> Result<IssuedToken, OAuthError> {
        if let Some(n) = rpt {
            if !(RPT_MIN..=RPT_MAX).contains(&n) {
                return Err(OAuthError::InvalidRequest(format!(
                    "rpt must be a whole number from {RPT_MIN} to {RPT_MAX}"
                )));
            }
        }
        let requested = parse_scopes(scope.unwrap_or_default())?;
        if let Some(extra) = requested.iter().find(|s| !partner.scopes.contains(s)) {
            return Err(OAuthError::InvalidScope(format!(
                "the scope `{extra}` is not granted to this client"
            )));
        }
        // Granted scopes in the partner's order; all of them when none is asked for.
        let scopes: Vec<String> = partner
            .scopes
            .iter()
            .filter(|s| requested.is_empty() || requested.contains(s))
            .cloned()
            .collect();
        let token = random_urlsafe(ACCESS_TOKEN_LEN);
        let now = self.clock.now();
        let expires_at = now + self.settings.token_life;
        self.tokens
            .insert_token(AccessToken {
                token_hash: token_hash(&token),
                owner: TokenOwner::Partner(partner.client_id.clone()),
                scopes: scopes.clone(),
                issued_at: now,
                expires_at,
                rpt_left: rpt,
                revoked: false,
            })
            .await?;
        Ok(IssuedToken {
            access_token: token,
            expires_in: u64::try_from(self.settings.token_life.num_seconds()).unwrap_or(0),
            expires_at,
            scopes,
            rpt,
        })
    }

    /// Authenticates a request by its bearer token: a staff session token (POS login), or an
    /// access token, which spends one of its requests if it counts them.
    pub async fn authenticate_bearer(&self, token: &str) -> Result<Caller, OAuthError> {
        if is_session_token(token) {
            return match self.staff.authenticate_session(token).await {
                Ok(Holder::Staff(actor)) => Ok(Caller::Staff { actor }),
                Ok(Holder::Member(member)) => Ok(Caller::Member { member }),
                Err(DomainError::InvalidToken) => Err(OAuthError::InvalidToken(
                    "unknown, expired or revoked token",
                )),
                Err(e) => Err(e.into()),
            };
        }
        if !is_access_token(token) {
            return Err(OAuthError::InvalidToken("malformed token"));
        }
        let hash = token_hash(token);
        let now = self.clock.now();
        let cache = self.staff.cache();
        // Tokens without a request budget are trusted from memory for a moment (see
        // `crate::cache`); a token with `rpt` always spends its unit in the database.
        if let Some(cached) = cache.token(&hash, now) {
            if now < cached.expires_at {
                return Ok(cached.caller);
            }
        }
        let generation = cache.generation();
        let used = self
            .tokens
            .use_token(&hash, now)
            .await?
            .filter(|t| constant_time_eq(&t.token_hash, &hash))
            .ok_or(OAuthError::InvalidToken(
                "unknown, expired, revoked or used-up token",
            ))?;
        let caller = self
            .caller_of(&used.owner, used.scopes)
            .await?
            .ok_or(OAuthError::InvalidToken("the token's holder is disabled"))?;
        if used.rpt_left.is_none() {
            let entry = CachedToken {
                caller: caller.clone(),
                expires_at: used.expires_at,
            };
            cache.put_token(&hash, entry, now, generation);
        }
        Ok(caller)
    }

    /// Authenticates a `/v1` request by HTTP Basic client credentials, for the partners that
    /// opted in; throttled as client authentications are.
    pub async fn authenticate_basic(
        &self,
        credentials: &ClientCredentials,
        source: IpAddr,
    ) -> Result<Caller, OAuthError> {
        let partner = self.authenticate_client(credentials, source).await?;
        if !partner.allow_basic {
            return Err(OAuthError::InvalidToken(
                "this client must use a bearer token",
            ));
        }
        Ok(Caller::Partner {
            client_id: partner.client_id,
            scopes: partner.scopes,
        })
    }

    /// The caller a token's owner stands for, if still active.
    async fn caller_of(
        &self,
        owner: &TokenOwner,
        scopes: Vec<String>,
    ) -> Result<Option<Caller>, OAuthError> {
        Ok(match owner {
            TokenOwner::Partner(client_id) => self
                .partners
                .partner(client_id)
                .await?
                .filter(|p| p.active)
                .map(|p| Caller::Partner {
                    client_id: p.client_id,
                    scopes,
                }),
            TokenOwner::Staff(login) => self
                .staff
                .actor(login)
                .await?
                .map(|actor| Caller::Staff { actor }),
        })
    }

    /// What `caller` may learn about `token` (RFC 7662): `None` — `{"active": false}` — for
    /// anything that is not an active token, and for the tokens of others unless the caller
    /// holds [`INTROSPECT_SCOPE`]. Does not spend the token's requests.
    pub async fn introspect(
        &self,
        caller: &Caller,
        token: &str,
    ) -> Result<Option<TokenInfo>, OAuthError> {
        let Some(info) = self.active_token(token).await? else {
            return Ok(None);
        };
        if caller.owns(&info.owner) || caller.has_scope(INTROSPECT_SCOPE) {
            Ok(Some(info))
        } else {
            Ok(None)
        }
    }

    async fn active_token(&self, token: &str) -> Result<Option<TokenInfo>, OAuthError> {
        let hash = token_hash(token);
        let id = hash.chars().take(32).collect::<String>();
        if is_session_token(token) {
            return Ok(self.staff.session_info(token).await?.map(|s| TokenInfo {
                owner: TokenOwner::Staff(s.login),
                scopes: Vec::new(),
                issued_at: s.created_at,
                expires_at: s.expires_at,
                rpt_left: None,
                id,
            }));
        }
        if !is_access_token(token) {
            return Ok(None);
        }
        let now = self.clock.now();
        let Some(t) = self
            .tokens
            .token(&hash)
            .await?
            .filter(|t| constant_time_eq(&t.token_hash, &hash))
            .filter(|t| !t.revoked && t.expires_at > now && t.rpt_left != Some(0))
        else {
            return Ok(None);
        };
        if self.caller_of(&t.owner, Vec::new()).await?.is_none() {
            return Ok(None);
        }
        Ok(Some(TokenInfo {
            owner: t.owner,
            scopes: t.scopes,
            issued_at: t.issued_at,
            expires_at: t.expires_at,
            rpt_left: t.rpt_left,
            id,
        }))
    }

    /// Revokes `token` for `caller` (RFC 7009): an unknown or malformed token is not an
    /// error; a token of someone else is `UnauthorizedClient` and stays valid. A staff
    /// session revoked by its holder ends, as a logout.
    pub async fn revoke(&self, caller: &Caller, token: &str) -> Result<(), OAuthError> {
        if is_session_token(token) {
            let Some(session) = self.staff.session_info(token).await? else {
                return Ok(());
            };
            if !caller.owns(&TokenOwner::Staff(session.login)) {
                return Err(OAuthError::UnauthorizedClient);
            }
            return match self.staff.logout(token).await {
                Ok(()) | Err(DomainError::InvalidToken) => Ok(()),
                Err(e) => Err(e.into()),
            };
        }
        if !is_access_token(token) {
            return Ok(());
        }
        let hash = token_hash(token);
        let Some(t) = self.tokens.token(&hash).await? else {
            return Ok(());
        };
        if !caller.owns(&t.owner) {
            return Err(OAuthError::UnauthorizedClient);
        }
        let revoked = self.tokens.revoke_token(&hash).await;
        self.staff.cache().invalidate();
        revoked?;
        Ok(())
    }

    /// Deletes the access tokens that have expired; how many.
    pub async fn purge_expired(&self) -> Result<u64, DomainError> {
        self.tokens.purge_tokens(self.clock.now()).await
    }
}

/// What is stored for a client secret: its SHA-256 in hex. Secrets are 258 random bits, not
/// passwords, so a fast unsalted hash cannot be brute-forced; a slow one (argon2) would only
/// make every Basic-authenticated call cost tens of milliseconds.
fn secret_hash(secret: &str) -> String {
    token_hash(secret)
}

/// Space-separated scope tokens (RFC 6749 §3.3: printable ASCII but `"` and `\`), without
/// duplicates, in order.
/// A partner's name, trimmed: 1 to 100 printable characters.
fn check_name(name: &str) -> Result<&str, OAuthError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME_LEN || name.chars().any(char::is_control)
    {
        return Err(OAuthError::InvalidRequest(format!(
            "the name must be 1 to {MAX_NAME_LEN} printable characters"
        )));
    }
    Ok(name)
}

/// A partner's scopes: at least one, each one of [`SCOPES`].
fn check_scopes(text: &str) -> Result<Vec<String>, OAuthError> {
    let scopes = parse_scopes(text)?;
    if scopes.is_empty() {
        return Err(OAuthError::InvalidScope("give at least one scope".into()));
    }
    if let Some(unknown) = scopes.iter().find(|s| !SCOPES.contains(&s.as_str())) {
        return Err(OAuthError::InvalidScope(format!(
            "unknown scope `{unknown}` (known: {})",
            SCOPES.join(" ")
        )));
    }
    Ok(scopes)
}

/// Credit caps: both above zero, the one of an operation not above the one of a day.
fn check_caps(operation: Money, day: Money) -> Result<(), OAuthError> {
    if !operation.is_positive() {
        return Err(OAuthError::InvalidRequest(
            "credit_cap_operation must be above zero".into(),
        ));
    }
    if !day.is_positive() {
        return Err(OAuthError::InvalidRequest(
            "credit_cap_day must be above zero".into(),
        ));
    }
    if operation > day {
        return Err(OAuthError::InvalidRequest(
            "credit_cap_operation cannot be above credit_cap_day".into(),
        ));
    }
    Ok(())
}

fn parse_scopes(text: &str) -> Result<Vec<String>, OAuthError> {
    let mut scopes: Vec<String> = Vec::new();
    for scope in text.split_ascii_whitespace() {
        let valid = scope
            .bytes()
            .all(|b| (0x21..=0x7e).contains(&b) && b != b'"' && b != b'\\');
        if !valid {
            return Err(OAuthError::InvalidScope(
                "a scope has a forbidden character".into(),
            ));
        }
        if !scopes.iter().any(|s| s == scope) {
            scopes.push(scope.to_owned());
        }
    }
    Ok(scopes)
}

#[cfg(test)]
mod tests;
