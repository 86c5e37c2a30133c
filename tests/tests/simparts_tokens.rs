//! ServiceAccount tokens against `apiserver-golden/10-serviceaccount-tokens.json`, plus an
//! end-to-end login to a real OpenBao dev server with JWT auth configured with our public key.

use aws_lc_rs::signature::{RSA_PKCS1_2048_8192_SHA256, RsaPublicKeyComponents};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use tests::emulators::Bao;
use tests::sim::tokens::{self, BoundObject, TokenIssuer};

const ISSUER: &str = "https://kubernetes.default.svc";

fn exchanges() -> Vec<Value> {
    let text =
        std::fs::read_to_string("/work/shared/apiserver-golden/10-serviceaccount-tokens.json")
            .unwrap();
    let v: Value = serde_json::from_str(&text).unwrap();
    v["exchanges"].as_array().unwrap().clone()
}

fn decode(token: &str) -> (Value, Value) {
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3);
    let part = |i: usize| {
        serde_json::from_slice::<Value>(&URL_SAFE_NO_PAD.decode(parts[i]).unwrap()).unwrap()
    };
    (part(0), part(1))
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| a.iter().map(|s| s.as_str().unwrap().to_owned()).collect())
        .unwrap_or_default()
}

/// Replaces a value we generated (jti) by the placeholder the recording used for it.
fn normalize(v: &Value, ours: &str, placeholder: &str) -> Value {
    serde_json::from_str(&v.to_string().replace(ours, placeholder)).unwrap()
}

#[test]
fn kid_derivation_matches_the_recorded_jwks() {
    let ex = exchanges();
    let key = &ex[22]["response"]["body"]["keys"][0];
    let n = URL_SAFE_NO_PAD.decode(key["n"].as_str().unwrap()).unwrap();
    let e = URL_SAFE_NO_PAD.decode(key["e"].as_str().unwrap()).unwrap();
    assert_eq!(
        tokens::kid_for_spki(&tokens::rsa_spki_der(&n, &e)),
        key["kid"].as_str().unwrap()
    );
    // Our own key: the SPKI we hash is the one aws-lc-rs encodes, and the JWKS kid agrees.
    let issuer = TokenIssuer::new(ISSUER).unwrap();
    let jwks = issuer.jwks();
    let ours = &jwks["keys"][0];
    let n = URL_SAFE_NO_PAD.decode(ours["n"].as_str().unwrap()).unwrap();
    let e = URL_SAFE_NO_PAD.decode(ours["e"].as_str().unwrap()).unwrap();
    assert_eq!(tokens::rsa_spki_der(&n, &e), issuer.public_key_der());
    assert_eq!(ours["kid"], issuer.kid());
    let fields = |k: &Value| -> Vec<String> { k.as_object().unwrap().keys().cloned().collect() };
    assert_eq!(fields(ours), fields(key));
    assert_eq!(ours["e"], key["e"]);
    assert_eq!(n.len(), 256, "RSA-2048");
}

