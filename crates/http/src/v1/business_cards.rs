//! Seed 003's business cards in `/v1` (business-cards.md) and its language repository. The
//! request types are validated declaratively (`validator`): a bad field is refused with
//! `VALIDATION_ERROR` naming it, and nothing changes. The photo is checked by decoding it; a
//! bad one is left out and the rest saved, the answer saying `THUMBNAIL_REJECTED_ERROR`.
//! Who may open which card is the domain's rule (`BusinessCards`); partners need the scope
//! `members:write`.

use std::collections::BTreeMap;
use std::io::Cursor;

use actix_web::web::{Data, Path, Payload};
use actix_web::{HttpRequest, HttpResponse};
use ardoise_domain::member::phone_number;
use ardoise_domain::{
    languages, BusinessCard, BusinessCardId, BusinessCards, CardChanges, ContactChanges,
    DomainError, Setting, VersionChanges,
};
use base64::Engine;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use validator::{Validate, ValidationError, ValidationErrors, ValidationErrorsKind};

use super::accounts::origin;
use super::members::member_path;
use super::{created, ok, read_json, reply, success, Failure, Lang, Success};
use crate::openapi::MemberParam;
use crate::principal::{Principal, Unauthorized};
use crate::AppState;

/// The scope a partner needs.
const SCOPE: &str = "members:write";

/// The photo's side, in pixels (seed 003: a fixed 300 × 300 px).
pub const THUMBNAIL_SIDE: u32 = 300;
/// The photo's largest size, in bytes (seed 003: 50 kB).
pub const THUMBNAIL_MAX_BYTES: usize = 50_000;

/// The caller as the rules know it: a partner needs `members:write`; staff and members are
/// checked by the use case.
fn caller(principal: &Principal) -> Result<ardoise_domain::Principal, Unauthorized> {
    if let Principal::Partner { .. } = principal {
        principal.require_scope(SCOPE)?;
    }
    Ok(principal.domain())
}

/// The public address of a card: `{http.public_url or the request's origin}/c/{cardId}`.
fn card_addr(state: &AppState, req: &HttpRequest, id: &BusinessCardId) -> String {
    format!("{}/c/{id}", origin(state, req))
}

/// The QR code of `text` as a PNG, base64 (seed 003's `cardQrc`).
fn qr_png_base64(text: &str) -> Result<String, DomainError> {
    let code = qrcode::QrCode::new(text.as_bytes())
        .map_err(|e| DomainError::Internal(format!("QR code of {text}: {e}")))?;
    let image = code
        .render::<image::Luma<u8>>()
        .min_dimensions(200, 200)
        .build();
    let mut png = Vec::new();
    image
        .write_to(&mut Cursor::new(&mut png), image::ImageFormat::Png)
        .map_err(|e| DomainError::Internal(format!("QR code PNG: {e}")))?;
    Ok(base64::engine::general_purpose::STANDARD.encode(png))
}

/// Checks a photo (base64, optionally as a `data:` URI): a PNG or JPEG that decodes, of
/// exactly 300 × 300 px and at most 50 kB. Its canonical base64, or why it is refused.
pub fn check_thumbnail(text: &str) -> Result<String, String> {
    let b64 = base64::engine::general_purpose::STANDARD;
    let text = text.trim();
    let text = text
        .strip_prefix("data:")
        .and_then(|rest| rest.split_once(";base64,").map(|(_, data)| data))
        .unwrap_or(text);
    let bytes = b64.decode(text).map_err(|_| "is not base64".to_owned())?;
    if bytes.len() > THUMBNAIL_MAX_BYTES {
        return Err(format!(
            "is {} bytes: at most {THUMBNAIL_MAX_BYTES}",
            bytes.len()
        ));
    }
    let format = image::guess_format(&bytes)
        .ok()
        .filter(|f| matches!(f, image::ImageFormat::Png | image::ImageFormat::Jpeg))
        .ok_or_else(|| "is neither a PNG nor a JPEG".to_owned())?;
    let (width, height) = image::ImageReader::with_format(Cursor::new(&bytes), format)
        .into_dimensions()
        .map_err(|e| format!("cannot be read: {e}"))?;
    if (width, height) != (THUMBNAIL_SIDE, THUMBNAIL_SIDE) {
        return Err(format!(
            "is {width} × {height} px: it must be {THUMBNAIL_SIDE} × {THUMBNAIL_SIDE}"
        ));
    }
    image::load_from_memory_with_format(&bytes, format)
        .map_err(|e| format!("cannot be decoded: {e}"))?;
    Ok(b64.encode(&bytes))
}

/// A switch of seed 003: `0`/`1`, as a number or a string (`"1"`, as the seed sends it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RawSwitch")]
struct Switch(bool);

