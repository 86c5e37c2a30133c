//! Shared harness for the PushSecret end-to-end tests: a simulator with the CRDs, the store and
//! PushSecret reconcilers running in-process, and helpers to apply manifests and wait.
#![allow(dead_code)]

use std::future::Future;
use std::time::Duration;

use controller::provider::{ClientContext, SecretsClient, StoreInfo, registry};
use controller::pushsecret::{self, PushSecretConfig};
use controller::stores::{self, ClientCache, StoreConfig, StoreIndex};
use k8s_openapi::api::core::v1::{Namespace, Secret};
use kube::api::{Api, ApiResource, DeleteParams, DynamicObject, ObjectMeta, PostParams};
use kube::{Client, ResourceExt};
use serde_json::Value;
use shared::api::v1::{SecretStore, SecretStoreKind};
use shared::api::v1alpha1::PushSecret;
use tests::sim::Sim;
use tokio::sync::watch;

pub struct Env {
    pub sim: Sim,
    pub client: Client,
    stop: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for Env {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        for t in &self.tasks {
            t.abort();
        }
    }
}

fn shutdown(rx: &watch::Receiver<bool>) -> impl Future<Output = ()> + Send + Sync + 'static {
    let mut rx = rx.clone();
    async move {
        let _ = rx.wait_for(|v| *v).await;
    }
}

/// Starts the simulator, installs the CRDs, creates `namespaces` and runs the store and
/// PushSecret reconcilers.
pub async fn start(namespaces: &[&str]) -> Env {
    start_with(namespaces, true).await
}

/// Like [`start`]; without the store reconciler (`stores_validated == false`) no store ever
/// gets a Ready condition, as in a cluster whose store controller has not caught up yet.
pub async fn start_with(namespaces: &[&str], stores_validated: bool) -> Env {
    let sim = Sim::start().await.unwrap();
    sim.install_crds(&shared::api::all_crds()).await.unwrap();
    let client = sim.client();
    for ns in namespaces {
        create_namespace(&client, ns, &[]).await;
    }
    let (stop, rx) = watch::channel(false);
    let cfg = StoreConfig::default();
    let (index, drive) = StoreIndex::start(client.clone(), &cfg).await;
    let mut tasks = vec![tokio::spawn(drive)];
    index.wait_ready().await.unwrap();
    if stores_validated {
        let client = client.clone();
        let cfg = cfg.clone();
        let stop = shutdown(&rx);
        tasks.push(tokio::spawn(async move {
            stores::run_with_push_finalizers(
                client,
                &cfg,
                stores::DEFAULT_STORE_REQUEUE,
                true,
                stop,
            )
            .await
        }));
    }
    {
        let client = client.clone();
        let stop = shutdown(&rx);
        tasks.push(tokio::spawn(async move {
            pushsecret::run(
                client,
                index,
                ClientCache::new(),
                PushSecretConfig::default(),
                stop,
            )
            .await
        }));
    }
    Env {
        sim,
        client,
        stop,
        tasks,
    }
}

pub async fn create_namespace(client: &Client, name: &str, labels: &[(&str, &str)]) {
    let ns = Namespace {
        metadata: ObjectMeta {
            name: Some(name.into()),
            labels: Some(
                labels
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            ),
            ..Default::default()
        },
        ..Default::default()
    };
    // The simulator creates the system namespaces (default, kube-system, ...) itself.
    match Api::<Namespace>::all(client.clone())
        .create(&PostParams::default(), &ns)
        .await
    {
        Ok(_) => {}
        Err(kube::Error::Api(s)) if s.code == 409 => {}
        Err(e) => panic!("creating namespace {name}: {e}"),
    }
}

