//! Request bodies and headers through vdc-http's extractors: `OAuthForm` (the
//! `application/x-www-form-urlencoded` body of token, PAR and `direct_post` requests),
//! `AppJson` (strict JSON bodies) and `BearerToken` (the `Authorization` header).
//!
//! Input: the first byte picks the extractor, the rest is the body (or header value).
//! Every refusal must be a 4xx in the OAuth error shape (G8): a 5xx or a panic is a bug.
#![no_main]

use std::collections::HashMap;

use axum::body::Body;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::response::IntoResponse;
use http::header;
use libfuzzer_sys::fuzz_target;
use serde::Deserialize;
use serde_json::Value;
use vdc_fuzz_common as h;
use vdc_http::{AppJson, BearerToken, ErrorResponse, OAuthForm};

/// A typed body like the protocol crates' (strings, optionals, numbers, a nested object).
#[derive(Debug, Deserialize)]
#[allow(dead_code)]
struct TypedBody {
    grant_type: String,
    #[serde(default)]
    tx_code: Option<String>,
    #[serde(default)]
    batch: Option<u32>,
    #[serde(default)]
    proof: Option<HashMap<String, Value>>,
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    match mode % 4 {
        0 => {
            let req = request("application/x-www-form-urlencoded", rest);
            match h::block_on(OAuthForm::from_request(req, &())) {
                Ok(form) => {
                    // Every pair of the body is in the map, once.
                    let pairs = url::form_urlencoded::parse(rest).count();
                    assert_eq!(pairs, form.0.len(), "a form parameter was dropped");
                }
                Err(e) => refused(e),
            }
        }
        1 => {
            let req = request("application/json", rest);
            if let Err(e) = h::block_on(AppJson::<Value>::from_request(req, &())) {
                refused(e);
            }
        }
        2 => {
            let req = request("application/json; charset=utf-8", rest);
            if let Err(e) = h::block_on(AppJson::<TypedBody>::from_request(req, &())) {
                refused(e);
            }
        }
        _ => {
            let Ok(value) = http::HeaderValue::from_bytes(rest) else {
                return;
            };
            let req = Request::builder().header(header::AUTHORIZATION, value);
            let Ok(req) = req.body(Body::empty()) else {
                return;
            };
            let (mut parts, _) = req.into_parts();
            match h::block_on(BearerToken::from_request_parts(&mut parts, &())) {
                Ok(token) => assert!(!token.0.is_empty()),
                Err(e) => refused(e),
            }
        }
    }
});

fn request(content_type: &str, body: &[u8]) -> Request {
    match Request::builder()
        .method("POST")
        .uri("/token")
        .header(header::CONTENT_TYPE, content_type)
        .body(Body::from(body.to_vec()))
    {
        Ok(r) => r,
        Err(e) => panic!("harness request refused: {e}"),
    }
}

fn refused(e: ErrorResponse) {
    assert!(e.status.is_client_error(), "refusal is not a 4xx: {e:?}");
    let response = e.into_response();
    assert!(response.status().is_client_error());
}
