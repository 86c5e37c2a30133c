//! DELETE handling and the controllers a test cluster needs: namespace finalization, garbage
//! collection (background, foreground, orphan) and the `default` ServiceAccount.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use super::api::{Ctx, Reply};
use super::errors::{self, ApiResult, Cause};
use super::registry::{Builtin, ResourceType};
use super::write::{self, WriteOpts, key, now};
use super::{Shared, builtin, decode, list, output};

struct DeleteOpts {
    propagation: Option<String>,
    dry_run: bool,
    uid: Option<String>,
    rv: Option<String>,
}

fn delete_opts(ctx: &Ctx) -> ApiResult<DeleteOpts> {
    let body = if ctx.body.iter().all(u8::is_ascii_whitespace) {
        json!({})
    } else {
        decode::json(&ctx.body)
            .map_err(|e| {
                errors::bad_request(&format!("couldn't get version/kind; json parse error: {e}"))
            })?
            .value
    };
    let propagation = ctx
        .q("propagationPolicy")
        .map(String::from)
        .or_else(|| body["propagationPolicy"].as_str().map(String::from));
    if let Some(p) = &propagation
        && !matches!(p.as_str(), "Foreground" | "Background" | "Orphan")
    {
        return Err(errors::invalid_options(
            "DeleteOptions",
            vec![Cause::not_supported(
                "propagationPolicy",
                &format!("{p:?}"),
                &["Foreground", "Background", "Orphan", "nil"],
            )],
        ));
    }
    let dry_run =
        ctx.q("dryRun") == Some("All") || body["dryRun"].as_array().is_some_and(|a| !a.is_empty());
    Ok(DeleteOpts {
        propagation,
        dry_run,
        uid: body["preconditions"]["uid"].as_str().map(String::from),
        rv: body["preconditions"]["resourceVersion"]
            .as_str()
            .map(String::from),
    })
}

pub async fn delete(
    shared: &Arc<Shared>,
    ctx: &Ctx,
    rt: &ResourceType,
    ns: &str,
    name: &str,
) -> ApiResult<Reply> {
    let opts = delete_opts(ctx)?;
    let k = key(rt, ns, name);
    let obj = shared.lock().store.get(&k).cloned();
    let obj = obj.ok_or_else(|| errors::not_found(&rt.plural, &rt.group, name))?;
    let conflict = |what: &str, want: &str, have: &str, tail: &str| {
        errors::status(
            409,
            "Conflict",
            &format!(
                "Operation cannot be fulfilled on {} {name:?}: the {what} in the precondition ({want}) does not match the {what} in record ({have}). {tail}",
                rt.kind
            ),
            Some(errors::details(name, "", &rt.kind)),
        )
    };
    let uid = obj["metadata"]["uid"].as_str().unwrap_or("").to_string();
    if let Some(u) = &opts.uid
        && *u != uid
    {
        return Err(conflict(
            "UID",
            u,
            &uid,
            "The object might have been deleted and then recreated",
        ));
    }
    let cur_rv = obj["metadata"]["resourceVersion"]
        .as_str()
        .unwrap_or("")
        .to_string();
    if let Some(r) = &opts.rv
        && *r != cur_rv
    {
        return Err(conflict(
            "ResourceVersion",
            r,
            &cur_rv,
            "The object might have been modified",
        ));
    }
    let wopts = WriteOpts {
        dry_run: opts.dry_run,
        field_validation: "Warn".into(),
        manager: String::new(),
        force: false,
    };
    let attrs = write::admission_attrs(
        shared,
        ctx,
        rt,
        ns,
        name,
        "DELETE",
        "",
        Some(builtin::present(rt, obj.clone())),
        &wopts,
    );
    let mut none = None;
    let mut warnings = shared.admission().mutate(&attrs, &mut none).await?;
    warnings.extend(shared.admission().validate(&attrs, &None).await?);
    let reply_obj = |o: Value| -> ApiResult<Reply> {
        let mut r = output::object_reply(ctx, rt, builtin::present(rt, o), 200)?;
        r.warnings = warnings.clone();
        Ok(r)
    };
    if obj["metadata"]["deletionTimestamp"].is_string() {
        return reply_obj(obj);
    }
    let mut updated = obj.clone();
    if rt.builtin == Builtin::Namespace {
        updated["metadata"]["deletionTimestamp"] = json!(now());
        updated["status"]["phase"] = json!("Terminating");
    } else {
        let mut fins = write::finalizers(&obj);
        let extra = match opts.propagation.as_deref() {
            Some("Orphan") => Some("orphan"),
            Some("Foreground") => Some("foregroundDeletion"),
            _ => None,
        };
        if let Some(f) = extra
            && !fins.iter().any(|x| x == f)
        {
            fins.push(f.into());
        }
        if fins.is_empty() {
            if !opts.dry_run {
                let mut st = shared.lock();
                st.store.remove(&k);
                write::count_write(&mut st, &k);
                if rt.builtin == Builtin::Crd {
                    write::refresh_resources(&mut st);
                }
            }
            shared.wake.notify_one();
            let mut d = errors::details(name, &rt.group, &rt.plural);
            d["uid"] = json!(uid);
            let mut r = Reply::json(
                200,
                json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": d}),
            );
            r.warnings = warnings;
            return Ok(r);
        }
        updated["metadata"]["finalizers"] = json!(fins);
        mark_deleting(&mut updated);
    }
    if opts.dry_run {
        return reply_obj(updated);
    }
    let stored = {
        let mut st = shared.lock();
        write::count_write(&mut st, &k);
        st.store.put(k, updated)
    };
    shared.wake.notify_one();
    reply_obj(stored)
}

