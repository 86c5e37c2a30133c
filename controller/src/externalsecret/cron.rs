//! A small five-field cron matcher for `spec.syncWindows[].windows[].schedule`.
//!
//! ESO parses schedules with robfig/cron's standard parser: `minute hour day-of-month month
//! day-of-week`, each a comma list of `*`, `?`, `N`, `N-M`, with an optional `/step`, month and
//! weekday names (`JAN`, `MON`, case-insensitive), plus the descriptors `@yearly`, `@annually`,
//! `@monthly`, `@weekly`, `@daily`, `@midnight`, `@hourly` and `@every <duration>`. Schedules are
//! evaluated in UTC.
//!
//! `@every D` is stateless here: it fires at every multiple of `D` since the Unix epoch. robfig
//! measures `D` from whenever the schedule was first asked, which a reconciler that keeps no state
//! between calls cannot reproduce; the epoch anchor gives the same frequency and is predictable.

use chrono::{DateTime, Datelike, Duration, DurationRound, TimeZone, Timelike, Utc};
use shared::duration::GoDuration;

/// A parsed schedule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Schedule {
    /// Five cron fields.
    Fields(Box<CronFields>),
    /// `@every D`, anchored at the Unix epoch (whole seconds, at least one).
    Every(i64),
}

/// Bit sets of the allowed values of each field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CronFields {
    minutes: u64,
    hours: u64,
    days_of_month: u64,
    months: u64,
    days_of_week: u64,
    /// robfig: when either day field is `*` or `?`, both must match (one of them trivially);
    /// when both are restricted, either may match.
    day_star: bool,
}

/// Why a schedule could not be parsed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid schedule {schedule:?}: {reason}")]
pub struct ScheduleError {
    schedule: String,
    reason: String,
}

const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];
const WEEKDAYS: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

struct Bounds {
    min: u32,
    max: u32,
    names: &'static [&'static str],
    /// Value of the first name (months start at 1, weekdays at 0).
    name_base: u32,
}

const MINUTE: Bounds = Bounds {
    min: 0,
    max: 59,
    names: &[],
    name_base: 0,
};
const HOUR: Bounds = Bounds {
    min: 0,
    max: 23,
    names: &[],
    name_base: 0,
};
const DOM: Bounds = Bounds {
    min: 1,
    max: 31,
    names: &[],
    name_base: 0,
};
const MONTH: Bounds = Bounds {
    min: 1,
    max: 12,
    names: &MONTHS,
    name_base: 1,
};
const DOW: Bounds = Bounds {
    min: 0,
    max: 6,
    names: &WEEKDAYS,
    name_base: 0,
};

impl Schedule {
    /// Parses a schedule the way ESO's CRD and controller accept it.
    pub fn parse(text: &str) -> Result<Schedule, ScheduleError> {
        let err = |reason: &str| ScheduleError {
            schedule: text.to_string(),
            reason: reason.to_string(),
        };
        let trimmed = text.trim();
        if let Some(rest) = trimmed.strip_prefix("@every ") {
            let d = GoDuration::parse(rest.trim()).map_err(|e| err(&e.to_string()))?;
            let secs = d.as_nanos() / 1_000_000_000;
            if secs < 1 {
                return Err(err("@every needs a duration of at least one second"));
            }
            return Ok(Schedule::Every(secs));
        }
        let expanded = match trimmed {
            "@yearly" | "@annually" => "0 0 1 1 *",
            "@monthly" => "0 0 1 * *",
            "@weekly" => "0 0 * * 0",
            "@daily" | "@midnight" => "0 0 * * *",
            "@hourly" => "0 * * * *",
            other if other.starts_with('@') => return Err(err("unrecognized descriptor")),
            other => other,
        };
        let fields: Vec<&str> = expanded.split_whitespace().collect();
        if fields.len() != 5 {
            return Err(err(&format!(
                "expected exactly 5 fields, found {}",
                fields.len()
            )));
        }
        let parse = |f: &str, b: &Bounds| parse_field(f, b).map_err(|r| err(&r));
        let day_star = is_star(fields[2]) || is_star(fields[4]);
        Ok(Schedule::Fields(Box::new(CronFields {
            minutes: parse(fields[0], &MINUTE)?,
            hours: parse(fields[1], &HOUR)?,
            days_of_month: parse(fields[2], &DOM)?,
            months: parse(fields[3], &MONTH)?,
            days_of_week: parse(fields[4], &DOW)?,
            day_star,
        })))
    }

