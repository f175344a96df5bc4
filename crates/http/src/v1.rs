//! The `/v1` resource API (seed 000's envelope). Today one partner resource, the card
//! balance; the rest of the API is built on the same pieces: the [`Principal`] extractor, the
//! envelope ([`success`], [`failure`]) and the localised messages ([`Lang`]).

use actix_web::http::header;
use actix_web::http::StatusCode;
use actix_web::web::{self, Data, Path, Payload};
use actix_web::{HttpRequest, HttpResponse, HttpResponseBuilder, Route};
use ardoise_domain::{Actor, CardId, DomainError, Page, Paged, TransactionId};
use serde::Serialize;
use utoipa::ToSchema;

use crate::openapi::{self, operation, resources, Amount, CardParam, Operation};
use crate::params::{body_limit, Params, Ty, MAX_BODY_BYTES};
use crate::principal::{Principal, Unauthorized};
use crate::AppState;

mod accounts;
mod business_cards;
mod catalog;
mod exchange;
mod lifecycle;
pub(crate) mod mandates;
mod me;
mod members;
pub(crate) mod notifications;
mod partner;
mod partners;
mod provider_services;
mod staff;
mod users;
pub(crate) mod vouchers;

pub use me::export_document;

/// The staff user behind a principal; a partner or a member is refused (403): staff
/// resources.
fn staff(principal: &Principal) -> Result<&Actor, DomainError> {
    match principal {
        Principal::Staff { actor } => Ok(actor),
        Principal::Partner { .. } | Principal::Member { .. } => {
            Err(DomainError::InsufficientRights)
        }
    }
}

/// A wrong method on a known resource: 405 with `Allow`.
fn refuse(allow: String) -> Route {
    web::to(move || {
        let allow = allow.clone();
        async move { method_not_allowed(&allow) }
    })
}

/// The `/v1` operations: what [`configure`] serves and the OpenAPI document describes.
///
/// To add a route: write the handler with its `#[utoipa::path(...)]` (method, full path,
/// params, body, answers, security — see the handlers below), then add one line here.
pub fn operations() -> Vec<Operation> {
    vec![
        operation!(openapi::openapi_json),
        operation!(languages),
        operation!(business_cards::language_names),
        operation!(staff::open_session),
        operation!(staff::close_session),
        operation!(staff::list_cards),
        operation!(staff::open_card),
        operation!(staff::get_card),
        operation!(card_balance),
        operation!(partner::card_validity),
        operation!(partner::credit),
        operation!(staff::card_transactions),
        operation!(staff::top_up),
        operation!(staff::pay),
        operation!(staff::drain),
        operation!(staff::set_overdraft),
        operation!(lifecycle::block),
        operation!(lifecycle::lost),
        operation!(lifecycle::unblock),
        operation!(lifecycle::set_valid_until),
        operation!(lifecycle::replace),
        operation!(members::list),
        operation!(members::create),
        operation!(members::get),
        operation!(members::edit),
        operation!(members::cards),
        operation!(members::link),
        operation!(members::unlink),
        operation!(members::card_validity),
        operation!(business_cards::create),
        operation!(business_cards::get),
        operation!(business_cards::change),
        operation!(business_cards::delete),
        operation!(business_cards::delete_language),
        operation!(business_cards::card_status),
        operation!(business_cards::use_photo),
        operation!(business_cards::lang_status),
        operation!(accounts::invite),
        operation!(accounts::set_password),
        operation!(accounts::request_reset),
        operation!(accounts::open_session),
        operation!(accounts::close_session),
        operation!(me::profile),
        operation!(me::edit_profile),
        operation!(me::delete),
        operation!(me::cards),
        operation!(me::history),
        operation!(me::lost),
        operation!(me::preferences),
        operation!(me::set_preferences),
        operation!(me::export),
        operation!(staff::transactions),
        operation!(staff::transaction),
        operation!(staff::cancel),
        operation!(staff::redo),
        operation!(staff::statistics),
        operation!(catalog::list_products),
        operation!(catalog::create_product),
        operation!(catalog::get_product),
        operation!(catalog::update_product),
        operation!(catalog::delete_product),
        operation!(catalog::list_categories),
        operation!(catalog::create_category),
        operation!(catalog::get_category),
        operation!(catalog::rename_category),
        operation!(catalog::delete_category),
        operation!(users::list),
        operation!(users::create),
        operation!(users::get),
        operation!(users::update),
        operation!(users::delete),
        operation!(partners::list),
        operation!(partners::create),
        operation!(partners::get),
        operation!(partners::update),
        operation!(partners::disable),
        operation!(partners::rotate),
        operation!(exchange::list_offers),
        operation!(exchange::create_offer),
        operation!(exchange::get_offer),
        operation!(exchange::edit_offer),
        operation!(exchange::close_offer),
        operation!(exchange::list_conversations),
        operation!(exchange::start_conversation),
        operation!(exchange::messages),
        operation!(exchange::write),
        operation!(exchange::report),
        operation!(exchange::hide),
        operation!(exchange::suspend),
        operation!(exchange::reinstate),
        operation!(exchange::transfer),
        operation!(exchange::get_transfer),
        operation!(exchange::cancel_transfer),
        operation!(exchange::volume),
        operation!(vouchers::issue),
        operation!(vouchers::get),
        operation!(vouchers::get_qr_svg),
        operation!(vouchers::get_qr_png),
        operation!(vouchers::redeem),
        operation!(mandates::create_mine),
        operation!(mandates::list_mine),
        operation!(mandates::revoke_mine),
        operation!(mandates::create_for_member),
        operation!(mandates::debit),
        operation!(mandates::get_debit),
        operation!(mandates::refund),
        operation!(provider_services::enable),
        operation!(notifications::create),
        operation!(notifications::advertise),
        operation!(notifications::list),
        operation!(notifications::get),
        operation!(notifications::set_webhook),
    ]
}

