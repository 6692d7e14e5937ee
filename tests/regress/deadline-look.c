/* SPDX-License-Identifier: MIT */
/*
 * A wait that ended on its deadline said -ETIMEDOUT without a last look at
 * the pending bits: a notify that completed just before the deadline (its
 * kick racing the timeout: the outside torture saw it 3.5-76 us before the
 * deadline, on the signal backend, on a loaded machine) was left for the
 * next wait. Whatever the backend reports, the wait looks once more. The
 * race is made certain here: the backend's sleep is wrapped so that a
 * notify (uipc_rx_wait) or a message (uipc_chan_recv) completes right as it
 * reports its timeout.
 */
#include "regress.h"

static const struct uipc__backend_ops *orig;
static struct uipc__backend_ops wrapped;
static uipc_tx *late_tx;
static uipc_chan_tx *late_ptx;

static int late_block(uipc_rx *rx, uint32_t expect, const struct timespec *deadline)
{
	int r = orig->rx_block(rx, expect, deadline);
	uint64_t v = 99;

	if (r == -ETIMEDOUT) {
		if (late_tx)
			(void)uipc_tx_notify(late_tx);
		if (late_ptx)
			(void)uipc_chan_send(late_ptx, &v, 8);
		late_tx = NULL;
		late_ptx = NULL;
	}
	return r;
}

static int check(const char *backend)
{
	struct uipc_chan_config cfg = {.msg_size = 8, .capacity = 8};
	uipc_chan_tx *p;
	uipc_chan *c;
	uipc_ctx *ctx;
	uipc_rx *rx;
	uipc_tx *tx;
	uint64_t m = 0;
	int r;

	if (uipc_ctx_new(backend, &ctx) < 0)
		return T_SKIP;
	t_check(uipc_rx_new(ctx, 0, &rx) == 0);
	if (!rx->ops->rx_block) {
		uipc_rx_free(rx);
		uipc_ctx_free(ctx);
		return T_SKIP;
	}
	orig = rx->ops;
	wrapped = *orig;
	wrapped.rx_block = late_block;
	t_check(uipc_tx_new(rx, 3, &tx) == 0);
	t_check(uipc_chan_new(rx, 5, &cfg, &c) == 0);
	t_check(uipc_chan_tx_new(c, &p) == 0);
	t_check(uipc_rx_set_spin(rx, UIPC_SPIN_NONE, 0) == 0);
	rx->ops = &wrapped;

	late_tx = tx;
	r = uipc_rx_wait(rx, 20000000, &m);
	if (r != 0)
		fprintf(stderr, "%s: uipc_rx_wait() = %d\n", backend, r);
	t_check(r == 0 && m == UINT64_C(1) << 3);

	late_ptx = p;
	r = uipc_chan_recv(c, &m, 8, 20000000);
	if (r != 0)
		fprintf(stderr, "%s: uipc_chan_recv() = %d\n", backend, r);
	t_check(r == 0 && m == 99);

	rx->ops = orig;
	uipc_chan_tx_free(p);
	uipc_chan_free(c);
	uipc_tx_free(tx);
	(void)uipc_rx_poll(rx, &m);
	uipc_rx_free(rx);
	uipc_ctx_free(ctx);
	return T_PASS;
}

int main(void)
{
	static const char *const backends[] = {"futex", "eventfd", "signal", "uintr-sim"};
	int ran = 0;

	for (unsigned i = 0; i < sizeof(backends) / sizeof(backends[0]); i++) {
		int r = check(backends[i]);

		if (r == T_FAIL)
			return T_FAIL;
		ran += r == T_PASS;
	}
	return ran ? T_PASS : T_SKIP;
}
