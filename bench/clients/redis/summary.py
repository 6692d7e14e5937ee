#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Summarise run.sh's raw.csv and syscalls.csv into a Markdown table.

Per point (io-threads, clients, pipeline, command): the median over the
rounds and the spread (min..max) of req/s, p50, p99 and server CPU per
request, stock against uipc; syscalls per request per thread kind from the
perf passes (main thread + I/O threads; "other" threads made none worth a
column in our runs and are summed into the total): the median over the
passes, its spread, and the calls that carry the wakeups.
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
sysc = defaultdict(list)  # (key, variant) -> [(main, io, other) per request], one per pass
kinds = defaultdict(lambda: defaultdict(list))  # (key, variant) -> column -> per request
try:
    for r in csv.DictReader(open(f"{out}/syscalls.csv")):
        key = (int(r["io_threads"]), int(r["clients"]), int(r["pipeline"]), r["test"])
        n = float(r["requests"])
        sysc[(key, r["variant"])].append(tuple(float(r[k]) / n for k in ("main", "io", "other")))
        for col in r:
            if col.startswith(("main_", "io_")):
                kinds[(key, r["variant"])][col].append(float(r[col]) / n)
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
npass = max((len(v) for v in sysc.values()), default=0)
print(f"Syscalls/request: main thread + I/O threads = total (with other threads), the median of {npass}"
      " perf passes per variant (min..max of the total).\n")
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
        p = sysc.get((key, v))
        if p:
            tot = [sum(x) for x in p]
            row.append(f"{med([x[0] for x in p]):.2f} + {med([x[1] for x in p]):.2f} = {med(tot):.2f}"
                       + (f" ({min(tot):.2f}..{max(tot):.2f})" if len(tot) > 1 else ""))
        else:
            row.append("-")
    print("| " + " | ".join(row) + " |")

cols = [("epoll_wait", ("epoll_wait",)), ("read", ("read", "preadv2")), ("write", ("write",))]
if any(kinds.values()):
    print("\nOf those, per request (medians over the passes), main thread / I/O threads: epoll_wait (the"
          " sleeps, and the polls of a loop told not to sleep), reads (stock: eventfd and sockets; uipc's"
          " drain is a preadv2) and writes (stock: eventfd and sockets; uipc: sockets and kicks).\n")
    print("| io-thr | clients | pipe | cmd | " + " | ".join(f"{c} stock | {c} uipc" for c, _ in cols) + " |")
    print("|---" * (4 + 2 * len(cols)) + "|")
    for key in sorted(runs):
        row = [str(k) for k in key]
        for c, parts in cols:
            for v in ("stock", "uipc"):
                k = kinds.get((key, v), {})
                if not k or f"main_{parts[0]}" not in k:
                    row.append("-")
                    continue
                m = med([sum(x) for x in zip(*(k.get(f"main_{q}", []) for q in parts))])
                i = med([sum(x) for x in zip(*(k.get(f"io_{q}", []) for q in parts))])
                row.append(f"{m:.2f} / {i:.2f}")
        print("| " + " | ".join(row) + " |")
