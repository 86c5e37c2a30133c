//! Go's `fmt.Sprintf` over template values: flags `+-# 0`, width, precision, `*`, `[n]`
//! argument indexes and the error forms (`%!d(string=x)`, `%!v(MISSING)`, `%!(EXTRA ...)`).

use super::fmt::{format_float, is_print, quote_bytes, quote_with, write_v};
use super::value::Value;

#[derive(Default, Clone, Copy)]
struct Flags {
    plus: bool,
    minus: bool,
    sharp: bool,
    space: bool,
    zero: bool,
    wid: Option<usize>,
    prec: Option<usize>,
}

struct Printer {
    buf: Vec<u8>,
    f: Flags,
}

impl Printer {
    fn pad(&mut self, s: &[u8]) {
        let Some(w) = self.f.wid else {
            self.buf.extend_from_slice(s);
            return;
        };
        let n = String::from_utf8_lossy(s).chars().count();
        if n >= w {
            self.buf.extend_from_slice(s);
            return;
        }
        let padb = if self.f.zero && !self.f.minus {
            b'0'
        } else {
            b' '
        };
        if self.f.minus {
            self.buf.extend_from_slice(s);
            self.buf.extend(std::iter::repeat_n(b' ', w - n));
        } else {
            self.buf.extend(std::iter::repeat_n(padb, w - n));
            self.buf.extend_from_slice(s);
        }
    }

    fn fmt_integer(&mut self, v: i64, base: u32, verb: char) {
        let neg = v < 0;
        let u = v.unsigned_abs();
        let mut digits = match (base, verb) {
            (16, 'X') => format!("{u:X}"),
            (16, _) => format!("{u:x}"),
            (8, _) => format!("{u:o}"),
            (2, _) => format!("{u:b}"),
            _ => u.to_string(),
        };
        let mut prec = self.f.prec;
        if prec.is_none()
            && self.f.zero
            && !self.f.minus
            && let Some(w) = self.f.wid
        {
            let mut p = w;
            if neg || self.f.plus || self.f.space {
                p = p.saturating_sub(1);
            }
            prec = Some(p);
        }
        if let Some(p) = prec {
            if p == 0 && u == 0 {
                let old = self.f.zero;
                self.f.zero = false;
                self.pad(b"");
                self.f.zero = old;
                return;
            }
            if digits.len() < p {
                digits = "0".repeat(p - digits.len()) + &digits;
            }
        }
        let mut prefix = String::new();
        if self.f.sharp {
            match verb {
                'o' if !digits.starts_with('0') => prefix.push('0'),
                'x' => prefix.push_str("0x"),
                'X' => prefix.push_str("0X"),
                'b' => prefix.push_str("0b"),
                _ => {}
            }
        }
        if verb == 'O' {
            prefix.push_str("0o");
        }
        let sign = if neg {
            "-"
        } else if self.f.plus {
            "+"
        } else if self.f.space {
            " "
        } else {
            ""
        };
        let s = format!("{sign}{prefix}{digits}");
        let old = self.f.zero;
        self.f.zero = false;
        self.pad(s.as_bytes());
        self.f.zero = old;
    }

    fn fmt_float(&mut self, v: f64, verb: char, default_prec: i32) {
        let prec = self.f.prec.map(|p| p as i32).unwrap_or(default_prec);
        let mut num = format_float(v, verb, prec);
        if !num.starts_with(['-', '+']) {
            num.insert(0, '+');
        }
        if self.f.space && num.starts_with('+') && !self.f.plus {
            num.replace_range(0..1, " ");
        }
        if num[1..].starts_with(['I', 'N']) {
            let old = self.f.zero;
            self.f.zero = false;
            if num[1..].starts_with('N') && !self.f.space && !self.f.plus {
                num.remove(0);
            }
            self.pad(num.as_bytes());
            self.f.zero = old;
            return;
        }
        if self.f.plus || !num.starts_with('+') {
            if let Some(w) = self.f.wid
                && self.f.zero
                && !self.f.minus
                && w > num.len()
            {
                self.buf.push(num.as_bytes()[0]);
                self.buf.extend(std::iter::repeat_n(b'0', w - num.len()));
                self.buf.extend_from_slice(&num.as_bytes()[1..]);
                return;
            }
            self.pad(num.as_bytes());
            return;
        }
        self.pad(&num.as_bytes()[1..]);
    }

