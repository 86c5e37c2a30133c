//! `generators.external-secrets.io/v1alpha1`: Password, UUID, Fake, ClusterGenerator and
//! GeneratorState.

pub mod clustergenerator;
pub mod fake;
pub mod generatorstate;
pub mod password;
pub mod uuid;

pub use clustergenerator::*;
pub use fake::*;
pub use generatorstate::*;
pub use password::*;
pub use uuid::*;
