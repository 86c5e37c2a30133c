//! The real TLS listener: certificates are swapped under running servers and new handshakes
//! present the new certificate, with no failed handshake and no restart.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use axum::body::Bytes;
use axum_server::Handle;
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use rustls::{ClientConfig, RootCertStore};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_util::sync::CancellationToken;
use webhook::certs::bundle::{Assessment, CertBundle, CertSettings, renew};
use webhook::certs::files::run_files;
use webhook::certs::inspect::{inspect_cert, inspect_first_pem, pem_certs};
use webhook::certs::maintain::CertRuntime;
use webhook::health::Readiness;
use webhook::metrics::Metrics;
use webhook::server::serve_tls;
use webhook::tls_reload::{CertResolver, TlsOptions, server_config};
use webhook::{AppState, NoRules, router};

const HOST: &str = "external-secrets-webhook.eso.svc";

fn settings() -> CertSettings {
    CertSettings {
        dns_names: vec![HOST.to_owned(), "external-secrets-webhook".to_owned()],
        lookahead: Duration::from_secs(90 * 86_400),
        validity: Duration::from_secs(3650 * 86_400),
    }
}

fn generate() -> CertBundle {
    renew(
        &CertBundle::default(),
        &Assessment::RegenerateAll("test".into()),
        &settings(),
        SystemTime::now(),
    )
    .expect("generate")
}

/// Makes `resolver` serve `bundle`'s certificate and key.
fn load(resolver: &CertResolver, bundle: &CertBundle) {
    resolver
        .load_pem(
            bundle.tls_crt.as_bytes(),
            bundle.tls_key.expose().as_bytes(),
        )
        .expect("load");
}

/// A resolver already serving `bundle`.
fn serving(bundle: &CertBundle) -> Arc<CertResolver> {
    let resolver = Arc::new(CertResolver::new());
    load(&resolver, bundle);
    resolver
}

fn serial(pem: &str) -> String {
    inspect_first_pem(pem.as_bytes()).expect("pem").serial_hex
}

