#!/usr/bin/env python3
"""Writes fuzz seeds for an analyzer from pcap traces: each connection's payloads (tshark-decoded) as a
weir_api::testing::drive script (direction byte with bit 0 = originator, 2-byte length, bytes).

    scripts/fuzz-seeds.py OUTDIR tcp|udp 'DISPLAY FILTER' TRACE...
"""
import hashlib, os, subprocess, sys

out, proto, flt, traces = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
os.makedirs(out, exist_ok=True)
n = 0
for t in traces:
    fields = ["-e", f"{proto}.stream", "-e", "ip.src", "-e", "ipv6.src", "-e", f"{proto}.srcport", "-e", f"{proto}.payload"]
    r = subprocess.run(["tshark", "-r", t, "-Y", f"({flt}) and {proto}.payload", "-T", "fields", *fields],
                       capture_output=True, text=True)
    flows = {}
    for line in r.stdout.splitlines():
        parts = line.split("\t")
        if len(parts) < 5 or not parts[4]:
            continue
        stream, src = parts[0], (parts[1] or parts[2], parts[3])
        f = flows.setdefault(stream, {"orig": src, "chunks": []})
        f["chunks"].append((src == f["orig"], bytes.fromhex(parts[4].replace(":", ""))))
    for f in flows.values():
        script = b""
        for is_orig, d in f["chunks"][:40]:
            d = d[:65535]
            script += bytes([1 if is_orig else 0]) + len(d).to_bytes(2, "big") + d
        script = script[:20000]
        name = hashlib.sha1(script).hexdigest()
        with open(os.path.join(out, name), "wb") as fh:
            fh.write(script)
        n += 1
print(f"{n} seeds in {out}", file=sys.stderr)
