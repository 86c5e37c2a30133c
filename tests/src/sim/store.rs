//! Versioned object storage: one global resourceVersion counter, the full change history (the
//! simulator's "watch cache", which never compacts) and a broadcast channel for watches.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{Value, json};
use tokio::sync::broadcast;

/// (storage resource, namespace, name). Cluster-scoped objects use an empty namespace.
pub type Key = (String, String, String);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventType {
    Added,
    Modified,
    Deleted,
}

impl EventType {
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Added => "ADDED",
            EventType::Modified => "MODIFIED",
            EventType::Deleted => "DELETED",
        }
    }
}

#[derive(Debug)]
pub struct Change {
    pub rv: u64,
    pub etype: EventType,
    pub key: Key,
    pub obj: Value,
    pub old: Option<Value>,
}

pub struct Store {
    rv: u64,
    objects: BTreeMap<Key, Value>,
    history: Vec<Arc<Change>>,
    /// Oldest resourceVersion a watch may start from; older ones get 410 Expired.
    pub window_start: u64,
    /// Per storage resource: where its watch cache starts (custom resources: when their CRD
    /// was first served), like the apiserver's per-resource cacher.
    cache_start: BTreeMap<String, u64>,
    tx: broadcast::Sender<Arc<Change>>,
}

/// Where the counter starts: far enough from 0 and 1 that clients' literal "0"/"1" stay special.
const FIRST_RV: u64 = 100;

impl Store {
    pub fn new() -> Self {
        let (tx, _) = broadcast::channel(4096);
        Store {
            rv: FIRST_RV,
            objects: BTreeMap::new(),
            history: Vec::new(),
            window_start: FIRST_RV,
            cache_start: BTreeMap::new(),
            tx,
        }
    }

    /// Every resourceVersion up to now becomes too old to watch from (the history is kept for
    /// Exact lists at newer resourceVersions).
    pub fn compact(&mut self) {
        self.window_start = self.rv + 1;
    }

    /// Starts the watch cache of `storage` at the current resourceVersion (first call wins).
    pub fn start_cache(&mut self, storage: &str) {
        let rv = self.rv;
        self.cache_start.entry(storage.to_string()).or_insert(rv);
    }

    /// The oldest resourceVersion `storage` can still be watched or listed (Exact) from.
    pub fn oldest_for(&self, storage: &str) -> u64 {
        self.cache_start
            .get(storage)
            .map_or(self.window_start, |s| (s + 1).max(self.window_start))
    }

    pub fn current_rv(&self) -> u64 {
        self.rv
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Change>> {
        self.tx.subscribe()
    }

    pub fn get(&self, key: &Key) -> Option<&Value> {
        self.objects.get(key)
    }

    /// Objects of one storage resource (optionally one namespace), ordered by namespace/name.
    pub fn list(&self, storage: &str, ns: Option<&str>) -> Vec<Value> {
        self.objects
            .range((storage.to_string(), String::new(), String::new())..)
            .take_while(|((s, _, _), _)| s == storage)
            .filter(|((_, n, _), _)| ns.is_none_or(|ns| ns == n))
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// The objects as they were at `rv` (replayed from the history).
    pub fn list_at(&self, storage: &str, ns: Option<&str>, rv: u64) -> Vec<Value> {
        let mut m: BTreeMap<Key, Value> = BTreeMap::new();
        for c in self.history.iter().take_while(|c| c.rv <= rv) {
            if c.key.0 != storage || ns.is_some_and(|ns| ns != c.key.1) {
                continue;
            }
            match c.etype {
                EventType::Deleted => {
                    m.remove(&c.key);
                }
                _ => {
                    m.insert(c.key.clone(), c.obj.clone());
                }
            }
        }
        m.into_values().collect()
    }

    /// Changes after `rv` (exclusive).
    pub fn changes_since(&self, rv: u64) -> Vec<Arc<Change>> {
        let start = self.history.partition_point(|c| c.rv <= rv);
        self.history[start..].to_vec()
    }

    pub fn keys_in_namespace(&self, ns: &str) -> Vec<Key> {
        self.objects
            .keys()
            .filter(|(_, n, _)| n == ns)
            .cloned()
            .collect()
    }

    pub fn all_keys(&self) -> Vec<Key> {
        self.objects.keys().cloned().collect()
    }

    /// Consumes a resourceVersion without changing any object here (a write elsewhere).
    pub fn skip_rv(&mut self) {
        self.rv += 1;
    }

    /// Stores `obj` under a new resourceVersion and returns it as stored.
    pub fn put(&mut self, key: Key, mut obj: Value) -> Value {
        self.rv += 1;
        obj["metadata"]["resourceVersion"] = json!(self.rv.to_string());
        // The apiserver stores no managedFields at all rather than an empty list.
        if let Some(m) = obj["metadata"].as_object_mut()
            && m.get("managedFields")
                .and_then(Value::as_array)
                .is_some_and(Vec::is_empty)
        {
            m.remove("managedFields");
        }
        let old = self.objects.insert(key.clone(), obj.clone());
        let etype = if old.is_some() {
            EventType::Modified
        } else {
            EventType::Added
        };
        self.record(Change {
            rv: self.rv,
            etype,
            key,
            obj: obj.clone(),
            old,
        });
        obj
    }

    /// Removes the object; the returned final state carries the deletion's resourceVersion.
    pub fn remove(&mut self, key: &Key) -> Option<Value> {
        let mut obj = self.objects.remove(key)?;
        self.rv += 1;
        obj["metadata"]["resourceVersion"] = json!(self.rv.to_string());
        self.record(Change {
            rv: self.rv,
            etype: EventType::Deleted,
            key: key.clone(),
            obj: obj.clone(),
            old: None,
        });
        Some(obj)
    }

    fn record(&mut self, c: Change) {
        let c = Arc::new(c);
        self.history.push(c.clone());
        let _ = self.tx.send(c);
    }
}

impl Default for Store {
    fn default() -> Self {
        Self::new()
    }
}
