//! RFC 6902 JSON Patch with the error texts of gopkg.in/evanphx/json-patch.v4, the library the
//! apiserver applies mutating-webhook patches with (its messages reach the client verbatim,
//! e.g. `error in remove for path: '/spec/x': Unable to remove nonexistent key: x: missing value`).
//! v4 quirk kept: `replace` of a missing object key behaves like `add`.

use serde_json::{Map, Value};

const MISSING: &str = "missing value";
const TEST_FAILED: &str = "test failed";
const INVALID_INDEX: &str = "invalid index referenced";

/// Applies `patch` (an array of operations) to `doc` in place; on error `doc` is unchanged.
pub fn apply(doc: &mut Value, patch: &Value) -> Result<(), String> {
    let ops = patch
        .as_array()
        .ok_or("json: cannot unmarshal into Go value of type jsonpatch.Patch")?;
    let mut work = doc.clone();
    for op in ops {
        apply_one(&mut work, op)?;
    }
    *doc = work;
    Ok(())
}

fn field<'a>(op: &'a Value, key: &str) -> Option<&'a str> {
    op.get(key).and_then(Value::as_str)
}

fn apply_one(doc: &mut Value, op: &Value) -> Result<(), String> {
    let kind = field(op, "op").unwrap_or("unknown");
    let value = op.get("value").cloned().unwrap_or(Value::Null);
    match kind {
        "add" => {
            let path = field(op, "path")
                .ok_or(format!("add operation failed to decode path: {MISSING}"))?;
            let Some((con, key)) = find(doc, path) else {
                return Err(format!(
                    "add operation does not apply: doc is missing path: \"{path}\": {MISSING}"
                ));
            };
            add(con, &key, value).map_err(|e| format!("error in add for path: '{path}': {e}"))
        }
        "remove" => {
            let path = field(op, "path").ok_or(format!("error reading path: {MISSING}"))?;
            let Some((con, key)) = find(doc, path) else {
                return Err(format!(
                    "remove operation does not apply: doc is missing path: \"{path}\": {MISSING}"
                ));
            };
            remove(con, &key)
                .map(drop)
                .map_err(|e| format!("error in remove for path: '{path}': {e}"))
        }
        "replace" => {
            let path = field(op, "path").ok_or(format!(
                "replace operation failed to decode path: {MISSING}"
            ))?;
            let Some((con, key)) = find(doc, path) else {
                return Err(format!(
                    "replace operation does not apply: doc is missing path: {path}: {MISSING}"
                ));
            };
            if con.is_array() && get(con, &key).is_err() {
                return Err(format!(
                    "replace operation does not apply: doc is missing key: {path}: {MISSING}"
                ));
            }
            set(con, &key, value).map_err(|e| format!("error in remove for path: '{path}': {e}"))
        }
        "move" | "copy" => {
            let from = field(op, "from")
                .ok_or(format!("{kind} operation failed to decode from: {MISSING}"))?;
            let path = field(op, "path")
                .ok_or(format!("{kind} operation failed to decode path: {MISSING}"))?;
            let Some((con, key)) = find(doc, from) else {
                return Err(format!(
                    "{kind} operation does not apply: doc is missing from path: {from}: {MISSING}"
                ));
            };
            let val = if kind == "move" {
                remove(con, &key).map_err(|e| format!("error in move for path: '{key}': {e}"))?
            } else {
                get(con, &key)
                    .map_err(|e| format!("error in copy for from: '{from}': {e}"))?
                    .clone()
            };
            let Some((con, key)) = find(doc, path) else {
                return Err(format!(
                    "{kind} operation does not apply: doc is missing destination path: {path}: {MISSING}"
                ));
            };
            add(con, &key, val).map_err(|e| format!("error in {kind} for path: '{path}': {e}"))
        }
        "test" => {
            let path = field(op, "path")
                .ok_or(format!("test operation failed to decode path: {MISSING}"))?;
            let Some((con, key)) = find(doc, path) else {
                return Err(format!(
                    "test operation does not apply: is missing path: {path}: {MISSING}"
                ));
            };
            let current = get(con, &key).ok().cloned().unwrap_or(Value::Null);
            if current == value {
                Ok(())
            } else {
                Err(format!("testing value {path} failed: {TEST_FAILED}"))
            }
        }
        other => Err(format!("Unexpected kind: {other}: unknown object type")),
    }
}

