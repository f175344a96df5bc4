//! The OpenAPI 3 document of `/v1` and `/oauth`, and the tables both are served from.
//!
//! An operation is a handler with a `#[utoipa::path(...)]` attribute, which holds its method,
//! path, parameters, body, answers and security. The tables [`crate::v1::operations`] and
//! [`crate::oauth::operations`] list the handlers with [`operation!`]; each module's `configure`
//! registers exactly the operations of its table (see [`resources`]: one resource per path,
//! any other method → 405 with `Allow`), and [`document`] describes exactly the same table. A
//! route cannot be served without its description, nor described without being served; the
//! tests compare the document with what the server answers.

use std::collections::BTreeMap;
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

use ardoise_auth::{MAX_PASSWORD_BYTES, MIN_PASSWORD_CHARS};

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

/// The resources serving `operations`: one per path, with the path's routes, and
/// `refuse(allow)` for any other method, `allow` being the path's methods as an `Allow` header
/// writes them (`GET, POST`). `prefix` is removed from the paths (the scope the resources are
/// mounted in).
///
/// The fixed paths come first, then the paths with parameters, each in the order of first
/// appearance: actix tries a scope's resources in order, comparing a fixed path as a string
/// but running a regular expression for each path with parameters, so a request for
/// `/v1/transfers` no longer runs some fifty of them before it is found. No fixed path is
/// also matched by a path with parameters (test
/// `no_fixed_path_is_also_a_path_with_parameters`), so the order decides nothing else.
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
    // A stable sort: `false` (fixed) before `true` (with parameters).
    grouped.sort_by_key(|(path, ..)| path.contains('{'));
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
const BAD_REQUEST: &str = "BadRequest";
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
                BAD_REQUEST,
                "`VALIDATION_ERROR`: a malformed parameter or body field, named in \
                 `debugMessage`; nothing is changed.",
            ),
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

/// The OpenAPI document of every operation in [`operations`], as JSON.
pub fn document() -> serde_json::Value {
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
            // Whatever a request carries (a path id, a query, a body) can be malformed.
            let takes_input =
                op.request_body.is_some() || op.parameters.as_ref().is_some_and(|p| !p.is_empty());
            if takes_input {
                shared.push(("400", BAD_REQUEST));
            }
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
    // As JSON from here: `utoipa`'s types cannot hold every keyword added below (they would
    // be dropped on the way back). A document that cannot be written is `null`, which the
    // tests refuse.
    let mut value = serde_json::to_value(&doc).unwrap_or_default();
    tell_the_truth(&mut value);
    value
}

