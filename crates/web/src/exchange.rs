//! The members' exchange in the member space (`exchange.md`), behind the members' login:
//! `/me/exchange` (the open offers and requests, filtered by category, kind and words),
//! publishing, an offer's page (write to its author, pay them; its author edits or closes it),
//! the member's conversations with their unread counts, a conversation (its messages, oldest
//! first, marked read; answer; report), and "Pay" a member: a form, a confirmation page, the
//! receipt. Every page calls one use case of `Exchange` with the member's principal; a
//! conversation that is not the member's is the 404 page, as one that does not exist. The
//! pages are the 404 page when `exchange.enabled` is off.
//!
//! A payment's form carries a one-time key, sent to `Exchange::transfer` as the
//! `Idempotency-Key` of `/v1`: a double submit or a resent confirmation moves the money once
//! and shows the same receipt.

use std::collections::BTreeMap;

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use ardoise_auth::token_hash;
use ardoise_domain::exchange::{
    checked_text, Conversation, ConversationView, Message, Offer, OfferDraft, OfferFilter,
    OfferKind, Transfer, TransferRequest, MAX_NOTE, MAX_TEXT,
};
use ardoise_domain::{
    Card, CardId, CardState, Category, DomainError, Exchange, MemberId, Money, Page, TransactionId,
};
use chrono::NaiveDate;
use maud::{html, Markup};
use serde::Deserialize;

use crate::i18n::Lang;
use crate::me::{all_cards, field, me_page};
use crate::pages::{see_other, Chrome, PageError};
use crate::session::MemberPage;
use crate::till::one_time_key;
use crate::WebState;

pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/me/exchange", web::get().to(offers))
        .route("/me/exchange/new", web::get().to(new_offer))
        .route("/me/exchange/new", web::post().to(publish))
        .route("/me/exchange/offers/{id}", web::get().to(offer))
        .route("/me/exchange/offers/{id}/edit", web::get().to(edit_page))
        .route("/me/exchange/offers/{id}/edit", web::post().to(edit))
        .route("/me/exchange/offers/{id}/close", web::get().to(close_page))
        .route("/me/exchange/offers/{id}/close", web::post().to(close))
        .route("/me/exchange/offers/{id}/write", web::post().to(write))
        .route("/me/exchange/conversations", web::get().to(conversations))
        .route(
            "/me/exchange/conversations/{id}",
            web::get().to(conversation),
        )
        .route("/me/exchange/conversations/{id}", web::post().to(answer))
        .route(
            "/me/exchange/conversations/{id}/report",
            web::get().to(report_page),
        )
        .route(
            "/me/exchange/conversations/{id}/report",
            web::post().to(report),
        )
        .route("/me/exchange/pay", web::get().to(pay_page))
        .route("/me/exchange/pay", web::post().to(pay))
        .route("/me/exchange/transfers/{id}", web::get().to(receipt));
}

/// The exchange's texts. The English names of controls are a contract (`docs/web.md`):
/// acceptance tests find them by role and accessible name.
struct Words {
    title: &'static str,
    intro: &'static str,
    offers: &'static str,
    category: &'static str,
    any_category: &'static str,
    kind: &'static str,
    any_kind: &'static str,
    offer: &'static str,
    request: &'static str,
    words: &'static str,
    search: &'static str,
    none: &'static str,
    publish: &'static str,
    publish_title: &'static str,
    edit_title: &'static str,
    description: &'static str,
    wished_from: &'static str,
    wished_until: &'static str,
    price: &'static str,
    price_hint: &'static str,
    bad_date: &'static str,
    bad_price: &'static str,
    by: &'static str,
    wished: &'static str,
    open: &'static str,
    closed: &'static str,
    published: &'static str,
    edited: &'static str,
    yours: &'static str,
    edit: &'static str,
    close: &'static str,
    close_title: &'static str,
    close_text: &'static str,
    close_button: &'static str,
    keep_open: &'static str,
    closed_done: &'static str,
    write_title: &'static str,
    message: &'static str,
    write: &'static str,
    pay: &'static str,
    conversations: &'static str,
    messages: &'static str,
    no_conversations: &'static str,
    unread: &'static str,
    conversation_with: &'static str,
    about: &'static str,
    you: &'static str,
    no_messages: &'static str,
    hidden: &'static str,
    send: &'static str,
    earlier: &'static str,
    later: &'static str,
    report: &'static str,
    report_title: &'static str,
    report_text: &'static str,
    report_button: &'static str,
    keep_quiet: &'static str,
    reported: &'static str,
    pay_title: &'static str,
    pay_intro: &'static str,
    amount: &'static str,
    amount_hint: &'static str,
    bad_amount: &'static str,
    note: &'static str,
    note_hint: &'static str,
    for_offer: &'static str,
    from_card: &'static str,
    confirm_title: &'static str,
    confirm_text: &'static str,
    confirm: &'static str,
    change: &'static str,
    receipt_title: &'static str,
    paid: &'static str,
    received: &'static str,
    to: &'static str,
    from: &'static str,
    status: &'static str,
    done: &'static str,
    cancelled: &'static str,
    when: &'static str,
    your_balance: &'static str,
    history: &'static str,
    suspended: &'static str,
    back: &'static str,
}

static EN: Words = Words {
    title: "Exchange",
    intro: "Services offered and asked between members, paid from card to card.",
    offers: "Offers and requests",
    category: "Category",
    any_category: "All categories",
    kind: "Kind",
    any_kind: "Offers and requests",
    offer: "Offer",
    request: "Request",
    words: "Words",
    search: "Search",
    none: "No open offer or request matches.",
    publish: "Publish an offer or a request",
    publish_title: "Publish an offer or a request",
    edit_title: "Edit",
    description: "Description",
    wished_from: "Wished from",
    wished_until: "Wished until",
    price: "Price",
    price_hint: "Optional, e.g. 12.00.",
    bad_date: "Type a date such as 2026-12-24, or leave it empty.",
    bad_price: "Type an amount such as 12.00, or leave it empty.",
    by: "By",
    wished: "Wished",
    open: "Open",
    closed: "Closed",
    published: "Published: other members find it in the exchange.",
    edited: "Saved.",
    yours: "You published it.",
    edit: "Edit",
    close: "Close",
    close_title: "Close this offer?",
    close_text: "It leaves the list of open offers; it stays readable by its link and in your \
                 conversations. A closed offer cannot be opened again.",
    close_button: "Close the offer",
    keep_open: "Keep it open",
    closed_done: "The offer is closed.",
    write_title: "Write to its author",
    message: "Message",
    write: "Write",
    pay: "Pay",
    conversations: "Conversations",
    messages: "Messages",
    no_conversations: "No conversation yet: write to the author of an offer.",
    unread: "unread",
    conversation_with: "Conversation with",
    about: "About",
    you: "You",
    no_messages: "No message yet.",
    hidden: "This message was hidden by a moderator.",
    send: "Send",
    earlier: "Earlier messages",
    later: "Later messages",
    report: "Report",
    report_title: "Report this conversation?",
    report_text: "The association's moderators can then read it, hide messages and suspend a \
                  member from the exchange. The other member is not told.",
    report_button: "Report the conversation",
    keep_quiet: "Do not report",
    reported: "This conversation was reported to the moderators.",
    pay_title: "Pay",
    pay_intro: "The amount goes from your card to theirs at once. You confirm on the next page.",
    amount: "Amount",
    amount_hint: "In euros, e.g. 12.00.",
    bad_amount: "Type an amount above zero, e.g. 12.00.",
    note: "Note",
    note_hint: "Optional: what it is for, up to 140 characters.",
    for_offer: "For the offer",
    from_card: "From card",
    confirm_title: "Confirm the payment",
    confirm_text: "Once confirmed, the money is on their card: only the association can \
                   cancel a payment.",
    confirm: "Confirm the payment",
    change: "Change",
    receipt_title: "Payment",
    paid: "Paid",
    received: "Received",
    to: "To",
    from: "From",
    status: "Status",
    done: "Done",
    cancelled: "Cancelled",
    when: "When",
    your_balance: "Your card's balance now",
    history: "History of the card",
    suspended: "The moderators suspended you from the exchange: you can read the offers and \
                your conversations, but not publish, write or pay. Ask the association why.",
    back: "Back to the exchange",
};

