//! Table tests of the Azure fake, written from Microsoft's REST reference (Key Vault 7.x data
//! plane, identity platform v2.0 token endpoint, IMDS) before any provider uses it.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::{KeyPair as _, RSA_PKCS1_SHA256};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::{Value, json};
use tests::fakes::azure::{AzureFake, ClientCredential};

const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
const ASSERTION: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
const SCOPE: &str = "https://vault.azure.net/.default";

/// (case, tenant, form, status, error, AADSTS code)
type TokenCase<'a> = (&'a str, &'a str, Vec<(&'a str, &'a str)>, u16, &'a str, u64);
/// (case, bearer, method, path and query, body, status, error code)
type VaultCase<'a> = (
    &'a str,
    Option<&'a str>,
    reqwest::Method,
    &'a str,
    Option<&'a str>,
    u16,
    &'a str,
);

fn http() -> reqwest::Client {
    reqwest::Client::new()
}

async fn form(fake: &AzureFake, tenant: &str, fields: &[(&str, &str)]) -> (u16, Value) {
    let body: String = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .finish();
    let r = http()
        .post(format!("{}/{tenant}/oauth2/v2.0/token", fake.url()))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn token(fake: &AzureFake) -> String {
    let (s, v) = form(
        fake,
        TENANT,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", "app"),
            ("client_secret", "s3cret"),
            ("scope", SCOPE),
        ],
    )
    .await;
    assert_eq!(s, 200, "{v}");
    v["access_token"].as_str().unwrap().to_string()
}

async fn fake() -> AzureFake {
    let f = AzureFake::start(TENANT).await.unwrap();
    f.add_client("app", ClientCredential::Secret("s3cret".into()));
    f
}

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

async fn kv(
    f: &AzureFake,
    token: Option<&str>,
    method: reqwest::Method,
    path_and_query: &str,
    body: Option<&str>,
) -> (u16, Option<String>, Value) {
    let mut rb = http().request(method, format!("{}{path_and_query}", f.url()));
    if let Some(t) = token {
        rb = rb.bearer_auth(t);
    }
    if let Some(b) = body {
        rb = rb
            .header("content-type", "application/json")
            .body(b.to_string());
    }
    let r = rb.send().await.unwrap();
    let challenge = r
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_string());
    (
        r.status().as_u16(),
        challenge,
        r.json().await.unwrap_or(Value::Null),
    )
}

