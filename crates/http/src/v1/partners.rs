//! `/v1/partners`: the OAuth2 partner registry for administrators (staff rights 3). The rights
//! and every rule (scopes, caps, revocations) are in `ardoise_auth::PartnerAdmin`; this file
//! parses and renders. A client secret appears in two answers only: the creation and the
//! rotation.

use actix_web::web::{Data, Path, Payload};
use actix_web::{HttpRequest, HttpResponse};
use ardoise_auth::{PartnerAdmin, PartnerChanges};
use ardoise_domain::ports::Partner;
use ardoise_domain::{DomainError, Money};
use serde::Serialize;
use utoipa::{IntoParams, ToSchema};

use super::{
    created, no_content, ok, page_of, paged, read_params, reply, Failure, Lang, PageJson, Success,
};
use crate::openapi::{Amount, AmountInput, PageParams};
use crate::params::Params;
use crate::params::Ty;
use crate::principal::Principal;
use crate::AppState;

/// The registry for the staff user behind `principal`; partners and rights below 3 get 403.
fn admin<'a>(state: &'a AppState, principal: &Principal) -> Result<PartnerAdmin<'a>, DomainError> {
    match principal {
        Principal::Staff { actor } => state.oauth.admin(actor),
        Principal::Partner { .. } | Principal::Member { .. } => {
            Err(DomainError::InsufficientRights)
        }
    }
}

/// A partner as administrators see it: never its secret nor the secret's hash.
#[derive(Serialize, ToSchema)]
struct PartnerJson {
    client_id: String,
    name: String,
    /// Among `cards:read`, `cards:credit`, `members:read`, `tokens:introspect`.
    scopes: Vec<String>,
    /// Whether it may authenticate on `/v1` with HTTP Basic (not recommended).
    allow_basic: bool,
    enabled: bool,
    /// The most one credit may add.
    #[schema(value_type = Amount)]
    credit_cap_operation: String,
    /// The most its credits may add in a day.
    #[schema(value_type = Amount)]
    credit_cap_day: String,
    #[schema(example = "EUR")]
    currency: &'static str,
    /// RFC 3339.
    created_at: String,
}

impl From<Partner> for PartnerJson {
    fn from(p: Partner) -> PartnerJson {
        PartnerJson {
            client_id: p.client_id,
            name: p.name,
            scopes: p.scopes,
            allow_basic: p.allow_basic,
            enabled: p.active,
            credit_cap_operation: p.credit_cap_operation.to_fixed2(),
            credit_cap_day: p.credit_cap_day.to_fixed2(),
            currency: "EUR",
            created_at: p.created_at.to_rfc3339(),
        }
    }
}

/// A new partner: one of the two answers that hold the secret.
#[derive(Serialize, ToSchema)]
struct CreatedJson {
    #[serde(flatten)]
    partner: PartnerJson,
    /// Shown in this answer only.
    client_secret: String,
}

/// A new secret: the other answer that holds it.
#[derive(Serialize, ToSchema)]
struct SecretJson {
    client_id: String,
    /// Shown in this answer only.
    client_secret: String,
}

/// The body of `POST /v1/partners` (JSON or form).
#[derive(ToSchema)]
#[allow(dead_code)] // describes the body that `Params` parses
struct PartnerRequest {
    #[schema(example = "Billetterie")]
    name: String,
    /// Space-separated scopes among `cards:read`, `cards:credit`, `members:read`,
    /// `tokens:introspect`.
    #[schema(example = "cards:read cards:credit")]
    scopes: String,
    /// HTTP Basic on `/v1` (default false).
    allow_basic: Option<bool>,
    /// Default: the configured cap.
    #[schema(value_type = Option<AmountInput>)]
    credit_cap_operation: Option<String>,
    /// Default: the configured cap.
    #[schema(value_type = Option<AmountInput>)]
    credit_cap_day: Option<String>,
}

