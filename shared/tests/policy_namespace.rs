//! Namespace policy annotations: anchoring, absent/empty/required, invalid patterns, chains.

use std::collections::BTreeMap;

use shared::policy::{KEY_ANNOTATION, NamespacePolicy, ROLE_ANNOTATION, Subject, ViolationKind};

fn policy(entries: &[(&str, &str)], require: bool) -> NamespacePolicy {
    let annotations: BTreeMap<String, String> = entries
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    NamespacePolicy::from_annotations("team-a", &annotations, require)
}

const ROLE_A: &str = "arn:aws:iam::123456789012:role/team-a";

#[test]
fn role_checks_follow_a_table_of_annotations() {
    // (annotation value or None, require, role, allowed)
    let table: &[(Option<&str>, bool, &str, bool)] = &[
        (None, false, ROLE_A, true),
        (None, true, ROLE_A, false),
        (Some(""), false, ROLE_A, true),
        (Some(""), true, ROLE_A, false),
        (Some(".*"), true, ROLE_A, true),
        (
            Some(r"arn:aws:iam::123456789012:role/team-a"),
            false,
            ROLE_A,
            true,
        ),
        (
            Some(r"arn:aws:iam::123456789012:role/team-.*"),
            false,
            ROLE_A,
            true,
        ),
        // A pattern matching only a substring must not allow (KES would have).
        (Some(r"role/team-a"), false, ROLE_A, false),
        (
            Some(r"arn:aws:iam::123456789012:role/team"),
            false,
            ROLE_A,
            false,
        ),
        (
            Some(r"team-a"),
            false,
            "arn:aws:iam::999:role/not-team-a-at-all",
            false,
        ),
        // Alternatives are anchored as a group, not just the first/last branch.
        (
            Some(r"arn:aws:iam::1:role/x|arn:aws:iam::123456789012:role/team-a"),
            false,
            ROLE_A,
            true,
        ),
        (
            Some(r"arn:aws:iam::1:role/x|role/team-a"),
            false,
            ROLE_A,
            false,
        ),
        (Some(r"x|.*team-a"), false, ROLE_A, true),
        (Some(r"^arn:.*$"), false, ROLE_A, true),
        (
            Some(r"arn:aws:iam::123456789012:role/team-a"),
            false,
            "",
            false,
        ),
    ];
    for (value, require, role, allowed) in table {
        let entries: Vec<(&str, &str)> = value.iter().map(|v| (ROLE_ANNOTATION, *v)).collect();
        let result = policy(&entries, *require).check_role(role);
        assert_eq!(
            result.is_ok(),
            *allowed,
            "annotation {value:?} require {require} role {role:?}: {result:?}"
        );
    }
}

#[test]
fn key_checks_use_their_own_annotation() {
    let p = policy(&[(KEY_ANNOTATION, "team-a/.*")], false);
    assert!(p.check_key("team-a/db").is_ok());
    assert!(p.check_key("prod/team-a/db").is_err());
    // The role annotation is absent, so roles are unrestricted.
    assert!(p.check_role(ROLE_A).is_ok());
    let roles_only = policy(&[(ROLE_ANNOTATION, "nothing")], false);
    assert!(roles_only.check_key("anything/at/all").is_ok());
}

#[test]
fn invalid_pattern_denies_everything_and_says_why() {
    let p = policy(&[(KEY_ANNOTATION, "team-a/(")], false);
    let err = p.check_key("team-a/db").unwrap_err();
    assert!(matches!(err.kind, ViolationKind::InvalidPattern { .. }));
    let msg = err.to_string();
    assert!(msg.contains("\"team-a\""), "{msg}");
    assert!(msg.contains(KEY_ANNOTATION), "{msg}");
    assert!(msg.contains("not a valid regular expression"), "{msg}");
    assert!(!msg.contains('\n'), "{msg}");
    assert_eq!(err.reason(), "PolicyViolation");
    // Even with the policy not required, an invalid annotation fails closed.
    assert!(p.check_key("").is_err());
}

#[test]
fn oversized_pattern_is_treated_as_invalid() {
    let huge = format!("(?:{}){{1000}}", "[a-z]{100}");
    let p = policy(&[(ROLE_ANNOTATION, &huge)], false);
    let err = p.check_role(ROLE_A).unwrap_err();
    assert!(
        matches!(err.kind, ViolationKind::InvalidPattern { .. }),
        "{err}"
    );
}

#[test]
fn violation_message_names_namespace_annotation_value_and_pattern() {
    let p = policy(&[(ROLE_ANNOTATION, "arn:aws:iam::1:role/allowed")], false);
    let err = p.check_role(ROLE_A).unwrap_err();
    assert_eq!(err.subject, Subject::Role);
    assert_eq!(err.annotation(), ROLE_ANNOTATION);
    assert_eq!(
        err.to_string(),
        format!(
            "namespace \"team-a\" does not permit role \"{ROLE_A}\": annotation {ROLE_ANNOTATION} \
             allows only values fully matching \"arn:aws:iam::1:role/allowed\""
        )
    );
}

#[test]
fn missing_required_annotation_message_mentions_the_flag() {
    let err = policy(&[], true).check_key("k").unwrap_err();
    assert_eq!(err.kind, ViolationKind::MissingAnnotation);
    let msg = err.to_string();
    assert!(msg.contains("--require-namespace-policy"), "{msg}");
    assert!(msg.contains(KEY_ANNOTATION), "{msg}");
}

#[test]
fn every_hop_of_a_role_chain_is_checked() {
    let p = policy(
        &[(
            ROLE_ANNOTATION,
            r"arn:aws:iam::123456789012:role/(team-a|hop-1)",
        )],
        false,
    );
    assert!(
        p.check_roles([ROLE_A, "arn:aws:iam::123456789012:role/hop-1"])
            .is_ok()
    );
    let err = p
        .check_roles([
            ROLE_A,
            "arn:aws:iam::123456789012:role/hop-1",
            "arn:aws:iam::666:role/evil",
        ])
        .unwrap_err();
    assert_eq!(err.value, "arn:aws:iam::666:role/evil");
    assert!(p.check_roles([]).is_ok());
}

#[test]
fn allow_all_policy_allows_everything() {
    let p = NamespacePolicy::allow_all("ns");
    assert_eq!(p.namespace(), "ns");
    assert!(p.check_role("anything").is_ok());
    assert!(p.check_key("anything").is_ok());
}