#[derive(Deserialize)]
#[serde(untagged)]
enum RawSwitch {
    Number(i64),
    Text(String),
}

impl TryFrom<RawSwitch> for Switch {
    type Error = String;

    fn try_from(raw: RawSwitch) -> Result<Switch, String> {
        match raw {
            RawSwitch::Number(0) => Ok(Switch(false)),
            RawSwitch::Number(1) => Ok(Switch(true)),
            RawSwitch::Text(t) if t == "0" => Ok(Switch(false)),
            RawSwitch::Text(t) if t == "1" => Ok(Switch(true)),
            _ => Err("a switch is 0 or 1 (or \"0\" or \"1\")".to_owned()),
        }
    }
}

/// `0` or `1`, as seed 003 writes a switch.
fn switch_text(on: bool) -> &'static str {
    if on {
        "1"
    } else {
        "0"
    }
}

fn refuse(code: &'static str, message: &'static str) -> ValidationError {
    ValidationError::new(code).with_message(message.into())
}

/// One line of text: no control characters.
fn line(text: &str) -> Result<(), ValidationError> {
    if text.chars().any(char::is_control) {
        return Err(refuse("line", "contains control characters"));
    }
    Ok(())
}

/// A phone number with its country code (blank unsets it).
fn phone(text: &str) -> Result<(), ValidationError> {
    if text.trim().is_empty() {
        return Ok(());
    }
    phone_number(text)
        .map(|_| ())
        .map_err(|why| ValidationError::new("phone").with_message(why.into()))
}

/// An e-mail address (blank unsets it).
fn email(text: &str) -> Result<(), ValidationError> {
    use validator::ValidateEmail;
    if text.trim().is_empty() || text.trim().validate_email() {
        Ok(())
    } else {
        Err(refuse("email", "is not an e-mail address"))
    }
}

/// An `http` or `https` URL (blank unsets it).
fn web(text: &str) -> Result<(), ValidationError> {
    use validator::ValidateUrl;
    let text = text.trim();
    if text.is_empty()
        || (text.validate_url() && (text.starts_with("https://") || text.starts_with("http://")))
    {
        Ok(())
    } else {
        Err(refuse("url", "is not an http(s) URL"))
    }
}

/// At most 5 languages change in one request (seed 003 ignored the others; ardoise refuses).
fn at_most_five(versions: &BTreeMap<String, VersionRequest>) -> Result<(), ValidationError> {
    if versions.len() > 5 {
        return Err(refuse(
            "languages",
            "holds more than 5 languages: at most 5 change in one request",
        ));
    }
    Ok(())
}

/// The body of `PUT /v1/business-cards/{cardId}` (seed 003's shape): only the fields sent
/// change; a blank text unsets its field.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
struct BusinessCardRequest {
    #[validate(nested)]
    settings: Option<SettingsRequest>,
    /// By language code (ISO 639-1 of `/v1/languages/local`, or `un` for universal): at most
    /// 5 languages in one request.
    #[validate(custom(function = "at_most_five"))]
    translatable: Option<BTreeMap<String, VersionRequest>>,
    #[serde(rename = "non-translatable")]
    #[validate(nested)]
    non_translatable: Option<ContactRequest>,
}

/// The card's switches.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct SettingsRequest {
    /// `0` or `1`: a disabled card has no public page.
    #[schema(value_type = Option<String>, example = "1")]
    card_status: Option<Switch>,
    /// `0` or `1`: the photo is kept but not shown when `0`.
    #[schema(value_type = Option<String>, example = "1")]
    use_photo: Option<Switch>,
}

/// One language version.
#[derive(Debug, Serialize, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct VersionRequest {
    /// Up to 128 characters; when set the card is in business mode (`name`, `lastname`,
    /// `position` are kept but not shown).
    #[validate(length(max = 128), custom(function = "line"))]
    display_name: Option<String>,
    /// Up to 64 characters.
    #[validate(length(max = 64), custom(function = "line"))]
    name: Option<String>,
    /// Up to 64 characters.
    #[validate(length(max = 64), custom(function = "line"))]
    lastname: Option<String>,
    /// Up to 128 characters.
    #[validate(length(max = 128), custom(function = "line"))]
    position: Option<String>,
    /// Comma-separated, up to 150 characters.
    #[validate(length(max = 150), custom(function = "line"))]
    keywords: Option<String>,
    /// `0` or `1` (a new version is on unless `0`).
    #[schema(value_type = Option<String>, example = "1")]
    lang_status: Option<Switch>,
}

