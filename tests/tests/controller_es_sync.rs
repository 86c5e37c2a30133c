//! ExternalSecret sync end to end against the simulator and the Fake provider (ESO §10.1).

#[path = "controller_es_support.rs"]
mod support;

use k8s_openapi::api::core::v1::Secret;
use kube::Api;
use kube::api::{Patch, PatchParams};
use serde_json::json;
use shared::hash::{created_by_label, object_hash_secret_data};
use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn syncs_a_secret_with_eso_metadata_and_data_hash() {
    let env = Env::start().await;
    env.namespace("apps").await;
    env.fake_store(
        "apps",
        "fake",
        &[("db-user", "admin"), ("db-pass", "s3cret")],
    )
    .await;
    env.create_es_with(
        "apps",
        json!({"name": "db", "labels": {"team": "payments"}}),
        json!({
            "secretStoreRef": {"name": "fake"},
            "refreshInterval": "1h",
            "data": [
                {"secretKey": "user", "remoteRef": {"key": "db-user"}},
                {"secretKey": "pass", "remoteRef": {"key": "db-pass"}}
            ]
        }),
    )
    .await;
    let es = env.wait_ready("apps", "db", "True", "SecretSynced").await;
    let secret = env.wait_secret("apps", "db", |_| true).await;
    assert_eq!(
        data_of(&secret),
        kv(&[("pass", "s3cret"), ("user", "admin")])
    );
    assert_eq!(
        label(&secret, "reconcile.external-secrets.io/managed"),
        Some("true")
    );
    assert_eq!(
        label(&secret, "team"),
        Some("payments"),
        "ES labels are copied"
    );
    assert_eq!(
        label(&secret, "reconcile.external-secrets.io/created-by"),
        Some(created_by_label("apps", "db").as_str())
    );
    let data: std::collections::BTreeMap<String, Vec<u8>> = secret
        .data
        .iter()
        .flatten()
        .map(|(k, v)| (k.clone(), v.0.clone()))
        .collect();
    let hash = annotation(&secret, "reconcile.external-secrets.io/data-hash").expect("hash");
    assert_eq!(hash, object_hash_secret_data(&data));
    let owner = &secret.metadata.owner_references.as_ref().expect("owner")[0];
    assert_eq!(
        (owner.kind.as_str(), owner.name.as_str()),
        ("ExternalSecret", "db")
    );
    let status = es.status.expect("status");
    assert_eq!(status.binding.and_then(|b| b.name).as_deref(), Some("db"));
    assert!(status.refresh_time.is_some());
    assert!(
        status
            .synced_resource_version
            .is_some_and(|v| v.starts_with("1-"))
    );
    let es = env.get_es("apps", "db").await.expect("es");
    assert!(
        es.metadata
            .finalizers
            .unwrap_or_default()
            .contains(&"externalsecrets.external-secrets.io/externalsecret-cleanup".to_string())
    );
}

