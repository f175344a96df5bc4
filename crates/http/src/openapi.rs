//! The OpenAPI 3 document of `/v1` and `/oauth`, and the tables both are served from.
//!
//! An operation is a handler with a `#[utoipa::path(...)]` attribute, which holds its method,
//! path, parameters, body, answers and security. The tables [`crate::v1::operations`] and
//! [`crate::oauth::operations`] list the handlers with [`operation!`]; each module's `configure`
//! registers exactly the operations of its table (see [`resources`]: one resource per path,
//! any other method → 405 with `Allow`), and [`document`] describes exactly the same table. A
//! route cannot be served without its description, nor described without being served; the
//! tests compare the document with what the server answers.

use std::sync::OnceLock;

use actix_web::http::{header, Method};
use actix_web::web;
use actix_web::{FromRequest, Handler, HttpResponse, Resource, Responder, Route};
use utoipa::openapi::path::{HttpMethod, Paths};
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::schema::{ObjectBuilder, Schema, SchemaType, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{Content, OpenApi as Document, Ref, RefOr};
use utoipa::{IntoParams, Modify, OpenApi, PartialSchema, ToSchema};
use utoipa_swagger_ui::{Config, SwaggerUi};

use crate::v1::{Failure, Lang};

/// The security scheme of `/v1`: `Authorization: Bearer <token>`, a staff session token
/// (`POST /v1/sessions`) or a partner's access token (`POST /oauth/token`). An operation open
/// to partners names the scope it needs in its requirement (`("bearer" = ["cards:read"])`, as
/// OpenAPI 3.1 allows for non-OAuth2 schemes): an OAuth2 scheme would need an absolute
/// `tokenUrl`, which the server does not know behind a proxy.
pub const BEARER: &str = "bearer";
/// HTTP Basic client authentication on `/oauth/*` (RFC 6749 §2.3.1): `client_id:client_secret`,
/// each form-url-encoded. Partners that opted in may also use it on `/v1`.
pub const CLIENT_BASIC: &str = "client_basic";

/// The partner scopes, with what they allow.
pub const SCOPES: [(&str, &str); 8] = [
    ("cards:read", "read a card's balance and validity"),
    ("cards:credit", "credit cards"),
    ("members:read", "read members and their cards"),
    (
        "members:write",
        "create and edit members' business cards (seed 003)",
    ),
    (
        "tokens:introspect",
        "introspect tokens issued to other clients",
    ),
    ("vouchers:issue", "issue QR vouchers and read them"),
    (
        "cards:debit",
        "debit cards under their members' mandates, and refund",
    ),
    (
        "notifications:send",
        "send notifications and advertisements to members, register a webhook",
    ),
];

/// One documented operation: how it is served (its routes) and how it is described (its
/// `#[utoipa::path]`). Build it with [`operation!`].
pub struct Operation {
    /// The full path as the document writes it, e.g. `/v1/cards/{card}`.
    pub path: String,
    /// The methods it is served at (usually one).
    pub methods: Vec<HttpMethod>,
    routes: Vec<Route>,
    describe: fn(&mut Paths, &mut Schemas),
}

/// Named schemas, as `utoipa` collects them from an operation.
type Schemas = Vec<(String, RefOr<Schema>)>;

/// The operation of a handler annotated with `#[utoipa::path(...)]`:
/// `operation!(staff::get_card)` or, for a handler of the current module, `operation!(languages)`.
macro_rules! operation {
    ($module:ident :: $handler:ident) => {
        pastey::paste! {
            $crate::openapi::Operation::new::<$module::[<__path_ $handler>], _, _>($module::$handler)
        }
    };
    ($handler:ident) => {
        pastey::paste! {
            $crate::openapi::Operation::new::<[<__path_ $handler>], _, _>($handler)
        }
    };
}
pub(crate) use operation;

impl Operation {
    /// The operation served by `handler` and described by `P`, the type `#[utoipa::path]`
    /// generated for it. Use [`operation!`], which names `P` from the handler.
    pub fn new<P, F, Args>(handler: F) -> Operation
    where
        P: utoipa::Path + utoipa::__dev::SchemaReferences + for<'t> utoipa::__dev::Tags<'t>,
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        let methods = P::methods();
        let routes = methods
            .iter()
            .map(|m| web::method(actix_method(m)).to(handler.clone()))
            .collect();
        Operation {
            path: P::path(),
            methods,
            routes,
            describe: describe::<P>,
        }
    }
}

