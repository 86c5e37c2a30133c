//! Credential references of a store (`SecretKeySelector`, CA providers, ServiceAccount tokens),
//! resolved only in the namespaces the store may read.
//!
//! A SecretStore reads credentials from its own namespace only; a `namespace` on its selectors
//! pointing elsewhere is an error (ESO's webhook rejects it too). A ClusterSecretStore reads from
//! the selector's namespace, or — referent authentication — from the namespace of the object
//! being reconciled.

use k8s_openapi::api::authentication::v1::{TokenRequest, TokenRequestSpec};
use k8s_openapi::api::core::v1::{ConfigMap, Secret, ServiceAccount};
use kube::Api;
use kube::api::PostParams;
use shared::api::meta::{CAProvider, CAProviderType, SecretKeySelector, ServiceAccountSelector};
use shared::api::v1::SecretStoreKind;
use shared::secret_value::SecretValue;

use super::{ClientContext, ProviderError};

/// The namespace a reference with optional `namespace` resolves to.
pub fn reference_namespace(
    ctx: &ClientContext,
    explicit: Option<&str>,
) -> Result<String, ProviderError> {
    let explicit = explicit.filter(|n| !n.is_empty());
    match ctx.store.kind {
        SecretStoreKind::SecretStore => {
            let own = ctx.store.namespace.clone().unwrap_or_default();
            match explicit {
                Some(ns) if ns != own => Err(ProviderError::InvalidConfig(format!(
                    "namespace {ns:?} is not allowed in a SecretStore: credentials must be in the store's namespace {own:?}"
                ))),
                _ => Ok(own),
            }
        }
        SecretStoreKind::ClusterSecretStore => match explicit {
            Some(ns) => Ok(ns.to_string()),
            None if !ctx.object_namespace.is_empty() => Ok(ctx.object_namespace.clone()),
            None => Err(ProviderError::InvalidConfig(
                "a namespace is required for credential references of a ClusterSecretStore used without an object namespace".into(),
            )),
        },
    }
}

/// Whether a ClusterSecretStore reference without namespace must be resolved per object
/// (ESO's "referent" authentication).
pub fn is_referent(ctx: &ClientContext, explicit: Option<&str>) -> bool {
    ctx.store.kind == SecretStoreKind::ClusterSecretStore && explicit.is_none_or(str::is_empty)
}

/// Reads the value a `SecretKeySelector` points at. `default_key` applies when `key` is unset.
pub async fn secret_key(
    ctx: &ClientContext,
    sel: &SecretKeySelector,
    default_key: Option<&str>,
) -> Result<SecretValue, ProviderError> {
    let name = sel
        .name
        .as_deref()
        .filter(|n| !n.is_empty())
        .ok_or_else(|| ProviderError::InvalidConfig("secret reference has no name".into()))?;
    let key = sel
        .key
        .as_deref()
        .filter(|k| !k.is_empty())
        .or(default_key)
        .ok_or_else(|| {
            ProviderError::InvalidConfig(format!("secret reference {name:?} has no key"))
        })?;
    let ns = reference_namespace(ctx, sel.namespace.as_deref())?;
    let secret = get_secret(ctx, &ns, name).await?;
    secret
        .data
        .and_then(|mut d| d.remove(key))
        .map(|b| SecretValue::new(b.0))
        .ok_or_else(|| {
            ProviderError::InvalidConfig(format!(
                "cannot find secret data for key {key:?} in secret {ns}/{name}"
            ))
        })
}

/// Secrets and ConfigMaps given to `controller render` in its input files, standing in for the
/// cluster when credential references are resolved offline.
#[derive(Clone, Debug, Default)]
pub struct OfflineObjects {
    secrets: Vec<Secret>,
    config_maps: Vec<ConfigMap>,
}

