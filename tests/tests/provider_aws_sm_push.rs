//! The seed document's PushSecret manifests end to end against moto, each metadata field checked
//! in moto: tags (as desired state), KMS key id, description, string format, resource policy with
//! blockPublicPolicy, replica regions; property merge into one JSON secret; no write when nothing
//! changed; refusal to touch a secret without the managed-by tag; deletionPolicy Delete with
//! forceDeleteWithoutRecovery and with a recovery window. The two seed manifests that put the
//! metadata fields at the top level are invalid for ESO too and fail with a message saying why.

mod provider_aws_support;

use std::collections::BTreeMap;

use base64::Engine as _;
use provider_aws_support::*;
use serde_json::{Value, json};

const TEAMB_STORE: &str = r#"
apiVersion: external-secrets.io/v1
kind: SecretStore
metadata:
  name: teamb-secret-store
  namespace: teamb
spec:
  provider:
    aws:
      service: SecretsManager
      region: eu-central-1
      secretsManager:
        forceDeleteWithoutRecovery: true
      auth:
        secretRef:
          accessKeyIDSecretRef: {name: awssm-secret, key: access-key}
          secretAccessKeySecretRef: {name: awssm-secret, key: secret-access-key}
"#;

/// The seed's "Additional Settings" store with a recovery window instead of force (no auth:
/// the controller's own default chain).
const RECOVERY_STORE: &str = r#"
apiVersion: external-secrets.io/v1
kind: SecretStore
metadata:
  name: aws-secretsmanager
spec:
  provider:
    aws:
      service: SecretsManager
      role: arn:aws:iam::123456789012:role/external-secrets
      region: eu-central-1
      secretsManager:
        recoveryWindowInDays: 7
"#;

const SEED_PUSH: &str = r#"
apiVersion: external-secrets.io/v1alpha1
kind: PushSecret
metadata:
  name: pushsecret-example # Customisable
  namespace: teamb # Same of the SecretStores
spec:
  deletionPolicy: Delete
  refreshInterval: 1h0m0s # Refresh interval for which push secret will reconcile
  secretStoreRefs: # A list of secret stores to push secrets to
    - name: teamb-secret-store
      kind: SecretStore
  selector:
    secret:
      name: my-secret # Source Kubernetes secret to be pushed
  data:
    - match:
        secretKey: key1 # Source Kubernetes secret key to be pushed
        remoteRef:
          remoteKey: teamb-my-first-parameter-3 # Remote reference (where the secret is going to be pushed)
      metadata:
        apiVersion: kubernetes.external-secrets.io/v1alpha1
        kind: PushSecretMetadata
        spec:
          kmsKeyID: bb123123-b2b0-4f60-ac3a-44a13f0e6b6c # When not set, default to alias/aws/secretsmanager
          secretPushFormat: string # When not set, default to binary
          description: "secret 'managed-by:secret-manager' from 'secret-store:teamb-secret-store'"
          tags:
            secret-store: teamb-secret-store
            refresh-interval: 1h
"#;

/// The seed's resource policy example, verbatim (metadata fields at the top level).
const SEED_POLICY_PUSH: &str = r#"
apiVersion: external-secrets.io/v1alpha1
kind: PushSecret
metadata:
  name: pushsecret-example
  namespace: default
spec:
  refreshInterval: 10s
  secretStoreRefs:
    - name: aws-secretsmanager
      kind: SecretStore
  selector:
    secret:
      name: pokedex-credentials
  data:
    - match:
        secretKey: my-secret-key
        remoteRef:
          remoteKey: my-remote-secret
          property: password
      metadata:
        resourcePolicy:
          blockPublicPolicy: true
          policySourceRef:
            kind: ConfigMap
            name: my-secret-resource-policy
            key: policy.json
        kmsKeyID: bb123123-b2b0-4f60-ac3a-44a13f0e6b6c
        secretPushFormat: string
        description: "Cross-account accessible secret"
        tags:
          team: platform-engineering
