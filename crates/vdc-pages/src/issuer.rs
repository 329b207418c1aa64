//! The issuer page (`/ui/issuers/{issuer}`): one form per credential configuration; an
//! offer with its QR code, link, tx_code and live status; revocation of what it issued.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Serialize;
use serde_json::{Map, Value};
use vdc_access::{Caller, Scope};
use vdc_issuer::definition::FORMAT_JWT_VC_JSON;
use vdc_issuer::management::{
    CreateOffer, IssuerObject, OfferCredential, OfferLink, OfferStatus, TxCodeSpec,
};

use crate::layout::{
    error_page, html_response, issuer_error, json_key_required, key_required, loopback_warning,
    service_error,
};
use crate::post::{Form, PagePost, cookie_values};
use crate::qr::qr_svg;
use crate::{Pages, TX_CODE_COOKIE};

/// The form's `grant` value of an offer with login (the management API's name).
const GRANT_LOGIN: &str = "authorization_code";

/// Largest claim value typed into the issuer form.
const MAX_CLAIM_CHARS: usize = 1024;

/// A claim of a configuration the form can fill: its path in the claims object (for
/// `jwt_vc_json`, below `credentialSubject`), names only.
pub(crate) fn form_claims(format: &str, paths: &[Value]) -> Vec<Option<Vec<String>>> {
    paths
        .iter()
        .map(|p| {
            let names: Option<Vec<String>> = p
                .as_array()?
                .iter()
                .map(|e| e.as_str().map(str::to_owned))
                .collect();
            let mut names = names?;
            if format == FORMAT_JWT_VC_JSON {
                if names.first().map(String::as_str) != Some("credentialSubject") {
                    return None;
                }
                names.remove(0);
            }
            (!names.is_empty()).then_some(names)
        })
        .collect()
}

async fn definition(pages: &Pages, issuer: &str) -> Result<IssuerObject, Response> {
    pages.issuer.get_issuer(issuer).await.map_err(issuer_error)
}

/// `GET /ui/issuers/{issuer}`: one form per credential configuration.
pub(crate) async fn issuer_page(
    State(pages): State<Pages>,
    Path(issuer): Path<String>,
    headers: HeaderMap,
) -> Response {
    // Authenticated once: the key decides access and whether the admin forms show.
    let caller = pages.caller(&headers).await;
    if !pages.allows_issuer(caller.as_ref(), &issuer, Scope::Read) {
        return key_required();
    }
    let admin = caller.as_ref().is_some_and(Caller::is_admin);
    match definition(&pages, &issuer).await {
        Ok(def) => html_response(
            StatusCode::OK,
            &format!("Issuer {issuer}"),
            html! {
                (issuer_body(&def))
                @if admin { (crate::tenants::issuer_manage(&def)) }
            },
        ),
        Err(r) => r,
    }
}

/// The `name` of the first `display` entry that has one.
pub(crate) fn display_name(display: &[Value], fallback: &str) -> String {
    display
        .iter()
        .find_map(|d| d["name"].as_str())
        .unwrap_or(fallback)
        .to_owned()
}

/// The trust anchor vdc made for a HAIP-mode issuer's chain, copyable and as a `.pem`
/// download (public: a CA certificate, served at `/issuers/{issuer}/trust-anchor.pem`).
fn trust_anchor_block(def: &IssuerObject) -> Markup {
    html! {
        @if let Some(pem) = def.trust_anchor.as_deref() {
            details #issuer-trust-anchor-block {
                summary { "Trust anchor of this issuer" }
                p.hint {
                    "Its credentials and status lists carry the signing certificate in "
                    code { "x5c" } "; wallets and verifiers validate it against this CA. "
                    a #issuer-trust-anchor-download href={ "/issuers/" (def.id) "/trust-anchor.pem" } download={ "vdc-issuer-" (def.id) "-ca.pem" } {
                        "Download it as a .pem file"
                    }
                }
                pre #issuer-trust-anchor { (pem) }
            }
        }
    }
}

