//! Hash-derived names and labels ESO writes on objects, checked against independently known values.

use std::collections::BTreeMap;

use shared::hash::{
    FIELD_MANAGER_PREFIX, created_by_label, field_manager_for, generator_owner_key,
    object_hash_secret_data, object_hash_str, sha3_224_hex, synced_resource_version,
};

#[test]
fn sha3_224_of_empty_input_is_the_published_test_vector() {
    // FIPS 202 example value for SHA3-224("").
    assert_eq!(
        sha3_224_hex(b""),
        "6b4e03423667dbb73b6e15454f0eb1abd4597f9a1b078e3f5b5a6bc7"
    );
}

#[test]
fn eso_unit_test_vectors_hold() {
    let data = BTreeMap::from([
        ("foo".to_string(), b"value1".to_vec()),
        ("bar".to_string(), b"value2".to_vec()),
    ]);
    assert_eq!(
        object_hash_secret_data(&data),
        "1bed8bcbcb4547ffe19a19cd47d9078e84aa6598266d86b99f992d64"
    );
    assert!(object_hash_str("hello there").starts_with("f78681ec"));
    assert!(object_hash_str("hello there").ends_with("c999"));
}

#[test]
fn created_by_label_is_the_hash_of_namespace_slash_name() {
    assert_eq!(
        created_by_label("default", "my-es"),
        sha3_224_hex(b"default/my-es")
    );
    assert_ne!(
        created_by_label("default", "my-es"),
        created_by_label("default", "other")
    );
    // 56 hex characters fit a label value (max 63).
    assert_eq!(created_by_label("ns", "n").len(), 56);
}

#[test]
fn generator_owner_key_joins_parts_with_dashes() {
    assert_eq!(
        generator_owner_key("ExternalSecret", "default", "es", "0"),
        sha3_224_hex(b"ExternalSecret-default-es-0")
    );
}

#[test]
fn field_manager_keeps_short_names_readable() {
    assert_eq!(
        field_manager_for("my-es"),
        "externalsecrets.external-secrets.io/my-es"
    );
}

#[test]
fn field_manager_hashes_names_that_would_exceed_63_bytes() {
    let limit = 63 - FIELD_MANAGER_PREFIX.len();
    let at_limit = "x".repeat(limit);
    assert_eq!(field_manager_for(&at_limit).len(), 63);
    let over = "x".repeat(limit + 1);
    assert_eq!(
        field_manager_for(&over),
        format!(
            "externalsecrets.external-secrets.io/sha3/{}",
            sha3_224_hex(over.as_bytes())
        )
    );
}

#[test]
fn synced_resource_version_changes_with_labels_annotations_and_generation() {
    let empty = BTreeMap::new();
    let labels = BTreeMap::from([("a".to_string(), "b".to_string())]);
    let base = synced_resource_version(3, &empty, &empty);
    assert!(base.starts_with("3-"));
    assert_ne!(base, synced_resource_version(4, &empty, &empty));
    assert_ne!(base, synced_resource_version(3, &labels, &empty));
    // Swapping the maps must change the value: Go renders annotations first, then labels.
    assert_ne!(
        synced_resource_version(3, &labels, &empty),
        synced_resource_version(3, &empty, &labels)
    );
}
