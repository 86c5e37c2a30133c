//! Token services: OAuth 2.0 JWT-bearer grant, STS token exchange, IAM Credentials
//! `generateAccessToken`, and the metadata server's default-account token.

use std::collections::BTreeMap;

use aws_lc_rs::signature::{RSA_PKCS1_2048_8192_SHA256, UnparsedPublicKey};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use super::{
    FakeState, TrustedIssuer, WifTrust, gke_principal, google_error, google_error_status,
    json_response, now, service_account_principal, wif_principal,
};

const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
const TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const ACCESS_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";
const JWT_TYPES: [&str; 2] = [
    "urn:ietf:params:oauth:token-type:jwt",
    "urn:ietf:params:oauth:token-type:id_token",
];
const AWS_TYPE: &str = "urn:ietf:params:aws:token-type:aws4_request";
const GOOGLE_TOKEN_URI: &str = "https://oauth2.googleapis.com/token";

/// OAuth's error body (RFC 6749 §5.2), which Google's token endpoints use.
fn oauth_error(code: StatusCode, error: &str, description: &str) -> Response {
    (
        code,
        [("content-type", "application/json; charset=utf-8")],
        json!({"error": error, "error_description": description}).to_string(),
    )
        .into_response()
}

fn form(body: &[u8]) -> BTreeMap<String, String> {
    form_urlencoded::parse(body).into_owned().collect()
}

fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"))
}

/// A compact JWS split and decoded: (header, claims, signing input, signature).
fn decode_jwt(token: &str) -> Option<(Value, Value, String, Vec<u8>)> {
    let parts: Vec<&str> = token.split('.').collect();
    let [h, p, s] = parts.as_slice() else {
        return None;
    };
    let header = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(h).ok()?).ok()?;
    let claims = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(p).ok()?).ok()?;
    let sig = URL_SAFE_NO_PAD.decode(s).ok()?;
    Some((header, claims, format!("{h}.{p}"), sig))
}

fn audiences(claims: &Value) -> Vec<String> {
    match &claims["aud"] {
        Value::String(a) => vec![a.clone()],
        Value::Array(a) => a
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    }
}

/// `POST /token`: a service account's signed assertion for an access token.
pub(super) fn oauth_token(
    s: &mut FakeState,
    method: &Method,
    headers: &HeaderMap,
    body: &[u8],
) -> Response {
    s.count("Token");
    if method != Method::POST {
        return oauth_error(
            StatusCode::METHOD_NOT_ALLOWED,
            "invalid_request",
            "Method not allowed",
        );
    }
    if !is_form(headers) {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Invalid Content-Type: expected application/x-www-form-urlencoded",
        );
    }
    let params = form(body);
    let grant = params.get("grant_type").map(String::as_str).unwrap_or("");
    if grant != JWT_BEARER {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            &format!("Invalid grant_type: {grant}"),
        );
    }
    let Some(assertion) = params.get("assertion") else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Missing required parameter: assertion",
        );
    };
    let Some((header, claims, signed, sig)) = decode_jwt(assertion) else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "Invalid JWT: could not decode the assertion",
        );
    };
    if header["alg"] != "RS256" {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "Invalid JWT: unsupported signing algorithm",
        );
    }
    let iss = claims["iss"].as_str().unwrap_or_default();
    let Some(key) = s.keys.get(iss) else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "Invalid grant: account not found",
        );
    };
    if header
        .get("kid")
        .and_then(Value::as_str)
        .is_some_and(|k| k != key.key_id)
    {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "Invalid JWT Signature.",
        );
    }
    if UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, &key.public_key)
        .verify(signed.as_bytes(), &sig)
        .is_err()
    {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "Invalid JWT Signature.",
        );
    }
    let own_uri = headers
        .get("host")
        .and_then(|h| h.to_str().ok())
        .map(|h| format!("http://{h}/token"))
        .unwrap_or_default();
    let aud = audiences(&claims);
    if !aud.iter().any(|a| a == GOOGLE_TOKEN_URI || *a == own_uri) {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "Invalid JWT: Failed audience check.",
        );
    }
    let (iat, exp) = (claims["iat"].as_i64(), claims["exp"].as_i64());
    let t = now();
    let timely = match (iat, exp) {
        (Some(iat), Some(exp)) => exp > iat && exp - iat <= 3600 && exp > t && iat <= t + 300,
        _ => false,
    };
    if !timely {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim.",
        );
    }
    if claims["scope"].as_str().is_none_or(str::is_empty) {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            "Invalid OAuth scope or ID token audience provided.",
        );
    }
    let (token, expires_in) = s.issue_token(&service_account_principal(iss));
    json_response(json!({"access_token": token, "expires_in": expires_in, "token_type": "Bearer"}))
}

