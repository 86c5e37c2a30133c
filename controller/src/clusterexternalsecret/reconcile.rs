//! One ClusterExternalSecret reconcile (reference §4.3).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::api::{DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::runtime::controller::Action;
use kube::{Api, Client, Resource, ResourceExt};
use serde_json::json;
use shared::api::v1::{
    CES_CONDITION_READY, ClusterExternalSecret, ClusterExternalSecretNamespaceFailure,
    ClusterExternalSecretStatus, ClusterExternalSecretStatusCondition, ExternalSecret,
};
use shared::duration::GoDuration;

use super::selector::target_namespaces;
use crate::context::{key_of, set_finalizer};
use crate::externalsecret::reconcile::ANNOTATION_FORCE_SYNC;
use crate::metrics::{self, Kind};

/// Finalizer on the ClusterExternalSecret.
pub const FINALIZER: &str = "externalsecrets.external-secrets.io/clusterexternalsecret-cleanup";
/// Prefix of the per-CES finalizer put on every provisioned namespace.
pub const NAMESPACE_FINALIZER_PREFIX: &str = "externalsecrets.external-secrets.io/ces-";
/// Namespace failure when a foreign ExternalSecret has the target name.
pub const MSG_EXISTS: &str = "external secret already exists in namespace";
const MSG_FAILED: &str = "one or more namespaces failed";
const DEFAULT_REFRESH: Duration = Duration::from_secs(3600);

/// Reconcile failures.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// API call failed.
    #[error(transparent)]
    Kube(#[from] kube::Error),
}

/// Shared state of the CES controller.
pub struct CesContext {
    /// Kubernetes client.
    pub client: Client,
}

fn namespace_finalizer(ces: &ClusterExternalSecret) -> String {
    format!("{NAMESPACE_FINALIZER_PREFIX}{}", ces.name_any())
}

fn owner_ref(ces: &ClusterExternalSecret) -> Option<OwnerReference> {
    ces.controller_owner_ref(&())
}

fn owned_by(es: &ExternalSecret, ces: &ClusterExternalSecret) -> bool {
    es.metadata.owner_references.iter().flatten().any(|r| {
        r.controller == Some(true) && r.kind == "ClusterExternalSecret" && r.name == ces.name_any()
    })
}

fn refresh_after(ces: &ClusterExternalSecret) -> Duration {
    ces.spec
        .refresh_time
        .as_deref()
        .and_then(|t| GoDuration::parse(t).ok())
        .and_then(GoDuration::to_std)
        .filter(|d| !d.is_zero())
        .unwrap_or(DEFAULT_REFRESH)
}

/// The ExternalSecret the CES wants in `namespace`.
pub fn desired_es(
    ces: &ClusterExternalSecret,
    namespace: &str,
    existing: Option<&ExternalSecret>,
) -> ExternalSecret {
    let name = ces.external_secret_name().unwrap_or_default().to_string();
    let meta = ces
        .spec
        .external_secret_metadata
        .clone()
        .unwrap_or_default();
    let mut annotations = meta.annotations.unwrap_or_default();
    if let Some(v) = ces.annotations().get(ANNOTATION_FORCE_SYNC) {
        annotations.insert(ANNOTATION_FORCE_SYNC.to_string(), v.clone());
    }
    let mut es = existing
        .cloned()
        .unwrap_or_else(|| ExternalSecret::new(&name, Default::default()));
    es.metadata.namespace = Some(namespace.to_string());
    es.metadata.labels = (!meta.labels.as_ref().is_none_or(BTreeMap::is_empty))
        .then(|| meta.labels.unwrap_or_default());
    es.metadata.annotations = (!annotations.is_empty()).then_some(annotations);
    es.metadata.owner_references = owner_ref(ces).map(|r| vec![r]);
    es.spec = ces.spec.external_secret_spec.clone();
    es.status = None;
    es.metadata.managed_fields = None;
    es
}

fn differs(a: &ExternalSecret, b: &ExternalSecret) -> bool {
    a.spec != b.spec
        || a.metadata.labels != b.metadata.labels
        || a.metadata.annotations != b.metadata.annotations
        || a.metadata.owner_references != b.metadata.owner_references
}

