//! managedFields: field sets (structured-merge-diff style), Update ownership tracking and
//! server-side apply (merge, prune, conflicts).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value, json};

use super::errors::{self, ApiError};
use super::registry::ResourceType;
use super::typeinfo::{ListKind, Ty};

/// A set of field paths; each path is a list of FieldsV1 path elements (`f:x`, `k:{..}`, `v:..`).
pub type FieldSet = BTreeSet<Vec<String>>;

const STRIPPED: &[&str] = &[
    "name",
    "namespace",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "managedFields",
    "selfLink",
];

fn stripped(p: &[String]) -> bool {
    match p {
        [a] => a == "f:apiVersion" || a == "f:kind" || a == "f:metadata",
        [m, f, ..] if m == "f:metadata" => STRIPPED.iter().any(|s| f == &format!("f:{s}")),
        _ => false,
    }
}

fn key_element(item: &Value, keys: &[String]) -> String {
    let mut m = Map::new();
    for k in keys {
        if let Some(v) = item.get(k) {
            m.insert(k.clone(), v.clone());
        }
    }
    format!("k:{}", Value::Object(m))
}

fn child_ty<'a>(ty: &'a Ty, k: &str) -> &'a Ty {
    static ANY: Ty = Ty::Any;
    match ty {
        // Unknown fields of an open (preserve-unknown-fields) object are objects of the same
        // open kind, as structured-merge-diff deduces them.
        Ty::Struct(s) if s.preserve && s.fields.is_empty() => ty,
        Ty::Struct(s) => s
            .fields
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, t)| t)
            .unwrap_or(&ANY),
        Ty::Map(t) => t,
        _ => &ANY,
    }
}

/// Every node of the object (what an Update "adds" when it creates the object).
pub fn full_set(v: &Value, ty: &Ty) -> (FieldSet, BTreeMap<Vec<String>, Value>) {
    let mut set = FieldSet::new();
    let mut leaves = BTreeMap::new();
    walk_full(v, ty, &mut vec![], &mut set, &mut leaves);
    set.retain(|p| !stripped(p));
    leaves.retain(|p, _| !stripped(p));
    (set, leaves)
}

fn walk_full(
    v: &Value,
    ty: &Ty,
    path: &mut Vec<String>,
    set: &mut FieldSet,
    leaves: &mut BTreeMap<Vec<String>, Value>,
) {
    match (v, ty) {
        // An explicit null is no field, but it marks the key as present: structured-merge-diff
        // does not count a container replacing it as added (only its contents).
        (Value::Null, _) => {
            leaves.insert(path.clone(), Value::Null);
        }
        (Value::Object(m), Ty::Struct(_)) | (Value::Object(m), Ty::Map(_)) => {
            if !path.is_empty() {
                set.insert(path.clone());
            }
            // Go value structs are always serialized, even when the client left them out.
            if let Ty::Struct(s) = ty {
                for (k, t) in &s.fields {
                    if !m.contains_key(k) && matches!(t, Ty::Struct(f) if f.value) {
                        path.push(format!("f:{k}"));
                        walk_full(&skeleton(t), t, path, set, leaves);
                        path.pop();
                    }
                }
            }
            for (k, c) in m {
                path.push(format!("f:{k}"));
                walk_full(c, child_ty(ty, k), path, set, leaves);
                path.pop();
            }
        }
        (Value::Array(a), Ty::List(kind @ (ListKind::Set | ListKind::Map(_)), it)) => {
            set.insert(path.clone());
            for item in a {
                let pe = match kind {
                    ListKind::Set => format!("v:{item}"),
                    ListKind::Map(keys) => key_element(item, keys),
                    ListKind::Atomic => unreachable!(),
                };
                path.push(pe);
                if matches!(kind, ListKind::Set) {
                    set.insert(path.clone());
                    leaves.insert(path.clone(), item.clone());
                } else {
                    walk_full(item, it, path, set, leaves);
                }
                path.pop();
            }
        }
        _ => {
            set.insert(path.clone());
            leaves.insert(path.clone(), v.clone());
        }
    }
}

