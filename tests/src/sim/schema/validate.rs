//! Schema validation with kube-openapi's validator order and wording, mapped to field errors
//! the way apiextensions' `ValidateCustomResource` does, followed by CEL rules.
//!
//! Known, deliberate difference: the apiserver walks `properties` in Go map order (random), so
//! errors of sibling properties come out in varying order; we walk them sorted by name.

use regex::Regex;
use serde_json::Value;

use super::cel;
use super::errors::{BadValue, ErrorType, FieldError, go_float};

/// Validates a defaulted, pruned custom resource against its version's `openAPIV3Schema`.
/// When the schema carries CEL rules and an error of a blocking kind (Required, NotSupported,
/// TooLong, TooMany, TypeInvalid) occurred, the rules are skipped and the apiserver's
/// "some validation rules were not checked" error is appended instead.
pub fn validate(obj: &Value, schema: &Value) -> Vec<FieldError> {
    validate_update(obj, None, schema)
}

/// [`validate`] for an update: `old` (the stored object) gives transition rules `oldSelf`;
/// rules using `oldSelf` are skipped when there is no old value, as the apiserver does.
pub fn validate_update(obj: &Value, old: Option<&Value>, schema: &Value) -> Vec<FieldError> {
    let mut errs = Vec::new();
    node(obj, schema, "", &mut errs);
    if has_rules(schema) {
        let blocking = errs.iter().any(|e| {
            matches!(
                e.kind,
                ErrorType::NotSupported
                    | ErrorType::Required
                    | ErrorType::TooLong
                    | ErrorType::TooMany
                    | ErrorType::TypeInvalid
            )
        });
        if blocking {
            errs.push(FieldError::invalid(
                "",
                BadValue::Null,
                "some validation rules were not checked because the object was invalid; correct the existing errors to complete validation",
            ));
        } else {
            rules(obj, old, schema, "", &mut errs);
        }
    }
    errs
}

fn has_rules(schema: &Value) -> bool {
    match schema {
        Value::Object(m) => {
            m.get("x-kubernetes-validations")
                .and_then(Value::as_array)
                .is_some_and(|r| !r.is_empty())
                || ["properties", "additionalProperties", "items"]
                    .iter()
                    .any(|k| match m.get(*k) {
                        Some(Value::Object(ps)) if *k == "properties" => ps.values().any(has_rules),
                        Some(s) => has_rules(s),
                        None => false,
                    })
        }
        _ => false,
    }
}