    /// First firing strictly after `t` (whole minutes for cron fields, whole seconds for
    /// `@every`). `None` when nothing fires within five years (e.g. `0 0 30 2 *`).
    pub fn next_after(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match self {
            Schedule::Every(secs) => {
                let now = t.timestamp();
                let next = (now.div_euclid(*secs) + 1) * secs;
                Utc.timestamp_opt(next, 0).single()
            }
            Schedule::Fields(f) => f.next_after(t),
        }
    }

    /// Whether a window of length `duration` opened by this schedule contains `now`: some
    /// firing `f` with `f <= now <= f + duration` (both bounds inclusive).
    pub fn window_contains(&self, now: DateTime<Utc>, duration: Duration) -> bool {
        let from = now - duration - Duration::nanoseconds(1);
        matches!(self.next_after(from), Some(f) if f <= now)
    }
}

fn is_star(field: &str) -> bool {
    field.starts_with('*') || field.starts_with('?')
}

fn parse_value(text: &str, b: &Bounds) -> Result<u32, String> {
    if let Ok(n) = text.parse::<u32>() {
        return Ok(n);
    }
    let lower = text.to_ascii_lowercase();
    b.names
        .iter()
        .position(|n| *n == lower)
        .map(|i| i as u32 + b.name_base)
        .ok_or_else(|| format!("failed to parse value {text:?}"))
}

fn parse_field(field: &str, b: &Bounds) -> Result<u64, String> {
    let mut bits = 0u64;
    for part in field.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((r, s)) => {
                let step: u32 = s
                    .parse()
                    .map_err(|_| format!("failed to parse step {s:?}"))?;
                if step == 0 {
                    return Err("step of range should be a positive number".into());
                }
                (r, Some(step))
            }
            None => (part, None),
        };
        let (start, end) = if range == "*" || range == "?" {
            (b.min, b.max)
        } else if let Some((lo, hi)) = range.split_once('-') {
            (parse_value(lo, b)?, parse_value(hi, b)?)
        } else {
            let v = parse_value(range, b)?;
            // robfig: `N/step` means N through the maximum.
            (v, if step.is_some() { b.max } else { v })
        };
        if start < b.min || end > b.max {
            return Err(format!(
                "value out of range ({start}-{end} not within {}-{})",
                b.min, b.max
            ));
        }
        if start > end {
            return Err(format!("beginning of range ({start}) beyond end ({end})"));
        }
        let step = step.unwrap_or(1);
        let mut v = start;
        while v <= end {
            bits |= 1 << v;
            v += step;
        }
    }
    Ok(bits)
}

fn has(bits: u64, v: u32) -> bool {
    bits & (1 << v) != 0
}

impl CronFields {
    fn day_matches(&self, t: &DateTime<Utc>) -> bool {
        let dom = has(self.days_of_month, t.day());
        let dow = has(self.days_of_week, t.weekday().num_days_from_sunday());
        if self.day_star {
            dom && dow
        } else {
            dom || dow
        }
    }

