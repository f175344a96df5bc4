//! `/v1/products` and `/v1/categories` (seed 004's categories of offers): reading needs staff
//! rights ≥ 1, changing rights 3 — both decided by `Bar`. This file parses and renders.
//!
//! A product is known by its name (as the POS dialect's payments by quantity name it), a
//! category by its id; a product names its category (`category`, or `null`).

use std::collections::BTreeMap;

use actix_web::web::{Data, Path, Payload};
use actix_web::{HttpRequest, HttpResponse};
use ardoise_domain::{Category, DomainError, Money, Product, ProductChanges};
use serde::Serialize;
use utoipa::{IntoParams, ToSchema};

use super::{
    created, no_content, ok, page_of, paged, read_params, reply, staff, Failure, Lang, PageJson,
    Success,
};
use crate::openapi::{Amount, PageParams, PriceInput};
use crate::params::Params;
use crate::params::Ty;
use crate::principal::Principal;
use crate::AppState;

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

/// A product of the catalogue.
#[derive(Serialize, ToSchema)]
struct ProductJson {
    /// Its name, unique: how payments by quantity and the path name it.
    #[schema(example = "Bière")]
    name: String,
    /// The price of one unit.
    #[schema(value_type = Amount)]
    unit_price: String,
    /// Explicit prices by quantity: `{"6": "10.00"}`.
    #[schema(value_type = BTreeMap<String, Amount>)]
    bundles: BTreeMap<String, String>,
    /// The name of its category, if any.
    category: Option<String>,
    #[schema(example = "EUR")]
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

/// A category of products.
#[derive(Serialize, ToSchema)]
struct CategoryJson {
    id: i64,
    #[schema(example = "Boissons")]
    name: String,
    /// RFC 3339.
    created_at: String,
}

/// The body of `POST /v1/products` (JSON or form).
#[derive(ToSchema)]
#[allow(dead_code)] // describes the body that `Params` parses
struct ProductRequest {
    name: String,
    #[schema(value_type = PriceInput)]
    unit_price: String,
    /// The name of an existing category; `null` or `""` for none.
    category: Option<String>,
    /// Space-separated `quantity:price` pairs, e.g. `"6:10.00 12:18.00"`; `""` for none.
    #[schema(example = "6:10.00 12:18.00")]
    bundles: Option<String>,
}

/// The body of `PATCH /v1/products/{name}` (JSON or form): at least one field; what is not
/// given is kept.
#[derive(ToSchema)]
#[allow(dead_code)] // describes the body that `Params` parses
struct ProductPatchRequest {
    #[schema(value_type = Option<PriceInput>)]
    unit_price: Option<String>,
    /// Space-separated `quantity:price` pairs, e.g. `"6:10.00 12:18.00"`; `""` for none.
    #[schema(example = "6:10.00 12:18.00")]
    bundles: Option<String>,
    /// The name of an existing category; `null` or `""` for none.
    category: Option<String>,
}

/// The body of `POST /v1/categories` and `PATCH /v1/categories/{id}` (JSON or form).
#[derive(ToSchema)]
#[allow(dead_code)] // describes the body that `Params` parses
struct CategoryRequest {
    #[schema(example = "Boissons")]
    name: String,
}

/// The product in a path.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)] // describes a path segment that the handlers read themselves
struct ProductParam {
    /// The product's name, percent-encoded.
    #[param(example = "Bi%C3%A8re")]
    name: String,
}

/// The category in a path.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)] // describes a path segment that the handlers parse themselves
struct CategoryParam {
    /// The category's id, a whole number ≥ 1.
    #[param(minimum = 1)]
    id: i64,
}

/// The filter of `GET /v1/products`.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // describes the query that the handler parses
struct ProductQuery {
    /// Only this category's products (its id).
    #[param(minimum = 1)]
    category: Option<i64>,
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
    if p.given("bundles").is_none() {
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
        .is_some()
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
#[utoipa::path(
    get,
    path = "/v1/products",
    tag = "catalogue",
    summary = "The products, by name (rights ≥ 1)",
    params(ProductQuery, PageParams),
    responses(
        (status = 200, description = "`PRODUCT_LIST`, with a `Link` header", body = Success<PageJson<ProductJson>>),
        (status = 400, description = "`VALIDATION_ERROR` (paging, category)", body = Failure),
        (status = 404, description = "`CATEGORY_NOT_FOUND_ERROR`: no category has the id of `?category=`", body = Failure),
    ),
    security(("bearer" = [])),
)]
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
#[utoipa::path(
    post,
    path = "/v1/products",
    tag = "catalogue",
    summary = "Add a product (rights 3)",
    request_body(content(
        (ProductRequest = "application/json"),
        (ProductRequest = "application/x-www-form-urlencoded"),
    )),
    responses(
        (status = 201, description = "`PRODUCT_CREATED`; `Location` of the product", body = Success<ProductJson>),
        (status = 400, description = "`VALIDATION_ERROR`", body = Failure),
        (status = 404, description = "`CATEGORY_NOT_FOUND_ERROR`", body = Failure),
        (status = 409, description = "`PRODUCT_EXISTS_ERROR`", body = Failure),
    ),
    security(("bearer" = [])),
)]
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
            let p = read_params(
                &req,
                payload,
                &[
                    ("name", Ty::Text),
                    ("unit_price", Ty::Money),
                    ("bundles", Ty::Text),
                    ("category", Ty::Text),
                ],
            )
            .await?;
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
#[utoipa::path(
    get,
    path = "/v1/products/{name}",
    tag = "catalogue",
    summary = "A product (rights ≥ 1)",
    params(ProductParam),
    responses(
        (status = 200, description = "`PRODUCT`", body = Success<ProductJson>),
        (status = 404, description = "`PRODUCT_NOT_FOUND_ERROR`", body = Failure),
    ),
    security(("bearer" = [])),
)]
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
#[utoipa::path(
    patch,
    path = "/v1/products/{name}",
    tag = "catalogue",
    summary = "Change a product (rights 3)",
    params(ProductParam),
    request_body(content(
        (ProductPatchRequest = "application/json"),
        (ProductPatchRequest = "application/x-www-form-urlencoded"),
    )),
    responses(
        (status = 200, description = "`PRODUCT_UPDATED`", body = Success<ProductJson>),
        (status = 400, description = "`VALIDATION_ERROR`", body = Failure),
        (status = 404, description = "`PRODUCT_NOT_FOUND_ERROR`, `CATEGORY_NOT_FOUND_ERROR`", body = Failure),
    ),
    security(("bearer" = [])),
)]
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
            let p = read_params(
                &req,
                payload,
                &[
                    ("unit_price", Ty::Money),
                    ("bundles", Ty::Text),
                    ("category", Ty::Text),
                ],
            )
            .await?;
            let changes = ProductChanges {
                unit_price: p.money_opt("unit_price")?,
                bundles: bundles(&p)?,
                category: category(&p),
            };
            let product = state.bar.update_product(actor, &path, changes).await?;
            Ok(ok(lang, "PRODUCT_UPDATED", ProductJson::from(product)))
        }
        .await,
    )
}

