//! `/office/partners` (rights 3): the OAuth2 partners — list, add (the client secret shown
//! once), rotate the secret, disable. The registry's rules are `ardoise-auth`'s.

use std::collections::BTreeMap;

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use ardoise_domain::{DomainError, Money, Operation};
use maud::{html, Markup};
use serde::Deserialize;

use crate::i18n::Lang;
use crate::office::{office_page, refused};
use crate::pages::{encode, see_other, PageError};
use crate::session::StaffPage;
use crate::WebState;

pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/office/partners", web::get().to(list))
        .route("/office/partners", web::post().to(add))
        .route("/office/partners/{id}", web::post().to(change));
}

struct Words {
    client_id: &'static str,
    name: &'static str,
    scopes: &'static str,
    scopes_hint: &'static str,
    cap_operation: &'static str,
    cap_day: &'static str,
    basic: &'static str,
    state: &'static str,
    active: &'static str,
    disabled: &'static str,
    add: &'static str,
    rotate: &'static str,
    disable: &'static str,
    secret_once: &'static str,
    none: &'static str,
}

fn words(lang: Lang) -> &'static Words {
    static EN: Words = Words {
        client_id: "Client id",
        name: "Name",
        scopes: "Scopes",
        scopes_hint: "Space-separated, e.g. cards:read cards:credit",
        cap_operation: "Credit cap per operation",
        cap_day: "Credit cap per day",
        basic: "Allow HTTP Basic",
        state: "State",
        active: "active",
        disabled: "disabled",
        add: "Add a partner",
        rotate: "Rotate the secret",
        disable: "Disable",
        secret_once: "Copy the secret now: it is shown only once.",
        none: "None yet.",
    };
    static FR: Words = Words {
        client_id: "Identifiant client",
        name: "Nom",
        scopes: "Portées",
        scopes_hint: "Séparées par des espaces, ex. cards:read cards:credit",
        cap_operation: "Plafond de crédit par opération",
        cap_day: "Plafond de crédit par jour",
        basic: "Autoriser HTTP Basic",
        state: "État",
        active: "actif",
        disabled: "désactivé",
        add: "Ajouter un partenaire",
        rotate: "Changer le secret",
        disable: "Désactiver",
        secret_once: "Copiez le secret maintenant : il n'est montré qu'une fois.",
        none: "Aucun pour l'instant.",
    };
    match lang {
        Lang::En => &EN,
        Lang::Fr => &FR,
    }
}

#[derive(Default)]
struct Typed {
    name: String,
    scopes: String,
    cap_operation: String,
    cap_day: String,
    basic: bool,
    errors: BTreeMap<&'static str, String>,
}

fn text_field(
    errors: &BTreeMap<&'static str, String>,
    name: &'static str,
    label: &str,
    value: &str,
    hint: Option<&str>,
) -> Markup {
    let id = format!("f-{name}");
    let error = errors.get(name);
    let described = match (error, hint) {
        (Some(_), _) => Some(format!("{id}-error")),
        (None, Some(_)) => Some(format!("{id}-hint")),
        _ => None,
    };
    html! {
        div.field {
            label for=(id) { (label) }
            input id=(id) type="text" name=(name) value=(value)
                aria-invalid=[error.map(|_| "true")] aria-describedby=[described];
            @if let (Some(h), None) = (hint, error) { small id={ (id) "-hint" } .hint { (h) } }
            @if let Some(e) = error { p id={ (id) "-error" } .field-error { (e) } }
        }
    }
}

