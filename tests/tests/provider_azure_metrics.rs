//! Every Key Vault call of the Azure provider is counted in
//! `externalsecret_provider_api_calls_count` with ESO's labels (provider `Azure/KeyVault`, the
//! SDK method as `call`, `success`/`error`). Its own test binary: it installs the global recorder.

mod provider_azure_support;

use provider_azure_support::*;
use serde_json::json;

#[tokio::test]
async fn key_vault_calls_are_counted_with_eso_labels() {
    let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
    let handle = recorder.handle();
    metrics::set_global_recorder(recorder).unwrap();

    let s = setup().await;
    s.fake.put_secret("db", "v", &[]);
    s.fake.put_key(
        "k",
        json!({"kty": "RSA", "n": "AQAB", "e": "AQAB", "d": "AQ"}),
        &[],
    );
    let c = connect(&s.client, sp_store(&s.fake)).await.unwrap();
    text(&*c, &r("db")).await.unwrap();
    text(&*c, &r("db")).await.unwrap();
    assert!(c.get_secret(&r("missing")).await.is_err());
    text(&*c, &r("key/k")).await.unwrap();
    assert!(c.get_secret(&r("cert/none")).await.is_err());
    c.validate().await.unwrap();

    let text = handle.render();
    let line = |call: &str, status: &str, n: u64| {
        format!(
            r#"externalsecret_provider_api_calls_count{{provider="Azure/KeyVault",call="{call}",status="{status}"}} {n}"#
        )
    };
    for want in [
        line("GetSecret", "success", 2),
        line("GetSecret", "error", 1),
        line("GetKey", "success", 1),
        line("GetCertificate", "error", 1),
        line("GetSecrets", "success", 1),
        line("GetToken", "success", 1),
    ] {
        assert!(text.contains(&want), "missing {want} in\n{text}");
    }
    // Exactly as many counted vault calls as the vault served.
    let counted: u64 = text
        .lines()
        .filter(|l| {
            l.starts_with("externalsecret_provider_api_calls_count{provider=\"Azure/KeyVault\"")
                && !l.contains("GetToken")
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum();
    assert_eq!(counted, s.fake.vault_calls());
}
