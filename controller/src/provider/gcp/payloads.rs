//! One payload read per secret version, whatever number of `data[]` entries (properties) of a
//! refresh ask for it: concurrent reads of the same version share one
//! `AccessSecretVersion`, and a successful read is reused for [`WINDOW`]. Writes clear it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use shared::secret_value::SecretValue;
use tokio::sync::OnceCell;

use crate::provider::ProviderError;

/// As long as the client cache's read window.
pub const WINDOW: Duration = Duration::from_secs(1);

type Payload = Result<Option<SecretValue>, ProviderError>;

struct Flight {
    cell: OnceCell<Payload>,
    done_at: OnceLock<Instant>,
}

impl Flight {
    fn joinable(&self) -> bool {
        match self.done_at.get() {
            None => true,
            Some(done) => matches!(self.cell.get(), Some(Ok(_))) && done.elapsed() < WINDOW,
        }
    }
}

#[derive(Default)]
pub(super) struct Payloads {
    map: Mutex<HashMap<String, Arc<Flight>>>,
}

impl Payloads {
    fn lock(&self) -> MutexGuard<'_, HashMap<String, Arc<Flight>>> {
        self.map.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(super) async fn read<F, Fut>(&self, key: String, call: F) -> Payload
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Payload>,
    {
        let flight = {
            let mut map = self.lock();
            map.retain(|_, f| f.joinable());
            map.entry(key.clone())
                .or_insert_with(|| {
                    Arc::new(Flight {
                        cell: OnceCell::new(),
                        done_at: OnceLock::new(),
                    })
                })
                .clone()
        };
        let result = flight.cell.get_or_init(call).await.clone();
        flight.done_at.get_or_init(Instant::now);
        if result.is_err() {
            let mut map = self.lock();
            if map.get(&key).is_some_and(|f| Arc::ptr_eq(f, &flight)) {
                map.remove(&key);
            }
        }
        result
    }

    /// Forgets finished reads, so that a read after a write sees the write.
    pub(super) fn clear(&self) {
        self.lock().retain(|_, f| f.done_at.get().is_none());
    }
}