fn describe<P>(paths: &mut Paths, schemas: &mut Schemas)
where
    P: utoipa::Path + utoipa::__dev::SchemaReferences + for<'t> utoipa::__dev::Tags<'t>,
{
    let mut operation = P::operation();
    let tags = <P as utoipa::__dev::Tags>::tags();
    if !tags.is_empty() {
        let own = operation.tags.get_or_insert_with(Vec::new);
        for tag in tags {
            if !own.iter().any(|t| t == tag) {
                own.push(tag.to_owned());
            }
        }
    }
    paths.add_path_operation(P::path(), P::methods(), operation);
    P::schemas(schemas);
}

/// The method as actix spells it.
pub fn actix_method(method: &HttpMethod) -> Method {
    match method {
        HttpMethod::Get => Method::GET,
        HttpMethod::Post => Method::POST,
        HttpMethod::Put => Method::PUT,
        HttpMethod::Delete => Method::DELETE,
        HttpMethod::Options => Method::OPTIONS,
        HttpMethod::Head => Method::HEAD,
        HttpMethod::Patch => Method::PATCH,
        HttpMethod::Trace => Method::TRACE,
    }
}

/// The resources serving `operations`: one per path (in the order of first appearance), with
/// the path's routes, and `refuse(allow)` for any other method, `allow` being the path's
/// methods as an `Allow` header writes them (`GET, POST`). `prefix` is removed from the paths
/// (the scope the resources are mounted in).
pub fn resources(
    operations: Vec<Operation>,
    prefix: &str,
    refuse: fn(String) -> Route,
) -> Vec<Resource> {
    let mut grouped: Vec<(String, Vec<Method>, Vec<Route>)> = Vec::new();
    for op in operations {
        let index = match grouped.iter().position(|(path, ..)| *path == op.path) {
            Some(index) => index,
            None => {
                grouped.push((op.path.clone(), Vec::new(), Vec::new()));
                grouped.len() - 1
            }
        };
        let (_, methods, routes) = &mut grouped[index];
        methods.extend(op.methods.iter().map(actix_method));
        routes.extend(op.routes);
    }
    grouped
        .into_iter()
        .map(|(path, methods, routes)| {
            let allow = methods
                .iter()
                .map(Method::as_str)
                .collect::<Vec<_>>()
                .join(", ");
            let local = path.strip_prefix(prefix).unwrap_or(&path);
            routes
                .into_iter()
                .fold(web::resource(local), Resource::route)
                .default_service(refuse(allow))
        })
        .collect()
}

/// Every documented operation: `/oauth` (and its alias `/mcg/v1/tokeninfo`), then `/v1`.
pub fn operations() -> Vec<Operation> {
    let mut all = crate::oauth::operations();
    all.extend(crate::v1::operations());
    all.extend(crate::services::operations());
    all
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "ardoise",
        description = "The ardoise cashless payment service: the `/v1` resource API (staff \
            and partners) and the OAuth2 endpoints. Every `/v1` answer is an envelope: \
            `{success, code, message, data}` on success, `{success: false, code, message, \
            debugMessage, moreInfo}` on refusal. `message` follows `Accept-Language` (see \
            `GET /v1/languages`). Money is a string with exactly two decimals and a \
            `currency`. Lists take `?page=&per_page=` and answer `{items, page, per_page, \
            total}` with a `Link` header.",
        license(name = "MIT OR Apache-2.0", identifier = "MIT OR Apache-2.0"),
    ),
    modifiers(&Common),
    tags(
        (name = "oauth", description = "OAuth2: tokens, introspection, revocation (RFC 6749, 7662, 7009)"),
        (name = "sessions", description = "Staff sessions"),
        (name = "cards", description = "Cards and their money"),
        (name = "transactions", description = "The ledger and its corrections"),
        (name = "partners", description = "Partner resources (seed 000's 3rd Party API)"),
        (name = "catalogue", description = "Products and their categories"),
        (name = "users", description = "Staff accounts"),
        (name = "partners admin", description = "The OAuth2 partner registry, for presidents"),
        (name = "members", description = "The association's members and their cards"),
        (name = "member accounts", description = "Members' invitations, passwords and sessions"),
        (name = "me", description = "A member's own space: profile, cards, history, preferences, data"),
        (name = "service", description = "About the API itself"),
        (name = "vouchers", description = "QR coupons and tickets, redeemed exactly once"),
        (name = "services", description = "Seed 002's common endpoint for service providers"),
        (name = "notifications", description = "Notifications and advertisements to members, through a durable outbox"),
    ),
)]
struct ApiDoc;

