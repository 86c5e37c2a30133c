//! ServiceAccount token issuance and review, as recorded in
//! `apiserver-golden/10-serviceaccount-tokens.json`: RS256 JWTs signed by a per-simulator
//! RSA-2048 key, `kid` = base64url(SHA-256(DER SubjectPublicKeyInfo)), the apiserver's claim
//! set, TokenRequest defaults/validation, TokenReview results, the JWKS and OIDC discovery.

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair as RsaKeyPair, KeySize, PublicKeyComponents};
use aws_lc_rs::signature::{KeyPair as _, RSA_PKCS1_2048_8192_SHA256, RSA_PKCS1_SHA256};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::{Map, Value, json};

use crate::sim::schema::errors::{BadValue, FieldError, invalid_status};

/// TokenRequest `expirationSeconds` when none is given.
pub const DEFAULT_EXPIRATION_SECONDS: i64 = 3600;
const MIN_EXPIRATION_SECONDS: i64 = 600;
const MAX_EXPIRATION_SECONDS: i64 = 1 << 32;
/// Clock skew allowed on exp/nbf.
const LEEWAY_SECONDS: i64 = 60;

/// An object a token is bound to (`spec.boundObjectRef`, resolved to its uid).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BoundObject {
    /// `Secret`, `Pod` or `Node`.
    pub kind: String,
    pub name: String,
    pub uid: String,
}

/// The signing key and issuer of one simulator instance. The private key never leaves it.
pub struct TokenIssuer {
    issuer: String,
    key: RsaKeyPair,
    kid: String,
    n: Vec<u8>,
    e: Vec<u8>,
    spki: Vec<u8>,
}

impl std::fmt::Debug for TokenIssuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenIssuer")
            .field("issuer", &self.issuer)
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

/// Who a valid token authenticates as.
#[derive(Clone, Debug, PartialEq)]
pub struct Authenticated {
    /// authentication/v1 UserInfo JSON.
    pub user: Value,
    /// The requested audiences the token is valid for, in request order.
    pub audiences: Vec<String>,
}

/// The apiserver's kid: unpadded base64url of SHA-256 over the DER SubjectPublicKeyInfo.
pub fn kid_for_spki(spki_der: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA256,
        spki_der,
    ))
}

fn der_len(len: usize, out: &mut Vec<u8>) {
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes: Vec<u8> = len
            .to_be_bytes()
            .into_iter()
            .skip_while(|b| *b == 0)
            .collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
}

fn der(tag: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    der_len(body.len(), &mut out);
    out.extend_from_slice(body);
    out
}

fn der_uint(big_endian: &[u8]) -> Vec<u8> {
    let trimmed: Vec<u8> = big_endian.iter().copied().skip_while(|b| *b == 0).collect();
    let mut body = Vec::with_capacity(trimmed.len() + 1);
    if trimmed.first().is_none_or(|b| b & 0x80 != 0) {
        body.push(0);
    }
    body.extend(trimmed);
    der(0x02, &body)
}

/// DER SubjectPublicKeyInfo of an RSA public key given as big-endian modulus and exponent
/// (what Go's `x509.MarshalPKIXPublicKey` produces).
pub fn rsa_spki_der(n: &[u8], e: &[u8]) -> Vec<u8> {
    const RSA_ALGORITHM: [u8; 15] = [
        0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00,
    ];
    let rsa_key = der(0x30, &[der_uint(n), der_uint(e)].concat());
    let mut bits = vec![0u8];
    bits.extend(rsa_key);
    der(0x30, &[RSA_ALGORITHM.to_vec(), der(0x03, &bits)].concat())
}

fn b64url_json(v: &Value) -> String {
    URL_SAFE_NO_PAD.encode(v.to_string())
}

fn go_quoted_list(items: &[String]) -> String {
    let quoted: Vec<String> = items
        .iter()
        .map(|s| crate::sim::admission::client::go_quote(s))
        .collect();
    format!("[{}]", quoted.join(" "))
}

