//! Key conversion, rewrite and decoding rules (ESO reference §7).
