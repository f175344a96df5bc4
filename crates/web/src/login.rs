//! `/`, `/login`, `/logout` and the language switch.

use std::net::{IpAddr, Ipv4Addr};

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use ardoise_domain::DomainError;
use maud::html;
use serde::Deserialize;

use crate::i18n::{Lang, LANG_COOKIE};
use crate::pages::{html_page, layout, safe_next, see_other, Chrome, PageError};
use crate::session::{cookie, removal, same_origin, StaffPage, SESSION_COOKIE};
use crate::WebState;

pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(home))
        .route("/login", web::get().to(login_page))
        .route("/login", web::post().to(login))
        .route("/logout", web::post().to(logout))
        .route("/lang/{code}", web::get().to(switch_language));
}

/// `/`: the till when logged in, else the login page.
async fn home(req: HttpRequest, state: web::Data<WebState>) -> HttpResponse {
    let logged_in = match req.cookie(SESSION_COOKIE) {
        Some(c) => state.staff.authenticate(c.value()).await.is_ok(),
        None => false,
    };
    see_other(if logged_in { "/till" } else { "/login" })
}

#[derive(Deserialize)]
struct LoginQuery {
    next: Option<String>,
    expired: Option<String>,
}

/// What the login form shows again after a refusal.
#[derive(Default)]
struct LoginForm {
    login: String,
    error: Option<String>,
    card_error: Option<String>,
    notice: Option<String>,
}

fn login_markup(req: &HttpRequest, card_login: bool, next: &str, form: &LoginForm) -> maud::Markup {
    let chrome = Chrome::anonymous(req);
    let t = chrome.lang.t();
    layout(
        &chrome,
        t.log_in_title,
        html! {
            section.card.narrow {
                h1 { (t.log_in_title) }
                @if let Some(notice) = &form.notice {
                    p.notice role="status" { (notice) }
                }
                @if let Some(error) = &form.error {
                    p.alert role="alert" { (error) }
                }
                form.stack method="post" action="/login" {
                    input type="hidden" name="next" value=(next);
                    label for="login" { (t.login) }
                    input #login type="text" name="login" value=(form.login)
                        autocomplete="username" autocapitalize="none" spellcheck="false"
                        required autofocus[form.login.is_empty()];
                    label for="password" { (t.password) }
                    input #password type="password" name="password"
                        autocomplete="current-password" required autofocus[!form.login.is_empty()];
                    button.primary type="submit" { (t.log_in) }
                }
                @if card_login {
                    p.or { (t.or) }
                    @if let Some(error) = &form.card_error {
                        p.alert role="alert" { (error) }
                    }
                    form.stack method="post" action="/login" {
                        input type="hidden" name="next" value=(next);
                        label for="staff-card" { (t.staff_card) }
                        input #staff-card type="text" name="card" autocomplete="off" required;
                        button type="submit" { (t.log_in_card) }
                    }
                }
                p.members { a href="/me/login" { (crate::me::words(chrome.lang).members_link) } }
            }
        },
    )
}

async fn login_page(
    req: HttpRequest,
    state: web::Data<WebState>,
    query: web::Query<LoginQuery>,
) -> HttpResponse {
    let lang = Lang::of(&req);
    let form = LoginForm {
        notice: query
            .expired
            .is_some()
            .then(|| lang.t().session_ended.to_owned()),
        ..LoginForm::default()
    };
    let next = safe_next(query.next.as_deref());
    html_page(
        StatusCode::OK,
        login_markup(&req, state.staff.settings().card_login, &next, &form),
    )
}

#[derive(Deserialize)]
struct LoginBody {
    login: Option<String>,
    password: Option<String>,
    card: Option<String>,
    next: Option<String>,
}

/// The address a request comes from, for the logins' throttle.
pub(crate) fn source(req: &HttpRequest) -> IpAddr {
    req.peer_addr()
        .map(|a| a.ip())
        .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
}

/// Logs in with a login and password, or a staff card, through the same throttled use cases
/// as the API; the session token goes into the cookie.
async fn login(
    req: HttpRequest,
    state: web::Data<WebState>,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let lang = Lang::of(&req);
    if !same_origin(&req) {
        return Err(PageError::BadForm(lang));
    }
    let form: LoginBody =
        serde_urlencoded::from_bytes(&body).map_err(|_| PageError::BadForm(lang))?;
    let next = safe_next(form.next.as_deref());
    let card_login = state.staff.settings().card_login;
    let (outcome, by_card) = match (&form.card, &form.login) {
        (Some(card), _) if !card.trim().is_empty() => {
            let outcome = match ardoise_domain::CardId::parse(card.trim()) {
                Ok(card) => state.staff.login_card(&card, source(&req)).await,
                Err(_) => Err(DomainError::UnknownStaffCard),
            };
            (outcome, true)
        }
        _ => {
            let login = form.login.as_deref().unwrap_or_default().trim().to_owned();
            let password = form.password.as_deref().unwrap_or_default();
            (
                state
                    .staff
                    .login_password(&login, password, source(&req))
                    .await,
                false,
            )
        }
    };
    match outcome {
        Ok(grant) => {
            let mut answer = see_other(&next);
            answer
                .add_cookie(&cookie(&req, SESSION_COOKIE, grant.token))
                .map_err(|_| PageError::Internal(lang))?;
            Ok(answer)
        }
        Err(
            e @ (DomainError::InvalidCredentials
            | DomainError::UnknownStaffCard
            | DomainError::TooManyAttempts { .. }),
        ) => {
            let message = lang.error(&e);
            let form = LoginForm {
                login: form.login.unwrap_or_default(),
                error: (!by_card).then(|| message.clone()),
                card_error: by_card.then_some(message),
                notice: None,
            };
            let status = match e {
                DomainError::TooManyAttempts { .. } => StatusCode::TOO_MANY_REQUESTS,
                _ => StatusCode::UNAUTHORIZED,
            };
            Ok(html_page(
                status,
                login_markup(&req, card_login, &next, &form),
            ))
        }
        Err(e) => Err(PageError::from_domain(lang, e)),
    }
}

#[derive(Deserialize)]
struct CsrfOnly {
    csrf: Option<String>,
}

/// Ends the session and forgets the cookie.
async fn logout(
    req: HttpRequest,
    state: web::Data<WebState>,
    page: StaffPage,
    form: web::Form<CsrfOnly>,
) -> Result<HttpResponse, PageError> {
    page.check_post(&req, form.csrf.as_deref())?;
    if let Err(e) = state.staff.logout(page.token()).await {
        tracing::warn!(error = %e, "logout");
    }
    let mut answer = see_other("/login");
    answer
        .add_cookie(&removal(&req, SESSION_COOKIE))
        .map_err(|_| PageError::Internal(page.lang))?;
    Ok(answer)
}

#[derive(Deserialize)]
struct NextQuery {
    next: Option<String>,
}

/// The language switch: remembers the choice in a cookie and goes back to the page.
async fn switch_language(
    req: HttpRequest,
    code: web::Path<String>,
    query: web::Query<NextQuery>,
) -> Result<HttpResponse, PageError> {
    let lang = Lang::parse(&code).ok_or_else(|| PageError::NotFound(Chrome::anonymous(&req)))?;
    let mut answer = see_other(&safe_next(query.next.as_deref()));
    let mut c = cookie(&req, LANG_COOKIE, lang.code().to_owned());
    c.set_max_age(actix_web::cookie::time::Duration::days(365));
    answer
        .add_cookie(&c)
        .map_err(|_| PageError::Internal(lang))?;
    Ok(answer)
}
