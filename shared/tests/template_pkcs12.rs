//! ESO's PKCS#12 template functions checked against Python's `cryptography` (OpenSSL): PFX files
//! Python writes (modern PBES2/AES, legacy 3DES, unencrypted, chains, non-ASCII passwords) and one
//! OpenSSL `-legacy` (RC2-40 + 3DES) file decode to the PEM Python prints for the same key and
//! certificates; PFX files our encoders write load in Python with the right key and certificates
//! in order. Python is required (ESO_VENV or PATH); a missing interpreter fails the tests.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use shared::template::{Options, Template, Value};

fn python() -> PathBuf {
    if let Some(venv) = std::env::var_os("ESO_VENV") {
        let p = PathBuf::from(venv).join("bin/python");
        if p.exists() {
            return p;
        }
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path) {
        for name in ["python3", "python"] {
            let p = dir.join(name);
            if p.is_file() {
                return p;
            }
        }
    }
    panic!("Python with `cryptography` is required: set ESO_VENV or put python3 on PATH");
}

/// Runs `script` (after the shared prelude) with the working directory `dir`; returns stdout.
fn run_python(dir: &Path, script: &str) -> String {
    let out = Command::new(python())
        .arg("-c")
        .arg(format!("{PRELUDE}\n{script}"))
        .current_dir(dir)
        .output()
        .expect("run python");
    assert!(
        out.status.success(),
        "python failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

const PRELUDE: &str = r#"
import datetime, sys
from cryptography import x509
from cryptography.x509.oid import NameOID
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.serialization import pkcs12, PrivateFormat, Encoding, NoEncryption, BestAvailableEncryption

def read(p):
    return open(p, "rb").read()

def write(p, b):
    open(p, "wb").write(b)

def key_pem(k):
    return k.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())

def cert_pem(c):
    return c.public_bytes(Encoding.PEM)

def load_key(p):
    return serialization.load_pem_private_key(read(p), None)

def load_cert(p):
    return x509.load_pem_x509_certificate(read(p))
"#;

/// Key material and PFX files written once by Python for all tests.
const FIXTURES: &str = r#"
import base64
now = datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc)

def name(cn):
    return x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "DE"),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Example, Inc."),
                      x509.NameAttribute(NameOID.COMMON_NAME, cn)])

def cert(subject, key, issuer, issuer_key, ca):
    b = (x509.CertificateBuilder().subject_name(name(subject)).issuer_name(name(issuer))
         .public_key(key.public_key()).serial_number(x509.random_serial_number())
         .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=3650))
         .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
         .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
         .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False))
    return b.sign(issuer_key, None if isinstance(issuer_key, ed25519.Ed25519PrivateKey) else hashes.SHA256())

root_key = ec.generate_private_key(ec.SECP256R1())
inter_key = ec.generate_private_key(ec.SECP256R1())
leaf_key = ec.generate_private_key(ec.SECP256R1())
rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
root = cert("Root CA", root_key, "Root CA", root_key, True)
inter = cert("Intermediate CA", inter_key, "Root CA", root_key, True)
leaf = cert("leaf.example", leaf_key, "Intermediate CA", inter_key, False)
rsa_cert = cert("rsa.example", rsa_key, "rsa.example", rsa_key, False)
ed_key = ed25519.Ed25519PrivateKey.generate()
ed_cert = cert("ed.example", ed_key, "ed.example", ed_key, False)
write("ed_key.pem", key_pem(ed_key))
write("ed_cert.pem", cert_pem(ed_cert))

write("leaf.pem", cert_pem(leaf))
write("chain.pem", cert_pem(leaf) + cert_pem(inter) + cert_pem(root))
write("leaf_key.pem", key_pem(leaf_key))
write("leaf_key_sec1.pem", leaf_key.private_bytes(Encoding.PEM, PrivateFormat.TraditionalOpenSSL, NoEncryption()))
write("rsa_key.pem", key_pem(rsa_key))
write("rsa_key_pkcs1.pem", rsa_key.private_bytes(Encoding.PEM, PrivateFormat.TraditionalOpenSSL, NoEncryption()))
write("rsa_cert.pem", cert_pem(rsa_cert))

