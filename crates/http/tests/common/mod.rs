//! A bar in memory behind the real routes: `MemoryLedger` for cards and products, the auth
//! crate's in-memory staff store, a settable clock, and a ledger wrapper that can be told to
//! fail (database down, internal error).

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};

use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::test::{self, TestRequest};
use actix_web::{web, App};
use ardoise_auth::memory::{ManualClock, MemoryOAuthStore, MemoryStaffStore};
use ardoise_auth::{
    hash_password, token_hash, OAuth, OAuthSettings, OsTokens, Staff, StaffSettings,
};
use ardoise_domain::card::Card;
use ardoise_domain::memory::MemoryLedger;
use ardoise_domain::ports::{
    Catalog, Ledger, Movement, Receipt, Session, SessionStore, StaffDirectory, StaffUser, Totals,
};
use ardoise_domain::{
    Actor, Bar, CardId, DomainError, Login, Members, Money, Policy, Product, Rights, Transaction,
    TransactionId,
};
use ardoise_http::AppState;
use async_trait::async_trait;
use chrono::{TimeZone, Utc};
use serde_json::Value;

pub const PASSWORD: &str = "motdepasse";
pub const ORIGIN: &str = "https://caisse.example.org";

/// The staff of every test: login, rights, staff card.
pub const STAFF: [(&str, Rights, Option<&str>); 5] = [
    ("prez", Rights::President, Some("AAAA0001")),
    ("barman", Rights::BarMember, Some("BBBB0002")),
    ("barmaid", Rights::BarMember, None),
    ("bde", Rights::Association, None),
    ("honeypot", Rights::Honeypot, None),
];

/// A known session token for each test user (30 alphanumerics), so most tests skip argon2.
pub fn token(login: &str) -> String {
    format!("{login}{}", "0".repeat(30 - login.len()))
}

fn password_hash() -> String {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| hash_password(PASSWORD).unwrap())
        .clone()
}

/// A ledger that delegates to `MemoryLedger` unless told to fail its next call.
pub struct Faulty {
    pub inner: Arc<MemoryLedger>,
    pub fail_next: Mutex<Option<DomainError>>,
}

impl Faulty {
    fn fault(&self) -> Result<(), DomainError> {
        match self.fail_next.lock().unwrap().take() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

#[async_trait]
impl Ledger for Faulty {
    async fn card(&self, id: &CardId) -> Result<Option<Card>, DomainError> {
        self.fault()?;
        self.inner.card(id).await
    }
    async fn cards(&self) -> Result<Vec<Card>, DomainError> {
        self.fault()?;
        self.inner.cards().await
    }
    async fn transaction(&self, id: TransactionId) -> Result<Option<Transaction>, DomainError> {
        self.fault()?;
        self.inner.transaction(id).await
    }
    async fn card_transactions(&self, card: &CardId) -> Result<Vec<Transaction>, DomainError> {
        self.fault()?;
        self.inner.card_transactions(card).await
    }
    async fn transactions(
        &self,
        after: Option<TransactionId>,
        limit: Option<u32>,
    ) -> Result<Vec<Transaction>, DomainError> {
        self.fault()?;
        self.inner.transactions(after, limit).await
    }
    async fn totals(&self) -> Result<Totals, DomainError> {
        self.fault()?;
        self.inner.totals().await
    }
    async fn apply(&self, movement: Movement) -> Result<Receipt, DomainError> {
        self.fault()?;
        self.inner.apply(movement).await
    }
}

pub struct World {
    pub ledger: Arc<MemoryLedger>,
    pub faulty: Arc<Faulty>,
    pub store: Arc<MemoryStaffStore>,
    pub oauth_store: Arc<MemoryOAuthStore>,
    pub clock: Arc<ManualClock>,
    pub state: AppState,
}

pub async fn world() -> World {
    world_with(StaffSettings::default()).await
}

pub async fn world_with(settings: StaffSettings) -> World {
    let ledger = Arc::new(MemoryLedger::new());
    ledger
        .set_product(Product {
            name: "biere".into(),
            unit_price: Money::from_cents(180),
            bundles: BTreeMap::from([(6, Money::from_cents(1000))]),
            category: None,
        })
        .await
        .unwrap();
    ledger
        .set_product(Product {
            name: "soft".into(),
            unit_price: Money::from_cents(120),
            bundles: BTreeMap::new(),
            category: None,
        })
        .await
        .unwrap();
    let faulty = Arc::new(Faulty {
        inner: ledger.clone(),
        fail_next: Mutex::new(None),
    });
    let clock = Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2016, 4, 11, 11, 34, 30).unwrap(),
    ));
    let store = Arc::new(MemoryStaffStore::new());
    let now = ardoise_domain::ports::Clock::now(clock.as_ref());
    for (login, rights, card) in STAFF {
        store
            .add_user(StaffUser {
                login: Login::parse(login).unwrap(),
                rights,
                card: card.map(|c| CardId::parse(c).unwrap()),
                password_hash: password_hash(),
                active: true,
            })
            .await
            .unwrap();
        store
            .create(Session {
                token_hash: token_hash(&token(login)),
                holder: ardoise_domain::ports::SessionHolder::Staff(Login::parse(login).unwrap()),
                created_at: now,
                last_seen: now,
            })
            .await
            .unwrap();
    }
    let bar = Bar::new(
        faulty.clone(),
        ledger.clone(),
        clock.clone(),
        Policy::default(),
    );
    let staff = Staff::new(
        store.clone(),
        store.clone(),
        clock.clone(),
        Arc::new(OsTokens),
        settings,
    );
    let oauth_store = Arc::new(MemoryOAuthStore::new());
    let oauth = OAuth::new(
        oauth_store.clone(),
        oauth_store.clone(),
        staff.clone(),
        clock.clone(),
        OAuthSettings::default(),
    );
    let members = Members::new(ledger.clone(), faulty.clone(), clock.clone());
    let member_access = ardoise_auth::MemberAccess::new(
        staff.clone(),
        ledger.clone(),
        ledger.clone(),
        Arc::new(ardoise_domain::ports::NoMemberMail),
    );
    let me = ardoise_domain::MemberSpace::new(
        ledger.clone(),
        ledger.clone(),
        faulty.clone(),
        clock.clone(),
    );
    let services = no_services(&ledger, &faulty, &clock);
    let state = AppState::new(bar, staff, oauth, members, member_access, me, services);
    World {
        ledger,
        faulty,
        store,
        oauth_store,
        clock,
        state,
    }
}

