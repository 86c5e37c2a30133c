//! The SecretStore and ClusterSecretStore reconcilers: build a provider client, validate it,
//! report the result in `status` (written only when it changed) and as events, and requeue after
//! the store's refresh interval.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::{FutureExt, StreamExt};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::{Patch, PatchParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::events::{Event, EventType, Reporter};
use kube::runtime::reflector::{ObjectRef, Store};
use kube::runtime::watcher;
use kube::{Api, Client, Resource, ResourceExt};
use metrics::gauge;
use serde::de::DeserializeOwned;
use shared::api::v1::{
    ANNOTATION_IGNORE_MAINTENANCE_CHECKS, ClusterSecretStore, REASON_STORE_DEPRECATED,
    REASON_STORE_UNMAINTAINED, SecretStore, SecretStoreKind, SecretStoreSpec, SecretStoreStatus,
};
use shared::api::v1alpha1::PushSecret;
use shared::duration::{GoDuration, store_refresh_interval};

use super::StoreConfig;
use super::policy::NamespacePolicies;
use super::status::{Outcome, desired_status, status_changed};
use crate::events::BoundedRecorder;
use crate::provider::{ClientContext, Maintenance, StoreInfo, ValidationResult, registry};
use crate::pushsecret;

/// `--store-requeue-interval` default.
pub const DEFAULT_STORE_REQUEUE: Duration = Duration::from_secs(300);
/// Retry delay after a failed validation (ESO backs off exponentially; a fixed, short delay
/// keeps a fixed store from waiting long).
const FAILURE_REQUEUE: Duration = Duration::from_secs(30);

/// What the reconciler needs from either store kind.
trait StoreObject:
    Resource<DynamicType = ()> + Clone + std::fmt::Debug + DeserializeOwned + Send + Sync + 'static
{
    const KIND: SecretStoreKind;
    const METRIC_PREFIX: &'static str;
    fn store_spec(&self) -> &SecretStoreSpec;
    fn store_status(&self) -> Option<&SecretStoreStatus>;
    fn api(client: Client, namespace: Option<&str>) -> Api<Self>;
}

impl StoreObject for SecretStore {
    const KIND: SecretStoreKind = SecretStoreKind::SecretStore;
    const METRIC_PREFIX: &'static str = "secretstore";
    fn store_spec(&self) -> &SecretStoreSpec {
        &self.spec
    }
    fn store_status(&self) -> Option<&SecretStoreStatus> {
        self.status.as_ref()
    }
    fn api(client: Client, namespace: Option<&str>) -> Api<Self> {
        Api::namespaced(client, namespace.unwrap_or_default())
    }
}

impl StoreObject for ClusterSecretStore {
    const KIND: SecretStoreKind = SecretStoreKind::ClusterSecretStore;
    const METRIC_PREFIX: &'static str = "clustersecretstore";
    fn store_spec(&self) -> &SecretStoreSpec {
        &self.spec.0
    }
    fn store_status(&self) -> Option<&SecretStoreStatus> {
        self.status.as_ref()
    }
    fn api(client: Client, _namespace: Option<&str>) -> Api<Self> {
        Api::all(client)
    }
}

struct Ctx {
    client: Client,
    cfg: StoreConfig,
    requeue: Duration,
    recorder: BoundedRecorder,
    /// Manage the PushSecret store finalizer (only when the PushSecret reconciler runs).
    push_finalizers: bool,
    /// Namespace policies (role annotations) of SecretStore namespaces.
    policies: NamespacePolicies,
}

