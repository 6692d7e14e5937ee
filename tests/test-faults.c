/* SPDX-License-Identifier: MIT */
/*
 * Resource exhaustion across the public API: the N-th allocation or fd
 * creation fails, for every N along a whole receiver/sender life cycle, and
 * real fd exhaustion (RLIMIT_NOFILE). Every failure must be a clean -errno
 * with nothing leaked and outputs untouched.
 */
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "test-common.h"

/* One full life cycle; returns 0 or the first error. */
static int life_cycle(void)
{
	uipc_ctx *ctx = NULL;
	uipc_rx *rx = (uipc_rx *)0x1;
	uipc_tx *tx = (uipc_tx *)0x1, *tx2 = (uipc_tx *)0x1;
	uint64_t m;
	int r, cap = -1, sv[2] = {-1, -1}, got = -1;

	r = uipc_ctx_new(NULL, &ctx);
	if (r < 0) {
		assert_null(ctx);
		return r;
	}
	r = uipc_rx_new(ctx, 0, &rx);
	if (r < 0) {
		assert_ptr_equal(rx, (uipc_rx *)0x1);
		goto out_ctx;
	}
	r = uipc_tx_new(rx, 1, &tx);
	if (r < 0) {
		assert_ptr_equal(tx, (uipc_tx *)0x1);
		goto out_rx;
	}
	cap = uipc_rx_cap(rx, 2);
	if (cap < 0) {
		r = cap;
		goto out_tx;
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		r = -errno;
		goto out_tx;
	}
	r = uipc_cap_send(sv[0], cap);
	if (r < 0)
		goto out_tx;
	r = uipc_cap_recv(sv[1], &got);
	if (r < 0)
		goto out_tx;
	r = uipc_tx_open(ctx, got, &tx2);
	if (r < 0) {
		assert_ptr_equal(tx2, (uipc_tx *)0x1);
		goto out_tx;
	}
	assert_int_equal(uipc_tx_notify(tx), 0);
	assert_int_equal(uipc_tx_notify(tx2), 0);
	assert_int_equal(uipc_rx_wait(rx, 0, &m), 0);
	assert_int_equal(m, 6);
	uipc_tx_free(tx2);
out_tx:
	uipc__close(got);
	uipc__close(sv[0]);
	uipc__close(sv[1]);
	uipc__close(cap);
	uipc_tx_free(tx);
out_rx:
	uipc_rx_free(rx);
out_ctx:
	uipc_ctx_free(ctx);
	return r;
}

static void inject_each(_Atomic int *counter, int expect)
{
	int before = test_count_fds(), failures = 0, n;

	for (n = 0; n < 64; n++) {
		int r;

		atomic_store(counter, n);
		r = life_cycle();
		atomic_store(counter, -1);
		assert_int_equal(test_count_fds(), before);
		if (r == 0)
			break; /* the n-th resource no longer exists: all covered */
		assert_int_equal(r, expect);
		failures++;
	}
	assert_true(n < 64);
	assert_true(failures > 0);
	printf("# %d injection points, every one failed cleanly\n", failures);
}

static void test_alloc_failures(void **state)
{
	(void)state;
	inject_each(&uipc__faults.alloc, -ENOMEM);
}

static void test_fd_failures(void **state)
{
	(void)state;
	inject_each(&uipc__faults.fd, -EMFILE);
}

/* The real thing: the process runs out of descriptors. */
static void test_rlimit_nofile(void **state)
{
	struct rlimit old, lim;
	uipc_ctx *ctx;
	uipc_rx *rxs[64];
	int n = 0, r = 0, before;

	(void)state;
	assert_int_equal(uipc_ctx_new(NULL, &ctx), 0);
	before = test_count_fds();
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
	lim = old;
	lim.rlim_cur = (rlim_t)before + 40;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &lim), 0);
	while (n < 64) {
		uipc_tx *tx;

		r = uipc_rx_new(ctx, 0, &rxs[n]);
		if (r < 0)
			break;
		r = uipc_tx_new(rxs[n], 0, &tx);
		n++;
		if (r < 0)
			break;
		uipc_tx_free(tx);
	}
	if (r != -EMFILE && r != -ENFILE)
		fail_msg("expected fd exhaustion after %d receivers, got %d", n, r);
	while (n > 0)
		uipc_rx_free(rxs[--n]);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
	assert_int_equal(test_count_fds(), before);
	uipc_ctx_free(ctx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_alloc_failures),
	    cmocka_unit_test(test_fd_failures),
	    cmocka_unit_test(test_rlimit_nofile),
	};
	uipc_ctx *probe;
	int r = uipc_ctx_new(NULL, &probe);

	TEST_SKIP_IF(r == -EOPNOTSUPP, "backend %s is not usable on this machine", test_backend());
	uipc_ctx_free(probe);
	return cmocka_run_group_tests_name(test_backend(), tests, NULL, NULL);
}
