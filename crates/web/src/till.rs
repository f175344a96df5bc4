//! `/till`: scan a card, take payments, top up, hand back, open cards, cancel and redo.
//!
//! `GET /till?card=X` shows a card; `POST /till` is the one money form. Every money form
//! carries a one-time key (`key`) that goes to the rules as the `Idempotency-Key` of `/v1`
//! would ([`Bar::staff_once`]): a double click, a reload or a resent form answers the first
//! receipt and never moves money twice.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use ardoise_auth::{token_hash, OsTokens};
use ardoise_domain::bar::check_correction;
use ardoise_domain::ports::TokenSource;
use ardoise_domain::{
    Actor, Applied, Card, CardId, DomainError, Money, Operation, Page, PayBy, Product, StaffMove,
    Transaction, TransactionId, TransactionKind, VoucherCode,
};
use maud::{html, Markup};
use serde::Deserialize;

use crate::i18n::Lang;
use crate::pages::{html_page, layout, Chrome, PageError};
use crate::session::StaffPage;
use crate::WebState;

pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/till", web::get().to(show))
        .route("/till", web::post().to(act));
}

/// How many of the staff member's latest transactions the till lists.
const RECENT: u32 = 8;

/// A fresh one-time key for a money form: when it was issued (milliseconds since 1970, 11
/// hexadecimal digits), then 16 random letters and digits. Keys issued later sort after the
/// earlier ones, so the store adds each new key at the end of its index rather than at a
/// random place (a batch of till payments writes one page of keys, not one per payment); the
/// random part keeps every key unique and unguessable.
pub(crate) fn one_time_key() -> String {
    let millis = u64::try_from(chrono::Utc::now().timestamp_millis()).unwrap_or(0);
    format!("{millis:011x}{}", OsTokens.alphanumeric(16))
}

/// The outcome line above the card: a success (`status`) or a refusal (`alert`).
enum Outcome {
    Done(String),
    Refused(String),
}

/// An error next to a field, naming the problem.
#[derive(Default)]
struct FieldErrors {
    card: Option<String>,
    amount: Option<String>,
}

/// Everything the till page shows.
struct Till {
    /// The card as typed, when one was scanned.
    card_id: Option<String>,
    /// The card, when it exists and the user may read it.
    card: Option<Card>,
    member: Option<String>,
    unknown: bool,
    /// This staff member's latest transactions, newest first (`None`: not theirs to read).
    recent: Option<Vec<Transaction>>,
    products: Vec<Product>,
    categories: Vec<String>,
    order: Vec<(String, u32)>,
    amount: String,
    outcome: Option<Outcome>,
    errors: FieldErrors,
    /// How long staff below rights 3 may correct their own transactions.
    window: chrono::Duration,
    time_zone: chrono_tz::Tz,
    /// Whether the "Voucher" box is shown (the vouchers are wired).
    vouchers: bool,
}

#[derive(Deserialize)]
struct ShowQuery {
    card: Option<String>,
}

async fn show(
    req: HttpRequest,
    state: web::Data<WebState>,
    page: StaffPage,
    query: web::Query<ShowQuery>,
) -> Result<HttpResponse, PageError> {
    let mut till = Till::new(&state, &page).await?;
    let typed = query.card.as_deref().map(str::trim).unwrap_or_default();
    till.load(&state, &page, Some(typed).filter(|t| !t.is_empty()), true)
        .await?;
    Ok(till.render(&req, &page, StatusCode::OK))
}

/// The money form, as posted. Product buttons add an `item` each (the script adds them
/// without a round trip; without the script, `add` does).
#[derive(Default)]
struct TillForm {
    csrf: Option<String>,
    key: Option<String>,
    card: String,
    amount: String,
    items: Vec<String>,
    add: Option<String>,
    action: String,
    transaction: Option<String>,
    voucher: String,
}

impl TillForm {
    fn parse(body: &[u8]) -> Option<TillForm> {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body).ok()?;
        let mut form = TillForm::default();
        for (name, value) in pairs {
            match name.as_str() {
                "csrf" => form.csrf = Some(value),
                "key" => form.key = Some(value),
                "card" => form.card = value.trim().to_owned(),
                "amount" => form.amount = value.trim().to_owned(),
                "item" => form.items.push(value),
                "add" => form.add = Some(value),
                "action" => form.action = value,
                "transaction" => form.transaction = Some(value),
                "voucher" => form.voucher = value.trim().to_owned(),
                _ => {}
            }
        }
        Some(form)
    }
}

