//! Sprig list functions. Go's `[]string`/`[]int` results are modelled as lists of values.

use super::{FuncDef, def, i, strval, to_int64};
use crate::template::value::Value;

pub(crate) static FUNCS: &[FuncDef] = &[
    def!("list", [], ...Any, |a| Ok(Value::list(a))),
    def!("tuple", [], ...Any, |a| Ok(Value::list(a))),
    def!("append", [Any, Any], |a| push(&a, "push")
        .or_else(panic_msg)),
    def!("push", [Any, Any], |a| push(&a, "push").or_else(panic_msg)),
    def!("mustAppend", [Any, Any], |a| push(&a, "push")),
    def!("mustPush", [Any, Any], |a| push(&a, "push")),
    def!("prepend", [Any, Any], |a| prepend(&a).or_else(panic_msg)),
    def!("mustPrepend", [Any, Any], |a| prepend(&a)),
    def!("first", [Any], |a| with_list(&a[0], "first", |l| Ok(l
        .first()
        .cloned()
        .unwrap_or_default()))
    .or_else(panic_msg)),
    def!("mustFirst", [Any], |a| with_list(&a[0], "first", |l| Ok(l
        .first()
        .cloned()
        .unwrap_or_default()))),
    def!("last", [Any], |a| with_list(&a[0], "last", |l| Ok(l
        .last()
        .cloned()
        .unwrap_or_default()))
    .or_else(panic_msg)),
    def!("mustLast", [Any], |a| with_list(&a[0], "last", |l| Ok(l
        .last()
        .cloned()
        .unwrap_or_default()))),
    def!("rest", [Any], |a| with_list(&a[0], "rest", rest)
        .or_else(panic_msg)),
    def!("mustRest", [Any], |a| with_list(&a[0], "rest", rest)),
    def!("initial", [Any], |a| with_list(&a[0], "initial", initial)
        .or_else(panic_msg)),
    def!("mustInitial", [Any], |a| with_list(
        &a[0], "initial", initial
    )),
    def!("reverse", [Any], |a| with_list(&a[0], "reverse", reverse)
        .or_else(panic_msg)),
    def!("mustReverse", [Any], |a| with_list(
        &a[0], "reverse", reverse
    )),
    def!("uniq", [Any], |a| with_list(&a[0], "uniq", uniq)
        .or_else(panic_msg)),
    def!("mustUniq", [Any], |a| with_list(&a[0], "uniq", uniq)),
    def!("compact", [Any], |a| with_list(&a[0], "compact", compact)
        .or_else(panic_msg)),
    def!("mustCompact", [Any], |a| with_list(
        &a[0], "compact", compact
    )),
    def!("without", [Any], ...Any, |a| without(&a).or_else(panic_msg)),
    def!("mustWithout", [Any], ...Any, |a| without(&a)),
    def!("has", [Any, Any], |a| has(&a).or_else(panic_msg)),
    def!("mustHas", [Any, Any], |a| has(&a)),
    def!("slice", [Any], ...Any, |a| slice(&a).or_else(panic_msg)),
    def!("mustSlice", [Any], ...Any, |a| slice(&a)),
    def!("chunk", [Int, Any], |a| chunk(&a).or_else(panic_msg)),
    def!("mustChunk", [Int, Any], |a| chunk(&a)),
    def!("concat", [], ...Any, |a| {
        let mut out = Vec::new();
        for l in &a {
            match l {
                Value::List(l) => out.extend(l.iter().cloned()),
                other => return Err(format!("Cannot concat type {} as list", other.go_kind())),
            }
        }
        Ok(Value::list(out))
    }),
    def!("join", [Str, Any], |a| {
        let sep = super::s(&a[0]);
        Ok(Value::String(strslice(&a[1]).join(&sep)))
    }),
    def!("sortAlpha", [Any], |a| {
        let mut v = match &a[0] {
            Value::List(_) => strslice(&a[0]),
            other => vec![strval(other)],
        };
        v.sort();
        Ok(super::strings::str_list(v))
    }),
    def!("toStrings", [Any], |a| Ok(super::strings::str_list(
        strslice(&a[0])
    ))),
    def!("until", [Int], |a| Ok(until_step(
        0,
        i(&a[0]),
        if i(&a[0]) < 0 { -1 } else { 1 }
    ))),
    def!("untilStep", [Int, Int, Int], |a| Ok(until_step(
        i(&a[0]),
        i(&a[1]),
        i(&a[2])
    ))),
    def!("seq", [], ...Int, |a| seq(&a)),
];

/// Non-`must` sprig functions panic; text/template turns the panic into the call's error.
fn panic_msg(e: String) -> Result<Value, String> {
    Err(e)
}

fn with_list(
    v: &Value,
    what: &str,
    f: impl FnOnce(&[Value]) -> Result<Value, String>,
) -> Result<Value, String> {
    match v {
        Value::List(l) => f(l),
        Value::Nil => Ok(Value::Nil),
        other => Err(format!("Cannot find {what} on type {}", other.go_kind())),
    }
}

fn rest(l: &[Value]) -> Result<Value, String> {
    Ok(if l.is_empty() {
        Value::Nil
    } else {
        Value::list(l[1..].to_vec())
    })
}

