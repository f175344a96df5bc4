//! The association's members in `/v1`: the staff resources (list, create, read, edit, link
//! and unlink cards) and seed 000's partner resources (a member's cards, a card's validity for
//! a member). Each handler parses, calls one use case of `Members` and renders — no rule here.

use actix_web::web::{Data, Path, Payload};
use actix_web::{HttpRequest, HttpResponse, ResponseError};
use ardoise_domain::{Actor, Card, CardState, DomainError, Member, MemberId, ProfileField};
use serde::Serialize;
use utoipa::ToSchema;

use super::{
    card_path, created, no_content, ok, page_of, paged, read_params, reply, staff, Failure, Lang,
    PageJson, Success,
};
use crate::openapi::{CardParam, MemberParam, PageParams};
use crate::params::Params;
use crate::params::Ty;
use crate::principal::Principal;
use crate::AppState;

/// The staff user, or `None` for a partner (whose scope the handler checked); a member is
/// refused (their own cards are under `/v1/me`).
fn staff_or_partner(principal: &Principal) -> Result<Option<&Actor>, DomainError> {
    match principal {
        Principal::Staff { actor } => Ok(Some(actor)),
        Principal::Partner { .. } => Ok(None),
        Principal::Member { .. } => Err(DomainError::InsufficientRights),
    }
}

/// A member id from the path: a whole number ≥ 1.
pub(super) fn member_path(text: &str) -> Result<MemberId, DomainError> {
    text.parse::<i64>()
        .ok()
        .filter(|id| *id > 0 && !text.starts_with('+'))
        .map(MemberId)
        .ok_or_else(|| DomainError::malformed("the member id is not a whole number ≥ 1"))
}

/// The fields of a member's body: its profile, all text.
const PROFILE_FIELDS: [(&str, Ty); 8] = [
    ("first_name", Ty::Text),
    ("last_name", Ty::Text),
    ("display_name", Ty::Text),
    ("email", Ty::Text),
    ("phone", Ty::Text),
    ("mobile", Ty::Text),
    ("keywords", Ty::Text),
    ("notes", Ty::Text),
];

/// The profile fields of a body: each given field with its text (blank to unset). A field
/// that is not a profile field is refused by name, so that a typo never passes unnoticed.
fn profile_changes(p: &Params) -> Result<Vec<(ProfileField, Option<&str>)>, DomainError> {
    if let Some(unknown) = p.names().find(|n| ProfileField::parse(n).is_none()) {
        return Err(DomainError::malformed(format!(
            "field `{unknown}` is not a member field (first_name, last_name, display_name, \
             email, phone, mobile, keywords, notes)"
        )));
    }
    Ok(ProfileField::ALL
        .into_iter()
        .filter_map(|f| p.given(f.name()).map(|text| (f, Some(text))))
        .collect())
}

/// A member as staff see it; unset fields are `null`.
#[derive(Serialize, ToSchema)]
struct MemberJson {
    id: i64,
    first_name: Option<String>,
    last_name: Option<String>,
    /// A name to show instead of first and last name (a club, a company, a nickname).
    display_name: Option<String>,
    email: Option<String>,
    /// `+` and 7 to 15 digits, the country code first.
    phone: Option<String>,
    /// `+` and 7 to 15 digits, the country code first.
    mobile: Option<String>,
    /// Comma-separated words: `a, b, c`.
    keywords: Option<String>,
    notes: Option<String>,
    /// RFC 3339.
    created_at: String,
    /// RFC 3339.
    updated_at: String,
}

/// The profile fields of `POST /v1/members` and `PATCH /v1/members/{member}` (JSON or form).
/// Each is validated and a bad one refused by name (400); any other field name is refused
/// too. On creation, a first name, a last name or a display name is needed; on an edit, the
/// given fields change (blank or `null` unsets one) and the others stay.
#[derive(ToSchema)]
#[allow(dead_code)] // describes the body that `Params` parses
struct MemberRequest {
    /// 1 to 64 characters.
    #[schema(max_length = 64)]
    first_name: Option<String>,
    /// 1 to 64 characters.
    #[schema(max_length = 64)]
    last_name: Option<String>,
    /// 1 to 128 characters: a club, a company, a nickname.
    #[schema(max_length = 128)]
    display_name: Option<String>,
    /// An e-mail address (its domain is lower-cased).
    #[schema(max_length = 254, example = "zoe@example.org")]
    email: Option<String>,
    /// With its country code (`+33…`, `0033…` or `33…`); separators are dropped, a national
    /// number (a single leading `0`) is refused. Stored as `+` and 7 to 15 digits.
    #[schema(example = "+33 6 12 34 56 78")]
    phone: Option<String>,
    /// As `phone`.
    mobile: Option<String>,
    /// Comma-separated words, at most 20 of 1 to 50 characters; normalised to `a, b`.
    #[schema(example = "rugby, jazz")]
    keywords: Option<String>,
    /// Free text, up to 1000 characters.
    #[schema(max_length = 1000)]
    notes: Option<String>,
}

