//! ESO's template rendering rules (reference §5 "Render order", §4.1, §4.2 step 6) as one pure
//! function: the reconcilers fetch provider data and the templateFrom objects, and this module
//! decides which keys, labels, annotations, type and finalizers the target gets.
//!
//! Error texts follow ESO's wrapping (`error fetching templateFrom data: ...`,
//! `could not execute template: ...`, `unable to execute template at key K: ...`) so status
//! messages read like ESO's. They never contain fetched values; Go's own template errors are
//! passed through as Go prints them.

use std::collections::BTreeMap;

use crate::api::v1::{
    DecodingStrategy as ApiDecodingStrategy, ExternalSecretTemplate, TemplateEngineVersion,
    TemplateMergePolicy, TemplateScope,
};
use crate::keys::DecodingStrategy;

use super::{Options, Template, TemplateError, Value};

mod kv;
mod rules;

pub use rules::{
    BOOTSTRAP_TOKEN_TYPE, SERVICE_ACCOUNT_NAME_ANNOTATION, SERVICE_ACCOUNT_TOKEN_TYPE,
    check_template_rules,
};

/// The objects `templateFrom` refers to, fetched by the reconciler from the object's namespace
/// and keyed by name. A name absent here is reported as ESO's NotFound error.
#[derive(Clone, Default)]
pub struct TemplateSources {
    pub config_maps: BTreeMap<String, BTreeMap<String, String>>,
    pub secrets: BTreeMap<String, BTreeMap<String, Vec<u8>>>,
}

// Secret-sourced templates may embed credentials: Debug shows names and keys only.
impl std::fmt::Debug for TemplateSources {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let keys = |m: &BTreeMap<String, Vec<u8>>| m.keys().cloned().collect::<Vec<_>>();
        f.debug_struct("TemplateSources")
            .field(
                "config_maps",
                &self
                    .config_maps
                    .iter()
                    .map(|(n, m)| (n, m.keys().collect::<Vec<_>>()))
                    .collect::<BTreeMap<_, _>>(),
            )
            .field(
                "secrets",
                &self
                    .secrets
                    .iter()
                    .map(|(n, m)| (n, keys(m)))
                    .collect::<BTreeMap<_, _>>(),
            )
            .finish()
    }
}

/// What the template produces for the target. `data` is the complete set of keys this
/// ExternalSecret writes (before creationPolicy Merge adds foreign keys); `labels` and
/// `annotations` are the template's own (the reconciler adds its managed label, data-hash
/// annotation etc.); `secret_type` is `None` when the template leaves the type alone.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct RenderedTarget {
    pub data: BTreeMap<String, Vec<u8>>,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    pub secret_type: Option<String>,
    pub finalizers: Vec<String>,
}

impl std::fmt::Debug for RenderedTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RenderedTarget")
            .field("data_keys", &self.data.keys().collect::<Vec<_>>())
            .field("labels", &self.labels)
            .field("annotations", &self.annotations)
            .field("secret_type", &self.secret_type)
            .field("finalizers", &self.finalizers)
            .finish()
    }
}

/// Why rendering failed. `Display` is the message for status conditions and events.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    /// The privileged-template rules (§3 rules 4–6) reject the template; one line per violation.
    #[error("{0}")]
    Forbidden(String),
    /// `engineVersion` is not `v2` (ESO: `EngineForVersion("")` is an error too).
    #[error("unsupported template engine version: {0}")]
    EngineVersion(String),
    /// A `templateFrom` entry failed: missing ConfigMap/Secret or item key, template error,
    /// unparsable KeysAndValues output or value decoding.
    #[error("error fetching templateFrom data: {0}")]
    TemplateFrom(String),
    /// `template.data` or a metadata label/annotation template failed.
    #[error("could not execute template: could not execute template: {0}")]
    Template(String),
}

/// Which part of the target a rendered key/value goes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Target {
    Data,
    Labels,
    Annotations,
}

impl Target {
    fn parse(target: Option<&str>) -> Option<Target> {
        let t = target.unwrap_or("");
        if t.is_empty() || t.eq_ignore_ascii_case("data") {
            Some(Target::Data)
        } else if t.eq_ignore_ascii_case("labels") {
            Some(Target::Labels)
        } else if t.eq_ignore_ascii_case("annotations") {
            Some(Target::Annotations)
        } else {
            None
        }
    }
}

