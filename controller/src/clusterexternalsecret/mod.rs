//! The ClusterExternalSecret reconciler: stamps one ExternalSecret into every selected namespace.

pub mod controller;
pub mod reconcile;
pub mod selector;