"#;

const POLICY_CONFIGMAP: &str = r#"
apiVersion: v1
kind: ConfigMap
metadata:
  name: my-secret-resource-policy
  namespace: default
data:
  policy.json: |
    {
      "Version": "2012-10-17",
      "Statement": [
        {
          "Effect": "Allow",
          "Principal": {
            "AWS": "arn:aws:iam::123456789012:root"
          },
          "Action": "secretsmanager:GetSecretValue",
          "Resource": "*"
        }
      ]
    }
"#;

/// The seed's policy and replication examples with the fields under `spec` of a
/// PushSecretMetadata, as ESO requires.
fn wrapped_push(name: &str, remote: &str, extra: Value) -> String {
    let mut spec = json!({
        "kmsKeyID": "bb123123-b2b0-4f60-ac3a-44a13f0e6b6c",
        "secretPushFormat": "string",
        "description": "Cross-account accessible secret",
        "tags": {"team": "platform-engineering"}
    });
    if let (Some(s), Some(e)) = (spec.as_object_mut(), extra.as_object()) {
        s.extend(e.clone());
    }
    let doc = json!({
        "apiVersion": "external-secrets.io/v1alpha1", "kind": "PushSecret",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {
            "refreshInterval": "1h",
            "deletionPolicy": "Delete",
            "secretStoreRefs": [{"name": "aws-secretsmanager", "kind": "SecretStore"}],
            "selector": {"secret": {"name": "pokedex-credentials"}},
            "data": [{
                "match": {"secretKey": "my-secret-key", "remoteRef": {"remoteKey": remote, "property": "password"}},
                "metadata": {"apiVersion": "kubernetes.external-secrets.io/v1alpha1", "kind": "PushSecretMetadata", "spec": spec}
            }]
        }
    });
    serde_json::to_string(&doc).unwrap()
}

async fn describe(env: &AwsEnv, id: &str) -> Value {
    env.sm("DescribeSecret", json!({"SecretId": id}))
        .await
        .unwrap()
}

