//! `/v1/users`: the staff accounts, over the same service as the POS dialect's
//! `utilisateur/*` (`ardoise_auth::Staff`): rights 3 for the list, creation, rights and
//! deletion; one's own account (profile, password, card) or anyone's with rights 3. This file
//! parses and renders; the rules are in the service.

use actix_web::http::header;
use actix_web::web::{Data, Path, Payload};
use actix_web::{HttpRequest, HttpResponse};
use ardoise_auth::{Authorization, StaffProfile, UserChanges};
use ardoise_domain::{DomainError, Login, Rights};
use serde::Serialize;
use utoipa::{IntoParams, ToSchema};

use super::{
    created, no_content, ok, page_of, paged, read_params, reply, staff, Failure, Lang, PageJson,
    Success,
};
use crate::openapi::PageParams;
use crate::params::Ty;
use crate::principal::Principal;
use crate::AppState;

fn login_path(text: &str) -> Result<Login, DomainError> {
    Login::parse(text).map_err(|e| DomainError::malformed(format!("login: {e}")))
}

/// The bearer token of the request, to keep its session when its user changes their password.
fn bearer(req: &HttpRequest) -> Option<String> {
    req.headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| match Authorization::parse(v) {
            Ok(Authorization::Bearer(token)) => Some(token),
            _ => None,
        })
}

/// A staff account as shown: never its password hash.
#[derive(Serialize, ToSchema)]
struct UserJson {
    #[schema(example = "barman")]
    login: String,
    /// 0 (honeypot) to 3 (president).
    #[schema(minimum = 0, maximum = 3)]
    rights: i16,
    /// The staff card, if any.
    card: Option<String>,
}

/// The body of `POST /v1/users` (JSON or form).
#[derive(ToSchema)]
#[allow(dead_code)] // describes the body that `Params` parses
struct UserRequest {
    #[schema(example = "barman")]
    login: String,
    /// Hashed (argon2id), never stored nor shown in clear.
    password: String,
    /// 0 to 3; default 0.
    #[schema(minimum = 0, maximum = 3)]
    rights: Option<i16>,
    /// A staff card (NFC UID or printed id) no other active user holds.
    card: Option<String>,
}

/// The body of `PATCH /v1/users/{login}` (JSON or form): at least one field.
#[derive(ToSchema)]
#[allow(dead_code)] // describes the body that `Params` parses
struct UserPatchRequest {
    /// Rights 3 only; the last president keeps rights 3.
    #[schema(minimum = 0, maximum = 3)]
    rights: Option<i16>,
    /// Ends the user's other sessions (the caller's own session stays when it is theirs).
    password: Option<String>,
    /// `null` or `""` takes the card away.
    card: Option<String>,
}

/// The staff user in a path.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)] // describes a path segment that the handlers parse themselves
struct LoginParam {
    /// The user's login.
    #[param(example = "barman")]
    login: String,
}

impl From<StaffProfile> for UserJson {
    fn from(u: StaffProfile) -> UserJson {
        UserJson {
            login: u.login.to_string(),
            rights: u.rights.level(),
            card: u.card.map(|c| c.to_string()),
        }
    }
}

/// `GET /v1/users` [3]: the active accounts by login, paged.
#[utoipa::path(
    get,
    path = "/v1/users",
    tag = "users",
    summary = "The staff users, by login (rights 3)",
    params(PageParams),
    responses(
        (status = 200, description = "`USER_LIST`, with a `Link` header", body = Success<PageJson<UserJson>>),
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
            let users = state.staff.users(actor).await?;
            Ok(paged(
                &req,
                lang,
                "USER_LIST",
                page.slice(users).map(UserJson::from),
            ))
        }
        .await,
    )
}

