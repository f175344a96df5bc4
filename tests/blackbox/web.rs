//! The web pages over plain HTTP, without a browser (and so without JavaScript): the cookie
//! session, CSRF, the security headers, one-time keys, rights, languages, the reports' CSV.
//! The flows in a real browser are in `browser.rs`.

use reqwest::header::{HeaderMap, ACCEPT_LANGUAGE, CONTENT_TYPE, COOKIE, LOCATION, SET_COOKIE};
use reqwest::{redirect, StatusCode};

use crate::harness::{ardoise, serde_urlencoded, Backend, Database, Server};

/// A server with staff `prez` (3), `barman` (2), `bde` (1) and products `biere` (1.80,
/// Boissons) and `chips` (1.00, Snacks).
pub fn bar_server() -> Server {
    let db = Database::fresh(Backend::Sqlite);
    for (login, rights) in [("prez", "3"), ("barman", "2"), ("bde", "1")] {
        let (ok, _, err) = ardoise(
            &db,
            &[
                "user",
                "add",
                "--login",
                login,
                "--password",
                "secret-pw",
                "--rights",
                rights,
            ],
        );
        assert!(ok, "{err}");
    }
    for (name, price, category) in [("biere", "1.80", "Boissons"), ("chips", "1", "Snacks")] {
        let (ok, _, err) = ardoise(
            &db,
            &[
                "product",
                "set",
                "--name",
                name,
                "--price",
                price,
                "--category",
                category,
            ],
        );
        assert!(ok, "{err}");
    }
    Server::serve(db, &[])
}

/// A browser-like client that follows no redirect and keeps its one cookie by hand.
pub struct Visitor {
    base: String,
    http: reqwest::Client,
    cookie: Option<String>,
    lang: &'static str,
}

/// An answer: status, headers and body text.
pub struct Page {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Page {
    pub fn location(&self) -> &str {
        self.headers
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    /// The value of the first hidden field `name` (the CSRF token, a one-time key).
    pub fn hidden(&self, name: &str) -> String {
        let needle = format!("name=\"{name}\" value=\"");
        let start = self
            .body
            .find(&needle)
            .unwrap_or_else(|| panic!("no field {name} in {}", self.body))
            + needle.len();
        self.body[start..].split('"').next().unwrap().to_owned()
    }

    /// The text of the element with `aria-label="Balance"`.
    pub fn balance(&self) -> Option<String> {
        let start = self.body.find("aria-label=\"Balance\">")? + "aria-label=\"Balance\">".len();
        Some(self.body[start..].split('<').next()?.to_owned())
    }
}

impl Visitor {
    pub fn new(server: &Server) -> Visitor {
        Visitor {
            base: server.base.clone(),
            http: reqwest::Client::builder()
                .redirect(redirect::Policy::none())
                .build()
                .unwrap(),
            cookie: None,
            lang: "en",
        }
    }

    pub fn french(mut self) -> Visitor {
        self.lang = "fr";
        self
    }

