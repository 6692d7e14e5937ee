/* SPDX-License-Identifier: MIT */
/*
 * Internal declarations shared by the core (src/) and the backends
 * (backends/<name>/). Nothing here is installed.
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

#define UIPC_CACHELINE 64

/* ------------------------------------------------------------------------ */
/* The shared descriptor (mirrors the UINTR posted-interrupt descriptor)     */

/* Status word bits. Senders only ever set ON, and only with a CAS from a
 * value that has SN, ON and CLOSED clear; every other bit is the receiver's. */
#define UIPC_DESC_ON          (1u << 0) /* a kick is outstanding */
#define UIPC_DESC_SN          (1u << 1) /* suppress: the receiver is awake */
#define UIPC_DESC_CLOSED      (1u << 2) /* the receiver was freed */
#define UIPC_DESC_SENDER_MASK (UIPC_DESC_ON | UIPC_DESC_SN | UIPC_DESC_CLOSED)

#define UIPC_DESC_MAGIC       0x43504975u /* "uIPC" */
#define UIPC_DESC_ABI         1u

/*
 * Lives at offset 0 of the receiver's memfd (one page, sealed against
 * shrinking and growing). Cache line 0 is the only one senders write: the
 * status word (also the futex word) and the pending bits, as in the UPID.
 * Line 1 is written once by the receiver before any capability exists and
 * only read (and validated) by senders. Everything here may be written by a
 * hostile peer: readers validate, and no value leads to UB or an endless loop.
 */
struct uipc__desc {
	_Alignas(UIPC_CACHELINE) _Atomic uint32_t status; /* ON | SN | CLOSED */
	uint32_t ndst;                                    /* receiver thread id (informational) */
	_Atomic uint64_t pir;                             /* pending vectors, one bit each */

	_Alignas(UIPC_CACHELINE) uint32_t magic; /* UIPC_DESC_MAGIC */
	uint32_t abi;                            /* UIPC_DESC_ABI */
	uint32_t backend;                        /* enum uipc_backend of the receiver */
	int32_t pid;                             /* receiver process */
	int32_t tid;                             /* receiver thread */
	uint32_t backend_data[11];               /* backend-owned (signal: signo...) */
};

#define UIPC_DESC_MAP_SIZE 4096u

_Static_assert(sizeof(struct uipc__desc) <= UIPC_DESC_MAP_SIZE, "descriptor fits its page");
_Static_assert(sizeof(struct uipc__desc) == 2 * UIPC_CACHELINE, "two cache lines");

/* ------------------------------------------------------------------------ */
/* Objects                                                                  */

struct uipc__backend_ops;

struct uipc_ctx {
	_Atomic unsigned refs;
	enum uipc_backend backend; /* resolved, never AUTO */
	bool forced;               /* chosen by name (argument or environment) */
	const struct uipc__backend_ops *ops;
};

struct uipc__spin {
	enum uipc_spin_mode mode;
	uint64_t max_ns;    /* ADAPTIVE: upper bound; FIXED: the budget */
	uint64_t budget_ns; /* ADAPTIVE: current budget */
	unsigned blocks;    /* ADAPTIVE: blocked waits since the last spin success */
};

struct uipc_rx {
	uint32_t magic; /* UIPC_RX_MAGIC while alive: catches use after free, sometimes */
	_Atomic unsigned refs; /* the creator's, and one per channel on it */
	uipc_ctx *ctx;
	const struct uipc__backend_ops *ops;
	struct uipc__desc *desc; /* shared mapping */
	int memfd;
	int owner_tid;
	struct uipc__spin spin;
	bool armed;              /* arm() was called, drain() not yet */
	uipc_handler_fn handler; /* handler mode when not NULL */
	void *handler_data;
	int caps[UIPC_VECTORS];      /* each vector's capability socket (dup'ed out), or -1 */
	int cap_peers[UIPC_VECTORS]; /* our end of it: closing it tells holders we are gone */
	void *backend;               /* backend-private receiver state */
	uint64_t arms;               /* times SN was cleared by wait/arm (tests) */
	int backend_fd;              /* backend fd passed to senders (eventfd...), or -1 */
};

