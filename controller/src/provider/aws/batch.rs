//! Coalescing of current-version reads: reads of different secrets that arrive within
//! [`WINDOW`] of each other go out as one BatchGetSecretValue of up to [`MAX_BATCH`] ids (a
//! lone read stays a GetSecretValue). Identical reads are single-flighted and, for periodic
//! refreshes, reused by the ClientCache (`stores::cache`), which also knows when a sync must
//! read fresh (a change, a force-sync); this covers many objects reading many different secrets
//! of one store at the same moment, and keeps no values of its own.
//!
//! If the credentials may not call BatchGetSecretValue (a permission ESO made optional),
//! the batcher falls back to one GetSecretValue per secret for the rest of its life.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::types::SecretValueEntry;
use shared::secret_value::SecretValue;
use tokio::sync::oneshot;

use super::PROVIDER_SM;
use super::error::{code, describe, message};
use crate::provider::ProviderError;
use crate::provider::metrics::observe;

/// How long the first read of a batch waits for others to join.
pub const WINDOW: Duration = Duration::from_millis(10);
/// AWS's limit of ids per BatchGetSecretValue.
pub const MAX_BATCH: usize = 20;

/// A secret's current value: SecretString bytes or SecretBinary.
#[derive(Clone, Debug)]
pub(super) struct Payload {
    pub value: SecretValue,
}

impl Payload {
    pub(super) fn new(string: Option<&str>, binary: Option<&[u8]>) -> Option<Payload> {
        // ESO prefers the binary when both are set.
        match (binary, string) {
            (Some(b), _) => Some(Payload {
                value: SecretValue::new(b.to_vec()),
            }),
            (None, Some(s)) => Some(Payload {
                value: SecretValue::from(s),
            }),
            (None, None) => None,
        }
    }

    /// The payload as text for gjson lookups.
    pub(super) fn text(&self) -> String {
        String::from_utf8_lossy(self.value.as_bytes()).into_owned()
    }
}

/// `None`: the secret does not exist (or is scheduled for deletion).
pub(super) type Answer = Result<Option<Payload>, ProviderError>;

type Waiter = (String, oneshot::Sender<Answer>);

/// Batches reads for one client.
pub(super) struct Batcher {
    client: Client,
    pending: Mutex<Vec<Waiter>>,
    batch_denied: AtomicBool,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Error codes that mean "no such secret" for a read.
pub(super) fn is_missing(code: Option<&str>, message: Option<&str>) -> bool {
    match code {
        Some("ResourceNotFoundException") => true,
        Some("InvalidRequestException" | "InvalidParameterException") => {
            message.is_some_and(|m| m.contains("marked for deletion"))
        }
        _ => false,
    }
}

impl Batcher {
    pub(super) fn new(client: Client) -> Arc<Self> {
        Arc::new(Batcher {
            client,
            pending: Mutex::new(Vec::new()),
            batch_denied: AtomicBool::new(false),
        })
    }

    /// The current value of `id` (a name or ARN).
    pub(super) async fn get(self: &Arc<Self>, id: String) -> Answer {
        let (tx, rx) = oneshot::channel();
        let (first, full) = {
            let mut pending = lock(&self.pending);
            pending.push((id, tx));
            (pending.len() == 1, pending.len() >= MAX_BATCH)
        };
        if full {
            let batch = std::mem::take(&mut *lock(&self.pending));
            let me = self.clone();
            tokio::spawn(async move { me.flush(batch).await });
        } else if first {
            // Spawned so that a caller giving up does not strand the others.
            let me = self.clone();
            tokio::spawn(async move {
                tokio::time::sleep(WINDOW).await;
                let batch = std::mem::take(&mut *lock(&me.pending));
                me.flush(batch).await;
            });
        }
        rx.await
            .unwrap_or_else(|_| Err(ProviderError::Other("secret read was abandoned".into())))
    }

