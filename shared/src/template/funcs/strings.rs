//! Sprig string functions, regular expressions, paths and URLs.

use std::collections::BTreeMap;

use rand::Rng;
use regex::Regex;

use super::{FuncDef, def, i, s, strval, sv};
use crate::template::fmt::quote;
use crate::template::value::Value;

pub(crate) static FUNCS: &[FuncDef] = &[
    def!("hello", [], |_| sv("Hello!")),
    def!("abbrev", [Int, Str], |a| sv(abbrev(i(&a[0]), &s(&a[1])))),
    def!("abbrevboth", [Int, Int, Str], |a| sv(abbrevboth(
        i(&a[0]),
        i(&a[1]),
        &s(&a[2])
    ))),
    def!("trunc", [Int, Str], |a| {
        let (c, st) = (i(&a[0]), s(&a[1]));
        let len = st.len() as i64;
        Ok(Value::from_bytes(if c < 0 && len + c > 0 {
            st.as_bytes()[(len + c) as usize..].to_vec()
        } else if c >= 0 && len > c {
            st.as_bytes()[..c as usize].to_vec()
        } else {
            st.into_bytes()
        }))
    }),
    def!("trim", [Str], |a| sv(s(&a[0]).trim())),
    def!("upper", [Str], |a| sv(s(&a[0]).to_uppercase())),
    def!("lower", [Str], |a| sv(s(&a[0]).to_lowercase())),
    def!("title", [Str], |a| sv(title(&s(&a[0])))),
    def!("untitle", [Str], |a| sv(untitle(&s(&a[0])))),
    def!("substr", [Int, Int, Str], |a| {
        let (start, end, st) = (i(&a[0]), i(&a[1]), s(&a[2]));
        let b = st.as_bytes();
        let len = b.len() as i64;
        let r = if start < 0 {
            b.get(..end.clamp(0, len) as usize)
        } else if end < 0 || end > len {
            b.get(start.min(len) as usize..)
        } else {
            b.get(start as usize..end as usize)
        };
        match r {
            Some(r) => Ok(Value::from_bytes(r.to_vec())),
            None => Err(format!(
                "runtime error: slice bounds out of range [{start}:{end}]"
            )),
        }
    }),
    def!("repeat", [Int, Str], |a| {
        let n = i(&a[0]);
        if n < 0 {
            return Err("strings: negative Repeat count".into());
        }
        sv(s(&a[1]).repeat(n as usize))
    }),
    def!("trimall", [Str, Str], |a| sv(trim_chars(
        &s(&a[1]),
        &s(&a[0])
    ))),
    def!("trimAll", [Str, Str], |a| sv(trim_chars(
        &s(&a[1]),
        &s(&a[0])
    ))),
    def!("trimSuffix", [Str, Str], |a| {
        let (suf, st) = (s(&a[0]), s(&a[1]));
        sv(st.strip_suffix(suf.as_str()).unwrap_or(&st))
    }),
    def!("trimPrefix", [Str, Str], |a| {
        let (pre, st) = (s(&a[0]), s(&a[1]));
        sv(st.strip_prefix(pre.as_str()).unwrap_or(&st))
    }),
    def!("nospace", [Str], |a| sv(s(&a[0])
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>())),
    def!("initials", [Str], |a| {
        sv(s(&a[0])
            .split_whitespace()
            .filter_map(|w| w.chars().next())
            .collect::<String>())
    }),
    def!("randAlphaNum", [Int], |a| rand_from(i(&a[0]), ALNUM)),
    def!("randAlpha", [Int], |a| rand_from(i(&a[0]), ALPHA)),
    def!("randAscii", [Int], |a| rand_from(i(&a[0]), ASCII)),
    def!("randNumeric", [Int], |a| rand_from(i(&a[0]), b"0123456789")),
    def!("swapcase", [Str], |a| sv(swapcase(&s(&a[0])))),
    def!("shuffle", [Str], |a| {
        let mut chars: Vec<char> = s(&a[0]).chars().collect();
        let mut rng = rand::rng();
        for k in (1..chars.len()).rev() {
            chars.swap(k, rng.random_range(0..=k));
        }
        sv(chars.into_iter().collect::<String>())
    }),
    def!("snakecase", [Str], |a| sv(delimited_case(&s(&a[0]), '_'))),
    def!("kebabcase", [Str], |a| sv(delimited_case(&s(&a[0]), '-'))),
    def!("camelcase", [Str], |a| sv(camelcase(&s(&a[0])))),
    def!("wrap", [Int, Str], |a| sv(wrap(
        &s(&a[1]),
        i(&a[0]),
        "\n",
        false
    ))),
    def!("wrapWith", [Int, Str, Str], |a| sv(wrap(
        &s(&a[2]),
        i(&a[0]),
        &s(&a[1]),
        true
    ))),
    def!("contains", [Str, Str], |a| Ok(Value::Bool(
        s(&a[1]).contains(s(&a[0]).as_str())
    ))),
    def!("hasPrefix", [Str, Str], |a| Ok(Value::Bool(
        s(&a[1]).starts_with(s(&a[0]).as_str())
    ))),
    def!("hasSuffix", [Str, Str], |a| Ok(Value::Bool(
        s(&a[1]).ends_with(s(&a[0]).as_str())
    ))),
    def!("quote", [], ...Any, |a| {
        let parts: Vec<String> =
            a.iter().filter(|v| !matches!(v, Value::Nil)).map(|v| quote(&strval(v))).collect();
        sv(parts.join(" "))
    }),
    def!("squote", [], ...Any, |a| {
        let parts: Vec<String> =
            a.iter().filter(|v| !matches!(v, Value::Nil)).map(|v| format!("'{}'", strval(v))).collect();
        sv(parts.join(" "))
    }),
    def!("cat", [], ...Any, |a| {
        let parts: Vec<String> =
            a.iter().filter(|v| !matches!(v, Value::Nil)).map(super::sprint_v).collect();
        sv(parts.join(" "))
    }),
    def!("indent", [Int, Str], |a| sv(indent(i(&a[0]), &s(&a[1])))),
    def!("nindent", [Int, Str], |a| sv(format!(
        "\n{}",
        indent(i(&a[0]), &s(&a[1]))
    ))),
    def!("replace", [Str, Str, Str], |a| sv(
        s(&a[2]).replace(s(&a[0]).as_str(), &s(&a[1]))
    )),
    def!("plural", [Str, Str, Int], |a| Ok(if i(&a[2]) == 1 {
        a[0].clone()
    } else {
        a[1].clone()
    })),
    def!("toString", [Any], |a| sv(strval(&a[0]))),
    def!("split", [Str, Str], |a| Ok(indexed_map(
        s(&a[1]).split(s(&a[0]).as_str())
    ))),
    def!("splitList", [Str, Str], |a| {
        let (sep, st) = (s(&a[0]), s(&a[1]));
        Ok(str_list(go_split(&st, &sep, -1)))
    }),
    def!("splitn", [Str, Int, Str], |a| {
        let (sep, n, st) = (s(&a[0]), i(&a[1]), s(&a[2]));
        Ok(indexed_map(go_split(&st, &sep, n).into_iter()))
    }),
    def!("regexMatch", [Str, Str], |a| regex_match(&a)
        .or(Ok(Value::Bool(false)))),
    def!("mustRegexMatch", [Str, Str], |a| regex_match(&a)),
    def!("regexFindAll", [Str, Str, Int], |a| regex_find_all(&a)),
    def!("mustRegexFindAll", [Str, Str, Int], |a| regex_find_all(&a)),
    def!("regexFind", [Str, Str], |a| regex_find(&a)),
    def!("mustRegexFind", [Str, Str], |a| regex_find(&a)),
    def!("regexReplaceAll", [Str, Str, Str], |a| regex_replace(
        &a, false
    )),
    def!("mustRegexReplaceAll", [Str, Str, Str], |a| regex_replace(
        &a, false
    )),
    def!(
        "regexReplaceAllLiteral",
        [Str, Str, Str],
        |a| regex_replace(&a, true)
    ),
    def!("mustRegexReplaceAllLiteral", [Str, Str, Str], |a| {
        regex_replace(&a, true)
    }),
    def!("regexSplit", [Str, Str, Int], |a| regex_split(&a)),
    def!("mustRegexSplit", [Str, Str, Int], |a| regex_split(&a)),
    def!("regexQuoteMeta", [Str], |a| sv(regex::escape(&s(&a[0])))),
    def!("base", [Str], |a| sv(path_base(&s(&a[0])))),
    def!("dir", [Str], |a| sv(path_dir(&s(&a[0])))),
    def!("clean", [Str], |a| sv(path_clean(&s(&a[0])))),
    def!("ext", [Str], |a| sv(path_ext(&s(&a[0])))),
    def!("isAbs", [Str], |a| Ok(Value::Bool(
        s(&a[0]).starts_with('/')
    ))),
    def!("osBase", [Str], |a| sv(path_base(&s(&a[0])))),
    def!("osDir", [Str], |a| sv(path_dir(&s(&a[0])))),
    def!("osClean", [Str], |a| sv(path_clean(&s(&a[0])))),
    def!("osExt", [Str], |a| sv(path_ext(&s(&a[0])))),
    def!("osIsAbs", [Str], |a| Ok(Value::Bool(
        s(&a[0]).starts_with('/')
    ))),
    def!("urlParse", [Str], |a| url_parse(&s(&a[0]))),
    def!("urlJoin", [Map], |a| url_join(&a[0])),
];

