//! The `webhook serve` binary end to end (files mode, no cluster): probes, TLS, SIGTERM.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use webhook::certs::bundle::{Assessment, CertBundle, CertSettings, renew};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

/// A plain HTTP/1.0 GET; returns (status line, body).
fn plain_get(addr: SocketAddr, path: &str) -> std::io::Result<(String, String)> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(1))?;
    stream.set_read_timeout(Some(Duration::from_secs(2)))?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n")?;
    let mut text = String::new();
    stream.read_to_string(&mut text)?;
    let status = text.lines().next().unwrap_or_default().to_owned();
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    Ok((status, body))
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn serve_answers_probes_and_tls_then_exits_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().expect("tempdir");
    let settings = CertSettings {
        dns_names: vec!["localhost".to_owned()],
        lookahead: Duration::from_secs(86_400),
        validity: Duration::from_secs(365 * 86_400),
    };
    let bundle = renew(
        &CertBundle::default(),
        &Assessment::RegenerateAll("test".into()),
        &settings,
        SystemTime::now(),
    )
    .expect("gen");
    std::fs::write(dir.path().join("tls.crt"), &bundle.tls_crt).expect("write");
    std::fs::write(dir.path().join("tls.key"), bundle.tls_key.expose()).expect("write");
    let (port, metrics, health) = (free_port(), free_port(), free_port());
    let child = Command::new(env!("CARGO_BIN_EXE_webhook"))
        .args([
            "serve",
            "--cert-mode=files",
            "--bind-address=127.0.0.1",
            "--files-poll-interval=100ms",
        ])
        .arg(format!("--cert-dir={}", dir.path().display()))
        .arg(format!("--port={port}"))
        .arg(format!("--metrics-addr=127.0.0.1:{metrics}"))
        .arg(format!("--healthz-addr=127.0.0.1:{health}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn webhook");
    let mut server = Server(child);
    let health_addr: SocketAddr = format!("127.0.0.1:{health}").parse().expect("addr");

    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if plain_get(health_addr, "/readyz").is_ok_and(|(status, _)| status.contains("200")) {
            break;
        }
        assert!(Instant::now() < deadline, "never became ready");
        assert!(
            server.0.try_wait().expect("wait").is_none(),
            "webhook exited early"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        plain_get(health_addr, "/healthz")
            .expect("healthz")
            .0
            .contains("200")
    );
    let (status, body) = plain_get(
        format!("127.0.0.1:{metrics}").parse().expect("addr"),
        "/metrics",
    )
    .expect("metrics");
    assert!(status.contains("200"), "{status}");
    assert!(
        body.contains("webhook_certificate_expiry_timestamp_seconds"),
        "{body}"
    );

    // TLS on the admission port with the mounted certificate.
    let mut roots = rustls::RootCertStore::empty();
    for ca in webhook::certs::inspect::pem_certs(bundle.ca_crt.as_bytes()).expect("ca") {
        roots.add(ca).expect("root");
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("versions")
    .with_root_certificates(roots)
    .with_no_client_auth();
    let mut conn =
        rustls::ClientConnection::new(Arc::new(config), "localhost".try_into().expect("name"))
            .expect("conn");
    let mut tcp = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    let mut tls = rustls::Stream::new(&mut conn, &mut tcp);
    tls.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .expect("write");
    let mut response = String::new();
    let _ = tls.read_to_string(&mut response);
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");

    let pid = server.0.id().to_string();
    let killed = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    assert!(killed.success());
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = server.0.try_wait().expect("wait") {
            break status;
        }
        assert!(Instant::now() < deadline, "did not exit after SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "graceful shutdown exits 0, got {status}");
}
