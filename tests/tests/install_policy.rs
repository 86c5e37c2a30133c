//! What the rendered installs promise operators: admission fails closed for every kind we serve,
//! pods meet the restricted Pod Security Standard, Services, probes and NetworkPolicies point at
//! ports the containers declare, and the webhook's certificate Secret is the only one it touches.

mod install_support;

use std::collections::BTreeSet;

use install_support::*;
use serde_json::{Value, json};
use webhook::server;

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

/// (group, version, plural) of every served version of every CRD we ship.
fn served_kinds() -> BTreeSet<(String, String, String)> {
    let mut out = BTreeSet::new();
    for crd in shared::api::all_crds() {
        for v in &crd.spec.versions {
            if v.served {
                out.insert((
                    crd.spec.group.clone(),
                    v.name.clone(),
                    crd.spec.names.plural.clone(),
                ));
            }
        }
    }
    out
}

fn covered(webhooks: &[&Value], op: &str) -> BTreeSet<(String, String, String)> {
    let mut out = BTreeSet::new();
    for w in webhooks {
        for rule in w["rules"].as_array().into_iter().flatten() {
            if !strings(&rule["operations"])
                .iter()
                .any(|o| o == op || o == "*")
            {
                continue;
            }
            for g in strings(&rule["apiGroups"]) {
                for v in strings(&rule["apiVersions"]) {
                    for r in strings(&rule["resources"]) {
                        out.insert((g.clone(), v.clone(), r));
                    }
                }
            }
        }
    }
    out
}

#[test]
fn admission_covers_every_served_kind_and_fails_closed() {
    let objs = render("kustomize/default");
    let services: Vec<&Value> = all_of(&objs, "Service");
    let webhook_args = container_args(find(&objs, "Deployment", "external-secrets-webhook"));
    for (config_kind, names_flag) in [
        ("ValidatingWebhookConfiguration", "webhook-config-names"),
        (
            "MutatingWebhookConfiguration",
            "mutating-webhook-config-names",
        ),
    ] {
        let configs = all_of(&objs, config_kind);
        assert!(!configs.is_empty(), "no {config_kind}");
        // The webhook injects its CA into exactly these configurations.
        let flagged: BTreeSet<String> = flag_value(&webhook_args, names_flag)
            .unwrap_or_else(|| panic!("--{names_flag} missing"))
            .split(',')
            .map(String::from)
            .collect();
        let rendered: BTreeSet<String> = configs.iter().map(|c| name(c).to_string()).collect();
        assert_eq!(flagged, rendered, "--{names_flag}");
        let webhooks: Vec<&Value> = configs
            .iter()
            .flat_map(|c| c["webhooks"].as_array().into_iter().flatten())
            .collect();
        for w in &webhooks {
            let n = w["name"].as_str().unwrap_or_default();
            assert!(n.ends_with("external-secrets.io"), "{n}: name suffix");
            assert_eq!(w["failurePolicy"], "Fail", "{n}");
            assert_eq!(w["sideEffects"], "None", "{n}");
            assert_eq!(w["admissionReviewVersions"], json!(["v1"]), "{n}");
            let timeout = w["timeoutSeconds"].as_i64().expect("timeoutSeconds set");
            assert!((1..=5).contains(&timeout), "{n}: timeout {timeout}");
            let excluded: BTreeSet<String> = w["namespaceSelector"]["matchExpressions"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|e| e["key"] == "kubernetes.io/metadata.name" && e["operator"] == "NotIn")
                .flat_map(|e| strings(&e["values"]))
                .collect();
            for ns in [NAMESPACE, "kube-system"] {
                assert!(excluded.contains(ns), "{n} does not exclude {ns}");
            }
            let svc = &w["clientConfig"]["service"];
            assert!(w["clientConfig"]["url"].is_null(), "{n} uses a URL");
            let target = services
                .iter()
                .find(|s| {
                    name(s) == svc["name"].as_str().unwrap_or_default()
                        && s["metadata"]["namespace"] == svc["namespace"]
                })
                .unwrap_or_else(|| panic!("{n}: no Service {svc}"));
            let port = svc["port"].as_i64().unwrap_or(443);
            assert!(
                target["spec"]["ports"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|p| p["port"].as_i64() == Some(port)),
                "{n}: Service has no port {port}"
            );
            // Paths the webhook's router actually serves, and the legacy ones only for their kind.
            let path = svc["path"].as_str().unwrap_or_default();
            let resources: Vec<String> = w["rules"]
                .as_array()
                .into_iter()
                .flatten()
                .flat_map(|r| strings(&r["resources"]))
                .collect();
            let expected_kind = match path {
                p if p == server::EXTERNALSECRET_PATH => Some("externalsecrets"),
                p if p == server::SECRETSTORE_PATH => Some("secretstores"),
                p if p == server::CLUSTERSECRETSTORE_PATH => Some("clustersecretstores"),
                p if p == server::VALIDATE_PATH => {
                    assert_eq!(config_kind, "ValidatingWebhookConfiguration", "{n}");
                    None
                }
                p if p == server::MUTATE_PATH => {
                    assert_eq!(config_kind, "MutatingWebhookConfiguration", "{n}");
                    None
                }
                other => panic!("{n}: the webhook serves no {other}"),
            };
            if let Some(k) = expected_kind {
                assert_eq!(
                    resources,
                    vec![k.to_string()],
                    "{n}: legacy path for another kind"
                );
            }
        }
        for op in ["CREATE", "UPDATE"] {
            let missing: Vec<_> = served_kinds()
                .difference(&covered(&webhooks, op))
                .cloned()
                .collect();
            assert!(missing.is_empty(), "{config_kind} {op} misses {missing:?}");
        }
    }
}

