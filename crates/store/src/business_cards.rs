//! Seed 003's business cards on the database. Not money: small writes on the pool, each one
//! transaction. A change writes only the columns it names (`UPDATE ... SET` of the given
//! fields, an upsert per language), so two changes of different fields never undo each other.

use std::collections::BTreeMap;

use ardoise_domain::ports::BusinessCardStore;
use ardoise_domain::{
    BusinessCard, BusinessCardId, CardChanges, CardVersion, Contact, ContactChanges, DomainError,
    MemberId, VersionChanges,
};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::prelude::*;

use crate::db::with_conn;
use crate::error::Failure;
use crate::rows::{millis, time};
use crate::schema::{business_card_versions, business_cards, members};
use crate::sql::Dialect;
use crate::Store;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = business_cards)]
struct CardRow {
    id: String,
    member_id: i64,
    partner: Option<String>,
    enabled: bool,
    use_photo: bool,
    phone_a: Option<String>,
    phone_b: Option<String>,
    mobile_a: Option<String>,
    mobile_b: Option<String>,
    fax_a: Option<String>,
    fax_b: Option<String>,
    email_b: Option<String>,
    web_b: Option<String>,
    web_c: Option<String>,
    skype_b: Option<String>,
    addr_state: Option<String>,
    thumbnail: Option<String>,
    created_at: i64,
    updated_at: i64,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = business_card_versions)]
struct VersionRow {
    card_id: String,
    lang: String,
    display_name: Option<String>,
    name: Option<String>,
    lastname: Option<String>,
    position: Option<String>,
    keywords: Option<String>,
    enabled: bool,
}

/// The card-wide columns a change sets: `None` is not touched, `Some(None)` is NULL.
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = business_cards)]
struct CardChangeset {
    enabled: Option<bool>,
    use_photo: Option<bool>,
    phone_a: Option<Option<String>>,
    phone_b: Option<Option<String>>,
    mobile_a: Option<Option<String>>,
    mobile_b: Option<Option<String>>,
    fax_a: Option<Option<String>>,
    fax_b: Option<Option<String>>,
    email_b: Option<Option<String>>,
    web_b: Option<Option<String>>,
    web_c: Option<Option<String>>,
    skype_b: Option<Option<String>>,
    addr_state: Option<Option<String>>,
    thumbnail: Option<Option<String>>,
    updated_at: i64,
}

impl CardChangeset {
    fn new(changes: &CardChanges, contact: ContactChanges, at: i64) -> CardChangeset {
        CardChangeset {
            enabled: changes.enabled,
            use_photo: changes.use_photo,
            phone_a: contact.phone_a,
            phone_b: contact.phone_b,
            mobile_a: contact.mobile_a,
            mobile_b: contact.mobile_b,
            fax_a: contact.fax_a,
            fax_b: contact.fax_b,
            email_b: contact.email_b,
            web_b: contact.web_b,
            web_c: contact.web_c,
            skype_b: contact.skype_b,
            addr_state: contact.addr_state,
            thumbnail: changes.thumbnail.clone(),
            updated_at: at,
        }
    }
}

/// A version's columns a change sets: `None` is not touched, `Some(None)` is NULL.
#[derive(Debug, AsChangeset)]
#[diesel(table_name = business_card_versions)]
struct VersionChangeset {
    display_name: Option<Option<String>>,
    name: Option<Option<String>>,
    lastname: Option<Option<String>>,
    position: Option<Option<String>>,
    keywords: Option<Option<String>>,
    enabled: Option<bool>,
}

impl VersionChangeset {
    fn new(v: VersionChanges) -> VersionChangeset {
        VersionChangeset {
            display_name: v.display_name,
            name: v.name,
            lastname: v.lastname,
            position: v.position,
            keywords: v.keywords,
            enabled: v.enabled,
        }
    }

    fn is_empty(&self) -> bool {
        self.display_name.is_none()
            && self.name.is_none()
            && self.lastname.is_none()
            && self.position.is_none()
            && self.keywords.is_none()
            && self.enabled.is_none()
    }