/// The body of `PATCH /v1/partners/{client_id}` (JSON or form): at least one field; what is
/// not given is kept.
#[derive(ToSchema)]
#[allow(dead_code)] // describes the body that `Params` parses
struct PartnerPatchRequest {
    name: Option<String>,
    /// Space-separated; losing a scope revokes the partner's tokens.
    #[schema(example = "cards:read")]
    scopes: Option<String>,
    /// Turning it off revokes the partner's tokens.
    allow_basic: Option<bool>,
    /// false disables the partner and revokes its tokens.
    enabled: Option<bool>,
    #[schema(value_type = Option<AmountInput>)]
    credit_cap_operation: Option<String>,
    #[schema(value_type = Option<AmountInput>)]
    credit_cap_day: Option<String>,
}

/// The partner in a path.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)] // describes a path segment that the handlers read themselves
struct ClientIdParam {
    /// The partner's client id.
    client_id: String,
}

/// A positive cap in euros, naming the field.
fn cap(p: &Params, name: &str) -> Result<Option<Money>, DomainError> {
    p.money_opt(name)
}

/// `GET /v1/partners` [3]: every partner, active or not, by client id, paged.
#[utoipa::path(
    get,
    path = "/v1/partners",
    tag = "partners admin",
    summary = "The partners, by client id (rights 3)",
    description = "Active or not; never a secret.",
    params(PageParams),
    responses(
        (status = 200, description = "`PARTNER_LIST`, with a `Link` header", body = Success<PageJson<PartnerJson>>),
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
            let admin = admin(&state, &principal)?;
            let page = page_of(&req)?;
            let all = admin.list().await?;
            Ok(paged(
                &req,
                lang,
                "PARTNER_LIST",
                page.slice(all).map(PartnerJson::from),
            ))
        }
        .await,
    )
}

/// `POST /v1/partners` [3]: `{"name", "scopes", "allow_basic"?, "credit_cap_operation"?,
/// "credit_cap_day"?}` → 201 with `Location` and the credentials, shown this once.
#[utoipa::path(
    post,
    path = "/v1/partners",
    tag = "partners admin",
    summary = "Register a partner (rights 3)",
    description = "The answer holds `client_secret`, shown this once.",
    request_body(content(
        (PartnerRequest = "application/json"),
        (PartnerRequest = "application/x-www-form-urlencoded"),
    )),
    responses(
        (status = 201, description = "`PARTNER_CREATED`; `Location` of the partner", body = Success<CreatedJson>),
        (status = 400, description = "`VALIDATION_ERROR`", body = Failure),
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
            let admin = admin(&state, &principal)?;
            let p = read_params(
                &req,
                payload,
                &[
                    ("name", Ty::Text),
                    ("scopes", Ty::Text),
                    ("allow_basic", Ty::Bool),
                    ("credit_cap_operation", Ty::Money),
                    ("credit_cap_day", Ty::Money),
                ],
            )
            .await?;
            let name = p.required("name")?;
            let scopes = p.required("scopes")?;
            let allow_basic = p.boolean_opt("allow_basic")?.unwrap_or(false);
            let op = cap(&p, "credit_cap_operation")?;
            let day = cap(&p, "credit_cap_day")?;
            let credentials = admin.register(name, scopes, allow_basic, op, day).await?;
            let partner = admin.get(&credentials.client_id).await?;
            Ok(created(
                lang,
                "PARTNER_CREATED",
                &format!("/v1/partners/{}", credentials.client_id),
                CreatedJson {
                    partner: PartnerJson::from(partner),
                    client_secret: credentials.client_secret.clone(),
                },
            ))
        }
        .await,
    )
}

/// `GET /v1/partners/{client_id}` [3].
#[utoipa::path(
    get,
    path = "/v1/partners/{client_id}",
    tag = "partners admin",
    summary = "A partner (rights 3)",
    params(ClientIdParam),
    responses(
        (status = 200, description = "`PARTNER`", body = Success<PartnerJson>),
        (status = 404, description = "`PARTNER_NOT_FOUND_ERROR`", body = Failure),
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
            let admin = admin(&state, &principal)?;
            let partner = admin.get(&path).await?;
            Ok(ok(lang, "PARTNER", PartnerJson::from(partner)))
        }
        .await,
    )
}

