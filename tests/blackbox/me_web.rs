//! The members' web space (`/me/...`) over plain HTTP, without a browser, on each backend:
//! the invitation link's page sets the password, the member logs in, sees their cards and
//! history, declares a card lost with a confirmation (the POS then refuses it), saves their
//! preferences, downloads their data and deletes their account (profile anonymised, ledger
//! unchanged, invariant 1); members never see each other's data by any address, a staff
//! session never opens the member space and a member session never opens the staff pages.
//! The same flow in headless Chromium is in `browser.rs`.

use std::collections::BTreeMap;

use reqwest::header::{ACCEPT_LANGUAGE, CONTENT_TYPE, COOKIE, ORIGIN, SET_COOKIE};
use reqwest::{redirect, StatusCode};
use serde_json::{json, Value};

use crate::harness::{assert_invariant, backends, serde_urlencoded, Server};
use crate::v1_me::{login as api_login, member_with_card};
use crate::v1_staff::{get, post, session};
use crate::web::Page;

/// A browser-like client that follows no redirect and keeps its cookies by hand.
pub struct Browser {
    base: String,
    http: reqwest::Client,
    pub cookies: BTreeMap<String, String>,
    pub lang: &'static str,
}

impl Browser {
    pub fn new(server: &Server) -> Browser {
        Browser {
            base: server.base.clone(),
            http: reqwest::Client::builder()
                .redirect(redirect::Policy::none())
                .build()
                .unwrap(),
            cookies: BTreeMap::new(),
            lang: "en",
        }
    }

    fn cookie_header(&self) -> Option<String> {
        (!self.cookies.is_empty()).then(|| {
            self.cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("; ")
        })
    }

