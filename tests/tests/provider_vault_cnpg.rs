//! The CloudNativePG walkthrough end to end against a real OpenBao: every manifest of
//! `examples/vault-cloudnativepg/` (the walkthrough's manifests) applied as written, only the
//! store's `server` pointed at OpenBao, with all controllers running in-process. Plus the
//! PushSecret policies (IfNotExists, deletionPolicy Delete) and a wrong token.

mod controller_es_support;

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use controller_es_support::{Env, data_of, eventually, label};
use kube::api::{Api, ApiResource, DeleteParams, DynamicObject, PostParams};
use serde_json::{Value, json};
use shared::api::v1::SecretStore;
use shared::api::v1alpha1::PushSecret;
use tests::emulators::Bao;

const EXAMPLES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../examples/vault-cloudnativepg"
);

fn example(name: &str) -> String {
    std::fs::read_to_string(format!("{EXAMPLES}/{name}")).unwrap()
}

/// Creates every document of `yaml`.
async fn apply(env: &Env, yaml: &str) {
    for doc in serde_saphyr::from_multiple::<Value>(yaml).unwrap() {
        if doc.is_null() {
            continue;
        }
        let (group, version) = match doc["apiVersion"].as_str().unwrap().split_once('/') {
            Some((g, v)) => (g.to_string(), v.to_string()),
            None => (
                String::new(),
                doc["apiVersion"].as_str().unwrap().to_string(),
            ),
        };
        let kind = doc["kind"].as_str().unwrap().to_string();
        let plural = match kind.as_str() {
            "Password" => "passwords".to_string(),
            k => format!("{}s", k.to_ascii_lowercase()),
        };
        let ar = ApiResource {
            api_version: doc["apiVersion"].as_str().unwrap().into(),
            group,
            version,
            kind,
            plural,
        };
        let ns = doc["metadata"]["namespace"].as_str().unwrap_or("default");
        let obj: DynamicObject = serde_json::from_value(doc.clone()).unwrap();
        Api::<DynamicObject>::namespaced_with(env.client.clone(), ns, &ar)
            .create(&PostParams::default(), &obj)
            .await
            .unwrap_or_else(|e| panic!("create {}: {e}", doc["metadata"]["name"]));
    }
}

/// An OpenBao with the walkthrough's `secrets` KV v2 mount and a token that may use it.
async fn bao_for_walkthrough() -> (Bao, String) {
    let bao = Bao::start().await.expect("start bao");
    bao.mount_kv("secrets", 2).await.unwrap();
    bao.put_policy(
        "secrets-rw",
        r#"path "secrets/*" { capabilities = ["create", "read", "update", "delete", "list"] }"#,
    )
    .await
    .unwrap();
    let token = bao.create_token(&["secrets-rw"], "1h").await.unwrap();
    (bao, token)
}

