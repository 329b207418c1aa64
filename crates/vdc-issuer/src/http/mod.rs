//! The issuer's routers: [`wallet_routes`] (the public OID4VCI endpoints and metadata, at
//! the paths in [`paths`]) and [`management_routes`] (the contract's `/api/v1` issuer API,
//! behind the admin key). Handlers extract, call one service method, and map the result.

mod credential_body;
mod credentials;
mod error;
pub mod paths;

use std::collections::BTreeMap;

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router, middleware};
use serde_json::Value;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use vdc_access::{AuditTarget, Authenticator, Caller, management};
use vdc_http::openapi::{ErrorBody, TAG_CREDENTIALS, TAG_ISSUERS, TAG_OFFERS};
use vdc_http::{AppJson, ErrorResponse, ManagementJson, OAuthForm};
use vdc_status::CredentialObject;

use crate::definition::IssuerDefinition;
use crate::encryption::{APPLICATION_JWT, CredentialAnswer};
use crate::error::Result;
use crate::management::{CreateOffer, IssuerList, IssuerObject, OfferCreated, OfferStatus};
use crate::metadata::{AuthorizationServerMetadata, CredentialIssuerMetadata};
use crate::oid4vci::{CredentialOutcome, NotificationRequest, TokenRequest};
use crate::service::Issuer;
use credential_body::CredentialBody;
use credentials::{ClientAttestation, DpopProof, OAuthQuery, WalletToken};

/// A JSON answer that caches must not keep (RFC 6749 §5.1; OID4VCI 1.0 §7.2, §8.3).
fn no_store(status: StatusCode, body: impl serde::Serialize) -> Response {
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
        .route(TRUST_ANCHOR, get(trust_anchor))
        .route(OFFER, get(offer))
        .route(PAR, post(par))
        .route(AUTHORIZE, get(authorize))
        .route(AUTHORIZE_CALLBACK, get(authorize_callback))
        .route(TOKEN, post(token))
        .route(REVOKE, post(revoke))
        .route(CHALLENGE, post(challenge))
        .route(NONCE, post(nonce))
        .route(CREDENTIAL, post(credential))
        .route(DEFERRED_CREDENTIAL, post(deferred_credential))
        .route(NOTIFICATION, post(notification))
        .with_state(issuer)
}

/// The management routes and their OpenAPI description, registered together so that
/// neither can drift from the other (one `routes!` per path).
fn management_api() -> OpenApiRouter<Issuer> {
    OpenApiRouter::new()
        .routes(routes!(list_issuers, create_issuer))
        .routes(routes!(get_issuer, update_issuer))
        .routes(routes!(issuer_haip))
        .routes(routes!(issuer_iaca))
        .routes(routes!(list_keys, create_key))
        .routes(routes!(delete_key))
        .routes(routes!(create_offer))
        .routes(routes!(get_offer, cancel_offer))
        .routes(routes!(supply_claims))
        .routes(routes!(offer_qr))
        .routes(routes!(get_credential))
        .routes(routes!(revoke_subject))
}

/// The management routes (admin key or a scoped API key; see [`vdc_access`]).
pub fn management_routes(issuer: Issuer, auth: Authenticator) -> Router {
    let (router, _) = management_api().split_for_parts();
    router
        .route_layer(middleware::from_fn_with_state(auth, management))
        .with_state(issuer)
}

/// This crate's part of the management API's OpenAPI document (paths and schemas).
pub fn management_openapi() -> utoipa::openapi::OpenApi {
    management_api().into_openapi()
}

/// Credential Issuer Metadata, signed (`application/jwt`) when the issuer has
/// `signed_metadata` and the wallet's `Accept` asks for it (OID4VCI 1.0 §12.2.2), else
/// unsigned JSON; `Vary: Accept` either way, so caches keep the two apart.
async fn metadata(
    State(i): State<Issuer>,
    Path(issuer): Path<String>,
    headers: axum::http::HeaderMap,
) -> Result<Response> {
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok());
    let signed = if crate::metadata::accepts_signed_metadata(accept) {
        i.signed_credential_issuer_metadata(&issuer).await?
    } else {
        None
    };
    let mut r = match signed {
        Some(jwt) => {
            let mut r = jwt.into_response();
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(crate::metadata::SIGNED_METADATA_MEDIA_TYPE),
            );
            r
        }
        None => {
            let m: CredentialIssuerMetadata = i.credential_issuer_metadata(&issuer).await?;
            Json(m).into_response()
        }
    };
    r.headers_mut()
        .insert(header::VARY, HeaderValue::from_static("accept"));
    Ok(r)
}

