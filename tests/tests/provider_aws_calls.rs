//! What users pay for: 100 ExternalSecrets reading 10 distinct secrets of one store cost at most
//! 10 read calls per refresh, counted at moto (its request recorder), not by the code under
//! test. Identical reads share one call (ClientCache single-flight, then the provider's
//! short reuse of read values), and different secrets read at the same moment share a
//! BatchGetSecretValue.

mod provider_aws_support;

use std::time::Duration;

use provider_aws_support::*;
use serde_json::json;

const SECRETS: usize = 10;
const OBJECTS: usize = 100;
const REFRESH_SECONDS: u64 = 20;

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
    env.namespace("load", json!({})).await;
    env.credentials_secret("load").await;
    env.apply(
        "load",
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
    env.wait_ready("SecretStore", "load", "aws", "True", Some("Valid"))
        .await;
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
    let reads = |calls: &[tests::emulators::RecordedCall]| {
        let singles = calls
            .iter()
            .filter(|c| c.service == "secretsmanager" && c.action == "GetSecretValue")
            .count();
        let batches = calls
            .iter()
            .filter(|c| c.service == "secretsmanager" && c.action == "BatchGetSecretValue")
            .count();
        (singles, batches)
    };
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
