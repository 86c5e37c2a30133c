//! Helpers shared by the table tests of the Google fake.
#![allow(dead_code)]

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeyPair as RsaKeyPair;
use aws_lc_rs::signature::RSA_PKCS1_SHA256;
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::{Value, json};
use tests::fakes::gcp::{CLOUD_PLATFORM_SCOPE, FakeGcp};

pub const SA: &str = "reader@proj-a.iam.gserviceaccount.com";
pub const NUM: u64 = 123456789012;

pub async fn fake() -> FakeGcp {
    let f = FakeGcp::start().await.unwrap();
    f.add_project("proj-a", NUM);
    f
}

pub fn http() -> reqwest::Client {
    reqwest::Client::new()
}

/// Signs `claims` with the private key of a JSON key file, as Google's documentation describes
/// for the JWT-bearer grant.
pub fn assertion(key_json: &str, claims: Value) -> String {
    let key: Value = serde_json::from_str(key_json).unwrap();
    let pem = key["private_key"].as_str().unwrap();
    let b64: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let der = STANDARD.decode(b64).unwrap();
    let kp = RsaKeyPair::from_pkcs8(&der).unwrap();
    let header = json!({"alg": "RS256", "typ": "JWT", "kid": key["private_key_id"]});
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let mut sig = vec![0; kp.public_modulus_len()];
    kp.sign(
        &RSA_PKCS1_SHA256,
        &SystemRandom::new(),
        input.as_bytes(),
        &mut sig,
    )
    .unwrap();
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig))
}

pub fn claims(key_json: &str, iat: i64, exp: i64) -> Value {
    let key: Value = serde_json::from_str(key_json).unwrap();
    json!({
        "iss": key["client_email"], "scope": CLOUD_PLATFORM_SCOPE,
        "aud": key["token_uri"], "iat": iat, "exp": exp
    })
}

pub async fn post_form(url: &str, pairs: &[(&str, &str)]) -> (u16, Value) {
    let body: String = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish();
    let r = http()
        .post(url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

/// (what, form fields, expected HTTP status, expected OAuth error).
pub type TokenCase<'a> = (&'a str, Vec<(&'a str, &'a str)>, u16, &'a str);
/// (what, method, URL, bearer, body, expected HTTP status, expected gRPC status).
pub type ApiCase<'a> = (
    &'a str,
    reqwest::Method,
    String,
    Option<&'a str>,
    Option<Value>,
    u16,
    &'a str,
);

pub const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

pub fn sm(f: &FakeGcp, path: &str) -> String {
    format!("{}/v1/{path}", f.url())
}

pub async fn call(
    method: reqwest::Method,
    url: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (u16, Value) {
    let mut rb = http().request(method, url);
    if let Some(t) = token {
        rb = rb.bearer_auth(t);
    }
    if let Some(b) = body {
        rb = rb.json(&b);
    }
    let r = rb.send().await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

pub fn error_of(body: &Value) -> (i64, &str) {
    (
        body["error"]["code"].as_i64().unwrap_or(0),
        body["error"]["status"].as_str().unwrap_or(""),
    )
}

pub fn payload(text: &str) -> Value {
    json!({"payload": {"data": STANDARD.encode(text)}})
}
