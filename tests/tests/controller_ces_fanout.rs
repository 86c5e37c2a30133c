//! ClusterExternalSecret fan-out and cleanup (ESO §4.3, §10.2).

#[path = "controller_es_support.rs"]
mod support;

use k8s_openapi::api::core::v1::Namespace;
use kube::Api;
use kube::api::{DeleteParams, Patch, PatchParams, PostParams};
use serde_json::{Value, json};
use shared::api::v1::{ClusterExternalSecret, ExternalSecret};
use support::*;

async fn create_ces(env: &Env, body: Value) {
    let mut body = body;
    body["apiVersion"] = json!("external-secrets.io/v1");
    body["kind"] = json!("ClusterExternalSecret");
    let ces: ClusterExternalSecret = serde_json::from_value(body).expect("ces");
    Api::<ClusterExternalSecret>::all(env.client.clone())
        .create(&PostParams::default(), &ces)
        .await
        .expect("create ces");
}

async fn patch_ces(env: &Env, name: &str, patch: Value) {
    Api::<ClusterExternalSecret>::all(env.client.clone())
        .patch(name, &PatchParams::default(), &Patch::Merge(patch))
        .await
        .expect("patch ces");
}

async fn ces_status(env: &Env, name: &str) -> Option<shared::api::v1::ClusterExternalSecretStatus> {
    Api::<ClusterExternalSecret>::all(env.client.clone())
        .get_opt(name)
        .await
        .expect("get ces")?
        .status
}

async fn wait_provisioned(env: &Env, name: &str, namespaces: &[&str]) {
    let want: Vec<String> = namespaces.iter().map(|s| s.to_string()).collect();
    eventually(&format!("{name} provisioned in {want:?}"), || async {
        let st = ces_status(env, name).await?;
        (st.provisioned_namespaces.unwrap_or_default() == want).then_some(())
    })
    .await;
}

async fn es_in(env: &Env, ns: &str, name: &str) -> Option<ExternalSecret> {
    env.get_es(ns, name).await
}

