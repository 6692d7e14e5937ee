#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Model-check the notify/wait protocol, the channel, and MPSC claims with a
# dying producer (mpsc.pml), and the futex backend's private/shared futex
# switch (futex-share.pml) with spin.
#
#   run-spin.sh SUITE     SUITE: notify | notify-broken | chan | chan-broken |
#                                mpsc | mpsc-broken | futex-share |
#                                futex-share-broken | all
#
# Each check generates the verifier with `spin -a`, compiles it with gcc and
# runs it. Safety checks (assertions, invalid end states) are built with
# -DSAFETY -DNOCLAIM; liveness checks verify the model's ltl property with
# acceptance cycles under weak fairness (-a -f); progress checks look for
# non-progress cycles (-DNP, pan -l: a loop of the receiver alone, e.g. an
# idle event loop that never sleeps). A check passes when pan
# reports "errors: 0" on a full (not truncated) search. The broken suites
# run variants with one barrier removed and pass only when every check finds
# the error; the counterexample (the model's printf lines) is printed.
#
# Exit: 0 all passed, 1 a check failed, 77 spin or gcc missing (skip).
# Environment: SPIN, CC (default spin, gcc), SPIN_KEEP=1 keeps the work dir.

set -u

SPIN=${SPIN:-spin}
CC=${CC:-gcc}
here=$(cd "$(dirname "$0")" && pwd)

if ! command -v "$SPIN" >/dev/null 2>&1; then
	echo "SKIP: spin not found (Debian: apt-get install spin)"
	exit 77
fi
if ! command -v "$CC" >/dev/null 2>&1; then
	echo "SKIP: $CC not found"
	exit 77
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/uipc-spin.XXXXXX") || exit 1
if [ "${SPIN_KEEP:-0}" = 1 ]; then
	echo "work dir: $work"
else
	trap 'rm -rf "$work"' EXIT
fi
cp "$here"/*.pml "$work"/ || exit 1
cd "$work" || exit 1

failed=0
n=0

# check NAME KIND EXPECT MODEL [spin -D options...]
#   KIND: safety | liveness | progress; EXPECT: pass | fail
check() {
	name=$1 kind=$2 expect=$3 model=$4
	shift 4
	n=$((n + 1))
	# the ltl property alone must catch a lost wakeup in liveness runs
	[ "$kind" != safety ] && set -- "$@" -DNOWATCHDOG
	rm -f pan pan.* "$model.trail" _spin_nvr.tmp
	if ! "$SPIN" "$@" -a "$model" >spin.log 2>&1 || [ ! -f pan.c ]; then
		cat spin.log
		echo "FAIL $name: spin -a failed"
		failed=1
		return
	fi
	if [ "$kind" = safety ]; then
		cflags="-DSAFETY -DNOCLAIM"
		rflags=""
	elif [ "$kind" = progress ]; then
		# non-progress cycles (the built-in np_ claim instead of the ltl)
		cflags="-DNP -DNOCLAIM"
		rflags="-l"
	else
		cflags="-DNFAIR=4"
		rflags="-a -f"
	fi
	# -DMEMLIM: stop rather than swap; -m: search depth bound (checked below)
	# shellcheck disable=SC2086
	if ! "$CC" -O2 -w $cflags -DMEMLIM=2048 -o pan pan.c >cc.log 2>&1; then
		cat cc.log
		echo "FAIL $name: $CC failed"
		failed=1
		return
	fi
	# shellcheck disable=SC2086
	./pan $rflags -m200000 >pan.log 2>&1
	errors=$(sed -n 's/.*errors: \([0-9][0-9]*\).*/\1/p' pan.log | tail -n 1)
	states=$(sed -n 's/^ *\([0-9.e+]*\) states, stored.*/\1/p' pan.log | head -n 1)
	depth=$(sed -n 's/.*depth reached \([0-9]*\).*/\1/p' pan.log | head -n 1)
	mem=$(sed -n 's/^ *\([0-9.]*\).*total actual memory usage.*/\1/p' pan.log | head -n 1)
	secs=$(sed -n 's/^pan: elapsed time \([0-9.e+-]*\) seconds.*/\1/p' pan.log | head -n 1)
	what=$(grep -E '^pan:[0-9]+: |^pan: (error|out of memory)' pan.log | head -n 1)
	echo "$name ($kind, $model $*): errors=${errors:-?} states=${states:-?}" \
		"depth=${depth:-?} memory=${mem:-?}MB time=${secs:-?}s"
	# a search that stops at the first error is "not completed": fine then
	if [ -z "$errors" ] || grep -qE 'search depth too small|out of memory' pan.log ||
		{ [ "$errors" = 0 ] && grep -q 'Search not completed' pan.log; }; then
		cat pan.log
		echo "FAIL $name: incomplete search"
		failed=1
		return
	fi
	if [ "$expect" = pass ]; then
		if [ "$errors" != 0 ]; then
			echo "FAIL $name: $what"
			trail "$model" "$@"
			failed=1
		else
			echo "ok   $name"
		fi
	else
		if [ "$errors" = 0 ]; then
			echo "FAIL $name: the checker accepted a broken variant"
			failed=1
		else
			echo "ok   $name rejected as expected: $what"
			trail "$model" "$@"
		fi
	fi
}