/// Groups the order's units by product, in the order they were first pressed.
fn group(items: &[String]) -> Vec<(String, u32)> {
    let mut order: Vec<(String, u32)> = Vec::new();
    for item in items {
        match order.iter_mut().find(|(name, _)| name == item) {
            Some((_, n)) => *n = n.saturating_add(1),
            None => order.push((item.clone(), 1)),
        }
    }
    order
}

/// An amount as typed at the till: `12.50` or `12,50`.
fn parse_amount(lang: Lang, text: &str) -> Result<Money, String> {
    if text.is_empty() {
        return Err(lang.t().need_amount.to_owned());
    }
    Money::parse(&text.replace(',', ".")).map_err(|_| lang.t().need_amount.to_owned())
}

async fn act(
    req: HttpRequest,
    state: web::Data<WebState>,
    page: StaffPage,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let form = TillForm::parse(&body).ok_or(PageError::BadForm(page.lang))?;
    page.check_post(&req, form.csrf.as_deref())?;
    let lang = page.lang;
    let t = lang.t();
    let mut till = Till::new(&state, &page).await?;
    till.amount = form.amount.clone();
    let mut items = form.items.clone();
    if form.action == "clear" {
        items.clear();
    }
    if let Some(product) = &form.add {
        items.push(product.clone());
    }
    till.order = group(&items);

    let card = CardId::parse(&form.card).ok();
    if form.action == "redeem" {
        let mut status = StatusCode::OK;
        match redeem(&state, &page, &form).await {
            Ok(text) => till.outcome = Some(Outcome::Done(text)),
            Err(DomainError::InvalidToken) => {
                return Err(PageError::Login {
                    next: "/till".to_owned(),
                    expired: true,
                })
            }
            Err(e @ (DomainError::StorageUnavailable | DomainError::Internal(_))) => {
                return Err(PageError::from_domain(lang, e))
            }
            Err(e) => {
                till.outcome = Some(Outcome::Refused(lang.error(&e)));
                status = StatusCode::UNPROCESSABLE_ENTITY;
            }
        }
        if !form.card.is_empty() {
            till.load(&state, &page, Some(&form.card), false).await?;
        }
        return Ok(till.render(&req, &page, status));
    }
    let needs_card = matches!(form.action.as_str(), "pay" | "topup" | "drain" | "open");
    if needs_card && card.is_none() {
        till.errors.card = Some(t.need_card.to_owned());
        till.load(&state, &page, None, true).await?;
        return Ok(till.render(&req, &page, StatusCode::UNPROCESSABLE_ENTITY));
    }
    let key = form.key.clone().unwrap_or_default();
    let outcome = match (form.action.as_str(), &card) {
        ("pay", Some(card)) => {
            if till.order.is_empty() {
                match parse_amount(lang, &form.amount) {
                    Ok(amount) => Some(
                        once(
                            &state,
                            &page.actor,
                            StaffMove::Pay {
                                card: card.clone(),
                                by: PayBy::Amount(amount),
                            },
                            &key,
                            0,
                        )
                        .await
                        .map(|a| (t.paid, a)),
                    ),
                    Err(message) => {
                        till.errors.amount = Some(message);
                        None
                    }
                }
            } else {
                match pay_order(&state, &page.actor, card, &till.order, &key).await {
                    Ok(applied) => Some(Ok((t.paid, applied))),
                    Err(part) if part.paid.is_empty() => Some(Err(part.error)),
                    Err(part) => {
                        // Some lines were paid: say which, and keep the others in the order.
                        let mut text = format!(
                            "{} {} {}",
                            lang.error(&part.error),
                            t.order_not_paid,
                            lines(&part.unpaid)
                        );
                        text.push_str(&format!(" — {} {}", t.order_paid, lines(&part.paid)));
                        if let Some(last) = &part.last {
                            text.push_str(&format!(
                                " ({}) — {} {}",
                                lang.money(last.receipt.amount),
                                t.new_balance,
                                lang.money(last.receipt.balance_after)
                            ));
                        }
                        if matches!(
                            part.error,
                            DomainError::StorageUnavailable | DomainError::Internal(_)
                        ) {
                            tracing::error!(error = %part.error, "an order stopped part-way");
                        }
                        till.outcome = Some(Outcome::Refused(text));
                        till.order = part.unpaid;
                        None
                    }
                }
            }
        }
        ("topup" | "open", Some(card)) => match parse_amount(lang, &form.amount) {
            Ok(amount) => {
                let (request, label) = if form.action == "topup" {
                    (
                        StaffMove::TopUp {
                            card: card.clone(),
                            amount,
                        },
                        t.topped_up,
                    )
                } else {
                    (
                        StaffMove::OpenCard {
                            card: card.clone(),
                            opening: amount,
                            overdraft: false,
                        },
                        t.opened,
                    )
                };
                Some(
                    once(&state, &page.actor, request, &key, 0)
                        .await
                        .map(|a| (label, a)),
                )
            }
            Err(message) => {
                till.errors.amount = Some(message);
                None
            }
        },
        ("drain", Some(card)) => Some(
            once(
                &state,
                &page.actor,
                StaffMove::Drain { card: card.clone() },
                &key,
                0,
            )
            .await
            .map(|a| (t.handed_back, a)),
        ),
        (action @ ("cancel" | "redo"), _) => {
            match form
                .transaction
                .as_deref()
                .and_then(|id| id.parse::<i64>().ok())
            {
                Some(id) => {
                    let (request, label) = if action == "cancel" {
                        (StaffMove::Cancel(TransactionId(id)), t.was_cancelled)
                    } else {
                        (StaffMove::Redo(TransactionId(id)), t.was_redone)
                    };
                    Some(
                        once(&state, &page.actor, request, &key, 0)
                            .await
                            .map(|a| (label, a)),
                    )
                }
                None => Some(Err(DomainError::UnknownTransaction)),
            }
        }
        _ => None,
    };
    let mut status = StatusCode::OK;
    let mut paid = false;
    match outcome {
        Some(Ok((label, applied))) => {
            let mut text = format!(
                "{label} {} — {} {}",
                lang.money(applied.receipt.amount),
                t.new_balance,
                lang.money(applied.receipt.balance_after)
            );
            if applied.replayed {
                text.push(' ');
                text.push_str(t.already_done);
            }
            till.outcome = Some(Outcome::Done(text));
            paid = true;
        }
        Some(Err(DomainError::InvalidToken)) => {
            return Err(PageError::Login {
                next: "/till".to_owned(),
                expired: true,
            })
        }
        Some(Err(e @ (DomainError::StorageUnavailable | DomainError::Internal(_)))) => {
            return Err(PageError::from_domain(lang, e))
        }
        Some(Err(e)) => {
            till.outcome = Some(Outcome::Refused(lang.error(&e)));
            status = StatusCode::UNPROCESSABLE_ENTITY;
        }
        None if till.errors.amount.is_some() || till.outcome.is_some() => {
            status = StatusCode::UNPROCESSABLE_ENTITY
        }
        None => {}
    }
    if paid {
        // A movement done: the next one starts from an empty order and amount.
        till.order.clear();
        till.amount.clear();
    }
    let shown = card
        .as_ref()
        .map(|c| c.to_string())
        .unwrap_or_else(|| form.card.clone());
    till.load(
        &state,
        &page,
        Some(shown.as_str()).filter(|s| !s.is_empty()),
        true,
    )
    .await?;
    Ok(till.render(&req, &page, status))
}

