//! Migrating from Go ESO 2.9: a cluster where ESO already synced an ExternalSecret (store Ready,
//! ES finalized and Ready, target Secret carrying ESO's labels, data hash, owner reference and
//! managed-fields entry) is taken over by this controller without rewriting the Secret. A real
//! change of the remote value afterwards is written exactly once, under ESO's field manager.

mod install_support;

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::time::Duration;

use chrono::{SecondsFormat, Utc};
use k8s_openapi::api::core::v1::{Namespace, Secret};
use kube::api::{Patch, PatchParams, PostParams};
use kube::{Api, Client};
use serde_json::{Value, json};
use shared::api::v1::{ExternalSecret, SecretStore};
use shared::hash::{
    created_by_label, field_manager_for, object_hash_secret_data, synced_resource_version,
};
use tests::sim::Sim;
use tokio::sync::oneshot;

const NS: &str = "apps";
const ES: &str = "db";
const TARGET: &str = "db-creds";
const TIMEOUT: Duration = Duration::from_secs(60);
/// How long a quiet period is watched for stray writes after the controller has acted.
const QUIET: Duration = Duration::from_secs(3);

async fn eventually<T, F, Fut>(what: &str, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + TIMEOUT;
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn rfc3339(t: chrono::DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn store_spec(value: &str) -> Value {
    json!({"provider": {"fake": {"data": [{"key": "db-pass", "value": value}]}}})
}

/// The store as ESO left it: spec plus a Ready status from ESO's store reconciler.
async fn seed_store(client: &Client) {
    let api: Api<SecretStore> = Api::namespaced(client.clone(), NS);
    let store: SecretStore = serde_json::from_value(json!({
        "apiVersion": "external-secrets.io/v1", "kind": "SecretStore",
        "metadata": {"name": "fake", "namespace": NS},
        "spec": store_spec("v1"),
    }))
    .expect("store");
    api.create(&PostParams::default(), &store)
        .await
        .expect("create store");
    let status = json!({"status": {
        "capabilities": "ReadWrite",
        "conditions": [{
            "type": "Ready", "status": "True", "reason": "Valid",
            "message": "store validated",
            "lastTransitionTime": rfc3339(Utc::now() - chrono::Duration::hours(3)),
        }],
    }});
    api.patch_status("fake", &PatchParams::default(), &Patch::Merge(status))
        .await
        .expect("store status");
}

/// The ExternalSecret with ESO's finalizer and the status ESO wrote after its last sync, which
/// was two hours ago (longer than `refreshInterval`: the new controller refreshes at once and
/// must find nothing to change).
async fn seed_external_secret(client: &Client) -> ExternalSecret {
    let api: Api<ExternalSecret> = Api::namespaced(client.clone(), NS);
    let es: ExternalSecret = serde_json::from_value(json!({
        "apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret",
        "metadata": {
            "name": ES, "namespace": NS,
            "finalizers": ["externalsecrets.external-secrets.io/externalsecret-cleanup"],
        },
        "spec": {
            "refreshInterval": "1h",
            "secretStoreRef": {"name": "fake", "kind": "SecretStore"},
            "target": {"name": TARGET, "creationPolicy": "Owner"},
            "data": [{"secretKey": "password", "remoteRef": {"key": "db-pass"}}],
        },
    }))
    .expect("es");
    let created = api
        .create(&PostParams::default(), &es)
        .await
        .expect("create es");
    let generation = created.metadata.generation.expect("generation");
    let synced_at = rfc3339(Utc::now() - chrono::Duration::hours(2));
    let status = json!({"status": {
        "conditions": [{
            "type": "Ready", "status": "True", "reason": "SecretSynced",
            "message": "secret synced", "lastTransitionTime": synced_at,
        }],
        "refreshTime": synced_at,
        "syncedResourceVersion":
            synced_resource_version(generation, &BTreeMap::new(), &BTreeMap::new()),
        "binding": {"name": TARGET},
    }});
    api.patch_status(ES, &PatchParams::default(), &Patch::Merge(status))
        .await
        .expect("es status")
}

/// The target Secret exactly as ESO's reconciler creates it: a plain create under the field
/// manager `externalsecrets.external-secrets.io/<es>`, so the API server records ESO's
/// managed-fields entry (Update; data keys, labels, annotations, ownerReferences).
async fn seed_secret(client: &Client, es: &ExternalSecret, value: &str) {
    let data = BTreeMap::from([("password".to_string(), value.as_bytes().to_vec())]);
    let secret: Secret = serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {
            "name": TARGET, "namespace": NS,
            "labels": {
                "reconcile.external-secrets.io/managed": "true",
                "reconcile.external-secrets.io/created-by": created_by_label(NS, ES),
            },
            "annotations": {
                "reconcile.external-secrets.io/data-hash": object_hash_secret_data(&data),
            },
            "ownerReferences": [{
                "apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret",
                "name": ES, "uid": es.metadata.uid.clone().expect("uid"),
                "controller": true, "blockOwnerDeletion": true,
            }],
        },
        "type": "Opaque",
        "data": {"password": base64_of(value)},
    }))
    .expect("secret");
    let pp = PostParams {
        dry_run: false,
        field_manager: Some(format!("externalsecrets.external-secrets.io/{ES}")),
    };
    Api::<Secret>::namespaced(client.clone(), NS)
        .create(&pp, &secret)
        .await
        .expect("create secret");
}

