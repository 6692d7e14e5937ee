/* SPDX-License-Identifier: MIT */
/*
 * fork() without exec (uipc(7), FORK). A child inherits a copy of every
 * object and of every descriptor. Some descriptors are promises to other
 * parties that we are alive: a receiver's or a channel consumer's ends of
 * the capabilities it handed out (their hang-up is how holders learn we are
 * gone) and a producer's lock on the ring (how a consumer learns a producer
 * is gone). A child that kept them would keep the parent "alive" after its
 * death or its free. So in the child, at fork, the library closes all of
 * them, and the inherited receivers, channel ends and producer ends become
 * inert: every call on them but *_free() returns -ECHILD, and *_free()
 * releases the child's copy without touching what the parent shares.
 * Senders (uipc_tx) and contexts go on working in the child: a sender holds
 * no promise of liveness, and notifying from a forked worker is a use.
 *
 * Objects register here at creation (a list under a mutex, held across
 * fork by the prepare/parent/child handlers); each one's generation says
 * which process made it.
 *
 * A descriptor that the child handler must close has to be recorded where
 * that handler looks before fork() can copy it, and stay recorded until it
 * is closed: a fork between the socketpair() of a capability and its
 * recording left the creator's end open in the child, and a freed receiver
 * never looked gone (tests/regress/fork-cap-race.c); one between a
 * producer's lock and its registration left the ring lock held by the
 * child (tests/regress/fork-attach-race.c). So such descriptors are made
 * and recorded, and closed and forgotten, under uipc__fork_hold(), which
 * fork preparation takes too. Under it: no call into a backend, nor
 * anything else that may take a lock of another fork prepare handler, nor
 * anything that blocks. (uipc_cap_recv() also peeks and consumes under
 * it, non-blocking, to make the two one step for this process's threads.)
 * A producer capability that the library holds for a moment (made by
 * uipc_chan_tx_new() or uipc_chan_cap_send(), received by
 * uipc_chan_tx_open_sock()) is tracked the same way (struct uipc__fork_fd,
 * on the caller's stack): a child that kept it would keep "a producer may
 * come" alive to the consumer (tests/regress/fork-held-cap.c).
 *
 * The fork points of the test build (-DUIPC_FORK_POINTS,
 * tests/harness-fork.c) are here too.
 */
#include <pthread.h>

#include "uipc-private.h"
#include "hooks.h"

_Atomic unsigned uipc__fork_gen;

static pthread_mutex_t fork_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t hold_lock = PTHREAD_MUTEX_INITIALIZER; /* before fork_lock */
static struct uipc__forkable fork_list = {.prev = &fork_list, .next = &fork_list};
static pthread_once_t fork_once = PTHREAD_ONCE_INIT;
static int fork_err;

#ifdef UIPC_FORK_POINTS
/* Fork points (src/hooks.h): tests only. */
void (*uipc__fork_point_fn)(int point, bool held);
static _Thread_local bool hold_held;

void uipc__fork_point(int point)
{
	void (*fn)(int, bool) = uipc__fork_point_fn;

	if (fn)
		fn(point, hold_held);
}
#define HELD(v) (hold_held = (v))
#else
#define HELD(v) ((void)0)
#endif

/* The prepare callbacks run under both locks. The hold's rule (no backend
 * call under it) is about blocking and foreign locks: a receiver's
 * callback (src/rx.c) only switches its futex word to shared, atomics and
 * at most two FUTEX_WAKEs, which neither block nor lock. */
static void fork_prepare(void)
{
	FP(PREPARE);
	pthread_mutex_lock(&hold_lock);
	pthread_mutex_lock(&fork_lock);
	for (struct uipc__forkable *f = fork_list.next; f != &fork_list; f = f->next)
		if (f->prepare)
			f->prepare(f);
}

static void fork_parent(void)
{
	pthread_mutex_unlock(&fork_lock);
	pthread_mutex_unlock(&hold_lock);
}

static void fork_child(void)
{
	for (struct uipc__forkable *f = fork_list.next; f != &fork_list; f = f->next)
		f->child(f);
	/* Every inherited object is now of an older generation; none is
	 * registered any more (their *_free() only unregisters in the process
	 * that made them). */
	fork_list.prev = fork_list.next = &fork_list;
	atomic_fetch_add_explicit(&uipc__fork_gen, 1, memory_order_relaxed);
	pthread_mutex_init(&fork_lock, NULL);
	pthread_mutex_init(&hold_lock, NULL);
}

static void fork_init(void)
{
	fork_err = -pthread_atfork(fork_prepare, fork_parent, fork_child);
}

void uipc__fork_hold(void)
{
	/* The handlers must be in place before the first hold means
	 * anything; failing that, it is still a lock (and register fails). */
	pthread_once(&fork_once, fork_init);
	pthread_mutex_lock(&hold_lock);
	HELD(true);
}

void uipc__fork_release(void)
{
	HELD(false);
	pthread_mutex_unlock(&hold_lock);
	FP(RELEASED);
}

static void fork_fd_child(struct uipc__forkable *f)
{
	struct uipc__fork_fd *t =
	    (struct uipc__fork_fd *)((char *)f - offsetof(struct uipc__fork_fd, fork));

	uipc__close(t->fd);
	t->fd = -1;
}

int uipc__fork_fd_track(struct uipc__fork_fd *t, int fd)
{
	int r = uipc__fork_register(&t->fork, fork_fd_child, NULL);

	if (r == 0)
		t->fd = fd;
	return r;
}

void uipc__fork_fd_close(struct uipc__fork_fd *t)
{
	uipc__fork_hold();
	uipc__fork_unregister(&t->fork);
	uipc__close(t->fd);
	t->fd = -1;
	uipc__fork_release();
}

int uipc__fork_register(struct uipc__forkable *f, void (*child)(struct uipc__forkable *f),
                        void (*prepare)(struct uipc__forkable *f))
{
	pthread_once(&fork_once, fork_init);
	if (fork_err < 0)
		return fork_err;
	f->child = child;
	f->prepare = prepare;
	f->gen = atomic_load_explicit(&uipc__fork_gen, memory_order_relaxed);
	pthread_mutex_lock(&fork_lock);
	f->next = fork_list.next;
	f->prev = &fork_list;
	fork_list.next->prev = f;
	fork_list.next = f;
	pthread_mutex_unlock(&fork_lock);
	return 0;
}

void uipc__fork_unregister(struct uipc__forkable *f)
{
	if (!f->next || uipc__forked(f))
		return;
	pthread_mutex_lock(&fork_lock);
	f->prev->next = f->next;
	f->next->prev = f->prev;
	f->next = f->prev = NULL;
	pthread_mutex_unlock(&fork_lock);
}
