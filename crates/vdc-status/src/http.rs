//! The status routers: [`public_routes`] (status list tokens, W3C status list credentials,
//! the aggregation; CORS `*`, gzip, ETags) and [`management_routes`] (the contract's status
//! changes, behind the admin key). Handlers extract, call one service method, and map.

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router, middleware};
use serde::Deserialize;
use tower_http::compression::CompressionLayer;
use tower_http::cors::{Any, CorsLayer};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use vdc_access::{Authenticator, Caller, management};
use vdc_http::openapi::{ErrorBody, TAG_CREDENTIALS};
use vdc_http::{ErrorResponse, ManagementJson};
use vdc_store::{StatusChange, StoreErrorKind};

use crate::bitstring::StatusPurpose;
use crate::cwt::STATUS_LIST_CWT_MEDIA_TYPE;
use crate::service::{
    CredentialItems, CredentialObject, ServedToken, ServiceError, StatusListAggregation,
    StatusService, parse_status,
};
use crate::token::STATUS_LIST_JWT_MEDIA_TYPE;

/// Route paths, shared with tests.
pub mod paths {
    /// A Status List Token (GET/HEAD, `?time=`).
    pub const STATUS_LIST: &str = "/issuers/{issuer}/status-lists/{list}";
    /// The Status List Aggregation of an issuer.
    pub const STATUS_LIST_AGGREGATION: &str = "/issuers/{issuer}/status-lists";
    /// A W3C `BitstringStatusListCredential` (`{purpose}`: revocation or suspension).
    pub const BITSTRING_STATUS_LIST: &str =
        "/issuers/{issuer}/status-lists/{list}/bitstring/{purpose}";
    /// Management: one credential's status.
    pub const API_CREDENTIAL_STATUS: &str = "/api/v1/issuers/{issuer}/credentials/{id}/status";
    /// Management: many credentials' statuses at once.
    pub const API_CREDENTIALS_STATUS: &str = "/api/v1/issuers/{issuer}/credentials/status";
}

/// The actor recorded for changes made with the admin key.
pub const ADMIN_ACTOR: &str = vdc_access::ADMIN_ACTOR;

/// The media type of a `vc+jwt` (VC-JOSE-COSE §6.1.1).
const VC_JWT_MEDIA_TYPE: &str = "application/vc+jwt";

/// The public routes: lists are fetched by any relying party, from browsers too.
pub fn public_routes(service: StatusService) -> Router {
    use paths::*;
    // Spec: draft-ietf-oauth-status-list §8.1: the endpoint SHOULD support CORS; §8.2: the
    // response SHOULD use Content-Encoding such as gzip.
    let cors = CorsLayer::new()
        .allow_origin(Any)
        .allow_methods([http::Method::GET, http::Method::HEAD])
        .expose_headers([header::ETAG]);
    Router::new()
        .route(STATUS_LIST, get(status_list))
        .route(STATUS_LIST_AGGREGATION, get(aggregation))
        .route(BITSTRING_STATUS_LIST, get(bitstring_status_list))
        .layer(CompressionLayer::new().gzip(true))
        .layer(cors)
        .with_state(service)
}

/// The management routes and their OpenAPI description, registered together so that
/// neither can drift from the other.
fn management_api() -> OpenApiRouter<StatusService> {
    OpenApiRouter::new()
        .routes(routes!(change_one))
        .routes(routes!(change_many))
}

/// The management routes (admin key or a scoped API key; see [`vdc_access`]).
pub fn management_routes(service: StatusService, auth: Authenticator) -> Router {
    let (router, _) = management_api().split_for_parts();
    router
        .route_layer(middleware::from_fn_with_state(auth, management))
        .with_state(service)
}

/// This crate's part of the management API's OpenAPI document (paths and schemas).
pub fn management_openapi() -> utoipa::openapi::OpenApi {
    management_api().into_openapi()
}

impl ServiceError {
    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            Self::InvalidRequest(_) => (StatusCode::BAD_REQUEST, "invalid_request"),
            Self::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            Self::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            // R2: an outage is a fast 503 the client may retry.
            Self::Store(e) if e.kind() == StoreErrorKind::Unavailable => {
                (StatusCode::SERVICE_UNAVAILABLE, "temporarily_unavailable")
            }
            Self::Store(_) | Self::Internal(_) => {
                (StatusCode::INTERNAL_SERVER_ERROR, "server_error")
            }
        }
    }
}

impl IntoResponse for ServiceError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        match self {
            Self::InvalidRequest(m) | Self::NotFound(m) | Self::Conflict(m) => {
                ErrorResponse::client(status, code, m).into_response()
            }
            other => ErrorResponse::server(status, code, other.to_string()).into_response(),
        }
    }
}

