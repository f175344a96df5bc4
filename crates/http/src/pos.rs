//! The POS dialect (`/api/...`): one handler per endpoint of `pos-api.md`. Each parses its
//! fields, calls one use case of `Bar` or `Staff`, and renders the outcome — no rule is checked
//! here.

use std::net::{IpAddr, Ipv4Addr};

use actix_web::http::StatusCode;
use actix_web::web::{self, Data, Payload};
use actix_web::{FromRequest, Handler, HttpRequest, HttpResponse, Resource, Responder};
use ardoise_domain::{
    Actor, DomainError, Login, Money, PayBy, Product, Receipt, Rights, StaffMove, Transaction,
    TransactionId,
};
use serde::Serialize;

use crate::params::{session_token, Params, Ty, MAX_BODY_BYTES};
use crate::reply::{answer, json_with, Amount, OrFalse, TransactionJson, OK};
use crate::AppState;

/// Registers every `/api/...` route. Unknown paths and wrong methods answer
/// `requete_inconnue` with HTTP 404.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/api")
            .service(
                web::resource("/coucou")
                    .route(web::get().to(hello))
                    .route(web::head().to(hello))
                    .route(web::post().to(hello))
                    .default_service(web::to(unknown)),
            )
            .service(post("/utilisateur/connexion", login))
            .service(post("/utilisateur/deconnexion", logout))
            .service(post("/utilisateur/mdp", change_password))
            .service(post("/utilisateur/carte", set_staff_card))
            .service(post("/utilisateur/liste", list_staff))
            .service(post("/utilisateur/fiche", staff_sheet))
            .service(post("/utilisateur/ajouter", add_staff))
            .service(post("/utilisateur/droit", set_rights))
            .service(post("/utilisateur/supprimer", delete_staff))
            .service(post("/client/ajouter", open_card))
            .service(post("/client/recharger", top_up))
            .service(post("/client/payer", pay))
            .service(post("/client/vidange", drain))
            .service(post("/client/liste", list_cards))
            .service(post("/client/fiche", card_sheet))
            .service(post("/client/decouvert", set_overdraft))
            .service(post("/carte/info", card_info))
            .service(post("/annuler", cancel))
            .service(post("/refaire", redo))
            .service(post("/transactions", transactions))
            .service(post("/statistiques", statistics))
            .default_service(web::to(unknown)),
    );
}

fn post<F, Args>(path: &str, handler: F) -> Resource
where
    F: Handler<Args>,
    Args: FromRequest + 'static,
    F::Output: Responder + 'static,
{
    web::resource(path)
        .route(web::post().to(handler))
        .default_service(web::to(unknown))
}

#[derive(Serialize)]
struct Status {
    status: &'static str,
}

async fn unknown() -> HttpResponse {
    json_with(
        StatusCode::NOT_FOUND,
        &Status {
            status: "requete_inconnue",
        },
    )
}

/// `coucou`: liveness, no token.
async fn hello() -> HttpResponse {
    answer(Ok::<_, DomainError>(Status { status: OK }))
}

/// Reads and parses the body, whatever its size, without ever answering anything but JSON.
/// In JSON, strings and numbers are interchangeable (pos-api.md).
async fn read(req: &HttpRequest, payload: Payload) -> Result<Params, DomainError> {
    let body = match payload.to_bytes_limited(MAX_BODY_BYTES).await {
        Ok(Ok(body)) => body,
        Ok(Err(_)) => return Err(DomainError::malformed("the body could not be read")),
        Err(_) => return Err(DomainError::malformed("the body is too large")),
    };
    let params = Params::from_request(req, &body)?.lenient();
    Ok(params)
}

/// Refuses a field of the wrong JSON type (`requete_malforme` naming it). Unknown fields are
/// ignored, as the original server ignored them: the existing clients may send more than a
/// call reads. Checked once the token is, so that a caller without a valid session learns
/// nothing but `jeton_invalide`.
fn only(params: &Params, fields: &[(&str, Ty)]) -> Result<(), DomainError> {
    params.typed(fields)
}

/// Reads the request (see [`read`]) and authenticates its session token.
async fn session(
    state: &AppState,
    req: &HttpRequest,
    payload: Payload,
    fields: &[(&str, Ty)],
) -> Result<(Params, Actor), DomainError> {
    let params = read(req, payload).await?;
    let token = session_token(req, &params)?;
    let actor = state.staff.authenticate(&token).await?;
    only(&params, fields)?;
    Ok((params, actor))
}

