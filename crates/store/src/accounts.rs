//! Members' accounts, one-time links and preferences, with the semantics of the
//! `MemberAccounts` port: each write one transaction, a link used by one guarded `UPDATE`
//! (unused and not expired), never a read-then-write.

use ardoise_domain::ports::MemberAccounts;
use ardoise_domain::{DomainError, MemberAccount, MemberId, MemberLink, Preferences, Profile};
use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::db::with_conn;
use crate::error::Failure;
use crate::rows::{millis, LinkRow, PreferencesRow, ProfileRow};
use crate::sql::{Dialect, Sql};
use crate::Store;

#[async_trait]
impl MemberAccounts for Store {
    async fn account_by_email(
        &self,
        email_key: &str,
    ) -> Result<Option<MemberAccount>, DomainError> {
        let key = email_key.to_owned();
        self.blocking(move |db| {
            with_conn!(db, |conn| Ok(conn.account_by_email_key(&key)?.map(
                |(member, password_hash)| MemberAccount {
                    member: MemberId(member),
                    password_hash,
                }
            )))
        })
        .await
    }

    async fn add_link(&self, link: MemberLink) -> Result<(), DomainError> {
        let row = LinkRow::from_link(&link);
        self.blocking(move |db| {
            with_conn!(db, |conn| conn.write_transaction(|conn| {
                if conn.find_member(row.member_id)?.is_none() {
                    return Err(Failure::Refused(DomainError::UnknownMember));
                }
                conn.delete_unused_links(row.member_id, row.purpose)?;
                conn.insert_link(&row)?;
                Ok(())
            }))
        })
        .await
    }

    async fn use_link(
        &self,
        token_hash: &str,
        password_hash: String,
        now: DateTime<Utc>,
    ) -> Result<Option<MemberId>, DomainError> {
        let token_hash = token_hash.to_owned();
        let now = millis(now);
        self.blocking(move |db| {
            with_conn!(db, |conn| conn.write_transaction(|conn| {
                let Some(member) = conn.use_link(&token_hash, now)? else {
                    return Ok(None);
                };
                conn.upsert_account(member, &password_hash, now)?;
                conn.delete_member_sessions(member)?;
                Ok::<_, Failure>(Some(MemberId(member)))
            }))
        })
        .await
    }

    async fn preferences(&self, member: MemberId) -> Result<Option<Preferences>, DomainError> {
        self.blocking(move |db| {
            with_conn!(db, |conn| Ok(conn
                .find_preferences(member.0)?
                .map(PreferencesRow::into_preferences)))
        })
        .await
    }

    async fn set_preferences(
        &self,
        member: MemberId,
        preferences: Preferences,
        at: DateTime<Utc>,
    ) -> Result<(), DomainError> {
        let row = PreferencesRow::new(member, preferences, at);
        self.blocking(move |db| {
            with_conn!(db, |conn| conn.write_transaction(|conn| {
                if conn.find_member(row.member_id)?.is_none() {
                    return Err(Failure::Refused(DomainError::UnknownMember));
                }
                conn.upsert_preferences(&row)?;
                Ok(())
            }))
        })
        .await
    }

    async fn anonymise(
        &self,
        member: MemberId,
        anonymous: Profile,
        at: DateTime<Utc>,
    ) -> Result<(), DomainError> {
        let row = ProfileRow::new(anonymous, at);
        let snapshots = self.snapshots_handle();
        self.blocking(move |db| {
            let erased = with_conn!(db, |conn| conn.write_transaction(|conn| {
                if conn.overwrite_member(member.0, &row)? == 0 {
                    return Err(Failure::Refused(DomainError::UnknownMember));
                }
                conn.delete_member_sessions(member.0)?;
                conn.delete_account(member.0)?;
                // The business card is the member's personal data too (it has no money).
                crate::business_cards::delete_members_card!(conn, member.0);
                // Their messages forget the address; the pending ones are not sent.
                crate::outbox::OutboxSql::forget_member(conn, member.0)?;
                Ok(())
            }));
            // Committed (or not): the till shows no name the database no longer holds.
            snapshots.members.forget([&member.0]);
            erased
        })
        .await
    }
}
