//! The members' own space (members.md): `/me/login`, the welcome and reset links' page
//! (`/me/welcome/{token}`, choose a password), `/me/reset`, and behind the members' login
//! `/me` (their cards with balance, history, "Declare lost" with a confirmation, preferences,
//! their data: export and deletion), `/me/cards/{card}` (a card's whole history), `/me/logout`.
//!
//! A member session lives in its own cookie ([`MEMBER_COOKIE`]) and is read by
//! [`MemberPage`]: a staff session never opens these pages, a member session never opens the
//! staff ones. Every page calls one use case of `MemberSpace` or `MemberAccess` with the
//! member's principal, checked there: another member's card is answered as unknown (404).

use std::collections::BTreeMap;

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use ardoise_domain::{
    Card, CardId, CardState, Channels, DomainError, Money, Page, Preferences, ProfileField,
    Transaction,
};
use maud::{html, Markup};
use serde::Deserialize;

use crate::i18n::Lang;
use crate::login::source;
use crate::pages::{html_page, layout, safe_next_or, see_other, Chrome, PageError};
use crate::session::{cookie, removal, same_origin, MemberPage, MEMBER_COOKIE};
use crate::till::kind_name;
use crate::WebState;

pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/me", web::get().to(home))
        .route("/me/login", web::get().to(login_page))
        .route("/me/login", web::post().to(login))
        .route("/me/logout", web::post().to(logout))
        .route("/me/welcome/{token}", web::get().to(welcome_page))
        .route("/me/welcome/{token}", web::post().to(welcome))
        .route("/me/reset", web::get().to(reset_page))
        .route("/me/reset", web::post().to(reset))
        .route("/me/cards/{card}", web::get().to(card_history))
        .route("/me/cards/{card}/lost", web::get().to(lost_page))
        .route("/me/cards/{card}/lost", web::post().to(lost))
        .route("/me/preferences", web::post().to(preferences))
        .route("/me/profile", web::get().to(profile))
        .route("/me/profile", web::post().to(edit_profile))
        .route("/me/profile/email", web::post().to(change_email))
        .route("/me/export", web::get().to(export))
        .route("/me/delete", web::get().to(delete_page))
        .route("/me/delete", web::post().to(delete));
}

/// The texts of the member space. The English names of controls are a contract (members.md,
/// web.md): acceptance tests find them by role and accessible name.
pub struct Words {
    pub space: &'static str,
    pub log_in_title: &'static str,
    pub email: &'static str,
    pub wrong: &'static str,
    pub forgot: &'static str,
    pub welcome_title: &'static str,
    pub welcome_intro: &'static str,
    pub password_hint: &'static str,
    pub password_short: &'static str,
    pub invalid_link: &'static str,
    pub password_saved: &'static str,
    pub reset_title: &'static str,
    pub reset_intro: &'static str,
    pub send: &'static str,
    pub reset_sent: &'static str,
    pub bad_email: &'static str,
    pub my_cards: &'static str,
    pub no_cards: &'static str,
    pub valid_until: &'static str,
    pub replaced_by: &'static str,
    pub declare_lost: &'static str,
    pub lost_title: &'static str,
    pub lost_text: &'static str,
    pub keep_card: &'static str,
    pub lost_done: &'static str,
    pub history: &'static str,
    pub no_history: &'static str,
    pub whole_history: &'static str,
    pub newer: &'static str,
    pub older: &'static str,
    pub back: &'static str,
    pub preferences: &'static str,
    pub channels: &'static str,
    pub email_channel: &'static str,
    pub sms: &'static str,
    pub push: &'static str,
    pub receipts: &'static str,
    pub receipts_hint: &'static str,
    pub advertisements: &'static str,
    pub advertisements_hint: &'static str,
    pub low_balance: &'static str,
    pub low_balance_hint: &'static str,
    pub low_balance_bad: &'static str,
    pub preferences_saved: &'static str,
    pub my_data: &'static str,
    pub my_data_text: &'static str,
    pub download: &'static str,
    pub delete_account: &'static str,
    pub delete_title: &'static str,
    pub delete_text: &'static str,
    pub keep_account: &'static str,
    pub deleted: &'static str,
    pub profile: &'static str,
    pub profile_saved: &'static str,
    pub change_email: &'static str,
    pub change_email_hint: &'static str,
    pub new_email: &'static str,
    pub current_password: &'static str,
    pub change_email_button: &'static str,
    pub email_changed: &'static str,
    pub members_link: &'static str,
}