fn api_resource(api_version: &str, kind: &str) -> (ApiResource, bool) {
    let (group, version) = match api_version.split_once('/') {
        Some((g, v)) => (g.to_string(), v.to_string()),
        None => (String::new(), api_version.to_string()),
    };
    let plural = format!("{}s", kind.to_ascii_lowercase());
    let cluster = kind.starts_with("Cluster") || kind == "Namespace";
    (
        ApiResource {
            group,
            version,
            api_version: api_version.into(),
            kind: kind.into(),
            plural,
        },
        !cluster,
    )
}

fn dynamic_api(client: &Client, obj: &Value, default_ns: &str) -> (Api<DynamicObject>, String) {
    let api_version = obj["apiVersion"].as_str().unwrap();
    let kind = obj["kind"].as_str().unwrap();
    let (ar, namespaced) = api_resource(api_version, kind);
    let name = obj["metadata"]["name"].as_str().unwrap().to_string();
    let api = if namespaced {
        let ns = obj["metadata"]["namespace"].as_str().unwrap_or(default_ns);
        Api::namespaced_with(client.clone(), ns, &ar)
    } else {
        Api::all_with(client.clone(), &ar)
    };
    (api, name)
}

fn docs(yaml: &str) -> Vec<Value> {
    serde_saphyr::from_multiple::<Value>(yaml)
        .unwrap()
        .into_iter()
        .filter(|v| !v.is_null())
        .collect()
}

impl Env {
    /// Creates every document of `yaml` (objects without a namespace go to `ns`).
    pub async fn apply(&self, ns: &str, yaml: &str) {
        for doc in docs(yaml) {
            let (api, name) = dynamic_api(&self.client, &doc, ns);
            let obj: DynamicObject = serde_json::from_value(doc.clone()).unwrap();
            if api.get_opt(&name).await.unwrap().is_some() {
                let mut current = api.get(&name).await.unwrap();
                let mut merged = serde_json::to_value(&current).unwrap();
                for (k, v) in doc.as_object().unwrap() {
                    if k != "metadata" {
                        merged[k] = v.clone();
                    }
                }
                if let Some(labels) = doc["metadata"].get("labels") {
                    merged["metadata"]["labels"] = labels.clone();
                }
                current = serde_json::from_value(merged).unwrap();
                api.replace(&name, &PostParams::default(), &current)
                    .await
                    .unwrap_or_else(|e| panic!("replace {name}: {e}"));
            } else {
                api.create(&PostParams::default(), &obj)
                    .await
                    .unwrap_or_else(|e| panic!("create {name}: {e}"));
            }
        }
    }

    /// Deletes every document of `yaml`.
    pub async fn delete(&self, ns: &str, yaml: &str) {
        for doc in docs(yaml) {
            let (api, name) = dynamic_api(&self.client, &doc, ns);
            api.delete(&name, &DeleteParams::default()).await.unwrap();
        }
    }

    pub fn secrets(&self, ns: &str) -> Api<Secret> {
        Api::namespaced(self.client.clone(), ns)
    }

    pub fn pushsecrets(&self, ns: &str) -> Api<PushSecret> {
        Api::namespaced(self.client.clone(), ns)
    }

    /// A provider client for a SecretStore, as the reconcilers build it (for reading back what
    /// was pushed to the fake provider).
    pub async fn store_client(&self, ns: &str, store: &str) -> Box<dyn SecretsClient> {
        let ss = Api::<SecretStore>::namespaced(self.client.clone(), ns)
            .get(store)
            .await
            .unwrap();
        let provider = registry::provider_for(&ss.spec).unwrap();
        provider
            .new_client(&ClientContext::new(
                self.client.clone(),
                StoreInfo {
                    kind: SecretStoreKind::SecretStore,
                    name: store.into(),
                    namespace: Some(ns.into()),
                    uid: ss.metadata.uid.clone().unwrap_or_default(),
                    generation: ss.metadata.generation.unwrap_or_default(),
                    spec: ss.spec.clone(),
                },
                ns.into(),
            ))
            .await
            .unwrap()
    }

