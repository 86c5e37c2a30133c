//! One PushSecret reconcile (§4.2): finalizer, refresh gate, sources, stores, pushes, deletion
//! of entries that left the spec, status, events and metrics.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::runtime::events::{Event, EventType};
use kube::{Api, Client, Resource, ResourceExt};
use metrics::gauge;
use shared::api::v1alpha1::{
    PushSecret, PushSecretData, PushSecretDeletionPolicy, PushSecretStatus, PushSecretUpdatePolicy,
    REASON_ERRORED, REASON_SOURCE_DELETED, REASON_SYNCED, SyncedPushSecretsMap,
};
use shared::duration::GoDuration;
use shared::hash::synced_resource_version;
use shared::keys::reverse_unicode;

use super::plan::{
    self, PlannedPush, check_data_to_selectors, parse_store_status_key, plan_store, stale_entries,
    validate_data_to,
};
use super::source::{self, SourceError};
use super::status::{Gate, merge_patch_diff, refresh_gate, set_ready};
use super::stores::{PushStore, resolve_all, resolve_one};
use super::{FINALIZER, MSG_SYNCED, MSG_SYNCED_IF_NOT_EXISTS};
use crate::provider::ProviderError;
use crate::stores::{ClientCache, StoreIndex};

/// Longest wait between retries of a failing PushSecret.
const MAX_BACKOFF: Duration = Duration::from_secs(300);

