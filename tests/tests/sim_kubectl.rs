//! kubectl 1.32 against kubesim: every CRD of the repository, then every example manifest,
//! applied client-side (with kubectl's default validation, which probes OpenAPI v3 and hands
//! field validation to the server) and then server-side.

use std::path::{Path, PathBuf};
use std::process::Command;

use tests::sim::Sim;

fn kubectl() -> PathBuf {
    std::env::var("KUBECTL")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from("/usr/bin/kubectl"))
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(yaml_files(&p));
        } else if p.extension().is_some_and(|x| x == "yaml" || x == "yml")
            && p.file_name().is_some_and(|n| n != "kustomization.yaml")
        {
            out.push(p);
        }
    }
    out.sort();
    out
}

/// Files that create Namespaces go first, as a user applying a folder in order would need.
fn examples() -> Vec<PathBuf> {
    let mut files = yaml_files(&repo().join("examples"));
    files.sort_by_key(|p| {
        let text = std::fs::read_to_string(p).unwrap_or_default();
        (!text.contains("kind: Namespace"), p.clone())
    });
    files
}

fn apply(sim: &Sim, file: &Path, extra: &[&str]) -> String {
    let out = Command::new(kubectl())
        .arg("--kubeconfig")
        .arg(sim.kubeconfig_path())
        .arg("apply")
        .args(extra)
        .arg("-f")
        .arg(file)
        .output()
        .expect("kubectl runs (CI installs it at /usr/bin/kubectl)");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "kubectl apply {extra:?} -f {}: {}\n{stdout}",
        file.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// Applies every CRD, then every example, twice (the second round goes through kubectl's patch
/// path); returns how many objects the first round created.
fn apply_all(sim: &Sim, extra: &[&str], first: &str) -> usize {
    let crds = yaml_files(&repo().join("crds"));
    assert!(crds.len() >= 10, "CRDs found: {crds:?}");
    let examples = examples();
    assert!(!examples.is_empty());
    let mut done = 0;
    for f in crds.iter().chain(&examples) {
        let out = apply(sim, f, extra);
        done += out.lines().filter(|l| l.ends_with(first)).count();
    }
    for f in crds.iter().chain(&examples) {
        let out = apply(sim, f, extra);
        assert!(
            !out.lines().any(|l| l.ends_with(" created")),
            "second apply re-created objects: {out}"
        );
    }
    done
}

fn external_secrets_api(
    sim: &Sim,
    kind: &str,
    plural: &str,
) -> kube::Api<kube::api::DynamicObject> {
    kube::Api::all_with(
        sim.client(),
        &kube::discovery::ApiResource {
            group: "external-secrets.io".into(),
            version: "v1".into(),
            api_version: "external-secrets.io/v1".into(),
            kind: kind.into(),
            plural: plural.into(),
        },
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_client_side_apply_of_every_crd_and_example() {
    let sim = Sim::start().await.unwrap();
    let created = tokio::task::block_in_place(|| apply_all(&sim, &[], " created"));
    assert!(created >= 20, "objects created: {created}");
    let list = external_secrets_api(&sim, "ClusterSecretStore", "clustersecretstores")
        .list(&Default::default())
        .await
        .unwrap();
    assert!(!list.items.is_empty());
    for s in &list.items {
        assert!(
            s.metadata.annotations.as_ref().is_some_and(|a| a
                .contains_key("kubectl.kubernetes.io/last-applied-configuration")),
            "client-side apply keeps its last-applied annotation"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_server_side_apply_of_every_crd_and_example() {
    let sim = Sim::start().await.unwrap();
    let applied =
        tokio::task::block_in_place(|| apply_all(&sim, &["--server-side"], " serverside-applied"));
    assert!(applied >= 20, "objects applied: {applied}");
    let list = external_secrets_api(&sim, "ExternalSecret", "externalsecrets")
        .list(&Default::default())
        .await
        .unwrap();
    assert!(!list.items.is_empty());
    for s in &list.items {
        let applies: Vec<(&str, &str)> = s
            .metadata
            .managed_fields
            .iter()
            .flatten()
            .filter_map(|m| Some((m.manager.as_deref()?, m.operation.as_deref()?)))
            .collect();
        assert_eq!(applies, vec![("kubectl", "Apply")]);
    }
}
