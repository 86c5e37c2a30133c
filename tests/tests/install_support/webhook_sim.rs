//! The webhook against the API simulator with the install's own RBAC (through the authorizing
//! proxy of [`super::rbac_proxy`]); applying the rendered install; the `serve` flags of the
//! rendered Deployment.

use std::sync::Arc;
use std::time::{Duration, Instant};

use kube::api::{Api, DynamicObject, Patch, PatchParams};
use kube::discovery::{Discovery, Scope};
use serde_json::Value;
use tests::sim::Sim;
use webhook::certs::k8s::KubeTargets;
use webhook::cli::ServeArgs;

use super::rbac_proxy::client_as;
use super::{NAMESPACE, container_args, describe, find, kind, name};

pub const SERVICE_ACCOUNT: &str = "external-secrets-webhook";

/// A kube client acting as the webhook's ServiceAccount, and the proxy's refusals so far.
pub async fn webhook_client(
    sim: &Sim,
    objs: &[Value],
) -> (kube::Client, Arc<std::sync::Mutex<Vec<String>>>) {
    let (client, audit) = client_as(sim, objs, SERVICE_ACCOUNT).await;
    (client, audit.denied)
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