impl From<Member> for MemberJson {
    fn from(m: Member) -> MemberJson {
        let p = m.profile;
        MemberJson {
            id: m.id.0,
            first_name: p.first_name,
            last_name: p.last_name,
            display_name: p.display_name,
            email: p.email,
            phone: p.phone,
            mobile: p.mobile,
            keywords: p.keywords,
            notes: p.notes,
            created_at: m.created_at.to_rfc3339(),
            updated_at: m.updated_at.to_rfc3339(),
        }
    }
}

/// The validity reason of a card's state, as `GET /v1/cards/{card}/validity` says it.
pub(super) fn reason(state: Option<CardState>) -> &'static str {
    match state {
        None => "unknown",
        Some(CardState::Active) => "active",
        Some(CardState::Blocked | CardState::Lost) => "blocked",
        Some(CardState::Expired) => "expired",
    }
}

/// A card of a member, as partners and staff see it (the balance has its own resource and
/// scope: `GET /v1/cards/{card}/balance`).
#[derive(Serialize, ToSchema)]
struct MemberCardJson {
    card: String,
    /// `active`, `blocked` or `lost`, as set by staff.
    status: &'static str,
    /// Whether the card may be used now.
    valid: bool,
    /// `active`, `blocked` (blocked or lost) or `expired`.
    reason: &'static str,
    /// RFC 3339.
    valid_until: Option<String>,
    /// The card that replaced this one, if any.
    replaced_by: Option<String>,
    /// RFC 3339.
    created_at: String,
}

fn member_card_json((card, state): (Card, CardState)) -> MemberCardJson {
    MemberCardJson {
        card: card.id.to_string(),
        status: card.status.as_str(),
        valid: state == CardState::Active,
        reason: reason(Some(state)),
        valid_until: card.valid_until.map(|t| t.to_rfc3339()),
        replaced_by: card.replaced_by.map(|c| c.to_string()),
        created_at: card.created_at.to_rfc3339(),
    }
}

/// `GET /v1/members` [≥1]: the members by id, paged.
#[utoipa::path(
    get,
    path = "/v1/members",
    tag = "members",
    summary = "The members, by id (rights ≥ 1)",
    params(PageParams),
    responses(
        (status = 200, description = "`MEMBER_LIST`, with a `Link` header", body = Success<PageJson<MemberJson>>),
        (status = 400, description = "`VALIDATION_ERROR` (paging)", body = Failure),
    ),
    security(("bearer" = [])),
)]
pub(super) async fn list(
    state: Data<AppState>,
    req: HttpRequest,
    principal: Principal,
) -> HttpResponse {
    let lang = Lang::of(&req);
    reply(
        lang,
        async {
            let actor = staff(&principal)?;
            let page = page_of(&req)?;
            let list = state.members.page(actor, page).await?;
            Ok(paged(&req, lang, "MEMBER_LIST", list.map(MemberJson::from)))
        }
        .await,
    )
}

/// `POST /v1/members` [≥1]: the profile fields → 201, `Location` of the member.
#[utoipa::path(
    post,
    path = "/v1/members",
    tag = "members",
    summary = "Create a member (rights ≥ 1)",
    description = "A first name, a last name or a display name is needed. A bad field, or a \
        field that is not a profile field, is refused by name (400) and nothing is stored.",
    request_body(content(
        (MemberRequest = "application/json"),
        (MemberRequest = "application/x-www-form-urlencoded"),
    )),
    responses(
        (status = 201, description = "`MEMBER_CREATED`; `Location` of the member", body = Success<MemberJson>),
        (status = 400, description = "`VALIDATION_ERROR`, naming the field", body = Failure),
    ),
    security(("bearer" = [])),
)]
pub(super) async fn create(
    state: Data<AppState>,
    req: HttpRequest,
    principal: Principal,
    payload: Payload,
) -> HttpResponse {
    let lang = Lang::of(&req);
    reply(
        lang,
        async {
            let actor = staff(&principal)?;
            let p = read_params(&req, payload, &PROFILE_FIELDS).await?;
            let member = state.members.create(actor, &profile_changes(&p)?).await?;
            Ok(created(
                lang,
                "MEMBER_CREATED",
                &format!("/v1/members/{}", member.id.0),
                MemberJson::from(member),
            ))
        }
        .await,
    )
}

