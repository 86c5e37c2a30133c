//! CRD structural-schema processing as the apiextensions-apiserver does it.

pub mod errors;
