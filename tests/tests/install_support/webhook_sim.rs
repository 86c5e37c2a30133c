//! The webhook against the API simulator with the install's own RBAC: an authorizing proxy that
//! evaluates the rendered (Cluster)Roles bound to the webhook's ServiceAccount the way RBAC does
//! (verbs, resources, `resourceNames`, which never match `create`) before forwarding as the
//! admin; applying the rendered install; the `serve` flags of the rendered Deployment.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use kube::discovery::{Discovery, Scope};
use serde_json::{Value, json};
use tests::sim::Sim;
use webhook::certs::k8s::KubeTargets;
use webhook::cli::ServeArgs;

use super::{NAMESPACE, container_args, describe, find, kind, name};

pub const SERVICE_ACCOUNT: &str = "external-secrets-webhook";

// ---------------------------------------------------------------------------------------------
// RBAC as the apiserver evaluates it.

/// One rule of a role bound to the service account; `namespace` is `None` for cluster-wide.
#[derive(Clone, Debug)]
pub struct Rule {
    namespace: Option<String>,
    groups: Vec<String>,
    resources: Vec<String>,
    verbs: Vec<String>,
    names: Vec<String>,
}

/// What a request asks for, from its method and path.
#[derive(Debug)]
pub struct Attrs {
    verb: String,
    group: String,
    resource: String,
    namespace: String,
    name: String,
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s.as_str().map(String::from))
        .collect()
}

pub fn rules_for(objs: &[Value], service_account: &str) -> Vec<Rule> {
    let mut rules = Vec::new();
    for binding in objs
        .iter()
        .filter(|o| matches!(kind(o), "RoleBinding" | "ClusterRoleBinding"))
    {
        let bound = binding["subjects"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|s| {
                s["kind"] == "ServiceAccount"
                    && s["name"] == service_account
                    && s["namespace"] == NAMESPACE
            });
        if !bound {
            continue;
        }
        let role = find(
            objs,
            binding["roleRef"]["kind"].as_str().unwrap_or_default(),
            binding["roleRef"]["name"].as_str().unwrap_or_default(),
        );
        let namespace = (kind(binding) == "RoleBinding").then(|| {
            binding["metadata"]["namespace"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        });
        for r in role["rules"].as_array().into_iter().flatten() {
            rules.push(Rule {
                namespace: namespace.clone(),
                groups: strings(&r["apiGroups"]),
                resources: strings(&r["resources"]),
                verbs: strings(&r["verbs"]),
                names: strings(&r["resourceNames"]),
            });
        }
    }
    rules
}

/// `None` for non-resource paths (discovery, version), which every authenticated user may read.
pub fn attributes(method: &Method, path: &str, query: &str) -> Option<Attrs> {
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    let (group, rest) = match parts.as_slice() {
        ["api", "v1", rest @ ..] if !rest.is_empty() => ("", rest),
        ["apis", group, _version, rest @ ..] if !rest.is_empty() => (*group, rest),
        _ => return None,
    };
    let (namespace, rest) = match rest {
        ["namespaces", ns, rest @ ..] if !rest.is_empty() => (*ns, rest),
        _ => ("", rest),
    };
    let (resource, name, sub) = match rest {
        [r] => (*r, "", ""),
        [r, n] => (*r, *n, ""),
        [r, n, s] => (*r, *n, *s),
        _ => return None,
    };
    let watch = query
        .split('&')
        .any(|p| p == "watch=true" || p == "watch=1");
    let verb = match (method.as_str(), name.is_empty()) {
        ("GET", _) if watch => "watch",
        ("GET", true) => "list",
        ("GET", false) => "get",
        ("POST", _) => "create",
        ("PUT", _) => "update",
        ("PATCH", _) => "patch",
        ("DELETE", true) => "deletecollection",
        ("DELETE", false) => "delete",
        _ => "unknown",
    };
    Some(Attrs {
        verb: verb.to_owned(),
        group: group.to_owned(),
        resource: if sub.is_empty() {
            resource.to_owned()
        } else {
            format!("{resource}/{sub}")
        },
        namespace: namespace.to_owned(),
        // A create names its object in the body, so resourceNames can never match it.
        name: if verb == "create" {
            String::new()
        } else {
            name.to_owned()
        },
    })
}

pub fn permits(rule: &Rule, a: &Attrs) -> bool {
    rule.namespace.as_deref().is_none_or(|ns| ns == a.namespace)
        && rule.groups.contains(&a.group)
        && rule.resources.contains(&a.resource)
        && rule.verbs.contains(&a.verb)
        && (rule.names.is_empty() || rule.names.contains(&a.name))
}

// ---------------------------------------------------------------------------------------------
// The authorizing proxy in front of the simulator.

#[derive(Clone)]
pub struct Proxy {
    upstream: kube::Client,
    rules: Arc<Vec<Rule>>,
    denied: Arc<std::sync::Mutex<Vec<String>>>,
}

async fn forward(State(p): State<Proxy>, request: Request) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let query = request.uri().query().unwrap_or_default().to_owned();
    let headers: HeaderMap = request.headers().clone();
    if let Some(a) = attributes(&method, &path, &query)
        && !p.rules.iter().any(|r| permits(r, &a))
    {
        let message = format!(
            "{} {:?} is forbidden: User \"system:serviceaccount:{NAMESPACE}:{SERVICE_ACCOUNT}\" \
             cannot {} resource {:?} in API group {:?} in the namespace {:?}",
            a.resource, a.name, a.verb, a.resource, a.group, a.namespace
        );
        p.denied
            .lock()
            .expect("lock")
            .push(format!("{} {} {}", a.verb, a.resource, a.name));
        let status = json!({"kind": "Status", "apiVersion": "v1", "metadata": {},
            "status": "Failure", "message": message, "reason": "Forbidden", "code": 403});
        return (
            StatusCode::FORBIDDEN,
            [("content-type", "application/json")],
            status.to_string(),
        )
            .into_response();
    }
    let body: Bytes = match axum::body::to_bytes(request.into_body(), 16 << 20).await {
        Ok(b) => b,
        Err(e) => return (StatusCode::BAD_REQUEST, e.to_string()).into_response(),
    };
    let uri = if query.is_empty() {
        path
    } else {
        format!("{path}?{query}")
    };
    let mut upstream = http::Request::builder().method(method).uri(uri);
    for name in ["content-type", "accept"] {
        if let Some(v) = headers.get(name) {
            upstream = upstream.header(name, v);
        }
    }
    let Ok(upstream) = upstream.body(kube::client::Body::from(body.to_vec())) else {
        return (StatusCode::BAD_REQUEST, "unforwardable request").into_response();
    };
    // Forwarded as the admin, streaming (watches stay open).
    match p.upstream.send(upstream).await {
        Ok(r) => {
            let (parts, body) = r.into_parts();
            Response::from_parts(parts, axum::body::Body::new(body))
        }
        Err(e) => (StatusCode::BAD_GATEWAY, e.to_string()).into_response(),
    }
}