#[derive(Debug, thiserror::Error)]
enum ReconcileError {
    #[error("writing store status: {0}")]
    Status(#[source] kube::Error),
    #[error("managing the PushSecret store finalizer: {0}")]
    Finalizer(#[source] kube::Error),
    #[error("reading the store's namespace policy: {0}")]
    Namespace(#[source] kube::Error),
}

/// Runs the SecretStore reconciler (and the ClusterSecretStore one when enabled) until
/// `shutdown` resolves.
pub async fn run(
    client: Client,
    cfg: &StoreConfig,
    store_requeue: Duration,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    run_with_push_finalizers(client, cfg, store_requeue, false, shutdown).await
}

/// [`run`], plus (when `push_finalizers`) the PushSecret store finalizer: stores keep
/// `secretstore.externalsecrets.io/finalizer` while PushSecrets with `deletionPolicy: Delete`
/// need them, and PushSecret changes re-trigger the stores they concern.
pub async fn run_with_push_finalizers(
    client: Client,
    cfg: &StoreConfig,
    store_requeue: Duration,
    push_finalizers: bool,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let shutdown = shutdown.boxed().shared();
    let ctx = |reporter: &str| {
        Arc::new(Ctx {
            client: client.clone(),
            cfg: cfg.clone(),
            requeue: store_requeue,
            push_finalizers,
            policies: NamespacePolicies::new(client.clone(), cfg.require_namespace_policy),
            recorder: BoundedRecorder::new(
                client.clone(),
                Reporter {
                    controller: reporter.into(),
                    instance: None,
                },
            ),
        })
    };
    let ss_api: Api<SecretStore> = match &cfg.namespace {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    };
    let ps_api: Api<PushSecret> = match &cfg.namespace {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    };
    let mut ss = Controller::new(ss_api, watcher::Config::default());
    if push_finalizers {
        let cache = ss.store();
        ss = ss.watches(ps_api.clone(), watcher::Config::default(), move |ps| {
            stores_of_pushsecret(&cache, &ps, SecretStoreKind::SecretStore)
        });
    }
    let ss = ss
        .graceful_shutdown_on(shutdown.clone())
        .run(
            reconcile::<SecretStore>,
            error_policy::<SecretStore>,
            ctx("secret-store"),
        )
        .for_each(|_| futures::future::ready(()));
    if cfg.enable_cluster_stores {
        let mut css = Controller::new(
            Api::<ClusterSecretStore>::all(client.clone()),
            watcher::Config::default(),
        );
        if push_finalizers {
            let cache = css.store();
            css = css.watches(ps_api, watcher::Config::default(), move |ps| {
                stores_of_pushsecret(&cache, &ps, SecretStoreKind::ClusterSecretStore)
            });
        }
        let css = css
            .graceful_shutdown_on(shutdown)
            .run(
                reconcile::<ClusterSecretStore>,
                error_policy::<ClusterSecretStore>,
                ctx("cluster-secret-store"),
            )
            .for_each(|_| futures::future::ready(()));
        futures::join!(ss, css);
    } else {
        ss.await;
    }
}

fn error_policy<K: StoreObject>(obj: Arc<K>, err: &ReconcileError, _ctx: Arc<Ctx>) -> Action {
    tracing::warn!(kind = K::KIND.as_str(), name = %obj.name_any(), error = %err, "store reconcile failed");
    Action::requeue(FAILURE_REQUEUE)
}

async fn reconcile<K: StoreObject>(obj: Arc<K>, ctx: Arc<Ctx>) -> Result<Action, ReconcileError> {
    let spec = obj.store_spec();
    if !ctx.cfg.manages(spec.controller.as_deref()) {
        return Ok(Action::await_change());
    }
    if ctx.push_finalizers
        && let Some(action) = manage_push_finalizer(&*obj, &ctx).await?
    {
        return Ok(action);
    }
    let started = Instant::now();
    let name = obj.name_any();
    let namespace = obj.namespace();
    let reference = obj.object_ref(&());

    let provider = registry::provider_for(spec);
    let info = StoreInfo {
        kind: K::KIND,
        name: name.clone(),
        namespace: namespace.clone(),
        uid: obj.meta().uid.clone().unwrap_or_default(),
        generation: obj.meta().generation.unwrap_or_default(),
        spec: spec.clone(),
    };
    let client_ctx = ClientContext::new(
        ctx.client.clone(),
        info,
        namespace.clone().unwrap_or_default(),
    )
    .with_policies(ctx.policies.clone());
    let mut warnings: Vec<(&str, String)> = Vec::new();
    // A SecretStore lives in the namespace whose policy governs it: a role that namespace does
    // not permit is never assumed, not even to validate. (A ClusterSecretStore has no namespace;
    // its roles are checked against each object's namespace when a client is requested.)
    let violation = match namespace.as_deref() {
        Some(ns) if !shared::validation::policy::store_roles(spec).is_empty() => {
            let policy = ctx
                .policies
                .policy(ns)
                .await
                .map_err(ReconcileError::Namespace)?;
            shared::validation::policy::check_store_roles(spec, &policy).err()
        }
        _ => None,
    };
    let (outcome, capabilities, maintenance) = match (violation, provider) {
        (Some(v), provider) => {
            warnings.push((shared::policy::POLICY_VIOLATION_REASON, v.to_string()));
            let caps = provider.as_ref().ok().map(|p| p.capabilities());
            (Outcome::PolicyViolation, caps, Maintenance::Maintained)
        }
        (None, provider) => match provider {
            Err(e) => {
                warnings.push(("InvalidProviderConfig", e.to_string()));
                (Outcome::ClientFailed, None, Maintenance::Maintained)
            }
            Ok(provider) => {
                let caps = provider.capabilities();
                let maintenance = provider.maintenance();
                let outcome = match provider.new_client(&client_ctx).await {
                    Err(e) => {
                        warnings.push(("InvalidProviderConfig", e.to_string()));
                        Outcome::ClientFailed
                    }
                    Ok(client) => {
                        let result = client.validate().await;
                        client.close().await;
                        match result {
                            Ok(ValidationResult::Ready) => Outcome::Valid,
                            Ok(ValidationResult::Unknown) => {
                                warnings.push((
                                    "ValidationUnknown",
                                    "could not determine validation status".into(),
                                ));
                                Outcome::Unknown
                            }
                            Err(e) => {
                                warnings.push(("InvalidProviderConfig", e.to_string()));
                                Outcome::ValidateFailed
                            }
                        }
                    }
                };
                (outcome, Some(caps), maintenance)
            }
        },
    };

    let old = obj.store_status();
    let detail = warnings.last().map(|(_, note)| note.as_str());
    let new = desired_status(
        old,
        outcome,
        detail,
        capabilities.unwrap_or(shared::api::v1::SecretStoreCapabilities::ReadOnly),
        Time(k8s_openapi::jiff::Timestamp::now()),
    );
    let changed = status_changed(old, &new);
    if changed {
        K::api(ctx.client.clone(), namespace.as_deref())
            .patch_status(
                &name,
                &PatchParams::default(),
                &Patch::Merge(serde_json::json!({ "status": new })),
            )
            .await
            .map_err(ReconcileError::Status)?;
    }

    // Failures are reported on every attempt (the recorder folds repeats into a series);
    // the success and maintenance notices only when the status changes, so a healthy store
    // costs no API writes per refresh.
    let mut events: Vec<(EventType, &str, String)> = warnings
        .into_iter()
        .map(|(reason, note)| (EventType::Warning, reason, note))
        .collect();
    if changed {
        if outcome == Outcome::Valid {
            events.push((EventType::Normal, "Valid", "store validated".into()));
        }
        let ignore = obj
            .annotations()
            .contains_key(ANNOTATION_IGNORE_MAINTENANCE_CHECKS);
        if !ignore {
            match maintenance {
                Maintenance::Maintained => {}
                Maintenance::NotMaintained => events.push((
                    EventType::Warning,
                    REASON_STORE_UNMAINTAINED,
                    "store is using a provider that is not maintained; set annotation external-secrets.io/ignore-maintenance-checks to silence this warning".into(),
                )),
                Maintenance::Deprecated => events.push((
                    EventType::Warning,
                    REASON_STORE_DEPRECATED,
                    "store is using a deprecated provider; set annotation external-secrets.io/ignore-maintenance-checks to silence this warning".into(),
                )),
            }
        }
    }
    for (type_, reason, note) in events {
        let event = Event {
            type_,
            reason: reason.into(),
            note: Some(note),
            action: "Reconcile".into(),
            secondary: None,
        };
        if let Err(e) = ctx.recorder.publish(&event, &reference).await {
            tracing::warn!(kind = K::KIND.as_str(), %name, error = %e, "publishing store event failed");
        }
    }

    record_metrics::<K>(&name, namespace.as_deref(), &new, started.elapsed());

    let interval = store_refresh_interval(
        spec.refresh_interval.as_ref(),
        GoDuration::from_std(ctx.requeue).unwrap_or(GoDuration::from_secs(300)),
    )
    .ok()
    .and_then(GoDuration::to_std)
    .unwrap_or(ctx.requeue);
    Ok(match outcome {
        Outcome::Valid | Outcome::Unknown => Action::requeue(interval),
        Outcome::ClientFailed | Outcome::ValidateFailed | Outcome::PolicyViolation => {
            Action::requeue(interval.min(FAILURE_REQUEUE))
        }
    })
}

/// Stores a PushSecret event concerns: named references, stores recorded in its status, and
/// cached stores its label selectors match.
fn stores_of_pushsecret<K: StoreObject>(
    cache: &Store<K>,
    ps: &PushSecret,
    kind: SecretStoreKind,
) -> Vec<ObjectRef<K>> {
    let ns = ps.namespace().unwrap_or_default();
    let scoped = |r: ObjectRef<K>| match kind {
        SecretStoreKind::SecretStore => r.within(&ns),
        SecretStoreKind::ClusterSecretStore => r,
    };
    let mut out: Vec<ObjectRef<K>> = pushsecret::named_stores(ps)
        .into_iter()
        .filter(|(k, _)| *k == kind)
        .map(|(_, name)| scoped(ObjectRef::new(&name)))
        .collect();
    for store in cache.state() {
        let same_ns = kind == SecretStoreKind::ClusterSecretStore
            || store.namespace().as_deref() == Some(ns.as_str());
        if same_ns && pushsecret::selects_by_labels(ps, kind, store.labels()) {
            out.push(ObjectRef::from_obj(store.as_ref()));
        }
    }
    out
}

/// Adds or drops the PushSecret store finalizer. Returns an action when the store is being
/// deleted (validating it is pointless then).
async fn manage_push_finalizer<K: StoreObject>(
    obj: &K,
    ctx: &Ctx,
) -> Result<Option<Action>, ReconcileError> {
    let namespace = obj.namespace();
    let ps_api: Api<PushSecret> = match &namespace {
        Some(ns) => Api::namespaced(ctx.client.clone(), ns),
        None => Api::all(ctx.client.clone()),
    };
    let pushsecrets = ps_api
        .list(&Default::default())
        .await
        .map_err(ReconcileError::Finalizer)?
        .items;
    let needed = pushsecret::store_needs_finalizer(
        K::KIND,
        &obj.name_any(),
        namespace.as_deref(),
        obj.labels(),
        &pushsecrets,
    );
    if let pushsecret::StoreFinalizerChange::Set(finalizers) =
        pushsecret::store_finalizer_change(obj.finalizers(), needed)
    {
        let patch = serde_json::json!({
            "metadata": { "finalizers": finalizers, "resourceVersion": obj.resource_version() }
        });
        K::api(ctx.client.clone(), namespace.as_deref())
            .patch(
                &obj.name_any(),
                &PatchParams::default(),
                &Patch::Merge(patch),
            )
            .await
            .map_err(ReconcileError::Finalizer)?;
    }
    Ok(obj
        .meta()
        .deletion_timestamp
        .is_some()
        .then(Action::await_change))
}

fn record_metrics<K: StoreObject>(
    name: &str,
    namespace: Option<&str>,
    status: &SecretStoreStatus,
    elapsed: Duration,
) {
    let ns = namespace.unwrap_or_default().to_string();
    let condition_metric = format!("{}_status_condition", K::METRIC_PREFIX);
    for c in status.conditions.iter().flatten() {
        for candidate in ["True", "False"] {
            let value = if c.status == candidate { 1.0 } else { 0.0 };
            gauge!(
                condition_metric.clone(),
                "name" => name.to_string(),
                "namespace" => ns.clone(),
                "condition" => c.type_.clone(),
                "status" => candidate
            )
            .set(value);
        }
    }
    gauge!(
        format!("{}_reconcile_duration", K::METRIC_PREFIX),
        "name" => name.to_string(),
        "namespace" => ns
    )
    .set(elapsed.as_nanos() as f64);
}
