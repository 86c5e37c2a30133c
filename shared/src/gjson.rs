//! The part of tidwall/gjson's path syntax that ESO users write in `remoteRef.property`.
//!
//! Supported: dotted keys (`name.first`), array indices (`friends.1.first`), `#` as array length
//! (`friends.#`) or to collect from every element (`friends.#.first` → `["Dale","Roger"]`),
//! escaped separators and wildcards (`a\.b`, `a\*`), the wildcards `*` and `?` in object keys
//! (the first matching key in document order wins, as in gjson), and the pipe `|`, which applies
//! the rest of the path to the result so far (`friends.#.first|0` → `Dale`).
//!
//! Not supported, and reported as [`GjsonError`] instead of silently returning nothing:
//! modifiers (`@reverse`, `@this`, ...), queries (`#(last=="Murphy")`, `#(...)#`), multipaths
//! (`[a,b]`, `{a,b}`) and literals (`!true`). gjson is lenient with malformed JSON; here a document
//! that is not valid JSON simply has no values (`Ok(None)`).
//!
//! Results are formatted the way ESO stores them (`Result.String()` in gjson): strings unquoted,
//! `true`/`false`, `null` as the empty string, integers as written, other numbers in Go's
//! shortest decimal form, and objects/arrays as their raw JSON text from the document.

use std::fmt;

/// A path uses gjson syntax this implementation does not support.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unsupported gjson path {path:?}: {what} are not supported")]
pub struct GjsonError {
    /// The whole path as given.
    pub path: String,
    /// The construct that is not supported.
    pub what: &'static str,
}

/// Kind of JSON value a path selected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Null,
    False,
    True,
    Number,
    String,
    /// An object or array.
    Json,
}

/// The value a path selected, as raw JSON text.
#[derive(Clone, PartialEq, Eq)]
pub struct GjsonValue {
    raw: String,
}

impl fmt::Debug for GjsonValue {
    // Selected values are usually secrets.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "GjsonValue({:?}, <redacted>)", self.kind())
    }
}

impl GjsonValue {
    /// The raw JSON text of the value (strings with their quotes).
    pub fn raw(&self) -> &str {
        &self.raw
    }

    /// What kind of value this is.
    pub fn kind(&self) -> Kind {
        match self.raw.as_bytes().first() {
            Some(b'"') => Kind::String,
            Some(b't') => Kind::True,
            Some(b'f') => Kind::False,
            Some(b'n') => Kind::Null,
            Some(b'{' | b'[') => Kind::Json,
            _ => Kind::Number,
        }
    }

    /// The value as ESO writes it into a Secret (gjson `Result.String()`).
    pub fn to_value_string(&self) -> String {
        match self.kind() {
            Kind::String => unescape_string(&self.raw).unwrap_or_default(),
            Kind::True => "true".into(),
            Kind::False => "false".into(),
            Kind::Null => String::new(),
            Kind::Json => self.raw.clone(),
            Kind::Number => {
                let digits = self.raw.strip_prefix('-').unwrap_or(&self.raw);
                if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
                    self.raw.clone()
                } else {
                    // Rust's f64 Display is the shortest round-trip form without exponent, which
                    // is Go's strconv.FormatFloat(f, 'f', -1, 64).
                    self.raw
                        .parse::<f64>()
                        .map(|f| f.to_string())
                        .unwrap_or_else(|_| self.raw.clone())
                }
            }
        }
    }
}

/// Looks `path` up in `json`. `Ok(None)` when nothing matches (gjson's `!Exists()`).
pub fn get(json: &str, path: &str) -> Result<Option<GjsonValue>, GjsonError> {
    let stages = parse_path(path)?;
    let Some(root) = value_at(json.as_bytes(), skip_ws(json.as_bytes(), 0)) else {
        return Ok(None);
    };
    let mut current = root.to_string();
    for stage in &stages {
        match eval(&current, stage) {
            Some(next) => current = next,
            None => return Ok(None),
        }
    }
    Ok(Some(GjsonValue { raw: current }))
}

/// Convenience: [`get`] formatted with [`GjsonValue::to_value_string`].
pub fn get_string(json: &str, path: &str) -> Result<Option<String>, GjsonError> {
    Ok(get(json, path)?.map(|v| v.to_value_string()))
}

#[derive(Clone, Debug, PartialEq)]
enum Component {
    /// A key (or array index); `glob` when it contains unescaped `*`/`?`.
    Key { text: String, glob: bool },
    /// `#`: length of an array, or collect over its elements.
    Hash,
}