/// Reads the optional `time` query parameter: a non-negative integer of unix seconds,
/// given at most once (draft-ietf-oauth-status-list §8.4); anything else is 400.
fn time_param(query: Option<&str>) -> Result<Option<i64>, ServiceError> {
    let mut time = None;
    for (name, value) in url::form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
        if name != "time" {
            continue;
        }
        let parsed = value
            .parse::<i64>()
            .ok()
            .filter(|t| *t >= 0 && value.bytes().all(|b| b.is_ascii_digit()))
            .ok_or_else(|| {
                ServiceError::InvalidRequest("time must be unix seconds (an integer)".into())
            })?;
        if time.replace(parsed).is_some() {
            return Err(ServiceError::InvalidRequest("time is given twice".into()));
        }
    }
    Ok(time)
}

/// Whether `If-None-Match` matches `etag` (RFC 9110 §13.1.2: weak comparison).
fn not_modified(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .any(|t| t == "*" || t.trim_start_matches("W/") == etag)
}

/// The two representations of a Status List Token (draft-ietf-oauth-status-list §8.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Representation {
    Jwt,
    Cwt,
}

/// The `q` of one `Accept` member for `media_type`: `None` when the range does not match,
/// else its specificity (2 exact, 1 `type/*`, 0 `*/*`) and weight in thousandths.
fn accept_match(member: &str, media_type: &str) -> Option<(u8, u16)> {
    let mut parts = member.split(';');
    let range = parts.next()?.trim().to_ascii_lowercase();
    let (ty, sub) = range.split_once('/')?;
    let (want_ty, _) = media_type.split_once('/')?;
    let specificity = match (ty, sub) {
        ("*", "*") => 0,
        (t, "*") if t == want_ty => 1,
        _ if range == media_type => 2,
        _ => return None,
    };
    // RFC 9110 §12.4.2: qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] ).
    let mut q = 1000;
    for p in parts {
        let Some((name, value)) = p.split_once('=') else {
            continue;
        };
        if name.trim().eq_ignore_ascii_case("q") {
            q = parse_qvalue(value.trim())?;
        }
    }
    Some((specificity, q))
}

fn parse_qvalue(v: &str) -> Option<u16> {
    let (int, frac) = v.split_once('.').unwrap_or((v, ""));
    if frac.len() > 3 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let thousandths = format!("{frac:0<3}").parse::<u16>().ok()?;
    match int {
        "0" => Some(thousandths),
        "1" if thousandths == 0 => Some(1000),
        _ => None,
    }
}

/// The weight `Accept` gives `media_type`: that of the most specific matching range
/// (RFC 9110 §12.5.1), 0 when none matches.
fn accept_weight(accept: &[&str], media_type: &str) -> u16 {
    accept
        .iter()
        .filter_map(|m| accept_match(m, media_type))
        .max_by_key(|(specificity, _)| *specificity)
        .map_or(0, |(_, q)| q)
}

/// Content negotiation (draft-ietf-oauth-status-list §8.1 "HTTP based Content
/// negotiation", RFC 9110 §12.5.1): no `Accept` gives the JWT form (vdc's default); else
/// the acceptable form of higher weight, the JWT form on a tie; `None` (406) when `Accept`
/// allows neither.
fn negotiate(headers: &HeaderMap) -> Option<Representation> {
    let members: Vec<&str> = headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|m| !m.is_empty())
        .take(64)
        .collect();
    if members.is_empty() {
        return Some(Representation::Jwt);
    }
    let jwt = accept_weight(&members, STATUS_LIST_JWT_MEDIA_TYPE);
    let cwt = accept_weight(&members, STATUS_LIST_CWT_MEDIA_TYPE);
    match (jwt, cwt) {
        (0, 0) => None,
        (j, c) if c > j => Some(Representation::Cwt),
        _ => Some(Representation::Jwt),
    }
}

/// 200 with the token (or 304 when the client has it), with `ETag` and `Cache-Control`.
fn serve(headers: &HeaderMap, served: ServedToken, media_type: &'static str) -> Response {
    let ServedToken {
        token,
        etag,
        max_age,
    } = served;
    serve_body(headers, token.to_string().into(), etag, max_age, media_type)
}

fn serve_body(
    headers: &HeaderMap,
    body: axum::body::Body,
    etag_value: String,
    max_age: i64,
    media_type: &'static str,
) -> Response {
    let cache = HeaderValue::from_str(&format!("max-age={max_age}"))
        .unwrap_or(HeaderValue::from_static("no-cache"));
    let etag = HeaderValue::from_str(&etag_value).ok();
    let mut response = if not_modified(headers, &etag_value) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        (
            [(header::CONTENT_TYPE, HeaderValue::from_static(media_type))],
            body,
        )
            .into_response()
    };
    let h = response.headers_mut();
    h.insert(header::CACHE_CONTROL, cache);
    if let Some(etag) = etag {
        h.insert(header::ETAG, etag);
    }
    response
}

