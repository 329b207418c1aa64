//! The verifier page (`/ui/verifiers/{verifier}`): one form per credential type of this
//! deployment's issuers the verifier trusts; a presentation request with its QR code, link
//! and live result with the per-check list.
//!
//! "Verify in this browser" (shown by `pages.js` only when the browser has the Digital
//! Credentials API): the script posts the same form to `.../dc-api/requests` (a `dc_api` /
//! `dc_api.jwt` request, JSON answer), hands `dc_api_request` to
//! `navigator.credentials.get`, and posts the credential's `data` to
//! `.../requests/{id}/dc-api-response`, which checks it bound to this server's origin
//! (OID4VP 1.0 Appendix A) and answers the same view the status route polls.

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Serialize;
use serde_json::{Value, json};
use vdc_access::Scope;
use vdc_issuer::definition::{FORMAT_JWT_VC_JSON, FORMAT_SD_JWT_VC};
use vdc_verifier::{
    ClientIdPrefix, CreateRequest, DcApiAnswer, DcApiRequest, PresentationError,
    PresentedCredential, RejectReason, RequestCreated, RequestResult, VerifierError,
    VerifierObject,
};

use crate::Pages;
use crate::issuer::display_name;
use crate::layout::{
    error_page, html_response, issuer_error, json_key_required, key_required, loopback_warning,
    verifier_error,
};
use crate::post::{BadForm, Form, PagePost};
use crate::qr::qr_svg;

/// A credential type the verifier page offers: from an issuer of this deployment that the
/// verifier trusts.
struct CredentialType {
    issuer: String,
    configuration: String,
    name: String,
    format: String,
    /// `meta` of the DCQL credential query.
    meta: Value,
    /// Claim paths (as in the issuer's configuration).
    claims: Vec<Value>,
}

async fn credential_types(
    pages: &Pages,
    verifier: &VerifierObject,
) -> Result<Vec<CredentialType>, Response> {
    // Only the trusted issuers this deployment serves, each read by id: listing every
    // issuer would load thousands of tenants' definitions for one page (issue 18, 6b).
    let public_url = pages.issuer.public_url();
    let mut types = Vec::new();
    for url in &verifier.trusted_issuers {
        let Some((slug, "")) = vdc_http::tenant_url::split_issuer_url(public_url, url) else {
            continue;
        };
        let def = match pages.issuer.get_issuer(slug).await {
            Ok(def) => def,
            Err(vdc_issuer::IssuerError::NotFound(_)) => continue,
            Err(e) => return Err(issuer_error(e)),
        };
        if def.credential_issuer != *url {
            continue;
        }
        for (id, config) in &def.credential_configurations {
            let meta = match config.format.as_str() {
                FORMAT_SD_JWT_VC => json!({"vct_values": [config.vct]}),
                FORMAT_JWT_VC_JSON => {
                    let types = config
                        .credential_definition
                        .as_ref()
                        .map(|d| d["type"].clone())
                        .unwrap_or(Value::Null);
                    json!({ "type_values": [types] })
                }
                _ => continue,
            };
            types.push(CredentialType {
                issuer: def.id.clone(),
                configuration: id.clone(),
                name: display_name(&config.display, id),
                format: config.format.clone(),
                meta,
                claims: config.claims.iter().map(|c| c.path.clone()).collect(),
            });
        }
    }
    Ok(types)
}

/// What both verifier page routes start with: access for `scope` (401 with the key form
/// otherwise), the verifier, the credential types it can ask for, and whether the key is
/// the admin key (which sees the "Manage" forms).
async fn page_context(
    pages: &Pages,
    headers: &HeaderMap,
    verifier: &str,
    scope: Scope,
) -> Result<(VerifierObject, Vec<CredentialType>, bool), Response> {
    // Authenticated once: the key decides access and whether the admin forms show.
    let caller = pages.caller(headers).await;
    if !pages.allows_verifier(caller.as_ref(), verifier, scope) {
        return Err(key_required());
    }
    let admin = caller.as_ref().is_some_and(vdc_access::Caller::is_admin);
    let object = pages
        .verifier
        .get_verifier(verifier)
        .await
        .map_err(verifier_error)?;
    let types = credential_types(pages, &object).await?;
    Ok((object, types, admin))
}

