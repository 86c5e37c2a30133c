//! Table tests of the Google fake, written from Google's REST documentation (Secret Manager v1,
//! OAuth 2.0 for service accounts, STS token exchange, IAM Credentials, metadata server) before
//! any provider uses it.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeyPair as RsaKeyPair;
use aws_lc_rs::signature::RSA_PKCS1_SHA256;
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::{Value, json};
use tests::fakes::gcp::{
    Access, CLOUD_PLATFORM_SCOPE, FakeGcp, VersionState, gke_principal, service_account_principal,
    wif_principal,
};
use tests::sim::tokens::TokenIssuer;

const SA: &str = "reader@proj-a.iam.gserviceaccount.com";
const NUM: u64 = 123456789012;

async fn fake() -> FakeGcp {
    let f = FakeGcp::start().await.unwrap();
    f.add_project("proj-a", NUM);
    f
}

fn http() -> reqwest::Client {
    reqwest::Client::new()
}

/// Signs `claims` with the private key of a JSON key file, as Google's documentation describes
/// for the JWT-bearer grant.
fn assertion(key_json: &str, claims: Value) -> String {
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

fn claims(key_json: &str, iat: i64, exp: i64) -> Value {
    let key: Value = serde_json::from_str(key_json).unwrap();
    json!({
        "iss": key["client_email"], "scope": CLOUD_PLATFORM_SCOPE,
        "aud": key["token_uri"], "iat": iat, "exp": exp
    })
}

async fn post_form(url: &str, pairs: &[(&str, &str)]) -> (u16, Value) {
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
type TokenCase<'a> = (&'a str, Vec<(&'a str, &'a str)>, u16, &'a str);
/// (what, method, URL, bearer, body, expected HTTP status, expected gRPC status).
type ApiCase<'a> = (
    &'a str,
    reqwest::Method,
    String,
    Option<&'a str>,
    Option<Value>,
    u16,
    &'a str,
);

const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

#[tokio::test]
async fn oauth_token_endpoint_checks_the_signed_assertion() {
    let f = fake().await;
    let key = f.service_account_key(SA, "proj-a");
    let other = f.service_account_key("other@proj-a.iam.gserviceaccount.com", "proj-a");
    let token_uri = format!("{}/token", f.url());
    let now = chrono::Utc::now().timestamp();
    let good = assertion(&key, claims(&key, now, now + 3600));
    // Signed with another account's key but claiming to be SA.
    let forged = assertion(&other, claims(&key, now, now + 3600));
    let too_long = assertion(&key, claims(&key, now, now + 7200));
    let expired = assertion(&key, claims(&key, now - 7200, now - 3600));
    let mut wrong_aud = claims(&key, now, now + 600);
    wrong_aud["aud"] = json!("https://example.com/token");
    let wrong_aud = assertion(&key, wrong_aud);
    let mut no_scope = claims(&key, now, now + 600);
    no_scope["scope"] = Value::Null;
    let no_scope = assertion(&key, no_scope);

    let table: Vec<TokenCase> = vec![
        (
            "valid",
            vec![("grant_type", JWT_BEARER), ("assertion", &good)],
            200,
            "",
        ),
        (
            "forged",
            vec![("grant_type", JWT_BEARER), ("assertion", &forged)],
            400,
            "invalid_grant",
        ),
        (
            "longer than an hour",
            vec![("grant_type", JWT_BEARER), ("assertion", &too_long)],
            400,
            "invalid_grant",
        ),
        (
            "expired",
            vec![("grant_type", JWT_BEARER), ("assertion", &expired)],
            400,
            "invalid_grant",
        ),
        (
            "wrong audience",
            vec![("grant_type", JWT_BEARER), ("assertion", &wrong_aud)],
            400,
            "invalid_grant",
        ),
        (
            "no scope",
            vec![("grant_type", JWT_BEARER), ("assertion", &no_scope)],
            400,
            "invalid_scope",
        ),
        (
            "wrong grant",
            vec![("grant_type", "client_credentials"), ("assertion", &good)],
            400,
            "unsupported_grant_type",
        ),
        (
            "no assertion",
            vec![("grant_type", JWT_BEARER)],
            400,
            "invalid_request",
        ),
        (
            "garbage",
            vec![("grant_type", JWT_BEARER), ("assertion", "a.b.c")],
            400,
            "invalid_grant",
        ),
    ];
    for (what, pairs, status, error) in table {
        let (code, body) = post_form(&token_uri, &pairs).await;
        assert_eq!(code, status, "{what}: {body}");
        if status == 200 {
            assert!(body["access_token"].as_str().is_some_and(|t| !t.is_empty()));
            assert_eq!(body["token_type"], "Bearer");
            assert!(body["expires_in"].as_i64().unwrap() > 3000);
        } else {
            assert_eq!(body["error"], error, "{what}: {body}");
        }
    }
    // A JSON body is not a form.
    let r = http()
        .post(&token_uri)
        .json(&json!({"grant_type": JWT_BEARER, "assertion": good}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    // A deleted key no longer works.
    f.delete_keys(SA);
    let (code, body) = post_form(
        &token_uri,
        &[("grant_type", JWT_BEARER), ("assertion", &good)],
    )
    .await;
    assert_eq!((code, body["error"].as_str()), (400, Some("invalid_grant")));
    assert_eq!(f.calls("Token"), 11);
}

fn sm(f: &FakeGcp, path: &str) -> String {
    format!("{}/v1/{path}", f.url())
}

async fn call(
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

fn error_of(body: &Value) -> (i64, &str) {
    (
        body["error"]["code"].as_i64().unwrap_or(0),
        body["error"]["status"].as_str().unwrap_or(""),
    )
}

fn payload(text: &str) -> Value {
    json!({"payload": {"data": STANDARD.encode(text)}})
}

#[tokio::test]
async fn secret_manager_authentication_and_authorisation() {
    use reqwest::Method as M;
    let f = fake().await;
    let writer = f.token_for(&service_account_principal(SA));
    f.grant(&service_account_principal(SA), "proj-a", Access::Write);
    let reader_p = service_account_principal("ro@proj-a.iam.gserviceaccount.com");
    f.grant(&reader_p, "proj-a", Access::Read);
    let reader = f.token_for(&reader_p);
    let stranger = f.token_for(&service_account_principal(
        "x@other.iam.gserviceaccount.com",
    ));
    f.put_secret("proj-a", None, "db", &[], &[], &[b"v1"]);
    let access = sm(&f, "projects/proj-a/secrets/db/versions/latest:access");
    let table: Vec<ApiCase> = vec![
        (
            "no credentials",
            M::GET,
            access.clone(),
            None,
            None,
            401,
            "UNAUTHENTICATED",
        ),
        (
            "unknown token",
            M::GET,
            access.clone(),
            Some("ya29.nope"),
            None,
            401,
            "UNAUTHENTICATED",
        ),
        (
            "no role",
            M::GET,
            access.clone(),
            Some(&stranger),
            None,
            403,
            "PERMISSION_DENIED",
        ),
        (
            "unknown project",
            M::GET,
            sm(&f, "projects/nope/secrets/db/versions/latest:access"),
            Some(&writer),
            None,
            403,
            "PERMISSION_DENIED",
        ),
        (
            "reader reads",
            M::GET,
            access.clone(),
            Some(&reader),
            None,
            200,
            "",
        ),
        (
            "reader cannot add",
            M::POST,
            sm(&f, "projects/proj-a/secrets/db:addVersion"),
            Some(&reader),
            Some(payload("x")),
            403,
            "PERMISSION_DENIED",
        ),
        (
            "writer adds",
            M::POST,
            sm(&f, "projects/proj-a/secrets/db:addVersion"),
            Some(&writer),
            Some(payload("x")),
            200,
            "",
        ),
        (
            "unknown method",
            M::GET,
            sm(&f, "projects/proj-a/secrets/db:frobnicate"),
            Some(&writer),
            None,
            404,
            "NOT_FOUND",
        ),
    ];
    for (what, method, url, token, body, status, grpc) in table {
        let (code, b) = call(method, &url, token, body).await;
        assert_eq!(code, status, "{what}: {b}");
        if status != 200 {
            assert_eq!(error_of(&b), (i64::from(status), grpc), "{what}: {b}");
            assert!(
                b["error"]["message"]
                    .as_str()
                    .is_some_and(|m| !m.is_empty())
            );
        }
    }
    // An expired token is refused.
    f.expire_tokens();
    let (code, b) = call(M::GET, &access, Some(&writer), None).await;
    assert_eq!((code, error_of(&b).1), (401, "UNAUTHENTICATED"));
}

#[tokio::test]
async fn secrets_versions_and_access() {
    use reqwest::Method as M;
    let f = fake().await;
    f.grant(&service_account_principal(SA), "proj-a", Access::Write);
    let t = f.token_for(&service_account_principal(SA));
    let t = Some(t.as_str());
    let create = |id: &str| sm(&f, &format!("projects/proj-a/secrets?secretId={id}"));
    // Global secrets need a replication policy.
    let (code, b) = call(M::POST, &create("db"), t, Some(json!({}))).await;
    assert_eq!((code, error_of(&b).1), (400, "INVALID_ARGUMENT"));
    let (code, b) = call(
        M::POST,
        &create("bad.id"),
        t,
        Some(json!({"replication": {"automatic": {}}})),
    )
    .await;
    assert_eq!((code, error_of(&b).1), (400, "INVALID_ARGUMENT"), "{b}");
    let (code, b) = call(
        M::POST,
        &create("db"),
        t,
        Some(json!({"replication": {"automatic": {}}, "labels": {"Env": "x"}})),
    )
    .await;
    assert_eq!(
        (code, error_of(&b).1),
        (400, "INVALID_ARGUMENT"),
        "upper-case label key: {b}"
    );
    let (code, b) = call(
        M::POST,
        &create("db"),
        t,
        Some(json!({"replication": {"automatic": {}}, "labels": {"env": "prod"}, "annotations": {"owner/team": "Payments Team"}})),
    )
    .await;
    assert_eq!(code, 200, "{b}");
    // Names carry the project number.
    assert_eq!(b["name"], format!("projects/{NUM}/secrets/db"));
    assert_eq!(b["labels"], json!({"env": "prod"}));
    assert_eq!(b["annotations"], json!({"owner/team": "Payments Team"}));
    assert!(b["etag"].is_string() && b["createTime"].is_string());
    let (code, b) = call(
        M::POST,
        &create("db"),
        t,
        Some(json!({"replication": {"automatic": {}}})),
    )
    .await;
    assert_eq!((code, error_of(&b).1), (409, "ALREADY_EXISTS"));

    // No versions yet.
    let latest = sm(&f, "projects/proj-a/secrets/db/versions/latest:access");
    let (code, b) = call(M::GET, &latest, t, None).await;
    assert_eq!((code, error_of(&b).1), (404, "NOT_FOUND"));
    let add = sm(&f, "projects/proj-a/secrets/db:addVersion");
    let (code, b) = call(M::POST, &add, t, Some(json!({"payload": {}}))).await;
    assert_eq!(
        (code, error_of(&b).1),
        (400, "INVALID_ARGUMENT"),
        "empty payload"
    );
    let (code, b) = call(
        M::POST,
        &add,
        t,
        Some(json!({"payload": {"data": STANDARD.encode("x"), "dataCrc32c": "1"}})),
    )
    .await;
    assert_eq!(
        (code, error_of(&b).1),
        (400, "INVALID_ARGUMENT"),
        "bad checksum"
    );
    for v in ["s3cret-1", "s3cret-2", "s3cret-3"] {
        let (code, b) = call(M::POST, &add, t, Some(payload(v))).await;
        assert_eq!(code, 200, "{b}");
        assert_eq!(b["state"], "ENABLED");
    }
    let (code, b) = call(M::GET, &latest, t, None).await;
    assert_eq!(code, 200);
    assert_eq!(b["name"], format!("projects/{NUM}/secrets/db/versions/3"));
    assert_eq!(
        STANDARD
            .decode(b["payload"]["data"].as_str().unwrap())
            .unwrap(),
        b"s3cret-3"
    );
    // Known CRC32C test vector: "123456789" → 0xE3069283.
    f.put_secret("proj-a", None, "crc", &[], &[], &[b"123456789"]);
    let (_, b) = call(
        M::GET,
        &sm(&f, "projects/proj-a/secrets/crc/versions/1:access"),
        t,
        None,
    )
    .await;
    assert_eq!(
        b["payload"]["dataCrc32c"],
        json!(0xE306_9283u32.to_string())
    );
    let (code, b) = call(
        M::GET,
        &sm(&f, "projects/proj-a/secrets/db/versions/1:access"),
        t,
        None,
    )
    .await;
    assert_eq!(
        (
            code,
            STANDARD
                .decode(b["payload"]["data"].as_str().unwrap())
                .unwrap()
        ),
        (200, b"s3cret-1".to_vec())
    );
    let (code, b) = call(
        M::GET,
        &sm(&f, "projects/proj-a/secrets/db/versions/9:access"),
        t,
        None,
    )
    .await;
    assert_eq!((code, error_of(&b).1), (404, "NOT_FOUND"));
    let (code, b) = call(
        M::GET,
        &sm(&f, "projects/proj-a/secrets/nope/versions/latest:access"),
        t,
        None,
    )
    .await;
    assert_eq!((code, error_of(&b).1), (404, "NOT_FOUND"));
    // A disabled latest version cannot be accessed: FAILED_PRECONDITION.
    let (code, b) = call(
        M::POST,
        &sm(&f, "projects/proj-a/secrets/db/versions/3:disable"),
        t,
        Some(json!({})),
    )
    .await;
    assert_eq!((code, b["state"].as_str()), (200, Some("DISABLED")));
    let (code, b) = call(M::GET, &latest, t, None).await;
    assert_eq!(
        (code, error_of(&b)),
        (400, (400, "FAILED_PRECONDITION")),
        "{b}"
    );
    // Versions list newest first, filterable by state.
    let (code, b) = call(
        M::GET,
        &sm(
            &f,
            "projects/proj-a/secrets/db/versions?filter=state:ENABLED",
        ),
        t,
        None,
    )
    .await;
    assert_eq!(code, 200);
    let names: Vec<&str> = b["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            format!("projects/{NUM}/secrets/db/versions/2"),
            format!("projects/{NUM}/secrets/db/versions/1")
        ]
    );

    // Patch labels/annotations with an update mask; etags guard deletes.
    let get = sm(&f, "projects/proj-a/secrets/db");
    let (code, b) = call(M::PATCH, &get, t, Some(json!({"labels": {"env": "dev"}}))).await;
    assert_eq!(
        (code, error_of(&b).1),
        (400, "INVALID_ARGUMENT"),
        "no updateMask"
    );
    let (code, b) = call(
        M::PATCH,
        &format!("{get}?updateMask=labels"),
        t,
        Some(json!({"labels": {"env": "dev"}, "annotations": {"ignored": "x"}})),
    )
    .await;
    assert_eq!(code, 200, "{b}");
    assert_eq!(b["labels"], json!({"env": "dev"}));
    assert_eq!(
        b["annotations"],
        json!({"owner/team": "Payments Team"}),
        "only masked fields change"
    );
    let (code, b) = call(M::DELETE, &format!("{get}?etag=%22stale%22"), t, None).await;
    assert_eq!((code, error_of(&b).1), (409, "ABORTED"));
    let (code, _) = call(M::DELETE, &get, t, None).await;
    assert_eq!(code, 200);
    let (code, b) = call(M::GET, &get, t, None).await;
    assert_eq!((code, error_of(&b).1), (404, "NOT_FOUND"));
}

#[tokio::test]
async fn list_filters_and_pages() {
    use reqwest::Method as M;
    let f = fake().await;
    f.grant(&service_account_principal(SA), "proj-a", Access::Read);
    let t = f.token_for(&service_account_principal(SA));
    for i in 0..7 {
        let env = if i % 2 == 0 { "prod" } else { "dev" };
        f.put_secret(
            "proj-a",
            None,
            &format!("app-{i}"),
            &[("env", env), ("team", "a")],
            &[],
            &[b"v"],
        );
    }
    f.put_secret("proj-a", None, "other", &[("env", "prod")], &[], &[b"v"]);
    f.put_secret(
        "proj-a",
        Some("europe-west1"),
        "regional",
        &[("env", "prod")],
        &[],
        &[b"v"],
    );
    let list = |q: &str| sm(&f, &format!("projects/proj-a/secrets?{q}"));
    let names = |b: &Value| -> Vec<String> {
        b["secrets"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|s| {
                        s["name"]
                            .as_str()
                            .unwrap()
                            .rsplit('/')
                            .next()
                            .unwrap()
                            .to_string()
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    let table: Vec<(&str, Vec<&str>)> = vec![
        (
            "filter=labels.env%3Dprod",
            vec!["app-0", "app-2", "app-4", "app-6", "other"],
        ),
        (
            "filter=labels.env%3Dprod%20labels.team%3Da",
            vec!["app-0", "app-2", "app-4", "app-6"],
        ),
        (
            "filter=labels.env%3Dprod%20AND%20name%3Aother",
            vec!["other"],
        ),
        (
            "filter=labels.team%3A*",
            vec![
                "app-0", "app-1", "app-2", "app-3", "app-4", "app-5", "app-6",
            ],
        ),
        ("filter=NOT%20labels.team%3A*", vec!["other"]),
        ("filter=name%3Aapp-1", vec!["app-1"]),
        ("filter=labels.env%3Dstaging", vec![]),
    ];
    for (q, want) in table {
        let (code, b) = call(M::GET, &list(q), Some(&t), None).await;
        assert_eq!(code, 200, "{q}: {b}");
        assert_eq!(names(&b), want, "{q}");
    }
    let (code, b) = call(
        M::GET,
        &list("filter=labels.env%3Dprod%20OR%20x"),
        Some(&t),
        None,
    )
    .await;
    assert_eq!((code, error_of(&b).1), (400, "INVALID_ARGUMENT"));
    let (code, b) = call(M::GET, &list("filter=bogus%3Dx"), Some(&t), None).await;
    assert_eq!((code, error_of(&b).1), (400, "INVALID_ARGUMENT"));
    // Paging: pageSize bounds each answer, nextPageToken continues, totalSize counts all.
    let mut seen = Vec::new();
    let mut token = String::new();
    let mut pages = 0;
    loop {
        let (code, b) = call(
            M::GET,
            &list(&format!("pageSize=3&pageToken={token}")),
            Some(&t),
            None,
        )
        .await;
        assert_eq!(code, 200);
        assert_eq!(b["totalSize"], 8);
        seen.extend(names(&b));
        pages += 1;
        match b["nextPageToken"].as_str() {
            Some(n) => token = n.to_string(),
            None => break,
        }
    }
    assert_eq!((pages, seen.len()), (3, 8));
    let (code, b) = call(M::GET, &list("pageToken=garbage"), Some(&t), None).await;
    assert_eq!((code, error_of(&b).1), (400, "INVALID_ARGUMENT"));
    // The server picks the page size when none is asked for.
    f.set_default_page_size(5);
    let (_, b) = call(M::GET, &list(""), Some(&t), None).await;
    assert_eq!((names(&b).len(), b["nextPageToken"].is_string()), (5, true));
    // Regional secrets live under locations/* only.
    let (_, b) = call(
        M::GET,
        &sm(&f, "projects/proj-a/locations/europe-west1/secrets"),
        Some(&t),
        None,
    )
    .await;
    assert_eq!(
        b["secrets"][0]["name"],
        format!("projects/{NUM}/locations/europe-west1/secrets/regional")
    );
    assert!(b["secrets"][0].get("replication").is_none());
    let (code, b) = call(
        M::GET,
        &sm(
            &f,
            "projects/proj-a/locations/europe-west1/secrets/regional/versions/latest:access",
        ),
        Some(&t),
        None,
    )
    .await;
    assert_eq!(code, 200, "{b}");
    let (code, _) = call(
        M::GET,
        &sm(&f, "projects/proj-a/secrets/regional"),
        Some(&t),
        None,
    )
    .await;
    assert_eq!(code, 404);
    let (_, b) = call(
        M::GET,
        &sm(&f, "projects/proj-a/locations/us-east1/secrets"),
        Some(&t),
        None,
    )
    .await;
    assert_eq!(b, json!({}), "empty lists omit their fields");
}

#[tokio::test]
async fn regional_secrets_take_no_replication() {
    use reqwest::Method as M;
    let f = fake().await;
    f.grant(&service_account_principal(SA), "proj-a", Access::Write);
    let t = f.token_for(&service_account_principal(SA));
    let url = sm(
        &f,
        "projects/proj-a/locations/europe-west1/secrets?secretId=r",
    );
    let (code, b) = call(
        M::POST,
        &url,
        Some(&t),
        Some(json!({"replication": {"automatic": {}}})),
    )
    .await;
    assert_eq!((code, error_of(&b).1), (400, "INVALID_ARGUMENT"));
    let (code, b) = call(M::POST, &url, Some(&t), Some(json!({}))).await;
    assert_eq!(code, 200, "{b}");
    assert_eq!(
        b["name"],
        format!("projects/{NUM}/locations/europe-west1/secrets/r")
    );
    f.set_version_state(
        "proj-a",
        Some("europe-west1"),
        "r",
        1,
        VersionState::Disabled,
    );
}

const EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const ACCESS: &str = "urn:ietf:params:oauth:token-type:access_token";
const JWT: &str = "urn:ietf:params:oauth:token-type:jwt";

#[tokio::test]
async fn sts_exchanges_kubernetes_tokens_for_gke_workload_identity_and_federation() {
    let f = fake().await;
    let cluster = TokenIssuer::new("https://kubernetes.default.svc").unwrap();
    let stranger = TokenIssuer::new("https://kubernetes.default.svc").unwrap();
    let provider = f.trust_gke_cluster(
        "proj-a",
        "europe-west1",
        "c1",
        cluster.issuer(),
        cluster.public_key_der(),
    );
    let pool = "proj-a.svc.id.goog";
    let gke_aud = format!("identitynamespace:{pool}:{provider}");
    let sts = format!("{}/v1/token", f.url());
    let issue = |iss: &TokenIssuer, aud: &str, secs: i64| {
        iss.issue("team-a", "eso", "uid", &[aud.to_string()], secs, None)
            .unwrap()
            .0
    };
    let now = chrono::Utc::now().timestamp();
    let expired = cluster
        .issue_at(
            now - 7200,
            "team-a",
            "eso",
            "uid",
            &[pool.to_string()],
            600,
            None,
        )
        .unwrap()
        .0;
    let good = issue(&cluster, pool, 600);
    let forged = issue(&stranger, pool, 600);
    let wrong_aud = issue(&cluster, "vault", 600);
    let table: Vec<(&str, &str, &str, &str, &str, u16, &str)> = vec![
        ("gke ok", EXCHANGE, &gke_aud, &good, JWT, 200, ""),
        (
            "forged signature",
            EXCHANGE,
            &gke_aud,
            &forged,
            JWT,
            400,
            "invalid_grant",
        ),
        (
            "expired",
            EXCHANGE,
            &gke_aud,
            &expired,
            JWT,
            400,
            "invalid_grant",
        ),
        (
            "token audience",
            EXCHANGE,
            &gke_aud,
            &wrong_aud,
            JWT,
            400,
            "invalid_grant",
        ),
        (
            "unknown provider",
            EXCHANGE,
            "identitynamespace:proj-a.svc.id.goog:https://container.googleapis.com/v1/projects/proj-a/locations/x/clusters/y",
            &good,
            JWT,
            400,
            "invalid_target",
        ),
        (
            "wrong grant",
            JWT_BEARER,
            &gke_aud,
            &good,
            JWT,
            400,
            "invalid_request",
        ),
        (
            "wrong subject type",
            EXCHANGE,
            &gke_aud,
            &good,
            ACCESS,
            400,
            "invalid_request",
        ),
        (
            "no subject",
            EXCHANGE,
            &gke_aud,
            "",
            JWT,
            400,
            "invalid_request",
        ),
    ];
    for (what, grant, aud, subject, subject_type, status, error) in table {
        let (code, b) = post_form(
            &sts,
            &[
                ("grant_type", grant),
                ("audience", aud),
                ("scope", CLOUD_PLATFORM_SCOPE),
                ("requested_token_type", ACCESS),
                ("subject_token", subject),
                ("subject_token_type", subject_type),
            ],
        )
        .await;
        assert_eq!(code, status, "{what}: {b}");
        if status == 200 {
            assert_eq!(b["issued_token_type"], ACCESS);
            assert_eq!(b["token_type"], "Bearer");
        } else {
            assert_eq!(b["error"], error, "{what}: {b}");
        }
    }
    // The STS token acts as the Kubernetes service account's principal.
    let (_, b) = post_form(
        &sts,
        &[
            ("grant_type", EXCHANGE),
            ("audience", &gke_aud),
            ("scope", CLOUD_PLATFORM_SCOPE),
            ("requested_token_type", ACCESS),
            ("subject_token", &good),
            ("subject_token_type", JWT),
        ],
    )
    .await;
    let federated = b["access_token"].as_str().unwrap().to_string();
    f.put_secret("proj-a", None, "db", &[], &[], &[b"v"]);
    let access = sm(&f, "projects/proj-a/secrets/db/versions/latest:access");
    let (code, _) = call(reqwest::Method::GET, &access, Some(&federated), None).await;
    assert_eq!(code, 403);
    f.grant(
        &gke_principal(NUM, "proj-a", "team-a", "eso"),
        "proj-a",
        Access::Read,
    );
    let (code, _) = call(reqwest::Method::GET, &access, Some(&federated), None).await;
    assert_eq!(code, 200);

    // JSON body (the REST reference's encoding) with camelCase fields, WIF audience.
    let wif_aud = f.add_wif_provider(
        NUM,
        "pool",
        "k8s",
        cluster.issuer(),
        cluster.public_key_der(),
        &[],
    );
    let wif_token = issue(&cluster, &format!("https:{wif_aud}"), 600);
    let r = http()
        .post(&sts)
        .json(&json!({"grantType": EXCHANGE, "audience": wif_aud, "scope": CLOUD_PLATFORM_SCOPE, "requestedTokenType": ACCESS, "subjectToken": wif_token, "subjectTokenType": JWT}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let b: Value = r.json().await.unwrap();
    let wif = b["access_token"].as_str().unwrap().to_string();
    // The default allowed audience is the provider's with an https: prefix.
    let (code, b) = post_form(
        &sts,
        &[
            ("grant_type", EXCHANGE),
            ("audience", &wif_aud),
            ("scope", CLOUD_PLATFORM_SCOPE),
            ("requested_token_type", ACCESS),
            ("subject_token", &issue(&cluster, "other", 600)),
            ("subject_token_type", JWT),
        ],
    )
    .await;
    assert_eq!((code, b["error"].as_str()), (400, Some("invalid_grant")));

    // Impersonation through IAM Credentials needs a grant on the target account.
    let target = "gsa@proj-a.iam.gserviceaccount.com";
    let gen_url = format!(
        "{}/v1/projects/-/serviceAccounts/{target}:generateAccessToken",
        f.url()
    );
    let body = json!({"scope": [CLOUD_PLATFORM_SCOPE]});
    let (code, b) = call(
        reqwest::Method::POST,
        &gen_url,
        Some(&wif),
        Some(body.clone()),
    )
    .await;
    assert_eq!((code, error_of(&b).1), (403, "PERMISSION_DENIED"));
    f.allow_impersonation(
        &wif_principal(
            &format!("projects/{NUM}/locations/global/workloadIdentityPools/pool"),
            "system:serviceaccount:team-a:eso",
        ),
        target,
    );
    let (code, b) = call(reqwest::Method::POST, &gen_url, Some(&wif), Some(json!({}))).await;
    assert_eq!(
        (code, error_of(&b).1),
        (400, "INVALID_ARGUMENT"),
        "scope is required"
    );
    let (code, b) = call(
        reqwest::Method::POST,
        &gen_url,
        Some(&wif),
        Some(body.clone()),
    )
    .await;
    assert_eq!(code, 200, "{b}");
    assert!(b["expireTime"].as_str().unwrap().ends_with('Z'));
    let impersonated = b["accessToken"].as_str().unwrap().to_string();
    f.grant(&service_account_principal(target), "proj-a", Access::Read);
    let (code, _) = call(reqwest::Method::GET, &access, Some(&impersonated), None).await;
    assert_eq!(code, 200);
    let (code, _) = call(reqwest::Method::POST, &gen_url, None, Some(body)).await;
    assert_eq!(code, 401);
}

#[tokio::test]
async fn metadata_server_needs_its_flavor_header() {
    let f = fake().await;
    let url = format!(
        "{}/computeMetadata/v1/instance/service-accounts/default/token",
        f.url()
    );
    let r = http()
        .get(&url)
        .header("Metadata-Flavor", "Google")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 404, "no identity configured");
    f.set_metadata_identity(SA, "proj-a");
    let r = http().get(&url).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 403);
    let r = http()
        .get(&url)
        .header("Metadata-Flavor", "Google")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let b: Value = r.json().await.unwrap();
    assert_eq!(b["token_type"], "Bearer");
    let r = http()
        .get(format!("{}/computeMetadata/v1/project/project-id", f.url()))
        .header("Metadata-Flavor", "Google")
        .send()
        .await
        .unwrap();
    assert_eq!(r.text().await.unwrap(), "proj-a");
}
