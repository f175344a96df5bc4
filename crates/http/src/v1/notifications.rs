//! Notifications and advertisements (services.md): `POST /v1/notifications`,
//! `POST /v1/advertisements`, `GET /v1/notifications[/{id}]`, and a partner's webhook
//! `PUT /v1/partners/{client_id}/webhook`. A message is queued in the outbox (202) and
//! delivered by the worker; its status tells how it went.

use actix_web::http::header;
use actix_web::web::{Data, Path, Payload};
use actix_web::{HttpRequest, HttpResponse, ResponseError};
use ardoise_domain::notifications::{NotificationRequest, Recipient};
use ardoise_domain::outbox::{Message, Queued, Status};
use ardoise_domain::{CardId, Channel, DomainError, MemberId, Notifications};
use base64::Engine;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{
    keyed, mark_replayed, ok, page_of, paged, read_json, render, reply, Failure, Lang, PageJson,
    Success,
};
use crate::principal::Principal;
use crate::AppState;

/// The scope a partner needs to send notifications and register its webhook.
pub const SCOPE: &str = "notifications:send";

/// A channel, as the wire names it (the schema; the body reads a string and names the field
/// when it is none of these).
#[derive(ToSchema)]
#[serde(rename_all = "lowercase")]
#[allow(dead_code)] // describes the values that `channel` parses
pub(crate) enum ChannelJson {
    Email,
    Sms,
    Push,
    Webhook,
}

/// The `channel` field.
fn channel(text: &str) -> Result<Channel, DomainError> {
    Channel::parse(text).ok_or_else(|| {
        DomainError::malformed("field `channel` must be email, sms, push or webhook")
    })
}

/// The body of `POST /v1/notifications`: `member` or `card`, not both.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NotificationBody {
    /// The member's id (or give `card`).
    #[schema(minimum = 1)]
    member: Option<i64>,
    /// A card of the member (or give `member`).
    card: Option<String>,
    #[schema(min_length = 1, max_length = 32)]
    title: String,
    #[schema(min_length = 1, max_length = 166)]
    message: String,
    #[schema(value_type = ChannelJson)]
    channel: String,
    /// An `https` URL.
    #[schema(max_length = 2048)]
    link: Option<String>,
}

/// The body of `POST /v1/advertisements`: a notification and an optional picture.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct AdvertisementBody {
    /// The member's id (or give `card`).
    #[schema(minimum = 1)]
    member: Option<i64>,
    /// A card of the member (or give `member`).
    card: Option<String>,
    #[schema(min_length = 1, max_length = 32)]
    title: String,
    #[schema(min_length = 1, max_length = 166)]
    message: String,
    #[schema(value_type = ChannelJson)]
    channel: String,
    /// An `https` URL.
    #[schema(max_length = 2048)]
    link: Option<String>,
    /// A PNG or JPEG, base64 (a `data:` URL is accepted), at most 200 KiB once decoded.
    #[schema(max_length = 280_000)]
    picture: Option<String>,
}

/// A message just queued.
#[derive(Serialize, ToSchema)]
pub(crate) struct QueuedJson {
    /// `msg_` and 32 hex digits: the same on every delivery attempt.
    id: String,
    /// `queued`, or `skipped` (then `reason` says why).
    #[schema(example = "queued")]
    status: &'static str,
    /// Why a message was skipped: `no_consent` (an advertisement to a member who did not opt
    /// in), `no_address` (the member has no address on the channel).
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
}

/// A message and how its delivery goes.
#[derive(Serialize, ToSchema)]
pub(crate) struct NotificationJson {
    id: String,
    /// `notification` or `advertisement` (or an event of ardoise's own: `low_balance`, …).
    event: String,
    /// `queued`, `sending`, `sent`, `failed` or `skipped`.
    status: &'static str,
    channel: &'static str,
    /// The member it is for.
    member: Option<i64>,
    /// Delivery attempts so far.
    attempts: u32,
    /// The last failure, or why it was skipped.
    last_error: Option<String>,
    /// For a skipped message: why.
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
    /// RFC 3339.
    created_at: String,
    /// RFC 3339, once sent.
    sent_at: Option<String>,
}

