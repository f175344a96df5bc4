//! In-memory staff accounts, sessions, partners, access tokens and a settable clock: the
//! reference semantics of the auth ports, for tests (here, in the HTTP crate and in the app).
//! Not for production.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

use ardoise_domain::ports::{
    AccessToken, AccessTokenStore, Clock, Partner, PartnerDirectory, Session, SessionHolder,
    SessionKind, SessionStore, StaffDirectory, StaffUser, TokenOwner,
};
use ardoise_domain::{CardId, DomainError, Login, Rights};
use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};

#[derive(Default)]
struct State {
    users: BTreeMap<Login, StaffUser>,
    sessions: BTreeMap<String, Session>,
}

/// Staff accounts and their sessions behind one lock (so disabling a user ends their sessions,
/// as the port requires).
#[derive(Default)]
pub struct MemoryStaffStore {
    state: Mutex<State>,
    lookups: AtomicU64,
}

impl MemoryStaffStore {
    /// An empty store.
    pub fn new() -> MemoryStaffStore {
        MemoryStaffStore::default()
    }

    fn lock(&self) -> Result<MutexGuard<'_, State>, DomainError> {
        self.state
            .lock()
            .map_err(|_| DomainError::Internal("memory staff store lock poisoned".into()))
    }

    /// How many user lookups (`user`, `user_by_card`) were made so far.
    pub fn lookups(&self) -> u64 {
        self.lookups.load(Ordering::Relaxed)
    }

    /// The number of sessions stored (expired ones included until purged).
    pub fn session_count(&self) -> usize {
        self.lock().map(|s| s.sessions.len()).unwrap_or(0)
    }

    /// Every stored session.
    pub fn sessions(&self) -> Vec<Session> {
        self.lock()
            .map(|s| s.sessions.values().cloned().collect())
            .unwrap_or_default()
    }
}

fn card_taken(state: &State, card: &CardId, by_other_than: &Login) -> bool {
    state
        .users
        .values()
        .any(|u| u.active && u.card.as_ref() == Some(card) && &u.login != by_other_than)
}

/// Whether the session is the staff user `login`'s.
fn is_staff(session: &Session, login: &Login) -> bool {
    matches!(&session.holder, SessionHolder::Staff(l) if l == login)
}

fn active_user<'a>(state: &'a mut State, login: &Login) -> Result<&'a mut StaffUser, DomainError> {
    match state.users.get_mut(login) {
        Some(user) if user.active => Ok(user),
        _ => Err(DomainError::UnknownUser),
    }
}

/// Refuses to take `login` away from the active presidents when it is the last one.
fn keep_a_president(state: &State, login: &Login) -> Result<(), DomainError> {
    let presidents = || {
        state
            .users
            .values()
            .filter(|u| u.active && u.rights == Rights::President)
    };
    if presidents().any(|u| &u.login == login) && presidents().count() == 1 {
        return Err(DomainError::last_president());
    }
    Ok(())
}

#[async_trait]
impl StaffDirectory for MemoryStaffStore {
    async fn user(&self, login: &Login) -> Result<Option<StaffUser>, DomainError> {
        self.lookups.fetch_add(1, Ordering::Relaxed);
        Ok(self.lock()?.users.get(login).cloned())
    }

    async fn user_by_card(&self, card: &CardId) -> Result<Option<StaffUser>, DomainError> {
        self.lookups.fetch_add(1, Ordering::Relaxed);
        Ok(self
            .lock()?
            .users
            .values()
            .find(|u| u.active && u.card.as_ref() == Some(card))
            .cloned())
    }

    async fn users(&self) -> Result<Vec<StaffUser>, DomainError> {
        Ok(self
            .lock()?
            .users
            .values()
            .filter(|u| u.active)
            .cloned()
            .collect())
    }

    async fn any_user(&self) -> Result<bool, DomainError> {
        Ok(!self.lock()?.users.is_empty())
    }

    async fn add_user(&self, user: StaffUser) -> Result<(), DomainError> {
        let mut state = self.lock()?;
        if state.users.contains_key(&user.login) {
            return Err(DomainError::UserExists);
        }
        if let Some(card) = &user.card {
            if card_taken(&state, card, &user.login) {
                return Err(DomainError::malformed("this staff card is already used"));
            }
        }
        state.users.insert(user.login.clone(), user);
        Ok(())
    }

