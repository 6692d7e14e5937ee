/* SPDX-License-Identifier: MIT */
/*
 * eventfd backend: the receiver owns a non-blocking eventfd, which is also
 * its pollable fd for epoll loops; the sender that set ON writes 1 to it.
 * The eventfd travels to senders inside the vector capability.
 */
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend.h"

static int efd_rx_init(uipc_rx *rx)
{
	int fd;

	if (uipc__fault(&uipc__faults.fd))
		return -EMFILE;
	fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (fd < 0)
		return -errno;
	rx->backend_fd = fd;
	return 0;
}

static void efd_rx_fini(uipc_rx *rx)
{
	uipc__close(rx->backend_fd);
	rx->backend_fd = -1;
}

/* The description is shared with every sender, which can clear
 * O_NONBLOCK on it: set it back before a read that must not block (the
 * same check the senders make before their writes; doc/threat-model.md). */
static bool efd_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	return fl >= 0 && ((fl & O_NONBLOCK) || fcntl(fd, F_SETFL, fl | O_NONBLOCK) == 0);
}

static uint64_t efd_rx_ack(uipc_rx *rx)
{
	uint64_t v;

	if (!efd_nonblock(rx->backend_fd))
		return 0;
	for (;;) {
		if (read(rx->backend_fd, &v, sizeof(v)) == (ssize_t)sizeof(v))
			return v;
		if (errno != EINTR)
			return 0; /* EAGAIN: nothing landed (yet) */
	}
}

static int efd_rx_block(uipc_rx *rx, uint32_t expect, const struct timespec *deadline)
{
	struct pollfd p = {.fd = rx->backend_fd, .events = POLLIN};
	struct timespec rel, *relp = NULL;
	int n;

	if (deadline) {
		uint64_t now = uipc__now_ns();
		uint64_t end =
		    (uint64_t)deadline->tv_sec * 1000000000u + (uint64_t)deadline->tv_nsec;

		rel = uipc__ns_to_ts(end > now ? end - now : 0);
		relp = &rel;
	}
	n = ppoll(&p, 1, relp, NULL);
	if (n < 0)
		return errno == EINTR ? -EINTR : -errno;
	/* Readable: the core reads it (rx_ack), counting what it consumes. */
	return n == 0 ? -ETIMEDOUT : 0;
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

static int efd_tx_kick(uipc_tx *tx)
{
	uint64_t one = 1;

	/* The open file description is shared with the receiver, which can
	 * clear O_NONBLOCK at any time; a blocking write to a full counter
	 * would then hang us. Checked (and set back) before every kick; what
	 * is left is a receiver that clears it and fills the counter between
	 * this check and the write (doc/threat-model.md). */
	if (!efd_nonblock(tx->backend_fd))
		return -errno;
	for (;;) {
		if (write(tx->backend_fd, &one, sizeof(one)) == (ssize_t)sizeof(one))
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
    .caps = UIPC_CAP_POLLABLE | UIPC_CAP_CROSS_PROCESS,
    .rx_init = efd_rx_init,
    .rx_fini = efd_rx_fini,
    .rx_block = efd_rx_block,
    .rx_ack = efd_rx_ack,
    .rx_fd = efd_rx_fd,
    .tx_init = efd_tx_init,
    .tx_kick = efd_tx_kick,
};
