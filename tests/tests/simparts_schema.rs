//! CRD schema processing against `apiserver-golden/02-crd-schema.json` (and the field-validation
//! exchanges of `13-errors.json`): defaulting, pruning and its warnings, Strict/Ignore, and the
//! exact 422 bodies. Also: every CEL rule in ESO's CRDs is understood by our evaluator.

use serde_json::{Value, json};
use tests::sim::admission::warning_header;
use tests::sim::schema::{self, FieldValidation, cel, invalid_status};

fn exchanges(file: &str) -> Vec<Value> {
    let text = std::fs::read_to_string(format!("/work/shared/apiserver-golden/{file}")).unwrap();
    let v: Value = serde_json::from_str(&text).unwrap();
    v["exchanges"].as_array().unwrap().clone()
}

fn widget_schema(ex: &[Value]) -> Value {
    ex[0]["request"]["body"]["spec"]["versions"][0]["schema"]["openAPIV3Schema"].clone()
}

/// Defaults, prunes and validates a Widget as a create would; returns (object, unknown paths,
/// errors).
fn process(body: &Value, schema: &Value) -> (Value, Vec<String>, Vec<schema::FieldError>) {
    let mut obj = body.clone();
    schema::apply_defaults(&mut obj, schema);
    let unknown = schema::prune(&mut obj, schema);
    let errs = schema::validate(&obj, schema);
    (obj, unknown, errs)
}

#[test]
fn golden_defaulting_and_pruning() {
    let ex = exchanges("02-crd-schema.json");
    let schema = widget_schema(&ex);
    for i in [4, 6, 7, 9] {
        let e = &ex[i];
        let (obj, unknown, errs) = process(&e["request"]["body"], &schema);
        assert!(errs.is_empty(), "exchange {i}: {errs:?}");
        let resp = &e["response"]["body"];
        assert_eq!(
            obj["spec"], resp["spec"],
            "exchange {i}: defaulted and pruned spec"
        );
        assert_eq!(
            obj["metadata"]["labels"], resp["metadata"]["labels"],
            "exchange {i}: labels"
        );
        let fv = FieldValidation::parse(
            e["request"]["query"]["fieldValidation"].as_str(),
            "CreateOptions",
        )
        .unwrap();
        let warnings: Vec<String> = if fv == FieldValidation::Warn {
            schema::field_problems(&[], &unknown)
                .iter()
                .filter_map(|w| warning_header(w))
                .collect()
        } else {
            vec![]
        };
        let recorded: Vec<String> = e["response"]["headers"]["warning"]
            .as_array()
            .map(|w| w.iter().map(|s| s.as_str().unwrap().to_owned()).collect())
            .unwrap_or_default();
        assert_eq!(warnings, recorded, "exchange {i}: unknown-field warnings");
    }
    // Status is a known field: pruned inside, kept itself (the create strategy drops it later).
    let (obj, _, _) = process(&ex[4]["request"]["body"], &schema);
    assert_eq!(obj["status"], json!({"phase": "Ignored"}));
}

#[test]
fn golden_strict_field_validation() {
    let ex = exchanges("02-crd-schema.json");
    let schema = widget_schema(&ex);
    let e = &ex[8];
    assert_eq!(e["request"]["query"]["fieldValidation"], "Strict");
    let (_, unknown, _) = process(&e["request"]["body"], &schema);
    let status =
        schema::strict_decoding_status("Widget", "v1", &schema::field_problems(&[], &unknown));
    assert_eq!(status, e["response"]["body"]);

    // Core objects (13-errors.json): duplicate fields found in the raw body, bad option value.
    let ex13 = exchanges("13-errors.json");
    for i in [14, 15] {
        let raw = ex13[i]["request"]["body"].as_str().unwrap();
        let dups = schema::duplicate_fields(raw.as_bytes());
        assert_eq!(dups, vec!["type".to_owned()]);
        if i == 14 {
            let w: Vec<String> = schema::field_problems(&dups, &[])
                .iter()
                .filter_map(|t| warning_header(t))
                .collect();
            assert_eq!(json!(w), ex13[i]["response"]["headers"]["warning"]);
        } else {
            let status =
                schema::strict_decoding_status("Secret", "v1", &schema::field_problems(&dups, &[]));
            assert_eq!(status, ex13[i]["response"]["body"]);
        }
    }
    let status = FieldValidation::parse(Some("Bogus"), "CreateOptions").unwrap_err();
    assert_eq!(status, ex13[16]["response"]["body"]);
    let strict_unknown =
        schema::field_problems(&[], &["metadata.bogusMeta".into(), "bogusTop".into()]);
    assert_eq!(
        schema::strict_decoding_status("Secret", "v1", &strict_unknown),
        ex13[12]["response"]["body"]
    );
}

