//! Who calls a `/v1` route: the [`Principal`] extractor turns `Authorization: Bearer` (a
//! partner's access token, which spends one of its requests, or a staff session token) or, for
//! the partners that opted in, `Authorization: Basic` into a typed caller. The answers follow
//! RFC 6750 §3: no credentials → 401 with `WWW-Authenticate: Bearer realm="ardoise"`; a bad
//! token → 401 with `error="invalid_token"`; a missing scope → 403 `insufficient_scope`.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::web::Data;
use actix_web::{FromRequest, HttpRequest, HttpResponse, ResponseError};
use ardoise_auth::{Authorization, Caller, OAuthError};
use ardoise_domain::{Actor, DomainError, MemberId};

use crate::oauth::source;
use crate::v1::{failure, Lang};
use crate::AppState;

/// The authenticated caller of a `/v1` route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// A partner, with the scopes of its token (all of its scopes when it used HTTP Basic).
    Partner {
        client_id: String,
        scopes: Vec<String>,
    },
    /// A staff user, whose rights the rules check.
    Staff { actor: Actor },
    /// A member, in their own space (`/v1/me`): no scope, no staff right.
    Member { member: MemberId },
}

impl From<Caller> for Principal {
    fn from(caller: Caller) -> Principal {
        match caller {
            Caller::Partner { client_id, scopes } => Principal::Partner { client_id, scopes },
            Caller::Staff { actor } => Principal::Staff { actor },
            Caller::Member { member } => Principal::Member { member },
        }
    }
}

impl Principal {
    /// Refuses a partner without `scope`, and a member, who holds no scope (403). Staff pass:
    /// their rights are checked by the rules of the operation itself.
    pub fn require_scope(&self, scope: &str) -> Result<(), Unauthorized> {
        match self {
            Principal::Partner { scopes, .. } if scopes.iter().any(|s| s == scope) => Ok(()),
            Principal::Staff { .. } => Ok(()),
            Principal::Partner { .. } | Principal::Member { .. } => Err(Unauthorized::Refused(
                OAuthError::InsufficientScope(scope.to_owned()),
            )),
        }
    }

    /// The caller as the rules know it, for the use cases that check the principal
    /// themselves (a member's own space).
    pub fn domain(&self) -> ardoise_domain::Principal {
        match self {
            Principal::Staff { actor } => ardoise_domain::Principal::Staff(actor.clone()),
            Principal::Member { member } => ardoise_domain::Principal::Member(*member),
            Principal::Partner { client_id, .. } => {
                ardoise_domain::Principal::Partner(client_id.clone())
            }
        }
    }
}

/// Why a `/v1` request is not authenticated or not allowed; renders the RFC 6750 answer in
/// the `/v1` envelope.
#[derive(Debug)]
pub enum Unauthorized {
    /// No `Authorization` header at all.
    NoCredentials,
    /// Credentials that were refused, or a missing scope.
    Refused(OAuthError),
}

impl std::fmt::Display for Unauthorized {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Unauthorized::NoCredentials => f.write_str("no credentials"),
            Unauthorized::Refused(e) => std::fmt::Display::fmt(e, f),
        }
    }
}

impl ResponseError for Unauthorized {
    fn status_code(&self) -> StatusCode {
        self.response().status()
    }

    fn error_response(&self) -> HttpResponse {
        self.response()
    }
}

impl Unauthorized {
    fn response(&self) -> HttpResponse {
        let refusal = match self {
            Unauthorized::NoCredentials => None,
            Unauthorized::Refused(e) => Some(e),
        };
        let (status, code, challenge, retry_after) = match refusal {
            None => (
                StatusCode::UNAUTHORIZED,
                "AUTHENTICATION_REQUIRED_ERROR",
                Some(r#"Bearer realm="ardoise""#.to_owned()),
                None,
            ),
            Some(OAuthError::InsufficientScope(scope)) => (
                StatusCode::FORBIDDEN,
                "INSUFFICIENT_SCOPE_ERROR",
                Some(format!(
                    r#"Bearer realm="ardoise", error="insufficient_scope", scope="{scope}""#
                )),
                None,
            ),
            Some(OAuthError::TooManyAttempts {
                retry_after_seconds,
            }) => (
                StatusCode::TOO_MANY_REQUESTS,
                "TOO_MANY_ATTEMPTS_ERROR",
                None,
                Some(*retry_after_seconds),
            ),
            Some(OAuthError::Storage(e)) => {
                return failure(Lang::En, e);
            }
            _ => (
                StatusCode::UNAUTHORIZED,
                "INVALID_TOKEN_ERROR",
                Some(r#"Bearer realm="ardoise", error="invalid_token""#.to_owned()),
                None,
            ),
        };
        let debug = self.to_string();
        let mut builder = HttpResponse::build(status);
        if let Some(challenge) = challenge {
            builder.insert_header((header::WWW_AUTHENTICATE, challenge));
        }
        if let Some(seconds) = retry_after {
            builder.insert_header((header::RETRY_AFTER, seconds.to_string()));
        }
        crate::v1::envelope_error(builder, code, message(code), &debug)
    }
}

fn message(code: &str) -> &'static str {
    match code {
        "AUTHENTICATION_REQUIRED_ERROR" => "Authentication is required.",
        "INSUFFICIENT_SCOPE_ERROR" => "This client is not allowed to do this.",
        "TOO_MANY_ATTEMPTS_ERROR" => "Too many failed attempts: retry later.",
        _ => "The access token is invalid or has expired.",
    }
}

impl FromRequest for Principal {
    type Error = Unauthorized;
    type Future = Pin<Box<dyn Future<Output = Result<Principal, Unauthorized>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { authenticate(&req).await })
    }
}

async fn authenticate(req: &HttpRequest) -> Result<Principal, Unauthorized> {
    let values: Vec<&HeaderValue> = req.headers().get_all(header::AUTHORIZATION).collect();
    if values.is_empty() {
        return Err(Unauthorized::NoCredentials);
    }
    credentials(req, &values)
        .await
        .map(Principal::from)
        .map_err(Unauthorized::Refused)
}

async fn credentials(req: &HttpRequest, values: &[&HeaderValue]) -> Result<Caller, OAuthError> {
    let state = req.app_data::<Data<AppState>>().ok_or_else(|| {
        OAuthError::Storage(DomainError::Internal("no AppState registered".into()))
    })?;
    let value = match values {
        [value] => value
            .to_str()
            .map_err(|_| OAuthError::InvalidToken("the Authorization header is not text"))?,
        _ => return Err(OAuthError::InvalidToken("several Authorization headers")),
    };
    Ok(match Authorization::parse(value) {
        Ok(Authorization::Bearer(token)) => state.oauth.authenticate_bearer(&token).await?,
        Ok(Authorization::Basic(credentials)) => {
            match state
                .oauth
                .authenticate_basic(&credentials, source(req))
                .await
            {
                Err(OAuthError::InvalidClient) => {
                    return Err(OAuthError::InvalidToken("client authentication failed"))
                }
                other => other?,
            }
        }
        Ok(Authorization::Other) => {
            return Err(OAuthError::InvalidToken("unsupported authorization scheme"))
        }
        Err(OAuthError::InvalidRequest(_)) => {
            return Err(OAuthError::InvalidToken("malformed Basic credentials"))
        }
        Err(e) => return Err(e),
    })
}