impl OfflineObjects {
    /// Objects without a namespace are taken to be in `default_namespace`.
    pub fn new(secrets: Vec<Secret>, config_maps: Vec<ConfigMap>, default_namespace: &str) -> Self {
        let fill = |ns: &mut Option<String>| {
            if ns.as_deref().is_none_or(str::is_empty) {
                *ns = Some(default_namespace.to_string());
            }
        };
        let mut secrets = secrets;
        let mut config_maps = config_maps;
        secrets
            .iter_mut()
            .for_each(|s| fill(&mut s.metadata.namespace));
        config_maps
            .iter_mut()
            .for_each(|c| fill(&mut c.metadata.namespace));
        Self {
            secrets,
            config_maps,
        }
    }

    /// Number of objects held.
    pub fn len(&self) -> usize {
        self.secrets.len() + self.config_maps.len()
    }

    /// Whether no object is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn find<'a, T: kube::Resource>(items: &'a [T], ns: &str, name: &str) -> Option<&'a T> {
        items.iter().find(|o| {
            o.meta().namespace.as_deref() == Some(ns) && o.meta().name.as_deref() == Some(name)
        })
    }

    /// The Secret `ns/name`, with `stringData` folded into `data` as the API server would.
    fn secret(&self, ns: &str, name: &str) -> Option<Secret> {
        Self::find(&self.secrets, ns, name).map(|s| {
            let mut s = s.clone();
            if let Some(string_data) = s.string_data.take() {
                let data = s.data.get_or_insert_with(Default::default);
                for (k, v) in string_data {
                    data.insert(k, k8s_openapi::ByteString(v.into_bytes()));
                }
            }
            s
        })
    }
}

fn not_given(kind: &str, ns: &str, name: &str) -> ProviderError {
    ProviderError::InvalidConfig(format!(
        "{kind} {ns}/{name} is referenced by the store but was not given in the input files"
    ))
}

async fn get_secret(ctx: &ClientContext, ns: &str, name: &str) -> Result<Secret, ProviderError> {
    if let Some(offline) = &ctx.offline {
        return offline
            .secret(ns, name)
            .ok_or_else(|| not_given("Secret", ns, name));
    }
    Api::<Secret>::namespaced(ctx.kube.clone(), ns)
        .get(name)
        .await
        .map_err(|e| {
            ProviderError::InvalidConfig(format!(
                "cannot get Kubernetes secret {name:?} from namespace {ns:?}: {e}"
            ))
        })
}

/// Every data key of the Secret `name`, in the namespace a reference with optional `namespace`
/// resolves to (for credentials spread over fixed keys of one Secret, like AWS keys).
pub async fn secret_data(
    ctx: &ClientContext,
    namespace: Option<&str>,
    name: &str,
) -> Result<std::collections::BTreeMap<String, SecretValue>, ProviderError> {
    let ns = reference_namespace(ctx, namespace)?;
    let secret = get_secret(ctx, &ns, name).await?;
    Ok(secret
        .data
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| (k, SecretValue::new(v.0)))
        .collect())
}

/// Reads `key` of the ConfigMap `name`, in the namespace a reference with optional `namespace`
/// resolves to (same rules as Secrets).
pub async fn config_map_key(
    ctx: &ClientContext,
    namespace: Option<&str>,
    name: &str,
    key: &str,
) -> Result<String, ProviderError> {
    let ns = reference_namespace(ctx, namespace)?;
    let missing =
        || ProviderError::InvalidConfig(format!("ConfigMap {ns}/{name} has no key {key:?}"));
    if let Some(offline) = &ctx.offline {
        return OfflineObjects::find(&offline.config_maps, &ns, name)
            .ok_or_else(|| not_given("ConfigMap", &ns, name))?
            .data
            .as_ref()
            .and_then(|d| d.get(key))
            .cloned()
            .ok_or_else(missing);
    }
    let cm = Api::<ConfigMap>::namespaced(ctx.kube.clone(), &ns)
        .get(name)
        .await
        .map_err(|e| {
            ProviderError::InvalidConfig(format!(
                "cannot get ConfigMap {name:?} from namespace {ns:?}: {e}"
            ))
        })?;
    cm.data.and_then(|mut d| d.remove(key)).ok_or_else(missing)
}

