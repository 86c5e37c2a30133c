//! Discovery documents (legacy APIVersions/APIGroupList/APIResourceList and aggregated v2) built
//! from the served resource types.

use serde_json::{Value, json};

use super::discovery_table::TABLE;
use super::registry::{Builtin, ResourceType, qualified};
use super::typeinfo::Ty;

/// One resource as discovery lists it.
struct Entry {
    group: String,
    version: String,
    plural: String,
    singular: String,
    kind: String,
    namespaced: bool,
    verbs: Vec<String>,
    short_names: Vec<String>,
    categories: Vec<String>,
    hash: String,
    /// Custom resources name their own group/version in aggregated responseKinds.
    custom: bool,
    subresources: Vec<Sub>,
}

struct Sub {
    name: String,
    /// The (group, version) of the subresource's object when it differs from the parent's.
    foreign: Option<(String, String)>,
    kind: String,
    verbs: Vec<String>,
}

fn split(s: &str, sep: char) -> Vec<String> {
    s.split(sep)
        .filter(|x| !x.is_empty())
        .map(String::from)
        .collect()
}

fn table() -> Vec<Entry> {
    TABLE
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split('|').collect();
            let [
                g,
                v,
                plural,
                singular,
                kind,
                scope,
                verbs,
                short,
                cats,
                hash,
                subs,
            ] = f[..]
            else {
                return None;
            };
            let subresources = split(subs, ';')
                .iter()
                .filter_map(|s| {
                    let mut p = s.splitn(3, ':');
                    let (name, kind, verbs) = (p.next()?, p.next()?, p.next()?);
                    let (foreign, kind) = match kind.rsplit_once('/') {
                        Some((gv, k)) => {
                            let (fg, fv) = gv.split_once('/')?;
                            (Some((fg.to_string(), fv.to_string())), k)
                        }
                        None => (None, kind),
                    };
                    Some(Sub {
                        name: name.into(),
                        foreign,
                        kind: kind.into(),
                        verbs: split(verbs, ','),
                    })
                })
                .collect();
            Some(Entry {
                group: g.into(),
                version: v.into(),
                plural: plural.into(),
                singular: singular.into(),
                kind: kind.into(),
                namespaced: scope == "N",
                verbs: split(verbs, ','),
                short_names: split(short, ','),
                categories: split(cats, ','),
                hash: hash.into(),
                custom: false,
                subresources,
            })
        })
        .collect()
}

/// Every served resource: the built-in table, then custom resources (groups sorted, as the
/// apiserver lists CRD groups after the built-in ones).
fn entries(rs: &[ResourceType]) -> Vec<Entry> {
    let mut out = table();
    for e in out.iter_mut().filter(|e| e.hash.is_empty()) {
        if let Some(r) = rs
            .iter()
            .find(|r| r.group == e.group && r.version == e.version && r.plural == e.plural)
        {
            e.hash = r.storage_version_hash.clone();
        }
    }
    for e in out.iter_mut().filter(|e| e.hash == "-") {
        e.hash.clear();
    }
    let mut custom: Vec<&ResourceType> = rs.iter().filter(|r| r.is_custom()).collect();
    custom.sort_by(|a, b| a.group.cmp(&b.group));
    out.extend(custom.into_iter().map(|r| {
        Entry {
            group: r.group.clone(),
            version: r.version.clone(),
            plural: r.plural.clone(),
            singular: r.singular.clone(),
            kind: r.kind.clone(),
            namespaced: r.namespaced,
            verbs: [
                "delete",
                "deletecollection",
                "get",
                "list",
                "patch",
                "create",
                "update",
                "watch",
            ]
            .map(String::from)
            .to_vec(),
            short_names: r.short_names.clone(),
            categories: r.categories.clone(),
            hash: r.storage_version_hash.clone(),
            custom: true,
            subresources: if r.has_status {
                vec![Sub {
                    name: "status".into(),
                    foreign: None,
                    kind: r.kind.clone(),
                    verbs: ["get", "patch", "update"].map(String::from).to_vec(),
                }]
            } else {
                vec![]
            },
        }
    }));
    out
}

/// Resource types for the built-in resources `implemented` lacks (see [`Builtin::Generic`]);
/// create-only APIs (reviews, bindings) store nothing.
pub fn generic_builtins(implemented: &[ResourceType]) -> Vec<ResourceType> {
    const VERBS: [&str; 8] = [
        "create",
        "delete",
        "deletecollection",
        "get",
        "list",
        "patch",
        "update",
        "watch",
    ];
    table()
        .into_iter()
        .filter(|e| {
            !implemented
                .iter()
                .any(|r| r.group == e.group && r.version == e.version && r.plural == e.plural)
        })
        .map(|e| {
            let verbs: Vec<&'static str> = VERBS
                .into_iter()
                .filter(|v| e.verbs.iter().any(|x| x == v))
                .collect();
            ResourceType {
                builtin: if verbs == ["create"] {
                    Builtin::Review
                } else {
                    Builtin::Generic
                },
                storage: qualified(&e.plural, &e.group),
                has_status: e.subresources.iter().any(|s| s.name == "status"),
                group: e.group,
                version: e.version,
                plural: e.plural,
                singular: e.singular,
                kind: e.kind,
                namespaced: e.namespaced,
                short_names: e.short_names,
                categories: e.categories,
                verbs,
                ty: Ty::Any,
                schema: None,
                printer_columns: vec![],
                storage_version_hash: if e.hash == "-" { String::new() } else { e.hash },
            }
        })
        .collect()
}

/// Groups the real apiserver serves (paths under them 404 the way they do there: JSON, not
/// plain text).
pub fn is_builtin_group(g: &str) -> bool {
    table().iter().any(|e| e.group == g)
}