    fn fmt_string(&mut self, b: &[u8], verb: char) -> bool {
        let truncated: Vec<u8> = match self.f.prec {
            Some(p) => {
                let s = String::from_utf8_lossy(b);
                if s.chars().count() > p {
                    s.chars().take(p).collect::<String>().into_bytes()
                } else {
                    b.to_vec()
                }
            }
            None => b.to_vec(),
        };
        match verb {
            'v' if self.f.sharp => {
                let q = quote_bytes(b);
                self.pad(q.as_bytes());
            }
            'v' | 's' => self.pad(&truncated),
            'q' => {
                let s = String::from_utf8_lossy(&truncated);
                let q = if self.f.sharp
                    && !s.contains('`')
                    && s.chars()
                        .all(|c| c == '\t' || (is_print(c) && c != '\u{FEFF}'))
                {
                    format!("`{s}`")
                } else {
                    quote_with(&truncated, '"', self.f.plus)
                };
                self.pad(q.as_bytes());
            }
            'x' | 'X' => {
                let bytes = match self.f.prec {
                    Some(p) if p < b.len() => &b[..p],
                    _ => b,
                };
                let mut s = String::new();
                for (i, c) in bytes.iter().enumerate() {
                    if self.f.space && i > 0 {
                        s.push(' ');
                    }
                    if self.f.sharp && (self.f.space || i == 0) {
                        s.push_str(if verb == 'x' { "0x" } else { "0X" });
                    }
                    if verb == 'x' {
                        s.push_str(&format!("{c:02x}"));
                    } else {
                        s.push_str(&format!("{c:02X}"));
                    }
                }
                self.pad(s.as_bytes());
            }
            _ => return false,
        }
        true
    }

    fn bad_verb(&mut self, v: &Value, verb: char) {
        self.buf.extend_from_slice(format!("%!{verb}(").as_bytes());
        if let Value::Nil = v {
            self.buf.extend_from_slice(b"<nil>");
        } else {
            self.buf.extend_from_slice(v.go_type().as_bytes());
            self.buf.push(b'=');
            self.print_arg(v, 'v', 0);
        }
        self.buf.push(b')');
    }

    fn go_syntax(&mut self, v: &Value, depth: usize) {
        match v {
            Value::Nil if depth > 0 => self.buf.extend_from_slice(b"interface {}(nil)"),
            Value::Nil => self.buf.extend_from_slice(b"<nil>"),
            Value::String(_) | Value::Bytes(_) => {
                let q = quote_bytes(v.str_bytes().unwrap_or_default());
                self.buf.extend_from_slice(q.as_bytes());
            }
            Value::List(l) => {
                self.buf.extend_from_slice(b"[]interface {}{");
                for (i, e) in l.iter().enumerate() {
                    if i > 0 {
                        self.buf.extend_from_slice(b", ");
                    }
                    self.go_syntax(e, depth + 1);
                }
                self.buf.push(b'}');
            }
            Value::Map(m) => {
                self.buf.extend_from_slice(b"map[string]interface {}{");
                for (i, (k, e)) in m.iter().enumerate() {
                    if i > 0 {
                        self.buf.extend_from_slice(b", ");
                    }
                    self.buf
                        .extend_from_slice(quote_bytes(k.as_bytes()).as_bytes());
                    self.buf.push(b':');
                    self.go_syntax(e, depth + 1);
                }
                self.buf.push(b'}');
            }
            other => write_v(&mut self.buf, other),
        }
    }

