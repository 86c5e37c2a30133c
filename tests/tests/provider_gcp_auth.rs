//! gcpsm credentials against the Google fake and the simulator's ServiceAccount tokens: GKE
//! Workload Identity (with and without a Google service account to impersonate), Workload
//! Identity Federation, ambient credentials from the metadata server, and refusals.

mod provider_gcp_support;

use controller::provider::gcp::{Endpoints, GcpProvider};
use controller::provider::{Provider, ProviderError, ValidationResult};
use provider_gcp_support::*;
use serde_json::json;
use shared::api::v1::SecretStoreKind;
use tests::fakes::gcp::{Access, gke_principal, service_account_principal, wif_principal};
use tests::sim::ISSUER;

const GSA: &str = "eso-reader@proj-a.iam.gserviceaccount.com";

fn gke_store(sa_namespace: Option<&str>) -> serde_json::Value {
    json!({
        "projectID": PROJECT,
        "auth": {"workloadIdentity": {
            "clusterLocation": "europe-west1", "clusterName": "c1", "clusterProjectID": PROJECT,
            "serviceAccountRef": {"name": "eso", "namespace": sa_namespace}
        }}
    })
}

async fn trusted(s: &Setup) {
    let spki = s.sim.shared().tokens_issuer.public_key_der().to_vec();
    s.fake
        .trust_gke_cluster(PROJECT, "europe-west1", "c1", ISSUER, &spki);
    s.fake
        .put_secret(PROJECT, None, "db", &[], &[], &[b"s3cret"]);
}

#[tokio::test]
async fn gke_workload_identity_impersonates_the_annotated_service_account() {
    let s = setup().await;
    trusted(&s).await;
    s.service_account(
        "team-a",
        "eso",
        json!({"iam.gke.io/gcp-service-account": GSA}),
    )
    .await;
    let c = s
        .connect_as(SecretStoreKind::SecretStore, "team-a", gke_store(None))
        .await
        .unwrap();
    // Not yet allowed to act as the Google service account.
    let err = c.validate().await.unwrap_err();
    assert!(err.to_string().contains("PERMISSION_DENIED"), "{err}");
    s.fake
        .allow_impersonation(&gke_principal(NUMBER, PROJECT, "team-a", "eso"), GSA);
    s.fake
        .grant(&service_account_principal(GSA), PROJECT, Access::Read);
    assert_eq!(c.validate().await.unwrap(), ValidationResult::Ready);
    assert_eq!(get(&*c, "db", None, None, false).await.unwrap(), "s3cret");
    assert_eq!(s.fake.calls("ExchangeToken"), 2);
    assert_eq!(s.fake.calls("GenerateAccessToken"), 2);
}

#[tokio::test]
async fn gke_workload_identity_without_annotation_uses_the_federated_token() {
    let s = setup().await;
    trusted(&s).await;
    s.service_account("team-b", "eso", json!({})).await;
    s.fake.grant(
        &gke_principal(NUMBER, PROJECT, "team-b", "eso"),
        PROJECT,
        Access::Read,
    );
    // A ClusterSecretStore naming the ServiceAccount's namespace.
    let c = s
        .connect_as(
            SecretStoreKind::ClusterSecretStore,
            "team-a",
            gke_store(Some("team-b")),
        )
        .await
        .unwrap();
    assert_eq!(get(&*c, "db", None, None, false).await.unwrap(), "s3cret");
    assert_eq!(s.fake.calls("GenerateAccessToken"), 0);
    // A token from another cluster's issuer is refused by STS.
    let s2 = setup().await;
    s2.fake.trust_gke_cluster(
        PROJECT,
        "europe-west1",
        "c1",
        ISSUER,
        s.sim.shared().tokens_issuer.public_key_der(),
    );
    s2.service_account("team-a", "eso", json!({})).await;
    let c = s2
        .connect_as(SecretStoreKind::SecretStore, "team-a", gke_store(None))
        .await
        .unwrap();
    let err = c.validate().await.unwrap_err();
    assert!(err.to_string().contains("STS token exchange"), "{err}");
    assert!(err.to_string().contains("invalid_grant"), "{err}");
}

