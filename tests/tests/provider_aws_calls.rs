//! What users pay for: 100 ExternalSecrets reading 10 distinct secrets of one store cost at most
//! 10 read calls per refresh, counted at moto (its request recorder), not by the code under
//! test. Identical reads share one call (the ClientCache's single flight and, for periodic
//! refreshes, its reuse within the refresh interval), and different secrets read at the same
//! moment share a BatchGetSecretValue. Sharing never hides a change from a force-sync.

mod provider_aws_support;

use std::time::Duration;

use provider_aws_support::*;
use serde_json::json;

const SECRETS: usize = 10;
const OBJECTS: usize = 100;
const REFRESH_SECONDS: u64 = 20;

/// A SecretStore `aws` in `ns` with the moto credentials, Ready.
async fn store(env: &AwsEnv, ns: &str) {
    env.namespace(ns, json!({})).await;
    env.credentials_secret(ns).await;
    env.apply(
        ns,
        &format!(
            r#"
apiVersion: external-secrets.io/v1
kind: SecretStore
metadata: {{name: aws}}
spec:
  provider:
    aws:
      service: SecretsManager
      region: {REGION}
      auth:
        secretRef:
          accessKeyIDSecretRef: {{name: awssm-secret, key: access-key}}
          secretAccessKeySecretRef: {{name: awssm-secret, key: secret-access-key}}
"#
        ),
    )
    .await;
    env.wait_ready("SecretStore", ns, "aws", "True", Some("Valid"))
        .await;
}

/// Secrets Manager reads (GetSecretValue, BatchGetSecretValue) among recorded calls.
fn reads(calls: &[tests::emulators::RecordedCall]) -> (usize, usize) {
    let count = |action: &str| {
        calls
            .iter()
            .filter(|c| c.service == "secretsmanager" && c.action == action)
            .count()
    };
    (count("GetSecretValue"), count("BatchGetSecretValue"))
}

#[tokio::test]
async fn hundred_external_secrets_over_ten_secrets_cost_at_most_ten_reads_per_refresh() {
    let env = AwsEnv::start(&["--concurrent=8"]).await;
    for i in 0..SECRETS {
        env.sm(
            "CreateSecret",
            json!({"Name": format!("shared/s{i}"), "SecretString": format!("v{i}")}),
        )
        .await
        .unwrap();
    }
    store(&env, "load").await;
    env.moto.start_recording().await.unwrap();
    let mut docs = String::new();
    for i in 0..OBJECTS {
        docs.push_str(&format!(
            "---\napiVersion: external-secrets.io/v1\nkind: ExternalSecret\nmetadata: {{name: es-{i}}}\n\
             spec:\n  refreshInterval: {REFRESH_SECONDS}s\n  secretStoreRef: {{name: aws, kind: SecretStore}}\n  \
             target: {{name: es-{i}}}\n  data:\n  - secretKey: v\n    remoteRef: {{key: shared/s{}}}\n",
            i % SECRETS
        ));
    }
    env.apply("load", &docs).await;
    for i in 0..OBJECTS {
        let want = format!("v{}", i % SECRETS);
        env.wait_secret("load", &format!("es-{i}"), |d| d.get("v") == Some(&want))
            .await;
    }
    let cold = env.moto.recorded_calls().await.unwrap();
    let (singles, batches) = reads(&cold);
    println!(
        "cold sync: {singles} GetSecretValue + {batches} BatchGetSecretValue for {OBJECTS} objects"
    );

    // One full refresh period later every object has been refreshed once more.
    env.moto.reset_recording().await.unwrap();
    tokio::time::sleep(Duration::from_secs(REFRESH_SECONDS)).await;
    let refresh = env.moto.recorded_calls().await.unwrap();
    let (singles, batches) = reads(&refresh);
    println!("one refresh: {singles} GetSecretValue + {batches} BatchGetSecretValue");
    assert!(
        singles + batches > 0,
        "nothing was refreshed within {REFRESH_SECONDS}s"
    );
    assert!(
        singles + batches <= SECRETS,
        "{singles} GetSecretValue + {batches} BatchGetSecretValue calls for one refresh of {OBJECTS} objects over {SECRETS} secrets"
    );
}

/// A force-sync right after a read (well within any reuse of read values) must see a value
/// changed since: it reads AWS again.
#[tokio::test]
async fn a_force_sync_reads_the_changed_value_from_aws() {
    let env = AwsEnv::start(&[]).await;
    env.sm(
        "CreateSecret",
        json!({"Name": "rotated", "SecretString": "before"}),
    )
    .await
    .unwrap();
    store(&env, "fs").await;
    let es = |force: &str| {
        format!(
            "apiVersion: external-secrets.io/v1\nkind: ExternalSecret\n\
             metadata: {{name: es, annotations: {{external-secrets.io/force-sync: \"{force}\"}}}}\n\
             spec:\n  refreshInterval: 1h\n  secretStoreRef: {{name: aws, kind: SecretStore}}\n  \
             target: {{name: es}}\n  data:\n  - secretKey: v\n    remoteRef: {{key: rotated}}\n"
        )
    };
    env.apply("fs", &es("0")).await;
    env.wait_secret("fs", "es", |d| {
        d.get("v").map(String::as_str) == Some("before")
    })
    .await;
    env.sm(
        "PutSecretValue",
        json!({"SecretId": "rotated", "SecretString": "after"}),
    )
    .await
    .unwrap();
    env.moto.start_recording().await.unwrap();
    env.apply("fs", &es("1")).await;
    env.wait_secret("fs", "es", |d| {
        d.get("v").map(String::as_str) == Some("after")
    })
    .await;
    let (singles, batches) = reads(&env.moto.recorded_calls().await.unwrap());
    assert!(
        singles + batches >= 1,
        "the force-sync made no Secrets Manager read"
    );
}