/// Checks a subject token against the issuer a provider trusts; returns its claims.
fn verify_subject(token: &str, trust: &TrustedIssuer) -> Result<Value, String> {
    let (header, claims, signed, sig) = decode_jwt(token).ok_or("Unable to parse the ID Token.")?;
    if header["alg"] != "RS256" {
        return Err("The ID Token's signing algorithm is not supported.".into());
    }
    if claims["iss"].as_str() != Some(trust.issuer.as_str()) {
        return Err(format!(
            "The issuer in ID Token {} does not match the expected ones: {}.",
            claims["iss"].as_str().unwrap_or_default(),
            trust.issuer
        ));
    }
    UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, &trust.public_key_spki)
        .verify(signed.as_bytes(), &sig)
        .map_err(|_| "Invalid ID Token signature.".to_string())?;
    if claims["exp"].as_i64().is_none_or(|e| e <= now()) {
        return Err("The ID Token has expired.".into());
    }
    Ok(claims)
}

/// `POST /v1/token` (Security Token Service): RFC 8693 token exchange.
pub(super) fn sts_token(
    s: &mut FakeState,
    method: &Method,
    headers: &HeaderMap,
    body: &[u8],
) -> Response {
    s.count("ExchangeToken");
    if method != Method::POST {
        return google_error(StatusCode::NOT_FOUND, "Method not found.");
    }
    // STS takes the form encoding of RFC 8693 and the JSON encoding of its REST reference.
    let params: BTreeMap<String, String> = if is_form(headers) {
        form(body)
    } else {
        match serde_json::from_slice::<BTreeMap<String, Value>>(body) {
            Ok(m) => m
                .into_iter()
                .filter_map(|(k, v)| {
                    let snake = k.chars().fold(String::new(), |mut acc, c| {
                        if c.is_ascii_uppercase() {
                            acc.push('_');
                            acc.push(c.to_ascii_lowercase());
                        } else {
                            acc.push(c);
                        }
                        acc
                    });
                    v.as_str().map(|v| (snake, v.to_string()))
                })
                .collect(),
            Err(_) => {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "Invalid JSON payload received.",
                );
            }
        }
    };
    let get = |k: &str| params.get(k).map(String::as_str).unwrap_or("");
    if get("grant_type") != TOKEN_EXCHANGE {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Invalid value for \"grant_type\".",
        );
    }
    if get("requested_token_type") != ACCESS_TOKEN_TYPE {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Invalid value for \"requested_token_type\".",
        );
    }
    let subject_type = get("subject_token_type");
    if !JWT_TYPES.contains(&subject_type) && subject_type != AWS_TYPE {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Invalid value for \"subject_token_type\".",
        );
    }
    let subject = get("subject_token");
    if subject.is_empty() {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "The subject token is missing.",
        );
    }
    let audience = get("audience");
    let principal = if let Some(rest) = audience.strip_prefix("identitynamespace:") {
        if subject_type == AWS_TYPE {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "Invalid value for \"subject_token_type\".",
            );
        }
        let Some((pool, provider)) = rest.split_once(':') else {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_target",
                "The target service indicated by the \"audience\" parameters is invalid.",
            );
        };
        let Some(trust) = s.gke_clusters.get(provider) else {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_target",
                "The target service indicated by the \"audience\" parameters is invalid.",
            );
        };
        let project = provider
            .strip_prefix("https://container.googleapis.com/v1/projects/")
            .and_then(|r| r.split('/').next())
            .unwrap_or_default()
            .to_string();
        if pool != format!("{project}.svc.id.goog") {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_target",
                "The target service indicated by the \"audience\" parameters is invalid.",
            );
        }
        let claims = match verify_subject(subject, trust) {
            Ok(c) => c,
            Err(e) => return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", &e),
        };
        if !audiences(&claims).iter().any(|a| a == pool) {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_grant",
                "The audience in ID Token does not match the expected audience.",
            );
        }
        let sub = claims["sub"].as_str().unwrap_or_default();
        let Some((ns, sa)) = sub
            .strip_prefix("system:serviceaccount:")
            .and_then(|r| r.split_once(':'))
        else {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_grant",
                "The subject is not a Kubernetes service account.",
            );
        };
        let Some(number) = s.projects.get(&project).copied() else {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_target",
                "The target service indicated by the \"audience\" parameters is invalid.",
            );
        };
        gke_principal(number, &project, ns, sa)
    } else if let Some(provider) = s.wif_providers.get(audience) {
        let subject_name = match (&provider.trust, subject_type == AWS_TYPE) {
            (
                WifTrust::Oidc {
                    trust,
                    allowed_audiences,
                },
                false,
            ) => {
                let claims = match verify_subject(subject, trust) {
                    Ok(c) => c,
                    Err(e) => return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", &e),
                };
                if !audiences(&claims)
                    .iter()
                    .any(|a| allowed_audiences.contains(a))
                {
                    return oauth_error(
                        StatusCode::BAD_REQUEST,
                        "invalid_grant",
                        "The audience in ID Token does not match the expected audience.",
                    );
                }
                claims["sub"].as_str().unwrap_or_default().to_string()
            }
            (WifTrust::Aws { account_id }, true) => {
                match super::aws::verify(s, subject, audience, account_id) {
                    Ok(arn) => arn,
                    Err(e) => return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", &e),
                }
            }
            _ => {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "The subject_token_type does not match the workload identity pool provider type.",
                );
            }
        };
        wif_principal(&provider.pool, &subject_name)
    } else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_target",
            "The target service indicated by the \"audience\" parameters is invalid. This might either be because the pool or provider is disabled or deleted or because it doesn't exist.",
        );
    };
    let (token, expires_in) = s.issue_token(&principal);
    json_response(json!({
        "access_token": token,
        "issued_token_type": ACCESS_TOKEN_TYPE,
        "token_type": "Bearer",
        "expires_in": expires_in
    }))
}

