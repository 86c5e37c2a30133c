//! In-process Kubernetes API simulator (kubesim): a stock `kube::Client` or `kubectl` talks to it over
//! HTTP or HTTPS on 127.0.0.1. Its behaviour is pinned by recorded kube-apiserver 1.36 exchanges
//! (`tests/tests/golden.rs`).

pub mod admission;
pub mod api;
pub mod auth;
pub mod builtin;
pub mod client_certs;
pub mod controllers;
pub mod crd_validation;
pub mod crds;
pub mod decode;
pub mod discovery;
pub mod discovery_table;
pub mod errors;
pub mod fields;
pub mod hooks;
pub mod list;
pub mod meta;
pub mod nonresource;
pub mod normalize;
pub mod openapi;
pub mod output;
pub mod patch;
pub mod registry;
pub mod rules_review;
pub mod schema;
pub mod server;
pub mod store;
pub mod testwebhooks;
pub mod tokens;
pub mod typeinfo;
pub mod watch;
pub mod webhooks;
pub mod write;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

use serde_json::Value;

pub use auth::{ADMIN_TOKEN, NOBODY_TOKEN, UserInfo};
pub use hooks::{Admission, AdmissionAttrs, CrdSchema, NoAdmission, SchemaHooks};

/// The service-account token issuer, as `--service-account-issuer` of the recorded apiserver.
pub const ISSUER: &str = "https://kubernetes.default.svc";

/// Request and write counters, for benchmarks that assert a quiet steady state.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Counters {
    /// (verb, resource) → requests, e.g. `("list", "secrets")`, `("watch", "widgets.example.test")`.
    pub requests: BTreeMap<(String, String), u64>,
    /// `resource/namespace/name` → writes that changed the stored object (no-op writes excluded).
    pub writes: BTreeMap<String, u64>,
}

impl Counters {
    pub fn requests_for(&self, verb: &str, resource: &str) -> u64 {
        self.requests
            .get(&(verb.to_string(), resource.to_string()))
            .copied()
            .unwrap_or(0)
    }
    pub fn total_writes(&self) -> u64 {
        self.writes.values().sum()
    }
}

pub struct State {
    pub store: store::Store,
    pub resources: Vec<registry::ResourceType>,
    pub counters: Counters,
    /// CRDs whose establishing write is queued (see [`crds`]), with when they were queued.
    pub establishing: Vec<(String, std::time::Instant)>,
}

pub struct Shared {
    pub state: Mutex<State>,
    pub admission: RwLock<Arc<dyn Admission>>,
    pub schema: RwLock<Arc<dyn SchemaHooks>>,
    /// Bearer token → user.
    pub tokens: Mutex<HashMap<String, UserInfo>>,
    pub controllers: std::sync::atomic::AtomicBool,
    pub wake: tokio::sync::Notify,
    pub idle: tokio::sync::watch::Sender<u64>,
    /// The address clients see (shows up in `/api`'s serverAddressByClientCIDRs).
    pub server_address: Mutex<String>,
    /// Bumped by [`Sim::compact`]; open watches end when it changes.
    pub compactions: tokio::sync::watch::Sender<u64>,
    /// Webhook endpoints → local sockets.
    pub routes: webhooks::Routes,
    /// Signs ServiceAccount tokens and checks them (TokenRequest, TokenReview, OIDC discovery).
    pub tokens_issuer: tokens::TokenIssuer,
}

