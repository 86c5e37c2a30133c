//! Key Vault data plane: secrets, keys, certificates.

use std::collections::BTreeMap;
use std::time::Instant;

use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::{Map, Value, json};

use super::{API_VERSIONS, State, json_response, kv_error, query, query_get};

/// One version of a secret.
#[derive(Clone, Debug)]
pub struct StoredSecret {
    pub version: String,
    pub value: String,
    pub content_type: Option<String>,
    pub tags: BTreeMap<String, String>,
    pub enabled: bool,
    pub created: u64,
    pub updated: u64,
    pub expires: Option<i64>,
    /// Backs a certificate (its lifetime is managed by Key Vault).
    pub managed: bool,
}

/// One version of a key; `jwk` keeps the private parts, which are never returned.
#[derive(Clone, Debug)]
pub struct StoredKey {
    pub version: String,
    pub jwk: Value,
    pub tags: BTreeMap<String, String>,
    pub enabled: bool,
    pub created: u64,
    pub updated: u64,
}

/// One version of a certificate (`cer` is its DER encoding).
#[derive(Clone, Debug)]
pub struct StoredCert {
    pub version: String,
    pub cer: Vec<u8>,
    pub content_type: String,
    pub tags: BTreeMap<String, String>,
    pub enabled: bool,
    pub created: u64,
    pub updated: u64,
}

fn new_version() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

pub(crate) fn store_secret(
    st: &mut State,
    name: &str,
    value: String,
    tags: BTreeMap<String, String>,
    content_type: Option<String>,
) -> StoredSecret {
    let now = st.now();
    let v = StoredSecret {
        version: new_version(),
        value,
        content_type,
        tags,
        enabled: true,
        created: now,
        updated: now,
        expires: None,
        managed: false,
    };
    st.secrets.entry(name.into()).or_default().push(v.clone());
    v
}

pub(crate) fn store_key(st: &mut State, name: &str, jwk: Value, tags: BTreeMap<String, String>) {
    let now = st.now();
    st.keys.entry(name.into()).or_default().push(StoredKey {
        version: new_version(),
        jwk,
        tags,
        enabled: true,
        created: now,
        updated: now,
    });
}

pub(crate) fn store_cert(st: &mut State, name: &str, cer: Vec<u8>, tags: BTreeMap<String, String>) {
    let now = st.now();
    st.certs.entry(name.into()).or_default().push(StoredCert {
        version: new_version(),
        cer,
        content_type: "application/x-pkcs12".into(),
        tags,
        enabled: true,
        created: now,
        updated: now,
    });
}

fn kv_error_inner(status: StatusCode, code: &str, message: &str, inner: &str) -> Response {
    json_response(
        status,
        json!({"error": {"code": code, "message": message, "innererror": {"code": inner}}}),
    )
}

fn bad(message: &str) -> Response {
    kv_error(StatusCode::BAD_REQUEST, "BadParameter", message)
}

