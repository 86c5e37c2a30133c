//! Go `time.ParseDuration` syntax for the ESO-compatible flags (`5m`, `2160h0m0s`, `1h30m`, `500ms`).
//!
//! TODO(shared-duration): replace with the shared crate's Go-duration parser once it lands; this
//! local copy exists only so the flags accept ESO's values today.
//!
//! Deviations from Go, on purpose: a `d` unit (24h) is accepted because the issue writes the
//! lookahead default as `90d`, and negative durations are rejected because no flag here means
//! anything with them.

use std::time::Duration;

/// Parses a Go-style duration string into a [`Duration`].
pub fn parse_go_duration(input: &str) -> Result<Duration, String> {
    let s = input.trim();
    if s.is_empty() {
        return Err("empty duration".to_owned());
    }
    let s = s.strip_prefix('+').unwrap_or(s);
    if s.starts_with('-') {
        return Err(format!("duration {input:?} must not be negative"));
    }
    // Go accepts a bare zero without a unit.
    if s == "0" {
        return Ok(Duration::ZERO);
    }
    let mut rest = s;
    let mut total_nanos: u128 = 0;
    while !rest.is_empty() {
        let number_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(|| format!("missing unit in duration {input:?}"))?;
        if number_len == 0 {
            return Err(format!("invalid duration {input:?}"));
        }
        let (number, after) = rest.split_at(number_len);
        let unit_len = after
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(after.len());
        let (unit, next) = after.split_at(unit_len);
        let unit_nanos: u128 = match unit {
            "ns" => 1,
            "us" | "µs" | "μs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60 * 1_000_000_000,
            "h" => 3_600 * 1_000_000_000,
            "d" => 86_400 * 1_000_000_000,
            other => return Err(format!("unknown unit {other:?} in duration {input:?}")),
        };
        total_nanos = total_nanos
            .checked_add(
                scale(number, unit_nanos).ok_or_else(|| format!("invalid duration {input:?}"))?,
            )
            .ok_or_else(|| format!("duration {input:?} is too large"))?;
        rest = next;
    }
    let secs = u64::try_from(total_nanos / 1_000_000_000)
        .map_err(|_| format!("duration {input:?} is too large"))?;
    // The remainder of a division by 1e9 always fits in u32.
    let nanos = u32::try_from(total_nanos % 1_000_000_000).unwrap_or(0);
    Ok(Duration::new(secs, nanos))
}

/// `number` (digits with at most one dot) times `unit_nanos`, in nanoseconds, truncating like Go.
fn scale(number: &str, unit_nanos: u128) -> Option<u128> {
    let (whole, frac) = match number.split_once('.') {
        Some((w, f)) => (w, f),
        None => (number, ""),
    };
    if (whole.is_empty() && frac.is_empty()) || frac.contains('.') {
        return None;
    }
    let whole_value: u128 = if whole.is_empty() {
        0
    } else {
        whole.parse().ok()?
    };
    let mut total = whole_value.checked_mul(unit_nanos)?;
    let mut divisor: u128 = 1;
    let mut frac_value: u128 = 0;
    for digit in frac.chars().take(30) {
        frac_value = frac_value * 10 + u128::from(digit.to_digit(10)?);
        divisor *= 10;
    }
    total = total.checked_add(frac_value.checked_mul(unit_nanos)? / divisor)?;
    Some(total)
}

/// Formats a duration the way Go's `Duration.String` does for whole seconds (`2160h0m0s`, `5m0s`).
pub fn format_go_duration(d: Duration) -> String {
    let total = d.as_secs();
    let (h, m, s) = (total / 3600, (total % 3600) / 60, total % 60);
    let sub = d.subsec_nanos();
    let secs = if sub == 0 {
        format!("{s}s")
    } else {
        let frac = format!("{sub:09}");
        format!("{s}.{}s", frac.trim_end_matches('0'))
    };
    match (h, m) {
        (0, 0) => secs,
        (0, m) => format!("{m}m{secs}"),
        (h, m) => format!("{h}h{m}m{secs}"),
    }
}