fn initial(l: &[Value]) -> Result<Value, String> {
    Ok(if l.is_empty() {
        Value::Nil
    } else {
        Value::list(l[..l.len() - 1].to_vec())
    })
}

fn reverse(l: &[Value]) -> Result<Value, String> {
    Ok(Value::list(l.iter().rev().cloned().collect()))
}

fn uniq(l: &[Value]) -> Result<Value, String> {
    let mut out: Vec<Value> = Vec::new();
    for v in l {
        if !out.contains(v) {
            out.push(v.clone());
        }
    }
    Ok(Value::list(out))
}

fn compact(l: &[Value]) -> Result<Value, String> {
    Ok(Value::list(
        l.iter().filter(|v| !super::is_empty(v)).cloned().collect(),
    ))
}

fn push(a: &[Value], what: &str) -> Result<Value, String> {
    match &a[0] {
        Value::List(l) => {
            let mut v = l.as_ref().clone();
            v.push(a[1].clone());
            Ok(Value::list(v))
        }
        other => Err(format!("Cannot {what} on type {}", other.go_kind())),
    }
}

fn prepend(a: &[Value]) -> Result<Value, String> {
    match &a[0] {
        Value::List(l) => {
            let mut v = vec![a[1].clone()];
            v.extend(l.iter().cloned());
            Ok(Value::list(v))
        }
        other => Err(format!("Cannot prepend on type {}", other.go_kind())),
    }
}

fn without(a: &[Value]) -> Result<Value, String> {
    match &a[0] {
        Value::List(l) => Ok(Value::list(
            l.iter().filter(|v| !a[1..].contains(v)).cloned().collect(),
        )),
        other => Err(format!("Cannot find without on type {}", other.go_kind())),
    }
}

fn has(a: &[Value]) -> Result<Value, String> {
    match &a[1] {
        Value::List(l) => Ok(Value::Bool(l.contains(&a[0]))),
        Value::Nil => Ok(Value::Bool(false)),
        other => Err(format!("Cannot find has on type {}", other.go_kind())),
    }
}

fn slice(a: &[Value]) -> Result<Value, String> {
    match &a[0] {
        Value::List(l) => {
            if l.is_empty() {
                return Ok(Value::Nil);
            }
            let start = a.get(1).map(to_int64).unwrap_or(0);
            let end = a.get(2).map(to_int64).unwrap_or(l.len() as i64);
            if start < 0 || end < start || end > l.len() as i64 {
                return Err(format!("reflect: slice index out of range [{start}:{end}]"));
            }
            Ok(Value::list(l[start as usize..end as usize].to_vec()))
        }
        other => Err(format!(
            "list should be type of slice or array but {}",
            other.go_kind()
        )),
    }
}

fn chunk(a: &[Value]) -> Result<Value, String> {
    let size = i(&a[0]);
    match &a[1] {
        Value::List(l) => {
            if size <= 0 {
                return Err("runtime error: integer divide by zero".into());
            }
            Ok(Value::list(
                l.chunks(size as usize)
                    .map(|c| Value::list(c.to_vec()))
                    .collect(),
            ))
        }
        other => Err(format!("Cannot chunk type {}", other.go_kind())),
    }
}

/// sprig's `strslice`: a list's non-nil elements as strings, nil as no elements, any other
/// value as a one-element list.
pub(crate) fn strslice(v: &Value) -> Vec<String> {
    match v {
        Value::List(l) => l
            .iter()
            .filter(|e| !matches!(e, Value::Nil))
            .map(strval)
            .collect(),
        Value::Nil => Vec::new(),
        other => vec![strval(other)],
    }
}

fn until_step(start: i64, stop: i64, step: i64) -> Value {
    let mut v = Vec::new();
    if step == 0 || (step > 0 && start >= stop) || (step < 0 && start <= stop) {
        return Value::list(v);
    }
    let mut k = start;
    while (step > 0 && k < stop) || (step < 0 && k > stop) {
        v.push(Value::Int(k));
        k += step;
    }
    Value::list(v)
}

fn seq(a: &[Value]) -> Result<Value, String> {
    let p: Vec<i64> = a.iter().map(i).collect();
    let join = |v: Value| match v {
        Value::List(l) => l.iter().map(super::sprint_v).collect::<Vec<_>>().join(" "),
        _ => String::new(),
    };
    Ok(Value::String(match p.as_slice() {
        [] => String::new(),
        [end] => {
            let start = 1;
            if *end < start {
                join(until_step(start, end - 1, -1))
            } else {
                join(until_step(start, end + 1, 1))
            }
        }
        [start, end] => {
            if end < start {
                join(until_step(*start, end - 1, -1))
            } else {
                join(until_step(*start, end + 1, 1))
            }
        }
        [start, step, end] => {
            if end < start {
                if *step >= 0 {
                    return Ok(Value::String(String::new()));
                }
                join(until_step(*start, end - 1, *step))
            } else {
                if *step <= 0 {
                    return Ok(Value::String(String::new()));
                }
                join(until_step(*start, end + 1, *step))
            }
        }
        _ => String::new(),
    }))
}