/// The fields that are the same in every language.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ContactRequest {
    /// With the country code (`+33…`, `0033…` or `33…`); stored as `+` and digits.
    #[validate(custom(function = "phone"))]
    #[schema(example = "+33 6 12 34 56 78")]
    phone_a: Option<String>,
    #[validate(custom(function = "phone"))]
    phone_b: Option<String>,
    #[validate(custom(function = "phone"))]
    mobile_a: Option<String>,
    #[validate(custom(function = "phone"))]
    mobile_b: Option<String>,
    #[validate(custom(function = "phone"))]
    fax_a: Option<String>,
    #[validate(custom(function = "phone"))]
    fax_b: Option<String>,
    #[validate(length(max = 254), custom(function = "email"))]
    email_b: Option<String>,
    /// An `http(s)` URL.
    #[validate(length(max = 2000), custom(function = "web"))]
    web_b: Option<String>,
    #[validate(length(max = 2000), custom(function = "web"))]
    web_c: Option<String>,
    #[validate(length(max = 64), custom(function = "line"))]
    skype_b: Option<String>,
    /// Address: state or province.
    #[validate(length(max = 128), custom(function = "line"))]
    addr_state: Option<String>,
    /// Base64 of a PNG or JPEG of 300 × 300 px, at most 50 kB; otherwise the rest is saved
    /// and the answer's code is `THUMBNAIL_REJECTED_ERROR`. Blank removes the photo.
    thumbnail: Option<String>,
}

/// `VALIDATION_ERROR` naming every refused field (`translatable.pl.name`, …).
fn validation_error(prefix: &str, errors: &ValidationErrors) -> DomainError {
    let mut found = Vec::new();
    collect(prefix, errors, &mut found);
    found.sort();
    DomainError::malformed(found.join("; "))
}

/// A request field's name on the wire: seed 003's camelCase (`phone_a` → `phoneA`), and
/// `non-translatable`.
fn wire_name(field: &str) -> String {
    if field == "non_translatable" {
        return "non-translatable".to_owned();
    }
    let mut name = String::with_capacity(field.len());
    let mut upper = false;
    for c in field.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            name.push(c.to_ascii_uppercase());
            upper = false;
        } else {
            name.push(c);
        }
    }
    name
}

fn collect(prefix: &str, errors: &ValidationErrors, found: &mut Vec<String>) {
    for (field, kind) in errors.errors() {
        let field = wire_name(field);
        let path = if prefix.is_empty() {
            field
        } else {
            format!("{prefix}.{field}")
        };
        match kind {
            ValidationErrorsKind::Field(list) => {
                for e in list {
                    let why = match (&e.message, e.code.as_ref()) {
                        (Some(message), _) => message.to_string(),
                        (None, "length") => match e.params.get("max") {
                            Some(max) => format!("is longer than {max} characters"),
                            None => "has a wrong length".to_owned(),
                        },
                        (None, code) => format!("is invalid ({code})"),
                    };
                    found.push(format!("field `{path}` {why}"));
                }
            }
            ValidationErrorsKind::Struct(inner) => collect(&path, inner, found),
            ValidationErrorsKind::List(items) => {
                for (i, inner) in items {
                    collect(&format!("{path}[{i}]"), inner, found);
                }
            }
        }
    }
}

/// A text change: blank unsets the field.
fn text(value: Option<String>) -> Option<Option<String>> {
    value.map(|t| {
        let t = t.trim();
        (!t.is_empty()).then(|| t.to_owned())
    })
}

/// A phone change, normalised (validated before).
fn phone_change(value: Option<String>) -> Result<Option<Option<String>>, DomainError> {
    match text(value) {
        Some(Some(t)) => phone_number(&t)
            .map(|p| Some(Some(p)))
            .map_err(DomainError::malformed),
        other => Ok(other),
    }
}

impl BusinessCardRequest {
    /// The changes, with whether a photo was given and refused (then left out).
    fn changes(self) -> Result<(CardChanges, Option<String>), DomainError> {
        self.validate().map_err(|e| validation_error("", &e))?;
        let mut versions = Vec::new();
        for (lang, v) in self.translatable.unwrap_or_default() {
            v.validate()
                .map_err(|e| validation_error(&format!("translatable.{lang}"), &e))?;
            versions.push((
                lang,
                VersionChanges {
                    display_name: text(v.display_name),
                    name: text(v.name),
                    lastname: text(v.lastname),
                    position: text(v.position),
                    keywords: text(v.keywords),
                    enabled: v.lang_status.map(|s| s.0),
                },
            ));
        }
        let settings = self.settings.unwrap_or(SettingsRequest {
            card_status: None,
            use_photo: None,
        });
        let mut changes = CardChanges {
            enabled: settings.card_status.map(|s| s.0),
            use_photo: settings.use_photo.map(|s| s.0),
            versions,
            ..CardChanges::default()
        };
        let mut rejected = None;
        if let Some(c) = self.non_translatable {
            changes.contact = ContactChanges {
                phone_a: phone_change(c.phone_a)?,
                phone_b: phone_change(c.phone_b)?,
                mobile_a: phone_change(c.mobile_a)?,
                mobile_b: phone_change(c.mobile_b)?,
                fax_a: phone_change(c.fax_a)?,
                fax_b: phone_change(c.fax_b)?,
                email_b: text(c.email_b),
                web_b: text(c.web_b),
                web_c: text(c.web_c),
                skype_b: text(c.skype_b),
                addr_state: text(c.addr_state),
            };
            changes.thumbnail = match text(c.thumbnail) {
                None => None,
                Some(None) => Some(None),
                Some(Some(photo)) => match check_thumbnail(&photo) {
                    Ok(photo) => Some(Some(photo)),
                    Err(why) => {
                        rejected = Some(why);
                        None
                    }
                },
            };
        }
        Ok((changes, rejected))
    }
}

