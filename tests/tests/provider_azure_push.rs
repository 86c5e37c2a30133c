//! Azure Key Vault pushes against the fake: whole Secret / one key / property merge, the
//! managed-by tag, no write when unchanged, metadata tags and expiry, exists, deletes that only
//! touch what we manage, certificates from PEM or PKCS#12.

mod provider_azure_support;

use controller::provider::{ProviderError, SecretsClient};
use k8s_openapi::api::core::v1::Secret;
use provider_azure_support::*;
use serde_json::{Value, json};
use shared::api::v1alpha1::PushSecretData;

fn source(data: &[(&str, &str)]) -> Secret {
    let data: serde_json::Map<String, Value> = data
        .iter()
        .map(|(k, v)| {
            use base64::Engine as _;
            (
                k.to_string(),
                json!(base64::engine::general_purpose::STANDARD.encode(v)),
            )
        })
        .collect();
    serde_json::from_value(json!({"metadata": {"name": "src"}, "data": data})).unwrap()
}

fn entry(
    secret_key: Option<&str>,
    remote: &str,
    property: Option<&str>,
    metadata: Option<Value>,
) -> PushSecretData {
    serde_json::from_value(json!({
        "match": {"secretKey": secret_key, "remoteRef": {"remoteKey": remote, "property": property}},
        "metadata": metadata,
    }))
    .unwrap()
}

async fn client(s: &Setup) -> Box<dyn SecretsClient> {
    connect(&s.client, sp_store(&s.fake)).await.unwrap()
}

#[tokio::test]
async fn pushes_values_tagged_and_skips_unchanged_writes() {
    let s = setup().await;
    let c = client(&s).await;
    let src = source(&[("user", "admin"), ("pass", "p<&>")]);

    // The whole Secret as JSON (Go encoding, no HTML escaping).
    c.push_secret(&src, &entry(None, "whole", None, None))
        .await
        .unwrap();
    let whole = s.fake.secret("whole").unwrap();
    assert_eq!(whole.value, r#"{"pass":"p<&>","user":"admin"}"#);
    assert_eq!(
        whole.tags.get("managed-by").map(String::as_str),
        Some("external-secrets")
    );
    // One key.
    c.push_secret(&src, &entry(Some("pass"), "secret/pw", None, None))
        .await
        .unwrap();
    assert_eq!(s.fake.secret("pw").unwrap().value, "p<&>");
    // Pushing the same value again writes nothing.
    s.fake.reset_calls();
    c.push_secret(&src, &entry(Some("pass"), "pw", None, None))
        .await
        .unwrap();
    assert_eq!(s.fake.calls("SetSecret"), 0);
    assert_eq!(s.fake.secret_versions("pw").len(), 1);
    // Properties merge into one JSON secret.
    c.push_secret(&src, &entry(Some("user"), "merged", Some("db.user"), None))
        .await
        .unwrap();
    c.push_secret(&src, &entry(Some("pass"), "merged", Some("pass"), None))
        .await
        .unwrap();
    let merged: Value = serde_json::from_str(&s.fake.secret("merged").unwrap().value).unwrap();
    assert_eq!(merged, json!({"db": {"user": "admin"}, "pass": "p<&>"}));
    // Metadata: extra tags and an expiry.
    let meta = json!({"apiVersion": "kubernetes.external-secrets.io/v1alpha1", "kind": "PushSecretMetadata",
        "spec": {"tags": {"team": "a"}, "expirationDate": "2030-01-02T03:04:05Z"}});
    c.push_secret(&src, &entry(Some("user"), "meta", None, Some(meta)))
        .await
        .unwrap();
    let m = s.fake.secret("meta").unwrap();
    assert_eq!(m.tags.get("team").map(String::as_str), Some("a"));
    assert_eq!(
        m.tags.get("managed-by").map(String::as_str),
        Some("external-secrets")
    );
    assert_eq!(m.expires, Some(1_893_553_445));
    let bad_meta = json!({"apiVersion": "v1", "kind": "Other"});
    assert!(matches!(
        c.push_secret(&src, &entry(Some("user"), "meta", None, Some(bad_meta)))
            .await,
        Err(ProviderError::InvalidConfig(_))
    ));
    assert!(
        c.push_secret(&src, &entry(Some("absent"), "x", None, None))
            .await
            .is_err()
    );
}

#[tokio::test]
async fn never_overwrites_or_deletes_what_it_does_not_manage() {
    let s = setup().await;
    s.fake
        .put_secret("theirs", "original", &[("owner", "someone")]);
    let c = client(&s).await;
    let src = source(&[("k", "new")]);
    let err = c
        .push_secret(&src, &entry(Some("k"), "theirs", None, None))
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("not managed by external-secrets"),
        "{err}"
    );
    assert_eq!(s.fake.secret("theirs").unwrap().value, "original");
    c.delete_secret(&entry(Some("k"), "theirs", None, None))
        .await
        .unwrap();
    assert_eq!(s.fake.secret("theirs").unwrap().value, "original");
    assert_eq!(s.fake.calls("DeleteSecret"), 0);
    // Deleting something that is not there is fine.
    c.delete_secret(&entry(Some("k"), "nothing", None, None))
        .await
        .unwrap();
}

