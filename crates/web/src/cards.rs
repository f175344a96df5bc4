//! `/office/cards` (rights ≥ 2): search by id or member name, a card's page with its whole
//! history, block, lost, unblock, end of validity, overdraft (rights 3), replacement.

use std::collections::BTreeMap;

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use ardoise_auth::token_hash;
use ardoise_domain::{
    Card, CardId, CardStatus, DomainError, MemberId, Money, Operation, Page, StaffMove,
};
use chrono::NaiveDate;
use maud::{html, Markup};
use serde::Deserialize;

use crate::i18n::Lang;
use crate::office::{office_page, refused};
use crate::pages::{encode, see_other, PageError};
use crate::session::StaffPage;
use crate::till::{kind_name, member_name, one_time_key};
use crate::WebState;

pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/office/cards", web::get().to(search))
        .route("/office/cards/{id}", web::get().to(card))
        .route("/office/cards/{id}", web::post().to(change));
}

struct Words {
    search: &'static str,
    search_hint: &'static str,
    none: &'static str,
    balance: &'static str,
    status: &'static str,
    member: &'static str,
    overdraft: &'static str,
    valid_until: &'static str,
    valid_until_hint: &'static str,
    block: &'static str,
    lost: &'static str,
    unblock: &'static str,
    save: &'static str,
    new_card: &'static str,
    replace: &'static str,
    history: &'static str,
    replaced_by: &'static str,
    done: &'static str,
}

fn words(lang: Lang) -> &'static Words {
    static EN: Words = Words {
        search: "Search",
        search_hint: "A card id, or part of a member's name.",
        none: "No card found.",
        balance: "Balance",
        status: "Status",
        member: "Member",
        overdraft: "Overdraft limit",
        valid_until: "Valid until",
        valid_until_hint: "The last day the card may be used; empty: no end.",
        block: "Block",
        lost: "Mark lost",
        unblock: "Unblock",
        save: "Save",
        new_card: "New card id",
        replace: "Replace",
        history: "History",
        replaced_by: "Replaced by",
        done: "Saved.",
    };
    static FR: Words = Words {
        search: "Rechercher",
        search_hint: "Un numéro de carte, ou une partie du nom d'un membre.",
        none: "Aucune carte trouvée.",
        balance: "Solde",
        status: "État",
        member: "Membre",
        overdraft: "Découvert autorisé",
        valid_until: "Valable jusqu'au",
        valid_until_hint: "Le dernier jour où la carte peut servir ; vide : sans fin.",
        block: "Bloquer",
        lost: "Déclarer perdue",
        unblock: "Débloquer",
        save: "Enregistrer",
        new_card: "Numéro de la nouvelle carte",
        replace: "Remplacer",
        history: "Historique",
        replaced_by: "Remplacée par",
        done: "Enregistré.",
    };
    match lang {
        Lang::En => &EN,
        Lang::Fr => &FR,
    }
}

#[derive(Deserialize)]
struct SearchQuery {
    q: Option<String>,
}

/// The members' names by id, for the search and the pages (empty without the rights).
async fn member_names(state: &WebState, page: &StaffPage) -> BTreeMap<MemberId, String> {
    let mut names = BTreeMap::new();
    if !page.actor.may(Operation::ManageMembers) {
        return names;
    }
    let mut number = 1;
    while let Ok(p) = Page::new(Some(number), Some(500)) {
        let Ok(members) = state.members.page(&page.actor, p).await else {
            break;
        };
        for m in &members.items {
            if let Some(name) = member_name(&m.profile) {
                names.insert(m.id, name);
            }
        }
        if !members.has_next() {
            break;
        }
        number += 1;
    }
    names
}

