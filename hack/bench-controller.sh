#!/usr/bin/env bash
# Controller benchmark: N ExternalSecrets on the Fake provider in the in-process simulator.
# Prints time to all-Ready, peak RSS, provider calls and API writes for the cold sync and for one
# idle refresh cycle. Never asserts.
#
#   hack/bench-controller.sh                      # N=1000 and N=10000, release build
#   N="500 2000" REFRESH=20 CONCURRENT=8 hack/bench-controller.sh
#   PROFILE=dev hack/bench-controller.sh          # reuse the debug build (no release artefacts)
#   VARIANT=vault N=1000 hack/bench-controller.sh # against OpenBao (needs `bao`, see setup-tools):
#                                                 # cold-sync time, Vault requests per refresh
#
# Peak RSS is the whole process: simulator and controller together.
set -euo pipefail
cd "$(dirname "$0")/.."
N_LIST=${N:-"1000 10000"}
REFRESH=${REFRESH:-30}
CONCURRENT=${CONCURRENT:-4}
PROFILE=${PROFILE:-release}
VARIANT=${VARIANT:-fake}
case "$VARIANT" in
  fake) EXAMPLE=bench_controller ;;
  vault)
    EXAMPLE=bench_controller_vault
    N_LIST=${N:-1000}
    if [ -n "${ESO_VENV:-}" ]; then export PATH="$ESO_VENV/bin:$PATH"; fi
    ;;
  *) echo "unknown VARIANT=$VARIANT (fake or vault)" >&2; exit 2 ;;
esac
if [ "$PROFILE" = "release" ]; then
  cargo build --release -p tests --example "$EXAMPLE"
  BIN=./target/release/examples/$EXAMPLE
else
  cargo build -p tests --example "$EXAMPLE"
  BIN=./target/debug/examples/$EXAMPLE
fi
for n in $N_LIST; do
  "$BIN" "$n" "$REFRESH" "$CONCURRENT"
done
