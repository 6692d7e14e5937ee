/* SPDX-License-Identifier: MIT */
/* The CMocka layer of the test library (tests/lib/t.h): the backend under
 * test, fd counts, the usual fixture, a skip before CMocka starts. */
#ifndef UIPC_TEST_COMMON_H
#define UIPC_TEST_COMMON_H

#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "backend.h"
#include "lib/t.h"

/* The backend under test: UIPC_BACKEND (meson runs each suite once per
 * built backend), else whatever auto picks. */
static inline const char *test_backend(void)
{
	const char *b = getenv("UIPC_BACKEND");
	return b && *b ? b : "auto";
}

/* Open file descriptors of this process, to prove failures leak none. */
static inline int test_count_fds(void)
{
	struct dirent *e;
	int n = 0;
	DIR *d;

	/* The library's one process-wide fd (src/watch.c) exists from here on. */
	(void)uipc__watch_ready();
	d = opendir("/proc/self/fd");

	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1; /* the DIR's own fd */
}

/* The usual fixture: a context (NULL: the backend under test) and one
 * receiver, created in setup and freed in teardown. */
struct test_fx {
	uipc_ctx *ctx;
	uipc_rx *rx;
};

static inline struct test_fx *test_fx_new(const char *backend)
{
	struct test_fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_int_equal(uipc_ctx_new(backend, &f->ctx), 0);
	assert_int_equal(uipc_rx_new(f->ctx, 0, &f->rx), 0);
	return f;
}

static inline void test_fx_free(struct test_fx *f)
{
	uipc_rx_free(f->rx);
	uipc_ctx_free(f->ctx);
	free(f);
}

/* Make the suite skip (77) with a reason, before CMocka starts. */
#define TEST_SKIP_IF(cond, ...)                                                                    \
	do {                                                                                       \
		if (cond) {                                                                        \
			printf("SKIP: " __VA_ARGS__);                                              \
			printf("\n");                                                              \
			return T_SKIP;                                                             \
		}                                                                                  \
	} while (0)

#endif
