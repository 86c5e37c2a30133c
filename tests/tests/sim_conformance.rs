//! Stock kube-rs against kubesim: the client-visible behaviour controllers rely on.

use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Secret};
use kube::api::{Api, DeleteParams, ObjectMeta, Patch, PatchParams, PostParams};
use kube::core::Status;
use tests::sim::Sim;

async fn sim_with_ns(ns: &str) -> (Sim, kube::Client) {
    let sim = Sim::start().await.unwrap();
    let client = sim.client();
    let nsobj = Namespace {
        metadata: ObjectMeta {
            name: Some(ns.into()),
            ..Default::default()
        },
        ..Default::default()
    };
    Api::<Namespace>::all(client.clone())
        .create(&PostParams::default(), &nsobj)
        .await
        .unwrap();
    (sim, client)
}

fn secret(name: &str) -> Secret {
    Secret {
        metadata: ObjectMeta {
            name: Some(name.into()),
            ..Default::default()
        },
        string_data: Some([("k".to_string(), "v".to_string())].into()),
        ..Default::default()
    }
}

fn api_error(e: kube::Error) -> Status {
    match e {
        kube::Error::Api(s) => *s,
        other => panic!("expected an API error, got {other}"),
    }
}

#[tokio::test]
async fn crud_round_trip_with_kube_client() {
    let (_sim, client) = sim_with_ns("app").await;
    let api: Api<Secret> = Api::namespaced(client, "app");
    let created = api
        .create(&PostParams::default(), &secret("s"))
        .await
        .unwrap();
    assert_eq!(created.type_.as_deref(), Some("Opaque"));
    assert_eq!(created.data.unwrap()["k"].0, b"v");
    let got = api.get("s").await.unwrap();
    assert_eq!(got.metadata.uid, created.metadata.uid);
    let list = api.list(&Default::default()).await.unwrap();
    assert_eq!(list.items.len(), 1);
    api.delete("s", &DeleteParams::default()).await.unwrap();
    assert_eq!(api_error(api.get("s").await.unwrap_err()).code, 404);
}

#[tokio::test]
async fn stale_update_gets_409_conflict() {
    let (_sim, client) = sim_with_ns("app").await;
    let api: Api<ConfigMap> = Api::namespaced(client, "app");
    let cm = ConfigMap {
        metadata: ObjectMeta {
            name: Some("c".into()),
            ..Default::default()
        },
        ..Default::default()
    };
    let first = api.create(&PostParams::default(), &cm).await.unwrap();
    let mut a = first.clone();
    a.data = Some([("x".to_string(), "1".to_string())].into());
    api.replace("c", &PostParams::default(), &a).await.unwrap();
    let mut stale = first;
    stale.data = Some([("x".to_string(), "2".to_string())].into());
    let err = api_error(
        api.replace("c", &PostParams::default(), &stale)
            .await
            .unwrap_err(),
    );
    assert_eq!(err.code, 409);
    assert_eq!(err.reason, "Conflict");
}

#[tokio::test]
async fn server_side_apply_conflicts_and_records_managers() {
    let (sim, client) = sim_with_ns("app").await;
    let api: Api<ConfigMap> = Api::namespaced(client, "app");
    let cfg = |v: &str| serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"k": v}});
    api.patch("c", &PatchParams::apply("first"), &Patch::Apply(cfg("1")))
        .await
        .unwrap();
    let err = api_error(
        api.patch("c", &PatchParams::apply("second"), &Patch::Apply(cfg("2")))
            .await
            .unwrap_err(),
    );
    assert_eq!(err.code, 409);
    assert!(
        err.message.contains("conflict with \"first\""),
        "{}",
        err.message
    );
    let forced = api
        .patch(
            "c",
            &PatchParams::apply("second").force(),
            &Patch::Apply(cfg("2")),
        )
        .await
        .unwrap();
    assert_eq!(forced.data.unwrap()["k"], "2");
    let managers: Vec<String> = forced
        .metadata
        .managed_fields
        .unwrap()
        .into_iter()
        .filter_map(|m| m.manager)
        .collect();
    assert_eq!(managers, vec!["second".to_string()]);
    // Re-applying the same config is a no-op: no new write.
    let before = sim.counters().total_writes();
    api.patch("c", &PatchParams::apply("second"), &Patch::Apply(cfg("2")))
        .await
        .unwrap();
    assert_eq!(sim.counters().total_writes(), before);
}

#[tokio::test]
async fn owned_secret_is_garbage_collected_with_its_owner() {
    let (sim, client) = sim_with_ns("app").await;
    let owners: Api<ConfigMap> = Api::namespaced(client.clone(), "app");
    let owner = ConfigMap {
        metadata: ObjectMeta {
            name: Some("owner".into()),
            ..Default::default()
        },
        ..Default::default()
    };
    let owner = owners.create(&PostParams::default(), &owner).await.unwrap();
    let secrets: Api<Secret> = Api::namespaced(client, "app");
    let mut dep = secret("dep");
    dep.metadata.owner_references = Some(vec![
        k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference {
            api_version: "v1".into(),
            kind: "ConfigMap".into(),
            name: "owner".into(),
            uid: owner.metadata.uid.clone().unwrap(),
            ..Default::default()
        },
    ]);
    secrets.create(&PostParams::default(), &dep).await.unwrap();
    owners
        .delete("owner", &DeleteParams::default())
        .await
        .unwrap();
    sim.settle().await;
    assert_eq!(api_error(secrets.get("dep").await.unwrap_err()).code, 404);
}

#[tokio::test]
async fn finalizer_holds_deletion_until_removed() {
    let (_sim, client) = sim_with_ns("app").await;
    let api: Api<Secret> = Api::namespaced(client, "app");
    let mut s = secret("f");
    s.metadata.finalizers = Some(vec!["example.test/hold".into()]);
    api.create(&PostParams::default(), &s).await.unwrap();
    api.delete("f", &DeleteParams::default()).await.unwrap();
    let held = api.get("f").await.unwrap();
    assert!(held.metadata.deletion_timestamp.is_some());
    let patch = serde_json::json!({"metadata": {"finalizers": null}});
    api.patch("f", &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .unwrap();
    assert_eq!(api_error(api.get("f").await.unwrap_err()).code, 404);
}
