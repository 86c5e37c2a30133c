//! Objects by a derived key within their namespace, kept current from watch events: which
//! ExternalSecrets write a target Secret (the Secret watch maps every Secret event through it;
//! scanning all ExternalSecrets per event made a cold sync of N objects cost O(N²)), and which
//! Secrets carry an ExternalSecret's created-by label (orphan cleanup, without a list request
//! per created Secret).

use std::collections::HashMap;
use std::sync::Mutex;

use k8s_openapi::api::core::v1::Secret;
use kube::runtime::reflector::ObjectRef;
use kube::runtime::watcher;
use kube::{Resource, ResourceExt};
use shared::api::v1::ExternalSecret;

use crate::secrets::LABEL_CREATED_BY;

/// `(namespace, name)`.
type Name = (String, String);

#[derive(Default)]
struct Inner {
    /// Object → its key (same namespace).
    target_of: HashMap<Name, String>,
    /// (namespace, key) → the objects with that key, sorted. Usually one: a Vec of one name
    /// costs a tenth of a one-entry BTreeSet's node (the index holds an entry per object).
    writers: HashMap<Name, Vec<String>>,
    /// A relist in progress: the new content, swapped in when it completes.
    relist: Option<HashMap<Name, String>>,
}

impl Inner {
    fn unlink(&mut self, es: &Name) {
        if let Some(target) = self.target_of.remove(es) {
            let t = (es.0.clone(), target);
            if let Some(set) = self.writers.get_mut(&t) {
                set.retain(|n| *n != es.1);
                if set.is_empty() {
                    self.writers.remove(&t);
                }
            }
        }
    }

    fn link(&mut self, es: Name, target: String) {
        self.unlink(&es);
        let names = self
            .writers
            .entry((es.0.clone(), target.clone()))
            .or_default();
        if let Err(at) = names.binary_search(&es.1) {
            names.insert(at, es.1.clone());
        }
        self.target_of.insert(es, target);
    }
}

/// Objects of kind `K` by a key derived from each (`None`: not indexed).
pub struct KeyIndex<K> {
    inner: Mutex<Inner>,
    key: fn(&K) -> Option<String>,
}

/// Target Secret name → the ExternalSecrets writing it.
pub type TargetIndex = KeyIndex<ExternalSecret>;
/// created-by label value → the Secrets carrying it.
pub type CreatedByIndex = KeyIndex<Secret>;

impl Default for TargetIndex {
    fn default() -> Self {
        KeyIndex::new(|es| es.target_name().map(str::to_string))
    }
}

impl Default for CreatedByIndex {
    fn default() -> Self {
        KeyIndex::new(|s| s.labels().get(LABEL_CREATED_BY).cloned())
    }
}

fn name_of<K: Resource>(obj: &K) -> Name {
    (obj.namespace().unwrap_or_default(), obj.name_any())
}

