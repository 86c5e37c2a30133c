//! `toYaml` / `fromYaml` as ESO defines them (sigs.k8s.io/yaml: JSON-shaped values, go-yaml v2
//! output style, trailing newline trimmed; parse errors become `{"Error": msg}`).

use std::collections::BTreeMap;

use super::{FuncDef, def, s};
use crate::template::value::Value;

pub(crate) static FUNCS: &[FuncDef] = &[
    def!("toYaml", [Any], |a| {
        let mut out = String::new();
        emit(&mut out, &a[0], 0, false);
        Ok(Value::String(out.trim_end_matches('\n').to_string()))
    }),
    def!("fromYaml", [Str], |a| Ok(from_yaml(&s(&a[0])))),
];

fn from_yaml(text: &str) -> Value {
    if text.trim().is_empty() {
        return Value::map(BTreeMap::new());
    }
    match serde_saphyr::from_str::<serde_json::Value>(text) {
        Ok(v @ serde_json::Value::Object(_)) => Value::from(v),
        Ok(serde_json::Value::Null) => Value::map(BTreeMap::new()),
        Ok(_) => error_map(
            "error unmarshaling JSON: json: cannot unmarshal into Go value of type map[string]interface {}",
        ),
        Err(e) => error_map(&e.to_string()),
    }
}

fn error_map(msg: &str) -> Value {
    let mut m = BTreeMap::new();
    m.insert("Error".to_string(), Value::String(msg.to_string()));
    Value::map(m)
}

/// Whether YAML 1.1 (go-yaml v2) would read the plain scalar as something other than a string.
fn resolves_non_string(s: &str) -> bool {
    const WORDS: &[&str] = &[
        "y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO", "true", "True", "TRUE", "false",
        "False", "FALSE", "on", "On", "ON", "off", "Off", "OFF", "null", "Null", "NULL", "~",
        ".inf", ".Inf", ".INF", "-.inf", "-.Inf", "-.INF", "+.inf", ".nan", ".NaN", ".NAN", "<<",
    ];
    if WORDS.contains(&s) {
        return true;
    }
    let t = s.replace('_', "");
    t.parse::<f64>().is_ok()
        || t.strip_prefix("0x")
            .is_some_and(|h| i64::from_str_radix(h, 16).is_ok())
        || t.strip_prefix("0b")
            .is_some_and(|h| i64::from_str_radix(h, 2).is_ok())
}

fn needs_single_quotes(s: &str) -> bool {
    s.is_empty()
        || s.starts_with([
            ' ', '-', '?', ':', ',', '[', ']', '{', '}', '#', '&', '*', '!', '|', '>', '\'', '"',
            '%', '@', '`',
        ])
        || s.ends_with([' ', ':'])
        || s.contains(": ")
        || s.contains(" #")
        || s.chars().any(|c| c.is_control() && c != '\n')
}

fn scalar(s: &str) -> String {
    if resolves_non_string(s) || s.is_empty() {
        let mut out = String::from("\"");
        for c in s.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                c => out.push(c),
            }
        }
        out.push('"');
        return out;
    }
    if needs_single_quotes(s) {
        return format!("'{}'", s.replace('\'', "''"));
    }
    s.to_string()
}

fn emit_str(out: &mut String, s: &str, indent: usize) {
    if s.contains('\n') && !s.chars().any(|c| c.is_control() && c != '\n') && !s.starts_with(' ') {
        let chomp = if s.ends_with('\n') { "" } else { "-" };
        out.push_str(&format!("|{chomp}\n"));
        for line in s.strip_suffix('\n').unwrap_or(s).split('\n') {
            if !line.is_empty() {
                out.push_str(&" ".repeat(indent));
                out.push_str(line);
            }
            out.push('\n');
        }
        return;
    }
    if s.contains('\n') {
        let j =
            super::json::encode(&Value::String(s.to_string()), false, false).unwrap_or_default();
        out.push_str(&j);
        out.push('\n');
        return;
    }
    out.push_str(&scalar(s));
    out.push('\n');
}

/// Emits `v` at `indent`; `inline` is true when the value follows a `key: ` or `- ` on the
/// same line.
fn emit(out: &mut String, v: &Value, indent: usize, inline: bool) {
    match v {
        Value::Nil => out.push_str("null\n"),
        Value::Bool(b) => out.push_str(if *b { "true\n" } else { "false\n" }),
        Value::Int(i) => out.push_str(&format!("{i}\n")),
        Value::Float(f) => {
            let s = if f.fract() == 0.0 && f.abs() < 1e21 {
                format!("{}", *f as i64)
            } else {
                crate::template::fmt::format_float(*f, 'g', -1)
            };
            out.push_str(&s);
            out.push('\n');
        }
        Value::String(_) | Value::Bytes(_) | Value::Time(_) => {
            let s = match v {
                Value::Time(t) => t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
                _ => super::strval(v),
            };
            emit_str(out, &s, indent + 2);
        }
        Value::List(l) => {
            if l.is_empty() {
                out.push_str("[]\n");
                return;
            }
            if inline {
                out.push('\n');
            }
            for e in l.iter() {
                out.push_str(&" ".repeat(indent));
                out.push_str("- ");
                match e {
                    Value::Map(m) if !m.is_empty() => emit_map(out, m, indent + 2, true),
                    Value::List(l2) if !l2.is_empty() => {
                        out.push('\n');
                        emit(out, e, indent + 2, false);
                    }
                    _ => emit(out, e, indent + 2, true),
                }
            }
        }
        Value::Map(m) => {
            if m.is_empty() {
                out.push_str("{}\n");
                return;
            }
            if inline {
                out.push('\n');
            }
            emit_map(out, m, indent, false);
        }
    }
}

fn emit_map(out: &mut String, m: &BTreeMap<String, Value>, indent: usize, first_inline: bool) {
    for (i, (k, e)) in m.iter().enumerate() {
        if i > 0 || !first_inline {
            out.push_str(&" ".repeat(indent));
        }
        out.push_str(&scalar(k));
        out.push(':');
        match e {
            Value::Map(m2) if !m2.is_empty() => {
                out.push('\n');
                emit_map(out, m2, indent + 2, false);
            }
            Value::List(l) if !l.is_empty() => {
                out.push('\n');
                emit(out, e, indent, false);
            }
            _ => {
                out.push(' ');
                emit(out, e, indent, true);
            }
        }
    }
}
