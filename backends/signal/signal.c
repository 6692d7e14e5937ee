/* SPDX-License-Identifier: MIT */
/*
 * signal backend: the kick is a real-time signal to the receiver thread.
 *
 * It exists for handler mode on machines without UINTR: the signal handler
 * runs on the receiver thread, interrupting it, and calls the user's handler
 * through uipc__rx_dispatch(), which is what a user-interrupt handler does on
 * UINTR hardware. Wait mode works too (sigtimedwait), so the whole core suite
 * runs on it, but futex is the better choice for plain waiting.
 *
 * The signal is SIGRTMIN+4 unless UIPC_SIGNAL names another real-time signal,
 * or SIGURG or SIGWINCH (absolute number; see signo_ok() for why those). The receiver stores it in desc->backend_data[0] (for
 * observers) and in its target page; a sender kicks with the signal its own
 * process's backend uses and refuses a receiver whose page names another.
 * Its process-wide handler is installed at the first receiver and stays (a
 * late, stray kick must never hit the default action, which for real-time
 * signals terminates the process).
 *
 * Whom a sender signals is never up to the receiver's memory: the process
 * is the capability socket's creator (SO_PEERCRED, read once at connect and
 * kept in the sender's private state), and every kick is a tgkill() (or
 * rt_tgsigqueueinfo()) to that process, so the tid the receiver's page names
 * can only be one of the receiver's own threads, never the sender's process
 * or a third one (tests/regress/signal-self-kick.c).
 *
 * What the user's handler may do: see uipc_handler_fn (async-signal-safe
 * functions, uipc_tx_notify(), uipc_rx_mask()/uipc_rx_unmask() of its own
 * receiver). Masking is a flag of the receiver, not the thread's signal
 * mask: a kick that comes while masked runs our signal handler, which
 * leaves the receiver alone (ON stays set, so no further kick comes), and
 * unmask delivers what is pending itself. So no thread is ever left with
 * the signal blocked, whoever frees the receiver, whatever consumed the
 * kick (a wait on another receiver, tests/regress/signal-wait-swallows.c)
 * and whenever the process forks (tests/regress/signal-free-masked.c,
 * signal-fork-masked.c).
 *
 * A handler-mode receiver may be freed from any thread (not from its own
 * handler): removal waits until no signal handler still uses it.
 */
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "backend.h"

#define SIG_DEFAULT_OFFSET 4  /* SIGRTMIN+4: clear of the low RT signals libraries like */
#define SIG_MAX_HANDLERS   64 /* handler-mode receivers per process */

/*
 * Where kicks go. Not in the descriptor, which every sender can write (one
 * could redirect the others' kicks to another thread of the receiver's
 * process): in a page of its own, a memfd the receiver maps writable and
 * then seals against any further writable mapping or write()
 * (F_SEAL_FUTURE_WRITE). Senders receive it as the capability's backend
 * fd and can only map it read-only (tests/regress/signal-redirect.c).
 */
struct sig_target {
	uint32_t signo;
	_Atomic int32_t tid;
};

#define SIG_TARGET_SIZE  4096u
#define SIG_TARGET_SEALS (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_FUTURE_WRITE | F_SEAL_SEAL)

struct sig_rx {
	int signo;
	_Atomic bool masked;       /* read by the signal handler on the owner thread:
	                            * set, it dispatches nothing to this receiver */
	int slot;                  /* index in handlers[] while in handler mode, else -1 */
	struct sig_target *target; /* our writable mapping of the sealed page */
};

/*
 * Handler-mode receivers of the process, read by the signal handler of
 * whichever thread the signal hits: it dispatches the entries of its own
 * thread. `busy` counts handlers inside an entry, so removal (from any
 * thread, rx_free) can wait until no handler still uses the receiver.
 */
struct sig_slot {
	_Atomic int tid;
	_Atomic(uipc_rx *) rx;
	_Atomic unsigned busy;
};
static struct sig_slot handlers[SIG_MAX_HANDLERS];

