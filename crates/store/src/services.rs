//! Vouchers, mandates and partner debits (services.md) on both backends.
//!
//! The money side goes through the writer like every movement: a movement carrying a
//! [`ServiceRecord`] is checked and recorded by [`check_record`] and [`write_record`] under its
//! own savepoint (see `ledger.rs`), so a coupon's `issued → used` update, a debit's mandate
//! and daily cap, and a refund's `refunded_at` are one atomic step with the ledger row. The
//! rest (issuing vouchers, tickets, granting and revoking mandates, reads) are plain
//! statements here.

use ardoise_domain::mandate::{Debit, Mandate, MandateBook, NewMandate};
use ardoise_domain::ports::{DebitRecord, Movement, Receipt, ServiceRecord};
use ardoise_domain::service::ServiceTokenStore;
use ardoise_domain::voucher::{
    already_used, Voucher, VoucherBook, VoucherCode, VoucherKind, VoucherTotals, VoucherUse,
};
use ardoise_domain::{CapPeriod, CardId, DomainError, MemberId, Money, TransactionId};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::result::QueryResult;
use diesel::sqlite::SqliteConnection;

use crate::db::with_conn;
use crate::error::Failure;
use crate::rows::{millis, time};
use crate::schema::{debits, mandates, members, partner_services, partners, vouchers};
use crate::sql::Dialect;
use crate::Store;

/// A voucher, as stored.
#[derive(Debug, Clone, Insertable, Queryable, Selectable)]
#[diesel(table_name = vouchers)]
pub(crate) struct VoucherRow {
    pub code: String,
    pub kind: String,
    pub value_cents: Option<i64>,
    pub product: Option<String>,
    pub label: Option<String>,
    pub valid_until: Option<i64>,
    pub state: String,
    pub issued_by: String,
    pub issued_at: i64,
    pub used_at: Option<i64>,
    pub used_by: Option<String>,
    pub used_card: Option<String>,
    pub transaction_id: Option<i64>,
}

fn corrupt(what: impl std::fmt::Display) -> Failure {
    Failure::Corrupt(what.to_string())
}

fn card(text: &str) -> Result<CardId, Failure> {
    CardId::parse(text).map_err(corrupt)
}

impl VoucherRow {
    fn new(v: &Voucher) -> VoucherRow {
        VoucherRow {
            code: v.code.as_str().to_owned(),
            kind: v.kind.as_str().to_owned(),
            value_cents: v.value.map(Money::cents),
            product: v.product.clone(),
            label: v.label.clone(),
            valid_until: v.valid_until.map(millis),
            state: "issued".to_owned(),
            issued_by: v.issued_by.clone(),
            issued_at: millis(v.issued_at),
            used_at: None,
            used_by: None,
            used_card: None,
            transaction_id: None,
        }
    }

    fn into_voucher(self) -> Result<Voucher, Failure> {
        let used = match (self.used_at, self.used_by) {
            (Some(at), Some(by)) => Some(VoucherUse {
                at: time(at)?,
                by,
                card: self.used_card.as_deref().map(card).transpose()?,
                transaction: self.transaction_id.map(TransactionId),
            }),
            _ => None,
        };
        Ok(Voucher {
            code: VoucherCode::parse(&self.code).map_err(corrupt)?,
            kind: VoucherKind::parse(&self.kind)
                .ok_or_else(|| corrupt(format!("voucher kind {}", self.kind)))?,
            value: self.value_cents.map(Money::from_cents),
            product: self.product,
            label: self.label,
            valid_until: self.valid_until.map(time).transpose()?,
            issued_by: self.issued_by,
            issued_at: time(self.issued_at)?,
            used,
        })
    }
}

/// A mandate, as stored.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = mandates)]
pub(crate) struct MandateRow {
    pub id: i64,
    pub member_id: i64,
    pub partner: String,
    pub cap_operation_cents: i64,
    pub cap_day_cents: i64,
    pub valid_until: Option<i64>,
    pub granted_by: String,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
}

