//! JSON functions with Go `encoding/json` output: sorted keys, HTML escaping (except the `Raw`
//! variants), Go's float formatting.

use super::{FuncDef, def, s};
use crate::template::fmt::format_float;
use crate::template::value::Value;

pub(crate) static FUNCS: &[FuncDef] = &[
    def!("toJson", [Any], |a| Ok(Value::String(
        encode(&a[0], true, false).unwrap_or_default()
    ))),
    def!("mustToJson", [Any], |a| encode(&a[0], true, false)
        .map(Value::String)),
    def!("toPrettyJson", [Any], |a| Ok(Value::String(
        encode(&a[0], true, true).unwrap_or_default()
    ))),
    def!("mustToPrettyJson", [Any], |a| encode(&a[0], true, true)
        .map(Value::String)),
    def!("toRawJson", [Any], |a| Ok(Value::String(
        encode(&a[0], false, false).unwrap_or_default()
    ))),
    def!("mustToRawJson", [Any], |a| encode(&a[0], false, false)
        .map(Value::String)),
    def!("fromJson", [Str], |a| Ok(
        decode(&s(&a[0])).unwrap_or_default()
    )),
    def!("mustFromJson", [Str], |a| decode(&s(&a[0]))),
];

pub(crate) fn decode(text: &str) -> Result<Value, String> {
    serde_json::from_str::<serde_json::Value>(text)
        .map(Value::from)
        .map_err(|e| e.to_string())
}

pub(crate) fn encode(v: &Value, html: bool, pretty: bool) -> Result<String, String> {
    let mut out = String::new();
    write(&mut out, v, html, if pretty { Some(0) } else { None })?;
    Ok(out)
}

pub(crate) fn go_json_float(f: f64) -> Result<String, String> {
    if !f.is_finite() {
        return Err(format!(
            "json: unsupported value: {}",
            format_float(f, 'g', -1)
        ));
    }
    let a = f.abs();
    if a != 0.0 && !(1e-6..1e21).contains(&a) {
        let mut s = format_float(f, 'e', -1);
        if let Some(i) = s.find("e-0") {
            s.remove(i + 2);
        }
        if let Some(i) = s.find("e+0") {
            s.remove(i + 2);
        }
        return Ok(s);
    }
    Ok(format_float(f, 'f', -1))
}

pub(crate) fn write_str(out: &mut String, b: &[u8], html: bool) {
    out.push('"');
    let st = String::from_utf8_lossy(b);
    for c in st.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' | '>' | '&' if html => out.push_str(&format!("\\u{:04x}", c as u32)),
            '\u{2028}' | '\u{2029}' => out.push_str(&format!("\\u{:04x}", c as u32)),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

fn newline(out: &mut String, indent: Option<usize>) {
    if let Some(n) = indent {
        out.push('\n');
        out.push_str(&"  ".repeat(n));
    }
}

fn write(out: &mut String, v: &Value, html: bool, indent: Option<usize>) -> Result<(), String> {
    match v {
        Value::Nil => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) => out.push_str(&i.to_string()),
        Value::Float(f) => out.push_str(&go_json_float(*f)?),
        Value::String(s) => write_str(out, s.as_bytes(), html),
        Value::Bytes(b) => write_str(out, b, html),
        Value::Time(t) => {
            let s = t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true);
            write_str(out, s.as_bytes(), html)
        }
        Value::List(l) => {
            if l.is_empty() {
                out.push_str("[]");
                return Ok(());
            }
            out.push('[');
            for (i, e) in l.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline(out, indent.map(|n| n + 1));
                write(out, e, html, indent.map(|n| n + 1))?;
            }
            newline(out, indent);
            out.push(']');
        }
        Value::Map(m) => {
            if m.is_empty() {
                out.push_str("{}");
                return Ok(());
            }
            out.push('{');
            for (i, (k, e)) in m.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline(out, indent.map(|n| n + 1));
                write_str(out, k.as_bytes(), html);
                out.push(':');
                if indent.is_some() {
                    out.push(' ');
                }
                write(out, e, html, indent.map(|n| n + 1))?;
            }
            newline(out, indent);
            out.push('}');
        }
    }
    Ok(())
}
