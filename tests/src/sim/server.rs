//! HTTP and HTTPS listeners on 127.0.0.1 feeding every request into [`super::api::handle`].

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::Request;
use axum::response::Response;

use super::Shared;

async fn entry(State(shared): State<Arc<Shared>>, req: Request<Body>) -> Response {
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, 64 << 20)
        .await
        .unwrap_or_default();
    super::api::handle(shared, parts, bytes).await
}

pub type Spawned = (
    SocketAddr,
    SocketAddr,
    String,
    Vec<tokio::task::JoinHandle<()>>,
);

/// Starts both listeners; returns (http addr, https addr, serving CA PEM, tasks).
pub async fn spawn(shared: Arc<Shared>, port: u16) -> anyhow::Result<Spawned> {
    let app = Router::new().fallback(entry).with_state(shared);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    let http = listener.local_addr()?;
    let app_http = app.clone();
    let t1 = tokio::spawn(async move {
        let _ = axum::serve(listener, app_http).await;
    });

    let cert =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string(), "localhost".to_string()])?;
    let cert_pem = cert.cert.pem();
    let key_der = rustls::pki_types::PrivateKeyDer::try_from(cert.signing_key.serialize_der())
        .map_err(|e| anyhow::anyhow!("serving key: {e}"))?;
    let mut cfg = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(vec![cert.cert.der().clone()], key_der)?;
    cfg.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let std_listener =
        std::net::TcpListener::bind(("127.0.0.1", if port == 0 { 0 } else { port + 1 }))?;
    std_listener.set_nonblocking(true)?;
    let https = std_listener.local_addr()?;
    let server = axum_server::from_tcp_rustls(
        std_listener,
        axum_server::tls_rustls::RustlsConfig::from_config(Arc::new(cfg)),
    )?;
    let t2 = tokio::spawn(async move {
        let _ = server.serve(app.into_make_service()).await;
    });
    Ok((http, https, cert_pem, vec![t1, t2]))
}
