use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::json;
use shared::api::v1::{ExternalSecretFind, ExternalSecretSpec};

use super::*;
use crate::provider::ValidationResult;

/// A store whose secrets are JSON objects (extract splits them) or plain strings.
struct Store {
    name: &'static str,
    secrets: BTreeMap<String, String>,
    calls: Arc<AtomicUsize>,
}

#[async_trait]
impl SecretsClient for Store {
    async fn get_secret(
        &self,
        r: &ExternalSecretDataRemoteRef,
    ) -> Result<SecretValue, ProviderError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let v = self.secrets.get(&r.key).ok_or(ProviderError::NoSecret)?;
        Ok(SecretValue::from(format!(
            "{}{v}",
            if self.name == "b" { "b:" } else { "" }
        )))
    }
    async fn get_secret_map(
        &self,
        r: &ExternalSecretDataRemoteRef,
    ) -> Result<SecretMap, ProviderError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let v = self.secrets.get(&r.key).ok_or(ProviderError::NoSecret)?;
        let obj: BTreeMap<String, String> =
            serde_json::from_str(v).map_err(|e| ProviderError::Other(e.to_string()))?;
        Ok(obj
            .into_iter()
            .map(|(k, v)| (k, SecretValue::from(v)))
            .collect())
    }
    async fn get_all_secrets(&self, find: &ExternalSecretFind) -> Result<SecretMap, ProviderError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let re = find
            .name
            .as_ref()
            .and_then(|n| n.regexp.clone())
            .unwrap_or_default();
        Ok(self
            .secrets
            .iter()
            .filter(|(k, _)| k.contains(&re))
            .map(|(k, v)| (k.clone(), SecretValue::from(v.as_str())))
            .collect())
    }
    async fn validate(&self) -> Result<ValidationResult, ProviderError> {
        Ok(ValidationResult::Ready)
    }
}

struct Fake {
    stores: BTreeMap<&'static str, Arc<Store>>,
    asked: Mutex<Vec<String>>,
    calls: Arc<AtomicUsize>,
}

