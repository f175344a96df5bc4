//! QR vouchers in `/v1` (services.md): issue, read, the QR code as SVG and PNG, redeem.
//! Every rule is in `ardoise_domain::Vouchers`; the scope `vouchers:issue` is checked here.

use actix_web::http::header;
use actix_web::web::{Data, Path, Payload};
use actix_web::{HttpRequest, HttpResponse, ResponseError};
use ardoise_domain::voucher::{Voucher, VoucherCode, VoucherKind, VoucherRequest};
use ardoise_domain::DomainError;
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::{IntoParams, ToSchema};

use super::{created, ok, read_params, reply, staff, Failure, Lang, Success};
use crate::openapi::{Amount, AmountInput};
use crate::params::Ty;
use crate::principal::Principal;
use crate::AppState;

/// The voucher in a path.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)] // describes a path segment that the handlers parse themselves
struct CodeParam {
    /// The voucher's code, with or without its dashes, in any case.
    #[param(example = "K3QF-9XRA-TT2M-7HD4-X")]
    code: String,
}

/// A voucher.
#[derive(Serialize, ToSchema)]
pub(crate) struct VoucherJson {
    /// As printed: 16 base32 symbols and a check symbol, in groups.
    #[schema(example = "K3QF-9XRA-TT2M-7HD4-X")]
    code: String,
    /// `coupon` or `ticket`.
    kind: &'static str,
    /// A coupon's value.
    #[schema(value_type = Option<Amount>)]
    value: Option<String>,
    /// A coupon's product (one unit).
    product: Option<String>,
    label: Option<String>,
    /// RFC 3339.
    valid_until: Option<String>,
    /// `issued`, `used` or `expired`.
    state: &'static str,
    issued_by: String,
    /// RFC 3339.
    issued_at: String,
    /// RFC 3339.
    used_at: Option<String>,
    used_by: Option<String>,
    /// The card a coupon went to.
    card: Option<String>,
    /// The coupon's transaction.
    transaction: Option<i64>,
    /// Where its QR code is, as SVG.
    qr_svg: String,
    /// Where its QR code is, as PNG.
    qr_png: String,
}

impl VoucherJson {
    pub(crate) fn new(v: Voucher, now: DateTime<Utc>) -> VoucherJson {
        let used = v.used.clone();
        VoucherJson {
            code: v.code.to_string(),
            kind: v.kind.as_str(),
            value: v.value.map(|m| m.to_fixed2()),
            product: v.product.clone(),
            label: v.label.clone(),
            valid_until: v.valid_until.map(|t| t.to_rfc3339()),
            state: v.state_at(now),
            issued_by: v.issued_by.clone(),
            issued_at: v.issued_at.to_rfc3339(),
            used_at: used.as_ref().map(|u| u.at.to_rfc3339()),
            used_by: used.as_ref().map(|u| u.by.clone()),
            card: used
                .as_ref()
                .and_then(|u| u.card.as_ref())
                .map(ToString::to_string),
            transaction: used.as_ref().and_then(|u| u.transaction).map(|t| t.0),
            qr_svg: format!("/v1/vouchers/{}/qr.svg", v.code.as_str()),
            qr_png: format!("/v1/vouchers/{}/qr.png", v.code.as_str()),
        }
    }
}

/// The vouchers issued.
#[derive(Serialize, ToSchema)]
pub(crate) struct IssuedJson {
    count: usize,
    items: Vec<VoucherJson>,
}

impl IssuedJson {
    pub(crate) fn new(items: Vec<VoucherJson>) -> IssuedJson {
        IssuedJson {
            count: items.len(),
            items,
        }
    }
}

/// The body of `POST /v1/vouchers` (JSON or form).
#[derive(ToSchema)]
#[allow(dead_code)] // describes the body that `Params` parses
struct VoucherRequestBody {
    /// `coupon` or `ticket`.
    #[schema(example = "coupon")]
    kind: String,
    /// A coupon credited to a card: its value (or `product`).
    #[schema(value_type = Option<AmountInput>)]
    value: Option<String>,
    /// A coupon for one unit of this product (or `value`).
    product: Option<String>,
    /// A ticket's event (required for a ticket), or a coupon's caption.
    #[schema(example = "Gala 2027")]
    label: Option<String>,
    /// RFC 3339; none: valid until used.
    valid_until: Option<String>,
    /// How many, 1 to 1000 (default 1).
    #[schema(minimum = 1, maximum = 1000)]
    count: Option<i64>,
}

