#!/usr/bin/env bash
# Controller benchmark: N ExternalSecrets on the Fake provider in the in-process simulator.
# Prints time to all-Ready, peak RSS, provider calls and API writes for the cold sync and for one
# idle refresh cycle. Never asserts.
#
#   hack/bench-controller.sh                      # N=1000 and N=10000, release build
#   N="500 2000" REFRESH=20 CONCURRENT=8 hack/bench-controller.sh
#   PROFILE=dev hack/bench-controller.sh          # reuse the debug build (no release artefacts)
#   BENCH=aws hack/bench-controller.sh            # AWS variant: N=1000 ExternalSecrets against moto,
#                                                 # synced by the controller binary; prints cold-sync
#                                                 # time and AWS calls per refresh (needs moto_server)
#
# Peak RSS is the whole process: simulator and controller together.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${BENCH:-fake}" = "aws" ]; then
  PROFILE=${PROFILE:-release}
  flag=""; dir=debug
  if [ "$PROFILE" = "release" ]; then flag=--release; dir=release; fi
  cargo build $flag -p controller --bin controller
  cargo build $flag -p tests --example bench_controller_aws
  for n in ${N:-1000}; do
    "./target/$dir/examples/bench_controller_aws" "./target/$dir/controller" "$n" \
      "${REFRESH:-30}" "${CONCURRENT:-4}" "${SECRETS:-100}"
  done
  exit 0
fi
N_LIST=${N:-"1000 10000"}
REFRESH=${REFRESH:-30}
CONCURRENT=${CONCURRENT:-4}
PROFILE=${PROFILE:-release}
if [ "$PROFILE" = "release" ]; then
  cargo build --release -p tests --example bench_controller
  BIN=./target/release/examples/bench_controller
else
  cargo build -p tests --example bench_controller
  BIN=./target/debug/examples/bench_controller
fi
for n in $N_LIST; do
  "$BIN" "$n" "$REFRESH" "$CONCURRENT"
done
