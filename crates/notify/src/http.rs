//! What the HTTP channels (webhook, SMS, push) share: one client each, the rule for plain
//! `http` URLs, and how an answer or a transport error becomes an attempt's outcome.

use std::error::Error as _;
use std::net::IpAddr;
use std::time::Duration;

use ardoise_domain::DeliveryError;
use reqwest::StatusCode;
use url::Url;

use crate::ConfigError;

/// How long one attempt may take, connection included: past it the attempt is temporary.
const TIMEOUT: Duration = Duration::from_secs(10);
/// How much of a refusal's body goes into the message's `last_error`.
const BODY_EXCERPT: usize = 200;

/// A client for one adapter, kept for its life so connections are reused. It follows no
/// redirect: a receiver's 3xx is its answer (a signed request is not re-sent elsewhere).
pub(crate) fn client(setting: &'static str) -> Result<reqwest::Client, ConfigError> {
    reqwest::Client::builder()
        .timeout(TIMEOUT)
        .connect_timeout(TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("ardoise/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| ConfigError::new(setting, format!("cannot build an HTTP client: {e}")))
}

/// `text` as an `https` URL, or a plain `http` one to this machine (a gateway or a stand-in
/// on the loopback): credentials never cross a network in clear.
pub(crate) fn service_url(setting: &'static str, text: &str) -> Result<Url, ConfigError> {
    let url =
        Url::parse(text).map_err(|e| ConfigError::new(setting, format!("not a URL ({e})")))?;
    match url.scheme() {
        "https" => Ok(url),
        "http" if is_loopback(&url) => Ok(url),
        _ => Err(ConfigError::new(
            setting,
            "must be an https URL (plain http only to this machine)",
        )),
    }
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

/// The outcome of an answer: 2xx delivered; 408, 429 and 5xx worth a retry; any other
/// refusal final. `body` is quoted (shortened) in the error.
pub(crate) fn outcome(status: StatusCode, body: &str) -> Result<(), DeliveryError> {
    if status.is_success() {
        return Ok(());
    }
    let excerpt: String = body.trim().chars().take(BODY_EXCERPT).collect();
    let text = if excerpt.is_empty() {
        format!("HTTP {}", status.as_u16())
    } else {
        format!("HTTP {}: {excerpt}", status.as_u16())
    };
    if status.is_server_error()
        || status == StatusCode::TOO_MANY_REQUESTS
        || status == StatusCode::REQUEST_TIMEOUT
    {
        Err(DeliveryError::Temporary(text))
    } else {
        Err(DeliveryError::Permanent(text))
    }
}

/// A request that got no answer (refused connection, timeout, reset): always temporary. The
/// URL is left out, as it may carry a receiver's secret path.
pub(crate) fn transport_error(error: reqwest::Error) -> DeliveryError {
    let error = error.without_url();
    let mut text = if error.is_timeout() {
        "timed out".to_owned()
    } else if error.is_connect() {
        "connection failed".to_owned()
    } else {
        error.to_string()
    };
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    DeliveryError::Temporary(text)
}

/// Sends `request` and reads the answer into an outcome.
pub(crate) async fn attempt(request: reqwest::RequestBuilder) -> Result<(), DeliveryError> {
    let response = request.send().await.map_err(transport_error)?;
    let status = response.status();
    let body = response.text().await.unwrap_or_default();
    outcome(status, &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_classified_as_a_receiver_means_them() {
        assert_eq!(outcome(StatusCode::OK, ""), Ok(()));
        assert_eq!(outcome(StatusCode::NO_CONTENT, ""), Ok(()));
        for status in [500, 502, 503, 429, 408] {
            let status = StatusCode::from_u16(status).unwrap();
            assert!(matches!(
                outcome(status, "busy"),
                Err(DeliveryError::Temporary(_))
            ));
        }
        for status in [400, 401, 403, 404, 410, 301] {
            let status = StatusCode::from_u16(status).unwrap();
            assert!(matches!(
                outcome(status, ""),
                Err(DeliveryError::Permanent(_))
            ));
        }
        assert_eq!(
            outcome(StatusCode::BAD_REQUEST, &"x".repeat(500)),
            Err(DeliveryError::Permanent(format!(
                "HTTP 400: {}",
                "x".repeat(200)
            )))
        );
    }

    #[test]
    fn plain_http_is_accepted_only_to_this_machine() {
        assert!(service_url("s", "https://sms.example.org/send").is_ok());
        assert!(service_url("s", "http://127.0.0.1:9000/send").is_ok());
        assert!(service_url("s", "http://localhost:9000/send").is_ok());
        assert!(service_url("s", "http://[::1]:9000/send").is_ok());
        let refused = service_url("notify.sms.url", "http://sms.example.org/send").unwrap_err();
        assert_eq!(refused.setting, "notify.sms.url");
        assert!(service_url("s", "ftp://127.0.0.1/").is_err());
        assert!(service_url("s", "not a url").is_err());
    }
}