async fn page_of(
    req: &HttpRequest,
    state: &WebState,
    page: &StaffPage,
    typed: &Typed,
    secret: Option<(String, String)>,
    status: StatusCode,
) -> Result<HttpResponse, PageError> {
    let lang = page.lang;
    let w = words(lang);
    let admin = state
        .oauth
        .admin(&page.actor)
        .map_err(|e| refused(req, page, e))?;
    let partners = admin.list().await.map_err(|e| refused(req, page, e))?;
    Ok(office_page(
        req,
        page,
        status,
        lang.t().partners,
        html! {
            h1 { (lang.t().partners) }
            @if let Some((id, secret)) = &secret {
                div.ok role="status" {
                    p { (w.secret_once) }
                    p { (w.client_id) (lang.colon()) code { (id) } }
                    p { "client_secret" (lang.colon()) code.secret { (secret) } }
                }
            }
            @if partners.is_empty() {
                p.hint { (w.none) }
            } @else {
                div.table-wrap { table {
                    thead { tr {
                        th scope="col" { (w.name) }
                        th scope="col" { (w.client_id) }
                        th scope="col" { (w.scopes) }
                        th.num scope="col" { (w.cap_operation) }
                        th.num scope="col" { (w.cap_day) }
                        th scope="col" { (w.state) }
                        th scope="col" {}
                    } }
                    tbody {
                        @for p in &partners {
                            @let action = format!("/office/partners/{}", encode(&p.client_id));
                            tr {
                                td { (p.name) }
                                td { code { (p.client_id) } }
                                td { (p.scopes.join(" ")) }
                                td.num { (lang.money(p.credit_cap_operation)) }
                                td.num { (lang.money(p.credit_cap_day)) }
                                td { (if p.active { w.active } else { w.disabled }) }
                                td {
                                    @if p.active {
                                        form.inline method="post" action=(action) {
                                            input type="hidden" name="csrf" value=(page.csrf);
                                            input type="hidden" name="action" value="rotate";
                                            button.small type="submit" aria-label={ (w.rotate) " " (p.name) } { (w.rotate) }
                                        }
                                        " "
                                        form.inline method="post" action=(action) {
                                            input type="hidden" name="csrf" value=(page.csrf);
                                            input type="hidden" name="action" value="disable";
                                            button.small.danger type="submit" aria-label={ (w.disable) " " (p.name) } { (w.disable) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                } }
            }
            h2 { (w.add) }
            form.stack.card method="post" action="/office/partners" novalidate {
                input type="hidden" name="csrf" value=(page.csrf);
                (text_field(&typed.errors, "name", w.name, &typed.name, None))
                (text_field(&typed.errors, "scopes", w.scopes, &typed.scopes, Some(w.scopes_hint)))
                (text_field(&typed.errors, "cap_operation", w.cap_operation, &typed.cap_operation, None))
                (text_field(&typed.errors, "cap_day", w.cap_day, &typed.cap_day, None))
                div.check {
                    input #f-basic type="checkbox" name="allow_basic" value="true" checked[typed.basic];
                    label for="f-basic" { (w.basic) }
                }
                button.primary type="submit" { (lang.t().save) }
            }
        },
    ))
}

async fn list(
    req: HttpRequest,
    state: web::Data<WebState>,
    page: StaffPage,
) -> Result<HttpResponse, PageError> {
    if !page.actor.may(Operation::ManagePartners) {
        return Err(PageError::forbidden(&req, &page));
    }
    page_of(&req, &state, &page, &Typed::default(), None, StatusCode::OK).await
}

#[derive(Deserialize)]
struct AddBody {
    csrf: Option<String>,
    name: Option<String>,
    scopes: Option<String>,
    cap_operation: Option<String>,
    cap_day: Option<String>,
    allow_basic: Option<String>,
}

/// An optional cap: empty keeps the server's default.
fn cap(lang: Lang, text: &str) -> Result<Option<Money>, String> {
    if text.trim().is_empty() {
        return Ok(None);
    }
    Money::parse(&text.trim().replace(',', "."))
        .map(Some)
        .map_err(|_| lang.t().need_amount.to_owned())
}

async fn add(
    req: HttpRequest,
    state: web::Data<WebState>,
    page: StaffPage,
    body: web::Form<AddBody>,
) -> Result<HttpResponse, PageError> {
    page.check_post(&req, body.csrf.as_deref())?;
    if !page.actor.may(Operation::ManagePartners) {
        return Err(PageError::forbidden(&req, &page));
    }
    let lang = page.lang;
    let mut typed = Typed {
        name: body.name.clone().unwrap_or_default().trim().to_owned(),
        scopes: body.scopes.clone().unwrap_or_default().trim().to_owned(),
        cap_operation: body.cap_operation.clone().unwrap_or_default(),
        cap_day: body.cap_day.clone().unwrap_or_default(),
        basic: body.allow_basic.as_deref() == Some("true"),
        errors: BTreeMap::new(),
    };
    let cap_operation = cap(lang, &typed.cap_operation)
        .map_err(|e| typed.errors.insert("cap_operation", e))
        .ok();
    let cap_day = cap(lang, &typed.cap_day)
        .map_err(|e| typed.errors.insert("cap_day", e))
        .ok();
    if let (Some(cap_operation), Some(cap_day)) = (cap_operation, cap_day) {
        let admin = state
            .oauth
            .admin(&page.actor)
            .map_err(|e| refused(&req, &page, e))?;
        match admin
            .register(
                &typed.name,
                &typed.scopes,
                typed.basic,
                cap_operation,
                cap_day,
            )
            .await
        {
            Ok(credentials) => {
                return page_of(
                    &req,
                    &state,
                    &page,
                    &Typed::default(),
                    Some((credentials.client_id, credentials.client_secret)),
                    StatusCode::OK,
                )
                .await
            }
            Err(e @ (DomainError::StorageUnavailable | DomainError::Internal(_))) => {
                return Err(PageError::from_domain(lang, e))
            }
            Err(e) => {
                let at = match &e {
                    DomainError::Malformed(t) if t.contains("scope") => "scopes",
                    DomainError::Malformed(t) if t.contains("cap") && t.contains("day") => {
                        "cap_day"
                    }
                    DomainError::Malformed(t) if t.contains("cap") => "cap_operation",
                    _ => "name",
                };
                typed.errors.insert(at, lang.error(&e));
            }
        }
    }
    page_of(
        &req,
        &state,
        &page,
        &typed,
        None,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await
}

#[derive(Deserialize)]
struct ChangeBody {
    csrf: Option<String>,
    action: Option<String>,
}

async fn change(
    req: HttpRequest,
    state: web::Data<WebState>,
    page: StaffPage,
    id: web::Path<String>,
    body: web::Form<ChangeBody>,
) -> Result<HttpResponse, PageError> {
    page.check_post(&req, body.csrf.as_deref())?;
    let admin = state
        .oauth
        .admin(&page.actor)
        .map_err(|e| refused(&req, &page, e))?;
    let outcome = match body.action.as_deref() {
        Some("rotate") => admin.rotate_secret(&id).await.map(Some),
        Some("disable") => admin.disable(&id).await.map(|()| None),
        _ => Err(DomainError::malformed("field `action`")),
    };
    match outcome {
        Ok(Some(secret)) => {
            page_of(
                &req,
                &state,
                &page,
                &Typed::default(),
                Some((id.to_string(), secret)),
                StatusCode::OK,
            )
            .await
        }
        Ok(None) => Ok(see_other("/office/partners")),
        Err(DomainError::UnknownPartner) => Err(PageError::not_found(&req, &page)),
        Err(e) => Err(refused(&req, &page, e)),
    }
}