/// The trust anchor of the issuer's chain as a `.pem` file (public: a CA certificate).
async fn trust_anchor(State(i): State<Issuer>, Path(issuer): Path<String>) -> Result<Response> {
    let pem = i.trust_anchor_pem(&issuer).await?;
    let mut r = pem.into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-pem-file"),
    );
    if let Ok(v) = HeaderValue::from_str(&format!(
        "attachment; filename=\"vdc-issuer-{issuer}-ca.pem\""
    )) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(r)
}

async fn as_metadata(
    State(i): State<Issuer>,
    Path(issuer): Path<String>,
) -> Result<Json<AuthorizationServerMetadata>> {
    i.authorization_server_metadata(&issuer).await.map(Json)
}

async fn jwt_vc_issuer(
    State(i): State<Issuer>,
    Path(issuer): Path<String>,
) -> Result<Json<crate::metadata::JwtVcIssuerMetadata>> {
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

/// Spec: RFC 9449 §8.2: a server may hand the next DPoP nonce in any response; vdc does so
/// on every answer to a request that carried a proof, so the wallet's next request needs no
/// `use_dpop_nonce` round trip.
fn with_dpop_nonce(i: &Issuer, issuer: &str, proof: Option<&str>, mut r: Response) -> Response {
    if proof.is_some()
        && let Ok(n) = i.dpop_nonce(issuer)
        && let Ok(v) = HeaderValue::from_str(&n)
    {
        r.headers_mut().insert("dpop-nonce", v);
    }
    r
}

/// A `302 Found` to where the flow goes next (RFC 6749 §4.1.1, §4.1.2).
fn found(to: crate::authorization::Redirect) -> Response {
    let mut r = StatusCode::FOUND.into_response();
    if let Ok(v) = HeaderValue::from_str(&to.0) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// Spec: draft-ietf-oauth-attestation-based-client-auth §"Providing Challenges on Previous
/// Responses": a fresh challenge on every answer to a request that carried a client
/// attestation, for the wallet's next PoP.
fn with_attestation_challenge(
    i: &Issuer,
    issuer: &str,
    attestation: &crate::authorization::attestation::ClientAttestationHeaders,
    mut r: Response,
) -> Response {
    if attestation.is_present()
        && let Ok(c) = i.attestation_challenge(issuer)
        && let Ok(v) = HeaderValue::from_str(&c)
    {
        r.headers_mut()
            .insert("oauth-client-attestation-challenge", v);
    }
    r
}

async fn par(
    State(i): State<Issuer>,
    Path(issuer): Path<String>,
    DpopProof(proof): DpopProof,
    ClientAttestation(attestation): ClientAttestation,
    OAuthForm(form): OAuthForm,
) -> Result<Response> {
    let r = i
        .push_authorization(&issuer, form, proof.as_deref(), &attestation)
        .await?;
    let r = with_dpop_nonce(
        &i,
        &issuer,
        proof.as_deref(),
        no_store(StatusCode::CREATED, r),
    );
    Ok(with_attestation_challenge(&i, &issuer, &attestation, r))
}

/// Challenge endpoint. Spec: draft-ietf-oauth-attestation-based-client-auth
/// §"Providing Challenges through the Challenge Endpoint": `200` with
/// `attestation_challenge`, `Cache-Control: no-store`.
async fn challenge(State(i): State<Issuer>, Path(issuer): Path<String>) -> Result<Response> {
    i.challenge_endpoint(&issuer)
        .await
        .map(|c| no_store(StatusCode::OK, c))
}

async fn authorize(
    State(i): State<Issuer>,
    Path(issuer): Path<String>,
    OAuthQuery(query): OAuthQuery,
) -> Result<Response> {
    i.authorize(&issuer, query).await.map(found)
}

async fn authorize_callback(
    State(i): State<Issuer>,
    Path(issuer): Path<String>,
    OAuthQuery(query): OAuthQuery,
) -> Result<Response> {
    i.login_callback(&issuer, query).await.map(found)
}

async fn token(
    State(i): State<Issuer>,
    Path(issuer): Path<String>,
    DpopProof(proof): DpopProof,
    ClientAttestation(attestation): ClientAttestation,
    OAuthForm(form): OAuthForm,
) -> Result<Response> {
    let request = TokenRequest::from_form(form);
    let t = i
        .token(&issuer, request, proof.as_deref(), &attestation)
        .await?;
    let r = with_dpop_nonce(&i, &issuer, proof.as_deref(), no_store(StatusCode::OK, t));
    Ok(with_attestation_challenge(&i, &issuer, &attestation, r))
}

/// Spec: RFC 7009 §2.2: `200` with an empty body when the token is revoked or unknown.
async fn revoke(
    State(i): State<Issuer>,
    Path(issuer): Path<String>,
    OAuthForm(form): OAuthForm,
) -> Result<Response> {
    i.revoke_token(&issuer, form).await?;
    let mut r = StatusCode::OK.into_response();
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(r)
}

async fn nonce(
    State(i): State<Issuer>,
    Path(issuer): Path<String>,
    DpopProof(proof): DpopProof,
) -> Result<Response> {
    let n = i.nonce(&issuer, proof.as_deref()).await?;
    Ok(with_dpop_nonce(
        &i,
        &issuer,
        proof.as_deref(),
        no_store(StatusCode::OK, n),
    ))
}

/// The body of a Notification Request. Spec: OID4VCI 1.0 §11.3: a malformed one is
/// `invalid_notification_request`.
struct NotificationJson<T>(T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned> axum::extract::FromRequest<S>
    for NotificationJson<T>
{
    type Rejection = ErrorResponse;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, ErrorResponse> {
        AppJson::from_request(req, state)
            .await
            .map(|AppJson(t)| Self(t))
            .map_err(|e| e.malformed_as("invalid_notification_request"))
    }
}

/// A successful (deferred) credential answer: JSON, or the JWE as `application/jwt`
/// (OID4VCI 1.0 §10), with the status of §8.3 / §9.2 (200 issued, 202 deferred) either way.
fn answer(a: CredentialAnswer) -> Response {
    let (status, jwt) = match a {
        CredentialAnswer::Plain(CredentialOutcome::Issued(body)) => {
            return no_store(StatusCode::OK, body);
        }
        CredentialAnswer::Plain(CredentialOutcome::Deferred(body)) => {
            return no_store(StatusCode::ACCEPTED, body);
        }
        CredentialAnswer::Encrypted { deferred, jwt } if deferred => (StatusCode::ACCEPTED, jwt),
        CredentialAnswer::Encrypted { jwt, .. } => (StatusCode::OK, jwt),
    };
    let mut r = (status, [(header::CONTENT_TYPE, APPLICATION_JWT)], jwt).into_response();
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

async fn credential(
    State(i): State<Issuer>,
    Path(issuer): Path<String>,
    WalletToken(token): WalletToken,
    CredentialBody(msg): CredentialBody,
) -> Result<Response> {
    let r = answer(i.credential_message(&issuer, &token, msg).await?);
    Ok(with_dpop_nonce(&i, &issuer, token.proof.as_deref(), r))
}

async fn deferred_credential(
    State(i): State<Issuer>,
    Path(issuer): Path<String>,
    WalletToken(token): WalletToken,
    CredentialBody(msg): CredentialBody,
) -> Result<Response> {
    let r = answer(i.deferred_credential_message(&issuer, &token, msg).await?);
    Ok(with_dpop_nonce(&i, &issuer, token.proof.as_deref(), r))
}

async fn notification(
    State(i): State<Issuer>,
    Path(issuer): Path<String>,
    WalletToken(token): WalletToken,
    NotificationJson(req): NotificationJson<NotificationRequest>,
) -> Result<Response> {
    i.notification(&issuer, &token, req).await?;
    let r = StatusCode::NO_CONTENT.into_response();
    Ok(with_dpop_nonce(&i, &issuer, token.proof.as_deref(), r))
}

/// Contract ("API keys and tenants"): a scoped key sees only its issuers.
#[utoipa::path(
    get,
    path = paths::API_ISSUERS,
    tag = TAG_ISSUERS,
    operation_id = "list_issuers",
    summary = "List issuers",
    params(
        ("limit" = Option<u32>, Query, description = "Page size, 1 to 1000 (default 100)."),
        ("cursor" = Option<String>, Query, description = "The `next` of the previous page."),
    ),
    responses(
        (status = 200, description = "One page of issuers, by id.", body = IssuerList),
        (status = 400, description = "Malformed `limit` or `cursor`.", body = ErrorBody),
        (status = 401, description = "Missing or wrong API key.", body = ErrorBody),
        (status = 403, description = "The key may not act on this issuer.", body = ErrorBody),
    ),
)]
async fn list_issuers(
    State(i): State<Issuer>,
    caller: Caller,
    RawQuery(query): RawQuery,
) -> Result<Json<IssuerList>> {
    let page = vdc_access::page::parse_page_params(query.as_deref())
        .map_err(crate::error::IssuerError::InvalidRequest)?;
    // A scoped key lists only the issuers it may read.
    let only = match &caller {
        Caller::Admin => None,
        Caller::Key(k) if caller.has_scope(vdc_access::Scope::Read) => Some(k.issuers.clone()),
        Caller::Key(_) => Some(Vec::new()),
    };
    i.list_issuers_page(only.as_deref(), page.after.as_deref(), page.limit)
        .await
        .map(Json)
}

#[utoipa::path(
    post,
    path = paths::API_ISSUERS,
    tag = TAG_ISSUERS,
    operation_id = "create_issuer",
    summary = "Create an issuer",
    description = "Needs the admin key.",
    request_body = IssuerDefinition,
    responses(
        (status = 201, description = "The issuer was created.", body = IssuerObject),
        (status = 400, description = "Invalid definition (slug, algorithm, configurations, keys).", body = ErrorBody),
        (status = 401, description = "Missing or wrong API key.", body = ErrorBody),
        (status = 403, description = "The key may not act on this issuer.", body = ErrorBody),
        (status = 409, description = "An issuer with this id exists.", body = ErrorBody),
        (status = 413, description = "Body over 1 MiB.", body = ErrorBody),
        (status = 415, description = "Body is not `application/json`.", body = ErrorBody),
    ),
)]
async fn create_issuer(
    State(i): State<Issuer>,
    ManagementJson(def): ManagementJson<IssuerDefinition>,
) -> Result<Response> {
    i.create_issuer(def).await.map(|v| {
        let r = (StatusCode::CREATED, Json(&v)).into_response();
        created(r, &v.id)
    })
}

