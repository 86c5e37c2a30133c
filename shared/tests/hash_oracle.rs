//! Compares our Go `%+v` renderings and SHA3-224 hashes with the real Go standard library.

mod gooracle;

use gooracle::XorShift;

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use shared::hash::{
    go_render_bytes_map, go_render_meta, go_render_string_map, object_hash_nil,
    object_hash_secret_data, object_hash_str, object_hash_string_map, synced_resource_version,
};

fn random_key(rng: &mut XorShift) -> String {
    const PIECES: &[&str] = &[
        "a", "Z", "0", "9", "-", ".", "_", " ", ":", "[", "]", "{", "}", "é", "ß", "日本", "😀",
        "\t", "\n", "map[", "%", "\\", "\"", "<nil>", "\u{7f}", "\u{0}",
    ];
    let len = rng.below(6);
    (0..len).map(|_| PIECES[rng.below(PIECES.len())]).collect()
}

fn random_bytes(rng: &mut XorShift) -> Vec<u8> {
    let len = rng.below(12);
    (0..len).map(|_| rng.next() as u8).collect()
}

fn fixed_bytes_maps() -> Vec<BTreeMap<String, Vec<u8>>> {
    let mut maps = Vec::new();
    let entry = |k: &str, v: &[u8]| (k.to_string(), v.to_vec());
    maps.push(BTreeMap::new());
    maps.push(BTreeMap::from([
        entry("foo", b"value1"),
        entry("bar", b"value2"),
    ]));
    maps.push(BTreeMap::from([entry("empty", b"")]));
    maps.push(BTreeMap::from([entry("", b"no key")]));
    maps.push(BTreeMap::from([entry(
        "all",
        &(0..=255).collect::<Vec<u8>>(),
    )]));
    maps.push(BTreeMap::from([
        entry("with space", b"x"),
        entry("col:on", b"y"),
        entry("[brackets]", b"z"),
        entry("map[nested:1]", b"w"),
    ]));
    // Byte order, not character or case-insensitive order, decides Go's key order.
    maps.push(BTreeMap::from([
        entry("a", b"1"),
        entry("B", b"2"),
        entry("é", b"3"),
        entry("z", b"4"),
        entry("Z", b"5"),
        entry("ab", b"6"),
        entry("a b", b"7"),
        entry("😀", b"8"),
        entry("日本", b"9"),
    ]));
    maps.push(
        (0..300)
            .map(|i| (format!("key-{i}"), format!("value-{i}").into_bytes()))
            .collect(),
    );
    maps.push(BTreeMap::from([entry(
        "tls.crt",
        b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
    )]));
    maps
}

fn bytes_map_json(map: &BTreeMap<String, Vec<u8>>) -> Value {
    Value::Object(
        map.iter()
            .map(|(k, v)| (k.clone(), Value::String(STANDARD.encode(v))))
            .collect(),
    )
}

#[test]
fn secret_data_hash_matches_go_for_many_maps() {
    let mut maps = fixed_bytes_maps();
    let mut rng = XorShift(0x5eed_1234_abcd_ef01);
    for _ in 0..60 {
        let n = rng.below(9);
        maps.push(
            (0..n)
                .map(|_| (random_key(&mut rng), random_bytes(&mut rng)))
                .collect(),
        );
    }
    let cases: Vec<Value> = maps
        .iter()
        .map(|m| json!({"op": "hash_bytes_map", "bytes_map": bytes_map_json(m)}))
        .collect();
    let answers = gooracle::ask(&Value::Array(cases));
    for (map, answer) in maps.iter().zip(&answers) {
        assert_eq!(
            go_render_bytes_map(map),
            gooracle::field(answer, "text"),
            "map {map:?}"
        );
        assert_eq!(
            object_hash_secret_data(map),
            gooracle::field(answer, "hash"),
            "map {map:?}"
        );
    }
}

