//! PATCH: JSON merge patch, JSON patch, strategic merge patch (built-ins) and server-side apply.

use std::sync::Arc;

use serde_json::{Value, json};

use super::api::{Ctx, Reply};
use super::errors::{self, ApiResult, Cause};
use super::registry::ResourceType;
use super::typeinfo::{ListKind, Ty};
use super::write::{self, WriteOpts};
use super::{Shared, builtin, decode, fields, output, typeinfo};

pub fn merge_patch(target: &mut Value, patch: &Value) {
    match patch {
        Value::Object(p) => {
            if !target.is_object() {
                *target = json!({});
            }
            if let Some(t) = target.as_object_mut() {
                for (k, v) in p {
                    if v.is_null() {
                        t.remove(k);
                    } else {
                        merge_patch(t.entry(k.clone()).or_insert(Value::Null), v);
                    }
                }
            }
        }
        other => *target = other.clone(),
    }
}

/// Strategic merge: like a merge patch, but lists with a merge key merge by key and sets union.
pub fn strategic_merge(target: &mut Value, patch: &Value, ty: &Ty) {
    match (patch, ty) {
        (Value::Object(p), _) => {
            if !target.is_object() {
                *target = json!({});
            }
            if let Some(t) = target.as_object_mut() {
                for (k, v) in p {
                    if k.starts_with("$") {
                        continue;
                    }
                    if v.is_null() {
                        t.remove(k);
                        continue;
                    }
                    let cty = ty.field(k).cloned().unwrap_or(Ty::Any);
                    strategic_merge(t.entry(k.clone()).or_insert(Value::Null), v, &cty);
                }
            }
        }
        (Value::Array(p), Ty::List(ListKind::Map(keys), _)) if target.is_array() => {
            let mut out = target.as_array().cloned().unwrap_or_default();
            for item in p {
                let same = |o: &Value| keys.iter().all(|k| o.get(k) == item.get(k));
                match out.iter().position(same) {
                    Some(i) => merge_patch(&mut out[i], item),
                    None => out.push(item.clone()),
                }
            }
            *target = Value::Array(out);
        }
        (Value::Array(p), Ty::List(ListKind::Set, _)) if target.is_array() => {
            let mut out = target.as_array().cloned().unwrap_or_default();
            for item in p {
                if !out.contains(item) {
                    out.push(item.clone());
                }
            }
            *target = Value::Array(out);
        }
        (other, _) => *target = other.clone(),
    }
}

fn patch_error() -> errors::ApiError {
    errors::status(
        422,
        "Invalid",
        "the server rejected our request due to an error in our request",
        Some(json!({})),
    )
}

pub async fn serve(
    shared: &Arc<Shared>,
    ctx: &Ctx,
    rt: &ResourceType,
    ns: &str,
    name: &str,
    sub: &str,
) -> ApiResult<Reply> {
    let ct = ctx
        .content_type()
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_string();
    let kind = match ct.as_str() {
        "application/merge-patch+json" => "merge",
        "application/json-patch+json" => "json",
        "application/strategic-merge-patch+json" if !rt.is_custom() => "smp",
        "application/apply-patch+yaml" | "application/apply-patch+cbor" => "apply",
        "application/strategic-merge-patch+json" => {
            return Err(errors::unsupported_media(
                "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml",
                false,
            ));
        }
        _ => {
            return Err(errors::unsupported_media(
                "415: Unsupported Media Type",
                true,
            ));
        }
    };
    let opts_kind = "PatchOptions";
    let opts = write::write_opts(ctx, opts_kind)?;
    if kind == "apply" {
        return apply(shared, ctx, rt, ns, name, sub, opts).await;
    }
    let body = decode::json(&ctx.body)
        .map_err(|e| errors::bad_request(&format!("error decoding patch: {e}")))?;
    let old = shared.lock().store.get(&write::key(rt, ns, name)).cloned();
    let old = old.ok_or_else(|| errors::not_found(&rt.plural, &rt.group, name))?;
    let current = builtin::present(rt, old.clone());
    let mut new = current.clone();
    match kind {
        "merge" => merge_patch(&mut new, &body.value),
        "smp" => strategic_merge(&mut new, &body.value, &rt.ty),
        _ => {
            let ops: json_patch::Patch = serde_json::from_value(body.value.clone()).map_err(|_| {
                errors::bad_request(&format!(
                    "error decoding patch: json: cannot unmarshal {} into Go value of type []handlers.jsonPatchOp",
                    if body.value.is_object() { "object" } else { "string" }
                ))
            })?;
            json_patch::patch(&mut new, &ops).map_err(|_| patch_error())?;
        }
    }
    // A resourceVersion in the patch is a precondition.
    let rv = new["metadata"]["resourceVersion"]
        .as_str()
        .unwrap_or("")
        .to_string();
    if !rv.is_empty() && rv != old["metadata"]["resourceVersion"].as_str().unwrap_or("") {
        return Err(errors::conflict_modified(&rt.plural, &rt.group, name));
    }
    let mut warnings = Vec::new();
    if !rt.is_custom() {
        let mut unknown = Vec::new();
        typeinfo::unknown_fields(&new, &rt.ty, "", &mut unknown);
        if !unknown.is_empty() && opts.field_validation == "Strict" {
            let msgs: Vec<String> = unknown
                .iter()
                .map(|p| format!("unknown field {p:?}"))
                .collect();
            // The merged document is re-encoded as a map at the top (sorted keys) while
            // untouched values keep their typed encoding (Go field order).
            let top: Vec<String> = new
                .as_object()
                .map(|m| {
                    m.iter()
                        .map(|(k, c)| {
                            let fty = rt.ty.field(k).cloned().unwrap_or(typeinfo::Ty::Any);
                            format!("{}:{}", json!(k), typeinfo::to_go_json(c, &fty))
                        })
                        .collect()
                })
                .unwrap_or_default();
            let text = format!("{{{}}}", top.join(","));
            return Err(errors::invalid(
                "",
                "",
                "",
                vec![Cause::invalid(
                    "patch",
                    &json!(text),
                    &format!("strict decoding error: {}", msgs.join(", ")),
                )],
            ));
        }
        if opts.field_validation != "Ignore" {
            warnings.extend(unknown.iter().map(|p| format!("unknown field {p:?}")));
        }
        typeinfo::prune(&mut new, &rt.ty);
        write::check_shape(&new, rt)?;
    }
    let (stored, w, code) =
        write::finish_update(shared, ctx, rt, ns, name, sub, old, new, &opts, None).await?;
    warnings.extend(w);
    let mut r = output::object_reply(ctx, rt, builtin::present(rt, stored), code)?;
    r.warnings = warnings;
    Ok(r)
}

