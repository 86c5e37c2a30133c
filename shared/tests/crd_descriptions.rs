//! Every property in every generated schema is documented, in our own words: a non-empty
//! description that is not ESO's description of the same field.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::Value;

fn collect(node: &Value, path: &str, out: &mut BTreeMap<String, String>) {
    if let Some(props) = node.get("properties").and_then(Value::as_object) {
        for (k, v) in props {
            let p = format!("{path}.{k}");
            let d = v
                .get("description")
                .and_then(Value::as_str)
                .unwrap_or_default();
            out.insert(p.clone(), d.to_string());
            collect(v, &p, out);
        }
    }
    if let Some(items) = node.get("items") {
        collect(items, &format!("{path}[]"), out);
    }
    if let Some(ap) = node.get("additionalProperties").filter(|v| v.is_object()) {
        collect(ap, &format!("{path}{{}}"), out);
    }
}

fn descriptions(crd: &Value) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for v in crd["spec"]["versions"].as_array().into_iter().flatten() {
        let name = v["name"].as_str().unwrap_or_default();
        collect(
            &v["schema"]["openAPIV3Schema"],
            &format!("@{name}:"),
            &mut out,
        );
    }
    out
}

fn ours() -> BTreeMap<String, Value> {
    shared::api::all_crds()
        .iter()
        .map(|crd| {
            let v = serde_json::to_value(crd).expect("CRD serializes");
            (crd.metadata.name.clone().unwrap_or_default(), v)
        })
        .collect()
}

fn eso_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("ESO_CRDS_DIR") {
        return Some(dir.into());
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .skip(1)
        .map(|a| a.join("shared/eso-crds"))
        // A clone elsewhere (e.g. a temporary CI checkout) still finds the workplace's copy.
        .chain(std::iter::once(PathBuf::from("/work/shared/eso-crds")))
        .find(|d| d.join("external-secrets.io_externalsecrets.yaml").is_file())
}

#[test]
fn every_property_has_a_description() {
    let mut missing = Vec::new();
    for (name, crd) in ours() {
        for (path, d) in descriptions(&crd) {
            if d.trim().is_empty() {
                missing.push(format!("{name}{path}"));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "{} undocumented properties:\n{}",
        missing.len(),
        missing.join("\n")
    );
}

#[test]
fn descriptions_are_not_copied_from_eso() {
    let dir = eso_dir().expect("ESO reference CRDs (shared/eso-crds beside the repository)");
    let mut copied = Vec::new();
    for (name, crd) in ours() {
        let file = dir.join(format!(
            "{}_{}.yaml",
            crd["spec"]["group"].as_str().unwrap_or_default(),
            crd["spec"]["names"]["plural"].as_str().unwrap_or_default()
        ));
        let Ok(text) = std::fs::read_to_string(&file) else {
            continue;
        };
        let eso: Value = serde_saphyr::from_str(&text).expect("ESO CRD parses");
        let theirs = descriptions(&eso);
        for (path, d) in descriptions(&crd) {
            // Very short texts ("Name of the Secret.") can coincide without copying.
            if d.len() > 30 && theirs.get(&path).is_some_and(|t| t.trim() == d.trim()) {
                copied.push(format!("{name}{path}"));
            }
        }
    }
    assert!(
        copied.is_empty(),
        "descriptions identical to ESO's:\n{}",
        copied.join("\n")
    );
}