/// Reconciles one ClusterExternalSecret.
pub async fn reconcile(
    ces: Arc<ClusterExternalSecret>,
    ctx: Arc<CesContext>,
) -> Result<Action, Error> {
    let started = Instant::now();
    let name = ces.name_any();
    let api: Api<ClusterExternalSecret> = Api::all(ctx.client.clone());
    let result = if ces.metadata.deletion_timestamp.is_some() {
        match cleanup(&ces, &ctx).await {
            Ok(action) => set_finalizer(&api, ces.as_ref(), FINALIZER, false)
                .await
                .map(|_| action)
                .map_err(Error::from),
            Err(e) => Err(e),
        }
    } else {
        match set_finalizer(&api, ces.as_ref(), FINALIZER, true).await {
            Ok(true) => Ok(Action::await_change()),
            Ok(false) => apply(&ces, &ctx).await,
            Err(e) => Err(Error::from(e)),
        }
    };
    metrics::reconcile_duration(Kind::ClusterExternalSecret, &name, "", started.elapsed());
    if result.is_ok() && ces.metadata.deletion_timestamp.is_some() {
        metrics::forget(Kind::ClusterExternalSecret, &name, "");
    }
    result
}

/// Error policy: retry after a short pause.
pub fn error_policy(ces: Arc<ClusterExternalSecret>, err: &Error, _: Arc<CesContext>) -> Action {
    tracing::debug!(ces = %key_of(ces.as_ref()), error = %err, "reconcile failed");
    Action::requeue(Duration::from_secs(5))
}

async fn set_namespace_finalizer(
    client: &Client,
    ns: &Namespace,
    finalizer: &str,
    present: bool,
) -> Result<(), Error> {
    let mut finalizers = ns.metadata.finalizers.clone().unwrap_or_default();
    let has = finalizers.iter().any(|f| f == finalizer);
    if has == present {
        return Ok(());
    }
    if present {
        finalizers.push(finalizer.to_string());
    } else {
        finalizers.retain(|f| f != finalizer);
    }
    let patch = json!({"metadata": {"finalizers": finalizers, "resourceVersion": ns.metadata.resource_version}});
    Api::<Namespace>::all(client.clone())
        .patch(
            &ns.name_any(),
            &PatchParams::default(),
            &Patch::Merge(patch),
        )
        .await?;
    Ok(())
}