fn issuer_body(def: &IssuerObject) -> Markup {
    html! {
        h1 { (display_name(&def.display, &def.id)) }
        p { "Pick a credential, fill its claims and create an offer." }
        @for (id, config) in &def.credential_configurations {
            @let paths: Vec<Value> = config.claims.iter().map(|c| c.path.clone()).collect();
            section.configuration {
                h2 {
                    (display_name(&config.display, id)) " "
                    small { (id) " · " (config.format) }
                }
                form method="post" action={ "/ui/issuers/" (def.id) "/offers" } data-configuration=(id) {
                    input type="hidden" name="configuration" value=(id);
                    @for (i, (claim, names)) in config.claims.iter().zip(form_claims(&config.format, &paths)).enumerate() {
                        @if let Some(names) = names {
                            @let label = names.join(".");
                            label {
                                (label) @if claim.mandatory { " *" } " "
                                input name={ "c" (i) } data-claim=(label) maxlength=(MAX_CLAIM_CHARS) required[claim.mandatory];
                            }
                        }
                    }
                    button type="submit" { "Create offer" }
                }
                @if let Some(idp) = &def.identity_provider {
                    // The authorization code grant (OID4VCI 1.0 §3.4): no claims typed here,
                    // they come from the holder's login at the identity provider.
                    form.login-offer method="post" action={ "/ui/issuers/" (def.id) "/offers" } data-login-offer=(id) {
                        input type="hidden" name="configuration" value=(id);
                        input type="hidden" name="grant" value=(GRANT_LOGIN);
                        p.hint {
                            "Or let the holder log in: the wallet sends them to "
                            code { (idp.issuer) }
                            " and the claims come from that login."
                        }
                        button type="submit" { "Create offer with login" }
                    }
                }
            }
        }
        (trust_anchor_block(def))
    }
}

/// `POST /ui/issuers/{issuer}/offers`: creates the offer through the issuer service (the
/// management API's path) with a 6-digit tx_code, or with `grant=authorization_code` an
/// offer with login (no claims, no tx_code), and shows QR, link, tx_code and status.
pub(crate) async fn create_offer(
    State(pages): State<Pages>,
    Path(issuer): Path<String>,
    headers: HeaderMap,
    post: PagePost,
) -> Response {
    if !pages
        .may_use_issuer(&headers, &issuer, Scope::OffersWrite)
        .await
    {
        return key_required();
    }
    let def = match definition(&pages, &issuer).await {
        Ok(d) => d,
        Err(r) => return r,
    };
    let form = match post.form() {
        Ok(f) => f,
        Err(bad) => return bad.into_response(),
    };
    let request = match offer_request(&def, &form) {
        Ok(r) => r,
        Err(m) => return error_page(StatusCode::BAD_REQUEST, &m),
    };
    let offer = match pages.issuer.create_offer(&issuer, request, None).await {
        Ok(o) => o,
        Err(e) => return issuer_error(e),
    };
    // Post/redirect/get: the result is a page of its own, so reloading or bookmarking it
    // creates nothing.
    let location = offer_path(&issuer, &offer.id);
    let mut response = Redirect::to(&location).into_response();
    if let Some(code) = offer.tx_code.as_deref() {
        // Only the tx_code's hash is stored; the page shows it again from this cookie
        // (sealed under the KEK for this offer, HttpOnly, sent to this offer's page only,
        // gone when the offer expires), never from the URL, history or logs.
        let max_age = match pages.issuer.offer_link(&issuer, &offer.id).await {
            Ok(l) => l.expires_in,
            Err(e) => return issuer_error(e),
        };
        let sealed = match pages.issuer.seal_tx_code(&issuer, &offer.id, code) {
            Ok(s) => s,
            Err(e) => return issuer_error(e),
        };
        let cookie = format!(
            "{TX_CODE_COOKIE}={sealed}; HttpOnly; SameSite=Strict; Path={location}; Max-Age={max_age}{}",
            if pages.secure_cookie { "; Secure" } else { "" }
        );
        match HeaderValue::from_str(&cookie) {
            Ok(v) => {
                response.headers_mut().insert(header::SET_COOKIE, v);
            }
            Err(_) => {
                return service_error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "tx_code cookie is not a header value".into(),
                );
            }
        }
    }
    response
}

/// The offer page's path (also the tx_code cookie's `Path`).
fn offer_path(issuer: &str, id: &str) -> String {
    format!("/ui/issuers/{issuer}/offers/{id}")
}

