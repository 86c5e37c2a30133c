//! Batch validation (the offline CLI's engine): Namespaces and ClusterSecretStores among the
//! inputs feed the policy and lookups; report lines name file, document, object and field.

use serde_json::{Value, json};
use shared::validation::batch::{BatchOptions, Document, validate_documents};

fn doc(index: usize, object: Value) -> Document {
    Document {
        source: "bad.yaml".into(),
        index,
        object,
    }
}

fn namespace(annotations: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-a", "annotations": annotations}})
}

fn es(key: &str, store: Value) -> Value {
    json!({"apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret",
        "metadata": {"name": "app", "namespace": "team-a"},
        "spec": {"secretStoreRef": store, "data": [{"secretKey": "k", "remoteRef": {"key": key}}]}})
}

#[test]
fn namespaces_in_the_input_feed_the_policy_and_lines_are_formatted() {
    let docs = vec![
        doc(
            1,
            namespace(
                json!({"externalsecrets.kubernetes-client.io/permitted-key-name": "team-a/.*"}),
            ),
        ),
        doc(2, es("team-b/db", json!({"name": "s"}))),
        doc(
            3,
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "ignored"}}),
        ),
    ];
    let reports = validate_documents(&docs, &[], &BatchOptions::default());
    assert_eq!(reports.len(), 1, "only our kinds are reported");
    let lines = reports[0].lines();
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].starts_with("bad.yaml:2: ExternalSecret/team-a/app: spec.data[0].remoteRef.key: namespace \"team-a\" does not permit key \"team-b/db\""), "{}", lines[0]);
}

#[test]
fn extra_documents_are_context_only() {
    let ns = vec![Document {
        source: "ns.yaml".into(),
        index: 1,
        object: namespace(json!({"iam.amazonaws.com/permitted": "arn:aws:iam::1:role/team-a-.*"})),
    }];
    let css = json!({"apiVersion": "external-secrets.io/v1", "kind": "ClusterSecretStore", "metadata": {"name": "central"},
        "spec": {"provider": {"aws": {"service": "SecretsManager", "region": "us-east-1", "role": "arn:aws:iam::1:role/admin"}}}});
    let docs = vec![
        doc(1, css),
        doc(
            2,
            es(
                "k",
                json!({"name": "central", "kind": "ClusterSecretStore"}),
            ),
        ),
    ];
    let reports = validate_documents(&docs, &ns, &BatchOptions::default());
    assert_eq!(reports.len(), 2);
    assert!(reports[0].outcome.allowed());
    assert_eq!(reports[1].outcome.errors.len(), 1);
    assert_eq!(reports[1].outcome.errors[0].path, "spec.secretStoreRef");
}

#[test]
fn require_policy_denies_namespaces_missing_from_the_input_and_warnings_are_marked() {
    let store = json!({"apiVersion": "external-secrets.io/v1", "kind": "SecretStore", "metadata": {"name": "f", "namespace": "team-a"},
        "spec": {"provider": {"fake": {"data": [{"key": "a", "value": "b"}]}}}});
    let opts = BatchOptions {
        require_namespace_policy: true,
        ..BatchOptions::default()
    };
    let reports = validate_documents(
        &[doc(1, store.clone()), doc(2, es("k", json!({"name": "f"})))],
        &[],
        &opts,
    );
    assert!(
        reports[0].outcome.allowed(),
        "the fake store assumes no role"
    );
    assert!(reports[0].lines()[0].contains(": warning: store f isn't currently maintained"));
    assert!(
        !reports[1].outcome.allowed(),
        "key check without annotation under --require-namespace-policy"
    );
    let json = serde_json::to_value(&reports[1]).expect("json");
    assert_eq!(json["kind"], "ExternalSecret");
    assert!(json["errors"][0]["path"].is_string() && json["warnings"].is_array());
}
