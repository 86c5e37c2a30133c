//! Go `text/template` predefined functions. `and`, `or` and `call` are evaluated by the executor
//! (lazy evaluation, callee naming); their entries here only declare the signatures.

use super::{FuncDef, def};
use crate::template::fmt::{sprint, sprintf, sprintln, write_v};
use crate::template::value::Value;

pub(crate) static FUNCS: &[FuncDef] = &[
    def!("and", [Refl], ...Refl, |_| Ok(Value::Nil)),
    def!("or", [Refl], ...Refl, |_| Ok(Value::Nil)),
    def!("call", [Refl], ...Refl, |_| Ok(Value::Nil)),
    def!("not", [Refl], |a| Ok(Value::Bool(!a[0].truth()))),
    def!("len", [Refl], |a| length(&a[0])),
    def!("index", [Refl], ...Refl, |a| index(a)),
    def!("print", [], ...Any, |a| Ok(Value::from_bytes(sprint(&a)))),
    def!("println", [], ...Any, |a| Ok(Value::from_bytes(sprintln(&a)))),
    def!("printf", [Str], ...Any, |a| {
        let f = a[0].str_bytes().unwrap_or_default().to_vec();
        Ok(Value::from_bytes(sprintf(&f, &a[1..])))
    }),
    def!("html", [], ...Any, |a| Ok(Value::from_bytes(html_escape(&eval_args(&a))))),
    def!("js", [], ...Any, |a| Ok(Value::from_bytes(js_escape(&eval_args(&a))))),
    def!("urlquery", [], ...Any, |a| Ok(Value::String(query_escape(&eval_args(&a))))),
    def!("eq", [Refl], ...Refl, |a| eq(&a[0], &a[1..]).map(Value::Bool)),
    def!("ne", [Refl, Refl], |a| eq(&a[0], &a[1..])
        .map(|b| Value::Bool(!b))),
    def!("lt", [Refl, Refl], |a| lt(&a[0], &a[1]).map(Value::Bool)),
    def!("le", [Refl, Refl], |a| le(&a[0], &a[1]).map(Value::Bool)),
    def!("gt", [Refl, Refl], |a| le(&a[0], &a[1])
        .map(|b| Value::Bool(!b))),
    def!("ge", [Refl, Refl], |a| lt(&a[0], &a[1])
        .map(|b| Value::Bool(!b))),
];

fn length(v: &Value) -> Result<Value, String> {
    Ok(Value::Int(match v {
        Value::String(s) => s.len() as i64,
        Value::Bytes(b) => b.len() as i64,
        Value::List(l) => l.len() as i64,
        Value::Map(m) => m.len() as i64,
        Value::Nil => return Err("reflect: call of reflect.Value.Type on zero Value".into()),
        other => return Err(format!("len of type {}", other.go_type())),
    }))
}

fn index_arg(idx: &Value, cap: usize) -> Result<usize, String> {
    let x = match idx {
        Value::Int(i) => *i,
        Value::Nil => return Err("cannot index slice/array with nil".into()),
        other => {
            return Err(format!(
                "cannot index slice/array with type {}",
                other.go_type()
            ));
        }
    };
    if x < 0 || x as u64 > cap as u64 {
        return Err(format!("index out of range: {x}"));
    }
    Ok(x as usize)
}

fn index(a: Vec<Value>) -> Result<Value, String> {
    let mut it = a.into_iter();
    let mut item = it.next().unwrap_or_default();
    if let Value::Nil = item {
        return Err("index of untyped nil".into());
    }
    for idx in it {
        item = match &item {
            Value::Nil => return Err("index of nil pointer".into()),
            Value::List(l) => {
                let x = index_arg(&idx, l.len())?;
                l.get(x)
                    .cloned()
                    .ok_or("reflect: slice index out of range")?
            }
            Value::String(_) | Value::Bytes(_) => {
                let b = item.str_bytes().unwrap_or_default();
                let x = index_arg(&idx, b.len())?;
                Value::Int(*b.get(x).ok_or("reflect: string index out of range")? as i64)
            }
            Value::Map(m) => match &idx {
                Value::String(k) => m.get(k).cloned().unwrap_or(Value::Nil),
                Value::Bytes(k) => m
                    .get(&String::from_utf8_lossy(k).into_owned())
                    .cloned()
                    .unwrap_or(Value::Nil),
                Value::Nil => return Err("value is nil; should be of type string".into()),
                other => {
                    return Err(format!(
                        "value has type {}; should be string",
                        other.go_type()
                    ));
                }
            },
            other => return Err(format!("can't index item of type {}", other.go_type())),
        };
    }
    Ok(item)
}

#[derive(PartialEq, Clone, Copy)]
enum Kind {
    Invalid,
    Bool,
    Int,
    Float,
    Str,
}

fn basic_kind(v: &Value) -> Kind {
    match v {
        Value::Bool(_) => Kind::Bool,
        Value::Int(_) => Kind::Int,
        Value::Float(_) => Kind::Float,
        Value::String(_) | Value::Bytes(_) => Kind::Str,
        _ => Kind::Invalid,
    }
}

fn fmt_s(v: &Value) -> String {
    String::from_utf8_lossy(&sprintf(b"%s", std::slice::from_ref(v))).into_owned()
}