const ALPHA: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
const ALNUM: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const ASCII: &[u8] = b" !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~";

/// Random string from `alphabet`; `rand::rng()` is a CSPRNG (ChaCha, OS-seeded).
fn rand_from(n: i64, alphabet: &[u8]) -> Result<Value, String> {
    if n < 0 {
        return Err(format!("count {n} < 0"));
    }
    let mut rng = rand::rng();
    sv((0..n)
        .map(|_| alphabet[rng.random_range(0..alphabet.len())] as char)
        .collect::<String>())
}

fn abbrev(width: i64, st: &str) -> String {
    if width < 4 || st.len() as i64 <= width {
        return st.to_string();
    }
    let cut = (width - 3) as usize;
    String::from_utf8_lossy(&st.as_bytes()[..cut]).into_owned() + "..."
}

fn abbrevboth(left: i64, right: i64, st: &str) -> String {
    if right < 4 || (left > 0 && right < 7) {
        return st.to_string();
    }
    let len = st.len() as i64;
    if len <= right {
        return st.to_string();
    }
    let mut offset = left.min(len);
    if len - offset < right - 3 {
        offset = len - (right - 3);
    }
    let b = st.as_bytes();
    if offset <= 4 {
        return String::from_utf8_lossy(&b[..(right - 3) as usize]).into_owned() + "...";
    }
    if offset + right - 3 < len {
        let rest = String::from_utf8_lossy(&b[offset as usize..]).into_owned();
        return "...".to_string() + &abbrev(right - 3, &rest);
    }
    "...".to_string() + &String::from_utf8_lossy(&b[(len - (right - 3)) as usize..])
}

