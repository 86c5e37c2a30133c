//! ESO rendering rules (`shared::template::eso`): precedence, merge policy, templateFrom sources
//! and scopes, metadata targets, decoding, type, the privileged-template rules and the seed
//! documents' templates. Go error texts embedded in expectations were produced by Go's
//! text/template (hack/gotemplate); the wrapping around them is ESO's (`parser.go`,
//! `template.go`, `externalsecret_controller_template.go`).

use std::collections::BTreeMap;

use shared::api::v1::{
    DecodingStrategy, ExternalSecretTemplate, ExternalSecretTemplateMetadata,
    TemplateEngineVersion, TemplateFrom, TemplateMergePolicy, TemplateRef, TemplateRefItem,
    TemplateScope,
};
use shared::keys::{RewriteOp, SecretMap, rewrite_map};
use shared::template::Options;
use shared::template::eso::{
    RenderError, RenderedTarget, TemplateSources, check_template_rules, render_rewrite_transform,
    render_target,
};

fn bytes_map(pairs: &[(&str, &[u8])]) -> BTreeMap<String, Vec<u8>> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_vec()))
        .collect()
}

fn str_map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn tpl() -> ExternalSecretTemplate {
    ExternalSecretTemplate {
        engine_version: Some(TemplateEngineVersion::V2),
        ..Default::default()
    }
}

fn item(key: &str, scope: Option<TemplateScope>) -> TemplateRefItem {
    TemplateRefItem {
        key: key.into(),
        template_as: scope,
    }
}

fn cm_from(name: &str, items: Vec<TemplateRefItem>, target: Option<&str>) -> TemplateFrom {
    TemplateFrom {
        config_map: Some(TemplateRef {
            name: name.into(),
            items,
        }),
        target: target.map(String::from),
        ..Default::default()
    }
}

fn literal(text: &str, target: Option<&str>) -> TemplateFrom {
    TemplateFrom {
        literal: Some(text.into()),
        target: target.map(String::from),
        ..Default::default()
    }
}

fn fetched() -> BTreeMap<String, Vec<u8>> {
    bytes_map(&[("a", b"1"), ("b", b"2"), ("user", b"admin")])
}

fn render(t: &ExternalSecretTemplate) -> Result<RenderedTarget, RenderError> {
    render_target(
        t,
        &fetched(),
        &TemplateSources::default(),
        &Options::default(),
    )
}

fn render_with(
    t: &ExternalSecretTemplate,
    sources: &TemplateSources,
) -> Result<RenderedTarget, RenderError> {
    render_target(t, &fetched(), sources, &Options::default())
}

fn data_str(r: &RenderedTarget) -> BTreeMap<String, String> {
    r.data
        .iter()
        .map(|(k, v)| (k.clone(), String::from_utf8(v.clone()).unwrap()))
        .collect()
}

fn sources_with_cm(name: &str, data: &[(&str, &str)]) -> TemplateSources {
    let mut s = TemplateSources::default();
    s.config_maps.insert(name.into(), str_map(data));
    s
}

#[test]
fn precedence_data_over_template_from_over_fetched() {
    // One key per layer plus overlaps: `b` is fetched and in templateFrom, `c` is in templateFrom
    // and data.
    let mut t = tpl();
    t.merge_policy = Some(TemplateMergePolicy::Merge);
    t.template_from = Some(vec![
        literal("b: tf-{{ .b }}\nc: tf-c", None),
        cm_from("cm", vec![item("d", None)], Some("Data")),
    ]);
    t.data = Some(str_map(&[("c", "data-{{ .a }}")]));
    let sources = sources_with_cm("cm", &[("d", "cm-{{ .user }}")]);
    let r = render_with(&t, &sources).unwrap();
    assert_eq!(
        data_str(&r),
        str_map(&[
            ("a", "1"),
            ("b", "tf-2"),
            ("c", "data-1"),
            ("d", "cm-admin"),
            ("user", "admin")
        ])
    );
}

#[test]
fn replace_policy_keeps_only_templated_keys() {
    for policy in [None, Some(TemplateMergePolicy::Replace)] {
        let mut t = tpl();
        t.merge_policy = policy;
        t.data = Some(str_map(&[("url", "http://{{ .user }}@host")]));
        let r = render(&t).unwrap();
        assert_eq!(data_str(&r), str_map(&[("url", "http://admin@host")]));
    }
    // templateFrom alone also counts as "the template produces data".
    let mut t = tpl();
    t.template_from = Some(vec![literal("only: {{ .a }}", None)]);
    assert_eq!(data_str(&render(&t).unwrap()), str_map(&[("only", "1")]));
}

