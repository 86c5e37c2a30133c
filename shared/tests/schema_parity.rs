//! Schema parity with ESO 2.9.0 (the CRD side of issue #14).
//!
//! Reads our generated `crds/` and ESO's own CRDs (`../../shared/eso-crds` next to the
//! repository) and compares, per kind and served version, every schema property path inside the
//! scope we implement, plus names, scope, printer columns, selectable fields and subresources.
//! Descriptions are deliberately ignored (ours are our own words).
//!
//! Every difference is printed as one line. Deliberate ones are listed in
//! `shared/schema-parity-exceptions.txt` (`<check id> <reason>`); they still count as misses.
//! The test fails on any unlisted difference, on a stale exception, or below 99% parity.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

/// Provider keys whose schema we implement in full.
const FULL_PROVIDERS: &[&str] = &["aws", "vault", "azurekv", "gcpsm", "kubernetes", "fake"];
/// ClusterGenerator specs we implement in full.
const FULL_GENERATOR_SPECS: &[&str] = &["passwordSpec", "uuidSpec", "fakeSpec"];
/// Schema keywords compared on every node (description and example are prose, not contract).
const COMPARED: &[&str] = &[
    "title",
    "type",
    "format",
    "enum",
    "default",
    "nullable",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "minLength",
    "maxLength",
    "minItems",
    "maxItems",
    "minProperties",
    "maxProperties",
    "pattern",
    "anyOf",
    "x-kubernetes-int-or-string",
    "x-kubernetes-preserve-unknown-fields",
    "x-kubernetes-map-type",
    "x-kubernetes-list-type",
    "x-kubernetes-list-map-keys",
    "x-kubernetes-embedded-resource",
    "x-kubernetes-validations",
];

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// ESO's CRDs live in `shared/eso-crds` beside the checkout (`CARGO_MANIFEST_DIR/../../`);
/// worktrees sit deeper, so every ancestor is tried. `ESO_CRDS_DIR` overrides the search.
fn eso_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("ESO_CRDS_DIR") {
        return PathBuf::from(dir);
    }
    let manifest = manifest_dir();
    let found = manifest
        .ancestors()
        .skip(1)
        .map(|a| a.join("shared/eso-crds"))
        // A clone elsewhere (e.g. a temporary CI checkout) still finds the workplace's copy.
        .chain(std::iter::once(PathBuf::from("/work/shared/eso-crds")))
        .find(|d| d.join("external-secrets.io_externalsecrets.yaml").is_file());
    found.unwrap_or_else(|| {
        panic!(
            "ESO reference CRDs not found: expected {} (the shared/eso-crds folder beside the \
             repository) or ESO_CRDS_DIR",
            manifest.join("../../shared/eso-crds").display()
        )
    })
}

fn load_dir(dir: &Path) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("read {}: {e}", dir.display()));
    for entry in entries {
        let path = entry.expect("dir entry").path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if !name.ends_with(".yaml") || name == "kustomization.yaml" {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("read CRD");
        let value: Value = serde_saphyr::from_str(&text)
            .unwrap_or_else(|e| panic!("parse {}: {e}", path.display()));
        let crd_name = value["metadata"]["name"]
            .as_str()
            .expect("CRD name")
            .to_string();
        out.insert(crd_name, value);
    }
    out
}

/// Node attributes that take part in the comparison, normalised.
fn attrs(node: &Value) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    for key in COMPARED {
        if let Some(v) = node.get(*key) {
            out.insert((*key).to_string(), v.clone());
        }
    }
    if let Some(req) = node.get("required").and_then(Value::as_array) {
        let set: BTreeSet<&str> = req.iter().filter_map(Value::as_str).collect();
        out.insert("required".into(), json!(set));
    }
    out
}

/// Whether `path` is inside the compared scope; `Presence` nodes are only checked to exist.
#[derive(PartialEq)]
enum Scope {
    Full,
    Presence,
    Skip,
}

fn scope(path: &str) -> Scope {
    for (prefix, full) in [
        (".spec.provider.", FULL_PROVIDERS),
        (".spec.generator.", FULL_GENERATOR_SPECS),
    ] {
        if let Some(rest) = path.strip_prefix(prefix) {
            let key = rest.split(['.', '[', '{']).next().unwrap_or_default();
            if full.contains(&key) {
                return Scope::Full;
            }
            return if rest == key {
                Scope::Presence
            } else {
                Scope::Skip
            };
        }
    }
    Scope::Full
}

fn walk(node: &Value, path: &str, out: &mut BTreeMap<String, BTreeMap<String, Value>>) {
    match scope(path) {
        Scope::Skip => return,
        Scope::Presence => {
            out.insert(path.to_string(), BTreeMap::new());
            return;
        }
        Scope::Full => {
            out.insert(path.to_string(), attrs(node));
        }
    }
    if let Some(props) = node.get("properties").and_then(Value::as_object) {
        for (k, v) in props {
            walk(v, &format!("{path}.{k}"), out);
        }
    }
    if let Some(items) = node.get("items") {
        walk(items, &format!("{path}[]"), out);
    }
    if let Some(ap) = node.get("additionalProperties").filter(|v| v.is_object()) {
        walk(ap, &format!("{path}{{}}"), out);
    }
}

