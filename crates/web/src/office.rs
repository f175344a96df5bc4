//! `/office`: the bar's books and settings. Each section is shown to whoever the rules let
//! use it; opened by URL without the rights, it answers the 403 page, and its forms are
//! refused by the same use cases.

use std::collections::BTreeMap;

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use ardoise_domain::{
    CardId, DomainError, Login, Money, Operation, Page, Product, ProductChanges, Rights,
};
use maud::{html, Markup};
use serde::Deserialize;

use crate::i18n::{Lang, Texts};
use crate::pages::{encode, html_page, layout, see_other, Chrome, PageError};
use crate::session::StaffPage;
use crate::WebState;

pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/office", web::get().to(index))
        .route("/office/products", web::get().to(products))
        .route("/office/products", web::post().to(add_product))
        .route("/office/products/{name}", web::get().to(product))
        .route("/office/products/{name}", web::post().to(edit_product))
        .route(
            "/office/products/{name}/delete",
            web::post().to(delete_product),
        )
        .route("/office/categories", web::get().to(categories))
        .route("/office/categories", web::post().to(add_category))
        .route(
            "/office/categories/{id}/delete",
            web::post().to(delete_category),
        )
        .route("/office/staff", web::get().to(staff))
        .route("/office/staff", web::post().to(add_staff))
        .route("/office/staff/{login}", web::get().to(staff_member))
        .route("/office/staff/{login}", web::post().to(change_staff))
        .configure(crate::reports::configure)
        .configure(crate::cards::configure)
        .configure(crate::members::configure)
        .configure(crate::partners::configure);
}

/// The sections, their address, their name and the operation that opens them.
fn sections(t: &'static Texts) -> [(&'static str, &'static str, Operation); 7] {
    [
        ("products", t.products, Operation::ReadCatalog),
        ("categories", t.categories, Operation::ReadCatalog),
        ("staff", t.staff, Operation::ManageStaff),
        ("partners", t.partners, Operation::ManagePartners),
        ("cards", t.cards, Operation::ListCards),
        ("members", t.members, Operation::ManageMembers),
        ("reports", t.reports, Operation::Statistics),
    ]
}

/// The office's frame: the sections' links beside the section's content.
pub(crate) fn office_page(
    req: &HttpRequest,
    page: &StaffPage,
    status: StatusCode,
    title: &str,
    content: Markup,
) -> HttpResponse {
    let chrome = Chrome::staff(req, page);
    let t = page.lang.t();
    let here = req.path();
    html_page(
        status,
        layout(
            &chrome,
            title,
            html! {
                div.office {
                    nav.sections aria-label=(t.office) {
                        ul {
                            @for (slug, name, op) in sections(t) {
                                @if page.actor.may(op) {
                                    @let href = format!("/office/{slug}");
                                    li { a href=(href) aria-current=[here.starts_with(&href).then_some("page")] { (name) } }
                                }
                            }
                        }
                    }
                    div.section { (content) }
                }
            },
        ),
    )
}

fn allowed(req: &HttpRequest, page: &StaffPage, op: Operation) -> Result<(), PageError> {
    if page.actor.may(op) {
        Ok(())
    } else {
        Err(PageError::forbidden(req, page))
    }
}

/// A refusal of a use case: rights give the 403 page, the rest its own page.
pub(crate) fn refused(req: &HttpRequest, page: &StaffPage, e: DomainError) -> PageError {
    match e {
        DomainError::InsufficientRights => PageError::forbidden(req, page),
        e => PageError::from_domain(page.lang, e),
    }
}

async fn index(req: HttpRequest, page: StaffPage) -> Result<HttpResponse, PageError> {
    allowed(&req, &page, Operation::ReadCatalog)?;
    let t = page.lang.t();
    Ok(office_page(
        &req,
        &page,
        StatusCode::OK,
        t.office,
        html! {
            h1 { (t.office) }
            p { (t.office_intro) }
        },
    ))
}

// ---- Products ----

/// The product form's fields as typed, and the error next to each.
#[derive(Default)]
struct ProductForm {
    name: String,
    unit_price: String,
    category: String,
    bundles: String,
    errors: BTreeMap<&'static str, String>,
}