/// `GET /ui/verifiers/{verifier}`: one form per trusted credential type, with the claims
/// to ask for.
pub(crate) async fn verifier_page(
    State(pages): State<Pages>,
    Path(verifier): Path<String>,
    headers: HeaderMap,
) -> Response {
    let (object, types, admin) = match page_context(&pages, &headers, &verifier, Scope::Read).await
    {
        Ok(c) => c,
        Err(r) => return r,
    };
    let manage = if admin {
        match crate::tenants::local_issuers(&pages).await {
            Ok(local) => Some(crate::tenants::verifier_manage(&object, &local)),
            Err(r) => return r,
        }
    } else {
        None
    };
    html_response(
        StatusCode::OK,
        &format!("Verifier {verifier}"),
        html! {
            (verifier_body(&verifier, &object, &types))
            @if let Some(m) = manage { (m) }
        },
    )
}

fn verifier_name(verifier: &str, object: &VerifierObject) -> String {
    // `display` is free JSON (contract: "Verifiers").
    object
        .display
        .as_ref()
        .and_then(|d| d.get("name"))
        .and_then(Value::as_str)
        .unwrap_or(verifier)
        .to_owned()
}

/// Where the verifier's trust anchor downloads as a `.pem` file (public: a CA certificate).
fn trust_anchor_path(verifier: &str) -> String {
    format!("/verifiers/{verifier}/trust-anchor.pem")
}

fn trust_anchor_block(verifier: &str, object: &VerifierObject) -> Markup {
    html! {
        @if let Some(pem) = object.trust_anchor.as_deref() {
            details {
                summary { "Trust anchor of this verifier" }
                p.hint {
                    "Wallets check the signed request against it ("
                    code { "vdc wallet present --trust-anchor FILE" } "). "
                    a #trust-anchor-download href=(trust_anchor_path(verifier)) download={ "vdc-verifier-" (verifier) "-ca.pem" } {
                        "Download it as a .pem file"
                    }
                }
                pre #trust-anchor { (pem) }
            }
        }
    }
}

fn verifier_body(verifier: &str, object: &VerifierObject, types: &[CredentialType]) -> Markup {
    html! {
        h1 { (verifier_name(verifier, object)) }
        p { "Pick the credential and the claims to ask for, then create a presentation request." }
        @if types.is_empty() {
            p #no-types {
                "This verifier trusts no issuer of this deployment, so there is nothing to pick \
                 from here; create requests through the management API."
            }
        }
        (dc_api_result_area())
        @for t in types {
            section.configuration {
                h2 { (t.name) " " small { (t.format) " · issuer " (t.issuer) } }
                form method="post" action={ "/ui/verifiers/" (verifier) "/requests" } data-configuration=(t.configuration) {
                    input type="hidden" name="issuer" value=(t.issuer);
                    input type="hidden" name="configuration" value=(t.configuration);
                    fieldset {
                        legend { "Claims" }
                        @for (i, path) in t.claims.iter().enumerate() {
                            @let label = path_label(path);
                            label {
                                input type="checkbox" name="claim" value=(i) data-claim=(label) checked;
                                " " (label)
                            }
                        }
                    }
                    button type="submit" { "Create request" }
                    " "
                    // Hidden until pages.js finds the Digital Credentials API.
                    button type="button" .dc-api data-dc-api={ "/ui/verifiers/" (verifier) "/dc-api/requests" } hidden {
                        "Verify in this browser"
                    }
                }
            }
        }
        (trust_anchor_block(verifier, object))
    }
}

