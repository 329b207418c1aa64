//! Serving HTTPS directly (`VDC_TLS_CERT`, `VDC_TLS_KEY`): rustls on the ring provider,
//! the same crypto backend as everything else in vdc.

use std::path::Path;
use std::time::Duration;

use anyhow::Context as _;
use axum::Router;
use axum_server::tls_rustls::RustlsConfig;

/// Serves `router` over TLS on `listener` until `shutdown` resolves (in-flight requests get
/// up to 10 s to finish).
pub async fn serve_tls(
    listener: std::net::TcpListener,
    router: Router,
    cert_pem: &Path,
    key_pem: &Path,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    // Another part of the process may have installed it already; either way ring is in use.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let config = RustlsConfig::from_pem_file(cert_pem, key_pem)
        .await
        .with_context(|| {
            format!(
                "loading TLS certificate {} and key {}",
                cert_pem.display(),
                key_pem.display()
            )
        })?;
    let handle = axum_server::Handle::new();
    let on_shutdown = handle.clone();
    tokio::spawn(async move {
        shutdown.await;
        on_shutdown.graceful_shutdown(Some(Duration::from_secs(10)));
    });
    listener.set_nonblocking(true)?;
    axum_server::from_tcp_rustls(listener, config)?
        .handle(handle)
        .serve(router.into_make_service())
        .await?;
    Ok(())
}
