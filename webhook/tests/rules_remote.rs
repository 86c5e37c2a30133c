//! `webhook validate --server`: the documents go to a running webhook (our server, TLS stack and
//! real rules, in process) and the verdicts print exactly as the offline validation prints them.

mod rules_support;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde_json::json;
use webhook::certs::bundle::{Assessment, CertBundle, CertSettings, renew};
use webhook::offline::{OutputFormat, ValidateArgs};
use webhook::tls_reload::{CertResolver, TlsOptions, server_config};

use rules_support::*;

const MANIFESTS: &str = r#"
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: bad-target, namespace: team-a}
spec:
  secretStoreRef: {name: aws, kind: SecretStore}
  target: {name: db, creationPolicy: Merge, deletionPolicy: Delete}
  data: [{secretKey: k, remoteRef: {key: x}}]
---
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: many, namespace: team-a}
spec:
  refreshInterval: soon
  secretStoreRef: {name: aws, kind: SecretStore}
  target: {creationPolicy: None, deletionPolicy: Merge}
---
apiVersion: external-secrets.io/v1
kind: SecretStore
metadata: {name: team-b-role, namespace: team-a}
spec:
  provider:
    aws: {service: SecretsManager, region: eu-west-1, role: "arn:aws:iam::123456789012:role/team-b-reader"}
---
apiVersion: external-secrets.io/v1
kind: SecretStore
metadata: {name: fine, namespace: team-a}
spec:
  provider:
    aws: {service: SecretsManager, region: eu-west-1, role: "arn:aws:iam::123456789012:role/team-a-reader"}
---
apiVersion: external-secrets.io/v1
kind: SecretStore
metadata: {name: op, namespace: team-a}
spec:
  provider:
    onepassword: {connectHost: "https://connect.example"}
---
apiVersion: external-secrets.io/v1
kind: SecretStore
metadata: {name: demo, namespace: open}
spec:
  provider:
    fake: {data: [{key: k, value: v}]}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: ignored, namespace: team-a}
data: {k: v}
"#;

const NAMESPACES: &str = r#"
apiVersion: v1
kind: Namespace
metadata:
  name: team-a
  annotations: {"iam.amazonaws.com/permitted": "arn:aws:iam::123456789012:role/team-a-.*"}
---
apiVersion: v1
kind: Namespace
metadata: {name: open}
"#;

fn args(manifest: &std::path::Path) -> ValidateArgs {
    ValidateArgs {
        files: vec![manifest.display().to_string()],
        namespaces: None,
        output: OutputFormat::Text,
        strict: false,
        require_namespace_policy: false,
        template_left_delimiter: "{{".into(),
        template_right_delimiter: "}}".into(),
        server: None,
        ca_file: None,
    }
}