impl MandateRow {
    fn into_mandate(self) -> Result<Mandate, Failure> {
        Ok(Mandate {
            id: self.id,
            member: MemberId(self.member_id),
            partner: self.partner,
            cap_operation: Money::from_cents(self.cap_operation_cents),
            cap_day: Money::from_cents(self.cap_day_cents),
            valid_until: self.valid_until.map(time).transpose()?,
            granted_by: self.granted_by,
            created_at: time(self.created_at)?,
            revoked_at: self.revoked_at.map(time).transpose()?,
        })
    }

    fn live_at(&self, at_ms: i64) -> bool {
        self.revoked_at.is_none() && self.valid_until.is_none_or(|until| until > at_ms)
    }
}

/// A partner's debit, as stored.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = debits)]
pub(crate) struct DebitRow {
    pub id: i64,
    pub partner: String,
    pub mandate_id: i64,
    pub reference: String,
    pub transaction_id: i64,
    pub card_id: String,
    pub amount_cents: i64,
    pub balance_after_cents: i64,
    pub created_at: i64,
    pub refunded_at: Option<i64>,
}

impl DebitRow {
    fn into_debit(self) -> Result<Debit, Failure> {
        Ok(Debit {
            id: self.id,
            partner: self.partner,
            mandate: self.mandate_id,
            reference: self.reference,
            transaction: TransactionId(self.transaction_id),
            card: card(&self.card_id)?,
            amount: Money::from_cents(self.amount_cents),
            balance_after: Money::from_cents(self.balance_after_cents),
            created_at: time(self.created_at)?,
            refunded_at: self.refunded_at.map(time).transpose()?,
        })
    }
}

/// (kind, value in cents, state, valid_until) of a voucher, for the reports' figures.
type VoucherFigure = (String, Option<i64>, String, Option<i64>);

/// The statements of the services, identical on both backends but for the mandate's lock.
pub(crate) trait ServiceSql: Dialect + MandateLock + Sized {
    fn insert_vouchers(&mut self, rows: &[VoucherRow]) -> QueryResult<()>;
    fn find_voucher(&mut self, code: &str) -> QueryResult<Option<VoucherRow>>;
    /// Marks a voucher used if it is still issued and not expired at `at_ms`; whether it was.
    fn use_voucher(
        &mut self,
        code: &str,
        at_ms: i64,
        by: &str,
        card: Option<&str>,
    ) -> QueryResult<bool>;
    fn set_voucher_transaction(&mut self, code: &str, transaction: i64) -> QueryResult<()>;
    /// (kind, value, state, valid_until) of every voucher.
    fn voucher_figures(&mut self) -> QueryResult<Vec<VoucherFigure>>;
    fn member_exists(&mut self, member: i64) -> QueryResult<bool>;
    fn insert_mandate(&mut self, m: &NewMandate) -> QueryResult<MandateRow>;
    fn find_mandate(&mut self, id: i64) -> QueryResult<Option<MandateRow>>;
    fn member_mandates(&mut self, member: i64) -> QueryResult<Vec<MandateRow>>;
    fn revoke_mandate(&mut self, id: i64, by: &str, at_ms: i64) -> QueryResult<bool>;
    /// The amounts debited under a mandate from `since_ms` on, refunded ones aside.
    fn debited_since(&mut self, mandate: i64, since_ms: i64) -> QueryResult<Vec<i64>>;
    #[allow(clippy::too_many_arguments)]
    fn insert_debit(
        &mut self,
        partner: &str,
        mandate: i64,
        reference: &str,
        transaction: i64,
        card: &str,
        amount: i64,
        balance_after: i64,
        at_ms: i64,
    ) -> QueryResult<()>;
    fn find_debit(&mut self, id: i64) -> QueryResult<Option<DebitRow>>;
    fn debit_by_transaction(&mut self, transaction: i64) -> QueryResult<Option<DebitRow>>;
    /// Marks a debit refunded if it is not yet; whether it was.
    fn mark_refunded(&mut self, id: i64, at_ms: i64) -> QueryResult<bool>;
}

/// The one statement that differs between the backends.
pub(crate) trait MandateLock {
    /// The mandate, locked until the end of the transaction (PostgreSQL; the write
    /// transaction on SQLite), so that two debits under it check its daily cap in turn and a
    /// revocation waits for the debits under way.
    fn lock_mandate(&mut self, id: i64) -> QueryResult<Option<MandateRow>>;
}

