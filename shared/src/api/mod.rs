//! Custom resource types for every kind and version we serve (one module per group/version).