/// The answer of `POST /v1/members/{member}/business-card` (seed 003's shape).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = BusinessCardCreatedJson)]
struct CreatedJson {
    /// 32 characters of `[A-Za-z0-9]`, case-sensitive.
    card_id: String,
    /// The QR code of `cardAddr`, a PNG in base64.
    card_qrc: String,
    /// The public page: `{http.public_url}/c/{cardId}`.
    card_addr: String,
}

/// A business card in seed 003's shape. Unset fields are `null`; switches are `"0"`/`"1"`.
#[derive(Serialize, ToSchema)]
struct BusinessCardJson {
    /// The language versions by code.
    translatable: BTreeMap<String, VersionJson>,
    #[serde(rename = "non-translatable")]
    non_translatable: ContactJson,
    settings: SettingsJson,
}

/// One language version.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct VersionJson {
    #[schema(example = "1")]
    lang_status: &'static str,
    display_name: Option<String>,
    name: Option<String>,
    lastname: Option<String>,
    position: Option<String>,
    keywords: Option<String>,
}

/// The fields that are the same in every language; phones as `+` and digits.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct ContactJson {
    /// A PNG or JPEG of 300 × 300 px, base64.
    thumbnail: Option<String>,
    phone_a: Option<String>,
    phone_b: Option<String>,
    mobile_a: Option<String>,
    mobile_b: Option<String>,
    fax_a: Option<String>,
    fax_b: Option<String>,
    email_b: Option<String>,
    web_b: Option<String>,
    web_c: Option<String>,
    skype_b: Option<String>,
    addr_state: Option<String>,
}

/// The card's switches and addresses.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct SettingsJson {
    card_id: String,
    #[schema(example = "1")]
    card_status: &'static str,
    #[schema(example = "1")]
    use_photo: &'static str,
    /// The QR code of `cardAddr`, a PNG in base64.
    card_qrc: String,
    /// The public page.
    card_addr: String,
}

fn card_json(
    state: &AppState,
    req: &HttpRequest,
    card: BusinessCard,
) -> Result<BusinessCardJson, DomainError> {
    let addr = card_addr(state, req, &card.id);
    let c = card.contact;
    Ok(BusinessCardJson {
        translatable: card
            .versions
            .into_iter()
            .map(|(lang, v)| {
                (
                    lang,
                    VersionJson {
                        lang_status: switch_text(v.enabled),
                        display_name: v.display_name,
                        name: v.name,
                        lastname: v.lastname,
                        position: v.position,
                        keywords: v.keywords,
                    },
                )
            })
            .collect(),
        non_translatable: ContactJson {
            thumbnail: card.thumbnail,
            phone_a: c.phone_a,
            phone_b: c.phone_b,
            mobile_a: c.mobile_a,
            mobile_b: c.mobile_b,
            fax_a: c.fax_a,
            fax_b: c.fax_b,
            email_b: c.email_b,
            web_b: c.web_b,
            web_c: c.web_c,
            skype_b: c.skype_b,
            addr_state: c.addr_state,
        },
        settings: SettingsJson {
            card_id: card.id.to_string(),
            card_status: switch_text(card.enabled),
            use_photo: switch_text(card.use_photo),
            card_qrc: qr_png_base64(&addr)?,
            card_addr: addr,
        },
    })
}

/// The business cards' use cases, registered by the server next to [`AppState`].
fn cards(cards: &Option<Data<BusinessCards>>) -> Result<&BusinessCards, DomainError> {
    cards
        .as_ref()
        .map(|data| data.get_ref())
        .ok_or_else(|| DomainError::Internal("no business cards service".into()))
}

/// The card in a path.
#[derive(IntoParams)]
#[into_params(parameter_in = Path, rename_all = "camelCase")]
#[allow(dead_code)] // describes a path segment that the handlers parse themselves
pub struct CardIdParam {
    /// The business card's id (`cardId`): 32 to 128 characters of `[A-Za-z0-9]`.
    card_id: String,
}

