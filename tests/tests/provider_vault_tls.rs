//! Vault provider over HTTPS against one OpenBao with two TLS listeners (certificates from an
//! rcgen CA): `caBundle` and `caProvider` trust, mutual TLS with `tls.certSecretRef` /
//! `keySecretRef`, cert auth; and OpenBao namespaces (`namespace`, `auth.namespace`).

mod provider_vault_support;

use controller::provider::ValidationResult;
use provider_vault_support::{Fixture, Pki, remote_prop, text};
use reqwest::Method;
use serde_json::json;
use tests::emulators::{Bao, BaoTls};

async fn tls_fixture() -> (Fixture, Pki) {
    let pki = Pki::new();
    let bao = Bao::start_with_tls(&BaoTls {
        cert_pem: pki.server_cert.clone(),
        key_pem: pki.server_key.clone(),
        client_ca_pem: pki.ca_pem.clone(),
    })
    .await
    .expect("start bao with TLS listeners");
    let f = Fixture::with_bao(bao).await;
    f.bao
        .kv2_put("secret", "app", &json!({"k": "over-tls"}))
        .await
        .unwrap();
    f.secret("root-token", &[("token", Bao::ROOT_TOKEN)]).await;
    (f, pki)
}

fn token_auth() -> serde_json::Value {
    json!({"tokenSecretRef": {"name": "root-token", "key": "token"}})
}

#[tokio::test]
async fn ca_bundle_ca_provider_and_mutual_tls_connections() {
    let (f, pki) = tls_fixture().await;
    let tls = f.bao.tls_addr().unwrap().to_string();
    let mtls = f.bao.mtls_addr().unwrap().to_string();

    // Without our CA the server certificate is not trusted.
    let err = f
        .client(json!({"server": tls, "auth": token_auth()}))
        .await
        .unwrap()
        .validate()
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("invalid vault credentials"), "{err}");

    let c = f
        .client(json!({"server": tls, "caBundle": pki.ca_bundle_b64(), "auth": token_auth()}))
        .await
        .unwrap();
    assert_eq!(c.validate().await.unwrap(), ValidationResult::Ready);
    assert_eq!(
        text(c.get_secret(&remote_prop("secret/app", "k")).await.unwrap()),
        "over-tls"
    );

    f.secret("ca", &[("ca.crt", &pki.ca_pem)]).await;
    let c = f
        .client(json!({"server": tls, "auth": token_auth(),
            "caProvider": {"type": "Secret", "name": "ca", "key": "ca.crt"}}))
        .await
        .unwrap();
    assert_eq!(
        text(c.get_secret(&remote_prop("secret/app", "k")).await.unwrap()),
        "over-tls"
    );

    // The mutual-TLS listener refuses a client without a certificate...
    let no_cert = f
        .client(json!({"server": mtls, "caBundle": pki.ca_bundle_b64(), "auth": token_auth()}))
        .await
        .unwrap();
    assert!(no_cert.validate().await.is_err());
    // ...and accepts the store's client certificate.
    f.secret(
        "client-tls",
        &[("tls.crt", &pki.client_cert), ("tls.key", &pki.client_key)],
    )
    .await;
    let with_cert = f
        .client(json!({"server": mtls, "caBundle": pki.ca_bundle_b64(), "auth": token_auth(),
            "tls": {"certSecretRef": {"name": "client-tls"}, "keySecretRef": {"name": "client-tls"}}}))
        .await
        .unwrap();
    assert_eq!(with_cert.validate().await.unwrap(), ValidationResult::Ready);
    // Half a client certificate is a configuration error.
    let half = f
        .client(json!({"server": mtls, "auth": token_auth(),
            "tls": {"certSecretRef": {"name": "client-tls"}}}))
        .await
        .err()
        .unwrap()
        .to_string();
    assert_eq!(
        half,
        "when provided, both tls.certSecretRef and tls.keySecretRef should be provided"
    );
}

