/* SPDX-License-Identifier: MIT */
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "backend.h"
#include "hooks.h"

static bool tx_valid(const uipc_tx *tx)
{
	return tx && tx->magic == UIPC_TX_MAGIC;
}

/* Everything in the descriptor's header line came from the peer: check it
 * once, copy what we use, never trust it again. */
static int desc_check(const struct uipc__desc *d, uint32_t backend)
{
	if (d->magic != UIPC_DESC_MAGIC)
		return -EINVAL;
	if (d->abi != UIPC_DESC_ABI) /* a receiver of another uipc release */
		return -EPROTONOSUPPORT;
	if (d->backend != backend)
		return -EINVAL;
	if (d->pid <= 0 || d->tid <= 0)
		return -EINVAL;
	return 0;
}

static int tx_setup(uipc_tx *tx, int cap_fd, const struct uipc__cap_vector *cv, int *fds,
                    unsigned nfds)
{
	void *map;
	int r;

	tx->ops = uipc__backend_get((enum uipc_backend)cv->backend);
	if (!tx->ops)
		return -EOPNOTSUPP;
	tx->own_notify = tx->ops->tx_notify != NULL;
	r = uipc__shm_map(fds[0], UIPC_DESC_MAP_SIZE, &map);
	if (r < 0)
		return r;
	tx->desc = map;
	r = desc_check(tx->desc, cv->backend);
	if (r < 0)
		return r;
	tx->vector = cv->vector;
	tx->bit = UINT64_C(1) << cv->vector;
	tx->pid = tx->desc->pid;
	tx->tid = tx->desc->tid;
	if (nfds > 1) {
		tx->backend_fd = fds[1];
		fds[1] = -1;
	}
	if (uipc__fault(&uipc__faults.fd))
		return -EMFILE;
	tx->cap_fd = fcntl(cap_fd, F_DUPFD_CLOEXEC, 0);
	if (tx->cap_fd < 0)
		return -errno;
	if (tx->ops->tx_init)
		return tx->ops->tx_init(tx);
	return 0;
}

static void tx_release(uipc_tx *tx)
{
	if (tx->desc)
		munmap(tx->desc, UIPC_DESC_MAP_SIZE);
	uipc__close(tx->cap_fd);
	uipc__close(tx->backend_fd);
	uipc__life_unref(tx->life);
	free(tx);
}

/*
 * Is the receiver gone? From a capability: its creator's end hung up (the
 * kernel's word). A sender of uipc_tx_new(): the receiver's free said so in
 * the life page, which only the receiver's process and its fork children
 * map (never the status word's CLOSED, which any peer can store). In a fork
 * child, also the receiver's process gone (kill(2); a zombie still counts
 * as there).
 */
static bool tx_gone(uipc_tx *tx)
{
	if (!tx->life)
		return uipc__cap_alive(tx->cap_fd) < 0;
	if (atomic_load_explicit(tx->life->closed, memory_order_seq_cst))
		return true;
	if (tx->gen == atomic_load_explicit(&uipc__fork_gen, memory_order_relaxed))
		return false;
	return kill(tx->life->pid, 0) < 0 && errno == ESRCH;
}

UIPC_API int uipc_tx_open(uipc_ctx *ctx, int cap_fd, uipc_tx **ret_tx)
{
	struct uipc__cap_vector cv;
	int fds[2] = {-1, -1};
	unsigned nfds = 0;
	uipc_tx *tx;
	int r;

	uipc_return_if(!ctx || !ret_tx, -EINVAL);
	uipc_return_if(cap_fd < 0, -EBADF);
	if (fcntl(cap_fd, F_GETFD) < 0)
		return -EBADF;
	tx = uipc__calloc(1, sizeof(*tx));
	if (!tx)
		return -ENOMEM;
	tx->cap_fd = tx->backend_fd = -1;
	r = uipc__cap_open(cap_fd, UIPC_CAP_KIND_VECTOR, &cv, sizeof(cv), fds, 1, 2, &nfds);
	if (r < 0) {
		free(tx);
		return r;
	}
	r = cv.vector < UIPC_VECTORS ? tx_setup(tx, cap_fd, &cv, fds, nfds) : -EINVAL;
	uipc__close(fds[0]); /* the mapping keeps the memory */
	uipc__close(fds[1]);
	if (r < 0) {
		tx_release(tx);
		return r;
	}
	tx->ctx = uipc__ctx_ref(ctx);
	tx->magic = UIPC_TX_MAGIC;
	*ret_tx = tx;
	return 0;
}