#[test]
fn issued_tokens_have_the_recorded_structure() {
    let ex = exchanges();
    let issuer = TokenIssuer::new(ISSUER).unwrap();
    for i in [1, 2, 6] {
        let e = &ex[i];
        let spec =
            tokens::token_request_spec(&e["request"]["body"]["spec"], &issuer.api_audiences())
                .unwrap();
        let want_spec = &e["response"]["body"]["spec"];
        assert_eq!(&spec, want_spec, "exchange {i}: defaulted spec");
        let bound = spec["boundObjectRef"].as_object().map(|b| BoundObject {
            kind: b["kind"].as_str().unwrap().into(),
            name: b["name"].as_str().unwrap().into(),
            uid: b["uid"].as_str().unwrap().into(),
        });
        let (jwt, exp) = issuer
            .issue(
                "golden-10",
                "robot",
                "<uid:1>",
                &strings(&spec["audiences"]),
                spec["expirationSeconds"].as_i64().unwrap(),
                bound.as_ref(),
            )
            .unwrap();
        let (header, mut claims) = decode(&jwt);
        let recorded = &e["decoded_jwt"];
        assert_eq!(header["alg"], recorded["header"]["alg"]);
        assert_eq!(header.as_object().unwrap().len(), 2);
        assert_eq!(
            header["kid"].as_str().unwrap().len(),
            recorded["header"]["kid"].as_str().unwrap().len()
        );
        assert_eq!(
            claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
            recorded["exp_minus_iat_seconds"].as_i64().unwrap()
        );
        assert_eq!(claims["exp"].as_i64(), Some(exp));
        assert_eq!(claims["nbf"], claims["iat"]);
        uuid::Uuid::parse_str(claims["jti"].as_str().unwrap()).unwrap();
        claims["iat"] = json!("<time>");
        claims["nbf"] = json!("<time>");
        claims["exp"] = json!("<exp>");
        claims["jti"] = recorded["claims"]["jti"].clone();
        assert_eq!(claims, recorded["claims"], "exchange {i}: claims");

        let body = tokens::token_request_response(json!({"name": "robot"}), spec, &jwt, exp);
        assert_eq!(body["status"]["token"], jwt.as_str());
        let ts = body["status"]["expirationTimestamp"].as_str().unwrap();
        assert_eq!(
            chrono::DateTime::parse_from_rfc3339(ts)
                .unwrap()
                .timestamp(),
            exp
        );
        assert_eq!(body["kind"], e["response"]["body"]["kind"]);
        assert_eq!(body["apiVersion"], e["response"]["body"]["apiVersion"]);
    }
    let err =
        tokens::token_request_spec(&ex[3]["request"]["body"]["spec"], &issuer.api_audiences())
            .unwrap_err();
    assert_eq!(err, ex[3]["response"]["body"]);
}

#[test]
fn signature_verifies_with_the_jwks_key() {
    let issuer = TokenIssuer::new(ISSUER).unwrap();
    let (jwt, _) = issuer
        .issue("ns", "sa", "u", &["aud".into()], 600, None)
        .unwrap();
    let key = &issuer.jwks()["keys"][0];
    let n = URL_SAFE_NO_PAD.decode(key["n"].as_str().unwrap()).unwrap();
    let e = URL_SAFE_NO_PAD.decode(key["e"].as_str().unwrap()).unwrap();
    let (signed, sig) = jwt.rsplit_once('.').unwrap();
    let sig = URL_SAFE_NO_PAD.decode(sig).unwrap();
    let public = RsaPublicKeyComponents {
        n: n.as_slice(),
        e: e.as_slice(),
    };
    public
        .verify(&RSA_PKCS1_2048_8192_SHA256, signed.as_bytes(), &sig)
        .unwrap();
    assert!(
        public
            .verify(
                &RSA_PKCS1_2048_8192_SHA256,
                format!("{signed}x").as_bytes(),
                &sig
            )
            .is_err()
    );
    // A different simulator instance's key does not verify it.
    let other = TokenIssuer::new(ISSUER).unwrap();
    let err = other.authenticate(&jwt, &["aud".into()]).unwrap_err();
    assert_eq!(
        err,
        "[invalid bearer token, go-jose/go-jose: error in cryptographic primitive]"
    );
}