/// `POST /v1/projects/-/serviceAccounts/EMAIL:generateAccessToken`.
pub(super) fn generate_access_token(
    s: &mut FakeState,
    method: &Method,
    headers: &HeaderMap,
    email: &str,
    body: &[u8],
) -> Response {
    s.count("GenerateAccessToken");
    if method != Method::POST {
        return google_error(StatusCode::NOT_FOUND, "Method not found.");
    }
    let caller = match s.authenticate(headers) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let Ok(req) = serde_json::from_slice::<Value>(body) else {
        return google_error(StatusCode::BAD_REQUEST, "Invalid JSON payload received.");
    };
    let scopes = req["scope"].as_array().cloned().unwrap_or_default();
    if scopes.is_empty() {
        return google_error(StatusCode::BAD_REQUEST, "Scope required.");
    }
    if !s
        .impersonation
        .contains(&(caller.clone(), email.to_string()))
    {
        return google_error_status(
            StatusCode::FORBIDDEN,
            "PERMISSION_DENIED",
            "Permission 'iam.serviceAccounts.getAccessToken' denied on resource (or it may not exist).",
        );
    }
    // Without the iam.allowServiceAccountCredentialLifetimeExtension policy, at most 1 hour.
    let requested = match req["lifetime"].as_str() {
        None => None,
        Some(l) => match l.strip_suffix('s').and_then(|n| n.parse::<i64>().ok()) {
            Some(n) if (1..=3600).contains(&n) => Some(n),
            _ => {
                return google_error(
                    StatusCode::BAD_REQUEST,
                    "The lifetime must be a duration of at most 3600s.",
                );
            }
        },
    };
    let (token, lifetime) = s.issue_token(&service_account_principal(email));
    let lifetime = lifetime_override(s, &token, requested).unwrap_or(lifetime);
    let expire = chrono::Utc::now() + chrono::Duration::seconds(lifetime);
    json_response(json!({
        "accessToken": token,
        "expireTime": expire.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    }))
}

/// `GET /computeMetadata/v1/...`: only with `Metadata-Flavor: Google`, like the real server.
pub(super) fn metadata(s: &mut FakeState, headers: &HeaderMap, path: &str) -> Response {
    s.count("Metadata");
    if headers.get("metadata-flavor").and_then(|v| v.to_str().ok()) != Some("Google") {
        return (
            StatusCode::FORBIDDEN,
            "Missing required header \"Metadata-Flavor\": \"Google\"\n",
        )
            .into_response();
    }
    if let Some(name) = path.strip_prefix("instance/attributes/") {
        return match s.metadata_attributes.get(name) {
            Some(v) => (StatusCode::OK, v.clone()).into_response(),
            None => (StatusCode::NOT_FOUND, "not found\n").into_response(),
        };
    }
    if path == "project/project-id"
        && let Some(p) = s.metadata_project.clone()
    {
        return (StatusCode::OK, p).into_response();
    }
    let Some((email, project)) = s.metadata_identity.clone() else {
        return (StatusCode::NOT_FOUND, "not found\n").into_response();
    };
    match path {
        "instance/service-accounts/default/token" => {
            let (token, expires_in) = s.issue_token(&service_account_principal(&email));
            json_response(
                json!({"access_token": token, "expires_in": expires_in, "token_type": "Bearer"}),
            )
        }
        "instance/service-accounts/default/email" => (StatusCode::OK, email).into_response(),
        "project/project-id" => (StatusCode::OK, project).into_response(),
        _ => (StatusCode::NOT_FOUND, "not found\n").into_response(),
    }
}

/// Shortens a token just issued to the requested lifetime; returns it.
fn lifetime_override(s: &mut FakeState, token: &str, requested: Option<i64>) -> Option<i64> {
    let l = requested?;
    if let Some(t) = s.tokens.get_mut(token) {
        t.expires = now() + l;
    }
    Some(l)
}
