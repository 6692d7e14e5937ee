/* SPDX-License-Identifier: MIT */
/*
 * Regression (uipc_uintr.ko): the wake vector's handler walked every
 * blocked waiter of its CPU with interrupts off, and any user chose how
 * many there were. Each CPU's queue now holds at most wait_queue_max
 * waiters (default 16); the next waiter polls instead.
 *
 * 48 receivers block in uintr_wait at once: no queue may hold more than
 * 16, and every one of them, queued or polling, must still be woken by its
 * post. Runs against uipc_uintr_fake.ko (loaded with the default) in the
 * QEMU stage (scripts/kmod-ci.sh).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <pthread.h>

#include "../kmod/fake-lib.h"

#define WAITERS   48
#define QUEUE_MAX 16 /* the module's default wait_queue_max */
#define WAIT_US   30000000

static int dev;
static int vfd[WAITERS];
static long result[WAITERS];
static pthread_barrier_t bar;

static void *waiter(void *arg)
{
	long i = (long)arg;

	vfd[i] = fk_register(dev) == 0 ? (int)fk_vector_fd(dev, 1) : -1;
	pthread_barrier_wait(&bar); /* main registers its senders */
	pthread_barrier_wait(&bar);
	/* A bound, not a timing: 3 s was too short in a guest on a loaded
	 * host (42 of 48 woken, host load 13). A lost wake still shows. */
	result[i] = vfd[i] >= 0 ? fk_wait(dev, WAIT_US) : -1;
	return NULL;
}

int main(void)
{
	struct uintr_fake_waitq q = {0, 0};
	pthread_t t[WAITERS];
	long idx[WAITERS], i;
	int ok = 1, woken = 0;
	char what[160];

	dev = open(UINTR_DEVICE_PATH, O_RDWR | O_CLOEXEC);
	fk_check(dev >= 0, "open " UINTR_DEVICE_PATH);
	if (dev < 0)
		return fk_done();
	pthread_barrier_init(&bar, NULL, WAITERS + 1);
	for (i = 0; i < WAITERS; i++)
		pthread_create(&t[i], NULL, waiter, (void *)i);
	pthread_barrier_wait(&bar);
	for (i = 0; i < WAITERS; i++) {
		idx[i] = vfd[i] >= 0 ? fk_sender(dev, vfd[i]) : -1;
		ok &= idx[i] >= 0;
	}
	fk_check(ok, "48 receivers, a sender entry for each");
	pthread_barrier_wait(&bar);
	t_sleep_ms(300); /* all of them blocked by now */
	fk_check(fk_io(dev, UINTR_IOC_FAKE_WAITQ, &q) == 0, "read the wait queues");
	snprintf(what, sizeof(what),
	         "no queue holds more than %d waiters (longest %u, %u queued, the rest poll)",
	         QUEUE_MAX, q.longest, q.total);
	fk_check(q.longest <= QUEUE_MAX && q.total > 0, what);
	for (i = 0; i < WAITERS; i++)
		if (idx[i] >= 0)
			fk_send(dev, (__u32)idx[i]);
	for (i = 0; i < WAITERS; i++) {
		pthread_join(t[i], NULL);
		woken += result[i] == -EINTR;
	}
	snprintf(what, sizeof(what), "every waiter woken by its post (%d of %d)", woken, WAITERS);
	fk_check(woken == WAITERS, what);
	return fk_done();
}