fn run(args: ValidateArgs) -> (i32, String) {
    let mut out = Vec::new();
    let code = webhook::offline::validate(&args, &mut out).expect("validate runs");
    (code, String::from_utf8(out).expect("utf8"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_mode_prints_the_live_verdicts_like_offline_mode() {
    shared::telemetry::install_crypto_provider();
    let dir = tempfile::tempdir().expect("tempdir");
    let manifest = dir.path().join("objects.yaml");
    std::fs::write(&manifest, MANIFESTS).expect("write");
    let namespaces = dir.path().join("namespaces.yaml");
    std::fs::write(&namespaces, NAMESPACES).expect("write");

    let bundle = renew(
        &CertBundle::default(),
        &Assessment::RegenerateAll("test".into()),
        &CertSettings {
            dns_names: vec!["localhost".to_owned()],
            lookahead: Duration::from_secs(86_400),
            validity: Duration::from_secs(365 * 86_400),
        },
        SystemTime::now(),
    )
    .expect("certificate");
    let ca_file = dir.path().join("ca.crt");
    std::fs::write(&ca_file, &bundle.ca_crt).expect("write");
    let resolver = Arc::new(CertResolver::new());
    resolver
        .load_pem(
            bundle.tls_crt.as_bytes(),
            bundle.tls_key.expose().as_bytes(),
        )
        .expect("load cert");
    let tls = Arc::new(server_config(&TlsOptions::default(), resolver).expect("tls config"));
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.set_nonblocking(true).expect("nonblocking");
    let port = listener.local_addr().expect("addr").port();
    // The server's namespace cache holds what the offline run reads from --namespaces.
    let rules = rules_with(
        vec![
            namespace(
                "team-a",
                json!({ROLE_ANNOTATION: "arn:aws:iam::123456789012:role/team-a-.*"}),
            ),
            namespace("open", json!({})),
        ],
        Vec::new(),
        false,
    );
    let handle = axum_server::Handle::new();
    tokio::spawn(webhook::server::serve_tls(
        listener,
        webhook::router(state(rules)),
        tls,
        handle.clone(),
        false,
    ));

    let mut offline = args(&manifest);
    offline.namespaces = Some(namespaces);
    let (offline_code, offline_text) = tokio::task::spawn_blocking(move || run(offline))
        .await
        .expect("join");
    let mut remote = args(&manifest);
    remote.server = Some(format!("https://localhost:{port}"));
    remote.ca_file = Some(ca_file.clone());
    let (remote_code, remote_text) = tokio::task::spawn_blocking(move || run(remote))
        .await
        .expect("join");

    assert_eq!(remote_code, 1, "denials exit 1: {remote_text}");
    assert_eq!(remote_code, offline_code);
    assert_eq!(remote_text, offline_text, "same verdicts, same format");
    for expected in [
        "ExternalSecret/team-a/bad-target: spec.target.deletionPolicy: Delete requires creationPolicy Owner",
        "SecretStore/team-a/team-b-role: ",
        "SecretStore/team-a/op: spec.provider.onepassword: provider onepassword is not supported by this operator",
        "SecretStore/open/demo: warning: ",
    ] {
        assert!(
            remote_text.contains(expected),
            "{expected:?} not in\n{remote_text}"
        );
    }
    // A denial with several errors prints one line per error, as offline mode does (the
    // server sends them as status.details.causes).
    let many: Vec<&str> = remote_text
        .lines()
        .filter(|l| l.contains("ExternalSecret/team-a/many: ") && !l.contains(": warning: "))
        .collect();
    assert!(many.len() >= 3, "one line per error:\n{remote_text}");
    for field in [
        "spec.target.deletionPolicy: ",
        "spec: ",
        "spec.refreshInterval: ",
    ] {
        assert!(
            many.iter().any(|l| l.contains(&format!("many: {field}"))),
            "{field:?} has its own line:\n{remote_text}"
        );
    }
    assert!(!remote_text.contains("team-a/fine"), "{remote_text}");
    assert!(!remote_text.contains("ConfigMap"), "{remote_text}");

    // A CA that did not sign the server's certificate is refused.
    let other = renew(
        &CertBundle::default(),
        &Assessment::RegenerateAll("other".into()),
        &CertSettings {
            dns_names: vec!["localhost".to_owned()],
            lookahead: Duration::from_secs(86_400),
            validity: Duration::from_secs(365 * 86_400),
        },
        SystemTime::now(),
    )
    .expect("certificate");
    let other_ca = dir.path().join("other-ca.crt");
    std::fs::write(&other_ca, &other.ca_crt).expect("write");
    let mut untrusted = args(&manifest);
    untrusted.server = Some(format!("https://localhost:{port}"));
    untrusted.ca_file = Some(other_ca);
    let result = tokio::task::spawn_blocking(move || {
        webhook::offline::validate(&untrusted, &mut Vec::new())
    })
    .await
    .expect("join");
    assert!(result.is_err(), "an untrusted server certificate must fail");
    handle.shutdown();
}
