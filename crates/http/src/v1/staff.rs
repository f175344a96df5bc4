//! The staff resources of `/v1`: sessions, cards, money movements, corrections, the ledger and
//! the statistics. Each handler parses its input, calls one use case of `Bar` or `Staff` (the
//! same ones the POS dialect calls) and renders the outcome in the envelope — no rule here.

use actix_web::http::header;
use actix_web::web::{Data, Path, Payload};
use actix_web::{HttpRequest, HttpResponse};
use ardoise_auth::Authorization;
use ardoise_domain::{
    Actor, Card, DomainError, Money, PayBy, Product, Receipt, StaffMove, Statistics, Transaction,
};
use serde::Serialize;
use utoipa::ToSchema;

use super::{
    card_path, created, keyed, mark_replayed, no_content, ok, page_of, paged, read_params, reply,
    staff, transaction_path, Failure, Lang, PageJson, Success,
};
use crate::oauth::source;
use crate::openapi::{Amount, AmountInput, CardParam, PageParams, PriceInput, TransactionParam};
use crate::params::Ty;
use crate::principal::Principal;
use crate::AppState;

/// Money as `/v1` writes it: a string with exactly two decimals.
fn money(m: Money) -> String {
    m.to_fixed2()
}

const EUR: &str = "EUR";

// ---------------------------------------------------------------- sessions

/// An open staff session.
#[derive(Serialize, ToSchema)]
struct SessionJson {
    /// The bearer token of the session.
    token: String,
    /// Seconds of inactivity after which the session ends.
    expires_in: i64,
    login: String,
    /// The staff user's rights: 1 (cashier) to 3 (administrator).
    rights: i16,
}

/// The body of `POST /v1/sessions` (JSON or form): `login` and `password`, or `card`.
#[derive(ToSchema)]
#[allow(dead_code)] // describes the body that `Params` parses
struct SessionRequest {
    login: Option<String>,
    password: Option<String>,
    /// A staff card, instead of `login` and `password`.
    card: Option<String>,
}

/// `POST /v1/sessions`: `{"login", "password"}` or `{"card"}` → 201 with a bearer token.
#[utoipa::path(
    post,
    path = "/v1/sessions",
    tag = "sessions",
    summary = "Log in (public)",
    request_body(content(
        (SessionRequest = "application/json"),
        (SessionRequest = "application/x-www-form-urlencoded"),
    )),
    responses(
        (status = 201, description = "`SESSION_CREATED`; `Location: /v1/sessions/current`", body = Success<SessionJson>),
        (status = 400, description = "`VALIDATION_ERROR`", body = Failure),
        (status = 401, description = "`INVALID_CREDENTIALS_ERROR`", body = Failure),
        (status = 404, description = "Unknown staff card", body = Failure),
        (status = 429, description = "Too many failed attempts (`Retry-After`)", body = Failure),
    ),
)]
pub(super) async fn open_session(
    state: Data<AppState>,
    req: HttpRequest,
    payload: Payload,
) -> HttpResponse {
    let lang = Lang::of(&req);
    reply(
        lang,
        async {
            let p = read_params(
                &req,
                payload,
                &[
                    ("login", Ty::Text),
                    ("password", Ty::Text),
                    ("card", Ty::Text),
                ],
            )
            .await?;
            let card = p.card_opt("card")?;
            let grant = match ((p.get("login"), p.get("password")), card) {
                ((Some(login), Some(password)), None) => {
                    state
                        .staff
                        .login_password(login, password, source(&req))
                        .await?
                }
                ((None, None), Some(card)) => state.staff.login_card(&card, source(&req)).await?,
                _ => {
                    return Err(DomainError::malformed(
                        "give either `login` and `password`, or `card`",
                    ))
                }
            };
            Ok(created(
                lang,
                "SESSION_CREATED",
                "/v1/sessions/current",
                SessionJson {
                    token: grant.token,
                    expires_in: state.staff.settings().idle.num_seconds(),
                    login: grant.login.to_string(),
                    rights: grant.rights.level(),
                },
            ))
        }
        .await,
    )
}

