//! `/v1/products` and `/v1/categories` (seed 004's categories of offers): reading needs staff
//! rights ≥ 1, changing rights 3 — both decided by `Bar`. This file parses and renders.
//!
//! A product is known by its name (as the POS dialect's payments by quantity name it), a
//! category by its id; a product names its category (`category`, or `null`).

use std::collections::BTreeMap;

use actix_web::web::{Data, Path, Payload};
use actix_web::{HttpRequest, HttpResponse};
use ardoise_domain::{Actor, Category, DomainError, Money, Product, ProductChanges};
use serde::Serialize;

use super::{created, no_content, ok, page_of, paged, read_params, reply, Lang};
use crate::params::Params;
use crate::principal::Principal;
use crate::AppState;

/// The staff user behind a principal; a partner is refused (403).
fn staff(principal: &Principal) -> Result<&Actor, DomainError> {
    match principal {
        Principal::Staff { actor } => Ok(actor),
        Principal::Partner { .. } => Err(DomainError::InsufficientRights),
    }
}

/// A path segment as a URL writes it: everything but unreserved characters percent-encoded
/// (product names may hold spaces).
fn encode_segment(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[derive(Serialize)]
struct ProductJson {
    name: String,
    unit_price: String,
    /// Explicit prices by quantity: `{"6": "10.00"}`.
    bundles: BTreeMap<String, String>,
    category: Option<String>,
    currency: &'static str,
}

impl From<Product> for ProductJson {
    fn from(p: Product) -> ProductJson {
        ProductJson {
            name: p.name,
            unit_price: p.unit_price.to_fixed2(),
            bundles: p
                .bundles
                .into_iter()
                .map(|(q, price)| (q.to_string(), price.to_fixed2()))
                .collect(),
            category: p.category,
            currency: "EUR",
        }
    }
}

#[derive(Serialize)]
struct CategoryJson {
    id: i64,
    name: String,
    created_at: String,
}

impl From<Category> for CategoryJson {
    fn from(c: Category) -> CategoryJson {
        CategoryJson {
            id: c.id,
            name: c.name,
            created_at: c.created_at.to_rfc3339(),
        }
    }
}

/// `bundles`: space-separated `quantity:price` pairs, e.g. `"6:10.00 12:18.00"`; empty for
/// none.
fn bundles(p: &Params) -> Result<Option<BTreeMap<u32, Money>>, DomainError> {
    if !p.given("bundles") {
        return Ok(None);
    }
    let bad = || {
        DomainError::malformed(
            "field `bundles` must be space-separated quantity:price pairs, e.g. \"6:10.00\"",
        )
    };
    let mut out = BTreeMap::new();
    for pair in p
        .get("bundles")
        .unwrap_or_default()
        .split_ascii_whitespace()
    {
        let (quantity, price) = pair.split_once(':').ok_or_else(bad)?;
        let quantity: u32 = quantity.parse().map_err(|_| bad())?;
        let price = Money::parse(price).map_err(|_| bad())?;
        if out.insert(quantity, price).is_some() {
            return Err(DomainError::malformed(format!(
                "field `bundles` gives quantity {quantity} twice"
            )));
        }
    }
    Ok(Some(out))
}

/// `category`: a name, or `null`/`""` for none (`None` when not given).
fn category(p: &Params) -> Option<Option<String>> {
    p.given("category")
        .then(|| p.get("category").map(str::to_owned))
}

fn category_path(text: &str) -> Result<i64, DomainError> {
    text.parse::<i64>()
        .ok()
        .filter(|id| *id > 0 && !text.starts_with('+'))
        .ok_or_else(|| DomainError::malformed("the category id is not a whole number ≥ 1"))
}

// ---------------------------------------------------------------- products

/// `GET /v1/products` [≥1]: the products by name, paged; `?category=ID` keeps one category's.
pub(super) async fn list_products(
    state: Data<AppState>,
    req: HttpRequest,
    principal: Principal,
) -> HttpResponse {
    let lang = Lang::of(&req);
    reply(
        lang,
        async {
            let actor = staff(&principal)?;
            let page = page_of(&req)?;
            let query = Params::from_form(req.query_string().as_bytes())?;
            let category = query.whole_opt("category")?;
            let list = state.bar.product_page(actor, category, page).await?;
            Ok(paged(
                &req,
                lang,
                "PRODUCT_LIST",
                list.map(ProductJson::from),
            ))
        }
        .await,
    )
}

/// `POST /v1/products` [3]: `{"name", "unit_price", "category"?, "bundles"?}` → 201.
pub(super) async fn create_product(
    state: Data<AppState>,
    req: HttpRequest,
    principal: Principal,
    payload: Payload,
) -> HttpResponse {
    let lang = Lang::of(&req);
    reply(
        lang,
        async {
            let actor = staff(&principal)?;
            let p = read_params(&req, payload).await?;
            let product = Product {
                name: p.required("name")?.to_owned(),
                unit_price: p.money("unit_price")?,
                bundles: bundles(&p)?.unwrap_or_default(),
                category: category(&p).flatten(),
            };
            state.bar.add_product(actor, product.clone()).await?;
            Ok(created(
                lang,
                "PRODUCT_CREATED",
                &format!("/v1/products/{}", encode_segment(&product.name)),
                ProductJson::from(product),
            ))
        }
        .await,
    )
}

/// `GET /v1/products/{name}` [≥1].
pub(super) async fn get_product(
    state: Data<AppState>,
    req: HttpRequest,
    principal: Principal,
    path: Path<String>,
) -> HttpResponse {
    let lang = Lang::of(&req);
    reply(
        lang,
        async {
            let actor = staff(&principal)?;
            let product = state.bar.product(actor, &path).await?;
            Ok(ok(lang, "PRODUCT", ProductJson::from(product)))
        }
        .await,
    )
}

/// `PATCH /v1/products/{name}` [3]: any of `{"unit_price", "bundles", "category"}`.
pub(super) async fn update_product(
    state: Data<AppState>,
    req: HttpRequest,
    principal: Principal,
    path: Path<String>,
    payload: Payload,
) -> HttpResponse {
    let lang = Lang::of(&req);
    reply(
        lang,
        async {
            let actor = staff(&principal)?;
            let p = read_params(&req, payload).await?;
            let changes = ProductChanges {
                unit_price: p.money_opt("unit_price")?,
                bundles: bundles(&p)?,
                category: category(&p),
            };
            if changes.is_empty() {
                return Err(DomainError::malformed(
                    "give at least one of `unit_price`, `bundles`, `category`",
                ));
            }
            let product = state.bar.update_product(actor, &path, changes).await?;
            Ok(ok(lang, "PRODUCT_UPDATED", ProductJson::from(product)))
        }
        .await,
    )
}

/// `DELETE /v1/products/{name}` [3] → 204; the transactions keep the product's name.
pub(super) async fn delete_product(
    state: Data<AppState>,
    req: HttpRequest,
    principal: Principal,
    path: Path<String>,
) -> HttpResponse {
    let lang = Lang::of(&req);
    reply(
        lang,
        async {
            let actor = staff(&principal)?;
            state.bar.delete_product(actor, &path).await?;
            Ok(no_content())
        }
        .await,
    )
}

// ---------------------------------------------------------------- categories

/// `GET /v1/categories` [≥1]: the categories by name, paged.
pub(super) async fn list_categories(
    state: Data<AppState>,
    req: HttpRequest,
    principal: Principal,
) -> HttpResponse {
    let lang = Lang::of(&req);
    reply(
        lang,
        async {
            let actor = staff(&principal)?;
            let page = page_of(&req)?;
            let list = state.bar.category_page(actor, page).await?;
            Ok(paged(
                &req,
                lang,
                "CATEGORY_LIST",
                list.map(CategoryJson::from),
            ))
        }
        .await,
    )
}

/// `POST /v1/categories` [3]: `{"name"}` → 201 with `Location`.
pub(super) async fn create_category(
    state: Data<AppState>,
    req: HttpRequest,
    principal: Principal,
    payload: Payload,
) -> HttpResponse {
    let lang = Lang::of(&req);
    reply(
        lang,
        async {
            let actor = staff(&principal)?;
            let p = read_params(&req, payload).await?;
            let category = state.bar.add_category(actor, p.required("name")?).await?;
            Ok(created(
                lang,
                "CATEGORY_CREATED",
                &format!("/v1/categories/{}", category.id),
                CategoryJson::from(category),
            ))
        }
        .await,
    )
}

/// `GET /v1/categories/{id}` [≥1].
pub(super) async fn get_category(
    state: Data<AppState>,
    req: HttpRequest,
    principal: Principal,
    path: Path<String>,
) -> HttpResponse {
    let lang = Lang::of(&req);
    reply(
        lang,
        async {
            let actor = staff(&principal)?;
            let id = category_path(&path)?;
            let category = state.bar.category(actor, id).await?;
            Ok(ok(lang, "CATEGORY", CategoryJson::from(category)))
        }
        .await,
    )
}

/// `PATCH /v1/categories/{id}` [3]: `{"name"}`; its products follow the new name.
pub(super) async fn rename_category(
    state: Data<AppState>,
    req: HttpRequest,
    principal: Principal,
    path: Path<String>,
    payload: Payload,
) -> HttpResponse {
    let lang = Lang::of(&req);
    reply(
        lang,
        async {
            let actor = staff(&principal)?;
            let id = category_path(&path)?;
            let p = read_params(&req, payload).await?;
            let category = state
                .bar
                .rename_category(actor, id, p.required("name")?)
                .await?;
            Ok(ok(lang, "CATEGORY_UPDATED", CategoryJson::from(category)))
        }
        .await,
    )
}

/// `DELETE /v1/categories/{id}` [3] → 204; its products are left without a category.
pub(super) async fn delete_category(
    state: Data<AppState>,
    req: HttpRequest,
    principal: Principal,
    path: Path<String>,
) -> HttpResponse {
    let lang = Lang::of(&req);
    reply(
        lang,
        async {
            let actor = staff(&principal)?;
            let id = category_path(&path)?;
            state.bar.delete_category(actor, id).await?;
            Ok(no_content())
        }
        .await,
    )
}