/// Go's deprecated `strings.Title`: upper-cases letters that follow a separator.
fn title(st: &str) -> String {
    let mut prev = ' ';
    st.chars()
        .map(|c| {
            let is_sep = !(prev.is_alphanumeric() || prev == '_');
            prev = c;
            if is_sep {
                c.to_uppercase().collect::<String>()
            } else {
                c.to_string()
            }
        })
        .collect()
}

fn untitle(st: &str) -> String {
    let mut prev_space = true;
    st.chars()
        .map(|c| {
            let out = if prev_space {
                c.to_lowercase().collect::<String>()
            } else {
                c.to_string()
            };
            prev_space = c.is_whitespace();
            out
        })
        .collect()
}

fn swapcase(st: &str) -> String {
    st.chars()
        .map(|c| {
            if c.is_uppercase() {
                c.to_lowercase().collect::<String>()
            } else if c.is_lowercase() {
                c.to_uppercase().collect::<String>()
            } else {
                c.to_string()
            }
        })
        .collect()
}

fn trim_chars(st: &str, cut: &str) -> String {
    st.trim_matches(|c| cut.contains(c)).to_string()
}

/// huandu/xstrings `ToSnakeCase`/`ToKebabCase`: word boundaries at case changes, digits and
/// non-alphanumerics, all lower case.
fn delimited_case(st: &str, delim: char) -> String {
    let chars: Vec<char> = st.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if !c.is_alphanumeric() {
            if !out.is_empty() && !out.ends_with(delim) {
                out.push(delim);
            }
            i += 1;
            continue;
        }
        if c.is_uppercase() && !out.is_empty() && !out.ends_with(delim) {
            let prev = chars[i - 1];
            let next_lower = chars.get(i + 1).is_some_and(|n| n.is_lowercase());
            if prev.is_lowercase() || prev.is_numeric() || (prev.is_uppercase() && next_lower) {
                out.push(delim);
            }
        }
        out.extend(c.to_lowercase());
        i += 1;
    }
    while out.ends_with(delim) {
        out.pop();
    }
    out
}

