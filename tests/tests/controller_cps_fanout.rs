//! ClusterPushSecret fan-out end to end: PushSecrets per selected namespace, foreign PushSecrets
//! left alone and reported, cleanup when a namespace stops matching, GC on deletion.

mod controller_push_support;

use controller_push_support::*;
use k8s_openapi::api::core::v1::Namespace;
use kube::Api;
use kube::api::{Patch, PatchParams};
use shared::api::v1alpha1::ClusterPushSecret;

const CPS: &str = r#"
apiVersion: external-secrets.io/v1alpha1
kind: ClusterPushSecret
metadata: {name: fanout}
spec:
  refreshTime: 1h
  pushSecretName: db-push
  pushSecretMetadata: {labels: {team: platform}}
  namespaceSelectors:
  - matchLabels: {push: 'yes'}
  pushSecretSpec:
    secretStoreRefs: [{name: k8s}]
    selector: {secret: {name: db}}
    data:
    - match: {secretKey: password, remoteRef: {remoteKey: db-copy}}
"#;

#[tokio::test]
async fn fans_out_pushes_reports_foreign_and_cleans_up() {
    let mut env = start(&["remote"]).await;
    env.start_cluster_push_secrets();
    for (ns, push) in [("team-a", "yes"), ("team-b", "yes"), ("team-c", "no")] {
        create_namespace(&env.client, ns, &[("push", push)]).await;
    }
    // team-b already has a PushSecret of that name that we do not own.
    env.apply(
        "team-b",
        "apiVersion: external-secrets.io/v1alpha1\nkind: PushSecret\nmetadata: {name: db-push}\nspec:\n  secretStoreRefs: [{name: other}]\n  selector: {secret: {name: x}}\n",
    )
    .await;
    env.apply(
        "team-a",
        &kube_store("k8s", "remote").replace(
            "metadata: {name: k8s}",
            "metadata: {name: k8s, namespace: team-a}",
        ),
    )
    .await;
    env.apply("team-a", "apiVersion: v1\nkind: Secret\nmetadata: {name: db, namespace: team-a}\nstringData: {password: pw-a}\n").await;
    env.apply("default", CPS).await;

    let cps_api: Api<ClusterPushSecret> = Api::all(env.client.clone());
    let status = env
        .eventually(20, "CPS status", || async {
            let s = cps_api.get("fanout").await.unwrap().status?;
            (s.provisioned_namespaces.is_some() && s.failed_namespaces.is_some()).then_some(s)
        })
        .await;
    assert_eq!(status.provisioned_namespaces.unwrap(), vec!["team-a"]);
    let failed = status.failed_namespaces.unwrap();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].namespace, "team-b");
    assert_eq!(
        failed[0].reason.as_deref(),
        Some("push secret already exists in namespace")
    );
    assert_eq!(status.push_secret_name.as_deref(), Some("db-push"));
    let ready = &status.conditions.unwrap()[0];
    assert_eq!(
        (ready.status.as_str(), ready.message.as_deref()),
        ("False", Some("one or more namespaces failed"))
    );

    // The stamped PushSecret works: the value lands in the provider.
    let ps = env.wait_ready_reason("team-a", "db-push", "Synced").await;
    assert_eq!(
        ps.labels().get("team").map(String::as_str),
        Some("platform")
    );
    assert_eq!(
        env.remote_data("remote", "db-copy").await.unwrap()["password"],
        "pw-a"
    );
    // The foreign one is untouched; nothing in team-c.
    let foreign = env.pushsecrets("team-b").get("db-push").await.unwrap();
    assert_eq!(
        foreign.spec.secret_store_refs[0].name.as_deref(),
        Some("other")
    );
    assert!(
        env.pushsecrets("team-c")
            .get_opt("db-push")
            .await
            .unwrap()
            .is_none()
    );

    // team-a stops matching: its PushSecret goes.
    Api::<Namespace>::all(env.client.clone())
        .patch(
            "team-a",
            &PatchParams::default(),
            &Patch::Merge(serde_json::json!({"metadata": {"labels": {"push": "no"}}})),
        )
        .await
        .unwrap();
    env.wait_gone(&env.pushsecrets("team-a"), "db-push").await;
    // team-c starts matching: it gets one.
    Api::<Namespace>::all(env.client.clone())
        .patch(
            "team-c",
            &PatchParams::default(),
            &Patch::Merge(serde_json::json!({"metadata": {"labels": {"push": "yes"}}})),
        )
        .await
        .unwrap();
    env.eventually(20, "PushSecret in team-c", || async {
        env.pushsecrets("team-c").get_opt("db-push").await.unwrap()
    })
    .await;
}

use kube::ResourceExt;
