//! Members' accounts in `/v1` (members.md, "Accounts"): staff invite a member, the member sets
//! a password with the link, asks for a reset, logs in and out. Each handler parses, calls
//! one use case of `MemberAccess` and renders — no rule here.

use actix_web::web::{Data, Path, Payload};
use actix_web::{HttpRequest, HttpResponse};
use ardoise_domain::DomainError;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::me::ProfileJson;
use super::members::member_path;
use super::{
    accepted, bearer_token, created, no_content, read_json, reply, staff, Empty, Failure, Lang,
    Success,
};
use crate::oauth::source;
use crate::openapi::MemberParam;
use crate::principal::Principal;
use crate::AppState;

/// The site's address for an invitation's link: `http.public_url`, or the request's origin.
pub(super) fn origin(state: &AppState, req: &HttpRequest) -> String {
    match &state.public_url {
        Some(url) => url.clone(),
        None => {
            let info = req.connection_info();
            format!("{}://{}", info.scheme(), info.host())
        }
    }
}

/// A one-time link, shown once.
#[derive(Serialize, ToSchema)]
struct InvitationJson {
    /// `{http.public_url or the request's origin}/me/welcome/{token}`: the page that sets the
    /// member's password (or `POST /v1/member-passwords` with its token).
    #[schema(example = "https://bar.example.org/me/welcome/3kTQ…")]
    link: String,
    /// RFC 3339: 72 h from now.
    expires_at: String,
}

/// `POST /v1/members/{member}/invitation` [≥1]: a one-time link, valid 72 h, that sets the
/// member's password → 201.
#[utoipa::path(
    post,
    path = "/v1/members/{member}/invitation",
    tag = "member accounts",
    summary = "Invite a member to their own space (rights ≥ 1)",
    description = "A one-time link, valid 72 h, of the form \
        `{http.public_url or the request's origin}/me/welcome/{token}`, that sets the member's \
        password. It is shown here once (print it or hand it over), and e-mailed once a mail \
        channel exists. A newer invitation replaces an unused older one. The member needs an \
        e-mail address: it is their login.",
    params(MemberParam),
    responses(
        (status = 201, description = "`INVITATION_CREATED`", body = Success<InvitationJson>),
        (status = 400, description = "`VALIDATION_ERROR` (member id, no e-mail address)", body = Failure),
        (status = 404, description = "`MEMBER_NOT_FOUND_ERROR`", body = Failure),
    ),
    security(("bearer" = [])),
)]
pub(super) async fn invite(
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
            let issued = state
                .member_access
                .invite(actor, id, &origin(&state, &req))
                .await?;
            Ok(created(
                lang,
                "INVITATION_CREATED",
                &format!("/v1/members/{}", id.0),
                InvitationJson {
                    link: issued.link,
                    expires_at: issued
                        .expires_at
                        .to_rfc3339_opts(chrono::SecondsFormat::Millis, false),
                },
            ))
        }
        .await,
    )
}

/// The body of `POST /v1/member-passwords` (JSON).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct PasswordRequest {
    /// The token of an invitation or reset link (the last segment of the link).
    token: String,
    /// At least 8 characters.
    #[schema(min_length = 8)]
    password: String,
}

/// `POST /v1/member-passwords` (public): `{"token", "password"}` → 204.
#[utoipa::path(
    post,
    path = "/v1/member-passwords",
    tag = "member accounts",
    summary = "Set a member's password with a link (public)",
    description = "The link's token is used once; the member's other sessions end. A used, \
        expired or unknown token is `INVALID_LINK_ERROR`; a password under 8 characters is \
        `VALIDATION_ERROR` and leaves the link usable.",
    request_body(content((PasswordRequest = "application/json"))),
    responses(
        (status = 204, description = "The password is set: the member may log in"),
        (status = 400, description = "`VALIDATION_ERROR` or `INVALID_LINK_ERROR`", body = Failure),
    ),
)]
pub(super) async fn set_password(
    state: Data<AppState>,
    req: HttpRequest,
    payload: Payload,
) -> HttpResponse {
    let lang = Lang::of(&req);
    reply(
        lang,
        async {
            let body: PasswordRequest = read_json(&req, payload).await?;
            state
                .member_access
                .set_password(&body.token, &body.password)
                .await?;
            Ok(no_content())
        }
        .await,
    )
}

/// The body of `POST /v1/member-passwords/reset` (JSON).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct ResetRequest {
    #[schema(example = "zoe@example.org")]
    email: String,
}