#[test]
fn merge_policy_keeps_fetched_keys_and_templated_keys_win() {
    let mut t = tpl();
    t.merge_policy = Some(TemplateMergePolicy::Merge);
    t.data = Some(str_map(&[("a", "override"), ("new", "{{ .b }}")]));
    let r = render(&t).unwrap();
    assert_eq!(
        data_str(&r),
        str_map(&[
            ("a", "override"),
            ("b", "2"),
            ("new", "2"),
            ("user", "admin")
        ])
    );
}

#[test]
fn metadata_only_template_keeps_fetched_data() {
    // Neither data nor templateFrom (empty collections count as absent, like Go's len() == 0).
    for data in [None, Some(BTreeMap::new())] {
        let mut t = tpl();
        t.data = data;
        t.template_from = Some(vec![]);
        t.metadata = Some(ExternalSecretTemplateMetadata {
            labels: Some(str_map(&[("owner", "{{ .user }}")])),
            annotations: Some(str_map(&[("note", "static")])),
            finalizers: Some(vec!["a/b".into(), "c/d".into(), "a/b".into()]),
        });
        let r = render(&t).unwrap();
        assert_eq!(r.data, fetched());
        assert_eq!(r.labels, str_map(&[("owner", "admin")]));
        assert_eq!(r.annotations, str_map(&[("note", "static")]));
        assert_eq!(r.finalizers, vec!["a/b".to_string(), "c/d".to_string()]);
    }
}

#[test]
fn keys_and_values_scope_renders_a_yaml_map() {
    let mut t = tpl();
    t.template_from = Some(vec![cm_from(
        "tmpl",
        vec![item("all", Some(TemplateScope::KeysAndValues))],
        None,
    )]);
    let sources = sources_with_cm(
        "tmpl",
        &[(
            "all",
            "{{ range $k, $v := . }}{{ $k }}_copy: {{ $v | quote }}\n{{ end }}",
        )],
    );
    let r = render_with(&t, &sources).unwrap();
    assert_eq!(
        data_str(&r),
        str_map(&[("a_copy", "1"), ("b_copy", "2"), ("user_copy", "admin")])
    );

    // Values scope (explicit and defaulted) templates the item's own key instead.
    for scope in [None, Some(TemplateScope::Values)] {
        let mut t = tpl();
        t.template_from = Some(vec![cm_from("tmpl", vec![item("all", scope)], None)]);
        let sources = sources_with_cm("tmpl", &[("all", "x: {{ .a }}")]);
        assert_eq!(
            data_str(&render_with(&t, &sources).unwrap()),
            str_map(&[("all", "x: 1")])
        );
    }
}

#[test]
fn literal_output_scalars_become_strings_like_sigs_yaml() {
    // sigs.k8s.io/yaml converts scalars headed for a string target to their string forms;
    // floats via strconv.FormatFloat(f, 'g', -1, 32) (expected strings printed by Go's strconv).
    let mut t = tpl();
    t.template_from = Some(vec![literal(
        "port: 5432\nenabled: true\nempty:\nratio: 0.1\nbig: 1234567.0\nround: 123456.0\n\
         pi: 3.14159265358979\nsmall: 0.00001\nneg: -2.5\nquoted: \"007\"\n",
        None,
    )]);
    let r = render(&t).unwrap();
    assert_eq!(
        data_str(&r),
        str_map(&[
            ("big", "1.234567e+06"),
            ("empty", ""),
            ("enabled", "true"),
            ("neg", "-2.5"),
            ("pi", "3.1415927"),
            ("port", "5432"),
            ("quoted", "007"),
            ("ratio", "0.1"),
            ("round", "123456"),
            ("small", "1e-05"),
        ])
    );
}

