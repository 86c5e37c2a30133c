//! The SecretStore/ClusterSecretStore reconcilers against the simulator: Ready conditions and
//! reasons, capabilities, events, controller class, and no status write when nothing changed.

use std::time::Duration;

use controller::stores::{StoreConfig, run};
use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::api::events::v1::Event;
use kube::api::{ListParams, PostParams};
use kube::{Api, Client};
use serde_json::{Value, json};
use shared::api::v1::{ClusterSecretStore, SecretStore, SecretStoreStatus};
use tests::sim::Sim;
use tokio::sync::oneshot;

struct Running {
    sim: Sim,
    client: Client,
    _stop: oneshot::Sender<()>,
}

async fn start() -> Running {
    let sim = Sim::start().await.unwrap();
    sim.install_crds(&shared::api::all_crds()).await.unwrap();
    let client = sim.client();
    let n: Namespace = serde_json::from_value(json!({"metadata": {"name": "team-a"}})).unwrap();
    Api::<Namespace>::all(client.clone())
        .create(&PostParams::default(), &n)
        .await
        .unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let c = client.clone();
    tokio::spawn(async move {
        run(
            c,
            &StoreConfig::default(),
            Duration::from_secs(300),
            async move {
                let _ = stopped.await;
            },
        )
        .await;
    });
    Running {
        sim,
        client,
        _stop: stop,
    }
}

async fn create_store(client: &Client, name: &str, metadata: Value, spec: Value) {
    let mut meta = metadata;
    meta["name"] = json!(name);
    meta["namespace"] = json!("team-a");
    let store: SecretStore = serde_json::from_value(json!({
        "apiVersion": "external-secrets.io/v1", "kind": "SecretStore", "metadata": meta, "spec": spec
    }))
    .unwrap();
    Api::<SecretStore>::namespaced(client.clone(), "team-a")
        .create(&PostParams::default(), &store)
        .await
        .unwrap();
}