    async fn answer(&mut self, resp: reqwest::Response) -> Page {
        let status = resp.status();
        let headers = resp.headers().clone();
        for set in headers.get_all(SET_COOKIE) {
            let text = set.to_str().unwrap();
            let pair = text.split(';').next().unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            if value.is_empty() {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
        }
        let body = resp.text().await.unwrap();
        Page {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&mut self, path: &str) -> Page {
        let mut req = self
            .http
            .get(format!("{}{path}", self.base))
            .header(ACCEPT_LANGUAGE, self.lang);
        if let Some(c) = self.cookie_header() {
            req = req.header(COOKIE, c);
        }
        let resp = req.send().await.unwrap();
        self.answer(resp).await
    }

    pub async fn post_with(&mut self, path: &str, form: &[(&str, &str)], origin: &str) -> Page {
        let mut req = self
            .http
            .post(format!("{}{path}", self.base))
            .header(ACCEPT_LANGUAGE, self.lang)
            .header(ORIGIN, origin)
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(serde_urlencoded(form));
        if let Some(c) = self.cookie_header() {
            req = req.header(COOKIE, c);
        }
        let resp = req.send().await.unwrap();
        self.answer(resp).await
    }

    pub async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        let origin = self.base.clone();
        self.post_with(path, form, &origin).await
    }

    /// Logs a member in through `/me/login`; the answer must send to `/me`.
    pub async fn member_login(&mut self, email: &str, password: &str) {
        let page = self
            .post(
                "/me/login",
                &[("email", email), ("password", password), ("next", "/me")],
            )
            .await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
        assert_eq!(page.location(), "/me");
        assert!(self.cookies.contains_key("ardoise_member_session"));
    }
}

/// The path of an invitation link (`https://host/me/welcome/TOKEN` → `/me/welcome/TOKEN`).
fn path_of(link: &str) -> String {
    let at = link
        .find("/me/welcome/")
        .unwrap_or_else(|| panic!("{link}"));
    link[at..].to_owned()
}

/// Staff invite member `id`; the link.
async fn invite(s: &Server, staff: &str, id: i64) -> String {
    let (status, _, v) = post(
        s,
        &format!("/v1/members/{id}/invitation"),
        staff,
        Value::Null,
    )
    .await;
    assert_eq!(status, 201, "{v}");
    v["data"]["link"].as_str().unwrap().to_owned()
}

/// Invites member `id` and sets `password` through the link's page.
async fn activate_on_the_page(s: &Server, staff: &str, id: i64, password: &str) {
    let link = invite(s, staff, id).await;
    let mut b = Browser::new(s);
    let page = b.post(&path_of(&link), &[("password", password)]).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
}

/// The cents of a `/v1` amount.
fn cents(v: &Value) -> i64 {
    ardoise_domain::Money::parse(v.as_str().unwrap())
        .unwrap()
        .cents()
}

#[tokio::test]
async fn a_member_uses_their_space_from_the_invitation_to_the_deletion() {
    for backend in backends() {
        let s = Server::start(backend);
        let bde = session(&s, "bde").await;
        let barman = session(&s, "barman").await;
        let id =
            member_with_card(&s, &bde, "Durand", "Zoe@Example.org", "04A1B2C3D4", "20.00").await;
        let (status, _, v) = post(
            &s,
            "/v1/cards/04A1B2C3D4/payments",
            &barman,
            json!({"amount": "2.50"}),
        )
        .await;
        assert_eq!(status, 201, "{v}");
        let mut b = Browser::new(&s);

        // Not logged in: to the members' login, then back.
        let page = b.get("/me").await;
        assert_eq!(page.status, StatusCode::SEE_OTHER);
        assert_eq!(page.location(), "/me/login?next=/me");
        let page = b.get("/me/login?next=/me").await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.body.contains("<label for=\"email\">E-mail</label>"));
        assert!(page
            .body
            .contains("<label for=\"password\">Password</label>"));
        assert!(page.body.contains(">Log in</button>"));

        // The invitation's page: "Password" and "Save"; a short password keeps the link.
        let link = invite(&s, &bde, id).await;
        assert!(
            link.starts_with(&format!("{}/me/welcome/", s.base)),
            "{link}"
        );
        let welcome = path_of(&link);
        let page = b.get(&welcome).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page
            .body
            .contains("<label for=\"password\">Password</label>"));
        assert!(page.body.contains(">Save</button>"));
        assert_eq!(page.headers["referrer-policy"], "same-origin");
        let short = b.post(&welcome, &[("password", "short")]).await;
        assert_eq!(short.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            short.body.contains("at least 8 characters"),
            "{}",
            short.body
        );
        // From another site: refused, and the link stays usable.
        let forged = b
            .post_with(
                &welcome,
                &[("password", "evil horse battery")],
                "https://evil.example",
            )
            .await;
        assert_eq!(forged.status, StatusCode::BAD_REQUEST);
        let done = b.post(&welcome, &[("password", "correct horse")]).await;
        assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
        assert_eq!(done.location(), "/me/login?welcome=1");
        let page = b.get("/me/login?welcome=1").await;
        assert!(
            page.body.contains("Your password is saved"),
            "{}",
            page.body
        );
        // Used once.
        let again = b.post(&welcome, &[("password", "another horse")]).await;
        assert_eq!(again.status, StatusCode::BAD_REQUEST);
        assert!(
            again.body.contains("already used or has expired"),
            "{}",
            again.body
        );

        // A wrong password: an alert, the address kept, no cookie.
        let wrong = b
            .post(
                "/me/login",
                &[("email", "zoe@example.org"), ("password", "wrong horse")],
            )
            .await;
        assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
        assert!(wrong.body.contains("role=\"alert\""));
        assert!(wrong.body.contains("Wrong e-mail or password."));
        assert!(wrong.body.contains("value=\"zoe@example.org\""));
        assert!(b.cookies.is_empty());
        // The old password of a link that was not used: nothing. The right one: the space.
        let ok = b
            .post(
                "/me/login",
                &[
                    ("email", "ZOE@example.org"),
                    ("password", "correct horse"),
                    ("next", "/me"),
                ],
            )
            .await;
        assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
        assert_eq!(ok.location(), "/me");
        let set_cookie = ok.headers[SET_COOKIE].to_str().unwrap();
        assert!(
            set_cookie.starts_with("ardoise_member_session="),
            "{set_cookie}"
        );
        assert!(set_cookie.contains("HttpOnly"), "{set_cookie}");
        assert!(set_cookie.contains("SameSite=Strict"), "{set_cookie}");
        // An open redirect is refused: a foreign `next` goes to /me.
        let mut other = Browser::new(&s);
        let page = other
            .post(
                "/me/login",
                &[
                    ("email", "zoe@example.org"),
                    ("password", "correct horse"),
                    ("next", "//evil.example/"),
                ],
            )
            .await;
        assert_eq!(page.location(), "/me");