/// The apiserver visits sibling properties in Go map order, so with errors in several
/// properties only the set of causes (and of message parts) is stable.
fn assert_same_status(got: &Value, want: &Value, ordered: bool, what: &str) {
    if ordered {
        assert_eq!(got, want, "{what}");
        return;
    }
    let sorted = |v: &Value| {
        let mut c: Vec<String> = v["details"]["causes"]
            .as_array()
            .unwrap()
            .iter()
            .map(Value::to_string)
            .collect();
        c.sort();
        c
    };
    assert_eq!(sorted(got), sorted(want), "{what}: causes");
    let parts = |v: &Value| {
        let m = v["message"].as_str().unwrap();
        let (head, list) = m.split_once(": [").unwrap();
        let mut items: Vec<String> = list
            .trim_end_matches(']')
            .split(", ")
            .map(str::to_owned)
            .collect();
        items.sort();
        (head.to_owned(), items)
    };
    assert_eq!(parts(got), parts(want), "{what}: message");
    let strip = |v: &Value| {
        let mut v = v.clone();
        v["message"] = Value::Null;
        v["details"]["causes"] = Value::Null;
        v
    };
    assert_eq!(strip(got), strip(want), "{what}: envelope");
}

#[test]
fn golden_validation_errors() {
    let ex = exchanges("02-crd-schema.json");
    let schema = widget_schema(&ex);
    let mut checked = 0;
    for i in (10..=24).filter(|i| *i != 23) {
        let e = &ex[i];
        assert_eq!(e["response"]["status"], 422, "exchange {i}");
        let (_, _, errs) = process(&e["request"]["body"], &schema);
        let name = e["request"]["body"]["metadata"]["name"].as_str().unwrap();
        let status = invalid_status("example.test", "Widget", name, &errs);
        assert_same_status(
            &status,
            &e["response"]["body"],
            i != 22,
            &format!("exchange {i} ({})", e["name"]),
        );
        checked += 1;
    }
    assert_eq!(checked, 14);
    let bad_name = &ex[23];
    let errs = schema::validate_name(
        bad_name["request"]["body"]["metadata"]["name"]
            .as_str()
            .unwrap(),
    );
    assert_eq!(
        invalid_status("example.test", "Widget", "Bad_Name", &errs),
        bad_name["response"]["body"]
    );
    assert!(schema::validate_name("ok-name.example").is_empty());
}

#[test]
fn golden_merge_patch_revalidates_and_redefaults() {
    let ex = exchanges("02-crd-schema.json");
    let schema = widget_schema(&ex);
    let stored = ex[5]["response"]["body"].clone();
    for i in [29, 30] {
        let mut obj = stored.clone();
        json_patch::merge(&mut obj, &ex[i]["request"]["body"]);
        schema::apply_defaults(&mut obj, &schema);
        schema::prune(&mut obj, &schema);
        let errs = schema::validate(&obj, &schema);
        let resp = &ex[i]["response"]["body"];
        if i == 29 {
            assert_eq!(
                invalid_status("example.test", "Widget", "full", &errs),
                *resp
            );
        } else {
            assert!(errs.is_empty());
            assert_eq!(obj["spec"], resp["spec"]);
        }
    }
}

#[test]
fn cel_rules_of_eso_crds_are_all_supported() {
    let mut rules = Vec::new();
    for entry in std::fs::read_dir("/work/shared/eso-crds").unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "yaml") {
            let crd: Value =
                serde_saphyr::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            collect_rules(&crd, &mut rules);
        }
    }
    assert!(rules.len() >= 30, "found {} rules", rules.len());
    let empty = json!({});
    for rule in &rules {
        // An empty object: every has() is false, no field access can fail except through
        // has-guarded paths; the point is that each rule parses and evaluates.
        let r = cel::evaluate(rule, &empty, None);
        assert!(
            !matches!(&r, Err(e) if e.starts_with("unsupported")),
            "{rule}: {r:?}"
        );
    }
}

fn collect_rules(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            if let Some(rs) = m.get("x-kubernetes-validations").and_then(Value::as_array) {
                out.extend(
                    rs.iter()
                        .filter_map(|r| r["rule"].as_str())
                        .map(str::to_owned),
                );
            }
            m.values().for_each(|c| collect_rules(c, out));
        }
        Value::Array(a) => a.iter().for_each(|c| collect_rules(c, out)),
        _ => {}
    }
}

