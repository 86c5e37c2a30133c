//! Request-body decoding with the apiserver's observable quirks: duplicate-field detection, field
//! order (warnings follow document order) and Go-style JSON error texts.

use std::cell::RefCell;
use std::fmt;

use serde::de::{DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// A decoded body plus what the strict decoder would complain about.
#[derive(Debug, Default)]
pub struct Decoded {
    pub value: Value,
    /// Dotted paths of duplicated fields, in document order.
    pub duplicates: Vec<String>,
    /// Every dotted path in document order (to order unknown-field warnings like the apiserver).
    pub order: Vec<String>,
}

impl Decoded {
    pub fn position(&self, path: &str) -> usize {
        self.order
            .iter()
            .position(|p| p == path)
            .unwrap_or(usize::MAX)
    }
}

struct Seed<'a> {
    path: String,
    acc: &'a RefCell<(Vec<String>, Vec<String>)>,
}

impl<'de> DeserializeSeed<'de> for Seed<'_> {
    type Value = Value;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Seed<'_> {
    type Value = Value;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v)
            .map(Value::Number)
            .unwrap_or(Value::Null))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::new();
        loop {
            let seed = Seed {
                path: format!("{}[{}]", self.path, out.len()),
                acc: self.acc,
            };
            match seq.next_element_seed(seed)? {
                Some(v) => out.push(v),
                None => break,
            }
        }
        Ok(Value::Array(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(k) = map.next_key::<String>()? {
            let path = if self.path.is_empty() {
                k.clone()
            } else {
                format!("{}.{k}", self.path)
            };
            {
                let mut acc = self.acc.borrow_mut();
                if out.contains_key(&k) {
                    acc.0.push(path.clone());
                } else {
                    acc.1.push(path.clone());
                }
            }
            let v = map.next_value_seed(Seed {
                path,
                acc: self.acc,
            })?;
            out.insert(k, v);
        }
        Ok(Value::Object(out))
    }
}

/// Parses JSON, reporting errors the way Go's encoding/json words them.
pub fn json(bytes: &[u8]) -> Result<Decoded, String> {
    let acc = RefCell::new((Vec::new(), Vec::new()));
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = Seed {
        path: String::new(),
        acc: &acc,
    }
    .deserialize(&mut de)
    .map_err(|e| go_json_error(bytes, &e))?;
    de.end().map_err(|e| go_json_error(bytes, &e))?;
    let (duplicates, order) = acc.into_inner();
    Ok(Decoded {
        value,
        duplicates,
        order,
    })
}

/// Parses YAML (JSON is YAML) into JSON values.
pub fn yaml(bytes: &[u8]) -> Result<Decoded, String> {
    let text = std::str::from_utf8(bytes).map_err(|e| e.to_string())?;
    if text.trim_start().starts_with('{') {
        return json(bytes);
    }
    let value: Value = serde_saphyr::from_str(text).map_err(|e| yaml_error(&e.to_string()))?;
    let mut order = Vec::new();
    collect_paths(&value, "", &mut order);
    Ok(Decoded {
        value,
        duplicates: vec![],
        order,
    })
}

fn yaml_error(msg: &str) -> String {
    // The apiserver goes through go-yaml: `line N: <go-yaml wording>`.
    let first = msg.lines().next().unwrap_or(msg);
    let re = regex::Regex::new(r"line (\d+) column \d+: (.*)$").ok();
    let Some(c) = re.as_ref().and_then(|r| r.captures(first)) else {
        return first.to_string();
    };
    let what = match &c[2] {
        m if m.starts_with("unclosed bracket") => "did not find expected ',' or ']'",
        m if m.starts_with("unclosed brace") => "did not find expected ',' or '}'",
        m => m,
    };
    format!("line {}: {what}", &c[1])
}

fn collect_paths(v: &Value, prefix: &str, out: &mut Vec<String>) {
    if let Value::Object(m) = v {
        for (k, c) in m {
            let p = if prefix.is_empty() {
                k.clone()
            } else {
                format!("{prefix}.{k}")
            };
            out.push(p.clone());
            collect_paths(c, &p, out);
        }
    }
}

fn go_json_error(bytes: &[u8], e: &serde_json::Error) -> String {
    use serde_json::error::Category;
    if e.classify() == Category::Eof {
        return "unexpected end of JSON input".into();
    }
    let msg = e.to_string();
    // Locate the offending byte from line/column.
    let mut line = 1;
    let mut col = 0;
    let mut found = None;
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'\n' {
            line += 1;
            col = 0;
            continue;
        }
        col += 1;
        if line == e.line() && col == e.column() {
            found = Some(i);
            break;
        }
    }
    let ch = found
        .and_then(|i| bytes.get(i))
        .map(|&b| b as char)
        .unwrap_or('?');
    let ctx = if msg.contains("key must be a string") {
        "looking for beginning of object key string"
    } else if msg.contains("expected `:`") {
        "after object key"
    } else if msg.contains("expected `,` or `}`") {
        "after object key:value pair"
    } else if msg.contains("expected `,` or `]`") {
        "after array element"
    } else if msg.contains("trailing characters") {
        "after top-level value"
    } else {
        "looking for beginning of value"
    };
    format!("invalid character {} {ctx}", go_char(ch))
}

fn go_char(c: char) -> String {
    match c {
        '\'' => "'\\''".into(),
        '"' => "'\"'".into(),
        c => format!("'{c}'"),
    }
}
