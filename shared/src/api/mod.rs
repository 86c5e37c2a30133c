//! Custom resource types for every kind and version we serve (one module per group/version),
//! plus the CRD generation used by `crdgen`, the tests and the simulator.

// `#[kube(printcolumn(type_ = ...))]` repeats keys by design; clippy reads them as duplicates.
#![allow(clippy::duplicated_attributes)]

mod crds;
pub mod generators;
pub mod meta;
pub mod schema;
pub mod v1;
pub mod v1alpha1;
pub mod v1beta1;

pub use crds::{all_crds, crd_file_name, crd_to_yaml};
