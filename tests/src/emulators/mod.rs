//! Launchers for real emulators (moto, OpenBao) on free loopback ports.
//!
//! Each launcher finds its tool in `$ESO_VENV/bin` (set by `hack/test.sh`) or on `PATH` and fails
//! with a clear message if it is missing: CI installs the tools, so a missing one is a broken
//! environment, not a reason to skip. Every instance is an independent process on its own port
//! with its own scratch directory, so tests can run in parallel; the process is killed when the
//! handle is dropped. Output goes to a log file whose tail is included in startup errors.

mod bao;
mod moto;
mod process;

pub use bao::{Bao, BaoTls};
pub use moto::{Moto, RecordedCall};
pub use process::{EmulatorProcess, find_tool, free_port};
