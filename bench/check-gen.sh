#!/usr/bin/env bash
# Validates weir-gen's output outside weir-gen: tshark (when installed) must find no malformed
# packet, no bad checksum and no expert error; weir must log no checksum weird.
#   bench/check-gen.sh [PACKETS] [extra weir-gen options, e.g. --vxlan]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
packets="${1:-50000}"
shift || true
BENCH_TARGET_DIR="${BENCH_TARGET_DIR:-${CARGO_TARGET_DIR:-$root/target}}"
(cd "$root" && CARGO_TARGET_DIR="$BENCH_TARGET_DIR" cargo build --release -p weir-bench >&2)
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
f="$tmp/check.pcap"
"$BENCH_TARGET_DIR/release/weir-gen" --packets "$packets" --connections 300 --out "$f" "$@"
status=0
if command -v tshark >/dev/null; then
    tshark -o tcp.reassemble_out_of_order:TRUE -r "$f" -q -z io,phs 2>/dev/null
    "$here/tshark-check.sh" "$f" || status=1
else
    echo "tshark: not installed (apt-get install -y tshark), skipped"
fi
weir="${WEIR:-$root/target/release/weir}"
if [[ -x "$weir" ]]; then
    "$weir" -r "$f" --logdir "$tmp/logs" -q
    echo "weir: $(grep -vc '^#' "$tmp/logs/conn.log" || true) conn.log lines"
    if [[ -f "$tmp/logs/weird.log" ]]; then
        echo "weir: weird.log names:"
        grep -o '"name":"[^"]*"' "$tmp/logs/weird.log" | sort | uniq -c | sort -rn
        if grep -q 'checksum' "$tmp/logs/weird.log"; then status=1; fi
    else
        echo "weir: no weird.log"
    fi
    echo "weir: conn_state counts:"
    grep -o '"conn_state":"[^"]*"' "$tmp/logs/conn.log" | sort | uniq -c | sort -rn
else
    echo "weir: $weir not built, skipped"
fi
exit $status