/// An RFC 3339 time from a field, naming it.
pub(crate) fn time_field(
    name: &str,
    text: Option<&str>,
) -> Result<Option<DateTime<Utc>>, DomainError> {
    match text {
        None | Some("") => Ok(None),
        Some(text) => DateTime::parse_from_rfc3339(text)
            .map(|t| Some(t.with_timezone(&Utc)))
            .map_err(|_| {
                DomainError::malformed(format!(
                    "field `{name}` is not an RFC 3339 time such as 2027-06-30T23:59:59Z"
                ))
            }),
    }
}

/// A voucher code from the path.
fn code_path(text: &str) -> Result<VoucherCode, DomainError> {
    VoucherCode::parse(text)
}

/// The staff user or the partner holding `vouchers:issue`; a member is refused.
fn issuer(principal: &Principal) -> Result<ardoise_domain::Principal, Box<HttpResponse>> {
    principal
        .require_scope("vouchers:issue")
        .map_err(|e| Box::new(e.error_response()))?;
    Ok(principal.domain())
}

/// `POST /v1/vouchers` (staff rights 3, or partner scope `vouchers:issue`).
#[utoipa::path(
    post,
    path = "/v1/vouchers",
    tag = "vouchers",
    summary = "Issue vouchers",
    description = "Staff rights 3, or partner scope `vouchers:issue`. A coupon has a `value` \
        (credited to a card) or a `product` (one unit); a ticket has a `label`. `count` \
        vouchers (1 to 1000) with unguessable codes (80 random bits, Crockford base32 with a \
        check symbol). `Location` is the first one.",
    request_body(content(
        (VoucherRequestBody = "application/json"),
        (VoucherRequestBody = "application/x-www-form-urlencoded"),
    )),
    responses(
        (status = 201, description = "`VOUCHERS_ISSUED`", body = Success<IssuedJson>),
        (status = 400, description = "`VALIDATION_ERROR`, naming the field", body = Failure),
        (status = 404, description = "`PRODUCT_NOT_FOUND_ERROR`", body = Failure),
    ),
    security(("bearer" = ["vouchers:issue"]), ("client_basic" = ["vouchers:issue"])),
)]
pub(super) async fn issue(
    state: Data<AppState>,
    req: HttpRequest,
    principal: Principal,
    payload: Payload,
) -> HttpResponse {
    let lang = Lang::of(&req);
    let issuer = match issuer(&principal) {
        Ok(issuer) => issuer,
        Err(answer) => return *answer,
    };
    reply(
        lang,
        async {
            let p = read_params(
                &req,
                payload,
                &[
                    ("kind", Ty::Text),
                    ("value", Ty::Money),
                    ("product", Ty::Text),
                    ("label", Ty::Text),
                    ("valid_until", Ty::Text),
                    ("count", Ty::Int),
                ],
            )
            .await?;
            let kind = VoucherKind::parse(p.required("kind")?).ok_or_else(|| {
                DomainError::malformed("field `kind` must be `coupon` or `ticket`")
            })?;
            let request = VoucherRequest {
                kind,
                value: p.money_opt("value")?,
                product: p.given("product").map(str::to_owned),
                label: p.given("label").map(str::to_owned),
                valid_until: time_field("valid_until", p.given("valid_until"))?,
                count: p.whole_opt("count")?,
            };
            let issued = state.vouchers.issue(&issuer, request).await?;
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
        }
        .await,
    )
}

/// `GET /v1/vouchers/{code}` (staff rights ≥ 2, or partner scope `vouchers:issue`).
#[utoipa::path(
    get,
    path = "/v1/vouchers/{code}",
    tag = "vouchers",
    summary = "A voucher and its state",
    description = "Staff rights ≥ 2, or partner scope `vouchers:issue`.",
    params(CodeParam),
    responses(
        (status = 200, description = "`VOUCHER`", body = Success<VoucherJson>),
        (status = 400, description = "Malformed code (or wrong check symbol)", body = Failure),
        (status = 404, description = "`VOUCHER_NOT_FOUND_ERROR`", body = Failure),
    ),
    security(("bearer" = ["vouchers:issue"]), ("client_basic" = ["vouchers:issue"])),
)]
pub(super) async fn get(
    state: Data<AppState>,
    req: HttpRequest,
    principal: Principal,
    path: Path<String>,
) -> HttpResponse {
    let lang = Lang::of(&req);
    let reader = match issuer(&principal) {
        Ok(reader) => reader,
        Err(answer) => return *answer,
    };
    reply(
        lang,
        async {
            let code = code_path(&path)?;
            let voucher = state.vouchers.voucher(&reader, &code).await?;
            Ok(ok(lang, "VOUCHER", VoucherJson::new(voucher, Utc::now())))
        }
        .await,
    )
}

