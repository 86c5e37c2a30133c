//! What the target Secret should look like after a sync (ESO's mutation function, §4.1).
//!
//! Pure: given the ExternalSecret, the content to write (provider data or template output) and
//! the existing Secret (with its managedFields), return the Secret to create or replace, or
//! [`Plan::Unchanged`] when a write would change nothing.

use std::collections::BTreeMap;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::api::ObjectMeta;
use shared::api::v1::{CreationPolicy, ExternalSecret};
use shared::hash::{created_by_label, field_manager_for, object_hash_secret_data};

use super::managed_fields::owned_by;
use super::{
    ANNOTATION_DATA_HASH, LABEL_CREATED_BY, LABEL_MANAGED, LABEL_MANAGED_VALUE, secret_data,
};

const ES_API_VERSION: &str = "external-secrets.io/v1";
const ES_KIND: &str = "ExternalSecret";

/// What a sync puts into the target: provider data, or the rendered template.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TargetContent {
    /// Keys to write (already merged with provider data where the template asks for it).
    pub data: BTreeMap<String, Vec<u8>>,
    /// Labels to set.
    pub labels: BTreeMap<String, String>,
    /// Annotations to set.
    pub annotations: BTreeMap<String, String>,
    /// Secret type; `None` keeps the existing type (a new Secret defaults to Opaque).
    pub secret_type: Option<String>,
    /// Finalizers to add.
    pub finalizers: Vec<String>,
}

impl TargetContent {
    /// Content without a template: the provider data, and the ExternalSecret's own labels and
    /// annotations (ESO copies them verbatim).
    pub fn untemplated(es: &ExternalSecret, data: BTreeMap<String, Vec<u8>>) -> Self {
        Self {
            data,
            labels: es.metadata.labels.clone().unwrap_or_default(),
            annotations: es.metadata.annotations.clone().unwrap_or_default(),
            secret_type: None,
            finalizers: Vec::new(),
        }
    }
}

/// The write a sync needs.
#[derive(Clone, Debug, PartialEq)]
pub enum Plan {
    /// Create this Secret.
    Create(Box<Secret>),
    /// Replace the existing Secret with this one (carries its resourceVersion).
    Update(Box<Secret>),
    /// The existing Secret already matches.
    Unchanged,
    /// creationPolicy Merge and the target does not exist: nothing to merge into.
    Missing,
    /// creationPolicy None: never write.
    Skip,
}

/// Why the target cannot be written. Messages are ESO's condition texts.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DesiredError {
    /// The existing Secret is immutable and the data or type would change.
    #[error("could not update secret, target is immutable")]
    Immutable,
    /// Another ExternalSecret controls the target.
    #[error("target is owned by another ExternalSecret")]
    OwnedByOther,
    /// Some other controller owns the target.
    #[error("failed to take ownership of target secret: already owned by {0}")]
    AlreadyOwned(String),
}

/// The controller ownerRef pointing at `es`.
pub fn owner_reference(es: &ExternalSecret) -> OwnerReference {
    OwnerReference {
        api_version: ES_API_VERSION.into(),
        kind: ES_KIND.into(),
        name: es.metadata.name.clone().unwrap_or_default(),
        uid: es.metadata.uid.clone().unwrap_or_default(),
        controller: Some(true),
        block_owner_deletion: Some(true),
    }
}

fn is_es_ref(r: &OwnerReference) -> bool {
    r.kind == ES_KIND && r.api_version.split('/').next() == Some("external-secrets.io")
}

/// Whether `secret`'s controller reference points at `es` (same group, kind and name, as
/// controller-runtime compares them).
pub fn is_controlled_by(secret: &Secret, es: &ExternalSecret) -> bool {
    controller_of(secret)
        .is_some_and(|r| is_es_ref(r) && Some(&r.name) == es.metadata.name.as_ref())
}

fn controller_of(secret: &Secret) -> Option<&OwnerReference> {
    secret
        .metadata
        .owner_references
        .as_deref()
        .unwrap_or_default()
        .iter()
        .find(|r| r.controller == Some(true))
}

fn new_secret(es: &ExternalSecret) -> Secret {
    Secret {
        metadata: ObjectMeta {
            name: es.target_name().map(str::to_string),
            namespace: es.metadata.namespace.clone(),
            ..Default::default()
        },
        ..Default::default()
    }
}

fn to_bytestrings(data: BTreeMap<String, Vec<u8>>) -> Option<BTreeMap<String, ByteString>> {
    (!data.is_empty()).then(|| data.into_iter().map(|(k, v)| (k, ByteString(v))).collect())
}

fn non_empty<K: Ord, V>(m: BTreeMap<K, V>) -> Option<BTreeMap<K, V>> {
    (!m.is_empty()).then_some(m)
}