    /// The value under `key` as the SecretStore's provider returns it (lossy UTF-8), or `None`
    /// when the read fails (e.g. nothing was pushed there).
    pub async fn store_text(&self, ns: &str, store: &str, key: &str) -> Option<String> {
        self.store_client(ns, store)
            .await
            .get_secret(&shared::api::v1::ExternalSecretDataRemoteRef {
                key: key.into(),
                ..Default::default()
            })
            .await
            .ok()
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
    }

    /// Waits for the PushSecret's Ready condition to have `reason`; returns the object.
    pub async fn wait_ready_reason(&self, ns: &str, name: &str, reason: &str) -> PushSecret {
        let api = self.pushsecrets(ns);
        let mut last = None;
        for _ in 0..150 {
            if let Some(ps) = api.get_opt(name).await.unwrap() {
                let cond = ps
                    .status
                    .as_ref()
                    .and_then(|s| s.conditions.as_ref())
                    .and_then(|c| c.iter().find(|c| c.type_ == "Ready"))
                    .cloned();
                if cond.as_ref().and_then(|c| c.reason.as_deref()) == Some(reason) {
                    return ps;
                }
                last = cond;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("PushSecret {ns}/{name} never got reason {reason}; last condition: {last:?}");
    }

    /// Polls `check` until it returns Some, for up to `secs` seconds.
    pub async fn eventually<T, F, Fut>(&self, secs: u64, what: &str, mut check: F) -> T
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Option<T>>,
    {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
        loop {
            if let Some(v) = check().await {
                return v;
            }
            if tokio::time::Instant::now() > deadline {
                panic!("timed out waiting for {what}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until the object is gone.
    pub async fn wait_gone<K>(&self, api: &Api<K>, name: &str)
    where
        K: kube::Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
    {
        self.eventually(15, &format!("{name} to be deleted"), || async {
            api.get_opt(name).await.unwrap().is_none().then_some(())
        })
        .await
    }
}

/// Finalizers of an object, for assertions.
pub fn finalizers<K: kube::Resource>(obj: &K) -> Vec<String> {
    obj.finalizers().to_vec()
}

/// The data of a Secret as UTF-8 strings.
pub fn string_data(s: &Secret) -> std::collections::BTreeMap<String, String> {
    s.data
        .iter()
        .flatten()
        .map(|(k, v)| (k.clone(), String::from_utf8_lossy(&v.0).into_owned()))
        .collect()
}

/// A Kubernetes-provider SecretStore named `name` writing into namespace `remote` of the same
/// (simulated) cluster.
pub fn kube_store(name: &str, remote: &str) -> String {
    format!(
        "apiVersion: external-secrets.io/v1\nkind: SecretStore\nmetadata: {{name: {name}}}\nspec:\n  provider:\n    kubernetes:\n      remoteNamespace: {remote}\n"
    )
}

impl Env {
    /// A remote Secret's data, if the Secret exists.
    pub async fn remote_data(
        &self,
        ns: &str,
        name: &str,
    ) -> Option<std::collections::BTreeMap<String, String>> {
        self.secrets(ns)
            .get_opt(name)
            .await
            .unwrap()
            .map(|s| string_data(&s))
    }

    /// Waits until the remote Secret exists and `check` accepts its data.
    pub async fn wait_remote<F>(
        &self,
        ns: &str,
        name: &str,
        what: &str,
        check: F,
    ) -> std::collections::BTreeMap<String, String>
    where
        F: Fn(&std::collections::BTreeMap<String, String>) -> bool,
    {
        self.eventually(20, what, || async {
            self.remote_data(ns, name).await.filter(|d| check(d))
        })
        .await
    }
}

impl Env {
    /// Also runs the ClusterPushSecret reconciler.
    pub fn start_cluster_push_secrets(&mut self) {
        let client = self.client.clone();
        let mut rx = self.stop.subscribe();
        self.tasks.push(tokio::spawn(async move {
            controller::clusterpushsecret::run(client, async move {
                let _ = rx.wait_for(|v| *v).await;
            })
            .await
        }));
    }
}
