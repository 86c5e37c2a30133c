//! The `merge` rewrite: combine the top-level fields of several JSON values.

use std::collections::BTreeMap;

use super::go_json::{GoJsonValue, parse_go_json_object, write_object};
use super::{KeyError, MergeConflictPolicy, MergePriorityPolicy, MergeStrategy, SecretMap};
use crate::secret_value::SecretValue;

/// Parameters of `dataFrom[].rewrite[].merge`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MergeSpec {
    /// Output key for `strategy: JSON` (required there).
    pub into: String,
    /// Keys merged last, in this order (later wins).
    pub priority: Vec<String>,
    /// What a missing priority key means.
    pub priority_policy: MergePriorityPolicy,
    /// What a field present in several inputs means.
    pub conflict_policy: MergeConflictPolicy,
    /// Shape of the output.
    pub strategy: MergeStrategy,
}

/// ESO `RewriteMerge`. Inputs are processed with non-priority keys in sorted order first, then
/// the `priority` keys in their listed order; each value must be a JSON object (or `null`) and
/// its fields are merged, later inputs overwriting earlier ones.
///
/// `Extract` returns the merged fields as the new map; `JSON` returns the original map plus
/// `into` holding the merged object as JSON (HTML escaping off). Conflicts are reported in
/// processing order, fields of one input in sorted order (Go's order there is random).
pub fn rewrite_merge(spec: &MergeSpec, input: SecretMap) -> Result<SecretMap, KeyError> {
    let mut merged: BTreeMap<String, GoJsonValue> = BTreeMap::new();
    let mut conflicts: Vec<String> = Vec::new();

    let order = input
        .keys()
        .filter(|k| !spec.priority.contains(k))
        .chain(spec.priority.iter());
    for key in order {
        let Some(value) = input.get(key) else {
            if spec.priority_policy == MergePriorityPolicy::IgnoreNotFound {
                continue;
            }
            return Err(KeyError::Merge(format!(
                "key {key:?} not found in input map"
            )));
        };
        let fields = parse_go_json_object(value.as_bytes()).map_err(|e| {
            KeyError::Merge(format!("failed to unmarshal JSON of key {key:?}: {e}"))
        })?;
        for (field, field_value) in fields.into_iter().flatten() {
            if merged.contains_key(&field) {
                conflicts.push(field.clone());
            }
            merged.insert(field, field_value);
        }
    }

    if spec.conflict_policy != MergeConflictPolicy::Ignore && !conflicts.is_empty() {
        return Err(KeyError::Merge(format!(
            "conflicts: {}",
            conflicts.join(", ")
        )));
    }

    match spec.strategy {
        MergeStrategy::Extract => Ok(merged
            .into_iter()
            .map(|(k, v)| (k, SecretValue::from(v.to_secret_bytes())))
            .collect()),
        MergeStrategy::Json => {
            if spec.into.is_empty() {
                return Err(KeyError::Merge("missing 'into' field".to_string()));
            }
            let mut json = String::new();
            write_object(&mut json, &merged, false);
            let mut out = input;
            out.insert(spec.into.clone(), SecretValue::from(json));
            Ok(out)
        }
    }
}
