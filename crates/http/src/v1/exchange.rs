//! The members' exchange (`exchange.md`): offers, conversations, moderation and payments from
//! member to member. Each handler parses, calls one use case of `Exchange` with the caller's
//! principal — which decides who may do what: a member in their own conversations, staff
//! rights 3 as moderators — and renders.

use actix_web::web::{Data, Path, Payload};
use actix_web::{HttpRequest, HttpResponse};
use ardoise_domain::exchange::{
    ConversationView, Exchange, Message, Offer, OfferDraft, OfferFilter, OfferKind, Transfer,
    TransferRequest,
};
use ardoise_domain::{DomainError, MemberId, Money, Receipt, TransactionId};
use chrono::{NaiveDate, TimeZone, Utc};
use serde::Serialize;
use utoipa::{IntoParams, ToSchema};

use super::members::member_path;
use super::{
    created, keyed, mark_replayed, no_content, ok, page_of, paged, read_params, reply,
    transaction_path, Failure, Lang, PageJson, Success,
};
use crate::openapi::{Amount, AmountInput, MemberParam, PageParams};
use crate::params::{Params, Ty};
use crate::principal::Principal;
use crate::AppState;

/// The exchange's use cases, or `ExchangeDisabled` when it is not wired or switched off.
fn exchange(state: &AppState) -> Result<&Exchange, DomainError> {
    state
        .exchange
        .as_ref()
        .filter(|e| e.enabled())
        .ok_or(DomainError::ExchangeDisabled)
}

fn id_path(text: &str, what: &str) -> Result<i64, DomainError> {
    text.parse::<i64>()
        .ok()
        .filter(|id| *id > 0 && !text.starts_with('+'))
        .ok_or_else(|| DomainError::malformed(format!("the {what} id is not a whole number ≥ 1")))
}

fn money(m: Money) -> String {
    m.to_fixed2()
}

fn date_opt(p: &Params, name: &str) -> Result<Option<NaiveDate>, DomainError> {
    p.get(name)
        .map(|text| {
            NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| {
                DomainError::malformed(format!("field `{name}` is not a date (YYYY-MM-DD)"))
            })
        })
        .transpose()
}

fn kind_of(text: &str, name: &str) -> Result<OfferKind, DomainError> {
    OfferKind::parse(text).ok_or_else(|| {
        DomainError::malformed(format!("field `{name}` must be `offer` or `request`"))
    })
}

fn positive_id(value: Option<i64>, name: &str) -> Result<Option<i64>, DomainError> {
    match value {
        Some(id) if id < 1 => Err(DomainError::malformed(format!(
            "field `{name}` must be a whole number ≥ 1"
        ))),
        other => Ok(other),
    }
}

/// An offer or a request.
#[derive(Serialize, ToSchema)]
pub(super) struct OfferJson {
    id: i64,
    /// The member who published it.
    member: i64,
    /// `offer` or `request`.
    kind: &'static str,
    category: i64,
    /// `null` once the category was deleted.
    category_name: Option<String>,
    description: String,
    /// `YYYY-MM-DD`.
    wished_from: Option<String>,
    /// `YYYY-MM-DD`.
    wished_until: Option<String>,
    #[schema(value_type = Option<Amount>)]
    price: Option<String>,
    /// `open` or `closed`.
    status: &'static str,
    /// `member:<id>` or `staff:<login>` (a moderator).
    closed_by: Option<String>,
    /// RFC 3339.
    created_at: String,
    /// RFC 3339.
    updated_at: String,
}

impl From<Offer> for OfferJson {
    fn from(o: Offer) -> OfferJson {
        OfferJson {
            id: o.id,
            member: o.member.0,
            kind: o.kind.as_str(),
            category: o.category,
            category_name: o.category_name,
            description: o.description,
            wished_from: o.wished_from.map(|d| d.to_string()),
            wished_until: o.wished_until.map(|d| d.to_string()),
            price: o.price.map(money),
            status: if o.open { "open" } else { "closed" },
            closed_by: o.closed_by,
            created_at: o.created_at.to_rfc3339(),
            updated_at: o.updated_at.to_rfc3339(),
        }
    }
}

/// The body of `POST /v1/offers` (JSON or form).
#[derive(ToSchema)]
#[allow(dead_code)] // describes the body that the handler parses with `Params`
struct OfferRequest {
    /// `offer` or `request`.
    #[schema(example = "offer")]
    kind: String,
    /// A category of `/v1/categories`.
    category: i64,
    #[schema(min_length = 1, max_length = 2000)]
    description: String,
    /// `YYYY-MM-DD`, not after `wished_until`.
    wished_from: Option<String>,
    /// `YYYY-MM-DD`.
    wished_until: Option<String>,
    #[schema(value_type = Option<AmountInput>)]
    price: Option<String>,
}

