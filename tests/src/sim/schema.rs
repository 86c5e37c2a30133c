//! CRD structural-schema processing as the apiextensions-apiserver does it, checked against
//! `apiserver-golden/02-crd-schema.json`: defaulting, pruning (with the unknown-field paths
//! behind `Warning` headers and `fieldValidation=Strict` errors), and validation including
//! `x-kubernetes-validations` CEL rules (the subset ESO's CRDs use, see [`cel`]).
//!
//! Order on a write, as the apiserver does it: [`apply_defaults`], then [`prune`], then
//! [`validate`]. `schema` is always a version's `openAPIV3Schema` (the root object schema).

pub mod cel;
pub mod errors;
mod validate;

use serde_json::{Map, Value, json};

pub use errors::{BadValue, ErrorType, FieldError, invalid_status};
pub use validate::{validate, validate_update};

/// The ObjectMeta fields kept in a custom resource's (or embedded resource's) `metadata`.
const OBJECT_META_FIELDS: &[&str] = &[
    "name",
    "generateName",
    "namespace",
    "selfLink",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "labels",
    "annotations",
    "ownerReferences",
    "finalizers",
    "managedFields",
];

fn props(schema: &Value) -> Option<&Map<String, Value>> {
    schema.get("properties").and_then(Value::as_object)
}

fn flag(schema: &Value, key: &str) -> bool {
    schema.get(key).and_then(Value::as_bool).unwrap_or(false)
}

/// Structural defaulting: a property with a `default` is filled in when absent (or null and
/// not nullable), recursively, including inside array items and additionalProperties values,
/// and inside defaults themselves (an object default `{}` gets its own properties' defaults).
pub fn apply_defaults(obj: &mut Value, schema: &Value) {
    match obj {
        Value::Object(map) => {
            if let Some(ps) = props(schema) {
                for (k, p) in ps {
                    if let Some(d) = p.get("default")
                        && map
                            .get(k)
                            .is_none_or(|v| v.is_null() && !flag(p, "nullable"))
                    {
                        map.insert(k.clone(), d.clone());
                    }
                }
            }
            let additional = schema.get("additionalProperties").filter(|a| a.is_object());
            for (k, v) in map.iter_mut() {
                if let Some(p) = props(schema).and_then(|ps| ps.get(k)) {
                    apply_defaults(v, p);
                } else if let Some(a) = additional {
                    fill_null(v, a);
                    apply_defaults(v, a);
                }
            }
        }
        Value::Array(items) => {
            if let Some(item_schema) = schema.get("items") {
                for v in items.iter_mut() {
                    fill_null(v, item_schema);
                    apply_defaults(v, item_schema);
                }
            }
        }
        _ => {}
    }
}

fn fill_null(v: &mut Value, schema: &Value) {
    if v.is_null()
        && !flag(schema, "nullable")
        && let Some(d) = schema.get("default")
    {
        *v = d.clone();
    }
}

/// Drops every field the schema does not declare (unless preserved by
/// `x-kubernetes-preserve-unknown-fields`), keeps only ObjectMeta fields in root and embedded
/// `metadata`, and removes nulls of non-nullable fields without a default. Returns the dropped
/// paths sorted (`spec.items[1].bogus`, `metadata.foo`, `unknownRoot`).
pub fn prune(obj: &mut Value, schema: &Value) -> Vec<String> {
    let mut unknown = Vec::new();
    prune_node(obj, schema, "", true, &mut unknown);
    unknown.sort();
    unknown
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

fn prune_node(
    obj: &mut Value,
    schema: &Value,
    path: &str,
    is_resource: bool,
    unknown: &mut Vec<String>,
) {
    match obj {
        Value::Object(map) => {
            let preserve = flag(schema, "x-kubernetes-preserve-unknown-fields");
            let additional = schema.get("additionalProperties").filter(|a| a.is_object());
            let ps = props(schema);
            let keys: Vec<String> = map.keys().cloned().collect();
            for k in keys {
                let child_path = join(path, &k);
                if is_resource && (k == "apiVersion" || k == "kind") {
                    continue;
                }
                if is_resource && k == "metadata" {
                    if let Some(Value::Object(meta)) = map.get_mut("metadata") {
                        meta.retain(|mk, _| {
                            let keep = OBJECT_META_FIELDS.contains(&mk.as_str());
                            if !keep {
                                unknown.push(join(&child_path, mk));
                            }
                            keep
                        });
                    }
                    continue;
                }
                let child_schema = ps.and_then(|p| p.get(&k)).or(additional);
                match child_schema {
                    Some(cs) => {
                        let null_without_default = map.get(&k).is_some_and(Value::is_null)
                            && !flag(cs, "nullable")
                            && cs.get("default").is_none();
                        if null_without_default && ps.is_some_and(|p| p.contains_key(&k)) {
                            map.remove(&k);
                            continue;
                        }
                        let embedded = flag(cs, "x-kubernetes-embedded-resource");
                        if let Some(v) = map.get_mut(&k) {
                            prune_node(v, cs, &child_path, embedded, unknown);
                        }
                    }
                    None if preserve => {}
                    None => {
                        map.remove(&k);
                        unknown.push(child_path);
                    }
                }
            }
        }
        Value::Array(items) => {
            if let Some(item_schema) = schema.get("items") {
                let embedded = flag(item_schema, "x-kubernetes-embedded-resource");
                for (i, v) in items.iter_mut().enumerate() {
                    prune_node(v, item_schema, &format!("{path}[{i}]"), embedded, unknown);
                }
            }
        }
        _ => {}
    }
}

/// How a write treats unknown and duplicate fields (`?fieldValidation=`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldValidation {
    Ignore,
    Warn,
    Strict,
}