#[test]
fn literal_output_that_is_not_a_string_map_is_an_error() {
    for (text, kind) in [
        ("nested:\n  a: b\n", "object into Go value of type string"),
        ("list: [1, 2]\n", "array into Go value of type string"),
        (
            "just a scalar",
            "string into Go value of type map[string]string",
        ),
    ] {
        let mut t = tpl();
        t.template_from = Some(vec![literal(text, None)]);
        let err = render(&t).unwrap_err();
        assert!(matches!(err, RenderError::TemplateFrom(_)), "{err}");
        assert_eq!(
            err.to_string(),
            format!(
                "error fetching templateFrom data: could not unmarshal template to \
                 'map[string][]byte': error unmarshaling JSON: while decoding JSON: json: \
                 cannot unmarshal {kind}"
            )
        );
    }
    // Empty output is an empty map, not an error.
    let mut t = tpl();
    t.template_from = Some(vec![literal("{{ if false }}x: y{{ end }}", None)]);
    assert!(render(&t).unwrap().data.is_empty());
}

#[test]
fn template_from_entry_applies_config_map_then_secret_then_literal() {
    let mut t = tpl();
    t.template_from = Some(vec![TemplateFrom {
        config_map: Some(TemplateRef {
            name: "cm".into(),
            items: vec![item("k", None)],
        }),
        secret: Some(TemplateRef {
            name: "sec".into(),
            items: vec![item("k", None), item("s", None)],
        }),
        literal: Some("k: literal".into()),
        ..Default::default()
    }]);
    let mut sources = sources_with_cm("cm", &[("k", "from-cm")]);
    sources.secrets.insert(
        "sec".into(),
        bytes_map(&[("k", b"from-secret"), ("s", b"s={{ .b }}")]),
    );
    let r = render_with(&t, &sources).unwrap();
    assert_eq!(data_str(&r), str_map(&[("k", "literal"), ("s", "s=2")]));
}

#[test]
fn missing_template_sources_use_eso_wording() {
    let cases: Vec<(TemplateFrom, TemplateSources, &str)> = vec![
        (
            cm_from("absent", vec![item("k", None)], None),
            TemplateSources::default(),
            "error fetching templateFrom data: configmaps \"absent\" not found",
        ),
        (
            cm_from("cm", vec![item("nokey", None)], None),
            sources_with_cm("cm", &[("k", "v")]),
            "error fetching templateFrom data: error in configmap cm: missing key nokey",
        ),
        (
            TemplateFrom {
                secret: Some(TemplateRef {
                    name: "absent".into(),
                    items: vec![item("k", None)],
                }),
                ..Default::default()
            },
            TemplateSources::default(),
            "error fetching templateFrom data: secrets \"absent\" not found",
        ),
        (
            TemplateFrom {
                secret: Some(TemplateRef {
                    name: "sec".into(),
                    items: vec![item("nokey", None)],
                }),
                ..Default::default()
            },
            {
                let mut s = TemplateSources::default();
                s.secrets.insert("sec".into(), bytes_map(&[("k", b"v")]));
                s
            },
            "error fetching templateFrom data: error in secret sec: missing key nokey",
        ),
    ];
    for (tf, sources, want) in cases {
        let mut t = tpl();
        t.template_from = Some(vec![tf]);
        let err = render_with(&t, &sources).unwrap_err();
        assert_eq!(err.to_string(), want);
    }
}

#[test]
fn template_from_targets_labels_and_annotations_case_insensitively() {
    let mut t = tpl();
    t.template_from = Some(vec![
        literal("team: \"{{ .user }}\"\nshared: from-tf", Some("LABELS")),
        literal("doc: x", Some("annotations")),
        literal("k: v", Some("data")),
    ]);
    t.metadata = Some(ExternalSecretTemplateMetadata {
        labels: Some(str_map(&[("shared", "from-metadata")])),
        ..Default::default()
    });
    let r = render(&t).unwrap();
    // metadata labels are rendered after templateFrom and win.
    assert_eq!(
        r.labels,
        str_map(&[("shared", "from-metadata"), ("team", "admin")])
    );
    assert_eq!(r.annotations, str_map(&[("doc", "x")]));
    assert_eq!(data_str(&r), str_map(&[("k", "v")]));
}

