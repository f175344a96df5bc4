//! OAuth2 partners and their access tokens, with the semantics of `ardoise_auth::memory`.
//!
//! None of this goes through the money writer: these are small single-statement writes on
//! the pool (tokio's blocking threads). Spending one request of a token (`rpt`) is one guarded
//! `UPDATE … WHERE … rpt_left > 0`, never a read-modify-write, so concurrent requests on a
//! token with one request left let exactly one through.

use ardoise_domain::ports::{AccessToken, AccessTokenStore, Partner, PartnerDirectory, TokenOwner};
use ardoise_domain::{DomainError, Login, Money};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError, QueryResult};
use diesel::sqlite::SqliteConnection;

use crate::db::with_conn;
use crate::error::Failure;
use crate::rows::{millis, time};
use crate::schema::{access_tokens, partners};
use crate::sql::Dialect;
use crate::Store;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = partners)]
struct PartnerRow {
    client_id: String,
    name: String,
    secret_hash: String,
    scopes: String,
    allow_basic: bool,
    active: bool,
    credit_cap_operation_cents: i64,
    credit_cap_day_cents: i64,
    created_at: i64,
}

impl PartnerRow {
    fn from_partner(p: &Partner) -> PartnerRow {
        PartnerRow {
            client_id: p.client_id.clone(),
            name: p.name.clone(),
            secret_hash: p.secret_hash.clone(),
            scopes: p.scopes.join(" "),
            allow_basic: p.allow_basic,
            active: p.active,
            credit_cap_operation_cents: p.credit_cap_operation.cents(),
            credit_cap_day_cents: p.credit_cap_day.cents(),
            created_at: millis(p.created_at),
        }
    }

    fn into_partner(self) -> Result<Partner, Failure> {
        Ok(Partner {
            client_id: self.client_id,
            name: self.name,
            secret_hash: self.secret_hash,
            scopes: split_scopes(&self.scopes),
            allow_basic: self.allow_basic,
            active: self.active,
            credit_cap_operation: Money::from_cents(self.credit_cap_operation_cents),
            credit_cap_day: Money::from_cents(self.credit_cap_day_cents),
            created_at: time(self.created_at)?,
        })
    }
}

/// The columns in table order: `RETURNING access_tokens.*` reads into it by position.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = access_tokens)]
struct TokenRow {
    token_hash: String,
    client_id: Option<String>,
    login: Option<String>,
    scopes: String,
    issued_at: i64,
    expires_at: i64,
    rpt_left: Option<i64>,
    revoked: bool,
}

impl TokenRow {
    fn from_token(t: &AccessToken) -> TokenRow {
        let (client_id, login) = match &t.owner {
            TokenOwner::Partner(id) => (Some(id.clone()), None),
            TokenOwner::Staff(login) => (None, Some(login.to_string())),
        };
        TokenRow {
            token_hash: t.token_hash.clone(),
            client_id,
            login,
            scopes: t.scopes.join(" "),
            issued_at: millis(t.issued_at),
            expires_at: millis(t.expires_at),
            rpt_left: t.rpt_left.map(i64::from),
            revoked: t.revoked,
        }
    }

    fn into_token(self) -> Result<AccessToken, Failure> {
        let owner = match (self.client_id, self.login) {
            (Some(id), None) => TokenOwner::Partner(id),
            (None, Some(login)) => TokenOwner::Staff(
                Login::parse(&login).map_err(|e| Failure::Corrupt(e.to_string()))?,
            ),
            _ => return Err(Failure::Corrupt("an access token's owner".into())),
        };
        Ok(AccessToken {
            token_hash: self.token_hash,
            owner,
            scopes: split_scopes(&self.scopes),
            issued_at: time(self.issued_at)?,
            expires_at: time(self.expires_at)?,
            rpt_left: self
                .rpt_left
                .map(|n| u32::try_from(n).map_err(|_| Failure::Corrupt(format!("rpt_left {n}"))))
                .transpose()?,
            revoked: self.revoked,
        })
    }
}

fn split_scopes(text: &str) -> Vec<String> {
    text.split_ascii_whitespace().map(str::to_owned).collect()
}

