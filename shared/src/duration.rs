//! Go `time.Duration` parsing and formatting, plus the store `refreshInterval` int-or-string rule.
//!
//! ESO's API carries durations as Go strings (`metav1.Duration`): `refreshInterval: 1h`, sync
//! window lengths, retry intervals. The API server stores whatever the user wrote, and ESO shows
//! durations back with `Duration.String()` (`1h0m0s`), so we parse and print exactly as Go does,
//! including its overflow rules (a Go duration is a signed 64-bit nanosecond count) and its error
//! texts (`time: invalid duration "x"`).

use std::fmt;
use std::str::FromStr;

use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

const NANOSECOND: u64 = 1;
const MICROSECOND: u64 = 1_000 * NANOSECOND;
const MILLISECOND: u64 = 1_000 * MICROSECOND;
const SECOND: u64 = 1_000 * MILLISECOND;
const MINUTE: u64 = 60 * SECOND;
const HOUR: u64 = 60 * MINUTE;

/// A Go `time.Duration`: signed nanoseconds, the same range and overflow behaviour as Go.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GoDuration {
    nanos: i64,
}

/// A duration string Go would reject, with Go's own message.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct DurationError {
    message: String,
}

impl DurationError {
    fn invalid(orig: &str) -> Self {
        Self {
            message: format!("time: invalid duration {}", go_time_quote(orig)),
        }
    }
}

impl GoDuration {
    /// Zero duration.
    pub const ZERO: Self = Self { nanos: 0 };

    /// From a nanosecond count.
    pub const fn from_nanos(nanos: i64) -> Self {
        Self { nanos }
    }

    /// From whole seconds, saturating at Go's limits.
    pub const fn from_secs(secs: i64) -> Self {
        Self {
            nanos: secs.saturating_mul(SECOND as i64),
        }
    }

    /// The nanosecond count.
    pub const fn as_nanos(self) -> i64 {
        self.nanos
    }

    /// Whether the duration is negative.
    pub const fn is_negative(self) -> bool {
        self.nanos < 0
    }

    /// Whether the duration is zero.
    pub const fn is_zero(self) -> bool {
        self.nanos == 0
    }

    /// As a `std::time::Duration`; `None` for negative durations.
    pub fn to_std(self) -> Option<std::time::Duration> {
        u64::try_from(self.nanos)
            .ok()
            .map(std::time::Duration::from_nanos)
    }

    /// From a `std::time::Duration`; `None` if it exceeds Go's range (about 292 years).
    pub fn from_std(d: std::time::Duration) -> Option<Self> {
        i64::try_from(d.as_nanos()).ok().map(Self::from_nanos)
    }

    /// Parses a Go duration string exactly like `time.ParseDuration`: an optional sign followed
    /// by one or more decimal numbers with units (`ns`, `us`, `µs`, `μs`, `ms`, `s`, `m`, `h`),
    /// e.g. `1h30m`, `1.5h`, `-300ms`; the bare string `0` is also accepted.
    pub fn parse(s: &str) -> Result<Self, DurationError> {
        parse_go_duration(s)
    }
}

impl FromStr for GoDuration {
    type Err = DurationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_go_duration(s)
    }
}

impl fmt::Display for GoDuration {
    /// Go's `Duration.String()`: `1h0m0s`, `1m30s`, `1.5s`, `500ms`, `1µs`, `0s`, `-2h3m0s`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_go_duration(self.nanos))
    }
}

fn unit_nanos(unit: &str) -> Option<u64> {
    Some(match unit {
        "ns" => NANOSECOND,
        // Go accepts the ASCII spelling plus both Unicode micro signs (U+00B5 and U+03BC).
        "us" | "\u{b5}s" | "\u{3bc}s" => MICROSECOND,
        "ms" => MILLISECOND,
        "s" => SECOND,
        "m" => MINUTE,
        "h" => HOUR,
        _ => return None,
    })
}

const LIMIT: u64 = 1 << 63;

/// Consumes leading ASCII digits; `None` when the value would exceed 2^63 (Go's overflow rule).
fn leading_int(s: &[u8]) -> Option<(u64, &[u8])> {
    let mut x: u64 = 0;
    let mut i = 0;
    while i < s.len() && s[i].is_ascii_digit() {
        if x > LIMIT / 10 {
            return None;
        }
        x = x * 10 + u64::from(s[i] - b'0');
        if x > LIMIT {
            return None;
        }
        i += 1;
    }
    Some((x, &s[i..]))
}