#[tokio::test]
async fn exists_and_deletes_properties_then_the_secret() {
    let s = setup().await;
    let c = client(&s).await;
    let src = source(&[("a", "1"), ("b", "2")]);
    assert!(
        !c.secret_exists(&entry(Some("a"), "obj", None, None))
            .await
            .unwrap()
    );
    c.push_secret(&src, &entry(Some("a"), "obj", Some("a"), None))
        .await
        .unwrap();
    c.push_secret(&src, &entry(Some("b"), "obj", Some("b"), None))
        .await
        .unwrap();
    assert!(
        c.secret_exists(&entry(Some("a"), "obj", None, None))
            .await
            .unwrap()
    );
    assert!(
        c.secret_exists(&entry(Some("a"), "obj", Some("a"), None))
            .await
            .unwrap()
    );
    assert!(
        !c.secret_exists(&entry(Some("a"), "obj", Some("zz"), None))
            .await
            .unwrap()
    );
    c.delete_secret(&entry(Some("a"), "obj", Some("a"), None))
        .await
        .unwrap();
    let left: Value = serde_json::from_str(&s.fake.secret("obj").unwrap().value).unwrap();
    assert_eq!(left, json!({"b": "2"}));
    assert_eq!(
        s.fake
            .secret("obj")
            .unwrap()
            .tags
            .get("managed-by")
            .map(String::as_str),
        Some("external-secrets")
    );
    c.delete_secret(&entry(Some("b"), "obj", Some("b"), None))
        .await
        .unwrap();
    assert!(s.fake.secret("obj").is_none());
    assert!(s.fake.secret_is_deleted("obj"));
}

#[tokio::test]
async fn certificates_are_imported_from_pem_once() {
    let s = setup().await;
    let c = client(&s).await;
    let ck = rcgen::generate_simple_self_signed(vec!["example.com".into()]).unwrap();
    let bundle = format!("{}{}", ck.cert.pem(), ck.signing_key.serialize_pem());
    let src = source(&[("tls.pem", &bundle), ("junk", "no pem here")]);
    c.push_secret(&src, &entry(Some("tls.pem"), "cert/web", None, None))
        .await
        .unwrap();
    let cert = s.fake.certificate("web").unwrap();
    assert_eq!(cert.cer, ck.cert.der().to_vec());
    assert_eq!(
        cert.tags.get("managed-by").map(String::as_str),
        Some("external-secrets")
    );
    // Reading it back through cert/ gives the same DER.
    let der = c.get_secret(&r("cert/web")).await.unwrap();
    assert_eq!(der.as_bytes(), ck.cert.der().as_ref());
    s.fake.reset_calls();
    c.push_secret(&src, &entry(Some("tls.pem"), "cert/web", None, None))
        .await
        .unwrap();
    assert_eq!(s.fake.calls("ImportCertificate"), 0);
    assert!(
        c.push_secret(&src, &entry(Some("junk"), "cert/web", None, None))
            .await
            .is_err()
    );
    assert!(
        c.secret_exists(&entry(None, "cert/web", None, None))
            .await
            .unwrap()
    );
    c.delete_secret(&entry(None, "cert/web", None, None))
        .await
        .unwrap();
    assert!(s.fake.certificate("web").is_none());
}

/// A Secret with binary values (a PFX is not text).
fn binary_source(data: &[(&str, &[u8])]) -> Secret {
    use base64::Engine as _;
    let data: serde_json::Map<String, Value> = data
        .iter()
        .map(|(k, v)| {
            (
                k.to_string(),
                json!(base64::engine::general_purpose::STANDARD.encode(v)),
            )
        })
        .collect();
    serde_json::from_value(json!({"metadata": {"name": "src"}, "data": data})).unwrap()
}

