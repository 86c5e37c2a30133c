//! gjson path table: the AWS provider docs' friendslist example and the syntax ESO users write.
//! Expected values follow tidwall/gjson's README and `Result.String()` formatting.

use shared::gjson::{self, Kind};

const FRIENDS: &str = r#"{
  "name": {"first": "Tom", "last": "Anderson"},
  "age": 37,
  "children": ["Sara", "Alex", "Jack"],
  "fav.movie": "Deer Hunter",
  "friends": [
    {"first": "Dale", "last": "Murphy", "age": 44, "nets": ["ig", "fb", "tw"]},
    {"first": "Roger", "last": "Craig", "age": 68, "nets": ["fb", "tw"]},
    {"first": "Jane", "last": "Murphy", "age": 47, "nets": ["ig", "tw"]}
  ]
}"#;

#[test]
fn readme_paths_select_what_gjson_selects() {
    let table = [
        ("name.last", Some("Anderson")),
        ("name.first", Some("Tom")),
        ("age", Some("37")),
        ("children", Some(r#"["Sara", "Alex", "Jack"]"#)),
        ("children.#", Some("3")),
        ("children.1", Some("Alex")),
        ("child*.2", Some("Jack")),
        ("c?ildren.0", Some("Sara")),
        (r"fav\.movie", Some("Deer Hunter")),
        ("friends.#.first", Some(r#"["Dale","Roger","Jane"]"#)),
        ("friends.1.last", Some("Craig")),
        ("friends.1.first", Some("Roger")),
        ("friends.#.nets.#", Some("[3,2,2]")),
        ("friends.#.first|0", Some("Dale")),
        ("friends.#.first|#", Some("3")),
        ("name", Some(r#"{"first": "Tom", "last": "Anderson"}"#)),
        ("name.middle", None),
        ("children.3", None),
        ("children.x", None),
        ("fav.movie", None),
        ("age.x", None),
    ];
    for (path, want) in table {
        let got = gjson::get_string(FRIENDS, path).unwrap();
        assert_eq!(got.as_deref(), want, "path {path}");
    }
}

#[test]
fn scalars_are_formatted_like_gjson_result_string() {
    let doc = r#"{"s": "a\"b\u00e9", "t": true, "f": false, "n": null, "i": -12, "fl": 1.50, "e": 1e3, "big": 12345678901234567890}"#;
    let table = [
        ("s", "a\"bé", Kind::String),
        ("t", "true", Kind::True),
        ("f", "false", Kind::False),
        ("n", "", Kind::Null),
        ("i", "-12", Kind::Number),
        ("fl", "1.5", Kind::Number),
        ("e", "1000", Kind::Number),
        // Integers keep their digits even beyond float64 precision.
        ("big", "12345678901234567890", Kind::Number),
    ];
    for (path, want, kind) in table {
        let v = gjson::get(doc, path).unwrap().unwrap();
        assert_eq!(v.to_value_string(), want, "path {path}");
        assert_eq!(v.kind(), kind, "path {path}");
    }
}

#[test]
fn unsupported_syntax_is_an_error_not_a_silent_miss() {
    for path in [
        "@reverse",
        "children|@reverse",
        r#"friends.#(last=="Murphy").first"#,
        "friends.#(age>45)#.last",
        "[name.first,age]",
        "{name.first,age}",
        "!true",
    ] {
        let err = gjson::get(FRIENDS, path).unwrap_err();
        assert!(err.to_string().contains("not supported"), "{path}: {err}");
    }
}

#[test]
fn invalid_json_has_no_values() {
    assert_eq!(gjson::get_string("not json", "a").unwrap(), None);
    assert_eq!(gjson::get_string(r#"{"a": "#, "a").unwrap(), None);
}

#[test]
fn debug_output_does_not_show_the_value() {
    let v = gjson::get(FRIENDS, "name.first").unwrap().unwrap();
    assert!(!format!("{v:?}").contains("Tom"));
}

#[test]
fn object_fields_keep_raw_values_in_document_order() {
    let fields =
        gjson::object_fields(r#"{"b": "x", "a": 1.50, "n": null, "o": {"k": [1, 2]}}"#).unwrap();
    let got: Vec<(String, Vec<u8>)> = fields
        .into_iter()
        .map(|(k, v)| (k, v.to_field_bytes()))
        .collect();
    assert_eq!(
        got,
        vec![
            ("b".to_string(), b"x".to_vec()),
            ("a".to_string(), b"1.50".to_vec()),
            ("n".to_string(), b"".to_vec()),
            ("o".to_string(), br#"{"k": [1, 2]}"#.to_vec()),
        ]
    );
    assert!(gjson::object_fields("[1]").is_none());
    assert!(gjson::object_fields(r#"{"a":1} trailing"#).is_none());
}
