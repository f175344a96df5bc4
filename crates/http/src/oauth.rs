//! The OAuth2 endpoints: `POST /oauth/token` (RFC 6749 §4.4, client credentials),
//! `POST /oauth/introspect` and its alias `POST /mcg/v1/tokeninfo` (RFC 7662), and
//! `POST /oauth/revoke` (RFC 7009). Each reads its form body from the bytes (strictly: the
//! Content-Type must be `application/x-www-form-urlencoded`, a repeated parameter is refused),
//! calls one method of `ardoise_auth::OAuth`, and renders the answer with the `oauth2` crate's
//! wire types. Errors follow RFC 6749 §5.2; every answer carries `Cache-Control: no-store`.

use std::net::{IpAddr, Ipv4Addr};

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::web::{self, Data, Payload};
use actix_web::{
    FromRequest, Handler, HttpRequest, HttpResponse, HttpResponseBuilder, Resource, Responder,
};
use ardoise_auth::oauth::Caller;
use ardoise_auth::{Authorization, ClientCredentials, IssuedToken, OAuthError, TokenInfo};
use ardoise_domain::ports::TokenOwner;
use ardoise_domain::DomainError;
use oauth2::basic::{BasicErrorResponseType, BasicTokenType};
use oauth2::{
    AccessToken, ClientId, ExtraTokenFields, Scope, StandardErrorResponse,
    StandardTokenIntrospectionResponse, StandardTokenResponse,
};
use serde::{Deserialize, Serialize};

use crate::params::{Params, MAX_BODY_BYTES};
use crate::AppState;

/// The issuer and audience named in introspection answers.
const ISSUER: &str = "ardoise";

/// `Bearer`, spelt as RFC 6750 does: the `oauth2` crate writes its `Bearer` variant in lower
/// case, which clients accept too (the type is case-insensitive) but the contract says `Bearer`.
fn bearer() -> BasicTokenType {
    BasicTokenType::Extension("Bearer".to_owned())
}

/// Registers the OAuth2 endpoints; any method but POST answers 405 with `Allow: POST`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(post_only("/oauth/token", token))
        .service(post_only("/oauth/introspect", introspect))
        .service(post_only("/mcg/v1/tokeninfo", introspect))
        .service(post_only("/oauth/revoke", revoke));
}

fn post_only<F, Args>(path: &str, handler: F) -> Resource
where
    F: Handler<Args>,
    Args: FromRequest + 'static,
    F::Output: Responder + 'static,
{
    web::resource(path)
        .route(web::post().to(handler))
        .default_service(web::to(method_not_allowed))
}

/// The extra fields of a token answer: seed 003's `expire` (unix seconds) and `rpt`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TokenExtra {
    pub expire: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rpt: Option<u32>,
}

impl ExtraTokenFields for TokenExtra {}

/// The extra field of an introspection answer: the requests the token has left, if limited.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct IntrospectionExtra {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rpt_left: Option<u32>,
}

impl ExtraTokenFields for IntrospectionExtra {}

/// A token answer.
pub type TokenAnswer = StandardTokenResponse<TokenExtra, BasicTokenType>;
/// An introspection answer.
pub type IntrospectionAnswer =
    StandardTokenIntrospectionResponse<IntrospectionExtra, BasicTokenType>;
/// An error answer.
pub type ErrorAnswer = StandardErrorResponse<BasicErrorResponseType>;

/// The address a client authentication comes from, for throttling: the TCP peer (a
/// forwarded-for header could be forged by the attacker it is meant to slow down).
pub(crate) fn source(req: &HttpRequest) -> IpAddr {
    req.peer_addr()
        .map(|a| a.ip())
        .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
}

/// A JSON answer with the headers every OAuth2 answer carries.
fn json(status: StatusCode) -> HttpResponseBuilder {
    let mut builder = HttpResponse::build(status);
    builder
        .content_type("application/json")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"));
    builder
}