        // The space: cards with their balance, history, preferences, data.
        let me = b.get("/me").await;
        assert_eq!(me.status, StatusCode::OK, "{}", me.body);
        assert_eq!(me.headers["cache-control"], "no-store");
        for text in [
            ">My cards</h2>",
            ">History</h2>",
            ">Preferences</h2>",
            "04A1B2C3D4",
            "aria-label=\"Balance\">17.50 €</output>",
            "Payment",
            "-2.50 €",
            "Opening",
            "20.00 €",
            "aria-describedby=\"card-04A1B2C3D4\">Declare lost</button>",
            ">E-mail</label>",
            ">SMS</label>",
            ">Advertisements</label>",
            ">Low balance alert</label>",
            ">Log out</button>",
            ">Download my data</a>",
            ">Delete my account</button>",
            "Durand",
        ] {
            assert!(me.body.contains(text), "{text} missing from {}", me.body);
        }
        // The association's notes are not shown in the space.
        assert!(!me.body.contains("paid in cash"));
        assert_eq!(me.balance().as_deref(), Some("17.50 €"));
        // The defaults: e-mail ticked, the rest not.
        assert!(
            me.body
                .contains("id=\"p-email\" type=\"checkbox\" name=\"email\" value=\"on\" checked"),
            "{}",
            me.body
        );
        assert!(!me.body.contains("name=\"sms\" value=\"on\" checked"));
        assert!(!me
            .body
            .contains("name=\"advertisements\" value=\"on\" checked"));

        // A card's whole history.
        let history = b.get("/me/cards/04A1B2C3D4").await;
        assert_eq!(history.status, StatusCode::OK);
        assert!(history.body.contains("-2.50 €") && history.body.contains("20.00 €"));

        // Preferences: a bad amount is said next to its field and nothing is saved.
        let csrf = me.hidden("csrf");
        let bad = b
            .post(
                "/me/preferences",
                &[("csrf", &csrf), ("sms", "on"), ("low_balance", "five")],
            )
            .await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(bad.body.contains("id=\"p-low-error\""), "{}", bad.body);
        assert!(bad.body.contains("value=\"five\""));
        let token = api_login(&s, "zoe@example.org", "correct horse").await;
        let (_, _, v) = get(&s, "/v1/me/preferences", &token).await;
        assert_eq!(v["data"]["channels"]["sms"], false, "{v}");
        // Without the CSRF token: refused.
        let forged = b
            .post("/me/preferences", &[("sms", "on"), ("low_balance", "5")])
            .await;
        assert_eq!(forged.status, StatusCode::BAD_REQUEST);
        let saved = b
            .post(
                "/me/preferences",
                &[
                    ("csrf", &csrf),
                    ("sms", "on"),
                    ("advertisements", "on"),
                    ("low_balance", "5,5"),
                ],
            )
            .await;
        assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
        let (_, _, v) = get(&s, "/v1/me/preferences", &token).await;
        assert_eq!(
            v["data"],
            json!({"channels": {"email": false, "sms": true, "push": false}, "low_balance": "5.50", "receipts": false, "advertisements": true})
        );
        let me = b.get("/me?saved=1").await;
        assert!(me.body.contains("Preferences saved."));
        assert!(me.body.contains("name=\"sms\" value=\"on\" checked"));
        assert!(
            me.body.contains("name=\"low_balance\" value=\"5.50\""),
            "{}",
            me.body
        );