/// What a QR code holds: the printed code, or the voucher's URL under `http.public_url`.
fn qr_content(state: &AppState, code: &VoucherCode) -> String {
    match &state.public_url {
        Some(base) => format!(
            "{}/v1/vouchers/{}",
            base.trim_end_matches('/'),
            code.as_str()
        ),
        None => code.to_string(),
    }
}

/// The QR code of `content`.
fn qr(content: &str) -> Result<qrcode::QrCode, DomainError> {
    qrcode::QrCode::new(content.as_bytes())
        .map_err(|e| DomainError::Internal(format!("cannot make a QR code: {e}")))
}

/// The QR code as a PNG: 8 pixels a module, a quiet zone of 4 modules, grey-scale.
pub(crate) fn qr_png(content: &str) -> Result<Vec<u8>, DomainError> {
    const SCALE: usize = 8;
    const QUIET: usize = 4;
    let code = qr(content)?;
    let modules = code.width();
    let colors = code.to_colors();
    let side = (modules + 2 * QUIET) * SCALE;
    let mut pixels = vec![255u8; side * side];
    for (i, color) in colors.iter().enumerate() {
        if *color == qrcode::Color::Dark {
            let (mx, my) = (i % modules + QUIET, i / modules + QUIET);
            for y in my * SCALE..(my + 1) * SCALE {
                for x in mx * SCALE..(mx + 1) * SCALE {
                    if let Some(p) = pixels.get_mut(y * side + x) {
                        *p = 0;
                    }
                }
            }
        }
    }
    let side = u32::try_from(side).map_err(|_| DomainError::Internal("QR too large".into()))?;
    let mut out = Vec::new();
    let failed = |e: png::EncodingError| DomainError::Internal(format!("cannot write a PNG: {e}"));
    let mut encoder = png::Encoder::new(&mut out, side, side);
    encoder.set_color(png::ColorType::Grayscale);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().map_err(failed)?;
    writer.write_image_data(&pixels).map_err(failed)?;
    writer.finish().map_err(failed)?;
    Ok(out)
}

/// The QR code as SVG.
pub(crate) fn qr_svg(content: &str) -> Result<String, DomainError> {
    Ok(qr(content)?
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(200, 200)
        .build())
}

/// Serves a voucher's QR code in one format.
async fn qr_answer(
    state: Data<AppState>,
    req: HttpRequest,
    principal: Principal,
    path: Path<String>,
    png: bool,
) -> HttpResponse {
    let lang = Lang::of(&req);
    let reader = match issuer(&principal) {
        Ok(reader) => reader,
        Err(answer) => return *answer,
    };
    reply(
        lang,
        async {
            let code = code_path(&path)?;
            // The voucher must exist and the caller may read it.
            state.vouchers.voucher(&reader, &code).await?;
            let content = qr_content(&state, &code);
            let mut answer = HttpResponse::Ok();
            answer.insert_header((header::CACHE_CONTROL, "private, max-age=3600"));
            Ok(if png {
                answer.content_type("image/png").body(qr_png(&content)?)
            } else {
                answer.content_type("image/svg+xml").body(qr_svg(&content)?)
            })
        }
        .await,
    )
}

/// `GET /v1/vouchers/{code}/qr.svg` (as the voucher): its QR code as SVG.
#[utoipa::path(
    get,
    path = "/v1/vouchers/{code}/qr.svg",
    tag = "vouchers",
    summary = "A voucher's QR code (SVG)",
    description = "As `GET /v1/vouchers/{code}`. The QR code holds the printed code, or the \
        voucher's URL when `http.public_url` is set.",
    params(CodeParam),
    responses(
        (status = 200, description = "The QR code", content_type = "image/svg+xml", body = String),
        (status = 400, description = "Malformed code", body = Failure),
        (status = 404, description = "`VOUCHER_NOT_FOUND_ERROR`", body = Failure),
    ),
    security(("bearer" = ["vouchers:issue"]), ("client_basic" = ["vouchers:issue"])),
)]
pub(super) async fn get_qr_svg(
    state: Data<AppState>,
    req: HttpRequest,
    principal: Principal,
    path: Path<String>,
) -> HttpResponse {
    qr_answer(state, req, principal, path, false).await
}

