/* SPDX-License-Identifier: MIT */
/*
 * eventfd backend: the receiver owns a non-blocking eventfd, which is also
 * its pollable fd for epoll loops; the sender that set ON writes 1 to it.
 * The eventfd travels to senders inside the vector capability.
 *
 * Syscalls (uipc(7) SYSCALLS PER OPERATION; tests/test-syscalls.c counts
 * them). The one hazard is a blocking read or write: O_NONBLOCK belongs to
 * the open file description, which every holder of the eventfd shares and
 * any of them can clear (F_SETFL). It is kept away by structure, not by a
 * fcntl() per call:
 *   - The receiver reads with preadv2(RWF_NOWAIT), non-blocking per call
 *     whatever the description says (kernels before 5.12: checked and set
 *     back with fcntl() first, as before).
 *   - While the eventfd never left the process (no capability was made:
 *     only uipc_tx_new() senders, which share the receiver's state here), no
 *     peer holds the description: a sender just writes. From the first
 *     capability on, a sender checks O_NONBLOCK (and sets it back) before
 *     each write (doc/threat-model.md): there is no per-call non-blocking
 *     write for an eventfd (pwritev2(RWF_NOWAIT) says EOPNOTSUPP), and the
 *     description cannot be reopened for a sender of its own
 *     (/proc/self/fd/N of an eventfd: ENXIO).
 */
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "backend.h"

/* Shared by the receiver and the senders uipc_tx_new() made for it, all in
 * this process: none of it is in memory a peer can write. */
struct efd_local {
	_Atomic unsigned refs;
	_Atomic bool exposed; /* a capability carried the eventfd out */
	int fd;               /* the eventfd; closed with the last reference */
};

static void efd_local_unref(struct efd_local *l)
{
	if (l && atomic_fetch_sub_explicit(&l->refs, 1, memory_order_acq_rel) == 1) {
		uipc__close(l->fd);
		free(l);
	}
}

static int efd_rx_init(uipc_rx *rx)
{
	struct efd_local *l;
	int fd;

	l = uipc__calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	if (uipc__fault(&uipc__faults.fd)) {
		free(l);
		return -EMFILE;
	}
	fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (fd < 0) {
		free(l);
		return -errno;
	}
	atomic_init(&l->refs, 1);
	atomic_init(&l->exposed, false);
	l->fd = fd;
	rx->backend = l;
	rx->backend_fd = fd;
	return 0;
}

static void efd_rx_fini(uipc_rx *rx)
{
	efd_local_unref(rx->backend);
	rx->backend = NULL;
	rx->backend_fd = -1;
}

/* A capability is being handed out: from now on the description is shared
 * with whoever holds it. */
static void efd_rx_expose(uipc_rx *rx)
{
	struct efd_local *l = rx->backend;

	atomic_store_explicit(&l->exposed, true, memory_order_seq_cst);
}

/* Set O_NONBLOCK back if a holder of the description cleared it. */
static bool efd_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	return fl >= 0 && ((fl & O_NONBLOCK) || fcntl(fd, F_SETFL, fl | O_NONBLOCK) == 0);
}

/* preadv2(RWF_NOWAIT) on an eventfd: 5.12 and later. Once refused, not
 * tried again in this process. */
static _Atomic bool nowait_refused;

static uint64_t efd_rx_ack(uipc_rx *rx)
{
	struct efd_local *l = rx->backend;
	uint64_t v;
	struct iovec iov = {.iov_base = &v, .iov_len = sizeof(v)};
	ssize_t n;

	for (;;) {
		if (!atomic_load_explicit(&nowait_refused, memory_order_relaxed)) {
			n = preadv2(l->fd, &iov, 1, -1, RWF_NOWAIT);
			if (n < 0 && (errno == EOPNOTSUPP || errno == ENOSYS)) {
				atomic_store_explicit(&nowait_refused, true, memory_order_relaxed);
				continue;
			}
		} else {
			if (atomic_load_explicit(&l->exposed, memory_order_relaxed) &&
			    !efd_nonblock(l->fd))
				return 0;
			n = read(l->fd, &v, sizeof(v));
		}
		if (n == (ssize_t)sizeof(v))
			return v;
		if (n >= 0 || errno != EINTR)
			return 0; /* EAGAIN: nothing landed (yet) */
	}
}

/* ppoll() on fds until the absolute deadline (NULL: forever). */
static int efd_ppoll(struct pollfd *p, unsigned n, const struct timespec *deadline)
{
	struct timespec rel, *relp = NULL;
	int r;

	if (deadline) {
		uint64_t now = uipc__now_ns();
		uint64_t end =
		    (uint64_t)deadline->tv_sec * 1000000000u + (uint64_t)deadline->tv_nsec;

		rel = uipc__ns_to_ts(end > now ? end - now : 0);
		relp = &rel;
	}
	r = ppoll(p, n, relp, NULL);
	if (r < 0)
		return errno == EINTR ? -EINTR : -errno;
	/* Readable: the core reads it (rx_ack), counting what it consumes. */
	return r == 0 ? -ETIMEDOUT : 0;
}

static int efd_rx_block(uipc_rx *rx, uint32_t expect, const struct timespec *deadline)
{
	struct pollfd p = {.fd = rx->backend_fd, .events = POLLIN};

	(void)expect;
	return efd_ppoll(&p, 1, deadline);
}

