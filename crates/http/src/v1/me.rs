//! A member's own space in `/v1/me` (members.md): profile, cards and history, declaring a card
//! lost, preferences, export and deletion. Each handler parses, calls one use case of
//! `MemberSpace` with the caller's principal — which is checked there, in one place: a staff
//! or partner token is refused (403), another member's card is unknown (404) — and renders.

use actix_web::web::{Data, Path, Payload};
use actix_web::{HttpRequest, HttpResponse};
use ardoise_domain::me::MEMBER_FIELDS;
use ardoise_domain::{
    Card, CardHistory, CardState, Channels, DomainError, Member, MemberExport, Money, Preferences,
    ProfileField,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::members::reason;
use super::staff::TransactionJson;
use super::{
    card_path, no_content, ok, page_of, paged, read_json, reply, Failure, Lang, PageJson, Success,
};
use crate::oauth::source;
use crate::openapi::{Amount, CardParam, PageParams};
use crate::principal::Principal;
use crate::AppState;

/// A member's profile as the member sees it; unset fields are `null`. The association's
/// `notes` are not shown here (they are in the export).
#[derive(Serialize, ToSchema)]
pub(super) struct ProfileJson {
    id: i64,
    first_name: Option<String>,
    last_name: Option<String>,
    display_name: Option<String>,
    /// The member's login.
    email: Option<String>,
    phone: Option<String>,
    mobile: Option<String>,
    keywords: Option<String>,
    /// RFC 3339.
    created_at: String,
    /// RFC 3339.
    updated_at: String,
}

impl From<Member> for ProfileJson {
    fn from(m: Member) -> ProfileJson {
        let p = m.profile;
        ProfileJson {
            id: m.id.0,
            first_name: p.first_name,
            last_name: p.last_name,
            display_name: p.display_name,
            email: p.email,
            phone: p.phone,
            mobile: p.mobile,
            keywords: p.keywords,
            created_at: m.created_at.to_rfc3339(),
            updated_at: m.updated_at.to_rfc3339(),
        }
    }
}

/// The body of `PATCH /v1/me` (JSON): the fields to change, each a string (blank unsets it) or
/// `null`. `notes` belong to the association and are refused, as is any unknown field.
#[derive(ToSchema)]
#[allow(dead_code)] // describes the body that `profile_changes` parses
struct ProfileRequest {
    #[schema(max_length = 64)]
    first_name: Option<String>,
    #[schema(max_length = 64)]
    last_name: Option<String>,
    #[schema(max_length = 128)]
    display_name: Option<String>,
    /// The member's login from then on; unique among members (409 `EMAIL_TAKEN_ERROR`).
    /// Changing it needs `password`.
    #[schema(max_length = 254, example = "zoe@example.org")]
    email: Option<String>,
    /// The member's current password: required with `email` (the login), so that a session
    /// left open or a stolen token cannot take the account over; wrong, it is 401
    /// `INVALID_CREDENTIALS_ERROR` (throttled like logins) and nothing changes.
    #[schema(format = Password)]
    password: Option<String>,
    /// With its country code.
    #[schema(example = "+33 6 12 34 56 78")]
    phone: Option<String>,
    mobile: Option<String>,
    #[schema(example = "rugby, jazz")]
    keywords: Option<String>,
}

/// The changes of a `PATCH /v1/me` body, strictly: a JSON object of profile fields, each a
/// string or `null`.
fn profile_changes(
    body: &serde_json::Map<String, serde_json::Value>,
) -> Result<Vec<(ProfileField, Option<&str>)>, DomainError> {
    let mut changes = Vec::new();
    for (name, value) in body {
        let field = ProfileField::parse(name).ok_or_else(|| {
            DomainError::malformed(format!(
                "field `{name}` is not a profile field ({})",
                MEMBER_FIELDS.map(|f| f.name()).join(", ")
            ))
        })?;
        let text = match value {
            serde_json::Value::String(text) => Some(text.as_str()),
            serde_json::Value::Null => None,
            _ => {
                return Err(DomainError::malformed(format!(
                    "field `{name}` must be a string or null"
                )))
            }
        };
        changes.push((field, text));
    }
    Ok(changes)
}

/// `GET /v1/me` [member]: the member's profile.
#[utoipa::path(
    get,
    path = "/v1/me",
    tag = "me",
    summary = "My profile (a member's token)",
    responses(
        (status = 200, description = "`PROFILE`", body = Success<ProfileJson>),
        (status = 403, description = "A staff or partner token", body = Failure),
    ),
    security(("bearer" = [])),
)]
pub(super) async fn profile(
    state: Data<AppState>,
    req: HttpRequest,
    principal: Principal,
) -> HttpResponse {
    let lang = Lang::of(&req);
    reply(
        lang,
        async {
            let member = state.me.profile(&principal.domain()).await?;
            Ok(ok(lang, "PROFILE", ProfileJson::from(member)))
        }
        .await,
    )
}