#[test]
fn token_reviews_match_the_recording() {
    let ex = exchanges();
    let issuer = TokenIssuer::new(ISSUER).unwrap();
    let custom: Vec<String> = vec![
        "https://golden.example.test".into(),
        "second-audience".into(),
    ];
    let (custom_jwt, _) = issuer
        .issue("golden-10", "robot", "<uid:1>", &custom, 3600, None)
        .unwrap();
    let (default_jwt, _) = issuer
        .issue(
            "golden-10",
            "robot",
            "<uid:1>",
            &issuer.api_audiences(),
            3600,
            None,
        )
        .unwrap();
    let jti = |t: &str| decode(t).1["jti"].as_str().unwrap().to_owned();
    for (i, jwt, placeholder) in [
        (8, &custom_jwt, "<uid:2>"),
        (9, &custom_jwt, "<uid:2>"),
        (10, &custom_jwt, "<uid:2>"),
        (11, &default_jwt, "<uid:3>"),
    ] {
        let spec = &ex[i]["request"]["body"]["spec"];
        let status = issuer.review(jwt, &strings(&spec["audiences"]));
        assert_eq!(
            normalize(&status, &jti(jwt), placeholder),
            ex[i]["response"]["body"]["status"],
            "exchange {i}"
        );
    }
    assert_eq!(
        issuer.review("garbage.token.value", &[]),
        ex[12]["response"]["body"]["status"]
    );
    assert_eq!(
        tokens::empty_token_review_status(),
        ex[13]["response"]["body"]
    );
    // The user a valid token authenticates as is what SelfSubjectReview reports.
    let user = issuer.authenticate(&default_jwt, &[]).unwrap().user;
    assert_eq!(
        normalize(&user, &jti(&default_jwt), "<uid:3>"),
        ex[15]["response"]["body"]["status"]["userInfo"]
    );
    assert_eq!(
        issuer.openid_configuration("https://127.0.0.1:6443/openid/v1/jwks"),
        ex[21]["response"]["body"]
    );
}

#[test]
fn expired_and_not_yet_valid_tokens_are_rejected() {
    let issuer = TokenIssuer::new(ISSUER).unwrap();
    let now = chrono::Utc::now().timestamp();
    let auds = vec!["a".to_owned()];
    let (old, _) = issuer
        .issue_at(now - 7200, "ns", "sa", "u", &auds, 600, None)
        .unwrap();
    assert_eq!(
        issuer.authenticate(&old, &auds).unwrap_err(),
        "[invalid bearer token, service account token has expired]"
    );
    let (future, _) = issuer
        .issue_at(now + 3600, "ns", "sa", "u", &auds, 600, None)
        .unwrap();
    assert_eq!(
        issuer.authenticate(&future, &auds).unwrap_err(),
        "[invalid bearer token, service account token is not valid yet]"
    );
    // Within the one-minute leeway a just-expired token still passes.
    let (edge, _) = issuer
        .issue_at(now - 630, "ns", "sa", "u", &auds, 600, None)
        .unwrap();
    assert!(issuer.authenticate(&edge, &auds).is_ok());
}

#[tokio::test]
async fn openbao_jwt_auth_accepts_our_tokens() {
    let bao = Bao::start().await.unwrap();
    let issuer = TokenIssuer::new(ISSUER).unwrap();
    let config =
        json!({"jwt_validation_pubkeys": [issuer.public_key_pem()], "bound_issuer": ISSUER});
    bao.enable_jwt_auth(&config, "eso", "vault", "system:serviceaccount:eso:robot")
        .await
        .unwrap();

    let (jwt, _) = issuer
        .issue("eso", "robot", "uid-1", &["vault".into()], 600, None)
        .unwrap();
    let (s, b) = bao.jwt_login("eso", &jwt).await.unwrap();
    assert_eq!(s, 200, "login: {b}");
    assert!(
        b["auth"]["client_token"]
            .as_str()
            .is_some_and(|t| !t.is_empty())
    );
    assert_eq!(b["auth"]["metadata"]["role"], "eso");

    let (wrong_aud, _) = issuer
        .issue("eso", "robot", "uid-1", &["other".into()], 600, None)
        .unwrap();
    let (s, _) = bao.jwt_login("eso", &wrong_aud).await.unwrap();
    assert_eq!(s, 400, "a token for another audience is refused");
    let foreign = TokenIssuer::new(ISSUER).unwrap();
    let (forged, _) = foreign
        .issue("eso", "robot", "uid-1", &["vault".into()], 600, None)
        .unwrap();
    let (s, _) = bao.jwt_login("eso", &forged).await.unwrap();
    assert_eq!(s, 400, "a token signed by another key is refused");
}
