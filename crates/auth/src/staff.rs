//! Staff sessions and accounts: logins, sliding-expiry sessions, and the account use cases of
//! the POS dialect (`utilisateur/...`), each checking rights through [`Actor`].

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;

use std::future::Future;

use ardoise_domain::ports::{
    Clock, Session, SessionHolder, SessionKind, SessionStore, StaffDirectory, StaffUser,
    TokenSource,
};
use ardoise_domain::{Actor, CardId, DomainError, Login, MemberId, Operation, Rights};
use chrono::{DateTime, Duration, Utc};

use crate::cache::{AuthCache, CachedSession};
use crate::password::{
    check_new_password, dummy_hash, hash_password_async, is_legacy_hash, verify_password_async,
};
use crate::throttle::LoginThrottle;
use crate::tokens::{constant_time_eq, is_session_token, token_hash, SESSION_TOKEN_LEN};

/// Settings of staff logins and sessions (`sessions.*` in the configuration), and the idle
/// delay of members' sessions, which share the same mechanism (`members.idle_seconds`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffSettings {
    /// A session ends after this long without use (sliding expiry). Default 300 s.
    pub idle: Duration,
    /// A member's session ends after this long without use. Default 1800 s.
    pub member_idle: Duration,
    /// Whether staff may log in with their staff card alone. Default true.
    pub card_login: bool,
    /// Failed logins per source address and minute before further attempts are refused;
    /// 0 switches throttling off. Default 10.
    pub failures_per_minute: u32,
    /// How long a session read from the database is trusted in memory (see
    /// [`crate::cache`]): the delay for a logout or a rights change made by another process
    /// to take effect here. Zero switches the cache off. Default 1 s.
    pub cache_ttl: Duration,
}

impl Default for StaffSettings {
    fn default() -> StaffSettings {
        StaffSettings {
            idle: Duration::seconds(300),
            member_idle: Duration::seconds(1800),
            card_login: true,
            failures_per_minute: 10,
            cache_ttl: crate::cache::DEFAULT_TTL,
        }
    }
}

/// What a successful login hands back. The token is shown once and stored only as its hash.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionGrant {
    /// 30 characters of `[0-9A-Za-z]`.
    pub token: String,
    pub login: Login,
    pub rights: Rights,
}

impl fmt::Debug for SessionGrant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionGrant")
            .field("token", &"<redacted>")
            .field("login", &self.login)
            .field("rights", &self.rights)
            .finish()
    }
}

/// Who holds a live session: a staff user with their current rights, or a member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Holder {
    Staff(Actor),
    Member(MemberId),
}

/// A live staff session as introspection shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionInfo {
    pub login: Login,
    pub created_at: DateTime<Utc>,
    /// When it ends if it is not used before.
    pub expires_at: DateTime<Utc>,
}

/// A staff account as shown to staff: never its password hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffProfile {
    pub login: Login,
    pub rights: Rights,
    pub card: Option<CardId>,
}

impl From<StaffUser> for StaffProfile {
    fn from(u: StaffUser) -> StaffProfile {
        StaffProfile {
            login: u.login,
            rights: u.rights,
            card: u.card,
        }
    }
}

/// Changes to a staff account; `None` keeps a value. `card: Some(None)` takes the card away.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserChanges {
    /// Rights 3 only.
    pub rights: Option<Rights>,
    /// One's own, or anyone's with rights 3.
    pub password: Option<String>,
    /// One's own, or anyone's with rights 3.
    pub card: Option<Option<CardId>>,
}

/// The staff service: logins, sessions and staff accounts. Cheap to clone.
#[derive(Clone)]
pub struct Staff {
    directory: Arc<dyn StaffDirectory>,
    sessions: Arc<dyn SessionStore>,
    clock: Arc<dyn Clock>,
    tokens: Arc<dyn TokenSource>,
    settings: StaffSettings,
    throttle: Arc<LoginThrottle>,
    cache: Arc<AuthCache>,
}

