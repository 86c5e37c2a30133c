//! The real ESO rules behind the router: every served kind admitted, denied and warned, and
//! defaulted by `/mutate` with an idempotent base64 JSON patch.

mod common;
mod rules_support;

use serde_json::{Value, json};
use webhook::server::{
    CLUSTERSECRETSTORE_PATH, EXTERNALSECRET_PATH, MUTATE_PATH, SECRETSTORE_PATH, VALIDATE_PATH,
};

use common::post_json;
use rules_support::*;

fn es_spec() -> Value {
    json!({
        "secretStoreRef": {"name": "aws", "kind": "SecretStore"},
        "target": {"name": "db"},
        "data": [{"secretKey": "password", "remoteRef": {"key": "team-a/db"}}]
    })
}

fn obj(api_version: &str, kind: &str, namespace: Option<&str>, spec: Value) -> Value {
    let mut meta = json!({"name": "sample"});
    if let Some(ns) = namespace {
        meta["namespace"] = json!(ns);
    }
    json!({"apiVersion": api_version, "kind": kind, "metadata": meta, "spec": spec})
}

const V1: &str = "external-secrets.io/v1";
const V1A1: &str = "external-secrets.io/v1alpha1";
const GEN: &str = "generators.external-secrets.io/v1alpha1";

fn es(spec: Value) -> Value {
    obj(V1, "ExternalSecret", Some("team-a"), spec)
}
fn ces(spec: Value) -> Value {
    obj(V1, "ClusterExternalSecret", None, spec)
}
fn ps_spec() -> Value {
    json!({
        "secretStoreRefs": [{"name": "aws", "kind": "SecretStore"}],
        "selector": {"secret": {"name": "src"}},
        "data": [{"match": {"secretKey": "k", "remoteRef": {"remoteKey": "team-a/k"}}}]
    })
}
fn fake_provider() -> Value {
    json!({"provider": {"fake": {"data": [{"key": "k", "value": "not-secret-demo"}]}}})
}

enum Expect {
    Allow,
    Warn(&'static str),
    Deny(&'static [&'static str]),
}

