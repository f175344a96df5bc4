//! `/v1/users`: the staff accounts, over the same service as the POS dialect's
//! `utilisateur/*` (`ardoise_auth::Staff`): rights 3 for the list, creation, rights and
//! deletion; one's own account (profile, password, card) or anyone's with rights 3. This file
//! parses and renders; the rules are in the service.

use actix_web::http::header;
use actix_web::web::{Data, Path, Payload};
use actix_web::{HttpRequest, HttpResponse};
use ardoise_auth::{Authorization, StaffProfile, UserChanges};
use ardoise_domain::{Actor, DomainError, Login, Rights};
use serde::Serialize;

use super::{created, no_content, ok, page_of, paged, read_params, reply, Lang};
use crate::principal::Principal;
use crate::AppState;

/// The staff user behind a principal; a partner is refused (403).
fn staff(principal: &Principal) -> Result<&Actor, DomainError> {
    match principal {
        Principal::Staff { actor } => Ok(actor),
        Principal::Partner { .. } => Err(DomainError::InsufficientRights),
    }
}

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
#[derive(Serialize)]
struct UserJson {
    login: String,
    rights: i16,
    card: Option<String>,
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
            let p = read_params(&req, payload).await?;
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
            let p = read_params(&req, payload).await?;
            let password = match (p.given("password"), p.get("password")) {
                (true, None) => return Err(DomainError::malformed("field `password` is empty")),
                (_, password) => password.map(str::to_owned),
            };
            let card = if p.given("card") {
                Some(p.card_opt("card")?)
            } else {
                None
            };
            let changes = UserChanges {
                rights: p.rights_opt("rights")?,
                password,
                card,
            };
            if changes == UserChanges::default() {
                return Err(DomainError::malformed(
                    "give at least one of `rights`, `password`, `card`",
                ));
            }
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
