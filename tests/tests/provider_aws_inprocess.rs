//! The AWS provider built in-process with explicit endpoints (no process environment): reads of
//! 25 different secrets issued at once become two BatchGetSecretValue calls at moto (20 + 5),
//! a missing secret is `NoSecret` (inside a batch and alone), and validation proves the keys.

use std::sync::Arc;

use controller::provider::aws::{AwsProvider, Endpoints};
use controller::provider::{ClientContext, Provider, ProviderError, SecretsClient, StoreInfo};
use k8s_openapi::api::core::v1::{Namespace, Secret};
use kube::Api;
use kube::api::PostParams;
use serde_json::json;
use shared::api::v1::{ExternalSecretDataRemoteRef, SecretStoreKind};
use tests::emulators::Moto;
use tests::sim::Sim;

fn remote(key: &str) -> ExternalSecretDataRemoteRef {
    serde_json::from_value(json!({"key": key})).unwrap()
}

#[tokio::test]
async fn concurrent_reads_of_different_secrets_are_batched_by_twenty() {
    let moto = Moto::start().await.unwrap();
    for i in 0..25 {
        moto.create_secret(&format!("batch/s{i}"), &format!("v{i}"))
            .await
            .unwrap();
    }
    let sim = Sim::start().await.unwrap();
    let kube = sim.client();
    let ns: Namespace = serde_json::from_value(json!({"metadata": {"name": "apps"}})).unwrap();
    Api::<Namespace>::all(kube.clone())
        .create(&PostParams::default(), &ns)
        .await
        .unwrap();
    let creds: Secret = serde_json::from_value(json!({
        "metadata": {"name": "creds", "namespace": "apps"},
        "stringData": {"id": "AKIDINPROC", "key": "k"}
    }))
    .unwrap();
    Api::<Secret>::namespaced(kube.clone(), "apps")
        .create(&PostParams::default(), &creds)
        .await
        .unwrap();
    let spec = serde_json::from_value(json!({"provider": {"aws": {
        "service": "SecretsManager", "region": Moto::REGION,
        "auth": {"secretRef": {
            "accessKeyIDSecretRef": {"name": "creds", "key": "id"},
            "secretAccessKeySecretRef": {"name": "creds", "key": "key"}}}
    }}}))
    .unwrap();
    let ctx = ClientContext::new(
        kube,
        StoreInfo {
            kind: SecretStoreKind::SecretStore,
            name: "aws".into(),
            namespace: Some("apps".into()),
            uid: "uid".into(),
            generation: 1,
            spec,
        },
        "apps".to_string(),
    );
    let provider = AwsProvider::new(Endpoints::all(moto.endpoint()));
    let client: Arc<dyn SecretsClient> = Arc::from(provider.new_client(&ctx).await.unwrap());
    client.validate().await.unwrap();

    moto.start_recording().await.unwrap();
    let mut keys: Vec<String> = (0..25).map(|i| format!("batch/s{i}")).collect();
    keys.push("batch/missing".into());
    let reads = keys.iter().map(|k| {
        let c = client.clone();
        let r = remote(k);
        async move { c.get_secret(&r).await }
    });
    let results = futures::future::join_all(reads).await;
    for (i, result) in results.iter().take(25).enumerate() {
        let value = result.as_ref().expect("read");
        assert_eq!(value.as_bytes(), format!("v{i}").as_bytes());
    }
    assert!(matches!(results[25], Err(ProviderError::NoSecret)));

    let calls = moto.recorded_calls().await.unwrap();
    let batches: Vec<usize> = calls
        .iter()
        .filter(|c| c.action == "BatchGetSecretValue")
        .map(|c| c.body["SecretIdList"].as_array().map_or(0, Vec::len))
        .collect();
    let singles = calls
        .iter()
        .filter(|c| c.action == "GetSecretValue")
        .count();
    assert_eq!(singles, 0, "{calls:?}");
    let mut sizes = batches.clone();
    sizes.sort();
    assert_eq!(sizes, [6, 20], "26 ids in batches of at most 20");

    // Alone, a missing secret is NoSecret as well.
    assert!(matches!(
        client.get_secret(&remote("batch/also-missing")).await,
        Err(ProviderError::NoSecret)
    ));
}

/// IRSA: the role comes from the ServiceAccount's `eks.amazonaws.com/role-arn` annotation, which
/// admission never saw; the namespace policy is applied to it before any token is requested or
/// STS is called.
#[tokio::test]
async fn a_service_account_role_the_namespace_forbids_is_never_assumed() {
    use controller::stores::NamespacePolicies;
    let moto = Moto::start().await.unwrap();
    let sim = Sim::start().await.unwrap();
    let kube = sim.client();
    let ns: Namespace = serde_json::from_value(json!({"metadata": {
        "name": "apps",
        "annotations": {"iam.amazonaws.com/permitted": "arn:aws:iam::123456789012:role/apps-.*"}
    }}))
    .unwrap();
    Api::<Namespace>::all(kube.clone())
        .create(&PostParams::default(), &ns)
        .await
        .unwrap();
    let sa: k8s_openapi::api::core::v1::ServiceAccount = serde_json::from_value(json!({
        "metadata": {"name": "irsa", "namespace": "apps", "annotations": {
            "eks.amazonaws.com/role-arn": "arn:aws:iam::123456789012:role/admin"}}
    }))
    .unwrap();
    Api::<k8s_openapi::api::core::v1::ServiceAccount>::namespaced(kube.clone(), "apps")
        .create(&PostParams::default(), &sa)
        .await
        .unwrap();
    let spec = serde_json::from_value(json!({"provider": {"aws": {
        "service": "SecretsManager", "region": Moto::REGION,
        "auth": {"jwt": {"serviceAccountRef": {"name": "irsa"}}}
    }}}))
    .unwrap();
    let ctx = ClientContext::new(
        kube.clone(),
        StoreInfo {
            kind: SecretStoreKind::SecretStore,
            name: "aws".into(),
            namespace: Some("apps".into()),
            uid: "uid".into(),
            generation: 1,
            spec,
        },
        "apps".to_string(),
    )
    .with_policies(NamespacePolicies::new(kube, false));
    moto.start_recording().await.unwrap();
    let provider = AwsProvider::new(Endpoints::all(moto.endpoint()));
    let err = match provider.new_client(&ctx).await {
        Ok(c) => c.validate().await.err(),
        Err(e) => Some(e),
    };
    let Some(ProviderError::Policy(v)) = err else {
        panic!("expected a policy violation, got {err:?}");
    };
    assert!(v.to_string().contains("role/admin"), "{v}");
    let calls = moto.recorded_calls().await.unwrap();
    assert!(calls.iter().all(|c| c.service != "sts"), "{calls:?}");
}
