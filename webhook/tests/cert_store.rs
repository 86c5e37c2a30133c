//! Certificate ownership against an in-memory Secret store: create-or-get, optimistic
//! concurrency, racing replicas, the maintenance loop, and the caBundle patches.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;
use webhook::certs::bundle::{Assessment, CertBundle, CertSettings, assess};
use webhook::certs::inspect::inspect_first_pem;
use webhook::certs::k8s::{
    CertStore, StoreError, StoredSecret, crd_conversion_patch, ensure_stored, webhook_ca_patch,
};
use webhook::certs::maintain::{CertRuntime, run_self_managed};
use webhook::health::Readiness;
use webhook::metrics::Metrics;
use webhook::tls_reload::CertResolver;

#[derive(Default)]
struct Inner {
    secret: Option<StoredSecret>,
    next_rv: u64,
    injected: Vec<String>,
}

/// A Secret store with apiserver semantics: AlreadyExists on create, 409 on a stale update.
#[derive(Clone, Default)]
struct FakeStore {
    inner: Arc<Mutex<Inner>>,
    writes: Arc<AtomicUsize>,
    /// Fail this many updates with Conflict before honouring them.
    forced_conflicts: Arc<AtomicUsize>,
}

impl FakeStore {
    fn with_secret(data: BTreeMap<String, Vec<u8>>) -> Self {
        let store = Self::default();
        store.inner.lock().expect("lock").secret = Some(StoredSecret {
            data,
            resource_version: Some("1".into()),
        });
        store.inner.lock().expect("lock").next_rv = 2;
        store
    }

    fn stored(&self) -> Option<StoredSecret> {
        self.inner.lock().expect("lock").secret.clone()
    }
}

impl CertStore for FakeStore {
    async fn get(&self) -> Result<Option<StoredSecret>, StoreError> {
        // Let other "replicas" run between read and write.
        tokio::task::yield_now().await;
        Ok(self.stored())
    }

    async fn create(&self, data: BTreeMap<String, Vec<u8>>) -> Result<StoredSecret, StoreError> {
        tokio::task::yield_now().await;
        let mut inner = self.inner.lock().expect("lock");
        if inner.secret.is_some() {
            return Err(StoreError::AlreadyExists);
        }
        inner.next_rv += 1;
        let stored = StoredSecret {
            data,
            resource_version: Some(inner.next_rv.to_string()),
        };
        inner.secret = Some(stored.clone());
        self.writes.fetch_add(1, Ordering::SeqCst);
        Ok(stored)
    }

    async fn update(
        &self,
        data: BTreeMap<String, Vec<u8>>,
        rv: Option<String>,
    ) -> Result<StoredSecret, StoreError> {
        tokio::task::yield_now().await;
        if self.forced_conflicts.load(Ordering::SeqCst) > 0 {
            self.forced_conflicts.fetch_sub(1, Ordering::SeqCst);
            return Err(StoreError::Conflict);
        }
        let mut inner = self.inner.lock().expect("lock");
        let current = inner
            .secret
            .as_ref()
            .and_then(|s| s.resource_version.clone());
        if current != rv {
            return Err(StoreError::Conflict);
        }
        inner.next_rv += 1;
        let stored = StoredSecret {
            data,
            resource_version: Some(inner.next_rv.to_string()),
        };
        inner.secret = Some(stored.clone());
        self.writes.fetch_add(1, Ordering::SeqCst);
        Ok(stored)
    }

    async fn inject_ca_bundle(&self, ca_bundle_pem: &str) -> Result<Vec<String>, StoreError> {
        let mut inner = self.inner.lock().expect("lock");
        if inner.injected.last().map(String::as_str) == Some(ca_bundle_pem) {
            return Ok(Vec::new());
        }
        inner.injected.push(ca_bundle_pem.to_owned());
        Ok(vec![
            "validatingwebhookconfiguration/externalsecret-validate".to_owned(),
        ])
    }
}

fn settings() -> CertSettings {
    CertSettings {
        dns_names: vec![
            "external-secrets-webhook.eso.svc".to_owned(),
            "external-secrets-webhook".to_owned(),
        ],
        lookahead: Duration::from_secs(90 * 86_400),
        validity: Duration::from_secs(3650 * 86_400),
    }
}

