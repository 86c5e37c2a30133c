//! ClusterPushSecret failures the way ESO reports them (reference §4.4, `markAsFailed`): when the
//! target namespaces cannot be determined the ClusterPushSecret gets Ready=False `Errored`
//! "failed to get target Namespaces" and a Warning `Errored` event from the
//! `external-secrets-controller` recorder; once fixed it fans out and is Ready again.

mod controller_push_support;

use controller_push_support::*;
use k8s_openapi::api::events::v1::Event;
use kube::Api;
use kube::api::{ListParams, Patch, PatchParams};
use shared::api::v1alpha1::ClusterPushSecret;

const CPS: &str = r#"
apiVersion: external-secrets.io/v1alpha1
kind: ClusterPushSecret
metadata: {name: broken-selector}
spec:
  namespaceSelectors:
  - matchExpressions: [{key: push, operator: Sometimes, values: ['yes']}]
  pushSecretSpec:
    secretStoreRefs: [{name: k8s}]
    selector: {secret: {name: db}}
    data:
    - match: {secretKey: password, remoteRef: {remoteKey: db-copy}}
"#;

/// (type, reason, note, reporting controller) of the events about the ClusterPushSecret; events
/// of cluster-scoped objects land in `default`, as client-go records them.
async fn events(env: &Env) -> Vec<(String, String, String, String)> {
    Api::<Event>::namespaced(env.client.clone(), "default")
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .filter(|e| {
            e.regarding.as_ref().and_then(|r| r.kind.as_deref()) == Some("ClusterPushSecret")
                && e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some("broken-selector")
        })
        .map(|e| {
            (
                e.type_.unwrap_or_default(),
                e.reason.unwrap_or_default(),
                e.note.unwrap_or_default(),
                e.reporting_controller.unwrap_or_default(),
            )
        })
        .collect()
}

#[tokio::test]
async fn unusable_namespace_selector_is_errored_with_a_warning_event() {
    let mut env = start(&["team-a"]).await;
    env.start_cluster_push_secrets();
    Api::<k8s_openapi::api::core::v1::Namespace>::all(env.client.clone())
        .patch(
            "team-a",
            &PatchParams::default(),
            &Patch::Merge(serde_json::json!({"metadata": {"labels": {"push": "yes"}}})),
        )
        .await
        .unwrap();
    env.apply("default", CPS).await;

    let api: Api<ClusterPushSecret> = Api::all(env.client.clone());
    let cond = env
        .eventually(20, "Errored condition", || async {
            let s = api.get("broken-selector").await.ok()?.status?;
            s.conditions?
                .into_iter()
                .find(|c| c.type_ == "Ready" && c.reason.as_deref() == Some("Errored"))
        })
        .await;
    assert_eq!(cond.status, "False");
    assert_eq!(
        cond.message.as_deref(),
        Some("failed to get target Namespaces")
    );
    let evs = env
        .eventually(20, "Warning event", || async {
            let e = events(&env).await;
            (!e.is_empty()).then_some(e)
        })
        .await;
    assert!(
        evs.contains(&(
            "Warning".into(),
            "Errored".into(),
            "failed to get target Namespaces".into(),
            "external-secrets-controller".into()
        )),
        "{evs:?}"
    );
    // Nothing was stamped out.
    assert!(
        env.pushsecrets("team-a")
            .get_opt("broken-selector")
            .await
            .unwrap()
            .is_none()
    );

    // Fixed selector: the PushSecret appears and the condition turns True.
    api.patch(
        "broken-selector",
        &PatchParams::default(),
        &Patch::Merge(serde_json::json!({"spec": {"namespaceSelectors": [
            {"matchExpressions": [{"key": "push", "operator": "In", "values": ["yes"]}]}
        ]}})),
    )
    .await
    .unwrap();
    env.eventually(20, "PushSecret in team-a", || async {
        env.pushsecrets("team-a")
            .get_opt("broken-selector")
            .await
            .unwrap()
    })
    .await;
    env.eventually(20, "Ready=True", || async {
        let s = api.get("broken-selector").await.ok()?.status?;
        s.conditions?
            .into_iter()
            .find(|c| c.type_ == "Ready" && c.status == "True")
    })
    .await;
}
