//! The seed document's read manifests end to end: the built controller (endpoints from its
//! environment) syncs ExternalSecrets from moto through the seed SecretStore (static keys plus a
//! role to assume): gjson properties, tags with `metadataPolicy: Fetch`, version stages and
//! `uuid/` version ids, binary secrets, extract, find by name/tags/path, and a missing secret.

mod provider_aws_support;

use provider_aws_support::*;
use serde_json::json;

const FRIENDS: &str = r#"{
  "name": {"first": "Tom", "last": "Anderson"},
  "friends": [
    {"first": "Dale", "last": "Murphy"},
    {"first": "Roger", "last": "Craig"},
    {"first": "Jane", "last": "Murphy"}
  ]
}"#;

const FRIENDS_ES: &str = r#"
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata:
  name: example
spec:
  refreshInterval: 1h0m0s
  secretStoreRef:
    name: aws-secretsmanager
    kind: SecretStore
  target:
    name: friends
    creationPolicy: Owner
  data:
  - secretKey: my_name
    remoteRef:
      key: friendslist
      property: name.first # Tom
  - secretKey: first_friend
    remoteRef:
      key: friendslist
      property: friends.1.first # Roger
  # metadataPolicy to fetch all the labels in JSON format
  - secretKey: tags
    remoteRef:
      metadataPolicy: Fetch
      key: database-credentials
  # metadataPolicy to fetch a specific label (dev) from the source secret
  - secretKey: developer
    remoteRef:
      metadataPolicy: Fetch
      key: database-credentials
      property: dev
"#;

const VERSIONS_ES: &str = r#"
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata:
  name: versioned-api-key
spec:
  refreshInterval: 1h0m0s
  secretStoreRef:
    name: aws-secretsmanager
    kind: SecretStore
  target:
    name: versioned-api-key
    creationPolicy: Owner
  data:
  - secretKey: previous-api-key
    remoteRef:
      key: "production/api-key"
      version: "AWSPREVIOUS"
  - secretKey: current-api-key
    remoteRef:
      key: "production/api-key"
      version: "AWSCURRENT"
"#;

const UUID_ES: &str = r#"
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata:
  name: versioned-api-key-by-id
spec:
  refreshInterval: 1h0m0s
  secretStoreRef:
    name: aws-secretsmanager
    kind: SecretStore
  target:
    name: versioned-api-key-by-id
    creationPolicy: Owner
  data:
  - secretKey: api-key
    remoteRef:
      key: "production/api-key"
      version: "uuid/123e4567-e89b-12d3-a456-426614174000"
"#;

const SEED_VERSION_ID: &str = "123e4567-e89b-12d3-a456-426614174000";

