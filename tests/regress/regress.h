/* SPDX-License-Identifier: MIT */
/*
 * Regression programs, one per fixed defect (liburing's test/ style): each
 * main() returns 0 when the defect is absent, 1 when it is back, 77 when it
 * cannot be checked here. They reach into the library's internals only to
 * do what a hostile or unlucky peer does to shared memory.
 */
#ifndef UIPC_REGRESS_H
#define UIPC_REGRESS_H

#include <errno.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "backend.h"

#define T_PASS 0
#define T_FAIL 1
#define T_SKIP 77

#define t_check(cond)                                                                              \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, #cond);                 \
			return T_FAIL;                                                             \
		}                                                                                  \
	} while (0)

static inline uint64_t t_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline void t_sleep_ms(unsigned ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Is fd readable right now? */
static inline int t_readable(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};

	return poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

#endif
