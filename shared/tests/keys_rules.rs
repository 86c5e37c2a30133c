//! ESO's key conversion, validation, rewrite, decoding and null-byte rules (reference §7).

use shared::keys::{
    ConversionStrategy, DecodingStrategy, KeyError, MergeConflictPolicy, MergePriorityPolicy,
    MergeSpec, MergeStrategy, NullBytePolicy, PushConversionStrategy, RewriteOp, SecretMap,
    check_null_bytes, convert_key, convert_keys, decode_map, reverse_keys, reverse_unicode,
    rewrite_map, rewrite_merge, rewrite_transform, validate_keys,
};
use shared::secret_value::SecretValue;

fn map(entries: &[(&str, &str)]) -> SecretMap {
    entries
        .iter()
        .map(|(k, v)| (k.to_string(), SecretValue::from(*v)))
        .collect()
}

fn text(map: &SecretMap, key: &str) -> Option<String> {
    map.get(key)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
}

#[test]
fn default_conversion_replaces_invalid_characters_with_underscore() {
    assert_eq!(convert_key(ConversionStrategy::Default, "a/b c"), "a_b_c");
    assert_eq!(
        convert_key(ConversionStrategy::Default, "ok-key_1.x"),
        "ok-key_1.x"
    );
    // Letters and numbers of any script are kept, as in Go's unicode.IsLetter/IsNumber.
    assert_eq!(
        convert_key(ConversionStrategy::Default, "héllo日本²"),
        "héllo日本²"
    );
    assert_eq!(convert_key(ConversionStrategy::Default, "😀"), "_");
    // A combining accent is a mark, not a letter, so Go replaces it.
    assert_eq!(convert_key(ConversionStrategy::Default, "e\u{301}"), "e_");
}

#[test]
fn unicode_conversion_writes_lowercase_hex_code_points() {
    assert_eq!(convert_key(ConversionStrategy::Unicode, "a/b"), "a_U002f_b");
    assert_eq!(convert_key(ConversionStrategy::Unicode, "😀"), "_U1f600_");
    assert_eq!(convert_key(ConversionStrategy::Unicode, " "), "_U0020_");
}

#[test]
fn conversion_collision_is_an_error() {
    let input = map(&[("a/b", "1"), ("a_b", "2")]);
    let err = convert_keys(ConversionStrategy::Default, input).unwrap_err();
    assert_eq!(
        err.to_string(),
        "secret name collision during conversion: a_b"
    );
    let ok = convert_keys(
        ConversionStrategy::Unicode,
        map(&[("a/b", "1"), ("a_b", "2")]),
    )
    .unwrap();
    assert_eq!(ok.keys().collect::<Vec<_>>(), ["a_U002f_b", "a_b"]);
}

#[test]
fn reverse_unicode_restores_converted_keys() {
    for key in ["a/b", "x y z", "😀/日本", "tab\tkey", "semi;colon", "plain"] {
        let converted = convert_key(ConversionStrategy::Unicode, key);
        assert_eq!(reverse_unicode(&converted), key, "via {converted}");
    }
    assert_eq!(reverse_unicode("_U002F_"), "/");
    assert_eq!(reverse_unicode("_U00410_"), "\u{410}");
    assert_eq!(reverse_unicode("_U002_"), "_U002_");
    assert_eq!(reverse_unicode("_Ud800_"), "\u{fffd}");
    assert_eq!(reverse_unicode("_U0041__U0042_"), "AB");
}

#[test]
fn reverse_keys_honours_strategy_and_reports_collisions() {
    let input = map(&[("a_U002f_b", "1")]);
    let none = reverse_keys(PushConversionStrategy::None, input.clone()).unwrap();
    assert!(none.contains_key("a_U002f_b"));
    let reversed = reverse_keys(PushConversionStrategy::ReverseUnicode, input).unwrap();
    assert!(reversed.contains_key("a/b"));
    let clash = map(&[("a_U002f_b", "1"), ("a/b", "2")]);
    let err = reverse_keys(PushConversionStrategy::ReverseUnicode, clash).unwrap_err();
    assert_eq!(
        err.to_string(),
        "secret name collision during conversion: a/b"
    );
}

