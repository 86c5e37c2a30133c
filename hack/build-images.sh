#!/usr/bin/env bash
# Builds both container images from the workspace Dockerfile (needs a Docker/BuildKit engine).
#   REGISTRY=ghcr.io/me TAG=v0.1.0 hack/build-images.sh [--push]
set -euo pipefail
cd "$(dirname "$0")/.."
registry=${REGISTRY:-ghcr.io/rust-eso}
tag=${TAG:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}
for target in controller webhook; do
  docker build --target "$target" -t "$registry/$target:$tag" .
  if [ "${1:-}" = "--push" ]; then docker push "$registry/$target:$tag"; fi
done