const OFFER_FIELDS: [(&str, Ty); 6] = [
    ("kind", Ty::Text),
    ("category", Ty::Int),
    ("description", Ty::Text),
    ("wished_from", Ty::Text),
    ("wished_until", Ty::Text),
    ("price", Ty::Money),
];

/// An offer's fields from a body; absent ones from `current` (an edit), else required.
fn offer_draft(p: &Params, current: Option<&Offer>) -> Result<OfferDraft, DomainError> {
    let kind = match (p.get("kind"), current) {
        (Some(text), _) => kind_of(text, "kind")?,
        (None, Some(o)) => o.kind,
        (None, None) => return Err(DomainError::malformed("field `kind` is missing")),
    };
    let category = match (positive_id(p.whole_opt("category")?, "category")?, current) {
        (Some(id), _) => id,
        (None, Some(o)) => o.category,
        (None, None) => return Err(DomainError::malformed("field `category` is missing")),
    };
    let description = match (p.given("description"), current) {
        (Some(text), _) => text.to_owned(),
        (None, Some(o)) => o.description.clone(),
        (None, None) => return Err(DomainError::malformed("field `description` is missing")),
    };
    // In an edit, a blank or null date or price unsets it.
    let keep = |name: &str| current.is_some() && p.given(name).is_none();
    Ok(OfferDraft {
        kind,
        category,
        description,
        wished_from: if keep("wished_from") {
            current.and_then(|o| o.wished_from)
        } else {
            date_opt(p, "wished_from")?
        },
        wished_until: if keep("wished_until") {
            current.and_then(|o| o.wished_until)
        } else {
            date_opt(p, "wished_until")?
        },
        price: if keep("price") {
            current.and_then(|o| o.price)
        } else {
            p.money_opt("price")?
        },
    })
}

/// The filters of `GET /v1/offers`.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // describes the query that the handler parses itself
struct OfferQuery {
    /// Only this category.
    category: Option<i64>,
    /// Words that must all appear in the description (case-insensitive).
    q: Option<String>,
    /// `offer` or `request`.
    kind: Option<String>,
    /// Only this member's.
    member: Option<i64>,
    /// `all`: closed ones too (staff only); default `open`.
    status: Option<String>,
}

/// `GET /v1/offers` [member, staff ≥1]: open offers, newest first, filtered.
#[utoipa::path(
    get,
    path = "/v1/offers",
    tag = "exchange",
    summary = "The offers and requests (members, staff ≥ 1)",
    description = "Newest first; only open ones unless staff ask `status=all`.",
    params(OfferQuery, PageParams),
    responses(
        (status = 200, description = "`OFFER_LIST`", body = Success<PageJson<OfferJson>>),
        (status = 400, description = "`VALIDATION_ERROR`", body = Failure),
        (status = 403, description = "`EXCHANGE_DISABLED_ERROR`", body = Failure),
    ),
    security(("bearer" = [])),
)]
pub(super) async fn list_offers(
    state: Data<AppState>,
    req: HttpRequest,
    principal: Principal,
) -> HttpResponse {
    let lang = Lang::of(&req);
    reply(
        lang,
        async {
            let page = page_of(&req)?;
            let query = Params::from_form(req.query_string().as_bytes())?;
            let filter = OfferFilter {
                category: positive_id(query.whole_opt("category")?, "category")?,
                words: query
                    .get("q")
                    .map(|q| q.split_whitespace().map(str::to_owned).collect())
                    .unwrap_or_default(),
                kind: query.get("kind").map(|k| kind_of(k, "kind")).transpose()?,
                member: positive_id(query.whole_opt("member")?, "member")?.map(MemberId),
                all: match query.get("status") {
                    None | Some("open") => false,
                    Some("all") => true,
                    Some(_) => {
                        return Err(DomainError::malformed(
                            "field `status` must be `open` or `all`",
                        ))
                    }
                },
            };
            let list = exchange(&state)?
                .offers(&principal.domain(), filter, page)
                .await?;
            Ok(paged(&req, lang, "OFFER_LIST", list.map(OfferJson::from)))
        }
        .await,
    )
}

/// `POST /v1/offers` [member]: publishes an offer or a request → 201.
#[utoipa::path(
    post,
    path = "/v1/offers",
    tag = "exchange",
    summary = "Publish an offer or a request (a member's token)",
    request_body(content(
        (OfferRequest = "application/json"),
        (OfferRequest = "application/x-www-form-urlencoded"),
    )),
    responses(
        (status = 201, description = "`OFFER_CREATED`; `Location` of the offer", body = Success<OfferJson>),
        (status = 400, description = "`VALIDATION_ERROR`, naming the field", body = Failure),
        (status = 403, description = "Not a member; `MEMBER_SUSPENDED_ERROR`; `EXCHANGE_DISABLED_ERROR`", body = Failure),
        (status = 404, description = "`CATEGORY_NOT_FOUND_ERROR`", body = Failure),
    ),
    security(("bearer" = [])),
)]
pub(super) async fn create_offer(
    state: Data<AppState>,
    req: HttpRequest,
    principal: Principal,
    payload: Payload,
) -> HttpResponse {
    let lang = Lang::of(&req);
    reply(
        lang,
        async {
            let exchange = exchange(&state)?;
            let p = read_params(&req, payload, &OFFER_FIELDS).await?;
            let offer = exchange
                .publish(&principal.domain(), offer_draft(&p, None)?)
                .await?;
            Ok(created(
                lang,
                "OFFER_CREATED",
                &format!("/v1/offers/{}", offer.id),
                OfferJson::from(offer),
            ))
        }
        .await,
    )
}

