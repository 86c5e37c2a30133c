//! The subset of Go's `encoding/json` that merge rewrites expose in their output.
//!
//! ESO decodes each value into `map[string]any` (numbers become `float64`) and re-encodes the
//! merged result with Go's encoder, so numbers, string escapes and key order in the output follow
//! Go: keys sorted bytewise, `1.0` printed as `1`, large or tiny floats as `1e+21`/`1e-7`, `<>&`
//! escaped only when HTML escaping is on, U+2028/U+2029 always escaped.

use std::collections::BTreeMap;
use std::fmt::Write as _;

/// A JSON value as Go's `any` holds it after `json.Unmarshal`.
#[derive(Clone, Debug, PartialEq)]
pub enum GoJsonValue {
    /// `null` (Go `nil`).
    Null,
    /// `true`/`false`.
    Bool(bool),
    /// Every JSON number (Go `float64`).
    Number(f64),
    /// A string.
    String(String),
    /// An array (Go `[]any`).
    Array(Vec<GoJsonValue>),
    /// An object (Go `map[string]any`); iteration is in Go's encoding order.
    Object(BTreeMap<String, GoJsonValue>),
}

impl GoJsonValue {
    fn from_serde(value: serde_json::Value) -> Self {
        use serde_json::Value;
        match value {
            Value::Null => Self::Null,
            Value::Bool(b) => Self::Bool(b),
            // Integers become the nearest float64, like Go's decoder does.
            Value::Number(n) => Self::Number(n.as_f64().unwrap_or(f64::NAN)),
            Value::String(s) => Self::String(s),
            Value::Array(items) => Self::Array(items.into_iter().map(Self::from_serde).collect()),
            Value::Object(map) => Self::Object(
                map.into_iter()
                    .map(|(k, v)| (k, Self::from_serde(v)))
                    .collect(),
            ),
        }
    }

    /// Go `json.Marshal` (`escape_html = true`) or an encoder with `SetEscapeHTML(false)`.
    pub fn to_go_json(&self, escape_html: bool) -> String {
        let mut out = String::new();
        self.write(&mut out, escape_html);
        out
    }

    fn write(&self, out: &mut String, escape_html: bool) {
        match self {
            Self::Null => out.push_str("null"),
            Self::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Self::Number(f) => out.push_str(&go_json_float(*f)),
            Self::String(s) => write_go_json_string(out, s, escape_html),
            Self::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    item.write(out, escape_html);
                }
                out.push(']');
            }
            Self::Object(map) => write_object(out, map, escape_html),
        }
    }

    /// How ESO turns one merged field into Secret bytes (`GetByteValue`): strings raw, numbers
    /// as the shortest decimal without exponent, bools as `true`/`false`, null as empty, objects
    /// and arrays as `json.Marshal` output (HTML-escaped).
    pub fn to_secret_bytes(&self) -> Vec<u8> {
        match self {
            Self::Null => Vec::new(),
            Self::Bool(b) => b.to_string().into_bytes(),
            // Rust's `Display` for f64 is the shortest round-trip digits without an exponent,
            // which is what Go's FormatFloat(f, 'f', -1, 64) prints.
            Self::Number(f) => f.to_string().into_bytes(),
            Self::String(s) => s.clone().into_bytes(),
            Self::Array(_) | Self::Object(_) => self.to_go_json(true).into_bytes(),
        }
    }
}

/// Encodes an object the way Go encodes a `map[string]any`.
pub(crate) fn write_object(
    out: &mut String,
    map: &BTreeMap<String, GoJsonValue>,
    escape_html: bool,
) {
    out.push('{');
    // BTreeMap<String, _> iterates in byte order, which is Go's key order.
    for (i, (key, value)) in map.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_go_json_string(out, key, escape_html);
        out.push(':');
        value.write(out, escape_html);
    }
    out.push('}');
}

/// Go's float64 encoding: `'f'` format unless the magnitude is below 1e-6 or at least 1e21,
/// where it switches to `'e'` with at least two exponent digits for positive exponents.
fn go_json_float(f: f64) -> String {
    let abs = f.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        let text = format!("{f:e}");
        match text.split_once('e') {
            Some((mantissa, exp)) => match exp.strip_prefix('-') {
                Some(neg) => format!("{mantissa}e-{neg}"),
                None => format!("{mantissa}e+{exp:0>2}"),
            },
            None => text,
        }
    } else {
        f.to_string()
    }
}

fn write_go_json_string(out: &mut String, s: &str, escape_html: bool) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '<' | '>' | '&' if escape_html => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            '\u{2028}' | '\u{2029}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Go's lossy reading of bytes as a string inside the JSON decoder: each invalid byte becomes
/// one U+FFFD.
fn go_lossy_utf8(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    let mut rest = bytes;
    loop {
        match std::str::from_utf8(rest) {
            Ok(valid) => {
                out.push_str(valid);
                return out;
            }
            Err(e) => {
                let (valid, after) = rest.split_at(e.valid_up_to());
                out.push_str(std::str::from_utf8(valid).unwrap_or_default());
                out.push('\u{fffd}');
                rest = after.get(1..).unwrap_or_default();
            }
        }
    }
}

/// Go `json.Unmarshal(value, &map[string]any{})`: `Ok(None)` for `null` (a nil map), an object
/// otherwise; anything else is an error. Error texts describe the JSON problem by position only
/// and never quote the input, which is secret.
pub fn parse_go_json_object(bytes: &[u8]) -> Result<Option<BTreeMap<String, GoJsonValue>>, String> {
    let text = go_lossy_utf8(bytes);
    let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
        format!(
            "invalid JSON ({:?} error at line {} column {})",
            e.classify(),
            e.line(),
            e.column()
        )
    })?;
    match GoJsonValue::from_serde(value) {
        GoJsonValue::Null => Ok(None),
        GoJsonValue::Object(map) => Ok(Some(map)),
        other => Err(format!(
            "json: cannot unmarshal {} into Go value of type map[string]interface {{}}",
            match other {
                GoJsonValue::Bool(_) => "bool",
                GoJsonValue::Number(_) => "number",
                GoJsonValue::String(_) => "string",
                _ => "array",
            }
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_use_go_notation() {
        assert_eq!(go_json_float(1.0), "1");
        assert_eq!(go_json_float(1e21), "1e+21");
        assert_eq!(go_json_float(1.5e-7), "1.5e-7");
        assert_eq!(go_json_float(1e-10), "1e-10");
        assert_eq!(go_json_float(0.000001), "0.000001");
        assert_eq!(go_json_float(123456789.0), "123456789");
    }

    #[test]
    fn strings_escape_like_go() {
        let mut out = String::new();
        write_go_json_string(&mut out, "<a&b>\u{2028}\u{1}\u{8}", true);
        assert_eq!(out, r#""\u003ca\u0026b\u003e\u2028\u0001\b""#);
        let mut out = String::new();
        write_go_json_string(&mut out, "<a&b>", false);
        assert_eq!(out, r#""<a&b>""#);
    }
}
