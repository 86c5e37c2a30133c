//! Object reads and writes: get, create, update (PUT), patch, delete; the shared write pipeline.

use std::sync::Arc;

use serde_json::{Value, json};

use super::api::{Ctx, Reply};
use super::errors::{self, ApiError, ApiResult, Cause};
use super::hooks::AdmissionAttrs;
use super::registry::{Builtin, ResourceType};
use super::store::Key;
use super::{Shared, builtin, decode, fields, meta, output, patch, typeinfo};

pub fn now() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

pub fn key(rt: &ResourceType, ns: &str, name: &str) -> Key {
    (
        rt.storage.clone(),
        if rt.namespaced {
            ns.to_string()
        } else {
            String::new()
        },
        name.to_string(),
    )
}

pub fn get(
    shared: &Shared,
    ctx: &Ctx,
    rt: &ResourceType,
    ns: &str,
    name: &str,
    sub: &str,
) -> ApiResult<Reply> {
    let obj = shared.lock().store.get(&key(rt, ns, name)).cloned();
    let obj = obj.ok_or_else(|| errors::not_found(&rt.plural, &rt.group, name))?;
    let _ = sub;
    output::object_reply(ctx, rt, builtin::present(rt, obj), 200)
}

/// Validated request options shared by create/update/patch.
pub struct WriteOpts {
    pub dry_run: bool,
    pub field_validation: String,
    pub manager: String,
    pub force: bool,
}

pub fn write_opts(ctx: &Ctx, options_kind: &str) -> ApiResult<WriteOpts> {
    let fv = ctx.q("fieldValidation").unwrap_or("");
    if !matches!(fv, "" | "Ignore" | "Strict" | "Warn") {
        return Err(errors::invalid_options(
            options_kind,
            vec![Cause::not_supported(
                "fieldValidation",
                &format!("{fv:?}"),
                &["", "Ignore", "Strict", "Warn"],
            )],
        ));
    }
    let dry: Vec<&str> = ctx
        .query
        .iter()
        .filter(|(k, _)| k == "dryRun")
        .map(|(_, v)| v.as_str())
        .collect();
    if dry.iter().any(|d| *d != "All") {
        let list: Vec<String> = dry.iter().map(|d| format!("{d:?}")).collect();
        return Err(errors::invalid_options(
            options_kind,
            vec![Cause::not_supported(
                "dryRun",
                &format!("[{}]", list.join(" ")),
                &["All"],
            )],
        ));
    }
    let manager = ctx
        .q("fieldManager")
        .map(String::from)
        .unwrap_or_else(|| ctx.default_manager());
    Ok(WriteOpts {
        dry_run: !dry.is_empty(),
        field_validation: if fv.is_empty() {
            "Warn".into()
        } else {
            fv.into()
        },
        manager,
        force: ctx.q("force") == Some("true"),
    })
}

/// Decodes a create/update body (JSON or YAML) into an object of the endpoint's kind.
pub fn decode_object(ctx: &Ctx, rt: &ResourceType) -> ApiResult<decode::Decoded> {
    let ct = ctx
        .content_type()
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_string();
    let decoded = match ct.as_str() {
        "application/json" | "" => decode::json(&ctx.body),
        "application/yaml" => decode::yaml(&ctx.body),
        _ => {
            return Err(errors::unsupported_media(
                "the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf",
                false,
            ));
        }
    };
    let d = decoded.map_err(|e| {
        let text = String::from_utf8_lossy(&ctx.body);
        let snippet = if text.is_empty() {
            "<empty>".to_string()
        } else if text.chars().count() > 30 {
            format!("{} ...", text.chars().take(30).collect::<String>())
        } else {
            text.to_string()
        };
        errors::bad_request(&format!(
            "the object provided is unrecognized (must be of type {}): couldn't get version/kind; json parse error: {e} ({snippet})",
            rt.kind
        ))
    })?;
    if !d.value.is_object() {
        return Err(errors::bad_request(&format!(
            "the object provided is unrecognized (must be of type {}): couldn't get version/kind; json parse error: json: cannot unmarshal {} into Go value of type struct {{ APIVersion string \"json:\\\"apiVersion,omitempty\\\"\"; Kind string \"json:\\\"kind,omitempty\\\"\" }}",
            rt.kind,
            json_type(&d.value)
        )));
    }
    check_shape(&d.value, rt)?;
    Ok(d)
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Array(_) => "array",
        Value::String(_) => "string",
        Value::Number(_) => "number",
        Value::Bool(_) => "bool",
        _ => "object",
    }
}