static EN: Words = Words {
    space: "My space",
    log_in_title: "Members: log in",
    email: "E-mail",
    wrong: "Wrong e-mail or password.",
    forgot: "Forgot your password?",
    welcome_title: "Choose your password",
    welcome_intro: "You will log in with your e-mail address and this password.",
    password_hint: "At least 8 characters.",
    password_short: "The password needs at least 8 characters.",
    invalid_link: "This link was already used or has expired: ask the bar for a new invitation, \
                   or ask for a new link below.",
    password_saved: "Your password is saved: log in with your e-mail address.",
    reset_title: "Choose a new password",
    reset_intro: "Type your e-mail address: if it is a member's, a link to choose a new password \
                  is sent to it, valid 72 hours.",
    send: "Send the link",
    reset_sent: "If this address is a member's, a link is on its way. No e-mail within a few \
                 minutes? Ask the bar for a new invitation.",
    bad_email: "Type an e-mail address such as zoe@example.org.",
    my_cards: "My cards",
    no_cards: "No card is linked to your account yet: ask at the bar.",
    valid_until: "Valid until",
    replaced_by: "Replaced by card",
    declare_lost: "Declare lost",
    lost_title: "Declare this card lost?",
    lost_text: "The card is refused at once by the till and the partners. The bar replaces it \
                later and the new card keeps its balance. Only the bar can undo this.",
    keep_card: "Keep the card",
    lost_done: "The card is declared lost: nobody can pay with it any more. Ask at the bar for \
                a new card; it keeps the balance.",
    history: "History",
    no_history: "No transaction yet.",
    whole_history: "Whole history",
    newer: "Newer",
    older: "Older",
    back: "Back to my space",
    preferences: "Preferences",
    channels: "How to reach me",
    email_channel: "E-mail",
    sms: "SMS",
    push: "Push",
    receipts: "Receipts",
    receipts_hint: "A receipt for every top-up, at the bar or online.",
    advertisements: "Advertisements",
    advertisements_hint: "Offers from the association and its partners: only if you tick it, \
                          and you can untick it at any time.",
    low_balance: "Low balance alert",
    low_balance_hint: "Warn me when a card's balance falls below this amount, e.g. 5.00. \
                       Empty: no alert.",
    low_balance_bad: "Type an amount above zero, e.g. 5.00, or leave it empty.",
    preferences_saved: "Preferences saved.",
    my_data: "My data",
    my_data_text: "Download everything ardoise holds about you (profile, preferences, cards and \
                   their history), or delete your account.",
    download: "Download my data",
    delete_account: "Delete my account",
    delete_title: "Delete your account?",
    delete_text: "Your name, e-mail address, preferences and password are erased and you are \
                  logged out. Your cards and their transactions stay in the bar's books without \
                  your name: money history is never deleted. Money left on a card stays on it: \
                  ask at the bar to get it back first.",
    keep_account: "Keep my account",
    deleted: "Your account is deleted.",
    profile: "My profile",
    profile_saved: "Profile saved.",
    change_email: "My e-mail address",
    change_email_hint: "It is your login: changing it needs your current password.",
    new_email: "New e-mail address",
    current_password: "Current password",
    change_email_button: "Change the address",
    email_changed: "Your e-mail address is changed: log in with it from now on.",
    members_link: "A member of the association? Your own space",
};

static FR: Words = Words {
    space: "Mon espace",
    log_in_title: "Membres : connexion",
    email: "Courriel",
    wrong: "Adresse ou mot de passe incorrect.",
    forgot: "Mot de passe oublié ?",
    welcome_title: "Choisissez votre mot de passe",
    welcome_intro: "Vous vous connecterez avec votre adresse électronique et ce mot de passe.",
    password_hint: "Au moins 8 caractères.",
    password_short: "Le mot de passe doit avoir au moins 8 caractères.",
    invalid_link: "Ce lien a déjà servi ou a expiré : demandez une nouvelle invitation au bar, \
                   ou un nouveau lien ci-dessous.",
    password_saved: "Votre mot de passe est enregistré : connectez-vous avec votre adresse.",
    reset_title: "Choisir un nouveau mot de passe",
    reset_intro: "Tapez votre adresse : si c'est celle d'un membre, un lien pour choisir un \
                  nouveau mot de passe lui est envoyé, valable 72 heures.",
    send: "Envoyer le lien",
    reset_sent: "Si cette adresse est celle d'un membre, un lien est en route. Rien reçu d'ici \
                 quelques minutes ? Demandez une nouvelle invitation au bar.",
    bad_email: "Tapez une adresse comme zoe@example.org.",
    my_cards: "Mes cartes",
    no_cards: "Aucune carte n'est liée à votre compte : demandez au bar.",
    valid_until: "Valable jusqu'au",
    replaced_by: "Remplacée par la carte",
    declare_lost: "Déclarer perdue",
    lost_title: "Déclarer cette carte perdue ?",
    lost_text: "La carte est refusée aussitôt par la caisse et les partenaires. Le bar la \
                remplace ensuite et la nouvelle carte garde le solde. Seul le bar peut annuler.",
    keep_card: "Garder la carte",
    lost_done: "La carte est déclarée perdue : plus personne ne peut payer avec. Demandez une \
                nouvelle carte au bar ; elle garde le solde.",
    history: "Historique",
    no_history: "Aucune transaction pour l'instant.",
    whole_history: "Tout l'historique",
    newer: "Plus récentes",
    older: "Plus anciennes",
    back: "Retour à mon espace",
    preferences: "Préférences",
    channels: "Comment me joindre",
    email_channel: "Courriel",
    sms: "SMS",
    push: "Notifications",
    receipts: "Reçus",
    receipts_hint: "Un reçu pour chaque rechargement, au bar ou en ligne.",
    advertisements: "Publicités",
    advertisements_hint: "Offres de l'association et de ses partenaires : seulement si vous \
                          cochez, et vous pouvez décocher à tout moment.",
    low_balance: "Alerte de solde bas",
    low_balance_hint: "Me prévenir quand le solde d'une carte passe sous ce montant, par exemple \
                       5,00. Vide : pas d'alerte.",
    low_balance_bad: "Tapez un montant positif, par exemple 5,00, ou laissez vide.",
    preferences_saved: "Préférences enregistrées.",
    my_data: "Mes données",
    my_data_text: "Téléchargez tout ce qu'ardoise sait de vous (profil, préférences, cartes et \
                   leur historique), ou supprimez votre compte.",
    download: "Télécharger mes données",
    delete_account: "Supprimer mon compte",
    delete_title: "Supprimer votre compte ?",
    delete_text: "Votre nom, votre adresse, vos préférences et votre mot de passe sont effacés \
                  et vous êtes déconnecté. Vos cartes et leurs transactions restent dans les \
                  comptes du bar sans votre nom : l'historique de l'argent n'est jamais effacé. \
                  L'argent restant sur une carte y reste : demandez-le au bar avant.",
    keep_account: "Garder mon compte",
    deleted: "Votre compte est supprimé.",
    profile: "Mon profil",
    profile_saved: "Profil enregistré.",
    change_email: "Mon adresse électronique",
    change_email_hint: "C'est votre identifiant : la changer demande votre mot de passe actuel.",
    new_email: "Nouvelle adresse",
    current_password: "Mot de passe actuel",
    change_email_button: "Changer l'adresse",
    email_changed: "Votre adresse est changée : connectez-vous avec elle désormais.",
    members_link: "Membre de l'association ? Votre espace",
};