fn unescape(part: &str) -> String {
    part.replace("~1", "/").replace("~0", "~")
}

/// evanphx `findObject`: the container holding the last path segment, and that segment.
fn find<'a>(doc: &'a mut Value, path: &str) -> Option<(&'a mut Value, String)> {
    let mut parts: Vec<String> = path.split('/').skip(1).map(unescape).collect();
    let key = parts.pop()?;
    let mut cur = doc;
    for part in parts {
        cur = match cur {
            Value::Object(m) => m.get_mut(&part)?,
            Value::Array(a) => {
                let idx: usize = part.parse().ok()?;
                a.get_mut(idx)?
            }
            _ => return None,
        };
    }
    if cur.is_object() || cur.is_array() {
        Some((cur, key))
    } else {
        None
    }
}

fn index(key: &str, len: usize) -> Result<usize, String> {
    let idx: i64 = key
        .parse()
        .map_err(|_| format!("value was not a proper array index: '{key}': strconv.Atoi: parsing \"{key}\": invalid syntax"))?;
    match usize::try_from(idx) {
        Ok(i) if i < len => Ok(i),
        _ => Err(format!(
            "Unable to access invalid index: {idx}: {INVALID_INDEX}"
        )),
    }
}

fn get<'a>(con: &'a Value, key: &str) -> Result<&'a Value, String> {
    match con {
        Value::Object(m) => m
            .get(key)
            .ok_or_else(|| format!("Unable to get nonexistent key: {key}: {MISSING}")),
        Value::Array(a) => index(key, a.len()).map(|i| &a[i]),
        _ => Err(MISSING.into()),
    }
}

fn add(con: &mut Value, key: &str, val: Value) -> Result<(), String> {
    match con {
        Value::Object(m) => {
            m.insert(key.to_owned(), val);
            Ok(())
        }
        Value::Array(a) if key == "-" => {
            a.push(val);
            Ok(())
        }
        Value::Array(a) => {
            let i = index(key, a.len() + 1)?;
            a.insert(i, val);
            Ok(())
        }
        _ => Err(MISSING.into()),
    }
}

fn set(con: &mut Value, key: &str, val: Value) -> Result<(), String> {
    match con {
        Value::Object(m) => {
            m.insert(key.to_owned(), val);
            Ok(())
        }
        Value::Array(a) => {
            let i = index(key, a.len())?;
            a[i] = val;
            Ok(())
        }
        _ => Err(MISSING.into()),
    }
}

fn remove(con: &mut Value, key: &str) -> Result<Value, String> {
    match con {
        Value::Object(m) => remove_key(m, key),
        Value::Array(a) => {
            let i = index(key, a.len())?;
            Ok(a.remove(i))
        }
        _ => Err(MISSING.into()),
    }
}

fn remove_key(m: &mut Map<String, Value>, key: &str) -> Result<Value, String> {
    m.remove(key)
        .ok_or_else(|| format!("Unable to remove nonexistent key: {key}: {MISSING}"))
}

/// Go `encoding/json` wording for a syntax error in `input`, from serde_json's classification.
pub fn go_json_error(input: &[u8], e: &serde_json::Error) -> String {
    use serde_json::error::Category;
    match e.classify() {
        Category::Eof => "unexpected end of JSON input".into(),
        Category::Syntax => {
            let line_start: usize = input
                .split(|b| *b == b'\n')
                .take(e.line().saturating_sub(1))
                .map(|l| l.len() + 1)
                .sum();
            let at = line_start + e.column().saturating_sub(1);
            let c = input.get(at).map_or('?', |b| char::from(*b));
            let context = if e.to_string().starts_with("expected value") || at == 0 {
                "looking for beginning of value"
            } else {
                "after top-level value"
            };
            format!("invalid character '{c}' {context}")
        }
        _ => e.to_string(),
    }
}
