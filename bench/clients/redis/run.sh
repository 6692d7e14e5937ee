#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Redis 8 on uipc: stock against patched (redis-uipc.patch, USE_UIPC=yes),
# Debian 13's redis source, this tree's uipc.
#  1. Debian 13 "trixie" chroot (the one scripts/kmod-newest.sh keeps under
#     /var/cache/uipc-newest, made with debootstrap when absent), deb-src
#     lines added, `apt-get source redis` in it;
#  2. uipc from this tree (release, static libuipc.a), redis-server built
#     stock and patched from the same source with the same flags;
#  3. a fixed subset of Redis's own tests with io-threads on, against both:
#     both must pass;
#  4. redis-benchmark, stock and patched alternating (the order flips every
#     round), io-threads 2 and 4, 1 and 50 clients, pipeline 1 and 16, one
#     client thread: req/s, p50/p99, server CPU per request (utime+stime of
#     /proc/PID/stat); then a separate pass per point under
#     `perf stat -e raw_syscalls:sys_enter --per-thread` for syscalls per
#     request per thread kind (main thread, I/O threads, others);
#  5. results under bench/results/redis-DATE/ (raw.csv, syscalls.csv,
#     summary.md, the test logs, the machine).
#
# Usage: bench/clients/redis/run.sh     (root, Debian 12 or later, x86-64)
# Env:   ROUNDS (default 3), OUT (results folder), SKIP_TESTS=1, SKIP_BENCH=1,
#        UIPC_REDIS_CACHE (builds; default /var/cache/uipc-redis),
#        UIPC_REDIS_CHROOT (default /var/cache/uipc-newest/trixie),
#        UIPC_REDIS_MIRROR (default http://deb.debian.org/debian),
#        REDIS_TESTS (the test units, space-separated).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
dir=$here/bench/clients/redis
cache=${UIPC_REDIS_CACHE:-/var/cache/uipc-redis}
root=${UIPC_REDIS_CHROOT:-/var/cache/uipc-newest/trixie}
mirror=${UIPC_REDIS_MIRROR:-http://deb.debian.org/debian}
rounds=${ROUNDS:-3}
out=${OUT:-$here/bench/results/redis-$(date -u +%Y%m%d)}
tests=${REDIS_TESTS:-unit/type/incr unit/type/string unit/type/list unit/multi unit/pause unit/pubsub integration/replication-2}
# The same flags for both builds: libc malloc (no jemalloc build), -O2
# without LTO (a build is minutes, not a quarter of an hour, on 2 vCPUs).
mkflags=(MALLOC=libc BUILD_TLS=no OPTIMIZATION=-O2)
start=$SECONDS

log() { printf 'redis-bench: %s (%ss)\n' "$*" "$((SECONDS - start))"; }
die() { printf 'redis-bench: FAIL: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root (debootstrap, chroot, perf)"
[ "$(uname -m)" = x86_64 ] || die "x86-64 only"
. "$here/scripts/apt.sh"
apt_install gcc make pkg-config meson ninja-build tcl procps python3 debootstrap linux-perf ||
	die "cannot install the host packages"
mkdir -p "$cache" "$out"

servers=()
mounted=()
cleanup() {
	local p m
	for p in "${servers[@]}"; do kill "$p" 2>/dev/null || true; done
	for m in "${mounted[@]}"; do umount -l "$m" 2>/dev/null || true; done
}
trap cleanup EXIT

# ---- 1. the source, from Debian 13 -----------------------------------------
in_chroot() {
	chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
		LC_ALL=C.UTF-8 DEBIAN_FRONTEND=noninteractive "$@"
}
fetch_source() {
	local orig
	if [ ! -e "$root/.uipc-debootstrap" ]; then
		log "debootstrap trixie into $root"
		rm -rf "$root" && mkdir -p "$(dirname "$root")"
		debootstrap --variant=minbase trixie "$root" "$mirror" >"$cache/debootstrap.log" 2>&1 ||
			die "debootstrap failed; see $cache/debootstrap.log"
		touch "$root/.uipc-debootstrap"
		printf 'deb %s trixie main\n' "$mirror" >"$root/etc/apt/sources.list"
	fi
	cp /etc/resolv.conf "$root/etc/resolv.conf"
	# Source lines of our own (kmod-newest.sh rewrites sources.list and
	# empties sources.list.d on its runs: both are set again here).
	printf 'deb-src %s trixie main\ndeb-src %s-security trixie-security main\n' \
		"$mirror" "$mirror" >"$root/etc/apt/sources.list.d/uipc-redis-src.list"
	in_chroot apt-get -qq update >"$cache/apt.log" 2>&1 || die "apt-get update in the chroot failed"
	[ -x "$root/usr/bin/dpkg-source" ] ||
		in_chroot apt-get -qq install --no-install-recommends dpkg-dev >>"$cache/apt.log" 2>&1 ||
		die "cannot install dpkg-dev in the chroot"
	rm -rf "$root/tmp/uipc-redis-src" && mkdir -p "$root/tmp/uipc-redis-src"
	# apt-get source verifies every file against the Sources index. Where the
	# mirror serves the upstream tarball but not the .dsc and the Debian
	# diff (this workplace's did), it still leaves the tarball: that is the
	# one the builds use either way (Debian's diff links system libraries;
	# the comparison wants Redis's own tree, the same for both builds).
	in_chroot sh -c 'cd /tmp/uipc-redis-src && apt-get source -qq redis' >>"$cache/apt.log" 2>&1 ||
		log "apt-get source redis did not finish (see $cache/apt.log): using its upstream tarball"
	orig=$(ls "$root"/tmp/uipc-redis-src/redis_*.orig.tar.* 2>/dev/null | head -n 1)
	[ -n "$orig" ] || die "apt-get source redis fetched no tarball; see $cache/apt.log"
	cp "$orig" "$cache/"
	basename "$orig" >"$cache/source"
	in_chroot apt-cache showsrc redis 2>/dev/null | sed -n 's/^Version: //p' | head -n 1 >"$cache/version"
}
(
	# The chroot's other user (kmod-newest.sh) holds the lock for the whole
	# of its run: with a tarball fetched before, use that after a minute.
	if ! flock -w 60 9; then
		[ -s "$cache/source" ] && [ -e "$cache/$(cat "$cache/source")" ] && {
			log "the chroot is busy (another script holds $(dirname "$root")/.lock): the source fetched before serves"
			exit 0
		}
		log "waiting for the chroot's lock ($(dirname "$root")/.lock)"
		flock 9
	fi
	if ! mountpoint -q "$root/proc" 2>/dev/null && [ -d "$root/proc" ]; then
		mount -t proc proc "$root/proc" && trap 'umount -l "$root/proc"' EXIT
	fi
	fetch_source
) 9>"$(dirname "$root")/.lock"
tarball=$cache/$(cat "$cache/source")
log "source: $(basename "$tarball") (Debian 13 redis $(cat "$cache/version"))"

# ---- 2. builds -------------------------------------------------------------
log "uipc (release, static) from $here"
[ -f "$cache/uipc-build/build.ninja" ] ||
	nice -n 10 meson setup "$cache/uipc-build" "$here" --buildtype=release -Dtests=disabled \
		-Dexamples=disabled -Dbench=disabled -Dhwloc=disabled -Dnuma=disabled >"$cache/uipc-build.log" 2>&1 ||
	die "meson setup failed; see $cache/uipc-build.log"
nice -n 10 ninja -C "$cache/uipc-build" -j2 src/libuipc.a >>"$cache/uipc-build.log" 2>&1 ||
	die "uipc build failed; see $cache/uipc-build.log"

build_redis() { # variant
	local v=$1 t=$cache/redis-$1 key
	key=$(cat "$tarball" "$dir/redis-uipc.patch" "$cache/uipc-build/src/libuipc.a" | sha256sum | cut -c1-16)
	[ "$v" = stock ] && key=$(sha256sum "$tarball" | cut -c1-16)
	if [ -x "$t/src/redis-server" ] && [ "$(cat "$t/.uipc-key" 2>/dev/null)" = "$key" ]; then
		log "redis $v: built already"
		return
	fi
	log "redis $v: building"
	rm -rf "$t" && mkdir -p "$t"
	tar -xf "$tarball" -C "$t" --strip-components=1
	if [ "$v" = uipc ]; then
		patch -d "$t" -p1 <"$dir/redis-uipc.patch" >/dev/null || die "the patch does not apply"
		nice -n 10 make -C "$t" -j2 "${mkflags[@]}" USE_UIPC=yes \
			UIPC_CFLAGS="-I$here/include -I$cache/uipc-build/include" \
			UIPC_LIBS="$cache/uipc-build/src/libuipc.a -lpthread" >"$cache/build-$v.log" 2>&1 ||
			die "redis $v build failed; see $cache/build-$v.log"
		# (no grep -q: under pipefail, nm's SIGPIPE would fail the pipeline)
		nm "$t/src/redis-server" | grep ' uipc_rx_arm$' >/dev/null || die "redis $v has no uipc in it"
	else
		nice -n 10 make -C "$t" -j2 "${mkflags[@]}" >"$cache/build-$v.log" 2>&1 ||
			die "redis $v build failed; see $cache/build-$v.log"
	fi
	echo "$key" >"$t/.uipc-key"
}
build_redis stock
build_redis uipc
stock=$cache/redis-stock/src
uipc=$cache/redis-uipc/src

# ---- 3. Redis's own tests, io-threads on -----------------------------------
if [ "${SKIP_TESTS:-0}" != 1 ]; then
	rm -f "$out/tests.txt"
	for v in stock uipc; do
		args=()
		for u in $tests; do args+=(--single "$u"); done
		log "tests on $v: io-threads 2: $tests"
		t0=$SECONDS
		if (cd "$cache/redis-$v" && nice -n 5 ./runtest --clients 4 --config io-threads 2 \
			--tags -slow "${args[@]}") >"$out/tests-$v.log" 2>&1; then
			ok=$(sed 's/\x1b\[[0-9;]*m//g' "$out/tests-$v.log" | grep -c '^\[ok\]' || true)
			log "tests on $v: passed, $ok tests ($((SECONDS - t0))s)"
			echo "$v: io-threads 2, $ok tests passed, none failed, $((SECONDS - t0)) s: $tests" >>"$out/tests.txt"
		else
			tail -n 30 "$out/tests-$v.log" >&2
			die "tests on $v failed; see $out/tests-$v.log"
		fi
	done
fi

# ---- 4. redis-benchmark ----------------------------------------------------
[ "${SKIP_BENCH:-0}" = 1 ] && { log "done (SKIP_BENCH): $out"; exit 0; }
port=7391
server_start() { # variant io-threads
	local bin=$stock
	[ "$1" = uipc ] && bin=$uipc
	"$bin/redis-server" --port $port --io-threads "$2" --save '' --appendonly no \
		--daemonize no --logfile "$cache/server-$1.log" --dir "$cache" &
	spid=$!
	servers+=("$spid")
	for _ in $(seq 100); do
		"$stock/redis-cli" -p $port ping 2>/dev/null | grep -q PONG && return 0
		sleep 0.1
	done
	die "redis-server $1 did not start; see $cache/server-$1.log"
}
server_stop() {
	"$stock/redis-cli" -p $port shutdown nosave >/dev/null 2>&1 || true
	wait "$spid" 2>/dev/null || true
	servers=()
}
cpu_ticks() { awk '{print $14 + $15}' "/proc/$spid/stat"; }
nreq() { # clients pipeline -> requests for a run of about a second or two
	case "$1/$2" in
	1/1) echo 10000 ;; 50/1) echo 50000 ;; 1/16) echo 100000 ;; *) echo 300000 ;;
	esac
}
bench_one() { # variant threads round clients pipeline test
	local n c0 c1 line
	n=$(nreq "$4" "$5")
	c0=$(cpu_ticks)
	line=$("$stock/redis-benchmark" -p $port -c "$4" -P "$5" -n "$n" -t "$6" --csv | tail -n 1)
	c1=$(cpu_ticks)
	# "test","rps","avg","min","p50","p95","p99","max"
	echo "$line" | tr -d '"' | awk -F, -v v="$1" -v th="$2" -v r="$3" -v c="$4" -v p="$5" \
		-v n="$n" -v cpu=$((c1 - c0)) -v hz="$(getconf CLK_TCK)" \
		'{ printf "%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%.3f\n", th, c, p, tolower($1), v, r, $2, $5, $7, n, cpu / hz * 1e6 / n }' \
		>>"$out/raw.csv"
}
# Every point, round by round: io-threads 2 and 4, a fresh server per round
# and variant, stock and patched alternating with the order flipped every
# round; fn variant threads round clients pipeline test runs one point.
alternate() { # what rounds fn
	local th r v c p t order
	for th in 2 4; do
		for r in $(seq "$2"); do
			order="stock uipc"
			((r % 2 == 0)) && order="uipc stock"
			for v in $order; do
				log "$1 io-threads $th round $r: $v"
				server_start "$v" "$th"
				"$stock/redis-benchmark" -p $port -n 20000 -t set -q >/dev/null # warm-up, and keys for GET
				for c in 1 50; do
					for p in 1 16; do
						for t in set get; do "$3" "$v" "$th" "$r" "$c" "$p" "$t"; done
					done
				done
				server_stop
			done
		done
	done
}
echo "io_threads,clients,pipeline,test,variant,round,rps,p50_ms,p99_ms,requests,cpu_us_per_req" >"$out/raw.csv"
alternate bench "$rounds" bench_one

