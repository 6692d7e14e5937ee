/* SPDX-License-Identifier: MIT */
/*
 * What the core shares internally: the objects (context, receiver, sender),
 * the waiter, capabilities, fork, shared memory, fds, time and topology
 * helpers, for src/ and, through backend.h, the backends. Nothing here is
 * installed. The other internal headers, by audience:
 *   layout.h   what peers see (shared memory and capability layouts,
 *              versions, magic); included here
 *   desc.h     the descriptor protocol (every access to status and pir)
 *   backend.h  the backend contract (backends/<name>/)
 *   hooks.h    what tests hook into (faults, kill and fork points, views)
 *   chan-ring.h     the channel ring (layout, sequence numbers): peers see it
 *   chan-private.h  the channel's two ends, for chan.c, chan-consumer.c and
 *                   chan-producer.c
 * Includes run one way: layout.h includes no internal header; this one
 * includes layout.h; desc.h, hooks.h and chan-ring.h include this one;
 * backend.h includes the first two, chan-private.h the last two. Nothing in src/ includes a header of backends/ or
 * tests/.
 */
#ifndef UIPC_PRIVATE_H
#define UIPC_PRIVATE_H

#include <assert.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "layout.h"
#include "uipc.h"

#define UIPC_INTERNAL __attribute__((visibility("hidden")))

/*
 * Backend ids past the public enum. The UINTR model ("uintr-sim") exists
 * only in the test build of the library (libuipc_test, compiled with
 * UIPC_HAVE_BACKEND_UINTR_SIM=1); the installed library neither contains
 * it nor knows its name.
 */
#define UIPC_BACKEND_UINTR_SIM ((enum uipc_backend)(UIPC_BACKEND_UINTR + 1))
#define UIPC__BACKEND_COUNT    ((unsigned)UIPC_BACKEND_UINTR_SIM + 1u)

/*
 * A structure that can grow (its first field is its size, as the caller
 * was compiled): 0 for the first sized layout; -EINVAL when smaller than
 * the layout this library knows; -E2BIG when a later layout's fields are
 * set, which this library cannot honour.
 */
UIPC_INTERNAL int uipc__struct_size_check(const void *s, size_t size, size_t known);

/* Argument checks at public entry points (systemd's assert_return). */
#define uipc_return_if(cond, err)                                                                  \
	do {                                                                                       \
		if (__builtin_expect(!!(cond), 0))                                                 \
			return (err);                                                              \
	} while (0)

/* ------------------------------------------------------------------------ */
/* Objects                                                                  */

struct uipc__backend_ops;

struct uipc_ctx {
	_Atomic unsigned refs;
	enum uipc_backend backend; /* resolved, never AUTO */
	bool forced;               /* chosen by name in the argument (not UIPC_BACKEND) */
	const struct uipc__backend_ops *ops;
};

struct uipc__spin {
	enum uipc_spin_mode mode;
	uint64_t max_ns;      /* ADAPTIVE: upper bound; FIXED: the budget */
	uint64_t budget_ns;   /* ADAPTIVE: current budget */
	unsigned blocks;      /* ADAPTIVE: blocked waits since the last spin success */
	unsigned probe_every; /* ADAPTIVE: blocks between probes, 8..256 */
	bool probe;           /* ADAPTIVE: the next wait spins the full max_ns once */
	bool probing;         /* ADAPTIVE: this wait is such a probe */
	bool shared;          /* ADAPTIVE: the last sched_yield() ran another thread */
};

/* A channel whose producers in this process skip their fence (src/chan.c,
 * chan-producer.c):
 * the receiver's waits look at it once more, after a membarrier(), before
 * they sleep (src/wait.c). Linked by the channel, one thread at a time like
 * every other use of the receiver. */
struct uipc__rx_link {
	struct uipc__rx_link *next;
	uint64_t bit; /* the channel's vector */
	bool fenced;  /* made heavy for good: membarrier() failed (src/wait.c) */
	bool (*light)(struct uipc__rx_link *l); /* fence-free producers now? */
	void (*heavy)(struct uipc__rx_link *l); /* make them fence again */
	bool (*ready)(struct uipc__rx_link *l); /* a message at the head? */
};

/* fork() without exec (src/fork.c): objects that hold descriptors promising
 * liveness to others register, so that a child closes its copies of them. */
struct uipc__forkable {
	struct uipc__forkable *prev, *next;
	void (*child)(struct uipc__forkable *f);   /* in the child: close them */
	void (*prepare)(struct uipc__forkable *f); /* before fork, or NULL */
	unsigned gen;                              /* uipc__fork_gen at creation */
};