fn child(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

/// The JSON type name kube-openapi reports for a value.
fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn type_ok(expected: &str, v: &Value) -> bool {
    match expected {
        "object" => v.is_object(),
        "array" => v.is_array(),
        "string" => v.is_string(),
        "boolean" => v.is_boolean(),
        "integer" => v.is_i64() || v.is_u64(),
        "number" => v.is_number(),
        _ => true,
    }
}

fn num(schema: &Value, key: &str) -> Option<f64> {
    schema.get(key).and_then(Value::as_f64)
}

fn int(schema: &Value, key: &str) -> Option<i64> {
    schema.get(key).and_then(Value::as_i64)
}

fn invalid(errs: &mut Vec<FieldError>, path: &str, v: &Value, detail: String) {
    errs.push(FieldError::invalid(path, BadValue::from_json(v), &detail));
}

fn node(v: &Value, schema: &Value, path: &str, errs: &mut Vec<FieldError>) {
    if v.is_null() && schema.get("nullable").and_then(Value::as_bool) == Some(true) {
        return;
    }
    let int_or_string = schema
        .get("x-kubernetes-int-or-string")
        .and_then(Value::as_bool)
        == Some(true);
    // typeValidator
    if int_or_string {
        if !(type_ok("integer", v) || v.is_string()) {
            let t = type_name(v);
            errs.push(FieldError::type_invalid(
                path,
                BadValue::Str(t.into()),
                &format!("{path} in body must be of type integer,string: \"{t}\""),
            ));
            // schemaPropsValidator: anyOf, reporting the first branch's failure.
            errs.push(FieldError::invalid(
                "",
                BadValue::Str(String::new()),
                &format!("\"{path}\" must validate at least one schema (anyOf)"),
            ));
            errs.push(FieldError::type_invalid(
                path,
                BadValue::Str(t.into()),
                &format!("{path} in body must be of type integer: \"{t}\""),
            ));
            if v.is_number() {
                errs.push(FieldError::invalid(
                    "",
                    BadValue::Str(String::new()),
                    &format!("Checked value must be of type integer (default format) in {path}"),
                ));
            }
        }
    } else if let Some(t) = schema.get("type").and_then(Value::as_str)
        && !type_ok(t, v)
    {
        let actual = type_name(v);
        errs.push(FieldError::type_invalid(
            path,
            BadValue::Str(actual.into()),
            &format!("{path} in body must be of type {t}: \"{actual}\""),
        ));
        if t == "integer" && v.is_number() {
            errs.push(FieldError::invalid(
                "",
                BadValue::Str(String::new()),
                &format!("Checked value must be of type integer (default format) in {path}"),
            ));
        }
        // A value of the wrong container kind is not descended into.
        if !(v.is_number() && t == "integer") {
            common(v, schema, path, errs);
            return;
        }
    }
    match v {
        Value::String(s) => string(s, v, schema, path, errs),
        Value::Number(_) => number(v, schema, path, errs),
        Value::Array(items) => array(items, v, schema, path, errs),
        _ => {}
    }
    common(v, schema, path, errs);
    if let Value::Object(map) = v {
        object(map, schema, path, errs);
    }
}

/// stringValidator stops at its first failure (maxLength, then minLength, then pattern).
fn string(s: &str, v: &Value, schema: &Value, path: &str, errs: &mut Vec<FieldError>) {
    string_limits(s, v, schema, path, errs);
    if let Some(f) = schema.get("format").and_then(Value::as_str)
        && !format_ok(f, s)
    {
        errs.push(FieldError::type_invalid(
            path,
            BadValue::Str(s.into()),
            &format!("{path} in body must be of type {f}: \"{s}\""),
        ));
    }
}

fn string_limits(s: &str, v: &Value, schema: &Value, path: &str, errs: &mut Vec<FieldError>) {
    if let Some(max) = int(schema, "maxLength")
        && s.chars().count() as i64 > max
    {
        errs.push(FieldError::new(
            ErrorType::TooLong,
            path,
            BadValue::Omit,
            &format!("may not be more than {max} bytes"),
        ));
        return;
    }
    if let Some(min) = int(schema, "minLength")
        && (s.chars().count() as i64) < min
    {
        return invalid(
            errs,
            path,
            v,
            format!("{path} in body should be at least {min} chars long"),
        );
    }
    if let Some(p) = schema.get("pattern").and_then(Value::as_str) {
        match Regex::new(p) {
            Ok(re) if !re.is_match(s) => {
                invalid(errs, path, v, format!("{path} in body should match '{p}'"))
            }
            Ok(_) => {}
            Err(_) => invalid(errs, path, v, format!("unsupported pattern '{p}'")),
        }
    }
}

fn format_ok(format: &str, s: &str) -> bool {
    match format {
        "date-time" => chrono::DateTime::parse_from_rfc3339(s).is_ok(),
        "date" => chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok(),
        "byte" => {
            use base64::Engine as _;
            base64::engine::general_purpose::STANDARD.decode(s).is_ok()
        }
        "uuid" => uuid::Uuid::parse_str(s).is_ok(),
        "int32" | "int64" => true,
        _ => true,
    }
}

fn number(v: &Value, schema: &Value, path: &str, errs: &mut Vec<FieldError>) {
    let Some(x) = v.as_f64() else { return };
    let exclusive = |k: &str| schema.get(k).and_then(Value::as_bool) == Some(true);
    if let Some(m) = num(schema, "multipleOf")
        && m != 0.0
        && (x / m).fract() != 0.0
    {
        invalid(
            errs,
            path,
            v,
            format!("{path} in body should be a multiple of {}", go_float(m)),
        );
    }
    if let Some(max) = num(schema, "maximum") {
        let (bad, word) = if exclusive("exclusiveMaximum") {
            (x >= max, "less than")
        } else {
            (x > max, "less than or equal to")
        };
        if bad {
            invalid(
                errs,
                path,
                v,
                format!("{path} in body should be {word} {}", go_float(max)),
            );
        }
    }
    if let Some(min) = num(schema, "minimum") {
        let (bad, word) = if exclusive("exclusiveMinimum") {
            (x <= min, "greater than")
        } else {
            (x < min, "greater than or equal to")
        };
        if bad {
            invalid(
                errs,
                path,
                v,
                format!("{path} in body should be {word} {}", go_float(min)),
            );
        }
    }
    let range = match schema.get("format").and_then(Value::as_str) {
        Some("int32") => Some((i64::from(i32::MIN), i64::from(i32::MAX))),
        _ => None,
    };
    if let (Some((lo, hi)), Some(i)) = (range, v.as_i64())
        && (i < lo || i > hi)
    {
        errs.push(FieldError::invalid(
            "",
            BadValue::Str(String::new()),
            &format!("Checked value must be of type integer with format int32 in {path}"),
        ));
    }
}

fn array(items: &[Value], v: &Value, schema: &Value, path: &str, errs: &mut Vec<FieldError>) {
    if let Some(item_schema) = schema.get("items") {
        for (i, item) in items.iter().enumerate() {
            node(item, item_schema, &format!("{path}[{i}]"), errs);
        }
    }
    let n = items.len() as i64;
    if let Some(min) = int(schema, "minItems")
        && n < min
    {
        invalid(
            errs,
            path,
            v,
            format!("{path} in body should have at least {min} items"),
        );
    }
    if let Some(max) = int(schema, "maxItems")
        && n > max
    {
        errs.push(FieldError::new(
            ErrorType::TooMany,
            path,
            BadValue::Int(n),
            &format!("must have at most {max} items"),
        ));
    }
    list_type(items, schema, path, errs);
}

/// `x-kubernetes-list-type: set | map` uniqueness.
fn list_type(items: &[Value], schema: &Value, path: &str, errs: &mut Vec<FieldError>) {
    match schema.get("x-kubernetes-list-type").and_then(Value::as_str) {
        Some("set") => {
            for (i, item) in items.iter().enumerate() {
                if items[..i].contains(item) {
                    errs.push(FieldError::duplicate(
                        &format!("{path}[{i}]"),
                        BadValue::from_json(item),
                    ));
                }
            }
        }
        Some("map") => {
            let keys: Vec<&str> = schema
                .get("x-kubernetes-list-map-keys")
                .and_then(Value::as_array)
                .map(|k| k.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let key_of = |item: &Value| -> Vec<Value> {
                keys.iter()
                    .map(|k| item.get(*k).cloned().unwrap_or(Value::Null))
                    .collect()
            };
            for (i, item) in items.iter().enumerate() {
                let k = key_of(item);
                if items[..i].iter().any(|prev| key_of(prev) == k) {
                    let rendered = if k.len() == 1 {
                        BadValue::from_json(&k[0])
                    } else {
                        let parts: Vec<String> = keys
                            .iter()
                            .zip(&k)
                            .map(|(name, val)| format!("\"{name}\"={val}"))
                            .collect();
                        BadValue::Raw(format!("map[{}]", parts.join(" ")))
                    };
                    errs.push(FieldError::duplicate(&format!("{path}[{i}]"), rendered));
                }
            }
        }
        _ => {}
    }
}

/// commonValidator: enum.
fn common(v: &Value, schema: &Value, path: &str, errs: &mut Vec<FieldError>) {
    if let Some(allowed) = schema.get("enum").and_then(Value::as_array)
        && !allowed.contains(v)
    {
        let texts: Vec<String> = allowed
            .iter()
            .map(|a| a.as_str().map_or_else(|| a.to_string(), str::to_owned))
            .collect();
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        errs.push(FieldError::not_supported(
            path,
            BadValue::from_json(v),
            &refs,
        ));
    }
}

fn object(
    map: &serde_json::Map<String, Value>,
    schema: &Value,
    path: &str,
    errs: &mut Vec<FieldError>,
) {
    let n = map.len() as i64;
    let v = Value::Object(map.clone());
    if let Some(min) = int(schema, "minProperties")
        && n < min
    {
        invalid(
            errs,
            path,
            &v,
            format!("{path} in body should have at least {min} properties"),
        );
    }
    if let Some(max) = int(schema, "maxProperties")
        && n > max
    {
        errs.push(FieldError::new(
            ErrorType::TooMany,
            path,
            BadValue::Int(n),
            &format!("must have at most {max} items"),
        ));
    }
    let props = schema.get("properties").and_then(Value::as_object);
    match schema.get("additionalProperties") {
        Some(Value::Bool(false)) => {
            for k in map
                .keys()
                .filter(|k| !props.is_some_and(|p| p.contains_key(*k)))
            {
                errs.push(FieldError::forbidden(
                    &child(path, k),
                    "additional property not allowed",
                ));
            }
        }
        Some(a @ Value::Object(_)) => {
            for (k, val) in map
                .iter()
                .filter(|(k, _)| !props.is_some_and(|p| p.contains_key(*k)))
            {
                node(val, a, &child(path, k), errs);
            }
        }
        _ => {}
    }
    if let Some(props) = props {
        for (k, ps) in props {
            if let Some(val) = map.get(k) {
                // Root (and embedded) metadata is ObjectMeta, validated elsewhere.
                if path.is_empty() && k == "metadata" {
                    continue;
                }
                node(val, ps, &child(path, k), errs);
            }
        }
    }
    for req in schema
        .get("required")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
    {
        if !map.contains_key(req) {
            errs.push(FieldError::required(&child(path, req), ""));
        }
    }
}

/// Evaluates every `x-kubernetes-validations` rule: a node's own rules, then its children's.
fn rules(v: &Value, old: Option<&Value>, schema: &Value, path: &str, errs: &mut Vec<FieldError>) {
    if v.is_null() {
        return;
    }
    for rule in schema
        .get("x-kubernetes-validations")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(e) = cel::check_rule(rule, v, old, schema, path) {
            errs.push(e);
        }
    }
    match v {
        Value::Object(map) => {
            let props = schema.get("properties").and_then(Value::as_object);
            let additional = schema.get("additionalProperties").filter(|a| a.is_object());
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            for k in keys {
                let cs = props.and_then(|p| p.get(k)).or(additional);
                if let Some(cs) = cs {
                    let old_child = old.and_then(|o| o.get(k));
                    rules(&map[k], old_child, cs, &child(path, k), errs);
                }
            }
        }
        Value::Array(items) => {
            if let Some(is) = schema.get("items") {
                for (i, item) in items.iter().enumerate() {
                    // oldSelf for list items is only defined for map lists; not correlated here.
                    rules(item, None, is, &format!("{path}[{i}]"), errs);
                }
            }
        }
        _ => {}
    }
}