/// The security schemes and the answers every `/v1` operation may give.
struct Common;

fn bearer_description() -> String {
    let scopes: Vec<String> = SCOPES
        .iter()
        .map(|(scope, what)| format!("`{scope}` ({what})"))
        .collect();
    format!(
        "A staff session token (POST /v1/sessions) or a partner access token (POST \
         /oauth/token, client credentials). A partner operation names the scope its token needs \
         in the security requirement; the scopes: {}. Missing → 401 with `WWW-Authenticate: \
         Bearer`; invalid, expired, revoked or used up → 401 `invalid_token`; lacking the scope \
         or rights → 403.",
        scopes.join(", ")
    )
}

/// Answers shared by the `/v1` operations, by name in `components.responses`.
const UNAUTHORIZED: &str = "Unauthorized";
const FORBIDDEN: &str = "Forbidden";
const INTERNAL: &str = "InternalError";
const UNAVAILABLE: &str = "Unavailable";

fn failure_answer(description: &str) -> Response {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            Content::new(Some(Ref::from_schema_name(Failure::name()))),
        )
        .build()
}

impl Modify for Common {
    fn modify(&self, doc: &mut Document) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            BEARER,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(bearer_description()))
                    .build(),
            ),
        );
        components.add_security_scheme(
            CLIENT_BASIC,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Basic)
                    .description(Some(
                        "OAuth2 client authentication (RFC 6749 §2.3.1): client_id and \
                         client_secret, each form-url-encoded, as Basic user and password. On \
                         /v1, only for partners that opted in (not recommended), with the \
                         scope named in the requirement.",
                    ))
                    .build(),
            ),
        );
        components
            .schemas
            .insert(Failure::name().into_owned(), Failure::schema());
        for (name, description) in [
            (
                UNAUTHORIZED,
                "No credentials, or an invalid, expired, revoked or used-up token \
                 (`WWW-Authenticate: Bearer realm=\"ardoise\"`).",
            ),
            (
                FORBIDDEN,
                "The token lacks the scope, or the staff user the rights.",
            ),
            (INTERNAL, "Internal error (`code` 9999, no detail)."),
            (
                UNAVAILABLE,
                "Storage unavailable: retry after `Retry-After`.",
            ),
        ] {
            components
                .responses
                .insert(name.to_owned(), RefOr::T(failure_answer(description)));
        }
    }
}

/// The OpenAPI document of every operation in [`operations`].
pub fn document() -> Document {
    let mut doc = ApiDoc::openapi();
    let mut schemas = Vec::new();
    for op in operations() {
        (op.describe)(&mut doc.paths, &mut schemas);
    }
    // The shared answers of `/v1`: 500 and 503 everywhere, 401 and 403 where credentials
    // are needed.
    for (path, item) in doc.paths.paths.iter_mut() {
        if !path.starts_with("/v1/") {
            continue;
        }
        for op in [
            &mut item.get,
            &mut item.post,
            &mut item.put,
            &mut item.delete,
            &mut item.patch,
        ]
        .into_iter()
        .flatten()
        {
            let secured = op.security.as_ref().is_some_and(|s| !s.is_empty());
            let mut shared = vec![("500", INTERNAL), ("503", UNAVAILABLE)];
            if secured {
                shared.extend([("401", UNAUTHORIZED), ("403", FORBIDDEN)]);
            }
            for (status, name) in shared {
                op.responses
                    .responses
                    .entry(status.to_owned())
                    .or_insert_with(|| RefOr::Ref(Ref::from_response_name(name)));
            }
        }
    }
    if let Some(components) = doc.components.as_mut() {
        for (name, schema) in schemas {
            components.schemas.entry(name).or_insert(schema);
        }
    }
    let Ok(mut value) = serde_json::to_value(&doc) else {
        return doc;
    };
    tell_the_truth(&mut value);
    serde_json::from_value(value).unwrap_or(doc)
}