/// Computes the Secret to write for `es`.
pub fn desired(
    es: &ExternalSecret,
    content: &TargetContent,
    existing: Option<&Secret>,
) -> Result<Plan, DesiredError> {
    let policy = es.spec.effective_creation_policy();
    match (policy, existing) {
        (CreationPolicy::None, _) => return Ok(Plan::Skip),
        (CreationPolicy::Merge, None) => return Ok(Plan::Missing),
        _ => {}
    }
    let es_name = es.metadata.name.as_deref().unwrap_or_default();
    let es_ns = es.metadata.namespace.as_deref().unwrap_or_default();
    let immutable = es
        .spec
        .target
        .as_ref()
        .and_then(|t| t.immutable)
        .unwrap_or(false);

    let mut secret = existing.cloned().unwrap_or_else(|| new_secret(es));
    let mut data = secret_data(&secret);
    let mut labels = secret.metadata.labels.take().unwrap_or_default();
    let mut annotations = secret.metadata.annotations.take().unwrap_or_default();

    if immutable {
        secret.immutable = Some(true);
    }
    // A pre-existing Secret targeted with immutable keeps its current data: it is only
    // labelled and frozen.
    if existing.is_none() || !immutable {
        if let Some(existing) = existing {
            let owned = owned_by(existing, &field_manager_for(es_name));
            data.retain(|k, _| !owned.data.contains(k));
            labels.retain(|k, _| !owned.labels.contains(k));
            annotations.retain(|k, _| !owned.annotations.contains(k));
        }
        data.extend(content.data.iter().map(|(k, v)| (k.clone(), v.clone())));
        labels.extend(content.labels.iter().map(|(k, v)| (k.clone(), v.clone())));
        annotations.extend(
            content
                .annotations
                .iter()
                .map(|(k, v)| (k.clone(), v.clone())),
        );
        if let Some(t) = &content.secret_type {
            secret.type_ = Some(t.clone());
        }
        if secret.metadata.deletion_timestamp.is_none() {
            let finalizers = secret.metadata.finalizers.get_or_insert_with(Vec::new);
            for f in &content.finalizers {
                if !finalizers.contains(f) {
                    finalizers.push(f.clone());
                }
            }
            if finalizers.is_empty() {
                secret.metadata.finalizers = None;
            }
        }
    }

    // Ownership.
    let mut refs = secret.metadata.owner_references.take().unwrap_or_default();
    if policy == CreationPolicy::Owner {
        if let Some(current) = refs.iter().find(|r| r.controller == Some(true)) {
            if is_es_ref(current) && Some(&current.name) != es.metadata.name.as_ref() {
                return Err(DesiredError::OwnedByOther);
            }
            if !is_es_ref(current) {
                return Err(DesiredError::AlreadyOwned(format!(
                    "{} {}",
                    current.kind, current.name
                )));
            }
        }
        refs.retain(|r| !(is_es_ref(r) && Some(&r.name) == es.metadata.name.as_ref()));
        refs.push(owner_reference(es));
        labels.insert(LABEL_CREATED_BY.into(), created_by_label(es_ns, es_name));
    } else {
        refs.retain(|r| !(is_es_ref(r) && Some(&r.name) == es.metadata.name.as_ref()));
        labels.remove(LABEL_CREATED_BY);
    }
    secret.metadata.owner_references = non_empty_vec(refs);
    labels.insert(LABEL_MANAGED.into(), LABEL_MANAGED_VALUE.into());
    annotations.insert(ANNOTATION_DATA_HASH.into(), object_hash_secret_data(&data));
    secret.metadata.labels = non_empty(labels);
    secret.metadata.annotations = non_empty(annotations);
    secret.data = to_bytestrings(data);
    secret.string_data = None;

    let Some(existing) = existing else {
        return Ok(Plan::Create(Box::new(secret)));
    };
    if existing.immutable == Some(true)
        && (secret_data(existing) != secret_data(&secret) || existing.type_ != secret.type_)
    {
        return Err(DesiredError::Immutable);
    }
    if same_content(existing, &secret) {
        return Ok(Plan::Unchanged);
    }
    // managedFields are computed by the API server from what changed.
    secret.metadata.managed_fields = None;
    Ok(Plan::Update(Box::new(secret)))
}

fn non_empty_vec<T>(v: Vec<T>) -> Option<Vec<T>> {
    (!v.is_empty()).then_some(v)
}

fn same_content(a: &Secret, b: &Secret) -> bool {
    let map = |m: &Option<BTreeMap<String, String>>| m.clone().unwrap_or_default();
    secret_data(a) == secret_data(b)
        && a.type_ == b.type_
        && a.immutable.unwrap_or(false) == b.immutable.unwrap_or(false)
        && map(&a.metadata.labels) == map(&b.metadata.labels)
        && map(&a.metadata.annotations) == map(&b.metadata.annotations)
        && a.metadata.owner_references.clone().unwrap_or_default()
            == b.metadata.owner_references.clone().unwrap_or_default()
        && a.metadata.finalizers.clone().unwrap_or_default()
            == b.metadata.finalizers.clone().unwrap_or_default()
}

/// Secrets in the ExternalSecret's namespace carrying its created-by hash under another name:
/// left behind by a target rename (creationPolicy Owner deletes them).
pub fn orphaned<'a>(es: &ExternalSecret, candidates: &'a [Secret]) -> Vec<&'a Secret> {
    let es_name = es.metadata.name.as_deref().unwrap_or_default();
    let es_ns = es.metadata.namespace.as_deref().unwrap_or_default();
    let hash = created_by_label(es_ns, es_name);
    candidates
        .iter()
        .filter(|s| {
            s.metadata
                .labels
                .as_ref()
                .and_then(|l| l.get(LABEL_CREATED_BY))
                == Some(&hash)
                && s.metadata.name.as_deref() != es.target_name()
        })
        .collect()
}

#[cfg(test)]
#[path = "desired_tests.rs"]
mod tests;
