/* SPDX-License-Identifier: MIT */
/*
 * The shared descriptor as a hostile peer writes it.
 *
 * The input is a program. Its first byte picks the receiver's backend
 * (futex, or eventfd with a pollable receiver); every following op either
 * scribbles the descriptor page (status, pir, header line) the way any
 * process holding the memfd can, or runs a receiver or sender operation on
 * it: waits with timeout 0 or a short one, poll, arm/drain, notify, check,
 * and connecting senders, both to this receiver and to a descriptor whose
 * whole page comes from the input (a sealed or broken memfd wrapped in a
 * vector capability). Nothing may crash, hang, leak, or return a result
 * outside what notify.h documents.
 */
#include <sys/eventfd.h>

#include "fuzz-common.h"

#define MAX_OPS      96
#define MAX_SHORT_NS 200000 /* longest short wait: keeps executions fast */

enum op {
	OP_STATUS,  /* peer stores the status word */
	OP_PIR,     /* peer stores the pending bits */
	OP_POST,    /* peer posts one vector, protocol or not */
	OP_HEADER,  /* peer rewrites bytes of the header line */
	OP_WAIT0,   /* uipc_rx_wait(0) */
	OP_WAIT,    /* uipc_rx_wait(short) */
	OP_POLL,    /* uipc_rx_poll() */
	OP_ARM,     /* uipc_rx_arm() */
	OP_DRAIN,   /* uipc_rx_drain() */
	OP_TX_NEW,  /* uipc_tx_new() on this receiver */
	OP_NOTIFY,  /* uipc_tx_notify() */
	OP_CHECK,   /* uipc_tx_check() */
	OP_SPIN,    /* uipc_rx_set_spin() */
	OP_FOREIGN, /* connect to a descriptor made of input bytes */
	OP__COUNT
};

static bool is_errno_of_notify(int r)
{
	/* 0, the receiver is gone, or a backend kick error on a descriptor a
	 * peer corrupted (a futex wake cannot fail; an eventfd write can). */
	return r == 0 || r == -EPIPE || r == -EBADF || r == -EINVAL;
}

static void check_wait(int r, uint64_t m, int64_t timeout)
{
	/* -EINTR: libFuzzer's timeout alarm (SIGALRM) interrupts blocks. */
	/* -EBUSY: a blocking wait while the receiver is armed for a loop. */
	FZ_EXPECT(r == 0 || (timeout == 0 ? r == -EAGAIN : r == -ETIMEDOUT) || r == -EINTR ||
	              r == -EBUSY,
	          r);
	/* A successful wait always reports something. */
	FZ_EXPECT(r != 0 || m != 0, r);
}

/* A sender connected through a capability whose descriptor page, size,
 * seals, vector and backend all come from the input. */
static void op_foreign(uipc_ctx *ctx, struct fz *in)
{
	uint8_t k = fz_u8(in), hlen = fz_u8(in);
	struct uipc__cap_vector cv;
	struct uipc__desc page;
	size_t size = UIPC_DESC_MAP_SIZE;
	int seals = FZ_SEALS, fds[2] = {-1, -1}, cap, peer = -1, r;
	uipc_tx *tx = NULL;

	cv.backend = fz_backend(fz_u8(in));
	cv.vector = (k & 0x20) ? fz_u32(in) : fz_u8(in) % UIPC_VECTORS;
	if (k & 0x08)
		fz_desc_template(&page, cv.backend);
	else
		memset(&page, 0, sizeof(page));
	/* Overlay the first hlen bytes of the page with input. */
	hlen %= sizeof(page) + 1;
	fz_bytes(in, &page, hlen);
	switch (k & 3) {
	case 1:
		seals = F_SEAL_SHRINK; /* growable, seals still changeable */
		break;
	case 2:
		seals = 0;
		break;
	case 3:
		size = (size_t)fz_u8(in) * 16; /* short */
		break;
	}
	fds[0] = fz_memfd(&page, sizeof(page), size, seals);
	if (fds[0] < 0)
		return;
	if (k & 0x40)
		fds[1] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	cap = uipc__cap_create(UIPC_CAP_KIND_VECTOR, &cv, sizeof(cv), fds, fds[1] >= 0 ? 2 : 1,
	                       &peer);
	uipc__close(fds[0]);
	uipc__close(fds[1]);
	if (cap < 0)
		return;
	if (k & 0x80) {
		close(peer); /* the "receiver" died before we connected */
		peer = -1;
	}
	r = uipc_tx_open(ctx, cap, &tx);
	FZ_EXPECT(
	    r == 0 || r == -EINVAL || r == -EPROTONOSUPPORT || r == -EPIPE || r == -EOPNOTSUPP, r);
	FZ_EXPECT(r != 0 || peer >= 0, r);
	if (r == 0) {
		for (unsigned i = 0; i < 3u; i++) {
			r = uipc_tx_notify(tx);
			FZ_EXPECT(is_errno_of_notify(r), r);
		}
		r = uipc_tx_check(tx);
		FZ_EXPECT(r == 0 || r == -EPIPE, r);
		uipc_tx_free(tx);
	}
	close(cap);
	uipc__close(peer);
}

static void op_header(struct uipc__desc *d, struct fz *in)
{
	/* The header line is the second cache line (bytes 64..127). */
	uint8_t off = fz_u8(in) % UIPC_CACHELINE, len = fz_u8(in) % 16;
	uint8_t *line = (uint8_t *)d + UIPC_CACHELINE;

	if (off + len > UIPC_CACHELINE)
		len = (uint8_t)(UIPC_CACHELINE - off);
	fz_bytes(in, line + off, len);
}

