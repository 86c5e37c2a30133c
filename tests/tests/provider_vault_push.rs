//! Vault provider PushSecret operations against a real OpenBao: whole-secret and property
//! pushes, the `managed-by` marker ESO writes, deletes that only touch what we wrote,
//! `SecretExists`, and check-and-set mounts.

mod provider_vault_support;

use provider_vault_support::{Fixture, entry, local, text};
use serde_json::{Value, json};

#[tokio::test]
async fn kv2_property_pushes_merge_with_foreign_properties_and_delete_only_ours() {
    let f = Fixture::start().await;
    f.bao.mount_kv("secrets", 2).await.unwrap();
    let c = f
        .client(f.token_store(json!({"path": "secrets"})).await)
        .await
        .unwrap();
    let src = local(&[("user", "admin"), ("pass", "p<w>")]);

    let to_user = entry(Some("user"), "app/creds", Some("username"));
    assert!(!c.secret_exists(&to_user).await.unwrap());
    c.push_secret(&src, &to_user).await.unwrap();
    assert_eq!(
        f.bao.kv2_get("secrets", "app/creds").await.unwrap(),
        json!({"username": "admin"})
    );
    let meta = f
        .bao
        .kv2_metadata("secrets", "app/creds")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        meta["custom_metadata"],
        json!({"managed-by": "external-secrets"})
    );
    assert!(c.secret_exists(&to_user).await.unwrap());
    assert!(
        !c.secret_exists(&entry(Some("user"), "app/creds", Some("other")))
            .await
            .unwrap()
    );

    // Someone else adds a property; our next push keeps it.
    let mut remote = f.bao.kv2_get("secrets", "app/creds").await.unwrap();
    remote["theirs"] = json!("keep me");
    f.bao
        .kv2_put("secrets", "app/creds", &remote)
        .await
        .unwrap();
    c.push_secret(&src, &entry(Some("pass"), "app/creds", Some("password")))
        .await
        .unwrap();
    assert_eq!(
        f.bao.kv2_get("secrets", "app/creds").await.unwrap(),
        json!({"username": "admin", "password": "p<w>", "theirs": "keep me"})
    );
    // Pushing the same value again writes nothing.
    let version = |m: Option<Value>| m.unwrap()["current_version"].as_u64().unwrap();
    let before = version(f.bao.kv2_metadata("secrets", "app/creds").await.unwrap());
    c.push_secret(&src, &to_user).await.unwrap();
    assert_eq!(
        version(f.bao.kv2_metadata("secrets", "app/creds").await.unwrap()),
        before
    );

    // Deleting a property removes exactly that property.
    c.delete_secret(&to_user).await.unwrap();
    assert_eq!(
        f.bao.kv2_get("secrets", "app/creds").await.unwrap(),
        json!({"password": "p<w>", "theirs": "keep me"})
    );
    // A whole-secret delete removes the secret with its metadata (all versions).
    c.delete_secret(&entry(None, "app/creds", None))
        .await
        .unwrap();
    assert!(
        f.bao
            .kv2_metadata("secrets", "app/creds")
            .await
            .unwrap()
            .is_none()
    );
    // Deleting what is gone is fine.
    c.delete_secret(&to_user).await.unwrap();
}

#[tokio::test]
async fn kv2_secrets_without_our_marker_are_neither_overwritten_nor_deleted() {
    let f = Fixture::start().await;
    f.bao.mount_kv("secrets", 2).await.unwrap();
    f.bao
        .kv2_put("secrets", "foreign", &json!({"k": "theirs"}))
        .await
        .unwrap();
    let c = f
        .client(f.token_store(json!({"path": "secrets"})).await)
        .await
        .unwrap();
    let src = local(&[("k", "ours")]);
    let e = entry(Some("k"), "foreign", Some("k"));
    let err = c.push_secret(&src, &e).await.unwrap_err();
    assert_eq!(err.to_string(), "secret not managed by external-secrets");
    c.delete_secret(&e).await.unwrap();
    c.delete_secret(&entry(None, "foreign", None))
        .await
        .unwrap();
    assert_eq!(
        f.bao.kv2_get("secrets", "foreign").await.unwrap(),
        json!({"k": "theirs"})
    );
    // It exists, so IfNotExists leaves it alone.
    assert!(c.secret_exists(&e).await.unwrap());
}

