#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Summarize the last `meson test` run of a build directory.

Prints, as the last lines of scripts/test.sh: per suite how many tests ran
and passed, every skipped test with its reason (the SKIP: line it printed),
and every suite this build does not have at all, with the reason the build
recorded when it was configured (uipc-suites-absent.txt). Exits 1 when a
suite named in REQUIRE_SUITES (space-separated) did not run completely.
"""
import collections
import json
import os
import sys

build = sys.argv[1] if len(sys.argv) > 1 else "build"
results = collections.OrderedDict()
skipped = []
try:
    with open(os.path.join(build, "meson-logs", "testlog.json")) as f:
        for line in f:
            t = json.loads(line)
            # "uipc:core+futex+notify / notify-futex": the project, the
            # test's suites (the first one names its group), its name.
            head, _, name = t["name"].rpartition(" / ")
            suite = head.split(":", 1)[-1].split("+")[0] or "(none)"
            res = results.setdefault(suite, collections.Counter())
            res[t["result"]] += 1
            if t["result"] == "SKIP":
                out = [l for l in (t.get("stdout") or "").splitlines() if l.strip()]
                why = next((l for l in reversed(out) if "SKIP" in l), out[-1] if out else "exit 77, no reason printed")
                skipped.append((name, why.strip()))
except FileNotFoundError:
    print("test summary: no test log in %s/meson-logs" % build)
    sys.exit(1)

absent = []
try:
    with open(os.path.join(build, "uipc-suites-absent.txt")) as f:
        absent = [l.rstrip("\n").split(": ", 1) for l in f if l.strip()]
except FileNotFoundError:
    absent = [["?", "this build does not record its absent suites (configure it again)"]]

print("== test summary (%s)" % build)
ran = []
for suite, res in results.items():
    total = sum(res.values())
    ok = res["OK"] + res["EXPECTEDFAIL"]
    bad = total - ok - res["SKIP"]
    ran.append("%s %d/%d ok%s%s" % (suite, ok, total,
               ", %d skipped" % res["SKIP"] if res["SKIP"] else "",
               ", %d FAILED" % bad if bad else ""))
print("ran:     " + "; ".join(ran))
for name, why in skipped:
    print("skipped: %s: %s" % (name, why))
for a in absent:
    print("absent:  %s: %s" % (a[0], a[1] if len(a) > 1 else ""))
if not skipped and not absent:
    print("nothing skipped, no suite absent from this build")

missing = []
for s in os.environ.get("REQUIRE_SUITES", "").split():
    res = results.get(s)
    if not res or res["SKIP"] or any(a[0] == s for a in absent):
        missing.append(s)
if missing:
    print("required suites that did not run completely: " + " ".join(missing))
    sys.exit(1)
