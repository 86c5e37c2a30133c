//! Runtime RBAC audit of the controller (issue #12): the controller runs as the rendered install
//! configures it (the Deployment's `run` flags, leader election on the Lease) against the
//! simulator through a proxy that authorizes every request with the RBAC the rendered install
//! binds to its ServiceAccount. A scenario drives every reconciler and API-touching code path;
//! then nothing may have been refused, and every granted (group, resource, verb) must have been
//! used, so a grant nobody needs shows up as well as a missing one.

mod install_support;

use std::collections::BTreeSet;

use base64::Engine as _;
use install_support::controller_audit::*;
use install_support::rbac_proxy::{Rule, attributes, permits};
use install_support::*;
use kube::api::{Api, Patch, PatchParams};
use serde_json::json;
use shared::api::v1::{ClusterExternalSecret, ExternalSecret};
use shared::api::v1alpha1::ClusterPushSecret;
use tests::sim::Sim;

/// Grants the scenario cannot reach, as (group, resource, verb, why). Each one is still derived
/// from the code by the static scan in install_rbac.rs; here it is only excused from being seen.
const UNREACHED: &[(&str, &str, &str, &str)] = &[];

/// Namespaces, stores, template sources and generators every part of the scenario uses.
fn base(sim: &Sim) -> String {
    let ca = base64::engine::general_purpose::STANDARD.encode(sim.ca_pem());
    let url = sim.https_url();
    format!(
        r#"
apiVersion: v1
kind: Namespace
metadata: {{name: {NAMESPACE}}}
---
apiVersion: v1
kind: Namespace
metadata: {{name: apps, labels: {{tier: audit}}}}
---
apiVersion: v1
kind: Namespace
metadata: {{name: apps2, labels: {{tier: audit}}}}
---
apiVersion: v1
kind: Namespace
metadata: {{name: remote}}
---
apiVersion: v1
kind: ServiceAccount
metadata: {{name: reader, namespace: apps}}
---
apiVersion: external-secrets.io/v1
kind: SecretStore
metadata: {{name: fake, namespace: apps}}
spec:
  provider:
    fake:
      data:
      - {{key: user, value: alice}}
      - {{key: password, value: s3cret}}
---
apiVersion: external-secrets.io/v1
kind: ClusterSecretStore
metadata: {{name: fake-cluster}}
spec:
  provider:
    fake:
      data:
      - {{key: shared, value: everyone}}
---
# The Kubernetes provider in its own cluster without auth: the controller's own identity.
apiVersion: external-secrets.io/v1
kind: SecretStore
metadata: {{name: kube, namespace: apps}}
spec:
  provider:
    kubernetes:
      remoteNamespace: remote
---
# The Kubernetes provider with a ServiceAccount's token (a TokenRequest by the controller).
apiVersion: external-secrets.io/v1
kind: SecretStore
metadata: {{name: kube-sa, namespace: apps}}
spec:
  provider:
    kubernetes:
      remoteNamespace: remote
      server: {{url: "{url}", caBundle: "{ca}"}}
      auth: {{serviceAccount: {{name: reader}}}}
---
# AWS through IRSA: the role comes from the ServiceAccount's annotation and is checked against the
# namespace policy (a Namespace read) before any STS call; the policy refuses it, so nothing
# leaves the machine.
apiVersion: v1
kind: Namespace
metadata:
  name: locked
  annotations: {{iam.amazonaws.com/permitted: "arn:aws:iam::111111111111:role/allowed"}}
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: irsa
  namespace: locked
  annotations: {{eks.amazonaws.com/role-arn: "arn:aws:iam::111111111111:role/forbidden"}}
---
apiVersion: external-secrets.io/v1
kind: SecretStore
metadata: {{name: aws-irsa, namespace: locked}}
spec:
  provider:
    aws:
      service: SecretsManager
      region: eu-central-1
      auth: {{jwt: {{serviceAccountRef: {{name: irsa}}}}}}
---
apiVersion: v1
kind: Secret
metadata: {{name: remote-db, namespace: remote}}
stringData: {{password: from-remote}}
---
apiVersion: v1
kind: ConfigMap
metadata: {{name: tpl, namespace: apps}}
data: {{greeting: "hello {{{{ .user }}}}"}}
---
apiVersion: v1
kind: Secret
metadata: {{name: tpl-secret, namespace: apps}}
stringData: {{footer: "bye {{{{ .user }}}}"}}
---
apiVersion: v1
kind: Secret
metadata: {{name: merge-target, namespace: apps}}
stringData: {{kept: yes}}
---
apiVersion: v1
kind: Secret
metadata: {{name: push-src, namespace: apps}}
stringData: {{token: pushed-value}}
---
apiVersion: v1
kind: Secret
metadata: {{name: push-src, namespace: apps2}}
stringData: {{token: pushed-value-2}}
---
apiVersion: generators.external-secrets.io/v1alpha1
kind: Password
metadata: {{name: pw, namespace: apps}}
spec: {{length: 16, allowRepeat: true, noUpper: false}}
---
apiVersion: generators.external-secrets.io/v1alpha1
kind: UUID
metadata: {{name: id, namespace: apps}}
spec: {{}}
---
apiVersion: generators.external-secrets.io/v1alpha1
kind: Fake
metadata: {{name: fk, namespace: apps}}
spec: {{data: {{fixed: value}}}}
---
apiVersion: generators.external-secrets.io/v1alpha1
kind: ClusterGenerator
metadata: {{name: cg}}
spec:
  kind: Password
  generator: {{passwordSpec: {{length: 12, allowRepeat: true, noUpper: false}}}}
"#
    )
}