/// The set server-side apply records for an applied configuration.
pub fn apply_set(v: &Value, ty: &Ty) -> FieldSet {
    let mut set = FieldSet::new();
    walk_apply(v, ty, &mut vec![], &mut set);
    set.retain(|p| !stripped(p));
    set
}

fn walk_apply(v: &Value, ty: &Ty, path: &mut Vec<String>, set: &mut FieldSet) {
    match (v, ty) {
        (Value::Object(m), Ty::Struct(_)) | (Value::Object(m), Ty::Map(_)) => {
            let is_map = matches!(ty, Ty::Map(_));
            for (k, c) in m {
                path.push(format!("f:{k}"));
                let cty = child_ty(ty, k);
                walk_apply(c, cty, path, set);
                let empty = c.is_null() || c.as_object().is_some_and(|o| o.is_empty());
                let declared = matches!(ty, Ty::Struct(s) if s.fields.iter().any(|(n, _)| n == k));
                if empty || is_map || !declared {
                    set.insert(path.clone());
                }
                path.pop();
            }
        }
        (Value::Array(a), Ty::List(kind @ (ListKind::Set | ListKind::Map(_)), it)) => {
            for item in a {
                let pe = match kind {
                    ListKind::Set => format!("v:{item}"),
                    ListKind::Map(keys) => key_element(item, keys),
                    ListKind::Atomic => unreachable!(),
                };
                path.push(pe);
                if matches!(kind, ListKind::Map(_)) {
                    walk_apply(item, it, path, set);
                }
                set.insert(path.clone());
                path.pop();
            }
        }
        _ => {
            set.insert(path.clone());
        }
    }
}

pub fn to_fields_v1(set: &FieldSet) -> Value {
    let mut root = Map::new();
    for p in set {
        let mut node = &mut root;
        for (i, pe) in p.iter().enumerate() {
            let entry = node.entry(pe.clone()).or_insert_with(|| json!({}));
            let m = match entry.as_object_mut() {
                Some(m) => m,
                None => break,
            };
            if i == p.len() - 1 && set.iter().any(|o| o.len() > p.len() && o.starts_with(p)) {
                m.insert(".".into(), json!({}));
            }
            node = m;
        }
    }
    Value::Object(root)
}

pub fn from_fields_v1(v: &Value) -> FieldSet {
    let mut set = FieldSet::new();
    fn walk(v: &Value, path: &mut Vec<String>, set: &mut FieldSet) {
        if let Some(m) = v.as_object() {
            for (k, c) in m {
                if k == "." {
                    set.insert(path.clone());
                    continue;
                }
                path.push(k.clone());
                if c.as_object().is_none_or(|o| o.is_empty()) {
                    set.insert(path.clone());
                } else {
                    walk(c, path, set);
                }
                path.pop();
            }
        }
    }
    walk(v, &mut vec![], &mut set);
    set
}

#[derive(Clone, Debug)]
pub struct Entry {
    pub manager: String,
    pub operation: String,
    pub api_version: String,
    pub time: String,
    pub subresource: String,
    pub set: FieldSet,
}

pub fn entries_of(obj: &Value) -> Vec<Entry> {
    obj["metadata"]["managedFields"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| Entry {
            manager: e["manager"].as_str().unwrap_or("").into(),
            operation: e["operation"].as_str().unwrap_or("").into(),
            api_version: e["apiVersion"].as_str().unwrap_or("").into(),
            time: e["time"].as_str().unwrap_or("").into(),
            subresource: e["subresource"].as_str().unwrap_or("").into(),
            set: from_fields_v1(&e["fieldsV1"]),
        })
        .collect()
}

