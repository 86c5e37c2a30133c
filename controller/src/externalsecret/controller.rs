//! Wiring of the ExternalSecret controller: watches, predicates and the Secret → ExternalSecret
//! mapping.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::Secret;
use kube::runtime::controller::{self, Controller};
use kube::runtime::reflector;
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Client, ResourceExt};
use shared::api::v1::ExternalSecret;
use tokio::sync::watch;

use super::reconcile::{error_policy, reconcile};
use super::targets::{CreatedByIndex, TargetIndex};
use crate::context::{Config, Context, StoreAccess};
use crate::secrets::{LABEL_MANAGED, LABEL_MANAGED_VALUE, managed_fields};

/// ESO's update predicate: enqueue only when generation, labels, annotations, finalizers or
/// the deletion timestamp change; status-only updates are ignored.
pub fn es_predicate(es: &ExternalSecret) -> Option<u64> {
    let mut h = DefaultHasher::new();
    es.metadata.generation.hash(&mut h);
    es.metadata.labels.hash(&mut h);
    es.metadata.annotations.hash(&mut h);
    es.metadata.finalizers.hash(&mut h);
    es.metadata
        .deletion_timestamp
        .as_ref()
        .map(|t| t.0.as_second())
        .hash(&mut h);
    Some(h.finish())
}

/// A future that resolves once `stop` turns true (or its sender is gone).
pub async fn stopped(stop: watch::Receiver<bool>) {
    let mut stop = stop;
    while !*stop.borrow() {
        if stop.changed().await.is_err() {
            break;
        }
    }
}

fn api_for<K>(client: &Client, namespace: Option<&str>) -> Api<K>
where
    K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>,
{
    match namespace {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    }
}

/// Runs the ExternalSecret controller until `stop` turns true.
pub async fn run(
    client: Client,
    config: Config,
    stores: Arc<dyn StoreAccess>,
    stop: watch::Receiver<bool>,
) {
    let ns = config.namespace.clone();
    let (es_reader, es_writer) = reflector::store::<ExternalSecret>();
    let targets = Arc::new(TargetIndex::default());
    let observed = targets.clone();
    let es_stream = watcher(
        api_for::<ExternalSecret>(&client, ns.as_deref()),
        watcher::Config::default(),
    )
    .default_backoff()
    .map_ok(move |event| {
        observed.observe(&event);
        event
    })
    // Nothing reads an ExternalSecret's managedFields; they are a good part of its size.
    .modify(|es| es.metadata.managed_fields = None)
    .reflect(es_writer)
    .applied_objects()
    .predicate_filter(es_predicate, Default::default());

    let (secret_reader, secret_writer) = reflector::store::<Secret>();
    let managed = format!("{LABEL_MANAGED}={LABEL_MANAGED_VALUE}");
    let created_by = Arc::new(CreatedByIndex::default());
    let observed = created_by.clone();
    let secret_stream = watcher(
        api_for::<Secret>(&client, ns.as_deref()),
        watcher::Config::default().labels(&managed),
    )
    .default_backoff()
    .map_ok(move |event| {
        observed.observe(&event);
        event
    })
    // Key ownership is all the reconciler reads of a Secret's managedFields.
    .modify(managed_fields::compact)
    .reflect(secret_writer)
    .touched_objects();

    let (ns_reader, ns_fill) = crate::namespaces::cache(client.clone(), ns.as_deref());
    let ns_watch = tokio::spawn(ns_fill);

    let concurrency = config.concurrent.max(1);
    let ctx = Arc::new(Context::new(
        client,
        config,
        stores,
        secret_reader,
        ns_reader,
        created_by,
    ));
    Controller::for_stream(es_stream, es_reader)
        .with_config(controller::Config::default().concurrency(concurrency))
        .watches_stream(secret_stream, move |secret: Secret| {
            targets.writers(&secret.namespace().unwrap_or_default(), &secret.name_any())
        })
        .graceful_shutdown_on(stopped(stop))
        .run(reconcile, error_policy, ctx)
        .for_each(|_| std::future::ready(()))
        .await;
    ns_watch.abort();
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use shared::api::v1::{ExternalSecretSpec, ExternalSecretStatus};

    use super::*;

    #[test]
    fn predicate_ignores_status_only_updates() {
        let mut es = ExternalSecret::new("db", ExternalSecretSpec::default());
        es.metadata.generation = Some(1);
        let base = es_predicate(&es);
        let mut status = es.clone();
        status.status = Some(ExternalSecretStatus {
            synced_resource_version: Some("x".into()),
            ..Default::default()
        });
        status.metadata.resource_version = Some("99".into());
        assert_eq!(es_predicate(&status), base);

        let mut changes: Vec<ExternalSecret> = Vec::new();
        let mut g = es.clone();
        g.metadata.generation = Some(2);
        changes.push(g);
        let mut l = es.clone();
        l.metadata.labels = Some(BTreeMap::from([("a".into(), "b".into())]));
        changes.push(l);
        let mut a = es.clone();
        a.metadata.annotations = Some(BTreeMap::from([("a".into(), "b".into())]));
        changes.push(a);
        let mut f = es.clone();
        f.metadata.finalizers = Some(vec!["x".into()]);
        changes.push(f);
        let mut d = es.clone();
        d.metadata.deletion_timestamp =
            Some(crate::externalsecret::clock::to_k8s(chrono::Utc::now()));
        changes.push(d);
        for c in changes {
            assert_ne!(es_predicate(&c), base);
        }
    }
}
