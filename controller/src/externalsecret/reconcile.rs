//! One ExternalSecret reconcile (reference §4.1 steps 1-9).

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use k8s_openapi::api::core::v1::{Namespace, Secret};
use kube::api::{Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::runtime::events::EventType;
use kube::runtime::reflector::ObjectRef;
use kube::{Api, ResourceExt};
use serde_json::json;
use shared::api::v1::{
    CONDITION_READY, CreationPolicy, DeletionPolicy, EVENT_CREATED, EVENT_DELETED,
    EVENT_MISSING_PROVIDER_SECRET, EVENT_UPDATE_FAILED, EVENT_UPDATED, ExternalSecret,
    ExternalSecretStatus, GeneratorRef, REASON_SECRET_DELETED, REASON_SECRET_MISSING,
    REASON_SECRET_SYNCED, REASON_SECRET_SYNCED_ERROR, SecretBinding, SecretStoreKind,
    SecretStoreRef,
};
use shared::hash::{created_by_label, field_manager_for};
use shared::keys::SecretMap;
use shared::policy::NamespacePolicy;

use super::clock::to_k8s;
use super::conditions::{Cond, set_condition};
use super::data::{self, FetchError, SourceError, Sources};
use super::refresh::{self, Decision};
use super::{generators, template};
use crate::context::{Context, key_of, set_finalizer};
use crate::metrics::{self, Kind};
use crate::provider::SecretsClient;
use crate::secrets::apply::{self, Written};
use crate::secrets::desired::{self, DesiredError, Plan, is_controlled_by};

/// Finalizer ESO puts on every ExternalSecret.
pub const FINALIZER: &str = "externalsecrets.external-secrets.io/externalsecret-cleanup";
/// Annotation whose changes force a refresh (any annotation change does).
pub const ANNOTATION_FORCE_SYNC: &str = "external-secrets.io/force-sync";

/// Ready message after a successful sync.
pub const MSG_SYNCED: &str = "secret synced";
const MSG_RETAINED: &str = "secret retained due to DeletionPolicy=Retain";
const MSG_DELETED: &str = "secret deleted due to DeletionPolicy=Delete";
const MSG_MISSING: &str = "secret will not be created due to CreationPolicy=Merge";
const MSG_PROVIDER: &str = "could not get secret data from provider";

/// Reconcile failures (retried with backoff).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// API call failed.
    #[error(transparent)]
    Kube(#[from] kube::Error),
    /// Sync failed; the status says why.
    #[error("{0}")]
    Sync(String),
}

/// `Sources` backed by the store access of the context and the generator CRs.
struct KubeSources<'a> {
    ctx: &'a Context,
}

#[async_trait]
impl Sources for KubeSources<'_> {
    async fn client(
        &self,
        store: &SecretStoreRef,
        namespace: &str,
    ) -> Result<Arc<dyn SecretsClient>, SourceError> {
        self.ctx.stores.client(store, namespace).await
    }

    async fn generate(&self, g: &GeneratorRef, namespace: &str) -> Result<SecretMap, SourceError> {
        generators::generate(&self.ctx.client, g, namespace).await
    }
}

/// Reconciles one ExternalSecret.
pub async fn reconcile(es: Arc<ExternalSecret>, ctx: Arc<Context>) -> Result<Action, Error> {
    let started = Instant::now();
    let name = es.name_any();
    let ns = es.namespace().unwrap_or_default();
    metrics::sync_call(&name, &ns);
    let api: Api<ExternalSecret> = Api::namespaced(ctx.client.clone(), &ns);
    let result = if es.metadata.deletion_timestamp.is_some() {
        match cleanup(&es, &ctx).await {
            Ok(action) => set_finalizer(&api, es.as_ref(), FINALIZER, false)
                .await
                .map(|_| action)
                .map_err(Error::from),
            Err(e) => Err(e),
        }
    } else {
        match set_finalizer(&api, es.as_ref(), FINALIZER, true).await {
            // The finalizer write is a metadata change: the watch brings the object back.
            Ok(true) => Ok(Action::await_change()),
            Ok(false) => sync(&es, &ctx).await,
            Err(e) => Err(Error::from(e)),
        }
    };
    metrics::reconcile_duration(Kind::ExternalSecret, &name, &ns, started.elapsed());
    if result.is_err() {
        metrics::sync_error(&name, &ns);
    } else if es.metadata.deletion_timestamp.is_some() {
        // The finalizer is gone: the object and what this process kept about it go too.
        metrics::forget(Kind::ExternalSecret, &name, &ns);
        ctx.forget_sync(&key_of(es.as_ref()));
        ctx.succeeded(&key_of(es.as_ref()));
    }
    result
}

