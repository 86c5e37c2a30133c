//! ExternalSecret status conditions: one entry per type, `lastTransitionTime` kept while the
//! status does not flip (ESO `SetExternalSecretCondition`).

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use shared::api::v1::{CONDITION_READY, ExternalSecretStatus, ExternalSecretStatusCondition};

/// A condition to set, without its transition time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cond<'a> {
    /// Condition type (`Ready`).
    pub type_: &'a str,
    /// True or False.
    pub status: bool,
    /// Machine-readable reason.
    pub reason: &'a str,
    /// Human-readable message (never contains a secret value).
    pub message: &'a str,
}

impl<'a> Cond<'a> {
    /// A Ready condition.
    pub fn ready(status: bool, reason: &'a str, message: &'a str) -> Self {
        Self {
            type_: CONDITION_READY,
            status,
            reason,
            message,
        }
    }
}

fn status_text(b: bool) -> &'static str {
    if b { "True" } else { "False" }
}

/// Sets `cond` on `status`; `now` becomes its transition time only if the status changed (or
/// the condition is new).
pub fn set_condition(status: &mut ExternalSecretStatus, cond: &Cond<'_>, now: Time) {
    let conditions = status.conditions.get_or_insert_with(Vec::new);
    let text = status_text(cond.status);
    let transition = conditions
        .iter()
        .find(|c| c.type_ == cond.type_)
        .filter(|c| c.status == text)
        .and_then(|c| c.last_transition_time.clone())
        .unwrap_or(now);
    let new = ExternalSecretStatusCondition {
        type_: cond.type_.to_string(),
        status: text.to_string(),
        reason: Some(cond.reason.to_string()),
        message: Some(cond.message.to_string()),
        last_transition_time: Some(transition),
    };
    // Like ESO: an identical condition stays where it is, so the status compares equal and
    // nothing is written.
    if conditions.contains(&new) {
        return;
    }
    conditions.retain(|c| c.type_ != cond.type_);
    conditions.push(new);
}

/// The current condition of `type_`, if any.
pub fn get_condition<'a>(
    status: Option<&'a ExternalSecretStatus>,
    type_: &str,
) -> Option<&'a ExternalSecretStatusCondition> {
    status?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == type_)
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone, Utc};

    use super::*;
    use crate::externalsecret::clock::to_k8s;

    #[test]
    fn keeps_transition_time_while_status_is_unchanged() {
        let t0 = Utc
            .with_ymd_and_hms(2026, 1, 1, 0, 0, 0)
            .single()
            .expect("valid");
        let mut status = ExternalSecretStatus::default();
        set_condition(
            &mut status,
            &Cond::ready(true, "SecretSynced", "secret synced"),
            to_k8s(t0),
        );
        let t1 = t0 + Duration::minutes(5);
        set_condition(
            &mut status,
            &Cond::ready(true, "SecretSynced", "other message"),
            to_k8s(t1),
        );
        let c = get_condition(Some(&status), "Ready").expect("set");
        assert_eq!(c.last_transition_time, Some(to_k8s(t0)));
        assert_eq!(c.message.as_deref(), Some("other message"));
        let t2 = t1 + Duration::minutes(5);
        set_condition(
            &mut status,
            &Cond::ready(false, "SecretSyncedError", "boom"),
            to_k8s(t2),
        );
        let c = get_condition(Some(&status), "Ready").expect("set");
        assert_eq!(c.last_transition_time, Some(to_k8s(t2)));
        assert_eq!(c.status, "False");
        assert_eq!(status.conditions.as_ref().map(Vec::len), Some(1));
    }
}