async fn delete_owned(
    client: &Client,
    ces: &ClusterExternalSecret,
    namespace: &str,
    es_name: &str,
) -> Result<(), Error> {
    let api: Api<ExternalSecret> = Api::namespaced(client.clone(), namespace);
    if let Some(es) = api.get_opt(es_name).await?
        && owned_by(&es, ces)
    {
        match api.delete(es_name, &DeleteParams::default()).await {
            Ok(_) => {}
            Err(kube::Error::Api(e)) if e.code == 404 => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

async fn apply(ces: &ClusterExternalSecret, ctx: &CesContext) -> Result<Action, Error> {
    let client = &ctx.client;
    let ns_api: Api<Namespace> = Api::all(client.clone());
    let all = ns_api.list(&ListParams::default()).await?.items;
    let finalizer = namespace_finalizer(ces);
    let es_name = ces.external_secret_name().unwrap_or_default().to_string();
    let old = ces.status.clone().unwrap_or_default();

    let live: BTreeMap<String, BTreeMap<String, String>> = all
        .iter()
        .filter(|n| n.metadata.deletion_timestamp.is_none())
        .map(|n| (n.name_any(), n.labels().clone()))
        .collect();
    let targets = target_namespaces(ces, &live);

    // Namespaces on their way out: release them.
    for ns in all
        .iter()
        .filter(|n| n.metadata.deletion_timestamp.is_some())
    {
        set_namespace_finalizer(client, ns, &finalizer, false).await?;
    }

    // Renamed ExternalSecrets and namespaces that stopped matching.
    let previous: BTreeSet<String> = old
        .provisioned_namespaces
        .clone()
        .unwrap_or_default()
        .into_iter()
        .collect();
    if let Some(old_name) = old
        .external_secret_name
        .as_deref()
        .filter(|n| *n != es_name)
    {
        for ns in &previous {
            delete_owned(client, ces, ns, old_name).await?;
        }
    }
    for ns in previous.difference(&targets) {
        delete_owned(client, ces, ns, &es_name).await?;
        if let Some(n) = all.iter().find(|n| &n.name_any() == ns) {
            set_namespace_finalizer(client, n, &finalizer, false).await?;
        }
    }

    let mut provisioned = Vec::new();
    let mut failed = Vec::new();
    for ns in &targets {
        let api: Api<ExternalSecret> = Api::namespaced(client.clone(), ns);
        let existing = api.get_opt(&es_name).await?;
        if let Some(es) = &existing
            && !owned_by(es, ces)
        {
            failed.push(ClusterExternalSecretNamespaceFailure {
                namespace: ns.clone(),
                reason: Some(MSG_EXISTS.into()),
            });
            continue;
        }
        if let Some(n) = all.iter().find(|n| &n.name_any() == ns) {
            set_namespace_finalizer(client, n, &finalizer, true).await?;
        }
        let want = desired_es(ces, ns, existing.as_ref());
        let pp = PostParams::default();
        let result = match &existing {
            None => api.create(&pp, &want).await.map(|_| ()),
            Some(current) if differs(current, &want) => {
                api.replace(&es_name, &pp, &want).await.map(|_| ())
            }
            Some(_) => Ok(()),
        };
        match result {
            Ok(()) => provisioned.push(ns.clone()),
            Err(e) => failed.push(ClusterExternalSecretNamespaceFailure {
                namespace: ns.clone(),
                reason: Some(e.to_string()),
            }),
        }
    }
    provisioned.sort();

    let ready = failed.is_empty();
    metrics::condition(
        Kind::ClusterExternalSecret,
        &ces.name_any(),
        "",
        CES_CONDITION_READY,
        ready,
    );
    let status = ClusterExternalSecretStatus {
        external_secret_name: Some(es_name),
        failed_namespaces: (!failed.is_empty()).then_some(failed),
        provisioned_namespaces: (!provisioned.is_empty()).then_some(provisioned),
        conditions: Some(vec![ClusterExternalSecretStatusCondition {
            type_: CES_CONDITION_READY.into(),
            status: if ready { "True" } else { "False" }.into(),
            message: (!ready).then(|| MSG_FAILED.to_string()),
        }]),
    };
    if ces.status.as_ref() != Some(&status) {
        // Null clears lists that became empty (a merge patch leaves absent fields alone).
        let mut body = serde_json::to_value(&status).unwrap_or_default();
        for field in ["failedNamespaces", "provisionedNamespaces"] {
            if body.get(field).is_none() {
                body[field] = serde_json::Value::Null;
            }
        }
        Api::<ClusterExternalSecret>::all(client.clone())
            .patch_status(
                &ces.name_any(),
                &PatchParams::default(),
                &Patch::Merge(json!({"status": body})),
            )
            .await?;
    }
    Ok(Action::requeue(refresh_after(ces)))
}

async fn cleanup(ces: &ClusterExternalSecret, ctx: &CesContext) -> Result<Action, Error> {
    let client = &ctx.client;
    let finalizer = namespace_finalizer(ces);
    let status = ces.status.clone().unwrap_or_default();
    let es_name = status
        .external_secret_name
        .clone()
        .or_else(|| ces.external_secret_name().map(str::to_string))
        .unwrap_or_default();
    for ns in status.provisioned_namespaces.iter().flatten() {
        delete_owned(client, ces, ns, &es_name).await?;
    }
    let namespaces = Api::<Namespace>::all(client.clone())
        .list(&ListParams::default())
        .await?;
    for ns in &namespaces.items {
        set_namespace_finalizer(client, ns, &finalizer, false).await?;
    }
    Ok(Action::await_change())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde_json::json;

    use super::*;

    #[test]
    fn desired_es_copies_spec_metadata_owner_and_force_sync() {
        let mut ces: ClusterExternalSecret = serde_json::from_value(json!({
            "apiVersion": "external-secrets.io/v1", "kind": "ClusterExternalSecret",
            "metadata": {"name": "shared", "uid": "ces-uid",
                          "annotations": {"external-secrets.io/force-sync": "123"}},
            "spec": {
                "externalSecretName": "db",
                "externalSecretMetadata": {"labels": {"a": "b"}, "annotations": {"c": "d"}},
                "externalSecretSpec": {"refreshInterval": "5m", "secretStoreRef": {"name": "s", "kind": "ClusterSecretStore"}}
            }
        }))
        .expect("ces");
        let es = desired_es(&ces, "team-a", None);
        assert_eq!(es.metadata.name.as_deref(), Some("db"));
        assert_eq!(es.metadata.namespace.as_deref(), Some("team-a"));
        assert_eq!(es.spec.refresh_interval.as_deref(), Some("5m"));
        assert_eq!(
            es.metadata.labels,
            Some(BTreeMap::from([("a".into(), "b".into())]))
        );
        let ann = es.metadata.annotations.clone().expect("annotations");
        assert_eq!(ann.get("c").map(String::as_str), Some("d"));
        assert_eq!(
            ann.get(ANNOTATION_FORCE_SYNC).map(String::as_str),
            Some("123")
        );
        let refs = es.metadata.owner_references.clone().expect("owner");
        assert_eq!(
            (refs[0].kind.as_str(), refs[0].controller),
            ("ClusterExternalSecret", Some(true))
        );
        assert!(owned_by(&es, &ces));

        // Dropping the annotation on the CES prunes it from the ExternalSecret.
        ces.metadata.annotations = None;
        let pruned = desired_es(&ces, "team-a", Some(&es));
        assert!(
            !pruned
                .metadata
                .annotations
                .as_ref()
                .expect("c stays")
                .contains_key(ANNOTATION_FORCE_SYNC)
        );
        assert!(!differs(
            &desired_es(&ces, "team-a", Some(&pruned)),
            &pruned
        ));
    }
}