pub fn encode(mut entries: Vec<Entry>) -> Value {
    entries.retain(|e| !e.set.is_empty());
    entries.sort_by(|a, b| {
        (
            a.operation.as_str(),
            a.time.as_str(),
            a.manager.as_str(),
            a.subresource.as_str(),
        )
            .cmp(&(
                b.operation.as_str(),
                b.time.as_str(),
                b.manager.as_str(),
                b.subresource.as_str(),
            ))
    });
    Value::Array(
        entries
            .into_iter()
            .map(|e| {
                let mut m = Map::new();
                m.insert("manager".into(), json!(e.manager));
                m.insert("operation".into(), json!(e.operation));
                m.insert("apiVersion".into(), json!(e.api_version));
                if !e.time.is_empty() {
                    m.insert("time".into(), json!(e.time));
                }
                m.insert("fieldsType".into(), json!("FieldsV1"));
                m.insert("fieldsV1".into(), to_fields_v1(&e.set));
                if !e.subresource.is_empty() {
                    m.insert("subresource".into(), json!(e.subresource));
                }
                Value::Object(m)
            })
            .collect(),
    )
}

pub fn is_empty_list(v: &Value) -> bool {
    v.as_array().is_some_and(|a| a.is_empty())
}

/// The empty object of a type as Go would serialize it: value structs present, nothing else.
pub fn skeleton(ty: &Ty) -> Value {
    let mut m = Map::new();
    if let Ty::Struct(s) = ty {
        for (k, t) in &s.fields {
            if matches!(t, Ty::Struct(f) if f.value) {
                m.insert(k.clone(), skeleton(t));
            }
        }
    }
    Value::Object(m)
}

/// (added, modified, removed) between two objects.
fn compare(rt: &ResourceType, old: Option<&Value>, new: &Value) -> (FieldSet, FieldSet, FieldSet) {
    let (oset, oleaves) = full_set(&old.cloned().unwrap_or_else(|| skeleton(&rt.ty)), &rt.ty);
    let (nset, nleaves) = full_set(new, &rt.ty);
    let added: FieldSet = nset
        .difference(&oset)
        .filter(|p| {
            !(oleaves.get(*p).is_some_and(Value::is_null)
                && nset.iter().any(|o| o.len() > p.len() && o.starts_with(p)))
        })
        .cloned()
        .collect();
    let removed: FieldSet = oset.difference(&nset).cloned().collect();
    let modified: FieldSet = nleaves
        .iter()
        .filter(|(p, v)| !v.is_null() && oleaves.get(*p).is_some_and(|ov| ov != *v))
        .map(|(p, _)| p.clone())
        .collect();
    (added, modified, removed)
}

/// managedFields after an Update-style write (create, PUT, non-apply PATCH) by `manager`.
pub fn update_entries(
    rt: &ResourceType,
    prev: &[Entry],
    old: Option<&Value>,
    new: &Value,
    manager: &str,
    sub: &str,
    now: &str,
) -> Value {
    let (added, modified, removed) = compare(rt, old, new);
    let mut entries = prev.to_vec();
    if added.is_empty() && modified.is_empty() && removed.is_empty() {
        return encode(entries);
    }
    let changed: FieldSet = added.union(&modified).cloned().collect();
    let mine = |e: &Entry| e.manager == manager && e.operation == "Update" && e.subresource == sub;
    for e in entries.iter_mut().filter(|e| !mine(e)) {
        e.set = e
            .set
            .difference(&changed)
            .cloned()
            .collect::<FieldSet>()
            .difference(&removed)
            .cloned()
            .collect();
    }
    let idx = match entries.iter().position(mine) {
        Some(i) => i,
        None => {
            entries.push(Entry {
                manager: manager.into(),
                operation: "Update".into(),
                api_version: rt.api_version(),
                time: now.into(),
                subresource: sub.into(),
                set: FieldSet::new(),
            });
            entries.len() - 1
        }
    };
    let e = &mut entries[idx];
    let before = e.set.clone();
    e.set = e
        .set
        .union(&changed)
        .cloned()
        .collect::<FieldSet>()
        .difference(&removed)
        .cloned()
        .collect();
    if e.set != before {
        e.time = now.into();
        e.api_version = rt.api_version();
    }
    encode(entries)
}

