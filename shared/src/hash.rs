//! ESO-compatible object hashes: SHA3-224 over Go `%+v` renderings.
//!
//! ESO stores several hashes on objects it manages (`data-hash` annotation, `created-by` label,
//! `status.syncedResourceVersion`, the GeneratorState owner key). Each is the lowercase hex SHA3-224
//! of `fmt.Sprintf("%+v", x)` for some Go value `x`. To adopt objects written by Go ESO without a
//! rewrite storm we must reproduce that text byte for byte, so this module renders the few value
//! shapes ESO hashes exactly as Go's `fmt` does:
//!
//! * `map[K]V` prints as `map[k1:v1 k2:v2]`, keys in Go's sort order (byte order for strings),
//!   a nil or empty map as `map[]`;
//! * strings inside maps and structs print raw, without quotes or escaping;
//! * `[]byte` prints as a decimal list `[104 105]` (`[]` when empty or nil);
//! * an anonymous struct prints as `{field:value field:value}` with `%+v`;
//! * a nil interface prints as `<nil>`.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use sha3::{Digest, Sha3_224};

/// Prefix of the field manager ESO uses when it writes a target Secret.
pub const FIELD_MANAGER_PREFIX: &str = "externalsecrets.external-secrets.io/";

/// Longest field manager name ESO writes before switching to the hashed form.
pub const FIELD_MANAGER_MAX_LEN: usize = 63;

/// Lowercase hex SHA3-224 of raw bytes (Go: `fmt.Sprintf("%x", sha3.Sum224(b))`).
pub fn sha3_224_hex(bytes: &[u8]) -> String {
    hex::encode(Sha3_224::digest(bytes))
}

/// Go's `%+v` rendering of a `map[string][]byte`, e.g. a Secret's `.data`.
pub fn go_render_bytes_map(map: &BTreeMap<String, Vec<u8>>) -> String {
    let mut out = String::from("map[");
    for (i, (key, value)) in map.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(key);
        out.push(':');
        render_byte_slice(&mut out, value);
    }
    out.push(']');
    out
}

/// Go's `%+v` rendering of a `map[string]string` (labels, annotations).
pub fn go_render_string_map(map: &BTreeMap<String, String>) -> String {
    let mut out = String::from("map[");
    for (i, (key, value)) in map.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(key);
        out.push(':');
        out.push_str(value);
    }
    out.push(']');
    out
}

/// Go's `%+v` rendering of `struct{ annotations, labels map[string]string }`, the value ESO
/// hashes for `syncedResourceVersion`. Absent maps are nil in Go and print as `map[]`, exactly
/// like empty ones, so callers may pass an empty map for "no labels".
pub fn go_render_meta(
    labels: &BTreeMap<String, String>,
    annotations: &BTreeMap<String, String>,
) -> String {
    format!(
        "{{annotations:{} labels:{}}}",
        go_render_string_map(annotations),
        go_render_string_map(labels)
    )
}

fn render_byte_slice(out: &mut String, bytes: &[u8]) {
    out.push('[');
    for (i, b) in bytes.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        // Writing to a String cannot fail.
        let _ = write!(out, "{b}");
    }
    out.push(']');
}

/// ESO `ObjectHash` of a Secret's `.data` (`map[string][]byte`); the value of the
/// `reconcile.external-secrets.io/data-hash` annotation.
pub fn object_hash_secret_data(data: &BTreeMap<String, Vec<u8>>) -> String {
    sha3_224_hex(go_render_bytes_map(data).as_bytes())
}

/// ESO `ObjectHash` of a Go string: the raw string is hashed as-is.
pub fn object_hash_str(s: &str) -> String {
    sha3_224_hex(s.as_bytes())
}

/// ESO `ObjectHash` of a `map[string]string`.
pub fn object_hash_string_map(map: &BTreeMap<String, String>) -> String {
    sha3_224_hex(go_render_string_map(map).as_bytes())
}

/// ESO `ObjectHash(nil)`: the hash of the text `<nil>`.
pub fn object_hash_nil() -> String {
    sha3_224_hex(b"<nil>")
}

