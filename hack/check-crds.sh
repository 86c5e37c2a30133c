#!/usr/bin/env bash
# Fails when crds/ differs from what the Rust types generate.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cargo run --quiet --locked -p shared --bin crdgen -- --out "$tmp"
if ! diff -r "$tmp" crds >/dev/null; then
  echo "crds/ is stale: run 'cargo run -p shared --bin crdgen' and commit the result" >&2
  diff -ru crds "$tmp" | head -50 >&2
  exit 1
fi
echo "crds/ up to date"
