//! Which namespaces a ClusterExternalSecret targets (pure).

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use shared::api::v1::ClusterExternalSecret;

/// Label every namespace carries with its own name.
pub const NAMESPACE_NAME_LABEL: &str = "kubernetes.io/metadata.name";

/// Whether `labels` satisfy `selector` (an empty selector matches everything). Unknown
/// operators match nothing, as the API server would have rejected them.
pub fn selector_matches(selector: &LabelSelector, labels: &BTreeMap<String, String>) -> bool {
    let by_labels = selector
        .match_labels
        .iter()
        .flatten()
        .all(|(k, v)| labels.get(k) == Some(v));
    let by_expressions = selector.match_expressions.iter().flatten().all(|e| {
        let values = e.values.as_deref().unwrap_or_default();
        let value = labels.get(&e.key);
        match e.operator.as_str() {
            "In" => value.is_some_and(|v| values.contains(v)),
            "NotIn" => value.is_none_or(|v| !values.contains(v)),
            "Exists" => value.is_some(),
            "DoesNotExist" => value.is_none(),
            _ => false,
        }
    });
    by_labels && by_expressions
}

/// Names of the namespaces (from `namespaces`: name → labels) the CES selects: the union of
/// `namespaces`, `namespaceSelector` and `namespaceSelectors`.
pub fn target_namespaces(
    ces: &ClusterExternalSecret,
    namespaces: &BTreeMap<String, BTreeMap<String, String>>,
) -> BTreeSet<String> {
    let spec = &ces.spec;
    let selectors: Vec<&LabelSelector> = spec
        .namespace_selector
        .iter()
        .chain(spec.namespace_selectors.iter().flatten())
        .collect();
    let names = spec.namespaces.as_deref().unwrap_or_default();
    namespaces
        .iter()
        .filter(|(name, labels)| {
            names.iter().any(|n| n == *name)
                || selectors.iter().any(|s| selector_matches(s, labels))
        })
        .map(|(name, _)| name.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelectorRequirement;
    use serde_json::json;

    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn ces(spec: serde_json::Value) -> ClusterExternalSecret {
        let mut spec = spec;
        spec["externalSecretSpec"] = json!({});
        ClusterExternalSecret::new("c", serde_json::from_value(spec).expect("spec"))
    }

    #[test]
    fn selects_by_names_selector_and_selectors() {
        let all = BTreeMap::from([
            ("a".to_string(), labels(&[("env", "dev")])),
            ("b".to_string(), labels(&[("env", "prod")])),
            ("c".to_string(), labels(&[("team", "x")])),
            ("d".to_string(), labels(&[])),
        ]);
        let c = ces(json!({
            "namespaces": ["d"],
            "namespaceSelector": {"matchLabels": {"env": "dev"}},
            "namespaceSelectors": [{"matchExpressions": [{"key": "team", "operator": "Exists"}]}]
        }));
        let got: Vec<String> = target_namespaces(&c, &all).into_iter().collect();
        assert_eq!(got, vec!["a", "c", "d"]);
        let none = ces(json!({}));
        assert!(target_namespaces(&none, &all).is_empty());
        let every = ces(json!({"namespaceSelectors": [{}]}));
        assert_eq!(target_namespaces(&every, &all).len(), 4);
    }

    #[test]
    fn match_expressions_operators() {
        let l = labels(&[("env", "dev")]);
        let req = |op: &str, values: &[&str]| LabelSelector {
            match_expressions: Some(vec![LabelSelectorRequirement {
                key: "env".into(),
                operator: op.into(),
                values: Some(values.iter().map(|v| v.to_string()).collect()),
            }]),
            ..Default::default()
        };
        assert!(selector_matches(&req("In", &["dev", "qa"]), &l));
        assert!(!selector_matches(&req("NotIn", &["dev"]), &l));
        assert!(selector_matches(&req("NotIn", &["dev"]), &labels(&[])));
        assert!(!selector_matches(&req("DoesNotExist", &[]), &l));
        assert!(!selector_matches(&req("Bogus", &[]), &l));
    }
}