/// What the parameters' own types cannot say, by (location, name): the patterns and bounds
/// the server enforces on them.
fn parameter_schema(location: &str, name: &str) -> Option<serde_json::Value> {
    use serde_json::json;
    Some(match (location, name) {
        // `CardId::parse`: an NFC UID in hex, or a printed id.
        ("path", "card") => json!({
            "type": "string",
            "pattern": CARD_PATTERN,
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
        // A query is read as a form: `""` and `null` are a value left out.
        ("query", "kind") => json!({
            "type": ["string", "null"],
            "enum": ["", "offer", "request", null],
        }),
        ("query", "status") => json!({
            "type": ["string", "null"],
            "enum": ["", "open", "all", null],
        }),
        // `VoucherCode::parse`: 16 Crockford base32 symbols and a check symbol, in any case,
        // dashes and spaces anywhere. (Whether the check symbol matches, no pattern says.)
        ("path", "code") => json!({
            "type": "string",
            "pattern": "^[- ]*([0-9A-HJ-NP-TV-Za-hj-np-tv-z][- ]*){16}[0-9A-Za-z*~$=][- ]*$",
        }),
        // `GET /v1/exchange/volume`'s days (an empty value is a day left out).
        ("query", "from" | "until") => json!({
            "anyOf": [
                { "type": "string", "format": "date", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$" },
                { "type": ["string", "null"], "maxLength": 0 },
            ],
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

/// An e-mail address as `ardoise_domain`'s member rules take it (the domain's labels here
/// in ASCII).
const EMAIL_PATTERN: &str = r"^[^\s@\x00-\x1F\x7F-\x9F]{1,64}@[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)+$";

/// A line of text as `ardoise_domain`'s member rules take it: surrounding spaces trimmed,
/// then at most `max` characters, none of them a control character (blank is no value).
fn line_pattern(max: usize) -> String {
    let inner = max.saturating_sub(2);
    format!(
        r"^\s*([^\s\x00-\x1F\x7F-\x9F]([^\x00-\x1F\x7F-\x9F]{{0,{inner}}}[^\s\x00-\x1F\x7F-\x9F])?)?\s*$"
    )
}

/// A card id as `CardId::parse` takes it: an NFC UID in hex, or a printed id.
const CARD_PATTERN: &str = "^([0-9A-Fa-f]{8,20}|[A-Za-z0-9]{4,32})$";

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
                let Some(parameter) = parameter.as_object_mut() else {
                    continue;
                };
                if let Some(schema) = parameter_schema(&location, &name) {
                    parameter.insert("schema".into(), schema);
                } else if let Some(schema) =
                    parameter.get_mut("schema").and_then(Value::as_object_mut)
                {
                    bound_id(schema);
                }
                // A query is read as a form: an empty value, or the text `null`, is a value
                // left out (`?per_page=null` is the default page size).
                if location == "query" {
                    parameter.insert("allowEmptyValue".into(), Value::Bool(true));
                    let schema = parameter.get_mut("schema").and_then(Value::as_object_mut);
                    if let Some(schema) = schema {
                        if schema.get("type").and_then(Value::as_str) == Some("integer") {
                            schema.insert("type".into(), serde_json::json!(["integer", "null"]));
                        }
                    }
                }
            }
            let patch = method == "patch";
            // RFC 6749 §3.2: an authorization server ignores the parameters it does not know;
            // `/v1` refuses them.
            let closed = !(path.starts_with("/oauth/") || path.starts_with("/mcg/"));
            let form = op
                .get_mut("requestBody")
                .and_then(|b| b.get_mut("content"))
                .and_then(|c| c.get_mut("application/x-www-form-urlencoded"))
                .and_then(|f| f.get_mut("schema"));
            if let Some(schema) = form {
                let name = schema["$ref"]
                    .as_str()
                    .and_then(|r| r.rsplit('/').next())
                    .unwrap_or_default()
                    .to_owned();
                let mut inlined = resolve(schema, &schemas);
                drop_null(&mut inlined);
                complete_body(&mut inlined, &name, patch, closed, true);
                *schema = inlined;
            }
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
                        bodies.push((name, patch, closed));
                    }
                    None => require_content(schema, patch, closed),
                }
            }
        }
    }
    // A body two operations take is completed once (an edit's `minProperties` holds for both).
    let mut once: BTreeMap<String, (bool, bool)> = BTreeMap::new();
    for (name, patch, closed) in bodies {
        let (any_patch, any_closed) = once.entry(name).or_default();
        *any_patch |= patch;
        *any_closed |= closed;
    }
    for (name, (patch, closed)) in once {
        if let Some(schema) = doc
            .get_mut("components")
            .and_then(|c| c.get_mut("schemas"))
            .and_then(|s| s.get_mut(&name))
        {
            complete_body(schema, &name, patch, closed, false);
        }
    }
    // The parts of `POST /Services`'s body that serde reads: only their fields' rules.
    for name in ["QrCodeParameters", "MicroPaymentParameters"] {
        let properties = doc
            .get_mut("components")
            .and_then(|c| c.get_mut("schemas"))
            .and_then(|s| s.get_mut(name))
            .and_then(|s| s.get_mut("properties"))
            .and_then(Value::as_object_mut);
        for (field, value) in properties.into_iter().flat_map(|p| p.iter_mut()) {
            add_field_rules(value, name, field, false);
        }
    }
}

/// [`require_content`], then the rules of [`body_field_schema`] on the fields of the body
/// schema `name`.
fn complete_body(
    schema: &mut serde_json::Value,
    name: &str,
    patch: bool,
    closed: bool,
    form: bool,
) {
    use serde_json::Value;
    require_content(schema, patch, closed);
    let required: Vec<Value> = schema["required"].as_array().cloned().unwrap_or_default();
    let properties = schema.get_mut("properties").and_then(Value::as_object_mut);
    for (field, value) in properties.into_iter().flat_map(|p| p.iter_mut()) {
        add_field_rules(value, name, field, form);
        // `Params::get`: an empty text is a field left out — for a text (or an amount) in
        // JSON, for any field in a form.
        let text = matches!(&value["type"], Value::String(t) if t == "string")
            || value["type"]
                .as_array()
                .is_some_and(|types| types.iter().any(|t| t == "string"));
        let restricted = [
            "pattern",
            "enum",
            "format",
            "minLength",
            "$ref",
            "allOf",
            "oneOf",
        ]
        .iter()
        .any(|key| value.get(key).is_some());
        let amount = ["$ref", "allOf", "oneOf"]
            .iter()
            .any(|key| value.get(key).is_some());
        // A new password is never empty, even when an edit leaves it out.
        let optional = !required.iter().any(|r| r == field.as_str())
            && !matches!(
                (name, field.as_str()),
                ("UserPatchRequest", "password") | ("VoucherRequestBody", "label")
            );
        if optional && ((text && restricted) || amount || (form && !text)) {
            let original = value.take();
            // In a form, the text `null` is a field left out too (`Params::from_form`).
            let left_out = if form {
                serde_json::json!({ "type": "string", "enum": ["", "null"] })
            } else {
                serde_json::json!({ "type": "string", "maxLength": 0 })
            };
            *value = serde_json::json!({ "anyOf": [original, left_out] });
        }
    }
}

/// The rules of [`body_field_schema`] on `value`, the schema of field `field` of body `name`.
fn add_field_rules(value: &mut serde_json::Value, name: &str, field: &str, form: bool) {
    use serde_json::Value;
    if let (Some(extra), Some(value)) = (body_field_schema(name, field), value.as_object_mut()) {
        // Keywords beside a `$ref` are not read by every tool (nor kept by `utoipa`):
        // the reference and the keywords both hold, through `allOf`.
        match value.remove("$ref") {
            // A choice of schemas replaces the field's own.
            _ if extra.contains_key("anyOf") => {
                let description = value.remove("description");
                *value = extra;
                // A form has no null.
                if let (true, Some(choices)) =
                    (form, value.get_mut("anyOf").and_then(Value::as_array_mut))
                {
                    choices.retain(|c| c["type"] != "null");
                }
                if let Some(description) = description {
                    value.insert("description".into(), description);
                }
            }
            Some(reference) => {
                value.insert(
                    "allOf".into(),
                    serde_json::json!([{ "$ref": reference }, extra]),
                );
            }
            None => value.extend(extra),
        }
    }
}

/// An integer id in a path, a query or a body: a whole number ≥ 1 that an `i64` holds (the
/// bounds already declared are kept).
fn bound_id(schema: &mut serde_json::Map<String, serde_json::Value>) {
    use serde_json::Value;
    let integer = match schema.get("type") {
        Some(Value::String(t)) => t == "integer",
        Some(Value::Array(types)) => types.iter().any(|t| t == "integer"),
        _ => false,
    };
    if integer {
        schema.entry("minimum").or_insert(Value::from(1));
        schema.entry("maximum").or_insert(Value::from(i64::MAX));
    }
}

/// What the type of a body field (by schema and field name) cannot say: the rules the
/// server's parsers apply to it.
fn body_field_schema(
    schema: &str,
    field: &str,
) -> Option<serde_json::Map<String, serde_json::Value>> {
    use serde_json::json;
    let extra = match (schema, field) {
        // `Product::valid_name`.
        ("ProductRequest" | "CategoryRequest", "name") => json!({
            "minLength": 1,
            "maxLength": 64,
            "pattern": NAME_PATTERN,
        }),
        // A new password, which `null` cannot be (an edit leaves it out instead).
        ("UserPatchRequest", "password") => json!({
            "type": "string",
            "minLength": MIN_PASSWORD_CHARS,
            "maxLength": MAX_PASSWORD_BYTES,
        }),
        // `ardoise_auth::check_new_password`: 8 characters (NIST SP 800-63B) to 1024 bytes.
        ("UserRequest" | "PasswordRequest" | "ProfileRequest", "password") => json!({
            "minLength": MIN_PASSWORD_CHARS,
            "maxLength": MAX_PASSWORD_BYTES,
        }),
        // Space-separated known scopes.
        ("PartnerRequest" | "PartnerPatchRequest", "scopes") => {
            let one = SCOPES
                .iter()
                .map(|(scope, _)| scope.to_owned())
                .collect::<Vec<_>>()
                .join("|");
            json!({ "pattern": format!("^({one})( ({one}))*$") })
        }
        ("OfferRequest", "kind") => json!({ "enum": ["offer", "request"] }),
        ("VoucherRequestBody", "kind") => json!({ "enum": ["coupon", "ticket"] }),
        ("OfferRequest", "wished_from" | "wished_until") => json!({ "format": "date" }),
        ("PaymentRequest", "quantity") => json!({ "minimum": 1, "maximum": u32::MAX }),
        // `money.max_overdraft` (default 500.00).
        ("OverdraftRequest", "limit") => json!({
            "maximum": 500,
            "pattern": r"^0*([0-4]?[0-9]{1,2}(\.[0-9]{1,2})?|500(\.00?)?)$",
        }),
        // A member's lines: trimmed, without control characters, of a bounded length.
        ("MemberRequest" | "ProfileRequest", "first_name" | "last_name") => {
            json!({ "pattern": line_pattern(64) })
        }
        // `phone_number`'s characters (its country code and E.164 length, no pattern says).
        ("MemberRequest" | "ProfileRequest", "phone" | "mobile") => {
            json!({ "pattern": r"^\s*\+?[0-9 ./()-]*\s*$" })
        }
        // `keywords`: at most 20 comma-separated words of at most 50 characters, no control
        // character (a word is trimmed, so a shorter raw word is always within bounds).
        ("MemberRequest" | "ProfileRequest", "keywords") => json!({
            "pattern": r"^[^,\x00-\x1F\x7F-\x9F]{0,50}(,[^,\x00-\x1F\x7F-\x9F]{0,50}){0,19}$",
        }),
        // Notes keep tabs and line feeds, no other control character.
        ("MemberRequest" | "ProfileRequest", "notes") => json!({
            "maxLength": 1000,
            "pattern": r"^[^\x00-\x08\x0B-\x1F\x7F-\x9F]*$",
        }),
        // RFC 6749 §3.3: space-separated scope tokens of printable ASCII but `"` and `\`.
        ("TokenRequest" | "TokenFormRequest", "scope") => json!({
            "pattern": r#"^[\x21\x23-\x5B\x5D-\x7E]+( [\x21\x23-\x5B\x5D-\x7E]+)*$"#,
        }),
        ("MemberRequest" | "ProfileRequest", "display_name") => {
            json!({ "pattern": line_pattern(128) })
        }
        // `ardoise_auth`'s `check_name`: trimmed, 1 to 100 characters, no control character.
        ("PartnerRequest" | "PartnerPatchRequest", "name") => json!({
            "pattern": r"^\s*[^\s\x00-\x1F\x7F-\x9F]([^\x00-\x1F\x7F-\x9F]{0,98}[^\s\x00-\x1F\x7F-\x9F])?\s*$",
        }),
        // A category's name, or `""` for none.
        ("ProductRequest" | "ProductPatchRequest", "category") => {
            json!({ "pattern": format!("^$|{NAME_PATTERN}") })
        }
        ("TransferBody", "from_card") => json!({ "pattern": CARD_PATTERN }),
        // `check_url`: https, a host, no space nor control character.
        ("WebhookBody", "url") | ("NotificationBody" | "AdvertisementBody", "link") => json!({
            // (A host here is a name: an IPv6 literal's brackets are left out.)
            "pattern": r"^https://([^\s\x00-\x1F\x7F-\x9F/?#\[\]]*@)?[^\s\x00-\x1F\x7F-\x9F/?#@:\[\]][^\s\x00-\x1F\x7F-\x9F/?#@\[\]]*([/?#][^\s\x00-\x1F\x7F-\x9F\[\]]*)?$",
        }),
        // `check_email`; an empty text is no address (a field left out).
        ("ResetRequest", "email") => json!({ "pattern": EMAIL_PATTERN }),
        ("MemberRequest" | "ProfileRequest", "email") => {
            json!({ "pattern": format!("^$|{EMAIL_PATTERN}") })
        }
        // RFC 3339 times.
        ("MandateRequest" | "VoucherRequestBody", "valid_until") => {
            json!({ "format": "date-time" })
        }
        // A time, or `null` / `""` for none.
        ("ValidUntilRequest", "valid_until") => json!({
            "anyOf": [
                { "type": "string", "format": "date-time" },
                { "type": "string", "maxLength": 0 },
                { "type": "null" },
            ],
        }),
        // Text that, when given, is not empty.
        ("VoucherRequestBody", "label") => json!({ "type": "string", "minLength": 1 }),
        ("PaymentRequest" | "VoucherRequestBody", "product") => json!({
            "maxLength": 64,
            "pattern": NAME_PATTERN,
        }),
        // `money.max_operation` (default 1000.00) bounds what one operation moves.
        ("OpenCardRequest", "balance")
        | (
            "AmountRequest"
            | "PaymentRequest"
            | "TransferBody"
            | "CreditRequest"
            | "DebitRequest"
            | "MicroPaymentParameters",
            "amount",
        )
        | ("VoucherRequestBody" | "QrCodeParameters", "value")
        | ("MandateRequest", "cap_operation") => json!({
            "maximum": 1000,
            "pattern": r"^0*([0-9]{1,3}(\.[0-9]{1,2})?|1000(\.00?)?)$",
        }),
        // `quantity:price` pairs, space-separated; `""` for none.
        ("ProductRequest" | "ProductPatchRequest", "bundles") => json!({
            "pattern": r"^([1-9][0-9]{0,8}:[0-9]{1,10}(\.[0-9]{1,2})?( [1-9][0-9]{0,8}:[0-9]{1,10}(\.[0-9]{1,2})?)*)?$",
        }),
        ("OAuth2TokenRequest" | "TokenFormRequest" | "TokenRequest", "grant_type") => {
            json!({ "pattern": "^client_credentials$" })
        }
        // Ids of offers, members and categories.
        (_, "offer" | "to" | "with" | "category")
            if schema != "ProductRequest" && schema != "ProductPatchRequest" =>
        {
            json!({ "minimum": 1, "maximum": i64::MAX })
        }
        _ => return None,
    };
    extra.as_object().cloned()
}

/// What `Params` does with a body: an empty required field is a missing one (`minLength: 1`),
/// and an edit (`PATCH`) must change something (`minProperties: 1`). A `closed` body refuses
/// the fields it does not name.
fn require_content(schema: &mut serde_json::Value, patch: bool, closed: bool) {
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
        let others = if closed {
            Value::Bool(false)
        } else {
            // Ignored, but each given once (RFC 6749 §3.2), as text.
            serde_json::json!({ "type": "string" })
        };
        object.insert("additionalProperties".into(), others);
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

/// The document as text, its sections and its `info` in the order OpenAPI writes them
/// (`openapi`, `info` with `title` first…) rather than JSON's sorted keys.
fn render(doc: &serde_json::Value) -> Result<String, serde_json::Error> {
    fn ordered(
        value: &serde_json::Value,
        order: &[&str],
        inner: &dyn Fn(&str, &serde_json::Value) -> Result<String, serde_json::Error>,
    ) -> Result<String, serde_json::Error> {
        let Some(map) = value.as_object() else {
            return serde_json::to_string(value);
        };
        let mut keys: Vec<&String> = map.keys().collect();
        keys.sort_by_key(|k| order.iter().position(|o| o == k).unwrap_or(order.len()));
        let mut parts = Vec::new();
        for key in keys {
            parts.push(format!(
                "{}:{}",
                serde_json::to_string(key)?,
                inner(key, &map[key.as_str()])?
            ));
        }
        Ok(format!("{{{}}}", parts.join(",")))
    }
    let info = |key: &str, value: &serde_json::Value| {
        if key == "info" {
            ordered(
                value,
                &["title", "description", "license", "version"],
                &|_, v| serde_json::to_string(v),
            )
        } else {
            serde_json::to_string(value)
        }
    };
    ordered(
        doc,
        &[
            "openapi",
            "info",
            "servers",
            "paths",
            "components",
            "security",
            "tags",
        ],
        &info,
    )
}

/// The document as JSON, rendered once.
fn document_json() -> Result<&'static str, String> {
    static JSON: OnceLock<Result<String, String>> = OnceLock::new();
    JSON.get_or_init(|| render(&document()).map_err(|e| e.to_string()))
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

/// Money as `/v1` reads it: a string or a JSON number, with at most two decimals, above zero.
pub struct AmountInput;

impl PartialSchema for AmountInput {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(SchemaType::from_iter([Type::String, Type::Number]))
            // `Money::parse`: digits (a whole part is needed), at most two decimals, at most
            // 13 digits before the point once leading zeros are left out; here above zero.
            .pattern(Some(
                r"^0*([1-9][0-9]{0,12}(\.[0-9]{1,2})?|0\.(0[1-9]|[1-9][0-9]?))$",
            ))
            .exclusive_minimum(Some(0))
            .maximum(Some(9_999_999_999_999.99))
            .multiple_of(Some(0.01))
            .description(Some(
                "Money above zero: a string or a number with at most two decimals (`\"12.5\"`, \
                 `12.50`).",
            ))
            .examples(["12.50"])
            .into()
    }
}

impl ToSchema for AmountInput {}

/// A price or a limit as `/v1` reads it: like [`AmountInput`], but zero is one (a free
/// product, no overdraft).
pub struct PriceInput;

impl PartialSchema for PriceInput {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(SchemaType::from_iter([Type::String, Type::Number]))
            .pattern(Some(r"^0*([0-9]{1,13}(\.[0-9]{1,2})?)$"))
            .minimum(Some(0))
            .maximum(Some(9_999_999_999_999.99))
            .multiple_of(Some(0.01))
            .description(Some(
                "Money from zero (a price, an overdraft limit): a string or a number with at \
                 most two decimals.",
            ))
            .examples(["1.80"])
            .into()
    }
}

