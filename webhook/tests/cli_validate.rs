//! `webhook validate` and `webhook convert` as a user runs them: files, directories, stdin,
//! text and JSON output, exit codes.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

fn webhook() -> Command {
    Command::new(env!("CARGO_BIN_EXE_webhook"))
}

fn examples() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples")
}

const BAD: &str = r#"
apiVersion: v1
kind: Namespace
metadata:
  name: team-a
  annotations:
    externalsecrets.kubernetes-client.io/permitted-key-name: "team-a/.*"
---
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: app, namespace: team-a}
spec:
  secretStoreRef: {name: s}
  target: {creationPolicy: Merge, deletionPolicy: Delete}
  data:
    - secretKey: k
      remoteRef: {key: team-b/db}
---
apiVersion: external-secrets.io/v1
kind: SecretStore
metadata: {name: s, namespace: team-a}
spec:
  provider:
    doppler: {auth: {}}
"#;

fn bad_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(dir.path().join("nested")).expect("mkdir");
    std::fs::write(dir.path().join("nested/bad.yaml"), BAD).expect("write");
    std::fs::write(dir.path().join("notes.txt"), "not yaml: [").expect("write");
    dir
}

#[test]
fn every_example_is_admitted() {
    let out = webhook()
        .args(["validate", "-f"])
        .arg(examples())
        .output()
        .expect("run");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let errors: Vec<&str> = stdout
        .lines()
        .filter(|l| !l.contains(": warning: "))
        .collect();
    assert!(errors.is_empty(), "{}", errors.join("\n"));
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains(": warning: store fake-store isn't currently maintained"),
        "{stdout}"
    );
}

#[test]
fn bad_directory_produces_expected_lines_and_exit_1() {
    let dir = bad_dir();
    let out = webhook()
        .args(["validate", "-f"])
        .arg(dir.path())
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let file = dir.path().join("nested/bad.yaml").display().to_string();
    let expect = [
        format!(
            "{file}:2: ExternalSecret/team-a/app: spec.target.deletionPolicy: Delete requires creationPolicy Owner (found Merge)"
        ),
        format!(
            "{file}:2: ExternalSecret/team-a/app: spec.data[0].remoteRef.key: namespace \"team-a\" does not permit key \"team-b/db\""
        ),
        format!(
            "{file}:3: SecretStore/team-a/s: spec.provider.doppler: provider doppler is not supported by this operator"
        ),
    ];
    for e in &expect {
        assert!(
            stdout.lines().any(|l| l.starts_with(e.as_str())),
            "missing {e:?} in\n{stdout}"
        );
    }
    assert_eq!(stdout.lines().count(), 3, "{stdout}");
}

#[test]
fn json_output_and_stdin() {
    let mut child = webhook()
        .args(["validate", "-f", "-", "--output", "json"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(BAD.as_bytes())
        .expect("write");
    let out = child.wait_with_output().expect("wait");
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let reports = v.as_array().expect("array");
    assert_eq!(reports.len(), 2);
    assert_eq!(reports[0]["source"], "-");
    assert_eq!(reports[0]["index"], 2);
    assert_eq!(reports[0]["kind"], "ExternalSecret");
    assert_eq!(reports[0]["name"], "team-a/app");
    assert_eq!(
        reports[0]["errors"][0]["path"],
        "spec.target.deletionPolicy"
    );
    assert!(reports[0]["warnings"].as_array().is_some_and(Vec::is_empty));
}

#[test]
fn clean_input_exits_zero_and_strict_reports_unknown_fields() {
    let dir = tempfile::tempdir().expect("tempdir");
    let f = dir.path().join("ok.yaml");
    std::fs::write(&f, "apiVersion: generators.external-secrets.io/v1alpha1\nkind: Password\nmetadata: {name: pw, namespace: a}\nspec: {length: 12, lenght: 3}\n").expect("write");
    let out = webhook()
        .args(["validate", "-f"])
        .arg(&f)
        .output()
        .expect("run");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let out = webhook()
        .args(["validate", "--strict", "-f"])
        .arg(&f)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("spec.lenght: unknown field"));
}

#[test]
fn convert_from_kes_and_between_versions() {
    let dir = tempfile::tempdir().expect("tempdir");
    let f = dir.path().join("kes.yaml");
    std::fs::write(&f, "apiVersion: kubernetes-client.io/v1\nkind: ExternalSecret\nmetadata: {name: hello, namespace: n}\nspec:\n  backendType: secretsManager\n  region: us-west-2\n  data:\n    - {key: hello/pw, name: password}\n").expect("write");
    let out = webhook()
        .args(["convert", "--from", "kes", "-f"])
        .arg(&f)
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let docs: Vec<serde_json::Value> = serde_saphyr::from_multiple(&text).expect("yaml");
    let docs: Vec<_> = docs.into_iter().filter(|d| !d.is_null()).collect();
    assert_eq!(docs.len(), 2);
    assert_eq!(docs[0]["kind"], "SecretStore");
    assert_eq!(docs[1]["spec"]["data"][0]["remoteRef"]["key"], "hello/pw");
    // Converted output validates clean.
    let g = dir.path().join("eso.yaml");
    std::fs::write(&g, &text).expect("write");
    let out = webhook()
        .args(["validate", "-f"])
        .arg(&g)
        .output()
        .expect("run");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    // And down to v1beta1.
    let out = webhook()
        .args(["convert", "--to", "external-secrets.io/v1beta1", "-f"])
        .arg(&g)
        .output()
        .expect("run");
    assert!(out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("apiVersion: external-secrets.io/v1beta1")
    );
}