/// `DELETE /v1/sessions/current`: ends the staff session of the bearer token → 204.
#[utoipa::path(
    delete,
    path = "/v1/sessions/current",
    tag = "sessions",
    summary = "Log out",
    responses((status = 204, description = "The session is closed")),
    security(("bearer" = [])),
)]
pub(super) async fn close_session(
    state: Data<AppState>,
    req: HttpRequest,
    principal: Principal,
) -> HttpResponse {
    let lang = Lang::of(&req);
    reply(
        lang,
        async {
            staff(&principal)?;
            let token = req
                .headers()
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| match Authorization::parse(v) {
                    Ok(Authorization::Bearer(token)) => Some(token),
                    _ => None,
                })
                .ok_or(DomainError::InsufficientRights)?;
            state.staff.logout(&token).await?;
            Ok(no_content())
        }
        .await,
    )
}

// ---------------------------------------------------------------- cards

/// A card as staff see it.
#[derive(Serialize, ToSchema)]
pub(super) struct CardJson {
    card: String,
    #[schema(value_type = Amount)]
    balance: String,
    /// Always `EUR`.
    currency: &'static str,
    /// Rights 3 only.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Amount>)]
    overdraft_limit: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Amount>)]
    max_balance: Option<String>,
    /// `active`, `blocked`, `lost` or `expired`.
    status: &'static str,
    /// RFC 3339.
    valid_until: Option<String>,
    /// The member the card belongs to.
    member: Option<i64>,
    /// The card that replaced this one, if any.
    replaced_by: Option<String>,
    /// RFC 3339.
    created_at: String,
}

pub(super) fn card_json(card: Card, show_overdraft: bool) -> CardJson {
    CardJson {
        card: card.id.to_string(),
        balance: money(card.balance),
        currency: EUR,
        overdraft_limit: show_overdraft.then(|| money(card.overdraft_limit)),
        max_balance: card.max_balance.map(money),
        status: card.status.as_str(),
        valid_until: card.valid_until.map(|t| t.to_rfc3339()),
        member: card.member.map(|m| m.0),
        replaced_by: card.replaced_by.map(|c| c.to_string()),
        created_at: card.created_at.to_rfc3339(),
    }
}

/// What a money movement did.
#[derive(Serialize, ToSchema)]
struct ReceiptJson {
    /// The transaction's id.
    transaction: i64,
    card: String,
    #[schema(value_type = Amount)]
    amount: String,
    #[schema(value_type = Amount)]
    balance_before: String,
    #[schema(value_type = Amount)]
    balance_after: String,
    /// Always `EUR`.
    currency: &'static str,
}

impl From<Receipt> for ReceiptJson {
    fn from(r: Receipt) -> ReceiptJson {
        ReceiptJson {
            transaction: r.transaction.0,
            card: r.card.to_string(),
            amount: money(r.amount),
            balance_before: money(r.balance_before),
            balance_after: money(r.balance_after),
            currency: EUR,
        }
    }
}

/// A line of the ledger.
#[derive(Serialize, ToSchema)]
pub(super) struct TransactionJson {
    id: i64,
    /// The kind of movement, e.g. `topup`, `payment`, `drain`.
    #[serde(rename = "type")]
    kind: &'static str,
    card: String,
    #[schema(value_type = Amount)]
    amount: String,
    /// Always `EUR`.
    currency: &'static str,
    quantity: u32,
    product: Option<String>,
    /// `false` once cancelled.
    valid: bool,
    /// Who made it: a staff login or a partner.
    author: String,
    /// RFC 3339.
    created_at: String,
}

