//! The members' exchange in the member space (`/me/exchange/...`) over plain HTTP, on each
//! backend: publishing (bad fields said next to them, nothing published), finding by
//! category, kind and words, writing and answering with unread counts, paying through the
//! confirmation page under a one-time key (a resent confirmation pays once), refusals next
//! to the amount, the receipt and both histories, reporting and closing; a third member gets
//! 404 on the others' conversation by every page route; the exchange's volume in the office
//! reports and the Z report (cancelled payments left out) and its lines in the CSV; a
//! suspended member sees why; with `exchange.enabled = false` the pages are gone. The same
//! flow in headless Chromium is in `browser.rs`.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::exchange::{balance, member};
use crate::harness::{assert_invariant, backends, Backend, Server};
use crate::me_web::Browser;
use crate::v1_staff::{call, get, post, session};
use crate::web::{Page, Visitor};

const PASSWORD: &str = "correct horse";

async fn logged_in(s: &Server, name: &str) -> Browser {
    let mut b = Browser::new(s);
    b.member_login(&format!("{}@example.org", name.to_lowercase()), PASSWORD)
        .await;
    b
}

async fn category(s: &Server, prez: &str, name: &str) -> i64 {
    let (status, _, v) = post(s, "/v1/categories", prez, json!({"name": name})).await;
    assert_eq!(status, 201, "{v}");
    v["data"]["id"].as_i64().unwrap()
}

/// A fresh bar with the category "Musique" and two members: Alice (20.00), Bob (30.00).
struct Bar {
    s: Server,
    prez: String,
    music: i64,
    alice: i64,
    bob_token: String,
}

impl Bar {
    async fn start(backend: Backend) -> Bar {
        let s = Server::start(backend);
        let prez = session(&s, "prez").await;
        let bde = session(&s, "bde").await;
        let music = category(&s, &prez, "Musique").await;
        let (alice, _) = member(&s, &bde, "Alice", "A11CE001", "20.00").await;
        let (_, bob_token) = member(&s, &bde, "Bob", "B0B00001", "30.00").await;
        Bar {
            s,
            prez,
            music,
            alice,
            bob_token,
        }
    }
}

/// The number at the end of a path such as `/me/exchange/offers/12?published=1`.
fn id_in(location: &str, prefix: &str) -> i64 {
    let rest = location
        .strip_prefix(prefix)
        .unwrap_or_else(|| panic!("{location} does not start with {prefix}"));
    rest.split(['?', '#', '/'])
        .next()
        .unwrap()
        .parse()
        .unwrap_or_else(|_| panic!("{location}"))
}

/// Whether the field `id` shows an error (its `-error` paragraph).
fn field_error(page: &Page, id: &str) -> bool {
    page.body.contains(&format!("id=\"{id}-error\""))
}

async fn total(s: &Server, token: &str, path: &str) -> i64 {
    let (status, _, v) = get(s, path, token).await;
    assert_eq!(status, 200, "{v}");
    v["data"]["total"].as_i64().unwrap()
}