fn store_ref_data(pairs: &[(&str, &str)]) -> serde_json::Value {
    let data: Vec<_> = pairs
        .iter()
        .map(|(k, r)| json!({"secretKey": k, "remoteRef": {"key": r}}))
        .collect();
    json!(data)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_hash_matches_the_go_oracle_vector() {
    // SHA3-224 of Go's fmt.Sprintf("%+v", map[string][]byte{"bar":"value2","foo":"value1"}),
    // as computed by Go and Python (reference §4.1 / crates.md).
    const GO_HASH: &str = "1bed8bcbcb4547ffe19a19cd47d9078e84aa6598266d86b99f992d64";
    let env = Env::start().await;
    env.namespace("apps").await;
    env.fake_store("apps", "fake", &[("a", "value1"), ("b", "value2")])
        .await;
    env.create_es(
        "apps",
        "hash",
        json!({
            "secretStoreRef": {"name": "fake"},
            "data": store_ref_data(&[("foo", "a"), ("bar", "b")])
        }),
    )
    .await;
    let s = env.wait_secret("apps", "hash", |_| true).await;
    assert_eq!(
        annotation(&s, "reconcile.external-secrets.io/data-hash"),
        Some(GO_HASH)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repairs_drift_and_recreates_a_deleted_target() {
    let env = Env::start().await;
    env.namespace("apps").await;
    env.fake_store("apps", "fake", &[("k", "v")]).await;
    env.create_es(
        "apps",
        "drift",
        json!({
            "secretStoreRef": {"name": "fake"}, "data": store_ref_data(&[("key", "k")])
        }),
    )
    .await;
    env.wait_secret("apps", "drift", |s| data_of(s) == kv(&[("key", "v")]))
        .await;
    // Someone edits the data: the hash no longer matches, the controller restores it.
    Api::<Secret>::namespaced(env.client.clone(), "apps")
        .patch(
            "drift",
            &PatchParams::default(),
            &Patch::Merge(json!({"data": {"key": "dGFtcGVyZWQ="}})),
        )
        .await
        .expect("tamper");
    env.wait_secret("apps", "drift", |s| data_of(s) == kv(&[("key", "v")]))
        .await;
    env.delete_secret("apps", "drift").await;
    env.wait_secret("apps", "drift", |s| data_of(s) == kv(&[("key", "v")]))
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provider_errors_keep_the_existing_secret() {
    let env = Env::start().await;
    env.namespace("apps").await;
    env.fake_store("apps", "fake", &[("k", "v")]).await;
    env.create_es(
        "apps",
        "keep",
        json!({
            "secretStoreRef": {"name": "fake"}, "refreshInterval": "1s",
            "data": store_ref_data(&[("key", "k")])
        }),
    )
    .await;
    env.wait_ready("apps", "keep", "True", "SecretSynced").await;
    let before = env.secret("apps", "keep").await.expect("secret");
    // The remote key disappears; with deletionPolicy Retain that is an error.
    env.fake_store("apps", "fake", &[("other", "x")]).await;
    let es = env
        .wait_ready("apps", "keep", "False", "SecretSyncedError")
        .await;
    let cond = &es.status.expect("status").conditions.expect("conditions")[0];
    assert_eq!(
        cond.message.as_deref(),
        Some("could not get secret data from provider")
    );
    let after = env.secret("apps", "keep").await.expect("secret kept");
    assert_eq!(data_of(&after), data_of(&before));
    assert_eq!(
        after.metadata.resource_version,
        before.metadata.resource_version
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn periodic_refresh_picks_up_provider_changes() {
    let env = Env::start().await;
    env.namespace("apps").await;
    env.fake_store("apps", "fake", &[("k", "one")]).await;
    env.create_es(
        "apps",
        "fresh",
        json!({
            "secretStoreRef": {"name": "fake"}, "refreshInterval": "1s",
            "data": store_ref_data(&[("key", "k")])
        }),
    )
    .await;
    env.wait_secret("apps", "fresh", |s| data_of(s) == kv(&[("key", "one")]))
        .await;
    let synced = env
        .wait_ready("apps", "fresh", "True", "SecretSynced")
        .await;
    // Idle refreshes (the remote value is unchanged) write neither the Secret nor the status.
    env.sim.reset_counters();
    tokio::time::sleep(std::time::Duration::from_millis(3500)).await;
    let writes = env.sim.counters().writes;
    let written = |key: &str| writes.get(key).copied().unwrap_or(0);
    assert_eq!(
        (
            written("secrets/apps/fresh"),
            written("externalsecrets.external-secrets.io/apps/fresh")
        ),
        (0, 0),
        "idle refreshes wrote: {writes:?}"
    );
    // The refreshes did run: a changed remote value arrives, and refreshTime records it.
    env.fake_store("apps", "fake", &[("k", "two")]).await;
    env.wait_secret("apps", "fresh", |s| data_of(s) == kv(&[("key", "two")]))
        .await;
    let refreshed = |es: &shared::api::v1::ExternalSecret| {
        es.status
            .as_ref()
            .and_then(|s| s.refresh_time.as_ref())
            .map(|t| t.0)
    };
    let before = refreshed(&synced);
    eventually("refreshTime to record the change", || async {
        let es = env.get_es("apps", "fresh").await?;
        (refreshed(&es) > before).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_interval_zero_syncs_once_and_ignores_later_changes() {
    let env = Env::start().await;
    env.namespace("apps").await;
    env.fake_store("apps", "fake", &[("k", "one")]).await;
    env.create_es(
        "apps",
        "once",
        json!({
            "secretStoreRef": {"name": "fake"}, "refreshInterval": "0s",
            "data": store_ref_data(&[("key", "k")])
        }),
    )
    .await;
    env.wait_ready("apps", "once", "True", "SecretSynced").await;
    env.fake_store("apps", "fake", &[("k", "two")]).await;
    // A label change would refresh a Periodic ES with an interval; with 0 it is ignored.
    env.patch_es(
        "apps",
        "once",
        json!({"metadata": {"labels": {"touched": "yes"}}}),
    )
    .await;
    // The controller still reconciles (the label reaches the predicate) but must not sync.
    let touched_es = env.get_es("apps", "once").await.expect("es");
    assert_eq!(
        touched_es
            .metadata
            .labels
            .unwrap_or_default()
            .get("touched")
            .map(String::as_str),
        Some("yes")
    );
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    let s = env.secret("apps", "once").await.expect("secret");
    assert_eq!(data_of(&s), kv(&[("key", "one")]));
    assert_eq!(
        label(&s, "touched"),
        None,
        "not re-synced, so the new label was not copied"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_controller_restart_writes_nothing() {
    let mut env = Env::start().await;
    env.namespace("apps").await;
    env.fake_store("apps", "fake", &[("k", "v")]).await;
    for name in ["a", "b", "c"] {
        env.create_es(
            "apps",
            name,
            json!({
                "secretStoreRef": {"name": "fake"}, "data": store_ref_data(&[("key", "k")])
            }),
        )
        .await;
    }
    for name in ["a", "b", "c"] {
        env.wait_ready("apps", name, "True", "SecretSynced").await;
    }
    // Let the last status writes and watch events settle before counting.
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    env.halt().await;
    env.sim.reset_counters();
    env.run(controller::Config::default());
    // A restart lists everything and reconciles every ExternalSecret once.
    eventually("relist after restart", || async {
        (env.sim
            .counters()
            .requests_for("list", "externalsecrets.external-secrets.io")
            > 0)
        .then_some(())
    })
    .await;
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    let counters = env.sim.counters();
    let writes: Vec<_> = counters
        .writes
        .iter()
        .filter(|(k, _)| k.starts_with("secrets/") || k.starts_with("externalsecrets"))
        .collect();
    assert!(writes.is_empty(), "idle reconciles wrote: {writes:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn extract_find_and_rewrite() {
    let env = Env::start().await;
    env.namespace("apps").await;
    env.fake_store(
        "apps",
        "fake",
        &[
            ("config", r#"{"host":"db","port":"5432"}"#),
            ("app/one", "1"),
            ("app/two", "2"),
        ],
    )
    .await;
    env.create_es(
        "apps",
        "maps",
        json!({
            "secretStoreRef": {"name": "fake"},
            "dataFrom": [
                {"extract": {"key": "config"}},
                {"find": {"name": {"regexp": "^app/"}}},
                // The Fake provider converts found names itself (as ESO's does), even with a rewrite.
                {"find": {"name": {"regexp": "^app/"}},
                 "rewrite": [{"regexp": {"source": "app_(.*)", "target": "renamed-$1"}}]}
            ]
        }),
    )
    .await;
    let s = env.wait_secret("apps", "maps", |_| true).await;
    assert_eq!(
        data_of(&s),
        kv(&[
            ("app_one", "1"),
            ("app_two", "2"),
            ("host", "db"),
            ("port", "5432"),
            ("renamed-one", "1"),
            ("renamed-two", "2")
        ])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rewrite_disables_conversion_so_invalid_keys_fail() {
    let env = Env::start().await;
    env.namespace("apps").await;
    env.fake_store("apps", "fake", &[("json", r#"{"a/one":"1"}"#)])
        .await;
    env.create_es(
        "apps",
        "bad",
        json!({
            "secretStoreRef": {"name": "fake"},
            "dataFrom": [{"extract": {"key": "json"},
                          "rewrite": [{"regexp": {"source": "one", "target": "uno"}}]}]
        }),
    )
    .await;
    env.wait_ready("apps", "bad", "False", "SecretSyncedError")
        .await;
    assert!(env.secret("apps", "bad").await.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn templates_render_data_metadata_and_template_from() {
    let env = Env::start().await;
    env.namespace("apps").await;
    env.fake_store("apps", "fake", &[("user", "admin"), ("pass", "pw")])
        .await;
    let cm: k8s_openapi::api::core::v1::ConfigMap = serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "tpl", "namespace": "apps"},
        "data": {"config.ini": "[db]\nuser={{ .user }}"}
    }))
    .expect("configmap");
    Api::<k8s_openapi::api::core::v1::ConfigMap>::namespaced(env.client.clone(), "apps")
        .create(&Default::default(), &cm)
        .await
        .expect("create configmap");
    env.create_es(
        "apps",
        "tpl",
        json!({
            "secretStoreRef": {"name": "fake"},
            "data": store_ref_data(&[("user", "user"), ("pass", "pass")]),
            "target": {"template": {
                "type": "kubernetes.io/basic-auth",
                "metadata": {"labels": {"owner": "{{ .user }}"}},
                "data": {"username": "{{ .user }}", "password": "{{ .pass | upper }}"},
                "templateFrom": [{"configMap": {"name": "tpl", "items": [{"key": "config.ini"}]}}]
            }}
        }),
    )
    .await;
    let s = env.wait_secret("apps", "tpl", |_| true).await;
    assert_eq!(
        data_of(&s),
        kv(&[
            ("config.ini", "[db]\nuser=admin"),
            ("password", "PW"),
            ("username", "admin")
        ])
    );
    assert_eq!(s.type_.as_deref(), Some("kubernetes.io/basic-auth"));
    assert_eq!(label(&s, "owner"), Some("admin"));
    // Template updated ⇒ Secret updated.
    env.patch_es(
        "apps",
        "tpl",
        json!({"spec": {"target": {"template": {"data": {"username": "u-{{ .user }}"}}}}}),
    )
    .await;
    env.wait_secret("apps", "tpl", |s| {
        data_of(s).get("username").map(String::as_str) == Some("u-admin")
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_generator_fills_data_from() {
    let env = Env::start().await;
    env.namespace("apps").await;
    let pw: shared::api::generators::Password = serde_json::from_value(json!({
        "apiVersion": "generators.external-secrets.io/v1alpha1", "kind": "Password",
        "metadata": {"name": "pw", "namespace": "apps"},
        "spec": {"length": 32, "digits": 4, "symbols": 0, "noUpper": false, "allowRepeat": true}
    }))
    .expect("password");
    Api::<shared::api::generators::Password>::namespaced(env.client.clone(), "apps")
        .create(&Default::default(), &pw)
        .await
        .expect("create password");
    env.create_es("apps", "gen", json!({
        "dataFrom": [{"sourceRef": {"generatorRef": {
            "apiVersion": "generators.external-secrets.io/v1alpha1", "kind": "Password", "name": "pw"}}}]
    }))
    .await;
    let s = env.wait_secret("apps", "gen", |_| true).await;
    let password = data_of(&s).remove("password").expect("password key");
    assert_eq!(password.len(), 32);
    assert_eq!(password.chars().filter(char::is_ascii_digit).count(), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn created_once_and_on_change_refresh_policies() {
    let env = Env::start().await;
    env.namespace("apps").await;
    env.fake_store("apps", "fake", &[("k", "one")]).await;
    for (name, policy) in [("once", "CreatedOnce"), ("onchange", "OnChange")] {
        env.create_es("apps", name, json!({
            "secretStoreRef": {"name": "fake"}, "refreshPolicy": policy, "refreshInterval": "1s",
            "data": store_ref_data(&[("key", "k")])
        }))
        .await;
        env.wait_secret("apps", name, |s| data_of(s) == kv(&[("key", "one")]))
            .await;
    }
    env.fake_store("apps", "fake", &[("k", "two")]).await;
    // OnChange refreshes when the ExternalSecret changes; CreatedOnce never does.
    for name in ["once", "onchange"] {
        env.patch_es(
            "apps",
            name,
            json!({"metadata": {"annotations": {"external-secrets.io/force-sync": "1"}}}),
        )
        .await;
    }
    env.wait_secret("apps", "onchange", |s| data_of(s) == kv(&[("key", "two")]))
        .await;
    // Both ran past their 1 s interval by now; CreatedOnce still holds the first value.
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    let once = env.secret("apps", "once").await.expect("secret");
    assert_eq!(data_of(&once), kv(&[("key", "one")]));
    // ... but it recreates a deleted target (Owner), with what the provider has now.
    env.delete_secret("apps", "once").await;
    env.wait_secret("apps", "once", |s| data_of(s) == kv(&[("key", "two")]))
        .await;
}
