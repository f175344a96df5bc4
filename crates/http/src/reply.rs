//! Rendering POS answers: always HTTP 200 JSON with a `status`; money as exact JSON numbers
//! written from [`Money`]'s decimal text, never through a float.

use actix_web::http::header::ContentType;
use actix_web::http::StatusCode;
use actix_web::HttpResponse;
use ardoise_domain::{DomainError, Money, Transaction};
use serde::{Serialize, Serializer};
use serde_json::value::RawValue;

/// Money as a JSON number with its exact shortest decimal text: `15.8`, `10`, `-3.05`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Amount(pub Money);

impl From<Money> for Amount {
    fn from(m: Money) -> Amount {
        Amount(m)
    }
}

impl Serialize for Amount {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        // `Money`'s Display is `-?[0-9]+(\.[0-9]{1,2})?`: always a valid JSON number.
        let raw = RawValue::from_string(self.0.to_string()).map_err(serde::ser::Error::custom)?;
        raw.serialize(serializer)
    }
}

/// `false` when absent, the value otherwise (the seed's `client`/`utilisateur` of `carte/info`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrFalse<T>(pub Option<T>);

impl<T: Serialize> Serialize for OrFalse<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match &self.0 {
            Some(v) => v.serialize(serializer),
            None => serializer.serialize_bool(false),
        }
    }
}

/// The `status` of every successful answer.
pub const OK: &str = "ok";

/// A transaction as the POS clients read it.
#[derive(Debug, Serialize)]
pub struct TransactionJson {
    pub id: i64,
    #[serde(rename = "type")]
    pub kind: i16,
    pub client: String,
    /// Unix time in milliseconds.
    pub date: i64,
    pub montant: Amount,
    pub qte: u32,
    /// The same number as `qte`, under the name the original server sends and its web page
    /// reads.
    pub quantite: u32,
    pub valide: bool,
    pub utilisateur: String,
}

impl From<Transaction> for TransactionJson {
    fn from(t: Transaction) -> TransactionJson {
        TransactionJson {
            id: t.id.0,
            kind: t.kind.code(),
            client: t.card.to_string(),
            date: t.created_at.timestamp_millis(),
            montant: t.amount.into(),
            qte: t.quantity,
            quantite: t.quantity,
            valide: t.valid,
            utilisateur: t.author,
        }
    }
}

/// The answer to a refused request: its status and, for some, the figures explaining it.
#[derive(Debug, Serialize)]
struct Refusal {
    status: &'static str,
    /// `requete_malforme`: the field at fault and the problem, in English (the POS clients
    /// ignore keys they do not know).
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<String>,
    /// `solde_insuffisant`, `solde_maximum`: the balance now.
    #[serde(skip_serializing_if = "Option::is_none")]
    solde: Option<Amount>,
    /// `solde_insuffisant`: what is missing.
    #[serde(skip_serializing_if = "Option::is_none")]
    manque: Option<Amount>,
    /// `solde_maximum`: the card's maximum balance.
    #[serde(skip_serializing_if = "Option::is_none")]
    maximum: Option<Amount>,
    /// `trop_de_tentatives`: seconds before logging in may be tried again.
    #[serde(skip_serializing_if = "Option::is_none")]
    attente: Option<u64>,
    /// `carte_bloquee`: why (`blocked`, `lost`, `expired`).
    #[serde(skip_serializing_if = "Option::is_none")]
    etat: Option<String>,
}

fn refusal(error: &DomainError) -> Refusal {
    let mut r = Refusal {
        status: error.pos_status(),
        message: None,
        solde: None,
        manque: None,
        maximum: None,
        attente: None,
        etat: None,
    };
    match error {
        DomainError::InsufficientFunds { balance, missing } => {
            r.solde = Some((*balance).into());
            r.manque = Some((*missing).into());
        }
        DomainError::BalanceCeiling { balance, max } => {
            r.solde = Some((*balance).into());
            r.maximum = Some((*max).into());
        }
        DomainError::TooManyAttempts {
            retry_after_seconds,
        } => r.attente = Some(*retry_after_seconds),
        DomainError::CardNotUsable(state) => r.etat = Some(state.to_string()),
        DomainError::Malformed(detail) => r.message = Some(detail.clone()),
        _ => {}
    }
    r
}

