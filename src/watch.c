/* SPDX-License-Identifier: MIT */
/*
 * Producer departures, as events. A channel consumer keeps the creator end
 * of every producer capability it handed out; when every holder of one has
 * closed it (detached, exited, killed: the kernel closes a dead process's
 * fds), that end hangs up. One thread per process sleeps in epoll_wait()
 * on all of them, with no timeout, and on a hang-up notifies the channel's
 * own vector, so a consumer blocked for ever wakes, finds the ring empty
 * and its producers gone, and returns -EPIPE. An idle consumer therefore
 * makes no periodic wakeups, on every backend (a futex or a signal cannot
 * wait for an fd; this thread does it for all of them).
 *
 * The thread starts with the first watched capability and never exits. It
 * blocks every signal. A registration is one-shot (EPOLLONESHOT): after its
 * hang-up it is never reported again, and the consumer's close of its end
 * removes it from the set. Events carry a watch id, looked up under the
 * lock, so an event that races a channel's free finds nothing and is
 * dropped.
 */
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "uipc-private.h"
#include "hooks.h"

struct watch {
	struct watch *next;
	uint64_t id;
	uipc_tx *tx;            /* notifies the channel's vector */
	_Atomic unsigned *flag; /* set first: the news stays until taken */
};

static pthread_mutex_t watch_lock = PTHREAD_MUTEX_INITIALIZER;
static int watch_epfd = -1;
static bool watch_running;
static struct watch *watches;
static uint64_t watch_next_id = 1;
static bool watch_atfork;

static void *watch_thread(void *arg)
{
	struct epoll_event ev[16];
	int epfd = (int)(intptr_t)arg, n;

	for (;;) {
		n = epoll_wait(epfd, ev, 16, -1);
		if (n < 0)
			continue; /* EINTR cannot happen (signals blocked); be safe */
		pthread_mutex_lock(&watch_lock);
		for (int i = 0; i < n; i++)
			for (struct watch *w = watches; w; w = w->next)
				if (w->id == ev[i].data.u64) {
					atomic_store(w->flag, 1);
					(void)uipc_tx_notify(w->tx);
				}
		pthread_mutex_unlock(&watch_lock);
	}
	return NULL;
}

/* A forked child has no watcher thread; the epoll instance it inherited is
 * the parent's. It starts afresh if it creates channels of its own. */
static void watch_child(void)
{
	pthread_mutex_init(&watch_lock, NULL);
	if (watch_epfd >= 0)
		close(watch_epfd);
	watch_epfd = -1;
	watch_running = false;
	/* The child's copies of the parent's entries: the channels they name
	 * are inert here (src/fork.c), and their free finds nothing. */
	while (watches) {
		struct watch *w = watches;

		watches = w->next;
		free(w);
	}
}

static int watch_start(void)
{
	sigset_t all, old;
	pthread_attr_t attr;
	pthread_t t;
	int r;

	if (watch_running)
		return 0;
	if (!watch_atfork) {
		r = -pthread_atfork(NULL, NULL, watch_child);
		if (r < 0)
			return r;
		watch_atfork = true;
	}
	if (uipc__fault(&uipc__faults.fd))
		return -EMFILE;
	watch_epfd = epoll_create1(EPOLL_CLOEXEC);
	if (watch_epfd < 0)
		return -errno;
	sigfillset(&all);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 64 * 1024);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	r = -pthread_create(&t, &attr, watch_thread, (void *)(intptr_t)watch_epfd);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
	if (r < 0) {
		close(watch_epfd);
		watch_epfd = -1;
		return r;
	}
	watch_running = true;
	return 0;
}

int uipc__watch_ready(void)
{
	int r;

	pthread_mutex_lock(&watch_lock);
	r = watch_start();
	pthread_mutex_unlock(&watch_lock);
	return r;
}

int uipc__watch_new(uipc_tx *tx, _Atomic unsigned *flag, uint64_t *ret_id)
{
	struct watch *w;
	int r;

	w = uipc__calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	pthread_mutex_lock(&watch_lock);
	r = watch_start();
	if (r == 0) {
		w->id = watch_next_id++;
		w->tx = tx;
		w->flag = flag;
		w->next = watches;
		watches = w;
		*ret_id = w->id;
	}
	pthread_mutex_unlock(&watch_lock);
	if (r < 0)
		free(w);
	return r;
}

int uipc__watch_fd(uint64_t id, int fd)
{
	struct epoll_event ev = {.events = EPOLLHUP | EPOLLONESHOT, .data.u64 = id};
	int r = 0;

	pthread_mutex_lock(&watch_lock);
	if (epoll_ctl(watch_epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		r = -errno;
	pthread_mutex_unlock(&watch_lock);
	return r;
}

uipc_tx *uipc__watch_free(uint64_t id)
{
	uipc_tx *tx = NULL;

	pthread_mutex_lock(&watch_lock);
	for (struct watch **p = &watches; *p; p = &(*p)->next) {
		if ((*p)->id == id) {
			struct watch *w = *p;

			*p = w->next;
			tx = w->tx;
			free(w);
			break;
		}
	}
	pthread_mutex_unlock(&watch_lock);
	return tx;
}
