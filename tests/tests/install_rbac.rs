//! RBAC is derived from the code. The controller's permissions come from a `syn` scan of its
//! sources (install_support/api_scan.rs: every call on an `Api<K>`, every watch, the event
//! recorder, ownerReferences that block owner deletion); the webhook's from the same scan plus a
//! table of what a scan cannot see (its grants are limited to resource names that come from its
//! flags). The rendered (Cluster)Roles must grant exactly that: nothing missing,
//! nothing extra, no wildcards. A new call without RBAC, or a grant nobody uses, fails here;
//! install_rbac_audit.rs checks the same at runtime.

mod install_support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use install_support::api_scan::{Scan, scan_crate};
use install_support::*;
use kube::Resource;
use serde_json::Value;

// ---------------------------------------------------------------------------------------------
// The webhook: verbs from the scan; resource names, scope and the dynamic API from this table.

const WEBHOOK_CONFIGS: &[&str] = &["externalsecret-validate", "secretstore-validate"];
const MUTATING_CONFIGS: &[&str] = &["external-secrets-mutate"];
const TLS_SECRET: &[&str] = &["external-secrets-webhook-tls"];

/// What a source scan cannot see about a kind the webhook calls: (group, plural, the names its
/// flags limit it to (the install's values), granted in the install namespace only).
fn webhook_scope(
    kind: &str,
) -> Option<(&'static str, &'static str, &'static [&'static str], bool)> {
    Some(match kind {
        "Namespace" => ("", "namespaces", &[], false),
        // The rules' ClusterSecretStore cache is untyped (one undecodable store must not stop it
        // from syncing); it is the webhook's only dynamic API.
        "DynamicObject" => ("external-secrets.io", "clustersecretstores", &[], false),
        "Secret" => ("", "secrets", TLS_SECRET, true),
        "ValidatingWebhookConfiguration" => (
            "admissionregistration.k8s.io",
            "validatingwebhookconfigurations",
            WEBHOOK_CONFIGS,
            false,
        ),
        "MutatingWebhookConfiguration" => (
            "admissionregistration.k8s.io",
            "mutatingwebhookconfigurations",
            MUTATING_CONFIGS,
            false,
        ),
        _ => return None,
    })
}

/// Calls the default install does not grant, with why.
const WEBHOOK_UNGRANTED: &[(&str, &str, &str)] = &[
    (
        "CustomResourceDefinition",
        "patch_crd",
        "conversion caBundles: granted by the conversion component only (install_render checks it)",
    ),
    (
        "Secret",
        "create",
        "the install ships the TLS Secret; create runs only when it is missing, and RBAC cannot \
         limit a create by name",
    ),
];

fn webhook_needs() -> BTreeSet<Grant> {
    let kinds: BTreeSet<String> = kind_resources().into_keys().collect();
    let scan = scan_crate(&repo_root(), "webhook", &kinds);
    let mut out = BTreeSet::new();
    for ((kind, sub, verb), at) in &scan.calls {
        let ungranted = WEBHOOK_UNGRANTED.iter().any(|(k, what, _)| {
            k == kind && (what == verb || at.iter().all(|w| w.ends_with(&format!(": {what}"))))
        });
        if ungranted {
            continue;
        }
        let (group, plural, names, namespaced_only) = webhook_scope(kind).unwrap_or_else(|| {
            panic!(
                "webhook calls {verb} on {kind} ({at:?}) but tests/tests/install_rbac.rs does not \
                 know its resource: add it to webhook_scope and grant it in manifests/webhook"
            )
        });
        let resource = if sub.is_empty() {
            plural.to_string()
        } else {
            format!("{plural}/{sub}")
        };
        let names: Vec<&str> = if names.is_empty() {
            vec![""]
        } else {
            names.to_vec()
        };
        for name in names {
            out.insert((
                group.to_string(),
                resource.clone(),
                verb.clone(),
                name.to_string(),
                namespaced_only,
            ));
        }
    }
    out
}

/// (group, resource, verb, resourceName or "") granted to the ServiceAccount; namespaced Roles
/// are marked so cluster-wide and namespace-only grants are told apart.
type Grant = (String, String, String, String, bool);

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

// ---------------------------------------------------------------------------------------------
// The controller: everything from the scan, except the few facts a source scan cannot see.