struct uipc_tx {
	uint32_t magic; /* UIPC_TX_MAGIC while alive */
	uipc_ctx *ctx;
	const struct uipc__backend_ops *ops;
	struct uipc__desc *desc; /* shared mapping of the receiver's descriptor */
	uint64_t bit;            /* 1 << vector */
	unsigned vector;
	int cap_fd;             /* our dup of the capability socket: liveness */
	int backend_fd;         /* backend fd from the capability (eventfd...), or -1 */
	int32_t pid, tid;       /* receiver, as the descriptor said at connect time */
	void *backend;          /* backend-private sender state */
	_Atomic uint64_t kicks; /* kicks sent (tests assert one kick per sleep) */
};

#define UIPC_RX_MAGIC 0x72785550u
#define UIPC_TX_MAGIC 0x74785550u

/* ------------------------------------------------------------------------ */
/* The backend contract                                                     */

enum uipc__backend_caps {
	UIPC_CAP_POLLABLE = 1u << 0,      /* rx_fd gives a pollable fd */
	UIPC_CAP_HANDLER = 1u << 1,       /* handler mode */
	UIPC_CAP_CROSS_PROCESS = 1u << 2, /* senders may be in other processes */
	UIPC_CAP_TEST_ONLY = 1u << 3, /* a model for tests: never chosen by auto, only by name */
};

/*
 * One per backend (backends/<name>/), listed in src/backend.c. The core runs
 * the descriptor protocol (src/rx.c, src/tx.c); a backend only says how a
 * blocked receiver is kicked and how it blocks. Backends whose hardware runs
 * part of the protocol itself (uintr) override notify/wait.
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
	 * (NULL: forever) or a signal arrives. Called with SN clear; the core
	 * has re-checked pir. Returns 0 (woken, perhaps spuriously),
	 * -ETIMEDOUT or -EINTR. `expect` is the status value the receiver
	 * armed with (for futex-style compare-and-block). */
	int (*rx_block)(uipc_rx *rx, uint32_t expect, const struct timespec *deadline);

	/* Consume a kick that was delivered but not waited for (eventfd count). */
	void (*rx_ack)(uipc_rx *rx);

	/* Optional: the backend fd the capability of `vector` carries, owned by
	 * the receiver (duplicated into the capability). NULL: rx->backend_fd.
	 * uintr needs it: the kernel gives one fd per vector. */
	int (*rx_vector_fd)(uipc_rx *rx, unsigned vector, int *ret_fd);

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

	/* Wake the receiver: the sender won the CAS that set ON. */
	int (*tx_kick)(uipc_tx *tx);

	/* Full overrides of the protocol (uintr: SENDUIPI does it in hardware). */
	int (*tx_notify)(uipc_tx *tx);
	int (*rx_wait)(uipc_rx *rx, int64_t timeout_ns, uint64_t *ret_mask);
};

/* Backends known to this build (NULL entries for those not compiled). */
/* A message for a human: to the application's log function
 * (uipc_set_log()), or to stderr with UIPC_DEBUG set; otherwise nothing. */
