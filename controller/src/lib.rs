//! The controller deployment as a library, so the binary, `render` and the end-to-end tests run the
//! same reconcilers in-process.

pub mod externalsecret;
pub mod provider;
pub mod secrets;