#[derive(Deserialize)]
struct ProductBody {
    csrf: Option<String>,
    name: Option<String>,
    unit_price: Option<String>,
    category: Option<String>,
    bundles: Option<String>,
}

/// An amount typed in a form: `12.50` or `12,50`.
fn money_field(text: &str) -> Option<Money> {
    Money::parse(&text.trim().replace(',', ".")).ok()
}

/// Bundles as typed: `6=9.00, 12=17` (or `6=9,00; 12=17,50`: a comma may be a decimal
/// separator too, so pairs are told apart by spaces, semicolons, or a comma before a `=`).
fn parse_bundles(text: &str) -> Option<BTreeMap<u32, Money>> {
    let mut bundles = BTreeMap::new();
    for token in text.split([' ', ';']).map(|t| t.trim_matches(',')) {
        if token.is_empty() {
            continue;
        }
        let pairs: Vec<&str> = if token.matches('=').count() > 1 {
            token.split(',').collect()
        } else {
            vec![token]
        };
        for pair in pairs {
            let (quantity, price) = pair.split_once('=')?;
            bundles.insert(quantity.trim().parse().ok()?, money_field(price)?);
        }
    }
    Some(bundles)
}

fn bundles_text(bundles: &BTreeMap<u32, Money>) -> String {
    bundles
        .iter()
        .map(|(q, p)| format!("{q}={}", p.to_fixed2()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Which field a refusal of the rules is about.
fn field_of(e: &DomainError) -> &'static str {
    match e {
        DomainError::ProductExists | DomainError::CategoryExists | DomainError::UserExists => {
            "name"
        }
        DomainError::UnknownCategory => "category",
        DomainError::Malformed(text) if text.contains("`unit_price`") => "unit_price",
        DomainError::Malformed(text) if text.contains("`bundles`") => "bundles",
        DomainError::Malformed(text) if text.contains("`category`") => "category",
        DomainError::Malformed(text) if text.contains("password") => "password",
        _ => "name",
    }
}

/// A labelled text field with its error, if any.
fn field(
    form_errors: &BTreeMap<&'static str, String>,
    name: &'static str,
    label: &str,
    value: &str,
    kind: &str,
    hint: Option<&str>,
) -> Markup {
    let error = form_errors.get(name);
    let id = format!("f-{name}");
    let error_id = format!("{id}-error");
    let hint_id = format!("{id}-hint");
    let described = match (error.is_some(), hint.is_some()) {
        (true, _) => Some(error_id.clone()),
        (false, true) => Some(hint_id.clone()),
        _ => None,
    };
    html! {
        div.field {
            label for=(id) { (label) }
            input id=(id) type=(kind) name=(name) value=(value)
                aria-invalid=[error.map(|_| "true")] aria-describedby=[described];
            @if let Some(hint) = hint {
                @if error.is_none() { small id=(hint_id) .hint { (hint) } }
            }
            @if let Some(error) = error {
                p id=(error_id) .field-error { (error) }
            }
        }
    }
}

fn category_select(
    t: &Texts,
    errors: &BTreeMap<&'static str, String>,
    categories: &[String],
    selected: &str,
) -> Markup {
    let error = errors.get("category");
    html! {
        div.field {
            label for="f-category" { (t.category) }
            select #f-category name="category" aria-invalid=[error.map(|_| "true")]
                aria-describedby=[error.map(|_| "f-category-error")] {
                option value="" selected[selected.is_empty()] { (t.no_category) }
                @for c in categories {
                    option value=(c) selected[selected == c] { (c) }
                }
            }
            @if let Some(error) = error {
                p #f-category-error .field-error { (error) }
            }
        }
    }
}

async fn catalog(
    req: &HttpRequest,
    state: &WebState,
    page: &StaffPage,
) -> Result<(Vec<Product>, Vec<ardoise_domain::Category>), PageError> {
    let all = Page::new(Some(1), Some(500)).map_err(|e| refused(req, page, e))?;
    let products = state
        .bar
        .product_page(&page.actor, None, all)
        .await
        .map_err(|e| refused(req, page, e))?
        .items;
    let categories = state
        .bar
        .category_page(&page.actor, all)
        .await
        .map_err(|e| refused(req, page, e))?
        .items;
    Ok((products, categories))
}

async fn products_page(
    req: &HttpRequest,
    state: &WebState,
    page: &StaffPage,
    form: &ProductForm,
    notice: Option<&str>,
    status: StatusCode,
) -> Result<HttpResponse, PageError> {
    let lang = page.lang;
    let t = lang.t();
    let (products, categories) = catalog(req, state, page).await?;
    let names: Vec<String> = categories.into_iter().map(|c| c.name).collect();
    let manage = page.actor.may(Operation::ManageProducts);
    Ok(office_page(
        req,
        page,
        status,
        t.products,
        html! {
            h1 { (t.products) }
            @if let Some(notice) = notice { p.ok role="status" { (notice) } }
            @if products.is_empty() {
                p.hint { (t.none_yet) }
            } @else {
                div.table-wrap { table {
                    thead { tr { th scope="col" { (t.name) } th.num scope="col" { (t.unit_price) } th scope="col" { (t.category) } th scope="col" { (t.bundles) } } }
                    tbody {
                        @for p in &products {
                            tr {
                                td { @if manage { a href={ "/office/products/" (encode(&p.name)) } { (p.name) } } @else { (p.name) } }
                                td.num { (lang.money(p.unit_price)) }
                                td { (p.category.as_deref().unwrap_or("")) }
                                td { (bundles_text(&p.bundles)) }
                            }
                        }
                    }
                } }
            }
            @if manage {
                h2 { (t.add_product) }
                form.stack.card method="post" action="/office/products" novalidate {
                    input type="hidden" name="csrf" value=(page.csrf);
                    (field(&form.errors, "name", t.name, &form.name, "text", None))
                    (field(&form.errors, "unit_price", t.unit_price, &form.unit_price, "text", None))
                    (category_select(t, &form.errors, &names, &form.category))
                    (field(&form.errors, "bundles", t.bundles, &form.bundles, "text", Some(t.bundles_hint)))
                    button.primary type="submit" { (t.save) }
                }
            }
        },
    ))
}

async fn products(
    req: HttpRequest,
    state: web::Data<WebState>,
    page: StaffPage,
) -> Result<HttpResponse, PageError> {
    allowed(&req, &page, Operation::ReadCatalog)?;
    products_page(
        &req,
        &state,
        &page,
        &ProductForm::default(),
        None,
        StatusCode::OK,
    )
    .await
}

/// Reads the product form: the values as typed, the product when every field parses, and
/// the errors next to the fields that do not.
fn read_product(
    lang: Lang,
    body: &ProductBody,
    name: Option<&str>,
) -> (ProductForm, Option<Product>) {
    let fr = lang == Lang::Fr;
    let mut form = ProductForm {
        name: name
            .map(str::to_owned)
            .or_else(|| body.name.clone())
            .unwrap_or_default()
            .trim()
            .to_owned(),
        unit_price: body.unit_price.clone().unwrap_or_default(),
        category: body.category.clone().unwrap_or_default(),
        bundles: body.bundles.clone().unwrap_or_default(),
        errors: BTreeMap::new(),
    };
    let price = money_field(&form.unit_price);
    if price.is_none() {
        form.errors.insert(
            "unit_price",
            if fr {
                "Tapez un prix, par exemple 2,50.".to_owned()
            } else {
                "Type a price, e.g. 2.50.".to_owned()
            },
        );
    }
    let bundles = parse_bundles(&form.bundles);
    if bundles.is_none() {
        form.errors.insert(
            "bundles",
            if fr {
                "Écrivez les lots comme 6=9,00, 12=17.".to_owned()
            } else {
                "Write bundles as 6=9.00, 12=17.".to_owned()
            },
        );
    }
    let product = match (price, bundles) {
        (Some(unit_price), Some(bundles)) => Some(Product {
            name: form.name.clone(),
            unit_price,
            bundles,
            category: (!form.category.is_empty()).then(|| form.category.clone()),
        }),
        _ => None,
    };
    (form, product)
}

async fn add_product(
    req: HttpRequest,
    state: web::Data<WebState>,
    page: StaffPage,
    body: web::Form<ProductBody>,
) -> Result<HttpResponse, PageError> {
    page.check_post(&req, body.csrf.as_deref())?;
    allowed(&req, &page, Operation::ManageProducts)?;
    let (mut form, product) = read_product(page.lang, &body, None);
    if let Some(product) = product {
        match state.bar.add_product(&page.actor, product).await {
            Ok(()) => {
                return products_page(
                    &req,
                    &state,
                    &page,
                    &ProductForm::default(),
                    Some(page.lang.t().saved),
                    StatusCode::OK,
                )
                .await
            }
            Err(DomainError::InsufficientRights) => return Err(PageError::forbidden(&req, &page)),
            Err(e @ (DomainError::StorageUnavailable | DomainError::Internal(_))) => {
                return Err(PageError::from_domain(page.lang, e))
            }
            Err(e) => {
                form.errors.insert(field_of(&e), page.lang.error(&e));
            }
        }
    }
    products_page(
        &req,
        &state,
        &page,
        &form,
        None,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await
}

async fn product_page(
    req: &HttpRequest,
    state: &WebState,
    page: &StaffPage,
    form: &ProductForm,
    status: StatusCode,
) -> Result<HttpResponse, PageError> {
    let t = page.lang.t();
    let (_, categories) = catalog(req, state, page).await?;
    let names: Vec<String> = categories.into_iter().map(|c| c.name).collect();
    let action = format!("/office/products/{}", encode(&form.name));
    Ok(office_page(
        req,
        page,
        status,
        &form.name,
        html! {
            h1 { (form.name) }
            form.stack.card method="post" action=(action) novalidate {
                input type="hidden" name="csrf" value=(page.csrf);
                (field(&form.errors, "unit_price", t.unit_price, &form.unit_price, "text", None))
                (category_select(t, &form.errors, &names, &form.category))
                (field(&form.errors, "bundles", t.bundles, &form.bundles, "text", Some(t.bundles_hint)))
                button.primary type="submit" { (t.save) }
            }
            form method="post" action={ (action) "/delete" } {
                input type="hidden" name="csrf" value=(page.csrf);
                button.danger type="submit" { (t.delete) }
            }
        },
    ))
}

async fn product(
    req: HttpRequest,
    state: web::Data<WebState>,
    page: StaffPage,
    name: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    allowed(&req, &page, Operation::ManageProducts)?;
    let p = match state.bar.product(&page.actor, &name).await {
        Ok(p) => p,
        Err(DomainError::UnknownProduct) => return Err(PageError::not_found(&req, &page)),
        Err(e) => return Err(refused(&req, &page, e)),
    };
    let form = ProductForm {
        name: p.name.clone(),
        unit_price: p.unit_price.to_fixed2(),
        category: p.category.clone().unwrap_or_default(),
        bundles: bundles_text(&p.bundles),
        errors: BTreeMap::new(),
    };
    product_page(&req, &state, &page, &form, StatusCode::OK).await
}

async fn edit_product(
    req: HttpRequest,
    state: web::Data<WebState>,
    page: StaffPage,
    name: web::Path<String>,
    body: web::Form<ProductBody>,
) -> Result<HttpResponse, PageError> {
    page.check_post(&req, body.csrf.as_deref())?;
    allowed(&req, &page, Operation::ManageProducts)?;
    let (mut form, product) = read_product(page.lang, &body, Some(&name));
    if let Some(product) = product {
        let changes = ProductChanges {
            unit_price: Some(product.unit_price),
            bundles: Some(product.bundles),
            category: Some(product.category),
        };
        match state.bar.update_product(&page.actor, &name, changes).await {
            Ok(_) => return Ok(see_other("/office/products")),
            Err(DomainError::UnknownProduct) => return Err(PageError::not_found(&req, &page)),
            Err(DomainError::InsufficientRights) => return Err(PageError::forbidden(&req, &page)),
            Err(e @ (DomainError::StorageUnavailable | DomainError::Internal(_))) => {
                return Err(PageError::from_domain(page.lang, e))
            }
            Err(e) => {
                form.errors.insert(field_of(&e), page.lang.error(&e));
            }
        }
    }
    product_page(&req, &state, &page, &form, StatusCode::UNPROCESSABLE_ENTITY).await
}

#[derive(Deserialize)]
struct CsrfBody {
    csrf: Option<String>,
}

async fn delete_product(
    req: HttpRequest,
    state: web::Data<WebState>,
    page: StaffPage,
    name: web::Path<String>,
    body: web::Form<CsrfBody>,
) -> Result<HttpResponse, PageError> {
    page.check_post(&req, body.csrf.as_deref())?;
    match state.bar.delete_product(&page.actor, &name).await {
        Ok(()) | Err(DomainError::UnknownProduct) => Ok(see_other("/office/products")),
        Err(e) => Err(refused(&req, &page, e)),
    }
}

// ---- Categories ----

#[derive(Deserialize)]
struct NameBody {
    csrf: Option<String>,
    name: Option<String>,
}

async fn categories_page(
    req: &HttpRequest,
    state: &WebState,
    page: &StaffPage,
    name: &str,
    errors: &BTreeMap<&'static str, String>,
    status: StatusCode,
) -> Result<HttpResponse, PageError> {
    let t = page.lang.t();
    let (_, categories) = catalog(req, state, page).await?;
    let manage = page.actor.may(Operation::ManageProducts);
    Ok(office_page(
        req,
        page,
        status,
        t.categories,
        html! {
            h1 { (t.categories) }
            @if categories.is_empty() {
                p.hint { (t.none_yet) }
            } @else {
                ul.plain {
                    @for c in &categories {
                        li.rowitem {
                            span { (c.name) }
                            @if manage {
                                form.inline method="post" action={ "/office/categories/" (c.id) "/delete" } {
                                    input type="hidden" name="csrf" value=(page.csrf);
                                    button.small.danger type="submit" aria-label={ (t.delete) " " (c.name) } { (t.delete) }
                                }
                            }
                        }
                    }
                }
            }
            @if manage {
                h2 { (t.add_category) }
                form.stack.card method="post" action="/office/categories" novalidate {
                    input type="hidden" name="csrf" value=(page.csrf);
                    (field(errors, "name", t.name, name, "text", None))
                    button.primary type="submit" { (t.save) }
                }
            }
        },
    ))
}

async fn categories(
    req: HttpRequest,
    state: web::Data<WebState>,
    page: StaffPage,
) -> Result<HttpResponse, PageError> {
    allowed(&req, &page, Operation::ReadCatalog)?;
    categories_page(&req, &state, &page, "", &BTreeMap::new(), StatusCode::OK).await
}

async fn add_category(
    req: HttpRequest,
    state: web::Data<WebState>,
    page: StaffPage,
    body: web::Form<NameBody>,
) -> Result<HttpResponse, PageError> {
    page.check_post(&req, body.csrf.as_deref())?;
    allowed(&req, &page, Operation::ManageProducts)?;
    let name = body.name.clone().unwrap_or_default().trim().to_owned();
    match state.bar.add_category(&page.actor, &name).await {
        Ok(_) => Ok(see_other("/office/categories")),
        Err(DomainError::InsufficientRights) => Err(PageError::forbidden(&req, &page)),
        Err(e @ (DomainError::StorageUnavailable | DomainError::Internal(_))) => {
            Err(PageError::from_domain(page.lang, e))
        }
        Err(e) => {
            let errors = BTreeMap::from([("name", page.lang.error(&e))]);
            categories_page(
                &req,
                &state,
                &page,
                &name,
                &errors,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
    }
}

async fn delete_category(
    req: HttpRequest,
    state: web::Data<WebState>,
    page: StaffPage,
    id: web::Path<i64>,
    body: web::Form<CsrfBody>,
) -> Result<HttpResponse, PageError> {
    page.check_post(&req, body.csrf.as_deref())?;
    match state.bar.delete_category(&page.actor, *id).await {
        Ok(()) | Err(DomainError::UnknownCategory) => Ok(see_other("/office/categories")),
        Err(e) => Err(refused(&req, &page, e)),
    }
}

// ---- Staff ----

#[derive(Deserialize)]
struct StaffBody {
    csrf: Option<String>,
    login: Option<String>,
    password: Option<String>,
    rights: Option<String>,
    card: Option<String>,
}

fn rights_name(lang: Lang, rights: Rights) -> &'static str {
    match (lang, rights) {
        (Lang::En, Rights::Honeypot) => "0 · none",
        (Lang::En, Rights::Association) => "1 · association",
        (Lang::En, Rights::BarMember) => "2 · bar member",
        (Lang::En, Rights::President) => "3 · president",
        (Lang::Fr, Rights::Honeypot) => "0 · aucun",
        (Lang::Fr, Rights::Association) => "1 · association",
        (Lang::Fr, Rights::BarMember) => "2 · membre du bar",
        (Lang::Fr, Rights::President) => "3 · président",
    }
}

async fn staff_page(
    req: &HttpRequest,
    state: &WebState,
    page: &StaffPage,
    typed: (&str, i64),
    errors: &BTreeMap<&'static str, String>,
    status: StatusCode,
) -> Result<HttpResponse, PageError> {
    let lang = page.lang;
    let t = lang.t();
    let users = state
        .staff
        .users(&page.actor)
        .await
        .map_err(|e| refused(req, page, e))?;
    let rights_error = errors.get("rights");
    Ok(office_page(
        req,
        page,
        status,
        t.staff,
        html! {
            h1 { (t.staff) }
            div.table-wrap { table {
                thead { tr { th scope="col" { (t.login) } th scope="col" { (t.rights) } th scope="col" { (t.staff_card) } } }
                tbody {
                    @for u in &users {
                        tr {
                            td { a href={ "/office/staff/" (encode(u.login.as_str())) } { (u.login) } }
                            td { (rights_name(lang, u.rights)) }
                            td { (u.card.as_ref().map(CardId::to_string).unwrap_or_default()) }
                        }
                    }
                }
            } }
            h2 { (t.add_staff) }
            form.stack.card method="post" action="/office/staff" novalidate {
                input type="hidden" name="csrf" value=(page.csrf);
                (field(errors, "login", t.login, typed.0, "text", None))
                (field(errors, "password", t.password, "", "password", None))
                div.field {
                    label for="f-rights" { (t.rights) }
                    select #f-rights name="rights" aria-invalid=[rights_error.map(|_| "true")] {
                        @for level in 0..=3 {
                            @if let Some(r) = Rights::from_level(level) {
                                option value=(level) selected[level == typed.1] { (rights_name(lang, r)) }
                            }
                        }
                    }
                    @if let Some(e) = rights_error { p.field-error { (e) } }
                }
                (field(errors, "card", t.staff_card, "", "text", None))
                button.primary type="submit" { (t.save) }
            }
        },
    ))
}

async fn staff(
    req: HttpRequest,
    state: web::Data<WebState>,
    page: StaffPage,
) -> Result<HttpResponse, PageError> {
    allowed(&req, &page, Operation::ManageStaff)?;
    staff_page(
        &req,
        &state,
        &page,
        ("", 2),
        &BTreeMap::new(),
        StatusCode::OK,
    )
    .await
}

async fn add_staff(
    req: HttpRequest,
    state: web::Data<WebState>,
    page: StaffPage,
    body: web::Form<StaffBody>,
) -> Result<HttpResponse, PageError> {
    page.check_post(&req, body.csrf.as_deref())?;
    allowed(&req, &page, Operation::ManageStaff)?;
    let lang = page.lang;
    let typed_login = body.login.clone().unwrap_or_default().trim().to_owned();
    let level = body
        .rights
        .as_deref()
        .and_then(|r| r.parse::<i64>().ok())
        .unwrap_or(-1);
    let mut errors = BTreeMap::new();
    let login = Login::parse(&typed_login);
    if let Err(e) = &login {
        errors.insert("login", lang.error(&DomainError::malformed(e.to_string())));
    }
    let rights = Rights::from_level(level);
    if rights.is_none() {
        errors.insert(
            "rights",
            lang.error(&DomainError::malformed("rights 0 to 3")),
        );
    }
    let card_text = body.card.clone().unwrap_or_default();
    let card = if card_text.trim().is_empty() {
        Ok(None)
    } else {
        CardId::parse(card_text.trim()).map(Some)
    };
    if let Err(e) = &card {
        errors.insert("card", lang.error(&DomainError::malformed(e.to_string())));
    }
    let password = body.password.clone().unwrap_or_default();
    if password.is_empty() {
        errors.insert(
            "password",
            lang.error(&DomainError::malformed("field `password` is empty")),
        );
    }
    if let (Ok(login), Some(rights), Ok(card), true) = (&login, rights, card, errors.is_empty()) {
        match state
            .staff
            .add_user(&page.actor, login, &password, rights, card)
            .await
        {
            Ok(()) => return Ok(see_other("/office/staff")),
            Err(DomainError::InsufficientRights) => return Err(PageError::forbidden(&req, &page)),
            Err(e @ (DomainError::StorageUnavailable | DomainError::Internal(_))) => {
                return Err(PageError::from_domain(lang, e))
            }
            Err(e @ DomainError::UserExists) => {
                errors.insert("login", lang.error(&e));
            }
            Err(e) => {
                let at = match field_of(&e) {
                    "password" => "password",
                    _ => "login",
                };
                errors.insert(at, lang.error(&e));
            }
        }
    }
    staff_page(
        &req,
        &state,
        &page,
        (&typed_login, level),
        &errors,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await
}

// ---- One staff member: rights, password, staff card, disable ----

struct StaffWords {
    rights_saved: &'static str,
    new_password: &'static str,
    disable: &'static str,
}

fn staff_words(lang: Lang) -> &'static StaffWords {
    static EN: StaffWords = StaffWords {
        rights_saved: "Saved.",
        new_password: "New password",
        disable: "Disable",
    };
    static FR: StaffWords = StaffWords {
        rights_saved: "Enregistré.",
        new_password: "Nouveau mot de passe",
        disable: "Désactiver",
    };
    match lang {
        Lang::En => &EN,
        Lang::Fr => &FR,
    }
}

async fn staff_member_page(
    req: &HttpRequest,
    state: &WebState,
    page: &StaffPage,
    login: &Login,
    outcome: Option<Result<String, String>>,
    errors: &BTreeMap<&'static str, String>,
) -> Result<HttpResponse, PageError> {
    let lang = page.lang;
    let t = lang.t();
    let w = staff_words(lang);
    let profile = match state.staff.profile(&page.actor, login).await {
        Ok(p) => p,
        Err(DomainError::UnknownUser) => return Err(PageError::not_found(req, page)),
        Err(e) => return Err(refused(req, page, e)),
    };
    let action = format!("/office/staff/{}", encode(login.as_str()));
    let status = if outcome.as_ref().is_some_and(|o| o.is_err()) {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let card = profile
        .card
        .as_ref()
        .map(CardId::to_string)
        .unwrap_or_default();
    Ok(office_page(
        req,
        page,
        status,
        login.as_str(),
        html! {
            h1 { (login) }
            @match &outcome {
                Some(Ok(text)) => p.ok role="status" { (text) },
                Some(Err(text)) => p.alert role="alert" { (text) },
                None => {},
            }
            form.stack.card method="post" action=(action) {
                input type="hidden" name="csrf" value=(page.csrf);
                input type="hidden" name="action" value="rights";
                div.field {
                    label for="f-rights" { (t.rights) }
                    select #f-rights name="rights" {
                        @for level in 0..=3 {
                            @if let Some(r) = Rights::from_level(level) {
                                option value=(level) selected[r == profile.rights] { (rights_name(lang, r)) }
                            }
                        }
                    }
                }
                button.primary type="submit" { (t.save) }
            }
            form.stack.card method="post" action=(action) novalidate {
                input type="hidden" name="csrf" value=(page.csrf);
                input type="hidden" name="action" value="password";
                (field(errors, "password", w.new_password, "", "password", None))
                button.primary type="submit" { (t.save) }
            }
            form.stack.card method="post" action=(action) novalidate {
                input type="hidden" name="csrf" value=(page.csrf);
                input type="hidden" name="action" value="card";
                (field(errors, "card", t.staff_card, &card, "text", None))
                button.primary type="submit" { (t.save) }
            }
            form method="post" action=(action) {
                input type="hidden" name="csrf" value=(page.csrf);
                input type="hidden" name="action" value="disable";
                button.danger type="submit" { (w.disable) }
            }
        },
    ))
}

fn login_of(req: &HttpRequest, page: &StaffPage, login: &str) -> Result<Login, PageError> {
    Login::parse(login).map_err(|_| PageError::not_found(req, page))
}

async fn staff_member(
    req: HttpRequest,
    state: web::Data<WebState>,
    page: StaffPage,
    login: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    allowed(&req, &page, Operation::ManageStaff)?;
    let login = login_of(&req, &page, &login)?;
    staff_member_page(&req, &state, &page, &login, None, &BTreeMap::new()).await
}

#[derive(Deserialize)]
struct StaffChange {
    csrf: Option<String>,
    action: Option<String>,
    rights: Option<String>,
    password: Option<String>,
    card: Option<String>,
}

async fn change_staff(
    req: HttpRequest,
    state: web::Data<WebState>,
    page: StaffPage,
    login: web::Path<String>,
    body: web::Form<StaffChange>,
) -> Result<HttpResponse, PageError> {
    page.check_post(&req, body.csrf.as_deref())?;
    allowed(&req, &page, Operation::ManageStaff)?;
    let lang = page.lang;
    let login = login_of(&req, &page, &login)?;
    let actor = &page.actor;
    let mut errors = BTreeMap::new();
    let outcome = match body.action.as_deref() {
        Some("rights") => {
            match body
                .rights
                .as_deref()
                .and_then(|r| r.parse::<i64>().ok())
                .and_then(Rights::from_level)
            {
                Some(rights) => state.staff.set_rights(actor, &login, rights).await,
                None => Err(DomainError::malformed("rights 0 to 3")),
            }
        }
        Some("password") if body.password.as_deref().unwrap_or_default().is_empty() => {
            let e = DomainError::malformed("field `password` is empty");
            errors.insert("password", lang.error(&e));
            Err(e)
        }
        Some("password") => {
            let password = body.password.clone().unwrap_or_default();
            match state
                .staff
                .change_password(actor, &login, &password, None)
                .await
            {
                Err(e @ DomainError::Malformed(_)) => {
                    errors.insert("password", lang.error(&e));
                    Err(e)
                }
                other => other,
            }
        }
        Some("card") => {
            let text = body.card.clone().unwrap_or_default();
            let card = if text.trim().is_empty() {
                Ok(None)
            } else {
                CardId::parse(text.trim()).map(Some)
            };
            match card {
                Ok(card) => match state.staff.set_card(actor, &login, card).await {
                    Err(e @ DomainError::Malformed(_)) => {
                        errors.insert("card", lang.error(&e));
                        Err(e)
                    }
                    other => other,
                },
                Err(e) => {
                    let e = DomainError::malformed(e.to_string());
                    errors.insert("card", lang.error(&e));
                    Err(e)
                }
            }
        }
        Some("disable") => match state.staff.disable(actor, &login).await {
            Ok(()) => return Ok(see_other("/office/staff")),
            Err(e) => Err(e),
        },
        _ => Err(DomainError::malformed("field `action`")),
    };
    let shown = match outcome {
        Ok(()) => Ok(staff_words(lang).rights_saved.to_owned()),
        Err(DomainError::InsufficientRights) => return Err(PageError::forbidden(&req, &page)),
        Err(DomainError::UnknownUser) => return Err(PageError::not_found(&req, &page)),
        Err(e @ (DomainError::StorageUnavailable | DomainError::Internal(_))) => {
            return Err(PageError::from_domain(lang, e))
        }
        Err(e) => Err(lang.error(&e)),
    };
    staff_member_page(&req, &state, &page, &login, Some(shown), &errors).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundles_are_read_as_typed() {
        let b = parse_bundles("6=9.00, 12=17,5").unwrap_or_default();
        assert_eq!(b.len(), 2);
        assert_eq!(parse_bundles("6=9,00;12=17").map(|b| b.len()), Some(2));
        assert_eq!(parse_bundles("6=9.00,12=17.00").map(|b| b.len()), Some(2));
        assert_eq!(b.get(&6).map(|m| m.cents()), Some(900));
        assert!(parse_bundles("").is_some_and(|b| b.is_empty()));
        assert!(parse_bundles("six=9").is_none());
        assert!(parse_bundles("6=abc").is_none());
        assert_eq!(bundles_text(&b), "6=9.00, 12=17.50");
    }
}
