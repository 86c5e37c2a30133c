//! `webhook serve` accepts ESO's webhook flags with ESO's defaults, plus ours.

use std::time::Duration;

use webhook::cli::{CertMode, ServeArgs, parse_listen_addr, serve_flag_table};
use webhook::duration::{format_go_duration, parse_go_duration};

fn default_of(name: &str) -> Option<String> {
    serve_flag_table()
        .into_iter()
        .find(|f| f.name == name)
        .unwrap_or_else(|| panic!("flag --{name} missing"))
        .default
}

#[test]
fn eso_webhook_flags_exist_with_eso_defaults() {
    // cmd/controller/webhook.go of ESO v2.9.0 (reference §8.4).
    let expected = [
        ("port", "10250"),
        ("dns-name", "localhost"),
        ("cert-dir", "/tmp/k8s-webhook-server/serving-certs"),
        ("check-interval", "5m"),
        ("tls-ciphers", ""),
        ("tls-min-version", "1.2"),
        ("enable-http2", "false"),
        ("metrics-addr", ":8080"),
        ("healthz-addr", ":8081"),
        ("loglevel", "info"),
    ];
    for (name, default) in expected {
        assert_eq!(default_of(name).as_deref(), Some(default), "--{name}");
    }
    // 90 days, written the Go way.
    let lookahead = default_of("lookahead-interval").expect("default");
    assert_eq!(
        parse_go_duration(&lookahead),
        Ok(Duration::from_secs(90 * 86_400))
    );
}

#[test]
fn our_flags_are_in_the_table() {
    let names: Vec<String> = serve_flag_table().into_iter().map(|f| f.name).collect();
    for name in [
        "cert-mode",
        "cert-secret-name",
        "cert-secret-namespace",
        "service-name",
        "service-namespace",
        "webhook-config-names",
        "mutating-webhook-config-names",
        "crd-names",
        "require-namespace-policy",
        "serve-conversion",
        "request-timeout",
        "max-body-bytes",
    ] {
        assert!(
            names.iter().any(|n| n == name),
            "--{name} missing from {names:?}"
        );
    }
    let ns = serve_flag_table()
        .into_iter()
        .find(|f| f.name == "cert-secret-namespace")
        .expect("flag");
    assert_eq!(ns.env.as_deref(), Some("POD_NAMESPACE"));
}

#[test]
fn helm_style_arguments_parse() {
    // The argument style ESO's chart renders, including Go's `--flag=value` booleans.
    let args = ServeArgs::try_parse_from([
        "--port=10250",
        "--dns-name=external-secrets-webhook.eso.svc",
        "--cert-dir=/tmp/certs",
        "--check-interval=5m",
        "--lookahead-interval=2160h0m0s",
        "--metrics-addr=:8080",
        "--healthz-addr=:8081",
        "--enable-http2=true",
        "--zap-time-encoding=epoch",
    ])
    .expect("parses");
    assert!(args.enable_http2);
    assert_eq!(args.check_interval, Duration::from_secs(300));
    assert_eq!(args.lookahead_interval, Duration::from_secs(2160 * 3600));
    assert_eq!(args.cert_mode, CertMode::SelfManaged);
    let bare = ServeArgs::try_parse_from([
        "--enable-http2",
        "--serve-conversion",
        "--cert-mode",
        "files",
    ])
    .expect("parses");
    assert!(bare.enable_http2 && bare.serve_conversion);
    assert_eq!(bare.cert_mode, CertMode::Files);
    assert!(ServeArgs::try_parse_from(["--check-interval=soon"]).is_err());
}

#[test]
fn certificate_names_cover_the_service() {
    let args = ServeArgs::try_parse_from([
        "--service-name=eso-webhook",
        "--cert-secret-namespace=eso",
        "--dns-name=eso-webhook.eso.svc",
    ])
    .expect("parses");
    assert_eq!(
        args.dns_names(),
        [
            "eso-webhook.eso.svc",
            "eso-webhook.eso.svc.cluster.local",
            "eso-webhook"
        ]
    );
    let other = ServeArgs::try_parse_from([
        "--service-name=s",
        "--service-namespace=n",
        "--dns-name=localhost",
    ])
    .expect("parses");
    assert_eq!(
        other.dns_names(),
        ["s.n.svc", "s.n.svc.cluster.local", "s", "localhost"]
    );
}

