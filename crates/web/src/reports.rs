//! `/office/reports`: the day's takings (or any period's) in the bar's time zone, by
//! product, by hour (an inline SVG chart), by staff member and by top-up source; the money
//! held on cards at the end; the members' exchange (payments between members, not takings); the
//! printable Z report; the CSV of the period.

use std::collections::BTreeMap;

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use ardoise_domain::exchange::ExchangeVolume;
use ardoise_domain::voucher::VoucherTotals;
use ardoise_domain::{DomainError, Money, Operation, Period, Principal, TransactionKind};
use chrono::{DateTime, NaiveDate, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use maud::{html, Markup};
use serde::Deserialize;

use crate::i18n::Lang;
use crate::office::{office_page, refused};
use crate::pages::{html_page, layout, secure, Chrome, PageError};
use crate::session::StaffPage;
use crate::WebState;

pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/office/reports", web::get().to(reports))
        .route("/office/reports/z", web::get().to(z_report))
        .route("/office/reports/csv", web::get().to(csv));
}

#[derive(Deserialize)]
struct PeriodQuery {
    from: Option<String>,
    to: Option<String>,
}

/// The period asked, as typed, and the days it stands for (both included).
struct Asked {
    from_text: String,
    to_text: String,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
}

fn today(tz: Tz) -> NaiveDate {
    Utc::now().with_timezone(&tz).date_naive()
}

fn asked(tz: Tz, query: &PeriodQuery) -> Asked {
    let day = |text: &Option<String>| -> (String, Option<NaiveDate>) {
        match text.as_deref().map(str::trim) {
            None | Some("") => {
                let d = today(tz);
                (d.to_string(), Some(d))
            }
            Some(t) => (t.to_owned(), NaiveDate::parse_from_str(t, "%Y-%m-%d").ok()),
        }
    };
    let (from_text, from) = day(&query.from);
    let (to_text, to) = match &query.to {
        None => (from_text.clone(), from),
        Some(_) => day(&query.to),
    };
    Asked {
        from_text,
        to_text,
        from,
        to,
    }
}

/// The first instant of a local day in UTC.
pub(crate) fn start_of(tz: Tz, day: NaiveDate) -> DateTime<Utc> {
    let midnight = day.and_hms_opt(0, 0, 0).unwrap_or_default();
    tz.from_local_datetime(&midnight)
        .earliest()
        .map(|d| d.with_timezone(&Utc))
        .unwrap_or_else(|| midnight.and_utc())
}

/// The figures of a period.
#[derive(Default)]
struct Takings {
    payments: Money,
    payment_count: u32,
    top_ups_till: Money,
    top_ups_partner: Money,
    openings: Money,
    hand_backs: Money,
    cancelled: Money,
    cancelled_count: u32,
    by_product: BTreeMap<String, (u64, Money)>,
    by_hour: BTreeMap<u32, Money>,
    by_staff: BTreeMap<String, (Money, Money, u32)>,
    held_at_end: Money,
    /// Coupons redeemed on cards in the period: their value, and how many.
    coupons: Money,
    coupon_count: u32,
}

fn add(a: &mut Money, b: Money) {
    *a = a.checked_add(b).unwrap_or(*a);
}

impl Takings {
    fn of(period: &Period, tz: Tz, amount_label: &str) -> Takings {
        let mut t = Takings {
            held_at_end: period.held_at_end,
            ..Takings::default()
        };
        for tx in &period.transactions {
            if !tx.valid {
                add(&mut t.cancelled, tx.amount);
                t.cancelled_count += 1;
                continue;
            }
            let staff = t.by_staff.entry(tx.author.clone()).or_default();
            staff.2 += 1;
            match tx.kind {
                TransactionKind::Payment => {
                    add(&mut t.payments, tx.amount);
                    t.payment_count += 1;
                    add(&mut staff.0, tx.amount);
                    let name = tx
                        .product
                        .clone()
                        .unwrap_or_else(|| amount_label.to_owned());
                    let line = t.by_product.entry(name).or_default();
                    line.0 += u64::from(tx.quantity);
                    add(&mut line.1, tx.amount);
                    let hour = tx.created_at.with_timezone(&tz).hour();
                    add(t.by_hour.entry(hour).or_default(), tx.amount);
                }
                TransactionKind::TopUp => {
                    add(&mut staff.1, tx.amount);
                    if tx.author.starts_with("partner:") {
                        add(&mut t.top_ups_partner, tx.amount);
                    } else {
                        add(&mut t.top_ups_till, tx.amount);
                    }
                }
                TransactionKind::Creation => {
                    add(&mut staff.1, tx.amount);
                    add(&mut t.openings, tx.amount);
                }
                TransactionKind::Drain => add(&mut t.hand_backs, tx.amount),
                // Transfers move money between two cards; an import adjustment records what
                // another system lost or created before the move: neither is takings.
                TransactionKind::TransferOut
                | TransactionKind::TransferIn
                | TransactionKind::ImportAdjustment => {}
                // A coupon's value was paid when the coupon was sold or given, not at the
                // till; a partner's debit is the partner's takings, not the bar's.
                TransactionKind::Coupon => {
                    add(&mut t.coupons, tx.amount);
                    t.coupon_count += 1;
                }
                TransactionKind::PartnerDebit => {}
            }
        }
        t
    }