        // Declare lost: a confirmation first; without it, nothing changes.
        let confirm = b.get("/me/cards/04A1B2C3D4/lost").await;
        assert_eq!(confirm.status, StatusCode::OK);
        assert!(confirm.body.contains("Declare this card lost?"));
        assert!(confirm.body.contains(">Declare lost</button>"));
        let unconfirmed = b
            .post("/me/cards/04A1B2C3D4/lost", &[("csrf", &csrf)])
            .await;
        assert_eq!(unconfirmed.location(), "/me/cards/04A1B2C3D4/lost");
        let (_, _, v) = get(&s, "/v1/cards/04A1B2C3D4", &barman).await;
        assert_eq!(v["data"]["status"], "active", "{v}");
        let lost = b
            .post(
                "/me/cards/04A1B2C3D4/lost",
                &[("csrf", &confirm.hidden("csrf")), ("confirm", "yes")],
            )
            .await;
        assert_eq!(lost.status, StatusCode::SEE_OTHER, "{}", lost.body);
        assert_eq!(lost.location(), "/me?lost=1");
        let me = b.get("/me?lost=1").await;
        assert!(me.body.contains("declared lost"), "{}", me.body);
        assert!(me.body.contains(">lost</span>"), "{}", me.body);
        assert!(!me.body.contains(">Declare lost</button>"));
        let pos = s.login("barman").await;
        let v = s
            .api(
                "client/payer",
                &[("jeton", &pos), ("idCarte", "04A1B2C3D4"), ("montant", "1")],
            )
            .await;
        assert_eq!(v["status"], "carte_bloquee", "{v}");

        // The data: the same document as GET /v1/me/export.
        let export = b.get("/me/export").await;
        assert_eq!(export.status, StatusCode::OK);
        assert!(export.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json"));
        assert_eq!(
            export.headers["content-disposition"],
            "attachment; filename=\"ardoise-my-data.json\""
        );
        let mut mine: Value = serde_json::from_str(&export.body).unwrap();
        let (_, _, v) = get(&s, "/v1/me/export", &token).await;
        let mut api = v["data"].clone();
        mine["exported_at"] = Value::Null;
        api["exported_at"] = Value::Null;
        assert_eq!(mine, api);
        assert_eq!(mine["profile"]["email"], "Zoe@example.org");
        assert_eq!(mine["notes"], "paid in cash");
        assert_eq!(
            mine["cards"][0]["transactions"].as_array().unwrap().len(),
            2
        );

        // Log out: the cookie goes, the session ends.
        let old = b.cookies["ardoise_member_session"].clone();
        let out = b.post("/me/logout", &[("csrf", &csrf)]).await;
        assert_eq!(out.status, StatusCode::SEE_OTHER);
        assert_eq!(out.location(), "/me/login");
        assert!(!b.cookies.contains_key("ardoise_member_session"));
        b.cookies
            .insert("ardoise_member_session".into(), old.clone());
        let page = b.get("/me").await;
        assert_eq!(page.location(), "/me/login?next=/me&expired=1");

        // Deletion: a confirmation, then the profile is anonymised, the ledger kept.
        b.cookies.clear();
        b.member_login("zoe@example.org", "correct horse").await;
        let (_, _, before) = get(&s, "/v1/cards/04A1B2C3D4", &barman).await;
        let confirm = b.get("/me/delete").await;
        assert_eq!(confirm.status, StatusCode::OK);
        assert!(confirm.body.contains("Delete your account?"));
        let gone = b
            .post(
                "/me/delete",
                &[("csrf", &confirm.hidden("csrf")), ("confirm", "yes")],
            )
            .await;
        assert_eq!(gone.status, StatusCode::SEE_OTHER, "{}", gone.body);
        assert_eq!(gone.location(), "/me/login?deleted=1");
        assert!(b.cookies.is_empty());
        let page = b.get("/me/login?deleted=1").await;
        assert!(page.body.contains("Your account is deleted."));
        let (_, _, v) = get(&s, &format!("/v1/members/{id}"), &bde).await;
        assert_eq!(v["data"]["display_name"], "deleted member", "{v}");
        assert_eq!(v["data"]["email"], Value::Null, "{v}");
        assert_eq!(v["data"]["last_name"], Value::Null, "{v}");
        let (_, _, after) = get(&s, "/v1/cards/04A1B2C3D4", &barman).await;
        assert_eq!(cents(&after["data"]["balance"]), 1750);
        assert_eq!(before["data"]["balance"], after["data"]["balance"]);
        // The old token opens nothing, the login neither.
        let (status, _, _) = get(&s, "/v1/me", &token).await;
        assert_eq!(status, 401);
        let refused = b
            .post(
                "/me/login",
                &[("email", "zoe@example.org"), ("password", "correct horse")],
            )
            .await;
        assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
        assert_invariant(&s, &pos).await;
    }
}

