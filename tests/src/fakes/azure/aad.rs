//! Microsoft identity platform: the v2.0 token endpoint (client credentials) and IMDS.

use std::time::{Duration, Instant};

use aws_lc_rs::signature::{RSA_PKCS1_2048_8192_SHA256, RsaPublicKeyComponents};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::Response;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use super::{ClientCredential, State, Token, json_response, query, query_get};

pub const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
pub const FEDERATED_AUDIENCE: &str = "api://AzureADTokenExchange";

fn aad_error(status: StatusCode, error: &str, code: u32, description: &str) -> Response {
    json_response(
        status,
        json!({
            "error": error,
            "error_description": format!("AADSTS{code}: {description}"),
            "error_codes": [code],
            "timestamp": chrono::Utc::now().format("%Y-%m-%d %H:%M:%SZ").to_string(),
            "trace_id": uuid::Uuid::new_v4().to_string(),
            "correlation_id": uuid::Uuid::new_v4().to_string(),
        }),
    )
}

fn missing(param: &str) -> Response {
    aad_error(
        StatusCode::BAD_REQUEST,
        "invalid_request",
        900144,
        &format!("The request body must contain the following parameter: '{param}'."),
    )
}

fn issue(st: &mut State, client_id: &str, resource: &str) -> (String, u64) {
    let token = format!("fake-aad.{}", uuid::Uuid::new_v4().simple());
    let lifetime = st.token_lifetime;
    st.tokens.insert(
        token.clone(),
        Token {
            client_id: client_id.into(),
            resource: resource.into(),
            expires: Instant::now() + lifetime,
        },
    );
    (token, lifetime.as_secs())
}

/// `POST /{tenant}/oauth2/v2.0/token`.
pub fn token(
    st: &mut State,
    method: &Method,
    path: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Response {
    if method != Method::POST {
        return aad_error(
            StatusCode::METHOD_NOT_ALLOWED,
            "invalid_request",
            900561,
            "The endpoint only accepts POST requests.",
        );
    }
    let tenant = path
        .trim_start_matches('/')
        .split('/')
        .next()
        .unwrap_or_default();
    if tenant != st.tenant {
        return aad_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            90002,
            &format!(
                "Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud."
            ),
        );
    }
    let form_ok = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !form_ok {
        return missing("grant_type");
    }
    let form: Vec<(String, String)> = form_urlencoded::parse(body).into_owned().collect();
    let get = |k: &str| query_get(&form, k).filter(|v| !v.is_empty());
    let Some(grant) = get("grant_type") else {
        return missing("grant_type");
    };
    if grant != "client_credentials" {
        return aad_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            70003,
            &format!("The app requested an unsupported grant type '{grant}'."),
        );
    }
    let Some(client_id) = get("client_id") else {
        return missing("client_id");
    };
    let Some(scope) = get("scope") else {
        return missing("scope");
    };
    let Some(resource) = scope.strip_suffix("/.default").filter(|r| !r.contains(' ')) else {
        return aad_error(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            1002012,
            &format!(
                "The provided value for scope {scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI)."
            ),
        );
    };
    let Some(creds) = st.clients.get(client_id).cloned() else {
        return aad_error(
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
            700016,
            &format!(
                "Application with identifier '{client_id}' was not found in the directory '{}'.",
                st.tenant
            ),
        );
    };
    let endpoint = format!("{}{path}", st.base);
    let verdict = match (get("client_secret"), get("client_assertion")) {
        (Some(secret), None) => {
            if creds
                .iter()
                .any(|c| matches!(c, ClientCredential::Secret(s) if s == secret))
            {
                Ok(())
            } else {
                Err(aad_error(
                    StatusCode::UNAUTHORIZED,
                    "invalid_client",
                    7000215,
                    "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app.",
                ))
            }
        }
        (None, Some(assertion)) => {
            if get("client_assertion_type") != Some(ASSERTION_TYPE) {
                Err(aad_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    90014,
                    "The required field 'client_assertion_type' is missing from the credential. Ensure that you have all the necessary parameters for the login request.",
                ))
            } else {
                check_assertion(&creds, client_id, assertion, &endpoint)
            }
        }
        (Some(_), Some(_)) => Err(aad_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            7000218,
            "The request body must contain only one of 'client_assertion' or 'client_secret'.",
        )),
        (None, None) => Err(aad_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            7000218,
            "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
        )),
    };
    if let Err(r) = verdict {
        return r;
    }
    let (token, secs) = issue(st, client_id, resource);
    json_response(
        StatusCode::OK,
        json!({"token_type": "Bearer", "expires_in": secs, "ext_expires_in": secs, "access_token": token}),
    )
}

