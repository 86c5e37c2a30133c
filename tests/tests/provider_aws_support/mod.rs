//! Harness of the AWS provider suites: moto, the simulator with the CRDs, and the built
//! `controller` binary running as a subprocess against both. The AWS endpoints reach the
//! controller the way they reach it in a cluster, through `AWS_SECRETSMANAGER_ENDPOINT`,
//! `AWS_SSM_ENDPOINT` and `AWS_STS_ENDPOINT` in its environment.
#![allow(dead_code)]

use std::future::Future;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use k8s_openapi::api::core::v1::{Namespace, Secret};
use kube::api::{DynamicObject, Patch, PatchParams, PostParams};
use kube::core::GroupVersionKind;
use kube::discovery::ApiResource;
use kube::{Api, Client};
use serde_json::{Value, json};
use tests::emulators::{Moto, RecordedCall, free_port};
use tests::sim::Sim;

/// How long any eventual condition may take (two shared cores in CI).
pub const TIMEOUT: Duration = Duration::from_secs(60);
/// Region of the seed document's stores.
pub const REGION: &str = "eu-central-1";

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

/// Builds (a no-op when fresh) and locates the `controller` binary of this profile.
pub fn controller_binary() -> PathBuf {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
        let out = Command::new(cargo)
            .current_dir(repo_root())
            .args([
                "build",
                "--offline",
                "-p",
                "controller",
                "--bin",
                "controller",
            ])
            .output()
            .expect("running cargo build");
        assert!(
            out.status.success(),
            "cargo build -p controller failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    });
    let exe = std::env::current_exe().expect("test executable path");
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target/<profile>/deps layout");
    let bin = profile_dir.join("controller");
    assert!(bin.is_file(), "{} not built", bin.display());
    bin
}

/// A controller process; killed on drop.
pub struct ControllerProcess {
    child: Child,
    log: PathBuf,
    pub metrics_addr: String,
}

impl Drop for ControllerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl ControllerProcess {
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(60)..].join("\n")
    }
}

pub struct AwsEnv {
    pub moto: Moto,
    pub sim: Sim,
    pub client: Client,
    pub controller: Option<ControllerProcess>,
    scratch: tempfile::TempDir,
    http: reqwest::Client,
}

impl AwsEnv {
    /// moto + simulator, no controller yet.
    pub async fn prepare() -> AwsEnv {
        let moto = Moto::start().await.expect("moto starts");
        let sim = Sim::start().await.expect("simulator starts");
        sim.install_crds(&shared::api::all_crds())
            .await
            .expect("CRDs install");
        let client = sim.client();
        AwsEnv {
            moto,
            sim,
            client,
            controller: None,
            scratch: tempfile::tempdir().expect("scratch dir"),
            http: reqwest::Client::new(),
        }
    }

    /// moto + simulator + a running controller.
    pub async fn start(extra_args: &[&str]) -> AwsEnv {
        let mut env = Self::prepare().await;
        env.run_controller(extra_args);
        env
    }

    /// Starts the controller binary with the AWS endpoints pointing at moto.
    pub fn run_controller(&mut self, extra_args: &[&str]) {
        let metrics_port = free_port().expect("port");
        let live_port = free_port().expect("port");
        let metrics_addr = format!("127.0.0.1:{metrics_port}");
        let log = self.scratch.path().join("controller.log");
        let out = std::fs::File::create(&log).expect("log file");
        let endpoint = self.moto.endpoint().to_string();
        let mut cmd = Command::new(controller_binary());
        cmd.arg("--loglevel=debug")
            .arg("run")
            .arg(format!("--metrics-addr={metrics_addr}"))
            .arg(format!("--live-addr=127.0.0.1:{live_port}"))
            .args(extra_args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.scratch.path())
            .env("KUBECONFIG", self.sim.kubeconfig_path())
            .env("AWS_SECRETSMANAGER_ENDPOINT", &endpoint)
            .env("AWS_SSM_ENDPOINT", &endpoint)
            .env("AWS_STS_ENDPOINT", &endpoint)
            // The default chain of stores without auth: static keys from the environment.
            .env("AWS_ACCESS_KEY_ID", "controller-identity")
            .env("AWS_SECRET_ACCESS_KEY", "controller-secret")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("RUST_LOG", "info,controller=debug")
            .stdin(Stdio::null())
            .stdout(out.try_clone().expect("log"))
            .stderr(out);
        let child = cmd.spawn().expect("start controller");
        self.controller = Some(ControllerProcess {
            child,
            log,
            metrics_addr,
        });
    }

    pub fn log_tail(&self) -> String {
        self.controller
            .as_ref()
            .map(ControllerProcess::log_tail)
            .unwrap_or_default()
    }