pub(crate) struct Ctx {
    pub client: Client,
    pub index: StoreIndex,
    pub clients: ClientCache,
    pub recorder: crate::events::BoundedRecorder,
    /// Per PushSecret (`ns/name`): the source Secrets' names and resource versions at the last
    /// push, so a Secret change bypasses the refresh gate.
    pub fingerprints: Mutex<HashMap<String, String>>,
    /// Per PushSecret: consecutive failures, for the retry backoff.
    pub failures: Mutex<HashMap<String, u32>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Failures that end a reconcile with Ready=False `Errored`.
#[derive(Debug, thiserror::Error)]
pub enum PushError {
    #[error("invalid refreshInterval: {0}")]
    Interval(String),
    #[error(transparent)]
    Plan(#[from] plan::PlanError),
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error("could not get secret stores: {0}")]
    Stores(#[from] super::stores::ResolveError),
    #[error("secret key {key:?} does not exist")]
    MissingKey { key: String },
    #[error("could not get secrets client for store {store}: {source}")]
    Client {
        store: String,
        #[source]
        source: ProviderError,
    },
    #[error("could not check if secret exists in store {store}: {source}")]
    Exists {
        store: String,
        #[source]
        source: ProviderError,
    },
    #[error("could not push secret {remote:?} to store {store}: {source}")]
    Push {
        store: String,
        remote: String,
        #[source]
        source: ProviderError,
    },
    #[error("could not delete secrets: {0}")]
    Delete(String),
}

/// Errors the controller retries through its error policy (API writes of our own objects).
#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    #[error("updating PushSecret {0}: {1}")]
    Kube(&'static str, #[source] kube::Error),
}

fn key_of(ps: &PushSecret) -> String {
    format!("{}/{}", ps.namespace().unwrap_or_default(), ps.name_any())
}

/// `ns/name@resourceVersion` of every source Secret: changes when any of them changes,
/// appears or disappears.
fn fingerprint(secrets: &[Secret]) -> String {
    secrets
        .iter()
        .map(|s| {
            format!(
                "{}@{}",
                s.name_any(),
                s.metadata.resource_version.as_deref().unwrap_or_default()
            )
        })
        .collect::<Vec<_>>()
        .join(",")
}

pub(crate) async fn reconcile(
    ps: Arc<PushSecret>,
    ctx: Arc<Ctx>,
) -> Result<Action, ReconcileError> {
    let started = Instant::now();
    let out = reconcile_inner(&ps, &ctx).await;
    record_metrics(&ps, started.elapsed());
    out
}

async fn reconcile_inner(ps: &PushSecret, ctx: &Ctx) -> Result<Action, ReconcileError> {
    let ns = ps.namespace().unwrap_or_default();
    let api: Api<PushSecret> = Api::namespaced(ctx.client.clone(), &ns);
    let policy = ps.spec.effective_deletion_policy();
    let has_finalizer = ps.finalizers().iter().any(|f| f == FINALIZER);

    if ps.metadata.deletion_timestamp.is_some() {
        lock(&ctx.fingerprints).remove(&key_of(ps));
        if !has_finalizer {
            return Ok(Action::await_change());
        }
        if policy == PushSecretDeletionPolicy::Delete {
            let synced = synced_map(ps);
            let entries = stale_entries(&synced, &SyncedPushSecretsMap::new());
            let (remaining, errors) = delete_entries(ctx, &ns, entries).await;
            if !errors.is_empty() {
                let err = PushError::Delete(errors.join("; "));
                let mut status = ps.status.clone().unwrap_or_default();
                status.synced_push_secrets = Some(remaining);
                set_ready(&mut status, false, REASON_ERRORED, &err.to_string(), now());
                write_status(&api, ps, status).await?;
                publish(ctx, ps, EventType::Warning, REASON_ERRORED, err.to_string()).await;
                return Ok(Action::requeue(backoff(ctx, ps)));
            }
        }
        set_finalizer(&api, ps, false).await?;
        return Ok(Action::await_change());
    }

    match (policy, has_finalizer) {
        (PushSecretDeletionPolicy::Delete, false) => set_finalizer(&api, ps, true).await?,
        (PushSecretDeletionPolicy::None, true) => set_finalizer(&api, ps, false).await?,
        _ => {}
    }

    let interval = match GoDuration::parse(ps.spec.effective_refresh_interval())
        .map_err(|e| e.to_string())
        .and_then(|d| d.to_std().ok_or_else(|| "negative duration".to_string()))
    {
        Ok(d) => d,
        Err(e) => return fail(ctx, &api, ps, PushError::Interval(e), None).await,
    };
    let version = synced_resource_version(
        ps.metadata.generation.unwrap_or_default(),
        ps.labels(),
        ps.annotations(),
    );
    let gate = refresh_gate(ps.status.as_ref(), &version, interval, Timestamp::now());

    // Secret sources are read before the gate so a changed Secret can bypass it; generators
    // run only when a push is due.
    let mut secrets_read: Option<Result<Vec<Secret>, SourceError>> = None;
    let mut current_fingerprint = None;
    if let Some(sel) = &ps.spec.selector.secret {
        let read = source::read_secrets(&ctx.client, &ns, sel).await;
        let current = match &read {
            Ok(secrets) => fingerprint(secrets),
            Err(SourceError::NotFound(_)) => String::new(),
            Err(_) => "?".into(),
        };
        if gate != Gate::Refresh {
            let mut memory = lock(&ctx.fingerprints);
            // After a restart the first observation becomes the baseline: like ESO, changes
            // made while we were down wait for the interval.
            let previous = memory
                .entry(key_of(ps))
                .or_insert_with(|| current.clone())
                .clone();
            if previous == current {
                return Ok(waiting(gate));
            }
        }
        secrets_read = Some(read);
        current_fingerprint = Some(current);
    } else if gate != Gate::Refresh {
        return Ok(waiting(gate));
    }

    match sync(ctx, ps, &ns, secrets_read).await {
        Ok(Synced::Pushed {
            map,
            unchanged_existing,
        }) => {
            remember(ctx, ps, current_fingerprint);
            let mut status = ps.status.clone().unwrap_or_default();
            status.synced_push_secrets = Some(map);
            status.refresh_time = Some(now());
            status.synced_resource_version = Some(version);
            let message = if unchanged_existing {
                MSG_SYNCED_IF_NOT_EXISTS
            } else {
                MSG_SYNCED
            };
            set_ready(&mut status, true, REASON_SYNCED, message, now());
            write_status(&api, ps, status).await?;
            publish(ctx, ps, EventType::Normal, REASON_SYNCED, message.into()).await;
            Ok(waiting(if interval.is_zero() {
                Gate::Never
            } else {
                Gate::Wait(interval)
            }))
        }
        Ok(Synced::NoStores) => Ok(waiting(if interval.is_zero() {
            Gate::Never
        } else {
            Gate::Wait(interval)
        })),
        Ok(Synced::SourceDeleted) => {
            remember(ctx, ps, current_fingerprint);
            let mut status = ps.status.clone().unwrap_or_default();
            status.synced_push_secrets = Some(SyncedPushSecretsMap::new());
            set_ready(
                &mut status,
                false,
                REASON_SOURCE_DELETED,
                "source secret was deleted; pushed secrets were deleted from the providers",
                now(),
            );
            write_status(&api, ps, status).await?;
            Ok(Action::await_change())
        }
        Err((err, partial)) => fail(ctx, &api, ps, err, partial).await,
    }
}

enum Synced {
    Pushed {
        map: SyncedPushSecretsMap,
        unchanged_existing: bool,
    },
    NoStores,
    SourceDeleted,
}

type SyncError = (PushError, Option<SyncedPushSecretsMap>);

/// A push succeeded: reset the backoff and remember the sources it was based on.
fn remember(ctx: &Ctx, ps: &PushSecret, fingerprint: Option<String>) {
    lock(&ctx.failures).remove(&key_of(ps));
    if let Some(f) = fingerprint {
        lock(&ctx.fingerprints).insert(key_of(ps), f);
    }
}

fn now() -> Time {
    Time(Timestamp::now())
}

fn waiting(gate: Gate) -> Action {
    match gate {
        Gate::Refresh => Action::requeue(Duration::from_secs(1)),
        Gate::Wait(d) => Action::requeue(d),
        Gate::Never => Action::await_change(),
    }
}

fn backoff(ctx: &Ctx, ps: &PushSecret) -> Duration {
    let mut failures = lock(&ctx.failures);
    let n = failures.entry(key_of(ps)).or_insert(0);
    *n = n.saturating_add(1);
    Duration::from_secs(1u64 << (*n - 1).min(9)).min(MAX_BACKOFF)
}

fn synced_map(ps: &PushSecret) -> SyncedPushSecretsMap {
    ps.status
        .as_ref()
        .and_then(|s| s.synced_push_secrets.clone())
        .unwrap_or_default()
}

async fn fail(
    ctx: &Ctx,
    api: &Api<PushSecret>,
    ps: &PushSecret,
    err: PushError,
    synced: Option<SyncedPushSecretsMap>,
) -> Result<Action, ReconcileError> {
    tracing::warn!(namespace = ?ps.namespace(), name = %ps.name_any(), error = %err, "push secret failed");
    let mut status = ps.status.clone().unwrap_or_default();
    if let Some(map) = synced {
        status.synced_push_secrets = Some(map);
    }
    set_ready(&mut status, false, REASON_ERRORED, &err.to_string(), now());
    write_status(api, ps, status).await?;
    publish(ctx, ps, EventType::Warning, REASON_ERRORED, err.to_string()).await;
    Ok(Action::requeue(backoff(ctx, ps)))
}

/// Steps 3–7 of §4.2. On failure the second element, when present, is the synced map to record
/// (old entries plus whatever was pushed before the failure, so it can be deleted later).
async fn sync(
    ctx: &Ctx,
    ps: &PushSecret,
    ns: &str,
    secrets_read: Option<Result<Vec<Secret>, SourceError>>,
) -> Result<Synced, SyncError> {
    let spec = &ps.spec;
    let policy = spec.effective_deletion_policy();
    let old = synced_map(ps);
    validate_data_to(spec).map_err(|e| (e.into(), None))?;

    let secrets = match (secrets_read, &spec.selector.generator_ref) {
        (Some(Ok(secrets)), _) => secrets,
        (Some(Err(SourceError::NotFound(name))), _) => {
            if policy == PushSecretDeletionPolicy::Delete && old.values().any(|m| !m.is_empty()) {
                let entries = stale_entries(&old, &SyncedPushSecretsMap::new());
                let (remaining, errors) = delete_entries(ctx, ns, entries).await;
                if !errors.is_empty() {
                    return Err((PushError::Delete(errors.join("; ")), Some(remaining)));
                }
                return Ok(Synced::SourceDeleted);
            }
            return Err((SourceError::NotFound(name).into(), None));
        }
        (Some(Err(e)), _) => return Err((e.into(), None)),
        (None, Some(generator)) => {
            let data = source::generate(&ctx.client, ns, generator)
                .await
                .map_err(|e| (e.into(), None))?;
            vec![source::generated_secret(ps, data)]
        }
        (None, None) => {
            return Err((
                PushError::Source(SourceError::Template(
                    "selector must set secret or generatorRef".into(),
                )),
                None,
            ));
        }
    };

    let stores =
        resolve_all(&ctx.index, ns, &spec.secret_store_refs).map_err(|e| (e.into(), None))?;
    if stores.is_empty() {
        return Ok(Synced::NoStores);
    }
    let targets: Vec<_> = stores.iter().map(|s| s.target.clone()).collect();
    check_data_to_selectors(spec, &targets).map_err(|e| (e.into(), None))?;

    let secrets = match &spec.template {
        None => secrets,
        Some(template) => {
            let sources = source::template_sources(&ctx.client, ns, template)
                .await
                .map_err(|e| (e.into(), None))?;
            secrets
                .iter()
                .map(|s| source::apply_template(s, template, &sources))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| (e.into(), None))?
        }
    };

