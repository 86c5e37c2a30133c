//! The HTTP surface: shared state, the router, and the listeners of `webhook serve`.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum_server::Handle;
use axum_server::tls_rustls::RustlsConfig;
use rustls::ServerConfig;
use tokio_util::sync::CancellationToken;

use crate::admission::AdmissionRules;
use crate::certs::bundle::CertSettings;
use crate::certs::files::run_files;
use crate::certs::k8s::{KubeCertStore, KubeTargets};
use crate::certs::maintain::{CertRuntime, run_self_managed};
use crate::cli::{CertMode, ServeArgs, parse_listen_addr};
use crate::handlers::{Mode, admit, convert, deadline_and_metrics};
use crate::health::{self, CERTIFICATE, Readiness};
use crate::metrics::Metrics;
use crate::tls_reload::{CertResolver, TlsOptions, server_config};

/// ESO's validation paths (kept so existing webhook configurations keep working).
pub const EXTERNALSECRET_PATH: &str = "/validate-external-secrets-io-v1-externalsecret";
pub const SECRETSTORE_PATH: &str = "/validate-external-secrets-io-v1-secretstore";
pub const CLUSTERSECRETSTORE_PATH: &str = "/validate-external-secrets-io-v1-clustersecretstore";
/// Generic routes dispatching on `request.kind`.
pub const VALIDATE_PATH: &str = "/validate";
pub const MUTATE_PATH: &str = "/mutate";
pub const CONVERT_PATH: &str = "/convert";

const ESO_GROUP: &str = "external-secrets.io";

/// The metric label for a request path: one of the fixed routes, else `other`.
pub fn route_label(path: &str) -> &'static str {
    [
        EXTERNALSECRET_PATH,
        SECRETSTORE_PATH,
        CLUSTERSECRETSTORE_PATH,
        VALIDATE_PATH,
        MUTATE_PATH,
        CONVERT_PATH,
    ]
    .into_iter()
    .find(|p| *p == path)
    .unwrap_or("other")
}

/// State shared by every request.
#[derive(Clone)]
pub struct AppState {
    pub rules: Arc<dyn AdmissionRules>,
    pub readiness: Readiness,
    pub metrics: Metrics,
    /// Upper bound for one admission request, body upload included.
    pub request_timeout: Duration,
    pub max_body_bytes: usize,
    /// Whether `/convert` is routed.
    pub serve_conversion: bool,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("readiness", &self.readiness)
            .field("request_timeout", &self.request_timeout)
            .field("max_body_bytes", &self.max_body_bytes)
            .field("serve_conversion", &self.serve_conversion)
            .finish_non_exhaustive()
    }
}

impl AppState {
    /// State with the flag defaults (4s deadline, 8 MiB bodies, no conversion).
    pub fn new(rules: Arc<dyn AdmissionRules>) -> Self {
        Self {
            rules,
            readiness: Readiness::new(),
            metrics: Metrics::new(),
            request_timeout: Duration::from_secs(4),
            max_body_bytes: 8 * 1024 * 1024,
            serve_conversion: false,
        }
    }

    /// Shares an existing readiness registry (e.g. one the rules registered flags on).
    pub fn with_readiness(mut self, readiness: Readiness) -> Self {
        self.readiness = readiness;
        self
    }

    pub fn with_request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    pub fn with_max_body_bytes(mut self, bytes: usize) -> Self {
        self.max_body_bytes = bytes;
        self
    }

    pub fn with_conversion(mut self, serve: bool) -> Self {
        self.serve_conversion = serve;
        self
    }
}

fn admission_route(path: &'static str, mode: Mode) -> axum::routing::MethodRouter<AppState> {
    post(move |State(state): State<AppState>, body: Bytes| admit(state, path, mode, body))
}

/// Every route: admission (with body limit, deadline and metrics), conversion when enabled,
/// and the health/metrics endpoints.
pub fn router(state: AppState) -> Router {
    let kind = |k: &'static str| Mode::Validate(Some((ESO_GROUP, k)));
    let mut admission = Router::new()
        .route(
            EXTERNALSECRET_PATH,
            admission_route(EXTERNALSECRET_PATH, kind("ExternalSecret")),
        )
        .route(
            SECRETSTORE_PATH,
            admission_route(SECRETSTORE_PATH, kind("SecretStore")),
        )
        .route(
            CLUSTERSECRETSTORE_PATH,
            admission_route(CLUSTERSECRETSTORE_PATH, kind("ClusterSecretStore")),
        )
        .route(
            VALIDATE_PATH,
            admission_route(VALIDATE_PATH, Mode::Validate(None)),
        )
        .route(MUTATE_PATH, admission_route(MUTATE_PATH, Mode::Mutate));
    if state.serve_conversion {
        admission = admission.route(CONVERT_PATH, post(convert));
    }
    let admission = admission
        .layer(DefaultBodyLimit::max(state.max_body_bytes))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            deadline_and_metrics,
        ))
        .with_state(state.clone());
    admission
        .merge(health_router(state.readiness.clone()))
        .merge(metrics_router(state.metrics.clone()))
}

/// `/healthz` and `/readyz`.
pub fn health_router(readiness: Readiness) -> Router {
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .with_state(readiness)
}

/// `/metrics` in the Prometheus text format.
pub fn metrics_router(metrics: Metrics) -> Router {
    Router::new()
        .route(
            "/metrics",
            get(|State(m): State<Metrics>| async move {
                (
                    [(
                        header::CONTENT_TYPE,
                        "text/plain; version=0.0.4; charset=utf-8",
                    )],
                    m.render(),
                )
                    .into_response()
            }),
        )
        .with_state(metrics)
}