static FR: Words = Words {
    title: "Échange",
    intro: "Services proposés et demandés entre membres, payés de carte à carte.",
    offers: "Offres et demandes",
    category: "Catégorie",
    any_category: "Toutes les catégories",
    kind: "Type",
    any_kind: "Offres et demandes",
    offer: "Offre",
    request: "Demande",
    words: "Mots",
    search: "Chercher",
    none: "Aucune offre ni demande ouverte ne correspond.",
    publish: "Publier une offre ou une demande",
    publish_title: "Publier une offre ou une demande",
    edit_title: "Modifier",
    description: "Description",
    wished_from: "Souhaité à partir du",
    wished_until: "Souhaité jusqu'au",
    price: "Prix",
    price_hint: "Facultatif, par exemple 12,00.",
    bad_date: "Tapez une date comme 2026-12-24, ou laissez vide.",
    bad_price: "Tapez un montant comme 12,00, ou laissez vide.",
    by: "Par",
    wished: "Souhaité",
    open: "Ouverte",
    closed: "Close",
    published: "Publiée : les autres membres la trouvent dans l'échange.",
    edited: "Enregistré.",
    yours: "Vous l'avez publiée.",
    edit: "Modifier",
    close: "Clore",
    close_title: "Clore cette offre ?",
    close_text: "Elle quitte la liste des offres ouvertes ; elle reste lisible par son lien et \
                 dans vos conversations. Une offre close ne peut pas être rouverte.",
    close_button: "Clore l'offre",
    keep_open: "La garder ouverte",
    closed_done: "L'offre est close.",
    write_title: "Écrire à son auteur",
    message: "Message",
    write: "Écrire",
    pay: "Payer",
    conversations: "Conversations",
    messages: "Messages",
    no_conversations: "Aucune conversation : écrivez à l'auteur d'une offre.",
    unread: "non lu(s)",
    conversation_with: "Conversation avec",
    about: "À propos de",
    you: "Vous",
    no_messages: "Aucun message.",
    hidden: "Ce message a été masqué par un modérateur.",
    send: "Envoyer",
    earlier: "Messages précédents",
    later: "Messages suivants",
    report: "Signaler",
    report_title: "Signaler cette conversation ?",
    report_text: "Les modérateurs de l'association peuvent alors la lire, masquer des messages \
                  et suspendre un membre de l'échange. L'autre membre n'est pas prévenu.",
    report_button: "Signaler la conversation",
    keep_quiet: "Ne pas signaler",
    reported: "Cette conversation a été signalée aux modérateurs.",
    pay_title: "Payer",
    pay_intro: "Le montant passe aussitôt de votre carte à la sienne. Vous confirmez à la page \
                suivante.",
    amount: "Montant",
    amount_hint: "En euros, par exemple 12,00.",
    bad_amount: "Tapez un montant positif, par exemple 12,00.",
    note: "Note",
    note_hint: "Facultatif : ce qu'il paie, 140 caractères au plus.",
    for_offer: "Pour l'offre",
    from_card: "Depuis la carte",
    confirm_title: "Confirmer le paiement",
    confirm_text: "Une fois confirmé, l'argent est sur sa carte : seule l'association peut \
                   annuler un paiement.",
    confirm: "Confirmer le paiement",
    change: "Modifier",
    receipt_title: "Paiement",
    paid: "Payé",
    received: "Reçu",
    to: "À",
    from: "De",
    status: "État",
    done: "Effectué",
    cancelled: "Annulé",
    when: "Quand",
    your_balance: "Solde de votre carte maintenant",
    history: "Historique de la carte",
    suspended: "Les modérateurs vous ont suspendu de l'échange : vous pouvez lire les offres et \
                vos conversations, mais pas publier, écrire ni payer. Demandez pourquoi à \
                l'association.",
    back: "Retour à l'échange",
};

fn words(lang: Lang) -> &'static Words {
    match lang {
        Lang::En => &EN,
        Lang::Fr => &FR,
    }
}

/// The exchange's name in the member space's navigation.
pub(crate) fn title(lang: Lang) -> &'static str {
    words(lang).title
}

/// How many offers, conversations or messages a page lists.
const PER_PAGE: i64 = 20;
const MESSAGES_PER_PAGE: i64 = 50;

/// The exchange when it is on; else every page of it is the 404 page.
fn on<'a>(
    req: &HttpRequest,
    state: &'a WebState,
    page: &MemberPage,
) -> Result<&'a Exchange, PageError> {
    state
        .exchange_on()
        .ok_or_else(|| PageError::NotFound(Chrome::member(req, page)))
}

/// The page for a refusal that is not a field's: what is not the member's (or does not
/// exist) is the 404 page, another member's offer to edit the 403 page.
fn refused(req: &HttpRequest, page: &MemberPage, e: DomainError) -> PageError {
    match e {
        DomainError::UnknownOffer
        | DomainError::UnknownConversation
        | DomainError::UnknownTransfer
        | DomainError::ExchangeDisabled => PageError::NotFound(Chrome::member(req, page)),
        DomainError::InsufficientRights => PageError::Forbidden(Chrome::member(req, page)),
        e => page.refused(req, e),
    }
}

/// A page of the exchange: the heading, the suspension's notice, the content.
fn exchange_page(
    req: &HttpRequest,
    page: &MemberPage,
    status: StatusCode,
    heading: &str,
    suspended: bool,
    content: Markup,
) -> HttpResponse {
    let w = words(page.lang);
    me_page(
        req,
        page,
        status,
        heading,
        html! {
            @if !req.path().eq("/me/exchange") {
                p { a href="/me/exchange" { (w.back) } }
            }
            h1 { (heading) }
            @if suspended {
                p.notice role="status" { (w.suspended) }
            }
            (content)
        },
    )
}

/// The page of a suspended member's refused form: why.
fn suspended_page(req: &HttpRequest, page: &MemberPage) -> HttpResponse {
    let w = words(page.lang);
    exchange_page(req, page, StatusCode::FORBIDDEN, w.title, true, html! {})
}

fn id_of(req: &HttpRequest, page: &MemberPage, text: &str) -> Result<i64, PageError> {
    text.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| PageError::NotFound(Chrome::member(req, page)))
}

fn kind_text(lang: Lang, kind: OfferKind) -> &'static str {
    match kind {
        OfferKind::Offer => words(lang).offer,
        OfferKind::Request => words(lang).request,
    }
}

/// The first characters of a text, for a list.
fn excerpt(text: &str, max: usize) -> String {
    let mut chars = text.chars();
    let head: String = chars.by_ref().take(max).collect();
    if chars.next().is_some() {
        format!("{}…", head.trim_end())
    } else {
        head
    }
}

fn dates(lang: Lang, offer: &Offer) -> Option<String> {
    match (offer.wished_from, offer.wished_until) {
        (None, None) => None,
        (Some(from), None) => Some(format!("≥ {from}")),
        (None, Some(until)) => Some(format!("≤ {until}")),
        (Some(from), Some(until)) if from == until => Some(from.to_string()),
        (Some(from), Some(until)) => Some(format!("{from} → {until}")),
    }
    .map(|d| format!("{}{}{d}", words(lang).wished, lang.colon()))
}

/// The line under an offer: kind, category, author, price, wished dates.
fn offer_meta(lang: Lang, offer: &Offer, author: &str) -> Markup {
    let w = words(lang);
    html! {
        p.meta {
            span.badge { (kind_text(lang, offer.kind)) }
            @if let Some(category) = &offer.category_name { " · " (category) }
            " · " (w.by) " " (author)
            @if let Some(price) = offer.price { " · " (lang.money(price)) }
            @if let Some(d) = dates(lang, offer) { " · " (d) }
            @if !offer.open { " · " span.badge { (w.closed) } }
        }
    }
}

/// The member's name as the exchange shows it, or `#id` when the member is gone.
async fn name_of(
    req: &HttpRequest,
    exchange: &Exchange,
    page: &MemberPage,
    member: MemberId,
) -> Result<String, PageError> {
    match exchange.member_name(&page.principal, member).await {
        Ok(name) => Ok(name),
        Err(DomainError::UnknownMember) => Ok(format!("#{}", member.0)),
        Err(e) => Err(refused(req, page, e)),
    }
}

// ---------------------------------------------------------------------------------------------
// The offers

#[derive(Deserialize, Default)]
struct OffersQuery {
    category: Option<String>,
    kind: Option<String>,
    q: Option<String>,
    page: Option<i64>,
}