/*
 * Several receivers (uipc_rx_wait_any()): one ppoll() over their eventfds.
 * Not an epoll of our own: the call holds no state between waits, so a
 * set may change from one wait to the next for nothing, and a sleep is one
 * syscall (an epoll kept per set would cost an fd, an epoll_ctl() per
 * receiver joining or leaving, and a registration that outlives a freed
 * receiver as long as a sender holds the eventfd's description). ppoll()
 * scans the set (at most UIPC_RX_WAIT_ANY_MAX fds) once per sleep; the
 * sleeps are what the spin left over.
 */
static int efd_block_many(uipc_rx *const *rxs, unsigned n, const struct timespec *deadline,
                          uint64_t *ret_woken)
{
	struct pollfd p[UIPC_RX_WAIT_ANY_MAX];
	int r;

	if (n > UIPC_RX_WAIT_ANY_MAX)
		return -EINVAL;
	for (unsigned i = 0; i < n; i++)
		p[i] = (struct pollfd){.fd = rxs[i]->backend_fd, .events = POLLIN};
	r = efd_ppoll(p, n, deadline);
	for (unsigned i = 0; r == 0 && i < n; i++)
		if (p[i].revents)
			*ret_woken |= 1ull << i;
	return r;
}

static int efd_rx_fd(uipc_rx *rx)
{
	return rx->backend_fd;
}

/*
 * Is fd an eventfd? The capability's fd comes from the receiver, which may
 * put any file there: a pipe or a stream socket nobody reads makes a kick
 * raise SIGPIPE, which ends the sender's process; a file on a FUSE mount
 * the receiver serves blocks a write whatever its flags. /proc names the
 * kind of an anonymous-inode file. Without /proc: every eventfd is a file
 * of the one anonymous inode, shared only with kinds (timerfd, epoll,
 * signalfd...) where a write fails at once.
 */
static bool efd_is_eventfd(int fd)
{
	static const char name[] = "anon_inode:[eventfd]";
	char path[32], link[sizeof(name)];
	struct stat a, b;
	ssize_t n;
	bool same;
	int probe;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, link, sizeof(link));
	if (n >= 0)
		return n == (ssize_t)sizeof(name) - 1 && memcmp(link, name, sizeof(name) - 1) == 0;
	if (fstat(fd, &a) < 0)
		return false;
	probe = eventfd(0, EFD_CLOEXEC);
	if (probe < 0)
		return false;
	same = fstat(probe, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino &&
	       (a.st_mode & S_IFMT) == (b.st_mode & S_IFMT);
	uipc__close(probe);
	return same;
}

static int efd_tx_init(uipc_tx *tx)
{
	int fl;

	/* The receiver must have sent its eventfd along with the capability,
	 * an eventfd (above). The fd comes from the peer: a blocking one
	 * would let it hang every kick in write(). Ours are non-blocking,
	 * and a kick that finds the counter full counts as delivered. */
	if (tx->backend_fd < 0 || !efd_is_eventfd(tx->backend_fd))
		return -EINVAL;
	fl = fcntl(tx->backend_fd, F_GETFL);
	return fl >= 0 && (fl & O_NONBLOCK) ? 0 : -EINVAL;
}

/* A sender of uipc_tx_new(): the receiver's own state, its eventfd included
 * (no fd of its own). */
static int efd_tx_local(uipc_tx *tx, uipc_rx *rx)
{
	struct efd_local *l = rx->backend;

	atomic_fetch_add_explicit(&l->refs, 1, memory_order_relaxed);
	tx->backend = l;
	return 0;
}

static void efd_tx_fini(uipc_tx *tx)
{
	efd_local_unref(tx->backend);
	tx->backend = NULL;
}

static int efd_tx_kick(uipc_tx *tx)
{
	struct efd_local *l = tx->backend;
	int fd = l ? l->fd : tx->backend_fd;
	uint64_t one = 1;

	/* Shared with others (a sender from a capability, or the receiver
	 * made one): any holder can clear O_NONBLOCK, and a blocking write
	 * to a full counter would hang us. Checked (and set back) before
	 * every kick; what is left is a holder that clears it and fills the
	 * counter between this check and the write (doc/threat-model.md). */
	if ((!l || atomic_load_explicit(&l->exposed, memory_order_seq_cst)) && !efd_nonblock(fd))
		return -errno;
	for (;;) {
		if (write(fd, &one, sizeof(one)) == (ssize_t)sizeof(one))
			return 0;
		/* A full counter already means "readable": the kick is there. */
		if (errno == EAGAIN)
			return 0;
		if (errno != EINTR)
			return -errno;
	}
}

const struct uipc__backend_ops uipc__backend_eventfd = {
    .name = "eventfd",
    .id = UIPC_BACKEND_EVENTFD,
    .caps = UIPC_CAP_POLLABLE,
    .rx_init = efd_rx_init,
    .rx_fini = efd_rx_fini,
    .rx_block = efd_rx_block,
    .rx_block_many = efd_block_many,
    .rx_ack = efd_rx_ack,
    .rx_expose = efd_rx_expose,
    .rx_fd = efd_rx_fd,
    .tx_init = efd_tx_init,
    .tx_local = efd_tx_local,
    .tx_fini = efd_tx_fini,
    .tx_kick = efd_tx_kick,
};
