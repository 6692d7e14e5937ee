/* SPDX-License-Identifier: MIT */
/*
 * A user-space model of UINTR (hardware and kernel), for tests only.
 *
 * It implements the platform interface (uintr-platform.h) with the
 * hardware's bit protocol, so the uintr backend runs unchanged on machines
 * without UINTR. What is modelled, and how:
 *
 * - UPID: a 64-byte-aligned block in a sealed memfd page (so senders in other
 *   processes can map it): control word with ON (bit 0), SN (bit 1), NV (bits
 *   23:16) and NDST (bits 63:32, here the receiver's thread id), then the
 *   64-bit PIR. The words after the architected 16 bytes are the model's
 *   "kernel" side (process id, wait futex).
 * - UITT: per process, 256 entries of two words, word 0 with the valid bit
 *   (bit 0) and the user vector (bits 15:8), word 1 the UPID address.
 * - SENDUIPI: #UD without a UITT, #GP for an index beyond it, an invalid
 *   entry or reserved bits in it, a UPID address that is not 64-byte
 *   aligned or reserved bits (15:2, 31:24) in the UPID's control word,
 *   checked before anything is posted (faults are turned into errors, see
 *   the header);
 *   otherwise set PIR[uv], and if ON and SN are both clear, set ON and "send
 *   the IPI": vector NV to thread NDST.
 * - The IPI: NV = SIM_UINV (the receiver is running) is a real-time signal to
 *   the receiver thread, which interrupts it asynchronously; its handler does
 *   what microcode does: clear ON, move PIR into UIRR, and if UIF is set run
 *   the user-interrupt handler for the highest pending vector with UIF clear.
 *   NV = SIM_WAITV (the receiver sleeps in uintr_wait) wakes its futex.
 * - Scheduling: uipc__uintr_sim_schedule(true) sets SN, as the kernel does
 *   when it switches the receiver out; switching in clears SN and re-posts
 *   whatever landed in PIR meanwhile.
 * - uintr_wait as in Intel's later tree: flags must be 0, usec > 1e9 is
 *   -EINVAL, usec 0 returns at once, a user interrupt ends it with -EINTR,
 *   a timeout with -ETIMEDOUT.
 * - Vector fds are capabilities (src/cap.c) of their own kind holding the
 *   UPID memfd and the vector: the receiver keeps the creator's end, so a
 *   sender registering after the receiver left gets -ESHUTDOWN.
 */
#include <limits.h>
#include <linux/futex.h>
#include <poll.h>
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

#include "uintr-platform.h"

#define SIM_UINV   0xecu /* the notification vector while the receiver runs */
#define SIM_WAITV  0xedu /* ... while it sleeps in uintr_wait */
#define SIM_MAGIC  0x4d495355u
#define SIM_KIND   0x55494e54u /* capability kind of a vector fd: "UINT" */
#define UITT_SIZE  256u
#define UPID_BYTES 4096u

struct sim_upid {
	_Alignas(64) _Atomic uint64_t ctl; /* ON | SN | NV | NDST */
	_Atomic uint64_t pir;
	/* the model's kernel side */
	uint32_t magic;
	int32_t pid;
	_Atomic uint32_t wake; /* futex word of uintr_wait */
};

struct sim_vec {
	uint32_t vector;
};

/* Receiver state of one thread (the kernel's per-task UINTR state, plus the
 * architectural UIRR and UIF). Touched by the thread and by its own signal
 * handler only: lock-free atomics suffice. */
struct sim_thread {
	struct sim_upid *upid;
	int memfd;
	struct uipc__uintr_routes routes;
	_Atomic uint64_t uirr;
	_Atomic bool uif;
	_Atomic bool in_wait;
	_Atomic unsigned ipis;   /* notification signals taken: tells them from other signals */
	int peers[UIPC_VECTORS]; /* creator end of each vector fd, -1 */
};
/* NULL unless the thread is a receiver. Only a pointer lives in TLS (the
 * state is on the heap): static TLS of a shared library is scarce. */