fn challenge(st: &State, message: &str) -> Response {
    let header = format!(
        "Bearer authorization=\"{}/{}\", resource=\"{}\"",
        st.base, st.tenant, st.resource
    );
    let mut r = kv_error(StatusCode::UNAUTHORIZED, "Unauthorized", message);
    if let Ok(v) = header.parse() {
        r.headers_mut().insert("www-authenticate", v);
    }
    r
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 127
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// Checks `api-version` and the bearer token, then routes.
pub fn dispatch(
    st: &mut State,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Response {
    let q = query(uri);
    match query_get(&q, "api-version") {
        None | Some("") => {
            st.count("BadRequest");
            return bad(
                "The request URI contains an invalid or missing 'api-version' query parameter.",
            );
        }
        Some(v) if !API_VERSIONS.contains(&v) => {
            st.count("BadRequest");
            return bad(&format!(
                "The specified version ({v}) is not recognized. Consider using the latest supported version ({}).",
                API_VERSIONS[API_VERSIONS.len() - 1]
            ));
        }
        Some(_) => {}
    }
    let bearer = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    let Some(bearer) = bearer else {
        st.count("Unauthorized");
        return challenge(st, "AKV10000: Request is missing a Bearer or PoP token.");
    };
    let Some(token) = st.tokens.get(bearer).cloned() else {
        st.count("Unauthorized");
        return challenge(
            st,
            "AKV10032: Invalid issuer. The token was not issued by this directory.",
        );
    };
    if token.expires <= Instant::now() {
        st.count("Unauthorized");
        return challenge(st, "AKV10032: Token expired.");
    }
    if token.resource != st.resource {
        st.count("Unauthorized");
        return challenge(
            st,
            &format!(
                "AKV10022: Invalid audience. Expected {}, found: {}.",
                st.resource, token.resource
            ),
        );
    }
    if st.denied.contains(&token.client_id) {
        st.count("Forbidden");
        return kv_error_inner(
            StatusCode::FORBIDDEN,
            "Forbidden",
            &format!(
                "The user, group or application 'appid={};' does not have permission to perform this operation on key vault '{}'.",
                token.client_id, st.base
            ),
            "AccessDenied",
        );
    }
    let path = uri.path().trim_matches('/').to_string();
    let segs: Vec<&str> = path.split('/').collect();
    let seg = |i: usize| segs.get(i).copied().unwrap_or_default();
    if segs.len() >= 2 && !valid_name(seg(1)) {
        st.count("BadRequest");
        return bad(&format!(
            "The name '{}' is invalid: object names are 1-127 characters of 0-9, a-z, A-Z and -.",
            seg(1)
        ));
    }
    match (seg(0), segs.len(), method.clone()) {
        ("secrets", 1, Method::GET) => list(st, &q, None),
        ("secrets", 2, Method::GET) => get_secret(st, seg(1), ""),
        ("secrets", 2, Method::PUT) => set_secret(st, seg(1), body),
        ("secrets", 2, Method::DELETE) => delete_secret(st, seg(1)),
        ("secrets", 3, Method::GET) if seg(2) == "versions" => list(st, &q, Some(seg(1))),
        ("secrets", 3, Method::GET) => get_secret(st, seg(1), seg(2)),
        ("secrets", 3, Method::PATCH) => update_secret(st, seg(1), seg(2), body),
        ("keys", 2 | 3, Method::GET) => get_key(st, seg(1), seg(2)),
        ("keys", 2, Method::PUT) => import_key(st, seg(1), body),
        ("keys", 2, Method::DELETE) => delete_key(st, seg(1)),
        ("certificates", 2, Method::GET) => get_cert(st, seg(1), ""),
        ("certificates", 3, Method::POST) if seg(2) == "import" => import_cert(st, seg(1), body),
        ("certificates", 3, Method::GET) => get_cert(st, seg(1), seg(2)),
        ("certificates", 2, Method::DELETE) => delete_cert(st, seg(1)),
        _ => {
            st.count("BadRequest");
            kv_error(
                StatusCode::NOT_FOUND,
                "NotFound",
                &format!("The requested operation {method} /{path} is not supported."),
            )
        }
    }
}

fn attributes(enabled: bool, created: u64, updated: u64, expires: Option<i64>) -> Value {
    let mut a = json!({
        "enabled": enabled,
        "created": created,
        "updated": updated,
        "recoveryLevel": "Recoverable+Purgeable",
        "recoverableDays": 90,
    });
    if let Some(e) = expires {
        a["exp"] = json!(e);
    }
    a
}

fn put_tags(v: &mut Value, tags: &BTreeMap<String, String>) {
    if !tags.is_empty() {
        v["tags"] = json!(tags);
    }
}

fn secret_json(
    base: &str,
    name: &str,
    s: &StoredSecret,
    with_value: bool,
    versioned: bool,
) -> Value {
    let id = if versioned {
        format!("{base}/secrets/{name}/{}", s.version)
    } else {
        format!("{base}/secrets/{name}")
    };
    let mut v =
        json!({"id": id, "attributes": attributes(s.enabled, s.created, s.updated, s.expires)});
    if with_value {
        v["value"] = json!(s.value);
    }
    if let Some(ct) = &s.content_type {
        v["contentType"] = json!(ct);
    }
    if s.managed {
        v["managed"] = json!(true);
        v["kid"] = json!(format!("{base}/keys/{name}/{}", s.version));
    }
    put_tags(&mut v, &s.tags);
    v
}

fn secret_not_found(name: &str, version: &str) -> Response {
    let id = if version.is_empty() {
        name.to_string()
    } else {
        format!("{name}/{version}")
    };
    kv_error(
        StatusCode::NOT_FOUND,
        "SecretNotFound",
        &format!(
            "A secret with (name/id) {id} was not found in this key vault. If you recently deleted this secret you may be able to recover it using the correct recovery command. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182"
        ),
    )
}

fn pick<'a, T>(
    versions: Option<&'a Vec<T>>,
    version: &str,
    id: impl Fn(&T) -> &str,
) -> Option<&'a T> {
    let versions = versions?;
    if version.is_empty() {
        versions.last()
    } else {
        versions.iter().find(|v| id(v) == version)
    }
}

