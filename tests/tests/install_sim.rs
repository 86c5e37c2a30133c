//! The rendered `default` install applied to the API simulator, as `kubectl apply --server-side`
//! would: CRDs first, then everything else. Every object of a kind the simulator serves must be
//! accepted and read back; kinds it does not serve (apps, rbac, policy, networking) are listed so
//! the gap is visible, and are covered by the strict typed decoding in install_render.

mod install_support;

use std::collections::BTreeSet;

use install_support::webhook_sim::{apply_install, start_webhook};
use install_support::*;
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use kube::discovery::{ApiResource, Discovery, Scope};
use serde_json::Value;
use tests::sim::Sim;

fn resource_for(discovery: &Discovery, obj: &Value) -> Option<(ApiResource, Scope)> {
    let api_version = obj["apiVersion"].as_str()?;
    let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
    discovery
        .get(group)?
        .versioned_resources(version)
        .into_iter()
        .find(|(ar, _)| ar.kind == kind(obj))
        .map(|(ar, caps)| (ar, caps.scope))
}

async fn apply(client: &kube::Client, discovery: &Discovery, obj: &Value) -> Result<bool, String> {
    let Some((ar, scope)) = resource_for(discovery, obj) else {
        return Ok(false);
    };
    let api: Api<DynamicObject> = match scope {
        Scope::Namespaced => Api::namespaced_with(
            client.clone(),
            obj["metadata"]["namespace"].as_str().unwrap_or("default"),
            &ar,
        ),
        Scope::Cluster => Api::all_with(client.clone(), &ar),
    };
    let pp = PatchParams::apply("kubectl").force();
    api.patch(name(obj), &pp, &Patch::Apply(obj))
        .await
        .map_err(|e| format!("{}: {e}", describe(obj)))?;
    let back = api
        .get(name(obj))
        .await
        .map_err(|e| format!("{} read back: {e}", describe(obj)))?;
    // What we asked for is what is stored (labels as a sample of metadata, and the spec-like
    // top-level fields by key).
    let stored = serde_json::to_value(&back).map_err(|e| e.to_string())?;
    // (The apiserver may add labels, e.g. kubernetes.io/metadata.name on Namespaces.)
    for (k, v) in obj["metadata"]["labels"].as_object().into_iter().flatten() {
        if &stored["metadata"]["labels"][k] != v {
            return Err(format!(
                "{}: label {k} changed on the way in",
                describe(obj)
            ));
        }
    }
    for key in ["spec", "webhooks", "rules"] {
        if (obj[key].is_object() || obj[key].is_array()) && stored[key].is_null() {
            return Err(format!("{}: {key} dropped", describe(obj)));
        }
    }
    Ok(true)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn default_install_is_accepted_by_the_api_server() {
    let objs = render("kustomize/default");
    let sim = Sim::start().await.expect("simulator");
    let client = sim.client();

    let (crds, rest): (Vec<&Value>, Vec<&Value>) = objs
        .iter()
        .partition(|o| kind(o) == "CustomResourceDefinition");
    let discovery = Discovery::new(client.clone())
        .run()
        .await
        .expect("discovery");
    for crd in &crds {
        assert!(
            apply(&client, &discovery, crd).await.expect("CRD accepted"),
            "simulator does not serve CRDs"
        );
    }
    sim.settle().await;
    // Namespaces before the objects in them.
    let (namespaces, rest): (Vec<&Value>, Vec<&Value>) =
        rest.into_iter().partition(|o| kind(o) == "Namespace");
    let discovery = Discovery::new(client.clone())
        .run()
        .await
        .expect("discovery");
    for served in ["externalsecrets", "clustersecretstores", "generatorstates"] {
        assert!(
            discovery
                .groups()
                .flat_map(|g| g.recommended_resources())
                .any(|(ar, _)| ar.plural == served),
            "installed CRDs are not served: {served}"
        );
    }
    let mut applied = BTreeSet::new();
    let mut not_served = BTreeSet::new();
    let mut errors = Vec::new();
    for obj in namespaces.into_iter().chain(rest) {
        match apply(&client, &discovery, obj).await {
            Ok(true) => {
                applied.insert(kind(obj).to_string());
            }
            Ok(false) => {
                not_served.insert(format!(
                    "{}/{}",
                    obj["apiVersion"].as_str().unwrap_or(""),
                    kind(obj)
                ));
            }
            Err(e) => errors.push(e),
        }
    }
    assert!(errors.is_empty(), "rejected:\n{}", errors.join("\n"));
    for k in [
        "Namespace",
        "ServiceAccount",
        "Secret",
        "ValidatingWebhookConfiguration",
        "MutatingWebhookConfiguration",
    ] {
        assert!(
            applied.contains(k),
            "{k} was not applied (applied: {applied:?})"
        );
    }
    println!("applied kinds: {applied:?}; not served by the simulator: {not_served:?}");

    // Applying the same install again (an upgrade with no changes) is accepted without
    // conflicts (kubectl's field manager owns every field it set) and changes nothing stored.
    let before = sim.counters().writes;
    for obj in objs.iter().filter(|o| applied.contains(kind(o))) {
        apply(&client, &discovery, obj).await.expect("re-apply");
    }
    let after = sim.counters().writes;
    let rewritten: Vec<&String> = after
        .iter()
        .filter(|(k, n)| before.get(*k) != Some(*n))
        .map(|(k, _)| k)
        .collect();
    assert!(
        rewritten.is_empty(),
        "re-applying the unchanged install wrote {rewritten:?}"
    );
}

/// The webhook configurations of the rendered install route admission to the webhook (running
/// in-process as its Deployment would, with the install's RBAC): a valid ExternalSecret is
/// accepted and comes back defaulted by the mutating webhook; invalid ones are refused with the
/// webhook's message, through the API.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn default_install_routes_admission_to_the_webhook() {
    let objs = render("kustomize/default");
    let sim = Sim::start().await.expect("simulator");
    apply_install(&sim, &objs).await;
    let webhook = start_webhook(&sim, &objs).await;
    let client = sim.client();
    let ns: k8s_openapi::api::core::v1::Namespace = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "team-a", "annotations": {
            "externalsecrets.kubernetes-client.io/permitted-key-name": "team-a/.*"}}
    }))
    .expect("namespace");
    Api::<k8s_openapi::api::core::v1::Namespace>::all(client.clone())
        .create(&Default::default(), &ns)
        .await
        .expect("namespace created");
    let es_api: Api<shared::api::v1::ExternalSecret> = Api::namespaced(client.clone(), "team-a");
    let es = |name: &str, key: &str, target: serde_json::Value| {
        serde_json::from_value::<shared::api::v1::ExternalSecret>(serde_json::json!({
            "apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret",
            "metadata": {"name": name, "namespace": "team-a"},
            "spec": {"secretStoreRef": {"name": "vault", "kind": "SecretStore"},
                     "target": target,
                     "data": [{"secretKey": "password", "remoteRef": {"key": key}}]}
        }))
        .expect("es")
    };
    let pp = kube::api::PostParams::default();

    // Accepted, and defaulted by the mutating webhook on the way in.
    let created = es_api
        .create(
            &pp,
            &es("fine", "team-a/db", serde_json::json!({"name": "db"})),
        )
        .await
        .expect("a valid ExternalSecret is admitted");
    let stored = serde_json::to_value(&created).expect("json");
    // ESO's default of one hour, in either Go spelling.
    assert!(
        matches!(
            stored["spec"]["refreshInterval"].as_str(),
            Some("1h" | "1h0m0s")
        ),
        "{stored}"
    );
    assert_eq!(
        stored["spec"]["target"]["creationPolicy"], "Owner",
        "{stored}"
    );

    // Rule violation: the webhook's message comes back through the API.
    let err = es_api
        .create(
            &pp,
            &es(
                "bad-policy",
                "team-a/db",
                serde_json::json!({"creationPolicy": "Merge", "deletionPolicy": "Delete"}),
            ),
        )
        .await
        .expect_err("Delete with Merge is denied");
    let kube::Error::Api(status) = err else {
        panic!("expected an API error, got {err}");
    };
    assert_eq!(status.code, 403, "{status:?}");
    assert!(
        status.message.contains("denied the request")
            && status
                .message
                .contains("spec.target.deletionPolicy: Delete requires creationPolicy Owner"),
        "{}",
        status.message
    );

    // Namespace policy: the webhook learned team-a's annotation from its watch.
    install_support::webhook_sim::eventually("the namespace policy applied", || {
        let es_api = es_api.clone();
        let bad = es("other-team", "team-b/db", serde_json::json!({}));
        async move {
            match es_api.create(&kube::api::PostParams::default(), &bad).await {
                Err(kube::Error::Api(s)) => {
                    s.message.contains("spec.data[0].remoteRef.key")
                        && s.message.contains("team-b/db")
                }
                _ => false,
            }
        }
    })
    .await;
    assert!(
        es_api.get_opt("other-team").await.expect("get").is_none(),
        "a denied object is not stored"
    );
    // Everything the webhook did went through its own RBAC without a refusal.
    let refused = webhook.denied.lock().expect("lock").clone();
    assert!(refused.is_empty(), "the install's RBAC refused {refused:?}");
}