static __thread struct sim_thread *sim_thr __attribute__((tls_model("initial-exec")));

/* The process's UITT. Word 0 and word 1 as the hardware reads them; `map`
 * is this process's mapping of the UPID page (word 1 points into it);
 * `busy` counts SENDUIPIs in flight so unregistering can unmap safely. */
struct sim_uitte {
	_Atomic uint64_t w0;
	_Atomic uint64_t w1;
	_Atomic unsigned busy;
	void *map;
	pid_t pid; /* the receiver process, from the vector fd's creator */
	dev_t dev;
	ino_t ino; /* of the vector fd: -EISCONN on a second registration */
};
static struct sim_uitte uitt[UITT_SIZE];
static _Atomic bool uitt_valid; /* "UINTR_TT valid": SENDUIPI is not #UD */
static pthread_mutex_t uitt_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t sig_once = PTHREAD_ONCE_INIT;
static int sig_err;

static int sim_signo(void)
{
	return SIGRTMAX - 2;
}

/* Delivery of the highest pending vector while UIF is set, as the CPU does;
 * UIRET sets UIF back to 1 (the model follows the original specification). */
static void deliver_pending(struct sim_thread *t)
{
	while (atomic_load(&t->uif)) {
		uint64_t r = atomic_load(&t->uirr), bit;
		unsigned v;

		if (!r)
			return;
		v = 63u - (unsigned)__builtin_clzll(r);
		bit = UINT64_C(1) << v;
		if (!atomic_compare_exchange_strong(&t->uirr, &r, r & ~bit))
			continue;
		atomic_store(&t->uif, false);
		if (uipc__uintr_record(&t->routes, v))
			uipc__uintr_run(&t->routes, v);
		uipc__uintr_done(&t->routes);
		atomic_store(&t->uif, true);
	}
}

/* Notification processing: ON cleared, PIR moved into UIRR. */
static bool fold_pir(struct sim_thread *t)
{
	uint64_t p;

	atomic_fetch_and(&t->upid->ctl, ~UIPC_UPID_ON);
	p = atomic_exchange(&t->upid->pir, 0);
	if (p)
		atomic_fetch_or(&t->uirr, p);
	return p != 0;
}

static void on_ipi(int signo, siginfo_t *si, void *uc)
{
	struct sim_thread *t = sim_thr;
	int saved = errno;

	(void)signo;
	(void)si;
	(void)uc;
	if (t && t->upid) {
		atomic_fetch_add(&t->ipis, 1);
		/* A wait about to sleep must not: its futex word moves. */
		if (atomic_load(&t->in_wait))
			atomic_fetch_add(&t->upid->wake, 1);
		fold_pir(t);
		deliver_pending(t);
	}
	errno = saved;
}

/* Release a thread's receiver state (it is no longer reachable). */
static void drop_thread(struct sim_thread *t)
{
	for (unsigned i = 0; i < UIPC_VECTORS; i++)
		uipc__close(t->peers[i]);
	munmap(t->upid, UPID_BYTES);
	uipc__close(t->memfd);
	free(t);
}

/*
 * fork(): like the kernel, the child is neither a receiver nor a sender. Its
 * copies of the forking thread's state and of the UITT are dropped (the
 * parent's mappings and fds are unaffected).
 */
static void at_fork_child(void)
{
	struct sim_thread *t = sim_thr;

	for (unsigned i = 0; i < UITT_SIZE; i++) {
		atomic_store(&uitt[i].w0, 0);
		atomic_store(&uitt[i].w1, 0);
		atomic_store(&uitt[i].busy, 0);
		if (uitt[i].map)
			munmap(uitt[i].map, UPID_BYTES);
		uitt[i].map = NULL;
	}
	atomic_store(&uitt_valid, false);
	pthread_mutex_init(&uitt_lock, NULL);
	if (!t)
		return;
	sim_thr = NULL;
	drop_thread(t);
}