/* Per thread: own tid (cached: one syscall less per signal). initial-exec:
 * no lazy TLS allocation (not async-signal-safe) on the first access from
 * the handler. */
static __thread int thr_tid __attribute__((tls_model("initial-exec")));

/* Taken across fork() (fork_hooks() below), so a child never inherits it held. */
static pthread_mutex_t install_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t installed; /* bit (signo - 1): our handler is in place */

static int my_tid(void)
{
	if (!thr_tid)
		thr_tid = uipc__gettid();
	return thr_tid;
}

static void dispatch_thread(int signo)
{
	int tid = my_tid();

	for (unsigned i = 0; i < SIG_MAX_HANDLERS; i++) {
		struct sig_slot *e = &handlers[i];
		struct sig_rx *s;
		uipc_rx *rx;

		if (atomic_load_explicit(&e->tid, memory_order_relaxed) != tid)
			continue;
		atomic_fetch_add_explicit(&e->busy, 1, memory_order_seq_cst);
		rx = atomic_load_explicit(&e->rx, memory_order_seq_cst);
		if (rx && atomic_load_explicit(&e->tid, memory_order_relaxed) == tid) {
			s = rx->backend;
			if (s->signo == signo &&
			    !atomic_load_explicit(&s->masked, memory_order_relaxed))
				uipc__rx_dispatch(rx);
		}
		atomic_fetch_sub_explicit(&e->busy, 1, memory_order_release);
	}
}

/* Remove rx from the table; safe from any thread except its own handler. */
static void slot_clear(struct sig_rx *s)
{
	struct sig_slot *e;

	if (s->slot < 0)
		return;
	e = &handlers[s->slot];
	atomic_store_explicit(&e->rx, NULL, memory_order_seq_cst);
	/* Dekker with the handler's busy/rx: after this, none uses rx. */
	while (atomic_load_explicit(&e->busy, memory_order_seq_cst))
		uipc__cpu_relax();
	atomic_store_explicit(&e->tid, 0, memory_order_release);
	s->slot = -1;
}

static void on_signal(int signo, siginfo_t *si, void *uc)
{
	int saved = errno;

	(void)si;
	(void)uc;
	dispatch_thread(signo);
	errno = saved;
}

/*
 * A real-time signal, or one of the two standard signals whose default
 * action is to ignore and that servers rarely use: SIGURG and SIGWINCH.
 * Those make exec safe. An exec resets caught signals to their default
 * action, and a sender in another process cannot check that the
 * receiver's image is still the one it connected to and signal it in one
 * step: a kick racing the receiver's exec reaches the new image, where a
 * real-time signal's default action terminates it and SIGURG's ignores
 * it. Only the pending state matters to us (ON, not the signal, counts
 * notifies), so that these are not queued loses nothing.
 */
static bool signo_ok(long v)
{
	return (v >= SIGRTMIN && v <= SIGRTMAX) || v == SIGURG || v == SIGWINCH;
}

static int pick_signo(void)
{
	const char *env = secure_getenv("UIPC_SIGNAL");
	char *end;
	long v;

	if (!env || !*env)
		return SIGRTMIN + SIG_DEFAULT_OFFSET;
	errno = 0;
	v = strtol(env, &end, 10);
	if (errno || *end || !signo_ok(v))
		return -EINVAL;
	return (int)v;
}

static void at_fork_prepare(void)
{
	pthread_mutex_lock(&install_lock);
}

static void at_fork_parent(void)
{
	pthread_mutex_unlock(&install_lock);
}

/* A forked child has only the forking thread, with a new tid; the table's
 * receivers are the parent's (inert here: their free leaves the table be,
 * sig_rx_fini()). The install lock was held across the fork by us. */
static void at_fork_child(void)
{
	thr_tid = 0;
	for (unsigned i = 0; i < SIG_MAX_HANDLERS; i++) {
		atomic_store(&handlers[i].rx, NULL);
		atomic_store(&handlers[i].busy, 0);
		atomic_store(&handlers[i].tid, 0);
	}
	pthread_mutex_init(&install_lock, NULL);
}

