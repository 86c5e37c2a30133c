//! AWS as a Workload Identity Federation identity provider, written from Google's "Configure
//! Workload Identity Federation with AWS" and AWS's Signature Version 4 documentation:
//!
//! * STS's check of an `urn:ietf:params:aws:token-type:aws4_request` subject token: the
//!   URL-encoded JSON of a signed `POST` to AWS STS `GetCallerIdentity` (`url`, `method`,
//!   `headers[{key, value}]`), whose `x-goog-cloud-target-resource` header (signed) names the
//!   pool provider, and whose SigV4 signature is checked here with the keys the test registered
//!   (where Google would forward the request to AWS). The caller's ARN becomes the subject.
//! * The EC2 instance metadata service paths Google's libraries read (IMDSv1 and v2).
//!
//! The signer is an independent implementation of SigV4 (HMAC-SHA256 from aws-lc-rs), checked
//! against AWS's published signature test suite by the table tests.

use std::collections::BTreeMap;

use aws_lc_rs::{digest, hmac};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::{FakeState, json_response, now, percent_decode};

/// Keys of an AWS principal the fake knows (as AWS would).
pub(crate) struct AwsPrincipal {
    pub secret_access_key: String,
    pub session_token: Option<String>,
    pub arn: String,
}

/// An EC2 instance whose metadata service the fake plays.
pub(crate) struct AwsInstance {
    pub availability_zone: String,
    pub role: String,
    pub access_key_id: String,
    pub require_session_token: bool,
    pub session_tokens: Vec<String>,
}

fn hex_sha256(data: &[u8]) -> String {
    hex::encode(digest::digest(&digest::SHA256, data))
}

fn hmac_sha256(key: &[u8], data: &[u8]) -> Vec<u8> {
    hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), data)
        .as_ref()
        .to_vec()
}

/// RFC 3986 encoding of SigV4 (unreserved characters kept, upper-case hex).
fn uri_encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The canonical query string: pairs sorted by encoded key, then value.
fn canonical_query(query: &str) -> String {
    let mut pairs: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
        .map(|(k, v)| (uri_encode(&k), uri_encode(&v)))
        .collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// SigV4 of a request with an empty body: `(signed header names, hex signature)`. Every header
/// given is signed (names lower-cased, values trimmed, sorted by name).
#[allow(clippy::too_many_arguments)]
pub fn sigv4_sign(
    secret_access_key: &str,
    amz_date: &str,
    region: &str,
    service: &str,
    method: &str,
    path: &str,
    query: &str,
    headers: &[(&str, &str)],
) -> (String, String) {
    let mut hs: Vec<(String, String)> = headers
        .iter()
        .map(|(k, v)| {
            (
                k.to_ascii_lowercase(),
                v.split_whitespace().collect::<Vec<_>>().join(" "),
            )
        })
        .collect();
    hs.sort();
    let signed = hs
        .iter()
        .map(|(k, _)| k.as_str())
        .collect::<Vec<_>>()
        .join(";");
    let canonical_headers: String = hs.iter().map(|(k, v)| format!("{k}:{v}\n")).collect();
    let path = if path.is_empty() { "/" } else { path };
    let canonical = format!(
        "{method}\n{path}\n{}\n{canonical_headers}\n{signed}\n{}",
        canonical_query(query),
        hex_sha256(b"")
    );
    let date = &amz_date[..amz_date.len().min(8)];
    let scope = format!("{date}/{region}/{service}/aws4_request");
    let to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
        hex_sha256(canonical.as_bytes())
    );
    let mut key = format!("AWS4{secret_access_key}").into_bytes();
    for part in [date, region, service, "aws4_request", to_sign.as_str()] {
        key = hmac_sha256(&key, part.as_bytes());
    }
    (signed, hex::encode(key))
}

/// A subject token as Google documents it: the signed `GetCallerIdentity` `POST` of `url`,
/// URL-encoded JSON. `target` is the `x-goog-cloud-target-resource` header (omitted if empty).
pub fn aws_subject_token(
    access_key_id: &str,
    secret_access_key: &str,
    session_token: Option<&str>,
    region: &str,
    url: &str,
    target: &str,
    amz_date: &str,
) -> String {
    let parsed = reqwest::Url::parse(url).expect("url");
    let host = parsed.host_str().unwrap_or_default().to_string();
    let mut headers: Vec<(&str, &str)> = vec![("host", &host), ("x-amz-date", amz_date)];
    if let Some(t) = session_token {
        headers.push(("x-amz-security-token", t));
    }
    if !target.is_empty() {
        headers.push(("x-goog-cloud-target-resource", target));
    }
    let (signed, signature) = sigv4_sign(
        secret_access_key,
        amz_date,
        region,
        "sts",
        "POST",
        parsed.path(),
        parsed.query().unwrap_or_default(),
        &headers,
    );
    let auth = format!(
        "AWS4-HMAC-SHA256 Credential={access_key_id}/{}/{region}/sts/aws4_request, SignedHeaders={signed}, Signature={signature}",
        &amz_date[..8]
    );
    let mut list: Vec<Value> = headers
        .iter()
        .map(|(k, v)| json!({"key": k, "value": v}))
        .collect();
    list.push(json!({"key": "Authorization", "value": auth}));
    let body = json!({"url": url, "method": "POST", "headers": list}).to_string();
    form_urlencoded::byte_serialize(body.as_bytes()).collect()
}