impl Shared {
    pub fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
    pub fn admission(&self) -> Arc<dyn Admission> {
        self.admission
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
    pub fn schema(&self) -> Arc<dyn SchemaHooks> {
        self.schema
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

/// How to start a simulator.
#[derive(Clone, Debug)]
pub struct SimOptions {
    /// Run the garbage-collector, namespace and serviceaccount controllers.
    pub controllers: bool,
    /// Fixed HTTP port (0 = any free port).
    pub port: u16,
    /// Create `default`, `kube-system`, `kube-public` and `kube-node-lease` at start, as a real
    /// cluster's system-namespaces controller does.
    pub system_namespaces: bool,
}

impl Default for SimOptions {
    fn default() -> Self {
        SimOptions {
            controllers: true,
            port: 0,
            system_namespaces: true,
        }
    }
}

/// A running simulator. Dropping it stops the servers.
pub struct Sim {
    shared: Arc<Shared>,
    http: std::net::SocketAddr,
    https: std::net::SocketAddr,
    ca_pem: String,
    _dir: tempfile::TempDir,
    kubeconfig: PathBuf,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Sim {
    pub async fn start() -> anyhow::Result<Sim> {
        Self::start_with(SimOptions::default()).await
    }

    pub async fn start_with(opts: SimOptions) -> anyhow::Result<Sim> {
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        let routes = webhooks::Routes::default();
        let issuer = tokens::TokenIssuer::new(ISSUER).map_err(|e| anyhow::anyhow!("{e}"))?;
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                store: store::Store::new(),
                resources: registry::builtins(),
                counters: Counters::default(),
                establishing: Vec::new(),
            }),
            admission: RwLock::new(Arc::new(webhooks::WebhookAdmission {
                routes: routes.clone(),
            })),
            schema: RwLock::new(Arc::new(CrdSchema)),
            tokens: Mutex::new(HashMap::from([
                (
                    ADMIN_TOKEN.to_string(),
                    UserInfo::cert("admin", &["system:masters"]),
                ),
                (NOBODY_TOKEN.to_string(), UserInfo::cert("nobody", &[])),
            ])),
            controllers: std::sync::atomic::AtomicBool::new(opts.controllers),
            wake: tokio::sync::Notify::new(),
            idle: tokio::sync::watch::channel(0).0,
            server_address: Mutex::new(String::new()),
            compactions: tokio::sync::watch::channel(0).0,
            routes,
            tokens_issuer: issuer,
        });
        let (http, https, ca_pem, tasks) = server::spawn(shared.clone(), opts.port).await?;
        if let Ok(mut a) = shared.server_address.lock() {
            *a = https.to_string();
        }
        let mut tasks = tasks;
        tasks.push(tokio::spawn(controllers::run(shared.clone())));
        let dir = tempfile::tempdir()?;
        let kubeconfig = dir.path().join("kubeconfig");
        std::fs::write(
            &kubeconfig,
            kubeconfig_yaml(&format!("https://{https}"), &ca_pem, ADMIN_TOKEN),
        )?;
        let sim = Sim {
            shared,
            http,
            https,
            ca_pem,
            _dir: dir,
            kubeconfig,
            tasks,
        };
        if opts.system_namespaces {
            let api = kube::Api::<k8s_openapi::api::core::v1::Namespace>::all(sim.client());
            for name in ["default", "kube-system", "kube-public", "kube-node-lease"] {
                let ns = k8s_openapi::api::core::v1::Namespace {
                    metadata: kube::api::ObjectMeta {
                        name: Some(name.into()),
                        ..Default::default()
                    },
                    ..Default::default()
                };
                api.create(&kube::api::PostParams::default(), &ns).await?;
            }
        }
        Ok(sim)
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.http)
    }
    /// `https://127.0.0.1:<port>` (self-signed; see [`Sim::ca_pem`]).
    pub fn https_url(&self) -> String {
        format!("https://{}", self.https)
    }
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }
    pub fn kubeconfig_path(&self) -> &Path {
        &self.kubeconfig
    }
    pub fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// A client authenticated as the cluster admin.
    pub fn client(&self) -> kube::Client {
        self.client_with_token(Some(ADMIN_TOKEN))
    }

    /// A client with the given bearer token (None = anonymous).
    pub fn client_with_token(&self, token: Option<&str>) -> kube::Client {
        let uri: http::Uri = self.url().parse().unwrap_or_default();
        let mut cfg = kube::Config::new(uri);
        cfg.default_namespace = "default".into();
        if let Some(t) = token {
            cfg.auth_info.token = Some(t.to_string().into());
        }
        // The URL is ours and well-formed, so building the client cannot fail on input.
        kube::Client::try_from(cfg).unwrap_or_else(|e| panic!("kube client for the simulator: {e}"))
    }

    /// Registers a bearer token for a user.
    pub fn add_token(&self, token: &str, user: UserInfo) {
        if let Ok(mut t) = self.shared.tokens.lock() {
            t.insert(token.into(), user);
        }
    }

    pub fn set_admission(&self, a: Arc<dyn Admission>) {
        *self
            .shared
            .admission
            .write()
            .unwrap_or_else(|p| p.into_inner()) = a;
    }
    /// Sends webhook calls for `clientConfig.service` {namespace, name, port} to `to` (the TLS
    /// server name stays `<name>.<namespace>.svc`).
    pub fn map_service(&self, namespace: &str, name: &str, port: u16, to: std::net::SocketAddr) {
        self.shared
            .routes
            .insert(&format!("{name}.{namespace}.svc:{port}"), to);
    }

    /// Sends webhook calls for a `clientConfig.url` authority (`host:port`) to `to`; error
    /// messages keep naming the configured URL.
    pub fn map_address(&self, authority: &str, to: std::net::SocketAddr) {
        self.shared.routes.insert(authority, to);
    }

    /// The address `/api` reports in `serverAddressByClientCIDRs` (default: the HTTPS listener).
    pub fn set_server_address(&self, addr: &str) {
        if let Ok(mut a) = self.shared.server_address.lock() {
            *a = addr.to_string();
        }
    }

    pub fn set_schema_hooks(&self, s: Arc<dyn SchemaHooks>) {
        *self
            .shared
            .schema
            .write()
            .unwrap_or_else(|p| p.into_inner()) = s;
    }

    /// Turns the built-in controllers (GC, namespace, serviceaccount) on or off.
    pub fn set_controllers(&self, on: bool) {
        self.shared
            .controllers
            .store(on, std::sync::atomic::Ordering::SeqCst);
        self.shared.wake.notify_one();
    }

    /// Compacts the history (every resourceVersion so far becomes too old: watches from it get
    /// a 410 `Expired` ERROR event, Exact lists a 410) and ends all open watches, so clients
    /// must relist.
    pub fn compact(&self) {
        self.shared.lock().store.compact();
        self.shared.compactions.send_modify(|n| *n += 1);
    }

    /// Moves the global resourceVersion on, as a write to an object nobody looks at would (a
    /// real apiserver renews its own identity Lease every 10 s): later lists and bookmarks carry
    /// a resourceVersion no object has.
    pub fn background_write(&self) {
        self.shared.lock().store.skip_rv();
    }

    /// Waits until the controllers have nothing left to do.
    pub async fn settle(&self) {
        controllers::settle(&self.shared).await;
    }

    /// Creates CRDs (they are established immediately) and waits until they are served.
    pub async fn install_crds(
        &self,
        crds: &[k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition],
    ) -> anyhow::Result<()> {
        for crd in crds {
            let body = serde_json::to_value(crd)?;
            api::create_crd_direct(&self.shared, body)?;
        }
        Ok(())
    }

    pub fn counters(&self) -> Counters {
        self.shared.lock().counters.clone()
    }
    pub fn reset_counters(&self) {
        self.shared.lock().counters = Counters::default();
    }

    /// Current stored object (raw), for assertions.
    pub fn object(&self, storage: &str, ns: &str, name: &str) -> Option<Value> {
        self.shared
            .lock()
            .store
            .get(&(storage.into(), ns.into(), name.into()))
            .cloned()
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// A kubeconfig for kubectl pointing at `server` with a bearer token.
pub fn kubeconfig_yaml(server: &str, ca_pem: &str, token: &str) -> String {
    use base64::Engine;
    let ca = base64::engine::general_purpose::STANDARD.encode(ca_pem);
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: kubesim\n  cluster:\n    server: {server}\n    certificate-authority-data: {ca}\nusers:\n- name: admin\n  user:\n    token: {token}\ncontexts:\n- name: kubesim\n  context:\n    cluster: kubesim\n    user: admin\n    namespace: default\ncurrent-context: kubesim\n"
    )
}