const EXTERNAL_SECRETS: &str = r#"
# Owner with templates from a ConfigMap and a Secret; renamed later (orphan cleanup).
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: owner, namespace: apps}
spec:
  secretStoreRef: {name: fake}
  target:
    name: owner-a
    deletionPolicy: Retain
    template:
      mergePolicy: Merge
      templateFrom:
      - configMap: {name: tpl, items: [{key: greeting}]}
      - secret: {name: tpl-secret, items: [{key: footer}]}
  data:
  - {secretKey: user, remoteRef: {key: user}}
---
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: merge, namespace: apps}
spec:
  secretStoreRef: {name: fake}
  target: {name: merge-target, creationPolicy: Merge}
  data:
  - {secretKey: password, remoteRef: {key: password}}
---
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: orphan, namespace: apps}
spec:
  secretStoreRef: {name: fake}
  target: {name: orphan-target, creationPolicy: Orphan}
  data:
  - {secretKey: user, remoteRef: {key: user}}
---
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: none, namespace: apps}
spec:
  secretStoreRef: {name: fake}
  target: {name: none-target, creationPolicy: None}
  data:
  - {secretKey: user, remoteRef: {key: user}}
---
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: deleted, namespace: apps}
spec:
  secretStoreRef: {name: fake}
  target: {name: deleted-target, deletionPolicy: Delete}
  data:
  - {secretKey: user, remoteRef: {key: user}}
---
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: generated, namespace: apps}
spec:
  target: {name: generated-target}
  dataFrom:
  - sourceRef: {generatorRef: {apiVersion: generators.external-secrets.io/v1alpha1, kind: Password, name: pw}}
  - sourceRef: {generatorRef: {apiVersion: generators.external-secrets.io/v1alpha1, kind: UUID, name: id}}
  - sourceRef: {generatorRef: {apiVersion: generators.external-secrets.io/v1alpha1, kind: Fake, name: fk}}
  - sourceRef: {generatorRef: {apiVersion: generators.external-secrets.io/v1alpha1, kind: ClusterGenerator, name: cg}}
    rewrite: [{regexp: {source: "password", target: "cluster-password"}}]
---
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: cluster-store, namespace: apps}
spec:
  secretStoreRef: {name: fake-cluster, kind: ClusterSecretStore}
  target: {name: cluster-store-target}
  data:
  - {secretKey: shared, remoteRef: {key: shared}}
---
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: kube-read, namespace: apps}
spec:
  secretStoreRef: {name: kube}
  target: {name: kube-read-target}
  data:
  - {secretKey: password, remoteRef: {key: remote-db, property: password}}
  dataFrom:
  - find: {name: {regexp: "^remote-"}}
---
# Keeps failing (no such key): the repeated warning is patched onto its Event (a series).
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: failing, namespace: apps}
spec:
  secretStoreRef: {name: fake}
  target: {name: failing-target}
  data:
  - {secretKey: x, remoteRef: {key: does-not-exist}}
