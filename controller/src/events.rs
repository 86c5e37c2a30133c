//! Event publishing with a bounded memory of past events.
//!
//! kube's [`Recorder`] remembers every event it published for six minutes, to turn repeats into
//! a series (one Event object with a count) instead of new objects, and scans all of them on
//! every publish. A cold sync of 10,000 ExternalSecrets publishes 10,000 "Created" events: the
//! recorder held 22 MiB for six minutes. client-go's recorder, which ESO uses, bounds the same
//! memory with an LRU. [`BoundedRecorder`] bounds it by starting over with an empty recorder
//! after [`CAPACITY`] publishes, so only a repeat of an event older than that becomes a new Event
//! object rather than a series entry (repeats that matter, a failing object's warning on every
//! retry, come within far fewer publishes).

use std::sync::Mutex;

use k8s_openapi::api::core::v1::ObjectReference;
use kube::Client;
use kube::runtime::events::{Event, Recorder, Reporter};

/// Publishes remembered per recorder generation.
pub const CAPACITY: usize = 512;

/// A [`Recorder`] that forgets its past events after [`CAPACITY`] publishes.
pub struct BoundedRecorder {
    client: Client,
    reporter: Reporter,
    /// The current recorder and how many events it has published.
    current: Mutex<(Recorder, usize)>,
}

impl BoundedRecorder {
    /// A recorder reporting as `reporter`.
    pub fn new(client: Client, reporter: Reporter) -> Self {
        let recorder = Recorder::new(client.clone(), reporter.clone());
        Self {
            client,
            reporter,
            current: Mutex::new((recorder, 0)),
        }
    }

    /// Publishes `ev` about `reference` (see [`Recorder::publish`]).
    pub async fn publish(
        &self,
        ev: &Event,
        reference: &ObjectReference,
    ) -> Result<(), kube::Error> {
        let recorder = {
            let mut current = self.current.lock().unwrap_or_else(|p| p.into_inner());
            if current.1 >= CAPACITY {
                *current = (Recorder::new(self.client.clone(), self.reporter.clone()), 0);
            }
            current.1 += 1;
            current.0.clone()
        };
        recorder.publish(ev, reference).await
    }
}