#[tokio::test]
async fn members_never_see_each_other_and_staff_and_members_keep_to_their_pages() {
    for backend in backends() {
        let s = Server::start(backend);
        let bde = session(&s, "bde").await;
        let prez = session(&s, "prez").await;
        let alice =
            member_with_card(&s, &bde, "Alpha", "alice@example.org", "0A0A0A0A", "10").await;
        let bob = member_with_card(&s, &bde, "Bravo", "bob@example.org", "0B0B0B0B", "30").await;
        activate_on_the_page(&s, &bde, alice, "alice password").await;
        activate_on_the_page(&s, &bde, bob, "bob password").await;
        let mut a = Browser::new(&s);
        a.member_login("alice@example.org", "alice password").await;

        // Alice's space names none of Bob's data.
        let me = a.get("/me").await;
        assert!(me.body.contains("0A0A0A0A") && me.body.contains("Alpha"));
        assert!(!me.body.contains("0B0B0B0B") && !me.body.contains("Bravo"));
        assert!(!me.body.contains("30.00"));
        let csrf = me.hidden("csrf");
        // Bob's card, an unknown card and garbage: the same 404 page, by every address.
        for card in ["0B0B0B0B", "0C0C0C0C", "not%20a%20card"] {
            for path in [
                format!("/me/cards/{card}"),
                format!("/me/cards/{card}/lost"),
            ] {
                let page = a.get(&path).await;
                assert_eq!(page.status, StatusCode::NOT_FOUND, "{path}");
                assert!(!page.body.contains("30.00"), "{path}");
                assert!(page.body.contains("Page not found"), "{path}");
            }
            let page = a
                .post(
                    &format!("/me/cards/{card}/lost"),
                    &[("csrf", &csrf), ("confirm", "yes")],
                )
                .await;
            assert_eq!(page.status, StatusCode::NOT_FOUND, "{card}");
        }
        let (_, _, v) = get(&s, "/v1/cards/0B0B0B0B", &prez).await;
        assert_eq!(v["data"]["status"], "active", "{v}");
        let export: Value = serde_json::from_str(&a.get("/me/export").await.body).unwrap();
        assert_eq!(export["profile"]["id"], alice);
        assert!(!export.to_string().contains("0B0B0B0B"));
        // Alice's preferences are hers: Bob's stay the defaults.
        let saved = a
            .post("/me/preferences", &[("csrf", &csrf), ("sms", "on")])
            .await;
        assert_eq!(saved.status, StatusCode::SEE_OTHER);
        let bob_token = api_login(&s, "bob@example.org", "bob password").await;
        let (_, _, v) = get(&s, "/v1/me/preferences", &bob_token).await;
        assert_eq!(v["data"]["channels"]["sms"], false, "{v}");
        // A POST from another site, or with Bob's session's token, is refused.
        let mut b = Browser::new(&s);
        b.member_login("bob@example.org", "bob password").await;
        let bob_csrf = b.get("/me").await.hidden("csrf");
        let forged = a
            .post("/me/preferences", &[("csrf", &bob_csrf), ("push", "on")])
            .await;
        assert_eq!(forged.status, StatusCode::BAD_REQUEST);
        let forged = a
            .post_with(
                "/me/preferences",
                &[("csrf", &csrf), ("push", "on")],
                "https://evil.example",
            )
            .await;
        assert_eq!(forged.status, StatusCode::BAD_REQUEST);
        let alice_token = api_login(&s, "alice@example.org", "alice password").await;
        let (_, _, v) = get(&s, "/v1/me/preferences", &alice_token).await;
        assert_eq!(v["data"]["channels"]["push"], false, "{v}");

        // A staff session opens no member page, even in the member cookie.
        let mut staff = Browser::new(&s);
        let page = staff
            .post(
                "/login",
                &[
                    ("login", "prez"),
                    ("password", "secret-pw"),
                    ("next", "/till"),
                ],
            )
            .await;
        assert_eq!(page.status, StatusCode::SEE_OTHER);
        assert!(staff.cookies.contains_key("ardoise_session"));
        for path in ["/me", "/me/export", "/me/cards/0A0A0A0A", "/me/delete"] {
            let page = staff.get(path).await;
            assert_eq!(page.status, StatusCode::SEE_OTHER, "{path}");
            assert!(page.location().starts_with("/me/login?next="), "{path}");
        }
        let staff_token = staff.cookies["ardoise_session"].clone();
        staff
            .cookies
            .insert("ardoise_member_session".into(), staff_token);
        let page = staff.get("/me").await;
        assert_eq!(page.location(), "/me/login?next=/me&expired=1");
        // …and a member session opens no staff page, even in the staff cookie.
        let member_token = a.cookies["ardoise_member_session"].clone();
        let mut intruder = Browser::new(&s);
        for path in ["/till", "/office", "/office/members"] {
            let page = intruder.get(path).await;
            assert!(page.location().starts_with("/login"), "{path}");
        }
        intruder
            .cookies
            .insert("ardoise_session".into(), member_token.clone());
        for path in ["/till", "/office/members", "/office/cards/0B0B0B0B"] {
            let page = intruder.get(path).await;
            assert_eq!(page.status, StatusCode::SEE_OTHER, "{path}");
            assert!(page.location().starts_with("/login?next="), "{path}");
        }
        // Nor does a member's token open a staff route of /v1.
        let (status, _, _) = get(&s, "/v1/cards/0B0B0B0B", &member_token).await;
        assert_eq!(status, 403);
    }
}