/// A kube client acting as the webhook's ServiceAccount, and the proxy's refusals so far.
pub async fn webhook_client(
    sim: &Sim,
    objs: &[Value],
) -> (kube::Client, Arc<std::sync::Mutex<Vec<String>>>) {
    let proxy = Proxy {
        upstream: sim.client(),
        rules: Arc::new(rules_for(objs, SERVICE_ACCOUNT)),
        denied: Arc::default(),
    };
    let denied = proxy.denied.clone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let app = axum::Router::new().fallback(forward).with_state(proxy);
    tokio::spawn(async move { axum::serve(listener, app).await });
    let mut cfg = kube::Config::new(format!("http://{addr}").parse().expect("uri"));
    cfg.default_namespace = NAMESPACE.into();
    (kube::Client::try_from(cfg).expect("client"), denied)
}

pub async fn apply_install(sim: &Sim, objs: &[Value]) {
    let client = sim.client();
    let wanted = [
        "CustomResourceDefinition",
        "Namespace",
        "Secret",
        "ValidatingWebhookConfiguration",
        "MutatingWebhookConfiguration",
    ];
    for pass in [&wanted[..1], &wanted[1..]] {
        let discovery = Discovery::new(client.clone())
            .run()
            .await
            .expect("discovery");
        for k in pass {
            for obj in objs.iter().filter(|o| kind(o) == *k) {
                let api_version = obj["apiVersion"].as_str().unwrap_or_default();
                let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
                let (ar, caps) = discovery
                    .get(group)
                    .and_then(|g| {
                        g.versioned_resources(version)
                            .into_iter()
                            .find(|(ar, _)| ar.kind == *k)
                    })
                    .unwrap_or_else(|| panic!("simulator does not serve {k}"));
                let api: Api<DynamicObject> = match caps.scope {
                    Scope::Namespaced => Api::namespaced_with(
                        client.clone(),
                        obj["metadata"]["namespace"].as_str().unwrap_or("default"),
                        &ar,
                    ),
                    Scope::Cluster => Api::all_with(client.clone(), &ar),
                };
                api.patch(
                    name(obj),
                    &PatchParams::apply("kubectl").force(),
                    &Patch::Apply(obj),
                )
                .await
                .unwrap_or_else(|e| panic!("{}: {e}", describe(obj)));
            }
        }
        sim.settle().await;
    }
}

