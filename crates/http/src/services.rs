//! Seed 002's common endpoint, `POST /Services` (services.md): a provider — a partner —
//! consumes a service by its id with the token an administrator gave it for that service.
//! Services 1 (notification) and 2 (advertisement) are `POST /v1/notifications` and
//! `POST /v1/advertisements`, 3 (QR code: a coupon or a ticket) and 4 (micropayment: a debit
//! under the member's mandate) are `POST /v1/vouchers` and `POST /v1/cards/{card}/debits`.
//! Answers are in the `/v1` envelope.

use actix_web::web::{self, Data, Payload};
use actix_web::{HttpRequest, HttpResponse, ResponseError, Route};
use ardoise_auth::token_hash;
use ardoise_domain::voucher::{VoucherKind, VoucherRequest};
use ardoise_domain::NotificationRequest;
use ardoise_domain::{CardId, Channel, DomainError, Money};
use chrono::Utc;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::openapi::{operation, resources, AmountInput, Operation};
use crate::principal::Principal;
use crate::v1::mandates::DebitJson;
use crate::v1::notifications::{self, QueuedJson};
use crate::v1::vouchers::{time_field, IssuedJson, VoucherJson};
use crate::v1::{
    created, idempotency_key, keyed, mark_replayed, read_json, reply, Failure, Lang, Success,
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

/// Services 1 and 2's message, in seed 002's spellings (English, Spanish, French).
#[derive(Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct MessageParameters {
    #[serde(alias = "titulo", alias = "titre")]
    #[schema(min_length = 1, max_length = 32)]
    title: String,
    #[serde(alias = "mensaje")]
    #[schema(min_length = 1, max_length = 166)]
    message: String,
    /// `email`, `sms`, `push` (or `fcm`), `webhook`, in any case.
    #[serde(alias = "canal", alias = "cannel")]
    #[schema(example = "sms")]
    channel: String,
    /// An `https` URL.
    #[schema(max_length = 2048)]
    link: Option<String>,
    /// Service 2 only: a PNG or JPEG, base64, at most 200 KiB once decoded.
    #[schema(max_length = 280_000)]
    picture: Option<String>,
}

/// What the service needs.
#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
struct Parameters {
    /// The member the message is for (services 1 and 2): their id.
    #[schema(value_type = Option<i64>, minimum = 1)]
    destination: Option<Value>,
    /// Service 1.
    notification: Option<MessageParameters>,
    /// Service 2.
    advertisement: Option<MessageParameters>,
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

/// A channel as seed 002 writes it: any case, `FCM` for push.
fn seed_channel(text: &str) -> Result<Channel, DomainError> {
    let lower = text.to_ascii_lowercase();
    let name = match lower.as_str() {
        "fcm" => "push",
        "e-mail" | "mail" => "email",
        other => other,
    };
    Channel::parse(name).ok_or_else(|| {
        DomainError::malformed("field `channel` must be email, sms, push (fcm) or webhook")
    })
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
        (scope `cards:debit`, `Idempotency-Key` honoured); services 1 (notification) and 2 \
        (advertisement) are `POST /v1/notifications` and `POST /v1/advertisements` with \
        `parameters.destination` (the member's id) and `parameters.notification` or \
        `parameters.advertisement` (scope `notifications:send`, `Idempotency-Key` honoured).",
    params(
        ("Idempotency-Key" = Option<String>, Header, description = "For service 4: a client-chosen key making the debit idempotent"),
    ),
    request_body(content((ServiceRequest = "application/json"))),
    responses(
        (status = 201, description = "`VOUCHERS_ISSUED` (3) or `CARD_DEBITED` (4)", body = Success<IssuedJson>),
        (status = 202, description = "`NOTIFICATION_QUEUED` (1, 2); `Location` of its status",
            body = Success<QueuedJson>,
            headers(
                ("Location" = String, description = "/v1/notifications/{id}"),
                ("Idempotency-Replayed" = Option<String>, description = "`true` on a replay"),
            )),
        (status = 400, description = "`VALIDATION_ERROR`, naming the field", body = Failure),
        (status = 401, description = "`INVALID_TOKEN_ERROR`: a wrong `service_token`", body = Failure),
        (status = 403, description = "`INSUFFICIENT_RIGHTS_ERROR` (another provider's id), `MANDATE_REQUIRED_ERROR`", body = Failure),
        (status = 404, description = "As the operation's own route (`MEMBER_NOT_FOUND_ERROR`, …)", body = Failure),
        (status = 409, description = "As the operation's own route", body = Failure),
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
        1 | 2 => notifications::SCOPE,
        3 => "vouchers:issue",
        _ => "cards:debit",
    };
    if let Err(e) = principal.require_scope(scope) {
        return e.error_response();
    }
    let p = request.parameters;
    reply(
        lang,
        async {
            if service == 1 || service == 2 {
                let advertisement = service == 2;
                let (name, body) = if advertisement {
                    ("advertisement", p.advertisement)
                } else {
                    ("notification", p.notification)
                };
                let body = body.ok_or_else(|| {
                    DomainError::malformed(format!("field `parameters.{name}` is missing"))
                })?;
                let member = match &p.destination {
                    Some(Value::Number(n)) => n.as_i64(),
                    Some(Value::String(s)) => s.parse::<i64>().ok(),
                    _ => None,
                }
                .filter(|id| *id >= 1)
                .ok_or_else(|| {
                    DomainError::malformed(
                        "field `parameters.destination` must be the member's id (a whole number ≥ 1)",
                    )
                })?;
                if body.picture.is_some() && !advertisement {
                    return Err(DomainError::malformed(
                        "field `picture` is for advertisements (service 2) only",
                    ));
                }
                let fingerprint = serde_json::to_string(&(service, member, &body))
                    .map_err(|e| DomainError::Internal(e.to_string()))?;
                let picture = match body.picture {
                    Some(text) => Some(notifications::decode_off_worker(text).await?),
                    None => None,
                };
                let request = NotificationRequest {
                    to: notifications::recipient(Some(member), None)?,
                    title: body.title,
                    message: body.message,
                    channel: seed_channel(&body.channel)?,
                    link: body.link,
                    picture,
                    advertisement,
                    idempotency: keyed(&req, &fingerprint)?,
                };
                let queued = notifications::service(&state)?
                    .send(&principal.domain(), request)
                    .await?;
                Ok(notifications::accepted_message(lang, queued))
            } else if service == 3 {
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
