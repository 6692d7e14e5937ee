#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Run a tool that prints JSON (argv[1:] is its command line), require exit 0
# and a JSON document on stdout; for uipc-idle also check its wakeup count.
import json
import subprocess
import sys

# --idle first: also require that blocked receivers, consumers and the
# library's watcher thread made no wakeups in the window (a count of events,
# not a timing: a periodic wakeup of any kind shows as dozens).
idle = sys.argv[1] == "--idle"
if idle:
    del sys.argv[1]
proc = subprocess.run(sys.argv[1:], stdout=subprocess.PIPE, timeout=100)
if proc.returncode != 0:
    sys.exit(f"{sys.argv[1]} exited {proc.returncode}")
doc = json.loads(proc.stdout)
if doc.get("tool") == "uipc-idle":
    want = doc["receivers"] + doc["channels"]
    if not (doc["verified"] and doc["expected_wakeups"] == want and doc["woke"] == want):
        sys.exit(f"uipc-idle: {doc['woke']} of {want} threads woke as expected")
    for role in doc["roles"]:
        if role["wakeups_per_s"] < 0:
            sys.exit(f"negative rate for {role['role']}")
        if idle and role["role"] in ("receivers", "consumers", "other"):
            n = role["wakeups_per_s"] * doc["window_s"]
            if n > 1.5:
                sys.exit(f"uipc-idle: idle {role['role']} woke {n:.0f} times")
print("ok")
