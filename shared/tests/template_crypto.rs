//! Crypto template functions checked against Go's standard library (hack/gotemplate/cryptocheck):
//! sprig's AES format both ways, JWK → PEM against Go's x509 marshalling, rsaDecrypt of Go's
//! OAEP ciphertexts, and keys/certificates we generate parsed and chain-verified by Go's
//! crypto/x509. Go is required (ESO_VENV or PATH); a missing toolchain fails the test.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use serde_json::{Value as Json, json};
use shared::template::{Options, Template, Value};

fn find_go() -> PathBuf {
    if let Some(venv) = std::env::var_os("ESO_VENV") {
        let p = PathBuf::from(venv).join("bin/go");
        if p.exists() {
            return p;
        }
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path) {
        let p = dir.join("go");
        if p.is_file() {
            return p;
        }
    }
    panic!("the Go toolchain is required: set ESO_VENV or put `go` on PATH");
}

fn oracle_bin() -> &'static PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let target = match std::env::var_os("CARGO_TARGET_DIR") {
            Some(d) => PathBuf::from(d),
            None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"),
        };
        std::fs::create_dir_all(&target).unwrap();
        let bin = target.join("gotemplate-cryptocheck");
        let mut cmd = Command::new(find_go());
        cmd.args(["build", "-o"])
            .arg(&bin)
            .arg("./cryptocheck")
            .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("../hack/gotemplate"))
            .env("GOTOOLCHAIN", "local")
            .env("GOPROXY", "off")
            .env("GOFLAGS", "-mod=mod");
        if std::env::var_os("GOCACHE").is_none() {
            cmd.env("GOCACHE", target.join("gocache"));
        }
        let out = cmd.output().expect("run go build");
        assert!(
            out.status.success(),
            "go build failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        bin
    })
}

fn go(request: Json) -> Json {
    let mut child = Command::new(oracle_bin())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(request.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "cryptocheck failed");
    serde_json::from_slice(&out.stdout).unwrap()
}

fn render(text: &str, data: &[(&str, Value)]) -> Result<Vec<u8>, String> {
    let ctx: BTreeMap<String, Value> = data
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    let t = Template::parse("t", text, &Options::default()).map_err(|e| e.to_string())?;
    t.render_bytes(&Value::map(ctx)).map_err(|e| e.to_string())
}

fn render_str(text: &str, data: &[(&str, Value)]) -> String {
    String::from_utf8(render(text, data).unwrap()).unwrap()
}

fn s(v: &str) -> Value {
    Value::String(v.to_string())
}