/// Go-decoder type errors and apiVersion/kind checks.
pub fn check_shape(v: &Value, rt: &ResourceType) -> ApiResult<()> {
    let cannot = |msg: String| {
        errors::bad_request(&format!(
            "{} in version {:?} cannot be handled as a {}: {msg}",
            rt.kind, rt.version, rt.kind
        ))
    };
    if !rt.is_custom()
        && let Some((path, go, jt)) = typeinfo::type_mismatch(v, &rt.ty, "")
    {
        let msg = if path.is_empty() {
            format!("json: cannot unmarshal {jt} into Go value of type {go}")
        } else {
            format!(
                "json: cannot unmarshal {jt} into Go struct field {}.{path} of type {go}",
                rt.kind
            )
        };
        return Err(cannot(msg));
    }
    if !rt.is_custom() {
        builtin::check_decode(v, rt).map_err(cannot)?;
    }
    let av = v.get("apiVersion").and_then(Value::as_str).unwrap_or("");
    let kind = v.get("kind").and_then(Value::as_str).unwrap_or("");
    if rt.is_custom() {
        if !av.is_empty() && av != rt.api_version() {
            return Err(errors::bad_request(&format!(
                "the API version in the data ({av}) does not match the expected API version ({})",
                rt.api_version()
            )));
        }
        if !kind.is_empty() && kind != rt.kind {
            let name = v["metadata"]["name"].as_str().unwrap_or("");
            return Err(errors::invalid(
                kind,
                &rt.group,
                name,
                vec![Cause::invalid(
                    "kind",
                    &json!(kind),
                    &format!("must be {}", rt.kind),
                )],
            ));
        }
    } else if (!kind.is_empty() && kind != rt.kind) || (!av.is_empty() && av != rt.api_version()) {
        return Err(errors::bad_request(&format!(
            "the object provided is unrecognized (must be of type {}): {} (kind: {kind}, apiVersion: {av})",
            rt.kind, rt.kind
        )));
    }
    Ok(())
}

/// Unknown and duplicate fields → warnings, or a strict-decoding error.
pub fn field_problems(d: &decode::Decoded, rt: &ResourceType, opts: &WriteOpts) -> Vec<String> {
    if opts.field_validation == "Ignore" {
        return vec![];
    }
    let mut unknown = Vec::new();
    if !rt.is_custom() {
        typeinfo::unknown_fields(&d.value, &rt.ty, "", &mut unknown);
        unknown.sort_by_key(|p| d.position(p));
    }
    let mut out: Vec<String> = d
        .duplicates
        .iter()
        .map(|p| format!("duplicate field {p:?}"))
        .collect();
    out.extend(unknown.iter().map(|p| format!("unknown field {p:?}")));
    out
}

fn strict_error(rt: &ResourceType, problems: &[String]) -> ApiError {
    errors::bad_request(&format!(
        "{} in version {:?} cannot be handled as a {}: strict decoding error: {}",
        rt.kind,
        rt.version,
        rt.kind,
        problems.join(", ")
    ))
}

pub async fn create(
    shared: &Arc<Shared>,
    ctx: &Ctx,
    rt: &ResourceType,
    ns: &str,
) -> ApiResult<Reply> {
    if rt.builtin == Builtin::Review {
        return super::nonresource::review(shared, ctx, rt).await;
    }
    let opts = write_opts(ctx, "CreateOptions")?;
    let d = decode_object(ctx, rt)?;
    let warnings = field_problems(&d, rt, &opts);
    if opts.field_validation == "Strict" && !warnings.is_empty() {
        return Err(strict_error(rt, &warnings));
    }
    let mut obj = d.value;
    if !rt.is_custom() {
        typeinfo::prune(&mut obj, &rt.ty);
    }
    create_object(shared, ctx, rt, ns, obj, &opts, warnings, None).await
}