    /// The cash the till took: top-ups and openings at the till, less the hand-backs.
    fn net(&self) -> Money {
        Money::from_cents(
            self.top_ups_till.cents() + self.openings.cents() - self.hand_backs.cents(),
        )
    }
}

/// The bar chart of the payments by hour, drawn as inline SVG.
fn hour_chart(lang: Lang, by_hour: &BTreeMap<u32, Money>, label: &str) -> Markup {
    let max = by_hour
        .values()
        .map(|m| m.cents())
        .max()
        .unwrap_or(0)
        .max(1);
    let (w, h, top, bottom) = (720i64, 180i64, 20i64, 22i64);
    let slot = w / 24;
    let bars: Vec<(i64, i64, u32, Money)> = (0..24u32)
        .filter_map(|hour| {
            let amount = *by_hour.get(&hour)?;
            let height = (h - top - bottom) * amount.cents() / max;
            Some((i64::from(hour) * slot, height, hour, amount))
        })
        .collect();
    html! {
        svg.chart viewBox={ "0 0 " (w) " " (h) } role="img" aria-label=(label) xmlns="http://www.w3.org/2000/svg" {
            @for (x, height, hour, amount) in &bars {
                rect.bar x=(x + 3) y=(h - bottom - height) width=(slot - 6) height=(height) {
                    title { (format!("{hour:02}h")) (lang.colon()) (lang.money(*amount)) }
                }
                text.value x=(x + slot / 2) y=(h - bottom - height - 5) text-anchor="middle" {
                    (amount.to_fixed2())
                }
            }
            @for hour in (0..24i64).step_by(3) {
                text x=(hour * slot + 3) y=(h - 6) { (format!("{hour:02}h")) }
            }
        }
    }
}

struct Report {
    asked: Asked,
    takings: Option<Takings>,
    /// The coupons issued, redeemed and outstanding now: money promised.
    vouchers: Option<VoucherTotals>,
    /// The payments between members in the period, not cancelled (shown when the exchange
    /// is on, or when it was off but the period has some).
    exchange: Option<ExchangeVolume>,
    errors: (Option<String>, Option<String>),
}

async fn build(
    req: &HttpRequest,
    state: &WebState,
    page: &StaffPage,
    query: &PeriodQuery,
) -> Result<Report, PageError> {
    let lang = page.lang;
    let fr = lang == Lang::Fr;
    let asked = asked(state.time_zone, query);
    let bad_day = if fr {
        "Tapez une date comme 2026-12-06."
    } else {
        "Type a date such as 2026-12-06."
    };
    let mut errors = (
        asked.from.is_none().then(|| bad_day.to_owned()),
        asked.to.is_none().then(|| bad_day.to_owned()),
    );
    let mut takings = None;
    let mut exchange = None;
    if let (Some(from), Some(to)) = (asked.from, asked.to) {
        if to < from {
            errors.1 = Some(if fr {
                "La fin vient avant le début.".to_owned()
            } else {
                "The end comes before the start.".to_owned()
            });
        } else {
            let start = start_of(state.time_zone, from);
            let end = start_of(state.time_zone, to.succ_opt().unwrap_or(to));
            let period = state
                .bar
                .period(&page.actor, start, end)
                .await
                .map_err(|e| refused(req, page, e))?;
            takings = Some(Takings::of(&period, state.time_zone, amount_label(lang)));
            if let Some(ex) = &state.exchange {
                let volume = ex
                    .volume(&Principal::Staff(page.actor.clone()), start, end)
                    .await
                    .map_err(|e| refused(req, page, e))?;
                exchange = (ex.enabled() || volume.transfers > 0).then_some(volume);
            }
        }
    }
    let vouchers = match &state.vouchers {
        Some(vouchers) => Some(
            vouchers
                .totals(&page.actor)
                .await
                .map_err(|e| refused(req, page, e))?,
        ),
        None => None,
    };
    Ok(Report {
        asked,
        takings,
        vouchers,
        exchange,
        errors,
    })
}