/// Where "Verify in this browser" shows its progress and result: the same elements the
/// request page's status uses (`#status`, `#result` with `#claims`, `#checks`, `#reason`),
/// filled by the same script code.
fn dc_api_result_area() -> Markup {
    html! {
        section #dc-api-result hidden aria-live="polite" {
            h2 { "Verification in this browser" }
            p { "Status: " strong #status { "" } }
            section #result hidden {
                h2 { "Disclosed claims" }
                div #claims {}
                h2 { "Checks" }
                ul #checks {}
            }
            p.error #reason {}
        }
    }
}

fn path_label(path: &Value) -> String {
    path.as_array()
        .into_iter()
        .flatten()
        .map(|e| match e {
            Value::String(s) => s.clone(),
            Value::Null => "*".into(),
            other => other.to_string(),
        })
        .collect::<Vec<_>>()
        .join(".")
}

/// `POST /ui/verifiers/{verifier}/requests`: a DCQL query for the picked credential type
/// and claims, created through the verifier service (the management API's path).
pub(crate) async fn create_request(
    State(pages): State<Pages>,
    Path(verifier): Path<String>,
    headers: HeaderMap,
    post: PagePost,
) -> Response {
    let (_, types, _) =
        match page_context(&pages, &headers, &verifier, Scope::PresentationsWrite).await {
            Ok(c) => c,
            Err(r) => return r,
        };
    let form = match post.form() {
        Ok(f) => f,
        Err(bad) => return bad.into_response(),
    };
    let dcql_query = match dcql_from_form(&types, &form) {
        Ok(q) => q,
        Err(m) => return error_page(StatusCode::BAD_REQUEST, &m),
    };
    let request = CreateRequest {
        dcql_query,
        response_mode: None,
        expires_in: None,
        redirect_uri: None,
        request_uri_method: None,
        expected_origins: None,
        transaction_data: None,
    };
    match pages
        .verifier
        .create_request(&verifier, request, None)
        .await
    {
        // Post/redirect/get: reloading or bookmarking the result creates nothing.
        Ok(created) => Redirect::to(&format!("/ui/verifiers/{verifier}/requests/{}", created.id))
            .into_response(),
        Err(e) => verifier_error(e),
    }
}