#[utoipa::path(
    get,
    path = paths::API_ISSUER,
    tag = TAG_ISSUERS,
    operation_id = "get_issuer",
    summary = "Read an issuer",
    params(
        ("issuer" = String, Path, description = "The issuer's slug."),
    ),
    responses(
        (status = 200, description = "The issuer.", body = IssuerObject),
        (status = 401, description = "Missing or wrong API key.", body = ErrorBody),
        (status = 403, description = "The key may not act on this issuer.", body = ErrorBody),
        (status = 404, description = "Unknown issuer.", body = ErrorBody),
    ),
)]
async fn get_issuer(
    State(i): State<Issuer>,
    Path(issuer): Path<String>,
) -> Result<Json<IssuerObject>> {
    i.get_issuer(&issuer).await.map(Json)
}

/// Contract-next ("HAIP mode").
#[utoipa::path(
    get,
    path = paths::API_ISSUER_HAIP,
    tag = TAG_ISSUERS,
    operation_id = "get_issuer_haip",
    summary = "Read an issuer's HAIP 1.0 rules, met or not",
    description = "Every issuer rule of OpenID4VC HAIP 1.0 with its section and whether the \
        issuer meets it. In HAIP mode (`\"haip\": true`) a create or update that breaks a \
        configuration rule is refused with 400 naming the section.",
    params(
        ("issuer" = String, Path, description = "The issuer's slug."),
    ),
    responses(
        (status = 200, description = "The rules.", body = vdc_http::haip::HaipReport),
        (status = 401, description = "Missing or wrong API key.", body = ErrorBody),
        (status = 403, description = "The key may not act on this issuer.", body = ErrorBody),
        (status = 404, description = "Unknown issuer.", body = ErrorBody),
    ),
)]
async fn issuer_haip(
    State(i): State<Issuer>,
    Path(issuer): Path<String>,
) -> Result<Json<vdc_http::haip::HaipReport>> {
    i.haip_report(&issuer).await.map(Json)
}

