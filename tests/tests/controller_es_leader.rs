//! Lease-based leader election against the simulator: one leader at a time, fast hand-over on
//! release.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use controller::leader::{LeaderConfig, release, run_leading, try_acquire_or_renew};
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::Namespace;
use kube::Api;
use kube::api::PostParams;
use tests::sim::Sim;

async fn sim_with_namespace() -> Sim {
    let sim = Sim::start().await.expect("simulator");
    let ns: Namespace = serde_json::from_value(serde_json::json!({
        "apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "eso"}
    }))
    .expect("namespace");
    Api::<Namespace>::all(sim.client())
        .create(&PostParams::default(), &ns)
        .await
        .expect("create namespace");
    sim
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_one_candidate_holds_the_lease_until_it_is_released() {
    let sim = sim_with_namespace().await;
    let api: Api<Lease> = Api::namespaced(sim.client(), "eso");
    let a = LeaderConfig::new("external-secrets-controller", "eso", "a");
    let b = LeaderConfig::new("external-secrets-controller", "eso", "b");
    assert!(try_acquire_or_renew(&api, &a).await.expect("a acquires"));
    assert!(!try_acquire_or_renew(&api, &b).await.expect("b waits"));
    assert!(try_acquire_or_renew(&api, &a).await.expect("a renews"));
    release(&api, &a).await.expect("release");
    assert!(try_acquire_or_renew(&api, &b).await.expect("b takes over"));
    let lease = api.get("external-secrets-controller").await.expect("lease");
    let spec = lease.spec.expect("spec");
    assert_eq!(spec.holder_identity.as_deref(), Some("b"));
    assert_eq!(spec.lease_transitions, Some(1));
    assert_eq!(spec.lease_duration_seconds, Some(15));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn standby_runs_only_after_the_leader_shuts_down() {
    let sim = sim_with_namespace().await;
    let mut fast = LeaderConfig::new("lease", "eso", "leader");
    fast.retry_period = Duration::from_millis(100);
    let mut standby_cfg = fast.clone();
    standby_cfg.identity = "standby".into();

    let (stop_leader, leader_stop) = tokio::sync::oneshot::channel::<()>();
    let leading = Arc::new(AtomicBool::new(false));
    let flag = leading.clone();
    let leader = tokio::spawn(run_leading(
        sim.client(),
        fast,
        async move {
            let _ = leader_stop.await;
        },
        move |mut stop| async move {
            flag.store(true, Ordering::SeqCst);
            let _ = stop.wait_for(|s| *s).await;
            flag.store(false, Ordering::SeqCst);
        },
    ));
    while !leading.load(Ordering::SeqCst) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let standby_ran = Arc::new(AtomicBool::new(false));
    let ran = standby_ran.clone();
    let leader_active = leading.clone();
    let (stop_standby, standby_stop) = tokio::sync::oneshot::channel::<()>();
    let standby = tokio::spawn(run_leading(
        sim.client(),
        standby_cfg,
        async move {
            let _ = standby_stop.await;
        },
        move |_stop| async move {
            // Never two leaders at once.
            assert!(!leader_active.load(Ordering::SeqCst));
            ran.store(true, Ordering::SeqCst);
        },
    ));
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!standby_ran.load(Ordering::SeqCst), "standby must wait");
    let _ = stop_leader.send(());
    leader
        .await
        .expect("leader task")
        .expect("leader releases cleanly");
    // The lease was released, so the standby does not wait for the 15 s expiry.
    tokio::time::timeout(Duration::from_secs(10), async {
        while !standby_ran.load(Ordering::SeqCst) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("standby takes over after release");
    let _ = stop_standby.send(());
    let _ = standby.await;
}
