//! RBAC is derived from the code: every Kubernetes kind the controller or webhook sources reach
//! through `Api<K>` must have an entry in the permission table below, and the rendered
//! (Cluster)Roles must grant exactly the table (nothing missing, nothing extra, no wildcards).
//! A new `Api<Foo>` without RBAC, or a grant nobody uses, fails here.

mod install_support;

use std::collections::BTreeSet;
use std::path::Path;

use install_support::*;
use serde_json::Value;

const READ: &[&str] = &["get", "list", "watch"];
const CRUD: &[&str] = &[
    "get", "list", "watch", "create", "update", "patch", "delete",
];
const RECONCILED: &[&str] = &["get", "list", "watch", "update", "patch"];
const STATUS: &[&str] = &["get", "update", "patch"];

/// One permission the code needs: (group, resource incl. subresource, verbs, resourceNames).
#[derive(Clone, Debug)]
struct Need {
    group: &'static str,
    resource: &'static str,
    verbs: &'static [&'static str],
    /// Limited to these names (empty = any).
    names: &'static [&'static str],
    /// Granted in the install namespace only (Role), not cluster-wide.
    namespaced_only: bool,
}

const fn need(group: &'static str, resource: &'static str, verbs: &'static [&'static str]) -> Need {
    Need {
        group,
        resource,
        verbs,
        names: &[],
        namespaced_only: false,
    }
}

/// What `Api<kind>` (or another client feature) in the controller needs. Custom kinds need
/// their status and finalizers subresources too: status writes, and blockOwnerDeletion on owned
/// Secrets.
fn controller_table(kind: &str) -> Option<Vec<Need>> {
    let es = "external-secrets.io";
    let gen_ = "generators.external-secrets.io";
    let custom = |resource: &'static str, verbs: &'static [&'static str]| {
        let status: &'static str = format!("{resource}/status").leak();
        let finalizers: &'static str = format!("{resource}/finalizers").leak();
        vec![
            need(es, resource, verbs),
            need(es, status, STATUS),
            need(es, finalizers, &["update"]),
        ]
    };
    Some(match kind {
        "Secret" => vec![need("", "secrets", CRUD)],
        "ConfigMap" => vec![need("", "configmaps", READ)],
        "ServiceAccount" => vec![need("", "serviceaccounts", &["get"])],
        "TokenRequest" => vec![need("", "serviceaccounts/token", &["create"])],
        "Namespace" => vec![need("", "namespaces", RECONCILED)],
        "Recorder" => vec![
            need("", "events", &["create", "patch"]),
            need("events.k8s.io", "events", &["create", "patch"]),
        ],
        "Lease" => vec![Need {
            namespaced_only: true,
            ..need(
                "coordination.k8s.io",
                "leases",
                &["get", "create", "update"],
            )
        }],
        // ClusterExternalSecret / ClusterPushSecret create and delete their namespaced children.
        "ExternalSecret" => custom("externalsecrets", CRUD),
        "PushSecret" => custom("pushsecrets", CRUD),
        "ClusterExternalSecret" => custom("clusterexternalsecrets", RECONCILED),
        "ClusterPushSecret" => custom("clusterpushsecrets", RECONCILED),
        "SecretStore" => custom("secretstores", RECONCILED),
        "ClusterSecretStore" => custom("clustersecretstores", RECONCILED),
        "Password" => vec![need(gen_, "passwords", READ)],
        "UUID" => vec![need(gen_, "uuids", READ)],
        "Fake" => vec![need(gen_, "fakes", READ)],
        "ClusterGenerator" => vec![need(gen_, "clustergenerators", READ)],
        // The GeneratorState garbage collector (ESO grants the same full access).
        "GeneratorState" => vec![need(gen_, "generatorstates", CRUD)],
        // Allowed to every authenticated user by the default system:basic-user binding.
        "SelfSubjectAccessReview" | "SelfSubjectRulesReview" => vec![],
        _ => return None,
    })
}

const WEBHOOK_CONFIGS: &[&str] = &["externalsecret-validate", "secretstore-validate"];
const MUTATING_CONFIGS: &[&str] = &["external-secrets-mutate"];
const TLS_SECRET: &[&str] = &["external-secrets-webhook-tls"];