#[test]
fn legacy_paths_keep_eso_configuration_names() {
    // Migration replaces ESO's configurations in place only if names and paths line up.
    let objs = render("kustomize/default");
    for (config, webhook, path) in [
        (
            "externalsecret-validate",
            "validate.externalsecret.external-secrets.io",
            "/validate-external-secrets-io-v1-externalsecret",
        ),
        (
            "secretstore-validate",
            "validate.secretstore.external-secrets.io",
            "/validate-external-secrets-io-v1-secretstore",
        ),
        (
            "secretstore-validate",
            "validate.clustersecretstore.external-secrets.io",
            "/validate-external-secrets-io-v1-clustersecretstore",
        ),
    ] {
        let c = find(&objs, "ValidatingWebhookConfiguration", config);
        let w = c["webhooks"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|w| w["name"] == webhook)
            .unwrap_or_else(|| panic!("{config} lacks {webhook}"));
        assert_eq!(w["clientConfig"]["service"]["path"], path);
        assert_eq!(
            c["metadata"]["labels"]["external-secrets.io/component"],
            "webhook"
        );
    }
}

fn pod_spec(d: &Value) -> &Value {
    &d["spec"]["template"]["spec"]
}

#[test]
fn pods_meet_the_restricted_pod_security_standard() {
    for install in ["kustomize/default", "kustomize/namespaced"] {
        let objs = render(install);
        let deployments = all_of(&objs, "Deployment");
        assert!(!deployments.is_empty());
        for d in deployments {
            let n = describe(d);
            let pod = pod_spec(d);
            assert_eq!(pod["securityContext"]["runAsNonRoot"], true, "{n}");
            assert_eq!(
                pod["securityContext"]["seccompProfile"]["type"], "RuntimeDefault",
                "{n}"
            );
            let uid = pod["securityContext"]["runAsUser"]
                .as_i64()
                .expect("runAsUser");
            assert!(uid > 0, "{n}: uid {uid}");
            for key in ["hostNetwork", "hostPID", "hostIPC"] {
                assert!(pod[key].is_null() || pod[key] == false, "{n}: {key}");
            }
            for v in pod["volumes"].as_array().into_iter().flatten() {
                assert!(v["hostPath"].is_null(), "{n}: hostPath volume");
            }
            for c in pod["containers"].as_array().expect("containers") {
                let sc = &c["securityContext"];
                assert_eq!(sc["allowPrivilegeEscalation"], false, "{n}");
                assert_eq!(sc["readOnlyRootFilesystem"], true, "{n}");
                assert_eq!(sc["capabilities"]["drop"], json!(["ALL"]), "{n}");
                assert!(
                    sc["capabilities"]["add"].is_null(),
                    "{n}: adds capabilities"
                );
                assert!(
                    sc["privileged"].is_null() || sc["privileged"] == false,
                    "{n}"
                );
                let res = &c["resources"];
                for k in ["requests", "limits"] {
                    assert!(res[k]["memory"].is_string(), "{n}: memory {k}");
                }
                assert!(res["requests"]["cpu"].is_string(), "{n}: cpu request");
                // A writable /tmp for anything that needs scratch space, in memory.
                let tmp = c["volumeMounts"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .find(|m| m["mountPath"] == "/tmp")
                    .unwrap_or_else(|| panic!("{n}: no /tmp"));
                let vol = pod["volumes"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .find(|v| v["name"] == tmp["name"])
                    .expect("tmp volume");
                assert!(vol["emptyDir"].is_object(), "{n}: /tmp is not an emptyDir");
            }
        }
        for ns in all_of(&objs, "Namespace") {
            let labels = &ns["metadata"]["labels"];
            assert_eq!(labels["pod-security.kubernetes.io/enforce"], "restricted");
        }
    }
}

#[test]
fn both_deployments_are_highly_available() {
    let objs = render("kustomize/default");
    for n in ["external-secrets-webhook", "external-secrets-controller"] {
        let d = find(&objs, "Deployment", n);
        assert_eq!(d["spec"]["replicas"], 2, "{n}");
        let labels = &d["spec"]["template"]["metadata"]["labels"];
        let pdb = find(&objs, "PodDisruptionBudget", n);
        assert_eq!(pdb["spec"]["minAvailable"], 1, "{n}");
        for (k, v) in pdb["spec"]["selector"]["matchLabels"]
            .as_object()
            .expect("pdb selector")
        {
            assert_eq!(&labels[k], v, "{n}: PDB selects other pods");
        }
        let anti = &pod_spec(d)["affinity"]["podAntiAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"]
            [0]["podAffinityTerm"];
        assert_eq!(anti["topologyKey"], "kubernetes.io/hostname", "{n}");
        for (k, v) in anti["labelSelector"]["matchLabels"]
            .as_object()
            .expect("anti selector")
        {
            assert_eq!(&labels[k], v, "{n}: anti-affinity selects other pods");
        }
        let probe = &pod_spec(d)["containers"][0]["readinessProbe"]["httpGet"];
        assert_eq!(probe["path"], "/readyz", "{n}");
    }
    let controller = container_args(find(&objs, "Deployment", "external-secrets-controller"));
    assert!(
        flags(&controller).iter().any(|(f, v)| f == "enable-leader-election"
            && v.as_deref().is_none_or(|v| v == "true")),
        "two controller replicas need leader election: {controller:?}"
    );
}

/// Container port names and numbers of the Deployment whose pods `selector` picks.
fn selected_ports(objs: &[Value], selector: &Value) -> Vec<(String, i64)> {
    let mut out = Vec::new();
    for d in all_of(objs, "Deployment") {
        let labels = &d["spec"]["template"]["metadata"]["labels"];
        let matches = selector
            .as_object()
            .is_some_and(|s| s.iter().all(|(k, v)| &labels[k] == v));
        if !matches {
            continue;
        }
        for c in pod_spec(d)["containers"].as_array().into_iter().flatten() {
            for p in c["ports"].as_array().into_iter().flatten() {
                out.push((
                    p["name"].as_str().unwrap_or_default().to_string(),
                    p["containerPort"].as_i64().unwrap_or_default(),
                ));
            }
        }
    }
    out
}

fn port_declared(ports: &[(String, i64)], port: &Value) -> bool {
    match port {
        Value::String(n) => ports.iter().any(|(name, _)| name == n),
        Value::Number(n) => ports.iter().any(|(_, p)| Some(*p) == n.as_i64()),
        _ => false,
    }
}

#[test]
fn services_probes_and_network_policies_use_declared_ports() {
    for install in ["kustomize/default", "kustomize/namespaced"] {
        let objs = render(install);
        for svc in all_of(&objs, "Service") {
            let ports = selected_ports(&objs, &svc["spec"]["selector"]);
            assert!(
                !ports.is_empty(),
                "{install}: {} selects no pods",
                describe(svc)
            );
            for p in svc["spec"]["ports"].as_array().into_iter().flatten() {
                assert!(
                    port_declared(&ports, &p["targetPort"]),
                    "{install}: {} targets undeclared {}",
                    describe(svc),
                    p["targetPort"]
                );
            }
        }
        for np in all_of(&objs, "NetworkPolicy") {
            let ports = selected_ports(&objs, &np["spec"]["podSelector"]["matchLabels"]);
            assert!(
                !ports.is_empty(),
                "{install}: {} selects no pods",
                describe(np)
            );
            for rule in np["spec"]["ingress"].as_array().into_iter().flatten() {
                for p in rule["ports"].as_array().into_iter().flatten() {
                    assert!(port_declared(&ports, &p["port"]), "{}", describe(np));
                }
            }
        }
        for d in all_of(&objs, "Deployment") {
            let c = &pod_spec(d)["containers"][0];
            let ports = selected_ports(&objs, &d["spec"]["selector"]["matchLabels"]);
            for probe in ["readinessProbe", "livenessProbe"] {
                let port = &c[probe]["httpGet"]["port"];
                assert!(port_declared(&ports, port), "{}: {probe}", describe(d));
            }
        }
    }
}

/// Every rule that applies to `service_account` through any (Cluster)RoleBinding.
fn rules_for(objs: &[Value], service_account: &str) -> Vec<Value> {
    roles_bound_to(objs, service_account)
        .into_iter()
        .flat_map(|role| role["rules"].as_array().into_iter().flatten().cloned())
        .collect()
}

#[test]
fn webhook_touches_only_its_own_certificate_secret() {
    let objs = render("kustomize/default");
    let args = container_args(find(&objs, "Deployment", "external-secrets-webhook"));
    assert_eq!(flag_value(&args, "cert-mode").as_deref(), Some("self"));
    let secret_name = flag_value(&args, "cert-secret-name").expect("--cert-secret-name");
    let secret = find(&objs, "Secret", &secret_name);
    assert!(
        secret["data"].is_null(),
        "the certificate Secret is shipped empty"
    );
    let secret_rules: Vec<Value> = rules_for(&objs, "external-secrets-webhook")
        .into_iter()
        .filter(|r| {
            strings(&r["resources"])
                .iter()
                .any(|x| x == "secrets" || x == "*")
        })
        .collect();
    assert_eq!(secret_rules.len(), 1, "{secret_rules:?}");
    assert_eq!(
        strings(&secret_rules[0]["resourceNames"]),
        vec![secret_name]
    );
    let verbs: BTreeSet<String> = strings(&secret_rules[0]["verbs"]).into_iter().collect();
    assert!(verbs.contains("get") && verbs.contains("patch"));
    assert!(!verbs.contains("list") && !verbs.contains("watch") && !verbs.contains("create"));

    // cert-manager mode: the certificate comes from a mounted Secret, and the webhook has no
    // Secret access at all.
    let cm = render_overlay(
        "cert-manager",
        &["kustomize/default"],
        &["kustomize/components/cert-manager"],
    );
    let d = find(&cm, "Deployment", "external-secrets-webhook");
    let args = container_args(d);
    assert_eq!(flag_value(&args, "cert-mode").as_deref(), Some("files"));
    let cert_dir = flag_value(&args, "cert-dir").expect("--cert-dir");
    let cert = find(&cm, "Certificate", "external-secrets-webhook");
    let pod = pod_spec(d);
    let mount = pod["containers"][0]["volumeMounts"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|m| m["mountPath"] == cert_dir.as_str())
        .expect("cert dir is mounted");
    let vol = pod["volumes"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|v| v["name"] == mount["name"])
        .expect("mounted volume");
    assert_eq!(vol["secret"]["secretName"], cert["spec"]["secretName"]);
    let svc = format!("external-secrets-webhook.{NAMESPACE}.svc");
    assert!(strings(&cert["spec"]["dnsNames"]).contains(&svc));
    let rules = rules_for(&cm, "external-secrets-webhook");
    assert!(
        !rules
            .iter()
            .any(|r| strings(&r["resources"]).contains(&"secrets".to_string()))
    );
    assert!(
        cm.iter().all(|o| kind(o) != "Secret"),
        "no empty Secret needed"
    );
    let inject = format!("{NAMESPACE}/{}", name(cert));
    for c in all_of(&cm, "ValidatingWebhookConfiguration")
        .into_iter()
        .chain(all_of(&cm, "MutatingWebhookConfiguration"))
    {
        assert_eq!(
            c["metadata"]["annotations"]["cert-manager.io/inject-ca-from"],
            inject.as_str(),
            "{}",
            describe(c)
        );
    }
}

#[test]
fn namespaced_install_needs_no_cluster_permissions() {
    let objs = render("kustomize/namespaced");
    for o in &objs {
        assert!(
            !matches!(
                kind(o),
                "ClusterRole"
                    | "ClusterRoleBinding"
                    | "Namespace"
                    | "CustomResourceDefinition"
                    | "ValidatingWebhookConfiguration"
                    | "MutatingWebhookConfiguration"
            ),
            "{} in the namespaced install",
            describe(o)
        );
    }
    let d = find(&objs, "Deployment", "external-secrets-controller");
    let args = container_args(d);
    assert_eq!(
        flag_value(&args, "namespace").as_deref(),
        Some("$(POD_NAMESPACE)")
    );
    let env = &pod_spec(d)["containers"][0]["env"];
    assert!(
        env.as_array()
            .into_iter()
            .flatten()
            .any(|e| e["name"] == "POD_NAMESPACE"
                && e["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.namespace"),
        "$(POD_NAMESPACE) must be defined before it is expanded in args"
    );
    for f in [
        "enable-cluster-store-reconciler",
        "enable-cluster-external-secret-reconciler",
        "enable-cluster-push-secret-reconciler",
    ] {
        assert_eq!(flag_value(&args, f).as_deref(), Some("false"), "--{f}");
    }
    let rules = rules_for(&objs, "external-secrets-controller");
    let resources: BTreeSet<String> = rules
        .iter()
        .flat_map(|r| strings(&r["resources"]))
        .collect();
    for cluster_scoped in [
        "clustersecretstores",
        "clusterexternalsecrets",
        "clusterpushsecrets",
        "clustergenerators",
    ] {
        assert!(!resources.contains(cluster_scoped), "{cluster_scoped}");
    }
    // Of Namespaces a Role can only let the controller read its own (the policy annotations).
    for r in rules
        .iter()
        .filter(|r| strings(&r["resources"]).iter().any(|x| x == "namespaces"))
    {
        assert_eq!(strings(&r["verbs"]), ["get"], "namespaces");
    }
    assert!(resources.contains("secrets") && resources.contains("externalsecrets"));
}
