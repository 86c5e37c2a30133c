//! GeneratorState garbage collection (reference §4.6, ESO's `pkg/controllers/generatorstate`):
//! every GeneratorState gets finalizer `generatorstate.externalsecrets.io/finalizer`; once its
//! `spec.garbageCollectionDeadline` has passed it is deleted, and the finalizer is only dropped
//! after the generator's cleanup ran for `spec.resource` and `spec.state`.
//!
//! Which GeneratorStates exist: ESO writes one only for a generator run that returns state.
//! The generators this operator implements (Password, UUID, Fake, and ClusterGenerators wrapping
//! them) are stateless in ESO too, so this operator never writes one; the objects it collects
//! come from elsewhere (Go ESO before a migration, or users). For kinds whose cleanup is a no-op
//! in ESO and implemented here the finalizer goes right away; for any other kind the cleanup
//! cannot run, so the finalizer stays (deleting the object would silently leak whatever
//! credential the state describes) and the reconcile retries with a warning.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::jiff::Timestamp;
use kube::api::DeleteParams;
use kube::runtime::controller::{Action, Controller};
use kube::runtime::watcher;
use kube::{Api, Client, ResourceExt};
use serde_json::Value;
use shared::api::generators::{FINALIZER, GeneratorState};

use crate::context::set_finalizer;