fn get_secret(st: &mut State, name: &str, version: &str) -> Response {
    st.count("GetSecret");
    let Some(s) = pick(st.secrets.get(name), version, |s| &s.version).cloned() else {
        return secret_not_found(name, version);
    };
    if !s.enabled {
        return kv_error_inner(
            StatusCode::FORBIDDEN,
            "Forbidden",
            "Operation get is not allowed on a disabled secret.",
            "SecretDisabled",
        );
    }
    json_response(StatusCode::OK, secret_json(&st.base, name, &s, true, true))
}

fn parse_body(body: &[u8]) -> Result<Map<String, Value>, Response> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => Ok(m),
        _ => Err(bad("The request body is not a valid JSON object.")),
    }
}

fn parse_tags(m: &Map<String, Value>) -> Result<Option<BTreeMap<String, String>>, Response> {
    match m.get("tags") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(t)) => {
            if t.len() > 15 {
                return Err(bad("Too many tags: at most 15 tags are allowed."));
            }
            t.iter()
                .map(|(k, v)| match v {
                    Value::String(s) if k.len() <= 512 && s.len() <= 256 => {
                        Ok((k.clone(), s.clone()))
                    }
                    _ => Err(bad(&format!(
                        "Tag '{k}' must be a string of at most 256 characters."
                    ))),
                })
                .collect::<Result<_, _>>()
                .map(Some)
        }
        Some(_) => Err(bad("'tags' must be an object of string values.")),
    }
}

fn deleted_conflict(kind: &str, name: &str) -> Response {
    kv_error_inner(
        StatusCode::CONFLICT,
        "Conflict",
        &format!(
            "{kind} {name} is currently in a deleted but recoverable state, and its name cannot be reused; in this state, the {} can only be recovered or purged.",
            kind.to_lowercase()
        ),
        "ObjectIsDeletedButRecoverable",
    )
}

fn set_secret(st: &mut State, name: &str, body: &[u8]) -> Response {
    st.count("SetSecret");
    if st.deleted_secrets.contains_key(name) {
        return deleted_conflict("Secret", name);
    }
    let m = match parse_body(body) {
        Ok(m) => m,
        Err(r) => return r,
    };
    let Some(Value::String(value)) = m.get("value") else {
        return bad("The parameter 'value' is required and must be a string.");
    };
    let tags = match parse_tags(&m) {
        Ok(t) => t.unwrap_or_default(),
        Err(r) => return r,
    };
    let content_type = m
        .get("contentType")
        .and_then(Value::as_str)
        .map(str::to_string);
    let mut s = store_secret(st, name, value.clone(), tags, content_type);
    if let Some(a) = m.get("attributes") {
        if let Some(e) = a["enabled"].as_bool() {
            s.enabled = e;
        }
        s.expires = a["exp"].as_i64();
        if let Some(last) = st.secrets.get_mut(name).and_then(|v| v.last_mut()) {
            *last = s.clone();
        }
    }
    json_response(StatusCode::OK, secret_json(&st.base, name, &s, true, true))
}