#[test]
fn go_durations() {
    let cases = [
        ("5m", Duration::from_secs(300)),
        ("2160h0m0s", Duration::from_secs(2160 * 3600)),
        ("90d", Duration::from_secs(90 * 86_400)),
        ("1h30m", Duration::from_secs(5400)),
        ("1.5h", Duration::from_secs(5400)),
        ("500ms", Duration::from_millis(500)),
        ("2s", Duration::from_secs(2)),
        ("0", Duration::ZERO),
        ("1us", Duration::from_micros(1)),
    ];
    for (text, want) in cases {
        assert_eq!(parse_go_duration(text), Ok(want), "{text}");
    }
    for bad in ["", "5", "-5m", "m", "5x", "1..5s"] {
        assert!(parse_go_duration(bad).is_err(), "{bad:?} must be rejected");
    }
    assert_eq!(
        format_go_duration(Duration::from_secs(2160 * 3600)),
        "2160h0m0s"
    );
    assert_eq!(format_go_duration(Duration::from_secs(300)), "5m0s");
    assert_eq!(format_go_duration(Duration::from_millis(1500)), "1.5s");
}

#[test]
fn go_listen_addresses() {
    assert_eq!(
        parse_listen_addr(":8080"),
        Ok(Some("0.0.0.0:8080".parse().expect("addr")))
    );
    assert_eq!(
        parse_listen_addr("127.0.0.1:9"),
        Ok(Some("127.0.0.1:9".parse().expect("addr")))
    );
    assert_eq!(parse_listen_addr("0"), Ok(None));
    assert!(parse_listen_addr("nonsense").is_err());
}

fn es_with_template(data: &str) -> webhook::AdmissionRequestView {
    let review = serde_json::json!({
        "uid": "u1", "operation": "CREATE", "namespace": "team-a", "name": "es",
        "kind": {"group": "external-secrets.io", "version": "v1", "kind": "ExternalSecret"},
        "object": {
            "apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret",
            "metadata": {"name": "es", "namespace": "team-a"},
            "spec": {
                "secretStoreRef": {"name": "s", "kind": "SecretStore"},
                "target": {"template": {"data": {"k": data}}},
                "data": [{"secretKey": "x", "remoteRef": {"key": "k"}}]
            }
        }
    });
    serde_json::from_value(review).expect("view")
}

#[test]
fn serve_parses_templates_with_the_controllers_delimiters() {
    use webhook::rules::{Caches, EsoRules};
    use webhook::{AdmissionRules, Verdict};
    let rules_for = |args: &[&str]| {
        let args = ServeArgs::try_parse_from(args.iter().copied()).expect("parses");
        EsoRules::new(
            webhook::rules_options(&args),
            Caches::from_objects(Vec::new(), Vec::new()),
        )
    };
    let denied = |rules: &EsoRules, data: &str| match rules.validate(&es_with_template(data)) {
        Verdict::Allow { .. } => None,
        Verdict::Deny(d) => Some(d.message),
    };
    let default = rules_for(&[]);
    let custom = rules_for(&[
        "--template-left-delimiter=[[",
        "--template-right-delimiter=]]",
    ]);
    // `{{ .x` is an unclosed action for the default delimiters and plain text for `[[ ]]`;
    // `[[ .x` is the reverse.
    let message = denied(&default, "{{ .x").expect("unclosed {{ denied by default");
    assert!(
        message.contains("spec.target.template.data"),
        "names the field: {message}"
    );
    assert_eq!(denied(&default, "[[ .x"), None);
    assert_eq!(denied(&custom, "{{ .x"), None);
    let message = denied(&custom, "[[ .x").expect("unclosed [[ denied with [[ ]]");
    assert!(message.contains("spec.target.template.data"), "{message}");
    assert_eq!(denied(&custom, "[[ .x | upper ]]"), None);
    assert_eq!(default_of("template-left-delimiter").as_deref(), Some("{{"));
    assert_eq!(
        default_of("template-right-delimiter").as_deref(),
        Some("}}")
    );
}
