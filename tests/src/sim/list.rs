//! Lists: label and field selectors, resourceVersion semantics, limit/continue.

use std::sync::Arc;

use base64::Engine;
use serde_json::{Value, json};

use super::api::{Ctx, Reply};
use super::errors::{self, ApiResult, Cause};
use super::registry::{Builtin, ResourceType};
use super::{Shared, builtin, output};

#[derive(Clone, Debug)]
pub enum Req {
    Eq(String, String),
    Ne(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    NotExists(String),
}

/// Parses a label selector with the apimachinery parser's error texts.
pub fn parse_labels(s: &str) -> Result<Vec<Req>, String> {
    let mut out = Vec::new();
    let mut rest = s.trim();
    while !rest.is_empty() {
        let (term, tail) = split_term(rest);
        out.push(parse_term(term.trim())?);
        rest = tail;
    }
    Ok(out)
}

fn split_term(s: &str) -> (&str, &str) {
    let mut depth = 0;
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => return (&s[..i], &s[i + 1..]),
            _ => {}
        }
    }
    (s, "")
}

fn values(s: &str) -> Result<Vec<String>, String> {
    let s = s.trim();
    let inner = s.strip_prefix('(').and_then(|x| x.strip_suffix(')'));
    match inner {
        Some(i) => Ok(i.split(',').map(|v| v.trim().to_string()).collect()),
        None => Err(format!(
            "unable to parse requirement: found '{}' expected: '('",
            s.split_whitespace().next().unwrap_or("")
        )),
    }
}

fn check_value(v: &str) -> Result<String, String> {
    let v = v.trim();
    if let Some((first, rest)) = v.split_once(char::is_whitespace) {
        let _ = first;
        return Err(format!(
            "found '{}', expected: ',' or 'end of string'",
            rest.trim()
        ));
    }
    Ok(v.to_string())
}

fn parse_term(t: &str) -> Result<Req, String> {
    if let Some(k) = t.strip_prefix('!') {
        return Ok(Req::NotExists(k.trim().into()));
    }
    if let Some((k, v)) = t.split_once("!=") {
        return Ok(Req::Ne(k.trim().into(), check_value(v)?));
    }
    if let Some((k, v)) = t.split_once("==") {
        return Ok(Req::Eq(k.trim().into(), check_value(v)?));
    }
    if let Some((k, v)) = t.split_once('=') {
        return Ok(Req::Eq(k.trim().into(), check_value(v)?));
    }
    let words: Vec<&str> = t.splitn(3, char::is_whitespace).collect();
    match words.as_slice() {
        [k] => Ok(Req::Exists(k.to_string())),
        [k, "in", rest] => Ok(Req::In(k.to_string(), values(rest)?)),
        [k, "notin", rest] => Ok(Req::NotIn(k.to_string(), values(rest)?)),
        [_, op, ..] => Err(format!(
            "unable to parse requirement: found '{op}', expected: in, notin, =, ==, !=, gt, lt"
        )),
        _ => Err("unable to parse requirement".into()),
    }
}

pub fn matches(reqs: &[Req], labels: &Value) -> bool {
    let get = |k: &str| labels.get(k).and_then(Value::as_str);
    reqs.iter().all(|r| match r {
        Req::Eq(k, v) => get(k) == Some(v),
        Req::Ne(k, v) => get(k) != Some(v),
        Req::In(k, vs) => get(k).is_some_and(|x| vs.iter().any(|v| v == x)),
        Req::NotIn(k, vs) => get(k).is_none_or(|x| !vs.iter().any(|v| v == x)),
        Req::Exists(k) => get(k).is_some(),
        Req::NotExists(k) => get(k).is_none(),
    })
}

/// Field selector terms as (path, value, negated).
pub fn parse_fields(rt: &ResourceType, s: &str) -> Result<Vec<(String, String, bool)>, String> {
    let mut out = Vec::new();
    for term in s.split(',').filter(|t| !t.trim().is_empty()) {
        let (k, v, neg) = if let Some((k, v)) = term.split_once("!=") {
            (k, v, true)
        } else if let Some((k, v)) = term.split_once("==") {
            (k, v, false)
        } else if let Some((k, v)) = term.split_once('=') {
            (k, v, false)
        } else {
            return Err(format!(
                "invalid selector: '{s}'; can't understand '{term}'"
            ));
        };
        let k = k.trim();
        if !field_supported(rt, k) {
            return Err(format!("field label not supported: {k}"));
        }
        out.push((k.to_string(), v.trim().to_string(), neg));
    }
    Ok(out)
}