/// How long a first administrator's generated password is.
const FIRST_ADMIN_PASSWORD_LEN: usize = 24;

impl Staff {
    /// Wires the service to its ports.
    pub fn new(
        directory: Arc<dyn StaffDirectory>,
        sessions: Arc<dyn SessionStore>,
        clock: Arc<dyn Clock>,
        tokens: Arc<dyn TokenSource>,
        settings: StaffSettings,
    ) -> Staff {
        let throttle = Arc::new(LoginThrottle::new(settings.failures_per_minute));
        let cache = Arc::new(AuthCache::new(settings.cache_ttl));
        Staff {
            directory,
            sessions,
            clock,
            tokens,
            settings,
            throttle,
            cache,
        }
    }

    /// The cache of sessions and access tokens, shared with the OAuth service.
    pub(crate) fn cache(&self) -> &Arc<AuthCache> {
        &self.cache
    }

    /// The settings in force.
    pub fn settings(&self) -> &StaffSettings {
        &self.settings
    }

    /// Logs in with a login and a password. A wrong password, an unknown login and a disabled
    /// account all answer `InvalidCredentials` after the same argon2 work.
    pub async fn login_password(
        &self,
        login: &str,
        password: &str,
        source: IpAddr,
    ) -> Result<SessionGrant, DomainError> {
        let user = self
            .throttled(source, self.check_password(login, password))
            .await?;
        self.open_session(user).await
    }

    /// Runs a login attempt from `source` under the failed-login throttle shared by staff and
    /// members: attempts from one address one at a time, refused once too many failed. A
    /// refused login (`InvalidCredentials`, `UnknownStaffCard`) counts against the address;
    /// other errors, such as an unavailable database, are not the caller's failure.
    pub(crate) async fn throttled<T>(
        &self,
        source: IpAddr,
        attempt: impl Future<Output = Result<T, DomainError>>,
    ) -> Result<T, DomainError> {
        let _turn = self.throttle.turn(source).await;
        self.throttle
            .begin(source, self.clock.now())
            .inspect_err(|_| tracing::warn!(%source, "login refused: too many failed attempts"))?;
        match attempt.await {
            Ok(value) => {
                self.throttle.succeeded(source);
                Ok(value)
            }
            Err(e @ (DomainError::InvalidCredentials | DomainError::UnknownStaffCard)) => Err(e),
            Err(e) => {
                self.throttle.succeeded(source);
                Err(e)
            }
        }
    }

    async fn check_password(&self, login: &str, password: &str) -> Result<StaffUser, DomainError> {
        let user = match Login::parse(login) {
            Ok(login) => self.directory.user(&login).await?,
            Err(_) => None,
        };
        let hash = match &user {
            Some(u) => u.password_hash.clone(),
            None => dummy_hash().to_owned(),
        };
        let matches = verify_password_async(password.to_owned(), hash).await;
        match user {
            Some(u) if matches && u.active => {
                if is_legacy_hash(&u.password_hash) {
                    self.upgrade_hash(&u, password).await;
                }
                Ok(u)
            }
            _ => Err(DomainError::InvalidCredentials),
        }
    }

    /// Replaces a user's legacy bcrypt hash (imported from 10p5) by an argon2id hash of the
    /// password that just verified. A failure is logged and the login goes on: the old hash
    /// still works, and the next login tries again.
    async fn upgrade_hash(&self, user: &StaffUser, password: &str) {
        let upgraded = match hash_password_async(password.to_owned()).await {
            Ok(new) => {
                self.directory
                    .upgrade_password_hash(&user.login, user.password_hash.clone(), new)
                    .await
            }
            Err(e) => Err(e),
        };
        match upgraded {
            Ok(true) => {
                tracing::info!(login = %user.login, "legacy password hash upgraded to argon2id")
            }
            Ok(false) => {}
            Err(e) => {
                tracing::warn!(login = %user.login, error = %e, "legacy password hash not upgraded")
            }
        }
    }