/// `x-amz-date` of now.
pub fn amz_date_now() -> String {
    chrono::Utc::now().format("%Y%m%dT%H%M%SZ").to_string()
}

const INVALID: &str = "AWS request has invalid format.";

/// Checks an `aws4_request` subject token for the pool provider `audience` of AWS account
/// `account`; returns the caller's ARN.
pub(super) fn verify(
    s: &FakeState,
    token: &str,
    audience: &str,
    account: &str,
) -> Result<String, String> {
    let decoded = percent_decode(token);
    let req: Value = serde_json::from_str(&decoded).map_err(|_| INVALID.to_string())?;
    let url = req["url"].as_str().ok_or(INVALID)?;
    if req["method"].as_str() != Some("POST") {
        return Err("The AWS request must be a POST.".into());
    }
    let parsed = reqwest::Url::parse(url).map_err(|_| INVALID.to_string())?;
    let host = parsed.host_str().unwrap_or_default();
    let not_sts = || "The AWS request URL is not an AWS STS endpoint.".to_string();
    if parsed.scheme() != "https" {
        return Err(not_sts());
    }
    let region = if host == "sts.amazonaws.com" {
        "us-east-1".to_string()
    } else {
        match host
            .strip_prefix("sts.")
            .and_then(|h| h.strip_suffix(".amazonaws.com"))
        {
            Some(r) if !r.is_empty() && !r.contains('.') => r.to_string(),
            _ => return Err(not_sts()),
        }
    };
    let query: BTreeMap<String, String> = parsed.query_pairs().into_owned().collect();
    if query.get("Action").map(String::as_str) != Some("GetCallerIdentity")
        || query.get("Version").map(String::as_str) != Some("2011-06-15")
        || query.len() != 2
    {
        return Err("The AWS request must call GetCallerIdentity (Version 2011-06-15).".into());
    }
    let mut headers: BTreeMap<String, String> = BTreeMap::new();
    for h in req["headers"].as_array().ok_or(INVALID)? {
        let (Some(k), Some(v)) = (h["key"].as_str(), h["value"].as_str()) else {
            return Err(INVALID.into());
        };
        if headers
            .insert(k.to_ascii_lowercase(), v.to_string())
            .is_some()
        {
            return Err(INVALID.into());
        }
    }
    let get = |k: &str| headers.get(k).map(String::as_str);
    if get("host") != Some(host) {
        return Err("The AWS request's host header does not match its URL.".into());
    }
    let target = get("x-goog-cloud-target-resource")
        .ok_or("The AWS request is missing the x-goog-cloud-target-resource header.")?;
    if target != audience && target.strip_prefix("https:") != Some(audience) {
        return Err(
            "The x-goog-cloud-target-resource header does not match the audience.".to_string(),
        );
    }
    let amz_date = get("x-amz-date").ok_or("The AWS request is missing x-amz-date.")?;
    let signed_at = chrono::NaiveDateTime::parse_from_str(amz_date, "%Y%m%dT%H%M%SZ")
        .map_err(|_| INVALID.to_string())?
        .and_utc()
        .timestamp();
    if (now() - signed_at).abs() > 15 * 60 {
        return Err("The AWS request signature has expired.".into());
    }
    let auth = get("authorization").ok_or("The AWS request is not signed.")?;
    let rest = auth
        .strip_prefix("AWS4-HMAC-SHA256 ")
        .ok_or("Unsupported AWS signature algorithm.")?;
    let mut fields: BTreeMap<&str, &str> = BTreeMap::new();
    for part in rest.split(',') {
        let (k, v) = part.trim().split_once('=').ok_or(INVALID)?;
        fields.insert(k, v);
    }
    let (Some(credential), Some(signed_headers), Some(signature)) = (
        fields.get("Credential"),
        fields.get("SignedHeaders"),
        fields.get("Signature"),
    ) else {
        return Err(INVALID.into());
    };
    let scope: Vec<&str> = credential.split('/').collect();
    let [key_id, date, scope_region, service, "aws4_request"] = scope.as_slice() else {
        return Err(INVALID.into());
    };
    if !amz_date.starts_with(date) || *scope_region != region || *service != "sts" {
        return Err("The AWS request's credential scope is wrong.".into());
    }
    let names: Vec<&str> = signed_headers.split(';').collect();
    let mut required = vec!["host", "x-amz-date", "x-goog-cloud-target-resource"];
    if headers.contains_key("x-amz-security-token") {
        required.push("x-amz-security-token");
    }
    if required.iter().any(|r| !names.contains(r)) {
        return Err("The AWS request does not sign all required headers.".into());
    }
    let Some(principal) = s.aws_principals.get(*key_id) else {
        return Err("The security token included in the request is invalid.".into());
    };
    if principal.session_token.as_deref() != get("x-amz-security-token") {
        return Err("The security token included in the request is invalid.".into());
    }
    let mut to_sign = Vec::new();
    for n in &names {
        to_sign.push((*n, get(n).ok_or(INVALID)?));
    }
    let (expected_names, expected) = sigv4_sign(
        &principal.secret_access_key,
        amz_date,
        &region,
        "sts",
        "POST",
        parsed.path(),
        parsed.query().unwrap_or_default(),
        &to_sign,
    );
    if expected_names != *signed_headers || expected != *signature {
        return Err(
            "The request signature we calculated does not match the signature you provided.".into(),
        );
    }
    let arn_account = principal.arn.split(':').nth(4).unwrap_or_default();
    if arn_account != account {
        return Err("The AWS account is not allowed by the provider.".into());
    }
    Ok(principal.arn.clone())
}