/// A language of a card in a path.
#[derive(IntoParams)]
#[into_params(parameter_in = Path, rename_all = "camelCase")]
#[allow(dead_code)]
pub struct CardLangParams {
    /// The business card's id (`cardId`).
    card_id: String,
    /// The language code (ISO 639-1, or `un`).
    lang: String,
}

/// A switch in a path.
#[derive(IntoParams)]
#[into_params(parameter_in = Path, rename_all = "camelCase")]
#[allow(dead_code)]
pub struct CardSwitchParams {
    /// The business card's id (`cardId`).
    card_id: String,
    /// `enable` or `disable`.
    status: String,
}

/// A language's switch in a path.
#[derive(IntoParams)]
#[into_params(parameter_in = Path, rename_all = "camelCase")]
#[allow(dead_code)]
pub struct LangSwitchParams {
    /// The business card's id (`cardId`).
    card_id: String,
    /// The language code (ISO 639-1, or `un`).
    lang: String,
    /// `enable` or `disable`.
    status: String,
}

/// `enable` or `disable`; anything else is a `VALIDATION_ERROR`.
fn status_path(text: &str) -> Result<bool, DomainError> {
    match text {
        "enable" => Ok(true),
        "disable" => Ok(false),
        _ => Err(DomainError::malformed(format!(
            "`{text}` is not a status: enable or disable"
        ))),
    }
}

/// `POST /v1/members/{member}/business-card`: creates the member's card.
#[utoipa::path(
    post,
    path = "/v1/members/{member}/business-card",
    operation_id = "create_business_card",
    tag = "business cards",
    summary = "Create a member's business card (seed 003)",
    description = "Staff (rights ≥ 1), a partner with `members:write` (at most \
        `partners.business_cards` cards, default 1000) or the member themself. A member has \
        at most one card. The card starts enabled, without languages.",
    params(MemberParam),
    responses(
        (status = 201, description = "`BUSINESS_CARD_CREATED`; `Location` of the card", body = Success<CreatedJson>),
        (status = 400, description = "Malformed member id", body = Failure),
        (status = 404, description = "`MEMBER_NOT_FOUND_ERROR`", body = Failure),
        (status = 409, description = "`BUSINESS_CARD_EXISTS_ERROR`, `PROFILE_LIMIT_REACHED_ERROR`", body = Failure),
    ),
    security(("bearer" = ["members:write"]), ("client_basic" = ["members:write"])),
)]
pub(super) async fn create(
    state: Data<AppState>,
    business: Option<Data<BusinessCards>>,
    req: HttpRequest,
    principal: Principal,
    path: Path<String>,
) -> Result<HttpResponse, Unauthorized> {
    let caller = caller(&principal)?;
    let lang = Lang::of(&req);
    Ok(reply(
        lang,
        async {
            let member = member_path(&path)?;
            let card = cards(&business)?.create(&caller, member).await?;
            let addr = card_addr(&state, &req, &card.id);
            Ok(created(
                lang,
                "BUSINESS_CARD_CREATED",
                &format!("/v1/business-cards/{}", card.id),
                CreatedJson {
                    card_id: card.id.to_string(),
                    card_qrc: qr_png_base64(&addr)?,
                    card_addr: addr,
                },
            ))
        }
        .await,
    ))
}

/// `GET /v1/business-cards/{cardId}`.
#[utoipa::path(
    get,
    path = "/v1/business-cards/{cardId}",
    operation_id = "get_business_card",
    tag = "business cards",
    summary = "A business card, in seed 003's shape",
    params(CardIdParam),
    responses(
        (status = 200, description = "`BUSINESS_CARD`", body = Success<BusinessCardJson>),
        (status = 404, description = "`CARD_ID_NOT_FOUND_ERROR`: no such card, or not yours", body = Failure),
    ),
    security(("bearer" = ["members:write"]), ("client_basic" = ["members:write"])),
)]
pub(super) async fn get(
    state: Data<AppState>,
    business: Option<Data<BusinessCards>>,
    req: HttpRequest,
    principal: Principal,
    path: Path<String>,
) -> Result<HttpResponse, Unauthorized> {
    let caller = caller(&principal)?;
    let lang = Lang::of(&req);
    Ok(reply(
        lang,
        async {
            let id = BusinessCardId::parse(&path)?;
            let card = cards(&business)?.card(&caller, &id).await?;
            Ok(ok(lang, "BUSINESS_CARD", card_json(&state, &req, card)?))
        }
        .await,
    ))
}

