//! Discovery documents (legacy APIVersions/APIGroupList/APIResourceList and aggregated v2) built
//! from the served resource types.

use serde_json::{Value, json};

use super::registry::{Builtin, ResourceType};

/// Groups the real apiserver serves even though the simulator does not implement them, so that
/// paths under them 404 the way they do there (JSON, not plain text).
pub fn is_builtin_group(g: &str) -> bool {
    matches!(
        g,
        "apps"
            | "batch"
            | "autoscaling"
            | "policy"
            | "rbac.authorization.k8s.io"
            | "networking.k8s.io"
            | "storage.k8s.io"
            | "scheduling.k8s.io"
            | "node.k8s.io"
            | "discovery.k8s.io"
            | "certificates.k8s.io"
            | "flowcontrol.apiserver.k8s.io"
            | "apiregistration.k8s.io"
            | "resource.k8s.io"
    )
}

fn group_order(rs: &[ResourceType]) -> Vec<String> {
    let mut groups: Vec<String> = Vec::new();
    for r in rs {
        if !r.group.is_empty() && !groups.contains(&r.group) {
            groups.push(r.group.clone());
        }
    }
    groups
}

fn versions_of(rs: &[ResourceType], g: &str) -> Vec<String> {
    let mut v: Vec<String> = Vec::new();
    for r in rs.iter().filter(|r| r.group == g) {
        if !v.contains(&r.version) {
            v.push(r.version.clone());
        }
    }
    v
}

fn group_json(rs: &[ResourceType], g: &str) -> Value {
    let vs: Vec<Value> = versions_of(rs, g)
        .iter()
        .map(|v| json!({"groupVersion": format!("{g}/{v}"), "version": v}))
        .collect();
    json!({"name": g, "versions": vs, "preferredVersion": vs.first().cloned().unwrap_or(Value::Null)})
}

pub fn apis(rs: &[ResourceType]) -> Value {
    let groups: Vec<Value> = group_order(rs).iter().map(|g| group_json(rs, g)).collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

pub fn group(rs: &[ResourceType], g: &str) -> Option<Value> {
    if !rs.iter().any(|r| r.group == g) {
        return None;
    }
    let mut v = group_json(rs, g);
    v["kind"] = json!("APIGroup");
    v["apiVersion"] = json!("v1");
    Some(v)
}

pub fn api_versions(server: &str) -> Value {
    json!({"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server}]})
}

fn verbs(r: &ResourceType) -> Vec<&'static str> {
    if r.is_custom() {
        return vec![
            "delete",
            "deletecollection",
            "get",
            "list",
            "patch",
            "create",
            "update",
            "watch",
        ];
    }
    r.verbs.clone()
}

fn resource_entries(r: &ResourceType) -> Vec<Value> {
    let mut main = json!({"name": r.plural, "singularName": r.singular, "namespaced": r.namespaced, "kind": r.kind, "verbs": verbs(r)});
    if !r.short_names.is_empty() {
        main["shortNames"] = json!(r.short_names);
    }
    if !r.categories.is_empty() {
        main["categories"] = json!(r.categories);
    }
    if !r.storage_version_hash.is_empty() {
        main["storageVersionHash"] = json!(r.storage_version_hash);
    }
    let mut out = vec![main];
    if r.has_status {
        out.push(json!({"name": format!("{}/status", r.plural), "singularName": "", "namespaced": r.namespaced, "kind": r.kind, "verbs": ["get", "patch", "update"]}));
    }
    if r.builtin == Builtin::ServiceAccount {
        out.push(json!({"name": "serviceaccounts/token", "singularName": "", "namespaced": true, "group": "authentication.k8s.io", "version": "v1", "kind": "TokenRequest", "verbs": ["create"]}));
    }
    out
}

pub fn resource_list(rs: &[ResourceType], g: &str, v: &str) -> Option<Value> {
    let mut matching: Vec<&ResourceType> = rs
        .iter()
        .filter(|r| r.group == g && r.version == v)
        .collect();
    if matching.is_empty() {
        return None;
    }
    matching.sort_by(|a, b| a.plural.cmp(&b.plural));
    let resources: Vec<Value> = matching.iter().flat_map(|r| resource_entries(r)).collect();
    let gv = if g.is_empty() {
        v.to_string()
    } else {
        format!("{g}/{v}")
    };
    Some(
        json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": resources}),
    )
}

fn aggregated_group(rs: &[ResourceType], g: &str) -> Value {
    let versions: Vec<Value> = versions_of(rs, g)
        .iter()
        .map(|v| {
            let mut list: Vec<&ResourceType> = rs.iter().filter(|r| r.group == g && &r.version == v).collect();
            list.sort_by(|a, b| a.plural.cmp(&b.plural));
            let resources: Vec<Value> = list
                .iter()
                .map(|r| {
                    let mut e = json!({
                        "resource": r.plural,
                        "responseKind": {"group": "", "version": "", "kind": r.kind},
                        "scope": if r.namespaced { "Namespaced" } else { "Cluster" },
                        "singularResource": r.singular,
                        "verbs": verbs(r),
                    });
                    if !r.short_names.is_empty() {
                        e["shortNames"] = json!(r.short_names);
                    }
                    if !r.categories.is_empty() {
                        e["categories"] = json!(r.categories);
                    }
                    if r.has_status {
                        e["subresources"] = json!([{"subresource": "status", "responseKind": {"group": "", "version": "", "kind": r.kind}, "verbs": ["get", "patch", "update"]}]);
                    }
                    e
                })
                .collect();
            json!({"version": v, "resources": resources, "freshness": "Current"})
        })
        .collect();
    let mut m = json!({"metadata": {"creationTimestamp": null}, "versions": versions});
    if !g.is_empty() {
        m["metadata"]["name"] = json!(g);
    }
    m
}

pub fn aggregated(rs: &[ResourceType], legacy: bool) -> Value {
    let items: Vec<Value> = if legacy {
        vec![aggregated_group(rs, "")]
    } else {
        group_order(rs)
            .iter()
            .map(|g| aggregated_group(rs, g))
            .collect()
    };
    json!({"kind": "APIGroupDiscoveryList", "apiVersion": "apidiscovery.k8s.io/v2", "metadata": {}, "items": items})
}

/// Whether the Accept header asks for aggregated discovery first.
pub fn wants_aggregated(accept: &str) -> bool {
    accept
        .split(',')
        .next()
        .is_some_and(|first| first.contains("as=APIGroupDiscoveryList") && first.contains("v=v2"))
}