struct Renderer<'a> {
    context: Value,
    opts: &'a Options,
    out: RenderedTarget,
}

impl Renderer<'_> {
    /// ESO `execute`: parse errors and execution errors name the template (key) twice, as
    /// ESO's nested wrapping does.
    fn execute(&self, name: &str, text: &str) -> Result<Vec<u8>, String> {
        let tpl = Template::parse(name, text, self.opts).map_err(|e| {
            format!(
                "unable to execute template at key {name}: unable to parse template at key \
                 {name}: {e}"
            )
        })?;
        tpl.render_bytes(&self.context).map_err(|e| {
            format!(
                "unable to execute template at key {name}: unable to execute template at key \
                 {name}: {e}"
            )
        })
    }

    fn apply(
        &mut self,
        target: Target,
        key: String,
        value: Vec<u8>,
        decoding: DecodingStrategy,
    ) -> Result<(), String> {
        let value = crate::keys::decode(decoding, &value).map_err(|e| {
            format!(
                "failed to decode value of key {key} with valuesDecodingStrategy {decoding}: {e}"
            )
        })?;
        match target {
            Target::Data => {
                self.out.data.insert(key, value);
            }
            Target::Labels => {
                self.out.labels.insert(key, lossy(value));
            }
            Target::Annotations => {
                self.out.annotations.insert(key, lossy(value));
            }
        }
        Ok(())
    }

    /// `templateAs: Values`: the text templates its own key.
    fn values_scope(
        &mut self,
        key: &str,
        text: &str,
        target: Target,
        decoding: DecodingStrategy,
    ) -> Result<(), String> {
        let rendered = self.execute(key, text)?;
        self.apply(target, key.to_string(), rendered, decoding)
    }

    /// `templateAs: KeysAndValues`: the output is a YAML map of keys to values. ESO names the
    /// template after its own text.
    fn keys_and_values_scope(
        &mut self,
        text: &str,
        target: Target,
        decoding: DecodingStrategy,
    ) -> Result<(), String> {
        let rendered = self.execute(text, text)?;
        for (k, v) in kv::parse_string_map(&rendered)? {
            self.apply(target, k, v.into_bytes(), decoding)?;
        }
        Ok(())
    }
}

fn lossy(b: Vec<u8>) -> String {
    match String::from_utf8(b) {
        Ok(s) => s,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    }
}

fn decoding_of(s: Option<ApiDecodingStrategy>) -> DecodingStrategy {
    match s.unwrap_or_default() {
        ApiDecodingStrategy::Auto => DecodingStrategy::Auto,
        ApiDecodingStrategy::Base64 => DecodingStrategy::Base64,
        ApiDecodingStrategy::Base64Url => DecodingStrategy::Base64Url,
        ApiDecodingStrategy::None => DecodingStrategy::None,
    }
}