/// A write lost a race with another writer (409): the watch brings the newer object soon, and
/// the sync is retried after a short pause rather than after an error backoff.
const CONFLICT_RETRY: Duration = Duration::from_millis(200);

fn is_conflict(err: &Error) -> bool {
    matches!(err, Error::Kube(kube::Error::Api(e)) if e.code == 409)
}

/// Error policy: a retry soon after a write conflict, otherwise exponential backoff per object
/// (1 s doubling to 7 min).
pub fn error_policy(es: Arc<ExternalSecret>, err: &Error, ctx: Arc<Context>) -> Action {
    if is_conflict(err) {
        tracing::debug!(es = %key_of(es.as_ref()), error = %err, "write conflict, retrying");
        return Action::requeue(CONFLICT_RETRY);
    }
    let wait = ctx.backoff(&key_of(es.as_ref()));
    tracing::debug!(es = %key_of(es.as_ref()), error = %err, ?wait, "sync failed");
    Action::requeue(wait)
}

async fn cleanup(es: &ExternalSecret, ctx: &Context) -> Result<Action, Error> {
    let ns = es.namespace().unwrap_or_default();
    if es.spec.effective_deletion_policy() != DeletionPolicy::Delete {
        return Ok(Action::await_change());
    }
    let Some(target) = es.target_name() else {
        return Ok(Action::await_change());
    };
    let api: Api<Secret> = Api::namespaced(ctx.client.clone(), &ns);
    if let Some(secret) = api.get_opt(target).await?
        && is_controlled_by(&secret, es)
    {
        apply::delete(&api, target).await?;
    }
    Ok(Action::await_change())
}

fn store_refs(es: &ExternalSecret) -> impl Iterator<Item = &SecretStoreRef> {
    let spec = &es.spec;
    spec.secret_store_ref
        .iter()
        .chain(
            spec.data_items()
                .iter()
                .filter_map(|d| d.source_ref.as_ref()?.store_ref.as_ref()),
        )
        .chain(
            spec.data_from_items()
                .iter()
                .filter_map(|d| d.source_ref.as_ref()?.store_ref.as_ref()),
        )
}

fn generator_refs(es: &ExternalSecret) -> impl Iterator<Item = &GeneratorRef> {
    es.spec
        .data_from_items()
        .iter()
        .filter_map(|d| d.source_ref.as_ref()?.generator_ref.as_ref())
}

/// Whether this controller must leave `es` alone (ESO step 3).
async fn is_skipped(es: &ExternalSecret, ctx: &Context) -> bool {
    let ns = es.namespace().unwrap_or_default();
    let top_is_cluster = es
        .spec
        .secret_store_ref
        .as_ref()
        .is_some_and(|r| r.effective_kind() == SecretStoreKind::ClusterSecretStore);
    if top_is_cluster && !ctx.config.enable_cluster_stores {
        return true;
    }
    for r in store_refs(es) {
        if ctx.stores.is_foreign(r, &ns).await {
            return true;
        }
    }
    for g in generator_refs(es) {
        if let Some(class) = generators::generator_class(&ctx.client, g, &ns).await
            && !class.is_empty()
            && class != ctx.config.controller_class
        {
            return true;
        }
    }
    false
}

/// The target from the managed-Secret cache (shared, not copied: most reconciles only check
/// it), else from the API (an unmanaged Secret a Merge writes into).
async fn target_secret(
    ctx: &Context,
    ns: &str,
    name: &str,
) -> Result<Option<Arc<Secret>>, kube::Error> {
    if let Some(s) = ctx.cached_secret(ns, name) {
        return Ok(Some(s));
    }
    Ok(Api::<Secret>::namespaced(ctx.client.clone(), ns)
        .get_opt(name)
        .await?
        .map(Arc::new))
}

async fn namespace_policy(ctx: &Context, ns: &str) -> Result<NamespacePolicy, kube::Error> {
    let namespace = match ctx.namespaces.get(&ObjectRef::new(ns)) {
        Some(n) => Some((*n).clone()),
        None => {
            Api::<Namespace>::all(ctx.client.clone())
                .get_opt(ns)
                .await?
        }
    };
    let annotations = namespace
        .and_then(|n| n.metadata.annotations)
        .unwrap_or_default();
    Ok(NamespacePolicy::from_annotations(
        ns,
        &annotations,
        ctx.config.require_namespace_policy,
    ))
}

