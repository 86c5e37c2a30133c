//! The apiextensions status controllers: the naming controller accepts a new CRD's names and
//! marks it Established=False "Installing"; the establishing controller then marks it
//! Established. In a real apiserver the second step trails the first by an informer round
//! trip, so a client reading the CRD right after creating it sees "Installing". kubesim models
//! that lag deterministically: the establishing write is queued and runs once the next request
//! has been answered (before it, when that request needs the CRD served: anything but a plain
//! read of CRDs), or after [`ESTABLISH_AFTER`] when no request comes.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::api::Ctx;
use super::errors::{self, ApiResult};
use super::registry::Builtin;
use super::write::{key, now, refresh_resources};
use super::{Shared, builtin, fields};

/// How long a queued establishing write waits when no request comes along to trigger it.
pub const ESTABLISH_AFTER: Duration = Duration::from_millis(500);

const CRDS: &str = "customresourcedefinitions.apiextensions.k8s.io";

/// Stores a CRD and establishes it at once (for `Sim::install_crds`, which must return with the
/// CRD served).
pub fn store_crd(shared: &Shared, mut body: Value, manager: &str) -> ApiResult<()> {
    let rt = shared
        .lock()
        .resources
        .iter()
        .find(|r| r.builtin == Builtin::Crd)
        .cloned();
    let Some(rt) = rt else {
        return Err(errors::not_found_generic());
    };
    let now = now();
    builtin::default_object(&rt, &mut body, None).map_err(|e| errors::bad_request(&e))?;
    body["metadata"]["managedFields"] =
        fields::update_entries(&rt, &[], None, &body, manager, "", &now);
    builtin::prepare_create(&rt, &mut body, &now);
    body["metadata"]["uid"] = json!(uuid::Uuid::new_v4().to_string());
    let name = body["metadata"]["name"].as_str().unwrap_or("").to_string();
    let stored = {
        let mut st = shared.lock();
        let k = key(&rt, "", &name);
        if st.store.get(&k).is_some() {
            return Err(errors::already_exists(&rt.plural, &rt.group, &name));
        }
        st.store.put(k, body)
    };
    let named = naming_write(shared, &stored);
    establishing_write(shared, &named);
    Ok(())
}

/// The naming controller's write for a just-created CRD; queues the establishing write.
pub fn name_crd(shared: &Shared, crd: &Value) {
    naming_write(shared, crd);
    let name = crd["metadata"]["name"].as_str().unwrap_or("").to_string();
    shared.lock().establishing.push((name, Instant::now()));
}

/// Whether a request must find queued CRDs established before it is served: everything but a
/// plain (non-watch) read of CRDs, which may observe the "Installing" state.
pub fn needs_established(ctx: &Ctx) -> bool {
    let watch = matches!(ctx.q("watch"), Some("true" | "1"));
    !(ctx.method == axum::http::Method::GET
        && !watch
        && ctx
            .path
            .starts_with("/apis/apiextensions.k8s.io/v1/customresourcedefinitions"))
}

/// Takes the queued establishing writes (those queued before this call).
pub fn take_queued(shared: &Shared) -> Vec<String> {
    std::mem::take(&mut shared.lock().establishing)
        .into_iter()
        .map(|(n, _)| n)
        .collect()
}

/// Runs the establishing writes queued longer than [`ESTABLISH_AFTER`].
pub fn establish_overdue(shared: &Shared) {
    let due: Vec<String> = {
        let mut st = shared.lock();
        let (due, keep) = std::mem::take(&mut st.establishing)
            .into_iter()
            .partition(|(_, at)| at.elapsed() >= ESTABLISH_AFTER);
        st.establishing = keep;
        due.into_iter().map(|(n, _)| n).collect()
    };
    establish(shared, &due);
}

/// The establishing controller's write for each named CRD that is still installing.
pub fn establish(shared: &Shared, names: &[String]) {
    for name in names {
        let crd = shared
            .lock()
            .store
            .get(&(CRDS.into(), String::new(), name.clone()))
            .cloned();
        let Some(crd) = crd else { continue };
        let installing = crd["status"]["conditions"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|c| c["type"] == "Established" && c["status"] == "False");
        if installing {
            establishing_write(shared, &crd);
        }
    }
}

fn naming_write(shared: &Shared, crd: &Value) -> Value {
    crd_status_write(shared, crd, |now| {
        json!([
            {"type": "NamesAccepted", "status": "True", "lastTransitionTime": now, "reason": "NoConflicts", "message": "no conflicts found"},
            {"type": "Established", "status": "False", "lastTransitionTime": now, "reason": "Installing", "message": "the initial names have been accepted"}
        ])
    })
}

fn establishing_write(shared: &Shared, crd: &Value) -> Value {
    crd_status_write(shared, crd, |now| {
        json!([
            {"type": "NamesAccepted", "status": "True", "lastTransitionTime": now, "reason": "NoConflicts", "message": "no conflicts found"},
            {"type": "Established", "status": "True", "lastTransitionTime": now, "reason": "InitialNamesAccepted", "message": "the initial names have been accepted"}
        ])
    })
}

/// A status write of the `kube-apiserver` manager setting the conditions and accepted names.
fn crd_status_write(shared: &Shared, crd: &Value, conditions: impl Fn(&str) -> Value) -> Value {
    let now = now();
    let mut obj = crd.clone();
    obj["status"]["conditions"] = conditions(&now);
    obj["status"]["acceptedNames"] = crd["spec"]["names"].clone();
    let mut st = shared.lock();
    let rt = st
        .resources
        .iter()
        .find(|r| r.builtin == Builtin::Crd)
        .cloned();
    if let Some(rt) = rt {
        let prev = fields::entries_of(crd);
        obj["metadata"]["managedFields"] = fields::update_entries(
            &rt,
            &prev,
            Some(crd),
            &obj,
            "kube-apiserver",
            "status",
            &now,
        );
    }
    let name = obj["metadata"]["name"].as_str().unwrap_or("").to_string();
    let stored = st.store.put((CRDS.into(), String::new(), name), obj);
    refresh_resources(&mut st);
    stored
}