fn update_secret(st: &mut State, name: &str, version: &str, body: &[u8]) -> Response {
    st.count("UpdateSecret");
    let m = match parse_body(body) {
        Ok(m) => m,
        Err(r) => return r,
    };
    let tags = match parse_tags(&m) {
        Ok(t) => t,
        Err(r) => return r,
    };
    let now = st.now();
    let base = st.base.clone();
    let Some(s) = st.secrets.get_mut(name).and_then(|vs| {
        if version.is_empty() {
            vs.last_mut()
        } else {
            vs.iter_mut().find(|v| v.version == version)
        }
    }) else {
        return secret_not_found(name, version);
    };
    if let Some(t) = tags {
        s.tags = t;
    }
    if let Some(ct) = m.get("contentType").and_then(Value::as_str) {
        s.content_type = Some(ct.into());
    }
    if let Some(e) = m.get("attributes").and_then(|a| a["enabled"].as_bool()) {
        s.enabled = e;
    }
    s.updated = now;
    let s = s.clone();
    json_response(StatusCode::OK, secret_json(&base, name, &s, false, true))
}

fn delete_secret(st: &mut State, name: &str) -> Response {
    st.count("DeleteSecret");
    let Some(versions) = st.secrets.remove(name) else {
        return secret_not_found(name, "");
    };
    let now = st.now();
    let mut v = versions
        .last()
        .map(|s| secret_json(&st.base, name, s, false, true))
        .unwrap_or_else(|| json!({}));
    v["recoveryId"] = json!(format!("{}/deletedsecrets/{name}", st.base));
    v["deletedDate"] = json!(now);
    v["scheduledPurgeDate"] = json!(now + 90 * 86400);
    st.deleted_secrets.insert(name.into(), versions);
    json_response(StatusCode::OK, v)
}

fn list(st: &mut State, q: &[(String, String)], versions_of: Option<&str>) -> Response {
    st.count(if versions_of.is_some() {
        "GetSecretVersions"
    } else {
        "GetSecrets"
    });
    let max = match query_get(q, "maxresults") {
        None => 25,
        Some(m) => match m.parse::<usize>() {
            Ok(n) if (1..=25).contains(&n) => n,
            _ => {
                return bad(&format!(
                    "Invalid value '{m}' for 'maxresults': it must be between 1 and 25."
                ));
            }
        },
    };
    let skip = match query_get(q, "$skiptoken") {
        None => 0,
        Some(t) => match URL_SAFE_NO_PAD
            .decode(t)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .and_then(|s| s.parse::<usize>().ok())
        {
            Some(n) => n,
            None => return bad("The skip token is invalid."),
        },
    };
    let items: Vec<Value> = match versions_of {
        Some(name) => match st.secrets.get(name) {
            None => return secret_not_found(name, ""),
            Some(vs) => vs
                .iter()
                .map(|s| secret_json(&st.base, name, s, false, true))
                .collect(),
        },
        None => st
            .secrets
            .iter()
            .filter_map(|(name, vs)| {
                vs.last()
                    .map(|s| secret_json(&st.base, name, s, false, false))
            })
            .collect(),
    };
    let page = max.min(st.page_size);
    let end = (skip + page).min(items.len());
    let value: Vec<Value> = items
        .get(skip..end)
        .map(<[Value]>::to_vec)
        .unwrap_or_default();
    let next = (end < items.len()).then(|| {
        let path = match versions_of {
            Some(n) => format!("secrets/{n}/versions"),
            None => "secrets".into(),
        };
        let api = query_get(q, "api-version").unwrap_or_default();
        format!(
            "{}/{path}?api-version={api}&$skiptoken={}&maxresults={max}",
            st.base,
            URL_SAFE_NO_PAD.encode(end.to_string())
        )
    });
    json_response(StatusCode::OK, json!({"value": value, "nextLink": next}))
}

fn key_not_found(name: &str, version: &str) -> Response {
    kv_error(
        StatusCode::NOT_FOUND,
        "KeyNotFound",
        &format!(
            "A key with (name/id) {name}{}{version} was not found in this key vault.",
            if version.is_empty() { "" } else { "/" }
        ),
    )
}

fn public_jwk(base: &str, name: &str, k: &StoredKey) -> Value {
    let mut out = json!({"kid": format!("{base}/keys/{name}/{}", k.version)});
    for f in ["kty", "crv", "n", "e", "x", "y"] {
        if let Some(v) = k.jwk.get(f) {
            out[f] = v.clone();
        }
    }
    out["key_ops"] = k.jwk.get("key_ops").cloned().unwrap_or_else(|| {
        if k.jwk["kty"].as_str().unwrap_or_default().starts_with("EC") {
            json!(["sign", "verify"])
        } else {
            json!([
                "encrypt",
                "decrypt",
                "sign",
                "verify",
                "wrapKey",
                "unwrapKey"
            ])
        }
    });
    out
}

