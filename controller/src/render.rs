//! `controller render`: the full sync pipeline offline. Reads an ExternalSecret (and a store,
//! and optionally the existing target Secret) from YAML, fetches through the store's provider
//! (the Fake provider needs no cluster; others use the kubeconfig's cluster), renders, applies
//! the creation policy and prints the Secret that would be written. Values are masked unless
//! asked for.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context as _, anyhow, bail};
use async_trait::async_trait;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use serde_json::Value;
use shared::api::v1::{
    ExternalSecret, GeneratorRef, SecretStoreKind, SecretStoreRef, SecretStoreSpec,
};
use shared::keys::SecretMap;
use shared::policy::NamespacePolicy;
use shared::template::Options;
use shared::template::eso::TemplateSources;

use crate::externalsecret::data::{self, SourceError, Sources};
use crate::externalsecret::template;
use crate::provider::refs::OfflineObjects;
use crate::provider::{ClientContext, SecretsClient, StoreInfo, registry};
use crate::secrets::desired::{self, Plan};

/// Arguments of `controller render`.
#[derive(clap::Args, Debug, Clone)]
pub struct RenderArgs {
    /// ExternalSecret manifest (multi-document YAML; the first ExternalSecret is rendered, and
    /// stores, Secrets and ConfigMaps in it are used like those given with --store/--credentials).
    #[arg(short = 'f', long = "filename")]
    pub file: PathBuf,
    /// SecretStore or ClusterSecretStore manifest the ExternalSecret refers to (may also hold
    /// the credential Secrets its auth references point at).
    #[arg(long)]
    pub store: Option<PathBuf>,
    /// Files with Secrets/ConfigMaps that the store's credential references point at
    /// (e.g. `auth.secretRef`, `tokenSecretRef`); repeatable. Offline only.
    #[arg(long = "credentials")]
    pub credentials: Vec<PathBuf>,
    /// The target Secret as it exists now (for Merge policies and managed-key cleanup).
    #[arg(long)]
    pub secret: Option<PathBuf>,
    /// Print secret values instead of masking them.
    #[arg(long)]
    pub show_values: bool,
    /// Use the current kubeconfig context for providers that read from a cluster.
    #[arg(long)]
    pub use_kubeconfig: bool,
}

/// Text printed in place of each value.
pub const MASK: &str = "<redacted>";

struct OfflineSources {
    store_name: String,
    client: Option<Arc<dyn SecretsClient>>,
}

#[async_trait]
impl Sources for OfflineSources {
    async fn client(
        &self,
        store: &SecretStoreRef,
        _namespace: &str,
    ) -> Result<Arc<dyn SecretsClient>, SourceError> {
        match (&self.client, store.name.as_deref()) {
            (Some(c), Some(name)) if name == self.store_name => Ok(c.clone()),
            _ => Err(SourceError::Store(format!(
                "store {:?} was not given with --store",
                store.name.as_deref().unwrap_or_default()
            ))),
        }
    }

    async fn generate(&self, g: &GeneratorRef, _namespace: &str) -> Result<SecretMap, SourceError> {
        Err(SourceError::Generator(format!(
            "generator {} {:?} cannot be run offline",
            g.kind.as_str(),
            g.name
        )))
    }
}

fn read_yaml<T: serde::de::DeserializeOwned>(path: &PathBuf) -> anyhow::Result<T> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_saphyr::from_str(&text).with_context(|| format!("parsing {}", path.display()))
}

fn read_docs(path: &PathBuf) -> anyhow::Result<Vec<Value>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let docs: Vec<Value> = serde_saphyr::from_multiple(&text)
        .with_context(|| format!("parsing {}", path.display()))?;
    Ok(docs.into_iter().filter(|d| !d.is_null()).collect())
}

fn kind_of(doc: &Value) -> &str {
    doc.get("kind").and_then(Value::as_str).unwrap_or_default()
}

fn name_of(doc: &Value) -> &str {
    doc.pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default()
}

