//! Sprig dictionaries, defaults, reflection helpers, `fail` and semantic versions.
//!
//! Go maps are shared and mutable; here values are immutable, so `set`, `unset` and the `merge`
//! family return the updated dictionary without changing other references to the original.

use std::collections::BTreeMap;

use super::{FuncDef, def, is_empty, s, strval};
use crate::template::value::Value;

pub(crate) static FUNCS: &[FuncDef] = &[
    def!("dict", [], ...Any, |a| {
        let mut m = BTreeMap::new();
        for pair in a.chunks(2) {
            let v = pair.get(1).cloned().unwrap_or(Value::String(String::new()));
            m.insert(strval(&pair[0]), v);
        }
        Ok(Value::map(m))
    }),
    def!("get", [Map, Str], |a| Ok(map_of(&a[0])
        .get(&s(&a[1]))
        .cloned()
        .unwrap_or(Value::String(String::new())))),
    def!("set", [Map, Str, Any], |a| {
        let mut m = map_of(&a[0]);
        m.insert(s(&a[1]), a[2].clone());
        Ok(Value::map(m))
    }),
    def!("unset", [Map, Str], |a| {
        let mut m = map_of(&a[0]);
        m.remove(&s(&a[1]));
        Ok(Value::map(m))
    }),
    def!("hasKey", [Map, Str], |a| Ok(Value::Bool(
        map_of(&a[0]).contains_key(&s(&a[1]))
    ))),
    def!("pluck", [Str], ...Map, |a| {
        let k = s(&a[0]);
        Ok(Value::list(a[1..].iter().filter_map(|d| map_of(d).get(&k).cloned()).collect()))
    }),
    def!("keys", [], ...Map, |a| {
        let mut out = Vec::new();
        for d in &a {
            out.extend(map_of(d).into_keys().map(Value::String));
        }
        Ok(Value::list(out))
    }),
    def!("values", [Map], |a| Ok(Value::list(
        map_of(&a[0]).into_values().collect()
    ))),
    def!("pick", [Map], ...Str, |a| {
        let m = map_of(&a[0]);
        let keys: Vec<String> = a[1..].iter().map(s).collect();
        Ok(Value::map(m.into_iter().filter(|(k, _)| keys.contains(k)).collect()))
    }),
    def!("omit", [Map], ...Str, |a| {
        let m = map_of(&a[0]);
        let keys: Vec<String> = a[1..].iter().map(s).collect();
        Ok(Value::map(m.into_iter().filter(|(k, _)| !keys.contains(k)).collect()))
    }),
    def!("merge", [Map], ...Any, |a| merge(&a, false)),
    def!("mustMerge", [Map], ...Any, |a| merge(&a, false)),
    def!("mergeOverwrite", [Map], ...Any, |a| merge(&a, true)),
    def!("mustMergeOverwrite", [Map], ...Any, |a| merge(&a, true)),
    def!("deepCopy", [Any], |a| Ok(a[0].clone())),
    def!("mustDeepCopy", [Any], |a| match a[0] {
        Value::Nil => Err("copy: Cannot copy nil".into()),
        ref v => Ok(v.clone()),
    }),
    def!("dig", [Any], ...Any, |a| {
        if a.len() < 3 {
            return Err("dig: need at least one key, a default and a dict".into());
        }
        let dict = &a[a.len() - 1];
        let default = &a[a.len() - 2];
        let mut cur = dict.clone();
        for k in &a[..a.len() - 2] {
            let key = strval(k);
            cur = match &cur {
                Value::Map(m) => match m.get(&key) {
                    Some(v) => v.clone(),
                    None => return Ok(default.clone()),
                },
                _ => return Err("interface conversion: interface {} is not map[string]interface {}".into()),
            };
        }
        Ok(cur)
    }),
    def!("default", [Any], ...Any, |a| {
        match a.get(1) {
            Some(given) if !is_empty(given) => Ok(given.clone()),
            _ => Ok(a[0].clone()),
        }
    }),
    def!("empty", [Any], |a| Ok(Value::Bool(is_empty(&a[0])))),
    def!("coalesce", [], ...Any, |a| Ok(a.iter().find(|v| !is_empty(v)).cloned().unwrap_or_default())),
    def!("all", [], ...Any, |a| Ok(Value::Bool(a.iter().all(|v| !is_empty(v))))),
    def!("any", [], ...Any, |a| Ok(Value::Bool(a.iter().any(|v| !is_empty(v))))),
    def!("ternary", [Any, Any, Bool], |a| Ok(if a[2].truth() {
        a[0].clone()
    } else {
        a[1].clone()
    })),
    def!("typeOf", [Any], |a| Ok(Value::String(
        a[0].go_type().into()
    ))),
    def!("typeIs", [Str, Any], |a| Ok(Value::Bool(
        s(&a[0]) == a[1].go_type()
    ))),
    def!("typeIsLike", [Str, Any], |a| {
        let t = s(&a[0]);
        let got = a[1].go_type();
        Ok(Value::Bool(t == got || t == format!("*{got}")))
    }),
    def!("kindOf", [Any], |a| Ok(Value::String(
        a[0].go_kind().into()
    ))),
    def!("kindIs", [Str, Any], |a| Ok(Value::Bool(
        s(&a[0]) == a[1].go_kind()
    ))),
    def!("deepEqual", [Any, Any], |a| Ok(Value::Bool(a[0] == a[1]))),
    def!("fail", [Str], |a| Err(s(&a[0]))),
    def!("semver", [Str], |a| semver(&s(&a[0]))),
    def!("semverCompare", [Str, Str], |a| semver_compare(
        &s(&a[0]),
        &s(&a[1])
    )),
];

