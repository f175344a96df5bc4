//! The layout every page shares, the error pages, and the response headers.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpRequest, HttpResponse, ResponseError};
use ardoise_domain::{DomainError, Rights};
use maud::{html, Markup, DOCTYPE};

use crate::i18n::Lang;
use crate::session::{MemberPage, StaffPage};

/// The security headers of every answer: no script but our own files, never in a frame.
pub const CSP: &str =
    "default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'";

/// Adds the security headers to an answer being built.
pub fn secure(builder: &mut actix_web::HttpResponseBuilder) -> &mut actix_web::HttpResponseBuilder {
    builder
        .insert_header((header::CONTENT_SECURITY_POLICY, CSP))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::X_FRAME_OPTIONS, "DENY"))
        .insert_header((header::REFERRER_POLICY, "same-origin"))
}

/// An HTML page with the security headers; never cached (it shows balances).
pub fn html_page(status: StatusCode, markup: Markup) -> HttpResponse {
    secure(&mut HttpResponse::build(status))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .content_type("text/html; charset=utf-8")
        .body(markup.into_string())
}

/// A redirect after a form or to the login page (303: the browser follows with a GET).
pub fn see_other(location: &str) -> HttpResponse {
    secure(&mut HttpResponse::SeeOther())
        .insert_header((header::LOCATION, location.to_owned()))
        .finish()
}

/// What the header of a page shows: the language, and the logged-in staff user or member with
/// the CSRF token of the "Log out" form.
#[derive(Debug, Clone)]
pub struct Chrome {
    pub lang: Lang,
    pub user: Option<(String, Rights)>,
    /// A logged-in member's name (the member space's header), when `user` is `None`.
    pub member: Option<String>,
    /// Whether the member space's navigation links the exchange (`exchange.enabled`).
    pub exchange: bool,
    pub csrf: String,
    /// The path of the page, for the language switch to come back to.
    pub here: String,
}

impl Chrome {
    /// A visitor's header: no user.
    pub fn anonymous(req: &HttpRequest) -> Chrome {
        Chrome {
            lang: Lang::of(req),
            user: None,
            member: None,
            exchange: false,
            csrf: String::new(),
            here: req.path().to_owned(),
        }
    }

    /// A logged-in staff member's header.
    pub fn staff(req: &HttpRequest, page: &StaffPage) -> Chrome {
        Chrome {
            lang: page.lang,
            user: Some((page.actor.login.to_string(), page.actor.rights)),
            member: None,
            exchange: false,
            csrf: page.csrf.clone(),
            here: req.path().to_owned(),
        }
    }

    /// A logged-in member's header (the member space).
    pub fn member(req: &HttpRequest, page: &MemberPage) -> Chrome {
        Chrome {
            lang: page.lang,
            user: None,
            member: Some(page.name()),
            exchange: req
                .app_data::<actix_web::web::Data<crate::WebState>>()
                .is_some_and(|state| state.exchange_on().is_some()),
            csrf: page.csrf.clone(),
            here: req.path().to_owned(),
        }
    }
}

/// The layout: a header with the navigation, the user and "Log out", and the page's content.
pub fn layout(chrome: &Chrome, title: &str, content: Markup) -> Markup {
    let t = chrome.lang.t();
    let other = chrome.lang.other();
    html! {
        (DOCTYPE)
        html lang=(chrome.lang.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · ardoise" }
                link rel="stylesheet" href=(crate::assets::STYLE_URL);
                link rel="icon" href=(crate::assets::ICON_URL);
                script src=(crate::assets::SCRIPT_URL) defer {}
            }
            body {
                a.skip href="#main" { (t.skip) }
                header.topbar {
                    a.brand href=(if chrome.member.is_some() || chrome.here.starts_with("/me") { "/me" } else { "/" }) { "ardoise" }
                    @if let Some((login, rights)) = &chrome.user {
                        nav aria-label=(t.office) {
                            a href="/till" aria-current=[(chrome.here.starts_with("/till")).then_some("page")] { (t.till) }
                            @if rights.level() >= 1 {
                                a href="/office" aria-current=[(chrome.here.starts_with("/office")).then_some("page")] { (t.office) }
                            }
                        }
                        span.who { span.sr-only { (t.logged_in_as) " " } (login) }
                        form.logout method="post" action="/logout" {
                            input type="hidden" name="csrf" value=(chrome.csrf);
                            button.quiet type="submit" { (t.log_out) }
                        }
                    }
                    @if let Some(name) = &chrome.member {
                        nav aria-label=(crate::me::space_name(chrome.lang)) {
                            @for (href, text) in crate::me::nav(chrome.lang, chrome.exchange) {
                                a href=(href) aria-current=[crate::me::current(&chrome.here, href).then_some("page")] { (text) }
                            }
                        }
                        span.who { span.sr-only { (t.logged_in_as) " " } (name) }
                        form.logout method="post" action="/me/logout" {
                            input type="hidden" name="csrf" value=(chrome.csrf);
                            button.quiet type="submit" { (t.log_out) }
                        }
                    }
                    a.lang href={ "/lang/" (other.code()) "?next=" (chrome.here) } lang=(other.code()) { (t.switch_to) }
                }
                main #main {
                    (content)
                }
            }
        }
    }
}

/// A page that refuses, in the layout: 403, 404, an outdated form, an unavailable database.
#[derive(Debug)]
pub enum PageError {
    /// No session, or an expired one: to the login page, then back to `next`.
    Login {
        next: String,
        expired: bool,
    },
    /// No member session, or an expired one: to the members' login page, then back to `next`.
    MemberLogin {
        next: String,
        expired: bool,
    },
    Forbidden(Chrome),
    NotFound(Chrome),
    /// A POST without this session's CSRF token (or from another site).
    BadForm(Lang),
    Unavailable(Lang),
    Internal(Lang),
}