/// The offer in a path.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)] // describes a path segment that the handlers parse themselves
struct OfferParam {
    /// The offer's id.
    offer: i64,
}

/// `GET /v1/offers/{offer}` [member, staff ≥1].
#[utoipa::path(
    get,
    path = "/v1/offers/{offer}",
    tag = "exchange",
    summary = "One offer (members, staff ≥ 1)",
    params(OfferParam),
    responses(
        (status = 200, description = "`OFFER`", body = Success<OfferJson>),
        (status = 404, description = "`OFFER_NOT_FOUND_ERROR`", body = Failure),
    ),
    security(("bearer" = [])),
)]
pub(super) async fn get_offer(
    state: Data<AppState>,
    req: HttpRequest,
    principal: Principal,
    path: Path<String>,
) -> HttpResponse {
    let lang = Lang::of(&req);
    reply(
        lang,
        async {
            let id = id_path(&path, "offer")?;
            let offer = exchange(&state)?.offer(&principal.domain(), id).await?;
            Ok(ok(lang, "OFFER", OfferJson::from(offer)))
        }
        .await,
    )
}

/// `PATCH /v1/offers/{offer}` [its author, staff 3]: the given fields change.
#[utoipa::path(
    patch,
    path = "/v1/offers/{offer}",
    tag = "exchange",
    summary = "Edit an open offer (its author, or staff rights 3)",
    description = "The given fields change, the others stay; a blank or `null` date or price \
        unsets it.",
    params(OfferParam),
    request_body(content(
        (OfferRequest = "application/json"),
        (OfferRequest = "application/x-www-form-urlencoded"),
    )),
    responses(
        (status = 200, description = "`OFFER_UPDATED`", body = Success<OfferJson>),
        (status = 400, description = "`VALIDATION_ERROR`", body = Failure),
        (status = 403, description = "Not its author nor a moderator", body = Failure),
        (status = 404, description = "`OFFER_NOT_FOUND_ERROR`, `CATEGORY_NOT_FOUND_ERROR`", body = Failure),
        (status = 409, description = "`OFFER_CLOSED_ERROR`", body = Failure),
    ),
    security(("bearer" = [])),
)]
pub(super) async fn edit_offer(
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
            let exchange = exchange(&state)?;
            let id = id_path(&path, "offer")?;
            let p = read_params(&req, payload, &OFFER_FIELDS).await?;
            let principal = principal.domain();
            let current = exchange.offer(&principal, id).await?;
            let draft = offer_draft(&p, Some(&current))?;
            let offer = exchange.edit_offer(&principal, id, draft).await?;
            Ok(ok(lang, "OFFER_UPDATED", OfferJson::from(offer)))
        }
        .await,
    )
}

/// `POST /v1/offers/{offer}/close` [its author, staff 3].
#[utoipa::path(
    post,
    path = "/v1/offers/{offer}/close",
    tag = "exchange",
    summary = "Close an offer (its author, or staff rights 3 as moderator, recorded)",
    params(OfferParam),
    responses(
        (status = 200, description = "`OFFER_CLOSED`", body = Success<OfferJson>),
        (status = 403, description = "Not its author nor a moderator", body = Failure),
        (status = 404, description = "`OFFER_NOT_FOUND_ERROR`", body = Failure),
        (status = 409, description = "`OFFER_CLOSED_ERROR`: closed already", body = Failure),
    ),
    security(("bearer" = [])),
)]
pub(super) async fn close_offer(
    state: Data<AppState>,
    req: HttpRequest,
    principal: Principal,
    path: Path<String>,
) -> HttpResponse {
    let lang = Lang::of(&req);
    reply(
        lang,
        async {
            let id = id_path(&path, "offer")?;
            let offer = exchange(&state)?
                .close_offer(&principal.domain(), id)
                .await?;
            Ok(ok(lang, "OFFER_CLOSED", OfferJson::from(offer)))
        }
        .await,
    )
}