/// Renders an ExternalSecret (or PushSecret) template against the fetched data.
///
/// Order, as ESO's `ApplyTemplate`: privileged-template rules (Secret target) → engine version →
/// fetched keys if `mergePolicy: Merge` or the template has neither `data` nor `templateFrom` →
/// each `templateFrom` entry in order (its configMap items, then secret items, then literal) →
/// `template.data` (wins) → `metadata.labels` → `metadata.annotations` (both templated, winning
/// over templateFrom output for the same key). `fetched` is the template context (`.key`), with
/// bytes as Go strings (non-UTF-8 bytes preserved).
///
/// PushSecret differences are the caller's: ESO keeps the source Secret's keys regardless of
/// `mergePolicy` (overlay `data` on the source data) and copies `type` even when empty; it
/// always uses engine v2 (set `engine_version` before calling).
pub fn render_target(
    template: &ExternalSecretTemplate,
    fetched: &BTreeMap<String, Vec<u8>>,
    sources: &TemplateSources,
    opts: &Options,
) -> Result<RenderedTarget, RenderError> {
    check_template_rules(template, true)?;
    match template.engine_version {
        Some(TemplateEngineVersion::V2) => {}
        None => return Err(RenderError::EngineVersion(String::new())),
    }

    let mut r = Renderer {
        context: Value::from(fetched),
        opts,
        out: RenderedTarget::default(),
    };
    if let Some(t) = template.type_.as_deref().filter(|t| !t.is_empty()) {
        r.out.secret_type = Some(t.to_string());
    }
    let metadata = template.metadata.as_ref();
    if let Some(finalizers) = metadata.and_then(|m| m.finalizers.as_ref()) {
        for f in finalizers {
            if !r.out.finalizers.contains(f) {
                r.out.finalizers.push(f.clone());
            }
        }
    }

    let data = template.data.as_ref().filter(|d| !d.is_empty());
    let template_from = template.template_from.as_deref().unwrap_or(&[]);
    let no_template = data.is_none() && template_from.is_empty();
    if template.effective_merge_policy() == TemplateMergePolicy::Merge || no_template {
        r.out.data = fetched.clone();
    }

    for tf in template_from {
        apply_template_from(&mut r, tf, sources).map_err(RenderError::TemplateFrom)?;
    }

    let none = DecodingStrategy::None;
    for (key, text) in data.into_iter().flatten() {
        r.values_scope(key, text, Target::Data, none)
            .map_err(RenderError::Template)?;
    }
    if let Some(labels) = metadata.and_then(|m| m.labels.as_ref()) {
        for (key, text) in labels {
            r.values_scope(key, text, Target::Labels, none)
                .map_err(RenderError::Template)?;
        }
    }
    if let Some(annotations) = metadata.and_then(|m| m.annotations.as_ref()) {
        for (key, text) in annotations {
            r.values_scope(key, text, Target::Annotations, none)
                .map_err(RenderError::Template)?;
        }
    }
    Ok(r.out)
}

fn apply_template_from(
    r: &mut Renderer<'_>,
    tf: &crate::api::v1::TemplateFrom,
    sources: &TemplateSources,
) -> Result<(), String> {
    // Non-Secret targets were rejected by the rules check; keep the guard for direct callers.
    let Some(target) = Target::parse(tf.target.as_deref()) else {
        return Err(format!(
            "unsupported templateFrom target {:?}",
            tf.target.as_deref().unwrap_or("")
        ));
    };
    let decoding = decoding_of(tf.values_decoding_strategy);

    if let Some(cm_ref) = &tf.config_map {
        let Some(cm) = sources.config_maps.get(&cm_ref.name) else {
            return Err(format!("configmaps {:?} not found", cm_ref.name));
        };
        for item in &cm_ref.items {
            let Some(text) = cm.get(&item.key) else {
                return Err(format!(
                    "error in configmap {}: missing key {}",
                    cm_ref.name, item.key
                ));
            };
            match item.template_as.unwrap_or_default() {
                TemplateScope::Values => r.values_scope(&item.key, text, target, decoding)?,
                TemplateScope::KeysAndValues => r.keys_and_values_scope(text, target, decoding)?,
            }
        }
    }
    if let Some(sec_ref) = &tf.secret {
        let Some(sec) = sources.secrets.get(&sec_ref.name) else {
            return Err(format!("secrets {:?} not found", sec_ref.name));
        };
        for item in &sec_ref.items {
            let Some(bytes) = sec.get(&item.key) else {
                return Err(format!(
                    "error in secret {}: missing key {}",
                    sec_ref.name, item.key
                ));
            };
            // Go converts the bytes to a string for parsing; invalid UTF-8 in template text is
            // replaced, which only matters inside literal text.
            let text = String::from_utf8_lossy(bytes);
            match item.template_as.unwrap_or_default() {
                TemplateScope::Values => r.values_scope(&item.key, &text, target, decoding)?,
                TemplateScope::KeysAndValues => r.keys_and_values_scope(&text, target, decoding)?,
            }
        }
    }
    if let Some(literal) = &tf.literal {
        r.keys_and_values_scope(literal, target, decoding)?;
    }
    Ok(())
}

/// Renders a `rewrite.transform` template for one key (`.value` = the key), with ESO's default
/// delimiters. Plugs into [`crate::keys::rewrite_map`] as its render closure.
pub fn render_rewrite_transform(template_text: &str, key: &str) -> Result<String, TemplateError> {
    let tpl = Template::parse("transform", template_text, &Options::default())?;
    let mut ctx = BTreeMap::new();
    ctx.insert("value".to_string(), key.to_string());
    tpl.render(&Value::from(&ctx))
}
