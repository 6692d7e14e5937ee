#!/usr/bin/env bash
# Sweep uipc-httpd (both handoffs) with wrk over 127.0.0.1 and write a
# markdown table, JSON and a gnuplot SVG.
#
#   bench/server/run.sh                 # the short default sweep (a few minutes)
#
# Environment (defaults in brackets):
#   BUILD       meson build directory with the servers [build]
#   HANDOFFS    server variants: mutex, mutex-always (eventfd write per job,
#               as nginx), uipc, uipc-nospin (receivers never spin),
#               uipc-caps (producers attached through capabilities, as from
#               another process), uipc-light (UIPC_CHAN_LIGHT channels:
#               producers without a fence) [mutex uipc]
#   CONNS       wrk connections [1 16 256]
#   WORK        per-request work: microseconds of CPU burn, or "pread"
#               (one 4 KiB page of a 64 MiB page-cached file) [0 5 50]
#   DURATION    seconds measured per run, after a 1 s warm-up [2]
#   REPS        runs per point, handoffs alternating; the table gives medians [3]
#   IO_THREADS  server I/O threads [1]
#   WORKERS     server worker threads [1]
#   WRK_THREADS wrk threads (at most the smallest CONNS) [1]
#   PIN         CPU list for taskset: the server and wrk both run there
#               (PIN=0: everything on one CPU, where a spin that holds the
#               CPU delays the thread it waits for) [unpinned]
#   SYSCALLS    perf (count raw_syscalls:sys_enter during the measured run),
#               strace (a separate 1 s pass under strace -c -f, slowed down),
#               or none [perf, strace if perf cannot count]
#   OUT         output prefix [bench/results/httpd-<date>]
set -euo pipefail
cd "$(dirname "$0")/../.."

BUILD=${BUILD:-build}
HANDOFFS=${HANDOFFS:-mutex uipc}
CONNS=${CONNS:-1 16 256}
WORK=${WORK:-0 5 50}
DURATION=${DURATION:-2}
REPS=${REPS:-3}
IO_THREADS=${IO_THREADS:-1}
WORKERS=${WORKERS:-1}
WRK_THREADS=${WRK_THREADS:-1}
OUT=${OUT:-bench/results/httpd-$(date -u +%Y%m%d)}
PIN=${PIN:-}
pin=()
[ -z "$PIN" ] || pin=(taskset -c "$PIN")
HZ=$(getconf CLK_TCK)

if ! command -v wrk >/dev/null; then
  sudo=""
  [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends wrk >/dev/null
fi
for h in mutex uipc; do
  [ -x "$BUILD/bench/server/uipc-httpd-$h" ] || ninja -C "$BUILD" "bench/server/uipc-httpd-$h" >/dev/null
done

SYSCALLS=${SYSCALLS:-}
if [ -z "$SYSCALLS" ]; then
  if perf stat -x, -e raw_syscalls:sys_enter true >/dev/null 2>&1; then SYSCALLS=perf
  elif command -v strace >/dev/null; then SYSCALLS=strace
  else SYSCALLS=none; fi
fi

tmp=$(mktemp -d)
server_pid=""
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
if [[ " $WORK " == *" pread "* ]]; then
  head -c $((64 << 20)) /dev/urandom >"$tmp/file"
  cat "$tmp/file" >/dev/null # into the page cache
fi

# Start one server variant; sets server_pid and port.
start_server() { # handoff work
  local bin=uipc-httpd-${1%%-*} extra=()
  case $1 in
    mutex-always) extra=(--notify-always) ;;
    uipc-nospin) extra=(--spin 0) ;;
    uipc-light) extra=(--light) ;;
    uipc-caps) extra=(--caps) ;;
  esac
  if [ "$2" = pread ]; then extra+=(-f "$tmp/file"); else extra+=(-W "$2"); fi
  "${pin[@]}" "$BUILD/bench/server/$bin" -p 0 -t "$IO_THREADS" -w "$WORKERS" "${extra[@]}" >"$tmp/server.out" &
  server_pid=$!
  for _ in $(seq 100); do
    port=$(sed -n 's/^listening on 127.0.0.1:\([0-9]*\).*/\1/p' "$tmp/server.out")
    [ -n "$port" ] && return 0
    sleep 0.05
  done
  echo "run.sh: $1 did not start" >&2
  exit 1
}

stop_server() {
  kill "$server_pid"
  wait "$server_pid" || true
  server_pid=""
}

cpu_ticks() { awk '{print $14 + $15}' "/proc/$server_pid/stat"; }
served() { curl_like "/stats"; }
# /stats through bash's /dev/tcp: no curl needed.
curl_like() {
  exec 3<>"/dev/tcp/127.0.0.1/$port"
  printf 'GET %s HTTP/1.1\r\nConnection: close\r\n\r\n' "$1" >&3
  tail -n1 <&3
  exec 3<&-
}
# wrk's latency units to microseconds.
to_us() { awk -v v="$1" 'BEGIN { u = v; sub(/[0-9.]+/, "", u); n = v + 0;
  if (u == "ms") n *= 1000; else if (u == "s") n *= 1000000; else if (u == "ns") n /= 1000;
  printf "%.1f", n }'; }