/// A message; a hidden one has no text.
#[derive(Serialize, ToSchema)]
pub(super) struct MessageJson {
    id: i64,
    conversation: i64,
    /// The member who wrote it.
    author: i64,
    /// `null` when a moderator hid it.
    text: Option<String>,
    hidden: bool,
    /// RFC 3339.
    created_at: String,
}

impl From<Message> for MessageJson {
    fn from(m: Message) -> MessageJson {
        MessageJson {
            id: m.id,
            conversation: m.conversation,
            author: m.author.0,
            text: (!m.hidden).then_some(m.text),
            hidden: m.hidden,
            created_at: m.created_at.to_rfc3339(),
        }
    }
}

/// A conversation as its member lists it.
#[derive(Serialize, ToSchema)]
pub(super) struct ConversationJson {
    id: i64,
    /// The other member.
    with: i64,
    /// The other member's name.
    with_name: String,
    /// The offer it is about, if any.
    offer: Option<i64>,
    last_message: Option<MessageJson>,
    /// Messages of the other member not read yet.
    unread: u64,
    /// RFC 3339.
    last_activity: String,
}

impl From<ConversationView> for ConversationJson {
    fn from(v: ConversationView) -> ConversationJson {
        let s = v.summary;
        ConversationJson {
            id: s.conversation.id,
            with: s.other.0,
            with_name: v.other_name,
            offer: s.conversation.offer,
            last_message: s.last_message.map(MessageJson::from),
            unread: s.unread,
            last_activity: s.conversation.last_activity.to_rfc3339(),
        }
    }
}

/// The body of `POST /v1/conversations`.
#[derive(ToSchema)]
#[allow(dead_code)] // describes the body that the handler parses with `Params`
struct ConversationRequest {
    /// The member written to.
    with: i64,
    /// The offer it is about.
    offer: Option<i64>,
    #[schema(min_length = 1, max_length = 2000)]
    text: String,
}

/// The body of `POST /v1/conversations/{conversation}/messages`.
#[derive(ToSchema)]
#[allow(dead_code)] // describes the body that the handler parses with `Params`
struct MessageRequest {
    #[schema(min_length = 1, max_length = 2000)]
    text: String,
}

/// `GET /v1/conversations` [member]: mine, newest activity first.
#[utoipa::path(
    get,
    path = "/v1/conversations",
    tag = "exchange",
    summary = "My conversations (a member's token)",
    description = "Newest activity first, each with the other member's name, the offer, the \
        last message and my unread count.",
    params(PageParams),
    responses(
        (status = 200, description = "`CONVERSATION_LIST`", body = Success<PageJson<ConversationJson>>),
        (status = 403, description = "Not a member", body = Failure),
    ),
    security(("bearer" = [])),
)]
pub(super) async fn list_conversations(
    state: Data<AppState>,
    req: HttpRequest,
    principal: Principal,
) -> HttpResponse {
    let lang = Lang::of(&req);
    reply(
        lang,
        async {
            let page = page_of(&req)?;
            let list = exchange(&state)?
                .conversations(&principal.domain(), page)
                .await?;
            Ok(paged(
                &req,
                lang,
                "CONVERSATION_LIST",
                list.map(ConversationJson::from),
            ))
        }
        .await,
    )
}

/// The conversation and message just written.
#[derive(Serialize, ToSchema)]
pub(super) struct PostedJson {
    conversation: i64,
    message: MessageJson,
}

/// `POST /v1/conversations` [member]: writes to a member → 201.
#[utoipa::path(
    post,
    path = "/v1/conversations",
    tag = "exchange",
    summary = "Write to a member (a member's token)",
    description = "About an offer or not; writing again to the same member about the same \
        offer continues the same conversation. The recipient is notified at most once per \
        conversation per 10 minutes.",
    request_body(content(
        (ConversationRequest = "application/json"),
        (ConversationRequest = "application/x-www-form-urlencoded"),
    )),
    responses(
        (status = 201, description = "`MESSAGE_SENT`; `Location` of the conversation's messages", body = Success<PostedJson>),
        (status = 400, description = "`VALIDATION_ERROR`", body = Failure),
        (status = 403, description = "Not a member; `MEMBER_SUSPENDED_ERROR`", body = Failure),
        (status = 404, description = "`MEMBER_NOT_FOUND_ERROR`, `OFFER_NOT_FOUND_ERROR`", body = Failure),
    ),
    security(("bearer" = [])),
)]
pub(super) async fn start_conversation(
    state: Data<AppState>,
    req: HttpRequest,
    principal: Principal,
    payload: Payload,
) -> HttpResponse {
    let lang = Lang::of(&req);
    reply(
        lang,
        async {
            let exchange = exchange(&state)?;
            let p = read_params(
                &req,
                payload,
                &[("with", Ty::Int), ("offer", Ty::Int), ("text", Ty::Text)],
            )
            .await?;
            let with = positive_id(p.whole_opt("with")?, "with")?
                .ok_or_else(|| DomainError::malformed("field `with` is missing"))?;
            let offer = positive_id(p.whole_opt("offer")?, "offer")?;
            let text = p.given("text").unwrap_or_default();
            let (conversation, message) = exchange
                .write_to(&principal.domain(), MemberId(with), offer, text)
                .await?;
            Ok(created(
                lang,
                "MESSAGE_SENT",
                &format!("/v1/conversations/{}/messages", conversation.id),
                PostedJson {
                    conversation: conversation.id,
                    message: message.into(),
                },
            ))
        }
        .await,
    )
}

