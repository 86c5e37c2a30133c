//! Namespace policy through the real rules: annotations from the namespace cache, the roles of
//! referenced ClusterSecretStores from the store cache, `--require-namespace-policy`.

mod common;
mod rules_support;

use serde_json::{Value, json};
use webhook::server::VALIDATE_PATH;

use common::post_json;
use rules_support::*;

const TEAM_B_ROLE: &str = "arn:aws:iam::123456789012:role/team-b-reader";
const TEAM_A_ROLE: &str = "arn:aws:iam::123456789012:role/team-a-reader";

async fn verdict(rules: webhook::EsoRules, object: &Value) -> Value {
    let (status, body) = post_json(
        state(rules),
        VALIDATE_PATH,
        &review_of("p", "CREATE", object),
    )
    .await;
    assert_eq!(status, 200);
    body["response"].clone()
}

fn es_via_css(namespace: &str, css: &str) -> Value {
    json!({"apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret",
        "metadata": {"name": "db", "namespace": namespace},
        "spec": {"secretStoreRef": {"name": css, "kind": "ClusterSecretStore"},
                 "data": [{"secretKey": "k", "remoteRef": {"key": "x"}}]}})
}

#[tokio::test]
async fn store_role_not_permitted_by_the_namespace_is_denied_naming_namespace_and_annotation() {
    let r = verdict(
        default_rules(),
        &aws_store("SecretStore", "s", Some("team-a"), TEAM_B_ROLE),
    )
    .await;
    assert_eq!(r["allowed"], false, "{r}");
    assert_eq!(r["status"]["code"], 403);
    let message = r["status"]["message"].as_str().unwrap_or("");
    for part in ["\"team-a\"", ROLE_ANNOTATION, TEAM_B_ROLE] {
        assert!(message.contains(part), "{part:?} not in {message:?}");
    }
    let r = verdict(
        default_rules(),
        &aws_store("SecretStore", "s", Some("team-a"), TEAM_A_ROLE),
    )
    .await;
    assert_eq!(r["allowed"], true, "{r}");
}

#[tokio::test]
async fn a_namespace_without_annotations_permits_any_role() {
    let r = verdict(
        default_rules(),
        &aws_store("SecretStore", "s", Some("open"), TEAM_B_ROLE),
    )
    .await;
    assert_eq!(r["allowed"], true, "{r}");
}

#[tokio::test]
async fn patterns_are_fully_anchored() {
    let rules = rules_with(
        vec![namespace("team-a", json!({ROLE_ANNOTATION: "team-a"}))],
        Vec::new(),
        false,
    );
    let r = verdict(
        rules,
        &aws_store("SecretStore", "s", Some("team-a"), TEAM_A_ROLE),
    )
    .await;
    assert_eq!(r["allowed"], false, "substring match must not permit: {r}");
}

#[tokio::test]
async fn external_secret_using_a_cluster_store_whose_role_is_not_permitted_is_denied() {
    let r = verdict(default_rules(), &es_via_css("team-a", "shared-b")).await;
    assert_eq!(r["allowed"], false, "{r}");
    let message = r["status"]["message"].as_str().unwrap_or("");
    assert!(message.contains(TEAM_B_ROLE), "{message}");
    assert!(message.contains(ROLE_ANNOTATION), "{message}");
    let r = verdict(default_rules(), &es_via_css("team-a", "shared-a")).await;
    assert_eq!(r["allowed"], true, "{r}");
    // The same store is fine where the namespace has no policy.
    let r = verdict(default_rules(), &es_via_css("open", "shared-b")).await;
    assert_eq!(r["allowed"], true, "{r}");
}

#[tokio::test]
async fn the_namespace_from_the_request_is_used_when_the_object_omits_it() {
    let mut store = aws_store("SecretStore", "s", None, TEAM_B_ROLE);
    let mut review = review_of("p", "CREATE", &store);
    review["request"]["namespace"] = json!("team-a");
    let (_, body) = post_json(state(default_rules()), VALIDATE_PATH, &review).await;
    assert_eq!(body["response"]["allowed"], false, "{body}");
    store["metadata"]["namespace"] = json!("open");
    let (_, body) = post_json(
        state(default_rules()),
        VALIDATE_PATH,
        &review_of("p", "CREATE", &store),
    )
    .await;
    assert_eq!(body["response"]["allowed"], true, "{body}");
}

#[tokio::test]
async fn require_policy_denies_unannotated_and_unknown_namespaces() {
    let rules = || rules_with(default_namespaces(), Vec::new(), true);
    // Annotated namespace, permitted role: fine.
    let r = verdict(
        rules(),
        &aws_store("SecretStore", "s", Some("team-a"), TEAM_A_ROLE),
    )
    .await;
    assert_eq!(r["allowed"], true, "{r}");
    // Namespace without the annotation.
    let r = verdict(
        rules(),
        &aws_store("SecretStore", "s", Some("open"), TEAM_A_ROLE),
    )
    .await;
    assert_eq!(r["allowed"], false, "{r}");
    let message = r["status"]["message"].as_str().unwrap_or("");
    assert!(message.contains("require-namespace-policy"), "{message}");
    // Namespace the cache does not know.
    let r = verdict(
        rules(),
        &aws_store("SecretStore", "s", Some("ghost"), TEAM_A_ROLE),
    )
    .await;
    assert_eq!(r["allowed"], false, "{r}");
    let message = r["status"]["message"].as_str().unwrap_or("");
    assert!(
        message.contains("namespace \"ghost\" is not known to the webhook"),
        "{message}"
    );
    // Without the flag an unknown namespace is treated as unannotated.
    let r = verdict(
        rules_with(default_namespaces(), Vec::new(), false),
        &aws_store("SecretStore", "s", Some("ghost"), TEAM_B_ROLE),
    )
    .await;
    assert_eq!(r["allowed"], true, "{r}");
}

#[tokio::test]
async fn an_invalid_pattern_denies_every_role() {
    let rules = rules_with(
        vec![namespace(
            "team-a",
            json!({ROLE_ANNOTATION: "arn:(unclosed"}),
        )],
        Vec::new(),
        false,
    );
    let r = verdict(
        rules,
        &aws_store("SecretStore", "s", Some("team-a"), TEAM_A_ROLE),
    )
    .await;
    assert_eq!(r["allowed"], false, "{r}");
    assert!(
        r["status"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("not a valid regular expression")),
        "{r}"
    );
}