#[tokio::test]
async fn vault_rejects_malformed_and_unauthenticated_requests() {
    let f = fake().await;
    let t = token(&f).await;
    let get = reqwest::Method::GET;
    let put = reqwest::Method::PUT;
    let cases: Vec<VaultCase> = vec![
        (
            "no api-version",
            Some(&t),
            get.clone(),
            "/secrets/a",
            None,
            400,
            "BadParameter",
        ),
        (
            "unknown api-version",
            Some(&t),
            get.clone(),
            "/secrets/a?api-version=2016-10-01",
            None,
            400,
            "BadParameter",
        ),
        (
            "no bearer",
            None,
            get.clone(),
            "/secrets/a?api-version=7.4",
            None,
            401,
            "Unauthorized",
        ),
        (
            "bad bearer",
            Some("forged"),
            get.clone(),
            "/secrets/a?api-version=7.4",
            None,
            401,
            "Unauthorized",
        ),
        (
            "bad json",
            Some(&t),
            put.clone(),
            "/secrets/a?api-version=7.4",
            Some("{\"value\":"),
            400,
            "BadParameter",
        ),
        (
            "no value",
            Some(&t),
            put.clone(),
            "/secrets/a?api-version=7.4",
            Some("{\"tags\":{}}"),
            400,
            "BadParameter",
        ),
        (
            "bad name",
            Some(&t),
            put.clone(),
            "/secrets/a_b?api-version=7.4",
            Some("{\"value\":\"x\"}"),
            400,
            "BadParameter",
        ),
        (
            "missing",
            Some(&t),
            get.clone(),
            "/secrets/absent?api-version=7.4",
            None,
            404,
            "SecretNotFound",
        ),
        (
            "maxresults",
            Some(&t),
            get.clone(),
            "/secrets?api-version=7.4&maxresults=26",
            None,
            400,
            "BadParameter",
        ),
    ];
    for (case, tok, method, pq, body, status, code) in cases {
        let (s, challenge, v) = kv(&f, tok, method, pq, body).await;
        assert_eq!(s, status, "{case}: {v}");
        assert_eq!(v["error"]["code"], code, "{case}");
        assert!(
            v["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "{case}"
        );
        if status == 401 {
            let c = challenge.unwrap_or_default();
            assert!(c.starts_with("Bearer authorization=\""), "{case}: {c}");
            assert!(c.contains(&format!("/{TENANT}\"")), "{case}: {c}");
            assert!(
                c.contains("resource=\"https://vault.azure.net\""),
                "{case}: {c}"
            );
        }
    }
    // A token for another resource is refused.
    let (_, v) = form(
        &f,
        TENANT,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", "app"),
            ("client_secret", "s3cret"),
            ("scope", "https://management.azure.com/.default"),
        ],
    )
    .await;
    let (s, _, body) = kv(
        &f,
        v["access_token"].as_str(),
        get.clone(),
        "/secrets/a?api-version=7.4",
        None,
    )
    .await;
    assert_eq!(s, 401, "{body}");
    // A denied principal gets 403.
    f.deny("app");
    let (s, _, body) = kv(&f, Some(&t), get, "/secrets?api-version=7.4", None).await;
    assert_eq!(
        (s, body["error"]["code"].as_str()),
        (403, Some("Forbidden"))
    );
}