/// What the parameters' own types cannot say, by (location, name): the patterns and bounds
/// the server enforces on them.
fn parameter_schema(location: &str, name: &str) -> Option<serde_json::Value> {
    use serde_json::json;
    Some(match (location, name) {
        // `CardId::parse`: an NFC UID in hex, or a printed id.
        ("path", "card") => json!({
            "type": "string",
            "pattern": "^([0-9A-Fa-f]{8,20}|[A-Za-z0-9]{4,32})$",
        }),
        // `Login::parse`.
        ("path", "login") => json!({
            "type": "string",
            "minLength": 1,
            "maxLength": 64,
            "pattern": "^[A-Za-z0-9._-]{1,64}$",
        }),
        // `Product::valid_name`: 1 to 64 characters, no control character, no surrounding
        // space.
        ("path", "name") => json!({
            "type": "string",
            "minLength": 1,
            "maxLength": 64,
            "pattern": NAME_PATTERN,
        }),
        ("header", "Idempotency-Key") => json!({
            "type": "string",
            "minLength": 1,
            "maxLength": 255,
            "pattern": "^[!-~]{1,255}$",
        }),
        // `Page::new`: any page number a u32 holds.
        ("query", "page") => json!({
            "type": "integer",
            "format": "int64",
            "minimum": 1,
            "maximum": u32::MAX,
        }),
        _ => return None,
    })
}

/// A product or category name as `Product::valid_name` takes it.
const NAME_PATTERN: &str =
    r"^[^\s\x00-\x1F\x7F-\x9F]([^\x00-\x1F\x7F-\x9F]{0,62}[^\s\x00-\x1F\x7F-\x9F])?$";

/// Makes the generated document say what the server does, where `utoipa`'s derivation cannot:
/// parameter patterns and bounds ([`parameter_schema`]); one operationId per operation (the
/// handlers of different modules share names such as `list`: such ids get the path's first
/// segment as a prefix, `members_list`); and form bodies without `null` (a form field has no
/// null: the text `null` is a value, unlike JSON's `null`, which is an absent field).
fn tell_the_truth(doc: &mut serde_json::Value) {
    use serde_json::Value;
    let mut ids: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    let schemas = doc["components"]["schemas"].clone();
    let Some(paths) = doc["paths"].as_object_mut() else {
        return;
    };
    for item in paths.values() {
        for op in item.as_object().into_iter().flat_map(|o| o.values()) {
            if let Some(id) = op["operationId"].as_str() {
                *ids.entry(id.to_owned()).or_default() += 1;
            }
        }
    }
    let mut bodies = Vec::new();
    for (path, item) in paths.iter_mut() {
        let prefix = path
            .trim_start_matches('/')
            .split('/')
            .nth(1)
            .unwrap_or_default()
            .replace(['-', '.'], "_");
        for (method, op) in item.as_object_mut().into_iter().flat_map(|o| o.iter_mut()) {
            let Some(op) = op.as_object_mut() else {
                continue;
            };
            if let Some(id) = op.get("operationId").and_then(Value::as_str) {
                if ids.get(id).is_some_and(|n| *n > 1) {
                    let unique = format!("{prefix}_{id}");
                    op.insert("operationId".into(), Value::String(unique));
                }
            }
            let parameters = op.get_mut("parameters").and_then(Value::as_array_mut);
            for parameter in parameters.into_iter().flatten() {
                let location = parameter["in"].as_str().unwrap_or_default().to_owned();
                let name = parameter["name"].as_str().unwrap_or_default().to_owned();
                if let (Some(schema), Some(parameter)) = (
                    parameter_schema(&location, &name),
                    parameter.as_object_mut(),
                ) {
                    parameter.insert("schema".into(), schema);
                }
            }
            let form = op
                .get_mut("requestBody")
                .and_then(|b| b.get_mut("content"))
                .and_then(|c| c.get_mut("application/x-www-form-urlencoded"))
                .and_then(|f| f.get_mut("schema"));
            if let Some(schema) = form {
                let mut inlined = resolve(schema, &schemas);
                drop_null(&mut inlined);
                *schema = inlined;
            }
            let patch = method == "patch";
            let contents = op
                .get_mut("requestBody")
                .and_then(|b| b.get_mut("content"))
                .and_then(Value::as_object_mut);
            for content in contents.into_iter().flat_map(|c| c.values_mut()) {
                let Some(schema) = content.get_mut("schema") else {
                    continue;
                };
                match schema["$ref"].as_str() {
                    Some(r) => {
                        let name = r.rsplit('/').next().unwrap_or_default().to_owned();
                        bodies.push((name, patch));
                    }
                    None => require_content(schema, patch),
                }
            }
        }
    }
    for (name, patch) in bodies {
        if let Some(schema) = doc
            .get_mut("components")
            .and_then(|c| c.get_mut("schemas"))
            .and_then(|s| s.get_mut(&name))
        {
            require_content(schema, patch);
        }
    }
}