#[tokio::test]
async fn members_publish_find_talk_and_pay_on_the_pages() {
    for backend in backends() {
        let s = Server::start(backend);
        let prez = session(&s, "prez").await;
        let bde = session(&s, "bde").await;
        let barman = session(&s, "barman").await;
        let music = category(&s, &prez, "Musique").await;
        let garden = category(&s, &prez, "Jardin").await;
        let (alice, alice_token) = member(&s, &bde, "Alice", "A11CE001", "20.00").await;
        let (bob, bob_token) = member(&s, &bde, "Bob", "B0B00001", "30.00").await;
        let (_, carol_token) = member(&s, &bde, "Carol", "CA201001", "5.00").await;
        let mut a = logged_in(&s, "Alice").await;
        let mut b = logged_in(&s, "Bob").await;
        let mut c = logged_in(&s, "Carol").await;

        // The member space links the exchange.
        let me = a.get("/me").await;
        assert!(
            me.body.contains("<a href=\"/me/exchange\">Exchange</a>"),
            "{}",
            me.body
        );
        let home = a.get("/me/exchange").await;
        assert_eq!(home.status, StatusCode::OK, "{}", home.body);
        assert!(home.body.contains(">Publish an offer or a request</a>"));
        assert!(home
            .body
            .contains("<label for=\"f-category\">Category</label>"));
        assert!(home.body.contains("<label for=\"f-words\">Words</label>"));
        assert!(home.body.contains(">Search</button>"));

        // Publishing: bad fields are said next to them and nothing is published.
        let form = a.get("/me/exchange/new").await;
        assert_eq!(form.status, StatusCode::OK);
        assert!(form
            .body
            .contains("<label for=\"o-description\">Description</label>"));
        assert!(form.body.contains(">Musique</option>"));
        assert!(form.body.contains(">Save</button>"));
        let csrf = form.hidden("csrf");
        let music_id = music.to_string();
        let bad = a
            .post(
                "/me/exchange/new",
                &[
                    ("csrf", &csrf),
                    ("kind", "offer"),
                    ("category", &music_id),
                    ("description", "   "),
                    ("wished_from", "2026-12-20"),
                    ("wished_until", "2026-12-10"),
                    ("price", "douze"),
                ],
            )
            .await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
        assert!(field_error(&bad, "o-price"), "{}", bad.body);
        assert!(field_error(&bad, "o-description"), "every error at once");
        let bad = a
            .post(
                "/me/exchange/new",
                &[
                    ("csrf", &csrf),
                    ("kind", "offer"),
                    ("category", &music_id),
                    ("description", "   "),
                    ("price", "15.00"),
                ],
            )
            .await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(field_error(&bad, "o-description"), "{}", bad.body);
        let bad = a
            .post(
                "/me/exchange/new",
                &[
                    ("csrf", &csrf),
                    ("kind", "offer"),
                    ("category", &music_id),
                    ("description", "Cours de guitare"),
                    ("wished_from", "2026-12-20"),
                    ("wished_until", "2026-12-10"),
                ],
            )
            .await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(field_error(&bad, "o-from"), "{}", bad.body);
        // The description typed is kept.
        assert!(bad.body.contains(">Cours de guitare</textarea>"));
        let no_csrf = a
            .post(
                "/me/exchange/new",
                &[
                    ("kind", "offer"),
                    ("category", &music_id),
                    ("description", "x"),
                ],
            )
            .await;
        assert_eq!(no_csrf.status, StatusCode::BAD_REQUEST);
        assert_eq!(total(&s, &alice_token, "/v1/offers").await, 0);

        let done = a
            .post(
                "/me/exchange/new",
                &[
                    ("csrf", &csrf),
                    ("kind", "offer"),
                    ("category", &music_id),
                    ("description", "Cours de guitare pour débutants, le samedi"),
                    ("wished_from", "2026-12-10"),
                    ("wished_until", "2026-12-20"),
                    ("price", "15,00"),
                ],
            )
            .await;
        assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
        let offer = id_in(done.location(), "/me/exchange/offers/");
        let (_, _, v) = get(&s, &format!("/v1/offers/{offer}"), &bob_token).await;
        assert_eq!(v["data"]["price"], "15.00", "{v}");
        assert_eq!(v["data"]["wished_from"], "2026-12-10");
        let mine = a.get(done.location()).await;
        assert!(mine.body.contains("Published"), "{}", mine.body);
        assert!(mine.body.contains(">Edit</a>"));
        assert!(mine.body.contains(">Close</button>"));
        assert!(!mine.body.contains(">Write</button>"));

        // Bob finds it by category, kind and words, and only so.
        let link = format!("href=\"/me/exchange/offers/{offer}\"");
        let found = b
            .get(&format!(
                "/me/exchange?category={music}&kind=offer&q=guitare+SAMEDI"
            ))
            .await;
        assert!(found.body.contains(&link), "{}", found.body);
        assert!(found.body.contains("By Alice"), "{}", found.body);
        for miss in [
            format!("/me/exchange?category={garden}&q=guitare"),
            format!("/me/exchange?category={music}&kind=request"),
            "/me/exchange?q=piano".to_owned(),
        ] {
            let page = b.get(&miss).await;
            assert_eq!(page.status, StatusCode::OK);
            assert!(!page.body.contains(&link), "{miss}: {}", page.body);
        }

        // Bob writes; an empty message is refused next to "Message" and nothing is sent.
        let page = b.get(&format!("/me/exchange/offers/{offer}")).await;
        assert!(page.body.contains("<label for=\"m-text\">Message</label>"));
        assert!(page.body.contains(">Write</button>"));
        assert!(
            page.body.contains(&format!(
                "href=\"/me/exchange/pay?to={alice}&amp;offer={offer}\">Pay Alice</a>"
            )),
            "{}",
            page.body
        );
        assert!(!page.body.contains(">Edit</a>"));
        let bcsrf = page.hidden("csrf");
        let write = format!("/me/exchange/offers/{offer}/write");
        let empty = b.post(&write, &[("csrf", &bcsrf), ("text", " ")]).await;
        assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(field_error(&empty, "m-text"), "{}", empty.body);
        assert_eq!(total(&s, &bob_token, "/v1/conversations").await, 0);
        let sent = b
            .post(
                &write,
                &[("csrf", &bcsrf), ("text", "Bonjour, dispo samedi 12 ?")],
            )
            .await;
        assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.body);
        let conversation = id_in(sent.location(), "/me/exchange/conversations/");
        let here = format!("/me/exchange/conversations/{conversation}");

        // A request: its author is the one who pays, so no "Pay" on its page.
        let (status, _, v) = post(
            &s,
            "/v1/offers",
            &bob_token,
            json!({"kind": "request", "category": music, "description": "Cherche un vélo"}),
        )
        .await;
        assert_eq!(status, 201, "{v}");
        let request = v["data"]["id"].as_i64().unwrap();
        let page = a.get(&format!("/me/exchange/offers/{request}")).await;
        assert!(
            page.body.contains("Request · Cherche un vélo"),
            "{}",
            page.body
        );
        assert!(page.body.contains(">Write</button>"));
        assert!(!page.body.contains("/me/exchange/pay?"), "{}", page.body);

        // Alice sees one unread message, reads it, answers; then Bob has one unread.
        let home = a.get("/me/exchange").await;
        assert!(home.body.contains("1 unread"), "{}", home.body);
        let list = a.get("/me/exchange/conversations").await;
        assert!(list.body.contains("Conversation with Bob"), "{}", list.body);
        assert!(list.body.contains("1 unread"));
        let read = a.get(&here).await;
        assert_eq!(read.status, StatusCode::OK);
        assert!(read.body.contains("Bonjour, dispo samedi 12 ?"));
        assert!(read.body.contains(">Send</button>"));
        let list = a.get("/me/exchange/conversations").await;
        assert!(!list.body.contains("unread"), "{}", list.body);
        let answered = a
            .post(&here, &[("csrf", &csrf), ("text", "Oui, à 15 h.")])
            .await;
        assert_eq!(answered.status, StatusCode::SEE_OTHER, "{}", answered.body);
        let list = b.get("/me/exchange/conversations").await;
        assert!(list.body.contains("Conversation with Alice"));
        assert!(list.body.contains("1 unread"), "{}", list.body);
        let read = b.get(&here).await;
        let first = read.body.find("Bonjour, dispo").unwrap();
        let second = read.body.find("Oui, à 15 h.").unwrap();
        assert!(first < second, "oldest first");

        // A third member: 404 by every page route of the conversation, nothing written.
        let ccsrf = c.get("/me/exchange").await.hidden("csrf");
        for path in [
            here.clone(),
            format!("{here}?page=1"),
            format!("{here}/report"),
        ] {
            let page = c.get(&path).await;
            assert_eq!(page.status, StatusCode::NOT_FOUND, "GET {path}");
            assert!(!page.body.contains("Bonjour"), "{}", page.body);
        }
        let page = c.post(&here, &[("csrf", &ccsrf), ("text", "intrus")]).await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "POST {here}");
        let page = c
            .post(
                &format!("{here}/report"),
                &[("csrf", &ccsrf), ("confirm", "yes")],
            )
            .await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "POST report");
        let page = c.get("/me/exchange/conversations/99999").await;
        assert_eq!(page.status, StatusCode::NOT_FOUND);
        assert_eq!(
            total(
                &s,
                &alice_token,
                &format!("/v1/conversations/{conversation}/messages")
            )
            .await,
            2
        );
        assert_eq!(total(&s, &carol_token, "/v1/conversations").await, 0);
        // Nor may she edit or close Alice's offer.
        let page = c.get(&format!("/me/exchange/offers/{offer}/edit")).await;
        assert_eq!(page.status, StatusCode::FORBIDDEN);
        // Whatever she types: a bad price is not an answer about Alice's form.
        let page = c
            .post(
                &format!("/me/exchange/offers/{offer}/edit"),
                &[("csrf", &ccsrf), ("kind", "offer"), ("price", "abc")],
            )
            .await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{}", page.body);
        let page = c
            .post(
                &format!("/me/exchange/offers/{offer}/close"),
                &[("csrf", &ccsrf), ("confirm", "yes")],
            )
            .await;
        assert_eq!(page.status, StatusCode::FORBIDDEN);

        // Bob pays Alice: the form (the offer's price), the confirmation, the receipt.
        let form = b
            .get(&format!("/me/exchange/pay?to={alice}&offer={offer}"))
            .await;
        assert_eq!(form.status, StatusCode::OK, "{}", form.body);
        assert!(form.body.contains("<h1>Pay Alice</h1>"));
        assert!(form.body.contains("<label for=\"p-amount\">Amount</label>"));
        assert!(form.body.contains("<label for=\"p-note\">Note</label>"));
        assert_eq!(form.hidden("amount"), "15.00");
        let key = form.hidden("key");
        assert!(key.len() >= 16);
        let to = alice.to_string();
        let offer_id = offer.to_string();
        let bad = b
            .post(
                "/me/exchange/pay",
                &[
                    ("csrf", &bcsrf),
                    ("to", &to),
                    ("offer", &offer_id),
                    ("amount", "-3"),
                    ("key", &key),
                ],
            )
            .await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(field_error(&bad, "p-amount"), "{}", bad.body);
        let confirm = b
            .post(
                "/me/exchange/pay",
                &[
                    ("csrf", &bcsrf),
                    ("to", &to),
                    ("offer", &offer_id),
                    ("amount", "15.00"),
                    ("note", "Cours du 12"),
                    ("key", &key),
                ],
            )
            .await;
        assert_eq!(confirm.status, StatusCode::OK, "{}", confirm.body);
        assert!(confirm.body.contains(">Confirm the payment</button>"));
        assert!(confirm
            .body
            .contains("aria-label=\"Amount\">15.00 €</output>"));
        assert_eq!(confirm.hidden("key"), key);
        // Nothing is paid before the confirmation.
        assert_eq!(balance(&s, &barman, "B0B00001").await, "30.00");
        let confirmed: Vec<(String, String)> = [
            "csrf",
            "to",
            "amount",
            "note",
            "offer",
            "from_card",
            "key",
            "confirm",
        ]
        .iter()
        .map(|n| ((*n).to_owned(), confirm.hidden(n)))
        .collect();
        let fields: Vec<(&str, &str)> = confirmed
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let paid = b.post("/me/exchange/pay", &fields).await;
        assert_eq!(paid.status, StatusCode::SEE_OTHER, "{}", paid.body);
        let receipt = paid.location().to_owned();
        let transfer = id_in(&receipt, "/me/exchange/transfers/");
        // A double submit (or a reload of the confirmation) pays once: the same receipt.
        let again = b.post("/me/exchange/pay", &fields).await;
        assert_eq!(again.status, StatusCode::SEE_OTHER, "{}", again.body);
        assert_eq!(again.location(), receipt);
        assert_eq!(balance(&s, &barman, "B0B00001").await, "15.00");
        assert_eq!(balance(&s, &barman, "A11CE001").await, "35.00");
        let page = b.get(&receipt).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(
            page.body
                .contains("aria-label=\"Amount\">-15.00 €</output>"),
            "{}",
            page.body
        );
        assert_eq!(page.balance().as_deref(), Some("15.00 €"));
        assert!(page.body.contains("Cours du 12"));
        let page = a.get(&receipt).await;
        assert!(page.body.contains("Received"), "{}", page.body);
        assert_eq!(page.balance().as_deref(), Some("35.00 €"));
        assert_eq!(c.get(&receipt).await.status, StatusCode::NOT_FOUND);

        // Too much: said next to the amount with what is missing; nothing moves.
        let form = b.get(&format!("/me/exchange/pay?to={alice}")).await;
        let key2 = form.hidden("key");
        let refused = b
            .post(
                "/me/exchange/pay",
                &[
                    ("csrf", &bcsrf),
                    ("to", &to),
                    ("amount", "100.00"),
                    ("key", &key2),
                    ("confirm", "yes"),
                ],
            )
            .await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(field_error(&refused, "p-amount"), "{}", refused.body);
        assert!(refused.body.contains("85.00 € missing"), "{}", refused.body);
        // Paying oneself: said above the form.
        let me_too = b
            .post(
                "/me/exchange/pay",
                &[
                    ("csrf", &bcsrf),
                    ("to", &bob.to_string()),
                    ("amount", "1.00"),
                    ("key", "self-1"),
                    ("confirm", "yes"),
                ],
            )
            .await;
        assert_eq!(me_too.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(me_too.body.contains("You cannot pay yourself."));
        assert_eq!(balance(&s, &barman, "B0B00001").await, "15.00");

        // Both histories show it.
        let history = b.get("/me").await;
        assert!(history.body.contains("Transfer"), "{}", history.body);
        assert!(history.body.contains("-15.00 €"));
        let history = a.get("/me/cards/A11CE001").await;
        assert!(history.body.contains("Transfer"));

        // A second payment, cancelled by a moderator: left out of the reports.
        let (status, _, v) = call(
            &s,
            reqwest::Method::POST,
            "/v1/transfers",
            Some(&bob_token),
            Some(json!({"to": alice, "amount": "2.50"})),
            &[],
        )
        .await;
        assert_eq!(status, 201, "{v}");
        let second = v["data"]["transfer"].as_i64().unwrap();
        let (status, _, v) = post(
            &s,
            &format!("/v1/transfers/{second}/cancel"),
            &prez,
            Value::Null,
        )
        .await;
        assert_eq!(status, 200, "{v}");
        let mut office = Visitor::new(&s);
        office.log_in("barman").await;
        let report = office.get("/office/reports").await;
        assert_eq!(report.status, StatusCode::OK, "{}", report.body);
        assert!(
            report.body.contains("<h2>Members' exchange</h2>"),
            "{}",
            report.body
        );
        assert!(
            report
                .body
                .contains("<dt>Payments between members</dt><dd>15.00 € · 1</dd>"),
            "{}",
            report.body
        );
        let z = office.get("/office/reports/z").await;
        assert!(z
            .body
            .contains("<dt>Payments between members</dt><dd>15.00 € · 1</dd>"));
        // The CSV carries both sides of each payment, the cancelled one as such.
        let csv = office.get("/office/reports/csv").await;
        let lines: Vec<&str> = csv.body.lines().collect();
        let out = lines
            .iter()
            .filter(|l| l.contains(",transfer_out,"))
            .count();
        let inn = lines.iter().filter(|l| l.contains(",transfer_in,")).count();
        assert_eq!((out, inn), (2, 2), "{}", csv.body);
        assert!(lines
            .iter()
            .any(|l| l.starts_with(&format!("{transfer},")) && l.contains(",15.00,")));

        // Reporting: a confirmation page, then the conversation says so.
        let ask = b.get(&format!("{here}/report")).await;
        assert_eq!(ask.status, StatusCode::OK);
        assert!(ask.body.contains(">Report the conversation</button>"));
        let done = b
            .post(
                &format!("{here}/report"),
                &[("csrf", &bcsrf), ("confirm", "yes")],
            )
            .await;
        assert_eq!(done.status, StatusCode::SEE_OTHER);
        let page = b.get(done.location()).await;
        assert!(
            page.body.contains("reported to the moderators"),
            "{}",
            page.body
        );

        // Alice edits her offer: the form holds its values; a bad price changes nothing.
        let edit = format!("/me/exchange/offers/{offer}/edit");
        let form = a.get(&edit).await;
        assert_eq!(form.status, StatusCode::OK);
        assert!(form.body.contains("value=\"15.00\""), "{}", form.body);
        assert!(form
            .body
            .contains(">Cours de guitare pour débutants, le samedi</textarea>"));
        let fields = |price: &'static str| {
            vec![
                ("csrf", csrf.clone()),
                ("kind", "offer".to_owned()),
                ("category", music_id.clone()),
                ("description", "Cours de guitare, le samedi".to_owned()),
                ("price", price.to_owned()),
            ]
        };
        let pairs = fields("abc");
        let form: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let bad = a.post(&edit, &form).await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(field_error(&bad, "o-price"), "{}", bad.body);
        let (_, _, v) = get(&s, &format!("/v1/offers/{offer}"), &bob_token).await;
        assert_eq!(v["data"]["price"], "15.00", "{v}");
        let pairs = fields("18.00");
        let form: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let done = a.post(&edit, &form).await;
        assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
        assert_eq!(
            done.location(),
            format!("/me/exchange/offers/{offer}?edited=1")
        );
        let (_, _, v) = get(&s, &format!("/v1/offers/{offer}"), &bob_token).await;
        assert_eq!(v["data"]["price"], "18.00", "{v}");
        assert_eq!(v["data"]["description"], "Cours de guitare, le samedi");

        // Alice closes her offer (after a confirmation page): it leaves the list.
        let ask = a.get(&format!("/me/exchange/offers/{offer}/close")).await;
        assert!(ask.body.contains(">Close the offer</button>"));
        let done = a
            .post(
                &format!("/me/exchange/offers/{offer}/close"),
                &[("csrf", &csrf), ("confirm", "yes")],
            )
            .await;
        assert_eq!(done.status, StatusCode::SEE_OTHER);
        let page = b.get("/me/exchange?q=guitare").await;
        assert!(!page.body.contains(&link));

        let pos = s.login("prez").await;
        assert_invariant(&s, &pos).await;
    }
}

