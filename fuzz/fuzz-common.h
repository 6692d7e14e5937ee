/* SPDX-License-Identifier: MIT */
/* Helpers shared by the fuzz targets: the input read as a stream of fields. */
#ifndef UIPC_FUZZ_COMMON_H
#define UIPC_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <fcntl.h>

#include "backend.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fz {
	const uint8_t *p;
	size_t n;
};

/* Reading past the end yields zeros: every input is a complete program. */
static inline void fz_bytes(struct fz *in, void *dst, size_t len)
{
	size_t k = len < in->n ? len : in->n;

	memcpy(dst, in->p, k);
	memset((uint8_t *)dst + k, 0, len - k);
	in->p += k;
	in->n -= k;
}

static inline uint8_t fz_u8(struct fz *in)
{
	uint8_t v;

	fz_bytes(in, &v, sizeof(v));
	return v;
}

static inline uint32_t fz_u32(struct fz *in)
{
	uint32_t v;

	fz_bytes(in, &v, sizeof(v));
	return v;
}

static inline uint64_t fz_u64(struct fz *in)
{
	uint64_t v;

	fz_bytes(in, &v, sizeof(v));
	return v;
}

/* A result outside the documented set is a bug: stop here, loudly, so the
 * fuzzer keeps the input and the replay test fails. */
#define FZ_EXPECT(cond, r)                                                                         \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: unexpected result %d (%s)\n", __FILE__, __LINE__,  \
			        (int)(r), #cond);                                                  \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

/* A descriptor page as a well-behaved receiver of this process would write
 * it, for the given backend. */
static inline void fz_desc_template(struct uipc__desc *d, uint32_t backend)
{
	memset(d, 0, sizeof(*d));
	atomic_init(&d->status, UIPC_DESC_SN);
	d->magic = UIPC_DESC_MAGIC;
	d->abi = UIPC_DESC_ABI;
	d->backend = backend;
	d->pid = (int32_t)getpid();
	d->tid = (int32_t)uipc__gettid();
	d->ndst = (uint32_t)d->tid;
}

/* A memfd of size bytes starting with len bytes of content, with seals.
 * Returns the fd or -1. */
static inline int fz_memfd(const void *content, size_t len, size_t size, int seals)
{
	int fd = memfd_create("uipc-fuzz", MFD_CLOEXEC | MFD_ALLOW_SEALING);

	if (fd < 0)
		return -1;
	if (ftruncate(fd, (off_t)size) < 0 ||
	    (len && pwrite(fd, content, len < size ? len : size, 0) < 0) ||
	    (seals && fcntl(fd, F_ADD_SEALS, seals) < 0)) {
		close(fd);
		return -1;
	}
	return fd;
}

#define FZ_SEALS (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL)

/* Backends a fuzzed capability may name. The signal and uintr backends
 * signal the thread the descriptor names, in the process that created the
 * capability: here that is the fuzzer itself, which would be killed by a
 * real-time signal number taken from the input. They are left out; an
 * unbuilt or unknown id still is exercised (-EOPNOTSUPP). */
static inline uint32_t fz_backend(uint8_t v)
{
	switch (v % 5) {
	case 0:
		return UIPC_BACKEND_FUTEX;
	case 1:
		return UIPC_BACKEND_EVENTFD;
	case 2:
		return UIPC_BACKEND_AUTO;
	case 3:
		return UIPC__BACKEND_COUNT + v;
	default:
		return 0xffffffffu - v;
	}
}

#endif
