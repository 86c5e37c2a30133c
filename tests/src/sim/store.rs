//! Versioned object storage: one global resourceVersion counter, the full change history (the
//! simulator's "watch cache", which never compacts) and a broadcast channel for watches.

use std::collections::{BTreeMap, BTreeSet, HashMap};
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
    /// Bookkeeping for the built-in controllers, so that a pass looks only at what changed
    /// instead of every stored object (which made the simulator quadratic in object count).
    index: ControllerIndex,
}

/// What the built-in controllers (garbage collector, namespace and serviceaccount controllers)
/// need to find their work without scanning the whole store.
#[derive(Default)]
struct ControllerIndex {
    /// How many stored objects carry each uid.
    uids: HashMap<String, usize>,
    /// Owner uid → objects listing it in `ownerReferences`.
    dependents: HashMap<String, BTreeSet<Key>>,
    /// Objects whose controller verdict may have changed since they were last looked at: the
    /// object itself changed, one of its owners went away, or (for namespaces) something in
    /// the namespace changed.
    pending: BTreeSet<Key>,
}

fn uid_of(obj: &Value) -> Option<&str> {
    obj["metadata"]["uid"].as_str()
}

/// The owner uids of `obj`, in `ownerReferences` order.
pub fn owner_uids(obj: &Value) -> Vec<&str> {
    obj["metadata"]["ownerReferences"]
        .as_array()
        .map(|a| a.iter().filter_map(|r| r["uid"].as_str()).collect())
        .unwrap_or_default()
}

impl ControllerIndex {
    fn namespace_key(key: &Key) -> Option<Key> {
        (!key.1.is_empty()).then(|| ("namespaces".to_string(), String::new(), key.1.clone()))
    }

    fn forget(&mut self, key: &Key, obj: &Value) {
        if let Some(uid) = uid_of(obj)
            && let Some(n) = self.uids.get_mut(uid)
        {
            *n -= 1;
            if *n == 0 {
                self.uids.remove(uid);
                // Its dependents may have lost their last owner.
                if let Some(deps) = self.dependents.get(uid) {
                    self.pending.extend(deps.iter().cloned());
                }
            }
        }
        for owner in owner_uids(obj) {
            if let Some(deps) = self.dependents.get_mut(owner) {
                deps.remove(key);
                if deps.is_empty() {
                    self.dependents.remove(owner);
                }
            }
        }
    }

    fn learn(&mut self, key: &Key, obj: &Value) {
        if let Some(uid) = uid_of(obj) {
            *self.uids.entry(uid.to_string()).or_default() += 1;
        }
        for owner in owner_uids(obj) {
            self.dependents
                .entry(owner.to_string())
                .or_default()
                .insert(key.clone());
        }
    }

    fn touch(&mut self, key: &Key) {
        self.pending.insert(key.clone());
        if let Some(ns) = Self::namespace_key(key) {
            self.pending.insert(ns);
        }
    }
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
            index: ControllerIndex::default(),
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
        self.list_where(storage, ns, |_| true)
    }

    /// Like [`Store::list`], copying only the objects `keep` accepts (selector lists).
    pub fn list_where(
        &self,
        storage: &str,
        ns: Option<&str>,
        keep: impl Fn(&Value) -> bool,
    ) -> Vec<Value> {
        self.objects
            .range((storage.to_string(), String::new(), String::new())..)
            .take_while(|((s, _, _), _)| s == storage)
            .filter(|((_, n, _), v)| ns.is_none_or(|ns| ns == n) && keep(v))
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// How many objects of one storage resource (optionally one namespace) satisfy `pred`,
    /// without copying them (benchmarks poll this).
    pub fn count(&self, storage: &str, ns: Option<&str>, pred: impl Fn(&Value) -> bool) -> usize {
        self.objects
            .range((storage.to_string(), String::new(), String::new())..)
            .take_while(|((s, _, _), _)| s == storage)
            .filter(|((_, n, _), v)| ns.is_none_or(|ns| ns == n) && pred(v))
            .count()
    }

    /// The objects as they were at `rv` (replayed from the history).
    pub fn list_at(&self, storage: &str, ns: Option<&str>, rv: u64) -> Vec<Value> {
        self.list_at_where(storage, ns, rv, |_| true)
    }

    /// Like [`Store::list_at`], copying only the objects `keep` accepts.
    pub fn list_at_where(
        &self,
        storage: &str,
        ns: Option<&str>,
        rv: u64,
        keep: impl Fn(&Value) -> bool,
    ) -> Vec<Value> {
        if rv >= self.rv {
            return self.list_where(storage, ns, keep);
        }
        // Replay by reference and clone only what survives: paginated lists replay once per page.
        let mut m: BTreeMap<&Key, &Value> = BTreeMap::new();
        for c in self.history.iter().take_while(|c| c.rv <= rv) {
            if c.key.0 != storage || ns.is_some_and(|ns| ns != c.key.1) {
                continue;
            }
            match c.etype {
                EventType::Deleted => {
                    m.remove(&c.key);
                }
                _ => {
                    m.insert(&c.key, &c.obj);
                }
            }
        }
        m.into_values().filter(|v| keep(v)).cloned().collect()
    }

    /// Changes after `rv` (exclusive).
    pub fn changes_since(&self, rv: u64) -> Vec<Arc<Change>> {
        let start = self.history.partition_point(|c| c.rv <= rv);
        self.history[start..].to_vec()
    }

    /// Objects listing `uid` as an owner, ordered by key.
    pub fn dependents_of(&self, uid: &str) -> Vec<Key> {
        self.index
            .dependents
            .get(uid)
            .map(|d| d.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// Whether some stored object has this uid.
    pub fn has_uid(&self, uid: &str) -> bool {
        self.index.uids.contains_key(uid)
    }

    /// The objects the built-in controllers should look at, ordered by key (a superset of those
    /// with work to do; see [`Store::settled`]).
    pub fn pending(&self) -> Vec<Key> {
        self.index.pending.iter().cloned().collect()
    }

    /// The controllers found nothing to do for `key` in its current state.
    pub fn settled(&mut self, key: &Key) {
        self.index.pending.remove(key);
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
        if let Some(o) = &old {
            self.index.forget(&key, o);
        }
        self.index.learn(&key, &obj);
        self.index.touch(&key);
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
        self.index.forget(key, &obj);
        self.index.touch(key);
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