# One run: server up, warm-up, measured wrk run (CPU, syscalls), server down;
# appends a JSON line to $tmp/runs.json.
run_point() { # handoff conns work rep
  local h=$1 c=$2 work=$3 rep=$4 wt=$WRK_THREADS
  ((wt > c)) && wt=$c
  start_server "$h" "$work"
  local url="http://127.0.0.1:$port/"
  "${pin[@]}" wrk -t"$wt" -c"$c" -d1s "$url" >/dev/null # warm-up
  local n0 t0 n1 t1 perf_pid="" sys=null
  n0=$(served); t0=$(cpu_ticks)
  if [ "$SYSCALLS" = perf ]; then
    perf stat -x, -e raw_syscalls:sys_enter -p "$server_pid" -o "$tmp/perf.out" &
    perf_pid=$!
  fi
  "${pin[@]}" wrk -t"$wt" -c"$c" -d"${DURATION}s" --latency "$url" >"$tmp/wrk.out"
  n1=$(served); t1=$(cpu_ticks)
  if [ -n "$perf_pid" ]; then
    kill -INT "$perf_pid"; wait "$perf_pid" || true
    # Requests served while perf counted: the same window as the CPU figure.
    sys=$(awk -F, -v n=$((n1 - n0)) '/raw_syscalls/ { if (n > 0) printf "%.2f", $1 / n }' "$tmp/perf.out")
  elif [ "$SYSCALLS" = strace ]; then
    # A separate short pass: strace slows the server, only the count matters.
    local m0 m1 spid tids=()
    m0=$(served)
    # -p for every thread: strace -p attaches to the one thread named.
    for t in /proc/"$server_pid"/task/*; do tids+=(-p "${t##*/}"); done
    timeout -s INT 3 strace -c -f "${tids[@]}" -o "$tmp/strace.out" &
    spid=$!
    sleep 0.5
    "${pin[@]}" wrk -t"$wt" -c"$c" -d1s "$url" >/dev/null
    sleep 0.2
    m1=$(served)
    kill -INT "$spid" 2>/dev/null; wait "$spid" || true
    sys=$(awk -v n=$((m1 - m0)) '/^100.00/ { if (n > 0) printf "%.2f", $4 / n }' "$tmp/strace.out")
  fi
  [ -n "$sys" ] || sys=null
  stop_server
  local rps p50 p90 p99 errs reqs cpu
  rps=$(awk '/^Requests\/sec:/ {print $2}' "$tmp/wrk.out")
  p() { to_us "$(awk -v q="$1%" '$1 == q {print $2}' "$tmp/wrk.out")"; }
  p50=$(p 50); p90=$(p 90); p99=$(p 99)
  errs=$(awk '/Non-2xx|Socket errors/ {print}' "$tmp/wrk.out" | tr '\n' ' ' | tr -d '"')
  reqs=$((n1 - n0))
  cpu=$(awk -v t=$((t1 - t0)) -v hz="$HZ" -v n="$reqs" 'BEGIN { printf "%.4f", n ? t / hz / n * 1000 : 0 }')
  printf '  %-13s c=%-4s work=%-6s rep %s: %8.0f req/s  p50 %s us  p99 %s us  cpu %s s/1k  syscalls %s/req %s\n' \
    "$h" "$c" "$work" "$rep" "$rps" "$p50" "$p99" "$cpu" "$sys" "$errs" >&2
  printf '{"handoff":"%s","connections":%s,"work":"%s","rep":%s,"requests_per_s":%s,"p50_us":%s,"p90_us":%s,"p99_us":%s,"requests":%s,"cpu_s_per_1k":%s,"syscalls_per_req":%s,"wrk_errors":"%s"}\n' \
    "$h" "$c" "$work" "$rep" "$rps" "$p50" "$p90" "$p99" "$reqs" "$cpu" "$sys" "$errs" >>"$tmp/runs.json"
}

