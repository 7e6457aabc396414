#!/usr/bin/env bash
# tshark's verdict on a capture: prints the packets tshark finds malformed, with a bad IP/TCP/UDP
# checksum or with an expert error (the first 20), then their count; exits 1 when there are any.
#   bench/tshark-check.sh FILE.pcap
# Out-of-order reassembly on: segments lost before the sensor arrive later as retransmissions, and
# without it tshark's TLS/HTTP dissectors lose their place in the stream at the gap.
set -euo pipefail
f="$1"
bad="$(mktemp)"
trap 'rm -f "$bad"' EXIT
tshark -o tcp.reassemble_out_of_order:TRUE -o tcp.check_checksum:TRUE -o udp.check_checksum:TRUE \
    -o ip.check_checksum:TRUE -Y '_ws.malformed || _ws.expert.severity >= error' -r "$f" \
    2> >(grep -v 'Running as user' >&2) >"$bad"
n="$(wc -l <"$bad")"
head -20 "$bad"
echo "tshark: $n malformed/bad-checksum/error packets in $f"
[[ "$n" == 0 ]]
