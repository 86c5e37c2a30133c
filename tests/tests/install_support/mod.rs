//! Shared helpers of the install tests: rendering kustomizations with the real `kubectl kustomize`,
//! typed decoding of rendered objects, and lookups into a rendered install.

#![allow(dead_code)]

pub mod api_scan;
pub mod controller_audit;
pub mod rbac_proxy;
pub mod webhook_sim;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex, OnceLock};

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// The install namespace every manifest uses.
pub const NAMESPACE: &str = "external-secrets";

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .canonicalize()
        .expect("repository root")
}

/// `kubectl` from `KUBECTL`, else PATH, else /usr/bin/kubectl. Missing kubectl fails the test:
/// CI installs it.
pub fn kubectl() -> PathBuf {
    if let Ok(k) = std::env::var("KUBECTL") {
        return PathBuf::from(k);
    }
    if let Some(paths) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&paths) {
            let candidate = dir.join("kubectl");
            if candidate.is_file() {
                return candidate;
            }
        }
    }
    let fallback = PathBuf::from("/usr/bin/kubectl");
    assert!(
        fallback.is_file(),
        "kubectl not found (set KUBECTL or put it on PATH)"
    );
    fallback
}

/// Renders a kustomization directory (relative to the repository root) into its objects.
pub fn render(dir: &str) -> Vec<Value> {
    render_path(&repo_root().join(dir))
}

/// Renders are memoised per test binary (kustomize takes a second or two per install); parallel
/// tests asking for the same directory wait for one render.
pub fn render_path(dir: &Path) -> Vec<Value> {
    type Cell = Arc<OnceLock<Vec<Value>>>;
    static CACHE: OnceLock<Mutex<HashMap<PathBuf, Cell>>> = OnceLock::new();
    let cell = CACHE
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .entry(dir.to_path_buf())
        .or_default()
        .clone();
    cell.get_or_init(|| render_uncached(dir)).clone()
}

fn render_uncached(dir: &Path) -> Vec<Value> {
    let out = Command::new(kubectl())
        .arg("kustomize")
        .arg(dir)
        .output()
        .unwrap_or_else(|e| panic!("running kubectl kustomize {}: {e}", dir.display()));
    assert!(
        out.status.success(),
        "kubectl kustomize {} failed:\n{}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).expect("kustomize output is UTF-8");
    let docs: Vec<Value> = serde_saphyr::from_multiple(&text)
        .unwrap_or_else(|e| panic!("parsing kustomize output of {}: {e}", dir.display()));
    docs.into_iter().filter(|d| !d.is_null()).collect()
}

/// Renders an overlay of `resources` plus `components` (paths relative to the repository root),
/// written under the cargo target tmp dir because kustomize refuses absolute paths.
pub fn render_overlay(name: &str, resources: &[&str], components: &[&str]) -> Vec<Value> {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("install-overlays")
        .join(name);
    std::fs::create_dir_all(&dir).expect("overlay dir");
    let up = relative_to_root(&dir);
    let list = |items: &[&str]| {
        items
            .iter()
            .map(|i| format!("- {up}/{i}\n"))
            .collect::<String>()
    };
    let text = format!(
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n{}components:\n{}",
        list(resources),
        list(components)
    );
    let file = dir.join("kustomization.yaml");
    if std::fs::read_to_string(&file).ok().as_deref() != Some(text.as_str()) {
        std::fs::write(&file, text).expect("write overlay");
    }
    render_path(&dir)
}

/// The relative path leading from `dir` to the repository root.
fn relative_to_root(dir: &Path) -> String {
    let root_path = repo_root();
    let dir_path = dir.canonicalize().expect("overlay dir exists");
    let root: Vec<_> = root_path.components().collect();
    let dir: Vec<_> = dir_path.components().collect();
    let common = root.iter().zip(&dir).take_while(|(a, b)| a == b).count();
    let mut parts: Vec<String> = vec!["..".to_string(); dir.len() - common];
    parts.extend(
        root[common..]
            .iter()
            .map(|c| c.as_os_str().to_string_lossy().into_owned()),
    );
    parts.join("/")
}

pub fn kind(obj: &Value) -> &str {
    obj["kind"].as_str().unwrap_or_default()
}

pub fn name(obj: &Value) -> &str {
    obj["metadata"]["name"].as_str().unwrap_or_default()
}

pub fn describe(obj: &Value) -> String {
    format!("{}/{}", kind(obj), name(obj))
}

/// The one object of `kind` named `name`.
pub fn find<'a>(objs: &'a [Value], kind_: &str, name_: &str) -> &'a Value {
    objs.iter()
        .find(|o| kind(o) == kind_ && name(o) == name_)
        .unwrap_or_else(|| panic!("no {kind_}/{name_} in the rendered install"))
}