fn strs(v: &Json) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn aes_interoperates_with_sprigs_format_both_ways() {
    let plaintexts = ["hello", "", "exactly16bytes!!", "multi\nline ünïcødé", "x"];
    let passwords = ["secret", "", "a-password-longer-than-thirty-two-bytes!!"];
    let mut enc = vec![];
    for p in passwords {
        for t in plaintexts {
            enc.push(json!({"password": p, "text": t}));
        }
    }
    // Go encrypts (non-empty plaintexts; sprig short-circuits ""), we decrypt.
    let go_enc: Vec<Json> = enc.iter().filter(|c| c["text"] != "").cloned().collect();
    let answers = go(json!({"aes_encrypt": go_enc}));
    for (case, ct) in go_enc.iter().zip(strs(&answers["aes_encrypt"])) {
        let out = render_str(
            "{{ decryptAES .p .c }}",
            &[("p", s(case["password"].as_str().unwrap())), ("c", s(&ct))],
        );
        assert_eq!(out, case["text"].as_str().unwrap(), "{case}");
    }
    // We encrypt, Go decrypts.
    let mut ours = vec![];
    for case in &go_enc {
        let ct = render_str(
            "{{ encryptAES .p .t }}",
            &[
                ("p", s(case["password"].as_str().unwrap())),
                ("t", s(case["text"].as_str().unwrap())),
            ],
        );
        ours.push(json!({"password": case["password"], "text": ct}));
    }
    let answers = go(json!({"aes_decrypt": ours}));
    for (case, plain) in go_enc.iter().zip(strs(&answers["aes_decrypt"])) {
        assert_eq!(plain, case["text"].as_str().unwrap());
    }
    // Random IV: two encryptions differ; empty input stays empty both ways.
    let a = render_str(r#"{{ encryptAES "k" "same" }}"#, &[]);
    let b = render_str(r#"{{ encryptAES "k" "same" }}"#, &[]);
    assert_ne!(a, b);
    assert_eq!(
        render_str(r#"{{ encryptAES "k" "" }}|{{ decryptAES "k" "" }}"#, &[]),
        "|"
    );
}

#[test]
fn decrypt_aes_rejects_malformed_input_like_go() {
    let err = render(r#"{{ decryptAES "k" "AAAA" }}"#, &[]).unwrap_err();
    assert!(err.contains("error calling decryptAES"), "{err}");
    let err = render(r#"{{ decryptAES "k" "not base64!" }}"#, &[]).unwrap_err();
    assert!(err.contains("illegal base64 data"), "{err}");
    // 16-byte IV + 8 bytes: not whole blocks (Go's CryptBlocks panics with this text).
    let err = render(
        r#"{{ decryptAES "k" "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" }}"#,
        &[],
    )
    .unwrap_err();
    assert!(err.contains("input not full blocks"), "{err}");
}

#[test]
fn jwk_to_pem_matches_go_x509_marshalling() {
    let answers = go(json!({"jwk": true}));
    let cases = answers["jwk"].as_array().unwrap();
    assert_eq!(cases.len(), 5);
    for c in cases {
        let desc = c["description"].as_str().unwrap();
        let public = s(c["public"].as_str().unwrap());
        let private = s(c["private"].as_str().unwrap());
        assert_eq!(
            render_str("{{ jwkPublicKeyPem .k }}", &[("k", public.clone())]),
            c["public_pem"].as_str().unwrap(),
            "{desc} public"
        );
        assert_eq!(
            render_str("{{ jwkPrivateKeyPem .k }}", &[("k", private.clone())]),
            c["private_pem"].as_str().unwrap(),
            "{desc} private"
        );
        // Go's MarshalPKIXPublicKey refuses the private key a private JWK yields, and
        // MarshalPKCS8PrivateKey refuses public keys.
        let err = render("{{ jwkPublicKeyPem .k }}", &[("k", private)]).unwrap_err();
        assert!(
            err.contains("x509: unsupported public key type"),
            "{desc}: {err}"
        );
        let err = render("{{ jwkPrivateKeyPem .k }}", &[("k", public)]).unwrap_err();
        assert!(
            err.contains("x509: unknown key type while marshaling PKCS#8"),
            "{desc}: {err}"
        );
    }
    let err = render(r#"{{ jwkPublicKeyPem "{not json" }}"#, &[]).unwrap_err();
    assert!(err.contains("error calling jwkPublicKeyPem"), "{err}");
}

#[test]
fn rsa_decrypt_reads_go_oaep_ciphertexts() {
    let key = render_str(r#"{{ genPrivateKey "rsa" }}"#, &[]);
    let hashes = ["SHA1", "SHA256", "SHA512", "None"];
    let reqs: Vec<Json> = hashes
        .iter()
        .map(|h| json!({"key_pem": key, "hash": h, "message": format!("secret for {h}")}))
        .collect();
    let answers = go(json!({"oaep": reqs}));
    for (h, ct) in hashes.iter().zip(strs(&answers["oaep"])) {
        let out = render_str(
            r#"{{ rsaDecrypt "RSA-OAEP" .h (b64dec .c) .k }}"#,
            &[("h", s(h)), ("c", s(&ct)), ("k", s(&key))],
        );
        assert_eq!(out, format!("secret for {h}"));
    }
    // The same key as PKCS#8 works too (Go's parsePrivateKey accepts both).
    assert_eq!(
        render_str(r#"{{ rsaDecrypt "None" "SHA256" "raw" "" }}"#, &[]),
        "raw"
    );
    let err = render(
        r#"{{ rsaDecrypt "RSA-OAEP" "SHA256" "x" .k }}"#,
        &[("k", s(&key))],
    )
    .unwrap_err();
    assert!(
        err.ends_with("error decrypting data with RSA: crypto/rsa: decryption error"),
        "{err}"
    );
    let err = render(r#"{{ rsaDecrypt "RSA-PKCS1" "SHA256" "x" "k" }}"#, &[]).unwrap_err();
    assert!(
        err.ends_with("decryption scheme RSA-PKCS1 is not supported"),
        "{err}"
    );
    let err = render(r#"{{ rsaDecrypt "RSA-OAEP" "SHA256" "x" "no pem" }}"#, &[]).unwrap_err();
    assert!(err.ends_with("failed to decode PEM block"), "{err}");
    let ec = render_str(r#"{{ genPrivateKey "ecdsa" }}"#, &[]);
    let err = render(
        r#"{{ rsaDecrypt "RSA-OAEP" "SHA256" "x" .k }}"#,
        &[("k", s(&ec))],
    )
    .unwrap_err();
    assert!(err.ends_with("could not parse RSA private key"), "{err}");
}

#[test]
fn gen_private_key_outputs_what_go_parses() {
    let keys: Vec<String> = ["rsa", "ecdsa", "ed25519", ""]
        .iter()
        .map(|t| render_str(&format!("{{{{ genPrivateKey {t:?} }}}}"), &[]))
        .collect();
    assert!(keys[0].starts_with("-----BEGIN RSA PRIVATE KEY-----\n"));
    assert!(keys[1].starts_with("-----BEGIN EC PRIVATE KEY-----\n"));
    assert!(keys[2].starts_with("-----BEGIN PRIVATE KEY-----\n"));
    let answers = go(json!({"keys": keys}));
    assert_eq!(
        strs(&answers["keys"]),
        vec![
            "rsa-pkcs1-4096",
            "ec-sec1-P-256",
            "ed25519-pkcs8",
            "rsa-pkcs1-4096"
        ]
    );
    assert_eq!(
        render_str(r#"{{ genPrivateKey "rsa3" }}"#, &[]),
        "Unknown type rsa3"
    );
}

#[test]
fn generated_certificates_verify_with_go() {
    let out = render_str(
        r#"{{- $ca := genCA "my-ca" 365 -}}
{{- $leaf := genSignedCert "leaf.example" (list "10.0.0.1" "::1") (list "a.example" "b.example") 30 $ca -}}
{{- $self := genSelfSignedCert "self.example" nil (list "self.example") 7 -}}
{{- $eckey := genPrivateKey "ecdsa" -}}
{{- $ecca := genCAWithKey "ec-ca" 10 $eckey -}}
{{- $ecleaf := genSignedCertWithKey "ec-leaf" nil nil 5 $ecca (genPrivateKey "ed25519") -}}
{{- $selfkey := genSelfSignedCertWithKey "k" nil nil 1 $eckey -}}
{{ toJson (list $ca $leaf $self $ecca $ecleaf $selfkey) }}"#,
        &[],
    );
    let certs: Vec<Json> = serde_json::from_str(&out).unwrap();
    let pem = |i: usize, f: &str| certs[i][f].as_str().unwrap().to_string();
    let reqs = json!([
        {"cert_pem": pem(0, "Cert"), "key_pem": pem(0, "Key"), "roots": [pem(0, "Cert")]},
        {"cert_pem": pem(1, "Cert"), "key_pem": pem(1, "Key"), "roots": [pem(0, "Cert")]},
        {"cert_pem": pem(2, "Cert"), "key_pem": pem(2, "Key"), "roots": [pem(2, "Cert")]},
        {"cert_pem": pem(3, "Cert"), "key_pem": pem(3, "Key"), "roots": [pem(3, "Cert")]},
        {"cert_pem": pem(4, "Cert"), "key_pem": pem(4, "Key"), "roots": [pem(3, "Cert")]},
        {"cert_pem": pem(5, "Cert"), "key_pem": pem(5, "Key"), "roots": [pem(5, "Cert")]},
    ]);
    let facts = go(json!({"certs": reqs}))["certs"].clone();
    let f = |i: usize| &facts[i];
    // x509.KeyUsage bits: DigitalSignature=1, KeyEncipherment=4, CertSign=32.
    // ExtKeyUsage: ServerAuth=1, ClientAuth=2.
    for (i, cn, is_ca, usage, days, key_type) in [
        (0, "my-ca", true, 37, 365, "rsa-pkcs1"),
        (1, "leaf.example", false, 5, 30, "rsa-pkcs1"),
        (2, "self.example", false, 5, 7, "rsa-pkcs1"),
        (3, "ec-ca", true, 37, 10, "ec-sec1"),
        (4, "ec-leaf", false, 5, 5, "ed25519-pkcs8"),
        (5, "k", false, 5, 1, "ec-sec1"),
    ] {
        let fi = f(i);
        assert_eq!(fi["err"], "", "{i}: {fi}");
        assert_eq!(fi["cn"], cn, "{i}");
        assert_eq!(fi["is_ca"], is_ca, "{i}");
        assert_eq!(fi["key_usage"], usage, "{i}");
        assert_eq!(fi["ext_usage"], json!([1, 2]), "{i}");
        assert_eq!(fi["days"], days, "{i}");
        assert_eq!(fi["key_type"], key_type, "{i}");
        assert_eq!(
            fi["key_match"], true,
            "{i}: certificate and key belong together"
        );
        assert!(
            fi["serial_bits"].as_i64().unwrap() > 100,
            "{i}: 128-bit random serial"
        );
    }
    // Go verifies the CA-signed chains and the self-signed CA; self-signed leaves (not CAs)
    // do not verify as their own roots in Go either, so only the chains are checked.
    for i in [0, 1, 3, 4] {
        assert_eq!(f(i)["verified"], "ok", "{i}: {}", f(i));
    }
    assert_eq!(f(1)["dns"], json!(["a.example", "b.example"]));
    assert_eq!(f(1)["ips"], json!(["10.0.0.1", "::1"]));
    assert_eq!(f(2)["dns"], json!(["self.example"]));
}

#[test]
fn cert_generation_errors_follow_sprig() {
    let err = render(
        r#"{{ genSelfSignedCert "x" (list "not-an-ip") nil 1 }}"#,
        &[],
    )
    .unwrap_err();
    assert!(err.ends_with("error parsing ip: not-an-ip"), "{err}");
    let err = render(r#"{{ genSelfSignedCert "x" (list 1) nil 1 }}"#, &[]).unwrap_err();
    assert!(
        err.ends_with("error parsing ip: 1 is not a string"),
        "{err}"
    );
    let err = render(r#"{{ genCAWithKey "x" 1 "junk" }}"#, &[]).unwrap_err();
    assert!(err.ends_with("no PEM data in input"), "{err}");
    let err = render(
        r#"{{ genSignedCert "x" nil nil 1 (dict "Cert" "" "Key" "") }}"#,
        &[],
    )
    .unwrap_err();
    assert!(err.ends_with("unable to decode certificate"), "{err}");
}

#[test]
fn build_custom_cert_wraps_base64_pem_pairs() {
    let out = render_str(
        r#"{{- $ca := genCA "c" 1 -}}
{{- $c := buildCustomCert ($ca.Cert | b64enc) ($ca.Key | b64enc) -}}
{{ eq $c.Cert $ca.Cert }} {{ eq $c.Key $ca.Key }}"#,
        &[],
    );
    assert_eq!(out, "true true");
    let err = render(r#"{{ buildCustomCert "%%" "" }}"#, &[]).unwrap_err();
    assert!(
        err.ends_with("unable to decode base64 certificate"),
        "{err}"
    );
    let err = render(r#"{{ buildCustomCert (b64enc "x") (b64enc "y") }}"#, &[]).unwrap_err();
    assert!(err.ends_with("unable to decode certificate"), "{err}");
    // Sprig only takes PKCS#1 RSA keys here.
    let err = render(
        r#"{{- $ca := genCA "c" 1 -}}{{ buildCustomCert ($ca.Cert | b64enc) (genPrivateKey "ecdsa" | b64enc) }}"#,
        &[],
    )
    .unwrap_err();
    assert!(err.contains("error parsing prive key"), "{err}");
}

#[test]
fn filter_cert_chain_and_cert_sans() {
    let out = render_str(
        r#"{{- $ca := genCA "root" 30 -}}
{{- $leaf := genSignedCert "leaf" (list "192.168.1.1") (list "svc.example") 30 $ca -}}
{{- $chain := print $ca.Cert $leaf.Cert -}}
{{ toJson (list (filterCertChain "leaf" $chain) (filterCertChain "root" $chain) (filterCertChain "intermediate" $chain) $leaf.Cert $ca.Cert (certSANs $leaf.Cert)) }}"#,
        &[],
    );
    let v: Vec<Json> = serde_json::from_str(&out).unwrap();
    // Input order root, leaf; output picks by key identifiers.
    assert_eq!(v[0], v[3], "leaf");
    assert_eq!(v[1], v[4], "root");
    assert_eq!(v[2], "", "no intermediates");
    assert_eq!(v[5], json!(["svc.example", "192.168.1.1"]));
    let err = render(r#"{{ certSANs "junk" }}"#, &[]).unwrap_err();
    assert!(err.ends_with("failed to decode PEM block"), "{err}");
    // Two unrelated self-signed leaves: ESO's "disjunct" error.
    let err = render(
        r#"{{- $a := genSelfSignedCert "a" nil nil 1 -}}{{- $b := genSelfSignedCert "b" nil nil 1 -}}{{ filterCertChain "leaf" (print $a.Cert $b.Cert) }}"#,
        &[],
    )
    .unwrap_err();
    assert!(
        err.ends_with("found multiple leaf or disjunct certificates"),
        "{err}"
    );
}

#[test]
fn derive_password_matches_the_master_password_test_vector() {
    // Master Password v3 reference vector (the algorithm sprig implements).
    assert_eq!(
        render_str(
            r#"{{ derivePassword 1 "long" "banana colored duckling" "Robert Lee Mitchell" "masterpasswordapp.com" }}"#,
            &[]
        ),
        "Jejr5[RepuSosp"
    );
    assert_eq!(
        render_str(r#"{{ derivePassword 1 "nope" "p" "u" "s" }}"#, &[]),
        "cannot find password template nope"
    );
}