# CA certificates deliberately root first: pkcs12cert must still print leaf -> intermediate -> root.
cas = [root, inter]
write("modern_chain.p12", pkcs12.serialize_key_and_certificates(b"leaf", leaf_key, leaf, cas, BestAvailableEncryption(b"s3cret")))
legacy = (PrivateFormat.PKCS12.encryption_builder().kdf_rounds(2048)
          .key_cert_algorithm(pkcs12.PBES.PBESv1SHA1And3KeyTripleDESCBC).hmac_hash(hashes.SHA1()).build(b"legacy"))
write("legacy_3des.p12", pkcs12.serialize_key_and_certificates(b"leaf", leaf_key, leaf, cas, legacy))
write("nopw.p12", pkcs12.serialize_key_and_certificates(b"leaf", leaf_key, leaf, None, NoEncryption()))
write("rsa_umlaut.p12", pkcs12.serialize_key_and_certificates(b"rsa", rsa_key, rsa_cert, None, BestAvailableEncryption("pässwörd".encode())))
write("key_only.p12", pkcs12.serialize_key_and_certificates(b"k", leaf_key, None, None, BestAvailableEncryption(b"pw")))

# Two unencrypted key bags, no MAC (accepted for the empty password): hand-assembled DER.
def tlv(tag, body):
    n = len(body)
    if n < 0x80:
        return bytes([tag, n]) + body
    lb = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(lb)]) + lb + body
def oid(dotted):
    parts = [int(p) for p in dotted.split(".")]
    out = bytes([parts[0] * 40 + parts[1]])
    for p in parts[2:]:
        enc = [p & 0x7f]
        p >>= 7
        while p:
            enc.insert(0, 0x80 | (p & 0x7f))
            p >>= 7
        out += bytes(enc)
    return tlv(0x06, out)
def key_bag(k):
    return tlv(0x30, oid("1.2.840.113549.1.12.10.1.1") + tlv(0xa0, k.private_bytes(Encoding.DER, PrivateFormat.PKCS8, NoEncryption())))
def cert_bag(c):
    inner = tlv(0x30, oid("1.2.840.113549.1.9.22.1") + tlv(0xa0, tlv(0x04, c.public_bytes(Encoding.DER))))
    return tlv(0x30, oid("1.2.840.113549.1.12.10.1.3") + tlv(0xa0, inner))
safe = tlv(0x30, cert_bag(leaf) + key_bag(leaf_key) + key_bag(rsa_key))
auth_safe = tlv(0x30, tlv(0x30, oid("1.2.840.113549.1.7.1") + tlv(0xa0, tlv(0x04, safe))))
write("two_keys.p12", tlv(0x30, tlv(0x02, b"\x03") + tlv(0x30, oid("1.2.840.113549.1.7.1") + tlv(0xa0, tlv(0x04, auth_safe)))))

# OpenSSL's legacy file (RC2-40 certificates, 3DES key, SHA-1 MAC): Python prints its contents.
k, c, extra = pkcs12.load_key_and_certificates(base64.b64decode(read("legacy_rc2.b64")), b"legacy")
assert not extra
write("legacy_rc2_expected.pem", key_pem(k) + b"|" + cert_pem(c))
"#;