static void sig_install(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_ipi;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	if (sigaction(sim_signo(), &sa, NULL) < 0)
		sig_err = -errno;
	else
		sig_err = -pthread_atfork(NULL, NULL, at_fork_child);
}

static int sim_probe(char *why, size_t len)
{
	snprintf(why, len, "user-space UINTR model (tests only, signal %d)", sim_signo());
	return 0;
}

static int sim_register_handler(unsigned flags)
{
	struct sim_thread *t;
	void *map;
	int r, fd;

	if (flags)
		return -EINVAL;
	if (sim_thr)
		return -EBUSY;
	pthread_once(&sig_once, sig_install);
	if (sig_err)
		return sig_err;
	t = uipc__calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	r = uipc__shm_create("uipc-uintr-sim-upid", UPID_BYTES, &fd, &map);
	if (r < 0) {
		free(t);
		return r;
	}
	t->upid = map;
	t->memfd = fd;
	t->upid->magic = SIM_MAGIC;
	t->upid->pid = (int32_t)getpid();
	atomic_store(&t->upid->pir, 0);
	atomic_store(&t->upid->ctl,
	             ((uint64_t)SIM_UINV << UIPC_UPID_NV_SHIFT) |
	                 ((uint64_t)(uint32_t)uipc__gettid() << UIPC_UPID_NDST_SHIFT));
	for (unsigned i = 0; i < UIPC_VECTORS; i++)
		t->peers[i] = -1;
	/* Complete before our own signal handler can see it. */
	atomic_signal_fence(memory_order_seq_cst);
	sim_thr = t;
	return 0;
}

static int sim_unregister_handler(unsigned flags)
{
	struct sim_thread *t = sim_thr;

	if (flags)
		return -EINVAL;
	if (!t)
		return -EINVAL;
	/* Senders keep posting into their mapping of the page; with SN set
	 * they never signal a thread that is no longer a receiver. */
	atomic_fetch_or(&t->upid->ctl, UIPC_UPID_SN);
	sim_thr = NULL;
	atomic_signal_fence(memory_order_seq_cst);
	drop_thread(t);
	return 0;
}

static struct uipc__uintr_routes *sim_routes(void)
{
	struct sim_thread *t = sim_thr;

	return t ? &t->routes : NULL;
}

/* Still in use: some holder of the vector fd has not closed it. */
static bool vec_in_use(int peer)
{
	struct pollfd p = {.fd = peer, .events = POLLOUT};

	return poll(&p, 1, 0) >= 0 && !(p.revents & (POLLHUP | POLLERR));
}

static int sim_vector_fd(unsigned vector, unsigned flags)
{
	struct sim_thread *t = sim_thr;
	struct sim_vec v = {.vector = vector};
	int fd, peer;

	if (flags)
		return -EINVAL;
	if (vector >= UIPC_VECTORS)
		return -ENOSPC;
	if (!t)
		return -EINVAL;
	if (t->peers[vector] >= 0) {
		if (vec_in_use(t->peers[vector]))
			return -EBUSY;
		uipc__close(t->peers[vector]);
		t->peers[vector] = -1;
	}
	fd = uipc__cap_create(SIM_KIND, &v, sizeof(v), &t->memfd, 1, &peer);
	if (fd < 0)
		return fd;
	t->peers[vector] = peer;
	return fd;
}

/* Errors of opening a vector fd, as uintr_register_sender reports them:
 * resource shortage as is, anything else about the fd is "not a uintr fd". */
static int open_err(int r)
{
	switch (r) {
	case -EPIPE:
		return -ESHUTDOWN;
	case -EBADF:
	case -EMFILE:
	case -ENFILE:
	case -ENOMEM:
		return r;
	default:
		return -EOPNOTSUPP;
	}
}