/// `GET /ui/verifiers/{verifier}/requests/{id}`: the request's QR, link and live result.
/// The link lets a wallet answer the request, so this needs what creating it needs
/// (`presentations:write`).
pub(crate) async fn request_page(
    State(pages): State<Pages>,
    Path((verifier, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    if !pages
        .may_use_verifier(&headers, &verifier, Scope::PresentationsWrite)
        .await
    {
        return key_required();
    }
    let object = match pages.verifier.get_verifier(&verifier).await {
        Ok(o) => o,
        Err(e) => return verifier_error(e),
    };
    match pages.verifier.request_links(&verifier, &id).await {
        Ok(created) => html_response(
            StatusCode::OK,
            "Presentation request",
            request_body(&pages, &verifier, &object, &created),
        ),
        Err(e) => verifier_error(e),
    }
}

/// The DCQL query (OID4VP 1.0 §6) for one credential of the picked type with the picked
/// claims.
fn dcql_from_form(types: &[CredentialType], form: &Form) -> Result<Value, String> {
    let issuer = form.field("issuer").unwrap_or_default();
    let configuration = form.field("configuration").unwrap_or_default();
    let t = types
        .iter()
        .find(|t| t.issuer == issuer && t.configuration == configuration)
        .ok_or("pick a credential type this verifier trusts")?;
    let mut claims = Vec::new();
    for v in form.all("claim") {
        let path = v
            .parse::<usize>()
            .ok()
            .and_then(|i| t.claims.get(i))
            .ok_or("unknown claim")?;
        if !claims.iter().any(|c: &Value| &c["path"] == path) {
            claims.push(json!({ "path": path }));
        }
    }
    if claims.is_empty() {
        return Err("pick at least one claim".into());
    }
    Ok(json!({"credentials": [{
        "id": "credential",
        "format": t.format,
        "meta": t.meta,
        "claims": claims,
    }]}))
}

fn request_body(
    pages: &Pages,
    verifier: &str,
    object: &VerifierObject,
    created: &RequestCreated,
) -> Markup {
    let id = &created.id;
    let link = &created.authorization_request;
    let file = format!("vdc-verifier-{verifier}-ca.pem");
    html! {
        h1 { "Presentation request" }
        (loopback_warning(pages))
        div.qr #qr role="img" aria-label="QR code of the request" {
            @if let Some(qr) = qr_svg(link) {
                (qr)
            } @else {
                p { "The request is too long for a QR code; use the link." }
            }
        }
        p {
            label { "Request link " input #request-link readonly value=(link); }
            " "
            button type="button" data-copy="request-link" { "Copy" }
        }
        p.hint #cli-hint {
            "With the command-line wallet: "
            code {
                "vdc wallet present '" (link) "'"
                @if object.trust_anchor.is_some() { " --trust-anchor " (file) }
                @if pages.insecure_http { " --insecure-http" }
            }
            @if object.trust_anchor.is_some() {
                " ("
                a #cli-trust-anchor href=(trust_anchor_path(verifier)) download=(file) { "download " (file) }
                ")"
            }
        }
        p {
            "Status: "
            strong #status data-poll={ "/ui/verifiers/" (verifier) "/requests/" (id) "/status" } { "pending" }
        }
        section #result hidden {
            h2 { "Disclosed claims" }
            div #claims {}
            h2 { "Checks" }
            ul #checks {}
            p.error #reason {}
        }
        (trust_anchor_block(verifier, object))
        p { a href={ "/ui/verifiers/" (verifier) } { "Another request" } }
    }
}

/// The origin the pages run at as the browser sees it: the origin of the server's public
/// URL (from the verifier's response URI, which is built from it), never a request header,
/// so a proxy or a forged `Host` cannot choose what the answer is bound to.
fn page_origin(response_uri: &str) -> Option<String> {
    let origin = url::Url::parse(response_uri).ok()?.origin();
    origin.is_tuple().then(|| origin.ascii_serialization())
}

/// The DC API request for the picked claims. Spec: OID4VP 1.0 Appendix A.2: a request
/// signed by the verifier (any prefix but `redirect_uri`) names the origins it is for in
/// `expected_origins` (here the pages' own); an unsigned one carries none. HAIP 1.0 §5.2:
/// a HAIP verifier answers encrypted (`dc_api.jwt`).
fn dc_api_create_request(
    haip: bool,
    prefix: ClientIdPrefix,
    dcql_query: Value,
    origin: &str,
) -> CreateRequest {
    let response_mode = if haip { "dc_api.jwt" } else { "dc_api" };
    let signed = prefix != ClientIdPrefix::RedirectUri;
    CreateRequest {
        dcql_query,
        response_mode: Some(response_mode.into()),
        expires_in: None,
        redirect_uri: None,
        request_uri_method: None,
        expected_origins: signed.then(|| vec![origin.to_owned()]),
        transaction_data: None,
    }
}

/// A JSON error for the script.
fn json_error(status: StatusCode, error: &'static str, description: impl Into<String>) -> Response {
    vdc_http::ErrorResponse::client(status, error, description).into_response()
}

