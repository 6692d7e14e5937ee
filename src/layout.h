/* SPDX-License-Identifier: MIT */
/*
 * What peers see: the layouts of shared memory and of capability messages,
 * their versions and magic numbers. Another process (another uipc release,
 * or a hostile one) reads and writes these bytes, so a change here is an
 * ABI change: bump the version it comes under (tests/test-abi.c checks the
 * refusals). Only layouts and constants: how the descriptor is moved is
 * src/desc.h; the channel ring's layout is src/chan-ring.h.
 */
#ifndef UIPC_LAYOUT_H
#define UIPC_LAYOUT_H

#include <stdatomic.h>
#include <stdint.h>

#include "uipc.h"

#define UIPC_CACHELINE 64

/* The shared descriptor (mirrors the UINTR posted-interrupt descriptor) --- */

/* Status word bits. Senders only ever set ON, and only with a CAS from a
 * value that has SN, ON and CLOSED clear; every other bit is the receiver's
 * (how they move: src/desc.h). */
#define UIPC_DESC_ON     (1u << 0) /* a kick is outstanding */
#define UIPC_DESC_SN     (1u << 1) /* suppress: the receiver is awake */
#define UIPC_DESC_CLOSED (1u << 2) /* the receiver was freed */
#define UIPC_DESC_MOVED  (1u << 3) /* futex: the word turned shared (until the next arm) */

#define UIPC_DESC_MAGIC  0x43504975u /* "uIPC" */
#define UIPC_DESC_ABI    1u

/*
 * Lives at offset 0 of the receiver's memfd (one page, sealed against
 * shrinking and growing). Cache line 0 is the only one senders write: the
 * status word (also the futex word) and the pending bits, as in the UPID.
 * Line 1 is written once by the receiver before any capability exists and
 * only read (and validated) by senders. Everything here may be written by a
 * hostile peer: readers validate, and no value leads to UB or an endless loop.
 */
struct uipc__desc {
	_Alignas(UIPC_CACHELINE) _Atomic uint32_t status; /* ON | SN | CLOSED | MOVED */
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

/* Capability messages ------------------------------------------------------ */

/*
 * A capability's one message (src/cap.c): this header, then the payload of
 * its kind, with up to UIPC_CAP_MAX_FDS fds (SCM_RIGHTS).
 */
#define UIPC_CAP_MAGIC 0x70615355u /* "USap" */

enum uipc__cap_kind {
	UIPC_CAP_KIND_VECTOR = 1, /* payload: struct uipc__cap_vector; fds: memfd [, backend fd] */
	UIPC_CAP_KIND_CHAN = 2,   /* channels (src/chan-ring.h: struct chan_cap) */
};

#define UIPC_CAP_MAX_FDS     4 /* <= UIPC_FDS_MAX */
#define UIPC_CAP_MAX_PAYLOAD 256

struct uipc__cap_vector {
	uint32_t vector;
	uint32_t backend;
};

struct uipc__cap_hdr {
	uint32_t magic; /* UIPC_CAP_MAGIC */
	uint32_t kind;  /* enum uipc__cap_kind */
	uint32_t len;   /* payload bytes */
	uint32_t nfds;
	unsigned char payload[UIPC_CAP_MAX_PAYLOAD];
};

#endif