#[tokio::test]
async fn workload_identity_federation_with_a_service_account_token() {
    let s = setup().await;
    trusted(&s).await;
    s.service_account("team-a", "eso", json!({})).await;
    let spki = s.sim.shared().tokens_issuer.public_key_der().to_vec();
    // The provider allows its own audience (ESO's default token audience) and the https: form.
    let expected = format!(
        "//iam.googleapis.com/projects/{NUMBER}/locations/global/workloadIdentityPools/k8s-pool/providers/sim"
    );
    let https = format!("https:{expected}");
    let audience = s.fake.add_wif_provider(
        NUMBER,
        "k8s-pool",
        "sim",
        ISSUER,
        &spki,
        &[&expected, &https],
    );
    assert_eq!(audience, expected);
    let pool = format!("projects/{NUMBER}/locations/global/workloadIdentityPools/k8s-pool");
    let principal = wif_principal(&pool, "system:serviceaccount:team-a:eso");
    // The token audience defaults to `audience`; explicit ones must be allowed by the provider.
    let store = |audiences: Option<Vec<&str>>, email: Option<&str>| {
        json!({"projectID": PROJECT, "auth": {"workloadIdentityFederation": {
            "audience": audience,
            "serviceAccountRef": {"name": "eso", "audiences": audiences},
            "gcpServiceAccountEmail": email
        }}})
    };
    let direct = s
        .connect_as(
            SecretStoreKind::SecretStore,
            "team-a",
            store(Some(vec![&format!("https:{audience}")]), None),
        )
        .await
        .unwrap();
    s.fake.grant(&principal, PROJECT, Access::Read);
    assert_eq!(
        get(&*direct, "db", None, None, false).await.unwrap(),
        "s3cret"
    );
    let wrong_aud = s
        .connect_as(
            SecretStoreKind::SecretStore,
            "team-a",
            store(Some(vec!["vault"]), None),
        )
        .await
        .unwrap();
    assert!(
        wrong_aud
            .validate()
            .await
            .unwrap_err()
            .to_string()
            .contains("invalid_grant")
    );
    // Impersonation of gcpServiceAccountEmail.
    let imp = s
        .connect_as(
            SecretStoreKind::SecretStore,
            "team-a",
            store(None, Some(GSA)),
        )
        .await
        .unwrap();
    assert!(imp.validate().await.is_err());
    s.fake.allow_impersonation(&principal, GSA);
    s.fake
        .grant(&service_account_principal(GSA), PROJECT, Access::Read);
    assert_eq!(get(&*imp, "db", None, None, false).await.unwrap(), "s3cret");
}

#[tokio::test]
async fn ambient_credentials_come_from_the_metadata_server() {
    let s = setup().await;
    s.fake
        .put_secret(PROJECT, None, "db", &[], &[], &[b"s3cret"]);
    s.fake.set_metadata_identity(GSA, PROJECT);
    s.fake
        .grant(&service_account_principal(GSA), PROJECT, Access::Read);
    // No projectID: the metadata server names the project.
    let c = s
        .connect_as(SecretStoreKind::SecretStore, "team-a", json!({}))
        .await
        .unwrap();
    assert_eq!(get(&*c, "db", None, None, false).await.unwrap(), "s3cret");
    assert_eq!(s.fake.calls("Metadata"), 2);
}

#[tokio::test]
async fn unusable_configurations_are_invalid_config() {
    let s = setup().await;
    s.key_secret("team-b", "gcp-key", SA, Some(Access::Read))
        .await;
    let cases = [
        // A SecretStore may not read credentials from another namespace.
        json!({"projectID": PROJECT, "auth": {"secretRef": {"secretAccessKeySecretRef": {"name": "gcp-key", "namespace": "team-b", "key": "sa.json"}}}}),
        // Missing Secret.
        json!({"projectID": PROJECT, "auth": {"secretRef": {"secretAccessKeySecretRef": {"name": "absent", "key": "sa.json"}}}}),
        // No cluster facts on the store nor from the metadata server.
        json!({"auth": {"workloadIdentity": {"serviceAccountRef": {"name": "eso"}}}}),
        // Missing ConfigMap, missing AWS keys Secret.
        json!({"auth": {"workloadIdentityFederation": {"audience": "x", "credConfig": {"name": "c", "key": "k"}}}}),
        json!({"auth": {"workloadIdentityFederation": {"audience": "x", "awsSecurityCredentials": {"region": "eu-west-1", "awsCredentialsSecretRef": {"name": "aws"}}}}}),
    ];
    for case in cases {
        let err = s
            .connect_as(SecretStoreKind::SecretStore, "team-a", case.clone())
            .await
            .err()
            .unwrap_or_else(|| panic!("accepted {case}"));
        assert!(
            matches!(err, ProviderError::InvalidConfig(_)),
            "{case}: {err}"
        );
    }
    // A key file that is not one: the error does not echo it.
    let bad: k8s_openapi::api::core::v1::Secret = serde_json::from_value(json!({
        "metadata": {"name": "gcp-key", "namespace": "team-a"},
        "stringData": {"sa.json": "{\"private_key\": \"TOPSECRET\"}"}
    }))
    .unwrap();
    kube::Api::<k8s_openapi::api::core::v1::Secret>::namespaced(s.kube.clone(), "team-a")
        .create(&Default::default(), &bad)
        .await
        .unwrap();
    let err = s
        .connect_as(SecretStoreKind::SecretStore, "team-a", json!({"projectID": PROJECT, "auth": {"secretRef": {"secretAccessKeySecretRef": {"name": "gcp-key", "key": "sa.json"}}}}))
        .await
        .err()
        .unwrap();
    assert!(!err.to_string().contains("TOPSECRET"), "{err}");
    // Plain http is only for loopback.
    let remote = GcpProvider::with_endpoints(Endpoints::all_at("http://secretmanager.example.com"));
    let err = remote
        .new_client(&s.ctx(
            SecretStoreKind::SecretStore,
            "team-a",
            json!({"projectID": PROJECT}),
        ))
        .await
        .err()
        .unwrap();
    assert!(err.to_string().contains("must be an https URL"), "{err}");
}