    pub async fn namespace(&self, name: &str, annotations: Value) {
        let ns: Namespace = serde_json::from_value(json!({
            "metadata": {"name": name, "annotations": annotations}
        }))
        .expect("namespace");
        match Api::<Namespace>::all(self.client.clone())
            .create(&PostParams::default(), &ns)
            .await
        {
            Ok(_) => {}
            Err(kube::Error::Api(e)) if e.code == 409 => {}
            Err(e) => panic!("create namespace {name}: {e}"),
        }
    }

    /// Applies YAML documents (server-side apply), defaulting the namespace.
    pub async fn apply(&self, namespace: &str, yaml: &str) {
        for doc in serde_saphyr::from_multiple::<DynamicObject>(yaml).expect("yaml") {
            let types = doc.types.clone().expect("apiVersion and kind");
            let gvk: GroupVersionKind = types.try_into().expect("gvk");
            let ar = ApiResource::from_gvk(&gvk);
            let name = doc.metadata.name.clone().expect("name");
            let cluster_scoped = matches!(
                gvk.kind.as_str(),
                "ClusterSecretStore" | "Namespace" | "ClusterExternalSecret" | "ClusterPushSecret"
            );
            let api: Api<DynamicObject> = if cluster_scoped {
                Api::all_with(self.client.clone(), &ar)
            } else {
                let ns = doc
                    .metadata
                    .namespace
                    .clone()
                    .unwrap_or_else(|| namespace.to_string());
                Api::namespaced_with(self.client.clone(), &ns, &ar)
            };
            api.patch(
                &name,
                &PatchParams::apply("aws-e2e").force(),
                &Patch::Apply(&doc),
            )
            .await
            .unwrap_or_else(|e| panic!("apply {} {name}: {e}", gvk.kind));
        }
    }

    /// A Secret with string data.
    pub async fn secret(&self, ns: &str, name: &str, data: &[(&str, &str)]) {
        let data: serde_json::Map<String, Value> = data
            .iter()
            .map(|(k, v)| (k.to_string(), json!(v)))
            .collect();
        let s: Secret = serde_json::from_value(json!({
            "metadata": {"name": name, "namespace": ns}, "stringData": data
        }))
        .expect("secret");
        Api::<Secret>::namespaced(self.client.clone(), ns)
            .patch(
                name,
                &PatchParams::apply("aws-e2e").force(),
                &Patch::Apply(&s),
            )
            .await
            .expect("apply secret");
    }

    /// The moto credentials Secret the seed stores reference (`awssm-secret`).
    pub async fn credentials_secret(&self, ns: &str) {
        self.secret(
            ns,
            "awssm-secret",
            &[
                ("access-key", "AKIDSEEDSTORE"),
                ("secret-access-key", "seed-secret"),
            ],
        )
        .await;
    }

    pub async fn get_secret(&self, ns: &str, name: &str) -> Option<Secret> {
        Api::<Secret>::namespaced(self.client.clone(), ns)
            .get_opt(name)
            .await
            .expect("get secret")
    }

    pub async fn object(&self, kind: &str, ns: &str, name: &str) -> Option<DynamicObject> {
        let (group, version) = match kind {
            "PushSecret" => ("external-secrets.io", "v1alpha1"),
            _ => ("external-secrets.io", "v1"),
        };
        let ar = ApiResource::from_gvk(&GroupVersionKind::gvk(group, version, kind));
        let api: Api<DynamicObject> = if kind.starts_with("Cluster") {
            Api::all_with(self.client.clone(), &ar)
        } else {
            Api::namespaced_with(self.client.clone(), ns, &ar)
        };
        api.get_opt(name).await.expect("get object")
    }

    /// The Ready condition (status, reason, message) of an object.
    pub async fn ready(
        &self,
        kind: &str,
        ns: &str,
        name: &str,
    ) -> Option<(String, String, String)> {
        let obj = self.object(kind, ns, name).await?;
        let conds = obj.data["status"]["conditions"].as_array()?.clone();
        let c = conds.iter().find(|c| c["type"] == "Ready")?;
        Some((
            c["status"].as_str().unwrap_or_default().to_string(),
            c["reason"].as_str().unwrap_or_default().to_string(),
            c["message"].as_str().unwrap_or_default().to_string(),
        ))
    }

