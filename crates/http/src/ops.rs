//! What operators watch: `/health`, `/ready`, `/metrics`, and one log line per request.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue, CONTENT_TYPE};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::HttpRequest;
use actix_web::{web, HttpResponse};
use async_trait::async_trait;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

/// What the operations endpoints ask of the rest of the system.
#[async_trait]
pub trait Probe: Send + Sync {
    /// `Ok` when the database answers and accepts writes.
    async fn ready(&self) -> Result<(), String>;
    /// Connections open, idle, and the pool's maximum.
    fn pool(&self) -> (u32, u32, u32);
    /// The notification outbox's figures; `None` when they cannot be read (the gauges keep
    /// their last values).
    async fn outbox(&self) -> Option<ardoise_domain::outbox::OutboxFigures> {
        None
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: &'static str,
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct MovementLabels {
    kind: &'static str,
    outcome: &'static str,
}

/// The metrics, in the Prometheus (OpenMetrics) text format at `/metrics`.
pub struct Metrics {
    /// Tells this instance's counters apart in the workers' [`REQUEST_COUNTERS`].
    id: u64,
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Histogram,
    movements: Family<MovementLabels, Counter>,
    pool_open: Gauge,
    pool_idle: Gauge,
    pool_max: Gauge,
    /// The outbox: messages waiting (queued or sending), sent, failed, skipped, and the age
    /// of the oldest waiting one.
    notify: [Gauge; 4],
    notify_oldest_age: Gauge<f64, std::sync::atomic::AtomicU64>,
}

impl Default for Metrics {
    fn default() -> Metrics {
        let mut registry = Registry::with_prefix("ardoise");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests by route and status",
            requests.clone(),
        );
        // 0.1 ms to about 13 s.
        let latency = Histogram::new(exponential_buckets(0.0001, 2.0, 18));
        registry.register(
            "http_request_duration_seconds",
            "Time to answer an HTTP request",
            latency.clone(),
        );
        let movements = Family::<MovementLabels, Counter>::default();
        registry.register(
            "money_operations",
            "Money operations by kind and outcome (ok or refused)",
            movements.clone(),
        );
        let pool_open = Gauge::default();
        let pool_idle = Gauge::default();
        let pool_max = Gauge::default();
        registry.register(
            "db_pool_connections",
            "Open database connections",
            pool_open.clone(),
        );
        registry.register(
            "db_pool_idle",
            "Idle database connections",
            pool_idle.clone(),
        );
        registry.register("db_pool_max", "Most database connections", pool_max.clone());
        registry.register(
            "http_malformed_requests",
            "Requests refused by the HTTP layer before any route (malformed or oversized head)",
            malformed_requests().clone(),
        );
        let notify: [Gauge; 4] = Default::default();
        for (gauge, (name, help)) in notify.iter().zip([
            (
                "notifications_queued",
                "Notifications waiting for delivery (queued or being sent)",
            ),
            ("notifications_sent", "Notifications delivered"),
            (
                "notifications_failed",
                "Notifications given up (refused, or still failing after 24 h)",
            ),
            (
                "notifications_skipped",
                "Notifications not sent on purpose (no consent, no address)",
            ),
        ]) {
            registry.register(name, help, gauge.clone());
        }
        let notify_oldest_age = Gauge::<f64, std::sync::atomic::AtomicU64>::default();
        registry.register(
            "notifications_oldest_queued_age_seconds",
            "Age of the oldest notification waiting for delivery (0: none waits)",
            notify_oldest_age.clone(),
        );
        Metrics {
            id: NEXT_METRICS.fetch_add(1, Ordering::Relaxed),
            notify,
            notify_oldest_age,
            registry,
            requests,
            latency,
            movements,
            pool_open,
            pool_idle,
            pool_max,
        }
    }
}

impl Metrics {
    /// Counts a money operation: `kind` such as `payment`, `ok` false when refused.
    pub fn record_movement(&self, kind: &'static str, ok: bool) {
        let outcome = if ok { "ok" } else { "refused" };
        self.movements
            .get_or_create(&MovementLabels { kind, outcome })
            .inc();
    }

    /// Counts a request and its duration. The counter of a (route, method, status) is looked
    /// up in this worker thread's own map: no lock shared with the other workers, no label
    /// strings built per request (the route pattern only, which actix computes).
    fn record_request(&self, method: &'static str, req: &HttpRequest, status: u16, seconds: f64) {
        let route = req
            .match_pattern()
            .unwrap_or_else(|| "unmatched".to_owned());
        let key = CounterKey {
            metrics: self.id,
            method,
            status,
            route,
        };
        REQUEST_COUNTERS.with(|counters| {
            let mut counters = counters.borrow_mut();
            if let Some(counter) = counters.get(&key) {
                counter.inc();
                return;
            }
            let counter = self
                .requests
                .get_or_create(&RequestLabels {
                    method,
                    route: key.route.clone(),
                    status,
                })
                .clone();
            counter.inc();
            counters.insert(key, counter);
        });
        self.latency.observe(seconds);
    }

    /// Sets the outbox's gauges.
    fn set_outbox(&self, f: &ardoise_domain::outbox::OutboxFigures) {
        for (gauge, value) in self
            .notify
            .iter()
            .zip([f.queued, f.sent, f.failed, f.skipped])
        {
            gauge.set(i64::try_from(value).unwrap_or(i64::MAX));
        }
        let age = f.oldest_queued_at.map_or(0.0, |at| {
            (chrono::Utc::now() - at).num_milliseconds().max(0) as f64 / 1000.0
        });
        self.notify_oldest_age.set(age);
    }