/// Redeems the voucher typed in "Voucher" on the scanned card, if any (a ticket needs none):
/// exactly once, as `/v1/vouchers/{code}/redeem`. What the outcome line says.
async fn redeem(
    state: &WebState,
    page: &StaffPage,
    form: &TillForm,
) -> Result<String, DomainError> {
    let lang = page.lang;
    let t = lang.t();
    let vouchers = state
        .vouchers
        .as_ref()
        .ok_or_else(|| DomainError::Internal("the vouchers are not wired".into()))?;
    let code = VoucherCode::parse(&form.voucher)?;
    let card = match form.card.as_str() {
        "" => None,
        text => Some(CardId::parse(text).map_err(|e| DomainError::malformed(e.to_string()))?),
    };
    let done = vouchers.redeem(&page.actor, &code, card.as_ref()).await?;
    Ok(match done.receipt {
        Some(r) if r.amount.is_positive() => format!(
            "{} {} {} — {} {}",
            t.voucher_redeemed,
            code,
            lang.money(r.amount),
            t.new_balance,
            lang.money(r.balance_after)
        ),
        _ => format!(
            "{} {} {}",
            t.voucher_redeemed,
            code,
            done.voucher
                .product
                .or(done.voucher.label)
                .unwrap_or_default()
        ),
    })
}

