//! Go `fmt` / `strconv` formatting for the template data model: `Sprint`, `Sprintln`, `Sprintf`
//! (the verbs and flags templates use), `strconv.Quote` and Go's float formatting.

use super::value::Value;

/// Go's `unicode.IsPrint`, approximated with Rust's character classes.
pub(crate) fn is_print(c: char) -> bool {
    if c == ' ' {
        return true;
    }
    if c.is_control() || c.is_whitespace() {
        return false;
    }
    !matches!(c as u32, 0xAD | 0x600..=0x605 | 0x61C | 0x6DD | 0x70F | 0x180E | 0x200B..=0x200F
        | 0x202A..=0x202E | 0x2060..=0x206F | 0xFEFF | 0xFFF9..=0xFFFB | 0xE000..=0xF8FF
        | 0xFFFE | 0xFFFF | 0xF0000.. | 0xD800..=0xDFFF)
        && !is_unassigned(c)
}

fn is_unassigned(c: char) -> bool {
    matches!(c as u32, 0x378..=0x379 | 0x380..=0x383 | 0x38B | 0x38D | 0x3A2 | 0xE0000..=0xE00FF)
}

pub(crate) fn quote_with(bytes: &[u8], quote: char, ascii_only: bool) -> String {
    let mut out = String::with_capacity(bytes.len() + 2);
    out.push(quote);
    let mut i = 0;
    while i < bytes.len() {
        let (c, w) = match decode_rune(&bytes[i..]) {
            Some(x) => x,
            None => {
                out.push_str(&format!("\\x{:02x}", bytes[i]));
                i += 1;
                continue;
            }
        };
        i += w;
        if c == quote || c == '\\' {
            out.push('\\');
            out.push(c);
            continue;
        }
        if if ascii_only {
            c.is_ascii() && is_print(c)
        } else {
            is_print(c)
        } {
            out.push(c);
            continue;
        }
        match c {
            '\x07' => out.push_str("\\a"),
            '\x08' => out.push_str("\\b"),
            '\x0c' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\x0b' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c if (c as u32) < 0x10000 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push_str(&format!("\\U{:08x}", c as u32)),
        }
    }
    out.push(quote);
    out
}

fn decode_rune(b: &[u8]) -> Option<(char, usize)> {
    let n = match b.first()? {
        0..=0x7f => 1,
        0xc0..=0xdf => 2,
        0xe0..=0xef => 3,
        0xf0..=0xf7 => 4,
        _ => return None,
    };
    let s = std::str::from_utf8(b.get(..n)?).ok()?;
    s.chars().next().map(|c| (c, n))
}

/// `strconv.Quote`.
pub(crate) fn quote(s: &str) -> String {
    quote_with(s.as_bytes(), '"', false)
}

pub(crate) fn quote_bytes(b: &[u8]) -> String {
    quote_with(b, '"', false)
}

/// `%#U`: `U+0041 'A'`.
pub(crate) fn sharp_u(c: char) -> String {
    if is_print(c) {
        format!("U+{:04X} '{}'", c as u32, c)
    } else {
        format!("U+{:04X}", c as u32)
    }
}

