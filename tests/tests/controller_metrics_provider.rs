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

    let text = handle.render();
    let get_ok = series(&text, "GetSecret", "success");
    let get_err = series(&text, "GetSecret", "error");
    let validate_ok = series(&text, "CreateSelfSubjectRulesReview", "success");
    assert!(get_ok.is_some_and(|v| v >= 1.0), "{text}");
    assert!(get_err.is_some_and(|v| v >= 1.0), "{text}");
    assert!(validate_ok.is_some_and(|v| v >= 1.0), "{text}");
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