/// Registers the `/v1` routes of [`operations`]. Unknown paths answer 404 and wrong methods
/// 405 with `Allow`, in the envelope.
pub fn configure(cfg: &mut web::ServiceConfig) {
    let scope = resources(operations(), "/v1", refuse)
        .into_iter()
        .fold(web::scope("/v1"), |scope, resource| scope.service(resource));
    cfg.service(scope.default_service(web::to(not_found)));
}

/// The message shown to the app user for a success code.
fn success_message(lang: Lang, code: &str) -> &'static str {
    let (en, fr) = match code {
        "SESSION_CREATED" => ("You are logged in.", "Vous êtes connecté."),
        "CARD_CREATED" => ("The card was created.", "La carte a été créée."),
        "CARD" => ("Card.", "Carte."),
        "CARD_LIST" => ("Cards.", "Cartes."),
        "TRANSACTION" => ("Transaction.", "Transaction."),
        "TRANSACTION_LIST" => ("Transactions.", "Transactions."),
        "TOPUP_DONE" => ("The card was topped up.", "La carte a été rechargée."),
        "PAYMENT_DONE" => ("The payment was made.", "Le paiement a été effectué."),
        "DRAIN_DONE" => ("The balance was handed back.", "Le solde a été rendu."),
        "OVERDRAFT_SET" => (
            "The overdraft limit was set.",
            "Le découvert autorisé a été modifié.",
        ),
        "TRANSACTION_CANCELLED" => (
            "The transaction was cancelled.",
            "La transaction a été annulée.",
        ),
        "TRANSACTION_REDONE" => (
            "The transaction was redone.",
            "La transaction a été rétablie.",
        ),
        "STATISTICS" => ("Statistics.", "Statistiques."),
        "CARD_VALIDITY" => ("Card validity.", "Validité de la carte."),
        "CARD_CREDITED" => ("The card was credited.", "La carte a été créditée."),
        "PARTNER_LIST" => ("Partners.", "Partenaires."),
        "PRODUCT_LIST" => ("Products.", "Produits."),
        "PRODUCT" => ("Product.", "Produit."),
        "PRODUCT_CREATED" => ("The product was created.", "Le produit a été créé."),
        "PRODUCT_UPDATED" => ("The product was updated.", "Le produit a été modifié."),
        "CATEGORY_LIST" => ("Categories.", "Catégories."),
        "CATEGORY" => ("Category.", "Catégorie."),
        "CATEGORY_CREATED" => ("The category was created.", "La catégorie a été créée."),
        "CATEGORY_UPDATED" => ("The category was renamed.", "La catégorie a été renommée."),
        "USER_LIST" => ("Staff users.", "Membres du bar."),
        "USER" => ("Staff user.", "Membre du bar."),
        "USER_CREATED" => ("The user was created.", "L'utilisateur a été créé."),
        "USER_UPDATED" => ("The user was updated.", "L'utilisateur a été modifié."),
        "PARTNER" => ("Partner.", "Partenaire."),
        "PARTNER_CREATED" => (
            "The partner was registered: keep its secret now, it is not shown again.",
            "Le partenaire a été enregistré : conservez son secret maintenant, il ne sera plus affiché.",
        ),
        "PARTNER_UPDATED" => ("The partner was updated.", "Le partenaire a été modifié."),
        "PARTNER_SECRET_ROTATED" => (
            "The partner has a new secret: keep it now, it is not shown again.",
            "Le partenaire a un nouveau secret : conservez-le maintenant, il ne sera plus affiché.",
        ),
        "CARD_BLOCKED" => ("The card was blocked.", "La carte a été bloquée."),
        "CARD_UNBLOCKED" => ("The card was unblocked.", "La carte a été débloquée."),
        "CARD_LOST" => (
            "The card was marked lost.",
            "La carte a été déclarée perdue.",
        ),
        "CARD_VALIDITY_SET" => (
            "The card's end of validity was set.",
            "La fin de validité de la carte a été modifiée.",
        ),
        "CARD_REPLACED" => (
            "The card was replaced; its balance moved to the new card.",
            "La carte a été remplacée ; son solde est passé sur la nouvelle carte.",
        ),
        "MEMBER_LIST" => ("Members.", "Membres."),
        "MEMBER" => ("Member.", "Membre."),
        "MEMBER_CREATED" => ("The member was created.", "Le membre a été créé."),
        "MEMBER_UPDATED" => ("The member was updated.", "Le membre a été modifié."),
        "MEMBER_CARD_LIST" => ("The member's cards.", "Les cartes du membre."),
        "CARD_LINKED" => (
            "The card was linked to the member.",
            "La carte a été associée au membre.",
        ),
        "LANGUAGE_LIST" => ("Languages.", "Langues."),
        "LANGUAGE_NAMES" => ("Language names.", "Noms des langues."),
        "BUSINESS_CARD" => ("Business card.", "Carte de visite."),
        "BUSINESS_CARD_CREATED" => (
            "The business card was created.",
            "La carte de visite a été créée.",
        ),
        "BUSINESS_CARD_UPDATED" => (
            "The business card was saved.",
            "La carte de visite a été enregistrée.",
        ),
        "BUSINESS_CARD_DELETED" => (
            "The business card was deleted.",
            "La carte de visite a été supprimée.",
        ),
        "BUSINESS_CARD_LANGUAGE_DELETED" => (
            "The language was deleted from the business card.",
            "La langue a été supprimée de la carte de visite.",
        ),
        "INVITATION_CREATED" => (
            "The invitation link was created: hand it to the member, it is shown only once.",
            "Le lien d'invitation a été créé : remettez-le au membre, il n'est affiché qu'une fois.",
        ),
        "PASSWORD_RESET_REQUESTED" => (
            "If this address is a member's, a link to choose a new password is on its way.",
            "Si cette adresse est celle d'un membre, un lien pour choisir un nouveau mot de passe va lui parvenir.",
        ),
        "PROFILE" => ("Your profile.", "Votre profil."),
        "PROFILE_UPDATED" => ("Your profile was updated.", "Votre profil a été modifié."),
        "MY_CARD_LIST" => ("Your cards.", "Vos cartes."),
        "PREFERENCES" => ("Your preferences.", "Vos préférences."),
        "PREFERENCES_SAVED" => (
            "Your preferences were saved.",
            "Vos préférences ont été enregistrées.",
        ),
        "MEMBER_EXPORT" => ("Your data.", "Vos données."),
        "OFFER_LIST" => ("Offers.", "Offres."),
        "OFFER" => ("Offer.", "Offre."),
        "OFFER_CREATED" => ("The offer was published.", "L'offre a été publiée."),
        "OFFER_UPDATED" => ("The offer was updated.", "L'offre a été modifiée."),
        "OFFER_CLOSED" => ("The offer was closed.", "L'offre a été close."),
        "CONVERSATION_LIST" => ("Your conversations.", "Vos conversations."),
        "MESSAGE_LIST" => ("Messages.", "Messages."),
        "MESSAGE_SENT" => ("The message was sent.", "Le message a été envoyé."),
        "MESSAGE_HIDDEN" => ("The message was hidden.", "Le message a été masqué."),
        "TRANSFER_DONE" => ("The payment was made.", "Le paiement a été effectué."),
        "TRANSFER" => ("Payment.", "Paiement."),
        "TRANSFER_CANCELLED" => (
            "The payment was cancelled: both cards are restored.",
            "Le paiement a été annulé : les deux cartes sont rétablies.",
        ),
        "EXCHANGE_VOLUME" => ("The exchange's volume.", "Le volume de l'échange."),
        "VOUCHERS_ISSUED" => ("The vouchers were issued.", "Les bons ont été émis."),
        "VOUCHER" => ("Voucher.", "Bon."),
        "VOUCHER_REDEEMED" => ("The voucher was redeemed.", "Le bon a été utilisé."),
        "MANDATE_CREATED" => ("The mandate was granted.", "Le mandat a été accordé."),
        "MANDATE_LIST" => ("Your mandates.", "Vos mandats."),
        "MANDATE_REVOKED" => ("The mandate was revoked.", "Le mandat a été révoqué."),
        "CARD_DEBITED" => ("The card was debited.", "La carte a été débitée."),
        "DEBIT" => ("Debit.", "Débit."),
        "DEBIT_REFUNDED" => ("The debit was refunded.", "Le débit a été remboursé."),
        "SERVICE_ENABLED" => (
            "The service was enabled: hand its token to the partner, it is shown only once.",
            "Le service a été activé : remettez son jeton au partenaire, il n'est affiché qu'une fois.",
        ),
        "NOTIFICATION_QUEUED" => (
            "The message was queued for delivery.",
            "Le message est en file d'attente pour être envoyé.",
        ),
        "NOTIFICATION" => ("Notification.", "Notification."),
        "NOTIFICATION_LIST" => ("Notifications.", "Notifications."),
        "WEBHOOK_SET" => (
            "The webhook was registered: keep its secret now, it is not shown again.",
            "Le webhook a été enregistré : conservez son secret maintenant, il ne sera plus affiché.",
        ),
        _ => ("Done.", "C'est fait."),
    };
    lang.pick(en, fr)
}

