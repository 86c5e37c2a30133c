//! Sprig date functions with Go time layouts ("2006-01-02 15:04:05") and Go duration strings.
//!
//! Differences from Go: the process-local zone is UTC (as in a typical container), and named
//! IANA zones other than UTC are not available without a zone database, so `dateInZone` with
//! such a zone formats in UTC (Go's own fallback when `LoadLocation` fails).

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, Offset, TimeZone, Timelike, Utc};

use super::{FuncDef, def, s, to_int64};
use crate::template::value::Value;

pub(crate) static FUNCS: &[FuncDef] = &[
    def!("now", [], |_| Ok(Value::Time(now()))),
    def!("date", [Str, Any], |a| Ok(Value::String(format(
        &to_time(&a[1]),
        &s(&a[0])
    )))),
    def!("dateInZone", [Str, Any, Str], |a| Ok(Value::String(
        format(&in_zone(&to_time(&a[1]), &s(&a[2])), &s(&a[0]))
    ))),
    def!("date_in_zone", [Str, Any, Str], |a| Ok(Value::String(
        format(&in_zone(&to_time(&a[1]), &s(&a[2])), &s(&a[0]))
    ))),
    def!("htmlDate", [Any], |a| Ok(Value::String(format(
        &to_time(&a[0]),
        "2006-01-02"
    )))),
    def!("htmlDateInZone", [Any, Str], |a| Ok(Value::String(format(
        &in_zone(&to_time(&a[0]), &s(&a[1])),
        "2006-01-02"
    )))),
    def!("dateModify", [Str, Time], |a| Ok(
        date_modify(&a).unwrap_or_else(|_| a[1].clone())
    )),
    def!("date_modify", [Str, Time], |a| Ok(
        date_modify(&a).unwrap_or_else(|_| a[1].clone())
    )),
    def!("mustDateModify", [Str, Time], |a| date_modify(&a)),
    def!("must_date_modify", [Str, Time], |a| date_modify(&a)),
    def!("ago", [Any], |a| {
        let d = (now() - to_time(&a[0])).num_nanoseconds().unwrap_or(0);
        let rounded = (d as f64 / 1e9).round() as i64 * 1_000_000_000;
        Ok(Value::String(go_duration(rounded)))
    }),
    def!("duration", [Any], |a| Ok(Value::String(go_duration(
        to_int64(&a[0]).saturating_mul(1_000_000_000)
    )))),
    def!("durationRound", [Any], |a| {
        let d: i64 = match &a[0] {
            Value::String(st) => parse_duration(st).unwrap_or(0),
            Value::Int(n) => *n,
            Value::Time(t) => (now() - *t).num_nanoseconds().unwrap_or(0),
            _ => 0,
        };
        Ok(Value::String(duration_round(d)))
    }),
    def!("toDate", [Str, Str], |a| Ok(parse(&s(&a[0]), &s(&a[1]))
        .map(Value::Time)
        .unwrap_or_else(|_| Value::Time(zero_time())))),
    def!("mustToDate", [Str, Str], |a| parse(&s(&a[0]), &s(&a[1]))
        .map(Value::Time)),
    def!("unixEpoch", [Time], |a| match &a[0] {
        Value::Time(t) => Ok(Value::String(t.timestamp().to_string())),
        _ => Ok(Value::String("0".into())),
    }),
];

fn utc() -> FixedOffset {
    Utc.fix()
}

fn now() -> DateTime<FixedOffset> {
    Utc::now().with_timezone(&utc())
}

fn zero_time() -> DateTime<FixedOffset> {
    NaiveDate::from_ymd_opt(1, 1, 1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|n| n.and_utc().with_timezone(&utc()))
        .unwrap_or_else(now)
}

fn to_time(v: &Value) -> DateTime<FixedOffset> {
    match v {
        Value::Time(t) => *t,
        Value::Int(n) => DateTime::from_timestamp(*n, 0)
            .map(|t| t.with_timezone(&utc()))
            .unwrap_or_else(now),
        _ => now(),
    }
}

fn in_zone(t: &DateTime<FixedOffset>, zone: &str) -> DateTime<FixedOffset> {
    let _ = zone;
    t.with_timezone(&utc())
}

