//! Server-rendered pages: a start page, an issuer page (offer → QR + link + tx_code + live
//! status) and a verifier page (presentation request → QR + link + live result).
//!
//! The pages live in the binary crate because they are the one place that uses the issuer
//! and the verifier together (the verifier page lists the credential types of this
//! deployment's issuers); the protocol crates must not depend on each other.
//!
//! Every page goes through the same service methods as the management API
//! (`Issuer::create_offer`, `Verifier::create_request`, their status reads). Markup is built
//! from literals and escaped values only (`html::esc`); the one script (`pages.js`) is served
//! from here and the CSP forbids inline scripts.
//!
//! Access:
//! - With a key: the `vdc_ui_key` cookie (HttpOnly, SameSite=Strict, Path=/ui, Secure when
//!   the public URL is https) holds the API key, checked on every request like a bearer key.
//!   The admin key or a scoped API key; a scoped key reaches only its tenants' pages and
//!   only for its scopes (`read` to view, `offers:write`, `credentials:status`,
//!   `presentations:write` to act), as in the management API.
//! - Demo mode (`--demo`) opens, without a key, exactly the pages of the demo issuer `demo`
//!   and the demo verifier `demo` (create offers and presentation requests, read their
//!   status). Other tenants' pages still need the key; the management API is unchanged.
//! - POSTs whose `Origin` does not match the `Host` are refused (403), on top of SameSite.

mod html;

use std::fmt::Write as _;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use vdc_access::{Authenticator, Caller, Scope};
use vdc_issuer::Issuer;
use vdc_issuer::config::{FORMAT_JWT_VC_JSON, FORMAT_SD_JWT_VC, IssuerDefinition};
use vdc_issuer::management::{CreateOffer, TxCodeSpec};
use vdc_store::events::EventTenant;
use vdc_verifier::Verifier;
use vdc_verifier::service::CreateRequest;

use html::{esc, key_form, page};

/// The start page under `/ui` (sees the key cookie; `/` does not).
pub const UI: &str = "/ui";
/// The cookie holding the pages' API key.
pub const KEY_COOKIE: &str = "vdc_ui_key";
/// The Content-Security-Policy of every page: no inline script or style, nothing from
/// elsewhere.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";
/// Largest form body.
const MAX_FORM_BYTES: usize = 64 * 1024;
/// Largest claim value typed into the issuer form.
const MAX_CLAIM_CHARS: usize = 1024;
/// Largest API key accepted by the key form.
const MAX_KEY_CHARS: usize = 512;

const PAGES_JS: &str = include_str!("pages.js");
const PAGES_CSS: &str = include_str!("pages.css");

/// What the pages need.
#[derive(Clone)]
pub struct Pages {
    issuer: Issuer,
    status: vdc_status::StatusService,
    verifier: Verifier,
    auth: Authenticator,
    demo: bool,
    secure_cookie: bool,
}

impl Pages {
    /// The pages over these services; `demo` opens the demo tenants' pages without a key.
    pub fn new(
        issuer: Issuer,
        status: vdc_status::StatusService,
        verifier: Verifier,
        auth: Authenticator,
        demo: bool,
        public_url: &str,
    ) -> Self {
        Self {
            issuer,
            status,
            verifier,
            auth,
            demo,
            secure_cookie: public_url.starts_with("https://"),
        }
    }

    /// The caller whose key the pages cookie holds (the admin key or an unrevoked scoped
    /// key, as for the management API), if any.
    async fn caller(&self, headers: &HeaderMap) -> Option<Caller> {
        let key = cookie_key(headers)?;
        self.auth.authenticate(&key).await.ok()
    }

    /// Whether the request may use the pages of issuer `slug` for `scope`: the demo issuer in
    /// demo mode, else a key that may act on it with that scope (contract "API keys and
    /// tenants").
    async fn may_use_issuer(&self, headers: &HeaderMap, slug: &str, scope: Scope) -> bool {
        // The demo tenant needs no key, so no lookup either.
        (self.demo && slug == crate::demo::DEMO_ISSUER)
            || self.allows_issuer(self.caller(headers).await.as_ref(), slug, scope)
    }

