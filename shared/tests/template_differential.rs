//! Differential test: every case in `tests/template-cases/*.cases` is rendered by Go's own
//! `text/template` (hack/gotemplate, built once per run) and by `shared::template`; output bytes
//! and error texts must be identical.
//!
//! Case format: a line `=== DATA` (DATA is JSON, or empty for nil data; optionally followed by
//! ` delims=L R`) starts a case; the following lines up to the next `===` line are the template
//! text, joined with `\n` (no trailing newline). Lines before the first `===` are comments.
//!
//! Normalization: none. Both sides see identical inputs; JSON numbers are float64 on both.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use base64::Engine;
use shared::template::{Options, Template, Value};

struct Case {
    file: String,
    line: usize,
    text: String,
    data: serde_json::Value,
    left: String,
    right: String,
}

fn load_cases() -> Vec<Case> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/template-cases");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("template-cases dir")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "cases"))
        .collect();
    files.sort();
    let mut cases = Vec::new();
    for f in files {
        let content = std::fs::read_to_string(&f).expect("read cases");
        let fname = f.file_name().expect("name").to_string_lossy().into_owned();
        let mut cur: Option<(Case, Vec<&str>)> = None;
        for (n, line) in content.lines().enumerate() {
            if let Some(header) = line.strip_prefix("===") {
                if let Some((mut c, lines)) = cur.take() {
                    c.text = lines.join("\n");
                    cases.push(c);
                }
                let (data, delims) = match header.split_once(" delims=") {
                    Some((d, dl)) => (d, Some(dl)),
                    None => (header, None),
                };
                let data = data.trim();
                let data = if data.is_empty() {
                    serde_json::Value::Null
                } else {
                    serde_json::from_str(data)
                        .unwrap_or_else(|e| panic!("{fname}:{}: bad JSON data: {e}", n + 1))
                };
                let (left, right) = match delims {
                    Some(d) => {
                        let (l, r) = d.split_once(' ').expect("delims=L R");
                        (l.to_string(), r.to_string())
                    }
                    None => (String::new(), String::new()),
                };
                cur = Some((
                    Case {
                        file: fname.clone(),
                        line: n + 1,
                        text: String::new(),
                        data,
                        left,
                        right,
                    },
                    Vec::new(),
                ));
            } else if let Some((_, lines)) = cur.as_mut() {
                lines.push(line);
            }
        }
        if let Some((mut c, lines)) = cur.take() {
            c.text = lines.join("\n");
            cases.push(c);
        }
    }
    cases
}

fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(d) => PathBuf::from(d),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"),
    }
}

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
    panic!(
        "the Go toolchain is required for the template differential test: set ESO_VENV or put `go` on PATH"
    );
}

/// Builds hack/gotemplate once (Go's build cache makes rebuilds cheap) and returns the binary.
fn build_oracle() -> PathBuf {
    let go = find_go();
    let target = target_dir();
    std::fs::create_dir_all(&target).expect("target dir");
    let bin = target.join("gotemplate-oracle");
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../hack/gotemplate");
    let mut cmd = Command::new(&go);
    cmd.arg("build")
        .arg("-o")
        .arg(&bin)
        .arg(".")
        .current_dir(&src);
    cmd.env("GOTOOLCHAIN", "local")
        .env("GOPROXY", "off")
        .env("GOFLAGS", "-mod=mod");
    if std::env::var_os("GOCACHE").is_none() {
        cmd.env("GOCACHE", target.join("gocache"));
    }
    let out = cmd.output().expect("run go build");
    assert!(
        out.status.success(),
        "go build of the oracle failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    bin
}

#[derive(serde::Deserialize)]
struct GoResult {
    out: Option<String>,
    err: Option<String>,
}

fn run_oracle(cases: &[Case]) -> Vec<GoResult> {
    let bin = build_oracle();
    let input: Vec<serde_json::Value> = cases
        .iter()
        .map(|c| {
            serde_json::json!({"name": "t", "text": c.text, "data": c.data, "left": c.left, "right": c.right})
        })
        .collect();
    let mut child = Command::new(bin)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn oracle");
    let body = serde_json::to_vec(&input).expect("encode cases");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(&body)
        .expect("write cases");
    let out = child.wait_with_output().expect("oracle output");
    assert!(out.status.success(), "oracle failed");
    serde_json::from_slice(&out.stdout).expect("decode oracle output")
}

#[test]
fn go_text_template_and_rust_engine_agree() {
    let cases = load_cases();
    assert!(
        cases.len() >= 300,
        "expected hundreds of cases, found {}",
        cases.len()
    );
    let results = run_oracle(&cases);
    assert_eq!(results.len(), cases.len());
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut failures = Vec::new();
    for (c, go) in cases.iter().zip(&results) {
        let go_out = go
            .out
            .as_ref()
            .map(|o| b64.decode(o).expect("base64"))
            .unwrap_or_default();
        let opts = Options {
            left_delim: if c.left.is_empty() {
                "{{".into()
            } else {
                c.left.clone()
            },
            right_delim: if c.right.is_empty() {
                "}}".into()
            } else {
                c.right.clone()
            },
        };
        let ours = Template::parse("t", &c.text, &opts)
            .and_then(|t| t.render_bytes(&Value::from(c.data.clone())));
        let (our_out, our_err) = match ours {
            Ok(o) => (o, None),
            Err(e) => (Vec::new(), Some(e.to_string())),
        };
        // On an execution error Go has written partial output; we only compare the error then.
        let out_matches = go.err.is_some() || our_out == go_out;
        if !out_matches || our_err != go.err {
            failures.push(format!(
                "{}:{}: template {:?} data {}\n   go:   out={:?} err={:?}\n   rust: out={:?} err={:?}",
                c.file,
                c.line,
                c.text,
                c.data,
                String::from_utf8_lossy(&go_out),
                go.err,
                String::from_utf8_lossy(&our_out),
                our_err
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases differ from Go:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}
