//! A card's life in `/v1`: block, unblock, mark lost, set its end of validity, and replace it
//! by a new card (the balance moves in one ledger movement). Each handler parses, calls one
//! use case of `Bar` and renders — no rule here.

use actix_web::web::{Data, Path, Payload};
use actix_web::{HttpRequest, HttpResponse};
use ardoise_domain::{Card, CardStatus, DomainError, StaffMove};
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::{
    card_path, created, keyed, mark_replayed, ok, read_params, reply, staff, Failure, Lang, Success,
};
use crate::openapi::{Amount, CardParam};
use crate::params::Ty;
use crate::principal::Principal;
use crate::AppState;

/// A card's settings after a change of its life.
#[derive(Serialize, ToSchema)]
struct CardStatusJson {
    card: String,
    /// `active`, `blocked` or `lost`.
    status: &'static str,
    /// RFC 3339.
    valid_until: Option<String>,
    /// The card that replaced this one, if any.
    replaced_by: Option<String>,
}

impl From<Card> for CardStatusJson {
    fn from(c: Card) -> CardStatusJson {
        CardStatusJson {
            card: c.id.to_string(),
            status: c.status.as_str(),
            valid_until: c.valid_until.map(|t| t.to_rfc3339()),
            replaced_by: c.replaced_by.map(|id| id.to_string()),
        }
    }
}

async fn set_status(
    state: Data<AppState>,
    req: HttpRequest,
    principal: Principal,
    path: Path<String>,
    status: CardStatus,
    code: &str,
) -> HttpResponse {
    let lang = Lang::of(&req);
    reply(
        lang,
        async {
            let actor = staff(&principal)?;
            let card = card_path(&path)?;
            let found = state.bar.set_card_status(actor, &card, status).await?;
            Ok(ok(lang, code, CardStatusJson::from(found)))
        }
        .await,
    )
}

/// `POST /v1/cards/{card}/block` [≥1]: payments and top-ups are refused from now on; the
/// balance stays.
#[utoipa::path(
    post,
    path = "/v1/cards/{card}/block",
    tag = "cards",
    summary = "Block a card (rights ≥ 1)",
    description = "Payments and top-ups are refused from now on; the balance stays.",
    params(CardParam),
    responses(
        (status = 200, description = "`CARD_BLOCKED`", body = Success<CardStatusJson>),
        (status = 400, description = "Malformed card id", body = Failure),
        (status = 404, description = "`CARD_NOT_FOUND_ERROR`", body = Failure),
        (status = 409, description = "`CARD_REPLACED_ERROR`: a replaced card cannot change", body = Failure),
    ),
    security(("bearer" = [])),
)]
pub(super) async fn block(
    state: Data<AppState>,
    req: HttpRequest,
    principal: Principal,
    path: Path<String>,
) -> HttpResponse {
    set_status(
        state,
        req,
        principal,
        path,
        CardStatus::Blocked,
        "CARD_BLOCKED",
    )
    .await
}

/// `POST /v1/cards/{card}/lost` [≥1]: as block, recorded as lost.
#[utoipa::path(
    post,
    path = "/v1/cards/{card}/lost",
    tag = "cards",
    summary = "Mark a card lost (rights ≥ 1)",
    description = "As block, recorded as lost: payments and top-ups are refused, the balance \
        stays (replace the card to move it).",
    params(CardParam),
    responses(
        (status = 200, description = "`CARD_LOST`", body = Success<CardStatusJson>),
        (status = 400, description = "Malformed card id", body = Failure),
        (status = 404, description = "`CARD_NOT_FOUND_ERROR`", body = Failure),
        (status = 409, description = "`CARD_REPLACED_ERROR`: a replaced card cannot change", body = Failure),
    ),
    security(("bearer" = [])),
)]
pub(super) async fn lost(
    state: Data<AppState>,
    req: HttpRequest,
    principal: Principal,
    path: Path<String>,
) -> HttpResponse {
    set_status(state, req, principal, path, CardStatus::Lost, "CARD_LOST").await
}

/// `POST /v1/cards/{card}/unblock` [≥2]: a blocked or lost card is active again.
#[utoipa::path(
    post,
    path = "/v1/cards/{card}/unblock",
    tag = "cards",
    summary = "Unblock a card (rights ≥ 2)",
    description = "A blocked or lost card is active again.",
    params(CardParam),
    responses(
        (status = 200, description = "`CARD_UNBLOCKED`", body = Success<CardStatusJson>),
        (status = 400, description = "Malformed card id", body = Failure),
        (status = 404, description = "`CARD_NOT_FOUND_ERROR`", body = Failure),
        (status = 409, description = "`CARD_REPLACED_ERROR`: a replaced card cannot change", body = Failure),
    ),
    security(("bearer" = [])),
)]
pub(super) async fn unblock(
    state: Data<AppState>,
    req: HttpRequest,
    principal: Principal,
    path: Path<String>,
) -> HttpResponse {
    set_status(
        state,
        req,
        principal,
        path,
        CardStatus::Active,
        "CARD_UNBLOCKED",
    )
    .await
}

/// The body of `PUT /v1/cards/{card}/valid-until` (JSON or form).
#[derive(ToSchema)]
#[allow(dead_code)] // describes the body that `Params` parses
struct ValidUntilRequest {
    /// The end of the card's validity, RFC 3339; `null` or `""` for no end. Required.
    #[schema(required = true, format = DateTime, example = "2027-06-30T23:59:59Z")]
    valid_until: Option<String>,
}

