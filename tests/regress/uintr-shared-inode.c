/* SPDX-License-Identifier: MIT */
/*
 * Two senders of one process to two vectors of one receiver shared a UITT
 * index on the real uintr backend: the library matched vector fds by inode,
 * and the kernel's vector fds (/dev/uintr's, like the UINTR syscalls') are
 * anon-inode files sharing one inode. The second sender then notified the
 * first one's vector; after the first receiver was freed, a new receiver's
 * sender could even post to the dead one and a blocked wait never woke.
 * Found on the emulated Sapphire Rapids (scripts/uintr-emu.sh); the model's
 * vector fds have inodes of their own, so there it passes either way.
 *
 * Runs on UIPC_BACKEND (uintr or uintr-sim); 77 when it is not usable.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include <uipc.h>

#define check(c)                                                                                   \
	do {                                                                                       \
		if (!(c)) {                                                                        \
			fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, #c);                    \
			return 1;                                                                  \
		}                                                                                  \
	} while (0)

/* Notify only @b and expect exactly its vector. */
static int round_trip(uipc_ctx *ctx, unsigned va, unsigned vb)
{
	uipc_rx *rx;
	uipc_tx *a, *b;
	uint64_t m = 0;

	check(uipc_rx_new(ctx, 0, &rx) == 0);
	check(uipc_tx_new(rx, va, &a) == 0);
	check(uipc_tx_new(rx, vb, &b) == 0);
	check(uipc_tx_notify(b) == 0);
	check(uipc_rx_wait(rx, 2000000000, &m) == 0);
	check(m == UINT64_C(1) << vb);
	check(uipc_tx_notify(a) == 0);
	check(uipc_rx_wait(rx, 2000000000, &m) == 0);
	check(m == UINT64_C(1) << va);
	uipc_tx_free(a);
	uipc_tx_free(b);
	uipc_rx_free(rx);
	return 0;
}

int main(void)
{
	const char *backend = getenv("UIPC_BACKEND");
	uipc_ctx *ctx;
	int r;

	if (!backend || (uipc_ctx_new(backend, &ctx) < 0))
		return 77;
	r = round_trip(ctx, 3, 63);
	if (!r) /* a fresh receiver after the first was freed */
		r = round_trip(ctx, 1, 2);
	uipc_ctx_free(ctx);
	return r;
}
