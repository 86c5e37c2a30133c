//! The OpenAPI schemas of our CRDs, indexed by apiVersion and kind (built once).

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde_json::Value;

type Index = BTreeMap<(String, String), Value>;

static SCHEMAS: OnceLock<Index> = OnceLock::new();

fn build() -> Index {
    let mut index = Index::new();
    for crd in crate::api::all_crds() {
        let group = &crd.spec.group;
        for v in &crd.spec.versions {
            let schema = v
                .schema
                .as_ref()
                .and_then(|s| s.open_api_v3_schema.as_ref())
                .and_then(|s| serde_json::to_value(s).ok());
            if let Some(schema) = schema {
                index.insert(
                    (format!("{group}/{}", v.name), crd.spec.names.kind.clone()),
                    schema,
                );
            }
        }
    }
    index
}

/// The structural schema of `kind` at `api_version`, if we serve (or declare) it.
pub(crate) fn schema_for(api_version: &str, kind: &str) -> Option<&'static Value> {
    SCHEMAS
        .get_or_init(build)
        .get(&(api_version.to_string(), kind.to_string()))
}

/// The schema of property `name` of an object schema.
pub(crate) fn property<'a>(schema: &'a Value, name: &str) -> Option<&'a Value> {
    schema.get("properties").and_then(|p| p.get(name))
}

/// Whether an object schema keeps properties it does not declare.
pub(crate) fn preserves_unknown(schema: &Value) -> bool {
    schema
        .get("x-kubernetes-preserve-unknown-fields")
        .and_then(Value::as_bool)
        .unwrap_or(false)
}
