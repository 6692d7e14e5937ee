/* SPDX-License-Identifier: MIT */
/*
 * CHECK(cond) for the test programs that run without CMocka (linked as an
 * application is, or against internals): a failed check is printed and
 * remembered in `failed`, and the program goes on to the next one.
 */
#ifndef UIPC_SOFT_CHECK_H
#define UIPC_SOFT_CHECK_H

#include <stdio.h>

static int failed;

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);   \
			failed = 1;                                                                \
		}                                                                                  \
	} while (0)

#endif
