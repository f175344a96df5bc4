//! Members' access (members.md, "Accounts"): invitations and reset links, passwords, and
//! member sessions. Sessions, their tokens, hashing, sliding expiry, cache and the
//! failed-login throttle are the staff ones ([`Staff`]): a member's session is a session whose
//! holder is a member, with its own idle delay (`members.idle_seconds`).

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;

use ardoise_domain::account::{check_password, email_key, LINK_LIFE};
use ardoise_domain::member::parse_field;
use ardoise_domain::ports::{MemberAccounts, MemberDirectory, MemberLinkSender, SessionHolder};
use ardoise_domain::{
    Actor, DomainError, LinkPurpose, Member, MemberId, MemberLink, MemberSpace, Operation,
    Principal, ProfileField,
};
use chrono::{DateTime, Utc};

use crate::password::{dummy_hash, hash_password_async, verify_password_async};
use crate::staff::{Holder, Staff};
use crate::throttle::Throttle;
use crate::tokens::token_hash;

/// The length of a link's token: 43 characters of `[0-9A-Za-z]` (~256 bits).
pub const LINK_TOKEN_LEN: usize = 43;

/// The path of the page a link opens, after the site's address.
pub const WELCOME_PATH: &str = "/me/welcome/";

/// Reset links made for one address at most per hour: further requests get the same answer
/// and make none, so nobody can flood a member's mailbox.
pub const RESETS_PER_ADDRESS_PER_HOUR: u32 = 3;

/// A one-time link, shown once (to staff, for an invitation).
#[derive(Clone, PartialEq, Eq)]
pub struct IssuedLink {
    /// `{base}/me/welcome/{token}`.
    pub link: String,
    pub expires_at: DateTime<Utc>,
}

impl fmt::Debug for IssuedLink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuedLink")
            .field("link", &"<redacted>")
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// A member's successful login. The token is shown once and stored only as its hash.
#[derive(Clone, PartialEq, Eq)]
pub struct MemberGrant {
    /// 30 characters of `[0-9A-Za-z]`, like a staff session's.
    pub token: String,
    pub member: Member,
}

impl fmt::Debug for MemberGrant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemberGrant")
            .field("token", &"<redacted>")
            .field("member", &self.member.id)
            .finish()
    }
}

/// Members' access. Cheap to clone.
#[derive(Clone)]
pub struct MemberAccess {
    staff: Staff,
    accounts: Arc<dyn MemberAccounts>,
    directory: Arc<dyn MemberDirectory>,
    sender: Arc<dyn MemberLinkSender>,
    /// Reset requests per source address (the staff logins' limit a minute, then 429).
    reset_sources: Arc<Throttle<IpAddr>>,
    /// Reset links per e-mail address ([`RESETS_PER_ADDRESS_PER_HOUR`], then silently none).
    reset_addresses: Arc<Throttle<String>>,
}

/// Whether `text` has the shape of a link's token; anything else is refused before any lookup.
fn is_link_token(text: &str) -> bool {
    text.len() == LINK_TOKEN_LEN && text.bytes().all(|b| b.is_ascii_alphanumeric())
}

impl MemberAccess {
    /// Wires members' access to the staff sessions and to its ports.
    pub fn new(
        staff: Staff,
        accounts: Arc<dyn MemberAccounts>,
        directory: Arc<dyn MemberDirectory>,
        sender: Arc<dyn MemberLinkSender>,
    ) -> MemberAccess {
        let per_minute = staff.settings().failures_per_minute;
        MemberAccess {
            staff,
            accounts,
            directory,
            sender,
            reset_sources: Arc::new(Throttle::new(per_minute)),
            reset_addresses: Arc::new(Throttle::per_window(
                RESETS_PER_ADDRESS_PER_HOUR,
                chrono::Duration::hours(1),
            )),
        }
    }

    /// The member's deletion request ([`MemberSpace::delete`]), and their sessions forgotten
    /// at once by this process's session cache, not only in the database: the way the web
    /// pages and `/v1/me` delete a member.
    pub async fn delete_member(
        &self,
        space: &MemberSpace,
        principal: &Principal,
    ) -> Result<(), DomainError> {
        let deleted = space.delete(principal).await;
        self.staff.forget_sessions();
        deleted
    }

    /// Seconds of inactivity after which a member's session ends.
    pub fn idle_seconds(&self) -> i64 {
        self.staff.settings().member_idle.num_seconds()
    }

