#!/bin/sh
# Installs what the live-capture tests need on a fresh Debian/Ubuntu machine (run as root):
# tcpreplay (replays corpus traces into a veth), ethtool (offloads off), iproute2 (netns, veth).
# Idempotent; prints what it installed. The tests call it themselves when a tool is missing.
set -e
missing=""
command -v tcpreplay >/dev/null 2>&1 || missing="$missing tcpreplay"
command -v ethtool >/dev/null 2>&1 || missing="$missing ethtool"
command -v ip >/dev/null 2>&1 || missing="$missing iproute2"
if [ -n "$missing" ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    # shellcheck disable=SC2086
    apt-get install -y -qq --no-install-recommends $missing >/dev/null
    echo "setup.sh: installed$missing"
fi
# libpcap (for -f filters) comes with tcpreplay.
command -v tcpreplay >/dev/null && command -v ethtool >/dev/null && command -v ip >/dev/null
