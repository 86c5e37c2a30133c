//! The controller deployment as a library, so the binary, `render` and the end-to-end tests run the
//! same reconcilers in-process.

pub mod cli;
pub mod clusterexternalsecret;
pub mod clusterpushsecret;
pub mod context;
pub mod events;
pub mod externalsecret;
pub mod generatorstate;
pub mod health;
pub mod leader;
pub mod metrics;
pub mod namespaces;
pub mod provider;
pub mod pushsecret;
pub mod render;
pub mod secrets;
pub mod stores;

pub use context::{
    Config, Context, IndexedStores, StoreAccess, run_controllers, run_controllers_with,
};
