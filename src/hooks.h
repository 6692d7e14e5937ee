/* SPDX-License-Identifier: MIT */
/*
 * What tests hook into: fault injection, kill points, fork points, and the
 * views of internal state that tests/ and fuzz/ read or write (a ring's
 * layout, counters). The library calls the hooks; only the test builds of
 * it (src/meson.build: libuipc_test, libuipc_kill, libuipc_forkpt) give
 * the kill and fork points a body. Backends may use the fault counters
 * too (backend.h includes this). Nothing here is installed.
 */
#ifndef UIPC_HOOKS_H
#define UIPC_HOOKS_H

#include "uipc-private.h"

/* Fault injection for tests (tests/): when the counter reaches zero, the
 * named resource allocation fails. Counters are negative (off) by default. */
struct uipc__faults {
	_Atomic int alloc; /* calloc/malloc fails with -ENOMEM */
	_Atomic int fd;    /* fd creation fails with -EMFILE */
};
extern UIPC_INTERNAL struct uipc__faults uipc__faults;
UIPC_INTERNAL bool uipc__fault(_Atomic int *counter);

/* Producer departures (src/watch.c): start the thread now (tests: its
 * epoll fd then exists before they count). */
UIPC_INTERNAL int uipc__watch_ready(void);

/* Channels (src/chan-ring.h): where the consumer's shared ring lives, for the
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

/*
 * Kill points (tests/harness-kill.c): every store of a producer's path and
 * of the consumer's publish path (src/chan.c, chan-consumer.c,
 * chan-producer.c) is numbered. Only the test
 * library built with -DUIPC_KILL_POINTS (libuipc_kill, tests only) has
 * them; elsewhere they compile to nothing. Armed, the process SIGKILLs
 * itself when it reaches the point for the (skip + 1)th time.
 */
enum uipc__kp {
	UIPC_KP_SPSC_LOCKED,    /* attach: the producer role's lock taken */
	UIPC_KP_MPSC_LOCKED,    /* attach: a claim entry's lock taken */
	UIPC_KP_MPSC_ENTRY,     /* attach: the entry's count cleared */
	UIPC_KP_CLAIM_N,        /* MPSC claim: the entry's count stored */
	UIPC_KP_CLAIM_POS,      /* ... its position stored */
	UIPC_KP_CLAIM_TAIL,     /* ... the tail moved (claimed) */
	UIPC_KP_CLAIM_LOST,     /* ... a lost round's entry cleared */
	UIPC_KP_SEND_WRITTEN,   /* send: the message written, unpublished */
	UIPC_KP_SEND_N_WRITTEN, /* send_n: one more message written */
	UIPC_KP_RESERVED,       /* reserve: the slot claimed */
	UIPC_KP_COMMIT,         /* commit: before the publish */
	UIPC_KP_PUBLISH_SEQ,    /* publish: one slot's sequence stored */
	UIPC_KP_PUBLISH_TAIL,   /* publish: the SPSC tail stored */
	UIPC_KP_NOTIFIED,       /* publish: announced */
	UIPC_KP_SPACE_WAITER,   /* space wait: the waiter flag stored */
	UIPC_KP_DETACH,         /* tx_free: before the lock goes */
	UIPC_KP_HEAD,           /* consumer: the head stored */
	UIPC_KP_FREE_SLOT,      /* consumer, MPSC: a slot freed for the next lap */
	UIPC_KP_PASS_HOLE,      /* consumer, MPSC: a dead claimer's slot passed */
	UIPC_KP_WAKE_CLEAR,     /* consumer: the waiter flag cleared */
	UIPC_KP_WAKE_SEQ,       /* consumer: the futex word bumped */
	UIPC_KP_GONE_CHECK,     /* consumer: about to ask whether every producer is gone */
	UIPC_KP_COUNT
};
#ifdef UIPC_KILL_POINTS
/* Arm point (-1: none); how many times it passes first. Zeroes the counts. */
UIPC_INTERNAL void uipc__kill_arm(int point, unsigned long skip);
/* How many times this process reached point. */
UIPC_INTERNAL unsigned long uipc__kill_hits(int point);
/* Call fn(point) at every point this process reaches (NULL: none): a test
 * makes something happen exactly there. */