/// A money movement of the POS, made once per idempotency key when the request carries the
/// optional field `cle` (an ardoise extension, see docs/api-pos.md): 8 to 64 characters of
/// `[A-Za-z0-9_-]`, with `/v1`'s semantics (`Bar::staff_once`): the same key and the same
/// request answer the first receipt; the key with another request is
/// `cle_idempotence_reutilisee`. Without `cle`, the movement is simply applied.
async fn once(
    state: &AppState,
    req: &HttpRequest,
    p: &Params,
    actor: &Actor,
    request: StaffMove,
) -> Result<Receipt, DomainError> {
    let key = match p.get("cle") {
        None => None,
        Some(key) => {
            let valid = (8..=64).contains(&key.len())
                && key
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
            if !valid {
                return Err(DomainError::malformed(
                    "field `cle` must be 8 to 64 characters of A-Z a-z 0-9 _ -",
                ));
            }
            // One key on another route is another request, as on /v1.
            let hash = ardoise_auth::token_hash(&format!(
                "POST {}\n{}",
                req.path(),
                request.fingerprint()
            ));
            Some((key.to_owned(), hash))
        }
    };
    Ok(state.bar.staff_once(actor, request, key).await?.receipt)
}

/// The address a login attempt comes from, for throttling: the TCP peer (a forwarded-for
/// header could be forged by the attacker it is meant to slow down).
fn source(req: &HttpRequest) -> IpAddr {
    req.peer_addr()
        .map(|a| a.ip())
        .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
}

// ---------------------------------------------------------------- staff users

#[derive(Serialize)]
struct LoginReply {
    status: &'static str,
    jeton: String,
    login: String,
    droit: i16,
}

/// `utilisateur/connexion`: `(login AND mdp) XOR idCarte`.
async fn login(state: Data<AppState>, req: HttpRequest, payload: Payload) -> HttpResponse {
    answer(
        async {
            let p = read(&req, payload).await?;
            only(
                &p,
                &[
                    ("login", Ty::Text),
                    ("mdp", Ty::Text),
                    ("idCarte", Ty::Text),
                ],
            )?;
            let by_password = (p.get("login"), p.get("mdp"));
            let card = p.card_opt("idCarte")?;
            let grant = match (by_password, card) {
                ((Some(login), Some(password)), None) => {
                    state
                        .staff
                        .login_password(login, password, source(&req))
                        .await?
                }
                ((None, None), Some(card)) => state.staff.login_card(&card, source(&req)).await?,
                _ => {
                    return Err(DomainError::malformed(
                        "give either login and mdp, or idCarte",
                    ))
                }
            };
            Ok(LoginReply {
                status: OK,
                jeton: grant.token,
                login: grant.login.to_string(),
                droit: grant.rights.level(),
            })
        }
        .await,
    )
}

/// `utilisateur/deconnexion`.
async fn logout(state: Data<AppState>, req: HttpRequest, payload: Payload) -> HttpResponse {
    answer(
        async {
            let p = read(&req, payload).await?;
            let token = session_token(&req, &p)?;
            state.staff.authenticate(&token).await?;
            only(&p, &[])?;
            state.staff.logout(&token).await?;
            Ok(Status { status: OK })
        }
        .await,
    )
}

/// `utilisateur/mdp`: `login` (default: oneself) and `mdp`.
async fn change_password(
    state: Data<AppState>,
    req: HttpRequest,
    payload: Payload,
) -> HttpResponse {
    answer(
        async {
            let (p, actor) = session(
                &state,
                &req,
                payload,
                &[("login", Ty::Text), ("mdp", Ty::Text)],
            )
            .await?;
            let login = p.login_opt("login")?.unwrap_or_else(|| actor.login.clone());
            let password = p.required("mdp")?;
            let token = session_token(&req, &p)?;
            state
                .staff
                .change_password(&actor, &login, password, Some(&token))
                .await?;
            Ok(Status { status: OK })
        }
        .await,
    )
}

/// `utilisateur/carte`: `login` (default: oneself) and `idCarte`.
async fn set_staff_card(state: Data<AppState>, req: HttpRequest, payload: Payload) -> HttpResponse {
    answer(
        async {
            let (p, actor) = session(
                &state,
                &req,
                payload,
                &[("login", Ty::Text), ("idCarte", Ty::Text)],
            )
            .await?;
            let login = p.login_opt("login")?.unwrap_or_else(|| actor.login.clone());
            let card = p.card("idCarte")?;
            state.staff.set_card(&actor, &login, Some(card)).await?;
            Ok(Status { status: OK })
        }
        .await,
    )
}