fn spec() -> Value {
    json!({
        "secretStoreRef": {"name": "fake"},
        "data": [{"secretKey": "key", "remoteRef": {"key": "k"}}]
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fans_out_by_selector_and_cleans_up_unselected_namespaces() {
    let env = Env::start().await;
    for (ns, team) in [("a", "blue"), ("b", "blue"), ("c", "red")] {
        env.namespace_with(ns, json!({"labels": {"team": team}}))
            .await;
        env.fake_store(ns, "fake", &[("k", ns)]).await;
    }
    create_ces(
        &env,
        json!({
            "metadata": {"name": "shared", "annotations": {"external-secrets.io/force-sync": "1"}},
            "spec": {
                "externalSecretName": "db",
                "externalSecretMetadata": {"labels": {"copied": "yes"}},
                "namespaceSelectors": [{"matchLabels": {"team": "blue"}}],
                "externalSecretSpec": spec()
            }
        }),
    )
    .await;
    wait_provisioned(&env, "shared", &["a", "b"]).await;
    for ns in ["a", "b"] {
        let es = es_in(&env, ns, "db").await.expect("es");
        assert_eq!(
            es.metadata
                .labels
                .unwrap_or_default()
                .get("copied")
                .map(String::as_str),
            Some("yes")
        );
        assert_eq!(
            es.metadata
                .annotations
                .unwrap_or_default()
                .get("external-secrets.io/force-sync")
                .map(String::as_str),
            Some("1")
        );
        let owner = &es.metadata.owner_references.expect("owner")[0];
        assert_eq!(
            (owner.kind.as_str(), owner.name.as_str()),
            ("ClusterExternalSecret", "shared")
        );
        // The stamped ExternalSecrets sync like any other.
        env.wait_secret(ns, "db", |s| data_of(s) == kv(&[("key", ns)]))
            .await;
        let n = Api::<Namespace>::all(env.client.clone())
            .get(ns)
            .await
            .expect("ns");
        assert!(
            n.metadata
                .finalizers
                .unwrap_or_default()
                .contains(&"externalsecrets.external-secrets.io/ces-shared".to_string())
        );
    }
    assert!(es_in(&env, "c", "db").await.is_none());
    let st = ces_status(&env, "shared").await.expect("status");
    assert_eq!(st.conditions.expect("conditions")[0].status, "True");

    // Namespace b stops matching: its ExternalSecret goes away; c starts matching.
    Api::<Namespace>::all(env.client.clone())
        .patch(
            "b",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": {"team": "red"}}})),
        )
        .await
        .expect("relabel b");
    Api::<Namespace>::all(env.client.clone())
        .patch(
            "c",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": {"team": "blue"}}})),
        )
        .await
        .expect("relabel c");
    wait_provisioned(&env, "shared", &["a", "c"]).await;
    eventually("es removed from b", || async {
        es_in(&env, "b", "db").await.is_none().then_some(())
    })
    .await;

    // Dropping the force-sync annotation prunes it; renaming replaces the ExternalSecrets.
    patch_ces(
        &env,
        "shared",
        json!({
            "metadata": {"annotations": {"external-secrets.io/force-sync": null}},
            "spec": {"externalSecretName": "db2"}
        }),
    )
    .await;
    eventually("renamed", || async {
        let new = es_in(&env, "a", "db2").await?;
        let pruned = !new
            .metadata
            .annotations
            .unwrap_or_default()
            .contains_key("external-secrets.io/force-sync");
        (pruned && es_in(&env, "a", "db").await.is_none()).then_some(())
    })
    .await;

    // Deleting the CES removes its ExternalSecrets and releases the namespaces.
    Api::<ClusterExternalSecret>::all(env.client.clone())
        .delete("shared", &DeleteParams::default())
        .await
        .expect("delete ces");
    eventually("cleanup", || async {
        let gone =
            es_in(&env, "a", "db2").await.is_none() && es_in(&env, "c", "db2").await.is_none();
        let n = Api::<Namespace>::all(env.client.clone())
            .get("a")
            .await
            .ok()?;
        let released = !n
            .metadata
            .finalizers
            .unwrap_or_default()
            .iter()
            .any(|f| f.starts_with("externalsecrets.external-secrets.io/ces-"));
        (gone && released).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refuses_to_overwrite_a_foreign_external_secret() {
    let env = Env::start().await;
    env.namespace("x").await;
    env.namespace("y").await;
    env.fake_store("x", "fake", &[("k", "v")]).await;
    env.create_es("x", "db", spec()).await;
    create_ces(&env, json!({
        "metadata": {"name": "c"},
        "spec": {"externalSecretName": "db", "namespaces": ["x", "y"], "externalSecretSpec": spec()}
    }))
    .await;
    eventually("x failed, y provisioned", || async {
        let st = ces_status(&env, "c").await?;
        let failed = st.failed_namespaces.unwrap_or_default();
        let ok = failed.len() == 1
            && failed[0].namespace == "x"
            && failed[0].reason.as_deref() == Some("external secret already exists in namespace")
            && st.provisioned_namespaces.unwrap_or_default() == vec!["y".to_string()];
        let cond = st.conditions?.first()?.clone();
        (ok && cond.status == "False"
            && cond.message.as_deref() == Some("one or more namespaces failed"))
        .then_some(())
    })
    .await;
    let foreign = es_in(&env, "x", "db").await.expect("es");
    assert!(foreign.metadata.owner_references.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recreates_a_deleted_external_secret_and_is_ready_without_matches() {
    let env = Env::start().await;
    env.namespace("x").await;
    create_ces(&env, json!({
        "metadata": {"name": "nomatch"},
        "spec": {"namespaceSelectors": [{"matchLabels": {"nothing": "here"}}], "externalSecretSpec": spec()}
    }))
    .await;
    create_ces(
        &env,
        json!({
            "metadata": {"name": "one"},
            "spec": {"namespaces": ["x"], "externalSecretSpec": spec()}
        }),
    )
    .await;
    wait_provisioned(&env, "one", &["x"]).await;
    eventually("nomatch ready", || async {
        let st = ces_status(&env, "nomatch").await?;
        (st.conditions?.first()?.status == "True").then_some(())
    })
    .await;
    env.delete_es("x", "one").await;
    eventually("recreated", || async {
        let es = es_in(&env, "x", "one").await?;
        es.metadata.deletion_timestamp.is_none().then_some(())
    })
    .await;
}
