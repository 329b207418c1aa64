//! The page frame, error pages and the key form. Templates are maud: every spliced value is
//! escaped unless it is wrapped in `PreEscaped` (only the QR code's SVG, made by the
//! `qrcode` crate from nothing the user typed).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::{DOCTYPE, Markup, html};

/// A whole page around `body`.
pub(crate) fn page(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · vdc" }
                link rel="icon" href="data:,";
                link rel="stylesheet" href="/ui/assets/pages.css";
                script src="/ui/assets/pages.js" defer {}
            }
            body {
                header { a href="/ui" { "vdc" } " " nav { a href="/docs" { "API docs" } } }
                main { (body) }
            }
        }
    }
}

/// The API key form (sets the pages cookie through `POST /ui/login`).
pub(crate) fn key_form(message: Option<&str>) -> Markup {
    html! {
        section.key {
            h2 { "API key" }
            @if let Some(m) = message {
                p.error #key-error { (m) }
            }
            form method="post" action="/ui/login" {
                label {
                    "Admin API key "
                    input type="password" name="key" #key autocomplete="off" required maxlength="512";
                }
                " "
                button type="submit" { "Use this key" }
            }
            p.hint { "The key is kept in an HttpOnly cookie for the pages under /ui only." }
        }
    }
}

/// A visible warning when the QR codes point at a loopback address, which a phone cannot
/// reach (nothing otherwise).
pub(crate) fn loopback_warning(pages: &crate::Pages) -> Markup {
    html! {
        @if pages.loopback {
            p.warning #loopback-warning role="alert" {
                "This QR code points at a loopback address (localhost / 127.0.0.1): a wallet \
                 on a phone cannot reach it. Serve vdc over HTTPS with a DNS name (a tunnel or \
                 a reverse proxy) and set VDC_PUBLIC_URL to it: see “Phone wallets” in \
                 docs/DEPLOYMENT.md. The command-line wallet on this machine works as is."
            }
        }
    }
}

/// An HTML answer.
pub(crate) fn html_response(status: StatusCode, title: &str, body: Markup) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        page(title, body).into_string(),
    )
        .into_response()
}

/// An error as a page: its status' reason as the heading, `message` below.
pub(crate) fn error_page(status: StatusCode, message: &str) -> Response {
    let title = status.canonical_reason().unwrap_or("Error");
    html_response(
        status,
        title,
        html! {
            h1 { (title) }
            p.error #error { (message) }
            p { a href="/ui" { "Start page" } }
        },
    )
}

/// 401 with the key form (outside demo mode, or a non-demo tenant in demo mode).
pub(crate) fn key_required() -> Response {
    let mut r = key_page(StatusCode::UNAUTHORIZED, "These pages need an API key.");
    r.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Cookie realm=\"vdc pages\""),
    );
    r
}

/// The key form page with `message`.
pub(crate) fn key_page(status: StatusCode, message: &str) -> Response {
    html_response(
        status,
        "API key required",
        html! { h1 { "API key required" } (key_form(Some(message))) },
    )
}

/// A service error as a page: 4xx with its description, 5xx with nothing specific (logged).
pub(crate) fn service_error(status: StatusCode, description: String) -> Response {
    if status.is_server_error() {
        tracing::error!(error = %description, "pages: service error");
        error_page(status, "Something went wrong on the server.")
    } else {
        error_page(status, &description)
    }
}

pub(crate) fn issuer_error(e: vdc_issuer::IssuerError) -> Response {
    let description = e.to_string();
    service_error(e.into_response().status(), description)
}

pub(crate) fn verifier_error(e: vdc_verifier::VerifierError) -> Response {
    let description = e.to_string();
    service_error(e.into_response().status(), description)
}

/// The JSON 401 of the status routes the page script polls.
pub(crate) fn json_key_required() -> Response {
    vdc_http::ErrorResponse::client(
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        "a valid API key is required",
    )
    .into_response()
}

pub(crate) async fn not_found() -> Response {
    error_page(StatusCode::NOT_FOUND, "There is no such page.")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spliced_text_is_escaped_in_text_and_attributes() {
        let p = page(
            "<b>",
            html! { p title=("\"><x") { ("<script>alert('x')</script>&") } },
        )
        .into_string();
        assert!(p.contains("<title>&lt;b&gt; · vdc</title>"), "{p}");
        assert!(p.contains("title=\"&quot;&gt;&lt;x\""), "{p}");
        assert!(
            p.contains("&lt;script&gt;alert('x')&lt;/script&gt;&amp;"),
            "{p}"
        );
        assert!(p.contains("<script src=\"/ui/assets/pages.js\" defer></script>"));
    }
}