/// A 200 envelope with the message of `code`.
pub fn ok<T: Serialize>(lang: Lang, code: &str, data: T) -> HttpResponse {
    success(code, success_message(lang, code), data)
}

/// A 201 envelope with `Location`.
pub fn created<T: Serialize>(lang: Lang, code: &str, location: &str, data: T) -> HttpResponse {
    let mut builder = HttpResponse::Created();
    builder.insert_header((header::LOCATION, location));
    render(
        builder,
        &Success {
            success: true,
            code,
            message: success_message(lang, code),
            data,
        },
    )
}

/// A 204 without a body.
pub fn no_content() -> HttpResponse {
    HttpResponse::NoContent().finish()
}

/// The answer, or the envelope of its refusal.
pub fn reply(lang: Lang, outcome: Result<HttpResponse, DomainError>) -> HttpResponse {
    outcome.unwrap_or_else(|e| failure(lang, &e))
}

/// Reads a `/v1` body: JSON or form data; an empty body is no fields. The body may hold
/// `fields` only, each of its JSON type (see [`Params::only`]): an unknown field, a number for
/// a string or a string for a number is a `VALIDATION_ERROR` naming the field.
pub async fn read_params(
    req: &HttpRequest,
    payload: Payload,
    fields: &[(&str, Ty)],
) -> Result<Params, DomainError> {
    let body = match payload.to_bytes_limited(MAX_BODY_BYTES).await {
        Ok(Ok(body)) => body,
        Ok(Err(_)) => return Err(DomainError::malformed("the body could not be read")),
        Err(_) => return Err(DomainError::malformed("the body is too large")),
    };
    if body.is_empty() {
        return Ok(Params::default());
    }
    let params = Params::from_request(req, &body)?;
    params.only(fields)?;
    Ok(params)
}