/// Splits the path into pipe-separated stages of dot-separated components.
fn parse_path(path: &str) -> Result<Vec<Vec<Component>>, GjsonError> {
    let unsupported = |what| GjsonError {
        path: path.to_string(),
        what,
    };
    let mut stages = vec![Vec::new()];
    let mut text = String::new();
    let mut glob = false;
    let mut escaped_any = false;
    let mut at_start = true;
    let mut chars = path.chars().peekable();
    let finish =
        |stages: &mut Vec<Vec<Component>>, text: &mut String, glob: &mut bool, esc: bool| {
            let comp = if text == "#" && !esc {
                Component::Hash
            } else {
                Component::Key {
                    text: std::mem::take(text),
                    glob: *glob,
                }
            };
            text.clear();
            *glob = false;
            if let Some(stage) = stages.last_mut() {
                stage.push(comp);
            }
        };
    while let Some(c) = chars.next() {
        if at_start {
            match c {
                '@' => return Err(unsupported("modifiers (@...)")),
                '[' | '{' => return Err(unsupported("multipaths ([...], {...})")),
                '!' => return Err(unsupported("literals (!...)")),
                _ => {}
            }
        }
        at_start = false;
        match c {
            '\\' => {
                if let Some(next) = chars.next() {
                    text.push(next);
                    escaped_any = true;
                }
            }
            '.' | '|' => {
                finish(&mut stages, &mut text, &mut glob, escaped_any);
                escaped_any = false;
                if c == '|' {
                    stages.push(Vec::new());
                }
                at_start = true;
            }
            '#' if text.is_empty() && matches!(chars.peek(), Some('(')) => {
                return Err(unsupported("queries (#(...))"));
            }
            '*' | '?' => {
                glob = true;
                text.push(c);
            }
            c => text.push(c),
        }
    }
    finish(&mut stages, &mut text, &mut glob, escaped_any);
    Ok(stages)
}

/// Applies one stage (dot-separated components) to a raw JSON value.
fn eval(raw: &str, comps: &[Component]) -> Option<String> {
    let Some((first, rest)) = comps.split_first() else {
        return Some(raw.to_string());
    };
    let bytes = raw.as_bytes();
    match first {
        Component::Hash => {
            let items = array_items(bytes)?;
            if rest.is_empty() {
                return Some(items.len().to_string());
            }
            let collected: Vec<String> = items.iter().filter_map(|item| eval(item, rest)).collect();
            Some(format!("[{}]", collected.join(",")))
        }
        Component::Key { text, glob } => {
            let child = match bytes.first()? {
                b'{' => object_entries(bytes)?
                    .into_iter()
                    .find(|(key, _)| {
                        if *glob {
                            glob_match(text.as_bytes(), key.as_bytes())
                        } else {
                            key == text
                        }
                    })
                    .map(|(_, v)| v)?,
                b'[' if !glob => {
                    let index: usize = text.parse().ok()?;
                    if !text.bytes().all(|b| b.is_ascii_digit()) {
                        return None;
                    }
                    *array_items(bytes)?.get(index)?
                }
                _ => return None,
            };
            eval(child, rest)
        }
    }
}

/// gjson's wildcard match: `*` any run, `?` any one character.
fn glob_match(pattern: &[u8], text: &[u8]) -> bool {
    let pattern: Vec<char> = String::from_utf8_lossy(pattern).chars().collect();
    let text: Vec<char> = String::from_utf8_lossy(text).chars().collect();
    let (mut p, mut t) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while t < text.len() {
        if p < pattern.len() && (pattern[p] == '?' || pattern[p] == text[t]) {
            p += 1;
            t += 1;
        } else if p < pattern.len() && pattern[p] == '*' {
            star = Some(p);
            mark = t;
            p += 1;
        } else if let Some(s) = star {
            p = s + 1;
            mark += 1;
            t = mark;
        } else {
            return false;
        }
    }
    while p < pattern.len() && pattern[p] == '*' {
        p += 1;
    }
    p == pattern.len()
}

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && matches!(b[i], b' ' | b'\t' | b'\n' | b'\r') {
        i += 1;
    }
    i
}

/// The raw text of the JSON value starting at `i` (which must not be whitespace).
fn value_at(b: &[u8], i: usize) -> Option<&str> {
    let end = scan_value(b, i)?;
    std::str::from_utf8(b.get(i..end)?).ok()
}

