//! The rendered `default` install applied to the API simulator, as `kubectl apply --server-side`
//! would: CRDs first, then everything else. Every object of a kind the simulator serves must be
//! accepted and read back; kinds it does not serve (apps, rbac, policy, networking) are listed so
//! the gap is visible, and are covered by the strict typed decoding in install_render.

mod install_support;

use std::collections::BTreeSet;

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
    // conflicts: kubectl's field manager owns every field it set.
    for obj in objs.iter().filter(|o| applied.contains(kind(o))) {
        apply(&client, &discovery, obj).await.expect("re-apply");
    }
}