/// Reads a JSON body into a strict request type (`deny_unknown_fields`, no string/number
/// coercion): a body that is not JSON, or does not fit, is refused naming the problem.
pub async fn read_json<T: serde::de::DeserializeOwned>(
    req: &HttpRequest,
    payload: Payload,
) -> Result<T, DomainError> {
    let body = match payload
        .to_bytes_limited(body_limit(req.method(), req.path()))
        .await
    {
        Ok(Ok(body)) => body,
        Ok(Err(_)) => return Err(DomainError::malformed("the body could not be read")),
        Err(_) => return Err(DomainError::malformed("the body is too large")),
    };
    let json = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| {
            let v = v.trim().to_ascii_lowercase();
            v == "application/json" || v.ends_with("+json")
        });
    if json == Some(false) {
        return Err(DomainError::malformed(
            "the body must be JSON (Content-Type: application/json)",
        ));
    }
    serde_json::from_slice(&body).map_err(|e| DomainError::malformed(format!("body: {e}")))
}

/// The bearer token of the request, for a logout.
pub fn bearer_token(req: &HttpRequest) -> Option<String> {
    req.headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| match ardoise_auth::Authorization::parse(v) {
            Ok(ardoise_auth::Authorization::Bearer(token)) => Some(token),
            _ => None,
        })
}

/// No data: `{}`.
#[derive(Serialize, ToSchema)]
pub struct Empty {}

/// A 202 envelope: the request is taken, its outcome is not told.
pub fn accepted(lang: Lang, code: &str) -> HttpResponse {
    render(
        HttpResponse::Accepted(),
        &Success {
            success: true,
            code,
            message: success_message(lang, code),
            data: Empty {},
        },
    )
}

/// The page asked for by `?page=&per_page=`.
pub fn page_of(req: &HttpRequest) -> Result<Page, DomainError> {
    let query = Params::from_form(req.query_string().as_bytes())?;
    Page::new(query.whole_opt("page")?, query.whole_opt("per_page")?)
}

/// A page of a list (`?page=&per_page=`, at most 500 a page).
#[derive(Serialize, ToSchema)]
pub struct PageJson<T: Serialize> {
    items: Vec<T>,
    /// The page number, from 1.
    page: u32,
    per_page: u32,
    /// How many items the whole list has.
    total: u64,
}

/// A page of a list in the envelope, with a `Link` header to the next and previous pages.
pub fn paged<T: Serialize>(
    req: &HttpRequest,
    lang: Lang,
    code: &str,
    list: Paged<T>,
) -> HttpResponse {
    let page = list.page;
    let link = |number: u32, rel: &str| {
        format!(
            "<{}?page={number}&per_page={}>; rel=\"{rel}\"",
            req.path(),
            page.per_page()
        )
    };
    let mut links = Vec::new();
    if list.has_next() {
        links.push(link(page.number() + 1, "next"));
    }
    if list.has_prev() {
        links.push(link(page.number() - 1, "prev"));
    }
    let mut builder = HttpResponse::Ok();
    if !links.is_empty() {
        builder.insert_header((header::LINK, links.join(", ")));
    }
    render(
        builder,
        &Success {
            success: true,
            code,
            message: success_message(lang, code),
            data: PageJson {
                items: list.items,
                page: page.number(),
                per_page: page.per_page(),
                total: list.total,
            },
        },
    )
}

