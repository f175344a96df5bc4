//! The pages in a real browser: headless Chromium driven through WebDriver (`chromedriver`),
//! against the real binary on port 0 over a fresh SQLite file. Controls are found by their
//! role and accessible name (a button by its text, a field by its label, the balance by its
//! `aria-label`), as the acceptance tests do.
//!
//! Skipped, loudly, when `chromium` or `chromedriver` is not installed (`.ci/run` installs
//! Debian's `chromium` and `chromium-driver`). With `ARDOISE_SCREENSHOTS=DIR`, the test also
//! saves screenshots of each page at 360 and 1280 px into DIR (see docs/screenshots/).

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

use crate::harness::Server;
use crate::web::bar_server;

/// Finds a program on the PATH (or at its usual Debian place).
fn program(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var("PATH").unwrap_or_default();
    for name in names {
        for dir in path.split(':').chain(["/usr/bin", "/usr/lib/chromium"]) {
            let candidate = PathBuf::from(dir).join(name);
            if candidate.is_file() {
                return Some(candidate);
            }
        }
    }
    None
}

/// A headless Chromium behind its own chromedriver, with a fresh profile.
pub(crate) struct Browser {
    pub(crate) client: Client,
    driver: Child,
    _profile: tempfile::TempDir,
}

impl Browser {
    async fn start() -> Option<Browser> {
        Browser::start_in("en-US").await
    }