/// Why a GeneratorState reconcile failed (ESO's messages).
#[derive(Debug, thiserror::Error)]
pub enum GcError {
    #[error("could not update finalizers: {0}")]
    Finalizer(#[source] kube::Error),
    #[error("could not get generator: {0}")]
    Generator(String),
    #[error("could not delete GeneratorState: {0}")]
    Delete(#[source] kube::Error),
}

/// Runs the generator's cleanup for a state produced from `resource` (the generator manifest
/// snapshot). The generators implemented here keep no remote resources, so theirs is a no-op.
pub fn cleanup(resource: &Value) -> Result<(), String> {
    let kind = resource
        .get("kind")
        .and_then(Value::as_str)
        .filter(|k| !k.is_empty())
        .ok_or("unable to unmarshal resource: kind is missing")?;
    match kind {
        "Password" | "UUID" | "Fake" => Ok(()),
        other => Err(format!(
            "generator {other} is not implemented by this operator, its cleanup cannot run"
        )),
    }
}

/// What a reconcile of `gs` at `now` has to do next.
#[derive(Debug, PartialEq, Eq)]
pub enum Step {
    /// Add the finalizer.
    AddFinalizer,
    /// Run the cleanup, then drop the finalizer.
    Cleanup,
    /// The deadline passed: delete the object.
    Delete,
    /// Come back at the deadline.
    WaitFor(Duration),
    /// Nothing until the object changes.
    Idle,
}

/// ESO's order: finalizer handling first, then the deadline.
pub fn next_step(gs: &GeneratorState, now: Timestamp) -> Step {
    let has_finalizer = gs.finalizers().iter().any(|f| f == FINALIZER);
    let deleting = gs.metadata.deletion_timestamp.is_some();
    if !deleting && !has_finalizer {
        return Step::AddFinalizer;
    }
    if deleting && has_finalizer {
        return Step::Cleanup;
    }
    let Some(deadline) = &gs.spec.garbage_collection_deadline else {
        return Step::Idle;
    };
    let left = deadline.0.as_millisecond() - now.as_millisecond();
    if left < 0 {
        if deleting { Step::Idle } else { Step::Delete }
    } else {
        // Just after the deadline, so the next pass deletes.
        Step::WaitFor(Duration::from_millis(left.unsigned_abs() + 10))
    }
}

struct Ctx {
    client: Client,
}

async fn reconcile(gs: Arc<GeneratorState>, ctx: Arc<Ctx>) -> Result<Action, GcError> {
    let ns = gs.namespace().unwrap_or_default();
    let api: Api<GeneratorState> = Api::namespaced(ctx.client.clone(), &ns);
    match next_step(&gs, Timestamp::now()) {
        Step::AddFinalizer => {
            set_finalizer(&api, gs.as_ref(), FINALIZER, true)
                .await
                .map_err(GcError::Finalizer)?;
            // The write comes back through the watch.
            Ok(Action::await_change())
        }
        Step::Cleanup => {
            cleanup(&gs.spec.resource).map_err(GcError::Generator)?;
            set_finalizer(&api, gs.as_ref(), FINALIZER, false)
                .await
                .map_err(GcError::Finalizer)?;
            Ok(Action::await_change())
        }
        Step::Delete => match api.delete(&gs.name_any(), &DeleteParams::default()).await {
            Ok(_) => Ok(Action::await_change()),
            Err(kube::Error::Api(s)) if s.code == 404 => Ok(Action::await_change()),
            Err(e) => Err(GcError::Delete(e)),
        },
        Step::WaitFor(d) => Ok(Action::requeue(d)),
        Step::Idle => Ok(Action::await_change()),
    }
}

fn error_policy(gs: Arc<GeneratorState>, err: &GcError, _ctx: Arc<Ctx>) -> Action {
    tracing::warn!(name = %gs.name_any(), namespace = ?gs.namespace(), error = %err, "generator state reconcile failed");
    Action::requeue(Duration::from_secs(30))
}

/// Runs the GeneratorState controller (all namespaces, or only `namespace`) until `shutdown`.
pub async fn run(
    client: Client,
    namespace: Option<String>,
    shutdown: impl Future<Output = ()> + Send + Sync + 'static,
) {
    let api: Api<GeneratorState> = match &namespace {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    };
    Controller::new(api, watcher::Config::default())
        .graceful_shutdown_on(shutdown)
        .run(reconcile, error_policy, Arc::new(Ctx { client }))
        .for_each(|_| futures::future::ready(()))
        .await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
    use serde_json::json;
    use shared::api::generators::GeneratorStateSpec;

    fn ts(s: i64) -> Timestamp {
        Timestamp::from_second(s).unwrap()
    }

    fn gs(finalizer: bool, deleting: bool, deadline: Option<i64>) -> GeneratorState {
        let mut g = GeneratorState::new(
            "gen-x",
            GeneratorStateSpec {
                garbage_collection_deadline: deadline.map(|d| Time(ts(d))),
                resource: json!({"kind": "Password"}),
                state: json!({}),
            },
        );
        if finalizer {
            g.metadata.finalizers = Some(vec![FINALIZER.into()]);
        }
        if deleting {
            g.metadata.deletion_timestamp = Some(Time(ts(1)));
        }
        g
    }

    #[test]
    fn steps_follow_esos_order() {
        let now = ts(1000);
        assert_eq!(
            next_step(&gs(false, false, Some(1)), now),
            Step::AddFinalizer
        );
        assert_eq!(next_step(&gs(true, true, Some(1)), now), Step::Cleanup);
        assert_eq!(next_step(&gs(true, false, None), now), Step::Idle);
        assert_eq!(next_step(&gs(true, false, Some(999)), now), Step::Delete);
        assert_eq!(
            next_step(&gs(true, false, Some(1060)), now),
            Step::WaitFor(Duration::from_millis(60_010))
        );
        // Someone else's finalizer holds it: nothing more to do.
        assert_eq!(next_step(&gs(false, true, Some(1)), now), Step::Idle);
    }

    #[test]
    fn only_known_stateless_generators_clean_up_without_work() {
        for kind in ["Password", "UUID", "Fake"] {
            assert_eq!(cleanup(&json!({"kind": kind})), Ok(()));
        }
        let err = cleanup(&json!({"kind": "Grafana"})).unwrap_err();
        assert!(err.contains("Grafana"), "{err}");
        assert!(cleanup(&json!({})).is_err());
    }
}
