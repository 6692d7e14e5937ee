/* SPDX-License-Identifier: MIT */
/*
 * An event loop under fire: one thread runs epoll_wait() on uipc_rx_fd()
 * with uipc_rx_arm()/uipc_rx_drain() (some rounds also poll with
 * uipc_rx_wait(rx, 0)), several sender threads notify vectors of their own
 * and one vector they share. Every notify is acknowledged by the loop
 * before its sender notifies that vector again, so the loop must see each
 * one: a lost wakeup hangs a sender (the hang detector fails the test), a
 * duplicate delivery acknowledges a notify that was never sent (asserted).
 *
 * At the end, senders done and everything drained, an armed receiver's fd
 * must not be readable: a loop with nothing to do must sleep, not spin.
 * And epoll_wait() returns that found nothing pending are bounded by the
 * kicks the senders made (each kick can cause at most one).
 *
 * Runs on backends with a pollable fd (eventfd); others skip (77).
 * UIPC_EPOLL_NOTIFIES sets the number of notifies per run (default 120000).
 */
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "test-common.h"

#define SENDERS  4
#define PER      8                     /* vectors of its own per sender */
#define NVEC     (SENDERS * PER)       /* 0 .. NVEC-1: one sender each */
#define SHARED   40                    /* the vector every sender notifies */
#define STALL_NS UINT64_C(30000000000) /* hang detector: no progress for 30 s */

struct stress;

struct sender {
	struct stress *st;
	unsigned id;
	uint64_t quota; /* notifies to make */
	uipc_tx *tx[PER];
	uipc_tx *shared;
	_Atomic int shared_pending; /* set before a shared notify, cleared by its ack */
	_Atomic uint64_t shared_sent, shared_acked;
	_Atomic int rc; /* the first failed notify's */
};

struct stress {
	uipc_rx *rx;
	_Atomic uint64_t sent[NVEC], acked[NVEC];
	_Atomic uint64_t progress; /* acknowledgements, all kinds */
	_Atomic int stop;          /* the loop gave up: senders leave */
	_Atomic int dup;           /* a vector delivered more often than notified */
	struct sender s[SENDERS];
};

static uint64_t quota_total(void)
{
	const char *e = getenv("UIPC_EPOLL_NOTIFIES");
	uint64_t n = e && *e ? strtoull(e, NULL, 10) : 0;

	return n ? n : 120000;
}

static void *sender_run(void *arg)
{
	struct sender *s = arg;
	struct stress *st = s->st;
	uint64_t done = 0, round = 0;
	unsigned idle = 0;
	int r;

	while (done < s->quota && !atomic_load(&st->stop)) {
		bool any = false;

		round++;
		for (unsigned i = 0; i < PER && done < s->quota; i++) {
			unsigned v = s->id * PER + i;
			uint64_t n = atomic_load(&st->sent[v]);

			if (atomic_load(&st->acked[v]) != n)
				continue; /* the last one is not acknowledged yet */
			atomic_store(&st->sent[v], n + 1);
			r = uipc_tx_notify(s->tx[i]);
			if (r < 0) {
				atomic_store(&s->rc, r);
				return NULL;
			}
			done++;
			any = true;
		}
		if (round % 4 == 0 && done < s->quota && !atomic_load(&s->shared_pending)) {
			atomic_fetch_add(&s->shared_sent, 1);
			atomic_store(&s->shared_pending, 1);
			r = uipc_tx_notify(s->shared);
			if (r < 0) {
				atomic_store(&s->rc, r);
				return NULL;
			}
			done++;
			any = true;
		}
		if (any) {
			idle = 0;
		} else if (++idle < 16) {
			sched_yield();
		} else {
			t_sleep_ns(20000);
		}
	}
	return NULL;
}

struct loop_stats {
	uint64_t iterations, epoll_returns, empty_returns, epoll_timeouts;
	uint64_t arm_eagain, polls, poll_hits;
};

/* Acknowledge what a mask says. Returns the acknowledgements made. */
static uint64_t handle(struct stress *st, uint64_t mask)
{
	uint64_t n = 0;

	for (unsigned v = 0; v < 64; v++) {
		if (!(mask & (UINT64_C(1) << v)))
			continue;
		if (v == SHARED) {
			for (unsigned i = 0; i < SENDERS; i++) {
				if (atomic_exchange(&st->s[i].shared_pending, 0)) {
					atomic_fetch_add(&st->s[i].shared_acked, 1);
					n++;
				}
			}
		} else if (v < NVEC) {
			uint64_t a = atomic_load(&st->acked[v]) + 1;

			if (a > atomic_load(&st->sent[v]))
				atomic_store(&st->dup, (int)v + 1);
			else {
				atomic_store(&st->acked[v], a);
				n++;
			}
		} else {
			atomic_store(&st->dup, 100 + (int)v); /* a vector nobody notifies */
		}
	}
	if (n)
		atomic_fetch_add(&st->progress, n);
	return n;
}