/// Applies one staff movement under the form's one-time key (`index` tells apart the lines
/// of one order, each its own movement).
async fn once(
    state: &WebState,
    actor: &Actor,
    request: StaffMove,
    key: &str,
    index: usize,
) -> Result<Applied, DomainError> {
    let keyed = if key.is_empty() {
        None
    } else {
        let hash = token_hash(&format!("POST /till\n{}", request.fingerprint()));
        Some((format!("web-{key}-{index}"), hash))
    };
    state.bar.staff_once(actor, request, keyed).await
}

/// An order refused part-way: the error of the refused line, what was paid before it (the
/// last receipt, the lines), and what was not.
struct PartlyPaid {
    error: DomainError,
    paid: Vec<(String, u32)>,
    last: Option<Applied>,
    unpaid: Vec<(String, u32)>,
}

/// Pays an order, one payment by quantity per product (so bundle prices apply and the
/// report counts the units). The receipt shown sums the lines; a refused line stops the
/// order, and the answer says which lines were paid and which were not.
async fn pay_order(
    state: &WebState,
    actor: &Actor,
    card: &CardId,
    order: &[(String, u32)],
    key: &str,
) -> Result<Applied, PartlyPaid> {
    let mut total: Option<Applied> = None;
    for (index, (product, quantity)) in order.iter().enumerate() {
        let request = StaffMove::Pay {
            card: card.clone(),
            by: PayBy::Quantity {
                quantity: i64::from(*quantity),
                product: Some(product.clone()),
            },
        };
        let applied = match once(state, actor, request, key, index).await {
            Ok(applied) => applied,
            Err(error) => {
                return Err(PartlyPaid {
                    error,
                    paid: order[..index].to_vec(),
                    last: total,
                    unpaid: order[index..].to_vec(),
                })
            }
        };
        total = Some(match total {
            None => applied,
            Some(mut sum) => {
                sum.receipt.amount = sum
                    .receipt
                    .amount
                    .checked_add(applied.receipt.amount)
                    .unwrap_or(sum.receipt.amount);
                sum.receipt.balance_after = applied.receipt.balance_after;
                sum.replayed &= applied.replayed;
                sum
            }
        });
    }
    total.ok_or_else(|| PartlyPaid {
        error: DomainError::malformed("the order is empty"),
        paid: Vec::new(),
        last: None,
        unpaid: Vec::new(),
    })
}

/// `21:05`: a transaction's local time on the till (written directly: the till's list
/// renders ten of them per answer, and a `strftime` pattern is parsed on each use).
fn hour_minute(at: chrono::DateTime<chrono_tz::Tz>) -> String {
    use chrono::Timelike;
    format!("{:02}:{:02}", at.hour(), at.minute())
}

