//! The PushSecret guide and the CloudNativePG walkthrough, end to end, with the Kubernetes
//! provider (writing into another namespace of the simulated cluster) standing in for AWS
//! Parameter Store and Vault.

mod controller_push_support;

use std::collections::BTreeMap;

use controller_push_support::*;
use k8s_openapi::ByteString;
use kube::api::{DeleteParams, Patch, PatchParams};
use shared::api::v1::SecretStore;

const EXAMPLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples");

fn example(path: &str) -> String {
    std::fs::read_to_string(format!("{EXAMPLES}/{path}")).unwrap()
}

/// The documents of a multi-document file whose `metadata.name` is `name`, re-joined.
fn pick(yaml: &str, names: &[&str]) -> String {
    yaml.split("\n---\n")
        .filter(|doc| {
            names
                .iter()
                .any(|n| doc.contains(&format!("\n  name: {n}\n")))
        })
        .collect::<Vec<_>>()
        .join("\n---\n")
}

const POKEDEX: &str = "apiVersion: v1\nkind: Secret\nmetadata: {name: pokedex-credentials, namespace: default}\nstringData: {best-pokemon: pikachu, worst-pokemon: magikarp}\n";

async fn guide_env() -> Env {
    let env = start(&["default", "parameters"]).await;
    env.apply("default", &kube_store("aws-parameterstore", "parameters"))
        .await;
    env.apply("default", POKEDEX).await;
    env
}

#[tokio::test]
async fn guide_templated_push_reports_gos_template_error_and_a_valid_template_pushes() {
    let env = guide_env().await;
    let variants = example("pushsecret/pushsecret-variants.yaml");
    // The guide writes `{{ .best-pokemon }}`, which is not a valid Go template (ESO fails the
    // same way); our example uses `index`, so rebuild the guide's spelling from it.
    let valid = pick(&variants, &["pushsecret-templated"]);
    let as_in_guide = valid.replace(
        r#"'{{ index . "best-pokemon" | toString | upper }} is the really best!'"#,
        r#""{{ .best-pokemon | toString | upper }} is the really best!""#,
    );
    assert_ne!(as_in_guide, valid);
    env.apply("default", &as_in_guide).await;
    let ps = env
        .wait_ready_reason("default", "pushsecret-templated", "Errored")
        .await;
    let msg = ps.status.unwrap().conditions.unwrap()[0]
        .message
        .clone()
        .unwrap();
    assert!(msg.contains("bad character U+002D '-'"), "{msg}");

    // The same intent written as Go templates allow it (the shipped example).
    let fixed = valid;
    env.apply("default", &fixed).await;
    env.wait_ready_reason("default", "pushsecret-templated", "Synced")
        .await;
    let remote = env
        .wait_remote("parameters", "my-first-parameter", "templated push", |_| {
            true
        })
        .await;
    assert_eq!(
        remote,
        BTreeMap::from([(
            "best-pokemon".to_string(),
            "PIKACHU is the really best!".to_string()
        )])
    );
    // The template never touches the source Secret.
    let source = env
        .secrets("default")
        .get("pokedex-credentials")
        .await
        .unwrap();
    assert_eq!(string_data(&source)["best-pokemon"], "pikachu");
}

#[tokio::test]
async fn guide_whole_secret_push_and_delete_policy() {
    let env = guide_env().await;
    let variants = example("pushsecret/pushsecret-variants.yaml");
    let manifest = pick(&variants, &["pushsecret-whole-secret"]);
    env.apply("default", &manifest).await;
    let ps = env
        .wait_ready_reason("default", "pushsecret-whole-secret", "Synced")
        .await;
    assert_eq!(
        finalizers(&ps),
        vec!["pushsecret.externalsecrets.io/finalizer".to_string()]
    );
    let remote = env
        .wait_remote("parameters", "my-whole-secret", "whole secret", |_| true)
        .await;
    assert_eq!(remote["best-pokemon"], "pikachu");
    assert_eq!(remote["worst-pokemon"], "magikarp");
    // The store keeps a finalizer while a Delete-policy PushSecret needs it.
    env.eventually(20, "store finalizer", || async {
        let ss = kube::Api::<SecretStore>::namespaced(env.client.clone(), "default")
            .get("aws-parameterstore")
            .await
            .unwrap();
        finalizers(&ss)
            .contains(&"secretstore.externalsecrets.io/finalizer".to_string())
            .then_some(())
    })
    .await;

    // A foreign Secret in the provider namespace is never touched.
    env.apply(
        "parameters",
        "apiVersion: v1\nkind: Secret\nmetadata: {name: foreign}\nstringData: {k: v}\n",
    )
    .await;
    env.delete("default", &manifest).await;
    env.wait_gone(&env.pushsecrets("default"), "pushsecret-whole-secret")
        .await;
    assert!(
        env.remote_data("parameters", "my-whole-secret")
            .await
            .is_none()
    );
    assert_eq!(
        env.remote_data("parameters", "foreign").await.unwrap()["k"],
        "v"
    );
    env.eventually(20, "store finalizer removal", || async {
        let ss = kube::Api::<SecretStore>::namespaced(env.client.clone(), "default")
            .get("aws-parameterstore")
            .await
            .unwrap();
        finalizers(&ss).is_empty().then_some(())
    })
    .await;
}

