//! The pages' cookie session: the staff session of `ardoise-auth` (same tokens, same sliding
//! expiry, same throttled login) carried in an `HttpOnly`, `SameSite=Strict` cookie, and the
//! CSRF token derived from it that every POST must carry.
//!
//! [`StaffPage`] is the extractor of every page behind a login: a missing or expired session
//! sends the browser to `/login?next=<this page>`. [`MemberPage`] is its twin for the members'
//! space (`/me/...`): a member session in its own cookie, [`MEMBER_COOKIE`], so that a staff
//! session never opens a member page and a member session never opens a staff page.

use std::future::Future;
use std::pin::Pin;

use actix_web::cookie::{Cookie, SameSite};
use actix_web::dev::Payload;
use actix_web::http::{header, Method};
use actix_web::{web, FromRequest, HttpRequest};
use ardoise_auth::{constant_time_eq, token_hash};
use ardoise_domain::{Actor, DomainError, Member, MemberId, Principal};

use crate::i18n::Lang;
use crate::pages::PageError;
use crate::WebState;

/// The cookie holding a staff session token.
pub const SESSION_COOKIE: &str = "ardoise_session";

/// The cookie holding a member session token (the member space, `/me/...`).
pub const MEMBER_COOKIE: &str = "ardoise_member_session";

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

/// A logged-in member on a page of the member space: the extractor of every `/me/...` page
/// behind the members' login. It reads only [`MEMBER_COOKIE`] and accepts only a member's
/// session (`MemberAccess::authenticate`): a staff session, missing or expired, sends the
/// browser to `/me/login?next=<this page>`.
///
/// A page of the member space takes it as an argument, passes [`MemberPage::principal`] to
/// the use cases (which open only that member's data), checks its POSTs with
/// [`MemberPage::check_post`], and renders in the layout with `Chrome::member`:
///
/// ```text
/// async fn page(req: HttpRequest, state: web::Data<WebState>, page: MemberPage) -> Result<HttpResponse, PageError> {
///     let cards = state.me.cards(&page.principal, Page::default()).await.map_err(|e| page.refused(&req, e))?;
///     Ok(crate::me::me_page(&req, &page, StatusCode::OK, "Title", html! { … }))
/// }
/// ```
pub struct MemberPage {
    /// `Principal::Member` of the logged-in member: what the use cases take.
    pub principal: Principal,
    /// The member as the session opened (their profile, for the header).
    pub member: Member,
    pub lang: Lang,
    /// The CSRF token the page's forms carry.
    pub csrf: String,
    token: String,
}

impl MemberPage {
    /// The member's id.
    pub fn id(&self) -> MemberId {
        self.member.id
    }

    /// The member's name as the header shows it (their e-mail address without a name).
    pub fn name(&self) -> String {
        crate::till::member_name(&self.member.profile)
            .or_else(|| self.member.profile.email.clone())
            .unwrap_or_else(|| format!("#{}", self.member.id.0))
    }

    /// Whether a POST carries this session's CSRF token (and comes from this site).
    pub fn check_post(&self, req: &HttpRequest, csrf: Option<&str>) -> Result<(), PageError> {
        if check_post(req, &self.token, csrf) {
            Ok(())
        } else {
            Err(PageError::BadForm(self.lang))
        }
    }

    /// A POSTed form's fields (of a duplicated field, the first counts), once its CSRF token
    /// and origin are checked: a bad form or a foreign POST is the bad form's page.
    pub(crate) fn posted_form(
        &self,
        req: &HttpRequest,
        body: &[u8],
    ) -> Result<Vec<(String, String)>, PageError> {
        let pairs = crate::me::form_pairs(self.lang, body)?;
        self.check_post(req, crate::me::field(&pairs, "csrf"))?;
        Ok(pairs)
    }

    /// The session's token, to log it out.
    pub(crate) fn token(&self) -> &str {
        &self.token
    }

    /// The page for a refusal that is not the form's fault: an ended session to the members'
    /// login, a card or member that is not this member's to the 404 page.
    pub fn refused(&self, req: &HttpRequest, e: DomainError) -> PageError {
        match e {
            DomainError::InvalidToken | DomainError::UnknownMember => PageError::MemberLogin {
                next: next_of(req),
                expired: true,
            },
            DomainError::UnknownCard | DomainError::InsufficientRights => {
                PageError::NotFound(crate::pages::Chrome::member(req, self))
            }
            e => PageError::from_domain(self.lang, e),
        }
    }

    /// The member session of a request, if any.
    pub async fn of(req: &HttpRequest) -> Result<MemberPage, PageError> {
        let lang = Lang::of(req);
        let state = req
            .app_data::<web::Data<WebState>>()
            .cloned()
            .ok_or(PageError::Internal(lang))?;
        let Some(token) = req.cookie(MEMBER_COOKIE).map(|c| c.value().to_owned()) else {
            return Err(PageError::MemberLogin {
                next: next_of(req),
                expired: false,
            });
        };
        let ended = || PageError::MemberLogin {
            next: next_of(req),
            expired: true,
        };
        let principal = match state.member_access.authenticate(&token).await {
            Ok(principal) => principal,
            Err(DomainError::InvalidToken) => return Err(ended()),
            Err(e) => return Err(PageError::from_domain(lang, e)),
        };
        let member = match state.me.profile(&principal).await {
            Ok(member) => member,
            // Deleted meanwhile, or not a member's session at all.
            Err(DomainError::UnknownMember | DomainError::InsufficientRights) => {
                return Err(ended())
            }
            Err(e) => return Err(PageError::from_domain(lang, e)),
        };
        Ok(MemberPage {
            principal,
            member,
            lang,
            csrf: csrf_token(&token),
            token,
        })
    }
}

impl FromRequest for MemberPage {
    type Error = PageError;
    type Future = Pin<Box<dyn Future<Output = Result<MemberPage, PageError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { MemberPage::of(&req).await })
    }
}