fn key_json(base: &str, name: &str, k: &StoredKey) -> Value {
    let mut v = json!({
        "key": public_jwk(base, name, k),
        "attributes": attributes(k.enabled, k.created, k.updated, None),
    });
    put_tags(&mut v, &k.tags);
    v
}

fn get_key(st: &mut State, name: &str, version: &str) -> Response {
    st.count("GetKey");
    match pick(st.keys.get(name), version, |k| &k.version) {
        None => key_not_found(name, version),
        Some(k) => json_response(StatusCode::OK, key_json(&st.base, name, k)),
    }
}

fn import_key(st: &mut State, name: &str, body: &[u8]) -> Response {
    st.count("ImportKey");
    let m = match parse_body(body) {
        Ok(m) => m,
        Err(r) => return r,
    };
    let Some(jwk @ Value::Object(_)) = m.get("key") else {
        return bad("The parameter 'key' is required.");
    };
    let kty = jwk["kty"].as_str().unwrap_or_default();
    let required: &[&str] = match kty {
        "RSA" | "RSA-HSM" => &["n", "e", "d", "p", "q"],
        "EC" | "EC-HSM" => &["crv", "x", "y", "d"],
        _ => {
            return bad(&format!(
                "Invalid key type '{kty}': use RSA, RSA-HSM, EC or EC-HSM."
            ));
        }
    };
    for f in required {
        let ok = jwk[*f]
            .as_str()
            .is_some_and(|s| !s.is_empty() && (*f == "crv" || URL_SAFE_NO_PAD.decode(s).is_ok()));
        if !ok {
            return bad(&format!(
                "Invalid JSON web key: '{f}' is missing or not base64url."
            ));
        }
    }
    let tags = match parse_tags(&m) {
        Ok(t) => t.unwrap_or_default(),
        Err(r) => return r,
    };
    store_key(st, name, jwk.clone(), tags);
    let Some(k) = st.keys.get(name).and_then(|v| v.last()) else {
        return key_not_found(name, "");
    };
    json_response(StatusCode::OK, key_json(&st.base, name, k))
}

fn delete_key(st: &mut State, name: &str) -> Response {
    st.count("DeleteKey");
    match st.keys.remove(name) {
        None => key_not_found(name, ""),
        Some(vs) => {
            let mut v = vs
                .last()
                .map(|k| key_json(&st.base, name, k))
                .unwrap_or_default();
            v["recoveryId"] = json!(format!("{}/deletedkeys/{name}", st.base));
            json_response(StatusCode::OK, v)
        }
    }
}

fn cert_json(base: &str, name: &str, c: &StoredCert) -> Value {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, &c.cer);
    let mut v = json!({
        "id": format!("{base}/certificates/{name}/{}", c.version),
        "kid": format!("{base}/keys/{name}/{}", c.version),
        "sid": format!("{base}/secrets/{name}/{}", c.version),
        "x5t": URL_SAFE_NO_PAD.encode(digest.as_ref()),
        "cer": STANDARD.encode(&c.cer),
        "attributes": attributes(c.enabled, c.created, c.updated, None),
        "policy": {"secret_props": {"contentType": c.content_type}},
    });
    put_tags(&mut v, &c.tags);
    v
}

fn cert_not_found(name: &str) -> Response {
    kv_error(
        StatusCode::NOT_FOUND,
        "CertificateNotFound",
        &format!("A certificate with (name/id) {name} was not found in this key vault."),
    )
}

fn get_cert(st: &mut State, name: &str, version: &str) -> Response {
    st.count("GetCertificate");
    match pick(st.certs.get(name), version, |c| &c.version) {
        None => cert_not_found(name),
        Some(c) => json_response(StatusCode::OK, cert_json(&st.base, name, c)),
    }
}