# trail MODEL [spin -D options...]: print the counterexample's printf lines
trail() {
	model=$1
	shift
	[ -f "$model.trail" ] || return
	echo "  counterexample (printf lines of the trail):"
	"$SPIN" "$@" -t "$model" 2>&1 | grep -vE '^ltl |^spin: trail|^ *$|^#processes|^[0-9]+ process|^ *[0-9]+: *proc ' |
		sed -e 's/^ */    /' | head -n 60
}

suite_notify() {
	# 2 senders on one vector, 2 notifies each, one failing kick (retried),
	# a peer that forges ON|CLOSED before an arm (and writes the eventfd)
	check notify-wait-safety safety pass notify.pml -DRXMODE=0
	check notify-wait-liveness liveness pass notify.pml -DRXMODE=0
	check notify-wait-progress progress pass notify.pml -DRXMODE=0
	# 3 senders on 2 vectors (coalescing across senders), no failure, no peer
	check notify-wait-3s-safety safety pass notify.pml -DRXMODE=0 -DNS=3 -DNBITS=2 -DFAILKICK=0 -DPEER=0
	check notify-handler-safety safety pass notify.pml -DRXMODE=1
	check notify-handler-liveness liveness pass notify.pml -DRXMODE=1
	check notify-epoll-safety safety pass notify.pml -DRXMODE=2
	check notify-epoll-liveness liveness pass notify.pml -DRXMODE=2
	check notify-epoll-progress progress pass notify.pml -DRXMODE=2
}

suite_notify_broken() {
	check notify-broken-arm-safety safety fail notify.pml -DBROKEN=1
	check notify-broken-arm-liveness liveness fail notify.pml -DBROKEN=1
	check notify-broken-or-safety safety fail notify.pml -DBROKEN=2
	check notify-broken-or-liveness liveness fail notify.pml -DBROKEN=2
	check notify-broken-handler-safety safety fail notify.pml -DRXMODE=1 -DBROKEN=3
	check notify-broken-epoll-safety safety fail notify.pml -DRXMODE=2 -DBROKEN=1
	# the 0.x drain: a late kick or a stray write keeps epoll_wait returning
	check notify-broken-drain-progress progress fail notify.pml -DRXMODE=2 -DBROKEN=4
	check notify-broken-drain-late-kick-progress progress fail notify.pml -DRXMODE=2 -DBROKEN=4 -DPEER=0
	# no unpost after a failed kick: later notifies do not kick
	check notify-broken-unpost-safety safety fail notify.pml -DRXMODE=0 -DBROKEN=5
	check notify-broken-unpost-liveness liveness fail notify.pml -DRXMODE=0 -DBROKEN=5
	check notify-broken-unpost-handler-safety safety fail notify.pml -DRXMODE=1 -DBROKEN=5
	# arming keeps a forged ON (fetch_and ~SN): the senders stay silent
	check notify-broken-forged-on-safety safety fail notify.pml -DRXMODE=0 -DBROKEN=6
	check notify-broken-forged-on-liveness liveness fail notify.pml -DRXMODE=0 -DBROKEN=6
	check notify-broken-forged-on-epoll-safety safety fail notify.pml -DRXMODE=2 -DBROKEN=6
}