fn fake() -> Fake {
    let calls = Arc::new(AtomicUsize::new(0));
    let secrets: BTreeMap<String, String> = [
        ("json", r#"{"user":"admin","pass":"a"}"#),
        ("json2", r#"{"pass":"b","extra":"x"}"#),
        ("path/one", "1"),
        ("path/two", "2"),
        ("plain", "value"),
        ("b64", "aGVsbG8="),
        ("nul", "a\u{0}b"),
        ("nuljson", "{\"k\":\"a\\u0000b\"}"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let store = |name| {
        Arc::new(Store {
            name,
            secrets: secrets.clone(),
            calls: calls.clone(),
        })
    };
    Fake {
        stores: BTreeMap::from([("a", store("a")), ("b", store("b"))]),
        asked: Mutex::new(Vec::new()),
        calls,
    }
}

#[async_trait]
impl Sources for Fake {
    async fn client(
        &self,
        store: &SecretStoreRef,
        _: &str,
    ) -> Result<Arc<dyn SecretsClient>, SourceError> {
        let name = store.name.clone().unwrap_or_default();
        self.asked.lock().expect("lock").push(name.clone());
        self.stores
            .get(name.as_str())
            .map(|s| s.clone() as Arc<dyn SecretsClient>)
            .ok_or_else(|| SourceError::Store(format!("SecretStore {name:?} not found")))
    }
    async fn generate(&self, g: &GeneratorRef, _: &str) -> Result<SecretMap, SourceError> {
        Ok(SecretMap::from([(
            "generated".to_string(),
            SecretValue::from(g.name.as_str()),
        )]))
    }
}

fn es(spec: serde_json::Value) -> ExternalSecret {
    let mut spec = spec;
    if spec.get("secretStoreRef").is_none() {
        spec["secretStoreRef"] = json!({"name": "a"});
    }
    let spec: ExternalSecretSpec = serde_json::from_value(spec).expect("spec");
    let mut e = ExternalSecret::new("db", spec);
    e.metadata.namespace = Some("ns".into());
    e
}

async fn run(e: &ExternalSecret, f: &Fake) -> Result<Fetched, FetchError> {
    fetch(e, f, &NamespacePolicy::allow_all("ns")).await
}

fn text(map: &SecretMap) -> BTreeMap<String, String> {
    map.iter()
        .map(|(k, v)| (k.clone(), v.expose_str().unwrap_or("<bin>").to_string()))
        .collect()
}

fn expect(entries: &[(&str, &str)]) -> BTreeMap<String, String> {
    entries
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[tokio::test]
async fn data_from_in_order_then_data_wins() {
    let f = fake();
    let e = es(json!({
        "dataFrom": [{"extract": {"key": "json"}}, {"extract": {"key": "json2"}}],
        "data": [{"secretKey": "user", "remoteRef": {"key": "plain"}}]
    }));
    let out = run(&e, &f).await.expect("fetch");
    assert_eq!(
        text(&out.data),
        expect(&[("extra", "x"), ("pass", "b"), ("user", "value")])
    );
}

#[tokio::test]
async fn find_converts_keys_unless_rewritten() {
    let f = fake();
    let e = es(json!({"dataFrom": [{"find": {"name": {"regexp": "path/"}}}]}));
    let out = run(&e, &f).await.expect("fetch");
    assert_eq!(
        text(&out.data),
        expect(&[("path_one", "1"), ("path_two", "2")])
    );

    let unicode = es(
        json!({"dataFrom": [{"find": {"name": {"regexp": "path/"}, "conversionStrategy": "Unicode"}}]}),
    );
    let out = run(&unicode, &f).await.expect("fetch");
    assert!(out.data.contains_key("path_U002f_one"));

    let rewritten = es(json!({"dataFrom": [{
        "find": {"name": {"regexp": "path/"}},
        "rewrite": [{"regexp": {"source": "path/(.*)", "target": "app-$1"}}]
    }]}));
    let out = run(&rewritten, &f).await.expect("fetch");
    assert_eq!(
        text(&out.data),
        expect(&[("app-one", "1"), ("app-two", "2")])
    );

    // With a rewrite, no conversion happens: keys that stay invalid are an error.
    let invalid = es(json!({"dataFrom": [{
        "find": {"name": {"regexp": "path/"}},
        "rewrite": [{"regexp": {"source": "one", "target": "uno"}}]
    }]}));
    let err = run(&invalid, &f).await.expect_err("invalid key");
    assert!(err.to_string().contains("invalid character"), "{err}");
}

#[tokio::test]
async fn transform_rewrite_uses_the_template_engine() {
    let f = fake();
    let e = es(json!({"dataFrom": [{
        "extract": {"key": "json"},
        "rewrite": [{"transform": {"template": "app_{{ .value | upper }}"}}]
    }]}));
    let out = run(&e, &f).await.expect("fetch");
    assert_eq!(
        text(&out.data),
        expect(&[("app_PASS", "a"), ("app_USER", "admin")])
    );
}

#[tokio::test]
async fn decoding_and_null_byte_policy() {
    let f = fake();
    let e = es(
        json!({"data": [{"secretKey": "k", "remoteRef": {"key": "b64", "decodingStrategy": "Base64"}}]}),
    );
    assert_eq!(
        text(&run(&e, &f).await.expect("fetch").data),
        expect(&[("k", "hello")])
    );
    for spec in [
        json!({"data": [{"secretKey": "k", "remoteRef": {"key": "nul", "nullBytePolicy": "Fail"}}]}),
        json!({"dataFrom": [{"extract": {"key": "nuljson", "nullBytePolicy": "Fail"}}]}),
        json!({"dataFrom": [{"find": {"name": {"regexp": "nul"}, "nullBytePolicy": "Fail"}}]}),
    ] {
        let err = run(&es(spec.clone()), &f).await.expect_err("null byte");
        assert!(err.to_string().contains("null byte"), "{spec}: {err}");
    }
    let ignored = es(json!({"data": [{"secretKey": "k", "remoteRef": {"key": "nul"}}]}));
    assert!(run(&ignored, &f).await.is_ok());
}

#[tokio::test]
async fn missing_remote_secrets_depend_on_deletion_policy() {
    let f = fake();
    let delete = es(json!({
        "target": {"deletionPolicy": "Delete"},
        "data": [{"secretKey": "gone", "remoteRef": {"key": "nope"}}, {"secretKey": "k", "remoteRef": {"key": "plain"}}],
        "dataFrom": [{"extract": {"key": "nope"}}]
    }));
    let out = run(&delete, &f).await.expect("skips missing");
    assert_eq!(text(&out.data), expect(&[("k", "value")]));
    assert_eq!(out.missing.len(), 2);
    assert!(out.missing[0].contains("spec.dataFrom[0]"));
    let retain = es(json!({"data": [{"secretKey": "gone", "remoteRef": {"key": "nope"}}]}));
    let err = run(&retain, &f)
        .await
        .expect_err("retain makes it an error");
    assert!(matches!(
        err,
        FetchError::Source { ref source, .. }
            if matches!(**source, SourceError::Provider(ProviderError::NoSecret))
    ));
}

#[tokio::test]
async fn per_item_store_refs_override_the_default_store() {
    let f = fake();
    let e = es(json!({"data": [
        {"secretKey": "x", "remoteRef": {"key": "plain"}},
        {"secretKey": "y", "remoteRef": {"key": "plain"}, "sourceRef": {"storeRef": {"name": "b"}}}
    ]}));
    let out = run(&e, &f).await.expect("fetch");
    assert_eq!(text(&out.data), expect(&[("x", "value"), ("y", "b:value")]));
    assert_eq!(
        *f.asked.lock().expect("lock"),
        vec!["a".to_string(), "b".to_string()]
    );
}

#[tokio::test]
async fn missing_store_is_an_error() {
    let f = fake();
    let e = es(
        json!({"secretStoreRef": {"name": "zzz"}, "data": [{"secretKey": "x", "remoteRef": {"key": "plain"}}]}),
    );
    let err = run(&e, &f).await.expect_err("no store");
    assert!(err.to_string().contains("not found"), "{err}");
}

#[tokio::test]
async fn generators_feed_data_from() {
    let f = fake();
    let e = es(
        json!({"dataFrom": [{"sourceRef": {"generatorRef": {"kind": "Password", "name": "pw"}},
        "rewrite": [{"regexp": {"source": "generated", "target": "password"}}]}]}),
    );
    let out = run(&e, &f).await.expect("fetch");
    assert_eq!(text(&out.data), expect(&[("password", "pw")]));
}

#[tokio::test]
async fn namespace_policy_violation_makes_no_provider_call() {
    let f = fake();
    let e = es(
        json!({"data": [{"secretKey": "x", "remoteRef": {"key": "plain"}}],
                      "dataFrom": [{"extract": {"key": "json"}}]}),
    );
    let policy = NamespacePolicy::from_annotations(
        "ns",
        &BTreeMap::from([(
            shared::policy::KEY_ANNOTATION.to_string(),
            "json".to_string(),
        )]),
        false,
    );
    let err = fetch(&e, &f, &policy).await.expect_err("denied");
    assert_eq!(err.reason(), "PolicyViolation");
    assert_eq!(f.calls.load(Ordering::SeqCst), 0);
}
