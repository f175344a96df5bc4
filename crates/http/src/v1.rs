//! The `/v1` resource API (seed 000's envelope). Today one partner resource, the card
//! balance; the rest of the API is built on the same pieces: the [`Principal`] extractor, the
//! envelope ([`success`], [`failure`]) and the localised messages ([`Lang`]).

use actix_web::http::header;
use actix_web::http::StatusCode;
use actix_web::web::{self, Data, Path};
use actix_web::{HttpRequest, HttpResponse, HttpResponseBuilder};
use ardoise_domain::{CardId, DomainError};
use serde::Serialize;

use crate::principal::{Principal, Unauthorized};
use crate::AppState;

/// Registers the `/v1` routes. Unknown paths answer 404 and wrong methods 405, in the envelope.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/v1")
            .service(
                web::resource("/cards/{card}/balance")
                    .route(web::get().to(card_balance))
                    .default_service(web::to(|| async { method_not_allowed("GET") })),
            )
            .default_service(web::to(not_found)),
    );
}

/// The language of the messages, from `Accept-Language` (English unless French comes first).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    En,
    Fr,
}

impl Lang {
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
            match primary.as_str() {
                "fr" => return Lang::Fr,
                "en" => return Lang::En,
                _ => {}
            }
        }
        Lang::En
    }

    fn pick(self, en: &'static str, fr: &'static str) -> &'static str {
        match self {
            Lang::En => en,
            Lang::Fr => fr,
        }
    }
}

#[derive(Serialize)]
struct Success<'a, T: Serialize> {
    success: bool,
    code: &'a str,
    message: &'a str,
    data: T,
}

#[derive(Serialize)]
struct Failure<'a> {
    success: bool,
    code: &'a str,
    message: &'a str,
    #[serde(rename = "debugMessage")]
    debug_message: &'a str,
    #[serde(rename = "moreInfo")]
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
        Malformed(_) | NegativeBalance | NegativeTopUp | NegativePayment => StatusCode::BAD_REQUEST,
        InvalidToken | InvalidCredentials => StatusCode::UNAUTHORIZED,
        InsufficientRights => StatusCode::FORBIDDEN,
        UnknownCard | UnknownUser | UnknownProduct | UnknownTransaction | UnknownStaffCard => {
            StatusCode::NOT_FOUND
        }
        TooManyAttempts { .. } => StatusCode::TOO_MANY_REQUESTS,
        StorageUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        _ => StatusCode::CONFLICT,
    };
    let message = match error {
        UnknownCard => lang.pick("Unknown card.", "Carte inconnue."),
        Malformed(_) => lang.pick("The request is invalid.", "La requête est invalide."),
        InsufficientRights => lang.pick(
            "You are not allowed to do this.",
            "Vous n'avez pas le droit de faire cela.",
        ),
        StorageUnavailable => lang.pick(
            "The service is temporarily unavailable: retry later.",
            "Le service est momentanément indisponible : réessayez plus tard.",
        ),
        Internal(_) => lang.pick("Internal error.", "Erreur interne."),
        _ => lang.pick("The request was refused.", "La requête a été refusée."),
    };
    let debug = match error {
        Internal(detail) => {
            tracing::error!(%detail, "internal error");
            String::new()
        }
        other => other.to_string(),
    };
    let mut builder = HttpResponse::build(status);
    if matches!(error, StorageUnavailable) {
        builder.insert_header((header::RETRY_AFTER, "5"));
    }
    envelope_error(builder, error.code(), message, &debug)
}

fn method_not_allowed(allow: &'static str) -> HttpResponse {
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
    envelope_error(
        HttpResponse::build(StatusCode::NOT_FOUND),
        "RESOURCE_NOT_FOUND_ERROR",
        "This resource does not exist.",
        "no such route",
    )
}

/// A card's balance: money as a string with exactly two decimals.
#[derive(Serialize)]
struct CardBalance<'a> {
    card: &'a str,
    balance: String,
    currency: &'static str,
}

/// `GET /v1/cards/{card}/balance` (scope `cards:read`; staff need the rights of a card sheet).
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
