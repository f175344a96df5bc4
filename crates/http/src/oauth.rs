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
use actix_web::{HttpRequest, HttpResponse, HttpResponseBuilder, Route};
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
use utoipa::ToSchema;

use crate::openapi::{operation, resources, Operation};
use crate::params::{Params, MAX_BODY_BYTES};
use crate::AppState;

/// The issuer and audience named in introspection answers.
const ISSUER: &str = "ardoise";

/// `Bearer`, spelt as RFC 6750 does: the `oauth2` crate writes its `Bearer` variant in lower
/// case, which clients accept too (the type is case-insensitive) but the contract says `Bearer`.
fn bearer() -> BasicTokenType {
    BasicTokenType::Extension("Bearer".to_owned())
}

/// The OAuth2 operations: what [`configure`] serves and the OpenAPI document describes (see
/// [`crate::openapi`]).
pub fn operations() -> Vec<Operation> {
    vec![
        operation!(token),
        operation!(introspect),
        operation!(tokeninfo),
        operation!(revoke),
    ]
}

/// Registers the OAuth2 endpoints of [`operations`]; any other method answers 405 with
/// `Allow` and a JSON OAuth2 error.
pub fn configure(cfg: &mut web::ServiceConfig) {
    for resource in resources(operations(), "", refuse) {
        cfg.service(resource);
    }
}