impl World {
    pub fn actor(&self, login: &str) -> Actor {
        let rights = STAFF
            .iter()
            .find(|(l, _, _)| *l == login)
            .map(|(_, r, _)| *r)
            .unwrap();
        Actor {
            login: Login::parse(login).unwrap(),
            rights,
        }
    }

    /// Opens a card directly through the rules, as the president.
    pub async fn open(&self, card: &str, balance: &str) -> i64 {
        self.state
            .bar
            .open_card(
                &self.actor("prez"),
                &CardId::parse(card).unwrap(),
                Money::parse(balance).unwrap(),
                false,
            )
            .await
            .unwrap()
            .transaction
            .0
    }

    pub async fn balance(&self, card: &str) -> Money {
        self.ledger
            .card(&CardId::parse(card).unwrap())
            .await
            .unwrap()
            .unwrap()
            .balance
    }

    pub async fn transaction_count(&self) -> usize {
        self.ledger.transactions(None, None).await.unwrap().len()
    }

    pub fn fail_next(&self, error: DomainError) {
        *self.faulty.fail_next.lock().unwrap() = Some(error);
    }
}

/// The real routes and CORS middleware over the world's state.
pub async fn app(
    state: &AppState,
    origins: &[&str],
) -> impl Service<
    actix_http::Request,
    Response = ServiceResponse<impl MessageBody>,
    Error = actix_web::Error,
> {
    let origins: Vec<String> = origins.iter().map(|o| o.to_string()).collect();
    test::init_service(
        App::new()
            .app_data(web::Data::new(state.clone()))
            .wrap(ardoise_http::cors(&origins))
            .configure(ardoise_http::configure),
    )
    .await
}

pub const PEER: &str = "192.0.2.10:50000";

/// A POST of a form body with its Content-Type.
pub fn form(path: &str, body: &str) -> TestRequest {
    TestRequest::post()
        .uri(path)
        .peer_addr(PEER.parse::<SocketAddr>().unwrap())
        .insert_header(("Content-Type", "application/x-www-form-urlencoded"))
        .set_payload(body.to_owned())
}

/// A POST with no Content-Type at all, as the Android app sends.
pub fn bare(path: &str, body: &str) -> TestRequest {
    TestRequest::post()
        .uri(path)
        .peer_addr(PEER.parse::<SocketAddr>().unwrap())
        .set_payload(body.to_owned())
}

/// A POST of a JSON body.
pub fn json(path: &str, body: &str) -> TestRequest {
    TestRequest::post()
        .uri(path)
        .peer_addr(PEER.parse::<SocketAddr>().unwrap())
        .insert_header(("Content-Type", "application/json"))
        .set_payload(body.to_owned())
}

pub struct Answer {
    pub code: StatusCode,
    pub content_type: String,
    pub headers: actix_web::http::header::HeaderMap,
    pub text: String,
    pub json: Value,
}

impl Answer {
    pub fn status(&self) -> &str {
        self.json["status"].as_str().unwrap_or("<none>")
    }
}

pub async fn send<S, B>(app: &S, req: TestRequest) -> Answer
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let res = test::call_service(app, req.to_request()).await;
    let code = res.status();
    let headers = res.headers().clone();
    let content_type = headers
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let body = test::read_body(res).await;
    let text = String::from_utf8(body.to_vec()).unwrap();
    let json = serde_json::from_str(&text).unwrap_or(Value::Null);
    Answer {
        code,
        content_type,
        headers,
        text,
        json,
    }
}