fn date_modify(a: &[Value]) -> Result<Value, String> {
    let d = parse_duration(&s(&a[0]))?;
    match &a[1] {
        Value::Time(t) => Ok(Value::Time(*t + chrono::Duration::nanoseconds(d))),
        _ => Err("invalid time".into()),
    }
}

/// Go's `time.ParseDuration`.
pub(crate) fn parse_duration(st: &str) -> Result<i64, String> {
    let err = || format!("time: invalid duration {}", crate::template::fmt::quote(st));
    let (neg, mut rest) = match st.as_bytes().first() {
        Some(b'-') => (true, &st[1..]),
        Some(b'+') => (false, &st[1..]),
        _ => (false, st),
    };
    if rest == "0" {
        return Ok(0);
    }
    if rest.is_empty() {
        return Err(err());
    }
    let mut total = 0f64;
    while !rest.is_empty() {
        let n = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if n == 0 {
            return Err(err());
        }
        let num: f64 = rest[..n].parse().map_err(|_| err())?;
        rest = &rest[n..];
        let u = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let mult = match &rest[..u] {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            "" => {
                return Err(format!(
                    "time: missing unit in duration {}",
                    crate::template::fmt::quote(st)
                ));
            }
            other => {
                return Err(format!(
                    "time: unknown unit {} in duration {}",
                    crate::template::fmt::quote(other),
                    crate::template::fmt::quote(st)
                ));
            }
        };
        total += num * mult;
        rest = &rest[u..];
    }
    let v = total.round() as i64;
    Ok(if neg { -v } else { v })
}

fn frac(v: u64, prec: u32) -> String {
    let p = 10u64.pow(prec);
    let (int, f) = (v / p, v % p);
    if f == 0 {
        return int.to_string();
    }
    let fs = format!("{:0width$}", f, width = prec as usize);
    format!("{int}.{}", fs.trim_end_matches('0'))
}

/// Go's `time.Duration.String`.
pub(crate) fn go_duration(d: i64) -> String {
    let neg = d < 0;
    let u = d.unsigned_abs();
    let body = if u < 1_000_000_000 {
        match u {
            0 => return "0s".into(),
            1..=999 => format!("{u}ns"),
            1000..=999_999 => format!("{}µs", frac(u, 3)),
            _ => format!("{}ms", frac(u, 6)),
        }
    } else {
        let secs = frac(u % 60_000_000_000, 9);
        let mins = u / 60_000_000_000;
        if mins == 0 {
            format!("{secs}s")
        } else if mins < 60 {
            format!("{mins}m{secs}s")
        } else {
            format!("{}h{}m{secs}s", mins / 60, mins % 60)
        }
    };
    if neg { format!("-{body}") } else { body }
}

fn duration_round(d: i64) -> String {
    let u = d.unsigned_abs();
    let sec = 1_000_000_000u64;
    let units = [
        (sec * 3600 * 24 * 365, "y"),
        (sec * 3600 * 24 * 30, "mo"),
        (sec * 3600 * 24, "d"),
        (sec * 3600, "h"),
        (sec * 60, "m"),
        (sec, "s"),
    ];
    for (n, name) in units {
        if u > n {
            return format!("{}{}", u / n, name);
        }
    }
    "0s".into()
}

