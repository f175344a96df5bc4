//! ardoise's HTTP adapter on actix-web.
//!
//! The POS dialect (`/api/...`, see `docs/api-pos.md`) that the bar's Android and web clients
//! speak; the OAuth2 endpoints for partners (`/oauth/...`, [`oauth`]); and the `/v1` resource
//! API ([`v1`]), whose callers the [`principal::Principal`] extractor authenticates.
//!
//! The app crate builds one [`AppState`], wraps it in `web::Data`, and mounts [`configure`]
//! behind the [`cors`] middleware:
//!
//! ```text
//! App::new()
//!     .app_data(web::Data::new(state))
//!     .wrap(ardoise_http::cors(&config.http.cors_origins))
//!     .configure(ardoise_http::configure)
//! ```

use actix_cors::Cors;
use actix_web::http::{header, Method};
use actix_web::web;
use ardoise_auth::{MemberAccess, OAuth, ServiceTokens, Staff};
use ardoise_domain::{Bar, Mandates, MemberSpace, Members, Vouchers};

pub mod edge;
pub mod oauth;
pub mod openapi;
pub mod ops;
pub mod params;
pub mod pos;
pub mod principal;
pub mod reply;
pub mod services;
pub mod v1;

/// What every handler needs: the bar's use cases, the staff service, the OAuth2 service and
/// the association's members.
#[derive(Clone)]
pub struct AppState {
    pub bar: Bar,
    pub staff: Staff,
    pub oauth: OAuth,
    pub members: Members,
    /// Members' invitations, password links and sessions.
    pub member_access: MemberAccess,
    /// A member's own space (`/v1/me`).
    pub me: MemberSpace,
    /// QR vouchers (coupons, tickets).
    pub vouchers: Vouchers,
    /// Members' mandates and partners' debits.
    pub mandates: Mandates,
    /// The tokens of seed 002's services (`POST /Services`).
    pub service_tokens: ServiceTokens,
    /// The site's public address (`http.public_url`), for the links sent to members; `None`:
    /// an invitation's link uses the request's origin.
    pub public_url: Option<String>,
    /// The members' exchange (`/v1/offers`, `/v1/conversations`, `/v1/transfers`); `None`:
    /// not wired, its routes answer `EXCHANGE_DISABLED_ERROR`.
    pub exchange: Option<ardoise_domain::Exchange>,
    /// Notifications and advertisements (`/v1/notifications`); `None`: not wired, their
    /// routes answer `SERVICE_NOT_AVAILABLE_ERROR`.
    pub notifications: Option<ardoise_domain::Notifications>,
}

impl AppState {
    /// Bundles the services.
    pub fn new(
        bar: Bar,
        staff: Staff,
        oauth: OAuth,
        members: Members,
        member_access: MemberAccess,
        me: MemberSpace,
        (vouchers, mandates, service_tokens): (Vouchers, Mandates, ServiceTokens),
    ) -> AppState {
        AppState {
            bar,
            staff,
            oauth,
            members,
            member_access,
            me,
            vouchers,
            mandates,
            service_tokens,
            public_url: None,
            exchange: None,
            notifications: None,
        }
    }

    /// The same with the notifications.
    pub fn with_notifications(mut self, notifications: ardoise_domain::Notifications) -> AppState {
        self.notifications = Some(notifications);
        self
    }

    /// The same with the members' exchange.
    pub fn with_exchange(mut self, exchange: ardoise_domain::Exchange) -> AppState {
        self.exchange = Some(exchange);
        self
    }

    /// The same with the site's public address (`http.public_url`).
    pub fn with_public_url(mut self, public_url: Option<String>) -> AppState {
        self.public_url = public_url.filter(|u| !u.trim().is_empty());
        self
    }
}

/// Registers every route of the HTTP API: operations, the POS dialect, OAuth2, `/v1` and
/// Swagger UI at `/docs/`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    ops::configure(cfg);
    pos::configure(cfg);
    oauth::configure(cfg);
    services::configure(cfg);
    v1::configure(cfg);
    openapi::configure_docs(cfg);
}

/// Checks the configured CORS origins: each must be `*` or a `scheme://host[:port]` origin.
/// The message names the first bad one, for a start-up error.
pub fn check_origins(origins: &[String]) -> Result<(), String> {
    for origin in origins {
        if origin == "*" {
            continue;
        }
        let valid = origin.split_once("://").is_some_and(|(scheme, rest)| {
            matches!(scheme, "http" | "https")
                && !rest.is_empty()
                && !rest.contains('/')
                && rest.bytes().all(|b| {
                    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']')
                })
        });
        if !valid {
            return Err(format!(
                "http.cors_origins: `{origin}` is not an origin such as https://caisse.example.org or *"
            ));
        }
    }
    Ok(())
}

/// The CORS middleware for the configured browser origins: only those are allowed, and any
/// origin only when `*` is listed. Requests without an `Origin` header (the Android app) are
/// not affected. Invalid origins are skipped with an error in the log (use [`check_origins`]
/// at start-up to refuse them). The methods and headers are those the POS and `/v1` use, and
/// a browser may read the answers' `Location`, `Idempotency-Replayed` and `Retry-After`.
pub fn cors(origins: &[String]) -> Cors {
    let mut cors = Cors::default()
        .allowed_methods([
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
        ])
        .allowed_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::ACCEPT,
            header::ACCEPT_LANGUAGE,
            header::HeaderName::from_static("token"),
            header::HeaderName::from_static("idempotency-key"),
        ])
        .expose_headers([
            header::LOCATION,
            header::RETRY_AFTER,
            header::HeaderName::from_static("idempotency-replayed"),
        ])
        .max_age(3600);
    if origins.iter().any(|o| o == "*") {
        return cors.allow_any_origin().send_wildcard();
    }
    for origin in origins {
        if check_origins(std::slice::from_ref(origin)).is_ok() {
            cors = cors.allowed_origin(origin);
        } else {
            tracing::error!(%origin, "ignoring an invalid CORS origin");
        }
    }
    cors
}
