//! Response representations: plain objects and lists, `as=Table`, `as=PartialObjectMetadata[List]`
//! and YAML.

use serde_json::{Map, Value, json};

use super::api::{Ctx, Reply};
use super::errors::{self, ApiResult};
use super::registry::{Builtin, ResourceType};

enum As {
    Plain,
    Table,
    Partial,
}

fn negotiate(ctx: &Ctx, list: bool) -> ApiResult<As> {
    let accept = ctx.accept();
    if accept.is_empty() {
        return Ok(As::Plain);
    }
    // A JSON/YAML media type whose `as=` target this endpoint cannot produce.
    let mut unconvertible = false;
    for part in accept.split(',') {
        let p = part.trim();
        let media = p.split(';').next().unwrap_or("").trim();
        let params: Vec<(&str, &str)> = p
            .split(';')
            .skip(1)
            .filter_map(|kv| kv.trim().split_once('='))
            .collect();
        let get = |k: &str| params.iter().find(|(n, _)| *n == k).map(|(_, v)| *v);
        if !matches!(
            media,
            "application/json" | "application/yaml" | "*/*" | "application/*"
        ) {
            continue;
        }
        match get("as") {
            None => return Ok(As::Plain),
            Some("Table") if get("v") == Some("v1") && get("g") == Some("meta.k8s.io") => {
                return Ok(As::Table);
            }
            Some("PartialObjectMetadata") if !list && get("v") == Some("v1") => {
                return Ok(As::Partial);
            }
            Some("PartialObjectMetadataList") if list && get("v") == Some("v1") => {
                return Ok(As::Partial);
            }
            _ => {
                unconvertible = true;
                continue;
            }
        }
    }
    if unconvertible {
        return Err(errors::status(
            406,
            "NotAcceptable",
            "only the following media types are accepted: application/json, application/yaml, application/vnd.kubernetes.protobuf",
            None,
        ));
    }
    Err(errors::status(
        406,
        "NotAcceptable",
        "406: Not Acceptable\n\nAvailable representations: application/json, application/yaml, application/vnd.kubernetes.protobuf, application/json;stream=watch, application/vnd.kubernetes.protobuf;stream=watch",
        Some(json!({})),
    ))
}

fn partial(obj: &Value) -> Value {
    json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": obj["metadata"]})
}

pub fn object_reply(ctx: &Ctx, rt: &ResourceType, obj: Value, code: u16) -> ApiResult<Reply> {
    match negotiate(ctx, false)? {
        As::Plain => Ok(Reply::json(code, obj)),
        As::Partial => Ok(Reply::json(code, partial(&obj))),
        As::Table => {
            let rv = obj["metadata"]["resourceVersion"].clone();
            Ok(Reply::json(
                code,
                table(ctx, rt, &[obj], json!({"resourceVersion": rv})),
            ))
        }
    }
}

pub fn list_reply(
    ctx: &Ctx,
    rt: &ResourceType,
    items: Vec<Value>,
    meta: Value,
) -> ApiResult<Reply> {
    match negotiate(ctx, true)? {
        As::Plain => {
            let items: Vec<Value> = if rt.is_custom() {
                items
            } else {
                items
                    .into_iter()
                    .map(|mut o| {
                        if let Some(m) = o.as_object_mut() {
                            m.remove("apiVersion");
                            m.remove("kind");
                        }
                        o
                    })
                    .collect()
            };
            Ok(Reply::json(
                200,
                json!({"kind": rt.list_kind(), "apiVersion": rt.api_version(), "metadata": meta, "items": items}),
            ))
        }
        As::Partial => {
            let items: Vec<Value> = items.iter().map(partial).collect();
            Ok(Reply::json(
                200,
                json!({"kind": "PartialObjectMetadataList", "apiVersion": "meta.k8s.io/v1", "metadata": meta, "items": items}),
            ))
        }
        As::Table => Ok(Reply::json(200, table(ctx, rt, &items, meta))),
    }
}

