//! Types and pure rules shared by the controller, the webhook, the CLIs and the tests.
//! Nothing in this crate performs network I/O.

pub mod api;
pub mod conversion;
pub mod defaulting;
pub mod duration;
pub mod generators;
pub mod gjson;
pub mod hash;
pub mod keys;
pub mod policy;
pub mod secret_value;
pub mod telemetry;
pub mod template;
pub mod validation;