"#;

const PUSH_SECRET: &str = r#"
apiVersion: external-secrets.io/v1alpha1
kind: PushSecret
metadata: {name: push, namespace: apps}
spec:
  deletionPolicy: Delete
  refreshInterval: 1h
  secretStoreRefs: [{name: kube, kind: SecretStore}]
  selector: {secret: {name: push-src}}
  data:
  - match: {secretKey: token, remoteRef: {remoteKey: pushed, property: token}}
"#;

const CLUSTER_EXTERNAL_SECRET: &str = r#"
apiVersion: external-secrets.io/v1
kind: ClusterExternalSecret
metadata: {name: fanout}
spec:
  externalSecretName: fanned
  refreshTime: 1h
  namespaceSelectors: [{matchLabels: {tier: audit}}]
  externalSecretSpec:
    secretStoreRef: {name: fake-cluster, kind: ClusterSecretStore}
    target: {name: fanned-target}
    data:
    - {secretKey: shared, remoteRef: {key: shared}}
"#;

const CLUSTER_PUSH_SECRET: &str = r#"
apiVersion: external-secrets.io/v1alpha1
kind: ClusterPushSecret
metadata: {name: fanout-push}
spec:
  pushSecretName: fanned-push
  refreshTime: 1h
  namespaceSelectors: [{matchLabels: {tier: audit}}]
  pushSecretSpec:
    deletionPolicy: Delete
    secretStoreRefs: [{name: fake-cluster, kind: ClusterSecretStore}]
    selector: {secret: {name: push-src}}
    data:
    - match: {secretKey: token, remoteRef: {remoteKey: cluster-pushed}}
"#;

fn generator_state(deadline: &str) -> String {
    format!(
        r#"
apiVersion: generators.external-secrets.io/v1alpha1
kind: GeneratorState
metadata: {{name: expired, namespace: apps}}
spec:
  garbageCollectionDeadline: "{deadline}"
  resource: {{apiVersion: generators.external-secrets.io/v1alpha1, kind: Password, spec: {{length: 8}}}}
  state: {{}}
"#
    )
}