/// The Roles and ClusterRoles bound to `service_account` (of the install namespace) through
/// any (Cluster)RoleBinding, one entry per binding.
pub fn roles_bound_to<'a>(objs: &'a [Value], service_account: &str) -> Vec<&'a Value> {
    objs.iter()
        .filter(|o| matches!(kind(o), "RoleBinding" | "ClusterRoleBinding"))
        .filter(|binding| {
            binding["subjects"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|s| {
                    s["kind"] == "ServiceAccount"
                        && s["name"] == service_account
                        && s["namespace"] == NAMESPACE
                })
        })
        .map(|binding| {
            let role_ref = &binding["roleRef"];
            find(
                objs,
                role_ref["kind"].as_str().unwrap_or_default(),
                role_ref["name"].as_str().unwrap_or_default(),
            )
        })
        .collect()
}

pub fn all_of<'a>(objs: &'a [Value], kind_: &str) -> Vec<&'a Value> {
    objs.iter().filter(|o| kind(o) == kind_).collect()
}

/// Decodes into `T` and requires the re-encoded object to equal the input: a misspelt or
/// misplaced field (which k8s-openapi would drop silently) fails like `kubectl --validate=strict`.
pub fn strict<T: DeserializeOwned + Serialize>(obj: &Value) -> Result<T, String> {
    let typed: T = serde_json::from_value(obj.clone()).map_err(|e| format!("decode: {e}"))?;
    let back = serde_json::to_value(&typed).map_err(|e| format!("encode: {e}"))?;
    match first_difference(obj, &back, "") {
        None => Ok(typed),
        Some(path) => Err(format!("field {path} does not survive typed decoding")),
    }
}

fn first_difference(a: &Value, b: &Value, path: &str) -> Option<String> {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for (k, va) in x {
                let p = format!("{path}.{k}");
                match y.get(k) {
                    Some(vb) => {
                        if let Some(d) = first_difference(va, vb, &p) {
                            return Some(d);
                        }
                    }
                    // Empty values may be omitted on re-encoding without loss.
                    None if is_empty(va) => {}
                    None => return Some(p),
                }
            }
            y.keys()
                .find(|k| !x.contains_key(*k) && !is_empty(&y[*k]))
                .map(|k| format!("{path}.{k} (added)"))
        }
        (Value::Array(x), Value::Array(y)) => {
            if x.len() != y.len() {
                return Some(format!("{path} (length)"));
            }
            x.iter()
                .zip(y)
                .enumerate()
                .find_map(|(i, (va, vb))| first_difference(va, vb, &format!("{path}[{i}]")))
        }
        (Value::Number(x), Value::Number(y)) if x.as_f64() == y.as_f64() => None,
        _ if a == b => None,
        _ => Some(path.to_string()),
    }
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Object(m) => m.is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}

/// The container args of a Deployment's first container.
pub fn container_args(deploy: &Value) -> Vec<String> {
    deploy["spec"]["template"]["spec"]["containers"][0]["args"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

/// `--name=value` / `--name` flags of an arg list (the leading subcommand is skipped).
pub fn flags(args: &[String]) -> Vec<(String, Option<String>)> {
    args.iter()
        .filter_map(|a| a.strip_prefix("--"))
        .map(|f| match f.split_once('=') {
            Some((n, v)) => (n.to_string(), Some(v.to_string())),
            None => (f.to_string(), None),
        })
        .collect()
}

pub fn flag_value(args: &[String], name: &str) -> Option<String> {
    flags(args)
        .into_iter()
        .find(|(n, _)| n == name)
        .and_then(|(_, v)| v)
}
