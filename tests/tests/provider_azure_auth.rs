//! Azure Key Vault provider authentication against the fake: client secret, client certificate
//! (RS256 assertion, no OpenSSL), managed identity (IMDS), workload identity (ServiceAccount
//! token exchanged for a federated credential), clouds, referent ClusterSecretStores.

mod provider_azure_support;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::KeyPair as _;
use controller::provider::azure::{AzureProvider, set_imds_endpoint};
use controller::provider::{Provider, ProviderError, ValidationResult};
use k8s_openapi::api::core::v1::ServiceAccount;
use kube::Api;
use kube::api::PostParams;
use provider_azure_support::*;
use serde_json::json;
use shared::api::v1::SecretStoreKind;
use tests::fakes::azure::{AzureFake, ClientCredential};

#[tokio::test]
async fn wrong_client_secret_fails_validation_with_the_aad_reason() {
    let s = setup().await;
    credentials(&s.client, "team-a", "bad-creds", "guess").await;
    let mut store = sp_store(&s.fake);
    store["authSecretRef"]["clientSecret"]["name"] = json!("bad-creds");
    let c = connect(&s.client, store).await.unwrap();
    let err = c.validate().await.unwrap_err().to_string();
    assert!(
        err.contains("HTTP 401 invalid_client: AADSTS7000215"),
        "{err}"
    );
    assert!(!err.contains("guess"), "the secret never appears in errors");
    assert_eq!(s.fake.vault_calls(), 0);
    // A missing credential Secret is a configuration error at client build.
    let mut store = sp_store(&s.fake);
    store["authSecretRef"]["clientSecret"]["name"] = json!("absent");
    assert!(matches!(
        connect(&s.client, store).await.map(|_| ()),
        Err(ProviderError::InvalidConfig(_))
    ));
}

#[tokio::test]
async fn client_certificate_signs_an_assertion() {
    let s = setup().await;
    let rsa = KeyPair::generate(KeySize::Rsa2048).unwrap();
    let pkcs8 = rsa.as_der().unwrap();
    let kp = rcgen::KeyPair::from_pkcs8_der_and_sign_algo(
        &rustls::pki_types::PrivatePkcs8KeyDer::from(pkcs8.as_ref()),
        &rcgen::PKCS_RSA_SHA256,
    )
    .unwrap();
    let cert = rcgen::CertificateParams::new(vec!["sp".into()])
        .unwrap()
        .self_signed(&kp)
        .unwrap();
    let thumbprint =
        aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, cert.der())
            .as_ref()
            .to_vec();
    let public = rsa.public_key();
    s.fake.add_client(
        "cert-app",
        ClientCredential::Certificate {
            thumbprint,
            n: public.modulus().big_endian_without_leading_zero().to_vec(),
            e: public.exponent().big_endian_without_leading_zero().to_vec(),
        },
    );
    let bundle = format!("{}{}", cert.pem(), kp.serialize_pem());
    secret(
        &s.client,
        "team-a",
        "cert-creds",
        &[
            ("client-id", "cert-app"),
            ("tls.pem", &bundle),
            ("only-cert", &cert.pem()),
        ],
    )
    .await;
    let store = |key: &str| {
        json!({
            "vaultUrl": s.fake.url(), "tenantId": TENANT, "useAzureSDK": true,
            "customCloudConfig": {"activeDirectoryEndpoint": s.fake.url()},
            "authSecretRef": {
                "clientId": {"name": "cert-creds", "key": "client-id"},
                "clientCertificate": {"name": "cert-creds", "key": key},
            },
        })
    };
    let c = connect(&s.client, store("tls.pem")).await.unwrap();
    assert_eq!(c.validate().await.unwrap(), ValidationResult::Ready);
    let err = connect(&s.client, store("only-cert"))
        .await
        .map(|_| ())
        .unwrap_err();
    assert!(err.to_string().contains("no RSA private key"), "{err}");
}

#[tokio::test]
async fn managed_identity_uses_imds() {
    let s = setup().await;
    s.fake.add_managed_identity(Some("mi-client"));
    s.fake.put_secret("a", "from-mi", &[]);
    set_imds_endpoint(Some(s.fake.url()));
    let store = |id: Option<&str>| json!({"authType": "ManagedIdentity", "vaultUrl": s.fake.url(), "identityId": id});
    let c = connect(&s.client, store(Some("mi-client"))).await.unwrap();
    assert_eq!(text(&*c, &r("a")).await.unwrap(), "from-mi");
    assert_eq!(s.fake.calls("IMDS"), 1);
    // The only identity of the VM is used when none is named.
    let c = connect(&s.client, store(None)).await.unwrap();
    assert_eq!(c.validate().await.unwrap(), ValidationResult::Ready);
    let c = connect(&s.client, store(Some("other"))).await.unwrap();
    let err = c.validate().await.unwrap_err().to_string();
    assert!(err.contains("Identity not found"), "{err}");
    set_imds_endpoint(None);
}

async fn service_account(s: &Setup, name: &str, annotations: serde_json::Value) {
    let sa: ServiceAccount = serde_json::from_value(json!({
        "metadata": {"name": name, "namespace": "team-a", "annotations": annotations}
    }))
    .unwrap();
    Api::<ServiceAccount>::namespaced(s.client.clone(), "team-a")
        .create(&PostParams::default(), &sa)
        .await
        .unwrap();
}