/// What both DC API routes start with: access for `presentations:write` (they create and
/// answer requests, as the request page needs), the verifier, and the pages' origin,
/// refusing a post whose `Origin` is not it (on top of [`PagePost`]'s `Host` check: the
/// answer is bound to this origin, so only a page at it may post one).
async fn dc_api_context(
    pages: &Pages,
    headers: &HeaderMap,
    verifier: &str,
) -> Result<(VerifierObject, String), Response> {
    if !pages
        .may_use_verifier(headers, verifier, Scope::PresentationsWrite)
        .await
    {
        return Err(json_key_required());
    }
    let object = pages
        .verifier
        .get_verifier(verifier)
        .await
        .map_err(IntoResponse::into_response)?;
    let Some(origin) = page_origin(&object.response_uri) else {
        return Err(json_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            "the public URL has no web origin",
        ));
    };
    if origin_differs(headers, &origin) {
        return Err(json_error(
            StatusCode::FORBIDDEN,
            "access_denied",
            format!("only a page at {origin} may use the Digital Credentials API here"),
        ));
    }
    Ok((object, origin))
}

/// Whether the request's `Origin` header names another origin than `origin` (no header:
/// not a browser's cross-origin post).
fn origin_differs(headers: &HeaderMap, origin: &str) -> bool {
    headers
        .get(axum::http::header::ORIGIN)
        .is_some_and(|v| v.as_bytes() != origin.as_bytes())
}

/// What the script gets for a new DC API request.
#[derive(Serialize)]
struct DcApiStart {
    /// The request id.
    id: String,
    /// What the script hands to `navigator.credentials.get`.
    dc_api_request: DcApiRequest,
    /// Where the script posts the credential's `data`.
    response_url: String,
}

/// `POST /ui/verifiers/{verifier}/dc-api/requests` (the credential type form): a DC API
/// request for the picked claims; JSON [`DcApiStart`].
pub(crate) async fn create_dc_api_request(
    State(pages): State<Pages>,
    Path(verifier): Path<String>,
    headers: HeaderMap,
    post: PagePost,
) -> Response {
    let (object, origin) = match dc_api_context(&pages, &headers, &verifier).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let types = match credential_types(&pages, &object).await {
        Ok(t) => t,
        Err(r) => return r,
    };
    let form = match post.form() {
        Ok(f) => f,
        Err(BadForm) => {
            return json_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "form fields must be UTF-8 text",
            );
        }
    };
    let dcql_query = match dcql_from_form(&types, &form) {
        Ok(q) => q,
        Err(m) => return json_error(StatusCode::BAD_REQUEST, "invalid_request", m),
    };
    let request = dc_api_create_request(object.haip, object.client_id_prefix, dcql_query, &origin);
    match pages
        .verifier
        .create_request(&verifier, request, None)
        .await
    {
        Ok(created) => match created.dc_api_request {
            Some(dc_api_request) => axum::Json(DcApiStart {
                response_url: format!(
                    "/ui/verifiers/{verifier}/requests/{}/dc-api-response",
                    created.id
                ),
                id: created.id,
                dc_api_request,
            })
            .into_response(),
            None => json_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                "the verifier made no Digital Credentials API request",
            ),
        },
        Err(e) => e.into_response(),
    }
}

/// Largest `data` field of a DC API answer (as the verifier bounds an encrypted answer).
pub(crate) const MAX_DC_API_DATA: usize = 700 * 1024;

/// The `data` form field: the DigitalCredential's `data` as JSON text (strict: duplicate
/// members are refused as the management API refuses them).
fn answer_data(data: Option<&str>) -> Result<serde_json::Map<String, Value>, String> {
    let data = data.ok_or("the form has no data field")?;
    vdc_core::json::parse_object(data.as_bytes(), MAX_DC_API_DATA)
        .map_err(|e| format!("data is not a JSON object: {e}"))
}

