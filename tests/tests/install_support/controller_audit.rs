//! Running the controller as the rendered install configures it, as its ServiceAccount through
//! the RBAC-enforcing proxy ([`super::rbac_proxy`]), and driving objects as the admin.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use clap::Parser;
use controller::cli::RunArgs;
use controller::externalsecret::controller::stopped;
use controller::leader::{self, LeaderConfig};
use kube::api::{Api, DeleteParams, DynamicObject, Patch, PatchParams};
use kube::core::GroupVersionKind;
use kube::discovery::ApiResource;
use serde_json::Value;
use tests::sim::Sim;

use super::rbac_proxy::{Audit, client_as, rules_for};
use super::{NAMESPACE, container_args, find};

pub const SERVICE_ACCOUNT: &str = "external-secrets-controller";
pub const TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Parser)]
struct Run {
    #[command(flatten)]
    run: RunArgs,
}

/// `controller run` flags of the rendered Deployment (the process-wide logging flags dropped).
pub fn run_args(objs: &[Value]) -> RunArgs {
    let deploy = find(objs, "Deployment", "external-secrets-controller");
    let args = container_args(deploy);
    assert_eq!(args.first().map(String::as_str), Some("run"));
    // The pod's namespace, as the kubelet expands it.
    let args = args
        .iter()
        .skip(1)
        .filter(|a| !a.starts_with("--log-format") && !a.starts_with("--loglevel"))
        .map(|a| a.replace("$(POD_NAMESPACE)", NAMESPACE));
    Run::try_parse_from(std::iter::once("controller".to_string()).chain(args))
        .expect("Deployment args parse")
        .run
}

pub async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + TIMEOUT;
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub const CLUSTER_SCOPED: &[&str] = &[
    "Namespace",
    "ClusterSecretStore",
    "ClusterExternalSecret",
    "ClusterPushSecret",
    "ClusterGenerator",
];

pub fn resource_of(doc: &DynamicObject) -> (ApiResource, bool) {
    let types = doc.types.clone().expect("apiVersion and kind");
    let gvk: GroupVersionKind = types.try_into().expect("gvk");
    let cluster = CLUSTER_SCOPED.contains(&gvk.kind.as_str());
    (ApiResource::from_gvk(&gvk), cluster)
}

pub fn dyn_api(client: &kube::Client, doc: &DynamicObject) -> Api<DynamicObject> {
    let (ar, cluster) = resource_of(doc);
    if cluster {
        Api::all_with(client.clone(), &ar)
    } else {
        let ns = doc.metadata.namespace.as_deref().expect("namespace");
        Api::namespaced_with(client.clone(), ns, &ar)
    }
}

/// Server-side applies YAML documents as the admin.
pub async fn apply(client: &kube::Client, yaml: &str) {
    for doc in serde_saphyr::from_multiple::<DynamicObject>(yaml).expect("yaml") {
        let name = doc.metadata.name.clone().expect("name");
        dyn_api(client, &doc)
            .patch(
                &name,
                &PatchParams::apply("audit").force(),
                &Patch::Apply(&doc),
            )
            .await
            .unwrap_or_else(|e| panic!("apply {name}: {e}"));
    }
}

pub async fn delete(client: &kube::Client, yaml: &str) {
    for doc in serde_saphyr::from_multiple::<DynamicObject>(yaml).expect("yaml") {
        let name = doc.metadata.name.clone().expect("name");
        dyn_api(client, &doc)
            .delete(&name, &DeleteParams::default())
            .await
            .unwrap_or_else(|e| panic!("delete {name}: {e}"));
    }
}

pub async fn get(client: &kube::Client, yaml: &str) -> Option<Value> {
    let doc = serde_saphyr::from_multiple::<DynamicObject>(yaml)
        .expect("yaml")
        .remove(0);
    let name = doc.metadata.name.clone().expect("name");
    dyn_api(client, &doc)
        .get_opt(&name)
        .await
        .expect("get")
        .map(|o| serde_json::to_value(o).expect("json"))
}