/// `PATCH /v1/me` [member]: the given fields change, the others stay.
#[utoipa::path(
    patch,
    path = "/v1/me",
    tag = "me",
    summary = "Edit my profile (a member's token)",
    description = "The given fields change (blank or `null` unsets one), the others stay. \
        `notes` belong to the association: refused, like any unknown field, by name (400), and \
        nothing changes. Changing `email` (the login) needs the current `password` in the same \
        body (400 without it, 401 `INVALID_CREDENTIALS_ERROR` when wrong, throttled like logins).",
    request_body(content((ProfileRequest = "application/json"))),
    responses(
        (status = 200, description = "`PROFILE_UPDATED`", body = Success<ProfileJson>),
        (status = 400, description = "`VALIDATION_ERROR`, naming the field", body = Failure),
        (status = 401, description = "`INVALID_CREDENTIALS_ERROR`: the `password` given with `email` is wrong", body = Failure),
        (status = 403, description = "A staff or partner token", body = Failure),
        (status = 409, description = "`EMAIL_TAKEN_ERROR`", body = Failure),
        (status = 429, description = "Too many wrong passwords from this address (`Retry-After`)", body = Failure),
    ),
    security(("bearer" = [])),
)]
pub(super) async fn edit_profile(
    state: Data<AppState>,
    req: HttpRequest,
    principal: Principal,
    payload: Payload,
) -> HttpResponse {
    let lang = Lang::of(&req);
    reply(
        lang,
        async {
            let principal = principal.domain();
            principal.own_member()?;
            let mut body: serde_json::Map<String, serde_json::Value> =
                read_json(&req, payload).await?;
            // The e-mail address is the login: changing it needs the current password.
            let password = body.remove("password");
            let changes = profile_changes(&body)?;
            match (body.contains_key("email"), password) {
                (true, Some(serde_json::Value::String(password))) => {
                    state
                        .member_access
                        .confirm_password(&principal, &password, source(&req))
                        .await?
                }
                (true, _) => {
                    return Err(DomainError::malformed(
                        "field `password` (your current password, a string) is required to \
                         change `email`, your login",
                    ))
                }
                (false, Some(_)) => {
                    return Err(DomainError::malformed(
                        "field `password` goes only with `email`: a password is changed with a \
                         reset link",
                    ))
                }
                (false, None) => {}
            }
            let member = state.me.edit_profile(&principal, &changes).await?;
            Ok(ok(lang, "PROFILE_UPDATED", ProfileJson::from(member)))
        }
        .await,
    )
}

/// `DELETE /v1/me` [member]: the deletion request → 204.
#[utoipa::path(
    delete,
    path = "/v1/me",
    tag = "me",
    summary = "Delete my data (a member's token)",
    description = "The profile is anonymised (every field cleared, the name becomes \
        `deleted member`), the account, its links, preferences and sessions are deleted. \
        Cards and the ledger keep their amounts: money history is never deleted, and without \
        the name it no longer tells whose it was. The token stops working at once.",
    responses(
        (status = 204, description = "Anonymised"),
        (status = 403, description = "A staff or partner token", body = Failure),
    ),
    security(("bearer" = [])),
)]
pub(super) async fn delete(
    state: Data<AppState>,
    req: HttpRequest,
    principal: Principal,
) -> HttpResponse {
    let lang = Lang::of(&req);
    reply(
        lang,
        async {
            state
                .member_access
                .delete_member(&state.me, &principal.domain())
                .await?;
            Ok(no_content())
        }
        .await,
    )
}