/// `POST /v1/users` [3]: `{"login", "password", "rights"? (default 0), "card"?}` → 201 with
/// `Location`. The password is hashed (argon2id) off the actix workers.
#[utoipa::path(
    post,
    path = "/v1/users",
    tag = "users",
    summary = "Add a staff user (rights 3)",
    request_body(content(
        (UserRequest = "application/json"),
        (UserRequest = "application/x-www-form-urlencoded"),
    )),
    responses(
        (status = 201, description = "`USER_CREATED`; `Location` of the user", body = Success<UserJson>),
        (status = 400, description = "`VALIDATION_ERROR`", body = Failure),
        (status = 409, description = "`USER_EXISTS_ERROR`", body = Failure),
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
            let p = read_params(
                &req,
                payload,
                &[
                    ("login", Ty::Text),
                    ("password", Ty::Text),
                    ("rights", Ty::Int),
                    ("card", Ty::Text),
                ],
            )
            .await?;
            let login = p.login("login")?;
            let password = p.required("password")?;
            let rights = p.rights_opt("rights")?.unwrap_or(Rights::Honeypot);
            let card = p.card_opt("card")?;
            state
                .staff
                .add_user(actor, &login, password, rights, card)
                .await?;
            let user = state.staff.profile(actor, &login).await?;
            Ok(created(
                lang,
                "USER_CREATED",
                &format!("/v1/users/{login}"),
                UserJson::from(user),
            ))
        }
        .await,
    )
}

/// `GET /v1/users/{login}`: one's own account, or anyone's with rights 3.
#[utoipa::path(
    get,
    path = "/v1/users/{login}",
    tag = "users",
    summary = "A staff user (own account, or rights 3)",
    params(LoginParam),
    responses(
        (status = 200, description = "`USER`", body = Success<UserJson>),
        (status = 400, description = "Malformed login", body = Failure),
        (status = 404, description = "`USER_NOT_FOUND_ERROR`", body = Failure),
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
            let login = login_path(&path)?;
            let user = state.staff.profile(actor, &login).await?;
            Ok(ok(lang, "USER", UserJson::from(user)))
        }
        .await,
    )
}

/// `PATCH /v1/users/{login}`: any of `{"rights"}` [3], `{"password"}`, `{"card"}` (own or
/// 3; `null` or `""` takes the card away). A password change ends the user's other sessions
/// (the caller's own session stays when it changes its own password).
#[utoipa::path(
    patch,
    path = "/v1/users/{login}",
    tag = "users",
    summary = "Change a staff user (rights: 3; password, card: own account or 3)",
    description = "A password change ends the user's other sessions; rights, card and \
        password changes take effect on the user's next request.",
    params(LoginParam),
    request_body(content(
        (UserPatchRequest = "application/json"),
        (UserPatchRequest = "application/x-www-form-urlencoded"),
    )),
    responses(
        (status = 200, description = "`USER_UPDATED`", body = Success<UserJson>),
        (status = 400, description = "`VALIDATION_ERROR` (also: the last president keeps rights 3; a card held by another user)", body = Failure),
        (status = 404, description = "`USER_NOT_FOUND_ERROR`", body = Failure),
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
            let actor = staff(&principal)?;
            let login = login_path(&path)?;
            let p = read_params(
                &req,
                payload,
                &[
                    ("rights", Ty::Int),
                    ("password", Ty::Text),
                    ("card", Ty::Text),
                ],
            )
            .await?;
            let password = match (p.given("password").is_some(), p.get("password")) {
                (true, None) => return Err(DomainError::malformed("field `password` is empty")),
                (_, password) => password.map(str::to_owned),
            };
            let card = if p.given("card").is_some() {
                Some(p.card_opt("card")?)
            } else {
                None
            };
            let changes = UserChanges {
                rights: p.rights_opt("rights")?,
                password,
                card,
            };
            let token = bearer(&req);
            let user = state
                .staff
                .update_user(actor, &login, changes, token.as_deref())
                .await?;
            Ok(ok(lang, "USER_UPDATED", UserJson::from(user)))
        }
        .await,
    )
}

/// `DELETE /v1/users/{login}` [3]: disables the account (its history stays) and ends its
/// sessions → 204. The last president cannot be deleted.
#[utoipa::path(
    delete,
    path = "/v1/users/{login}",
    tag = "users",
    summary = "Disable a staff user (rights 3)",
    description = "The account is disabled (its history stays) and its sessions end at once.",
    params(LoginParam),
    responses(
        (status = 204, description = "Disabled"),
        (status = 400, description = "Malformed login; the last president cannot be deleted", body = Failure),
        (status = 404, description = "`USER_NOT_FOUND_ERROR`", body = Failure),
    ),
    security(("bearer" = [])),
)]
pub(super) async fn delete(
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
            let login = login_path(&path)?;
            state.staff.disable(actor, &login).await?;
            Ok(no_content())
        }
        .await,
    )
}