impl FieldValidation {
    /// Parses the query value; `Err` is the 422 Status the apiserver returns for a bad value.
    /// `options_kind` is `CreateOptions`, `UpdateOptions` or `PatchOptions`.
    pub fn parse(value: Option<&str>, options_kind: &str) -> Result<Self, Value> {
        match value.unwrap_or("") {
            "" | "Warn" => Ok(FieldValidation::Warn),
            "Ignore" => Ok(FieldValidation::Ignore),
            "Strict" => Ok(FieldValidation::Strict),
            other => Err(invalid_status(
                "meta.k8s.io",
                options_kind,
                "",
                &[FieldError::not_supported(
                    "fieldValidation",
                    BadValue::Str(other.into()),
                    &["", "Ignore", "Strict", "Warn"],
                )],
            )),
        }
    }
}

/// Strict-decoding problem texts: duplicates first (`duplicate field "type"`), then unknown
/// fields (`unknown field "spec.bogus"`), as the apiserver lists them.
pub fn field_problems(duplicates: &[String], unknown: &[String]) -> Vec<String> {
    duplicates
        .iter()
        .map(|d| format!("duplicate field \"{d}\""))
        .chain(unknown.iter().map(|u| format!("unknown field \"{u}\"")))
        .collect()
}

/// The 400 a `fieldValidation=Strict` create/update gets for `problems` (from [`field_problems`]).
pub fn strict_decoding_status(kind: &str, version: &str, problems: &[String]) -> Value {
    json!({
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": format!(
            "{kind} in version \"{version}\" cannot be handled as a {kind}: strict decoding error: {}",
            problems.join(", ")
        ),
        "reason": "BadRequest",
        "code": 400,
    })
}

/// Dotted paths of object keys that occur twice in the raw JSON `body` (later value wins on
/// decode, like Go). Arrays contribute `[i]` segments.
pub fn duplicate_fields(body: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    let mut scanner = Scanner { s: body, i: 0 };
    scanner.value("", &mut out);
    out
}

struct Scanner<'a> {
    s: &'a [u8],
    i: usize,
}

impl Scanner<'_> {
    fn ws(&mut self) {
        while self.s.get(self.i).is_some_and(u8::is_ascii_whitespace) {
            self.i += 1;
        }
    }

    fn string(&mut self) -> Option<String> {
        let start = self.i;
        self.i += 1;
        while let Some(&c) = self.s.get(self.i) {
            self.i += 1;
            match c {
                b'\\' => self.i += 1,
                b'"' => return serde_json::from_slice(self.s.get(start..self.i)?).ok(),
                _ => {}
            }
        }
        None
    }

    fn value(&mut self, path: &str, out: &mut Vec<String>) -> Option<()> {
        self.ws();
        match *self.s.get(self.i)? {
            b'{' => {
                self.i += 1;
                let mut seen: Vec<String> = Vec::new();
                loop {
                    self.ws();
                    match *self.s.get(self.i)? {
                        b'}' => {
                            self.i += 1;
                            return Some(());
                        }
                        b',' => self.i += 1,
                        b'"' => {
                            let key = self.string()?;
                            let p = join(path, &key);
                            if seen.contains(&key) {
                                out.push(p.clone());
                            } else {
                                seen.push(key);
                            }
                            self.ws();
                            self.i += 1; // ':'
                            self.value(&p, out)?;
                        }
                        _ => return None,
                    }
                }
            }
            b'[' => {
                self.i += 1;
                let mut idx = 0;
                loop {
                    self.ws();
                    match *self.s.get(self.i)? {
                        b']' => {
                            self.i += 1;
                            return Some(());
                        }
                        b',' => self.i += 1,
                        _ => {
                            self.value(&format!("{path}[{idx}]"), out)?;
                            idx += 1;
                        }
                    }
                }
            }
            b'"' => self.string().map(drop),
            _ => {
                while self
                    .s
                    .get(self.i)
                    .is_some_and(|c| !b",}] \t\r\n".contains(c))
                {
                    self.i += 1;
                }
                Some(())
            }
        }
    }
}

/// `metadata.name` of a custom resource: a DNS-1123 subdomain, with the apiserver's wording.
pub fn validate_name(name: &str) -> Vec<FieldError> {
    const MSG: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
    let mut errs = Vec::new();
    if name.len() > 253 {
        errs.push(FieldError::invalid(
            "metadata.name",
            BadValue::Str(name.into()),
            "must be no more than 253 characters",
        ));
    }
    let label_ok = |l: &str| {
        let b = l.as_bytes();
        !b.is_empty()
            && b[0].is_ascii_alphanumeric()
            && b[b.len() - 1].is_ascii_alphanumeric()
            && b.iter()
                .all(|c| c.is_ascii_digit() || c.is_ascii_lowercase() || *c == b'-')
            && !b[0].is_ascii_uppercase()
    };
    if !name.split('.').all(label_ok) {
        errs.push(FieldError::invalid(
            "metadata.name",
            BadValue::Str(name.into()),
            MSG,
        ));
    }
    errs
}
