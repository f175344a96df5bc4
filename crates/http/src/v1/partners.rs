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

use super::{created, no_content, ok, page_of, paged, read_params, reply, Lang};
use crate::params::Params;
use crate::principal::Principal;
use crate::AppState;

/// The registry for the staff user behind `principal`; partners and rights below 3 get 403.
fn admin<'a>(state: &'a AppState, principal: &Principal) -> Result<PartnerAdmin<'a>, DomainError> {
    match principal {
        Principal::Staff { actor } => state.oauth.admin(actor),
        Principal::Partner { .. } => Err(DomainError::InsufficientRights),
    }
}

/// A partner as administrators see it: never its secret nor the secret's hash.
#[derive(Serialize)]
struct PartnerJson {
    client_id: String,
    name: String,
    scopes: Vec<String>,
    allow_basic: bool,
    enabled: bool,
    credit_cap_operation: String,
    credit_cap_day: String,
    currency: &'static str,
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
#[derive(Serialize)]
struct CreatedJson {
    #[serde(flatten)]
    partner: PartnerJson,
    client_secret: String,
}

/// A new secret: the other answer that holds it.
#[derive(Serialize)]
struct SecretJson {
    client_id: String,
    client_secret: String,
}

/// A positive cap in euros, naming the field.
fn cap(p: &Params, name: &str) -> Result<Option<Money>, DomainError> {
    p.money_opt(name)
}

/// `GET /v1/partners` [3]: every partner, active or not, by client id, paged.
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
            let p = read_params(&req, payload).await?;
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
            let p = read_params(&req, payload).await?;
            let changes = PartnerChanges {
                name: p.get("name").map(str::to_owned),
                scopes: p.get("scopes").map(str::to_owned),
                allow_basic: p.boolean_opt("allow_basic")?,
                active: p.boolean_opt("enabled")?,
                credit_cap_operation: cap(&p, "credit_cap_operation")?,
                credit_cap_day: cap(&p, "credit_cap_day")?,
            };
            if changes == PartnerChanges::default() {
                return Err(DomainError::malformed(
                    "give at least one of `name`, `scopes`, `allow_basic`, `enabled`, \
                     `credit_cap_operation`, `credit_cap_day`",
                ));
            }
            let partner = admin.update(&path, changes).await?;
            Ok(ok(lang, "PARTNER_UPDATED", PartnerJson::from(partner)))
        }
        .await,
    )
}

/// `POST /v1/partners/{client_id}/secret` [3]: a new secret, shown this once; the old one
/// stops working and the partner's tokens are revoked.
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