fn text(code: StatusCode, body: impl Into<String>) -> Response {
    (code, [("content-type", "text/plain")], body.into()).into_response()
}

/// `/latest/...` of the EC2 instance metadata service.
pub(super) fn metadata(
    s: &mut FakeState,
    method: &Method,
    headers: &HeaderMap,
    path: &str,
) -> Response {
    s.count("AwsMetadata");
    let keys = s
        .aws_instance
        .as_ref()
        .map(|i| i.access_key_id.clone())
        .and_then(|id| s.aws_principals.get(&id).map(|p| (id, p)));
    let Some(instance) = s.aws_instance.as_mut() else {
        return text(StatusCode::NOT_FOUND, "Not Found");
    };
    if path == "api/token" {
        if method != Method::PUT {
            return text(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed");
        }
        let ttl = headers
            .get("x-aws-ec2-metadata-token-ttl-seconds")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u32>().ok());
        if !ttl.is_some_and(|t| (1..=21600).contains(&t)) {
            return text(StatusCode::BAD_REQUEST, "Bad Request");
        }
        let token = format!("imds-{}", uuid::Uuid::new_v4().simple());
        instance.session_tokens.push(token.clone());
        return text(StatusCode::OK, token);
    }
    if method != Method::GET {
        return text(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed");
    }
    let session = headers
        .get("x-aws-ec2-metadata-token")
        .and_then(|v| v.to_str().ok());
    match session {
        Some(t) if !instance.session_tokens.iter().any(|k| k == t) => {
            return text(StatusCode::UNAUTHORIZED, "Unauthorized");
        }
        None if instance.require_session_token => {
            return text(StatusCode::UNAUTHORIZED, "Unauthorized");
        }
        _ => {}
    }
    let creds_prefix = "meta-data/iam/security-credentials";
    match path {
        "meta-data/placement/availability-zone" => {
            text(StatusCode::OK, instance.availability_zone.clone())
        }
        p if p == creds_prefix || p == format!("{creds_prefix}/") => {
            text(StatusCode::OK, instance.role.clone())
        }
        p if p
            .strip_prefix(creds_prefix)
            .and_then(|r| r.strip_prefix('/'))
            == Some(instance.role.as_str()) =>
        {
            let Some((id, p)) = keys else {
                return text(StatusCode::NOT_FOUND, "Not Found");
            };
            json_response(json!({
                "Code": "Success",
                "LastUpdated": chrono::Utc::now().to_rfc3339(),
                "Type": "AWS-HMAC",
                "AccessKeyId": id,
                "SecretAccessKey": p.secret_access_key,
                "Token": p.session_token.clone().unwrap_or_default(),
                "Expiration": (chrono::Utc::now() + chrono::Duration::hours(6)).to_rfc3339(),
            }))
        }
        _ => text(StatusCode::NOT_FOUND, "Not Found"),
    }
}
