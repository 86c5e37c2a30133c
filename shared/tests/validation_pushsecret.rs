//! PushSecret, ClusterPushSecret and generator admission rules.

mod validationkit;

use serde_json::{Value, json};
use validationkit::{allowed, check, denied, with};

fn ps(spec: Value) -> Value {
    json!({"apiVersion": "external-secrets.io/v1alpha1", "kind": "PushSecret",
        "metadata": {"name": "push", "namespace": "team-a"}, "spec": spec})
}

fn base() -> Value {
    json!({
        "secretStoreRefs": [{"name": "aws", "kind": "SecretStore"}],
        "selector": {"secret": {"name": "src"}},
        "data": [{"match": {"secretKey": "k", "remoteRef": {"remoteKey": "team-a/k"}}}],
    })
}

#[test]
fn allows_minimal_push_secret() {
    allowed(&check(&ps(base())));
}

#[test]
fn rejects_store_refs_without_name_or_selector() {
    let out = check(&ps(with(
        base(),
        json!({"secretStoreRefs": [{"kind": "SecretStore"}]}),
    )));
    denied(
        &out,
        "spec.secretStoreRefs[0]",
        &["storeRef must specify either name or labelSelector"],
    );
    let out = check(&ps(with(base(), json!({"secretStoreRefs": []}))));
    denied(&out, "spec.secretStoreRefs", &["at least one store"]);
    allowed(&check(&ps(with(
        base(),
        json!({"secretStoreRefs": [{"labelSelector": {"matchLabels": {"a": "b"}}}]}),
    ))));
}

#[test]
fn rejects_selector_with_both_or_neither_source() {
    let out = check(&ps(with(
        base(),
        json!({"selector": {"secret": {"name": "s"}, "generatorRef": {"kind": "Password", "name": "p"}}}),
    )));
    denied(
        &out,
        "spec.selector",
        &["exactly one of secret or generatorRef"],
    );
    let out = check(&ps(with(base(), json!({"selector": {"secret": {}}}))));
    denied(&out, "spec.selector.secret", &["name or a label selector"]);
    allowed(&check(&ps(with(
        base(),
        json!({"selector": {"generatorRef": {"kind": "Password", "name": "p"}}}),
    ))));
    let out = check(&ps(with(
        base(),
        json!({"selector": {"generatorRef": {"kind": "SSHKey", "name": "p"}}}),
    )));
    denied(
        &out,
        "spec.selector.generatorRef.kind",
        &["generator kind SSHKey is not supported by this operator"],
    );
}

#[test]
fn rejects_empty_remote_and_secret_keys() {
    let out = check(&ps(with(
        base(),
        json!({"data": [{"match": {"secretKey": "", "remoteRef": {"remoteKey": ""}}}]}),
    )));
    denied(
        &out,
        "spec.data[0].match.remoteRef.remoteKey",
        &["must not be empty"],
    );
    denied(
        &out,
        "spec.data[0].match.secretKey",
        &["omit secretKey to push the whole Secret"],
    );
}

#[test]
fn rejects_duplicate_remote_keys() {
    let out = check(&ps(with(
        base(),
        json!({"data": [
            {"match": {"secretKey": "a", "remoteRef": {"remoteKey": "r", "property": "p"}}},
            {"match": {"secretKey": "b", "remoteRef": {"remoteKey": "r", "property": "q"}}},
            {"match": {"secretKey": "c", "remoteRef": {"remoteKey": "r", "property": "p"}}}
        ]}),
    )));
    denied(
        &out,
        "spec.data[2].match.remoteRef",
        &["duplicate remote key \"r/p\""],
    );
    assert_eq!(out.errors.len(), 1);
}

#[test]
fn data_to_rules() {
    let out = check(&ps(with(
        base(),
        json!({"dataTo": [
            {"match": {"regexp": "^db-"}},
            {"storeRef": {"name": "gcp"}},
            {"storeRef": {"name": "aws"}, "remoteKey": "bundle", "rewrite": [{"regexp": {"source": "^db-", "target": ""}}]},
            {"storeRef": {"name": "aws"}, "match": {"regexp": "(db"}, "rewrite": [
                {"regexp": {"source": "a", "target": "b"}, "transform": {"template": "x"}},
                {"transform": {"template": "{{ .value "}}
            ]}
        ]}),
    )));
    denied(
        &out,
        "spec.dataTo[0].storeRef",
        &["storeRef must specify either name or labelSelector"],
    );
    denied(
        &out,
        "spec.dataTo[1].storeRef.name",
        &["SecretStore \"gcp\" is not in spec.secretStoreRefs"],
    );
    denied(
        &out,
        "spec.dataTo[2]",
        &["remoteKey and rewrite are mutually exclusive"],
    );
    denied(
        &out,
        "spec.dataTo[3].match.regexp",
        &["invalid regular expression"],
    );
    denied(
        &out,
        "spec.dataTo[3].rewrite[0]",
        &["exactly one of regexp or transform must be set"],
    );
    denied(
        &out,
        "spec.dataTo[3].rewrite[1].transform.template",
        &["template does not parse"],
    );
    assert_eq!(out.errors.len(), 6, "{:#?}", out.errors);
    allowed(&check(&ps(with(
        base(),
        json!({"dataTo": [
            {"storeRef": {"name": "aws"}, "match": {"regexp": "^db-"}, "rewrite": [{"transform": {"template": "app/{{ .value }}"}}]},
            {"storeRef": {"labelSelector": {"matchLabels": {"x": "y"}}}, "remoteKey": "bundle"}
        ]}),
    ))));
}

