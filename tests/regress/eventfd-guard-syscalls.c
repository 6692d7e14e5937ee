/* SPDX-License-Identifier: MIT */
/*
 * A pollable receiver cost more syscalls than the raw eventfd it replaces:
 * every kick and every acknowledgement ran fcntl(F_GETFL) first (the guard
 * against a peer clearing O_NONBLOCK), so an in-process pair paid 2 per
 * kick, 2 per acknowledgement and 2 for a drain that found nothing, where
 * an eventfd pays 1, 1 and 0. Counted with ptrace (tests/lib/syscount.h).
 */
#include "regress.h"
#include "../lib/syscount.h"

enum { KICK, ACK, EMPTY, SEGS };

static void child(void *arg)
{
	uipc_ctx *ctx;
	uipc_rx *rx;
	uipc_tx *tx;
	uint64_t m;

	(void)arg;
	if (uipc_ctx_new("eventfd", &ctx) < 0 || uipc_rx_new(ctx, UIPC_RX_POLLABLE, &rx) < 0 ||
	    uipc_tx_new(rx, 1, &tx) < 0)
		_exit(T_SKIP);
	for (int i = 0; i < 10; i++) {
		if (uipc_rx_arm(rx) != 0)
			_exit(2);
		sc_begin(KICK);
		uipc_tx_notify(tx);
		sc_end();
		sc_begin(ACK);
		uipc_rx_drain(rx, &m);
		sc_end();
		if (m != 2 || uipc_rx_arm(rx) != 0)
			_exit(2);
		sc_begin(EMPTY);
		uipc_rx_drain(rx, &m);
		sc_end();
	}
	_exit(0);
}

int main(void)
{
	long n[SEGS];
	int r = sc_run(child, NULL, n, SEGS);

	if (r == T_SKIP || r < 0)
		return T_SKIP;
	t_check(r == 0);
	fprintf(stderr, "per 10: kick %ld, ack %ld, empty drain %ld\n", n[KICK], n[ACK], n[EMPTY]);
	t_check(n[KICK] == 10);
	t_check(n[ACK] == 10);
	t_check(n[EMPTY] == 0);
	return T_PASS;
}