/// `GET /v1/members/{member}` [≥1].
#[utoipa::path(
    get,
    path = "/v1/members/{member}",
    tag = "members",
    summary = "A member (rights ≥ 1)",
    params(MemberParam),
    responses(
        (status = 200, description = "`MEMBER`", body = Success<MemberJson>),
        (status = 400, description = "Malformed member id", body = Failure),
        (status = 404, description = "`MEMBER_NOT_FOUND_ERROR`", body = Failure),
    ),
    security(("bearer" = [])),
)]
pub(super) async fn get(
    state: Data<AppState>,
    req: HttpRequest,
    principal: Principal,
    path: Path<String>,
) -> HttpResponse {
    let lang = Lang::of(&req);
    reply(
        lang,
        async {
            let actor = staff(&principal)?;
            let id = member_path(&path)?;
            let member = state.members.member(actor, id).await?;
            Ok(ok(lang, "MEMBER", MemberJson::from(member)))
        }
        .await,
    )
}

/// `PATCH /v1/members/{member}` [≥1]: the given fields change (blank or `null` unsets one),
/// the others stay.
#[utoipa::path(
    patch,
    path = "/v1/members/{member}",
    tag = "members",
    summary = "Edit a member (rights ≥ 1)",
    description = "The given fields change (blank or `null` unsets one), the others stay. A bad \
        field, or a field that is not a profile field, is refused by name (400) and nothing \
        changes.",
    params(MemberParam),
    request_body(content(
        (MemberRequest = "application/json"),
        (MemberRequest = "application/x-www-form-urlencoded"),
    )),
    responses(
        (status = 200, description = "`MEMBER_UPDATED`", body = Success<MemberJson>),
        (status = 400, description = "`VALIDATION_ERROR`, naming the field", body = Failure),
        (status = 404, description = "`MEMBER_NOT_FOUND_ERROR`", body = Failure),
    ),
    security(("bearer" = [])),
)]
pub(super) async fn edit(
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
            let id = member_path(&path)?;
            let p = read_params(&req, payload, &PROFILE_FIELDS).await?;
            let member = state.members.edit(actor, id, &profile_changes(&p)?).await?;
            Ok(ok(lang, "MEMBER_UPDATED", MemberJson::from(member)))
        }
        .await,
    )
}

/// `GET /v1/members/{member}/cards` (scope `members:read`; staff need rights ≥ 1): the
/// member's cards by id, replaced ones included, paged.
#[utoipa::path(
    get,
    path = "/v1/members/{member}/cards",
    tag = "members",
    summary = "A member's cards, by id",
    description = "Scope `members:read`; staff need rights ≥ 1. Replaced cards are included. \
        The balance is not shown: it has its own resource and scope \
        (`GET /v1/cards/{card}/balance`).",
    params(MemberParam, PageParams),
    responses(
        (status = 200, description = "`MEMBER_CARD_LIST`, with a `Link` header", body = Success<PageJson<MemberCardJson>>),
        (status = 400, description = "`VALIDATION_ERROR` (member id, paging)", body = Failure),
        (status = 404, description = "`MEMBER_NOT_FOUND_ERROR`", body = Failure),
    ),
    security(("bearer" = ["members:read"]), ("client_basic" = ["members:read"])),
)]
pub(super) async fn cards(
    state: Data<AppState>,
    req: HttpRequest,
    principal: Principal,
    path: Path<String>,
) -> HttpResponse {
    let lang = Lang::of(&req);
    if let Err(e) = principal.require_scope("members:read") {
        return e.error_response();
    }
    reply(
        lang,
        async {
            let id = member_path(&path)?;
            let page = page_of(&req)?;
            let list = state
                .members
                .cards(staff_or_partner(&principal)?, id, page)
                .await?;
            Ok(paged(
                &req,
                lang,
                "MEMBER_CARD_LIST",
                list.map(member_card_json),
            ))
        }
        .await,
    )
}

/// A card linked to a member.
#[derive(Serialize, ToSchema)]
struct LinkJson {
    member: i64,
    card: String,
}

/// The body of `POST /v1/members/{member}/cards` (JSON or form).
#[derive(ToSchema)]
#[allow(dead_code)] // describes the body that `Params` parses
struct LinkRequest {
    /// The card to link: an NFC UID in hex (8 to 20 digits) or a printed id (4 to 32 letters
    /// and digits).
    #[schema(example = "04A1B2C3D4")]
    card: String,
}

