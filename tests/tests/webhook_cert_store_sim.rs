//! Certificate ownership (`--cert-mode self`) against the API simulator, with exactly the RBAC
//! the rendered install grants the webhook: the real `KubeCertStore` talks through an
//! authorizing proxy that evaluates the install's (Cluster)Roles the way RBAC does (verbs,
//! resources, `resourceNames`, which never match `create`). The flags come from the rendered
//! Deployment. Checked: the Secret the install ships is filled (create is never needed, and is
//! refused), other Secrets are out of reach, the CA lands in both webhook configurations and the
//! CRDs' conversion config, and a rotation before expiry is served by the running TLS listener
//! without a restart, trusted through the caBundle read back from the API.

mod install_support;

use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use install_support::webhook_sim::*;
use install_support::*;
use k8s_openapi::api::admissionregistration::v1::{
    MutatingWebhookConfiguration, ValidatingWebhookConfiguration,
};
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DeleteParams};
use tests::sim::Sim;
use tokio_util::sync::CancellationToken;
use webhook::certs::bundle::CertSettings;
use webhook::certs::inspect::{inspect_cert, inspect_first_pem};
use webhook::certs::k8s::{KubeCertStore, KubeTargets, ensure_stored};
use webhook::certs::maintain::{CertRuntime, run_self_managed};
use webhook::cli::ServeArgs;
use webhook::health::Readiness;
use webhook::metrics::Metrics;
use webhook::tls_reload::{CertResolver, TlsOptions, server_config};

// ---------------------------------------------------------------------------------------------
// TLS.

fn handshake(addr: SocketAddr, ca_pem: &[u8], server_name: &str) -> Result<String, String> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in webhook::certs::inspect::pem_certs(ca_pem)? {
        roots.add(cert).map_err(|e| e.to_string())?;
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| e.to_string())?
    .with_root_certificates(roots)
    .with_no_client_auth();
    let name = rustls::pki_types::ServerName::try_from(server_name.to_owned())
        .map_err(|e| e.to_string())?;
    let mut conn =
        rustls::ClientConnection::new(Arc::new(config), name).map_err(|e| e.to_string())?;
    let mut tcp = TcpStream::connect(addr).map_err(|e| e.to_string())?;
    tcp.set_read_timeout(Some(Duration::from_secs(10)))
        .map_err(|e| e.to_string())?;
    while conn.is_handshaking() {
        conn.complete_io(&mut tcp).map_err(|e| e.to_string())?;
    }
    let leaf = conn
        .peer_certificates()
        .and_then(|c| c.first())
        .ok_or("no server certificate")?;
    Ok(inspect_cert(leaf.as_ref())?.serial_hex)
}

async fn handshake_async(
    addr: SocketAddr,
    ca_pem: Vec<u8>,
    name: String,
) -> Result<String, String> {
    tokio::task::spawn_blocking(move || handshake(addr, &ca_pem, &name))
        .await
        .expect("join")
}

// ---------------------------------------------------------------------------------------------

async fn stored_secret(sim: &Sim, name: &str) -> Option<Secret> {
    Api::<Secret>::namespaced(sim.client(), NAMESPACE)
        .get_opt(name)
        .await
        .expect("admin get")
}

fn secret_value(secret: &Secret, key: &str) -> Vec<u8> {
    secret
        .data
        .as_ref()
        .and_then(|d| d.get(key))
        .map(|b| b.0.clone())
        .unwrap_or_default()
}