/// (label, object, expectation) for every kind this operator serves.
fn cases() -> Vec<(&'static str, Value, Expect)> {
    use Expect::*;
    let mut with_bad_target = es_spec();
    with_bad_target["target"] =
        json!({"name": "db", "creationPolicy": "Merge", "deletionPolicy": "Delete"});
    let gen_ref_data = json!({
        "data": [{"secretKey": "k", "remoteRef": {"key": "x"},
                  "sourceRef": {"generatorRef": {"apiVersion": GEN, "kind": "Password", "name": "p"}}}]
    });
    vec![
        ("es allow", es(es_spec()), Allow),
        (
            "es deny",
            es(with_bad_target),
            Deny(&[
                "spec.target.deletionPolicy",
                "Delete requires creationPolicy Owner",
            ]),
        ),
        (
            "es warn",
            es(gen_ref_data),
            Warn("generatorRef is deprecated"),
        ),
        (
            "ces allow",
            ces(json!({"externalSecretSpec": es_spec(),
                        "namespaceSelectors": [{"matchLabels": {"team": "a"}}]})),
            Allow,
        ),
        (
            "ces deny",
            ces(
                json!({"externalSecretSpec": es_spec(), "externalSecretName": "Not_A_Name",
                        "namespaceSelectors": [{"matchLabels": {"team": "a"}}]}),
            ),
            Deny(&["spec.externalSecretName"]),
        ),
        (
            "ces warn",
            ces(json!({"externalSecretSpec": es_spec(),
                        "namespaceSelector": {"matchLabels": {"team": "a"}}})),
            Warn("spec.namespaceSelector is deprecated"),
        ),
        (
            "ss allow",
            aws_store(
                "SecretStore",
                "sample",
                Some("team-a"),
                "arn:aws:iam::123456789012:role/team-a-reader",
            ),
            Allow,
        ),
        (
            "ss deny (unsupported provider)",
            obj(
                V1,
                "SecretStore",
                Some("team-a"),
                json!({"provider": {"onepassword": {"connectHost": "https://op", "vaults": {"v": 1}}}}),
            ),
            Deny(&[
                "spec.provider.onepassword",
                "provider onepassword is not supported by this operator",
            ]),
        ),
        (
            "ss warn",
            obj(V1, "SecretStore", Some("team-a"), fake_provider()),
            Warn("isn't currently maintained"),
        ),
        (
            "css allow",
            aws_store(
                "ClusterSecretStore",
                "sample",
                None,
                "arn:aws:iam::123456789012:role/anything",
            ),
            Allow,
        ),
        (
            "css deny (unsupported provider)",
            obj(
                V1,
                "ClusterSecretStore",
                None,
                json!({"provider": {"onepassword": {"connectHost": "https://op"}}}),
            ),
            Deny(&["provider onepassword is not supported by this operator"]),
        ),
        (
            "css warn",
            obj(V1, "ClusterSecretStore", None, fake_provider()),
            Warn("isn't currently maintained"),
        ),
        (
            "ps allow",
            obj(V1A1, "PushSecret", Some("team-a"), ps_spec()),
            Allow,
        ),
        (
            "ps deny",
            obj(V1A1, "PushSecret", Some("team-a"), {
                let mut s = ps_spec();
                s["secretStoreRefs"] = json!([]);
                s
            }),
            Deny(&["spec.secretStoreRefs", "at least one store"]),
        ),
        (
            "cps allow",
            obj(
                V1A1,
                "ClusterPushSecret",
                None,
                json!({"pushSecretSpec": ps_spec(),
                "namespaceSelectors": [{"matchLabels": {"team": "a"}}]}),
            ),
            Allow,
        ),
        (
            "cps deny",
            obj(
                V1A1,
                "ClusterPushSecret",
                None,
                json!({"pushSecretSpec": ps_spec(),
                "pushSecretName": "Not_A_Name", "namespaceSelectors": [{"matchLabels": {"team": "a"}}]}),
            ),
            Deny(&["spec.pushSecretName"]),
        ),
        (
            "password allow",
            obj(GEN, "Password", Some("team-a"), json!({"length": 12})),
            Allow,
        ),
        (
            "password deny",
            obj(GEN, "Password", Some("team-a"), json!({"length": 0})),
            Deny(&["spec.length", "is not a length"]),
        ),
        (
            "uuid allow",
            obj(GEN, "UUID", Some("team-a"), json!({})),
            Allow,
        ),
        (
            "uuid deny (unserved version)",
            obj(
                "generators.external-secrets.io/v1",
                "UUID",
                Some("team-a"),
                json!({}),
            ),
            Deny(&["apiVersion", "is not served"]),
        ),
        (
            "fake allow",
            obj(GEN, "Fake", Some("team-a"), json!({"data": {"k": "v"}})),
            Allow,
        ),
        (
            "fake deny",
            obj(GEN, "Fake", Some("team-a"), json!({"data": "not-a-map"})),
            Deny(&["spec.data", "cannot decode"]),
        ),
        (
            "clustergenerator allow",
            obj(
                GEN,
                "ClusterGenerator",
                None,
                json!({"kind": "Password", "generator": {"passwordSpec": {"length": 10}}}),
            ),
            Allow,
        ),
        (
            "clustergenerator deny (unsupported kind)",
            obj(
                GEN,
                "ClusterGenerator",
                None,
                json!({"kind": "GithubAccessToken",
                "generator": {"githubAccessTokenSpec": {"appID": "1", "installID": "2"}}}),
            ),
            Deny(&[
                "spec.kind",
                "generator kind GithubAccessToken is not supported by this operator",
            ]),
        ),
        (
            "generatorstate allow",
            obj(
                GEN,
                "GeneratorState",
                Some("team-a"),
                json!({"resource": {"apiVersion": GEN, "kind": "Password", "spec": {}}, "state": {}}),
            ),
            Allow,
        ),
        (
            "generatorstate deny",
            obj(
                GEN,
                "GeneratorState",
                Some("team-a"),
                json!({"resource": {"spec": {}}, "state": {}}),
            ),
            Deny(&["spec.resource", "apiVersion and kind"]),
        ),
    ]
}

