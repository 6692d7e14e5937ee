/* SPDX-License-Identifier: MIT */
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "uipc-private.h"
#include "hooks.h"

struct uipc__faults uipc__faults = {.alloc = -1, .fd = -1};

/* Counts down while armed (>= 0); fires once when it reaches zero. */
bool uipc__fault(_Atomic int *counter)
{
	int v = atomic_load_explicit(counter, memory_order_relaxed);

	while (v >= 0) {
		if (atomic_compare_exchange_weak(counter, &v, v - 1))
			return v == 0;
	}
	return false;
}

void *uipc__calloc(size_t n, size_t size)
{
	if (uipc__fault(&uipc__faults.alloc))
		return NULL;
	return calloc(n, size);
}

int uipc__gettid(void)
{
	return (int)syscall(SYS_gettid);
}

void uipc__close(int fd)
{
	int saved = errno;

	if (fd >= 0)
		close(fd);
	errno = saved;
}
