//! What every request passes through before its route, whatever the route: the limits that
//! keep one client from holding the service (the time to send a body, its size, the URI's
//! length, the connections open from one address), `HEAD` on `GET` routes, the headers every
//! answer carries, and the envelope on bare 404s under `/v1` and `/oauth`.
//!
//! The app crate mounts [`guard`] as the outermost middleware, with an [`Edge`] in the app
//! data, and calls [`Edge::on_connect`] from `HttpServer::on_connect`.

use std::cell::RefCell;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use actix_web::body::{BodySize, BoxBody, MessageBody};
use actix_web::dev::{Extensions, Payload, ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::web::{Bytes, BytesMut};
use actix_web::{web, HttpMessage, HttpResponse};
use futures::StreamExt;

use crate::params::body_limit;

/// The longest request target (path and query) served; longer ones answer 414. Nothing the
/// API takes comes near it (a card id is 32 characters, a page query a few dozen).
pub const MAX_URI_BYTES: usize = 8 * 1024;

/// The limits of [`guard`], from the settings.
#[derive(Debug, Clone)]
pub struct Edge {
    /// How long a client may take to send a request's body once its head arrived (the
    /// server's `client_request_timeout` bounds the head). A slower body answers 408 and the
    /// connection is closed.
    pub body_timeout: Duration,
    /// Connections open at once from one client address; more answer 429 and are closed.
    pub connections_per_address: usize,
    /// Whether the server speaks TLS: answers then carry `Strict-Transport-Security`.
    pub tls: bool,
    open: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

impl Edge {
    /// The limits, with no connection open yet.
    pub fn new(body_timeout: Duration, connections_per_address: usize, tls: bool) -> Edge {
        Edge {
            body_timeout,
            connections_per_address,
            tls,
            open: Arc::default(),
        }
    }

    /// Gives a new connection its slot holder, which the first request fills (the address
    /// is known from the request) and which frees the slot when the connection closes.
    pub fn on_connect(&self, extensions: &mut Extensions) {
        extensions.insert(Slot(RefCell::new(None)));
    }

    /// Counts a connection from `ip`; `None` when that address already holds its share.
    fn take_slot(&self, ip: IpAddr) -> Option<Held> {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        let count = open.entry(ip).or_insert(0);
        if *count >= self.connections_per_address {
            return None;
        }
        *count += 1;
        Some(Held {
            open: self.open.clone(),
            ip,
        })
    }

    /// Connections counted for `ip` now (for tests and the logs).
    pub fn open_from(&self, ip: IpAddr) -> usize {
        let open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        open.get(&ip).copied().unwrap_or(0)
    }
}

/// A connection's place in the count of its address, once its first request came.
struct Slot(RefCell<Option<Held>>);

/// A counted connection: dropped with the connection's data, it frees its slot.
struct Held {
    open: Arc<Mutex<HashMap<IpAddr, usize>>>,
    ip: IpAddr,
}

impl Drop for Held {
    fn drop(&mut self) {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = open.get_mut(&self.ip) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                open.remove(&self.ip);
            }
        }
    }
}

/// Why [`guard`] answered instead of the route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refusal {
    TooManyConnections,
    UriTooLong,
    /// Larger than the route's limit, in bytes.
    BodyTooLarge(usize),
    BodyTooSlow,
    BodyUnreadable,
}

impl Refusal {
    fn status(self) -> StatusCode {
        match self {
            Refusal::TooManyConnections => StatusCode::TOO_MANY_REQUESTS,
            Refusal::UriTooLong => StatusCode::URI_TOO_LONG,
            Refusal::BodyTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Refusal::BodyTooSlow => StatusCode::REQUEST_TIMEOUT,
            Refusal::BodyUnreadable => StatusCode::BAD_REQUEST,
        }
    }

