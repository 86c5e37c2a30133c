//! UUID and Fake generators.

use std::collections::{BTreeMap, BTreeSet};

use rand::SeedableRng;
use rand::rngs::StdRng;
use regex::Regex;
use shared::generators::{FakeSpec, generate_fake, generate_uuid, secure_rng};

#[test]
fn uuid_is_a_random_version_4_uuid_under_key_uuid() {
    let shape =
        Regex::new(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
            .unwrap();
    let mut rng = StdRng::seed_from_u64(11);
    let mut seen = BTreeSet::new();
    for _ in 0..500 {
        let out = generate_uuid(&mut rng);
        assert_eq!(out.keys().collect::<Vec<_>>(), ["uuid"]);
        let text = out["uuid"].expose_str().unwrap().to_string();
        assert!(shape.is_match(&text), "{text}");
        assert!(seen.insert(text), "duplicate uuid");
    }
    let os = generate_uuid(&mut secure_rng());
    assert!(shape.is_match(os["uuid"].expose_str().unwrap()));
}

#[test]
fn fake_returns_exactly_its_data() {
    let spec = FakeSpec {
        data: BTreeMap::from([("a".into(), "1".into()), ("b".into(), String::new())]),
    };
    let out = generate_fake(&spec);
    assert_eq!(out.len(), 2);
    assert_eq!(out["a"].as_bytes(), b"1");
    assert!(out["b"].is_empty());
    assert!(generate_fake(&FakeSpec::default()).is_empty());
}