/// POSTs a form and checks the POS envelope: HTTP 200, JSON, a status.
pub async fn post<S, B>(app: &S, path: &str, body: &str) -> Answer
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let a = send(app, form(path, body)).await;
    assert_eq!(a.code, StatusCode::OK, "{path}: {}", a.text);
    assert_eq!(a.content_type, "application/json", "{path}");
    assert!(a.json["status"].is_string(), "{path}: {}", a.text);
    a
}

/// The vouchers and mandates have no in-memory store: these tests do not reach them (the
/// black-box tests do, on SQLite and PostgreSQL).
struct NoServices;

#[async_trait::async_trait]
impl ardoise_domain::voucher::VoucherBook for NoServices {
    async fn add_vouchers(
        &self,
        _: Vec<ardoise_domain::Voucher>,
    ) -> Result<(), ardoise_domain::DomainError> {
        Err(ardoise_domain::DomainError::StorageUnavailable)
    }
    async fn voucher(
        &self,
        _: &ardoise_domain::VoucherCode,
    ) -> Result<Option<ardoise_domain::Voucher>, ardoise_domain::DomainError> {
        Err(ardoise_domain::DomainError::StorageUnavailable)
    }
    async fn use_ticket(
        &self,
        _: &ardoise_domain::VoucherCode,
        _: String,
        _: Option<CardId>,
        _: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), ardoise_domain::DomainError> {
        Err(ardoise_domain::DomainError::StorageUnavailable)
    }
    async fn voucher_totals(
        &self,
        _: chrono::DateTime<chrono::Utc>,
    ) -> Result<ardoise_domain::voucher::VoucherTotals, ardoise_domain::DomainError> {
        Err(ardoise_domain::DomainError::StorageUnavailable)
    }
}

#[async_trait::async_trait]
impl ardoise_domain::mandate::MandateBook for NoServices {
    async fn add_mandate(
        &self,
        _: ardoise_domain::mandate::NewMandate,
    ) -> Result<ardoise_domain::Mandate, ardoise_domain::DomainError> {
        Err(ardoise_domain::DomainError::StorageUnavailable)
    }
    async fn mandates_of(
        &self,
        _: ardoise_domain::MemberId,
    ) -> Result<Vec<ardoise_domain::Mandate>, ardoise_domain::DomainError> {
        Err(ardoise_domain::DomainError::StorageUnavailable)
    }
    async fn mandate(
        &self,
        _: i64,
    ) -> Result<Option<ardoise_domain::Mandate>, ardoise_domain::DomainError> {
        Err(ardoise_domain::DomainError::StorageUnavailable)
    }
    async fn live_mandate(
        &self,
        _: ardoise_domain::MemberId,
        _: &str,
        _: chrono::DateTime<chrono::Utc>,
    ) -> Result<Option<ardoise_domain::Mandate>, ardoise_domain::DomainError> {
        Err(ardoise_domain::DomainError::StorageUnavailable)
    }
    async fn revoke_mandate(
        &self,
        _: i64,
        _: String,
        _: chrono::DateTime<chrono::Utc>,
    ) -> Result<bool, ardoise_domain::DomainError> {
        Err(ardoise_domain::DomainError::StorageUnavailable)
    }
    async fn debit(
        &self,
        _: i64,
    ) -> Result<Option<ardoise_domain::Debit>, ardoise_domain::DomainError> {
        Err(ardoise_domain::DomainError::StorageUnavailable)
    }
    async fn debit_by_transaction(
        &self,
        _: ardoise_domain::TransactionId,
    ) -> Result<Option<ardoise_domain::Debit>, ardoise_domain::DomainError> {
        Err(ardoise_domain::DomainError::StorageUnavailable)
    }
}

#[async_trait::async_trait]
impl ardoise_domain::service::ServiceTokenStore for NoServices {
    async fn set_service_token(
        &self,
        _: &str,
        _: i16,
        _: String,
        _: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), ardoise_domain::DomainError> {
        Err(ardoise_domain::DomainError::StorageUnavailable)
    }
    async fn service_token_hash(
        &self,
        _: &str,
        _: i16,
    ) -> Result<Option<String>, ardoise_domain::DomainError> {
        Err(ardoise_domain::DomainError::StorageUnavailable)
    }
}

fn no_services(
    ledger: &Arc<MemoryLedger>,
    faulty: &Arc<Faulty>,
    clock: &Arc<ManualClock>,
) -> (
    ardoise_domain::Vouchers,
    ardoise_domain::Mandates,
    ardoise_auth::ServiceTokens,
) {
    (
        ardoise_domain::Vouchers::new(
            faulty.clone(),
            Arc::new(NoServices),
            ledger.clone(),
            clock.clone(),
            Arc::new(OsTokens),
            Policy::default(),
        ),
        ardoise_domain::Mandates::new(
            faulty.clone(),
            Arc::new(NoServices),
            Arc::new(MemoryOAuthStore::new()),
            clock.clone(),
            Policy::default(),
        ),
        ardoise_auth::ServiceTokens::new(
            Arc::new(NoServices),
            Arc::new(MemoryOAuthStore::new()),
            clock.clone(),
        ),
    )
}