#[tokio::test]
async fn a_suspended_member_sees_why_and_a_switched_off_exchange_is_gone() {
    for backend in backends() {
        let Bar {
            s,
            prez,
            music,
            alice,
            bob_token,
            ..
        } = Bar::start(backend).await;
        let (status, _, v) = call(
            &s,
            reqwest::Method::PUT,
            &format!("/v1/members/{alice}/exchange-suspension"),
            Some(&prez),
            None,
            &[],
        )
        .await;
        assert_eq!(status, 204, "{v}");
        let mut a = logged_in(&s, "Alice").await;
        let home = a.get("/me/exchange").await;
        assert_eq!(home.status, StatusCode::OK);
        assert!(
            home.body.contains("suspended you from the exchange"),
            "{}",
            home.body
        );
        assert!(!home.body.contains(">Publish an offer or a request</a>"));
        let csrf = home.hidden("csrf");
        let refused = a
            .post(
                "/me/exchange/new",
                &[
                    ("csrf", &csrf),
                    ("kind", "offer"),
                    ("category", &music.to_string()),
                    ("description", "Cours de guitare"),
                ],
            )
            .await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN);
        assert!(refused.body.contains("suspended you from the exchange"));
        assert_eq!(total(&s, &bob_token, "/v1/offers").await, 0);
        drop(s);

        let s = Server::start_with(backend, &[("ARDOISE__EXCHANGE__ENABLED", "false")]);
        let bde = session(&s, "bde").await;
        member(&s, &bde, "Alice", "A11CE001", "20.00").await;
        let mut a = logged_in(&s, "Alice").await;
        let me = a.get("/me").await;
        assert_eq!(me.status, StatusCode::OK);
        assert!(!me.body.contains("/me/exchange"), "{}", me.body);
        for path in [
            "/me/exchange",
            "/me/exchange/new",
            "/me/exchange/conversations",
            "/me/exchange/pay?to=1",
        ] {
            assert_eq!(a.get(path).await.status, StatusCode::NOT_FOUND, "{path}");
        }
        let mut office = Visitor::new(&s);
        office.log_in("barman").await;
        let report = office.get("/office/reports").await;
        assert!(!report.body.contains("Members' exchange"));
    }
}