/// The statements of this file, identical on both backends.
trait PartnerSql: Dialect + Sized {
    fn find_partner(&mut self, client_id: &str) -> QueryResult<Option<PartnerRow>>;
    fn all_partners(&mut self) -> QueryResult<Vec<PartnerRow>>;
    fn insert_partner(&mut self, row: &PartnerRow) -> QueryResult<()>;
    fn deactivate_partner(&mut self, client_id: &str) -> QueryResult<usize>;
    fn set_secret_hash(&mut self, client_id: &str, hash: &str) -> QueryResult<usize>;
    fn update_settings(&mut self, row: &PartnerRow) -> QueryResult<usize>;
    fn revoke_tokens_of(&mut self, client_id: &str) -> QueryResult<usize>;
    fn insert_token(&mut self, row: &TokenRow) -> QueryResult<()>;
    fn find_token(&mut self, token_hash: &str) -> QueryResult<Option<TokenRow>>;
    /// The guarded decrement: one statement that spends a request only if the token is usable
    /// at `now_ms`; the token after it, or `None`.
    fn spend_request(&mut self, token_hash: &str, now_ms: i64) -> QueryResult<Option<TokenRow>>;
    fn revoke_token(&mut self, token_hash: &str) -> QueryResult<usize>;
    fn purge_tokens(&mut self, before_ms: i64) -> QueryResult<usize>;
}

macro_rules! impl_partner_sql {
    ($conn:ty) => {
        impl PartnerSql for $conn {
            fn find_partner(&mut self, client_id: &str) -> QueryResult<Option<PartnerRow>> {
                partners::table
                    .find(client_id)
                    .select(PartnerRow::as_select())
                    .get_result(self)
                    .optional()
            }

            fn all_partners(&mut self) -> QueryResult<Vec<PartnerRow>> {
                partners::table
                    .order(partners::client_id)
                    .select(PartnerRow::as_select())
                    .load(self)
            }

            fn insert_partner(&mut self, row: &PartnerRow) -> QueryResult<()> {
                diesel::insert_into(partners::table)
                    .values(row)
                    .execute(self)
                    .map(|_| ())
            }

            fn deactivate_partner(&mut self, client_id: &str) -> QueryResult<usize> {
                diesel::update(partners::table.find(client_id))
                    .set(partners::active.eq(false))
                    .execute(self)
            }

            fn set_secret_hash(&mut self, client_id: &str, hash: &str) -> QueryResult<usize> {
                diesel::update(partners::table.find(client_id))
                    .set(partners::secret_hash.eq(hash))
                    .execute(self)
            }

            fn update_settings(&mut self, row: &PartnerRow) -> QueryResult<usize> {
                diesel::update(partners::table.find(&row.client_id))
                    .set((
                        partners::name.eq(&row.name),
                        partners::scopes.eq(&row.scopes),
                        partners::allow_basic.eq(row.allow_basic),
                        partners::active.eq(row.active),
                        partners::credit_cap_operation_cents.eq(row.credit_cap_operation_cents),
                        partners::credit_cap_day_cents.eq(row.credit_cap_day_cents),
                    ))
                    .execute(self)
            }

            fn revoke_tokens_of(&mut self, client_id: &str) -> QueryResult<usize> {
                diesel::update(
                    access_tokens::table
                        .filter(access_tokens::client_id.eq(client_id))
                        .filter(access_tokens::revoked.eq(false)),
                )
                .set(access_tokens::revoked.eq(true))
                .execute(self)
            }

            fn insert_token(&mut self, row: &TokenRow) -> QueryResult<()> {
                diesel::insert_into(access_tokens::table)
                    .values(row)
                    .execute(self)
                    .map(|_| ())
            }

            fn find_token(&mut self, token_hash: &str) -> QueryResult<Option<TokenRow>> {
                access_tokens::table
                    .find(token_hash)
                    .select(TokenRow::as_select())
                    .get_result(self)
                    .optional()
            }

            fn spend_request(
                &mut self,
                token_hash: &str,
                now_ms: i64,
            ) -> QueryResult<Option<TokenRow>> {
                use access_tokens::dsl as t;
                // NULL - 1 stays NULL: a token without rpt is limited by time alone.
                diesel::update(
                    t::access_tokens
                        .find(token_hash)
                        .filter(t::revoked.eq(false))
                        .filter(t::expires_at.gt(now_ms))
                        .filter(t::rpt_left.is_null().or(t::rpt_left.gt(0))),
                )
                .set(t::rpt_left.eq(t::rpt_left - 1))
                .returning(access_tokens::all_columns)
                .get_result(self)
                .optional()
            }

            fn revoke_token(&mut self, token_hash: &str) -> QueryResult<usize> {
                diesel::update(access_tokens::table.find(token_hash))
                    .set(access_tokens::revoked.eq(true))
                    .execute(self)
            }

            fn purge_tokens(&mut self, before_ms: i64) -> QueryResult<usize> {
                diesel::delete(access_tokens::table.filter(access_tokens::expires_at.le(before_ms)))
                    .execute(self)
            }
        }
    };
}

impl_partner_sql!(SqliteConnection);
impl_partner_sql!(PgConnection);