/// `PUT /v1/business-cards/{cardId}`: seed 003's save; only the fields sent change.
#[utoipa::path(
    put,
    path = "/v1/business-cards/{cardId}",
    operation_id = "change_business_card",
    tag = "business cards",
    summary = "Change a business card (seed 003's body)",
    description = "Only the fields sent change; a blank text unsets its field. At most 5 \
        languages in one request. A bad field is refused by name (400) and nothing changes. \
        A photo that is not a PNG or JPEG of 300 × 300 px and at most 50 kB is left out, the \
        rest is saved, and the answer's code is `THUMBNAIL_REJECTED_ERROR` (still a success, \
        as in seed 003). The body may be up to 160 KiB.",
    params(CardIdParam),
    request_body(content((BusinessCardRequest = "application/json"))),
    responses(
        (status = 200, description = "`BUSINESS_CARD_UPDATED`, or `THUMBNAIL_REJECTED_ERROR` when the photo was left out", body = Success<BusinessCardJson>),
        (status = 400, description = "`VALIDATION_ERROR`, naming the field", body = Failure),
        (status = 404, description = "`CARD_ID_NOT_FOUND_ERROR`", body = Failure),
        (status = 413, description = "`PAYLOAD_TOO_LARGE_ERROR`: above 160 KiB", body = Failure),
    ),
    security(("bearer" = ["members:write"]), ("client_basic" = ["members:write"])),
)]
pub(super) async fn change(
    state: Data<AppState>,
    business: Option<Data<BusinessCards>>,
    req: HttpRequest,
    principal: Principal,
    path: Path<String>,
    payload: Payload,
) -> Result<HttpResponse, Unauthorized> {
    let caller = caller(&principal)?;
    let lang = Lang::of(&req);
    Ok(reply(
        lang,
        async {
            let id = BusinessCardId::parse(&path)?;
            let business = cards(&business)?;
            // An unknown card is told before a bad body: the seed's order.
            business.card(&caller, &id).await?;
            let body: BusinessCardRequest = read_json(&req, payload).await?;
            let (changes, rejected) = body.changes()?;
            let card = business.change(&caller, &id, changes).await?;
            let json = card_json(&state, &req, card)?;
            Ok(match rejected {
                None => ok(lang, "BUSINESS_CARD_UPDATED", json),
                Some(why) => {
                    tracing::info!(card = %id, %why, "business card photo rejected");
                    success(
                        "THUMBNAIL_REJECTED_ERROR",
                        &format!(
                            "{} ({why})",
                            match lang {
                                Lang::En => "The card was saved, but the photo was refused: it must be a PNG or JPEG of 300 × 300 px, at most 50 kB",
                                Lang::Fr => "La carte a été enregistrée, mais la photo a été refusée : il faut un PNG ou un JPEG de 300 × 300 px, de 50 ko au plus",
                            }
                        ),
                        json,
                    )
                }
            })
        }
        .await,
    ))
}

/// `DELETE /v1/business-cards/{cardId}`.
#[utoipa::path(
    delete,
    path = "/v1/business-cards/{cardId}",
    operation_id = "delete_business_card",
    tag = "business cards",
    summary = "Delete a business card",
    params(CardIdParam),
    responses(
        (status = 200, description = "`BUSINESS_CARD_DELETED`", body = Success<super::Empty>),
        (status = 404, description = "`CARD_ID_NOT_FOUND_ERROR`", body = Failure),
    ),
    security(("bearer" = ["members:write"]), ("client_basic" = ["members:write"])),
)]
pub(super) async fn delete(
    business: Option<Data<BusinessCards>>,
    req: HttpRequest,
    principal: Principal,
    path: Path<String>,
) -> Result<HttpResponse, Unauthorized> {
    let caller = caller(&principal)?;
    let lang = Lang::of(&req);
    Ok(reply(
        lang,
        async {
            let id = BusinessCardId::parse(&path)?;
            cards(&business)?.delete(&caller, &id).await?;
            Ok(ok(lang, "BUSINESS_CARD_DELETED", super::Empty {}))
        }
        .await,
    ))
}

/// `DELETE /v1/business-cards/{cardId}/{lang}`: one language version.
#[utoipa::path(
    delete,
    path = "/v1/business-cards/{cardId}/{lang}",
    tag = "business cards",
    summary = "Delete one language of a business card",
    params(CardLangParams),
    responses(
        (status = 200, description = "`BUSINESS_CARD_LANGUAGE_DELETED`", body = Success<super::Empty>),
        (status = 404, description = "`CARD_ID_NOT_FOUND_ERROR`: no such card or language", body = Failure),
    ),
    security(("bearer" = ["members:write"]), ("client_basic" = ["members:write"])),
)]
pub(super) async fn delete_language(
    business: Option<Data<BusinessCards>>,
    req: HttpRequest,
    principal: Principal,
    path: Path<(String, String)>,
) -> Result<HttpResponse, Unauthorized> {
    let caller = caller(&principal)?;
    let lang = Lang::of(&req);
    Ok(reply(
        lang,
        async {
            let (id, version) = path.into_inner();
            let id = BusinessCardId::parse(&id)?;
            cards(&business)?
                .delete_version(&caller, &id, &version)
                .await?;
            Ok(ok(lang, "BUSINESS_CARD_LANGUAGE_DELETED", super::Empty {}))
        }
        .await,
    ))
}

