//! The refresh gate (§4.2 step 2) and the Ready condition, as pure functions.

use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use shared::api::v1alpha1::{PS_CONDITION_READY, PushSecretStatus, PushSecretStatusCondition};

/// Extra delay ESO adds when requeueing for the remaining part of the interval.
pub const REQUEUE_SLACK: Duration = Duration::from_secs(5);

/// What the refresh gate decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Gate {
    /// Push now.
    Refresh,
    /// Nothing to do until this much time has passed.
    Wait(Duration),
    /// `refreshInterval: 0` and the spec is unchanged: never push again on our own.
    Never,
}

/// ESO's `shouldRefresh`: push when the spec/metadata changed since the last push
/// (`syncedResourceVersion`), when the interval elapsed, or when no push happened yet.
pub fn refresh_gate(
    status: Option<&PushSecretStatus>,
    resource_version: &str,
    interval: Duration,
    now: Timestamp,
) -> Gate {
    let synced = status.and_then(|s| s.synced_resource_version.as_deref());
    if synced != Some(resource_version) {
        return Gate::Refresh;
    }
    if interval.is_zero() {
        return Gate::Never;
    }
    let Some(last) = status.and_then(|s| s.refresh_time.as_ref()) else {
        return Gate::Refresh;
    };
    let elapsed = now.duration_since(last.0).unsigned_abs();
    let in_future = last.0 > now;
    if !in_future && elapsed >= interval {
        Gate::Refresh
    } else if in_future {
        // A clock step backwards: wait one interval rather than spinning.
        Gate::Wait(interval + REQUEUE_SLACK)
    } else {
        Gate::Wait(interval - elapsed + REQUEUE_SLACK)
    }
}

/// Replaces the Ready condition, keeping `lastTransitionTime` while its status does not flip.
pub fn set_ready(status: &mut PushSecretStatus, ok: bool, reason: &str, message: &str, now: Time) {
    let value = if ok { "True" } else { "False" };
    let conditions = status.conditions.get_or_insert_with(Vec::new);
    let previous = conditions
        .iter()
        .find(|c| c.type_ == PS_CONDITION_READY)
        .cloned();
    let last_transition_time = match previous {
        Some(c) if c.status == value => c.last_transition_time,
        _ => Some(now),
    };
    conditions.retain(|c| c.type_ != PS_CONDITION_READY);
    conditions.push(PushSecretStatusCondition {
        type_: PS_CONDITION_READY.into(),
        status: value.into(),
        reason: Some(reason.into()),
        message: Some(message.into()),
        last_transition_time,
    });
}

/// The Ready condition, if any.
pub fn ready_condition(status: Option<&PushSecretStatus>) -> Option<&PushSecretStatusCondition> {
    status?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == PS_CONDITION_READY)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(secs: i64) -> Timestamp {
        Timestamp::from_second(secs).unwrap()
    }

    fn status(rv: &str, refreshed: i64) -> PushSecretStatus {
        PushSecretStatus {
            synced_resource_version: Some(rv.into()),
            refresh_time: Some(Time(ts(refreshed))),
            ..Default::default()
        }
    }

    #[test]
    fn gate_follows_eso() {
        let hour = Duration::from_secs(3600);
        assert_eq!(refresh_gate(None, "1-x", hour, ts(1000)), Gate::Refresh);
        let s = status("1-x", 1000);
        assert_eq!(refresh_gate(Some(&s), "2-x", hour, ts(1000)), Gate::Refresh);
        assert_eq!(
            refresh_gate(Some(&s), "1-x", hour, ts(1100)),
            Gate::Wait(Duration::from_secs(3500 + 5))
        );
        assert_eq!(refresh_gate(Some(&s), "1-x", hour, ts(4600)), Gate::Refresh);
        assert_eq!(
            refresh_gate(Some(&s), "1-x", Duration::ZERO, ts(9999)),
            Gate::Never
        );
        assert_eq!(
            refresh_gate(Some(&s), "1-x", hour, ts(10)),
            Gate::Wait(hour + REQUEUE_SLACK)
        );
    }

    #[test]
    fn ready_keeps_transition_time_while_status_holds() {
        let mut s = PushSecretStatus::default();
        set_ready(&mut s, true, "Synced", "ok", Time(ts(1)));
        set_ready(&mut s, true, "Synced", "ok again", Time(ts(2)));
        let c = ready_condition(Some(&s)).unwrap();
        assert_eq!(c.last_transition_time, Some(Time(ts(1))));
        assert_eq!(c.message.as_deref(), Some("ok again"));
        set_ready(&mut s, false, "Errored", "boom", Time(ts(3)));
        let c = ready_condition(Some(&s)).unwrap();
        assert_eq!(c.last_transition_time, Some(Time(ts(3))));
        assert_eq!(s.conditions.as_ref().unwrap().len(), 1);
    }
}

/// An RFC 7386 merge patch turning `old` into `new`: removed object keys become `null` (a plain
/// merge patch of `new` would leave removed `syncedPushSecrets` entries in place).
pub fn merge_patch_diff(old: &serde_json::Value, new: &serde_json::Value) -> serde_json::Value {
    use serde_json::{Map, Value};
    match (old, new) {
        (Value::Object(o), Value::Object(n)) => {
            let mut out = Map::new();
            for (k, ov) in o {
                match n.get(k) {
                    None => {
                        out.insert(k.clone(), Value::Null);
                    }
                    Some(nv) if nv != ov => {
                        out.insert(k.clone(), merge_patch_diff(ov, nv));
                    }
                    Some(_) => {}
                }
            }
            for (k, nv) in n {
                if !o.contains_key(k) {
                    out.insert(k.clone(), nv.clone());
                }
            }
            Value::Object(out)
        }
        _ => new.clone(),
    }
}

#[cfg(test)]
mod patch_tests {
    use super::merge_patch_diff;
    use serde_json::json;

    #[test]
    fn removed_keys_become_null_and_applying_the_patch_yields_new() {
        let old = json!({"a": {"x": 1, "y": 2}, "b": [1], "c": "keep"});
        let new = json!({"a": {"x": 1, "z": 3}, "b": [2], "c": "keep"});
        let patch = merge_patch_diff(&old, &new);
        assert_eq!(patch, json!({"a": {"y": null, "z": 3}, "b": [2]}));
        let mut applied = old.clone();
        json_merge(&mut applied, &patch);
        assert_eq!(applied, new);
    }

    // RFC 7386 reference algorithm, as an oracle.
    fn json_merge(target: &mut serde_json::Value, patch: &serde_json::Value) {
        if let Some(p) = patch.as_object() {
            if !target.is_object() {
                *target = json!({});
            }
            let t = target.as_object_mut().unwrap();
            for (k, v) in p {
                if v.is_null() {
                    t.remove(k);
                } else {
                    json_merge(t.entry(k.clone()).or_insert(serde_json::Value::Null), v);
                }
            }
        } else {
            *target = patch.clone();
        }
    }
}
