//! `/office/members` (rights ≥ 1): list, search, add, edit, link and unlink cards. The
//! profile's rules (names, e-mail, phone numbers with their country code) are the domain's.

use std::collections::BTreeMap;

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use ardoise_auth::IssuedLink;
use ardoise_domain::{CardId, DomainError, Member, MemberId, Operation, Page, ProfileField};
use maud::{html, Markup};
use serde::Deserialize;

use crate::i18n::Lang;
use crate::office::{office_page, refused};
use crate::pages::{encode, see_other, PageError};
use crate::session::StaffPage;
use crate::till::member_name;
use crate::WebState;

pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/office/members", web::get().to(list))
        .route("/office/members", web::post().to(add))
        .route("/office/members/{id}", web::get().to(show))
        .route("/office/members/{id}", web::post().to(edit))
        .route("/office/members/{id}/cards", web::post().to(cards))
        .route("/office/members/{id}/invitation", web::post().to(invite));
}

/// The fields the pages edit, with their labels.
const FIELDS: [ProfileField; 6] = [
    ProfileField::FirstName,
    ProfileField::LastName,
    ProfileField::DisplayName,
    ProfileField::Email,
    ProfileField::Phone,
    ProfileField::Notes,
];

pub(crate) fn label(lang: Lang, field: ProfileField) -> &'static str {
    match (lang, field) {
        (Lang::En, ProfileField::FirstName) => "First name",
        (Lang::En, ProfileField::LastName) => "Last name",
        (Lang::En, ProfileField::DisplayName) => "Display name",
        (Lang::En, ProfileField::Email) => "E-mail",
        (Lang::En, ProfileField::Phone) => "Phone",
        (Lang::En, ProfileField::Mobile) => "Mobile",
        (Lang::En, ProfileField::Keywords) => "Keywords",
        (Lang::En, ProfileField::Notes) => "Notes",
        (Lang::Fr, ProfileField::FirstName) => "Prénom",
        (Lang::Fr, ProfileField::LastName) => "Nom",
        (Lang::Fr, ProfileField::DisplayName) => "Nom affiché",
        (Lang::Fr, ProfileField::Email) => "Courriel",
        (Lang::Fr, ProfileField::Phone) => "Téléphone",
        (Lang::Fr, ProfileField::Mobile) => "Portable",
        (Lang::Fr, ProfileField::Keywords) => "Mots-clés",
        (Lang::Fr, ProfileField::Notes) => "Notes",
    }
}

struct Words {
    space: &'static str,
    space_hint: &'static str,
    invite: &'static str,
    link_shown_once: &'static str,
    search: &'static str,
    add: &'static str,
    none: &'static str,
    cards: &'static str,
    link: &'static str,
    unlink: &'static str,
    name: &'static str,
}

fn words(lang: Lang) -> &'static Words {
    static EN: Words = Words {
        space: "Member space",
        space_hint: "The member logs in at /me with their e-mail address. \"Invite\" makes a \
                     one-time link, valid 72 hours, with which they choose their password \
                     (a new link replaces an unused one).",
        invite: "Invite",
        link_shown_once: "Give this link to the member (it is shown only once); valid until",
        search: "Search",
        add: "Add a member",
        none: "No member found.",
        cards: "Cards",
        link: "Link",
        unlink: "Unlink",
        name: "Name",
    };
    static FR: Words = Words {
        space: "Espace membre",
        space_hint: "Le membre se connecte sur /me avec son adresse. « Inviter » crée un lien à \
                     usage unique, valable 72 heures, pour choisir son mot de passe (un nouveau \
                     lien remplace un lien non utilisé).",
        invite: "Inviter",
        link_shown_once:
            "Donnez ce lien au membre (il n'est montré qu'une fois) ; valable jusqu'au",
        search: "Rechercher",
        add: "Ajouter un membre",
        none: "Aucun membre trouvé.",
        cards: "Cartes",
        link: "Lier",
        unlink: "Délier",
        name: "Nom",
    };
    match lang {
        Lang::En => &EN,
        Lang::Fr => &FR,
    }
}

/// The form as typed and the error next to each field.
#[derive(Default)]
struct Typed {
    values: BTreeMap<&'static str, String>,
    errors: BTreeMap<&'static str, String>,
}

fn profile_fields(lang: Lang, typed: &Typed) -> Markup {
    html! {
        @for f in FIELDS {
            @let name = f.name();
            @let id = format!("f-{name}");
            @let error = typed.errors.get(name);
            div.field {
                label for=(id) { (label(lang, f)) }
                input id=(id) type=(if f == ProfileField::Email { "email" } else { "text" }) name=(name)
                    value=(typed.values.get(name).map(String::as_str).unwrap_or(""))
                    aria-invalid=[error.map(|_| "true")]
                    aria-describedby=[error.map(|_| format!("{id}-error"))];
                @if let Some(e) = error { p id={ (id) "-error" } .field-error { (e) } }
            }
        }
    }
}

