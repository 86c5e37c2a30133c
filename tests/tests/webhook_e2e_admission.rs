//! The webhook's real rules and router behind the API simulator: the apiserver calls it through
//! Validating/MutatingWebhookConfigurations (service clientConfig, our CA), with the namespace
//! and ClusterSecretStore caches fed by watches of the same simulator.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use k8s_openapi::api::admissionregistration::v1::{
    MutatingWebhookConfiguration, ValidatingWebhookConfiguration,
};
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, ApiResource, DynamicObject, Patch, PatchParams, PostParams};
use kube::core::params::ValidationDirective;
use serde_json::{Value, json};
use tests::sim::Sim;
use tests::sim::testwebhooks::{self, Pki, WebhookServer};
use webhook::health::Readiness;
use webhook::rules::{Caches, EsoRules, REFLECTORS, RulesOptions};

const ROLE_ANNOTATION: &str = "iam.amazonaws.com/permitted";
const VALIDATING: &str = "validate.external-secrets.io";

fn kubectl() -> PathBuf {
    std::env::var("KUBECTL")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from("/usr/bin/kubectl"))
}

struct Env {
    sim: Sim,
    _server: WebhookServer,
    dir: tempfile::TempDir,
}

fn webhook_entry(name: &str, path: &str, ca: &str) -> Value {
    json!({"name": name, "admissionReviewVersions": ["v1"], "sideEffects": "None",
        "failurePolicy": "Fail",
        "clientConfig": {"service": {"namespace": "eso-system", "name": "eso-webhook", "path": path},
                         "caBundle": ca},
        "rules": [{"apiGroups": ["external-secrets.io", "generators.external-secrets.io"],
                   "apiVersions": ["*"], "operations": ["CREATE", "UPDATE"], "resources": ["*"]}]})
}

