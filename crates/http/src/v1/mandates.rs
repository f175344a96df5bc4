//! Mandates and partner debits in `/v1` (services.md, "Micropayments"). Every rule is in
//! `ardoise_domain::Mandates`; the scope `cards:debit` is checked here.

use actix_web::web::{Data, Path, Payload};
use actix_web::{HttpRequest, HttpResponse, ResponseError};
use ardoise_auth::token_hash;
use ardoise_domain::mandate::{Debit, Mandate, MandateTerms};
use ardoise_domain::ports::Partner;
use ardoise_domain::{DomainError, MemberId};
use chrono::Utc;
use serde::Serialize;
use utoipa::{IntoParams, ToSchema};

use super::members::member_path;
use super::vouchers::time_field;
use super::{card_path, created, idempotency_key, mark_replayed, ok, read_params, reply};
use super::{Failure, Lang, Success};
use crate::openapi::{Amount, AmountInput, CardParam, MemberParam};
use crate::params::Ty;
use crate::principal::Principal;
use crate::AppState;

/// A mandate in a path.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)] // describes a path segment that the handlers parse themselves
struct MandateParam {
    /// The mandate's id.
    #[param(minimum = 1)]
    mandate: i64,
}

/// A debit in a path.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)] // describes a path segment that the handlers parse themselves
struct DebitParam {
    /// The debit's id.
    #[param(minimum = 1)]
    debit: i64,
}

/// A whole id ≥ 1 from the path.
fn id_path(what: &str, text: &str) -> Result<i64, DomainError> {
    text.parse::<i64>()
        .ok()
        .filter(|id| *id > 0 && !text.starts_with('+'))
        .ok_or_else(|| DomainError::malformed(format!("the {what} id is not a whole number ≥ 1")))
}

/// A mandate.
#[derive(Serialize, ToSchema)]
struct MandateJson {
    id: i64,
    member: i64,
    /// The partner's client id.
    partner: String,
    #[schema(value_type = Amount)]
    cap_operation: String,
    #[schema(value_type = Amount)]
    cap_day: String,
    /// RFC 3339.
    valid_until: Option<String>,
    /// `active`, `revoked` or `expired`.
    state: &'static str,
    /// `member`, or `staff:<login>` when staff granted it on the member's behalf.
    granted_by: String,
    /// RFC 3339.
    created_at: String,
    /// RFC 3339.
    revoked_at: Option<String>,
}

impl From<Mandate> for MandateJson {
    fn from(m: Mandate) -> MandateJson {
        MandateJson {
            id: m.id,
            member: m.member.0,
            state: m.state_at(Utc::now()),
            partner: m.partner,
            cap_operation: m.cap_operation.to_fixed2(),
            cap_day: m.cap_day.to_fixed2(),
            valid_until: m.valid_until.map(|t| t.to_rfc3339()),
            granted_by: m.granted_by,
            created_at: m.created_at.to_rfc3339(),
            revoked_at: m.revoked_at.map(|t| t.to_rfc3339()),
        }
    }
}

/// A member's mandates.
#[derive(Serialize, ToSchema)]
struct MandatesJson {
    items: Vec<MandateJson>,
}

/// The body of a new mandate (JSON or form).
#[derive(ToSchema)]
#[allow(dead_code)] // describes the body that `Params` parses
struct MandateRequest {
    /// The partner's client id.
    partner: String,
    /// The largest debit.
    #[schema(value_type = AmountInput)]
    cap_operation: String,
    /// The most debited in one day (UTC).
    #[schema(value_type = AmountInput)]
    cap_day: String,
    /// RFC 3339; none: until revoked.
    valid_until: Option<String>,
}

/// Grants a mandate for `member` (`None`: the caller, a member).
async fn grant(
    state: &AppState,
    req: &HttpRequest,
    principal: &Principal,
    member: Option<MemberId>,
    payload: Payload,
) -> Result<HttpResponse, DomainError> {
    let lang = Lang::of(req);
    let p = read_params(
        req,
        payload,
        &[
            ("partner", Ty::Text),
            ("cap_operation", Ty::Money),
            ("cap_day", Ty::Money),
            ("valid_until", Ty::Text),
        ],
    )
    .await?;
    let terms = MandateTerms {
        partner: p.required("partner")?.to_owned(),
        cap_operation: p.money("cap_operation")?,
        cap_day: p.money("cap_day")?,
        valid_until: time_field("valid_until", p.given("valid_until"))?,
    };
    let mandate = state
        .mandates
        .grant(&principal.domain(), member, terms)
        .await?;
    let location = match member {
        None => format!("/v1/me/mandates/{}", mandate.id),
        Some(member) => format!("/v1/members/{}/mandates/{}", member.0, mandate.id),
    };
    Ok(created(
        lang,
        "MANDATE_CREATED",
        &location,
        MandateJson::from(mandate),
    ))
}