fn base64_of(s: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(s)
}

fn secret_writes(sim: &Sim) -> u64 {
    sim.counters()
        .writes
        .get(&format!("secrets/{NS}/{TARGET}"))
        .copied()
        .unwrap_or(0)
}

fn managers(secret: &Secret) -> Vec<String> {
    secret
        .metadata
        .managed_fields
        .iter()
        .flatten()
        .filter_map(|m| m.manager.clone())
        .collect()
}

/// `status.refreshTime` read from the simulator's store directly, so polling adds no requests to
/// the counters the RBAC check below looks at.
fn refresh_time(sim: &Sim) -> Option<String> {
    let es = sim.object("externalsecrets.external-secrets.io", NS, ES)?;
    es["status"]["refreshTime"].as_str().map(String::from)
}

/// (apiGroup, resource, verb) the default install grants the controller's ServiceAccount
/// (ClusterRole and the leader-election Role).
fn controller_grants() -> BTreeSet<(String, String, String)> {
    let objs = install_support::render("kustomize/default");
    let strings = |v: &Value| -> Vec<String> {
        v.as_array()
            .into_iter()
            .flatten()
            .filter_map(|s| s.as_str().map(String::from))
            .collect()
    };
    let mut out = BTreeSet::new();
    for binding in objs.iter().filter(|o| {
        matches!(
            install_support::kind(o),
            "RoleBinding" | "ClusterRoleBinding"
        ) && o["subjects"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|s| s["name"] == "external-secrets-controller")
    }) {
        let role = install_support::find(
            &objs,
            binding["roleRef"]["kind"].as_str().unwrap_or_default(),
            binding["roleRef"]["name"].as_str().unwrap_or_default(),
        );
        for rule in role["rules"].as_array().into_iter().flatten() {
            for g in strings(&rule["apiGroups"]) {
                for r in strings(&rule["resources"]) {
                    for v in strings(&rule["verbs"]) {
                        out.insert((g.clone(), r.clone(), v));
                    }
                }
            }
        }
    }
    out
}