/// A card id from the path.
pub fn card_path(text: &str) -> Result<CardId, DomainError> {
    CardId::parse(text).map_err(|e| DomainError::malformed(format!("card: {e}")))
}

/// A transaction id from the path.
pub fn transaction_path(text: &str) -> Result<TransactionId, DomainError> {
    text.parse::<i64>()
        .ok()
        .filter(|id| *id > 0 && !text.starts_with('+'))
        .map(TransactionId)
        .ok_or_else(|| DomainError::malformed("the transaction id is not a whole number ≥ 1"))
}

/// The header that marks the answer of an earlier identical request.
const REPLAYED: header::HeaderName = header::HeaderName::from_static("idempotency-replayed");

/// The request's `Idempotency-Key`, if any (one header at most).
pub fn idempotency_key(req: &HttpRequest) -> Result<Option<String>, DomainError> {
    let mut keys = req.headers().get_all("idempotency-key");
    match (keys.next(), keys.next()) {
        (None, _) => Ok(None),
        (Some(value), None) => value
            .to_str()
            .map(|k| Some(k.to_owned()))
            .map_err(|_| DomainError::malformed("the Idempotency-Key header is not visible ASCII")),
        (Some(_), Some(_)) => Err(DomainError::malformed("several Idempotency-Key headers")),
    }
}

/// The key of an idempotent request with the hash of what makes two requests the same (the
/// method, the path and `fingerprint`): keys are scoped to their owner by the rules, and one
/// key used on another route is another request (409).
pub fn keyed(
    req: &HttpRequest,
    fingerprint: &str,
) -> Result<Option<(String, String)>, DomainError> {
    Ok(idempotency_key(req)?.map(|key| {
        let hash =
            ardoise_auth::token_hash(&format!("{} {}\n{fingerprint}", req.method(), req.path()));
        (key, hash)
    }))
}

/// Marks the answer of an earlier identical request (`Idempotency-Replayed: true`).
pub fn mark_replayed(mut answer: HttpResponse, replayed: bool) -> HttpResponse {
    if replayed {
        answer
            .headers_mut()
            .insert(REPLAYED, header::HeaderValue::from_static("true"));
    }
    answer
}

/// A language the messages are written in.
#[derive(Serialize, ToSchema)]
struct LanguageJson {
    /// The ISO 639-1 code, as `Accept-Language` names it.
    #[schema(example = "fr")]
    code: &'static str,
    /// The language's own name.
    #[schema(example = "Français")]
    name: &'static str,
}

/// The languages of the messages.
#[derive(Serialize, ToSchema)]
struct LanguagesJson {
    items: Vec<LanguageJson>,
    /// The language used when `Accept-Language` names none of them.
    #[schema(example = "en")]
    default: &'static str,
}

/// `GET /v1/languages` (public): the languages `message` can be written in.
#[utoipa::path(
    get,
    path = "/v1/languages",
    tag = "service",
    summary = "The languages of the messages",
    description = "The languages `message` can be written in, chosen by `Accept-Language` \
        (seed 003's language repository). Public.",
    responses((status = 200, description = "`LANGUAGE_LIST`", body = Success<LanguagesJson>)),
)]
async fn languages(req: HttpRequest) -> HttpResponse {
    ok(
        Lang::of(&req),
        "LANGUAGE_LIST",
        LanguagesJson {
            items: Lang::ALL
                .iter()
                .map(|lang| LanguageJson {
                    code: lang.code(),
                    name: lang.name(),
                })
                .collect(),
            default: Lang::DEFAULT.code(),
        },
    )
}

/// The language of the messages, from `Accept-Language` (English unless French comes first).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    En,
    Fr,
}

impl Lang {
    /// Every supported language.
    pub const ALL: [Lang; 2] = [Lang::Fr, Lang::En];
    /// The language when `Accept-Language` names no supported one.
    pub const DEFAULT: Lang = Lang::En;

    /// The ISO 639-1 code.
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Fr => "fr",
        }
    }

    /// The language's own name.
    pub fn name(self) -> &'static str {
        match self {
            Lang::En => "English",
            Lang::Fr => "Français",
        }
    }

    /// The first supported language of the request's `Accept-Language`.
    pub fn of(req: &HttpRequest) -> Lang {
        let header = req
            .headers()
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        for range in header.split(',') {
            let tag = range.split(';').next().unwrap_or_default().trim();
            let primary = tag
                .split('-')
                .next()
                .unwrap_or_default()
                .to_ascii_lowercase();
            if let Some(lang) = Lang::ALL.into_iter().find(|l| l.code() == primary) {
                return lang;
            }
        }
        Lang::DEFAULT
    }

    fn pick(self, en: &'static str, fr: &'static str) -> &'static str {
        match self {
            Lang::En => en,
            Lang::Fr => fr,
        }
    }
}

