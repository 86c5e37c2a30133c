//! Table tests of the Azure fake's identity endpoints, written from Microsoft's REST reference
//! (identity platform v2.0 token endpoint, IMDS) before any provider uses it; the Key Vault data
//! plane is in `fake_azure_vault.rs`.

mod fake_azure_support;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::{KeyPair as _, RSA_PKCS1_SHA256};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use fake_azure_support::*;
use serde_json::{Value, json};
use tests::fakes::azure::{AzureFake, ClientCredential};

const ASSERTION: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// (case, tenant, form, status, error, AADSTS code)
type TokenCase<'a> = (&'a str, &'a str, Vec<(&'a str, &'a str)>, u16, &'a str, u64);

fn jwt(key: &KeyPair, header: Value, claims: Value) -> String {
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let mut sig = vec![0; key.public_modulus_len()];
    key.sign(
        &RSA_PKCS1_SHA256,
        &SystemRandom::new(),
        input.as_bytes(),
        &mut sig,
    )
    .unwrap();
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig))
}

fn components(key: &KeyPair) -> (Vec<u8>, Vec<u8>) {
    let p = key.public_key();
    (
        p.modulus().big_endian_without_leading_zero().to_vec(),
        p.exponent().big_endian_without_leading_zero().to_vec(),
    )
}

