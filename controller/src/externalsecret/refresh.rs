//! When an ExternalSecret is synced again (ESO `shouldRefresh`, `isSecretValid`, sync windows).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use k8s_openapi::api::core::v1::Secret;
use shared::api::v1::{CreationPolicy, ExternalSecret, RefreshPolicy, SyncWindowKind, SyncWindows};
use shared::duration::GoDuration;
use shared::hash::{object_hash_secret_data, synced_resource_version};

use super::clock::from_k8s;
use super::cron::Schedule;
use crate::secrets::{ANNOTATION_DATA_HASH, LABEL_MANAGED, LABEL_MANAGED_VALUE, secret_data};

/// Fallback when `refreshInterval` does not parse (the webhook rejects such objects; an object
/// written around it still gets ESO's default rather than a tight loop).
const FALLBACK_INTERVAL: GoDuration = GoDuration::from_secs(3600);

/// The refresh interval with the CRD default applied.
pub fn refresh_interval(es: &ExternalSecret) -> GoDuration {
    GoDuration::parse(es.spec.effective_refresh_interval()).unwrap_or(FALLBACK_INTERVAL)
}

/// `"<generation>-<hash(labels, annotations)>"` of the object as it is now.
pub fn current_resource_version(es: &ExternalSecret) -> String {
    let empty = BTreeMap::new();
    synced_resource_version(
        es.metadata.generation.unwrap_or(0),
        es.metadata.labels.as_ref().unwrap_or(&empty),
        es.metadata.annotations.as_ref().unwrap_or(&empty),
    )
}

fn synced_version(es: &ExternalSecret) -> &str {
    es.status
        .as_ref()
        .and_then(|s| s.synced_resource_version.as_deref())
        .unwrap_or("")
}

fn refresh_time(es: &ExternalSecret) -> Option<DateTime<Utc>> {
    es.status
        .as_ref()
        .and_then(|s| s.refresh_time.as_ref())
        .map(from_k8s)
}

/// Whether a sync is due now (ESO `shouldRefresh`). Sync windows only gate the "interval
/// elapsed" case; spec/metadata changes and first syncs always go through.
pub fn should_refresh(es: &ExternalSecret, now: DateTime<Utc>) -> bool {
    decide(es, now) == Decision::Refresh
}

/// Outcome of the refresh decision, with what the reconciler needs to requeue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Sync now.
    Refresh,
    /// Nothing due; a periodic refresh is due at the given time (if any).
    NotDue(Option<DateTime<Utc>>),
    /// A periodic refresh is due but a sync window blocks it.
    Blocked,
}

/// The refresh decision.
pub fn decide(es: &ExternalSecret, now: DateTime<Utc>) -> Decision {
    let synced = synced_version(es);
    let last = refresh_time(es);
    let never_synced = synced.is_empty() || last.is_none();
    match es.spec.effective_refresh_policy() {
        RefreshPolicy::CreatedOnce => {
            if never_synced {
                Decision::Refresh
            } else {
                Decision::NotDue(None)
            }
        }
        RefreshPolicy::OnChange => {
            if never_synced || synced != current_resource_version(es) {
                Decision::Refresh
            } else {
                Decision::NotDue(None)
            }
        }
        RefreshPolicy::Periodic => {
            let interval = refresh_interval(es);
            if interval.as_nanos() <= 0 && !synced.is_empty() {
                return Decision::NotDue(None);
            }
            if synced != current_resource_version(es) {
                return Decision::Refresh;
            }
            let Some(last) = last else {
                return Decision::Refresh;
            };
            if last > now {
                return Decision::Refresh;
            }
            let due = last + chrono::Duration::nanoseconds(interval.as_nanos());
            if due < now {
                if sync_windows_permit(es.spec.sync_windows.as_ref(), now) {
                    Decision::Refresh
                } else {
                    Decision::Blocked
                }
            } else {
                Decision::NotDue(Some(due))
            }
        }
    }
}

/// Whether the sync windows allow a periodic refresh at `now`. Windows with an unparsable
/// schedule or duration are ignored.
pub fn sync_windows_permit(windows: Option<&SyncWindows>, now: DateTime<Utc>) -> bool {
    let Some(windows) = windows else {
        return true;
    };
    let active = windows.windows.iter().any(|w| {
        let (Ok(schedule), Ok(duration)) =
            (Schedule::parse(&w.schedule), GoDuration::parse(&w.duration))
        else {
            return false;
        };
        schedule.window_contains(now, chrono::Duration::nanoseconds(duration.as_nanos()))
    });
    match windows.kind {
        SyncWindowKind::Allow => active,
        SyncWindowKind::Deny => !active,
    }
}

/// Whether the target as it exists satisfies the ExternalSecret without a sync (ESO
/// `isSecretValid`): it exists, carries the managed label and its data-hash annotation matches
/// its data. With creationPolicy Orphan the target is always considered valid.
pub fn is_secret_valid(secret: Option<&Secret>, es: &ExternalSecret) -> bool {
    if es.spec.effective_creation_policy() == CreationPolicy::Orphan {
        return true;
    }
    let Some(secret) = secret else {
        return false;
    };
    if secret.metadata.uid.as_deref().unwrap_or("").is_empty() {
        return false;
    }
    let managed = secret
        .metadata
        .labels
        .as_ref()
        .and_then(|l| l.get(LABEL_MANAGED))
        .is_some_and(|v| v == LABEL_MANAGED_VALUE);
    if !managed {
        return false;
    }
    let Some(hash) = secret
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(ANNOTATION_DATA_HASH))
    else {
        return false;
    };
    *hash == object_hash_secret_data(&secret_data(secret))
}

#[cfg(test)]
#[path = "refresh_tests.rs"]
mod tests;