fn tags(d: &Value) -> BTreeMap<String, String> {
    d["Tags"]
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

async fn value(env: &AwsEnv, id: &str) -> String {
    let v = env
        .sm("GetSecretValue", json!({"SecretId": id}))
        .await
        .unwrap();
    match v["SecretString"].as_str() {
        Some(s) => s.to_string(),
        None => String::from_utf8(
            base64::engine::general_purpose::STANDARD
                .decode(v["SecretBinary"].as_str().unwrap_or_default())
                .unwrap(),
        )
        .unwrap(),
    }
}

fn regions(d: &Value) -> Vec<String> {
    let mut r: Vec<String> = d["ReplicationStatus"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["Region"].as_str().map(str::to_string))
        .collect();
    r.sort();
    r
}

#[tokio::test]
async fn seed_push_manifests_write_every_metadata_field_to_moto() {
    let env = AwsEnv::start(&[]).await;
    env.moto.start_recording().await.unwrap();
    for ns in ["teamb", "default"] {
        env.namespace(ns, json!({})).await;
        env.credentials_secret(ns).await;
    }
    env.secret("teamb", "my-secret", &[("key1", "first value")])
        .await;
    env.apply("teamb", TEAMB_STORE).await;
    env.apply("default", RECOVERY_STORE).await;

    // Seed manifest 1: PushSecretMetadata with kmsKeyID, string format, description, tags.
    env.apply("teamb", SEED_PUSH).await;
    env.wait_ready(
        "PushSecret",
        "teamb",
        "pushsecret-example",
        "True",
        Some("Synced"),
    )
    .await;
    let d = describe(&env, "teamb-my-first-parameter-3").await;
    assert_eq!(d["KmsKeyId"], "bb123123-b2b0-4f60-ac3a-44a13f0e6b6c");
    assert_eq!(
        d["Description"],
        "secret 'managed-by:secret-manager' from 'secret-store:teamb-secret-store'"
    );
    assert_eq!(
        tags(&d),
        BTreeMap::from([
            ("managed-by".to_string(), "external-secrets".to_string()),
            ("refresh-interval".to_string(), "1h".to_string()),
            ("secret-store".to_string(), "teamb-secret-store".to_string()),
        ])
    );
    let v = env
        .sm(
            "GetSecretValue",
            json!({"SecretId": "teamb-my-first-parameter-3"}),
        )
        .await
        .unwrap();
    assert_eq!(v["SecretString"], "first value", "secretPushFormat string");

    // Tags are desired state: a tag dropped from the metadata is removed, a new one added,
    // and an unchanged value is not written again.
    env.moto.reset_recording().await.unwrap();
    env.apply(
        "teamb",
        &SEED_PUSH.replace("refresh-interval: 1h", "owner: team-b"),
    )
    .await;
    let want = BTreeMap::from([
        ("managed-by".to_string(), "external-secrets".to_string()),
        ("owner".to_string(), "team-b".to_string()),
        ("secret-store".to_string(), "teamb-secret-store".to_string()),
    ]);
    eventually("tags updated in moto", || async {
        (tags(&describe(&env, "teamb-my-first-parameter-3").await) == want).then_some(())
    })
    .await;
    env.wait_ready(
        "PushSecret",
        "teamb",
        "pushsecret-example",
        "True",
        Some("Synced"),
    )
    .await;
    assert!(
        env.calls("secretsmanager", "PutSecretValue")
            .await
            .is_empty(),
        "value unchanged: no PutSecretValue"
    );

    // Seed resource policy manifest, verbatim: invalid for ESO as well; the message says why.
    env.secret(
        "default",
        "pokedex-credentials",
        &[("my-secret-key", "pika"), ("other", "chu")],
    )
    .await;
    env.apply("default", POLICY_CONFIGMAP).await;
    env.apply("default", SEED_POLICY_PUSH).await;
    let (_, _, message) = env
        .wait_ready(
            "PushSecret",
            "default",
            "pushsecret-example",
            "False",
            Some("Errored"),
        )
        .await;
    assert!(
        message.contains("PushSecretMetadata") && message.contains("resourcePolicy"),
        "{message}"
    );

    // The same manifest with the fields under a PushSecretMetadata spec works.
    env.apply(
        "default",
        &wrapped_push(
            "policy",
            "my-remote-secret",
            json!({"resourcePolicy": {"blockPublicPolicy": true, "policySourceRef":
                {"kind": "ConfigMap", "name": "my-secret-resource-policy", "key": "policy.json"}}}),
        ),
    )
    .await;
    env.wait_ready("PushSecret", "default", "policy", "True", Some("Synced"))
        .await;
    let policy = env
        .sm("GetResourcePolicy", json!({"SecretId": "my-remote-secret"}))
        .await
        .unwrap();
    let policy: Value = serde_json::from_str(policy["ResourcePolicy"].as_str().unwrap()).unwrap();
    assert_eq!(
        policy["Statement"][0]["Principal"]["AWS"],
        "arn:aws:iam::123456789012:root"
    );
    let put_policy = env.calls("secretsmanager", "PutResourcePolicy").await;
    assert_eq!(put_policy.len(), 1);
    assert_eq!(put_policy[0].body["BlockPublicPolicy"], true);
    // property: the value went into the `password` field of a JSON secret.
    assert_eq!(
        value(&env, "my-remote-secret").await,
        r#"{"password":"pika"}"#
    );

    // Replication locations are desired state too.
    env.apply(
        "default",
        &wrapped_push(
            "replicated",
            "my-replicated-secret",
            json!({"replicationLocations": ["eu-north-1", "eu-west-2"]}),
        ),
    )
    .await;
    env.wait_ready(
        "PushSecret",
        "default",
        "replicated",
        "True",
        Some("Synced"),
    )
    .await;
    assert_eq!(
        regions(&describe(&env, "my-replicated-secret").await),
        ["eu-north-1", "eu-west-2"]
    );
    env.apply(
        "default",
        &wrapped_push(
            "replicated",
            "my-replicated-secret",
            json!({"replicationLocations": ["eu-west-2"]}),
        ),
    )
    .await;
    eventually("replica eu-north-1 removed", || async {
        (regions(&describe(&env, "my-replicated-secret").await) == ["eu-west-2"]).then_some(())
    })
    .await;

    // Two entries merge their properties into one JSON secret (binary by default).
    env.apply(
        "default",
        r#"
apiVersion: external-secrets.io/v1alpha1
kind: PushSecret
metadata: {name: merged}
spec:
  refreshInterval: 1h
  secretStoreRefs: [{name: aws-secretsmanager, kind: SecretStore}]
  selector: {secret: {name: pokedex-credentials}}
  data:
  - match: {secretKey: my-secret-key, remoteRef: {remoteKey: merged, property: name}}
  - match: {secretKey: other, remoteRef: {remoteKey: merged, property: sound}}
"#,
    )
    .await;
    env.wait_ready("PushSecret", "default", "merged", "True", Some("Synced"))
        .await;
    let merged: Value = serde_json::from_str(&value(&env, "merged").await).unwrap();
    assert_eq!(merged, json!({"name": "pika", "sound": "chu"}));
    let raw = env
        .sm("GetSecretValue", json!({"SecretId": "merged"}))
        .await
        .unwrap();
    assert!(
        raw["SecretBinary"].is_string(),
        "binary is the default format"
    );

    // A secret without the managed-by tag is neither overwritten nor deleted.
    env.sm(
        "CreateSecret",
        json!({"Name": "hand-made", "SecretString": "keep me"}),
    )
    .await
    .unwrap();
    env.apply(
        "default",
        r#"
apiVersion: external-secrets.io/v1alpha1
kind: PushSecret
metadata: {name: intruder}
spec:
  refreshInterval: 1h
  deletionPolicy: Delete
  secretStoreRefs: [{name: aws-secretsmanager, kind: SecretStore}]
  selector: {secret: {name: pokedex-credentials}}
  data:
  - match: {secretKey: my-secret-key, remoteRef: {remoteKey: hand-made}}
"#,
    )
    .await;
    env.wait_push_refused_as_unmanaged("default", "intruder")
        .await;
    assert_eq!(value(&env, "hand-made").await, "keep me");

    // deletionPolicy Delete, store with forceDeleteWithoutRecovery: gone at once.
    env.delete_push("teamb", "pushsecret-example").await;
    eventually("forced delete", || async {
        env.sm(
            "DescribeSecret",
            json!({"SecretId": "teamb-my-first-parameter-3"}),
        )
        .await
        .err()
        .filter(|e| e.to_string().contains("ResourceNotFoundException"))
    })
    .await;
    let forced = env.calls("secretsmanager", "DeleteSecret").await;
    assert_eq!(
        forced.last().unwrap().body["ForceDeleteWithoutRecovery"],
        true
    );

    // ... with recoveryWindowInDays: scheduled for deletion, still describable.
    env.delete_push("default", "replicated").await;
    eventually("scheduled delete", || async {
        describe(&env, "my-replicated-secret").await["DeletedDate"]
            .as_f64()
            .map(|_| ())
    })
    .await;
    let scheduled = env.calls("secretsmanager", "DeleteSecret").await;
    assert_eq!(scheduled.last().unwrap().body["RecoveryWindowInDays"], 7);
    assert!(
        scheduled
            .last()
            .unwrap()
            .body
            .get("ForceDeleteWithoutRecovery")
            .is_none()
    );

    // The unmanaged secret survived its PushSecret's deletion.
    env.delete_push("default", "intruder").await;
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    assert_eq!(value(&env, "hand-made").await, "keep me");
}