    async fn answer(&mut self, resp: reqwest::Response) -> Page {
        let status = resp.status();
        let headers = resp.headers().clone();
        for set in headers.get_all(SET_COOKIE) {
            let text = set.to_str().unwrap();
            if let Some(rest) = text.strip_prefix("ardoise_session=") {
                let value = rest.split(';').next().unwrap();
                self.cookie = (!value.is_empty()).then(|| format!("ardoise_session={value}"));
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
        if let Some(c) = &self.cookie {
            req = req.header(COOKIE, c);
        }
        let resp = req.send().await.unwrap();
        self.answer(resp).await
    }

    pub async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        let mut req = self
            .http
            .post(format!("{}{path}", self.base))
            .header(ACCEPT_LANGUAGE, self.lang)
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(serde_urlencoded(form));
        if let Some(c) = &self.cookie {
            req = req.header(COOKIE, c);
        }
        let resp = req.send().await.unwrap();
        self.answer(resp).await
    }

    /// Logs in through the form and returns the till page.
    pub async fn log_in(&mut self, login: &str) -> Page {
        let page = self
            .post(
                "/login",
                &[
                    ("login", login),
                    ("password", "secret-pw"),
                    ("next", "/till"),
                ],
            )
            .await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
        self.get("/till").await
    }
}

#[tokio::test]
async fn login_page_headers_session_cookie_and_logout() {
    let server = bar_server();
    let mut v = Visitor::new(&server);

    let home = v.get("/").await;
    assert_eq!(home.status, StatusCode::SEE_OTHER);
    assert_eq!(home.location(), "/login");

    let login = v.get("/login").await;
    assert_eq!(login.status, StatusCode::OK);
    assert_eq!(
        login.headers["content-security-policy"]
            .to_str()
            .unwrap()
            .split(';')
            .take(2)
            .collect::<Vec<_>>(),
        ["default-src 'self'", " frame-ancestors 'none'"]
    );
    assert_eq!(login.headers["x-content-type-options"], "nosniff");
    assert!(login.body.contains("<label for=\"login\">Login</label>"));
    assert!(login
        .body
        .contains("<label for=\"password\">Password</label>"));
    assert!(login.body.contains(">Log in</button>"));
    // Only our own script file, never an inline script.
    assert_eq!(login.body.matches("<script").count(), 1, "{}", login.body);
    assert!(login.body.contains("<script src=\"/static/ardoise.js"));

    let wrong = v
        .post(
            "/login",
            &[
                ("login", "barman"),
                ("password", "not-the-pw"),
                ("next", "/till"),
            ],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(wrong
        .body
        .contains("role=\"alert\">Wrong login or password."));
    assert!(wrong.body.contains("name=\"login\" value=\"barman\""));
    assert!(v.cookie.is_none());

    let ok = v
        .post(
            "/login",
            &[
                ("login", "barman"),
                ("password", "secret-pw"),
                ("next", "/till"),
            ],
        )
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER);
    assert_eq!(ok.location(), "/till");
    let set = ok.headers[SET_COOKIE].to_str().unwrap();
    assert!(set.contains("HttpOnly"), "{set}");
    assert!(set.contains("SameSite=Strict"), "{set}");
    assert!(set.contains("Path=/"), "{set}");
    assert!(!set.contains("Secure"), "plain HTTP: {set}");

    let till = v.get("/till").await;
    assert_eq!(till.status, StatusCode::OK);
    assert!(till.body.contains(">Log out</button>"));
    assert_eq!(v.get("/").await.location(), "/till");

    // Log out needs the CSRF token.
    let csrf = till.hidden("csrf");
    let refused = v.post("/logout", &[("csrf", "nope")]).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert_eq!(v.get("/till").await.status, StatusCode::OK);
    let out = v.post("/logout", &[("csrf", &csrf)]).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert_eq!(out.location(), "/login");
    assert!(v.cookie.is_none());
}

#[tokio::test]
async fn an_expired_session_goes_to_login_then_back() {
    let server = bar_server();
    let mut v = Visitor::new(&server);
    let page = v.get("/till?card=ABC123").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(page.location(), "/login?next=/till%3Fcard%3DABC123");
    // A session the server no longer knows is an expired one.
    v.cookie = Some("ardoise_session=abcdefghijklmnopqrstuvwxyz0123".to_owned());
    let page = v.get("/office/products").await;
    assert_eq!(page.location(), "/login?next=/office/products&expired=1");
    let login = v.get(page.location()).await;
    assert!(login
        .body
        .contains("role=\"status\">Your session has ended"));
    assert!(login
        .body
        .contains("name=\"next\" value=\"/office/products\""));
    let back = v
        .post(
            "/login",
            &[
                ("login", "barman"),
                ("password", "secret-pw"),
                ("next", "/till?card=ABC123"),
            ],
        )
        .await;
    assert_eq!(back.location(), "/till?card=ABC123");
    // Never to another site.
    let elsewhere = v
        .post(
            "/login",
            &[
                ("login", "barman"),
                ("password", "secret-pw"),
                ("next", "//evil.example/"),
            ],
        )
        .await;
    assert_eq!(elsewhere.location(), "/till");
}

#[tokio::test]
async fn page_logins_are_throttled_with_the_api() {
    let server = bar_server();
    // Ten failures through the POS API...
    for _ in 0..10 {
        let v = server
            .api(
                "utilisateur/connexion",
                &[("login", "barman"), ("mdp", "wrong-pw-1")],
            )
            .await;
        assert_eq!(v["status"], "identifiants_invalides", "{v}");
    }
    // ...and the page refuses even the right password from this address.
    let mut v = Visitor::new(&server);
    let page = v
        .post(
            "/login",
            &[
                ("login", "barman"),
                ("password", "secret-pw"),
                ("next", "/till"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(
        page.body.contains("Too many failed attempts"),
        "{}",
        page.body
    );
    assert!(v.cookie.is_none());
}

#[tokio::test]
async fn till_forms_without_javascript_and_one_time_keys() {
    let server = bar_server();
    let mut v = Visitor::new(&server);
    let till = v.log_in("barman").await;
    assert!(till.body.contains("<label for=\"card\">Card</label>"));
    assert!(till.body.contains("<h2>Boissons</h2>"));
    assert!(till.body.contains("<h2>Snacks</h2>"));

    let csrf = till.hidden("csrf");
    let key = till.hidden("key");
    let opened = v
        .post(
            "/till",
            &[
                ("csrf", &csrf),
                ("key", &key),
                ("card", "WEB0001"),
                ("amount", "10"),
                ("action", "open"),
            ],
        )
        .await;
    assert_eq!(opened.status, StatusCode::OK, "{}", opened.body);
    assert_eq!(opened.balance().as_deref(), Some("10.00 €"));

    // Without the script, a product button posts `add`: the order grows, no money moves.
    let key = opened.hidden("key");
    let added = v
        .post(
            "/till",
            &[
                ("csrf", &csrf),
                ("key", &key),
                ("card", "WEB0001"),
                ("add", "biere"),
                ("item", "biere"),
            ],
        )
        .await;
    assert!(added.body.contains("2 × biere"), "{}", added.body);
    assert_eq!(added.balance().as_deref(), Some("10.00 €"));

    // Pay the order; the same form sent again (a reload) pays nothing more.
    let key = added.hidden("key");
    let pay = [
        ("csrf", csrf.as_str()),
        ("key", key.as_str()),
        ("card", "WEB0001"),
        ("item", "biere"),
        ("item", "biere"),
        ("item", "chips"),
        ("action", "pay"),
    ];
    let paid = v.post("/till", &pay).await;
    assert!(
        paid.body
            .contains("role=\"status\">Paid 4.60 € — new balance 5.40 €"),
        "{}",
        paid.body
    );
    let again = v.post("/till", &pay).await;
    assert!(again.body.contains("already done"), "{}", again.body);
    assert_eq!(again.balance().as_deref(), Some("5.40 €"));

    // A bad amount: a message next to the field, nothing changes.
    let key = again.hidden("key");
    let bad = v
        .post(
            "/till",
            &[
                ("csrf", &csrf),
                ("key", &key),
                ("card", "WEB0001"),
                ("amount", "12.5.0"),
                ("action", "topup"),
            ],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.body.contains("aria-describedby=\"amount-error\""));
    assert!(bad
        .body
        .contains("id=\"amount-error\">Type an amount, e.g. 12.50."));
    assert_eq!(bad.balance().as_deref(), Some("5.40 €"));

    // A refusal names its reason.
    let key = bad.hidden("key");
    let refused = v
        .post(
            "/till",
            &[
                ("csrf", &csrf),
                ("key", &key),
                ("card", "WEB0001"),
                ("amount", "50"),
                ("action", "pay"),
            ],
        )
        .await;
    assert!(
        refused
            .body
            .contains("role=\"alert\">Insufficient balance (5.40 €): 44.60 € missing."),
        "{}",
        refused.body
    );

    // A form without the session's CSRF token moves nothing.
    let forged = v
        .post(
            "/till",
            &[
                ("csrf", "0123456789abcdef0123456789abcdef"),
                ("key", "forged-1"),
                ("card", "WEB0001"),
                ("amount", "5"),
                ("action", "pay"),
            ],
        )
        .await;
    assert_eq!(forged.status, StatusCode::BAD_REQUEST);
    let shown = v.get("/till?card=WEB0001").await;
    assert_eq!(shown.balance().as_deref(), Some("5.40 €"));

    // Cancel the newest transaction (the chips) from the list.
    let cancel_key = {
        let at = shown.body.find("value=\"cancel\"").unwrap();
        let form = &shown.body[..at];
        let form = &form[form.rfind("<form").unwrap()..];
        let page = Page {
            status: StatusCode::OK,
            headers: HeaderMap::new(),
            body: form.to_owned(),
        };
        (page.hidden("key"), page.hidden("transaction"))
    };
    let cancelled = v
        .post(
            "/till",
            &[
                ("csrf", &csrf),
                ("key", &cancel_key.0),
                ("card", "WEB0001"),
                ("transaction", &cancel_key.1),
                ("action", "cancel"),
            ],
        )
        .await;
    assert_eq!(cancelled.balance().as_deref(), Some("6.40 €"));
    assert!(cancelled.body.contains("value=\"redo\""));
}

#[tokio::test]
async fn rights_errors_and_languages() {
    let server = bar_server();
    let mut barman = Visitor::new(&server);
    let till = barman.log_in("barman").await;
    let csrf = till.hidden("csrf");

    // A section above one's rights: the 403 page, in the layout, and its form is refused.
    let staff = barman.get("/office/staff").await;
    assert_eq!(staff.status, StatusCode::FORBIDDEN);
    assert!(staff.body.contains("<h1>Not allowed</h1>"));
    assert!(staff.body.contains(">Log out</button>"));
    let post = barman
        .post(
            "/office/products",
            &[("csrf", &csrf), ("name", "whisky"), ("unit_price", "8")],
        )
        .await;
    assert_eq!(post.status, StatusCode::FORBIDDEN);
    let products = barman.get("/office/products").await;
    assert!(!products.body.contains("whisky"));
    // The office shows only the sections one may use.
    let office = barman.get("/office").await;
    assert!(office.body.contains(">Products</a>"));
    assert!(office.body.contains(">Reports</a>"));
    assert!(!office.body.contains(">Staff</a>"));

    let missing = barman.get("/no/such/page").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert!(missing.body.contains("<h1>Page not found</h1>"));
    assert!(missing.body.contains(">Log out</button>"));

    // The association (rights 1) opens cards and reads their balance, but takes no money.
    let mut bde = Visitor::new(&server);
    let till = bde.log_in("bde").await;
    assert!(till.body.contains("value=\"open\""));
    assert!(!till.body.contains("value=\"pay\""));
    assert!(till.body.contains("You have made no transaction yet."));
    let opened = bde
        .post(
            "/till",
            &[
                ("csrf", &till.hidden("csrf")),
                ("key", &till.hidden("key")),
                ("card", "BDE0001"),
                ("amount", "7.50"),
                ("action", "open"),
            ],
        )
        .await;
    assert_eq!(opened.status, StatusCode::OK, "{}", opened.body);
    assert_eq!(opened.balance().as_deref(), Some("7.50 €"));
    assert!(opened
        .body
        .contains("<span class=\"txcard\">BDE0001</span>"));
    let shown = bde.get("/till?card=BDE0001").await;
    assert_eq!(shown.balance().as_deref(), Some("7.50 €"));
    assert_eq!(
        bde.get("/office/reports").await.status,
        StatusCode::FORBIDDEN
    );

    // French when the browser prefers it.
    let mut fr = Visitor::new(&server).french();
    let login = fr.get("/login").await;
    assert!(login.body.contains("<html lang=\"fr\">"));
    assert!(login.body.contains(">Identifiant</label>"));
    assert!(login.body.contains(">Se connecter</button>"));
}

#[tokio::test]
async fn president_adds_a_product_seen_on_the_till_and_in_the_report() {
    let server = bar_server();
    let mut prez = Visitor::new(&server);
    let till = prez.log_in("prez").await;
    let csrf = till.hidden("csrf");

    // A bad price: a message next to the field, nothing added.
    let bad = prez
        .post(
            "/office/products",
            &[
                ("csrf", &csrf),
                ("name", "Mojito"),
                ("unit_price", "six"),
                ("category", ""),
                ("bundles", ""),
            ],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad
        .body
        .contains("class=\"field-error\" id=\"f-unit_price-error\">Type a price"));
    assert!(!prez.get("/till").await.body.contains("Mojito"));

    let added = prez
        .post(
            "/office/products",
            &[
                ("csrf", &csrf),
                ("name", "Mojito"),
                ("unit_price", "6,50"),
                ("category", "Boissons"),
                ("bundles", "2=12"),
            ],
        )
        .await;
    assert_eq!(added.status, StatusCode::OK, "{}", added.body);
    let till = prez.get("/till").await;
    assert!(till.body.contains("value=\"Mojito\""));

    let key = till.hidden("key");
    v_open(&mut prez, &csrf, &key, "WEB0002", "30").await;
    let till = prez.get("/till?card=WEB0002").await;
    let key = till.hidden("key");
    let paid = prez
        .post(
            "/till",
            &[
                ("csrf", &csrf),
                ("key", &key),
                ("card", "WEB0002"),
                ("item", "Mojito"),
                ("item", "Mojito"),
                ("action", "pay"),
            ],
        )
        .await;
    // The bundle price of two applies.
    assert_eq!(paid.balance().as_deref(), Some("18.00 €"), "{}", paid.body);

    let report = prez.get("/office/reports").await;
    assert_eq!(report.status, StatusCode::OK);
    assert!(
        report
            .body
            .contains("<td>Mojito</td><td class=\"num\">2</td><td class=\"num\">12.00 €</td>"),
        "{}",
        report.body
    );
    assert!(report.body.contains("<svg class=\"chart\""));
    assert!(report.body.contains(">Download CSV</button>"));
    let z = prez.get("/office/reports/z").await;
    assert!(z.body.contains("Z report"));

    let csv = prez.get("/office/reports/csv").await;
    assert_eq!(csv.headers[CONTENT_TYPE], "text/csv; charset=utf-8");
    let mut lines = csv.body.lines();
    assert_eq!(
        lines.next(),
        Some("id,date,card,kind,amount,quantity,state,staff,product")
    );
    assert!(
        csv.body
            .lines()
            .any(|l| l.ends_with(",payment,12.00,2,valid,prez,Mojito")
                || l.contains(",payment,12.00,2,valid,prez,Mojito")),
        "{}",
        csv.body
    );

    // A bad date: a message next to the field.
    let bad = prez.get("/office/reports?from=yesterday").await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad
        .body
        .contains("class=\"field-error\" id=\"f-from-error\">Type a date"));
}

async fn v_open(v: &mut Visitor, csrf: &str, key: &str, card: &str, amount: &str) {
    let page = v
        .post(
            "/till",
            &[
                ("csrf", csrf),
                ("key", key),
                ("card", card),
                ("amount", amount),
                ("action", "open"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
}

#[tokio::test]
async fn office_cards_members_partners_and_staff() {
    let server = bar_server();
    let mut prez = Visitor::new(&server);
    let till = prez.log_in("prez").await;
    let csrf = till.hidden("csrf");
    let key = till.hidden("key");
    v_open(&mut prez, &csrf, &key, "CARD0001", "12").await;

    // Cards: search, a card's page, block, then the till refuses it, unblock.
    let found = prez.get("/office/cards?q=card0").await;
    assert!(found.body.contains("href=\"/office/cards/CARD0001\""));
    let blocked = prez
        .post(
            "/office/cards/CARD0001",
            &[("csrf", &csrf), ("action", "status"), ("status", "blocked")],
        )
        .await;
    assert_eq!(blocked.status, StatusCode::OK, "{}", blocked.body);
    assert!(blocked.body.contains(">Unblock</button>"));
    let till = prez.get("/till?card=CARD0001").await;
    let refused = prez
        .post(
            "/till",
            &[
                ("csrf", &csrf),
                ("key", &till.hidden("key")),
                ("card", "CARD0001"),
                ("amount", "1"),
                ("action", "pay"),
            ],
        )
        .await;
    assert!(
        refused
            .body
            .contains("role=\"alert\">The card cannot be used: blocked"),
        "{}",
        refused.body
    );
    let bad_day = prez
        .post(
            "/office/cards/CARD0001",
            &[
                ("csrf", &csrf),
                ("action", "valid_until"),
                ("valid_until", "soon"),
            ],
        )
        .await;
    assert_eq!(bad_day.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad_day
        .body
        .contains("class=\"field-error\" id=\"f-valid_until-error\">Type a date"));

    // Members: a bad e-mail is refused next to its field; a good member is linked to a card.
    let bad = prez
        .post(
            "/office/members",
            &[
                ("csrf", &csrf),
                ("first_name", "Ada"),
                ("last_name", "Lovelace"),
                ("email", "not-an-address"),
            ],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.body.contains("id=\"f-email-error\""), "{}", bad.body);
    let added = prez
        .post(
            "/office/members",
            &[
                ("csrf", &csrf),
                ("first_name", "Ada"),
                ("last_name", "Lovelace"),
                ("email", "ada@example.org"),
            ],
        )
        .await;
    assert_eq!(added.status, StatusCode::SEE_OTHER, "{}", added.body);
    let member = added.location().to_owned();
    let linked = prez
        .post(
            &format!("{member}/cards"),
            &[("csrf", &csrf), ("link", "CARD0001")],
        )
        .await;
    assert_eq!(linked.status, StatusCode::SEE_OTHER, "{}", linked.body);
    let till = prez.get("/till?card=CARD0001").await;
    assert!(till.body.contains("Member: Ada Lovelace"), "{}", till.body);

    // Partners: the secret is shown once.
    let partner = prez
        .post(
            "/office/partners",
            &[
                ("csrf", &csrf),
                ("name", "Lydia"),
                ("scopes", "cards:read"),
                ("cap_operation", ""),
                ("cap_day", ""),
            ],
        )
        .await;
    assert_eq!(partner.status, StatusCode::OK, "{}", partner.body);
    assert!(partner.body.contains("class=\"secret\""));
    let list = prez.get("/office/partners").await;
    assert!(list.body.contains("<td>Lydia</td>"));
    assert!(!list.body.contains("class=\"secret\""));

    // Staff: change a member's rights; an empty password is refused next to its field.
    let rights = prez
        .post(
            "/office/staff/barman",
            &[("csrf", &csrf), ("action", "rights"), ("rights", "1")],
        )
        .await;
    assert_eq!(rights.status, StatusCode::OK, "{}", rights.body);
    let mut barman = Visitor::new(&server);
    barman.log_in("barman").await;
    assert_eq!(
        barman.get("/office/reports").await.status,
        StatusCode::FORBIDDEN
    );
    let short = prez
        .post(
            "/office/staff/barman",
            &[("csrf", &csrf), ("action", "password"), ("password", "")],
        )
        .await;
    assert_eq!(short.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        short.body.contains("id=\"f-password-error\""),
        "{}",
        short.body
    );
}

#[tokio::test]
async fn an_order_refused_part_way_says_what_was_paid_and_keeps_the_rest() {
    let server = bar_server();
    let mut v = Visitor::new(&server);
    let till = v.log_in("barman").await;
    let csrf = till.hidden("csrf");
    let opened = v
        .post(
            "/till",
            &[
                ("csrf", &csrf),
                ("key", &till.hidden("key")),
                ("card", "PART0001"),
                ("amount", "2"),
                ("action", "open"),
            ],
        )
        .await;
    assert_eq!(opened.balance().as_deref(), Some("2.00 €"));

    // chips (1.00) then biere (1.80) on 2.00: the chips are paid, the beer is refused.
    let order = [
        ("csrf", csrf.as_str()),
        ("key", &opened.hidden("key")),
        ("card", "PART0001"),
        ("item", "chips"),
        ("item", "biere"),
        ("action", "pay"),
    ];
    let part = v.post("/till", &order).await;
    assert_eq!(
        part.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        part.body
    );
    assert!(
        part.body.contains(
            "role=\"alert\">Insufficient balance (1.00 €): 0.80 € missing. Not paid: 1 × biere \
             — Paid: 1 × chips (1.00 €) — new balance 1.00 €"
        ),
        "{}",
        part.body
    );
    assert_eq!(part.balance().as_deref(), Some("1.00 €"));
    // The unpaid line stays in the order, the paid one left it.
    assert!(part.body.contains("<li>1 × biere</li>"), "{}", part.body);
    assert!(!part.body.contains("<li>1 × chips</li>"));
    assert!(part.body.contains("name=\"item\" value=\"biere\""));
    assert!(!part.body.contains("name=\"item\" value=\"chips\""));

    // The same form sent again pays nothing twice: the chips line answers its first receipt.
    let again = v.post("/till", &order).await;
    assert_eq!(again.balance().as_deref(), Some("1.00 €"));
}

#[tokio::test]
async fn the_till_lists_the_staff_members_own_transactions_newest_first() {
    let server = bar_server();
    let mut barman = Visitor::new(&server);
    let mut prez = Visitor::new(&server);
    let till = barman.log_in("barman").await;
    let csrf = till.hidden("csrf");
    let mut key = till.hidden("key");
    for (card, amount) in [("OWN0001", "5"), ("OWN0002", "6")] {
        let page = barman
            .post(
                "/till",
                &[
                    ("csrf", &csrf),
                    ("key", &key),
                    ("card", card),
                    ("amount", amount),
                    ("action", "open"),
                ],
            )
            .await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        key = page.hidden("key");
    }
    // The president pays on the barman's card: not in the barman's list.
    let p = prez.log_in("prez").await;
    let paid = prez
        .post(
            "/till",
            &[
                ("csrf", &p.hidden("csrf")),
                ("key", &p.hidden("key")),
                ("card", "OWN0001"),
                ("amount", "0.42"),
                ("action", "pay"),
            ],
        )
        .await;
    assert!(
        paid.body.contains("role=\"status\">Paid 0.42 €"),
        "{}",
        paid.body
    );
    assert!(paid.body.contains("<span class=\"amount\">0.42 €</span>"));

    let mine = barman.get("/till").await;
    let second = mine
        .body
        .find("OWN0002</span>")
        .expect("the second card opened");
    let first = mine
        .body
        .find("OWN0001</span>")
        .expect("the first card opened");
    assert!(second < first, "newest first");
    assert!(!mine.body.contains("0.42 €"), "{}", mine.body);
}
