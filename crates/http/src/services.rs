//! Seed 002's common endpoint, `POST /Services` (services.md): a provider — a partner —
//! consumes a service by its id with the token an administrator gave it for that service.
//! Services 3 (QR code: a coupon or a ticket) and 4 (micropayment: a debit under the member's
//! mandate) are the same operations as `POST /v1/vouchers` and `POST /v1/cards/{card}/debits`;
//! 1 (notification) and 2 (advertisement) are not built yet and answer 501. Answers are in the
//! `/v1` envelope.

use actix_web::web::{self, Data, Payload};
use actix_web::{HttpRequest, HttpResponse, ResponseError, Route};
use ardoise_auth::token_hash;
use ardoise_domain::voucher::{VoucherKind, VoucherRequest};
use ardoise_domain::{CardId, DomainError, Money};
use chrono::Utc;
use serde::Deserialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::openapi::{operation, resources, AmountInput, Operation};
use crate::principal::Principal;
use crate::v1::mandates::DebitJson;
use crate::v1::vouchers::{time_field, IssuedJson, VoucherJson};
use crate::v1::{
    created, idempotency_key, mark_replayed, read_json, reply, Failure, Lang, Success,
};
use crate::AppState;

/// The `/Services` operation: what [`configure`] serves and the OpenAPI document describes.
pub fn operations() -> Vec<Operation> {
    vec![operation!(consume)]
}

/// Registers `POST /Services`; other methods answer 405 with `Allow` in the envelope.
pub fn configure(cfg: &mut web::ServiceConfig) {
    for resource in resources(operations(), "", refuse) {
        cfg.service(resource);
    }
}

fn refuse(allow: String) -> Route {
    web::to(move || {
        let allow = allow.clone();
        async move { crate::v1::method_not_allowed(&allow) }
    })
}

/// Service 3's parameters: a voucher as `POST /v1/vouchers` takes it.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct QrCodeParameters {
    /// `coupon` or `ticket`.
    kind: String,
    #[schema(value_type = Option<AmountInput>)]
    value: Option<Value>,
    product: Option<String>,
    label: Option<String>,
    /// RFC 3339.
    valid_until: Option<String>,
    count: Option<i64>,
}

/// Service 4's parameters: a debit as `POST /v1/cards/{card}/debits` takes it.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct MicroPaymentParameters {
    /// The card to debit (its member must have given the provider a mandate).
    card: String,
    #[schema(value_type = AmountInput)]
    amount: Value,
    /// The provider's own reference.
    reference: String,
}

/// What the service needs.
#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
struct Parameters {
    /// The user the service is for (notifications; not used by services 3 and 4).
    #[schema(value_type = Option<Object>)]
    #[allow(dead_code)] // accepted for services 1 and 2, not built yet
    destination: Option<Value>,
    /// Service 1 (not built yet).
    #[schema(value_type = Option<Object>)]
    #[allow(dead_code)] // accepted for services 1 and 2, not built yet
    notification: Option<Value>,
    /// Service 2 (not built yet).
    #[schema(value_type = Option<Object>)]
    #[allow(dead_code)] // accepted for services 1 and 2, not built yet
    advertisement: Option<Value>,
    /// Service 3.
    qr_code: Option<QrCodeParameters>,
    /// Service 4 (seed 002 spells it `microPayment`).
    #[serde(alias = "microPayment")]
    micropayment: Option<MicroPaymentParameters>,
}

/// The body of `POST /Services` (JSON).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct ServiceRequest {
    /// The provider's (partner's) client id; the token must be its own.
    #[schema(value_type = String)]
    provider_id: Value,
    /// The UUID given to the provider when the service was enabled for it.
    service_token: String,
    /// 1 notification, 2 advertisement, 3 QR code (coupon, ticket), 4 micropayment.
    #[schema(minimum = 1, maximum = 4)]
    service_id: i64,
    #[serde(default)]
    parameters: Parameters,
}

/// An amount given as a JSON string or number.
fn amount(name: &str, value: &Value) -> Result<Money, DomainError> {
    let text = match value {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => {
            return Err(DomainError::malformed(format!(
                "field `{name}` must be an amount such as \"5.00\""
            )))
        }
    };
    Money::parse(&text).map_err(|e| DomainError::malformed(format!("field `{name}`: {e}")))
}