/// Logs what the operators need to see; the caller only ever sees the status.
fn log(error: &DomainError) {
    match error {
        DomainError::Internal(detail) => tracing::error!(%detail, "internal error"),
        DomainError::StorageUnavailable => tracing::warn!("storage unavailable"),
        DomainError::Malformed(detail) => tracing::debug!(%detail, "malformed request"),
        other => tracing::debug!(status = other.pos_status(), "request refused"),
    }
}

/// The POS status string of an answer, kept in the response's extensions for the request
/// log line (`ops::observe`): every POS answer is HTTP 200, so the HTTP status alone does not
/// tell a refusal from a success.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PosStatus(pub &'static str);

/// A POS answer with its status string recorded for the log.
fn pos_json<T: Serialize>(status: &'static str, body: &T) -> HttpResponse {
    let mut response = json(body);
    response.extensions_mut().insert(PosStatus(status));
    response
}

/// A JSON answer with HTTP 200.
pub fn json<T: Serialize>(body: &T) -> HttpResponse {
    json_with(StatusCode::OK, body)
}

/// A JSON answer with the given HTTP status.
pub fn json_with<T: Serialize>(code: StatusCode, body: &T) -> HttpResponse {
    match serde_json::to_vec(body) {
        Ok(bytes) => HttpResponse::build(code)
            .content_type(ContentType::json())
            .body(bytes),
        Err(e) => {
            tracing::error!(error = %e, "cannot render an answer");
            HttpResponse::Ok()
                .content_type(ContentType::json())
                .body(r#"{"status":"erreur_generique"}"#)
        }
    }
}

/// Renders the outcome of a POS request.
pub fn answer<T: Serialize>(outcome: Result<T, DomainError>) -> HttpResponse {
    match outcome {
        Ok(body) => pos_json(OK, &body),
        Err(error) => {
            log(&error);
            pos_json(error.pos_status(), &refusal(&error))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ardoise_domain::{CardId, TransactionId, TransactionKind};
    use chrono::{TimeZone, Utc};

    fn render<T: Serialize>(value: &T) -> String {
        serde_json::to_string(value).unwrap()
    }

    #[test]
    fn amounts_are_exact_json_numbers() {
        assert_eq!(render(&Amount(Money::from_cents(1580))), "15.8");
        assert_eq!(render(&Amount(Money::from_cents(1000))), "10");
        assert_eq!(render(&Amount(Money::from_cents(-305))), "-3.05");
        assert_eq!(render(&Amount(Money::from_cents(1))), "0.01");
        assert_eq!(render(&vec![Amount(Money::ZERO)]), "[0]");
        let v: serde_json::Value =
            serde_json::from_str(&render(&Amount(Money::from_cents(1580)))).unwrap();
        assert_eq!(v.as_f64(), Some(15.8));
    }

    #[test]
    fn or_false() {
        assert_eq!(render(&OrFalse(Some("AHS0DIEX"))), r#""AHS0DIEX""#);
        assert_eq!(render(&OrFalse::<String>(None)), "false");
    }

    #[test]
    fn transactions_have_the_seed_shape() {
        let t = Transaction {
            id: TransactionId(6),
            kind: TransactionKind::Payment,
            card: CardId::parse("AHS0DIEX").unwrap(),
            amount: Money::from_cents(170),
            quantity: 1,
            product: Some("biere".into()),
            valid: true,
            author: "barman".into(),
            created_at: Utc.timestamp_millis_opt(1_460_370_161_326).unwrap(),
        };
        assert_eq!(
            render(&TransactionJson::from(t)),
            r#"{"id":6,"type":3,"client":"AHS0DIEX","date":1460370161326,"montant":1.7,"qte":1,"quantite":1,"valide":true,"utilisateur":"barman"}"#
        );
    }

    #[test]
    fn refusals_carry_their_figures() {
        let e = DomainError::InsufficientFunds {
            balance: Money::from_cents(100),
            missing: Money::from_cents(80),
        };
        assert_eq!(
            render(&refusal(&e)),
            r#"{"status":"solde_insuffisant","solde":1,"manque":0.8}"#
        );
        assert_eq!(
            render(&refusal(&DomainError::TooManyAttempts {
                retry_after_seconds: 42
            })),
            r#"{"status":"trop_de_tentatives","attente":42}"#
        );
        assert_eq!(
            render(&refusal(&DomainError::Internal("SELECT secret".into()))),
            r#"{"status":"erreur_generique"}"#
        );
        assert_eq!(
            render(&refusal(&DomainError::malformed("field `x` is missing"))),
            r#"{"status":"requete_malforme","message":"field `x` is missing"}"#
        );
    }
}