impl From<Message> for NotificationJson {
    fn from(m: Message) -> NotificationJson {
        let reason = (m.status == Status::Skipped)
            .then(|| m.last_error.clone())
            .flatten();
        NotificationJson {
            status: m.status.as_str(),
            channel: m.channel.as_str(),
            member: m.member.map(|id| id.0),
            attempts: m.attempts,
            last_error: m.last_error,
            reason,
            created_at: m.created_at.to_rfc3339(),
            sent_at: m.sent_at.map(|t| t.to_rfc3339()),
            event: m.event,
            id: m.id,
        }
    }
}

/// The 202 answer of a queued message: `Location` of its status, `Idempotency-Replayed` for a
/// replay.
pub(crate) fn accepted_message(lang: Lang, queued: Queued) -> HttpResponse {
    let m = queued.message;
    let reason = (m.status == Status::Skipped)
        .then(|| m.last_error.clone())
        .flatten();
    let mut builder = HttpResponse::Accepted();
    builder.insert_header((header::LOCATION, format!("/v1/notifications/{}", m.id)));
    let code = "NOTIFICATION_QUEUED";
    let answer = render(
        builder,
        &Success {
            success: true,
            code,
            message: super::success_message(lang, code),
            data: QueuedJson {
                id: m.id,
                status: m.status.as_str(),
                reason,
            },
        },
    );
    mark_replayed(answer, queued.replayed)
}

/// The notification use cases, or the refusal when this server has none wired.
pub(crate) fn service(state: &AppState) -> Result<&Notifications, DomainError> {
    state
        .notifications
        .as_ref()
        .ok_or(DomainError::ServiceNotAvailable)
}

/// Decodes and checks an advertisement's picture: base64 (or a `data:` URL), at most
/// 200 KiB, a PNG or a JPEG that decodes.
pub(crate) fn picture(text: &str) -> Result<Vec<u8>, DomainError> {
    let refuse = |why: String| DomainError::malformed(format!("field `picture` {why}"));
    let text = text.trim();
    let text = text
        .strip_prefix("data:")
        .and_then(|rest| rest.split_once(";base64,").map(|(_, data)| data))
        .unwrap_or(text);
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text)
        .map_err(|_| refuse("is not base64".into()))?;
    let max = ardoise_domain::notifications::PICTURE_MAX_BYTES;
    if bytes.len() > max {
        return Err(refuse(format!("is {} bytes: at most {max}", bytes.len())));
    }
    let format = image::guess_format(&bytes)
        .ok()
        .filter(|f| matches!(f, image::ImageFormat::Png | image::ImageFormat::Jpeg))
        .ok_or_else(|| refuse("is neither a PNG nor a JPEG".into()))?;
    // The dimensions first: a small file may claim a huge image (a decompression bomb).
    let (width, height) = image::ImageReader::with_format(std::io::Cursor::new(&bytes), format)
        .into_dimensions()
        .map_err(|e| refuse(format!("cannot be read: {e}")))?;
    if width > 4096 || height > 4096 {
        return Err(refuse(format!(
            "is {width} × {height} px: at most 4096 × 4096"
        )));
    }
    image::load_from_memory_with_format(&bytes, format)
        .map_err(|e| refuse(format!("cannot be decoded: {e}")))?;
    Ok(bytes)
}

/// The recipient: `member` or `card`, exactly one.
pub(crate) fn recipient(member: Option<i64>, card: Option<&str>) -> Result<Recipient, DomainError> {
    match (member, card) {
        (Some(id), None) if id >= 1 => Ok(Recipient::Member(MemberId(id))),
        (Some(_), None) => Err(DomainError::malformed(
            "field `member` must be a whole number ≥ 1",
        )),
        (None, Some(card)) => CardId::parse(card)
            .map(Recipient::Card)
            .map_err(|e| DomainError::malformed(format!("field `card`: {e}"))),
        (None, None) => Err(DomainError::malformed("give field `member` or `card`")),
        (Some(_), Some(_)) => Err(DomainError::malformed(
            "give field `member` or `card`, not both",
        )),
    }
}

