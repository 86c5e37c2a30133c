//! GeneratorStates with the full controller running against the simulator (reference §4.6 and
//! §4.1.2): the garbage collector finalizes every state, deletes it once its deadline passed,
//! waits for deadlines in the future, and holds the finalizer when the generator's cleanup
//! cannot run; stateless generators (Password, UUID) used by an ExternalSecret or a PushSecret
//! leave no GeneratorState behind, as in ESO.

#[path = "controller_es_support.rs"]
mod controller_es_support;

use controller_es_support::*;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use kube::api::PostParams;
use kube::{Api, ResourceExt};
use serde_json::json;
use shared::api::generators::{FINALIZER, GeneratorState, GeneratorStateSpec};
use shared::api::v1alpha1::PushSecret;

fn in_seconds(s: i64) -> Time {
    Time(Timestamp::from_second(Timestamp::now().as_second() + s).unwrap())
}

async fn create_state(env: &Env, name: &str, kind: &str, deadline: Option<Time>) {
    let gs = GeneratorState::new(
        name,
        GeneratorStateSpec {
            garbage_collection_deadline: deadline,
            resource: json!({
                "apiVersion": "generators.external-secrets.io/v1alpha1",
                "kind": kind,
                "metadata": {"name": "gen", "namespace": "team-a"},
                "spec": {}
            }),
            state: json!({"id": "42"}),
        },
    );
    Api::<GeneratorState>::namespaced(env.client.clone(), "team-a")
        .create(&PostParams::default(), &gs)
        .await
        .unwrap();
}

#[tokio::test]
async fn states_are_collected_after_their_deadline_and_only_after_cleanup() {
    let env = Env::start().await;
    env.namespace("team-a").await;
    let api: Api<GeneratorState> = Api::namespaced(env.client.clone(), "team-a");
    create_state(&env, "expired", "Password", Some(in_seconds(-60))).await;
    create_state(&env, "soon", "UUID", Some(in_seconds(3))).await;
    create_state(&env, "kept", "Password", None).await;
    create_state(&env, "grafana", "Grafana", Some(in_seconds(-60))).await;

    eventually("expired state deleted", || async {
        api.get_opt("expired")
            .await
            .unwrap()
            .is_none()
            .then_some(())
    })
    .await;
    // The future deadline is honoured: finalized, but still there right now.
    let soon = eventually("soon finalized", || async {
        api.get_opt("soon")
            .await
            .unwrap()
            .filter(|g| g.finalizers().iter().any(|f| f == FINALIZER))
    })
    .await;
    assert!(soon.metadata.deletion_timestamp.is_none());
    eventually("soon deleted after its deadline", || async {
        api.get_opt("soon").await.unwrap().is_none().then_some(())
    })
    .await;

    // A Grafana state's cleanup cannot run here: deletion is requested, the finalizer stays.
    let grafana = eventually("grafana deletion requested", || async {
        api.get_opt("grafana")
            .await
            .unwrap()
            .filter(|g| g.metadata.deletion_timestamp.is_some())
    })
    .await;
    assert_eq!(grafana.finalizers(), [FINALIZER.to_string()]);

    // No deadline: kept (and finalized, so a later deletion runs the cleanup).
    let kept = api.get("kept").await.unwrap();
    assert_eq!(kept.finalizers(), [FINALIZER.to_string()]);
    assert!(kept.metadata.deletion_timestamp.is_none());

    // Deleting it by hand goes through the cleanup and the finalizer is released.
    api.delete("kept", &Default::default()).await.unwrap();
    eventually("kept deleted", || async {
        api.get_opt("kept").await.unwrap().is_none().then_some(())
    })
    .await;
}

#[tokio::test]
async fn stateless_generators_leave_no_generator_state() {
    let env = Env::start().await;
    env.namespace("team-a").await;
    env.fake_store("team-a", "fake", &[]).await;
    let manifests = [
        json!({"apiVersion": "generators.external-secrets.io/v1alpha1", "kind": "Password",
               "metadata": {"name": "pw", "namespace": "team-a"}, "spec": {"length": 12}}),
        json!({"apiVersion": "generators.external-secrets.io/v1alpha1", "kind": "UUID",
               "metadata": {"name": "id", "namespace": "team-a"}, "spec": {}}),
    ];
    for m in manifests {
        let (kind, plural) = match m["kind"].as_str().unwrap() {
            "Password" => ("Password", "passwords"),
            _ => ("UUID", "uuids"),
        };
        let ar = kube::api::ApiResource {
            group: "generators.external-secrets.io".into(),
            version: "v1alpha1".into(),
            api_version: "generators.external-secrets.io/v1alpha1".into(),
            kind: kind.into(),
            plural: plural.into(),
        };
        Api::<kube::api::DynamicObject>::namespaced_with(env.client.clone(), "team-a", &ar)
            .create(&PostParams::default(), &serde_json::from_value(m).unwrap())
            .await
            .unwrap();
    }
    env.create_es(
        "team-a",
        "generated",
        json!({
            "refreshInterval": "1h",
            "secretStoreRef": {"name": "fake", "kind": "SecretStore"},
            "dataFrom": [{"sourceRef": {"generatorRef": {
                "apiVersion": "generators.external-secrets.io/v1alpha1",
                "kind": "Password", "name": "pw"}}}]
        }),
    )
    .await;
    let ps: PushSecret = serde_json::from_value(json!({
        "apiVersion": "external-secrets.io/v1alpha1", "kind": "PushSecret",
        "metadata": {"name": "rotate", "namespace": "team-a"},
        "spec": {
            "secretStoreRefs": [{"name": "fake", "kind": "SecretStore"}],
            "selector": {"generatorRef": {
                "apiVersion": "generators.external-secrets.io/v1alpha1",
                "kind": "UUID", "name": "id"}},
            "data": [{"match": {"secretKey": "uuid", "remoteRef": {"remoteKey": "app-id"}}}]
        }
    }))
    .unwrap();
    let ps_api: Api<PushSecret> = Api::namespaced(env.client.clone(), "team-a");
    ps_api.create(&PostParams::default(), &ps).await.unwrap();

    env.wait_ready("team-a", "generated", "True", "SecretSynced")
        .await;
    let secret = env.wait_secret("team-a", "generated", |_| true).await;
    assert_eq!(secret.data.unwrap()["password"].0.len(), 12);
    eventually("PushSecret synced", || async {
        let ps = ps_api.get("rotate").await.ok()?;
        ps.status?
            .conditions?
            .into_iter()
            .find(|c| c.type_ == "Ready" && c.reason.as_deref() == Some("Synced"))
    })
    .await;
    let states = Api::<GeneratorState>::namespaced(env.client.clone(), "team-a")
        .list(&Default::default())
        .await
        .unwrap();
    assert!(states.items.is_empty(), "{:?}", states.items);
}