#[tokio::test]
async fn long_lists_and_conversations_are_paged_and_read() {
    for backend in backends() {
        let Bar {
            s,
            music,
            alice,
            bob_token,
            ..
        } = Bar::start(backend).await;
        let (status, _, v) = post(
            &s,
            "/v1/conversations",
            &bob_token,
            json!({"with": alice, "text": "message 1"}),
        )
        .await;
        assert_eq!(status, 201, "{v}");
        let id = v["data"]["conversation"].as_i64().unwrap();
        for n in 2..=55 {
            let (status, _, v) = post(
                &s,
                &format!("/v1/conversations/{id}/messages"),
                &bob_token,
                json!({"text": format!("message {n}")}),
            )
            .await;
            assert_eq!(status, 201, "{v}");
        }
        let mut a = logged_in(&s, "Alice").await;
        let list = a.get("/me/exchange/conversations").await;
        assert!(list.body.contains("55 unread"), "{}", list.body);
        let here = format!("/me/exchange/conversations/{id}");
        let latest = a.get(&here).await;
        assert_eq!(latest.status, StatusCode::OK);
        assert!(latest.body.contains("message 55<"), "{}", latest.body);
        assert!(latest.body.contains("message 51<"));
        assert!(!latest.body.contains("message 50<"));
        assert!(latest
            .body
            .contains(&format!("<a href=\"{here}?page=1\">Earlier messages</a>")));
        let list = a.get("/me/exchange/conversations").await;
        assert!(!list.body.contains("unread"), "{}", list.body);
        let earlier = a.get(&format!("{here}?page=1")).await;
        assert!(earlier.body.contains("message 1<"));
        assert!(earlier.body.contains("message 50<"));
        assert!(!earlier.body.contains("message 51<"));
        assert!(earlier
            .body
            .contains(&format!("<a href=\"{here}?page=2\">Later messages</a>")));
        assert_eq!(
            a.get(&format!("{here}?page=0")).await.status,
            StatusCode::NOT_FOUND
        );
        // The offers list, 20 a page, newest first.
        for n in 1..=21 {
            let (status, _, v) = post(
                &s,
                "/v1/offers",
                &bob_token,
                json!({"kind": "offer", "category": music, "description": format!("offre numéro {n}")}),
            )
            .await;
            assert_eq!(status, 201, "{v}");
        }
        let first = a.get("/me/exchange?q=offre").await;
        assert!(
            first.body.contains(">offre numéro 21</a>"),
            "{}",
            first.body
        );
        assert!(first.body.contains(">offre numéro 2</a>"));
        assert!(!first.body.contains(">offre numéro 1</a>"));
        assert!(
            first.body.contains(
                "<a href=\"/me/exchange?category=&amp;kind=&amp;q=offre&amp;page=2\">Older</a>"
            ),
            "{}",
            first.body
        );
        let second = a.get("/me/exchange?category=&kind=&q=offre&page=2").await;
        assert!(
            second.body.contains(">offre numéro 1</a>"),
            "{}",
            second.body
        );
        assert!(!second.body.contains(">offre numéro 2</a>"));

        // In French.
        a.lang = "fr";
        let page = a.get(&here).await;
        assert!(
            page.body.contains("<h1>Conversation avec Bob</h1>"),
            "{}",
            page.body
        );
        assert!(page.body.contains("<label for=\"m-text\">Message</label>"));
        assert!(page.body.contains(">Envoyer</button>"));
        let page = a.get("/me/exchange").await;
        assert!(page.body.contains(">Publier une offre ou une demande</a>"));
        assert!(page
            .body
            .contains("<a href=\"/me/exchange\" aria-current=\"page\">Échange</a>"));
    }
}
