//! The pages' style sheet, script and icon, compiled into the binary: nothing is fetched
//! from anywhere else.

use actix_web::http::header;
use actix_web::{web, HttpResponse};

use crate::pages::secure;

/// The style sheet's address (the version makes a new release's file a new address).
pub const STYLE_URL: &str = concat!("/static/style.css?v=", env!("CARGO_PKG_VERSION"));
/// The till's script.
pub const SCRIPT_URL: &str = concat!("/static/ardoise.js?v=", env!("CARGO_PKG_VERSION"));
/// The icon.
pub const ICON_URL: &str = "/static/icon.svg";

const STYLE: &str = include_str!("assets/style.css");
const SCRIPT: &str = include_str!("assets/ardoise.js");
const ICON: &str = include_str!("assets/icon.svg");

fn asset(content_type: &'static str, body: &'static str) -> HttpResponse {
    secure(&mut HttpResponse::Ok())
        .insert_header((header::CACHE_CONTROL, "public, max-age=86400"))
        .content_type(content_type)
        .body(body)
}

async fn style() -> HttpResponse {
    asset("text/css; charset=utf-8", STYLE)
}

async fn script() -> HttpResponse {
    asset("text/javascript; charset=utf-8", SCRIPT)
}

async fn icon() -> HttpResponse {
    asset("image/svg+xml", ICON)
}

pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/static/style.css", web::get().to(style))
        .route("/static/ardoise.js", web::get().to(script))
        .route("/static/icon.svg", web::get().to(icon));
}