    /// [`Self::may_use_issuer`] for a caller already authenticated.
    fn allows_issuer(&self, caller: Option<&Caller>, slug: &str, scope: Scope) -> bool {
        (self.demo && slug == crate::demo::DEMO_ISSUER)
            || caller.is_some_and(|c| {
                c.require(&EventTenant::Issuer(slug.to_owned()), scope)
                    .is_ok()
            })
    }

    /// Whether the request may use the pages of verifier `slug` for `scope`.
    async fn may_use_verifier(&self, headers: &HeaderMap, slug: &str, scope: Scope) -> bool {
        (self.demo && slug == crate::demo::DEMO_VERIFIER)
            || self.caller(headers).await.is_some_and(|c| {
                c.require(&EventTenant::Verifier(slug.to_owned()), scope)
                    .is_ok()
            })
    }
}

/// The pages' routes: `/`, `/ui`, `/ui/...`.
pub fn routes(pages: Pages) -> Router {
    Router::new()
        .route("/", get(start_root))
        .route(UI, get(start))
        .route("/ui/login", post(login))
        .route("/ui/logout", post(logout))
        .route("/ui/assets/pages.js", get(script))
        .route("/ui/assets/pages.css", get(style))
        .route("/ui/issuers/{issuer}", get(issuer_page))
        .route("/ui/issuers/{issuer}/offers", post(create_offer))
        .route("/ui/issuers/{issuer}/offers/{id}/status", get(offer_status))
        .route(
            "/ui/issuers/{issuer}/offers/{id}/revoke",
            post(revoke_offer),
        )
        .route("/ui/verifiers", get(open_verifier))
        .route("/ui/verifiers/{verifier}", get(verifier_page))
        .route("/ui/verifiers/{verifier}/requests", post(create_request))
        .route(
            "/ui/verifiers/{verifier}/requests/{id}/status",
            get(request_status),
        )
        // An HTML 404 under /ui only; other unknown paths keep the server's answer.
        .route("/ui/{*rest}", get(not_found).post(not_found))
        .layer(DefaultBodyLimit::max(MAX_FORM_BYTES))
        .layer(axum::middleware::map_response(security_headers))
        .with_state(pages)
}

async fn security_headers(mut response: Response) -> Response {
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    // same-origin, not no-referrer: under no-referrer browsers send `Origin: null` on form
    // posts, which the cross-site check must refuse. Links to other sites get no referrer.
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

// ---------------------------------------------------------------------------------------
// Responses

fn html_response(status: StatusCode, title: &str, body: &str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        page(title, body),
    )
        .into_response()
}

fn error_page(status: StatusCode, message: &str) -> Response {
    let title = status.canonical_reason().unwrap_or("Error");
    html_response(
        status,
        title,
        &format!(
            "<h1>{}</h1><p class=\"error\" id=\"error\">{}</p><p><a href=\"/ui\">Start page</a></p>",
            esc(title),
            esc(message)
        ),
    )
}

/// 401 with the key form (outside demo mode, or a non-demo tenant in demo mode).
fn key_required() -> Response {
    let mut r = html_response(
        StatusCode::UNAUTHORIZED,
        "API key required",
        &format!(
            "<h1>API key required</h1>{}",
            key_form(Some("These pages need an API key."))
        ),
    );
    r.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Cookie realm=\"vdc pages\""),
    );
    r
}

/// A service error as a page: 4xx with its description, 5xx with nothing specific (logged).
fn service_error(status: StatusCode, description: String) -> Response {
    if status.is_server_error() {
        tracing::error!(error = %description, "pages: service error");
        error_page(status, "Something went wrong on the server.")
    } else {
        error_page(status, &description)
    }
}

fn issuer_error(e: vdc_issuer::IssuerError) -> Response {
    let description = e.to_string();
    service_error(e.into_response().status(), description)
}

fn verifier_error(e: vdc_verifier::VerifierError) -> Response {
    let description = e.to_string();
    service_error(e.into_response().status(), description)
}

fn json_key_required() -> Response {
    vdc_http::ErrorResponse::client(
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        "a valid API key is required",
    )
    .into_response()
}

async fn not_found() -> Response {
    error_page(StatusCode::NOT_FOUND, "There is no such page.")
}

async fn script() -> Response {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        PAGES_JS,
    )
        .into_response()
}

async fn style() -> Response {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        PAGES_CSS,
    )
        .into_response()
}

// ---------------------------------------------------------------------------------------
// Key cookie, forms, CSRF

