//! Shared harness for the controller end-to-end suites (`controller_es_*`, `controller_ces_*`):
//! a simulator with the CRDs installed and the controller running in-process.
#![allow(dead_code)]

use std::future::Future;
use std::time::Duration;

use controller::Config;
use k8s_openapi::api::core::v1::{Namespace, Secret};
use kube::api::{DeleteParams, Patch, PatchParams, PostParams};
use kube::{Api, Client};
use serde_json::{Value, json};
use shared::api::v1::{ExternalSecret, SecretStore};
use tests::sim::Sim;
use tokio::sync::oneshot;

/// How long any eventual condition may take. Generous: CI has two shared cores.
pub const TIMEOUT: Duration = Duration::from_secs(60);

pub struct Env {
    pub sim: Sim,
    pub client: Client,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Env {
    pub async fn start() -> Env {
        Self::start_with(Config::default()).await
    }

    pub async fn start_with(config: Config) -> Env {
        if std::env::var("ESO_TEST_LOG").is_ok() {
            shared::telemetry::init_logging(shared::telemetry::LogFormat::Text, "debug");
        }
        let sim = Sim::start().await.expect("simulator starts");
        sim.install_crds(&shared::api::all_crds())
            .await
            .expect("CRDs install");
        let client = sim.client();
        let mut env = Env {
            sim,
            client,
            stop: None,
            task: None,
        };
        env.run(config);
        env
    }

    /// Starts the controllers (again).
    pub fn run(&mut self, config: Config) {
        let (tx, rx) = oneshot::channel::<()>();
        let client = self.client.clone();
        self.task = Some(tokio::spawn(async move {
            let shutdown = async move {
                let _ = rx.await;
            };
            if let Err(e) = controller::run_controllers(client, config, shutdown).await {
                panic!("controllers failed: {e}");
            }
        }));
        self.stop = Some(tx);
    }

    /// Stops the controllers and waits until they are gone.
    pub async fn halt(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = tokio::time::timeout(TIMEOUT, task).await;
        }
    }

    pub async fn namespace(&self, name: &str) {
        self.namespace_with(name, json!({})).await;
    }

    pub async fn namespace_with(&self, name: &str, metadata: Value) {
        let mut meta = metadata;
        meta["name"] = json!(name);
        let ns: Namespace = serde_json::from_value(
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": meta}),
        )
        .expect("namespace");
        let api: Api<Namespace> = Api::all(self.client.clone());
        match api.create(&PostParams::default(), &ns).await {
            Ok(_) => {}
            Err(kube::Error::Api(e)) if e.code == 409 => {}
            Err(e) => panic!("create namespace {name}: {e}"),
        }
    }

    /// A fake SecretStore with the given key/value pairs.
    pub async fn fake_store(&self, ns: &str, name: &str, data: &[(&str, &str)]) {
        let data: Vec<Value> = data
            .iter()
            .map(|(k, v)| json!({"key": k, "value": v}))
            .collect();
        let store: SecretStore = serde_json::from_value(json!({
            "apiVersion": "external-secrets.io/v1", "kind": "SecretStore",
            "metadata": {"name": name, "namespace": ns},
            "spec": {"provider": {"fake": {"data": data}}}
        }))
        .expect("store");
        let api: Api<SecretStore> = Api::namespaced(self.client.clone(), ns);
        match api.get_opt(name).await.expect("get store") {
            None => {
                api.create(&PostParams::default(), &store)
                    .await
                    .expect("create store");
            }
            Some(_) => {
                api.patch(
                    name,
                    &PatchParams::default(),
                    &Patch::Merge(json!({"spec": store.spec})),
                )
                .await
                .expect("update store");
            }
        }
        let api2 = api.clone();
        let name2 = name.to_string();
        eventually(&format!("store {ns}/{name} Ready"), || {
            let api = api2.clone();
            let name = name2.clone();
            async move {
                let s = api.get(&name).await.ok()?;
                let gen_ok = true;
                let ready = s
                    .status?
                    .conditions?
                    .iter()
                    .any(|c| c.type_ == "Ready" && c.status == "True");
                (ready && gen_ok).then_some(())
            }
        })
        .await;
    }

    pub async fn create_es(&self, ns: &str, name: &str, spec: Value) -> ExternalSecret {
        self.create_es_with(ns, json!({"name": name}), spec).await
    }

    pub async fn create_es_with(&self, ns: &str, metadata: Value, spec: Value) -> ExternalSecret {
        let es: ExternalSecret = serde_json::from_value(json!({
            "apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret",
            "metadata": metadata, "spec": spec
        }))
        .expect("es");
        Api::<ExternalSecret>::namespaced(self.client.clone(), ns)
            .create(&PostParams::default(), &es)
            .await
            .expect("create es")
    }