/// Order lines as the alert names them: `2 × biere, 1 × chips`.
fn lines(order: &[(String, u32)]) -> String {
    order
        .iter()
        .map(|(product, quantity)| format!("{quantity} × {product}"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl Till {
    async fn new(state: &WebState, page: &StaffPage) -> Result<Till, PageError> {
        let actor = &page.actor;
        let (products, categories) = if actor.may(Operation::ReadCatalog) {
            let all =
                Page::new(Some(1), Some(500)).map_err(|e| PageError::from_domain(page.lang, e))?;
            let products = state
                .bar
                .product_page(actor, None, all)
                .await
                .map_err(|e| PageError::from_domain(page.lang, e))?
                .items;
            let categories = state
                .bar
                .category_page(actor, all)
                .await
                .map_err(|e| PageError::from_domain(page.lang, e))?
                .items
                .into_iter()
                .map(|c| c.name)
                .collect();
            (products, categories)
        } else {
            (Vec::new(), Vec::new())
        };
        Ok(Till {
            card_id: None,
            card: None,
            member: None,
            unknown: false,
            recent: None,
            products,
            categories,
            order: Vec::new(),
            amount: String::new(),
            outcome: None,
            errors: FieldErrors::default(),
            window: state.bar.policy().cancel_window,
            time_zone: state.time_zone,
            vouchers: state.vouchers.is_some(),
        })
    }

    /// Reads the scanned card `typed`, if any (its balance and state, its member's name)
    /// and, with `recent`, this staff member's latest transactions (after the form's
    /// movement, if any): one read of the ledger.
    async fn load(
        &mut self,
        state: &WebState,
        page: &StaffPage,
        typed: Option<&str>,
        recent: bool,
    ) -> Result<(), PageError> {
        let lang = page.lang;
        let actor = &page.actor;
        let mut card = None;
        if let Some(typed) = typed {
            match CardId::parse(typed) {
                Ok(id) => {
                    self.card_id = Some(id.to_string());
                    card = Some(id);
                }
                Err(_) => {
                    self.errors.card = Some(lang.error(&DomainError::malformed(format!(
                        "`{typed}` is not a card id"
                    ))));
                }
            }
        }
        let card = card.filter(|_| actor.may(Operation::ReadBalance));
        if card.is_none() && !recent {
            return Ok(());
        }
        let read = state
            .bar
            .till_view(actor, card.as_ref(), recent, RECENT)
            .await
            .map_err(|e| PageError::from_domain(lang, e))?;
        if recent && actor.may(Operation::OwnTransactions) {
            self.recent = Some(read.recent);
        }
        if card.is_none() {
            return Ok(());
        }
        let Some(found) = read.card else {
            self.unknown = true;
            return Ok(());
        };
        if let Some(member) = found.member {
            if actor.may(Operation::ManageMembers) {
                self.member = match read.member {
                    Some(m) => member_name(&m.profile),
                    // A ledger that does not read members with the card.
                    None => match state.members.member(actor, member).await {
                        Ok(m) => member_name(&m.profile),
                        Err(_) => None,
                    },
                };
            }
        }
        self.card = Some(found);
        Ok(())
    }

    fn render(&self, req: &HttpRequest, page: &StaffPage, status: StatusCode) -> HttpResponse {
        let chrome = Chrome::staff(req, page);
        let t = page.lang.t();
        html_page(status, layout(&chrome, t.till, self.markup(page)))
    }

    fn markup(&self, page: &StaffPage) -> Markup {
        let lang = page.lang;
        let t = lang.t();
        let actor = &page.actor;
        // One random key per page; each correction form's is derived from it (the key, a
        // dash and the transaction's id), so a page asks the system for randomness once.
        let key = one_time_key();
        let card_value = self.card_id.clone().unwrap_or_default();
        let now = chrono::Utc::now();
        html! {
            h1.sr-only { (t.till) }
            div.till {
                section.scan aria-labelledby="card" {
                    form.scanform method="get" action="/till" data-enhance="scan" {
                        label for="card" { (t.card) }
                        div.row {
                            input #card type="text" name="card" autofocus autocomplete="off"
                                autocapitalize="characters" spellcheck="false" inputmode="text"
                                aria-invalid=[self.errors.card.as_ref().map(|_| "true")]
                                aria-describedby=[self.errors.card.as_ref().map(|_| "card-error")];
                            button type="submit" { (t.show_card) }
                        }
                        @if let Some(error) = &self.errors.card {
                            p #card-error .field-error { (error) }
                        }
                    }
                    @if self.vouchers && actor.may(Operation::RedeemVoucher) {
                        form.voucherform method="post" action="/till" {
                            input type="hidden" name="csrf" value=(page.csrf);
                            input type="hidden" name="card" value=(card_value);
                            label for="voucher" { (t.voucher) }
                            div.row {
                                input #voucher type="text" name="voucher" autocomplete="off"
                                    autocapitalize="characters" spellcheck="false";
                                button type="submit" name="action" value="redeem" { (t.redeem) }
                            }
                        }
                    }
                    @match &self.outcome {
                        Some(Outcome::Done(text)) => p.ok role="status" { (text) },
                        Some(Outcome::Refused(text)) => p.alert role="alert" { (text) },
                        None => {},
                    }
                    @if let Some(id) = &self.card_id {
                        div.cardinfo {
                            p.cardid { (t.card) " " strong { (id) } }
                            @if let Some(card) = &self.card {
                                output.balance aria-label=(t.balance) { (lang.money(card.balance)) }
                                p.meta {
                                    span.badge.{"state-" (card.state_at(now))} {
                                        (t.status) (lang.colon()) (lang.state(card.state_at(now)))
                                    }
                                    @if let Some(member) = &self.member {
                                        span.badge { (t.member) (lang.colon()) (member) }
                                    }
                                }
                            } @else if self.unknown {
                                p.hint { (t.unknown_card_hint) }
                            }
                        }
                    } @else {
                        p.hint { (t.no_card) }
                    }
                }
                form #till-form .pad method="post" action="/till" data-enhance="pay" {
                    input type="hidden" name="csrf" value=(page.csrf);
                    input type="hidden" name="key" value=(key);
                    input type="hidden" name="card" value=(card_value);
                    @if actor.may(Operation::Pay) && !self.products.is_empty() {
                        section.products aria-label=(t.products) {
                            @for (heading, products) in self.grouped() {
                                h2 { (heading.unwrap_or(t.other_products)) }
                                div.grid {
                                    @for p in products {
                                        button.product type="submit" name="add" value=(p.name)
                                            data-price=(p.unit_price.cents()) {
                                            span.pname { (p.name) }
                                            " "
                                            span.price { (lang.money(p.unit_price)) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                    section.order aria-label=(t.order) {
                        h2 { (t.order) }
                        div #order-lines {
                            @for (product, quantity) in &self.order {
                                @for _ in 0..*quantity {
                                    input type="hidden" name="item" value=(product);
                                }
                            }
                            @if self.order.is_empty() {
                                p.hint { (t.order_empty) }
                            } @else {
                                ul {
                                    @for (product, quantity) in &self.order {
                                        li { (quantity) " × " (product) }
                                    }
                                }
                                @if let Some(total) = self.order_total() {
                                    p.total { (t.total) " " strong { (lang.money(total)) } }
                                }
                            }
                        }
                        div.row {
                            button.quiet type="submit" name="action" value="clear" { (t.clear) }
                        }
                        label for="amount" { (t.amount) }
                        input #amount type="text" name="amount" value=(self.amount)
                            inputmode="decimal" autocomplete="off" placeholder="0.00"
                            aria-invalid=[self.errors.amount.as_ref().map(|_| "true")]
                            aria-describedby=[self.errors.amount.as_ref().map(|_| "amount-error")];
                        @if let Some(error) = &self.errors.amount {
                            p #amount-error .field-error { (error) }
                        }
                        div.actions {
                            @if actor.may(Operation::Pay) {
                                button.primary.big type="submit" name="action" value="pay" { (t.pay) }
                            }
                            @if actor.may(Operation::TopUp) {
                                button type="submit" name="action" value="topup" { (t.top_up) }
                            }
                            @if actor.may(Operation::Drain) {
                                button type="submit" name="action" value="drain" { (t.hand_back) }
                            }
                            @if actor.may(Operation::CreateCard) {
                                button type="submit" name="action" value="open" { (t.new_card) }
                            }
                        }
                    }
                }
                @if let Some(recent) = &self.recent {
                    section.recent aria-labelledby="recent-title" {
                        h2 #recent-title { (t.recent) }
                        @if recent.is_empty() {
                            p.hint { (t.recent_none) }
                        } @else {
                            ol.txlist {
                                @for tx in recent {
                                    li.tx.cancelled[!tx.valid] {
                                        span.kind { (kind_name(lang, tx.kind)) }
                                        span.txcard { (tx.card) }
                                        @if let Some(product) = &tx.product {
                                            span.what { (tx.quantity) " × " (product) }
                                        }
                                        span.amount { (lang.money(tx.amount)) }
                                        span.when { (hour_minute(tx.created_at.with_timezone(&self.time_zone))) }
                                        @if !tx.valid { span.badge { (t.cancelled) } }
                                        @if let Some(valid_after) = self.correction(actor, tx, now) {
                                            form.inline method="post" action="/till" data-enhance="pay" {
                                                input type="hidden" name="csrf" value=(page.csrf);
                                                input type="hidden" name="key" value=(format!("{key}-{}", tx.id.0));
                                                input type="hidden" name="card" value=(card_value);
                                                input type="hidden" name="transaction" value=(tx.id.0);
                                                @if valid_after {
                                                    button.small type="submit" name="action" value="redo" { (t.redo) }
                                                } @else {
                                                    button.small type="submit" name="action" value="cancel" { (t.cancel) }
                                                }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// Whether the rules allow a cancel (`Some(false)`) or a redo (`Some(true)`) now.
    fn correction(
        &self,
        actor: &Actor,
        tx: &Transaction,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Option<bool> {
        let valid_after = !tx.valid;
        let op = if valid_after {
            Operation::Redo
        } else {
            Operation::Cancel
        };
        (actor.may(op) && check_correction(actor, tx, valid_after, now, self.window).is_ok())
            .then_some(valid_after)
    }

    /// The products by category heading, in the categories' order, then those without one.
    fn grouped(&self) -> Vec<(Option<&str>, Vec<&Product>)> {
        let mut groups: Vec<(Option<&str>, Vec<&Product>)> = self
            .categories
            .iter()
            .map(|c| (Some(c.as_str()), Vec::new()))
            .collect();
        let mut other = Vec::new();
        for p in &self.products {
            match groups
                .iter_mut()
                .find(|(c, _)| c.is_some() && *c == p.category.as_deref())
            {
                Some((_, list)) => list.push(p),
                None => other.push(p),
            }
        }
        groups.retain(|(_, list)| !list.is_empty());
        if !other.is_empty() {
            groups.push((None, other));
        }
        groups
    }

    /// What the order costs, with bundle prices, when every product is known.
    fn order_total(&self) -> Option<Money> {
        let mut total = Money::ZERO;
        for (name, quantity) in &self.order {
            let product = self.products.iter().find(|p| &p.name == name)?;
            total = total.checked_add(product.price_for(*quantity)?)?;
        }
        Some(total)
    }
}

/// A member's name as the till shows it.
pub(crate) fn member_name(p: &ardoise_domain::Profile) -> Option<String> {
    if let Some(d) = &p.display_name {
        return Some(d.clone());
    }
    match (&p.first_name, &p.last_name) {
        (Some(f), Some(l)) => Some(format!("{f} {l}")),
        (Some(n), None) | (None, Some(n)) => Some(n.clone()),
        (None, None) => None,
    }
}

/// A transaction's kind in words.
pub(crate) fn kind_name(lang: Lang, kind: TransactionKind) -> &'static str {
    let t = lang.t();
    match kind {
        TransactionKind::Creation => t.kind_creation,
        TransactionKind::TopUp => t.kind_topup,
        TransactionKind::Payment => t.kind_payment,
        TransactionKind::Drain => t.kind_drain,
        TransactionKind::TransferOut | TransactionKind::TransferIn => t.kind_transfer,
        TransactionKind::ImportAdjustment => t.kind_import_adjustment,
        TransactionKind::Coupon => t.kind_coupon,
        TransactionKind::PartnerDebit => t.kind_partner_debit,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_order_groups_units_by_product_in_pressing_order() {
        let items: Vec<String> = ["chips", "biere", "chips"].map(String::from).to_vec();
        assert_eq!(
            group(&items),
            vec![("chips".to_owned(), 2), ("biere".to_owned(), 1)]
        );
    }

    #[test]
    fn one_time_keys_sort_in_the_order_they_were_issued() {
        let first = one_time_key();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let second = one_time_key();
        assert_eq!(first.len(), 27);
        assert!(first.bytes().all(|b| b.is_ascii_alphanumeric()));
        assert!(first < second, "{first} then {second}");
        assert_ne!(first[11..], second[11..], "the random parts differ");
    }

    #[test]
    fn a_transaction_shows_its_local_hour_and_minute() {
        use chrono::TimeZone;
        let at = chrono::Utc.with_ymd_and_hms(2026, 7, 14, 19, 5, 0).unwrap();
        assert_eq!(
            hour_minute(at.with_timezone(&chrono_tz::Europe::Paris)),
            "21:05"
        );
        assert_eq!(hour_minute(at.with_timezone(&chrono_tz::UTC)), "19:05");
    }

    #[test]
    fn amounts_take_a_comma_or_a_point() {
        assert_eq!(parse_amount(Lang::Fr, "12,50").map(|m| m.cents()), Ok(1250));
        assert_eq!(parse_amount(Lang::En, "12.50").map(|m| m.cents()), Ok(1250));
        assert!(parse_amount(Lang::En, "").is_err());
        assert!(parse_amount(Lang::En, "abc").is_err());
    }
}