async fn search(
    req: HttpRequest,
    state: web::Data<WebState>,
    page: StaffPage,
    query: web::Query<SearchQuery>,
) -> Result<HttpResponse, PageError> {
    if !page.actor.may(Operation::ListCards) {
        return Err(PageError::forbidden(&req, &page));
    }
    let lang = page.lang;
    let w = words(lang);
    let q = query.q.clone().unwrap_or_default().trim().to_owned();
    let all = Page::new(Some(1), Some(500)).map_err(|e| refused(&req, &page, e))?;
    let cards = state
        .bar
        .card_page(&page.actor, all)
        .await
        .map_err(|e| refused(&req, &page, e))?;
    let names = member_names(&state, &page).await;
    let needle = q.to_lowercase();
    let found: Vec<&Card> = cards
        .items
        .iter()
        .filter(|c| {
            needle.is_empty()
                || c.id.as_str().to_lowercase().contains(&needle)
                || c.member
                    .and_then(|m| names.get(&m))
                    .is_some_and(|n| n.to_lowercase().contains(&needle))
        })
        .collect();
    let now = chrono::Utc::now();
    Ok(office_page(
        &req,
        &page,
        StatusCode::OK,
        lang.t().cards,
        html! {
            h1 { (lang.t().cards) }
            form.filters method="get" action="/office/cards" role="search" {
                div.field {
                    label for="f-q" { (w.search) }
                    input #f-q type="search" name="q" value=(q) aria-describedby="f-q-hint";
                    small #f-q-hint .hint { (w.search_hint) }
                }
                button type="submit" { (w.search) }
            }
            @if found.is_empty() {
                p.hint { (w.none) }
            } @else {
                div.table-wrap { table {
                    thead { tr {
                        th scope="col" { (lang.t().card) }
                        th.num scope="col" { (w.balance) }
                        th scope="col" { (w.status) }
                        th scope="col" { (w.member) }
                    } }
                    tbody {
                        @for c in found.iter().take(200) {
                            tr {
                                td { a href={ "/office/cards/" (encode(c.id.as_str())) } { (c.id) } }
                                td.num { (lang.money(c.balance)) }
                                td { (lang.state(c.state_at(now))) }
                                td { (c.member.and_then(|m| names.get(&m)).map(String::as_str).unwrap_or("")) }
                            }
                        }
                    }
                } }
            }
        },
    ))
}

fn card_id(req: &HttpRequest, page: &StaffPage, id: &str) -> Result<CardId, PageError> {
    CardId::parse(id).map_err(|_| PageError::not_found(req, page))
}