fn field_supported(rt: &ResourceType, k: &str) -> bool {
    if matches!(k, "metadata.name" | "metadata.namespace") {
        return true;
    }
    match rt.builtin {
        Builtin::Secret => k == "type",
        Builtin::Namespace => k == "status.phase",
        Builtin::CoreEvent => matches!(
            k,
            "involvedObject.kind"
                | "involvedObject.namespace"
                | "involvedObject.name"
                | "involvedObject.uid"
                | "involvedObject.apiVersion"
                | "involvedObject.resourceVersion"
                | "involvedObject.fieldPath"
                | "reason"
                | "reportingComponent"
                | "source"
                | "type"
        ),
        Builtin::NewEvent => matches!(
            k,
            "regarding.kind"
                | "regarding.namespace"
                | "regarding.name"
                | "regarding.uid"
                | "regarding.apiVersion"
                | "regarding.resourceVersion"
                | "regarding.fieldPath"
                | "reason"
                | "reportingController"
                | "type"
        ),
        _ => false,
    }
}

pub fn field_matches(obj: &Value, sel: &[(String, String, bool)]) -> bool {
    sel.iter().all(|(k, v, neg)| {
        let mut cur = obj;
        for part in k.split('.') {
            cur = &cur[part];
        }
        let actual = cur.as_str().unwrap_or("");
        (actual == v) != *neg
    })
}

/// A compiled selector pair.
pub struct Selector {
    pub labels: Vec<Req>,
    pub fields: Vec<(String, String, bool)>,
}

impl Selector {
    pub fn from_ctx(ctx: &Ctx, rt: &ResourceType) -> ApiResult<Self> {
        let labels = parse_labels(ctx.q("labelSelector").unwrap_or(""))
            .map_err(|e| errors::bad_request(&e))?;
        let fields = parse_fields(rt, ctx.q("fieldSelector").unwrap_or(""))
            .map_err(|e| errors::bad_request(&e))?;
        Ok(Selector { labels, fields })
    }
    /// Matches a presented object (`rt`'s version).
    pub fn matches(&self, obj: &Value) -> bool {
        matches(&self.labels, &obj["metadata"]["labels"]) && field_matches(obj, &self.fields)
    }
    /// Whether a stored object can match: presenting it never changes its metadata, so the
    /// label selector can be checked before the object is copied and presented.
    pub fn may_match(&self, stored: &Value) -> bool {
        matches(&self.labels, &stored["metadata"]["labels"])
    }
}

pub fn parse_rv(s: &str) -> ApiResult<u64> {
    s.parse::<u64>().map_err(|_| {
        errors::bad_request(&format!(
            "invalid resource version: resourceVersion: Invalid value: {s:?}: strconv.ParseUint: parsing {s:?}: invalid syntax"
        ))
    })
}

fn parse_int(ctx: &Ctx, k: &str) -> ApiResult<Option<i64>> {
    match ctx.q(k) {
        None | Some("") => Ok(None),
        Some(v) => v.parse::<i64>().map(Some).map_err(|_| {
            errors::bad_request(&format!("strconv.ParseInt: parsing {v:?}: invalid syntax"))
        }),
    }
}

fn encode_continue(rv: u64, after: &str) -> String {
    base64::engine::general_purpose::URL_SAFE.encode(
        json!({"v": "meta.k8s.io/v1", "rv": rv, "start": format!("{after}\u{0}")}).to_string(),
    )
}

fn decode_continue(tok: &str) -> ApiResult<(u64, String)> {
    let bad = |m: &str| errors::bad_request(&format!("invalid continue token: {m}"));
    let raw = base64::engine::general_purpose::URL_SAFE
        .decode(tok)
        .map_err(|e| bad(&format!("continue key is not valid: {e}")))?;
    let v: Value = serde_json::from_slice(&raw)
        .map_err(|e| bad(&format!("continue key is not valid: {e}")))?;
    let rv = v["rv"]
        .as_u64()
        .ok_or_else(|| bad("continue key is not valid"))?;
    let start = v["start"]
        .as_str()
        .unwrap_or("")
        .trim_end_matches('\u{0}')
        .to_string();
    Ok((rv, start))
}

pub fn validate_list_options(ctx: &Ctx, watch: bool) -> ApiResult<()> {
    let rvm = ctx.q("resourceVersionMatch").unwrap_or("");
    let rv = ctx.q("resourceVersion").unwrap_or("");
    let sie = ctx.q("sendInitialEvents");
    let opts = |c: Cause| Err(errors::invalid_options("ListOptions", vec![c]));
    if !matches!(rvm, "" | "Exact" | "NotOlderThan") {
        return opts(Cause::not_supported(
            "resourceVersionMatch",
            &format!("{rvm:?}"),
            &["Exact", "NotOlderThan", ""],
        ));
    }
    if watch {
        if sie == Some("true") && rvm != "NotOlderThan" {
            return opts(Cause::forbidden(
                "resourceVersionMatch",
                "sendInitialEvents requires setting resourceVersionMatch to NotOlderThan",
            ));
        }
        if sie.is_none() && !rvm.is_empty() {
            return opts(Cause::forbidden(
                "resourceVersionMatch",
                "resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided",
            ));
        }
        return Ok(());
    }
    // Like the apiserver's ValidateListOptions, every violation is reported at once.
    let mut causes = Vec::new();
    if !rvm.is_empty() && rv.is_empty() {
        causes.push(Cause::forbidden(
            "resourceVersionMatch",
            "resourceVersionMatch is forbidden unless resourceVersion is provided",
        ));
    }
    if rvm == "Exact" && rv == "0" {
        causes.push(Cause::forbidden(
            "resourceVersionMatch",
            "resourceVersionMatch \"exact\" is forbidden for resourceVersion \"0\"",
        ));
    }
    if sie.is_some() {
        causes.push(Cause::forbidden(
            "sendInitialEvents",
            "sendInitialEvents is forbidden for list",
        ));
    }
    if causes.is_empty() {
        Ok(())
    } else {
        Err(errors::invalid_options("ListOptions", causes))
    }
}

