//! Notifications and advertisements (services.md, issue #17) against the real binary on each
//! backend, delivered to a real local webhook receiver started by the test: the routes and
//! their refusals, `Idempotency-Key`, a retry after a 500 with the same message id, consent,
//! `/Services` 1 and 2, `/metrics`; and 1,000 messages surviving a `kill -9` of the server.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use reqwest::Method;
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

use crate::harness::{backends, Server};
use crate::v1_me::{activate, login, member_with_card};
use crate::v1_partner::{add_partner, token, Partner};
use crate::v1_staff::{call, get, post, session};

/// One delivery as the receiver saw it.
#[derive(Debug, Clone)]
struct Delivery {
    id: String,
    signature: String,
    body: Value,
}

/// A local webhook receiver (plain HTTP/1.1 with keep-alive): records every delivery and
/// answers 200, or 500 to the first delivery of a message whose title is `flaky`; each answer
/// after `delay`.
#[derive(Clone)]
struct Receiver {
    url: String,
    seen: Arc<Mutex<Vec<Delivery>>>,
    /// How long each answer waits, in milliseconds.
    delay: Arc<AtomicU64>,
}

impl Receiver {
    async fn start(delay: Duration) -> Receiver {
        let delay = Arc::new(AtomicU64::new(u64::try_from(delay.as_millis()).unwrap()));
        let wait = delay.clone();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let recorded = seen.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let seen = recorded.clone();
                let wait = wait.clone();
                tokio::spawn(async move {
                    let (read, mut write) = stream.into_split();
                    let mut read = BufReader::new(read);
                    loop {
                        let mut headers = HashMap::new();
                        let mut line = String::new();
                        if read.read_line(&mut line).await.unwrap_or(0) == 0 {
                            return;
                        }
                        loop {
                            line.clear();
                            if read.read_line(&mut line).await.unwrap_or(0) == 0 {
                                return;
                            }
                            let l = line.trim_end();
                            if l.is_empty() {
                                break;
                            }
                            if let Some((k, v)) = l.split_once(':') {
                                headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_owned());
                            }
                        }
                        let length: usize = headers
                            .get("content-length")
                            .and_then(|v| v.parse().ok())
                            .unwrap_or(0);
                        let mut body = vec![0; length];
                        if read.read_exact(&mut body).await.is_err() {
                            return;
                        }
                        let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                        let id = headers.get("webhook-id").cloned().unwrap_or_default();
                        let status = {
                            let mut seen = seen.lock().unwrap();
                            let flaky = body["data"]["title"] == "flaky"
                                && !seen.iter().any(|d: &Delivery| d.id == id);
                            seen.push(Delivery {
                                id,
                                signature: headers
                                    .get("webhook-signature")
                                    .cloned()
                                    .unwrap_or_default(),
                                body,
                            });
                            if flaky {
                                500
                            } else {
                                200
                            }
                        };
                        let pause = wait.load(Ordering::Relaxed);
                        tokio::time::sleep(Duration::from_millis(pause)).await;
                        let answer = format!("HTTP/1.1 {status} X\r\ncontent-length: 0\r\n\r\n");
                        if write.write_all(answer.as_bytes()).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        Receiver { url, seen, delay }
    }

    fn set_delay(&self, delay: Duration) {
        self.delay
            .store(u64::try_from(delay.as_millis()).unwrap(), Ordering::Relaxed);
    }

    fn deliveries(&self) -> Vec<Delivery> {
        self.seen.lock().unwrap().clone()
    }

    fn distinct(&self) -> HashSet<String> {
        self.deliveries().into_iter().map(|d| d.id).collect()
    }

    /// Waits until `done` holds for the deliveries, at most `limit`.
    async fn wait(&self, limit: Duration, done: impl Fn(&[Delivery]) -> bool) -> bool {
        let start = Instant::now();
        while start.elapsed() < limit {
            if done(&self.deliveries()) {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        done(&self.deliveries())
    }
}

/// The settings of these tests: plain-http webhooks (the local receiver), no rate limit.
const ENV: [(&str, &str); 2] = [
    ("ARDOISE__NOTIFY__WEBHOOK__ALLOW_HTTP", "true"),
    ("ARDOISE__SERVICES__SENDS_PER_MINUTE", "0"),
];

async fn put(s: &Server, path: &str, token: &str, body: Value) -> (u16, Value) {
    let (status, _, v) = call(s, Method::PUT, path, Some(token), Some(body), &[]).await;
    (status, v)
}

/// A partner with scope `notifications:send`, its token, and its webhook at `receiver`.
async fn provider(s: &Server, receiver: &Receiver) -> (Partner, String, String) {
    let partner = add_partner(&s.db, "Provider", "notifications:send", &[]);
    let pt = token(s, &partner).await;
    let (status, v) = put(
        s,
        &format!("/v1/partners/{}/webhook", partner.id),
        &pt,
        json!({"url": receiver.url}),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["code"], "WEBHOOK_SET");
    assert_eq!(v["data"]["url"], receiver.url.as_str());
    let secret = v["data"]["secret"].as_str().unwrap().to_owned();
    (partner, pt, secret)
}

async fn status_of(s: &Server, token: &str, id: &str) -> Value {
    let (status, _, v) = get(s, &format!("/v1/notifications/{id}"), token).await;
    assert_eq!(status, 200, "{v}");
    v["data"].clone()
}

/// The message's status once it is `want` (the outcome is recorded just after the receiver
/// answered), at most 10 s.
async fn settled(s: &Server, token: &str, id: &str, want: &str) -> Value {
    let mut m = status_of(s, token, id).await;
    for _ in 0..100 {
        if m["status"] == want {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        m = status_of(s, token, id).await;
    }
    m
}

fn refused(answer: &(u16, reqwest::header::HeaderMap, Value), status: u16, code: &str) {
    assert_eq!(
        (answer.0, answer.2["code"].as_str()),
        (status, Some(code)),
        "{}",
        answer.2
    );
}

fn png() -> String {
    let mut bytes = Vec::new();
    image::RgbImage::from_pixel(8, 8, image::Rgb([200, 30, 30]))
        .write_to(
            &mut std::io::Cursor::new(&mut bytes),
            image::ImageFormat::Png,
        )
        .unwrap();
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// A PNG of noise (it does not compress) of about `side² × 3` bytes.
fn big_png(side: u32) -> String {
    let mut bytes = Vec::new();
    let mut x: u32 = 12345;
    image::RgbImage::from_fn(side, side, |_, _| {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
        let b = x.to_le_bytes();
        image::Rgb([b[1], b[2], b[3]])
    })
    .write_to(
        &mut std::io::Cursor::new(&mut bytes),
        image::ImageFormat::Png,
    )
    .unwrap();
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[tokio::test]
async fn a_provider_notifies_a_member_by_webhook_and_follows_each_message() {
    let receiver = Receiver::start(Duration::ZERO).await;
    for backend in backends() {
        let s = Server::start_with(backend, &ENV);
        let prez = session(&s, "prez").await;
        let bde = session(&s, "bde").await;
        let barman = session(&s, "barman").await;
        let member =
            member_with_card(&s, &bde, "Roux", "max@example.org", "04AB00AB00", "5.00").await;
        let (partner, pt, secret) = provider(&s, &receiver).await;
        assert!(
            secret.starts_with("whsec_") && secret.len() == 38,
            "{secret}"
        );
        let note = |title: &str| json!({"member": member, "title": title, "message": "Your order is ready.", "channel": "webhook", "link": "https://shop.example/o/1"});

        // Refusals: scope, rights, fields (named), unknown member, channels not configured.
        let plain = add_partner(&s.db, "Other", "cards:read", &[]);
        let other = token(&s, &plain).await;
        let (status, _, _) = post(&s, "/v1/notifications", &other, note("Hi")).await;
        assert_eq!(status, 403);
        refused(
            &post(&s, "/v1/notifications", &barman, note("Hi")).await,
            403,
            "INSUFFICIENT_RIGHTS_ERROR",
        );
        for (bad, field) in [
            (
                json!({"member": member, "title": "x".repeat(33), "message": "m", "channel": "webhook"}),
                "title",
            ),
            (
                json!({"member": member, "title": "t", "message": "", "channel": "webhook"}),
                "message",
            ),
            (
                json!({"member": member, "card": "04AB00AB00", "title": "t", "message": "m", "channel": "webhook"}),
                "card",
            ),
            (
                json!({"member": member, "title": "t", "message": "m", "channel": "fax"}),
                "channel",
            ),
            (
                json!({"member": member, "title": "t", "message": "m", "channel": "webhook", "link": "http://shop.example"}),
                "link",
            ),
            (
                json!({"member": member, "title": "t", "message": "m", "channel": "webhook", "extra": 1}),
                "extra",
            ),
        ] {
            let answer = post(&s, "/v1/notifications", &pt, bad.clone()).await;
            refused(&answer, 400, "VALIDATION_ERROR");
            assert!(
                answer.2["debugMessage"].as_str().unwrap().contains(field),
                "{bad}: {}",
                answer.2
            );
        }
        let mut nobody = note("Hi");
        nobody["member"] = json!(999_999);
        refused(
            &post(&s, "/v1/notifications", &pt, nobody).await,
            404,
            "MEMBER_NOT_FOUND_ERROR",
        );
        let mut by_mail = note("Hi");
        by_mail["channel"] = json!("email");
        refused(
            &post(&s, "/v1/notifications", &pt, by_mail).await,
            409,
            "CHANNEL_NOT_CONFIGURED_ERROR",
        );
        // Staff send too, but a webhook is a partner's own.
        refused(
            &post(&s, "/v1/notifications", &prez, note("Hi")).await,
            400,
            "VALIDATION_ERROR",
        );
        // A partner registers its own webhook only; an https URL is checked.
        let (status, _) = put(
            &s,
            &format!("/v1/partners/{}/webhook", partner.id),
            &other,
            json!({"url": receiver.url}),
        )
        .await;
        assert_eq!(status, 403);
        let (status, v) = put(
            &s,
            &format!("/v1/partners/{}/webhook", partner.id),
            &pt,
            json!({"url": "ftp://shop.example/hook"}),
        )
        .await;
        assert_eq!(
            (status, v["code"].as_str()),
            (400, Some("VALIDATION_ERROR"))
        );

        // Queued (202, Location), replayed with its key, delivered once with its id.
        let keyed = [("Idempotency-Key", "order-1")];
        let (status, headers, v) = call(
            &s,
            Method::POST,
            "/v1/notifications",
            Some(&pt),
            Some(note("Order ready")),
            &keyed,
        )
        .await;
        assert_eq!(status, 202, "{v}");
        assert_eq!(v["code"], "NOTIFICATION_QUEUED");
        let id = v["data"]["id"].as_str().unwrap().to_owned();
        assert_eq!(v["data"]["status"], "queued");
        assert_eq!(
            headers["location"],
            format!("/v1/notifications/{id}").as_str()
        );
        let (status, headers, again) = call(
            &s,
            Method::POST,
            "/v1/notifications",
            Some(&pt),
            Some(note("Order ready")),
            &keyed,
        )
        .await;
        assert_eq!(
            (status, again["data"]["id"].as_str()),
            (202, Some(id.as_str()))
        );
        assert_eq!(headers["idempotency-replayed"], "true");
        let reused = call(
            &s,
            Method::POST,
            "/v1/notifications",
            Some(&pt),
            Some(note("Something else")),
            &keyed,
        )
        .await;
        refused(&reused, 409, "IDEMPOTENCY_KEY_REUSED_ERROR");
        assert!(
            receiver
                .wait(Duration::from_secs(20), |d| d.iter().any(|d| d.id == id))
                .await,
            "delivered"
        );
        let got: Vec<_> = receiver
            .deliveries()
            .into_iter()
            .filter(|d| d.id == id)
            .collect();
        assert_eq!(got[0].body["data"]["title"], "Order ready");
        assert_eq!(got[0].body["data"]["link"], "https://shop.example/o/1");
        assert!(got[0].signature.starts_with("v1,"), "{:?}", got[0]);
        let m = settled(&s, &pt, &id, "sent").await;
        assert_eq!(
            (m["status"].as_str(), m["attempts"].as_u64()),
            (Some("sent"), Some(1))
        );
        assert_eq!(m["channel"], "webhook");
        assert_eq!(m["member"], member);
        assert!(m["sent_at"].is_string(), "{m}");

        // A receiver that answers 500 first: retried with the same id, then sent.
        let (status, _, v) = post(&s, "/v1/notifications", &pt, note("flaky")).await;
        assert_eq!(status, 202, "{v}");
        let flaky = v["data"]["id"].as_str().unwrap().to_owned();
        let twice = receiver
            .wait(Duration::from_secs(30), |d| {
                d.iter().filter(|d| d.id == flaky).count() >= 2
            })
            .await;
        assert!(twice, "retried after the 500");
        let m = settled(&s, &pt, &flaky, "sent").await;
        assert_eq!(
            (m["status"].as_str(), m["attempts"].as_u64()),
            (Some("sent"), Some(2)),
            "{m}"
        );
        assert!(m["last_error"].as_str().unwrap().contains("500"), "{m}");

        // Advertisements: skipped without consent, delivered with it (picture checked).
        let ad = json!({"card": "04AB00AB00", "title": "Happy hour", "message": "-50% tonight", "channel": "webhook", "picture": png()});
        let (status, _, v) = post(&s, "/v1/advertisements", &pt, ad.clone()).await;
        assert_eq!(status, 202, "{v}");
        assert_eq!(
            (v["data"]["status"].as_str(), v["data"]["reason"].as_str()),
            (Some("skipped"), Some("no_consent"))
        );
        let skipped = v["data"]["id"].as_str().unwrap().to_owned();
        assert_eq!(status_of(&s, &pt, &skipped).await["status"], "skipped");
        let mut not_png = ad.clone();
        not_png["picture"] =
            json!(base64::engine::general_purpose::STANDARD.encode(b"GIF89a not a png"));
        let answer = post(&s, "/v1/advertisements", &pt, not_png).await;
        refused(&answer, 400, "VALIDATION_ERROR");
        assert!(answer.2["debugMessage"]
            .as_str()
            .unwrap()
            .contains("picture"));
        activate(&s, &bde, member, "member-pw-1").await;
        let me = login(&s, "max@example.org", "member-pw-1").await;
        let (status, v) = put(
            &s,
            "/v1/me/preferences",
            &me,
            json!({"channels": {"email": true, "sms": false, "push": false}, "low_balance": null, "receipts": false, "advertisements": true}),
        )
        .await;
        assert_eq!(status, 200, "{v}");
        let (status, _, v) = post(&s, "/v1/advertisements", &pt, ad).await;
        assert_eq!(
            (status, v["data"]["status"].as_str()),
            (202, Some("queued")),
            "{v}"
        );
        let advert = v["data"]["id"].as_str().unwrap().to_owned();
        assert!(
            receiver
                .wait(Duration::from_secs(20), |d| d
                    .iter()
                    .any(|d| d.id == advert))
                .await
        );
        let got = receiver
            .deliveries()
            .into_iter()
            .find(|d| d.id == advert)
            .unwrap();
        assert_eq!(got.body["data"]["picture"], png());
        // A picture near the 200 KiB limit fits in the body; one above it is refused, named.
        let mut big = json!({"member": member, "title": "Poster", "message": "Tonight", "channel": "webhook", "picture": big_png(255)});
        let (status, _, v) = post(&s, "/v1/advertisements", &pt, big.clone()).await;
        assert_eq!(
            (status, v["data"]["status"].as_str()),
            (202, Some("queued")),
            "{v}"
        );
        let poster = v["data"]["id"].as_str().unwrap().to_owned();
        big["picture"] = json!(big_png(270));
        let answer = post(&s, "/v1/advertisements", &pt, big).await;
        refused(&answer, 400, "VALIDATION_ERROR");
        assert!(
            answer.2["debugMessage"]
                .as_str()
                .unwrap()
                .contains("at most 204800"),
            "{}",
            answer.2
        );
        assert!(
            !receiver.distinct().contains(&skipped),
            "a skipped message is never sent"
        );

        // Seed 002's dialect: services 1 and 2.
        let (status, _, v) = post(
            &s,
            &format!("/v1/partners/{}/services", partner.id),
            &prez,
            json!({"service_id": 1}),
        )
        .await;
        assert_eq!(status, 201, "{v}");
        let service_token = v["data"]["service_token"].as_str().unwrap().to_owned();
        let (status, headers, v) = post(
            &s,
            "/Services",
            &pt,
            json!({"provider_id": partner.id, "service_token": service_token, "service_id": 1,
                   "parameters": {"destination": member, "notification": {"titulo": "Turno", "mensaje": "Lunes 10h", "canal": "WEBHOOK"}}}),
        )
        .await;
        assert_eq!(status, 202, "{v}");
        let seeded = v["data"]["id"].as_str().unwrap().to_owned();
        assert_eq!(
            headers["location"],
            format!("/v1/notifications/{seeded}").as_str()
        );
        assert!(
            receiver
                .wait(Duration::from_secs(20), |d| d
                    .iter()
                    .any(|d| d.id == seeded))
                .await
        );
        let got = receiver
            .deliveries()
            .into_iter()
            .find(|d| d.id == seeded)
            .unwrap();
        assert_eq!(
            (
                got.body["data"]["title"].as_str(),
                got.body["data"]["message"].as_str()
            ),
            (Some("Turno"), Some("Lunes 10h"))
        );

        // Each sender lists its own; another's message is unknown to it.
        let (status, _, v) = get(&s, "/v1/notifications?per_page=2", &pt).await;
        assert_eq!(status, 200, "{v}");
        assert_eq!(v["data"]["total"], 6);
        assert_eq!(v["data"]["items"][0]["id"], seeded.as_str());
        let third = add_partner(&s.db, "Third", "notifications:send", &[]);
        let third = token(&s, &third).await;
        let (_, _, v) = get(&s, "/v1/notifications", &third).await;
        assert_eq!(v["data"]["total"], 0, "{v}");
        refused(
            &get(&s, &format!("/v1/notifications/{id}"), &third).await,
            404,
            "NOTIFICATION_NOT_FOUND_ERROR",
        );
        assert_eq!(
            status_of(&s, &prez, &id).await["status"],
            "sent",
            "staff 3 see any"
        );

        // The document declares the channels as the server reads them.
        let doc: Value = s
            .client
            .get(format!("{}/v1/openapi.json", s.base))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(
            doc["components"]["schemas"]["ChannelJson"]["enum"],
            json!(["email", "sms", "push", "webhook"]),
            "{}",
            doc["components"]["schemas"]["ChannelJson"]
        );

        // /metrics counts them.
        for sent in [&advert, &seeded, &poster] {
            assert_eq!(settled(&s, &pt, sent, "sent").await["status"], "sent");
        }
        let metrics = s.metrics().await;
        for line in [
            "ardoise_notifications_sent 5",
            "ardoise_notifications_skipped 1",
            "ardoise_notifications_queued 0",
            "ardoise_notifications_failed 0",
            "ardoise_notifications_oldest_queued_age_seconds 0",
        ] {
            assert!(
                metrics.lines().any(|l| l.starts_with(line)),
                "{line}\n{metrics}"
            );
        }
    }
}

/// Queues `count` webhook notifications, 32 requests at a time; their ids.
async fn queue_many(s: &Server, pt: &str, member: i64, count: usize) -> Vec<String> {
    let mut ids = Vec::with_capacity(count);
    for chunk in (0..count).collect::<Vec<_>>().chunks(32) {
        let tasks: Vec<_> = chunk
            .iter()
            .map(|i| {
                let client = s.client.clone();
                let url = format!("{}/v1/notifications", s.base);
                let body = json!({"member": member, "title": format!("n{i}"), "message": "bulk", "channel": "webhook"});
                let pt = pt.to_owned();
                tokio::spawn(async move {
                    let resp = client.post(url).bearer_auth(pt).json(&body).send().await.unwrap();
                    assert_eq!(resp.status(), 202);
                    let v: Value = resp.json().await.unwrap();
                    v["data"]["id"].as_str().unwrap().to_owned()
                })
            })
            .collect();
        for t in tasks {
            ids.push(t.await.unwrap());
        }
    }
    ids
}

#[tokio::test]
async fn a_thousand_queued_messages_survive_a_kill_9_of_the_server() {
    for backend in backends() {
        // A slow receiver (16 deliveries at once, 5 a second each): the server is killed
        // with most messages still to deliver.
        let receiver = Receiver::start(Duration::from_millis(200)).await;
        let env = [ENV[0], ENV[1], ("ARDOISE__NOTIFY__LEASE_SECONDS", "3")];
        let s = Server::start_with(backend, &env);
        let bde = session(&s, "bde").await;
        let member =
            member_with_card(&s, &bde, "Roux", "max@example.org", "04AB00AB01", "5.00").await;
        let (_, pt, _) = provider(&s, &receiver).await;
        let ids = queue_many(&s, &pt, member, 1_000).await;
        assert_eq!(ids.iter().collect::<HashSet<_>>().len(), 1_000);
        assert!(
            receiver
                .wait(Duration::from_secs(30), |d| !d.is_empty())
                .await
        );

        let status = std::process::Command::new("kill")
            .args(["-KILL", &s.pid().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let (db, exit) = s.stop_with_status();
        assert!(exit.is_some_and(|e| !e.success()), "killed: {exit:?}");
        let before = receiver.distinct().len();
        assert!(
            before < 1_000,
            "the kill came before the end ({before} delivered)"
        );

        receiver.set_delay(Duration::from_millis(5));
        let s = Server::serve(db, &env);
        let all: HashSet<String> = ids.iter().cloned().collect();
        let done = receiver
            .wait(Duration::from_secs(180), |d| {
                d.iter().map(|d| &d.id).collect::<HashSet<_>>().len() >= 1_000
            })
            .await;
        let delivered = receiver.distinct();
        assert!(
            done,
            "{} of 1,000 delivered ({before} before the kill)",
            delivered.len()
        );
        assert_eq!(delivered, all, "exactly the queued messages, none lost");
        // Duplicates carry the same id and the same content.
        let mut titles: HashMap<String, Value> = HashMap::new();
        for d in receiver.deliveries() {
            let title = d.body["data"]["title"].clone();
            if let Some(earlier) = titles.insert(d.id.clone(), title.clone()) {
                assert_eq!(earlier, title, "a duplicate of {} differs", d.id);
            }
        }
        eprintln!(
            "{backend:?}: {before} delivered before kill -9, {} deliveries in all for 1,000 messages",
            receiver.deliveries().len()
        );
        // Every message ends `sent`.
        let mut sent = 0;
        for _ in 0..100 {
            let metrics = s.metrics().await;
            sent = metrics
                .lines()
                .find_map(|l| l.strip_prefix("ardoise_notifications_sent "))
                .and_then(|v| v.trim().parse::<u64>().ok())
                .unwrap_or(0);
            if sent == 1_000 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(sent, 1_000);
    }
}

#[tokio::test]
async fn a_message_on_a_channel_the_server_no_longer_configures_is_skipped_at_once() {
    for backend in backends() {
        // Queued while an SMS gateway was configured (a closed port: it stays queued), then
        // the server restarts without one.
        let with_sms = [
            ENV[0],
            ENV[1],
            ("ARDOISE__NOTIFY__SMS__URL", "http://127.0.0.1:9/send"),
        ];
        let s = Server::start_with(backend, &with_sms);
        let bde = session(&s, "bde").await;
        let (status, _, v) = post(
            &s,
            "/v1/members",
            &bde,
            json!({"last_name": "Roux", "mobile": "+33612345678"}),
        )
        .await;
        assert_eq!(status, 201, "{v}");
        let member = v["data"]["id"].as_i64().unwrap();
        let partner = add_partner(&s.db, "Texts", "notifications:send", &[]);
        let pt = token(&s, &partner).await;
        let (status, _, v) = post(
            &s,
            "/v1/notifications",
            &pt,
            json!({"member": member, "title": "Hi", "message": "Your order is ready.", "channel": "sms"}),
        )
        .await;
        assert_eq!(
            (status, v["data"]["status"].as_str()),
            (202, Some("queued")),
            "{v}"
        );
        let id = v["data"]["id"].as_str().unwrap().to_owned();
        let db = s.stop();

        let s = Server::serve(db, &ENV);
        let pt = token(&s, &partner).await;
        let m = settled(&s, &pt, &id, "skipped").await;
        assert_eq!(
            (
                m["status"].as_str(),
                m["reason"].as_str(),
                m["last_error"].as_str()
            ),
            (
                Some("skipped"),
                Some("channel_not_configured"),
                Some("channel_not_configured")
            ),
            "{backend:?}: {m}"
        );
        let metrics = s.metrics().await;
        for line in [
            "ardoise_notifications_skipped 1",
            "ardoise_notifications_queued 0",
            "ardoise_notifications_failed 0",
        ] {
            assert!(
                metrics.lines().any(|l| l.starts_with(line)),
                "{line}\n{metrics}"
            );
        }
    }
}
