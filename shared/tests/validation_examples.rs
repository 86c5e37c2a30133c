//! Every manifest under `examples/` is admitted (no errors), with the namespace policy taken
//! from the Namespace objects and ClusterSecretStore lookups from the stores in the examples.

mod yamlfiles;

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::Value;
use shared::api::v1::ClusterSecretStore;
use shared::policy::NamespacePolicy;
use shared::validation::{ValidationContext, handles, validate};
use yamlfiles::yaml_files;

fn documents() -> Vec<(String, Value)> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples");
    let mut files = Vec::new();
    yaml_files(&root, &mut files);
    let mut docs = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).expect("read");
        let parsed: Vec<Value> = serde_saphyr::from_multiple(&text).expect("yaml");
        for (i, d) in parsed.into_iter().enumerate() {
            if !d.is_null() {
                docs.push((format!("{}#{i}", f.display()), d));
            }
        }
    }
    docs
}

#[test]
fn every_example_validates_clean() {
    let docs = documents();
    let mut stores = BTreeMap::new();
    let mut policies = BTreeMap::new();
    for (_, d) in &docs {
        match d["kind"].as_str() {
            Some("ClusterSecretStore") if d["apiVersion"] == "external-secrets.io/v1" => {
                let css: ClusterSecretStore = serde_json::from_value(d.clone()).expect("css");
                stores.insert(css.metadata.name.clone().unwrap_or_default(), css);
            }
            Some("Namespace") => {
                let name = d["metadata"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string();
                let ann: BTreeMap<String, String> =
                    serde_json::from_value(d["metadata"]["annotations"].clone())
                        .unwrap_or_default();
                policies.insert(
                    name.clone(),
                    NamespacePolicy::from_annotations(&name, &ann, false),
                );
            }
            _ => {}
        }
    }
    let lookup = |n: &str| stores.get(n).cloned();
    let mut checked = 0;
    let mut problems = Vec::new();
    for (name, d) in &docs {
        let (av, kind) = (
            d["apiVersion"].as_str().unwrap_or(""),
            d["kind"].as_str().unwrap_or(""),
        );
        if !handles(av, kind) {
            continue;
        }
        let ns = d["metadata"]["namespace"].as_str().unwrap_or("");
        let ctx = ValidationContext {
            namespace_policy: policies.get(ns).cloned(),
            cluster_store_lookup: &lookup,
            strict: true,
            ..ValidationContext::default()
        };
        let out = validate(d, &ctx);
        checked += 1;
        for e in &out.errors {
            problems.push(format!("{name}: {kind}: {e}"));
        }
    }
    assert!(checked > 20, "only {checked} objects checked");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