/// One of my cards.
#[derive(Serialize, ToSchema)]
struct MyCardJson {
    card: String,
    #[schema(value_type = Amount)]
    balance: String,
    /// Always `EUR`.
    currency: &'static str,
    /// `active`, `blocked` or `lost`.
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

fn my_card_json(card: Card, state: CardState) -> MyCardJson {
    MyCardJson {
        card: card.id.to_string(),
        balance: card.balance.to_fixed2(),
        currency: "EUR",
        status: card.status.as_str(),
        valid: state == CardState::Active,
        reason: reason(Some(state)),
        valid_until: card.valid_until.map(|t| t.to_rfc3339()),
        replaced_by: card.replaced_by.map(|c| c.to_string()),
        created_at: card.created_at.to_rfc3339(),
    }
}

/// `GET /v1/me/cards` [member]: my cards with their balance, status and end of validity.
#[utoipa::path(
    get,
    path = "/v1/me/cards",
    tag = "me",
    summary = "My cards (a member's token)",
    description = "Replaced cards are included, by id.",
    params(PageParams),
    responses(
        (status = 200, description = "`MY_CARD_LIST`, with a `Link` header", body = Success<PageJson<MyCardJson>>),
        (status = 400, description = "`VALIDATION_ERROR` (paging)", body = Failure),
        (status = 403, description = "A staff or partner token", body = Failure),
    ),
    security(("bearer" = [])),
)]
pub(super) async fn cards(
    state: Data<AppState>,
    req: HttpRequest,
    principal: Principal,
) -> HttpResponse {
    let lang = Lang::of(&req);
    reply(
        lang,
        async {
            let principal = principal.domain();
            principal.own_member()?;
            let page = page_of(&req)?;
            let list = state.me.cards(&principal, page).await?;
            Ok(paged(
                &req,
                lang,
                "MY_CARD_LIST",
                list.map(|(card, state)| my_card_json(card, state)),
            ))
        }
        .await,
    )
}

/// `GET /v1/me/cards/{card}/transactions` [member]: a card's history, newest first.
#[utoipa::path(
    get,
    path = "/v1/me/cards/{card}/transactions",
    tag = "me",
    summary = "My card's history, newest first (a member's token)",
    description = "A card that is not mine is `CARD_NOT_FOUND_ERROR` (404), like one that does \
        not exist.",
    params(CardParam, PageParams),
    responses(
        (status = 200, description = "`TRANSACTION_LIST`, with a `Link` header", body = Success<PageJson<TransactionJson>>),
        (status = 400, description = "`VALIDATION_ERROR` (card id, paging)", body = Failure),
        (status = 403, description = "A staff or partner token", body = Failure),
        (status = 404, description = "`CARD_NOT_FOUND_ERROR`", body = Failure),
    ),
    security(("bearer" = [])),
)]
pub(super) async fn history(
    state: Data<AppState>,
    req: HttpRequest,
    principal: Principal,
    path: Path<String>,
) -> HttpResponse {
    let lang = Lang::of(&req);
    reply(
        lang,
        async {
            let principal = principal.domain();
            principal.own_member()?;
            let card = card_path(&path)?;
            let page = page_of(&req)?;
            let list = state.me.history(&principal, &card, page).await?;
            Ok(paged(
                &req,
                lang,
                "TRANSACTION_LIST",
                list.map(TransactionJson::from),
            ))
        }
        .await,
    )
}