/// Returns the index just past the JSON value starting at `i`.
fn scan_value(b: &[u8], i: usize) -> Option<usize> {
    match *b.get(i)? {
        b'"' => scan_string(b, i),
        b'{' => {
            let mut j = skip_ws(b, i + 1);
            if b.get(j) == Some(&b'}') {
                return Some(j + 1);
            }
            loop {
                j = scan_string(b, j)?;
                j = skip_ws(b, j);
                if b.get(j) != Some(&b':') {
                    return None;
                }
                j = scan_value(b, skip_ws(b, j + 1))?;
                j = skip_ws(b, j);
                match b.get(j)? {
                    b',' => j = skip_ws(b, j + 1),
                    b'}' => return Some(j + 1),
                    _ => return None,
                }
            }
        }
        b'[' => {
            let mut j = skip_ws(b, i + 1);
            if b.get(j) == Some(&b']') {
                return Some(j + 1);
            }
            loop {
                j = scan_value(b, j)?;
                j = skip_ws(b, j);
                match b.get(j)? {
                    b',' => j = skip_ws(b, j + 1),
                    b']' => return Some(j + 1),
                    _ => return None,
                }
            }
        }
        b't' => literal(b, i, b"true"),
        b'f' => literal(b, i, b"false"),
        b'n' => literal(b, i, b"null"),
        b'-' | b'0'..=b'9' => {
            let mut j = i + 1;
            while j < b.len() && matches!(b[j], b'0'..=b'9' | b'.' | b'e' | b'E' | b'+' | b'-') {
                j += 1;
            }
            let text = std::str::from_utf8(&b[i..j]).ok()?;
            text.parse::<f64>().ok().map(|_| j)
        }
        _ => None,
    }
}

fn literal(b: &[u8], i: usize, word: &[u8]) -> Option<usize> {
    (b.get(i..i + word.len())? == word).then_some(i + word.len())
}

fn scan_string(b: &[u8], i: usize) -> Option<usize> {
    if b.get(i) != Some(&b'"') {
        return None;
    }
    let mut j = i + 1;
    while j < b.len() {
        match b[j] {
            b'\\' => j += 2,
            b'"' => return Some(j + 1),
            _ => j += 1,
        }
    }
    None
}

fn unescape_string(raw: &str) -> Option<String> {
    serde_json::from_str::<String>(raw).ok()
}

fn object_entries(b: &[u8]) -> Option<Vec<(String, &str)>> {
    let mut out = Vec::new();
    let mut j = skip_ws(b, 1);
    if b.get(j) == Some(&b'}') {
        return Some(out);
    }
    loop {
        let key_end = scan_string(b, j)?;
        let key = unescape_string(std::str::from_utf8(b.get(j..key_end)?).ok()?)?;
        j = skip_ws(b, key_end);
        if b.get(j) != Some(&b':') {
            return None;
        }
        let start = skip_ws(b, j + 1);
        let end = scan_value(b, start)?;
        out.push((key, std::str::from_utf8(b.get(start..end)?).ok()?));
        j = skip_ws(b, end);
        match b.get(j)? {
            b',' => j = skip_ws(b, j + 1),
            b'}' => return Some(out),
            _ => return None,
        }
    }
}

fn array_items(b: &[u8]) -> Option<Vec<&str>> {
    if b.first() != Some(&b'[') {
        return None;
    }
    let mut out = Vec::new();
    let mut j = skip_ws(b, 1);
    if b.get(j) == Some(&b']') {
        return Some(out);
    }
    loop {
        let end = scan_value(b, j)?;
        out.push(std::str::from_utf8(b.get(j..end)?).ok()?);
        j = skip_ws(b, end);
        match b.get(j)? {
            b',' => j = skip_ws(b, j + 1),
            b']' => return Some(out),
            _ => return None,
        }
    }
}

/// The fields of a JSON object in document order (later duplicates win when collected into a
/// map), each as its raw value. `None` when `json` is not an object.
pub fn object_fields(json: &str) -> Option<Vec<(String, GjsonValue)>> {
    let b = json.as_bytes();
    let start = skip_ws(b, 0);
    let end = scan_value(b, start)?;
    if skip_ws(b, end) != b.len() || b.get(start) != Some(&b'{') {
        return None;
    }
    let entries = object_entries(b.get(start..end)?)?;
    Some(
        entries
            .into_iter()
            .map(|(k, raw)| {
                (
                    k,
                    GjsonValue {
                        raw: raw.to_string(),
                    },
                )
            })
            .collect(),
    )
}

impl GjsonValue {
    /// How ESO splits a JSON object into Secret keys (`json.RawMessage` per field, then an
    /// attempt to read it as a Go string): strings unquoted, `null` empty, everything else as
    /// its raw JSON text, byte for byte.
    pub fn to_field_bytes(&self) -> Vec<u8> {
        match self.kind() {
            Kind::String => unescape_string(&self.raw).unwrap_or_default().into_bytes(),
            Kind::Null => Vec::new(),
            _ => self.raw.clone().into_bytes(),
        }
    }
}
