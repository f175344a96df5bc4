//! Enabling seed 002's services for a partner: `POST /v1/partners/{client_id}/services`.

use actix_web::web::{Data, Path, Payload};
use actix_web::{HttpRequest, HttpResponse};
use serde::Serialize;
use utoipa::{IntoParams, ToSchema};

use super::{created, read_params, reply, staff, Failure, Lang, Success};
use crate::params::Ty;
use crate::principal::Principal;
use crate::AppState;

/// The partner in a path.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)] // describes a path segment that the handler reads itself
struct ClientIdParam {
    /// The partner's client id.
    client_id: String,
}

/// A service enabled, with its token.
#[derive(Serialize, ToSchema)]
struct ServiceTokenJson {
    service_id: i64,
    /// A UUID, shown in this answer only: the provider sends it as `service_token` to
    /// `POST /Services`.
    service_token: String,
}

/// The body of `POST /v1/partners/{client_id}/services`.
#[derive(ToSchema)]
#[allow(dead_code)] // describes the body that `Params` parses
#[schema(as = EnableServiceRequest)]
struct ServiceRequest {
    /// 1 notification, 2 advertisement, 3 QR code, 4 micropayment.
    #[schema(minimum = 1, maximum = 4)]
    service_id: i64,
}

/// `POST /v1/partners/{client_id}/services` (staff 3) `{"service_id"}`: enables the service
/// for the partner and shows its token once; a new token replaces the former one.
#[utoipa::path(
    post,
    path = "/v1/partners/{client_id}/services",
    tag = "partners admin",
    summary = "Enable a seed 002 service for a partner",
    description = "Staff rights 3. The answer holds the service's token (a UUID) once; it is \
        stored hashed. Enabling the service again gives a new token and the former one stops \
        working.",
    params(ClientIdParam),
    request_body(content(
        (ServiceRequest = "application/json"),
        (ServiceRequest = "application/x-www-form-urlencoded"),
    )),
    responses(
        (status = 201, description = "`SERVICE_ENABLED`", body = Success<ServiceTokenJson>),
        (status = 400, description = "`VALIDATION_ERROR`", body = Failure),
        (status = 404, description = "`PARTNER_NOT_FOUND_ERROR`", body = Failure),
    ),
    security(("bearer" = [])),
)]
pub(super) async fn enable(
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
            let p = read_params(&req, payload, &[("service_id", Ty::Int)]).await?;
            let service_id = p.whole_opt("service_id")?.ok_or_else(|| {
                ardoise_domain::DomainError::malformed("field `service_id` is missing")
            })?;
            let token = state
                .service_tokens
                .enable(actor, &path, service_id)
                .await?;
            Ok(created(
                lang,
                "SERVICE_ENABLED",
                &format!("/v1/partners/{}", path.as_str()),
                ServiceTokenJson {
                    service_id,
                    service_token: token,
                },
            ))
        }
        .await,
    )
}