    /// The row of a new version: the given fields, enabled unless said otherwise.
    fn new_row(&self, card_id: &str, lang: &str) -> VersionRow {
        VersionRow {
            card_id: card_id.to_owned(),
            lang: lang.to_owned(),
            display_name: self.display_name.clone().flatten(),
            name: self.name.clone().flatten(),
            lastname: self.lastname.clone().flatten(),
            position: self.position.clone().flatten(),
            keywords: self.keywords.clone().flatten(),
            enabled: self.enabled.unwrap_or(true),
        }
    }
}

fn card_row(card: BusinessCard) -> CardRow {
    let c = card.contact;
    CardRow {
        id: card.id.as_str().to_owned(),
        member_id: card.member.0,
        partner: card.partner,
        enabled: card.enabled,
        use_photo: card.use_photo,
        phone_a: c.phone_a,
        phone_b: c.phone_b,
        mobile_a: c.mobile_a,
        mobile_b: c.mobile_b,
        fax_a: c.fax_a,
        fax_b: c.fax_b,
        email_b: c.email_b,
        web_b: c.web_b,
        web_c: c.web_c,
        skype_b: c.skype_b,
        addr_state: c.addr_state,
        thumbnail: card.thumbnail,
        created_at: millis(card.created_at),
        updated_at: millis(card.updated_at),
    }
}

fn into_card(row: CardRow, versions: Vec<VersionRow>) -> Result<BusinessCard, Failure> {
    let id = BusinessCardId::parse(&row.id)
        .map_err(|_| Failure::Corrupt(format!("business card id {}", row.id)))?;
    Ok(BusinessCard {
        id,
        member: MemberId(row.member_id),
        partner: row.partner,
        enabled: row.enabled,
        use_photo: row.use_photo,
        contact: Contact {
            phone_a: row.phone_a,
            phone_b: row.phone_b,
            mobile_a: row.mobile_a,
            mobile_b: row.mobile_b,
            fax_a: row.fax_a,
            fax_b: row.fax_b,
            email_b: row.email_b,
            web_b: row.web_b,
            web_c: row.web_c,
            skype_b: row.skype_b,
            addr_state: row.addr_state,
        },
        thumbnail: row.thumbnail,
        versions: versions
            .into_iter()
            .map(|v| {
                (
                    v.lang,
                    CardVersion {
                        display_name: v.display_name,
                        name: v.name,
                        lastname: v.lastname,
                        position: v.position,
                        keywords: v.keywords,
                        enabled: v.enabled,
                    },
                )
            })
            .collect::<BTreeMap<_, _>>(),
        created_at: time(row.created_at)?,
        updated_at: time(row.updated_at)?,
    })
}

/// A unique violation on `business_cards.member_id`: the member has a card.
fn member_has_one(e: diesel::result::Error) -> Failure {
    use diesel::result::{DatabaseErrorKind, Error};
    match e {
        Error::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => {
            Failure::Refused(DomainError::BusinessCardExists)
        }
        other => Failure::Db(other),
    }
}

#[async_trait]
impl BusinessCardStore for Store {
    async fn add_business_card(
        &self,
        card: BusinessCard,
        partner_limit: u32,
    ) -> Result<(), DomainError> {
        let row = card_row(card);
        self.blocking(move |db| {
            with_conn!(db, |conn| conn.write_transaction(|conn| {
                let member = members::table
                    .find(row.member_id)
                    .select(members::id)
                    .first::<i64>(conn)
                    .optional()?;
                if member.is_none() {
                    return Err(DomainError::UnknownMember.into());
                }
                if let Some(partner) = &row.partner {
                    // Two creations of one partner count one after the other.
                    conn.lock_partner(partner)?;
                    let count: i64 = business_cards::table
                        .filter(business_cards::partner.eq(partner))
                        .count()
                        .get_result(conn)?;
                    if count >= i64::from(partner_limit) {
                        return Err(DomainError::ProfileLimitReached.into());
                    }
                }
                diesel::insert_into(business_cards::table)
                    .values(&row)
                    .execute(conn)
                    .map_err(member_has_one)?;
                Ok::<_, Failure>(())
            }))
        })
        .await
    }

