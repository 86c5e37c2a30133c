//! The store side of `deletionPolicy: Delete` (§4.2, last paragraph): a SecretStore or
//! ClusterSecretStore keeps finalizer `secretstore.externalsecrets.io/finalizer` while any
//! PushSecret with policy Delete references it (by name or label selector) or has pushed to it
//! (recorded in its status), so the PushSecret can still delete what it wrote.
//!
//! Pure decisions; the store reconciler lists the PushSecrets and applies the patch.

use std::collections::BTreeMap;

use kube::ResourceExt;
use kube::core::{Selector, SelectorExt};
use shared::api::v1::SecretStoreKind;
use shared::api::v1alpha1::{PushSecret, PushSecretDeletionPolicy};

use super::plan::store_status_key;

/// Finalizer the store controllers put on stores PushSecrets still need.
pub const STORE_FINALIZER: &str = "secretstore.externalsecrets.io/finalizer";

/// Whether one PushSecret needs the store `kind/name` (in `store_namespace` for a
/// SecretStore) to stay until it is gone.
fn needs(
    ps: &PushSecret,
    kind: SecretStoreKind,
    name: &str,
    store_namespace: Option<&str>,
    store_labels: &BTreeMap<String, String>,
) -> bool {
    if ps.spec.effective_deletion_policy() != PushSecretDeletionPolicy::Delete {
        return false;
    }
    if kind == SecretStoreKind::SecretStore && ps.namespace().as_deref() != store_namespace {
        return false;
    }
    let referenced = ps.spec.secret_store_refs.iter().any(|r| {
        if r.effective_kind() != kind {
            return false;
        }
        if let Some(n) = r.name.as_deref().filter(|n| !n.is_empty()) {
            return n == name;
        }
        r.label_selector
            .clone()
            .and_then(|s| Selector::try_from(s).ok())
            .is_some_and(|s| s.matches(store_labels))
    });
    let recorded = ps
        .status
        .as_ref()
        .and_then(|s| s.synced_push_secrets.as_ref())
        .is_some_and(|m| m.contains_key(&store_status_key(kind, name)));
    referenced || recorded
}

/// Whether any of `pushsecrets` needs the store to keep its finalizer.
pub fn store_needs_finalizer(
    kind: SecretStoreKind,
    name: &str,
    store_namespace: Option<&str>,
    store_labels: &BTreeMap<String, String>,
    pushsecrets: &[PushSecret],
) -> bool {
    pushsecrets
        .iter()
        .any(|ps| needs(ps, kind, name, store_namespace, store_labels))
}

/// What to do with the store's finalizers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StoreFinalizerChange {
    /// Nothing.
    Keep,
    /// Write this finalizer list (as a merge patch with the store's resourceVersion).
    Set(Vec<String>),
}

/// The finalizer list the store should have, given whether it is needed.
pub fn store_finalizer_change(current: &[String], needed: bool) -> StoreFinalizerChange {
    let has = current.iter().any(|f| f == STORE_FINALIZER);
    match (needed, has) {
        (true, false) => {
            let mut next = current.to_vec();
            next.push(STORE_FINALIZER.into());
            StoreFinalizerChange::Set(next)
        }
        (false, true) => StoreFinalizerChange::Set(
            current
                .iter()
                .filter(|f| *f != STORE_FINALIZER)
                .cloned()
                .collect(),
        ),
        _ => StoreFinalizerChange::Keep,
    }
}

/// The stores a PushSecret event concerns, as (kind, name): named references and stores
/// recorded in its status. Label-selected stores are matched by the caller against its cache.
pub fn named_stores(ps: &PushSecret) -> Vec<(SecretStoreKind, String)> {
    let mut out: Vec<(SecretStoreKind, String)> = ps
        .spec
        .secret_store_refs
        .iter()
        .filter_map(|r| {
            r.name
                .as_deref()
                .filter(|n| !n.is_empty())
                .map(|n| (r.effective_kind(), n.to_string()))
        })
        .collect();
    for key in ps
        .status
        .as_ref()
        .and_then(|s| s.synced_push_secrets.as_ref())
        .into_iter()
        .flat_map(|m| m.keys())
    {
        if let Some(r) = super::plan::parse_store_status_key(key) {
            out.push((r.effective_kind(), r.name.unwrap_or_default()));
        }
    }
    out.sort_by(|a, b| (a.0.as_str(), &a.1).cmp(&(b.0.as_str(), &b.1)));
    out.dedup();
    out
}

