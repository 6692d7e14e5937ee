#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Compare the symbols a shared library exports with its version script.

usage: abi-check.py LIBRARY.so VERSION-SCRIPT

Expected: every name listed under a node's "global:" exported as its
default version (name@@NODE), and every "compat: name@NODE" comment
exported as that non-default version (src/compat.c); nothing else (no
internal symbol, no test-only backend). Exit 1 with a diff otherwise.
"""
import re
import subprocess
import sys

lib, script = sys.argv[1], sys.argv[2]
text = open(script).read()
expected = set()
for m in re.finditer(r"(UIPC_[0-9.]+)\s*\{(.*?)\}", text, re.S):
    node, body = m.group(1), m.group(2)
    for c in re.findall(r"compat:\s*(uipc_\w+)@(UIPC_[0-9.]+)", body):
        expected.add("%s@%s" % c)
    body = re.sub(r"/\*.*?\*/", "", body, flags=re.S)
    body = body.split("local:")[0]
    for name in re.findall(r"\b(uipc_\w+)\s*;", body):
        expected.add("%s@@%s" % (name, node))

out = subprocess.run(["nm", "-D", "--defined-only", "--with-symbol-versions", lib],
                     check=True, capture_output=True, text=True).stdout
exported = set()
for line in out.splitlines():
    f = line.split()
    if len(f) == 3 and f[1] in "TtWDdBbRr" and not f[2].startswith("UIPC_"):
        exported.add(f[2])

missing, extra = sorted(expected - exported), sorted(exported - expected)
for s in missing:
    print("listed, not exported: " + s)
for s in extra:
    print("exported, not listed: " + s)
nodes = sorted(set(re.findall(r"^(UIPC_[0-9.]+)\s*\{", text, re.M)))
if missing or extra:
    sys.exit(1)
print("abi: %d symbols in nodes %s match %s" % (len(exported), " ".join(nodes), script))