impl MandateLock for SqliteConnection {
    fn lock_mandate(&mut self, id: i64) -> QueryResult<Option<MandateRow>> {
        // The write transaction (BEGIN IMMEDIATE) already excludes every other writer.
        self.find_mandate(id)
    }
}

impl MandateLock for PgConnection {
    fn lock_mandate(&mut self, id: i64) -> QueryResult<Option<MandateRow>> {
        mandates::table
            .find(id)
            .select(MandateRow::as_select())
            .for_update()
            .get_result(self)
            .optional()
    }
}

macro_rules! impl_service_sql {
    ($conn:ty) => {
        impl ServiceSql for $conn {
            fn insert_vouchers(&mut self, rows: &[VoucherRow]) -> QueryResult<()> {
                // In chunks: SQLite limits the variables of one statement.
                for chunk in rows.chunks(50) {
                    diesel::insert_into(vouchers::table)
                        .values(chunk)
                        .execute(self)?;
                }
                Ok(())
            }

            fn find_voucher(&mut self, code: &str) -> QueryResult<Option<VoucherRow>> {
                vouchers::table
                    .find(code)
                    .select(VoucherRow::as_select())
                    .get_result(self)
                    .optional()
            }

            fn use_voucher(
                &mut self,
                code: &str,
                at_ms: i64,
                by: &str,
                card: Option<&str>,
            ) -> QueryResult<bool> {
                let changed = diesel::update(
                    vouchers::table
                        .find(code)
                        .filter(vouchers::state.eq("issued"))
                        .filter(
                            vouchers::valid_until
                                .is_null()
                                .or(vouchers::valid_until.gt(at_ms)),
                        ),
                )
                .set((
                    vouchers::state.eq("used"),
                    vouchers::used_at.eq(at_ms),
                    vouchers::used_by.eq(by),
                    vouchers::used_card.eq(card),
                ))
                .execute(self)?;
                Ok(changed == 1)
            }

            fn set_voucher_transaction(&mut self, code: &str, transaction: i64) -> QueryResult<()> {
                diesel::update(vouchers::table.find(code))
                    .set(vouchers::transaction_id.eq(transaction))
                    .execute(self)
                    .map(|_| ())
            }

            fn voucher_figures(&mut self) -> QueryResult<Vec<VoucherFigure>> {
                vouchers::table
                    .select((
                        vouchers::kind,
                        vouchers::value_cents,
                        vouchers::state,
                        vouchers::valid_until,
                    ))
                    .load(self)
            }

            fn member_exists(&mut self, member: i64) -> QueryResult<bool> {
                diesel::select(diesel::dsl::exists(
                    members::table.find(member).select(members::id),
                ))
                .get_result(self)
            }

            fn insert_mandate(&mut self, m: &NewMandate) -> QueryResult<MandateRow> {
                diesel::insert_into(mandates::table)
                    .values((
                        mandates::member_id.eq(m.member.0),
                        mandates::partner.eq(&m.partner),
                        mandates::cap_operation_cents.eq(m.cap_operation.cents()),
                        mandates::cap_day_cents.eq(m.cap_day.cents()),
                        mandates::valid_until.eq(m.valid_until.map(millis)),
                        mandates::granted_by.eq(&m.granted_by),
                        mandates::created_at.eq(millis(m.created_at)),
                    ))
                    .returning(MandateRow::as_returning())
                    .get_result(self)
            }

            fn find_mandate(&mut self, id: i64) -> QueryResult<Option<MandateRow>> {
                mandates::table
                    .find(id)
                    .select(MandateRow::as_select())
                    .get_result(self)
                    .optional()
            }

            fn member_mandates(&mut self, member: i64) -> QueryResult<Vec<MandateRow>> {
                mandates::table
                    .filter(mandates::member_id.eq(member))
                    .order(mandates::id.desc())
                    .select(MandateRow::as_select())
                    .load(self)
            }

            fn revoke_mandate(&mut self, id: i64, by: &str, at_ms: i64) -> QueryResult<bool> {
                let changed = diesel::update(
                    mandates::table
                        .find(id)
                        .filter(mandates::revoked_at.is_null()),
                )
                .set((mandates::revoked_at.eq(at_ms), mandates::revoked_by.eq(by)))
                .execute(self)?;
                Ok(changed == 1)
            }

            fn debited_since(&mut self, mandate: i64, since_ms: i64) -> QueryResult<Vec<i64>> {
                debits::table
                    .filter(debits::mandate_id.eq(mandate))
                    .filter(debits::created_at.ge(since_ms))
                    .filter(debits::refunded_at.is_null())
                    .select(debits::amount_cents)
                    .load(self)
            }

            fn insert_debit(
                &mut self,
                partner: &str,
                mandate: i64,
                reference: &str,
                transaction: i64,
                card: &str,
                amount: i64,
                balance_after: i64,
                at_ms: i64,
            ) -> QueryResult<()> {
                diesel::insert_into(debits::table)
                    .values((
                        debits::partner.eq(partner),
                        debits::mandate_id.eq(mandate),
                        debits::reference.eq(reference),
                        debits::transaction_id.eq(transaction),
                        debits::card_id.eq(card),
                        debits::amount_cents.eq(amount),
                        debits::balance_after_cents.eq(balance_after),
                        debits::created_at.eq(at_ms),
                    ))
                    .execute(self)
                    .map(|_| ())
            }

            fn find_debit(&mut self, id: i64) -> QueryResult<Option<DebitRow>> {
                debits::table
                    .find(id)
                    .select(DebitRow::as_select())
                    .get_result(self)
                    .optional()
            }

            fn debit_by_transaction(&mut self, transaction: i64) -> QueryResult<Option<DebitRow>> {
                debits::table
                    .filter(debits::transaction_id.eq(transaction))
                    .select(DebitRow::as_select())
                    .get_result(self)
                    .optional()
            }

            fn mark_refunded(&mut self, id: i64, at_ms: i64) -> QueryResult<bool> {
                let changed =
                    diesel::update(debits::table.find(id).filter(debits::refunded_at.is_null()))
                        .set(debits::refunded_at.eq(at_ms))
                        .execute(self)?;
                Ok(changed == 1)
            }
        }
    };
}