    fn next_after(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let mut t = t.duration_trunc(Duration::minutes(1)).ok()? + Duration::minutes(1);
        let limit = t + Duration::days(5 * 366);
        while t <= limit {
            if !has(self.months, t.month()) {
                let (y, m) = if t.month() == 12 {
                    (t.year() + 1, 1)
                } else {
                    (t.year(), t.month() + 1)
                };
                t = Utc.with_ymd_and_hms(y, m, 1, 0, 0, 0).single()?;
                continue;
            }
            if !self.day_matches(&t) {
                t = Utc
                    .with_ymd_and_hms(t.year(), t.month(), t.day(), 0, 0, 0)
                    .single()?
                    + Duration::days(1);
                continue;
            }
            if !has(self.hours, t.hour()) {
                t = t.duration_trunc(Duration::hours(1)).ok()? + Duration::hours(1);
                continue;
            }
            if !has(self.minutes, t.minute()) {
                t += Duration::minutes(1);
                continue;
            }
            return Some(t);
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .expect("test time")
            .with_timezone(&Utc)
    }

    #[test]
    fn next_firing_of_common_schedules() {
        let s = Schedule::parse("30 2 * * *").expect("parses");
        assert_eq!(
            s.next_after(at("2026-01-01T02:30:00Z")),
            Some(at("2026-01-02T02:30:00Z"))
        );
        assert_eq!(
            s.next_after(at("2026-01-01T02:29:59Z")),
            Some(at("2026-01-01T02:30:00Z"))
        );
        let hourly = Schedule::parse("@hourly").expect("parses");
        assert_eq!(
            hourly.next_after(at("2026-01-01T23:10:00Z")),
            Some(at("2026-01-02T00:00:00Z"))
        );
        let steps = Schedule::parse("*/15 9-17 * JAN-mar mon-FRI").expect("parses");
        // 2026-01-03 is a Saturday: next is Monday 09:00.
        assert_eq!(
            steps.next_after(at("2026-01-02T17:50:00Z")),
            Some(at("2026-01-05T09:00:00Z"))
        );
    }

    #[test]
    fn restricted_day_fields_are_ored_starred_ones_anded() {
        // 1st of the month OR any Monday.
        let s = Schedule::parse("0 0 1 * 1").expect("parses");
        assert_eq!(
            s.next_after(at("2026-01-01T00:00:00Z")),
            Some(at("2026-01-05T00:00:00Z"))
        );
        let only_monday = Schedule::parse("0 0 * * 1").expect("parses");
        assert_eq!(
            only_monday.next_after(at("2025-12-31T00:00:00Z")),
            Some(at("2026-01-05T00:00:00Z"))
        );
    }

    #[test]
    fn impossible_dates_never_fire() {
        let s = Schedule::parse("0 0 30 2 *").expect("parses");
        assert_eq!(s.next_after(at("2026-01-01T00:00:00Z")), None);
    }

    #[test]
    fn rejects_malformed_schedules() {
        for bad in [
            "",
            "* * * *",
            "* * * * * *",
            "60 * * * *",
            "* 24 * * *",
            "* * 0 * *",
            "5-1 * * * *",
            "*/0 * * * *",
            "@sometimes",
            "@every nope",
            "@every 10ms",
            "x * * * *",
        ] {
            assert!(Schedule::parse(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn window_bounds_are_inclusive() {
        let s = Schedule::parse("0 12 * * *").expect("parses");
        let d = Duration::hours(1);
        assert!(s.window_contains(at("2026-03-01T12:00:00Z"), d));
        assert!(s.window_contains(at("2026-03-01T12:30:00Z"), d));
        assert!(s.window_contains(at("2026-03-01T13:00:00Z"), d));
        assert!(!s.window_contains(at("2026-03-01T13:00:01Z"), d));
        assert!(!s.window_contains(at("2026-03-01T11:59:59Z"), d));
    }

    #[test]
    fn every_is_anchored_at_the_epoch() {
        let s = Schedule::parse("@every 1h").expect("parses");
        assert_eq!(
            s.next_after(at("2026-03-01T12:10:00Z")),
            Some(at("2026-03-01T13:00:00Z"))
        );
        assert!(s.window_contains(at("2026-03-01T12:10:00Z"), Duration::minutes(10)));
        assert!(!s.window_contains(at("2026-03-01T12:10:01Z"), Duration::minutes(10)));
    }
}
