//! Turning fetched data into the target's content: verbatim without a template, rendered with
//! one (template engine v2).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::Api;
use shared::api::v1::{ExternalSecret, TemplateEngineVersion};
use shared::keys::SecretMap;
use shared::template::Options;
use shared::template::eso::{TemplateSources, render_target};

use crate::secrets::desired::TargetContent;
use crate::secrets::secret_data;

/// A template that could not be rendered. The message is the engine's, which never includes
/// fetched values beyond what Go's own error would quote.
#[derive(Debug, thiserror::Error)]
#[error("could not apply template: {0}")]
pub struct TemplateFailure(pub String);

fn plain(fetched: &SecretMap) -> BTreeMap<String, Vec<u8>> {
    fetched
        .iter()
        .map(|(k, v)| (k.clone(), v.as_bytes().to_vec()))
        .collect()
}

/// The target content for `es` given its fetched data and the `templateFrom` objects.
pub fn content(
    es: &ExternalSecret,
    fetched: &SecretMap,
    sources: &TemplateSources,
    opts: &Options,
) -> Result<TargetContent, TemplateFailure> {
    let Some(template) = es.spec.target.as_ref().and_then(|t| t.template.as_ref()) else {
        return Ok(TargetContent::untemplated(es, plain(fetched)));
    };
    let mut template = template.clone();
    // The CRD defaults engineVersion to v2; objects that never went through an API server
    // (`controller render -f`) get the same default here.
    template
        .engine_version
        .get_or_insert(TemplateEngineVersion::V2);
    let rendered = render_target(&template, &plain(fetched), sources, opts)
        .map_err(|e| TemplateFailure(e.to_string()))?;
    Ok(TargetContent {
        data: rendered.data,
        labels: rendered.labels,
        annotations: rendered.annotations,
        secret_type: rendered.secret_type,
        finalizers: rendered.finalizers,
    })
}

/// Reads the ConfigMaps and Secrets `templateFrom` names from the ExternalSecret's namespace.
/// Missing objects are left out; the renderer reports them with ESO's message.
pub async fn fetch_sources(
    client: &kube::Client,
    es: &ExternalSecret,
) -> Result<TemplateSources, kube::Error> {
    let mut sources = TemplateSources::default();
    let Some(template) = es.spec.target.as_ref().and_then(|t| t.template.as_ref()) else {
        return Ok(sources);
    };
    let ns = es.metadata.namespace.as_deref().unwrap_or_default();
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), ns);
    let secrets: Api<Secret> = Api::namespaced(client.clone(), ns);
    for tf in template.template_from.iter().flatten() {
        if let Some(r) = &tf.config_map
            && !sources.config_maps.contains_key(&r.name)
            && let Some(cm) = cms.get_opt(&r.name).await?
        {
            sources
                .config_maps
                .insert(r.name.clone(), cm.data.unwrap_or_default());
        }
        if let Some(r) = &tf.secret
            && !sources.secrets.contains_key(&r.name)
            && let Some(s) = secrets.get_opt(&r.name).await?
        {
            sources.secrets.insert(r.name.clone(), secret_data(&s));
        }
    }
    Ok(sources)
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use shared::api::v1::ExternalSecretSpec;
    use shared::secret_value::SecretValue;

    use super::*;

    #[test]
    fn template_from_uses_prefetched_sources() {
        let e = es(json!({"template": {"templateFrom": [
            {"configMap": {"name": "tpl", "items": [{"key": "conf"}]}}
        ]}}));
        let sources = TemplateSources {
            config_maps: BTreeMap::from([(
                "tpl".to_string(),
                BTreeMap::from([("conf".to_string(), "user={{ .user }}".to_string())]),
            )]),
            ..Default::default()
        };
        let c = content(&e, &fetched(), &sources, &Options::default()).expect("renders");
        assert_eq!(
            c.data.get("conf").map(Vec::as_slice),
            Some(b"user=admin".as_slice())
        );
        let missing = content(
            &e,
            &fetched(),
            &TemplateSources::default(),
            &Options::default(),
        );
        assert!(missing.is_err());
    }

    #[test]
    fn privileged_templates_are_rejected_before_rendering() {
        let e = es(json!({"template": {
            "type": "kubernetes.io/service-account-token",
            "metadata": {"annotations": {"kubernetes.io/service-account.name": "admin"}}
        }}));
        assert!(
            content(
                &e,
                &fetched(),
                &TemplateSources::default(),
                &Options::default()
            )
            .is_err()
        );
    }

    fn es(target: serde_json::Value) -> ExternalSecret {
        let spec: ExternalSecretSpec =
            serde_json::from_value(json!({"target": target})).expect("spec");
        ExternalSecret::new("db", spec)
    }

    fn fetched() -> SecretMap {
        SecretMap::from([
            ("user".to_string(), SecretValue::from("admin")),
            ("pass".to_string(), SecretValue::from("pw")),
        ])
    }

    #[test]
    fn replace_policy_keeps_only_rendered_keys() {
        let e = es(json!({"template": {
            "type": "kubernetes.io/basic-auth",
            "data": {"url": "https://{{ .user }}:{{ .pass }}@db"},
            "metadata": {"labels": {"owner": "{{ .user }}"}}
        }}));
        let c = content(
            &e,
            &fetched(),
            &TemplateSources::default(),
            &Options::default(),
        )
        .expect("renders");
        assert_eq!(
            c.data,
            BTreeMap::from([("url".to_string(), b"https://admin:pw@db".to_vec())])
        );
        assert_eq!(c.labels.get("owner").map(String::as_str), Some("admin"));
        assert_eq!(c.secret_type.as_deref(), Some("kubernetes.io/basic-auth"));
    }

    #[test]
    fn merge_policy_and_metadata_only_templates_keep_fetched_data() {
        let merge =
            es(json!({"template": {"mergePolicy": "Merge", "data": {"x": "{{ .user | upper }}"}}}));
        let c = content(
            &merge,
            &fetched(),
            &TemplateSources::default(),
            &Options::default(),
        )
        .expect("renders");
        assert_eq!(c.data.len(), 3);
        assert_eq!(
            c.data.get("x").map(Vec::as_slice),
            Some(b"ADMIN".as_slice())
        );
        let meta_only = es(json!({"template": {"metadata": {"annotations": {"a": "b"}}}}));
        let c = content(
            &meta_only,
            &fetched(),
            &TemplateSources::default(),
            &Options::default(),
        )
        .expect("renders");
        assert_eq!(c.data.len(), 2);
        assert!(
            c.labels.is_empty(),
            "ES labels are not copied when a template is present"
        );
    }

    #[test]
    fn missing_keys_are_errors() {
        let e = es(json!({"template": {"data": {"x": "{{ .nope }}"}}}));
        assert!(
            content(
                &e,
                &fetched(),
                &TemplateSources::default(),
                &Options::default()
            )
            .is_err()
        );
    }
}