/// `webhook serve` flags of the rendered Deployment, with POD_NAMESPACE as the pod would get it.
pub fn serve_args(objs: &[Value]) -> ServeArgs {
    let deploy = find(objs, "Deployment", "external-secrets-webhook");
    let args = container_args(deploy);
    assert_eq!(args.first().map(String::as_str), Some("serve"));
    let mut args = ServeArgs::try_parse_from(args.iter().skip(1)).expect("Deployment args parse");
    args.cert_secret_namespace = NAMESPACE.to_owned();
    args
}

pub fn targets(args: &ServeArgs) -> KubeTargets {
    KubeTargets {
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
    }
}

pub async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(20);
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The webhook as its Deployment runs it, in-process: self-managed certificate through the
/// install's RBAC, namespace and ClusterSecretStore caches watched through the same RBAC, the
/// real rules behind `serve_tls`, and the simulator's calls for the install's Service routed to
/// it. Dropping it stops the certificate loop and the listener.
pub struct RunningWebhook {
    pub args: ServeArgs,
    pub denied: Arc<std::sync::Mutex<Vec<String>>>,
    shutdown: tokio_util::sync::CancellationToken,
    handle: axum_server::Handle<std::net::SocketAddr>,
}

impl Drop for RunningWebhook {
    fn drop(&mut self) {
        self.shutdown.cancel();
        self.handle.shutdown();
    }
}

pub async fn start_webhook(sim: &Sim, objs: &[Value]) -> RunningWebhook {
    use webhook::certs::bundle::CertSettings;
    use webhook::certs::k8s::KubeCertStore;
    use webhook::certs::maintain::{CertRuntime, run_self_managed};
    use webhook::health::Readiness;
    use webhook::metrics::Metrics;
    use webhook::rules::{Caches, EsoRules, REFLECTORS};
    use webhook::tls_reload::{CertResolver, TlsOptions, server_config};

    shared::telemetry::install_crypto_provider();
    let args = serve_args(objs);
    let (client, denied) = webhook_client(sim, objs).await;
    let readiness = Readiness::new();
    let resolver = Arc::new(CertResolver::new());
    let runtime = CertRuntime::new(
        resolver.clone(),
        readiness.register("certs"),
        Metrics::new(),
    );
    let caches = Caches::watch(client.clone(), readiness.register(REFLECTORS));
    let rules = EsoRules::new(webhook::rules_options(&args), caches);
    let shutdown = tokio_util::sync::CancellationToken::new();
    tokio::spawn(run_self_managed(
        KubeCertStore::new(client, targets(&args)),
        CertSettings {
            dns_names: args.dns_names(),
            lookahead: args.lookahead_interval,
            validity: args.cert_validity,
        },
        Duration::from_millis(500),
        runtime,
        shutdown.clone(),
    ));
    let tls = Arc::new(server_config(&TlsOptions::default(), resolver).expect("tls config"));
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.set_nonblocking(true).expect("nonblocking");
    let addr = listener.local_addr().expect("addr");
    let handle = axum_server::Handle::new();
    let state = webhook::AppState::new(Arc::new(rules)).with_readiness(readiness.clone());
    tokio::spawn(webhook::server::serve_tls(
        listener,
        webhook::router(state),
        tls,
        handle.clone(),
        false,
    ));
    let service = find(objs, "Service", &args.service_name);
    let port = service["spec"]["ports"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|p| p["name"] == "webhook" || p["targetPort"] == "webhook")
        .or_else(|| service["spec"]["ports"].get(0))
        .and_then(|p| p["port"].as_u64())
        .and_then(|p| u16::try_from(p).ok())
        .expect("webhook Service port");
    sim.map_service(args.service_namespace(), &args.service_name, port, addr);
    eventually(
        "the webhook ready (certificate served, caches synced)",
        || {
            let ready = readiness.is_ready();
            async move { ready }
        },
    )
    .await;
    // The CA reaches the configurations right after the certificate is served.
    let configs = args.webhook_config_names.clone();
    let admin = sim.client();
    eventually("caBundle injected", || {
        let (configs, admin) = (configs.clone(), admin.clone());
        async move {
            for n in configs {
                let api: Api<
                    k8s_openapi::api::admissionregistration::v1::ValidatingWebhookConfiguration,
                > = Api::all(admin.clone());
                let Ok(vwc) = api.get(&n).await else {
                    return false;
                };
                if vwc
                    .webhooks
                    .unwrap_or_default()
                    .iter()
                    .any(|w| w.client_config.ca_bundle.is_none())
                {
                    return false;
                }
            }
            true
        }
    })
    .await;
    RunningWebhook {
        args,
        denied,
        shutdown,
        handle,
    }
}