async fn seed(env: &AwsEnv) {
    env.sm(
        "CreateSecret",
        json!({"Name": "friendslist", "SecretString": FRIENDS}),
    )
    .await
    .unwrap();
    env.sm(
        "CreateSecret",
        json!({"Name": "database-credentials", "SecretString": "{\"user\":\"db\"}",
               "Tags": [{"Key": "dev", "Value": "alice"}, {"Key": "team", "Value": "<core>"}]}),
    )
    .await
    .unwrap();
    env.sm(
        "CreateSecret",
        json!({"Name": "production/api-key", "SecretString": "key-v1",
               "ClientRequestToken": SEED_VERSION_ID}),
    )
    .await
    .unwrap();
    env.sm(
        "PutSecretValue",
        json!({"SecretId": "production/api-key", "SecretString": "key-v2"}),
    )
    .await
    .unwrap();
    env.sm(
        "CreateSecret",
        json!({"Name": "app/blob", "SecretBinary": "AAEC/w==",
               "Tags": [{"Key": "kind", "Value": "blob"}]}),
    )
    .await
    .unwrap();
    env.sm(
        "CreateSecret",
        json!({"Name": "app/config", "SecretString": r#"{"host":"db.local","port":5432,"a.b":"dotted"}"#,
               "Tags": [{"Key": "kind", "Value": "config"}]}),
    )
    .await
    .unwrap();
    env.sm(
        "CreateSecret",
        json!({"Name": "other/config", "SecretString": "other",
               "Tags": [{"Key": "kind", "Value": "config"}]}),
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn seed_manifests_sync_from_moto_through_the_controller_binary() {
    let env = AwsEnv::start(&["--concurrent=4"]).await;
    env.moto.start_recording().await.unwrap();
    seed(&env).await;
    env.namespace("default", json!({})).await;
    env.credentials_secret("default").await;
    env.apply("default", SEED_STORE).await;
    env.wait_ready(
        "SecretStore",
        "default",
        "aws-secretsmanager",
        "True",
        Some("Valid"),
    )
    .await;

    // The store's role was assumed with the static keys from awssm-secret.
    let assumed = env.calls("sts", "AssumeRole").await;
    assert!(!assumed.is_empty(), "no AssumeRole call recorded");
    assert_eq!(assumed[0].access_key_id, "AKIDSEEDSTORE");
    assert_eq!(
        assumed[0].body["RoleArn"],
        "arn:aws:iam::123456789012:role/external-secrets"
    );
    assert_eq!(
        assumed[0].body["RoleSessionName"],
        controller::provider::aws::ROLE_SESSION_NAME
    );

    env.apply("default", FRIENDS_ES).await;
    env.apply("default", VERSIONS_ES).await;
    env.apply("default", UUID_ES).await;
    env.apply(
        "default",
        r#"
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata:
  name: finds
spec:
  refreshInterval: 1h
  secretStoreRef: {name: aws-secretsmanager, kind: SecretStore}
  target: {name: finds}
  data:
  - secretKey: blob
    remoteRef: {key: app/blob}
  - secretKey: dotted
    remoteRef: {key: app/config, property: a.b}
  dataFrom:
  - extract: {key: app/config}
  - find:
      name: {regexp: "^production/"}
  - find:
      tags: {kind: config}
      path: app/
"#,
    )
    .await;

    let friends = env
        .wait_secret("default", "friends", |d| d.len() == 4)
        .await;
    assert_eq!(friends["my_name"], "Tom");
    assert_eq!(friends["first_friend"], "Roger");
    // Go's json.Marshal of the tag map: sorted keys, HTML escaped.
    assert_eq!(
        friends["tags"],
        r#"{"dev":"alice","team":"\u003ccore\u003e"}"#
    );
    assert_eq!(friends["developer"], "alice");

    let versions = env
        .wait_secret("default", "versioned-api-key", |d| d.len() == 2)
        .await;
    assert_eq!(versions["previous-api-key"], "key-v1");
    assert_eq!(versions["current-api-key"], "key-v2");
    let by_id = env
        .wait_secret("default", "versioned-api-key-by-id", |d| !d.is_empty())
        .await;
    assert_eq!(by_id["api-key"], "key-v1");

    let finds = env.wait_secret("default", "finds", |d| d.len() > 3).await;
    let blob = env
        .get_secret("default", "finds")
        .await
        .unwrap()
        .data
        .unwrap();
    assert_eq!(blob["blob"].0, vec![0u8, 1, 2, 255], "SecretBinary bytes");
    assert_eq!(
        finds["dotted"], "dotted",
        "a dotted key is read literally first"
    );
    assert_eq!(finds["host"], "db.local");
    assert_eq!(finds["port"], "5432");
    // find by name: the remote name converted with the Default strategy (`/` → `_`).
    assert_eq!(finds["production_api-key"], "key-v2");
    // find by tags under a path: app/config only (other/config is outside the path, and
    // app/blob has another tag).
    assert!(finds.contains_key("app_config"), "{:?}", finds.keys());
    assert!(!finds.contains_key("other_config"));
    assert!(!finds.contains_key("app_blob"));

    // Every ES is Ready and each call was counted under ESO's labels.
    for name in [
        "example",
        "versioned-api-key",
        "versioned-api-key-by-id",
        "finds",
    ] {
        env.wait_ready(
            "ExternalSecret",
            "default",
            name,
            "True",
            Some("SecretSynced"),
        )
        .await;
    }
    let calls = env.provider_calls().await;
    let has = |call: &str| {
        calls.iter().any(|(l, v)| {
            l.contains("provider=\"AWS/SecretsManager\"")
                && l.contains(&format!("call=\"{call}\""))
                && l.contains("status=\"success\"")
                && *v >= 1.0
        })
    };
    assert!(has("DescribeSecret"), "{calls:?}");
    assert!(
        has("GetSecretValue") || has("BatchGetSecretValue"),
        "{calls:?}"
    );
    assert!(has("ListSecrets"), "{calls:?}");

    // A missing remote secret with deletionPolicy Delete: the entry is skipped, the ES stays
    // Ready and the target holds what exists.
    env.apply(
        "default",
        r#"
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata:
  name: partly-missing
spec:
  refreshInterval: 1h
  secretStoreRef: {name: aws-secretsmanager, kind: SecretStore}
  target: {name: partly-missing, deletionPolicy: Delete}
  data:
  - secretKey: here
    remoteRef: {key: friendslist, property: name.last}
  - secretKey: gone
    remoteRef: {key: does/not/exist}
"#,
    )
    .await;
    let partly = env
        .wait_secret("default", "partly-missing", |d| !d.is_empty())
        .await;
    assert_eq!(partly.get("here").map(String::as_str), Some("Anderson"));
    assert!(!partly.contains_key("gone"));
}