fn path_string(p: &[String]) -> String {
    let mut s = String::new();
    for pe in p {
        if let Some(f) = pe.strip_prefix("f:") {
            s.push('.');
            s.push_str(f);
        } else if let Some(k) = pe.strip_prefix("k:") {
            let m: Map<String, Value> = serde_json::from_str(k).unwrap_or_default();
            let parts: Vec<String> = m.iter().map(|(k, v)| format!("{k}={v}")).collect();
            s.push_str(&format!("[{}]", parts.join(",")));
        } else if let Some(v) = pe.strip_prefix("v:") {
            s.push_str(&format!("[={v}]"));
        }
    }
    s
}

fn print_manager(e: &Entry) -> String {
    let mut s = format!("{:?}", e.manager);
    if !e.subresource.is_empty() {
        s = format!("{s} with subresource {:?}", e.subresource);
    }
    if e.operation == "Update" {
        s = format!("{s} using {}", e.api_version);
    }
    s
}

fn conflict_error(conflicts: Vec<(String, String)>) -> ApiError {
    let causes: Vec<Value> = conflicts
        .iter()
        .map(|(m, p)| json!({"reason": "FieldManagerConflict", "message": format!("conflict with {m}"), "field": p}))
        .collect();
    let message = if conflicts.len() == 1 {
        format!(
            "Apply failed with 1 conflict: conflict with {}: {}",
            conflicts[0].0, conflicts[0].1
        )
    } else {
        let mut by: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for (m, p) in &conflicts {
            by.entry(m).or_default().push(p);
        }
        let mut lines = Vec::new();
        for (m, ps) in by {
            lines.push(format!("conflicts with {m}:"));
            lines.extend(ps.iter().map(|p| format!("- {p}")));
        }
        format!(
            "Apply failed with {} conflicts: {}",
            conflicts.len(),
            lines.join("\n")
        )
    };
    let mut e = errors::status(409, "Conflict", &message, Some(json!({"causes": causes})));
    e.code = 409;
    e
}

/// Server-side apply: returns the merged object and its new managedFields.
pub fn apply(
    rt: &ResourceType,
    live: Option<&Value>,
    config: &Value,
    manager: &str,
    force: bool,
    sub: &str,
    now: &str,
) -> Result<(Value, Value), ApiError> {
    let prev = live.map(entries_of).unwrap_or_default();
    let mut cfg = config.clone();
    if let Some(m) = cfg["metadata"].as_object_mut() {
        m.remove("managedFields");
    }
    let new_set = apply_set(&cfg, &rt.ty);
    let mine = |e: &Entry| e.manager == manager && e.operation == "Apply" && e.subresource == sub;
    let last_set = prev
        .iter()
        .find(|e| mine(e))
        .map(|e| e.set.clone())
        .unwrap_or_default();
    let base = live.cloned().unwrap_or_else(|| json!({}));
    let mut merged = merge(&base, &cfg, &rt.ty);
    // Fields this manager applied before and dropped now go away unless someone else owns them.
    let others: FieldSet = prev
        .iter()
        .filter(|e| !mine(e))
        .flat_map(|e| e.set.iter().cloned())
        .collect();
    for p in last_set.difference(&new_set) {
        if !others.contains(p) {
            remove_path(&mut merged, p);
            // A map left empty by the removal goes too, unless someone owns it.
            for k in (1..p.len()).rev() {
                let anc = &p[..k];
                if new_set.contains(anc)
                    || others.contains(anc)
                    || !empty_object_at(&mut merged, anc)
                {
                    break;
                }
                remove_path(&mut merged, anc);
            }
        }
    }
    let (added, modified, removed) = compare(rt, live, &merged);
    let changed: FieldSet = added.union(&modified).cloned().collect();
    let mut conflicts = Vec::new();
    for e in prev.iter().filter(|e| !mine(e)) {
        for p in e.set.intersection(&changed) {
            conflicts.push((print_manager(e), path_string(p)));
        }
    }
    if !force && !conflicts.is_empty() {
        conflicts.sort_by(|a, b| a.1.cmp(&b.1));
        return Err(conflict_error(conflicts));
    }
    // An apply that changes nothing does not stamp its manager's entry (a new entry then has
    // no time at all and sorts first).
    let unchanged = live.is_some() && added.is_empty() && modified.is_empty() && removed.is_empty();
    let time = if unchanged {
        prev.iter()
            .find(|e| mine(e))
            .map(|e| e.time.clone())
            .unwrap_or_default()
    } else {
        now.to_string()
    };
    let mut entries: Vec<Entry> = prev.into_iter().filter(|e| !mine(e)).collect();
    for e in entries.iter_mut() {
        e.set = e
            .set
            .difference(&changed)
            .cloned()
            .collect::<FieldSet>()
            .difference(&removed)
            .cloned()
            .collect();
    }
    entries.push(Entry {
        manager: manager.into(),
        operation: "Apply".into(),
        api_version: rt.api_version(),
        time,
        subresource: sub.into(),
        set: new_set,
    });
    Ok((merged, encode(entries)))
}