/// `openssl pkcs12 -export -legacy -passout pass:legacy` (OpenSSL 3.0.19) of a self-signed
/// P-256 certificate and its key: certificates under pbeWithSHA1And40BitRC2-CBC, the key under
/// pbeWithSHA1And3-KeyTripleDES-CBC, SHA-1 MAC, 2048 iterations. Python can read RC2 but not
/// write it, hence a stored file.
const LEGACY_RC2_PFX: &[&str] = &[
    "MIID0gIBAzCCA5gGCSqGSIb3DQEHAaCCA4kEggOFMIIDgTCCAncGCSqGSIb3DQEHBqCCAmgwggJkAgEAMIICXQYJKoZIhvcN",
    "AQcBMBwGCiqGSIb3DQEMAQYwDgQII3aCdz9DngkCAggAgIICMJRMMqfbbvuwwu8R7rKv4dih0RQnskQYY5fesbaZXWhWi82G",
    "9h4m03EGrydb3LAD2tKdDGvd13Z0e4PVJ+Os+zA/8BlI7PwohfkskgtmsNTeSjpnlRymLBXTj1qkImuyDYDGBaqZLOkdf3rd",
    "IHqiF+ksegJMGi9bi+k/1RR/gi5k9y/1CAbVAIw2RTynk3qGEbPXSZ+eRIze/V2QOtCC7E5az9p6N41S5MeWweNOEmM4REvU",
    "EmC5UE/KINGRzekYmns0D1guJeFyG5kVZYDqtuWTk2zkMmpwbtx/UxbH2VWwCFhN1dp/d0S3v4wls5051Khu01goa35/Zy7w",
    "4ob55x5hrEu1kFerE2CPr6rKVLpLO3KRV5sVFfx8waUm+UP56S3L9Ng+Xk4JJHsU9/L/7+vZxvareE86AWP3R3Wb9+MTiRbn",
    "SpfAG1pZN+LN3bSe4XCBWKfb79DOeOpCkyP3tG+dySwuKFBP0dkUI70MxKoMt4dhplH5I79aotbs+2dO4PdI7ncbJ+HZvrzO",
    "N+h+W1HF7AhKKvUfc4JBN0insoE2EVoxFDipyiH+DnK86tC9JwaVH5a79Ynx3vgp9WSq3qet0sdiA7BJ3QOU61dDni5ckvqi",
    "ZHOn6oAgzFbpN40Hm4Ykjv7UlpV64mnFkXQJpA63WWTvMRIWOMjzJD88blAvzZRSeQ0xBPAnnUVLv2T65fUxdofIYuy5sOtG",
    "LkjTwPsPHN5zjO6ofyKYS0kw1NDeMIIBAgYJKoZIhvcNAQcBoIH0BIHxMIHuMIHrBgsqhkiG9w0BDAoBAqCBtDCBsTAcBgoq",
    "hkiG9w0BDAEDMA4ECDhOg7BjsaPaAgIIAASBkDx15JV/iE80RryoG9TwyNRSgsB2ZYiVa3Cmg5//dhQ+1CkFdKg3fXq30Xfw",
    "oTtUpuK/b2p/ilN7lQstlFaxoK2+k5fowc5MP3d8g/TilHHvB00oxYrVboOAL47QOJhO/+WBDuxKo+tFn7G/NKWodz9OX76a",
    "ESHV6ZqRMIIOvT4HYEO3ji2t3OfhRWwJ0hJC5DElMCMGCSqGSIb3DQEJFTEWBBTmhAaOqMLPDjiR3GgsPG72WswERTAxMCEw",
    "CQYFKw4DAhoFAAQUvCE9xQM3BpRqK+tfB/It9h/3GnYECLlFHXQ66pAiAgIIAA==",
];

fn fixtures() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        // One directory per process: nextest runs every test in its own process, in parallel,
        // so a shared directory (or clearing the parent) would race.
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join("pkcs12")
            .join(std::process::id().to_string());
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("legacy_rc2.b64"), LEGACY_RC2_PFX.concat()).unwrap();
        run_python(&dir, FIXTURES);
        dir
    })
}

