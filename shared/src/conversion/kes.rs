//! kubernetes-external-secrets (`kubernetes-client.io/v1` ExternalSecret) to ESO.
//!
//! A KES ExternalSecret carries its backend inline (`backendType`, `roleArn`, `region`,
//! `vaultMountPoint`/`vaultRole`, `keyVaultName`, `projectId`); ESO splits that into a
//! SecretStore (named `<name>-<backend>`) and an ExternalSecret that references it.
//! Settings KES read from its own environment (`AWS_REGION`, `VAULT_ADDR`) must be given in
//! [`KesOptions`] when the manifest does not carry them.

use serde_json::{Map, Value, json};

use super::ConversionError;

/// Values KES took from its deployment rather than from the manifest.
#[derive(Clone, Debug, Default)]
pub struct KesOptions {
    /// KES `AWS_REGION`, used when `spec.region` is absent.
    pub aws_region: Option<String>,
    /// KES `VAULT_ADDR`, the Vault server for `backendType: vault`.
    pub vault_addr: Option<String>,
}

/// Converts one KES ExternalSecret into `[SecretStore, ExternalSecret]` (ESO v1).
pub fn from_kes(obj: &Value) -> Result<Vec<Value>, ConversionError> {
    from_kes_with(obj, &KesOptions::default())
}

fn err(path: &str, message: impl Into<String>) -> ConversionError {
    ConversionError::Kes {
        path: path.to_string(),
        message: message.into(),
    }
}

fn str_at<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str).filter(|s| !s.is_empty())
}