/// Create from a decoded object (POST, or server-side apply of a missing object with `managed`).
#[allow(clippy::too_many_arguments)]
pub async fn create_object(
    shared: &Arc<Shared>,
    ctx: &Ctx,
    rt: &ResourceType,
    ns: &str,
    mut obj: Value,
    opts: &WriteOpts,
    mut warnings: Vec<String>,
    managed: Option<Value>,
) -> ApiResult<Reply> {
    if rt.namespaced {
        let body_ns = obj["metadata"]["namespace"].as_str().unwrap_or("");
        if !body_ns.is_empty() && body_ns != ns {
            return Err(errors::bad_request(
                "the namespace of the provided object does not match the namespace sent on the request",
            ));
        }
        obj["metadata"]["namespace"] = json!(ns);
    } else if let Some(m) = obj["metadata"].as_object_mut() {
        m.remove("namespace");
    }
    if obj["metadata"]["name"].as_str().unwrap_or("").is_empty()
        && let Some(g) = obj["metadata"]["generateName"]
            .as_str()
            .filter(|g| !g.is_empty())
    {
        obj["metadata"]["name"] = json!(format!("{g}{}", meta::random_suffix()));
    }
    let name = obj["metadata"]["name"].as_str().unwrap_or("").to_string();
    if rt.namespaced {
        check_namespace(shared, rt, ns, &name)?;
    }
    warnings
        .extend(builtin::default_object(rt, &mut obj, None).map_err(|e| errors::bad_request(&e))?);
    if rt.is_custom() {
        warnings.extend(apply_schema_defaults(shared, rt, &mut obj, opts)?);
    }
    let now = now();
    let attrs = admission_attrs(shared, ctx, rt, ns, &name, "CREATE", "", None, opts);
    // Mutating webhooks see the request's managedFields but not yet uid/creationTimestamp.
    // Webhook mutations are not attributed to any manager.
    obj["metadata"]["managedFields"] = match managed {
        Some(m) => m,
        None => {
            // Fields the strategy resets (status, when it has its own subresource) are never
            // owned through the main resource.
            let mut owned = obj.clone();
            if rt.has_status
                && let Some(m) = owned.as_object_mut()
            {
                m.remove("status");
            }
            fields::update_entries(rt, &[], None, &owned, &opts.manager, "", &now)
        }
    };
    let mut boxed = Some(obj);
    warnings.extend(shared.admission().mutate(&attrs, &mut boxed).await?);
    let mut obj = boxed.unwrap_or(Value::Null);
    builtin::prepare_create(rt, &mut obj, &now);
    obj["metadata"]["uid"] = json!(uuid::Uuid::new_v4().to_string());
    validate_all(shared, rt, &obj, None, "")?;
    let boxed = Some(obj);
    warnings.extend(shared.admission().validate(&attrs, &boxed).await?);
    let Some(obj) = boxed else {
        return Err(errors::not_found_generic());
    };
    let k = key(rt, ns, &name);
    let stored = {
        let mut st = shared.lock();
        if st.store.get(&k).is_some() {
            return Err(errors::already_exists(&rt.plural, &rt.group, &name));
        }
        if opts.dry_run {
            obj
        } else {
            let stored = st.store.put(k.clone(), obj);
            count_write(&mut st, &k);
            if rt.builtin == Builtin::Crd {
                drop(st);
                super::crds::name_crd(shared, &stored);
            }
            stored
        }
    };
    shared.wake.notify_one();
    let mut r = output::object_reply(ctx, rt, builtin::present(rt, stored), 201)?;
    r.warnings = warnings;
    Ok(r)
}

pub fn count_write(st: &mut super::State, k: &Key) {
    *st.counters
        .writes
        .entry(format!("{}/{}/{}", k.0, k.1, k.2))
        .or_default() += 1;
}

fn check_namespace(shared: &Shared, rt: &ResourceType, ns: &str, name: &str) -> ApiResult<()> {
    let nsobj = shared
        .lock()
        .store
        .get(&("namespaces".into(), String::new(), ns.into()))
        .cloned();
    match nsobj {
        None => Err(errors::not_found("namespaces", "", ns)),
        Some(n) if n["metadata"]["deletionTimestamp"].is_string() => {
            let mut d = errors::details(name, &rt.group, &rt.plural);
            d["causes"] = json!([{"reason": "NamespaceTerminating", "message": format!("namespace {ns} is being terminated"), "field": "metadata.namespace"}]);
            Err(errors::forbidden(
                &format!(
                    "{} {name:?} is forbidden: unable to create new content in namespace {ns} because it is being terminated",
                    errors::qualified(&rt.plural, &rt.group)
                ),
                d,
            ))
        }
        Some(_) => Ok(()),
    }
}