fn refuse(allow: String) -> Route {
    web::to(move || {
        let allow = allow.clone();
        async move { method_not_allowed(&allow) }
    })
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

/// A method the resource does not serve.
fn method_not_allowed(allow: &str) -> HttpResponse {
    let mut builder = json(StatusCode::METHOD_NOT_ALLOWED);
    builder.insert_header((header::ALLOW, allow));
    render(
        builder,
        &ErrorAnswer::new(
            BasicErrorResponseType::InvalidRequest,
            Some(format!("only {allow} is allowed here")),
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

// ---------------------------------------------------------------- the document's shapes
// The handlers read their forms with `Params` and answer with the `oauth2` crate's wire types;
// these types describe both in the OpenAPI document (a test checks the answers against them).

/// The body of `POST /oauth/token` (RFC 6749 §4.4).
#[derive(ToSchema)]
#[allow(dead_code)] // describes the form that `read_form` parses
struct TokenRequest {
    /// Only `client_credentials`.
    #[schema(example = "client_credentials")]
    grant_type: String,
    /// Space-separated scopes, a subset of the partner's (default: all of them).
    #[schema(example = "cards:read cards:credit")]
    scope: Option<String>,
    /// Requests per token: the token dies after this many authenticated requests.
    #[schema(minimum = 1000, maximum = 100000)]
    rpt: Option<u32>,
    /// Instead of HTTP Basic (not both).
    client_id: Option<String>,
    /// Instead of HTTP Basic (not both).
    client_secret: Option<String>,
}

/// A token (RFC 6749 §5.1, with seed 003's `expire` and `rpt`).
#[derive(Serialize, ToSchema)]
#[allow(dead_code)] // describes `TokenAnswer`
struct TokenJson {
    access_token: String,
    /// `Bearer`.
    token_type: String,
    /// Seconds.
    expires_in: u64,
    /// Space-separated scopes.
    scope: String,
    /// When the token expires, in unix seconds.
    expire: i64,
    /// The requests the token allows, when limited.
    rpt: Option<u32>,
}

/// An OAuth2 error (RFC 6749 §5.2).
#[derive(Serialize, ToSchema)]
#[allow(dead_code)] // describes `ErrorAnswer`
struct OAuthErrorJson {
    /// `invalid_request`, `invalid_client`, `invalid_scope`, `unsupported_grant_type`,
    /// `unauthorized_client`, `slow_down`, `invalid_token`, `insufficient_scope`,
    /// `temporarily_unavailable` or `server_error`.
    #[schema(example = "invalid_client")]
    error: String,
    error_description: Option<String>,
}

/// The body of `POST /oauth/introspect` and `POST /oauth/revoke`.
#[derive(ToSchema)]
#[allow(dead_code)] // describes the form that `read_form` parses
struct TokenFormRequest {
    token: String,
    /// `access_token`; an unknown hint is ignored.
    token_type_hint: Option<String>,
    /// Instead of HTTP Basic (not both).
    client_id: Option<String>,
    /// Instead of HTTP Basic (not both).
    client_secret: Option<String>,
}

/// An introspection answer (RFC 7662 §2.2): exactly `{"active": false}` unless active and
/// visible to the caller.
#[derive(Serialize, ToSchema)]
#[allow(dead_code)] // describes `IntrospectionAnswer`
struct IntrospectionJson {
    active: bool,
    scope: Option<String>,
    /// Partner tokens.
    client_id: Option<String>,
    /// Staff tokens.
    username: Option<String>,
    token_type: Option<String>,
    exp: Option<i64>,
    iat: Option<i64>,
    nbf: Option<i64>,
    sub: Option<String>,
    aud: Option<Vec<String>>,
    iss: Option<String>,
    jti: Option<String>,
    /// The requests the token has left, when limited.
    rpt_left: Option<u32>,
}

// ---------------------------------------------------------------- /oauth/token

/// `POST /oauth/token`: `grant_type=client_credentials`, optional `scope` and `rpt`.
#[utoipa::path(
    post,
    path = "/oauth/token",
    tag = "oauth",
    summary = "Get an access token (client credentials)",
    description = "RFC 6749 §4.4. Client authentication by HTTP Basic (recommended) or \
        `client_id`/`client_secret` form fields. Repeated failed client authentications are \
        throttled (429 with `Retry-After`).",
    request_body(content((TokenRequest = "application/x-www-form-urlencoded"))),
    responses(
        (status = 200, description = "The token (`Cache-Control: no-store`)", body = TokenJson),
        (status = 400, description = "`invalid_request`, `invalid_scope`, `unsupported_grant_type`", body = OAuthErrorJson),
        (status = 401, description = "`invalid_client` (`WWW-Authenticate: Basic`)", body = OAuthErrorJson),
        (status = 429, description = "`slow_down`: too many failed client authentications (`Retry-After`)", body = OAuthErrorJson),
        (status = 503, description = "`temporarily_unavailable` (`Retry-After`)", body = OAuthErrorJson),
    ),
    security(("client_basic" = []), ()),
)]
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

/// `POST /mcg/v1/tokeninfo`: seed 002's path of [`introspect`].
#[utoipa::path(
    post,
    path = "/mcg/v1/tokeninfo",
    tag = "oauth",
    summary = "Introspect a token (seed 002's path of /oauth/introspect)",
    description = "RFC 7662. The caller authenticates with its client credentials (Basic or \
        form fields) or a bearer token holding `tokens:introspect`. A caller sees only its own \
        tokens unless it holds `tokens:introspect`; anything else is `{\"active\": false}`.",
    request_body(content((TokenFormRequest = "application/x-www-form-urlencoded"))),
    responses(
        (status = 200, description = "The token's details, or exactly `{\"active\": false}`", body = IntrospectionJson),
        (status = 400, description = "`invalid_request`", body = OAuthErrorJson),
        (status = 401, description = "`invalid_client` or `invalid_token`", body = OAuthErrorJson),
        (status = 429, description = "`slow_down` (`Retry-After`)", body = OAuthErrorJson),
    ),
    security(("client_basic" = []), ("bearer" = []), ()),
)]
async fn tokeninfo(state: Data<AppState>, req: HttpRequest, payload: Payload) -> HttpResponse {
    introspect(state, req, payload).await
}