/// Reads a PEM bundle from a `caProvider` (Secret or ConfigMap). A SecretStore may only read
/// its own namespace; a ClusterSecretStore must name the namespace.
pub async fn ca_provider(ctx: &ClientContext, ca: &CAProvider) -> Result<Vec<u8>, ProviderError> {
    let ns = match ctx.store.kind {
        SecretStoreKind::ClusterSecretStore => ca
            .namespace
            .clone()
            .filter(|n| !n.is_empty())
            .ok_or_else(|| {
                ProviderError::InvalidConfig(
                    "caProvider.namespace is required in a ClusterSecretStore".into(),
                )
            })?,
        SecretStoreKind::SecretStore => reference_namespace(ctx, ca.namespace.as_deref())?,
    };
    let key = ca.key.as_deref().unwrap_or("ca.crt");
    let missing = || {
        ProviderError::InvalidConfig(format!("caProvider {}/{} has no key {key:?}", ns, ca.name))
    };
    match ca.type_ {
        CAProviderType::Secret => {
            let secret = get_secret(ctx, &ns, &ca.name).await?;
            secret
                .data
                .and_then(|mut d| d.remove(key))
                .map(|b| b.0)
                .ok_or_else(missing)
        }
        CAProviderType::ConfigMap if ctx.offline.is_some() => ctx
            .offline
            .as_ref()
            .and_then(|o| OfflineObjects::find(&o.config_maps, &ns, &ca.name))
            .ok_or_else(|| not_given("ConfigMap", &ns, &ca.name))?
            .data
            .as_ref()
            .and_then(|d| d.get(key))
            .map(|v| v.clone().into_bytes())
            .ok_or_else(missing),
        CAProviderType::ConfigMap => {
            let cm = Api::<ConfigMap>::namespaced(ctx.kube.clone(), &ns)
                .get(&ca.name)
                .await
                .map_err(|e| {
                    ProviderError::InvalidConfig(format!(
                        "cannot get ConfigMap {:?} from namespace {ns:?}: {e}",
                        ca.name
                    ))
                })?;
            cm.data
                .and_then(|mut d| d.remove(key))
                .map(String::into_bytes)
                .ok_or_else(missing)
        }
    }
}

/// Requests a short-lived token for a ServiceAccount (`serviceaccounts/token`).
pub async fn service_account_token(
    ctx: &ClientContext,
    sel: &ServiceAccountSelector,
    default_audiences: &[String],
    expiration_seconds: Option<i64>,
) -> Result<SecretValue, ProviderError> {
    let ns = reference_namespace(ctx, sel.namespace.as_deref())?;
    if ctx.offline.is_some() {
        return Err(ProviderError::InvalidConfig(format!(
            "service account {ns}/{} needs a token from a cluster; offline rendering supports \
             only credentials given as Secrets",
            sel.name
        )));
    }
    let mut audiences: Vec<String> = default_audiences.to_vec();
    audiences.extend(sel.audiences.iter().flatten().cloned());
    let request = TokenRequest {
        spec: Some(TokenRequestSpec {
            audiences: Some(audiences),
            expiration_seconds,
            ..Default::default()
        }),
        ..Default::default()
    };
    let response = Api::<ServiceAccount>::namespaced(ctx.kube.clone(), &ns)
        .create_token_request(&sel.name, &PostParams::default(), &request)
        .await
        .map_err(|e| {
            ProviderError::InvalidConfig(format!(
                "cannot create a token for service account {ns}/{}: {e}",
                sel.name
            ))
        })?;
    response
        .status
        .and_then(|s| s.token)
        .map(SecretValue::from)
        .ok_or_else(|| {
            ProviderError::InvalidConfig(format!(
                "token request for service account {ns}/{} returned no token",
                sel.name
            ))
        })
}
