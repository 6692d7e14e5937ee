/* SPDX-License-Identifier: MIT */
/*
 * Regression programs, one per fixed defect (liburing's test/ style): each
 * main() returns T_PASS (0) when the defect is absent, T_FAIL (1) when it
 * is back, T_SKIP (77) when it cannot be checked here. They reach into the
 * library's internals only to do what a hostile or unlucky peer does to
 * shared memory. The helpers (t_check, the clock, bounded children, the
 * ASan gate) are the test library's, tests/lib/t.h.
 */
#ifndef UIPC_REGRESS_H
#define UIPC_REGRESS_H

#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../lib/t.h"
#include "backend.h"

/* A handler that only counts its calls, in t_calls. */
static _Atomic int t_calls __attribute__((unused));

static inline void t_count_call(uipc_rx *rx, uint64_t mask, void *data)
{
	(void)rx;
	(void)mask;
	(void)data;
	atomic_fetch_add(&t_calls, 1);
}

/* A thread's body that frees the receiver it is given. */
static inline void *t_rx_free_thread(void *rx)
{
	uipc_rx_free(rx);
	return NULL;
}

#endif
