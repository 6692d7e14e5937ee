/* SPDX-License-Identifier: MIT */
/*
 * Regression (uipc_uintr.ko): every UINTR_IOC_UNREGISTER_SENDER ended in
 * an IPI to every CPU of the machine (the wait that no SENDUIPI still uses
 * the removed entry), one per call. Any user of the world-writable device
 * could so interrupt every other user's CPUs as often as it could make two
 * ioctls: here 4,000 removals cost about 4,000 function-call interrupts on
 * the other CPU.
 *
 * Now removals whose grace period is over are released together behind one
 * IPI round, at most one a jiffy. Checked: 4,000 register/unregister pairs
 * cost fewer than 1,000 function-call interrupts ("CAL" in
 * /proc/interrupts, every CPU, whatever else sent them meanwhile), and
 * the slots keep coming back. Runs against uipc_uintr_fake.ko in
 * the QEMU stage (scripts/kmod-ci.sh).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <pthread.h>
#include <stdlib.h>

#include "../kmod/fake-lib.h"

#define PAIRS 4000

int main(void)
{
	int dev;
	long long before, after;
	int i, done = 0, full = 0;
	long got = -1;
	struct fk_receiver rcv;
	int vfd;
	char what[160];

	dev = open(UINTR_DEVICE_PATH, O_RDWR | O_CLOEXEC);
	fk_check(dev >= 0, "open " UINTR_DEVICE_PATH);
	if (dev < 0)
		return fk_done();
	vfd = fk_receiver_start(&rcv, dev, 5);
	fk_check(vfd >= 0, "a receiver with a vector fd");
	before = t_irq_count("CAL", -1);
	fk_check(before >= 0, "/proc/interrupts has a CAL line");
	while (done < PAIRS && full < 5000) {
		long s = fk_sender(dev, vfd);

		if (s == -ENOSPC) { /* every slot waits for its release */
			full++;
			t_sleep_ms(1);
			continue;
		}
		if (s < 0 || fk_unsender(dev, (__u32)s) != 0)
			break;
		done++;
	}
	snprintf(what, sizeof(what), "%d register/unregister pairs (%d waits for a free slot)",
	         done, full);
	fk_check(done == PAIRS, what);
	/* 4,000 pairs on 256 slots reuse each slot about 15 times: a release
	 * lost would have run the table full above. And once the last ones
	 * are released, the lowest slot is handed out again. */
	for (i = 0; i < 200 && got != 0; i++) {
		t_sleep_ms(10);
		got = fk_sender(dev, vfd);
		if (got >= 0)
			fk_unsender(dev, (__u32)got);
	}
	after = t_irq_count("CAL", -1);
	snprintf(what, sizeof(what), "the first slot is free again (got %ld)", got);
	fk_check(got == 0, what);
	snprintf(what, sizeof(what),
	         "%d removals cost %lld function-call interrupts (fewer than %d wanted)", done,
	         after - before, PAIRS / 4);
	fk_check(before >= 0 && after - before < PAIRS / 4, what);
	fk_receiver_stop(&rcv);
	return fk_done();
}
