//! FCM HTTP v1 through a local stand-in for Google: the token endpoint checks the service
//! account's signed grant, the send endpoint records the exact messages.

use std::io::Write as _;

use ardoise_domain::{Channel, DeliveryError, Sender};
use ardoise_notify::{PushConfig, PushSender};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;

use crate::delivery;
use crate::receivers::{HttpReceiver, Request};

const PRIVATE_KEY: &str = include_str!("fixtures/test-only-service-account.key");
const PUBLIC_KEY: &str = include_str!("fixtures/test-only-service-account.pub");
const ACCOUNT: &str = "ardoise@bar-test.iam.gserviceaccount.com";
const DEVICE: &str = "fcm-registration-token-of-anas-phone";
const SEND_PATH: &str = "/v1/projects/bar-test/messages:send";

/// Google's stand-in: `/token` grants `ya29.token-N` (N-th grant), the rest accepts.
async fn google() -> HttpReceiver {
    HttpReceiver::with(|request, before| {
        if request.path == "/token" {
            let grant = serde_json::json!({
                "access_token": format!("ya29.token-{}", before + 1),
                "expires_in": 3599,
                "token_type": "Bearer"
            });
            (200, grant.to_string())
        } else {
            (
                200,
                r#"{"name":"projects/bar-test/messages/0:1"}"#.to_owned(),
            )
        }
    })
    .await
}

struct Setup {
    google: HttpReceiver,
    sender: PushSender,
    _credentials: tempfile::NamedTempFile,
}

async fn setup() -> Setup {
    let google = google().await;
    let mut credentials = tempfile::NamedTempFile::new().unwrap();
    let account = serde_json::json!({
        "type": "service_account",
        "project_id": "bar-test",
        "private_key_id": "0123456789abcdef",
        "private_key": PRIVATE_KEY,
        "client_email": ACCOUNT,
        "token_uri": format!("{}/token", google.base),
    });
    credentials
        .write_all(account.to_string().as_bytes())
        .unwrap();
    let sender = PushSender::new(&PushConfig {
        project: "bar-test".to_owned(),
        credentials_file: credentials.path().to_owned(),
        api_url: google.base.clone(),
    })
    .unwrap();
    Setup {
        google,
        sender,
        _credentials: credentials,
    }
}

#[derive(Debug, Deserialize)]
struct Claims {
    iss: String,
    scope: String,
    aud: String,
    iat: i64,
    exp: i64,
}

/// The grant as Google checks it: the form, then the JWT's RS256 signature and claims.
fn check_grant(request: &Request, token_url: &str) -> Claims {
    let form: Vec<(String, String)> = url::form_urlencoded::parse(&request.body)
        .into_owned()
        .collect();
    assert_eq!(form[0].0, "grant_type");
    assert_eq!(form[0].1, "urn:ietf:params:oauth:grant-type:jwt-bearer");
    assert_eq!(form[1].0, "assertion");
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_audience(&[token_url]);
    validation.set_issuer(&[ACCOUNT]);
    let key = DecodingKey::from_rsa_pem(PUBLIC_KEY.as_bytes()).unwrap();
    jsonwebtoken::decode::<Claims>(&form[1].1, &key, &validation)
        .unwrap()
        .claims
}

fn on(path: &str, requests: &[Request]) -> Vec<Request> {
    requests
        .iter()
        .filter(|r| r.path == path)
        .cloned()
        .collect()
}

#[actix_web::test]
async fn pushes_carry_a_kept_service_account_token_and_the_exact_message() {
    let Setup {
        google,
        sender,
        _credentials,
    } = setup().await;
    assert_eq!(sender.channel(), Channel::Push);
    let mut alert = delivery(Channel::Push, DEVICE);
    sender.send(&alert).await.unwrap();
    alert.id = "ntf_8Kx3".to_owned();
    alert.link = None;
    sender.send(&alert).await.unwrap();

    let requests = google.requests();
    let grants = on("/token", &requests);
    assert_eq!(grants.len(), 1, "the token is kept until it expires");
    let claims = check_grant(&grants[0], &format!("{}/token", google.base));
    assert_eq!(claims.iss, ACCOUNT);
    assert_eq!(
        claims.scope,
        "https://www.googleapis.com/auth/firebase.messaging"
    );
    assert_eq!(claims.aud, format!("{}/token", google.base));
    assert_eq!(claims.exp - claims.iat, 3600);

    let sends = on(SEND_PATH, &requests);
    assert_eq!(sends.len(), 2);
    for send in &sends {
        assert_eq!(send.method, "POST");
        assert_eq!(send.header("authorization"), Some("Bearer ya29.token-1"));
    }
    assert_eq!(
        sends[0].json(),
        serde_json::json!({"message": {
            "token": DEVICE,
            "notification": {
                "title": "Low balance",
                "body": "Card 0042 has 3.50 left: top up at the bar & enjoy <3"
            },
            "data": {"id": "ntf_7Hq2", "event": "low_balance", "link": "https://bar.example.org/me"}
        }})
    );
    assert_eq!(
        sends[1].json()["message"]["data"],
        serde_json::json!({"id": "ntf_8Kx3", "event": "low_balance"})
    );
    google.stop().await;
}