/// How old provider reads this sync may reuse: up to the refresh interval for a periodic
/// refresh or drift repair (nothing about the object changed since its last sync) and for a
/// first sync (data one interval old is what the next refresh would bring anyway, and N new
/// objects reading one remote key then cost one call instead of N); none after a change of a
/// synced object (spec, labels, annotations such as force-sync) or when a force-sync annotation
/// is present on a never-synced one, so that users asking for a sync get fresh data.
fn read_max_age(es: &ExternalSecret, ctx: &Context) -> Duration {
    let interval = refresh::refresh_interval(es)
        .to_std()
        .unwrap_or(Duration::ZERO);
    let synced = ctx
        .newer_sync(&key_of(es), None)
        .map(|(version, _)| version)
        .or_else(|| {
            es.status
                .as_ref()
                .and_then(|s| s.synced_resource_version.clone())
        });
    match synced {
        Some(version) if version == refresh::current_resource_version(es) => interval,
        Some(_) => Duration::ZERO,
        None if es.annotations().contains_key(ANNOTATION_FORCE_SYNC) => Duration::ZERO,
        None => interval,
    }
}

/// Spreads refreshes of many ExternalSecrets with the same interval: up to 5 % (at most 10 s)
/// later, derived from the UID so it is stable per object.
fn jitter(es: &ExternalSecret, interval: Duration) -> Duration {
    let seed = es
        .metadata
        .uid
        .as_deref()
        .unwrap_or_default()
        .bytes()
        .fold(0u64, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b)));
    let max = (interval / 20).min(Duration::from_secs(10));
    max.mul_f64((seed % 1000) as f64 / 1000.0)
}

fn requeue_after_sync(es: &ExternalSecret) -> Action {
    let interval = refresh::refresh_interval(es);
    match interval.to_std() {
        Some(d) if !d.is_zero() => Action::requeue(d + jitter(es, d)),
        _ => Action::await_change(),
    }
}

fn requeue_for(es: &ExternalSecret, decision: Decision, now: DateTime<Utc>) -> Action {
    match decision {
        Decision::NotDue(Some(due)) => {
            let wait = (due - now).to_std().unwrap_or_default();
            let interval = refresh::refresh_interval(es).to_std().unwrap_or_default();
            Action::requeue(wait + jitter(es, interval) + Duration::from_millis(1))
        }
        Decision::Blocked => Action::requeue(Duration::from_secs(60)),
        _ => Action::await_change(),
    }
}

struct Outcome<'a> {
    cond: Cond<'a>,
    synced: bool,
    binding: bool,
    /// The sync created, replaced or deleted the target Secret.
    written: bool,
}

/// Writes the status, but only when something a user can see changed: an idle refresh that
/// finds the Secret up to date costs no API write. `refreshTime` therefore means the last time
/// a sync changed the Secret or the status, or the first sync by this controller process (a
/// takeover or restart records that the new process verified the Secret). ESO bumps it on every
/// refresh, which costs one write per ExternalSecret and interval. When the next periodic
/// refresh is due is tracked in memory ([`Context::remember_sync`]).
async fn write_status(
    es: &ExternalSecret,
    ctx: &Context,
    outcome: &Outcome<'_>,
    now: DateTime<Utc>,
) -> Result<(), Error> {
    let ns = es.namespace().unwrap_or_default();
    let name = es.name_any();
    let old = es.status.clone().unwrap_or_default();
    let mut status = old.clone();
    set_condition(&mut status, &outcome.cond, to_k8s(now));
    if outcome.synced {
        status.synced_resource_version = Some(refresh::current_resource_version(es));
    }
    if outcome.binding {
        status.binding = Some(SecretBinding {
            name: es.target_name().map(str::to_string),
        });
    }
    if outcome.synced {
        let first = !ctx.has_synced(&key_of(es));
        if outcome.written || status != old || old.refresh_time.is_none() || first {
            status.refresh_time = Some(to_k8s(now));
        }
    }
    metrics::condition(
        Kind::ExternalSecret,
        &name,
        &ns,
        CONDITION_READY,
        outcome.cond.status,
    );
    if es.status.as_ref() != Some(&status) {
        patch_status(ctx, &ns, &name, &status).await?;
    }
    // Only once the status says so: a sync remembered before a failed status write made the
    // retry find "nothing due" and the status stayed behind until the next periodic refresh.
    if outcome.synced {
        ctx.remember_sync(
            &key_of(es),
            refresh::current_resource_version(es),
            to_k8s(now),
        );
    }
    Ok(())
}

