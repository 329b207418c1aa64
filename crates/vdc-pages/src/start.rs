//! The start page (`/`, `/ui`), the key form's login and logout, and "open verifier".

use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use serde::Deserialize;
use vdc_access::Caller;

use crate::layout::{error_page, html_response, issuer_error, key_form, key_page, service_error};
use crate::post::PagePost;
use crate::tenants::new_tenant_sections;
use crate::{KEY_COOKIE, Pages, UI};

/// Largest API key accepted by the key form.
const MAX_KEY_CHARS: usize = 512;

/// How many issuers and verifiers the start page lists: the first page of the API's
/// listing, so a deployment with thousands of tenants renders (and caches) only these.
const START_PAGE_TENANTS: u32 = 100;

/// The tenants a caller lists: `None` for the admin key, else the key's own (none without
/// `read`).
fn scoped(c: &Caller, own: impl Fn(&vdc_access::KeyCaller) -> &Vec<String>) -> Option<Vec<String>> {
    match c {
        Caller::Admin => None,
        Caller::Key(k) if c.has_scope(vdc_access::Scope::Read) => Some(own(k).clone()),
        Caller::Key(_) => Some(Vec::new()),
    }
}

/// `GET /`: the cookie (Path=/ui) never reaches it, so it shows the demo links (in demo
/// mode) and the key form.
pub(crate) async fn start_root(State(pages): State<Pages>) -> Response {
    render_start(&pages, None).await
}

/// `GET /ui`.
pub(crate) async fn start(State(pages): State<Pages>, headers: HeaderMap) -> Response {
    let caller = pages.caller(&headers).await;
    render_start(&pages, caller.as_ref()).await
}

async fn render_start(pages: &Pages, caller: Option<&Caller>) -> Response {
    let has_key = caller.is_some();
    let admin = caller.is_some_and(Caller::is_admin);
    let mut more = false;
    // (id, credential issuer identifier): the trusted issuers the "New verifier" form offers.
    let mut local: Vec<(String, String)> = Vec::new();
    let issuers: Vec<String> = match caller {
        // A scoped key sees only the issuers it may read.
        Some(c) => match pages
            .issuer
            .list_issuers_page(
                scoped(c, |k| &k.issuers).as_deref(),
                None,
                START_PAGE_TENANTS,
            )
            .await
        {
            Ok(list) => {
                more |= list.next.is_some();
                local = list
                    .items
                    .into_iter()
                    .map(|i| (i.id, i.credential_issuer))
                    .collect();
                local.iter().map(|(id, _)| id.clone()).collect()
            }
            Err(e) => return issuer_error(e),
        },
        None => pages.demo.iter().map(|d| d.issuer.clone()).collect(),
    };
    let verifiers: Vec<String> = match caller {
        // A scoped key sees only the verifiers it may read.
        Some(c) => match pages
            .verifier
            .list_verifiers_page(
                scoped(c, |k| &k.verifiers).as_deref(),
                None,
                START_PAGE_TENANTS,
            )
            .await
        {
            Ok(list) => {
                more |= list.next.is_some();
                list.items.into_iter().map(|v| v.id).collect()
            }
            Err(e) => {
                let description = e.to_string();
                return service_error(e.into_response().status(), description);
            }
        },
        None => pages.demo.iter().map(|d| d.verifier.clone()).collect(),
    };
    let body = html! {
        h1 { "vdc" }
        p {
            "Issue verifiable credentials over OpenID4VCI and verify them over OpenID4VP. \
             Scan the QR codes with a wallet, or use "
            code { "vdc wallet" } "."
        }
        section {
            h2 { "Issuers" }
            ul #issuers {
                @for id in &issuers {
                    li { a href={ "/ui/issuers/" (id) } { "Issuer " (id) } }
                }
            }
        }
        section {
            h2 { "Verifiers" }
            ul #verifiers {
                @for id in &verifiers {
                    li { a href={ "/ui/verifiers/" (id) } { "Verifier " (id) } }
                }
            }
            @if has_key {
                form method="get" action="/ui/verifiers" {
                    label {
                        "Open verifier "
                        input name="id" required maxlength="63" pattern="[a-z0-9][a-z0-9\\-]*";
                    }
                    " "
                    button type="submit" { "Open" }
                }
            }
        }
        @if admin {
            (new_tenant_sections(&local))
        }
        @if more {
            p #more-tenants {
                "The first " (START_PAGE_TENANTS) " of each are listed; page through "
                code { "GET /api/v1/issuers" } " and " code { "GET /api/v1/verifiers" }
                " for the rest."
            }
        }
        p { a href="/docs" { "Management API documentation" } }
        @if has_key {
            form method="post" action="/ui/logout" {
                button type="submit" { "Forget the key" }
            }
        } @else {
            (key_form(None))
        }
    };
    html_response(StatusCode::OK, "Start", body)
}

/// `POST /ui/login`: checks the key like a bearer key and keeps it in the pages cookie.
pub(crate) async fn login(State(pages): State<Pages>, post: PagePost) -> Response {
    let form = match post.form() {
        Ok(f) => f,
        Err(bad) => return bad.into_response(),
    };
    let key = form.field("key").unwrap_or_default().trim();
    if key.is_empty()
        || key.chars().count() > MAX_KEY_CHARS
        || pages.auth.authenticate(key).await.is_err()
    {
        return key_page(StatusCode::UNAUTHORIZED, "That key is not valid.");
    }
    let cookie = format!(
        "{KEY_COOKIE}={}; HttpOnly; SameSite=Strict; Path=/ui{}",
        vdc_core::base64url::encode(key.as_bytes()),
        if pages.secure_cookie { "; Secure" } else { "" }
    );
    set_cookie(Redirect::to(UI).into_response(), &cookie)
}

/// `POST /ui/logout`: forgets the key.
pub(crate) async fn logout(_: PagePost) -> Response {
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

#[derive(Deserialize)]
pub(crate) struct OpenVerifier {
    id: String,
}

/// `GET /ui/verifiers?id=…`: the "open verifier" form.
pub(crate) async fn open_verifier(Query(q): Query<OpenVerifier>) -> Response {
    if vdc_verifier::tenant::valid_slug(&q.id) {
        Redirect::to(&format!("/ui/verifiers/{}", q.id)).into_response()
    } else {
        error_page(StatusCode::NOT_FOUND, "There is no such verifier.")
    }
}