impl std::fmt::Display for PageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            PageError::Login { .. } | PageError::MemberLogin { .. } => "login needed",
            PageError::Forbidden(_) => "forbidden",
            PageError::NotFound(_) => "not found",
            PageError::BadForm(_) => "bad form",
            PageError::Unavailable(_) => "unavailable",
            PageError::Internal(_) => "internal error",
        })
    }
}

impl PageError {
    /// The page for a refusal that is not the form's fault (rights, session, storage).
    pub fn from_domain(lang: Lang, e: DomainError) -> PageError {
        match e {
            DomainError::InvalidToken => PageError::Login {
                next: "/till".to_owned(),
                expired: true,
            },
            DomainError::StorageUnavailable => PageError::Unavailable(lang),
            e => {
                tracing::error!(error = %e, "page error");
                PageError::Internal(lang)
            }
        }
    }

    /// The 403 page for a logged-in user.
    pub fn forbidden(req: &HttpRequest, page: &StaffPage) -> PageError {
        PageError::Forbidden(Chrome::staff(req, page))
    }

    /// The 404 page for a logged-in user.
    pub fn not_found(req: &HttpRequest, page: &StaffPage) -> PageError {
        PageError::NotFound(Chrome::staff(req, page))
    }
}

/// A short page with a heading and a sentence.
fn message_page(chrome: &Chrome, status: StatusCode, title: &str, text: &str) -> HttpResponse {
    let t = chrome.lang.t();
    html_page(
        status,
        layout(
            chrome,
            title,
            html! {
                section.card.narrow {
                    h1 { (title) }
                    p { (text) }
                    p { a.button href=(if chrome.member.is_some() { "/me" } else { "/" }) { (t.back_home) } }
                }
            },
        ),
    )
}

fn bare(lang: Lang) -> Chrome {
    Chrome {
        lang,
        user: None,
        member: None,
        exchange: false,
        csrf: String::new(),
        here: "/".to_owned(),
    }
}

impl ResponseError for PageError {
    fn status_code(&self) -> StatusCode {
        match self {
            PageError::Login { .. } | PageError::MemberLogin { .. } => StatusCode::SEE_OTHER,
            PageError::Forbidden(_) => StatusCode::FORBIDDEN,
            PageError::NotFound(_) => StatusCode::NOT_FOUND,
            PageError::BadForm(_) => StatusCode::BAD_REQUEST,
            PageError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            PageError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            PageError::Login { next, expired } => {
                let mut location = format!("/login?next={}", encode(next));
                if *expired {
                    location.push_str("&expired=1");
                }
                see_other(&location)
            }
            PageError::MemberLogin { next, expired } => {
                let mut location = format!("/me/login?next={}", encode(next));
                if *expired {
                    location.push_str("&expired=1");
                }
                see_other(&location)
            }
            PageError::Forbidden(chrome) => {
                let t = chrome.lang.t();
                message_page(chrome, self.status_code(), t.forbidden, t.forbidden_text)
            }
            PageError::NotFound(chrome) => {
                let t = chrome.lang.t();
                message_page(chrome, self.status_code(), t.not_found, t.not_found_text)
            }
            PageError::BadForm(lang) => {
                let t = lang.t();
                message_page(&bare(*lang), self.status_code(), t.forbidden, t.bad_form)
            }
            PageError::Unavailable(lang) | PageError::Internal(lang) => {
                let text = lang.error(&DomainError::StorageUnavailable);
                let title = match lang {
                    Lang::En => "Unavailable",
                    Lang::Fr => "Indisponible",
                };
                message_page(&bare(*lang), self.status_code(), title, &text)
            }
        }
    }
}

/// Percent-encodes a value for a query string.
pub fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'/') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The 404 page for any address no route serves (the app's default service), with the
/// user's header when a session is open (a member's under `/me`).
pub async fn not_found(req: HttpRequest) -> HttpResponse {
    let mut chrome = Chrome::anonymous(&req);
    let state = req.app_data::<actix_web::web::Data<crate::WebState>>();
    let token = req.cookie(crate::session::SESSION_COOKIE);
    if let (Some(state), Some(token)) = (state, token) {
        if let Ok(actor) = state.staff.authenticate(token.value()).await {
            chrome.user = Some((actor.login.to_string(), actor.rights));
            chrome.csrf = crate::session::csrf_token(token.value());
        }
    }
    if req.path().starts_with("/me/") {
        if let Ok(page) = MemberPage::of(&req).await {
            chrome = Chrome::member(&req, &page);
        }
    }
    let t = chrome.lang.t();
    message_page(
        &chrome,
        StatusCode::NOT_FOUND,
        t.not_found,
        t.not_found_text,
    )
}

/// Only a local path may be a place to come back to (no open redirect).
pub fn safe_next(next: Option<&str>) -> String {
    safe_next_or(next, "/till")
}

/// Only a local path may be a place to come back to; `default` otherwise.
pub fn safe_next_or(next: Option<&str>, default: &str) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n.to_owned(),
        _ => default.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_places_to_come_back_to() {
        assert_eq!(safe_next(Some("/till?card=A1")), "/till?card=A1");
        assert_eq!(safe_next(Some("//evil.example/")), "/till");
        assert_eq!(safe_next(Some("https://evil.example/")), "/till");
        assert_eq!(safe_next(Some("/\\evil.example")), "/till");
        assert_eq!(safe_next(None), "/till");
    }

    #[test]
    fn query_values_are_encoded() {
        assert_eq!(encode("/till?card=A B&x"), "/till%3Fcard%3DA%20B%26x");
    }
}
