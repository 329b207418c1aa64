//! The issuer's routers: [`wallet_routes`] (the public OID4VCI endpoints and metadata, at
//! the paths in [`paths`]) and [`management_routes`] (the contract's `/api/v1` issuer API,
//! behind the admin key). Handlers extract, call one service method, and map the result.

mod error;
pub mod paths;

use std::collections::BTreeMap;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router, middleware};
use serde_json::Value;
use vdc_http::auth::{AdminKey, require_admin};
use vdc_http::{AppJson, BearerToken, OAuthForm};

use crate::config::IssuerDefinition;
use crate::error::Result;
use crate::management::CreateOffer;
use crate::oid4vci::{CredentialOutcome, CredentialRequest, DeferredRequest, NotificationRequest};
use crate::service::Issuer;

/// A JSON answer that caches must not keep (RFC 6749 §5.1; OID4VCI 1.0 §7.2, §8.3).
fn no_store(status: StatusCode, body: Value) -> Response {
    let mut r = (status, Json(body)).into_response();
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// The wallet-facing routes.
pub fn wallet_routes(issuer: Issuer) -> Router {
    use paths::*;
    Router::new()
        .route(METADATA_INSERTED, get(metadata))
        .route(METADATA_APPENDED, get(metadata))
        .route(AS_METADATA_INSERTED, get(as_metadata))
        .route(AS_METADATA_APPENDED, get(as_metadata))
        .route(JWT_VC_ISSUER_INSERTED, get(jwt_vc_issuer))
        .route(JWT_VC_ISSUER_APPENDED, get(jwt_vc_issuer))
        .route(OFFER, get(offer))
        .route(TOKEN, post(token))
        .route(NONCE, post(nonce))
        .route(CREDENTIAL, post(credential))
        .route(DEFERRED_CREDENTIAL, post(deferred_credential))
        .route(NOTIFICATION, post(notification))
        .with_state(issuer)
}

/// The management routes (admin key required).
pub fn management_routes(issuer: Issuer, admin: AdminKey) -> Router {
    use paths::*;
    Router::new()
        .route(API_ISSUERS, get(list_issuers).post(create_issuer))
        .route(API_ISSUER, get(get_issuer))
        .route(API_OFFERS, post(create_offer))
        .route(API_OFFER, get(get_offer).delete(cancel_offer))
        .route(API_OFFER_CLAIMS, axum::routing::put(supply_claims))
        .route(API_OFFER_QR, get(offer_qr))
        .route(API_CREDENTIAL, get(get_credential))
        .route_layer(middleware::from_fn_with_state(admin, require_admin))
        .with_state(issuer)
}

async fn metadata(State(i): State<Issuer>, Path(issuer): Path<String>) -> Result<Json<Value>> {
    i.credential_issuer_metadata(&issuer).await.map(Json)
}

async fn as_metadata(State(i): State<Issuer>, Path(issuer): Path<String>) -> Result<Json<Value>> {
    i.authorization_server_metadata(&issuer).await.map(Json)
}

async fn jwt_vc_issuer(State(i): State<Issuer>, Path(issuer): Path<String>) -> Result<Json<Value>> {
    i.jwt_vc_issuer_metadata(&issuer).await.map(Json)
}

async fn offer(
    State(i): State<Issuer>,
    Path((issuer, id)): Path<(String, String)>,
) -> Result<Response> {
    i.credential_offer(&issuer, &id)
        .await
        .map(|o| no_store(StatusCode::OK, o))
}

async fn token(
    State(i): State<Issuer>,
    Path(issuer): Path<String>,
    OAuthForm(form): OAuthForm,
) -> Result<Response> {
    i.token(&issuer, &form)
        .await
        .map(|t| no_store(StatusCode::OK, t.body))
}

async fn nonce(State(i): State<Issuer>, Path(issuer): Path<String>) -> Result<Response> {
    i.nonce(&issuer).await.map(|n| no_store(StatusCode::OK, n))
}

fn outcome(o: CredentialOutcome) -> Response {
    match o {
        CredentialOutcome::Issued(body) => no_store(StatusCode::OK, body),
        CredentialOutcome::Deferred(body) => no_store(StatusCode::ACCEPTED, body),
    }
}

async fn credential(
    State(i): State<Issuer>,
    Path(issuer): Path<String>,
    token: BearerToken,
    AppJson(req): AppJson<CredentialRequest>,
) -> Result<Response> {
    i.credential(&issuer, &token.0, req).await.map(outcome)
}

async fn deferred_credential(
    State(i): State<Issuer>,
    Path(issuer): Path<String>,
    token: BearerToken,
    AppJson(req): AppJson<DeferredRequest>,
) -> Result<Response> {
    i.deferred_credential(&issuer, &token.0, req)
        .await
        .map(outcome)
}

async fn notification(
    State(i): State<Issuer>,
    Path(issuer): Path<String>,
    token: BearerToken,
    AppJson(req): AppJson<NotificationRequest>,
) -> Result<StatusCode> {
    i.notification(&issuer, &token.0, req)
        .await
        .map(|()| StatusCode::NO_CONTENT)
}

async fn list_issuers(State(i): State<Issuer>) -> Result<Json<Value>> {
    i.list_issuers().await.map(Json)
}

async fn create_issuer(
    State(i): State<Issuer>,
    AppJson(def): AppJson<IssuerDefinition>,
) -> Result<(StatusCode, Json<Value>)> {
    i.create_issuer(def)
        .await
        .map(|v| (StatusCode::CREATED, Json(v)))
}

async fn get_issuer(State(i): State<Issuer>, Path(issuer): Path<String>) -> Result<Json<Value>> {
    i.get_issuer(&issuer).await.map(Json)
}

async fn create_offer(
    State(i): State<Issuer>,
    Path(issuer): Path<String>,
    AppJson(req): AppJson<CreateOffer>,
) -> Result<Response> {
    i.create_offer(&issuer, req)
        .await
        .map(|v| no_store(StatusCode::CREATED, v))
}

/// `?wait=N` of the status routes.
#[derive(serde::Deserialize)]
struct WaitQuery {
    wait: Option<String>,
}

/// Offer statuses that never change again (long-poll answers them at once).
const FINAL_OFFER_STATUSES: &[&str] = &["credential_issued", "cancelled", "expired"];

/// `GET /api/v1/issuers/{issuer}/offers/{id}[?wait=N]`: with `wait`, answers once the
/// status differs from the one at the call's start, or after N seconds (issue 6, long-poll).
async fn get_offer(
    State(i): State<Issuer>,
    Path((issuer, id)): Path<(String, String)>,
    Query(q): Query<WaitQuery>,
) -> Result<Json<Value>> {
    let wait = vdc_http::longpoll::parse_wait(q.wait.as_deref())
        .map_err(|e| crate::error::IssuerError::InvalidRequest(e.description))?;
    let initial = i.offer_status(&issuer, &id).await?;
    vdc_http::longpoll::wait_for_change(initial, wait, FINAL_OFFER_STATUSES, || {
        i.offer_status(&issuer, &id)
    })
    .await
    .map(Json)
}

async fn cancel_offer(
    State(i): State<Issuer>,
    Path((issuer, id)): Path<(String, String)>,
) -> Result<StatusCode> {
    i.cancel_offer(&issuer, &id)
        .await
        .map(|()| StatusCode::NO_CONTENT)
}

async fn supply_claims(
    State(i): State<Issuer>,
    Path((issuer, id)): Path<(String, String)>,
    AppJson(claims): AppJson<BTreeMap<String, Value>>,
) -> Result<Json<Value>> {
    i.supply_claims(&issuer, &id, claims).await.map(Json)
}

async fn offer_qr(
    State(i): State<Issuer>,
    Path((issuer, id)): Path<(String, String)>,
) -> Result<Response> {
    let svg = i.offer_qr_svg(&issuer, &id).await?;
    Ok(([(header::CONTENT_TYPE, "image/svg+xml")], svg).into_response())
}

async fn get_credential(
    State(i): State<Issuer>,
    Path((issuer, id)): Path<(String, String)>,
) -> Result<Json<Value>> {
    i.credential_record(&issuer, &id).await.map(Json)
}
