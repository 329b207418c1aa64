//! The management API's OpenAPI 3.1 document (`GET /api/v1/openapi.json`) and the vendored
//! Swagger UI that renders it (`GET /docs`).
//!
//! The document is assembled from the parts the issuer, verifier and status crates derive
//! from their management handlers (`management_openapi`, built by the same `OpenApiRouter`
//! that registers the routes), plus what belongs to the whole API: info, the bearer
//! security scheme and the tags. Both routes need no API key: they are documentation and
//! reveal nothing a deployment keeps secret.
//!
//! Swagger UI comes from `assets/swagger-ui/` (see its README for the version and how to
//! refresh it), embedded in the binary: nothing is fetched at build or run time.

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::tag::TagBuilder;
use utoipa::openapi::{
    ComponentsBuilder, InfoBuilder, LicenseBuilder, OpenApi, OpenApiBuilder, SecurityRequirement,
};
use vdc_http::openapi as tags;

use crate::config::Role;

/// Where the OpenAPI document is served.
pub const OPENAPI_PATH: &str = "/api/v1/openapi.json";
/// Where the interactive docs are served.
pub const DOCS_PATH: &str = "/docs";
/// The vendored `swagger-ui-dist` version; the asset URLs carry it, so they can be cached
/// for a year and still change on an upgrade.
pub const SWAGGER_UI_VERSION: &str = "5.35.0";

/// The page's policy: scripts and styles only from this origin (the init script is a file,
/// not inline), data: images (Swagger UI's icons), fetches only to this origin (the
/// document; "Try it out" calls the API here), no framing.
pub const DOCS_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
                            img-src 'self' data:; connect-src 'self'; font-src 'self'; \
                            base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const INDEX_HTML: &[u8] = include_bytes!("../assets/swagger-ui/index.html");
const INIT_JS: &[u8] = include_bytes!("../assets/swagger-ui/docs-init.js");
const BUNDLE_JS: &[u8] = include_bytes!("../assets/swagger-ui/swagger-ui-bundle.js");
const CSS: &[u8] = include_bytes!("../assets/swagger-ui/swagger-ui.css");
const LICENSE: &[u8] = include_bytes!("../assets/swagger-ui/LICENSE");
const NOTICE: &[u8] = include_bytes!("../assets/swagger-ui/NOTICE");
const BUNDLE_LICENSES: &[u8] =
    include_bytes!("../assets/swagger-ui/swagger-ui-bundle.js.LICENSE.txt");

/// Versioned assets never change under their URL.
const CACHE_IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// The page, the init script and the document change with the deployment: revalidate.
const CACHE_REVALIDATE: &str = "no-cache";

/// The management API's OpenAPI document for the parts `role` serves.
pub fn openapi(role: Role) -> OpenApi {
    let mut doc = OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("vdc management API")
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some(
                    "The REST API an enterprise back end calls to drive vdc: issuers, \
                     credential offers, credential status, verifiers and presentation \
                     requests. Every operation needs `Authorization: Bearer <api key>`. \
                     Errors are `{\"error\", \"error_description\"}` with a 4xx status for \
                     bad input. The protocol endpoints (OpenID4VCI, OpenID4VP, status lists) \
                     follow their specifications and are discovered from metadata; they are \
                     not described here.",
                ))
                .license(Some(
                    LicenseBuilder::new()
                        .name("Apache-2.0")
                        .identifier(Some("Apache-2.0"))
                        .build(),
                )),
        )
        .build();
    let issuer = matches!(role, Role::All | Role::Issuer);
    let verifier = matches!(role, Role::All | Role::Verifier);
    let status = matches!(role, Role::All | Role::Status | Role::Issuer);
    let mut tag_list = Vec::new();
    if issuer {
        doc.merge(vdc_issuer::http::management_openapi());
        tag_list.push((
            tags::TAG_ISSUERS,
            "Issuer tenants and their credential configurations.",
        ));
        tag_list.push((tags::TAG_OFFERS, "Credential offers (OpenID4VCI 1.0 §4.1)."));
    }
    if issuer || status {
        tag_list.push((
            tags::TAG_CREDENTIALS,
            "Issued credentials and their status (IETF Token Status List).",
        ));
    }
    if status {
        doc.merge(vdc_status::http::management_openapi());
    }
    if verifier {
        doc.merge(vdc_verifier::http::management_openapi());
        tag_list.push((
            tags::TAG_VERIFIERS,
            "Verifier tenants (OpenID4VP 1.0 client identifiers).",
        ));
        tag_list.push((
            tags::TAG_PRESENTATIONS,
            "Presentation requests and their results.",
        ));
    }
    // API keys and the audit log are served by every server.
    doc.merge(vdc_access::openapi());
    tag_list.push((tags::TAG_API_KEYS, "Scoped API keys (admin only)."));
    tag_list.push((tags::TAG_AUDIT, "The audit log."));
    doc.merge(vdc_webhooks::openapi());
    tag_list.push((
        tags::TAG_WEBHOOKS,
        "Signed event callbacks (Standard Webhooks), admin only.",
    ));
    doc.tags = Some(
        tag_list
            .into_iter()
            .map(|(name, description)| {
                TagBuilder::new()
                    .name(name)
                    .description(Some(description))
                    .build()
            })
            .collect(),
    );
    // Contract: "Auth: `Authorization: Bearer <admin api key>`" for every operation.
    let components = doc
        .components
        .take()
        .unwrap_or_else(|| ComponentsBuilder::new().build());
    let mut components = components;
    components.add_security_scheme(
        tags::SECURITY_SCHEME,
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .description(Some(
                    "The admin API key (`VDC_ADMIN_KEY`) or a scoped API key.",
                ))
                .build(),
        ),
    );
    doc.components = Some(components);
    doc.security = Some(vec![SecurityRequirement::new(
        tags::SECURITY_SCHEME,
        Vec::<String>::new(),
    )]);
    doc
}

