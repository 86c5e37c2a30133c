//! In-process Kubernetes API simulator (kubesim).

pub mod admission;
pub mod schema;
pub mod tokens;