/// `GET /v1/vouchers/{code}/qr.png` (as the voucher): its QR code as PNG.
#[utoipa::path(
    get,
    path = "/v1/vouchers/{code}/qr.png",
    tag = "vouchers",
    summary = "A voucher's QR code (PNG)",
    description = "As `GET /v1/vouchers/{code}`: 8 pixels a module, grey-scale.",
    params(CodeParam),
    responses(
        (status = 200, description = "The QR code", content_type = "image/png", body = Vec<u8>),
        (status = 400, description = "Malformed code", body = Failure),
        (status = 404, description = "`VOUCHER_NOT_FOUND_ERROR`", body = Failure),
    ),
    security(("bearer" = ["vouchers:issue"]), ("client_basic" = ["vouchers:issue"])),
)]
pub(super) async fn get_qr_png(
    state: Data<AppState>,
    req: HttpRequest,
    principal: Principal,
    path: Path<String>,
) -> HttpResponse {
    qr_answer(state, req, principal, path, true).await
}

/// A redemption.
#[derive(Serialize, ToSchema)]
struct RedeemedJson {
    voucher: VoucherJson,
    /// The coupon's transaction (none for a ticket).
    transaction: Option<i64>,
    card: Option<String>,
    /// What the coupon credited.
    #[schema(value_type = Option<Amount>)]
    amount: Option<String>,
    /// The card's balance after.
    #[schema(value_type = Option<Amount>)]
    balance: Option<String>,
}

/// The body of a redemption.
#[derive(ToSchema)]
#[allow(dead_code)] // describes the body that `Params` parses
struct RedeemRequest {
    /// The card a coupon goes to (optional for a ticket).
    #[schema(example = "04A1B2C3D4")]
    card: Option<String>,
}

/// `POST /v1/vouchers/{code}/redeem` (staff rights ≥ 2) `{"card"}`.
#[utoipa::path(
    post,
    path = "/v1/vouchers/{code}/redeem",
    tag = "vouchers",
    summary = "Redeem a voucher",
    description = "Staff rights ≥ 2. A coupon credits its value to `card` (a `coupon` \
        transaction) or records its product there; a ticket is marked used. Exactly once \
        under any concurrency: the others get `VOUCHER_ALREADY_USED_ERROR` saying when and by \
        whom.",
    params(CodeParam),
    request_body(content(
        (RedeemRequest = "application/json"),
        (RedeemRequest = "application/x-www-form-urlencoded"),
    )),
    responses(
        (status = 200, description = "`VOUCHER_REDEEMED`", body = Success<RedeemedJson>),
        (status = 400, description = "`VALIDATION_ERROR` (code, card)", body = Failure),
        (status = 404, description = "`VOUCHER_NOT_FOUND_ERROR`, `CARD_NOT_FOUND_ERROR`", body = Failure),
        (status = 409, description = "`VOUCHER_ALREADY_USED_ERROR`, `VOUCHER_EXPIRED_ERROR`, card not usable, balance ceiling", body = Failure),
    ),
    security(("bearer" = [])),
)]
pub(super) async fn redeem(
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
            let code = code_path(&path)?;
            let p = read_params(&req, payload, &[("card", Ty::Text)]).await?;
            let card = p.card_opt("card")?;
            let done = state.vouchers.redeem(actor, &code, card.as_ref()).await?;
            let receipt = done.receipt;
            Ok(ok(
                lang,
                "VOUCHER_REDEEMED",
                RedeemedJson {
                    voucher: VoucherJson::new(done.voucher, Utc::now()),
                    transaction: receipt.as_ref().map(|r| r.transaction.0),
                    card: receipt.as_ref().map(|r| r.card.to_string()),
                    amount: receipt.as_ref().map(|r| r.amount.to_fixed2()),
                    balance: receipt.as_ref().map(|r| r.balance_after.to_fixed2()),
                },
            ))
        }
        .await,
    )
}
