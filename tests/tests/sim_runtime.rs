//! kube-runtime against kubesim: watcher, reflector and Controller on a small test CRD, and a
//! watcher's clean relist after its resourceVersion was compacted away (410 Gone).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, ApiResource, DynamicObject, Patch, PatchParams, PostParams};
use kube::runtime::controller::Action;
use kube::runtime::{Controller, reflector, watcher};
use serde_json::json;
use tests::sim::Sim;

fn counter_crd() -> CustomResourceDefinition {
    serde_json::from_value(json!({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "counters.test.kubesim.io"},
        "spec": {"group": "test.kubesim.io", "scope": "Namespaced",
            "names": {"plural": "counters", "singular": "counter", "kind": "Counter", "listKind": "CounterList"},
            "versions": [{"name": "v1", "served": true, "storage": true, "subresources": {"status": {}},
                "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                    "spec": {"type": "object", "properties": {
                        "value": {"type": "integer"},
                        "mode": {"type": "string", "default": "auto"}}},
                    "status": {"type": "object", "properties": {"observed": {"type": "integer"}}}}}}}]}
    }))
    .unwrap()
}

fn counters() -> ApiResource {
    ApiResource {
        group: "test.kubesim.io".into(),
        version: "v1".into(),
        api_version: "test.kubesim.io/v1".into(),
        kind: "Counter".into(),
        plural: "counters".into(),
    }
}

async fn setup() -> (Sim, Api<DynamicObject>) {
    let sim = Sim::start().await.unwrap();
    sim.install_crds(&[counter_crd()]).await.unwrap();
    let ns: Namespace = serde_json::from_value(json!({"metadata": {"name": "rt"}})).unwrap();
    Api::<Namespace>::all(sim.client())
        .create(&PostParams::default(), &ns)
        .await
        .unwrap();
    let api = Api::namespaced_with(sim.client(), "rt", &counters());
    (sim, api)
}

fn counter(name: &str, value: i64) -> DynamicObject {
    DynamicObject::new(name, &counters()).data(json!({"spec": {"value": value}}))
}

async fn eventually<F: Fn() -> bool>(what: &str, f: F) {
    for _ in 0..100 {
        if f() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}");
}

#[tokio::test]
async fn controller_reconciles_counters_and_writes_status() {
    let (_sim, api) = setup().await;
    api.create(&PostParams::default(), &counter("a", 1))
        .await
        .unwrap();
    let reconciles = Arc::new(AtomicUsize::new(0));
    let ctx = Arc::new((api.clone(), reconciles.clone()));
    let controller = Controller::new_with(api.clone(), watcher::Config::default(), counters())
        .run(
            |obj: Arc<DynamicObject>, ctx: Arc<(Api<DynamicObject>, Arc<AtomicUsize>)>| async move {
                ctx.1.fetch_add(1, Ordering::SeqCst);
                let value = obj.data["spec"]["value"].as_i64().unwrap_or(0);
                let name = obj.metadata.name.clone().unwrap_or_default();
                let status = json!({"apiVersion": "test.kubesim.io/v1", "kind": "Counter",
                    "metadata": {"name": name}, "status": {"observed": value}});
                ctx.0
                    .patch_status(
                        &name,
                        &PatchParams::apply("counter-ctl"),
                        &Patch::Apply(&status),
                    )
                    .await?;
                Ok::<_, kube::Error>(Action::await_change())
            },
            |_obj, _err: &kube::Error, _ctx| Action::requeue(Duration::from_millis(200)),
            ctx,
        )
        .for_each(|_| async {});
    let handle = tokio::spawn(controller);
    let observed = |api: Api<DynamicObject>, name: &'static str| async move {
        api.get(name)
            .await
            .ok()
            .and_then(|o| o.data["status"]["observed"].as_i64())
    };
    for _ in 0..100 {
        if observed(api.clone(), "a").await == Some(1) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(observed(api.clone(), "a").await, Some(1));
    // The schema default was applied on create.
    assert_eq!(api.get("a").await.unwrap().data["spec"]["mode"], "auto");
    // A spec change triggers another reconcile; the status write itself is a no-op for the
    // controller's purposes (it settles instead of looping).
    api.patch(
        "a",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"value": 5}})),
    )
    .await
    .unwrap();
    for _ in 0..100 {
        if observed(api.clone(), "a").await == Some(5) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(observed(api.clone(), "a").await, Some(5));
    api.create(&PostParams::default(), &counter("b", 7))
        .await
        .unwrap();
    for _ in 0..100 {
        if observed(api.clone(), "b").await == Some(7) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(observed(api.clone(), "b").await, Some(7));
    tokio::time::sleep(Duration::from_millis(500)).await;
    let n = reconciles.load(Ordering::SeqCst);
    assert!((3..=8).contains(&n), "reconciles: {n}");
    handle.abort();
}

#[tokio::test]
async fn reflector_store_follows_changes() {
    let (_sim, api) = setup().await;
    let writer = reflector::store::Writer::<DynamicObject>::new(counters());
    let reader = writer.as_reader();
    let stream = reflector(writer, watcher(api.clone(), watcher::Config::default()));
    let handle = tokio::spawn(stream.for_each(|_| async {}));
    api.create(&PostParams::default(), &counter("x", 1))
        .await
        .unwrap();
    api.create(&PostParams::default(), &counter("y", 2))
        .await
        .unwrap();
    eventually("both objects in the store", || reader.state().len() == 2).await;
    api.delete("x", &Default::default()).await.unwrap();
    eventually("deletion seen by the store", || reader.state().len() == 1).await;
    handle.abort();
}

#[tokio::test]
async fn watcher_relists_after_its_resource_version_is_compacted() {
    let (sim, api) = setup().await;
    api.create(&PostParams::default(), &counter("before", 1))
        .await
        .unwrap();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let w = watcher(api.clone(), watcher::Config::default()).for_each(move |e| {
        let _ = tx.send(e);
        async {}
    });
    let handle = tokio::spawn(w);
    let mut inits = 0;
    let mut errors = 0;
    let mut seen_after = false;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while tokio::time::Instant::now() < deadline {
        let Ok(Some(e)) = tokio::time::timeout(Duration::from_secs(5), rx.recv()).await else {
            break;
        };
        match e {
            Ok(watcher::Event::InitDone) => {
                inits += 1;
                if inits == 1 {
                    api.create(&PostParams::default(), &counter("after", 2))
                        .await
                        .unwrap();
                    // Let the watch deliver it, then compact: the watch ends and resuming
                    // from its last resourceVersion is refused.
                    tokio::time::sleep(Duration::from_millis(300)).await;
                    sim.compact();
                }
            }
            Ok(watcher::Event::InitApply(o)) if inits == 1 => {
                seen_after |= o.metadata.name.as_deref() == Some("after");
            }
            Ok(_) => {}
            Err(_) => errors += 1,
        }
        if inits >= 2 {
            break;
        }
    }
    handle.abort();
    assert!(
        inits >= 2,
        "the watcher relisted (inits: {inits}, errors: {errors})"
    );
    assert!(errors >= 1, "the 410 reached the watcher as an error");
    assert!(seen_after, "the relist contains the current state");
}