const NAME_DESC: &str = "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names";
const AGE_DESC: &str = "CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata";

fn col(name: &str, ty: &str, format: &str, desc: &str, priority: i64) -> Value {
    json!({"name": name, "type": ty, "format": format, "description": desc, "priority": priority})
}

fn age(obj: &Value) -> String {
    since(&obj["metadata"]["creationTimestamp"])
}

fn json_path(obj: &Value, path: &str) -> Value {
    let mut cur = obj;
    for part in path.trim_start_matches('.').split('.') {
        cur = &cur[part];
    }
    cur.clone()
}

type Cell = Box<dyn Fn(&Value) -> Value>;

fn table(ctx: &Ctx, rt: &ResourceType, items: &[Value], meta: Value) -> Value {
    let include = ctx.q("includeObject").unwrap_or("Metadata");
    let mut cols = vec![col("Name", "string", "name", NAME_DESC, 0)];
    let mut cells: Vec<Cell> = vec![Box::new(|o: &Value| o["metadata"]["name"].clone())];
    if rt.is_custom() {
        cols = vec![col("Name", "string", "name", NAME_DESC, 0)];
        for pc in &rt.printer_columns {
            let ty = pc["type"].as_str().unwrap_or("string").to_string();
            let format = pc["format"].as_str().unwrap_or("").to_string();
            let jp = pc["jsonPath"].as_str().unwrap_or("").to_string();
            let desc = pc["description"]
                .as_str()
                .filter(|d| !d.is_empty())
                .map(String::from)
                .unwrap_or_else(|| {
                    format!("Custom resource definition column (in JSONPath format): {jp}")
                });
            let is_date = ty == "date";
            cols.push(col(
                pc["name"].as_str().unwrap_or(""),
                &ty,
                &format,
                &desc,
                pc["priority"].as_i64().unwrap_or(0),
            ));
            cells.push(Box::new(move |o: &Value| {
                let v = json_path(o, &jp);
                if is_date {
                    if v.is_null() {
                        Value::Null
                    } else {
                        json!(age(o))
                    }
                } else {
                    v
                }
            }));
        }
    } else if matches!(rt.builtin, Builtin::CoreEvent | Builtin::NewEvent) {
        (cols, cells) = event_columns();
    } else {
        if rt.builtin == Builtin::Lease {
            cols.push(col("Holder", "string", "", "holderIdentity contains the identity of the holder of a current lease. If Coordinated Leader Election is used, the holder identity must be equal to the elected LeaseCandidate.metadata.name field.", 0));
            cells.push(Box::new(|o: &Value| {
                json!(o["spec"]["holderIdentity"].as_str().unwrap_or(""))
            }));
        }
        if rt.builtin == Builtin::Secret {
            cols.push(col("Type", "string", "", "Used to facilitate programmatic handling of secret data. More info: https://kubernetes.io/docs/concepts/configuration/secret/#secret-types", 0));
            cols.push(col("Data", "string", "", "Data contains the secret data. Each key must consist of alphanumeric characters, '-', '_' or '.'. The serialized form of the secret data is a base64 encoded string, representing the arbitrary (possibly non-string) data value here. Described in https://tools.ietf.org/html/rfc4648#section-4", 0));
            cells.push(Box::new(|o: &Value| o["type"].clone()));
            cells.push(Box::new(|o: &Value| {
                json!(o["data"].as_object().map(|m| m.len()).unwrap_or(0))
            }));
        }
        cols.push(col("Age", "string", "", AGE_DESC, 0));
        cells.push(Box::new(|o: &Value| json!(age(o))));
    }
    let rows: Vec<Value> = items
        .iter()
        .map(|o| {
            let mut r = Map::new();
            r.insert(
                "cells".into(),
                Value::Array(cells.iter().map(|f| f(o)).collect()),
            );
            match include {
                "None" => {
                    r.insert("object".into(), Value::Null);
                }
                "Object" => {
                    r.insert("object".into(), o.clone());
                }
                _ => {
                    r.insert("object".into(), partial(o));
                }
            }
            Value::Object(r)
        })
        .collect();
    json!({"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": meta, "columnDefinitions": cols, "rows": rows})
}