/// PEM blocks as (label, DER).
pub(crate) fn pem_blocks(text: &str) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("-----BEGIN ") {
        let after = &rest[start + 11..];
        let Some(label_end) = after.find("-----") else {
            break;
        };
        let label = after[..label_end].to_string();
        let body_start = &after[label_end + 5..];
        let end_marker = format!("-----END {label}-----");
        let Some(end) = body_start.find(&end_marker) else {
            break;
        };
        let b64: String = body_start[..end]
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        if let Ok(der) = STANDARD.decode(b64) {
            out.push((label, der));
        }
        rest = &body_start[end + end_marker.len()..];
    }
    out
}

/// The certificate of a PEM import, which must carry its private key as well.
fn pem_certificate(value: &str) -> Result<Vec<u8>, Response> {
    let blocks = pem_blocks(value);
    let Some(cer) = blocks
        .iter()
        .find(|(l, _)| l == "CERTIFICATE")
        .map(|(_, d)| d.clone())
    else {
        return Err(bad(
            "The specified PEM X.509 certificate content can not be read. Please check if certificate is in valid PEM format.",
        ));
    };
    if !blocks.iter().any(|(l, _)| l.ends_with("PRIVATE KEY")) {
        return Err(bad(
            "Private key is not specified in the specified X.509 PEM certificate content. Please specify private key in the X.509 PEM certificate content.",
        ));
    }
    Ok(cer)
}

fn import_cert(st: &mut State, name: &str, body: &[u8]) -> Response {
    st.count("ImportCertificate");
    let m = match parse_body(body) {
        Ok(m) => m,
        Err(r) => return r,
    };
    let Some(Value::String(value)) = m.get("value") else {
        return bad("The parameter 'value' is required.");
    };
    let content_type = m
        .get("policy")
        .and_then(|p| p["secret_props"]["contentType"].as_str())
        .unwrap_or("application/x-pkcs12")
        .to_string();
    // The REST reference: `value` is the base64 PFX (default content type) or the PEM text
    // (application/x-pem-file), either holding the private key; `pwd` opens an encrypted PFX.
    let cer = match content_type.as_str() {
        "application/x-pem-file" => match pem_certificate(value) {
            Ok(cer) => cer,
            Err(r) => return r,
        },
        "application/x-pkcs12" => {
            let pwd = m.get("pwd").and_then(Value::as_str).unwrap_or_default();
            let pfx = STANDARD.decode(value).unwrap_or_default();
            match shared::template::pkcs12_leaf_certificate(&pfx, pwd) {
                Ok(cer) => cer,
                Err(_) => {
                    return bad(
                        "The specified PFX content can not be read or the password is wrong. Please check the PFX content and password.",
                    );
                }
            }
        }
        other => return bad(&format!("Unsupported content type '{other}'.")),
    };
    let tags = match parse_tags(&m) {
        Ok(t) => t.unwrap_or_default(),
        Err(r) => return r,
    };
    store_cert(st, name, cer, tags.clone());
    let version = st.certs.get_mut(name).and_then(|v| v.last_mut()).map(|c| {
        c.content_type = content_type.clone();
        c.version.clone()
    });
    // Key Vault keeps the certificate with its key as a managed secret of the same name.
    let mut s = store_secret(st, name, value.clone(), tags, Some(content_type));
    s.managed = true;
    if let Some(v) = version {
        s.version = v;
    }
    if let Some(last) = st.secrets.get_mut(name).and_then(|v| v.last_mut()) {
        *last = s;
    }
    match st.certs.get(name).and_then(|v| v.last()) {
        Some(c) => json_response(StatusCode::OK, cert_json(&st.base, name, c)),
        None => cert_not_found(name),
    }
}

fn delete_cert(st: &mut State, name: &str) -> Response {
    st.count("DeleteCertificate");
    match st.certs.remove(name) {
        None => cert_not_found(name),
        Some(vs) => {
            st.secrets.remove(name);
            st.keys.remove(name);
            let mut v = vs
                .last()
                .map(|c| cert_json(&st.base, name, c))
                .unwrap_or_default();
            v["recoveryId"] = json!(format!("{}/deletedcertificates/{name}", st.base));
            (
                StatusCode::OK,
                [("content-type", "application/json")],
                v.to_string(),
            )
                .into_response()
        }
    }
}