impl From<Transaction> for TransactionJson {
    fn from(t: Transaction) -> TransactionJson {
        TransactionJson {
            id: t.id.0,
            kind: t.kind.name(),
            card: t.card.to_string(),
            amount: money(t.amount),
            currency: EUR,
            quantity: t.quantity,
            product: t.product,
            valid: t.valid,
            author: t.author,
            created_at: t.created_at.to_rfc3339(),
        }
    }
}

/// The body of `POST /v1/cards` (JSON or form).
#[derive(ToSchema)]
#[allow(dead_code)] // describes the body that `Params` parses
struct OpenCardRequest {
    card: String,
    /// The opening balance.
    #[schema(value_type = AmountInput)]
    balance: String,
    /// Whether the card may go below zero (to the configured limit); default false.
    overdraft: Option<bool>,
}

/// The body of a top-up (JSON or form).
#[derive(ToSchema)]
#[allow(dead_code)] // describes the body that `Params` parses
struct AmountRequest {
    #[schema(value_type = AmountInput)]
    amount: String,
}

/// The body of a payment (JSON or form): `amount`, or `quantity` and optionally `product`.
#[derive(ToSchema)]
#[allow(dead_code)] // describes the body that `Params` parses
struct PaymentRequest {
    #[schema(value_type = Option<AmountInput>)]
    amount: Option<String>,
    /// Units of `product` (or of the default unit price).
    quantity: Option<u32>,
    product: Option<String>,
}

/// The body of `PUT /v1/cards/{card}/overdraft` (JSON or form): `limit`, or `enabled`.
#[derive(ToSchema)]
#[allow(dead_code)] // describes the body that `Params` parses
struct OverdraftRequest {
    /// The overdraft limit, from zero.
    #[schema(value_type = Option<PriceInput>)]
    limit: Option<String>,
    /// true: the configured default limit; false: none.
    enabled: Option<bool>,
}

/// `POST /v1/cards` [≥1]: `{"card", "balance", "overdraft"?}` → 201, `Location` of the card.
#[utoipa::path(
    post,
    path = "/v1/cards",
    tag = "cards",
    summary = "Open a card (rights ≥ 1)",
    params(("Idempotency-Key" = Option<String>, Header, description = "A client-chosen key (1 to 255 visible ASCII characters) making the request idempotent: a retry answers the first answer with `Idempotency-Replayed: true`")),
    request_body(content(
        (OpenCardRequest = "application/json"),
        (OpenCardRequest = "application/x-www-form-urlencoded"),
    )),
    responses(
        (status = 201, description = "`CARD_CREATED`; `Location` of the card", body = Success<ReceiptJson>),
        (status = 400, description = "`VALIDATION_ERROR`", body = Failure),
        (status = 409, description = "The card already exists; `IDEMPOTENCY_KEY_REUSED_ERROR`: the same `Idempotency-Key` with another request", body = Failure),
    ),
    security(("bearer" = [])),
)]
pub(super) async fn open_card(
    state: Data<AppState>,
    req: HttpRequest,
    principal: Principal,
    payload: Payload,
) -> HttpResponse {
    let lang = Lang::of(&req);
    reply(
        lang,
        async {
            let actor = staff(&principal)?;
            let p = read_params(
                &req,
                payload,
                &[
                    ("card", Ty::Text),
                    ("balance", Ty::Money),
                    ("overdraft", Ty::Bool),
                ],
            )
            .await?;
            let card = p.card("card")?;
            let opening = p.money("balance")?;
            let overdraft = p.boolean_opt("overdraft")?.unwrap_or(false);
            let request = StaffMove::OpenCard {
                card,
                opening,
                overdraft,
            };
            let key = keyed(&req, &request.fingerprint())?;
            let done = state.bar.staff_once(actor, request, key).await?;
            let r = done.receipt;
            Ok(mark_replayed(
                created(
                    lang,
                    "CARD_CREATED",
                    &format!("/v1/cards/{}", r.card),
                    ReceiptJson::from(r),
                ),
                done.replayed,
            ))
        }
        .await,
    )
}