fn client(
    ca_pem: &str,
    versions: &[&'static rustls::SupportedProtocolVersion],
) -> Arc<ClientConfig> {
    let mut roots = RootCertStore::empty();
    for ca in pem_certs(ca_pem.as_bytes()).expect("ca pem") {
        roots.add(ca).expect("trust anchor");
    }
    let config = ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_protocol_versions(versions)
    .expect("versions")
    .with_root_certificates(roots)
    .with_no_client_auth();
    Arc::new(config)
}

fn default_client(ca_pem: &str) -> Arc<ClientConfig> {
    client(ca_pem, rustls::DEFAULT_VERSIONS)
}

async fn start(
    resolver: Arc<CertResolver>,
    options: TlsOptions,
) -> (SocketAddr, Handle<SocketAddr>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let http2 = options.http2;
    let tls = Arc::new(server_config(&options, resolver).expect("tls config"));
    let handle = Handle::new();
    tokio::spawn(serve_tls(
        listener,
        router(AppState::new(Arc::new(NoRules))),
        tls,
        handle.clone(),
        http2,
    ));
    (addr, handle)
}

fn options() -> TlsOptions {
    TlsOptions {
        min_version: "1.2".into(),
        ciphers: String::new(),
        http2: false,
    }
}

type Tls = tokio_rustls::client::TlsStream<TcpStream>;

/// Whether a client trusting `ca_pem` and speaking only `version` completes a handshake.
async fn handshakes_with(
    addr: SocketAddr,
    ca_pem: &str,
    version: &'static rustls::SupportedProtocolVersion,
) -> bool {
    handshake(addr, client(ca_pem, &[version])).await.is_ok()
}

async fn handshake(addr: SocketAddr, config: Arc<ClientConfig>) -> std::io::Result<(String, Tls)> {
    let tcp = TcpStream::connect(addr).await?;
    let name = ServerName::try_from(HOST).expect("name");
    let tls = TlsConnector::from(config).connect(name, tcp).await?;
    let leaf = tls
        .get_ref()
        .1
        .peer_certificates()
        .and_then(|c| c.first())
        .expect("server sent a certificate")
        .clone();
    Ok((inspect_cert(leaf.as_ref()).expect("x509").serial_hex, tls))
}

/// An HTTP/1.1 keep-alive connection over `tls`.
async fn http(tls: Tls) -> hyper::client::conn::http1::SendRequest<Empty<Bytes>> {
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
        .await
        .expect("http handshake");
    tokio::spawn(conn);
    sender
}

async fn healthz(sender: &mut hyper::client::conn::http1::SendRequest<Empty<Bytes>>) -> String {
    let request = hyper::Request::get("/healthz")
        .header("host", HOST)
        .body(Empty::new())
        .expect("request");
    let response = sender.send_request(request).await.expect("response");
    assert_eq!(response.status(), 200);
    String::from_utf8_lossy(
        &response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes(),
    )
    .into_owned()
}

/// Handshakes in a loop until stopped, counting successes and failures.
fn hammer(
    addr: SocketAddr,
    config: Arc<ClientConfig>,
) -> (
    Arc<AtomicBool>,
    Arc<AtomicUsize>,
    Arc<AtomicUsize>,
    tokio::task::JoinHandle<()>,
) {
    let stop = Arc::new(AtomicBool::new(false));
    let ok = Arc::new(AtomicUsize::new(0));
    let failed = Arc::new(AtomicUsize::new(0));
    let (s, o, f) = (stop.clone(), ok.clone(), failed.clone());
    let task = tokio::spawn(async move {
        while !s.load(Ordering::SeqCst) {
            match handshake(addr, config.clone()).await {
                Ok(_) => o.fetch_add(1, Ordering::SeqCst),
                Err(_) => f.fetch_add(1, Ordering::SeqCst),
            };
        }
    });
    (stop, ok, failed, task)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotated_certificate_is_presented_to_new_handshakes_without_restart() {
    let first = generate();
    let resolver = serving(&first);
    let (addr, handle) = start(resolver.clone(), options()).await;

    let (served, tls) = handshake(addr, default_client(&first.ca_crt))
        .await
        .expect("handshake");
    assert_eq!(served, serial(&first.tls_crt));
    let mut kept_alive = http(tls).await;
    assert_eq!(healthz(&mut kept_alive).await, "ok");

    let (stop, ok, failed, task) = hammer(addr, default_client(&first.ca_crt));
    tokio::time::sleep(Duration::from_millis(50)).await;
    // Same CA, new serving certificate.
    let second = renew(
        &first,
        &Assessment::ReissueServer("test".into()),
        &settings(),
        SystemTime::now(),
    )
    .expect("reissue");
    load(&resolver, &second);
    let (served, _) = handshake(addr, default_client(&first.ca_crt))
        .await
        .expect("handshake after swap");
    assert_eq!(served, serial(&second.tls_crt));
    assert_ne!(served, serial(&first.tls_crt));
    tokio::time::sleep(Duration::from_millis(50)).await;
    stop.store(true, Ordering::SeqCst);
    task.await.expect("hammer");
    assert_eq!(
        failed.load(Ordering::SeqCst),
        0,
        "no handshake failed across the swap"
    );
    assert!(ok.load(Ordering::SeqCst) > 0);
    // The connection opened before the swap keeps working.
    assert_eq!(healthz(&mut kept_alive).await, "ok");

    // New CA: clients holding the updated caBundle (new + previous CA) connect; a client that
    // only knows the old CA is refused, which is why the caBundle is re-injected.
    let third = renew(
        &second,
        &Assessment::RegenerateAll("test".into()),
        &settings(),
        SystemTime::now(),
    )
    .expect("new ca");
    load(&resolver, &third);
    let (served, _) = handshake(addr, default_client(&third.ca_crt))
        .await
        .expect("handshake with new bundle");
    assert_eq!(served, serial(&third.tls_crt));
    assert!(
        handshake(addr, default_client(&first.ca_crt))
            .await
            .is_err(),
        "old CA alone must not verify the new cert"
    );
    handle.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_mode_reloads_changed_files_without_failed_handshakes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let first = generate();
    std::fs::write(dir.path().join("tls.crt"), &first.tls_crt).expect("write");
    std::fs::write(dir.path().join("tls.key"), first.tls_key.expose()).expect("write");

    let resolver = Arc::new(CertResolver::new());
    let readiness = Readiness::new();
    let runtime = CertRuntime::new(
        resolver.clone(),
        readiness.register("certificate"),
        Metrics::new(),
    );
    let shutdown = CancellationToken::new();
    let watcher = tokio::spawn(run_files(
        dir.path().to_owned(),
        HOST.to_owned(),
        Duration::from_millis(20),
        runtime,
        shutdown.clone(),
    ));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !readiness.is_ready() {
        assert!(tokio::time::Instant::now() < deadline, "files never loaded");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let (addr, handle) = start(resolver, options()).await;
    assert_eq!(
        handshake(addr, default_client(&first.ca_crt))
            .await
            .expect("handshake")
            .0,
        serial(&first.tls_crt)
    );

    let (stop, _, failed, task) = hammer(addr, default_client(&first.ca_crt));
    // cert-manager renews with the same CA; the files change one after the other.
    let second = renew(
        &first,
        &Assessment::ReissueServer("test".into()),
        &settings(),
        SystemTime::now(),
    )
    .expect("reissue");
    std::fs::write(dir.path().join("tls.crt"), &second.tls_crt).expect("write");
    tokio::time::sleep(Duration::from_millis(60)).await;
    std::fs::write(dir.path().join("tls.key"), second.tls_key.expose()).expect("write");
    let want = serial(&second.tls_crt);
    loop {
        let (served, _) = handshake(addr, default_client(&first.ca_crt))
            .await
            .expect("handshake");
        if served == want {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "new files never served"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(
        readiness.is_ready(),
        "a half-written pair never made the server unready"
    );
    stop.store(true, Ordering::SeqCst);
    task.await.expect("hammer");
    assert_eq!(failed.load(Ordering::SeqCst), 0);
    shutdown.cancel();
    watcher.await.expect("watcher stops");
    handle.shutdown();
}

#[tokio::test]
async fn tls_min_version_1_3_refuses_tls12_clients() {
    let bundle = generate();
    let resolver = serving(&bundle);
    let (addr, handle) = start(
        resolver,
        TlsOptions {
            min_version: "1.3".into(),
            ..options()
        },
    )
    .await;
    assert!(!handshakes_with(addr, &bundle.ca_crt, &rustls::version::TLS12).await);
    assert!(handshakes_with(addr, &bundle.ca_crt, &rustls::version::TLS13).await);
    handle.shutdown();
}

#[tokio::test]
async fn tls12_cipher_list_is_enforced() {
    let bundle = generate();
    let resolver = serving(&bundle);
    // Only an RSA suite: our ECDSA certificate cannot be used with TLS 1.2, TLS 1.3 still works.
    let only_rsa = TlsOptions {
        ciphers: "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256".into(),
        ..options()
    };
    let (addr, handle) = start(resolver, only_rsa).await;
    assert!(!handshakes_with(addr, &bundle.ca_crt, &rustls::version::TLS12).await);
    assert!(handshakes_with(addr, &bundle.ca_crt, &rustls::version::TLS13).await);
    handle.shutdown();
    let unknown = TlsOptions {
        ciphers: "TLS_RSA_WITH_RC4_128_SHA".into(),
        ..options()
    };
    let err = server_config(&unknown, Arc::new(CertResolver::new())).expect_err("unknown cipher");
    assert!(
        err.to_string().contains("TLS_RSA_WITH_RC4_128_SHA"),
        "{err}"
    );
}

#[tokio::test]
async fn http2_is_only_negotiated_when_enabled() {
    let bundle = generate();
    for (enabled, expected) in [
        (false, Some(b"http/1.1".to_vec())),
        (true, Some(b"h2".to_vec())),
    ] {
        let resolver = serving(&bundle);
        let (addr, handle) = start(
            resolver,
            TlsOptions {
                http2: enabled,
                ..options()
            },
        )
        .await;
        let mut config = (*default_client(&bundle.ca_crt)).clone();
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        let (_, tls) = handshake(addr, Arc::new(config)).await.expect("handshake");
        assert_eq!(
            tls.get_ref().1.alpn_protocol().map(<[u8]>::to_vec),
            expected,
            "http2 enabled: {enabled}"
        );
        handle.shutdown();
    }
}
