#!/bin/busybox sh
# SPDX-License-Identifier: MIT
# /init of the emulated Sapphire Rapids guest (scripts/uintr-emu.sh): loads
# the shim with the hardware enabled and runs the uintr tests on it. Every
# step prints "STEP ok: NAME" or "STEP FAIL: NAME"; the host counts them.
# Results here are "emulated" (Bochs), never "hardware".
/bin/busybox --install -s /bin
export PATH=/bin:/t
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /tmp /dev/shm
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /dev/shm
cd /tmp
. /t/emu.env
echo "== uipc uintr-emu in $(uname -r), $(grep -c ^processor /proc/cpuinfo) CPUs: $(grep -m1 'model name' /proc/cpuinfo)"
fails=0
step() { # name timeout command...
	n=$1
	t=$2
	shift 2
	echo "-- $n"
	# Output straight to the console (a tty: line-buffered, progress visible).
	s=$(date +%s)
	case $(type "$1" 2>/dev/null) in
	*function*) # shell checks below: each bounds itself
		"$@" >/dev/console 2>&1
		rc=$?
		;;
	*)
		timeout -s KILL "$t" "$@" >/dev/console 2>&1
		rc=$?
		;;
	esac
	echo "   (rc $rc, $(($(date +%s) - s))s)"
	if [ $rc = 0 ]; then
		echo "STEP ok: $n"
	else
		echo "STEP FAIL: $n (rc $rc)"
		fails=$((fails + 1))
	fi
}
is_dev() { [ -c /dev/uintr ]; }
no_dev() { [ ! -e /dev/uintr ]; }
hw_enabled() { dmesg | grep -q 'uipc_uintr: /dev/uintr ready (ABI 1, hardware enabled)'; }
wake_own() { dmesg | grep -q 'uipc_uintr: blocked waits are woken by the notification (own interrupt, one per CPU: uipc-wake)'; }
wake_kvm() { dmesg | grep -q "uipc_uintr: blocked waits are woken by the notification (KVM's wakeup vector 0xf1; fallback: wake=kvm)"; }
# The own wake interrupt: one "uipc-wake" row per CPU in /proc/interrupts while loaded, none after.
own_irqs() { # count
	nirq=$(grep -c ' uipc-wake$' /proc/interrupts)
	grep ' uipc-wake$' /proc/interrupts
	[ "$nirq" = "$1" ]
}
# kvm_intel in this guest: Bochs is built with VMX (--enable-vmx=2). Loads
# KVM's modules; the step passes whether kvm_intel loads or not and says
# which (a failed load is the stand-in: it takes the module-notifier path).
kvm_try() {
	insmod /t/irqbypass.ko && insmod /t/kvm.ko || return 1
	if insmod /t/kvm-intel.ko; then
		echo "KVM-INTEL: loaded in the emulated guest"
		lsmod | grep kvm
	else
		echo "KVM-INTEL: did not load (see dmesg)"
		dmesg | grep -i 'kvm' | tail -5
	fi
	return 0
}
kvm_live() { grep -q '^kvm_intel ' /proc/modules; }
kvm_takes() {
	kvm_try && kvm_live || { echo "kvm_intel did not load: nothing to hand over"; return 0; }
	dmesg | grep -q 'uipc_uintr: kvm_intel is loading and takes the wakeup vector: blocked waits now poll every 50 us' &&
		/t/uintr-wake idle poll 1
}
kvm_refused() {
	insmod /t/uipc_uintr.ko wake=kvm || return 1
	dmesg | grep -q 'uipc_uintr: wake=kvm: no such wake here; UINTR stays off' &&
		dmesg | tail -3 | grep -q 'hardware absent' && rmmod uipc_uintr
}
kvm_gone() {
	grep -q '^kvm_intel ' /proc/modules && rmmod kvm_intel
	rmmod kvm && rmmod irqbypass
}
wake_poll() { dmesg | grep -q 'uipc_uintr: blocked waits poll every 50 us (wake=poll)'; }
info_has() { # pattern...
	timeout -s KILL 60 /t/uipc-info >/tmp/info.txt 2>&1 || return 1
	cat /tmp/info.txt
	for p in "$@"; do grep -q "$p" /tmp/info.txt || { echo "missing: $p"; return 1; }; done
}
refcnt0() { [ "$(cat /sys/module/uipc_uintr/refcnt)" = 0 ]; }
# rmmod right after registered threads died can meet the module's deferred
# free (irq_work, then a work item, then an RCU grace period): up to 50
# tries, 100 ms apart; the count of retries is printed.
rmmod_retry() {
	i=0
	while [ $i -lt 50 ]; do
		if refcnt0 && rmmod uipc_uintr 2>/dev/null; then
			echo "rmmod after $i retries"
			return 0
		fi
		i=$((i + 1))
		usleep 100000
	done
	echo "refcnt still $(cat /sys/module/uipc_uintr/refcnt)"
	return 1
}
cpu1_cycle() { echo 0 >/sys/devices/system/cpu/cpu1/online && echo 1 >/sys/devices/system/cpu/cpu1/online; }
cpu1_online() { [ "$(cat /sys/devices/system/cpu/cpu1/online)" = 1 ]; }

step "no /dev/uintr before insmod" 10 no_dev
step "insmod uipc_uintr.ko" 30 insmod /t/uipc_uintr.ko
step "module says hardware enabled" 10 hw_enabled
step "module says blocked waits are woken by the notification (own interrupt)" 10 wake_own
step "one own wake interrupt per CPU in /proc/interrupts" 10 own_irqs 2
step "/dev/uintr appears" 10 is_dev
step "uipc-info: CPUID bit, shim, auto picks uintr, woken by the notification" 60 info_has \
	'CPUID.(7,0):EDX\[5\] *set' 'kernel interface *shim' 'usable *available' 'auto picks *uintr' \
	"blocked wait woken *by the notification: the shim's own interrupt"