/// `GET /v1/cards` [≥2]: the cards by id, paged.
#[utoipa::path(
    get,
    path = "/v1/cards",
    tag = "cards",
    summary = "The cards, by id (rights ≥ 2)",
    params(PageParams),
    responses(
        (status = 200, description = "`CARD_LIST`, with a `Link` header", body = Success<PageJson<CardJson>>),
        (status = 400, description = "`VALIDATION_ERROR` (paging)", body = Failure),
    ),
    security(("bearer" = [])),
)]
pub(super) async fn list_cards(
    state: Data<AppState>,
    req: HttpRequest,
    principal: Principal,
) -> HttpResponse {
    let lang = Lang::of(&req);
    reply(
        lang,
        async {
            let actor = staff(&principal)?;
            let page = page_of(&req)?;
            let show = state.bar.sees_overdraft(actor);
            let cards = state.bar.card_page(actor, page).await?;
            Ok(paged(
                &req,
                lang,
                "CARD_LIST",
                cards.map(|c| card_json(c, show)),
            ))
        }
        .await,
    )
}

/// `GET /v1/cards/{card}` [≥2].
#[utoipa::path(
    get,
    path = "/v1/cards/{card}",
    tag = "cards",
    summary = "A card (rights ≥ 2)",
    params(CardParam),
    responses(
        (status = 200, description = "`CARD`", body = Success<CardJson>),
        (status = 400, description = "Malformed card id", body = Failure),
        (status = 404, description = "`CARD_NOT_FOUND_ERROR`", body = Failure),
    ),
    security(("bearer" = [])),
)]
pub(super) async fn get_card(
    state: Data<AppState>,
    req: HttpRequest,
    principal: Principal,
    path: Path<String>,
) -> HttpResponse {
    let lang = Lang::of(&req);
    reply(
        lang,
        async {
            let actor = staff(&principal)?;
            let card = card_path(&path)?;
            let found = state.bar.card(actor, &card).await?;
            let show = state.bar.sees_overdraft(actor);
            Ok(ok(lang, "CARD", card_json(found, show)))
        }
        .await,
    )
}

/// `GET /v1/cards/{card}/transactions` [≥2]: the card's history, oldest first, paged.
#[utoipa::path(
    get,
    path = "/v1/cards/{card}/transactions",
    tag = "cards",
    summary = "A card's transactions, oldest first (rights ≥ 2)",
    params(CardParam, PageParams),
    responses(
        (status = 200, description = "`TRANSACTION_LIST`, with a `Link` header", body = Success<PageJson<TransactionJson>>),
        (status = 400, description = "`VALIDATION_ERROR`", body = Failure),
        (status = 404, description = "`CARD_NOT_FOUND_ERROR`", body = Failure),
    ),
    security(("bearer" = [])),
)]
pub(super) async fn card_transactions(
    state: Data<AppState>,
    req: HttpRequest,
    principal: Principal,
    path: Path<String>,
) -> HttpResponse {
    let lang = Lang::of(&req);
    reply(
        lang,
        async {
            let actor = staff(&principal)?;
            let card = card_path(&path)?;
            let page = page_of(&req)?;
            let list = state.bar.card_transaction_page(actor, &card, page).await?;
            Ok(paged(
                &req,
                lang,
                "TRANSACTION_LIST",
                list.map(TransactionJson::from),
            ))
        }
        .await,
    )
}

/// Applies a staff money movement, idempotent by the request's `Idempotency-Key`, and renders
/// its receipt as 201 with the `Location` of its transaction.
async fn moved(
    state: &AppState,
    req: &HttpRequest,
    lang: Lang,
    actor: &Actor,
    code: &str,
    request: StaffMove,
) -> Result<HttpResponse, DomainError> {
    let key = keyed(req, &request.fingerprint())?;
    let done = state.bar.staff_once(actor, request, key).await?;
    let r = done.receipt;
    let answer = created(
        lang,
        code,
        &format!("/v1/transactions/{}", r.transaction.0),
        ReceiptJson::from(r),
    );
    Ok(mark_replayed(answer, done.replayed))
}

