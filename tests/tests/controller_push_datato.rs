//! dataTo (per-key, bundle, rewrite), label-selected sources, duplicate remote keys and the
//! Password generator rotation, end to end with the Kubernetes provider.

mod controller_push_support;

use std::collections::BTreeMap;

use controller_push_support::*;
use kube::api::{DeleteParams, Patch, PatchParams};

const EXAMPLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples");

fn variant(name: &str) -> String {
    let all =
        std::fs::read_to_string(format!("{EXAMPLES}/pushsecret/pushsecret-variants.yaml")).unwrap();
    all.split("\n---\n")
        .filter(|doc| doc.contains(&format!("\n  name: {name}\n")))
        .collect::<Vec<_>>()
        .join("\n---\n")
}

const POKEDEX: &str = "apiVersion: v1\nkind: Secret\nmetadata: {name: pokedex-credentials, namespace: default}\nstringData: {best-pokemon: pikachu, worst-pokemon: magikarp, trainer: ash}\n";

async fn env() -> Env {
    let env = start(&["default", "parameters"]).await;
    env.apply("default", &kube_store("aws-parameterstore", "parameters"))
        .await;
    env.apply("default", POKEDEX).await;
    env
}

/// AWS Parameter Store accepts path-like names (`pokedex/best`, `prod/mysql/password`) that are
/// not valid Kubernetes Secret names, so these guide manifests run against the Fake provider.
async fn fake_env() -> Env {
    let env = start(&["default"]).await;
    env.apply(
        "default",
        "apiVersion: external-secrets.io/v1\nkind: SecretStore\nmetadata: {name: aws-parameterstore}\nspec:\n  provider:\n    fake: {data: []}\n",
    )
    .await;
    env.apply("default", POKEDEX).await;
    env
}

async fn fake_value(env: &Env, key: &str) -> Option<String> {
    env.store_text("default", "aws-parameterstore", key).await
}

#[tokio::test]
async fn guide_bulk_example_pushes_matching_keys_under_rewritten_names() {
    let env = fake_env().await;
    env.apply("default", &variant("pushsecret-bulk")).await;
    let ps = env
        .wait_ready_reason("default", "pushsecret-bulk", "Synced")
        .await;
    let synced = ps.status.unwrap().synced_push_secrets.unwrap();
    let keys: Vec<_> = synced["SecretStore/aws-parameterstore"]
        .keys()
        .cloned()
        .collect();
    assert_eq!(keys, vec!["pokedex/best", "pokedex/worst"]);
    assert_eq!(
        fake_value(&env, "pokedex/best").await.as_deref(),
        Some("pikachu")
    );
    assert_eq!(
        fake_value(&env, "pokedex/worst").await.as_deref(),
        Some("magikarp")
    );
    assert_eq!(fake_value(&env, "pokedex/trainer").await, None);
}

#[tokio::test]
async fn data_to_per_key_bundle_and_explicit_override() {
    let env = env().await;
    env.apply(
        "default",
        r#"
apiVersion: external-secrets.io/v1alpha1
kind: PushSecret
metadata: {name: ps, namespace: default}
spec:
  deletionPolicy: Delete
  secretStoreRefs: [{name: aws-parameterstore}]
  selector: {secret: {name: pokedex-credentials}}
  data:
  - match: {secretKey: trainer, remoteRef: {remoteKey: the-trainer}}
  dataTo:
  - storeRef: {name: aws-parameterstore}
    rewrite:
    - regexp: {source: '^(.*)$', target: 'pk-$1'}
    - transform: {template: '{{ .value | lower }}'}
  - storeRef: {name: aws-parameterstore}
    remoteKey: bundle
    match: {regexp: '-pokemon$'}
"#,
    )
    .await;
    let ps = env.wait_ready_reason("default", "ps", "Synced").await;
    let synced = ps.status.unwrap().synced_push_secrets.unwrap();
    let keys: Vec<_> = synced["SecretStore/aws-parameterstore"]
        .keys()
        .cloned()
        .collect();
    // Explicit data wins for `trainer`: no pk-trainer.
    assert_eq!(
        keys,
        vec![
            "bundle",
            "pk-best-pokemon",
            "pk-worst-pokemon",
            "the-trainer"
        ]
    );
    assert_eq!(
        env.remote_data("parameters", "pk-best-pokemon")
            .await
            .unwrap(),
        BTreeMap::from([("best-pokemon".to_string(), "pikachu".to_string())])
    );
    assert_eq!(
        env.remote_data("parameters", "bundle").await.unwrap(),
        BTreeMap::from([
            ("best-pokemon".to_string(), "pikachu".to_string()),
            ("worst-pokemon".to_string(), "magikarp".to_string())
        ])
    );
    assert!(env.remote_data("parameters", "pk-trainer").await.is_none());
    assert_eq!(
        env.remote_data("parameters", "the-trainer").await.unwrap()["trainer"],
        "ash"
    );
}

#[tokio::test]
async fn duplicate_remote_key_is_an_error_and_nothing_is_pushed() {
    let env = env().await;
    env.apply(
        "default",
        r#"
apiVersion: external-secrets.io/v1alpha1
kind: PushSecret
metadata: {name: ps, namespace: default}
spec:
  secretStoreRefs: [{name: aws-parameterstore}]
  selector: {secret: {name: pokedex-credentials}}
  data:
  - match: {secretKey: trainer, remoteRef: {remoteKey: best-pokemon}}
  dataTo:
  - storeRef: {name: aws-parameterstore}
    match: {regexp: '^best'}
"#,
    )
    .await;
    let ps = env.wait_ready_reason("default", "ps", "Errored").await;
    let msg = ps.status.unwrap().conditions.unwrap()[0]
        .message
        .clone()
        .unwrap();
    assert!(
        msg.contains("duplicate remote key \"best-pokemon\""),
        "{msg}"
    );
    assert!(
        env.remote_data("parameters", "best-pokemon")
            .await
            .is_none()
    );
}