/// `POST /v1/member-passwords/reset` (public): `{"email"}` → 202, whether or not the address
/// is a member's.
#[utoipa::path(
    post,
    path = "/v1/member-passwords/reset",
    tag = "member accounts",
    summary = "Ask for a password reset link (public)",
    description = "Always 202 for a well-formed address: the answer never tells whether it is a \
        member's. If it is, a one-time link (72 h) is made for the mail channel; today no mail \
        channel exists, so the link reaches no one — staff invite the member again instead. \
        The link uses `http.public_url`, never the request's origin: none is made when it is \
        not configured. Limited: from one source address, the staff logins' limit a minute \
        (`sessions.failures_per_minute`), then 429; for one e-mail address, 3 links an hour, \
        then the same 202 and no link.",
    request_body(content((ResetRequest = "application/json"))),
    responses(
        (status = 202, description = "`PASSWORD_RESET_REQUESTED`", body = Success<Empty>),
        (status = 400, description = "`VALIDATION_ERROR` (not an e-mail address)", body = Failure),
        (status = 429, description = "Too many requests from this address (`Retry-After`)", body = Failure),
    ),
)]
pub(super) async fn request_reset(
    state: Data<AppState>,
    req: HttpRequest,
    payload: Payload,
) -> HttpResponse {
    let lang = Lang::of(&req);
    reply(
        lang,
        async {
            let body: ResetRequest = read_json(&req, payload).await?;
            // A link built from the request's Host would let anyone send members a link to
            // their own site: resets need the configured address.
            state
                .member_access
                .request_reset(&body.email, state.public_url.as_deref(), source(&req))
                .await?;
            Ok(accepted(lang, "PASSWORD_RESET_REQUESTED"))
        }
        .await,
    )
}

/// The body of `POST /v1/member-sessions` (JSON).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct MemberSessionRequest {
    #[schema(example = "zoe@example.org")]
    email: String,
    password: String,
}

/// An open member session.
#[derive(Serialize, ToSchema)]
struct MemberSessionJson {
    /// The bearer token of the session (30 characters, like a staff session's).
    token: String,
    /// Seconds of inactivity after which the session ends (`members.idle_seconds`).
    expires_in: i64,
    member: ProfileJson,
}

/// `POST /v1/member-sessions` (public): `{"email", "password"}` → 201 with a bearer token.
#[utoipa::path(
    post,
    path = "/v1/member-sessions",
    tag = "member accounts",
    summary = "A member logs in (public)",
    description = "The e-mail address is compared without case. A wrong password and an unknown \
        address get the same answer; failed attempts are throttled per address like staff \
        logins (429 with `Retry-After`).",
    request_body(content((MemberSessionRequest = "application/json"))),
    responses(
        (status = 201, description = "`SESSION_CREATED`; `Location: /v1/member-sessions/current`", body = Success<MemberSessionJson>),
        (status = 400, description = "`VALIDATION_ERROR`", body = Failure),
        (status = 401, description = "`INVALID_CREDENTIALS_ERROR`", body = Failure),
        (status = 429, description = "Too many failed attempts (`Retry-After`)", body = Failure),
    ),
)]
pub(super) async fn open_session(
    state: Data<AppState>,
    req: HttpRequest,
    payload: Payload,
) -> HttpResponse {
    let lang = Lang::of(&req);
    reply(
        lang,
        async {
            let body: MemberSessionRequest = read_json(&req, payload).await?;
            let grant = state
                .member_access
                .login(&body.email, &body.password, source(&req))
                .await?;
            Ok(created(
                lang,
                "SESSION_CREATED",
                "/v1/member-sessions/current",
                MemberSessionJson {
                    token: grant.token,
                    expires_in: state.member_access.idle_seconds(),
                    member: ProfileJson::from(grant.member),
                },
            ))
        }
        .await,
    )
}

/// `DELETE /v1/member-sessions/current` [member]: ends the member's session → 204.
#[utoipa::path(
    delete,
    path = "/v1/member-sessions/current",
    tag = "member accounts",
    summary = "A member logs out",
    description = "A member's token only: a staff or partner token is refused (403).",
    responses((status = 204, description = "The session is closed")),
    security(("bearer" = [])),
)]
pub(super) async fn close_session(
    state: Data<AppState>,
    req: HttpRequest,
    principal: Principal,
) -> HttpResponse {
    let lang = Lang::of(&req);
    reply(
        lang,
        async {
            let token = bearer_token(&req).ok_or(DomainError::InsufficientRights)?;
            state
                .member_access
                .logout(&principal.domain(), &token)
                .await?;
            Ok(no_content())
        }
        .await,
    )
}
