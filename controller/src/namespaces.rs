//! The Namespace cache behind namespace policies and ClusterSecretStore conditions.
//!
//! Cluster-wide, a watch keeps it current. Under `--namespace` the controller only has a Role,
//! and RBAC ignores field selectors: no Role can allow a list or watch of Namespaces, even of
//! `metadata.name=<its namespace>`, while a Role in that namespace may `get` it. So the one
//! Namespace is read periodically instead.

use std::time::Duration;

use futures::StreamExt;
use futures::future::BoxFuture;
use k8s_openapi::api::core::v1::Namespace;
use kube::runtime::reflector::{self, Store, store::Writer};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Client};

/// How often the single watched Namespace is read again under `--namespace`; namespace policy
/// annotation changes take effect within this time.
pub const POLL: Duration = Duration::from_secs(10);

/// The cache and the future that fills it (to be spawned by the caller).
pub fn cache(client: Client, only: Option<&str>) -> (Store<Namespace>, BoxFuture<'static, ()>) {
    let (reader, writer) = reflector::store::<Namespace>();
    let api = Api::<Namespace>::all(client);
    let fill: BoxFuture<'static, ()> = match only {
        None => Box::pin(watch_all(api, writer)),
        Some(name) => Box::pin(poll(api, name.to_string(), writer, POLL)),
    };
    (reader, fill)
}

/// Every Namespace, kept current by a watch (cluster-wide installs only).
async fn watch_all(api: Api<Namespace>, writer: Writer<Namespace>) {
    watcher(api, watcher::Config::default())
        .default_backoff()
        .reflect(writer)
        .for_each(|event| {
            if let Err(e) = event {
                tracing::warn!(error = %e, "namespace watch error");
            }
            std::future::ready(())
        })
        .await;
}

/// Reads one Namespace every `period`, replacing the cache's content each time (a deleted
/// Namespace leaves it empty). The cache is ready after the first successful read.
async fn poll(api: Api<Namespace>, name: String, mut writer: Writer<Namespace>, period: Duration) {
    loop {
        match api.get_opt(&name).await {
            Ok(found) => {
                writer.apply_watcher_event(&watcher::Event::Init);
                if let Some(ns) = found {
                    writer.apply_watcher_event(&watcher::Event::InitApply(ns));
                }
                writer.apply_watcher_event(&watcher::Event::InitDone);
            }
            Err(e) => tracing::warn!(namespace = %name, error = %e, "namespace read error"),
        }
        tokio::time::sleep(period).await;
    }
}