async fn status_eventually(client: &Client, name: &str) -> SecretStoreStatus {
    let api = Api::<SecretStore>::namespaced(client.clone(), "team-a");
    for _ in 0..200 {
        if let Some(status) = api.get(name).await.unwrap().status {
            return status;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("store {name} never got a status");
}

fn ready(status: &SecretStoreStatus) -> (String, String, String) {
    let c = status
        .conditions
        .iter()
        .flatten()
        .find(|c| c.type_ == "Ready")
        .expect("Ready condition");
    (
        c.status.clone(),
        c.reason.clone().unwrap_or_default(),
        c.message.clone().unwrap_or_default(),
    )
}

fn tuple(s: &str, r: &str, m: &str) -> (String, String, String) {
    (s.into(), r.into(), m.into())
}

/// Events about `name`, once `until` holds for them (or after 5 s).
async fn events_until(
    client: &Client,
    name: &str,
    until: impl Fn(&[(String, String)]) -> bool,
) -> Vec<(String, String)> {
    for _ in 0..200 {
        let events = event_reasons(client, "team-a", name).await;
        if until(&events) {
            return events;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    event_reasons(client, "team-a", name).await
}

fn has(events: &[(String, String)], type_: &str, reason: &str) -> bool {
    events.iter().any(|(t, r)| t == type_ && r == reason)
}

async fn event_reasons(client: &Client, ns: &str, name: &str) -> Vec<(String, String)> {
    Api::<Event>::namespaced(client.clone(), ns)
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .filter(|e| e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some(name))
        .map(|e| (e.type_.unwrap_or_default(), e.reason.unwrap_or_default()))
        .collect()
}

fn fake(extra: Value) -> Value {
    let mut fake = json!({"data": [{"key": "k", "value": "v"}]});
    if let (Some(f), Some(e)) = (fake.as_object_mut(), extra.as_object()) {
        f.extend(e.clone());
    }
    json!({"provider": {"fake": fake}})
}

#[tokio::test]
async fn valid_store_is_ready_with_capabilities_and_an_unmaintained_warning() {
    let rt = start().await;
    create_store(&rt.client, "valid", json!({}), fake(json!({}))).await;
    let status = status_eventually(&rt.client, "valid").await;
    assert_eq!(ready(&status), tuple("True", "Valid", "store validated"));
    assert_eq!(
        serde_json::to_value(status.capabilities).unwrap(),
        json!("ReadWrite")
    );
    let events = events_until(&rt.client, "valid", |e| {
        has(e, "Warning", "StoreUnmaintained") && has(e, "Normal", "Valid")
    })
    .await;
    assert!(has(&events, "Warning", "StoreUnmaintained"), "{events:?}");
    assert!(has(&events, "Normal", "Valid"), "{events:?}");
}

#[tokio::test]
async fn ignore_maintenance_annotation_silences_the_warning() {
    let rt = start().await;
    create_store(
        &rt.client,
        "quiet",
        json!({"annotations": {"external-secrets.io/ignore-maintenance-checks": "true"}}),
        fake(json!({})),
    )
    .await;
    status_eventually(&rt.client, "quiet").await;
    // The Valid event is published after the maintenance check would have been.
    let events = events_until(&rt.client, "quiet", |e| has(e, "Normal", "Valid")).await;
    assert!(has(&events, "Normal", "Valid"), "{events:?}");
    assert!(
        !events.iter().any(|(_, r)| r == "StoreUnmaintained"),
        "{events:?}"
    );
}

#[tokio::test]
async fn invalid_provider_configs_are_not_ready() {
    let rt = start().await;
    create_store(
        &rt.client,
        "unsupported",
        json!({}),
        json!({"provider": {"doppler": {}}}),
    )
    .await;
    create_store(
        &rt.client,
        "failing",
        json!({}),
        fake(json!({"validationResult": 2})),
    )
    .await;
    create_store(
        &rt.client,
        "unknown",
        json!({}),
        fake(json!({"validationResult": 1})),
    )
    .await;
    assert_eq!(
        ready(&status_eventually(&rt.client, "unsupported").await),
        tuple(
            "False",
            "InvalidProviderConfig",
            "unable to create client: provider doppler is not supported by this operator"
        )
    );
    // ESO's fixed message, then the provider's reason, so `kubectl get` shows why.
    let (status, reason, message) = ready(&status_eventually(&rt.client, "failing").await);
    assert_eq!(
        (status.as_str(), reason.as_str()),
        ("False", "InvalidProviderConfig")
    );
    assert!(
        message.starts_with("unable to validate store: "),
        "{message}"
    );
    assert!(
        message.len() > "unable to validate store: ".len(),
        "{message}"
    );
    assert_eq!(
        ready(&status_eventually(&rt.client, "unknown").await),
        tuple(
            "True",
            "ValidationUnknown",
            "could not determine validation status"
        )
    );
    let events = events_until(&rt.client, "unsupported", |e| {
        has(e, "Warning", "InvalidProviderConfig")
    })
    .await;
    assert!(
        has(&events, "Warning", "InvalidProviderConfig"),
        "{events:?}"
    );
}

#[tokio::test]
async fn store_of_another_controller_class_is_left_alone() {
    let rt = start().await;
    create_store(&rt.client, "theirs", json!({}), {
        let mut s = fake(json!({}));
        s["controller"] = json!("other");
        s
    })
    .await;
    create_store(&rt.client, "ours", json!({}), fake(json!({}))).await;
    // Once ours is done, theirs has had its chance too.
    status_eventually(&rt.client, "ours").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let theirs = Api::<SecretStore>::namespaced(rt.client.clone(), "team-a")
        .get("theirs")
        .await
        .unwrap();
    assert!(theirs.status.is_none());
}

#[tokio::test]
async fn revalidation_without_change_writes_no_status() {
    let rt = start().await;
    // A Kubernetes store validates with a SelfSubjectRulesReview, so each refresh is visible
    // in the simulator's request counters.
    let spec =
        json!({"refreshInterval": "1s", "provider": {"kubernetes": {"remoteNamespace": "team-a"}}});
    create_store(&rt.client, "steady", json!({}), spec).await;
    let first = status_eventually(&rt.client, "steady").await;
    let writes = || {
        rt.sim
            .counters()
            .writes
            .iter()
            .filter(|(k, _)| k.contains("secretstores") && k.ends_with("/team-a/steady"))
            .map(|(_, n)| *n)
            .sum::<u64>()
    };
    let after_first = writes();
    let reviews = || {
        rt.sim
            .counters()
            .requests_for("create", "selfsubjectrulesreviews.authorization.k8s.io")
    };
    let reviews_before = reviews();
    tokio::time::sleep(Duration::from_millis(3200)).await;
    assert!(
        reviews() >= reviews_before + 2,
        "store was not revalidated: {:?}",
        rt.sim.counters().requests
    );
    assert_eq!(writes(), after_first, "status rewritten without a change");
    let now = status_eventually(&rt.client, "steady").await;
    assert_eq!(
        now, first,
        "lastTransitionTime and everything else unchanged"
    );
}

#[tokio::test]
async fn cluster_store_is_validated_too() {
    let rt = start().await;
    let store: ClusterSecretStore = serde_json::from_value(json!({
        "apiVersion": "external-secrets.io/v1", "kind": "ClusterSecretStore",
        "metadata": {"name": "css"}, "spec": fake(json!({}))
    }))
    .unwrap();
    let api = Api::<ClusterSecretStore>::all(rt.client.clone());
    api.create(&PostParams::default(), &store).await.unwrap();
    for _ in 0..200 {
        if let Some(status) = api.get("css").await.unwrap().status {
            assert_eq!(ready(&status), tuple("True", "Valid", "store validated"));
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("cluster store never got a status");
}