fn check(label: &str, body: &Value, expect: &Expect) {
    let resp = &body["response"];
    match expect {
        Expect::Allow => {
            assert_eq!(resp["allowed"], true, "{label}: {body}");
            assert!(
                resp.get("warnings").is_none(),
                "{label}: unexpected warnings {body}"
            );
        }
        Expect::Warn(text) => {
            assert_eq!(resp["allowed"], true, "{label}: {body}");
            let warnings = resp["warnings"].as_array().cloned().unwrap_or_default();
            assert!(
                warnings
                    .iter()
                    .any(|w| w.as_str().is_some_and(|w| w.contains(text))),
                "{label}: no warning containing {text:?}: {body}"
            );
        }
        Expect::Deny(texts) => {
            assert_eq!(resp["allowed"], false, "{label}: {body}");
            assert_eq!(resp["status"]["code"], 403, "{label}: {body}");
            assert_eq!(resp["status"]["reason"], "Forbidden", "{label}: {body}");
            let message = resp["status"]["message"].as_str().unwrap_or("");
            for t in *texts {
                assert!(message.contains(t), "{label}: {t:?} not in {message:?}");
            }
        }
    }
}

#[tokio::test]
async fn every_kind_is_admitted_denied_or_warned_through_validate() {
    for (i, (label, object, expect)) in cases().into_iter().enumerate() {
        for op in ["CREATE", "UPDATE"] {
            let uid = format!("uid-{i}-{op}");
            let (status, body) = post_json(
                state(default_rules()),
                VALIDATE_PATH,
                &review_of(&uid, op, &object),
            )
            .await;
            assert_eq!(status, 200, "{label}");
            assert_eq!(body["response"]["uid"], uid.as_str());
            check(&format!("{label} {op}"), &body, &expect);
        }
    }
}

#[tokio::test]
async fn kind_specific_paths_run_the_same_rules() {
    let pairs = [
        ("es deny", EXTERNALSECRET_PATH),
        ("es allow", EXTERNALSECRET_PATH),
        ("ss deny (unsupported provider)", SECRETSTORE_PATH),
        ("ss warn", SECRETSTORE_PATH),
        ("css deny (unsupported provider)", CLUSTERSECRETSTORE_PATH),
        ("css allow", CLUSTERSECRETSTORE_PATH),
    ];
    let all = cases();
    for (label, path) in pairs {
        let (_, object, expect) = all.iter().find(|(l, _, _)| *l == label).expect("case");
        let (_, body) = post_json(
            state(default_rules()),
            path,
            &review_of("u", "CREATE", object),
        )
        .await;
        check(label, &body, expect);
    }
}

#[tokio::test]
async fn delete_is_always_allowed_even_for_invalid_objects() {
    for (label, object, _) in cases() {
        let (_, body) = post_json(
            state(default_rules()),
            VALIDATE_PATH,
            &review_of("d", "DELETE", &object),
        )
        .await;
        assert_eq!(body["response"]["allowed"], true, "{label}: {body}");
    }
}

#[tokio::test]
async fn finalizer_removal_on_a_deleting_invalid_object_is_allowed() {
    let (_, mut object, _) = cases()
        .into_iter()
        .find(|(l, _, _)| *l == "es deny")
        .expect("case");
    object["metadata"]["deletionTimestamp"] = json!("2030-01-01T00:00:00Z");
    let (_, body) = post_json(
        state(default_rules()),
        VALIDATE_PATH,
        &review_of("f", "UPDATE", &object),
    )
    .await;
    assert_eq!(body["response"]["allowed"], true, "{body}");
    // ...but CREATE of the same object is still validated.
    let (_, body) = post_json(
        state(default_rules()),
        VALIDATE_PATH,
        &review_of("f", "CREATE", &object),
    )
    .await;
    assert_eq!(body["response"]["allowed"], false, "{body}");
}

