#!/usr/bin/env bash
# Controller benchmark: N ExternalSecrets on the Fake provider in the in-process simulator.
# Prints time to all-Ready, peak RSS, provider calls and API writes for the cold sync and for one
# idle refresh cycle. Never asserts.
#
#   hack/bench-controller.sh            # N=1000 and N=10000
#   N="500 2000" REFRESH=20 CONCURRENT=8 hack/bench-controller.sh
set -euo pipefail
cd "$(dirname "$0")/.."
N_LIST=${N:-"1000 10000"}
REFRESH=${REFRESH:-30}
CONCURRENT=${CONCURRENT:-4}
cargo build --release -p tests --example bench_controller
for n in $N_LIST; do
  ./target/release/examples/bench_controller "$n" "$REFRESH" "$CONCURRENT"
done
