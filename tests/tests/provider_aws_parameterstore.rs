//! Parameter Store end to end against moto: decrypted reads, `name:version`, gjson properties,
//! tags with `metadataPolicy: Fetch`, finds by path/name and by tags, PushSecret with type,
//! KMS key and tags from PushSecretMetadata under the managed-by tag, refusal to overwrite an
//! unmanaged parameter, and deletion of what was pushed.

mod provider_aws_support;

use std::collections::BTreeMap;

use provider_aws_support::*;
use serde_json::{Value, json};

const STORE: &str = r#"
apiVersion: external-secrets.io/v1
kind: SecretStore
metadata:
  name: aws-parameterstore
spec:
  provider:
    aws:
      service: ParameterStore
      region: eu-central-1
      auth:
        secretRef:
          accessKeyIDSecretRef: {name: awssm-secret, key: access-key}
          secretAccessKeySecretRef: {name: awssm-secret, key: secret-access-key}
"#;

async fn put(env: &AwsEnv, name: &str, value: &str, kind: &str) {
    env.ssm(
        "PutParameter",
        json!({"Name": name, "Value": value, "Type": kind, "Overwrite": true}),
    )
    .await
    .unwrap();
}

async fn tags(env: &AwsEnv, name: &str) -> BTreeMap<String, String> {
    let out = env
        .ssm(
            "ListTagsForResource",
            json!({"ResourceType": "Parameter", "ResourceId": name}),
        )
        .await
        .unwrap();
    out["TagList"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|t| {
            (
                t["Key"].as_str().unwrap_or_default().to_string(),
                t["Value"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

async fn parameter(env: &AwsEnv, name: &str) -> Option<Value> {
    env.ssm(
        "GetParameter",
        json!({"Name": name, "WithDecryption": true}),
    )
    .await
    .ok()
    .map(|v| v["Parameter"].clone())
}

#[tokio::test]
async fn parameter_store_reads_finds_and_pushes_through_the_controller() {
    let env = AwsEnv::start(&[]).await;
    put(&env, "/team/db/user", "admin", "String").await;
    put(&env, "/team/db/password", "s3cret", "SecureString").await;
    put(
        &env,
        "/team/config",
        r#"{"a":{"b":"c"},"x.y":"dotted"}"#,
        "String",
    )
    .await;
    put(&env, "/team/versioned", "v1", "String").await;
    put(&env, "/team/versioned", "v2", "String").await;
    put(&env, "/other/db/user", "elsewhere", "String").await;
    env.ssm(
        "AddTagsToResource",
        json!({"ResourceType": "Parameter", "ResourceId": "/team/db/user",
               "Tags": [{"Key": "env", "Value": "prod"}]}),
    )
    .await
    .unwrap();
    env.namespace("default", json!({})).await;
    env.credentials_secret("default").await;
    env.apply("default", STORE).await;
    env.wait_ready(
        "SecretStore",
        "default",
        "aws-parameterstore",
        "True",
        Some("Valid"),
    )
    .await;

    env.apply(
        "default",
        r#"
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: params}
spec:
  refreshInterval: 1h
  secretStoreRef: {name: aws-parameterstore, kind: SecretStore}
  target: {name: params}
  data:
  - secretKey: user
    remoteRef: {key: /team/db/user}
  - secretKey: password
    remoteRef: {key: /team/db/password}
  - secretKey: nested
    remoteRef: {key: /team/config, property: a.b}
  - secretKey: dotted
    remoteRef: {key: /team/config, property: x.y}
  - secretKey: first
    remoteRef: {key: /team/versioned, version: "1"}
  - secretKey: latest
    remoteRef: {key: /team/versioned}
  - secretKey: tags
    remoteRef: {key: /team/db/user, metadataPolicy: Fetch}
  dataFrom:
  - find:
      path: /team
      name: {regexp: "db"}
  - find:
      tags: {env: prod}
"#,
    )
    .await;
    let got = env.wait_secret("default", "params", |d| d.len() >= 8).await;
    assert_eq!(got["user"], "admin");
    assert_eq!(got["password"], "s3cret", "SecureString decrypted");
    assert_eq!(got["nested"], "c");
    assert_eq!(got["dotted"], "dotted");
    assert_eq!(got["first"], "v1");
    assert_eq!(got["latest"], "v2");
    assert_eq!(got["tags"], r#"{"env":"prod"}"#);
    // find by path + name: /team/db/* only; converted keys (`/` → `_`).
    assert_eq!(got["_team_db_user"], "admin");
    assert_eq!(got["_team_db_password"], "s3cret");
    assert!(!got.contains_key("_other_db_user"));
    assert!(!got.contains_key("_team_config"));

    // PushSecret: SecureString with a KMS key and tags, under the managed-by tag.
    env.secret("default", "source", &[("token", "t0k3n"), ("other", "o")])
        .await;
    env.apply(
        "default",
        r#"
apiVersion: external-secrets.io/v1alpha1
kind: PushSecret
metadata: {name: to-ssm}
spec:
  refreshInterval: 1h
  deletionPolicy: Delete
  secretStoreRefs: [{name: aws-parameterstore, kind: SecretStore}]
  selector: {secret: {name: source}}
  data:
  - match: {secretKey: token, remoteRef: {remoteKey: /pushed/token}}
    metadata:
      apiVersion: kubernetes.external-secrets.io/v1alpha1
      kind: PushSecretMetadata
      spec:
        secretType: SecureString
        kmsKeyID: alias/team-key
        description: pushed by eso
        tags: {team: a}
  - match: {remoteRef: {remoteKey: /pushed/whole}}
    metadata:
      apiVersion: kubernetes.external-secrets.io/v1alpha1
      kind: PushSecretMetadata
      spec: {encodeAsDecoded: true}
"#,
    )
    .await;
    env.wait_ready("PushSecret", "default", "to-ssm", "True", Some("Synced"))
        .await;
    let token = parameter(&env, "/pushed/token").await.unwrap();
    assert_eq!(token["Value"], "t0k3n");
    assert_eq!(token["Type"], "SecureString");
    assert_eq!(
        tags(&env, "/pushed/token").await,
        BTreeMap::from([
            ("managed-by".to_string(), "external-secrets".to_string()),
            ("team".to_string(), "a".to_string()),
        ])
    );
    let described = env
        .ssm(
            "DescribeParameters",
            json!({"ParameterFilters": [{"Key": "Name", "Values": ["/pushed/token"]}]}),
        )
        .await
        .unwrap();
    assert_eq!(described["Parameters"][0]["KeyId"], "alias/team-key");
    assert_eq!(described["Parameters"][0]["Description"], "pushed by eso");
    let whole: Value = serde_json::from_str(
        parameter(&env, "/pushed/whole").await.unwrap()["Value"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(whole, json!({"token": "t0k3n", "other": "o"}));

    // A parameter without the managed-by tag is not overwritten.
    env.apply(
        "default",
        r#"
apiVersion: external-secrets.io/v1alpha1
kind: PushSecret
metadata: {name: intruder}
spec:
  refreshInterval: 1h
  secretStoreRefs: [{name: aws-parameterstore, kind: SecretStore}]
  selector: {secret: {name: source}}
  data:
  - match: {secretKey: token, remoteRef: {remoteKey: /team/db/user}}
"#,
    )
    .await;
    env.wait_push_refused_as_unmanaged("default", "intruder")
        .await;
    assert_eq!(
        parameter(&env, "/team/db/user").await.unwrap()["Value"],
        "admin"
    );

    // Deleting the PushSecret deletes what it pushed.
    env.delete_push("default", "to-ssm").await;
    eventually("pushed parameters deleted", || async {
        (parameter(&env, "/pushed/token").await.is_none()
            && parameter(&env, "/pushed/whole").await.is_none())
        .then_some(())
    })
    .await;
    assert!(parameter(&env, "/team/db/user").await.is_some());
}