/// Kinds the controller reaches only in the install namespace (granted by a Role there).
const NAMESPACE_ONLY: &[(&str, &str)] = &[(
    "Lease",
    "leader election: the Lease lives in the pod's namespace ($POD_NAMESPACE), the install's",
)];

/// Resources every authenticated user may use (the default `system:basic-user` binding): the
/// Kubernetes provider's permission checks.
const BASIC_USER: &[&str] = &["selfsubjectrulesreviews", "selfsubjectaccessreviews"];

/// Functions the deployed `controller run` never reaches, with why; [`not_deployed_still_holds`]
/// re-checks each reason against the sources.
const NOT_DEPLOYED: &[(&str, &str)] = &[(
    "manage_push_finalizer",
    "the PushSecret store finalizer runs only under stores::run_with_push_finalizers(.., true); \
     stores::run, which run_controllers uses, passes false",
)];

fn not_deployed_still_holds() {
    let root = repo_root();
    let reconciler = std::fs::read_to_string(root.join("controller/src/stores/reconciler.rs"))
        .expect("read stores/reconciler.rs");
    assert!(
        reconciler
            .contains("run_with_push_finalizers(client, cfg, store_requeue, false, shutdown)"),
        "stores::run may now run the PushSecret store finalizer: drop manage_push_finalizer from \
         NOT_DEPLOYED in tests/tests/install_rbac.rs and grant its calls"
    );
    let mut files = Vec::new();
    rust_sources(&root.join("controller/src"), &mut files);
    for f in files {
        if f.ends_with("stores/reconciler.rs") || f.ends_with("stores/mod.rs") {
            continue;
        }
        let text = std::fs::read_to_string(&f).expect("read source");
        assert!(
            !text.contains("run_with_push_finalizers"),
            "{} runs the PushSecret store finalizer: drop manage_push_finalizer from NOT_DEPLOYED",
            f.display()
        );
    }
}

/// (group, plural, cluster-scoped) of every kind the scan may name: the project's CRDs and the
/// built-in kinds the crates use.
fn kind_resources() -> BTreeMap<String, (String, String, bool)> {
    fn builtin<K: Resource<DynamicType = ()>>(cluster: bool) -> (String, (String, String, bool)) {
        (
            K::kind(&()).into_owned(),
            (
                K::group(&()).into_owned(),
                K::plural(&()).into_owned(),
                cluster,
            ),
        )
    }
    use k8s_openapi::api::authorization::v1::{SelfSubjectAccessReview, SelfSubjectRulesReview};
    use k8s_openapi::api::coordination::v1::Lease;
    use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Secret, ServiceAccount};
    let mut out: BTreeMap<String, (String, String, bool)> = [
        builtin::<Secret>(false),
        builtin::<ConfigMap>(false),
        builtin::<ServiceAccount>(false),
        builtin::<Namespace>(true),
        builtin::<Lease>(false),
        // The event Recorder's events.k8s.io Events.
        builtin::<k8s_openapi::api::events::v1::Event>(false),
        builtin::<SelfSubjectAccessReview>(true),
        builtin::<SelfSubjectRulesReview>(true),
    ]
    .into_iter()
    .collect();
    for crd in shared::api::all_crds() {
        out.insert(
            crd.spec.names.kind.clone(),
            (
                crd.spec.group.clone(),
                crd.spec.names.plural.clone(),
                crd.spec.scope == "Cluster",
            ),
        );
    }
    out
}

fn controller_scan() -> Scan {
    let kinds: BTreeSet<String> = kind_resources().into_keys().collect();
    scan_crate(&repo_root(), "controller", &kinds)
}

/// The grants the controller's code needs; `skip` drops calls made only from some places.
fn controller_needs(scan: &Scan, skip: impl Fn(&str) -> bool) -> BTreeSet<Grant> {
    not_deployed_still_holds();
    let resources = kind_resources();
    let mut out = BTreeSet::new();
    let mut unknown = BTreeSet::new();
    for ((kind, sub, verb), at) in &scan.calls {
        let deployed = at.iter().any(|w| {
            !NOT_DEPLOYED
                .iter()
                .any(|(f, _)| w.ends_with(&format!(": {f}")))
                && !skip(w)
        });
        if !deployed {
            continue;
        }
        let Some((group, plural, _)) = resources.get(kind) else {
            unknown.insert(format!("{kind} ({at:?})"));
            continue;
        };
        if BASIC_USER.contains(&plural.as_str()) {
            continue;
        }
        let resource = if sub.is_empty() {
            plural.clone()
        } else {
            format!("{plural}/{sub}")
        };
        let namespaced_only = NAMESPACE_ONLY.iter().any(|(k, _)| k == kind);
        out.insert((
            group.clone(),
            resource,
            verb.clone(),
            String::new(),
            namespaced_only,
        ));
    }
    assert!(
        unknown.is_empty(),
        "the controller calls the API for kinds the test cannot map to resources: {unknown:#?} \
         (add them to kind_resources in tests/tests/install_rbac.rs)"
    );
    out
}