fn amount_label(lang: Lang) -> &'static str {
    match lang {
        Lang::En => "(typed amount)",
        Lang::Fr => "(montant tapé)",
    }
}

/// The report's texts.
struct Words {
    title: &'static str,
    from: &'static str,
    to: &'static str,
    show: &'static str,
    payments: &'static str,
    top_ups_till: &'static str,
    top_ups_partner: &'static str,
    openings: &'static str,
    hand_backs: &'static str,
    cancelled: &'static str,
    net: &'static str,
    held: &'static str,
    by_product: &'static str,
    product: &'static str,
    units: &'static str,
    amount: &'static str,
    by_hour: &'static str,
    by_staff: &'static str,
    staff: &'static str,
    top_ups: &'static str,
    count: &'static str,
    z: &'static str,
    csv: &'static str,
    print: &'static str,
    nothing: &'static str,
    time_zone: &'static str,
    coupons: &'static str,
    coupons_redeemed_period: &'static str,
    coupons_issued: &'static str,
    coupons_redeemed: &'static str,
    coupons_outstanding: &'static str,
    exchange: &'static str,
    transfers: &'static str,
    exchange_hint: &'static str,
}

fn words(lang: Lang) -> &'static Words {
    static EN: Words = Words {
        title: "Takings",
        from: "From",
        to: "To",
        show: "Show",
        payments: "Payments",
        top_ups_till: "Top-ups at the till",
        top_ups_partner: "Top-ups by partners",
        openings: "Cards opened",
        hand_backs: "Hand-backs",
        cancelled: "Cancelled",
        net: "Net cash at the till",
        held: "Money held on cards at the end",
        by_product: "By product",
        product: "Product",
        units: "Units",
        amount: "Amount",
        by_hour: "Payments by hour",
        by_staff: "By staff member",
        staff: "Staff",
        top_ups: "Top-ups",
        count: "Transactions",
        z: "Z report",
        csv: "Download CSV",
        print: "Print",
        nothing: "No transaction in this period.",
        time_zone: "Time zone",
        coupons: "Coupons",
        coupons_redeemed_period: "Coupons redeemed in the period",
        coupons_issued: "Coupons issued",
        coupons_redeemed: "Coupons redeemed",
        coupons_outstanding: "Coupons outstanding",
        exchange: "Members' exchange",
        transfers: "Payments between members",
        exchange_hint: "Money moved from card to card: not takings, cancelled ones left out.",
    };
    static FR: Words = Words {
        title: "Recettes",
        from: "Du",
        to: "Au",
        show: "Afficher",
        payments: "Paiements",
        top_ups_till: "Rechargements en caisse",
        top_ups_partner: "Rechargements par les partenaires",
        openings: "Cartes ouvertes",
        hand_backs: "Remboursements",
        cancelled: "Annulé",
        net: "Net en caisse",
        held: "Argent sur les cartes à la fin",
        by_product: "Par produit",
        product: "Produit",
        units: "Unités",
        amount: "Montant",
        by_hour: "Paiements par heure",
        by_staff: "Par membre du personnel",
        staff: "Personnel",
        top_ups: "Rechargements",
        count: "Transactions",
        z: "Ticket Z",
        csv: "Télécharger le CSV",
        print: "Imprimer",
        nothing: "Aucune transaction sur cette période.",
        time_zone: "Fuseau horaire",
        coupons: "Bons d'achat",
        coupons_redeemed_period: "Bons utilisés sur la période",
        coupons_issued: "Bons émis",
        coupons_redeemed: "Bons utilisés",
        coupons_outstanding: "Bons en circulation",
        exchange: "Échange entre membres",
        transfers: "Paiements entre membres",
        exchange_hint: "Argent passé de carte à carte : pas des recettes, sans les annulés.",
    };
    match lang {
        Lang::En => &EN,
        Lang::Fr => &FR,
    }
}