async fn patch_status(
    ctx: &Context,
    ns: &str,
    name: &str,
    status: &ExternalSecretStatus,
) -> Result<(), Error> {
    let api: Api<ExternalSecret> = Api::namespaced(ctx.client.clone(), ns);
    api.patch_status(
        name,
        &PatchParams::default(),
        &Patch::Merge(json!({ "status": status })),
    )
    .await?;
    Ok(())
}

async fn fail(
    es: &ExternalSecret,
    ctx: &Context,
    reason: &str,
    message: &str,
    event: &str,
    now: DateTime<Utc>,
) -> Result<(), Error> {
    ctx.event(es, EventType::Warning, EVENT_UPDATE_FAILED, event)
        .await;
    let outcome = Outcome {
        cond: Cond::ready(false, reason, message),
        synced: false,
        binding: false,
        written: false,
    };
    write_status(es, ctx, &outcome, now).await
}

async fn sync(es: &ExternalSecret, ctx: &Context) -> Result<Action, Error> {
    let now = Utc::now();
    let ns = es.namespace().unwrap_or_default();
    let key = key_of(es);
    if is_skipped(es, ctx).await {
        return Ok(Action::await_change());
    }
    let Some(target) = es.target_name().map(str::to_string) else {
        return Ok(Action::await_change());
    };
    if es
        .spec
        .target
        .as_ref()
        .is_some_and(|t| t.manifest.is_some())
    {
        // ESO needs --unsafe-allow-generic-targets for these; this controller has no such mode.
        let msg = "generic targets are disabled: spec.target.manifest is not supported by this controller";
        fail(es, ctx, REASON_SECRET_SYNCED_ERROR, msg, msg, now).await?;
        return Ok(Action::await_change());
    }
    let existing = target_secret(ctx, &ns, &target).await?;
    let cached_time = es.status.as_ref().and_then(|s| s.refresh_time.as_ref());
    let decision = match ctx.newer_sync(&key, cached_time) {
        Some((version, at)) => {
            let mut view = es.clone();
            let status = view.status.get_or_insert_with(Default::default);
            status.synced_resource_version = Some(version);
            status.refresh_time = Some(at);
            refresh::decide(&view, now)
        }
        None => refresh::decide(es, now),
    };
    if decision != Decision::Refresh && refresh::is_secret_valid(existing.as_deref(), es) {
        ctx.succeeded(&key);
        return Ok(requeue_for(es, decision, now));
    }

    let policy = namespace_policy(ctx, &ns).await?;
    let sources = KubeSources { ctx };
    let max_age = read_max_age(es, ctx);
    let fetched =
        match crate::stores::with_read_max_age(max_age, data::fetch(es, &sources, &policy)).await {
            Ok(f) => f,
            Err(e) => {
                let message = match &e {
                    FetchError::Policy(v) => v.to_string(),
                    _ => MSG_PROVIDER.to_string(),
                };
                fail(es, ctx, e.reason(), &message, &e.to_string(), now).await?;
                return Err(Error::Sync(e.to_string()));
            }
        };
    for message in &fetched.missing {
        ctx.event(
            es,
            EventType::Normal,
            EVENT_MISSING_PROVIDER_SECRET,
            message,
        )
        .await;
    }

    let creation = es.spec.effective_creation_policy();
    if fetched.data.is_empty() {
        match es.spec.effective_deletion_policy() {
            DeletionPolicy::Delete => {
                if creation != CreationPolicy::Owner {
                    let msg = "unable to delete secret: creationPolicy must be Owner";
                    fail(es, ctx, REASON_SECRET_SYNCED_ERROR, msg, msg, now).await?;
                    return Ok(Action::await_change());
                }
                if existing.is_some() {
                    let api: Api<Secret> = Api::namespaced(ctx.client.clone(), &ns);
                    if let Err(e) = apply::delete(&api, &target).await {
                        let msg = format!("could not delete secret: {e}");
                        fail(
                            es,
                            ctx,
                            REASON_SECRET_SYNCED_ERROR,
                            "could not delete secret",
                            &msg,
                            now,
                        )
                        .await?;
                        return Err(Error::Sync(msg));
                    }
                    ctx.event(es, EventType::Normal, EVENT_DELETED, MSG_DELETED)
                        .await;
                }
                let outcome = Outcome {
                    cond: Cond::ready(true, REASON_SECRET_DELETED, MSG_DELETED),
                    synced: true,
                    binding: false,
                    written: existing.is_some(),
                };
                write_status(es, ctx, &outcome, now).await?;
                ctx.succeeded(&key);
                return Ok(requeue_after_sync(es));
            }
            DeletionPolicy::Retain => {
                let outcome = Outcome {
                    cond: Cond::ready(true, REASON_SECRET_SYNCED, MSG_RETAINED),
                    synced: true,
                    binding: false,
                    written: false,
                };
                write_status(es, ctx, &outcome, now).await?;
                ctx.succeeded(&key);
                return Ok(requeue_after_sync(es));
            }
            DeletionPolicy::Merge => {}
        }
    }

    let sources = template::fetch_sources(&ctx.client, es).await?;
    let content = match template::content(es, &fetched.data, &sources, &ctx.config.template) {
        Ok(c) => c,
        Err(e) => {
            let msg = e.to_string();
            fail(es, ctx, REASON_SECRET_SYNCED_ERROR, &msg, &msg, now).await?;
            return Err(Error::Sync(msg));
        }
    };
    let plan = match desired::desired(es, &content, existing.as_deref()) {
        Ok(plan) => plan,
        Err(e) => {
            let msg = e.to_string();
            fail(es, ctx, REASON_SECRET_SYNCED_ERROR, &msg, &msg, now).await?;
            // Neither immutability nor foreign ownership heals by retrying.
            return match e {
                DesiredError::Immutable
                | DesiredError::OwnedByOther
                | DesiredError::AlreadyOwned(_) => Ok(Action::await_change()),
            };
        }
    };
    let outcome = match plan {
        Plan::Missing => Outcome {
            cond: Cond::ready(true, REASON_SECRET_MISSING, MSG_MISSING),
            synced: false,
            binding: false,
            written: false,
        },
        Plan::Skip => Outcome {
            cond: Cond::ready(true, REASON_SECRET_SYNCED, MSG_SYNCED),
            synced: true,
            binding: false,
            written: false,
        },
        plan => {
            let api: Api<Secret> = Api::namespaced(ctx.client.clone(), &ns);
            let manager = field_manager_for(&es.name_any());
            let written = match apply::execute(&api, plan, &manager).await {
                Ok(Written::Created) => {
                    ctx.event(es, EventType::Normal, EVENT_CREATED, "secret created")
                        .await;
                    if creation == CreationPolicy::Owner {
                        delete_orphans(es, ctx, &api).await?;
                    }
                    true
                }
                Ok(Written::Updated) => {
                    ctx.event(es, EventType::Normal, EVENT_UPDATED, "secret updated")
                        .await;
                    true
                }
                Ok(Written::Nothing) => false,
                Err(kube::Error::Api(e)) if e.code == 409 => {
                    return Ok(Action::requeue(CONFLICT_RETRY));
                }
                Err(e) => {
                    let msg = format!("could not update secret: {e}");
                    fail(
                        es,
                        ctx,
                        REASON_SECRET_SYNCED_ERROR,
                        "could not update secret",
                        &msg,
                        now,
                    )
                    .await?;
                    return Err(Error::Sync(msg));
                }
            };
            Outcome {
                cond: Cond::ready(true, REASON_SECRET_SYNCED, MSG_SYNCED),
                synced: true,
                binding: true,
                written,
            }
        }
    };
    write_status(es, ctx, &outcome, now).await?;
    ctx.succeeded(&key);
    Ok(requeue_after_sync(es))
}