/// Whether the PushSecret selects stores of `kind` by labels matching `labels`.
pub fn selects_by_labels(
    ps: &PushSecret,
    kind: SecretStoreKind,
    labels: &BTreeMap<String, String>,
) -> bool {
    ps.spec.secret_store_refs.iter().any(|r| {
        r.effective_kind() == kind
            && r.name.as_deref().is_none_or(str::is_empty)
            && r.label_selector
                .clone()
                .and_then(|s| Selector::try_from(s).ok())
                .is_some_and(|s| s.matches(labels))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ps(ns: &str, yaml: &str) -> PushSecret {
        let mut p: PushSecret = serde_saphyr::from_str(&format!(
            "apiVersion: external-secrets.io/v1alpha1\nkind: PushSecret\nmetadata: {{name: p, namespace: {ns}}}\n{yaml}"
        ))
        .unwrap();
        p.metadata.namespace = Some(ns.into());
        p
    }

    const SEL: &str = "  selector: {secret: {name: s}}\n";

    #[test]
    fn named_reference_with_delete_policy_needs_the_store() {
        let p = ps(
            "app",
            &format!(
                "spec:\n  deletionPolicy: Delete\n  secretStoreRefs: [{{name: vault}}]\n{SEL}"
            ),
        );
        let none = BTreeMap::new();
        let k = SecretStoreKind::SecretStore;
        assert!(store_needs_finalizer(
            k,
            "vault",
            Some("app"),
            &none,
            std::slice::from_ref(&p)
        ));
        // Other name, other namespace, other kind: no.
        assert!(!store_needs_finalizer(
            k,
            "other",
            Some("app"),
            &none,
            std::slice::from_ref(&p)
        ));
        assert!(!store_needs_finalizer(
            k,
            "vault",
            Some("web"),
            &none,
            std::slice::from_ref(&p)
        ));
        assert!(!store_needs_finalizer(
            SecretStoreKind::ClusterSecretStore,
            "vault",
            None,
            &none,
            std::slice::from_ref(&p)
        ));
    }

    #[test]
    fn policy_none_never_needs_the_store() {
        let p = ps(
            "app",
            &format!(
                "spec:\n  secretStoreRefs: [{{name: vault}}]\n{SEL}status:\n  syncedPushSecrets: {{SecretStore/vault: {{}}}}\n"
            ),
        );
        assert!(!store_needs_finalizer(
            SecretStoreKind::SecretStore,
            "vault",
            Some("app"),
            &BTreeMap::new(),
            &[p]
        ));
    }

    #[test]
    fn label_selector_and_status_record_count() {
        let p = ps(
            "app",
            &format!(
                "spec:\n  deletionPolicy: Delete\n  secretStoreRefs: [{{kind: ClusterSecretStore, labelSelector: {{matchLabels: {{team: a}}}}}}]\n{SEL}status:\n  syncedPushSecrets: {{SecretStore/old: {{}}}}\n"
            ),
        );
        let team_a = BTreeMap::from([("team".to_string(), "a".to_string())]);
        let css = SecretStoreKind::ClusterSecretStore;
        assert!(store_needs_finalizer(
            css,
            "any",
            None,
            &team_a,
            std::slice::from_ref(&p)
        ));
        assert!(!store_needs_finalizer(
            css,
            "any",
            None,
            &BTreeMap::new(),
            std::slice::from_ref(&p)
        ));
        // A store the PushSecret pushed to before its spec changed.
        assert!(store_needs_finalizer(
            SecretStoreKind::SecretStore,
            "old",
            Some("app"),
            &BTreeMap::new(),
            std::slice::from_ref(&p)
        ));
        assert_eq!(
            named_stores(&p),
            vec![(SecretStoreKind::SecretStore, "old".to_string())]
        );
        assert!(selects_by_labels(&p, css, &team_a));
    }

    #[test]
    fn finalizer_change_adds_and_removes_only_ours() {
        let other = vec!["example.com/keep".to_string()];
        assert_eq!(
            store_finalizer_change(&other, true),
            StoreFinalizerChange::Set(vec!["example.com/keep".into(), STORE_FINALIZER.into()])
        );
        assert_eq!(
            store_finalizer_change(&other, false),
            StoreFinalizerChange::Keep
        );
        let with = vec![STORE_FINALIZER.to_string(), "example.com/keep".to_string()];
        assert_eq!(
            store_finalizer_change(&with, true),
            StoreFinalizerChange::Keep
        );
        assert_eq!(
            store_finalizer_change(&with, false),
            StoreFinalizerChange::Set(vec!["example.com/keep".into()])
        );
    }
}
