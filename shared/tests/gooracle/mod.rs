//! Runs the Go oracle (`hack/gooracle`) so tests can compare our output with Go's standard library
//! byte for byte. The program is built once per test binary; every test sends one batch of cases.
//! Go is a hard requirement: a missing toolchain fails the test instead of skipping it, because
//! CI always installs it (hack/setup-tools.sh).

#![allow(dead_code)]

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use serde_json::Value;

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("shared/ has a parent")
        .to_path_buf()
}

fn find_go() -> PathBuf {
    if let Some(venv) = std::env::var_os("ESO_VENV") {
        let candidate = PathBuf::from(venv).join("bin").join("go");
        if candidate.is_file() {
            return candidate;
        }
    }
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            let candidate = dir.join("go");
            if candidate.is_file() {
                return candidate;
            }
        }
    }
    panic!(
        "the Go toolchain is required for oracle tests but was found neither in $ESO_VENV/bin nor \
         on PATH; run hack/setup-tools.sh and export ESO_VENV=<venv>"
    );
}

fn oracle_binary() -> &'static Path {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| {
        let tmp = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
        let out_dir = tmp.join(format!("gooracle-{}", std::process::id()));
        std::fs::create_dir_all(&out_dir).expect("create oracle build dir");
        let binary = out_dir.join("gooracle");
        let gocache = std::env::var_os("GOCACHE")
            .map(PathBuf::from)
            .unwrap_or_else(|| tmp.join("go-cache"));
        let source_dir = workspace_root().join("hack").join("gooracle");
        let output = Command::new(find_go())
            .arg("build")
            .arg("-o")
            .arg(&binary)
            .arg("main.go")
            .current_dir(&source_dir)
            .env("GOTOOLCHAIN", "local")
            .env("GOPROXY", "off")
            .env("GOCACHE", gocache)
            .output()
            .expect("spawn go build");
        assert!(
            output.status.success(),
            "go build of hack/gooracle failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        binary
    })
}

/// Sends `cases` (a JSON array) to the oracle and returns its answers, one per case.
pub fn ask(cases: &Value) -> Vec<Value> {
    let mut child = Command::new(oracle_binary())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn gooracle");
    let input = serde_json::to_vec(cases).expect("encode cases");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(&input)
        .expect("write cases");
    let output = child.wait_with_output().expect("wait for gooracle");
    assert!(
        output.status.success(),
        "gooracle failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let answers: Vec<Value> = serde_json::from_slice(&output.stdout).expect("decode answers");
    let expected = cases.as_array().map(Vec::len).unwrap_or_default();
    assert_eq!(answers.len(), expected, "one answer per case");
    answers
}

/// The string field `name` of an answer ("" when Go omitted it).
pub fn field<'a>(answer: &'a Value, name: &str) -> &'a str {
    answer.get(name).and_then(Value::as_str).unwrap_or("")
}

/// Small deterministic generator so the "random" cases are the same on every run.
pub struct XorShift(pub u64);

impl XorShift {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A number in `0..n`.
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}