fn webhook_table(kind: &str) -> Option<Vec<Need>> {
    let es = "external-secrets.io";
    let named = |group, resource, names| Need {
        names,
        ..need(group, resource, &["get", "update", "patch"])
    };
    Some(match kind {
        "Namespace" => vec![need("", "namespaces", READ)],
        "SecretStore" => vec![need(es, "secretstores", READ)],
        "ClusterSecretStore" => vec![need(es, "clustersecretstores", READ)],
        // The rules' ClusterSecretStore cache is untyped (one undecodable store must not stop it
        // from syncing); it is the webhook's only dynamic API.
        "DynamicObject" => vec![need(es, "clustersecretstores", READ)],
        "Secret" => vec![Need {
            namespaced_only: true,
            ..named("", "secrets", TLS_SECRET)
        }],
        "ValidatingWebhookConfiguration" => vec![named(
            "admissionregistration.k8s.io",
            "validatingwebhookconfigurations",
            WEBHOOK_CONFIGS,
        )],
        "MutatingWebhookConfiguration" => vec![named(
            "admissionregistration.k8s.io",
            "mutatingwebhookconfigurations",
            MUTATING_CONFIGS,
        )],
        // Granted by the conversion component only (checked in install_render).
        "CustomResourceDefinition" => vec![],
        _ => return None,
    })
}

/// Kinds the table grants for code that has not landed yet. Each entry must still be missing
/// from the sources: once the code arrives the entry has to go (the test says so).
const CONTROLLER_PENDING: &[&str] = &[];
const WEBHOOK_PENDING: &[&str] = &[];

