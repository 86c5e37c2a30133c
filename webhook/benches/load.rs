//! Load benchmark: our `webhook serve` against a bare axum+rustls allow-all handler, both over
//! TLS on loopback with keep-alive connections, in separate processes so each RSS is its own.
//!
//! `cargo bench -p webhook --bench load -- [--requests N] [--paced-requests N] [--rate R]
//! [--connections C]` (or `hack/bench-webhook.sh`). Prints figures; asserts nothing.

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use axum::body::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use webhook::certs::bundle::{Assessment, CertBundle, CertSettings, renew};

const PATH: &str = "/validate-external-secrets-io-v1-externalsecret";

#[derive(Clone, Copy)]
struct Options {
    requests: usize,
    paced_requests: usize,
    rate: u64,
    connections: usize,
    /// The servers take turns this many times, so load from elsewhere on the machine hits both.
    rounds: usize,
}

fn arg_value(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
}

fn parse_options(args: &[String]) -> Options {
    let num = |name: &str, default: usize| {
        arg_value(args, name)
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    Options {
        requests: num("--requests", 20_000),
        paced_requests: num("--paced-requests", 10_000),
        rate: u64::try_from(num("--rate", 1_000)).unwrap_or(1_000).max(1),
        connections: num("--connections", 16).max(1),
        rounds: num("--rounds", 5).max(1),
    }
}

fn main() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--bare-server") {
        bare_server(&args);
        return;
    }
    let options = parse_options(&args);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(drive(options));
}

// ---------------------------------------------------------------------------------------------
// The bare comparison server: axum + axum-server + rustls, parses the review, allows it.

fn bare_server(args: &[String]) {
    let port: u16 = arg_value(args, "--port")
        .and_then(|p| p.parse().ok())
        .expect("--port");
    let dir = std::path::PathBuf::from(arg_value(args, "--cert-dir").expect("--cert-dir"));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async move {
        let cert = std::fs::read(dir.join("tls.crt")).expect("tls.crt");
        let key = std::fs::read(dir.join("tls.key")).expect("tls.key");
        let resolver = Arc::new(webhook::tls_reload::CertResolver::new());
        resolver.load_pem(&cert, &key).expect("cert");
        let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::aws_lc_rs::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_no_client_auth()
        .with_cert_resolver(resolver);
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        let app = axum::Router::new().route(
            PATH,
            axum::routing::post(|body: Bytes| async move {
                let review: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                let uid = review
                    .pointer("/request/uid")
                    .cloned()
                    .unwrap_or(Value::Null);
                axum::Json(
                    json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
                                  "response": {"uid": uid, "allowed": true}}),
                )
            }),
        );
        let listener = std::net::TcpListener::bind(("127.0.0.1", port)).expect("bind");
        axum_server::from_tcp_rustls(
            listener,
            axum_server::tls_rustls::RustlsConfig::from_config(Arc::new(config)),
        )
        .expect("server")
        .http1_only()
        .serve(app.into_make_service())
        .await
        .expect("serve");
    });
}

// ---------------------------------------------------------------------------------------------
// The driver.

struct Proc {
    name: &'static str,
    child: Child,
    addr: SocketAddr,
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

fn proc_status_kib(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// CPU time (user + system) the process has used so far, from /proc/<pid>/stat.
fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    let ticks: u64 = Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|t| t.trim().parse().ok())
        .unwrap_or(100);
    #[allow(clippy::cast_precision_loss)]
    Some((utime + stime) as f64 / ticks as f64)
}