impl OffersQuery {
    /// The query of another page of the same list.
    fn with_page(&self, number: i64) -> String {
        format!(
            "?category={}&kind={}&q={}&page={number}",
            crate::pages::encode(self.category.as_deref().unwrap_or("")),
            crate::pages::encode(self.kind.as_deref().unwrap_or("")),
            crate::pages::encode(self.q.as_deref().unwrap_or("")),
        )
    }
}

fn select_category(
    lang: Lang,
    id: &str,
    categories: &[Category],
    chosen: Option<i64>,
    any: Option<&str>,
    error: Option<&str>,
) -> Markup {
    let w = words(lang);
    html! {
        div.field {
            label for=(id) { (w.category) }
            select id=(id) name="category"
                aria-invalid=[error.map(|_| "true")]
                aria-describedby=[error.map(|_| format!("{id}-error"))] {
                @if let Some(any) = any {
                    option value="" selected[chosen.is_none()] { (any) }
                }
                @for c in categories {
                    option value=(c.id) selected[chosen == Some(c.id)] { (c.name) }
                }
            }
            @if let Some(e) = error { p.field-error id={ (id) "-error" } { (e) } }
        }
    }
}

/// `/me/exchange`: the open offers and requests, newest first, filtered by category, kind
/// and words; links to publish and to the member's conversations (with the unread count).
async fn offers(
    req: HttpRequest,
    state: web::Data<WebState>,
    page: MemberPage,
    query: web::Query<OffersQuery>,
) -> Result<HttpResponse, PageError> {
    let exchange = on(&req, &state, &page)?;
    let lang = page.lang;
    let w = words(lang);
    let p = &page.principal;
    let suspended = exchange
        .suspended(p)
        .await
        .map_err(|e| refused(&req, &page, e))?;
    let categories = exchange
        .categories(p)
        .await
        .map_err(|e| refused(&req, &page, e))?;
    let category = query
        .category
        .as_deref()
        .and_then(|c| c.parse::<i64>().ok());
    let kind = query.kind.as_deref().and_then(OfferKind::parse);
    let typed = query.q.clone().unwrap_or_default();
    let filter = OfferFilter {
        category,
        words: typed.split_whitespace().map(str::to_owned).collect(),
        kind,
        member: None,
        all: false,
    };
    let number = query.page.unwrap_or(1);
    let paging = Page::new(Some(number), Some(PER_PAGE))
        .map_err(|_| PageError::NotFound(Chrome::member(&req, &page)))?;
    let list = exchange
        .offers(p, filter, paging)
        .await
        .map_err(|e| refused(&req, &page, e))?;
    let mut authors = BTreeMap::new();
    for o in &list.items {
        if let std::collections::btree_map::Entry::Vacant(slot) = authors.entry(o.member) {
            slot.insert(name_of(&req, exchange, &page, o.member).await?);
        }
    }
    let unread = unread_total(exchange, &page)
        .await
        .map_err(|e| refused(&req, &page, e))?;
    let more = list.has_next();
    Ok(exchange_page(
        &req,
        &page,
        StatusCode::OK,
        w.title,
        suspended,
        html! {
            p.hint { (w.intro) }
            p.links {
                @if !suspended {
                    a.button.primary href="/me/exchange/new" { (w.publish) }
                }
                a.button href="/me/exchange/conversations" {
                    (w.conversations)
                    @if unread > 0 { " " span.badge { (unread) " " (w.unread) } }
                }
            }
            section.card aria-labelledby="offers-title" {
                h2 #offers-title { (w.offers) }
                form.filters method="get" action="/me/exchange" role="search" {
                    (select_category(lang, "f-category", &categories, category, Some(w.any_category), None))
                    div.field {
                        label for="f-kind" { (w.kind) }
                        select #f-kind name="kind" {
                            option value="" selected[kind.is_none()] { (w.any_kind) }
                            option value="offer" selected[kind == Some(OfferKind::Offer)] { (w.offer) }
                            option value="request" selected[kind == Some(OfferKind::Request)] { (w.request) }
                        }
                    }
                    div.field {
                        label for="f-words" { (w.words) }
                        input #f-words type="search" name="q" value=(typed);
                    }
                    button type="submit" { (w.search) }
                }
                @if list.items.is_empty() {
                    p.hint { (w.none) }
                }
                ul.plain {
                    @for o in &list.items {
                        li.offer {
                            h3 { a href={ "/me/exchange/offers/" (o.id) } { (excerpt(&o.description, 90)) } }
                            (offer_meta(lang, o, authors.get(&o.member).map(String::as_str).unwrap_or("")))
                        }
                    }
                }
                nav.filters aria-label=(w.offers) {
                    @if number > 1 {
                        a href={ "/me/exchange" (query.with_page(number - 1)) } { (crate::me::words(lang).newer) }
                    }
                    @if more {
                        a href={ "/me/exchange" (query.with_page(number + 1)) } { (crate::me::words(lang).older) }
                    }
                }
            }
        },
    ))
}

/// The sum of the member's unread messages over their conversations.
async fn unread_total(exchange: &Exchange, page: &MemberPage) -> Result<u64, DomainError> {
    let mut total = 0;
    let mut number = 1;
    while let Ok(p) = Page::new(Some(number), Some(100)) {
        let list = exchange.conversations(&page.principal, p).await?;
        total += list.items.iter().map(|c| c.summary.unread).sum::<u64>();
        if !list.has_next() {
            break;
        }
        number += 1;
    }
    Ok(total)
}

/// An offer's form as typed, and the error of each field (by field name; `form` for one
/// that names none).
#[derive(Default)]
struct OfferForm {
    kind: String,
    category: String,
    description: String,
    wished_from: String,
    wished_until: String,
    price: String,
    errors: BTreeMap<&'static str, String>,
}

const OFFER_FIELDS: [&str; 6] = [
    "kind",
    "category",
    "description",
    "wished_from",
    "wished_until",
    "price",
];

impl OfferForm {
    fn of(offer: &Offer) -> OfferForm {
        OfferForm {
            kind: offer.kind.as_str().to_owned(),
            category: offer.category.to_string(),
            description: offer.description.clone(),
            wished_from: offer.wished_from.map(|d| d.to_string()).unwrap_or_default(),
            wished_until: offer
                .wished_until
                .map(|d| d.to_string())
                .unwrap_or_default(),
            price: offer.price.map(Money::to_fixed2).unwrap_or_default(),
            errors: BTreeMap::new(),
        }
    }

    fn read(body: &[(String, String)]) -> OfferForm {
        let get = |name: &str| field(body, name).unwrap_or_default().trim().to_owned();
        OfferForm {
            kind: get("kind"),
            category: get("category"),
            description: field(body, "description").unwrap_or_default().to_owned(),
            wished_from: get("wished_from"),
            wished_until: get("wished_until"),
            price: get("price"),
            errors: BTreeMap::new(),
        }
    }

    /// The draft, or the errors of the fields the page parses (dates, price, kind, category).
    fn draft(&mut self, lang: Lang) -> Option<OfferDraft> {
        let w = words(lang);
        let date = |text: &str| -> Result<Option<NaiveDate>, ()> {
            if text.is_empty() {
                Ok(None)
            } else {
                NaiveDate::parse_from_str(text, "%Y-%m-%d")
                    .map(Some)
                    .map_err(|_| ())
            }
        };
        let kind = OfferKind::parse(&self.kind);
        let category = self.category.parse::<i64>().ok();
        let from = date(&self.wished_from);
        let until = date(&self.wished_until);
        let price = if self.price.is_empty() {
            Ok(None)
        } else {
            Money::parse(&self.price.replace(',', "."))
                .map(Some)
                .map_err(|_| ())
        };
        if kind.is_none() {
            self.errors
                .insert("kind", lang.error(&DomainError::malformed("field `kind`")));
        }
        if category.is_none() {
            self.errors
                .insert("category", lang.error(&DomainError::UnknownCategory));
        }
        if from.is_err() {
            self.errors.insert("wished_from", w.bad_date.to_owned());
        }
        if until.is_err() {
            self.errors.insert("wished_until", w.bad_date.to_owned());
        }
        if price.is_err() {
            self.errors.insert("price", w.bad_price.to_owned());
        }
        match (kind, category, from, until, price) {
            (Some(kind), Some(category), Ok(wished_from), Ok(wished_until), Ok(price)) => {
                Some(OfferDraft {
                    kind,
                    category,
                    description: self.description.clone(),
                    wished_from,
                    wished_until,
                    price,
                })
            }
            _ => {
                // The fields the page could not read are said; the description is checked
                // by the rules' own check, so that every error shows at once.
                if let Err(e) = checked_text("description", &self.description, MAX_TEXT) {
                    self.errors.insert("description", lang.error(&e));
                }
                None
            }
        }
    }