/// Consumes the digits after a decimal point; digits past the precision limit are skipped.
fn leading_fraction(s: &[u8]) -> (u64, f64, &[u8]) {
    let mut x: u64 = 0;
    let mut scale = 1.0_f64;
    let mut overflow = false;
    let mut i = 0;
    while i < s.len() && s[i].is_ascii_digit() {
        if !overflow {
            if x > (LIMIT - 1) / 10 {
                overflow = true;
            } else {
                let y = x * 10 + u64::from(s[i] - b'0');
                if y > LIMIT {
                    overflow = true;
                } else {
                    x = y;
                    scale *= 10.0;
                }
            }
        }
        i += 1;
    }
    (x, scale, &s[i..])
}

fn parse_go_duration(orig: &str) -> Result<GoDuration, DurationError> {
    let mut s = orig.as_bytes();
    let mut neg = false;
    if let Some(&c) = s.first()
        && (c == b'-' || c == b'+')
    {
        neg = c == b'-';
        s = &s[1..];
    }
    if s == b"0" {
        return Ok(GoDuration::ZERO);
    }
    if s.is_empty() {
        return Err(DurationError::invalid(orig));
    }
    let mut total: u64 = 0;
    while !s.is_empty() {
        if !(s[0] == b'.' || s[0].is_ascii_digit()) {
            return Err(DurationError::invalid(orig));
        }
        let before = s.len();
        let (mut v, rest) = leading_int(s).ok_or_else(|| DurationError::invalid(orig))?;
        s = rest;
        let pre = before != s.len();

        let mut post = false;
        let (mut f, mut scale) = (0_u64, 1.0_f64);
        if s.first() == Some(&b'.') {
            s = &s[1..];
            let before = s.len();
            let (frac, sc, rest) = leading_fraction(s);
            f = frac;
            scale = sc;
            s = rest;
            post = before != s.len();
        }
        if !pre && !post {
            return Err(DurationError::invalid(orig));
        }

        let unit_len = s
            .iter()
            .position(|&c| c == b'.' || c.is_ascii_digit())
            .unwrap_or(s.len());
        if unit_len == 0 {
            return Err(DurationError {
                message: format!("time: missing unit in duration {}", go_time_quote(orig)),
            });
        }
        // The unit ends at an ASCII byte (or the end), so this slice is valid UTF-8.
        let unit_text = String::from_utf8_lossy(&s[..unit_len]).into_owned();
        s = &s[unit_len..];
        let Some(unit) = unit_nanos(&unit_text) else {
            return Err(DurationError {
                message: format!(
                    "time: unknown unit {} in duration {}",
                    go_time_quote(&unit_text),
                    go_time_quote(orig)
                ),
            });
        };
        if v > LIMIT / unit {
            return Err(DurationError::invalid(orig));
        }
        v *= unit;
        if f > 0 {
            // Go uses float64 here so fractions of hours stay nanosecond-accurate; the product is
            // at most 3.6e12, so the conversion back to an integer cannot overflow.
            v += (f as f64 * (unit as f64 / scale)) as u64;
            if v > LIMIT {
                return Err(DurationError::invalid(orig));
            }
        }
        total += v;
        if total > LIMIT {
            return Err(DurationError::invalid(orig));
        }
    }
    if neg {
        // total <= 2^63, so the negation fits (it is exactly i64::MIN at the limit).
        return Ok(GoDuration::from_nanos((total as i64).wrapping_neg()));
    }
    if total > LIMIT - 1 {
        return Err(DurationError::invalid(orig));
    }
    Ok(GoDuration::from_nanos(total as i64))
}

/// Go's private `time.quote`: double quotes, with `"` and `\` escaped and every byte of a
/// non-ASCII or control character written as `\xNN`.
fn go_time_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if (c as u32) >= 0x80 || c < ' ' {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("\\x{b:02x}"));
            }
        } else {
            if c == '"' || c == '\\' {
                out.push('\\');
            }
            out.push(c);
        }
    }
    out.push('"');
    out
}

/// Writes `v / 10^prec` as a fraction (".12") without trailing zeros into the front of `buf`
/// (built back to front like Go's implementation) and returns the integer part.
fn push_fraction(buf: &mut Vec<u8>, mut v: u64, prec: usize) -> u64 {
    let mut digits = Vec::with_capacity(prec + 1);
    let mut printing = false;
    for _ in 0..prec {
        let digit = (v % 10) as u8;
        printing = printing || digit != 0;
        if printing {
            digits.push(b'0' + digit);
        }
        v /= 10;
    }
    if printing {
        digits.push(b'.');
    }
    buf.extend(digits);
    v
}