fn review_body(uid: usize) -> Vec<u8> {
    let review = json!({
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {
            "uid": format!("00000000-0000-0000-0000-{uid:012}"),
            "kind": {"group": "external-secrets.io", "version": "v1", "kind": "ExternalSecret"},
            "resource": {"group": "external-secrets.io", "version": "v1", "resource": "externalsecrets"},
            "requestKind": {"group": "external-secrets.io", "version": "v1", "kind": "ExternalSecret"},
            "requestResource": {"group": "external-secrets.io", "version": "v1", "resource": "externalsecrets"},
            "name": "db-credentials", "namespace": "team-a", "operation": "CREATE",
            "userInfo": {"username": "system:serviceaccount:argocd:argocd-application-controller",
                         "groups": ["system:serviceaccounts", "system:authenticated"]},
            "object": {
                "apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret",
                "metadata": {"name": "db-credentials", "namespace": "team-a", "labels": {"app": "billing"},
                             "managedFields": [{"manager": "argocd", "operation": "Apply", "apiVersion": "external-secrets.io/v1",
                                                "fieldsType": "FieldsV1", "fieldsV1": {"f:spec": {"f:data": {}}}}]},
                "spec": {
                    "refreshInterval": "1h",
                    "secretStoreRef": {"name": "aws", "kind": "ClusterSecretStore"},
                    "target": {"name": "db-credentials", "creationPolicy": "Owner", "deletionPolicy": "Retain"},
                    "data": [
                        {"secretKey": "username", "remoteRef": {"key": "prod/billing/db", "property": "username"}},
                        {"secretKey": "password", "remoteRef": {"key": "prod/billing/db", "property": "password"}}
                    ],
                    "dataFrom": [{"extract": {"key": "prod/billing/extra"}}]
                }
            },
            "oldObject": null, "dryRun": false,
            "options": {"kind": "CreateOptions", "apiVersion": "meta.k8s.io/v1"}
        }
    });
    serde_json::to_vec(&review).expect("json")
}

type Sender = hyper::client::conn::http1::SendRequest<Full<Bytes>>;

async fn connect(addr: SocketAddr, tls: Arc<rustls::ClientConfig>) -> std::io::Result<Sender> {
    let tcp = TcpStream::connect(addr).await?;
    tcp.set_nodelay(true)?;
    let stream = TlsConnector::from(tls)
        .connect(ServerName::try_from("localhost").expect("name"), tcp)
        .await?;
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(std::io::Error::other)?;
    tokio::spawn(conn);
    Ok(sender)
}

async fn one_request(sender: &mut Sender, body: Vec<u8>) -> bool {
    let request = hyper::Request::post(PATH)
        .header("host", "localhost")
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body)))
        .expect("request");
    match sender.send_request(request).await {
        Ok(response) => {
            let ok = response.status() == 200;
            ok && response.into_body().collect().await.is_ok()
        }
        Err(_) => false,
    }
}

struct RunResult {
    latencies: Vec<Duration>,
    errors: usize,
    elapsed: Duration,
}

/// `count` requests over `connections` keep-alive connections; paced at `rate` req/s if given.
async fn run(
    addr: SocketAddr,
    tls: Arc<rustls::ClientConfig>,
    count: usize,
    connections: usize,
    rate: Option<u64>,
) -> RunResult {
    let start = Instant::now() + Duration::from_millis(20);
    let mut workers = tokio::task::JoinSet::new();
    for worker in 0..connections {
        let tls = tls.clone();
        workers.spawn(async move {
            let mut sender = connect(addr, tls.clone()).await.expect("connect");
            let mut latencies = Vec::new();
            let mut errors = 0;
            let mut i = worker;
            tokio::time::sleep_until(start.into()).await;
            while i < count {
                let body = review_body(i);
                let scheduled = rate.map(|r| {
                    start + Duration::from_nanos(u64::try_from(i).unwrap_or(0) * 1_000_000_000 / r)
                });
                if let Some(at) = scheduled {
                    tokio::time::sleep_until(at.into()).await;
                }
                // Measured from the actual send: tokio's millisecond timer wheel would otherwise add
                // its own wake-up lateness to every paced sample.
                let began = Instant::now();
                if one_request(&mut sender, body).await {
                    latencies.push(began.elapsed());
                } else {
                    errors += 1;
                    sender = connect(addr, tls.clone()).await.expect("reconnect");
                }
                i += connections;
            }
            (latencies, errors)
        });
    }
    let mut result = RunResult {
        latencies: Vec::with_capacity(count),
        errors: 0,
        elapsed: Duration::ZERO,
    };
    while let Some(joined) = workers.join_next().await {
        let (latencies, errors) = joined.expect("worker");
        result.latencies.extend(latencies);
        result.errors += errors;
    }
    result.elapsed = start.elapsed();
    result.latencies.sort_unstable();
    result
}