/// What `Params` does with a body: an empty required field is a missing one (`minLength: 1`),
/// and an edit (`PATCH`) must change something (`minProperties: 1`).
fn require_content(schema: &mut serde_json::Value, patch: bool) {
    use serde_json::Value;
    let required: Vec<String> = schema["required"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r.as_str().map(str::to_owned))
        .collect();
    let Some(object) = schema.as_object_mut() else {
        return;
    };
    if patch {
        object.insert("minProperties".into(), Value::from(1));
    }
    // `Params` refuses a field it does not know, or one given twice.
    if object.contains_key("properties") {
        object.insert("additionalProperties".into(), Value::Bool(false));
    }
    let properties = object.get_mut("properties").and_then(Value::as_object_mut);
    for (name, property) in properties.into_iter().flat_map(|p| p.iter_mut()) {
        let stringy = match &property["type"] {
            Value::String(t) => t == "string",
            Value::Array(types) => types.iter().any(|t| t == "string"),
            _ => false,
        };
        let Some(property) = property.as_object_mut() else {
            continue;
        };
        if stringy && required.contains(name) {
            property.entry("minLength").or_insert(Value::from(1));
        }
        // The ids that the domain's parsers take, as in the paths.
        let location = match name.as_str() {
            "card" | "new_card" => Some("card"),
            "login" => Some("login"),
            _ => None,
        };
        if let (true, Some(Value::Object(pattern))) =
            (stringy, location.and_then(|l| parameter_schema("path", l)))
        {
            for (key, value) in pattern {
                if key != "type" {
                    property.insert(key, value);
                }
            }
        }
    }
}

/// `schema`, or the component it refers to.
fn resolve(schema: &serde_json::Value, schemas: &serde_json::Value) -> serde_json::Value {
    match schema["$ref"].as_str() {
        Some(r) => r
            .rsplit('/')
            .next()
            .and_then(|name| schemas.get(name))
            .cloned()
            .unwrap_or_else(|| schema.clone()),
        None => schema.clone(),
    }
}

/// Removes `null` from the types of an object's properties.
fn drop_null(schema: &mut serde_json::Value) {
    use serde_json::Value;
    let properties = schema.get_mut("properties").and_then(Value::as_object_mut);
    for property in properties.into_iter().flat_map(|p| p.values_mut()) {
        let Some(object) = property.as_object_mut() else {
            continue;
        };
        if let Some(types) = object.get_mut("type").and_then(Value::as_array_mut) {
            types.retain(|t| t != "null");
            if types.len() == 1 {
                let only = types[0].clone();
                object.insert("type".into(), only);
            }
        }
        if let Some(choices) = object.get_mut("oneOf").and_then(Value::as_array_mut) {
            choices.retain(|c| c.get("type").and_then(Value::as_str) != Some("null"));
            if choices.len() == 1 {
                let only = choices[0].clone();
                *property = only;
            }
        }
    }
}

/// Swagger UI at `/docs/` (and `/docs` redirecting there), reading `/v1/openapi.json`. Its
/// files are in the binary (`utoipa-swagger-ui`'s `vendored` feature): nothing is fetched at
/// build or run time. Swagger UI is Apache-2.0, by SmartBear Software.
pub fn configure_docs(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/docs").route(web::get().to(|| async {
        HttpResponse::MovedPermanently()
            .insert_header((header::LOCATION, "/docs/"))
            .finish()
    })))
    .service(SwaggerUi::new("/docs/{_:.*}").config(Config::new(["/v1/openapi.json"])));
}

/// The document as JSON, rendered once.
fn document_json() -> Result<&'static str, String> {
    static JSON: OnceLock<Result<String, String>> = OnceLock::new();
    JSON.get_or_init(|| document().to_json().map_err(|e| e.to_string()))
        .as_deref()
        .map_err(Clone::clone)
}

