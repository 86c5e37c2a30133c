//! shouldRefresh / isSecretValid / sync-window cases from ESO's controller tests (§10.1).

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, TimeZone, Utc};
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use kube::api::ObjectMeta;
use shared::api::v1::{
    CreationPolicy, ExternalSecret, ExternalSecretSpec, ExternalSecretStatus, ExternalSecretTarget,
    RefreshPolicy, SyncWindow, SyncWindowKind, SyncWindows,
};
use shared::hash::object_hash_secret_data;

use super::*;
use crate::externalsecret::clock::to_k8s;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, 1, 12, 0, 0)
        .single()
        .expect("valid")
}

fn es(policy: Option<RefreshPolicy>, interval: &str) -> ExternalSecret {
    let mut es = ExternalSecret::new(
        "db",
        ExternalSecretSpec {
            refresh_policy: policy,
            refresh_interval: Some(interval.to_string()),
            ..Default::default()
        },
    );
    es.metadata.namespace = Some("ns".into());
    es.metadata.generation = Some(1);
    es
}

/// Marks `es` as synced at `at` for its current generation and metadata.
fn synced(mut es: ExternalSecret, at: DateTime<Utc>) -> ExternalSecret {
    es.status = Some(ExternalSecretStatus {
        refresh_time: Some(to_k8s(at)),
        synced_resource_version: Some(current_resource_version(&es)),
        ..Default::default()
    });
    es
}

#[test]
fn refreshes_when_the_resource_version_does_not_match() {
    let mut e = synced(es(None, "1h"), now());
    e.status.as_mut().expect("status").synced_resource_version = Some("1-deadbeef".into());
    assert!(should_refresh(&e, now()));
}

#[test]
fn refreshes_on_label_annotation_or_generation_change() {
    let base = synced(es(None, "1h"), now());
    assert!(!should_refresh(&base, now()));
    let mut labels = base.clone();
    labels.metadata.labels = Some(BTreeMap::from([("a".into(), "b".into())]));
    assert!(should_refresh(&labels, now()));
    let mut annotations = base.clone();
    annotations.metadata.annotations = Some(BTreeMap::from([("a".into(), "b".into())]));
    assert!(should_refresh(&annotations, now()));
    let mut generation = base;
    generation.metadata.generation = Some(2);
    assert!(should_refresh(&generation, now()));
}

#[test]
fn interval_zero_skips_once_synced_even_after_spec_or_label_changes() {
    let e = synced(es(None, "0s"), now() - Duration::days(3));
    assert!(!should_refresh(&e, now()));
    let mut changed = e.clone();
    changed.metadata.generation = Some(7);
    changed.metadata.labels = Some(BTreeMap::from([("x".into(), "y".into())]));
    assert!(!should_refresh(&changed, now()));
    // ... but the first sync still happens.
    assert!(should_refresh(&es(None, "0s"), now()));
}

#[test]
fn refreshes_when_the_interval_elapsed() {
    let e = synced(es(None, "1h"), now() - Duration::minutes(61));
    assert!(should_refresh(&e, now()));
    let fresh = synced(es(None, "1h"), now() - Duration::minutes(59));
    assert_eq!(
        decide(&fresh, now()),
        Decision::NotDue(Some(now() + Duration::minutes(1)))
    );
}

#[test]
fn refreshes_without_refresh_time_or_with_one_in_the_future() {
    let mut e = synced(es(None, "1h"), now());
    e.status.as_mut().expect("status").refresh_time = None;
    assert!(should_refresh(&e, now()));
    let future = synced(es(None, "1h"), now() + Duration::minutes(5));
    assert!(should_refresh(&future, now()));
}

#[test]
fn default_policy_is_periodic() {
    let unset = synced(es(None, "1h"), now() - Duration::hours(2));
    let periodic = synced(
        es(Some(RefreshPolicy::Periodic), "1h"),
        now() - Duration::hours(2),
    );
    assert!(should_refresh(&unset, now()));
    assert!(should_refresh(&periodic, now()));
}

#[test]
fn created_once_refreshes_only_before_the_first_sync() {
    let fresh = es(Some(RefreshPolicy::CreatedOnce), "1m");
    assert!(should_refresh(&fresh, now()));
    let mut no_time = synced(fresh.clone(), now());
    no_time.status.as_mut().expect("status").refresh_time = None;
    assert!(should_refresh(&no_time, now()));
    let mut changed = synced(fresh, now() - Duration::days(1));
    changed.metadata.generation = Some(9);
    assert!(!should_refresh(&changed, now()));
}

#[test]
fn on_change_refreshes_only_on_changes() {
    let fresh = es(Some(RefreshPolicy::OnChange), "1m");
    assert!(should_refresh(&fresh, now()), "never synced");
    let mut no_time = synced(fresh.clone(), now());
    no_time.status.as_mut().expect("status").refresh_time = None;
    assert!(should_refresh(&no_time, now()), "no refresh time");
    let done = synced(fresh, now() - Duration::days(1));
    assert!(!should_refresh(&done, now()), "interval elapsed is ignored");
    let mut gen_changed = done.clone();
    gen_changed.metadata.generation = Some(2);
    assert!(should_refresh(&gen_changed, now()));
    let mut label_changed = done.clone();
    label_changed.metadata.labels = Some(BTreeMap::from([("l".into(), "v".into())]));
    assert!(should_refresh(&label_changed, now()));
    let mut annotation_changed = done;
    annotation_changed.metadata.annotations = Some(BTreeMap::from([(
        "external-secrets.io/force-sync".into(),
        "1".into(),
    )]));
    assert!(should_refresh(&annotation_changed, now()));
}