/// The envelope of a success (HTTP 200 or 201).
#[derive(Serialize, ToSchema)]
pub struct Success<'a, T: Serialize> {
    /// Always `true`.
    success: bool,
    /// A stable code, e.g. `CARD_CREDITED`.
    code: &'a str,
    /// A text for the app user, in the language of `Accept-Language`.
    message: &'a str,
    data: T,
}

/// The envelope of a refusal (HTTP 4xx, 5xx).
#[derive(Serialize, ToSchema)]
pub struct Failure<'a> {
    /// Always `false`.
    success: bool,
    /// A stable UPPER_SNAKE code (see the error table of docs/api.md); `9999` for an internal
    /// error.
    code: &'a str,
    /// A text for the app user, in the language of `Accept-Language`.
    message: &'a str,
    /// A text for the developer (English); empty for internal errors.
    #[serde(rename = "debugMessage")]
    debug_message: &'a str,
    /// Always `null` today.
    #[serde(rename = "moreInfo")]
    #[schema(value_type = Option<Object>)]
    more_info: Option<()>,
}

fn render<T: Serialize>(mut builder: HttpResponseBuilder, body: &T) -> HttpResponse {
    match serde_json::to_vec(body) {
        Ok(bytes) => builder.content_type("application/json").body(bytes),
        Err(e) => {
            tracing::error!(error = %e, "cannot render a /v1 answer");
            HttpResponse::InternalServerError()
                .content_type("application/json")
                .body(r#"{"success":false,"code":"9999","message":"internal error","debugMessage":"","moreInfo":null}"#)
        }
    }
}

/// A 200 envelope.
pub fn success<T: Serialize>(code: &str, message: &str, data: T) -> HttpResponse {
    render(
        HttpResponse::Ok(),
        &Success {
            success: true,
            code,
            message,
            data,
        },
    )
}

/// An error envelope on `builder`'s status.
pub fn envelope_error(
    builder: HttpResponseBuilder,
    code: &str,
    message: &str,
    debug_message: &str,
) -> HttpResponse {
    render(
        builder,
        &Failure {
            success: false,
            code,
            message,
            debug_message,
            more_info: None,
        },
    )
}

/// The envelope of a refusal by the rules: its status, stable code and localised message.
/// 500s say nothing of the cause (it is logged); storage trouble is a 503 with `Retry-After`.
pub fn failure(lang: Lang, error: &DomainError) -> HttpResponse {
    use DomainError::*;
    let status = match error {
        Malformed(_) | NegativeBalance | NegativeTopUp | NegativePayment | InvalidLink => {
            StatusCode::BAD_REQUEST
        }
        InvalidToken | InvalidCredentials => StatusCode::UNAUTHORIZED,
        InsufficientRights | MandateRequired => StatusCode::FORBIDDEN,
        UnknownCard | UnknownUser | UnknownProduct | UnknownTransaction | UnknownStaffCard
        | UnknownPartner | UnknownCategory | UnknownMember | CardNotLinked | UnknownVoucher
        | UnknownMandate | UnknownDebit | UnknownBusinessCard | UnknownOffer
        | UnknownConversation | UnknownMessage | UnknownTransfer | UnknownNotification => {
            StatusCode::NOT_FOUND
        }
        MemberSuspended | ExchangeDisabled => StatusCode::FORBIDDEN,
        ServiceNotAvailable => StatusCode::NOT_IMPLEMENTED,
        TooManyAttempts { .. } => StatusCode::TOO_MANY_REQUESTS,
        StorageUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        _ => StatusCode::CONFLICT,
    };
    let message = error_message(lang, error);
    let debug = match error {
        Internal(detail) => {
            tracing::error!(%detail, "internal error");
            String::new()
        }
        other => other.to_string(),
    };
    let mut builder = HttpResponse::build(status);
    match error {
        StorageUnavailable => {
            builder.insert_header((header::RETRY_AFTER, "5"));
        }
        TooManyAttempts {
            retry_after_seconds,
        } => {
            builder.insert_header((header::RETRY_AFTER, retry_after_seconds.to_string()));
        }
        _ => {}
    }
    envelope_error(builder, error.code(), message, &debug)
}

/// The message shown to the app user for a refusal, in the caller's language.
fn error_message(lang: Lang, error: &DomainError) -> &'static str {
    use DomainError::*;
    let (en, fr) = match error {
        Malformed(_) => ("The request is invalid.", "La requête est invalide."),
        InvalidToken => (
            "The access token is invalid or has expired.",
            "Le jeton d'accès est invalide ou a expiré.",
        ),
        InsufficientRights => (
            "You are not allowed to do this.",
            "Vous n'avez pas le droit de faire cela.",
        ),
        StorageUnavailable => (
            "The service is temporarily unavailable: retry later.",
            "Le service est momentanément indisponible : réessayez plus tard.",
        ),
        Internal(_) => ("Internal error.", "Erreur interne."),
        InvalidCredentials => (
            "Wrong login or password.",
            "Identifiant ou mot de passe incorrect.",
        ),
        UnknownStaffCard => ("Unknown staff card.", "Carte de membre du bar inconnue."),
        TooManyAttempts { .. } => (
            "Too many failed attempts: retry later.",
            "Trop de tentatives échouées : réessayez plus tard.",
        ),
        UnknownUser => ("Unknown user.", "Utilisateur inconnu."),
        UserExists => ("This user already exists.", "Cet utilisateur existe déjà."),
        UnknownCard => ("Unknown card.", "Carte inconnue."),
        CardExists => ("This card already exists.", "Cette carte existe déjà."),
        NegativeBalance => (
            "The balance is zero or negative.",
            "Le solde est nul ou négatif.",
        ),
        InsufficientFunds { .. } => ("Insufficient balance.", "Solde insuffisant."),
        NegativeTopUp => (
            "A top-up must be positive.",
            "Un rechargement doit être positif.",
        ),
        NegativePayment => (
            "A payment must be positive.",
            "Un paiement doit être positif.",
        ),
        UnknownProduct => ("Unknown product.", "Produit inconnu."),
        UnknownTransaction => ("Unknown transaction.", "Transaction inconnue."),
        AlreadyCancelled => (
            "The transaction is already cancelled.",
            "La transaction est déjà annulée.",
        ),
        AlreadyActive => (
            "The transaction is already active.",
            "La transaction est déjà active.",
        ),
        CorrectionWindowClosed => (
            "This transaction can no longer be corrected.",
            "Cette transaction ne peut plus être corrigée.",
        ),
        NotOwnTransaction => (
            "This transaction was made by someone else.",
            "Cette transaction a été faite par quelqu'un d'autre.",
        ),
        CardNotUsable(_) => (
            "This card cannot be used.",
            "Cette carte ne peut pas être utilisée.",
        ),
        BalanceCeiling { .. } => (
            "The balance would go above the card's maximum.",
            "Le solde dépasserait le maximum de la carte.",
        ),
        IdempotencyKeyReused => (
            "This Idempotency-Key was already used for another request.",
            "Cette clé d'idempotence a déjà servi pour une autre requête.",
        ),
        ReferenceReused => (
            "This reference was already used for another credit.",
            "Cette référence a déjà servi pour un autre crédit.",
        ),
        CreditCapExceeded { .. } => (
            "The credit is above your credit limit.",
            "Le crédit dépasse votre plafond.",
        ),
        UnknownPartner => ("Unknown partner.", "Partenaire inconnu."),
        UnknownCategory => ("Unknown category.", "Catégorie inconnue."),
        CategoryExists => (
            "A category of this name already exists.",
            "Une catégorie de ce nom existe déjà.",
        ),
        ProductExists => (
            "A product of this name already exists.",
            "Un produit de ce nom existe déjà.",
        ),
        UnknownMember => ("Unknown member.", "Membre inconnu."),
        CardLinkedToOther => (
            "This card already belongs to another member.",
            "Cette carte appartient déjà à un autre membre.",
        ),
        CardNotLinked => (
            "This card does not belong to this member.",
            "Cette carte n'appartient pas à ce membre.",
        ),
        CardReplaced(_) => (
            "This card was replaced by another one and can no longer change.",
            "Cette carte a été remplacée par une autre et ne peut plus être modifiée.",
        ),
        NotCorrectable => (
            "A card replacement cannot be cancelled or redone.",
            "Le remplacement d'une carte ne peut être ni annulé ni rétabli.",
        ),
        InvalidLink => (
            "This link is no longer valid: ask for a new one.",
            "Ce lien n'est plus valable : demandez-en un nouveau.",
        ),
        EmailTaken => (
            "This e-mail address is already another member's.",
            "Cette adresse e-mail est déjà celle d'un autre membre.",
        ),
        SelfTransfer => (
            "You cannot pay yourself.",
            "Vous ne pouvez pas vous payer vous-même.",
        ),
        MemberSuspended => (
            "This member is suspended from the exchange.",
            "Ce membre est suspendu de l'échange.",
        ),
        ExchangeDisabled => (
            "The members' exchange is switched off.",
            "L'échange entre membres est désactivé.",
        ),
        CardBlocked(_) => (
            "The card cannot be used for this payment.",
            "La carte ne peut pas servir à ce paiement.",
        ),
        UnknownOffer => ("Unknown offer.", "Offre inconnue."),
        OfferClosed => ("This offer is closed.", "Cette offre est close."),
        UnknownConversation => ("Unknown conversation.", "Conversation inconnue."),
        UnknownMessage => ("Unknown message.", "Message inconnu."),
        UnknownTransfer => ("Unknown transfer.", "Virement inconnu."),
        UnknownBusinessCard => (
            "This business card or language does not exist, or is not yours.",
            "Cette carte de visite ou cette langue n'existe pas, ou n'est pas la vôtre.",
        ),
        BusinessCardExists => (
            "This member already has a business card.",
            "Ce membre a déjà une carte de visite.",
        ),
        ProfileLimitReached => (
            "Your limit of business cards is reached: contact the association to raise it.",
            "Votre limite de cartes de visite est atteinte : contactez l'association pour la relever.",
        ),
        UnknownVoucher => ("Unknown voucher.", "Bon inconnu."),
        VoucherAlreadyUsed { .. } => (
            "This voucher was already used.",
            "Ce bon a déjà été utilisé.",
        ),
        VoucherExpired => ("This voucher has expired.", "Ce bon a expiré."),
        MandateRequired => (
            "The card's member has given you no mandate to debit it.",
            "Le membre de cette carte ne vous a donné aucun mandat pour la débiter.",
        ),
        CapExceeded { .. } => (
            "The debit is above the mandate's limit.",
            "Le débit dépasse le plafond du mandat.",
        ),
        UnknownMandate => ("Unknown mandate.", "Mandat inconnu."),
        UnknownDebit => ("Unknown debit.", "Débit inconnu."),
        AlreadyRefunded => (
            "This debit was already refunded.",
            "Ce débit a déjà été remboursé.",
        ),
        RefundWindowClosed => (
            "This debit can no longer be refunded.",
            "Ce débit ne peut plus être remboursé.",
        ),
        ServiceNotAvailable => (
            "This service is not available on this server yet.",
            "Ce service n'est pas encore disponible sur ce serveur.",
        ),
        ChannelNotConfigured(_) => (
            "This channel is not configured on this server.",
            "Ce canal n'est pas configuré sur ce serveur.",
        ),
        UnknownNotification => ("Unknown notification.", "Notification inconnue."),
    };
    lang.pick(en, fr)
}

