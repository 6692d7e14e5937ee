/* SPDX-License-Identifier: MIT */
/*
 * Regression (uipc_uintr.ko): UINTR_IOC_UNREGISTER_SENDER zeroed the
 * entry's UPID address after its valid bit, and the slot could be handed
 * out again at once. A SENDUIPI on another CPU that read the entry just
 * before could then use a torn entry (valid, address 0: a supervisor page
 * fault from user mode) or post to the slot's new receiver.
 *
 * Now only the valid bit is cleared and the slot stays taken until no CPU
 * can still be executing such a SENDUIPI (a grace period and an IPI to
 * every CPU). Checked here: a send on the removed index faults (#GP), the
 * next registration gets another slot, and the slot is free again later.
 * Runs against uipc_uintr_fake.ko in the QEMU stage (scripts/kmod-ci.sh).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <pthread.h>

#include "../kmod/fake-lib.h"

int main(void)
{
	int dev;
	long first, second, later = -1;
	struct fk_receiver rcv;
	int vfd;
	char what[120];
	int i;

	dev = open(UINTR_DEVICE_PATH, O_RDWR | O_CLOEXEC);
	fk_check(dev >= 0, "open " UINTR_DEVICE_PATH);
	if (dev < 0)
		return fk_done();
	vfd = fk_receiver_start(&rcv, dev, 4);
	first = fk_sender(dev, vfd);
	fk_check(first >= 0 && fk_send(dev, (__u32)first) == 0, "register a sender and send");
	fk_check(fk_unsender(dev, (__u32)first) == 0, "unregister it");
	fk_check(fk_send(dev, (__u32)first) == -EINVAL, "a send on the removed index faults (#GP)");
	fk_check(fk_unsender(dev, (__u32)first) == -EINVAL, "unregistering it again: -EINVAL");
	second = fk_sender(dev, vfd);
	snprintf(what, sizeof(what), "the next registration gets another slot (%ld, then %ld)",
	         first, second);
	fk_check(second >= 0 && second != first, what);
	/* Released after a grace period: the slot comes back. */
	fk_check(fk_unsender(dev, (__u32)second) == 0, "unregister the second");
	for (i = 0; i < 100 && later != first; i++) {
		t_sleep_ms(20);
		later = fk_sender(dev, vfd);
		if (later >= 0 && later != first)
			fk_unsender(dev, (__u32)later);
	}
	snprintf(what, sizeof(what), "the first slot is free again later (got %ld)", later);
	fk_check(later == first, what);
	fk_receiver_stop(&rcv);
	return fk_done();
}