/// `GET`/`HEAD` a Status List Token. Spec: draft-ietf-oauth-status-list §8.1, §8.2, §8.4.
async fn status_list(
    State(s): State<StatusService>,
    Path((issuer, list)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ServiceError> {
    let time = time_param(query.as_deref())?;
    // Spec: RFC 9110 §12.5.5: the representation depends on Accept, so caches must key on it.
    let mut response = match negotiate(&headers) {
        Some(Representation::Jwt) => {
            let served = s.token(&issuer, &list, time).await?;
            serve(&headers, served, STATUS_LIST_JWT_MEDIA_TYPE)
        }
        Some(Representation::Cwt) => {
            let served = s.cwt(&issuer, &list, time).await?;
            serve_body(
                &headers,
                axum::body::Bytes::from_owner(served.cwt).into(),
                served.etag,
                served.max_age,
                STATUS_LIST_CWT_MEDIA_TYPE,
            )
        }
        // Spec: RFC 9110 §15.5.7: no representation the Accept header allows.
        None => ErrorResponse::client(
            StatusCode::NOT_ACCEPTABLE,
            "not_acceptable",
            format!(
                "the status list is available as {STATUS_LIST_JWT_MEDIA_TYPE} or \
                 {STATUS_LIST_CWT_MEDIA_TYPE}"
            ),
        )
        .into_response(),
    };
    response
        .headers_mut()
        .append(header::VARY, HeaderValue::from_static("accept"));
    Ok(response)
}

/// `GET` a `BitstringStatusListCredential`. Spec: W3C Bitstring Status List v1.0 §2.2, §3.6.
async fn bitstring_status_list(
    State(s): State<StatusService>,
    Path((issuer, list, purpose)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Result<Response, ServiceError> {
    let purpose = StatusPurpose::parse(&purpose)
        .map_err(|_| ServiceError::NotFound("no such status purpose".into()))?;
    let served = s.bitstring_credential(&issuer, &list, purpose).await?;
    Ok(serve(&headers, served, VC_JWT_MEDIA_TYPE))
}

/// The Status List Aggregation. Spec: draft-ietf-oauth-status-list §9.3.
async fn aggregation(
    State(s): State<StatusService>,
    Path(issuer): Path<String>,
) -> Result<Json<StatusListAggregation>, ServiceError> {
    s.aggregation(&issuer).await.map(Json)
}

/// `{"status": "revoked"|"suspended"|"valid"}`.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = StatusChange, example = json!({"status": "revoked"}))]
struct StatusBody {
    /// The new status: `valid`, `revoked` or `suspended`. Revoked is final.
    #[schema(pattern = "^(valid|revoked|suspended)$")]
    status: String,
}

/// `{"items": [{"id", "status"}]}`.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = StatusChangeBatch, example = json!({"items": [{"id": "c-7Hq2", "status": "suspended"}]}))]
struct BatchBody {
    /// The changes, applied all or nothing.
    items: Vec<BatchItem>,
}

/// One change of a batch.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = StatusChangeItem)]
struct BatchItem {
    /// The credential id.
    id: String,
    /// The new status: `valid`, `revoked` or `suspended`.
    #[schema(pattern = "^(valid|revoked|suspended)$")]
    status: String,
}

#[utoipa::path(
    post,
    path = paths::API_CREDENTIAL_STATUS,
    tag = TAG_CREDENTIALS,
    operation_id = "change_credential_status",
    summary = "Change one credential's status",
    description = "Revoked is final: any change after `revoked` is `409 conflict`. A status list \
                   fetched after the change returns shows it.",
    params(
        ("issuer" = String, Path, description = "The issuer's slug."),
        ("id" = String, Path, description = "The credential id."),
    ),
    request_body = StatusBody,
    responses(
        (status = 200, description = "The credential after the change.", body = CredentialObject),
        (status = 400, description = "Malformed body or unknown status value.", body = ErrorBody),
        (status = 401, description = "Missing or wrong API key.", body = ErrorBody),
        (status = 403, description = "The key may not change this issuer's credentials.", body = ErrorBody),
        (status = 404, description = "Unknown issuer or credential.", body = ErrorBody),
        (status = 409, description = "The credential is revoked (final).", body = ErrorBody),
        (status = 413, description = "Body over 1 MiB.", body = ErrorBody),
        (status = 415, description = "Body is not `application/json`.", body = ErrorBody),
    ),
)]
async fn change_one(
    State(s): State<StatusService>,
    caller: Caller,
    Path((issuer, id)): Path<(String, String)>,
    ManagementJson(body): ManagementJson<StatusBody>,
) -> Result<Json<CredentialObject>, ServiceError> {
    let change = StatusChange {
        credential_id: id,
        status: parse_status(&body.status)?,
    };
    let records = s.change(&issuer, &[change], caller.actor()).await?;
    let record = records
        .first()
        .ok_or_else(|| ServiceError::Internal("the change returned no credential".into()))?;
    Ok(Json(s.credential_object(record)))
}

#[utoipa::path(
    post,
    path = paths::API_CREDENTIALS_STATUS,
    tag = TAG_CREDENTIALS,
    operation_id = "change_credential_statuses",
    summary = "Change many credentials' statuses at once (all or nothing)",
    params(("issuer" = String, Path, description = "The issuer's slug.")),
    request_body = BatchBody,
    responses(
        (status = 200, description = "Every credential after the change.", body = CredentialItems),
        (status = 400, description = "Malformed body or unknown status value; nothing changed.", body = ErrorBody),
        (status = 401, description = "Missing or wrong API key.", body = ErrorBody),
        (status = 403, description = "The key may not change this issuer's credentials.", body = ErrorBody),
        (status = 404, description = "Unknown issuer or credential; nothing changed.", body = ErrorBody),
        (status = 409, description = "A credential is revoked (final); nothing changed.", body = ErrorBody),
        (status = 413, description = "Body over 1 MiB.", body = ErrorBody),
        (status = 415, description = "Body is not `application/json`.", body = ErrorBody),
    ),
)]
async fn change_many(
    State(s): State<StatusService>,
    caller: Caller,
    Path(issuer): Path<String>,
    ManagementJson(body): ManagementJson<BatchBody>,
) -> Result<Json<CredentialItems>, ServiceError> {
    let changes = body
        .items
        .into_iter()
        .map(|i| {
            Ok(StatusChange {
                credential_id: i.id,
                status: parse_status(&i.status)?,
            })
        })
        .collect::<Result<Vec<_>, ServiceError>>()?;
    let records = s.change(&issuer, &changes, caller.actor()).await?;
    let items = records.iter().map(|r| s.credential_object(r)).collect();
    Ok(Json(CredentialItems { items }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_parameter_is_unix_seconds_once() {
        assert_eq!(time_param(None).unwrap(), None);
        assert_eq!(
            time_param(Some("time=1686925000")).unwrap(),
            Some(1686925000)
        );
        assert_eq!(time_param(Some("x=1&time=0")).unwrap(), Some(0));
        for bad in [
            "time=abc",
            "time=-5",
            "time=1.5",
            "time=",
            "time=+7",
            "time=1&time=2",
        ] {
            assert!(time_param(Some(bad)).is_err(), "{bad}");
        }
    }

    /// draft-ietf-oauth-status-list §8.1 content negotiation over RFC 9110 §12.5.1.
    #[test]
    fn accept_picks_the_representation_or_none() {
        use Representation::*;
        let with = |v: &'static str| {
            let mut h = HeaderMap::new();
            h.insert(header::ACCEPT, HeaderValue::from_static(v));
            negotiate(&h)
        };
        assert_eq!(negotiate(&HeaderMap::new()), Some(Jwt), "no Accept: JWT");
        for (accept, want) in [
            ("application/statuslist+jwt", Some(Jwt)),
            ("application/statuslist+cwt", Some(Cwt)),
            ("Application/StatusList+CWT", Some(Cwt)),
            ("*/*", Some(Jwt)),
            ("application/*", Some(Jwt)),
            ("application/statuslist+cwt, */*;q=0.1", Some(Cwt)),
            (
                "application/statuslist+jwt;q=0.5, application/statuslist+cwt",
                Some(Cwt),
            ),
            (
                "application/statuslist+cwt;q=0.5, application/statuslist+jwt",
                Some(Jwt),
            ),
            ("application/statuslist+jwt;q=0, */*", Some(Cwt)),
            ("application/json", None),
            ("text/html, application/xml;q=0.9", None),
            ("*/*;q=0", None),
            ("application/statuslist+cwt;q=2", None),
        ] {
            assert_eq!(with(accept), want, "{accept}");
        }
    }

    #[test]
    fn if_none_match_uses_weak_comparison_and_lists() {
        let mut h = HeaderMap::new();
        assert!(!not_modified(&h, "\"abc\""));
        h.insert(
            header::IF_NONE_MATCH,
            HeaderValue::from_static("\"x\", W/\"abc\""),
        );
        assert!(not_modified(&h, "\"abc\""));
        assert!(!not_modified(&h, "\"abd\""));
        h.insert(header::IF_NONE_MATCH, HeaderValue::from_static("*"));
        assert!(not_modified(&h, "\"q\""));
    }
}
