#!/usr/bin/env bash
# The whole test suite, as CI runs it: tools, formatting, lints, CRD drift, dependency policy, tests.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=$(hack/setup-tools.sh)
export PATH="$venv/bin:$PATH" ESO_VENV="$venv"
# Go is an offline test oracle only: never fetch toolchains or modules.
export GOTOOLCHAIN=local GOPROXY=off GOFLAGS=-mod=mod GOCACHE="${GOCACHE:-$PWD/target/go-cache}"

echo "== fmt"; cargo fmt --all --check
echo "== clippy"; cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== crd drift"; hack/check-crds.sh
echo "== dependency policy"
for bad in ring openssl-sys; do
  # `cargo tree -i X` prints nothing (exit 0) when X is absent from the graph, and errors when X
  # is not in Cargo.lock at all: only output means the crate is really there.
  users=$(cargo tree --workspace --locked -e normal,build,dev -i "$bad" 2>/dev/null || true)
  if [ -n "$users" ]; then
    echo "forbidden dependency in tree: $bad"; echo "$users"; exit 1
  fi
done
echo "== tests"
if command -v cargo-nextest >/dev/null; then
  cargo nextest run --workspace --locked --no-fail-fast --success-output never --failure-output final
  cargo test --workspace --locked --doc
else
  cargo test --workspace --locked --no-fail-fast
fi