/// Sends a checked request as `principal`, off the actix worker for the picture's decoding.
async fn send(
    state: &AppState,
    req: &HttpRequest,
    principal: &Principal,
    request: NotificationRequest,
) -> Result<HttpResponse, DomainError> {
    let queued = service(state)?.send(&principal.domain(), request).await?;
    Ok(accepted_message(Lang::of(req), queued))
}

/// The refusal of a partner without the scope (staff rights are the rules' to check).
fn unscoped(principal: &Principal) -> Option<HttpResponse> {
    principal
        .require_scope(SCOPE)
        .err()
        .map(|e| e.error_response())
}

/// `POST /v1/notifications` (scope `notifications:send`, or staff rights 3).
#[utoipa::path(
    post,
    path = "/v1/notifications",
    tag = "notifications",
    summary = "Send a notification to a member",
    description = "Scope `notifications:send` (a partner), or staff rights 3. The message is \
        queued in the outbox and delivered at least once, each attempt carrying its id; \
        `GET /v1/notifications/{id}` tells how it went. A member without an address on the \
        channel gets it `skipped` (`no_address`). A `webhook` notification goes to the \
        sending partner's webhook (`PUT /v1/partners/{client_id}/webhook`). \
        `Idempotency-Key` honoured.",
    params(
        ("Idempotency-Key" = Option<String>, Header, description = "A client-chosen key making the request idempotent"),
    ),
    request_body(content((NotificationBody = "application/json"))),
    responses(
        (status = 202, description = "`NOTIFICATION_QUEUED`; `Location` of its status",
            body = Success<QueuedJson>,
            headers(
                ("Location" = String, description = "/v1/notifications/{id}"),
                ("Idempotency-Replayed" = Option<String>, description = "`true` on a replay"),
            )),
        (status = 400, description = "`VALIDATION_ERROR`, naming the field", body = Failure),
        (status = 404, description = "`MEMBER_NOT_FOUND_ERROR`, `CARD_NOT_FOUND_ERROR`, `CARD_NOT_LINKED_ERROR`", body = Failure),
        (status = 409, description = "`CHANNEL_NOT_CONFIGURED_ERROR`, `IDEMPOTENCY_KEY_REUSED_ERROR`", body = Failure),
    ),
    security(("bearer" = ["notifications:send"]), ("client_basic" = ["notifications:send"])),
)]
pub(super) async fn create(
    state: Data<AppState>,
    req: HttpRequest,
    principal: Principal,
    payload: Payload,
) -> HttpResponse {
    if let Some(answer) = unscoped(&principal) {
        return answer;
    }
    let lang = Lang::of(&req);
    reply(
        lang,
        async {
            let body: NotificationBody = read_json(&req, payload).await?;
            let fingerprint =
                serde_json::to_string(&body).map_err(|e| DomainError::Internal(e.to_string()))?;
            let request = NotificationRequest {
                to: recipient(body.member, body.card.as_deref())?,
                title: body.title,
                message: body.message,
                channel: channel(&body.channel)?,
                link: body.link,
                picture: None,
                advertisement: false,
                idempotency: keyed(&req, &fingerprint)?,
            };
            send(&state, &req, &principal, request).await
        }
        .await,
    )
}

