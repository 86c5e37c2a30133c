//! Vault provider against a real OpenBao dev server: KV v2 and v1 reads (mount prefixes,
//! versions, gjson properties, custom metadata, extract) and `find` by name, path and tags.

mod provider_vault_support;

use controller::provider::ProviderError;
use provider_vault_support::{Fixture, remote, remote_prop, text};
use serde_json::json;
use shared::api::v1::{ExternalSecretDataRemoteRef, ExternalSecretFind, MetadataPolicy};

fn map_text(m: controller::provider::SecretMap) -> Vec<(String, String)> {
    m.into_iter().map(|(k, v)| (k, text(v))).collect()
}

#[tokio::test]
async fn kv2_reads_whole_secrets_properties_versions_metadata_and_extracts() {
    let f = Fixture::start().await;
    f.bao.mount_kv("secrets", 2).await.unwrap();
    f.bao
        .kv2_put("secrets", "app/db", &json!({"user": "u1", "pass": "p<1>"}))
        .await
        .unwrap();
    f.bao
        .kv2_put(
            "secrets",
            "app/db",
            &json!({"user": "u2", "nested": {"a": {"b": "deep"}, "list": [1, 2]}, "port": 5432}),
        )
        .await
        .unwrap();
    f.bao
        .kv2_put_metadata("secrets", "app/db", &json!({"team": "payments"}))
        .await
        .unwrap();
    let c = f
        .client(f.token_store(json!({"path": "secrets"})).await)
        .await
        .unwrap();
    assert_eq!(
        c.validate().await.unwrap(),
        controller::provider::ValidationResult::Ready
    );

    // The whole secret is Go JSON (sorted keys, HTML escaped); every key spelling of §2.7
    // reaches the same secret.
    let whole = r#"{"nested":{"a":{"b":"deep"},"list":[1,2]},"port":5432,"user":"u2"}"#;
    for key in ["app/db", "secrets/app/db", "secrets/data/app/db"] {
        assert_eq!(
            text(c.get_secret(&remote(key)).await.unwrap()),
            whole,
            "{key}"
        );
    }
    assert_eq!(
        text(c.get_secret(&remote_prop("app/db", "user")).await.unwrap()),
        "u2"
    );
    assert_eq!(
        text(
            c.get_secret(&remote_prop("app/db", "nested.a.b"))
                .await
                .unwrap()
        ),
        "deep"
    );
    assert_eq!(
        text(
            c.get_secret(&remote_prop("app/db", "nested"))
                .await
                .unwrap()
        ),
        r#"{"a":{"b":"deep"},"list":[1,2]}"#
    );
    assert_eq!(
        text(c.get_secret(&remote_prop("app/db", "port")).await.unwrap()),
        "5432"
    );
    let missing_prop = c
        .get_secret(&remote_prop("app/db", "nope"))
        .await
        .unwrap_err();
    assert_eq!(
        missing_prop.to_string(),
        r#"cannot find secret data for key: "nope""#
    );

    // Version 1 is still readable.
    let v1 = ExternalSecretDataRemoteRef {
        key: "app/db".into(),
        version: Some("1".into()),
        property: Some("pass".into()),
        ..Default::default()
    };
    assert_eq!(text(c.get_secret(&v1).await.unwrap()), "p<1>");

    // Custom metadata.
    let meta = ExternalSecretDataRemoteRef {
        key: "app/db".into(),
        metadata_policy: Some(MetadataPolicy::Fetch),
        ..Default::default()
    };
    assert_eq!(
        text(c.get_secret(&meta).await.unwrap()),
        r#"{"team":"payments"}"#
    );

    // extract, whole and from a nested property.
    let m = c.get_secret_map(&remote("app/db")).await.unwrap();
    assert_eq!(
        map_text(m),
        vec![
            ("nested".into(), r#"{"a":{"b":"deep"},"list":[1,2]}"#.into()),
            ("port".into(), "5432".into()),
            ("user".into(), "u2".into()),
        ]
    );
    let m = c
        .get_secret_map(&remote_prop("app/db", "nested.a"))
        .await
        .unwrap();
    assert_eq!(map_text(m), vec![("b".into(), "deep".into())]);

    // Missing secrets are NoSecret (drives deletionPolicy), for data and metadata alike.
    assert!(matches!(
        c.get_secret(&remote("app/none")).await,
        Err(ProviderError::NoSecret)
    ));
    let meta_missing = ExternalSecretDataRemoteRef {
        key: "app/none".into(),
        metadata_policy: Some(MetadataPolicy::Fetch),
        ..Default::default()
    };
    assert!(matches!(
        c.get_secret(&meta_missing).await,
        Err(ProviderError::NoSecret)
    ));
}

#[tokio::test]
async fn kv2_without_a_mount_inserts_data_after_the_first_segment() {
    let f = Fixture::start().await;
    f.bao
        .kv2_put("secret", "team/app", &json!({"k": "v"}))
        .await
        .unwrap();
    let c = f.client(f.token_store(json!({})).await).await.unwrap();
    for key in ["secret/team/app", "secret/data/team/app"] {
        assert_eq!(
            text(c.get_secret(&remote_prop(key, "k")).await.unwrap()),
            "v"
        );
    }
}

#[tokio::test]
async fn kv1_reads_and_rejects_metadata_and_tag_operations() {
    let f = Fixture::start().await;
    f.bao.mount_kv("kv1", 1).await.unwrap();
    f.bao
        .kv1_put("kv1", "team/a", &json!({"token": "t", "n": 1}))
        .await
        .unwrap();
    let c = f
        .client(f.token_store(json!({"path": "kv1", "version": "v1"})).await)
        .await
        .unwrap();
    c.validate().await.unwrap();
    for key in ["team/a", "kv1/team/a"] {
        assert_eq!(
            text(c.get_secret(&remote(key)).await.unwrap()),
            r#"{"n":1,"token":"t"}"#
        );
    }
    assert_eq!(
        text(c.get_secret(&remote_prop("team/a", "token")).await.unwrap()),
        "t"
    );
    let meta = ExternalSecretDataRemoteRef {
        key: "team/a".into(),
        metadata_policy: Some(MetadataPolicy::Fetch),
        ..Default::default()
    };
    assert_eq!(
        c.get_secret(&meta).await.unwrap_err().to_string(),
        "cannot perform metadata fetch operations with kv version v1"
    );
    let find: ExternalSecretFind = serde_json::from_value(json!({"tags": {"a": "b"}})).unwrap();
    assert_eq!(
        c.get_all_secrets(&find).await.unwrap_err().to_string(),
        "cannot perform find by tag operations with kv version v1"
    );
    let find: ExternalSecretFind =
        serde_json::from_value(json!({"name": {"regexp": "^team/"}})).unwrap();
    assert_eq!(
        map_text(c.get_all_secrets(&find).await.unwrap()),
        vec![("team/a".into(), r#"{"n":1,"token":"t"}"#.into())]
    );

    // A store whose version does not match the mount is not Ready.
    let wrong = f
        .client(f.token_store(json!({"path": "kv1", "version": "v2"})).await)
        .await
        .unwrap();
    let err = wrong.validate().await.unwrap_err().to_string();
    assert_eq!(
        err,
        r#"vault mount path "kv1" uses kv version v1 but store is configured for kv version v2"#
    );
}

#[tokio::test]
async fn find_by_name_by_path_and_by_tags_lists_recursively() {
    let f = Fixture::start().await;
    f.bao.mount_kv("secrets", 2).await.unwrap();
    for (path, tag) in [
        ("db/main", Some("blue")),
        ("db/replica/one", Some("blue")),
        ("db/replica/two", Some("green")),
        ("web/front", None),
        ("dbx", Some("blue")),
    ] {
        f.bao
            .kv2_put("secrets", path, &json!({"name": path}))
            .await
            .unwrap();
        if let Some(tag) = tag {
            f.bao
                .kv2_put_metadata("secrets", path, &json!({"color": tag, "env": "prod"}))
                .await
                .unwrap();
        }
    }
    let c = f
        .client(f.token_store(json!({"path": "secrets"})).await)
        .await
        .unwrap();
    let names = |m: controller::provider::SecretMap| m.into_keys().collect::<Vec<_>>();

    let by_name: ExternalSecretFind =
        serde_json::from_value(json!({"name": {"regexp": "replica"}})).unwrap();
    let found = c.get_all_secrets(&by_name).await.unwrap();
    assert_eq!(
        map_text(found),
        vec![
            (
                "db/replica/one".into(),
                r#"{"name":"db/replica/one"}"#.into()
            ),
            (
                "db/replica/two".into(),
                r#"{"name":"db/replica/two"}"#.into()
            ),
        ]
    );

    let by_path: ExternalSecretFind =
        serde_json::from_value(json!({"path": "db", "name": {"regexp": ".*"}})).unwrap();
    assert_eq!(
        names(c.get_all_secrets(&by_path).await.unwrap()),
        vec!["db/main", "db/replica/one", "db/replica/two"],
        "dbx is not under db/"
    );

    let by_tags: ExternalSecretFind =
        serde_json::from_value(json!({"tags": {"color": "blue", "env": "prod"}})).unwrap();
    assert_eq!(
        names(c.get_all_secrets(&by_tags).await.unwrap()),
        vec!["db/main", "db/replica/one", "dbx"]
    );
    let tags_in_path: ExternalSecretFind =
        serde_json::from_value(json!({"path": "db/replica", "tags": {"color": "blue"}})).unwrap();
    assert_eq!(
        names(c.get_all_secrets(&tags_in_path).await.unwrap()),
        vec!["db/replica/one"]
    );
    let nothing: ExternalSecretFind =
        serde_json::from_value(json!({"path": "nothing/here", "name": {"regexp": ".*"}})).unwrap();
    assert!(matches!(
        c.get_all_secrets(&nothing).await,
        Err(ProviderError::NoSecret)
    ));
}

#[tokio::test]
async fn referent_cluster_store_reads_credentials_from_the_object_namespace() {
    let f = Fixture::start().await;
    f.bao
        .kv2_put("secret", "app", &json!({"k": "v"}))
        .await
        .unwrap();
    let vault = f.token_store(json!({})).await;
    let kind = shared::api::v1::SecretStoreKind::ClusterSecretStore;
    // The store controller has no object namespace: ESO reports ValidationUnknown.
    let unknown = f.client_of(kind, vault.clone(), "").await.unwrap();
    assert_eq!(
        unknown.validate().await.unwrap(),
        controller::provider::ValidationResult::Unknown
    );
    let c = f
        .client_of(kind, vault, provider_vault_support::NS)
        .await
        .unwrap();
    assert_eq!(
        text(c.get_secret(&remote_prop("secret/app", "k")).await.unwrap()),
        "v"
    );
}
