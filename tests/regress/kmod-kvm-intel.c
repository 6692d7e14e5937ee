/* SPDX-License-Identifier: MIT */
/*
 * Regression (uipc_uintr.ko): any attempt to load kvm_intel, even one whose
 * init fails (VMX off in firmware, no VMX at all, a udev coldplug), handed
 * the wakeup vector to KVM and switched blocked waits to the poll for good.
 * A kvm_intel that goes away without ever having been live now gives the
 * vector back.
 *
 * Run after a failed `insmod kvm-intel.ko` (scripts/kmod-ci.sh does it in
 * the QEMU guest, which has no VMX): INFO must still report blocked waits
 * woken by the wake vector, and a blocked waiter must be on a wait queue.
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

int main(void)
{
	struct uintr_fake_waitq q = {0, 0};
	struct uintr_info info = {0};
	pthread_t t;

	dev = open(UINTR_DEVICE_PATH, O_RDWR | O_CLOEXEC);
	fk_check(dev >= 0, "open " UINTR_DEVICE_PATH);
	if (dev < 0)
		return fk_done();
	fk_check(
	    fk_io(dev, UINTR_IOC_INFO, &info) == 0 && (info.flags & UINTR_INFO_WAIT_VECTOR) &&
	        !(info.flags & UINTR_INFO_WAIT_POLLED),
	    "after kvm_intel failed to load, blocked waits are woken by the wake vector again");
	pthread_create(&t, NULL, waiter, NULL);
	t_sleep_ms(100);
	fk_check(fk_io(dev, UINTR_IOC_FAKE_WAITQ, &q) == 0 && q.total == 1,
	         "a blocked waiter is on a wait queue");
	pthread_join(t, NULL);
	fk_check(waited == -ETIMEDOUT, "and its wait times out as asked");
	return fk_done();
}
