//! Where pushed values come from (§4.2 steps 4 and 6): the selected Secrets or a generator's
//! output, with the PushSecret template applied in memory.

use std::collections::BTreeMap;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::api::{ListParams, ObjectMeta};
use kube::core::Selector;
use kube::{Api, Client};
use shared::api::generators::{ClusterGenerator, Fake, Password, UUID};
use shared::api::v1::{ExternalSecretTemplate, GeneratorKind, GeneratorRef, TemplateEngineVersion};
use shared::api::v1alpha1::{PushSecret, PushSecretSecret};
use shared::generators::{FakeSpec, PasswordSpec, generate_fake, generate_password, generate_uuid};
use shared::secret_value::SecretMap;
use shared::template::Options;
use shared::template::eso::{TemplateSources, render_target};

/// Why the source could not be read. Messages never contain values.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The named source Secret does not exist (drives the `SourceDeleted` path).
    #[error("could not get source secret: secrets {0:?} not found")]
    NotFound(String),
    #[error("selector.secret must set name or selector")]
    EmptySelector,
    #[error("invalid selector.secret.selector: {0}")]
    Selector(String),
    #[error("reading source secrets: {0}")]
    Kube(#[source] kube::Error),
    #[error("could not get generator {kind}/{name}: {reason}")]
    Generator {
        kind: &'static str,
        name: String,
        reason: String,
    },
    #[error("{0}")]
    Template(String),
}

/// Reads the Secrets `selector.secret` names or selects, in name order.
pub async fn read_secrets(
    client: &Client,
    namespace: &str,
    sel: &PushSecretSecret,
) -> Result<Vec<Secret>, SourceError> {
    let api: Api<Secret> = Api::namespaced(client.clone(), namespace);
    if let Some(name) = sel.name.as_deref().filter(|n| !n.is_empty()) {
        return match api.get_opt(name).await.map_err(SourceError::Kube)? {
            Some(s) => Ok(vec![s]),
            None => Err(SourceError::NotFound(name.to_string())),
        };
    }
    let Some(label_selector) = &sel.selector else {
        return Err(SourceError::EmptySelector);
    };
    let selector = Selector::try_from(label_selector.clone())
        .map_err(|e| SourceError::Selector(e.to_string()))?;
    let list = api
        .list(&ListParams::default().labels_from(&selector))
        .await
        .map_err(SourceError::Kube)?;
    let mut items = list.items;
    items.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
    Ok(items)
}

fn generator_err(kind: GeneratorKind, name: &str, reason: impl ToString) -> SourceError {
    SourceError::Generator {
        kind: kind.as_str(),
        name: name.to_string(),
        reason: reason.to_string(),
    }
}

fn password_spec(spec: &shared::api::generators::PasswordSpec) -> PasswordSpec {
    PasswordSpec {
        length: spec.length,
        digits: spec.digits,
        symbols: spec.symbols,
        symbol_characters: spec.symbol_characters.clone(),
        no_upper: spec.no_upper.unwrap_or(false),
        allow_repeat: spec.allow_repeat.unwrap_or(false),
        secret_keys: spec.secret_keys.clone(),
        encoding: spec.encoding.map(|e| {
            serde_json::to_value(e)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_else(|| "raw".into())
        }),
    }
}

/// Runs the referenced generator (Password, UUID, Fake, or a ClusterGenerator of those kinds).
/// These are stateless, so no GeneratorState is written.
pub async fn generate(
    client: &Client,
    namespace: &str,
    r: &GeneratorRef,
) -> Result<SecretMap, SourceError> {
    let name = r.name.as_str();
    let err = |reason: &dyn std::fmt::Display| generator_err(r.kind, name, reason);
    if !r
        .effective_api_version()
        .starts_with("generators.external-secrets.io/")
    {
        return Err(err(&format!(
            "apiVersion {:?} is not in group generators.external-secrets.io",
            r.effective_api_version()
        )));
    }
    let mut rng = shared::generators::secure_rng();
    match r.kind {
        GeneratorKind::Password => {
            let g = Api::<Password>::namespaced(client.clone(), namespace)
                .get(name)
                .await
                .map_err(|e| err(&e))?;
            generate_password(&password_spec(&g.spec), &mut rng).map_err(|e| err(&e))
        }
        GeneratorKind::UUID => {
            Api::<UUID>::namespaced(client.clone(), namespace)
                .get(name)
                .await
                .map_err(|e| err(&e))?;
            Ok(generate_uuid(&mut rng))
        }
        GeneratorKind::Fake => {
            let g = Api::<Fake>::namespaced(client.clone(), namespace)
                .get(name)
                .await
                .map_err(|e| err(&e))?;
            Ok(generate_fake(&FakeSpec {
                data: g.spec.data.unwrap_or_default(),
            }))
        }
        GeneratorKind::ClusterGenerator => {
            let g = Api::<ClusterGenerator>::all(client.clone())
                .get(name)
                .await
                .map_err(|e| err(&e))?;
            let spec = &g.spec.generator;
            if let Some(p) = &spec.password_spec {
                generate_password(&password_spec(p), &mut rng).map_err(|e| err(&e))
            } else if spec.uuid_spec.is_some() {
                Ok(generate_uuid(&mut rng))
            } else if let Some(f) = &spec.fake_spec {
                Ok(generate_fake(&FakeSpec {
                    data: f.data.clone().unwrap_or_default(),
                }))
            } else {
                Err(err(&format!(
                    "generator kind {:?} is not supported by this operator",
                    g.spec.kind
                )))
            }
        }
        other => Err(err(&format!(
            "generator kind {} is not supported by this operator",
            other.as_str()
        ))),
    }
}