async fn set_setting(
    business: Option<Data<BusinessCards>>,
    req: HttpRequest,
    principal: Principal,
    (id, status): (String, String),
    setting: Setting,
) -> Result<HttpResponse, Unauthorized> {
    let caller = caller(&principal)?;
    let lang = Lang::of(&req);
    Ok(reply(
        lang,
        async {
            let id = BusinessCardId::parse(&id)?;
            let on = status_path(&status)?;
            cards(&business)?
                .set_setting(&caller, &id, setting, on)
                .await?;
            Ok(ok(lang, "BUSINESS_CARD_UPDATED", super::Empty {}))
        }
        .await,
    ))
}

/// `PUT /v1/business-cards/{cardId}/cardStatus/{status}`.
#[utoipa::path(
    put,
    path = "/v1/business-cards/{cardId}/cardStatus/{status}",
    tag = "business cards",
    summary = "Switch a business card on or off",
    description = "A disabled card keeps its data; its public page answers 404.",
    params(CardSwitchParams),
    responses(
        (status = 200, description = "`BUSINESS_CARD_UPDATED`", body = Success<super::Empty>),
        (status = 400, description = "`VALIDATION_ERROR`: the status is not enable or disable", body = Failure),
        (status = 404, description = "`CARD_ID_NOT_FOUND_ERROR`", body = Failure),
    ),
    security(("bearer" = ["members:write"]), ("client_basic" = ["members:write"])),
)]
pub(super) async fn card_status(
    business: Option<Data<BusinessCards>>,
    req: HttpRequest,
    principal: Principal,
    path: Path<(String, String)>,
) -> Result<HttpResponse, Unauthorized> {
    set_setting(business, req, principal, path.into_inner(), Setting::Card).await
}

/// `PUT /v1/business-cards/{cardId}/usePhoto/{status}`.
#[utoipa::path(
    put,
    path = "/v1/business-cards/{cardId}/usePhoto/{status}",
    tag = "business cards",
    summary = "Show or hide a business card's photo",
    description = "A hidden photo is kept.",
    params(CardSwitchParams),
    responses(
        (status = 200, description = "`BUSINESS_CARD_UPDATED`", body = Success<super::Empty>),
        (status = 400, description = "`VALIDATION_ERROR`: the status is not enable or disable", body = Failure),
        (status = 404, description = "`CARD_ID_NOT_FOUND_ERROR`", body = Failure),
    ),
    security(("bearer" = ["members:write"]), ("client_basic" = ["members:write"])),
)]
pub(super) async fn use_photo(
    business: Option<Data<BusinessCards>>,
    req: HttpRequest,
    principal: Principal,
    path: Path<(String, String)>,
) -> Result<HttpResponse, Unauthorized> {
    set_setting(business, req, principal, path.into_inner(), Setting::Photo).await
}

/// `PUT /v1/business-cards/{cardId}/langStatus/{lang}/{status}`.
#[utoipa::path(
    put,
    path = "/v1/business-cards/{cardId}/langStatus/{lang}/{status}",
    tag = "business cards",
    summary = "Switch one language of a business card on or off",
    description = "A disabled language keeps its data and is not shown on the public page.",
    params(LangSwitchParams),
    responses(
        (status = 200, description = "`BUSINESS_CARD_UPDATED`", body = Success<super::Empty>),
        (status = 400, description = "`VALIDATION_ERROR`: the status is not enable or disable", body = Failure),
        (status = 404, description = "`CARD_ID_NOT_FOUND_ERROR`: no such card or language", body = Failure),
    ),
    security(("bearer" = ["members:write"]), ("client_basic" = ["members:write"])),
)]
pub(super) async fn lang_status(
    business: Option<Data<BusinessCards>>,
    req: HttpRequest,
    principal: Principal,
    path: Path<(String, String, String)>,
) -> Result<HttpResponse, Unauthorized> {
    let caller = caller(&principal)?;
    let lang = Lang::of(&req);
    let (id, version, status) = path.into_inner();
    Ok(reply(
        lang,
        async {
            let id = BusinessCardId::parse(&id)?;
            let on = status_path(&status)?;
            cards(&business)?
                .set_version_enabled(&caller, &id, &version, on)
                .await?;
            Ok(ok(lang, "BUSINESS_CARD_UPDATED", super::Empty {}))
        }
        .await,
    ))
}

