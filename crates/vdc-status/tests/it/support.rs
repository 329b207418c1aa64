//! Shared fixtures: keys, trust policy, a local HTTP server that counts requests.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use vdc_core::jose::{Algorithm, JwkSet, LocalSigner, Signer, SigningKey};
use vdc_core::rng::SeededRandom;
use vdc_core::sd_jwt_vc::IssuerTrustPolicy;

pub(crate) const ISSUER: &str = "https://issuer.example";
pub(crate) const NOW: i64 = 1_763_800_000;

pub(crate) fn signer(seed: u64) -> LocalSigner {
    LocalSigner::new(SigningKey::generate(Algorithm::Es256, &SeededRandom::new(seed)).unwrap())
}

pub(crate) fn trust(issuer_key: &LocalSigner) -> IssuerTrustPolicy {
    IssuerTrustPolicy::new(vec![ISSUER.into()]).pin(
        ISSUER,
        JwkSet {
            keys: vec![issuer_key.public_jwk().clone()],
        },
    )
}

/// What the test server answers for one path.
#[derive(Clone)]
pub(crate) enum Answer {
    /// 200 with `application/statuslist+jwt` and this body.
    Token(String),
    /// 200 with these raw bytes.
    Bytes(Vec<u8>),
    /// 302 to this location.
    Redirect(String),
    /// This status, empty body.
    Status(StatusCode),
}

/// A status-list host on 127.0.0.1:0: answers per path, counts requests, records `Accept`.
#[derive(Clone, Default)]
pub(crate) struct Host {
    answers: Arc<Mutex<HashMap<String, Answer>>>,
    requests: Arc<AtomicUsize>,
    accept: Arc<Mutex<Vec<String>>>,
}

impl Host {
    pub(crate) fn set(&self, path: &str, answer: Answer) {
        self.answers.lock().unwrap().insert(path.to_owned(), answer);
    }

    pub(crate) fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }

    pub(crate) fn accept_headers(&self) -> Vec<String> {
        self.accept.lock().unwrap().clone()
    }

    /// Serves on a fresh loopback port; returns the origin `http://127.0.0.1:port`.
    pub(crate) async fn serve(&self) -> String {
        async fn handler(
            State(host): State<Host>,
            Path(path): Path<String>,
            headers: HeaderMap,
        ) -> Response {
            host.requests.fetch_add(1, Ordering::SeqCst);
            if let Some(a) = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()) {
                host.accept.lock().unwrap().push(a.to_owned());
            }
            let answer = host.answers.lock().unwrap().get(&path).cloned();
            match answer {
                Some(Answer::Token(t)) => {
                    ([(header::CONTENT_TYPE, "application/statuslist+jwt")], t).into_response()
                }
                Some(Answer::Bytes(b)) => b.into_response(),
                Some(Answer::Redirect(to)) => {
                    (StatusCode::FOUND, [(header::LOCATION, to)]).into_response()
                }
                Some(Answer::Status(s)) => s.into_response(),
                None => StatusCode::NOT_FOUND.into_response(),
            }
        }
        let router = Router::new()
            .route("/{*path}", get(handler))
            .with_state(self.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr: SocketAddr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            axum::serve(listener, router).await.unwrap();
        });
        format!("http://{addr}")
    }
}