/// `POST /v1/me/mandates` (the member): grants a partner a mandate.
#[utoipa::path(
    post,
    path = "/v1/me/mandates",
    tag = "me",
    summary = "Grant a partner a mandate",
    description = "The member, with their session. The partner may then debit the member's \
        cards within `cap_operation` per debit and `cap_day` per day, until `valid_until` or \
        a revocation.",
    request_body(content(
        (MandateRequest = "application/json"),
        (MandateRequest = "application/x-www-form-urlencoded"),
    )),
    responses(
        (status = 201, description = "`MANDATE_CREATED`", body = Success<MandateJson>),
        (status = 400, description = "`VALIDATION_ERROR`, naming the field", body = Failure),
        (status = 404, description = "`PARTNER_NOT_FOUND_ERROR`", body = Failure),
    ),
    security(("bearer" = [])),
)]
pub(super) async fn create_mine(
    state: Data<AppState>,
    req: HttpRequest,
    principal: Principal,
    payload: Payload,
) -> HttpResponse {
    let lang = Lang::of(&req);
    reply(lang, grant(&state, &req, &principal, None, payload).await)
}

/// `GET /v1/me/mandates` (the member): their mandates, newest first.
#[utoipa::path(
    get,
    path = "/v1/me/mandates",
    tag = "me",
    summary = "My mandates",
    description = "The member, with their session: every mandate, revoked and expired ones \
        included, newest first.",
    responses((status = 200, description = "`MANDATE_LIST`", body = Success<MandatesJson>)),
    security(("bearer" = [])),
)]
pub(super) async fn list_mine(
    state: Data<AppState>,
    req: HttpRequest,
    principal: Principal,
) -> HttpResponse {
    let lang = Lang::of(&req);
    reply(
        lang,
        async {
            let items = state.mandates.list(&principal.domain(), None).await?;
            Ok(ok(
                lang,
                "MANDATE_LIST",
                MandatesJson {
                    items: items.into_iter().map(MandateJson::from).collect(),
                },
            ))
        }
        .await,
    )
}

/// `DELETE /v1/me/mandates/{mandate}` (the member): revokes it at once.
#[utoipa::path(
    delete,
    path = "/v1/me/mandates/{mandate}",
    tag = "me",
    summary = "Revoke a mandate",
    description = "The member, with their session. At once: a debit that has not committed \
        yet is refused with `MANDATE_REQUIRED_ERROR`. Revoking a revoked mandate changes \
        nothing.",
    params(MandateParam),
    responses(
        (status = 200, description = "`MANDATE_REVOKED`", body = Success<MandateJson>),
        (status = 404, description = "`MANDATE_NOT_FOUND_ERROR` (another member's too)", body = Failure),
    ),
    security(("bearer" = [])),
)]
pub(super) async fn revoke_mine(
    state: Data<AppState>,
    req: HttpRequest,
    principal: Principal,
    path: Path<String>,
) -> HttpResponse {
    let lang = Lang::of(&req);
    reply(
        lang,
        async {
            let id = id_path("mandate", &path)?;
            let mandate = state.mandates.revoke(&principal.domain(), None, id).await?;
            Ok(ok(lang, "MANDATE_REVOKED", MandateJson::from(mandate)))
        }
        .await,
    )
}