    let mut new = SyncedPushSecretsMap::new();
    let mut unchanged_existing = false;
    let partial = |new: &SyncedPushSecretsMap| {
        let mut merged = old.clone();
        for (store, entries) in new {
            merged
                .entry(store.clone())
                .or_default()
                .extend(entries.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
        Some(merged)
    };
    for secret in &secrets {
        let keys: BTreeSet<String> = secret
            .data
            .iter()
            .flatten()
            .map(|(k, _)| k.clone())
            .collect();
        for store in &stores {
            let planned =
                plan_store(spec, &keys, &store.target).map_err(|e| (e.into(), partial(&new)))?;
            if let Err(e) = push_store(
                ctx,
                ps,
                ns,
                store,
                secret,
                &planned,
                &mut new,
                &mut unchanged_existing,
            )
            .await
            {
                return Err((e, partial(&new)));
            }
        }
    }

    if policy == PushSecretDeletionPolicy::Delete {
        let stale = stale_entries(&old, &new);
        let (remaining, errors) = delete_entries(ctx, ns, stale).await;
        for (store, entries) in remaining {
            new.entry(store).or_default().extend(entries);
        }
        if !errors.is_empty() {
            return Err((PushError::Delete(errors.join("; ")), Some(new)));
        }
    }
    Ok(Synced::Pushed {
        map: new,
        unchanged_existing,
    })
}

/// The Secret one entry sees: keys converted by its strategy, cut to the bundle's keys.
fn secret_for_entry(secret: &Secret, p: &PlannedPush) -> Secret {
    let reverse = p.data.conversion_strategy.unwrap_or_default()
        == shared::api::v1alpha1::PushSecretConversionStrategy::ReverseUnicode;
    let mut out = secret.clone();
    let data: BTreeMap<String, ByteString> = secret
        .data
        .iter()
        .flatten()
        .map(|(k, v)| {
            let key = if reverse {
                reverse_unicode(k)
            } else {
                k.clone()
            };
            (key, v.clone())
        })
        .filter(|(k, _)| p.only_keys.as_ref().is_none_or(|only| only.contains(k)))
        .collect();
    out.data = Some(data);
    out.string_data = None;
    out
}

#[allow(clippy::too_many_arguments)]
async fn push_store(
    ctx: &Ctx,
    ps: &PushSecret,
    ns: &str,
    store: &PushStore,
    secret: &Secret,
    planned: &[PlannedPush],
    synced: &mut SyncedPushSecretsMap,
    unchanged_existing: &mut bool,
) -> Result<(), PushError> {
    if planned.is_empty() {
        return Ok(());
    }
    let store_key = store.target.status_key();
    let client = ctx
        .clients
        .client(&ctx.client, &store.resolved, ns)
        .await
        .map_err(|source| PushError::Client {
            store: store_key.clone(),
            source,
        })?;
    let if_not_exists = ps.spec.effective_update_policy() == PushSecretUpdatePolicy::IfNotExists;
    for p in planned {
        let view = secret_for_entry(secret, p);
        if let Some(key) = p
            .data
            .match_
            .secret_key
            .as_deref()
            .filter(|k| !k.is_empty())
            && !view.data.as_ref().is_some_and(|d| d.contains_key(key))
        {
            return Err(PushError::MissingKey { key: key.into() });
        }
        let remote = p.data.match_.remote_ref.status_key();
        if if_not_exists {
            let exists =
                client
                    .secret_exists(&p.data)
                    .await
                    .map_err(|source| PushError::Exists {
                        store: store_key.clone(),
                        source,
                    })?;
            if exists {
                *unchanged_existing = true;
                synced
                    .entry(store_key.clone())
                    .or_default()
                    .insert(remote, p.data.clone());
                continue;
            }
        }
        client
            .push_secret(&view, &p.data)
            .await
            .map_err(|source| PushError::Push {
                store: store_key.clone(),
                remote: remote.clone(),
                source,
            })?;
        synced
            .entry(store_key.clone())
            .or_default()
            .insert(remote, p.data.clone());
    }
    Ok(())
}

/// Deletes `entries` from their providers. Returns the entries that could not be deleted (to
/// keep in status and retry) and the error texts.
async fn delete_entries(
    ctx: &Ctx,
    ns: &str,
    entries: Vec<(String, PushSecretData)>,
) -> (SyncedPushSecretsMap, Vec<String>) {
    let mut remaining = SyncedPushSecretsMap::new();
    let mut errors = Vec::new();
    for (store_key, data) in entries {
        let remote = data.match_.remote_ref.status_key();
        let Some(store_ref) = parse_store_status_key(&store_key) else {
            continue;
        };
        let kind = store_ref.effective_kind();
        let name = store_ref.name.unwrap_or_default();
        let resolved = match resolve_one(&ctx.index, ns, kind, &name) {
            Ok(Some(r)) => r,
            // Not ours to clean up.
            Ok(None) => continue,
            Err(crate::stores::StoreError::NotFound { .. }) => {
                // The store finalizer normally prevents this; without the store nothing can be
                // deleted, and keeping the entry would block the PushSecret forever.
                tracing::warn!(store = %store_key, remote = %remote, "store gone; cannot delete pushed secret");
                continue;
            }
            Err(e) => {
                errors.push(format!("{store_key}: {e}"));
                remaining.entry(store_key).or_default().insert(remote, data);
                continue;
            }
        };
        let result = match ctx.clients.client(&ctx.client, &resolved, ns).await {
            Ok(client) => match client.delete_secret(&data).await {
                Ok(()) | Err(ProviderError::NoSecret) => Ok(()),
                Err(e) => Err(e),
            },
            Err(e) => Err(e),
        };
        if let Err(e) = result {
            errors.push(format!("{store_key} {remote:?}: {e}"));
            remaining.entry(store_key).or_default().insert(remote, data);
        }
    }
    (remaining, errors)
}

async fn set_finalizer(
    api: &Api<PushSecret>,
    ps: &PushSecret,
    present: bool,
) -> Result<(), ReconcileError> {
    let mut finalizers: Vec<String> = ps
        .finalizers()
        .iter()
        .filter(|f| *f != FINALIZER)
        .cloned()
        .collect();
    if present {
        finalizers.push(FINALIZER.into());
    }
    // The resourceVersion makes this fail on a concurrent change instead of clobbering it.
    let patch = serde_json::json!({
        "metadata": {
            "finalizers": finalizers,
            "resourceVersion": ps.resource_version(),
        }
    });
    api.patch(
        &ps.name_any(),
        &PatchParams::default(),
        &Patch::Merge(patch),
    )
    .await
    .map_err(|e| ReconcileError::Kube("finalizers", e))?;
    Ok(())
}

async fn write_status(
    api: &Api<PushSecret>,
    ps: &PushSecret,
    status: PushSecretStatus,
) -> Result<(), ReconcileError> {
    record_condition(ps, &status);
    let old = ps.status.clone().unwrap_or_default();
    if old == status {
        return Ok(());
    }
    let old_v = serde_json::to_value(&old).unwrap_or_default();
    let new_v = serde_json::to_value(&status).unwrap_or_default();
    let patch = serde_json::json!({ "status": merge_patch_diff(&old_v, &new_v) });
    match api
        .patch_status(
            &ps.name_any(),
            &PatchParams::default(),
            &Patch::Merge(patch),
        )
        .await
    {
        Ok(_) => Ok(()),
        // Deleted meanwhile: nothing to record.
        Err(kube::Error::Api(s)) if s.code == 404 => Ok(()),
        Err(e) => Err(ReconcileError::Kube("status", e)),
    }
}

async fn publish(ctx: &Ctx, ps: &PushSecret, type_: EventType, reason: &str, note: String) {
    let event = Event {
        type_,
        reason: reason.into(),
        note: Some(note),
        action: "Reconcile".into(),
        secondary: None,
    };
    if let Err(e) = ctx.recorder.publish(&event, &ps.object_ref(&())).await {
        tracing::warn!(name = %ps.name_any(), error = %e, "publishing push secret event failed");
    }
}

fn record_condition(ps: &PushSecret, status: &PushSecretStatus) {
    let name = ps.name_any();
    let ns = ps.namespace().unwrap_or_default();
    if let Some(c) = super::status::ready_condition(Some(status)) {
        for candidate in ["True", "False"] {
            gauge!(
                "pushsecret_status_condition",
                "name" => name.clone(),
                "namespace" => ns.clone(),
                "condition" => c.type_.clone(),
                "status" => candidate
            )
            .set(if c.status == candidate { 1.0 } else { 0.0 });
        }
    }
}

fn record_metrics(ps: &PushSecret, elapsed: Duration) {
    let name = ps.name_any();
    let ns = ps.namespace().unwrap_or_default();
    gauge!("pushsecret_reconcile_duration", "name" => name, "namespace" => ns)
        .set(elapsed.as_nanos() as f64);
}