    fn render(&self, pool: (u32, u32, u32)) -> Result<String, std::fmt::Error> {
        self.pool_open.set(i64::from(pool.0));
        self.pool_idle.set(i64::from(pool.1));
        self.pool_max.set(i64::from(pool.2));
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry)?;
        Ok(text)
    }
}

/// The state of the operations endpoints and the request middleware.
pub struct Ops {
    pub metrics: Arc<Metrics>,
    probe: Arc<dyn Probe>,
}

impl Ops {
    /// Bundles the metrics and the probe.
    pub fn new(metrics: Arc<Metrics>, probe: Arc<dyn Probe>) -> Ops {
        Ops { metrics, probe }
    }
}

/// Registers `/health`, `/ready` and `/metrics`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/health", web::get().to(health))
        .route("/ready", web::get().to(ready))
        .route("/metrics", web::get().to(metrics));
}

/// The process is alive and serving.
async fn health() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({"status": "ok"}))
}

/// The database answers and a write commits; 503 otherwise.
async fn ready(ops: web::Data<Ops>) -> HttpResponse {
    match ops.probe.ready().await {
        Ok(()) => HttpResponse::Ok().json(serde_json::json!({"status": "ok", "database": "ok"})),
        Err(e) => {
            tracing::warn!(error = %e, "not ready: database unavailable");
            HttpResponse::ServiceUnavailable()
                .insert_header(("Retry-After", "5"))
                .json(serde_json::json!({"status": "unavailable", "database": "unavailable"}))
        }
    }
}

async fn metrics(ops: web::Data<Ops>) -> HttpResponse {
    if let Some(figures) = ops.probe.outbox().await {
        ops.metrics.set_outbox(&figures);
    }
    match ops.metrics.render(ops.probe.pool()) {
        Ok(text) => HttpResponse::Ok()
            .insert_header((
                CONTENT_TYPE,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            ))
            .body(text),
        Err(e) => {
            tracing::error!(error = %e, "cannot encode the metrics");
            HttpResponse::InternalServerError().finish()
        }
    }
}

/// The requests that actix-web's HTTP/1 layer refuses before any route sees them (a head
/// that does not parse, or is too large: it answers 400 or 431 and closes). The app counts
/// them from the layer's log events, which it keeps out of the log (see the app's
/// `malformed` module): one process-wide counter, shown by every [`Metrics`].
pub fn malformed_requests() -> &'static Counter {
    static MALFORMED: std::sync::OnceLock<Counter> = std::sync::OnceLock::new();
    MALFORMED.get_or_init(Counter::default)
}

static NEXT_REQUEST: AtomicU64 = AtomicU64::new(1);
static NEXT_METRICS: AtomicU64 = AtomicU64::new(1);

/// A request counter's labels, and the [`Metrics`] it belongs to.
#[derive(Debug, Hash, PartialEq, Eq)]
struct CounterKey {
    metrics: u64,
    method: &'static str,
    status: u16,
    route: String,
}

thread_local! {
    /// Each worker's handles on the request counters it has used (shared with the family,
    /// which `/metrics` renders). Bounded by routes × methods × statuses.
    static REQUEST_COUNTERS: RefCell<HashMap<CounterKey, Counter>> = RefCell::new(HashMap::new());
}

/// The metrics label of a method: the standard ones, and `OTHER` (so that made-up methods
/// cannot grow the metrics without bound).
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        Method::TRACE => "TRACE",
        Method::CONNECT => "CONNECT",
        _ => "OTHER",
    }
}

/// The path a request's log line shows: the route's pattern when a path segment is a secret
/// (`/me/welcome/{token}`: a member's one-time link), else the path itself.
fn logged_path(req: &HttpRequest) -> std::borrow::Cow<'_, str> {
    match req.match_pattern() {
        Some(pattern) if pattern.contains("{token}") => pattern.into(),
        _ => req.path().into(),
    }
}

/// One log line and one metrics sample per request, and an `X-Request-Id` header. Logs the
/// method, the path (never the query string or the body: tokens and passwords travel there),
/// the status and the duration.
pub async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let id = NEXT_REQUEST.fetch_add(1, Ordering::Relaxed);
    let method = method_label(req.method());
    let ops = req.app_data::<web::Data<Ops>>().cloned();
    let mut res = next.call(req).await?;
    let elapsed = started.elapsed();
    let status = res.status().as_u16();
    if let Some(ops) = ops {
        ops.metrics
            .record_request(method, res.request(), status, elapsed.as_secs_f64());
    }
    if let Ok(value) = HeaderValue::try_from(format!("{id:x}")) {
        res.headers_mut()
            .insert(HeaderName::from_static("x-request-id"), value);
    }
    // The method and path are read from the request the response carries: nothing is
    // copied for a line the log level may drop.
    let req = res.request();
    // A POS answer is HTTP 200 whatever happened: its own status string says what did.
    let pos_status = res
        .response()
        .extensions()
        .get::<crate::reply::PosStatus>()
        .map(|s| s.0);
    tracing::info!(
        target: "ardoise::request",
        request_id = format_args!("{id:x}"),
        method = %req.method(),
        path = %logged_path(req),
        status,
        pos_status,
        duration_ms = format_args!("{:.3}", elapsed.as_secs_f64() * 1000.0),
        "request"
    );
    Ok(res)
}