fn push_int(buf: &mut Vec<u8>, mut v: u64) {
    if v == 0 {
        buf.push(b'0');
        return;
    }
    while v > 0 {
        buf.push(b'0' + (v % 10) as u8);
        v /= 10;
    }
}

fn format_go_duration(nanos: i64) -> String {
    // `buf` holds the text reversed; it is flipped at the end.
    let mut buf: Vec<u8> = Vec::with_capacity(32);
    let neg = nanos < 0;
    let mut u = nanos.unsigned_abs();
    if u == 0 {
        return "0s".to_string();
    }
    if u < SECOND {
        buf.push(b's');
        let prec = if u < MICROSECOND {
            buf.push(b'n');
            0
        } else if u < MILLISECOND {
            // "µ" (U+00B5) is two bytes; pushed reversed.
            buf.extend_from_slice(&[0xb5, 0xc2]);
            3
        } else {
            buf.push(b'm');
            6
        };
        u = push_fraction(&mut buf, u, prec);
        push_int(&mut buf, u);
    } else {
        buf.push(b's');
        u = push_fraction(&mut buf, u, 9);
        push_int(&mut buf, u % 60);
        u /= 60;
        if u > 0 {
            buf.push(b'm');
            push_int(&mut buf, u % 60);
            u /= 60;
            if u > 0 {
                buf.push(b'h');
                push_int(&mut buf, u);
            }
        }
    }
    if neg {
        buf.push(b'-');
    }
    buf.reverse();
    String::from_utf8_lossy(&buf).into_owned()
}

/// Why a store `refreshInterval` was rejected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RefreshIntervalError {
    /// A negative integer or a duration string that parses to a negative value.
    #[error("refreshInterval must not be negative, got {0}")]
    Negative(String),
    /// A string Go's `time.ParseDuration` rejects.
    #[error("refreshInterval is not a valid duration: {0}")]
    Invalid(#[from] DurationError),
}

/// Interprets a SecretStore/ClusterSecretStore `spec.refreshInterval`: an integer counts seconds
/// (the legacy form), a string is a Go duration. Absent or zero means "use the controller
/// default" (`--store-requeue-interval`), which the caller passes in. Negative values are
/// rejected, as ESO's webhook does.
pub fn store_refresh_interval(
    value: Option<&IntOrString>,
    default: GoDuration,
) -> Result<GoDuration, RefreshIntervalError> {
    let parsed = match value {
        None => return Ok(default),
        Some(IntOrString::Int(secs)) => {
            if *secs < 0 {
                return Err(RefreshIntervalError::Negative(secs.to_string()));
            }
            GoDuration::from_secs(i64::from(*secs))
        }
        Some(IntOrString::String(text)) => {
            let d = GoDuration::parse(text)?;
            if d.is_negative() {
                return Err(RefreshIntervalError::Negative(text.clone()));
            }
            d
        }
    };
    Ok(if parsed.is_zero() { default } else { parsed })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_go() {
        let cases = [
            (0, "0s"),
            (1, "1ns"),
            (1_100, "1.1µs"),
            (2_200_000, "2.2ms"),
            (3_300_000_000, "3.3s"),
            (90 * SECOND as i64, "1m30s"),
            (HOUR as i64, "1h0m0s"),
            (-(HOUR as i64) - 1, "-1h0m0.000000001s"),
            (i64::MIN, "-2562047h47m16.854775808s"),
            (i64::MAX, "2562047h47m16.854775807s"),
        ];
        for (nanos, text) in cases {
            assert_eq!(GoDuration::from_nanos(nanos).to_string(), text);
        }
    }

    #[test]
    fn parses_common_forms() {
        assert_eq!(
            GoDuration::parse("1h").map(GoDuration::as_nanos),
            Ok(HOUR as i64)
        );
        assert_eq!(
            GoDuration::parse("1.5h").map(|d| d.to_string()),
            Ok("1h30m0s".to_string())
        );
        assert_eq!(GoDuration::parse("-0").map(GoDuration::as_nanos), Ok(0));
        assert_eq!(
            GoDuration::parse("1").map_err(|e| e.to_string()),
            Err(r#"time: missing unit in duration "1""#.to_string())
        );
    }
}
