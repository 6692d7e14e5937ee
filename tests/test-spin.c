/* SPDX-License-Identifier: MIT */
/*
 * The adaptive spin policy as a state machine (src/wait.c): the budget it
 * learns, the probes and their back-off, and what a yield teaches it. No
 * clock: the waits are told their outcome. And the crowded-machine gate:
 * /proc/loadavg's running count, sampled once per window, and seen by the
 * next sample once twice as many threads as CPUs burn.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/t.h"
#include "uipc-private.h"

static atomic_bool burn;

static void *burner(void *arg)
{
	(void)arg;
	while (atomic_load_explicit(&burn, memory_order_relaxed))
		;
	return NULL;
}

/* Blocked waits until the next probe is asked for. */
static unsigned blocks_to_probe(struct uipc__spin *sp)
{
	for (unsigned n = 1; n <= 1024; n++) {
		uipc__spin_learn(sp, false, UINT64_MAX);
		if (sp->probe)
			return n;
	}
	return 0;
}

static void test_probe_backoff(void **state)
{
	struct uipc__spin sp;

	(void)state;
	uipc__spin_init(&sp);
	assert_int_equal(blocks_to_probe(&sp), 8);
	/* Probes that block: 16, 32, ... up to 256 blocks apart. */
	for (unsigned want = 16; want <= 512; want *= 2) {
		assert_int_equal(uipc__spin_budget(&sp), sp.max_ns);
		assert_true(sp.probing);
		uipc__spin_learn(&sp, false, UINT64_MAX);
		assert_false(sp.probing);
		assert_int_equal(blocks_to_probe(&sp) + 1, want > 256 ? 256 : want);
	}
	/* A probe that pays puts them 8 apart again, and the budget back. */
	assert_int_equal(uipc__spin_budget(&sp), sp.max_ns);
	uipc__spin_learn(&sp, true, 3000);
	assert_int_equal(sp.budget_ns, 6000);
	assert_int_equal(blocks_to_probe(&sp), 8);
}

static void test_budget_learns(void **state)
{
	struct uipc__spin sp;

	(void)state;
	uipc__spin_init(&sp);
	assert_int_equal(uipc__spin_budget(&sp), UIPC_SPIN_DEFAULT_MAX_NS / 4);
	uipc__spin_learn(&sp, true, 20000);
	assert_int_equal(sp.budget_ns, 40000);
	uipc__spin_learn(&sp, true, 40000); /* capped at max_ns */
	assert_int_equal(sp.budget_ns, UIPC_SPIN_DEFAULT_MAX_NS);
	for (int i = 0; i < 7; i++)
		uipc__spin_learn(&sp, false, UINT64_MAX);
	assert_int_equal(sp.budget_ns, 0); /* under a microsecond: none */
}

static void test_yield_shared(void **state)
{
	struct uipc__spin sp;

	(void)state;
	uipc__spin_init(&sp);
	/* The fastest yield in the process sets the floor; one that took
	 * much longer ran another thread: the CPU is shared (the next spins
	 * yield at once), and the budget is left to the waits' outcomes. */
	uipc__spin_yielded(&sp, 300);
	assert_false(sp.shared);
	uipc__spin_yielded(&sp, 300 + UIPC__SPIN_YIELD_SWITCH_NS + 1);
	assert_true(sp.shared);
	assert_int_equal(uipc__spin_budget(&sp), sp.budget_ns);
	sp.probe = true;
	assert_int_equal(uipc__spin_budget(&sp), sp.max_ns);
	uipc__spin_yielded(&sp, 400);
	assert_false(sp.shared);
	assert_int_equal(uipc__spin_budget(&sp), sp.budget_ns);
	/* Setting a policy forgets what was learnt. */
	uipc__spin_yielded(&sp, 10 * UIPC__SPIN_YIELD_SWITCH_NS);
	assert_int_equal(uipc__spin_set(&sp, UIPC_SPIN_ADAPTIVE, 0), 0);
	assert_false(sp.shared);
	assert_int_equal(uipc__spin_budget(&sp), UIPC_SPIN_DEFAULT_MAX_NS / 4);
}

static void test_crowded(void **state)
{
	uint64_t now = uipc__now_ns();
	bool first;

	(void)state;
	/* The running count, from /proc/loadavg's text. */
	assert_int_equal(uipc__loadavg_running("0.52 0.58 0.59 3/250 1234\n"), 3);
	assert_int_equal(uipc__loadavg_running("12.00 9.10 8.00 17/1024 99"), 17);
	assert_int_equal(uipc__loadavg_running("0.52 0.58 0.59 x/250 1"), -1);
	assert_int_equal(uipc__loadavg_running("0.52 0.58 0.59 3 250"), -1);
	assert_int_equal(uipc__loadavg_running("0.52 0.58"), -1);
	assert_int_equal(uipc__loadavg_running(""), -1);
	/* Sampled once per window: within it every waiter gets the same
	 * answer, whatever the machine does meanwhile. */
	first = uipc__spin_crowded(now);
	for (int i = 0; i < 100; i++)
		assert_int_equal(uipc__spin_crowded(now + (uint64_t)i), first);
	/* More runnable threads than CPUs, and the next sample says so. */
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	pthread_t th[64];
	/* Under valgrind one thread runs at a time: never crowded. */
	unsigned n = cpus > 0 && cpus < 32 && !t_under_valgrind() ? (unsigned)cpus * 2 : 0;
	atomic_store(&burn, true);
	for (unsigned i = 0; i < n; i++)
		assert_int_equal(pthread_create(&th[i], NULL, burner, NULL), 0);
	bool seen = false;
	for (int tries = 0; tries < 200 && n && !seen; tries++) {
		t_sleep_ns(UIPC__SPIN_CROWD_EVERY_NS);
		seen = uipc__spin_crowded(uipc__now_ns());
	}
	atomic_store(&burn, false);
	for (unsigned i = 0; i < n; i++)
		pthread_join(th[i], NULL);
	if (n)
		assert_true(seen);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_probe_backoff),
	    cmocka_unit_test(test_budget_learns),
	    cmocka_unit_test(test_yield_shared),
	    cmocka_unit_test(test_crowded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