pub async fn delete_collection(
    shared: &Arc<Shared>,
    ctx: &Ctx,
    rt: &ResourceType,
    ns: &str,
) -> ApiResult<Reply> {
    let sel = list::Selector::from_ctx(ctx, rt)?;
    let dry = delete_opts(ctx)?.dry_run;
    let (victims, rv) = {
        let st = shared.lock();
        let items: Vec<Value> = st
            .store
            .list(&rt.storage, (!ns.is_empty()).then_some(ns))
            .into_iter()
            .map(|o| builtin::present(rt, o))
            .filter(|o| sel.matches(o))
            .collect();
        (items, st.store.current_rv())
    };
    let mut out = Vec::new();
    for v in victims {
        let name = v["metadata"]["name"].as_str().unwrap_or("").to_string();
        let k = key(rt, ns, &name);
        if dry {
            out.push(v);
            continue;
        }
        let mut st = shared.lock();
        if write::finalizers(&v).is_empty() {
            if let Some(o) = st.store.remove(&k) {
                out.push(builtin::present(rt, o));
            }
        } else {
            let mut u = v.clone();
            mark_deleting(&mut u);
            out.push(builtin::present(rt, st.store.put(k, u)));
        }
    }
    shared.wake.notify_one();
    output::list_reply(ctx, rt, out, json!({"resourceVersion": rv.to_string()}))
}

/// Sets `deletionTimestamp` (grace period 0) on an object that stays around for its finalizers.
/// Like the apiserver's BeforeDelete, objects that track `generation` get it bumped: controllers
/// must notice that the object is going away.
pub fn mark_deleting(obj: &mut Value) {
    obj["metadata"]["deletionTimestamp"] = json!(now());
    obj["metadata"]["deletionGracePeriodSeconds"] = json!(0);
    if let Some(g) = obj["metadata"]["generation"].as_i64().filter(|g| *g > 0) {
        obj["metadata"]["generation"] = json!(g + 1);
    }
}

/// Background loop: runs the controllers whenever something changed.
pub async fn run(shared: Arc<Shared>) {
    loop {
        tokio::select! {
            _ = shared.wake.notified() => {}
            _ = tokio::time::sleep(Duration::from_millis(200)) => {}
        }
        super::crds::establish_overdue(&shared);
        if shared.controllers.load(std::sync::atomic::Ordering::SeqCst) {
            while reconcile(&shared) {}
        }
        shared.idle.send_modify(|n| *n += 1);
    }
}

/// Runs the controllers until nothing is left to do.
pub async fn settle(shared: &Arc<Shared>) {
    if shared.controllers.load(std::sync::atomic::Ordering::SeqCst) {
        while reconcile(shared) {}
    }
}

/// The garbage collector's orphaning patch removes the reference, and with it the reference's
/// entry from every manager's managedFields (managers left without fields are dropped).
fn forget_owner_reference(obj: &mut Value, uid: &str, none_left: bool) {
    let Some(entries) = obj["metadata"]["managedFields"].as_array_mut() else {
        return;
    };
    let key = format!("k:{}", json!({ "uid": uid }));
    for e in entries.iter_mut() {
        let Some(meta) = e["fieldsV1"]["f:metadata"].as_object_mut() else {
            continue;
        };
        if let Some(refs) = meta
            .get_mut("f:ownerReferences")
            .and_then(Value::as_object_mut)
        {
            refs.remove(&key);
            if none_left || refs.keys().all(|k| k == ".") {
                meta.remove("f:ownerReferences");
            }
        }
        if meta.is_empty()
            && let Some(f) = e["fieldsV1"].as_object_mut()
        {
            f.remove("f:metadata");
        }
    }
    entries.retain(|e| e["fieldsV1"].as_object().is_none_or(|f| !f.is_empty()));
}