#[test]
fn nil_secret_data_hashes_like_an_empty_map() {
    let answers = gooracle::ask(&json!([
        {"op": "hash_bytes_map", "bytes_map": null},
        {"op": "hash_bytes_map", "bytes_map": {"k": null}},
    ]));
    assert_eq!(
        gooracle::field(&answers[0], "hash"),
        object_hash_secret_data(&BTreeMap::new())
    );
    let nil_value = BTreeMap::from([("k".to_string(), Vec::new())]);
    assert_eq!(
        gooracle::field(&answers[1], "hash"),
        object_hash_secret_data(&nil_value)
    );
}

#[test]
fn string_and_nil_hashes_match_go() {
    let strings = [
        "",
        "hello there",
        "default/my-es",
        "ns/😀 name",
        "Password-default-gen-0",
        "line\nbreak",
        "quote\"and\\backslash",
        "\u{0}",
    ];
    let mut cases: Vec<Value> = strings
        .iter()
        .map(|s| json!({"op": "hash_string", "s": s}))
        .collect();
    cases.push(json!({"op": "hash_nil"}));
    let answers = gooracle::ask(&Value::Array(cases));
    for (s, answer) in strings.iter().zip(&answers) {
        assert_eq!(
            object_hash_str(s),
            gooracle::field(answer, "hash"),
            "string {s:?}"
        );
    }
    assert_eq!(
        object_hash_nil(),
        gooracle::field(&answers[strings.len()], "hash")
    );
    assert_eq!(gooracle::field(&answers[strings.len()], "text"), "<nil>");
}

fn string_maps() -> Vec<BTreeMap<String, String>> {
    let mut maps = vec![
        BTreeMap::new(),
        BTreeMap::from([("app".to_string(), "web".to_string())]),
        BTreeMap::from([
            (
                "external-secrets.io/force-sync".to_string(),
                "1700000000".to_string(),
            ),
            (
                "kubectl.kubernetes.io/last-applied-configuration".to_string(),
                "{\"a\":[1, 2]}".to_string(),
            ),
            ("empty".to_string(), String::new()),
        ]),
    ];
    let mut rng = XorShift(0xfeed_f00d_0bad_cafe);
    for _ in 0..40 {
        let n = rng.below(7);
        maps.push(
            (0..n)
                .map(|_| (random_key(&mut rng), random_key(&mut rng)))
                .collect(),
        );
    }
    maps
}

#[test]
fn string_map_hash_matches_go() {
    let maps = string_maps();
    let cases: Vec<Value> = maps
        .iter()
        .map(|m| json!({"op": "hash_string_map", "string_map": m}))
        .collect();
    let answers = gooracle::ask(&Value::Array(cases));
    for (map, answer) in maps.iter().zip(&answers) {
        assert_eq!(go_render_string_map(map), gooracle::field(answer, "text"));
        assert_eq!(object_hash_string_map(map), gooracle::field(answer, "hash"));
    }
}

#[test]
fn synced_resource_version_matches_go_struct_rendering() {
    let maps = string_maps();
    type Pair<'a> = (&'a BTreeMap<String, String>, &'a BTreeMap<String, String>);
    let pairs: Vec<Pair> = maps.iter().zip(maps.iter().rev()).collect();
    let mut cases: Vec<Value> = pairs
        .iter()
        .map(|(labels, annotations)| {
            json!({"op": "hash_meta", "labels": labels, "annotations": annotations})
        })
        .collect();
    // Absent (nil) maps in Go print exactly like empty ones.
    cases.push(json!({"op": "hash_meta", "labels": null, "annotations": null}));
    let answers = gooracle::ask(&Value::Array(cases));
    for ((labels, annotations), answer) in pairs.iter().zip(&answers) {
        assert_eq!(
            go_render_meta(labels, annotations),
            gooracle::field(answer, "text")
        );
        let expected = format!("7-{}", gooracle::field(answer, "hash"));
        assert_eq!(synced_resource_version(7, labels, annotations), expected);
    }
    let empty = BTreeMap::new();
    assert_eq!(
        synced_resource_version(1, &empty, &empty),
        format!("1-{}", gooracle::field(&answers[pairs.len()], "hash"))
    );
}