struct Jwt {
    header: Value,
    claims: Value,
    signing_input: String,
    signature: Vec<u8>,
}

fn parse_jwt(s: &str) -> Option<Jwt> {
    let mut parts = s.split('.');
    let (h, c, sig) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let header = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(h).ok()?).ok()?;
    let claims = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(c).ok()?).ok()?;
    Some(Jwt {
        header,
        claims,
        signing_input: format!("{h}.{c}"),
        signature: URL_SAFE_NO_PAD.decode(sig).ok()?,
    })
}

fn rs256_ok(jwt: &Jwt, n: &[u8], e: &[u8]) -> bool {
    jwt.header["alg"] == "RS256"
        && RsaPublicKeyComponents { n, e }
            .verify(
                &RSA_PKCS1_2048_8192_SHA256,
                jwt.signing_input.as_bytes(),
                &jwt.signature,
            )
            .is_ok()
}

fn aud_contains(claims: &Value, want: &str) -> bool {
    match &claims["aud"] {
        Value::String(s) => s == want,
        Value::Array(a) => a.iter().any(|v| v == want),
        _ => false,
    }
}

fn time_ok(claims: &Value) -> bool {
    let now = chrono::Utc::now().timestamp();
    let exp_ok = claims["exp"].as_i64().is_some_and(|e| e > now);
    let nbf_ok = claims["nbf"].as_i64().is_none_or(|n| n <= now + 300);
    exp_ok && nbf_ok
}

fn invalid_client(code: u32, description: &str) -> Response {
    aad_error(
        StatusCode::UNAUTHORIZED,
        "invalid_client",
        code,
        description,
    )
}

fn check_assertion(
    creds: &[ClientCredential],
    client_id: &str,
    assertion: &str,
    endpoint: &str,
) -> Result<(), Response> {
    let Some(jwt) = parse_jwt(assertion) else {
        return Err(invalid_client(50027, "JWT token is invalid or malformed."));
    };
    if let Some(x5t) = jwt.header["x5t"].as_str() {
        let thumb = URL_SAFE_NO_PAD.decode(x5t).unwrap_or_default();
        let Some((n, e)) = creds.iter().find_map(|c| match c {
            ClientCredential::Certificate { thumbprint, n, e } if *thumbprint == thumb => {
                Some((n, e))
            }
            _ => None,
        }) else {
            return Err(invalid_client(
                700027,
                &format!(
                    "The certificate with identifier used to sign the client assertion is not registered on application. [Reason - The key was not found., Thumbprint of key used by client: '{}']",
                    hex::encode_upper(&thumb)
                ),
            ));
        };
        if !rs256_ok(&jwt, n, e) {
            return Err(invalid_client(
                700027,
                "Client assertion contains an invalid signature.",
            ));
        }
        if jwt.claims["iss"] != client_id || jwt.claims["sub"] != client_id {
            return Err(invalid_client(
                700021,
                "Client assertion application identifier doesn't match 'client_id' parameter.",
            ));
        }
        if !aud_contains(&jwt.claims, endpoint) {
            return Err(invalid_client(
                700212,
                &format!(
                    "No matching federated identity record found for presented assertion audience '{}'.",
                    jwt.claims["aud"]
                ),
            ));
        }
        if !time_ok(&jwt.claims) || jwt.claims["jti"].as_str().is_none_or(str::is_empty) {
            return Err(invalid_client(
                700024,
                "Client assertion is not within its valid time range.",
            ));
        }
        return Ok(());
    }
    let iss = jwt.claims["iss"].as_str().unwrap_or_default();
    let sub = jwt.claims["sub"].as_str().unwrap_or_default();
    let record = creds.iter().find_map(|c| match c {
        ClientCredential::Federated {
            issuer,
            subject,
            jwks,
        } if issuer == iss && subject == sub && aud_contains(&jwt.claims, FEDERATED_AUDIENCE) => {
            Some(jwks)
        }
        _ => None,
    });
    let Some(jwks) = record else {
        return Err(aad_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            70021,
            &format!(
                "No matching federated identity record found for presented assertion. Assertion Issuer: '{iss}'. Assertion Subject: '{sub}'. Assertion Audience: '{}'.",
                jwt.claims["aud"]
            ),
        ));
    };
    let kid = jwt.header["kid"].as_str().unwrap_or_default();
    let verified = jwks["keys"].as_array().into_iter().flatten().any(|k| {
        k["kid"] == kid && {
            let n = URL_SAFE_NO_PAD
                .decode(k["n"].as_str().unwrap_or_default())
                .unwrap_or_default();
            let e = URL_SAFE_NO_PAD
                .decode(k["e"].as_str().unwrap_or_default())
                .unwrap_or_default();
            rs256_ok(&jwt, &n, &e)
        }
    });
    if !verified {
        return Err(invalid_client(
            5002738,
            "Invalid JWT token. The token signature could not be verified with the issuer's keys.",
        ));
    }
    if !time_ok(&jwt.claims) {
        return Err(invalid_client(
            700024,
            "Client assertion is not within its valid time range.",
        ));
    }
    Ok(())
}

