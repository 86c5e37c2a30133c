//! Shared parts of the gcpsm suites that run the controller (include with
//! `#[path = "provider_gcp_support/e2e.rs"] mod gcp_e2e;` next to `controller_es_support.rs`
//! as `support`). Endpoints are fixed once per process, so the tests of a binary share one
//! fake and each uses its own project and Google service account.
#![allow(dead_code)]

use std::sync::atomic::{AtomicU64, Ordering};

use controller::provider::gcp::{Endpoints, set_process_endpoints};
use kube::Api;
use kube::api::PostParams;
use serde_json::{Value, json};
use shared::api::v1::SecretStore;
use tests::fakes::gcp::FakeGcp;

use crate::support::{Env, eventually};

pub struct Gcp {
    pub fake: &'static FakeGcp,
    pub project: String,
    pub number: u64,
    pub email: String,
}

/// The shared fake (endpoints of this process point at it) and a fresh project.
pub fn gcp() -> Gcp {
    static N: AtomicU64 = AtomicU64::new(1);
    let fake = FakeGcp::shared();
    set_process_endpoints(Endpoints::all_at(&fake.url()));
    let n = N.fetch_add(1, Ordering::SeqCst);
    let project = format!("e2e-{n}");
    let number = 900_000_000_000 + n;
    fake.add_project(&project, number);
    let email = format!("eso-{n}@{project}.iam.gserviceaccount.com");
    Gcp {
        fake,
        project,
        number,
        email,
    }
}

impl Gcp {
    /// Secret Manager calls of this test's project.
    pub fn calls(&self, call: &str) -> u64 {
        self.fake.calls(&format!("{call}@{}", self.project))
    }
}

pub async fn create_store(env: &Env, ns: &str, name: &str, provider: Value) {
    let store: SecretStore = serde_json::from_value(json!({
        "apiVersion": "external-secrets.io/v1", "kind": "SecretStore",
        "metadata": {"name": name, "namespace": ns},
        "spec": {"provider": provider}
    }))
    .unwrap();
    Api::<SecretStore>::namespaced(env.client.clone(), ns)
        .create(&PostParams::default(), &store)
        .await
        .unwrap();
}

/// Waits for the store's Ready condition; returns (status, reason, message).
pub async fn store_ready(
    env: &Env,
    ns: &str,
    name: &str,
    status: &str,
) -> (String, String, String) {
    let api = Api::<SecretStore>::namespaced(env.client.clone(), ns);
    eventually(&format!("store {ns}/{name} Ready={status}"), || {
        let api = api.clone();
        async move {
            let s = api.get(name).await.ok()?;
            let c = s
                .status?
                .conditions?
                .into_iter()
                .find(|c| c.type_ == "Ready" && c.status == status)?;
            Some((
                c.status,
                c.reason.unwrap_or_default(),
                c.message.unwrap_or_default(),
            ))
        }
    })
    .await
}