#[tokio::test]
async fn certificates_are_imported_from_pkcs12_and_bare_der_is_refused() {
    use base64::Engine as _;
    let s = setup().await;
    let c = client(&s).await;
    let ck = rcgen::generate_simple_self_signed(vec!["pfx.example.com".into()]).unwrap();
    // A PFX as users get one from ESO's own template function (no password).
    let vars = std::collections::BTreeMap::from([
        ("cert".to_string(), ck.cert.pem()),
        ("key".to_string(), ck.signing_key.serialize_pem()),
    ]);
    let pfx_b64 =
        shared::template::render_str("pfx", "{{ fullPemToPkcs12 .cert .key }}", &vars).unwrap();
    let pfx = base64::engine::general_purpose::STANDARD
        .decode(pfx_b64.trim())
        .unwrap();
    let src = binary_source(&[("tls.pfx", &pfx), ("tls.der", ck.cert.der().as_ref())]);

    c.push_secret(&src, &entry(Some("tls.pfx"), "cert/pfx", None, None))
        .await
        .unwrap();
    let cert = s.fake.certificate("pfx").unwrap();
    assert_eq!(cert.cer, ck.cert.der().to_vec());
    s.fake.reset_calls();
    c.push_secret(&src, &entry(Some("tls.pfx"), "cert/pfx", None, None))
        .await
        .unwrap();
    assert_eq!(
        s.fake.calls("ImportCertificate"),
        0,
        "the same certificate is not imported again"
    );

    // A certificate without its key cannot be imported; the error says what to push instead.
    let err = c
        .push_secret(&src, &entry(Some("tls.der"), "cert/der", None, None))
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("PKCS#12") && err.contains("PEM"), "{err}");
    assert!(s.fake.certificate("der").is_none());
}

#[tokio::test]
async fn private_keys_are_imported_as_jwk() {
    use aws_lc_rs::encoding::AsDer;
    use aws_lc_rs::signature::KeyPair as _;
    let s = setup().await;
    let c = client(&s).await;
    let rsa = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
    let pkcs8 = rsa.as_der().unwrap();
    let rsa_pem = format!(
        "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
        {
            use base64::Engine as _;
            base64::engine::general_purpose::STANDARD.encode(pkcs8.as_ref())
        }
    );
    let ec = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let src = source(&[
        ("rsa", &rsa_pem),
        ("ec", &ec.serialize_pem()),
        (
            "cert",
            &rcgen::generate_simple_self_signed(vec!["x".into()])
                .unwrap()
                .cert
                .pem(),
        ),
    ]);
    c.push_secret(&src, &entry(Some("rsa"), "key/rsa", None, None))
        .await
        .unwrap();
    let stored = s.fake.key("rsa").unwrap();
    let b64 = |b: &[u8]| {
        use base64::Engine as _;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
    };
    let public = rsa.public_key();
    assert_eq!(stored.jwk["kty"], "RSA");
    assert_eq!(
        stored.jwk["n"],
        b64(public.modulus().big_endian_without_leading_zero())
    );
    assert_eq!(stored.jwk["e"], "AQAB");
    assert!(stored.jwk["d"].is_string() && stored.jwk["qi"].is_string());
    assert_eq!(
        stored.tags.get("managed-by").map(String::as_str),
        Some("external-secrets")
    );
    s.fake.reset_calls();
    c.push_secret(&src, &entry(Some("rsa"), "key/rsa", None, None))
        .await
        .unwrap();
    assert_eq!(s.fake.calls("ImportKey"), 0, "same key: no import");

    c.push_secret(&src, &entry(Some("ec"), "key/ec", None, None))
        .await
        .unwrap();
    let stored = s.fake.key("ec").unwrap();
    let raw = ec.public_key_raw();
    assert_eq!(stored.jwk["crv"], "P-256");
    assert_eq!(stored.jwk["x"], b64(&raw[1..33]));
    assert_eq!(stored.jwk["y"], b64(&raw[33..65]));
    assert!(
        c.push_secret(&src, &entry(Some("cert"), "key/bad", None, None))
            .await
            .is_err()
    );
    // Read back: the public JWK only.
    let jwk: Value = serde_json::from_str(
        &String::from_utf8(c.get_secret(&r("key/ec")).await.unwrap().into_vec()).unwrap(),
    )
    .unwrap();
    assert!(jwk.get("d").is_none());
    c.delete_secret(&entry(None, "key/ec", None, None))
        .await
        .unwrap();
    assert!(s.fake.key("ec").is_none());
}