/// `GET /v1/openapi.json` (public): this document.
#[utoipa::path(
    get,
    path = "/v1/openapi.json",
    tag = "service",
    responses((status = 200, description = "The OpenAPI 3 document of `/v1` and `/oauth`.", content_type = "application/json")),
)]
pub(crate) async fn openapi_json(req: actix_web::HttpRequest) -> HttpResponse {
    match document_json() {
        Ok(json) => HttpResponse::Ok()
            .content_type("application/json")
            .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
            .body(json),
        Err(e) => crate::v1::failure(
            Lang::of(&req),
            &ardoise_domain::DomainError::Internal(format!(
                "cannot render the OpenAPI document: {e}"
            )),
        ),
    }
}

/// Money as `/v1` writes it: a string with exactly two decimals (`"12.50"`, `"-3.00"`), in the
/// `currency` beside it. Use as `#[schema(value_type = Amount)]` on a `String` field.
pub struct Amount;

impl PartialSchema for Amount {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .pattern(Some(r"^-?[0-9]+\.[0-9]{2}$"))
            .description(Some("Money: a string with exactly two decimals."))
            .examples(["12.50"])
            .into()
    }
}

impl ToSchema for Amount {}

/// Money as `/v1` reads it: a string or a JSON number, with at most two decimals.
pub struct AmountInput;

impl PartialSchema for AmountInput {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(SchemaType::from_iter([Type::String, Type::Number]))
            .pattern(Some(r"^-?[0-9]+(\.[0-9]{1,2})?$"))
            .description(Some(
                "Money: a string or a number with at most two decimals (`\"12.5\"`, `12.50`).",
            ))
            .examples(["12.50"])
            .into()
    }
}

impl ToSchema for AmountInput {}

/// The card in a path.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)] // describes a path segment that the handlers parse themselves
pub struct CardParam {
    /// The card's id: an NFC UID in hex (8 to 20 digits) or a printed id (4 to 32 letters and
    /// digits).
    #[param(example = "04A1B2C3D4")]
    card: String,
}

/// The member in a path.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)] // describes a path segment that the handlers parse themselves
pub struct MemberParam {
    /// The member's id, a whole number ≥ 1.
    #[param(minimum = 1)]
    member: i64,
}

/// The transaction in a path.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)] // describes a path segment that the handlers parse themselves
pub struct TransactionParam {
    /// The transaction's id, a whole number ≥ 1.
    #[param(minimum = 1)]
    id: i64,
}

/// The page of a list.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // describes the query that `page_of` parses
pub struct PageParams {
    /// The page, from 1 (default 1).
    #[param(minimum = 1)]
    page: Option<u32>,
    /// Items a page, 1 to 500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    per_page: Option<u32>,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::collections::{BTreeMap, BTreeSet};

    use actix_web::test::{call_service, init_service, TestRequest};
    use actix_web::App;
    use serde_json::Value;

    use super::*;

    /// A concrete path for a documented one: each `{parameter}` segment is `1` (enough to reach
    /// the handler, which may then refuse the value: that still shows the route is served).
    fn concrete(path: &str) -> String {
        path.split('/')
            .map(|segment| {
                // A language is a code (`/v1/languages/{lang}` answers an unknown one with
                // `RESOURCE_NOT_FOUND_ERROR`, the code of an unknown route).
                if segment == "{lang}" {
                    "en"
                } else if segment.starts_with('{') {
                    "1"
                } else {
                    segment
                }
            })
            .collect::<Vec<_>>()
            .join("/")
    }