impl<K: Resource<DynamicType = ()>> KeyIndex<K> {
    /// An empty index keyed by `key`.
    pub fn new(key: fn(&K) -> Option<String>) -> Self {
        KeyIndex {
            inner: Mutex::default(),
            key,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Applies one watch event.
    pub fn observe(&self, event: &watcher::Event<K>) {
        let mut inner = self.lock();
        match event {
            watcher::Event::Apply(obj) => match (self.key)(obj) {
                Some(k) => inner.link(name_of(obj), k),
                None => inner.unlink(&name_of(obj)),
            },
            watcher::Event::Delete(obj) => inner.unlink(&name_of(obj)),
            watcher::Event::Init => inner.relist = Some(HashMap::new()),
            watcher::Event::InitApply(obj) => {
                if let (Some(relist), Some(k)) = (inner.relist.as_mut(), (self.key)(obj)) {
                    relist.insert(name_of(obj), k);
                }
            }
            watcher::Event::InitDone => {
                let Some(fresh) = inner.relist.take() else {
                    return;
                };
                inner.target_of.clear();
                inner.writers.clear();
                for (obj, k) in fresh {
                    inner.link(obj, k);
                }
            }
        }
    }

    /// The objects in `namespace` whose key is `key`.
    pub fn get(&self, namespace: &str, key: &str) -> Vec<ObjectRef<K>> {
        let inner = self.lock();
        inner
            .writers
            .get(&(namespace.to_string(), key.to_string()))
            .into_iter()
            .flatten()
            .map(|name| ObjectRef::new(name).within(namespace))
            .collect()
    }
}

impl TargetIndex {
    /// The ExternalSecrets whose target is Secret `namespace/name`.
    pub fn writers(&self, namespace: &str, name: &str) -> Vec<ObjectRef<ExternalSecret>> {
        self.get(namespace, name)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn es(name: &str, target: Option<&str>) -> ExternalSecret {
        let mut spec = json!({"secretStoreRef": {"name": "s"}});
        if let Some(t) = target {
            spec["target"] = json!({"name": t});
        }
        serde_json::from_value(json!({
            "apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret",
            "metadata": {"name": name, "namespace": "ns"}, "spec": spec,
        }))
        .expect("valid ExternalSecret")
    }

    fn names(refs: Vec<ObjectRef<ExternalSecret>>) -> Vec<String> {
        refs.into_iter().map(|r| r.name).collect()
    }

    #[test]
    fn follows_renames_deletes_and_relists() {
        let idx = TargetIndex::default();
        idx.observe(&watcher::Event::Apply(es("a", Some("shared"))));
        idx.observe(&watcher::Event::Apply(es("b", Some("shared"))));
        idx.observe(&watcher::Event::Apply(es("c", None)));
        assert_eq!(names(idx.writers("ns", "shared")), ["a", "b"]);
        // Without target.name the target is the ExternalSecret's own name.
        assert_eq!(names(idx.writers("ns", "c")), ["c"]);
        assert!(idx.writers("other", "shared").is_empty());

        idx.observe(&watcher::Event::Apply(es("a", Some("renamed"))));
        assert_eq!(names(idx.writers("ns", "shared")), ["b"]);
        assert_eq!(names(idx.writers("ns", "renamed")), ["a"]);
        idx.observe(&watcher::Event::Delete(es("b", Some("shared"))));
        assert!(idx.writers("ns", "shared").is_empty());

        // A relist replaces everything once it is complete; lookups in between see the old state.
        idx.observe(&watcher::Event::Init);
        idx.observe(&watcher::Event::InitApply(es("d", Some("shared"))));
        assert_eq!(names(idx.writers("ns", "renamed")), ["a"]);
        idx.observe(&watcher::Event::InitDone);
        assert_eq!(names(idx.writers("ns", "shared")), ["d"]);
        assert!(idx.writers("ns", "renamed").is_empty());
        assert!(idx.writers("ns", "c").is_empty());
    }

    #[test]
    fn finds_secrets_by_created_by_label() {
        let secret = |name: &str, label: Option<&str>| -> Secret {
            let mut meta = json!({"name": name, "namespace": "ns"});
            if let Some(l) = label {
                meta["labels"] = json!({LABEL_CREATED_BY: l});
            }
            serde_json::from_value(json!({"metadata": meta})).expect("valid Secret")
        };
        let idx = CreatedByIndex::default();
        idx.observe(&watcher::Event::Apply(secret("old", Some("h1"))));
        idx.observe(&watcher::Event::Apply(secret("new", Some("h1"))));
        idx.observe(&watcher::Event::Apply(secret("plain", None)));
        let names = |refs: Vec<ObjectRef<Secret>>| -> Vec<String> {
            refs.into_iter().map(|r| r.name).collect()
        };
        assert_eq!(names(idx.get("ns", "h1")), ["new", "old"]);
        // The label removed: no longer found.
        idx.observe(&watcher::Event::Apply(secret("old", None)));
        assert_eq!(names(idx.get("ns", "h1")), ["new"]);
    }
}