#[tokio::test]
async fn cert_auth_logs_in_with_the_client_certificate() {
    let (f, pki) = tls_fixture().await;
    f.bao
        .put_policy(
            "kv-read",
            r#"path "secret/data/*" { capabilities = ["read"] }"#,
        )
        .await
        .unwrap();
    f.bao.enable_auth("cert", "cert").await.unwrap();
    f.bao
        .api(
            Method::POST,
            "auth/cert/certs/eso",
            Some(&json!({"certificate": pki.ca_pem, "token_policies": ["kv-read"]})),
        )
        .await
        .unwrap();
    f.secret(
        "client-tls",
        &[("tls.crt", &pki.client_cert), ("tls.key", &pki.client_key)],
    )
    .await;
    let tls = f.bao.tls_addr().unwrap().to_string();
    let c = f
        .client(json!({"server": tls, "caBundle": pki.ca_bundle_b64(),
            "auth": {"cert": {"vaultRole": "eso",
                "clientCert": {"name": "client-tls", "key": "tls.crt"},
                "secretRef": {"name": "client-tls", "key": "tls.key"}}}}))
        .await
        .unwrap();
    assert_eq!(c.validate().await.unwrap(), ValidationResult::Ready);
    assert_eq!(
        text(c.get_secret(&remote_prop("secret/app", "k")).await.unwrap()),
        "over-tls"
    );
    // A certificate from another CA is refused by the cert method.
    let other = Pki::new();
    f.secret(
        "other-tls",
        &[
            ("tls.crt", &other.client_cert),
            ("tls.key", &other.client_key),
        ],
    )
    .await;
    let err = f
        .client(json!({"server": tls, "caBundle": pki.ca_bundle_b64(),
            "auth": {"cert": {"vaultRole": "eso",
                "clientCert": {"name": "other-tls", "key": "tls.crt"},
                "secretRef": {"name": "other-tls", "key": "tls.key"}}}}))
        .await
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("vault login failed"), "{err}");
}

#[tokio::test]
async fn store_namespace_and_auth_namespace_select_openbao_namespaces() {
    let f = Fixture::start().await;
    // org/team holds the secrets; org holds the login method and the policy.
    f.bao
        .api(Method::POST, "sys/namespaces/org", Some(&json!({})))
        .await
        .unwrap();
    f.bao
        .api(Method::POST, "org/sys/namespaces/team", Some(&json!({})))
        .await
        .unwrap();
    f.bao
        .api(
            Method::POST,
            "org/team/sys/mounts/kv",
            Some(&json!({"type": "kv", "options": {"version": "2"}})),
        )
        .await
        .unwrap();
    f.bao
        .api(
            Method::POST,
            "org/team/kv/data/app",
            Some(&json!({"data": {"k": "in-ns"}})),
        )
        .await
        .unwrap();
    f.bao
        .api(
            Method::PUT,
            "org/sys/policies/acl/team-read",
            Some(&json!({"policy": r#"path "team/kv/data/*" { capabilities = ["read"] }"#})),
        )
        .await
        .unwrap();
    f.bao
        .api(
            Method::POST,
            "org/sys/auth/userpass",
            Some(&json!({"type": "userpass"})),
        )
        .await
        .unwrap();
    f.bao
        .api(
            Method::POST,
            "org/auth/userpass/users/ann",
            Some(&json!({"password": "ann-pw", "token_policies": ["team-read"]})),
        )
        .await
        .unwrap();
    f.secret("ann", &[("password", "ann-pw")]).await;
    let store = |auth_ns: Option<&str>| {
        let mut auth = json!({"userPass": {"username": "ann",
            "secretRef": {"name": "ann", "key": "password"}}});
        if let Some(ns) = auth_ns {
            auth["namespace"] = json!(ns);
        }
        json!({"server": f.bao.addr(), "namespace": "org/team", "path": "kv", "auth": auth})
    };
    let c = f.client(store(Some("org"))).await.unwrap();
    assert_eq!(
        text(c.get_secret(&remote_prop("app", "k")).await.unwrap()),
        "in-ns"
    );
    // Without auth.namespace the login goes to org/team, where no userpass is mounted.
    assert!(f.client(store(None)).await.is_err());
}
