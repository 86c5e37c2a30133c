//! Which entries a PushSecret writes to which store (reference §4.2 steps 3, 5–7), as pure
//! functions of the spec, the keys of the (templated) source Secrets and the resolved stores.
//!
//! Values never enter this module: planning works on key names only, so its errors cannot leak a
//! secret value.

use std::collections::{BTreeMap, BTreeSet};

use kube::core::{Selector, SelectorExt};
use shared::api::v1::{SecretStoreKind, SecretStoreRef};
use shared::api::v1alpha1::{
    PushSecretConversionStrategy, PushSecretData, PushSecretDataTo, PushSecretMatch,
    PushSecretRemoteRef, PushSecretSpec, PushSecretStoreRef, SyncedPushSecretsMap,
};
use shared::keys::{GoRegex, RewriteOp, SecretMap, reverse_unicode, rewrite_map};
use shared::secret_value::SecretValue;
use shared::template::eso::render_rewrite_transform;

/// A store the PushSecret resolved to, as far as planning needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoreTarget {
    pub kind: SecretStoreKind,
    pub name: String,
    pub labels: BTreeMap<String, String>,
}

impl StoreTarget {
    /// Key of this store in `status.syncedPushSecrets`: `<Kind>/<name>`.
    pub fn status_key(&self) -> String {
        store_status_key(self.kind, &self.name)
    }
}

/// `<Kind>/<name>`, the key of a store in `status.syncedPushSecrets`.
pub fn store_status_key(kind: SecretStoreKind, name: &str) -> String {
    format!("{}/{}", kind.as_str(), name)
}

/// Parses a `status.syncedPushSecrets` store key back into a store reference.
pub fn parse_store_status_key(key: &str) -> Option<SecretStoreRef> {
    let (kind, name) = key.split_once('/')?;
    let kind = match kind {
        "SecretStore" => SecretStoreKind::SecretStore,
        "ClusterSecretStore" => SecretStoreKind::ClusterSecretStore,
        _ => return None,
    };
    (!name.is_empty()).then(|| SecretStoreRef {
        name: Some(name.to_string()),
        kind: Some(kind),
    })
}

/// One write to one store.
#[derive(Clone, Debug, PartialEq)]
pub struct PlannedPush {
    /// The entry handed to the provider and recorded in status. `match.secretKey` names a key of
    /// the source data after this entry's conversion strategy.
    pub data: PushSecretData,
    /// Bundle mode (`dataTo[].remoteKey`): the pushed Secret is cut down to these keys (after
    /// conversion) and pushed whole.
    pub only_keys: Option<BTreeSet<String>>,
}

/// Spec problems found while planning. Messages name keys and stores, never values.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error("dataTo[{0}]: storeRef must specify either name or labelSelector")]
    DataToNoStore(usize),
    #[error("dataTo[{index}]: storeRef {name:?} is not listed in secretStoreRefs")]
    DataToStoreNotListed { index: usize, name: String },
    #[error("dataTo[{0}]: storeRef labelSelector does not match any resolved store")]
    DataToSelectorNoMatch(usize),
    #[error("dataTo[{index}]: invalid labelSelector: {reason}")]
    InvalidSelector { index: usize, reason: String },
    #[error("dataTo[{index}]: invalid match.regexp: {reason}")]
    InvalidRegexp { index: usize, reason: String },
    #[error("dataTo[{index}]: rewrite failed: {reason}")]
    Rewrite { index: usize, reason: String },
    #[error("secret name collision during conversion: {0}")]
    Collision(String),
    #[error("duplicate remote key {remote:?} for store {store}")]
    DuplicateRemoteKey { store: String, remote: String },
}

