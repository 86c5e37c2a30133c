//! The status a store reconcile should leave behind: a pure function of the old status and the
//! validation outcome, so "nothing changed ⇒ no write" is decided without the API server.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use shared::api::v1::{
    REASON_INVALID_PROVIDER_CONFIG, REASON_VALID, REASON_VALIDATION_UNKNOWN, STORE_CONDITION_READY,
    SecretStoreCapabilities, SecretStoreStatus, SecretStoreStatusCondition,
};

/// What validating a store found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The provider client could not be built.
    ClientFailed,
    /// `validate()` returned an error.
    ValidateFailed,
    /// The provider cannot tell (Ready=True, `ValidationUnknown`).
    Unknown,
    /// Validated.
    Valid,
    /// The store's namespace does not permit a role the store would assume; nothing was called.
    PolicyViolation,
}

impl Outcome {
    /// (status, reason, message) of the Ready condition, as ESO writes them.
    pub fn condition(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Outcome::ClientFailed => (
                "False",
                REASON_INVALID_PROVIDER_CONFIG,
                "unable to create client",
            ),
            Outcome::ValidateFailed => (
                "False",
                REASON_INVALID_PROVIDER_CONFIG,
                "unable to validate store",
            ),
            Outcome::Unknown => (
                "True",
                REASON_VALIDATION_UNKNOWN,
                "could not determine validation status",
            ),
            Outcome::Valid => ("True", REASON_VALID, "store validated"),
            Outcome::PolicyViolation => (
                "False",
                shared::policy::POLICY_VIOLATION_REASON,
                "namespace policy forbids this store",
            ),
        }
    }
}

/// The new status: the Ready condition replaced (keeping `lastTransitionTime` while its status
/// does not flip, and untouched entirely when nothing about it changed), capabilities set when the
/// store is usable (Valid or ValidationUnknown) and kept otherwise.
///
/// `detail` (the provider's or policy's error text, never a secret value) is appended to ESO's
/// fixed message, so `kubectl get` shows why a store is not Ready without reading events. Errors
/// must be stable across retries (no request IDs), or every retry would rewrite the status.
pub fn desired_status(
    current: Option<&SecretStoreStatus>,
    outcome: Outcome,
    detail: Option<&str>,
    capabilities: SecretStoreCapabilities,
    now: Time,
) -> SecretStoreStatus {
    let mut status = current.cloned().unwrap_or_default();
    let (cond_status, reason, fixed) = outcome.condition();
    let message = match detail.filter(|d| !d.is_empty()) {
        Some(d) if cond_status == "False" => format!("{fixed}: {d}"),
        _ => fixed.to_string(),
    };
    let message = message.as_str();
    let conditions = status.conditions.get_or_insert_with(Vec::new);
    let existing = conditions
        .iter()
        .find(|c| c.type_ == STORE_CONDITION_READY)
        .cloned();
    let unchanged = existing.as_ref().is_some_and(|c| {
        c.status == cond_status
            && c.reason.as_deref() == Some(reason)
            && c.message.as_deref() == Some(message)
    });
    if !unchanged {
        let last_transition_time = match &existing {
            Some(c) if c.status == cond_status => c.last_transition_time.clone(),
            _ => Some(now),
        };
        conditions.retain(|c| c.type_ != STORE_CONDITION_READY);
        conditions.push(SecretStoreStatusCondition {
            type_: STORE_CONDITION_READY.into(),
            status: cond_status.into(),
            reason: Some(reason.into()),
            message: Some(message.into()),
            last_transition_time,
        });
    }
    if matches!(outcome, Outcome::Valid | Outcome::Unknown) {
        status.capabilities = Some(capabilities);
    }
    status
}

/// Whether writing `new` would change anything.
pub fn status_changed(old: Option<&SecretStoreStatus>, new: &SecretStoreStatus) -> bool {
    old != Some(new)
}