impl ToSchema for PriceInput {}

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
                    fn nullable(v: &Value) -> bool {
                        match v {
                            Value::Object(map) => {
                                let typed = match map.get("type") {
                                    Some(Value::String(t)) => t == "null",
                                    Some(Value::Array(ts)) => ts.iter().any(|t| t == "null"),
                                    _ => false,
                                };
                                typed || map.values().any(nullable)
                            }
                            Value::Array(items) => items.iter().any(nullable),
                            _ => false,
                        }
                    }
                    assert!(
                        !nullable(form),
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

    /// Two types of the same name would share one schema in the document, and one of them
    /// would be described by the other's (`POST /v1/partners` once answered a business card).
    #[test]
    fn no_fixed_path_is_also_a_path_with_parameters() {
        let paths: BTreeSet<String> = operations().into_iter().map(|op| op.path).collect();
        let (fixed, patterns): (Vec<&String>, Vec<&String>) =
            paths.iter().partition(|p| !p.contains('{'));
        assert!(fixed.len() > 10 && patterns.len() > 10, "{paths:?}");
        for pattern in &patterns {
            let def = actix_web::dev::ResourceDef::new(pattern.as_str());
            for path in &fixed {
                assert!(!def.is_match(path), "{path} is also {pattern}");
            }
        }
        // The check can fail: a pattern does match the paths it describes.
        assert!(actix_web::dev::ResourceDef::new("/v1/cards/{card}").is_match("/v1/cards/CAFE"));
    }

    #[test]
    fn no_two_types_share_a_schema_name() {
        let mut paths = Paths::new();
        let mut schemas = Vec::new();
        for op in operations() {
            (op.describe)(&mut paths, &mut schemas);
        }
        let mut seen: BTreeMap<String, String> = BTreeMap::new();
        for (name, schema) in schemas {
            let text = serde_json::to_string(&schema).unwrap();
            if let Some(other) = seen.insert(name.clone(), text.clone()) {
                assert_eq!(other, text, "two types are named {name}");
            }
        }
    }

    /// What `tell_the_truth` adds reaches the served document, including the keywords that
    /// `utoipa`'s types cannot hold; every `/v1` operation taking input answers 400.
    #[test]
    fn the_bounds_of_bodies_and_ids_are_in_the_document() {
        let doc = document();
        let form = "/requestBody/content/application~1x-www-form-urlencoded/schema/properties";
        let balance = doc["paths"]["/v1/cards"]["post"]
            .pointer(&format!("{form}/balance"))
            .unwrap();
        assert_eq!(balance["allOf"][1]["maximum"], 1000, "{balance}");
        let amount = &doc["components"]["schemas"]["AmountInput"];
        assert_eq!(amount["exclusiveMinimum"], 0, "{amount}");
        assert_eq!(amount["multipleOf"], 0.01, "{amount}");
        let offer = &doc["paths"]["/v1/offers/{offer}"]["get"];
        let id = &offer["parameters"][0]["schema"];
        assert_eq!(
            (&id["minimum"], &id["maximum"]),
            (&1.into(), &i64::MAX.into())
        );
        assert_eq!(
            offer["responses"]["400"]["$ref"],
            "#/components/responses/BadRequest"
        );
        let password = doc["paths"]["/v1/users"]["post"]
            .pointer(&format!("{form}/password"))
            .unwrap();
        assert_eq!(password["minLength"], 8, "{password}");
        // An OAuth2 server ignores what it does not know (RFC 6749 §3.2); `/v1` refuses it.
        let token = doc["paths"]["/oauth/token"]["post"]
            .pointer("/requestBody/content/application~1x-www-form-urlencoded/schema")
            .unwrap();
        assert_eq!(token["additionalProperties"]["type"], "string", "{token}");
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                let input = op.get("requestBody").is_some()
                    || op["parameters"].as_array().is_some_and(|p| !p.is_empty());
                if path.starts_with("/v1/") && input {
                    assert!(op["responses"]["400"].is_object(), "{method} {path}");
                }
            }
        }
    }

    /// Every amount a body takes declares `money.max_operation` as its maximum (the server
    /// refuses more with 400), but for the caps and prices, which no operation moves at once.
    #[test]
    fn every_amount_a_body_moves_is_bounded() {
        const UNBOUNDED: &[&str] = &["cap_day", "credit_cap_day", "credit_cap_operation", "price"];
        let doc = document();
        // The bodies: inline in an operation, or a component that one names.
        let mut bodies = Vec::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                if let Some(content) = op.pointer("/requestBody/content") {
                    for (kind, body) in content.as_object().unwrap() {
                        bodies.push((format!("{method} {path} {kind}"), &body["schema"]));
                    }
                }
            }
        }
        for (name, schema) in doc["components"]["schemas"].as_object().unwrap() {
            bodies.push((name.clone(), schema));
        }
        let (mut unbounded, mut amounts) = (Vec::new(), 0);
        for (body, schema) in bodies {
            let Some(fields) = schema["properties"].as_object() else {
                continue;
            };
            for (field, schema) in fields {
                let text = schema.to_string();
                if !text.contains("/AmountInput\"") {
                    continue;
                }
                amounts += 1;
                if !text.contains("\"maximum\"") && !UNBOUNDED.contains(&field.as_str()) {
                    unbounded.push(format!("{body}: {field}"));
                }
            }
        }
        assert!(
            amounts >= 20,
            "only {amounts} amounts found: the search is wrong"
        );
        assert_eq!(unbounded, Vec::<String>::new());
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