/// `POST /v1/me/cards/{card}/lost` [member]: the card is blocked at once → 200.
#[utoipa::path(
    post,
    path = "/v1/me/cards/{card}/lost",
    tag = "me",
    summary = "Declare my card lost (a member's token)",
    description = "The card is refused at once by the POS and the partners; staff replace it \
        later, keeping its balance. Declaring it again is fine. A card that is not mine is \
        404; a replaced card 409.",
    params(CardParam),
    responses(
        (status = 200, description = "`CARD_LOST`", body = Success<MyCardJson>),
        (status = 400, description = "`VALIDATION_ERROR` (card id)", body = Failure),
        (status = 403, description = "A staff or partner token", body = Failure),
        (status = 404, description = "`CARD_NOT_FOUND_ERROR`", body = Failure),
        (status = 409, description = "`CARD_REPLACED_ERROR`", body = Failure),
    ),
    security(("bearer" = [])),
)]
pub(super) async fn lost(
    state: Data<AppState>,
    req: HttpRequest,
    principal: Principal,
    path: Path<String>,
) -> HttpResponse {
    let lang = Lang::of(&req);
    reply(
        lang,
        async {
            let principal = principal.domain();
            principal.own_member()?;
            let card = card_path(&path)?;
            let (card, card_state) = state.me.declare_lost(&principal, &card).await?;
            Ok(ok(lang, "CARD_LOST", my_card_json(card, card_state)))
        }
        .await,
    )
}

/// The channels a member may be reached by.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct ChannelsJson {
    email: bool,
    sms: bool,
    push: bool,
}

/// My preferences.
#[derive(Serialize, ToSchema)]
struct PreferencesJson {
    channels: ChannelsJson,
    /// Warn when a card's balance falls below this amount; `null`: no alert.
    #[schema(value_type = Option<Amount>)]
    low_balance: Option<String>,
    /// A receipt for every payment.
    receipts: bool,
    /// Consent to advertisements: `false` until the member opts in.
    advertisements: bool,
}

impl From<Preferences> for PreferencesJson {
    fn from(p: Preferences) -> PreferencesJson {
        PreferencesJson {
            channels: ChannelsJson {
                email: p.channels.email,
                sms: p.channels.sms,
                push: p.channels.push,
            },
            low_balance: p.low_balance.map(Money::to_fixed2),
            receipts: p.receipts,
            advertisements: p.advertisements,
        }
    }
}

/// The body of `PUT /v1/me/preferences` (JSON), the whole document; strict types (booleans
/// are `true`/`false`, the amount a string).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct PreferencesRequest {
    channels: ChannelsJson,
    /// An amount above zero such as `"5.00"`, or `null` (the default) for no alert.
    #[serde(default)]
    #[schema(value_type = Option<Amount>)]
    low_balance: Option<String>,
    receipts: bool,
    /// Consent to advertisements; `false` when left out.
    #[serde(default)]
    advertisements: bool,
}

impl PreferencesRequest {
    fn into_preferences(self) -> Result<Preferences, DomainError> {
        let low_balance = self
            .low_balance
            .map(|text| {
                Money::parse(&text)
                    .map_err(|e| DomainError::malformed(format!("field `low_balance`: {e}")))
            })
            .transpose()?;
        Ok(Preferences {
            channels: Channels {
                email: self.channels.email,
                sms: self.channels.sms,
                push: self.channels.push,
            },
            low_balance,
            receipts: self.receipts,
            advertisements: self.advertisements,
        })
    }
}

/// `GET /v1/me/preferences` [member].
#[utoipa::path(
    get,
    path = "/v1/me/preferences",
    tag = "me",
    summary = "My preferences (a member's token)",
    description = "Until saved: e-mail on, SMS and push off, no low-balance alert, no receipts, \
        no advertisements.",
    responses(
        (status = 200, description = "`PREFERENCES`", body = Success<PreferencesJson>),
        (status = 403, description = "A staff or partner token", body = Failure),
    ),
    security(("bearer" = [])),
)]
pub(super) async fn preferences(
    state: Data<AppState>,
    req: HttpRequest,
    principal: Principal,
) -> HttpResponse {
    let lang = Lang::of(&req);
    reply(
        lang,
        async {
            let preferences = state.me.preferences(&principal.domain()).await?;
            Ok(ok(lang, "PREFERENCES", PreferencesJson::from(preferences)))
        }
        .await,
    )
}