UIPC_INTERNAL void uipc__kill_hook(void (*fn)(int point));
/* A point is reached (src/chan.c). */
UIPC_INTERNAL void uipc__kill_point(enum uipc__kp n);
#define KP(n) uipc__kill_point(UIPC_KP_##n)
#else
#define KP(n) ((void)0)
#endif

/*
 * Fork points (tests/harness-fork.c): the steps of object creation,
 * capability creation, producer attach and detach, and *_free() where a
 * fork() from another thread may land are numbered. Only the test library
 * built with -DUIPC_FORK_POINTS (libuipc_forkpt, tests only) has them;
 * elsewhere they compile to nothing. There, each point calls the hook the
 * harness installed (if any) with whether this thread holds
 * uipc__fork_hold(), and uipc__fork_release() calls it with
 * UIPC_FP_RELEASED; fork preparation calls it with UIPC_FP_PREPARE first.
 */
enum uipc__fp {
	UIPC_FP_RX_NEW,           /* rx_new: set up, not yet registered */
	UIPC_FP_RX_CAP_MADE,      /* rx capability: made, not yet recorded (held) */
	UIPC_FP_RX_CAP_DONE,      /* ... recorded, not yet returned */
	UIPC_FP_RX_FREE_CLOSED,   /* rx_free: CLOSED stored, ends still open */
	UIPC_FP_RX_FREE_UNREG,    /* ... unregistered, ends not yet closed (held) */
	UIPC_FP_RX_FREE_DONE,     /* ... ends closed */
	UIPC_FP_CHAN_NEW,         /* chan_new: set up, not yet registered */
	UIPC_FP_CHAN_CAP_MADE,    /* producer capability: made, not recorded (held) */
	UIPC_FP_CHAN_CAP_DONE,    /* ... recorded, not yet returned */
	UIPC_FP_TX_NEW_CAP,       /* chan_tx_new: its capability made, not yet opened */
	UIPC_FP_CAP_SEND,         /* chan_cap_send: made, not yet sent */
	UIPC_FP_FD_RECV,          /* cap_recv: received, not yet returned (held) */
	UIPC_FP_ATTACH_RECVD,     /* chan_attach: received, not yet opened */
	UIPC_FP_TX_DUP,           /* attach: the capability duplicated (held) */
	UIPC_FP_TX_LOCKED,        /* attach: the role's lock taken (held) */
	UIPC_FP_TX_ATTACHED,      /* attach: registered */
	UIPC_FP_TX_DETACH,        /* tx_free: before the lock goes */
	UIPC_FP_TX_DETACH_UNREG,  /* ... unregistered, lock not yet closed (held) */
	UIPC_FP_TX_DETACHED,      /* ... lock closed */
	UIPC_FP_CHAN_FREE_CLOSED, /* chan_free: the closed flag stored */
	UIPC_FP_CHAN_FREE_UNREG,  /* ... unregistered, ends not yet closed (held) */
	UIPC_FP_CHAN_FREED,       /* ... ends closed */
	UIPC_FP_COUNT,
	UIPC_FP_RELEASED = UIPC_FP_COUNT, /* uipc__fork_release(): just released */
	UIPC_FP_PREPARE,                  /* fork preparation: before it takes the hold */
};
#ifdef UIPC_FORK_POINTS
/* The harness's hook: point, and whether this thread holds the hold. */
extern UIPC_INTERNAL void (*uipc__fork_point_fn)(int point, bool held);
UIPC_INTERNAL void uipc__fork_point(int point);
#define FP(n) uipc__fork_point(UIPC_FP_##n)
#else
#define FP(n) ((void)0)
#endif

#endif