async fn start() -> Env {
    let sim = Sim::start().await.expect("sim");
    sim.install_crds(&shared::api::all_crds())
        .await
        .expect("crds");
    let namespaces = [
        (
            "team-a",
            json!({ROLE_ANNOTATION: "arn:aws:iam::123456789012:role/team-a-.*"}),
        ),
        ("anchored", json!({ROLE_ANNOTATION: "team-a"})),
        ("eso-system", json!({})),
    ];
    for (name, annotations) in namespaces {
        let ns: Namespace =
            serde_json::from_value(json!({"metadata": {"name": name, "annotations": annotations}}))
                .expect("ns");
        Api::<Namespace>::all(sim.client())
            .create(&PostParams::default(), &ns)
            .await
            .expect("create ns");
    }
    let readiness = Readiness::new();
    let flag = readiness.register(REFLECTORS);
    let caches = Caches::watch(sim.client(), flag.clone());
    let deadline = Instant::now() + Duration::from_secs(20);
    while !flag.get() {
        assert!(Instant::now() < deadline, "caches never synced");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(readiness.is_ready());
    let rules = EsoRules::new(RulesOptions::default(), caches);
    let state = webhook::AppState::new(Arc::new(rules)).with_readiness(readiness);
    let pki = Pki::new(&["eso-webhook.eso-system.svc"]).expect("pki");
    let server = testwebhooks::serve(&pki, webhook::router(state))
        .await
        .expect("serve");
    sim.map_service("eso-system", "eso-webhook", 443, server.addr);
    let ca = pki.ca_bundle();
    let v: ValidatingWebhookConfiguration = serde_json::from_value(json!({
        "metadata": {"name": "eso-validate"},
        "webhooks": [webhook_entry(VALIDATING, webhook::server::VALIDATE_PATH, &ca)]}))
    .expect("vwc");
    let m: MutatingWebhookConfiguration = serde_json::from_value(json!({
        "metadata": {"name": "eso-mutate"},
        "webhooks": [webhook_entry("mutate.external-secrets.io", webhook::server::MUTATE_PATH, &ca)]}))
    .expect("mwc");
    Api::<ValidatingWebhookConfiguration>::all(sim.client())
        .create(&PostParams::default(), &v)
        .await
        .expect("vwc");
    Api::<MutatingWebhookConfiguration>::all(sim.client())
        .create(&PostParams::default(), &m)
        .await
        .expect("mwc");
    Env {
        sim,
        _server: server,
        dir: tempfile::tempdir().expect("tempdir"),
    }
}

fn resource(group: &str, version: &str, kind: &str, plural: &str) -> ApiResource {
    ApiResource {
        group: group.into(),
        version: version.into(),
        api_version: format!("{group}/{version}"),
        kind: kind.into(),
        plural: plural.into(),
    }
}

fn api_for(env: &Env, object: &Value) -> Api<DynamicObject> {
    let kind = object["kind"].as_str().expect("kind");
    let api_version = object["apiVersion"].as_str().expect("apiVersion");
    let (group, version) = api_version.split_once('/').expect("group/version");
    let ar = resource(group, version, kind, &format!("{}s", kind.to_lowercase()));
    match object["metadata"]["namespace"].as_str() {
        Some(ns) => Api::namespaced_with(env.sim.client(), ns, &ar),
        None => Api::all_with(env.sim.client(), &ar),
    }
}

async fn create(env: &Env, object: &Value) -> Result<Value, kube::Error> {
    let obj: DynamicObject = serde_json::from_value(object.clone()).expect("object");
    let created = api_for(env, object)
        .create(&PostParams::default(), &obj)
        .await?;
    Ok(serde_json::to_value(created).expect("json"))
}

fn denial(result: Result<Value, kube::Error>) -> String {
    match result {
        Ok(v) => panic!("expected a denial, the object was stored: {v}"),
        Err(kube::Error::Api(status)) => status.message.clone(),
        Err(e) => panic!("expected an API denial, got {e}"),
    }
}

/// Runs kubectl against the simulator with `object` as the manifest; returns (success, output).
fn kubectl_apply(env: &Env, object: &Value, extra: &[&str]) -> (bool, String) {
    let file = env.dir.path().join("manifest.json");
    std::fs::write(&file, object.to_string()).expect("write manifest");
    let out = Command::new(kubectl())
        .arg("--kubeconfig")
        .arg(env.sim.kubeconfig_path())
        .args(["apply", "-f"])
        .arg(Path::new(&file))
        .args(extra)
        .output()
        .expect("kubectl runs (CI installs it at /usr/bin/kubectl)");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

fn es(namespace: &str, name: &str, target: Value) -> Value {
    json!({"apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"secretStoreRef": {"name": "aws", "kind": "SecretStore"}, "target": target,
                 "data": [{"secretKey": "password", "remoteRef": {"key": "team-a/db"}}]}})
}

fn aws_store(namespace: &str, name: &str, role: &str) -> Value {
    json!({"apiVersion": "external-secrets.io/v1", "kind": "SecretStore",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"provider": {"aws": {"service": "SecretsManager", "region": "eu-west-1", "role": role}}}})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_external_secret_is_denied_with_the_webhook_message() {
    let env = start().await;
    let message = denial(
        create(
            &env,
            &es(
                "team-a",
                "bad",
                json!({"name": "db", "creationPolicy": "Merge", "deletionPolicy": "Delete"}),
            ),
        )
        .await,
    );
    assert!(
        message.starts_with(&format!(
            "admission webhook \"{VALIDATING}\" denied the request: spec.target.deletionPolicy"
        )),
        "{message}"
    );
    assert!(
        message.contains("Delete requires creationPolicy Owner"),
        "{message}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn valid_objects_are_admitted_and_stored_defaulted() {
    let env = start().await;
    let stored = create(&env, &es("team-a", "good", json!({"name": "db"})))
        .await
        .expect("admitted");
    assert_eq!(stored["spec"]["refreshInterval"], "1h0m0s", "{stored}");
    assert_eq!(
        stored["spec"]["target"]["creationPolicy"], "Owner",
        "{stored}"
    );
    assert_eq!(
        stored["spec"]["target"]["deletionPolicy"], "Retain",
        "{stored}"
    );
    // refreshTime has no schema default: only the mutating webhook sets it.
    let ces = json!({"apiVersion": "external-secrets.io/v1", "kind": "ClusterExternalSecret",
        "metadata": {"name": "fanout"},
        "spec": {"externalSecretSpec": es("x", "y", json!({"name": "db"}))["spec"],
                 "namespaceSelectors": [{"matchLabels": {"team": "a"}}]}});
    create(&env, &ces).await.expect("ces admitted");
    let got = api_for(&env, &ces).get("fanout").await.expect("get");
    let got = serde_json::to_value(got).expect("json");
    assert_eq!(got["spec"]["refreshTime"], "1h0m0s", "{got}");
}

const ONEPASSWORD_DENIAL: &str = "provider onepassword is not supported by this operator";

fn onepassword_store() -> Value {
    json!({"apiVersion": "external-secrets.io/v1", "kind": "SecretStore",
        "metadata": {"name": "op", "namespace": "team-a"},
        "spec": {"provider": {"onepassword": {"connectHost": "https://connect.example",
            "vaults": {"prod": 1},
            "auth": {"secretRef": {"connectTokenSecretRef": {"name": "op", "key": "token"}}}}}}})
}

fn github_generator() -> Value {
    json!({"apiVersion": "generators.external-secrets.io/v1alpha1", "kind": "ClusterGenerator",
        "metadata": {"name": "gh"},
        "spec": {"kind": "GithubAccessToken",
                 "generator": {"githubAccessTokenSpec": {"appID": "1", "installID": "2",
                     "auth": {"privateKey": {"secretRef": {"name": "gh", "key": "pem"}}}}}}})
}

/// Issue #14: an unsupported provider/generator reaches the webhook and is denied by it, with
/// kubectl's default strict field validation (client- and server-side) and with Warn.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsupported_providers_reach_the_webhook_and_are_denied() {
    let env = start().await;
    for (object, expected) in [
        (onepassword_store(), ONEPASSWORD_DENIAL),
        (
            github_generator(),
            "generator kind GithubAccessToken is not supported by this operator",
        ),
    ] {
        let name = object["metadata"]["name"].as_str().unwrap_or("").to_owned();
        for extra in [&[][..], &["--server-side"][..]] {
            let (ok, text) = kubectl_apply(&env, &object, extra);
            assert!(!ok, "{name} {extra:?} was applied: {text}");
            assert!(
                text.contains(&format!(
                    "admission webhook \"{VALIDATING}\" denied the request"
                )) && text.contains(expected),
                "{name} {extra:?}: {text}"
            );
            assert!(!text.contains("unknown field"), "{name} {extra:?}: {text}");
        }
        let obj: DynamicObject = serde_json::from_value(object.clone()).expect("object");
        let mut params = PatchParams::apply("e2e");
        params.field_validation = Some(ValidationDirective::Warn);
        let result = api_for(&env, &object)
            .patch(&name, &params, &Patch::Apply(&obj))
            .await
            .map(|o| serde_json::to_value(o).expect("json"));
        let message = denial(result);
        assert!(message.contains(expected), "{name} Warn: {message}");
        assert!(
            api_for(&env, &object)
                .get_opt(&name)
                .await
                .expect("get")
                .is_none(),
            "{name} must not be stored"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn namespace_policy_annotations_are_enforced_fully_anchored() {
    let env = start().await;
    let message = denial(
        create(
            &env,
            &aws_store(
                "team-a",
                "b",
                "arn:aws:iam::123456789012:role/team-b-reader",
            ),
        )
        .await,
    );
    assert!(message.contains("namespace \"team-a\""), "{message}");
    assert!(message.contains(ROLE_ANNOTATION), "{message}");
    create(
        &env,
        &aws_store(
            "team-a",
            "a",
            "arn:aws:iam::123456789012:role/team-a-reader",
        ),
    )
    .await
    .expect("permitted role is admitted");
    let message = denial(
        create(
            &env,
            &aws_store(
                "anchored",
                "a",
                "arn:aws:iam::123456789012:role/team-a-reader",
            ),
        )
        .await,
    );
    assert!(message.contains("namespace \"anchored\""), "{message}");
}