/// `POST /ui/verifiers/{verifier}/requests/{id}/dc-api-response` (form field `data`: the
/// DigitalCredential's `data` as JSON): checks the answer bound to the pages' origin and
/// answers the request's view (as the status route: verified, or rejected with the failed
/// check); a call that changes nothing (not a DC API request, no longer pending, malformed
/// data) is a JSON 4xx.
pub(crate) async fn dc_api_response(
    State(pages): State<Pages>,
    Path((verifier, id)): Path<(String, String)>,
    headers: HeaderMap,
    post: PagePost,
) -> Response {
    let (_, origin) = match dc_api_context(&pages, &headers, &verifier).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let data = match post
        .form()
        .map_err(|BadForm| "form fields must be UTF-8 text".to_owned())
        .and_then(|f| answer_data(f.field("data")))
    {
        Ok(d) => d,
        Err(m) => return json_error(StatusCode::BAD_REQUEST, "invalid_request", m),
    };
    let answer = DcApiAnswer { origin, data };
    match pages.verifier.dc_api_respond(&verifier, &id, answer).await {
        Ok(r) => axum::Json(request_view(&r)).into_response(),
        // The request is now rejected: show it as the status route would.
        Err(VerifierError::Rejected { .. }) => match pages.verifier.result(&verifier, &id).await {
            Ok(r) => axum::Json(request_view(&r)).into_response(),
            Err(e) => e.into_response(),
        },
        Err(e) => e.into_response(),
    }
}

/// `GET /ui/verifiers/{verifier}/requests/{id}/status`.
pub(crate) async fn request_status(
    State(pages): State<Pages>,
    Path((verifier, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    if !pages
        .may_use_verifier(&headers, &verifier, Scope::Read)
        .await
    {
        return json_key_required();
    }
    match pages.verifier.result(&verifier, &id).await {
        Ok(r) => axum::Json(request_view(&r)).into_response(),
        Err(e) => e.into_response(),
    }
}

/// What the verifier page calls a check.
fn check_label(reason: RejectReason) -> &'static str {
    match reason {
        RejectReason::Signature => "issuer signature and disclosures",
        RejectReason::UntrustedIssuer => "issuer trusted by this verifier",
        RejectReason::Expired => "credential within its validity period",
        RejectReason::KeyBinding => "holder key binding",
        RejectReason::Nonce => "nonce of this request",
        RejectReason::Audience => "audience is this verifier",
        RejectReason::DcqlUnsatisfied => "requested claims disclosed",
        RejectReason::Status => "credential status valid (not revoked or suspended)",
        RejectReason::WalletError => "wallet answered without an error",
        RejectReason::Decryption => "response decrypts with this request's key",
        RejectReason::Origin => "answer from an origin this request expects",
        RejectReason::TransactionData => "transaction data authorized by the holder",
    }
}

/// One check in the verifier page's list.
#[derive(Serialize)]
struct CheckView {
    /// The check's name ([`RejectReason::as_str`]).
    check: &'static str,
    /// What the page calls it.
    label: &'static str,
    /// `passed` or `failed`.
    outcome: &'static str,
}

impl CheckView {
    fn new(reason: RejectReason, outcome: &'static str) -> Self {
        Self {
            check: reason.as_str(),
            label: check_label(reason),
            outcome,
        }
    }
}

/// What the verifier page script shows of a presentation request.
#[derive(Serialize)]
struct RequestView<'a> {
    /// The request's `status`.
    state: &'a str,
    /// What the page calls it.
    label: &'a str,
    /// Whether the status changes no more (the script stops polling).
    #[serde(rename = "final")]
    is_final: bool,
    /// The disclosed claims, by credential query id; null until verified.
    presentation: Option<&'a BTreeMap<String, Vec<PresentedCredential>>>,
    /// Why the request was rejected; null otherwise.
    error: Option<&'a PresentationError>,
    /// The per-check list.
    checks: Vec<CheckView>,
}