#[tokio::test]
async fn kinds_outside_our_groups_are_allowed_untouched() {
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "c", "namespace": "team-a"}, "data": {"k": "v"}});
    let (_, body) = post_json(
        state(default_rules()),
        VALIDATE_PATH,
        &review_of("c", "CREATE", &cm),
    )
    .await;
    assert_eq!(body["response"]["allowed"], true);
    let (_, body) = post_json(
        state(default_rules()),
        MUTATE_PATH,
        &review_of("c", "CREATE", &cm),
    )
    .await;
    assert_eq!(body["response"]["allowed"], true);
    assert!(patch_of(&body).is_empty(), "{body}");
}

#[tokio::test]
async fn mutate_defaults_every_kind_with_an_idempotent_patch() {
    // Defaults a user would notice in `kubectl get -o yaml`, per kind (from the CRD schema).
    let expected: &[(&str, &str, Value)] = &[
        ("es allow", "/spec/refreshInterval", json!("1h0m0s")),
        ("es allow", "/spec/target/creationPolicy", json!("Owner")),
        ("es allow", "/spec/target/deletionPolicy", json!("Retain")),
        ("ces allow", "/spec/refreshTime", json!("1h0m0s")),
        ("ps allow", "/spec/updatePolicy", json!("Replace")),
        ("ps allow", "/spec/deletionPolicy", json!("None")),
    ];
    for (label, object, expect) in cases() {
        if matches!(expect, Expect::Deny(_)) {
            continue;
        }
        let (status, body) = post_json(
            state(default_rules()),
            MUTATE_PATH,
            &review_of("m", "CREATE", &object),
        )
        .await;
        assert_eq!(status, 200, "{label}");
        assert_eq!(body["response"]["allowed"], true, "{label}: {body}");
        let ops = patch_of(&body);
        let defaulted = apply_patch(&object, &ops);
        for (_, pointer, value) in expected.iter().filter(|(l, _, _)| *l == label) {
            assert_eq!(
                defaulted.pointer(pointer),
                Some(value),
                "{label} {pointer}: {defaulted}"
            );
        }
        // Everything the user wrote is still there.
        assert_eq!(defaulted["metadata"], object["metadata"], "{label}");
        // Second pass over the defaulted object: nothing left to add.
        let (_, again) = post_json(
            state(default_rules()),
            MUTATE_PATH,
            &review_of("m2", "UPDATE", &defaulted),
        )
        .await;
        assert!(
            patch_of(&again).is_empty(),
            "{label}: second pass patched {again}"
        );
        // The defaulted object is still admitted.
        let (_, v) = post_json(
            state(default_rules()),
            VALIDATE_PATH,
            &review_of("v", "CREATE", &defaulted),
        )
        .await;
        assert_eq!(v["response"]["allowed"], true, "{label}: {v}");
    }
}

#[tokio::test]
async fn es_mutation_is_not_empty_so_the_defaults_are_visible() {
    let (_, body) = post_json(
        state(default_rules()),
        MUTATE_PATH,
        &review_of("m", "CREATE", &es(es_spec())),
    )
    .await;
    let ops = patch_of(&body);
    assert!(!ops.is_empty(), "{body}");
    assert!(
        ops.iter().all(|op| op["op"] == "add"),
        "defaults only add: {ops:?}"
    );
}

#[tokio::test]
async fn convert_uses_the_shared_conversion() {
    let beta = json!({"apiVersion": "external-secrets.io/v1beta1", "kind": "ExternalSecret",
        "metadata": {"name": "e", "namespace": "team-a", "uid": "1"}, "spec": es_spec()});
    let review = json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "ConversionReview",
        "request": {"uid": "c1", "desiredAPIVersion": V1, "objects": [beta]}});
    let (status, body) = post_json(
        state(default_rules()),
        webhook::server::CONVERT_PATH,
        &review,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["response"]["result"]["status"], "Success", "{body}");
    let converted = &body["response"]["convertedObjects"][0];
    assert_eq!(converted["apiVersion"], V1);
    assert_eq!(converted["spec"]["target"]["name"], "db");
}