/// `PUT /v1/me/preferences` [member]: the whole document.
#[utoipa::path(
    put,
    path = "/v1/me/preferences",
    tag = "me",
    summary = "Save my preferences (a member's token)",
    description = "The whole document: `channels` and `receipts` are required, `low_balance` \
        (default `null`) and `advertisements` (default `false`: consent is never assumed) may \
        be left out. A wrong type or an unknown field is refused by name (400), nothing saved.",
    request_body(content((PreferencesRequest = "application/json"))),
    responses(
        (status = 200, description = "`PREFERENCES_SAVED`", body = Success<PreferencesJson>),
        (status = 400, description = "`VALIDATION_ERROR`, naming the field", body = Failure),
        (status = 403, description = "A staff or partner token", body = Failure),
    ),
    security(("bearer" = [])),
)]
pub(super) async fn set_preferences(
    state: Data<AppState>,
    req: HttpRequest,
    principal: Principal,
    payload: Payload,
) -> HttpResponse {
    let lang = Lang::of(&req);
    reply(
        lang,
        async {
            let principal = principal.domain();
            principal.own_member()?;
            let body: PreferencesRequest = read_json(&req, payload).await?;
            let saved = state
                .me
                .set_preferences(&principal, body.into_preferences()?)
                .await?;
            Ok(ok(lang, "PREFERENCES_SAVED", PreferencesJson::from(saved)))
        }
        .await,
    )
}

/// A card with its whole history, in the export.
#[derive(Serialize, ToSchema)]
struct CardHistoryJson {
    #[serde(flatten)]
    card: MyCardJson,
    /// Oldest first.
    transactions: Vec<TransactionJson>,
}

/// Everything ardoise holds about me.
#[derive(Serialize, ToSchema)]
struct ExportJson {
    profile: ProfileJson,
    /// The association's notes about me.
    notes: Option<String>,
    preferences: PreferencesJson,
    cards: Vec<CardHistoryJson>,
    /// RFC 3339.
    exported_at: String,
}

impl From<MemberExport> for ExportJson {
    fn from(e: MemberExport) -> ExportJson {
        let notes = e.member.profile.notes.clone();
        ExportJson {
            profile: ProfileJson::from(e.member),
            notes,
            preferences: PreferencesJson::from(e.preferences),
            cards: e
                .cards
                .into_iter()
                .map(
                    |CardHistory {
                         card,
                         state,
                         transactions,
                     }| CardHistoryJson {
                        card: my_card_json(card, state),
                        transactions: transactions
                            .into_iter()
                            .map(TransactionJson::from)
                            .collect(),
                    },
                )
                .collect(),
            exported_at: e
                .exported_at
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, false),
        }
    }
}

/// The document of `GET /v1/me/export` (its `data`), as pretty JSON: the web space's
/// "Download my data" serves the same document.
pub fn export_document(export: MemberExport) -> Result<String, serde_json::Error> {
    serde_json::to_string_pretty(&ExportJson::from(export))
}

/// `GET /v1/me/export` [member]: my data as JSON.
#[utoipa::path(
    get,
    path = "/v1/me/export",
    tag = "me",
    summary = "Export my data (a member's token)",
    description = "The profile (with the association's notes), the preferences, and every card \
        with its whole history, oldest first.",
    responses(
        (status = 200, description = "`MEMBER_EXPORT`", body = Success<ExportJson>),
        (status = 403, description = "A staff or partner token", body = Failure),
    ),
    security(("bearer" = [])),
)]
pub(super) async fn export(
    state: Data<AppState>,
    req: HttpRequest,
    principal: Principal,
) -> HttpResponse {
    let lang = Lang::of(&req);
    reply(
        lang,
        async {
            let export = state.me.export(&principal.domain()).await?;
            Ok(ok(lang, "MEMBER_EXPORT", ExportJson::from(export)))
        }
        .await,
    )
}