/* Whether a receiver lives, for the senders uipc_tx_new() made for it in
 * its own process (they hold no capability). The receiver's free sets
 * *closed, in a shared anonymous page: fork children see it too, and no
 * other process can map it, so no peer can forge it. The struct itself is
 * process-private (its count is this process's); the last holder unmaps
 * the page and frees it. */
struct uipc__life {
	_Atomic unsigned refs;
	pid_t pid;                /* the receiver's process */
	_Atomic unsigned *closed; /* MAP_SHARED | MAP_ANONYMOUS */
	/* Senders in other processes may wake the receiver (uipc__rx_share()):
	 * false -> true, never back. Until then the futex backend's word is a
	 * private futex. */
	_Atomic bool shared;
};

/* The receiver's side of the wait protocol (src/wait.c). */
struct uipc__waiter {
	struct uipc__spin spin;
	bool armed;    /* uipc_rx_arm() was called, uipc_rx_drain() not yet */
	bool futex;    /* uipc_rx_futex() was called: arm/drain work without an fd */
	uint64_t owed; /* kicks seen (ON) whose delivery rx_ack has not consumed */
	uint64_t arms; /* times the receiver armed (tests) */
};

struct uipc_rx {
	uint32_t magic; /* UIPC_RX_MAGIC while alive: catches use after free, sometimes */
	struct uipc__forkable fork;
	_Atomic unsigned refs; /* the creator's, and one per channel on it */
	uipc_ctx *ctx;
	const struct uipc__backend_ops *ops;
	struct uipc__desc *desc; /* shared mapping */
	int memfd;
	int owner_tid;
	struct uipc__waiter w;
	struct uipc__rx_link *links; /* channels with fence-free producers */
	uipc_handler_fn handler;     /* handler mode when not NULL */
	/* What the dispatcher calls: two slots, the live one named by hslot
	 * (a handler swap writes the other, then flips it: never the new
	 * function with the old data), and a flag against running the user's
	 * handler nested inside itself (a signal during a dispatch). */
	struct {
		uipc_handler_fn fn;
		void *data;
	} hs[2];
	_Atomic unsigned hslot;
	_Atomic bool dispatching;
	int *peers;                  /* our end of each capability handed out: closing */
	unsigned npeers, peers_size; /* ... them tells every holder we are gone */
	void *backend;               /* backend-private receiver state */
	int backend_fd;              /* backend fd passed to senders (eventfd...), or -1 */
	struct uipc__life *life;     /* shared with the senders of uipc_tx_new() */
	_Atomic bool exposed;        /* a capability left the library (rx_expose) */
};

struct uipc_tx {
	uint32_t magic;  /* UIPC_TX_MAGIC while alive */
	bool own_notify; /* ops->tx_notify replaces the protocol (uintr) */
	uipc_ctx *ctx;
	const struct uipc__backend_ops *ops;
	struct uipc__desc *desc; /* shared mapping of the receiver's descriptor */
	uint64_t bit;            /* 1 << vector */
	unsigned vector;
	int cap_fd;              /* our dup of the capability socket: liveness (or -1: life) */
	struct uipc__life *life; /* uipc_tx_new() in the receiver's process: liveness */
	unsigned gen;            /* uipc__fork_gen when made (with life) */
	int backend_fd;          /* backend fd from the capability (eventfd...), or -1 */
	int32_t pid, tid;        /* receiver, as the descriptor said at connect time */
	void *backend;           /* backend-private sender state */
	_Atomic uint64_t kicks;  /* kicks sent (tests assert one kick per sleep) */
};

#define UIPC_RX_MAGIC 0x72785550u
#define UIPC_TX_MAGIC 0x74785550u

/* ------------------------------------------------------------------------ */
/* A message for a human: to the application's log function
 * (uipc_set_log()), or to stderr with UIPC_DEBUG set; otherwise nothing. */
UIPC_INTERNAL void uipc__log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A receiver's life (refs 1), or NULL (out of memory). */
UIPC_INTERNAL struct uipc__life *uipc__life_new(void);
/* Drop a reference on a receiver's life (NULL: nothing). */
UIPC_INTERNAL void uipc__life_unref(struct uipc__life *life);

/* Another reference on a receiver (a channel's); uipc_rx_free() drops one. */
UIPC_INTERNAL uipc_rx *uipc__rx_ref(uipc_rx *rx);

/* ------------------------------------------------------------------------ */
/* Core helpers for backends and other modules                              */

/* Contexts are reference counted: receivers and senders hold one. */
UIPC_INTERNAL uipc_ctx *uipc__ctx_ref(uipc_ctx *ctx);