    fn code(self) -> &'static str {
        match self {
            Refusal::TooManyConnections => "TOO_MANY_CONNECTIONS_ERROR",
            Refusal::UriTooLong => "URI_TOO_LONG_ERROR",
            Refusal::BodyTooLarge(_) => "PAYLOAD_TOO_LARGE_ERROR",
            Refusal::BodyTooSlow => "REQUEST_TIMEOUT_ERROR",
            Refusal::BodyUnreadable => "VALIDATION_ERROR",
        }
    }

    fn debug_message(self) -> String {
        match self {
            Refusal::TooManyConnections => {
                "too many connections open from this address: reuse or close some".to_owned()
            }
            Refusal::UriTooLong => format!("the URI is longer than {MAX_URI_BYTES} bytes"),
            Refusal::BodyTooLarge(limit) => format!("the body is larger than {limit} bytes"),
            Refusal::BodyTooSlow => "the body did not arrive in time".to_owned(),
            Refusal::BodyUnreadable => "the body could not be read".to_owned(),
        }
    }

    /// The answer in the dialect of `path`: the POS dialect answers HTTP 200 with
    /// `requete_malforme` (its contract: every answer is 200), the rest the `/v1` envelope.
    /// The connection is closed after it: its unread body, or its address's share, is spent.
    fn answer(self, path: &str) -> HttpResponse {
        let mut builder;
        if path == "/api" || path.starts_with("/api/") {
            builder = HttpResponse::Ok();
            builder.force_close();
            if self == Refusal::TooManyConnections {
                builder.insert_header((header::RETRY_AFTER, "1"));
            }
            return builder
                .content_type("application/json")
                .body(r#"{"status":"requete_malforme"}"#);
        }
        builder = HttpResponse::build(self.status());
        builder.force_close();
        if self == Refusal::TooManyConnections {
            builder.insert_header((header::RETRY_AFTER, "1"));
        }
        let message = match self {
            Refusal::TooManyConnections => "Too many connections: retry later.",
            Refusal::UriTooLong => "The address is too long.",
            Refusal::BodyTooLarge(_) => "The request is too large.",
            Refusal::BodyTooSlow => "The request took too long to arrive.",
            Refusal::BodyUnreadable => "The request is invalid.",
        };
        crate::v1::envelope_error(builder, self.code(), message, &self.debug_message())
    }
}

/// Whether the request announces a body (a length above zero, or chunks).
fn has_body(req: &ServiceRequest) -> bool {
    let headers = req.headers();
    headers.contains_key(header::TRANSFER_ENCODING)
        || headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .is_some_and(|len| len > 0)
}

