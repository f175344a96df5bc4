//! The association's members and the link of their cards, with the semantics of
//! `ardoise_domain::memory`. Not money: small writes on the pool (tokio's blocking threads),
//! each one guarded statement — an edit is written only over the revision it was computed
//! from, and a card is linked only if no other member owns it — never a read-then-write.

use ardoise_domain::ports::MemberDirectory;
use ardoise_domain::{Card, CardId, DomainError, Member, MemberId, Page, Paged, Profile};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::Connection;

use crate::db::with_conn;
use crate::error::Failure;
use crate::rows::{millis, CardRow, MemberRow, ProfileRow};
use crate::sql::Sql;
use crate::Store;

fn offset_of(page: Page) -> Result<(i64, i64), DomainError> {
    let offset = i64::try_from(page.offset())
        .map_err(|_| DomainError::malformed("field `page` is too large"))?;
    Ok((offset, i64::from(page.per_page())))
}

fn total(count: i64) -> u64 {
    u64::try_from(count).unwrap_or_default()
}

/// A unique violation on `members`: the e-mail key is another member's.
fn email_conflict(e: diesel::result::Error) -> Failure {
    use diesel::result::{DatabaseErrorKind, Error};
    match e {
        Error::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => {
            Failure::Refused(DomainError::EmailTaken)
        }
        other => Failure::Db(other),
    }
}

/// Why a link or an unlink matched no row: the member or the card is unknown, or `other`.
fn explain<C: Sql>(
    conn: &mut C,
    member: i64,
    card: &str,
    other: impl FnOnce(CardRow) -> DomainError,
) -> Result<(), Failure> {
    if conn.find_member(member)?.is_none() {
        return Err(DomainError::UnknownMember.into());
    }
    match conn.find_card(card)? {
        None => Err(DomainError::UnknownCard.into()),
        Some(row) => Err(other(row).into()),
    }
}

#[async_trait]
impl MemberDirectory for Store {
    async fn add_member(&self, profile: Profile, at: DateTime<Utc>) -> Result<Member, DomainError> {
        self.blocking(move |db| {
            with_conn!(db, |conn| {
                let id = conn
                    .insert_member(&ProfileRow::new(profile, at), millis(at))
                    .map_err(email_conflict)?;
                conn.find_member(id)?
                    .ok_or_else(|| Failure::Lost(format!("member {id} vanished after insert")))?
                    .into_member()
            })
        })
        .await
    }

    async fn member(&self, id: MemberId) -> Result<Option<Member>, DomainError> {
        self.blocking(move |db| {
            with_conn!(db, |conn| conn
                .find_member(id.0)?
                .map(MemberRow::into_member)
                .transpose())
        })
        .await
    }

    async fn member_page(&self, page: Page) -> Result<Paged<Member>, DomainError> {
        let (offset, limit) = offset_of(page)?;
        self.blocking(move |db| {
            with_conn!(db, |conn| conn.transaction(|conn| {
                let count = conn.count_members()?;
                let items = conn
                    .members_page(offset, limit)?
                    .into_iter()
                    .map(MemberRow::into_member)
                    .collect::<Result<Vec<_>, _>>()?;
                Ok::<_, Failure>(Paged {
                    items,
                    page,
                    total: total(count),
                })
            }))
        })
        .await
    }

    async fn update_member(
        &self,
        id: MemberId,
        revision: i64,
        profile: Profile,
        at: DateTime<Utc>,
    ) -> Result<bool, DomainError> {
        let snapshots = self.snapshots_handle();
        self.blocking(move |db| {
            with_conn!(db, |conn| {
                let updated = conn
                    .update_member(id.0, revision, &ProfileRow::new(profile, at))
                    .map_err(email_conflict)?
                    == 1;
                // Here, not after the await: the write stands even if the caller left.
                snapshots.members.forget([&id.0]);
                Ok(updated)
            })
        })
        .await
    }

    async fn link_card(&self, member: MemberId, card: &CardId) -> Result<(), DomainError> {
        let card = card.clone();
        let snapshots = self.snapshots_handle();
        self.blocking(move |db| {
            with_conn!(db, |conn| {
                if conn.link_card(member.0, card.as_str())? == 1 {
                    // Here, not after the await: the write stands even if the caller left.
                    snapshots.cards.forget([card.as_str()]);
                    snapshots.holders.forget([&member.0]);
                    return Ok(());
                }
                explain(conn, member.0, card.as_str(), |row| match row.replaced_by {
                    Some(by) => DomainError::CardReplaced(by),
                    None => DomainError::CardLinkedToOther,
                })
            })
        })
        .await
    }

    async fn unlink_card(&self, member: MemberId, card: &CardId) -> Result<(), DomainError> {
        let card = card.clone();
        let snapshots = self.snapshots_handle();
        self.blocking(move |db| {
            with_conn!(db, |conn| {
                if conn.unlink_card(member.0, card.as_str())? == 1 {
                    // Here, not after the await: the write stands even if the caller left.
                    snapshots.cards.forget([card.as_str()]);
                    snapshots.holders.forget([&member.0]);
                    return Ok(());
                }
                explain(conn, member.0, card.as_str(), |_| {
                    DomainError::CardNotLinked
                })
            })
        })
        .await
    }

    async fn member_card_page(
        &self,
        member: MemberId,
        page: Page,
    ) -> Result<Paged<Card>, DomainError> {
        let (offset, limit) = offset_of(page)?;
        self.blocking(move |db| {
            with_conn!(db, |conn| conn.transaction(|conn| {
                if conn.find_member(member.0)?.is_none() {
                    return Err(DomainError::UnknownMember.into());
                }
                let count = conn.count_member_cards(member.0)?;
                let items = conn
                    .member_cards_page(member.0, offset, limit)?
                    .into_iter()
                    .map(CardRow::into_card)
                    .collect::<Result<Vec<_>, _>>()?;
                Ok::<_, Failure>(Paged {
                    items,
                    page,
                    total: total(count),
                })
            }))
        })
        .await
    }
}