fn render<T: Serialize>(mut builder: HttpResponseBuilder, body: &T) -> HttpResponse {
    match serde_json::to_vec(body) {
        Ok(bytes) => builder.body(bytes),
        Err(e) => {
            tracing::error!(error = %e, "cannot render an OAuth2 answer");
            HttpResponse::InternalServerError()
                .content_type("application/json")
                .body(r#"{"error":"server_error"}"#)
        }
    }
}

/// The RFC 6749 §5.2 answer to a refusal.
pub fn error_answer(error: &OAuthError) -> HttpResponse {
    use BasicErrorResponseType as E;
    let (status, kind, description) = match error {
        OAuthError::InvalidRequest(text) => {
            (StatusCode::BAD_REQUEST, E::InvalidRequest, text.clone())
        }
        OAuthError::InvalidClient => (
            StatusCode::UNAUTHORIZED,
            E::InvalidClient,
            "client authentication failed".to_owned(),
        ),
        OAuthError::UnsupportedGrantType => (
            StatusCode::BAD_REQUEST,
            E::UnsupportedGrantType,
            "only grant_type=client_credentials is supported".to_owned(),
        ),
        OAuthError::InvalidScope(text) => (StatusCode::BAD_REQUEST, E::InvalidScope, text.clone()),
        OAuthError::UnauthorizedClient => (
            StatusCode::BAD_REQUEST,
            E::UnauthorizedClient,
            "the token was issued to another client".to_owned(),
        ),
        OAuthError::TooManyAttempts {
            retry_after_seconds,
        } => (
            StatusCode::TOO_MANY_REQUESTS,
            E::Extension("slow_down".into()),
            format!("too many failed client authentications: retry in {retry_after_seconds} s"),
        ),
        OAuthError::InvalidToken(text) => (
            StatusCode::UNAUTHORIZED,
            E::Extension("invalid_token".into()),
            (*text).to_owned(),
        ),
        OAuthError::InsufficientScope(scope) => (
            StatusCode::FORBIDDEN,
            E::Extension("insufficient_scope".into()),
            format!("the token lacks the scope {scope}"),
        ),
        OAuthError::UnknownPartner => (
            StatusCode::BAD_REQUEST,
            E::InvalidRequest,
            "unknown partner".to_owned(),
        ),
        OAuthError::Storage(DomainError::StorageUnavailable) => (
            StatusCode::SERVICE_UNAVAILABLE,
            E::Extension("temporarily_unavailable".into()),
            "the service is temporarily unavailable".to_owned(),
        ),
        OAuthError::Storage(other) => {
            tracing::error!(error = ?other, "OAuth2 request failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                E::Extension("server_error".into()),
                "internal error".to_owned(),
            )
        }
    };
    let mut builder = json(status);
    match error {
        OAuthError::InvalidClient => {
            builder.insert_header((header::WWW_AUTHENTICATE, r#"Basic realm="ardoise""#));
        }
        OAuthError::InvalidToken(_) => {
            builder.insert_header((
                header::WWW_AUTHENTICATE,
                r#"Bearer realm="ardoise", error="invalid_token""#,
            ));
        }
        OAuthError::TooManyAttempts {
            retry_after_seconds,
        } => {
            builder.insert_header((header::RETRY_AFTER, retry_after_seconds.to_string()));
        }
        OAuthError::Storage(DomainError::StorageUnavailable) => {
            builder.insert_header((header::RETRY_AFTER, "5"));
        }
        _ => {}
    }
    render(builder, &ErrorAnswer::new(kind, Some(description), None))
}

/// Any method but POST.
async fn method_not_allowed() -> HttpResponse {
    let mut builder = json(StatusCode::METHOD_NOT_ALLOWED);
    builder.insert_header((header::ALLOW, "POST"));
    render(
        builder,
        &ErrorAnswer::new(
            BasicErrorResponseType::InvalidRequest,
            Some("only POST is allowed here".to_owned()),
            None,
        ),
    )
}

fn invalid_request(text: impl Into<String>) -> OAuthError {
    OAuthError::InvalidRequest(text.into())
}

/// Reads the form body: `application/x-www-form-urlencoded` only, UTF-8, each parameter once.
async fn read_form(req: &HttpRequest, payload: Payload) -> Result<Params, OAuthError> {
    let essence = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|ct| {
            ct.split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase()
        });
    if essence.as_deref() != Some("application/x-www-form-urlencoded") {
        return Err(invalid_request(
            "the body must be application/x-www-form-urlencoded",
        ));
    }
    let body = match payload.to_bytes_limited(MAX_BODY_BYTES).await {
        Ok(Ok(body)) => body,
        Ok(Err(_)) => return Err(invalid_request("the body could not be read")),
        Err(_) => return Err(invalid_request("the body is too large")),
    };
    Params::from_form(&body).map_err(|e| match e {
        DomainError::Malformed(text) => invalid_request(text),
        other => invalid_request(other.to_string()),
    })
}

/// The request's `Authorization` header, if any; more than one is refused.
fn authorization(req: &HttpRequest) -> Result<Option<Authorization>, OAuthError> {
    let values: Vec<&HeaderValue> = req.headers().get_all(header::AUTHORIZATION).collect();
    match values.as_slice() {
        [] => Ok(None),
        [value] => {
            let text = value
                .to_str()
                .map_err(|_| invalid_request("the Authorization header is not text"))?;
            Authorization::parse(text).map(Some)
        }
        _ => Err(invalid_request("several Authorization headers")),
    }
}

/// `client_id` and `client_secret` from the body, if given.
fn body_credentials(form: &Params) -> Result<Option<ClientCredentials>, OAuthError> {
    match (form.get("client_id"), form.get("client_secret")) {
        (None, None) => Ok(None),
        (Some(id), Some(secret)) => Ok(Some(ClientCredentials {
            client_id: id.to_owned(),
            client_secret: secret.to_owned(),
        })),
        // A client without a secret (a public client) cannot authenticate here.
        (Some(_), None) => Err(OAuthError::InvalidClient),
        (None, Some(_)) => Err(invalid_request("client_secret without client_id")),
    }
}

/// The client's credentials, from HTTP Basic or the body (never both).
fn client_credentials(
    auth: Option<Authorization>,
    form: &Params,
) -> Result<ClientCredentials, OAuthError> {
    let body = body_credentials(form)?;
    match (auth, body) {
        (Some(Authorization::Basic(_)), Some(_)) => Err(invalid_request(
            "client credentials both in the Authorization header and in the body",
        )),
        (Some(Authorization::Basic(c)), None) | (None, Some(c)) => Ok(c),
        _ => Err(OAuthError::InvalidClient),
    }
}

/// Who calls introspection or revocation: a client by its credentials, or a bearer token.
async fn caller(state: &AppState, req: &HttpRequest, form: &Params) -> Result<Caller, OAuthError> {
    match authorization(req)? {
        Some(Authorization::Bearer(token)) => {
            if body_credentials(form)?.is_some() {
                return Err(invalid_request(
                    "a bearer token and client credentials in one request",
                ));
            }
            state.oauth.authenticate_bearer(&token).await
        }
        auth => {
            let credentials = client_credentials(auth, form)?;
            let partner = state
                .oauth
                .authenticate_client(&credentials, source(req))
                .await?;
            Ok(Caller::Partner {
                client_id: partner.client_id,
                scopes: partner.scopes,
            })
        }
    }
}

// ---------------------------------------------------------------- /oauth/token

/// `POST /oauth/token`: `grant_type=client_credentials`, optional `scope` and `rpt`.
async fn token(state: Data<AppState>, req: HttpRequest, payload: Payload) -> HttpResponse {
    match issue(&state, &req, payload).await {
        Ok(issued) => render(json(StatusCode::OK), &token_answer(issued)),
        Err(e) => error_answer(&e),
    }
}

async fn issue(
    state: &AppState,
    req: &HttpRequest,
    payload: Payload,
) -> Result<IssuedToken, OAuthError> {
    let form = read_form(req, payload).await?;
    match form.get("grant_type") {
        None => return Err(invalid_request("grant_type is missing")),
        Some("client_credentials") => {}
        Some(_) => return Err(OAuthError::UnsupportedGrantType),
    }
    let rpt = form.get("rpt").map(parse_rpt).transpose()?;
    let credentials = client_credentials(authorization(req)?, &form)?;
    state
        .oauth
        .client_credentials(&credentials, source(req), form.get("scope"), rpt)
        .await
}

fn parse_rpt(text: &str) -> Result<u32, OAuthError> {
    let digits = !text.is_empty() && text.len() <= 9 && text.bytes().all(|b| b.is_ascii_digit());
    digits
        .then(|| text.parse().ok())
        .flatten()
        .ok_or_else(|| invalid_request("rpt must be a whole number from 1000 to 100000"))
}

fn token_answer(issued: IssuedToken) -> TokenAnswer {
    let mut answer = TokenAnswer::new(
        AccessToken::new(issued.access_token),
        bearer(),
        TokenExtra {
            expire: issued.expires_at.timestamp(),
            rpt: issued.rpt,
        },
    );
    answer.set_expires_in(Some(&std::time::Duration::from_secs(issued.expires_in)));
    answer.set_scopes(Some(issued.scopes.into_iter().map(Scope::new).collect()));
    answer
}

// ---------------------------------------------------------------- introspection

/// `POST /oauth/introspect` and `POST /mcg/v1/tokeninfo`: `token`, optional
/// `token_type_hint` (ignored: there is one kind of token here).
async fn introspect(state: Data<AppState>, req: HttpRequest, payload: Payload) -> HttpResponse {
    let outcome = async {
        let form = read_form(&req, payload).await?;
        let token = form
            .get("token")
            .ok_or_else(|| invalid_request("token is missing"))?
            .to_owned();
        let caller = caller(&state, &req, &form).await?;
        state.oauth.introspect(&caller, &token).await
    }
    .await;
    match outcome {
        Ok(info) => render(json(StatusCode::OK), &introspection_answer(info)),
        Err(e) => error_answer(&e),
    }
}

/// Exactly `{"active": false}` for `None`.
pub fn introspection_answer(info: Option<TokenInfo>) -> IntrospectionAnswer {
    let Some(info) = info else {
        return IntrospectionAnswer::new(false, IntrospectionExtra::default());
    };
    let mut answer = IntrospectionAnswer::new(
        true,
        IntrospectionExtra {
            rpt_left: info.rpt_left,
        },
    );
    let subject = match &info.owner {
        TokenOwner::Partner(client_id) => {
            answer.set_client_id(Some(ClientId::new(client_id.clone())));
            client_id.clone()
        }
        TokenOwner::Staff(login) => {
            answer.set_username(Some(login.to_string()));
            login.to_string()
        }
    };
    if !info.scopes.is_empty() {
        answer.set_scopes(Some(info.scopes.into_iter().map(Scope::new).collect()));
    }
    answer.set_token_type(Some(bearer()));
    answer.set_exp(Some(info.expires_at));
    answer.set_iat(Some(info.issued_at));
    answer.set_nbf(Some(info.issued_at));
    answer.set_sub(Some(subject));
    answer.set_aud(Some(vec![ISSUER.to_owned()]));
    answer.set_iss(Some(ISSUER.to_owned()));
    answer.set_jti(Some(info.id));
    answer
}

// ---------------------------------------------------------------- revocation

/// `POST /oauth/revoke`: `token`, optional `token_type_hint`. 200 with an empty body for any
/// well-formed request by an authenticated caller, also for an unknown token.
async fn revoke(state: Data<AppState>, req: HttpRequest, payload: Payload) -> HttpResponse {
    let outcome = async {
        let form = read_form(&req, payload).await?;
        let token = form
            .get("token")
            .ok_or_else(|| invalid_request("token is missing"))?
            .to_owned();
        let caller = caller(&state, &req, &form).await?;
        state.oauth.revoke(&caller, &token).await
    }
    .await;
    match outcome {
        Ok(()) => HttpResponse::Ok()
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .insert_header((header::PRAGMA, "no-cache"))
            .finish(),
        Err(e) => error_answer(&e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ardoise_domain::Login;
    use chrono::{TimeZone, Utc};

    #[test]
    fn inactive_is_exactly_active_false() {
        let text = serde_json::to_string(&introspection_answer(None)).unwrap();
        assert_eq!(text, r#"{"active":false}"#);
    }

    #[test]
    fn active_answers_carry_the_rfc_7662_fields() {
        let at = Utc.timestamp_opt(1_700_000_000, 0).unwrap();
        let info = TokenInfo {
            owner: TokenOwner::Staff(Login::parse("barman").unwrap()),
            scopes: vec![],
            issued_at: at,
            expires_at: at + chrono::Duration::seconds(300),
            rpt_left: None,
            id: "abc".into(),
        };
        let v = serde_json::to_value(introspection_answer(Some(info))).unwrap();
        assert_eq!(v["active"], true);
        assert_eq!(v["username"], "barman");
        assert_eq!(v["sub"], "barman");
        assert_eq!(v["token_type"], "Bearer");
        assert_eq!(v["exp"], 1_700_000_300);
        assert_eq!(v["iat"], 1_700_000_000);
        assert_eq!(v["iss"], "ardoise");
        assert_eq!(v["jti"], "abc");
        assert!(v.get("scope").is_none() && v.get("client_id").is_none());
    }

    #[test]
    fn rpt_is_a_plain_whole_number() {
        assert_eq!(parse_rpt("1000").unwrap(), 1000);
        for bad in ["", "-1", "1e3", "10.0", "+5", "9999999999"] {
            assert!(parse_rpt(bad).is_err(), "{bad}");
        }
    }
}