pub fn serve(shared: &Arc<Shared>, ctx: &Ctx, rt: &ResourceType, ns: &str) -> ApiResult<Reply> {
    validate_list_options(ctx, false)?;
    let sel = Selector::from_ctx(ctx, rt)?;
    let limit = parse_int(ctx, "limit")?
        .filter(|l| *l > 0)
        .map(|l| l as usize);
    let rv_q = ctx.q("resourceVersion").unwrap_or("");
    let rvm = ctx.q("resourceVersionMatch").unwrap_or("");
    let cont = ctx.q("continue").filter(|c| !c.is_empty());
    if cont.is_some() && !rv_q.is_empty() && rv_q != "0" {
        return Err(errors::bad_request(
            "specifying resource version is not allowed when using continue",
        ));
    }
    let ns_opt = (!ns.is_empty()).then_some(ns);
    let st = shared.lock();
    let current = st.store.current_rv();
    let (items, list_rv, start) = if let Some(c) = cont {
        let (rv, start) = decode_continue(c)?;
        let items = st
            .store
            .list_at_where(&rt.storage, ns_opt, rv, |o| sel.may_match(o));
        (items, rv, start)
    } else if !rv_q.is_empty() {
        let rv = parse_rv(rv_q)?;
        if rv > current {
            drop(st);
            let mut e = errors::status(
                504,
                "Timeout",
                &format!("Timeout: Too large resource version: {rv}, current: {current}"),
                Some(
                    json!({"causes": [{"reason": "ResourceVersionTooLarge", "message": "Too large resource version"}], "retryAfterSeconds": 1}),
                ),
            );
            e.headers.push(("retry-after".into(), "1".into()));
            return Err(e);
        }
        if rvm == "Exact" {
            if rv < st.store.oldest_for(&rt.storage) {
                return Err(errors::status(
                    410,
                    "Expired",
                    "The resourceVersion for the provided list is too old.",
                    None,
                ));
            }
            let items = st
                .store
                .list_at_where(&rt.storage, ns_opt, rv, |o| sel.may_match(o));
            (items, rv, String::new())
        } else {
            let items = st
                .store
                .list_where(&rt.storage, ns_opt, |o| sel.may_match(o));
            (items, current, String::new())
        }
    } else {
        let items = st
            .store
            .list_where(&rt.storage, ns_opt, |o| sel.may_match(o));
        (items, current, String::new())
    };
    drop(st);
    // The watch cache (resourceVersion=0) ignores limit.
    let limit = if rv_q == "0" && cont.is_none() {
        None
    } else {
        limit
    };
    let all: Vec<Value> = items
        .into_iter()
        .filter(|o| keep_kind(rt, o))
        .map(|o| builtin::present(rt, o))
        .filter(|o| sel.matches(o))
        .filter(|o| start.is_empty() || sort_key(o) > start)
        .collect();
    let (page, rest) = match limit {
        Some(l) if all.len() > l => (all[..l].to_vec(), all.len() - l),
        _ => (all, 0),
    };
    let filtered = !sel.labels.is_empty() || !sel.fields.is_empty();
    let mut meta = json!({"resourceVersion": list_rv.to_string()});
    if rest > 0
        && let Some(last) = page.last()
    {
        meta["continue"] = json!(encode_continue(list_rv, &sort_key(last)));
        // With a selector the storage cannot know how many of the rest would match.
        if !filtered {
            meta["remainingItemCount"] = json!(rest);
        }
    } else if (filtered || (rt.namespaced && ns.is_empty())) && rt.is_custom() {
        // The filtered path (a selector, or every namespace's objects under the resource's
        // prefix) sets an empty continue, which an unstructured list keeps (its metadata map
        // is written in key order).
        meta = json!({"continue": "", "resourceVersion": list_rv.to_string()});
    }
    output::list_reply(ctx, rt, page, meta)
}

fn keep_kind(_rt: &ResourceType, _o: &Value) -> bool {
    true
}

pub fn sort_key(o: &Value) -> String {
    format!(
        "{}/{}",
        o["metadata"]["namespace"].as_str().unwrap_or(""),
        o["metadata"]["name"].as_str().unwrap_or("")
    )
}