/* Registered as the library loads, before any thread can take the lock: a
 * registration at first use could race a fork that copies the lock held
 * (tests/regress/fork-locks.c). If it fails, receivers are refused. */
static int atfork_err;

__attribute__((constructor)) static void fork_hooks(void)
{
	atfork_err = -pthread_atfork(at_fork_prepare, at_fork_parent, at_fork_child);
}

static int install(int signo)
{
	uint64_t bit = UINT64_C(1) << (unsigned)(signo - 1);
	struct sigaction sa, old;
	int r = atfork_err;

	if (r < 0)
		return r;
	pthread_mutex_lock(&install_lock);
	if (installed & bit)
		goto out;
	if (sigaction(signo, NULL, &old) < 0) {
		r = -errno;
		goto out;
	}
	/* Someone else's handler is on that signal: do not take it over. */
	if ((old.sa_flags & SA_SIGINFO)
	        ? old.sa_sigaction != NULL
	        : (old.sa_handler != SIG_DFL && old.sa_handler != SIG_IGN)) {
		r = -EBUSY;
		goto out;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_signal;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	if (sigaction(signo, &sa, NULL) < 0) {
		r = -errno;
		goto out;
	}
	installed |= bit;
out:
	pthread_mutex_unlock(&install_lock);
	return r;
}

static int sig_probe(char *why, size_t len)
{
	if (SIGRTMAX - SIGRTMIN < SIG_DEFAULT_OFFSET) {
		snprintf(why, len, "too few real-time signals");
		return -EOPNOTSUPP;
	}
	snprintf(why, len, "available (real-time signal %d = SIGRTMIN+%d)",
	         SIGRTMIN + SIG_DEFAULT_OFFSET, SIG_DEFAULT_OFFSET);
	return 0;
}

static int target_create(int signo, struct sig_target **ret_map)
{
	struct sig_target *t;
	int fd;

	if (uipc__fault(&uipc__faults.fd))
		return -EMFILE;
	fd = memfd_create("uipc-signal", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, SIG_TARGET_SIZE) < 0)
		goto fail;
	t = mmap(NULL, SIG_TARGET_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (t == MAP_FAILED)
		goto fail;
	/* Ours stays writable; nobody else's ever is. */
	if (fcntl(fd, F_ADD_SEALS, SIG_TARGET_SEALS) < 0) {
		munmap(t, SIG_TARGET_SIZE);
		goto fail;
	}
	t->signo = (uint32_t)signo;
	atomic_store_explicit(&t->tid, uipc__gettid(), memory_order_release);
	*ret_map = t;
	return fd;
fail:
	uipc__close(fd);
	return -errno;
}

static int sig_rx_init(uipc_rx *rx)
{
	struct sig_rx *s;
	int signo, r;

	signo = pick_signo();
	if (signo < 0)
		return signo;
	r = install(signo);
	if (r < 0)
		return r;
	s = uipc__calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	r = target_create(signo, &s->target);
	if (r < 0) {
		free(s);
		return r;
	}
	rx->backend_fd = r;
	s->signo = signo;
	s->slot = -1;
	rx->desc->backend_data[0] = (uint32_t)signo;
	rx->backend = s;
	return 0;
}

/* Kicks go to tid from now on (the descriptor's copy is for observers). */
static void target_set(uipc_rx *rx, int tid)
{
	struct sig_rx *s = rx->backend;

	atomic_store_explicit(&s->target->tid, tid, memory_order_seq_cst);
	rx->desc->ndst = (uint32_t)tid;
}

/*
 * A flag, read by our signal handler on this same thread (program order is
 * all it needs). Whatever came while masked, the kick included, is still in
 * the descriptor (ON and pir): after clearing the flag, dispatch it here. A
 * kick landing in between finds the flag clear and dispatches first; ours
 * then finds nothing (or, nested, leaves it to the running dispatch).
 */
static int sig_mask(uipc_rx *rx, bool masked)
{
	struct sig_rx *s = rx->backend;

	if (uipc__gettid() != rx->owner_tid)
		return -EPERM;
	if (atomic_load_explicit(&s->masked, memory_order_relaxed) == masked)
		return 0;
	atomic_store_explicit(&s->masked, masked, memory_order_seq_cst);
	if (!masked && s->slot >= 0)
		uipc__rx_dispatch(rx);
	return 0;
}

static int sig_handler(uipc_rx *rx, bool on)
{
	struct sig_rx *s = rx->backend;
	int tid = my_tid();

	if (!on) {
		slot_clear(s);
		atomic_store_explicit(&s->masked, false, memory_order_relaxed);
		return 0;
	}
	for (unsigned i = 0; i < SIG_MAX_HANDLERS; i++) {
		int zero = 0;

		/* Claim a free slot (tid 0), then publish the receiver. */
		if (!atomic_compare_exchange_strong(&handlers[i].tid, &zero, tid))
			continue;
		/* Kicks go to this thread from now on. */
		target_set(rx, tid);
		s->slot = (int)i;
		atomic_store_explicit(&handlers[i].rx, rx, memory_order_release);
		return 0;
	}
	return -ENOSPC;
}

static void sig_rx_fini(uipc_rx *rx)
{
	struct sig_rx *s = rx->backend;

	if (!s)
		return;
	/* Inherited through fork: its slot number is the parent's, and the
	 * child's table (emptied at fork) may have given that slot to a
	 * receiver of its own (tests/regress/signal-fork-slot.c). */
	if (!uipc__forked(&rx->fork))
		slot_clear(s);
	munmap(s->target, SIG_TARGET_SIZE);
	uipc__close(rx->backend_fd);
	rx->backend_fd = -1;
	free(s);
	rx->backend = NULL;
}

static int sig_block(uipc_rx *rx, uint32_t expect, const struct timespec *deadline)
{
	struct sig_rx *s = rx->backend;
	struct timespec rel, *relp = NULL;
	sigset_t set, old;
	siginfo_t si;
	int r;

	if (deadline) {
		uint64_t now = uipc__now_ns();
		uint64_t end =
		    (uint64_t)deadline->tv_sec * 1000000000u + (uint64_t)deadline->tv_nsec;

		if (end <= now)
			return -ETIMEDOUT;
		rel = uipc__ns_to_ts(end - now);
		relp = &rel;
	}
	/* Kicks go to whichever thread blocks (normally the owner). Store the
	 * target before blocking the signal and re-checking the status word:
	 * a sender that read the old target also set ON, which we see below. */
	target_set(rx, uipc__gettid());
	sigemptyset(&set);
	sigaddset(&set, s->signo);
	pthread_sigmask(SIG_BLOCK, &set, &old);
	if (uipc__desc_status(rx->desc) != expect) {
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		return 0;
	}
	r = sigtimedwait(&set, &si, relp);
	if (r < 0)
		r = errno == EAGAIN ? -ETIMEDOUT : -errno;
	else
		r = 0;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	/* The signal we consumed may have been meant for a handler-mode
	 * receiver of this thread as well: give them their turn. */
	if (r == 0)
		dispatch_thread(s->signo);
	return r;
}

/* All of it private: nothing here came from memory a peer can write. */
struct sig_tx {
	int signo;                       /* this process's backend signal (first: tests) */
	pid_t pid;                       /* the receiver's process: SO_PEERCRED */
	bool local;                      /* pid is ours: tgkill, no liveness check */
	const struct sig_target *target; /* read-only mapping of the receiver's page */
};

/* The receiver's target page: sealed so that no sender can write it. */
static int target_map(int fd, const struct sig_target **ret_map)
{
	struct stat st;
	void *map;
	int seals = fcntl(fd, F_GET_SEALS);

	if (seals < 0 || (seals & SIG_TARGET_SEALS) != SIG_TARGET_SEALS)
		return -EINVAL;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size != SIG_TARGET_SIZE)
		return -EINVAL;
	map = mmap(NULL, SIG_TARGET_SIZE, PROT_READ, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED)
		return -errno;
	*ret_map = map;
	return 0;
}