/* Handler-mode dispatch: called by a backend's interrupt/signal handler on the
 * owner thread. Clears ON, takes pir, calls the user's handler. */
UIPC_INTERNAL void uipc__rx_dispatch(uipc_rx *rx);

/* The descriptor protocol (take, post, arm...) is src/desc.h. */

/* The waiter (src/wait.c). */
UIPC_INTERNAL void uipc__spin_init(struct uipc__spin *sp);
UIPC_INTERNAL int uipc__spin_set(struct uipc__spin *sp, enum uipc_spin_mode mode,
                                 uint64_t budget_ns);
UIPC_INTERNAL void uipc__spin_learn(struct uipc__spin *sp, bool spun_ok, uint64_t gap_ns);
/* How long this wait may spin: the budget, or max_ns once after a probe
 * was asked for (consumed here); 0 with UIPC_SPIN_NONE. */
UIPC_INTERNAL uint64_t uipc__spin_budget(struct uipc__spin *sp);
/* The adaptive spin's yields: after UIPC__SPIN_YIELD_FIRST_NS of spinning
 * (at once while sp->shared), then every UIPC__SPIN_YIELD_EVERY_NS, it
 * offers the CPU with sched_yield(). uipc__spin_yielded() learns from how
 * long one took (took_ns): much longer than the fastest yield seen in the
 * process means another thread ran on this CPU meanwhile. */
#define UIPC__SPIN_YIELD_FIRST_NS  2000u
#define UIPC__SPIN_YIELD_EVERY_NS  8000u
#define UIPC__SPIN_YIELD_SWITCH_NS 1500u
UIPC_INTERNAL void uipc__spin_yielded(struct uipc__spin *sp, uint64_t took_ns);
/* The adaptive spin does not spin while the machine is crowded: more
 * threads runnable than CPUs online (the running count of /proc/loadavg,
 * which counts threads waiting in a run queue too), so that a spin would
 * take a CPU some thread is waiting for, maybe the one we wait for, on any
 * CPU (a yield sees only its own). Sampled at most every
 * UIPC__SPIN_CROWD_EVERY_NS by whichever waiter asks first; unreadable
 * (no /proc): never crowded. */
#define UIPC__SPIN_CROWD_EVERY_NS 4000000u
UIPC_INTERNAL bool uipc__spin_crowded(uint64_t now_ns);
/* The running count of /proc/loadavg's text ("0.52 0.58 0.59 3/250 1234":
 * 3), or -1 when it does not read as one. */
UIPC_INTERNAL long uipc__loadavg_running(const char *text);

/* Receiver: arm (status := 0, whatever a peer stored) and disarm (status :=
 * SN; a kick seen is acknowledged through the backend, now or once it
 * lands; woken: the backend said its fd or signal fired). */
UIPC_INTERNAL void uipc__rx_arm_status(uipc_rx *rx);
UIPC_INTERNAL void uipc__rx_disarm(uipc_rx *rx, bool woken);

/* Make a vector capability (uipc_rx_cap()); expose: it leaves the
 * library (false only for the one uipc_tx_new() consumes itself). */
UIPC_INTERNAL int uipc__rx_cap(uipc_rx *rx, unsigned vector, bool expose);

/* Senders in other processes may wake rx from now on (a capability
 * leaves the library, uipc_rx_futex(), fork): the backend stops relying on
 * its senders all being here (rx_share). Any thread. */
UIPC_INTERNAL void uipc__rx_share(uipc_rx *rx);

/* Close the receiver's ends of capabilities nobody holds any more. */
UIPC_INTERNAL void uipc__rx_reap(uipc_rx *rx);
UIPC_INTERNAL void uipc__rx_link(uipc_rx *rx, struct uipc__rx_link *l);
UIPC_INTERNAL void uipc__rx_unlink(uipc_rx *rx, struct uipc__rx_link *l);
UIPC_INTERNAL uint64_t uipc__rx_links_ready(uipc_rx *rx, bool *bounded);
/* The one short sleep a failed membarrier() asks for (*bounded above). */
#define UIPC__MEMBARRIER_FALLBACK_NS 1000000u

/* What the waiter looks at: > 0 done (the caller's result), 0 not yet, or
 * -errno. SPIN: cheap, called in a loop; ARMED: right after arming, the
 * last look before a sleep (Dekker's load half: seq_cst); WOKEN: after a
 * wake or a sleep's end. */
enum uipc__look { UIPC_LOOK_SPIN, UIPC_LOOK_ARMED, UIPC_LOOK_WOKEN };