/// `POST /v1/cards/{card}/topups` [≥2]: `{"amount"}` → 201, `Location` of the transaction.
#[utoipa::path(
    post,
    path = "/v1/cards/{card}/topups",
    tag = "cards",
    summary = "Top a card up (rights ≥ 2)",
    params(
        CardParam,
        ("Idempotency-Key" = Option<String>, Header, description = "A client-chosen key (1 to 255 visible ASCII characters) making the request idempotent: a retry answers the first answer with `Idempotency-Replayed: true`"),
    ),
    request_body(content(
        (AmountRequest = "application/json"),
        (AmountRequest = "application/x-www-form-urlencoded"),
    )),
    responses(
        (status = 201, description = "`TOPUP_DONE`; `Location` of the transaction", body = Success<ReceiptJson>),
        (status = 400, description = "`VALIDATION_ERROR`", body = Failure),
        (status = 404, description = "`CARD_NOT_FOUND_ERROR`", body = Failure),
        (status = 409, description = "Refused by the rules (e.g. `INSUFFICIENT_FUNDS_ERROR`, card not usable); `IDEMPOTENCY_KEY_REUSED_ERROR`: the same `Idempotency-Key` with another request", body = Failure),
    ),
    security(("bearer" = [])),
)]
pub(super) async fn top_up(
    state: Data<AppState>,
    req: HttpRequest,
    principal: Principal,
    path: Path<String>,
    payload: Payload,
) -> HttpResponse {
    let lang = Lang::of(&req);
    reply(
        lang,
        async {
            let actor = staff(&principal)?;
            let card = card_path(&path)?;
            let p = read_params(&req, payload, &[("amount", Ty::Money)]).await?;
            let amount = p.money("amount")?;
            let request = StaffMove::TopUp { card, amount };
            moved(&state, &req, lang, actor, "TOPUP_DONE", request).await
        }
        .await,
    )
}

/// `POST /v1/cards/{card}/payments` [≥2]: `{"amount"}` or `{"quantity", "product"?}` → 201.
#[utoipa::path(
    post,
    path = "/v1/cards/{card}/payments",
    tag = "cards",
    summary = "Pay with a card (rights ≥ 2)",
    params(
        CardParam,
        ("Idempotency-Key" = Option<String>, Header, description = "A client-chosen key (1 to 255 visible ASCII characters) making the request idempotent: a retry answers the first answer with `Idempotency-Replayed: true`"),
    ),
    request_body(content(
        (PaymentRequest = "application/json"),
        (PaymentRequest = "application/x-www-form-urlencoded"),
    )),
    responses(
        (status = 201, description = "`PAYMENT_DONE`; `Location` of the transaction", body = Success<ReceiptJson>),
        (status = 400, description = "`VALIDATION_ERROR`", body = Failure),
        (status = 404, description = "`CARD_NOT_FOUND_ERROR`", body = Failure),
        (status = 409, description = "Refused by the rules (e.g. `INSUFFICIENT_FUNDS_ERROR`, card not usable); `IDEMPOTENCY_KEY_REUSED_ERROR`: the same `Idempotency-Key` with another request", body = Failure),
    ),
    security(("bearer" = [])),
)]
pub(super) async fn pay(
    state: Data<AppState>,
    req: HttpRequest,
    principal: Principal,
    path: Path<String>,
    payload: Payload,
) -> HttpResponse {
    let lang = Lang::of(&req);
    reply(
        lang,
        async {
            let actor = staff(&principal)?;
            let card = card_path(&path)?;
            let p = read_params(
                &req,
                payload,
                &[
                    ("amount", Ty::Money),
                    ("quantity", Ty::Int),
                    ("product", Ty::Text),
                ],
            )
            .await?;
            let amount = p.money_opt("amount")?;
            let quantity = p.whole_opt("quantity")?;
            let product = p.get("product");
            if let Some(name) = product {
                if !Product::valid_name(name) {
                    return Err(DomainError::malformed(
                        "field `product` is not a product name",
                    ));
                }
            }
            let by = match (amount, quantity, product) {
                (Some(amount), None, None) => PayBy::Amount(amount),
                (None, Some(quantity), product) => PayBy::Quantity {
                    quantity,
                    product: product.map(str::to_owned),
                },
                _ => {
                    return Err(DomainError::malformed(
                        "give either `amount`, or `quantity` (and optionally `product`)",
                    ))
                }
            };
            let request = StaffMove::Pay { card, by };
            moved(&state, &req, lang, actor, "PAYMENT_DONE", request).await
        }
        .await,
    )
}

