//! ExternalSecret and ClusterExternalSecret admission rules: one test per rule, allow and deny,
//! asserting both the field path and ESO's original message text.

mod validationkit;

use serde_json::{Value, json};
use shared::validation::{ValidationContext, validate};
use validationkit::{allowed, check, denied, with};

fn es(spec: Value) -> Value {
    json!({
        "apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret",
        "metadata": {"name": "db", "namespace": "team-a"},
        "spec": spec,
    })
}

fn base() -> Value {
    json!({
        "secretStoreRef": {"name": "vault", "kind": "SecretStore"},
        "data": [{"secretKey": "password", "remoteRef": {"key": "db/creds", "property": "password"}}],
    })
}

#[test]
fn allows_minimal_external_secret() {
    let out = check(&es(base()));
    allowed(&out);
    assert!(out.warnings.is_empty());
}

#[test]
fn rejects_delete_deletion_policy_with_merge_creation_policy() {
    for cp in ["Merge", "None", "CreateOrMerge"] {
        let out = check(&es(with(
            base(),
            json!({"target": {"creationPolicy": cp, "deletionPolicy": "Delete"}}),
        )));
        denied(
            &out,
            "spec.target.deletionPolicy",
            &[
                "deletionPolicy=Delete must not be used when the controller doesn't own the secret. Please set creationPolicy=Owner",
                &format!("found {cp}"),
            ],
        );
    }
    for cp in ["Owner", "Orphan"] {
        allowed(&check(&es(with(
            base(),
            json!({"target": {"creationPolicy": cp, "deletionPolicy": "Delete"}}),
        ))));
    }
}

#[test]
fn rejects_merge_deletion_policy_with_none_creation_policy() {
    let out = check(&es(with(
        base(),
        json!({"target": {"creationPolicy": "None", "deletionPolicy": "Merge"}}),
    )));
    denied(
        &out,
        "spec.target.deletionPolicy",
        &[
            "deletionPolicy=Merge must not be used with creationPolicy=None. There is no Secret to merge with",
        ],
    );
    allowed(&check(&es(with(
        base(),
        json!({"target": {"creationPolicy": "Merge", "deletionPolicy": "Merge"}}),
    ))));
}

#[test]
fn rejects_empty_data_and_data_from() {
    let out = check(&es(json!({"secretStoreRef": {"name": "vault"}})));
    denied(
        &out,
        "spec",
        &["either data or dataFrom should be specified"],
    );
}