#[tokio::test]
async fn secrets_versions_tags_disable_delete() {
    let f = fake().await;
    let t = token(&f).await;
    let (s, _, v1) = kv(
        &f,
        Some(&t),
        reqwest::Method::PUT,
        "/secrets/db?api-version=7.4",
        Some(r#"{"value":"one","tags":{"env":"dev"},"contentType":"text/plain"}"#),
    )
    .await;
    assert_eq!(s, 200, "{v1}");
    assert_eq!(v1["value"], "one");
    assert_eq!(v1["tags"]["env"], "dev");
    assert_eq!(v1["attributes"]["enabled"], true);
    let id1 = v1["id"].as_str().unwrap().to_string();
    assert!(id1.starts_with(&format!("{}/secrets/db/", f.url())));
    let ver1 = id1.rsplit('/').next().unwrap().to_string();
    assert_eq!(ver1.len(), 32);
    let (_, _, v2) = kv(
        &f,
        Some(&t),
        reqwest::Method::PUT,
        "/secrets/db?api-version=7.4",
        Some(r#"{"value":"two"}"#),
    )
    .await;
    // Tags belong to a version: the new one has none.
    assert!(v2.get("tags").is_none());
    let (_, _, latest) = kv(
        &f,
        Some(&t),
        reqwest::Method::GET,
        "/secrets/db?api-version=7.4",
        None,
    )
    .await;
    assert_eq!(latest["value"], "two");
    let (_, _, old) = kv(
        &f,
        Some(&t),
        reqwest::Method::GET,
        &format!("/secrets/db/{ver1}?api-version=7.4"),
        None,
    )
    .await;
    assert_eq!(old["value"], "one");
    let (s, _, _) = kv(
        &f,
        Some(&t),
        reqwest::Method::GET,
        "/secrets/db/0123456789abcdef0123456789abcdef?api-version=7.4",
        None,
    )
    .await;
    assert_eq!(s, 404);
    let (_, _, versions) = kv(
        &f,
        Some(&t),
        reqwest::Method::GET,
        "/secrets/db/versions?api-version=7.4",
        None,
    )
    .await;
    assert_eq!(versions["value"].as_array().unwrap().len(), 2);
    assert!(
        versions["value"][0].get("value").is_none(),
        "lists never carry values"
    );
    // Update Secret: tags replaced, no value in the answer.
    let (s, _, up) = kv(
        &f,
        Some(&t),
        reqwest::Method::PATCH,
        "/secrets/db/?api-version=7.4"
            .replace(
                "db/",
                &format!(
                    "db/{}",
                    v2["id"].as_str().unwrap().rsplit('/').next().unwrap()
                ),
            )
            .as_str(),
        Some(r#"{"tags":{"owner":"me"}}"#),
    )
    .await;
    assert_eq!(s, 200, "{up}");
    assert_eq!(up["tags"], json!({"owner": "me"}));
    assert!(up.get("value").is_none());
    // Disabled: get refused with 403, listed with enabled=false.
    f.set_secret_enabled("db", false);
    let (s, _, body) = kv(
        &f,
        Some(&t),
        reqwest::Method::GET,
        "/secrets/db?api-version=7.4",
        None,
    )
    .await;
    assert_eq!(
        (s, body["error"]["innererror"]["code"].as_str()),
        (403, Some("SecretDisabled"))
    );
    let (_, _, list) = kv(
        &f,
        Some(&t),
        reqwest::Method::GET,
        "/secrets?api-version=7.4",
        None,
    )
    .await;
    assert_eq!(list["value"][0]["attributes"]["enabled"], false);
    assert_eq!(list["value"][0]["id"], format!("{}/secrets/db", f.url()));
    // Soft delete: the name cannot be reused.
    let (s, _, del) = kv(
        &f,
        Some(&t),
        reqwest::Method::DELETE,
        "/secrets/db?api-version=7.4",
        None,
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(del["recoveryId"], format!("{}/deletedsecrets/db", f.url()));
    let (s, _, _) = kv(
        &f,
        Some(&t),
        reqwest::Method::GET,
        "/secrets/db?api-version=7.4",
        None,
    )
    .await;
    assert_eq!(s, 404);
    let (s, _, body) = kv(
        &f,
        Some(&t),
        reqwest::Method::PUT,
        "/secrets/db?api-version=7.4",
        Some(r#"{"value":"x"}"#),
    )
    .await;
    assert_eq!((s, body["error"]["code"].as_str()), (409, Some("Conflict")));
    let (s, _, _) = kv(
        &f,
        Some(&t),
        reqwest::Method::DELETE,
        "/secrets/db?api-version=7.4",
        None,
    )
    .await;
    assert_eq!(s, 404);
}

#[tokio::test]
async fn list_pages_follow_next_link() {
    let f = fake().await;
    for i in 0..7 {
        f.put_secret(&format!("s{i}"), "v", &[("n", &i.to_string())]);
    }
    let t = token(&f).await;
    let mut url = format!("{}/secrets?api-version=7.4&maxresults=3", f.url());
    let mut seen = Vec::new();
    let mut pages = 0;
    loop {
        let r: Value = http()
            .get(&url)
            .bearer_auth(&t)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        pages += 1;
        for item in r["value"].as_array().unwrap() {
            seen.push(
                item["id"]
                    .as_str()
                    .unwrap()
                    .rsplit('/')
                    .next()
                    .unwrap()
                    .to_string(),
            );
            assert!(item["tags"]["n"].is_string());
        }
        match r["nextLink"].as_str() {
            Some(next) => url = next.to_string(),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, (0..7).map(|i| format!("s{i}")).collect::<Vec<_>>());
    assert_eq!(f.calls("GetSecrets"), 3);
}

#[tokio::test]
async fn keys_and_certificates() {
    let f = fake().await;
    let t = token(&f).await;
    // Import requires private material; Get returns the public JWK only.
    let (s, _, body) = kv(
        &f,
        Some(&t),
        reqwest::Method::PUT,
        "/keys/k?api-version=7.4",
        Some(r#"{"key":{"kty":"RSA","n":"AQAB","e":"AQAB"}}"#),
    )
    .await;
    assert_eq!(s, 400, "{body}");
    let (s, _, body) = kv(&f, Some(&t), reqwest::Method::PUT, "/keys/k?api-version=7.4",
        Some(r#"{"key":{"kty":"EC","crv":"P-256","x":"AQ","y":"Ag","d":"Aw"},"tags":{"managed-by":"external-secrets"}}"#)).await;
    assert_eq!(s, 200, "{body}");
    let (_, _, k) = kv(
        &f,
        Some(&t),
        reqwest::Method::GET,
        "/keys/k?api-version=7.4",
        None,
    )
    .await;
    assert_eq!(k["key"]["kty"], "EC");
    assert_eq!(k["key"]["x"], "AQ");
    assert!(
        k["key"].get("d").is_none(),
        "private parts never leave the vault"
    );
    assert!(
        k["key"]["kid"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{}/keys/k/", f.url()))
    );
    assert_eq!(k["tags"]["managed-by"], "external-secrets");
    let (s, _, body) = kv(
        &f,
        Some(&t),
        reqwest::Method::GET,
        "/keys/none?api-version=7.4",
        None,
    )
    .await;
    assert_eq!(
        (s, body["error"]["code"].as_str()),
        (404, Some("KeyNotFound"))
    );
    // Certificates: PEM import needs the key; `cer` is the DER, base64.
    let ck = rcgen::generate_simple_self_signed(vec!["example.com".into()]).unwrap();
    let pem_cert = ck.cert.pem();
    let no_key = json!({"value": pem_cert, "policy": {"secret_props": {"contentType": "application/x-pem-file"}}});
    let (s, _, _) = kv(
        &f,
        Some(&t),
        reqwest::Method::POST,
        "/certificates/c/import?api-version=7.4",
        Some(&no_key.to_string()),
    )
    .await;
    assert_eq!(s, 400);
    let full = json!({"value": format!("{}{}", pem_cert, ck.signing_key.serialize_pem()),
        "policy": {"secret_props": {"contentType": "application/x-pem-file"}}, "tags": {"a": "b"}});
    let (s, _, body) = kv(
        &f,
        Some(&t),
        reqwest::Method::POST,
        "/certificates/c/import?api-version=7.4",
        Some(&full.to_string()),
    )
    .await;
    assert_eq!(s, 200, "{body}");
    let (_, _, c) = kv(
        &f,
        Some(&t),
        reqwest::Method::GET,
        "/certificates/c?api-version=7.4",
        None,
    )
    .await;
    assert_eq!(
        STANDARD.decode(c["cer"].as_str().unwrap()).unwrap(),
        ck.cert.der().to_vec()
    );
    assert_eq!(c["tags"]["a"], "b");
    // The backing secret holds the PEM with the key.
    let (_, _, s) = kv(
        &f,
        Some(&t),
        reqwest::Method::GET,
        "/secrets/c?api-version=7.4",
        None,
    )
    .await;
    assert_eq!(s["managed"], true);
    assert!(s["value"].as_str().unwrap().contains("PRIVATE KEY"));
    let (s, _, _) = kv(
        &f,
        Some(&t),
        reqwest::Method::DELETE,
        "/certificates/c?api-version=7.4",
        None,
    )
    .await;
    assert_eq!(s, 200);
    let (s, _, body) = kv(
        &f,
        Some(&t),
        reqwest::Method::GET,
        "/certificates/c?api-version=7.4",
        None,
    )
    .await;
    assert_eq!(
        (s, body["error"]["code"].as_str()),
        (404, Some("CertificateNotFound"))
    );
}

#[tokio::test]
async fn expired_tokens_are_refused() {
    let f = fake().await;
    f.set_token_lifetime(std::time::Duration::from_millis(200));
    let t = token(&f).await;
    let (s, _, _) = kv(
        &f,
        Some(&t),
        reqwest::Method::GET,
        "/secrets?api-version=7.4",
        None,
    )
    .await;
    assert_eq!(s, 200);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let (s, c, _) = kv(
        &f,
        Some(&t),
        reqwest::Method::GET,
        "/secrets?api-version=7.4",
        None,
    )
    .await;
    assert_eq!(s, 401);
    assert!(c.is_some());
}