/// `POST /v1/cards/{card}/drain` [≥2]: hands the whole balance back → 201.
#[utoipa::path(
    post,
    path = "/v1/cards/{card}/drain",
    tag = "cards",
    summary = "Hand a card's whole balance back (rights ≥ 2)",
    params(
        CardParam,
        ("Idempotency-Key" = Option<String>, Header, description = "A client-chosen key (1 to 255 visible ASCII characters) making the request idempotent: a retry answers the first answer with `Idempotency-Replayed: true`"),
    ),
    responses(
        (status = 201, description = "`DRAIN_DONE`; `Location` of the transaction", body = Success<ReceiptJson>),
        (status = 400, description = "`VALIDATION_ERROR`", body = Failure),
        (status = 404, description = "`CARD_NOT_FOUND_ERROR`", body = Failure),
        (status = 409, description = "Refused by the rules (e.g. `INSUFFICIENT_FUNDS_ERROR`, card not usable); `IDEMPOTENCY_KEY_REUSED_ERROR`: the same `Idempotency-Key` with another request", body = Failure),
    ),
    security(("bearer" = [])),
)]
pub(super) async fn drain(
    state: Data<AppState>,
    req: HttpRequest,
    principal: Principal,
    path: Path<String>,
) -> HttpResponse {
    let lang = Lang::of(&req);
    reply(
        lang,
        async {
            let actor = staff(&principal)?;
            let card = card_path(&path)?;
            let request = StaffMove::Drain { card };
            moved(&state, &req, lang, actor, "DRAIN_DONE", request).await
        }
        .await,
    )
}

/// A card's overdraft limit.
#[derive(Serialize, ToSchema)]
struct OverdraftJson {
    card: String,
    #[schema(value_type = Amount)]
    overdraft_limit: String,
    /// Always `EUR`.
    currency: &'static str,
}

/// `PUT /v1/cards/{card}/overdraft` [3]: `{"limit"}` (an amount), or `{"enabled"}` (true: the
/// configured default limit; false: none).
#[utoipa::path(
    put,
    path = "/v1/cards/{card}/overdraft",
    tag = "cards",
    summary = "Set a card's overdraft limit (rights 3)",
    params(CardParam),
    request_body(content(
        (OverdraftRequest = "application/json"),
        (OverdraftRequest = "application/x-www-form-urlencoded"),
    )),
    responses(
        (status = 200, description = "`OVERDRAFT_SET`", body = Success<OverdraftJson>),
        (status = 400, description = "`VALIDATION_ERROR`", body = Failure),
        (status = 404, description = "`CARD_NOT_FOUND_ERROR`", body = Failure),
    ),
    security(("bearer" = [])),
)]
pub(super) async fn set_overdraft(
    state: Data<AppState>,
    req: HttpRequest,
    principal: Principal,
    path: Path<String>,
    payload: Payload,
) -> HttpResponse {
    let lang = Lang::of(&req);
    reply(
        lang,
        async {
            let actor = staff(&principal)?;
            let card = card_path(&path)?;
            let p = read_params(
                &req,
                payload,
                &[("limit", Ty::Money), ("enabled", Ty::Bool)],
            )
            .await?;
            let limit = match (p.money_opt("limit")?, p.boolean_opt("enabled")?) {
                (Some(limit), None) => Some(limit),
                (None, Some(true)) => None,
                (None, Some(false)) => Some(Money::ZERO),
                _ => {
                    return Err(DomainError::malformed(
                        "give either `limit` (an amount) or `enabled` (true/false)",
                    ))
                }
            };
            state.bar.set_overdraft(actor, &card, limit).await?;
            let found = state.bar.card(actor, &card).await?;
            Ok(ok(
                lang,
                "OVERDRAFT_SET",
                OverdraftJson {
                    card: found.id.to_string(),
                    overdraft_limit: money(found.overdraft_limit),
                    currency: EUR,
                },
            ))
        }
        .await,
    )
}