static int sim_register_sender(int fd, unsigned flags)
{
	socklen_t credlen = sizeof(struct ucred);
	struct ucred cred;
	struct sim_vec v;
	struct sim_upid *u;
	struct stat st;
	unsigned nfds, i;
	int memfd = -1, r;
	void *map;

	if (flags)
		return -EINVAL;
	if (fd < 0 || fstat(fd, &st) < 0)
		return -EBADF;
	pthread_once(&sig_once, sig_install);
	if (sig_err)
		return sig_err;
	r = uipc__cap_open(fd, SIM_KIND, &v, sizeof(v), &memfd, 1, 1, &nfds);
	if (r < 0)
		return open_err(r);
	r = uipc__shm_map(memfd, UPID_BYTES, &map);
	uipc__close(memfd);
	if (r < 0)
		return open_err(r);
	u = map;
	/* The UPID page is the receiver's to write: take the process to
	 * signal from the vector fd's creator instead (SO_PEERCRED), so a
	 * rewritten page can only point at that process's threads. */
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &credlen) < 0 || cred.pid <= 0 ||
	    u->magic != SIM_MAGIC || v.vector >= UIPC_VECTORS) {
		munmap(map, UPID_BYTES);
		return -EOPNOTSUPP;
	}

	pthread_mutex_lock(&uitt_lock);
	for (i = 0; i < UITT_SIZE; i++) {
		if ((atomic_load(&uitt[i].w0) & UIPC_UITT_VALID) && uitt[i].dev == st.st_dev &&
		    uitt[i].ino == st.st_ino) {
			r = -EISCONN;
			goto out;
		}
	}
	for (i = 0; i < UITT_SIZE; i++) {
		if (!(atomic_load(&uitt[i].w0) & UIPC_UITT_VALID) && !uitt[i].map)
			break;
	}
	if (i == UITT_SIZE) {
		r = -ENOSPC;
		goto out;
	}
	uitt[i].map = map;
	uitt[i].pid = cred.pid;
	uitt[i].dev = st.st_dev;
	uitt[i].ino = st.st_ino;
	atomic_store(&uitt[i].w1, (uint64_t)(uintptr_t)u);
	atomic_store(&uitt[i].w0, UIPC_UITT_VALID | ((uint64_t)v.vector << UIPC_UITT_UV_SHIFT));
	atomic_store(&uitt_valid, true);
	map = NULL;
	r = (int)i;
out:
	pthread_mutex_unlock(&uitt_lock);
	if (map)
		munmap(map, UPID_BYTES);
	return r;
}

static int sim_unregister_sender(int index, unsigned flags)
{
	struct sim_uitte *e;
	void *map;

	if (flags || index < 0 || (unsigned)index >= UITT_SIZE)
		return -EINVAL;
	e = &uitt[index];
	pthread_mutex_lock(&uitt_lock);
	if (!(atomic_load(&e->w0) & UIPC_UITT_VALID) || !e->map) {
		pthread_mutex_unlock(&uitt_lock);
		return -EINVAL;
	}
	atomic_store(&e->w0, 0);
	/* Dekker with senduipi's busy/valid: after this no SENDUIPI uses it. */
	while (atomic_load(&e->busy))
		uipc__cpu_relax();
	map = e->map;
	e->map = NULL;
	atomic_store(&e->w1, 0);
	pthread_mutex_unlock(&uitt_lock);
	munmap(map, UPID_BYTES);
	return 0;
}

static void send_ipi(pid_t pid, uint64_t ctl)
{
	unsigned nv = (unsigned)((ctl & UIPC_UPID_NV_MASK) >> UIPC_UPID_NV_SHIFT);
	int tid = (int)(uint32_t)(ctl >> UIPC_UPID_NDST_SHIFT);

	if (nv == SIM_UINV && tid > 0)
		syscall(SYS_tgkill, pid, tid, sim_signo());
	/* Any other vector is the kernel's business: SIM_WAITV is handled by
	 * the caller, others are spurious interrupts. */
}

