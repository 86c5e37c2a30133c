#!/usr/bin/env bash
# Load benchmark of the webhook server against a bare axum+rustls handler (release build).
# Arguments pass through, e.g. --requests 20000 --paced-requests 10000 --rate 1000 --connections 16.
# Prints p50/p99 latency, req/s, the ratio to the bare handler and the server's RSS; asserts nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo bench -p webhook --bench load -- "$@"
