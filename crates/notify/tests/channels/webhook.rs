//! Webhooks to a local receiver that verifies them as a receiver would: with the Standard
//! Webhooks reference library, not with ardoise's own signing code.

use ardoise_domain::{Channel, Delivery, DeliveryError, Sender};
use ardoise_notify::{WebhookConfig, WebhookSender};
use standardwebhooks::Webhook;

use crate::delivery;
use crate::receivers::{HttpReceiver, Request};

/// A receiver's secret, as `PUT /v1/partners/{client_id}/webhook` shows it.
const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

fn to(receiver: &HttpReceiver) -> Delivery {
    let mut d = delivery(
        Channel::Webhook,
        &format!("{}/hooks/ardoise", receiver.base),
    );
    d.secret = Some(SECRET.to_owned());
    d
}

fn sender() -> WebhookSender {
    WebhookSender::new(&WebhookConfig { allow_http: true }).unwrap()
}

/// Checks `request` with the reference library, as the receiver's own code would.
fn verify(request: &Request, secret: &str, body: &[u8]) -> Result<(), String> {
    let mut headers = http::HeaderMap::new();
    for (name, value) in &request.headers {
        headers.append(
            http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
            http::HeaderValue::from_str(value).unwrap(),
        );
    }
    Webhook::new(secret)
        .unwrap()
        .verify(body, &headers)
        .map_err(|e| format!("{e:?}"))
}

#[actix_web::test]
async fn a_webhook_is_signed_so_the_reference_library_accepts_it() {
    let receiver = HttpReceiver::start().await;
    let sender = sender();
    assert_eq!(sender.channel(), Channel::Webhook);
    sender.send(&to(&receiver)).await.unwrap();

    let requests = receiver.requests();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(request.method, "POST");
    assert_eq!(request.path, "/hooks/ardoise");
    assert_eq!(request.header("content-type"), Some("application/json"));
    assert_eq!(request.header("webhook-id"), Some("ntf_7Hq2"));
    let timestamp: i64 = request
        .header("webhook-timestamp")
        .unwrap()
        .parse()
        .unwrap();
    assert!((chrono::Utc::now().timestamp() - timestamp).abs() < 60);
    assert_eq!(
        request.json(),
        serde_json::json!({
            "type": "low_balance",
            "timestamp": "2026-12-06T21:30:05.000Z",
            "data": {
                "id": "ntf_7Hq2",
                "title": "Low balance",
                "message": "Card 0042 has 3.50 left: top up at the bar & enjoy <3",
                "link": "https://bar.example.org/me"
            }
        })
    );
    verify(request, SECRET, &request.body).unwrap();
    // The check is real: another secret or a changed body is refused.
    assert!(verify(
        request,
        "whsec_c2VjcmV0LWtleS1vZi1zb21lb25lLWVsc2U=",
        &request.body
    )
    .is_err());
    let mut tampered = request.body.clone();
    tampered[10] ^= 1;
    assert!(verify(request, SECRET, &tampered).is_err());
    receiver.stop().await;
}

#[actix_web::test]
async fn a_500_is_retried_and_the_retry_carries_the_same_id() {
    let receiver = HttpReceiver::start().await;
    receiver.script(&[(500, "database down")]);
    let sender = sender();
    let mut message = to(&receiver);
    assert_eq!(
        sender.send(&message).await,
        Err(DeliveryError::Temporary(
            "HTTP 500: database down".to_owned()
        ))
    );
    message.attempt = 2;
    sender.send(&message).await.unwrap();

    let requests = receiver.requests();
    assert_eq!(requests.len(), 2);
    for request in &requests {
        assert_eq!(request.header("webhook-id"), Some("ntf_7Hq2"));
        verify(request, SECRET, &request.body).unwrap();
    }
    assert_eq!(requests[0].body, requests[1].body);
    receiver.stop().await;
}

#[actix_web::test]
async fn refusals_and_silence_are_classified() {
    let receiver = HttpReceiver::start().await;
    receiver.script(&[(429, ""), (404, "no such hook"), (410, ""), (302, "")]);
    let sender = sender();
    let message = to(&receiver);
    assert!(matches!(
        sender.send(&message).await,
        Err(DeliveryError::Temporary(_))
    ));
    for _ in 0..3 {
        assert!(matches!(
            sender.send(&message).await,
            Err(DeliveryError::Permanent(_))
        ));
    }
    receiver.stop().await;

    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed = listener.local_addr().unwrap().port();
    drop(listener);
    let mut nowhere = message.clone();
    nowhere.to = format!("http://127.0.0.1:{closed}/hooks");
    assert!(matches!(
        sender.send(&nowhere).await,
        Err(DeliveryError::Temporary(_))
    ));
}

#[actix_web::test]
async fn plain_http_is_refused_unless_allowed_and_nothing_is_sent() {
    let receiver = HttpReceiver::start().await;
    let strict = WebhookSender::new(&WebhookConfig::default()).unwrap();
    let refused = strict.send(&to(&receiver)).await;
    assert!(
        matches!(&refused, Err(DeliveryError::Permanent(e)) if e.contains("https")),
        "{refused:?}"
    );
    let mut unsigned = to(&receiver);
    unsigned.secret = None;
    assert!(matches!(
        sender().send(&unsigned).await,
        Err(DeliveryError::Permanent(_))
    ));
    assert!(receiver.requests().is_empty());
    receiver.stop().await;
}