    fn print_arg(&mut self, v: &Value, verb: char, depth: usize) {
        if verb == 'v' && self.f.sharp {
            let mut tmp = Printer {
                buf: Vec::new(),
                f: Flags::default(),
            };
            tmp.go_syntax(v, depth);
            let f = self.f;
            self.f.zero = false;
            self.pad(&tmp.buf);
            self.f = f;
            return;
        }
        if verb == 'T' {
            let t = v.go_type();
            self.pad(t.as_bytes());
            return;
        }
        match v {
            Value::Nil => {
                if depth > 0 || verb == 'v' {
                    self.pad(b"<nil>");
                } else {
                    self.bad_verb(v, verb);
                }
            }
            Value::Bool(b) => match verb {
                't' | 'v' => self.pad(if *b { b"true" } else { b"false" }),
                _ => self.bad_verb(v, verb),
            },
            Value::Int(i) => match verb {
                'v' | 'd' => self.fmt_integer(*i, 10, verb),
                'b' => self.fmt_integer(*i, 2, verb),
                'o' | 'O' => self.fmt_integer(*i, 8, verb),
                'x' | 'X' => self.fmt_integer(*i, 16, verb),
                'c' => {
                    let c = char::from_u32(*i as u32).unwrap_or('\u{FFFD}');
                    self.pad(c.to_string().as_bytes());
                }
                'q' => {
                    let c = char::from_u32(*i as u32).unwrap_or('\u{FFFD}');
                    let q = quote_with(c.to_string().as_bytes(), '\'', self.f.plus);
                    self.pad(q.as_bytes());
                }
                'U' => {
                    let mut s = format!("U+{:04X}", *i);
                    if self.f.sharp
                        && let Some(c) = char::from_u32(*i as u32).filter(|c| is_print(*c))
                    {
                        s.push_str(&format!(" '{c}'"));
                    }
                    let old = self.f.zero;
                    self.f.zero = false;
                    self.pad(s.as_bytes());
                    self.f.zero = old;
                }
                _ => self.bad_verb(v, verb),
            },
            Value::Float(f) => match verb {
                'v' | 'g' | 'G' => self.fmt_float(*f, if verb == 'v' { 'g' } else { verb }, -1),
                'f' | 'F' => self.fmt_float(*f, 'f', 6),
                'e' | 'E' => self.fmt_float(*f, verb, 6),
                'x' | 'X' => {
                    let mut h = hex_float(*f, self.f.prec.map(|p| p as i32).unwrap_or(-1));
                    if verb == 'X' {
                        h = h.to_uppercase();
                    }
                    if self.f.plus && !h.starts_with('-') {
                        h.insert(0, '+');
                    }
                    self.pad(h.as_bytes());
                }
                _ => self.bad_verb(v, verb),
            },
            Value::String(_) | Value::Bytes(_) => {
                let b = v.str_bytes().unwrap_or_default().to_vec();
                if !self.fmt_string(&b, verb) {
                    self.bad_verb(v, verb);
                }
            }
            Value::List(l) => {
                self.buf.push(b'[');
                for (i, e) in l.iter().enumerate() {
                    if i > 0 {
                        self.buf.push(b' ');
                    }
                    self.print_arg(e, verb, depth + 1);
                }
                self.buf.push(b']');
            }
            Value::Map(m) => {
                self.buf.extend_from_slice(b"map[");
                for (i, (k, e)) in m.iter().enumerate() {
                    if i > 0 {
                        self.buf.push(b' ');
                    }
                    self.print_arg(&Value::String(k.clone()), verb, depth + 1);
                    self.buf.push(b':');
                    self.print_arg(e, verb, depth + 1);
                }
                self.buf.push(b']');
            }
            Value::Time(_) => match verb {
                'v' | 's' => {
                    let mut tmp = Vec::new();
                    write_v(&mut tmp, v);
                    self.fmt_string(&tmp, 's');
                }
                _ => self.bad_verb(v, verb),
            },
        }
    }
}

fn parse_num(fmt: &[u8], mut i: usize) -> (Option<usize>, usize) {
    let start = i;
    let mut n = 0usize;
    while i < fmt.len() && fmt[i].is_ascii_digit() {
        n = n
            .saturating_mul(10)
            .saturating_add((fmt[i] - b'0') as usize);
        if n > 1_000_000 {
            return (None, i);
        }
        i += 1;
    }
    if i == start { (None, i) } else { (Some(n), i) }
}

