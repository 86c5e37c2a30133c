//! Namespace policy at admission: role ARNs and Vault roles of SecretStores, keys read by
//! ExternalSecrets and written by PushSecrets, and ClusterSecretStores used from a namespace.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use shared::api::v1::{ClusterSecretStore, ExternalSecretSpec, SecretStoreSpec};
use shared::policy::{KEY_ANNOTATION, NamespacePolicy, ROLE_ANNOTATION};
use shared::validation::policy::{check_external_secret_keys, check_store_roles};
use shared::validation::{Outcome, ValidationContext, validate};

const NS: &str = "team-a";

fn policy(role: Option<&str>, key: Option<&str>, require: bool) -> NamespacePolicy {
    let mut ann = BTreeMap::new();
    if let Some(r) = role {
        ann.insert(ROLE_ANNOTATION.to_string(), r.to_string());
    }
    if let Some(k) = key {
        ann.insert(KEY_ANNOTATION.to_string(), k.to_string());
    }
    NamespacePolicy::from_annotations(NS, &ann, require)
}

fn aws_store(role: &str, chain: &[&str]) -> Value {
    json!({"apiVersion": "external-secrets.io/v1", "kind": "SecretStore",
        "metadata": {"name": "aws", "namespace": NS},
        "spec": {"provider": {"aws": {"service": "SecretsManager", "region": "us-east-1",
            "role": role, "additionalRoles": chain}}}})
}

fn es(keys: &[&str], store_kind: &str) -> Value {
    let data: Vec<Value> = keys
        .iter()
        .enumerate()
        .map(|(i, k)| json!({"secretKey": format!("k{i}"), "remoteRef": {"key": k}}))
        .collect();
    json!({"apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret",
        "metadata": {"name": "app", "namespace": NS},
        "spec": {"secretStoreRef": {"name": "central", "kind": store_kind}, "data": data}})
}

fn run(obj: &Value, pol: Option<NamespacePolicy>, require: bool) -> Outcome {
    let ctx = ValidationContext {
        namespace_policy: pol,
        require_namespace_policy: require,
        ..ValidationContext::default()
    };
    validate(obj, &ctx)
}

const ROLE_OK: &str = "arn:aws:iam::123456789012:role/team-a-reader";

#[test]
fn permitted_role_is_allowed_and_pattern_is_anchored() {
    let pol = policy(
        Some("arn:aws:iam::123456789012:role/team-a-.*"),
        None,
        false,
    );
    assert!(run(&aws_store(ROLE_OK, &[]), Some(pol.clone()), false).allowed());
    // KES matched substrings; we anchor: a prefix before the permitted ARN is rejected.
    let out = run(&aws_store(&format!("x{ROLE_OK}"), &[]), Some(pol), false);
    assert_eq!(out.errors.len(), 1, "{:#?}", out.errors);
    assert_eq!(out.errors[0].path, "spec.provider.aws.role");
    assert!(
        out.errors[0].message.contains("does not permit role"),
        "{}",
        out.errors[0].message
    );
    assert!(out.errors[0].message.contains(ROLE_ANNOTATION));
}

#[test]
fn every_hop_of_a_role_chain_is_checked() {
    let pol = policy(
        Some("arn:aws:iam::123456789012:role/team-a-.*"),
        None,
        false,
    );
    let out = run(
        &aws_store(ROLE_OK, &[ROLE_OK, "arn:aws:iam::999999999999:role/admin"]),
        Some(pol),
        false,
    );
    assert_eq!(out.errors.len(), 1, "{:#?}", out.errors);
    assert_eq!(out.errors[0].path, "spec.provider.aws.additionalRoles[1]");
}

#[test]
fn empty_or_absent_annotation_allows_unless_required() {
    for pol in [policy(Some(""), None, false), policy(None, None, false)] {
        assert!(run(&aws_store("arn:aws:iam::1:role/any", &[]), Some(pol), false).allowed());
    }
    // Namespace not known at all: allowed without the requirement.
    assert!(run(&aws_store("arn:aws:iam::1:role/any", &[]), None, false).allowed());
}

#[test]
fn absent_annotation_with_require_denies() {
    let out = run(
        &aws_store(ROLE_OK, &[]),
        Some(policy(None, None, true)),
        true,
    );
    assert_eq!(out.errors.len(), 1);
    assert!(
        out.errors[0].message.contains("--require-namespace-policy"),
        "{}",
        out.errors[0].message
    );
    // Unknown namespace + require: treated as a namespace without annotations.
    let out = run(&aws_store(ROLE_OK, &[]), None, true);
    assert!(!out.allowed());
}

#[test]
fn invalid_pattern_denies_naming_namespace_and_annotation() {
    let out = run(
        &aws_store(ROLE_OK, &[]),
        Some(policy(Some("arn:(unclosed"), None, false)),
        false,
    );
    assert_eq!(out.errors.len(), 1);
    let m = &out.errors[0].message;
    assert!(
        m.contains("namespace \"team-a\"")
            && m.contains(ROLE_ANNOTATION)
            && m.contains("not a valid regular expression"),
        "{m}"
    );
}