/// Step 3: every dataTo storeRef has a name or label selector, and a named one is listed in
/// `secretStoreRefs` (same kind).
pub fn validate_data_to(spec: &PushSecretSpec) -> Result<(), PlanError> {
    for (index, rule) in spec.data_to_items().iter().enumerate() {
        let Some(store_ref) = &rule.store_ref else {
            return Err(PlanError::DataToNoStore(index));
        };
        match (&store_ref.name, &store_ref.label_selector) {
            (Some(name), _) if !name.is_empty() => {
                let listed = spec.secret_store_refs.iter().any(|r| {
                    r.name.as_deref() == Some(name)
                        && r.effective_kind() == store_ref.effective_kind()
                });
                if !listed {
                    return Err(PlanError::DataToStoreNotListed {
                        index,
                        name: name.clone(),
                    });
                }
            }
            (_, Some(_)) => {}
            _ => return Err(PlanError::DataToNoStore(index)),
        }
    }
    Ok(())
}

fn selector_matches(
    index: usize,
    store_ref: &PushSecretStoreRef,
    store: &StoreTarget,
) -> Result<bool, PlanError> {
    if store_ref.effective_kind() != store.kind {
        return Ok(false);
    }
    if let Some(name) = store_ref.name.as_deref().filter(|n| !n.is_empty()) {
        return Ok(name == store.name);
    }
    let Some(sel) = &store_ref.label_selector else {
        return Ok(false);
    };
    let selector = Selector::try_from(sel.clone()).map_err(|e| PlanError::InvalidSelector {
        index,
        reason: e.to_string(),
    })?;
    Ok(selector.matches(&store.labels))
}

/// Step 5 (tail): a dataTo label selector must match at least one resolved store.
pub fn check_data_to_selectors(
    spec: &PushSecretSpec,
    stores: &[StoreTarget],
) -> Result<(), PlanError> {
    for (index, rule) in spec.data_to_items().iter().enumerate() {
        let Some(store_ref) = &rule.store_ref else {
            continue;
        };
        if store_ref.name.as_deref().is_some_and(|n| !n.is_empty()) {
            continue;
        }
        let mut any = false;
        for store in stores {
            any |= selector_matches(index, store_ref, store)?;
        }
        if !any {
            return Err(PlanError::DataToSelectorNoMatch(index));
        }
    }
    Ok(())
}

/// Source keys as an entry with `strategy` sees them.
pub fn convert_keys(
    strategy: PushSecretConversionStrategy,
    keys: &BTreeSet<String>,
) -> Result<BTreeSet<String>, PlanError> {
    if strategy == PushSecretConversionStrategy::None {
        return Ok(keys.clone());
    }
    let mut out = BTreeSet::new();
    for key in keys {
        let converted = reverse_unicode(key);
        if !out.insert(converted.clone()) {
            return Err(PlanError::Collision(converted));
        }
    }
    Ok(out)
}

fn rewrite_ops(rule: &PushSecretDataTo) -> Vec<RewriteOp> {
    rule.rewrite
        .iter()
        .flatten()
        .filter_map(|r| match (&r.regexp, &r.transform) {
            (Some(re), _) => Some(RewriteOp::Regexp {
                source: re.source.clone(),
                target: re.target.clone(),
            }),
            (None, Some(t)) => Some(RewriteOp::Transform {
                template: t.template.clone(),
            }),
            (None, None) => None,
        })
        .collect()
}