#[test]
fn metadata_hash_depends_on_values_and_generation() {
    let a = es(None, "1h");
    let mut b = a.clone();
    b.metadata.labels = Some(BTreeMap::from([("k".into(), "v1".into())]));
    let mut c = a.clone();
    c.metadata.labels = Some(BTreeMap::from([("k".into(), "v2".into())]));
    assert_ne!(current_resource_version(&b), current_resource_version(&c));
    let mut d = b.clone();
    d.metadata.generation = Some(2);
    assert_ne!(current_resource_version(&b), current_resource_version(&d));
    assert_eq!(
        current_resource_version(&b),
        current_resource_version(&b.clone())
    );
}

fn windows(kind: SyncWindowKind, schedule: &str, duration: &str) -> SyncWindows {
    SyncWindows {
        kind,
        windows: vec![SyncWindow {
            schedule: schedule.into(),
            duration: duration.into(),
        }],
    }
}

#[test]
fn allow_windows_gate_only_elapsed_periodic_refreshes() {
    // 12:00 is inside "0 11 * * *" + 2h and outside "0 14 * * *" + 1h.
    let mut open = synced(es(None, "1h"), now() - Duration::hours(2));
    open.spec.sync_windows = Some(windows(SyncWindowKind::Allow, "0 11 * * *", "2h"));
    assert_eq!(decide(&open, now()), Decision::Refresh);
    let mut closed = open.clone();
    closed.spec.sync_windows = Some(windows(SyncWindowKind::Allow, "0 14 * * *", "1h"));
    assert_eq!(decide(&closed, now()), Decision::Blocked);
    // A spec change is not a periodic refresh: windows do not apply.
    closed.metadata.generation = Some(2);
    assert_eq!(decide(&closed, now()), Decision::Refresh);
}

#[test]
fn deny_windows_block_while_active() {
    let mut e = synced(es(None, "1h"), now() - Duration::hours(2));
    e.spec.sync_windows = Some(windows(SyncWindowKind::Deny, "0 12 * * *", "30m"));
    assert_eq!(decide(&e, now()), Decision::Blocked);
    e.spec.sync_windows = Some(windows(SyncWindowKind::Deny, "0 13 * * *", "30m"));
    assert_eq!(decide(&e, now()), Decision::Refresh);
}

#[test]
fn invalid_window_schedules_are_ignored() {
    let deny = windows(SyncWindowKind::Deny, "not a cron", "1h");
    assert!(sync_windows_permit(Some(&deny), now()));
    let allow = windows(SyncWindowKind::Allow, "not a cron", "1h");
    assert!(!sync_windows_permit(Some(&allow), now()));
    assert!(sync_windows_permit(None, now()));
}

fn secret(data: &[(&str, &str)], hash: Option<String>, managed: bool, uid: bool) -> Secret {
    let data: BTreeMap<String, ByteString> = data
        .iter()
        .map(|(k, v)| (k.to_string(), ByteString(v.as_bytes().to_vec())))
        .collect();
    Secret {
        metadata: ObjectMeta {
            name: Some("db".into()),
            uid: uid.then(|| "u-1".to_string()),
            labels: managed.then(|| BTreeMap::from([(LABEL_MANAGED.into(), "true".into())])),
            annotations: hash.map(|h| BTreeMap::from([(ANNOTATION_DATA_HASH.into(), h)])),
            ..Default::default()
        },
        data: Some(data),
        ..Default::default()
    }
}

fn good_hash() -> String {
    object_hash_secret_data(&BTreeMap::from([("k".to_string(), b"v".to_vec())]))
}

fn with_policy(p: CreationPolicy) -> ExternalSecret {
    let mut e = es(None, "1h");
    e.spec.target = Some(ExternalSecretTarget {
        creation_policy: Some(p),
        ..Default::default()
    });
    e
}

#[test]
fn secret_validity_table() {
    let owner = with_policy(CreationPolicy::Owner);
    assert!(is_secret_valid(
        Some(&secret(&[("k", "v")], Some(good_hash()), true, true)),
        &owner
    ));
    assert!(!is_secret_valid(None, &owner), "missing target");
    assert!(
        !is_secret_valid(Some(&secret(&[("k", "v")], None, true, true)), &owner),
        "no hash annotation"
    );
    assert!(
        !is_secret_valid(
            Some(&secret(&[("k", "changed")], Some(good_hash()), true, true)),
            &owner
        ),
        "drifted data"
    );
    assert!(
        !is_secret_valid(
            Some(&secret(&[("k", "v")], Some(good_hash()), false, true)),
            &owner
        ),
        "managed label missing"
    );
    let orphan = with_policy(CreationPolicy::Orphan);
    assert!(is_secret_valid(None, &orphan));
    assert!(is_secret_valid(
        Some(&secret(&[("k", "x")], None, false, false)),
        &orphan
    ));
    let create_or_merge = with_policy(CreationPolicy::CreateOrMerge);
    assert!(
        !is_secret_valid(
            Some(&secret(&[("k", "v")], Some(good_hash()), true, false)),
            &create_or_merge
        ),
        "missing UID"
    );
}