fn apply_schema_defaults(
    shared: &Shared,
    rt: &ResourceType,
    obj: &mut Value,
    opts: &WriteOpts,
) -> ApiResult<Vec<String>> {
    let Some(schema) = &rt.schema else {
        return Ok(vec![]);
    };
    let unknown = shared.schema().default_and_prune(obj, schema);
    if unknown.is_empty() || opts.field_validation == "Ignore" {
        return Ok(vec![]);
    }
    let msgs: Vec<String> = unknown
        .iter()
        .map(|p| format!("unknown field {p:?}"))
        .collect();
    if opts.field_validation == "Strict" {
        return Err(strict_error(rt, &msgs));
    }
    Ok(msgs)
}

fn validate_all(
    shared: &Shared,
    rt: &ResourceType,
    obj: &Value,
    old: Option<&Value>,
    sub: &str,
) -> ApiResult<()> {
    let mut causes = meta::validate_meta(rt, obj, old);
    causes.extend(builtin::validate(rt, obj, old));
    if causes.is_empty()
        && let Some(schema) = &rt.schema
    {
        let mut schema_causes = shared.schema().validate(obj, old, schema);
        if sub == "status" {
            // The status strategy validates the status against its own subschema: the
            // validator's messages name paths from there ("ready", not "status.ready").
            for c in &mut schema_causes {
                if let Some(rel) = c.field.strip_prefix("status.") {
                    c.message = c
                        .message
                        .replace(&format!("{} in body", c.field), &format!("{rel} in body"));
                }
            }
        }
        causes.extend(schema_causes);
    }
    if causes.is_empty() {
        return Ok(());
    }
    let name = obj["metadata"]["name"].as_str().unwrap_or("");
    // events.k8s.io Events are validated as the core group's internal Event.
    let group = if rt.builtin == Builtin::NewEvent {
        ""
    } else {
        &rt.group
    };
    Err(errors::invalid(&rt.kind, group, name, causes))
}

#[allow(clippy::too_many_arguments)]
pub fn admission_attrs(
    shared: &Shared,
    ctx: &Ctx,
    rt: &ResourceType,
    ns: &str,
    name: &str,
    op: &'static str,
    sub: &str,
    old: Option<Value>,
    opts: &WriteOpts,
) -> AdmissionAttrs {
    let st = shared.lock();
    let configs = |s: &str| st.store.list(s, None);
    let ns_labels = if ns.is_empty() {
        None
    } else {
        st.store
            .get(&("namespaces".into(), String::new(), ns.into()))
            .map(|n| n["metadata"]["labels"].clone())
    };
    let operation = match op {
        "CREATE" => super::admission::Operation::Create,
        "DELETE" => super::admission::Operation::Delete,
        _ => super::admission::Operation::Update,
    };
    let dry_run: Vec<String> = if opts.dry_run {
        vec!["All".into()]
    } else {
        vec![]
    };
    let delete_body: Option<Value> = (op == "DELETE")
        .then(|| serde_json::from_slice(&ctx.body).ok())
        .flatten();
    let options = super::admission::operation_options(
        operation,
        &dry_run,
        ctx.q("fieldManager"),
        ctx.q("fieldValidation"),
        delete_body.as_ref(),
    );
    AdmissionAttrs {
        operation: op,
        resource: rt.clone(),
        sub_resource: sub.into(),
        namespace: ns.into(),
        name: name.into(),
        old_object: old,
        dry_run: opts.dry_run,
        options,
        user: ctx.user.clone(),
        namespace_labels: ns_labels,
        mutating_configs: configs("mutatingwebhookconfigurations.admissionregistration.k8s.io"),
        validating_configs: configs("validatingwebhookconfigurations.admissionregistration.k8s.io"),
    }
}

/// Recomputes served resources after CRD changes.
pub fn refresh_resources(st: &mut super::State) {
    let mut resources = super::registry::builtins();
    for c in st
        .store
        .list("customresourcedefinitions.apiextensions.k8s.io", None)
    {
        resources.extend(super::registry::from_crd(&c));
    }
    for r in resources.iter().filter(|r| r.is_custom()) {
        st.store.start_cache(&r.storage);
    }
    st.resources = resources;
}