    async fn set_password_hash(
        &self,
        login: &Login,
        hash: String,
        keep_session: Option<String>,
    ) -> Result<(), DomainError> {
        let mut state = self.lock()?;
        active_user(&mut state, login)?.password_hash = hash;
        state
            .sessions
            .retain(|h, s| !is_staff(s, login) || Some(h) == keep_session.as_ref());
        Ok(())
    }

    async fn upgrade_password_hash(
        &self,
        login: &Login,
        old: String,
        new: String,
    ) -> Result<bool, DomainError> {
        let mut state = self.lock()?;
        match state.users.get_mut(login) {
            Some(user) if user.active && user.password_hash == old => {
                user.password_hash = new;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn set_card(&self, login: &Login, card: Option<CardId>) -> Result<(), DomainError> {
        let mut state = self.lock()?;
        active_user(&mut state, login)?;
        if let Some(card) = &card {
            if card_taken(&state, card, login) {
                return Err(DomainError::malformed("this staff card is already used"));
            }
        }
        active_user(&mut state, login)?.card = card;
        Ok(())
    }

    async fn set_rights(&self, login: &Login, rights: Rights) -> Result<(), DomainError> {
        let mut state = self.lock()?;
        if rights < Rights::President {
            keep_a_president(&state, login)?;
        }
        active_user(&mut state, login)?.rights = rights;
        Ok(())
    }

    async fn disable(&self, login: &Login) -> Result<(), DomainError> {
        let mut state = self.lock()?;
        keep_a_president(&state, login)?;
        active_user(&mut state, login)?.active = false;
        state.sessions.retain(|_, s| !is_staff(s, login));
        Ok(())
    }
}

#[async_trait]
impl SessionStore for MemoryStaffStore {
    async fn create(&self, session: Session) -> Result<(), DomainError> {
        let mut state = self.lock()?;
        if state.sessions.contains_key(&session.token_hash) {
            return Err(DomainError::Internal("duplicate session token".into()));
        }
        state.sessions.insert(session.token_hash.clone(), session);
        Ok(())
    }

    async fn find(&self, token_hash: &str) -> Result<Option<Session>, DomainError> {
        Ok(self.lock()?.sessions.get(token_hash).cloned())
    }

    async fn touch(&self, token_hash: &str, at: DateTime<Utc>) -> Result<(), DomainError> {
        if let Some(s) = self.lock()?.sessions.get_mut(token_hash) {
            s.last_seen = at;
        }
        Ok(())
    }

    async fn delete(&self, token_hash: &str) -> Result<(), DomainError> {
        self.lock()?.sessions.remove(token_hash);
        Ok(())
    }

    async fn purge(&self, kind: SessionKind, before: DateTime<Utc>) -> Result<u64, DomainError> {
        let mut state = self.lock()?;
        let count = state.sessions.len();
        state
            .sessions
            .retain(|_, s| s.holder.kind() != kind || s.last_seen >= before);
        Ok((count - state.sessions.len()) as u64)
    }
}

/// A clock that stands still until told to move.
#[derive(Debug)]
pub struct ManualClock {
    now: Mutex<DateTime<Utc>>,
}

impl ManualClock {
    /// A clock showing `now`.
    pub fn new(now: DateTime<Utc>) -> ManualClock {
        ManualClock {
            now: Mutex::new(now),
        }
    }

    /// Moves the clock forward (or back, with a negative duration).
    pub fn advance(&self, by: Duration) {
        let mut now = self.now.lock().unwrap_or_else(|e| e.into_inner());
        *now += by;
    }

    /// Sets the time.
    pub fn set(&self, to: DateTime<Utc>) {
        *self.now.lock().unwrap_or_else(|e| e.into_inner()) = to;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.now.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[derive(Default)]
struct OAuthState {
    partners: BTreeMap<String, Partner>,
    tokens: BTreeMap<String, AccessToken>,
}

/// Partners and their access tokens behind one lock (so disabling a partner revokes its
/// tokens, as the port requires).
#[derive(Default)]
pub struct MemoryOAuthStore {
    state: Mutex<OAuthState>,
}

impl MemoryOAuthStore {
    /// An empty store.
    pub fn new() -> MemoryOAuthStore {
        MemoryOAuthStore::default()
    }

    fn lock(&self) -> Result<MutexGuard<'_, OAuthState>, DomainError> {
        self.state
            .lock()
            .map_err(|_| DomainError::Internal("memory OAuth store lock poisoned".into()))
    }

    /// Every stored token.
    pub fn tokens(&self) -> Vec<AccessToken> {
        self.lock()
            .map(|s| s.tokens.values().cloned().collect())
            .unwrap_or_default()
    }

    fn revoke_all_of(state: &mut OAuthState, client_id: &str) {
        for t in state.tokens.values_mut() {
            if t.owner == TokenOwner::Partner(client_id.to_owned()) {
                t.revoked = true;
            }
        }
    }
}

#[async_trait]
impl PartnerDirectory for MemoryOAuthStore {
    async fn partner(&self, client_id: &str) -> Result<Option<Partner>, DomainError> {
        Ok(self.lock()?.partners.get(client_id).cloned())
    }

    async fn partners(&self) -> Result<Vec<Partner>, DomainError> {
        Ok(self.lock()?.partners.values().cloned().collect())
    }

    async fn add_partner(&self, partner: Partner) -> Result<(), DomainError> {
        let mut state = self.lock()?;
        if state.partners.contains_key(&partner.client_id) {
            return Err(DomainError::malformed("this client id is taken"));
        }
        state.partners.insert(partner.client_id.clone(), partner);
        Ok(())
    }

    async fn disable_partner(&self, client_id: &str) -> Result<bool, DomainError> {
        let mut state = self.lock()?;
        let Some(p) = state.partners.get_mut(client_id) else {
            return Ok(false);
        };
        p.active = false;
        MemoryOAuthStore::revoke_all_of(&mut state, client_id);
        Ok(true)
    }

    async fn update_partner(
        &self,
        partner: Partner,
        revoke_tokens: bool,
    ) -> Result<bool, DomainError> {
        let mut state = self.lock()?;
        let Some(p) = state.partners.get_mut(&partner.client_id) else {
            return Ok(false);
        };
        *p = Partner {
            secret_hash: p.secret_hash.clone(),
            created_at: p.created_at,
            ..partner.clone()
        };
        if revoke_tokens {
            MemoryOAuthStore::revoke_all_of(&mut state, &partner.client_id);
        }
        Ok(true)
    }

    async fn set_partner_secret(&self, client_id: &str, hash: String) -> Result<bool, DomainError> {
        let mut state = self.lock()?;
        let Some(p) = state.partners.get_mut(client_id) else {
            return Ok(false);
        };
        p.secret_hash = hash;
        MemoryOAuthStore::revoke_all_of(&mut state, client_id);
        Ok(true)
    }
}

#[async_trait]
impl AccessTokenStore for MemoryOAuthStore {
    async fn insert_token(&self, token: AccessToken) -> Result<(), DomainError> {
        let mut state = self.lock()?;
        if state.tokens.contains_key(&token.token_hash) {
            return Err(DomainError::Internal("duplicate access token".into()));
        }
        state.tokens.insert(token.token_hash.clone(), token);
        Ok(())
    }

    async fn token(&self, token_hash: &str) -> Result<Option<AccessToken>, DomainError> {
        Ok(self.lock()?.tokens.get(token_hash).cloned())
    }

    async fn use_token(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<AccessToken>, DomainError> {
        let mut state = self.lock()?;
        let Some(t) = state.tokens.get_mut(token_hash) else {
            return Ok(None);
        };
        if t.revoked || t.expires_at <= now || t.rpt_left == Some(0) {
            return Ok(None);
        }
        if let Some(left) = &mut t.rpt_left {
            *left -= 1;
        }
        Ok(Some(t.clone()))
    }

    async fn revoke_token(&self, token_hash: &str) -> Result<bool, DomainError> {
        Ok(match self.lock()?.tokens.get_mut(token_hash) {
            Some(t) => {
                t.revoked = true;
                true
            }
            None => false,
        })
    }

    async fn purge_tokens(&self, before: DateTime<Utc>) -> Result<u64, DomainError> {
        let mut state = self.lock()?;
        let count = state.tokens.len();
        state.tokens.retain(|_, t| t.expires_at > before);
        Ok((count - state.tokens.len()) as u64)
    }
}