fn period_query(asked: &Asked) -> String {
    format!(
        "from={}&to={}",
        crate::pages::encode(&asked.from_text),
        crate::pages::encode(&asked.to_text)
    )
}

fn figures(lang: Lang, t: &Takings) -> Markup {
    let w = words(lang);
    let m = |x: Money| lang.money(x);
    html! {
        dl.figures {
            div { dt { (w.payments) } dd { (m(t.payments)) " · " (t.payment_count) } }
            div { dt { (w.top_ups_till) } dd { (m(t.top_ups_till)) } }
            div { dt { (w.top_ups_partner) } dd { (m(t.top_ups_partner)) } }
            div { dt { (w.openings) } dd { (m(t.openings)) } }
            div { dt { (w.hand_backs) } dd { (m(t.hand_backs)) } }
            div { dt { (w.cancelled) } dd { (m(t.cancelled)) " · " (t.cancelled_count) } }
            div { dt { (w.net) } dd { (m(t.net())) } }
            div { dt { (w.held) } dd { (m(t.held_at_end)) } }
        }
    }
}

/// The coupons: redeemed in the period (not takings: their value was paid when they were
/// sold or given), and, whatever the period, those issued, redeemed and still outstanding
/// (money promised).
fn coupons(lang: Lang, t: &Takings, totals: Option<&VoucherTotals>) -> Markup {
    let w = words(lang);
    let m = |x: Money| lang.money(x);
    html! {
        h2 { (w.coupons) }
        dl.figures {
            div { dt { (w.coupons_redeemed_period) } dd { (m(t.coupons)) " · " (t.coupon_count) } }
            @if let Some(v) = totals {
                div { dt { (w.coupons_issued) } dd { (m(v.coupons_issued_value)) " · " (v.coupons_issued) } }
                div { dt { (w.coupons_redeemed) } dd { (m(v.coupons_redeemed_value)) " · " (v.coupons_redeemed) } }
                div { dt { (w.coupons_outstanding) } dd { (m(v.coupons_outstanding_value)) " · " (v.coupons_outstanding) } }
            }
        }
    }
}

/// The exchange's volume: the payments between members of the period, cancelled ones left
/// out (not takings: the money stays on the cards).
fn exchange_volume(lang: Lang, volume: Option<&ExchangeVolume>) -> Markup {
    let w = words(lang);
    html! {
        @if let Some(v) = volume {
            h2 { (w.exchange) }
            p.hint { (w.exchange_hint) }
            dl.figures {
                div { dt { (w.transfers) } dd { (lang.money(v.amount)) " · " (v.transfers) } }
            }
        }
    }
}

fn tables(lang: Lang, t: &Takings) -> Markup {
    let w = words(lang);
    html! {
        h2 { (w.by_product) }
        @if t.by_product.is_empty() {
            p.hint { (w.nothing) }
        } @else {
            div.table-wrap { table {
                thead { tr { th scope="col" { (w.product) } th.num scope="col" { (w.units) } th.num scope="col" { (w.amount) } } }
                tbody {
                    @for (name, (units, amount)) in &t.by_product {
                        tr { td { (name) } td.num { (units) } td.num { (lang.money(*amount)) } }
                    }
                }
            } }
        }
        h2 { (w.by_staff) }
        @if t.by_staff.is_empty() {
            p.hint { (w.nothing) }
        } @else {
            div.table-wrap { table {
                thead { tr { th scope="col" { (w.staff) } th.num scope="col" { (w.payments) } th.num scope="col" { (w.top_ups) } th.num scope="col" { (w.count) } } }
                tbody {
                    @for (name, (paid, topped, count)) in &t.by_staff {
                        tr { td { (name) } td.num { (lang.money(*paid)) } td.num { (lang.money(*topped)) } td.num { (count) } }
                    }
                }
            } }
        }
    }
}

