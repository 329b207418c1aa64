//! vdc-pages: the server-rendered pages — a start page, an issuer page (offer → QR + link +
//! tx_code + live status) and a verifier page (presentation request → QR + link + live
//! result).
//!
//! The pages are their own crate because they are the one place that uses the issuer and
//! the verifier together (the verifier page lists the credential types of this deployment's
//! issuers); the protocol crates never depend on each other.
//!
//! Layout (a module per page):
//! - [`routes`] and [`Pages`] (here): who may see what, and the security headers.
//! - `start`: `/`, `/ui`, the key form (`/ui/login`, `/ui/logout`), "open verifier".
//! - `issuer`: `/ui/issuers/{issuer}`: offers, their live status, revocation. Creating an
//!   offer answers 303 to its page `/ui/issuers/{issuer}/offers/{id}` (post/redirect/get),
//!   which shows the tx_code only from a sealed cookie set for that page.
//! - `verifier`: `/ui/verifiers/{verifier}`: presentation requests and their results; a new
//!   request answers 303 to `/ui/verifiers/{verifier}/requests/{id}`.
//! - `layout`: the page frame, error pages and the key form (maud templates: every spliced
//!   value is escaped unless marked `PreEscaped`, which only the QR SVG is).
//! - `post`: [`post::PagePost`], the extractor every form post goes through (the cross-site
//!   check first, then the UTF-8 form), and the key cookie.
//! - `qr`: QR codes as inline SVG.
//! - `tenants`: "New issuer" / "New verifier" on the start page and "Manage" (edit,
//!   disable, enable) on the tenant pages, admin key only, through the services' create and
//!   update calls (the management API's `POST` and `PATCH`).
//!
//! Every page goes through the same service methods as the management API
//! (`Issuer::create_offer`, `Verifier::create_request`, `StatusService::change`, their
//! status reads). The one script (`pages.js`) is served from here and the CSP forbids
//! inline scripts.
//!
//! Access:
//! - With a key: the `vdc_ui_key` cookie (HttpOnly, SameSite=Strict, Path=/ui, Secure when
//!   the public URL is https) holds the API key, checked on every request like a bearer key.
//!   The admin key or a scoped API key; a scoped key reaches only its tenants' pages and
//!   only for its scopes (`read` to view, `offers:write`, `credentials:status`,
//!   `presentations:write` to act), as in the management API.
//! - Demo mode opens, without a key, exactly the pages of the demo issuer and the demo
//!   verifier ([`Demo`]). Other tenants' pages still need the key.
//! - Creating and changing tenants (`tenants`) needs the admin key, as the API's tenant
//!   `POST` and `PATCH`: the forms show only to it and a scoped key's post is a 403 page.
//! - POSTs whose `Origin` does not match the `Host` are refused (403), on top of SameSite.

mod issuer;
mod layout;
pub mod post;
mod qr;
mod start;
mod tenants;
mod verifier;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use vdc_access::{Authenticator, Caller, Scope};
use vdc_issuer::Issuer;
use vdc_status::StatusService;
use vdc_store::events::EventTenant;
use vdc_verifier::Verifier;

/// The start page under `/ui` (sees the key cookie; `/` does not).
pub const UI: &str = "/ui";
/// The cookie holding the pages' API key.
pub const KEY_COOKIE: &str = "vdc_ui_key";
/// The cookie holding an offer's sealed tx_code for its page (`Path` = that offer's page).
pub const TX_CODE_COOKIE: &str = "vdc_tx_code";
/// The Content-Security-Policy of every page: no inline script or style, nothing from
/// elsewhere.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";
/// Largest form body.
const MAX_FORM_BYTES: usize = 64 * 1024;

const PAGES_JS: &str = include_str!("pages.js");
const PAGES_CSS: &str = include_str!("pages.css");

/// The demo tenants, whose pages open without a key (`vdc serve --demo`).
#[derive(Debug, Clone)]
pub struct Demo {
    /// The demo issuer's id.
    pub issuer: String,
    /// The demo verifier's id.
    pub verifier: String,
}

/// What the pages need.
#[derive(Clone)]
pub struct Pages {
    issuer: Issuer,
    status: StatusService,
    verifier: Verifier,
    auth: Authenticator,
    demo: Option<Demo>,
    secure_cookie: bool,
    /// Whether the public URL is plain http (the CLI hints then need `--insecure-http`).
    insecure_http: bool,
    /// Whether the public URL's host is loopback: a phone cannot reach the QR codes.
    loopback: bool,
}

impl Pages {
    /// The pages over these services; `demo` opens the demo tenants' pages without a key.
    pub fn new(
        issuer: Issuer,
        status: StatusService,
        verifier: Verifier,
        auth: Authenticator,
        demo: Option<Demo>,
        public_url: &str,
    ) -> Self {
        Self {
            issuer,
            status,
            verifier,
            auth,
            demo,
            secure_cookie: public_url.starts_with("https://"),
            insecure_http: public_url.starts_with("http://"),
            loopback: is_loopback_url(public_url),
        }
    }

    /// The caller whose key the pages cookie holds (the admin key or an unrevoked scoped
    /// key, as for the management API), if any.
    async fn caller(&self, headers: &HeaderMap) -> Option<Caller> {
        let key = post::cookie_key(headers)?;
        self.auth.authenticate(&key).await.ok()
    }

