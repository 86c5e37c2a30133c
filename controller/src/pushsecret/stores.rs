//! Resolving `secretStoreRefs` (§4.2 step 5): by name or label selector, per kind; stores being
//! deleted or owned by another controller class are dropped; ClusterSecretStore conditions apply;
//! readiness does not matter (PushSecret ignores the flood gate, as ESO does).

use std::collections::BTreeMap;

use kube::ResourceExt;
use kube::core::{Selector, SelectorExt};
use kube::runtime::reflector::ObjectRef;
use shared::api::v1::{SecretStoreKind, SecretStoreRef};
use shared::api::v1alpha1::PushSecretStoreRef;

use super::plan::StoreTarget;
use crate::stores::{ResolvedStore, StoreError, StoreIndex};

/// A store to push to.
#[derive(Clone)]
pub struct PushStore {
    pub target: StoreTarget,
    pub resolved: ResolvedStore,
}

/// Resolution failures that make the reconcile fail.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    #[error("invalid secretStoreRefs labelSelector: {0}")]
    Selector(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

struct Candidate {
    name: String,
    labels: BTreeMap<String, String>,
    deleting: bool,
}

fn candidates(
    index: &StoreIndex,
    namespace: &str,
    kind: SecretStoreKind,
) -> Result<Vec<Candidate>, StoreError> {
    let to_candidate =
        |name: String, labels: &BTreeMap<String, String>, deleting: bool| Candidate {
            name,
            labels: labels.clone(),
            deleting,
        };
    Ok(match kind {
        SecretStoreKind::SecretStore => index
            .secret_stores()
            .state()
            .iter()
            .filter(|s| s.namespace().as_deref() == Some(namespace))
            .map(|s| {
                to_candidate(
                    s.name_any(),
                    s.labels(),
                    s.metadata.deletion_timestamp.is_some(),
                )
            })
            .collect(),
        SecretStoreKind::ClusterSecretStore => index
            .cluster_stores()
            .ok_or_else(|| StoreError::ClusterStoresDisabled {
                name: String::new(),
            })?
            .state()
            .iter()
            .map(|s| {
                to_candidate(
                    s.name_any(),
                    s.labels(),
                    s.metadata.deletion_timestamp.is_some(),
                )
            })
            .collect(),
    })
}

fn lookup(
    index: &StoreIndex,
    namespace: &str,
    kind: SecretStoreKind,
    name: &str,
) -> Option<Candidate> {
    match kind {
        SecretStoreKind::SecretStore => index
            .secret_stores()
            .get(&ObjectRef::new(name).within(namespace))
            .map(|s| Candidate {
                name: name.into(),
                labels: s.labels().clone(),
                deleting: s.metadata.deletion_timestamp.is_some(),
            }),
        SecretStoreKind::ClusterSecretStore => index
            .cluster_stores()?
            .get(&ObjectRef::new(name))
            .map(|s| Candidate {
                name: name.into(),
                labels: s.labels().clone(),
                deleting: s.metadata.deletion_timestamp.is_some(),
            }),
    }
}

/// Resolves one store by name without the flood gate. `Ok(None)` means "skip silently"
/// (another controller class, cluster stores disabled).
pub fn resolve_one(
    index: &StoreIndex,
    namespace: &str,
    kind: SecretStoreKind,
    name: &str,
) -> Result<Option<ResolvedStore>, StoreError> {
    let store_ref = SecretStoreRef {
        name: Some(name.to_string()),
        kind: Some(kind),
    };
    match index.resolve_ungated(namespace, &store_ref) {
        Ok(r) => Ok(Some(r)),
        Err(e) if e.is_skip() => Ok(None),
        Err(e) => Err(e),
    }
}

/// Resolves every `secretStoreRefs` entry, deduplicated, in spec order.
pub fn resolve_all(
    index: &StoreIndex,
    namespace: &str,
    refs: &[PushSecretStoreRef],
) -> Result<Vec<PushStore>, ResolveError> {
    let mut out: Vec<PushStore> = Vec::new();
    for r in refs {
        let kind = r.effective_kind();
        let picked: Vec<Candidate> = if let Some(name) = r.name.as_deref().filter(|n| !n.is_empty())
        {
            match lookup(index, namespace, kind, name) {
                Some(c) => vec![c],
                // Let resolve() produce ESO's NotFound (or skip) error.
                None => vec![Candidate {
                    name: name.into(),
                    labels: BTreeMap::new(),
                    deleting: false,
                }],
            }
        } else if let Some(sel) = &r.label_selector {
            let selector = Selector::try_from(sel.clone())
                .map_err(|e| ResolveError::Selector(e.to_string()))?;
            match candidates(index, namespace, kind) {
                Ok(all) => all
                    .into_iter()
                    .filter(|c| selector.matches(&c.labels))
                    .collect(),
                Err(e) if e.is_skip() => Vec::new(),
                Err(e) => return Err(e.into()),
            }
        } else {
            Vec::new()
        };
        for c in picked {
            if c.deleting {
                continue;
            }
            if out
                .iter()
                .any(|p| p.target.kind == kind && p.target.name == c.name)
            {
                continue;
            }
            let Some(resolved) = resolve_one(index, namespace, kind, &c.name)? else {
                continue;
            };
            out.push(PushStore {
                target: StoreTarget {
                    kind,
                    name: c.name,
                    labels: c.labels,
                },
                resolved,
            });
        }
    }
    Ok(out)
}