    async fn business_card(
        &self,
        id: &BusinessCardId,
    ) -> Result<Option<BusinessCard>, DomainError> {
        let id = id.as_str().to_owned();
        self.blocking(move |db| {
            with_conn!(db, |conn| conn.transaction(|conn| {
                let Some(row) = business_cards::table
                    .find(&id)
                    .select(CardRow::as_select())
                    .first(conn)
                    .optional()?
                else {
                    return Ok(None);
                };
                let versions = business_card_versions::table
                    .filter(business_card_versions::card_id.eq(&id))
                    .select(VersionRow::as_select())
                    .load(conn)?;
                into_card(row, versions).map(Some)
            }))
        })
        .await
    }

    async fn change_business_card(
        &self,
        id: &BusinessCardId,
        mut changes: CardChanges,
        at: DateTime<Utc>,
    ) -> Result<bool, DomainError> {
        let id = id.as_str().to_owned();
        let versions = std::mem::take(&mut changes.versions);
        let contact = std::mem::take(&mut changes.contact);
        let card = CardChangeset::new(&changes, contact, millis(at));
        self.blocking(move |db| {
            with_conn!(db, |conn| conn.write_transaction(|conn| {
                let found = diesel::update(business_cards::table.find(&id))
                    .set(&card)
                    .execute(conn)?;
                if found == 0 {
                    return Ok(false);
                }
                for (lang, version) in versions {
                    let set = VersionChangeset::new(version);
                    let insert = diesel::insert_into(business_card_versions::table)
                        .values(set.new_row(&id, &lang))
                        .on_conflict((
                            business_card_versions::card_id,
                            business_card_versions::lang,
                        ));
                    if set.is_empty() {
                        insert.do_nothing().execute(conn)?;
                    } else {
                        insert.do_update().set(&set).execute(conn)?;
                    }
                }
                Ok::<_, Failure>(true)
            }))
        })
        .await
    }

    async fn set_version_enabled(
        &self,
        id: &BusinessCardId,
        lang: &str,
        enabled: bool,
        at: DateTime<Utc>,
    ) -> Result<bool, DomainError> {
        let (id, lang) = (id.as_str().to_owned(), lang.to_owned());
        self.blocking(move |db| {
            with_conn!(db, |conn| conn.write_transaction(|conn| {
                let found = diesel::update(business_card_versions::table.find((&id, &lang)))
                    .set(business_card_versions::enabled.eq(enabled))
                    .execute(conn)?;
                diesel::update(business_cards::table.find(&id))
                    .set(business_cards::updated_at.eq(millis(at)))
                    .execute(conn)?;
                Ok::<_, Failure>(found == 1)
            }))
        })
        .await
    }

    async fn delete_version(
        &self,
        id: &BusinessCardId,
        lang: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, DomainError> {
        let (id, lang) = (id.as_str().to_owned(), lang.to_owned());
        self.blocking(move |db| {
            with_conn!(db, |conn| conn.write_transaction(|conn| {
                let found = diesel::delete(business_card_versions::table.find((&id, &lang)))
                    .execute(conn)?;
                diesel::update(business_cards::table.find(&id))
                    .set(business_cards::updated_at.eq(millis(at)))
                    .execute(conn)?;
                Ok::<_, Failure>(found == 1)
            }))
        })
        .await
    }

    async fn delete_business_card(&self, id: &BusinessCardId) -> Result<bool, DomainError> {
        let id = id.as_str().to_owned();
        self.blocking(move |db| {
            with_conn!(db, |conn| conn.write_transaction(|conn| {
                diesel::delete(
                    business_card_versions::table.filter(business_card_versions::card_id.eq(&id)),
                )
                .execute(conn)?;
                let found = diesel::delete(business_cards::table.find(&id)).execute(conn)?;
                Ok::<_, Failure>(found == 1)
            }))
        })
        .await
    }
}

/// Deletes a member's business card and its versions, if any, on `$conn` (inside the caller's
/// transaction): a member's anonymisation.
macro_rules! delete_members_card {
    ($conn:expr, $member:expr) => {{
        use ::diesel::prelude::*;
        use $crate::schema::{business_card_versions, business_cards};
        let ids = business_cards::table
            .filter(business_cards::member_id.eq($member))
            .select(business_cards::id);
        ::diesel::delete(
            business_card_versions::table.filter(business_card_versions::card_id.eq_any(ids)),
        )
        .execute($conn)?;
        ::diesel::delete(business_cards::table.filter(business_cards::member_id.eq($member)))
            .execute($conn)?;
    }};
}
pub(crate) use delete_members_card;