/// The conversation in a path.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)] // describes a path segment that the handlers parse themselves
struct ConversationParam {
    /// The conversation's id.
    conversation: i64,
}

/// `GET /v1/conversations/{conversation}/messages` [its members; staff 3 once reported].
#[utoipa::path(
    get,
    path = "/v1/conversations/{conversation}/messages",
    tag = "exchange",
    summary = "A conversation's messages (its two members; staff 3 once reported)",
    description = "Oldest first; read by one of its members, the page's messages are marked \
        read. Anyone else: 404, as for a conversation that does not exist.",
    params(ConversationParam, PageParams),
    responses(
        (status = 200, description = "`MESSAGE_LIST`", body = Success<PageJson<MessageJson>>),
        (status = 404, description = "`CONVERSATION_NOT_FOUND_ERROR`", body = Failure),
    ),
    security(("bearer" = [])),
)]
pub(super) async fn messages(
    state: Data<AppState>,
    req: HttpRequest,
    principal: Principal,
    path: Path<String>,
) -> HttpResponse {
    let lang = Lang::of(&req);
    reply(
        lang,
        async {
            let id = id_path(&path, "conversation")?;
            let page = page_of(&req)?;
            let list = exchange(&state)?
                .messages(&principal.domain(), id, page)
                .await?;
            Ok(paged(
                &req,
                lang,
                "MESSAGE_LIST",
                list.map(MessageJson::from),
            ))
        }
        .await,
    )
}

/// `POST /v1/conversations/{conversation}/messages` [its members] → 201.
#[utoipa::path(
    post,
    path = "/v1/conversations/{conversation}/messages",
    tag = "exchange",
    summary = "Answer in a conversation (one of its two members)",
    params(ConversationParam),
    request_body(content(
        (MessageRequest = "application/json"),
        (MessageRequest = "application/x-www-form-urlencoded"),
    )),
    responses(
        (status = 201, description = "`MESSAGE_SENT`", body = Success<PostedJson>),
        (status = 400, description = "`VALIDATION_ERROR`", body = Failure),
        (status = 403, description = "`MEMBER_SUSPENDED_ERROR`", body = Failure),
        (status = 404, description = "`CONVERSATION_NOT_FOUND_ERROR`", body = Failure),
    ),
    security(("bearer" = [])),
)]
pub(super) async fn write(
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
            let exchange = exchange(&state)?;
            let id = id_path(&path, "conversation")?;
            let p = read_params(&req, payload, &[("text", Ty::Text)]).await?;
            let text = p.given("text").unwrap_or_default();
            let (conversation, message) = exchange.answer(&principal.domain(), id, text).await?;
            Ok(created(
                lang,
                "MESSAGE_SENT",
                &format!("/v1/conversations/{}/messages", conversation.id),
                PostedJson {
                    conversation: conversation.id,
                    message: message.into(),
                },
            ))
        }
        .await,
    )
}

/// `POST /v1/conversations/{conversation}/report` [its members] → 204.
#[utoipa::path(
    post,
    path = "/v1/conversations/{conversation}/report",
    tag = "exchange",
    summary = "Report a conversation to the moderators (one of its two members)",
    description = "From then on staff with rights 3 may read it, hide its messages and \
        suspend a member.",
    params(ConversationParam),
    responses(
        (status = 204, description = "Reported"),
        (status = 404, description = "`CONVERSATION_NOT_FOUND_ERROR`", body = Failure),
    ),
    security(("bearer" = [])),
)]
pub(super) async fn report(
    state: Data<AppState>,
    req: HttpRequest,
    principal: Principal,
    path: Path<String>,
) -> HttpResponse {
    let lang = Lang::of(&req);
    reply(
        lang,
        async {
            let id = id_path(&path, "conversation")?;
            exchange(&state)?.report(&principal.domain(), id).await?;
            Ok(no_content())
        }
        .await,
    )
}

/// The message in a path.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)] // describes path segments that the handlers parse themselves
struct MessageParam {
    /// The conversation's id.
    conversation: i64,
    /// The message's id.
    message: i64,
}