#[test]
fn cel_semantics_of_eso_rule_shapes() {
    let one_of = "[has(self.auth),has(self.authRef)].filter(x,x==true).size() <= 1";
    assert_eq!(cel::evaluate(one_of, &json!({"auth": {}}), None), Ok(true));
    assert_eq!(
        cel::evaluate(one_of, &json!({"auth": {}, "authRef": {}}), None),
        Ok(false)
    );
    let xor = "has(self.value) != has(self.secretRef)";
    assert_eq!(cel::evaluate(xor, &json!({"value": "v"}), None), Ok(true));
    assert_eq!(cel::evaluate(xor, &json!({}), None), Ok(false));
    let reserved =
        "!('esoNamespace' in self) && !('esoStoreName' in self) && !('esoStoreKind' in self)";
    assert_eq!(
        cel::evaluate(reserved, &json!({"team": "a"}), None),
        Ok(true)
    );
    assert_eq!(
        cel::evaluate(reserved, &json!({"esoStoreName": "x"}), None),
        Ok(false)
    );
    let size = "!has(self.remoteKey) || !has(self.rewrite) || size(self.rewrite) == 0";
    assert_eq!(
        cel::evaluate(size, &json!({"remoteKey": "k", "rewrite": []}), None),
        Ok(true)
    );
    assert_eq!(
        cel::evaluate(size, &json!({"remoteKey": "k", "rewrite": [{}]}), None),
        Ok(false)
    );
    let guarded =
        "has(self.storeRef) && (has(self.storeRef.name) || has(self.storeRef.labelSelector))";
    assert_eq!(
        cel::evaluate(guarded, &json!({"storeRef": {"name": "s"}}), None),
        Ok(true)
    );
    assert_eq!(
        cel::evaluate(guarded, &json!({"storeRef": {}}), None),
        Ok(false)
    );
    assert_eq!(
        cel::evaluate(
            "self.items.all(i, i.w > 0) && self.items.exists(i, i.w == 2)",
            &json!({"items": [{"w": 1}, {"w": 2}]}),
            None
        ),
        Ok(true)
    );
    assert_eq!(
        cel::evaluate("self == oldSelf", &json!(1), Some(&json!(1))),
        Ok(true)
    );
    // Outside the subset: explicit, never a silent pass.
    assert!(
        cel::evaluate("self.x.lowerAscii() == 'a'", &json!({"x": "A"}), None)
            .unwrap_err()
            .starts_with("unsupported")
    );
    assert!(cel::evaluate("timestamp(self.t) > now", &json!({"t": "x"}), None).is_err());
}

#[test]
fn rule_failures_render_reason_field_path_and_default_message() {
    let schema = json!({"type": "object", "properties": {"spec": {"type": "object",
    "properties": {"a": {"type": "string"}, "b": {"type": "string"}},
    "x-kubernetes-validations": [
        {"rule": "has(self.a) || has(self.b)"},
        {"rule": "!has(self.b)", "message": "b is reserved", "reason": "FieldValueForbidden", "fieldPath": ".b"},
        {"rule": "self.a.matchesNothing()"}
    ]}}});
    let errs = schema::validate(&json!({"spec": {"b": "x"}}), &schema);
    let msgs: Vec<String> = errs.iter().map(schema::FieldError::message).collect();
    assert_eq!(msgs[0], "spec.b: Forbidden: b is reserved");
    assert!(
        msgs[1].starts_with("spec: Internal error: kubesim: unsupported CEL rule"),
        "{msgs:?}"
    );
    let errs = schema::validate(&json!({"spec": {}}), &schema);
    assert_eq!(
        errs[0].message(),
        "spec: Invalid value: failed rule: has(self.a) || has(self.b)"
    );
}

#[test]
fn list_types_formats_and_embedded_resources() {
    let schema = json!({"type": "object", "properties": {"spec": {"type": "object", "properties": {
        "set": {"type": "array", "x-kubernetes-list-type": "set", "items": {"type": "string"}},
        "map": {"type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"],
                "items": {"type": "object", "properties": {"name": {"type": "string"}}}},
        "when": {"type": "string", "format": "date-time"},
        "tmpl": {"type": "object", "x-kubernetes-embedded-resource": true, "x-kubernetes-preserve-unknown-fields": true}
    }}}});
    let mut obj = json!({"spec": {"set": ["a", "a"], "map": [{"name": "x"}, {"name": "x"}], "when": "yesterday",
        "tmpl": {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "n", "bogus": 1}, "data": {}}}});
    let unknown = schema::prune(&mut obj, &schema);
    assert_eq!(unknown, vec!["spec.tmpl.metadata.bogus".to_owned()]);
    assert_eq!(obj["spec"]["tmpl"]["data"], json!({}));
    let msgs: Vec<String> = schema::validate(&obj, &schema)
        .iter()
        .map(schema::FieldError::message)
        .collect();
    assert_eq!(
        msgs,
        vec![
            "spec.map[1]: Duplicate value: \"x\"",
            "spec.set[1]: Duplicate value: \"a\"",
            "spec.when: Invalid value: \"yesterday\": spec.when in body must be of type date-time: \"yesterday\"",
        ]
    );
}
