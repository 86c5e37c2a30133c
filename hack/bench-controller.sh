#!/usr/bin/env bash
# Controller benchmark: N ExternalSecrets on the Fake provider in the in-process simulator, with
# the real `controller run` binary as a child process (so its peak RSS is its own). Prints time
# to all-Ready, controller peak RSS, provider calls (from its /metrics), reconciles and API
# writes (from the simulator) for the cold sync and for one idle refresh cycle. Never asserts.
#
#   hack/bench-controller.sh                      # N=1000 and N=10000, release build
#   N="500 2000" REFRESH=60 CONCURRENT=8 KEYS=50 hack/bench-controller.sh
#   PROFILE=dev hack/bench-controller.sh          # reuse the debug build (no release artefacts)
#
# KEYS: distinct remote keys (default N/10; ExternalSecret i reads key i % KEYS).
#
# Figures (2 shared CPU cores, release, concurrent=4; see FIGURES below for the latest run):
#   before: N=1000 cold sync did not finish: 902/1000 Ready after 221 s, the rate falling from
#           17/s to 0.7/s. perf: 86 % of CPU in the simulator's built-in controllers, which
#           deep-copied every stored object under the global lock after every write (O(N) per
#           write, O(N²) per sync). The controller's Secret→ExternalSecret mapping also scanned
#           every ExternalSecret per Secret event, and every idle refresh wrote status.refreshTime.
#   after:  see FIGURES.
set -euo pipefail
cd "$(dirname "$0")/.."
N_LIST=${N:-"1000 10000"}
REFRESH=${REFRESH:-60}
CONCURRENT=${CONCURRENT:-4}
PROFILE=${PROFILE:-release}
if [ "$PROFILE" = "release" ]; then
  cargo build --release -p tests --example bench_controller -p controller --bin controller
  DIR=./target/release
else
  cargo build -p tests --example bench_controller -p controller --bin controller
  DIR=./target/debug
fi
for n in $N_LIST; do
  keys=${KEYS:-$(( n / 10 > 0 ? n / 10 : 1 ))}
  "$DIR/examples/bench_controller" "$n" "$REFRESH" "$CONCURRENT" "$keys" "$DIR/controller"
done