/// Go's `Time.String`.
pub(crate) fn go_time_string(t: &DateTime<FixedOffset>) -> String {
    format(t, "2006-01-02 15:04:05.999999999 -0700 MST")
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Tok {
    Lit(usize, usize),
    LongMonth,
    Month,
    NumMonth,
    ZeroMonth,
    LongWeekDay,
    WeekDay,
    Day,
    UnderDay,
    ZeroDay,
    YearDay,
    ZeroYearDay,
    Hour,
    Hour12,
    ZeroHour12,
    Minute,
    ZeroMinute,
    Second,
    ZeroSecond,
    LongYear,
    Year,
    PM(bool),
    Tz,
    Iso(&'static str),
    Num(&'static str),
    Frac(usize, bool),
}

fn tokens(layout: &str) -> Vec<Tok> {
    let b = layout.as_bytes();
    let mut out = Vec::new();
    let mut lit = 0;
    let mut i = 0;
    let std: &[(&str, Tok)] = &[
        ("January", Tok::LongMonth),
        ("Jan", Tok::Month),
        ("Monday", Tok::LongWeekDay),
        ("Mon", Tok::WeekDay),
        ("MST", Tok::Tz),
        ("01", Tok::ZeroMonth),
        ("02", Tok::ZeroDay),
        ("03", Tok::ZeroHour12),
        ("04", Tok::ZeroMinute),
        ("05", Tok::ZeroSecond),
        ("06", Tok::Year),
        ("002", Tok::ZeroYearDay),
        ("15", Tok::Hour),
        ("1", Tok::NumMonth),
        ("2006", Tok::LongYear),
        ("2", Tok::Day),
        ("_2", Tok::UnderDay),
        ("__2", Tok::YearDay),
        ("3", Tok::Hour12),
        ("4", Tok::Minute),
        ("5", Tok::Second),
        ("PM", Tok::PM(true)),
        ("pm", Tok::PM(false)),
        ("Z070000", Tok::Iso("Z070000")),
        ("Z07:00:00", Tok::Iso("Z07:00:00")),
        ("Z0700", Tok::Iso("Z0700")),
        ("Z07:00", Tok::Iso("Z07:00")),
        ("Z07", Tok::Iso("Z07")),
        ("-070000", Tok::Num("-070000")),
        ("-07:00:00", Tok::Num("-07:00:00")),
        ("-0700", Tok::Num("-0700")),
        ("-07:00", Tok::Num("-07:00")),
        ("-07", Tok::Num("-07")),
    ];
    'outer: while i < b.len() {
        if (b[i] == b'.' || b[i] == b',')
            && i + 1 < b.len()
            && (b[i + 1] == b'0' || b[i + 1] == b'9')
        {
            let ch = b[i + 1];
            let mut j = i + 1;
            while j < b.len() && b[j] == ch {
                j += 1;
            }
            if !(j < b.len() && b[j].is_ascii_digit()) && i > 0 && b[i - 1].is_ascii_digit() {
                if lit < i {
                    out.push(Tok::Lit(lit, i));
                }
                out.push(Tok::Frac(j - i - 1, ch == b'9'));
                i = j;
                lit = i;
                continue;
            }
        }
        // Longest match among tokens starting here, with Go's precedence (listed order).
        let rest = &layout[i..];
        let mut best: Option<(usize, Tok)> = None;
        for (p, t) in std {
            if rest.starts_with(p) {
                // Go: "Jan"/"Mon" only when the longer form does not match; "2006" beats "2".
                let better = best.is_none_or(|(l, _)| p.len() > l);
                if better {
                    best = Some((p.len(), *t));
                }
            }
        }
        if let Some((l, t)) = best {
            if lit < i {
                out.push(Tok::Lit(lit, i));
            }
            out.push(t);
            i += l;
            lit = i;
            continue 'outer;
        }
        i += rest.chars().next().map(char::len_utf8).unwrap_or(1);
    }
    if lit < b.len() {
        out.push(Tok::Lit(lit, b.len()));
    }
    out
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];

fn offset_str(secs: i32, style: &str) -> String {
    if style.starts_with('Z') && secs == 0 {
        return "Z".into();
    }
    let sign = if secs < 0 { '-' } else { '+' };
    let a = secs.unsigned_abs();
    let (h, m, s) = (a / 3600, (a / 60) % 60, a % 60);
    let core = style.trim_start_matches(['Z', '-']);
    match core {
        "07" => format!("{sign}{h:02}"),
        "0700" => format!("{sign}{h:02}{m:02}"),
        "07:00" => format!("{sign}{h:02}:{m:02}"),
        "070000" => format!("{sign}{h:02}{m:02}{s:02}"),
        _ => format!("{sign}{h:02}:{m:02}:{s:02}"),
    }
}

/// Go's `Time.Format`.
pub(crate) fn format(t: &DateTime<FixedOffset>, layout: &str) -> String {
    let mut out = String::new();
    for tok in tokens(layout) {
        match tok {
            Tok::Lit(a, b) => out.push_str(&layout[a..b]),
            Tok::LongMonth => out.push_str(MONTHS[t.month0() as usize]),
            Tok::Month => out.push_str(&MONTHS[t.month0() as usize][..3]),
            Tok::NumMonth => out.push_str(&t.month().to_string()),
            Tok::ZeroMonth => out.push_str(&format!("{:02}", t.month())),
            Tok::LongWeekDay => out.push_str(DAYS[t.weekday().num_days_from_sunday() as usize]),
            Tok::WeekDay => out.push_str(&DAYS[t.weekday().num_days_from_sunday() as usize][..3]),
            Tok::Day => out.push_str(&t.day().to_string()),
            Tok::UnderDay => out.push_str(&format!("{:>2}", t.day())),
            Tok::ZeroDay => out.push_str(&format!("{:02}", t.day())),
            Tok::YearDay => out.push_str(&format!("{:>3}", t.ordinal())),
            Tok::ZeroYearDay => out.push_str(&format!("{:03}", t.ordinal())),
            Tok::Hour => out.push_str(&format!("{:02}", t.hour())),
            Tok::Hour12 | Tok::ZeroHour12 => {
                let h = match t.hour() % 12 {
                    0 => 12,
                    h => h,
                };
                out.push_str(&if tok == Tok::Hour12 {
                    h.to_string()
                } else {
                    format!("{h:02}")
                });
            }
            Tok::Minute => out.push_str(&t.minute().to_string()),
            Tok::ZeroMinute => out.push_str(&format!("{:02}", t.minute())),
            Tok::Second => out.push_str(&t.second().to_string()),
            Tok::ZeroSecond => out.push_str(&format!("{:02}", t.second())),
            Tok::LongYear => out.push_str(&format!("{:04}", t.year())),
            Tok::Year => out.push_str(&format!("{:02}", t.year().rem_euclid(100))),
            Tok::PM(upper) => {
                let pm = t.hour() >= 12;
                out.push_str(match (pm, upper) {
                    (true, true) => "PM",
                    (false, true) => "AM",
                    (true, false) => "pm",
                    (false, false) => "am",
                });
            }
            Tok::Tz => {
                let off = t.offset().local_minus_utc();
                if off == 0 {
                    out.push_str("UTC")
                } else {
                    out.push_str(&offset_str(off, "-0700"))
                }
            }
            Tok::Iso(st) | Tok::Num(st) => {
                out.push_str(&offset_str(t.offset().local_minus_utc(), st))
            }
            Tok::Frac(n, trim) => {
                let ns = format!("{:09}", t.nanosecond() % 1_000_000_000);
                let digits = &ns[..n.min(9)];
                if trim {
                    let d = digits.trim_end_matches('0');
                    if !d.is_empty() {
                        out.push('.');
                        out.push_str(d);
                    }
                } else {
                    out.push('.');
                    out.push_str(digits);
                }
            }
        }
    }
    out
}

/// Go's `time.ParseInLocation(layout, value, time.Local)` with Local = UTC.
fn parse(layout: &str, value: &str) -> Result<DateTime<FixedOffset>, String> {
    let err = || {
        format!(
            "parsing time {} as {}: cannot parse",
            crate::template::fmt::quote(value),
            crate::template::fmt::quote(layout)
        )
    };
    let (mut y, mut mo, mut d, mut h, mut mi, mut se, mut ns, mut off) =
        (1i32, 1u32, 1u32, 0u32, 0u32, 0u32, 0u32, 0i32);
    let mut pm: Option<bool> = None;
    let mut v = value;
    let num = |v: &mut &str, min: usize, max: usize| -> Result<u32, String> {
        let n = v.bytes().take(max).take_while(u8::is_ascii_digit).count();
        if n < min {
            return Err(err());
        }
        let r = v[..n].parse().map_err(|_| err())?;
        *v = &v[n..];
        Ok(r)
    };
    for tok in tokens(layout) {
        match tok {
            Tok::Lit(a, b) => {
                let lit = &layout[a..b];
                v = v.strip_prefix(lit).ok_or_else(err)?;
            }
            Tok::LongMonth | Tok::Month => {
                let idx = MONTHS
                    .iter()
                    .position(|m| {
                        let cand = if tok == Tok::Month { &m[..3] } else { m };
                        v.get(..cand.len())
                            .is_some_and(|p| p.eq_ignore_ascii_case(cand))
                    })
                    .ok_or_else(err)?;
                v = &v[if tok == Tok::Month {
                    3
                } else {
                    MONTHS[idx].len()
                }..];
                mo = idx as u32 + 1;
            }
            Tok::LongWeekDay | Tok::WeekDay => {
                let idx = DAYS
                    .iter()
                    .position(|m| {
                        let cand = if tok == Tok::WeekDay { &m[..3] } else { m };
                        v.get(..cand.len())
                            .is_some_and(|p| p.eq_ignore_ascii_case(cand))
                    })
                    .ok_or_else(err)?;
                v = &v[if tok == Tok::WeekDay {
                    3
                } else {
                    DAYS[idx].len()
                }..];
            }
            Tok::NumMonth => mo = num(&mut v, 1, 2)?,
            Tok::ZeroMonth => mo = num(&mut v, 2, 2)?,
            Tok::Day => d = num(&mut v, 1, 2)?,
            Tok::UnderDay => {
                v = v.strip_prefix(' ').unwrap_or(v);
                d = num(&mut v, 1, 2)?;
            }
            Tok::ZeroDay => d = num(&mut v, 2, 2)?,
            Tok::YearDay | Tok::ZeroYearDay => {
                num(&mut v, 3, 3)?;
            }
            Tok::Hour => h = num(&mut v, 2, 2)?,
            Tok::Hour12 => h = num(&mut v, 1, 2)?,
            Tok::ZeroHour12 => h = num(&mut v, 2, 2)?,
            Tok::Minute => mi = num(&mut v, 1, 2)?,
            Tok::ZeroMinute => mi = num(&mut v, 2, 2)?,
            Tok::Second => se = num(&mut v, 1, 2)?,
            Tok::ZeroSecond => se = num(&mut v, 2, 2)?,
            Tok::LongYear => y = num(&mut v, 4, 4)? as i32,
            Tok::Year => {
                let yy = num(&mut v, 2, 2)? as i32;
                y = if yy >= 69 { 1900 + yy } else { 2000 + yy };
            }
            Tok::PM(_) => {
                let p = v.get(..2).ok_or_else(err)?.to_ascii_uppercase();
                pm = Some(match p.as_str() {
                    "PM" => true,
                    "AM" => false,
                    _ => return Err(err()),
                });
                v = &v[2..];
            }
            Tok::Tz => {
                let n = v.bytes().take_while(u8::is_ascii_uppercase).count();
                if n < 3 {
                    return Err(err());
                }
                v = &v[n..];
            }
            Tok::Iso(_) | Tok::Num(_) => {
                if let Some(r) = v.strip_prefix('Z').filter(|_| matches!(tok, Tok::Iso(_))) {
                    v = r;
                } else {
                    let sign = match v.as_bytes().first() {
                        Some(b'+') => 1,
                        Some(b'-') => -1,
                        _ => return Err(err()),
                    };
                    v = &v[1..];
                    let hh = num(&mut v, 2, 2)? as i32;
                    v = v.strip_prefix(':').unwrap_or(v);
                    let mm = if v.as_bytes().first().is_some_and(u8::is_ascii_digit) {
                        num(&mut v, 2, 2)? as i32
                    } else {
                        0
                    };
                    off = sign * (hh * 3600 + mm * 60);
                }
            }
            Tok::Frac(..) => {
                if let Some(r) = v.strip_prefix(['.', ',']) {
                    let n = r.bytes().take_while(u8::is_ascii_digit).count();
                    let digits = format!("{:0<9}", &r[..n.min(9)]);
                    ns = digits.parse().map_err(|_| err())?;
                    v = &r[n..];
                }
            }
        }
    }
    if !v.is_empty() {
        return Err(format!(
            "parsing time {}: extra text: {}",
            crate::template::fmt::quote(value),
            crate::template::fmt::quote(v)
        ));
    }
    if let Some(pm) = pm {
        if pm && h < 12 {
            h += 12;
        } else if !pm && h == 12 {
            h = 0;
        }
    }
    let tz = FixedOffset::east_opt(off).ok_or_else(err)?;
    let date = NaiveDate::from_ymd_opt(y, mo, d).ok_or_else(|| {
        format!(
            "parsing time {}: day out of range",
            crate::template::fmt::quote(value)
        )
    })?;
    let naive = date.and_hms_nano_opt(h, mi, se, ns).ok_or_else(err)?;
    tz.from_local_datetime(&naive).single().ok_or_else(err)
}
