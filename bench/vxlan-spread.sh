#!/usr/bin/env bash
# The VXLAN mirror benchmark (issue 6): one outer VXLAN flow carrying every connection of the generated
# workload, as a cloud traffic mirror delivers it. Runs `weir -r` with 1 and 2 workers (all analyzers),
# prints time, CPU and peak memory of each run, each worker's share of the packets (the innermost
# packets go to the worker of their own 5-tuple; the dispatcher's carrier analyses the outer flow),
# and checks that every log holds the same rows for both worker counts.
#
#   bench/vxlan-spread.sh
#
# Environment (all optional):
#   PACKETS=300000  SEED=7  CONNECTIONS=1000   the workload (weir-gen --vxlan)
#   WORKERS="1 2"                             worker counts to run
#   WEIR=path/to/weir                         benchmark this binary instead of building one
#   BENCH_TARGET_DIR=/work/target-bench       cargo target dir for weir-gen/weir-bench
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
PACKETS="${PACKETS:-300000}"
SEED="${SEED:-7}"
CONNECTIONS="${CONNECTIONS:-1000}"
WORKERS="${WORKERS:-1 2}"

# shellcheck source=bench/lib.sh
source "$here/lib.sh"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
pcap="$work/vxlan.pcap"
"$GEN" --seed "$SEED" --packets "$PACKETS" --connections "$CONNECTIONS" --vxlan --out "$pcap" -q
echo "workload: weir-gen --seed $SEED --packets $PACKETS --connections $CONNECTIONS --vxlan ($(du -h "$pcap" | cut -f1))"
echo "machine: $(nproc) CPUs, weir $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
echo
first=""
for w in $WORKERS; do
    out="$work/logs-$w"
    m="$("$BENCH" run -- "$WEIR" -r "$pcap" --logdir "$out" --workers "$w" 2>"$work/stderr-$w")"
    echo "== --workers $w: $m"
    # weir's summary: each worker's packets (and how many of them were innermost packets of tunnels).
    grep -E '^weir: (worker|[0-9]+ packets)' "$work/stderr-$w" | sed 's/; /\n      /g'
    if [[ -z "$first" ]]; then
        first="$w"
        continue
    fi
    for f in "$work/logs-$first"/*.log; do
        name="$(basename "$f")"
        if cmp -s <(sort "$f") <(sort "$out/$name"); then
            echo "   $name: same rows as --workers $first"
        else
            echo "   $name: DIFFERS from --workers $first" >&2
            exit 1
        fi
    done
done