/// The key in the pages cookie (base64url of the key, so any key is a valid cookie value).
fn cookie_key(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(name, _)| *name == KEY_COOKIE)
        .and_then(|(_, value)| vdc_core::base64url::decode(value).ok())
        .and_then(|bytes| String::from_utf8(bytes).ok())
}

/// Parses an `application/x-www-form-urlencoded` body (at most [`MAX_FORM_BYTES`]).
/// Percent-decoded bytes that are not UTF-8 are refused, not repaired (G8): the parser
/// replaces them with U+FFFD, which a browser never sends for typed text.
/// `None` for such a body (answer with [`bad_form`]).
fn form(body: &Bytes) -> Option<Vec<(String, String)>> {
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    if pairs
        .iter()
        .any(|(k, v)| k.contains('\u{FFFD}') || v.contains('\u{FFFD}'))
    {
        return None;
    }
    Some(pairs)
}

fn bad_form() -> Response {
    error_page(StatusCode::BAD_REQUEST, "Form fields must be UTF-8 text.")
}

fn field<'a>(form: &'a [(String, String)], name: &str) -> Option<&'a str> {
    form.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// A state-changing request from another site: its `Origin` names another host than the
/// one addressed (SameSite=Strict already keeps the cookie away; demo pages need no cookie).
fn cross_site(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    let origin_host = url::Url::parse(origin).ok().and_then(|u| {
        let host = u.host_str()?.to_owned();
        Some(match u.port() {
            Some(p) => format!("{host}:{p}"),
            None => host,
        })
    });
    match (origin_host, host) {
        (Some(o), Some(h)) => !o.eq_ignore_ascii_case(h),
        _ => true,
    }
}

fn forbidden_cross_site() -> Response {
    error_page(
        StatusCode::FORBIDDEN,
        "Cross-site form submissions are refused.",
    )
}

async fn login(State(pages): State<Pages>, headers: HeaderMap, body: Bytes) -> Response {
    if cross_site(&headers) {
        return forbidden_cross_site();
    }
    let Some(form) = form(&body) else {
        return bad_form();
    };
    let key = field(&form, "key").unwrap_or_default().trim();
    if key.is_empty()
        || key.chars().count() > MAX_KEY_CHARS
        || pages.auth.authenticate(key).await.is_err()
    {
        return html_response(
            StatusCode::UNAUTHORIZED,
            "API key required",
            &format!(
                "<h1>API key required</h1>{}",
                key_form(Some("That key is not valid."))
            ),
        );
    }
    let cookie = format!(
        "{KEY_COOKIE}={}; HttpOnly; SameSite=Strict; Path=/ui{}",
        vdc_core::base64url::encode(key.as_bytes()),
        if pages.secure_cookie { "; Secure" } else { "" }
    );
    set_cookie(Redirect::to(UI).into_response(), &cookie)
}

async fn logout(headers: HeaderMap) -> Response {
    if cross_site(&headers) {
        return forbidden_cross_site();
    }
    let cookie = format!("{KEY_COOKIE}=; HttpOnly; SameSite=Strict; Path=/ui; Max-Age=0");
    set_cookie(Redirect::to("/").into_response(), &cookie)
}

fn set_cookie(mut response: Response, cookie: &str) -> Response {
    match HeaderValue::from_str(cookie) {
        Ok(v) => {
            response.headers_mut().insert(header::SET_COOKIE, v);
            response
        }
        Err(_) => error_page(StatusCode::BAD_REQUEST, "That key cannot be stored."),
    }
}

// ---------------------------------------------------------------------------------------
// Start page

/// `GET /`: the cookie (Path=/ui) never reaches it, so it shows the demo links (in demo
/// mode) and the key form.
async fn start_root(State(pages): State<Pages>) -> Response {
    render_start(&pages, None).await
}

/// `GET /ui`.
async fn start(State(pages): State<Pages>, headers: HeaderMap) -> Response {
    let caller = pages.caller(&headers).await;
    render_start(&pages, caller.as_ref()).await
}