/*
 * A sender in the receiver's own process, where the backend can share the
 * receiver's state (tx_local): no capability, no socket pair; liveness is
 * the receiver's life, in process memory. Only its own mapping of the
 * descriptor, which outlives the receiver's.
 */
static int tx_local_new(uipc_rx *rx, unsigned vector, uipc_tx **ret_tx)
{
	uipc_tx *tx;
	void *map;
	int r;

	uipc_return_if(vector >= UIPC_VECTORS, -EINVAL);
	uipc_return_if(uipc__forked(&rx->fork), -ECHILD);
	tx = uipc__calloc(1, sizeof(*tx));
	if (!tx)
		return -ENOMEM;
	tx->cap_fd = tx->backend_fd = -1;
	r = uipc__shm_map(rx->memfd, UIPC_DESC_MAP_SIZE, &map);
	if (r < 0) {
		free(tx);
		return r;
	}
	tx->desc = map;
	tx->ops = rx->ops;
	tx->own_notify = tx->ops->tx_notify != NULL;
	tx->vector = vector;
	tx->bit = UINT64_C(1) << vector;
	tx->pid = rx->life->pid;
	tx->tid = rx->owner_tid;
	atomic_fetch_add_explicit(&rx->life->refs, 1, memory_order_relaxed);
	tx->life = rx->life;
	tx->gen = rx->fork.gen;
	r = rx->ops->tx_local(tx, rx);
	if (r < 0) {
		tx_release(tx);
		return r;
	}
	tx->ctx = uipc__ctx_ref(rx->ctx);
	tx->magic = UIPC_TX_MAGIC;
	*ret_tx = tx;
	return 0;
}

UIPC_API int uipc_tx_new(uipc_rx *rx, unsigned vector, uipc_tx **ret_tx)
{
	int fd, r;

	uipc_return_if(!rx || rx->magic != UIPC_RX_MAGIC || !ret_tx, -EINVAL);
	if (rx->ops->tx_local)
		return tx_local_new(rx, vector, ret_tx);
	/* This capability never leaves the library. */
	fd = uipc__rx_cap(rx, vector, false);
	if (fd < 0)
		return fd;
	r = uipc_tx_open(rx->ctx, fd, ret_tx);
	uipc__close(fd);
	return r;
}

UIPC_API void uipc_tx_free(uipc_tx *tx)
{
	uipc_ctx *ctx;

	if (!tx_valid(tx))
		return;
	if (tx->ops->tx_fini)
		tx->ops->tx_fini(tx);
	ctx = tx->ctx;
	tx->magic = 0;
	tx_release(tx);
	uipc_ctx_free(ctx);
}

UIPC_API unsigned uipc_tx_vector(const uipc_tx *tx)
{
	if (!tx_valid(tx))
		return UIPC_VECTORS;
	return tx->vector;
}

/* A notify that the pending bit does not cover: the rest of the post, and
 * the kick if it won one. */
static __attribute__((noinline)) int tx_post(uipc_tx *tx)
{
	int r = uipc__desc_post_or(tx->desc, tx->bit);

	if (r == 0)
		return 0;
	if (r < 0) /* CLOSED in shared memory: gone only if the kernel agrees */
		return tx_gone(tx) ? -EPIPE : 0;
	atomic_fetch_add_explicit(&tx->kicks, 1, memory_order_relaxed);
	r = tx->ops->tx_kick(tx);
	if (r < 0)
		uipc__desc_unpost(tx->desc);
	return r;
}

UIPC_API int uipc_tx_notify(uipc_tx *tx)
{
	uipc_return_if(!tx_valid(tx), -EINVAL);
	if (tx->own_notify)
		return tx->ops->tx_notify(tx);
	/* A notify to a receiver still holding our bit: no frame, no call. */
	if (uipc__desc_covered(tx->desc, tx->bit))
		return 0;
	return tx_post(tx);
}

UIPC_API int uipc_tx_check(uipc_tx *tx)
{
	uipc_return_if(!tx_valid(tx), -EINVAL);
	/* Not the CLOSED bit: any holder of a capability can store it. */
	return tx_gone(tx) ? -EPIPE : 0;
}
