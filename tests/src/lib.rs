//! Test infrastructure only, never shipped: the Kubernetes API simulator and emulator launchers.

pub mod emulators;
pub mod fakes;
pub mod sim;
