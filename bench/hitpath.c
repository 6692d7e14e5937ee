/* SPDX-License-Identifier: MIT */
/*
 * uipc-hitpath: instructions per operation on the awake path, counted by
 * valgrind (callgrind) where the machine has no PMU to count them.
 *
 *   valgrind --tool=callgrind --instr-atstart=no uipc-hitpath
 *   bench/hitpath.sh                       # does that and prints the table
 *
 * One thread does, ROUNDS times each, one half of a ping-pong as the
 * awake receiver sees it: a notify, then the wait that finds it pending at
 * its first look (what a spinning receiver runs when the notify lands).
 * A round trip is two of those. Each mechanism's loop is counted alone
 * (CALLGRIND_START/STOP_INSTRUMENTATION around it, a dump per mechanism):
 *
 *   word        the shm-spin floor: fetch-add; load, exchange
 *   futex-ws    waiter suppression (exchange, compare; load, exchange)
 *   uipc        uipc_tx_notify() + uipc_rx_wait() (default adaptive spin)
 *   uipc-poll   uipc_tx_notify() + uipc_rx_poll()
 *   mailbox     the shm-spin mailbox of 8 bytes: copy, counter; load, copy
 *   uipc-chan   uipc_chan_send() + uipc_chan_recv() of 8 bytes
 *
 * Not counted: the spin iterations while nothing has landed (they depend on
 * the peer's timing) and the cache misses of the line that moves between
 * the two CPUs (one line each way for every mechanism above: README,
 * "Where the round trip goes"). Without valgrind the program runs the same
 * loops and prints ns per operation on this CPU (no contention: the cost
 * of the instructions alone).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <uipc/chan.h>
#include <uipc/notify.h>
#include <valgrind/callgrind.h>

#include "bench.h" /* full_fence() */

#define ROUNDS 100000

static _Atomic uint64_t word;
static _Atomic uint32_t ws;

struct mbox {
	_Alignas(64) char msg[8];
	_Atomic uint64_t seq;
};
static struct mbox box;
static uint64_t box_seen;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void hit_word(void)
{
	for (unsigned i = 0; i < ROUNDS; i++) {
		atomic_fetch_add_explicit(&word, 1, memory_order_release);
		while (atomic_load_explicit(&word, memory_order_acquire) == 0)
			;
		atomic_exchange_explicit(&word, 0, memory_order_acquire);
	}
}

/* The waiter-suppressed futex as the bench's futex-ws peer: 0 empty, 1
 * posted, 2 sleeping; the notify's syscall only for a 2 (never here). */
static void hit_futex_ws(void)
{
	for (unsigned i = 0; i < ROUNDS; i++) {
		full_fence();
		if (atomic_exchange_explicit(&ws, 1, memory_order_seq_cst) == 2)
			abort();
		while (atomic_load_explicit(&ws, memory_order_acquire) != 1)
			;
		atomic_exchange_explicit(&ws, 0, memory_order_acquire);
	}
}

static void hit_mailbox(void)
{
	char out[8] = "ping", in[8];

	for (unsigned i = 0; i < ROUNDS; i++) {
		memcpy(box.msg, out, sizeof(out));
		atomic_fetch_add_explicit(&box.seq, 1, memory_order_release);
		while (atomic_load_explicit(&box.seq, memory_order_acquire) == box_seen)
			;
		memcpy(in, box.msg, sizeof(in));
		box_seen++;
		out[0] = in[1];
	}
}

static int hit_uipc(uipc_tx *tx, uipc_rx *rx, int poll)
{
	uint64_t mask;
	int r;

	for (unsigned i = 0; i < ROUNDS; i++) {
		if ((r = uipc_tx_notify(tx)) < 0)
			return r;
		r = poll ? uipc_rx_poll(rx, &mask) : uipc_rx_wait(rx, UIPC_TIMEOUT_INFINITE, &mask);
		if (r < 0)
			return r;
		if (mask != 1)
			return -EPROTO;
	}
	return 0;
}