#[test]
fn vault_roles_are_checked_like_kes_vault_role() {
    let store = json!({"apiVersion": "external-secrets.io/v1", "kind": "SecretStore",
        "metadata": {"name": "vault", "namespace": NS},
        "spec": {"provider": {"vault": {"server": "https://vault:8200",
            "auth": {"kubernetes": {"mountPath": "kubernetes", "role": "team-b-app"}}}}}});
    let out = run(&store, Some(policy(Some("team-a-.*"), None, false)), false);
    assert_eq!(out.errors.len(), 1, "{:#?}", out.errors);
    assert_eq!(
        out.errors[0].path,
        "spec.provider.vault.auth.kubernetes.role"
    );
    assert!(
        run(
            &store,
            Some(policy(Some("team-(a|b)-.*"), None, false)),
            false
        )
        .allowed()
    );
}

#[test]
fn external_secret_keys_are_checked() {
    let pol = policy(None, Some("team-a/.*"), false);
    assert!(run(&es(&["team-a/db"], "SecretStore"), Some(pol.clone()), false).allowed());
    let out = run(
        &es(&["team-a/db", "team-b/db"], "SecretStore"),
        Some(pol),
        false,
    );
    assert_eq!(out.errors.len(), 1, "{:#?}", out.errors);
    assert_eq!(out.errors[0].path, "spec.data[1].remoteRef.key");
    assert!(
        out.errors[0]
            .message
            .contains("does not permit key \"team-b/db\"")
    );
}

#[test]
fn data_from_extract_and_find_path_are_checked() {
    let obj = json!({"apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret",
        "metadata": {"name": "app", "namespace": NS},
        "spec": {"secretStoreRef": {"name": "s"}, "dataFrom": [
            {"extract": {"key": "other/x"}}, {"find": {"path": "other/", "name": {"regexp": ".*"}}}]}});
    let out = run(&obj, Some(policy(None, Some("team-a/.*"), false)), false);
    let paths: Vec<_> = out.errors.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(
        paths,
        ["spec.dataFrom[0].extract.key", "spec.dataFrom[1].find.path"]
    );
}

#[test]
fn push_secret_remote_keys_are_checked() {
    let obj = json!({"apiVersion": "external-secrets.io/v1alpha1", "kind": "PushSecret",
        "metadata": {"name": "p", "namespace": NS},
        "spec": {"secretStoreRefs": [{"name": "s"}], "selector": {"secret": {"name": "x"}},
            "data": [{"match": {"secretKey": "a", "remoteRef": {"remoteKey": "prod/a"}}}],
            "dataTo": [{"storeRef": {"name": "s"}, "remoteKey": "team-a/bundle"}]}});
    let out = run(&obj, Some(policy(None, Some("team-a/.*"), false)), false);
    assert_eq!(out.errors.len(), 1, "{:#?}", out.errors);
    assert_eq!(out.errors[0].path, "spec.data[0].match.remoteRef.remoteKey");
}

fn central_store(role: &str) -> ClusterSecretStore {
    serde_json::from_value(json!({"apiVersion": "external-secrets.io/v1", "kind": "ClusterSecretStore",
        "metadata": {"name": "central"},
        "spec": {"provider": {"aws": {"service": "SecretsManager", "region": "us-east-1", "role": role}}}}))
    .expect("css")
}

#[test]
fn external_secret_using_cluster_store_with_unpermitted_role_is_denied() {
    let lookup =
        |n: &str| (n == "central").then(|| central_store("arn:aws:iam::1:role/platform-admin"));
    let ctx = ValidationContext {
        namespace_policy: Some(policy(Some("arn:aws:iam::1:role/team-a-.*"), None, false)),
        cluster_store_lookup: &lookup,
        ..ValidationContext::default()
    };
    let out = validate(&es(&["k"], "ClusterSecretStore"), &ctx);
    assert_eq!(out.errors.len(), 1, "{:#?}", out.errors);
    assert_eq!(out.errors[0].path, "spec.secretStoreRef");
    assert!(
        out.errors[0]
            .message
            .contains("ClusterSecretStore \"central\" is not usable from namespace \"team-a\"")
    );
    // Same ExternalSecret against a SecretStore of that name: not a cluster store, allowed.
    assert!(validate(&es(&["k"], "SecretStore"), &ctx).allowed());
    // A permitted cluster store role is fine.
    let ok = |n: &str| (n == "central").then(|| central_store("arn:aws:iam::1:role/team-a-reader"));
    let ctx = ValidationContext {
        cluster_store_lookup: &ok,
        ..ctx
    };
    assert!(validate(&es(&["k"], "ClusterSecretStore"), &ctx).allowed());
}

#[test]
fn public_check_functions_for_the_controller() {
    let spec: SecretStoreSpec =
        serde_json::from_value(aws_store(ROLE_OK, &[])["spec"].clone()).expect("spec");
    assert!(check_store_roles(&spec, &policy(Some(".*team-a.*"), None, false)).is_ok());
    let v = check_store_roles(&spec, &policy(Some("nope"), None, false)).expect_err("denied");
    assert_eq!(v.value, ROLE_OK);
    let es_spec: ExternalSecretSpec =
        serde_json::from_value(es(&["team-a/x", "b"], "SecretStore")["spec"].clone())
            .expect("spec");
    let v = check_external_secret_keys(&es_spec, &policy(None, Some("team-a/.*"), false))
        .expect_err("denied");
    assert_eq!(v.value, "b");
}