/// Digits and decimal exponent of the shortest (prec < 0) or `prec`-significant-digit decimal
/// representation of a finite non-negative float: value = 0.d1d2d3... × 10^dp.
fn decimal_digits(f: f64, prec: i32) -> (Vec<u8>, i32) {
    if f == 0.0 {
        return (vec![b'0'], 1);
    }
    let s = if prec < 0 {
        format!("{f:e}")
    } else {
        format!("{:.*e}", (prec.max(1) - 1) as usize, f)
    };
    let (mant, exp) = s.split_once('e').unwrap_or((&s, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: Vec<u8> = mant.bytes().filter(u8::is_ascii_digit).collect();
    (digits, exp + 1)
}

fn fmt_e(digits: &[u8], dp: i32, prec: i32, upper: bool) -> String {
    let mut s = String::new();
    s.push(digits[0] as char);
    let prec = if prec < 0 {
        digits.len() as i32 - 1
    } else {
        prec
    };
    if prec > 0 {
        s.push('.');
        for i in 1..=prec as usize {
            s.push(*digits.get(i).unwrap_or(&b'0') as char);
        }
    }
    let exp = if digits == [b'0'] { 0 } else { dp - 1 };
    s.push(if upper { 'E' } else { 'e' });
    s.push(if exp < 0 { '-' } else { '+' });
    let a = exp.abs();
    if a < 10 {
        s.push('0');
    }
    s.push_str(&a.to_string());
    s
}

fn fmt_f(digits: &[u8], dp: i32, prec: i32) -> String {
    let mut s = String::new();
    if dp > 0 {
        for i in 0..dp as usize {
            s.push(*digits.get(i).unwrap_or(&b'0') as char);
        }
    } else {
        s.push('0');
    }
    if prec > 0 {
        s.push('.');
        for i in 0..prec {
            let j = dp + i;
            let d = if j < 0 {
                b'0'
            } else {
                *digits.get(j as usize).unwrap_or(&b'0')
            };
            s.push(d as char);
        }
    }
    s
}

/// `strconv.FormatFloat(f, fmt, prec, 64)` for 'e', 'E', 'f', 'g', 'G'.
pub(crate) fn format_float(f: f64, fmt: char, prec: i32) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    let neg = f.is_sign_negative();
    let a = f.abs();
    let body = match fmt {
        'e' | 'E' => {
            let (d, dp) = decimal_digits(a, if prec < 0 { -1 } else { prec + 1 });
            fmt_e(&d, dp, prec, fmt == 'E')
        }
        'f' | 'F' => {
            if prec < 0 {
                let (d, dp) = decimal_digits(a, -1);
                fmt_f(&d, dp, (d.len() as i32 - dp).max(0))
            } else {
                format!("{:.*}", prec as usize, a)
            }
        }
        _ => {
            let shortest = prec < 0;
            let p = if prec == 0 { 1 } else { prec };
            let (mut d, dp) = decimal_digits(a, if shortest { -1 } else { p });
            // Go's decimal rounding drops trailing zeros before choosing %e or %f.
            while d.len() > 1 && d.last() == Some(&b'0') {
                d.pop();
            }
            let mut eprec = if shortest { 6 } else { p };
            if !shortest && eprec > d.len() as i32 && d.len() as i32 >= dp {
                eprec = d.len() as i32;
            }
            let exp = dp - 1;
            if exp < -4 || exp >= eprec {
                fmt_e(&d, dp, d.len() as i32 - 1, fmt == 'G')
            } else {
                fmt_f(&d, dp, (d.len() as i32 - dp).max(0))
            }
        }
    };
    if neg { format!("-{body}") } else { body }
}

/// `%v` of a float64.
pub(crate) fn float_v(f: f64) -> String {
    format_float(f, 'g', -1)
}

/// Go's `fmt.Sprint` operand formatting (`%v`).
pub(crate) fn write_v(out: &mut Vec<u8>, v: &Value) {
    match v {
        Value::Nil => out.extend_from_slice(b"<nil>"),
        Value::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Int(i) => out.extend_from_slice(i.to_string().as_bytes()),
        Value::Float(f) => out.extend_from_slice(float_v(*f).as_bytes()),
        Value::String(s) => out.extend_from_slice(s.as_bytes()),
        Value::Bytes(b) => out.extend_from_slice(b),
        Value::List(l) => {
            out.push(b'[');
            for (i, e) in l.iter().enumerate() {
                if i > 0 {
                    out.push(b' ');
                }
                write_v(out, e);
            }
            out.push(b']');
        }
        Value::Map(m) => {
            out.extend_from_slice(b"map[");
            for (i, (k, e)) in m.iter().enumerate() {
                if i > 0 {
                    out.push(b' ');
                }
                out.extend_from_slice(k.as_bytes());
                out.push(b':');
                write_v(out, e);
            }
            out.push(b']');
        }
        Value::Time(t) => out.extend_from_slice(super::funcs::dates::go_time_string(t).as_bytes()),
    }
}

pub(crate) fn sprint(args: &[Value]) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, a) in args.iter().enumerate() {
        if i > 0 && !a.is_string() && !args[i - 1].is_string() {
            out.push(b' ');
        }
        write_v(&mut out, a);
    }
    out
}

pub(crate) fn sprintln(args: &[Value]) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, a) in args.iter().enumerate() {
        if i > 0 {
            out.push(b' ');
        }
        write_v(&mut out, a);
    }
    out.push(b'\n');
    out
}

pub(crate) use super::printf::sprintf;