#[tokio::test]
async fn workload_identity_exchanges_a_service_account_token() {
    let s = setup().await;
    let jwks = s.sim.shared().tokens_issuer.jwks();
    s.fake.add_client(
        "wi-client",
        ClientCredential::Federated {
            issuer: tests::sim::ISSUER.into(),
            subject: "system:serviceaccount:team-a:wi-sa".into(),
            jwks,
        },
    );
    s.fake.put_secret("a", "from-wi", &[]);
    service_account(
        &s,
        "wi-sa",
        json!({"azure.workload.identity/client-id": "wi-client", "azure.workload.identity/tenant-id": TENANT}),
    )
    .await;
    service_account(&s, "bare-sa", json!({})).await;
    service_account(
        &s,
        "other-sa",
        json!({"azure.workload.identity/client-id": "wi-client"}),
    )
    .await;
    let store = |sa: &str, tenant: Option<&str>| {
        json!({
            "authType": "WorkloadIdentity", "vaultUrl": s.fake.url(), "tenantId": tenant,
            "useAzureSDK": true, "customCloudConfig": {"activeDirectoryEndpoint": s.fake.url()},
            "serviceAccountRef": {"name": sa},
        })
    };
    // Client and tenant from the ServiceAccount's annotations.
    s.fake.set_token_lifetime(std::time::Duration::from_secs(2));
    let c = connect(&s.client, store("wi-sa", None)).await.unwrap();
    assert_eq!(text(&*c, &r("a")).await.unwrap(), "from-wi");
    // Before the Entra ID token runs out, a new ServiceAccount token is exchanged.
    tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
    assert_eq!(text(&*c, &r("a")).await.unwrap(), "from-wi");
    assert_eq!(s.fake.calls("Token"), 2);
    assert_eq!(s.fake.calls("Unauthorized"), 0);
    s.fake
        .set_token_lifetime(std::time::Duration::from_secs(3599));
    let err = connect(&s.client, store("bare-sa", Some(TENANT)))
        .await
        .map(|_| ())
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("service account annotation 'azure.workload.identity/client-id' is missing"),
        "{err}"
    );
    let err = connect(&s.client, store("wi-sa", Some("another-tenant")))
        .await
        .map(|_| ())
        .unwrap_err();
    assert!(
        err.to_string().starts_with("multiple tenantID found"),
        "{err}"
    );
    // A federated credential bound to another subject is refused by Entra ID.
    let c = connect(&s.client, store("other-sa", Some(TENANT)))
        .await
        .unwrap();
    let err = c.validate().await.unwrap_err().to_string();
    assert!(err.contains("AADSTS70021"), "{err}");
}

#[tokio::test]
async fn clouds_and_endpoint_rules() {
    let s = setup().await;
    let bad = |v: serde_json::Value| {
        let client = s.client.clone();
        async move {
            connect(&client, v)
                .await
                .map(|_| ())
                .unwrap_err()
                .to_string()
        }
    };
    let mut no_sdk = sp_store(&s.fake);
    no_sdk["useAzureSDK"] = json!(false);
    assert!(bad(no_sdk).await.contains("requires UseAzureSDK"));
    let mut stack = sp_store(&s.fake);
    stack["environmentType"] = json!("AzureStackCloud");
    stack.as_object_mut().unwrap().remove("customCloudConfig");
    assert!(bad(stack).await.contains("AzureStackCloud"));
    let mut plain = sp_store(&s.fake);
    plain["vaultUrl"] = json!("http://myvault.vault.azure.net");
    assert!(bad(plain).await.contains("must use https"));

    // A China cloud vault accepts only tokens for its own audience.
    let cn = AzureFake::start_for(TENANT, "https://vault.azure.cn")
        .await
        .unwrap();
    cn.add_client(CLIENT_ID, ClientCredential::Secret(CLIENT_SECRET.into()));
    cn.put_secret("a", "cn", &[]);
    let mut store = sp_store(&cn);
    store["environmentType"] = json!("ChinaCloud");
    store["customCloudConfig"] = json!({"activeDirectoryEndpoint": cn.url()});
    let c = connect(&s.client, store.clone()).await.unwrap();
    assert_eq!(text(&*c, &r("a")).await.unwrap(), "cn");
    store["environmentType"] = json!("PublicCloud");
    let c = connect(&s.client, store).await.unwrap();
    let err = c.validate().await.unwrap_err().to_string();
    assert!(err.contains("AKV10022"), "{err}");
}

#[tokio::test]
async fn referent_cluster_store_reads_credentials_of_the_object_namespace() {
    let s = setup().await;
    s.fake.put_secret("a", "1", &[]);
    credentials(&s.client, "team-b", "azure-creds", CLIENT_SECRET).await;
    let p = AzureProvider::new();
    let store = sp_store(&s.fake);
    let c = p
        .new_client(&ctx(
            &s.client,
            SecretStoreKind::ClusterSecretStore,
            "",
            store.clone(),
        ))
        .await
        .unwrap();
    assert_eq!(c.validate().await.unwrap(), ValidationResult::Unknown);
    let c = p
        .new_client(&ctx(
            &s.client,
            SecretStoreKind::ClusterSecretStore,
            "team-b",
            store,
        ))
        .await
        .unwrap();
    assert_eq!(text(&*c, &r("a")).await.unwrap(), "1");
    // A SecretStore may not read credentials from another namespace.
    let mut foreign = sp_store(&s.fake);
    foreign["authSecretRef"]["clientSecret"]["namespace"] = json!("team-b");
    assert!(matches!(
        connect(&s.client, foreign).await.map(|_| ()),
        Err(ProviderError::InvalidConfig(_))
    ));
}