#[test]
fn values_decoding_strategy_decodes_rendered_values() {
    type Case = (
        Option<DecodingStrategy>,
        &'static str,
        Option<&'static [u8]>,
    );
    let cases: [Case; 6] = [
        (
            Some(DecodingStrategy::Base64),
            "k: aGVsbG8=",
            Some(b"hello"),
        ),
        // `_-8=` is 111111 111110 111100 in the URL alphabet.
        (
            Some(DecodingStrategy::Base64Url),
            "k: _-8=",
            Some(&[0xff, 0xef]),
        ),
        (
            Some(DecodingStrategy::Auto),
            "k: not-base64!",
            Some(b"not-base64!"),
        ),
        (
            Some(DecodingStrategy::None),
            "k: aGVsbG8=",
            Some(b"aGVsbG8="),
        ),
        (None, "k: aGVsbG8=", Some(b"aGVsbG8=")),
        (Some(DecodingStrategy::Base64), "k: aGVsbG8", None),
    ];
    for (strategy, text, want) in cases {
        let mut t = tpl();
        let mut tf = literal(text, None);
        tf.values_decoding_strategy = strategy;
        t.template_from = Some(vec![tf]);
        match (render(&t), want) {
            (Ok(r), Some(w)) => assert_eq!(r.data["k"], w, "{strategy:?} {text}"),
            (Err(e), None) => {
                let msg = e.to_string();
                assert!(
                    msg.starts_with(
                        "error fetching templateFrom data: failed to decode value of key k"
                    ),
                    "{msg}"
                );
                assert!(!msg.contains("aGVsbG8"), "error leaks the value: {msg}");
            }
            (got, w) => panic!("{strategy:?} {text}: got {got:?}, want {w:?}"),
        }
    }
}

#[test]
fn type_comes_from_the_template_when_set() {
    let mut t = tpl();
    t.type_ = Some("kubernetes.io/tls".into());
    assert_eq!(
        render(&t).unwrap().secret_type.as_deref(),
        Some("kubernetes.io/tls")
    );
    t.type_ = Some(String::new());
    assert_eq!(render(&t).unwrap().secret_type, None);
    t.type_ = None;
    assert_eq!(render(&t).unwrap().secret_type, None);
}

#[test]
fn engine_version_must_be_v2() {
    let mut t = tpl();
    t.engine_version = None;
    let err = render(&t).unwrap_err();
    assert_eq!(err, RenderError::EngineVersion(String::new()));
    assert_eq!(err.to_string(), "unsupported template engine version: ");
}

#[test]
fn binary_fetched_values_survive_templating() {
    let bin: &[u8] = &[0xff, 0x00, 0x80, b'a'];
    let fetched = bytes_map(&[("bin", bin)]);
    let mut t = tpl();
    t.data = Some(str_map(&[
        ("copy", "{{ .bin }}"),
        ("b64", "{{ .bin | b64enc }}"),
        ("len", "{{ len .bin }}"),
    ]));
    let r = render_target(
        &t,
        &fetched,
        &TemplateSources::default(),
        &Options::default(),
    )
    .unwrap();
    assert_eq!(r.data["copy"], bin);
    assert_eq!(r.data["b64"], b"/wCAYQ==");
    assert_eq!(r.data["len"], b"4");
}

#[test]
fn custom_delimiters_apply_to_every_template() {
    let opts = Options {
        left_delim: "<<".into(),
        right_delim: ">>".into(),
    };
    let mut t = tpl();
    t.data = Some(str_map(&[("k", "<< .a >>{{ .a }}")]));
    t.template_from = Some(vec![literal("lit: << .b >>", None)]);
    t.metadata = Some(ExternalSecretTemplateMetadata {
        labels: Some(str_map(&[("l", "<< .user >>")])),
        ..Default::default()
    });
    let r = render_target(&t, &fetched(), &TemplateSources::default(), &opts).unwrap();
    assert_eq!(data_str(&r), str_map(&[("k", "1{{ .a }}"), ("lit", "2")]));
    assert_eq!(r.labels, str_map(&[("l", "admin")]));
}

#[test]
fn template_errors_carry_esos_wrapping_and_gos_text() {
    let mut t = tpl();
    t.data = Some(str_map(&[("k", "{{ .missing }}")]));
    assert_eq!(
        render(&t).unwrap_err().to_string(),
        "could not execute template: could not execute template: unable to execute template at \
         key k: unable to execute template at key k: template: k:1:3: executing \"k\" at \
         <.missing>: map has no entry for key \"missing\""
    );
    let mut t = tpl();
    t.metadata = Some(ExternalSecretTemplateMetadata {
        annotations: Some(str_map(&[("k", "{{ .a ")])),
        ..Default::default()
    });
    assert_eq!(
        render(&t).unwrap_err().to_string(),
        "could not execute template: could not execute template: unable to execute template at \
         key k: unable to parse template at key k: template: k:1: unclosed action"
    );
    // KeysAndValues templates are named after their own text.
    let mut t = tpl();
    t.template_from = Some(vec![literal("{{ .missing }}", None)]);
    assert_eq!(
        render(&t).unwrap_err().to_string(),
        "error fetching templateFrom data: unable to execute template at key {{ .missing }}: \
         unable to execute template at key {{ .missing }}: template: {{ .missing }}:1:3: \
         executing \"{{ .missing }}\" at <.missing>: map has no entry for key \"missing\""
    );
}