// ---------------------------------------------------------------- the ledger

/// `POST /v1/transactions/{id}/cancel` [≥2].
#[utoipa::path(
    post,
    path = "/v1/transactions/{id}/cancel",
    tag = "transactions",
    summary = "Cancel a transaction (rights ≥ 2)",
    params(
        TransactionParam,
        ("Idempotency-Key" = Option<String>, Header, description = "A client-chosen key (1 to 255 visible ASCII characters) making the request idempotent: a retry answers the first answer with `Idempotency-Replayed: true`"),
    ),
    responses(
        (status = 200, description = "`TRANSACTION_CANCELLED`", body = Success<ReceiptJson>),
        (status = 400, description = "Malformed id", body = Failure),
        (status = 404, description = "Unknown transaction", body = Failure),
        (status = 409, description = "Refused by the rules (already cancelled, correction window closed, someone else's transaction, insufficient funds); `IDEMPOTENCY_KEY_REUSED_ERROR`: the same `Idempotency-Key` with another request", body = Failure),
    ),
    security(("bearer" = [])),
)]
pub(super) async fn cancel(
    state: Data<AppState>,
    req: HttpRequest,
    principal: Principal,
    path: Path<String>,
) -> HttpResponse {
    correct(state, req, principal, path, false).await
}

/// `POST /v1/transactions/{id}/redo` [≥2].
#[utoipa::path(
    post,
    path = "/v1/transactions/{id}/redo",
    tag = "transactions",
    summary = "Redo a cancelled transaction (rights ≥ 2)",
    params(
        TransactionParam,
        ("Idempotency-Key" = Option<String>, Header, description = "A client-chosen key (1 to 255 visible ASCII characters) making the request idempotent: a retry answers the first answer with `Idempotency-Replayed: true`"),
    ),
    responses(
        (status = 200, description = "`TRANSACTION_REDONE`", body = Success<ReceiptJson>),
        (status = 400, description = "Malformed id", body = Failure),
        (status = 404, description = "Unknown transaction", body = Failure),
        (status = 409, description = "Refused by the rules (already active, correction window closed, someone else's transaction, insufficient funds); `IDEMPOTENCY_KEY_REUSED_ERROR`: the same `Idempotency-Key` with another request", body = Failure),
    ),
    security(("bearer" = [])),
)]
pub(super) async fn redo(
    state: Data<AppState>,
    req: HttpRequest,
    principal: Principal,
    path: Path<String>,
) -> HttpResponse {
    correct(state, req, principal, path, true).await
}

async fn correct(
    state: Data<AppState>,
    req: HttpRequest,
    principal: Principal,
    path: Path<String>,
    redo: bool,
) -> HttpResponse {
    let lang = Lang::of(&req);
    reply(
        lang,
        async {
            let actor = staff(&principal)?;
            let id = transaction_path(&path)?;
            let (request, code) = if redo {
                (StaffMove::Redo(id), "TRANSACTION_REDONE")
            } else {
                (StaffMove::Cancel(id), "TRANSACTION_CANCELLED")
            };
            let key = keyed(&req, &request.fingerprint())?;
            let done = state.bar.staff_once(actor, request, key).await?;
            Ok(mark_replayed(
                ok(lang, code, ReceiptJson::from(done.receipt)),
                done.replayed,
            ))
        }
        .await,
    )
}