impl_service_sql!(SqliteConnection);
impl_service_sql!(PgConnection);

/// Why voucher `code` could not be used at `at_ms`: used before (when, by whom), expired,
/// or unknown.
fn unusable<C: ServiceSql>(conn: &mut C, code: &str) -> Result<Failure, Failure> {
    Ok(match conn.find_voucher(code)? {
        None => DomainError::UnknownVoucher.into(),
        Some(row) => match row.into_voucher()?.used {
            Some(used) => already_used(&used).into(),
            None => DomainError::VoucherExpired.into(),
        },
    })
}

/// The checks of a movement's service record that come before its ledger write: the
/// voucher's guarded `issued → used` update, the mandate's lock, liveness and daily cap, the
/// debit's guarded `refunded_at`. Runs under the movement's savepoint.
pub(crate) fn check_record<C: ServiceSql>(
    conn: &mut C,
    m: &Movement,
    record: &ServiceRecord,
) -> Result<(), Failure> {
    let at = millis(m.at);
    match record {
        ServiceRecord::Voucher { code } => {
            if !conn.use_voucher(code, at, &m.author, Some(m.card.as_str()))? {
                return Err(unusable(conn, code)?);
            }
        }
        ServiceRecord::Debit(debit) => check_debit(conn, m, debit)?,
        ServiceRecord::Refund { debit } => {
            if !conn.mark_refunded(*debit, at)? {
                return Err(match conn.find_debit(*debit)? {
                    Some(_) => DomainError::AlreadyRefunded.into(),
                    None => DomainError::UnknownDebit.into(),
                });
            }
        }
    }
    Ok(())
}