/// Contract-next ("mdoc configurations and trust"): the IACA root certificate vdc made for
/// the issuer's mdocs, served as the trust anchor download is.
#[utoipa::path(
    get,
    path = paths::API_ISSUER_IACA,
    tag = TAG_ISSUERS,
    operation_id = "get_issuer_iaca",
    summary = "Download the IACA root certificate of an issuer's mdocs",
    description = "The IACA root (ISO/IEC 18013-5 Annex B) that vdc made for an issuer with an \
        `mso_mdoc` configuration and no operator `x5c`: its Document Signer certificate, which \
        every mdoc carries in `issuerAuth`'s `x5chain`, chains to it. Relying parties configure \
        it as a trusted IACA.",
    params(
        ("issuer" = String, Path, description = "The issuer's slug."),
    ),
    responses(
        (status = 200, description = "The PEM certificate.", content_type = "application/x-pem-file", body = String),
        (status = 401, description = "Missing or wrong API key.", body = ErrorBody),
        (status = 403, description = "The key may not act on this issuer.", body = ErrorBody),
        (status = 404, description = "Unknown issuer, or one without an IACA made by vdc.", body = ErrorBody),
    ),
)]
async fn issuer_iaca(State(i): State<Issuer>, Path(issuer): Path<String>) -> Result<Response> {
    let pem = i.iaca_pem(&issuer).await?;
    let mut r = pem.into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-pem-file"),
    );
    if let Ok(v) = HeaderValue::from_str(&format!(
        "attachment; filename=\"vdc-issuer-{issuer}-iaca.pem\""
    )) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(r)
}