fn map_of(v: &Value) -> BTreeMap<String, Value> {
    match v {
        Value::Map(m) => m.as_ref().clone(),
        _ => BTreeMap::new(),
    }
}

/// mergo semantics: without overwrite, only keys missing (or empty) in dst are filled;
/// nested maps merge recursively.
fn merge_into(dst: &mut BTreeMap<String, Value>, src: &BTreeMap<String, Value>, overwrite: bool) {
    for (k, sv) in src {
        match (dst.get_mut(k), sv) {
            (Some(Value::Map(dm)), Value::Map(sm)) => {
                let mut inner = dm.as_ref().clone();
                merge_into(&mut inner, sm, overwrite);
                *dm = std::sync::Arc::new(inner);
            }
            (Some(existing), _) => {
                if (overwrite && !is_empty(sv)) || is_empty(existing) {
                    *existing = sv.clone();
                }
            }
            (None, _) => {
                dst.insert(k.clone(), sv.clone());
            }
        }
    }
}

fn merge(a: &[Value], overwrite: bool) -> Result<Value, String> {
    let mut dst = map_of(&a[0]);
    for src in &a[1..] {
        match src {
            Value::Map(m) => merge_into(&mut dst, m, overwrite),
            Value::Nil => {}
            other => {
                return Err(format!(
                    "src and dst must be of same type: map vs {}",
                    other.go_kind()
                ));
            }
        }
    }
    Ok(Value::map(dst))
}

#[derive(Debug, Clone, PartialEq)]
struct Version {
    major: u64,
    minor: u64,
    patch: u64,
    pre: String,
    meta: String,
}

fn parse_version(v: &str) -> Option<Version> {
    let t = v.trim().trim_start_matches('v');
    let (t, meta) = t
        .split_once('+')
        .map(|(a, b)| (a, b.to_string()))
        .unwrap_or((t, String::new()));
    let (t, pre) = t
        .split_once('-')
        .map(|(a, b)| (a, b.to_string()))
        .unwrap_or((t, String::new()));
    let mut parts = t.split('.');
    let major = parts.next()?.parse().ok()?;
    let minor = match parts.next() {
        Some(p) => p.parse().ok()?,
        None => 0,
    };
    let patch = match parts.next() {
        Some(p) => p.parse().ok()?,
        None => 0,
    };
    if parts.next().is_some() {
        return None;
    }
    Some(Version {
        major,
        minor,
        patch,
        pre,
        meta,
    })
}

fn cmp_pre(a: &str, b: &str) -> std::cmp::Ordering {
    use std::cmp::Ordering::*;
    match (a.is_empty(), b.is_empty()) {
        (true, true) => return Equal,
        (true, false) => return Greater,
        (false, true) => return Less,
        _ => {}
    }
    let (pa, pb): (Vec<&str>, Vec<&str>) = (a.split('.').collect(), b.split('.').collect());
    for (x, y) in pa.iter().zip(&pb) {
        let o = match (x.parse::<u64>(), y.parse::<u64>()) {
            (Ok(x), Ok(y)) => x.cmp(&y),
            (Ok(_), Err(_)) => Less,
            (Err(_), Ok(_)) => Greater,
            _ => x.cmp(y),
        };
        if o != Equal {
            return o;
        }
    }
    pa.len().cmp(&pb.len())
}

fn cmp_version(a: &Version, b: &Version) -> std::cmp::Ordering {
    (a.major, a.minor, a.patch)
        .cmp(&(b.major, b.minor, b.patch))
        .then_with(|| cmp_pre(&a.pre, &b.pre))
}

fn semver(v: &str) -> Result<Value, String> {
    let ver = parse_version(v).ok_or_else(|| "Invalid Semantic Version".to_string())?;
    let mut m = BTreeMap::new();
    m.insert("Major".into(), Value::Int(ver.major as i64));
    m.insert("Minor".into(), Value::Int(ver.minor as i64));
    m.insert("Patch".into(), Value::Int(ver.patch as i64));
    m.insert("Prerelease".into(), Value::String(ver.pre));
    m.insert("Metadata".into(), Value::String(ver.meta));
    m.insert("Original".into(), Value::String(v.to_string()));
    Ok(Value::map(m))
}

