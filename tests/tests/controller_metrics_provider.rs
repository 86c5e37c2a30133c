//! `externalsecret_provider_api_calls_count{provider,call,status}` (reference §8.1) after real
//! Kubernetes-provider syncs: the controller runs in-process against the simulator with the
//! Prometheus recorder the binary installs, and the exposition text carries ESO's label values
//! (`runtime/constants/constants.go`: provider `Kubernetes`, calls `GetSecret` and
//! `CreateSelfSubjectRulesReview`, status `success`/`error`; a NotFound read counts as `error`
//! because ESO observes the client's error before mapping it to NoSecret).

#[path = "controller_es_support.rs"]
mod controller_es_support;

use controller_es_support::*;
use serde_json::json;
use shared::api::v1::SecretStore;

/// The counter's value for one label set in Prometheus text, if the series exists.
fn series(text: &str, call: &str, status: &str) -> Option<f64> {
    let prefix = format!(
        "externalsecret_provider_api_calls_count{{provider=\"Kubernetes\",call=\"{call}\",status=\"{status}\"}} "
    );
    text.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .and_then(|v| v.trim().parse().ok())
}

#[tokio::test]
async fn kubernetes_provider_calls_are_counted_with_esos_labels() {
    let handle = metrics_exporter_prometheus::PrometheusBuilder::new()
        .install_recorder()
        .expect("the only recorder of this test binary");
    let env = Env::start().await;
    env.namespace("team-a").await;
    env.namespace("remote").await;
    env.create_secret(
        "remote",
        json!({"metadata": {"name": "app"}, "stringData": {"user": "admin"}}),
    )
    .await;
    let store: SecretStore = serde_json::from_value(json!({
        "apiVersion": "external-secrets.io/v1", "kind": "SecretStore",
        "metadata": {"name": "k8s", "namespace": "team-a"},
        "spec": {"provider": {"kubernetes": {"remoteNamespace": "remote"}}}
    }))
    .unwrap();
    kube::Api::<SecretStore>::namespaced(env.client.clone(), "team-a")
        .create(&Default::default(), &store)
        .await
        .unwrap();
    let spec = |key: &str| {
        json!({
            "refreshInterval": "1h",
            "secretStoreRef": {"name": "k8s", "kind": "SecretStore"},
            "data": [{"secretKey": "user", "remoteRef": {"key": key, "property": "user"}}]
        })
    };
    env.create_es("team-a", "found", spec("app")).await;
    env.create_es("team-a", "missing", spec("ghost")).await;
    env.wait_ready("team-a", "found", "True", "SecretSynced")
        .await;
    env.wait_ready("team-a", "missing", "False", "SecretSyncedError")
        .await;

    // "missing" may first fail on its store not being Ready yet (no provider call); its retry
    // reads the provider.
    let text = eventually(
        "GetSecret success and error, validation counted",
        || async {
            let text = handle.render();
            let counted =
                |call: &str, status: &str| series(&text, call, status).is_some_and(|v| v >= 1.0);
            (counted("GetSecret", "success")
                && counted("GetSecret", "error")
                && counted("CreateSelfSubjectRulesReview", "success"))
            .then_some(text)
        },
    )
    .await;
    // Only ESO's provider/status vocabulary appears for this metric.
    for line in text
        .lines()
        .filter(|l| l.starts_with("externalsecret_provider_api_calls_count{"))
    {
        assert!(line.contains("provider=\"Kubernetes\""), "{line}");
        assert!(
            line.contains("status=\"success\"") || line.contains("status=\"error\""),
            "{line}"
        );
    }
}
