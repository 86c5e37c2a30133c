//! The calls of gcpsm credentials are counted in `externalsecret_provider_api_calls_count`
//! with provider `GCP/SecretManager`: ESO's `GenerateServiceAccountToken` for the Kubernetes
//! token, the STS exchange, impersonation, the external token URL and the AWS instance
//! metadata reads, next to the Secret Manager calls. Its own test binary: it installs the
//! global recorder.

mod provider_gcp_support;

use provider_gcp_support::*;
use serde_json::json;
use shared::api::v1::SecretStoreKind;
use tests::fakes::gcp::{Access, service_account_principal, wif_principal};
use tests::sim::ISSUER;

const GSA: &str = "eso-reader@proj-a.iam.gserviceaccount.com";

#[tokio::test]
async fn federation_calls_are_counted_with_the_provider_label() {
    let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
    let handle = recorder.handle();
    metrics::set_global_recorder(recorder).unwrap();

    let s = setup().await;
    s.fake.put_secret(PROJECT, None, "db", &[], &[], &[b"v"]);
    let spki = s.sim.shared().tokens_issuer.public_key_der().to_vec();
    let audience = s
        .fake
        .add_wif_provider(NUMBER, "k8s", "sim", ISSUER, &spki, &["aud"]);
    let pool = format!("projects/{NUMBER}/locations/global/workloadIdentityPools/k8s");
    s.service_account("team-a", "eso", json!({})).await;
    let principal = wif_principal(&pool, "system:serviceaccount:team-a:eso");
    s.fake.allow_impersonation(&principal, GSA);
    s.fake
        .grant(&service_account_principal(GSA), PROJECT, Access::Read);
    // A Kubernetes token, impersonating.
    let c = s
        .connect_as(
            SecretStoreKind::SecretStore,
            "team-a",
            json!({"projectID": PROJECT, "auth": {"workloadIdentityFederation": {
                "audience": audience, "gcpServiceAccountEmail": GSA,
                "serviceAccountRef": {"name": "eso", "audiences": ["aud"]}}}}),
        )
        .await
        .unwrap();
    get(&*c, "db", None, None, false).await.unwrap();
    // A token from a URL, refused by the URL (no header): one error.
    let url = s
        .fake
        .serve_external_token("t", Some(("Metadata", "True")), "x");
    let cfg = json!({"type": "external_account", "audience": audience,
        "token_url": "https://sts.googleapis.com/v1/token", "credential_source": {"url": url}});
    s.config_map("team-a", "wif", "cred.json", &cfg.to_string())
        .await;
    let c = s
        .connect_as(
            SecretStoreKind::SecretStore,
            "team-a",
            json!({"projectID": PROJECT, "auth": {"workloadIdentityFederation": {
                "credConfig": {"name": "wif", "key": "cred.json"}, "externalTokenEndpoint": url}}}),
        )
        .await
        .unwrap();
    assert!(c.validate().await.is_err());

    let text = handle.render();
    let line = |call: &str, status: &str, n: u64| {
        format!(
            r#"externalsecret_provider_api_calls_count{{provider="GCP/SecretManager",call="{call}",status="{status}"}} {n}"#
        )
    };
    for want in [
        line("GenerateServiceAccountToken", "success", 1),
        line("ExchangeToken", "success", 1),
        line("GenerateAccessToken", "success", 1),
        line("AccessSecretVersion", "success", 1),
        line("GetSubjectToken", "error", 1),
    ] {
        assert!(text.contains(&want), "missing {want} in\n{text}");
    }
}