/// `POST /oauth/introspect`: `token`, optional `token_type_hint` (ignored: there is one kind of
/// token here).
#[utoipa::path(
    post,
    path = "/oauth/introspect",
    tag = "oauth",
    summary = "Introspect a token",
    description = "RFC 7662. The caller authenticates with its client credentials (Basic or \
        form fields) or a bearer token holding `tokens:introspect`. A caller sees only its own \
        tokens unless it holds `tokens:introspect`; anything else is `{\"active\": false}`.",
    request_body(content((TokenFormRequest = "application/x-www-form-urlencoded"))),
    responses(
        (status = 200, description = "The token's details, or exactly `{\"active\": false}`", body = IntrospectionJson),
        (status = 400, description = "`invalid_request`", body = OAuthErrorJson),
        (status = 401, description = "`invalid_client` or `invalid_token`", body = OAuthErrorJson),
        (status = 429, description = "`slow_down` (`Retry-After`)", body = OAuthErrorJson),
    ),
    security(("client_basic" = []), ("bearer" = []), ()),
)]
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
#[utoipa::path(
    post,
    path = "/oauth/revoke",
    tag = "oauth",
    summary = "Revoke a token",
    description = "RFC 7009. The caller authenticates as for introspection. 200 for any \
        well-formed request, also for an unknown token; a token issued to another client is \
        not revoked (`unauthorized_client`).",
    request_body(content((TokenFormRequest = "application/x-www-form-urlencoded"))),
    responses(
        (status = 200, description = "Revoked, or unknown (empty body)"),
        (status = 400, description = "`invalid_request`, `unauthorized_client`", body = OAuthErrorJson),
        (status = 401, description = "`invalid_client` or `invalid_token`", body = OAuthErrorJson),
        (status = 429, description = "`slow_down` (`Retry-After`)", body = OAuthErrorJson),
    ),
    security(("client_basic" = []), ("bearer" = []), ()),
)]
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

    /// The document's schemas of the OAuth2 answers (hand-written types, since the answers are
    /// the `oauth2` crate's) name exactly the fields the real answers carry.
    #[test]
    fn the_openapi_schemas_match_the_real_answers() {
        use std::collections::BTreeSet;
        let doc = serde_json::to_value(crate::openapi::document()).unwrap();
        let properties = |name: &str| -> BTreeSet<String> {
            doc["components"]["schemas"][name]["properties"]
                .as_object()
                .unwrap()
                .keys()
                .cloned()
                .collect()
        };
        let keys = |v: serde_json::Value| -> BTreeSet<String> {
            v.as_object().unwrap().keys().cloned().collect()
        };
        let at = Utc.timestamp_opt(1_700_000_000, 0).unwrap();
        let token = token_answer(IssuedToken {
            access_token: "t".into(),
            expires_in: 300,
            expires_at: at,
            scopes: vec!["cards:read".into()],
            rpt: Some(1000),
        });
        assert_eq!(
            keys(serde_json::to_value(token).unwrap()),
            properties("TokenJson")
        );
        let mut all = BTreeSet::new();
        for owner in [
            TokenOwner::Staff(Login::parse("barman").unwrap()),
            TokenOwner::Partner("client".into()),
        ] {
            let info = TokenInfo {
                owner,
                scopes: vec!["cards:read".into()],
                issued_at: at,
                expires_at: at,
                rpt_left: Some(3),
                id: "abc".into(),
            };
            all.extend(keys(
                serde_json::to_value(introspection_answer(Some(info))).unwrap(),
            ));
        }
        assert_eq!(all, properties("IntrospectionJson"));
        let error = serde_json::to_value(ErrorAnswer::new(
            BasicErrorResponseType::InvalidClient,
            Some("x".into()),
            None,
        ))
        .unwrap();
        assert_eq!(keys(error), properties("OAuthErrorJson"));
    }

    #[test]
    fn rpt_is_a_plain_whole_number() {
        assert_eq!(parse_rpt("1000").unwrap(), 1000);
        for bad in ["", "-1", "1e3", "10.0", "+5", "9999999999"] {
            assert!(parse_rpt(bad).is_err(), "{bad}");
        }
    }
}
