/* SPDX-License-Identifier: MIT */
/*
 * No lost wakeups, under contention and every mix of receiver behaviour.
 *
 * Several sender threads notify one receiver, which keeps changing its spin
 * policy and alternates between polling, short timeouts and long blocking
 * waits. A lost wakeup shows up as a long wait that times out while a
 * completed notify is undelivered: the test fails, it does not hang.
 *
 * UIPC_STRESS_SCALE (default 1) multiplies the counts: above 1 for longer
 * soaks, a fraction (e.g. 0.01) for slow machines such as an emulated CPU.
 */
#include <pthread.h>
#include <sched.h>
#include <unistd.h>

#include "test-common.h"

#define SENDERS      3
#define LONG_WAIT_NS 10000000000ll /* "forever", but a lost wakeup fails */

struct shared {
	uipc_rx *rx;
	uipc_tx *tx[SENDERS];
	_Atomic uint64_t sent[SENDERS]; /* phase A: notifies completed */
	_Atomic uint64_t seq[SENDERS];  /* phase B: the request number */
	_Atomic uint64_t ack[SENDERS];  /* phase B: the last one the receiver saw */
	_Atomic bool failed;
	uint64_t per_sender;
	uint64_t rounds;
};

/* n times UIPC_STRESS_SCALE, at least 1. */
static uint64_t scaled(uint64_t n)
{
	const char *s = getenv("UIPC_STRESS_SCALE");
	double v = s ? strtod(s, NULL) : 1.0;
	return v > 0 && (double)n * v >= 1.0 ? (uint64_t)((double)n * v) : (v > 0 ? 1 : n);
}

/* A random receiver behaviour for the next wait: spin policy and timeout. */
static int64_t random_wait_mode(uipc_rx *rx, uint64_t *rng)
{
	uint64_t r = t_rand(rng);

	switch (r % 3) {
	case 0:
		uipc_rx_set_spin(rx, UIPC_SPIN_NONE, 0);
		break;
	case 1:
		uipc_rx_set_spin(rx, UIPC_SPIN_FIXED, (r >> 8) % 5000);
		break;
	default:
		uipc_rx_set_spin(rx, UIPC_SPIN_ADAPTIVE, 0);
		break;
	}
	switch ((r >> 20) % 8) {
	case 0:
		return 0; /* poll */
	case 1:
	case 2:
		return (int64_t)((r >> 32) % 300000); /* short timeout */
	default:
		return LONG_WAIT_NS;
	}
}

static void random_pause(uint64_t *rng)
{
	uint64_t r = t_rand(rng) % 1024;

	if (r < 2)
		t_sleep_ns(50000); /* long enough for the receiver to block */
	else if (r < 64)
		sched_yield();
	else
		for (uint64_t i = 0; i < r; i++)
			uipc__cpu_relax();
}

/* Phase A: fire and forget ---------------------------------------------------- */

struct sender_arg {
	struct shared *sh;
	unsigned id;
};

static void *sender_a(void *p)
{
	struct sender_arg *a = p;
	struct shared *sh = a->sh;
	uint64_t rng = 0x9e3779b97f4a7c15ull * (a->id + 1);

	for (uint64_t k = 1; k <= sh->per_sender; k++) {
		atomic_store(&sh->sent[a->id], k);
		if (uipc_tx_notify(sh->tx[a->id]) < 0)
			atomic_store(&sh->failed, true);
		if ((k & 255) == 0)
			random_pause(&rng);
	}
	return NULL;
}

static void test_fire_and_forget(void **state)
{
	struct shared *sh = *state;
	struct sender_arg args[SENDERS];
	pthread_t t[SENDERS];
	uint64_t seen[SENDERS] = {0}, rng = 42, wakeups = 0, kicks = 0;
	unsigned done = 0;

	for (unsigned i = 0; i < SENDERS; i++) {
		args[i] = (struct sender_arg){sh, i};
		assert_int_equal(pthread_create(&t[i], NULL, sender_a, &args[i]), 0);
	}
	while (done < SENDERS) {
		int64_t timeout = random_wait_mode(sh->rx, &rng);
		uint64_t m = 0;
		int r = uipc_rx_wait(sh->rx, timeout, &m);

		if (r == -ETIMEDOUT || r == -EAGAIN) { /* -EAGAIN: a poll */
			/* Only a "forever" wait that timed out is a lost wakeup. */
			assert_true(timeout != LONG_WAIT_NS);
			continue;
		}
		assert_int_equal(r, 0);
		wakeups++;
		for (unsigned i = 0; i < SENDERS; i++) {
			uint64_t v;

			if (!(m & (UINT64_C(1) << (i * 7))))
				continue;
			v = atomic_load(&sh->sent[i]);
			assert_true(v >= seen[i]); /* monotonic */
			if (v == sh->per_sender && seen[i] != v)
				done++;
			seen[i] = v;
		}
	}
	for (unsigned i = 0; i < SENDERS; i++) {
		pthread_join(t[i], NULL);
		kicks += atomic_load(&sh->tx[i]->kicks);
	}
	assert_false(atomic_load(&sh->failed));
	/* Exactly one kick per arming at most, whatever the interleaving. */
	if (!sh->tx[0]->ops->tx_notify)
		assert_true(kicks <= sh->rx->w.arms);
	printf("# fire-and-forget: %llu notifies, %llu wakeups, %llu arms, %llu kicks\n",
	       (unsigned long long)(sh->per_sender * SENDERS), (unsigned long long)wakeups,
	       (unsigned long long)sh->rx->w.arms, (unsigned long long)kicks);
}