async fn render_start(pages: &Pages, caller: Option<&Caller>) -> Response {
    let has_key = caller.is_some();
    let mut body = String::from(
        "<h1>vdc</h1><p>Issue verifiable credentials over OpenID4VCI and verify them over \
         OpenID4VP. Scan the QR codes with a wallet, or use <code>vdc wallet</code>.</p>",
    );
    let mut issuers: Vec<String> = Vec::new();
    if has_key {
        match pages.issuer.list_issuers().await {
            Ok(list) => {
                issuers = list["items"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|i| i["id"].as_str().map(str::to_owned))
                    // A scoped key sees only the issuers it may read.
                    .filter(|id| caller.is_some_and(|c| c.may_read_issuer(id)))
                    .collect();
            }
            Err(e) => return issuer_error(e),
        }
    } else if pages.demo {
        issuers.push(crate::demo::DEMO_ISSUER.to_owned());
    }
    body.push_str("<section><h2>Issuers</h2><ul id=\"issuers\">");
    for id in &issuers {
        let _ = write!(
            body,
            "<li><a href=\"/ui/issuers/{0}\">Issuer {0}</a></li>",
            esc(id)
        );
    }
    body.push_str("</ul></section><section><h2>Verifiers</h2><ul id=\"verifiers\">");
    let verifiers: Vec<String> = match caller {
        // A scoped key sees only the verifiers it may read.
        Some(c) => match pages
            .verifier
            .list_verifiers_where(|id| c.may_read_verifier(id))
            .await
        {
            Ok(list) => list["items"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|v| v["id"].as_str().map(str::to_owned))
                .collect(),
            Err(e) => {
                let description = e.to_string();
                return service_error(e.into_response().status(), description);
            }
        },
        None if pages.demo => vec![crate::demo::DEMO_VERIFIER.to_owned()],
        None => Vec::new(),
    };
    for id in &verifiers {
        let _ = write!(
            body,
            "<li><a href=\"/ui/verifiers/{0}\">Verifier {0}</a></li>",
            esc(id)
        );
    }
    body.push_str("</ul>");
    if has_key {
        body.push_str(
            "<form method=\"get\" action=\"/ui/verifiers\"><label>Open verifier \
             <input name=\"id\" required maxlength=\"63\" pattern=\"[a-z0-9][a-z0-9\\-]*\"></label> \
             <button type=\"submit\">Open</button></form>",
        );
    }
    body.push_str("</section><p><a href=\"/docs\">Management API documentation</a></p>");
    if has_key {
        body.push_str(
            "<form method=\"post\" action=\"/ui/logout\"><button type=\"submit\">Forget the key</button></form>",
        );
    } else {
        body.push_str(&key_form(None));
    }
    html_response(StatusCode::OK, "Start", &body)
}

#[derive(Deserialize)]
struct OpenVerifier {
    id: String,
}

/// `GET /ui/verifiers?id=…`: the "open verifier" form.
async fn open_verifier(Query(q): Query<OpenVerifier>) -> Response {
    if vdc_verifier::service::valid_slug(&q.id) {
        Redirect::to(&format!("/ui/verifiers/{}", q.id)).into_response()
    } else {
        error_page(StatusCode::NOT_FOUND, "There is no such verifier.")
    }
}

// ---------------------------------------------------------------------------------------
// Issuer page

/// A claim of a configuration the form can fill: its path in the claims object (for
/// `jwt_vc_json`, below `credentialSubject`), names only.
fn form_claims(format: &str, paths: &[Value]) -> Vec<Option<Vec<String>>> {
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

async fn definition(pages: &Pages, issuer: &str) -> Result<IssuerDefinition, Response> {
    let object = pages
        .issuer
        .get_issuer(issuer)
        .await
        .map_err(issuer_error)?;
    serde_json::from_value(object).map_err(|e| {
        service_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("issuer definition: {e}"),
        )
    })
}

/// `GET /ui/issuers/{issuer}`: one form per credential configuration.
async fn issuer_page(
    State(pages): State<Pages>,
    Path(issuer): Path<String>,
    headers: HeaderMap,
) -> Response {
    if !pages.may_use_issuer(&headers, &issuer, Scope::Read).await {
        return key_required();
    }
    match definition(&pages, &issuer).await {
        Ok(def) => html_response(
            StatusCode::OK,
            &format!("Issuer {issuer}"),
            &issuer_body(&def),
        ),
        Err(r) => r,
    }
}

fn display_name(display: &[Value], fallback: &str) -> String {
    display
        .iter()
        .find_map(|d| d["name"].as_str())
        .unwrap_or(fallback)
        .to_owned()
}

