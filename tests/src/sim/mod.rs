//! In-process Kubernetes API simulator (kubesim).