fn compare(want: &BTreeSet<Grant>, dir: &str, service_account: &str) {
    let objs = render(dir);
    let have = granted(&objs, service_account);
    for g in &have {
        assert!(
            !g.0.contains('*') && !g.1.contains('*') && !g.2.contains('*'),
            "wildcard grant {g:?}"
        );
    }
    let missing: Vec<&Grant> = want.difference(&have).collect();
    let extra: Vec<&Grant> = have.difference(want).collect();
    assert!(
        missing.is_empty(),
        "{service_account} in {dir} lacks {missing:#?}"
    );
    assert!(
        extra.is_empty(),
        "{service_account} in {dir} is granted more than its code needs: {extra:#?}"
    );
}

#[test]
fn controller_rbac_is_exactly_what_its_code_needs() {
    let want = controller_needs(&controller_scan(), |_| false);
    compare(&want, "kustomize/default", "external-secrets-controller");
}

#[test]
fn webhook_rbac_is_exactly_what_its_code_needs() {
    compare(
        &webhook_needs(),
        "kustomize/default",
        "external-secrets-webhook",
    );
}

/// Where the namespace-scoped install does not go: under `--namespace` the Namespace cache
/// polls its one Namespace (a Role may `get` it) instead of watching all of them (no Role can
/// grant a list or watch of Namespaces; RBAC ignores field selectors).
/// install_rbac_audit_namespaced.rs shows the same at runtime: no refusal at all.
const NAMESPACED_SKIPPED: &[&str] = &["controller/src/namespaces.rs: watch_all"];

/// The single-namespace install turns the cluster-scoped reconcilers off and has a Role only:
/// it needs what the code outside the ClusterExternalSecret and ClusterPushSecret reconcilers
/// calls, minus cluster-scoped kinds (a Role cannot grant them) except reading its own Namespace.
#[test]
fn namespaced_controller_rbac_is_what_its_reconcilers_need() {
    let cluster_scoped: BTreeSet<(String, String)> = kind_resources()
        .into_values()
        .filter(|(_, _, cluster)| *cluster)
        .map(|(g, p, _)| (g, p))
        .collect();
    let needs = controller_needs(&controller_scan(), |at| {
        at.starts_with("controller/src/clusterexternalsecret/")
            || at.starts_with("controller/src/clusterpushsecret/")
            || NAMESPACED_SKIPPED.contains(&at)
    });
    let (grantable, ungrantable): (BTreeSet<Grant>, BTreeSet<Grant>) =
        needs.into_iter().partition(|g| {
            let base = g.1.split('/').next().unwrap_or_default().to_string();
            !cluster_scoped.contains(&(g.0.clone(), base))
                || (g.0.is_empty() && g.1 == "namespaces" && g.2 == "get")
        });
    // Calls on cluster-scoped custom kinds (ClusterSecretStore, ClusterGenerator) only happen
    // for objects that reference them, which this install does not support; Namespaces are
    // another matter: every ExternalSecret needs its namespace's policy, read with a get.
    let ungrantable: Vec<Grant> = ungrantable
        .into_iter()
        .filter(|g| g.1 == "namespaces")
        .collect();
    assert!(
        ungrantable.is_empty(),
        "the namespace-scoped reconcilers make Namespace calls no Role can grant: {ungrantable:#?}"
    );
    let want: BTreeSet<Grant> = grantable
        .into_iter()
        .map(|mut g| {
            g.4 = true;
            g
        })
        .collect();
    compare(&want, "kustomize/namespaced", "external-secrets-controller");
}