/// Serves `app` over TLS on an already bound listener until `handle` shuts it down.
pub async fn serve_tls(
    listener: std::net::TcpListener,
    app: Router,
    tls: Arc<ServerConfig>,
    handle: Handle<SocketAddr>,
    http2: bool,
) -> std::io::Result<()> {
    let mut server =
        axum_server::from_tcp_rustls(listener, RustlsConfig::from_config(tls))?.handle(handle);
    if !http2 {
        server = server.http1_only();
    }
    server.serve(app.into_make_service()).await
}

async fn serve_plain(
    addr: SocketAddr,
    app: Router,
    shutdown: CancellationToken,
    what: &'static str,
) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding the {what} listener on {addr}"))?;
    tracing::info!(%addr, what, "listening");
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown.cancelled_owned())
        .await?;
    Ok(())
}

/// Certificate settings derived from the flags.
pub fn cert_settings(args: &ServeArgs) -> CertSettings {
    CertSettings {
        dns_names: args.dns_names(),
        lookahead: args.lookahead_interval,
        validity: args.cert_validity,
    }
}

/// `webhook serve`: runs until `shutdown` is cancelled, then drains in-flight requests for at
/// most `--shutdown-timeout`.
pub async fn run(
    args: ServeArgs,
    rules: Arc<dyn AdmissionRules>,
    readiness: Readiness,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let state = AppState::new(rules)
        .with_readiness(readiness)
        .with_request_timeout(args.request_timeout)
        .with_max_body_bytes(args.max_body_bytes)
        .with_conversion(args.serve_conversion);
    let resolver = Arc::new(CertResolver::new());
    let runtime = CertRuntime::new(
        resolver.clone(),
        state.readiness.register(CERTIFICATE),
        state.metrics.clone(),
    );
    let tls_options = TlsOptions {
        min_version: args.tls_min_version.clone(),
        ciphers: args.tls_ciphers.clone(),
        http2: args.enable_http2,
    };
    let tls = Arc::new(server_config(&tls_options, resolver)?);

    let mut tasks = tokio::task::JoinSet::new();
    match args.cert_mode {
        CertMode::Files => {
            tasks.spawn(run_files(
                args.cert_dir.clone(),
                args.dns_name.clone(),
                args.files_poll_interval,
                runtime,
                shutdown.clone(),
            ));
        }
        CertMode::SelfManaged => {
            let client = kube::Client::try_default()
                .await
                .context("connecting to the Kubernetes API for --cert-mode self")?;
            let targets = KubeTargets {
                secret_name: args.cert_secret_name.clone(),
                secret_namespace: args.cert_secret_namespace.clone(),
                validating_configs: args.webhook_config_names.clone(),
                mutating_configs: args.mutating_webhook_config_names.clone(),
                conversion_crds: if args.serve_conversion {
                    args.crd_names.clone()
                } else {
                    Vec::new()
                },
                service_name: args.service_name.clone(),
                service_namespace: args.service_namespace().to_owned(),
            };
            let store = KubeCertStore::new(client, targets);
            tasks.spawn(run_self_managed(
                store,
                cert_settings(&args),
                args.check_interval,
                runtime,
                shutdown.clone(),
            ));
        }
    }
    let upkeep_metrics = state.metrics.clone();
    let upkeep_shutdown = shutdown.clone();
    tasks.spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(5));
        loop {
            tokio::select! {
                () = upkeep_shutdown.cancelled() => return,
                _ = tick.tick() => upkeep_metrics.run_upkeep(),
            }
        }
    });

    let mut plain = tokio::task::JoinSet::new();
    let metrics_addr = parse_listen_addr(&args.metrics_addr).map_err(anyhow::Error::msg)?;
    let healthz_addr = parse_listen_addr(&args.healthz_addr).map_err(anyhow::Error::msg)?;
    match (metrics_addr, healthz_addr) {
        (Some(metrics), Some(health)) if metrics == health => {
            let app =
                health_router(state.readiness.clone()).merge(metrics_router(state.metrics.clone()));
            plain.spawn(serve_plain(
                metrics,
                app,
                shutdown.clone(),
                "metrics+health",
            ));
        }
        (metrics, health) => {
            if let Some(addr) = metrics {
                let app = metrics_router(state.metrics.clone());
                plain.spawn(serve_plain(addr, app, shutdown.clone(), "metrics"));
            }
            if let Some(addr) = health {
                let app = health_router(state.readiness.clone());
                plain.spawn(serve_plain(addr, app, shutdown.clone(), "health"));
            }
        }
    }

    let ip: IpAddr = args
        .bind_address
        .parse()
        .with_context(|| format!("invalid --bind-address {:?}", args.bind_address))?;
    let addr = SocketAddr::new(ip, args.port);
    let listener = std::net::TcpListener::bind(addr)
        .with_context(|| format!("binding the webhook listener on {addr}"))?;
    tracing::info!(%addr, cert_mode = ?args.cert_mode, "serving admission requests over TLS");
    let handle: Handle<SocketAddr> = Handle::new();
    let drain = handle.clone();
    let grace = args.shutdown_timeout;
    let stop = shutdown.clone();
    tokio::spawn(async move {
        stop.cancelled().await;
        tracing::info!("shutting down: draining in-flight requests");
        drain.graceful_shutdown(Some(grace));
    });
    let served = serve_tls(listener, router(state), tls, handle, args.enable_http2).await;
    shutdown.cancel();
    tasks.shutdown().await;
    while let Some(result) = plain.join_next().await {
        if let Ok(Err(e)) = result {
            tracing::warn!(error = %e, "auxiliary listener failed");
        }
    }
    served.context("webhook listener failed")
}