    /// (path, methods) as the document lists them.
    fn documented() -> BTreeMap<String, BTreeSet<String>> {
        let doc = serde_json::to_value(document()).unwrap();
        let mut out = BTreeMap::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            let methods = item
                .as_object()
                .unwrap()
                .keys()
                .filter(|k| {
                    [
                        "get", "put", "post", "delete", "options", "head", "patch", "trace",
                    ]
                    .contains(&k.as_str())
                })
                .map(|k| k.to_ascii_uppercase())
                .collect();
            out.insert(path.clone(), methods);
        }
        out
    }

    #[test]
    fn the_document_is_openapi_3_and_covers_every_table_entry() {
        let doc = serde_json::to_value(document()).unwrap();
        assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
        let listed = documented();
        for op in operations() {
            for m in &op.methods {
                let method = actix_method(m).to_string();
                assert!(
                    listed.get(&op.path).is_some_and(|ms| ms.contains(&method)),
                    "{method} {} is served but not in the document",
                    op.path
                );
            }
        }
        let served: usize = operations().iter().map(|op| op.methods.len()).sum();
        let described: usize = listed.values().map(BTreeSet::len).sum();
        assert_eq!(
            served, described,
            "the same (method, path) twice in the tables?"
        );
    }

    /// Each operation has its own operationId; form bodies have no `null`; the parameters
    /// carry the patterns and bounds that the server enforces.
    #[test]
    fn the_document_says_what_the_server_enforces() {
        let doc = serde_json::to_value(document()).unwrap();
        let mut ids = BTreeSet::new();
        let mut forms = 0;
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                let id = op["operationId"].as_str().unwrap().to_owned();
                assert!(
                    ids.insert(id.clone()),
                    "{method} {path}: operationId {id} twice"
                );
                if let Some(form) =
                    op.pointer("/requestBody/content/application~1x-www-form-urlencoded/schema")
                {
                    forms += 1;
                    assert!(
                        !form.to_string().contains("\"null\""),
                        "{method} {path}: a form field declared nullable: {form}"
                    );
                }
                for parameter in op["parameters"].as_array().into_iter().flatten() {
                    let schema = &parameter["schema"];
                    match (parameter["in"].as_str(), parameter["name"].as_str()) {
                        (Some("path"), Some("card" | "login" | "name"))
                        | (Some("header"), Some("Idempotency-Key")) => {
                            assert!(
                                schema["pattern"].is_string(),
                                "{method} {path}: {parameter}"
                            );
                            assert_eq!(schema["type"], "string", "{method} {path}: {parameter}");
                        }
                        (Some("query"), Some("page")) => {
                            assert_eq!(schema["format"], "int64");
                            assert_eq!(schema["maximum"], u32::MAX);
                        }
                        _ => {}
                    }
                }
            }
        }
        assert!(forms > 10, "{forms} form bodies");
        let card = doc["paths"]["/v1/cards/{card}"]["get"]["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == "card")
            .unwrap()["schema"]["pattern"]
            .clone();
        assert_eq!(card, "^([0-9A-Fa-f]{8,20}|[A-Za-z0-9]{4,32})$");
        // An empty required field is a missing one; an edit must change something.
        let token = doc
            .pointer("/paths/~1oauth~1token/post/requestBody/content/application~1x-www-form-urlencoded/schema/properties/grant_type")
            .unwrap();
        assert_eq!(token["minLength"], 1, "{token}");
        let edit = doc
            .pointer("/paths/~1v1~1users~1{login}/patch/requestBody/content/application~1json/schema/$ref")
            .and_then(Value::as_str)
            .unwrap()
            .rsplit('/')
            .next()
            .unwrap();
        assert_eq!(doc["components"]["schemas"][edit]["minProperties"], 1);
        assert_eq!(
            doc["components"]["schemas"][edit]["additionalProperties"],
            false
        );
        let new_card = &doc["components"]["schemas"]["ReplaceRequest"]["properties"]["new_card"];
        assert!(
            new_card.is_null() || new_card["pattern"].is_string(),
            "{new_card}"
        );
    }

    #[actix_web::test]
    async fn swagger_ui_is_served_offline_and_reads_the_document() {
        let app = init_service(App::new().configure(crate::configure)).await;
        let req = TestRequest::get().uri("/docs").to_request();
        let answer = call_service(&app, req).await;
        assert_eq!(answer.status().as_u16(), 301);
        assert_eq!(answer.headers().get(header::LOCATION).unwrap(), "/docs/");
        let req = TestRequest::get().uri("/docs/").to_request();
        let answer = call_service(&app, req).await;
        assert_eq!(answer.status().as_u16(), 200);
        let page = actix_web::test::read_body(answer).await;
        let page = String::from_utf8_lossy(&page);
        assert!(page.contains("swagger-ui-bundle.js"), "{page}");
        let req = TestRequest::get()
            .uri("/docs/swagger-initializer.js")
            .to_request();
        let script = actix_web::test::read_body(call_service(&app, req).await).await;
        assert!(String::from_utf8_lossy(&script).contains("/v1/openapi.json"));
        let req = TestRequest::get()
            .uri("/docs/swagger-ui-bundle.js")
            .to_request();
        let answer = call_service(&app, req).await;
        assert_eq!(answer.status().as_u16(), 200);
        assert!(actix_web::test::read_body(answer).await.len() > 100_000);
    }

    #[test]
    fn every_reference_resolves() {
        let doc = serde_json::to_value(document()).unwrap();
        let mut refs = Vec::new();
        fn walk(v: &Value, refs: &mut Vec<String>) {
            match v {
                Value::Object(map) => {
                    if let Some(Value::String(r)) = map.get("$ref") {
                        refs.push(r.clone());
                    }
                    map.values().for_each(|v| walk(v, refs));
                }
                Value::Array(items) => items.iter().for_each(|v| walk(v, refs)),
                _ => {}
            }
        }
        walk(&doc, &mut refs);
        assert!(!refs.is_empty());
        for r in refs {
            let pointer = r.strip_prefix('#').expect("local reference");
            assert!(doc.pointer(pointer).is_some(), "dangling {r}");
        }
        // Security requirements name declared schemes.
        let schemes = doc["components"]["securitySchemes"].as_object().unwrap();
        for item in doc["paths"].as_object().unwrap().values() {
            for op in item.as_object().unwrap().values() {
                for requirement in op["security"].as_array().into_iter().flatten() {
                    for name in requirement.as_object().unwrap().keys() {
                        assert!(schemes.contains_key(name), "unknown scheme {name}");
                    }
                }
            }
        }
    }

    /// The server (every route of `crate::configure`, without app state: a served handler then
    /// fails to extract its state with a 500, an unserved route answers 404 or 405) agrees
    /// with the document: each documented (method, path) is served, and each documented path
    /// answers any other method with 405 and exactly the documented methods in `Allow`.
    #[actix_web::test]
    async fn the_server_serves_exactly_the_documented_routes() {
        let app = init_service(App::new().configure(crate::configure)).await;
        for (path, methods) in documented() {
            let uri = concrete(&path);
            for method in &methods {
                let req = TestRequest::default()
                    .method(method.parse().unwrap())
                    .uri(&uri)
                    .to_request();
                let status = call_service(&app, req).await.status().as_u16();
                assert!(
                    status != 404 && status != 405,
                    "{method} {path} is documented but answers {status}"
                );
            }
            let req = TestRequest::default()
                .method(Method::TRACE)
                .uri(&uri)
                .to_request();
            let answer = call_service(&app, req).await;
            assert_eq!(answer.status().as_u16(), 405, "TRACE {path}");
            let allow: BTreeSet<String> = answer
                .headers()
                .get(header::ALLOW)
                .expect("Allow")
                .to_str()
                .unwrap()
                .split(", ")
                .map(str::to_owned)
                .collect();
            assert_eq!(allow, methods, "methods served at {path}");
        }
    }

    /// The routes table of docs/api.md (`| \`METHOD /path\` | ...`) names only documented
    /// routes, and every documented route is in it — so a route served outside the tables
    /// (which the document would miss) shows up once it is written in docs/api.md.
    #[actix_web::test]
    async fn the_routes_of_docs_api_md_are_the_documented_ones() {
        let text = include_str!("../../../docs/api.md");
        let app = init_service(App::new().configure(crate::configure)).await;
        let documented = documented();
        let mut in_markdown = BTreeSet::new();
        for line in text.lines().filter(|l| l.starts_with("| `")) {
            let cell = line.trim_start_matches("| `");
            let Some((method, rest)) = cell.split_once(' ') else {
                continue;
            };
            if !["GET", "POST", "PUT", "DELETE", "PATCH"].contains(&method) {
                continue;
            }
            let path: String = rest
                .chars()
                .take_while(|c| !matches!(c, '`' | ' ' | '?'))
                .collect();
            in_markdown.insert((method.to_owned(), path));
        }
        assert!(!in_markdown.is_empty());
        for (method, path) in &in_markdown {
            let req = TestRequest::default()
                .method(method.parse().unwrap())
                .uri(&concrete(path))
                .to_request();
            let status = call_service(&app, req).await.status().as_u16();
            let served = status != 404 && status != 405;
            let described = documented.get(path).is_some_and(|ms| ms.contains(method));
            assert!(
                served && described,
                "{method} {path} (docs/api.md): served {served}, in the OpenAPI document {described}"
            );
        }
        for (path, methods) in &documented {
            for method in methods {
                assert!(
                    in_markdown.contains(&(method.clone(), path.clone())),
                    "{method} {path} is missing from the routes table of docs/api.md"
                );
            }
        }
    }
}
