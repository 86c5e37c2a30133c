//! `templateAs: KeysAndValues` output parsing: ESO unmarshals the rendered text with
//! `sigs.k8s.io/yaml` into a `map[string]string`. That library converts YAML to JSON with the
//! target type in mind, so scalar numbers and booleans become their string forms, while nested
//! maps or lists are JSON type errors.

use std::collections::BTreeMap;

const PREFIX: &str = "could not unmarshal template to 'map[string][]byte'";

/// Parses rendered KeysAndValues output into key/value pairs.
pub(super) fn parse_string_map(rendered: &[u8]) -> Result<BTreeMap<String, String>, String> {
    let text = std::str::from_utf8(rendered).map_err(|_| {
        format!("{PREFIX}: error converting YAML to JSON: yaml: invalid Unicode character")
    })?;
    if text.trim().is_empty() {
        return Ok(BTreeMap::new());
    }
    let doc: serde_json::Value = serde_saphyr::from_str(text)
        .map_err(|e| format!("{PREFIX}: error converting YAML to JSON: yaml: {e}"))?;
    let object = match doc {
        serde_json::Value::Null => return Ok(BTreeMap::new()),
        serde_json::Value::Object(o) => o,
        other => return Err(type_error(&other, "map[string]string")),
    };
    let mut out = BTreeMap::new();
    for (key, value) in object {
        let value = match value {
            // json.Unmarshal of null into a map element stores the zero value.
            serde_json::Value::Null => String::new(),
            serde_json::Value::String(s) => s,
            serde_json::Value::Bool(b) => b.to_string(),
            serde_json::Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
                (Some(i), _, _) => i.to_string(),
                (None, Some(u), _) => u.to_string(),
                (None, None, Some(f)) => go_format_float32_g(f),
                _ => n.to_string(),
            },
            other => return Err(type_error(&other, "string")),
        };
        out.insert(key, value);
    }
    Ok(out)
}

fn type_error(v: &serde_json::Value, go_type: &str) -> String {
    let kind = match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "bool",
        serde_json::Value::Number(_) => "number",
        serde_json::Value::String(_) => "string",
        serde_json::Value::Array(_) => "array",
        serde_json::Value::Object(_) => "object",
    };
    format!(
        "{PREFIX}: error unmarshaling JSON: while decoding JSON: json: cannot unmarshal {kind} \
         into Go value of type {go_type}"
    )
}

/// Go's `strconv.FormatFloat(f, 'g', -1, 32)`, which sigs.k8s.io/yaml uses for floats headed
/// into a string: shortest float32 digits, exponent form when the decimal exponent is < -4 or
/// >= 6 (Go's shortest `%g` decides with precision 6).
pub(super) fn go_format_float32_g(f: f64) -> String {
    // Narrowing to float32 is the point: sigs.k8s.io/yaml formats with bitSize 32.
    #[allow(clippy::cast_possible_truncation)]
    let x = f as f32;
    if x.is_nan() {
        return "NaN".into();
    }
    if x.is_infinite() {
        return if x > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    if x == 0.0 {
        return if x.is_sign_negative() {
            "-0".into()
        } else {
            "0".into()
        };
    }
    // `{:e}` yields the shortest round-trip digits, e.g. "-1.2345679e7".
    let e = format!("{x:e}");
    let (mantissa, exp) = e.split_once('e').unwrap_or((&e, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let (neg, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => (true, m),
        None => (false, mantissa),
    };
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    if !(-4..6).contains(&exp) {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push('e');
        out.push(if exp < 0 { '-' } else { '+' });
        out.push_str(&format!("{:02}", exp.abs()));
        return out;
    }
    let point = exp + 1; // digits before the decimal point
    if point <= 0 {
        out.push_str("0.");
        for _ in 0..(-point) {
            out.push('0');
        }
        out.push_str(&digits);
    } else {
        let point = point as usize;
        if digits.len() <= point {
            out.push_str(&digits);
            for _ in digits.len()..point {
                out.push('0');
            }
        } else {
            out.push_str(&digits[..point]);
            out.push('.');
            out.push_str(&digits[point..]);
        }
    }
    out
}