/// `POST /v1/members/{member}/cards` [≥1]: `{"card"}` links the card to the member (again:
/// fine; another member's card: 409).
#[utoipa::path(
    post,
    path = "/v1/members/{member}/cards",
    tag = "members",
    summary = "Link a card to a member (rights ≥ 1)",
    description = "Linking a card already linked to this member is fine; a card belongs to at \
        most one member.",
    params(MemberParam),
    request_body(content(
        (LinkRequest = "application/json"),
        (LinkRequest = "application/x-www-form-urlencoded"),
    )),
    responses(
        (status = 200, description = "`CARD_LINKED`", body = Success<LinkJson>),
        (status = 400, description = "`VALIDATION_ERROR`", body = Failure),
        (status = 404, description = "`MEMBER_NOT_FOUND_ERROR` or `CARD_NOT_FOUND_ERROR`", body = Failure),
        (status = 409, description = "`CARD_ALREADY_LINKED_ERROR` (another member's card) or `CARD_REPLACED_ERROR`", body = Failure),
    ),
    security(("bearer" = [])),
)]
pub(super) async fn link(
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
            let id = member_path(&path)?;
            let p = read_params(&req, payload, &[("card", Ty::Text)]).await?;
            let card = p.card("card")?;
            state.members.link_card(actor, id, &card).await?;
            Ok(ok(
                lang,
                "CARD_LINKED",
                LinkJson {
                    member: id.0,
                    card: card.to_string(),
                },
            ))
        }
        .await,
    )
}

/// `DELETE /v1/members/{member}/cards/{card}` [≥1]: unlinks the card → 204.
#[utoipa::path(
    delete,
    path = "/v1/members/{member}/cards/{card}",
    tag = "members",
    summary = "Unlink a card from a member (rights ≥ 1)",
    params(MemberParam, CardParam),
    responses(
        (status = 204, description = "The card is no longer the member's"),
        (status = 400, description = "Malformed member or card id", body = Failure),
        (status = 404, description = "`MEMBER_NOT_FOUND_ERROR` or `CARD_NOT_LINKED_ERROR`", body = Failure),
    ),
    security(("bearer" = [])),
)]
pub(super) async fn unlink(
    state: Data<AppState>,
    req: HttpRequest,
    principal: Principal,
    path: Path<(String, String)>,
) -> HttpResponse {
    let lang = Lang::of(&req);
    reply(
        lang,
        async {
            let actor = staff(&principal)?;
            let id = member_path(&path.0)?;
            let card = card_path(&path.1)?;
            state.members.unlink_card(actor, id, &card).await?;
            Ok(no_content())
        }
        .await,
    )
}

/// Whether a card can be used for a member.
#[derive(Serialize, ToSchema)]
struct MemberCardValidityJson {
    card: String,
    valid: bool,
    /// `active`, `blocked` (blocked or lost), `expired` or `unknown`, as
    /// `GET /v1/cards/{card}/validity`, plus `not_member` for a card that exists but is not
    /// this member's.
    reason: &'static str,
    /// RFC 3339.
    valid_until: Option<String>,
}

/// `GET /v1/members/{member}/cards/{card}/validity` (scope `cards:read`; staff need rights
/// ≥ 1): valid only if the card is the member's and usable now. An unknown member is 404; an
/// unknown card, or another member's, is an answer.
#[utoipa::path(
    get,
    path = "/v1/members/{member}/cards/{card}/validity",
    tag = "members",
    summary = "Whether a card can be used for a member",
    description = "Scope `cards:read`; staff need rights ≥ 1. Valid only if the card is the \
        member's and usable now. An unknown member is 404; an unknown card (`reason: unknown`) \
        or another member's (`reason: not_member`) is an answer, not an error.",
    params(MemberParam, CardParam),
    responses(
        (status = 200, description = "`CARD_VALIDITY`", body = Success<MemberCardValidityJson>),
        (status = 400, description = "Malformed member or card id", body = Failure),
        (status = 404, description = "`MEMBER_NOT_FOUND_ERROR`", body = Failure),
    ),
    security(("bearer" = ["cards:read"]), ("client_basic" = ["cards:read"])),
)]
pub(super) async fn card_validity(
    state: Data<AppState>,
    req: HttpRequest,
    principal: Principal,
    path: Path<(String, String)>,
) -> HttpResponse {
    let lang = Lang::of(&req);
    if let Err(e) = principal.require_scope("cards:read") {
        return e.error_response();
    }
    reply(
        lang,
        async {
            let id = member_path(&path.0)?;
            let card = card_path(&path.1)?;
            let v = state
                .members
                .card_validity(staff_or_partner(&principal)?, id, &card)
                .await?;
            let reason = match (v.card.state, v.owned) {
                (Some(_), false) => "not_member",
                (state, _) => reason(state),
            };
            Ok(ok(
                lang,
                "CARD_VALIDITY",
                MemberCardValidityJson {
                    card: card.to_string(),
                    valid: v.valid(),
                    reason,
                    valid_until: v.card.valid_until.map(|t| t.to_rfc3339()),
                },
            ))
        }
        .await,
    )
}