/// Requests the simulator counted as (verb, `plural[.group]`) that the install does not grant.
/// The counters do not record subresources, so a grant on the resource or any of its
/// subresources covers a request.
fn ungranted(requests: &BTreeMap<(String, String), u64>) -> Vec<String> {
    let grants = controller_grants();
    requests
        .keys()
        .filter(|(verb, qualified)| {
            let (plural, group) = qualified.split_once('.').unwrap_or((qualified, ""));
            !grants
                .iter()
                .any(|(g, r, v)| g == group && v == verb && r.split('/').next() == Some(plural))
        })
        .map(|(verb, res)| format!("{verb} {res}"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn takes_over_an_eso_synced_secret_without_rewriting_it() {
    let sim = Sim::start().await.expect("simulator");
    sim.install_crds(&shared::api::all_crds())
        .await
        .expect("CRDs");
    let client = sim.client();
    let ns: Namespace = serde_json::from_value(
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}}),
    )
    .expect("namespace");
    Api::<Namespace>::all(client.clone())
        .create(&PostParams::default(), &ns)
        .await
        .expect("namespace");

    seed_store(&client).await;
    let es = seed_external_secret(&client).await;
    seed_secret(&client, &es, "v1").await;
    let seeded_refresh = refresh_time(&sim).expect("seeded refreshTime");
    let seeded = Api::<Secret>::namespaced(client.clone(), NS)
        .get(TARGET)
        .await
        .expect("seeded secret");
    let eso_manager = format!("externalsecrets.external-secrets.io/{ES}");
    assert_eq!(managers(&seeded), vec![eso_manager.clone()]);
    assert_eq!(
        field_manager_for(ES),
        eso_manager,
        "our controller writes under ESO's field manager"
    );
    assert_eq!(secret_writes(&sim), 1, "the seed itself is one write");
    // From here on the counters see (almost) only the controller's requests.
    sim.reset_counters();
    let writes_before = 0;

    // Start this controller in place of ESO.
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let ctl_client = client.clone();
    let controller = tokio::spawn(async move {
        let shutdown = async move {
            let _ = stop_rx.await;
        };
        controller::run_controllers(ctl_client, controller::Config::default(), shutdown)
            .await
            .expect("controllers run");
    });

    // The stale refreshTime makes the controller refresh right away: fetch the remote value,
    // compute the Secret, compare it with ESO's, and record the sync in the status.
    eventually(
        "the controller to refresh the migrated ExternalSecret",
        || {
            let t = refresh_time(&sim).filter(|t| *t != seeded_refresh);
            async move { t }
        },
    )
    .await;
    tokio::time::sleep(QUIET).await;
    assert_eq!(
        secret_writes(&sim) - writes_before,
        0,
        "the controller rewrote the Secret ESO had already synced: {:?}",
        sim.counters().writes
    );
    // Every request the controller made while starting and syncing is one its RBAC allows
    // (the test itself only read through the simulator's store so far).
    let requests = sim.counters().requests;
    assert!(
        requests.keys().any(|(v, r)| v == "watch" && r == "secrets"),
        "the counters did not see the controller: {requests:?}"
    );
    let missing = ungranted(&requests);
    assert!(
        missing.is_empty(),
        "the controller made requests its install RBAC does not grant: {missing:?}"
    );
    let es_now = Api::<ExternalSecret>::namespaced(client.clone(), NS)
        .get(ES)
        .await
        .expect("es");
    let ready = es_now
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .and_then(|c| c.iter().find(|c| c.type_ == "Ready"))
        .map(|c| (c.status.clone(), c.reason.clone()));
    assert_eq!(
        ready,
        Some(("True".to_string(), Some("SecretSynced".to_string())))
    );

    // A real change of the remote value (plus ESO's documented force-sync annotation, since
    // refreshInterval is 1h): written once, under ESO's field manager.
    Api::<SecretStore>::namespaced(client.clone(), NS)
        .patch(
            "fake",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": store_spec("v2")})),
        )
        .await
        .expect("update remote value");
    // The controller resolves stores from a watch-fed index and caches provider clients per
    // store generation; no object records that the index has caught up, so give the watch
    // event a moment (it arrives in milliseconds in-process) before forcing the refresh.
    tokio::time::sleep(Duration::from_secs(1)).await;
    Api::<ExternalSecret>::namespaced(client.clone(), NS)
        .patch(
            ES,
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"annotations": {"force-sync": "1"}}})),
        )
        .await
        .expect("force-sync");
    let secrets: Api<Secret> = Api::namespaced(client.clone(), NS);
    let updated = eventually("the new remote value in the Secret", || {
        let secrets = secrets.clone();
        async move {
            let s = secrets.get(TARGET).await.ok()?;
            let v = s.data.as_ref()?.get("password")?.0.clone();
            (v == b"v2").then_some(s)
        }
    })
    .await;
    tokio::time::sleep(QUIET).await;
    assert_eq!(
        secret_writes(&sim) - writes_before,
        1,
        "one remote change must be one Secret write"
    );
    let data = BTreeMap::from([("password".to_string(), b"v2".to_vec())]);
    assert_eq!(
        updated
            .metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get("reconcile.external-secrets.io/data-hash"))
            .cloned(),
        Some(object_hash_secret_data(&data))
    );
    assert_eq!(
        managers(&updated),
        vec![eso_manager],
        "the Secret keeps a single owner: ESO's field manager"
    );

    let _ = stop_tx.send(());
    let _ = tokio::time::timeout(TIMEOUT, controller).await;
}
