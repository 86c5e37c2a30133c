//! ESO's PEM helper `filterPEM`.

use super::{FuncDef, def, s, sv};

pub(crate) static FUNCS: &[FuncDef] = &[def!("filterPEM", [Str, Str], |a| filter_pem(
    &s(&a[0]),
    &s(&a[1])
))];

/// Keeps the PEM blocks of type `typ` (re-encoded with 64-column lines, as Go's `pem.Encode`);
/// anything outside blocks is dropped.
fn filter_pem(typ: &str, input: &str) -> Result<crate::template::Value, String> {
    let mut out = String::new();
    let mut rest = input;
    while let Some(start) = rest.find("-----BEGIN ") {
        let after = &rest[start + 11..];
        let Some(end_label) = after.find("-----") else {
            break;
        };
        let label = &after[..end_label];
        let body_start = &after[end_label + 5..];
        let end_marker = format!("-----END {label}-----");
        let Some(end) = body_start.find(&end_marker) else {
            break;
        };
        let body = &body_start[..end];
        if label.eq_ignore_ascii_case(typ) {
            let b64: String = body
                .lines()
                .filter(|l| !l.contains(':'))
                .collect::<Vec<_>>()
                .join("");
            let b64: String = b64.chars().filter(|c| !c.is_whitespace()).collect();
            out.push_str(&format!("-----BEGIN {label}-----\n"));
            for chunk in b64.as_bytes().chunks(64) {
                out.push_str(&String::from_utf8_lossy(chunk));
                out.push('\n');
            }
            out.push_str(&format!("-----END {label}-----\n"));
        }
        rest = &body_start[end + end_marker.len()..];
    }
    if out.is_empty() && !input.trim().is_empty() && !input.contains("-----BEGIN ") {
        return Err("failed to decode PEM block".into());
    }
    sv(out.trim())
}