# Blocked waits (uintr_wait): woken by the notification's own interrupt, once.
step "blocked wake by the notification: threads and processes" 300 /t/uintr-wake measure own 100
step "the same, receiver's CPU kept out of cpuidle" 300 /t/uintr-wake measure own 100 busy
step "idle blocked receiver: no periodic wakeup" 120 /t/uintr-wake idle own 2
step "blocked/woken stress, CPU 1 offline/online in the middle" 600 /t/uintr-wake stress 400
step "module ABI test, hardware mode" 60 /t/uintr-kmod-test --expect-hw
step "RFC selftest cases on the shim" 300 /t/uintr-selftest
step "library: auto, handler mode with AVX, mask/unmask, waits" 300 /t/uintr-emu-lib auto handler wait
step "library: receiver exits/execs/SIGKILLed while senders post" 300 /t/uintr-emu-lib lifecycle
step "library: CPU 1 offline/online while a receiver waits" 300 /t/uintr-emu-lib hotplug
step "cpu1 offline and online again, module loaded" 60 cpu1_cycle
step "cpu1 online" 10 cpu1_online
step "own wake interrupts still one per CPU after the hotplug" 10 own_irqs 2
# kvm_intel next to the own wake: it must change nothing.
if [ -r /t/kvm-intel.ko ]; then
	step "load KVM's modules (kvm_intel: loaded or not, said)" 60 kvm_try
	step "with kvm_intel tried: blocked wake counts" 300 /t/uintr-wake measure own 100
	step "with kvm_intel tried: idle blocked receiver" 120 /t/uintr-wake idle own 2
	step "with kvm_intel tried: blocked/woken stress, CPU 1 offline/online" 600 /t/uintr-wake stress 200
fi
for r in /t/regress-uintr-*; do
	[ -x "$r" ] && step "regression ${r#/t/regress-} on uintr" 120 env UIPC_BACKEND=uintr "$r"
done
step "examples/pingpong on uintr" 120 env UIPC_BACKEND=uintr /t/pingpong 200
# The library's own suites on uintr, each bounded. Those in EMU_GATE_SUITES
# (all, by default) are steps; any others are only reported ("SUITE
# ok/FAIL"), for a suite that is being brought up on the emulated CPU.
info() { # name timeout command...
	n=$1
	t=$2
	shift 2
	echo "-- (not counted) $n"
	timeout -s KILL "$t" "$@" >/dev/console 2>&1
	rc=$?
	if [ $rc = 0 ]; then echo "SUITE ok: $n"; else echo "SUITE FAIL: $n (rc $rc)"; fi
}
for t in $EMU_CORE; do
	case " $EMU_GATE_SUITES " in
	*" $t "*) step "suite $t on uintr" "$EMU_SUITE_TIMEOUT" env UIPC_BACKEND=uintr MALLOC_PERTURB_=165 $EMU_SUITE_ENV /t/test-$t ;;
	*) info "suite $t on uintr" "$EMU_SUITE_TIMEOUT" env UIPC_BACKEND=uintr MALLOC_PERTURB_=165 $EMU_SUITE_ENV /t/test-$t ;;
	esac
done
step "refcount 0, rmmod (deferred-free window retried)" 30 rmmod_retry
step "/dev/uintr gone" 10 no_dev
step "no own wake interrupt left after rmmod" 10 own_irqs 0
# The KVM-borrowed fallback (wake=kvm): refused while kvm_intel is live,
# used once it is gone.
if kvm_live; then
	step "insmod wake=kvm with kvm_intel live: refused (UINTR off, said)" 30 kvm_refused
fi
[ -r /t/kvm-intel.ko ] && step "unload KVM's modules" 30 kvm_gone
step "insmod wake=kvm (the fallback)" 30 insmod /t/uipc_uintr.ko wake=kvm
step "module says KVM's wakeup vector, as the fallback" 10 wake_kvm
step "uipc-info says KVM's vector, chosen by the parameter" 60 info_has \
	"blocked wait woken *by the notification: KVM's wakeup vector 0xf1, borrowed (chosen by the shim's wake= parameter)"
step "fallback: blocked wake counts (PIW)" 300 /t/uintr-wake measure kvm 100
step "fallback: idle blocked receiver" 120 /t/uintr-wake idle kvm 2
if [ -r /t/kvm-intel.ko ]; then
	step "kvm_intel loads under wake=kvm: the vector is handed over, waits poll (said)" 300 kvm_takes
	step "unload KVM's modules again" 30 kvm_gone
fi
step "rmmod wake=kvm" 30 rmmod_retry
# The timed poll, chosen explicitly: the same tests, and its figures for comparison.
step "insmod again, wake=poll" 30 insmod /t/uipc_uintr.ko wake=poll
step "module says blocked waits poll (wake=poll)" 10 wake_poll
step "uipc-info says polled wait" 60 info_has 'polled wait every 50 us' \
	"blocked wait woken *by a poll every 50 us (chosen by the shim's wake= parameter)"
step "selftest on the reloaded module, polled wait" 300 /t/uintr-selftest
step "blocked wake by the poll: threads and processes" 300 /t/uintr-wake measure poll 100
step "the same, receiver's CPU kept out of cpuidle" 300 /t/uintr-wake measure poll 100 busy
step "idle blocked receiver, polled: the poll's wakeups" 120 /t/uintr-wake idle poll 1
step "rmmod again" 30 rmmod_retry
echo "== dmesg"
dmesg
echo "== end dmesg"
echo "UIPC-EMU-RESULT fails=$fails"
sync
sleep 2
poweroff -f