/// Expands one dataTo rule against the source keys (§4.2 step 6): keys are converted, filtered
/// by `match.regexp`, stripped of keys an explicit `data[]` entry pushes, then either bundled
/// under `remoteKey` or rewritten one by one into remote keys.
fn expand_data_to(
    index: usize,
    rule: &PushSecretDataTo,
    source_keys: &BTreeSet<String>,
    explicit_keys: &BTreeSet<String>,
) -> Result<Vec<PlannedPush>, PlanError> {
    let strategy = rule.conversion_strategy.unwrap_or_default();
    let keys = convert_keys(strategy, source_keys)?;
    let regexp = rule
        .match_
        .as_ref()
        .and_then(|m| m.regexp.as_deref())
        .filter(|r| !r.is_empty())
        .map(GoRegex::new)
        .transpose()
        .map_err(|e| PlanError::InvalidRegexp {
            index,
            reason: e.to_string(),
        })?;
    let matched: BTreeSet<String> = keys
        .into_iter()
        .filter(|k| regexp.as_ref().is_none_or(|re| re.is_match(k)))
        .filter(|k| !explicit_keys.contains(k))
        .collect();
    if matched.is_empty() {
        return Ok(Vec::new());
    }
    let entry = |secret_key: Option<String>, remote_key: String| PushSecretData {
        match_: PushSecretMatch {
            secret_key,
            remote_ref: PushSecretRemoteRef {
                remote_key,
                property: None,
            },
        },
        metadata: rule.metadata.clone(),
        conversion_strategy: rule.conversion_strategy,
    };
    if let Some(remote_key) = rule.remote_key.as_deref().filter(|k| !k.is_empty()) {
        return Ok(vec![PlannedPush {
            data: entry(None, remote_key.to_string()),
            only_keys: Some(matched),
        }]);
    }
    // The rewrite helpers move values along with keys; carrying the original key as the value
    // tells us where each remote key came from.
    let by_key: SecretMap = matched
        .iter()
        .map(|k| (k.clone(), SecretValue::from(k.as_str())))
        .collect();
    let rewritten =
        rewrite_map(&rewrite_ops(rule), render_rewrite_transform, by_key).map_err(|e| {
            PlanError::Rewrite {
                index,
                reason: e.to_string(),
            }
        })?;
    Ok(rewritten
        .into_iter()
        .filter(|(remote, _)| !remote.is_empty())
        .map(|(remote, original)| {
            let original = String::from_utf8_lossy(original.as_bytes()).into_owned();
            PlannedPush {
                data: entry(Some(original), remote),
                only_keys: None,
            }
        })
        .collect())
}

/// Every entry pushed to `store` from a source with `source_keys`: explicit `data[]` entries,
/// then the dataTo rules targeting this store. Two entries with the same remote key/property
/// are an error.
pub fn plan_store(
    spec: &PushSecretSpec,
    source_keys: &BTreeSet<String>,
    store: &StoreTarget,
) -> Result<Vec<PlannedPush>, PlanError> {
    let mut planned: Vec<PlannedPush> = spec
        .data_items()
        .iter()
        .map(|d| PlannedPush {
            data: d.clone(),
            only_keys: None,
        })
        .collect();
    let explicit_keys: BTreeSet<String> = spec
        .data_items()
        .iter()
        .filter_map(|d| d.match_.secret_key.clone())
        .filter(|k| !k.is_empty())
        .collect();
    for (index, rule) in spec.data_to_items().iter().enumerate() {
        let Some(store_ref) = &rule.store_ref else {
            return Err(PlanError::DataToNoStore(index));
        };
        if selector_matches(index, store_ref, store)? {
            planned.extend(expand_data_to(index, rule, source_keys, &explicit_keys)?);
        }
    }
    let mut seen = BTreeSet::new();
    for p in &planned {
        let remote = p.data.match_.remote_ref.status_key();
        if !seen.insert(remote.clone()) {
            return Err(PlanError::DuplicateRemoteKey {
                store: store.status_key(),
                remote,
            });
        }
    }
    Ok(planned)
}

/// Entries recorded in `old` that `new` no longer contains (§4.2 step 7), as
/// (store key, entry). `new` must be the union over all source Secrets.
pub fn stale_entries(
    old: &SyncedPushSecretsMap,
    new: &SyncedPushSecretsMap,
) -> Vec<(String, PushSecretData)> {
    let mut out = Vec::new();
    for (store, entries) in old {
        for (remote, data) in entries {
            let still = new.get(store).is_some_and(|n| n.contains_key(remote));
            if !still {
                out.push((store.clone(), data.clone()));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests;
