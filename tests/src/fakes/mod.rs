//! HTTP-level fakes of cloud services that have no usable emulator, written from their public
//! REST documentation and served on 127.0.0.1 by an in-process tokio task.

pub mod azure;
pub mod gcp;
