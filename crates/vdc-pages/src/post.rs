//! Form posts and the key cookie: [`PagePost`] is the extractor every state-changing page
//! route takes, so no handler can forget the cross-site check or accept a malformed form.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::KEY_COOKIE;
use crate::layout::error_page;

/// A form post from this site. Extracting it refuses (403) a post whose `Origin` names
/// another host than the one addressed (SameSite=Strict already keeps the cookie away, but
/// demo pages need no cookie); the body is parsed by [`PagePost::form`], after the
/// handler's access check, so an unauthorised post learns nothing about its body.
pub struct PagePost(Bytes);

impl<S: Send + Sync> FromRequest<S> for PagePost {
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if cross_site(req.headers()) {
            return Err(error_page(
                StatusCode::FORBIDDEN,
                "Cross-site form submissions are refused.",
            ));
        }
        let body = Bytes::from_request(req, state)
            .await
            .map_err(IntoResponse::into_response)?;
        Ok(Self(body))
    }
}

impl PagePost {
    /// The `application/x-www-form-urlencoded` fields. Percent-decoded bytes that are not
    /// UTF-8 are refused (400), not repaired (G8): the parser replaces them with U+FFFD,
    /// which a browser never sends for typed text.
    pub fn form(&self) -> Result<Form, BadForm> {
        let pairs: Vec<(String, String)> = url::form_urlencoded::parse(&self.0)
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        if pairs
            .iter()
            .any(|(k, v)| k.contains('\u{FFFD}') || v.contains('\u{FFFD}'))
        {
            return Err(BadForm);
        }
        Ok(Form(pairs))
    }
}

/// A form that is not UTF-8 text: answered 400 with the error page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadForm;

impl IntoResponse for BadForm {
    fn into_response(self) -> Response {
        error_page(StatusCode::BAD_REQUEST, "Form fields must be UTF-8 text.")
    }
}

/// The fields of a form, in the order sent.
#[derive(Debug, Clone, Default)]
pub struct Form(Vec<(String, String)>);

impl Form {
    /// The first value of `name`.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of `name` (checkbox lists), in order.
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0
            .iter()
            .filter(move |(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Whether a state-changing request comes from another site: its `Origin` names another
/// host than the one addressed (no `Origin`: a same-origin request or not a browser).
pub fn cross_site(headers: &HeaderMap) -> bool {
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

/// The key in the pages cookie (base64url of the key, so any key is a valid cookie value).
pub fn cookie_key(headers: &HeaderMap) -> Option<String> {
    cookie_values(headers, KEY_COOKIE)
        .next()
        .and_then(|value| vdc_core::base64url::decode(value).ok())
        .and_then(|bytes| String::from_utf8(bytes).ok())
}

/// Every value of the cookie `name` the request carries, in order.
pub fn cookie_values<'a>(
    headers: &'a HeaderMap,
    name: &'a str,
) -> impl Iterator<Item = &'a str> + 'a {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .filter(move |(n, _)| *n == name)
        .map(|(_, value)| value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

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

    #[test]
    fn forms_keep_order_and_refuse_non_utf8() {
        let post = PagePost(Bytes::from_static(b"claim=1&x=a%20b&claim=2"));
        let form = post.form().unwrap();
        assert_eq!(form.field("x"), Some("a b"));
        assert_eq!(form.all("claim").collect::<Vec<_>>(), ["1", "2"]);
        let bad = PagePost(Bytes::from_static(b"x=%FF"));
        assert_eq!(
            bad.form().unwrap_err().into_response().status(),
            StatusCode::BAD_REQUEST
        );
    }
}
