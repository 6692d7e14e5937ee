/* SPDX-License-Identifier: MIT */
/* The benchmark's log-linear histogram: exactness, error bound, quantiles, merge. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "bench.h"

static struct hist *hist_new(void)
{
	struct hist *h = malloc(sizeof(*h));
	assert_non_null(h);
	hist_reset(h);
	return h;
}

static void test_empty(void **state)
{
	struct hist *h = hist_new();
	assert_true(hist_quantile(h, 0.5) == 0);
	assert_true(hist_mean(h) == 0);
	assert_int_equal(h->count, 0);
	free(h);
}

/* Below 2 * HIST_SUB every value has its own bucket. */
static void test_small_values_exact(void **state)
{
	for (uint64_t v = 0; v < 2 * HIST_SUB; v++) {
		struct hist *h = hist_new();
		hist_record(h, v);
		assert_true(hist_quantile(h, 0.5) == (double)v);
		free(h);
	}
}

/* Any single value comes back within one bucket width: 1/HIST_SUB relative. */
static void test_relative_error(void **state)
{
	uint64_t x = 88172645463325252ull;
	for (int i = 0; i < 20000; i++) {
		/* xorshift64: values spread over every magnitude */
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		uint64_t v = x >> (x % 60);
		struct hist h1;
		hist_reset(&h1);
		hist_record(&h1, v);
		hist_record(&h1, v);
		hist_record(&h1, UINT64_MAX);
		double q = hist_quantile(&h1, 0.5);
		double err = q > (double)v ? q - (double)v : (double)v - q;
		assert_true(err <= (double)v / HIST_SUB + 0.5);
	}
}

static void test_quantiles_uniform(void **state)
{
	struct hist *h = hist_new();
	for (uint64_t v = 1; v <= 100000; v++)
		hist_record(h, v);
	const double qs[] = {0.5, 0.9, 0.99, 0.999};
	for (unsigned i = 0; i < 4; i++) {
		double want = qs[i] * 100000, got = hist_quantile(h, qs[i]);
		assert_true(got >= want * (1 - 1.0 / HIST_SUB) &&
		            got <= want * (1 + 1.0 / HIST_SUB));
	}
	assert_int_equal(h->min, 1);
	assert_int_equal(h->max, 100000);
	assert_true(hist_quantile(h, 1.0) == 100000);
	assert_true(hist_mean(h) == 50000.5);
	free(h);
}

static void test_tail_is_not_median(void **state)
{
	struct hist *h = hist_new();
	for (int i = 0; i < 999; i++)
		hist_record(h, 100);
	hist_record(h, 1000000);
	assert_true(hist_quantile(h, 0.5) == 100);
	assert_true(hist_quantile(h, 0.999) == 100);
	assert_true(hist_quantile(h, 0.9995) > 900000);
	free(h);
}

static void test_merge(void **state)
{
	struct hist *a = hist_new(), *b = hist_new(), *all = hist_new();
	for (uint64_t v = 1; v < 5000; v += 3) {
		hist_record(v % 2 ? a : b, v * 7);
		hist_record(all, v * 7);
	}
	hist_merge(a, b);
	assert_int_equal(a->count, all->count);
	assert_int_equal(a->min, all->min);
	assert_int_equal(a->max, all->max);
	for (unsigned i = 0; i < HIST_BUCKETS; i++)
		assert_int_equal(a->bucket[i], all->bucket[i]);
	free(a);
	free(b);
	free(all);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_empty),
	    cmocka_unit_test(test_small_values_exact),
	    cmocka_unit_test(test_relative_error),
	    cmocka_unit_test(test_quantiles_uniform),
	    cmocka_unit_test(test_tail_is_not_median),
	    cmocka_unit_test(test_merge),
	};
	return cmocka_run_group_tests_name("bench-hist", tests, NULL, NULL);
}
