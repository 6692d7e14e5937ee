/* SPDX-License-Identifier: MIT */
/*
 * Regression: uipc_ctx_new() printed to the application's stderr when
 * UIPC_BACKEND named an unknown or unusable backend. A library reports
 * through return values and, when asked, a log function (uipc_set_log()),
 * or stderr only when the user set UIPC_DEBUG.
 * Returns 0 pass, 1 fail.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <uipc.h>

static char logged[512];
static int calls, last_level;

static void log_fn(int level, const char *msg, void *userdata)
{
	calls++;
	last_level = level;
	snprintf(logged, sizeof(logged), "%s|%s", (const char *)userdata, msg);
}

/* Bytes the library wrote to fd 2 while creating a context. */
static long stderr_bytes_of_ctx_new(int expect)
{
	FILE *tmp = tmpfile();
	int saved = dup(2);
	uipc_ctx *ctx = NULL;
	long n;
	int r;

	if (!tmp || saved < 0)
		return -1;
	dup2(fileno(tmp), 2);
	r = uipc_ctx_new(NULL, &ctx);
	dup2(saved, 2);
	close(saved);
	uipc_ctx_free(ctx);
	if (r != expect) {
		fprintf(stderr, "uipc_ctx_new: %d, expected %d\n", r, expect);
		return -1;
	}
	n = lseek(fileno(tmp), 0, SEEK_END);
	fclose(tmp);
	return n;
}

int main(void)
{
	unsetenv("UIPC_DEBUG");
	setenv("UIPC_BACKEND", "no-such-backend", 1);
	if (stderr_bytes_of_ctx_new(-EINVAL) != 0) {
		fprintf(stderr, "the library wrote to stderr on its own\n");
		return 1;
	}
	uipc_set_log(log_fn, "app");
	if (stderr_bytes_of_ctx_new(-EINVAL) != 0 || calls != 1 ||
	    !strstr(logged, "app|UIPC_BACKEND=no-such-backend") || last_level != UIPC_LOG_WARNING) {
		fprintf(stderr, "log function: %d calls, \"%s\"\n", calls, logged);
		return 1;
	}
	uipc_set_log(NULL, NULL);
	setenv("UIPC_DEBUG", "1", 1);
	if (stderr_bytes_of_ctx_new(-EINVAL) <= 0) {
		fprintf(stderr, "UIPC_DEBUG set, no message on stderr\n");
		return 1;
	}
	if (calls != 1) {
		fprintf(stderr, "a removed log function was called\n");
		return 1;
	}
	return 0;
}
