//! Validation of CustomResourceDefinitions themselves: the name, a schema for every version of
//! an apiextensions.k8s.io/v1 CRD, and the structural-schema rules (kubesim only checks the
//! common ones: `type` required on structural nodes, no `type` inside anyOf/allOf/oneOf/not,
//! properties and additionalProperties mutually exclusive).

use serde_json::Value;

use super::errors::Cause;

pub fn validate(crd: &Value) -> Vec<Cause> {
    let mut out = Vec::new();
    let spec = &crd["spec"];
    let name = crd["metadata"]["name"].as_str().unwrap_or("");
    let want = format!(
        "{}.{}",
        spec["names"]["plural"].as_str().unwrap_or(""),
        spec["group"].as_str().unwrap_or("")
    );
    if !name.is_empty() && name != want {
        out.push(Cause::new(
            "FieldValueInvalid",
            "metadata.name",
            format!("Invalid value: {name:?}: must be spec.names.plural+\".\"+spec.group"),
        ));
    }
    let versions: Vec<&Value> = spec["versions"].as_array().into_iter().flatten().collect();
    let schemas: Vec<&Value> = versions
        .iter()
        .map(|v| &v["schema"]["openAPIV3Schema"])
        .collect();
    for (i, s) in schemas.iter().enumerate() {
        if !s.is_object() {
            out.push(Cause::required(
                &format!("spec.versions[{i}].schema.openAPIV3Schema"),
                "",
            ));
        }
    }
    if !out.is_empty() {
        return out;
    }
    // Identical schemas are validated once, under the internal version's top-level path.
    let per_version: Vec<(String, &Value)> = if schemas.windows(2).all(|w| w[0] == w[1]) {
        schemas
            .first()
            .map(|s| ("spec.validation.openAPIV3Schema".to_string(), *s))
            .into_iter()
            .collect()
    } else {
        schemas
            .iter()
            .enumerate()
            .map(|(i, s)| (format!("spec.versions[{i}].schema.openAPIV3Schema"), *s))
            .collect()
    };
    for (path, schema) in per_version {
        let mut structural = Vec::new();
        walk_structural(schema, &path, Validation::Structural, &mut structural);
        structural.sort_by_key(|c: &Cause| format!("{}: {}", c.field, c.message));
        out.extend(structural);
        walk_exclusive(schema, &path, &mut out);
    }
    out
}

fn children(s: &Value, path: &str) -> Vec<(String, Value, bool)> {
    let mut out = Vec::new();
    if let Some(props) = s["properties"].as_object() {
        let mut keys: Vec<&String> = props.keys().collect();
        keys.sort();
        for k in keys {
            out.push((format!("{path}.properties[{k}]"), props[k].clone(), false));
        }
    }
    if s["items"].is_object() {
        out.push((format!("{path}.items"), s["items"].clone(), false));
    }
    if s["additionalProperties"].is_object() {
        out.push((
            format!("{path}.additionalProperties"),
            s["additionalProperties"].clone(),
            false,
        ));
    }
    for k in ["anyOf", "allOf", "oneOf"] {
        for (i, c) in s[k].as_array().into_iter().flatten().enumerate() {
            out.push((format!("{path}.{k}[{i}]"), c.clone(), true));
        }
    }
    if s["not"].is_object() {
        out.push((format!("{path}.not"), s["not"].clone(), true));
    }
    out
}

fn walk_structural(s: &Value, path: &str, value_validation: Validation, out: &mut Vec<Cause>) {
    let ty = s["type"].as_str().unwrap_or("");
    let typed = !ty.is_empty();
    if value_validation != Validation::Structural {
        // x-kubernetes-int-or-string may spell itself out as anyOf integer/string.
        let allowed =
            value_validation == Validation::IntOrString && matches!(ty, "integer" | "string");
        if typed && !allowed {
            out.push(Cause::new(
                "FieldValueForbidden",
                &format!("{path}.type"),
                "Forbidden: must be empty to be structural",
            ));
        }
    } else if !typed
        && s["x-kubernetes-int-or-string"] != true
        && s["x-kubernetes-preserve-unknown-fields"] != true
    {
        out.push(Cause::required(
            &format!("{path}.type"),
            "must not be empty for specified object fields",
        ));
    }
    let int_or_string = s["x-kubernetes-int-or-string"] == true;
    for (p, c, vv) in children(s, path) {
        let mode = match (value_validation, vv) {
            (Validation::Structural, false) => Validation::Structural,
            (Validation::Structural, true) if int_or_string => Validation::IntOrString,
            (Validation::IntOrString, _) => Validation::IntOrString,
            _ => Validation::Value,
        };
        walk_structural(&c, &p, mode, out);
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Validation {
    /// A node of the structural schema.
    Structural,
    /// Inside anyOf/allOf/oneOf/not: value validations only.
    Value,
    /// Value validations under x-kubernetes-int-or-string.
    IntOrString,
}

fn walk_exclusive(s: &Value, path: &str, out: &mut Vec<Cause>) {
    if s["properties"].as_object().is_some_and(|p| !p.is_empty())
        && s["additionalProperties"].is_object()
    {
        out.push(Cause::new(
            "FieldValueForbidden",
            &format!("{path}.additionalProperties"),
            "Forbidden: additionalProperties and properties are mutual exclusive",
        ));
    }
    for (p, c, _) in children(s, path) {
        walk_exclusive(&c, &p, out);
    }
}
