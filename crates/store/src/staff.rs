//! Staff accounts and their sessions, with the semantics of `ardoise_auth::memory`.

use ardoise_domain::ports::{Session, SessionKind, SessionStore, StaffDirectory, StaffUser};
use ardoise_domain::{CardId, DomainError, Login, Rights};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::result::{DatabaseErrorKind, Error as DieselError};

use crate::db::with_conn;
use crate::error::Failure;
use crate::rows::{millis, NewStaff, SessionRow, StaffRow};
use crate::sql::{Dialect, Sql};
use crate::Store;

fn card_taken() -> Failure {
    Failure::Refused(DomainError::malformed(
        "card already used by another staff user",
    ))
}

fn unknown_user() -> Failure {
    Failure::Refused(DomainError::UnknownUser)
}

/// A unique violation on `staff_users` that the checks before it missed (two PostgreSQL
/// transactions racing): the same answer the check would have given.
fn staff_conflict(e: DieselError) -> Failure {
    if let DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, info) = &e {
        let about_card = info.constraint_name().is_some_and(|c| c.contains("card"))
            || info.message().contains("card_id");
        return if about_card {
            card_taken()
        } else {
            Failure::Refused(DomainError::UserExists)
        };
    }
    Failure::Db(e)
}

/// Fails with `UnknownUser` unless an update touched a row.
fn touched(rows: usize) -> Result<(), Failure> {
    if rows == 0 {
        Err(unknown_user())
    } else {
        Ok(())
    }
}

/// Refuses a write that takes `login` away from the active presidents when it is the last one,
/// in the write's transaction, with the presidents' rows locked: two presidents demoting or
/// deleting each other at the same moment cannot both succeed.
fn keep_a_president<C: Sql>(conn: &mut C, login: &str) -> Result<(), Failure> {
    let presidents = conn.lock_presidents()?;
    if presidents.iter().any(|p| p == login) && presidents.len() == 1 {
        return Err(Failure::Refused(DomainError::last_president()));
    }
    Ok(())
}

#[async_trait]
impl StaffDirectory for Store {
    async fn user(&self, login: &Login) -> Result<Option<StaffUser>, DomainError> {
        let login = login.clone();
        self.blocking(move |db| {
            with_conn!(db, |conn| conn
                .staff_user(login.as_str())?
                .map(StaffRow::into_user)
                .transpose())
        })
        .await
    }

    async fn user_by_card(&self, card: &CardId) -> Result<Option<StaffUser>, DomainError> {
        let card = card.clone();
        self.blocking(move |db| {
            with_conn!(db, |conn| conn
                .active_staff_by_card(card.as_str())?
                .map(StaffRow::into_user)
                .transpose())
        })
        .await
    }

    async fn users(&self) -> Result<Vec<StaffUser>, DomainError> {
        self.blocking(|db| {
            with_conn!(db, |conn| conn
                .active_staff()?
                .into_iter()
                .map(StaffRow::into_user)
                .collect())
        })
        .await
    }

    async fn any_user(&self) -> Result<bool, DomainError> {
        self.blocking(|db| with_conn!(db, |conn| Ok(conn.any_staff()?)))
            .await
    }

    async fn add_user(&self, user: StaffUser) -> Result<(), DomainError> {
        let created_at = millis(Utc::now());
        self.blocking(move |db| {
            with_conn!(db, |conn| conn.write_transaction(|conn| {
                let login = user.login.as_str();
                if conn.staff_user(login)?.is_some() {
                    return Err(Failure::Refused(DomainError::UserExists));
                }
                if let Some(card) = &user.card {
                    if conn.card_held_by_other(card.as_str(), login)? {
                        return Err(card_taken());
                    }
                }
                conn.insert_staff(&NewStaff {
                    login,
                    rights: user.rights.level(),
                    card_id: user.card.as_ref().map(CardId::as_str),
                    password_hash: &user.password_hash,
                    active: user.active,
                    created_at,
                })
                .map_err(staff_conflict)
            }))
        })
        .await
    }