/// `GET /ui/issuers/{issuer}/offers/{id}`: the offer's QR, link, tx_code (in the browser
/// that created it) and live status. It shows the offer link, from which a wallet redeems
/// the offer, so it needs what creating the offer needs (`offers:write`), not `read`.
pub(crate) async fn offer_page(
    State(pages): State<Pages>,
    Path((issuer, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    if !pages
        .may_use_issuer(&headers, &issuer, Scope::OffersWrite)
        .await
    {
        return key_required();
    }
    let link = match pages.issuer.offer_link(&issuer, &id).await {
        Ok(l) => l,
        Err(e) => return issuer_error(e),
    };
    let tx_code = if link.tx_code {
        cookie_values(&headers, TX_CODE_COOKIE)
            .find_map(|sealed| pages.issuer.open_tx_code(&issuer, &id, sealed))
    } else {
        None
    };
    html_response(
        StatusCode::OK,
        "Credential offer",
        offer_body(&pages, &issuer, &id, &link, tx_code.as_deref()),
    )
}

/// The management API's create-offer body from the form.
pub(crate) fn offer_request(def: &IssuerObject, form: &Form) -> Result<CreateOffer, String> {
    let id = form
        .field("configuration")
        .ok_or("pick a credential configuration")?;
    let config = def
        .credential_configurations
        .get(id)
        .ok_or_else(|| format!("unknown credential configuration {id}"))?;
    match form.field("grant") {
        None | Some("") => {}
        Some(GRANT_LOGIN) => {
            if def.identity_provider.is_none() {
                return Err(
                    "this issuer has no identity provider: offers with login need one".into(),
                );
            }
            // Spec: OID4VCI 1.0 §4.1.1: `issuer_state` only; no claims, no tx_code.
            return Ok(CreateOffer {
                credential_configuration_ids: vec![id.to_owned()],
                claims: Default::default(),
                grant: Some(GRANT_LOGIN.to_owned()),
                tx_code: None,
                expires_in: None,
                deferred: false,
            });
        }
        Some(_) => return Err("unknown grant".into()),
    }
    let paths: Vec<Value> = config.claims.iter().map(|c| c.path.clone()).collect();
    let mut claims = Map::new();
    for (i, names) in form_claims(&config.format, &paths).into_iter().enumerate() {
        let Some(names) = names else { continue };
        let Some(value) = form.field(&format!("c{i}")).map(str::trim) else {
            continue;
        };
        if value.is_empty() {
            continue;
        }
        if value.chars().count() > MAX_CLAIM_CHARS {
            return Err(format!(
                "{} is longer than {MAX_CLAIM_CHARS} characters",
                names.join(".")
            ));
        }
        insert_path(&mut claims, &names, value);
    }
    Ok(CreateOffer {
        credential_configuration_ids: vec![id.to_owned()],
        claims: [(id.to_owned(), Value::Object(claims))]
            .into_iter()
            .collect(),
        grant: None,
        tx_code: Some(TxCodeSpec {
            length: Some(6),
            input_mode: None,
            description: Some("Enter the code shown next to the QR code".into()),
        }),
        expires_in: None,
        deferred: false,
    })
}

/// Sets `value` at the path `names` in `object`, making the objects on the way.
pub(crate) fn insert_path(object: &mut Map<String, Value>, names: &[String], value: &str) {
    match names {
        [] => {}
        [last] => {
            object.insert(last.clone(), value.into());
        }
        [first, rest @ ..] => {
            let child = object
                .entry(first.clone())
                .or_insert_with(|| Value::Object(Map::new()));
            if !child.is_object() {
                *child = Value::Object(Map::new());
            }
            if let Value::Object(m) = child {
                insert_path(m, rest, value);
            }
        }
    }
}

fn offer_body(
    pages: &Pages,
    issuer: &str,
    id: &str,
    link: &OfferLink,
    tx_code: Option<&str>,
) -> Markup {
    let insecure = if pages.insecure_http {
        " --insecure-http"
    } else {
        ""
    };
    let uri = &link.offer_uri;
    html! {
        h1 { "Credential offer" }
        (loopback_warning(pages))
        div.qr #qr role="img" aria-label="QR code of the offer" {
            @if let Some(qr) = qr_svg(uri) {
                (qr)
            } @else {
                p { "The offer link is too long for a QR code; use the link." }
            }
        }
        p {
            label { "Offer link " input #offer-link readonly value=(uri); }
            " "
            button type="button" data-copy="offer-link" { "Copy" }
        }
        @if link.login {
            p #login-hint {
                "The wallet will send the holder to log in at the issuer's identity provider; \
                 the credential's claims come from that login. No transaction code is needed."
            }
            p.hint #cli-hint {
                "With the command-line wallet (it prints the login URL): "
                code { "vdc wallet accept '" (uri) "'" (insecure) }
            }
        } @else if link.tx_code {
            @if let Some(tx) = tx_code {
                p { "Transaction code: " strong #tx-code { (tx) } }
                p.hint #cli-hint {
                    "With the command-line wallet: "
                    code { "vdc wallet accept '" (uri) "' --tx-code " (tx) (insecure) }
                }
            } @else {
                p #tx-code-unavailable {
                    "Transaction code: shown only in the browser that created this offer. \
                     Only its hash is stored, so it cannot be shown again here; create another \
                     offer if it is lost."
                }
                p.hint #cli-hint {
                    "With the command-line wallet: "
                    code { "vdc wallet accept '" (uri) "' --tx-code CODE" (insecure) }
                }
            }
        } @else {
            p.hint #cli-hint {
                "With the command-line wallet: "
                code { "vdc wallet accept '" (uri) "'" (insecure) }
            }
        }
        p {
            "Status: "
            strong #status data-poll={ "/ui/issuers/" (issuer) "/offers/" (id) "/status" } { "offered" }
        }
        form #revoke method="post" action={ "/ui/issuers/" (issuer) "/offers/" (id) "/revoke" } hidden {
            button type="submit" { "Revoke the issued credential" }
        }
        p { a href={ "/ui/issuers/" (issuer) } { "Another offer" } }
    }
}

