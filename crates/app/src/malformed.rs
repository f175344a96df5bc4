//! Malformed HTTP requests: actix-web's HTTP/1 layer answers them (400, 431) and closes the
//! connection before any route sees them, logging one ERROR line each ("stream error: …"),
//! which lets anyone flood the log. Those events are kept out of the log and counted
//! (`ardoise_http_malformed_requests_total` in `/metrics`), and [`report`] writes at most one
//! WARN line per [`EVERY`] saying how many there were.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Metadata, Subscriber};
use tracing_subscriber::layer::{Context, Filter};

/// The most one WARN line about malformed requests per this long.
pub const EVERY: Duration = Duration::from_secs(10);

/// The module of actix-http that logs a refused request's error.
const DISPATCHER: &str = "actix_http::h1::dispatcher";

/// What the last malformed request was, for the next report.
static LAST: Mutex<Option<String>> = Mutex::new(None);

fn is_refused_request(meta: &Metadata<'_>) -> bool {
    *meta.level() == Level::ERROR && meta.target() == DISPATCHER
}

/// The filter of the log's output: lets every event through except a refused request's,
/// which it counts instead.
pub struct Malformed;

impl<S: Subscriber> Filter<S> for Malformed {
    fn enabled(&self, _meta: &Metadata<'_>, _cx: &Context<'_, S>) -> bool {
        true
    }

    fn event_enabled(&self, event: &Event<'_>, _cx: &Context<'_, S>) -> bool {
        if !is_refused_request(event.metadata()) {
            return true;
        }
        ardoise_http::ops::malformed_requests().inc();
        let mut message = Message(String::new());
        event.record(&mut message);
        if let Ok(mut last) = LAST.lock() {
            *last = Some(message.0);
        }
        false
    }
}

struct Message(String);

impl Visit for Message {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            self.0 = format!("{value:?}");
        }
    }
}

/// Writes one WARN line when requests were refused since the last one, at most one per
/// [`EVERY`]; runs until the server stops.
pub async fn report() {
    let counter = ardoise_http::ops::malformed_requests();
    let mut reported = counter.get();
    let mut last_line: Option<Instant> = None;
    let mut every_second = actix_web::rt::time::interval(Duration::from_secs(1));
    loop {
        every_second.tick().await;
        let now = counter.get();
        if now == reported || last_line.is_some_and(|at| at.elapsed() < EVERY) {
            continue;
        }
        let sample = LAST.lock().ok().and_then(|last| last.clone());
        tracing::warn!(
            count = now - reported,
            last = sample.as_deref().unwrap_or(""),
            "malformed HTTP requests refused (400 or 431, connection closed)"
        );
        reported = now;
        last_line = Some(Instant::now());
    }
}