/// Merges an applied configuration into the live object according to the type's list semantics.
pub fn merge(live: &Value, cfg: &Value, ty: &Ty) -> Value {
    match (live, cfg, ty) {
        (Value::Object(l), Value::Object(c), Ty::Struct(_) | Ty::Map(_) | Ty::Any)
            if !matches!(ty, Ty::Any) =>
        {
            let mut out = l.clone();
            for (k, cv) in c {
                let t = child_ty(ty, k);
                let merged = match l.get(k) {
                    Some(lv) => merge(lv, cv, t),
                    None => cv.clone(),
                };
                out.insert(k.clone(), merged);
            }
            Value::Object(out)
        }
        (Value::Array(l), Value::Array(c), Ty::List(ListKind::Set, _)) => {
            let mut out = l.clone();
            for item in c {
                if !out.contains(item) {
                    out.push(item.clone());
                }
            }
            Value::Array(out)
        }
        (Value::Array(l), Value::Array(c), Ty::List(ListKind::Map(keys), it)) => {
            let mut out = l.clone();
            for item in c {
                let k = key_element(item, keys);
                match out.iter().position(|o| key_element(o, keys) == k) {
                    Some(i) => out[i] = merge(&out[i], item, it),
                    None => out.push(item.clone()),
                }
            }
            Value::Array(out)
        }
        _ => cfg.clone(),
    }
}

fn empty_object_at(v: &mut Value, p: &[String]) -> bool {
    let mut cur = v;
    for pe in p {
        cur = match step(cur, pe) {
            Some(c) => c,
            None => return false,
        };
    }
    cur.as_object().is_some_and(Map::is_empty)
}

fn remove_path(v: &mut Value, p: &[String]) {
    let Some((last, parents)) = p.split_last() else {
        return;
    };
    let mut cur = v;
    for pe in parents {
        cur = match step(cur, pe) {
            Some(c) => c,
            None => return,
        };
    }
    if let Some(f) = last.strip_prefix("f:") {
        if let Some(m) = cur.as_object_mut() {
            m.remove(f);
        }
    } else if let Some(a) = cur.as_array_mut() {
        a.retain(|item| !element_matches(item, last));
    }
}

fn element_matches(item: &Value, pe: &str) -> bool {
    if let Some(k) = pe.strip_prefix("k:") {
        let m: Map<String, Value> = serde_json::from_str(k).unwrap_or_default();
        m.iter().all(|(k, v)| item.get(k) == Some(v))
    } else if let Some(v) = pe.strip_prefix("v:") {
        serde_json::from_str::<Value>(v).is_ok_and(|x| &x == item)
    } else {
        false
    }
}

fn step<'a>(v: &'a mut Value, pe: &str) -> Option<&'a mut Value> {
    if let Some(f) = pe.strip_prefix("f:") {
        v.get_mut(f)
    } else {
        v.as_array_mut()?
            .iter_mut()
            .find(|i| element_matches(i, pe))
    }
}
