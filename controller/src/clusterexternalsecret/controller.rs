//! Wiring of the ClusterExternalSecret controller: CES, owned ExternalSecrets, Namespaces.

use std::sync::Arc;

use futures::StreamExt;
use k8s_openapi::api::core::v1::Namespace;
use kube::runtime::controller::{self, Controller};
use kube::runtime::reflector::ObjectRef;
use kube::runtime::watcher;
use kube::{Api, Client};
use shared::api::v1::{ClusterExternalSecret, ExternalSecret};
use tokio::sync::watch;

use super::reconcile::{CesContext, error_policy, reconcile};
use crate::context::Config;
use crate::externalsecret::controller::stopped;

/// Runs the ClusterExternalSecret controller until `stop` turns true.
pub async fn run(client: Client, config: Config, stop: watch::Receiver<bool>) {
    let ces_api: Api<ClusterExternalSecret> = Api::all(client.clone());
    let controller = Controller::new(ces_api, watcher::Config::default());
    let reader = controller.store();
    let ctx = Arc::new(CesContext {
        client: client.clone(),
    });
    controller
        .with_config(controller::Config::default().concurrency(config.concurrent.max(1)))
        .owns(
            Api::<ExternalSecret>::all(client.clone()),
            watcher::Config::default(),
        )
        .watches(
            Api::<Namespace>::all(client),
            watcher::Config::default(),
            move |_ns: Namespace| {
                reader
                    .state()
                    .into_iter()
                    .map(|c| ObjectRef::from_obj(c.as_ref()))
                    .collect::<Vec<_>>()
            },
        )
        .graceful_shutdown_on(stopped(stop))
        .run(reconcile, error_policy, ctx)
        .for_each(|_| std::future::ready(()))
        .await;
}
