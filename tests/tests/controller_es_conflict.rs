//! A status write that loses a race with another writer (409 Conflict) must not leave the
//! ExternalSecret's status behind: the controller retries soon and records the sync, instead of
//! treating the sync as done and waiting for the next refresh interval.
//!
//! The other writer is simulated inside the API server: an admission hook stores a new version
//! of the ExternalSecret between the server's read and its write of a status update, so the
//! update fails with 409 exactly as a concurrent write from another client would make it.

#[path = "controller_es_support.rs"]
mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::{Value, json};
use support::*;
use tests::sim::hooks::{AdmissionResult, BoxFut};
use tests::sim::{Admission, AdmissionAttrs, Shared};

/// Bumps the resourceVersion of ExternalSecret `ns/name` during its next `remaining` status
/// updates, and counts how often it did.
struct RacingWriter {
    inner: Arc<dyn Admission>,
    shared: Arc<Shared>,
    ns: String,
    name: String,
    remaining: AtomicUsize,
    fired: AtomicUsize,
}

impl RacingWriter {
    fn race(&self, attrs: &AdmissionAttrs) {
        let ours = attrs.resource.plural == "externalsecrets"
            && attrs.operation == "UPDATE"
            && attrs.sub_resource == "status"
            && attrs.namespace == self.ns
            && attrs.name == self.name;
        if !ours
            || self
                .remaining
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_err()
        {
            return;
        }
        let key = (
            attrs.resource.storage.clone(),
            attrs.namespace.clone(),
            attrs.name.clone(),
        );
        let mut state = self.shared.lock();
        if let Some(current) = state.store.get(&key).cloned() {
            // Same content, new resourceVersion: a write the controller's predicate ignores,
            // so nothing but the conflict handling can bring the sync to an end.
            state.store.put(key, current);
            self.fired.fetch_add(1, Ordering::SeqCst);
        }
    }
}

impl Admission for RacingWriter {
    fn mutate<'a>(
        &'a self,
        attrs: &'a AdmissionAttrs,
        object: &'a mut Option<Value>,
    ) -> BoxFut<'a, AdmissionResult> {
        self.race(attrs);
        self.inner.mutate(attrs, object)
    }

    fn validate<'a>(
        &'a self,
        attrs: &'a AdmissionAttrs,
        object: &'a Option<Value>,
    ) -> BoxFut<'a, AdmissionResult> {
        self.inner.validate(attrs, object)
    }
}

fn synced_version(es: &shared::api::v1::ExternalSecret) -> Option<String> {
    es.status.as_ref()?.synced_resource_version.clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn force_sync_after_status_write_conflicts_reaches_the_new_state_promptly() {
    let env = Env::start().await;
    env.namespace("apps").await;
    env.fake_store("apps", "fake", &[("k", "one")]).await;
    env.create_es(
        "apps",
        "raced",
        json!({
            // Long enough that only the conflict handling, not a periodic refresh, can finish
            // the sync within the deadline below.
            "refreshInterval": "1h",
            "secretStoreRef": {"name": "fake"},
            "data": [{"secretKey": "key", "remoteRef": {"key": "k"}}]
        }),
    )
    .await;
    let before = env
        .wait_ready("apps", "raced", "True", "SecretSynced")
        .await;
    let before_version = synced_version(&before).expect("synced version");
    let before_time = before
        .status
        .as_ref()
        .and_then(|s| s.refresh_time.clone())
        .expect("refresh time");

    // Status times are whole seconds: the forced sync must fall into a later second than the
    // first one, as it does when a user forces a sync of an ExternalSecret synced a while ago.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    env.fake_store("apps", "fake", &[("k", "two")]).await;
    let racer = Arc::new(RacingWriter {
        inner: env.sim.shared().admission(),
        shared: env.sim.shared().clone(),
        ns: "apps".into(),
        name: "raced".into(),
        // Two in a row: the retry after the first conflict conflicts as well.
        remaining: AtomicUsize::new(2),
        fired: AtomicUsize::new(0),
    });
    env.sim.set_admission(racer.clone());
    env.patch_es(
        "apps",
        "raced",
        json!({"metadata": {"annotations": {"external-secrets.io/force-sync": "now"}}}),
    )
    .await;

    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let es = env.get_es("apps", "raced").await.expect("es");
        let secret = env.secret("apps", "raced").await.expect("secret");
        let status = es.status.clone().unwrap_or_default();
        let ready = status
            .conditions
            .iter()
            .flatten()
            .any(|c| c.type_ == "Ready" && c.status == "True");
        let new_version = synced_version(&es).is_some_and(|v| v != before_version);
        let newer_time = status
            .refresh_time
            .as_ref()
            .is_some_and(|t| t.0 > before_time.0);
        if ready && new_version && newer_time && data_of(&secret) == kv(&[("key", "two")]) {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "ExternalSecret did not record the forced sync within 15 s after {} conflicts: \
             status {status:?}, secret data {:?}",
            racer.fired.load(Ordering::SeqCst),
            data_of(&secret)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        racer.fired.load(Ordering::SeqCst),
        2,
        "both status writes met a concurrent write"
    );
}
