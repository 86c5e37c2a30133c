//! Provider calls as a user counts them on `/metrics`
//! (`externalsecret_provider_api_calls_count{provider="Fake",call="GetSecret"}`): ExternalSecrets
//! reading the same remote keys cost one call per distinct key, in the first sync as in periodic
//! refreshes, while a force-sync or a spec change reads the provider again.
//!
//! One test in this binary: the Prometheus recorder is process-global.

#[path = "controller_es_support.rs"]
mod support;

use serde_json::json;
use shared::api::v1::ExternalSecret;
use support::*;

/// `GetSecret` calls of the Fake provider so far.
fn fake_reads(handle: &metrics_exporter_prometheus::PrometheusHandle) -> u64 {
    let prefix = r#"externalsecret_provider_api_calls_count{provider="Fake",call="GetSecret",status="success"} "#;
    handle
        .render()
        .lines()
        .find_map(|l| l.strip_prefix(prefix))
        .and_then(|v| v.trim().parse::<f64>().ok())
        .map_or(0, |v| v as u64)
}

fn spec(key: &str) -> serde_json::Value {
    json!({
        "refreshInterval": "1h",
        "secretStoreRef": {"name": "fake"},
        "data": [{"secretKey": "value", "remoteRef": {"key": key}}]
    })
}

fn synced_version(es: &ExternalSecret) -> Option<String> {
    es.status.as_ref()?.synced_resource_version.clone()
}

async fn wait_resynced(env: &Env, name: &str, before: &str) {
    eventually(&format!("{name} synced again"), || async {
        let es = env.get_es("apps", name).await?;
        synced_version(&es).filter(|v| v != before).map(|_| ())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_cost_one_call_per_distinct_key_and_forced_syncs_read_fresh() {
    let handle = metrics_exporter_prometheus::PrometheusBuilder::new()
        .install_recorder()
        .expect("the only recorder of this test binary");
    let env = Env::start_with(controller::Config {
        concurrent: 4,
        ..Default::default()
    })
    .await;
    env.namespace("apps").await;
    env.fake_store("apps", "fake", &[("k0", "a"), ("k1", "b"), ("k2", "c")])
        .await;

    // Cold sync: twelve new ExternalSecrets over three remote keys.
    for i in 0..12 {
        env.create_es("apps", &format!("es-{i}"), spec(&format!("k{}", i % 3)))
            .await;
    }
    for i in 0..12 {
        env.wait_ready("apps", &format!("es-{i}"), "True", "SecretSynced")
            .await;
    }
    let values = ["a", "b", "c"];
    for i in 0..12 {
        let s = env
            .secret("apps", &format!("es-{i}"))
            .await
            .expect("secret");
        assert_eq!(data_of(&s), kv(&[("value", values[i % 3])]));
    }
    assert_eq!(fake_reads(&handle), 3, "one provider call per distinct key");

    // A force-sync of a synced ExternalSecret asks the provider again.
    let es0 = env.get_es("apps", "es-0").await.expect("es-0");
    env.patch_es(
        "apps",
        "es-0",
        json!({"metadata": {"annotations": {"external-secrets.io/force-sync": "1"}}}),
    )
    .await;
    wait_resynced(&env, "es-0", &synced_version(&es0).expect("synced")).await;
    assert_eq!(fake_reads(&handle), 4, "force-sync reads fresh");

    // So does a spec change (here: another key, read recently by others).
    let es1 = env.get_es("apps", "es-1").await.expect("es-1");
    env.patch_es("apps", "es-1", json!({"spec": spec("k2")}))
        .await;
    wait_resynced(&env, "es-1", &synced_version(&es1).expect("synced")).await;
    let s = env.secret("apps", "es-1").await.expect("secret");
    assert_eq!(data_of(&s), kv(&[("value", "c")]));
    assert_eq!(fake_reads(&handle), 5, "a changed spec reads fresh");

    // A new ExternalSecret shares the recent read of its key, unless it carries a force-sync
    // annotation.
    env.create_es("apps", "late", spec("k1")).await;
    env.wait_ready("apps", "late", "True", "SecretSynced").await;
    assert_eq!(
        fake_reads(&handle),
        5,
        "a new ExternalSecret reuses the read"
    );
    env.create_es_with(
        "apps",
        json!({"name": "forced", "annotations": {"external-secrets.io/force-sync": "x"}}),
        spec("k1"),
    )
    .await;
    env.wait_ready("apps", "forced", "True", "SecretSynced")
        .await;
    assert_eq!(
        fake_reads(&handle),
        6,
        "a new forced ExternalSecret reads fresh"
    );
}
