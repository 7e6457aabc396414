#!/usr/bin/env bash
# Where weir's time per packet goes (issue 7's "the profile that stands in the way"), reproducibly:
#
#   bench/profile.sh
#
# 1. Instruction budget: callgrind counts every instruction weir executes on a generated workload
#    (100,000 packets, seed 1, 1000 concurrent flows), with one worker, --analyzers none and all. The
#    table gives, for each stage of the per-packet path, the instructions it executes per packet,
#    *inclusive* of what it calls (so nested rows are parts of the row above them). Unlike a timing it
#    is the same on every run and every machine with the same build.
# 2. Two workers: instructions per thread (the reading thread, which also runs worker 0, and worker
#    1's thread), the balance that decides how much a second core helps.
# 3. Connection state and caches: the same number of packets with 10 to 10,000 concurrent flows, one
#    worker, --analyzers none; CPU ns per packet (median of REPEAT runs). What grows with the flows is
#    the cost of cache misses on per-connection state.
#
# Environment (all optional): WEIR=path/to/weir (default: build release), BENCH_TARGET_DIR,
# PACKETS=100000 (part 1 and 2), SWEEP_PACKETS=500000 and FLOWS="10 100 1000 10000" (part 3), REPEAT=3.
# Needs valgrind (installed with apt-get when missing and run as root).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
PACKETS="${PACKETS:-100000}"
SWEEP_PACKETS="${SWEEP_PACKETS:-500000}"
FLOWS="${FLOWS:-10 100 1000 10000}"
REPEAT="${REPEAT:-3}"

# shellcheck source=bench/lib.sh
source "$here/lib.sh"
if ! command -v valgrind >/dev/null || ! command -v callgrind_annotate >/dev/null; then
    if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
        echo "== installing valgrind" >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q valgrind >&2
    else
        echo "bench/profile.sh needs valgrind (callgrind)" >&2
        exit 1
    fi
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

pcap="$work/gen.pcap"
"$GEN" --seed 1 --packets "$PACKETS" --connections 1000 --out "$pcap" -q

# The stages, as "indent|label|function" (the function's inclusive count is its row).
stages=(
    "0|whole run|weir_engine::run_offline"
    "1|read the record (mapped)|weir_capture::reader::PcapReader::next_packet"
    "1|one packet, all of it|weir_engine::dispatch::Dispatcher::packet"
    "2|decode link, IP, transport|weir_decode::link::decode_frame_wire"
    "2|connection level|weir_engine::worker::Worker::conn_level"
    "3|transport checksum|weir_decode::checksum::transport_ok"
    "3|TCP state machine|weir_engine::tcp::TcpSession::process"
    "3|stream: reassembly and delivery|weir_engine::worker::stream_reassembled"
    "4|endpoint views for the reassembler|weir_engine::tcp::TcpSession::endpoint_info"
    "4|reassembler: data|weir_reassembly::Reassembler::data_sent"
    "4|reassembler: ACKs|weir_reassembly::Reassembler::ack_received"
    "4|analyzers on TCP streams|weir_engine::analysis::Analysis::stream_data"
    "3|analyzers on datagrams|weir_engine::analysis::Analysis::packet"
    "1|end of input: last connections logged|weir_engine::dispatch::Dispatcher::finish"
    "0|conn.log rows (anywhere)|weir_engine::worker::Worker::log_conn"
)

# inclusive FILE FUNCTION -> the largest inclusive count listed for FUNCTION (its own entry; inlined
# copies elsewhere are listed under their callers' files with smaller counts).
inclusive() {
    awk -v fn="$2" '
        { line = $0; n = $1; gsub(",", "", n) }
        n ~ /^[0-9]+$/ && index(line, ":" fn " [") > 0 { if (n + 0 > best) best = n + 0 }
        END { print best + 0 }' "$1"
}

# totals ANNOTATION -> the instructions callgrind_annotate's output counts for the whole program (or thread).
totals() {
    awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1 }' "$1"
}