async fn reports(
    req: HttpRequest,
    state: web::Data<WebState>,
    page: StaffPage,
    query: web::Query<PeriodQuery>,
) -> Result<HttpResponse, PageError> {
    if !page.actor.may(Operation::Statistics) {
        return Err(PageError::forbidden(&req, &page));
    }
    let lang = page.lang;
    let w = words(lang);
    let report = build(&req, &state, &page, &query).await?;
    let status = if report.takings.is_some() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let a = &report.asked;
    let q = period_query(a);
    Ok(office_page(
        &req,
        &page,
        status,
        lang.t().reports,
        html! {
            h1 { (lang.t().reports) }
            form.filters method="get" action="/office/reports" novalidate {
                (date_field("from", w.from, &a.from_text, report.errors.0.as_deref()))
                (date_field("to", w.to, &a.to_text, report.errors.1.as_deref()))
                button type="submit" { (w.show) }
            }
            @if let Some(t) = &report.takings {
                h2 { (w.title) " · " (a.from_text) @if a.from_text != a.to_text { " → " (a.to_text) } }
                p.hint { (w.time_zone) (lang.colon()) (state.time_zone.name()) }
                (figures(lang, t))
                (coupons(lang, t, report.vouchers.as_ref()))
                (exchange_volume(lang, report.exchange.as_ref()))
                h2 { (w.by_hour) }
                (hour_chart(lang, &t.by_hour, w.by_hour))
                (tables(lang, t))
                div.actions.noprint {
                    a.button href={ "/office/reports/z?" (q) } { (w.z) }
                    form method="get" action="/office/reports/csv" {
                        input type="hidden" name="from" value=(a.from_text);
                        input type="hidden" name="to" value=(a.to_text);
                        button type="submit" { (w.csv) }
                    }
                }
            }
        },
    ))
}

fn date_field(name: &str, label: &str, value: &str, error: Option<&str>) -> Markup {
    let id = format!("f-{name}");
    let error_id = format!("{id}-error");
    html! {
        div.field {
            label for=(id) { (label) }
            input id=(id) type="date" name=(name) value=(value)
                aria-invalid=[error.map(|_| "true")] aria-describedby=[error.map(|_| error_id.clone())];
            @if let Some(e) = error { p id=(error_id) .field-error { (e) } }
        }
    }
}

/// The printable end-of-day report: the figures and tables on one sheet.
async fn z_report(
    req: HttpRequest,
    state: web::Data<WebState>,
    page: StaffPage,
    query: web::Query<PeriodQuery>,
) -> Result<HttpResponse, PageError> {
    if !page.actor.may(Operation::Statistics) {
        return Err(PageError::forbidden(&req, &page));
    }
    let lang = page.lang;
    let w = words(lang);
    let report = build(&req, &state, &page, &query).await?;
    let Some(t) = &report.takings else {
        return Err(PageError::from_domain(
            lang,
            DomainError::malformed("bad period"),
        ));
    };
    let a = &report.asked;
    let printed = Utc::now()
        .with_timezone(&state.time_zone)
        .format("%Y-%m-%d %H:%M");
    let chrome = Chrome::staff(&req, &page);
    Ok(html_page(
        StatusCode::OK,
        layout(
            &chrome,
            w.z,
            html! {
                article.zreport {
                    h1 { (w.z) " · " (a.from_text) @if a.from_text != a.to_text { " → " (a.to_text) } }
                    p.hint { (w.time_zone) (lang.colon()) (state.time_zone.name()) " · " (printed) " · " (page.actor.login) }
                    (figures(lang, t))
                    (coupons(lang, t, report.vouchers.as_ref()))
                    (exchange_volume(lang, report.exchange.as_ref()))
                    (tables(lang, t))
                    p.noprint { button type="button" data-print="1" { (w.print) } }
                }
            },
        ),
    ))
}

/// The ledger's CSV export of the period (the same lines as `ardoise export transactions`).
async fn csv(
    req: HttpRequest,
    state: web::Data<WebState>,
    page: StaffPage,
    query: web::Query<PeriodQuery>,
) -> Result<HttpResponse, PageError> {
    if !page.actor.may(Operation::Statistics) {
        return Err(PageError::forbidden(&req, &page));
    }
    let asked = asked(state.time_zone, &query);
    let (Some(from), Some(to)) = (asked.from, asked.to) else {
        return Err(PageError::from_domain(
            page.lang,
            DomainError::malformed("bad period"),
        ));
    };
    let start = start_of(state.time_zone, from);
    let end = start_of(state.time_zone, to.succ_opt().unwrap_or(to));
    let period = state
        .bar
        .period(&page.actor, start, end)
        .await
        .map_err(|e| refused(&req, &page, e))?;
    let mut body = String::from(ardoise_domain::report::CSV_HEADER);
    body.push('\n');
    for tx in &period.transactions {
        body.push_str(&tx.csv_line());
        body.push('\n');
    }
    Ok(secure(&mut HttpResponse::Ok())
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"ardoise-{from}-{to}.csv\""),
        ))
        .content_type("text/csv; charset=utf-8")
        .body(body))
}