// ---- privileged-template rules (§3 rules 4-6) ----

fn sa_token() -> ExternalSecretTemplate {
    let mut t = tpl();
    t.type_ = Some("kubernetes.io/service-account-token".into());
    t
}

#[test]
fn service_account_token_with_sa_annotation_is_rejected() {
    let mut t = sa_token();
    t.metadata = Some(ExternalSecretTemplateMetadata {
        annotations: Some(str_map(&[(
            "kubernetes.io/service-account.name",
            "default",
        )])),
        ..Default::default()
    });
    for secret_target in [true, false] {
        let err = check_template_rules(&t, secret_target).unwrap_err();
        assert!(matches!(err, RenderError::Forbidden(_)));
        assert!(err.to_string().contains("service-account.name"), "{err}");
    }
    // render_target re-checks before rendering anything.
    assert!(matches!(render(&t), Err(RenderError::Forbidden(_))));
}

#[test]
fn service_account_token_with_annotation_template_from_is_rejected() {
    for target in ["Annotations", "annotations", "ANNOTATIONS"] {
        let mut t = sa_token();
        t.template_from = Some(vec![literal(
            "kubernetes.io/service-account.name: default",
            Some(target),
        )]);
        let err = check_template_rules(&t, true).unwrap_err();
        assert!(err.to_string().contains("templateFrom[0].target"), "{err}");
        assert!(matches!(render(&t), Err(RenderError::Forbidden(_))));
    }
}

#[test]
fn service_account_token_type_alone_or_with_other_targets_is_allowed() {
    let mut t = sa_token();
    t.metadata = Some(ExternalSecretTemplateMetadata {
        annotations: Some(str_map(&[("other", "x")])),
        ..Default::default()
    });
    t.template_from = Some(vec![literal("a: b", Some("Labels")), literal("c: d", None)]);
    check_template_rules(&t, true).unwrap();
    let r = render(&t).unwrap();
    assert_eq!(
        r.secret_type.as_deref(),
        Some("kubernetes.io/service-account-token")
    );
}

#[test]
fn bootstrap_token_type_is_always_rejected() {
    let mut t = tpl();
    t.type_ = Some("bootstrap.kubernetes.io/token".into());
    for secret_target in [true, false] {
        let err = check_template_rules(&t, secret_target).unwrap_err();
        assert!(err.to_string().contains("bootstrap.kubernetes.io/token"));
    }
    assert!(matches!(render(&t), Err(RenderError::Forbidden(_))));
}

#[test]
fn path_targets_are_rejected_for_secret_targets_only() {
    for target in [
        "type",
        "immutable",
        "metadata.ownerReferences",
        "spec",
        "data.x",
    ] {
        let mut t = tpl();
        t.template_from = Some(vec![literal("a: b", Some(target))]);
        let err = check_template_rules(&t, true).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "templateFrom[0].target {target:?} is not allowed for Secret targets: use Data, \
                 Annotations or Labels"
            )
        );
        check_template_rules(&t, false).unwrap();
        assert!(matches!(render(&t), Err(RenderError::Forbidden(_))));
    }
    for target in ["", "Data", "DATA", "Labels", "labels", "Annotations"] {
        let mut t = tpl();
        t.template_from = Some(vec![literal("a: b", Some(target))]);
        check_template_rules(&t, true).unwrap();
    }
}

#[test]
fn all_violations_are_reported_together() {
    let mut t = tpl();
    t.type_ = Some("bootstrap.kubernetes.io/token".into());
    t.template_from = Some(vec![
        literal("a: b", Some("type")),
        literal("a: b", Some("spec")),
    ]);
    let msg = check_template_rules(&t, true).unwrap_err().to_string();
    assert_eq!(msg.lines().count(), 3, "{msg}");
}

// ---- rewrite.transform ----