/// `POST /v1/advertisements` (scope `notifications:send`, or staff rights 3).
#[utoipa::path(
    post,
    path = "/v1/advertisements",
    tag = "notifications",
    summary = "Send an advertisement to a member (opt-in only)",
    description = "As `POST /v1/notifications`, plus an optional picture (base64 PNG or \
        JPEG, at most 200 KiB, decoded and checked). Delivered only to a member who opted in \
        to advertisements (`/v1/me/preferences`); otherwise the message is stored `skipped` \
        with reason `no_consent` and never sent.",
    params(
        ("Idempotency-Key" = Option<String>, Header, description = "A client-chosen key making the request idempotent"),
    ),
    request_body(content((AdvertisementBody = "application/json"))),
    responses(
        (status = 202, description = "`NOTIFICATION_QUEUED` (status `queued`, or `skipped` with its reason); `Location` of its status",
            body = Success<QueuedJson>,
            headers(
                ("Location" = String, description = "/v1/notifications/{id}"),
                ("Idempotency-Replayed" = Option<String>, description = "`true` on a replay"),
            )),
        (status = 400, description = "`VALIDATION_ERROR`, naming the field", body = Failure),
        (status = 404, description = "`MEMBER_NOT_FOUND_ERROR`, `CARD_NOT_FOUND_ERROR`, `CARD_NOT_LINKED_ERROR`", body = Failure),
        (status = 409, description = "`CHANNEL_NOT_CONFIGURED_ERROR`, `IDEMPOTENCY_KEY_REUSED_ERROR`", body = Failure),
    ),
    security(("bearer" = ["notifications:send"]), ("client_basic" = ["notifications:send"])),
)]
pub(super) async fn advertise(
    state: Data<AppState>,
    req: HttpRequest,
    principal: Principal,
    payload: Payload,
) -> HttpResponse {
    if let Some(answer) = unscoped(&principal) {
        return answer;
    }
    let lang = Lang::of(&req);
    reply(
        lang,
        async {
            let body: AdvertisementBody = read_json(&req, payload).await?;
            let fingerprint =
                serde_json::to_string(&body).map_err(|e| DomainError::Internal(e.to_string()))?;
            let to = recipient(body.member, body.card.as_deref())?;
            let picture = match body.picture {
                Some(text) => Some(decode_off_worker(text).await?),
                None => None,
            };
            let request = NotificationRequest {
                to,
                title: body.title,
                message: body.message,
                channel: channel(&body.channel)?,
                link: body.link,
                picture,
                advertisement: true,
                idempotency: keyed(&req, &fingerprint)?,
            };
            send(&state, &req, &principal, request).await
        }
        .await,
    )
}

/// Decodes a picture on the blocking pool: decoding an image is CPU work.
pub(crate) async fn decode_off_worker(text: String) -> Result<Vec<u8>, DomainError> {
    actix_web::web::block(move || picture(&text))
        .await
        .map_err(|e| DomainError::Internal(format!("a picture check failed: {e}")))?
}

/// The message in a path.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)] // describes a path segment that the handler reads itself
struct NotificationParam {
    /// The message id, `msg_…`.
    id: String,
}

/// `GET /v1/notifications/{id}` (its sender).
#[utoipa::path(
    get,
    path = "/v1/notifications/{id}",
    tag = "notifications",
    summary = "How a notification's delivery goes",
    description = "Its sender (the partner with scope `notifications:send`, the staff user); \
        staff rights 3 see any. Another sender's message is unknown.",
    params(NotificationParam),
    responses(
        (status = 200, description = "`NOTIFICATION`", body = Success<NotificationJson>),
        (status = 404, description = "`NOTIFICATION_NOT_FOUND_ERROR`", body = Failure),
    ),
    security(("bearer" = ["notifications:send"]), ("client_basic" = ["notifications:send"])),
)]
pub(super) async fn get(
    state: Data<AppState>,
    req: HttpRequest,
    principal: Principal,
    path: Path<String>,
) -> HttpResponse {
    if let Some(answer) = unscoped(&principal) {
        return answer;
    }
    let lang = Lang::of(&req);
    reply(
        lang,
        async {
            let message = service(&state)?.get(&principal.domain(), &path).await?;
            Ok(ok(lang, "NOTIFICATION", NotificationJson::from(message)))
        }
        .await,
    )
}

