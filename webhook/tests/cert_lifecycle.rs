//! Certificate validity decisions: when to keep, re-issue or regenerate.

use std::time::{Duration, SystemTime};

use webhook::certs::bundle::{Assessment, CertBundle, CertSettings, assess, renew};
use webhook::certs::inspect::{inspect_first_pem, pem_certs};
use x509_parser::prelude::{FromDer, X509Certificate};

const DAY: Duration = Duration::from_secs(86_400);

fn settings(validity: Duration) -> CertSettings {
    CertSettings {
        dns_names: vec![
            "external-secrets-webhook.eso.svc".to_owned(),
            "external-secrets-webhook.eso.svc.cluster.local".to_owned(),
            "external-secrets-webhook".to_owned(),
        ],
        lookahead: 90 * DAY,
        validity,
    }
}

fn fresh(settings: &CertSettings, at: SystemTime) -> CertBundle {
    let empty = CertBundle::default();
    let assessment = assess(&empty, settings, at);
    assert!(
        matches!(assessment, Assessment::RegenerateAll(_)),
        "{assessment:?}"
    );
    renew(&empty, &assessment, settings, at).expect("generate")
}

fn issuer_and_subject(pem: &str) -> (String, String) {
    let der = pem_certs(pem.as_bytes()).expect("pem").remove(0);
    let (_, cert) = X509Certificate::from_der(der.as_ref()).expect("x509");
    (cert.issuer().to_string(), cert.subject().to_string())
}

#[test]
fn empty_secret_needs_everything_generated() {
    let s = settings(3650 * DAY);
    assert!(matches!(
        assess(&CertBundle::default(), &s, SystemTime::now()),
        Assessment::RegenerateAll(_)
    ));
}

#[test]
fn generated_bundle_is_valid_and_covers_every_service_name() {
    let s = settings(3650 * DAY);
    let now = SystemTime::now();
    let bundle = fresh(&s, now);
    assert_eq!(assess(&bundle, &s, now), Assessment::Valid);
    let leaf = inspect_first_pem(bundle.tls_crt.as_bytes()).expect("leaf");
    assert_eq!(leaf.dns_names, s.dns_names);
    assert!(!leaf.is_ca);
    let ca = inspect_first_pem(bundle.ca_crt.as_bytes()).expect("ca");
    assert!(ca.is_ca);
    let (leaf_issuer, _) = issuer_and_subject(&bundle.tls_crt);
    let (_, ca_subject) = issuer_and_subject(&bundle.ca_crt);
    assert_eq!(
        leaf_issuer, ca_subject,
        "serving cert is signed by the stored CA"
    );
    // Keys never print.
    assert_eq!(format!("{:?}", bundle.tls_key), "<redacted>");
    assert!(!format!("{bundle:?}").contains("PRIVATE KEY"));
}

#[test]
fn secret_data_round_trips_through_the_four_keys() {
    let s = settings(3650 * DAY);
    let bundle = fresh(&s, SystemTime::now());
    let data = bundle.to_secret_data();
    assert_eq!(
        data.keys().map(String::as_str).collect::<Vec<_>>(),
        ["ca.crt", "ca.key", "tls.crt", "tls.key"]
    );
    assert_eq!(CertBundle::from_secret_data(&data), bundle);
}

#[test]
fn serving_cert_expiring_within_lookahead_is_reissued_from_the_same_ca() {
    let long = settings(3650 * DAY);
    let short = settings(365 * DAY);
    let issued_at = SystemTime::now() - 300 * DAY;
    let ca_only = fresh(&long, issued_at);
    // A one-year serving certificate issued 300 days ago: 65 days left, lookahead is 90.
    let aging = renew(
        &ca_only,
        &Assessment::ReissueServer("test".into()),
        &short,
        issued_at,
    )
    .expect("issue");
    let now = SystemTime::now();
    let assessment = assess(&aging, &long, now);
    assert!(
        matches!(&assessment, Assessment::ReissueServer(r) if r.contains("lookahead")),
        "{assessment:?}"
    );
    let renewed = renew(&aging, &assessment, &long, now).expect("renew");
    assert_eq!(renewed.ca_crt, aging.ca_crt, "the CA is kept");
    assert_eq!(renewed.ca_key, aging.ca_key);
    assert_ne!(renewed.tls_crt, aging.tls_crt);
    assert_eq!(assess(&renewed, &long, now), Assessment::Valid);
    let old_serial = inspect_first_pem(aging.tls_crt.as_bytes())
        .expect("old")
        .serial_hex;
    let new_serial = inspect_first_pem(renewed.tls_crt.as_bytes())
        .expect("new")
        .serial_hex;
    assert_ne!(old_serial, new_serial);
}