/// [`from_kes`] with deployment-level settings.
pub fn from_kes_with(obj: &Value, opts: &KesOptions) -> Result<Vec<Value>, ConversionError> {
    if str_at(obj, "apiVersion") != Some("kubernetes-client.io/v1")
        || str_at(obj, "kind") != Some("ExternalSecret")
    {
        return Err(err(
            "apiVersion",
            "not a KES object: expected apiVersion kubernetes-client.io/v1, kind ExternalSecret",
        ));
    }
    let meta = obj.get("metadata").cloned().unwrap_or_else(|| json!({}));
    let name = str_at(&meta, "name").ok_or_else(|| err("metadata.name", "is required"))?;
    let namespace = str_at(&meta, "namespace");
    // Very old KES manifests used `secretDescriptor` instead of `spec`.
    let spec = obj
        .get("spec")
        .or_else(|| obj.get("secretDescriptor"))
        .ok_or_else(|| err("spec", "is required"))?;

    let backend = str_at(spec, "backendType").unwrap_or("secretsManager");
    let backend = if backend == "secretManager" {
        "secretsManager"
    } else {
        backend
    };
    let (provider, store_suffix) = provider_for(backend, spec, opts)?;
    let store_name = format!("{name}-{store_suffix}");

    let mut store_meta = json!({"name": store_name});
    if let Some(ns) = namespace {
        store_meta["namespace"] = json!(ns);
    }
    let mut store_spec = json!({"provider": provider});
    if let Some(c) = str_at(spec, "controllerId") {
        store_spec["controller"] = json!(c);
    }
    let store = json!({
        "apiVersion": "external-secrets.io/v1",
        "kind": "SecretStore",
        "metadata": store_meta,
        "spec": store_spec,
    });

    let mut es_spec = Map::new();
    es_spec.insert(
        "secretStoreRef".into(),
        json!({"name": store_name, "kind": "SecretStore"}),
    );
    let mut target = json!({"name": name, "creationPolicy": "Owner"});
    if let Some(tpl) = template(spec)? {
        target["template"] = tpl;
    }
    es_spec.insert("target".into(), target);

    let mut data = Vec::new();
    let mut data_from = Vec::new();
    let items = spec
        .get("data")
        .or_else(|| spec.get("properties"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for (i, d) in items.iter().enumerate() {
        let p = format!("spec.data[{i}]");
        if let Some(path) = str_at(d, "path") {
            // SSM path fetch: every parameter under the path.
            let mut find = json!({"path": path, "name": {"regexp": ".*"}});
            if d.get("recursive").and_then(Value::as_bool) == Some(false) {
                find["name"]["regexp"] = json!("^[^/]*$");
            }
            data_from.push(json!({"find": find}));
            continue;
        }
        let key = str_at(d, "key").ok_or_else(|| err(&format!("{p}.key"), "is required"))?;
        let secret_key =
            str_at(d, "name").ok_or_else(|| err(&format!("{p}.name"), "is required"))?;
        let mut remote = json!({"key": key});
        if let Some(prop) = str_at(d, "property") {
            remote["property"] = json!(prop);
        }
        if let Some(v) = str_at(d, "version").or_else(|| str_at(d, "versionStage")) {
            remote["version"] = json!(v);
        } else if let Some(v) = str_at(d, "versionId") {
            remote["version"] = json!(format!("uuid/{v}"));
        }
        if d.get("isBinary").and_then(Value::as_bool) == Some(true) && backend == "azureKeyVault" {
            remote["decodingStrategy"] = json!("Base64");
        }
        data.push(json!({"secretKey": secret_key, "remoteRef": remote}));
    }
    for (i, df) in spec
        .get("dataFrom")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        let key = df
            .as_str()
            .filter(|s| !s.is_empty())
            .ok_or_else(|| err(&format!("spec.dataFrom[{i}]"), "must be a key name"))?;
        data_from.push(json!({"extract": {"key": key}}));
    }
    if data.is_empty() && data_from.is_empty() {
        return Err(err(
            "spec",
            "has neither data nor dataFrom: nothing to fetch",
        ));
    }
    if !data_from.is_empty() {
        es_spec.insert("dataFrom".into(), Value::Array(data_from));
    }
    if !data.is_empty() {
        es_spec.insert("data".into(), Value::Array(data));
    }

    let mut es_meta = json!({"name": name});
    if let Some(ns) = namespace {
        es_meta["namespace"] = json!(ns);
    }
    for k in ["labels", "annotations"] {
        if let Some(m) = meta
            .get(k)
            .filter(|m| m.as_object().is_some_and(|o| !o.is_empty()))
        {
            es_meta[k] = m.clone();
        }
    }
    let es = json!({
        "apiVersion": "external-secrets.io/v1",
        "kind": "ExternalSecret",
        "metadata": es_meta,
        "spec": Value::Object(es_spec),
    });
    Ok(vec![store, es])
}

fn provider_for(
    backend: &str,
    spec: &Value,
    opts: &KesOptions,
) -> Result<(Value, &'static str), ConversionError> {
    match backend {
        "secretsManager" | "systemManager" => {
            let region = str_at(spec, "region")
                .map(str::to_string)
                .or_else(|| opts.aws_region.clone())
                .ok_or_else(|| {
                    err(
                        "spec.region",
                        "is required: KES used its AWS_REGION; pass the region (--aws-region)",
                    )
                })?;
            let service = if backend == "secretsManager" {
                "SecretsManager"
            } else {
                "ParameterStore"
            };
            let mut aws = json!({"service": service, "region": region});
            if let Some(role) = str_at(spec, "roleArn") {
                aws["role"] = json!(role);
            }
            let suffix = if backend == "secretsManager" {
                "secretsmanager"
            } else {
                "parameterstore"
            };
            Ok((json!({"aws": aws}), suffix))
        }
        "vault" => {
            let server = opts.vault_addr.clone().ok_or_else(|| {
                err(
                    "spec.backendType",
                    "vault needs the server address: KES used its VAULT_ADDR; pass it \
                     (--vault-addr)",
                )
            })?;
            let role = str_at(spec, "vaultRole").ok_or_else(|| {
                err(
                    "spec.vaultRole",
                    "is required: KES fell back to its DEFAULT_VAULT_ROLE; set the role explicitly",
                )
            })?;
            let mount = str_at(spec, "vaultMountPoint").unwrap_or("kubernetes");
            let version = match spec.get("kvVersion").and_then(Value::as_i64) {
                Some(1) => "v1",
                _ => "v2",
            };
            Ok((
                json!({"vault": {
                    "server": server,
                    "version": version,
                    "auth": {"kubernetes": {"mountPath": mount, "role": role}},
                }}),
                "vault",
            ))
        }
        "azureKeyVault" => {
            let vault = str_at(spec, "keyVaultName")
                .ok_or_else(|| err("spec.keyVaultName", "is required for azureKeyVault"))?;
            Ok((
                json!({"azurekv": {
                    "vaultUrl": format!("https://{vault}.vault.azure.net"),
                    "authType": "ManagedIdentity",
                }}),
                "azurekv",
            ))
        }
        "gcpSecretsManager" => {
            let mut gcp = json!({});
            if let Some(p) = str_at(spec, "projectId") {
                gcp["projectID"] = json!(p);
            }
            Ok((json!({"gcpsm": gcp}), "gcpsm"))
        }
        other => Err(err(
            "spec.backendType",
            format!(
                "{other:?} has no ESO equivalent in this operator: supported are \
                 secretsManager, systemManager, vault, azureKeyVault, gcpSecretsManager"
            ),
        )),
    }
}

/// KES deep-merged `spec.template` (a partial Secret) into the result; ESO's equivalent is a
/// template with mergePolicy Merge carrying type and metadata. KES also accepted `spec.type`.
fn template(spec: &Value) -> Result<Option<Value>, ConversionError> {
    let kes = spec.get("template");
    let ty = kes
        .and_then(|t| str_at(t, "type"))
        .or_else(|| str_at(spec, "type"));
    if let Some(t) = kes {
        for field in ["data", "stringData"] {
            if t.get(field)
                .is_some_and(|d| d.as_object().is_some_and(|o| !o.is_empty()))
            {
                return Err(err(
                    &format!("spec.template.{field}"),
                    "KES lodash templates cannot be converted automatically: rewrite them as \
                     ESO template.data (Go templates)",
                ));
            }
        }
    }
    let mut metadata = Map::new();
    for k in ["labels", "annotations"] {
        if let Some(m) = kes
            .and_then(|t| t.get("metadata"))
            .and_then(|m| m.get(k))
            .filter(|m| m.as_object().is_some_and(|o| !o.is_empty()))
        {
            metadata.insert(k.into(), m.clone());
        }
    }
    if ty.is_none() && metadata.is_empty() {
        return Ok(None);
    }
    let mut tpl = json!({"engineVersion": "v2", "mergePolicy": "Merge"});
    if let Some(t) = ty {
        tpl["type"] = json!(t);
    }
    if !metadata.is_empty() {
        tpl["metadata"] = Value::Object(metadata);
    }
    Ok(Some(tpl))
}
