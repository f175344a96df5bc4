//! The pages' cookie session: the staff session of `ardoise-auth` (same tokens, same sliding
//! expiry, same throttled login) carried in an `HttpOnly`, `SameSite=Strict` cookie, and the
//! CSRF token derived from it that every POST must carry.
//!
//! [`StaffPage`] is the extractor of every page behind a login: a missing or expired session
//! sends the browser to `/login?next=<this page>`. Other spaces (the member space) can reuse
//! [`cookie`], [`csrf_token`] and [`check_post`] with their own token source.

use std::future::Future;
use std::pin::Pin;

use actix_web::cookie::{Cookie, SameSite};
use actix_web::dev::Payload;
use actix_web::http::{header, Method};
use actix_web::{web, FromRequest, HttpRequest};
use ardoise_auth::{constant_time_eq, token_hash};
use ardoise_domain::{Actor, DomainError};

use crate::i18n::Lang;
use crate::pages::PageError;
use crate::WebState;

/// The cookie holding a staff session token.
pub const SESSION_COOKIE: &str = "ardoise_session";

/// A cookie the browser sends back only to this site's pages over the same scheme: not
/// readable by scripts, never sent by another site's request, `Secure` under TLS. No
/// `Max-Age`: the server's sliding expiry decides when the session ends.
pub fn cookie(req: &HttpRequest, name: &'static str, value: String) -> Cookie<'static> {
    Cookie::build(name, value)
        .path("/")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(req.connection_info().scheme() == "https")
        .finish()
}

/// A cookie that makes the browser forget `name`.
pub fn removal(req: &HttpRequest, name: &'static str) -> Cookie<'static> {
    let mut c = cookie(req, name, String::new());
    c.make_removal();
    c
}

/// The CSRF token of a session: derived from its secret token, so it needs no storage, dies
/// with the session, and cannot be guessed by another site (which cannot read the cookie).
pub fn csrf_token(session_token: &str) -> String {
    let mut hash = token_hash(&format!("ardoise-web-csrf\n{session_token}"));
    hash.truncate(32);
    hash
}

/// Whether a POST may be trusted: its `Origin`, when the browser sends one, is this site, and
/// its `csrf` field is the session's token.
pub fn check_post(req: &HttpRequest, session_token: &str, csrf: Option<&str>) -> bool {
    same_origin(req)
        && csrf.is_some_and(|given| constant_time_eq(given, &csrf_token(session_token)))
}

/// Whether the request's `Origin` (if any) names this site.
pub fn same_origin(req: &HttpRequest) -> bool {
    let Some(origin) = req.headers().get(header::ORIGIN) else {
        return true;
    };
    let Ok(origin) = origin.to_str() else {
        return false;
    };
    let info = req.connection_info();
    origin == format!("{}://{}", info.scheme(), info.host())
}

/// A logged-in staff member on a page.
pub struct StaffPage {
    pub actor: Actor,
    pub lang: Lang,
    /// The CSRF token the page's forms carry.
    pub csrf: String,
    token: String,
}

impl StaffPage {
    /// Whether a POST carries this session's CSRF token (and comes from this site).
    pub fn check_post(&self, req: &HttpRequest, csrf: Option<&str>) -> Result<(), PageError> {
        if check_post(req, &self.token, csrf) {
            Ok(())
        } else {
            Err(PageError::BadForm(self.lang))
        }
    }

    /// The session's token, to log it out.
    pub(crate) fn token(&self) -> &str {
        &self.token
    }
}

/// Where to come back after logging in: this page (a GET), or the page a form was on.
fn next_of(req: &HttpRequest) -> String {
    if req.method() == Method::GET {
        return match req.query_string() {
            "" => req.path().to_owned(),
            q => format!("{}?{q}", req.path()),
        };
    }
    req.path().to_owned()
}

impl FromRequest for StaffPage {
    type Error = PageError;
    type Future = Pin<Box<dyn Future<Output = Result<StaffPage, PageError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let lang = Lang::of(&req);
            let state = req
                .app_data::<web::Data<WebState>>()
                .cloned()
                .ok_or(PageError::Internal(lang))?;
            let Some(token) = req.cookie(SESSION_COOKIE).map(|c| c.value().to_owned()) else {
                return Err(PageError::Login {
                    next: next_of(&req),
                    expired: false,
                });
            };
            match state.staff.authenticate(&token).await {
                Ok(actor) => Ok(StaffPage {
                    actor,
                    lang,
                    csrf: csrf_token(&token),
                    token,
                }),
                Err(DomainError::InvalidToken) => Err(PageError::Login {
                    next: next_of(&req),
                    expired: true,
                }),
                Err(e) => Err(PageError::from_domain(lang, e)),
            }
        })
    }
}