    /// Puts a refusal of the rules next to its field.
    fn refusal(&mut self, lang: Lang, e: &DomainError) {
        let name = match e {
            DomainError::UnknownCategory => "category",
            DomainError::Malformed(text) => OFFER_FIELDS
                .iter()
                .find(|f| text.contains(&format!("`{f}`")))
                .copied()
                .unwrap_or("description"),
            _ => "description",
        };
        self.errors.insert(name, lang.error(e));
    }
}

fn offer_form(
    page: &MemberPage,
    action: &str,
    categories: &[Category],
    form: &OfferForm,
) -> Markup {
    let lang = page.lang;
    let w = words(lang);
    let error = |name: &str| form.errors.get(name).map(String::as_str);
    let described = |id: &str, name: &str, hint: bool| -> Option<String> {
        let mut ids = Vec::new();
        if error(name).is_some() {
            ids.push(format!("{id}-error"));
        }
        if hint {
            ids.push(format!("{id}-hint"));
        }
        (!ids.is_empty()).then(|| ids.join(" "))
    };
    let text_field =
        |id: &str, name: &str, label: &str, value: &str, kind: &str, hint: Option<&str>| {
            html! {
                div.field {
                    label for=(id) { (label) }
                    input id=(id) type=(kind) name=(name) value=(value)
                        inputmode=[(name == "price").then_some("decimal")]
                        aria-invalid=[error(name).map(|_| "true")]
                        aria-describedby=[described(id, name, hint.is_some())];
                    @if let Some(h) = hint { p.hint id={ (id) "-hint" } { (h) } }
                    @if let Some(e) = error(name) { p.field-error id={ (id) "-error" } { (e) } }
                }
            }
        };
    html! {
        form.stack method="post" action=(action) novalidate {
            input type="hidden" name="csrf" value=(page.csrf);
            div.field {
                label for="o-kind" { (w.kind) }
                select #o-kind name="kind" aria-invalid=[error("kind").map(|_| "true")]
                    aria-describedby=[described("o-kind", "kind", false)] {
                    option value="offer" selected[form.kind != "request"] { (w.offer) }
                    option value="request" selected[form.kind == "request"] { (w.request) }
                }
                @if let Some(e) = error("kind") { p.field-error #o-kind-error { (e) } }
            }
            (select_category(lang, "o-category", categories, form.category.parse().ok(), None, error("category")))
            div.field {
                label for="o-description" { (w.description) }
                textarea #o-description name="description" rows="5" maxlength=(MAX_TEXT)
                    aria-invalid=[error("description").map(|_| "true")]
                    aria-describedby=[described("o-description", "description", false)] { (form.description) }
                @if let Some(e) = error("description") { p.field-error #o-description-error { (e) } }
            }
            (text_field("o-from", "wished_from", w.wished_from, &form.wished_from, "date", None))
            (text_field("o-until", "wished_until", w.wished_until, &form.wished_until, "date", None))
            (text_field("o-price", "price", w.price, &form.price, "text", Some(w.price_hint)))
            button.primary type="submit" { (lang.t().save) }
        }
    }
}

/// `/me/exchange/new`: the form to publish an offer or a request.
async fn new_offer(
    req: HttpRequest,
    state: web::Data<WebState>,
    page: MemberPage,
) -> Result<HttpResponse, PageError> {
    let form = OfferForm::default();
    offer_form_page(&req, &state, &page, None, &form, StatusCode::OK).await
}

async fn offer_form_page(
    req: &HttpRequest,
    state: &WebState,
    page: &MemberPage,
    editing: Option<i64>,
    form: &OfferForm,
    status: StatusCode,
) -> Result<HttpResponse, PageError> {
    let exchange = on(req, state, page)?;
    let w = words(page.lang);
    let suspended = exchange
        .suspended(&page.principal)
        .await
        .map_err(|e| refused(req, page, e))?;
    let categories = exchange
        .categories(&page.principal)
        .await
        .map_err(|e| refused(req, page, e))?;
    let (title, action) = match editing {
        Some(id) => (w.edit_title, format!("/me/exchange/offers/{id}/edit")),
        None => (w.publish_title, "/me/exchange/new".to_owned()),
    };
    Ok(exchange_page(
        req,
        page,
        status,
        title,
        suspended,
        html! {
            @if !suspended {
                section.card.narrow {
                    (offer_form(page, &action, &categories, form))
                }
            }
        },
    ))
}

/// Publishes (`Exchange::publish`, as `POST /v1/offers`); a refused field is said next to it
/// and nothing is published.
async fn publish(
    req: HttpRequest,
    state: web::Data<WebState>,
    page: MemberPage,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let lang = page.lang;
    let body = page.posted_form(&req, &body)?;
    let exchange = on(&req, &state, &page)?;
    let mut form = OfferForm::read(&body);
    if let Some(draft) = form.draft(lang) {
        match exchange.publish(&page.principal, draft).await {
            Ok(offer) => {
                return Ok(see_other(&format!(
                    "/me/exchange/offers/{}?published=1",
                    offer.id
                )))
            }
            Err(DomainError::MemberSuspended) => return Ok(suspended_page(&req, &page)),
            Err(e @ (DomainError::Malformed(_) | DomainError::UnknownCategory)) => {
                form.refusal(lang, &e)
            }
            Err(e) => return Err(refused(&req, &page, e)),
        }
    }
    offer_form_page(
        &req,
        &state,
        &page,
        None,
        &form,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await
}

#[derive(Deserialize)]
struct OfferQuery {
    published: Option<String>,
    edited: Option<String>,
    closed: Option<String>,
}

/// An offer's page: what it is, by whom; to another member "Write" and "Pay", to its author
/// "Edit" and "Close".
async fn offer(
    req: HttpRequest,
    state: web::Data<WebState>,
    page: MemberPage,
    id: web::Path<String>,
    query: web::Query<OfferQuery>,
) -> Result<HttpResponse, PageError> {
    let exchange = on(&req, &state, &page)?;
    let id = id_of(&req, &page, &id)?;
    let lang = page.lang;
    let w = words(lang);
    let p = &page.principal;
    let offer = exchange
        .offer(p, id)
        .await
        .map_err(|e| refused(&req, &page, e))?;
    let suspended = exchange
        .suspended(p)
        .await
        .map_err(|e| refused(&req, &page, e))?;
    let author = name_of(&req, exchange, &page, offer.member).await?;
    let mine = offer.member == page.id();
    let notice = if query.published.is_some() {
        Some(w.published)
    } else if query.edited.is_some() {
        Some(w.edited)
    } else if query.closed.is_some() {
        Some(w.closed_done)
    } else {
        None
    };
    let heading = format!(
        "{} · {}",
        kind_text(lang, offer.kind),
        excerpt(&offer.description, 40)
    );
    Ok(exchange_page(
        &req,
        &page,
        StatusCode::OK,
        &heading,
        suspended,
        html! {
            @if let Some(n) = notice { p.ok role="status" { (n) } }
            section.card {
                (offer_meta(lang, &offer, &author))
                p.text { (offer.description) }
                p.meta { (w.status) (lang.colon()) (if offer.open { w.open } else { w.closed }) }
            }
            @if mine {
                p.hint { (w.yours) }
                @if offer.open && !suspended {
                    p.links {
                        a.button href={ "/me/exchange/offers/" (offer.id) "/edit" } { (w.edit) }
                        form.inline method="get" action={ "/me/exchange/offers/" (offer.id) "/close" } {
                            button.danger type="submit" { (w.close) }
                        }
                    }
                }
            } @else if !suspended {
                section.card aria-labelledby="write-title" {
                    h2 #write-title { (w.write_title) " · " (author) }
                    (message_form(page.csrf.as_str(), &format!("/me/exchange/offers/{}/write", offer.id), w.write, "", None, lang))
                }
                // An offer is paid to its author; a request's author pays (from the
                // conversation's page).
                @if offer.kind == OfferKind::Offer {
                    p.links {
                        a.button href={ "/me/exchange/pay?to=" (offer.member.0) "&offer=" (offer.id) } { (w.pay) " " (author) }
                    }
                }
            }
        },
    ))
}

/// The form of a message: textbox "Message" and its button.
fn message_form(
    csrf: &str,
    action: &str,
    button: &str,
    text: &str,
    error: Option<&str>,
    lang: Lang,
) -> Markup {
    let w = words(lang);
    html! {
        form.stack method="post" action=(action) novalidate {
            input type="hidden" name="csrf" value=(csrf);
            div.field {
                label for="m-text" { (w.message) }
                textarea #m-text name="text" rows="4" maxlength=(MAX_TEXT)
                    aria-invalid=[error.map(|_| "true")]
                    aria-describedby=[error.map(|_| "m-text-error")] { (text) }
                @if let Some(e) = error { p.field-error #m-text-error { (e) } }
            }
            button.primary type="submit" { (button) }
        }
    }
}

/// The page before a step that cannot be undone (closing an offer, reporting a
/// conversation): what it is about, what it does, `POST {base}/{verb}` with `confirm=yes`, or
/// back to `base`.
struct Confirmation<'a> {
    base: String,
    verb: &'a str,
    title: &'a str,
    what: Markup,
    text: &'a str,
    button: &'a str,
    keep: &'a str,
}

impl Confirmation<'_> {
    fn page(self, req: &HttpRequest, page: &MemberPage) -> HttpResponse {
        let (base, verb) = (&self.base, self.verb);
        me_page(
            req,
            page,
            StatusCode::OK,
            self.title,
            html! {
                section.card.narrow role="alertdialog" aria-labelledby={ (verb) "-title" } aria-describedby={ (verb) "-text" } {
                    h1 id={ (verb) "-title" } { (self.title) }
                    p { (self.what) }
                    p id={ (verb) "-text" } { (self.text) }
                    form.stack method="post" action={ (base) "/" (verb) } {
                        input type="hidden" name="csrf" value=(page.csrf);
                        input type="hidden" name="confirm" value="yes";
                        button.danger type="submit" { (self.button) }
                    }
                    p { a href=(base) { (self.keep) } }
                }
            },
        )
    }
}

/// The member's own open offer, or the page that says why not.
async fn own_offer(
    req: &HttpRequest,
    exchange: &Exchange,
    page: &MemberPage,
    id: i64,
) -> Result<Offer, PageError> {
    let offer = exchange
        .offer(&page.principal, id)
        .await
        .map_err(|e| refused(req, page, e))?;
    if offer.member != page.id() {
        return Err(PageError::Forbidden(Chrome::member(req, page)));
    }
    Ok(offer)
}

async fn edit_page(
    req: HttpRequest,
    state: web::Data<WebState>,
    page: MemberPage,
    id: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let exchange = on(&req, &state, &page)?;
    let id = id_of(&req, &page, &id)?;
    let offer = own_offer(&req, exchange, &page, id).await?;
    if !offer.open {
        return Ok(see_other(&format!("/me/exchange/offers/{id}")));
    }
    let form = OfferForm::of(&offer);
    offer_form_page(&req, &state, &page, Some(id), &form, StatusCode::OK).await
}

/// Saves an edit (`Exchange::edit_offer`, as `PATCH /v1/offers/{id}`).
async fn edit(
    req: HttpRequest,
    state: web::Data<WebState>,
    page: MemberPage,
    id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let lang = page.lang;
    let body = page.posted_form(&req, &body)?;
    let exchange = on(&req, &state, &page)?;
    let id = id_of(&req, &page, &id)?;
    // Another member's offer is refused whatever is typed, before any field is read.
    own_offer(&req, exchange, &page, id).await?;
    let mut form = OfferForm::read(&body);
    if let Some(draft) = form.draft(lang) {
        match exchange.edit_offer(&page.principal, id, draft).await {
            Ok(_) => return Ok(see_other(&format!("/me/exchange/offers/{id}?edited=1"))),
            Err(DomainError::MemberSuspended) => return Ok(suspended_page(&req, &page)),
            Err(e @ (DomainError::Malformed(_) | DomainError::UnknownCategory)) => {
                form.refusal(lang, &e)
            }
            Err(DomainError::OfferClosed) => {
                return Ok(see_other(&format!("/me/exchange/offers/{id}")))
            }
            Err(e) => return Err(refused(&req, &page, e)),
        }
    }
    offer_form_page(
        &req,
        &state,
        &page,
        Some(id),
        &form,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await
}

/// The confirmation of "Close".
async fn close_page(
    req: HttpRequest,
    state: web::Data<WebState>,
    page: MemberPage,
    id: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let exchange = on(&req, &state, &page)?;
    let id = id_of(&req, &page, &id)?;
    let offer = own_offer(&req, exchange, &page, id).await?;
    let lang = page.lang;
    let w = words(lang);
    Ok(Confirmation {
        base: format!("/me/exchange/offers/{id}"),
        verb: "close",
        title: w.close_title,
        what: html! { strong { (kind_text(lang, offer.kind)) } " · " (excerpt(&offer.description, 90)) },
        text: w.close_text,
        button: w.close_button,
        keep: w.keep_open,
    }
    .page(&req, &page))
}

/// Closes the offer (`Exchange::close_offer`): it leaves the list.
async fn close(
    req: HttpRequest,
    state: web::Data<WebState>,
    page: MemberPage,
    id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let body = page.posted_form(&req, &body)?;
    let exchange = on(&req, &state, &page)?;
    let id = id_of(&req, &page, &id)?;
    if field(&body, "confirm") != Some("yes") {
        return Ok(see_other(&format!("/me/exchange/offers/{id}/close")));
    }
    match exchange.close_offer(&page.principal, id).await {
        // Closed twice (a resent form): it is closed, as asked.
        Ok(_) | Err(DomainError::OfferClosed) => {
            Ok(see_other(&format!("/me/exchange/offers/{id}?closed=1")))
        }
        Err(DomainError::MemberSuspended) => Ok(suspended_page(&req, &page)),
        Err(e) => Err(refused(&req, &page, e)),
    }
}

/// Writes to an offer's author (`Exchange::write_to`, as `POST /v1/conversations`): the
/// conversation of the two about that offer, started if needed.
async fn write(
    req: HttpRequest,
    state: web::Data<WebState>,
    page: MemberPage,
    id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let lang = page.lang;
    let body = page.posted_form(&req, &body)?;
    let exchange = on(&req, &state, &page)?;
    let id = id_of(&req, &page, &id)?;
    let offer = exchange
        .offer(&page.principal, id)
        .await
        .map_err(|e| refused(&req, &page, e))?;
    let text = field(&body, "text").unwrap_or_default();
    match exchange
        .write_to(&page.principal, offer.member, Some(id), text)
        .await
    {
        Ok((conversation, message)) => Ok(see_other(&format!(
            "/me/exchange/conversations/{}#m{}",
            conversation.id, message.id
        ))),
        Err(DomainError::MemberSuspended) => Ok(suspended_page(&req, &page)),
        Err(e @ DomainError::Malformed(_)) => {
            let w = words(lang);
            let author = name_of(&req, exchange, &page, offer.member).await?;
            Ok(exchange_page(
                &req,
                &page,
                StatusCode::UNPROCESSABLE_ENTITY,
                &format!("{} · {author}", w.write_title),
                false,
                html! {
                    section.card {
                        (offer_meta(lang, &offer, &author))
                        p.text { (offer.description) }
                    }
                    section.card {
                        (message_form(&page.csrf, &format!("/me/exchange/offers/{id}/write"), w.write, text, Some(&lang.error(&e)), lang))
                    }
                },
            ))
        }
        Err(e) => Err(refused(&req, &page, e)),
    }
}

// ---------------------------------------------------------------------------------------------
// Conversations

#[derive(Deserialize)]
struct ListQuery {
    page: Option<i64>,
}

/// `/me/exchange/conversations`: the member's conversations, newest activity first, with the
/// other member, the offer, the last message and the unread count.
async fn conversations(
    req: HttpRequest,
    state: web::Data<WebState>,
    page: MemberPage,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, PageError> {
    let exchange = on(&req, &state, &page)?;
    let lang = page.lang;
    let w = words(lang);
    let suspended = exchange
        .suspended(&page.principal)
        .await
        .map_err(|e| refused(&req, &page, e))?;
    let number = query.page.unwrap_or(1);
    let paging = Page::new(Some(number), Some(PER_PAGE))
        .map_err(|_| PageError::NotFound(Chrome::member(&req, &page)))?;
    let list = exchange
        .conversations(&page.principal, paging)
        .await
        .map_err(|e| refused(&req, &page, e))?;
    let more = list.has_next();
    Ok(exchange_page(
        &req,
        &page,
        StatusCode::OK,
        w.conversations,
        suspended,
        html! {
            @if list.items.is_empty() {
                p.hint { (w.no_conversations) }
            }
            ul.plain.conversations {
                @for c in &list.items {
                    (conversation_row(lang, state.time_zone, page.id(), c))
                }
            }
            nav.filters aria-label=(w.conversations) {
                @if number > 1 {
                    a href={ "/me/exchange/conversations?page=" (number - 1) } { (crate::me::words(lang).newer) }
                }
                @if more {
                    a href={ "/me/exchange/conversations?page=" (number + 1) } { (crate::me::words(lang).older) }
                }
            }
        },
    ))
}

fn conversation_row(lang: Lang, tz: chrono_tz::Tz, me: MemberId, c: &ConversationView) -> Markup {
    let w = words(lang);
    let s = &c.summary;
    html! {
        li.rowitem {
            div {
                p {
                    a href={ "/me/exchange/conversations/" (s.conversation.id) } {
                        (w.conversation_with) " " (c.other_name)
                    }
                    @if s.unread > 0 {
                        " " span.badge.unread { (s.unread) " " (w.unread) }
                    }
                }
                @if let Some(m) = &s.last_message {
                    p.meta {
                        (m.created_at.with_timezone(&tz).format("%Y-%m-%d %H:%M")) " · "
                        (if m.author == me { w.you } else { c.other_name.as_str() }) (lang.colon())
                        @if m.hidden { em { (w.hidden) } } @else { (excerpt(&m.text, 80)) }
                    }
                }
            }
        }
    }
}

#[derive(Deserialize)]
struct ConversationQuery {
    page: Option<i64>,
    reported: Option<String>,
}

/// A conversation of the member's: the offer it is about, its messages oldest first (the
/// latest page unless asked; the messages shown are marked read), "Send", "Pay", "Report".
async fn conversation(
    req: HttpRequest,
    state: web::Data<WebState>,
    page: MemberPage,
    id: web::Path<String>,
    query: web::Query<ConversationQuery>,
) -> Result<HttpResponse, PageError> {
    let id = id_of(&req, &page, &id)?;
    let notice = query
        .reported
        .is_some()
        .then_some(words(page.lang).reported);
    conversation_page(
        &req,
        &state,
        &page,
        id,
        query.page,
        notice,
        ("", None),
        StatusCode::OK,
    )
    .await
}

#[allow(clippy::too_many_arguments)]
async fn conversation_page(
    req: &HttpRequest,
    state: &WebState,
    page: &MemberPage,
    id: i64,
    number: Option<i64>,
    notice: Option<&str>,
    (text, error): (&str, Option<&str>),
    status: StatusCode,
) -> Result<HttpResponse, PageError> {
    let exchange = on(req, state, page)?;
    let lang = page.lang;
    let w = words(lang);
    let p = &page.principal;
    let c: Conversation = exchange
        .conversation(p, id)
        .await
        .map_err(|e| refused(req, page, e))?;
    let suspended = exchange
        .suspended(p)
        .await
        .map_err(|e| refused(req, page, e))?;
    let me = page.id();
    let other = c.other(me);
    let other_name = name_of(req, exchange, page, other).await?;
    let about = match c.offer {
        Some(offer) => exchange.offer(p, offer).await.ok(),
        None => None,
    };
    let bad = |_| PageError::NotFound(Chrome::member(req, page));
    // The latest page by default: the first read tells how many there are.
    let first = exchange
        .messages(
            p,
            id,
            Page::new(number.or(Some(1)), Some(MESSAGES_PER_PAGE)).map_err(bad)?,
        )
        .await
        .map_err(|e| refused(req, page, e))?;
    let last = i64::try_from(first.total.div_ceil(MESSAGES_PER_PAGE as u64))
        .unwrap_or(1)
        .max(1);
    let (number, list) = match number {
        None if last > 1 => (
            last,
            exchange
                .messages(
                    p,
                    id,
                    Page::new(Some(last), Some(MESSAGES_PER_PAGE)).map_err(bad)?,
                )
                .await
                .map_err(|e| refused(req, page, e))?,
        ),
        _ => (number.unwrap_or(1), first),
    };
    let heading = format!("{} {other_name}", w.conversation_with);
    let pay_href = match c.offer {
        Some(offer) => format!("/me/exchange/pay?to={}&offer={offer}", other.0),
        None => format!("/me/exchange/pay?to={}", other.0),
    };
    let here = format!("/me/exchange/conversations/{id}");
    let messages: &[Message] = &list.items;
    Ok(exchange_page(
        req,
        page,
        status,
        &heading,
        suspended,
        html! {
            @if let Some(n) = notice { p.ok role="status" { (n) } }
            @if let Some(offer) = &about {
                p { (w.about) (lang.colon()) a href={ "/me/exchange/offers/" (offer.id) } {
                    (kind_text(lang, offer.kind)) " · " (excerpt(&offer.description, 60))
                } }
            }
            section.card aria-labelledby="messages-title" {
                h2 #messages-title { (w.messages) }
                @if number > 1 {
                    p { a href={ (here) "?page=" (number - 1) } { (w.earlier) } }
                }
                @if messages.is_empty() {
                    p.hint { (w.no_messages) }
                }
                ol.messages {
                    @for m in messages {
                        li.mine[m.author == me] id={ "m" (m.id) } {
                            p.meta {
                                strong { (if m.author == me { w.you } else { other_name.as_str() }) }
                                " · " (m.created_at.with_timezone(&state.time_zone).format("%Y-%m-%d %H:%M"))
                            }
                            @if m.hidden {
                                p { em { (w.hidden) } }
                            } @else {
                                p.text { (m.text) }
                            }
                        }
                    }
                }
                @if number < last {
                    p { a href={ (here) "?page=" (number + 1) } { (w.later) } }
                }
            }
            @if !suspended {
                section.card {
                    (message_form(&page.csrf, &here, w.send, text, error, lang))
                }
                p.links {
                    a.button href=(pay_href) { (w.pay) " " (other_name) }
                }
            }
            @if c.reported {
                p.hint { (w.reported) }
            } @else {
                form.inline method="get" action={ (here) "/report" } {
                    button.danger type="submit" { (w.report) }
                }
            }
        },
    ))
}

/// Answers in the conversation (`Exchange::answer`, as `POST
/// /v1/conversations/{id}/messages`).
async fn answer(
    req: HttpRequest,
    state: web::Data<WebState>,
    page: MemberPage,
    id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let lang = page.lang;
    let body = page.posted_form(&req, &body)?;
    let exchange = on(&req, &state, &page)?;
    let id = id_of(&req, &page, &id)?;
    let text = field(&body, "text").unwrap_or_default();
    match exchange.answer(&page.principal, id, text).await {
        Ok((_, message)) => Ok(see_other(&format!(
            "/me/exchange/conversations/{id}#m{}",
            message.id
        ))),
        Err(DomainError::MemberSuspended) => Ok(suspended_page(&req, &page)),
        Err(e @ DomainError::Malformed(_)) => {
            let error = lang.error(&e);
            conversation_page(
                &req,
                &state,
                &page,
                id,
                None,
                None,
                (text, Some(&error)),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => Err(refused(&req, &page, e)),
    }
}

/// The confirmation of "Report".
async fn report_page(
    req: HttpRequest,
    state: web::Data<WebState>,
    page: MemberPage,
    id: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let exchange = on(&req, &state, &page)?;
    let id = id_of(&req, &page, &id)?;
    // Only the member's own conversations have a confirmation page.
    let c = exchange
        .conversation(&page.principal, id)
        .await
        .map_err(|e| refused(&req, &page, e))?;
    let w = words(page.lang);
    let other_name = name_of(&req, exchange, &page, c.other(page.id())).await?;
    Ok(Confirmation {
        base: format!("/me/exchange/conversations/{id}"),
        verb: "report",
        title: w.report_title,
        what: html! { (w.conversation_with) " " (other_name) },
        text: w.report_text,
        button: w.report_button,
        keep: w.keep_quiet,
    }
    .page(&req, &page))
}

/// Reports the conversation to the moderators (`Exchange::report`).
async fn report(
    req: HttpRequest,
    state: web::Data<WebState>,
    page: MemberPage,
    id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let body = page.posted_form(&req, &body)?;
    let exchange = on(&req, &state, &page)?;
    let id = id_of(&req, &page, &id)?;
    if field(&body, "confirm") != Some("yes") {
        return Ok(see_other(&format!(
            "/me/exchange/conversations/{id}/report"
        )));
    }
    exchange
        .report(&page.principal, id)
        .await
        .map_err(|e| refused(&req, &page, e))?;
    Ok(see_other(&format!(
        "/me/exchange/conversations/{id}?reported=1"
    )))
}

// ---------------------------------------------------------------------------------------------
// Paying a member

/// The payment's form as typed, its one-time key, and the errors by field (`form` for a
/// refusal that names no field).
#[derive(Default)]
struct PayForm {
    to: String,
    amount: String,
    note: String,
    offer: String,
    from_card: String,
    key: String,
    errors: BTreeMap<&'static str, String>,
}

impl PayForm {
    fn read(body: &[(String, String)]) -> PayForm {
        let get = |name: &str| field(body, name).unwrap_or_default().trim().to_owned();
        PayForm {
            to: get("to"),
            amount: get("amount"),
            note: get("note"),
            offer: get("offer"),
            from_card: get("from_card"),
            key: get("key"),
            errors: BTreeMap::new(),
        }
    }

    /// The payment asked, or the errors of the fields the page parses.
    fn request(&mut self, lang: Lang) -> Option<TransferRequest> {
        let w = words(lang);
        let to = self.to.parse::<i64>().ok().filter(|id| *id > 0);
        let amount = Money::parse(&self.amount.replace(',', "."))
            .ok()
            .filter(|a| a.is_positive());
        let offer = if self.offer.is_empty() {
            Ok(None)
        } else {
            self.offer.parse::<i64>().map(Some)
        };
        let from_card = if self.from_card.is_empty() {
            Ok(None)
        } else {
            CardId::parse(&self.from_card).map(Some)
        };
        if to.is_none() {
            self.errors
                .insert("form", lang.error(&DomainError::UnknownMember));
        }
        if offer.is_err() {
            self.errors
                .insert("offer", lang.error(&DomainError::UnknownOffer));
        }
        if amount.is_none() {
            self.errors.insert("amount", w.bad_amount.to_owned());
        }
        if self.note.chars().count() > MAX_NOTE {
            self.errors.insert(
                "note",
                lang.error(&DomainError::malformed(format!(
                    "field `note` must be 1 to {MAX_NOTE} characters"
                ))),
            );
        }
        if from_card.is_err() {
            self.errors
                .insert("from_card", lang.error(&DomainError::UnknownCard));
        }
        match (to, amount, offer, from_card) {
            (Some(to), Some(amount), Ok(offer), Ok(from_card)) if self.errors.is_empty() => {
                Some(TransferRequest {
                    to: MemberId(to),
                    amount,
                    offer,
                    note: (!self.note.is_empty()).then(|| self.note.clone()),
                    from_card,
                })
            }
            _ => None,
        }
    }

    /// Puts a refusal of the rules next to its field, or above the form.
    fn refusal(&mut self, lang: Lang, e: &DomainError) {
        let name = match e {
            DomainError::InsufficientFunds { .. }
            | DomainError::NegativePayment
            | DomainError::BalanceCeiling { .. } => "amount",
            DomainError::Malformed(text) if text.contains("`note`") => "note",
            DomainError::Malformed(text) if text.contains("`from_card`") => "from_card",
            DomainError::Malformed(text) if text.contains("amount") => "amount",
            DomainError::UnknownCard => "from_card",
            DomainError::UnknownOffer => "offer",
            _ => "form",
        };
        self.errors.insert(name, lang.error(e));
    }
}

#[derive(Deserialize)]
struct PayQuery {
    to: Option<String>,
    offer: Option<String>,
    amount: Option<String>,
    note: Option<String>,
}

/// Who is paid and for what, as the pay pages show it.
struct Payee {
    id: MemberId,
    name: String,
    offer: Option<Offer>,
}

async fn payee(
    req: &HttpRequest,
    exchange: &Exchange,
    page: &MemberPage,
    to: &str,
    offer: &str,
) -> Result<Payee, PageError> {
    let id = MemberId(id_of(req, page, to)?);
    let name = match exchange.member_name(&page.principal, id).await {
        Ok(name) => name,
        Err(DomainError::UnknownMember) => {
            return Err(PageError::NotFound(Chrome::member(req, page)))
        }
        Err(e) => return Err(refused(req, page, e)),
    };
    let offer = match offer.parse::<i64>() {
        Ok(offer) => exchange.offer(&page.principal, offer).await.ok(),
        Err(_) => None,
    };
    Ok(Payee { id, name, offer })
}

/// The member's cards a payment may come from (active ones).
async fn usable_cards(
    req: &HttpRequest,
    state: &WebState,
    page: &MemberPage,
) -> Result<Vec<Card>, PageError> {
    Ok(all_cards(req, state, page)
        .await?
        .into_iter()
        .filter(|(_, s)| *s == CardState::Active)
        .map(|(c, _)| c)
        .collect())
}

/// `/me/exchange/pay?to=MEMBER&offer=OFFER`: the form of a payment to a member.
async fn pay_page(
    req: HttpRequest,
    state: web::Data<WebState>,
    page: MemberPage,
    query: web::Query<PayQuery>,
) -> Result<HttpResponse, PageError> {
    let form = PayForm {
        to: query.to.clone().unwrap_or_default(),
        offer: query.offer.clone().unwrap_or_default(),
        amount: query.amount.clone().unwrap_or_default(),
        note: query.note.clone().unwrap_or_default(),
        ..PayForm::default()
    };
    pay_form_page(&req, &state, &page, form, StatusCode::OK).await
}

async fn pay_form_page(
    req: &HttpRequest,
    state: &WebState,
    page: &MemberPage,
    mut form: PayForm,
    status: StatusCode,
) -> Result<HttpResponse, PageError> {
    let exchange = on(req, state, page)?;
    let lang = page.lang;
    let w = words(lang);
    let payee = payee(req, exchange, page, &form.to, &form.offer).await?;
    let suspended = exchange
        .suspended(&page.principal)
        .await
        .map_err(|e| refused(req, page, e))?;
    let cards = usable_cards(req, state, page).await?;
    if form.key.is_empty() {
        form.key = one_time_key();
    }
    if form.amount.is_empty() {
        if let Some(price) = payee.offer.as_ref().and_then(|o| o.price) {
            form.amount = price.to_fixed2();
        }
    }
    let error = |name: &str| form.errors.get(name).map(String::as_str);
    let heading = format!("{} {}", w.pay_title, payee.name);
    Ok(exchange_page(
        req,
        page,
        status,
        &heading,
        suspended,
        html! {
            @if !suspended {
                section.card.narrow {
                    p.hint { (w.pay_intro) }
                    @if let Some(e) = error("form").or(error("offer")) { p.alert role="alert" { (e) } }
                    form.stack method="post" action="/me/exchange/pay" novalidate {
                        input type="hidden" name="csrf" value=(page.csrf);
                        input type="hidden" name="to" value=(payee.id.0);
                        @if let Some(offer) = &payee.offer {
                            input type="hidden" name="offer" value=(offer.id);
                            p { (w.for_offer) (lang.colon()) a href={ "/me/exchange/offers/" (offer.id) } { (excerpt(&offer.description, 60)) } }
                        }
                        @if cards.len() > 1 {
                            div.field {
                                label for="p-card" { (w.from_card) }
                                select #p-card name="from_card" aria-invalid=[error("from_card").map(|_| "true")]
                                    aria-describedby=[error("from_card").map(|_| "p-card-error")] {
                                    @for c in &cards {
                                        option value=(c.id) selected[form.from_card == c.id.as_str()] {
                                            (c.id) " · " (lang.money(c.balance))
                                        }
                                    }
                                }
                                @if let Some(e) = error("from_card") { p.field-error #p-card-error { (e) } }
                            }
                        } @else if let Some(e) = error("from_card") {
                            p.alert role="alert" { (e) }
                        }
                        div.field {
                            label for="p-amount" { (w.amount) }
                            input #p-amount type="text" name="amount" value=(form.amount) inputmode="decimal"
                                autocomplete="off" required
                                aria-invalid=[error("amount").map(|_| "true")]
                                aria-describedby=(if error("amount").is_some() { "p-amount-error p-amount-hint" } else { "p-amount-hint" });
                            p.hint #p-amount-hint { (w.amount_hint) }
                            @if let Some(e) = error("amount") { p.field-error #p-amount-error { (e) } }
                        }
                        div.field {
                            label for="p-note" { (w.note) }
                            input #p-note type="text" name="note" value=(form.note) maxlength=(MAX_NOTE)
                                autocomplete="off"
                                aria-invalid=[error("note").map(|_| "true")]
                                aria-describedby=(if error("note").is_some() { "p-note-error p-note-hint" } else { "p-note-hint" });
                            p.hint #p-note-hint { (w.note_hint) }
                            @if let Some(e) = error("note") { p.field-error #p-note-error { (e) } }
                        }
                        input type="hidden" name="key" value=(form.key);
                        button.primary type="submit" { (w.pay) }
                    }
                }
            }
        },
    ))
}

/// "Pay": without `confirm=yes`, the confirmation page (the form's values and its one-time
/// key carried over); with it, the payment (`Exchange::transfer` under the key, as `POST
/// /v1/transfers` with an `Idempotency-Key`), then its receipt. A refusal goes back to the
/// form, next to its field, and nothing is paid.
async fn pay(
    req: HttpRequest,
    state: web::Data<WebState>,
    page: MemberPage,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let lang = page.lang;
    let body = page.posted_form(&req, &body)?;
    let exchange = on(&req, &state, &page)?;
    let mut form = PayForm::read(&body);
    let Some(request) = form.request(lang) else {
        return pay_form_page(&req, &state, &page, form, StatusCode::UNPROCESSABLE_ENTITY).await;
    };
    if field(&body, "confirm") != Some("yes") {
        return confirm_page(&req, &state, exchange, &page, &form, &request).await;
    }
    let key = (!form.key.is_empty()).then(|| {
        let hash = token_hash(&format!("POST /me/exchange/pay\n{}", request.fingerprint()));
        (format!("web-{}", form.key), hash)
    });
    match exchange.transfer(&page.principal, request, key).await {
        Ok(done) => Ok(see_other(&format!(
            "/me/exchange/transfers/{}",
            done.receipt.transaction.0
        ))),
        Err(DomainError::UnknownMember) => Err(PageError::NotFound(Chrome::member(&req, &page))),
        Err(e @ DomainError::StorageUnavailable) => Err(refused(&req, &page, e)),
        Err(DomainError::ExchangeDisabled) => Err(PageError::NotFound(Chrome::member(&req, &page))),
        Err(e) => {
            form.refusal(lang, &e);
            // A refused form gets a new key: what is typed next is another request.
            form.key = String::new();
            pay_form_page(&req, &state, &page, form, StatusCode::UNPROCESSABLE_ENTITY).await
        }
    }
}

/// The page before paying: how much, to whom, from which card, for what.
async fn confirm_page(
    req: &HttpRequest,
    state: &WebState,
    exchange: &Exchange,
    page: &MemberPage,
    form: &PayForm,
    request: &TransferRequest,
) -> Result<HttpResponse, PageError> {
    let lang = page.lang;
    let w = words(lang);
    let payee = payee(req, exchange, page, &form.to, &form.offer).await?;
    let cards = usable_cards(req, state, page).await?;
    let from = match &request.from_card {
        Some(card) => Some(card.clone()),
        None if cards.len() == 1 => cards.first().map(|c| c.id.clone()),
        None => None,
    };
    let amount = lang.money(request.amount);
    let mut back = format!(
        "/me/exchange/pay?to={}&amount={}&note={}",
        payee.id.0,
        crate::pages::encode(&form.amount),
        crate::pages::encode(&form.note)
    );
    if let Some(offer) = request.offer {
        back.push_str(&format!("&offer={offer}"));
    }
    Ok(me_page(
        req,
        page,
        StatusCode::OK,
        w.confirm_title,
        html! {
            section.card.narrow role="alertdialog" aria-labelledby="confirm-title" aria-describedby="confirm-text" {
                h1 #confirm-title { (w.confirm_title) }
                dl.figures {
                    div { dt { (w.amount) } dd { output aria-label="Amount" { (amount) } } }
                    div { dt { (w.to) } dd { (payee.name) } }
                    @if let Some(card) = &from { div { dt { (w.from_card) } dd { (card) } } }
                    @if let Some(offer) = &payee.offer { div { dt { (w.for_offer) } dd { (excerpt(&offer.description, 60)) } } }
                    @if let Some(note) = &request.note { div { dt { (w.note) } dd { (note) } } }
                }
                p #confirm-text { (w.confirm_text) }
                form.stack method="post" action="/me/exchange/pay" {
                    input type="hidden" name="csrf" value=(page.csrf);
                    input type="hidden" name="to" value=(payee.id.0);
                    input type="hidden" name="amount" value=(request.amount.to_fixed2());
                    input type="hidden" name="note" value=(form.note);
                    input type="hidden" name="offer" value=(form.offer);
                    input type="hidden" name="from_card" value=(form.from_card);
                    input type="hidden" name="key" value=(form.key);
                    input type="hidden" name="confirm" value="yes";
                    button.primary type="submit" { (w.confirm) }
                }
                p { a href=(back) { (w.change) } }
            }
        },
    ))
}

/// A payment between members as one of its two members sees it: the receipt after paying.
async fn receipt(
    req: HttpRequest,
    state: web::Data<WebState>,
    page: MemberPage,
    id: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let exchange = on(&req, &state, &page)?;
    let id = TransactionId(id_of(&req, &page, &id)?);
    let lang = page.lang;
    let w = words(lang);
    let t: Transfer = exchange
        .transfer_record(&page.principal, id)
        .await
        .map_err(|e| refused(&req, &page, e))?;
    let me = page.id();
    let paid = t.from_member == me;
    let (other, my_card) = if paid {
        (t.to_member, &t.from_card)
    } else {
        (t.from_member, &t.to_card)
    };
    let other_name = name_of(&req, exchange, &page, other).await?;
    let cards = all_cards(&req, &state, &page).await?;
    let balance = cards
        .iter()
        .find(|(c, _)| &c.id == my_card)
        .map(|(c, _)| c.balance);
    let offer = match t.offer {
        Some(offer) => exchange.offer(&page.principal, offer).await.ok(),
        None => None,
    };
    let signed = if paid { t.amount.negated() } else { t.amount };
    Ok(exchange_page(
        &req,
        &page,
        StatusCode::OK,
        w.receipt_title,
        false,
        html! {
            section.card.narrow {
                @if t.cancelled_by.is_none() && paid {
                    p.ok role="status" { (w.paid) " " (lang.money(t.amount)) " → " (other_name) }
                }
                dl.figures {
                    div { dt { (if paid { w.paid } else { w.received }) } dd { output aria-label="Amount" { (lang.money(signed)) } } }
                    div { dt { (if paid { w.to } else { w.from }) } dd { (other_name) } }
                    div { dt { (w.when) } dd { (t.created_at.with_timezone(&state.time_zone).format("%Y-%m-%d %H:%M")) } }
                    div { dt { (w.status) } dd { (if t.cancelled_by.is_some() { w.cancelled } else { w.done }) } }
                    @if let Some(offer) = &offer {
                        div { dt { (w.for_offer) } dd { a href={ "/me/exchange/offers/" (offer.id) } { (excerpt(&offer.description, 60)) } } }
                    }
                    @if let Some(note) = &t.note { div { dt { (w.note) } dd { (note) } } }
                }
                @if let Some(balance) = balance {
                    p.balance {
                        (w.your_balance) (lang.colon())
                        output aria-label="Balance" { (lang.money(balance)) }
                    }
                }
                p { a href={ "/me/cards/" (my_card) } { (w.history) " " (my_card) } }
            }
        },
    ))
}