suite_futex_share() {
	# 1 local and 1 remote sender, 2 notifies each, the exposure at any point
	check futex-share-safety safety pass futex-share.pml
	check futex-share-liveness liveness pass futex-share.pml
	# 2 local senders (ABA on the armed status across the switch)
	check futex-share-2l-safety safety pass futex-share.pml -DNL=2 -DNX=0
	check futex-share-2l-liveness liveness pass futex-share.pml -DNL=2 -DNX=0
	# a failing kick (unpost, notify again) needs the exposure's mark to
	# survive the unpost: a bit of its own (XBIT), not ON
	check futex-share-failkick-safety safety pass futex-share.pml -DFAILKICK=1 -DSPIN=0 -DNOTIFIES=1
	check futex-share-failkick-liveness liveness pass futex-share.pml -DFAILKICK=1 -DSPIN=0 -DNOTIFIES=1
}

suite_futex_share_broken() {
	check futex-share-broken-no-on-safety safety fail futex-share.pml -DBROKEN=1
	check futex-share-broken-no-on-liveness liveness fail futex-share.pml -DBROKEN=1
	check futex-share-broken-private-wake-safety safety fail futex-share.pml -DBROKEN=2
	check futex-share-broken-private-wake-liveness liveness fail futex-share.pml -DBROKEN=2
	check futex-share-broken-mode-before-cas-safety safety fail futex-share.pml -DBROKEN=3
	check futex-share-broken-mode-before-cas-liveness liveness fail futex-share.pml -DBROKEN=3
	check futex-share-broken-mode-before-arm-safety safety fail futex-share.pml -DBROKEN=4
	check futex-share-broken-mode-before-arm-liveness liveness fail futex-share.pml -DBROKEN=4
	# the exposure's ON as specified, with a failing kick: the remote
	# sender's unpost clears it, the receiver sleeps private
	check futex-share-broken-on-failkick-safety safety fail futex-share.pml -DXBIT=0 -DFAILKICK=1 -DSPIN=0 -DNOTIFIES=1
	check futex-share-broken-on-failkick-liveness liveness fail futex-share.pml -DXBIT=0 -DFAILKICK=1 -DSPIN=0 -DNOTIFIES=1
}

suite_chan() {
	check chan-safety safety pass chan.pml
	check chan-liveness liveness pass chan.pml
	# lazy head publishing (every BATCH messages, as a ring of 8 does)
	check chan-batch-safety safety pass chan.pml -DCAP=4 -DNITEMS=7 -DBATCH=2
	check chan-batch-liveness liveness pass chan.pml -DCAP=4 -DNITEMS=7 -DBATCH=2
}

suite_mpsc() {
	check mpsc-safety safety pass mpsc.pml
	check mpsc-ring3-safety safety pass mpsc.pml -DCAP=3 -DNITEMS=4
	check mpsc-3prod-safety safety pass mpsc.pml -DNPROD=3 -DNITEMS=1
}

suite_mpsc_broken() {
	check mpsc-broken-record-late safety fail mpsc.pml -DBROKEN=1
	check mpsc-broken-record-kept safety fail mpsc.pml -DNPROD=3 -DNITEMS=1 -DBROKEN=2
}

suite_chan_broken() {
	check chan-broken-seq-safety safety fail chan.pml -DBROKEN=1
	check chan-broken-seq-liveness liveness fail chan.pml -DBROKEN=1
	check chan-broken-head-safety safety fail chan.pml -DBROKEN=2
	check chan-broken-head-liveness liveness fail chan.pml -DBROKEN=2
}

case "${1:-all}" in
notify) suite_notify ;;
notify-broken) suite_notify_broken ;;
chan) suite_chan ;;
chan-broken) suite_chan_broken ;;
mpsc) suite_mpsc ;;
mpsc-broken) suite_mpsc_broken ;;
futex-share) suite_futex_share ;;
futex-share-broken) suite_futex_share_broken ;;
all)
	suite_notify
	suite_notify_broken
	suite_chan
	suite_chan_broken
	suite_mpsc
	suite_mpsc_broken
	suite_futex_share
	suite_futex_share_broken
	;;
*)
	echo "usage: $0 notify|notify-broken|chan|chan-broken|mpsc|mpsc-broken|futex-share|futex-share-broken|all" >&2
	exit 2
	;;
esac

if [ "$failed" != 0 ]; then
	echo "FAILED ($n checks)"
	exit 1
fi
echo "PASSED ($n checks)"
exit 0