fn check_debit<C: ServiceSql>(
    conn: &mut C,
    m: &Movement,
    debit: &DebitRecord,
) -> Result<(), Failure> {
    let mandate = conn
        .lock_mandate(debit.mandate)?
        .filter(|row| row.live_at(millis(m.at)))
        .ok_or(DomainError::MandateRequired)?;
    let amount = match &m.action {
        ardoise_domain::ports::Action::Post { amount, .. } => amount.cents(),
        _ => {
            return Err(Failure::Lost(
                "a debit record on a movement that is no post".into(),
            ))
        }
    };
    let mut today: i64 = 0;
    for cents in conn.debited_since(mandate.id, millis(debit.day_start))? {
        today = today.saturating_add(cents);
    }
    if today.saturating_add(amount) > debit.cap_day.cents() {
        return Err(DomainError::CapExceeded {
            remaining: Money::from_cents((debit.cap_day.cents() - today).max(0)),
            period: CapPeriod::Day,
        }
        .into());
    }
    Ok(())
}

/// What a movement's service record writes after its ledger write: the coupon's transaction,
/// the debit's row.
pub(crate) fn write_record<C: ServiceSql>(
    conn: &mut C,
    m: &Movement,
    record: &ServiceRecord,
    receipt: &Receipt,
) -> Result<(), Failure> {
    match record {
        ServiceRecord::Voucher { code } => {
            conn.set_voucher_transaction(code, receipt.transaction.0)?;
        }
        ServiceRecord::Debit(debit) => conn.insert_debit(
            &debit.partner,
            debit.mandate,
            &debit.reference,
            receipt.transaction.0,
            receipt.card.as_str(),
            receipt.amount.cents(),
            receipt.balance_after.cents(),
            millis(m.at),
        )?,
        ServiceRecord::Refund { .. } => {}
    }
    Ok(())
}

#[async_trait]
impl VoucherBook for Store {
    async fn add_vouchers(&self, vouchers: Vec<Voucher>) -> Result<(), DomainError> {
        let rows: Vec<VoucherRow> = vouchers.iter().map(VoucherRow::new).collect();
        self.blocking(move |db| {
            with_conn!(db, |conn| conn.write_transaction(|conn| conn
                .insert_vouchers(&rows)
                .map_err(Failure::from)))
        })
        .await
    }

    async fn voucher(&self, code: &VoucherCode) -> Result<Option<Voucher>, DomainError> {
        let code = code.as_str().to_owned();
        self.blocking(move |db| {
            with_conn!(db, |conn| conn
                .find_voucher(&code)?
                .map(VoucherRow::into_voucher)
                .transpose())
        })
        .await
    }

    async fn use_ticket(
        &self,
        code: &VoucherCode,
        by: String,
        card: Option<CardId>,
        at: DateTime<Utc>,
    ) -> Result<(), DomainError> {
        let code = code.as_str().to_owned();
        self.blocking(move |db| {
            with_conn!(db, |conn| conn.write_transaction(|conn| {
                let card = card.as_ref().map(CardId::as_str);
                if conn.use_voucher(&code, millis(at), &by, card)? {
                    Ok(())
                } else {
                    Err(unusable(conn, &code)?)
                }
            }))
        })
        .await
    }

    async fn voucher_totals(&self, now: DateTime<Utc>) -> Result<VoucherTotals, DomainError> {
        let now = millis(now);
        self.blocking(move |db| {
            with_conn!(db, |conn| {
                let mut t = VoucherTotals::default();
                let add =
                    |sum: &mut Money, cents: i64| *sum = Money::from_cents(sum.cents() + cents);
                for (kind, value, state, until) in conn.voucher_figures()? {
                    let used = state == "used";
                    let expired = !used && until.is_some_and(|u| u <= now);
                    match (kind.as_str(), value) {
                        ("coupon", Some(cents)) => {
                            t.coupons_issued += 1;
                            add(&mut t.coupons_issued_value, cents);
                            if used {
                                t.coupons_redeemed += 1;
                                add(&mut t.coupons_redeemed_value, cents);
                            } else if !expired {
                                t.coupons_outstanding += 1;
                                add(&mut t.coupons_outstanding_value, cents);
                            }
                        }
                        ("coupon", None) => {
                            t.product_coupons_issued += 1;
                            t.product_coupons_redeemed += i64::from(used);
                        }
                        _ => {
                            t.tickets_issued += 1;
                            t.tickets_used += i64::from(used);
                        }
                    }
                }
                Ok::<_, Failure>(t)
            })
        })
        .await
    }
}