    /// Logs in with a staff card alone. When card login is switched off in the configuration
    /// this answers `InvalidCredentials` (`identifiants_invalides`), as for any refused login;
    /// an unknown card (or a disabled user's) answers `UnknownStaffCard`.
    pub async fn login_card(
        &self,
        card: &CardId,
        source: IpAddr,
    ) -> Result<SessionGrant, DomainError> {
        if !self.settings.card_login {
            return Err(DomainError::InvalidCredentials);
        }
        let user = self
            .throttled(source, async {
                match self.directory.user_by_card(card).await {
                    Ok(Some(user)) if user.active => Ok(user),
                    Ok(_) => Err(DomainError::UnknownStaffCard),
                    Err(e) => Err(e),
                }
            })
            .await?;
        self.open_session(user).await
    }

    async fn open_session(&self, user: StaffUser) -> Result<SessionGrant, DomainError> {
        let token = self.open(SessionHolder::Staff(user.login.clone())).await?;
        Ok(SessionGrant {
            token,
            login: user.login,
            rights: user.rights,
        })
    }

    /// Opens a session for `holder`; its token, shown once and stored only as its hash.
    pub(crate) async fn open(&self, holder: SessionHolder) -> Result<String, DomainError> {
        let token = self.tokens.alphanumeric(SESSION_TOKEN_LEN);
        if !is_session_token(&token) {
            return Err(DomainError::Internal(
                "the token source returned a malformed token".into(),
            ));
        }
        let now = self.clock.now();
        self.sessions
            .create(Session {
                token_hash: token_hash(&token),
                holder,
                created_at: now,
                last_seen: now,
            })
            .await?;
        Ok(token)
    }

    /// The idle delay of a kind of session.
    fn idle(&self, kind: SessionKind) -> Duration {
        match kind {
            SessionKind::Staff => self.settings.idle,
            SessionKind::Member => self.settings.member_idle,
        }
    }

    /// How stale `last_seen` may get before a request writes it again: the sliding expiry does
    /// not need a database write on every request.
    fn touch_after(&self, idle: Duration) -> Duration {
        std::cmp::min(Duration::seconds(5), idle / 10)
    }

    /// Who holds this staff session token, with their current rights. Missing, malformed,
    /// unknown or expired tokens, tokens of disabled or deleted users, and members' tokens
    /// answer `InvalidToken`.
    pub async fn authenticate(&self, token: &str) -> Result<Actor, DomainError> {
        match self.authenticate_session(token).await? {
            Holder::Staff(actor) => Ok(actor),
            Holder::Member(_) => Err(DomainError::InvalidToken),
        }
    }

    /// Who holds this session token: a staff user (with their current rights) or a member.
    /// Missing, malformed, unknown or expired tokens, and tokens of disabled staff users,
    /// answer `InvalidToken`.
    ///
    /// A session found valid is kept in memory for `cache_ttl` (see [`crate::cache`]), so
    /// most requests read no database; expiry is checked on every request all the same.
    pub async fn authenticate_session(&self, token: &str) -> Result<Holder, DomainError> {
        if !is_session_token(token) {
            return Err(DomainError::InvalidToken);
        }
        let hash = token_hash(token);
        let now = self.clock.now();
        let session = match self.cache.session(&hash, now) {
            Some(session) if now - session.last_seen <= self.idle_of(&session.holder) => session,
            // Expired by what this process saw: ask the database, which may know of a more
            // recent use through another process.
            Some(_) => {
                self.cache.forget_session(&hash);
                self.load_session(&hash, now).await?
            }
            None => self.load_session(&hash, now).await?,
        };
        if now - session.last_seen >= self.touch_after(self.idle_of(&session.holder)) {
            // The sliding expiry: a failed write only shortens the session, it does not
            // refuse this request.
            match self.sessions.touch(&hash, now).await {
                Ok(()) => self.cache.set_last_seen(&hash, now),
                Err(e) => tracing::warn!(error = %e, "could not extend a session"),
            }
        }
        Ok(session.holder)
    }