    async fn flush(&self, batch: Vec<Waiter>) {
        if batch.is_empty() {
            return;
        }
        let mut waiters: BTreeMap<String, Vec<oneshot::Sender<Answer>>> = BTreeMap::new();
        for (id, tx) in batch {
            waiters.entry(id).or_default().push(tx);
        }
        let ids: Vec<String> = waiters.keys().cloned().collect();
        let mut answers: BTreeMap<String, Answer> = BTreeMap::new();
        for chunk in ids.chunks(MAX_BATCH) {
            if chunk.len() == 1 || self.batch_denied.load(Ordering::Relaxed) {
                for id in chunk {
                    answers.insert(id.clone(), self.get_one(id).await);
                }
            } else {
                self.get_many(chunk, &mut answers).await;
            }
        }
        for (id, txs) in waiters {
            let answer = answers
                .remove(&id)
                .unwrap_or_else(|| Err(ProviderError::Other("no answer for secret".into())));
            for tx in txs {
                let _ = tx.send(answer.clone());
            }
        }
    }

    /// One GetSecretValue of the current version.
    pub(super) async fn get_one(&self, id: &str) -> Answer {
        match observe(
            PROVIDER_SM,
            "GetSecretValue",
            self.client.get_secret_value().secret_id(id).send().await,
        ) {
            Ok(out) => Ok(Some(
                Payload::new(out.secret_string(), out.secret_binary().map(|b| b.as_ref()))
                    .ok_or_else(|| {
                        ProviderError::Other(format!(
                            "invalid secret received. no secret string nor binary for key: {id}"
                        ))
                    })?,
            )),
            Err(e) => {
                if is_missing(code(&e).as_deref(), message(&e).as_deref()) {
                    Ok(None)
                } else {
                    Err(describe("GetSecretValue", &e))
                }
            }
        }
    }

    async fn get_many(&self, ids: &[String], answers: &mut BTreeMap<String, Answer>) {
        let result = observe(
            PROVIDER_SM,
            "BatchGetSecretValue",
            self.client
                .batch_get_secret_value()
                .set_secret_id_list(Some(ids.to_vec()))
                .send()
                .await,
        );
        let out = match result {
            Ok(out) => out,
            Err(e) => {
                if code(&e).as_deref() == Some("AccessDeniedException") {
                    tracing::info!(
                        "BatchGetSecretValue is denied; reading secrets one by one (grant secretsmanager:BatchGetSecretValue to save calls)"
                    );
                    self.batch_denied.store(true, Ordering::Relaxed);
                    for id in ids {
                        answers.insert(id.clone(), self.get_one(id).await);
                    }
                } else {
                    let err = describe("BatchGetSecretValue", &e);
                    for id in ids {
                        answers.insert(id.clone(), Err(err.clone()));
                    }
                }
                return;
            }
        };
        let entry_for = |id: &str| -> Option<&SecretValueEntry> {
            out.secret_values()
                .iter()
                .find(|e| e.name() == Some(id) || e.arn() == Some(id))
        };
        for id in ids {
            if let Some(entry) = entry_for(id) {
                let payload = Payload::new(
                    entry.secret_string(),
                    entry.secret_binary().map(|b| b.as_ref()),
                )
                .ok_or_else(|| {
                    ProviderError::Other(format!(
                        "invalid secret received. no secret string nor binary for key: {id}"
                    ))
                });
                answers.insert(id.clone(), payload.map(Some));
                continue;
            }
            if let Some(err) = out
                .errors()
                .iter()
                .find(|e| e.secret_id() == Some(id.as_str()))
            {
                let answer = if is_missing(err.error_code(), err.message()) {
                    Ok(None)
                } else {
                    Err(ProviderError::Other(format!(
                        "BatchGetSecretValue: {}: {}",
                        err.error_code().unwrap_or("Unknown"),
                        err.message().unwrap_or_default()
                    )))
                };
                answers.insert(id.clone(), answer);
                continue;
            }
            // A partial ARN or other alias the answer does not echo: ask for it alone.
            answers.insert(id.clone(), self.get_one(id).await);
        }
    }
}