static int hit_chan(uipc_chan_tx *tx, uipc_chan *ch)
{
	uint64_t m = 0, got;
	int r;

	for (unsigned i = 0; i < ROUNDS; i++, m++) {
		if ((r = uipc_chan_send(tx, &m, sizeof(m))) < 0)
			return r;
		if ((r = uipc_chan_recv(ch, &got, sizeof(got), UIPC_TIMEOUT_INFINITE)) < 0)
			return r;
		if (got != m)
			return -EPROTO;
	}
	return 0;
}

/* Count one mechanism: callgrind dumps a profile named after it. */
#define MEASURE(name, call)                                                                        \
	do {                                                                                       \
		uint64_t t0 = now_ns();                                                            \
		CALLGRIND_ZERO_STATS;                                                              \
		CALLGRIND_START_INSTRUMENTATION;                                                   \
		call;                                                                              \
		CALLGRIND_STOP_INSTRUMENTATION;                                                    \
		CALLGRIND_DUMP_STATS_AT(name);                                                     \
		printf("%-10s %8.1f ns/op (one thread, %u rounds)\n", name,                        \
		       (double)(now_ns() - t0) / ROUNDS, ROUNDS);                                  \
	} while (0)

int main(int argc, char **argv)
{
	const char *backend = argc > 1 ? argv[1] : NULL;
	struct uipc_chan_config cfg = {
	    .size = sizeof(cfg), .msg_size = 8, .capacity = 256, .flags = UIPC_CHAN_LIGHT};
	uipc_ctx *ctx = NULL;
	uipc_rx *rx = NULL, *crx = NULL;
	uipc_tx *tx = NULL;
	uipc_chan *ch = NULL;
	uipc_chan_tx *ctx_tx = NULL;
	int r, ret = 1;

	if ((r = uipc_ctx_new(backend, &ctx)) < 0) {
		fprintf(stderr, "uipc_ctx_new(%s): %s\n", backend ? backend : "auto", strerror(-r));
		return 1;
	}
	if ((r = uipc_rx_new(ctx, 0, &rx)) < 0 || (r = uipc_tx_new(rx, 0, &tx)) < 0 ||
	    (r = uipc_rx_new(ctx, 0, &crx)) < 0 || (r = uipc_chan_new(crx, 0, &cfg, &ch)) < 0 ||
	    (r = uipc_chan_tx_new(ch, &ctx_tx)) < 0) {
		fprintf(stderr, "setup: %s\n", strerror(-r));
		goto out;
	}
	printf("backend %s\n", uipc_ctx_backend_name(ctx));
	/* Warm every path (and the spin policy's first decisions) uncounted. */
	hit_word();
	hit_futex_ws();
	hit_mailbox();
	if (hit_uipc(tx, rx, 0) < 0 || hit_uipc(tx, rx, 1) < 0 || hit_chan(ctx_tx, ch) < 0)
		goto out;

	MEASURE("word", hit_word());
	MEASURE("futex-ws", hit_futex_ws());
	MEASURE("mailbox", hit_mailbox());
	MEASURE("uipc", r = hit_uipc(tx, rx, 0));
	if (r < 0)
		goto out;
	MEASURE("uipc-poll", r = hit_uipc(tx, rx, 1));
	if (r < 0)
		goto out;
	MEASURE("uipc-chan", r = hit_chan(ctx_tx, ch));
	if (r < 0)
		goto out;
	ret = 0;
out:
	if (ret)
		fprintf(stderr, "uipc-hitpath: failed: %s\n", strerror(r < 0 ? -r : EPROTO));
	uipc_chan_tx_free(ctx_tx);
	uipc_chan_free(ch);
	uipc_rx_free(crx);
	uipc_tx_free(tx);
	uipc_rx_free(rx);
	uipc_ctx_free(ctx);
	return ret;
}