    fn idle_of(&self, holder: &Holder) -> Duration {
        match holder {
            Holder::Staff(_) => self.idle(SessionKind::Staff),
            Holder::Member(_) => self.idle(SessionKind::Member),
        }
    }

    /// Reads a session and its user from the database, and caches them when valid.
    async fn load_session(
        &self,
        hash: &str,
        now: DateTime<Utc>,
    ) -> Result<CachedSession, DomainError> {
        let generation = self.cache.generation();
        let session = self
            .sessions
            .find(hash)
            .await?
            .ok_or(DomainError::InvalidToken)?;
        if !constant_time_eq(&session.token_hash, hash) {
            return Err(DomainError::InvalidToken);
        }
        if now - session.last_seen > self.idle(session.holder.kind()) {
            self.sessions.delete(hash).await?;
            return Err(DomainError::InvalidToken);
        }
        let holder = match session.holder {
            SessionHolder::Staff(login) => match self.directory.user(&login).await? {
                Some(user) if user.active => Holder::Staff(Actor {
                    login: user.login,
                    rights: user.rights,
                }),
                _ => {
                    self.sessions.delete(hash).await?;
                    return Err(DomainError::InvalidToken);
                }
            },
            // A member's account ends (deletion, new password) with its sessions, in the
            // same transaction: the session's existence is the whole check.
            SessionHolder::Member(member) => Holder::Member(member),
        };
        let cached = CachedSession {
            holder,
            last_seen: session.last_seen,
        };
        self.cache
            .put_session(hash, cached.clone(), now, generation);
        Ok(cached)
    }

    /// A live session, for introspection: whose it is, since when and until when it lasts if
    /// unused. Unlike [`Staff::authenticate`], looking does not extend it. `None` for a
    /// malformed, unknown or expired token, or one of a disabled user.
    pub async fn session_info(&self, token: &str) -> Result<Option<SessionInfo>, DomainError> {
        if !is_session_token(token) {
            return Ok(None);
        }
        let hash = token_hash(token);
        let Some(session) = self.sessions.find(&hash).await? else {
            return Ok(None);
        };
        if !constant_time_eq(&session.token_hash, &hash) {
            return Ok(None);
        }
        // Introspection is for staff sessions; a member's is not an OAuth2 credential.
        let SessionHolder::Staff(login) = session.holder else {
            return Ok(None);
        };
        let expires_at = session.last_seen + self.settings.idle;
        if self.clock.now() > expires_at || self.actor(&login).await?.is_none() {
            return Ok(None);
        }
        Ok(Some(SessionInfo {
            login,
            created_at: session.created_at,
            expires_at,
        }))
    }

    /// The active staff user `login` with their current rights, or `None`.
    pub async fn actor(&self, login: &Login) -> Result<Option<Actor>, DomainError> {
        Ok(match self.directory.user(login).await? {
            Some(user) if user.active => Some(Actor {
                login: user.login,
                rights: user.rights,
            }),
            _ => None,
        })
    }

    /// Ends the staff session of this token; `InvalidToken` if there is none (or it had
    /// expired, or it is a member's).
    pub async fn logout(&self, token: &str) -> Result<(), DomainError> {
        self.authenticate(token).await?;
        self.end_session(token).await
    }

    /// Deletes the session of a token already authenticated, and forgets it at once.
    pub(crate) async fn end_session(&self, token: &str) -> Result<(), DomainError> {
        let deleted = self.sessions.delete(&token_hash(token)).await;
        self.cache.invalidate();
        deleted
    }

    /// Empties the session cache after a write that ended sessions elsewhere.
    pub(crate) fn forget_sessions(&self) {
        self.cache.invalidate();
    }

    /// The clock and the token source, for the members' access, which shares them.
    pub(crate) fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    pub(crate) fn tokens(&self) -> &Arc<dyn TokenSource> {
        &self.tokens
    }