impl TokenIssuer {
    /// A fresh RSA-2048 key for `issuer` (the apiserver's `--service-account-issuer`, which is
    /// also its default API audience).
    pub fn new(issuer: &str) -> Result<Self, String> {
        let key = RsaKeyPair::generate(KeySize::Rsa2048)
            .map_err(|e| format!("RSA key generation failed: {e}"))?;
        let public = key.public_key();
        let n = public.modulus().big_endian_without_leading_zero().to_vec();
        let e = public.exponent().big_endian_without_leading_zero().to_vec();
        let spki = public
            .as_der()
            .map_err(|e| format!("public key encoding failed: {e}"))?
            .as_ref()
            .to_vec();
        Ok(Self {
            issuer: issuer.to_owned(),
            kid: kid_for_spki(&spki),
            key,
            n,
            e,
            spki,
        })
    }

    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The audiences a TokenRequest gets when it names none, and a TokenReview checks against
    /// when it names none.
    pub fn api_audiences(&self) -> Vec<String> {
        vec![self.issuer.clone()]
    }

    /// Issues a token valid from now for `expiration_seconds`; returns it with its `exp`.
    pub fn issue(
        &self,
        namespace: &str,
        sa_name: &str,
        sa_uid: &str,
        audiences: &[String],
        expiration_seconds: i64,
        bound: Option<&BoundObject>,
    ) -> Result<(String, i64), String> {
        let now = chrono::Utc::now().timestamp();
        self.issue_at(
            now,
            namespace,
            sa_name,
            sa_uid,
            audiences,
            expiration_seconds,
            bound,
        )
    }