/// Runs `change` on an existing partner together with the revocation of its tokens, in one
/// transaction; whether the partner exists.
fn change_and_revoke<C: PartnerSql>(
    conn: &mut C,
    client_id: &str,
    change: impl FnOnce(&mut C) -> QueryResult<usize>,
) -> Result<bool, Failure> {
    conn.write_transaction(|conn| {
        if change(conn)? == 0 {
            return Ok(false);
        }
        conn.revoke_tokens_of(client_id)?;
        Ok(true)
    })
}

#[async_trait]
impl PartnerDirectory for Store {
    async fn partner(&self, client_id: &str) -> Result<Option<Partner>, DomainError> {
        let client_id = client_id.to_owned();
        self.blocking(move |db| {
            with_conn!(db, |conn| conn
                .find_partner(&client_id)?
                .map(PartnerRow::into_partner)
                .transpose())
        })
        .await
    }

    async fn partners(&self) -> Result<Vec<Partner>, DomainError> {
        self.blocking(|db| {
            with_conn!(db, |conn| conn
                .all_partners()?
                .into_iter()
                .map(PartnerRow::into_partner)
                .collect())
        })
        .await
    }

    async fn add_partner(&self, partner: Partner) -> Result<(), DomainError> {
        let row = PartnerRow::from_partner(&partner);
        self.blocking(move |db| {
            with_conn!(db, |conn| conn.insert_partner(&row).map_err(|e| match e {
                DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => {
                    Failure::Refused(DomainError::malformed("this client id is taken"))
                }
                other => Failure::Db(other),
            }))
        })
        .await
    }

    async fn disable_partner(&self, client_id: &str) -> Result<bool, DomainError> {
        let client_id = client_id.to_owned();
        self.blocking(move |db| {
            with_conn!(db, |conn| change_and_revoke(conn, &client_id, |c| c
                .deactivate_partner(&client_id)))
        })
        .await
    }

    async fn update_partner(
        &self,
        partner: Partner,
        revoke_tokens: bool,
    ) -> Result<bool, DomainError> {
        let row = PartnerRow::from_partner(&partner);
        self.blocking(move |db| {
            with_conn!(db, |conn| conn.write_transaction(|conn| {
                if conn.update_settings(&row)? == 0 {
                    return Ok(false);
                }
                if revoke_tokens {
                    conn.revoke_tokens_of(&row.client_id)?;
                }
                Ok::<_, Failure>(true)
            }))
        })
        .await
    }

    async fn set_partner_secret(&self, client_id: &str, hash: String) -> Result<bool, DomainError> {
        let client_id = client_id.to_owned();
        self.blocking(move |db| {
            with_conn!(db, |conn| change_and_revoke(conn, &client_id, |c| c
                .set_secret_hash(&client_id, &hash)))
        })
        .await
    }
}

#[async_trait]
impl AccessTokenStore for Store {
    async fn insert_token(&self, token: AccessToken) -> Result<(), DomainError> {
        let row = TokenRow::from_token(&token);
        self.blocking(move |db| {
            with_conn!(db, |conn| conn.insert_token(&row).map_err(|e| match e {
                DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => {
                    Failure::Refused(DomainError::Internal("duplicate access token".into()))
                }
                other => Failure::Db(other),
            }))
        })
        .await
    }

    async fn token(&self, token_hash: &str) -> Result<Option<AccessToken>, DomainError> {
        let token_hash = token_hash.to_owned();
        self.blocking(move |db| {
            with_conn!(db, |conn| conn
                .find_token(&token_hash)?
                .map(TokenRow::into_token)
                .transpose())
        })
        .await
    }

    async fn use_token(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<AccessToken>, DomainError> {
        let token_hash = token_hash.to_owned();
        let now_ms = millis(now);
        self.blocking(move |db| {
            with_conn!(db, |conn| {
                let Some(row) = conn.find_token(&token_hash)? else {
                    return Ok(None);
                };
                if row.rpt_left.is_none() {
                    // Limited by time alone (that never changes for a token): a read decides,
                    // and the common request writes nothing.
                    let usable = !row.revoked && row.expires_at > now_ms;
                    return if usable {
                        row.into_token().map(Some)
                    } else {
                        Ok(None)
                    };
                }
                conn.spend_request(&token_hash, now_ms)?
                    .map(TokenRow::into_token)
                    .transpose()
            })
        })
        .await
    }

    async fn revoke_token(&self, token_hash: &str) -> Result<bool, DomainError> {
        let token_hash = token_hash.to_owned();
        self.blocking(move |db| with_conn!(db, |conn| Ok(conn.revoke_token(&token_hash)? > 0)))
            .await
    }

    async fn purge_tokens(&self, before: DateTime<Utc>) -> Result<u64, DomainError> {
        let before_ms = millis(before);
        self.blocking(move |db| with_conn!(db, |conn| Ok(conn.purge_tokens(before_ms)? as u64)))
            .await
    }
}