    /// Deletes the staff and member sessions idle for longer than their settings; returns
    /// how many.
    pub async fn purge_expired(&self) -> Result<u64, DomainError> {
        let now = self.clock.now();
        let staff = self
            .sessions
            .purge(SessionKind::Staff, now - self.idle(SessionKind::Staff))
            .await?;
        let members = self
            .sessions
            .purge(SessionKind::Member, now - self.idle(SessionKind::Member))
            .await?;
        Ok(staff + members)
    }

    /// The active user `login`, or `UnknownUser`.
    async fn active_user(&self, login: &Login) -> Result<StaffUser, DomainError> {
        match self.directory.user(login).await? {
            Some(user) if user.active => Ok(user),
            _ => Err(DomainError::UnknownUser),
        }
    }

    /// Creates a staff account (rights 3).
    pub async fn add_user(
        &self,
        actor: &Actor,
        login: &Login,
        password: &str,
        rights: Rights,
        card: Option<CardId>,
    ) -> Result<(), DomainError> {
        actor.check(Operation::ManageStaff)?;
        check_new_password(password)?;
        if self.directory.user(login).await?.is_some() {
            return Err(DomainError::UserExists);
        }
        let password_hash = hash_password_async(password.to_owned()).await?;
        self.directory
            .add_user(StaffUser {
                login: login.clone(),
                rights,
                card,
                password_hash,
                active: true,
            })
            .await
    }

    /// Changes a password: one's own, or anyone's with rights 3. The user's other sessions end
    /// with the old password (a change usually follows a leak); `current_token`, the session
    /// the change is made from, is kept when it is the user's own.
    pub async fn change_password(
        &self,
        actor: &Actor,
        login: &Login,
        password: &str,
        current_token: Option<&str>,
    ) -> Result<(), DomainError> {
        actor.check_account(login)?;
        check_new_password(password)?;
        self.active_user(login).await?;
        let hash = hash_password_async(password.to_owned()).await?;
        let keep = current_token
            .filter(|_| &actor.login == login)
            .map(token_hash);
        let written = self.directory.set_password_hash(login, hash, keep).await;
        self.cache.invalidate();
        written
    }

    /// Several changes to one account, with the rules of [`Staff::set_card`],
    /// [`Staff::set_rights`] and [`Staff::change_password`]: every permission and the last
    /// president are checked before anything changes, then the card (which may conflict), the
    /// rights and the password are applied in that order. The account as it is afterwards.
    pub async fn update_user(
        &self,
        actor: &Actor,
        login: &Login,
        changes: UserChanges,
        current_token: Option<&str>,
    ) -> Result<StaffProfile, DomainError> {
        if changes == UserChanges::default() {
            return Err(DomainError::malformed(
                "nothing to change: give at least one of `rights`, `password`, `card`",
            ));
        }
        if changes.password.is_some() || changes.card.is_some() {
            actor.check_account(login)?;
        }
        if let Some(password) = &changes.password {
            check_new_password(password)?;
        }
        let target = if let Some(rights) = changes.rights {
            actor.check(Operation::ManageStaff)?;
            let target = self.active_user(login).await?;
            if rights < Rights::President {
                self.keep_a_president(&target).await?;
            }
            target
        } else {
            actor.check_account(login)?;
            self.active_user(login).await?
        };
        if let Some(card) = changes.card {
            self.set_card(actor, login, card).await?;
        }
        if let Some(rights) = changes.rights {
            if rights != target.rights {
                self.set_rights(actor, login, rights).await?;
            }
        }
        if let Some(password) = &changes.password {
            self.change_password(actor, login, password, current_token)
                .await?;
        }
        Ok(self.active_user(login).await?.into())
    }

    /// Sets or clears a staff card: one's own, or anyone's with rights 3. A card held by
    /// another active user is `Malformed`.
    pub async fn set_card(
        &self,
        actor: &Actor,
        login: &Login,
        card: Option<CardId>,
    ) -> Result<(), DomainError> {
        actor.check_account(login)?;
        self.active_user(login).await?;
        let written = self.directory.set_card(login, card).await;
        self.cache.invalidate();
        written
    }

