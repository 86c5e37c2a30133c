//! Namespace policy annotations (permitted role ARNs and key names).
