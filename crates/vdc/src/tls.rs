//! Serving HTTPS directly (`VDC_TLS_CERT`, `VDC_TLS_KEY`): rustls on the ring provider,
//! the same crypto backend as everything else in vdc.

use std::path::Path;

use anyhow::Context as _;
use axum::Router;
use axum_server::tls_rustls::RustlsConfig;

/// Serves `router` over TLS on `listener` under `limits` until `shutdown` resolves (the same
/// accept loop as plain HTTP: [`crate::serve_with`]).
pub async fn serve_tls(
    listener: std::net::TcpListener,
    router: Router,
    cert_pem: &Path,
    key_pem: &Path,
    limits: crate::ConnectionLimits,
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
    // The server speaks HTTP/1.1 only, so that is all ALPN may agree on.
    let mut server_config = (*config.get_inner()).clone();
    server_config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let acceptor = tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(server_config));
    listener.set_nonblocking(true)?;
    let listener = tokio::net::TcpListener::from_std(listener)?;
    crate::serve_with(listener, router, limits, Some(acceptor), shutdown).await?;
    Ok(())
}
