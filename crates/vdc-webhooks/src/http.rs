//! `/api/v1/webhooks` (contract "Webhooks and audit"): admin key only, each call audited;
//! and the one HTTP mapping of [`WebhookError`].

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Json, Router, middleware};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use vdc_access::{AuditTarget, Authenticator, management};
use vdc_http::openapi::{ErrorBody, TAG_WEBHOOKS};
use vdc_http::{AppJson, ErrorResponse};
use vdc_store::StoreErrorKind;

use crate::service::{CreatedWebhook, DeliveryList, WebhookList, WebhookObject};
use crate::{CreateWebhook, WebhookError, Webhooks};

/// `POST`/`GET /api/v1/webhooks`.
pub const API_WEBHOOKS: &str = "/api/v1/webhooks";
/// `GET`/`DELETE /api/v1/webhooks/{id}`.
pub const API_WEBHOOK: &str = "/api/v1/webhooks/{id}";
/// `GET /api/v1/webhooks/{id}/deliveries`.
pub const API_WEBHOOK_DELIVERIES: &str = "/api/v1/webhooks/{id}/deliveries";

impl IntoResponse for WebhookError {
    fn into_response(self) -> Response {
        match self {
            Self::InvalidRequest(d) => ErrorResponse::invalid_request(d),
            Self::NotFound => ErrorResponse::not_found("unknown webhook"),
            Self::Store(e) if e.kind() == StoreErrorKind::Unavailable => ErrorResponse::server(
                StatusCode::SERVICE_UNAVAILABLE,
                "temporarily_unavailable",
                e.to_string(),
            ),
            Self::Store(e) => ErrorResponse::server(
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                e.to_string(),
            ),
            Self::Internal(d) => {
                ErrorResponse::server(StatusCode::INTERNAL_SERVER_ERROR, "server_error", d)
            }
        }
        .into_response()
    }
}

/// The webhook routes and their OpenAPI description, registered together.
fn management_api() -> OpenApiRouter<Webhooks> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(get_one, delete))
        .routes(routes!(deliveries))
}

/// The OpenAPI description of [`management_routes`].
pub fn openapi() -> utoipa::openapi::OpenApi {
    management_api().into_openapi()
}

/// The webhook management routes: admin key only (routes outside the scope table of
/// [`vdc_access::rule`] are), each call audited.
pub fn management_routes(webhooks: Webhooks, auth: Authenticator) -> Router {
    let (router, _) = management_api().split_for_parts();
    router
        .route_layer(middleware::from_fn_with_state(auth, management))
        .with_state(webhooks)
}

#[utoipa::path(
    post,
    path = API_WEBHOOKS,
    tag = TAG_WEBHOOKS,
    operation_id = "create_webhook",
    summary = "Subscribe a URL to events",
    description = "Needs the admin key.",
    request_body = CreateWebhook,
    responses(
        (status = 201, description = "Created; the secret is shown this once.", body = CreatedWebhook),
        (status = 400, description = "Invalid URL (https unless allow-listed), event or tenant.", body = ErrorBody),
        (status = 401, description = "Missing or wrong API key.", body = ErrorBody),
        (status = 403, description = "Needs the admin key.", body = ErrorBody),
        (status = 413, description = "Body over 1 MiB.", body = ErrorBody),
        (status = 415, description = "Body is not `application/json`.", body = ErrorBody),
    ),
)]
/// `POST /api/v1/webhooks` → `201 {"id", "secret", ...}` (the secret is shown once).
async fn create(
    State(w): State<Webhooks>,
    AppJson(req): AppJson<CreateWebhook>,
) -> Result<Response, WebhookError> {
    let created = w.create(req).await?;
    let mut r = (StatusCode::CREATED, Json(&created)).into_response();
    r.extensions_mut().insert(AuditTarget(created.object.id));
    Ok(r)
}

#[utoipa::path(
    get,
    path = API_WEBHOOKS,
    tag = TAG_WEBHOOKS,
    operation_id = "list_webhooks",
    summary = "List webhooks (without secrets)",
    description = "Needs the admin key.",
    responses(
        (status = 200, description = "Every webhook.", body = WebhookList),
        (status = 401, description = "Missing or wrong API key.", body = ErrorBody),
        (status = 403, description = "Needs the admin key.", body = ErrorBody),
    ),
)]
async fn list(State(w): State<Webhooks>) -> Result<Json<WebhookList>, WebhookError> {
    w.list().await.map(Json)
}

#[utoipa::path(
    get,
    path = API_WEBHOOK,
    tag = TAG_WEBHOOKS,
    operation_id = "get_webhook",
    summary = "Read a webhook (without its secret)",
    description = "Needs the admin key.",
    params(
        ("id" = String, Path, description = "The webhook id."),
    ),
    responses(
        (status = 200, description = "The webhook.", body = WebhookObject),
        (status = 401, description = "Missing or wrong API key.", body = ErrorBody),
        (status = 403, description = "Needs the admin key.", body = ErrorBody),
        (status = 404, description = "Unknown webhook.", body = ErrorBody),
    ),
)]
async fn get_one(
    State(w): State<Webhooks>,
    Path(id): Path<String>,
) -> Result<Json<WebhookObject>, WebhookError> {
    w.get(&id).await.map(Json)
}

#[utoipa::path(
    delete,
    path = API_WEBHOOK,
    tag = TAG_WEBHOOKS,
    operation_id = "delete_webhook",
    summary = "Delete a webhook",
    description = "Needs the admin key.",
    params(
        ("id" = String, Path, description = "The webhook id."),
    ),
    responses(
        (status = 204, description = "Deleted; its pending deliveries stop."),
        (status = 401, description = "Missing or wrong API key.", body = ErrorBody),
        (status = 403, description = "Needs the admin key.", body = ErrorBody),
        (status = 404, description = "Unknown webhook.", body = ErrorBody),
    ),
)]
async fn delete(
    State(w): State<Webhooks>,
    Path(id): Path<String>,
) -> Result<StatusCode, WebhookError> {
    w.delete(&id).await.map(|()| StatusCode::NO_CONTENT)
}

#[utoipa::path(
    get,
    path = API_WEBHOOK_DELIVERIES,
    tag = TAG_WEBHOOKS,
    operation_id = "list_webhook_deliveries",
    summary = "A webhook's deliveries and every attempt",
    description = "Needs the admin key.",
    params(
        ("id" = String, Path, description = "The webhook id."),
    ),
    responses(
        (status = 200, description = "The newest deliveries.", body = DeliveryList),
        (status = 401, description = "Missing or wrong API key.", body = ErrorBody),
        (status = 403, description = "Needs the admin key.", body = ErrorBody),
        (status = 404, description = "Unknown webhook.", body = ErrorBody),
    ),
)]
async fn deliveries(
    State(w): State<Webhooks>,
    Path(id): Path<String>,
) -> Result<Json<DeliveryList>, WebhookError> {
    w.deliveries(&id).await.map(Json)
}
