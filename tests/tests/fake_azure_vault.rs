//! Table tests of the Azure fake's Key Vault data plane, written from Microsoft's REST reference
//! (Key Vault 7.x: secrets, keys, certificates, paging, errors, bearer challenge).

mod fake_azure_support;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use fake_azure_support::*;
use reqwest::Method as M;
use serde_json::{Value, json};
use tests::fakes::azure::AzureFake;

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

/// A Key Vault call with the bearer `t`: (status, body).
async fn call(
    f: &AzureFake,
    t: &str,
    method: reqwest::Method,
    path_and_query: &str,
    body: Option<&str>,
) -> (u16, Value) {
    let (status, _, body) = kv(f, Some(t), method, path_and_query, body).await;
    (status, body)
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
    let (s, v1) = call(
        &f,
        &t,
        M::PUT,
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
    let (_, v2) = call(
        &f,
        &t,
        M::PUT,
        "/secrets/db?api-version=7.4",
        Some(r#"{"value":"two"}"#),
    )
    .await;
    // Tags belong to a version: the new one has none.
    assert!(v2.get("tags").is_none());
    let (_, latest) = call(&f, &t, M::GET, "/secrets/db?api-version=7.4", None).await;
    assert_eq!(latest["value"], "two");
    let (_, old) = call(
        &f,
        &t,
        M::GET,
        &format!("/secrets/db/{ver1}?api-version=7.4"),
        None,
    )
    .await;
    assert_eq!(old["value"], "one");
    let (s, _) = call(
        &f,
        &t,
        M::GET,
        "/secrets/db/0123456789abcdef0123456789abcdef?api-version=7.4",
        None,
    )
    .await;
    assert_eq!(s, 404);
    let (_, versions) = call(&f, &t, M::GET, "/secrets/db/versions?api-version=7.4", None).await;
    assert_eq!(versions["value"].as_array().unwrap().len(), 2);
    assert!(
        versions["value"][0].get("value").is_none(),
        "lists never carry values"
    );
    // Update Secret: tags replaced, no value in the answer.
    let ver2 = v2["id"].as_str().unwrap().rsplit('/').next().unwrap();
    let (s, up) = call(
        &f,
        &t,
        M::PATCH,
        &format!("/secrets/db/{ver2}?api-version=7.4"),
        Some(r#"{"tags":{"owner":"me"}}"#),
    )
    .await;
    assert_eq!(s, 200, "{up}");
    assert_eq!(up["tags"], json!({"owner": "me"}));
    assert!(up.get("value").is_none());
    // Disabled: get refused with 403, listed with enabled=false.
    f.set_secret_enabled("db", false);
    let (s, body) = call(&f, &t, M::GET, "/secrets/db?api-version=7.4", None).await;
    assert_eq!(
        (s, body["error"]["innererror"]["code"].as_str()),
        (403, Some("SecretDisabled"))
    );
    let (_, list) = call(&f, &t, M::GET, "/secrets?api-version=7.4", None).await;
    assert_eq!(list["value"][0]["attributes"]["enabled"], false);
    assert_eq!(list["value"][0]["id"], format!("{}/secrets/db", f.url()));
    // Soft delete: the name cannot be reused.
    let (s, del) = call(&f, &t, M::DELETE, "/secrets/db?api-version=7.4", None).await;
    assert_eq!(s, 200);
    assert_eq!(del["recoveryId"], format!("{}/deletedsecrets/db", f.url()));
    let (s, _) = call(&f, &t, M::GET, "/secrets/db?api-version=7.4", None).await;
    assert_eq!(s, 404);
    let (s, body) = call(
        &f,
        &t,
        M::PUT,
        "/secrets/db?api-version=7.4",
        Some(r#"{"value":"x"}"#),
    )
    .await;
    assert_eq!((s, body["error"]["code"].as_str()), (409, Some("Conflict")));
    let (s, _) = call(&f, &t, M::DELETE, "/secrets/db?api-version=7.4", None).await;
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
    let (s, body) = call(
        &f,
        &t,
        M::PUT,
        "/keys/k?api-version=7.4",
        Some(r#"{"key":{"kty":"RSA","n":"AQAB","e":"AQAB"}}"#),
    )
    .await;
    assert_eq!(s, 400, "{body}");
    let (s, body) = call(&f, &t, M::PUT, "/keys/k?api-version=7.4",
        Some(r#"{"key":{"kty":"EC","crv":"P-256","x":"AQ","y":"Ag","d":"Aw"},"tags":{"managed-by":"external-secrets"}}"#)).await;
    assert_eq!(s, 200, "{body}");
    let (_, k) = call(&f, &t, M::GET, "/keys/k?api-version=7.4", None).await;
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
    let (s, body) = call(&f, &t, M::GET, "/keys/none?api-version=7.4", None).await;
    assert_eq!(
        (s, body["error"]["code"].as_str()),
        (404, Some("KeyNotFound"))
    );
    // Certificates: PEM import needs the key; `cer` is the DER, base64.
    let ck = rcgen::generate_simple_self_signed(vec!["example.com".into()]).unwrap();
    let pem_cert = ck.cert.pem();
    let no_key = json!({"value": pem_cert, "policy": {"secret_props": {"contentType": "application/x-pem-file"}}});
    let (s, _) = call(
        &f,
        &t,
        M::POST,
        "/certificates/c/import?api-version=7.4",
        Some(&no_key.to_string()),
    )
    .await;
    assert_eq!(s, 400);
    let full = json!({"value": format!("{}{}", pem_cert, ck.signing_key.serialize_pem()),
        "policy": {"secret_props": {"contentType": "application/x-pem-file"}}, "tags": {"a": "b"}});
    let (s, body) = call(
        &f,
        &t,
        M::POST,
        "/certificates/c/import?api-version=7.4",
        Some(&full.to_string()),
    )
    .await;
    assert_eq!(s, 200, "{body}");
    let (_, c) = call(&f, &t, M::GET, "/certificates/c?api-version=7.4", None).await;
    assert_eq!(
        STANDARD.decode(c["cer"].as_str().unwrap()).unwrap(),
        ck.cert.der().to_vec()
    );
    assert_eq!(c["tags"]["a"], "b");
    // The backing secret holds the PEM with the key.
    let (_, s) = call(&f, &t, M::GET, "/secrets/c?api-version=7.4", None).await;
    assert_eq!(s["managed"], true);
    assert!(s["value"].as_str().unwrap().contains("PRIVATE KEY"));
    let (s, _) = call(&f, &t, M::DELETE, "/certificates/c?api-version=7.4", None).await;
    assert_eq!(s, 200);
    let (s, body) = call(&f, &t, M::GET, "/certificates/c?api-version=7.4", None).await;
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
    let (s, _) = call(&f, &t, M::GET, "/secrets?api-version=7.4", None).await;
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

/// The import reference: without a content type `value` is a base64 PFX; `pwd` opens it.
#[tokio::test]
async fn certificates_import_from_pkcs12() {
    let f = fake().await;
    let t = token(&f).await;
    let ck = rcgen::generate_simple_self_signed(vec!["pfx.example.com".into()]).unwrap();
    let vars = std::collections::BTreeMap::from([
        ("cert".to_string(), ck.cert.pem()),
        ("key".to_string(), ck.signing_key.serialize_pem()),
        ("pass".to_string(), "s3cret".to_string()),
    ]);
    let pfx = |text: &str| {
        shared::template::render_str("pfx", text, &vars)
            .unwrap()
            .trim()
            .to_string()
    };
    let cases = [
        (
            json!({"value": pfx("{{ fullPemToPkcs12 .cert .key }}")}),
            200,
        ),
        (
            json!({"value": pfx("{{ fullPemToPkcs12Pass .cert .key .pass }}"), "pwd": "s3cret"}),
            200,
        ),
        // Wrong password, and bytes that are no PFX at all.
        (
            json!({"value": pfx("{{ fullPemToPkcs12Pass .cert .key .pass }}"), "pwd": "nope"}),
            400,
        ),
        (json!({"value": STANDARD.encode(b"not a pfx")}), 400),
        // The PEM text under the PFX content type is not a PFX either.
        (
            json!({"value": ck.cert.pem(), "policy": {"secret_props": {"contentType": "application/x-pkcs12"}}}),
            400,
        ),
    ];
    for (i, (body, want)) in cases.into_iter().enumerate() {
        let (s, _, resp) = kv(
            &f,
            Some(&t),
            reqwest::Method::POST,
            &format!("/certificates/p{i}/import?api-version=7.4"),
            Some(&body.to_string()),
        )
        .await;
        assert_eq!(s, want, "case {i}: {resp}");
        if want == 200 {
            assert_eq!(
                STANDARD.decode(resp["cer"].as_str().unwrap()).unwrap(),
                ck.cert.der().to_vec(),
                "case {i}"
            );
        }
    }
}