/// huandu/xstrings `ToCamelCase`: `_`-separated words, each capitalized.
fn camelcase(st: &str) -> String {
    let mut out = String::new();
    let mut upper_next = true;
    for c in st.chars() {
        if c == '_' {
            upper_next = true;
            continue;
        }
        if upper_next {
            out.extend(c.to_uppercase());
            upper_next = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// Masterminds/goutils `WrapCustom`.
fn wrap(st: &str, width: i64, nl: &str, long_words: bool) -> String {
    let width = if width < 1 { 1 } else { width as usize };
    let chars: Vec<char> = st.chars().collect();
    let len = chars.len();
    let mut out = String::new();
    let mut offset = 0;
    while len - offset > width {
        if chars[offset] == ' ' {
            offset += 1;
            continue;
        }
        let window: String = chars[offset..=offset + width].iter().collect();
        match window.rfind(' ').map(|b| window[..b].chars().count()) {
            Some(sp) if sp > 0 => {
                out.extend(&chars[offset..offset + sp]);
                out.push_str(nl);
                offset += sp + 1;
            }
            _ => {
                if long_words {
                    out.extend(&chars[offset..offset + width]);
                    out.push_str(nl);
                    offset += width;
                } else {
                    let rest: String = chars[offset + width..].iter().collect();
                    match rest.find(' ') {
                        Some(b) => {
                            let sp = rest[..b].chars().count() + width;
                            out.extend(&chars[offset..offset + sp]);
                            out.push_str(nl);
                            offset += sp + 1;
                        }
                        None => {
                            out.extend(&chars[offset..]);
                            offset = len;
                        }
                    }
                }
            }
        }
    }
    out.extend(&chars[offset.min(len)..]);
    out
}

fn indent(n: i64, st: &str) -> String {
    let pad = " ".repeat(n.max(0) as usize);
    format!("{pad}{}", st.replace('\n', &format!("\n{pad}")))
}

/// Go's `strings.SplitN` (n < 0: all).
fn go_split(st: &str, sep: &str, n: i64) -> Vec<String> {
    if n == 0 {
        return Vec::new();
    }
    if sep.is_empty() {
        let chars: Vec<String> = st.chars().map(String::from).collect();
        if n > 0 && chars.len() > n as usize {
            let mut v = chars[..n as usize - 1].to_vec();
            v.push(chars[n as usize - 1..].concat());
            return v;
        }
        return chars;
    }
    if n < 0 {
        st.split(sep).map(String::from).collect()
    } else {
        st.splitn(n as usize, sep).map(String::from).collect()
    }
}

fn indexed_map<S: Into<String>>(parts: impl Iterator<Item = S>) -> Value {
    let m: BTreeMap<String, Value> = parts
        .enumerate()
        .map(|(k, p)| (format!("_{k}"), Value::String(p.into())))
        .collect();
    Value::map(m)
}

pub(crate) fn str_list(v: Vec<String>) -> Value {
    Value::list(v.into_iter().map(Value::String).collect())
}

fn compile(re: &str) -> Result<Regex, String> {
    Regex::new(re).map_err(|e| format!("error parsing regexp: {e}"))
}

fn regex_match(a: &[Value]) -> Result<Value, String> {
    Ok(Value::Bool(compile(&s(&a[0]))?.is_match(&s(&a[1]))))
}

fn regex_find_all(a: &[Value]) -> Result<Value, String> {
    let re = compile(&s(&a[0]))?;
    let st = s(&a[1]);
    let n = i(&a[2]);
    let it = re.find_iter(&st).map(|m| m.as_str().to_string());
    Ok(str_list(if n < 0 {
        it.collect()
    } else {
        it.take(n as usize).collect()
    }))
}

fn regex_find(a: &[Value]) -> Result<Value, String> {
    let re = compile(&s(&a[0]))?;
    let st = s(&a[1]);
    sv(re
        .find(&st)
        .map(|m| m.as_str().to_string())
        .unwrap_or_default())
}

fn regex_replace(a: &[Value], literal: bool) -> Result<Value, String> {
    let re = compile(&s(&a[0]))?;
    let (st, repl) = (s(&a[1]), s(&a[2]));
    if literal {
        sv(re.replace_all(&st, regex::NoExpand(&repl)).into_owned())
    } else {
        sv(re.replace_all(&st, repl.as_str()).into_owned())
    }
}

fn regex_split(a: &[Value]) -> Result<Value, String> {
    let re = compile(&s(&a[0]))?;
    let st = s(&a[1]);
    let n = i(&a[2]);
    if n == 0 {
        return Ok(Value::Nil);
    }
    let parts: Vec<String> = if n < 0 {
        re.split(&st).map(String::from).collect()
    } else {
        re.splitn(&st, n as usize).map(String::from).collect()
    };
    Ok(str_list(parts))
}

fn path_clean(p: &str) -> String {
    if p.is_empty() {
        return ".".into();
    }
    let rooted = p.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for seg in p.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|l| *l != "..") {
                    parts.pop();
                } else if !rooted {
                    parts.push("..");
                }
            }
            s => parts.push(s),
        }
    }
    let joined = parts.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".into(),
        (false, false) => joined,
    }
}

