//! The PushSecret reconciler (reference §4.2): writes a local Secret, or a generator's output,
//! to one or more stores.
//!
//! Differences from ESO, on purpose: the source Secrets are watched, so a change is pushed
//! within seconds (the refresh interval stays as a backstop); stale remote entries are computed
//! against the union of all selected Secrets, not per Secret (ESO deletes entries belonging to
//! sibling Secrets). Stateless generators (Password, UUID, Fake) are supported and leave no
//! GeneratorState behind, as in ESO; stateful generators are not implemented.

mod plan;
mod reconcile;
mod source;
mod status;
mod store_finalizer;
mod stores;

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::core::v1::Secret;
use kube::core::{PartialObjectMeta, Selector, SelectorExt};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::events::Reporter;
use kube::runtime::reflector::{ObjectRef, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Client, ResourceExt};
use shared::api::v1alpha1::PushSecret;

pub use plan::{
    PlanError, PlannedPush, StoreTarget, check_data_to_selectors, parse_store_status_key,
    plan_store, stale_entries, store_status_key, validate_data_to,
};
pub use reconcile::{PushError, ReconcileError};
pub use source::{SourceError, apply_template};
pub use status::{Gate, merge_patch_diff, refresh_gate};
pub use store_finalizer::{
    STORE_FINALIZER, StoreFinalizerChange, named_stores, selects_by_labels, store_finalizer_change,
    store_needs_finalizer,
};

use crate::stores::{ClientCache, StoreIndex};

/// Finalizer on PushSecrets with `deletionPolicy: Delete`.
pub const FINALIZER: &str = "pushsecret.externalsecrets.io/finalizer";
/// Ready message after a successful push.
pub const MSG_SYNCED: &str = "PushSecret synced successfully";
/// Ready message when `IfNotExists` left at least one existing remote value alone.
pub const MSG_SYNCED_IF_NOT_EXISTS: &str =
    "PushSecret synced successfully. Existing secrets in providers unchanged.";
/// Event recorder name (ESO's).
pub const RECORDER: &str = "pushsecret";

/// Settings of the PushSecret reconciler.
#[derive(Clone, Debug, Default)]
pub struct PushSecretConfig {
    /// `--namespace`: watch PushSecrets (and Secrets) in this namespace only.
    pub namespace: Option<String>,
}

/// The PushSecrets in `store` that read `secret`: same namespace, selected by name or labels.
fn selecting(store: &Store<PushSecret>, secret: &impl ResourceExt) -> Vec<ObjectRef<PushSecret>> {
    let ns = secret.namespace();
    let name = secret.name_any();
    let labels = secret.labels();
    store
        .state()
        .iter()
        .filter(|ps| ps.namespace() == ns)
        .filter(|ps| {
            let Some(sel) = &ps.spec.selector.secret else {
                return false;
            };
            if let Some(n) = sel.name.as_deref().filter(|n| !n.is_empty()) {
                return n == name;
            }
            sel.selector
                .clone()
                .and_then(|s| Selector::try_from(s).ok())
                .is_some_and(|s| s.matches(labels))
        })
        .map(|ps| ObjectRef::from_obj(ps.as_ref()))
        .collect()
}

/// Runs the PushSecret reconciler until `shutdown` resolves. `index` must be running (see
/// [`StoreIndex::start`]); `clients` is shared with the other reconcilers.
pub async fn run(
    client: Client,
    index: StoreIndex,
    clients: ClientCache,
    cfg: PushSecretConfig,
    shutdown: impl Future<Output = ()> + Send + Sync + 'static,
) {
    let (ps_api, secret_api): (Api<PushSecret>, Api<PartialObjectMeta<Secret>>) =
        match &cfg.namespace {
            Some(ns) => (
                Api::namespaced(client.clone(), ns),
                Api::namespaced(client.clone(), ns),
            ),
            None => (Api::all(client.clone()), Api::all(client.clone())),
        };
    let ctx = Arc::new(reconcile::Ctx {
        client: client.clone(),
        index,
        clients,
        recorder: crate::events::BoundedRecorder::new(
            client,
            Reporter {
                controller: RECORDER.into(),
                instance: None,
            },
        ),
        fingerprints: Mutex::new(HashMap::new()),
        failures: Mutex::new(HashMap::new()),
    });
    let controller = Controller::new(ps_api, watcher::Config::default());
    let store = controller.store();
    controller
        // Selection needs only names and labels: metadata events instead of every Secret's
        // data (all Secrets of the cluster pass through this watch).
        .watches_stream(
            watcher(secret_api, watcher::Config::default()).touched_objects(),
            move |secret| selecting(&store, &secret),
        )
        .graceful_shutdown_on(shutdown)
        .run(reconcile::reconcile, error_policy, ctx)
        .for_each(|_| futures::future::ready(()))
        .await;
}

fn error_policy(ps: Arc<PushSecret>, err: &ReconcileError, _ctx: Arc<reconcile::Ctx>) -> Action {
    tracing::warn!(name = %ps.name_any(), namespace = ?ps.namespace(), error = %err, "push secret reconcile failed");
    Action::requeue(Duration::from_secs(5))
}