/// Go's `fmt.Sprintf`.
pub(crate) fn sprintf(format: &[u8], args: &[Value]) -> Vec<u8> {
    let mut p = Printer {
        buf: Vec::with_capacity(format.len() + 16),
        f: Flags::default(),
    };
    let mut argnum = 0usize;
    let mut reordered = false;
    let mut i = 0;
    let end = format.len();
    while i < end {
        let lasti = i;
        while i < end && format[i] != b'%' {
            i += 1;
        }
        p.buf.extend_from_slice(&format[lasti..i]);
        if i >= end {
            break;
        }
        i += 1;
        p.f = Flags::default();
        while i < end {
            match format[i] {
                b'#' => p.f.sharp = true,
                b'0' => p.f.zero = !p.f.minus,
                b'+' => p.f.plus = true,
                b'-' => {
                    p.f.minus = true;
                    p.f.zero = false;
                }
                b' ' => p.f.space = true,
                _ => break,
            }
            i += 1;
        }
        let mut good_argnum = true;
        let arg_index =
            |i: &mut usize, argnum: &mut usize, reordered: &mut bool, good: &mut bool| {
                if *i < end && format[*i] == b'[' {
                    *reordered = true;
                    let mut j = *i + 1;
                    while j < end && format[j] != b']' {
                        j += 1;
                    }
                    if j >= end {
                        *good = false;
                        return;
                    }
                    match std::str::from_utf8(&format[*i + 1..j])
                        .ok()
                        .and_then(|s| s.parse::<usize>().ok())
                    {
                        Some(n) if n >= 1 && n <= args.len() => {
                            *argnum = n - 1;
                            *i = j + 1;
                        }
                        _ => {
                            *good = false;
                            *i = j + 1;
                        }
                    }
                }
            };
        arg_index(&mut i, &mut argnum, &mut reordered, &mut good_argnum);
        if i < end && format[i] == b'*' {
            i += 1;
            if argnum < args.len() {
                match &args[argnum] {
                    Value::Int(n) => {
                        if *n < 0 {
                            p.f.minus = true;
                            p.f.zero = false;
                        }
                        p.f.wid = Some(n.unsigned_abs() as usize);
                    }
                    _ => p.buf.extend_from_slice(b"%!(BADWIDTH)"),
                }
                argnum += 1;
            } else {
                p.buf.extend_from_slice(b"%!(BADWIDTH)");
            }
        } else {
            let (w, ni) = parse_num(format, i);
            p.f.wid = w;
            i = ni;
        }
        if i < end && format[i] == b'.' {
            i += 1;
            arg_index(&mut i, &mut argnum, &mut reordered, &mut good_argnum);
            if i < end && format[i] == b'*' {
                i += 1;
                match args.get(argnum) {
                    Some(Value::Int(n)) if *n >= 0 => p.f.prec = Some(*n as usize),
                    Some(Value::Int(_)) => p.f.prec = None,
                    _ => p.buf.extend_from_slice(b"%!(BADPREC)"),
                }
                argnum += 1;
            } else {
                let (pr, ni) = parse_num(format, i);
                p.f.prec = Some(pr.unwrap_or(0));
                i = ni;
            }
        }
        arg_index(&mut i, &mut argnum, &mut reordered, &mut good_argnum);
        if i >= end {
            p.buf.extend_from_slice(b"%!(NOVERB)");
            break;
        }
        let s = String::from_utf8_lossy(&format[i..]);
        let verb = s.chars().next().unwrap_or('?');
        i += verb.len_utf8();
        if verb == '%' {
            p.buf.push(b'%');
            continue;
        }
        if !good_argnum {
            p.buf
                .extend_from_slice(format!("%!{verb}(BADINDEX)").as_bytes());
            continue;
        }
        if argnum >= args.len() {
            p.buf
                .extend_from_slice(format!("%!{verb}(MISSING)").as_bytes());
            continue;
        }
        if verb == 'w' {
            p.bad_verb(&args[argnum], verb);
            argnum += 1;
            continue;
        }
        if verb == 'v' && p.f.plus {
            p.f.plus = false;
        }
        let a = args[argnum].clone();
        p.print_arg(&a, verb, 0);
        argnum += 1;
    }
    if !reordered && argnum < args.len() {
        p.f = Flags::default();
        p.buf.extend_from_slice(b"%!(EXTRA ");
        for (k, a) in args[argnum..].iter().enumerate() {
            if k > 0 {
                p.buf.extend_from_slice(b", ");
            }
            if let Value::Nil = a {
                p.buf.extend_from_slice(b"<nil>");
            } else {
                p.buf.extend_from_slice(a.go_type().as_bytes());
                p.buf.push(b'=');
                p.print_arg(a, 'v', 0);
            }
        }
        p.buf.push(b')');
    }
    p.buf
}

/// `strconv.FormatFloat(f, 'x', prec, 64)`: `-0x1.8p+01`.
fn hex_float(f: f64, prec: i32) -> String {
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
    let bits = f.to_bits();
    let mut exp = ((bits >> 52) & 0x7ff) as i32;
    let mut mant = bits & ((1u64 << 52) - 1);
    if exp == 0 {
        if mant == 0 {
            exp = 0;
        } else {
            // Normalize a subnormal so the leading digit is 1.
            exp = -1022;
            while mant & (1u64 << 52) == 0 {
                mant <<= 1;
                exp -= 1;
            }
            mant &= (1u64 << 52) - 1;
        }
    } else {
        exp -= 1023;
    }
    let lead = if f == 0.0 { 0 } else { 1 };
    // 52 fraction bits = 13 hex digits.
    let mut frac = mant;
    let mut digits = 13;
    if (0..13).contains(&prec) {
        let shift = (13 - prec) * 4;
        let half = 1u64 << (shift - 1);
        let rem = frac & ((1u64 << shift) - 1);
        frac >>= shift;
        if rem > half || (rem == half && frac & 1 == 1) {
            frac += 1;
        }
        digits = prec;
    }
    let (lead, frac, exp) = if digits < 13 && frac >> (digits * 4) != 0 {
        (lead, 0, exp + 1)
    } else {
        (lead, frac, exp)
    };
    let mut fs = if digits > 0 {
        format!("{:0width$x}", frac, width = digits as usize)
    } else {
        String::new()
    };
    if prec < 0 {
        while fs.ends_with('0') {
            fs.pop();
        }
    } else if prec > 13 {
        fs.push_str(&"0".repeat((prec - 13) as usize));
    }
    let exp = if f == 0.0 { 0 } else { exp };
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    out.push_str(&format!("0x{lead}"));
    if !fs.is_empty() {
        out.push('.');
        out.push_str(&fs);
    }
    out.push('p');
    out.push(if exp < 0 { '-' } else { '+' });
    out.push_str(&format!("{:02}", exp.abs()));
    out
}