/// The member space's texts in `lang`.
pub fn words(lang: Lang) -> &'static Words {
    match lang {
        Lang::En => &EN,
        Lang::Fr => &FR,
    }
}

/// The name of the member space's navigation.
pub fn space_name(lang: Lang) -> &'static str {
    words(lang).space
}

/// The links of the member space's navigation (the header's, beside "Log out"); "Exchange"
/// when the members' exchange is on.
pub fn nav(lang: Lang, exchange: bool) -> Vec<(&'static str, &'static str)> {
    let w = words(lang);
    let mut links = vec![("/me", w.space), ("/me/profile", w.profile)];
    if exchange {
        links.push(("/me/exchange", crate::exchange::title(lang)));
    }
    links
}

/// Whether the navigation's link `href` is the page at `here` (the exchange's link stands for
/// all its pages).
pub fn current(here: &str, href: &str) -> bool {
    here == href || (href == "/me/exchange" && here.starts_with("/me/exchange/"))
}

/// A page of the member space, in the layout with the member's header.
pub fn me_page(
    req: &HttpRequest,
    page: &MemberPage,
    status: StatusCode,
    title: &str,
    content: Markup,
) -> HttpResponse {
    html_page(status, layout(&Chrome::member(req, page), title, content))
}

/// A form's body as its pairs; of a duplicated field, the first counts.
pub(crate) fn form_pairs(lang: Lang, body: &[u8]) -> Result<Vec<(String, String)>, PageError> {
    serde_urlencoded::from_bytes(body).map_err(|_| PageError::BadForm(lang))
}

pub(crate) fn field<'a>(body: &'a [(String, String)], name: &str) -> Option<&'a str> {
    body.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

// ---------------------------------------------------------------------------------------------
// Logging in and out

#[derive(Deserialize)]
struct LoginQuery {
    next: Option<String>,
    expired: Option<String>,
    welcome: Option<String>,
    deleted: Option<String>,
}

/// What the login form shows again after a refusal.
#[derive(Default)]
struct LoginForm {
    email: String,
    error: Option<String>,
    notice: Option<String>,
}

fn login_markup(req: &HttpRequest, next: &str, form: &LoginForm) -> Markup {
    let chrome = Chrome::anonymous(req);
    let t = chrome.lang.t();
    let w = words(chrome.lang);
    layout(
        &chrome,
        w.log_in_title,
        html! {
            section.card.narrow {
                h1 { (w.log_in_title) }
                @if let Some(notice) = &form.notice {
                    p.notice role="status" { (notice) }
                }
                @if let Some(error) = &form.error {
                    p.alert role="alert" { (error) }
                }
                form.stack method="post" action="/me/login" {
                    input type="hidden" name="next" value=(next);
                    label for="email" { (w.email) }
                    input #email type="email" name="email" value=(form.email)
                        autocomplete="username" autocapitalize="none" spellcheck="false"
                        required autofocus[form.email.is_empty()];
                    label for="password" { (t.password) }
                    input #password type="password" name="password"
                        autocomplete="current-password" required autofocus[!form.email.is_empty()];
                    button.primary type="submit" { (t.log_in) }
                }
                p { a href="/me/reset" { (w.forgot) } }
            }
        },
    )
}

async fn login_page(
    req: HttpRequest,
    query: web::Query<LoginQuery>,
) -> Result<HttpResponse, PageError> {
    // Already logged in: straight to the space.
    if MemberPage::of(&req).await.is_ok() {
        return Ok(see_other(&safe_next_or(query.next.as_deref(), "/me")));
    }
    let lang = Lang::of(&req);
    let w = words(lang);
    let notice = if query.welcome.is_some() {
        Some(w.password_saved)
    } else if query.deleted.is_some() {
        Some(w.deleted)
    } else if query.expired.is_some() {
        Some(lang.t().session_ended)
    } else {
        None
    };
    let form = LoginForm {
        notice: notice.map(str::to_owned),
        ..LoginForm::default()
    };
    let next = safe_next_or(query.next.as_deref(), "/me");
    Ok(html_page(StatusCode::OK, login_markup(&req, &next, &form)))
}

/// Logs a member in through the same throttled use case as `POST /v1/member-sessions`; the
/// session token goes into the member cookie.
async fn login(
    req: HttpRequest,
    state: web::Data<WebState>,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let lang = Lang::of(&req);
    if !same_origin(&req) {
        return Err(PageError::BadForm(lang));
    }
    let body = form_pairs(lang, &body)?;
    let next = safe_next_or(field(&body, "next"), "/me");
    let email = field(&body, "email").unwrap_or_default().trim().to_owned();
    let password = field(&body, "password").unwrap_or_default();
    match state
        .member_access
        .login(&email, password, source(&req))
        .await
    {
        Ok(grant) => {
            let mut answer = see_other(&next);
            answer
                .add_cookie(&cookie(&req, MEMBER_COOKIE, grant.token))
                .map_err(|_| PageError::Internal(lang))?;
            Ok(answer)
        }
        Err(e @ (DomainError::InvalidCredentials | DomainError::TooManyAttempts { .. })) => {
            let (status, error) = match e {
                DomainError::TooManyAttempts { .. } => {
                    (StatusCode::TOO_MANY_REQUESTS, lang.error(&e))
                }
                _ => (StatusCode::UNAUTHORIZED, words(lang).wrong.to_owned()),
            };
            let form = LoginForm {
                email,
                error: Some(error),
                notice: None,
            };
            Ok(html_page(status, login_markup(&req, &next, &form)))
        }
        Err(e) => Err(PageError::from_domain(lang, e)),
    }
}

/// Ends the member's session and forgets the cookie.
async fn logout(
    req: HttpRequest,
    state: web::Data<WebState>,
    page: MemberPage,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    page.posted_form(&req, &body)?;
    if let Err(e) = state
        .member_access
        .logout(&page.principal, page.token())
        .await
    {
        tracing::warn!(error = %e, "member logout");
    }
    let mut answer = see_other("/me/login");
    answer
        .add_cookie(&removal(&req, MEMBER_COOKIE))
        .map_err(|_| PageError::Internal(page.lang))?;
    Ok(answer)
}

