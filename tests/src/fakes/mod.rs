//! HTTP-level fakes of cloud services that have no usable emulator, written from the services'
//! public REST documentation and served on loopback.

pub mod gcp;