/// `POST /v1/members/{member}/mandates` (staff rights 3): a mandate on a member's behalf.
#[utoipa::path(
    post,
    path = "/v1/members/{member}/mandates",
    tag = "members",
    summary = "Grant a mandate on a member's behalf",
    description = "Staff rights 3, for a member who asked for it; recorded as \
        `granted_by: staff:<login>`.",
    params(MemberParam),
    request_body(content(
        (MandateRequest = "application/json"),
        (MandateRequest = "application/x-www-form-urlencoded"),
    )),
    responses(
        (status = 201, description = "`MANDATE_CREATED`", body = Success<MandateJson>),
        (status = 400, description = "`VALIDATION_ERROR`, naming the field", body = Failure),
        (status = 404, description = "`MEMBER_NOT_FOUND_ERROR`, `PARTNER_NOT_FOUND_ERROR`", body = Failure),
    ),
    security(("bearer" = [])),
)]
pub(super) async fn create_for_member(
    state: Data<AppState>,
    req: HttpRequest,
    principal: Principal,
    path: Path<String>,
    payload: Payload,
) -> HttpResponse {
    let lang = Lang::of(&req);
    let outcome = match member_path(&path) {
        Ok(member) => grant(&state, &req, &principal, Some(member), payload).await,
        Err(e) => Err(e),
    };
    reply(lang, outcome)
}

/// A partner's debit.
#[derive(Serialize, ToSchema)]
pub(crate) struct DebitJson {
    id: i64,
    transaction: i64,
    card: String,
    #[schema(value_type = Amount)]
    amount: String,
    /// The card's balance just after the operation answered: the debit, or its refund.
    #[schema(value_type = Amount)]
    balance: String,
    /// The partner's reference.
    reference: String,
    mandate: i64,
    /// RFC 3339.
    created_at: String,
    /// RFC 3339; set once refunded.
    refunded_at: Option<String>,
    /// Always `EUR`.
    currency: &'static str,
}

impl From<Debit> for DebitJson {
    fn from(d: Debit) -> DebitJson {
        DebitJson {
            id: d.id,
            transaction: d.transaction.0,
            card: d.card.to_string(),
            amount: d.amount.to_fixed2(),
            balance: d.balance_after.to_fixed2(),
            reference: d.reference,
            mandate: d.mandate,
            created_at: d.created_at.to_rfc3339(),
            refunded_at: d.refunded_at.map(|t| t.to_rfc3339()),
            currency: "EUR",
        }
    }
}

/// The body of a debit (JSON or form).
#[derive(ToSchema)]
#[allow(dead_code)] // describes the body that `Params` parses
struct DebitRequest {
    /// A positive amount within the mandate's caps.
    #[schema(value_type = AmountInput)]
    amount: String,
    /// The partner's own reference.
    reference: String,
}

/// The calling partner (scope `scope`), as registered; `Err` is the answer to give.
async fn partner(
    state: &AppState,
    principal: &Principal,
    scope: &str,
) -> Result<Result<Partner, DomainError>, HttpResponse> {
    principal
        .require_scope(scope)
        .map_err(|e| e.error_response())?;
    let Principal::Partner { client_id, .. } = principal else {
        return Ok(Err(DomainError::InsufficientRights));
    };
    Ok(match state.oauth.partner(client_id).await {
        Ok(Some(partner)) => Ok(partner),
        Ok(None) => Err(DomainError::InvalidToken),
        Err(e) => Err(e),
    })
}