#[derive(Serialize)]
struct StaffJson {
    login: String,
    droit: i16,
    #[serde(rename = "idCarte")]
    id_carte: Option<String>,
}

impl From<ardoise_auth::StaffProfile> for StaffJson {
    fn from(p: ardoise_auth::StaffProfile) -> StaffJson {
        StaffJson {
            login: p.login.to_string(),
            droit: p.rights.level(),
            id_carte: p.card.map(|c| c.to_string()),
        }
    }
}

#[derive(Serialize)]
struct StaffListReply {
    status: &'static str,
    utilisateurs: Vec<StaffJson>,
}

/// `utilisateur/liste` [3].
async fn list_staff(state: Data<AppState>, req: HttpRequest, payload: Payload) -> HttpResponse {
    answer(
        async {
            let (_, actor) = session(&state, &req, payload, &[]).await?;
            let users = state.staff.users(&actor).await?;
            Ok(StaffListReply {
                status: OK,
                utilisateurs: users.into_iter().map(StaffJson::from).collect(),
            })
        }
        .await,
    )
}

#[derive(Serialize)]
struct StaffSheetReply {
    status: &'static str,
    #[serde(flatten)]
    user: StaffJson,
    transactions: Vec<TransactionJson>,
}

/// `utilisateur/fiche`: `login` (default: oneself) → the account and the transactions it made,
/// oldest first.
async fn staff_sheet(state: Data<AppState>, req: HttpRequest, payload: Payload) -> HttpResponse {
    answer(
        async {
            let (p, actor) = session(&state, &req, payload, &[("login", Ty::Text)]).await?;
            let login = p.login_opt("login")?.unwrap_or_else(|| actor.login.clone());
            let profile = state.staff.profile(&actor, &login).await?;
            let transactions = state.transactions_by(login.as_str()).await?;
            Ok(StaffSheetReply {
                status: OK,
                user: profile.into(),
                transactions: transactions
                    .into_iter()
                    .map(TransactionJson::from)
                    .collect(),
            })
        }
        .await,
    )
}

/// `utilisateur/ajouter` [3]: `login`, `mdp`, optional `idCarte`, optional `droit` (default 0).
async fn add_staff(state: Data<AppState>, req: HttpRequest, payload: Payload) -> HttpResponse {
    answer(
        async {
            let (p, actor) = session(
                &state,
                &req,
                payload,
                &[
                    ("login", Ty::Text),
                    ("mdp", Ty::Text),
                    ("idCarte", Ty::Text),
                    ("droit", Ty::Int),
                ],
            )
            .await?;
            let login = p.login("login")?;
            let password = p.required("mdp")?;
            let card = p.card_opt("idCarte")?;
            let rights = p
                .rights_opt("droit")?
                .unwrap_or(ardoise_domain::Rights::Honeypot);
            state
                .staff
                .add_user(&actor, &login, password, rights, card)
                .await?;
            Ok(Status { status: OK })
        }
        .await,
    )
}

/// `utilisateur/droit` [3]: `login`, `droit`.
async fn set_rights(state: Data<AppState>, req: HttpRequest, payload: Payload) -> HttpResponse {
    answer(
        async {
            let (p, actor) = session(
                &state,
                &req,
                payload,
                &[("login", Ty::Text), ("droit", Ty::Int)],
            )
            .await?;
            let login = p.login("login")?;
            let rights = p.rights("droit")?;
            state.staff.set_rights(&actor, &login, rights).await?;
            Ok(Status { status: OK })
        }
        .await,
    )
}

/// `utilisateur/supprimer` [3]: `login`. The account is disabled; its history stays.
async fn delete_staff(state: Data<AppState>, req: HttpRequest, payload: Payload) -> HttpResponse {
    answer(
        async {
            let (p, actor) = session(&state, &req, payload, &[("login", Ty::Text)]).await?;
            let login = p.login("login")?;
            state.staff.disable(&actor, &login).await?;
            Ok(Status { status: OK })
        }
        .await,
    )
}

// ---------------------------------------------------------------- client cards

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct OpenReply {
    status: &'static str,
    id_transaction: i64,
    solde_nouveau: Amount,
}