    /// Creates a one-time link for `member` and hands it to the channel, if any.
    async fn issue(
        &self,
        member: &Member,
        purpose: LinkPurpose,
        base: &str,
    ) -> Result<IssuedLink, DomainError> {
        let token = self.staff.tokens().alphanumeric(LINK_TOKEN_LEN);
        if !is_link_token(&token) {
            return Err(DomainError::Internal(
                "the token source returned a malformed token".into(),
            ));
        }
        let now = self.staff.clock().now();
        let expires_at = now + LINK_LIFE;
        self.accounts
            .add_link(MemberLink {
                token_hash: token_hash(&token),
                member: member.id,
                purpose,
                created_at: now,
                expires_at,
            })
            .await?;
        let link = format!("{}{WELCOME_PATH}{token}", base.trim_end_matches('/'));
        match self
            .sender
            .send_link(member, purpose, &link, expires_at)
            .await
        {
            Ok(true) => {}
            Ok(false) => tracing::info!(
                member = member.id.0,
                purpose = purpose.as_str(),
                "member link created; no mail channel to send it"
            ),
            Err(e) => tracing::warn!(
                member = member.id.0,
                purpose = purpose.as_str(),
                error = %e,
                "member link created but not sent"
            ),
        }
        Ok(IssuedLink { link, expires_at })
    }

    /// Staff (rights ≥ 1) invite a member: a one-time link, valid 72 h, that sets the
    /// member's password; a newer invitation replaces an unused older one. The member needs
    /// an e-mail address (their login). `base` is the site's address (`http.public_url`, or
    /// the request's origin).
    pub async fn invite(
        &self,
        actor: &Actor,
        member: MemberId,
        base: &str,
    ) -> Result<IssuedLink, DomainError> {
        actor.check(Operation::ManageMembers)?;
        let member = self
            .directory
            .member(member)
            .await?
            .ok_or(DomainError::UnknownMember)?;
        if member.profile.email.is_none() {
            return Err(DomainError::malformed(
                "field `email` is missing: a member logs in with their e-mail address; set one \
                 before inviting them",
            ));
        }
        self.issue(&member, LinkPurpose::Welcome, base).await
    }

    /// Sets a member's password with a link's token (an invitation or a reset): the link is
    /// used once, and the member's other sessions end. An unknown, used or expired link is
    /// `InvalidLink`; a password under 8 characters `Malformed`, and the link stays usable.
    pub async fn set_password(&self, token: &str, password: &str) -> Result<(), DomainError> {
        check_password(password)?;
        if !is_link_token(token) {
            return Err(DomainError::InvalidLink);
        }
        let hash = hash_password_async(password.to_owned()).await?;
        let now = self.staff.clock().now();
        let used = self
            .accounts
            .use_link(&token_hash(token), hash, now)
            .await?;
        self.staff.forget_sessions();
        used.map(|_| ()).ok_or(DomainError::InvalidLink)
    }

    /// A member asks for a password reset from `source`: if `email` is a member's login, a
    /// reset link on `base` (the site's public address; none without one) is created and
    /// handed to the mail channel. The outcome is the same whether the address exists or not;
    /// only a malformed address is refused, and a source asking too often
    /// (`TooManyAttempts`, the staff logins' limit a minute). Past
    /// [`RESETS_PER_ADDRESS_PER_HOUR`] links for one address, no more are made (same answer).
    pub async fn request_reset(
        &self,
        email: &str,
        base: Option<&str>,
        source: IpAddr,
    ) -> Result<(), DomainError> {
        let email = self.check_reset_address(email)?;
        let now = self.staff.clock().now();
        self.reset_sources
            .begin(source, now)
            .inspect_err(|_| tracing::warn!(%source, "reset refused: too many requests"))?;
        let key = email_key(&email);
        if self.reset_addresses.begin(key.clone(), now).is_err() {
            tracing::warn!("reset asked too often for one address: no new link");
            return Ok(());
        }
        let Some(base) = base else {
            tracing::info!("password reset asked; http.public_url is not set: no link");
            return Ok(());
        };
        let Some(account) = self.accounts.account_by_email(&key).await? else {
            return Ok(());
        };
        let Some(member) = self.directory.member(account.member).await? else {
            return Ok(());
        };
        self.issue(&member, LinkPurpose::Reset, base).await?;
        Ok(())
    }

    /// The address of a reset request, checked: only a malformed one is refused.
    pub fn check_reset_address(&self, email: &str) -> Result<String, DomainError> {
        parse_field(ProfileField::Email, email)?
            .ok_or_else(|| DomainError::malformed("field `email` is missing"))
    }

