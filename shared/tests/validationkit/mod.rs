//! Assertions shared by the admission-rule tests: validate with the default context, then
//! check exactly which field paths were denied and with which message text.

#![allow(dead_code)]

use serde_json::Value;
use shared::validation::{Outcome, ValidationContext, validate};

/// `spec` with the top-level keys of `patch` set (replacing any existing ones).
pub fn with(mut spec: Value, patch: Value) -> Value {
    if let (Value::Object(s), Value::Object(p)) = (&mut spec, patch) {
        s.extend(p);
    }
    spec
}

pub fn check(obj: &Value) -> Outcome {
    validate(obj, &ValidationContext::default())
}

/// Asserts exactly one error at `path` whose message contains every fragment.
pub fn denied(out: &Outcome, path: &str, fragments: &[&str]) {
    let hits: Vec<_> = out.errors.iter().filter(|e| e.path == path).collect();
    assert_eq!(
        hits.len(),
        1,
        "expected one error at {path}, got {:#?}",
        out.errors
    );
    for f in fragments {
        assert!(
            hits[0].message.contains(f),
            "{:?} lacks {f:?}",
            hits[0].message
        );
    }
}

pub fn allowed(out: &Outcome) {
    assert!(out.allowed(), "unexpected errors: {:#?}", out.errors);
}