/// A fresh directory for one test's outputs.
fn scratch(test: &str) -> PathBuf {
    let dir = fixtures().join(test);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn file(name: &str) -> Value {
    Value::from_bytes(std::fs::read(fixtures().join(name)).unwrap())
}

fn text(name: &str) -> String {
    String::from_utf8(std::fs::read(fixtures().join(name)).unwrap()).unwrap()
}

fn render(template: &str, data: &[(&str, Value)]) -> Result<String, String> {
    let ctx: BTreeMap<String, Value> = data
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    let t = Template::parse("t", template, &Options::default()).map_err(|e| e.to_string())?;
    let out = t
        .render_bytes(&Value::map(ctx))
        .map_err(|e| e.to_string())?;
    Ok(String::from_utf8(out).unwrap())
}

fn pfx_of(b64: &str) -> Vec<u8> {
    STANDARD
        .decode(b64)
        .expect("encoders return standard base64")
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// Python's PEM of the fixture chain in leaf → intermediate → root order.
fn chain_pem() -> String {
    text("chain.pem")
}

#[test]
fn python_modern_and_legacy_files_decode_to_pythons_pem() {
    let key = text("leaf_key.pem");
    for (pfx, password) in [
        ("modern_chain.p12", "s3cret"),
        ("legacy_3des.p12", "legacy"),
    ] {
        let data = [("p", file(pfx))];
        let tpl = format!(r#"{{{{ .p | pkcs12keyPass "{password}" }}}}"#);
        assert_eq!(render(&tpl, &data).unwrap(), key, "{pfx}: key");
        let tpl = format!(r#"{{{{ .p | pkcs12certPass "{password}" }}}}"#);
        assert_eq!(
            render(&tpl, &data).unwrap(),
            chain_pem(),
            "{pfx}: chain order"
        );
    }
}

#[test]
fn unencrypted_file_decodes_with_the_empty_password() {
    let data = [("p", file("nopw.p12"))];
    assert_eq!(
        render("{{ .p | pkcs12key }}", &data).unwrap(),
        text("leaf_key.pem")
    );
    assert_eq!(
        render("{{ .p | pkcs12cert }}", &data).unwrap(),
        text("leaf.pem")
    );
}

#[test]
fn rsa_key_with_non_ascii_password_decodes() {
    let data = [("p", file("rsa_umlaut.p12"))];
    assert_eq!(
        render(r#"{{ .p | pkcs12keyPass "pässwörd" }}"#, &data).unwrap(),
        text("rsa_key.pem")
    );
    assert_eq!(
        render(r#"{{ pkcs12certPass "pässwörd" .p }}"#, &data).unwrap(),
        text("rsa_cert.pem")
    );
}

#[test]
fn openssl_legacy_rc2_file_decodes_to_pythons_pem() {
    let expected = text("legacy_rc2_expected.pem");
    let (key, cert) = expected.split_once('|').unwrap();
    // The base64 form as a provider would hand it over, decoded in the template.
    let data = [("b64", Value::String(LEGACY_RC2_PFX.concat()))];
    assert_eq!(
        render(r#"{{ .b64 | b64dec | pkcs12keyPass "legacy" }}"#, &data).unwrap(),
        key
    );
    assert_eq!(
        render(r#"{{ .b64 | b64dec | pkcs12certPass "legacy" }}"#, &data).unwrap(),
        cert
    );
}

#[test]
fn decode_errors_carry_esos_and_go_pkcs12s_messages() {
    let err = render("{{ .p | pkcs12key }}", &[("p", file("two_keys.p12"))]).unwrap_err();
    assert!(
        err.ends_with(
            "error calling pkcs12key: unable to decode pkcs12 with password: pkcs12: expected exactly one key bag"
        ),
        "{err}"
    );
    let data = [("p", file("key_only.p12"))];
    let err = render(r#"{{ .p | pkcs12keyPass "pw" }}"#, &data).unwrap_err();
    assert!(
        err.ends_with("unable to decode pkcs12 with password: pkcs12: certificate missing"),
        "{err}"
    );
    let err = render(r#"{{ .p | pkcs12certPass "pw" }}"#, &data).unwrap_err();
    assert!(
        err.ends_with(
            "error calling pkcs12certPass: unable to decode pkcs12 certificate with password: pkcs12: certificate missing"
        ),
        "{err}"
    );
    let data = [("p", file("modern_chain.p12"))];
    for tpl in [
        r#"{{ .p | pkcs12keyPass "wrong" }}"#,
        "{{ .p | pkcs12key }}",
    ] {
        let err = render(tpl, &data).unwrap_err();
        assert!(
            err.ends_with("pkcs12: decryption password incorrect"),
            "{tpl}: {err}"
        );
    }
    let err = render("{{ pkcs12cert \"not a pfx\" }}", &[]).unwrap_err();
    assert!(
        err.contains(
            "unable to decode pkcs12 certificate with password: pkcs12: error reading P12 data: "
        ),
        "{err}"
    );
}

/// Loads every `<name>.p12` in `dir` with the password in `<name>.pw` and prints key and
/// certificates as PEM, plus the friendly names.
const LOAD: &str = r#"
import glob, os
for p in sorted(glob.glob("*.p12")):
    pw = read(p[:-4] + ".pw")
    pw = None if pw == b"<none>" else pw
    key_and_certs = pkcs12.load_pkcs12(read(p), pw)
    out = b""
    if key_and_certs.key is not None:
        out += key_pem(key_and_certs.key)
    certs = ([key_and_certs.cert] if key_and_certs.cert else []) + key_and_certs.additional_certs
    for c in certs:
        out += cert_pem(c.certificate)
    names = [c.friendly_name or b"" for c in certs]
    subjects = [c.certificate.subject.rfc4514_string().encode() for c in certs]
    write(p[:-4] + ".out", out + b"|" + b";".join(names) + b"|" + b";".join(subjects))
"#;

fn write_pfx(dir: &Path, name: &str, b64: &str, password: Option<&str>) {
    std::fs::write(dir.join(format!("{name}.p12")), pfx_of(b64)).unwrap();
    std::fs::write(dir.join(format!("{name}.pw")), password.unwrap_or("<none>")).unwrap();
}

fn loaded(dir: &Path, name: &str) -> (String, String, String) {
    let out = std::fs::read_to_string(dir.join(format!("{name}.out"))).unwrap();
    let mut parts = out.splitn(3, '|');
    (
        parts.next().unwrap().to_string(),
        parts.next().unwrap().to_string(),
        parts.next().unwrap().to_string(),
    )
}

#[test]
fn our_pfx_files_load_in_python_with_key_and_chain_in_order() {
    let dir = scratch("encode");
    let data = [
        ("leaf", file("leaf.pem")),
        ("chain", file("chain.pem")),
        ("key", file("leaf_key.pem")),
        ("sec1", file("leaf_key_sec1.pem")),
        ("rsa", file("rsa_key_pkcs1.pem")),
        ("rsacert", file("rsa_cert.pem")),
        ("ed", file("ed_key.pem")),
        ("edcert", file("ed_cert.pem")),
    ];
    let cases = [
        (
            "ed25519",
            r#"{{ pemToPkcs12Pass .edcert .ed "x" }}"#,
            Some("x"),
        ),
        (
            "single",
            r#"{{ pemToPkcs12Pass .leaf .key "s3cret" }}"#,
            Some("s3cret"),
        ),
        (
            "chain",
            r#"{{ fullPemToPkcs12Pass .chain .sec1 "pässwörd" }}"#,
            Some("pässwörd"),
        ),
        ("rsa_nopw", "{{ pemToPkcs12 .rsacert .rsa }}", None),
        ("chain_nopw", "{{ fullPemToPkcs12 .chain .key }}", None),
    ];
    let mut files = Vec::new();
    for (name, tpl, pw) in cases {
        let b64 = render(tpl, &data).unwrap();
        write_pfx(&dir, name, &b64, pw);
        files.push((name, pfx_of(&b64)));
    }
    run_python(&dir, LOAD);

    let chain = chain_pem();
    assert_eq!(
        loaded(&dir, "single").0,
        format!("{}{}", text("leaf_key.pem"), text("leaf.pem"))
    );
    assert_eq!(
        loaded(&dir, "chain").0,
        format!("{}{chain}", text("leaf_key.pem"))
    );
    assert_eq!(
        loaded(&dir, "chain_nopw").0,
        format!("{}{chain}", text("leaf_key.pem"))
    );
    assert_eq!(
        loaded(&dir, "ed25519").0,
        format!("{}{}", text("ed_key.pem"), text("ed_cert.pem"))
    );
    assert_eq!(
        loaded(&dir, "rsa_nopw").0,
        format!("{}{}", text("rsa_key.pem"), text("rsa_cert.pem"))
    );

    // go-pkcs12 Modern2023: PBES2 with PBKDF2-HMAC-SHA-256 and AES-256-CBC for the key and the
    // certificates, HMAC-SHA-256 MAC, 2048 iterations (written as INTEGER 2048).
    let pbes2 = [
        0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x05, 0x0d,
    ];
    let aes256 = [
        0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x01, 0x2a,
    ];
    let hmac_sha256 = [0x06, 0x08, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x02, 0x09];
    let sha256 = [
        0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01,
    ];
    let it2048 = [0x02, 0x02, 0x08, 0x00];
    for (name, bytes) in &files {
        for (what, needle) in [
            ("pbes2", &pbes2[..]),
            ("aes-256-cbc", &aes256[..]),
            ("hmacWithSHA256", &hmac_sha256[..]),
            ("sha256 mac", &sha256[..]),
            ("2048 iterations", &it2048[..]),
        ] {
            assert!(contains(bytes, needle), "{name}: missing {what}");
        }
    }
}

#[test]
fn truststore_loads_in_python_with_go_subject_aliases() {
    let dir = scratch("truststore");
    let data = [("chain", file("chain.pem"))];
    let b64 = render(
        r#"{{ pemTruststoreToPKCS12Pass .chain "changeit" }}"#,
        &data,
    )
    .unwrap();
    write_pfx(&dir, "trust", &b64, Some("changeit"));
    let b64 = render("{{ pemTruststoreToPKCS12 .chain }}", &data).unwrap();
    write_pfx(&dir, "trust_nopw", &b64, None);
    run_python(&dir, LOAD);
    for name in ["trust", "trust_nopw"] {
        let (pem, names, subjects) = loaded(&dir, name);
        assert_eq!(
            pem,
            chain_pem(),
            "{name}: certificates in input order, no key"
        );
        // Go's Subject.String() equals RFC 4514 for these names (C, O, CN with a comma).
        assert_eq!(names, subjects, "{name}: friendly names");
        assert_eq!(
            names.split(';').next().unwrap(),
            "CN=leaf.example,O=Example\\, Inc.,C=DE"
        );
    }
    // As in ESO, a trust store holds no key, so the key-and-chain reader refuses it.
    let err = render(
        r#"{{ pemTruststoreToPKCS12Pass .chain "changeit" | b64dec | pkcs12certPass "changeit" }}"#,
        &data,
    )
    .unwrap_err();
    assert!(err.ends_with("pkcs12: private key missing"), "{err}");
}

#[test]
fn encode_then_decode_round_trips() {
    let data = [
        ("chain", file("chain.pem")),
        ("sec1", file("leaf_key_sec1.pem")),
        ("rsa", file("rsa_key_pkcs1.pem")),
        ("rsacert", file("rsa_cert.pem")),
    ];
    let out = render(
        r#"{{ $p := fullPemToPkcs12Pass .chain .sec1 "pw" | b64dec }}{{ pkcs12keyPass "pw" $p }}{{ pkcs12certPass "pw" $p }}"#,
        &data,
    )
    .unwrap();
    assert_eq!(out, format!("{}{}", text("leaf_key.pem"), chain_pem()));
    let out = render(
        "{{ $p := pemToPkcs12 .rsacert .rsa | b64dec }}{{ pkcs12key $p }}{{ pkcs12cert $p }}",
        &data,
    )
    .unwrap();
    assert_eq!(
        out,
        format!("{}{}", text("rsa_key.pem"), text("rsa_cert.pem"))
    );
}

#[test]
fn encode_errors_follow_eso() {
    let data = [
        ("leaf", file("leaf.pem")),
        ("key", file("leaf_key.pem")),
        ("chain", file("chain.pem")),
    ];
    // ESO dereferences the nil block pem.Decode returns; Go's template reports the panic.
    for tpl in [
        "{{ pemToPkcs12 \"no pem\" .key }}",
        "{{ pemToPkcs12 .leaf \"no pem\" }}",
        // parseCaCerts keeps decoding while input remains, so a trailing blank line fails.
        "{{ fullPemToPkcs12 (print .chain \"\\n\") .key }}",
        "{{ pemTruststoreToPKCS12 (print .chain \"\\n\") }}",
    ] {
        let err = render(tpl, &data).unwrap_err();
        assert!(
            err.ends_with("runtime error: invalid memory address or nil pointer dereference"),
            "{tpl}: {err}"
        );
    }
    let err = render("{{ pemToPkcs12 .leaf .leaf }}", &data).unwrap_err();
    assert!(err.ends_with("unable to parse private key type"), "{err}");
    let err = render("{{ pemToPkcs12Pass .leaf .key \"\u{1F600}\" }}", &data).unwrap_err();
    assert!(
        err.ends_with("pkcs12: string contains characters that cannot be encoded in UCS-2"),
        "{err}"
    );
}
