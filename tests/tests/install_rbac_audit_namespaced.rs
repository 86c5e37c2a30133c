//! Runtime RBAC audit of the single-namespace install (kustomize/namespaced): the controller with
//! that Deployment's flags (`--namespace`, cluster reconcilers off) and only its Role, driven
//! through the namespace-scoped reconcilers. See install_rbac_audit.rs for the cluster install.

mod install_support;

use std::collections::BTreeSet;

use base64::Engine as _;
use install_support::controller_audit::*;
use install_support::*;
use tests::sim::Sim;

fn objects(sim: &Sim) -> String {
    let ca = base64::engine::general_purpose::STANDARD.encode(sim.ca_pem());
    let url = sim.https_url();
    let ns = NAMESPACE;
    format!(
        r#"
apiVersion: v1
kind: ServiceAccount
metadata: {{name: reader, namespace: {ns}}}
---
apiVersion: external-secrets.io/v1
kind: SecretStore
metadata: {{name: fake, namespace: {ns}}}
spec:
  provider:
    fake:
      data:
      - {{key: user, value: alice}}
---
apiVersion: external-secrets.io/v1
kind: SecretStore
metadata: {{name: kube, namespace: {ns}}}
spec:
  provider:
    kubernetes:
      remoteNamespace: {ns}
---
apiVersion: external-secrets.io/v1
kind: SecretStore
metadata: {{name: kube-sa, namespace: {ns}}}
spec:
  provider:
    kubernetes:
      remoteNamespace: {ns}
      server: {{url: "{url}", caBundle: "{ca}"}}
      auth: {{serviceAccount: {{name: reader}}}}
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: irsa
  namespace: {ns}
  annotations: {{eks.amazonaws.com/role-arn: "arn:aws:iam::111111111111:role/forbidden"}}
---
apiVersion: external-secrets.io/v1
kind: SecretStore
metadata: {{name: aws-irsa, namespace: {ns}}}
spec:
  provider:
    aws:
      service: SecretsManager
      region: eu-central-1
      auth: {{jwt: {{serviceAccountRef: {{name: irsa}}}}}}
---
apiVersion: v1
kind: ConfigMap
metadata: {{name: tpl, namespace: {ns}}}
data: {{greeting: "hello {{{{ .user }}}}"}}
---
apiVersion: v1
kind: Secret
metadata: {{name: push-src, namespace: {ns}}}
stringData: {{token: pushed-value}}
---
apiVersion: generators.external-secrets.io/v1alpha1
kind: Password
metadata: {{name: pw, namespace: {ns}}}
spec: {{length: 16, allowRepeat: true, noUpper: false}}
---
apiVersion: generators.external-secrets.io/v1alpha1
kind: UUID
metadata: {{name: id, namespace: {ns}}}
spec: {{}}
---
apiVersion: generators.external-secrets.io/v1alpha1
kind: Fake
metadata: {{name: fk, namespace: {ns}}}
spec: {{data: {{fixed: value}}}}
---
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {{name: owner, namespace: {ns}}}
spec:
  secretStoreRef: {{name: fake}}
  target:
    name: owner-a
    deletionPolicy: Delete
    template:
      mergePolicy: Merge
      templateFrom:
      - configMap: {{name: tpl, items: [{{key: greeting}}]}}
  data:
  - {{secretKey: user, remoteRef: {{key: user}}}}
---
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {{name: generated, namespace: {ns}}}
spec:
  target: {{name: generated-target}}
  dataFrom:
  - sourceRef: {{generatorRef: {{apiVersion: generators.external-secrets.io/v1alpha1, kind: Password, name: pw}}}}
  - sourceRef: {{generatorRef: {{apiVersion: generators.external-secrets.io/v1alpha1, kind: UUID, name: id}}}}
  - sourceRef: {{generatorRef: {{apiVersion: generators.external-secrets.io/v1alpha1, kind: Fake, name: fk}}}}
---
apiVersion: v1
kind: Secret
metadata: {{name: merge-target, namespace: {ns}}}
stringData: {{kept: "yes"}}
---
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {{name: merge, namespace: {ns}}}
spec:
  secretStoreRef: {{name: fake}}
  target: {{name: merge-target, creationPolicy: Merge}}
  data:
  - {{secretKey: user, remoteRef: {{key: user}}}}
---
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {{name: failing, namespace: {ns}}}
spec:
  secretStoreRef: {{name: fake}}
  target: {{name: failing-target}}
  data:
  - {{secretKey: x, remoteRef: {{key: does-not-exist}}}}
---
apiVersion: external-secrets.io/v1alpha1
kind: PushSecret
metadata: {{name: push, namespace: {ns}}}
spec:
  deletionPolicy: Delete
  refreshInterval: 1h
  secretStoreRefs: [{{name: kube, kind: SecretStore}}]
  selector: {{secret: {{name: push-src}}}}
  data:
  - match: {{secretKey: token, remoteRef: {{remoteKey: pushed, property: token}}}}
"#
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn namespaced_controller_rbac_is_used_in_full_and_never_refuses() {
    let objs = render("kustomize/namespaced");
    let sim = Sim::start().await.expect("simulator starts");
    sim.install_crds(&shared::api::all_crds())
        .await
        .expect("CRDs install");
    let admin = sim.client();
    // The role policy refuses the IRSA store's role before any STS call (see objects()).
    apply(
        &admin,
        &format!(
            "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {NAMESPACE}\n  annotations: \
             {{iam.amazonaws.com/permitted: \"arn:aws:iam::111111111111:role/allowed\"}}\n"
        ),
    )
    .await;
    let running = start(&sim, &objs).await;
    let audit = running.audit.clone();
    apply(&admin, &objects(&sim)).await;
    let past = (chrono::Utc::now() - chrono::Duration::minutes(1))
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    apply(
        &admin,
        &format!(
            "apiVersion: generators.external-secrets.io/v1alpha1\nkind: GeneratorState\n\
             metadata: {{name: expired, namespace: {NAMESPACE}}}\n\
             spec:\n  garbageCollectionDeadline: \"{past}\"\n  resource: {{kind: Password}}\n  state: {{}}\n"
        ),
    )
    .await;

    for target in ["owner-a", "generated-target", "pushed"] {
        eventually(&format!("{target} written"), || async {
            exists(&admin, &secret_ref(NAMESPACE, target)).await
        })
        .await;
    }
    eventually("aws-irsa refused by the namespace policy", || async {
        condition_says(
            &get(&admin, &store_ref(NAMESPACE, "aws-irsa")).await,
            "forbidden",
        )
    })
    .await;
    eventually("merge-target merged", || async {
        get(&admin, &secret_ref(NAMESPACE, "merge-target"))
            .await
            .is_some_and(|s| s["data"].get("user").is_some())
    })
    .await;
    eventually("the expired GeneratorState collected", || async {
        !exists(
            &admin,
            &format!("apiVersion: generators.external-secrets.io/v1alpha1\nkind: GeneratorState\nmetadata: {{name: expired, namespace: {NAMESPACE}}}\n"),
        )
        .await
    })
    .await;
    delete(&admin, &es_ref(NAMESPACE, "owner")).await;
    delete(&admin, &ps_ref(NAMESPACE, "push")).await;
    eventually("deletions finalized", || async {
        !exists(&admin, &secret_ref(NAMESPACE, "owner-a")).await
            && !exists(&admin, &secret_ref(NAMESPACE, "pushed")).await
            && !exists(&admin, &ps_ref(NAMESPACE, "push")).await
    })
    .await;
    eventually("an Event patched as a series", || async {
        audit
            .records()
            .iter()
            .any(|r| r.attrs.resource == "events" && r.attrs.verb == "patch")
    })
    .await;
    running.stop().await;

    for ((res, verb), n) in table(&audit) {
        eprintln!("  {res:<45} {verb:<16} {n}");
    }
    let records = audit.records();
    let denied: BTreeSet<String> = records
        .iter()
        .filter(|r| !r.allowed)
        .map(|r| {
            let a = &r.attrs;
            format!("{} {} {}/{}", a.verb, a.resource, a.namespace, a.name)
        })
        .collect();
    // Nothing is refused: the Namespace cache reads the one Namespace instead of watching all.
    assert!(denied.is_empty(), "the install's Role refused {denied:#?}");
    let used: BTreeSet<(String, String, String)> = records
        .iter()
        .map(|r| {
            (
                r.attrs.group.clone(),
                r.attrs.resource.clone(),
                r.attrs.verb.clone(),
            )
        })
        .collect();
    let unused: Vec<_> = granted(&objs).difference(&used).cloned().collect();
    assert!(unused.is_empty(), "granted but never used: {unused:#?}");
    // Everything the Role allowed stayed in the install namespace (the proxy holds RoleBindings
    // to it); the basic-user reviews are cluster-scoped by nature.
    let outside: Vec<_> = records
        .iter()
        .filter(|r| r.allowed && r.attrs.namespace != NAMESPACE)
        .filter(|r| r.attrs.group != "authorization.k8s.io")
        .collect();
    assert!(outside.is_empty(), "{outside:#?}");
}
