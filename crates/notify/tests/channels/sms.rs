//! SMS through a local stand-in gateway checking the exact requests.

use ardoise_domain::{Channel, DeliveryError, Sender};
use ardoise_notify::{SmsConfig, SmsFormat, SmsSender};

use crate::delivery;
use crate::receivers::HttpReceiver;

fn sender(receiver: &HttpReceiver, format: SmsFormat, token: &str) -> SmsSender {
    SmsSender::new(&SmsConfig {
        url: format!("{}/sms/send", receiver.base),
        format,
        token: token.to_owned(),
    })
    .unwrap()
}

#[actix_web::test]
async fn a_json_sms_carries_the_id_the_number_the_text_and_the_token() {
    let gateway = HttpReceiver::start().await;
    let sender = sender(&gateway, SmsFormat::Json, "gw-token-1");
    assert_eq!(sender.channel(), Channel::Sms);
    sender
        .send(&delivery(Channel::Sms, "+33612345678"))
        .await
        .unwrap();
    let requests = gateway.requests();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(request.method, "POST");
    assert_eq!(request.path, "/sms/send");
    assert_eq!(request.header("authorization"), Some("Bearer gw-token-1"));
    assert_eq!(request.header("content-type"), Some("application/json"));
    assert_eq!(
        request.json(),
        serde_json::json!({
            "id": "ntf_7Hq2",
            "to": "+33612345678",
            "text": "Low balance: Card 0042 has 3.50 left: top up at the bar & enjoy <3 https://bar.example.org/me"
        })
    );
    gateway.stop().await;
}

#[actix_web::test]
async fn a_form_sms_without_token_and_a_500_then_200() {
    let gateway = HttpReceiver::start().await;
    gateway.script(&[(503, "")]);
    let sender = sender(&gateway, SmsFormat::Form, "");
    let sms = delivery(Channel::Sms, "+33612345678");
    assert_eq!(
        sender.send(&sms).await,
        Err(DeliveryError::Temporary("HTTP 503".to_owned()))
    );
    sender.send(&sms).await.unwrap();
    let requests = gateway.requests();
    assert_eq!(requests.len(), 2);
    for request in &requests {
        assert_eq!(request.header("authorization"), None);
        assert_eq!(
            request.header("content-type"),
            Some("application/x-www-form-urlencoded")
        );
        assert_eq!(
            request.body_text(),
            "id=ntf_7Hq2&to=%2B33612345678&text=Low+balance%3A+Card+0042+has+3.50+left%3A+top+up+at+the+bar+%26+enjoy+%3C3+https%3A%2F%2Fbar.example.org%2Fme"
        );
    }
    gateway.script(&[(400, "{\"error\":\"invalid number\"}")]);
    assert!(
        matches!(sender.send(&sms).await, Err(DeliveryError::Permanent(e)) if e.contains("invalid number"))
    );
    gateway.stop().await;
}

#[test]
fn the_gateway_must_be_https_or_on_this_machine() {
    let config = |url: &str| SmsConfig {
        url: url.to_owned(),
        format: SmsFormat::Json,
        token: "secret-token".to_owned(),
    };
    assert!(SmsSender::new(&config("https://sms.example.org/send")).is_ok());
    let refused = SmsSender::new(&config("http://sms.example.org/send"))
        .err()
        .unwrap();
    assert_eq!(refused.setting, "notify.sms.url");
    assert_eq!(SmsFormat::parse("form").unwrap(), SmsFormat::Form);
    assert_eq!(
        SmsFormat::parse("xml").err().unwrap().setting,
        "notify.sms.format"
    );
    assert!(!format!("{:?}", config("https://x")).contains("secret-token"));
}
