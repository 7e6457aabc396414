#!/usr/bin/env bash
# Real traffic for weir's benchmark: real clients and servers talking across a veth pair between two
# network namespaces, captured with tcpdump, then multiplied into a large file.
#
#   bench/real/real.sh capture OUT.pcap              capture one session (about 20 s; root)
#   bench/real/real.sh multiply IN.pcap OUT.pcap N   N copies of IN, each with its own addresses and
#                                                    shifted in time, merged into one time-ordered file
#   bench/real/real.sh check FILE.pcap               tshark's checksum/malformed check (as check-gen.sh)
#   bench/real/real.sh deps                          install what the other commands need (Debian, root)
#
# Environment: STAGGER=0.25 (seconds between the starts of two copies: the copies overlap, so about
# capture-duration / STAGGER sessions are in flight at once), BULK=5 (MiB per bulk TCP transfer).
#
# The session (client 10.77.0.2 and fd77::2, 10.77.0.3-.6 as extra client addresses, server 10.77.0.1 and
# fd77::1; 5 ms of delay each way with netem where the kernel has it, so RTT 10 ms; offloads off, so frames are
# MTU-sized and checksums are real):
#   - dig against dnsmasq serving a local zone (example.com, example.org): A, AAAA, MX, TXT, SRV, CNAME, PTR,
#     names that do not exist (NXDOMAIN), names outside the zone (REFUSED: no upstream), over UDP and TCP,
#     IPv4 and IPv6; one query to a closed port (ICMP port unreachable)
#   - curl and openssl s_client against openssl s_server (-WWW) on 443 with a generated chain
#     (root CA -> intermediate CA -> leaf with SANs, RSA 2048 and ECDSA P-256 leaves): TLS 1.3 and TLS 1.2,
#     several cipher suites, session resumption, IPv4 and IPv6
#   - bulk TCP: iperf3 both directions, an HTTP download from python3's http.server
#   - ICMP echo over IPv4 and IPv6 (and the ARP / neighbour discovery that comes with it)
# Everything it starts (namespaces, daemons, tcpdump) is stopped on exit, also on error.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
SRV=weirbench-srv
CLI=weirbench-cli
STAGGER="${STAGGER:-0.25}"
BULK="${BULK:-5}"

die() {
    echo "real.sh: $*" >&2
    exit 1
}