/// The store manifest with `server` pointed at OpenBao and the walkthrough's masked token
/// (`hvs.*******`, which OpenBao refuses as a custom token ID) replaced by a real one.
fn store_pointing_at(bao: &Bao, token: &str) -> String {
    let store = example("03-vault-store.yaml");
    assert!(store.contains(r#"server: "http://vault.vault.svc:8200""#));
    assert!(store.contains("token: aHZzLioqKioqKio="));
    store
        .replace("http://vault.vault.svc:8200", bao.addr())
        .replace("aHZzLioqKioqKio=", &STANDARD.encode(token))
}

async fn wait_push(env: &Env, name: &str, reason: &str) -> PushSecret {
    let api = Api::<PushSecret>::namespaced(env.client.clone(), "default");
    eventually(&format!("PushSecret {name} {reason}"), || async {
        let ps = api.get_opt(name).await.ok()??;
        let c = ps.status.as_ref()?.conditions.as_ref()?.first()?.clone();
        (c.reason.as_deref() == Some(reason)).then_some(ps)
    })
    .await
}

async fn wait_store(env: &Env, name: &str, status: &str) -> Value {
    let api = Api::<SecretStore>::namespaced(env.client.clone(), "default");
    eventually(&format!("store {name} Ready={status}"), || async {
        let s = api.get_opt(name).await.ok()??;
        let c = s
            .status
            .as_ref()?
            .conditions
            .as_ref()?
            .iter()
            .find(|c| c.type_ == "Ready")?
            .clone();
        (c.status == status).then(|| serde_json::to_value(c).unwrap())
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cloudnativepg_walkthrough_generates_pushes_reads_back_and_cleans_up() {
    let (bao, token) = bao_for_walkthrough().await;
    let env = Env::start().await;
    // What CloudNativePG creates for the cluster before ESO takes over the password.
    env.create_secret(
        "default",
        json!({"metadata": {"name": "cluster-example-app"},
            "stringData": {"username": "app", "password": "initial"}}),
    )
    .await;
    apply(&env, &example("01-password-generator.yaml")).await;
    apply(&env, &store_pointing_at(&bao, &token)).await;
    wait_store(&env, "vault-backend", "True").await;
    apply(&env, &example("02-externalsecret-merge.yaml")).await;
    env.wait_ready(
        "default",
        "cluster-example-app-secret",
        "True",
        "SecretSynced",
    )
    .await;
    let merged = env
        .wait_secret("default", "cluster-example-app", |s| {
            data_of(s).get("password").is_some_and(|p| p.len() == 42)
        })
        .await;
    let local = data_of(&merged);
    let password = local["password"].clone();
    assert_eq!(local["username"], "app", "Merge keeps CloudNativePG's keys");
    assert_eq!(
        local["pgpass"],
        format!("cluster-example-rw:5432:app:app:{password}")
    );
    assert_eq!(label(&merged, "cnpg.io/reload"), Some("true"));

    // The PushSecret copies the whole Secret into KV v2 at secrets/cluster-example-app.
    apply(&env, &example("04-pushsecret.yaml")).await;
    wait_push(&env, "pushsecret-example", "Synced").await;
    let remote = bao.kv2_get("secrets", "cluster-example-app").await.unwrap();
    let want: serde_json::Map<String, Value> =
        local.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
    assert_eq!(remote, Value::Object(want));
    let meta = bao
        .kv2_metadata("secrets", "cluster-example-app")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(meta["custom_metadata"]["managed-by"], "external-secrets");

    // Consumers read it back through the same store (extract + template).
    env.create_es(
        "default",
        "read-back",
        json!({"refreshInterval": "1h", "secretStoreRef": {"name": "vault-backend"},
            "target": {"name": "app-from-vault", "template": {"data": {
                "dsn": "postgresql://{{ .username }}:{{ .password }}@db/app"}}},
            "dataFrom": [{"extract": {"key": "cluster-example-app"}}]}),
    )
    .await;
    let read = env
        .wait_secret("default", "app-from-vault", |s| {
            data_of(s).contains_key("dsn")
        })
        .await;
    assert_eq!(
        data_of(&read)["dsn"],
        format!("postgresql://app:{password}@db/app")
    );

    // deletionPolicy Delete: deleting the PushSecret removes exactly what it pushed.
    bao.kv2_put("secrets", "unrelated", &json!({"x": "y"}))
        .await
        .unwrap();
    Api::<PushSecret>::namespaced(env.client.clone(), "default")
        .delete("pushsecret-example", &DeleteParams::default())
        .await
        .unwrap();
    eventually("remote copy deleted", || async {
        bao.kv2_metadata("secrets", "cluster-example-app")
            .await
            .unwrap()
            .is_none()
            .then_some(())
    })
    .await;
    assert_eq!(
        bao.kv2_get("secrets", "unrelated").await.unwrap(),
        json!({"x": "y"})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn if_not_exists_leaves_existing_remote_secrets_and_a_wrong_token_leaves_targets_untouched() {
    let (bao, token) = bao_for_walkthrough().await;
    let env = Env::start().await;
    apply(&env, &store_pointing_at(&bao, &token)).await;
    wait_store(&env, "vault-backend", "True").await;

    // updatePolicy IfNotExists: a remote secret that is already there is left as it is.
    bao.kv2_put("secrets", "taken", &json!({"password": "theirs"}))
        .await
        .unwrap();
    env.create_secret(
        "default",
        json!({"metadata": {"name": "local"}, "stringData": {"password": "ours"}}),
    )
    .await;
    let ps: PushSecret = serde_json::from_value(json!({
        "apiVersion": "external-secrets.io/v1alpha1", "kind": "PushSecret",
        "metadata": {"name": "once", "namespace": "default"},
        "spec": {"updatePolicy": "IfNotExists", "refreshInterval": "1h",
            "secretStoreRefs": [{"name": "vault-backend", "kind": "SecretStore"}],
            "selector": {"secret": {"name": "local"}},
            "data": [
                {"match": {"secretKey": "password", "remoteRef": {"remoteKey": "taken", "property": "password"}}},
                {"match": {"secretKey": "password", "remoteRef": {"remoteKey": "fresh", "property": "password"}}}
            ]}
    }))
    .unwrap();
    Api::<PushSecret>::namespaced(env.client.clone(), "default")
        .create(&PostParams::default(), &ps)
        .await
        .unwrap();
    wait_push(&env, "once", "Synced").await;
    assert_eq!(
        bao.kv2_get("secrets", "taken").await.unwrap(),
        json!({"password": "theirs"})
    );
    assert_eq!(
        bao.kv2_get("secrets", "fresh").await.unwrap(),
        json!({"password": "ours"})
    );

    // A store with a token OpenBao does not know is not Ready, and the Secret an
    // ExternalSecret targets through it keeps its data.
    env.create_secret(
        "default",
        json!({"metadata": {"name": "bad-token"}, "data": {"token": STANDARD.encode("hvs.wrong")}}),
    )
    .await;
    let bad_store = store_pointing_at(&bao, &token)
        .replace("name: vault-backend", "name: vault-bad")
        .replace(r#"name: "vault-token""#, r#"name: "bad-token""#);
    let bad_store = bad_store.split("\n---\n").next().unwrap().to_string();
    apply(&env, &bad_store).await;
    let cond = wait_store(&env, "vault-bad", "False").await;
    assert_eq!(cond["reason"], "InvalidProviderConfig", "{cond}");
    assert!(
        !cond.to_string().contains("hvs.wrong"),
        "the token never shows: {cond}"
    );
    env.create_secret(
        "default",
        json!({"metadata": {"name": "target"}, "stringData": {"password": "keep"}}),
    )
    .await;
    env.create_es(
        "default",
        "through-bad",
        json!({"refreshInterval": "1h", "secretStoreRef": {"name": "vault-bad"},
            "target": {"name": "target", "creationPolicy": "Merge"},
            "data": [{"secretKey": "password", "remoteRef": {"key": "fresh", "property": "password"}}]}),
    )
    .await;
    env.wait_ready("default", "through-bad", "False", "SecretSyncedError")
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let target = env.secret("default", "target").await.unwrap();
    assert_eq!(data_of(&target)["password"], "keep");
}
