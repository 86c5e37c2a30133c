//! List `filter` expressions (the subset Secret Manager documents for secrets and versions:
//! `field=value`, `field:value` (contains), `field:*` (has), `labels.KEY…`, `annotations.KEY…`,
//! implicit or explicit AND, `NOT`/`-` negation) and `pageSize`/`pageToken` paging.

use std::collections::BTreeMap;

use axum::http::StatusCode;
use axum::response::Response;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value, json};

use super::{google_error, json_response};

const MAX_PAGE_SIZE: usize = 25000;

/// One filter term: `field[.key]` `=`|`:` value, possibly negated.
pub(super) struct Term {
    negate: bool,
    field: String,
    op: char,
    value: String,
}

pub(super) fn parse_filter(filter: &str) -> Result<Vec<Term>, String> {
    let mut terms = Vec::new();
    let mut negate_next = false;
    for raw in filter.split_whitespace() {
        if raw == "AND" {
            continue;
        }
        if raw == "OR" {
            return Err("OR is not supported by this fake".into());
        }
        if raw == "NOT" {
            negate_next = true;
            continue;
        }
        let (negate, body) = match raw.strip_prefix('-') {
            Some(b) => (true, b),
            None => (negate_next, raw),
        };
        negate_next = false;
        let pos = body
            .find(['=', ':'])
            .ok_or_else(|| format!("Invalid filter: {filter}"))?;
        let field = body[..pos].to_string();
        let op = body[pos..].chars().next().unwrap_or('=');
        let value = body[pos + 1..].trim_matches('"').to_string();
        if field.is_empty() {
            return Err(format!("Invalid filter: {filter}"));
        }
        terms.push(Term {
            negate,
            field,
            op,
            value,
        });
    }
    Ok(terms)
}

pub(super) fn matches_term(
    t: &Term,
    scalar: impl Fn(&str) -> Option<String>,
    maps: impl Fn(&str) -> Option<BTreeMap<String, String>>,
) -> Result<bool, String> {
    let actual = if let Some((map, key)) = t.field.split_once('.') {
        let Some(m) = maps(map) else {
            return Err(format!("Invalid filter field: {}", t.field));
        };
        m.get(key).cloned()
    } else {
        match scalar(&t.field) {
            Some(v) => Some(v),
            None => return Err(format!("Invalid filter field: {}", t.field)),
        }
    };
    let hit = match (t.op, actual) {
        (_, None) => false,
        (':', Some(_)) if t.value == "*" => true,
        (':', Some(a)) => a.contains(&t.value),
        (_, Some(a)) => a == t.value,
    };
    Ok(hit != t.negate)
}

fn page(
    query: &BTreeMap<String, String>,
    default: usize,
    total: usize,
) -> Result<(usize, usize), Response> {
    let size = match query.get("pageSize").map(|s| s.parse::<i64>()) {
        None => default,
        Some(Ok(0)) => default,
        Some(Ok(n)) if n > 0 => (n as usize).min(MAX_PAGE_SIZE),
        _ => {
            return Err(google_error(
                StatusCode::BAD_REQUEST,
                "Invalid value for pageSize",
            ));
        }
    };
    let start = match query.get("pageToken").filter(|t| !t.is_empty()) {
        None => 0,
        Some(t) => match URL_SAFE_NO_PAD
            .decode(t)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .and_then(|s| s.strip_prefix("offset:")?.parse::<usize>().ok())
        {
            Some(n) if n <= total => n,
            _ => {
                return Err(google_error(
                    StatusCode::BAD_REQUEST,
                    "The provided page token is invalid.",
                ));
            }
        },
    };
    Ok((start, size))
}

fn page_token(next: usize) -> String {
    URL_SAFE_NO_PAD.encode(format!("offset:{next}"))
}

pub(super) fn paged(
    all: Vec<Value>,
    field: &str,
    query: &BTreeMap<String, String>,
    default: usize,
) -> Response {
    let total = all.len();
    let (start, size) = match page(query, default, total) {
        Ok(x) => x,
        Err(r) => return r,
    };
    let end = (start + size).min(total);
    let mut out = Map::new();
    if end > start {
        out.insert(field.into(), Value::Array(all[start..end].to_vec()));
    }
    if end < total {
        out.insert("nextPageToken".into(), json!(page_token(end)));
    }
    if total > 0 {
        out.insert("totalSize".into(), json!(total));
    }
    json_response(Value::Object(out))
}