fn group_order(es: &[Entry]) -> Vec<String> {
    let mut groups: Vec<String> = Vec::new();
    for e in es {
        if !e.group.is_empty() && !groups.contains(&e.group) {
            groups.push(e.group.clone());
        }
    }
    groups
}

fn versions_of(es: &[Entry], g: &str) -> Vec<String> {
    let mut v: Vec<String> = Vec::new();
    for e in es.iter().filter(|e| e.group == g) {
        if !v.contains(&e.version) {
            v.push(e.version.clone());
        }
    }
    v
}

/// The resources of one group version, in listing order.
fn of_version<'a>(es: &'a [Entry], g: &str, v: &str) -> Vec<&'a Entry> {
    let mut list: Vec<&Entry> = es
        .iter()
        .filter(|e| e.group == g && e.version == v)
        .collect();
    // Built-in ones keep the table's order; custom ones go after them, by name.
    list.sort_by_key(|e| (e.custom, if e.custom { e.plural.as_str() } else { "" }));
    list
}

fn group_json(es: &[Entry], g: &str) -> Value {
    let vs: Vec<Value> = versions_of(es, g)
        .iter()
        .map(|v| json!({"groupVersion": format!("{g}/{v}"), "version": v}))
        .collect();
    json!({"name": g, "versions": vs, "preferredVersion": vs.first().cloned().unwrap_or(Value::Null)})
}

pub fn apis(rs: &[ResourceType]) -> Value {
    let es = entries(rs);
    let groups: Vec<Value> = group_order(&es)
        .iter()
        .map(|g| group_json(&es, g))
        .collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

pub fn group(rs: &[ResourceType], g: &str) -> Option<Value> {
    let es = entries(rs);
    if !es.iter().any(|e| e.group == g) {
        return None;
    }
    let mut v = group_json(&es, g);
    v["kind"] = json!("APIGroup");
    v["apiVersion"] = json!("v1");
    Some(v)
}

pub fn api_versions(server: &str) -> Value {
    json!({"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server}]})
}

fn resource_entries(e: &Entry) -> Vec<Value> {
    let mut main = json!({"name": e.plural, "singularName": e.singular, "namespaced": e.namespaced, "kind": e.kind, "verbs": e.verbs});
    if !e.short_names.is_empty() {
        main["shortNames"] = json!(e.short_names);
    }
    if !e.categories.is_empty() {
        main["categories"] = json!(e.categories);
    }
    if !e.hash.is_empty() {
        main["storageVersionHash"] = json!(e.hash);
    }
    let mut out = vec![main];
    for s in &e.subresources {
        let mut sub = json!({"name": format!("{}/{}", e.plural, s.name), "singularName": "", "namespaced": e.namespaced, "kind": s.kind, "verbs": s.verbs});
        if let Some((g, v)) = &s.foreign {
            sub["group"] = json!(g);
            sub["version"] = json!(v);
        }
        out.push(sub);
    }
    out
}

pub fn resource_list(rs: &[ResourceType], g: &str, v: &str) -> Option<Value> {
    let es = entries(rs);
    let matching = of_version(&es, g, v);
    if matching.is_empty() {
        return None;
    }
    let resources: Vec<Value> = matching.iter().flat_map(|e| resource_entries(e)).collect();
    let gv = if g.is_empty() {
        v.to_string()
    } else {
        format!("{g}/{v}")
    };
    let mut list = json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": resources});
    // The core group's list is served without an apiVersion.
    if g.is_empty()
        && let Some(m) = list.as_object_mut()
    {
        m.remove("apiVersion");
    }
    Some(list)
}

fn response_kind(e: &Entry, foreign: Option<&(String, String)>, kind: &str) -> Value {
    match (foreign, e.custom) {
        (Some((g, v)), _) => json!({"group": g, "version": v, "kind": kind}),
        (None, true) => json!({"group": e.group, "version": e.version, "kind": kind}),
        (None, false) => json!({"group": "", "version": "", "kind": kind}),
    }
}

fn aggregated_group(es: &[Entry], g: &str) -> Value {
    let versions: Vec<Value> = versions_of(es, g)
        .iter()
        .map(|v| {
            let resources: Vec<Value> = of_version(es, g, v)
                .iter()
                .map(|e| {
                    let mut r = json!({
                        "resource": e.plural,
                        "responseKind": response_kind(e, None, &e.kind),
                        "scope": if e.namespaced { "Namespaced" } else { "Cluster" },
                        "singularResource": e.singular,
                        "verbs": e.verbs,
                    });
                    if !e.short_names.is_empty() {
                        r["shortNames"] = json!(e.short_names);
                    }
                    if !e.categories.is_empty() {
                        r["categories"] = json!(e.categories);
                    }
                    if !e.subresources.is_empty() {
                        let subs: Vec<Value> = e
                            .subresources
                            .iter()
                            .map(|s| json!({"subresource": s.name, "responseKind": response_kind(e, s.foreign.as_ref(), &s.kind), "verbs": s.verbs}))
                            .collect();
                        r["subresources"] = json!(subs);
                    }
                    r
                })
                .collect();
            json!({"version": v, "resources": resources, "freshness": "Current"})
        })
        .collect();
    let mut m = json!({"metadata": {}, "versions": versions});
    if !g.is_empty() {
        m["metadata"]["name"] = json!(g);
    }
    m
}

pub fn aggregated(rs: &[ResourceType], legacy: bool) -> Value {
    let es = entries(rs);
    let items: Vec<Value> = if legacy {
        vec![aggregated_group(&es, "")]
    } else {
        group_order(&es)
            .iter()
            .map(|g| aggregated_group(&es, g))
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
