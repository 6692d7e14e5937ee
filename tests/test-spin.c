/* SPDX-License-Identifier: MIT */
/*
 * The adaptive spin policy as a state machine (src/wait.c): the budget it
 * learns, the probes and their back-off, and what a yield teaches it. No
 * clock: the waits are told their outcome.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "uipc-private.h"

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

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_probe_backoff),
	    cmocka_unit_test(test_budget_learns),
	    cmocka_unit_test(test_yield_shared),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