fn merged() -> RunResult {
    RunResult {
        latencies: Vec::new(),
        errors: 0,
        elapsed: Duration::ZERO,
    }
}

fn absorb(total: &mut RunResult, part: RunResult) {
    total.latencies.extend(part.latencies);
    total.errors += part.errors;
    total.elapsed += part.elapsed;
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    // Nearest-rank percentile.
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss
    )]
    let rank = ((p / 100.0) * sorted.len() as f64).ceil().max(1.0) as usize;
    sorted[rank.min(sorted.len()) - 1]
}

#[allow(clippy::cast_precision_loss)]
fn throughput(r: &RunResult) -> f64 {
    r.latencies.len() as f64 / r.elapsed.as_secs_f64()
}

fn ms(d: Duration) -> String {
    format!("{:.3}ms", d.as_secs_f64() * 1000.0)
}

fn report(server: &str, mode: &str, r: &RunResult) {
    println!(
        "{server:<8} {mode:<14} {:>7} ok {:>4} err {:>10.0} req/s  p50 {:>9}  p99 {:>9}  max {:>9}",
        r.latencies.len(),
        r.errors,
        throughput(r),
        ms(percentile(&r.latencies, 50.0)),
        ms(percentile(&r.latencies, 99.0)),
        ms(r.latencies.last().copied().unwrap_or_default()),
    );
}