/// Contract-next ("Managing tenants"): any subset of the create body's members but `id`.
#[utoipa::path(
    patch,
    path = paths::API_ISSUER,
    tag = TAG_ISSUERS,
    operation_id = "update_issuer",
    summary = "Change or disable an issuer",
    description = "Needs the admin key. The members given replace the stored ones; the result \
        is validated as a create body. Secrets stay unless given; `\"disabled\": true` makes \
        every wallet-facing endpoint of the issuer answer 404.",
    params(
        ("issuer" = String, Path, description = "The issuer's slug."),
    ),
    request_body(content = Object, description = "Members of the create body (not `id`, `signing_key`, `x5c`)."),
    responses(
        (status = 200, description = "The issuer as changed.", body = IssuerObject),
        (status = 400, description = "`id`, an unknown member, or an invalid result.", body = ErrorBody),
        (status = 401, description = "Missing or wrong API key.", body = ErrorBody),
        (status = 403, description = "The key may not act on this issuer.", body = ErrorBody),
        (status = 404, description = "Unknown issuer.", body = ErrorBody),
        (status = 413, description = "Body over 1 MiB.", body = ErrorBody),
        (status = 415, description = "Body is not `application/json`.", body = ErrorBody),
    ),
)]
async fn update_issuer(
    State(i): State<Issuer>,
    Path(issuer): Path<String>,
    ManagementJson(patch): ManagementJson<Value>,
) -> Result<Json<IssuerObject>> {
    let Value::Object(patch) = patch else {
        return Err(crate::error::IssuerError::InvalidRequest(
            "the body must be a JSON object".into(),
        ));
    };
    i.update_issuer(&issuer, patch).await.map(Json)
}

#[utoipa::path(
    post,
    path = paths::API_OFFERS,
    tag = TAG_OFFERS,
    operation_id = "create_offer",
    summary = "Create a credential offer",
    params(
        ("issuer" = String, Path, description = "The issuer's slug."),
    ),
    request_body = CreateOffer,
    responses(
        (status = 201, description = "The offer (`Cache-Control: no-store`).", body = OfferCreated),
        (status = 400, description = "Unknown configuration id, claims that break the configuration, `expires_in` outside 1 s to 30 days, or an unsupported grant.", body = ErrorBody),
        (status = 401, description = "Missing or wrong API key.", body = ErrorBody),
        (status = 403, description = "The key may not act on this issuer.", body = ErrorBody),
        (status = 404, description = "Unknown issuer.", body = ErrorBody),
        (status = 413, description = "Body over 1 MiB.", body = ErrorBody),
        (status = 415, description = "Body is not `application/json`.", body = ErrorBody),
    ),
)]
async fn create_offer(
    State(i): State<Issuer>,
    Path(issuer): Path<String>,
    audit: Option<axum::Extension<vdc_access::CallAudit>>,
    ManagementJson(req): ManagementJson<CreateOffer>,
) -> Result<Response> {
    i.create_offer(&issuer, req, audit.as_deref())
        .await
        .map(|v| {
            let id = v.id.clone();
            created(no_store(StatusCode::CREATED, v), &id)
        })
}