/// `POST /v1/conversations/{conversation}/messages/{message}/hide` [staff 3].
#[utoipa::path(
    post,
    path = "/v1/conversations/{conversation}/messages/{message}/hide",
    tag = "exchange",
    summary = "Hide a message of a reported conversation (staff rights 3)",
    description = "The message is kept, marked hidden: its text is no longer shown.",
    params(MessageParam),
    responses(
        (status = 200, description = "`MESSAGE_HIDDEN`", body = Success<MessageJson>),
        (status = 403, description = "Rights below 3", body = Failure),
        (status = 404, description = "`CONVERSATION_NOT_FOUND_ERROR` (or not reported), `MESSAGE_NOT_FOUND_ERROR`", body = Failure),
    ),
    security(("bearer" = [])),
)]
pub(super) async fn hide(
    state: Data<AppState>,
    req: HttpRequest,
    principal: Principal,
    path: Path<(String, String)>,
) -> HttpResponse {
    let lang = Lang::of(&req);
    reply(
        lang,
        async {
            let conversation = id_path(&path.0, "conversation")?;
            let message = id_path(&path.1, "message")?;
            let hidden = exchange(&state)?
                .hide_message(&principal.domain(), conversation, message)
                .await?;
            Ok(ok(lang, "MESSAGE_HIDDEN", MessageJson::from(hidden)))
        }
        .await,
    )
}

/// `PUT /v1/members/{member}/exchange-suspension` [staff 3] → 204.
#[utoipa::path(
    put,
    path = "/v1/members/{member}/exchange-suspension",
    tag = "exchange",
    summary = "Suspend a member from the exchange (staff rights 3)",
    description = "The member can no longer publish, write or pay in the exchange, nor be paid \
        (`MEMBER_SUSPENDED_ERROR`).",
    params(MemberParam),
    responses(
        (status = 204, description = "Suspended"),
        (status = 403, description = "Rights below 3", body = Failure),
        (status = 404, description = "`MEMBER_NOT_FOUND_ERROR`", body = Failure),
    ),
    security(("bearer" = [])),
)]
pub(super) async fn suspend(
    state: Data<AppState>,
    req: HttpRequest,
    principal: Principal,
    path: Path<String>,
) -> HttpResponse {
    suspension(state, req, principal, path, true).await
}

/// `DELETE /v1/members/{member}/exchange-suspension` [staff 3] → 204.
#[utoipa::path(
    delete,
    path = "/v1/members/{member}/exchange-suspension",
    tag = "exchange",
    summary = "Reinstate a member in the exchange (staff rights 3)",
    params(MemberParam),
    responses(
        (status = 204, description = "Reinstated"),
        (status = 403, description = "Rights below 3", body = Failure),
        (status = 404, description = "`MEMBER_NOT_FOUND_ERROR`", body = Failure),
    ),
    security(("bearer" = [])),
)]
pub(super) async fn reinstate(
    state: Data<AppState>,
    req: HttpRequest,
    principal: Principal,
    path: Path<String>,
) -> HttpResponse {
    suspension(state, req, principal, path, false).await
}

async fn suspension(
    state: Data<AppState>,
    req: HttpRequest,
    principal: Principal,
    path: Path<String>,
    suspended: bool,
) -> HttpResponse {
    let lang = Lang::of(&req);
    reply(
        lang,
        async {
            let member = member_path(&path)?;
            exchange(&state)?
                .suspend(&principal.domain(), member, suspended)
                .await?;
            Ok(no_content())
        }
        .await,
    )
}

/// What a payment between members did, seen by the payer.
#[derive(Serialize, ToSchema)]
pub(super) struct TransferReceiptJson {
    /// The transfer's id: the payer's transaction.
    transfer: i64,
    /// The payer's card.
    card: String,
    #[schema(value_type = Amount)]
    amount: String,
    #[schema(value_type = Amount)]
    balance_before: String,
    #[schema(value_type = Amount)]
    balance_after: String,
    /// Always `EUR`.
    currency: &'static str,
}

impl From<Receipt> for TransferReceiptJson {
    fn from(r: Receipt) -> TransferReceiptJson {
        TransferReceiptJson {
            transfer: r.transaction.0,
            card: r.card.to_string(),
            amount: money(r.amount),
            balance_before: money(r.balance_before),
            balance_after: money(r.balance_after),
            currency: "EUR",
        }
    }
}

/// The body of `POST /v1/transfers`.
#[derive(ToSchema)]
#[allow(dead_code)] // describes the body that the handler parses with `Params`
struct TransferBody {
    /// The member paid.
    to: i64,
    #[schema(value_type = AmountInput)]
    amount: String,
    /// The offer it pays for.
    offer: Option<i64>,
    #[schema(max_length = 140)]
    note: Option<String>,
    /// The payer's card; by default their only active card.
    from_card: Option<String>,
}