async fn wait_for_tls(addr: SocketAddr, tls: Arc<rustls::ClientConfig>) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while connect(addr, tls.clone()).await.is_err() {
        assert!(
            Instant::now() < deadline,
            "server at {addr} never accepted TLS"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn drive(options: Options) {
    let dir = tempfile::tempdir().expect("tempdir");
    let settings = CertSettings {
        dns_names: vec!["localhost".to_owned()],
        lookahead: Duration::from_secs(86_400),
        validity: Duration::from_secs(365 * 86_400),
    };
    let bundle = renew(
        &CertBundle::default(),
        &Assessment::RegenerateAll("bench".into()),
        &settings,
        SystemTime::now(),
    )
    .expect("cert");
    std::fs::write(dir.path().join("tls.crt"), &bundle.tls_crt).expect("write");
    std::fs::write(dir.path().join("tls.key"), bundle.tls_key.expose()).expect("write");
    let mut roots = rustls::RootCertStore::empty();
    for ca in webhook::certs::inspect::pem_certs(bundle.ca_crt.as_bytes()).expect("ca") {
        roots.add(ca).expect("root");
    }
    let tls = Arc::new(
        rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::aws_lc_rs::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots)
        .with_no_client_auth(),
    );

    let ours_port = free_port();
    let ours = Proc {
        name: "webhook",
        child: Command::new(env!("CARGO_BIN_EXE_webhook"))
            .args([
                "serve",
                "--cert-mode=files",
                "--bind-address=127.0.0.1",
                "--metrics-addr=0",
                "--healthz-addr=0",
                "--loglevel=warn",
            ])
            .arg(format!("--cert-dir={}", dir.path().display()))
            .arg(format!("--port={ours_port}"))
            .stdout(Stdio::null())
            .spawn()
            .expect("spawn webhook"),
        addr: SocketAddr::from(([127, 0, 0, 1], ours_port)),
    };
    let bare_port = free_port();
    let bare = Proc {
        name: "bare",
        child: Command::new(std::env::current_exe().expect("exe"))
            .args([
                "--bare-server",
                "--port",
                &bare_port.to_string(),
                "--cert-dir",
            ])
            .arg(dir.path())
            .spawn()
            .expect("spawn bare server"),
        addr: SocketAddr::from(([127, 0, 0, 1], bare_port)),
    };
    for p in [&ours, &bare] {
        wait_for_tls(p.addr, tls.clone()).await;
    }
    println!(
        "webhook load: {} unpaced + {} paced requests at {} req/s over {} keep-alive TLS connections, {} CPUs, load average {}",
        options.requests,
        options.paced_requests,
        options.rate,
        options.connections,
        std::thread::available_parallelism().map_or(0, std::num::NonZero::get),
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .split_whitespace()
            .next()
            .unwrap_or("?")
    );
    for p in [&ours, &bare] {
        // Warm-up: connection setup, allocator, code paths.
        run(p.addr, tls.clone(), 2_000, options.connections, None).await;
    }
    let per_round = |total: usize| total.div_ceil(options.rounds);
    let mut unpaced = [merged(), merged()];
    let mut paced = [merged(), merged()];
    let mut ratios = Vec::new();
    // CPU seconds each server spent in the paced runs (what a Deployment's request must cover).
    let mut paced_cpu = [0.0f64; 2];
    for _ in 0..options.rounds {
        let mut round = [0.0; 2];
        for (i, p) in [&ours, &bare].into_iter().enumerate() {
            let u = run(
                p.addr,
                tls.clone(),
                per_round(options.requests),
                options.connections,
                None,
            )
            .await;
            round[i] = throughput(&u);
            absorb(&mut unpaced[i], u);
        }
        ratios.push(round[0] / round[1]);
        for (i, p) in [&ours, &bare].into_iter().enumerate() {
            let cpu_before = cpu_seconds(p.child.id());
            let r = run(
                p.addr,
                tls.clone(),
                per_round(options.paced_requests),
                options.connections,
                Some(options.rate),
            )
            .await;
            if let (Some(a), Some(b)) = (cpu_before, cpu_seconds(p.child.id())) {
                paced_cpu[i] += b - a;
            }
            absorb(&mut paced[i], r);
        }
    }
    for (i, name) in ["webhook", "bare"].into_iter().enumerate() {
        unpaced[i].latencies.sort_unstable();
        paced[i].latencies.sort_unstable();
        report(name, "unpaced", &unpaced[i]);
        report(name, &format!("paced {}/s", options.rate), &paced[i]);
    }
    ratios.sort_by(f64::total_cmp);
    let median = ratios[ratios.len() / 2];
    let listed: Vec<String> = ratios
        .iter()
        .map(|r| format!("{:.0}%", r * 100.0))
        .collect();
    println!(
        "throughput webhook/bare: median {:.1}% over {} rounds [{}] (goal >= 80%)",
        median * 100.0,
        options.rounds,
        listed.join(" ")
    );
    println!(
        "p99 at {} req/s: webhook {}, bare {} (goal < 2ms)",
        options.rate,
        ms(percentile(&paced[0].latencies, 99.0)),
        ms(percentile(&paced[1].latencies, 99.0))
    );
    for (i, p) in [&ours, &bare].into_iter().enumerate() {
        #[allow(clippy::cast_precision_loss)]
        let per_request = paced_cpu[i] / paced[i].latencies.len().max(1) as f64;
        #[allow(clippy::cast_precision_loss)]
        let millicores = per_request * options.rate as f64 * 1000.0;
        println!(
            "{:<8} CPU while paced: {:.0} us per request = {:.0} millicores at {} req/s",
            p.name,
            per_request * 1e6,
            millicores,
            options.rate
        );
    }
    for p in [&ours, &bare] {
        let pid = p.child.id();
        let hwm = proc_status_kib(pid, "VmHWM:").unwrap_or(0);
        let rss = proc_status_kib(pid, "VmRSS:").unwrap_or(0);
        #[allow(clippy::cast_precision_loss)]
        let mib = |kib: u64| kib as f64 / 1024.0;
        let goal = if p.name == "webhook" {
            " (goal < 40 MiB)"
        } else {
            ""
        };
        println!(
            "{:<8} peak RSS (VmHWM) {:.1} MiB, current RSS {:.1} MiB{goal}",
            p.name,
            mib(hwm),
            mib(rss)
        );
    }
}
