//! `controller render` offline with an AWS store: the static keys come from a Secret in a local
//! credentials file (no cluster is contacted), the endpoint from `AWS_SECRETSMANAGER_ENDPOINT`
//! as in the controller, and moto's request log shows the request was signed with those keys.

mod provider_aws_support;

use std::process::Command;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use provider_aws_support::controller_binary;
use tests::emulators::Moto;

const ES: &str = "apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata:
  name: app
  namespace: apps
spec:
  secretStoreRef:
    name: aws
  data:
  - secretKey: password
    remoteRef:
      key: app/db
      property: password
";

const STORE: &str = "apiVersion: external-secrets.io/v1
kind: SecretStore
metadata:
  name: aws
  namespace: apps
spec:
  provider:
    aws:
      service: SecretsManager
      region: us-east-1
      auth:
        secretRef:
          accessKeyIDSecretRef:
            name: awssm-secret
            key: access-key
          secretAccessKeySecretRef:
            name: awssm-secret
            key: secret-access-key
";

const CREDS: &str = "apiVersion: v1
kind: Secret
metadata:
  name: awssm-secret
  namespace: apps
stringData:
  access-key: AKIDRENDEROFFLINE
  secret-access-key: render-secret
";

fn render(moto: &Moto, dir: &std::path::Path, creds: bool) -> std::process::Output {
    let (es, store, cred) = (
        dir.join("es.yaml"),
        dir.join("store.yaml"),
        dir.join("creds.yaml"),
    );
    std::fs::write(&es, ES).unwrap();
    std::fs::write(&store, STORE).unwrap();
    std::fs::write(&cred, CREDS).unwrap();
    let mut cmd = Command::new(controller_binary());
    cmd.arg("render")
        .arg("-f")
        .arg(&es)
        .arg("--store")
        .arg(&store)
        .arg("--show-values")
        .env_clear()
        .env("HOME", dir)
        // Nothing may come from a cluster or the ambient AWS chain.
        .env("KUBECONFIG", dir.join("no-such-kubeconfig"))
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_SECRETSMANAGER_ENDPOINT", moto.endpoint())
        .env("AWS_STS_ENDPOINT", moto.endpoint());
    if creds {
        cmd.arg("--credentials").arg(&cred);
    }
    cmd.output().unwrap()
}

#[tokio::test]
async fn render_reads_through_moto_with_keys_from_a_credentials_file() {
    let moto = Moto::start().await.unwrap();
    moto.create_secret("app/db", r#"{"password":"pw-from-moto"}"#)
        .await
        .unwrap();
    moto.start_recording().await.unwrap();
    let dir = tempfile::tempdir().unwrap();

    let out = render(&moto, dir.path(), true);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains(&STANDARD.encode("pw-from-moto")),
        "{stdout}"
    );
    let calls = moto.recorded_calls().await.unwrap();
    let reads: Vec<_> = calls
        .iter()
        .filter(|c| c.service == "secretsmanager")
        .collect();
    assert!(!reads.is_empty(), "{calls:?}");
    assert!(
        reads.iter().all(|c| c.access_key_id == "AKIDRENDEROFFLINE"),
        "{calls:?}"
    );

    // Without the file the command fails naming the Secret, and never prints the other key.
    let out = render(&moto, dir.path(), false);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("apps/awssm-secret"), "{stderr}");
    assert!(!stderr.contains("render-secret"), "{stderr}");
}