async fn card_page(
    req: &HttpRequest,
    state: &WebState,
    page: &StaffPage,
    id: &CardId,
    outcome: Option<Result<String, String>>,
    errors: &BTreeMap<&'static str, String>,
) -> Result<HttpResponse, PageError> {
    let lang = page.lang;
    let w = words(lang);
    let sheet = match state.bar.card_sheet(&page.actor, id).await {
        Ok(sheet) => sheet,
        Err(DomainError::UnknownCard) => return Err(PageError::not_found(req, page)),
        Err(e) => return Err(refused(req, page, e)),
    };
    let card = &sheet.card;
    let member = match card.member {
        Some(m) => state
            .members
            .member(&page.actor, m)
            .await
            .ok()
            .and_then(|m| member_name(&m.profile)),
        None => None,
    };
    let now = chrono::Utc::now();
    let tz = state.time_zone;
    let action = format!("/office/cards/{}", encode(id.as_str()));
    let valid_until = card
        .valid_until
        .map(|d| {
            (d.with_timezone(&tz) - chrono::Duration::seconds(1))
                .date_naive()
                .to_string()
        })
        .unwrap_or_default();
    let status = if outcome.as_ref().is_some_and(|o| o.is_err()) {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let mut history = sheet.transactions.clone();
    history.reverse();
    let field_error = |name: &str| errors.get(name).cloned();
    Ok(office_page(
        req,
        page,
        status,
        id.as_str(),
        html! {
            h1 { (lang.t().card) " " (id) }
            @match &outcome {
                Some(Ok(text)) => p.ok role="status" { (text) },
                Some(Err(text)) => p.alert role="alert" { (text) },
                None => {},
            }
            dl.figures {
                div { dt { (w.balance) } dd { output aria-label=(w.balance) { (lang.money(card.balance)) } } }
                div { dt { (w.status) } dd { (lang.state(card.state_at(now))) } }
                @if sheet.show_overdraft {
                    div { dt { (w.overdraft) } dd { (lang.money(card.overdraft_limit)) } }
                }
                @if let Some(m) = &member { div { dt { (w.member) } dd { (m) } } }
                @if let Some(by) = &card.replaced_by { div { dt { (w.replaced_by) } dd { a href={ "/office/cards/" (encode(by.as_str())) } { (by) } } } }
            }
            @if card.replaced_by.is_none() {
                div.actions.noprint {
                    @if card.status == CardStatus::Active {
                        @if page.actor.may(Operation::BlockCard) {
                            (status_form(&action, page, "blocked", w.block))
                            (status_form(&action, page, "lost", w.lost))
                        }
                    } @else if page.actor.may(Operation::UnblockCard) {
                        (status_form(&action, page, "active", w.unblock))
                    }
                }
                @if page.actor.may(Operation::SetCardValidity) {
                    form.stack.card method="post" action=(action) novalidate {
                        input type="hidden" name="csrf" value=(page.csrf);
                        input type="hidden" name="action" value="valid_until";
                        (field("valid_until", w.valid_until, &valid_until, "date", Some(w.valid_until_hint), field_error("valid_until")))
                        button type="submit" { (w.save) }
                    }
                }
                @if page.actor.may(Operation::SetOverdraft) {
                    form.stack.card method="post" action=(action) novalidate {
                        input type="hidden" name="csrf" value=(page.csrf);
                        input type="hidden" name="action" value="overdraft";
                        (field("limit", w.overdraft, &card.overdraft_limit.to_fixed2(), "text", None, field_error("limit")))
                        button type="submit" { (w.save) }
                    }
                }
                @if page.actor.may(Operation::ReplaceCard) {
                    form.stack.card method="post" action=(action) novalidate {
                        input type="hidden" name="csrf" value=(page.csrf);
                        input type="hidden" name="key" value=(one_time_key());
                        input type="hidden" name="action" value="replace";
                        (field("new_card", w.new_card, "", "text", None, field_error("new_card")))
                        button type="submit" { (w.replace) }
                    }
                }
            }
            h2 { (w.history) }
            div.table-wrap { table {
                thead { tr {
                    th scope="col" { (lang.t().when) }
                    th scope="col" { (lang.t().what) }
                    th.num scope="col" { (lang.t().amount) }
                    th scope="col" { (lang.t().by) }
                } }
                tbody {
                    @for tx in &history {
                        tr.cancelled[!tx.valid] {
                            td { (tx.created_at.with_timezone(&tz).format("%Y-%m-%d %H:%M")) }
                            td {
                                (kind_name(lang, tx.kind))
                                @if let Some(p) = &tx.product { " · " (tx.quantity) " × " (p) }
                                @if !tx.valid { " · " (lang.t().cancelled) }
                            }
                            td.num { (lang.money(tx.amount)) }
                            td { (tx.author) }
                        }
                    }
                }
            } }
        },
    ))
}

fn status_form(action: &str, page: &StaffPage, status: &str, label: &str) -> Markup {
    html! {
        form.inline method="post" action=(action) {
            input type="hidden" name="csrf" value=(page.csrf);
            input type="hidden" name="action" value="status";
            input type="hidden" name="status" value=(status);
            button.danger[status != "active"] type="submit" { (label) }
        }
    }
}

fn field(
    name: &str,
    label: &str,
    value: &str,
    kind: &str,
    hint: Option<&str>,
    error: Option<String>,
) -> Markup {
    let id = format!("f-{name}");
    let described = if error.is_some() {
        Some(format!("{id}-error"))
    } else {
        hint.map(|_| format!("{id}-hint"))
    };
    html! {
        div.field {
            label for=(id) { (label) }
            input id=(id) type=(kind) name=(name) value=(value)
                aria-invalid=[error.as_ref().map(|_| "true")] aria-describedby=[described];
            @if let (Some(hint), None) = (hint, &error) { small id={ (id) "-hint" } .hint { (hint) } }
            @if let Some(e) = &error { p id={ (id) "-error" } .field-error { (e) } }
        }
    }
}

async fn card(
    req: HttpRequest,
    state: web::Data<WebState>,
    page: StaffPage,
    id: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    if !page.actor.may(Operation::CardDetails) {
        return Err(PageError::forbidden(&req, &page));
    }
    let id = card_id(&req, &page, &id)?;
    card_page(&req, &state, &page, &id, None, &BTreeMap::new()).await
}

#[derive(Deserialize)]
struct ChangeBody {
    csrf: Option<String>,
    key: Option<String>,
    action: Option<String>,
    status: Option<String>,
    valid_until: Option<String>,
    limit: Option<String>,
    new_card: Option<String>,
}

async fn change(
    req: HttpRequest,
    state: web::Data<WebState>,
    page: StaffPage,
    id: web::Path<String>,
    body: web::Form<ChangeBody>,
) -> Result<HttpResponse, PageError> {
    page.check_post(&req, body.csrf.as_deref())?;
    let lang = page.lang;
    let id = card_id(&req, &page, &id)?;
    let actor = &page.actor;
    let mut errors = BTreeMap::new();
    let outcome: Option<Result<(), DomainError>> = match body.action.as_deref() {
        Some("status") => match body.status.as_deref().and_then(CardStatus::parse) {
            Some(status) => Some(
                state
                    .bar
                    .set_card_status(actor, &id, status)
                    .await
                    .map(|_| ()),
            ),
            None => Some(Err(DomainError::malformed("field `status`"))),
        },
        Some("valid_until") => {
            let text = body.valid_until.clone().unwrap_or_default();
            if text.trim().is_empty() {
                Some(
                    state
                        .bar
                        .set_valid_until(actor, &id, None)
                        .await
                        .map(|_| ()),
                )
            } else {
                match NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d") {
                    Ok(day) => {
                        // Valid through that whole day in the bar's time zone.
                        let end = crate::reports::start_of(
                            state.time_zone,
                            day.succ_opt().unwrap_or(day),
                        );
                        Some(
                            state
                                .bar
                                .set_valid_until(actor, &id, Some(end))
                                .await
                                .map(|_| ()),
                        )
                    }
                    Err(_) => {
                        errors.insert(
                            "valid_until",
                            match lang {
                                Lang::En => "Type a date such as 2026-12-31.",
                                Lang::Fr => "Tapez une date comme 2026-12-31.",
                            }
                            .to_owned(),
                        );
                        None
                    }
                }
            }
        }
        Some("overdraft") => {
            let text = body.limit.clone().unwrap_or_default().replace(',', ".");
            match Money::parse(text.trim()) {
                Ok(limit) => Some(
                    state
                        .bar
                        .set_overdraft(actor, &id, Some(limit))
                        .await
                        .map(|_| ()),
                ),
                Err(_) => {
                    errors.insert("limit", lang.t().need_amount.to_owned());
                    None
                }
            }
        }
        Some("replace") => {
            let text = body.new_card.clone().unwrap_or_default();
            match CardId::parse(text.trim()) {
                Ok(new_card) => {
                    let request = StaffMove::Replace {
                        card: id.clone(),
                        new_card: new_card.clone(),
                    };
                    let key = body.key.clone().filter(|k| !k.is_empty()).map(|k| {
                        let hash =
                            token_hash(&format!("POST /office/cards\n{}", request.fingerprint()));
                        (format!("web-{k}"), hash)
                    });
                    match state.bar.staff_once(actor, request, key).await {
                        Ok(_) => {
                            return Ok(see_other(&format!(
                                "/office/cards/{}",
                                encode(new_card.as_str())
                            )))
                        }
                        Err(e @ (DomainError::CardExists | DomainError::Malformed(_))) => {
                            errors.insert("new_card", lang.error(&e));
                            None
                        }
                        Err(e) => Some(Err(e)),
                    }
                }
                Err(e) => {
                    errors.insert(
                        "new_card",
                        lang.error(&DomainError::malformed(e.to_string())),
                    );
                    None
                }
            }
        }
        _ => Some(Err(DomainError::malformed("field `action`"))),
    };
    let shown = match outcome {
        Some(Ok(())) => Some(Ok(words(lang).done.to_owned())),
        Some(Err(DomainError::InsufficientRights)) => {
            return Err(PageError::forbidden(&req, &page))
        }
        Some(Err(DomainError::UnknownCard)) => return Err(PageError::not_found(&req, &page)),
        Some(Err(e @ (DomainError::StorageUnavailable | DomainError::Internal(_)))) => {
            return Err(PageError::from_domain(lang, e))
        }
        Some(Err(e)) => Some(Err(lang.error(&e))),
        None => Some(Err(match lang {
            Lang::En => "Nothing was changed: see the field below.".to_owned(),
            Lang::Fr => "Rien n'a changé : voyez le champ ci-dessous.".to_owned(),
        })),
    };
    card_page(&req, &state, &page, &id, shown, &errors).await
}