pub async fn exists(client: &kube::Client, yaml: &str) -> bool {
    get(client, yaml).await.is_some()
}

pub fn ready(obj: &Option<Value>, status: &str) -> bool {
    obj.as_ref()
        .and_then(|o| o["status"]["conditions"].as_array().cloned())
        .into_iter()
        .flatten()
        .any(|c| c["type"] == "Ready" && c["status"] == status)
}

pub fn secret_ref(ns: &str, name: &str) -> String {
    format!("apiVersion: v1\nkind: Secret\nmetadata: {{name: {name}, namespace: {ns}}}\n")
}

pub fn es_ref(ns: &str, name: &str) -> String {
    format!(
        "apiVersion: external-secrets.io/v1\nkind: ExternalSecret\nmetadata: {{name: {name}, namespace: {ns}}}\n"
    )
}

pub fn store_ref(ns: &str, name: &str) -> String {
    format!(
        "apiVersion: external-secrets.io/v1\nkind: SecretStore\nmetadata: {{name: {name}, namespace: {ns}}}\n"
    )
}

/// Whether any status condition's message of `obj` contains `needle`.
pub fn condition_says(obj: &Option<Value>, needle: &str) -> bool {
    obj.as_ref()
        .and_then(|o| o["status"]["conditions"].as_array().cloned())
        .into_iter()
        .flatten()
        .any(|c| c["message"].as_str().is_some_and(|m| m.contains(needle)))
}

pub fn ps_ref(ns: &str, name: &str) -> String {
    format!(
        "apiVersion: external-secrets.io/v1alpha1\nkind: PushSecret\nmetadata: {{name: {name}, namespace: {ns}}}\n"
    )
}

/// (group, resource, verb) the rendered install grants the controller.
pub fn granted(objs: &[Value]) -> BTreeSet<(String, String, String)> {
    let mut out = BTreeSet::new();
    for r in rules_for(objs, SERVICE_ACCOUNT) {
        for g in &r.groups {
            for res in &r.resources {
                for v in &r.verbs {
                    out.insert((g.clone(), res.clone(), v.clone()));
                }
            }
        }
    }
    out
}

/// Requests by (group/resource, verb), for the report.
pub fn table(audit: &Audit) -> BTreeMap<(String, String), usize> {
    let mut out = BTreeMap::new();
    for r in audit.records() {
        let a = r.attrs;
        let res = if a.group.is_empty() {
            a.resource
        } else {
            format!("{}.{}", a.resource, a.group)
        };
        *out.entry((res, a.verb)).or_default() += 1;
    }
    out
}

/// The controller process, in-process: leader election on the Lease, then every reconciler.
pub struct Running {
    pub client: kube::Client,
    pub audit: Audit,
    stop: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<Result<(), leader::LeaderError>>,
}

impl Running {
    /// Stops the reconcilers and waits for the lease to be released.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        tokio::time::timeout(TIMEOUT, self.task)
            .await
            .expect("controller stops")
            .expect("joined")
            .expect("lease released");
    }
}

/// Starts the controller with the flags of the Deployment in `objs`, as its ServiceAccount with
/// the RBAC `objs` binds to it.
pub async fn start(sim: &Sim, objs: &[Value]) -> Running {
    let (client, audit) = client_as(sim, objs, SERVICE_ACCOUNT).await;
    let args = run_args(objs);
    assert!(args.enable_leader_election, "the install elects a leader");
    let config = args.config();
    let lease = LeaderConfig::new(&args.leader_election_id, NAMESPACE, "audit_1");
    let (stop, stop_rx) = tokio::sync::watch::channel(false);
    let task = {
        let client = client.clone();
        tokio::spawn(async move {
            leader::run_leading(
                client.clone(),
                lease,
                stopped(stop_rx),
                move |leading| async move {
                    controller::run_controllers(client, config, stopped(leading))
                        .await
                        .expect("controllers run");
                },
            )
            .await
        })
    };
    Running {
        client,
        audit,
        stop,
        task,
    }
}
