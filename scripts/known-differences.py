#!/usr/bin/env python3
"""Drafts testdata/known-differences.tsv from a weir-golden report.

Developer tool: run
    cargo run -p weir-golden -- --weir target/release/weir --tier core,ext --workers 1,4 --diffs 50 > /tmp/g.md
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

ISSUE = {
    "dns": "dns.log needs the DNS analyzer (issue 3)",
    "ssl": "ssl.log needs the TLS analyzer (issue 4)",
    "x509": "x509.log needs certificate parsing (issue 4)",
    "capture_loss": "capture_loss.log is not written yet (issue 4)",
    "tunnel": "tunnel.log needs tunnel decapsulation (issue 6)",
    "stats": "stats.log is not written yet (issue 5)",
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

for test, file, log, status, detail in files:
    body = sections.get((test, file), "")
    if status == "unsupported":
        reason = "unsupported: " + detail.strip()
    elif log in ISSUE:
        reason = ISSUE[log]
    elif "tunnels" in test or "erspan" in test or "gre" in test or "vxlan" in test or "geneve" in test:
        reason = "tunnel decapsulation is not implemented yet (issue 6)"
    else:
        f = fields_of(body)
        missing = body.count("\n- ")
        extra = body.count("\n+ ")
        if f and f <= {"service", "uid"} and not missing and not extra:
            reason = "conn.log service needs application analyzers weir does not have yet"
        elif f and f <= {"service", "uid", "history", "missed_bytes"}:
            reason = "service needs application analyzers; history G/g and missed_bytes need TCP reassembly (issue 4)"
        else:
            reason = "REVIEW: " + ", ".join(sorted(f)) + (f" missing={missing}" if missing else "") + (f" extra={extra}" if extra else "")
    print(f"{test}\t{file}\t{reason}")