#[async_trait]
impl MandateBook for Store {
    async fn add_mandate(&self, mandate: NewMandate) -> Result<Mandate, DomainError> {
        self.blocking(move |db| {
            with_conn!(db, |conn| conn.write_transaction(|conn| {
                if !conn.member_exists(mandate.member.0)? {
                    return Err(DomainError::UnknownMember.into());
                }
                conn.insert_mandate(&mandate)?.into_mandate()
            }))
        })
        .await
    }

    async fn mandates_of(&self, member: MemberId) -> Result<Vec<Mandate>, DomainError> {
        self.blocking(move |db| {
            with_conn!(db, |conn| {
                if !conn.member_exists(member.0)? {
                    return Err(DomainError::UnknownMember.into());
                }
                conn.member_mandates(member.0)?
                    .into_iter()
                    .map(MandateRow::into_mandate)
                    .collect()
            })
        })
        .await
    }

    async fn mandate(&self, id: i64) -> Result<Option<Mandate>, DomainError> {
        self.blocking(move |db| {
            with_conn!(db, |conn| conn
                .find_mandate(id)?
                .map(MandateRow::into_mandate)
                .transpose())
        })
        .await
    }

    async fn live_mandate(
        &self,
        member: MemberId,
        partner: &str,
        at: DateTime<Utc>,
    ) -> Result<Option<Mandate>, DomainError> {
        let partner = partner.to_owned();
        let at = millis(at);
        self.blocking(move |db| {
            with_conn!(db, |conn| conn
                .member_mandates(member.0)?
                .into_iter()
                .find(|row| row.partner == partner && row.live_at(at))
                .map(MandateRow::into_mandate)
                .transpose())
        })
        .await
    }

    async fn revoke_mandate(
        &self,
        id: i64,
        by: String,
        at: DateTime<Utc>,
    ) -> Result<bool, DomainError> {
        self.blocking(move |db| {
            with_conn!(db, |conn| conn.write_transaction(|conn| conn
                .revoke_mandate(id, &by, millis(at))
                .map_err(Failure::from)))
        })
        .await
    }

    async fn debit(&self, id: i64) -> Result<Option<Debit>, DomainError> {
        self.blocking(move |db| {
            with_conn!(db, |conn| conn
                .find_debit(id)?
                .map(DebitRow::into_debit)
                .transpose())
        })
        .await
    }

    async fn debit_by_transaction(
        &self,
        transaction: TransactionId,
    ) -> Result<Option<Debit>, DomainError> {
        self.blocking(move |db| {
            with_conn!(db, |conn| conn
                .debit_by_transaction(transaction.0)?
                .map(DebitRow::into_debit)
                .transpose())
        })
        .await
    }
}

#[async_trait]
impl ServiceTokenStore for Store {
    async fn set_service_token(
        &self,
        partner: &str,
        service: i16,
        token_hash: String,
        at: DateTime<Utc>,
    ) -> Result<(), DomainError> {
        let partner = partner.to_owned();
        self.blocking(move |db| {
            with_conn!(db, |conn| conn.write_transaction(|conn| {
                let known: bool = diesel::select(diesel::dsl::exists(
                    partners::table.find(&partner).select(partners::client_id),
                ))
                .get_result(conn)?;
                if !known {
                    return Err(DomainError::UnknownPartner.into());
                }
                diesel::insert_into(partner_services::table)
                    .values((
                        partner_services::partner.eq(&partner),
                        partner_services::service_id.eq(service),
                        partner_services::token_hash.eq(&token_hash),
                        partner_services::created_at.eq(millis(at)),
                    ))
                    .on_conflict((partner_services::partner, partner_services::service_id))
                    .do_update()
                    .set((
                        partner_services::token_hash.eq(&token_hash),
                        partner_services::created_at.eq(millis(at)),
                    ))
                    .execute(conn)?;
                Ok::<_, Failure>(())
            }))
        })
        .await
    }

    async fn service_token_hash(
        &self,
        partner: &str,
        service: i16,
    ) -> Result<Option<String>, DomainError> {
        let partner = partner.to_owned();
        self.blocking(move |db| {
            with_conn!(db, |conn| partner_services::table
                .find((&partner, service))
                .select(partner_services::token_hash)
                .get_result::<String>(conn)
                .optional()
                .map_err(Failure::from))
        })
        .await
    }
}