async fn scenario(admin: &kube::Client, sim: &Sim) {
    apply(admin, &base(sim)).await;
    apply(admin, EXTERNAL_SECRETS).await;
    apply(admin, PUSH_SECRET).await;
    apply(admin, CLUSTER_EXTERNAL_SECRET).await;
    apply(admin, CLUSTER_PUSH_SECRET).await;
    let past = (chrono::Utc::now() - chrono::Duration::minutes(1))
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    apply(admin, &generator_state(&past)).await;

    for (name, target) in [
        ("owner", "owner-a"),
        ("orphan", "orphan-target"),
        ("deleted", "deleted-target"),
        ("generated", "generated-target"),
        ("cluster-store", "cluster-store-target"),
        ("kube-read", "kube-read-target"),
    ] {
        eventually(&format!("{name} synced"), || async {
            exists(admin, &secret_ref("apps", target)).await
        })
        .await;
    }
    eventually("merge synced", || async {
        get(admin, &secret_ref("apps", "merge-target"))
            .await
            .is_some_and(|s| s["data"].get("password").is_some())
    })
    .await;
    eventually("none Ready", || async {
        ready(&get(admin, &es_ref("apps", "none")).await, "True")
    })
    .await;
    eventually("the push landed", || async {
        exists(admin, &secret_ref("remote", "pushed")).await
    })
    .await;
    eventually("kube-sa validated (its token was requested)", || async {
        get(admin, &store_ref("apps", "kube-sa"))
            .await
            .is_some_and(|s| {
                s["status"]["conditions"]
                    .as_array()
                    .is_some_and(|c| !c.is_empty())
            })
    })
    .await;
    eventually("aws-irsa refused by the namespace policy", || async {
        condition_says(
            &get(admin, &store_ref("locked", "aws-irsa")).await,
            "forbidden",
        )
    })
    .await;
    for ns in ["apps", "apps2"] {
        eventually(&format!("fan-out into {ns}"), || async {
            exists(admin, &es_ref(ns, "fanned")).await
                && exists(admin, &ps_ref(ns, "fanned-push")).await
        })
        .await;
    }
    eventually("the expired GeneratorState collected", || async {
        !exists(
            admin,
            "apiVersion: generators.external-secrets.io/v1alpha1\nkind: GeneratorState\nmetadata: {name: expired, namespace: apps}\n",
        )
        .await
    })
    .await;

    // Rename: the old target is an orphan and goes. Force-sync: a resync on demand.
    let es_api: Api<ExternalSecret> = Api::namespaced(admin.clone(), "apps");
    es_api
        .patch(
            "owner",
            &PatchParams::default(),
            &Patch::Merge(json!({
                "metadata": {"annotations": {"external-secrets.io/force-sync": "1"}},
                "spec": {"target": {"name": "owner-b"}}
            })),
        )
        .await
        .expect("rename");
    eventually("owner-a deleted as an orphan", || async {
        exists(admin, &secret_ref("apps", "owner-b")).await
            && !exists(admin, &secret_ref("apps", "owner-a")).await
    })
    .await;

    // Children follow spec changes of their cluster-scoped parents.
    Api::<ClusterExternalSecret>::all(admin.clone())
        .patch(
            "fanout",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"externalSecretSpec": {"refreshInterval": "2h"}}})),
        )
        .await
        .expect("patch CES");
    Api::<ClusterPushSecret>::all(admin.clone())
        .patch(
            "fanout-push",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"pushSecretSpec": {"refreshInterval": "2h"}}})),
        )
        .await
        .expect("patch CPS");
    eventually("children updated", || async {
        let es = get(admin, &es_ref("apps", "fanned")).await;
        let ps = get(admin, &ps_ref("apps", "fanned-push")).await;
        es.is_some_and(|e| e["spec"]["refreshInterval"] == "2h")
            && ps.is_some_and(|p| p["spec"]["refreshInterval"] == "2h")
    })
    .await;

    // A namespace stops matching: its children go.
    apply(
        admin,
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: apps2, labels: {tier: other}}\n",
    )
    .await;
    eventually("apps2 children removed", || async {
        !exists(admin, &es_ref("apps2", "fanned")).await
            && !exists(admin, &ps_ref("apps2", "fanned-push")).await
    })
    .await;

    // Deletions run the finalizers: the Delete policies remove what they wrote.
    delete(admin, &es_ref("apps", "deleted")).await;
    delete(admin, &ps_ref("apps", "push")).await;
    delete(admin, CLUSTER_EXTERNAL_SECRET).await;
    delete(admin, CLUSTER_PUSH_SECRET).await;
    eventually("deletions finalized", || async {
        !exists(admin, &es_ref("apps", "deleted")).await
            && !exists(admin, &secret_ref("apps", "deleted-target")).await
            && !exists(admin, &ps_ref("apps", "push")).await
            && !exists(admin, &secret_ref("remote", "pushed")).await
            && !exists(admin, CLUSTER_EXTERNAL_SECRET).await
            && !exists(admin, CLUSTER_PUSH_SECRET).await
    })
    .await;
    eventually("the failing ExternalSecret's warning repeated", || async {
        ready(&get(admin, &es_ref("apps", "failing")).await, "False")
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn controller_rbac_is_used_in_full_and_never_refuses() {
    let objs = render("kustomize/default");
    let sim = Sim::start().await.expect("simulator starts");
    sim.install_crds(&shared::api::all_crds())
        .await
        .expect("CRDs install");
    let admin = sim.client();
    apply(&admin, &base(&sim)).await;
    let running = start(&sim, &objs).await;
    let audit = running.audit.clone();
    let client = running.client.clone();

    scenario(&admin, &sim).await;
    // A warning repeats after the 1 s, 2 s, 4 s backoff; lease renewals every 2 s.
    eventually("an Event patched as a series", || async {
        audit
            .records()
            .iter()
            .any(|r| r.attrs.resource == "events" && r.attrs.verb == "patch")
    })
    .await;
    running.stop().await;

    let seen = table(&audit);
    eprintln!("controller requests by resource and verb:");
    for ((res, verb), n) in &seen {
        eprintln!("  {res:<45} {verb:<16} {n}");
    }

    let records = audit.records();
    let denied: Vec<_> = records.iter().filter(|r| !r.allowed).collect();
    assert!(denied.is_empty(), "the install's RBAC refused {denied:#?}");

    let used: BTreeSet<(String, String, String)> = records
        .iter()
        .map(|r| {
            let a = &r.attrs;
            (a.group.clone(), a.resource.clone(), a.verb.clone())
        })
        .collect();
    let unreached: BTreeSet<(String, String, String)> = UNREACHED
        .iter()
        .map(|(g, r, v, _)| (g.to_string(), r.to_string(), v.to_string()))
        .collect();
    let unused: Vec<_> = granted(&objs)
        .difference(&used)
        .filter(|g| !unreached.contains(*g))
        .cloned()
        .collect();
    assert!(
        unused.is_empty(),
        "granted but never used by the scenario (remove the grant, or extend the scenario): {unused:#?}"
    );

    // Namespace-restricted grants held: the Lease Role covers the install namespace only, and
    // the proxy really refuses outside it.
    let leases: Vec<_> = records
        .iter()
        .filter(|r| r.attrs.resource == "leases")
        .collect();
    assert!(!leases.is_empty());
    assert!(leases.iter().all(|r| r.attrs.namespace == NAMESPACE));
    let elsewhere = Api::<k8s_openapi::api::coordination::v1::Lease>::namespaced(client, "apps")
        .get_opt("external-secrets-controller")
        .await;
    assert!(
        matches!(&elsewhere, Err(kube::Error::Api(s)) if s.code == 403),
        "a Lease outside the install namespace must be refused: {elsewhere:?}"
    );
    // The owner checks of blockOwnerDeletion ran: Secrets owned by ExternalSecrets, PushSecrets
    // owned by a ClusterPushSecret (a ClusterExternalSecret's children do not block deletion).
    for owner in [
        "externalsecrets/finalizers",
        "clusterpushsecrets/finalizers",
    ] {
        assert!(
            records
                .iter()
                .any(|r| r.owner_check && r.attrs.resource == owner && r.allowed),
            "no ownerReference to {owner}"
        );
    }
}

/// The request attributes and rule matching the audit rests on, as the apiserver's RBAC has them.
#[test]
fn the_proxy_authorizes_like_rbac() {
    use http::Method;
    let attrs = |m: Method, path: &str, query: &str| {
        let a = attributes(&m, path, query).expect("resource path");
        format!("{} {} {}/{}", a.verb, a.resource, a.namespace, a.name)
    };
    assert_eq!(
        attrs(Method::GET, "/api/v1/namespaces/apps/secrets", "watch=true"),
        "watch secrets apps/"
    );
    // A Namespace is addressed within itself.
    assert_eq!(
        attrs(Method::GET, "/api/v1/namespaces/apps", ""),
        "get namespaces apps/apps"
    );
    assert_eq!(
        attrs(Method::POST, "/api/v1/namespaces/apps/secrets", ""),
        "create secrets apps/"
    );
    assert_eq!(
        attrs(
            Method::POST,
            "/api/v1/namespaces/apps/serviceaccounts/reader/token",
            ""
        ),
        "create serviceaccounts/token apps/reader"
    );
    assert_eq!(
        attrs(
            Method::DELETE,
            "/apis/external-secrets.io/v1/namespaces/apps/externalsecrets",
            ""
        ),
        "deletecollection externalsecrets apps/"
    );
    assert!(attributes(&Method::GET, "/apis/external-secrets.io/v1", "").is_none());

    let rule = Rule {
        namespace: Some("apps".into()),
        groups: vec![String::new()],
        resources: vec!["secrets".into()],
        verbs: vec!["get".into(), "create".into()],
        names: vec!["one".into()],
    };
    let allowed =
        |m: Method, path: &str| permits(&rule, &attributes(&m, path, "").expect("resource path"));
    assert!(allowed(Method::GET, "/api/v1/namespaces/apps/secrets/one"));
    assert!(!allowed(Method::GET, "/api/v1/namespaces/apps/secrets/two"));
    assert!(!allowed(
        Method::GET,
        "/api/v1/namespaces/other/secrets/one"
    ));
    // resourceNames never match a create.
    assert!(!allowed(Method::POST, "/api/v1/namespaces/apps/secrets"));
}