    /// [`Self::issue`] with an explicit issue time (Unix seconds), for expiry tests.
    #[allow(clippy::too_many_arguments)]
    pub fn issue_at(
        &self,
        now: i64,
        namespace: &str,
        sa_name: &str,
        sa_uid: &str,
        audiences: &[String],
        expiration_seconds: i64,
        bound: Option<&BoundObject>,
    ) -> Result<(String, i64), String> {
        let exp = now + expiration_seconds;
        let mut k8s = Map::new();
        k8s.insert("namespace".into(), namespace.into());
        k8s.insert(
            "serviceaccount".into(),
            json!({"name": sa_name, "uid": sa_uid}),
        );
        if let Some(b) = bound {
            k8s.insert(
                b.kind.to_ascii_lowercase(),
                json!({"name": b.name, "uid": b.uid}),
            );
        }
        let claims = json!({
            "aud": audiences,
            "exp": exp,
            "iat": now,
            "iss": self.issuer,
            "jti": uuid::Uuid::new_v4().to_string(),
            "kubernetes.io": k8s,
            "nbf": now,
            "sub": format!("system:serviceaccount:{namespace}:{sa_name}"),
        });
        let header = json!({"alg": "RS256", "kid": self.kid});
        let signing_input = format!("{}.{}", b64url_json(&header), b64url_json(&claims));
        let mut sig = vec![0u8; self.key.public_modulus_len()];
        self.key
            .sign(
                &RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                signing_input.as_bytes(),
                &mut sig,
            )
            .map_err(|e| format!("signing failed: {e}"))?;
        Ok((
            format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(sig)),
            exp,
        ))
    }

    /// Authenticates `token` for `audiences` (empty: the API audiences), like the apiserver's
    /// service-account authenticator; `Err` is the TokenReview `status.error` text.
    pub fn authenticate(&self, token: &str, audiences: &[String]) -> Result<Authenticated, String> {
        self.authenticate_at(chrono::Utc::now().timestamp(), token, audiences)
    }

    pub fn authenticate_at(
        &self,
        now: i64,
        token: &str,
        audiences: &[String],
    ) -> Result<Authenticated, String> {
        const INVALID: &str = "invalid bearer token";
        let wrap = |e: &str| format!("[{INVALID}, {e}]");
        let parts: Vec<&str> = token.split('.').collect();
        let [h, p, s] = parts.as_slice() else {
            return Err(INVALID.into());
        };
        let decode = |x: &str| URL_SAFE_NO_PAD.decode(x.trim_end_matches('=')).ok();
        let (Some(header), Some(payload), Some(sig)) = (decode(h), decode(p), decode(s)) else {
            return Err(INVALID.into());
        };
        let (Ok(header), Ok(claims)) = (
            serde_json::from_slice::<Value>(&header),
            serde_json::from_slice::<Value>(&payload),
        ) else {
            return Err(INVALID.into());
        };
        // A token from another issuer is not ours to judge: the authenticator passes.
        if claims["iss"].as_str() != Some(self.issuer.as_str()) || header["alg"] != "RS256" {
            return Err(INVALID.into());
        }
        let public = PublicKeyComponents {
            n: self.n.as_slice(),
            e: self.e.as_slice(),
        };
        if public
            .verify(
                &RSA_PKCS1_2048_8192_SHA256,
                format!("{h}.{p}").as_bytes(),
                &sig,
            )
            .is_err()
        {
            return Err(wrap("go-jose/go-jose: error in cryptographic primitive"));
        }
        let token_auds: Vec<String> = match &claims["aud"] {
            Value::String(a) => vec![a.clone()],
            Value::Array(a) => a
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect(),
            _ => Vec::new(),
        };
        let requested = if audiences.is_empty() {
            self.api_audiences()
        } else {
            audiences.to_vec()
        };
        let matched: Vec<String> = requested
            .iter()
            .filter(|a| token_auds.contains(a))
            .cloned()
            .collect();
        if matched.is_empty() {
            return Err(wrap(&format!(
                "token audiences {} is invalid for the target audiences {}",
                go_quoted_list(&token_auds),
                go_quoted_list(&requested)
            )));
        }
        if claims["exp"]
            .as_i64()
            .is_some_and(|exp| now > exp + LEEWAY_SECONDS)
        {
            return Err(wrap("service account token has expired"));
        }
        if claims["nbf"]
            .as_i64()
            .is_some_and(|nbf| now + LEEWAY_SECONDS < nbf)
        {
            return Err(wrap("service account token is not valid yet"));
        }
        let k8s = &claims["kubernetes.io"];
        let ns = k8s["namespace"].as_str().unwrap_or_default();
        let sa = &k8s["serviceaccount"];
        let mut extra = Map::new();
        if let Some(pod) = k8s.get("pod").filter(|p| p.is_object()) {
            extra.insert(
                "authentication.kubernetes.io/pod-name".into(),
                json!([pod["name"]]),
            );
            extra.insert(
                "authentication.kubernetes.io/pod-uid".into(),
                json!([pod["uid"]]),
            );
        }
        if let Some(node) = k8s.get("node").filter(|n| n.is_object()) {
            extra.insert(
                "authentication.kubernetes.io/node-name".into(),
                json!([node["name"]]),
            );
            extra.insert(
                "authentication.kubernetes.io/node-uid".into(),
                json!([node["uid"]]),
            );
        }
        if let Some(jti) = claims["jti"].as_str() {
            extra.insert(
                "authentication.kubernetes.io/credential-id".into(),
                json!([format!("JTI={jti}")]),
            );
        }
        let user = json!({
            "username": format!("system:serviceaccount:{ns}:{}", sa["name"].as_str().unwrap_or_default()),
            "uid": sa["uid"],
            "groups": ["system:serviceaccounts", format!("system:serviceaccounts:{ns}"), "system:authenticated"],
            "extra": extra,
        });
        Ok(Authenticated {
            user,
            audiences: matched,
        })
    }

    /// The TokenReview `status` for `token` checked against `audiences`.
    pub fn review(&self, token: &str, audiences: &[String]) -> Value {
        match self.authenticate(token, audiences) {
            Ok(a) => json!({"authenticated": true, "user": a.user, "audiences": a.audiences}),
            Err(e) => json!({"user": {}, "error": e}),
        }
    }

    /// `/openid/v1/jwks`.
    pub fn jwks(&self) -> Value {
        json!({"keys": [{
            "use": "sig", "kty": "RSA", "kid": self.kid, "alg": "RS256",
            "n": URL_SAFE_NO_PAD.encode(&self.n), "e": URL_SAFE_NO_PAD.encode(&self.e),
        }]})
    }

    /// `/.well-known/openid-configuration`; `jwks_uri` is the simulator's own URL for the JWKS.
    pub fn openid_configuration(&self, jwks_uri: &str) -> Value {
        json!({
            "issuer": self.issuer,
            "jwks_uri": jwks_uri,
            "response_types_supported": ["id_token"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
        })
    }

    /// The public key as PEM `PUBLIC KEY` (SPKI), e.g. for Vault/OpenBao JWT auth.
    pub fn public_key_pem(&self) -> String {
        let b64 = STANDARD.encode(&self.spki);
        let mut out = String::from("-----BEGIN PUBLIC KEY-----\n");
        for chunk in b64.as_bytes().chunks(64) {
            out.push_str(&String::from_utf8_lossy(chunk));
            out.push('\n');
        }
        out.push_str("-----END PUBLIC KEY-----\n");
        out
    }

    /// DER SubjectPublicKeyInfo of the signing key.
    pub fn public_key_der(&self) -> &[u8] {
        &self.spki
    }
}

