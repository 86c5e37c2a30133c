//! The ClusterPushSecret reconciler (reference §4.4): one PushSecret per namespace matching any
//! of `namespaceSelectors`, owned (controller reference) by the ClusterPushSecret. No
//! finalizers: when the ClusterPushSecret goes, the garbage collector removes the PushSecrets.

use std::collections::BTreeSet;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{OwnerReference, Time};
use k8s_openapi::jiff::Timestamp;
use kube::api::{DeleteParams, ObjectMeta, Patch, PatchParams, PostParams};
use kube::core::{Selector, SelectorExt};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::events::{Event, EventType, Reporter};
use kube::runtime::reflector::ObjectRef;
use kube::runtime::watcher;
use kube::{Api, Client, Resource, ResourceExt};
use shared::api::v1::ClusterExternalSecretNamespaceFailure;
use shared::api::v1alpha1::{
    ClusterPushSecret, ClusterPushSecretStatus, PushSecret, PushSecretStatusCondition,
};
use shared::duration::GoDuration;

use crate::events::BoundedRecorder;

/// Failure reason when a PushSecret of the same name exists and is not ours.
pub const REASON_EXISTS: &str = "push secret already exists in namespace";
/// Ready=False message when some namespace failed.
pub const MSG_NAMESPACES_FAILED: &str = "one or more namespaces failed";
/// Ready=False message (and Warning event) when the namespaces cannot be determined.
pub const MSG_NAMESPACES_UNKNOWN: &str = "failed to get target Namespaces";
/// Ready=False message (and Warning event) when PushSecrets of the old name cannot be deleted.
pub const MSG_DELETE_FAILED: &str = "failed to delete push secret";
/// Condition reason and event reason of those failures.
pub const REASON_ERRORED: &str = "Errored";
/// Default `refreshTime`.
const DEFAULT_REFRESH: Duration = Duration::from_secs(3600);

struct Ctx {
    client: Client,
    recorder: BoundedRecorder,
}