# Installs the Debian packages for the commands missing on PATH.
deps() {
    local -A pkg=(
        [tcpdump]=tcpdump [dig]=bind9-dnsutils [dnsmasq]=dnsmasq-base [openssl]=openssl [curl]=curl
        [iperf3]=iperf3 [ping]=iputils-ping [ethtool]=ethtool [ip]=iproute2 [tc]=iproute2
        [tcprewrite]=tcpreplay [editcap]=wireshark-common [mergecap]=wireshark-common
        [capinfos]=wireshark-common [python3]=python3 [tshark]=tshark
    )
    local missing=() cmd
    for cmd in "${!pkg[@]}"; do
        PATH="$PATH:/usr/sbin:/sbin" command -v "$cmd" >/dev/null || missing+=("${pkg[$cmd]}")
    done
    if ((${#missing[@]})); then
        [[ $EUID == 0 ]] || die "missing ${missing[*]} and not root: install them first"
        echo "== installing ${missing[*]}" >&2
        apt-get update -qq >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
            $(printf '%s\n' "${missing[@]}" | sort -u) >&2
    fi
}

pids=()
work=""
cleanup() {
    local p
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
    ip netns del "$SRV" 2>/dev/null || true
    ip netns del "$CLI" 2>/dev/null || true
    [[ -z "$work" ]] || rm -rf "$work"
}

in_srv() { ip netns exec "$SRV" "$@"; }
in_cli() { ip netns exec "$CLI" "$@"; }

# Starts a server in the server namespace in the background and remembers its pid.
serve() {
    ip netns exec "$SRV" "$@" >>"$work/servers.log" 2>&1 &
    pids+=($!)
}

# Root CA -> intermediate CA -> two leaves (RSA and ECDSA) for www.example.com and friends.
make_certs() {
    local d="$work/pki"
    mkdir -p "$d"
    cd "$d"
    openssl req -x509 -newkey rsa:2048 -nodes -keyout root.key -out root.pem -days 3650 -sha256 \
        -subj "/C=US/O=Weir Bench Trust/CN=Weir Bench Root CA" \
        -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -keyout int.key -out int.csr \
        -subj "/C=US/O=Weir Bench Trust/CN=Weir Bench Issuing CA 1" 2>/dev/null
    printf 'basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\n' >int.ext
    openssl x509 -req -in int.csr -CA root.pem -CAkey root.key -CAcreateserial -days 1825 -sha256 \
        -extfile int.ext -out int.pem 2>/dev/null
    local kind
    for kind in rsa ec; do
        if [[ $kind == rsa ]]; then
            openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out $kind.key 2>/dev/null
        else
            openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out $kind.key 2>/dev/null
        fi
        openssl req -new -key $kind.key -out $kind.csr \
            -subj "/C=US/ST=California/O=Example Inc/CN=www.example.com" 2>/dev/null
        printf '%s\n' "subjectAltName=DNS:www.example.com,DNS:example.com,DNS:api.example.com,IP:10.77.0.1" \
            "basicConstraints=CA:FALSE" "keyUsage=critical,digitalSignature,keyEncipherment" \
            "extendedKeyUsage=serverAuth" >$kind.ext
        openssl x509 -req -in $kind.csr -CA int.pem -CAkey int.key -CAcreateserial -days 397 -sha256 \
            -extfile $kind.ext -out $kind.pem 2>/dev/null
    done
    cd - >/dev/null
}

# The names dig asks for: "name type" per line, realistic mix of hits, misses and other zones.
dns_queries() {
    local n t
    for n in www.example.com example.com api.example.com mail.example.com cdn.example.com static.example.com \
        login.example.com vpn.example.org www.example.org git.example.org ntp.example.org; do
        for t in A AAAA; do echo "$n $t"; done
    done
    for n in example.com example.org; do
        for t in MX TXT NS SOA; do echo "$n $t"; done
    done
    echo "_sip._tcp.example.com SRV"
    echo "_ldap._tcp.example.org SRV"
    echo "_dmarc.example.com TXT"
    echo "1.0.77.10.in-addr.arpa PTR"
    echo "2.0.77.10.in-addr.arpa PTR"
    for n in wpad.example.com printer7.example.com old-intranet.example.org xn--bcher-kva.example.com; do
        echo "$n A"
    done
    for n in www.google.com detectportal.firefox.com connectivity-check.ubuntu.com; do echo "$n A"; done
}

capture() {
    local out="$1"
    [[ $EUID == 0 ]] || die "capture needs root (network namespaces)"
    deps
    work="$(mktemp -d)"
    trap cleanup EXIT
    make_certs
    local pki="$work/pki"

    echo "== namespaces $SRV and $CLI, veth srv0 <-> cli0" >&2
    ip netns add "$SRV"
    ip netns add "$CLI"
    ip link add srv0 netns "$SRV" type veth peer name cli0 netns "$CLI"
    in_srv ip link set lo up
    in_cli ip link set lo up
    in_srv ip addr add 10.77.0.1/24 dev srv0
    in_srv ip addr add fd77::1/64 dev srv0 nodad
    in_cli ip addr add 10.77.0.2/24 dev cli0
    local a
    for a in 3 4 5 6; do in_cli ip addr add 10.77.0.$a/24 dev cli0; done
    in_cli ip addr add fd77::2/64 dev cli0 nodad
    # No duplicate address detection: its probes come from the unspecified address ::, which multiply
    # cannot renumber, so every copy would carry the same packets (one connection across copies).
    in_srv sh -c 'echo 0 >/proc/sys/net/ipv6/conf/srv0/accept_dad'
    in_cli sh -c 'echo 0 >/proc/sys/net/ipv6/conf/cli0/accept_dad'
    # Offloads off: without it the capture holds 64 KiB GSO "frames" and unfinished checksums.
    in_srv ethtool -K srv0 tx off tso off gso off gro off >/dev/null 2>&1 || true
    in_cli ethtool -K cli0 tx off tso off gso off gro off >/dev/null 2>&1 || true
    in_srv ip link set srv0 up
    in_cli ip link set cli0 up
    if in_srv tc qdisc add dev srv0 root netem delay 5ms rate 1gbit 2>/dev/null &&
        in_cli tc qdisc add dev cli0 root netem delay 5ms rate 1gbit; then
        echo "== netem: 5 ms each way, 1 Gbit/s" >&2
    else
        echo "== no netem in this kernel (sch_netem): no added delay, RTTs are the veth's microseconds" >&2
    fi

    echo "== servers: dnsmasq, openssl s_server (RSA :443, ECDSA :8443), iperf3, http.server" >&2
    serve dnsmasq --keep-in-foreground --no-resolv --no-hosts --bind-interfaces --listen-address=10.77.0.1 \
        --listen-address=fd77::1 --except-interface=lo --pid-file= --user=root --log-facility=- \
        --local=/example.com/ --local=/example.org/ --local=/77.10.in-addr.arpa/ --domain-needed \
        --host-record=www.example.com,10.77.0.1,fd77::1 --host-record=example.com,10.77.0.1,fd77::1 \
        --host-record=api.example.com,10.77.0.1 --host-record=mail.example.com,10.77.0.1 \
        --host-record=git.example.org,10.77.0.1,fd77::1 --host-record=ntp.example.org,10.77.0.1 \
        --host-record=vpn.example.org,10.77.0.1 --host-record=www.example.org,10.77.0.1,fd77::1 \
        --cname=cdn.example.com,static.example.com --cname=static.example.com,www.example.com \
        --cname=login.example.com,api.example.com \
        --mx-host=example.com,mail.example.com,10 --mx-host=example.org,mail.example.com,20 \
        --txt-record=example.com,"v=spf1 mx ip4:10.77.0.0/24 -all" \
        --txt-record=example.com,"google-site-verification=3Wq8bRz0d9YcKpLx7uN2aTfG5hJmE1sV4oQ6iC8yD0k" \
        --txt-record=_dmarc.example.com,"v=DMARC1; p=quarantine; rua=mailto:dmarc@example.com" \
        --srv-host=_sip._tcp.example.com,www.example.com,5060,10,60 \
        --srv-host=_ldap._tcp.example.org,git.example.org,389 \
        --ptr-record=1.0.77.10.in-addr.arpa,www.example.com
    mkdir -p "$work/www"
    printf '<!doctype html><html><head><title>Example</title></head><body><h1>It works</h1></body></html>\n' \
        >"$work/www/index.html"
    head -c 1048576 /dev/urandom >"$work/www/app.js"
    head -c $((BULK * 1048576)) /dev/urandom >"$work/www/big.iso"
    # s_server -WWW serves files from its working directory, one connection at a time.
    serve env -C "$work/www" openssl s_server -quiet -WWW -accept 443 -cert "$pki/rsa.pem" -key "$pki/rsa.key" \
        -cert_chain "$pki/int.pem"
    serve env -C "$work/www" openssl s_server -quiet -WWW -accept 8443 -cert "$pki/ec.pem" -key "$pki/ec.key" \
        -cert_chain "$pki/int.pem"
    serve iperf3 -s -p 5201
    serve python3 -m http.server 80 --bind :: --directory "$work/www"
    local i
    for i in $(seq 50); do
        if in_cli bash -c 'exec 3<>/dev/tcp/10.77.0.1/443 && exec 3<>/dev/tcp/10.77.0.1/80 &&
            exec 3<>/dev/tcp/10.77.0.1/5201 && exec 3<>/dev/tcp/10.77.0.1/8443' 2>/dev/null; then break; fi
        sleep 0.2
    done
    sleep 1 # the probes above are not part of the capture: their connections close first

    echo "== capturing on srv0 into $out" >&2
    # tcpdump -B: a 64 MiB kernel buffer, so the bulk transfers' bursts are not dropped.
    ip netns exec "$SRV" tcpdump -i srv0 -s 0 -B 65536 -U -Z root -w "$out.tmp" 2>"$work/tcpdump.log" &
    local tcpdump_pid=$!
    pids+=($tcpdump_pid)
    sleep 1

    echo "== ICMP echo" >&2
    in_cli ping -q -c 5 -i 0.2 10.77.0.1 >/dev/null
    in_cli ping -q -6 -c 3 -i 0.2 fd77::1 >/dev/null

    echo "== DNS over UDP and TCP" >&2
    local resolv="$work/queries" n=0 name type src
    dns_queries >"$resolv"
    while read -r name type; do
        src=10.77.0.$((2 + n % 5))
        in_cli dig +tries=1 +time=2 -b "$src" @10.77.0.1 "$name" "$type" >/dev/null || true
        n=$((n + 1))
    done <"$resolv"
    while read -r name type; do
        in_cli dig +tries=1 +time=2 @fd77::1 "$name" "$type" >/dev/null || true
    done < <(head -12 "$resolv")
    while read -r name type; do
        in_cli dig +tcp +tries=1 +time=2 @10.77.0.1 "$name" "$type" >/dev/null || true
    done < <(sed -n '1~4p' "$resolv")
    in_cli dig +tries=1 +time=1 -p 10053 @10.77.0.1 www.example.com A >/dev/null || true # ICMP unreachable

    echo "== TLS: curl and openssl s_client, TLS 1.3 and 1.2" >&2
    local curl=(curl -sS -o /dev/null --cacert "$pki/root.pem" --resolve www.example.com:443:10.77.0.1
        --resolve www.example.com:8443:10.77.0.1 --resolve api.example.com:443:10.77.0.1)
    for i in 1 2 3; do
        in_cli "${curl[@]}" --interface 10.77.0.$((2 + i)) https://www.example.com/index.html \
            https://www.example.com/app.js >/dev/null
        in_cli "${curl[@]}" --tlsv1.2 --tls-max 1.2 https://api.example.com/index.html
        in_cli "${curl[@]}" --tlsv1.2 --tls-max 1.2 --ciphers ECDHE-ECDSA-CHACHA20-POLY1305 \
            https://www.example.com:8443/app.js
        in_cli "${curl[@]}" https://www.example.com:8443/index.html
    done
    in_cli "${curl[@]}" --connect-to "www.example.com:443:[fd77::1]:443" https://www.example.com/index.html
    local v
    for v in -tls1_3 -tls1_2; do
        printf 'GET /index.html HTTP/1.0\r\nHost: www.example.com\r\n\r\n' |
            in_cli openssl s_client -quiet -connect 10.77.0.1:443 -servername www.example.com $v \
                -CAfile "$pki/root.pem" >/dev/null 2>&1 || true
    done
    printf 'GET /index.html HTTP/1.0\r\n\r\n' | in_cli openssl s_client -quiet -connect 10.77.0.1:8443 \
        -servername www.example.com -tls1_2 -cipher ECDHE-ECDSA-AES128-GCM-SHA256 -CAfile "$pki/root.pem" \
        >/dev/null 2>&1 || true
    # A client that does not trust the chain and gives up after the server's certificate (alert).
    in_cli curl -sS -o /dev/null --resolve www.example.com:443:10.77.0.1 https://www.example.com/ 2>/dev/null || true

    echo "== bulk TCP: iperf3 both ways, HTTP download" >&2
    # Paced (iperf3 -b, curl --limit-rate): at the veth's full speed tcpdump drops packets.
    in_cli iperf3 -c 10.77.0.1 -p 5201 -n "${BULK}M" -b 400M >/dev/null
    in_cli iperf3 -c 10.77.0.1 -p 5201 -n "${BULK}M" -b 400M -R >/dev/null
    in_cli curl -sS --limit-rate 50M http://10.77.0.1/big.iso >/dev/null
    in_cli curl -sS -g "http://[fd77::1]/index.html" "http://[fd77::1]/app.js" >/dev/null

    in_cli ping -q -c 3 -i 0.2 10.77.0.1 >/dev/null
    sleep 1
    kill -INT "$tcpdump_pid"
    wait "$tcpdump_pid" || true
    cat "$work/tcpdump.log" >&2
    mv "$out.tmp" "$out"
    capinfos -c -u -d "$out" | sed 1d >&2 || true
}

# N copies of IN: copy k has the session's 10.77.0.0/24 renumbered to 10.(64+k/256).(k%256).0/24, fd77::/64 to
# fd77:0:0:k::/64 and link-local fe80::/64 to fe80:0:0:k::/64, its TCP sequence numbers renumbered with seed k+1
# and its times shifted by k*STAGGER seconds; checksums are recomputed (--fixcsum: otherwise tcprewrite leaves
# ICMPv6 checksums, whose pseudo-header holds the addresses, stale). Addresses quoted inside ICMP errors keep
# the session's originals (tcprewrite does not rewrite them).
multiply() {
    local in="$1" out="$2" copies="$3" k
    [[ "$copies" =~ ^[0-9]+$ && "$copies" -ge 1 && "$copies" -le 16384 ]] || die "copies: 1..16384"
    deps
    work="$(mktemp -d "$(dirname "$out")/.multiply.XXXXXX")"
    trap cleanup EXIT
    local files=()
    for ((k = 0; k < copies; k++)); do
        local net4="10.$((64 + k / 256)).$((k % 256)).0/24" net6 ll6
        net6="fd77:0:0:$(printf '%x' "$k")::/64"
        ll6="fe80:0:0:$(printf '%x' "$k")::/64" # neighbour discovery, router solicitations
        tcprewrite --pnat="10.77.0.0/24:$net4,[fd77::/64]:[$net6],[fe80::/64]:[$ll6]" \
            --tcp-sequence=$((k + 1)) --fixcsum -i "$in" -o "$work/r$k.pcap"
        editcap -F pcap -t "$(awk -v k="$k" -v s="$STAGGER" 'BEGIN { printf "%.6f", k * s }')" \
            "$work/r$k.pcap" "$work/c$k.pcap"
        rm "$work/r$k.pcap"
        files+=("$work/c$k.pcap")
        if ((k % 20 == 19)); then echo "== $((k + 1))/$copies copies" >&2; fi
    done
    echo "== merging $copies copies into $out" >&2
    mergecap -F pcap -w "$out.tmp" "${files[@]}"
    mv "$out.tmp" "$out"
    capinfos -c -u -d "$out" | sed 1d >&2 || true
}

check() {
    deps
    "$here/../tshark-check.sh" "$1"
}

case "${1:-}" in
    deps) deps ;;
    capture) [[ $# == 2 ]] || die "usage: real.sh capture OUT.pcap"; capture "$2" ;;
    multiply) [[ $# == 4 ]] || die "usage: real.sh multiply IN.pcap OUT.pcap N"; multiply "$2" "$3" "$4" ;;
    check) [[ $# == 2 ]] || die "usage: real.sh check FILE.pcap"; check "$2" ;;
    *) sed -n '2,11p' "$0" >&2; exit 2 ;;
esac