async fn ca_bundles(sim: &Sim, args: &ServeArgs) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let admin = sim.client();
    for n in &args.webhook_config_names {
        let vwc = Api::<ValidatingWebhookConfiguration>::all(admin.clone())
            .get(n)
            .await
            .expect("vwc");
        for w in vwc.webhooks.unwrap_or_default() {
            let ca = w.client_config.ca_bundle.map(|b| b.0).unwrap_or_default();
            out.push((
                format!("vwc/{n}/{}", w.name),
                String::from_utf8_lossy(&ca).into(),
            ));
        }
    }
    for n in &args.mutating_webhook_config_names {
        let mwc = Api::<MutatingWebhookConfiguration>::all(admin.clone())
            .get(n)
            .await
            .expect("mwc");
        for w in mwc.webhooks.unwrap_or_default() {
            let ca = w.client_config.ca_bundle.map(|b| b.0).unwrap_or_default();
            out.push((
                format!("mwc/{n}/{}", w.name),
                String::from_utf8_lossy(&ca).into(),
            ));
        }
    }
    for n in &args.crd_names {
        let crd = Api::<CustomResourceDefinition>::all(admin.clone())
            .get(n)
            .await
            .expect("crd");
        let cc = crd
            .spec
            .conversion
            .and_then(|c| c.webhook)
            .and_then(|w| w.client_config);
        let ca = cc
            .as_ref()
            .and_then(|c| c.ca_bundle.as_ref())
            .map(|b| b.0.clone())
            .unwrap_or_default();
        let service = cc.and_then(|c| c.service);
        assert_eq!(
            service
                .as_ref()
                .map(|s| (s.name.as_str(), s.namespace.as_str())),
            Some((args.service_name.as_str(), args.service_namespace())),
            "{n}: conversion service"
        );
        out.push((format!("crd/{n}"), String::from_utf8_lossy(&ca).into()));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn self_managed_certificate_with_the_installs_rbac() {
    shared::telemetry::install_crypto_provider();
    let objs = render_overlay(
        "webhook-cert-store-sim",
        &["kustomize/default"],
        &["kustomize/components/conversion"],
    );
    let args = serve_args(&objs);
    assert!(
        args.serve_conversion,
        "the conversion component turns conversion on"
    );
    let sim = Sim::start().await.expect("simulator");
    apply_install(&sim, &objs).await;
    let (client, denied) = webhook_client(&sim, &objs).await;
    let settings = CertSettings {
        dns_names: args.dns_names(),
        lookahead: Duration::from_secs(86_400),
        validity: Duration::from_secs(10 * 86_400),
    };

    // Any other Secret is out of reach, even by name in the webhook's own namespace.
    let elsewhere = KubeCertStore::new(
        client.clone(),
        KubeTargets {
            secret_name: "someone-elses-secret".into(),
            ..targets(&args)
        },
    );
    let err = ensure_stored(&elsewhere, &settings, std::time::SystemTime::now())
        .await
        .expect_err("a Secret outside resourceNames");
    assert!(err.to_string().contains("forbidden"), "{err}");

    // The install ships the Secret empty; the webhook fills it with a get and a patch.
    let store = KubeCertStore::new(client.clone(), targets(&args));
    let resolver = Arc::new(CertResolver::new());
    let readiness = Readiness::new();
    let runtime = CertRuntime::new(
        resolver.clone(),
        readiness.register("certs"),
        Metrics::new(),
    );
    let tls = Arc::new(server_config(&TlsOptions::default(), resolver.clone()).expect("tls"));
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.set_nonblocking(true).expect("nonblocking");
    let addr = listener.local_addr().expect("addr");
    let handle = axum_server::Handle::new();
    tokio::spawn(webhook::server::serve_tls(
        listener,
        webhook::router(webhook::AppState::new(Arc::new(webhook::NoRules))),
        tls,
        handle.clone(),
        false,
    ));
    let shutdown = CancellationToken::new();
    tokio::spawn(run_self_managed(
        store.clone(),
        settings.clone(),
        Duration::from_millis(200),
        runtime.clone(),
        shutdown.clone(),
    ));
    eventually("the first certificate served and injected", || async {
        let Some(secret) = stored_secret(&sim, &args.cert_secret_name).await else {
            return false;
        };
        let ca = secret_value(&secret, "ca.crt");
        !ca.is_empty()
            && readiness.is_ready()
            && ca_bundles(&sim, &args)
                .await
                .iter()
                .all(|(_, b)| b.as_bytes() == ca)
    })
    .await;
    shutdown.cancel();
    let secret = stored_secret(&sim, &args.cert_secret_name)
        .await
        .expect("secret");
    for key in ["ca.crt", "ca.key", "tls.crt", "tls.key"] {
        assert!(!secret_value(&secret, key).is_empty(), "{key} stored");
    }
    // The install's labels survive the webhook's writes.
    let labels = secret.metadata.labels.clone().unwrap_or_default();
    assert_eq!(
        labels.get("app.kubernetes.io/part-of").map(String::as_str),
        Some("rust-eso")
    );
    let bundles = ca_bundles(&sim, &args).await;
    assert!(bundles.iter().any(|(n, _)| n.starts_with("vwc/")));
    assert!(bundles.iter().any(|(n, _)| n.starts_with("mwc/")));
    assert_eq!(
        bundles
            .iter()
            .filter(|(n, _)| n.starts_with("crd/"))
            .count(),
        args.crd_names.len()
    );
    let first_ca = secret_value(&secret, "ca.crt");
    let server_name = format!("{}.{}.svc", args.service_name, args.service_namespace());
    let first_serial = handshake_async(addr, first_ca.clone(), server_name.clone())
        .await
        .expect("handshake with the injected CA");
    assert_eq!(
        first_serial,
        inspect_first_pem(&secret_value(&secret, "tls.crt"))
            .expect("tls.crt")
            .serial_hex
    );

    // Rotation before expiry: a lookahead longer than the remaining validity makes the running
    // loop replace CA and certificate; the same listener serves the new one, trusted through the
    // caBundle the API now holds, and the old CA no longer verifies it.
    let rotating = CertSettings {
        lookahead: Duration::from_secs(11 * 86_400),
        ..settings.clone()
    };
    let shutdown = CancellationToken::new();
    tokio::spawn(run_self_managed(
        store.clone(),
        rotating,
        Duration::from_secs(3600),
        runtime.clone(),
        shutdown.clone(),
    ));
    eventually("the rotated certificate served and injected", || async {
        let Some(secret) = stored_secret(&sim, &args.cert_secret_name).await else {
            return false;
        };
        let ca = secret_value(&secret, "ca.crt");
        ca != first_ca
            && ca_bundles(&sim, &args)
                .await
                .iter()
                .all(|(_, b)| b.as_bytes() == ca)
    })
    .await;
    let new_ca = secret_value(
        &stored_secret(&sim, &args.cert_secret_name)
            .await
            .expect("secret"),
        "ca.crt",
    );
    shutdown.cancel();
    let injected = ca_bundles(&sim, &args).await;
    let from_api = injected[0].1.clone().into_bytes();
    assert_eq!(from_api, new_ca);
    let serial = handshake_async(addr, from_api, server_name.clone())
        .await
        .expect("handshake after rotation, no restart");
    assert_ne!(serial, first_serial, "a new certificate is served");
    assert!(
        handshake_async(addr, first_ca, server_name).await.is_err(),
        "the replaced CA must no longer verify the served certificate"
    );
    assert!(readiness.is_ready());

    // RBAC semantics: create cannot be limited by name, so without the install's Secret the
    // webhook cannot make one; it says so instead of serving something unstored.
    Api::<Secret>::namespaced(sim.client(), NAMESPACE)
        .delete(&args.cert_secret_name, &DeleteParams::default())
        .await
        .expect("admin delete");
    let err = ensure_stored(&store, &settings, std::time::SystemTime::now())
        .await
        .expect_err("create is not granted");
    assert!(err.to_string().contains("forbidden"), "{err}");
    let refused = denied.lock().expect("lock").clone();
    assert!(
        refused.iter().any(|d| d.starts_with("create secrets")),
        "{refused:?}"
    );
    assert!(
        refused
            .iter()
            .any(|d| d == "get secrets someone-elses-secret"),
        "{refused:?}"
    );
    handle.shutdown();
}
