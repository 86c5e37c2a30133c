//! Conversions between `metav1.Time` (a jiff timestamp in k8s-openapi) and chrono, which the
//! refresh and window arithmetic use.

use chrono::{DateTime, TimeZone, Utc};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;

/// A `metav1.Time` as a chrono UTC time (out-of-range values clamp to the epoch).
pub fn from_k8s(t: &Time) -> DateTime<Utc> {
    Utc.timestamp_opt(t.0.as_second(), t.0.subsec_nanosecond().max(0) as u32)
        .single()
        .unwrap_or_default()
}

/// A chrono UTC time as `metav1.Time`, truncated to whole seconds as the API server stores it.
pub fn to_k8s(t: DateTime<Utc>) -> Time {
    Time(Timestamp::from_second(t.timestamp()).unwrap_or(Timestamp::UNIX_EPOCH))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_whole_seconds() {
        let t = Utc
            .with_ymd_and_hms(2026, 5, 4, 3, 2, 1)
            .single()
            .expect("valid");
        assert_eq!(from_k8s(&to_k8s(t)), t);
    }
}