#[tokio::test]
async fn resets_answer_alike_and_the_pages_speak_french() {
    let s = Server::start_with(
        crate::harness::Backend::Sqlite,
        &[("ARDOISE__HTTP__PUBLIC_URL", "https://bar.example.org")],
    );
    let bde = session(&s, "bde").await;
    let id = member_with_card(&s, &bde, "Durand", "zoe@example.org", "04A1B2C3D4", "5").await;
    activate_on_the_page(&s, &bde, id, "correct horse").await;
    let mut b = Browser::new(&s);
    let known = b.post("/me/reset", &[("email", "zoe@example.org")]).await;
    let unknown = b
        .post("/me/reset", &[("email", "nobody@example.org")])
        .await;
    assert_eq!(known.status, StatusCode::ACCEPTED);
    assert_eq!(unknown.status, StatusCode::ACCEPTED);
    assert_eq!(known.body, unknown.body);
    assert!(known.body.contains("a link is on its way"));
    let bad = b.post("/me/reset", &[("email", "not an address")]).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.body.contains("id=\"email-error\""));
    // The reset link was made (for the mail channel): the password still works meanwhile.
    b.member_login("zoe@example.org", "correct horse").await;
    // Resets from one address are limited (the logins' 10 a minute), the page and /v1
    // together: then refused with a message, and 429 on /v1.
    for i in 2..10 {
        let page = b
            .post("/me/reset", &[("email", &format!("n{i}@example.org"))])
            .await;
        assert_eq!(page.status, StatusCode::ACCEPTED, "request {i}");
    }
    let flood = b.post("/me/reset", &[("email", "zoe@example.org")]).await;
    assert_eq!(flood.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(flood.body.contains("Too many"), "{}", flood.body);
    let resp = s
        .client
        .post(format!("{}/v1/member-passwords/reset", s.base))
        .json(&json!({"email": "zoe@example.org"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 429);
    assert!(resp.headers().contains_key("retry-after"));

    // The staff login page leads members to theirs.
    let staff_login = Browser::new(&s).get("/login").await;
    assert!(staff_login.body.contains("<a href=\"/me/login\">"));
    let mut fr = Browser::new(&s);
    fr.lang = "fr";
    let page = fr.get("/me/login").await;
    assert!(page.body.contains("<html lang=\"fr\""));
    assert!(page.body.contains(">Courriel</label>"));
    assert!(page.body.contains(">Mot de passe</label>"));
    fr.member_login("zoe@example.org", "correct horse").await;
    let me = fr.get("/me").await;
    for text in [
        ">Mes cartes</h2>",
        ">Historique</h2>",
        ">Préférences</h2>",
        "5,00 €",
        "Déclarer perdue",
    ] {
        assert!(me.body.contains(text), "{text} missing from {}", me.body);
    }
    let missing = fr.get("/me/nothing-here").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert!(missing.body.contains("Page introuvable"));
    assert!(missing.body.contains("action=\"/me/logout\""));
}

#[tokio::test]
async fn staff_invite_a_member_from_the_office_and_the_link_is_shown_once() {
    for backend in backends() {
        let s = Server::start(backend);
        let bde = session(&s, "bde").await;
        let id = member_with_card(&s, &bde, "Durand", "zoe@example.org", "04A1B2C3D4", "5").await;
        let (status, _, v) = post(&s, "/v1/members", &bde, json!({"last_name": "Sans"})).await;
        assert_eq!(status, 201, "{v}");
        let nameless = v["data"]["id"].as_i64().unwrap();
        let mut staff = Browser::new(&s);
        let page = staff
            .post(
                "/login",
                &[
                    ("login", "bde"),
                    ("password", "secret-pw"),
                    ("next", "/office"),
                ],
            )
            .await;
        assert_eq!(page.status, StatusCode::SEE_OTHER);
        let member = staff.get(&format!("/office/members/{id}")).await;
        assert!(
            member.body.contains(">Member space</h2>"),
            "{}",
            member.body
        );
        assert!(member.body.contains(">Invite</button>"));
        let csrf = member.hidden("csrf");
        // Without the CSRF token: refused, no link.
        let forged = staff
            .post(&format!("/office/members/{id}/invitation"), &[])
            .await;
        assert_eq!(forged.status, StatusCode::BAD_REQUEST);
        assert!(!forged.body.contains("/me/welcome/"));
        let invited = staff
            .post(
                &format!("/office/members/{id}/invitation"),
                &[("csrf", &csrf)],
            )
            .await;
        assert_eq!(invited.status, StatusCode::OK, "{}", invited.body);
        let start = invited.body.find("<code>").unwrap() + "<code>".len();
        let link = invited.body[start..].split('<').next().unwrap().to_owned();
        assert!(
            link.starts_with(&format!("{}/me/welcome/", s.base)),
            "{link}"
        );
        // Shown once: the member's page does not show it again.
        let again = staff.get(&format!("/office/members/{id}")).await;
        assert!(!again.body.contains(&link));
        // A member without an e-mail address cannot be invited: said, nothing made.
        let refused = staff
            .post(
                &format!("/office/members/{nameless}/invitation"),
                &[("csrf", &csrf)],
            )
            .await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(refused.body.contains("`email`"), "{}", refused.body);
        assert!(!refused.body.contains("/me/welcome/"));
        // The member uses the link.
        let mut b = Browser::new(&s);
        let done = b
            .post(&path_of(&link), &[("password", "correct horse")])
            .await;
        assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
        b.member_login("zoe@example.org", "correct horse").await;
        // Honeypot staff (rights 0) may not invite.
        let mut honeypot = Browser::new(&s);
        honeypot
            .post(
                "/login",
                &[
                    ("login", "honeypot"),
                    ("password", "secret-pw"),
                    ("next", "/till"),
                ],
            )
            .await;
        let till = honeypot.get("/till").await;
        let csrf = till.hidden("csrf");
        let page = honeypot
            .post(
                &format!("/office/members/{id}/invitation"),
                &[("csrf", &csrf)],
            )
            .await;
        assert_eq!(page.status, StatusCode::FORBIDDEN);
    }
}

#[tokio::test]
async fn a_member_edits_their_profile_and_changes_their_login_with_their_password() {
    for backend in backends() {
        let s = Server::start(backend);
        let bde = session(&s, "bde").await;
        let id = member_with_card(&s, &bde, "Durand", "zoe@example.org", "04A1B2C3D4", "5").await;
        member_with_card(&s, &bde, "Bravo", "bob@example.org", "0B0B0B0B", "5").await;
        activate_on_the_page(&s, &bde, id, "correct horse").await;
        let mut b = Browser::new(&s);
        b.member_login("zoe@example.org", "correct horse").await;
        let page = b.get("/me/profile").await;
        assert_eq!(page.status, StatusCode::OK);
        for text in [
            "<a href=\"/me/profile\" aria-current=\"page\">My profile</a>",
            ">First name</label>",
            ">Phone</label>",
            "value=\"Durand\"",
            ">Save</button>",
            ">New e-mail address</label>",
            ">Current password</label>",
            ">Change the address</button>",
        ] {
            assert!(
                page.body.contains(text),
                "{text} missing from {}",
                page.body
            );
        }
        assert!(!page.body.contains(">Notes</label>"));
        let csrf = page.hidden("csrf");

        // A bad phone number is said next to its field; nothing changes.
        let bad = b
            .post(
                "/me/profile",
                &[
                    ("csrf", &csrf),
                    ("first_name", "Ada"),
                    ("last_name", "Durand"),
                    ("phone", "call me"),
                ],
            )
            .await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(bad.body.contains("id=\"f-phone-error\""), "{}", bad.body);
        let (_, _, v) = get(&s, &format!("/v1/members/{id}"), &bde).await;
        assert_eq!(v["data"]["first_name"], Value::Null, "{v}");
        let saved = b
            .post(
                "/me/profile",
                &[
                    ("csrf", &csrf),
                    ("first_name", "Ada"),
                    ("last_name", "Durand"),
                    ("phone", "+33 6 12 34 56 78"),
                ],
            )
            .await;
        assert_eq!(saved.location(), "/me/profile?saved=1");
        let (_, _, v) = get(&s, &format!("/v1/members/{id}"), &bde).await;
        assert_eq!(v["data"]["first_name"], "Ada", "{v}");
        assert_eq!(v["data"]["phone"], "+33612345678", "{v}");
        assert_eq!(v["data"]["notes"], "paid in cash", "{v}");
        assert_eq!(v["data"]["email"], "zoe@example.org", "{v}");

        // The login: a wrong password, a taken address, a malformed one — said, nothing changed.
        for (email, password, field) in [
            ("ada@example.org", "wrong horse", "f-current-password-error"),
            ("BOB@example.org", "correct horse", "f-new-email-error"),
            ("not an address", "correct horse", "f-new-email-error"),
        ] {
            let page = b
                .post(
                    "/me/profile/email",
                    &[("csrf", &csrf), ("email", email), ("password", password)],
                )
                .await;
            assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY, "{email}");
            assert!(
                page.body.contains(&format!("id=\"{field}\"")),
                "{email}: {}",
                page.body
            );
        }
        let (_, _, v) = get(&s, &format!("/v1/members/{id}"), &bde).await;
        assert_eq!(v["data"]["email"], "zoe@example.org", "{v}");
        let changed = b
            .post(
                "/me/profile/email",
                &[
                    ("csrf", &csrf),
                    ("email", "ada@example.org"),
                    ("password", "correct horse"),
                ],
            )
            .await;
        assert_eq!(changed.location(), "/me/profile?email=1");
        let mut other = Browser::new(&s);
        other.member_login("ada@example.org", "correct horse").await;
        let mut fresh = Browser::new(&s);
        let old = fresh
            .post(
                "/me/login",
                &[("email", "zoe@example.org"), ("password", "correct horse")],
            )
            .await;
        assert_eq!(old.status, StatusCode::UNAUTHORIZED);
    }
}

#[tokio::test]
async fn the_links_token_never_reaches_the_log() {
    let s = Server::start_with(crate::harness::Backend::Sqlite, &[("RUST_LOG", "info")]);
    let bde = session(&s, "bde").await;
    let id = member_with_card(&s, &bde, "Durand", "zoe@example.org", "04A1B2C3D4", "5").await;
    let link = invite(&s, &bde, id).await;
    let token = link.rsplit('/').next().unwrap().to_owned();
    let mut b = Browser::new(&s);
    assert_eq!(b.get(&path_of(&link)).await.status, StatusCode::OK);
    let done = b
        .post(&path_of(&link), &[("password", "correct horse")])
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    b.member_login("zoe@example.org", "correct horse").await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let log = s.log.lock().unwrap().join("\n");
    assert!(
        log.contains("/me/welcome/{token}"),
        "the request lines are logged: {log}"
    );
    assert!(log.contains("/me/login"), "{log}");
    assert!(
        !log.contains(&token),
        "the link's token is in the log: {log}"
    );
    assert!(!log.contains("correct horse"));
}