/// `client/ajouter` [≥1]: `idCarte`, `solde`, optional `decouvert`.
async fn open_card(state: Data<AppState>, req: HttpRequest, payload: Payload) -> HttpResponse {
    answer(
        async {
            let (p, actor) = session(
                &state,
                &req,
                payload,
                &[
                    ("idCarte", Ty::Text),
                    ("solde", Ty::Money),
                    ("decouvert", Ty::Bool),
                    ("cle", Ty::Text),
                ],
            )
            .await?;
            let card = p.card("idCarte")?;
            let opening = p.money("solde")?;
            let overdraft = p.boolean_opt("decouvert")?.unwrap_or(false);
            let request = StaffMove::OpenCard {
                card,
                opening,
                overdraft,
            };
            let r = once(&state, &req, &p, &actor, request).await?;
            Ok(OpenReply {
                status: OK,
                id_transaction: r.transaction.0,
                solde_nouveau: r.balance_after.into(),
            })
        }
        .await,
    )
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct MoveReply {
    status: &'static str,
    id_transaction: i64,
    solde_ancien: Amount,
    solde_nouveau: Amount,
}

impl From<ardoise_domain::Receipt> for MoveReply {
    fn from(r: ardoise_domain::Receipt) -> MoveReply {
        MoveReply {
            status: OK,
            id_transaction: r.transaction.0,
            solde_ancien: r.balance_before.into(),
            solde_nouveau: r.balance_after.into(),
        }
    }
}

/// `client/recharger` [≥2]: `idCarte`, `montant`.
async fn top_up(state: Data<AppState>, req: HttpRequest, payload: Payload) -> HttpResponse {
    answer(
        async {
            let (p, actor) = session(
                &state,
                &req,
                payload,
                &[
                    ("idCarte", Ty::Text),
                    ("montant", Ty::Money),
                    ("cle", Ty::Text),
                ],
            )
            .await?;
            let card = p.card("idCarte")?;
            let amount = p.money("montant")?;
            let r = once(&state, &req, &p, &actor, StaffMove::TopUp { card, amount }).await?;
            Ok(MoveReply::from(r))
        }
        .await,
    )
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PayReply {
    status: &'static str,
    id_transaction: i64,
    montant: Amount,
    solde_ancien: Amount,
    solde_nouveau: Amount,
}

/// `client/payer` [≥2]: `idCarte` and exactly one of `montant` or `quantite` (with an
/// optional `produit`).
async fn pay(state: Data<AppState>, req: HttpRequest, payload: Payload) -> HttpResponse {
    answer(
        async {
            let (p, actor) = session(
                &state,
                &req,
                payload,
                &[
                    ("idCarte", Ty::Text),
                    ("montant", Ty::Money),
                    ("quantite", Ty::Int),
                    ("produit", Ty::Text),
                    ("cle", Ty::Text),
                ],
            )
            .await?;
            let card = p.card("idCarte")?;
            let amount = p.money_opt("montant")?;
            let quantity = p.whole_opt("quantite")?;
            let product = p.get("produit");
            if let Some(name) = product {
                if !Product::valid_name(name) {
                    return Err(DomainError::malformed(
                        "field `produit` is not a product name",
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
                        "give either montant, or quantite (and optionally produit)",
                    ))
                }
            };
            let r = once(&state, &req, &p, &actor, StaffMove::Pay { card, by }).await?;
            Ok(PayReply {
                status: OK,
                id_transaction: r.transaction.0,
                montant: r.amount.into(),
                solde_ancien: r.balance_before.into(),
                solde_nouveau: r.balance_after.into(),
            })
        }
        .await,
    )
}

/// `client/vidange` [≥2]: `idCarte`.
async fn drain(state: Data<AppState>, req: HttpRequest, payload: Payload) -> HttpResponse {
    answer(
        async {
            let (p, actor) = session(
                &state,
                &req,
                payload,
                &[("idCarte", Ty::Text), ("cle", Ty::Text)],
            )
            .await?;
            let card = p.card("idCarte")?;
            let r = once(&state, &req, &p, &actor, StaffMove::Drain { card }).await?;
            Ok(MoveReply::from(r))
        }
        .await,
    )
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CardJson {
    id_carte: String,
    solde: Amount,
    /// Rights 3 only: whether the card may go below zero.
    #[serde(skip_serializing_if = "Option::is_none")]
    decouvert: Option<bool>,
    /// Rights 3 only: how far below zero (ardoise's addition).
    #[serde(skip_serializing_if = "Option::is_none")]
    decouvert_max: Option<Amount>,
}

fn card_json(card: &ardoise_domain::Card, show_overdraft: bool) -> CardJson {
    let limit = card.overdraft_limit;
    CardJson {
        id_carte: card.id.to_string(),
        solde: card.balance.into(),
        decouvert: show_overdraft.then_some(limit.is_positive()),
        decouvert_max: show_overdraft.then_some(limit.into()),
    }
}

#[derive(Serialize)]
struct CardListReply {
    status: &'static str,
    clients: Vec<CardJson>,
}

/// `client/liste` [≥2].
async fn list_cards(state: Data<AppState>, req: HttpRequest, payload: Payload) -> HttpResponse {
    answer(
        async {
            let (_, actor) = session(&state, &req, payload, &[]).await?;
            let cards = state.bar.cards(&actor).await?;
            let show = state.bar.sees_overdraft(&actor);
            Ok(CardListReply {
                status: OK,
                clients: cards.iter().map(|c| card_json(c, show)).collect(),
            })
        }
        .await,
    )
}

#[derive(Serialize)]
struct CardSheetReply {
    status: &'static str,
    #[serde(flatten)]
    card: CardJson,
    transactions: Vec<TransactionJson>,
}

/// `client/fiche` [≥2]: `idCarte` → the card and its whole history, oldest first.
async fn card_sheet(state: Data<AppState>, req: HttpRequest, payload: Payload) -> HttpResponse {
    answer(
        async {
            let (p, actor) = session(&state, &req, payload, &[("idCarte", Ty::Text)]).await?;
            let card = p.card("idCarte")?;
            let sheet = state.bar.card_sheet(&actor, &card).await?;
            Ok(CardSheetReply {
                status: OK,
                card: card_json(&sheet.card, sheet.show_overdraft),
                transactions: sheet
                    .transactions
                    .into_iter()
                    .map(TransactionJson::from)
                    .collect(),
            })
        }
        .await,
    )
}

/// `client/decouvert` [3]: `idCarte`, `decouvert` (true sets the configured default limit,
/// false sets it back to zero).
async fn set_overdraft(state: Data<AppState>, req: HttpRequest, payload: Payload) -> HttpResponse {
    answer(
        async {
            let (p, actor) = session(
                &state,
                &req,
                payload,
                &[("idCarte", Ty::Text), ("decouvert", Ty::Bool)],
            )
            .await?;
            let card = p.card("idCarte")?;
            let limit = if p.boolean("decouvert")? {
                None
            } else {
                Some(Money::ZERO)
            };
            state.bar.set_overdraft(&actor, &card, limit).await?;
            Ok(Status { status: OK })
        }
        .await,
    )
}

#[derive(Serialize)]
struct CardInfoReply {
    status: &'static str,
    client: OrFalse<String>,
    utilisateur: OrFalse<String>,
}

/// `carte/info` [≥1]: `idCarte` → `client` (the card id or false), `utilisateur` (the staff
/// login holding it or false).
async fn card_info(state: Data<AppState>, req: HttpRequest, payload: Payload) -> HttpResponse {
    answer(
        async {
            let (p, actor) = session(&state, &req, payload, &[("idCarte", Ty::Text)]).await?;
            let card = p.card("idCarte")?;
            let client = state.bar.card_exists(&actor, &card).await?;
            let holder = state.staff.card_holder(&actor, &card).await?;
            Ok(CardInfoReply {
                status: OK,
                client: OrFalse(client.then(|| card.to_string())),
                utilisateur: OrFalse(holder.map(|l| l.to_string())),
            })
        }
        .await,
    )
}

// ---------------------------------------------------------------- corrections and reads

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CorrectionReply {
    status: &'static str,
    client: String,
    solde_ancien: Amount,
    solde_nouveau: Amount,
    id_transaction: i64,
}

impl From<ardoise_domain::Receipt> for CorrectionReply {
    fn from(r: ardoise_domain::Receipt) -> CorrectionReply {
        CorrectionReply {
            status: OK,
            client: r.card.to_string(),
            solde_ancien: r.balance_before.into(),
            solde_nouveau: r.balance_after.into(),
            id_transaction: r.transaction.0,
        }
    }
}

/// `annuler` [≥2]: `idTransaction`.
async fn cancel(state: Data<AppState>, req: HttpRequest, payload: Payload) -> HttpResponse {
    answer(
        async {
            let (p, actor) = session(
                &state,
                &req,
                payload,
                &[("idTransaction", Ty::Int), ("cle", Ty::Text)],
            )
            .await?;
            let id = p.transaction_id("idTransaction")?;
            let r = once(&state, &req, &p, &actor, StaffMove::Cancel(id)).await?;
            Ok(CorrectionReply::from(r))
        }
        .await,
    )
}

/// `refaire` [≥2]: `idTransaction`.
async fn redo(state: Data<AppState>, req: HttpRequest, payload: Payload) -> HttpResponse {
    answer(
        async {
            let (p, actor) = session(
                &state,
                &req,
                payload,
                &[("idTransaction", Ty::Int), ("cle", Ty::Text)],
            )
            .await?;
            let id = p.transaction_id("idTransaction")?;
            let r = once(&state, &req, &p, &actor, StaffMove::Redo(id)).await?;
            Ok(CorrectionReply::from(r))
        }
        .await,
    )
}

#[derive(Serialize)]
struct TransactionsReply {
    status: &'static str,
    transactions: Vec<TransactionJson>,
}

/// `transactions` [3]: every transaction, oldest first; optional `depuis` (only ids above it)
/// and `limite` (at most that many, ≥ 1) page through them.
async fn transactions(state: Data<AppState>, req: HttpRequest, payload: Payload) -> HttpResponse {
    answer(
        async {
            let (p, actor) = session(
                &state,
                &req,
                payload,
                &[("depuis", Ty::Int), ("limite", Ty::Int)],
            )
            .await?;
            let after = p.transaction_id_opt("depuis")?;
            let limit = match p.whole_opt("limite")? {
                None => None,
                Some(n) => Some(
                    u32::try_from(n)
                        .ok()
                        .filter(|n| *n >= 1)
                        .ok_or_else(|| DomainError::malformed("field `limite` must be ≥ 1"))?,
                ),
            };
            let list: Vec<Transaction> = state.bar.transactions(&actor, after, limit).await?;
            Ok(TransactionsReply {
                status: OK,
                transactions: list.into_iter().map(TransactionJson::from).collect(),
            })
        }
        .await,
    )
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct StatisticsReply {
    status: &'static str,
    recettes: Amount,
    dettes: Amount,
    benefices: Amount,
    clients_nb: i64,
    consommations_nb: i64,
    /// The average of the positive balances, as the original computes it.
    solde_moy: Amount,
    /// What the association owes the bar: the valid transactions made by rights-1 users.
    #[serde(rename = "factureBDE")]
    facture_bde: Amount,
}

/// `statistiques` [≥2].
async fn statistics(state: Data<AppState>, req: HttpRequest, payload: Payload) -> HttpResponse {
    answer(
        async {
            let (_, actor) = session(&state, &req, payload, &[]).await?;
            let s = state.bar.statistics(&actor).await?;
            let association = state.staff.logins_with(Rights::Association).await?;
            let facture_bde = s.made_by(association.iter().map(Login::as_str));
            Ok(StatisticsReply {
                status: OK,
                recettes: s.receipts.into(),
                dettes: s.debts.into(),
                benefices: s.net.into(),
                clients_nb: s.cards,
                consommations_nb: s.consumed_quantity,
                solde_moy: s.average_positive_balance.into(),
                facture_bde: facture_bde.into(),
            })
        }
        .await,
    )
}

/// Reads the ledger in pages of this many transactions.
const PAGE: u32 = 1000;

impl AppState {
    /// The transactions made by one staff login, oldest first. Call it only once the caller's
    /// right to see that account was checked (`Staff::profile`): the whole ledger is read on
    /// the server's behalf, page by page, since it has no index by author yet.
    async fn transactions_by(&self, author: &str) -> Result<Vec<Transaction>, DomainError> {
        let reader = Actor::operator();
        let mut found = Vec::new();
        let mut after: Option<TransactionId> = None;
        loop {
            let page = self.bar.transactions(&reader, after, Some(PAGE)).await?;
            let full = page.len() >= PAGE as usize;
            after = page.last().map(|t| t.id).or(after);
            found.extend(page.into_iter().filter(|t| t.author == author));
            if !full {
                return Ok(found);
            }
        }
    }
}