#[test]
fn expired_serving_cert_is_reissued() {
    let long = settings(3650 * DAY);
    let short = settings(30 * DAY);
    let issued_at = SystemTime::now() - 60 * DAY;
    let ca_only = fresh(&long, issued_at);
    let expired = renew(
        &ca_only,
        &Assessment::ReissueServer("test".into()),
        &short,
        issued_at,
    )
    .expect("issue");
    assert!(matches!(
        assess(&expired, &long, SystemTime::now()),
        Assessment::ReissueServer(_)
    ));
}

#[test]
fn ca_expiring_within_lookahead_regenerates_everything_and_keeps_the_old_ca_trusted() {
    let s = settings(400 * DAY);
    let old = fresh(&s, SystemTime::now() - 320 * DAY); // 80 days left on CA and leaf
    let now = SystemTime::now();
    let assessment = assess(&old, &s, now);
    assert!(
        matches!(&assessment, Assessment::RegenerateAll(r) if r.contains("CA")),
        "{assessment:?}"
    );
    let renewed = renew(&old, &assessment, &s, now).expect("renew");
    assert_ne!(renewed.ca_key, old.ca_key);
    let cas = pem_certs(renewed.ca_crt.as_bytes()).expect("ca bundle");
    assert_eq!(
        cas.len(),
        2,
        "new CA first, previous CA kept for replicas still serving its cert"
    );
    let old_ca = pem_certs(old.ca_crt.as_bytes()).expect("old ca");
    assert_eq!(cas[1], old_ca[0]);
    assert_eq!(assess(&renewed, &s, now), Assessment::Valid);
    // After the next rotation the oldest CA drops out again.
    let again = renew(&renewed, &Assessment::RegenerateAll("test".into()), &s, now).expect("renew");
    let cas_again = pem_certs(again.ca_crt.as_bytes()).expect("ca bundle");
    assert_eq!(cas_again.len(), 2);
    assert_eq!(cas_again[1], cas[0]);
}

#[test]
fn wrong_dns_name_reissues_the_serving_cert() {
    let s = settings(3650 * DAY);
    let now = SystemTime::now();
    let bundle = fresh(&s, now);
    let mut moved = s.clone();
    moved.dns_names = vec!["external-secrets-webhook.other-ns.svc".to_owned()];
    let assessment = assess(&bundle, &moved, now);
    assert!(
        matches!(&assessment, Assessment::ReissueServer(r) if r.contains("other-ns")),
        "{assessment:?}"
    );
    let renewed = renew(&bundle, &assessment, &moved, now).expect("renew");
    assert_eq!(assess(&renewed, &moved, now), Assessment::Valid);
    assert_eq!(renewed.ca_crt, bundle.ca_crt);
}

#[test]
fn mismatched_keys_are_detected() {
    let s = settings(3650 * DAY);
    let now = SystemTime::now();
    let a = fresh(&s, now);
    let b = fresh(&s, now);
    let wrong_tls_key = CertBundle {
        tls_key: b.tls_key.clone(),
        ..a.clone()
    };
    assert!(matches!(
        assess(&wrong_tls_key, &s, now),
        Assessment::ReissueServer(_)
    ));
    let wrong_ca_key = CertBundle {
        ca_key: b.ca_key.clone(),
        ..a.clone()
    };
    assert!(matches!(
        assess(&wrong_ca_key, &s, now),
        Assessment::RegenerateAll(_)
    ));
    // A serving cert from another CA does not chain to ours.
    let foreign_leaf = CertBundle {
        tls_crt: b.tls_crt.clone(),
        tls_key: b.tls_key.clone(),
        ..a
    };
    assert!(matches!(
        assess(&foreign_leaf, &s, now),
        Assessment::ReissueServer(_)
    ));
}

#[test]
fn garbage_in_the_secret_means_regeneration() {
    let s = settings(3650 * DAY);
    let garbage = CertBundle {
        ca_crt: "not a pem".to_owned(),
        ca_key: webhook::certs::KeyPem::new("nope"),
        tls_crt: String::new(),
        tls_key: webhook::certs::KeyPem::default(),
    };
    let now = SystemTime::now();
    let assessment = assess(&garbage, &s, now);
    assert!(matches!(assessment, Assessment::RegenerateAll(_)));
    let renewed = renew(&garbage, &assessment, &s, now).expect("renew");
    assert_eq!(
        pem_certs(renewed.ca_crt.as_bytes()).expect("ca").len(),
        1,
        "nothing unparsable is carried over"
    );
    assert_eq!(assess(&renewed, &s, now), Assessment::Valid);
}