fn imds_error(description: &str) -> Response {
    json_response(
        StatusCode::BAD_REQUEST,
        json!({"error": "invalid_request", "error_description": description}),
    )
}

/// `GET /metadata/identity/oauth2/token` (IMDS, API version 2018-02-01 and later).
pub fn imds(st: &mut State, method: &Method, uri: &Uri, headers: &HeaderMap) -> Response {
    if method != Method::GET {
        return json_response(
            StatusCode::METHOD_NOT_ALLOWED,
            json!({"error": "invalid_request", "error_description": "Only GET is supported"}),
        );
    }
    if headers.get("metadata").and_then(|v| v.to_str().ok()) != Some("true") {
        return imds_error("Required metadata header not specified");
    }
    let q = query(uri);
    if query_get(&q, "api-version").is_none_or(str::is_empty) {
        return imds_error("Required query variable 'api-version' is missing");
    }
    let Some(resource) = query_get(&q, "resource").filter(|r| !r.is_empty()) else {
        return imds_error("Required query variable 'resource' is missing");
    };
    let resource = resource.trim_end_matches('/').to_string();
    let client_id = match query_get(&q, "client_id").filter(|c| !c.is_empty()) {
        Some(id) => {
            if !st.identities.iter().any(|i| i.as_deref() == Some(id)) {
                return imds_error("Identity not found");
            }
            id.to_string()
        }
        None => {
            let users: Vec<&String> = st.identities.iter().flatten().collect();
            if st.identities.iter().any(Option::is_none) {
                st.system_identity_client.clone()
            } else if users.len() == 1 {
                users[0].clone()
            } else if users.is_empty() {
                return imds_error("Identity not found");
            } else {
                return imds_error(
                    "Multiple user assigned identities exist, please specify the clientId / resourceId of the identity in the token request",
                );
            }
        }
    };
    let (token, secs) = issue(st, &client_id, &resource);
    let now = chrono::Utc::now().timestamp();
    let expires_on = now + Duration::from_secs(secs).as_secs() as i64;
    json_response(
        StatusCode::OK,
        json!({
            "access_token": token,
            "client_id": client_id,
            "expires_in": secs.to_string(),
            "expires_on": expires_on.to_string(),
            "ext_expires_in": secs.to_string(),
            "not_before": now.to_string(),
            "resource": resource,
            "token_type": "Bearer",
        }),
    )
}