/// `GET /v1/transactions` [3]: every transaction, oldest first, paged.
#[utoipa::path(
    get,
    path = "/v1/transactions",
    tag = "transactions",
    summary = "Every transaction, oldest first (rights 3)",
    params(PageParams),
    responses(
        (status = 200, description = "`TRANSACTION_LIST`, with a `Link` header", body = Success<PageJson<TransactionJson>>),
        (status = 400, description = "`VALIDATION_ERROR` (paging)", body = Failure),
    ),
    security(("bearer" = [])),
)]
pub(super) async fn transactions(
    state: Data<AppState>,
    req: HttpRequest,
    principal: Principal,
) -> HttpResponse {
    let lang = Lang::of(&req);
    reply(
        lang,
        async {
            let actor = staff(&principal)?;
            let page = page_of(&req)?;
            let list = state.bar.transaction_page(actor, page).await?;
            Ok(paged(
                &req,
                lang,
                "TRANSACTION_LIST",
                list.map(TransactionJson::from),
            ))
        }
        .await,
    )
}

/// `GET /v1/transactions/{id}` [≥2].
#[utoipa::path(
    get,
    path = "/v1/transactions/{id}",
    tag = "transactions",
    summary = "A transaction (rights ≥ 2)",
    params(TransactionParam),
    responses(
        (status = 200, description = "`TRANSACTION`", body = Success<TransactionJson>),
        (status = 400, description = "Malformed id", body = Failure),
        (status = 404, description = "Unknown transaction", body = Failure),
    ),
    security(("bearer" = [])),
)]
pub(super) async fn transaction(
    state: Data<AppState>,
    req: HttpRequest,
    principal: Principal,
    path: Path<String>,
) -> HttpResponse {
    let lang = Lang::of(&req);
    reply(
        lang,
        async {
            let actor = staff(&principal)?;
            let id = transaction_path(&path)?;
            let t = state.bar.transaction(actor, id).await?;
            Ok(ok(lang, "TRANSACTION", TransactionJson::from(t)))
        }
        .await,
    )
}

/// The bar's figures.
#[derive(Serialize, ToSchema)]
struct StatisticsJson {
    #[schema(value_type = Amount)]
    receipts: String,
    #[schema(value_type = Amount)]
    debts: String,
    #[schema(value_type = Amount)]
    net: String,
    cards: i64,
    consumed_quantity: i64,
    #[schema(value_type = Amount)]
    average_balance: String,
    /// Always `EUR`.
    currency: &'static str,
}

impl From<Statistics> for StatisticsJson {
    fn from(s: Statistics) -> StatisticsJson {
        StatisticsJson {
            receipts: money(s.receipts),
            debts: money(s.debts),
            net: money(s.net),
            cards: s.cards,
            consumed_quantity: s.consumed_quantity,
            average_balance: money(s.average_balance),
            currency: EUR,
        }
    }
}

/// `GET /v1/stats` [≥2].
#[utoipa::path(
    get,
    path = "/v1/stats",
    tag = "transactions",
    summary = "The bar's statistics (rights ≥ 2)",
    responses((status = 200, description = "`STATISTICS`", body = Success<StatisticsJson>)),
    security(("bearer" = [])),
)]
pub(super) async fn statistics(
    state: Data<AppState>,
    req: HttpRequest,
    principal: Principal,
) -> HttpResponse {
    let lang = Lang::of(&req);
    reply(
        lang,
        async {
            let actor = staff(&principal)?;
            let s = state.bar.statistics(actor).await?;
            Ok(ok(lang, "STATISTICS", StatisticsJson::from(s)))
        }
        .await,
    )
}
