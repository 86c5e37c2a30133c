//! A wrapper for secret bytes that never prints its contents.