/* Phase B: every single notify must be seen ------------------------------------ */

static void *sender_b(void *p)
{
	struct sender_arg *a = p;
	struct shared *sh = a->sh;
	uint64_t rng = 0x2545f4914f6cdd1dull * (a->id + 3);

	for (uint64_t k = 1; k <= sh->rounds && !atomic_load(&sh->failed); k++) {
		uint64_t deadline;

		atomic_store(&sh->seq[a->id], k);
		if (uipc_tx_notify(sh->tx[a->id]) < 0)
			atomic_store(&sh->failed, true);
		deadline = t_now_ns() + (uint64_t)LONG_WAIT_NS;
		while (atomic_load(&sh->ack[a->id]) != k) {
			if (t_now_ns() > deadline || atomic_load(&sh->failed)) {
				atomic_store(&sh->failed, true);
				return NULL;
			}
			sched_yield();
		}
		random_pause(&rng);
	}
	return NULL;
}

static void test_every_notify_seen(void **state)
{
	struct shared *sh = *state;
	struct sender_arg args[SENDERS];
	pthread_t t[SENDERS];
	uint64_t rng = 7, wakeups = 0;

	for (unsigned i = 0; i < SENDERS; i++) {
		args[i] = (struct sender_arg){sh, i};
		assert_int_equal(pthread_create(&t[i], NULL, sender_b, &args[i]), 0);
	}
	for (;;) {
		unsigned finished = 0;
		int64_t timeout = random_wait_mode(sh->rx, &rng);
		uint64_t m = 0;
		int r;

		for (unsigned i = 0; i < SENDERS; i++)
			finished += atomic_load(&sh->ack[i]) == sh->rounds;
		if (finished == SENDERS || atomic_load(&sh->failed))
			break;
		r = uipc_rx_wait(sh->rx, timeout, &m);
		if (r == -ETIMEDOUT || r == -EAGAIN) {
			if (timeout == LONG_WAIT_NS)
				atomic_store(&sh->failed, true);
			continue;
		}
		assert_int_equal(r, 0);
		wakeups++;
		for (unsigned i = 0; i < SENDERS; i++)
			if (m & (UINT64_C(1) << (i * 7)))
				atomic_store(&sh->ack[i], atomic_load(&sh->seq[i]));
	}
	for (unsigned i = 0; i < SENDERS; i++)
		pthread_join(t[i], NULL);
	assert_false(atomic_load(&sh->failed));
	printf("# every-notify-seen: %llu round trips, %llu wakeups\n",
	       (unsigned long long)(sh->rounds * SENDERS), (unsigned long long)wakeups);
}

static int setup(void **state)
{
	struct shared *sh = calloc(1, sizeof(*sh));
	uipc_ctx *ctx;

	assert_non_null(sh);
	sh->per_sender = scaled(350000); /* > 10^6 notifies in all */
	sh->rounds = scaled(20000);
	assert_int_equal(uipc_ctx_new(NULL, &ctx), 0);
	assert_int_equal(uipc_rx_new(ctx, 0, &sh->rx), 0);
	for (unsigned i = 0; i < SENDERS; i++)
		assert_int_equal(uipc_tx_new(sh->rx, i * 7, &sh->tx[i]), 0);
	uipc_ctx_free(ctx);
	*state = sh;
	return 0;
}

static int teardown(void **state)
{
	struct shared *sh = *state;

	for (unsigned i = 0; i < SENDERS; i++)
		uipc_tx_free(sh->tx[i]);
	uipc_rx_free(sh->rx);
	free(sh);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_fire_and_forget, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_every_notify_seen, setup, teardown),
	};
	uipc_ctx *probe;
	int r = uipc_ctx_new(NULL, &probe);

	TEST_SKIP_IF(r == -EOPNOTSUPP, "backend %s is not usable on this machine", test_backend());
	uipc_ctx_free(probe);
	return cmocka_run_group_tests_name(test_backend(), tests, NULL, NULL);
}