#[derive(Debug, thiserror::Error)]
pub enum CpsError {
    #[error("listing namespaces: {0}")]
    Namespaces(#[source] kube::Error),
    #[error("invalid namespaceSelectors: {0}")]
    Selector(String),
    #[error("writing ClusterPushSecret status: {0}")]
    Status(#[source] kube::Error),
    #[error("{MSG_DELETE_FAILED}: {0}")]
    DeleteOld(String),
}

/// Names of the namespaces any selector matches (no selectors ⇒ none), skipping terminating ones.
pub fn matching_namespaces(
    cps: &ClusterPushSecret,
    namespaces: &[Namespace],
) -> Result<BTreeSet<String>, CpsError> {
    let selectors = cps
        .spec
        .namespace_selectors
        .iter()
        .flatten()
        .map(|s| Selector::try_from(s.clone()).map_err(|e| CpsError::Selector(e.to_string())))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(namespaces
        .iter()
        .filter(|n| n.metadata.deletion_timestamp.is_none())
        .filter(|n| selectors.iter().any(|s| s.matches(n.labels())))
        .map(|n| n.name_any())
        .collect())
}

/// Whether `ps` is controller-owned by `cps` (apiVersion, kind and name, as ESO checks).
pub fn owned_by(ps: &PushSecret, cps: &ClusterPushSecret) -> bool {
    let api_version = ClusterPushSecret::api_version(&());
    let kind = ClusterPushSecret::kind(&());
    ps.owner_references().iter().any(|o| {
        o.controller == Some(true)
            && o.api_version == api_version
            && o.kind == kind
            && Some(&o.name) == cps.metadata.name.as_ref()
    })
}

/// The PushSecret the ClusterPushSecret wants in `namespace`.
pub fn desired_pushsecret(cps: &ClusterPushSecret, name: &str, namespace: &str) -> PushSecret {
    let meta = cps.spec.push_secret_metadata.clone().unwrap_or_default();
    PushSecret {
        metadata: ObjectMeta {
            name: Some(name.into()),
            namespace: Some(namespace.into()),
            labels: meta.labels,
            annotations: meta.annotations,
            owner_references: Some(vec![OwnerReference {
                api_version: ClusterPushSecret::api_version(&()).into(),
                kind: ClusterPushSecret::kind(&()).into(),
                name: cps.name_any(),
                uid: cps.metadata.uid.clone().unwrap_or_default(),
                controller: Some(true),
                block_owner_deletion: Some(true),
            }]),
            ..Default::default()
        },
        spec: cps.spec.push_secret_spec.clone(),
        status: None,
    }
}

/// Runs the ClusterPushSecret reconciler until `shutdown` resolves.
pub async fn run(client: Client, shutdown: impl Future<Output = ()> + Send + Sync + 'static) {
    let ctx = Arc::new(Ctx {
        client: client.clone(),
        recorder: BoundedRecorder::new(
            client.clone(),
            Reporter {
                controller: "external-secrets-controller".into(),
                instance: None,
            },
        ),
    });
    let controller = Controller::new(
        Api::<ClusterPushSecret>::all(client.clone()),
        watcher::Config::default(),
    );
    let store = controller.store();
    controller
        .owns(
            Api::<PushSecret>::all(client.clone()),
            watcher::Config::default(),
        )
        .watches(
            Api::<Namespace>::all(client),
            watcher::Config::default(),
            move |_ns| {
                store
                    .state()
                    .iter()
                    .map(|c| ObjectRef::from_obj(c.as_ref()))
                    .collect::<Vec<_>>()
            },
        )
        .graceful_shutdown_on(shutdown)
        .run(reconcile, error_policy, ctx)
        .for_each(|_| futures::future::ready(()))
        .await;
}

fn error_policy(cps: Arc<ClusterPushSecret>, err: &CpsError, _ctx: Arc<Ctx>) -> Action {
    tracing::warn!(name = %cps.name_any(), error = %err, "cluster push secret reconcile failed");
    Action::requeue(Duration::from_secs(10))
}

async fn reconcile(cps: Arc<ClusterPushSecret>, ctx: Arc<Ctx>) -> Result<Action, CpsError> {
    if cps.metadata.deletion_timestamp.is_some() {
        return Ok(Action::await_change());
    }
    let refresh = cps
        .spec
        .refresh_time
        .as_deref()
        .and_then(|t| GoDuration::parse(t).ok())
        .and_then(GoDuration::to_std)
        .filter(|d| !d.is_zero())
        .unwrap_or(DEFAULT_REFRESH);
    let name = cps.push_secret_name().unwrap_or_default().to_string();
    let old_status = cps.status.clone().unwrap_or_default();
    let old_name = old_status
        .push_secret_name
        .clone()
        .unwrap_or_else(|| name.clone());
    let mut failed = Vec::new();

    // After a rename every PushSecret of the old name goes first; a failure stops the
    // reconcile (ESO's deleteOldPushSecrets).
    if old_name != name {
        for ns in old_status.provisioned_namespaces.iter().flatten() {
            if let Err(reason) = delete_owned(&ctx.client, &cps, ns, &old_name).await {
                failed.push(ClusterExternalSecretNamespaceFailure {
                    namespace: ns.clone(),
                    reason: Some(reason),
                });
            }
        }
        if !failed.is_empty() {
            let detail = failed
                .iter()
                .map(|f| f.namespace.clone())
                .collect::<Vec<_>>()
                .join(", ");
            mark_failed(&ctx, &cps, &old_status, MSG_DELETE_FAILED, Some(failed)).await?;
            return Err(CpsError::DeleteOld(detail));
        }
    }

    let wanted = match target_namespaces(&ctx.client, &cps).await {
        Ok(w) => w,
        Err(e) => {
            mark_failed(&ctx, &cps, &old_status, MSG_NAMESPACES_UNKNOWN, None).await?;
            return Err(e);
        }
    };

    // Namespaces that stopped matching (ESO's deleteOutdatedPushSecrets).
    if old_name == name {
        for ns in old_status.provisioned_namespaces.iter().flatten() {
            if wanted.contains(ns) {
                continue;
            }
            if let Err(reason) = delete_owned(&ctx.client, &cps, ns, &name).await {
                failed.push(ClusterExternalSecretNamespaceFailure {
                    namespace: ns.clone(),
                    reason: Some(reason),
                });
            }
        }
    }

    let mut provisioned = Vec::new();
    for ns in &wanted {
        match ensure(&ctx.client, &cps, ns, &name).await {
            Ok(()) => provisioned.push(ns.clone()),
            Err(reason) => failed.push(ClusterExternalSecretNamespaceFailure {
                namespace: ns.clone(),
                reason: Some(reason),
            }),
        }
    }

    let ok = failed.is_empty();
    let condition = PushSecretStatusCondition {
        type_: "Ready".into(),
        status: if ok { "True" } else { "False" }.into(),
        reason: None,
        message: (!ok).then(|| MSG_NAMESPACES_FAILED.to_string()),
        last_transition_time: None,
    };
    let previous = old_status
        .conditions
        .iter()
        .flatten()
        .find(|c| c.type_ == "Ready");
    let last_transition_time = match previous {
        Some(c) if c.status == condition.status => c.last_transition_time.clone(),
        _ => Some(Time(Timestamp::now())),
    };
    let status = ClusterPushSecretStatus {
        failed_namespaces: (!failed.is_empty()).then_some(failed),
        provisioned_namespaces: (!provisioned.is_empty()).then_some(provisioned),
        push_secret_name: Some(name),
        conditions: Some(vec![PushSecretStatusCondition {
            last_transition_time,
            ..condition
        }]),
    };
    if cps.status.as_ref() != Some(&status) {
        // Replace lists wholesale: a merge patch does that for arrays, and null clears them.
        let patch = serde_json::json!({ "status": {
            "failedNamespaces": status.failed_namespaces,
            "provisionedNamespaces": status.provisioned_namespaces,
            "pushSecretName": status.push_secret_name,
            "conditions": status.conditions,
        }});
        Api::<ClusterPushSecret>::all(ctx.client.clone())
            .patch_status(
                &cps.name_any(),
                &PatchParams::default(),
                &Patch::Merge(patch),
            )
            .await
            .map_err(CpsError::Status)?;
    }
    Ok(Action::requeue(refresh))
}

/// Creates or updates the PushSecret in `ns`; `Err` carries the namespace failure reason.
async fn ensure(
    client: &Client,
    cps: &ClusterPushSecret,
    ns: &str,
    name: &str,
) -> Result<(), String> {
    let api: Api<PushSecret> = Api::namespaced(client.clone(), ns);
    let desired = desired_pushsecret(cps, name, ns);
    match api.get_opt(name).await.map_err(|e| e.to_string())? {
        None => api
            .create(&PostParams::default(), &desired)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string()),
        Some(existing) if !owned_by(&existing, cps) => Err(REASON_EXISTS.into()),
        Some(existing) => {
            let same = existing.spec == desired.spec
                && existing.metadata.labels.clone().unwrap_or_default()
                    == desired.metadata.labels.clone().unwrap_or_default()
                && existing.metadata.annotations.clone().unwrap_or_default()
                    == desired.metadata.annotations.clone().unwrap_or_default();
            if same {
                return Ok(());
            }
            let mut next = existing.clone();
            next.spec = desired.spec;
            next.metadata.labels = desired.metadata.labels;
            next.metadata.annotations = desired.metadata.annotations;
            api.replace(name, &PostParams::default(), &next)
                .await
                .map(|_| ())
                .map_err(|e| e.to_string())
        }
    }
}

/// Deletes the PushSecret `name` in `ns` if this ClusterPushSecret owns it; `Err` carries the
/// namespace failure reason.
async fn delete_owned(
    client: &Client,
    cps: &ClusterPushSecret,
    ns: &str,
    name: &str,
) -> Result<(), String> {
    let api: Api<PushSecret> = Api::namespaced(client.clone(), ns);
    match api.get_opt(name).await {
        Ok(Some(ps)) if owned_by(&ps, cps) => {
            match api.delete(name, &DeleteParams::default()).await {
                Ok(_) => Ok(()),
                Err(kube::Error::Api(s)) if s.code == 404 => Ok(()),
                Err(e) => {
                    tracing::warn!(namespace = %ns, %name, error = %e, "deleting PushSecret failed");
                    Err(format!(
                        "external secret in non matching namespace could not be deleted: {e}"
                    ))
                }
            }
        }
        Ok(_) => Ok(()),
        Err(e) => {
            tracing::warn!(namespace = %ns, %name, error = %e, "reading PushSecret failed");
            Err(e.to_string())
        }
    }
}

/// Lists the namespaces and applies the selectors.
async fn target_namespaces(
    client: &Client,
    cps: &ClusterPushSecret,
) -> Result<BTreeSet<String>, CpsError> {
    let all = Api::<Namespace>::all(client.clone())
        .list(&Default::default())
        .await
        .map_err(CpsError::Namespaces)?
        .items;
    matching_namespaces(cps, &all)
}

/// ESO's markAsFailed: Ready=False `Errored` with `message` (plus the namespace failures, if
/// any) in status, and a Warning `Errored` event.
async fn mark_failed(
    ctx: &Ctx,
    cps: &ClusterPushSecret,
    old_status: &ClusterPushSecretStatus,
    message: &str,
    failed: Option<Vec<ClusterExternalSecretNamespaceFailure>>,
) -> Result<(), CpsError> {
    let previous = old_status
        .conditions
        .iter()
        .flatten()
        .find(|c| c.type_ == "Ready");
    let unchanged = previous.is_some_and(|c| {
        c.status == "False"
            && c.reason.as_deref() == Some(REASON_ERRORED)
            && c.message.as_deref() == Some(message)
    });
    let last_transition_time = match previous {
        Some(c) if c.status == "False" => c.last_transition_time.clone(),
        _ => Some(Time(Timestamp::now())),
    };
    let mut patch = serde_json::json!({ "status": {
        "pushSecretName": cps.push_secret_name().unwrap_or_default(),
        "conditions": [PushSecretStatusCondition {
            type_: "Ready".into(),
            status: "False".into(),
            reason: Some(REASON_ERRORED.into()),
            message: Some(message.into()),
            last_transition_time,
        }],
    }});
    let failed_same = failed
        .as_ref()
        .is_none_or(|f| old_status.failed_namespaces.as_ref() == Some(f));
    if let Some(failed) = failed {
        patch["status"]["failedNamespaces"] = serde_json::json!(failed);
    }
    let event = Event {
        type_: EventType::Warning,
        reason: REASON_ERRORED.into(),
        note: Some(message.into()),
        action: REASON_ERRORED.into(),
        secondary: None,
    };
    if let Err(e) = ctx.recorder.publish(&event, &cps.object_ref(&())).await {
        tracing::debug!(error = %e, "could not publish event");
    }
    if unchanged && failed_same {
        return Ok(());
    }
    Api::<ClusterPushSecret>::all(ctx.client.clone())
        .patch_status(
            &cps.name_any(),
            &PatchParams::default(),
            &Patch::Merge(patch),
        )
        .await
        .map_err(CpsError::Status)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn cps(yaml: &str) -> ClusterPushSecret {
        let mut c: ClusterPushSecret = serde_saphyr::from_str(yaml).unwrap();
        c.metadata.uid = Some("u1".into());
        c
    }

    fn ns(name: &str, labels: &[(&str, &str)]) -> Namespace {
        Namespace {
            metadata: ObjectMeta {
                name: Some(name.into()),
                labels: Some(
                    labels
                        .iter()
                        .map(|(k, v)| (k.to_string(), v.to_string()))
                        .collect::<BTreeMap<_, _>>(),
                ),
                ..Default::default()
            },
            ..Default::default()
        }
    }

    const CPS: &str = "apiVersion: external-secrets.io/v1alpha1\nkind: ClusterPushSecret\nmetadata: {name: c}\nspec:\n  namespaceSelectors:\n  - matchLabels: {team: a}\n  - matchExpressions: [{key: env, operator: In, values: [prod]}]\n  pushSecretMetadata: {labels: {x: y}}\n  pushSecretSpec:\n    secretStoreRefs: [{name: s}]\n    selector: {secret: {name: src}}\n";

    #[test]
    fn selectors_are_a_union_and_none_selects_nothing() {
        let c = cps(CPS);
        let all = [
            ns("a", &[("team", "a")]),
            ns("p", &[("env", "prod")]),
            ns("o", &[("team", "b")]),
        ];
        assert_eq!(
            matching_namespaces(&c, &all)
                .unwrap()
                .into_iter()
                .collect::<Vec<_>>(),
            vec!["a", "p"]
        );
        let mut none = c.clone();
        none.spec.namespace_selectors = None;
        assert!(matching_namespaces(&none, &all).unwrap().is_empty());
    }

    #[test]
    fn desired_pushsecret_is_controller_owned_and_carries_metadata() {
        let c = cps(CPS);
        assert_eq!(c.push_secret_name(), Some("c"));
        let ps = desired_pushsecret(&c, "c", "a");
        assert!(owned_by(&ps, &c));
        assert_eq!(ps.labels().get("x").map(String::as_str), Some("y"));
        assert_eq!(ps.spec, c.spec.push_secret_spec);
        let mut other = c.clone();
        other.metadata.name = Some("d".into());
        assert!(!owned_by(&ps, &other));
    }
}