static bool all_acked(struct stress *st)
{
	for (unsigned v = 0; v < NVEC; v++)
		if (atomic_load(&st->acked[v]) != atomic_load(&st->sent[v]))
			return false;
	for (unsigned i = 0; i < SENDERS; i++)
		if (atomic_load(&st->s[i].shared_pending))
			return false;
	return true;
}

static void stress_run(struct test_fx *f, bool mix_polls)
{
	struct stress *st = calloc(1, sizeof(*st));
	struct loop_stats ls = {0};
	uint64_t total = quota_total(), acks, kicks = 0, m, last, t0, t_last, sent = 0;
	struct epoll_event ev = {.events = EPOLLIN};
	pthread_t th[SENDERS];
	struct pollfd pfd;
	int r, fd, ep;
	unsigned finished = 0;

	assert_non_null(st);
	r = uipc_rx_new(f->ctx, UIPC_RX_POLLABLE, &st->rx);
	if (r == -EOPNOTSUPP) {
		free(st);
		skip();
	}
	assert_int_equal(r, 0);
	fd = uipc_rx_fd(st->rx);
	assert_true(fd >= 0);
	ep = epoll_create1(EPOLL_CLOEXEC);
	assert_true(ep >= 0);
	ev.data.fd = fd;
	assert_int_equal(epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev), 0);

	for (unsigned i = 0; i < SENDERS; i++) {
		struct sender *s = &st->s[i];

		s->st = st;
		s->id = i;
		s->quota = total / SENDERS;
		for (unsigned k = 0; k < PER; k++)
			assert_int_equal(uipc_tx_new(st->rx, i * PER + k, &s->tx[k]), 0);
		assert_int_equal(uipc_tx_new(st->rx, SHARED, &s->shared), 0);
	}
	for (unsigned i = 0; i < SENDERS; i++)
		assert_int_equal(pthread_create(&th[i], NULL, sender_run, &st->s[i]), 0);

	t0 = t_last = t_now_ns();
	last = 0;
	for (;;) {
		ls.iterations++;
		/* Everything sent and acknowledged: done. */
		if (finished < SENDERS) {
			finished = 0;
			for (unsigned i = 0; i < SENDERS; i++) {
				uint64_t d = atomic_load(&st->s[i].shared_sent);

				for (unsigned k = 0; k < PER; k++)
					d += atomic_load(&st->sent[i * PER + k]);
				finished += d == st->s[i].quota || atomic_load(&st->s[i].rc) < 0;
			}
		}
		if (finished == SENDERS && all_acked(st))
			break;
		if (mix_polls && ls.iterations % 8 == 3) {
			/* A poll before arming. */
			ls.polls++;
			r = uipc_rx_wait(st->rx, 0, &m);
			if (r == 0) {
				ls.poll_hits++;
				handle(st, m);
				continue;
			}
			assert_int_equal(r, -EAGAIN);
		}
		r = uipc_rx_arm(st->rx);
		if (r == -EAGAIN) {
			/* Pending: take it without sleeping. */
			ls.arm_eagain++;
			assert_int_equal(uipc_rx_drain(st->rx, &m), 0);
			handle(st, m);
			continue;
		}
		assert_int_equal(r, 0);
		if (mix_polls && ls.iterations % 8 == 5) {
			/* A poll while armed: allowed (timeout 0); what it takes
			 * may leave a kick behind that finds nothing. */
			ls.polls++;
			r = uipc_rx_wait(st->rx, 0, &m);
			if (r == 0) {
				ls.poll_hits++;
				handle(st, m);
			} else {
				assert_int_equal(r, -EAGAIN);
			}
		}
		r = epoll_wait(ep, &ev, 1, 1000);
		if (r < 0 && errno == EINTR)
			r = 0;
		assert_true(r >= 0);
		if (r == 0) {
			/* The period only lets the hang detector look. */
			ls.epoll_timeouts++;
			acks = atomic_load(&st->progress);
			if (acks != last) {
				last = acks;
				t_last = t_now_ns();
			} else if (t_now_ns() - t_last > STALL_NS) {
				atomic_store(&st->stop, 1);
				print_error(
				    "no progress for 30 s: a lost wakeup? status %#x pir %#llx "
				    "acks %llu\n",
				    (unsigned)atomic_load(&st->rx->desc->status),
				    (unsigned long long)atomic_load(&st->rx->desc->pir),
				    (unsigned long long)acks);
				for (unsigned i = 0; i < SENDERS; i++)
					pthread_join(th[i], NULL);
				fail();
			}
			continue; /* still armed: arming again is a no-op */
		}
		ls.epoll_returns++;
		assert_int_equal(uipc_rx_drain(st->rx, &m), 0);
		if (!m)
			ls.empty_returns++;
		handle(st, m);
	}
	for (unsigned i = 0; i < SENDERS; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(atomic_load(&st->s[i].rc), 0);
	}
	assert_int_equal(atomic_load(&st->dup), 0);

	/* Every notify was seen, once: per vector and per sender. */
	for (unsigned v = 0; v < NVEC; v++) {
		assert_int_equal(atomic_load(&st->acked[v]), atomic_load(&st->sent[v]));
		sent += atomic_load(&st->sent[v]);
	}
	for (unsigned i = 0; i < SENDERS; i++) {
		struct sender *s = &st->s[i];

		assert_int_equal(atomic_load(&s->shared_acked), atomic_load(&s->shared_sent));
		assert_true(atomic_load(&s->shared_sent) > 0);
		sent += atomic_load(&s->shared_sent);
		for (unsigned k = 0; k < PER; k++)
			kicks += atomic_load(&s->tx[k]->kicks);
		kicks += atomic_load(&s->shared->kicks);
	}
	assert_int_equal(sent, (total / SENDERS) * SENDERS);

	/* Idle: senders gone, everything drained. Armed, the fd must be
	 * quiet, or an event loop would spin on it. The notifies left
	 * pending bits at most once more (a coalesced shared notify). */
	for (int i = 0;; i++) {
		assert_true(i < 4);
		assert_int_equal(uipc_rx_drain(st->rx, &m), 0);
		assert_int_equal(m & ~(UINT64_C(1) << SHARED), 0);
		r = uipc_rx_arm(st->rx);
		if (r == 0)
			break;
		assert_int_equal(r, -EAGAIN);
	}
	pfd = (struct pollfd){.fd = fd, .events = POLLIN};
	assert_int_equal(poll(&pfd, 1, 0), 0);
	assert_int_equal(epoll_wait(ep, &ev, 1, 0), 0);
	assert_int_equal(uipc_rx_drain(st->rx, &m), 0);
	assert_int_equal(m, 0);
	assert_int_equal(poll(&pfd, 1, 0), 0);

	/* An epoll_wait() return with nothing pending comes from a kick whose
	 * bits an earlier drain or poll took; the drain that finds nothing
	 * consumes it. So each kick causes at most one. */
	print_message("%llu notifies in %.2f s, %llu kicks, %llu epoll returns (%llu empty, "
	              "%llu timeouts), %llu arm -EAGAIN, %llu polls (%llu hits)\n",
	              (unsigned long long)sent, (double)(t_now_ns() - t0) / 1e9,
	              (unsigned long long)kicks, (unsigned long long)ls.epoll_returns,
	              (unsigned long long)ls.empty_returns, (unsigned long long)ls.epoll_timeouts,
	              (unsigned long long)ls.arm_eagain, (unsigned long long)ls.polls,
	              (unsigned long long)ls.poll_hits);
	assert_true(ls.empty_returns <= kicks + 4);
	assert_true(kicks <= sent);
	if (!mix_polls)
		assert_int_equal(ls.polls, 0);
	else
		assert_true(ls.polls > 0);

	for (unsigned i = 0; i < SENDERS; i++) {
		for (unsigned k = 0; k < PER; k++)
			uipc_tx_free(st->s[i].tx[k]);
		uipc_tx_free(st->s[i].shared);
	}
	close(ep);
	uipc_rx_free(st->rx);
	free(st);
}

static int setup(void **state)
{
	*state = test_fx_new(NULL);
	return 0;
}

static int teardown(void **state)
{
	test_fx_free(*state);
	return 0;
}

static void test_epoll_stress(void **state)
{
	stress_run(*state, false);
}

static void test_epoll_stress_polls(void **state)
{
	stress_run(*state, true);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_epoll_stress, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_epoll_stress_polls, setup, teardown),
	};
	uipc_ctx *probe;
	int r = uipc_ctx_new(NULL, &probe);

	TEST_SKIP_IF(r == -EOPNOTSUPP, "backend %s is not usable on this machine", test_backend());
	uipc_ctx_free(probe);
	return cmocka_run_group_tests_name(test_backend(), tests, NULL, NULL);
}