/*
 * The receiver's process: the capability socket's creator, which the kernel
 * knows (a socket pair's credentials are its creator's, wherever its ends
 * travel), never the descriptor's pid, which the receiver and every other
 * sender can write. That one must agree, or the capability is not what it
 * claims. 0 when the creator is not visible from here (another pid
 * namespace): refused too.
 */
static int peer_pid(const uipc_tx *tx, pid_t *ret_pid)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (getsockopt(tx->cap_fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		return -errno;
	if (len != sizeof(cred) || cred.pid <= 0 || cred.pid != tx->pid)
		return -EINVAL;
	*ret_pid = cred.pid;
	return 0;
}

static int sig_tx_init(uipc_tx *tx)
{
	const struct sig_target *map = NULL;
	struct sig_tx *t;
	pid_t pid = 0;
	int signo, r;

	if (tx->backend_fd < 0)
		return -EINVAL;
	r = peer_pid(tx, &pid);
	if (r < 0)
		return r;
	/* The signal is ours to choose: the one this backend uses. A receiver
	 * whose page names another (another UIPC_SIGNAL) is refused rather
	 * than sent a signal it has no handler for. */
	signo = pick_signo();
	if (signo < 0)
		return signo;
	r = target_map(tx->backend_fd, &map);
	if (r < 0)
		return r;
	if (map->signo != (uint32_t)signo) {
		munmap((void *)map, SIG_TARGET_SIZE);
		return -EINVAL;
	}
	t = uipc__calloc(1, sizeof(*t));
	if (!t) {
		munmap((void *)map, SIG_TARGET_SIZE);
		return -ENOMEM;
	}
	t->target = map;
	t->signo = signo;
	t->pid = pid;
	t->local = pid == getpid();
	tx->backend = t;
	return 0;
}

static void sig_tx_fini(uipc_tx *tx)
{
	struct sig_tx *t = tx->backend;

	if (t)
		munmap((void *)t->target, SIG_TARGET_SIZE);
	free(t);
	tx->backend = NULL;
}

/* The tid is the receiver's word (its page); the process and the signal are
 * ours: the kernel refuses (-ESRCH) a tid that is not a thread of t->pid. */
static int sig_kick(uipc_tx *tx)
{
	struct sig_tx *t = tx->backend;
	int tid = atomic_load_explicit(&t->target->tid, memory_order_acquire);
	siginfo_t si;
	long r;

	if (tid <= 0)
		return -ESRCH;
	if (t->local) {
		r = syscall(SYS_tgkill, t->pid, tid, t->signo);
	} else {
		/* A dead receiver process's pid may be reused: only signal while
		 * its capability is alive (a process that died closed its end). */
		r = uipc__cap_alive(tx->cap_fd);
		if (r < 0)
			return (int)r;
		memset(&si, 0, sizeof(si));
		si.si_signo = t->signo;
		si.si_code = SI_QUEUE;
		si.si_pid = getpid();
		si.si_uid = getuid();
		r = syscall(SYS_rt_tgsigqueueinfo, t->pid, tid, t->signo, &si);
	}
	return r < 0 ? -errno : 0;
}

const struct uipc__backend_ops uipc__backend_signal = {
    .name = "signal",
    .id = UIPC_BACKEND_SIGNAL,
    .caps = UIPC_CAP_HANDLER,
    .probe = sig_probe,
    .rx_init = sig_rx_init,
    .rx_fini = sig_rx_fini,
    .rx_block = sig_block,
    .rx_handler = sig_handler,
    .rx_mask = sig_mask,
    .tx_init = sig_tx_init,
    .tx_fini = sig_tx_fini,
    .tx_kick = sig_kick,
};