fn rust_sources(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read source dir") {
        let p = entry.expect("dir entry").path();
        if p.is_dir() {
            rust_sources(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

/// Kinds the crate's code reaches: `Api<K>` / `Api::<K>` plus client features that imply an API
/// (event `Recorder`, TokenRequest). Generic parameters and `Self` are resolved by the impls
/// that name the kind in the same file.
fn kinds_used(crate_dir: &str) -> BTreeSet<String> {
    // `Api<K>`, `Api::<K>` and metadata-only `Api<PartialObjectMeta<K>>` all reach kind K.
    let api = regex::Regex::new(
        r"\bApi\s*(?:::)?\s*<\s*(?:PartialObjectMeta\s*<\s*)?([A-Za-z_][A-Za-z0-9_:]*)\s*>",
    )
    .expect("regex");
    let impl_for = regex::Regex::new(r"\bimpl\b[^{]*\bfor\s+([A-Z][A-Za-z0-9_]*)").expect("regex");
    let mut files = Vec::new();
    rust_sources(&repo_root().join(crate_dir).join("src"), &mut files);
    let mut kinds = BTreeSet::new();
    for f in files {
        let text = std::fs::read_to_string(&f).expect("read source");
        for c in api.captures_iter(&text) {
            let k = c[1].rsplit("::").next().unwrap_or_default().to_string();
            if k == "Self" {
                // `fn api(..) -> Api<Self>` inside trait impls: the implementing kinds.
                kinds.extend(impl_for.captures_iter(&text).map(|c| c[1].to_string()));
            } else if k.len() > 1 {
                kinds.insert(k);
            }
        }
        if text.contains("events::Recorder") || text.contains("Recorder::new") {
            kinds.insert("Recorder".to_string());
        }
        if text.contains("create_token_request") || text.contains("TokenRequest") {
            kinds.insert("TokenRequest".to_string());
        }
    }
    kinds
}

/// (group, resource, verb, resourceName or "") granted to the ServiceAccount; namespaced Roles
/// are marked so cluster-wide and namespace-only grants are told apart.
type Grant = (String, String, String, String, bool);

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

fn granted(objs: &[Value], service_account: &str) -> BTreeSet<Grant> {
    let mut out = BTreeSet::new();
    for role in roles_bound_to(objs, service_account) {
        let namespaced = kind(role) == "Role";
        for rule in role["rules"].as_array().into_iter().flatten() {
            let names = strings(&rule["resourceNames"]);
            let names = if names.is_empty() {
                vec![String::new()]
            } else {
                names
            };
            for g in strings(&rule["apiGroups"]) {
                for r in strings(&rule["resources"]) {
                    for v in strings(&rule["verbs"]) {
                        for n in &names {
                            out.insert((g.clone(), r.clone(), v.clone(), n.clone(), namespaced));
                        }
                    }
                }
            }
        }
    }
    out
}

fn needed(
    kinds: &BTreeSet<String>,
    table: fn(&str) -> Option<Vec<Need>>,
    pending: &[&str],
) -> BTreeSet<Grant> {
    let mut out = BTreeSet::new();
    for k in kinds
        .iter()
        .map(String::as_str)
        .chain(pending.iter().copied())
    {
        for n in table(k).unwrap_or_default() {
            let names: Vec<&str> = if n.names.is_empty() {
                vec![""]
            } else {
                n.names.to_vec()
            };
            for v in n.verbs {
                for name in &names {
                    out.insert((
                        n.group.to_string(),
                        n.resource.to_string(),
                        v.to_string(),
                        name.to_string(),
                        n.namespaced_only,
                    ));
                }
            }
        }
    }
    out
}

fn check(
    crate_dir: &str,
    service_account: &str,
    table: fn(&str) -> Option<Vec<Need>>,
    pending: &[&str],
) {
    let kinds = kinds_used(crate_dir);
    let unknown: Vec<&String> = kinds.iter().filter(|k| table(k).is_none()).collect();
    assert!(
        unknown.is_empty(),
        "{crate_dir} reaches {unknown:?} through the API but the install grants no RBAC for it: \
         add it to the table in tests/tests/install_rbac.rs and to manifests/"
    );
    for p in pending {
        assert!(
            !kinds.contains(*p),
            "{crate_dir} now uses {p}: remove it from the pending list (its RBAC is derived from the code)"
        );
    }
    let want = needed(&kinds, table, pending);
    let objs = render("kustomize/default");
    let have = granted(&objs, service_account);
    for g in &have {
        assert!(
            !g.0.contains('*') && !g.1.contains('*') && !g.2.contains('*'),
            "wildcard grant {g:?}"
        );
    }
    let missing: Vec<&Grant> = want.difference(&have).collect();
    let extra: Vec<&Grant> = have.difference(&want).collect();
    assert!(missing.is_empty(), "{service_account} lacks {missing:#?}");
    assert!(
        extra.is_empty(),
        "{service_account} is granted more than its code needs: {extra:#?}"
    );
}

#[test]
fn controller_rbac_is_exactly_what_its_code_needs() {
    check(
        "controller",
        "external-secrets-controller",
        controller_table,
        CONTROLLER_PENDING,
    );
}

#[test]
fn webhook_rbac_is_exactly_what_its_code_needs() {
    check(
        "webhook",
        "external-secrets-webhook",
        webhook_table,
        WEBHOOK_PENDING,
    );
}

#[test]
fn namespaced_controller_rbac_is_the_cluster_rbac_minus_cluster_scoped_kinds() {
    let cluster = granted(&render("kustomize/default"), "external-secrets-controller");
    let namespaced = granted(
        &render("kustomize/namespaced"),
        "external-secrets-controller",
    );
    assert!(
        namespaced.iter().all(|g| g.4),
        "namespaced install has a cluster grant"
    );
    let cluster_scoped = [
        "namespaces",
        "clustersecretstores",
        "clusterexternalsecrets",
        "clusterpushsecrets",
        "clustergenerators",
    ];
    // Only the children CES/CPS create are dropped further (create/delete of ES and PS).
    let expected: BTreeSet<Grant> = cluster
        .into_iter()
        .filter(|g| {
            let base = g.1.split('/').next().unwrap_or_default();
            !cluster_scoped.contains(&base)
        })
        .filter(|g| {
            !(matches!(g.1.as_str(), "externalsecrets" | "pushsecrets")
                && matches!(g.2.as_str(), "create" | "delete"))
        })
        .map(|mut g| {
            g.4 = true;
            g
        })
        .collect();
    assert_eq!(namespaced, expected);
}

#[test]
fn the_source_scan_sees_api_usages() {
    // Guards the scanner itself: main's controller reaches these through Api<K> today.
    let kinds = kinds_used("controller");
    for k in ["Secret", "ConfigMap", "SecretStore", "ClusterSecretStore"] {
        assert!(kinds.contains(k), "scanner missed {k}: {kinds:?}");
    }
}
