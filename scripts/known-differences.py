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
    if status == "unsupported":
        reason = "unsupported: " + detail.strip()
    elif "workers differ" in detail or "between worker counts" in detail:
        reason = "REVIEW(workers): " + detail.strip()
    elif log in NOT_WRITTEN:
        reason = NOT_WRITTEN[log]
    elif f and f <= {"service", "uid"} and not missing and not extra:
        reason = "conn.log service needs analyzers weir does not have: " + ", ".join(services_of(body))
    else:
        reason = "REVIEW: " + ", ".join(sorted(f)) + (f" missing={missing}" if missing else "") + (f" extra={extra}" if extra else "")
    print(f"{test}\t{file}\t{reason}")