pub(crate) fn eq(a1: &Value, rest: &[Value]) -> Result<bool, String> {
    if rest.is_empty() {
        return Err("missing argument for comparison".into());
    }
    let k1 = basic_kind(a1);
    for a in rest {
        let k2 = basic_kind(a);
        let truth = if k1 != k2 {
            if !matches!(a1, Value::Nil) && !matches!(a, Value::Nil) {
                return Err(format!(
                    "incompatible types for comparison: {} and {}",
                    a1.go_type(),
                    a.go_type()
                ));
            }
            false
        } else {
            match (a1, a) {
                (Value::Bool(x), Value::Bool(y)) => x == y,
                (Value::Int(x), Value::Int(y)) => x == y,
                (Value::Float(x), Value::Float(y)) => x == y,
                _ if k1 == Kind::Str => a1.str_bytes() == a.str_bytes(),
                _ => {
                    let same_kind = std::mem::discriminant(a1) == std::mem::discriminant(a);
                    if !same_kind && !matches!(a1, Value::Nil) && !matches!(a, Value::Nil) {
                        return Err(format!(
                            "non-comparable types {}: {}, {}: {}",
                            fmt_s(a1),
                            a1.go_type(),
                            a.go_type(),
                            super::sprint_v(a)
                        ));
                    }
                    let (n1, n2) = (matches!(a1, Value::Nil), matches!(a, Value::Nil));
                    if n1 || n2 {
                        n1 == n2
                    } else if let (Value::Time(x), Value::Time(y)) = (a1, a) {
                        x == y
                    } else {
                        return Err(format!("non-comparable type {}: {}", fmt_s(a), a.go_type()));
                    }
                }
            }
        };
        if truth {
            return Ok(true);
        }
    }
    Ok(false)
}

pub(crate) fn lt(a1: &Value, a2: &Value) -> Result<bool, String> {
    let (k1, k2) = (basic_kind(a1), basic_kind(a2));
    if k1 == Kind::Invalid || k2 == Kind::Invalid {
        return Err("invalid type for comparison".into());
    }
    if k1 != k2 {
        return Err(format!(
            "incompatible types for comparison: {} and {}",
            a1.go_type(),
            a2.go_type()
        ));
    }
    Ok(match (a1, a2) {
        (Value::Int(x), Value::Int(y)) => x < y,
        (Value::Float(x), Value::Float(y)) => x < y,
        (Value::Bool(_), _) => return Err("invalid type for comparison".into()),
        _ => a1.str_bytes() < a2.str_bytes(),
    })
}

fn le(a1: &Value, a2: &Value) -> Result<bool, String> {
    if lt(a1, a2)? {
        return Ok(true);
    }
    eq(a1, std::slice::from_ref(a2))
}

/// Go's `evalArgs`: a lone string is used as is, anything else goes through `fmt.Sprint` with
/// nil printed as `<no value>`.
fn eval_args(a: &[Value]) -> Vec<u8> {
    if let [v @ (Value::String(_) | Value::Bytes(_))] = a {
        return v.str_bytes().unwrap_or_default().to_vec();
    }
    let mapped: Vec<Value> = a
        .iter()
        .map(|v| match v {
            Value::Nil => Value::String("<no value>".into()),
            other => other.clone(),
        })
        .collect();
    let mut out = Vec::new();
    for (i, v) in mapped.iter().enumerate() {
        if i > 0 && !v.is_string() && !mapped[i - 1].is_string() {
            out.push(b' ');
        }
        write_v(&mut out, v);
    }
    out
}

pub(crate) fn html_escape(b: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(b.len());
    for &c in b {
        match c {
            0 => out.extend_from_slice("\u{FFFD}".as_bytes()),
            b'"' => out.extend_from_slice(b"&#34;"),
            b'\'' => out.extend_from_slice(b"&#39;"),
            b'&' => out.extend_from_slice(b"&amp;"),
            b'<' => out.extend_from_slice(b"&lt;"),
            b'>' => out.extend_from_slice(b"&gt;"),
            c => out.push(c),
        }
    }
    out
}

pub(crate) fn js_escape(b: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c < 0x80 {
            match c {
                b'\\' => out.extend_from_slice(b"\\\\"),
                b'\'' => out.extend_from_slice(b"\\'"),
                b'"' => out.extend_from_slice(b"\\\""),
                b'<' => out.extend_from_slice(b"\\u003C"),
                b'>' => out.extend_from_slice(b"\\u003E"),
                b'&' => out.extend_from_slice(b"\\u0026"),
                b'=' => out.extend_from_slice(b"\\u003D"),
                c if c < b' ' => out.extend_from_slice(format!("\\u00{c:02X}").as_bytes()),
                c => out.push(c),
            }
            i += 1;
            continue;
        }
        let rest = &b[i..];
        let n = match c {
            0xc0..=0xdf => 2,
            0xe0..=0xef => 3,
            0xf0..=0xf7 => 4,
            _ => 1,
        };
        match rest
            .get(..n)
            .and_then(|s| std::str::from_utf8(s).ok())
            .and_then(|s| s.chars().next())
        {
            Some(ch) if crate::template::fmt::is_print(ch) => {
                out.extend_from_slice(&rest[..n]);
                i += n;
            }
            Some(ch) => {
                out.extend_from_slice(format!("\\u{:04X}", ch as u32).as_bytes());
                i += n;
            }
            None => {
                out.extend_from_slice(b"\\uFFFD");
                i += 1;
            }
        }
    }
    out
}

/// `url.QueryEscape`.
pub(crate) fn query_escape(b: &[u8]) -> String {
    let mut out = String::with_capacity(b.len());
    for &c in b {
        match c {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(c as char)
            }
            b' ' => out.push('+'),
            c => out.push_str(&format!("%{c:02X}")),
        }
    }
    out
}