/// Offer statuses that never change again (long-poll answers them at once).
const FINAL_OFFER_STATUSES: &[&str] = &["credential_issued", "cancelled", "expired"];

/// `GET /api/v1/issuers/{issuer}/offers/{id}[?wait=N]`: with `wait`, answers once the
/// status differs from the one at the call's start, or after N seconds (issue 6, long-poll).
#[utoipa::path(
    get,
    path = paths::API_OFFER,
    tag = TAG_OFFERS,
    operation_id = "get_offer",
    summary = "Read an offer's state and its credentials",
    params(
        ("issuer" = String, Path, description = "The issuer's slug."),
        ("id" = String, Path, description = "The offer id."),
        ("wait" = Option<u32>, Query, description = "Long-poll: wait up to this many seconds (0 to 60) for the status to change from what it is when the call starts; a final status answers at once."),
    ),
    responses(
        (status = 200, description = "The offer.", body = OfferStatus),
        (status = 400, description = "`wait` is not an integer from 0 to 60.", body = ErrorBody),
        (status = 401, description = "Missing or wrong API key.", body = ErrorBody),
        (status = 403, description = "The key may not act on this issuer.", body = ErrorBody),
        (status = 404, description = "Unknown issuer or offer.", body = ErrorBody),
    ),
)]
async fn get_offer(
    State(i): State<Issuer>,
    Path((issuer, id)): Path<(String, String)>,
    vdc_http::longpoll::Wait(wait): vdc_http::longpoll::Wait,
) -> Result<Json<OfferStatus>> {
    let initial = i.offer_status(&issuer, &id).await?;
    vdc_http::longpoll::wait_for_change(initial, wait, FINAL_OFFER_STATUSES, || {
        i.offer_status(&issuer, &id)
    })
    .await
    .map(Json)
}

#[utoipa::path(
    delete,
    path = paths::API_OFFER,
    tag = TAG_OFFERS,
    operation_id = "cancel_offer",
    summary = "Cancel an offer that was not redeemed yet",
    params(
        ("issuer" = String, Path, description = "The issuer's slug."),
        ("id" = String, Path, description = "The offer id."),
    ),
    responses(
        (status = 204, description = "The offer was cancelled."),
        (status = 401, description = "Missing or wrong API key.", body = ErrorBody),
        (status = 403, description = "The key may not act on this issuer.", body = ErrorBody),
        (status = 404, description = "Unknown issuer or offer.", body = ErrorBody),
        (status = 409, description = "The offer was redeemed already.", body = ErrorBody),
    ),
)]
async fn cancel_offer(
    State(i): State<Issuer>,
    Path((issuer, id)): Path<(String, String)>,
) -> Result<StatusCode> {
    i.cancel_offer(&issuer, &id)
        .await
        .map(|()| StatusCode::NO_CONTENT)
}