#[actix_web::test]
async fn a_refused_token_is_renewed_and_fcm_refusals_are_classified() {
    let Setup {
        google,
        sender,
        _credentials,
    } = setup().await;
    let alert = delivery(Channel::Push, DEVICE);
    sender.send(&alert).await.unwrap();
    // FCM refuses the kept token: the attempt is retried later with a new one.
    google.script(&[(401, r#"{"error":{"status":"UNAUTHENTICATED"}}"#)]);
    assert!(matches!(
        sender.send(&alert).await,
        Err(DeliveryError::Temporary(_))
    ));
    sender.send(&alert).await.unwrap();
    let sends = on(SEND_PATH, &google.requests());
    assert_eq!(sends.len(), 3);
    assert_eq!(
        sends[2].header("authorization"),
        Some("Bearer ya29.token-2")
    );

    google.script(&[(500, ""), (503, "")]);
    assert!(matches!(
        sender.send(&alert).await,
        Err(DeliveryError::Temporary(_))
    ));
    assert!(matches!(
        sender.send(&alert).await,
        Err(DeliveryError::Temporary(_))
    ));
    sender.send(&alert).await.unwrap();
    // The app was uninstalled: retrying cannot help.
    google.script(&[(
        404,
        r#"{"error":{"status":"NOT_FOUND","details":[{"errorCode":"UNREGISTERED"}]}}"#,
    )]);
    let gone = sender.send(&alert).await;
    assert!(
        matches!(&gone, Err(DeliveryError::Permanent(e)) if e.contains("UNREGISTERED")),
        "{gone:?}"
    );
    google.stop().await;
}

#[actix_web::test]
async fn a_refused_grant_is_temporary_and_sends_nothing() {
    let Setup {
        google,
        sender,
        _credentials,
    } = setup().await;
    google.script(&[(400, r#"{"error":"invalid_grant"}"#)]);
    let refused = sender.send(&delivery(Channel::Push, DEVICE)).await;
    assert!(
        matches!(&refused, Err(DeliveryError::Temporary(e)) if e.contains("invalid_grant")),
        "{refused:?}"
    );
    assert!(on(SEND_PATH, &google.requests()).is_empty());
    google.stop().await;
}

#[test]
fn a_bad_credentials_file_is_named_and_its_content_never_shown() {
    let config = |file: &std::path::Path, project: &str| PushConfig {
        project: project.to_owned(),
        credentials_file: file.to_owned(),
        api_url: ardoise_notify::FCM_API_URL.to_owned(),
    };
    let missing = PushSender::new(&config("/nonexistent/sa.json".as_ref(), "bar-test"));
    assert_eq!(
        missing.err().unwrap().setting,
        "notify.push.credentials_file"
    );

    let mut broken = tempfile::NamedTempFile::new().unwrap();
    broken
        .write_all(b"{\"private_key\": \"-----BEGIN PRIVATE KEY-----\\nMIIsecret")
        .unwrap();
    let error = PushSender::new(&config(broken.path(), "bar-test"))
        .err()
        .unwrap();
    assert_eq!(error.setting, "notify.push.credentials_file");
    assert!(!error.to_string().contains("MIIsecret"), "{error}");

    let mut not_rsa = tempfile::NamedTempFile::new().unwrap();
    let account = serde_json::json!({
        "client_email": ACCOUNT,
        "private_key": "-----BEGIN PRIVATE KEY-----\nMIIsecret\n-----END PRIVATE KEY-----\n",
        "token_uri": "https://oauth2.googleapis.com/token",
    });
    not_rsa.write_all(account.to_string().as_bytes()).unwrap();
    let error = PushSender::new(&config(not_rsa.path(), "bar-test"))
        .err()
        .unwrap();
    assert!(!error.to_string().contains("MIIsecret"), "{error}");

    let bad_project = PushSender::new(&config(not_rsa.path(), "bar/../test"));
    assert_eq!(
        bad_project.err().unwrap().setting,
        "notify.push.fcm_project"
    );
}
