//! Go literal syntax: `strconv.Unquote` and the template parser's number rules.

use super::ast::Number;
use super::lexer::ItemType as T;

/// Go's `strconv.Unquote` for the string forms the lexer produces.
pub(crate) fn unquote(s: &str) -> Result<String, String> {
    if s.len() >= 2 && s.starts_with('`') && s.ends_with('`') {
        return Ok(s[1..s.len() - 1].replace('\r', ""));
    }
    if s.len() < 2 || !s.starts_with('"') || !s.ends_with('"') {
        return Err("invalid syntax".into());
    }
    let body = &s[1..s.len() - 1];
    let mut out = Vec::new();
    let mut rest = body;
    while !rest.is_empty() {
        let (bytes, tail) = unquote_char(rest, b'"')?;
        out.extend_from_slice(&bytes);
        rest = tail;
    }
    String::from_utf8(out).map_err(|_| "invalid syntax".to_string())
}

/// One (possibly escaped) character; returns its UTF-8 bytes and the remaining input.
fn unquote_char(s: &str, quote: u8) -> Result<(Vec<u8>, &str), String> {
    let bad = || "invalid syntax".to_string();
    let b = s.as_bytes();
    if b[0] == quote && (quote == b'\'' || quote == b'"') {
        return Err(bad());
    }
    if b[0] != b'\\' {
        let c = s.chars().next().ok_or_else(bad)?;
        return Ok((c.to_string().into_bytes(), &s[c.len_utf8()..]));
    }
    if b.len() < 2 {
        return Err(bad());
    }
    let simple = |c: u8| Ok((vec![c], &s[2..]));
    match b[1] {
        b'a' => simple(7),
        b'b' => simple(8),
        b'f' => simple(12),
        b'n' => simple(b'\n'),
        b'r' => simple(b'\r'),
        b't' => simple(b'\t'),
        b'v' => simple(11),
        b'\\' => simple(b'\\'),
        c @ (b'\'' | b'"') => {
            if c != quote {
                return Err(bad());
            }
            simple(c)
        }
        c @ (b'x' | b'u' | b'U') => {
            let n = match c {
                b'x' => 2,
                b'u' => 4,
                _ => 8,
            };
            let hex = s.get(2..2 + n).ok_or_else(bad)?;
            let v = u32::from_str_radix(hex, 16).map_err(|_| bad())?;
            if c == b'x' {
                return Ok((vec![v as u8], &s[2 + n..]));
            }
            let ch = char::from_u32(v).ok_or_else(bad)?;
            Ok((ch.to_string().into_bytes(), &s[2 + n..]))
        }
        b'0'..=b'7' => {
            let oct = s.get(1..4).ok_or_else(bad)?;
            let v = u32::from_str_radix(oct, 8).map_err(|_| bad())?;
            if v > 255 {
                return Err(bad());
            }
            Ok((vec![v as u8], &s[4..]))
        }
        _ => Err(bad()),
    }
}

fn parse_int_base0(text: &str) -> Option<(bool, u64)> {
    let (neg, t) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    let t = t.replace('_', "");
    let lower = t.to_ascii_lowercase();
    let (radix, digits) = if let Some(d) = lower.strip_prefix("0x") {
        (16, d.to_string())
    } else if let Some(d) = lower.strip_prefix("0o") {
        (8, d.to_string())
    } else if let Some(d) = lower.strip_prefix("0b") {
        (2, d.to_string())
    } else if lower.len() > 1 && lower.starts_with('0') {
        (8, lower[1..].to_string())
    } else {
        (10, lower)
    };
    if digits.is_empty() {
        return None;
    }
    u64::from_str_radix(&digits, radix).ok().map(|v| (neg, v))
}

pub(crate) fn parse_number(text: &str, typ: T) -> Result<Number, String> {
    let mut n = Number {
        is_int: false,
        is_float: false,
        is_uint: false,
        int: 0,
        float: 0.0,
    };
    if typ == T::CharConstant {
        let inner = &text[1..];
        let (bytes, tail) = unquote_char(inner, b'\'').map_err(|e| e.to_string())?;
        if tail != "'" {
            return Err(format!("malformed character constant: {text}"));
        }
        let c = std::str::from_utf8(&bytes)
            .ok()
            .and_then(|s| s.chars().next())
            .map(|c| c as i64)
            .unwrap_or(bytes.first().copied().unwrap_or(0) as i64);
        n.int = c;
        n.float = c as f64;
        n.is_int = true;
        n.is_uint = true;
        n.is_float = true;
        return Ok(n);
    }
    if typ == T::Complex || text.ends_with('i') {
        return Err(format!(
            "complex constants are not supported: {}",
            super::fmt::quote(text)
        ));
    }
    let parsed = parse_int_base0(text);
    if let Some((neg, u)) = parsed {
        if !neg {
            n.is_uint = true;
        }
        let i = if neg {
            if u <= i64::MAX as u64 + 1 {
                Some((u as i64).wrapping_neg())
            } else {
                None
            }
        } else if u <= i64::MAX as u64 {
            Some(u as i64)
        } else {
            None
        };
        if let Some(i) = i {
            n.is_int = true;
            n.int = i;
            if i == 0 {
                n.is_uint = true;
            }
        }
        if n.is_int {
            n.is_float = true;
            n.float = n.int as f64;
        } else if n.is_uint {
            n.is_float = true;
            n.float = u as f64;
        }
    } else if let Some(f) = parse_go_float(text) {
        if !text.contains(['.', 'e', 'E', 'p', 'P']) {
            return Err(format!("integer overflow: {}", super::fmt::quote(text)));
        }
        n.is_float = true;
        n.float = f;
        if f.fract() == 0.0 && (-9.223372036854776e18..9.223372036854776e18).contains(&f) {
            n.is_int = true;
            n.int = f as i64;
        }
        if f.fract() == 0.0 && (0.0..1.8446744073709552e19).contains(&f) {
            n.is_uint = true;
        }
    }
    if !n.is_int && !n.is_uint && !n.is_float {
        return Err(format!(
            "illegal number syntax: {}",
            super::fmt::quote(text)
        ));
    }
    Ok(n)
}

fn parse_go_float(text: &str) -> Option<f64> {
    let t = text.replace('_', "");
    let lower = t.to_ascii_lowercase();
    let (neg, body) = match lower.as_bytes().first()? {
        b'-' => (true, &lower[1..]),
        b'+' => (false, &lower[1..]),
        _ => (false, &lower[..]),
    };
    let v = if let Some(h) = body.strip_prefix("0x") {
        let (mant, exp) = h.split_once('p')?;
        let exp: i32 = exp.parse().ok()?;
        let (ip, fp) = mant.split_once('.').unwrap_or((mant, ""));
        let mut v = 0f64;
        for c in ip.chars().chain(fp.chars()) {
            v = v * 16.0 + c.to_digit(16)? as f64;
        }
        v * 2f64.powi(exp - 4 * fp.len() as i32)
    } else {
        if body.is_empty() || body.starts_with('e') {
            return None;
        }
        body.parse::<f64>().ok()?
    };
    Some(if neg { -v } else { v })
}
