//! Table tests of the Google fake's federation parts against their public documentation:
//! SigV4 (AWS's signature test suite), STS's check of AWS `GetCallerIdentity` subject tokens,
//! the EC2 instance metadata service, external token URLs, impersonation lifetimes and the GKE
//! metadata attributes.

mod fake_gcp_support;

use fake_gcp_support::*;
use serde_json::{Value, json};
use tests::fakes::gcp::{Access, amz_date_now, aws_subject_token, sigv4_sign, wif_principal};

/// Credentials, region, service and time of AWS's signature test suite.
const SUITE_SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
const SUITE_DATE: &str = "20150830T123600Z";
const SUITE_TOKEN: &str = "AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA==";

/// (suite case, method, query, extra header, expected signed headers, expected signature)
type SuiteCase<'a> = (
    &'a str,
    &'a str,
    &'a str,
    Option<(&'a str, &'a str)>,
    &'a str,
    &'a str,
);

#[test]
fn sigv4_signer_reproduces_aws_signature_test_suite() {
    let host = ("host", "example.amazonaws.com");
    let date = ("x-amz-date", SUITE_DATE);
    // (suite case, method, query, extra header, expected signed headers, expected signature):
    // the expected values are the suite's published header-signature.txt files.
    let cases: [SuiteCase; 5] = [
        (
            "get-vanilla",
            "GET",
            "",
            None,
            "host;x-amz-date",
            "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
        ),
        (
            "post-vanilla",
            "POST",
            "",
            None,
            "host;x-amz-date",
            "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b",
        ),
        (
            "post-vanilla-query",
            "POST",
            "Param1=value1",
            None,
            "host;x-amz-date",
            "28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11",
        ),
        (
            "get-vanilla-query-order-key-case",
            "GET",
            "Param2=value2&Param1=value1",
            None,
            "host;x-amz-date",
            "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500",
        ),
        (
            "post-sts-header-before",
            "POST",
            "",
            Some(("X-Amz-Security-Token", SUITE_TOKEN)),
            "host;x-amz-date;x-amz-security-token",
            "85d96828115b5dc0cfc3bd16ad9e210dd772bbebba041836c64533a82be05ead",
        ),
    ];
    for (name, method, query, extra, signed, signature) in cases {
        let mut headers = vec![host, date];
        headers.extend(extra);
        let got = sigv4_sign(
            SUITE_SECRET,
            SUITE_DATE,
            "us-east-1",
            "service",
            method,
            "/",
            query,
            &headers,
        );
        assert_eq!(got, (signed.to_string(), signature.to_string()), "{name}");
    }
}

const ACCOUNT: &str = "123456789012";
const KEY_ID: &str = "AKIAFEDERATED1";
const SECRET: &str = "fed-secret/KEY+value";
const ARN: &str = "arn:aws:iam::123456789012:user/ci";
const AWS_TYPE: &str = "urn:ietf:params:aws:token-type:aws4_request";
const TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const ACCESS_TOKEN: &str = "urn:ietf:params:oauth:token-type:access_token";
const VERIFY_URL: &str =
    "https://sts.eu-west-1.amazonaws.com?Action=GetCallerIdentity&Version=2011-06-15";

async fn exchange(
    f: &tests::fakes::gcp::FakeGcp,
    audience: &str,
    token: &str,
    kind: &str,
) -> (u16, Value) {
    post_form(
        &format!("{}/v1/token", f.url()),
        &[
            ("grant_type", TOKEN_EXCHANGE),
            ("audience", audience),
            ("scope", tests::fakes::gcp::CLOUD_PLATFORM_SCOPE),
            ("requested_token_type", ACCESS_TOKEN),
            ("subject_token", token),
            ("subject_token_type", kind),
        ],
    )
    .await
}

/// Re-serializes a token after `edit` changed its decoded JSON.
fn edited(token: &str, edit: impl FnOnce(&mut Value)) -> String {
    let decoded: String = form_urlencoded::parse(format!("t={token}").as_bytes())
        .next()
        .unwrap()
        .1
        .into_owned();
    let mut v: Value = serde_json::from_str(&decoded).unwrap();
    edit(&mut v);
    form_urlencoded::byte_serialize(v.to_string().as_bytes()).collect()
}