struct uipc__wait {
	int (*look)(void *arg, enum uipc__look when);
	void *arg;
	struct uipc__spin *spin; /* the policy to follow and train */
	uint64_t deadline;       /* absolute CLOCK_MONOTONIC ns; UINT64_MAX: none;
	                          * look may bring it forward (a recheck time) */
	int64_t timeout_ns;      /* >= 0: deadline = the first clock read + this */
	/* Optional: arm, look, sleep and disarm in place of the one receiver's
	 * (uipc_rx_wait_any(), src/any.c): > 0 found (*slept false), 0 woken
	 * or the sleep ended, or -errno. NULL: the receiver passed to
	 * uipc__wait(). */
	int (*block)(void *arg, struct uipc__wait *w, bool *slept);
};

/* Spin, then arm / look / block / disarm until look says > 0 (returned),
 * the deadline (-ETIMEDOUT), a signal (-EINTR) or an error. */
UIPC_INTERNAL int uipc__wait(uipc_rx *rx, struct uipc__wait *w);

/* Time. */
static inline uint64_t uipc__now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline struct timespec uipc__ns_to_ts(uint64_t ns)
{
	struct timespec ts = {.tv_sec = (time_t)(ns / 1000000000u),
	                      .tv_nsec = (long)(ns % 1000000000u)};
	return ts;
}

static inline void uipc__cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield" ::: "memory");
#else
	atomic_signal_fence(memory_order_seq_cst);
#endif
}

/*
 * A full fence (atomic_thread_fence(memory_order_seq_cst)). On x86 a locked
 * read-modify-write of a stack word orders every earlier load and store
 * before every later one, as MFENCE does, at a fraction of MFENCE's cost on
 * current cores (the kernel's smp_mb() does the same); MFENCE also orders
 * non-temporal stores and WC memory, which the descriptor never uses.
 * Elsewhere the compiler's fence. The "memory" clobber keeps the compiler
 * from moving accesses across it.
 */
static inline void uipc__fence(void)
{
#if defined(__x86_64__)
	__asm__ __volatile__("lock; orl $0, (%%rsp)" ::: "memory", "cc");
#else
	atomic_thread_fence(memory_order_seq_cst);
#endif
}

UIPC_INTERNAL int uipc__gettid(void);

/* Capability container (its message: layout.h).
 *
 * A capability is one end of an AF_UNIX SOCK_SEQPACKET pair whose receive
 * queue holds exactly one message: a header (kind, payload) with the fds the
 * holder needs (SCM_RIGHTS). Opening it peeks the message, so it can be
 * opened any number of times, and passed on with uipc_cap_send(). The creator
 * keeps the other end: when it is closed (free, or process death) every
 * holder sees POLLHUP, which is how senders learn that the receiver is gone.
 */

/* Create a capability holding payload and fds (which are duplicated, not
 * consumed). Returns the capability fd; *ret_peer is the creator's end. */
UIPC_INTERNAL int uipc__cap_create(uint32_t kind, const void *payload, size_t len, const int *fds,
                                   unsigned nfds, int *ret_peer);

/* Open a capability: checks it is one, of this kind, with a payload of
 * exactly len bytes and between min_fds and max_fds fds (new O_CLOEXEC
 * duplicates, owned by the caller; *ret_nfds says how many). -EBADF for a bad
 * fd, -EINVAL for anything that is not such a capability, -EPIPE if the
 * creator's end is closed. On error nothing is left open. */
UIPC_INTERNAL int uipc__cap_open(int cap_fd, uint32_t kind, void *payload, size_t len, int *fds,
                                 unsigned min_fds, unsigned max_fds, unsigned *ret_nfds);

/* 0 while the creator's end is open, -EPIPE after. */
UIPC_INTERNAL int uipc__cap_alive(int cap_fd);

/* Close the creator ends in peers[0..*n) whose every holder has closed the
 * capability (it hung up), compacting the array. */
UIPC_INTERNAL void uipc__cap_reap(int *peers, unsigned *n);

/* fork() (src/fork.c). Objects made in this process have gen ==
 * uipc__fork_gen; in a child every inherited one is older (-ECHILD). */
extern UIPC_INTERNAL _Atomic unsigned uipc__fork_gen;
/* Register f: child runs in a fork child, prepare (or NULL) in the parent
 * before every fork, both with the list locked. */
UIPC_INTERNAL int uipc__fork_register(struct uipc__forkable *f,
                                      void (*child)(struct uipc__forkable *f),
                                      void (*prepare)(struct uipc__forkable *f));