/// How long ago an RFC 3339 time was, as the apiserver's printers say it ("<unknown>" if unset).
fn since(ts: &Value) -> String {
    let Some(t) = ts
        .as_str()
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
    else {
        return "<unknown>".into();
    };
    let secs = (chrono::Utc::now() - t.with_timezone(&chrono::Utc))
        .num_seconds()
        .max(0);
    if secs < 120 {
        format!("{secs}s")
    } else if secs < 3600 {
        format!("{}m", secs / 60)
    } else {
        format!("{}h", secs / 3600)
    }
}

/// The first non-empty string of the fields (core/v1 names first, then events.k8s.io/v1 ones).
fn first_str<'a>(o: &'a Value, paths: &[&[&str]]) -> &'a str {
    paths
        .iter()
        .map(|p| p.iter().fold(o, |v, k| &v[*k]).as_str().unwrap_or(""))
        .find(|s| !s.is_empty())
        .unwrap_or("")
}

/// The apiserver's Event printer (the same for core/v1 and events.k8s.io/v1 events).
fn event_columns() -> (Vec<Value>, Vec<Cell>) {
    let first_seen = |o: &Value| {
        let first = o
            .get("firstTimestamp")
            .or_else(|| o.get("deprecatedFirstTimestamp"));
        match first.filter(|v| v.is_string()) {
            Some(t) => since(t),
            None => since(&o["eventTime"]),
        }
    };
    let cols = vec![
        col(
            "Last Seen",
            "string",
            "",
            "The time at which the most recent occurrence of this event was recorded.",
            0,
        ),
        col(
            "Type",
            "string",
            "",
            "Type of this event (Normal, Warning), new types could be added in the future",
            0,
        ),
        col(
            "Reason",
            "string",
            "",
            "This should be a short, machine understandable string that gives the reason for the transition into the object's current status.",
            0,
        ),
        col(
            "Object",
            "string",
            "",
            "The object that this event is about.",
            0,
        ),
        col(
            "Subobject",
            "string",
            "",
            "If referring to a piece of an object instead of an entire object, this string should contain a valid JSON/Go field access statement, such as desiredState.manifest.containers[2]. For example, if the object reference is to a container within a pod, this would take on a value like: \"spec.containers{name}\" (where \"name\" refers to the name of the container that triggered the event) or if no container name is specified \"spec.containers[2]\" (container with index 2 in this pod). This syntax is chosen only to have some well-defined way of referencing a part of an object.",
            1,
        ),
        col(
            "Source",
            "string",
            "",
            "The component reporting this event. Should be a short machine understandable string.",
            1,
        ),
        col(
            "Message",
            "string",
            "",
            "A human-readable description of the status of this operation.",
            0,
        ),
        col(
            "First Seen",
            "string",
            "",
            "The time at which the event was first recorded. (Time of server receipt is in TypeMeta.)",
            1,
        ),
        col(
            "Count",
            "string",
            "",
            "The number of times this event has occurred.",
            1,
        ),
        col("Name", "string", "name", NAME_DESC, 1),
    ];
    let cells: Vec<Cell> = vec![
        Box::new(move |o: &Value| {
            if o["series"]["lastObservedTime"].is_string() {
                return json!(since(&o["series"]["lastObservedTime"]));
            }
            let last = o
                .get("lastTimestamp")
                .or_else(|| o.get("deprecatedLastTimestamp"));
            match last.filter(|v| v.is_string()) {
                Some(t) => json!(since(t)),
                None => json!(first_seen(o)),
            }
        }),
        Box::new(|o: &Value| json!(o["type"].as_str().unwrap_or(""))),
        Box::new(|o: &Value| json!(o["reason"].as_str().unwrap_or(""))),
        Box::new(|o: &Value| {
            let r = if o["involvedObject"].is_object() {
                &o["involvedObject"]
            } else {
                &o["regarding"]
            };
            let kind = r["kind"].as_str().unwrap_or("").to_lowercase();
            match r["name"].as_str().filter(|n| !n.is_empty()) {
                Some(n) => json!(format!("{kind}/{n}")),
                None => json!(kind),
            }
        }),
        Box::new(|o: &Value| {
            json!(first_str(
                o,
                &[
                    &["involvedObject", "fieldPath"],
                    &["regarding", "fieldPath"]
                ]
            ))
        }),
        Box::new(|o: &Value| {
            let component = first_str(
                o,
                &[
                    &["source", "component"],
                    &["deprecatedSource", "component"],
                    &["reportingComponent"],
                    &["reportingController"],
                ],
            );
            let instance = first_str(
                o,
                &[
                    &["source", "host"],
                    &["deprecatedSource", "host"],
                    &["reportingInstance"],
                ],
            );
            if instance.is_empty() {
                json!(component)
            } else {
                json!(format!("{component}, {instance}"))
            }
        }),
        Box::new(|o: &Value| json!(first_str(o, &[&["message"], &["note"]]).trim())),
        Box::new(move |o: &Value| json!(first_seen(o))),
        Box::new(|o: &Value| {
            let count = o["series"]["count"]
                .as_i64()
                .or_else(|| o["count"].as_i64())
                .or_else(|| o["deprecatedCount"].as_i64())
                .filter(|c| *c != 0)
                .unwrap_or(1);
            json!(count)
        }),
        Box::new(|o: &Value| o["metadata"]["name"].clone()),
    ];
    (cols, cells)
}

