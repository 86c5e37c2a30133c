//! The fake provider: key+version lookup, gjson properties, maps, find by name, push/exists.

use std::collections::BTreeMap;

use controller::provider::fake::FakeProvider;
use controller::provider::{
    ClientContext, Provider, ProviderError, SecretsClient, StoreInfo, ValidationResult,
};
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use serde_json::json;
use shared::api::v1::{
    ExternalSecretDataRemoteRef, ExternalSecretFind, SecretStoreKind, SecretStoreSpec,
};
use shared::api::v1alpha1::PushSecretData;

const FRIENDS: &str = r#"{
"name": {"first": "Tom", "last": "Anderson"},
"friends": [
{"first": "Dale", "last": "Murphy"},
{"first": "Roger", "last": "Craig"},
{"first": "Jane", "last": "Murphy"}
]
}"#;

fn offline_kube() -> kube::Client {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let cfg = kube::Config::new("http://127.0.0.1:9".parse().unwrap());
    kube::Client::try_from(cfg).unwrap()
}

fn ctx(uid: &str, fake: serde_json::Value) -> ClientContext {
    let spec: SecretStoreSpec =
        serde_json::from_value(json!({"provider": {"fake": fake}})).unwrap();
    ClientContext::new(
        offline_kube(),
        StoreInfo {
            kind: SecretStoreKind::SecretStore,
            name: "fake".into(),
            namespace: Some("default".into()),
            uid: uid.into(),
            generation: 1,
            spec,
        },
        "default".into(),
    )
}