pub async fn update(
    shared: &Arc<Shared>,
    ctx: &Ctx,
    rt: &ResourceType,
    ns: &str,
    name: &str,
    sub: &str,
) -> ApiResult<Reply> {
    let opts = write_opts(ctx, "UpdateOptions")?;
    let d = decode_object(ctx, rt)?;
    let mut warnings = field_problems(&d, rt, &opts);
    if opts.field_validation == "Strict" && !warnings.is_empty() {
        return Err(strict_error(rt, &warnings));
    }
    let mut obj = d.value;
    if !rt.is_custom() {
        typeinfo::prune(&mut obj, &rt.ty);
    }
    let body_name = obj["metadata"]["name"].as_str().unwrap_or("").to_string();
    if body_name != name {
        return Err(errors::bad_request(&format!(
            "the name of the object ({body_name}) does not match the name on the URL ({name})"
        )));
    }
    if rt.namespaced {
        let body_ns = obj["metadata"]["namespace"].as_str().unwrap_or("");
        if !body_ns.is_empty() && body_ns != ns {
            return Err(errors::bad_request(
                "the namespace of the provided object does not match the namespace sent on the request",
            ));
        }
    }
    let old = shared.lock().store.get(&key(rt, ns, name)).cloned();
    let old = old.ok_or_else(|| errors::not_found(&rt.plural, &rt.group, name))?;
    let rv = obj["metadata"]["resourceVersion"].as_str().unwrap_or("");
    if !rv.is_empty() && rv != old["metadata"]["resourceVersion"].as_str().unwrap_or("") {
        return Err(errors::conflict_modified(&rt.plural, &rt.group, name));
    }
    let (stored, w, code) =
        finish_update(shared, ctx, rt, ns, name, sub, old, obj, &opts, None).await?;
    warnings.extend(w);
    let mut r = output::object_reply(ctx, rt, builtin::present(rt, stored), code)?;
    r.warnings = warnings;
    Ok(r)
}

/// The common tail of PUT/PATCH/apply: status-subresource rules, defaulting, admission, managed
/// fields, validation, generation, no-op detection, storage, finalization.
#[allow(clippy::too_many_arguments)]
pub async fn finish_update(
    shared: &Arc<Shared>,
    ctx: &Ctx,
    rt: &ResourceType,
    ns: &str,
    name: &str,
    sub: &str,
    old: Value,
    mut obj: Value,
    opts: &WriteOpts,
    managed: Option<Value>,
) -> ApiResult<(Value, Vec<String>, u16)> {
    let mut warnings = Vec::new();
    // Fields the apiserver owns are carried over from the stored object.
    for f in [
        "uid",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "generation",
        "namespace",
        "name",
    ] {
        match old["metadata"].get(f) {
            Some(v) => obj["metadata"][f] = v.clone(),
            None => {
                if let Some(m) = obj["metadata"].as_object_mut() {
                    m.remove(f);
                }
            }
        }
    }
    obj["metadata"]["resourceVersion"] = old["metadata"]["resourceVersion"].clone();
    if rt.has_status {
        if sub == "status" {
            let status = obj.get("status").cloned();
            let mut base = old.clone();
            match status {
                Some(s) => base["status"] = s,
                None => {
                    if let Some(m) = base.as_object_mut() {
                        m.remove("status");
                    }
                }
            }
            base["metadata"]["managedFields"] = obj["metadata"]["managedFields"].clone();
            obj = base;
        } else {
            match old.get("status") {
                Some(s) => obj["status"] = s.clone(),
                None => {
                    if let Some(m) = obj.as_object_mut() {
                        m.remove("status");
                    }
                }
            }
        }
    }
    warnings.extend(
        builtin::default_object(rt, &mut obj, Some(&old)).map_err(|e| errors::bad_request(&e))?,
    );
    if rt.is_custom() {
        warnings.extend(apply_schema_defaults(shared, rt, &mut obj, opts)?);
    }
    let attrs = admission_attrs(
        shared,
        ctx,
        rt,
        ns,
        name,
        "UPDATE",
        sub,
        Some(old.clone()),
        opts,
    );
    let now = now();
    // Mutating webhooks see the new managedFields but the old generation; their own changes
    // are not attributed to any manager.
    obj["metadata"]["managedFields"] = match managed {
        Some(m) => m,
        None => {
            // managedFields the client changed (e.g. kubectl's client-side-apply upgrade)
            // replace the stored ones; otherwise the stored ones are the base.
            let sent = &obj["metadata"]["managedFields"];
            let prev = if sent.as_array().is_some_and(|a| !a.is_empty())
                && *sent != old["metadata"]["managedFields"]
            {
                fields::entries_of(&obj)
            } else {
                fields::entries_of(&old)
            };
            fields::update_entries(rt, &prev, Some(&old), &obj, &opts.manager, sub, &now)
        }
    };
    if fields::is_empty_list(&obj["metadata"]["managedFields"])
        && let Some(m) = obj["metadata"].as_object_mut()
    {
        m.remove("managedFields");
    }
    let mut boxed = Some(obj);
    warnings.extend(shared.admission().mutate(&attrs, &mut boxed).await?);
    let mut obj = boxed.unwrap_or(Value::Null);
    builtin::prepare_update(rt, &mut obj, &old);
    if spec_changed(rt, &old, &obj)
        && let Some(g) = old["metadata"]["generation"].as_i64()
    {
        obj["metadata"]["generation"] = json!(g + 1);
    }
    validate_all(shared, rt, &obj, Some(&old), sub)?;
    let boxed = Some(obj);
    warnings.extend(shared.admission().validate(&attrs, &boxed).await?);
    let Some(obj) = boxed else {
        return Err(errors::not_found_generic());
    };
    if obj == old || only_field_times_differ(&obj, &old) {
        return Ok((old, warnings, 200));
    }
    if opts.dry_run {
        return Ok((obj, warnings, 200));
    }
    let k = key(rt, ns, name);
    let finalize = obj["metadata"]["deletionTimestamp"].is_string()
        && finalizers(&obj).is_empty()
        && rt.builtin != Builtin::Namespace;
    let stored = {
        let mut st = shared.lock();
        let cur = st.store.get(&k).cloned();
        if cur.as_ref().map(|c| &c["metadata"]["resourceVersion"])
            != Some(&old["metadata"]["resourceVersion"])
        {
            return Err(errors::conflict_modified(&rt.plural, &rt.group, name));
        }
        count_write(&mut st, &k);
        let stored = if finalize {
            // One etcd delete; the answer is the updated object at the last stored version.
            st.store.remove(&k);
            let mut obj = obj;
            obj["metadata"]["resourceVersion"] = old["metadata"]["resourceVersion"].clone();
            obj
        } else {
            st.store.put(k, obj)
        };
        if rt.builtin == Builtin::Crd {
            refresh_resources(&mut st);
        }
        stored
    };
    shared.wake.notify_one();
    Ok((stored, warnings, 200))
}

