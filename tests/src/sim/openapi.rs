//! A minimal OpenAPI v3 surface (`/openapi/v3` and one document per group-version), enough for
//! kubectl's field-validation probe: every resource's PATCH operation, tagged with its
//! group/version/kind, declares the `fieldValidation` query parameter, so kubectl leaves
//! validation to the server (`fieldValidation=Strict`). CRD schemas are included as components.

use serde_json::{Map, Value, json};

use super::registry::ResourceType;

fn gv_path(rt: &ResourceType) -> String {
    if rt.group.is_empty() {
        format!("api/{}", rt.version)
    } else {
        format!("apis/{}/{}", rt.group, rt.version)
    }
}

/// `GET /openapi/v3`: the index of group-version documents.
pub fn index(rs: &[ResourceType]) -> Value {
    let mut paths = Map::new();
    for rt in rs {
        let p = gv_path(rt);
        let hash = hex::encode(&super::registry::sha256(p.as_bytes())[..8]);
        paths.insert(
            p.clone(),
            json!({"serverRelativeURL": format!("/openapi/v3/{p}?hash={hash}")}),
        );
    }
    json!({"paths": paths})
}

/// `GET /openapi/v3/<api|apis/group>/<version>`, or None when nothing is served there.
pub fn document(rs: &[ResourceType], gv: &str) -> Option<Value> {
    let members: Vec<&ResourceType> = rs.iter().filter(|rt| gv_path(rt) == gv).collect();
    if members.is_empty() {
        return None;
    }
    let mut paths = Map::new();
    let mut schemas = Map::new();
    for rt in members {
        let gvk = json!({"group": rt.group, "version": rt.version, "kind": rt.kind});
        let params = json!([
            {"name": "dryRun", "in": "query", "schema": {"type": "string", "uniqueItems": true}},
            {"name": "fieldManager", "in": "query", "schema": {"type": "string", "uniqueItems": true}},
            {"name": "fieldValidation", "in": "query", "schema": {"type": "string", "uniqueItems": true}},
            {"name": "force", "in": "query", "schema": {"type": "boolean", "uniqueItems": true}},
        ]);
        let op = json!({
            "operationId": format!("patch{}", rt.kind),
            "parameters": params,
            "responses": {"200": {"description": "OK"}},
            "x-kubernetes-action": "patch",
            "x-kubernetes-group-version-kind": gvk,
        });
        let base = format!("/{}", gv);
        let item = if rt.namespaced {
            format!("{base}/namespaces/{{namespace}}/{}/{{name}}", rt.plural)
        } else {
            format!("{base}/{}/{{name}}", rt.plural)
        };
        paths.insert(item, json!({"patch": op}));
        let mut schema = rt.schema.clone().unwrap_or_else(
            || json!({"type": "object", "x-kubernetes-preserve-unknown-fields": true}),
        );
        schema["x-kubernetes-group-version-kind"] = json!([gvk]);
        let group_rev: Vec<&str> = rt.group.split('.').rev().collect();
        let name = if rt.group.is_empty() {
            format!("io.k8s.api.core.{}.{}", rt.version, rt.kind)
        } else {
            format!("{}.{}.{}", group_rev.join("."), rt.version, rt.kind)
        };
        schemas.insert(name, schema);
    }
    Some(json!({
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": "v1.36.2"},
        "paths": paths,
        "components": {"schemas": schemas},
    }))
}