/// The in-memory Secret a generator source stands for.
pub fn generated_secret(ps: &PushSecret, data: SecretMap) -> Secret {
    Secret {
        metadata: ObjectMeta {
            name: ps.metadata.name.clone(),
            namespace: ps.metadata.namespace.clone(),
            ..Default::default()
        },
        data: Some(
            data.into_iter()
                .map(|(k, v)| (k, ByteString(v.into_vec())))
                .collect(),
        ),
        ..Default::default()
    }
}

/// Fetches the ConfigMaps and Secrets `templateFrom` refers to. Missing ones are left out; the
/// renderer reports them with ESO's wording.
pub async fn template_sources(
    client: &Client,
    namespace: &str,
    template: &ExternalSecretTemplate,
) -> Result<TemplateSources, SourceError> {
    let mut sources = TemplateSources::default();
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), namespace);
    let secrets: Api<Secret> = Api::namespaced(client.clone(), namespace);
    for tf in template.template_from.iter().flatten() {
        if let Some(r) = &tf.config_map
            && !sources.config_maps.contains_key(&r.name)
            && let Some(cm) = cms.get_opt(&r.name).await.map_err(SourceError::Kube)?
        {
            sources
                .config_maps
                .insert(r.name.clone(), cm.data.unwrap_or_default());
        }
        if let Some(r) = &tf.secret
            && !sources.secrets.contains_key(&r.name)
            && let Some(s) = secrets.get_opt(&r.name).await.map_err(SourceError::Kube)?
        {
            let data = s
                .data
                .unwrap_or_default()
                .into_iter()
                .map(|(k, v)| (k, v.0))
                .collect();
            sources.secrets.insert(r.name.clone(), data);
        }
    }
    Ok(sources)
}

/// Applies the PushSecret template to `secret` in memory (§4.2 step 6): rendered keys are
/// layered over the source keys (ESO never clears them, whatever `mergePolicy` says), `type`
/// is copied from the template even when empty, templated labels/annotations are added, and the
/// engine is always v2.
pub fn apply_template(
    secret: &Secret,
    template: &ExternalSecretTemplate,
    sources: &TemplateSources,
) -> Result<Secret, SourceError> {
    let mut template = template.clone();
    template.engine_version = Some(TemplateEngineVersion::V2);
    let source: BTreeMap<String, Vec<u8>> = secret
        .data
        .iter()
        .flatten()
        .map(|(k, v)| (k.clone(), v.0.clone()))
        .collect();
    let rendered = render_target(&template, &source, sources, &Options::default())
        .map_err(|e| SourceError::Template(e.to_string()))?;
    let mut out = secret.clone();
    let data = out.data.get_or_insert_with(BTreeMap::new);
    for (k, v) in rendered.data {
        data.insert(k, ByteString(v));
    }
    out.type_ = Some(template.type_.clone().unwrap_or_default());
    if !rendered.labels.is_empty() {
        out.metadata
            .labels
            .get_or_insert_with(BTreeMap::new)
            .extend(rendered.labels);
    }
    if !rendered.annotations.is_empty() {
        out.metadata
            .annotations
            .get_or_insert_with(BTreeMap::new)
            .extend(rendered.annotations);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(pairs: &[(&str, &str)]) -> Secret {
        Secret {
            data: Some(
                pairs
                    .iter()
                    .map(|(k, v)| (k.to_string(), ByteString(v.as_bytes().to_vec())))
                    .collect(),
            ),
            type_: Some("Opaque".into()),
            ..Default::default()
        }
    }

    #[test]
    fn template_layers_over_source_keys_and_copies_empty_type() {
        let template: ExternalSecretTemplate = serde_saphyr::from_str(
            "data:\n  best-pokemon: \"{{ index . \\\"best-pokemon\\\" | toString | upper }} is the really best!\"\n",
        )
        .unwrap();
        let out = apply_template(
            &secret(&[("best-pokemon", "pikachu"), ("worst-pokemon", "magikarp")]),
            &template,
            &TemplateSources::default(),
        )
        .unwrap();
        let data = out.data.unwrap();
        assert_eq!(data["best-pokemon"].0, b"PIKACHU is the really best!");
        assert_eq!(data["worst-pokemon"].0, b"magikarp");
        assert_eq!(out.type_.as_deref(), Some(""));
    }

    #[test]
    fn guide_template_with_dashed_field_fails_like_go() {
        // The PushSecret guide writes `.best-pokemon`; Go's template lexer rejects `-` in a
        // field name, so ESO reports this error too.
        let template: ExternalSecretTemplate = serde_saphyr::from_str(
            "data:\n  best-pokemon: \"{{ .best-pokemon | toString | upper }} is the really best!\"\n",
        )
        .unwrap();
        let err = apply_template(
            &secret(&[("best-pokemon", "pikachu")]),
            &template,
            &TemplateSources::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("bad character U+002D '-'"), "{err}");
    }

    #[test]
    fn template_errors_name_no_values() {
        let template: ExternalSecretTemplate =
            serde_saphyr::from_str("data:\n  k: \"{{ .missing }}\"\n").unwrap();
        let err = apply_template(
            &secret(&[("a", "s3cr3t-value")]),
            &template,
            &TemplateSources::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(!err.contains("s3cr3t-value"), "{err}");
    }
}
