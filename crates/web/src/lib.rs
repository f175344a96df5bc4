//! ardoise's own web pages: the till and the office, server-rendered (maud) on actix-web.
//!
//! An adapter beside `ardoise-http`: the pages call the use cases of `ardoise-domain` and
//! `ardoise-auth` directly, never `/v1` over HTTP, and re-implement no rule. Plain forms work
//! without JavaScript; a small embedded script only makes the till faster. Every asset is
//! compiled into the binary. The app crate wires it:
//!
//! ```text
//! App::new()
//!     .app_data(web::Data::new(ardoise_web::WebState::new(bar, staff, members)))
//!     .configure(ardoise_web::configure)
//!     .default_service(web::to(ardoise_web::not_found))
//! ```

use actix_web::web;
use ardoise_auth::Staff;
use ardoise_domain::{Bar, Members};

pub mod assets;
pub mod i18n;
mod login;
mod office;
pub mod pages;
pub mod session;
mod till;

pub use pages::not_found;

/// What the pages need: the bar's use cases, the staff service and the members.
#[derive(Clone)]
pub struct WebState {
    pub bar: Bar,
    pub staff: Staff,
    pub members: Members,
}

impl WebState {
    /// Bundles the services.
    pub fn new(bar: Bar, staff: Staff, members: Members) -> WebState {
        WebState {
            bar,
            staff,
            members,
        }
    }
}

/// Registers the pages: `/`, `/login`, `/logout`, `/lang/{code}`, `/till`, `/office/...` and
/// the embedded assets under `/static/`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    assets::configure(cfg);
    login::configure(cfg);
    till::configure(cfg);
    office::configure(cfg);
}