/// The document as served and committed: pretty JSON, keys in a stable order, one final
/// newline.
pub fn openapi_json(role: Role) -> String {
    // Serializing a tree of maps and strings cannot fail; keep the error visible anyway.
    let mut s = serde_json::to_string_pretty(&openapi(role))
        .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    s.push('\n');
    s
}

/// `GET /api/v1/openapi.json`, `GET /docs` and the vendored assets (no API key).
pub fn routes(role: Role) -> Router {
    let json = Bytes::from(openapi_json(role));
    let base = format!("{DOCS_PATH}/swagger-ui-{SWAGGER_UI_VERSION}");
    Router::new()
        .route(
            OPENAPI_PATH,
            asset(json, "application/json", CACHE_REVALIDATE),
        )
        .route(
            DOCS_PATH,
            asset(
                Bytes::from_static(INDEX_HTML),
                "text/html; charset=utf-8",
                CACHE_REVALIDATE,
            ),
        )
        .route(
            &format!("{DOCS_PATH}/docs-init.js"),
            asset(
                Bytes::from_static(INIT_JS),
                "text/javascript; charset=utf-8",
                CACHE_REVALIDATE,
            ),
        )
        .route(
            &format!("{base}/swagger-ui-bundle.js"),
            asset(
                Bytes::from_static(BUNDLE_JS),
                "text/javascript; charset=utf-8",
                CACHE_IMMUTABLE,
            ),
        )
        .route(
            &format!("{base}/swagger-ui.css"),
            asset(
                Bytes::from_static(CSS),
                "text/css; charset=utf-8",
                CACHE_IMMUTABLE,
            ),
        )
        .route(
            &format!("{base}/LICENSE"),
            asset(
                Bytes::from_static(LICENSE),
                "text/plain; charset=utf-8",
                CACHE_IMMUTABLE,
            ),
        )
        .route(
            &format!("{base}/NOTICE"),
            asset(
                Bytes::from_static(NOTICE),
                "text/plain; charset=utf-8",
                CACHE_IMMUTABLE,
            ),
        )
        .route(
            &format!("{base}/swagger-ui-bundle.js.LICENSE.txt"),
            asset(
                Bytes::from_static(BUNDLE_LICENSES),
                "text/plain; charset=utf-8",
                CACHE_IMMUTABLE,
            ),
        )
}

fn asset(body: Bytes, content_type: &'static str, cache: &'static str) -> MethodRouter {
    get(move || {
        let body = body.clone();
        async move { respond(body, content_type, cache) }
    })
}

fn respond(body: Bytes, content_type: &'static str, cache: &'static str) -> Response {
    let mut r = body.into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(DOCS_CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_loads_the_vendored_version_and_no_inline_script() {
        let html = std::str::from_utf8(INDEX_HTML).unwrap();
        let base = format!("{DOCS_PATH}/swagger-ui-{SWAGGER_UI_VERSION}/");
        assert!(html.contains(&format!("{base}swagger-ui-bundle.js\"")));
        assert!(html.contains(&format!("{base}swagger-ui.css\"")));
        assert!(html.contains("/docs/docs-init.js\""));
        // Every <script> has a src (CSP `script-src 'self'` forbids inline ones).
        assert_eq!(
            html.matches("<script").count(),
            html.matches("<script src=").count()
        );
        assert!(!html.contains("<style"));
        let init = std::str::from_utf8(INIT_JS).unwrap();
        assert!(init.contains(&format!("url: \"{OPENAPI_PATH}\"")));
    }

    #[test]
    fn roles_document_only_what_they_serve() {
        let paths = |role| {
            openapi(role)
                .paths
                .paths
                .keys()
                .cloned()
                .collect::<Vec<_>>()
        };
        // API keys and the audit log are served by every role.
        let shared = |p: &String| {
            p.starts_with("/api/v1/api-keys")
                || p.starts_with("/api/v1/webhooks")
                || p == "/api/v1/audit"
        };
        let verifier = paths(Role::Verifier);
        assert!(
            verifier
                .iter()
                .all(|p| p.starts_with("/api/v1/verifiers") || shared(p))
        );
        assert!(verifier.iter().any(|p| p.starts_with("/api/v1/verifiers")));
        let status = paths(Role::Status);
        assert!(status.iter().any(|p| p.ends_with("/status")));
        assert!(
            status.iter().all(|p| p.ends_with("/status") || shared(p)),
            "{status:?}"
        );
        let all = paths(Role::All);
        assert!(all.len() > verifier.len() + status.len());
    }
}