    fn is_demo_issuer(&self, slug: &str) -> bool {
        self.demo.as_ref().is_some_and(|d| d.issuer == slug)
    }

    fn is_demo_verifier(&self, slug: &str) -> bool {
        self.demo.as_ref().is_some_and(|d| d.verifier == slug)
    }

    /// Whether the request may use the pages of issuer `slug` for `scope`: the demo issuer in
    /// demo mode, else a key that may act on it with that scope (contract "API keys and
    /// tenants").
    async fn may_use_issuer(&self, headers: &HeaderMap, slug: &str, scope: Scope) -> bool {
        // The demo tenant needs no key, so no lookup either.
        self.is_demo_issuer(slug)
            || self.allows_issuer(self.caller(headers).await.as_ref(), slug, scope)
    }

    /// [`Self::may_use_issuer`] for a caller already authenticated.
    fn allows_issuer(&self, caller: Option<&Caller>, slug: &str, scope: Scope) -> bool {
        self.is_demo_issuer(slug)
            || caller.is_some_and(|c| {
                c.require(&EventTenant::Issuer(slug.to_owned()), scope)
                    .is_ok()
            })
    }

    /// Whether the request may use the pages of verifier `slug` for `scope`.
    async fn may_use_verifier(&self, headers: &HeaderMap, slug: &str, scope: Scope) -> bool {
        self.is_demo_verifier(slug)
            || self.allows_verifier(self.caller(headers).await.as_ref(), slug, scope)
    }

    /// [`Self::may_use_verifier`] for a caller already authenticated.
    fn allows_verifier(&self, caller: Option<&Caller>, slug: &str, scope: Scope) -> bool {
        self.is_demo_verifier(slug)
            || caller.is_some_and(|c| {
                c.require(&EventTenant::Verifier(slug.to_owned()), scope)
                    .is_ok()
            })
    }
}

/// The pages' routes: `/`, `/ui`, `/ui/...`.
pub fn routes(pages: Pages) -> Router {
    Router::new()
        .route("/", get(start::start_root))
        .route(UI, get(start::start))
        .route("/ui/login", post(start::login))
        .route("/ui/logout", post(start::logout))
        .route("/ui/assets/pages.js", get(script))
        .route("/ui/assets/pages.css", get(style))
        .route("/ui/issuers", post(tenants::create_issuer))
        .route("/ui/issuers/{issuer}", get(issuer::issuer_page))
        .route("/ui/issuers/{issuer}/edit", post(tenants::edit_issuer))
        .route(
            "/ui/issuers/{issuer}/disabled",
            post(tenants::toggle_issuer),
        )
        .route("/ui/issuers/{issuer}/offers", post(issuer::create_offer))
        .route("/ui/issuers/{issuer}/offers/{id}", get(issuer::offer_page))
        .route(
            "/ui/issuers/{issuer}/offers/{id}/status",
            get(issuer::offer_status),
        )
        .route(
            "/ui/issuers/{issuer}/offers/{id}/revoke",
            post(issuer::revoke_offer),
        )
        .route(
            "/ui/verifiers",
            get(start::open_verifier).post(tenants::create_verifier),
        )
        .route("/ui/verifiers/{verifier}", get(verifier::verifier_page))
        .route(
            "/ui/verifiers/{verifier}/edit",
            post(tenants::edit_verifier),
        )
        .route(
            "/ui/verifiers/{verifier}/disabled",
            post(tenants::toggle_verifier),
        )
        .route(
            "/ui/verifiers/{verifier}/requests",
            post(verifier::create_request),
        )
        .route(
            "/ui/verifiers/{verifier}/dc-api/requests",
            post(verifier::create_dc_api_request),
        )
        .route(
            "/ui/verifiers/{verifier}/requests/{id}",
            get(verifier::request_page),
        )
        // The DigitalCredential's data, percent-encoded in a form field: up to three bytes
        // per byte of the verifier's bound.
        .route(
            "/ui/verifiers/{verifier}/requests/{id}/dc-api-response",
            post(verifier::dc_api_response)
                .layer(DefaultBodyLimit::max(3 * verifier::MAX_DC_API_DATA)),
        )
        .route(
            "/ui/verifiers/{verifier}/requests/{id}/status",
            get(verifier::request_status),
        )
        // An HTML 404 under /ui only; other unknown paths keep the server's answer.
        .route(
            "/ui/{*rest}",
            get(layout::not_found).post(layout::not_found),
        )
        .layer(DefaultBodyLimit::max(MAX_FORM_BYTES))
        .layer(axum::middleware::map_response(security_headers))
        .with_state(pages)
}

/// Whether `url`'s host is loopback (`localhost`, 127.0.0.0/8, `::1`): a wallet on a phone
/// cannot reach it.
pub fn is_loopback_url(url: &str) -> bool {
    match url::Url::parse(url).ok().as_ref().and_then(url::Url::host) {
        Some(url::Host::Domain(d)) => {
            d.eq_ignore_ascii_case("localhost") || d.to_ascii_lowercase().ends_with(".localhost")
        }
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
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
