//! Mutating defaults: the values ESO's CRDs default (reference §2), applied as a minimal JSON
//! patch, idempotent over every example.

mod yamlfiles;

use std::path::PathBuf;

use json_patch::PatchOperation;
use serde_json::{Value, json};
use shared::defaulting::{default_patch, defaulted};
use yamlfiles::yaml_files;

fn apply(obj: &Value, ops: &[PatchOperation]) -> Value {
    let mut out = obj.clone();
    json_patch::patch(&mut out, ops).expect("patch applies");
    out
}

/// The patch as `(op, path, value)` for readable assertions.
fn summary(ops: &[PatchOperation]) -> Vec<(String, String, Value)> {
    serde_json::to_value(ops)
        .expect("ops encode")
        .as_array()
        .expect("array")
        .iter()
        .map(|o| {
            (
                o["op"].as_str().unwrap_or("").to_string(),
                o["path"].as_str().unwrap_or("").to_string(),
                o["value"].clone(),
            )
        })
        .collect()
}

fn add(path: &str, value: Value) -> (String, String, Value) {
    ("add".to_string(), path.to_string(), value)
}

fn es(spec: Value) -> Value {
    json!({"apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret",
        "metadata": {"name": "db", "namespace": "a"}, "spec": spec})
}

#[test]
fn external_secret_gets_refresh_interval_and_whole_target_in_one_add() {
    let obj = es(
        json!({"secretStoreRef": {"name": "s"}, "data": [{"secretKey": "k", "remoteRef": {"key": "x"}}]}),
    );
    let ops = default_patch(&obj);
    assert_eq!(
        summary(&ops),
        vec![
            add("/spec/refreshInterval", json!("1h0m0s")),
            add(
                "/spec/target",
                json!({"creationPolicy": "Owner", "deletionPolicy": "Retain"})
            ),
        ]
    );
    assert!(default_patch(&apply(&obj, &ops)).is_empty());
}

#[test]
fn existing_target_only_gets_missing_policies() {
    let obj = es(
        json!({"refreshInterval": "5m", "target": {"name": "t", "deletionPolicy": "Delete"},
        "dataFrom": [{"extract": {"key": "x"}}]}),
    );
    assert_eq!(
        summary(&default_patch(&obj)),
        vec![add("/spec/target/creationPolicy", json!("Owner"))]
    );
}

#[test]
fn template_rewrite_and_generator_defaults() {
    let obj = es(
        json!({"refreshInterval": "1h", "target": {"creationPolicy": "Owner", "deletionPolicy": "Retain",
        "template": {"data": {"a": "{{ .a }}"}, "templateFrom": [{"configMap": {"name": "cm", "items": [{"key": "t"}]}}]}},
        "dataFrom": [
            {"extract": {"key": "x"}, "rewrite": [{"merge": {}}]},
            {"sourceRef": {"generatorRef": {"kind": "Password", "name": "pw"}}}
        ]}),
    );
    let got = summary(&default_patch(&obj));
    let want = vec![
        add("/spec/target/template/engineVersion", json!("v2")),
        add("/spec/target/template/mergePolicy", json!("Replace")),
        add("/spec/target/template/templateFrom/0/target", json!("Data")),
        add(
            "/spec/target/template/templateFrom/0/configMap/items/0/templateAs",
            json!("Values"),
        ),
        add("/spec/dataFrom/0/rewrite/0/merge/into", json!("")),
        add(
            "/spec/dataFrom/0/rewrite/0/merge/priorityPolicy",
            json!("Strict"),
        ),
        add(
            "/spec/dataFrom/0/rewrite/0/merge/conflictPolicy",
            json!("Error"),
        ),
        add(
            "/spec/dataFrom/0/rewrite/0/merge/strategy",
            json!("Extract"),
        ),
        add(
            "/spec/dataFrom/1/sourceRef/generatorRef/apiVersion",
            json!("generators.external-secrets.io/v1alpha1"),
        ),
    ];
    let mut g = got.clone();
    let mut w = want.clone();
    g.sort_by(|a, b| a.1.cmp(&b.1));
    w.sort_by(|a, b| a.1.cmp(&b.1));
    assert_eq!(g, w);
}

#[test]
fn push_secret_defaults() {
    let obj = json!({"apiVersion": "external-secrets.io/v1alpha1", "kind": "PushSecret",
        "metadata": {"name": "p", "namespace": "a"},
        "spec": {"secretStoreRefs": [{"name": "s"}], "selector": {"secret": {"name": "x"}},
            "data": [{"match": {"secretKey": "k", "remoteRef": {"remoteKey": "r"}}}]}});
    let mut got = summary(&default_patch(&obj));
    got.sort_by(|a, b| a.1.cmp(&b.1));
    assert_eq!(
        got,
        vec![
            add("/spec/data/0/conversionStrategy", json!("None")),
            add("/spec/deletionPolicy", json!("None")),
            add("/spec/refreshInterval", json!("1h0m0s")),
            add("/spec/secretStoreRefs/0/kind", json!("SecretStore")),
            add("/spec/updatePolicy", json!("Replace")),
        ]
    );
}