/// The page's view of the contract's result object: status label, disclosed claims, and
/// the per-check list (all passed when verified; when rejected, the failing check).
fn request_view(r: &RequestResult) -> RequestView<'_> {
    let state = r.status;
    let label = match state {
        "pending" => "waiting for the wallet",
        "verified" => "verified",
        "rejected" => "rejected",
        "expired" => "request expired",
        other => other,
    };
    let checks = match state {
        "verified" => RejectReason::CHECKS
            .into_iter()
            .map(|c| CheckView::new(c, "passed"))
            .collect(),
        "rejected" => RejectReason::CHECKS
            .into_iter()
            .filter(|c| Some(*c) == r.reason)
            .map(|c| CheckView::new(c, "failed"))
            .collect(),
        _ => Vec::new(),
    };
    RequestView {
        state,
        label,
        is_final: state != "pending",
        presentation: r.presentation.as_ref(),
        error: r.error.as_ref(),
        checks,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(status: &'static str, reason: Option<RejectReason>) -> RequestResult {
        RequestResult {
            id: "r".into(),
            status,
            presentation: None,
            error: None,
            created_at: String::new(),
            expires_at: String::new(),
            transaction_data: None,
            reason,
        }
    }

    #[test]
    fn dc_api_requests_are_signed_for_the_page_origin_unless_redirect_uri() {
        let o = "https://vdc.example";
        let r = dc_api_create_request(false, ClientIdPrefix::X509Hash, json!({}), o);
        assert_eq!(r.response_mode.as_deref(), Some("dc_api"));
        assert_eq!(r.expected_origins, Some(vec![o.to_owned()]));
        let r = dc_api_create_request(false, ClientIdPrefix::RedirectUri, json!({}), o);
        assert_eq!(r.expected_origins, None);
        let r = dc_api_create_request(true, ClientIdPrefix::X509SanDns, json!({}), o);
        assert_eq!(r.response_mode.as_deref(), Some("dc_api.jwt"));
        assert!(r.redirect_uri.is_none() && r.transaction_data.is_none());
    }

    #[test]
    fn page_origin_is_the_public_url_origin() {
        assert_eq!(
            page_origin("https://vdc.example:443/verifiers/v/response").as_deref(),
            Some("https://vdc.example")
        );
        assert_eq!(
            page_origin("http://127.0.0.1:8080/base/verifiers/v/response").as_deref(),
            Some("http://127.0.0.1:8080")
        );
        assert_eq!(page_origin("not a url"), None);
    }

    #[test]
    fn posts_from_another_origin_are_refused() {
        use axum::http::{HeaderValue, header};
        let mut h = HeaderMap::new();
        assert!(!origin_differs(&h, "http://127.0.0.1:8080"));
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://127.0.0.1:8080"),
        );
        assert!(!origin_differs(&h, "http://127.0.0.1:8080"));
        assert!(origin_differs(&h, "http://localhost:8080"));
        h.insert(header::ORIGIN, HeaderValue::from_static("null"));
        assert!(origin_differs(&h, "http://127.0.0.1:8080"));
    }

    #[test]
    fn answer_data_is_strict_json_object() {
        let d = answer_data(Some(r#"{"vp_token": {"credential": ["x"]}}"#)).unwrap();
        assert_eq!(d["vp_token"]["credential"][0], "x");
        assert!(answer_data(None).is_err());
        assert!(answer_data(Some("[]")).is_err());
        assert!(answer_data(Some("{")).is_err());
        // Duplicate members: refused, not last-one-wins.
        assert!(answer_data(Some(r#"{"error": "a", "error": "b"}"#)).is_err());
    }

    #[test]
    fn rejected_result_names_the_failed_check() {
        let view = |r: &RequestResult| serde_json::to_value(request_view(r)).unwrap();
        let v = view(&result("rejected", Some(RejectReason::Status)));
        assert_eq!(v["checks"][0]["check"], "status");
        assert_eq!(v["checks"][0]["outcome"], "failed");
        assert_eq!(v["final"], true);
        let v = view(&result("verified", None));
        assert_eq!(
            v["checks"].as_array().map(Vec::len),
            Some(RejectReason::CHECKS.len())
        );
    }
}