/// `status.syncedResourceVersion` of an ExternalSecret: `"<generation>-<hash of labels and
/// annotations>"`. Any change to either map (or a new generation) changes the value, which is
/// how `refreshPolicy: OnChange` and annotation-triggered refreshes are detected.
pub fn synced_resource_version(
    generation: i64,
    labels: &BTreeMap<String, String>,
    annotations: &BTreeMap<String, String>,
) -> String {
    let hash = sha3_224_hex(go_render_meta(labels, annotations).as_bytes());
    format!("{generation}-{hash}")
}

/// Value of the `reconcile.external-secrets.io/created-by` label: hash of `"<namespace>/<name>"`
/// of the owning ExternalSecret.
pub fn created_by_label(namespace: &str, name: &str) -> String {
    object_hash_str(&format!("{namespace}/{name}"))
}

/// Field manager used when writing the target Secret of the ExternalSecret `es_name`.
///
/// ESO has two variants of the length test: one compares the *full* manager string with 63, the
/// templating package compares only the *name*. We follow the full-string rule (`fqdnFor` in
/// ESO's controller, which is what writes the Secret and therefore owns the managed fields we
/// must recognise): `externalsecrets.external-secrets.io/<name>` while that whole string is at
/// most 63 bytes, otherwise `externalsecrets.external-secrets.io/sha3/<sha3-224 hex of name>`.
pub fn field_manager_for(es_name: &str) -> String {
    let plain = format!("{FIELD_MANAGER_PREFIX}{es_name}");
    if plain.len() > FIELD_MANAGER_MAX_LEN {
        format!("{FIELD_MANAGER_PREFIX}sha3/{}", object_hash_str(es_name))
    } else {
        plain
    }
}

/// Value of the `generators.external-secrets.io/owner-key` label on a GeneratorState: hash of
/// `"<Kind>-<namespace>-<name>-<stateKey>"` of the owning resource.
pub fn generator_owner_key(kind: &str, namespace: &str, name: &str, state_key: &str) -> String {
    object_hash_str(&format!("{kind}-{namespace}-{name}-{state_key}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes_map(entries: &[(&str, &str)]) -> BTreeMap<String, Vec<u8>> {
        entries
            .iter()
            .map(|(k, v)| (k.to_string(), v.as_bytes().to_vec()))
            .collect()
    }

    #[test]
    fn renders_secret_data_like_go() {
        let data = bytes_map(&[("foo", "value1"), ("bar", "value2")]);
        assert_eq!(
            go_render_bytes_map(&data),
            "map[bar:[118 97 108 117 101 50] foo:[118 97 108 117 101 49]]"
        );
    }

    #[test]
    fn known_vector_from_eso_tests() {
        let data = bytes_map(&[("foo", "value1"), ("bar", "value2")]);
        assert_eq!(
            object_hash_secret_data(&data),
            "1bed8bcbcb4547ffe19a19cd47d9078e84aa6598266d86b99f992d64"
        );
    }

    #[test]
    fn empty_map_and_empty_value_render_as_go_does() {
        assert_eq!(go_render_bytes_map(&BTreeMap::new()), "map[]");
        assert_eq!(go_render_bytes_map(&bytes_map(&[("k", "")])), "map[k:[]]");
        assert_eq!(
            go_render_meta(&BTreeMap::new(), &BTreeMap::new()),
            "{annotations:map[] labels:map[]}"
        );
    }

    #[test]
    fn field_manager_switches_to_hash_past_63_bytes() {
        let short = "a".repeat(63 - FIELD_MANAGER_PREFIX.len());
        assert_eq!(
            field_manager_for(&short),
            format!("{FIELD_MANAGER_PREFIX}{short}")
        );
        let long = format!("{short}b");
        let manager = field_manager_for(&long);
        assert_eq!(
            manager,
            format!("{FIELD_MANAGER_PREFIX}sha3/{}", object_hash_str(&long))
        );
        assert_eq!(manager.len(), FIELD_MANAGER_PREFIX.len() + 5 + 56);
    }
}
