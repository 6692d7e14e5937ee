/* SPDX-License-Identifier: MIT */
/*
 * An SPSC producer publishes its slots' sequence numbers, then the ring's
 * tail (for the next producer only). Killed in between, it left the tail
 * behind the slots; the consumer took those messages and published its
 * head past the tail, and every later producer attach (takeover) failed
 * -EPROTO: the "at most a ring ahead" check wrapped. Here the dead
 * producer's last publish is written into the ring exactly as it does it,
 * less the tail store, then its lock is dropped (as the kernel does at its
 * death); the next producer must take over, and every message, the dead
 * one's included, come out once and in order.
 */
#include "regress.h"

#define CAP 8

int main(void)
{
	struct uipc_chan_config cfg = {.size = sizeof(cfg), .msg_size = 8, .capacity = CAP};
	struct uipc__chan_layout lay;
	uipc_chan_tx *p;
	uipc_chan *c;
	uipc_ctx *ctx;
	uipc_rx *rx;
	uint64_t v, next = 0;

	t_check(uipc_ctx_new(NULL, &ctx) == 0);
	t_check(uipc_rx_new(ctx, 0, &rx) == 0);
	t_check(uipc_chan_new(rx, 3, &cfg, &c) == 0);
	uipc__chan_layout(c, &lay);

	for (int round = 0; round < 3 * CAP; round++) {
		uint64_t tail, k = 1 + (uint64_t)round % (CAP - 1);

		t_check(uipc_chan_tx_new(c, &p) == 0);
		/* A message sent whole, tail and all. */
		v = next;
		t_check(uipc_chan_send(p, &v, 8) == 0);
		/* Then k more published, and killed before the tail store. */
		tail = *(_Atomic uint64_t *)(void *)((char *)lay.map + lay.tail_off);
		t_check(tail == next + 1);
		for (uint64_t i = 0; i < k; i++) {
			uint64_t pos = tail + i;
			unsigned char *slot =
			    (unsigned char *)lay.map + lay.slots_off + (pos % CAP) * lay.stride;

			memcpy(slot, &(uint64_t){next + 1 + i}, 8);
			atomic_store((_Atomic uint64_t *)(void *)(slot + lay.seq_off), pos + 1);
		}
		uipc_chan_tx_free(p); /* its lock goes, as at its death */
		/* The consumer takes them all; waiting, it publishes its head. */
		for (uint64_t i = 0; i < k + 1; i++) {
			t_check(uipc_chan_recv(c, &v, 8, 1000000000) == 0);
			t_check(v == next);
			next++;
		}
		t_check(uipc_chan_recv(c, &v, 8, 1000000) == -EPIPE);
	}
	/* The last producer works on: messages once, in order, across laps. */
	t_check(uipc_chan_tx_new(c, &p) == 0);
	for (int i = 0; i < 3 * CAP; i++) {
		v = next;
		t_check(uipc_chan_send(p, &v, 8) == 0);
		t_check(uipc_chan_recv(c, &v, 8, 1000000000) == 0);
		t_check(v == next);
		next++;
	}
	t_check(uipc_chan_recv(c, &v, 8, 0) == -EAGAIN);
	uipc_chan_tx_free(p);
	uipc_chan_free(c);
	uipc_rx_free(rx);
	uipc_ctx_free(ctx);
	return T_PASS;
}
