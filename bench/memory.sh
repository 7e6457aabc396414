#!/usr/bin/env bash
# Memory benchmark (issue 7): what one tracked connection costs, and that memory does not grow with
# the input's length.
#
#   bench/memory.sh
#
# 1. Concurrency sweep: generated workloads with 1,000 / 10,000 / 50,000 concurrent flows; `weir -r` on
#    one worker, --analyzers none and all; peak RSS (wait4's ru_maxrss) against the most connections
#    tracked at once (weir's summary line). The cost per connection is the slope between the smallest
#    and the largest workload.
# 2. Length sweep: 1,000 concurrent flows, 250,000 / 1,000,000 / 2,000,000 packets: peak RSS should
#    not grow with the number of packets.
#
# Environment (all optional): WEIR=path/to/weir (default: build release), BENCH_TARGET_DIR (where
# weir-gen/weir-bench are built), CONCURRENCY="1000 10000 50000", LENGTHS="250000 1000000 2000000".
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
CONCURRENCY="${CONCURRENCY:-1000 10000 50000}"
LENGTHS="${LENGTHS:-250000 1000000 2000000}"

# shellcheck source=bench/lib.sh
source "$here/lib.sh"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# run PCAP ANALYZERS -> "peak_rss_kib tracked_peak connections"
run() {
    local m err
    m="$("$BENCH" run -- "$WEIR" -r "$1" --logdir "$work/logs" --workers 1 --analyzers "$2" 2>"$work/err")"
    err="$(grep -E '^weir: [0-9]+ packets' "$work/err")"
    local rss tracked conns
    rss="$(sed -E 's/.*maxrss_kib=([0-9]+).*/\1/' <<<"$m")"
    tracked="$(sed -E 's/.*at most ([0-9]+) tracked.*/\1/' <<<"$err")"
    conns="$(sed -E 's/^weir: [0-9]+ packets, ([0-9]+) connections.*/\1/' <<<"$err")"
    echo "$rss $tracked $conns"
}

echo "date: $(date -u '+%Y-%m-%d %H:%M UTC'); machine: $(nproc) CPUs; weir $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
echo
echo "## Concurrency sweep (one worker)"
echo
echo "| concurrent flows (weir-gen) | packets | analyzers | connections | most tracked at once | peak RSS MiB |"
echo "|---:|---:|---|---:|---:|---:|"
declare -A first last
for c in $CONCURRENCY; do
    packets=$((c * 20 > 400000 ? c * 20 : 400000))
    pcap="$work/c$c.pcap"
    "$GEN" --seed 11 --packets "$packets" --connections "$c" --out "$pcap" -q
    for a in none all; do
        read -r rss tracked conns <<<"$(run "$pcap" "$a")"
        printf '| %s | %s | %s | %s | %s | %.1f |\n' "$c" "$packets" "$a" "$conns" "$tracked" "$(echo "$rss/1024" | bc -l)"
        [[ -z "${first[$a]:-}" ]] && first[$a]="$rss $tracked"
        last[$a]="$rss $tracked"
    done
    rm -f "$pcap"
done
echo
for a in none all; do
    read -r r0 t0 <<<"${first[$a]}"
    read -r r1 t1 <<<"${last[$a]}"
    if ((t1 > t0)); then
        printf -- '- --analyzers %s: %.0f bytes of peak RSS per tracked connection (slope between %s and %s tracked)\n' \
            "$a" "$(echo "($r1 - $r0) * 1024 / ($t1 - $t0)" | bc -l)" "$t0" "$t1"
    fi
done
echo
echo "## Length sweep (1000 concurrent flows, one worker)"
echo
echo "| packets | analyzers | connections | most tracked at once | peak RSS MiB |"
echo "|---:|---|---:|---:|---:|"
for n in $LENGTHS; do
    pcap="$work/n$n.pcap"
    "$GEN" --seed 12 --packets "$n" --connections 1000 --out "$pcap" -q
    for a in none all; do
        read -r rss tracked conns <<<"$(run "$pcap" "$a")"
        printf '| %s | %s | %s | %s | %.1f |\n' "$n" "$a" "$conns" "$tracked" "$(echo "$rss/1024" | bc -l)"
    done
    rm -f "$pcap"
done