#[tokio::test]
async fn missing_secret_is_created_with_a_valid_bundle() {
    let store = FakeStore::default();
    let ensured = ensure_stored(&store, &settings(), SystemTime::now())
        .await
        .expect("ensure");
    assert!(matches!(
        ensured.written,
        Some(Assessment::RegenerateAll(_))
    ));
    let stored = CertBundle::from_secret_data(&store.stored().expect("created").data);
    assert_eq!(stored, ensured.bundle);
    assert_eq!(
        assess(&stored, &settings(), SystemTime::now()),
        Assessment::Valid
    );
}

#[tokio::test]
async fn valid_secret_is_adopted_without_writing() {
    let first = FakeStore::default();
    let bundle = ensure_stored(&first, &settings(), SystemTime::now())
        .await
        .expect("ensure")
        .bundle;
    let store = FakeStore::with_secret(bundle.to_secret_data());
    let ensured = ensure_stored(&store, &settings(), SystemTime::now())
        .await
        .expect("ensure");
    assert_eq!(ensured.written, None);
    assert_eq!(ensured.bundle, bundle);
    assert_eq!(store.writes.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn empty_precreated_secret_is_filled_and_foreign_keys_kept() {
    // Helm pre-creates the Secret empty; someone else added a key we must not drop.
    let store = FakeStore::with_secret(BTreeMap::from([("note".to_owned(), b"keep me".to_vec())]));
    let ensured = ensure_stored(&store, &settings(), SystemTime::now())
        .await
        .expect("ensure");
    assert!(ensured.written.is_some());
    let data = store.stored().expect("secret").data;
    assert_eq!(data.get("note").map(Vec::as_slice), Some(&b"keep me"[..]));
    assert_eq!(CertBundle::from_secret_data(&data), ensured.bundle);
}

#[tokio::test]
async fn update_conflicts_are_retried() {
    let store = FakeStore::with_secret(BTreeMap::new());
    store.forced_conflicts.store(2, Ordering::SeqCst);
    let ensured = ensure_stored(&store, &settings(), SystemTime::now())
        .await
        .expect("ensure");
    assert_eq!(
        CertBundle::from_secret_data(&store.stored().expect("secret").data),
        ensured.bundle
    );
}

#[tokio::test]
async fn endless_conflicts_give_up_with_an_error() {
    let store = FakeStore::with_secret(BTreeMap::new());
    store.forced_conflicts.store(1000, Ordering::SeqCst);
    let err = ensure_stored(&store, &settings(), SystemTime::now())
        .await
        .expect_err("must give up");
    assert!(err.to_string().contains("kept changing"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_replicas_converge_on_one_secret() {
    for existing in [None, Some(BTreeMap::new())] {
        let store = existing.map_or_else(FakeStore::default, FakeStore::with_secret);
        let mut replicas = tokio::task::JoinSet::new();
        for _ in 0..5 {
            let store = store.clone();
            replicas.spawn(async move {
                ensure_stored(&store, &settings(), SystemTime::now())
                    .await
                    .expect("ensure")
                    .bundle
            });
        }
        let mut bundles = Vec::new();
        while let Some(bundle) = replicas.join_next().await {
            bundles.push(bundle.expect("replica task"));
        }
        let stored = CertBundle::from_secret_data(&store.stored().expect("secret").data);
        for bundle in &bundles {
            assert_eq!(bundle, &stored, "every replica serves the stored bundle");
        }
        assert_eq!(
            store.writes.load(Ordering::SeqCst),
            1,
            "exactly one replica wrote"
        );
    }
}

#[tokio::test]
async fn maintenance_loop_serves_the_stored_cert_injects_the_ca_and_follows_rotation_by_others() {
    let store = FakeStore::default();
    let resolver = Arc::new(CertResolver::new());
    let readiness = Readiness::new();
    let runtime = CertRuntime::new(
        resolver.clone(),
        readiness.register("certificate"),
        Metrics::new(),
    );
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(run_self_managed(
        store.clone(),
        settings(),
        Duration::from_millis(50),
        runtime,
        shutdown.clone(),
    ));

    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !readiness.is_ready() {
        assert!(tokio::time::Instant::now() < deadline, "never became ready");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let first = CertBundle::from_secret_data(&store.stored().expect("secret").data);
    let served = resolver.current().expect("cert loaded");
    assert_eq!(
        served.serial_hex,
        inspect_first_pem(first.tls_crt.as_bytes())
            .expect("pem")
            .serial_hex
    );
    assert_eq!(
        store.inner.lock().expect("lock").injected.first(),
        Some(&first.ca_crt)
    );

    // Another replica rotates the Secret (here: a whole new CA and certificate).
    let other = FakeStore::default();
    let rotated = ensure_stored(&other, &settings(), SystemTime::now())
        .await
        .expect("ensure")
        .bundle;
    {
        let mut inner = store.inner.lock().expect("lock");
        inner.next_rv += 1;
        inner.secret = Some(StoredSecret {
            data: rotated.to_secret_data(),
            resource_version: Some(inner.next_rv.to_string()),
        });
    }
    let want = inspect_first_pem(rotated.tls_crt.as_bytes())
        .expect("pem")
        .serial_hex;
    while resolver.current().map(|c| c.serial_hex.clone()) != Some(want.clone()) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "rotation by another replica not picked up"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    while store.inner.lock().expect("lock").injected.last() != Some(&rotated.ca_crt) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "new CA not injected"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    shutdown.cancel();
    task.await.expect("loop ends on shutdown");
}

#[test]
fn webhook_patch_sets_ca_on_every_webhook_guarded_by_name() {
    let webhooks = vec![
        json!({"name": "validate.secretstore.external-secrets.io", "clientConfig": {"service": {"name": "svc"}}}),
        json!({"name": "validate.clustersecretstore.external-secrets.io", "clientConfig": {"caBundle": "b2xk"}}),
        json!({"name": "already.external-secrets.io", "clientConfig": {"caBundle": "bmV3"}}),
    ];
    let ops = webhook_ca_patch(&webhooks, "bmV3");
    assert_eq!(
        Value::Array(ops.clone()),
        json!([
            {"op": "test", "path": "/webhooks/0/name", "value": "validate.secretstore.external-secrets.io"},
            {"op": "add", "path": "/webhooks/0/clientConfig/caBundle", "value": "bmV3"},
            {"op": "test", "path": "/webhooks/1/name", "value": "validate.clustersecretstore.external-secrets.io"},
            {"op": "add", "path": "/webhooks/1/clientConfig/caBundle", "value": "bmV3"}
        ])
    );
    // The patch applies with json-patch semantics and leaves the service reference alone.
    let mut config = json!({"webhooks": webhooks});
    let patch: json_patch::Patch = serde_json::from_value(Value::Array(ops)).expect("patch");
    json_patch::patch(&mut config, &patch).expect("applies");
    for webhook in config["webhooks"].as_array().expect("array") {
        assert_eq!(webhook["clientConfig"]["caBundle"], "bmV3");
    }
    assert_eq!(
        config["webhooks"][0]["clientConfig"]["service"]["name"],
        "svc"
    );
    assert!(
        webhook_ca_patch(config["webhooks"].as_array().expect("array"), "bmV3").is_empty(),
        "idempotent"
    );
}

#[test]
fn crd_patch_only_touches_webhook_conversion() {
    let ca = BASE64.encode("pem");
    let none = json!({"spec": {"conversion": {"strategy": "None"}}});
    assert_eq!(crd_conversion_patch(&none, &ca, "svc", "eso"), None);
    let webhook = json!({"spec": {"conversion": {"strategy": "Webhook", "webhook": {
        "clientConfig": {"url": "https://old.example"}, "conversionReviewVersions": ["v1"]}}}});
    let patch = crd_conversion_patch(&webhook, &ca, "svc", "eso").expect("patch needed");
    let mut patched = webhook.clone();
    json_patch::merge(&mut patched, &patch);
    assert_eq!(
        patched["spec"]["conversion"]["webhook"],
        json!({"clientConfig": {"caBundle": ca, "service": {"name": "svc", "namespace": "eso", "path": "/convert"}},
               "conversionReviewVersions": ["v1"]})
    );
    assert_eq!(
        crd_conversion_patch(&patched, &ca, "svc", "eso"),
        None,
        "idempotent"
    );
}

#[test]
fn stored_secret_debug_never_shows_values() {
    let secret = StoredSecret {
        data: BTreeMap::from([(
            "tls.key".to_owned(),
            b"-----BEGIN PRIVATE KEY-----secret".to_vec(),
        )]),
        resource_version: Some("7".to_owned()),
    };
    let printed = format!("{secret:?}");
    assert!(
        printed.contains("tls.key")
            && !printed.contains("PRIVATE")
            && !printed.contains("secret\""),
        "{printed}"
    );
}
