//! Namespace policy applied to stores, ExternalSecrets and PushSecrets (field-notes §1).
//!
//! What is checked, following KES (which checked `roleArn` and `vaultRole` against the role
//! annotation and every remote key against the key annotation):
//!
//! * roles of a store in namespace N: aws `role` and every `additionalRoles` hop, Vault
//!   `auth.iam.role` (an AWS role) and the Vault role names `auth.kubernetes.role`,
//!   `auth.jwt.role`, `auth.iam.vaultRole`, `auth.cert.vaultRole` and `auth.gcp.role`.
//!   AppRole `roleId` is a credential identifier, not a role name, and is not checked;
//! * keys an ExternalSecret reads: `data[].remoteRef.key`, `dataFrom[].extract.key` and
//!   `dataFrom[].find.path`;
//! * keys a PushSecret writes: `data[].match.remoteRef.remoteKey` and `dataTo[].remoteKey`;
//! * a ClusterSecretStore referenced from namespace N: its roles must be permitted in N.
//!
//! The controller re-runs [`check_store_roles`], [`check_external_secret_keys`] and
//! [`check_push_secret_keys`] at reconcile time, since annotations can change after admission.

use super::common::{at, idx};
use super::{Outcome, ValidationContext};
use crate::api::v1::{ExternalSecretSpec, SecretStoreKind, SecretStoreSpec};
use crate::api::v1alpha1::PushSecretSpec;
use crate::policy::{NamespacePolicy, PolicyViolation};

/// Every role a store asks to assume, with its field path (`spec.provider...`).
pub fn store_roles(spec: &SecretStoreSpec) -> Vec<(String, String)> {
    let mut roles = Vec::new();
    if let Some(a) = &spec.provider.aws {
        let p = "spec.provider.aws";
        for (i, r) in a.additional_roles.iter().flatten().enumerate() {
            roles.push((idx(&at(p, "additionalRoles"), i), r.clone()));
        }
        if let Some(r) = &a.role {
            roles.push((at(p, "role"), r.clone()));
        }
    }
    if let Some(auth) = spec.provider.vault.as_ref().and_then(|v| v.auth.as_ref()) {
        let p = "spec.provider.vault.auth";
        let mut push = |path: &str, r: Option<&String>| {
            if let Some(r) = r.filter(|r| !r.is_empty()) {
                roles.push((at(p, path), r.clone()));
            }
        };
        push("kubernetes.role", auth.kubernetes.as_ref().map(|k| &k.role));
        push("jwt.role", auth.jwt.as_ref().and_then(|j| j.role.as_ref()));
        push("iam.role", auth.iam.as_ref().and_then(|i| i.role.as_ref()));
        push("iam.vaultRole", auth.iam.as_ref().map(|i| &i.vault_role));
        push(
            "cert.vaultRole",
            auth.cert.as_ref().and_then(|c| c.vault_role.as_ref()),
        );
        push("gcp.role", auth.gcp.as_ref().map(|g| &g.role));
    }
    roles
}

/// Checks every role of a store against the namespace's role annotation; the first rejected
/// one is returned.
pub fn check_store_roles(
    spec: &SecretStoreSpec,
    policy: &NamespacePolicy,
) -> Result<(), PolicyViolation> {
    store_roles(spec)
        .iter()
        .try_for_each(|(_, r)| policy.check_role(r))
}

/// Every remote key an ExternalSecret reads, with its path relative to `spec`.
pub fn external_secret_keys(spec: &ExternalSecretSpec) -> Vec<(String, String)> {
    let mut keys = Vec::new();
    for (i, d) in spec.data_items().iter().enumerate() {
        // Generators ignore the key; only store reads are policed.
        if d.source_ref
            .as_ref()
            .is_some_and(|s| s.generator_ref.is_some())
        {
            continue;
        }
        keys.push((
            at(&idx("data", i), "remoteRef.key"),
            d.remote_ref.key.clone(),
        ));
    }
    for (i, df) in spec.data_from_items().iter().enumerate() {
        let p = idx("dataFrom", i);
        if let Some(e) = &df.extract {
            keys.push((at(&p, "extract.key"), e.key.clone()));
        }
        if let Some(path) = df.find.as_ref().and_then(|f| f.path.as_ref()) {
            keys.push((at(&p, "find.path"), path.clone()));
        }
    }
    keys
}