    pub async fn patch_es(&self, ns: &str, name: &str, patch: Value) {
        Api::<ExternalSecret>::namespaced(self.client.clone(), ns)
            .patch(name, &PatchParams::default(), &Patch::Merge(patch))
            .await
            .expect("patch es");
    }

    pub async fn delete_es(&self, ns: &str, name: &str) {
        Api::<ExternalSecret>::namespaced(self.client.clone(), ns)
            .delete(name, &DeleteParams::default())
            .await
            .expect("delete es");
    }

    pub async fn get_es(&self, ns: &str, name: &str) -> Option<ExternalSecret> {
        Api::<ExternalSecret>::namespaced(self.client.clone(), ns)
            .get_opt(name)
            .await
            .expect("get es")
    }

    pub async fn secret(&self, ns: &str, name: &str) -> Option<Secret> {
        Api::<Secret>::namespaced(self.client.clone(), ns)
            .get_opt(name)
            .await
            .expect("get secret")
    }

    pub async fn create_secret(&self, ns: &str, body: Value) -> Secret {
        let mut body = body;
        body["apiVersion"] = json!("v1");
        body["kind"] = json!("Secret");
        body["metadata"]["namespace"] = json!(ns);
        let s: Secret = serde_json::from_value(body).expect("secret");
        Api::<Secret>::namespaced(self.client.clone(), ns)
            .create(&PostParams::default(), &s)
            .await
            .expect("create secret")
    }

    pub async fn delete_secret(&self, ns: &str, name: &str) {
        Api::<Secret>::namespaced(self.client.clone(), ns)
            .delete(name, &DeleteParams::default())
            .await
            .expect("delete secret");
    }

    /// Waits for the ExternalSecret's Ready condition to have `status` and `reason`.
    pub async fn wait_ready(
        &self,
        ns: &str,
        name: &str,
        status: &str,
        reason: &str,
    ) -> ExternalSecret {
        let what = format!("{ns}/{name} Ready={status} reason={reason}");
        let found = tokio::time::timeout(TIMEOUT, self.poll_ready(ns, name, status, reason)).await;
        match found {
            Ok(es) => es,
            Err(_) => panic!(
                "timed out waiting for {what}; last seen: {:?}",
                self.get_es(ns, name)
                    .await
                    .map(|e| (e.metadata.finalizers, e.status))
            ),
        }
    }

    async fn poll_ready(&self, ns: &str, name: &str, status: &str, reason: &str) -> ExternalSecret {
        eventually("ready", || async {
            let es = self.get_es(ns, name).await?;
            let cond = es
                .status
                .as_ref()?
                .conditions
                .as_ref()?
                .iter()
                .find(|c| c.type_ == "Ready")?
                .clone();
            (cond.status == status && cond.reason.as_deref() == Some(reason)).then_some(es)
        })
        .await
    }

    /// Waits until the Secret exists and `check` accepts it.
    pub async fn wait_secret(
        &self,
        ns: &str,
        name: &str,
        check: impl Fn(&Secret) -> bool,
    ) -> Secret {
        eventually(&format!("secret {ns}/{name}"), || async {
            self.secret(ns, name).await.filter(|s| check(s))
        })
        .await
    }

    pub async fn wait_secret_gone(&self, ns: &str, name: &str) {
        eventually(&format!("secret {ns}/{name} deleted"), || async {
            self.secret(ns, name).await.is_none().then_some(())
        })
        .await
    }
}

/// Polls `f` until it yields a value; panics after [`TIMEOUT`] naming `what`.
pub async fn eventually<T, F, Fut>(what: &str, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + TIMEOUT;
    loop {
        if let Some(v) = f().await {
            return v;
        }
        if tokio::time::Instant::now() > deadline {
            panic!("timed out waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A Secret's data as text.
pub fn data_of(s: &Secret) -> std::collections::BTreeMap<String, String> {
    s.data
        .iter()
        .flatten()
        .map(|(k, v)| (k.clone(), String::from_utf8_lossy(&v.0).into_owned()))
        .collect()
}

/// Expected data.
pub fn kv(pairs: &[(&str, &str)]) -> std::collections::BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

pub fn label<'a>(s: &'a Secret, key: &str) -> Option<&'a str> {
    s.metadata.labels.as_ref()?.get(key).map(String::as_str)
}

pub fn annotation<'a>(s: &'a Secret, key: &str) -> Option<&'a str> {
    s.metadata
        .annotations
        .as_ref()?
        .get(key)
        .map(String::as_str)
}