/// Which field a refusal of the profile's rules names.
pub(crate) fn field_of(e: &DomainError) -> &'static str {
    if let DomainError::Malformed(text) = e {
        for f in ProfileField::ALL {
            if text.contains(&format!("`{}`", f.name())) {
                return f.name();
            }
        }
    }
    ProfileField::FirstName.name()
}

fn read(body: &[(String, String)]) -> Typed {
    let mut typed = Typed::default();
    for f in FIELDS {
        if let Some((_, v)) = body.iter().find(|(k, _)| k == f.name()) {
            typed.values.insert(f.name(), v.trim().to_owned());
        }
    }
    typed
}

fn changes(typed: &Typed) -> Vec<(ProfileField, Option<&str>)> {
    FIELDS
        .iter()
        .map(|f| {
            (
                *f,
                typed
                    .values
                    .get(f.name())
                    .map(String::as_str)
                    .filter(|v| !v.is_empty()),
            )
        })
        .collect()
}

async fn all_members(
    req: &HttpRequest,
    state: &WebState,
    page: &StaffPage,
) -> Result<Vec<Member>, PageError> {
    let mut all = Vec::new();
    let mut number = 1;
    while let Ok(p) = Page::new(Some(number), Some(500)) {
        let members = state
            .members
            .page(&page.actor, p)
            .await
            .map_err(|e| refused(req, page, e))?;
        let more = members.has_next();
        all.extend(members.items);
        if !more {
            break;
        }
        number += 1;
    }
    Ok(all)
}

#[derive(Deserialize)]
struct SearchQuery {
    q: Option<String>,
}

async fn list_page(
    req: &HttpRequest,
    state: &WebState,
    page: &StaffPage,
    q: &str,
    typed: &Typed,
    status: StatusCode,
) -> Result<HttpResponse, PageError> {
    let lang = page.lang;
    let w = words(lang);
    let needle = q.to_lowercase();
    let members: Vec<Member> = all_members(req, state, page)
        .await?
        .into_iter()
        .filter(|m| {
            needle.is_empty()
                || FIELDS.iter().any(|f| {
                    m.profile
                        .get(*f)
                        .is_some_and(|v| v.to_lowercase().contains(&needle))
                })
        })
        .collect();
    Ok(office_page(
        req,
        page,
        status,
        lang.t().members,
        html! {
            h1 { (lang.t().members) }
            form.filters method="get" action="/office/members" role="search" {
                div.field {
                    label for="f-q" { (w.search) }
                    input #f-q type="search" name="q" value=(q);
                }
                button type="submit" { (w.search) }
            }
            @if members.is_empty() {
                p.hint { (w.none) }
            } @else {
                div.table-wrap { table {
                    thead { tr {
                        th scope="col" { (w.name) }
                        th scope="col" { (label(lang, ProfileField::Email)) }
                        th scope="col" { (label(lang, ProfileField::Phone)) }
                    } }
                    tbody {
                        @for m in members.iter().take(200) {
                            tr {
                                td { a href={ "/office/members/" (m.id.0) } { (member_name(&m.profile).unwrap_or_else(|| format!("#{}", m.id.0))) } }
                                td { (m.profile.email.as_deref().unwrap_or("")) }
                                td { (m.profile.phone.as_deref().unwrap_or("")) }
                            }
                        }
                    }
                } }
            }
            h2 { (w.add) }
            form.stack.card method="post" action="/office/members" novalidate {
                input type="hidden" name="csrf" value=(page.csrf);
                (profile_fields(lang, typed))
                button.primary type="submit" { (lang.t().save) }
            }
        },
    ))
}

async fn list(
    req: HttpRequest,
    state: web::Data<WebState>,
    page: StaffPage,
    query: web::Query<SearchQuery>,
) -> Result<HttpResponse, PageError> {
    if !page.actor.may(Operation::ManageMembers) {
        return Err(PageError::forbidden(&req, &page));
    }
    let q = query.q.clone().unwrap_or_default();
    list_page(
        &req,
        &state,
        &page,
        q.trim(),
        &Typed::default(),
        StatusCode::OK,
    )
    .await
}

fn parse_body(page: &StaffPage, body: &[u8]) -> Result<Vec<(String, String)>, PageError> {
    serde_urlencoded::from_bytes(body).map_err(|_| PageError::BadForm(page.lang))
}

