/* SPDX-License-Identifier: MIT */
/*
 * The backend contract, and nothing else: what a backend (backends/<name>/)
 * provides, and what the core promises when it calls it. The objects it
 * works on (struct uipc_rx, struct uipc_tx) are in uipc-private.h, the
 * descriptor's layout in layout.h and its protocol in desc.h; backends may
 * use the fault hooks (hooks.h). The wait protocol that calls
 * rx_block/rx_ack is in src/wait.c.
 */
#ifndef UIPC_BACKEND_H
#define UIPC_BACKEND_H

#include "uipc-private.h"
#include "desc.h"
#include "hooks.h"

enum uipc__backend_caps {
	UIPC_CAP_POLLABLE = 1u << 0, /* rx_fd gives a pollable fd */
	UIPC_CAP_HANDLER = 1u << 1,  /* handler mode */
	/* rx_block sleeps on desc->status and the kick is a FUTEX_WAKE on it,
	 * a shared one once rx_share ran: an event loop may wait on the word
	 * itself (uipc_rx_futex(), which shares it) */
	UIPC_CAP_FUTEX_WORD = 1u << 2,
};

/*
 * One per backend (backends/<name>/), listed in src/backend.c. The core runs
 * the descriptor protocol (src/rx.c, src/tx.c) and the one wait loop
 * (src/wait.c); a backend only says how a blocked receiver is kicked and
 * how it blocks. Backends whose hardware runs part of the protocol itself
 * (uintr) override notify.
 *
 * Every hook returns 0 or -errno and leaves nothing half-done on failure.
 * Optional hooks may be NULL.
 */
struct uipc__backend_ops {
	const char *name;
	enum uipc_backend id;
	unsigned caps;

	/* Usable on this machine? 0, or -EOPNOTSUPP with a reason in why. */
	int (*probe)(char *why, size_t len);

	/* Receiver resources. rx->desc, rx->memfd and rx->owner_tid are set;
	 * rx_init may set rx->backend, rx->backend_fd (handed to senders in the
	 * capability) and desc->backend_data. rx_fini undoes rx_init. */
	int (*rx_init)(uipc_rx *rx);
	void (*rx_fini)(uipc_rx *rx);

	/* Block until kicked, the absolute CLOCK_MONOTONIC deadline passes
	 * (NULL: forever) or a signal arrives. Called armed (status 0); the
	 * core has re-checked pir. Returns 0 (woken, perhaps spuriously),
	 * -ETIMEDOUT or -EINTR. `expect` is the status value the receiver
	 * armed with (for futex-style compare-and-block). It must not consume
	 * a kick that leaves state behind: the core acknowledges (rx_ack). */
	int (*rx_block)(uipc_rx *rx, uint32_t expect, const struct timespec *deadline);

	/* Optional: block on n > 1 receivers of this backend at once
	 * (uipc_rx_wait_any(), src/any.c), as rx_block does on one: every one
	 * armed with status 0 and re-checked by the core. Returns 0 (woken,
	 * perhaps spuriously), -ETIMEDOUT, -EINTR, or -EOPNOTSUPP when the
	 * kernel cannot (futex_waitv missing); sets bit i of *ret_woken when
	 * rxs[i]'s fd or word fired (for the core's ack). NULL: such sets are
	 * refused with -EOPNOTSUPP. */
	int (*rx_block_many)(uipc_rx *const *rxs, unsigned n, const struct timespec *deadline,
	                     uint64_t *ret_woken);

	/* Optional, for kicks that leave state behind (an eventfd's count):
	 * consume whatever kicks have landed, without blocking, and say how
	 * many. The core calls it for every kick it saw (ON) until that many
	 * were consumed, and after a wake with nothing pending (src/wait.c). */
	uint64_t (*rx_ack)(uipc_rx *rx);

	/* Optional: the backend fd the capability of `vector` carries, owned by
	 * the receiver (duplicated into the capability). NULL: rx->backend_fd.
	 * uintr needs it: the kernel gives one fd per vector. */
	int (*rx_vector_fd)(uipc_rx *rx, unsigned vector, int *ret_fd);

	/* Optional: a capability is about to leave the library (to the
	 * application, or to a channel producer): its fds may reach another
	 * process from now on. Not called for the capability uipc_tx_new()
	 * makes and consumes itself. */
	void (*rx_expose)(uipc_rx *rx);

	/* Optional: senders in other processes may wake the receiver from
	 * now on (uipc__rx_share(): a capability leaves the library, the
	 * futex word is given to a loop, or a fork is about to leave this
	 * process's uipc_tx_new() senders in a child). Called at least once
	 * before the first such sender can exist, on any thread, possibly
	 * with the fork list locked (no locks, nothing that blocks), and
	 * possibly again. */
	void (*rx_share)(uipc_rx *rx);

	/* Pollable fd, or NULL (then -EOPNOTSUPP). */
	int (*rx_fd)(uipc_rx *rx);

	/* Handler mode: install (fn set in rx) or remove delivery to the owner
	 * thread; mask/unmask defer delivery. NULL when not UIPC_CAP_HANDLER. */
	int (*rx_handler)(uipc_rx *rx, bool on);
	int (*rx_mask)(uipc_rx *rx, bool masked);

	/* Sender resources: tx->desc, tx->backend_fd (the receiver's backend fd
	 * from the capability, now owned by tx), pid/tid are set. */
	int (*tx_init)(uipc_tx *tx);
	void (*tx_fini)(uipc_tx *tx);

	/* Optional: tx is made by uipc_tx_new() for rx, in this process, with
	 * no capability (cap_fd and backend_fd -1, tx_init not called): share
	 * what the receiver has. tx_fini undoes it. NULL: such a sender
	 * connects from a capability, as any other. */
	int (*tx_local)(uipc_tx *tx, uipc_rx *rx);

	/* Wake the receiver: the sender won the CAS that set ON. */
	int (*tx_kick)(uipc_tx *tx);

	/* Full override of the sender's protocol (uintr: SENDUIPI does it in
	 * hardware). There is no such override of the wait: every backend
	 * waits in src/wait.c (its spin, its look at channels with fence-free
	 * producers, its last look at the deadline) and supplies rx_block. */
	int (*tx_notify)(uipc_tx *tx);
};

/* Backends known to this build (NULL entries for those not compiled). */
UIPC_INTERNAL const struct uipc__backend_ops *uipc__backend_get(enum uipc_backend id);
UIPC_INTERNAL int uipc__backend_lookup(const char *name, enum uipc_backend *ret_id);

#endif
