//! Every kustomization renders with the real `kubectl kustomize`, every rendered object is a valid
//! instance of its type, every file is wired in, and the pieces agree with each other (CRDs with
//! the generated ones, Services with container ports, images with the Dockerfile targets).

mod install_support;

use std::collections::BTreeSet;
use std::path::Path;

use install_support::*;
use k8s_openapi::api::admissionregistration::v1::{
    MutatingWebhookConfiguration, ValidatingWebhookConfiguration,
};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Namespace, Secret, Service, ServiceAccount};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, Role, RoleBinding};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use serde::Deserialize;
use serde_json::Value;

const COMPONENTS: [&str; 3] = [
    "kustomize/components/conversion",
    "kustomize/components/cert-manager",
    "kustomize/components/metrics",
];

/// Every install a user can build: the three kustomizations, each component on top of `default`,
/// and all components together.
fn every_install() -> Vec<(String, Vec<Value>)> {
    let mut jobs: Vec<(String, Vec<&str>, Vec<&str>)> = ["default", "crds-only", "namespaced"]
        .into_iter()
        .map(|k| (k.to_string(), vec![], vec![]))
        .collect();
    for c in COMPONENTS {
        let short = c.rsplit('/').next().unwrap_or(c);
        jobs.push((
            format!("default+{short}"),
            vec!["kustomize/default"],
            vec![c],
        ));
    }
    jobs.push((
        "default+all".to_string(),
        vec!["kustomize/default"],
        COMPONENTS.to_vec(),
    ));
    // kustomize is slow on the large CRDs: render side by side.
    std::thread::scope(|s| {
        let handles: Vec<_> = jobs
            .iter()
            .map(|(label, resources, components)| {
                s.spawn(move || {
                    if resources.is_empty() {
                        render(&format!("kustomize/{label}"))
                    } else {
                        render_overlay(label, resources, components)
                    }
                })
            })
            .collect();
        jobs.iter()
            .zip(handles)
            .map(|((label, _, _), h)| (label.clone(), h.join().expect("render thread")))
            .collect()
    })
}

// Third-party kinds without Rust types in our dependency tree: the fields we set, strictly.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct Meta {
    name: String,
    namespace: String,
    labels: std::collections::BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[allow(dead_code)]