/// Checks every key an ExternalSecret reads against the key annotation.
pub fn check_external_secret_keys(
    spec: &ExternalSecretSpec,
    policy: &NamespacePolicy,
) -> Result<(), PolicyViolation> {
    external_secret_keys(spec)
        .iter()
        .try_for_each(|(_, k)| policy.check_key(k))
}

/// Every remote key a PushSecret writes, with its path relative to `spec`.
pub fn push_secret_keys(spec: &PushSecretSpec) -> Vec<(String, String)> {
    let mut keys = Vec::new();
    for (i, d) in spec.data_items().iter().enumerate() {
        keys.push((
            at(&idx("data", i), "match.remoteRef.remoteKey"),
            d.match_.remote_ref.remote_key.clone(),
        ));
    }
    for (i, d) in spec.data_to_items().iter().enumerate() {
        if let Some(k) = &d.remote_key {
            keys.push((at(&idx("dataTo", i), "remoteKey"), k.clone()));
        }
    }
    keys
}

/// Checks every key a PushSecret writes against the key annotation.
pub fn check_push_secret_keys(
    spec: &PushSecretSpec,
    policy: &NamespacePolicy,
) -> Result<(), PolicyViolation> {
    push_secret_keys(spec)
        .iter()
        .try_for_each(|(_, k)| policy.check_key(k))
}

/// Names of the ClusterSecretStores an ExternalSecret reads from, with the ref's path.
fn cluster_store_refs(spec: &ExternalSecretSpec) -> Vec<(String, String)> {
    let mut refs = Vec::new();
    let mut push = |path: String, r: Option<&crate::api::v1::SecretStoreRef>| {
        if let Some(r) = r
            && r.effective_kind() == SecretStoreKind::ClusterSecretStore
            && let Some(n) = &r.name
        {
            refs.push((path, n.clone()));
        }
    };
    push("secretStoreRef".into(), spec.secret_store_ref.as_ref());
    for (i, d) in spec.data_items().iter().enumerate() {
        push(
            at(&idx("data", i), "sourceRef.storeRef"),
            d.source_ref.as_ref().and_then(|s| s.store_ref.as_ref()),
        );
    }
    for (i, d) in spec.data_from_items().iter().enumerate() {
        push(
            at(&idx("dataFrom", i), "sourceRef.storeRef"),
            d.source_ref.as_ref().and_then(|s| s.store_ref.as_ref()),
        );
    }
    refs
}

/// A ClusterSecretStore used from `policy`'s namespace must only assume permitted roles.
fn check_cluster_store(
    path: &str,
    name: &str,
    policy: &NamespacePolicy,
    ctx: &ValidationContext<'_>,
    out: &mut Outcome,
) {
    let Some(css) = (ctx.cluster_store_lookup)(name) else {
        return;
    };
    for (role_path, role) in store_roles(&css.spec) {
        if let Err(v) = policy.check_role(&role) {
            out.err(
                path,
                format!(
                    "ClusterSecretStore {name:?} is not usable from namespace {:?}: its \
                     {role_path}: {v}",
                    policy.namespace()
                ),
            );
        }
    }
}

pub(crate) fn external_secret_policy(
    spec: &ExternalSecretSpec,
    base: &str,
    policy: &NamespacePolicy,
    ctx: &ValidationContext<'_>,
    out: &mut Outcome,
) {
    for (path, k) in external_secret_keys(spec) {
        if let Err(v) = policy.check_key(&k) {
            out.err(at(base, &path), v.to_string());
        }
    }
    for (path, name) in cluster_store_refs(spec) {
        check_cluster_store(&at(base, &path), &name, policy, ctx, out);
    }
}

pub(crate) fn push_secret_policy(
    spec: &PushSecretSpec,
    base: &str,
    policy: &NamespacePolicy,
    ctx: &ValidationContext<'_>,
    out: &mut Outcome,
) {
    for (path, k) in push_secret_keys(spec) {
        if let Err(v) = policy.check_key(&k) {
            out.err(at(base, &path), v.to_string());
        }
    }
    for (i, r) in spec.secret_store_refs.iter().enumerate() {
        if r.effective_kind() == SecretStoreKind::ClusterSecretStore
            && let Some(n) = &r.name
        {
            check_cluster_store(&idx(&at(base, "secretStoreRefs"), i), n, policy, ctx, out);
        }
    }
}
