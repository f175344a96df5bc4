//! The partner resources of `/v1` (seed 000's "3rd Party API"): card validity and card
//! credit. The scopes are checked here; every rule (caps, idempotency, the card's state) is in
//! `Bar`.

use actix_web::web::{Data, Path, Payload};
use actix_web::{HttpRequest, HttpResponse, ResponseError};
use ardoise_auth::token_hash;
use ardoise_domain::{CardState, DomainError};
use serde::Serialize;
use utoipa::ToSchema;

use super::{
    card_path, created, idempotency_key, mark_replayed, ok, read_params, reply, Failure, Lang,
    Success,
};
use crate::openapi::{Amount, AmountInput, CardParam};
use crate::params::Ty;
use crate::principal::Principal;
use crate::AppState;

const EUR: &str = "EUR";

/// Whether a card can be used.
#[derive(Serialize, ToSchema)]
struct ValidityJson {
    card: String,
    valid: bool,
    /// `active`, `blocked` (blocked or lost), `expired` or `unknown`.
    reason: &'static str,
    /// RFC 3339.
    valid_until: Option<String>,
}

/// `GET /v1/cards/{card}/validity` (scope `cards:read`; staff need rights ≥ 1). An unknown
/// card is an answer (`valid: false`, `reason: "unknown"`), not an error.
#[utoipa::path(
    get,
    path = "/v1/cards/{card}/validity",
    tag = "partners",
    summary = "Whether a card can be used",
    description = "Scope `cards:read`; staff need rights ≥ 1. An unknown card is an answer \
        (`valid: false`, `reason: unknown`), not an error.",
    params(CardParam),
    responses(
        (status = 200, description = "`CARD_VALIDITY`", body = Success<ValidityJson>),
        (status = 400, description = "Malformed card id", body = Failure),
    ),
    security(("bearer" = ["cards:read"]), ("client_basic" = ["cards:read"])),
)]
pub(super) async fn card_validity(
    state: Data<AppState>,
    req: HttpRequest,
    principal: Principal,
    path: Path<String>,
) -> HttpResponse {
    let lang = Lang::of(&req);
    if let Err(e) = principal.require_scope("cards:read") {
        return e.error_response();
    }
    reply(
        lang,
        async {
            let card = card_path(&path)?;
            let actor = match &principal {
                Principal::Staff { actor } => Some(actor),
                Principal::Partner { .. } => None,
                // Refused by `require_scope` already; never a partner's view.
                Principal::Member { .. } => return Err(DomainError::InsufficientRights),
            };
            let validity = state.bar.card_validity(actor, &card).await?;
            let reason = match validity.state {
                None => "unknown",
                Some(CardState::Active) => "active",
                Some(CardState::Blocked | CardState::Lost) => "blocked",
                Some(CardState::Expired) => "expired",
            };
            Ok(ok(
                lang,
                "CARD_VALIDITY",
                ValidityJson {
                    card: card.to_string(),
                    valid: validity.valid(),
                    reason,
                    valid_until: validity.valid_until.map(|t| t.to_rfc3339()),
                },
            ))
        }
        .await,
    )
}

/// What a partner's credit did.
#[derive(Serialize, ToSchema)]
struct CreditJson {
    transaction: i64,
    card: String,
    /// The partner's reference of the credit.
    reference: String,
    #[schema(value_type = Amount)]
    amount: String,
    #[schema(value_type = Amount)]
    balance_before: String,
    #[schema(value_type = Amount)]
    balance_after: String,
    /// Always `EUR`.
    currency: &'static str,
}

/// The body of a partner's credit (JSON or form).
#[derive(ToSchema)]
#[allow(dead_code)] // describes the body that `Params` parses
struct CreditRequest {
    /// A positive amount, within the partner's per-operation and per-day caps.
    #[schema(value_type = AmountInput)]
    amount: String,
    /// The partner's own reference: a credit is applied once per (partner, reference).
    reference: String,
}

/// `POST /v1/cards/{card}/credits` (scope `cards:credit`, partners only): `{"amount",
/// "reference"}` and optionally `Idempotency-Key` → 201 with `Location`. A repeat of an applied
/// credit (same key and request, or same reference, card and amount) answers the first answer
/// with `Idempotency-Replayed: true`.
#[utoipa::path(
    post,
    path = "/v1/cards/{card}/credits",
    tag = "partners",
    summary = "Credit a card (partners)",
    description = "Scope `cards:credit`, partners only. Idempotent on (partner, `reference`) \
        and on `Idempotency-Key`: a replay answers the first answer with \
        `Idempotency-Replayed: true`; the same key or reference with another request → 409.",
    params(
        CardParam,
        ("Idempotency-Key" = Option<String>, Header, description = "A client-chosen key making the request idempotent"),
    ),
    request_body(content(
        (CreditRequest = "application/json"),
        (CreditRequest = "application/x-www-form-urlencoded"),
    )),
    responses(
        (status = 201, description = "`CARD_CREDITED`; `Location` of the transaction", body = Success<CreditJson>),
        (status = 400, description = "`VALIDATION_ERROR`", body = Failure),
        (status = 404, description = "`CARD_NOT_FOUND_ERROR`", body = Failure),
        (status = 409, description = "Key or reference reused for another request, credit cap exceeded, card not usable, balance ceiling", body = Failure),
    ),
    security(("bearer" = ["cards:credit"]), ("client_basic" = ["cards:credit"])),
)]
pub(super) async fn credit(
    state: Data<AppState>,
    req: HttpRequest,
    principal: Principal,
    path: Path<String>,
    payload: Payload,
) -> HttpResponse {
    let lang = Lang::of(&req);
    if let Err(e) = principal.require_scope("cards:credit") {
        return e.error_response();
    }
    reply(
        lang,
        async {
            let Principal::Partner { client_id, .. } = &principal else {
                return Err(DomainError::InsufficientRights);
            };
            let card = card_path(&path)?;
            let p = read_params(
                &req,
                payload,
                &[("amount", Ty::Money), ("reference", Ty::Text)],
            )
            .await?;
            let amount = p.money("amount")?;
            let reference = p.required("reference")?;
            let key = idempotency_key(&req)?;
            // What makes two requests "the same": the card, the amount in cents, the reference.
            let request_hash = token_hash(&format!(
                "POST /v1/cards/{card}/credits\n{}\n{reference}",
                amount.cents()
            ));
            let partner = state
                .oauth
                .partner(client_id)
                .await?
                .ok_or(DomainError::InvalidToken)?;
            let credited = state
                .bar
                .credit(
                    &partner,
                    &card,
                    amount,
                    reference,
                    key.map(|k| (k, request_hash)),
                )
                .await?;
            let r = credited.receipt;
            let answer = created(
                lang,
                "CARD_CREDITED",
                &format!("/v1/transactions/{}", r.transaction.0),
                CreditJson {
                    transaction: r.transaction.0,
                    card: r.card.to_string(),
                    reference: reference.to_owned(),
                    amount: r.amount.to_fixed2(),
                    balance_before: r.balance_before.to_fixed2(),
                    balance_after: r.balance_after.to_fixed2(),
                    currency: EUR,
                },
            );
            Ok(mark_replayed(answer, credited.replayed))
        }
        .await,
    )
}
