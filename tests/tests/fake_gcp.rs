//! Table tests of the Google fake's token services, written from Google's documentation
//! (OAuth 2.0 for service accounts, STS token exchange, IAM Credentials, metadata server)
//! before any provider uses them.

mod fake_gcp_support;

use fake_gcp_support::*;
use serde_json::{Value, json};
use tests::fakes::gcp::{
    Access, CLOUD_PLATFORM_SCOPE, gke_principal, service_account_principal, wif_principal,
};
use tests::sim::tokens::TokenIssuer;

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
