//! Turning fetched data into the target's content: verbatim without a template, rendered with
//! one (template engine v2).

use std::collections::BTreeMap;

use shared::api::v1::{ExternalSecret, ExternalSecretTemplate, TemplateMergePolicy};
use shared::keys::SecretMap;
use shared::template::{Options, Template, Value};

use crate::secrets::desired::TargetContent;

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

fn render(name: &str, text: &str, ctx: &Value, opts: &Options) -> Result<Vec<u8>, TemplateFailure> {
    Template::parse(name, text, opts)
        .and_then(|t| t.render_bytes(ctx))
        .map_err(|e| TemplateFailure(e.to_string()))
}

fn render_map(
    map: Option<&BTreeMap<String, String>>,
    ctx: &Value,
    opts: &Options,
) -> Result<BTreeMap<String, String>, TemplateFailure> {
    map.into_iter()
        .flatten()
        .map(|(k, v)| {
            let out = render(k, v, ctx, opts)?;
            Ok((k.clone(), String::from_utf8_lossy(&out).into_owned()))
        })
        .collect()
}

/// The target content for `es` given its fetched data.
pub fn content(
    es: &ExternalSecret,
    fetched: &SecretMap,
    opts: &Options,
) -> Result<TargetContent, TemplateFailure> {
    let Some(template) = es.spec.target.as_ref().and_then(|t| t.template.as_ref()) else {
        return Ok(TargetContent::untemplated(es, plain(fetched)));
    };
    render_template(template, fetched, opts)
}

fn render_template(
    template: &ExternalSecretTemplate,
    fetched: &SecretMap,
    opts: &Options,
) -> Result<TargetContent, TemplateFailure> {
    if template
        .template_from
        .as_ref()
        .is_some_and(|t| !t.is_empty())
    {
        return Err(TemplateFailure(
            "templateFrom is not supported by this build yet".to_string(),
        ));
    }
    let fetched_plain = plain(fetched);
    let ctx = Value::from(&fetched_plain);
    let data_templates = template.data.as_ref().filter(|d| !d.is_empty());
    let mut data = BTreeMap::new();
    if template.effective_merge_policy() == TemplateMergePolicy::Merge || data_templates.is_none() {
        data.extend(fetched_plain.clone());
    }
    for (key, text) in data_templates.into_iter().flatten() {
        data.insert(key.clone(), render(key, text, &ctx, opts)?);
    }
    let meta = template.metadata.as_ref();
    Ok(TargetContent {
        data,
        labels: render_map(meta.and_then(|m| m.labels.as_ref()), &ctx, opts)?,
        annotations: render_map(meta.and_then(|m| m.annotations.as_ref()), &ctx, opts)?,
        secret_type: template.type_.clone().filter(|t| !t.is_empty()),
        finalizers: meta.and_then(|m| m.finalizers.clone()).unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use shared::api::v1::ExternalSecretSpec;
    use shared::secret_value::SecretValue;

    use super::*;

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
        let c = content(&e, &fetched(), &Options::default()).expect("renders");
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
        let c = content(&merge, &fetched(), &Options::default()).expect("renders");
        assert_eq!(c.data.len(), 3);
        assert_eq!(
            c.data.get("x").map(Vec::as_slice),
            Some(b"ADMIN".as_slice())
        );
        let meta_only = es(json!({"template": {"metadata": {"annotations": {"a": "b"}}}}));
        let c = content(&meta_only, &fetched(), &Options::default()).expect("renders");
        assert_eq!(c.data.len(), 2);
        assert!(
            c.labels.is_empty(),
            "ES labels are not copied when a template is present"
        );
    }

    #[test]
    fn missing_keys_are_errors() {
        let e = es(json!({"template": {"data": {"x": "{{ .nope }}"}}}));
        assert!(content(&e, &fetched(), &Options::default()).is_err());
    }
}