fn issuer_body(def: &IssuerDefinition) -> String {
    let mut body = format!(
        "<h1>{}</h1><p>Pick a credential, fill its claims and create an offer.</p>",
        esc(&display_name(&def.display, &def.id))
    );
    for (id, config) in &def.credential_configurations {
        let _ = write!(
            body,
            "<section class=\"configuration\"><h2>{} <small>{} · {}</small></h2>\
             <form method=\"post\" action=\"/ui/issuers/{}/offers\" data-configuration=\"{}\">\
             <input type=\"hidden\" name=\"configuration\" value=\"{}\">",
            esc(&display_name(&config.display, id)),
            esc(id),
            esc(&config.format),
            esc(&def.id),
            esc(id),
            esc(id),
        );
        let paths: Vec<Value> = config.claims.iter().map(|c| c.path.clone()).collect();
        for (i, (claim, names)) in config
            .claims
            .iter()
            .zip(form_claims(&config.format, &paths))
            .enumerate()
        {
            let Some(names) = names else { continue };
            let label = names.join(".");
            let _ = write!(
                body,
                "<label>{}{} <input name=\"c{i}\" data-claim=\"{}\" maxlength=\"{MAX_CLAIM_CHARS}\"{}></label>",
                esc(&label),
                if claim.mandatory { " *" } else { "" },
                esc(&label),
                if claim.mandatory { " required" } else { "" },
            );
        }
        body.push_str("<button type=\"submit\">Create offer</button></form></section>");
    }
    body
}

/// `POST /ui/issuers/{issuer}/offers`: creates the offer through the issuer service (the
/// management API's path) with a 6-digit tx_code, and shows QR, link, tx_code and status.
async fn create_offer(
    State(pages): State<Pages>,
    Path(issuer): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if cross_site(&headers) {
        return forbidden_cross_site();
    }
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
    let Some(form) = form(&body) else {
        return bad_form();
    };
    let request = match offer_request(&def, &form) {
        Ok(r) => r,
        Err(m) => return error_page(StatusCode::BAD_REQUEST, &m),
    };
    let offer = match pages.issuer.create_offer(&issuer, request, None).await {
        Ok(o) => o,
        Err(e) => return issuer_error(e),
    };
    let offer_id = offer["id"].as_str().unwrap_or_default();
    let qr = match pages.issuer.offer_qr_svg(&issuer, offer_id).await {
        Ok(svg) => inline_svg(&svg),
        Err(e) => return issuer_error(e),
    };
    html_response(
        StatusCode::OK,
        "Credential offer",
        &offer_body(&issuer, &offer, &qr),
    )
}

