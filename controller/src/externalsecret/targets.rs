//! Which ExternalSecrets write which target Secret. The Secret watch maps every Secret event
//! to its ExternalSecrets through this index: scanning all ExternalSecrets per Secret event
//! made a cold sync of N objects cost O(N²).

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;

use kube::ResourceExt;
use kube::runtime::reflector::ObjectRef;
use kube::runtime::watcher;
use shared::api::v1::ExternalSecret;

/// `(namespace, name)`.
type Name = (String, String);

#[derive(Default)]
struct Inner {
    /// ExternalSecret → its target (same namespace).
    target_of: HashMap<Name, String>,
    /// Target Secret → the ExternalSecrets naming it.
    writers: HashMap<Name, BTreeSet<String>>,
    /// A relist in progress: the new content, swapped in when it completes.
    relist: Option<HashMap<Name, String>>,
}

impl Inner {
    fn unlink(&mut self, es: &Name) {
        if let Some(target) = self.target_of.remove(es) {
            let t = (es.0.clone(), target);
            if let Some(set) = self.writers.get_mut(&t) {
                set.remove(&es.1);
                if set.is_empty() {
                    self.writers.remove(&t);
                }
            }
        }
    }

    fn link(&mut self, es: Name, target: String) {
        self.unlink(&es);
        self.writers
            .entry((es.0.clone(), target.clone()))
            .or_default()
            .insert(es.1.clone());
        self.target_of.insert(es, target);
    }
}

/// Target Secret → ExternalSecrets, kept current from the ExternalSecret watch events.
#[derive(Default)]
pub struct TargetIndex {
    inner: Mutex<Inner>,
}

fn name_of(es: &ExternalSecret) -> Name {
    (es.namespace().unwrap_or_default(), es.name_any())
}

impl TargetIndex {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Applies one watch event.
    pub fn observe(&self, event: &watcher::Event<ExternalSecret>) {
        let mut inner = self.lock();
        match event {
            watcher::Event::Apply(es) => match es.target_name() {
                Some(t) => inner.link(name_of(es), t.to_string()),
                None => inner.unlink(&name_of(es)),
            },
            watcher::Event::Delete(es) => inner.unlink(&name_of(es)),
            watcher::Event::Init => inner.relist = Some(HashMap::new()),
            watcher::Event::InitApply(es) => {
                if let (Some(relist), Some(t)) = (inner.relist.as_mut(), es.target_name()) {
                    relist.insert(name_of(es), t.to_string());
                }
            }
            watcher::Event::InitDone => {
                let Some(fresh) = inner.relist.take() else {
                    return;
                };
                inner.target_of.clear();
                inner.writers.clear();
                for (es, target) in fresh {
                    inner.link(es, target);
                }
            }
        }
    }

    /// The ExternalSecrets whose target is Secret `namespace/name`.
    pub fn writers(&self, namespace: &str, name: &str) -> Vec<ObjectRef<ExternalSecret>> {
        let inner = self.lock();
        inner
            .writers
            .get(&(namespace.to_string(), name.to_string()))
            .into_iter()
            .flatten()
            .map(|es| ObjectRef::new(es).within(namespace))
            .collect()
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
}