/// `POST /v1/transfers` [member]: pays another member from card to card → 201.
#[utoipa::path(
    post,
    path = "/v1/transfers",
    tag = "exchange",
    summary = "Pay another member (a member's token)",
    description = "One ledger movement touching two cards: the payer's card (their only \
        active card, or `from_card`) goes down under its floor, the payee's active card up \
        under its maximum, both or neither; both cards' histories show it (`transfer_out`, \
        `transfer_in`). Idempotent with `Idempotency-Key`.",
    params(
        ("Idempotency-Key" = Option<String>, Header, description = "A client-chosen key (1 to 255 visible ASCII characters) making the request idempotent: a retry answers the first answer with `Idempotency-Replayed: true`"),
    ),
    request_body(content(
        (TransferBody = "application/json"),
        (TransferBody = "application/x-www-form-urlencoded"),
    )),
    responses(
        (status = 201, description = "`TRANSFER_DONE`; `Location` of the transfer", body = Success<TransferReceiptJson>),
        (status = 400, description = "`VALIDATION_ERROR` (e.g. above `money.max_operation`), `NON_POSITIVE_PAYMENT_ERROR`", body = Failure),
        (status = 403, description = "Not a member; `MEMBER_SUSPENDED_ERROR`; `EXCHANGE_DISABLED_ERROR`", body = Failure),
        (status = 404, description = "`MEMBER_NOT_FOUND_ERROR`, `CARD_NOT_FOUND_ERROR`, `OFFER_NOT_FOUND_ERROR`", body = Failure),
        (status = 409, description = "`INSUFFICIENT_FUNDS_ERROR` (with the missing amount), `CARD_BLOCKED_ERROR`, `SELF_TRANSFER_ERROR`, `BALANCE_CEILING_ERROR`, `IDEMPOTENCY_KEY_REUSED_ERROR`", body = Failure),
    ),
    security(("bearer" = [])),
)]
pub(super) async fn transfer(
    state: Data<AppState>,
    req: HttpRequest,
    principal: Principal,
    payload: Payload,
) -> HttpResponse {
    let lang = Lang::of(&req);
    reply(
        lang,
        async {
            let exchange = exchange(&state)?;
            let p = read_params(
                &req,
                payload,
                &[
                    ("to", Ty::Int),
                    ("amount", Ty::Money),
                    ("offer", Ty::Int),
                    ("note", Ty::Text),
                    ("from_card", Ty::Text),
                ],
            )
            .await?;
            let request = TransferRequest {
                to: MemberId(
                    positive_id(p.whole_opt("to")?, "to")?
                        .ok_or_else(|| DomainError::malformed("field `to` is missing"))?,
                ),
                amount: p.money("amount")?,
                offer: positive_id(p.whole_opt("offer")?, "offer")?,
                note: p.get("note").map(str::to_owned),
                from_card: p.card_opt("from_card")?,
            };
            let key = keyed(&req, &request.fingerprint())?;
            let done = exchange.transfer(&principal.domain(), request, key).await?;
            let answer = created(
                lang,
                "TRANSFER_DONE",
                &format!("/v1/transfers/{}", done.receipt.transaction.0),
                TransferReceiptJson::from(done.receipt),
            );
            Ok(mark_replayed(answer, done.replayed))
        }
        .await,
    )
}

/// A payment between members, as recorded.
#[derive(Serialize, ToSchema)]
pub(super) struct TransferJson {
    /// The payer's transaction.
    id: i64,
    /// The payee's transaction.
    incoming: i64,
    from_member: i64,
    to_member: i64,
    from_card: String,
    to_card: String,
    #[schema(value_type = Amount)]
    amount: String,
    offer: Option<i64>,
    note: Option<String>,
    /// `done` or `cancelled`.
    status: &'static str,
    /// RFC 3339.
    created_at: String,
}

impl From<Transfer> for TransferJson {
    fn from(t: Transfer) -> TransferJson {
        TransferJson {
            id: t.id.0,
            incoming: t.incoming.0,
            from_member: t.from_member.0,
            to_member: t.to_member.0,
            from_card: t.from_card.to_string(),
            to_card: t.to_card.to_string(),
            amount: money(t.amount),
            offer: t.offer,
            note: t.note,
            status: if t.cancelled_by.is_some() {
                "cancelled"
            } else {
                "done"
            },
            created_at: t.created_at.to_rfc3339(),
        }
    }
}

/// The transfer in a path.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)] // describes a path segment that the handlers parse themselves
struct TransferParam {
    /// The transfer's id (the payer's transaction).
    transfer: i64,
}

/// `GET /v1/transfers/{transfer}` [its two members, staff 3].
#[utoipa::path(
    get,
    path = "/v1/transfers/{transfer}",
    tag = "exchange",
    summary = "One payment between members (its two members, staff rights 3)",
    params(TransferParam),
    responses(
        (status = 200, description = "`TRANSFER`", body = Success<TransferJson>),
        (status = 404, description = "`TRANSFER_NOT_FOUND_ERROR`", body = Failure),
    ),
    security(("bearer" = [])),
)]
pub(super) async fn get_transfer(
    state: Data<AppState>,
    req: HttpRequest,
    principal: Principal,
    path: Path<String>,
) -> HttpResponse {
    let lang = Lang::of(&req);
    reply(
        lang,
        async {
            let id = transfer_id(&path)?;
            let found = exchange(&state)?
                .transfer_record(&principal.domain(), id)
                .await?;
            Ok(ok(lang, "TRANSFER", TransferJson::from(found)))
        }
        .await,
    )
}