/// Reads the whole body, at most `limit` bytes of it, within `timeout`.
async fn read_body(
    payload: &mut Payload,
    limit: usize,
    timeout: Duration,
) -> Result<Bytes, Refusal> {
    let read = async {
        let mut body = BytesMut::new();
        while let Some(chunk) = payload.next().await {
            let chunk = chunk.map_err(|_| Refusal::BodyUnreadable)?;
            if body.len() + chunk.len() > limit {
                return Err(Refusal::BodyTooLarge(limit));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body.freeze())
    };
    actix_web::rt::time::timeout(timeout, read)
        .await
        .unwrap_or(Err(Refusal::BodyTooSlow))
}

/// A refusal's body, holding the refused request's unread payload until it is sent: while the
/// payload is alive, the HTTP layer closes the connection after the answer instead of reading
/// (draining) a body that may never end.
struct WithUnread {
    body: Option<Bytes>,
    len: u64,
    _unread: Payload,
}

impl MessageBody for WithUnread {
    type Error = std::convert::Infallible;

    fn size(&self) -> BodySize {
        BodySize::Sized(self.len)
    }

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<Bytes, Self::Error>>> {
        std::task::Poll::Ready(self.body.take().map(Ok))
    }
}

/// `answer`, its body now holding `unread`.
fn with_unread(answer: HttpResponse<BoxBody>, unread: Payload) -> HttpResponse<BoxBody> {
    let (answer, body) = answer.into_parts();
    let body = body.try_into_bytes().unwrap_or_default();
    answer.set_body(BoxBody::new(WithUnread {
        len: body.len() as u64,
        body: Some(body),
        _unread: unread,
    }))
}

/// Checks the request against the limits and reads its body before the route runs.
async fn admit(edge: &Edge, req: &mut ServiceRequest) -> Result<(), Refusal> {
    if let (Some(slot), Some(peer)) = (req.conn_data::<Slot>(), req.peer_addr()) {
        let mut held = slot.0.borrow_mut();
        if held.is_none() {
            *held = Some(
                edge.take_slot(peer.ip())
                    .ok_or(Refusal::TooManyConnections)?,
            );
        }
    }
    let target = req.uri().path_and_query().map_or(0, |pq| pq.as_str().len());
    if target > MAX_URI_BYTES {
        return Err(Refusal::UriTooLong);
    }
    if has_body(req) {
        let limit = body_limit(req.method(), req.path());
        let announced = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        if announced.is_some_and(|len| len > limit as u64) {
            return Err(Refusal::BodyTooLarge(limit));
        }
        let mut payload = req.take_payload();
        let read = read_body(&mut payload, limit, edge.body_timeout).await;
        // Refused, the payload goes back to the request, to stay with the answer.
        req.set_payload(match &read {
            Ok(body) => Payload::from(body.clone()),
            Err(_) => payload,
        });
        read?;
    }
    Ok(())
}

/// The headers every answer carries: never sniffed, never framed, and not cached unless the
/// route said otherwise (answers carry tokens, secrets, balances); HSTS under TLS.
fn protect(res: &mut HttpResponse<BoxBody>, path: &str, tls: bool) {
    let headers = res.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("frame-ancestors 'none'"),
        );
    }
    // Swagger UI's files are the same for everyone and may be cached.
    if !path.starts_with("/docs") && !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if tls {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        );
    }
}

/// Whether a bare 404 (the router's, no body) under `/v1` or `/oauth` is to be given the
/// envelope.
fn bare_not_found(res: &HttpResponse<BoxBody>, path: &str) -> bool {
    // Not JSON: an empty answer, or the pages' 404 (the app's default service) for a path
    // that no route of the API's scopes took.
    let json = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    res.status() == StatusCode::NOT_FOUND
        && !json
        && ["/v1", "/oauth"]
            .iter()
            .any(|p| path == *p || path.starts_with(&format!("{p}/")))
}

/// The middleware: limits first, then the route, then the headers of every answer.
pub async fn guard(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let edge = req.app_data::<web::Data<Edge>>().cloned();
    let path = req.path().to_owned();
    let tls = edge.as_ref().is_some_and(|e| e.tls);
    if let Some(edge) = &edge {
        if let Err(refusal) = admit(edge, &mut req).await {
            if refusal == Refusal::TooManyConnections {
                tracing::debug!(peer = ?req.peer_addr(), "too many connections from one address");
            }
            let mut answer = refusal.answer(&path);
            protect(&mut answer, &path, tls);
            let answer = with_unread(answer, req.take_payload());
            return Ok(req.into_response(answer));
        }
    }
    // HEAD is GET without the body: the route of GET answers it, and the HTTP layer, which
    // saw a HEAD, sends the headers only.
    if req.method() == Method::HEAD {
        req.head_mut().method = Method::GET;
    }
    let res = next.call(req).await?;
    let (req, mut res) = res.map_into_boxed_body().into_parts();
    if bare_not_found(&res, &path) {
        res = crate::v1::envelope_error(
            HttpResponse::build(StatusCode::NOT_FOUND),
            "RESOURCE_NOT_FOUND_ERROR",
            "This resource does not exist.",
            "no such route",
        );
    }
    protect(&mut res, &path, tls);
    Ok(ServiceResponse::new(req, res))
}