pub(crate) fn method_not_allowed(allow: &str) -> HttpResponse {
    let mut builder = HttpResponse::build(StatusCode::METHOD_NOT_ALLOWED);
    builder.insert_header((header::ALLOW, allow));
    envelope_error(
        builder,
        "METHOD_NOT_ALLOWED_ERROR",
        "This method is not allowed here.",
        &format!("allowed: {allow}"),
    )
}

async fn not_found() -> HttpResponse {
    not_found_resource("no such route")
}

/// A 404 `RESOURCE_NOT_FOUND_ERROR` saying why to the developer.
pub fn not_found_resource(debug_message: &str) -> HttpResponse {
    envelope_error(
        HttpResponse::build(StatusCode::NOT_FOUND),
        "RESOURCE_NOT_FOUND_ERROR",
        "This resource does not exist.",
        debug_message,
    )
}

/// A card's balance.
#[derive(Serialize, ToSchema)]
struct CardBalance<'a> {
    card: &'a str,
    #[schema(value_type = Amount)]
    balance: String,
    /// Always `EUR`.
    currency: &'static str,
}

/// `GET /v1/cards/{card}/balance` (scope `cards:read`; staff need the rights of a card sheet).
#[utoipa::path(
    get,
    path = "/v1/cards/{card}/balance",
    tag = "partners",
    summary = "A card's balance",
    description = "Scope `cards:read`; staff need rights ≥ 2.",
    params(CardParam),
    responses(
        (status = 200, description = "`CARD_BALANCE`", body = Success<CardBalance>),
        (status = 400, description = "Malformed card id", body = Failure),
        (status = 404, description = "`CARD_NOT_FOUND_ERROR`", body = Failure),
    ),
    security(("bearer" = ["cards:read"]), ("client_basic" = ["cards:read"])),
)]
async fn card_balance(
    state: Data<AppState>,
    req: HttpRequest,
    principal: Principal,
    card: Path<String>,
) -> Result<HttpResponse, Unauthorized> {
    principal.require_scope("cards:read")?;
    let lang = Lang::of(&req);
    let card = match CardId::parse(&card) {
        Ok(card) => card,
        Err(e) => return Ok(failure(lang, &DomainError::malformed(format!("card: {e}")))),
    };
    let found = match &principal {
        Principal::Partner { .. } => state.bar.card_for_partner(&card).await,
        Principal::Staff { actor } => state.bar.card(actor, &card).await,
        Principal::Member { .. } => Err(DomainError::InsufficientRights),
    };
    Ok(match found {
        Ok(found) => success(
            "CARD_BALANCE",
            lang.pick("Card balance.", "Solde de la carte."),
            CardBalance {
                card: found.id.as_str(),
                balance: found.balance.to_fixed2(),
                currency: "EUR",
            },
        ),
        Err(e) => failure(lang, &e),
    })
}
