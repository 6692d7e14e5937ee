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
#               uipc-light (same-process producers without a fence) [mutex uipc]
#   CONNS       wrk connections [1 16 256]
#   WORK        per-request work: microseconds of CPU burn, or "pread"
#               (one 4 KiB page of a 64 MiB page-cached file) [0 5 50]
#   DURATION    seconds measured per point, after a 1 s warm-up [4]
#   IO_THREADS  server I/O threads [1]
#   WORKERS     server worker threads [1]
#   WRK_THREADS wrk threads (at most the smallest CONNS) [1]
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
DURATION=${DURATION:-4}
IO_THREADS=${IO_THREADS:-1}
WORKERS=${WORKERS:-1}
WRK_THREADS=${WRK_THREADS:-1}
OUT=${OUT:-bench/results/httpd-$(date -u +%Y%m%d)}
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
  esac
  if [ "$2" = pread ]; then extra+=(-f "$tmp/file"); else extra+=(-W "$2"); fi
  "$BUILD/bench/server/$bin" -p 0 -t "$IO_THREADS" -w "$WORKERS" "${extra[@]}" >"$tmp/server.out" &
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

echo "# uipc-httpd sweep: $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs, $(lscpu | sed -n 's/^Model name: *//p' | head -1), kernel $(uname -r)" | tee "$OUT.txt"
echo "# I/O threads $IO_THREADS, workers $WORKERS, wrk threads $WRK_THREADS, ${DURATION}s per point, syscalls by $SYSCALLS" | tee -a "$OUT.txt"
printf '\n| handoff | conns | work | req/s | p50 us | p90 us | p99 us | server CPU s /1k req | syscalls/req |\n|---|---|---|---|---|---|---|---|---|\n' | tee -a "$OUT.txt"
: >"$tmp/rows.json"
: >"$tmp/plot.dat"
for work in $WORK; do
  for c in $CONNS; do
    wt=$WRK_THREADS
    ((wt > c)) && wt=$c
    for h in $HANDOFFS; do
      start_server "$h" "$work"
      url="http://127.0.0.1:$port/"
      wrk -t"$wt" -c"$c" -d1s "$url" >/dev/null # warm-up
      n0=$(served); t0=$(cpu_ticks)
      perf_pid=""
      if [ "$SYSCALLS" = perf ]; then
        perf stat -x, -e raw_syscalls:sys_enter -p "$server_pid" -o "$tmp/perf.out" &
        perf_pid=$!
      fi
      wrk -t"$wt" -c"$c" -d"${DURATION}s" --latency "$url" >"$tmp/wrk.out"
      n1=$(served); t1=$(cpu_ticks)
      sys="null"
      if [ -n "$perf_pid" ]; then
        kill -INT "$perf_pid"; wait "$perf_pid" || true
        # Requests served while perf counted: the same window as the CPU figure.
        sys=$(awk -F, -v n=$((n1 - n0)) '/raw_syscalls/ { if (n > 0) printf "%.2f", $1 / n }' "$tmp/perf.out")
        [ -n "$sys" ] || sys="null"
      elif [ "$SYSCALLS" = strace ]; then
        # A separate short pass: strace slows the server, only the count matters.
        m0=$(served)
        # -p for every thread: strace -p attaches to the one thread named.
        tids=()
        for t in /proc/"$server_pid"/task/*; do tids+=(-p "${t##*/}"); done
        timeout -s INT 3 strace -c -f "${tids[@]}" -o "$tmp/strace.out" &
        spid=$!
        sleep 0.5
        wrk -t"$wt" -c"$c" -d1s "$url" >/dev/null
        sleep 0.2
        m1=$(served)
        kill -INT "$spid" 2>/dev/null; wait "$spid" || true
        sys=$(awk -v n=$((m1 - m0)) '/^100.00/ { if (n > 0) printf "%.2f", $4 / n }' "$tmp/strace.out")
        [ -n "$sys" ] || sys="null"
      fi
      stop_server
      rps=$(awk '/^Requests\/sec:/ {print $2}' "$tmp/wrk.out")
      p() { to_us "$(awk -v q="$1%" '$1 == q {print $2}' "$tmp/wrk.out")"; }
      p50=$(p 50); p90=$(p 90); p99=$(p 99)
      errs=$(awk '/Non-2xx|Socket errors/ {print}' "$tmp/wrk.out" | tr '\n' ' ')
      reqs=$((n1 - n0))
      cpu=$(awk -v t=$((t1 - t0)) -v hz="$HZ" -v n="$reqs" 'BEGIN { printf "%.4f", n ? t / hz / n * 1000 : 0 }')
      printf '| %s | %s | %s | %.0f | %s | %s | %s | %s | %s |\n' "$h" "$c" "$work" "$rps" "$p50" "$p90" "$p99" "$cpu" "$sys" | tee -a "$OUT.txt"
      [ -n "$errs" ] && echo "  wrk: $errs" | tee -a "$OUT.txt"
      printf '{"handoff":"%s","connections":%s,"work":"%s","requests_per_s":%s,"p50_us":%s,"p90_us":%s,"p99_us":%s,"requests":%s,"cpu_s_per_1k":%s,"syscalls_per_req":%s}\n' \
        "$h" "$c" "$work" "$rps" "$p50" "$p90" "$p99" "$reqs" "$cpu" "$sys" >>"$tmp/rows.json"
      echo "$h c$c/w$work $rps $cpu $p99" >>"$tmp/plot.dat"
    done
  done
done

{
  printf '{"machine":{"cpus":%s,"model":"%s","kernel":"%s"},\n' "$(nproc)" \
    "$(lscpu | sed -n 's/^Model name: *//p' | head -1)" "$(uname -r)"
  printf ' "config":{"io_threads":%s,"workers":%s,"wrk_threads":%s,"duration_s":%s,"syscalls_by":"%s"},\n' \
    "$IO_THREADS" "$WORKERS" "$WRK_THREADS" "$DURATION" "$SYSCALLS"
  printf ' "rows":[\n'
  sed '$!s/$/,/' "$tmp/rows.json"
  printf ']}\n'
} >"$OUT.json"

if command -v gnuplot >/dev/null; then
  # One column per handoff, one row per sweep point.
  hs=($HANDOFFS)
  : >"$tmp/grid.dat"
  for key in $(awk '{print $2}' "$tmp/plot.dat" | awk '!s[$0]++'); do
    line=$key
    for h in "${hs[@]}"; do line+=" $(awk -v h="$h" -v k="$key" '$1 == h && $2 == k {print $3}' "$tmp/plot.dat")"; done
    for h in "${hs[@]}"; do line+=" $(awk -v h="$h" -v k="$key" '$1 == h && $2 == k {print $4 * 1000}' "$tmp/plot.dat")"; done
    echo "$line" >>"$tmp/grid.dat"
  done
  n=${#hs[@]}
  {
    echo "set multiplot layout 2,1 title 'uipc-httpd under wrk: $(nproc) CPUs, $IO_THREADS I/O + $WORKERS worker threads'"
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
  { echo "set terminal pngcairo size 900,600 font 'sans,9'"; echo "set output '$OUT.png'"; cat "$tmp/plot.gp"; } | gnuplot 2>/dev/null &&
    echo "plot: $OUT.png"
fi
echo "table: $OUT.txt  json: $OUT.json"