#[tokio::test]
async fn whole_secret_pushes_write_every_key_and_push_metadata_is_merged() {
    let f = Fixture::start().await;
    f.bao.mount_kv("secrets", 2).await.unwrap();
    let c = f
        .client(f.token_store(json!({"path": "secrets"})).await)
        .await
        .unwrap();
    let mut e = entry(None, "bundle", None);
    e.metadata = Some(
        json!({"apiVersion": "kubernetes.external-secrets.io/v1alpha1",
        "kind": "PushSecretMetadata", "spec": {"customMetadata": {"owner": "team-a"}}}),
    );
    c.push_secret(&local(&[("a", "1"), ("b", "two")]), &e)
        .await
        .unwrap();
    assert_eq!(
        f.bao.kv2_get("secrets", "bundle").await.unwrap(),
        json!({"a": "1", "b": "two"})
    );
    let meta = f
        .bao
        .kv2_metadata("secrets", "bundle")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        meta["custom_metadata"],
        json!({"managed-by": "external-secrets", "owner": "team-a"})
    );
    // A key that is not a JSON object cannot be pushed without a property.
    let err = c
        .push_secret(
            &local(&[("raw", "plain")]),
            &entry(Some("raw"), "raw", None),
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("invalid JSON format"), "{err}");
}

#[tokio::test]
async fn check_and_set_mounts_are_written_with_the_current_version() {
    let f = Fixture::start().await;
    f.bao.mount_kv("cas", 2).await.unwrap();
    f.bao
        .api(
            reqwest::Method::POST,
            "cas/config",
            Some(&json!({"cas_required": true})),
        )
        .await
        .unwrap();
    // The store does not say checkAndSet: the mount's requirement is discovered.
    let c = f
        .client(f.token_store(json!({"path": "cas"})).await)
        .await
        .unwrap();
    let src = local(&[("v", "one")]);
    c.push_secret(&src, &entry(Some("v"), "x", Some("v")))
        .await
        .unwrap();
    c.push_secret(&local(&[("v", "two")]), &entry(Some("v"), "x", Some("v")))
        .await
        .unwrap();
    assert_eq!(
        f.bao.kv2_get("cas", "x").await.unwrap(),
        json!({"v": "two"})
    );
    // With checkAndSet.required the version is sent from the first write on.
    let strict = f
        .client(
            f.token_store(json!({"path": "cas", "checkAndSet": {"required": true}}))
                .await,
        )
        .await
        .unwrap();
    strict
        .push_secret(&local(&[("v", "three")]), &entry(Some("v"), "x", Some("v")))
        .await
        .unwrap();
    strict
        .push_secret(&src, &entry(Some("v"), "y", Some("v")))
        .await
        .unwrap();
    assert_eq!(
        f.bao.kv2_get("cas", "x").await.unwrap(),
        json!({"v": "three"})
    );
    assert_eq!(
        f.bao.kv2_get("cas", "y").await.unwrap(),
        json!({"v": "one"})
    );
    // checkAndSet is refused on KV v1 stores.
    let v1 = f
        .client(
            f.token_store(
                json!({"path": "cas", "version": "v1", "checkAndSet": {"required": true}}),
            )
            .await,
        )
        .await;
    assert_eq!(
        v1.err().map(|e| e.to_string()).as_deref(),
        Some("checkAndSet is not supported with Vault KV version v1")
    );
}

#[tokio::test]
async fn kv1_pushes_carry_the_custom_metadata_marker_in_the_data() {
    let f = Fixture::start().await;
    f.bao.mount_kv("kv1", 1).await.unwrap();
    f.bao
        .kv1_put("kv1", "foreign", &json!({"x": "y"}))
        .await
        .unwrap();
    let c = f
        .client(f.token_store(json!({"path": "kv1", "version": "v1"})).await)
        .await
        .unwrap();
    let src = local(&[("user", "admin"), ("pass", "pw")]);
    c.push_secret(&src, &entry(Some("user"), "app", Some("u")))
        .await
        .unwrap();
    c.push_secret(&src, &entry(Some("pass"), "app", Some("p")))
        .await
        .unwrap();
    assert_eq!(
        f.bao.kv1_get("kv1", "app").await.unwrap(),
        json!({"u": "admin", "p": "pw", "custom_metadata": {"managed-by": "external-secrets"}})
    );
    assert_eq!(
        text(
            c.get_secret(&provider_vault_support::remote_prop("app", "u"))
                .await
                .unwrap()
        ),
        "admin"
    );
    c.delete_secret(&entry(Some("user"), "app", Some("u")))
        .await
        .unwrap();
    assert_eq!(
        f.bao.kv1_get("kv1", "app").await.unwrap(),
        json!({"p": "pw", "custom_metadata": {"managed-by": "external-secrets"}})
    );
    c.delete_secret(&entry(Some("pass"), "app", Some("p")))
        .await
        .unwrap();
    assert!(
        f.bao.kv1_get("kv1", "app").await.is_err(),
        "last property gone ⇒ secret gone"
    );
    // Unmarked v1 secrets are refused and kept.
    assert!(
        c.push_secret(&src, &entry(Some("user"), "foreign", Some("x")))
            .await
            .is_err()
    );
    c.delete_secret(&entry(None, "foreign", None))
        .await
        .unwrap();
    assert_eq!(
        f.bao.kv1_get("kv1", "foreign").await.unwrap(),
        json!({"x": "y"})
    );
}