#[test]
fn validate_drops_empty_keys_and_accepts_valid_ones() {
    let mut m = map(&[("", "dropped"), ("good.key-1_x", "v"), ("日本", "v")]);
    validate_keys(&mut m).unwrap();
    assert_eq!(m.keys().collect::<Vec<_>>(), ["good.key-1_x", "日本"]);
}

#[test]
fn validate_limits_keys_to_253_bytes_not_characters() {
    let mut ok = map(&[(&"k".repeat(253), "v")]);
    assert!(validate_keys(&mut ok).is_ok());
    let mut too_long = map(&[(&"é".repeat(127), "v")]);
    let err = validate_keys(&mut too_long).unwrap_err();
    assert!(matches!(err, KeyError::TooLong { len: 254, .. }), "{err}");
    assert!(
        err.to_string()
            .starts_with("key has length 254 but max is 253")
    );
}

#[test]
fn validate_rejects_invalid_characters_with_a_hint() {
    let mut m = map(&[("path/to", "v")]);
    let err = validate_keys(&mut m).unwrap_err().to_string();
    assert!(err.contains("key has invalid character /"), "{err}");
    assert!(err.contains("path/to"), "{err}");
    assert!(err.contains("rewrite or conversionStrategy"), "{err}");
}

fn merge_input() -> SecretMap {
    map(&[
        ("b", r#"{"shared":"from-b","only_b":1}"#),
        ("a", r#"{"shared":"from-a","only_a":true}"#),
        ("c", r#"{"shared":"from-c","obj":{"k":"<v>"}}"#),
    ])
}

#[test]
fn merge_extract_applies_priority_keys_last_in_listed_order() {
    let spec = MergeSpec {
        priority: vec!["c".into(), "a".into()],
        conflict_policy: MergeConflictPolicy::Ignore,
        ..MergeSpec::default()
    };
    let out = rewrite_merge(&spec, merge_input()).unwrap();
    // Order: b (non-priority), then c, then a: a wins.
    assert_eq!(text(&out, "shared").as_deref(), Some("from-a"));
    assert_eq!(text(&out, "only_b").as_deref(), Some("1"));
    assert_eq!(text(&out, "only_a").as_deref(), Some("true"));
    assert_eq!(
        text(&out, "obj").as_deref(),
        Some(r#"{"k":"\u003cv\u003e"}"#)
    );
    assert_eq!(out.len(), 4);
}

#[test]
fn merge_without_priority_uses_sorted_key_order() {
    let spec = MergeSpec {
        conflict_policy: MergeConflictPolicy::Ignore,
        ..MergeSpec::default()
    };
    let out = rewrite_merge(&spec, merge_input()).unwrap();
    assert_eq!(text(&out, "shared").as_deref(), Some("from-c"));
}

#[test]
fn merge_conflicts_fail_by_default() {
    let err = rewrite_merge(&MergeSpec::default(), merge_input()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "merge failed with conflicts: shared, shared"
    );
}

#[test]
fn merge_missing_priority_key_depends_on_priority_policy() {
    let strict = MergeSpec {
        priority: vec!["missing".into()],
        conflict_policy: MergeConflictPolicy::Ignore,
        ..MergeSpec::default()
    };
    let err = rewrite_merge(&strict, merge_input()).unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"merge failed with key "missing" not found in input map"#
    );
    let lenient = MergeSpec {
        priority_policy: MergePriorityPolicy::IgnoreNotFound,
        ..strict
    };
    assert!(rewrite_merge(&lenient, merge_input()).is_ok());
}

#[test]
fn merge_json_strategy_keeps_inputs_and_adds_into_key() {
    let spec = MergeSpec {
        into: "all".into(),
        strategy: MergeStrategy::Json,
        conflict_policy: MergeConflictPolicy::Ignore,
        ..MergeSpec::default()
    };
    let out = rewrite_merge(&spec, merge_input()).unwrap();
    assert_eq!(out.len(), 4);
    assert_eq!(
        text(&out, "all").as_deref(),
        Some(r#"{"obj":{"k":"<v>"},"only_a":true,"only_b":1,"shared":"from-c"}"#)
    );
    let no_into = MergeSpec {
        into: String::new(),
        ..spec
    };
    assert_eq!(
        rewrite_merge(&no_into, merge_input())
            .unwrap_err()
            .to_string(),
        "merge failed with missing 'into' field"
    );
}

#[test]
fn merge_rejects_non_object_values_without_leaking_them() {
    let input = map(&[("k", "hunter2-not-json")]);
    let err = rewrite_merge(&MergeSpec::default(), input)
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("merge failed with failed to unmarshal JSON"),
        "{err}"
    );
    assert!(!err.contains("hunter2"), "{err}");
    let array = map(&[("k", "[1,2]")]);
    assert!(rewrite_merge(&MergeSpec::default(), array).is_err());
    // `null` decodes to a nil map in Go: no fields, no error.
    let null = map(&[("k", "null")]);
    assert!(
        rewrite_merge(&MergeSpec::default(), null)
            .unwrap()
            .is_empty()
    );
}

#[test]
fn transform_renames_keys_through_the_plugged_in_renderer() {
    let input = map(&[("db-user", "u"), ("db-pass", "p")]);
    let out = rewrite_transform(
        |k| Ok::<_, String>(k.to_uppercase().replace('-', "_")),
        input,
    )
    .unwrap();
    assert_eq!(out.keys().collect::<Vec<_>>(), ["DB_PASS", "DB_USER"]);
    let err = rewrite_transform(|_| Err::<String, _>("boom"), map(&[("k", "v")])).unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"transform failed with failed to execute template for key "k": boom"#
    );
}

#[test]
fn rewrite_operations_apply_in_order_and_errors_name_the_index() {
    let ops = vec![
        RewriteOp::Regexp {
            source: "^path/to/(.*)$".into(),
            target: "$1".into(),
        },
        RewriteOp::Transform {
            template: "upper".into(),
        },
    ];
    let render = |template: &str, key: &str| -> Result<String, String> {
        assert_eq!(template, "upper");
        Ok(key.to_uppercase())
    };
    let out = rewrite_map(&ops, render, map(&[("path/to/key", "v")])).unwrap();
    assert_eq!(out.keys().collect::<Vec<_>>(), ["KEY"]);

    let bad = vec![
        RewriteOp::Regexp {
            source: "x".into(),
            target: "y".into(),
        },
        RewriteOp::Regexp {
            source: "(".into(),
            target: "y".into(),
        },
    ];
    let err = rewrite_map(&bad, render, map(&[("k", "v")]))
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("failed rewrite operation[1]: regexp failed with failed to compile"),
        "{err}"
    );
}

#[test]
fn regexp_rewrite_collisions_overwrite_silently() {
    let ops = vec![RewriteOp::Regexp {
        source: ".*/".into(),
        target: "".into(),
    }];
    let render = |_: &str, k: &str| Ok::<_, String>(k.to_string());
    let out = rewrite_map(&ops, render, map(&[("a/key", "1"), ("b/key", "2")])).unwrap();
    assert_eq!(out.len(), 1);
    assert_eq!(text(&out, "key").as_deref(), Some("2"));
}

#[test]
fn decode_map_names_the_failing_key_but_not_its_value() {
    let ok = decode_map(DecodingStrategy::Base64, map(&[("k", "aGk=")])).unwrap();
    assert_eq!(text(&ok, "k").as_deref(), Some("hi"));
    let err = decode_map(DecodingStrategy::Base64, map(&[("k", "hunter2!")])).unwrap_err();
    let msg = err.to_string();
    assert!(msg.starts_with("failure decoding key k:"), "{msg}");
    assert!(!msg.contains("hunter2"), "{msg}");
    // Auto keeps undecodable values as they are.
    let auto = decode_map(DecodingStrategy::Auto, map(&[("k", "plain text!")])).unwrap();
    assert_eq!(text(&auto, "k").as_deref(), Some("plain text!"));
}

#[test]
fn null_byte_policy_fail_rejects_values_with_nul() {
    let m: SecretMap = [
        ("a".to_string(), SecretValue::from("fine")),
        ("b".to_string(), SecretValue::from(vec![1u8, 0, 2])),
    ]
    .into();
    assert!(check_null_bytes(NullBytePolicy::Ignore, &m).is_ok());
    let err = check_null_bytes(NullBytePolicy::Fail, &m).unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"value of key "b" contains a null byte and nullBytePolicy is Fail"#
    );
}