#[test]
fn rewrite_transform_renders_with_value_as_the_key() {
    assert_eq!(
        render_rewrite_transform("{{ .value | upper }}-x", "db/pass").unwrap(),
        "DB/PASS-x"
    );
    let input: SecretMap = [("db/pass".to_string(), b"v".to_vec().into())]
        .into_iter()
        .collect();
    let ops = [
        RewriteOp::Transform {
            template: "{{ .value | replace \"/\" \"_\" }}".into(),
        },
        RewriteOp::Regexp {
            source: "^db_".into(),
            target: "database_".into(),
        },
    ];
    let out = rewrite_map(&ops, render_rewrite_transform, input).unwrap();
    assert_eq!(out.keys().collect::<Vec<_>>(), vec!["database_pass"]);

    let err = render_rewrite_transform("{{ .other }}", "k").unwrap_err();
    assert_eq!(
        err.to_string(),
        "template: transform:1:3: executing \"transform\" at <.other>: map has no entry for key \"other\""
    );
}

// ---- seed documents ----

#[test]
fn seed_cloudnativepg_template_renders_the_four_connection_keys() {
    // cloudnativepg-with-eso.txt: a Password generator feeds `password`; the template writes
    // four keys and the reload label (mergePolicy unset = Replace, so only templated keys).
    let mut t = tpl();
    t.metadata = Some(ExternalSecretTemplateMetadata {
        labels: Some(str_map(&[("cnpg.io/reload", "true")])),
        ..Default::default()
    });
    t.data = Some(str_map(&[
        ("password", "{{ .password }}"),
        ("pgpass", "cluster-example-rw:5432:app:app:{{ .password }}"),
        (
            "jdbc-uri",
            "jdbc:postgresql://cluster-example-rw.default:5432/app?password={{ .password }}&user=app",
        ),
        (
            "uri",
            "postgresql://app:{{ .password }}@cluster-example-rw.default:5432/app",
        ),
    ]));
    let fetched = bytes_map(&[("password", b"s3cr$t-_@")]);
    let r = render_target(
        &t,
        &fetched,
        &TemplateSources::default(),
        &Options::default(),
    )
    .unwrap();
    assert_eq!(
        data_str(&r),
        str_map(&[
            (
                "jdbc-uri",
                "jdbc:postgresql://cluster-example-rw.default:5432/app?password=s3cr$t-_@&user=app"
            ),
            ("password", "s3cr$t-_@"),
            ("pgpass", "cluster-example-rw:5432:app:app:s3cr$t-_@"),
            (
                "uri",
                "postgresql://app:s3cr$t-_@@cluster-example-rw.default:5432/app"
            ),
        ])
    );
    assert_eq!(r.labels, str_map(&[("cnpg.io/reload", "true")]));
    assert!(r.annotations.is_empty());
}

#[test]
fn seed_pushsecret_guide_template_fails_like_go() {
    // pushsecret-guide.txt uses `{{ .best-pokemon ... }}`: Go's lexer rejects `-` in a field
    // name, so ESO reports this parse error (text from Go's text/template); `index` works.
    let mut t = tpl();
    t.metadata = Some(ExternalSecretTemplateMetadata {
        annotations: Some(BTreeMap::new()),
        labels: Some(BTreeMap::new()),
        finalizers: None,
    });
    t.data = Some(str_map(&[(
        "best-pokemon",
        "{{ .best-pokemon | toString | upper }} is the really best!",
    )]));
    t.template_from = Some(vec![cm_from(
        "application-config-tmpl",
        vec![item("config.yml", None)],
        None,
    )]);
    let sources = sources_with_cm(
        "application-config-tmpl",
        &[(
            "config.yml",
            "route:\n  receiver: {{ index . \"best-pokemon\" }}\n",
        )],
    );
    let source = bytes_map(&[("best-pokemon", b"pikachu")]);
    let err = render_target(&t, &source, &sources, &Options::default()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "could not execute template: could not execute template: unable to execute template at \
         key best-pokemon: unable to parse template at key best-pokemon: template: \
         best-pokemon:1: bad character U+002D '-'"
    );

    // The working spelling renders the configMap item into its own key.
    t.data = Some(str_map(&[(
        "best-pokemon",
        "{{ index . \"best-pokemon\" | toString | upper }} is the really best!",
    )]));
    let r = render_target(&t, &source, &sources, &Options::default()).unwrap();
    assert_eq!(
        data_str(&r),
        str_map(&[
            ("best-pokemon", "PIKACHU is the really best!"),
            ("config.yml", "route:\n  receiver: pikachu\n"),
        ])
    );
}