static int sim_senduipi(uint64_t index)
{
	struct sim_uitte *e;
	struct sim_upid *u;
	uint64_t w0, w1, ctl;
	int r = 0;

	if (!atomic_load(&uitt_valid))
		return UIPC_UINTR_ERR_UD;
	if (index >= UITT_SIZE)
		return UIPC_UINTR_ERR_GP;
	e = &uitt[index];
	atomic_fetch_add(&e->busy, 1);
	w0 = atomic_load(&e->w0);
	if (!(w0 & UIPC_UITT_VALID) || (w0 & ~(UIPC_UITT_VALID | UIPC_UITT_UV_MASK)) ||
	    ((w0 & UIPC_UITT_UV_MASK) >> UIPC_UITT_UV_SHIFT) >= UIPC_VECTORS) {
		r = UIPC_UINTR_ERR_GP;
		goto out;
	}
	w1 = atomic_load(&e->w1);
	if (w1 & 63) {
		r = UIPC_UINTR_ERR_GP;
		goto out;
	}
	u = (struct sim_upid *)(uintptr_t)w1;
	if (atomic_load(&u->ctl) & UIPC_UPID_RESERVED) {
		r = UIPC_UINTR_ERR_GP;
		goto out;
	}
	atomic_fetch_or(&u->pir, UINT64_C(1) << ((w0 & UIPC_UITT_UV_MASK) >> UIPC_UITT_UV_SHIFT));
	ctl = atomic_load(&u->ctl);
	while (!(ctl & (UIPC_UPID_ON | UIPC_UPID_SN | UIPC_UPID_RESERVED))) {
		if (!atomic_compare_exchange_weak(&u->ctl, &ctl, ctl | UIPC_UPID_ON))
			continue;
		if (((ctl & UIPC_UPID_NV_MASK) >> UIPC_UPID_NV_SHIFT) == SIM_WAITV) {
			atomic_fetch_add(&u->wake, 1);
			syscall(SYS_futex, &u->wake, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
		} else {
			send_ipi(e->pid, ctl);
		}
		break;
	}
out:
	atomic_fetch_sub(&e->busy, 1);
	return r;
}

static void set_nv(struct sim_upid *u, unsigned nv)
{
	uint64_t c = atomic_load(&u->ctl);

	while (!atomic_compare_exchange_weak(
	    &u->ctl, &c, (c & ~UIPC_UPID_NV_MASK) | ((uint64_t)nv << UIPC_UPID_NV_SHIFT)))
		;
}

static int sim_wait(uint64_t usec, unsigned flags)
{
	struct sim_thread *t = sim_thr;
	uint64_t end, now;
	struct timespec ts;
	uint32_t seq;
	unsigned ipis;
	long r;
	int err;

	if (flags || usec > UIPC_UINTR_WAIT_MAX_USEC)
		return -EINVAL;
	if (!t)
		return -EOPNOTSUPP;
	end = uipc__now_ns() + usec * 1000u;
	for (;;) {
		if (atomic_load(&t->uirr) || fold_pir(t))
			return -EINTR;
		now = uipc__now_ns();
		if (now >= end)
			return -ETIMEDOUT;
		/* Block like the Intel tree: notifications now wake the futex
		 * (NV = SIM_WAITV); re-check PIR after switching, Dekker-style. */
		seq = atomic_load(&t->upid->wake);
		ipis = atomic_load(&t->ipis);
		atomic_store(&t->in_wait, true);
		set_nv(t->upid, SIM_WAITV);
		/* An IPI taken before in_wait was set moved PIR into UIRR
		 * without bumping the futex word: check UIRR too. */
		if (atomic_load(&t->uirr) || atomic_load(&t->upid->pir) ||
		    (atomic_load(&t->upid->ctl) & UIPC_UPID_ON)) {
			r = 0;
			err = 0;
		} else {
			ts = uipc__ns_to_ts(end - now);
			r = syscall(SYS_futex, &t->upid->wake, FUTEX_WAIT, seq, &ts, NULL, 0);
			err = r < 0 ? errno : 0;
		}
		set_nv(t->upid, SIM_UINV);
		atomic_store(&t->in_wait, false);
		if (atomic_load(&t->uirr) || fold_pir(t))
			return -EINTR;
		/* Only another signal is an EINTR of its own; a late
		 * notification signal whose vector was taken already is a
		 * spurious wakeup. */
		if (err == EINTR && atomic_load(&t->ipis) == ipis)
			return -EINTR;
		if (err == ETIMEDOUT)
			return -ETIMEDOUT;
		/* EAGAIN or a stray wake: go round (the deadline is rechecked). */
	}
}

static void sim_stui(void)
{
	struct sim_thread *t = sim_thr;

	if (!t)
		return;
	atomic_store(&t->uif, true);
	deliver_pending(t);
}

static void sim_clui(void)
{
	struct sim_thread *t = sim_thr;

	if (t)
		atomic_store(&t->uif, false);
}

static bool sim_testui(void)
{
	struct sim_thread *t = sim_thr;

	return t && atomic_load(&t->uif);
}

int uipc__uintr_sim_schedule(bool out)
{
	struct sim_thread *t = sim_thr;

	if (!t)
		return -EINVAL;
	if (out) {
		atomic_fetch_or(&t->upid->ctl, UIPC_UPID_SN);
		return 0;
	}
	atomic_fetch_and(&t->upid->ctl, ~UIPC_UPID_SN);
	/* Back in: what was posted while SN was set is delivered now. */
	if (atomic_load(&t->upid->pir))
		fold_pir(t);
	deliver_pending(t);
	return 0;
}

int uipc__uintr_sim_upid(uint64_t *ret_ctl, uint64_t *ret_pir)
{
	struct sim_thread *t = sim_thr;

	if (!t)
		return -EINVAL;
	*ret_ctl = atomic_load(&t->upid->ctl);
	*ret_pir = atomic_load(&t->upid->pir);
	return 0;
}

int uipc__uintr_sim_uitt(unsigned index, uint64_t *ret_word0)
{
	if (index >= UITT_SIZE)
		return -EINVAL;
	*ret_word0 = atomic_load(&uitt[index].w0);
	return 0;
}

int uipc__uintr_sim_uitt_poke(unsigned index, uint64_t word0)
{
	if (index >= UITT_SIZE || !uitt[index].map)
		return -EINVAL;
	atomic_store(&uitt[index].w0, word0);
	return 0;
}

int uipc__uintr_sim_uitt_poke_upid(unsigned index, unsigned offset)
{
	if (index >= UITT_SIZE || !uitt[index].map || offset >= UPID_BYTES)
		return -EINVAL;
	atomic_store(&uitt[index].w1, (uint64_t)(uintptr_t)uitt[index].map + offset);
	return 0;
}

int uipc__uintr_sim_upid_poke(uint64_t ctl)
{
	struct sim_thread *t = sim_thr;

	if (!t)
		return -EINVAL;
	atomic_store(&t->upid->ctl, ctl);
	return 0;
}

const struct uipc__uintr_platform uipc__uintr_sim = {
    .name = "uintr-sim",
    .probe = sim_probe,
    .register_handler = sim_register_handler,
    .unregister_handler = sim_unregister_handler,
    .routes = sim_routes,
    .vector_fd = sim_vector_fd,
    .register_sender = sim_register_sender,
    .unregister_sender = sim_unregister_sender,
    .wait = sim_wait,
    .senduipi = sim_senduipi,
    .stui = sim_stui,
    .clui = sim_clui,
    .testui = sim_testui,
};