fn data() -> serde_json::Value {
    json!({"data": [
        {"key": "friendslist", "value": FRIENDS},
        {"key": "plain", "value": "hello"},
        {"key": "versioned", "value": "one", "version": "v1"},
        {"key": "versioned", "value": "two", "version": "v2"},
        {"key": "map", "value": r#"{"user":"admin","port":5432,"ratio":1.50,"tls":true,"nested":{"a": 1},"none":null}"#},
        {"key": "db-nine", "value": "nine", "version": "9"},
        {"key": "db-nine", "value": "ten", "version": "10"},
        {"key": "db/path", "value": "p"},
    ]})
}

async fn client(uid: &str) -> Box<dyn SecretsClient> {
    FakeProvider::new()
        .new_client(&ctx(uid, data()))
        .await
        .unwrap()
}

fn remote(key: &str, property: Option<&str>, version: Option<&str>) -> ExternalSecretDataRemoteRef {
    ExternalSecretDataRemoteRef {
        key: key.into(),
        property: property.map(Into::into),
        version: version.map(Into::into),
        ..Default::default()
    }
}

async fn text(
    c: &dyn SecretsClient,
    r: ExternalSecretDataRemoteRef,
) -> Result<String, ProviderError> {
    c.get_secret(&r)
        .await
        .map(|v| String::from_utf8(v.into_vec()).unwrap())
}

#[tokio::test]
async fn reads_values_with_gjson_properties_like_the_aws_docs_example() {
    let c = client("uid-read").await;
    assert_eq!(
        text(&*c, remote("plain", None, None)).await.unwrap(),
        "hello"
    );
    assert_eq!(
        text(&*c, remote("friendslist", Some("name.first"), None))
            .await
            .unwrap(),
        "Tom"
    );
    assert_eq!(
        text(&*c, remote("friendslist", Some("friends.1.first"), None))
            .await
            .unwrap(),
        "Roger"
    );
    assert_eq!(
        text(&*c, remote("friendslist", Some("friends.#"), None))
            .await
            .unwrap(),
        "3"
    );
    assert_eq!(
        text(&*c, remote("friendslist", Some("name"), None))
            .await
            .unwrap(),
        r#"{"first": "Tom", "last": "Anderson"}"#
    );
    assert!(matches!(
        text(&*c, remote("friendslist", Some("name.middle"), None)).await,
        Err(ProviderError::NoSecret)
    ));
}

#[tokio::test]
async fn missing_keys_and_versions_are_no_secret() {
    let c = client("uid-missing").await;
    assert!(matches!(
        text(&*c, remote("absent", None, None)).await,
        Err(ProviderError::NoSecret)
    ));
    assert_eq!(
        text(&*c, remote("versioned", None, Some("v2")))
            .await
            .unwrap(),
        "two"
    );
    assert_eq!(
        text(&*c, remote("versioned", None, Some("v1")))
            .await
            .unwrap(),
        "one"
    );
    // Versioned entries are not found without their version, as in ESO.
    assert!(matches!(
        text(&*c, remote("versioned", None, None)).await,
        Err(ProviderError::NoSecret)
    ));
    assert!(matches!(
        text(&*c, remote("versioned", None, Some("v3"))).await,
        Err(ProviderError::NoSecret)
    ));
}

#[tokio::test]
async fn secret_map_unquotes_strings_and_keeps_other_values_as_raw_json() {
    let c = client("uid-map").await;
    let map = c.get_secret_map(&remote("map", None, None)).await.unwrap();
    let got: BTreeMap<&str, String> = map
        .iter()
        .map(|(k, v)| {
            (
                k.as_str(),
                String::from_utf8(v.as_bytes().to_vec()).unwrap(),
            )
        })
        .collect();
    let want: BTreeMap<&str, String> = [
        ("user", "admin"),
        ("port", "5432"),
        ("ratio", "1.50"),
        ("tls", "true"),
        ("nested", r#"{"a": 1}"#),
        ("none", ""),
    ]
    .into_iter()
    .map(|(k, v)| (k, v.to_string()))
    .collect();
    assert_eq!(got, want);
    let err = c
        .get_secret_map(&remote("plain", None, None))
        .await
        .unwrap_err();
    assert!(
        !err.to_string().contains("hello"),
        "error leaks the value: {err}"
    );
    assert!(matches!(
        c.get_secret_map(&remote("absent", None, None)).await,
        Err(ProviderError::NoSecret)
    ));
}

#[tokio::test]
async fn find_by_name_takes_the_lexicographically_highest_version_and_converts_keys() {
    let c = client("uid-find").await;
    let find: ExternalSecretFind =
        serde_json::from_value(json!({"name": {"regexp": "^db"}})).unwrap();
    let map = c.get_all_secrets(&find).await.unwrap();
    let got: BTreeMap<String, String> = map
        .into_iter()
        .map(|(k, v)| (k, String::from_utf8(v.into_vec()).unwrap()))
        .collect();
    // "9" > "10" as strings; "db/path" becomes "db_path" (Default conversion).
    assert_eq!(
        got,
        BTreeMap::from([
            ("db-nine".to_string(), "nine".to_string()),
            ("db_path".to_string(), "p".to_string()),
        ])
    );
    let by_tags: ExternalSecretFind = serde_json::from_value(json!({"tags": {"a": "b"}})).unwrap();
    assert!(c.get_all_secrets(&by_tags).await.is_err());
}

fn push(secret_key: &str, remote_key: &str) -> PushSecretData {
    serde_json::from_value(
        json!({"match": {"secretKey": secret_key, "remoteRef": {"remoteKey": remote_key}}}),
    )
    .unwrap()
}

fn source() -> Secret {
    Secret {
        data: Some(BTreeMap::from([(
            "token".to_string(),
            ByteString(b"s3cr3t".to_vec()),
        )])),
        ..Default::default()
    }
}

#[tokio::test]
async fn pushed_values_are_shared_by_clients_of_the_same_store_only() {
    let provider = FakeProvider::new();
    let a = provider.new_client(&ctx("uid-a", data())).await.unwrap();
    assert!(!a.secret_exists(&push("token", "pushed")).await.unwrap());
    a.push_secret(&source(), &push("token", "pushed"))
        .await
        .unwrap();
    assert!(a.secret_exists(&push("token", "pushed")).await.unwrap());
    assert_eq!(
        text(&*a, remote("pushed", None, None)).await.unwrap(),
        "s3cr3t"
    );

    // A second client of the same store (e.g. after a store edit) still sees the pushed value.
    let again = provider.new_client(&ctx("uid-a", data())).await.unwrap();
    assert_eq!(
        text(&*again, remote("pushed", None, None)).await.unwrap(),
        "s3cr3t"
    );
    // Another store does not.
    let b = provider.new_client(&ctx("uid-b", data())).await.unwrap();
    assert!(!b.secret_exists(&push("token", "pushed")).await.unwrap());

    // Keys from spec.data cannot be overwritten by a push.
    let err = a
        .push_secret(&source(), &push("token", "plain"))
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "key already exists");
    assert_eq!(
        text(&*a, remote("plain", None, None)).await.unwrap(),
        "hello"
    );
    // Delete is a no-op, as in ESO.
    a.delete_secret(&push("token", "pushed")).await.unwrap();
    assert!(a.secret_exists(&push("token", "pushed")).await.unwrap());
}

#[tokio::test]
async fn validation_result_follows_the_spec_field() {
    let provider = FakeProvider::new();
    for (value, want) in [
        (None, Some(ValidationResult::Ready)),
        (Some(0), Some(ValidationResult::Ready)),
        (Some(1), Some(ValidationResult::Unknown)),
        (Some(2), None),
    ] {
        let mut cfg = json!({"data": []});
        if let Some(v) = value {
            cfg["validationResult"] = json!(v);
        }
        let c = provider.new_client(&ctx("uid-v", cfg)).await.unwrap();
        assert_eq!(c.validate().await.ok(), want, "validationResult {value:?}");
    }
}
