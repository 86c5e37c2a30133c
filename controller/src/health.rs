//! Liveness/readiness endpoints (`--live-addr`, ESO's `healthz`/`readyz` ping checks) and the
//! small HTTP server helper shared with the metrics endpoint.

use std::future::Future;
use std::net::SocketAddr;

use axum::Router;
use axum::routing::get;

/// `/healthz` and `/readyz`, both answering `ok` while the process serves requests.
pub fn router() -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(|| async { "ok" }))
}

/// Serves `router` on `addr` until `shutdown` resolves.
pub async fn serve(
    addr: SocketAddr,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await
}

/// Parses Go-style listen addresses: `:8080` means every interface.
pub fn parse_addr(text: &str) -> Result<SocketAddr, std::net::AddrParseError> {
    if let Some(port) = text.strip_prefix(':') {
        format!("0.0.0.0:{port}").parse()
    } else {
        text.parse()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_style_addresses() {
        assert_eq!(
            parse_addr(":8080").expect("valid").to_string(),
            "0.0.0.0:8080"
        );
        assert_eq!(parse_addr("127.0.0.1:9").expect("valid").port(), 9);
        assert!(parse_addr("nope").is_err());
    }

    #[tokio::test]
    async fn probes_answer_ok() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, router()).await;
        });
        let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        stream
            .write_all(b"GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await
            .expect("write");
        let mut out = String::new();
        stream.read_to_string(&mut out).await.expect("read");
        assert!(out.starts_with("HTTP/1.1 200"), "{out}");
        assert!(out.ends_with("ok"));
        server.abort();
    }
}