/// `DELETE /v1/products/{name}` [3] → 204; the transactions keep the product's name.
#[utoipa::path(
    delete,
    path = "/v1/products/{name}",
    tag = "catalogue",
    summary = "Delete a product (rights 3)",
    description = "The transactions keep the product's name.",
    params(ProductParam),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "`PRODUCT_NOT_FOUND_ERROR`", body = Failure),
    ),
    security(("bearer" = [])),
)]
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
#[utoipa::path(
    get,
    path = "/v1/categories",
    tag = "catalogue",
    summary = "The categories, by name (rights ≥ 1)",
    params(PageParams),
    responses(
        (status = 200, description = "`CATEGORY_LIST`, with a `Link` header", body = Success<PageJson<CategoryJson>>),
        (status = 400, description = "`VALIDATION_ERROR` (paging)", body = Failure),
    ),
    security(("bearer" = [])),
)]
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
#[utoipa::path(
    post,
    path = "/v1/categories",
    tag = "catalogue",
    summary = "Add a category (rights 3)",
    request_body(content(
        (CategoryRequest = "application/json"),
        (CategoryRequest = "application/x-www-form-urlencoded"),
    )),
    responses(
        (status = 201, description = "`CATEGORY_CREATED`; `Location` of the category", body = Success<CategoryJson>),
        (status = 400, description = "`VALIDATION_ERROR`", body = Failure),
        (status = 409, description = "`CATEGORY_EXISTS_ERROR`", body = Failure),
    ),
    security(("bearer" = [])),
)]
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
            let p = read_params(&req, payload, &[("name", Ty::Text)]).await?;
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
#[utoipa::path(
    get,
    path = "/v1/categories/{id}",
    tag = "catalogue",
    summary = "A category (rights ≥ 1)",
    params(CategoryParam),
    responses(
        (status = 200, description = "`CATEGORY`", body = Success<CategoryJson>),
        (status = 400, description = "Malformed id", body = Failure),
        (status = 404, description = "`CATEGORY_NOT_FOUND_ERROR`", body = Failure),
    ),
    security(("bearer" = [])),
)]
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
#[utoipa::path(
    patch,
    path = "/v1/categories/{id}",
    tag = "catalogue",
    summary = "Rename a category (rights 3)",
    description = "Its products follow the new name.",
    params(CategoryParam),
    request_body(content(
        (CategoryRequest = "application/json"),
        (CategoryRequest = "application/x-www-form-urlencoded"),
    )),
    responses(
        (status = 200, description = "`CATEGORY_UPDATED`", body = Success<CategoryJson>),
        (status = 400, description = "`VALIDATION_ERROR`", body = Failure),
        (status = 404, description = "`CATEGORY_NOT_FOUND_ERROR`", body = Failure),
        (status = 409, description = "`CATEGORY_EXISTS_ERROR`", body = Failure),
    ),
    security(("bearer" = [])),
)]
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
            let p = read_params(&req, payload, &[("name", Ty::Text)]).await?;
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
#[utoipa::path(
    delete,
    path = "/v1/categories/{id}",
    tag = "catalogue",
    summary = "Delete a category (rights 3)",
    description = "Its products are left without a category.",
    params(CategoryParam),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, description = "Malformed id", body = Failure),
        (status = 404, description = "`CATEGORY_NOT_FOUND_ERROR`", body = Failure),
    ),
    security(("bearer" = [])),
)]
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
