//! ardoise's own web pages: the till and the office, server-rendered (maud) on actix-web.
//!
//! An adapter beside `ardoise-http`: the pages call the use cases of `ardoise-domain` and
//! `ardoise-auth` directly, never `/v1` over HTTP, and re-implement no rule. Plain forms work
//! without JavaScript; a small embedded script only makes the till faster. Every asset is
//! compiled into the binary. The app crate wires it:
//!
//! ```text
//! App::new()
//!     .app_data(web::Data::new(
//!         ardoise_web::WebState::new(bar, staff, members, oauth, member_access, me, "Europe/Paris")?
//!             .with_public_url("https://bar.example.org"),
//!     ))
//!     .configure(ardoise_web::configure)
//!     .default_service(web::to(ardoise_web::not_found))
//! ```

use actix_web::web;
use ardoise_auth::{MemberAccess, OAuth, Staff};
use ardoise_domain::{Bar, Exchange, MemberSpace, Members, Vouchers};

pub mod assets;
mod business_card;
mod cards;
mod exchange;
pub mod i18n;
mod login;
pub mod me;
mod members;
mod office;
pub mod pages;
mod partners;
mod reports;
pub mod session;
mod till;

pub use pages::not_found;

/// What the pages need: the bar's use cases, the staff service, the members, the partner
/// registry, the time zone of the reports and of the times shown, and the members' own space
/// (their access and use cases, and the site's public address for reset links).
#[derive(Clone)]
pub struct WebState {
    pub bar: Bar,
    pub staff: Staff,
    pub members: Members,
    pub oauth: OAuth,
    pub time_zone: chrono_tz::Tz,
    /// Members' logins, links and sessions.
    pub member_access: MemberAccess,
    /// A member's own use cases (`/me`).
    pub me: MemberSpace,
    /// `http.public_url` without its trailing `/`: the address of the reset links (none
    /// are made without it, as in `/v1`).
    pub public_url: Option<String>,
    /// QR vouchers, redeemed at the till and counted in the reports (`None`: not wired, the
    /// till shows no "Voucher" box).
    pub vouchers: Option<Vouchers>,
    /// The members' exchange (`/me/exchange`, its volume in the reports; `None`: not wired,
    /// no exchange pages).
    pub exchange: Option<Exchange>,
}

/// The default time zone of the reports (`reports.time_zone`).
pub const DEFAULT_TIME_ZONE: &str = "Europe/Paris";

impl WebState {
    /// Bundles the services; `time_zone` is an IANA name such as `Europe/Paris` (the error
    /// names it when it is not one).
    pub fn new(
        bar: Bar,
        staff: Staff,
        members: Members,
        oauth: OAuth,
        member_access: MemberAccess,
        me: MemberSpace,
        time_zone: &str,
    ) -> Result<WebState, String> {
        let time_zone = time_zone.parse::<chrono_tz::Tz>().map_err(|_| {
            format!("reports.time_zone `{time_zone}` is not a time zone such as Europe/Paris")
        })?;
        Ok(WebState {
            bar,
            staff,
            members,
            oauth,
            time_zone,
            member_access,
            me,
            public_url: None,
            vouchers: None,
            exchange: None,
        })
    }

    /// The voucher use cases, for the till's "Voucher" box and the reports' coupons.
    pub fn with_vouchers(mut self, vouchers: Vouchers) -> WebState {
        self.vouchers = Some(vouchers);
        self
    }

    /// The members' exchange, for the member space's `/me/exchange` and the reports.
    pub fn with_exchange(mut self, exchange: Exchange) -> WebState {
        self.exchange = Some(exchange);
        self
    }

    /// The exchange when it is switched on (`exchange.enabled`).
    pub fn exchange_on(&self) -> Option<&Exchange> {
        self.exchange.as_ref().filter(|e| e.enabled())
    }

    /// The site's public address (`http.public_url`; blank for none), for the members'
    /// reset links.
    pub fn with_public_url(mut self, public_url: &str) -> WebState {
        let url = public_url.trim().trim_end_matches('/');
        self.public_url = (!url.is_empty()).then(|| url.to_owned());
        self
    }
}

/// Registers the pages: `/`, `/login`, `/logout`, `/lang/{code}`, `/till`, `/office/...`, the
/// members' `/me/...` and the embedded assets under `/static/`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    assets::configure(cfg);
    business_card::configure(cfg);
    login::configure(cfg);
    till::configure(cfg);
    office::configure(cfg);
    me::configure(cfg);
    exchange::configure(cfg);
}