/// `GET /ui/issuers/{issuer}/offers/{id}/status`: what the page script shows.
pub(crate) async fn offer_status(
    State(pages): State<Pages>,
    Path((issuer, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    if !pages.may_use_issuer(&headers, &issuer, Scope::Read).await {
        return json_key_required();
    }
    match pages.issuer.offer_status(&issuer, &id).await {
        Ok(s) => axum::Json(offer_view(&s)).into_response(),
        Err(e) => e.into_response(),
    }
}

/// What the issuer page script shows of an offer.
#[derive(Serialize)]
struct OfferView<'a> {
    /// The offer's `status`.
    state: &'a str,
    /// What the page calls it.
    label: &'a str,
    /// Whether the status changes no more (the script stops polling).
    #[serde(rename = "final")]
    is_final: bool,
    /// The credentials issued for the offer.
    credentials: &'a [OfferCredential],
}

/// The page's view of the management API's offer status object.
fn offer_view(s: &OfferStatus) -> OfferView<'_> {
    let state = s.status;
    let label = match state {
        "offered" => "offered",
        "token_issued" => "token issued, waiting for the credential request",
        "credential_issued" => "credential issued",
        "expired" => "offer expired",
        "cancelled" => "offer cancelled",
        other => other,
    };
    OfferView {
        state,
        label,
        is_final: matches!(state, "credential_issued" | "expired" | "cancelled"),
        credentials: &s.credentials,
    }
}

/// `POST /ui/issuers/{issuer}/offers/{id}/revoke`: revokes every credential issued for the
/// offer through the status service (the management API's status change), recording who.
pub(crate) async fn revoke_offer(
    State(pages): State<Pages>,
    Path((issuer, id)): Path<(String, String)>,
    headers: HeaderMap,
    _: PagePost,
) -> Response {
    // Authenticated once: the key decides access and is the recorded actor.
    let caller = pages.caller(&headers).await;
    if !pages.allows_issuer(caller.as_ref(), &issuer, Scope::CredentialsStatus) {
        return key_required();
    }
    let offer = match pages.issuer.offer_status(&issuer, &id).await {
        Ok(o) => o,
        Err(e) => return issuer_error(e),
    };
    let changes: Vec<vdc_store::StatusChange> = offer
        .credentials
        .into_iter()
        .filter(|c| c.status != "revoked")
        .map(|c| vdc_store::StatusChange {
            credential_id: c.id,
            status: vdc_store::CredentialStatus::Revoked,
        })
        .collect();
    if changes.is_empty() {
        return error_page(
            StatusCode::CONFLICT,
            "No unrevoked credential was issued for this offer.",
        );
    }
    // The actor recorded with the change (G9): the key's name, or the anonymous demo pages.
    let actor = caller.as_ref().map_or("demo-pages", Caller::actor);
    if let Err(e) = pages.status.change(&issuer, &changes, actor).await {
        let description = e.to_string();
        return service_error(e.into_response().status(), description);
    }
    html_response(
        StatusCode::OK,
        "Credential revoked",
        html! {
            h1 { "Credential revoked" }
            p #revoked {
                (changes.len()) " credential(s) of this offer are now revoked; verifiers \
                 checking the status list reject them."
            }
            p { a href="/ui" { "Start page" } }
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use vdc_issuer::definition::FORMAT_SD_JWT_VC;

    #[test]
    fn form_claims_strip_credential_subject_and_skip_non_names() {
        let paths = vec![
            json!(["credentialSubject", "given_name"]),
            json!(["other"]),
            json!(["credentialSubject", 0]),
        ];
        assert_eq!(
            form_claims(FORMAT_JWT_VC_JSON, &paths),
            vec![Some(vec!["given_name".to_owned()]), None, None]
        );
        assert_eq!(
            form_claims(FORMAT_SD_JWT_VC, &[json!(["address", "city"])]),
            vec![Some(vec!["address".to_owned(), "city".to_owned()])]
        );
    }

    #[test]
    fn nested_claims_become_objects() {
        let mut m = Map::new();
        insert_path(&mut m, &["address".into(), "city".into()], "Paris");
        insert_path(&mut m, &["name".into()], "Ada");
        assert_eq!(
            Value::Object(m),
            json!({"address": {"city": "Paris"}, "name": "Ada"})
        );
    }
}