    /// Every active staff account, by login (rights 3).
    pub async fn users(&self, actor: &Actor) -> Result<Vec<StaffProfile>, DomainError> {
        actor.check(Operation::ManageStaff)?;
        let mut users: Vec<StaffProfile> = self
            .directory
            .users()
            .await?
            .into_iter()
            .filter(|u| u.active)
            .map(StaffProfile::from)
            .collect();
        users.sort_by(|a, b| a.login.cmp(&b.login));
        Ok(users)
    }

    /// The logins of every account with exactly `rights`, disabled ones included (their
    /// history stays): for figures computed on the server's behalf, such as the association's
    /// bill of the POS statistics. No rights check: the caller checked the actor's.
    pub async fn logins_with(&self, rights: Rights) -> Result<Vec<Login>, DomainError> {
        Ok(self
            .directory
            .users()
            .await?
            .into_iter()
            .filter(|u| u.rights == rights)
            .map(|u| u.login)
            .collect())
    }

    /// One active account: one's own, or anyone's with rights 3.
    pub async fn profile(&self, actor: &Actor, login: &Login) -> Result<StaffProfile, DomainError> {
        actor.check_account(login)?;
        Ok(self.active_user(login).await?.into())
    }

    /// Changes a user's rights (rights 3). The last active president cannot be demoted.
    pub async fn set_rights(
        &self,
        actor: &Actor,
        login: &Login,
        rights: Rights,
    ) -> Result<(), DomainError> {
        actor.check(Operation::ManageStaff)?;
        let written = self.directory.set_rights(login, rights).await;
        self.cache.invalidate();
        written
    }

    /// Deletes a user (rights 3): the account is disabled, its history kept, its sessions
    /// ended. The last active president cannot be deleted.
    pub async fn disable(&self, actor: &Actor, login: &Login) -> Result<(), DomainError> {
        actor.check(Operation::ManageStaff)?;
        let written = self.directory.disable(login).await;
        self.cache.invalidate();
        written
    }

    /// Refuses early to take away the last president, so that a several-field update changes
    /// nothing; the directory enforces the rule atomically with the write
    /// ([`StaffDirectory::set_rights`]).
    async fn keep_a_president(&self, target: &StaffUser) -> Result<(), DomainError> {
        if target.rights < Rights::President {
            return Ok(());
        }
        let others = self
            .directory
            .users()
            .await?
            .into_iter()
            .filter(|u| u.active && u.rights == Rights::President && u.login != target.login)
            .count();
        if others == 0 {
            return Err(DomainError::last_president());
        }
        Ok(())
    }

    /// The login of the active staff user holding this card, for `carte/info` (rights ≥ 1).
    pub async fn card_holder(
        &self,
        actor: &Actor,
        card: &CardId,
    ) -> Result<Option<Login>, DomainError> {
        actor.check(Operation::CardInfo)?;
        Ok(self
            .directory
            .user_by_card(card)
            .await?
            .filter(|u| u.active)
            .map(|u| u.login))
    }

    /// On first start (no staff user at all), creates `admin` with rights 3 and a random
    /// password, and returns that password so it can be shown once. `None` otherwise.
    pub async fn ensure_first_admin(&self) -> Result<Option<String>, DomainError> {
        if self.directory.any_user().await? {
            return Ok(None);
        }
        let login = Login::parse("admin")
            .map_err(|e| DomainError::Internal(format!("admin login: {e}")))?;
        let password = self.tokens.alphanumeric(FIRST_ADMIN_PASSWORD_LEN);
        let password_hash = hash_password_async(password.clone()).await?;
        let added = self
            .directory
            .add_user(StaffUser {
                login,
                rights: Rights::President,
                card: None,
                password_hash,
                active: true,
            })
            .await;
        match added {
            Ok(()) => Ok(Some(password)),
            // Another process created it first.
            Err(DomainError::UserExists) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests;
