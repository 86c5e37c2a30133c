//! Store `refreshInterval` (int-or-string) and std conversions.

use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use shared::duration::{GoDuration, RefreshIntervalError, store_refresh_interval};

fn default() -> GoDuration {
    GoDuration::from_secs(300)
}

#[test]
fn absent_or_zero_refresh_interval_uses_controller_default() {
    assert_eq!(store_refresh_interval(None, default()), Ok(default()));
    assert_eq!(
        store_refresh_interval(Some(&IntOrString::Int(0)), default()),
        Ok(default())
    );
    let zero = IntOrString::String("0s".into());
    assert_eq!(
        store_refresh_interval(Some(&zero), default()),
        Ok(default())
    );
}

#[test]
fn integer_refresh_interval_counts_seconds() {
    let d = store_refresh_interval(Some(&IntOrString::Int(90)), default());
    assert_eq!(d.map(|d| d.to_string()), Ok("1m30s".to_string()));
}

#[test]
fn string_refresh_interval_is_a_go_duration() {
    let d = store_refresh_interval(Some(&IntOrString::String("1h".into())), default());
    assert_eq!(d.map(|d| d.to_string()), Ok("1h0m0s".to_string()));
}

#[test]
fn negative_refresh_interval_is_rejected() {
    assert!(matches!(
        store_refresh_interval(Some(&IntOrString::Int(-1)), default()),
        Err(RefreshIntervalError::Negative(_))
    ));
    assert!(matches!(
        store_refresh_interval(Some(&IntOrString::String("-5m".into())), default()),
        Err(RefreshIntervalError::Negative(_))
    ));
}

#[test]
fn unparsable_refresh_interval_is_rejected_with_go_message() {
    let err = store_refresh_interval(Some(&IntOrString::String("soon".into())), default())
        .expect_err("must fail");
    assert_eq!(
        err.to_string(),
        r#"refreshInterval is not a valid duration: time: invalid duration "soon""#
    );
    // A digits-only string is not an integer: Go wants a unit.
    assert!(store_refresh_interval(Some(&IntOrString::String("30".into())), default()).is_err());
}

#[test]
fn std_conversion_refuses_negative_durations() {
    assert_eq!(GoDuration::from_nanos(-1).to_std(), None);
    assert_eq!(
        GoDuration::parse("1.5s").ok().and_then(GoDuration::to_std),
        Some(std::time::Duration::from_millis(1500))
    );
    assert_eq!(
        GoDuration::from_std(std::time::Duration::from_secs(u64::MAX)),
        None
    );
}