#[test]
fn rejects_service_account_token_template_with_sa_annotation() {
    let out = check(&es(with(
        base(),
        json!({"target": {"template": {
            "type": "kubernetes.io/service-account-token",
            "metadata": {"annotations": {"kubernetes.io/service-account.name": "admin"}}
        }}}),
    )));
    denied(
        &out,
        "spec.target.template.type",
        &[
            r#"template.type="kubernetes.io/service-account-token" with annotation "kubernetes.io/service-account.name" is not allowed"#,
        ],
    );
    let out = check(&es(with(
        base(),
        json!({"target": {"template": {
            "type": "kubernetes.io/service-account-token",
            "templateFrom": [{"target": "annotations", "literal": "a: b"}]
        }}}),
    )));
    denied(
        &out,
        "spec.target.template.templateFrom[0].target",
        &[r#"with templateFrom target="Annotations" is not allowed"#],
    );
    // The type alone is fine.
    allowed(&check(&es(with(
        base(),
        json!({"target": {"template": {"type": "kubernetes.io/service-account-token"}}}),
    ))));
}

#[test]
fn rejects_bootstrap_token_template() {
    let out = check(&es(with(
        base(),
        json!({"target": {"template": {"type": "bootstrap.kubernetes.io/token"}}}),
    )));
    denied(
        &out,
        "spec.target.template.type",
        &[r#"template.type="bootstrap.kubernetes.io/token" is not allowed"#],
    );
}

#[test]
fn rejects_path_template_from_target_for_secret_targets_only() {
    let spec = |manifest: Value| {
        with(
            base(),
            json!({"target": {"manifest": manifest, "template": {
                "templateFrom": [{"target": "metadata.ownerReferences", "literal": "a: b"}, {"target": "LABELS", "literal": "x: y"}]
            }}}),
        )
    };
    let out = check(&es(spec(Value::Null)));
    denied(
        &out,
        "spec.target.template.templateFrom[0].target",
        &[
            r#"templateFrom target="metadata.ownerReferences" is not allowed when targeting a Secret, must be one of "Data", "Annotations" or "Labels""#,
        ],
    );
    let out = check(&es(spec(json!({"apiVersion": "v1", "kind": "Secret"}))));
    denied(
        &out,
        "spec.target.template.templateFrom[0].target",
        &["is not allowed when targeting a Secret"],
    );
    allowed(&check(&es(spec(
        json!({"apiVersion": "v1", "kind": "ConfigMap"}),
    ))));
}

#[test]
fn rejects_data_from_with_several_sources() {
    let out = check(&es(json!({"secretStoreRef": {"name": "s"}, "dataFrom": [
        {"extract": {"key": "a"}, "find": {"name": {"regexp": ".*"}}}
    ]})));
    denied(
        &out,
        "spec.dataFrom[0]",
        &["extract, find, or generatorRef cannot be set at the same time"],
    );
    let out = check(&es(json!({"secretStoreRef": {"name": "s"}, "dataFrom": [
        {"extract": {"key": "a"}, "sourceRef": {"generatorRef": {"kind": "Password", "name": "p"}}}
    ]})));
    denied(
        &out,
        "spec.dataFrom[0]",
        &["extract, find, or generatorRef cannot be set at the same time"],
    );
}

#[test]
fn rejects_data_from_without_source() {
    let out = check(&es(
        json!({"secretStoreRef": {"name": "s"}, "dataFrom": [{"rewrite": []}]}),
    ));
    denied(
        &out,
        "spec.dataFrom[0]",
        &["either extract, find, or sourceRef must be set to dataFrom"],
    );
}

#[test]
fn rejects_empty_source_ref_in_data_from() {
    let out = check(&es(
        json!({"secretStoreRef": {"name": "s"}, "dataFrom": [{"sourceRef": {}}]}),
    ));
    denied(
        &out,
        "spec.dataFrom[0].sourceRef",
        &["generatorRef or storeRef must be set when using sourceRef in dataFrom"],
    );
}

#[test]
fn rejects_duplicate_secret_keys_only_with_retain() {
    let dup = json!([
        {"secretKey": "k", "remoteRef": {"key": "a"}},
        {"secretKey": "k", "remoteRef": {"key": "b"}}
    ]);
    let out = check(&es(json!({"secretStoreRef": {"name": "s"}, "data": dup})));
    denied(
        &out,
        "spec.data[1].secretKey",
        &["duplicate secretKey found: k"],
    );
    allowed(&check(&es(
        json!({"secretStoreRef": {"name": "s"}, "data": dup, "target": {"deletionPolicy": "Delete"}}),
    )));
}

#[test]
fn rejects_invalid_refresh_interval() {
    let out = check(&es(with(base(), json!({"refreshInterval": "1 hour"}))));
    denied(
        &out,
        "spec.refreshInterval",
        &["time: unknown unit \" hour\" in duration \"1 hour\""],
    );
    let out = check(&es(with(base(), json!({"refreshInterval": "-5m"}))));
    denied(&out, "spec.refreshInterval", &["negative"]);
    allowed(&check(&es(with(base(), json!({"refreshInterval": "0"})))));
}

#[test]
fn rejects_bad_sync_window_schedule_and_duration() {
    let out = check(&es(with(
        base(),
        json!({"syncWindows": {"kind": "allow", "windows": [
            {"schedule": "0 2 * *", "duration": "1h"}, {"schedule": "@every 6h", "duration": "forever"}
        ]}}),
    )));
    denied(
        &out,
        "spec.syncWindows.windows[0].schedule",
        &["not a schedule"],
    );
    denied(
        &out,
        "spec.syncWindows.windows[1].duration",
        &["invalid duration"],
    );
}

#[test]
fn rejects_unparsable_templates_with_configured_delimiters() {
    let spec = with(
        base(),
        json!({"target": {"template": {
            "data": {"ok": "{{ .password }}", "bad": "{{ .password "},
            "metadata": {"labels": {"l": "{{ end }}"}, "annotations": {"a": "plain"}},
            "templateFrom": [{"literal": "{{ if }}"}]
        }}}),
    );
    let out = check(&es(spec.clone()));
    denied(
        &out,
        "spec.target.template.data[bad]",
        &["template does not parse"],
    );
    denied(
        &out,
        "spec.target.template.metadata.labels[l]",
        &["template does not parse"],
    );
    denied(
        &out,
        "spec.target.template.templateFrom[0].literal",
        &["template does not parse"],
    );
    assert_eq!(out.errors.len(), 3, "{:#?}", out.errors);

    // With [[ ]] delimiters "{{ .password " is plain text, "[[ .x" is not.
    let ctx = ValidationContext {
        left_delim: "[[".into(),
        right_delim: "]]".into(),
        ..ValidationContext::default()
    };
    let spec = with(
        base(),
        json!({"target": {"template": {"data": {"a": "{{ .password ", "b": "[[ .x"}}}}),
    );
    let out = validate(&es(spec), &ctx);
    denied(
        &out,
        "spec.target.template.data[b]",
        &["template does not parse"],
    );
    assert_eq!(out.errors.len(), 1, "{:#?}", out.errors);
}

#[test]
fn rejects_invalid_regexes_and_rewrite_templates() {
    let out = check(&es(json!({"secretStoreRef": {"name": "s"}, "dataFrom": [{
        "find": {"name": {"regexp": "db-(.*"}},
        "rewrite": [
            {"regexp": {"source": "\\1", "target": "x"}},
            {"transform": {"template": "{{ .value | upper "}},
            {"merge": {"strategy": "JSON"}},
            {}
        ]
    }]})));
    denied(
        &out,
        "spec.dataFrom[0].find.name.regexp",
        &["invalid regular expression"],
    );
    denied(
        &out,
        "spec.dataFrom[0].rewrite[0].regexp.source",
        &["invalid regular expression"],
    );
    denied(
        &out,
        "spec.dataFrom[0].rewrite[1].transform.template",
        &["template does not parse"],
    );
    denied(
        &out,
        "spec.dataFrom[0].rewrite[2].merge.into",
        &["set merge.into"],
    );
    denied(
        &out,
        "spec.dataFrom[0].rewrite[3]",
        &["exactly one of merge, regexp or transform"],
    );
}

#[test]
fn rejects_unsupported_generator_kind_and_warns_on_deprecated_data_generator() {
    let out = check(&es(
        json!({"dataFrom": [{"sourceRef": {"generatorRef": {"kind": "ECRAuthorizationToken", "name": "ecr"}}}]}),
    ));
    denied(
        &out,
        "spec.dataFrom[0].sourceRef.generatorRef.kind",
        &["generator kind ECRAuthorizationToken is not supported by this operator"],
    );
    allowed(&check(&es(
        json!({"dataFrom": [{"sourceRef": {"generatorRef": {"kind": "Password", "name": "pw"}}}]}),
    )));

    let out = check(&es(
        json!({"data": [{"secretKey": "p", "remoteRef": {"key": "x"},
        "sourceRef": {"generatorRef": {"kind": "UUID", "name": "u"}}}]}),
    ));
    allowed(&out);
    assert!(
        out.warnings
            .iter()
            .any(|w| w.contains("spec.data[0].sourceRef.generatorRef is deprecated")),
        "{:?}",
        out.warnings
    );
}

#[test]
fn rejects_entries_without_a_store() {
    let out = check(&es(
        json!({"data": [{"secretKey": "p", "remoteRef": {"key": "x"}}]}),
    ));
    denied(&out, "spec.data[0]", &["no store to read from"]);
    allowed(&check(&es(
        json!({"data": [{"secretKey": "p", "remoteRef": {"key": "x"},
        "sourceRef": {"storeRef": {"name": "other", "kind": "ClusterSecretStore"}}}]}),
    )));
}

#[test]
fn rejects_invalid_secret_key_and_target_name() {
    let out = check(&es(
        json!({"secretStoreRef": {"name": "s"}, "target": {"name": "Not_Valid"},
        "data": [{"secretKey": "a/b", "remoteRef": {"key": "x"}}]}),
    ));
    denied(&out, "spec.target.name", &["not a valid object name"]);
    denied(&out, "spec.data[0].secretKey", &["not a valid Secret key"]);
}

#[test]
fn decode_failure_names_the_field() {
    let out = check(&es(with(
        base(),
        json!({"target": {"creationPolicy": "Sometimes"}}),
    )));
    assert_eq!(out.errors.len(), 1, "{:#?}", out.errors);
    assert_eq!(out.errors[0].path, "spec.target.creationPolicy");
    assert!(
        out.errors[0].message.contains("cannot decode"),
        "{}",
        out.errors[0].message
    );
}

#[test]
fn strict_mode_reports_unknown_fields() {
    let obj = es(with(base(), json!({"target": {"nmae": "typo"}})));
    allowed(&check(&obj));
    let out = validate(
        &obj,
        &ValidationContext {
            strict: true,
            ..ValidationContext::default()
        },
    );
    denied(&out, "spec.target.nmae", &["unknown field"]);
}

#[test]
fn collects_every_error_and_joins_them() {
    let out = check(&es(
        json!({"target": {"creationPolicy": "None", "deletionPolicy": "Delete"}, "refreshInterval": "x"}),
    ));
    assert!(out.errors.len() >= 3, "{:#?}", out.errors);
    let msg = out.denial_message();
    assert!(
        msg.contains("spec.target.deletionPolicy: Delete requires creationPolicy Owner"),
        "{msg}"
    );
    assert!(
        msg.contains("; spec: either data or dataFrom should be specified"),
        "{msg}"
    );
}

#[test]
fn cluster_external_secret_checks_inner_spec_and_warns_on_deprecated_fields() {
    let ces = |spec: Value| {
        json!({
            "apiVersion": "external-secrets.io/v1", "kind": "ClusterExternalSecret",
            "metadata": {"name": "shared"}, "spec": spec,
        })
    };
    let out = validate(
        &ces(
            json!({"externalSecretSpec": {"secretStoreRef": {"name": "s", "kind": "ClusterSecretStore"}},
        "namespaceSelectors": [{"matchLabels": {"team": "a"}}], "refreshTime": "1x"}),
        ),
        &ValidationContext::default(),
    );
    denied(
        &out,
        "spec.externalSecretSpec",
        &["either data or dataFrom should be specified"],
    );
    denied(&out, "spec.refreshTime", &["unknown unit"]);

    let out = validate(
        &ces(json!({"externalSecretSpec": base(),
        "namespaceSelector": {"matchLabels": {"team": "a"}}, "namespaces": ["tools"]})),
        &ValidationContext::default(),
    );
    allowed(&out);
    assert_eq!(out.warnings.len(), 2, "{:?}", out.warnings);
    assert!(out.warnings[0].contains("spec.namespaceSelector is deprecated"));
    assert!(out.warnings[1].contains("spec.namespaces is deprecated"));
}

#[test]
fn v1beta1_objects_are_validated_through_v1_with_a_warning() {
    let mut obj = es(base());
    obj["apiVersion"] = json!("external-secrets.io/v1beta1");
    let out = check(&obj);
    allowed(&out);
    assert!(
        out.warnings
            .iter()
            .any(|w| w.contains("v1beta1 ExternalSecret is deprecated"))
    );
    obj["spec"]["target"] = json!({"creationPolicy": "Merge", "deletionPolicy": "Delete"});
    denied(
        &check(&obj),
        "spec.target.deletionPolicy",
        &["Please set creationPolicy=Owner"],
    );
}