echo "date: $(date -u '+%Y-%m-%d %H:%M UTC'); machine: $(nproc) CPUs; weir $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
echo
echo "## Instructions per packet, one worker (callgrind, $PACKETS packets, weir-gen --seed 1 --connections 1000)"
echo
echo "Nested rows are parts of the row above; - : never called. Functions the compiler inlined into their"
echo "callers (the flow table's lookup and timer upkeep in conn_level, the clock's advance in"
echo "Dispatcher::packet) count in their caller's row."
echo
echo "| stage | --analyzers none | --analyzers all |"
echo "|---|---:|---:|"
for a in none all; do
    valgrind --tool=callgrind --callgrind-out-file="$work/cg-$a" \
        "$WEIR" -r "$pcap" --workers 1 --analyzers "$a" --logdir "$work/logs-$a" -q 2>"$work/vg-$a" ||
        { cat "$work/vg-$a" >&2; exit 1; }
    callgrind_annotate --inclusive=yes --threshold=100 "$work/cg-$a" >"$work/inc-$a" 2>/dev/null
done
for s in "${stages[@]}"; do
    IFS='|' read -r indent label fn <<<"$s"
    pad=""
    for ((i = 0; i < indent; i++)); do pad+="&nbsp;&nbsp;"; done
    short="${fn%::*}"; short="${short##*::}::${fn##*::}"
    row="| $pad$label (\`$short\`)"
    for a in none all; do
        n="$(inclusive "$work/inc-$a" "$fn")"
        row+=" | $(awk -v n="$n" -v p="$PACKETS" 'BEGIN { if (n == 0) print "-"; else printf "%.0f", n / p }')"
    done
    echo "$row |"
done
echo
echo "## Two workers: instructions per thread (callgrind --separate-threads, $PACKETS packets)"
echo
echo "| analyzers | reading thread (+ worker 0) | worker 1 | all threads | one worker |"
echo "|---|---:|---:|---:|---:|"
for a in none all; do
    valgrind --tool=callgrind --separate-threads=yes --callgrind-out-file="$work/cg2-$a" \
        "$WEIR" -r "$pcap" --workers 2 --analyzers "$a" --logdir "$work/logs2-$a" -q 2>"$work/vg2-$a" ||
        { cat "$work/vg2-$a" >&2; exit 1; }
    main=0 w1=0 all=0
    for f in "$work"/cg2-"$a"-*; do
        callgrind_annotate "$f" >"$f.txt" 2>/dev/null
        n="$(totals "$f.txt")"
        all=$((all + n))
        if [[ "$f" == *-01 ]]; then
            main=$n
        elif grep -q "run_batch" "$f.txt" && ((n > w1)); then
            w1=$n
        fi
    done
    one="$(totals "$work/inc-$a")"
    echo "| $a | $((main / PACKETS)) | $((w1 / PACKETS)) | $((all / PACKETS)) | $((one / PACKETS)) |"
done
echo
echo "## Concurrent flows and CPU time (one worker, --analyzers none, $SWEEP_PACKETS packets, median of $REPEAT)"
echo
echo "| concurrent flows (weir-gen) | connections | CPU ns/packet |"
echo "|---:|---:|---:|"
for c in $FLOWS; do
    p="$work/c$c.pcap"
    "$GEN" --seed 1 --packets "$SWEEP_PACKETS" --connections "$c" --out "$p" -q
    cpus=()
    for ((r = 0; r < REPEAT; r++)); do
        m="$("$BENCH" run -- "$WEIR" -r "$p" --workers 1 --analyzers none --logdir "$work/logs-c" 2>"$work/err")"
        cpus+=("$(sed -E 's/.*user_s=([0-9.]+) sys_s=([0-9.]+).*/\1 \2/' <<<"$m" | awk '{ print $1 + $2 }')")
    done
    med="$(printf '%s\n' "${cpus[@]}" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')"
    conns="$(sed -nE 's/^weir: [0-9]+ packets, ([0-9]+) connections.*/\1/p' "$work/err")"
    echo "| $c | $conns | $(awk -v s="$med" -v p="$SWEEP_PACKETS" 'BEGIN { printf "%.0f", s * 1e9 / p }') |"
    rm -f "$p"
done