/// Masterminds/semver constraint check: `||` alternatives of comma/space separated comparisons
/// with `= != > < >= <= ~ ^` and `x`/`*` wildcards.
fn semver_compare(constraint: &str, version: &str) -> Result<Value, String> {
    let v = parse_version(version).ok_or_else(|| "Invalid Semantic Version".to_string())?;
    for alt in constraint.split("||") {
        let mut ok = true;
        let normalized = alt.replace(',', " ");
        let mut toks = normalized.split_whitespace().peekable();
        let mut any = false;
        while let Some(tok) = toks.next() {
            any = true;
            let mut tok = tok.to_string();
            if matches!(
                tok.as_str(),
                "=" | "!=" | ">" | "<" | ">=" | "<=" | "~" | "^" | "~>"
            ) && let Some(n) = toks.next()
            {
                tok.push_str(n);
            }
            if !check_one(&tok, &v)? {
                ok = false;
            }
        }
        if ok && any {
            return Ok(Value::Bool(true));
        }
    }
    Ok(Value::Bool(false))
}

fn check_one(c: &str, v: &Version) -> Result<bool, String> {
    let ops = [">=", "<=", "!=", "=>", "=<", "~>", ">", "<", "=", "~", "^"];
    let (op, rest) = ops
        .iter()
        .find_map(|o| c.strip_prefix(o).map(|r| (*o, r)))
        .unwrap_or(("", c));
    let rest = rest.trim().trim_start_matches('v');
    let parts: Vec<&str> = rest
        .split(['-', '+'])
        .next()
        .unwrap_or("")
        .split('.')
        .collect();
    let wild = |p: Option<&&str>| p.is_none_or(|p| matches!(*p, "x" | "X" | "*"));
    let num = |p: Option<&&str>| -> Result<u64, String> {
        match p {
            Some(p) if !matches!(*p, "x" | "X" | "*") => {
                p.parse().map_err(|_| format!("improper constraint: {c}"))
            }
            _ => Ok(0),
        }
    };
    let (maj, min, pat) = (num(parts.first())?, num(parts.get(1))?, num(parts.get(2))?);
    let pre = rest
        .split_once('-')
        .map(|(_, p)| p.split('+').next().unwrap_or("").to_string())
        .unwrap_or_default();
    let cv = Version {
        major: maj,
        minor: min,
        patch: pat,
        pre: pre.clone(),
        meta: String::new(),
    };
    // Prereleases only satisfy constraints that themselves carry a prerelease.
    if !v.pre.is_empty() && pre.is_empty() {
        return Ok(false);
    }
    let wmaj = wild(parts.first());
    let wmin = wild(parts.get(1));
    let wpat = wild(parts.get(2));
    let o = cmp_version(v, &cv);
    use std::cmp::Ordering::*;
    let in_range =
        |lo: Version, hi: Version| cmp_version(v, &lo) != Less && cmp_version(v, &hi) == Less;
    let ver = |a, b, c| Version {
        major: a,
        minor: b,
        patch: c,
        pre: String::new(),
        meta: String::new(),
    };
    Ok(match op {
        "" | "=" => {
            if wmaj {
                true
            } else if wmin {
                v.major == maj
            } else if wpat {
                v.major == maj && v.minor == min
            } else {
                o == Equal
            }
        }
        "!=" => {
            if wmaj {
                false
            } else if wmin {
                v.major != maj
            } else if wpat {
                !(v.major == maj && v.minor == min)
            } else {
                o != Equal
            }
        }
        ">" => {
            if wmin && !wmaj {
                v.major > maj
            } else if wpat && !wmin {
                (v.major, v.minor) > (maj, min)
            } else {
                o == Greater
            }
        }
        "<" => o == Less,
        ">=" | "=>" => o != Less,
        "<=" | "=<" => {
            if wmin && !wmaj {
                v.major <= maj
            } else if wpat && !wmin {
                (v.major, v.minor) <= (maj, min)
            } else {
                o != Greater
            }
        }
        "~" | "~>" => {
            let hi = if wmin {
                ver(maj + 1, 0, 0)
            } else {
                ver(maj, min + 1, 0)
            };
            in_range(cv.clone(), hi)
        }
        "^" => {
            let hi = if maj > 0 || wmin {
                ver(maj + 1, 0, 0)
            } else if min > 0 || wpat {
                ver(0, min + 1, 0)
            } else {
                ver(0, 0, pat + 1)
            };
            in_range(cv.clone(), hi)
        }
        _ => false,
    })
}