/// Owner: deletes Secrets this ExternalSecret created under a previous target name. Runs after
/// a create, which is when a rename shows up.
async fn delete_orphans(
    es: &ExternalSecret,
    ctx: &Context,
    api: &Api<Secret>,
) -> Result<(), Error> {
    let ns = es.namespace().unwrap_or_default();
    // From the managed-Secret cache (as ESO's cached client does): a list request per created
    // Secret made the cold sync quadratic in the number of Secrets.
    let labelled: Vec<Secret> = ctx
        .created_by
        .get(&ns, &created_by_label(&ns, &es.name_any()))
        .into_iter()
        .filter_map(|r| ctx.cached_secret(&ns, &r.name))
        .map(|s| (*s).clone())
        .collect();
    for secret in desired::orphaned(es, &labelled) {
        let Some(name) = secret.metadata.name.as_deref() else {
            continue;
        };
        if let Err(e) = apply::delete(api, name).await {
            let msg = format!("could not delete orphaned secrets: {e}");
            fail(
                es,
                ctx,
                REASON_SECRET_SYNCED_ERROR,
                "could not delete orphaned secrets",
                &msg,
                Utc::now(),
            )
            .await?;
            return Err(Error::Sync(msg));
        }
        ctx.event(
            es,
            EventType::Normal,
            EVENT_DELETED,
            "secret deleted because it was orphaned",
        )
        .await;
    }
    Ok(())
}
