//! Launchers for real emulators (moto, OpenBao) on free loopback ports.
