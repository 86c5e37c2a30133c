//! Azure Key Vault provider reads against the fake: object prefixes, versions, properties, tags,
//! maps, finds across pages, NoSecret, and one backend call per remote key.

mod provider_azure_support;

use controller::provider::{ProviderError, ValidationResult};
use provider_azure_support::*;
use serde_json::{Value, json};
use shared::api::v1::ExternalSecretFind;

fn find(v: Value) -> ExternalSecretFind {
    serde_json::from_value(v).unwrap()
}

#[tokio::test]
async fn secrets_versions_properties_and_tags() {
    let s = setup().await;
    s.fake.put_secret(
        "db",
        r#"{"user":"admin","nested":{"port":5432},"a.b":"dotted"}"#,
        &[("env", "dev"), ("cfg", r#"{"x":{"y":"z"}}"#)],
    );
    let v1 = s.fake.secret("db").unwrap().version;
    s.fake.put_secret("db", r#"{"user":"root"}"#, &[]);
    let c = connect(&s.client, sp_store(&s.fake)).await.unwrap();

    // Default object type is a secret; `secret/` says so explicitly.
    assert_eq!(text(&*c, &r("db")).await.unwrap(), r#"{"user":"root"}"#);
    assert_eq!(
        text(&*c, &r("secret/db")).await.unwrap(),
        r#"{"user":"root"}"#
    );
    let old = rr(json!({"key": "db", "version": v1, "property": "nested.port"}));
    assert_eq!(text(&*c, &old).await.unwrap(), "5432");
    // A property that is no gjson path but a key with dots.
    let dotted = rr(json!({"key": "db", "version": v1, "property": "a.b"}));
    assert_eq!(text(&*c, &dotted).await.unwrap(), "dotted");
    let missing = rr(json!({"key": "db", "property": "nope"}));
    assert_eq!(
        text(&*c, &missing).await.unwrap_err().to_string(),
        "property nope does not exist in key db"
    );
    // Tags of that version: all as JSON, one, a gjson path inside one.
    let tags = rr(json!({"key": "db", "version": v1, "metadataPolicy": "Fetch"}));
    let all: Value = serde_json::from_str(&text(&*c, &tags).await.unwrap()).unwrap();
    assert_eq!(all, json!({"env": "dev", "cfg": r#"{"x":{"y":"z"}}"#}));
    let one = rr(json!({"key": "db", "version": v1, "metadataPolicy": "Fetch", "property": "env"}));
    assert_eq!(text(&*c, &one).await.unwrap(), "dev");
    let path =
        rr(json!({"key": "db", "version": v1, "metadataPolicy": "Fetch", "property": "cfg.x.y"}));
    assert_eq!(text(&*c, &path).await.unwrap(), "z");
    let none = rr(json!({"key": "db", "metadataPolicy": "Fetch", "property": "env"}));
    assert_eq!(
        text(&*c, &none).await.unwrap_err().to_string(),
        "tag env does not exist"
    );

    // Missing secrets are NoSecret (drives deletionPolicy); unknown prefixes are config errors.
    assert!(matches!(
        c.get_secret(&r("absent")).await,
        Err(ProviderError::NoSecret)
    ));
    for bad in ["secret/a/../b", "a?b", "key/", "x y"] {
        assert!(
            matches!(
                c.get_secret(&r(bad)).await,
                Err(ProviderError::InvalidConfig(_))
            ),
            "{bad}"
        );
    }
    let bad_version = rr(json!({"key": "db", "version": "../x"}));
    assert!(matches!(
        c.get_secret(&bad_version).await,
        Err(ProviderError::InvalidConfig(_))
    ));
    assert!(matches!(
        c.get_secret(&r("blob/x")).await,
        Err(ProviderError::InvalidConfig(_))
    ));
    // A disabled secret is an error, not a missing one.
    s.fake.set_secret_enabled("db", false);
    let err = c.get_secret(&r("db")).await.unwrap_err();
    assert!(err.to_string().contains("Forbidden"), "{err}");
}

#[tokio::test]
async fn keys_are_public_jwk_json_and_certs_are_der() {
    let s = setup().await;
    s.fake.put_key(
        "signing",
        json!({"kty": "RSA", "n": "n-value", "e": "AQAB", "d": "private"}),
        &[("owner", "team-a")],
    );
    let ck = rcgen::generate_simple_self_signed(vec!["example.com".into()]).unwrap();
    s.fake
        .put_certificate("tls", ck.cert.der(), &[("kind", "tls")]);
    let c = connect(&s.client, sp_store(&s.fake)).await.unwrap();

    let jwk = text(&*c, &r("key/signing")).await.unwrap();
    let kid = s.fake.key("signing").unwrap().version;
    // Go's json.Marshal of the JWK struct: kid, kty, key_ops, n, e; no private parts.
    assert_eq!(
        jwk,
        format!(
            r#"{{"kid":"{}/keys/signing/{kid}","kty":"RSA","key_ops":["encrypt","decrypt","sign","verify","wrapKey","unwrapKey"],"n":"n-value","e":"AQAB"}}"#,
            s.fake.url()
        )
    );
    let der = c.get_secret(&r("cert/tls")).await.unwrap();
    assert_eq!(der.as_bytes(), ck.cert.der().as_ref());
    let tag = rr(json!({"key": "cert/tls", "metadataPolicy": "Fetch", "property": "kind"}));
    assert_eq!(text(&*c, &tag).await.unwrap(), "tls");
    let tag = rr(json!({"key": "key/signing", "metadataPolicy": "Fetch", "property": "owner"}));
    assert_eq!(text(&*c, &tag).await.unwrap(), "team-a");
    assert!(matches!(
        c.get_secret(&r("key/none")).await,
        Err(ProviderError::NoSecret)
    ));
    assert!(matches!(
        c.get_secret(&r("cert/none")).await,
        Err(ProviderError::NoSecret)
    ));
    // dataFrom.extract of keys and certificates is refused, as in ESO.
    assert!(c.get_secret_map(&r("key/signing")).await.is_err());
    assert!(c.get_secret_map(&r("cert/tls")).await.is_err());
}

#[tokio::test]
async fn maps_from_json_and_tags() {
    let s = setup().await;
    s.fake.put_secret(
        "cfg",
        r#"{"a":"1","b":{"c":true},"n":2}"#,
        &[("t1", "v1"), ("t2", "v2")],
    );
    s.fake.put_secret("plain", "not json", &[]);
    let c = connect(&s.client, sp_store(&s.fake)).await.unwrap();
    let m = c.get_secret_map(&r("cfg")).await.unwrap();
    let m: Vec<(String, String)> = m
        .into_iter()
        .map(|(k, v)| (k, String::from_utf8(v.into_vec()).unwrap()))
        .collect();
    assert_eq!(
        m,
        vec![
            ("a".to_string(), "1".to_string()),
            ("b".to_string(), r#"{"c":true}"#.to_string()),
            ("n".to_string(), "2".to_string())
        ]
    );
    let sub = c
        .get_secret_map(&rr(json!({"key": "cfg", "property": "b"})))
        .await
        .unwrap();
    assert_eq!(sub["c"].as_bytes(), b"true");
    let tags = c
        .get_secret_map(&rr(json!({"key": "cfg", "metadataPolicy": "Fetch"})))
        .await
        .unwrap();
    assert_eq!(tags.len(), 2);
    assert_eq!(tags["t2"].as_bytes(), b"v2");
    let one = c
        .get_secret_map(&rr(
            json!({"key": "cfg", "metadataPolicy": "Fetch", "property": "t1"}),
        ))
        .await
        .unwrap();
    assert_eq!(one["cfg_t1"].as_bytes(), b"v1");
    assert!(c.get_secret_map(&r("plain")).await.is_err());
    assert!(matches!(
        c.get_secret_map(&r("absent")).await,
        Err(ProviderError::NoSecret)
    ));
}

#[tokio::test]
async fn find_by_name_and_tags_over_pages_one_call_per_key() {
    let s = setup().await;
    for i in 0..6 {
        let team = if i % 2 == 0 { "a" } else { "b" };
        s.fake
            .put_secret(&format!("app-{i}"), &format!("v{i}"), &[("team", team)]);
    }
    s.fake.put_secret("other", "x", &[("team", "a")]);
    s.fake.put_secret("app-disabled", "x", &[("team", "a")]);
    s.fake.set_secret_enabled("app-disabled", false);
    s.fake.set_page_size(2);
    let c = connect(&s.client, sp_store(&s.fake)).await.unwrap();
    s.fake.reset_calls();

    let by_name = c
        .get_all_secrets(&find(json!({"name": {"regexp": "^app-[0-9]$"}})))
        .await
        .unwrap();
    assert_eq!(
        by_name.keys().collect::<Vec<_>>(),
        ["app-0", "app-1", "app-2", "app-3", "app-4", "app-5"]
    );
    assert_eq!(by_name["app-3"].as_bytes(), b"v3");
    // 8 secrets, 2 per page: 4 list calls, then one read per match.
    assert_eq!(s.fake.calls("GetSecrets"), 4);
    assert_eq!(s.fake.calls("GetSecret"), 6);

    let by_tags = c
        .get_all_secrets(&find(json!({"tags": {"team": "a"}})))
        .await
        .unwrap();
    assert_eq!(
        by_tags.keys().collect::<Vec<_>>(),
        ["app-0", "app-2", "app-4", "other"]
    );
    let both = c
        .get_all_secrets(&find(
            json!({"tags": {"team": "a"}, "name": {"regexp": "app"}}),
        ))
        .await
        .unwrap();
    assert_eq!(both.len(), 3);
    assert!(
        c.get_all_secrets(&find(json!({"name": {"regexp": "("}})))
            .await
            .is_err()
    );
}

#[tokio::test]
async fn validate_is_one_call_and_tokens_are_cached() {
    let s = setup().await;
    s.fake.put_secret("a", "1", &[]);
    let c = connect(&s.client, sp_store(&s.fake)).await.unwrap();
    // Building the client reads credentials but calls nothing yet.
    assert_eq!(s.fake.calls("Token"), 0);
    assert_eq!(c.validate().await.unwrap(), ValidationResult::Ready);
    assert_eq!(s.fake.vault_calls(), 1);
    for _ in 0..3 {
        text(&*c, &r("a")).await.unwrap();
    }
    assert_eq!(s.fake.calls("Token"), 1, "one token for all calls");
    assert_eq!(s.fake.calls("GetSecret"), 3);

    // A short-lived token is renewed before it runs out, without a failed call.
    s.fake.set_token_lifetime(std::time::Duration::from_secs(2));
    let c = connect(&s.client, sp_store(&s.fake)).await.unwrap();
    s.fake.reset_calls();
    text(&*c, &r("a")).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
    text(&*c, &r("a")).await.unwrap();
    assert_eq!(s.fake.calls("Token"), 2);
    assert_eq!(s.fake.calls("Unauthorized"), 0);

    // A denied principal fails validation with the vault's reason.
    s.fake.deny(CLIENT_ID);
    let err = c.validate().await.unwrap_err().to_string();
    assert!(err.contains("403 Forbidden"), "{err}");
}