#[utoipa::path(
    put,
    path = paths::API_OFFER_CLAIMS,
    tag = TAG_OFFERS,
    operation_id = "supply_offer_claims",
    summary = "Supply the claims of a deferred offer",
    description = "After this the wallet's deferred credential request succeeds.",
    params(
        ("issuer" = String, Path, description = "The issuer's slug."),
        ("id" = String, Path, description = "The offer id."),
    ),
    request_body(content = BTreeMap<String, Value>, description = "The claims by credential configuration id, as in the offer's `claims`.", example = json!({"EmployeeBadge": {"given_name": "Ada", "employee_id": "E-1"}})),
    responses(
        (status = 200, description = "The offer after the claims were stored.", body = OfferStatus),
        (status = 400, description = "Claims that break the configuration.", body = ErrorBody),
        (status = 401, description = "Missing or wrong API key.", body = ErrorBody),
        (status = 403, description = "The key may not act on this issuer.", body = ErrorBody),
        (status = 404, description = "Unknown issuer or offer.", body = ErrorBody),
        (status = 409, description = "The offer is not deferred or no longer accepts claims.", body = ErrorBody),
        (status = 413, description = "Body over 1 MiB.", body = ErrorBody),
        (status = 415, description = "Body is not `application/json`.", body = ErrorBody),
    ),
)]
async fn supply_claims(
    State(i): State<Issuer>,
    Path((issuer, id)): Path<(String, String)>,
    ManagementJson(claims): ManagementJson<BTreeMap<String, Value>>,
) -> Result<Json<OfferStatus>> {
    i.supply_claims(&issuer, &id, claims).await.map(Json)
}

#[utoipa::path(
    get,
    path = paths::API_OFFER_QR,
    tag = TAG_OFFERS,
    operation_id = "get_offer_qr",
    summary = "The offer's offer_uri as a QR code",
    params(
        ("issuer" = String, Path, description = "The issuer's slug."),
        ("id" = String, Path, description = "The offer id."),
    ),
    responses(
        (status = 200, description = "An SVG image.", content_type = "image/svg+xml", body = String),
        (status = 401, description = "Missing or wrong API key.", body = ErrorBody),
        (status = 403, description = "The key may not act on this issuer.", body = ErrorBody),
        (status = 404, description = "Unknown issuer or offer.", body = ErrorBody),
    ),
)]
async fn offer_qr(
    State(i): State<Issuer>,
    Path((issuer, id)): Path<(String, String)>,
) -> Result<Response> {
    let svg = i.offer_qr_svg(&issuer, &id).await?;
    Ok(([(header::CONTENT_TYPE, "image/svg+xml")], svg).into_response())
}

#[utoipa::path(
    get,
    path = paths::API_CREDENTIAL,
    tag = TAG_CREDENTIALS,
    operation_id = "get_credential",
    summary = "Read an issued credential and its status",
    params(
        ("issuer" = String, Path, description = "The issuer's slug."),
        ("id" = String, Path, description = "The credential id."),
    ),
    responses(
        (status = 200, description = "The credential.", body = CredentialObject),
        (status = 401, description = "Missing or wrong API key.", body = ErrorBody),
        (status = 403, description = "The key may not act on this issuer.", body = ErrorBody),
        (status = 404, description = "Unknown issuer or credential.", body = ErrorBody),
    ),
)]
async fn get_credential(
    State(i): State<Issuer>,
    Path((issuer, id)): Path<(String, String)>,
) -> Result<Json<CredentialObject>> {
    i.credential_record(&issuer, &id).await.map(Json)
}

/// Offboarding: every authorization of a login subject loses its tokens and codes. The
/// audit entry records the call (method, route, tenant, status), not the subject (G10).
#[utoipa::path(
    delete,
    path = paths::API_AUTHORIZATIONS,
    tag = TAG_ISSUERS,
    operation_id = "revoke_subject_authorizations",
    summary = "Revoke every authorization of a login subject",
    description = "Revokes the access and refresh tokens and the unredeemed authorization codes of every authorization code flow login of `subject` (the `sub` at the issuer's identity provider) at this issuer (RFC 7009 §2.1: all tokens of the grant). Disable the account at the identity provider too, or the user logs in again. Needs the admin key or `credentials:status` on the issuer.",
    params(
        ("issuer" = String, Path, description = "The issuer's slug."),
        ("subject" = String, Query, description = "The login subject (`sub`), 1 to 255 bytes."),
    ),
    responses(
        (status = 200, description = "How many authorizations had something live and now have nothing.", body = crate::authorization::revoke::SubjectRevoked),
        (status = 400, description = "`subject` missing, empty, too long, or another query parameter.", body = ErrorBody),
        (status = 401, description = "Missing or wrong API key.", body = ErrorBody),
        (status = 403, description = "The key may not act on this issuer.", body = ErrorBody),
        (status = 404, description = "Unknown issuer.", body = ErrorBody),
    ),
)]
async fn revoke_subject(
    State(i): State<Issuer>,
    Path(issuer): Path<String>,
    OAuthQuery(query): OAuthQuery,
) -> Result<Json<crate::authorization::revoke::SubjectRevoked>> {
    i.revoke_subject(&issuer, &query).await.map(Json)
}