/// The language in a path of the repository.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)]
pub struct LanguageParam {
    /// `local` (each language's own name), or an ISO 639-1 code of the repository.
    lang: String,
}

/// `GET /v1/languages/{lang}` (public): seed 003's language repository.
#[utoipa::path(
    get,
    path = "/v1/languages/{lang}",
    tag = "service",
    summary = "Language names (seed 003's repository)",
    description = "`local`: each language's name in itself (`{\"ru\": \"русский\", …}`); an \
        ISO 639-1 code X: every language's name in X (`/v1/languages/fr` → `{\"en\": \
        \"anglais\", …}`). The languages a business card may be written in (with `un`, \
        universal). Names from CLDR. Public.",
    params(LanguageParam),
    responses(
        (status = 200, description = "`LANGUAGE_NAMES`: code → name", body = Success<BTreeMap<String, String>>),
        (status = 404, description = "`RESOURCE_NOT_FOUND_ERROR`: not a language of the repository", body = Failure),
    ),
)]
pub(super) async fn language_names(req: HttpRequest, path: Path<String>) -> HttpResponse {
    let lang = Lang::of(&req);
    let names = if path.as_str() == "local" {
        Some(languages::local_names())
    } else {
        languages::names_in(&path)
    };
    match names {
        Some(names) => ok(
            lang,
            "LANGUAGE_NAMES",
            names.into_iter().collect::<BTreeMap<_, _>>(),
        ),
        None => super::not_found_resource(&format!(
            "`{}` is not a language of the repository (see /v1/languages/local)",
            path.as_str()
        )),
    }
}

// The photo check, the switches and the request validation, without a server.
#[cfg(test)]
mod tests {
    use super::*;

    fn png(width: u32, height: u32) -> Vec<u8> {
        let image =
            image::GrayImage::from_fn(width, height, |x, y| image::Luma([((x + y) % 256) as u8]));
        let mut bytes = Vec::new();
        image
            .write_to(&mut Cursor::new(&mut bytes), image::ImageFormat::Png)
            .unwrap();
        bytes
    }

    #[test]
    fn a_photo_is_300_by_300_png_or_jpeg_of_50_kb_at_most() {
        let b64 = base64::engine::general_purpose::STANDARD;
        let good = b64.encode(png(300, 300));
        assert_eq!(check_thumbnail(&good).as_deref(), Ok(good.as_str()));
        assert_eq!(
            check_thumbnail(&format!("data:image/png;base64,{good}")).as_deref(),
            Ok(good.as_str())
        );
        assert!(check_thumbnail(&b64.encode(png(301, 300)))
            .unwrap_err()
            .contains("301 × 300"));
        assert!(check_thumbnail("not base64!").is_err());
        assert!(check_thumbnail(&b64.encode(b"GIF89a....")).is_err());
        assert!(check_thumbnail(&b64.encode(vec![0u8; 60_000]))
            .unwrap_err()
            .contains("60000 bytes"));
    }

    #[test]
    fn switches_are_0_or_1() {
        for (json, expected) in [("1", true), ("0", false), ("\"1\"", true), ("\"0\"", false)] {
            assert_eq!(
                serde_json::from_str::<Switch>(json).unwrap(),
                Switch(expected)
            );
        }
        for bad in ["2", "\"yes\"", "true", "null"] {
            assert!(serde_json::from_str::<Switch>(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn six_languages_and_bad_fields_are_refused_by_name() {
        let six: BusinessCardRequest = serde_json::from_str(
            r#"{"translatable": {"en": {}, "fr": {}, "de": {}, "pl": {}, "ru": {}, "es": {}}}"#,
        )
        .unwrap();
        let e = six.changes().unwrap_err().to_string();
        assert!(e.contains("`translatable`"), "{e}");
        let bad: BusinessCardRequest = serde_json::from_str(
            r#"{"translatable": {"pl": {"name": "Jan", "lastname": "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}},
                "non-translatable": {"mobileA": "06 12 34 56 78", "emailB": "nope"}}"#,
        )
        .unwrap();
        let e = bad.changes().unwrap_err().to_string();
        assert!(e.contains("`non-translatable.mobileA`"), "{e}");
        assert!(e.contains("`non-translatable.emailB`"), "{e}");
        let lastname: BusinessCardRequest = serde_json::from_str(
            r#"{"translatable": {"pl": {"lastname": "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}}}"#,
        )
        .unwrap();
        let e = lastname.changes().unwrap_err().to_string();
        assert!(e.contains("`translatable.pl.lastname`"), "{e}");
    }
}