struct state {
	uipc_ctx *ctx;
	uipc_rx *rx;
	uipc_tx *tx;
	bool pollable;
};

static void op_spin(struct state *st, struct fz *in)
{
	uint8_t mode = fz_u8(in);
	uint64_t budget = (uint64_t)fz_u8(in) * 100; /* <= 25.5 us: stay fast */
	int r;

	if (mode & 0x80)
		budget = fz_u64(in); /* mostly out of range: -EINVAL */
	r = uipc_rx_set_spin(st->rx, (enum uipc_spin_mode)(mode % 4), budget);
	FZ_EXPECT(r == 0 || r == -EINVAL, r);
	FZ_EXPECT(r == 0 || mode % 4 == 3 || budget > UIPC_SPIN_MAX_NS, r);
	if (r == 0 && budget > 100000)
		uipc_rx_set_spin(st->rx, UIPC_SPIN_NONE, 0);
}

static void run_op(struct state *st, struct fz *in)
{
	struct uipc__desc *d = st->rx->desc;
	uint64_t m = 0, v;
	int64_t timeout;
	int r;

	switch (fz_u8(in) % OP__COUNT) {
	case OP_STATUS:
		atomic_store(&d->status, fz_u32(in));
		break;
	case OP_PIR:
		atomic_store(&d->pir, fz_u64(in));
		break;
	case OP_POST:
		atomic_fetch_or(&d->pir, UINT64_C(1) << (fz_u8(in) % 64));
		break;
	case OP_HEADER:
		op_header(d, in);
		break;
	case OP_WAIT0:
		v = atomic_load(&d->pir);
		r = uipc_rx_wait(st->rx, 0, &m);
		check_wait(r, m, 0);
		/* A poll-wait reports exactly what was pending. */
		FZ_EXPECT(r != 0 || m == v, r);
		FZ_EXPECT(r == 0 || v == 0, r);
		break;
	case OP_WAIT:
		timeout = (int64_t)(fz_u8(in) * (MAX_SHORT_NS / 256) + 1);
		r = uipc_rx_wait(st->rx, timeout, &m);
		check_wait(r, m, timeout);
		break;
	case OP_POLL:
		v = atomic_load(&d->pir);
		r = uipc_rx_poll(st->rx, &m);
		FZ_EXPECT(r == 0 || r == -EAGAIN, r);
		FZ_EXPECT(r == 0 ? m == v : v == 0, r);
		break;
	case OP_ARM:
		r = uipc_rx_arm(st->rx);
		FZ_EXPECT(st->pollable ? (r == 0 || r == -EAGAIN) : r == -EOPNOTSUPP, r);
		break;
	case OP_DRAIN:
		r = uipc_rx_drain(st->rx, &m);
		FZ_EXPECT(st->pollable ? r == 0 : r == -EOPNOTSUPP, r);
		break;
	case OP_TX_NEW: {
		unsigned vec = fz_u8(in);
		uipc_tx *tx = NULL;

		vec = (vec & 0x80) ? vec : vec % UIPC_VECTORS;
		r = uipc_tx_new(st->rx, vec, &tx);
		/* The header may have been scribbled: then connecting fails. */
		FZ_EXPECT(r == 0 || r == -EINVAL || r == -EPROTONOSUPPORT || r == -EPIPE, r);
		FZ_EXPECT(vec < UIPC_VECTORS || r == -EINVAL, r);
		FZ_EXPECT(r != 0 || tx != NULL, r);
		if (r == 0) {
			uipc_tx_free(st->tx);
			st->tx = tx;
		}
		break;
	}
	case OP_NOTIFY:
		if (!st->tx)
			break;
		r = uipc_tx_notify(st->tx);
		FZ_EXPECT(is_errno_of_notify(r), r);
		/* Unless the peer claims the receiver closed, the bit is posted. */
		if (r == 0)
			FZ_EXPECT((atomic_load(&d->pir) & st->tx->bit) ||
			              (atomic_load(&d->status) & UIPC_DESC_CLOSED),
			          r);
		break;
	case OP_CHECK:
		if (!st->tx)
			break;
		r = uipc_tx_check(st->tx);
		FZ_EXPECT(r == 0 || r == -EPIPE, r);
		break;
	case OP_SPIN:
		op_spin(st, in);
		break;
	case OP_FOREIGN:
		op_foreign(st->ctx, in);
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz in = {data, size};
	struct state st = {0};
	uint8_t cfg = fz_u8(&in);
	int r;

	st.pollable = cfg & 1;
	r = uipc_ctx_new(st.pollable ? "eventfd" : "futex", &st.ctx);
	FZ_EXPECT(r == 0, r);
	r = uipc_rx_new(st.ctx, st.pollable ? UIPC_RX_POLLABLE : 0, &st.rx);
	FZ_EXPECT(r == 0, r);
	/* Spinning only costs time here: the fuzzer has no second thread. */
	uipc_rx_set_spin(st.rx, UIPC_SPIN_NONE, 0);
	if (cfg & 2)
		FZ_EXPECT(uipc_tx_new(st.rx, cfg >> 2, &st.tx) == 0, -1);
	for (unsigned i = 0; i < MAX_OPS && in.n; i++)
		run_op(&st, &in);
	uipc_tx_free(st.tx);
	uipc_rx_free(st.rx);
	uipc_ctx_free(st.ctx);
	return 0;
}