/// Defaults and validates a TokenRequest `spec`: returns the defaulted spec (audiences, 3600 s,
/// `boundObjectRef: null`) or the 422 body.
pub fn token_request_spec(spec: &Value, api_audiences: &[String]) -> Result<Value, Value> {
    let exp = match spec.get("expirationSeconds") {
        None | Some(Value::Null) => DEFAULT_EXPIRATION_SECONDS,
        Some(v) => v.as_i64().unwrap_or(0),
    };
    let too = |detail: &str| {
        invalid_status(
            "authentication.k8s.io",
            "TokenRequest",
            "",
            &[FieldError::invalid(
                "spec.expirationSeconds",
                BadValue::Int(exp),
                detail,
            )],
        )
    };
    if exp < MIN_EXPIRATION_SECONDS {
        return Err(too("may not specify a duration less than 10 minutes"));
    }
    if exp > MAX_EXPIRATION_SECONDS {
        return Err(too("may not specify a duration larger than 2^32 seconds"));
    }
    let audiences = match spec.get("audiences").and_then(Value::as_array) {
        Some(a) if !a.is_empty() => Value::Array(a.clone()),
        _ => json!(api_audiences),
    };
    Ok(json!({
        "audiences": audiences,
        "expirationSeconds": exp,
        "boundObjectRef": spec.get("boundObjectRef").cloned().unwrap_or(Value::Null),
    }))
}

/// The 201 TokenRequest body. `metadata` is the ServiceAccount's identifying metadata as the
/// simulator renders it (name, namespace, uid, creationTimestamp, managedFields).
pub fn token_request_response(metadata: Value, spec: Value, token: &str, exp: i64) -> Value {
    let expiration = chrono::DateTime::from_timestamp(exp, 0)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default();
    json!({
        "kind": "TokenRequest", "apiVersion": "authentication.k8s.io/v1",
        "metadata": metadata,
        "spec": spec,
        "status": {"token": token, "expirationTimestamp": expiration},
    })
}

/// The 400 for a TokenReview without a token.
pub fn empty_token_review_status() -> Value {
    json!({
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": "token is required for TokenReview in authentication",
        "reason": "BadRequest", "code": 400,
    })
}