/// Guards the scanner itself on shapes main's controller has today: a let-bound Api, a helper
/// returning Api<K> (`K::api`, `self.secrets(..)`), a generic helper (`set_finalizer`), watches,
/// the recorder, TokenRequest and ownerReferences.
#[test]
fn the_source_scan_follows_api_values() {
    let scan = controller_scan();
    let has = |kind: &str, sub: &str, verb: &str| {
        scan.calls
            .contains_key(&(kind.to_string(), sub.to_string(), verb.to_string()))
    };
    for (kind, sub, verb) in [
        ("Secret", "", "create"),
        ("Secret", "", "update"),
        ("Secret", "", "delete"),
        ("Secret", "", "watch"),
        ("ConfigMap", "", "get"),
        ("SecretStore", "", "patch"),
        ("ClusterSecretStore", "", "patch"),
        ("ExternalSecret", "", "patch"),
        ("GeneratorState", "", "patch"),
        ("GeneratorState", "", "delete"),
        ("ExternalSecret", "status", "patch"),
        ("Namespace", "", "list"),
        ("Lease", "", "update"),
        ("Event", "", "create"),
        ("ServiceAccount", "token", "create"),
        ("ExternalSecret", "finalizers", "update"),
        ("ClusterPushSecret", "finalizers", "update"),
    ] {
        assert!(
            has(kind, sub, verb),
            "scanner missed {verb} {kind}/{sub}: {:#?}",
            scan.calls.keys().collect::<Vec<_>>()
        );
    }
    // `controller_owner_ref` leaves blockOwnerDeletion unset: no finalizers permission.
    assert!(!has("ClusterExternalSecret", "finalizers", "update"));
}

/// The scanner on code written for it: what a new call anywhere would look like.
#[test]
fn the_source_scan_derives_verbs_from_calls_not_from_kinds() {
    let root = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("api-scan");
    let src = root.join("fixture").join("src");
    std::fs::create_dir_all(&src).expect("fixture dir");
    std::fs::write(
        src.join("lib.rs"),
        r#"
fn cms(client: Client) -> Api<ConfigMap> { Api::namespaced(client, "x") }
struct Holder { leases: Api<Lease> }
trait Store { fn api(client: Client) -> Api<Self>; }
impl Store for SecretStore { fn api(client: Client) -> Api<Self> { Api::all(client) } }
impl Store for ClusterSecretStore { fn api(client: Client) -> Api<Self> { Api::all(client) } }
fn mark<K>(api: &Api<K>) { let _ = api.patch("n", &pp, &p); }
fn relay<T>(api: Api<T>) { mark(&api); }
async fn work<S: Store>(client: Client, h: &Holder) {
    let configs = cms(client.clone());
    let again = configs.clone();
    again.delete("a", &Default::default()).await;
    h.leases.entry("l").await;
    relay(Api::<Namespace>::all(client.clone()));
    S::api(client.clone()).replace_status("s", &pp, &b).await;
    let (a, b): (Api<Secret>, Api<PushSecret>) = (Api::all(client.clone()), Api::all(client.clone()));
    let _ = vec![a.get_opt("x"), b.create_subresource("eviction", "n", &pp, body)];
    Controller::new(Api::<ExternalSecret>::all(client.clone()), Default::default());
    let r = Recorder::new(client.clone(), reporter);
    let owner = OwnerReference { kind: ClusterPushSecret::kind(&()).into(), block_owner_deletion: Some(true), ..Default::default() };
    let map = std::collections::HashMap::<String, String>::new();
    map.get("not an api");
}
#[cfg(test)]
mod tests {
    async fn t(client: Client) { Api::<Secret>::all(client).delete("x", &dp).await; }
}
"#,
    )
    .expect("fixture source");
    let known = ["ExternalSecret", "ClusterPushSecret"]
        .map(String::from)
        .into_iter()
        .collect();
    let scan = scan_crate(&root, "fixture", &known);
    let got: BTreeSet<String> = scan
        .calls
        .keys()
        .map(|(k, s, v)| format!("{v} {k}/{s}"))
        .collect();
    let want: BTreeSet<String> = [
        "delete ConfigMap/",
        "get Lease/",
        "create Lease/",
        "update Lease/",
        "patch Namespace/",
        "update SecretStore/status",
        "update ClusterSecretStore/status",
        "get Secret/",
        "create PushSecret/eviction",
        "list ExternalSecret/",
        "watch ExternalSecret/",
        "create Event/",
        "patch Event/",
        "update ClusterPushSecret/finalizers",
    ]
    .map(String::from)
    .into_iter()
    .collect();
    assert_eq!(got, want);
}