#[tokio::test]
async fn guide_whole_secret_as_json_property() {
    let env = guide_env().await;
    env.apply(
        "default",
        r#"
apiVersion: external-secrets.io/v1alpha1
kind: PushSecret
metadata: {name: pushsecret-example, namespace: default}
spec:
  deletionPolicy: Delete
  refreshInterval: 10s
  secretStoreRefs: [{name: aws-parameterstore, kind: SecretStore}]
  selector: {secret: {name: pokedex-credentials}}
  data:
  - match:
      remoteRef: {remoteKey: my-first-parameter, property: single-value-secret}
"#,
    )
    .await;
    env.wait_ready_reason("default", "pushsecret-example", "Synced")
        .await;
    let remote = env
        .wait_remote("parameters", "my-first-parameter", "json property", |_| {
            true
        })
        .await;
    let json: serde_json::Value = serde_json::from_str(&remote["single-value-secret"]).unwrap();
    assert_eq!(
        json,
        serde_json::json!({"best-pokemon": "pikachu", "worst-pokemon": "magikarp"})
    );
}

#[tokio::test]
async fn if_not_exists_leaves_an_existing_remote_value_untouched() {
    let env = guide_env().await;
    // A value a previous push left in the provider.
    env.apply(
        "parameters",
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: my-second-parameter\n  labels: {reconcile.external-secrets.io/managed-by: external-secrets}\nstringData: {single-value-secret: already-there}\n",
    )
    .await;
    let variants = example("pushsecret/pushsecret-variants.yaml");
    env.apply("default", &pick(&variants, &["pushsecret-if-not-exists"]))
        .await;
    let ps = env
        .wait_ready_reason("default", "pushsecret-if-not-exists", "Synced")
        .await;
    let status = ps.status.unwrap();
    assert_eq!(
        status.conditions.unwrap()[0].message.as_deref(),
        Some("PushSecret synced successfully. Existing secrets in providers unchanged.")
    );
    // Recorded as synced even though nothing was written.
    assert!(
        status.synced_push_secrets.unwrap()["SecretStore/aws-parameterstore"]
            .contains_key("my-second-parameter/single-value-secret")
    );
    assert_eq!(
        env.remote_data("parameters", "my-second-parameter")
            .await
            .unwrap()["single-value-secret"],
        "already-there"
    );
    // Without a remote value, IfNotExists writes it.
    env.secrets("parameters")
        .delete("my-second-parameter", &DeleteParams::default())
        .await
        .unwrap();
    env.pushsecrets("default")
        .patch(
            "pushsecret-if-not-exists",
            &PatchParams::default(),
            &Patch::Merge(serde_json::json!({"metadata": {"labels": {"nudge": "1"}}})),
        )
        .await
        .unwrap();
    env.wait_remote("parameters", "my-second-parameter", "first write", |d| {
        d.get("single-value-secret").map(String::as_str) == Some("magikarp")
    })
    .await;
}

#[tokio::test]
async fn spec_change_deletes_only_removed_entries_and_property_push_keeps_foreign_properties() {
    let env = guide_env().await;
    // Someone else's property in a remote Secret we also push to.
    env.apply(
        "parameters",
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: shared\n  labels: {reconcile.external-secrets.io/managed-by: external-secrets}\nstringData: {owner: someone-else}\n",
    )
    .await;
    let ps = |data: &str| {
        format!(
            "apiVersion: external-secrets.io/v1alpha1\nkind: PushSecret\nmetadata: {{name: ps, namespace: default}}\nspec:\n  deletionPolicy: Delete\n  secretStoreRefs: [{{name: aws-parameterstore}}]\n  selector: {{secret: {{name: pokedex-credentials}}}}\n  data:\n{data}"
        )
    };
    let both = "  - match: {secretKey: best-pokemon, remoteRef: {remoteKey: shared, property: best}}\n  - match: {secretKey: worst-pokemon, remoteRef: {remoteKey: shared, property: worst}}\n";
    env.apply("default", &ps(both)).await;
    env.wait_remote("parameters", "shared", "both properties", |d| {
        d.len() == 3 && d["best"] == "pikachu" && d["worst"] == "magikarp"
    })
    .await;
    assert_eq!(
        env.remote_data("parameters", "shared").await.unwrap()["owner"],
        "someone-else"
    );

    // Drop one entry: exactly that property disappears.
    env.apply(
        "default",
        &ps("  - match: {secretKey: best-pokemon, remoteRef: {remoteKey: shared, property: best}}\n"),
    )
    .await;
    let remote = env
        .wait_remote("parameters", "shared", "worst removed", |d| {
            !d.contains_key("worst")
        })
        .await;
    assert_eq!(
        remote,
        BTreeMap::from([
            ("best".to_string(), "pikachu".to_string()),
            ("owner".to_string(), "someone-else".to_string())
        ])
    );
    let status = env
        .wait_ready_reason("default", "ps", "Synced")
        .await
        .status
        .unwrap();
    assert_eq!(
        status.synced_push_secrets.unwrap()["SecretStore/aws-parameterstore"]
            .keys()
            .collect::<Vec<_>>(),
        vec!["shared/best"]
    );
}