#[tokio::test]
async fn token_endpoint_client_secret_table() {
    let f = fake().await;
    let ok = [
        ("grant_type", "client_credentials"),
        ("client_id", "app"),
        ("client_secret", "s3cret"),
        ("scope", SCOPE),
    ];
    let without = |skip: &str| -> Vec<(&str, &str)> {
        ok.iter().copied().filter(|(k, _)| *k != skip).collect()
    };
    let with = |k: &'static str, v: &'static str| -> Vec<(&'static str, &'static str)> {
        ok.iter()
            .copied()
            .map(|(a, b)| if a == k { (a, v) } else { (a, b) })
            .collect()
    };
    // (case, tenant, form, status, error, AADSTS code)
    let cases: Vec<TokenCase> = vec![
        (
            "no grant_type",
            TENANT,
            without("grant_type"),
            400,
            "invalid_request",
            900144,
        ),
        (
            "password grant",
            TENANT,
            with("grant_type", "password"),
            400,
            "unsupported_grant_type",
            70003,
        ),
        (
            "no client_id",
            TENANT,
            without("client_id"),
            400,
            "invalid_request",
            900144,
        ),
        (
            "no scope",
            TENANT,
            without("scope"),
            400,
            "invalid_request",
            900144,
        ),
        (
            "scope without /.default",
            TENANT,
            with("scope", "https://vault.azure.net"),
            400,
            "invalid_scope",
            1002012,
        ),
        (
            "unknown app",
            TENANT,
            with("client_id", "nope"),
            400,
            "unauthorized_client",
            700016,
        ),
        (
            "wrong secret",
            TENANT,
            with("client_secret", "guess"),
            401,
            "invalid_client",
            7000215,
        ),
        (
            "no credential",
            TENANT,
            without("client_secret"),
            401,
            "invalid_client",
            7000218,
        ),
        (
            "unknown tenant",
            "other-tenant",
            ok.to_vec(),
            400,
            "invalid_request",
            90002,
        ),
    ];
    for (case, tenant, fields, status, error, code) in cases {
        let (s, v) = form(&f, tenant, &fields).await;
        assert_eq!(s, status, "{case}: {v}");
        assert_eq!(v["error"], error, "{case}");
        assert_eq!(v["error_codes"][0], code, "{case}");
        assert!(
            v["error_description"]
                .as_str()
                .unwrap()
                .starts_with(&format!("AADSTS{code}:")),
            "{case}"
        );
    }
    let (s, v) = form(&f, TENANT, &ok).await;
    assert_eq!(s, 200);
    assert_eq!(v["token_type"], "Bearer");
    assert!(v["expires_in"].as_u64().unwrap() > 3000);
    assert!(v["access_token"].as_str().is_some_and(|t| !t.is_empty()));
    // A form body is required: JSON is not accepted.
    let r = http()
        .post(format!("{}/{TENANT}/oauth2/v2.0/token", f.url()))
        .json(&json!({"grant_type": "client_credentials"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
}

#[tokio::test]
async fn token_endpoint_certificate_assertion_table() {
    let f = fake().await;
    let key = KeyPair::generate(KeySize::Rsa2048).unwrap();
    let other = KeyPair::generate(KeySize::Rsa2048).unwrap();
    let (n, e) = components(&key);
    let thumb = vec![7u8; 20];
    f.add_client(
        "cert-app",
        ClientCredential::Certificate {
            thumbprint: thumb.clone(),
            n,
            e,
        },
    );
    let aud = format!("{}/{TENANT}/oauth2/v2.0/token", f.url());
    let now = chrono::Utc::now().timestamp();
    let header = json!({"alg": "RS256", "typ": "JWT", "x5t": URL_SAFE_NO_PAD.encode(&thumb)});
    let claims = json!({"aud": aud, "iss": "cert-app", "sub": "cert-app", "jti": "1", "nbf": now, "exp": now + 600});
    let good = jwt(&key, header.clone(), claims.clone());
    let mut expired = claims.clone();
    expired["exp"] = json!(now - 10);
    let mut wrong_aud = claims.clone();
    wrong_aud["aud"] = json!("https://login.microsoftonline.com/x/oauth2/v2.0/token");
    let mut wrong_iss = claims.clone();
    wrong_iss["iss"] = json!("someone");
    let unknown_thumb =
        json!({"alg": "RS256", "typ": "JWT", "x5t": URL_SAFE_NO_PAD.encode([1u8; 20])});
    let cases: Vec<(&str, String, &str, u16, u64)> = vec![
        ("valid", good.clone(), ASSERTION, 200, 0),
        (
            "wrong key",
            jwt(&other, header.clone(), claims.clone()),
            ASSERTION,
            401,
            700027,
        ),
        (
            "unknown thumbprint",
            jwt(&key, unknown_thumb, claims.clone()),
            ASSERTION,
            401,
            700027,
        ),
        (
            "expired",
            jwt(&key, header.clone(), expired),
            ASSERTION,
            401,
            700024,
        ),
        (
            "audience",
            jwt(&key, header.clone(), wrong_aud),
            ASSERTION,
            401,
            700212,
        ),
        (
            "issuer",
            jwt(&key, header.clone(), wrong_iss),
            ASSERTION,
            401,
            700021,
        ),
        ("not a jwt", "abc".into(), ASSERTION, 401, 50027),
        ("assertion type", good.clone(), "jwt", 400, 90014),
    ];
    for (case, assertion, kind, status, code) in cases {
        let (s, v) = form(
            &f,
            TENANT,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", "cert-app"),
                ("client_assertion_type", kind),
                ("client_assertion", &assertion),
                ("scope", SCOPE),
            ],
        )
        .await;
        assert_eq!(s, status, "{case}: {v}");
        if code != 0 {
            assert_eq!(v["error_codes"][0], code, "{case}");
        }
    }
}

#[tokio::test]
async fn token_endpoint_federated_assertion_table() {
    let f = fake().await;
    let key = KeyPair::generate(KeySize::Rsa2048).unwrap();
    let (n, e) = components(&key);
    let jwks = json!({"keys": [{"kty": "RSA", "kid": "k1", "n": URL_SAFE_NO_PAD.encode(&n), "e": URL_SAFE_NO_PAD.encode(&e)}]});
    f.add_client(
        "wi-app",
        ClientCredential::Federated {
            issuer: "https://issuer.example".into(),
            subject: "system:serviceaccount:ns:sa".into(),
            jwks,
        },
    );
    let now = chrono::Utc::now().timestamp();
    let header = json!({"alg": "RS256", "kid": "k1"});
    let claims = json!({"iss": "https://issuer.example", "sub": "system:serviceaccount:ns:sa",
        "aud": ["api://AzureADTokenExchange"], "iat": now, "exp": now + 600});
    let mut other_sub = claims.clone();
    other_sub["sub"] = json!("system:serviceaccount:ns:other");
    let mut other_aud = claims.clone();
    other_aud["aud"] = json!(["https://kubernetes.default.svc"]);
    let forged = KeyPair::generate(KeySize::Rsa2048).unwrap();
    let cases = [
        ("valid", jwt(&key, header.clone(), claims.clone()), 200, 0),
        ("subject", jwt(&key, header.clone(), other_sub), 400, 70021),
        ("audience", jwt(&key, header.clone(), other_aud), 400, 70021),
        (
            "signature",
            jwt(&forged, header.clone(), claims.clone()),
            401,
            5002738,
        ),
    ];
    for (case, assertion, status, code) in cases {
        let (s, v) = form(
            &f,
            TENANT,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", "wi-app"),
                ("client_assertion_type", ASSERTION),
                ("client_assertion", &assertion),
                ("scope", SCOPE),
            ],
        )
        .await;
        assert_eq!(s, status, "{case}: {v}");
        if code != 0 {
            assert_eq!(v["error_codes"][0], code, "{case}");
        }
    }
}

async fn imds(f: &AzureFake, query: &str, header: bool) -> (u16, Value) {
    let mut rb = http().get(format!(
        "{}/metadata/identity/oauth2/token?{query}",
        f.url()
    ));
    if header {
        rb = rb.header("Metadata", "true");
    }
    let r = rb.send().await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn imds_table() {
    let f = fake().await;
    f.add_managed_identity(Some("uami-1"));
    f.add_managed_identity(Some("uami-2"));
    let res = "resource=https%3A%2F%2Fvault.azure.net";
    let cases = [
        (
            "no header",
            format!("api-version=2018-02-01&{res}"),
            false,
            400,
            "Required metadata header not specified",
        ),
        (
            "no api-version",
            res.to_string(),
            true,
            400,
            "Required query variable 'api-version' is missing",
        ),
        (
            "no resource",
            "api-version=2018-02-01".to_string(),
            true,
            400,
            "Required query variable 'resource' is missing",
        ),
        (
            "ambiguous",
            format!("api-version=2018-02-01&{res}"),
            true,
            400,
            "Multiple user assigned identities exist, please specify the clientId / resourceId of the identity in the token request",
        ),
        (
            "unknown id",
            format!("api-version=2018-02-01&{res}&client_id=nope"),
            true,
            400,
            "Identity not found",
        ),
    ];
    for (case, q, header, status, desc) in cases {
        let (s, v) = imds(&f, &q, header).await;
        assert_eq!(s, status, "{case}: {v}");
        assert_eq!(v["error_description"], desc, "{case}");
    }
    let (s, v) = imds(
        &f,
        &format!("api-version=2018-02-01&{res}&client_id=uami-2"),
        true,
    )
    .await;
    assert_eq!(s, 200, "{v}");
    // IMDS reports numbers as strings.
    assert!(v["expires_in"].as_str().unwrap().parse::<u64>().unwrap() > 3000);
    assert_eq!(v["client_id"], "uami-2");
    assert_eq!(v["resource"], "https://vault.azure.net");
    // The token works at the vault.
    let t = v["access_token"].as_str().unwrap();
    let r = http()
        .get(format!("{}/secrets?api-version=7.4", f.url()))
        .bearer_auth(t)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}
