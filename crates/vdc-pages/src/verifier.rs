//! The verifier page (`/ui/verifiers/{verifier}`): one form per credential type of this
//! deployment's issuers the verifier trusts; a presentation request with its QR code, link
//! and live result with the per-check list.

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Serialize;
use serde_json::{Value, json};
use vdc_access::Scope;
use vdc_issuer::definition::{FORMAT_JWT_VC_JSON, FORMAT_SD_JWT_VC};
use vdc_verifier::CreateRequest;
use vdc_verifier::{
    PresentationError, PresentedCredential, RejectReason, RequestCreated, RequestResult,
    VerifierObject,
};

use crate::Pages;
use crate::issuer::display_name;
use crate::layout::{
    error_page, html_response, issuer_error, json_key_required, key_required, loopback_warning,
    verifier_error,
};
use crate::post::{Form, PagePost};
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
                }
            }
        }
        (trust_anchor_block(verifier, object))
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