fn transfer_id(text: &str) -> Result<TransactionId, DomainError> {
    transaction_path(text)
        .map_err(|_| DomainError::malformed("the transfer id is not a whole number ≥ 1"))
}

/// `POST /v1/transfers/{transfer}/cancel` [staff 3]: both sides restored, once.
#[utoipa::path(
    post,
    path = "/v1/transfers/{transfer}/cancel",
    tag = "exchange",
    summary = "Cancel a payment between members (staff rights 3)",
    description = "In one movement: the payee's card gives the amount back (under its floor), \
        the payer's card gets it (under its maximum), both halves marked cancelled. Once.",
    params(TransferParam),
    responses(
        (status = 200, description = "`TRANSFER_CANCELLED`: the payer's card", body = Success<TransferReceiptJson>),
        (status = 403, description = "Rights below 3", body = Failure),
        (status = 404, description = "`TRANSFER_NOT_FOUND_ERROR`", body = Failure),
        (status = 409, description = "`TRANSACTION_ALREADY_CANCELLED_ERROR`, `INSUFFICIENT_FUNDS_ERROR` (the payee spent it), `BALANCE_CEILING_ERROR`", body = Failure),
    ),
    security(("bearer" = [])),
)]
pub(super) async fn cancel_transfer(
    state: Data<AppState>,
    req: HttpRequest,
    principal: Principal,
    path: Path<String>,
) -> HttpResponse {
    let lang = Lang::of(&req);
    reply(
        lang,
        async {
            let id = transfer_id(&path)?;
            let receipt = exchange(&state)?
                .cancel_transfer(&principal.domain(), id)
                .await?;
            Ok(ok(
                lang,
                "TRANSFER_CANCELLED",
                TransferReceiptJson::from(receipt),
            ))
        }
        .await,
    )
}

/// The exchange's volume over a period.
#[derive(Serialize, ToSchema)]
pub(super) struct VolumeJson {
    /// RFC 3339, inclusive.
    from: String,
    /// RFC 3339, exclusive.
    until: String,
    /// Transfers not cancelled.
    transfers: i64,
    #[schema(value_type = Amount)]
    amount: String,
    /// Always `EUR`.
    currency: &'static str,
}

/// The period of `GET /v1/exchange/volume`.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // describes the query that the handler parses itself
struct VolumeQuery {
    /// `YYYY-MM-DD` (UTC), inclusive; default: the beginning.
    from: Option<String>,
    /// `YYYY-MM-DD` (UTC), inclusive; default: today.
    until: Option<String>,
}

/// `GET /v1/exchange/volume` [staff ≥2]: the transfers of a period.
#[utoipa::path(
    get,
    path = "/v1/exchange/volume",
    tag = "exchange",
    summary = "The exchange's volume over a period (staff rights ≥ 2)",
    params(VolumeQuery),
    responses(
        (status = 200, description = "`EXCHANGE_VOLUME`", body = Success<VolumeJson>),
        (status = 400, description = "`VALIDATION_ERROR`", body = Failure),
        (status = 403, description = "Rights below 2", body = Failure),
    ),
    security(("bearer" = [])),
)]
pub(super) async fn volume(
    state: Data<AppState>,
    req: HttpRequest,
    principal: Principal,
) -> HttpResponse {
    let lang = Lang::of(&req);
    reply(
        lang,
        async {
            let query = Params::from_form(req.query_string().as_bytes())?;
            let start = |d: NaiveDate| Utc.from_utc_datetime(&d.and_time(chrono::NaiveTime::MIN));
            let from = date_opt(&query, "from")?
                .map(start)
                .unwrap_or(chrono::DateTime::UNIX_EPOCH);
            let until = match date_opt(&query, "until")? {
                Some(d) => d
                    .succ_opt()
                    .map(start)
                    .ok_or_else(|| DomainError::malformed("field `until` is out of range"))?,
                None => Utc::now() + chrono::Duration::days(1),
            };
            let v = exchange(&state)?
                .volume(&principal.domain(), from, until)
                .await?;
            Ok(ok(
                lang,
                "EXCHANGE_VOLUME",
                VolumeJson {
                    from: from.to_rfc3339(),
                    until: until.to_rfc3339(),
                    transfers: v.transfers,
                    amount: money(v.amount),
                    currency: "EUR",
                },
            ))
        }
        .await,
    )
}