// ---------------------------------------------------------------------------------------------
// The links: choose a password, ask for a new link

fn welcome_markup(req: &HttpRequest, token: &str, error: Option<&str>) -> Markup {
    let chrome = Chrome::anonymous(req);
    let t = chrome.lang.t();
    let w = words(chrome.lang);
    html! {
        section.card.narrow {
            h1 { (w.welcome_title) }
            p { (w.welcome_intro) }
            @if let Some(error) = error {
                p.alert role="alert" { (error) }
            }
            form.stack method="post" action={ "/me/welcome/" (token) } {
                label for="password" { (t.password) }
                input #password type="password" name="password" autocomplete="new-password"
                    minlength="8" required autofocus aria-describedby="password-hint";
                p #password-hint .hint { (w.password_hint) }
                button.primary type="submit" { (t.save) }
            }
            p { a href="/me/reset" { (w.forgot) } }
        }
    }
}

fn welcome_response(
    req: &HttpRequest,
    status: StatusCode,
    token: &str,
    error: Option<&str>,
) -> HttpResponse {
    // The token is in the address: `Referrer-Policy: same-origin` (every page's) never sends
    // it to another site, and the page loads nothing from one. (`no-referrer` would make
    // browsers send `Origin: null` with the form, refused as another site's.)
    let chrome = Chrome::anonymous(req);
    html_page(
        status,
        layout(
            &chrome,
            words(chrome.lang).welcome_title,
            welcome_markup(req, token, error),
        ),
    )
}

/// The page of an invitation or reset link: choose a password. Whether the link is still
/// good is told when the form is sent (a link is checked once, when it is used).
async fn welcome_page(req: HttpRequest, token: web::Path<String>) -> HttpResponse {
    welcome_response(&req, StatusCode::OK, &token, None)
}

/// Sets the password with the link (`MemberAccess::set_password`, as `POST
/// /v1/member-passwords`), then to the login page.
async fn welcome(
    req: HttpRequest,
    state: web::Data<WebState>,
    token: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let lang = Lang::of(&req);
    if !same_origin(&req) {
        return Err(PageError::BadForm(lang));
    }
    let body = form_pairs(lang, &body)?;
    let password = field(&body, "password").unwrap_or_default();
    let w = words(lang);
    match state.member_access.set_password(&token, password).await {
        Ok(()) => Ok(see_other("/me/login?welcome=1")),
        Err(DomainError::Malformed(_)) => Ok(welcome_response(
            &req,
            StatusCode::UNPROCESSABLE_ENTITY,
            &token,
            Some(w.password_short),
        )),
        Err(DomainError::InvalidLink) => Ok(welcome_response(
            &req,
            StatusCode::BAD_REQUEST,
            &token,
            Some(w.invalid_link),
        )),
        Err(e) => Err(PageError::from_domain(lang, e)),
    }
}

fn reset_markup(req: &HttpRequest, email: &str, error: Option<&str>, sent: bool) -> Markup {
    let chrome = Chrome::anonymous(req);
    let w = words(chrome.lang);
    layout(
        &chrome,
        w.reset_title,
        html! {
            section.card.narrow {
                h1 { (w.reset_title) }
                @if sent {
                    p.notice role="status" { (w.reset_sent) }
                }
                p { (w.reset_intro) }
                form.stack method="post" action="/me/reset" novalidate {
                    label for="email" { (w.email) }
                    input #email type="email" name="email" value=(email) autocomplete="email"
                        autocapitalize="none" spellcheck="false" required
                        aria-invalid=[error.map(|_| "true")]
                        aria-describedby=[error.map(|_| "email-error")];
                    @if let Some(error) = error {
                        p #email-error .field-error { (error) }
                    }
                    button.primary type="submit" { (w.send) }
                }
                p { a href="/me/login" { (chrome.lang.t().log_in) } }
            }
        },
    )
}

async fn reset_page(req: HttpRequest) -> HttpResponse {
    html_page(StatusCode::OK, reset_markup(&req, "", None, false))
}

/// A reset request: the same answer whether the address is a member's or not (only a
/// malformed address is refused); the link uses `http.public_url` only, as in `/v1`.
async fn reset(
    req: HttpRequest,
    state: web::Data<WebState>,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let lang = Lang::of(&req);
    if !same_origin(&req) {
        return Err(PageError::BadForm(lang));
    }
    let body = form_pairs(lang, &body)?;
    let email = field(&body, "email").unwrap_or_default().trim().to_owned();
    let outcome = state
        .member_access
        .request_reset(&email, state.public_url.as_deref(), source(&req))
        .await;
    match outcome {
        Ok(()) => Ok(html_page(
            StatusCode::ACCEPTED,
            reset_markup(&req, "", None, true),
        )),
        Err(DomainError::Malformed(_)) => Ok(html_page(
            StatusCode::UNPROCESSABLE_ENTITY,
            reset_markup(&req, &email, Some(words(lang).bad_email), false),
        )),
        Err(e @ DomainError::TooManyAttempts { .. }) => Ok(html_page(
            StatusCode::TOO_MANY_REQUESTS,
            reset_markup(&req, &email, Some(&lang.error(&e)), false),
        )),
        Err(e) => Err(PageError::from_domain(lang, e)),
    }
}

// ---------------------------------------------------------------------------------------------
// The space

/// What the preferences form shows: the values typed (or saved), the error of "Low balance
/// alert", and whether they were just saved.
#[derive(Default)]
struct PreferencesForm {
    values: Option<(Preferences, String)>,
    error: Option<String>,
    saved: bool,
}

/// Every card of the member, with its state.
pub(crate) async fn all_cards(
    req: &HttpRequest,
    state: &WebState,
    page: &MemberPage,
) -> Result<Vec<(Card, CardState)>, PageError> {
    let mut all = Vec::new();
    let mut number = 1;
    while let Ok(p) = Page::new(Some(number), Some(100)) {
        let cards = state
            .me
            .cards(&page.principal, p)
            .await
            .map_err(|e| page.refused(req, e))?;
        let more = cards.has_next();
        all.extend(cards.items);
        if !more {
            break;
        }
        number += 1;
    }
    Ok(all)
}

