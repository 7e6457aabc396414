#!/bin/sh
# Highest replay rate weir-live keeps up with, with zero drops, for 1 and 2 workers.
#
# A veth pair in a network namespace; weir-live (release build) captures on one end, tcpreplay
# replays the live tests' synthetic trace (looped) into the other at a fixed packet rate for
# DURATION seconds; a rate passes when the kernel counted no drop on any socket. Needs root.
#
#   bench/live-rate.sh                 # WORKERS="1 2" MODE=cbpf BUFFER=16MiB DURATION=5
#   RATES="50000 100000" bench/live-rate.sh
#
# Results go to stdout as a table and to $OUT (default /tmp/weir-live-rate.md). The ring is kept
# small (BUFFER) so that it cannot hide a rate weir does not sustain over DURATION seconds.
set -eu
cd "$(dirname "$0")/.."
WORKERS=${WORKERS:-"1 2"}
MODE=${MODE:-cbpf}
BUFFER=${BUFFER:-16MiB}
DURATION=${DURATION:-5}
RATES=${RATES:-"100000 200000 300000 400000 500000"}
OUT=${OUT:-/tmp/weir-live-rate.md}
TARGET=${CARGO_TARGET_DIR:-target}
NS=weirbench$$
WORK=$(mktemp -d)

sh engine/live/tests/setup.sh
cargo build --release -p weir-live --example synth_trace >&2
BIN=$TARGET/release/weir-live
"$TARGET/release/examples/synth_trace" "$WORK/trace.pcap" 2000 >&2
PKTS=$(tcpreplay --help >/dev/null 2>&1; python3 -c "
import struct,sys
d=open('$WORK/trace.pcap','rb').read();o=24;n=0
while o+16<=len(d):
    cl=struct.unpack('<I',d[o+8:o+12])[0];o+=16+cl;n+=1
print(n)")

cleanup() { ip netns del $NS 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
ip netns add $NS
ip -n $NS link add va numrxqueues 4 numtxqueues 4 type veth peer name vb numrxqueues 4 numtxqueues 4
for v in va vb; do
    ip netns exec $NS sysctl -qw net.ipv6.conf.$v.disable_ipv6=1
    ip netns exec $NS ethtool -K $v tso off gso off gro off >/dev/null
    ip -n $NS link set $v mtu 16000 up
done

run_one() { # workers rate(pps or "top") -> prints "sent received drops achieved_pps"
    w=$1; rate=$2
    rm -rf "$WORK/logs" "$WORK/ready"
    if [ "$rate" = top ]; then loops=20; speed="--topspeed"; else
        loops=$(( (rate * DURATION + PKTS - 1) / PKTS )); speed="--pps=$rate"; fi
    ip netns exec $NS "$BIN" -i va -w "$w" --pin "0-$((w - 1))" --fanout "$MODE" --buffer-size "$BUFFER" --stats-interval 0 \
        -l "$WORK/logs" --ready-file "$WORK/ready" 2>"$WORK/err" &
    pid=$!
    while [ ! -e "$WORK/ready" ]; do sleep 0.05; done
    ip netns exec $NS tcpreplay -i vb --preload-pcap $speed --loop="$loops" "$WORK/trace.pcap" >"$WORK/replay" 2>&1
    sleep 1.5
    kill -INT $pid; wait $pid || true
    sent=$(sed -n 's/.*Successful packets: *\([0-9]*\).*/\1/p' "$WORK/replay")
    achieved=$(sed -n 's/.*Rated: .*, \([0-9.]*\) pps.*/\1/p' "$WORK/replay" | head -1)
    recv=$(sed -n 's/^total received=\([0-9]*\) dropped=\([0-9]*\).*/\1/p' "$WORK/err")
    drops=$(sed -n 's/^total received=\([0-9]*\) dropped=\([0-9]*\).*/\2/p' "$WORK/err")
    echo "$sent $recv $drops ${achieved%.*}"
}

{
echo "weir-live, fanout $MODE, ring $BUFFER per socket, ${DURATION}s per rate, trace of $PKTS packets looped; $(nproc) cores, kernel $(uname -r)"
echo
echo "| workers | target pps | achieved pps | sent | received | dropped |"
echo "|---|---|---|---|---|---|"
} | tee "$OUT"
for w in $WORKERS; do
    best=0
    for r in $RATES top; do
        set -- $(run_one "$w" "$r")
        echo "| $w | $r | $4 | $1 | $2 | $3 |" | tee -a "$OUT"
        if [ "$3" = 0 ] && [ "$4" -gt "$best" ]; then best=$4; fi
    done
    echo "workers=$w: highest replay rate with zero drops: $best pps" >>"$OUT.summary"
done
echo | tee -a "$OUT"
cat "$OUT.summary" | tee -a "$OUT"; rm -f "$OUT.summary"
