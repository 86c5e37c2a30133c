//! gcpsm end to end: the controller (stores, ExternalSecrets, PushSecrets) against the
//! simulator and the Google fake, with store manifests shaped like ESO's gcpsm docs.
//! Endpoints are fixed once per process, so all tests share one fake and each uses its own
//! project and Google service account.

#[path = "controller_es_support.rs"]
mod support;

#[path = "provider_gcp_support/e2e.rs"]
mod gcp_e2e;

use gcp_e2e::{Gcp, create_store, gcp, store_ready};
use kube::Api;
use kube::api::{DeleteParams, PostParams};
use serde_json::{Value, json};
use shared::api::v1::ClusterSecretStore;
use shared::api::v1alpha1::PushSecret;
use support::*;
use tests::fakes::gcp::{Access, service_account_principal};

/// The key Secret and the store as ESO's docs write them.
async fn key_store(env: &Env, g: &Gcp, ns: &str, access: Access) {
    let key = g.fake.service_account_key(&g.email, &g.project);
    g.fake
        .grant(&service_account_principal(&g.email), &g.project, access);
    env.create_secret(
        ns,
        json!({"metadata": {"name": "gcpsm-secret"}, "stringData": {"secret-access-credentials": key}}),
    )
    .await;
    create_store(env, ns, "gcp-store", json!({
        "gcpsm": {
            "auth": {"secretRef": {"secretAccessKeySecretRef": {"name": "gcpsm-secret", "key": "secret-access-credentials"}}},
            "projectID": g.project
        }
    }))
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn syncs_data_extract_and_find_from_a_service_account_key_store() {
    let g = gcp();
    let env = Env::start().await;
    env.namespace("apps").await;
    let db = r#"{"username":"admin","password":"s3cret"}"#;
    g.fake.put_secret(
        &g.project,
        None,
        "db",
        &[("env", "prod")],
        &[("owner", "payments")],
        &[b"old", db.as_bytes()],
    );
    g.fake.put_secret(
        &g.project,
        None,
        "api-key",
        &[("env", "prod")],
        &[],
        &[b"k-123"],
    );
    g.fake.put_secret(
        &g.project,
        None,
        "dev-only",
        &[("env", "dev")],
        &[],
        &[b"dev"],
    );
    key_store(&env, &g, "apps", Access::Read).await;
    store_ready(&env, "apps", "gcp-store", "True").await;
    env.create_es(
        "apps",
        "app",
        json!({
            "secretStoreRef": {"name": "gcp-store", "kind": "SecretStore"},
            "refreshInterval": "1h",
            "target": {"name": "app-secret"},
            "data": [
                {"secretKey": "user", "remoteRef": {"key": "db", "property": "username"}},
                {"secretKey": "first", "remoteRef": {"key": "db", "version": "1"}},
                {"secretKey": "owner", "remoteRef": {"key": "db", "property": "annotations.owner", "metadataPolicy": "Fetch"}}
            ],
            "dataFrom": [
                {"extract": {"key": "db"}},
                {"find": {"tags": {"env": "prod"}}, "rewrite": [{"regexp": {"source": "(.*)", "target": "prod-$1"}}]}
            ]
        }),
    )
    .await;
    env.wait_ready("apps", "app", "True", "SecretSynced").await;
    let s = env.wait_secret("apps", "app-secret", |_| true).await;
    assert_eq!(
        data_of(&s),
        kv(&[
            ("first", "old"),
            ("owner", "payments"),
            ("password", "s3cret"),
            ("prod-api-key", "k-123"),
            ("prod-db", db),
            ("user", "admin"),
            ("username", "admin"),
        ])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn call_counts_per_refresh_equal_distinct_remote_keys() {
    let g = gcp();
    let env = Env::start().await;
    env.namespace("apps").await;
    g.fake
        .put_secret(&g.project, None, "db", &[], &[], &[br#"{"u":"a","p":"b"}"#]);
    g.fake
        .put_secret(&g.project, None, "other", &[], &[], &[b"o"]);
    key_store(&env, &g, "apps", Access::Read).await;
    store_ready(&env, "apps", "gcp-store", "True").await;
    env.create_es(
        "apps",
        "counted",
        json!({
            "secretStoreRef": {"name": "gcp-store"},
            "refreshInterval": "1h",
            "data": [
                {"secretKey": "u", "remoteRef": {"key": "db", "property": "u"}},
                {"secretKey": "p", "remoteRef": {"key": "db", "property": "p"}},
                {"secretKey": "o", "remoteRef": {"key": "other"}}
            ]
        }),
    )
    .await;
    env.wait_secret("apps", "counted", |s| {
        data_of(s) == kv(&[("o", "o"), ("p", "b"), ("u", "a")])
    })
    .await;
    // Two distinct remote keys: two payload reads, however many properties use them.
    assert_eq!(g.calls("AccessSecretVersion"), 2);
    env.wait_ready("apps", "counted", "True", "SecretSynced")
        .await;
    assert_eq!(
        g.calls("AccessSecretVersion"),
        2,
        "one reconcile, one read per key"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_failures_mark_the_store_not_ready_and_provider_errors_keep_targets() {
    let g = gcp();
    let env = Env::start().await;
    env.namespace("apps").await;
    g.fake
        .put_secret(&g.project, None, "db", &[], &[], &[b"v1"]);
    key_store(&env, &g, "apps", Access::Read).await;
    store_ready(&env, "apps", "gcp-store", "True").await;
    env.create_es(
        "apps",
        "kept",
        json!({
            "secretStoreRef": {"name": "gcp-store"},
            "refreshInterval": "1s",
            "data": [{"secretKey": "k", "remoteRef": {"key": "db"}}]
        }),
    )
    .await;
    env.wait_secret("apps", "kept", |s| data_of(s) == kv(&[("k", "v1")]))
        .await;
    // Access revoked: the sync fails, the target keeps its data.
    g.fake
        .revoke(&service_account_principal(&g.email), &g.project);
    g.fake
        .put_secret(&g.project, None, "db", &[], &[], &[b"v1", b"v2"]);
    env.wait_ready("apps", "kept", "False", "SecretSyncedError")
        .await;
    assert_eq!(
        data_of(&env.secret("apps", "kept").await.unwrap()),
        kv(&[("k", "v1")])
    );

    // A store whose key was deleted at Google is not Ready, with the reason.
    let g2 = gcp();
    let key = g2.fake.service_account_key(&g2.email, &g2.project);
    g2.fake.delete_keys(&g2.email);
    env.create_secret(
        "apps",
        json!({"metadata": {"name": "dead-key"}, "stringData": {"sa.json": key}}),
    )
    .await;
    create_store(&env, "apps", "dead", json!({"gcpsm": {
        "auth": {"secretRef": {"secretAccessKeySecretRef": {"name": "dead-key", "key": "sa.json"}}},
        "projectID": g2.project
    }}))
    .await;
    let (_, reason, message) = store_ready(&env, "apps", "dead", "False").await;
    assert_eq!(reason, "InvalidProviderConfig", "{message}");
    // A key Secret that is missing altogether.
    create_store(&env, "apps", "no-key", json!({"gcpsm": {
        "auth": {"secretRef": {"secretAccessKeySecretRef": {"name": "absent", "key": "sa.json"}}},
        "projectID": g2.project
    }}))
    .await;
    let (_, reason, _) = store_ready(&env, "apps", "no-key", "False").await;
    assert_eq!(reason, "InvalidProviderConfig");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_store_with_referent_key_and_regional_location() {
    let g = gcp();
    let env = Env::start().await;
    env.namespace("team-a").await;
    g.fake.put_secret(
        &g.project,
        Some("europe-west1"),
        "db",
        &[],
        &[],
        &[b"regional"],
    );
    let key = g.fake.service_account_key(&g.email, &g.project);
    g.fake.grant(
        &service_account_principal(&g.email),
        &g.project,
        Access::Read,
    );
    env.create_secret("team-a", json!({"metadata": {"name": "gcpsm-secret"}, "stringData": {"secret-access-credentials": key}}))
        .await;
    let css: ClusterSecretStore = serde_json::from_value(json!({
        "apiVersion": "external-secrets.io/v1", "kind": "ClusterSecretStore",
        "metadata": {"name": "gcp-regional"},
        "spec": {"provider": {"gcpsm": {
            "auth": {"secretRef": {"secretAccessKeySecretRef": {"name": "gcpsm-secret", "key": "secret-access-credentials"}}},
            "projectID": g.project,
            "location": "europe-west1"
        }}}
    }))
    .unwrap();
    Api::<ClusterSecretStore>::all(env.client.clone())
        .create(&PostParams::default(), &css)
        .await
        .unwrap();
    env.create_es(
        "team-a",
        "regional",
        json!({
            "secretStoreRef": {"name": "gcp-regional", "kind": "ClusterSecretStore"},
            "data": [{"secretKey": "k", "remoteRef": {"key": "db"}}]
        }),
    )
    .await;
    env.wait_secret("team-a", "regional", |s| {
        data_of(s) == kv(&[("k", "regional")])
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_secret_writes_a_managed_secret_and_deletes_it_with_the_push_secret() {
    let g = gcp();
    let env = Env::start().await;
    env.namespace("apps").await;
    key_store(&env, &g, "apps", Access::Write).await;
    store_ready(&env, "apps", "gcp-store", "True").await;
    env.create_secret(
        "apps",
        json!({"metadata": {"name": "src"}, "stringData": {"pass": "p4ss", "user": "me"}}),
    )
    .await;
    let ps: PushSecret = serde_json::from_value(json!({
        "apiVersion": "external-secrets.io/v1alpha1", "kind": "PushSecret",
        "metadata": {"name": "push", "namespace": "apps"},
        "spec": {
            "refreshInterval": "1h",
            "deletionPolicy": "Delete",
            "secretStoreRefs": [{"name": "gcp-store", "kind": "SecretStore"}],
            "selector": {"secret": {"name": "src"}},
            "data": [
                {"match": {"secretKey": "pass", "remoteRef": {"remoteKey": "pushed", "property": "password"}},
                 "metadata": {"apiVersion": "kubernetes.external-secrets.io/v1alpha1", "kind": "PushSecretMetadata",
                              "spec": {"labels": {"team": "a"}, "replicationLocation": "us-east1"}}},
                {"match": {"secretKey": "user", "remoteRef": {"remoteKey": "pushed", "property": "username"}}}
            ]
        }
    }))
    .unwrap();
    let api = Api::<PushSecret>::namespaced(env.client.clone(), "apps");
    api.create(&PostParams::default(), &ps).await.unwrap();
    let remote = eventually("pushed secret", || async {
        let s = g.fake.secret(&g.project, None, "pushed")?;
        let v: Value = serde_json::from_str(&s.latest_text()?).ok()?;
        (v == json!({"password": "p4ss", "username": "me"})).then_some(s)
    })
    .await;
    assert_eq!(
        remote.labels.get("managed-by").map(String::as_str),
        Some("external-secrets")
    );
    // Deletion removes what status.syncedPushSecrets records, so wait until the status says so
    // (the remote write lands before the status write).
    eventually("pushes recorded in the status", || async {
        let ps = api.get("push").await.ok()?;
        let synced = ps.status?.synced_push_secrets?;
        (synced.values().map(|m| m.len()).sum::<usize>() == 2).then_some(())
    })
    .await;
    api.delete("push", &DeleteParams::default()).await.unwrap();
    eventually("remote secret deleted", || async {
        g.fake
            .secret(&g.project, None, "pushed")
            .is_none()
            .then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn find_path_keeps_only_ids_starting_with_the_path() {
    let g = gcp();
    let env = Env::start().await;
    env.namespace("apps").await;
    for (name, env_label) in [
        ("team-a-db", "prod"),
        ("team-a-api", "dev"),
        // Contains the path (Google's `name:` filter matches it) but does not start with it.
        ("x-team-a-db", "prod"),
        ("team-b-db", "prod"),
    ] {
        g.fake.put_secret(
            &g.project,
            None,
            name,
            &[("env", env_label)],
            &[],
            &[name.as_bytes()],
        );
    }
    key_store(&env, &g, "apps", Access::Read).await;
    store_ready(&env, "apps", "gcp-store", "True").await;
    env.create_es(
        "apps",
        "by-path",
        json!({
            "secretStoreRef": {"name": "gcp-store"},
            "refreshInterval": "1h",
            "dataFrom": [{"find": {"path": "team-a", "name": {"regexp": ".*"}}}]
        }),
    )
    .await;
    env.create_es(
        "apps",
        "by-path-and-tag",
        json!({
            "secretStoreRef": {"name": "gcp-store"},
            "refreshInterval": "1h",
            "dataFrom": [{"find": {"path": "team-a", "tags": {"env": "prod"}}}]
        }),
    )
    .await;
    env.wait_ready("apps", "by-path", "True", "SecretSynced")
        .await;
    env.wait_ready("apps", "by-path-and-tag", "True", "SecretSynced")
        .await;
    assert_eq!(
        data_of(&env.secret("apps", "by-path").await.unwrap()),
        kv(&[("team-a-api", "team-a-api"), ("team-a-db", "team-a-db")])
    );
    assert_eq!(
        data_of(&env.secret("apps", "by-path-and-tag").await.unwrap()),
        kv(&[("team-a-db", "team-a-db")])
    );
}