pub fn finalizers(obj: &Value) -> Vec<String> {
    obj["metadata"]["finalizers"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|f| f.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

/// Whether anything besides metadata and status changed (what bumps `generation`).
fn spec_changed(rt: &ResourceType, old: &Value, new: &Value) -> bool {
    let strip = |v: &Value| {
        let mut v = v.clone();
        if let Some(m) = v.as_object_mut() {
            m.remove("metadata");
            if rt.has_status {
                m.remove("status");
            }
        }
        v
    };
    strip(old) != strip(new)
}

pub async fn patch(
    shared: &Arc<Shared>,
    ctx: &Ctx,
    rt: &ResourceType,
    ns: &str,
    name: &str,
    sub: &str,
) -> ApiResult<Reply> {
    patch::serve(shared, ctx, rt, ns, name, sub).await
}

pub async fn subresource_create(
    shared: &Arc<Shared>,
    ctx: &Ctx,
    rt: &ResourceType,
    ns: &str,
    name: &str,
    sub: &str,
) -> ApiResult<Reply> {
    super::nonresource::token_request(shared, ctx, rt, ns, name, sub).await
}

pub async fn delete(
    shared: &Arc<Shared>,
    ctx: &Ctx,
    rt: &ResourceType,
    ns: &str,
    name: &str,
) -> ApiResult<Reply> {
    super::controllers::delete(shared, ctx, rt, ns, name).await
}

pub async fn delete_collection(
    shared: &Arc<Shared>,
    ctx: &Ctx,
    rt: &ResourceType,
    ns: &str,
) -> ApiResult<Reply> {
    super::controllers::delete_collection(shared, ctx, rt, ns).await
}

/// The apiserver's IgnoreManagedFieldsTimestampsTransformer: an update whose only change is the
/// `time` of managedFields entries (e.g. a re-apply of an unchanged object a second later) is a
/// no-op and keeps the stored object.
fn only_field_times_differ(new: &Value, old: &Value) -> bool {
    let without_times = |v: &Value| {
        let mut v = v.clone();
        for e in v["metadata"]["managedFields"]
            .as_array_mut()
            .into_iter()
            .flatten()
        {
            if let Some(m) = e.as_object_mut() {
                m.remove("time");
            }
        }
        v
    };
    without_times(new) == without_times(old)
}