/// `POST /v1/cards/{card}/debits` (scope `cards:debit`, partners only).
#[utoipa::path(
    post,
    path = "/v1/cards/{card}/debits",
    tag = "partners",
    summary = "Debit a card under the member's mandate (partners)",
    description = "Scope `cards:debit`, partners only. Refused without a live mandate of the \
        card's member to the partner (`MANDATE_REQUIRED_ERROR`, 403), above a cap \
        (`CAP_EXCEEDED_ERROR`, with the remaining allowance), below the card's floor \
        (`INSUFFICIENT_FUNDS_ERROR`). `Idempotency-Key` honoured: a replay answers the first \
        answer with `Idempotency-Replayed: true`.",
    params(
        CardParam,
        ("Idempotency-Key" = Option<String>, Header, description = "A client-chosen key making the request idempotent"),
    ),
    request_body(content(
        (DebitRequest = "application/json"),
        (DebitRequest = "application/x-www-form-urlencoded"),
    )),
    responses(
        (status = 201, description = "`CARD_DEBITED`; `Location` of the debit", body = Success<DebitJson>),
        (status = 400, description = "`VALIDATION_ERROR`", body = Failure),
        (status = 403, description = "`MANDATE_REQUIRED_ERROR`", body = Failure),
        (status = 404, description = "`CARD_NOT_FOUND_ERROR`", body = Failure),
        (status = 409, description = "`CAP_EXCEEDED_ERROR`, `INSUFFICIENT_FUNDS_ERROR`, card not usable, key reused", body = Failure),
    ),
    security(("bearer" = ["cards:debit"]), ("client_basic" = ["cards:debit"])),
)]
pub(super) async fn debit(
    state: Data<AppState>,
    req: HttpRequest,
    principal: Principal,
    path: Path<String>,
    payload: Payload,
) -> HttpResponse {
    let lang = Lang::of(&req);
    let partner = match partner(&state, &principal, "cards:debit").await {
        Ok(partner) => partner,
        Err(answer) => return answer,
    };
    reply(
        lang,
        async {
            let partner = partner?;
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
                "POST /v1/cards/{card}/debits\n{}\n{reference}",
                amount.cents()
            ));
            let done = state
                .mandates
                .debit(
                    &partner,
                    &card,
                    amount,
                    reference,
                    key.map(|k| (k, request_hash)),
                )
                .await?;
            let answer = created(
                lang,
                "CARD_DEBITED",
                &format!("/v1/debits/{}", done.debit.id),
                DebitJson::from(done.debit),
            );
            Ok(mark_replayed(answer, done.replayed))
        }
        .await,
    )
}

/// `GET /v1/debits/{debit}` (scope `cards:debit`, the partner that made it).
#[utoipa::path(
    get,
    path = "/v1/debits/{debit}",
    tag = "partners",
    summary = "One of my debits (partners)",
    description = "Scope `cards:debit`; another partner's debit is unknown.",
    params(DebitParam),
    responses(
        (status = 200, description = "`DEBIT`", body = Success<DebitJson>),
        (status = 404, description = "`DEBIT_NOT_FOUND_ERROR`", body = Failure),
    ),
    security(("bearer" = ["cards:debit"]), ("client_basic" = ["cards:debit"])),
)]
pub(super) async fn get_debit(
    state: Data<AppState>,
    req: HttpRequest,
    principal: Principal,
    path: Path<String>,
) -> HttpResponse {
    let lang = Lang::of(&req);
    let partner = match partner(&state, &principal, "cards:debit").await {
        Ok(partner) => partner,
        Err(answer) => return answer,
    };
    reply(
        lang,
        async {
            let partner = partner?;
            let id = id_path("debit", &path)?;
            let debit = state.mandates.get_debit(&partner, id).await?;
            Ok(ok(lang, "DEBIT", DebitJson::from(debit)))
        }
        .await,
    )
}

/// `POST /v1/debits/{debit}/refund` (scope `cards:debit`, the partner that made it).
#[utoipa::path(
    post,
    path = "/v1/debits/{debit}/refund",
    tag = "partners",
    summary = "Refund a debit (partners)",
    description = "Scope `cards:debit`, by the partner that made the debit, within 7 days, \
        once: the debit's transaction is cancelled and the amount is back on the card.",
    params(DebitParam),
    responses(
        (status = 200, description = "`DEBIT_REFUNDED`", body = Success<DebitJson>),
        (status = 404, description = "`DEBIT_NOT_FOUND_ERROR`", body = Failure),
        (status = 409, description = "`DEBIT_ALREADY_REFUNDED_ERROR`, `REFUND_WINDOW_CLOSED_ERROR`", body = Failure),
    ),
    security(("bearer" = ["cards:debit"]), ("client_basic" = ["cards:debit"])),
)]
pub(super) async fn refund(
    state: Data<AppState>,
    req: HttpRequest,
    principal: Principal,
    path: Path<String>,
) -> HttpResponse {
    let lang = Lang::of(&req);
    let partner = match partner(&state, &principal, "cards:debit").await {
        Ok(partner) => partner,
        Err(answer) => return answer,
    };
    reply(
        lang,
        async {
            let partner = partner?;
            let id = id_path("debit", &path)?;
            let done = state.mandates.refund(&partner, id).await?;
            let mut json = DebitJson::from(done.debit);
            json.balance = done.receipt.balance_after.to_fixed2();
            Ok(ok(lang, "DEBIT_REFUNDED", json))
        }
        .await,
    )
}
