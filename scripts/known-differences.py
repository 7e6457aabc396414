#!/usr/bin/env python3
"""Drafts testdata/known-differences.tsv from a weir-golden report.

Developer tool: run
    cargo run -p weir-golden -- --weir target/ci/weir --tier core,ext --workers 1,4 --diffs 50 > /tmp/g.md
    scripts/known-differences.py /tmp/g.md > /tmp/kd.tsv
then review every line before it replaces testdata/known-differences.tsv: the reasons are derived from
what differs (which log, which fields), and a human must confirm each one.
"""
import re
import sys

report = open(sys.argv[1]).read()
files = re.findall(r"^\| (\S+) \| (\S+) \| (\S+) \| (FAIL|unsupported) \| [^|]* \| (.*) \|$", report, re.M)
sections = {}
for m in re.finditer(r"^#### (\S+) (\S+)\n(.*?)(?=^#### |^### |\Z)", report, re.M | re.S):
    sections[(m.group(1), m.group(2))] = m.group(3)


# Reasons for differences that the diff alone does not explain (reviewed by hand).
REASONS = {
    ("scripts.policy.misc.capture-loss", "capture_loss.log"): "the test's own script raises take_measurement(0, 0, 0) from zeek_init, a second measurement chain (the baseline's second row); weir runs no scripts and writes the one row misc/capture-loss writes",
    ("core.checksums_ignore_nets_runtime_update", "weird.log"): "the test changes ignore_checksums_nets at run time through the config framework (Config::set_value in its script); weir settings are fixed for a run",
    ("core.expire-all-timers", "conn-limited.log"): "the test's script schedules 300 dummy events to exhaust Zeek's max_timer_expires per packet and so delay an expiry; weir runs no scripts and expires every due timer before each packet (Zeek with max_timer_expires=0, which conn-all.log checks and weir matches)",
    ("core.radiotap", "conn.log"): "802.11 radiotap link type (DLT 127) is not decoded",
    ("core.wlanmon", "conn.log"): "802.11 monitor-mode link type (DLT 105) is not decoded",
    ("core.reporter-limit-reached-weird", "conn.log"): "needs the HTTP analyzer (its service and the X from its weird limit), which weir does not have",
    ("core.reporter-limit-reached-weird", "weird.log"): "the weirds are raised by the test's own script (Reporter::conn_weird); weir runs no scripts",
    ("core.tunnels.count-default-tunnel-changes", "conn.log"): "the same 5-tuple is seen inside a tunnel and outside it (tunnel-direct-bypass.pcap); weir sends all tunnel traffic to one worker, so with several workers the two halves land on different workers (dispatching tunnels on their inner connection is not done yet); one worker matches Zeek",
    ("core.tunnels.gre-aruba", "tunnel.log"): "Aruba GRE carries 802.11 frames, which weir does not decode, so no inner connection registers the tunnel",
    ("core.tunnels.gre-aruba-amsdu", "conn.log"): "Aruba GRE carries 802.11 A-MSDU frames, which weir does not decode",
    ("core.tunnels.gre-aruba-amsdu", "tunnel.log"): "Aruba GRE carries 802.11 A-MSDU frames, which weir does not decode",
    ("scripts.base.protocols.dns.dnssec", "dns.ed25519.log"): "the test's own script appends algorithm names (Ed25519) to answers; weir runs no scripts (the rows are otherwise identical, and no weird is raised for the curve, which the test checks)",
    ("scripts.base.protocols.dns.dnssec", "dns.ed448.log"): "the test's own script appends algorithm names (Ed448) to answers; weir runs no scripts (the rows are otherwise identical)",
    ("scripts.base.protocols.icmp.icmp6-nd-short-options", "weird.log"): "Zeek raises the icmp6_*_bad_opt_offset weirds only when a script handles the ND events (the test's script does); weir runs no scripts, so it follows Zeek with default scripts and raises none",
    ("scripts.policy.protocols.ssl.validate-certs", "ssl-all.log"): "validate-certs.zeek's intermediate CA cache (SSL::ssl_cache_intermediate_ca) is per worker, as in a Zeek cluster before workers exchange intermediates: with several workers, a server that does not send its intermediate is validated with the intermediates its own worker has seen, so one row differs with --workers 4; one worker matches Zeek",
    ("scripts.base.protocols.dns.dns-edns-ecs", "weird.log"): "only the uid differs: the harness cannot map weir's uids to connections in this multi-run test (cause not investigated); names, addl, ids and sources match",
}

NOT_WRITTEN = {
    "stats": "stats.log is written by live capture only (weir -i); offline runs do not write it",
    "files": "files.log is not written (no file analysis)",
    "analyzer": "analyzer.log is not written",
}

def fields_of(body):
    out = set()
    for line in body.splitlines():
        if line.startswith("~ "):
            rest = line.split(": ", 1)[1] if ": " in line else ""
            for part in rest.split("; "):
                name = part.split(":", 1)[0].strip()
                if name:
                    out.add(name)
    return out

def services_of(body):
    return sorted(set(re.findall(r"service: expected `([^`]*)` got", body)))

for test, file, log, status, detail in files:
    body = sections.get((test, file), "")
    f = fields_of(body)
    missing = body.count("\n- ")
    extra = body.count("\n+ ")
    if (test, file) in REASONS:
        reason = REASONS[(test, file)]
    elif status == "unsupported":
        reason = "unsupported: " + detail.strip()
    elif "workers differ" in detail or "between worker counts" in detail:
        reason = "REVIEW(workers): " + detail.strip()
    elif log in NOT_WRITTEN:
        reason = NOT_WRITTEN[log]
    elif "service" in f and f <= {"service", "uid"} and not missing and not extra:
        reason = "conn.log service needs analyzers weir does not have: " + ", ".join(services_of(body))
    else:
        reason = "REVIEW: " + ", ".join(sorted(f)) + (f" missing={missing}" if missing else "") + (f" extra={extra}" if extra else "")
    print(f"{test}\t{file}\t{reason}")