    async fn set_password_hash(
        &self,
        login: &Login,
        hash: String,
        keep_session: Option<String>,
    ) -> Result<(), DomainError> {
        let login = login.clone();
        self.blocking(move |db| {
            with_conn!(db, |conn| conn.write_transaction(|conn| {
                touched(conn.set_password_hash(login.as_str(), &hash)?)?;
                conn.delete_sessions_of_except(login.as_str(), keep_session.as_deref())?;
                Ok(())
            }))
        })
        .await
    }

    async fn upgrade_password_hash(
        &self,
        login: &Login,
        old: String,
        new: String,
    ) -> Result<bool, DomainError> {
        let login = login.clone();
        self.blocking(move |db| {
            with_conn!(db, |conn| Ok(conn.replace_password_hash(
                login.as_str(),
                &old,
                &new
            )? == 1))
        })
        .await
    }

    async fn set_card(&self, login: &Login, card: Option<CardId>) -> Result<(), DomainError> {
        let login = login.clone();
        self.blocking(move |db| {
            with_conn!(db, |conn| conn.write_transaction(|conn| {
                let login = login.as_str();
                if !conn.staff_user(login)?.is_some_and(|u| u.active) {
                    return Err(unknown_user());
                }
                if let Some(card) = &card {
                    if conn.card_held_by_other(card.as_str(), login)? {
                        return Err(card_taken());
                    }
                }
                let rows = conn
                    .set_staff_card(login, card.as_ref().map(CardId::as_str))
                    .map_err(staff_conflict)?;
                touched(rows)
            }))
        })
        .await
    }

    async fn set_rights(&self, login: &Login, rights: Rights) -> Result<(), DomainError> {
        let login = login.clone();
        self.blocking(move |db| {
            with_conn!(db, |conn| conn.write_transaction(|conn| {
                if rights < Rights::President {
                    keep_a_president(conn, login.as_str())?;
                }
                touched(conn.set_rights(login.as_str(), rights.level())?)
            }))
        })
        .await
    }

    async fn disable(&self, login: &Login) -> Result<(), DomainError> {
        let login = login.clone();
        self.blocking(move |db| {
            with_conn!(db, |conn| conn.write_transaction(|conn| {
                keep_a_president(conn, login.as_str())?;
                touched(conn.deactivate(login.as_str())?)?;
                conn.delete_sessions_of(login.as_str())?;
                Ok(())
            }))
        })
        .await
    }
}

#[async_trait]
impl SessionStore for Store {
    async fn create(&self, session: Session) -> Result<(), DomainError> {
        let row = SessionRow::from_session(&session);
        self.blocking(move |db| {
            with_conn!(db, |conn| conn.insert_session(&row).map_err(|e| match e {
                DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => {
                    Failure::Refused(DomainError::Internal("duplicate session token".into()))
                }
                other => Failure::Db(other),
            }))
        })
        .await
    }

    async fn find(&self, token_hash: &str) -> Result<Option<Session>, DomainError> {
        let token_hash = token_hash.to_owned();
        self.blocking(move |db| {
            with_conn!(db, |conn| conn
                .find_session(&token_hash)?
                .map(SessionRow::into_session)
                .transpose())
        })
        .await
    }

    async fn touch(&self, token_hash: &str, at: DateTime<Utc>) -> Result<(), DomainError> {
        // Through the writer: on SQLite a second connection would wait for its write lock.
        self.writer()
            .touch(crate::writer::Touch {
                token_hash: token_hash.to_owned(),
                at_ms: millis(at),
            })
            .await
    }

    async fn delete(&self, token_hash: &str) -> Result<(), DomainError> {
        let token_hash = token_hash.to_owned();
        self.blocking(move |db| {
            with_conn!(db, |conn| conn
                .delete_session(&token_hash)
                .map(|_| ())
                .map_err(Failure::Db))
        })
        .await
    }

    async fn purge(&self, kind: SessionKind, before: DateTime<Utc>) -> Result<u64, DomainError> {
        let members = kind == SessionKind::Member;
        self.blocking(move |db| {
            with_conn!(db, |conn| conn
                .purge_sessions(members, millis(before))
                .map(|n| n as u64)
                .map_err(Failure::Db))
        })
        .await
    }
}