#[test]
fn push_secret_template_is_parsed() {
    let out = check(&ps(with(
        base(),
        json!({"template": {"data": {"k": "{{ .k | upper }"}}}),
    )));
    denied(&out, "spec.template.data[k]", &["template does not parse"]);
}

#[test]
fn cluster_push_secret_checks_inner_spec() {
    let obj = json!({"apiVersion": "external-secrets.io/v1alpha1", "kind": "ClusterPushSecret",
        "metadata": {"name": "cps"}, "spec": {"pushSecretSpec": with(base(), json!({"refreshInterval": "soon"})), "refreshTime": "1h"}});
    denied(
        &check(&obj),
        "spec.pushSecretSpec.refreshInterval",
        &["invalid duration"],
    );
}

fn generator(kind: &str, spec: Value) -> Value {
    json!({"apiVersion": "generators.external-secrets.io/v1alpha1", "kind": kind,
        "metadata": {"name": "g", "namespace": "team-a"}, "spec": spec})
}

#[test]
fn password_generator_rules() {
    allowed(&check(&generator(
        "Password",
        json!({"length": 32, "digits": 5, "symbols": 5}),
    )));
    allowed(&check(&generator("Password", json!({}))));
    let out = check(&generator(
        "Password",
        json!({"length": 8, "digits": 6, "symbols": 6}),
    ));
    denied(
        &out,
        "spec",
        &["digits (6) plus symbols (6) exceed length (8)"],
    );
    let out = check(&generator(
        "Password",
        json!({"length": 60, "digits": 0, "symbols": 0, "noUpper": true}),
    ));
    denied(&out, "spec", &["60 letters cannot be unique with only 26"]);
    allowed(&check(&generator(
        "Password",
        json!({"length": 60, "digits": 0, "symbols": 0, "noUpper": true, "allowRepeat": true}),
    )));
    let out = check(&generator(
        "Password",
        json!({"secretKeys": ["a", "a", ""]}),
    ));
    denied(&out, "spec.secretKeys[1]", &["duplicate secret key"]);
    denied(&out, "spec.secretKeys[2]", &["must not be empty"]);
    let out = check(&generator("Password", json!({"length": 0})));
    denied(&out, "spec.length", &["positive length"]);
}

#[test]
fn other_generator_kinds() {
    allowed(&check(&generator("UUID", json!({}))));
    allowed(&check(&generator("Fake", json!({"data": {"a": "b"}}))));
    let out = check(&generator(
        "ECRAuthorizationToken",
        json!({"region": "us-east-1"}),
    ));
    denied(
        &out,
        "kind",
        &["generator kind ECRAuthorizationToken is not supported by this operator"],
    );
    let gs =
        |resource: Value| generator("GeneratorState", json!({"resource": resource, "state": {}}));
    allowed(&check(&gs(
        json!({"apiVersion": "generators.external-secrets.io/v1alpha1", "kind": "Password"}),
    )));
    denied(
        &check(&gs(json!("x"))),
        "spec.resource",
        &["generator manifest"],
    );
}

#[test]
fn cluster_generator_kind_must_match_and_be_supported() {
    let cg = |spec: Value| {
        json!({"apiVersion": "generators.external-secrets.io/v1alpha1", "kind": "ClusterGenerator",
        "metadata": {"name": "cg"}, "spec": spec})
    };
    allowed(&check(&cg(
        json!({"kind": "Password", "generator": {"passwordSpec": {"length": 12}}}),
    )));
    allowed(&check(&cg(
        json!({"kind": "UUID", "generator": {"uuidSpec": {}}}),
    )));
    let out = check(&cg(
        json!({"kind": "Password", "generator": {"uuidSpec": {}}}),
    ));
    denied(
        &out,
        "spec.generator",
        &["spec.kind is Password but the generator block is uuidSpec"],
    );
    let out = check(&cg(
        json!({"kind": "SSHKey", "generator": {"sshKeySpec": {"keyType": "rsa"}}}),
    ));
    denied(
        &out,
        "spec.kind",
        &["generator kind SSHKey is not supported by this operator"],
    );
    let out = check(&cg(
        json!({"kind": "Password", "generator": {"passwordSpec": {"length": 4, "digits": 4, "symbols": 4}}}),
    ));
    denied(&out, "spec.generator.passwordSpec", &["exceed length"]);
}
