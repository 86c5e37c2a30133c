//! `controller render` offline with a store whose credentials are Secrets given in the input
//! files: the Kubernetes provider reads from the simulator with a bearer token that exists only
//! in a local file, never in a cluster the command talks to.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use controller::render::{RenderArgs, render};
use k8s_openapi::api::core::v1::{Namespace, Secret};
use kube::Api;
use kube::api::PostParams;
use serde_json::json;
use shared::template::Options;
use tests::sim::{ADMIN_TOKEN, Sim};

async fn seed(sim: &Sim) {
    let client = sim.client();
    let n: Namespace = serde_json::from_value(json!({"metadata": {"name": "remote"}})).unwrap();
    Api::<Namespace>::all(client.clone())
        .create(&PostParams::default(), &n)
        .await
        .unwrap();
    let s: Secret = serde_json::from_value(json!({
        "metadata": {"name": "db", "namespace": "remote"},
        "stringData": {"password": "s3cr3t-from-remote"}
    }))
    .unwrap();
    Api::<Secret>::namespaced(client, "remote")
        .create(&PostParams::default(), &s)
        .await
        .unwrap();
}

fn files(sim: &Sim, dir: &std::path::Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let es = dir.join("es.yaml");
    std::fs::write(
        &es,
        "apiVersion: external-secrets.io/v1\nkind: ExternalSecret\nmetadata:\n  name: app\n  namespace: apps\nspec:\n  secretStoreRef:\n    name: cluster\n  data:\n  - secretKey: pw\n    remoteRef:\n      key: db\n      property: password\n",
    )
    .unwrap();
    let store = dir.join("store.yaml");
    let store_yaml = format!(
        "apiVersion: external-secrets.io/v1\nkind: SecretStore\nmetadata:\n  name: cluster\n  namespace: apps\nspec:\n  provider:\n    kubernetes:\n      remoteNamespace: remote\n      server:\n        url: {}\n        caBundle: {}\n      auth:\n        token:\n          bearerToken:\n            name: creds\n            key: token\n",
        sim.https_url(),
        STANDARD.encode(sim.ca_pem())
    );
    std::fs::write(&store, store_yaml).unwrap();
    (es, store)
}

#[tokio::test]
async fn credentials_from_input_files_authenticate_the_store() {
    let sim = Sim::start().await.unwrap();
    seed(&sim).await;
    let dir = tempfile::tempdir().unwrap();
    let (es, store) = files(&sim, dir.path());
    let creds = dir.path().join("creds.yaml");
    std::fs::write(
        &creds,
        format!(
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: creds\nstringData:\n  token: {ADMIN_TOKEN}\n---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: unrelated\n  namespace: other\n"
        ),
    )
    .unwrap();
    let mut args = RenderArgs {
        file: es,
        store: Some(store),
        credentials: vec![creds],
        secret: None,
        show_values: true,
        use_kubeconfig: false,
    };
    let out = render(&args, &Options::default()).await.unwrap();
    assert!(
        out.contains(&STANDARD.encode("s3cr3t-from-remote")),
        "{out}"
    );
    args.show_values = false;
    let masked = render(&args, &Options::default()).await.unwrap();
    assert!(!masked.contains(&STANDARD.encode("s3cr3t-from-remote")));
    assert!(!masked.contains(ADMIN_TOKEN));
}

#[tokio::test]
async fn a_missing_credential_secret_is_named_in_the_error() {
    let sim = Sim::start().await.unwrap();
    seed(&sim).await;
    let dir = tempfile::tempdir().unwrap();
    let (es, store) = files(&sim, dir.path());
    let args = RenderArgs {
        file: es,
        store: Some(store),
        credentials: Vec::new(),
        secret: None,
        show_values: false,
        use_kubeconfig: false,
    };
    let err = render(&args, &Options::default()).await.err().unwrap();
    let text = format!("{err:#}");
    assert!(text.contains("Secret apps/creds"), "{text}");
    assert!(text.contains("not given in the input files"), "{text}");
}