/// `PUT /v1/cards/{card}/valid-until` [≥2]: `{"valid_until": "2027-06-30T23:59:59Z"}` (RFC
/// 3339), or `null`/`""` for no end.
#[utoipa::path(
    put,
    path = "/v1/cards/{card}/valid-until",
    tag = "cards",
    summary = "Set a card's end of validity (rights ≥ 2)",
    description = "After it, the card is `expired`: payments and top-ups are refused.",
    params(CardParam),
    request_body(content(
        (ValidUntilRequest = "application/json"),
        (ValidUntilRequest = "application/x-www-form-urlencoded"),
    )),
    responses(
        (status = 200, description = "`CARD_VALIDITY_SET`", body = Success<CardStatusJson>),
        (status = 400, description = "`VALIDATION_ERROR` (card id, `valid_until`)", body = Failure),
        (status = 404, description = "`CARD_NOT_FOUND_ERROR`", body = Failure),
        (status = 409, description = "`CARD_REPLACED_ERROR`: a replaced card cannot change", body = Failure),
    ),
    security(("bearer" = [])),
)]
pub(super) async fn set_valid_until(
    state: Data<AppState>,
    req: HttpRequest,
    principal: Principal,
    path: Path<String>,
    payload: Payload,
) -> HttpResponse {
    let lang = Lang::of(&req);
    reply(
        lang,
        async {
            let actor = staff(&principal)?;
            let card = card_path(&path)?;
            let p = read_params(&req, payload, &[("valid_until", Ty::Text)]).await?;
            let until = match p.given("valid_until") {
                None => return Err(DomainError::malformed("field `valid_until` is missing")),
                Some("") => None,
                Some(text) => Some(
                    DateTime::parse_from_rfc3339(text)
                        .map_err(|_| {
                            DomainError::malformed(
                                "field `valid_until` is not an RFC 3339 time such as \
                                 2027-06-30T23:59:59Z",
                            )
                        })?
                        .with_timezone(&Utc),
                ),
            };
            let found = state.bar.set_valid_until(actor, &card, until).await?;
            Ok(ok(lang, "CARD_VALIDITY_SET", CardStatusJson::from(found)))
        }
        .await,
    )
}

/// A replacement: the new card and the balance it received.
#[derive(Serialize, ToSchema)]
struct ReplacementJson {
    /// The new card.
    card: String,
    /// The card it replaces.
    replaced: String,
    /// The new card's transfer-in transaction.
    transaction: i64,
    /// The balance moved (negative if the old card was in overdraft).
    #[schema(value_type = Amount)]
    amount: String,
    /// The new card's balance.
    #[schema(value_type = Amount)]
    balance: String,
    /// Always `EUR`.
    currency: &'static str,
}

/// The body of `POST /v1/cards/{card}/replace` (JSON or form).
#[derive(ToSchema)]
#[allow(dead_code)] // describes the body that `Params` parses
struct ReplaceRequest {
    /// The new card, which must not exist yet: an NFC UID in hex (8 to 20 digits) or a printed
    /// id (4 to 32 letters and digits).
    #[schema(example = "04D5E6F7A8")]
    new_card: String,
}

/// `POST /v1/cards/{card}/replace` [≥2]: `{"new_card"}` → 201, `Location` of the new card.
#[utoipa::path(
    post,
    path = "/v1/cards/{card}/replace",
    tag = "cards",
    summary = "Replace a card by a new one (rights ≥ 2)",
    description = "The new card is created with the old card's settings and member, and the \
        whole balance moves to it in one ledger movement (a transfer out of the old card and a \
        transfer in to the new one); the old card stays in the history, replaced, and refuses \
        every change. Idempotent by `Idempotency-Key`, like the other money POSTs: a retry \
        answers the first answer (201, the same `Location`) with `Idempotency-Replayed: true`.",
    params(
        CardParam,
        ("Idempotency-Key" = Option<String>, Header, description = "A client-chosen key (1 to 255 visible ASCII characters) making the request idempotent: a retry answers the first answer with `Idempotency-Replayed: true`"),
    ),
    request_body(content(
        (ReplaceRequest = "application/json"),
        (ReplaceRequest = "application/x-www-form-urlencoded"),
    )),
    responses(
        (status = 201, description = "`CARD_REPLACED`; `Location` of the new card", body = Success<ReplacementJson>),
        (status = 400, description = "`VALIDATION_ERROR` (card ids)", body = Failure),
        (status = 404, description = "`CARD_NOT_FOUND_ERROR`", body = Failure),
        (status = 409, description = "`CARD_EXISTS_ERROR` (`new_card` exists), `CARD_REPLACED_ERROR` (already replaced) or `IDEMPOTENCY_KEY_REUSED_ERROR` (the same `Idempotency-Key` with another request)", body = Failure),
    ),
    security(("bearer" = [])),
)]
pub(super) async fn replace(
    state: Data<AppState>,
    req: HttpRequest,
    principal: Principal,
    path: Path<String>,
    payload: Payload,
) -> HttpResponse {
    let lang = Lang::of(&req);
    reply(
        lang,
        async {
            let actor = staff(&principal)?;
            let card = card_path(&path)?;
            let p = read_params(&req, payload, &[("new_card", Ty::Text)]).await?;
            let new_card = p.card("new_card")?;
            let request = StaffMove::Replace {
                card: card.clone(),
                new_card,
            };
            let key = keyed(&req, &request.fingerprint())?;
            let done = state.bar.staff_once(actor, request, key).await?;
            let r = done.receipt;
            let answer = created(
                lang,
                "CARD_REPLACED",
                &format!("/v1/cards/{}", r.card),
                ReplacementJson {
                    card: r.card.to_string(),
                    replaced: card.to_string(),
                    transaction: r.transaction.0,
                    amount: r.amount.to_fixed2(),
                    balance: r.balance_after.to_fixed2(),
                    currency: "EUR",
                },
            );
            Ok(mark_replayed(answer, done.replayed))
        }
        .await,
    )
}