/// Everything read from the input files.
struct Inputs {
    es: ExternalSecret,
    stores: Vec<Value>,
    offline: OfflineObjects,
}

fn read_inputs(args: &RenderArgs) -> anyhow::Result<Inputs> {
    let main = read_docs(&args.file)?;
    let es_doc = main
        .iter()
        .find(|d| kind_of(d) == "ExternalSecret")
        .cloned()
        .ok_or_else(|| anyhow!("{} holds no ExternalSecret", args.file.display()))?;
    let mut es: ExternalSecret =
        serde_json::from_value(es_doc).context("parsing ExternalSecret")?;
    let namespace = es
        .metadata
        .namespace
        .get_or_insert_with(|| "default".into())
        .clone();
    es.metadata.uid.get_or_insert_with(|| "render".into());
    let mut docs = main;
    if let Some(path) = &args.store {
        let store_docs = read_docs(path)?;
        if !store_docs
            .iter()
            .any(|d| matches!(kind_of(d), "SecretStore" | "ClusterSecretStore"))
        {
            bail!(
                "--store {} holds no SecretStore or ClusterSecretStore",
                path.display()
            );
        }
        docs.extend(store_docs);
    }
    for path in &args.credentials {
        docs.extend(read_docs(path)?);
    }
    let (mut stores, mut secrets, mut config_maps) = (Vec::new(), Vec::new(), Vec::new());
    for doc in docs {
        match kind_of(&doc) {
            "SecretStore" | "ClusterSecretStore" => stores.push(doc),
            "Secret" => secrets.push(
                serde_json::from_value::<Secret>(doc)
                    .context("parsing a Secret of the input files")?,
            ),
            "ConfigMap" => config_maps.push(
                serde_json::from_value::<ConfigMap>(doc)
                    .context("parsing a ConfigMap of the input files")?,
            ),
            _ => {}
        }
    }
    Ok(Inputs {
        es,
        stores,
        offline: OfflineObjects::new(secrets, config_maps, &namespace),
    })
}

fn offline_client() -> anyhow::Result<kube::Client> {
    // Never contacted: credential references resolve against the input files, and providers
    // that read from a cluster are only used with --use-kubeconfig.
    let cfg = kube::Config::new("http://127.0.0.1:9".parse()?);
    Ok(kube::Client::try_from(cfg)?)
}

async fn store_client(
    doc: &Value,
    namespace: &str,
    use_kubeconfig: bool,
    offline: Arc<OfflineObjects>,
) -> anyhow::Result<(String, Arc<dyn SecretsClient>)> {
    let kind = match kind_of(doc) {
        "ClusterSecretStore" => SecretStoreKind::ClusterSecretStore,
        _ => SecretStoreKind::SecretStore,
    };
    let name = name_of(doc).to_string();
    if name.is_empty() {
        bail!("the store has no metadata.name");
    }
    let spec: SecretStoreSpec =
        serde_json::from_value(doc.get("spec").cloned().unwrap_or_default())
            .context("parsing store spec")?;
    let kube = if use_kubeconfig {
        kube::Client::try_default().await?
    } else {
        offline_client()?
    };
    let info = StoreInfo {
        kind,
        name: name.clone(),
        namespace: (kind == SecretStoreKind::SecretStore).then(|| namespace.to_string()),
        uid: "render".into(),
        generation: 0,
        spec: spec.clone(),
    };
    let provider = registry::provider_for(&spec)?;
    let mut ctx = ClientContext::new(kube, info, namespace.to_string());
    if !use_kubeconfig {
        ctx = ctx.with_offline(offline);
    }
    let client: Arc<dyn SecretsClient> = Arc::from(provider.new_client(&ctx).await?);
    Ok((name, client))
}