/// How many transactions the space shows (all cards together); the rest is on each card's
/// history page.
const RECENT: usize = 20;

fn card_state_text(lang: Lang, card: &Card, state: CardState) -> String {
    lang.state(state).to_owned()
        + &card
            .replaced_by
            .as_ref()
            .map(|by| format!(" · {} {by}", words(lang).replaced_by))
            .unwrap_or_default()
}

fn history_table(
    lang: Lang,
    time_zone: chrono_tz::Tz,
    transactions: &[Transaction],
    with_card: bool,
) -> Markup {
    let t = lang.t();
    html! {
        div.table-wrap { table {
            thead { tr {
                th scope="col" { (t.when) }
                @if with_card { th scope="col" { (t.card) } }
                th scope="col" { (t.what) }
                th.num scope="col" { (t.amount) }
            } }
            tbody {
                @for tx in transactions {
                    tr.cancelled[!tx.valid] {
                        @let at = tx.created_at.with_timezone(&time_zone);
                        td.when { span { (at.format("%Y-%m-%d")) } " " span { (at.format("%H:%M")) } }
                        @if with_card { td { (tx.card) } }
                        td {
                            (kind_name(lang, tx.kind))
                            @if let Some(product) = &tx.product {
                                " · " (tx.quantity) " × " (product)
                            }
                            @if !tx.valid { " (" (t.cancelled) ")" }
                        }
                        td.num { (lang.money(tx.signed_amount())) }
                    }
                }
            }
        } }
    }
}

async fn space(
    req: &HttpRequest,
    state: &WebState,
    page: &MemberPage,
    notice: Option<&str>,
    form: PreferencesForm,
    status: StatusCode,
) -> Result<HttpResponse, PageError> {
    let lang = page.lang;
    let t = lang.t();
    let w = words(lang);
    let cards = all_cards(req, state, page).await?;
    let mut recent = Vec::new();
    for (card, _) in &cards {
        let first = Page::new(Some(1), Some(RECENT as i64)).map_err(|e| page.refused(req, e))?;
        let list = state
            .me
            .history(&page.principal, &card.id, first)
            .await
            .map_err(|e| page.refused(req, e))?;
        recent.extend(list.items);
    }
    recent.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(b.id.0.cmp(&a.id.0)));
    recent.truncate(RECENT);
    let (prefs, low_balance) = match form.values {
        Some(values) => values,
        None => {
            let saved = state
                .me
                .preferences(&page.principal)
                .await
                .map_err(|e| page.refused(req, e))?;
            let text = saved
                .low_balance
                .map(|m| lang.money(m).trim_end_matches(" €").to_owned())
                .unwrap_or_default();
            (saved, text)
        }
    };
    Ok(me_page(
        req,
        page,
        status,
        w.space,
        html! {
            h1 { (w.space) }
            @if let Some(notice) = &notice {
                p.ok role="status" { (notice) }
            }
            div.me {
            div.col {
            section.card aria-labelledby="cards-title" {
                h2 #cards-title { (w.my_cards) }
                @if cards.is_empty() {
                    p.hint { (w.no_cards) }
                }
                ul.plain {
                    @for (card, card_state) in &cards {
                        li.rowitem {
                            div {
                                p.cardid id={ "card-" (card.id) } { strong { (card.id) } }
                                p.balance {
                                    span.sr-only { (t.balance) (lang.colon()) }
                                    output aria-label="Balance" { (lang.money(card.balance)) }
                                }
                                p.meta {
                                    span class={ "badge state-" (card_state_class(*card_state)) } {
                                        (card_state_text(lang, card, *card_state))
                                    }
                                    @if let Some(until) = card.valid_until {
                                        " · " (w.valid_until) " " (until.with_timezone(&state.time_zone).format("%Y-%m-%d"))
                                    }
                                }
                                p { a href={ "/me/cards/" (card.id) } aria-describedby={ "card-" (card.id) } { (w.whole_history) } }
                            }
                            @if lost_allowed(card, *card_state) {
                                form.inline method="get" action={ "/me/cards/" (card.id) "/lost" } {
                                    button.danger type="submit" aria-describedby={ "card-" (card.id) } { (w.declare_lost) }
                                }
                            }
                        }
                    }
                }
            }
            section.card aria-labelledby="history-title" {
                h2 #history-title { (w.history) }
                @if recent.is_empty() {
                    p.hint { (w.no_history) }
                } @else {
                    (history_table(lang, state.time_zone, &recent, cards.len() > 1))
                }
            }
            }
            div.col {
            section.card aria-labelledby="preferences-title" {
                h2 #preferences-title { (w.preferences) }
                @if form.saved {
                    p.ok role="status" { (w.preferences_saved) }
                }
                (preferences_form(page, &prefs, &low_balance, form.error.as_deref()))
            }
            section.card aria-labelledby="data-title" {
                h2 #data-title { (w.my_data) }
                p { (w.my_data_text) }
                p { a.button href="/me/export" download="ardoise-my-data.json" { (w.download) } }
                form.inline method="get" action="/me/delete" {
                    button.danger type="submit" { (w.delete_account) }
                }
            }
            }
            }
        },
    ))
}

fn card_state_class(state: CardState) -> &'static str {
    match state {
        CardState::Active => "active",
        CardState::Blocked => "blocked",
        CardState::Lost => "lost",
        CardState::Expired => "expired",
    }
}

/// Whether "Declare lost" is offered: a card still in use (not lost already, not replaced).
fn lost_allowed(card: &Card, state: CardState) -> bool {
    state != CardState::Lost && card.replaced_by.is_none()
}

