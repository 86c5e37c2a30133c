//! Liveness and readiness.
//!
//! Readiness is a set of named flags: the server is ready only when every registered flag is set.
//! The certificate loader owns [`CERTIFICATE`]; rules that depend on reflectors register one flag
//! per reflector and set it once the initial list is synced, so the apiserver is never sent to a
//! replica that would answer from an empty cache.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// Flag name used for "a serving certificate is loaded and valid".
pub const CERTIFICATE: &str = "certificate";

type Flags = Vec<(String, Arc<AtomicBool>)>;

/// Shared registry of readiness flags.
#[derive(Clone, Debug, Default)]
pub struct Readiness {
    flags: Arc<Mutex<Flags>>,
}

/// The setter side of one readiness flag.
#[derive(Clone, Debug)]
pub struct ReadyFlag {
    name: String,
    value: Arc<AtomicBool>,
}

impl ReadyFlag {
    pub fn set(&self, ready: bool) {
        self.value.store(ready, Ordering::Release);
    }

    pub fn get(&self) -> bool {
        self.value.load(Ordering::Acquire)
    }

    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Readiness {
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers (or returns the existing) flag `name`, initially not ready.
    pub fn register(&self, name: &str) -> ReadyFlag {
        let mut flags = self.flags.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((_, value)) = flags.iter().find(|(n, _)| n == name) {
            return ReadyFlag {
                name: name.to_owned(),
                value: value.clone(),
            };
        }
        let value = Arc::new(AtomicBool::new(false));
        flags.push((name.to_owned(), value.clone()));
        ReadyFlag {
            name: name.to_owned(),
            value,
        }
    }

    /// Names of the flags that are not set yet, in registration order.
    pub fn pending(&self) -> Vec<String> {
        let flags = self.flags.lock().unwrap_or_else(PoisonError::into_inner);
        flags
            .iter()
            .filter(|(_, v)| !v.load(Ordering::Acquire))
            .map(|(n, _)| n.clone())
            .collect()
    }

    pub fn is_ready(&self) -> bool {
        self.pending().is_empty()
    }
}

/// `/healthz`: the process serves HTTP.
pub async fn healthz() -> &'static str {
    "ok"
}

/// `/readyz`: 200 when every flag is set, else 503 naming the missing ones.
pub async fn readyz(State(readiness): State<Readiness>) -> Response {
    let pending = readiness.pending();
    if pending.is_empty() {
        (StatusCode::OK, "ok").into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("not ready: {}\n", pending.join(", ")),
        )
            .into_response()
    }
}