/// `PATCH /v1/partners/{client_id}` [3]: any of `{"name", "scopes", "allow_basic", "enabled",
/// "credit_cap_operation", "credit_cap_day"}`; what is not given is kept.
#[utoipa::path(
    patch,
    path = "/v1/partners/{client_id}",
    tag = "partners admin",
    summary = "Change a partner (rights 3)",
    description = "Disabling it, taking a scope away or turning Basic off revokes its tokens, \
        refused from the very next request.",
    params(ClientIdParam),
    request_body(content(
        (PartnerPatchRequest = "application/json"),
        (PartnerPatchRequest = "application/x-www-form-urlencoded"),
    )),
    responses(
        (status = 200, description = "`PARTNER_UPDATED`", body = Success<PartnerJson>),
        (status = 400, description = "`VALIDATION_ERROR`", body = Failure),
        (status = 404, description = "`PARTNER_NOT_FOUND_ERROR`", body = Failure),
    ),
    security(("bearer" = [])),
)]
pub(super) async fn update(
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
            let admin = admin(&state, &principal)?;
            let p = read_params(
                &req,
                payload,
                &[
                    ("name", Ty::Text),
                    ("scopes", Ty::Text),
                    ("allow_basic", Ty::Bool),
                    ("enabled", Ty::Bool),
                    ("credit_cap_operation", Ty::Money),
                    ("credit_cap_day", Ty::Money),
                ],
            )
            .await?;
            let changes = PartnerChanges {
                name: p.get("name").map(str::to_owned),
                scopes: p.get("scopes").map(str::to_owned),
                allow_basic: p.boolean_opt("allow_basic")?,
                active: p.boolean_opt("enabled")?,
                credit_cap_operation: cap(&p, "credit_cap_operation")?,
                credit_cap_day: cap(&p, "credit_cap_day")?,
            };
            let partner = admin.update(&path, changes).await?;
            Ok(ok(lang, "PARTNER_UPDATED", PartnerJson::from(partner)))
        }
        .await,
    )
}

/// `POST /v1/partners/{client_id}/secret` [3]: a new secret, shown this once; the old one
/// stops working and the partner's tokens are revoked.
#[utoipa::path(
    post,
    path = "/v1/partners/{client_id}/secret",
    tag = "partners admin",
    summary = "Rotate a partner's secret (rights 3)",
    description = "The new secret is shown this once; the old one stops working and the \
        partner's tokens are revoked.",
    params(ClientIdParam),
    responses(
        (status = 200, description = "`PARTNER_SECRET_ROTATED`", body = Success<SecretJson>),
        (status = 404, description = "`PARTNER_NOT_FOUND_ERROR`", body = Failure),
    ),
    security(("bearer" = [])),
)]
pub(super) async fn rotate(
    state: Data<AppState>,
    req: HttpRequest,
    principal: Principal,
    path: Path<String>,
) -> HttpResponse {
    let lang = Lang::of(&req);
    reply(
        lang,
        async {
            let admin = admin(&state, &principal)?;
            let secret = admin.rotate_secret(&path).await?;
            Ok(ok(
                lang,
                "PARTNER_SECRET_ROTATED",
                SecretJson {
                    client_id: path.into_inner(),
                    client_secret: secret,
                },
            ))
        }
        .await,
    )
}

/// `DELETE /v1/partners/{client_id}` [3]: disables the partner (kept for the history of its
/// credits) and revokes its tokens → 204. `PATCH {"enabled": true}` enables it again.
#[utoipa::path(
    delete,
    path = "/v1/partners/{client_id}",
    tag = "partners admin",
    summary = "Disable a partner (rights 3)",
    description = "Kept for the history of its credits; its tokens are revoked. \
        `PATCH {\"enabled\": true}` enables it again.",
    params(ClientIdParam),
    responses(
        (status = 204, description = "Disabled"),
        (status = 404, description = "`PARTNER_NOT_FOUND_ERROR`", body = Failure),
    ),
    security(("bearer" = [])),
)]
pub(super) async fn disable(
    state: Data<AppState>,
    req: HttpRequest,
    principal: Principal,
    path: Path<String>,
) -> HttpResponse {
    let lang = Lang::of(&req);
    reply(
        lang,
        async {
            let admin = admin(&state, &principal)?;
            admin.disable(&path).await?;
            Ok(no_content())
        }
        .await,
    )
}