/// Contract-next ("Signing keys"; R3).
#[utoipa::path(
    post,
    path = paths::API_KEYS,
    tag = TAG_ISSUERS,
    operation_id = "create_issuer_key",
    summary = "Rotate an issuer's signing key",
    description = "Adds the issuer's next signing key (generated, or an imported private JWK \
        with its certificate chain), active at once or `next` until `activate_at`. Every \
        instance switches to it at `activate_at` (or within 30 s when it activates at once); \
        the previous key is retired then and stays published until what it signed expired. \
        A key with certificates activates at once. Admin key only.",
    params(
        ("issuer" = String, Path, description = "The issuer's slug."),
    ),
    request_body = crate::keys::CreateKey,
    responses(
        (status = 201, description = "The key.", body = crate::keys::KeyCreated),
        (status = 400, description = "A JWK that is not a key of the issuer's `signing_alg`, an `x5c` whose leaf does not certify it, `activate_at` not in the future or over a year ahead, `pkcs11`.", body = ErrorBody),
        (status = 401, description = "Missing or wrong API key.", body = ErrorBody),
        (status = 403, description = "Not the admin key.", body = ErrorBody),
        (status = 404, description = "Unknown issuer.", body = ErrorBody),
        (status = 409, description = "A `next` key exists already, a concurrent rotation won, or the key is one of the issuer's keys.", body = ErrorBody),
        (status = 413, description = "Body over 1 MiB.", body = ErrorBody),
        (status = 415, description = "Body is not `application/json`.", body = ErrorBody),
    ),
)]
async fn create_key(
    State(i): State<Issuer>,
    Path(issuer): Path<String>,
    ManagementJson(req): ManagementJson<crate::keys::CreateKey>,
) -> Result<Response> {
    i.create_key(&issuer, req).await.map(|k| {
        let kid = k.kid.clone();
        created((StatusCode::CREATED, Json(k)).into_response(), &kid)
    })
}

/// Contract-next ("Signing keys").
#[utoipa::path(
    get,
    path = paths::API_KEYS,
    tag = TAG_ISSUERS,
    operation_id = "list_issuer_keys",
    summary = "List an issuer's signing keys",
    params(
        ("issuer" = String, Path, description = "The issuer's slug."),
    ),
    responses(
        (status = 200, description = "The keys, in activation order.", body = crate::keys::KeyList),
        (status = 401, description = "Missing or wrong API key.", body = ErrorBody),
        (status = 403, description = "The key may not act on this issuer.", body = ErrorBody),
        (status = 404, description = "Unknown issuer.", body = ErrorBody),
    ),
)]
async fn list_keys(
    State(i): State<Issuer>,
    Path(issuer): Path<String>,
) -> Result<Json<crate::keys::KeyList>> {
    i.list_keys(&issuer).await.map(Json)
}

/// Contract-next ("Signing keys").
#[utoipa::path(
    delete,
    path = paths::API_KEY,
    tag = TAG_ISSUERS,
    operation_id = "delete_issuer_key",
    summary = "Delete a signing key nothing valid depends on",
    params(
        ("issuer" = String, Path, description = "The issuer's slug."),
        ("kid" = String, Path, description = "The key id."),
    ),
    responses(
        (status = 204, description = "The key was deleted (it is no longer published)."),
        (status = 401, description = "Missing or wrong API key.", body = ErrorBody),
        (status = 403, description = "Not the admin key.", body = ErrorBody),
        (status = 404, description = "Unknown issuer or key.", body = ErrorBody),
        (status = 409, description = "The key is active, activates within a minute, or signed credentials or tokens that are still valid.", body = ErrorBody),
    ),
)]
async fn delete_key(
    State(i): State<Issuer>,
    Path((issuer, kid)): Path<(String, String)>,
) -> Result<StatusCode> {
    i.delete_key(&issuer, &kid)
        .await
        .map(|()| StatusCode::NO_CONTENT)
}

/// Names the created object's `id` as the call's audit target.
fn created(mut response: Response, id: &str) -> Response {
    response.extensions_mut().insert(AuditTarget(id.to_owned()));
    response
}
