//! `ClusterSecretStore.spec.conditions`: which namespaces may use a cluster store.

use std::collections::BTreeMap;

use kube::core::{Selector, SelectorExt};
use shared::api::v1::ClusterSecretStoreCondition;
use shared::keys::GoRegex;

/// A condition that cannot be evaluated.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConditionError {
    #[error("failed to compile regex {pattern:?}: {reason}")]
    Regex { pattern: String, reason: String },
    #[error("invalid namespaceSelector: {0}")]
    Selector(String),
}

/// ESO's rule: no conditions allow every namespace; otherwise the namespace is allowed when any
/// condition has any matching label selector, name, or (unanchored) regex. Conditions are
/// evaluated in order and the first match wins, so a broken regex after a match is not reported.
/// `labels` is `None` when the namespace is unknown, which no selector matches.
pub fn namespace_allowed(
    conditions: &[ClusterSecretStoreCondition],
    namespace: &str,
    labels: Option<&BTreeMap<String, String>>,
) -> Result<bool, ConditionError> {
    if conditions.is_empty() {
        return Ok(true);
    }
    for condition in conditions {
        if let (Some(sel), Some(labels)) = (&condition.namespace_selector, labels) {
            let selector = Selector::try_from(sel.clone())
                .map_err(|e| ConditionError::Selector(e.to_string()))?;
            if selector.matches(labels) {
                return Ok(true);
            }
        }
        if condition
            .namespaces
            .iter()
            .flatten()
            .any(|n| n == namespace)
        {
            return Ok(true);
        }
        for pattern in condition.namespace_regexes.iter().flatten() {
            let re = GoRegex::new(pattern).map_err(|e| ConditionError::Regex {
                pattern: pattern.clone(),
                reason: e.to_string(),
            })?;
            if re.is_match(namespace) {
                return Ok(true);
            }
        }
    }
    Ok(false)
}