    /// A browser whose language (`--lang`, `Accept-Language`) is `lang`, e.g. `pl`.
    pub(crate) async fn start_in(lang: &str) -> Option<Browser> {
        let (Some(chromium), Some(chromedriver)) = (
            program(&["chromium", "chromium-browser", "google-chrome"]),
            program(&["chromedriver"]),
        ) else {
            eprintln!(
                "\n!!!!!!!! BROWSER TESTS SKIPPED: chromium and chromedriver are not installed \
                 (apt-get install chromium chromium-driver; .ci/run does it) !!!!!!!!\n"
            );
            return None;
        };
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let driver = Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let profile = tempfile::tempdir().unwrap();
        let caps = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium.to_str().unwrap(),
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                    "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync",
                    "--disable-dev-shm-usage", "--window-size=1280,900",
                    format!("--lang={lang}"), format!("--accept-lang={lang}"),
                    format!("--user-data-dir={}", profile.path().display()),
                ],
            },
        });
        let caps = caps.as_object().unwrap().clone();
        let url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(30);
        let client = loop {
            let connector = hyper_util::client::legacy::connect::HttpConnector::new();
            match ClientBuilder::new(connector)
                .capabilities(caps.clone())
                .connect(&url)
                .await
            {
                Ok(client) => break client,
                Err(e) if Instant::now() > deadline => panic!("cannot start chromium: {e}"),
                Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
            }
        };
        Some(Browser {
            client,
            driver,
            _profile: profile,
        })
    }

    pub(crate) async fn stop(mut self) {
        let _ = self.client.clone().close().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }

    /// Waits up to 10 s for an element.
    pub(crate) async fn find(&self, xpath: &str) -> Element {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(e) = self.client.find(Locator::XPath(xpath)).await {
                return e;
            }
            if Instant::now() > deadline {
                let source = self.client.source().await.unwrap_or_default();
                panic!("no element {xpath} on {source}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The first button whose accessible name starts with `name`.
    async fn button(&self, name: &str) -> Element {
        self.find(&format!(
            "//button[starts-with(normalize-space(.), '{name}') or starts-with(@aria-label, '{name}')]"
        ))
        .await
    }

    /// The link named `name`.
    pub(crate) async fn link(&self, name: &str) -> Element {
        self.find(&format!("//a[normalize-space(.)='{name}']"))
            .await
    }

    /// The field labelled `label` (a text box, a combo box, a text area).
    async fn field(&self, label: &str) -> Element {
        self.find(&format!(
            "//*[(self::input or self::select or self::textarea) and @id=//label[normalize-space(.)='{label}']/@for]"
        ))
        .await
    }

    /// Clears the field labelled `label` and types `text`.
    async fn fill(&self, label: &str, text: &str) {
        let field = self.field(label).await;
        field.clear().await.unwrap();
        field.send_keys(text).await.unwrap();
    }

    async fn click(&self, name: &str) {
        self.button(name).await.click().await.unwrap();
    }

    /// Waits until the element named "Balance" reads `text`.
    async fn balance_is(&self, text: &str) {
        self.text_is("//output[@aria-label='Balance']", text).await;
    }

    async fn text_is(&self, xpath: &str, text: &str) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(e) = self.client.find(Locator::XPath(xpath)).await {
                if let Ok(t) = e.text().await {
                    if t.trim() == text {
                        return;
                    }
                    if Instant::now() > deadline {
                        panic!("{xpath} reads {t:?}, not {text:?}");
                    }
                }
            }
            if Instant::now() > deadline {
                panic!("no {xpath} reading {text:?}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until the page's path is `path`.
    async fn at(&self, path: &str) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let url = self.client.current_url().await.unwrap();
            if url.path() == path {
                return;
            }
            if Instant::now() > deadline {
                panic!("at {url}, not {path}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn focused_id(&self) -> String {
        self.client
            .execute(
                "return document.activeElement && document.activeElement.id",
                vec![],
            )
            .await
            .unwrap()
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    async fn log_in(&self, base: &str, login: &str) {
        self.client.goto(&format!("{base}/")).await.unwrap();
        self.at("/login").await;
        self.fill("Login", login).await;
        self.fill("Password", "secret-pw").await;
        self.click("Log in").await;
        self.at("/till").await;
    }

    async fn log_out(&self) {
        self.click("Log out").await;
        self.at("/login").await;
    }

    /// Types a card id in "Card" and presses Enter, as a keyboard-wedge reader does.
    async fn scan(&self, card: &str) {
        let field = self.field("Card").await;
        field.send_keys(&format!("{card}\u{E007}")).await.unwrap();
        self.text_is("//p[@class='cardid']/strong", card).await;
    }
}

#[tokio::test]
async fn a_barman_and_the_president_in_a_real_browser() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let server = bar_server();
    let outcome = tokio::time::timeout(Duration::from_secs(240), flows(&browser, &server)).await;
    if let Some(dir) = std::env::var_os("ARDOISE_SCREENSHOTS") {
        screenshots(&browser, &server, PathBuf::from(dir)).await;
    }
    browser.stop().await;
    outcome.expect("the browser flows took more than 4 minutes");
}

async fn flows(b: &Browser, server: &Server) {
    let base = &server.base;

    // A wrong password: an alert, and the login stays typed.
    b.client.goto(&format!("{base}/")).await.unwrap();
    b.at("/login").await;
    b.fill("Login", "barman").await;
    b.fill("Password", "not-the-pw").await;
    b.click("Log in").await;
    b.find("//*[@role='alert' and contains(., 'Wrong login or password')]")
        .await;
    assert_eq!(
        b.field("Login")
            .await
            .prop("value")
            .await
            .unwrap()
            .as_deref(),
        Some("barman")
    );
    b.fill("Password", "secret-pw").await;
    b.click("Log in").await;
    b.at("/till").await;
    assert_eq!(b.focused_id().await, "card", "Card is focused on load");

    // A new card, opened with 20 €.
    b.scan("WEB0001").await;
    b.fill("Amount", "20").await;
    b.click("New card").await;
    b.balance_is("20.00 €").await;
    assert_eq!(
        b.focused_id().await,
        "card",
        "Card is focused for the next scan"
    );

    // Two payments of one product each: two activations each (product, Pay).
    b.click("biere").await;
    b.click("Pay").await;
    b.balance_is("18.20 €").await;
    b.click("chips").await;
    b.click("Pay").await;
    b.balance_is("17.20 €").await;
    b.find("//*[@role='status' and contains(., 'Paid 1.00 €')]")
        .await;

    // Cancel the last one from the till's list.
    b.click("Cancel").await;
    b.balance_is("18.20 €").await;
    b.button("Redo").await;

    // Top up; a bad amount says so next to the field and changes nothing.
    b.fill("Amount", "abc").await;
    b.click("Top up").await;
    b.find("//p[@id='amount-error' and contains(., 'Type an amount')]")
        .await;
    b.balance_is("18.20 €").await;
    b.fill("Amount", "5").await;
    b.click("Top up").await;
    b.balance_is("23.20 €").await;

    // A refusal names its reason.
    b.fill("Amount", "100").await;
    b.click("Pay").await;
    b.find("//*[@role='alert' and contains(., 'Insufficient balance')]")
        .await;
    b.balance_is("23.20 €").await;

    // An order of two products, paid at once: one payment per product.
    b.click("biere").await;
    b.click("chips").await;
    b.click("Pay").await;
    b.balance_is("20.40 €").await;
    b.find("//*[@role='status' and contains(., 'Paid 2.80 €')]")
        .await;

    // Hand the balance back.
    b.click("Hand back").await;
    b.balance_is("0.00 €").await;

    // An order refused part-way: the alert says what was paid and what was not, and the
    // unpaid line stays in the order.
    b.fill("Amount", "1.50").await;
    b.click("Top up").await;
    b.balance_is("1.50 €").await;
    b.click("chips").await;
    b.click("biere").await;
    b.click("Pay").await;
    b.find(
        "//*[@role='alert' and contains(., 'Not paid: 1 × biere') \
         and contains(., 'Paid: 1 × chips')]",
    )
    .await;
    b.balance_is("0.50 €").await;
    b.find("//section[@aria-label='Order']//li[normalize-space(.)='1 × biere']")
        .await;
    b.click("Clear").await;
    b.click("Hand back").await;
    b.balance_is("0.00 €").await;
    b.log_out().await;

    // The association (rights 1) scans a card and reads its balance.
    b.log_in(base, "bde").await;
    b.scan("WEB0001").await;
    b.balance_is("0.00 €").await;
    b.log_out().await;

    // The president adds a product; a bad price is refused next to its field.
    b.log_in(base, "prez").await;
    b.link("Office").await.click().await.unwrap();
    b.at("/office").await;
    b.link("Products").await.click().await.unwrap();
    b.at("/office/products").await;
    b.fill("Name", "Mojito").await;
    b.fill("Unit price", "six").await;
    b.click("Save").await;
    b.find("//p[@id='f-unit_price-error' and contains(., 'Type a price')]")
        .await;
    b.fill("Unit price", "6.50").await;
    b.field("Category")
        .await
        .select_by_label("Boissons")
        .await
        .unwrap();
    b.click("Save").await;
    b.find("//td/a[normalize-space(.)='Mojito']").await;

    // It is on the till at once, and paid there.
    b.link("Till").await.click().await.unwrap();
    b.at("/till").await;
    b.scan("WEB0002").await;
    b.fill("Amount", "30").await;
    b.click("New card").await;
    b.balance_is("30.00 €").await;
    b.click("Mojito").await;
    b.click("Pay").await;
    b.balance_is("23.50 €").await;

    // And in the day's report.
    b.link("Office").await.click().await.unwrap();
    b.link("Reports").await.click().await.unwrap();
    b.at("/office/reports").await;
    b.find("//table//tr[td[1]='Mojito' and td[2]='1' and td[3]='6.50 €']")
        .await;
    b.find("//*[name()='svg' and @aria-label='Payments by hour']")
        .await;
    b.button("Download CSV").await;
    b.log_out().await;
}

/// Screenshots of each page at a phone's and a desktop's width.
async fn screenshots(b: &Browser, server: &Server, dir: PathBuf) {
    std::fs::create_dir_all(&dir).unwrap();
    let base = &server.base;
    b.log_in(base, "prez").await;
    for (width, height) in [(360u32, 800u32), (1280, 900)] {
        b.client.set_window_size(width, height).await.unwrap();
        for (name, path) in [
            ("till", "/till?card=WEB0002"),
            ("office-products", "/office/products"),
            ("reports", "/office/reports"),
        ] {
            b.client.goto(&format!("{base}{path}")).await.unwrap();
            if name == "till" {
                // An order being taken.
                for product in ["biere", "biere", "chips"] {
                    b.click(product).await;
                }
                b.client
                    .execute("window.scrollTo(0, 0)", vec![])
                    .await
                    .unwrap();
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
            let png = b.client.screenshot().await.unwrap();
            std::fs::write(dir.join(format!("{name}-{width}.png")), png).unwrap();
        }
    }
    b.log_out().await;
    for (width, height) in [(360u32, 800u32), (1280, 900)] {
        b.client.set_window_size(width, height).await.unwrap();
        b.client.goto(&format!("{base}/login")).await.unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await;
        let png = b.client.screenshot().await.unwrap();
        std::fs::write(dir.join(format!("login-{width}.png")), png).unwrap();
    }
}

#[tokio::test]
async fn a_member_in_a_real_browser() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let server = Server::start(crate::harness::Backend::Sqlite);
    let outcome =
        tokio::time::timeout(Duration::from_secs(180), member_flows(&browser, &server)).await;
    browser.stop().await;
    outcome.expect("the member's flows took more than 3 minutes");
}

/// A member sets their password with the invitation's link, logs in, finds their card's
/// balance and history, saves preferences, declares the card lost and logs out.
async fn member_flows(b: &Browser, server: &Server) {
    use crate::v1_staff::{post, session};
    let base = &server.base;
    let bde = session(server, "bde").await;
    let barman = session(server, "barman").await;
    let id = crate::v1_me::member_with_card(
        server,
        &bde,
        "Durand",
        "zoe@example.org",
        "04A1B2C3D4",
        "20.00",
    )
    .await;
    let (status, _, v) = post(
        server,
        "/v1/cards/04A1B2C3D4/payments",
        &barman,
        json!({"amount": "2.50"}),
    )
    .await;
    assert_eq!(status, 201, "{v}");
    let (status, _, v) = post(
        server,
        &format!("/v1/members/{id}/invitation"),
        &bde,
        serde_json::Value::Null,
    )
    .await;
    assert_eq!(status, 201, "{v}");
    let link = v["data"]["link"].as_str().unwrap().to_owned();

    // The invitation's page: choose a password (a short one is refused next to nothing lost).
    b.client.goto(&link).await.unwrap();
    b.fill("Password", "short").await;
    b.client
        .execute(
            "document.getElementById('password').removeAttribute('minlength')",
            vec![],
        )
        .await
        .unwrap();
    b.click("Save").await;
    b.find("//*[@role='alert' and contains(., 'at least 8 characters')]")
        .await;
    b.fill("Password", "correct horse").await;
    b.click("Save").await;
    b.at("/me/login").await;
    b.find("//*[@role='status' and contains(., 'Your password is saved')]")
        .await;

    // A wrong password, then the right one.
    b.fill("E-mail", "zoe@example.org").await;
    b.fill("Password", "wrong horse").await;
    b.click("Log in").await;
    b.find("//*[@role='alert' and contains(., 'Wrong e-mail or password')]")
        .await;
    b.fill("Password", "correct horse").await;
    b.click("Log in").await;
    b.at("/me").await;

    // The card, its balance and its history.
    b.find("//h2[normalize-space(.)='My cards']").await;
    b.balance_is("17.50 €").await;
    b.find("//h2[normalize-space(.)='History']").await;
    b.find("//table//tr[td[2]='Payment' and td[3]='-2.50 €']")
        .await;

    // Preferences: a bad amount is said next to its field; then saved.
    b.find("//h2[normalize-space(.)='Preferences']").await;
    b.field("SMS").await.click().await.unwrap();
    b.field("Advertisements").await.click().await.unwrap();
    b.fill("Low balance alert", "five").await;
    b.click("Save").await;
    b.find("//p[@id='p-low-error']").await;
    b.fill("Low balance alert", "5").await;
    b.click("Save").await;
    b.find("//*[@role='status' and contains(., 'Preferences saved.')]")
        .await;
    for (label, checked) in [
        ("E-mail", "true"),
        ("SMS", "true"),
        ("Advertisements", "true"),
        ("Push", "false"),
    ] {
        let value = b.field(label).await.prop("checked").await.unwrap();
        assert_eq!(value.as_deref(), Some(checked), "{label}");
    }
    assert_eq!(
        b.field("Low balance alert")
            .await
            .prop("value")
            .await
            .unwrap()
            .as_deref(),
        Some("5.00")
    );
    if let Some(dir) = std::env::var_os("ARDOISE_SCREENSHOTS") {
        let dir = PathBuf::from(dir);
        std::fs::create_dir_all(&dir).unwrap();
        for (width, height) in [(360u32, 800u32), (1280, 900)] {
            b.client.set_window_size(width, height).await.unwrap();
            b.client.goto(&format!("{base}/me")).await.unwrap();
            tokio::time::sleep(Duration::from_millis(300)).await;
            let png = b.client.screenshot().await.unwrap();
            std::fs::write(dir.join(format!("me-{width}.png")), png).unwrap();
        }
        b.client.set_window_size(1280, 900).await.unwrap();
    }

    // Declare the card lost: a confirmation, then the POS refuses it.
    b.click("Declare lost").await;
    b.at("/me/cards/04A1B2C3D4/lost").await;
    b.find("//h1[normalize-space(.)='Declare this card lost?']")
        .await;
    b.click("Declare lost").await;
    b.at("/me").await;
    b.find("//*[@role='status' and contains(., 'declared lost')]")
        .await;
    let pos = server.login("barman").await;
    let v = server
        .api(
            "client/payer",
            &[("jeton", &pos), ("idCarte", "04A1B2C3D4"), ("montant", "1")],
        )
        .await;
    assert_eq!(v["status"], "carte_bloquee", "{v}");

    // Log out: back to the members' login, and /me asks for it again.
    b.click("Log out").await;
    b.at("/me/login").await;
    b.client.goto(&format!("{base}/me")).await.unwrap();
    b.at("/me/login").await;
}

#[tokio::test]
async fn a_coupon_is_redeemed_at_the_till_and_counted_in_the_report() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let server = bar_server();
    let outcome =
        tokio::time::timeout(Duration::from_secs(180), voucher_flow(&browser, &server)).await;
    browser.stop().await;
    outcome.expect("the voucher flow took more than 3 minutes");
}

/// A president issues a coupon of 5.00 through `/v1`; the barman redeems it at the till's
/// "Voucher" box on a scanned card, once; the report counts it.
async fn voucher_flow(b: &Browser, server: &Server) {
    let base = &server.base;
    let resp = server
        .client
        .post(format!("{base}/v1/sessions"))
        .json(&json!({"login": "prez", "password": "secret-pw"}))
        .send()
        .await
        .unwrap();
    let v: serde_json::Value = resp.json().await.unwrap();
    let token = v["data"]["token"].as_str().unwrap().to_owned();
    let resp = server
        .client
        .post(format!("{base}/v1/vouchers"))
        .bearer_auth(&token)
        .json(&json!({"kind": "coupon", "value": "5.00"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let v: serde_json::Value = resp.json().await.unwrap();
    let code = v["data"]["items"][0]["code"].as_str().unwrap().to_owned();

    b.log_in(base, "barman").await;
    b.scan("WEB0009").await;
    b.fill("Amount", "10").await;
    b.click("New card").await;
    b.balance_is("10.00 €").await;
    b.fill("Voucher", &code).await;
    b.click("Redeem").await;
    b.balance_is("15.00 €").await;
    b.find("//*[@role='status' and contains(., 'Voucher redeemed')]")
        .await;
    // Scanned again: refused, saying so, and nothing more is credited.
    b.fill("Voucher", &code).await;
    b.click("Redeem").await;
    b.find("//*[@role='alert' and contains(., 'already used')]")
        .await;
    b.balance_is("15.00 €").await;
    // The report: redeemed in the period, none outstanding.
    b.client
        .goto(&format!("{base}/office/reports"))
        .await
        .unwrap();
    b.find("//dt[normalize-space(.)='Coupons redeemed in the period']/following-sibling::dd[contains(., '5.00 €')]")
        .await;
    b.find("//dt[normalize-space(.)='Coupons outstanding']/following-sibling::dd[contains(., '0.00 €')]")
        .await;
    // And the printable Z report.
    b.client
        .goto(&format!("{base}/office/reports/z"))
        .await
        .unwrap();
    b.find(
        "//dt[normalize-space(.)='Coupons redeemed']/following-sibling::dd[contains(., '5.00 €')]",
    )
    .await;
    b.log_out().await;
}

#[tokio::test]
async fn the_members_exchange_in_a_real_browser() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let server = Server::start(crate::harness::Backend::Sqlite);
    let outcome =
        tokio::time::timeout(Duration::from_secs(240), exchange_flows(&browser, &server)).await;
    browser.stop().await;
    outcome.expect("the exchange's flows took more than 4 minutes");
}

impl Browser {
    async fn member_log_in(&self, base: &str, email: &str) {
        self.client.goto(&format!("{base}/me/login")).await.unwrap();
        self.fill("E-mail", email).await;
        self.fill("Password", "correct horse").await;
        self.click("Log in").await;
        self.at("/me").await;
    }

    async fn member_log_out(&self) {
        self.click("Log out").await;
        self.at("/me/login").await;
    }
}

/// Alice publishes an offer; Bob finds it by category and words and writes; Alice sees the
/// unread message and answers; Bob sees hers, pays Alice through the confirmation page; both
/// see the payment in their history.
async fn exchange_flows(b: &Browser, server: &Server) {
    use crate::v1_staff::{post, session};
    let base = &server.base;
    let prez = session(server, "prez").await;
    let bde = session(server, "bde").await;
    for name in ["Musique", "Jardin"] {
        let (status, _, v) = post(server, "/v1/categories", &prez, json!({"name": name})).await;
        assert_eq!(status, 201, "{v}");
    }
    crate::exchange::member(server, &bde, "Alice", "A11CE001", "20.00").await;
    crate::exchange::member(server, &bde, "Bob", "B0B00001", "30.00").await;

    // Alice publishes from the member space's navigation.
    b.member_log_in(base, "alice@example.org").await;
    b.link("Exchange").await.click().await.unwrap();
    b.at("/me/exchange").await;
    b.link("Publish an offer or a request")
        .await
        .click()
        .await
        .unwrap();
    b.at("/me/exchange/new").await;
    b.field("Kind")
        .await
        .select_by_label("Offer")
        .await
        .unwrap();
    b.field("Category")
        .await
        .select_by_label("Musique")
        .await
        .unwrap();
    b.fill("Price", "douze").await;
    b.click("Save").await;
    // An empty description and a bad price: each said next to its field.
    b.find("//p[@id='o-description-error']").await;
    b.find("//p[@id='o-price-error' and contains(., 'Type an amount')]")
        .await;
    b.fill("Description", "Cours de guitare pour débutants, le samedi")
        .await;
    b.fill("Price", "15").await;
    b.click("Save").await;
    b.find("//*[@role='status' and contains(., 'Published')]")
        .await;
    b.member_log_out().await;

    // Bob finds it by category and words, and writes to Alice.
    b.member_log_in(base, "bob@example.org").await;
    b.link("Exchange").await.click().await.unwrap();
    b.field("Category")
        .await
        .select_by_label("Jardin")
        .await
        .unwrap();
    b.fill("Words", "guitare").await;
    b.click("Search").await;
    b.find("//p[contains(., 'No open offer or request matches.')]")
        .await;
    b.field("Category")
        .await
        .select_by_label("Musique")
        .await
        .unwrap();
    b.fill("Words", "guitare samedi").await;
    b.click("Search").await;
    b.link("Cours de guitare pour débutants, le samedi")
        .await
        .click()
        .await
        .unwrap();
    b.fill("Message", "Bonjour, dispo samedi 12 ?").await;
    b.click("Write").await;
    b.find("//h1[normalize-space(.)='Conversation with Alice']")
        .await;
    b.find("//ol[@class='messages']/li[contains(., 'Bonjour, dispo samedi 12 ?')]")
        .await;
    b.member_log_out().await;

    // Alice sees one unread message, reads it and answers.
    b.member_log_in(base, "alice@example.org").await;
    b.link("Exchange").await.click().await.unwrap();
    b.find("//a[starts-with(normalize-space(.), 'Conversations') and contains(., '1 unread')]")
        .await
        .click()
        .await
        .unwrap();
    b.at("/me/exchange/conversations").await;
    b.find("//li[contains(., 'Conversation with Bob') and contains(., '1 unread')]")
        .await;
    b.link("Conversation with Bob").await.click().await.unwrap();
    b.find("//ol[@class='messages']/li[contains(., 'Bonjour, dispo samedi 12 ?')]")
        .await;
    b.fill("Message", "Oui, à 15 h.").await;
    b.click("Send").await;
    b.find("//ol[@class='messages']/li[contains(., 'Oui, à 15 h.')]")
        .await;
    b.client
        .goto(&format!("{base}/me/exchange/conversations"))
        .await
        .unwrap();
    b.find("//li[contains(., 'Conversation with Bob')]").await;
    assert!(
        b.client
            .find(Locator::XPath("//*[contains(., '1 unread')]"))
            .await
            .is_err(),
        "read: no unread count left"
    );
    b.member_log_out().await;

    // Bob sees Alice's answer, and pays her: the form, the confirmation, the receipt.
    b.member_log_in(base, "bob@example.org").await;
    b.link("Exchange").await.click().await.unwrap();
    b.link("Conversations 1 unread")
        .await
        .click()
        .await
        .unwrap();
    b.link("Conversation with Alice")
        .await
        .click()
        .await
        .unwrap();
    b.find("//ol[@class='messages']/li[contains(., 'Oui, à 15 h.')]")
        .await;
    b.link("Pay Alice").await.click().await.unwrap();
    b.at("/me/exchange/pay").await;
    assert_eq!(
        b.field("Amount")
            .await
            .prop("value")
            .await
            .unwrap()
            .as_deref(),
        Some("15.00"),
        "the offer's price"
    );
    b.fill("Amount", "0").await;
    b.click("Pay").await;
    b.find("//p[@id='p-amount-error' and contains(., 'Type an amount above zero')]")
        .await;
    b.fill("Amount", "15").await;
    b.fill("Note", "Cours du 12").await;
    b.click("Pay").await;
    b.find("//h1[normalize-space(.)='Confirm the payment']")
        .await;
    b.text_is("//output[@aria-label='Amount']", "15.00 €").await;
    b.click("Confirm the payment").await;
    b.find("//*[@role='status' and contains(., 'Paid 15.00 €')]")
        .await;
    b.balance_is("15.00 €").await;
    b.link("My space").await.click().await.unwrap();
    b.at("/me").await;
    b.balance_is("15.00 €").await;
    b.find("//table//tr[td[2]='Transfer' and td[3]='-15.00 €']")
        .await;
    if let Some(dir) = std::env::var_os("ARDOISE_SCREENSHOTS") {
        let dir = PathBuf::from(dir);
        std::fs::create_dir_all(&dir).unwrap();
        for (width, height) in [(360u32, 800u32), (1280, 900)] {
            b.client.set_window_size(width, height).await.unwrap();
            b.client
                .goto(&format!("{base}/me/exchange?q=guitare"))
                .await
                .unwrap();
            tokio::time::sleep(Duration::from_millis(300)).await;
            let png = b.client.screenshot().await.unwrap();
            std::fs::write(dir.join(format!("exchange-{width}.png")), png).unwrap();
        }
        b.client.set_window_size(1280, 900).await.unwrap();
    }
    b.member_log_out().await;

    // Alice sees it in her history.
    b.member_log_in(base, "alice@example.org").await;
    b.balance_is("35.00 €").await;
    b.find("//table//tr[td[2]='Transfer' and td[3]='15.00 €']")
        .await;
    b.member_log_out().await;
}
