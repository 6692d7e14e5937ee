/* SPDX-License-Identifier: MIT */
/*
 * A worker loop on io_uring (liburing), woken by uipc: producer threads
 * queue jobs and notify; the loop, which also keeps a timer in its ring,
 * sleeps in io_uring_submit_and_wait() and runs the jobs when woken.
 *
 * The receiver goes into the ring through examples/uring-uipc.h: an
 * IORING_OP_FUTEX_WAIT on its word where the kernel has it (6.7 and
 * later), an IORING_OP_POLL_ADD on its fd elsewhere. A producer's notify
 * to a loop that is busy costs no syscall.
 *
 *   uring-loop [jobs per producer]    (default 100000; 4 producers)
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <liburing.h>
#include <uipc.h>

#include "uring-uipc.h"

#define PRODUCERS 4
#define QUEUE_MAX 1024
#define TAG_UIPC  1
#define TAG_TIMER 2

/* The jobs: a bounded queue under a mutex (any queue of yours will do). */
struct jobs {
	pthread_mutex_t lock;
	pthread_cond_t room;
	unsigned long q[QUEUE_MAX];
	unsigned head, n;
};

struct producer {
	struct jobs *jobs;
	uipc_tx *tx;
	unsigned long count, first;
};

static void *producer_main(void *arg)
{
	struct producer *p = arg;

	for (unsigned long i = 0; i < p->count; i++) {
		pthread_mutex_lock(&p->jobs->lock);
		while (p->jobs->n == QUEUE_MAX)
			pthread_cond_wait(&p->jobs->room, &p->jobs->lock);
		p->jobs->q[(p->jobs->head + p->jobs->n++) % QUEUE_MAX] = p->first + i;
		pthread_mutex_unlock(&p->jobs->lock);
		/* After the job is queued: the loop that takes the bit sees it. */
		if (uipc_tx_notify(p->tx) < 0)
			abort();
	}
	return NULL;
}

/* Run every queued job: here, sum them. */
static unsigned long run_jobs(struct jobs *j, unsigned long long *sum)
{
	unsigned long ran = 0;

	pthread_mutex_lock(&j->lock);
	while (j->n) {
		*sum += j->q[j->head];
		j->head = (j->head + 1) % QUEUE_MAX;
		j->n--;
		ran++;
	}
	pthread_cond_broadcast(&j->room);
	pthread_mutex_unlock(&j->lock);
	return ran;
}

static void queue_timer(struct io_uring *ring, struct __kernel_timespec *ts)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);

	io_uring_prep_timeout(sqe, ts, 0, 0);
	io_uring_sqe_set_data64(sqe, TAG_TIMER);
}

int main(int argc, char **argv)
{
	unsigned long per = argc > 1 ? strtoul(argv[1], NULL, 10) : 100000;
	unsigned long long sum = 0, want = 0;
	unsigned long done = 0, total = per * PRODUCERS, sleeps = 0, ticks = 0;
	struct __kernel_timespec tick = {.tv_nsec = 100000000};
	struct jobs jobs = {.lock = PTHREAD_MUTEX_INITIALIZER, .room = PTHREAD_COND_INITIALIZER};
	struct producer prod[PRODUCERS];
	pthread_t th[PRODUCERS];
	struct uring_uipc u;
	struct io_uring ring;
	uipc_ctx *ctx;
	uipc_rx *rx;
	int r;

	r = io_uring_queue_init(64, &ring, 0);
	if (r < 0) {
		fprintf(stderr, "uring-loop: io_uring: %s\n", strerror(-r));
		return r == -ENOSYS || r == -EPERM ? 77 : 1; /* disabled here: skip */
	}
	if ((r = uipc_ctx_new("auto", &ctx)) < 0 || (r = uring_uipc_rx_new(ctx, &rx)) < 0 ||
	    (r = uring_uipc_init(&u, &ring, rx, TAG_UIPC, 0)) < 0) {
		fprintf(stderr, "uring-loop: %s\n", strerror(-r));
		return 1;
	}
	printf("uring-loop: %s receiver, the ring waits by %s\n", uipc_rx_backend_name(rx),
	       uring_uipc_how_name(&u));
	for (unsigned i = 0; i < PRODUCERS; i++) {
		prod[i] = (struct producer){&jobs, NULL, per, i * per};
		if (uipc_tx_new(rx, 0, &prod[i].tx) < 0)
			return 1;
		want += (unsigned long long)(2 * i * per + per - 1) * per / 2;
		pthread_create(&th[i], NULL, producer_main, &prod[i]);
	}
	queue_timer(&ring, &tick);

	while (done < total) {
		struct io_uring_cqe *cqe;
		unsigned head, seen = 0;
		uint64_t mask;

		/* Arm, then sleep unless something is pending already. */
		r = uring_uipc_arm(&u);
		if (r < 0 && r != -EAGAIN)
			break;
		sleeps += r == 0;
		r = io_uring_submit_and_wait(&ring, r == 0 ? 1 : 0);
		if (r < 0 && r != -EINTR)
			break;
		io_uring_for_each_cqe(&ring, head, cqe)
		{
			seen++;
			if (uring_uipc_owns(&u, cqe)) {
				if ((r = uring_uipc_complete(&u, cqe)) < 0)
					break;
			} else if (cqe->user_data == TAG_TIMER) {
				ticks++;
				queue_timer(&ring, &tick);
			}
		}
		io_uring_cq_advance(&ring, seen);
		if (r < 0 && r != -EAGAIN && r != -EINTR)
			break;
		/* After every sleep, whatever completed. */
		if (uring_uipc_drain(&u, &mask) == 0 && mask)
			done += run_jobs(&jobs, &sum);
	}
	for (unsigned i = 0; i < PRODUCERS; i++) {
		pthread_join(th[i], NULL);
		uipc_tx_free(prod[i].tx);
	}
	printf("uring-loop: %lu jobs, %lu sleeps, %lu timer ticks, sum %s\n", done, sleeps, ticks,
	       sum == want ? "ok" : "WRONG");
	io_uring_queue_exit(&ring); /* cancels the wait and the timer */
	uipc_rx_free(rx);
	uipc_ctx_free(ctx);
	return done == total && sum == want ? 0 : 1;
}
