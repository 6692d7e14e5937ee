#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Summarise run.sh's raw.csv and syscalls.csv into a Markdown table.

Per point (io-threads, clients, pipeline, command): the median over the
rounds and the spread (min..max) of req/s, p50, p99 and server CPU per
request, stock against uipc; syscalls per request per thread kind from the
perf pass (main thread + I/O threads; "other" threads made none worth a
column in our runs and are summed into the total).
"""
import csv
import statistics
import sys
from collections import defaultdict

out = sys.argv[1]
runs = defaultdict(lambda: defaultdict(list))
for r in csv.DictReader(open(f"{out}/raw.csv")):
    key = (int(r["io_threads"]), int(r["clients"]), int(r["pipeline"]), r["test"])
    for f in ("rps", "p50_ms", "p99_ms", "cpu_us_per_req"):
        runs[key][(r["variant"], f)].append(float(r[f]))
sysc = {}
epw = {}
try:
    for r in csv.DictReader(open(f"{out}/syscalls.csv")):
        key = (int(r["io_threads"]), int(r["clients"]), int(r["pipeline"]), r["test"])
        n = float(r["requests"])
        sysc[(key, r["variant"])] = tuple(float(r[k]) / n for k in ("main", "io", "other"))
        if "main_epoll_wait" in r:
            epw[(key, r["variant"])] = tuple(float(r[k]) / n for k in ("main_epoll_wait", "io_epoll_wait"))
except FileNotFoundError:
    pass


def med(v):
    return statistics.median(v) if v else float("nan")


def spread(v, fmt):
    return f"{fmt.format(med(v))} ({fmt.format(min(v))}..{fmt.format(max(v))})"


print(f"# Redis 8 io-threads: stock eventfd against uipc ({out.rstrip('/').split('/')[-1]})\n")
try:
    print(open(f"{out}/machine.txt").read())
except FileNotFoundError:
    pass
print("Median over the rounds, (min..max) over the rounds. CPU: server utime+stime per request.")
print("Syscalls/request: main thread + I/O threads (= total with other threads), one perf pass.\n")
print("| io-thr | clients | pipe | cmd | req/s stock | req/s uipc | uipc/stock | p50 ms stock / uipc"
      " | p99 ms stock / uipc | CPU us/req stock | CPU us/req uipc | syscalls/req stock | syscalls/req uipc |")
print("|---" * 13 + "|")
for key in sorted(runs):
    d = runs[key]
    rs, ru = d[("stock", "rps")], d[("uipc", "rps")]
    ratio = med(ru) / med(rs) if rs and ru else float("nan")
    row = [str(k) for k in key]
    row += [spread(rs, "{:.0f}"), spread(ru, "{:.0f}"), f"{ratio:.2f}"]
    row.append(f"{med(d[('stock', 'p50_ms')]):.3f} / {med(d[('uipc', 'p50_ms')]):.3f}")
    row.append(f"{med(d[('stock', 'p99_ms')]):.3f} / {med(d[('uipc', 'p99_ms')]):.3f}")
    row += [spread(d[("stock", "cpu_us_per_req")], "{:.1f}"), spread(d[("uipc", "cpu_us_per_req")], "{:.1f}")]
    for v in ("stock", "uipc"):
        s = sysc.get((key, v))
        row.append(f"{s[0]:.2f} + {s[1]:.2f} = {sum(s):.2f}" if s else "-")
    print("| " + " | ".join(row) + " |")

if epw:
    print("\nOf those, epoll_wait per request (main / I/O threads): the sleeps, and the polls of a loop told not to sleep.\n")
    print("| io-thr | clients | pipe | cmd | stock | uipc |")
    print("|---" * 6 + "|")
    for key in sorted(runs):
        row = [str(k) for k in key]
        for v in ("stock", "uipc"):
            e = epw.get((key, v))
            row.append(f"{e[0]:.2f} / {e[1]:.2f}" if e else "-")
        print("| " + " | ".join(row) + " |")
