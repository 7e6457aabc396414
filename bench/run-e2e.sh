#!/usr/bin/env bash
# weir's end-to-end benchmark, one command:
#   bench/run-e2e.sh
# builds weir (release) and weir-gen/weir-bench, generates the workload (or reuses it from
# bench/data/), runs weir over it with 1 and 2 workers, --analyzers none and all, a few times
# each, and prints the table (packets/s, Gbit/s, ns/packet, CPU, peak RSS, ratio to the floor).
#
# Environment (all optional):
#   WORKLOAD=gen                                gen: weir-gen's synthetic traffic; real: a real capture
#                                               (bench/real/real.sh), multiplied (needs root the first time)
#   PACKETS=1000000  SEED=1  CONNECTIONS=1000   the gen workload (cached by these three values)
#   COPIES=50  STAGGER=0.25                     the real workload: copies of the session, seconds
#                                               between the copies' starts
#   PCAP=file.pcap                              benchmark this file instead (no workload is made)
#   REPEAT=3                                    runs per configuration
#   WORKERS=1,2  ANALYZERS=none,all             the configurations
#   WEIR=path/to/weir                           benchmark this binary instead of building one
#   BENCH_TARGET_DIR=/work/target-bench         cargo target dir for weir-bench
#   MARKDOWN=out.md                             also write the table there
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
PACKETS="${PACKETS:-1000000}"
SEED="${SEED:-1}"
CONNECTIONS="${CONNECTIONS:-1000}"
REPEAT="${REPEAT:-3}"
WORKERS="${WORKERS:-1,2}"
ANALYZERS="${ANALYZERS:-none,all}"

# shellcheck source=bench/lib.sh
source "$here/lib.sh"

mkdir -p "$here/data"
if [[ -n "${PCAP:-}" ]]; then
    pcap="$PCAP"
elif [[ "${WORKLOAD:-gen}" == real ]]; then
    COPIES="${COPIES:-50}"
    export STAGGER="${STAGGER:-0.25}"
    # One captured session, kept until deleted (a new capture differs: it is real traffic), and its
    # multiplied file, keyed by the session's hash, the copies and the stagger.
    session="$here/data/real-session.pcap"
    if [[ ! -s "$session" ]]; then
        echo "== capturing $session (bench/real/real.sh capture)" >&2
        "$here/real/real.sh" capture "$session"
    fi
    shash="$(sha256sum "$session" | cut -c1-12)"
    pcap="$here/data/real-x${COPIES}-s${STAGGER}-${shash}.pcap"
    if [[ -s "$pcap" ]]; then
        echo "== reusing $pcap" >&2
    else
        find "$here/data" -maxdepth 1 -name 'real-x*.pcap' -delete
        echo "== multiplying $session x$COPIES into $pcap" >&2
        "$here/real/real.sh" multiply "$session" "$pcap" "$COPIES"
    fi
else
    # The cache key includes a hash of the generator's sources: a changed generator makes a new file
    # (and the files an older generator made are removed).
    srchash="$(cd "$here/src" && cat rng.rs pcap.rs pkt.rs dns.rs tls.rs gen.rs bin/weir-gen.rs |
        sha256sum | cut -c1-12)"
    pcap="$here/data/gen-s${SEED}-p${PACKETS}-c${CONNECTIONS}-${srchash}.pcap"
    if [[ -s "$pcap" ]]; then
        echo "== reusing $pcap" >&2
    else
        find "$here/data" -maxdepth 1 -name 'gen-*.pcap' ! -name "gen-*-${srchash}.pcap" -delete
        echo "== generating $pcap" >&2
        "$GEN" --seed "$SEED" --packets "$PACKETS" --connections "$CONNECTIONS" --out "$pcap.tmp"
        mv "$pcap.tmp" "$pcap"
    fi
fi

echo "== machine" >&2
model="$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//' || true)"
mem="$(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo 2>/dev/null || true)"
echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "machine: $(nproc) CPUs ($model), $mem memory, Linux $(uname -r)"
echo "weir: $WEIR ($(cd "$root" && git rev-parse --short HEAD 2>/dev/null || echo '?')$(cd "$root" && git diff --quiet 2>/dev/null || echo ', work tree with uncommitted changes'))"
echo
args=(e2e --pcap "$pcap" --weir "$WEIR" --repeat "$REPEAT" --workers "$WORKERS" --analyzers "$ANALYZERS")
if [[ -n "${MARKDOWN:-}" ]]; then args+=(--markdown "$MARKDOWN"); fi
"$BENCH" "${args[@]}"