# Syscalls per request per thread kind: separate passes (perf's counting is
# cheap, but kept out of the timed runs), as many as the timed rounds (one
# pass is at the mercy of the machine's phase: a loaded VM deschedules the
# loops, which then sleep and get kicked more often): in-kernel counts of
# the raw_syscalls:sys_enter tracepoint per thread of the server, and of the
# calls that carry the wakeups, while one redis-benchmark run of the same
# shape goes. preadv2 is uipc's drain (a read that never blocks).
mountpoint -q /sys/kernel/tracing || mount -t tracefs nodev /sys/kernel/tracing 2>/dev/null || true
kinds="epoll_wait read write preadv2"
events=raw_syscalls:sys_enter
for k in $kinds; do events+=",syscalls:sys_enter_$k"; done
syscalls_one() { # variant threads round clients pipeline test
	local n
	n=$(nreq "$4" "$5")
	perf stat -x, -e "$events" --per-thread -p "$spid" -o "$cache/perf.txt" -- \
		"$stock/redis-benchmark" -p $port -c "$4" -P "$5" -n "$n" -t "$6" -q >/dev/null 2>&1 ||
		die "perf stat failed"
	# comm-tid,count,...: the main thread is redis-server, I/O threads io_thd_N
	awk -F, -v pre="$2,$4,$5,$6,$1,$3,$n" -v kinds="$kinds" '
		/sys_enter/ { k = "other"
			if ($1 ~ /^redis-server-/) k = "main"; else if ($1 ~ /^io_thd_/) k = "io"
			e = $4; sub(/.*sys_enter_?/, "", e); if (e == "") e = "all"
			s[k, e] += $2 + 0 }
		END { printf "%s,%d,%d,%d", pre, s["main", "all"], s["io", "all"], s["other", "all"]
			nk = split(kinds, ks, " ")
			for (i = 1; i <= nk; i++) printf ",%d,%d", s["main", ks[i]], s["io", ks[i]]
			printf "\n" }' \
		"$cache/perf.txt" >>"$out/syscalls.csv"
}
{
	printf "io_threads,clients,pipeline,test,variant,round,requests,main,io,other"
	for k in $kinds; do printf ",main_%s,io_%s" "$k" "$k"; done
	echo
} >"$out/syscalls.csv"
alternate syscalls "${SYSCALL_ROUNDS:-$rounds}" syscalls_one

# ---- 5. the summary ----------------------------------------------------------
{
	echo "machine: $(nproc) vCPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')," \
		"$(systemd-detect-virt 2>/dev/null || echo '?') VM, $(. /etc/os-release && echo "$PRETTY_NAME")," \
		"kernel $(uname -r); load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "redis: $(basename "$tarball") (Debian 13 redis $(cat "$cache/version")), ${mkflags[*]}"
	echo "uipc: $(git -C "$here" describe --always --dirty 2>/dev/null || echo '?'); rounds: $rounds"
} >"$out/machine.txt"
python3 "$dir/summary.py" "$out" >"$out/summary.md"
cat "$out/summary.md"
log "done: $out"