fn remove_finalizer(st: &mut super::State, k: &super::store::Key, obj: &Value, f: &str) {
    let mut u = obj.clone();
    let rest: Vec<String> = write::finalizers(obj)
        .into_iter()
        .filter(|x| x != f)
        .collect();
    if rest.is_empty() {
        // Removing the last finalizer of a deleting object is one etcd delete.
        st.store.remove(k);
    } else {
        u["metadata"]["finalizers"] = json!(rest);
        st.store.put(k.clone(), u);
    }
}

/// One pass over all controllers; returns whether anything changed. Only objects the store
/// marked as pending are looked at (in key order, so the first action is the one a scan of every
/// object would find): an object's verdict depends only on itself, the existence of its owners
/// and, for a namespace, its content, and every change to those marks it pending again.
fn reconcile(shared: &Shared) -> bool {
    let mut st = shared.lock();
    for k in st.store.pending() {
        let Some(o) = st.store.get(&k).cloned() else {
            st.store.settled(&k);
            continue;
        };
        if act(&mut st, &k, &o) {
            return true;
        }
        st.store.settled(&k);
    }
    false
}

/// Does the first thing the controllers must do about object `k` (state `o`), if any.
fn act(st: &mut super::State, k: &super::store::Key, o: &Value) -> bool {
    let deleting = o["metadata"]["deletionTimestamp"].is_string();
    let uid = o["metadata"]["uid"].as_str().unwrap_or("");
    let fins = write::finalizers(o);
    // Orphan: strip owner references to us, then drop the finalizer.
    if deleting && fins.iter().any(|f| f == "orphan") {
        for dk in st.store.dependents_of(uid) {
            let Some(d) = st.store.get(&dk).cloned() else {
                continue;
            };
            let mut u = d.clone();
            let refs: Vec<Value> = d["metadata"]["ownerReferences"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .filter(|r| r["uid"].as_str() != Some(uid))
                .collect();
            if refs.is_empty() {
                if let Some(m) = u["metadata"].as_object_mut() {
                    m.remove("ownerReferences");
                }
            } else {
                u["metadata"]["ownerReferences"] = json!(refs);
            }
            forget_owner_reference(&mut u, uid, refs.is_empty());
            st.store.put(dk, u);
        }
        remove_finalizer(st, k, o, "orphan");
        return true;
    }
    // Foreground: delete dependents first.
    if deleting && fins.iter().any(|f| f == "foregroundDeletion") {
        let deps = st.store.dependents_of(uid);
        if deps.is_empty() {
            remove_finalizer(st, k, o, "foregroundDeletion");
        } else {
            for dk in deps {
                st.store.remove(&dk);
            }
        }
        return true;
    }
    // Background GC: every owner is gone.
    let owners = super::store::owner_uids(o);
    if !owners.is_empty() && owners.iter().all(|u| !st.store.has_uid(u)) && !deleting {
        if fins.is_empty() {
            st.store.remove(k);
        } else {
            let mut u = o.clone();
            mark_deleting(&mut u);
            st.store.put(k.clone(), u);
        }
        return true;
    }
    // Namespace controller.
    if k.0 == "namespaces" && deleting {
        let content = st.store.keys_in_namespace(&k.2);
        if content.is_empty() {
            st.store.remove(k);
            return true;
        }
        let mut changed = false;
        for ck in content {
            if let Some(c) = st.store.get(&ck).cloned() {
                if write::finalizers(&c).is_empty() {
                    st.store.remove(&ck);
                    changed = true;
                } else if !c["metadata"]["deletionTimestamp"].is_string() {
                    let mut u = c.clone();
                    mark_deleting(&mut u);
                    st.store.put(ck, u);
                    changed = true;
                }
            }
        }
        if changed {
            return true;
        }
    }
    // ServiceAccount controller.
    if k.0 == "namespaces" && !deleting {
        let sa = (
            "serviceaccounts".to_string(),
            k.2.clone(),
            "default".to_string(),
        );
        if st.store.get(&sa).is_none() {
            let t = now();
            st.store.put(
                sa,
                json!({"kind": "ServiceAccount", "apiVersion": "v1", "metadata": {"name": "default", "namespace": k.2,
                    "uid": uuid::Uuid::new_v4().to_string(), "creationTimestamp": t}}),
            );
            return true;
        }
    }
    false
}