model=$(lscpu | sed -n 's/^Model name: *//p' | head -1)
echo "uipc-httpd sweep: $REPS repetitions, handoffs alternating; progress:" >&2
: >"$tmp/runs.json"
hs=($HANDOFFS)
for work in $WORK; do
  for c in $CONNS; do
    for ((rep = 0; rep < REPS; rep++)); do
      # Rotate the order each repetition: no handoff always runs first.
      for ((j = 0; j < ${#hs[@]}; j++)); do
        run_point "${hs[(j + rep) % ${#hs[@]}]}" "$c" "$work" "$rep"
      done
    done
  done
done

# Medians over the repetitions: the table, the JSON (every run and the
# medians) and the plot's data (python3 comes with meson).
python3 - "$tmp/runs.json" "$OUT" "$tmp/grid.dat" <<PY
import json, statistics, sys
runs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
out, grid = sys.argv[2], sys.argv[3]
hs = "$HANDOFFS".split()
keys = []
for r in runs:
    k = (r["work"], r["connections"])
    if k not in keys:
        keys.append(k)
def med(rs, f):
    v = [r[f] for r in rs if r[f] is not None]
    return statistics.median(v) if v else None
points = []
for work, c in keys:
    for h in hs:
        rs = [r for r in runs if r["work"] == work and r["connections"] == c and r["handoff"] == h]
        if not rs:
            continue
        p = {"handoff": h, "connections": c, "work": work, "reps": len(rs)}
        for f in ("requests_per_s", "p50_us", "p90_us", "p99_us", "cpu_s_per_1k", "syscalls_per_req"):
            p[f] = med(rs, f)
        p["requests_per_s_min"] = min(r["requests_per_s"] for r in rs)
        p["requests_per_s_max"] = max(r["requests_per_s"] for r in rs)
        points.append(p)
fmt = lambda v, d: "-" if v is None else f"{v:.{d}f}"
with open(out + ".txt", "w") as f:
    f.write("# uipc-httpd sweep: $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs, $model, kernel $(uname -r)\n")
    f.write("# I/O threads $IO_THREADS, workers $WORKERS, wrk threads $WRK_THREADS, ${DURATION} s per run, "
            "$REPS runs per point (median; req/s min..max), syscalls by $SYSCALLS${PIN:+, server and wrk pinned to CPU $PIN}\n\n")
    f.write("| handoff | conns | work | req/s | req/s min..max | p50 us | p90 us | p99 us | server CPU ms /1k req | syscalls/req |\n")
    f.write("|---|---|---|---|---|---|---|---|---|---|\n")
    for p in points:
        f.write(f"| {p['handoff']} | {p['connections']} | {p['work']} | {fmt(p['requests_per_s'], 0)} | "
                f"{p['requests_per_s_min']:.0f}..{p['requests_per_s_max']:.0f} | {fmt(p['p50_us'], 0)} | "
                f"{fmt(p['p90_us'], 0)} | {fmt(p['p99_us'], 0)} | {fmt(p['cpu_s_per_1k'] * 1000, 1)} | "
                f"{fmt(p['syscalls_per_req'], 2)} |\n")
doc = {"machine": {"cpus": $(nproc), "model": "$model", "kernel": "$(uname -r)"},
       "config": {"io_threads": $IO_THREADS, "workers": $WORKERS, "wrk_threads": $WRK_THREADS,
                  "duration_s": $DURATION, "reps": $REPS, "syscalls_by": "$SYSCALLS"},
       "points": points, "runs": runs}
json.dump(doc, open(out + ".json", "w"), indent=1)
with open(grid, "w") as g:
    for work, c in keys:
        row = {p["handoff"]: p for p in points if p["work"] == work and p["connections"] == c}
        cols = [f"c{c}/w{work}"]
        cols += [fmt(row[h]["requests_per_s"], 0) if h in row else "0" for h in hs]
        cols += [fmt(row[h]["cpu_s_per_1k"] * 1000, 3) if h in row else "0" for h in hs]
        g.write(" ".join(cols) + "\n")
PY
cat "$OUT.txt"

if command -v gnuplot >/dev/null; then
  n=${#hs[@]}
  {
    echo "set multiplot layout 2,1 title 'uipc-httpd under wrk: $(nproc) CPUs, $IO_THREADS I/O + $WORKERS worker threads, median of $REPS runs'"
    echo "set style data histogram; set style histogram clustered gap 1; set style fill solid 0.8 border -1"
    echo "set key top left; set grid ytics; set xtics rotate by -30 font ',9'"
    echo "set ylabel 'requests/s'"
    printf "plot "
    for ((j = 0; j < n; j++)); do printf "'%s' using %d:xtic(1) title '%s'%s" "$tmp/grid.dat" $((j + 2)) "${hs[j]}" $([ $j -lt $((n - 1)) ] && echo ", " || true); done
    echo
    echo "set ylabel 'server CPU ms / 1000 requests'"
    printf "plot "
    for ((j = 0; j < n; j++)); do printf "'%s' using %d:xtic(1) title '%s'%s" "$tmp/grid.dat" $((j + 2 + n)) "${hs[j]}" $([ $j -lt $((n - 1)) ] && echo ", " || true); done
    echo
    echo "unset multiplot"
  } >"$tmp/plot.gp"
  # SVG for reading, a small PNG for committing next to the results.
  { echo "set terminal svg size 900,600 font 'sans,11'"; echo "set output '$OUT.svg'"; cat "$tmp/plot.gp"; } | gnuplot &&
    echo "plot: $OUT.svg"
  { echo "set terminal pngcairo size 760,480 font 'sans,8'"; echo "set output '$OUT.png'"; cat "$tmp/plot.gp"; } | gnuplot 2>/dev/null &&
    echo "plot: $OUT.png"
fi
echo "table: $OUT.txt  json: $OUT.json"
