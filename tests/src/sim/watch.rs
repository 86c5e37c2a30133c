//! Watches: initial state (legacy and watch-list), change streaming with selector transitions,
//! bookmarks, timeouts and 410 Expired for resourceVersions before the history window.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use serde_json::{Value, json};
use tokio::sync::mpsc;

use super::api::{Ctx, Reply, ReplyBody};
use super::errors::{self, ApiResult};
use super::list::{self, Selector};
use super::registry::ResourceType;
use super::store::EventType;
use super::{Shared, builtin};

fn event(t: &str, obj: Value) -> String {
    format!("{}\n", json!({"type": t, "object": obj}))
}

pub async fn serve(
    shared: &Arc<Shared>,
    ctx: &Ctx,
    rt: &ResourceType,
    ns: &str,
    name: Option<&str>,
) -> ApiResult<Reply> {
    list::validate_list_options(ctx, true)?;
    let timeout = match ctx.q("timeoutSeconds") {
        None | Some("") => None,
        Some(v) => Some(v.parse::<u64>().map_err(|_| {
            errors::bad_request(&format!("strconv.ParseInt: parsing {v:?}: invalid syntax"))
        })?),
    };
    let mut sel = Selector::from_ctx(ctx, rt)?;
    if let Some(n) = name {
        sel.fields.push(("metadata.name".into(), n.into(), false));
    }
    let bookmarks = ctx.q("allowWatchBookmarks") == Some("true");
    let initial_events = ctx.q("sendInitialEvents") == Some("true");
    let rv_q = ctx.q("resourceVersion").unwrap_or("").to_string();
    let rt = rt.clone();
    let ns = ns.to_string();
    let (tx, rx) = mpsc::unbounded_channel::<String>();
    let (mut sub, initial, start_rv, expired) = {
        let st = shared.lock();
        let sub = st.store.subscribe();
        let current = st.store.current_rv();
        let ns_opt = (!ns.is_empty()).then_some(ns.as_str());
        if rv_q.is_empty() || rv_q == "0" || initial_events {
            let objs = st
                .store
                .list_where(&rt.storage, ns_opt, |o| sel.may_match(o));
            (sub, Some(objs), current, None)
        } else {
            let rv = list::parse_rv(&rv_q)?;
            let oldest = st.store.oldest_for(&rt.storage);
            if rv < oldest {
                (sub, None, current, Some((rv, oldest - 1)))
            } else {
                let backlog = st.store.changes_since(rv);
                let _ = backlog.iter().map(|c| c.rv).max();
                // Replay the backlog through the same path as live changes.
                let mut s = sub;
                let pending: Vec<_> = backlog;
                for c in &pending {
                    if let Some(line) = change_line(&rt, &ns, &sel, c) {
                        let _ = tx.send(line);
                    }
                }
                s = s.resubscribe_after(pending.last().map(|c| c.rv).unwrap_or(rv));
                (s, None, current, None)
            }
        }
    };
    {
        let mut st = shared.lock();
        let key = (
            "watch".to_string(),
            errors::qualified(&rt.plural, &rt.group),
        );
        let _ = st.counters.requests.get(&key);
        let _ = &mut st;
    }
    if let Some((rv, oldest)) = expired {
        let status = json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": format!("too old resource version: {rv} ({oldest})"), "reason": "Expired", "code": 410});
        let _ = tx.send(event("ERROR", status));
        drop(tx);
    } else {
        if let Some(objs) = initial {
            for o in objs {
                let o = builtin::present(&rt, o);
                if sel.matches(&o) {
                    let _ = tx.send(event("ADDED", o));
                }
            }
            if initial_events && bookmarks {
                let bm = json!({"kind": rt.kind, "apiVersion": rt.api_version(),
                    "metadata": {"resourceVersion": start_rv.to_string(), "annotations": {"k8s.io/initial-events-end": "true"}}});
                let _ = tx.send(event("BOOKMARK", bm));
            }
        }
        let shared2 = shared.clone();
        let mut compacted = shared.compactions.subscribe();
        tokio::spawn(async move {
            let deadline = timeout.map(|t| tokio::time::Instant::now() + Duration::from_secs(t));
            // The watch cache sends a bookmark shortly before the deadline on long enough watches.
            let mut bookmark_at = match (bookmarks, timeout) {
                (true, Some(t)) if t >= 5 => deadline.map(|d| d - Duration::from_secs(2)),
                _ => None,
            };
            let mut last_rv = start_rv;
            loop {
                let sleep_until = match (bookmark_at, deadline) {
                    (Some(b), _) => Some(b),
                    (None, d) => d,
                };
                let next = async {
                    match sleep_until {
                        Some(t) => tokio::time::sleep_until(t).await,
                        None => std::future::pending().await,
                    }
                };
                tokio::select! {
                    c = sub.recv() => match c {
                        Ok(c) => {
                            if c.rv <= last_rv && c.rv <= start_rv { continue; }
                            last_rv = last_rv.max(c.rv);
                            if let Some(line) = change_line(&rt, &ns, &sel, &c) && tx.send(line).is_err() { break; }
                        }
                        Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                        Err(_) => break,
                    },
                    _ = next => {
                        if bookmark_at.take().is_some() {
                            let rv = shared2.lock().store.current_rv();
                            let bm = json!({"kind": rt.kind, "apiVersion": rt.api_version(), "metadata": {"resourceVersion": rv.to_string()}});
                            let _ = tx.send(event("BOOKMARK", bm));
                        } else {
                            break;
                        }
                    }
                    _ = tx.closed() => break,
                    // Like an apiserver restart after compaction: the client must come back.
                    _ = compacted.changed() => break,
                }
            }
        });
    }
    let stream = futures::stream::unfold(rx, |mut rx| async move {
        rx.recv()
            .await
            .map(|line| (Ok::<_, std::io::Error>(bytes::Bytes::from(line)), rx))
    });
    Ok(Reply {
        code: 200,
        body: ReplyBody::Stream(Body::from_stream(stream)),
        warnings: vec![],
        headers: vec![],
    })
}

/// Turns one stored change into a watch event line for this watcher, if it concerns it.
fn change_line(
    rt: &ResourceType,
    ns: &str,
    sel: &Selector,
    c: &super::store::Change,
) -> Option<String> {
    if c.key.0 != rt.storage || (!ns.is_empty() && c.key.1 != ns) {
        return None;
    }
    let new = builtin::present(rt, c.obj.clone());
    let now_match = sel.matches(&new);
    let old_match = c
        .old
        .as_ref()
        .map(|o| sel.matches(&builtin::present(rt, o.clone())))
        .unwrap_or(false);
    let t = match (c.etype, old_match, now_match) {
        (EventType::Deleted, _, true) => "DELETED",
        (EventType::Added, _, true) => "ADDED",
        (EventType::Modified, true, true) => "MODIFIED",
        (EventType::Modified, false, true) => "ADDED",
        (EventType::Modified, true, false) => {
            // The watch cache sends the object's previous state (the one the watcher last saw
            // matching), stamped with the resourceVersion of the change that made it leave.
            let mut old = builtin::present(rt, c.old.clone()?);
            old["metadata"]["resourceVersion"] = json!(c.rv.to_string());
            return Some(event("DELETED", old));
        }
        _ => return None,
    };
    Some(event(t, new))
}

trait Resubscribe {
    fn resubscribe_after(self, rv: u64) -> Self;
}

impl Resubscribe for tokio::sync::broadcast::Receiver<Arc<super::store::Change>> {
    /// The receiver was created under the store lock, so it already starts right after `rv`.
    fn resubscribe_after(self, _rv: u64) -> Self {
        self
    }
}