    /// Logs a member in with their e-mail address and password. A wrong password and an
    /// unknown address answer `InvalidCredentials` after the same argon2 work, under the
    /// staff logins' throttle.
    pub async fn login(
        &self,
        email: &str,
        password: &str,
        source: IpAddr,
    ) -> Result<MemberGrant, DomainError> {
        let member = self
            .staff
            .throttled(source, self.check_password(email, password))
            .await?;
        let token = self.staff.open(SessionHolder::Member(member)).await?;
        let member = self
            .directory
            .member(member)
            .await?
            .ok_or(DomainError::UnknownMember)?;
        Ok(MemberGrant { token, member })
    }

    async fn check_password(&self, email: &str, password: &str) -> Result<MemberId, DomainError> {
        let account = match parse_field(ProfileField::Email, email) {
            Ok(Some(email)) => self.accounts.account_by_email(&email_key(&email)).await?,
            _ => None,
        };
        let hash = match &account {
            Some(a) => a.password_hash.clone(),
            None => dummy_hash().to_owned(),
        };
        let matches = verify_password_async(password.to_owned(), hash).await;
        match account {
            Some(a) if matches => Ok(a.member),
            _ => Err(DomainError::InvalidCredentials),
        }
    }

    /// Checks the logged-in member's current password, under the logins' throttle: what a
    /// change of the member's login (their e-mail address) asks for, so that a session left
    /// open or a stolen token cannot take the account over. A wrong password is
    /// `InvalidCredentials`.
    pub async fn confirm_password(
        &self,
        principal: &Principal,
        password: &str,
        source: IpAddr,
    ) -> Result<(), DomainError> {
        let me = principal.own_member()?;
        let member = self
            .directory
            .member(me)
            .await?
            .ok_or(DomainError::UnknownMember)?;
        let email = member.profile.email.unwrap_or_default();
        let confirmed = self
            .staff
            .throttled(source, self.check_password(&email, password))
            .await?;
        if confirmed == me {
            Ok(())
        } else {
            Err(DomainError::InvalidCredentials)
        }
    }

    /// The member holding this session token; staff tokens and anything else that is not a
    /// live member session answer `InvalidToken`.
    pub async fn authenticate(&self, token: &str) -> Result<Principal, DomainError> {
        match self.staff.authenticate_session(token).await? {
            Holder::Member(member) => Ok(Principal::Member(member)),
            Holder::Staff(_) => Err(DomainError::InvalidToken),
        }
    }