fn csrf_of(body: &[(String, String)]) -> Option<&str> {
    body.iter()
        .find(|(k, _)| k == "csrf")
        .map(|(_, v)| v.as_str())
}

async fn add(
    req: HttpRequest,
    state: web::Data<WebState>,
    page: StaffPage,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let body = parse_body(&page, &body)?;
    page.check_post(&req, csrf_of(&body))?;
    let mut typed = read(&body);
    match state.members.create(&page.actor, &changes(&typed)).await {
        Ok(m) => Ok(see_other(&format!("/office/members/{}", m.id.0))),
        Err(DomainError::InsufficientRights) => Err(PageError::forbidden(&req, &page)),
        Err(e @ (DomainError::StorageUnavailable | DomainError::Internal(_))) => {
            Err(PageError::from_domain(page.lang, e))
        }
        Err(e) => {
            typed.errors.insert(field_of(&e), page.lang.error(&e));
            list_page(
                &req,
                &state,
                &page,
                "",
                &typed,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
    }
}

/// What a member's page shows after a form besides the profile: the error of "Link", the
/// invitation just made (its link, shown once) or why none was.
#[derive(Default)]
struct Outcome {
    card_error: Option<String>,
    invitation: Option<Result<IssuedLink, String>>,
}

async fn member_page(
    req: &HttpRequest,
    state: &WebState,
    page: &StaffPage,
    id: MemberId,
    typed: Option<Typed>,
    outcome: Outcome,
    status: StatusCode,
) -> Result<HttpResponse, PageError> {
    let card_error = outcome.card_error;
    let lang = page.lang;
    let w = words(lang);
    let member = match state.members.member(&page.actor, id).await {
        Ok(m) => m,
        Err(DomainError::UnknownMember) => return Err(PageError::not_found(req, page)),
        Err(e) => return Err(refused(req, page, e)),
    };
    let typed = typed.unwrap_or_else(|| {
        let mut t = Typed::default();
        for f in FIELDS {
            t.values
                .insert(f.name(), member.profile.get(f).unwrap_or("").to_owned());
        }
        t
    });
    let all = Page::new(Some(1), Some(500)).map_err(|e| refused(req, page, e))?;
    let cards = state
        .members
        .cards(Some(&page.actor), id, all)
        .await
        .map_err(|e| refused(req, page, e))?;
    let title = member_name(&member.profile).unwrap_or_else(|| format!("#{}", id.0));
    let action = format!("/office/members/{}", id.0);
    Ok(office_page(
        req,
        page,
        status,
        &title,
        html! {
            h1 { (title) }
            form.stack.card method="post" action=(action) novalidate {
                input type="hidden" name="csrf" value=(page.csrf);
                (profile_fields(lang, &typed))
                button.primary type="submit" { (lang.t().save) }
            }
            h2 { (w.cards) }
            ul.plain {
                @for (card, state) in &cards.items {
                    li.rowitem {
                        span {
                            @if page.actor.may(Operation::CardDetails) {
                                a href={ "/office/cards/" (encode(card.id.as_str())) } { (card.id) }
                            } @else { (card.id) }
                            " · " (lang.state(*state))
                        }
                        form.inline method="post" action={ (action) "/cards" } {
                            input type="hidden" name="csrf" value=(page.csrf);
                            input type="hidden" name="unlink" value=(card.id);
                            button.small type="submit" aria-label={ (w.unlink) " " (card.id) } { (w.unlink) }
                        }
                    }
                }
            }
            form.filters method="post" action={ (action) "/cards" } novalidate {
                input type="hidden" name="csrf" value=(page.csrf);
                div.field {
                    label for="f-link" { (lang.t().card) }
                    input #f-link type="text" name="link" autocomplete="off"
                        aria-invalid=[card_error.as_ref().map(|_| "true")]
                        aria-describedby=[card_error.as_ref().map(|_| "f-link-error")];
                    @if let Some(e) = &card_error { p #f-link-error .field-error { (e) } }
                }
                button type="submit" { (w.link) }
            }
            h2 { (w.space) }
            p.hint { (w.space_hint) }
            @match &outcome.invitation {
                Some(Ok(issued)) => {
                    p.ok role="status" {
                        (w.link_shown_once) " "
                        (issued.expires_at.with_timezone(&state.time_zone).format("%Y-%m-%d %H:%M")) (lang.colon())
                        br;
                        code { (issued.link) }
                    }
                }
                Some(Err(e)) => { p.alert role="alert" { (e) } }
                None => {}
            }
            form.inline method="post" action={ (action) "/invitation" } {
                input type="hidden" name="csrf" value=(page.csrf);
                button type="submit" { (w.invite) }
            }
        },
    ))
}

fn member_id(req: &HttpRequest, page: &StaffPage, id: &str) -> Result<MemberId, PageError> {
    id.parse::<i64>()
        .map(MemberId)
        .map_err(|_| PageError::not_found(req, page))
}

async fn show(
    req: HttpRequest,
    state: web::Data<WebState>,
    page: StaffPage,
    id: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    if !page.actor.may(Operation::ManageMembers) {
        return Err(PageError::forbidden(&req, &page));
    }
    let id = member_id(&req, &page, &id)?;
    member_page(
        &req,
        &state,
        &page,
        id,
        None,
        Outcome::default(),
        StatusCode::OK,
    )
    .await
}

async fn edit(
    req: HttpRequest,
    state: web::Data<WebState>,
    page: StaffPage,
    id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let body = parse_body(&page, &body)?;
    page.check_post(&req, csrf_of(&body))?;
    let id = member_id(&req, &page, &id)?;
    let mut typed = read(&body);
    match state.members.edit(&page.actor, id, &changes(&typed)).await {
        Ok(_) => Ok(see_other(&format!("/office/members/{}", id.0))),
        Err(DomainError::InsufficientRights) => Err(PageError::forbidden(&req, &page)),
        Err(DomainError::UnknownMember) => Err(PageError::not_found(&req, &page)),
        Err(e @ (DomainError::StorageUnavailable | DomainError::Internal(_))) => {
            Err(PageError::from_domain(page.lang, e))
        }
        Err(e) => {
            typed.errors.insert(field_of(&e), page.lang.error(&e));
            member_page(
                &req,
                &state,
                &page,
                id,
                Some(typed),
                Outcome::default(),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
    }
}

async fn cards(
    req: HttpRequest,
    state: web::Data<WebState>,
    page: StaffPage,
    id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let body = parse_body(&page, &body)?;
    page.check_post(&req, csrf_of(&body))?;
    let id = member_id(&req, &page, &id)?;
    let value = |name: &str| {
        body.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim().to_owned())
    };
    let outcome = if let Some(text) = value("unlink") {
        match CardId::parse(&text) {
            Ok(card) => state.members.unlink_card(&page.actor, id, &card).await,
            Err(e) => Err(DomainError::malformed(e.to_string())),
        }
    } else {
        match CardId::parse(&value("link").unwrap_or_default()) {
            Ok(card) => state.members.link_card(&page.actor, id, &card).await,
            Err(e) => Err(DomainError::malformed(e.to_string())),
        }
    };
    match outcome {
        Ok(()) => Ok(see_other(&format!("/office/members/{}", id.0))),
        Err(DomainError::InsufficientRights) => Err(PageError::forbidden(&req, &page)),
        Err(DomainError::UnknownMember) => Err(PageError::not_found(&req, &page)),
        Err(e @ (DomainError::StorageUnavailable | DomainError::Internal(_))) => {
            Err(PageError::from_domain(page.lang, e))
        }
        Err(e) => {
            member_page(
                &req,
                &state,
                &page,
                id,
                None,
                Outcome {
                    card_error: Some(page.lang.error(&e)),
                    invitation: None,
                },
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
    }
}

/// "Invite": a one-time link for the member's space, shown here once
/// (`MemberAccess::invite`, as `POST /v1/members/{member}/invitation`).
async fn invite(
    req: HttpRequest,
    state: web::Data<WebState>,
    page: StaffPage,
    id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let body = parse_body(&page, &body)?;
    page.check_post(&req, csrf_of(&body))?;
    let id = member_id(&req, &page, &id)?;
    let base = match &state.public_url {
        Some(url) => url.clone(),
        None => {
            let info = req.connection_info();
            format!("{}://{}", info.scheme(), info.host())
        }
    };
    let (invitation, status) = match state.member_access.invite(&page.actor, id, &base).await {
        Ok(issued) => (Ok(issued), StatusCode::OK),
        Err(DomainError::InsufficientRights) => return Err(PageError::forbidden(&req, &page)),
        Err(DomainError::UnknownMember) => return Err(PageError::not_found(&req, &page)),
        Err(e @ (DomainError::StorageUnavailable | DomainError::Internal(_))) => {
            return Err(PageError::from_domain(page.lang, e))
        }
        Err(e) => (Err(page.lang.error(&e)), StatusCode::UNPROCESSABLE_ENTITY),
    };
    member_page(
        &req,
        &state,
        &page,
        id,
        None,
        Outcome {
            card_error: None,
            invitation: Some(invitation),
        },
        status,
    )
    .await
}