#[tokio::test]
async fn sts_checks_aws_get_caller_identity_subject_tokens() {
    let f = fake().await;
    let audience = f.add_aws_wif_provider(NUM, "aws-pool", "aws", ACCOUNT);
    f.add_aws_key(KEY_ID, SECRET, None, ARN);
    f.add_aws_key("AKIASESSION", SECRET, Some("sess-tok"), ARN);
    f.add_aws_key(
        "AKIAOTHERACCT",
        SECRET,
        None,
        "arn:aws:iam::999999999999:user/x",
    );
    let oidc = f.add_wif_provider(NUM, "k8s", "sim", "https://issuer", b"not-a-key", &[]);
    let now = amz_date_now();
    let good = aws_subject_token(
        KEY_ID,
        SECRET,
        None,
        "eu-west-1",
        VERIFY_URL,
        &audience,
        &now,
    );

    // A documented token is exchanged; the ARN is the subject.
    let (code, body) = exchange(&f, &audience, &good, AWS_TYPE).await;
    assert_eq!(code, 200, "{body}");
    let token = body["access_token"].as_str().unwrap().to_string();
    let pool = format!("projects/{NUM}/locations/global/workloadIdentityPools/aws-pool");
    f.grant(&wif_principal(&pool, ARN), "proj-a", Access::Read);
    let (code, _) = call(
        reqwest::Method::GET,
        &sm(&f, "projects/proj-a/secrets"),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(code, 200);
    // The target resource may carry the https: prefix; session tokens are signed in.
    let https = aws_subject_token(
        KEY_ID,
        SECRET,
        None,
        "eu-west-1",
        VERIFY_URL,
        &format!("https:{audience}"),
        &now,
    );
    assert_eq!(exchange(&f, &audience, &https, AWS_TYPE).await.0, 200);
    let session = aws_subject_token(
        "AKIASESSION",
        SECRET,
        Some("sess-tok"),
        "eu-west-1",
        VERIFY_URL,
        &audience,
        &now,
    );
    assert_eq!(exchange(&f, &audience, &session, AWS_TYPE).await.0, 200);
    let global = aws_subject_token(
        KEY_ID,
        SECRET,
        None,
        "us-east-1",
        "https://sts.amazonaws.com?Action=GetCallerIdentity&Version=2011-06-15",
        &audience,
        &now,
    );
    assert_eq!(exchange(&f, &audience, &global, AWS_TYPE).await.0, 200);

    let stale = (chrono::Utc::now() - chrono::Duration::minutes(20))
        .format("%Y%m%dT%H%M%SZ")
        .to_string();
    // An unsigned target header: signed without it, then added.
    let unsigned_target = edited(
        &aws_subject_token(KEY_ID, SECRET, None, "eu-west-1", VERIFY_URL, "", &now),
        |v| {
            v["headers"]
                .as_array_mut()
                .unwrap()
                .push(json!({"key": "x-goog-cloud-target-resource", "value": audience}));
        },
    );
    let cases: Vec<(&str, String, &str, &str, &str)> = vec![
        (
            "wrong secret key",
            aws_subject_token(
                KEY_ID,
                "other",
                None,
                "eu-west-1",
                VERIFY_URL,
                &audience,
                &now,
            ),
            AWS_TYPE,
            "invalid_grant",
            "signature",
        ),
        (
            "unknown access key",
            aws_subject_token(
                "AKIANOBODY",
                SECRET,
                None,
                "eu-west-1",
                VERIFY_URL,
                &audience,
                &now,
            ),
            AWS_TYPE,
            "invalid_grant",
            "security token",
        ),
        (
            "session token not sent",
            aws_subject_token(
                "AKIASESSION",
                SECRET,
                None,
                "eu-west-1",
                VERIFY_URL,
                &audience,
                &now,
            ),
            AWS_TYPE,
            "invalid_grant",
            "security token",
        ),
        (
            "another provider as target",
            aws_subject_token(KEY_ID, SECRET, None, "eu-west-1", VERIFY_URL, &oidc, &now),
            AWS_TYPE,
            "invalid_grant",
            "target-resource",
        ),
        (
            "no target header",
            aws_subject_token(KEY_ID, SECRET, None, "eu-west-1", VERIFY_URL, "", &now),
            AWS_TYPE,
            "invalid_grant",
            "x-goog-cloud-target-resource",
        ),
        (
            "target header not signed",
            unsigned_target,
            AWS_TYPE,
            "invalid_grant",
            "required headers",
        ),
        (
            "signed 20 minutes ago",
            aws_subject_token(
                KEY_ID,
                SECRET,
                None,
                "eu-west-1",
                VERIFY_URL,
                &audience,
                &stale,
            ),
            AWS_TYPE,
            "invalid_grant",
            "expired",
        ),
        (
            "GET instead of POST",
            edited(&good, |v| v["method"] = json!("GET")),
            AWS_TYPE,
            "invalid_grant",
            "POST",
        ),
        (
            "not AWS STS",
            aws_subject_token(
                KEY_ID,
                SECRET,
                None,
                "eu-west-1",
                "https://sts.evil.example.com?Action=GetCallerIdentity&Version=2011-06-15",
                &audience,
                &now,
            ),
            AWS_TYPE,
            "invalid_grant",
            "not an AWS STS endpoint",
        ),
        (
            "another action",
            aws_subject_token(
                KEY_ID,
                SECRET,
                None,
                "eu-west-1",
                "https://sts.eu-west-1.amazonaws.com?Action=AssumeRole&Version=2011-06-15",
                &audience,
                &now,
            ),
            AWS_TYPE,
            "invalid_grant",
            "GetCallerIdentity",
        ),
        (
            "region of the scope differs from the URL",
            aws_subject_token(
                KEY_ID,
                SECRET,
                None,
                "us-west-2",
                VERIFY_URL,
                &audience,
                &now,
            ),
            AWS_TYPE,
            "invalid_grant",
            "credential scope",
        ),
        (
            "caller of another AWS account",
            aws_subject_token(
                "AKIAOTHERACCT",
                SECRET,
                None,
                "eu-west-1",
                VERIFY_URL,
                &audience,
                &now,
            ),
            AWS_TYPE,
            "invalid_grant",
            "account",
        ),
        (
            "not a serialized request",
            "eyJhbGciOiJSUzI1NiJ9.e30.sig".to_string(),
            AWS_TYPE,
            "invalid_grant",
            "invalid format",
        ),
        (
            "JWT token type for an AWS provider",
            good.clone(),
            "urn:ietf:params:oauth:token-type:jwt",
            "invalid_request",
            "provider type",
        ),
    ];
    for (what, token, kind, error, description) in cases {
        let (code, body) = exchange(&f, &audience, &token, kind).await;
        assert_eq!(code, 400, "{what}: {body}");
        assert_eq!(body["error"], error, "{what}: {body}");
        let d = body["error_description"].as_str().unwrap_or_default();
        assert!(d.contains(description), "{what}: {d}");
    }
    // An AWS token for an OIDC provider.
    let (code, body) = exchange(&f, &oidc, &good, AWS_TYPE).await;
    assert_eq!(
        (code, body["error"].as_str()),
        (400, Some("invalid_request"))
    );
}

#[tokio::test]
async fn instance_metadata_service_v1_and_v2() {
    let f = fake().await;
    f.add_aws_key(
        "AKIAINSTANCE",
        SECRET,
        Some("inst-tok"),
        "arn:aws:sts::123456789012:assumed-role/r/i-1",
    );
    let base = f.url();
    let get = |path: &str, token: Option<&str>| {
        let mut rb = http().get(format!("{base}/latest/{path}"));
        if let Some(t) = token {
            rb = rb.header("X-aws-ec2-metadata-token", t);
        }
        async move {
            let r = rb.send().await.unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        }
    };
    // No instance: nothing there.
    assert_eq!(
        get("meta-data/placement/availability-zone", None).await.0,
        404
    );
    f.set_aws_instance("eu-west-1b", "eso-role", "AKIAINSTANCE", true);
    // IMDSv2 only: a session token is needed, and it must be one the service issued.
    assert_eq!(
        get("meta-data/placement/availability-zone", None).await.0,
        401
    );
    assert_eq!(
        get("meta-data/placement/availability-zone", Some("made-up"))
            .await
            .0,
        401
    );
    let put = |ttl: Option<&str>| {
        let mut rb = http().put(format!("{base}/latest/api/token"));
        if let Some(t) = ttl {
            rb = rb.header("X-aws-ec2-metadata-token-ttl-seconds", t);
        }
        async move {
            let r = rb.send().await.unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        }
    };
    assert_eq!(put(None).await.0, 400);
    assert_eq!(put(Some("0")).await.0, 400);
    let (code, session) = put(Some("300")).await;
    assert_eq!(code, 200);
    let t = Some(session.as_str());
    assert_eq!(
        get("meta-data/placement/availability-zone", t).await,
        (200, "eu-west-1b".into())
    );
    assert_eq!(
        get("meta-data/iam/security-credentials", t).await,
        (200, "eso-role".into())
    );
    let (code, creds) = get("meta-data/iam/security-credentials/eso-role", t).await;
    assert_eq!(code, 200);
    let creds: Value = serde_json::from_str(&creds).unwrap();
    assert_eq!(creds["AccessKeyId"], "AKIAINSTANCE");
    assert_eq!(creds["SecretAccessKey"], SECRET);
    assert_eq!(creds["Token"], "inst-tok");
    assert_eq!(
        get("meta-data/iam/security-credentials/other", t).await.0,
        404
    );
    // IMDSv1 allowed: plain GETs work.
    f.set_aws_instance("eu-west-1b", "eso-role", "AKIAINSTANCE", false);
    assert_eq!(
        get("meta-data/placement/availability-zone", None).await.0,
        200
    );
}

#[tokio::test]
async fn external_tokens_metadata_attributes_and_impersonation_lifetimes() {
    let f = fake().await;
    let url = f.serve_external_token(
        "azure",
        Some(("Metadata", "True")),
        r#"{"access_token":"ext"}"#,
    );
    let r = http().get(&url).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 401);
    let r = http()
        .get(&url)
        .header("Metadata", "True")
        .send()
        .await
        .unwrap();
    assert_eq!(r.text().await.unwrap(), r#"{"access_token":"ext"}"#);
    assert_eq!(
        http()
            .get(format!("{}/external/none", f.url()))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
        404
    );

    // GKE attributes and the project, with the flavor header only.
    f.set_metadata_attribute("cluster-name", "c1");
    f.set_metadata_project("proj-a");
    let md = |path: &str| {
        let rb = http()
            .get(format!("{}/computeMetadata/v1/{path}", f.url()))
            .header("Metadata-Flavor", "Google");
        async move {
            let r = rb.send().await.unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        }
    };
    assert_eq!(
        md("instance/attributes/cluster-name").await,
        (200, "c1".into())
    );
    assert_eq!(md("instance/attributes/cluster-location").await.0, 404);
    assert_eq!(md("project/project-id").await, (200, "proj-a".into()));

    // generateAccessToken: lifetime up to one hour, honoured in expireTime.
    let caller = "principal://caller";
    let gsa = "gsa@proj-a.iam.gserviceaccount.com";
    f.allow_impersonation(caller, gsa);
    let bearer = f.token_for(caller);
    let generate = sm(
        &f,
        &format!("projects/-/serviceAccounts/{gsa}:generateAccessToken"),
    );
    let (code, body) = call(
        reqwest::Method::POST,
        &generate,
        Some(&bearer),
        Some(json!({"scope": [tests::fakes::gcp::CLOUD_PLATFORM_SCOPE], "lifetime": "7200s"})),
    )
    .await;
    assert_eq!((code, error_of(&body).1), (400, "INVALID_ARGUMENT"));
    let (code, body) = call(
        reqwest::Method::POST,
        &generate,
        Some(&bearer),
        Some(json!({"scope": [tests::fakes::gcp::CLOUD_PLATFORM_SCOPE], "lifetime": "1200s"})),
    )
    .await;
    assert_eq!(code, 200, "{body}");
    let expire =
        chrono::DateTime::parse_from_rfc3339(body["expireTime"].as_str().unwrap()).unwrap();
    let left = (expire.with_timezone(&chrono::Utc) - chrono::Utc::now()).num_seconds();
    assert!((1100..=1200).contains(&left), "{left}");
}