#[tokio::test]
async fn deleted_source_deletes_pushed_entries_and_reports_source_deleted() {
    let env = guide_env().await;
    env.apply(
        "default",
        "apiVersion: external-secrets.io/v1alpha1\nkind: PushSecret\nmetadata: {name: ps, namespace: default}\nspec:\n  deletionPolicy: Delete\n  refreshInterval: 1h\n  secretStoreRefs: [{name: aws-parameterstore}]\n  selector: {secret: {name: pokedex-credentials}}\n  data:\n  - match: {secretKey: best-pokemon, remoteRef: {remoteKey: best}}\n",
    )
    .await;
    env.wait_remote("parameters", "best", "first push", |_| true)
        .await;
    env.secrets("default")
        .delete("pokedex-credentials", &DeleteParams::default())
        .await
        .unwrap();
    let ps = env
        .wait_ready_reason("default", "ps", "SourceDeleted")
        .await;
    assert_eq!(ps.status.unwrap().conditions.unwrap()[0].status, "False");
    assert!(env.remote_data("parameters", "best").await.is_none());
}

#[tokio::test]
async fn cloudnativepg_walkthrough_pushes_and_follows_rotation() {
    let env = start(&["default", "vault"]).await;
    // 01: the generator (used by the ExternalSecret in the walkthrough).
    env.apply(
        "default",
        &example("vault-cloudnativepg/01-password-generator.yaml"),
    )
    .await;
    // 03: the token Secret as written; the store itself stands in for Vault with the same name.
    let store_file = example("vault-cloudnativepg/03-vault-store.yaml");
    let token = store_file.split("\n---\n").nth(1).unwrap();
    env.apply("default", token).await;
    env.apply("default", &kube_store("vault-backend", "vault"))
        .await;
    // The Secret CloudNativePG owns, after the ExternalSecret merged a password into it.
    env.apply(
        "default",
        "apiVersion: v1\nkind: Secret\nmetadata: {name: cluster-example-app, labels: {cnpg.io/reload: 'true'}}\nstringData: {username: app, password: first, pgpass: 'cluster-example-rw:5432:app:app:first'}\n",
    )
    .await;
    // 04: the PushSecret, verbatim.
    env.apply(
        "default",
        &example("vault-cloudnativepg/04-pushsecret.yaml"),
    )
    .await;
    env.wait_ready_reason("default", "pushsecret-example", "Synced")
        .await;
    let remote = env
        .wait_remote(
            "vault",
            "cluster-example-app",
            "whole secret in the KMS",
            |_| true,
        )
        .await;
    assert_eq!(remote["password"], "first");
    assert_eq!(remote["username"], "app");

    // Rotation (what the ExternalSecret does every 24h): pushed right away despite the 24h interval.
    let patch = serde_json::json!({"data": {
        "password": ByteString(b"second".to_vec()),
        "pgpass": ByteString(b"cluster-example-rw:5432:app:app:second".to_vec()),
    }});
    env.secrets("default")
        .patch(
            "cluster-example-app",
            &PatchParams::default(),
            &Patch::Merge(patch),
        )
        .await
        .unwrap();
    env.wait_remote("vault", "cluster-example-app", "rotated password", |d| {
        d["password"] == "second" && d["pgpass"].ends_with(":second")
    })
    .await;

    // deletionPolicy Delete: removing the PushSecret removes the KMS copy.
    env.delete(
        "default",
        &example("vault-cloudnativepg/04-pushsecret.yaml"),
    )
    .await;
    env.wait_gone(&env.pushsecrets("default"), "pushsecret-example")
        .await;
    assert!(
        env.remote_data("vault", "cluster-example-app")
            .await
            .is_none()
    );
}