#[tokio::test]
async fn label_selected_sources_are_compared_as_a_union() {
    let env = start(&["default", "parameters"]).await;
    env.apply("default", &kube_store("store", "parameters"))
        .await;
    for (name, key) in [("a", "alpha"), ("b", "beta")] {
        env.apply(
            "default",
            &format!("apiVersion: v1\nkind: Secret\nmetadata: {{name: {name}, labels: {{push: 'yes'}}}}\nstringData: {{{key}: v-{key}}}\n"),
        )
        .await;
    }
    env.apply(
        "default",
        r#"
apiVersion: external-secrets.io/v1alpha1
kind: PushSecret
metadata: {name: ps, namespace: default}
spec:
  deletionPolicy: Delete
  secretStoreRefs: [{name: store}]
  selector: {secret: {selector: {matchLabels: {push: 'yes'}}}}
  dataTo:
  - storeRef: {name: store}
"#,
    )
    .await;
    env.wait_remote("parameters", "alpha", "alpha", |_| true)
        .await;
    env.wait_remote("parameters", "beta", "beta", |_| true)
        .await;
    // A second reconcile (nudge) must not delete one Secret's entries while handling the other
    // (ESO's per-Secret comparison would).
    env.pushsecrets("default")
        .patch(
            "ps",
            &PatchParams::default(),
            &Patch::Merge(serde_json::json!({"metadata": {"labels": {"n": "1"}}})),
        )
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    env.wait_ready_reason("default", "ps", "Synced").await;
    assert!(env.remote_data("parameters", "alpha").await.is_some());
    assert!(env.remote_data("parameters", "beta").await.is_some());
    // A new matching Secret is pushed without waiting for the interval.
    env.apply(
        "default",
        "apiVersion: v1\nkind: Secret\nmetadata: {name: c, labels: {push: 'yes'}}\nstringData: {gamma: v-gamma}\n",
    )
    .await;
    env.wait_remote("parameters", "gamma", "gamma", |_| true)
        .await;
    // A Secret leaving the selection takes its entries with it.
    env.secrets("default")
        .delete("a", &DeleteParams::default())
        .await
        .unwrap();
    env.eventually(20, "alpha to be deleted", || async {
        env.remote_data("parameters", "alpha")
            .await
            .is_none()
            .then_some(())
    })
    .await;
    assert!(env.remote_data("parameters", "beta").await.is_some());
}

#[tokio::test]
async fn guide_password_generator_rotation() {
    let env = fake_env().await;
    // The guide's generator and PushSecret, with a short interval to watch the rotation.
    let manifest = variant("strong-password")
        + "\n---\n"
        + &variant("pushsecret-rotation").replace("refreshInterval: 6h", "refreshInterval: 1s");
    env.apply("default", &manifest).await;
    env.wait_ready_reason("default", "pushsecret-rotation", "Synced")
        .await;
    let first = env
        .eventually(10, "a generated password", || {
            fake_value(&env, "prod/mysql/password")
        })
        .await;
    assert_eq!(first.len(), 128);
    env.eventually(20, "a rotated password", || async {
        fake_value(&env, "prod/mysql/password")
            .await
            .filter(|p| *p != first)
    })
    .await;
}

#[tokio::test]
async fn password_generator_rotates_on_each_refresh_and_if_not_exists_generates_once() {
    let env = start(&["default", "parameters"]).await;
    env.apply("default", &kube_store("store", "parameters"))
        .await;
    env.apply(
        "default",
        "apiVersion: generators.external-secrets.io/v1alpha1\nkind: Password\nmetadata: {name: strong-password}\nspec: {length: 128, digits: 5, symbols: 5, symbolCharacters: '-_$@', noUpper: false, allowRepeat: true}\n",
    )
    .await;
    let ps = |name: &str, extra: &str| {
        format!(
            "apiVersion: external-secrets.io/v1alpha1\nkind: PushSecret\nmetadata: {{name: {name}}}\nspec:\n  refreshInterval: 1s\n{extra}  secretStoreRefs: [{{name: store}}]\n  selector:\n    generatorRef: {{apiVersion: generators.external-secrets.io/v1alpha1, kind: Password, name: strong-password}}\n  data:\n  - match: {{secretKey: password, remoteRef: {{remoteKey: {name}}}}}\n"
        )
    };
    env.apply("default", &ps("rotating", "")).await;
    env.apply("default", &ps("once", "  updatePolicy: IfNotExists\n"))
        .await;
    let first = env
        .wait_remote("parameters", "rotating", "first password", |_| true)
        .await["password"]
        .clone();
    assert_eq!(first.len(), 128);
    assert_eq!(first.chars().filter(char::is_ascii_digit).count(), 5);
    assert_eq!(first.chars().filter(|c| "-_$@".contains(*c)).count(), 5);
    let once = env
        .wait_remote("parameters", "once", "IfNotExists password", |_| true)
        .await["password"]
        .clone();
    env.wait_remote("parameters", "rotating", "a rotated password", |d| {
        d["password"] != first
    })
    .await;
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    assert_eq!(
        env.remote_data("parameters", "once").await.unwrap()["password"],
        once
    );
}