/// The management API's create-offer body from the form.
fn offer_request(def: &IssuerDefinition, form: &[(String, String)]) -> Result<CreateOffer, String> {
    let id = field(form, "configuration").ok_or("pick a credential configuration")?;
    let config = def
        .credential_configurations
        .get(id)
        .ok_or_else(|| format!("unknown credential configuration {id}"))?;
    let paths: Vec<Value> = config.claims.iter().map(|c| c.path.clone()).collect();
    let mut claims = Map::new();
    for (i, names) in form_claims(&config.format, &paths).into_iter().enumerate() {
        let Some(names) = names else { continue };
        let Some(value) = field(form, &format!("c{i}")).map(str::trim) else {
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

fn insert_path(object: &mut Map<String, Value>, names: &[String], value: &str) {
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

/// The SVG element of a rendered QR code (its XML declaration dropped for inline HTML).
/// The SVG comes from the `qrcode` crate, never from input.
fn inline_svg(svg: &str) -> String {
    svg.split_once("<svg")
        .map(|(_, rest)| format!("<svg{rest}"))
        .unwrap_or_default()
}

fn qr_svg(text: &str) -> Option<String> {
    let code = qrcode::QrCode::new(text.as_bytes()).ok()?;
    let svg = code
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(256, 256)
        .build();
    Some(inline_svg(&svg))
}

fn offer_body(issuer: &str, offer: &Value, qr: &str) -> String {
    let id = offer["id"].as_str().unwrap_or_default();
    let link = offer["offer_uri"].as_str().unwrap_or_default();
    let tx_code = offer["tx_code"].as_str().unwrap_or_default();
    format!(
        "<h1>Credential offer</h1>\
         <div class=\"qr\" id=\"qr\" role=\"img\" aria-label=\"QR code of the offer\">{qr}</div>\
         <p><label>Offer link <input id=\"offer-link\" readonly value=\"{link}\"></label> \
         <button type=\"button\" data-copy=\"offer-link\">Copy</button></p>\
         <p>Transaction code: <strong id=\"tx-code\">{tx}</strong></p>\
         <p class=\"hint\">With the command-line wallet: <code>vdc wallet accept '…' --tx-code {tx}</code></p>\
         <p>Status: <strong id=\"status\" data-poll=\"/ui/issuers/{issuer}/offers/{id}/status\">offered</strong></p>\
         <form id=\"revoke\" method=\"post\" action=\"/ui/issuers/{issuer}/offers/{id}/revoke\" hidden>\
         <button type=\"submit\">Revoke the issued credential</button></form>\
         <p><a href=\"/ui/issuers/{issuer}\">Another offer</a></p>",
        link = esc(link),
        tx = esc(tx_code),
        issuer = esc(issuer),
        id = esc(id),
    )
}

/// `GET /ui/issuers/{issuer}/offers/{id}/status`: what the page script shows.
async fn offer_status(
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

/// The page's view of the management API's offer status object.
fn offer_view(s: &Value) -> Value {
    let state = s["status"].as_str().unwrap_or("unknown");
    let label = match state {
        "offered" => "offered",
        "token_issued" => "token issued, waiting for the credential request",
        "credential_issued" => "credential issued",
        "expired" => "offer expired",
        "cancelled" => "offer cancelled",
        other => other,
    };
    json!({
        "state": state,
        "label": label,
        "final": matches!(state, "credential_issued" | "expired" | "cancelled"),
        "credentials": s["credentials"],
    })
}

/// `POST /ui/issuers/{issuer}/offers/{id}/revoke`: revokes every credential issued for the
/// offer through the status service (the management API's status change), recording who.
async fn revoke_offer(
    State(pages): State<Pages>,
    Path((issuer, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    if cross_site(&headers) {
        return forbidden_cross_site();
    }
    // Authenticated once: the key decides access and is the recorded actor.
    let caller = pages.caller(&headers).await;
    if !pages.allows_issuer(caller.as_ref(), &issuer, Scope::CredentialsStatus) {
        return key_required();
    }
    let offer = match pages.issuer.offer_status(&issuer, &id).await {
        Ok(o) => o,
        Err(e) => return issuer_error(e),
    };
    let changes: Vec<vdc_store::StatusChange> = offer["credentials"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|c| c["status"] != "revoked")
        .filter_map(|c| c["id"].as_str())
        .map(|c| vdc_store::StatusChange {
            credential_id: c.to_owned(),
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
        &format!(
            "<h1>Credential revoked</h1><p id=\"revoked\">{} credential(s) of this offer are now \
             revoked; verifiers checking the status list reject them.</p>\
             <p><a href=\"/ui\">Start page</a></p>",
            changes.len()
        ),
    )
}

// ---------------------------------------------------------------------------------------
// Verifier page

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
    verifier: &Value,
) -> Result<Vec<CredentialType>, Response> {
    let trusted: Vec<&str> = verifier["trusted_issuers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let list = pages.issuer.list_issuers().await.map_err(issuer_error)?;
    let mut types = Vec::new();
    for object in list["items"].as_array().into_iter().flatten() {
        let url = object["credential_issuer"].as_str().unwrap_or_default();
        if !trusted.contains(&url) {
            continue;
        }
        let Ok(def) = serde_json::from_value::<IssuerDefinition>(object.clone()) else {
            continue;
        };
        for (id, config) in &def.credential_configurations {
            let meta = match config.format.as_str() {
                FORMAT_SD_JWT_VC => json!({"vct_values": [config.vct]}),
                FORMAT_JWT_VC_JSON => {
                    json!({"type_values": [config.credential_definition.as_ref().map(|d| d["type"].clone()).unwrap_or(Value::Null)]})
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

/// `GET /ui/verifiers/{verifier}`: one form per trusted credential type, with the claims
/// to ask for.
async fn verifier_page(
    State(pages): State<Pages>,
    Path(verifier): Path<String>,
    headers: HeaderMap,
) -> Response {
    if !pages
        .may_use_verifier(&headers, &verifier, Scope::Read)
        .await
    {
        return key_required();
    }
    let object = match pages.verifier.get_verifier(&verifier).await {
        Ok(o) => o,
        Err(e) => return verifier_error(e),
    };
    let types = match credential_types(&pages, &object).await {
        Ok(t) => t,
        Err(r) => return r,
    };
    html_response(
        StatusCode::OK,
        &format!("Verifier {verifier}"),
        &verifier_body(&verifier, &object, &types),
    )
}

fn verifier_name(verifier: &str, object: &Value) -> String {
    object["display"]["name"]
        .as_str()
        .unwrap_or(verifier)
        .to_owned()
}

fn trust_anchor_block(object: &Value) -> String {
    match object["trust_anchor"].as_str() {
        Some(pem) => format!(
            "<details><summary>Trust anchor of this verifier</summary><p class=\"hint\">Wallets \
             check the signed request against it (<code>vdc wallet present --trust-anchor FILE</code>).</p>\
             <pre id=\"trust-anchor\">{}</pre></details>",
            esc(pem)
        ),
        None => String::new(),
    }
}

fn verifier_body(verifier: &str, object: &Value, types: &[CredentialType]) -> String {
    let mut body = format!(
        "<h1>{}</h1><p>Pick the credential and the claims to ask for, then create a \
         presentation request.</p>",
        esc(&verifier_name(verifier, object))
    );
    if types.is_empty() {
        body.push_str(
            "<p id=\"no-types\">This verifier trusts no issuer of this deployment, so there is \
             nothing to pick from here; create requests through the management API.</p>",
        );
    }
    for t in types {
        let _ = write!(
            body,
            "<section class=\"configuration\"><h2>{} <small>{} · issuer {}</small></h2>\
             <form method=\"post\" action=\"/ui/verifiers/{}/requests\" data-configuration=\"{}\">\
             <input type=\"hidden\" name=\"issuer\" value=\"{}\">\
             <input type=\"hidden\" name=\"configuration\" value=\"{}\"><fieldset><legend>Claims</legend>",
            esc(&t.name),
            esc(&t.format),
            esc(&t.issuer),
            esc(verifier),
            esc(&t.configuration),
            esc(&t.issuer),
            esc(&t.configuration),
        );
        for (i, path) in t.claims.iter().enumerate() {
            let label = path_label(path);
            let _ = write!(
                body,
                "<label><input type=\"checkbox\" name=\"claim\" value=\"{i}\" data-claim=\"{0}\" checked> {0}</label>",
                esc(&label)
            );
        }
        body.push_str(
            "</fieldset><button type=\"submit\">Create request</button></form></section>",
        );
    }
    body.push_str(&trust_anchor_block(object));
    body
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
async fn create_request(
    State(pages): State<Pages>,
    Path(verifier): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if cross_site(&headers) {
        return forbidden_cross_site();
    }
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
    let types = match credential_types(&pages, &object).await {
        Ok(t) => t,
        Err(r) => return r,
    };
    let Some(form) = form(&body) else {
        return bad_form();
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
    };
    match pages
        .verifier
        .create_request(&verifier, request, None)
        .await
    {
        Ok(created) => html_response(
            StatusCode::OK,
            "Presentation request",
            &request_body(&verifier, &object, &created),
        ),
        Err(e) => verifier_error(e),
    }
}

/// The DCQL query (OID4VP 1.0 §6) for one credential of the picked type with the picked
/// claims.
fn dcql_from_form(types: &[CredentialType], form: &[(String, String)]) -> Result<Value, String> {
    let issuer = field(form, "issuer").unwrap_or_default();
    let configuration = field(form, "configuration").unwrap_or_default();
    let t = types
        .iter()
        .find(|t| t.issuer == issuer && t.configuration == configuration)
        .ok_or("pick a credential type this verifier trusts")?;
    let mut claims = Vec::new();
    for (k, v) in form {
        if k != "claim" {
            continue;
        }
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

fn request_body(verifier: &str, object: &Value, created: &Value) -> String {
    let id = created["id"].as_str().unwrap_or_default();
    let link = created["authorization_request"]
        .as_str()
        .unwrap_or_default();
    let qr = qr_svg(link).unwrap_or_else(|| {
        "<p>The request is too long for a QR code; use the link.</p>".to_owned()
    });
    format!(
        "<h1>Presentation request</h1>\
         <div class=\"qr\" id=\"qr\" role=\"img\" aria-label=\"QR code of the request\">{qr}</div>\
         <p><label>Request link <input id=\"request-link\" readonly value=\"{link}\"></label> \
         <button type=\"button\" data-copy=\"request-link\">Copy</button></p>\
         <p>Status: <strong id=\"status\" data-poll=\"/ui/verifiers/{verifier}/requests/{id}/status\">pending</strong></p>\
         <section id=\"result\" hidden><h2>Disclosed claims</h2><div id=\"claims\"></div>\
         <h2>Checks</h2><ul id=\"checks\"></ul><p class=\"error\" id=\"reason\"></p></section>\
         {anchor}<p><a href=\"/ui/verifiers/{verifier}\">Another request</a></p>",
        link = esc(link),
        verifier = esc(verifier),
        id = esc(id),
        anchor = trust_anchor_block(object),
    )
}

/// `GET /ui/verifiers/{verifier}/requests/{id}/status`.
async fn request_status(
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

/// The checks a presentation passes (names as `RejectReason::as_str`), in the order the
/// verifier runs them, with what the page calls them.
const CHECKS: [(&str, &str); 8] = [
    ("signature", "issuer signature and disclosures"),
    ("untrusted_issuer", "issuer trusted by this verifier"),
    ("expired", "credential within its validity period"),
    ("key_binding", "holder key binding"),
    ("nonce", "nonce of this request"),
    ("audience", "audience is this verifier"),
    ("dcql_unsatisfied", "requested claims disclosed"),
    (
        "status",
        "credential status valid (not revoked or suspended)",
    ),
];

/// The page's view of the contract's result object: status label, disclosed claims, and
/// the per-check list (all passed when verified; when rejected, the failing check is the
/// reason in `error_description`).
fn request_view(r: &Value) -> Value {
    let state = r["status"].as_str().unwrap_or("unknown");
    let label = match state {
        "pending" => "waiting for the wallet",
        "verified" => "verified",
        "rejected" => "rejected",
        "expired" => "request expired",
        other => other,
    };
    let description = r["error"]["error_description"].as_str().unwrap_or_default();
    let failed = description.split_once(':').map(|(reason, _)| reason);
    let checks: Vec<Value> = match state {
        "verified" => CHECKS
            .iter()
            .map(|(name, label)| json!({"check": name, "label": label, "outcome": "passed"}))
            .collect(),
        "rejected" => CHECKS
            .iter()
            .filter(|(name, _)| Some(*name) == failed)
            .map(|(name, label)| json!({"check": name, "label": label, "outcome": "failed"}))
            .collect(),
        _ => Vec::new(),
    };
    json!({
        "state": state,
        "label": label,
        "final": state != "pending",
        "presentation": r["presentation"],
        "error": r["error"],
        "checks": checks,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn rejected_result_names_the_failed_check() {
        let v = request_view(&json!({"status": "rejected", "presentation": null,
            "error": {"error": "invalid_request", "error_description": "status: the credential is revoked"}}));
        assert_eq!(v["checks"][0]["check"], "status");
        assert_eq!(v["checks"][0]["outcome"], "failed");
        assert_eq!(v["final"], true);
        let v = request_view(&json!({"status": "verified", "presentation": {}, "error": null}));
        assert_eq!(v["checks"].as_array().map(Vec::len), Some(CHECKS.len()));
    }

    #[test]
    fn cross_site_posts_are_detected() {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_static("127.0.0.1:8080"));
        assert!(!cross_site(&h));
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://127.0.0.1:8080"),
        );
        assert!(!cross_site(&h));
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("https://evil.example"),
        );
        assert!(cross_site(&h));
    }

    #[test]
    fn cookie_key_round_trips() {
        let mut h = HeaderMap::new();
        let v = format!(
            "a=b; {KEY_COOKIE}={}",
            vdc_core::base64url::encode("my key; with=odd chars")
        );
        h.insert(header::COOKIE, HeaderValue::from_str(&v).unwrap());
        assert_eq!(cookie_key(&h).as_deref(), Some("my key; with=odd chars"));
    }
}