UIPC_INTERNAL void uipc__fork_unregister(struct uipc__forkable *f);
/* Held by fork preparation: make and record (close and forget) a
 * descriptor that a child handler closes with it held, so fork() never
 * copies one the handler cannot see. Not recursive; no backend calls under
 * it (src/fork.c). */
UIPC_INTERNAL void uipc__fork_hold(void);
UIPC_INTERNAL void uipc__fork_release(void);
/* A capability's holder end that the library itself holds between two
 * steps (uipc_chan_tx_new(), uipc_chan_cap_send(), uipc_chan_tx_open_sock()):
 * it says a producer may still come, so a fork child closes its copy. Made
 * and tracked, closed and forgotten, under uipc__fork_hold(). Zeroed, with
 * fd -1, before use. */
struct uipc__fork_fd {
	struct uipc__forkable fork;
	int fd;
};
/* With uipc__fork_hold(): track fd (t->fd stays -1 on failure). */
UIPC_INTERNAL int uipc__fork_fd_track(struct uipc__fork_fd *t, int fd);
/* Close and forget it (takes the hold). */
UIPC_INTERNAL void uipc__fork_fd_close(struct uipc__fork_fd *t);
/* uipc_cap_recv(), the received fd tracked when track is not NULL. */
UIPC_INTERNAL int uipc__fd_recv(int sock, int *ret_fd, struct uipc__fork_fd *track);
static inline bool uipc__forked(const struct uipc__forkable *f)
{
	return f->gen != atomic_load_explicit(&uipc__fork_gen, memory_order_relaxed);
}

/* Producer departures as events (src/watch.c): a process-wide thread that
 * sets *flag and notifies tx when a watched capability's creator end hangs
 * up. */
UIPC_INTERNAL int uipc__watch_new(uipc_tx *tx, _Atomic unsigned *flag, uint64_t *ret_id);
UIPC_INTERNAL int uipc__watch_fd(uint64_t id, int fd);
/* Forget a watch; returns its tx for the caller to free. */
UIPC_INTERNAL uipc_tx *uipc__watch_free(uint64_t id);

/* Shared memory: a sealed memfd of size bytes, mapped shared. */
UIPC_INTERNAL int uipc__shm_create(const char *name, size_t size, int *ret_fd, void **ret_map);
/* Map a peer's memfd after checking it is sealed against shrinking and at
 * least size bytes long. -EINVAL otherwise. */
UIPC_INTERNAL int uipc__shm_map(int fd, size_t size, void **ret_map);

/* SCM_RIGHTS, the one implementation (src/fd.c). */
#define UIPC_FDS_MAX 8 /* fds one message may carry */

/* Send len bytes of buf with nfds fds (duplicated by the kernel, not
 * consumed) in one message; retries EINTR. 0 or -errno. */
UIPC_INTERNAL int uipc__send_fds(int sock, const void *buf, size_t len, const int *fds,
                                 unsigned nfds);

/* Receive one message (recvmsg flags: MSG_PEEK, MSG_DONTWAIT...) into buf and
 * up to max fds (O_CLOEXEC, owned by the caller); fds beyond max are closed
 * and reported as MSG_CTRUNC in *ret_msg_flags. Returns the byte count or
 * -errno (EINTR retried). */
UIPC_INTERNAL ssize_t uipc__recv_fds(int sock, void *buf, size_t len, int flags, int *fds,
                                     unsigned max, unsigned *ret_nfds, int *ret_msg_flags);

/* Close that preserves errno and ignores -1. */
UIPC_INTERNAL void uipc__close(int fd);

/* calloc(), which the fault hooks can fail (hooks.h). */
UIPC_INTERNAL void *uipc__calloc(size_t n, size_t size);

/* Topology and NUMA placement (src/topo.c, src/numa.c). */
/* Topology from a sysfs tree laid out as /sys/devices/system (root NULL: the
 * real one, with this thread's affinity applied). */
UIPC_INTERNAL int uipc__topo_new_sysfs(const char *root, uipc_topo **ret_topo);
/* Prefer node for the pages of [addr, addr+len) (mbind); -EOPNOTSUPP without NUMA. */
UIPC_INTERNAL int uipc__mem_bind(void *addr, size_t len, int node);
/* Node of the page at addr. */
UIPC_INTERNAL int uipc__mem_node(const void *addr, int *ret_node);
/* Node of a CPU (sysfs); -EOPNOTSUPP without NUMA. */
UIPC_INTERNAL int uipc__cpu_node(int cpu);
/* Bind to the calling thread's current node (a receiver allocating its own
 * memory) and report it in *ret_node (may be NULL). */
UIPC_INTERNAL int uipc__mem_bind_local(void *addr, size_t len, int *ret_node);

#endif
