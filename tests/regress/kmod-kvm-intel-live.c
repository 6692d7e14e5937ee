/* SPDX-License-Identifier: MIT */
/*
 * Regression (uipc_uintr.ko): with kvm_intel loaded (udev loads it on
 * almost every Intel server), blocked waits fell back to the 50 us poll,
 * because the only wake interrupt was KVM's wakeup vector, which kvm_intel
 * owns. The module's own wake interrupt does not depend on KVM.
 *
 * Run with a kvm_intel live: scripts/kmod-ci.sh loads a stand-in module of
 * that name (tests/kmod/kvm-intel-standin; the QEMU guest has no VMX for
 * the real one) after the fake-hardware build with the default wake=auto.
 * The emulator stage runs the real kvm_intel (tests/uintr-emu/init.sh).
 * INFO must still report blocked waits woken by an interrupt, and a
 * blocked waiter must be on a wait queue, not polling.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <pthread.h>

#include "../kmod/fake-lib.h"

static int dev;
static long waited;

static void *waiter(void *unused)
{
	(void)unused;
	waited = fk_register(dev) == 0 ? fk_wait(dev, 300000) : -1;
	return NULL;
}

static int kvm_intel_live(void)
{
	char line[256];
	int live = 0;
	FILE *f = fopen("/proc/modules", "r");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "kvm_intel ", 10) && strstr(line, " Live "))
			live = 1;
	fclose(f);
	return live;
}

int main(void)
{
	struct uintr_fake_waitq q = {0, 0};
	struct uintr_info info = {0};
	pthread_t t;

	fk_check(kvm_intel_live(), "a kvm_intel is live");
	dev = open(UINTR_DEVICE_PATH, O_RDWR | O_CLOEXEC);
	fk_check(dev >= 0, "open " UINTR_DEVICE_PATH);
	if (dev < 0)
		return fk_done();
	fk_check(fk_io(dev, UINTR_IOC_INFO, &info) == 0 && (info.flags & UINTR_INFO_WAIT_VECTOR) &&
	             !(info.flags & UINTR_INFO_WAIT_POLLED),
	         "with kvm_intel live, blocked waits are still woken by an interrupt");
	pthread_create(&t, NULL, waiter, NULL);
	t_sleep_ms(100);
	fk_check(fk_io(dev, UINTR_IOC_FAKE_WAITQ, &q) == 0 && q.total == 1,
	         "a blocked waiter is on a wait queue");
	pthread_join(t, NULL);
	fk_check(waited == -ETIMEDOUT, "and its wait times out as asked");
	return fk_done();
}