UIPC_INTERNAL void uipc__log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Another reference on a receiver (a channel's); uipc_rx_free() drops one. */
UIPC_INTERNAL uipc_rx *uipc__rx_ref(uipc_rx *rx);
UIPC_INTERNAL const struct uipc__backend_ops *uipc__backend_get(enum uipc_backend id);
UIPC_INTERNAL int uipc__backend_lookup(const char *name, enum uipc_backend *ret_id);

/* ------------------------------------------------------------------------ */
/* Core helpers for backends and other modules                              */

/* Contexts are reference counted: receivers and senders hold one. */
UIPC_INTERNAL uipc_ctx *uipc__ctx_ref(uipc_ctx *ctx);

/* Handler-mode dispatch: called by a backend's interrupt/signal handler on the
 * owner thread. Clears ON, takes pir, calls the user's handler. */
UIPC_INTERNAL void uipc__rx_dispatch(uipc_rx *rx);

/* Take every pending vector. The load first keeps an idle receiver from
 * pulling the line exclusive; it is seq_cst because it is the load of the
 * receiver's half of the Dekker pattern when called right after arming. */
static inline uint64_t uipc__desc_take(struct uipc__desc *d)
{
	if (atomic_load_explicit(&d->pir, memory_order_seq_cst) == 0)
		return 0;
	return atomic_exchange_explicit(&d->pir, 0, memory_order_seq_cst);
}

/* The descriptor protocol, shared by receivers, senders and channels. */

/* Sender: post bit. Returns 1 when the caller must kick the backend (it won
 * the CAS that set ON), 0 when no kick is needed, -EPIPE if the receiver is
 * closed. */
UIPC_INTERNAL int uipc__desc_post(struct uipc__desc *d, uint64_t bit);

/* Receiver: arm (clear SN). Returns the armed status value to block on, or
 * takes and returns -EAGAIN with *ret_mask set when something is pending
 * (SN is set again then). */
UIPC_INTERNAL int uipc__desc_arm(struct uipc__desc *d, uint32_t *ret_expect, uint64_t *ret_mask);

/* Receiver: disarm (set SN, clear ON). Returns the previous status. */
UIPC_INTERNAL uint32_t uipc__desc_disarm(struct uipc__desc *d);

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

UIPC_INTERNAL int uipc__gettid(void);

/* Capability container.
 *
 * A capability is one end of an AF_UNIX SOCK_SEQPACKET pair whose receive
 * queue holds exactly one message: a header (kind, payload) with the fds the
 * holder needs (SCM_RIGHTS). Opening it peeks the message, so it can be
 * opened any number of times, and passed on with uipc_fd_send(). The creator
 * keeps the other end: when it is closed (free, or process death) every
 * holder sees POLLHUP, which is how senders learn that the receiver is gone.
 */
enum uipc__cap_kind {
	UIPC_CAP_KIND_VECTOR = 1, /* payload: struct uipc__cap_vector; fds: memfd [, backend fd] */
	UIPC_CAP_KIND_CHAN = 2,   /* channels (src/chan.c) */
};

#define UIPC_CAP_MAX_FDS     4 /* <= UIPC_FDS_MAX */
#define UIPC_CAP_MAX_PAYLOAD 256

struct uipc__cap_vector {
	uint32_t vector;
	uint32_t backend;
};

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

/* Fault injection for tests (tests/): when the counter reaches zero, the
 * named resource allocation fails. Counters are negative (off) by default. */
struct uipc__faults {
	_Atomic int alloc; /* calloc/malloc fails with -ENOMEM */
	_Atomic int fd;    /* fd creation fails with -EMFILE */
};
extern UIPC_INTERNAL struct uipc__faults uipc__faults;
UIPC_INTERNAL bool uipc__fault(_Atomic int *counter);
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

/* Channels (src/chan.c): where the consumer's shared ring lives, for the
 * corrupt-ring tests and the fuzzer, which write it as a hostile peer would. */
struct uipc__chan_layout {
	void *map;
	size_t size;
	size_t tail_off, head_off, slots_off; /* byte offsets in map */
	size_t stride;                        /* bytes per slot */
	size_t seq_off;                       /* a slot's sequence number, in the slot */
	size_t claims_off, claim_size;        /* MPSC: producer claim entries ... */
	unsigned claims;                      /* ... how many (0: SPSC) */
	uint64_t capacity;
	bool mpsc;
};
UIPC_INTERNAL void uipc__chan_layout(uipc_chan *chan, struct uipc__chan_layout *ret);
/* Slots the consumer passed because their producer died holding them. */
UIPC_INTERNAL uint64_t uipc__chan_passed(uipc_chan *chan);
/* The sender a producer end notifies with (tests count its kicks). */
UIPC_INTERNAL uipc_tx *uipc__chan_tx_sender(uipc_chan_tx *tx);

#endif