/// Runs the pipeline and returns the Secret YAML (or a message when nothing would be written).
pub async fn render(args: &RenderArgs, opts: &Options) -> anyhow::Result<String> {
    let Inputs {
        es,
        stores,
        offline,
    } = read_inputs(args)?;
    let namespace = es.metadata.namespace.clone().unwrap_or_default();
    let wanted = es
        .spec
        .secret_store_ref
        .as_ref()
        .and_then(|r| r.name.clone())
        .unwrap_or_default();
    // The store the ExternalSecret names, else the only one given.
    let store_doc = stores
        .iter()
        .find(|d| name_of(d) == wanted)
        .or_else(|| (stores.len() == 1).then(|| &stores[0]));
    let (store_name, client) = match store_doc {
        Some(doc) => {
            let (n, c) =
                store_client(doc, &namespace, args.use_kubeconfig, Arc::new(offline)).await?;
            (n, Some(c))
        }
        None => (String::new(), None),
    };
    let existing: Option<Secret> = args.secret.as_ref().map(read_yaml).transpose()?;
    let sources = OfflineSources { store_name, client };
    let fetched = data::fetch(&es, &sources, &NamespacePolicy::allow_all(&namespace)).await?;
    for m in &fetched.missing {
        eprintln!("warning: {m}");
    }
    let content = template::content(&es, &fetched.data, &TemplateSources::default(), opts)?;
    let plan = desired::desired(&es, &content, existing.as_ref())?;
    let secret = match plan {
        Plan::Create(s) | Plan::Update(s) => *s,
        Plan::Unchanged => return Ok("# the existing Secret is already up to date\n".into()),
        Plan::Missing => {
            return Ok(
                "# creationPolicy Merge: the target does not exist, nothing is written\n".into(),
            );
        }
        Plan::Skip => return Ok("# creationPolicy None: nothing is written\n".into()),
    };
    to_yaml(&secret, args.show_values)
}

/// The Secret as YAML, with `data` values masked unless `show_values`.
pub fn to_yaml(secret: &Secret, show_values: bool) -> anyhow::Result<String> {
    let mut doc = serde_json::to_value(secret)?;
    doc["apiVersion"] = Value::from("v1");
    doc["kind"] = Value::from("Secret");
    if !show_values && let Some(data) = doc.get_mut("data").and_then(Value::as_object_mut) {
        for v in data.values_mut() {
            *v = Value::from(MASK);
        }
    }
    Ok(serde_saphyr::to_string(&doc)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &std::path::Path, name: &str, text: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).expect("write");
        p
    }

    #[tokio::test]
    async fn renders_through_the_fake_store_and_masks_values() {
        let dir = std::env::temp_dir().join(format!("eso-render-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let es = write(
            &dir,
            "es.yaml",
            "apiVersion: external-secrets.io/v1\nkind: ExternalSecret\nmetadata:\n  name: db\n  namespace: apps\nspec:\n  secretStoreRef:\n    name: fake\n  data:\n  - secretKey: pass\n    remoteRef:\n      key: db-pass\n  target:\n    template:\n      data:\n        url: 'postgres://u:{{ .pass }}@db'\n",
        );
        let store = write(
            &dir,
            "store.yaml",
            "apiVersion: external-secrets.io/v1\nkind: SecretStore\nmetadata:\n  name: fake\nspec:\n  provider:\n    fake:\n      data:\n      - key: db-pass\n        value: hunter2\n",
        );
        let mut args = RenderArgs {
            file: es,
            store: Some(store),
            credentials: Vec::new(),
            secret: None,
            show_values: false,
            use_kubeconfig: false,
        };
        let masked = render(&args, &Options::default()).await.expect("renders");
        assert!(
            masked.contains("url: <redacted>") || masked.contains("url: '<redacted>'"),
            "{masked}"
        );
        assert!(!masked.contains("hunter2"));
        assert!(masked.contains("reconcile.external-secrets.io/managed"));
        args.show_values = true;
        let shown = render(&args, &Options::default()).await.expect("renders");
        // base64("postgres://u:hunter2@db")
        assert!(
            shown.contains("cG9zdGdyZXM6Ly91Omh1bnRlcjJAZGI="),
            "{shown}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