    /// Ends the member's session of this token: only a member's own token.
    pub async fn logout(&self, principal: &Principal, token: &str) -> Result<(), DomainError> {
        let me = principal.own_member()?;
        match self.authenticate(token).await? {
            Principal::Member(holder) if holder == me => self.staff.end_session(token).await,
            _ => Err(DomainError::InvalidToken),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::MemoryStaffStore;
    use crate::staff::StaffSettings;
    use crate::tokens::OsTokens;
    use ardoise_domain::memory::MemoryLedger;
    use ardoise_domain::ports::{NoMemberMail, SystemClock};
    use ardoise_domain::{Login, Profile, Rights};

    const SOURCE: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

    async fn world() -> (MemberAccess, Staff, MemberId) {
        let ledger = Arc::new(MemoryLedger::new());
        let store = Arc::new(MemoryStaffStore::new());
        let staff = Staff::new(
            store.clone(),
            store,
            Arc::new(SystemClock),
            Arc::new(OsTokens),
            StaffSettings::default(),
        );
        let member = ledger
            .add_member(
                Profile {
                    last_name: Some("Durand".into()),
                    email: Some("Zoe@example.org".into()),
                    ..Profile::default()
                },
                chrono::Utc::now(),
            )
            .await
            .unwrap();
        let access = MemberAccess::new(
            staff.clone(),
            ledger.clone(),
            ledger,
            Arc::new(NoMemberMail),
        );
        (access, staff, member.id)
    }

    fn actor(rights: Rights) -> Actor {
        Actor {
            login: Login::parse("bde").unwrap(),
            rights,
        }
    }

    #[tokio::test]
    async fn an_invitation_sets_a_password_once_and_opens_a_member_session_only() {
        let (access, staff, id) = world().await;
        assert_eq!(
            access
                .invite(&actor(Rights::Honeypot), id, "http://x")
                .await
                .map(|_| ()),
            Err(DomainError::InsufficientRights)
        );
        let issued = access
            .invite(&actor(Rights::Association), id, "https://bar.example.org/")
            .await
            .unwrap();
        let token = issued
            .link
            .strip_prefix("https://bar.example.org/me/welcome/")
            .unwrap();
        assert!(!format!("{issued:?}").contains(token), "never in logs");
        assert!(matches!(
            access.set_password(token, "short").await,
            Err(DomainError::Malformed(_))
        ));
        access.set_password(token, "correct horse").await.unwrap();
        assert_eq!(
            access.set_password(token, "correct horse").await,
            Err(DomainError::InvalidLink)
        );
        assert_eq!(
            access
                .login("zoe@example.org", "wrong horse", SOURCE)
                .await
                .map(|_| ()),
            Err(DomainError::InvalidCredentials)
        );
        let grant = access
            .login("ZOE@EXAMPLE.ORG", "correct horse", SOURCE)
            .await
            .unwrap();
        assert_eq!(grant.member.id, id);
        let me = Principal::Member(id);
        assert_eq!(
            access.confirm_password(&me, "wrong horse", SOURCE).await,
            Err(DomainError::InvalidCredentials)
        );
        assert_eq!(
            access.confirm_password(&me, "correct horse", SOURCE).await,
            Ok(())
        );
        assert_eq!(
            access
                .confirm_password(&Principal::Staff(actor(Rights::President)), "x", SOURCE)
                .await,
            Err(DomainError::InsufficientRights)
        );
        // A member's token is no staff session, and the reverse.
        assert_eq!(
            staff.authenticate(&grant.token).await,
            Err(DomainError::InvalidToken)
        );
        let me = access.authenticate(&grant.token).await.unwrap();
        assert_eq!(me, Principal::Member(id));
        assert_eq!(
            access
                .logout(&Principal::Staff(actor(Rights::President)), &grant.token)
                .await,
            Err(DomainError::InsufficientRights)
        );
        access.logout(&me, &grant.token).await.unwrap();
        assert_eq!(
            access.authenticate(&grant.token).await,
            Err(DomainError::InvalidToken)
        );
    }

    #[tokio::test]
    async fn resets_answer_alike_and_refuse_only_malformed_addresses() {
        let (access, _, _) = world().await;
        let x = Some("https://x");
        assert_eq!(
            access.request_reset("nobody@example.org", x, SOURCE).await,
            Ok(())
        );
        assert_eq!(
            access.request_reset("zoe@example.org", x, SOURCE).await,
            Ok(())
        );
        assert!(matches!(
            access.request_reset("not an address", x, SOURCE).await,
            Err(DomainError::Malformed(_))
        ));
    }

    /// Counts the links handed to the mail channel.
    #[derive(Default)]
    struct Outbox(std::sync::Mutex<u32>);

    #[async_trait::async_trait]
    impl MemberLinkSender for Outbox {
        async fn send_link(
            &self,
            _: &Member,
            _: LinkPurpose,
            _: &str,
            _: DateTime<Utc>,
        ) -> Result<bool, DomainError> {
            *self.0.lock().unwrap() += 1;
            Ok(true)
        }
    }

    #[tokio::test]
    async fn resets_are_limited_per_address_silently_and_per_source_loudly() {
        let (plain, staff, id) = world().await;
        let issued = plain
            .invite(&actor(Rights::Association), id, "https://x")
            .await
            .unwrap();
        let token = issued.link.strip_prefix("https://x/me/welcome/").unwrap();
        plain.set_password(token, "correct horse").await.unwrap();
        let outbox = Arc::new(Outbox::default());
        let access = MemberAccess::new(
            staff,
            plain.accounts.clone(),
            plain.directory.clone(),
            outbox.clone(),
        );
        let x = Some("https://x");
        // One address: three links an hour, then the same answer and no link.
        for _ in 0..5 {
            assert_eq!(
                access.request_reset("ZOE@example.org", x, SOURCE).await,
                Ok(())
            );
        }
        assert_eq!(*outbox.0.lock().unwrap(), RESETS_PER_ADDRESS_PER_HOUR);
        // One source: the logins' limit a minute (10 by default), then refused, whatever the
        // address.
        for i in 5..10 {
            let email = format!("other{i}@example.org");
            assert_eq!(access.request_reset(&email, x, SOURCE).await, Ok(()));
        }
        assert!(matches!(
            access.request_reset("another@example.org", x, SOURCE).await,
            Err(DomainError::TooManyAttempts { .. })
        ));
        let elsewhere = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 1));
        assert_eq!(
            access
                .request_reset("another@example.org", x, elsewhere)
                .await,
            Ok(())
        );
        assert_eq!(*outbox.0.lock().unwrap(), RESETS_PER_ADDRESS_PER_HOUR);
    }
}