/// `GET /v1/notifications` (the caller's own, newest first).
#[utoipa::path(
    get,
    path = "/v1/notifications",
    tag = "notifications",
    summary = "The notifications I sent",
    description = "The caller's messages (a partner's, or a staff user's), newest first, \
        paged (`?page=&per_page=`, at most 500 a page).",
    params(crate::openapi::PageParams),
    responses(
        (status = 200, description = "`NOTIFICATION_LIST`, with a `Link` header",
            body = Success<PageJson<NotificationJson>>,
            headers(("Link" = Option<String>, description = "The next and previous pages"))),
        (status = 400, description = "`VALIDATION_ERROR`", body = Failure),
    ),
    security(("bearer" = ["notifications:send"]), ("client_basic" = ["notifications:send"])),
)]
pub(super) async fn list(
    state: Data<AppState>,
    req: HttpRequest,
    principal: Principal,
) -> HttpResponse {
    if let Some(answer) = unscoped(&principal) {
        return answer;
    }
    let lang = Lang::of(&req);
    reply(
        lang,
        async {
            let page = page_of(&req)?;
            let list = service(&state)?.list(&principal.domain(), page).await?;
            Ok(paged(
                &req,
                lang,
                "NOTIFICATION_LIST",
                list.map(NotificationJson::from),
            ))
        }
        .await,
    )
}

/// The body of `PUT /v1/partners/{client_id}/webhook`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct WebhookBody {
    /// Where deliveries are posted: an `https` URL.
    #[schema(max_length = 2048)]
    url: String,
}

/// A webhook registered, with its signing secret.
#[derive(Serialize, ToSchema)]
struct WebhookJson {
    url: String,
    /// `whsec_` + base64: shown in this answer only. Deliveries are signed with it as
    /// Standard Webhooks do (`webhook-id`, `webhook-timestamp`, `webhook-signature`).
    secret: String,
}

/// The partner in a path.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)] // describes a path segment that the handler reads itself
struct ClientIdParam {
    /// The partner's client id.
    client_id: String,
}

/// `PUT /v1/partners/{client_id}/webhook` (staff 3, or the partner itself).
#[utoipa::path(
    put,
    path = "/v1/partners/{client_id}/webhook",
    tag = "notifications",
    summary = "Register a partner's webhook",
    description = "Staff rights 3, or the partner itself with scope `notifications:send`. \
        Answers the URL and a new signing secret (`whsec_` + base64), shown once; registering \
        again replaces both, and the deliveries not made yet are signed with the new secret.",
    params(ClientIdParam),
    request_body(content((WebhookBody = "application/json"))),
    responses(
        (status = 200, description = "`WEBHOOK_SET`", body = Success<WebhookJson>),
        (status = 400, description = "`VALIDATION_ERROR`: not an https URL", body = Failure),
        (status = 403, description = "`INSUFFICIENT_RIGHTS_ERROR`: another partner's webhook", body = Failure),
        (status = 404, description = "`PARTNER_NOT_FOUND_ERROR`", body = Failure),
    ),
    security(("bearer" = ["notifications:send"]), ("client_basic" = ["notifications:send"])),
)]
pub(super) async fn set_webhook(
    state: Data<AppState>,
    req: HttpRequest,
    principal: Principal,
    path: Path<String>,
    payload: Payload,
) -> HttpResponse {
    if let Some(answer) = unscoped(&principal) {
        return answer;
    }
    let lang = Lang::of(&req);
    reply(
        lang,
        async {
            let body: WebhookBody = read_json(&req, payload).await?;
            let hook = service(&state)?
                .set_webhook(&principal.domain(), &path, &body.url)
                .await?;
            Ok(ok(
                lang,
                "WEBHOOK_SET",
                WebhookJson {
                    url: hook.url,
                    secret: hook.secret,
                },
            ))
        }
        .await,
    )
}
