#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Run a tool that prints JSON (argv[1:] is its command line), require exit 0
# and a JSON document on stdout; for uipc-idle also check its wakeup count.
import json
import subprocess
import sys

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
print("ok")