    /// Waits until the object's Ready condition has `status` (and `reason` if given).
    pub async fn wait_ready(
        &self,
        kind: &str,
        ns: &str,
        name: &str,
        status: &str,
        reason: Option<&str>,
    ) -> (String, String, String) {
        let what = format!("{kind} {ns}/{name} Ready={status} reason={reason:?}");
        let found = tokio::time::timeout(TIMEOUT, async {
            loop {
                if let Some(c) = self.ready(kind, ns, name).await
                    && c.0 == status
                    && reason.is_none_or(|r| r == c.1)
                {
                    return c;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
        .await;
        match found {
            Ok(c) => c,
            Err(_) => panic!(
                "timed out waiting for {what}; last: {:?}\ncontroller log:\n{}",
                self.ready(kind, ns, name).await,
                self.log_tail()
            ),
        }
    }

    /// Waits until the Secret exists and `check` accepts its decoded data.
    pub async fn wait_secret(
        &self,
        ns: &str,
        name: &str,
        check: impl Fn(&std::collections::BTreeMap<String, String>) -> bool,
    ) -> std::collections::BTreeMap<String, String> {
        let found = tokio::time::timeout(TIMEOUT, async {
            loop {
                if let Some(s) = self.get_secret(ns, name).await {
                    let data = decoded(&s);
                    if check(&data) {
                        return data;
                    }
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
        .await;
        match found {
            Ok(d) => d,
            Err(_) => panic!(
                "timed out waiting for secret {ns}/{name}: {:?}\ncontroller log:\n{}",
                self.get_secret(ns, name).await.map(|s| decoded(&s)),
                self.log_tail()
            ),
        }
    }

    /// `externalsecret_provider_api_calls_count` samples from the controller's /metrics, as
    /// (labels text, value).
    pub async fn provider_calls(&self) -> Vec<(String, f64)> {
        let Some(c) = &self.controller else {
            return Vec::new();
        };
        let text = match self
            .http
            .get(format!("http://{}/metrics", c.metrics_addr))
            .send()
            .await
        {
            Ok(r) => r.text().await.unwrap_or_default(),
            Err(_) => return Vec::new(),
        };
        text.lines()
            .filter(|l| l.starts_with("externalsecret_provider_api_calls_count{"))
            .filter_map(|l| {
                let (labels, value) = l.rsplit_once(' ')?;
                Some((labels.to_string(), value.parse().ok()?))
            })
            .collect()
    }

    /// Waits until PushSecret `ns/name` is refused because the remote secret lacks the
    /// managed-by tag.
    pub async fn wait_push_refused_as_unmanaged(&self, ns: &str, name: &str) {
        let (_, _, message) = self
            .wait_ready("PushSecret", ns, name, "False", Some("Errored"))
            .await;
        assert!(
            message.contains("not managed by external-secrets"),
            "{message}"
        );
    }

    /// Deletes PushSecret `ns/name` and waits until it is gone (its finalizer ran).
    pub async fn delete_push(&self, ns: &str, name: &str) {
        use kube::api::DeleteParams;
        let ar = ApiResource::from_gvk(&GroupVersionKind::gvk(
            "external-secrets.io",
            "v1alpha1",
            "PushSecret",
        ));
        let api: Api<DynamicObject> = Api::namespaced_with(self.client.clone(), ns, &ar);
        api.delete(name, &DeleteParams::default()).await.unwrap();
        eventually(&format!("PushSecret {ns}/{name} gone"), || async {
            api.get_opt(name).await.unwrap().is_none().then_some(())
        })
        .await;
    }

    /// Recorded moto calls of one service/action.
    pub async fn calls(&self, service: &str, action: &str) -> Vec<RecordedCall> {
        self.moto
            .recorded_calls()
            .await
            .expect("recording")
            .into_iter()
            .filter(|c| c.service == service && c.action == action)
            .collect()
    }

    /// A Secrets Manager action in the seed region.
    pub async fn sm(&self, action: &str, body: Value) -> anyhow::Result<Value> {
        self.moto.secretsmanager_in(REGION, action, body).await
    }

    /// An SSM action in the seed region.
    pub async fn ssm(&self, action: &str, body: Value) -> anyhow::Result<Value> {
        self.moto.ssm_in(REGION, action, body).await
    }
}

pub fn decoded(s: &Secret) -> std::collections::BTreeMap<String, String> {
    s.data
        .iter()
        .flatten()
        .map(|(k, v)| (k.clone(), String::from_utf8_lossy(&v.0).into_owned()))
        .collect()
}

/// Polls `f` until it returns `Some`, panicking with `what` after [`TIMEOUT`].
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
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The seed document's SecretStore (static keys from `awssm-secret`, a role to assume).
pub const SEED_STORE: &str = r#"
apiVersion: external-secrets.io/v1
kind: SecretStore
metadata:
  name: aws-secretsmanager
spec:
  provider:
    aws:
      service: SecretsManager
      # define a specific role to limit access
      # to certain secrets.
      # role is a optional field that
      # can be omitted for test purposes
      role: arn:aws:iam::123456789012:role/external-secrets
      region: eu-central-1
      auth:
        secretRef:
          accessKeyIDSecretRef:
            name: awssm-secret
            key: access-key
          secretAccessKeySecretRef:
            name: awssm-secret
            key: secret-access-key
"#;