fn preferences_form(
    page: &MemberPage,
    prefs: &Preferences,
    low_balance: &str,
    error: Option<&str>,
) -> Markup {
    let lang = page.lang;
    let w = words(lang);
    let check = |id: &str, name: &str, label: &str, checked: bool, hint: Option<&str>| {
        html! {
            div.check {
                input id=(id) type="checkbox" name=(name) value="on" checked[checked]
                    aria-describedby=[hint.map(|_| format!("{id}-hint"))];
                label for=(id) { (label) }
            }
            @if let Some(hint) = hint { p.hint id={ (id) "-hint" } { (hint) } }
        }
    };
    html! {
        form.stack method="post" action="/me/preferences" novalidate {
            input type="hidden" name="csrf" value=(page.csrf);
            fieldset {
                legend { (w.channels) }
                (check("p-email", "email", w.email_channel, prefs.channels.email, None))
                (check("p-sms", "sms", w.sms, prefs.channels.sms, None))
                (check("p-push", "push", w.push, prefs.channels.push, None))
            }
            (check("p-receipts", "receipts", w.receipts, prefs.receipts, Some(w.receipts_hint)))
            (check("p-ads", "advertisements", w.advertisements, prefs.advertisements, Some(w.advertisements_hint)))
            div.field {
                label for="p-low" { (w.low_balance) }
                input #p-low type="text" name="low_balance" value=(low_balance) inputmode="decimal"
                    autocomplete="off"
                    aria-invalid=[error.map(|_| "true")]
                    aria-describedby=(if error.is_some() { "p-low-error p-low-hint" } else { "p-low-hint" });
                p #p-low-hint .hint { (w.low_balance_hint) }
                @if let Some(e) = error { p #p-low-error .field-error { (e) } }
            }
            button.primary type="submit" { (lang.t().save) }
        }
    }
}

/// `/me`: the member's cards, their recent history, preferences and data.
async fn home(
    req: HttpRequest,
    state: web::Data<WebState>,
    page: MemberPage,
    query: web::Query<HomeQuery>,
) -> Result<HttpResponse, PageError> {
    let w = words(page.lang);
    let notice = query.lost.is_some().then_some(w.lost_done);
    let form = PreferencesForm {
        saved: query.saved.is_some(),
        ..PreferencesForm::default()
    };
    space(&req, &state, &page, notice, form, StatusCode::OK).await
}

#[derive(Deserialize)]
struct HomeQuery {
    lost: Option<String>,
    saved: Option<String>,
}

/// Saves the preferences (the whole document, as `PUT /v1/me/preferences`): a box left
/// unticked is off; a bad amount is said next to "Low balance alert" and nothing is saved.
async fn preferences(
    req: HttpRequest,
    state: web::Data<WebState>,
    page: MemberPage,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let lang = page.lang;
    let body = page.posted_form(&req, &body)?;
    let ticked = |name: &str| field(&body, name).is_some_and(|v| !v.is_empty());
    let typed = field(&body, "low_balance")
        .unwrap_or_default()
        .trim()
        .to_owned();
    let low_balance = if typed.is_empty() {
        Ok(None)
    } else {
        Money::parse(&typed.replace(',', ".")).map(Some)
    };
    let mut prefs = Preferences {
        channels: Channels {
            email: ticked("email"),
            sms: ticked("sms"),
            push: ticked("push"),
        },
        low_balance: None,
        receipts: ticked("receipts"),
        advertisements: ticked("advertisements"),
    };
    let outcome = match low_balance {
        Ok(amount) => {
            prefs.low_balance = amount;
            state.me.set_preferences(&page.principal, prefs).await
        }
        Err(_) => Err(DomainError::malformed("field `low_balance`")),
    };
    match outcome {
        Ok(_) => Ok(see_other("/me?saved=1#preferences-title")),
        Err(DomainError::Malformed(_)) => {
            let form = PreferencesForm {
                values: Some((prefs, typed)),
                error: Some(words(lang).low_balance_bad.to_owned()),
                saved: false,
            };
            space(
                &req,
                &state,
                &page,
                None,
                form,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => Err(page.refused(&req, e)),
    }
}

fn card_of(req: &HttpRequest, page: &MemberPage, text: &str) -> Result<CardId, PageError> {
    CardId::parse(text).map_err(|_| PageError::NotFound(Chrome::member(req, page)))
}

#[derive(Deserialize)]
struct HistoryQuery {
    page: Option<i64>,
}

/// `/me/cards/{card}`: one of the member's cards with its whole history, newest first, 50 a
/// page. Another member's card is the 404 page, as one that does not exist.
async fn card_history(
    req: HttpRequest,
    state: web::Data<WebState>,
    page: MemberPage,
    card: web::Path<String>,
    query: web::Query<HistoryQuery>,
) -> Result<HttpResponse, PageError> {
    let lang = page.lang;
    let t = lang.t();
    let w = words(lang);
    let id = card_of(&req, &page, &card)?;
    let number = query.page.unwrap_or(1);
    let paging = Page::new(Some(number), Some(50))
        .map_err(|_| PageError::NotFound(Chrome::member(&req, &page)))?;
    let list = state
        .me
        .history(&page.principal, &id, paging)
        .await
        .map_err(|e| page.refused(&req, e))?;
    let cards = all_cards(&req, &state, &page).await?;
    let found = cards.iter().find(|(c, _)| c.id == id);
    let title = format!("{} {id}", t.card);
    let more = list.has_next();
    Ok(me_page(
        &req,
        &page,
        StatusCode::OK,
        &title,
        html! {
            p { a href="/me" { (w.back) } }
            h1 { (title) }
            @if let Some((card, card_state)) = found {
                p.balance {
                    span.sr-only { (t.balance) (lang.colon()) }
                    output aria-label="Balance" { (lang.money(card.balance)) }
                }
                p.meta { span class={ "badge state-" (card_state_class(*card_state)) } { (card_state_text(lang, card, *card_state)) } }
            }
            h2 { (w.history) }
            @if list.items.is_empty() {
                p.hint { (w.no_history) }
            } @else {
                (history_table(lang, state.time_zone, &list.items, false))
            }
            nav.filters aria-label=(w.history) {
                @if number > 1 {
                    a href={ "/me/cards/" (id) "?page=" (number - 1) } { (w.newer) }
                }
                @if more {
                    a href={ "/me/cards/" (id) "?page=" (number + 1) } { (w.older) }
                }
            }
        },
    ))
}

/// The confirmation of "Declare lost": what it does, and the button that does it.
async fn lost_page(
    req: HttpRequest,
    state: web::Data<WebState>,
    page: MemberPage,
    card: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let lang = page.lang;
    let w = words(lang);
    let id = card_of(&req, &page, &card)?;
    // Only the member's own cards have a confirmation page.
    let cards = all_cards(&req, &state, &page).await?;
    let Some((card, card_state)) = cards.iter().find(|(c, _)| c.id == id) else {
        return Err(PageError::NotFound(Chrome::member(&req, &page)));
    };
    let t = lang.t();
    Ok(me_page(
        &req,
        &page,
        StatusCode::OK,
        w.lost_title,
        html! {
            section.card.narrow role="alertdialog" aria-labelledby="lost-title" aria-describedby="lost-text" {
                h1 #lost-title { (w.lost_title) }
                p.cardid { (t.card) " " strong { (card.id) } }
                p.balance {
                    span.sr-only { (t.balance) (lang.colon()) }
                    output aria-label="Balance" { (lang.money(card.balance)) }
                }
                p.meta { (card_state_text(lang, card, *card_state)) }
                p #lost-text { (w.lost_text) }
                form.stack method="post" action={ "/me/cards/" (card.id) "/lost" } {
                    input type="hidden" name="csrf" value=(page.csrf);
                    input type="hidden" name="confirm" value="yes";
                    button.danger type="submit" { (w.declare_lost) }
                }
                p { a href="/me" { (w.keep_card) } }
            }
        },
    ))
}

/// Declares the card lost (`MemberSpace::declare_lost`): the POS refuses it at once.
async fn lost(
    req: HttpRequest,
    state: web::Data<WebState>,
    page: MemberPage,
    card: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let body = page.posted_form(&req, &body)?;
    let id = card_of(&req, &page, &card)?;
    if field(&body, "confirm") != Some("yes") {
        // Not confirmed: ask.
        return Ok(see_other(&format!("/me/cards/{id}/lost")));
    }
    state
        .me
        .declare_lost(&page.principal, &id)
        .await
        .map_err(|e| page.refused(&req, e))?;
    Ok(see_other("/me?lost=1"))
}

/// "Download my data": the document of `GET /v1/me/export`, as a JSON file.
async fn export(
    req: HttpRequest,
    state: web::Data<WebState>,
    page: MemberPage,
) -> Result<HttpResponse, PageError> {
    let export = state
        .me
        .export(&page.principal)
        .await
        .map_err(|e| page.refused(&req, e))?;
    let body = ardoise_http::v1::export_document(export).map_err(|e| {
        tracing::error!(error = %e, "member export");
        PageError::Internal(page.lang)
    })?;
    Ok(crate::pages::secure(&mut HttpResponse::Ok())
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((
            header::CONTENT_DISPOSITION,
            "attachment; filename=\"ardoise-my-data.json\"",
        ))
        .content_type("application/json")
        .body(body))
}

/// The confirmation of "Delete my account".
async fn delete_page(req: HttpRequest, page: MemberPage) -> HttpResponse {
    let w = words(page.lang);
    me_page(
        &req,
        &page,
        StatusCode::OK,
        w.delete_title,
        html! {
            section.card.narrow role="alertdialog" aria-labelledby="delete-title" aria-describedby="delete-text" {
                h1 #delete-title { (w.delete_title) }
                p #delete-text { (w.delete_text) }
                form.stack method="post" action="/me/delete" {
                    input type="hidden" name="csrf" value=(page.csrf);
                    input type="hidden" name="confirm" value="yes";
                    button.danger type="submit" { (w.delete_account) }
                }
                p { a href="/me" { (w.keep_account) } }
            }
        },
    )
}

/// The deletion request (`MemberAccess::delete_member`, as `DELETE /v1/me`): the profile is
/// anonymised, the sessions end, the ledger keeps its amounts.
async fn delete(
    req: HttpRequest,
    state: web::Data<WebState>,
    page: MemberPage,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let body = page.posted_form(&req, &body)?;
    if field(&body, "confirm") != Some("yes") {
        return Ok(see_other("/me/delete"));
    }
    state
        .member_access
        .delete_member(&state.me, &page.principal)
        .await
        .map_err(|e| page.refused(&req, e))?;
    let mut answer = see_other("/me/login?deleted=1");
    answer
        .add_cookie(&removal(&req, MEMBER_COOKIE))
        .map_err(|_| PageError::Internal(page.lang))?;
    Ok(answer)
}

// ---------------------------------------------------------------------------------------------
// The profile

/// The profile fields a member edits on `/me/profile` (the e-mail address, their login, has
/// its own form; `notes` belong to the association).
const PROFILE_FIELDS: [ProfileField; 6] = [
    ProfileField::FirstName,
    ProfileField::LastName,
    ProfileField::DisplayName,
    ProfileField::Phone,
    ProfileField::Mobile,
    ProfileField::Keywords,
];

/// What the profile page shows: the values typed, an error per field (by field name, or
/// `email`/`password` for the address form), and what was just done.
#[derive(Default)]
struct ProfileForm {
    values: BTreeMap<&'static str, String>,
    errors: BTreeMap<&'static str, String>,
    email: String,
    done: Option<&'static str>,
}

fn profile_markup(page: &MemberPage, form: &ProfileForm) -> Markup {
    let lang = page.lang;
    let w = words(lang);
    let t = lang.t();
    let error_of = |name: &str| form.errors.get(name);
    html! {
        h1 { (w.profile) }
        @if let Some(done) = form.done {
            p.ok role="status" { (done) }
        }
        div.me {
            section.card aria-labelledby="profile-title" {
                h2 #profile-title { (w.profile) }
                form.stack method="post" action="/me/profile" novalidate {
                    input type="hidden" name="csrf" value=(page.csrf);
                    @for f in PROFILE_FIELDS {
                        @let name = f.name();
                        @let id = format!("f-{name}");
                        @let error = error_of(name);
                        div.field {
                            label for=(id) { (crate::members::label(lang, f)) }
                            input id=(id) type="text" name=(name)
                                value=(form.values.get(name).map(String::as_str).unwrap_or(""))
                                aria-invalid=[error.map(|_| "true")]
                                aria-describedby=[error.map(|_| format!("{id}-error"))];
                            @if let Some(e) = error { p id={ (id) "-error" } .field-error { (e) } }
                        }
                    }
                    button.primary type="submit" { (t.save) }
                }
            }
            section.card aria-labelledby="email-title" {
                h2 #email-title { (w.change_email) }
                p.hint { (w.change_email_hint) }
                form.stack method="post" action="/me/profile/email" novalidate {
                    input type="hidden" name="csrf" value=(page.csrf);
                    div.field {
                        label for="f-new-email" { (w.new_email) }
                        input #f-new-email type="email" name="email" value=(form.email)
                            autocomplete="email" autocapitalize="none" spellcheck="false"
                            aria-invalid=[error_of("email").map(|_| "true")]
                            aria-describedby=[error_of("email").map(|_| "f-new-email-error")];
                        @if let Some(e) = error_of("email") { p #f-new-email-error .field-error { (e) } }
                    }
                    div.field {
                        label for="f-current-password" { (w.current_password) }
                        input #f-current-password type="password" name="password"
                            autocomplete="current-password"
                            aria-invalid=[error_of("password").map(|_| "true")]
                            aria-describedby=[error_of("password").map(|_| "f-current-password-error")];
                        @if let Some(e) = error_of("password") { p #f-current-password-error .field-error { (e) } }
                    }
                    button type="submit" { (w.change_email_button) }
                }
            }
        }
    }
}

fn profile_form_of(page: &MemberPage) -> ProfileForm {
    let mut form = ProfileForm {
        email: page.member.profile.email.clone().unwrap_or_default(),
        ..ProfileForm::default()
    };
    for f in PROFILE_FIELDS {
        form.values.insert(
            f.name(),
            page.member.profile.get(f).unwrap_or("").to_owned(),
        );
    }
    form
}

#[derive(Deserialize)]
struct ProfileQuery {
    saved: Option<String>,
    email: Option<String>,
}

/// `/me/profile`: the member's names, phone numbers and keywords, and their e-mail address.
async fn profile(
    req: HttpRequest,
    page: MemberPage,
    query: web::Query<ProfileQuery>,
) -> HttpResponse {
    let w = words(page.lang);
    let mut form = profile_form_of(&page);
    form.done = if query.email.is_some() {
        Some(w.email_changed)
    } else if query.saved.is_some() {
        Some(w.profile_saved)
    } else {
        None
    };
    me_page(
        &req,
        &page,
        StatusCode::OK,
        w.profile,
        profile_markup(&page, &form),
    )
}

/// Saves the profile (`MemberSpace::edit_profile`, as `PATCH /v1/me`): a blank field is
/// unset; a refused field is said next to it and nothing changes.
async fn edit_profile(
    req: HttpRequest,
    state: web::Data<WebState>,
    page: MemberPage,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let lang = page.lang;
    let body = page.posted_form(&req, &body)?;
    let mut form = profile_form_of(&page);
    for f in PROFILE_FIELDS {
        form.values.insert(
            f.name(),
            field(&body, f.name()).unwrap_or_default().trim().to_owned(),
        );
    }
    let changes: Vec<(ProfileField, Option<&str>)> = PROFILE_FIELDS
        .iter()
        .map(|f| {
            (
                *f,
                form.values
                    .get(f.name())
                    .map(String::as_str)
                    .filter(|v| !v.is_empty()),
            )
        })
        .collect();
    match state.me.edit_profile(&page.principal, &changes).await {
        Ok(_) => Ok(see_other("/me/profile?saved=1")),
        Err(e @ DomainError::Malformed(_)) => {
            let error = lang.error(&e);
            form.errors.insert(crate::members::field_of(&e), error);
            Ok(me_page(
                &req,
                &page,
                StatusCode::UNPROCESSABLE_ENTITY,
                words(lang).profile,
                profile_markup(&page, &form),
            ))
        }
        Err(e) => Err(page.refused(&req, e)),
    }
}

/// Changes the member's e-mail address, their login, with their current password
/// (`MemberAccess::confirm_password`, throttled like logins), as `PATCH /v1/me` does.
async fn change_email(
    req: HttpRequest,
    state: web::Data<WebState>,
    page: MemberPage,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let lang = page.lang;
    let body = page.posted_form(&req, &body)?;
    let mut form = profile_form_of(&page);
    form.email = field(&body, "email").unwrap_or_default().trim().to_owned();
    let password = field(&body, "password").unwrap_or_default();
    let outcome = match state
        .member_access
        .confirm_password(&page.principal, password, source(&req))
        .await
    {
        Ok(()) => {
            state
                .me
                .edit_profile(
                    &page.principal,
                    &[(ProfileField::Email, Some(form.email.as_str()))],
                )
                .await
        }
        Err(e) => Err(e),
    };
    let (name, error) = match outcome {
        Ok(_) => return Ok(see_other("/me/profile?email=1")),
        Err(DomainError::InvalidCredentials) => ("password", words(lang).wrong.to_owned()),
        Err(e @ DomainError::TooManyAttempts { .. }) => ("password", lang.error(&e)),
        Err(DomainError::Malformed(_)) => ("email", words(lang).bad_email.to_owned()),
        Err(e @ DomainError::EmailTaken) => ("email", lang.error(&e)),
        Err(e) => return Err(page.refused(&req, e)),
    };
    form.errors.insert(name, error);
    Ok(me_page(
        &req,
        &page,
        StatusCode::UNPROCESSABLE_ENTITY,
        words(lang).profile,
        profile_markup(&page, &form),
    ))
}