#[test]
fn vault_version_and_auth_mount_paths() {
    let store = |auth: Value| {
        json!({"apiVersion": "external-secrets.io/v1", "kind": "SecretStore",
        "metadata": {"name": "v", "namespace": "a"},
        "spec": {"provider": {"vault": {"server": "https://v", "version": "v2", "auth": auth}}}})
    };
    let cases = [
        (
            json!({"appRole": {"roleId": "r", "secretRef": {"name": "s", "key": "k"}}}),
            "/spec/provider/vault/auth/appRole/path",
            "approle",
        ),
        (
            json!({"kubernetes": {"role": "r"}}),
            "/spec/provider/vault/auth/kubernetes/mountPath",
            "kubernetes",
        ),
        (
            json!({"ldap": {"username": "u"}}),
            "/spec/provider/vault/auth/ldap/path",
            "ldap",
        ),
        (
            json!({"userPass": {"username": "u"}}),
            "/spec/provider/vault/auth/userPass/path",
            "userpass",
        ),
        (
            json!({"jwt": {"role": "r"}}),
            "/spec/provider/vault/auth/jwt/path",
            "jwt",
        ),
        (
            json!({"cert": {}}),
            "/spec/provider/vault/auth/cert/path",
            "cert",
        ),
    ];
    for (auth, path, value) in cases {
        assert_eq!(
            summary(&default_patch(&store(auth))),
            vec![add(path, json!(value))]
        );
    }
    let mut obj = store(json!({"tokenSecretRef": {"name": "t", "key": "k"}}));
    obj["spec"]["provider"]["vault"]
        .as_object_mut()
        .expect("obj")
        .remove("version");
    assert_eq!(
        summary(&default_patch(&obj)),
        vec![add("/spec/provider/vault/version", json!("v2"))]
    );
}

#[test]
fn password_generator_defaults() {
    let obj = json!({"apiVersion": "generators.external-secrets.io/v1alpha1", "kind": "Password",
        "metadata": {"name": "pw", "namespace": "a"}, "spec": {"digits": 3}});
    let mut got = summary(&default_patch(&obj));
    got.sort_by(|a, b| a.1.cmp(&b.1));
    assert_eq!(
        got,
        vec![
            add("/spec/allowRepeat", json!(false)),
            add("/spec/encoding", json!("raw")),
            add("/spec/length", json!(24)),
            add("/spec/noUpper", json!(false)),
        ]
    );
}

#[test]
fn cluster_external_secret_gets_controller_refresh_time() {
    let obj = json!({"apiVersion": "external-secrets.io/v1", "kind": "ClusterExternalSecret",
        "metadata": {"name": "c"}, "spec": {"externalSecretSpec": {"refreshInterval": "1h",
            "target": {"creationPolicy": "Owner", "deletionPolicy": "Retain"}, "dataFrom": [{"extract": {"key": "x"}}]}}});
    assert_eq!(
        summary(&default_patch(&obj)),
        vec![add("/spec/refreshTime", json!("1h0m0s"))]
    );
}

#[test]
fn null_values_are_replaced_and_unknown_kinds_untouched() {
    let obj = es(
        json!({"refreshInterval": null, "target": {"creationPolicy": "Owner", "deletionPolicy": "Retain"}}),
    );
    assert_eq!(
        summary(&default_patch(&obj)),
        vec![(
            "replace".to_string(),
            "/spec/refreshInterval".to_string(),
            json!("1h0m0s")
        )]
    );
    let cm =
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}, "data": {}});
    assert!(default_patch(&cm).is_empty());
}

#[test]
fn defaulting_is_idempotent_over_every_example() {
    let mut files = Vec::new();
    yaml_files(
        &PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples"),
        &mut files,
    );
    let mut patched = 0;
    for f in files {
        let text = std::fs::read_to_string(&f).expect("read");
        let docs: Vec<Value> = serde_saphyr::from_multiple(&text).expect("yaml");
        for (i, d) in docs.into_iter().enumerate().filter(|(_, d)| !d.is_null()) {
            let ops = default_patch(&d);
            let once = apply(&d, &ops);
            assert_eq!(once, defaulted(&d), "{}#{i}", f.display());
            assert!(
                default_patch(&once).is_empty(),
                "{}#{i}: not idempotent: {:?}",
                f.display(),
                summary(&default_patch(&once))
            );
            // Defaults only add: every original field keeps its value.
            assert_eq!(
                json_patch_diff_removals(&d, &once),
                0,
                "{}#{i}",
                f.display()
            );
            if !ops.is_empty() {
                patched += 1;
            }
        }
    }
    assert!(
        patched > 5,
        "examples should need some defaults, only {patched} did"
    );
}

fn json_patch_diff_removals(a: &Value, b: &Value) -> usize {
    let ops = json_patch::diff(a, b);
    ops.iter()
        .filter(|o| !matches!(o, PatchOperation::Add(_)))
        .count()
}