async fn apply(
    shared: &Arc<Shared>,
    ctx: &Ctx,
    rt: &ResourceType,
    ns: &str,
    name: &str,
    sub: &str,
    opts: WriteOpts,
) -> ApiResult<Reply> {
    if ctx.q("fieldManager").is_none_or(str::is_empty) {
        return Err(errors::invalid_options(
            "PatchOptions",
            vec![Cause::required(
                "fieldManager",
                "is required for apply patch",
            )],
        ));
    }
    let cfg = decode::yaml(&ctx.body)
        .map_err(|e| {
            errors::bad_request(&format!(
                "error decoding YAML: error converting YAML to JSON: yaml: {e}"
            ))
        })?
        .value;
    let av = cfg["apiVersion"].as_str().unwrap_or("");
    let kind = cfg["kind"].as_str().unwrap_or("");
    if av.is_empty() || kind.is_empty() {
        let (g, v) = av.split_once('/').unwrap_or(("", av));
        return Err(errors::bad_request(&format!(
            "invalid object type: {g}/{v}, Kind={kind}"
        )));
    }
    let mut unknown = Vec::new();
    typeinfo::unknown_fields(&cfg, &rt.ty, "", &mut unknown);
    if let Some(first) = unknown.first() {
        let (g, v) = (rt.group.as_str(), rt.version.as_str());
        let target = if rt.namespaced {
            format!("{ns}/{name}")
        } else {
            name.to_string()
        };
        return Err(errors::status(
            500,
            "",
            &format!(
                "failed to create typed patch object ({target}; {g}/{v}, Kind={}): .{first}: field not declared in schema",
                rt.kind
            ),
            None,
        ));
    }
    let old = shared.lock().store.get(&write::key(rt, ns, name)).cloned();
    let now = write::now();
    let live = old.as_ref().map(|o| builtin::present(rt, o.clone()));
    let mut cfg_for_merge = cfg.clone();
    if rt.has_status {
        // The main resource ignores status in an applied config and /status ignores the rest.
        if let Some(m) = cfg_for_merge.as_object_mut() {
            if sub == "status" {
                m.retain(|k, _| {
                    matches!(k.as_str(), "apiVersion" | "kind" | "metadata" | "status")
                });
            } else {
                m.remove("status");
            }
        }
        if sub == "status"
            && let Some(meta) = cfg_for_merge["metadata"].as_object_mut()
        {
            meta.retain(|k, _| k == "name" || k == "namespace");
        }
    }
    let (merged, managed) = fields::apply(
        rt,
        live.as_ref(),
        &cfg_for_merge,
        &opts.manager,
        opts.force,
        sub,
        &now,
    )?;
    let body_name = cfg["metadata"]["name"].as_str().unwrap_or("");
    if body_name != name {
        return Err(errors::bad_request(&format!(
            "the name of the object ({body_name}) does not match the name on the URL ({name})"
        )));
    }
    match old {
        Some(old) => {
            let (stored, w, code) = write::finish_update(
                shared,
                ctx,
                rt,
                ns,
                name,
                sub,
                old,
                merged,
                &opts,
                Some(managed),
            )
            .await?;
            let mut r = output::object_reply(ctx, rt, builtin::present(rt, stored), code)?;
            r.warnings = w;
            Ok(r)
        }
        None => {
            super::write::create_object(shared, ctx, rt, ns, merged, &opts, vec![], Some(managed))
                .await
        }
    }
}