/// `POST /Services` (a partner's token): seed 002's common endpoint.
#[utoipa::path(
    post,
    path = "/Services",
    tag = "services",
    summary = "Consume a service (seed 002)",
    description = "A partner's bearer token, its own `provider_id` and the service's \
        `service_token` (`POST /v1/partners/{client_id}/services`). Service 3 (QR code) is \
        `POST /v1/vouchers` with `parameters.qr_code` (scope `vouchers:issue`); service 4 \
        (micropayment) is `POST /v1/cards/{card}/debits` with `parameters.microPayment` \
        (scope `cards:debit`, `Idempotency-Key` honoured); services 1 and 2 are not built yet \
        (501 `SERVICE_NOT_AVAILABLE_ERROR`).",
    params(
        ("Idempotency-Key" = Option<String>, Header, description = "For service 4: a client-chosen key making the debit idempotent"),
    ),
    request_body(content((ServiceRequest = "application/json"))),
    responses(
        (status = 201, description = "`VOUCHERS_ISSUED` (3) or `CARD_DEBITED` (4)", body = Success<IssuedJson>),
        (status = 400, description = "`VALIDATION_ERROR`, naming the field", body = Failure),
        (status = 401, description = "`INVALID_TOKEN_ERROR`: a wrong `service_token`", body = Failure),
        (status = 403, description = "`INSUFFICIENT_RIGHTS_ERROR` (another provider's id), `MANDATE_REQUIRED_ERROR`", body = Failure),
        (status = 409, description = "As the operation's own route", body = Failure),
        (status = 501, description = "`SERVICE_NOT_AVAILABLE_ERROR`: services 1 and 2", body = Failure),
    ),
    security(("bearer" = []), ("client_basic" = [])),
)]
pub(crate) async fn consume(
    state: Data<AppState>,
    req: HttpRequest,
    principal: Principal,
    payload: Payload,
) -> HttpResponse {
    let lang = Lang::of(&req);
    let Principal::Partner { client_id, .. } = &principal else {
        return reply(lang, Err(DomainError::InsufficientRights));
    };
    let request: ServiceRequest = match read_json(&req, payload).await {
        Ok(request) => request,
        Err(e) => return reply(lang, Err(e)),
    };
    let provider = match &request.provider_id {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => String::new(),
    };
    if &provider != client_id {
        return reply(
            lang,
            Err(DomainError::malformed(
                "field `provider_id` must be the client id of the token's partner",
            )),
        );
    }
    let service = match i16::try_from(request.service_id) {
        Ok(s @ 1..=4) => s,
        _ => {
            return reply(
                lang,
                Err(DomainError::malformed(
                    "field `service_id` must be 1, 2, 3 or 4",
                )),
            )
        }
    };
    if let Err(e) = state
        .service_tokens
        .check(client_id, service, &request.service_token)
        .await
    {
        return reply(lang, Err(e));
    }
    let scope = match service {
        3 => "vouchers:issue",
        4 => "cards:debit",
        _ => return reply(lang, Err(DomainError::ServiceNotAvailable)),
    };
    if let Err(e) = principal.require_scope(scope) {
        return e.error_response();
    }
    let p = request.parameters;
    reply(
        lang,
        async {
            if service == 3 {
                let qr = p.qr_code.ok_or_else(|| {
                    DomainError::malformed("field `parameters.qr_code` is missing")
                })?;
                let kind = VoucherKind::parse(&qr.kind).ok_or_else(|| {
                    DomainError::malformed("field `kind` must be `coupon` or `ticket`")
                })?;
                let request = VoucherRequest {
                    kind,
                    value: qr.value.as_ref().map(|v| amount("value", v)).transpose()?,
                    product: qr.product,
                    label: qr.label,
                    valid_until: time_field("valid_until", qr.valid_until.as_deref())?,
                    count: qr.count,
                };
                let issued = state.vouchers.issue(&principal.domain(), request).await?;
                let location = issued
                    .first()
                    .map(|v| format!("/v1/vouchers/{}", v.code.as_str()))
                    .unwrap_or_default();
                let now = Utc::now();
                let items: Vec<VoucherJson> = issued
                    .into_iter()
                    .map(|v| VoucherJson::new(v, now))
                    .collect();
                Ok(created(
                    lang,
                    "VOUCHERS_ISSUED",
                    &location,
                    IssuedJson::new(items),
                ))
            } else {
                let micro = p.micropayment.ok_or_else(|| {
                    DomainError::malformed("field `parameters.microPayment` is missing")
                })?;
                let card = CardId::parse(&micro.card)
                    .map_err(|e| DomainError::malformed(format!("field `card`: {e}")))?;
                let amount = amount("amount", &micro.amount)?;
                let partner = state
                    .oauth
                    .partner(client_id)
                    .await?
                    .ok_or(DomainError::InvalidToken)?;
                let key = idempotency_key(&req)?;
                // The same request as `POST /v1/cards/{card}/debits`: one key, one debit.
                let hash = token_hash(&format!(
                    "POST /v1/cards/{card}/debits\n{}\n{}",
                    amount.cents(),
                    micro.reference
                ));
                let done = state
                    .mandates
                    .debit(
                        &partner,
                        &card,
                        amount,
                        &micro.reference,
                        key.map(|k| (k, hash)),
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
        }
        .await,
    )
}
