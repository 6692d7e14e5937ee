/* SPDX-License-Identifier: MIT */
/*
 * Messages the library has for a human (why a backend named in
 * UIPC_BACKEND cannot run, ...). Errors are reported by return values; these
 * messages go only where the application asked: its log function
 * (uipc_set_log()), or standard error when the user set UIPC_DEBUG.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "uipc-private.h"

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static uipc_log_fn log_fn;
static void *log_data;

/* Held across fork(), so a child never inherits it held by a thread it does
 * not have (tests/regress/fork-locks.c). Registered as the library loads,
 * before any thread can take it. */
static void log_prepare(void)
{
	pthread_mutex_lock(&log_lock);
}

static void log_parent(void)
{
	pthread_mutex_unlock(&log_lock);
}

static void log_child(void)
{
	pthread_mutex_init(&log_lock, NULL);
}

__attribute__((constructor)) static void log_fork_hooks(void)
{
	/* Failing (out of memory at load), fork keeps the old hazard. */
	(void)pthread_atfork(log_prepare, log_parent, log_child);
}

UIPC_API void uipc_set_log(uipc_log_fn fn, void *userdata)
{
	pthread_mutex_lock(&log_lock);
	log_fn = fn;
	log_data = fn ? userdata : NULL;
	pthread_mutex_unlock(&log_lock);
}

void uipc__log(int level, const char *fmt, ...)
{
	uipc_log_fn fn;
	void *data;
	char msg[256];
	va_list ap;

	pthread_mutex_lock(&log_lock);
	fn = log_fn;
	data = log_data;
	pthread_mutex_unlock(&log_lock);
	if (!fn && !secure_getenv("UIPC_DEBUG"))
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (fn)
		fn(level, msg, data);
	else
		fprintf(stderr, "uipc: %s\n", msg);
}