struct ThirdParty<S> {
    api_version: String,
    kind: String,
    metadata: Meta,
    spec: S,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[allow(dead_code)]
struct IssuerSpec {
    self_signed: serde_json::Map<String, Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[allow(dead_code)]
struct CertificateSpec {
    secret_name: String,
    dns_names: Vec<String>,
    issuer_ref: IssuerRef,
    private_key: Value,
    duration: String,
    renew_before: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct IssuerRef {
    kind: String,
    name: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct ServiceMonitorSpec {
    selector: k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector,
    endpoints: Vec<Endpoint>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct Endpoint {
    port: String,
    path: String,
    interval: String,
}

fn check_typed(obj: &Value) -> Result<(), String> {
    let api_version = obj["apiVersion"].as_str().unwrap_or_default();
    let third_party = |r: Result<(), serde_json::Error>| r.map_err(|e| e.to_string());
    match (api_version, kind(obj)) {
        ("v1", "Namespace") => strict::<Namespace>(obj).map(drop),
        ("v1", "ServiceAccount") => strict::<ServiceAccount>(obj).map(drop),
        ("v1", "Secret") => strict::<Secret>(obj).map(drop),
        ("v1", "Service") => strict::<Service>(obj).map(drop),
        ("apps/v1", "Deployment") => strict::<Deployment>(obj).map(drop),
        ("policy/v1", "PodDisruptionBudget") => strict::<PodDisruptionBudget>(obj).map(drop),
        ("networking.k8s.io/v1", "NetworkPolicy") => strict::<NetworkPolicy>(obj).map(drop),
        ("rbac.authorization.k8s.io/v1", "ClusterRole") => strict::<ClusterRole>(obj).map(drop),
        ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding") => {
            strict::<ClusterRoleBinding>(obj).map(drop)
        }
        ("rbac.authorization.k8s.io/v1", "Role") => strict::<Role>(obj).map(drop),
        ("rbac.authorization.k8s.io/v1", "RoleBinding") => strict::<RoleBinding>(obj).map(drop),
        ("admissionregistration.k8s.io/v1", "ValidatingWebhookConfiguration") => {
            strict::<ValidatingWebhookConfiguration>(obj).map(drop)
        }
        ("admissionregistration.k8s.io/v1", "MutatingWebhookConfiguration") => {
            strict::<MutatingWebhookConfiguration>(obj).map(drop)
        }
        ("apiextensions.k8s.io/v1", "CustomResourceDefinition") => {
            strict::<CustomResourceDefinition>(obj).map(drop)
        }
        ("cert-manager.io/v1", "Issuer") => {
            third_party(serde_json::from_value::<ThirdParty<IssuerSpec>>(obj.clone()).map(drop))
        }
        ("cert-manager.io/v1", "Certificate") => third_party(
            serde_json::from_value::<ThirdParty<CertificateSpec>>(obj.clone()).map(drop),
        ),
        ("monitoring.coreos.com/v1", "ServiceMonitor") => third_party(
            serde_json::from_value::<ThirdParty<ServiceMonitorSpec>>(obj.clone()).map(drop),
        ),
        (v, k) => Err(format!("unexpected kind {v}/{k} in an install")),
    }
}

#[test]
fn every_rendered_object_decodes_strictly_into_its_type() {
    let mut problems = Vec::new();
    for (install, objs) in every_install() {
        assert!(!objs.is_empty(), "{install} renders nothing");
        let mut seen = BTreeSet::new();
        for obj in &objs {
            if let Err(e) = check_typed(obj) {
                problems.push(format!("{install}: {}: {e}", describe(obj)));
            }
            let key = (
                kind(obj).to_string(),
                obj["metadata"]["namespace"].as_str().map(String::from),
                name(obj).to_string(),
            );
            assert!(seen.insert(key), "{install}: duplicate {}", describe(obj));
            if obj["metadata"]["namespace"].is_string() {
                assert_eq!(
                    obj["metadata"]["namespace"],
                    NAMESPACE,
                    "{install}: {} outside the install namespace",
                    describe(obj)
                );
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

fn yaml_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read dir") {
        let p = entry.expect("dir entry").path();
        if p.is_dir() {
            yaml_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "yaml") {
            out.push(p);
        }
    }
}

/// Paths a kustomization refers to (resources, components, patch files).
fn references(k: &Value) -> Vec<String> {
    let mut refs = Vec::new();
    for key in ["resources", "components", "crds"] {
        for r in k[key].as_array().into_iter().flatten() {
            refs.extend(r.as_str().map(String::from));
        }
    }
    for p in k["patches"].as_array().into_iter().flatten() {
        refs.extend(p["path"].as_str().map(String::from));
    }
    refs
}

#[test]
fn every_referenced_file_exists_and_every_manifest_is_referenced() {
    let root = repo_root();
    let mut files = Vec::new();
    for dir in ["manifests", "kustomize", "crds"] {
        yaml_files(&root.join(dir), &mut files);
    }
    let mut referenced = BTreeSet::new();
    let mut kustomizations = 0;
    for f in files.iter().filter(|f| f.ends_with("kustomization.yaml")) {
        kustomizations += 1;
        let text = std::fs::read_to_string(f).expect("read kustomization");
        let k: Value = serde_saphyr::from_str(&text).expect("kustomization parses");
        let base = f.parent().expect("kustomization has a directory");
        for r in references(&k) {
            let target = base.join(&r);
            assert!(
                target.exists(),
                "{} refers to missing {r}",
                f.strip_prefix(&root).unwrap_or(f).display()
            );
            if let Ok(t) = target.canonicalize() {
                referenced.insert(t);
            }
        }
    }
    assert!(kustomizations >= 12, "only {kustomizations} kustomizations");
    for f in files.iter().filter(|f| !f.ends_with("kustomization.yaml")) {
        let f = f.canonicalize().expect("canonical path");
        assert!(
            referenced.contains(&f),
            "{} is not part of any kustomization",
            f.strip_prefix(&root).unwrap_or(&f).display()
        );
    }
}

fn crd_map(objs: &[Value]) -> std::collections::BTreeMap<String, Value> {
    all_of(objs, "CustomResourceDefinition")
        .into_iter()
        .map(|c| (name(c).to_string(), c.clone()))
        .collect()
}

#[test]
fn rendered_crds_are_the_generated_ones() {
    let generated: std::collections::BTreeMap<String, Value> = shared::api::all_crds()
        .into_iter()
        .map(|c| {
            let v = serde_json::to_value(&c).expect("CRD serializes");
            (name(&v).to_string(), v)
        })
        .collect();
    for install in ["kustomize/default", "kustomize/crds-only"] {
        let rendered = crd_map(&render(install));
        assert_eq!(
            rendered.keys().collect::<Vec<_>>(),
            generated.keys().collect::<Vec<_>>(),
            "{install}: CRD set"
        );
        for (n, crd) in &rendered {
            let typed: CustomResourceDefinition =
                serde_json::from_value(crd.clone()).expect("CRD decodes");
            let back = serde_json::to_value(&typed).expect("CRD encodes");
            assert!(
                back == generated[n],
                "{install}: {n} differs from shared::api::all_crds() (run crdgen)"
            );
        }
    }
    assert!(
        render("kustomize/crds-only")
            .iter()
            .all(|o| kind(o) == "CustomResourceDefinition")
    );
}

#[test]
fn conversion_component_serves_v1beta1_through_the_webhook() {
    let objs = render_overlay(
        "conversion",
        &["kustomize/default"],
        &["kustomize/components/conversion"],
    );
    let crds = crd_map(&objs);
    let args = container_args(find(&objs, "Deployment", "external-secrets-webhook"));
    assert!(
        flags(&args)
            .iter()
            .any(|(n, v)| n == "serve-conversion" && v.is_none()),
        "webhook lacks --serve-conversion: {args:?}"
    );
    let crd_names: BTreeSet<String> = flag_value(&args, "crd-names")
        .expect("--crd-names")
        .split(',')
        .map(String::from)
        .collect();
    // Exactly the CRDs that carry a v1beta1 version are converted, and each is named for the
    // webhook's caBundle injection.
    let with_v1beta1: BTreeSet<String> = crds
        .iter()
        .filter(|(_, c)| {
            c["spec"]["versions"]
                .as_array()
                .is_some_and(|v| v.iter().any(|v| v["name"] == "v1beta1"))
        })
        .map(|(n, _)| n.clone())
        .collect();
    assert_eq!(crd_names, with_v1beta1);
    assert_eq!(with_v1beta1.len(), 4);
    for n in &with_v1beta1 {
        let spec = &crds[n]["spec"];
        for v in spec["versions"].as_array().expect("versions") {
            assert_eq!(v["served"], true, "{n} {} not served", v["name"]);
        }
        let conv = &spec["conversion"];
        assert_eq!(conv["strategy"], "Webhook", "{n}");
        assert_eq!(
            conv["webhook"]["conversionReviewVersions"],
            serde_json::json!(["v1"])
        );
        let svc = &conv["webhook"]["clientConfig"]["service"];
        assert_eq!(svc["name"], "external-secrets-webhook", "{n}");
        assert_eq!(svc["namespace"], NAMESPACE, "{n}");
        assert_eq!(svc["path"], webhook::server::CONVERT_PATH, "{n}");
    }
    // Kinds without v1beta1 keep the default conversion.
    for (n, c) in &crds {
        if !with_v1beta1.contains(n) {
            assert!(
                c["spec"]["conversion"].is_null(),
                "{n} got a conversion block"
            );
        }
    }
    let role = find(&objs, "ClusterRole", "external-secrets-webhook");
    let crd_rule = role["rules"]
        .as_array()
        .expect("rules")
        .iter()
        .find(|r| r["resources"] == serde_json::json!(["customresourcedefinitions"]))
        .expect("conversion grants the webhook its CRDs");
    let allowed: BTreeSet<String> = crd_rule["resourceNames"]
        .as_array()
        .expect("CRD access is limited by resourceNames")
        .iter()
        .filter_map(|v| v.as_str().map(String::from))
        .collect();
    assert_eq!(allowed, crd_names);
    // Without the component the CRDs are not the webhook's business.
    let plain = render("kustomize/default");
    let role = find(&plain, "ClusterRole", "external-secrets-webhook");
    assert!(!role.to_string().contains("customresourcedefinitions"));
}

#[test]
fn images_match_the_dockerfile_targets_and_the_workspace_version() {
    let root = repo_root();
    let dockerfile = std::fs::read_to_string(root.join("Dockerfile")).expect("Dockerfile");
    let targets: BTreeSet<String> = dockerfile
        .lines()
        .filter(|l| l.starts_with("FROM "))
        .filter_map(|l| l.split(" AS ").nth(1).map(|t| t.trim().to_string()))
        .filter(|t| t != "build")
        .collect();
    assert_eq!(
        targets,
        BTreeSet::from(["controller".to_string(), "webhook".to_string()])
    );
    let script = std::fs::read_to_string(root.join("hack/build-images.sh")).expect("script");
    assert!(script.contains("for target in controller webhook"));
    let version = format!("v{}", env!("CARGO_PKG_VERSION"));
    for (install, objs) in every_install() {
        for d in all_of(&objs, "Deployment") {
            let image = d["spec"]["template"]["spec"]["containers"][0]["image"]
                .as_str()
                .expect("image");
            let (repo, tag) = image.rsplit_once(':').expect("image has a tag");
            let target = repo.rsplit('/').next().unwrap_or_default();
            assert!(
                targets.contains(target),
                "{install}: {image} is no Dockerfile target"
            );
            assert_eq!(tag, version, "{install}: {image}");
            let binary = container_args(d).first().cloned().unwrap_or_default();
            let expected = if target == "controller" {
                "run"
            } else {
                "serve"
            };
            assert_eq!(binary, expected, "{install}: {image} subcommand");
            assert!(
                dockerfile.contains(&format!("/usr/local/bin/{target}\"]")),
                "Dockerfile entrypoint for {target}"
            );
        }
    }
}

#[test]
fn strict_decoding_rejects_fields_the_type_does_not_have() {
    // The oracle of the typed checks above: a misplaced field must not pass silently.
    let good = serde_json::json!({"apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "s"}, "spec": {"ports": [{"port": 443, "targetPort": "webhook"}]}});
    assert!(strict::<Service>(&good).is_ok());
    let mut bad = good.clone();
    bad["spec"]["ports"][0]["targetport"] = serde_json::json!(8443);
    let err = strict::<Service>(&bad).expect_err("misspelt field");
    assert!(err.contains("targetport"), "{err}");
}