/// Minimal YAML emitter for JSON values (block style, quoted strings where needed).
pub fn to_yaml(v: &Value) -> String {
    let mut out = String::new();
    emit(v, 0, &mut out, false);
    out
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => {
            let plain = !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_./=+:".contains(c))
                && !s.starts_with(['-', '=', '+', ':'])
                // `: ` would start a mapping; a colon inside a word is fine (`f:data`).
                && !s.ends_with(':')
                && !matches!(
                    s.as_str(),
                    "true" | "false" | "null" | "yes" | "no" | "on" | "off" | "y" | "n"
                )
                && s.parse::<f64>().is_err();
            if plain {
                s.clone()
            } else {
                serde_json::to_string(s).unwrap_or_default()
            }
        }
        Value::Null => "null".into(),
        other => other.to_string(),
    }
}

fn emit(v: &Value, indent: usize, out: &mut String, in_list: bool) {
    let pad = " ".repeat(indent);
    match v {
        Value::Object(m) if !m.is_empty() => {
            for (i, (k, c)) in m.iter().enumerate() {
                if !(in_list && i == 0) {
                    out.push_str(&pad);
                }
                out.push_str(&format!("{}:", scalar(&Value::String(k.clone()))));
                match c {
                    Value::Object(cm) if !cm.is_empty() => {
                        out.push('\n');
                        emit(c, indent + 2, out, false);
                    }
                    Value::Array(a) if !a.is_empty() => {
                        out.push('\n');
                        emit(c, indent, out, false);
                    }
                    _ => {
                        out.push(' ');
                        emit(c, 0, out, false);
                    }
                }
            }
        }
        Value::Array(a) if !a.is_empty() => {
            for c in a {
                out.push_str(&format!("{pad}- "));
                match c {
                    Value::Object(cm) if !cm.is_empty() => emit(c, indent + 2, out, true),
                    _ => emit(c, indent + 2, out, true),
                }
            }
        }
        Value::Object(_) => out.push_str("{}\n"),
        Value::Array(_) => out.push_str("[]\n"),
        s => {
            out.push_str(&scalar(s));
            out.push('\n');
        }
    }
}
