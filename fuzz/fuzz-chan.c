/* SPDX-License-Identifier: MIT */
/*
 * A channel consumer over a ring whose shared bytes the input
 * controls. The input is a geometry, then a program of operations that mix
 * honest producer sends with a hostile peer's writes to the shared mapping
 * (indices, sequence numbers, header, raw bytes) and consumer calls. The
 * consumer must answer every call with a result its contract allows, never
 * touch memory outside the mapping, never loop or block: it only ever polls.
 *
 * Input format: 2 bytes of geometry (msg size, capacity 2..64, SPSC/MPSC),
 * then ops: a byte (< 64 producer send/send_n, < 128 peer write, < 250
 * consumer recv/recv_n/peek/release, else attach a producer) and its
 * argument bytes. Reading past the end yields zeros.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"

#define MAX_OPS 512

struct input {
	const uint8_t *p;
	size_t n;
};

static uint64_t take(struct input *in, unsigned bytes)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < bytes && in->n; i++, in->n--)
		v |= (uint64_t)*in->p++ << (8 * i);
	return v;
}

static void must(bool ok, const char *what, int r)
{
	if (!ok) {
		fprintf(stderr, "fuzz-chan: %s returned %d\n", what, r);
		abort();
	}
}

static uipc_rx *fuzz_rx(uipc_ctx **ret_ctx)
{
	static uipc_ctx *ctx;
	static uipc_rx *rx;

	if (!rx && (uipc_ctx_new("futex", &ctx) < 0 || uipc_rx_new(ctx, 0, &rx) < 0))
		abort();
	*ret_ctx = ctx;
	return rx;
}

struct state {
	uipc_chan *c;
	uipc_chan_tx *p;
	struct uipc__chan_layout l;
	size_t msg;
	bool broken;
	bool peeked;
};

static _Atomic uint64_t *word(struct state *s, size_t off)
{
	off &= ~(size_t)7;
	if (off + 8 > s->l.size)
		off = s->l.size - 8;
	return (_Atomic uint64_t *)(void *)((char *)s->l.map + off);
}

static void consumer_result(struct state *s, int r, int max, const char *what)
{
	if (r == -EPROTO)
		s->broken = true;
	else
		must(!s->broken, what, r); /* -EPROTO is for good */
	must(r == -EAGAIN || r == -EPROTO || (r >= 0 && r <= max), what, r);
}

static void producer_result(int r, int max, const char *what)
{
	must(r == -EAGAIN || r == -EPROTO || r == -EPIPE || (r >= 0 && r <= max), what, r);
}

static void op_recv(struct state *s, struct input *in, unsigned op)
{
	unsigned char buf[64 * 40];
	const void *m;
	size_t k = 1 + take(in, 1) % 64;
	int r;

	switch (op) {
	case 0:
		r = uipc_chan_recv(s->c, buf, sizeof(buf), 0);
		consumer_result(s, r, 0, "recv");
		if (r >= 0) /* a message was taken: that ends a peek */
			s->peeked = false;
		break;
	case 1:
		r = uipc_chan_recv_n(s->c, buf, k, sizeof(buf), 0);
		consumer_result(s, r, (int)k, "recv_n");
		if (r >= 0)
			s->peeked = false;
		break;
	case 2:
		r = uipc_chan_peek(s->c, &m, 0);
		consumer_result(s, r, 0, "peek");
		if (r == 0) {
			/* The pointer must be a slot inside the mapping. */
			must((const char *)m >= (const char *)s->l.map + s->l.slots_off &&
			         (const char *)m + s->msg <= (const char *)s->l.map + s->l.size,
			     "peek pointer", 0);
			memcpy(buf, m, s->msg);
			s->peeked = true;
		}
		break;
	default:
		r = uipc_chan_release(s->c);
		must(s->peeked ? (r == 0 || r == -EPROTO) : r == -EINVAL, "release", r);
		if (r == 0)
			s->peeked = false;
		break;
	}
}

static void op_send(struct state *s, struct input *in, bool batch)
{
	unsigned char buf[64 * 40] = {0};
	size_t k = 1 + take(in, 1) % 64;
	int r;

	if (!s->p)
		return;
	if (batch) {
		r = uipc_chan_send_n(s->p, buf, k);
		producer_result(r, (int)k, "send_n");
	} else {
		r = uipc_chan_send(s->p, buf, s->msg);
		producer_result(r, 0, "send");
	}
}

/* The hostile peer: writes shared words near values that matter. */
static void op_poke(struct state *s, struct input *in, unsigned op)
{
	uint64_t head = atomic_load(word(s, s->l.head_off));
	int64_t delta = (int8_t)take(in, 1);
	uint64_t slot = take(in, 2) % s->l.capacity;

	switch (op) {
	case 0:
		atomic_store(word(s, s->l.tail_off), head + (uint64_t)delta);
		break;
	case 1:
		atomic_store(word(s, s->l.head_off), head + (uint64_t)delta);
		break;
	case 2: /* a slot's sequence number */
		atomic_store(word(s, s->l.slots_off + slot * s->l.stride + s->l.seq_off),
		             head + (uint64_t)delta);
		break;
	case 3: /* MPSC: a producer's claim entry (first position, count) */
		if (s->l.claims) {
			size_t e = s->l.claims_off + (slot % s->l.claims) * s->l.claim_size;

			atomic_store(word(s, e), head + (uint64_t)delta);
			atomic_store(word(s, e + 8), take(in, 1) % 4);
			break;
		}
		/* fall through */
	default:
		atomic_store(word(s, (size_t)take(in, 3) % s->l.size), take(in, 8));
		break;
	}
}

/* A producer attaching to a ring whose header the peer may have rewritten. */
static void op_attach(struct state *s)
{
	uipc_chan_tx *p;
	int r = uipc_chan_tx_new(s->c, &p);

	must(r == 0 || r == -EINVAL || r == -EPROTONOSUPPORT || r == -EBUSY || r == -EPROTO ||
	         r == -EPIPE || r == -EMFILE,
	     "attach", r);
	if (r == 0)
		uipc_chan_tx_free(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = {data, size};
	struct uipc_chan_config cfg;
	struct state s = {0};
	uipc_ctx *ctx;
	uipc_rx *rx = fuzz_rx(&ctx);
	unsigned geo = (unsigned)take(&in, 2);

	cfg = (struct uipc_chan_config){
	    .msg_size = 1 + (geo & 31) + ((geo >> 5) & 1) * 8,
	    .capacity = (size_t)2 << ((geo >> 6) % 6),
	    .flags = (geo >> 9) & 1 ? UIPC_CHAN_MPSC : 0,
	};
	if (uipc_chan_new(rx, 1, &cfg, &s.c) < 0)
		abort();
	uipc__chan_layout(s.c, &s.l);
	s.msg = cfg.msg_size;
	if (uipc_chan_tx_new(s.c, &s.p) < 0)
		abort();
	for (unsigned i = 0; i < MAX_OPS && in.n; i++) {
		unsigned op = (unsigned)take(&in, 1);

		if (op < 64)
			op_send(&s, &in, op & 1);
		else if (op < 128)
			op_poke(&s, &in, op & 7);
		else if (op < 250)
			op_recv(&s, &in, op & 3);
		else
			op_attach(&s);
	}
	uipc_chan_tx_free(s.p);
	uipc_chan_free(s.c);
	uipc_rx_poll(rx, &(uint64_t){0}); /* leave the shared receiver clean */
	return 0;
}