fn schema_paths(version: &Value) -> BTreeMap<String, BTreeMap<String, Value>> {
    let mut out = BTreeMap::new();
    walk(&version["schema"]["openAPIV3Schema"], "", &mut out);
    out
}

fn version_meta(v: &Value) -> Value {
    json!({
        "served": v["served"], "storage": v["storage"],
        "deprecated": v.get("deprecated").cloned().unwrap_or(json!(false)),
    })
}

struct Report {
    checks: usize,
    diffs: Vec<(String, String)>,
}

impl Report {
    fn check(&mut self, id: String, ours: &Value, theirs: &Value) {
        self.checks += 1;
        if ours != theirs {
            self.diffs.push((id, format!("ours={ours} eso={theirs}")));
        }
    }
}

fn compare_crd(name: &str, ours: &Value, eso: &Value, r: &mut Report) {
    let label = "/metadata/labels/external-secrets.io~1component";
    r.check(
        format!("{name}:label"),
        &ours.pointer(label).cloned().unwrap_or_default(),
        &eso.pointer(label).cloned().unwrap_or_default(),
    );
    r.check(
        format!("{name}:scope"),
        &ours["spec"]["scope"],
        &eso["spec"]["scope"],
    );
    r.check(
        format!("{name}:group"),
        &ours["spec"]["group"],
        &eso["spec"]["group"],
    );
    for field in [
        "kind",
        "listKind",
        "plural",
        "singular",
        "shortNames",
        "categories",
    ] {
        r.check(
            format!("{name}:names.{field}"),
            &ours["spec"]["names"][field],
            &eso["spec"]["names"][field],
        );
    }
    let empty = vec![];
    let our_versions = ours["spec"]["versions"].as_array().unwrap_or(&empty);
    for ev in eso["spec"]["versions"].as_array().unwrap_or(&empty) {
        let vname = ev["name"].as_str().unwrap_or_default();
        let id = format!("{name}@{vname}");
        let Some(ov) = our_versions.iter().find(|v| v["name"] == ev["name"]) else {
            r.check(format!("{id}:present"), &json!(false), &json!(true));
            continue;
        };
        r.check(format!("{id}:flags"), &version_meta(ov), &version_meta(ev));
        if ev["served"] != json!(true) {
            continue;
        }
        for field in [
            "additionalPrinterColumns",
            "selectableFields",
            "subresources",
        ] {
            r.check(format!("{id}:{field}"), &ov[field], &ev[field]);
        }
        let theirs = schema_paths(ev);
        let mine = schema_paths(ov);
        for (path, attrs) in &theirs {
            let id = format!("{id}:{path}");
            match mine.get(path) {
                Some(m) => r.check(id, &json!(m), &json!(attrs)),
                None => r.check(id, &json!("<missing>"), &json!(attrs)),
            }
        }
        for (path, attrs) in &mine {
            if !theirs.contains_key(path) {
                r.check(
                    format!("{id}:{path}"),
                    &json!(attrs),
                    &json!("<absent in ESO>"),
                );
            }
        }
    }
}

fn load_exceptions() -> BTreeMap<String, String> {
    let path = manifest_dir().join("schema-parity-exceptions.txt");
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    let mut out = BTreeMap::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (id, reason) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
        assert!(
            !reason.trim().is_empty(),
            "exception without a reason: {line}"
        );
        out.insert(id.to_string(), reason.trim().to_string());
    }
    out
}

#[test]
fn generated_crds_match_eso_schema() {
    let eso = load_dir(&eso_dir());
    let ours = load_dir(&manifest_dir().join("../crds"));
    assert!(!eso.is_empty(), "no ESO CRDs found");
    let mut report = Report {
        checks: 0,
        diffs: Vec::new(),
    };
    for (name, eso_crd) in &eso {
        match ours.get(name) {
            Some(our_crd) => compare_crd(name, our_crd, eso_crd, &mut report),
            None => report.check(format!("{name}:present"), &json!(false), &json!(true)),
        }
    }
    let exceptions = load_exceptions();
    let matched = report.checks - report.diffs.len();
    let pct = 100.0 * matched as f64 / report.checks.max(1) as f64;
    println!("schema parity: {matched}/{} ({pct:.2}%)", report.checks);
    let mut unlisted = Vec::new();
    for (id, detail) in &report.diffs {
        let tag = if exceptions.contains_key(id) {
            "listed"
        } else {
            "UNLISTED"
        };
        println!("  [{tag}] {id} {detail}");
        if tag == "UNLISTED" {
            unlisted.push(id.clone());
        }
    }
    let seen: BTreeSet<&String> = report.diffs.iter().map(|(id, _)| id).collect();
    let stale: Vec<&String> = exceptions.keys().filter(|id| !seen.contains(id)).collect();
    assert!(
        stale.is_empty(),
        "exceptions that no longer differ (remove them): {stale:?}"
    );
    assert!(
        unlisted.is_empty(),
        "{} unlisted differences: {unlisted:?}",
        unlisted.len()
    );
    assert!(pct >= 99.0, "schema parity {pct:.2}% is below 99%");
}