fn path_base(p: &str) -> String {
    if p.is_empty() {
        return ".".into();
    }
    let t = p.trim_end_matches('/');
    if t.is_empty() {
        return "/".into();
    }
    t.rsplit('/').next().unwrap_or(t).to_string()
}

fn path_dir(p: &str) -> String {
    let dir = match p.rfind('/') {
        Some(i) => &p[..=i],
        None => "",
    };
    path_clean(dir)
}

fn path_ext(p: &str) -> String {
    for (i, c) in p.char_indices().rev() {
        if c == '/' {
            break;
        }
        if c == '.' {
            return p[i..].to_string();
        }
    }
    String::new()
}

/// Go's `url.Parse` reduced to the fields sprig's `urlParse` returns.
fn url_parse(raw: &str) -> Result<Value, String> {
    let mut rest = raw;
    let mut m = BTreeMap::new();
    let fragment = match rest.split_once('#') {
        Some((a, f)) => {
            rest = a;
            f.to_string()
        }
        None => String::new(),
    };
    let mut scheme = String::new();
    if let Some(i) = rest.find(':') {
        let cand = &rest[..i];
        if !cand.is_empty()
            && cand.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
            && cand
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
        {
            scheme = cand.to_ascii_lowercase();
            rest = &rest[i + 1..];
        }
    }
    let query = match rest.split_once('?') {
        Some((a, q)) => {
            rest = a;
            q.to_string()
        }
        None => String::new(),
    };
    let (mut userinfo, mut host, mut opaque) = (String::new(), String::new(), String::new());
    if let Some(r) = rest.strip_prefix("//") {
        let (authority, path) = match r.find('/') {
            Some(i) => (&r[..i], &r[i..]),
            None => (r, ""),
        };
        match authority.rsplit_once('@') {
            Some((u, h)) => {
                userinfo = u.to_string();
                host = h.to_string();
            }
            None => host = authority.to_string(),
        }
        rest = path;
    } else if !scheme.is_empty() && !rest.starts_with('/') {
        opaque = rest.to_string();
        rest = "";
    }
    let hostname = if host.starts_with('[') {
        host.split(']')
            .next()
            .unwrap_or("")
            .trim_start_matches('[')
            .to_string()
    } else {
        host.split(':').next().unwrap_or("").to_string()
    };
    m.insert("scheme".into(), Value::String(scheme));
    m.insert("host".into(), Value::String(host));
    m.insert("hostname".into(), Value::String(hostname));
    m.insert("path".into(), Value::String(rest.to_string()));
    m.insert("query".into(), Value::String(query));
    m.insert("opaque".into(), Value::String(opaque));
    m.insert("fragment".into(), Value::String(fragment));
    m.insert("userinfo".into(), Value::String(userinfo));
    Ok(Value::map(m))
}

fn url_join(d: &Value) -> Result<Value, String> {
    let Value::Map(m) = d else { return sv("") };
    let get = |k: &str| m.get(k).map(strval).unwrap_or_default();
    let mut out = String::new();
    let scheme = get("scheme");
    if !scheme.is_empty() {
        out.push_str(&scheme);
        out.push(':');
    }
    let opaque = get("opaque");
    if !opaque.is_empty() {
        out.push_str(&opaque);
    } else {
        let host = get("host");
        let user = get("userinfo");
        if !scheme.is_empty() || !host.is_empty() || !user.is_empty() {
            out.push_str("//");
            if !user.is_empty() {
                out.push_str(&user);
                out.push('@');
            }
            out.push_str(&host);
        }
        let path = get("path");
        if !path.is_empty() && !path.starts_with('/') && !host.is_empty() {
            out.push('/');
        }
        out.push_str(&path);
    }
    let q = get("query");
    if !q.is_empty() {
        out.push('?');
        out.push_str(&q);
    }
    let f = get("fragment");
    if !f.is_empty() {
        out.push('#');
        out.push_str(&f);
    }
    sv(out)
}
