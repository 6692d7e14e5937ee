/* SPDX-License-Identifier: MIT */
#include <stdlib.h>
#include <string.h>

#include "backend.h"

static enum uipc_backend auto_choice(void)
{
	/* UINTR when the CPU and the kernel have it; otherwise futex: the
	 * cheapest way to block and be woken with a shared-memory descriptor. */
	if (uipc_backend_probe(UIPC_BACKEND_UINTR, NULL, 0) == 0)
		return UIPC_BACKEND_UINTR;
	if (uipc__backend_get(UIPC_BACKEND_FUTEX))
		return UIPC_BACKEND_FUTEX;
	return UIPC_BACKEND_EVENTFD;
}

static int resolve(const char *name, bool from_env, enum uipc_backend *ret_id)
{
	enum uipc_backend id;
	char why[160];
	int r;

	if (uipc__backend_lookup(name, &id) < 0) {
		if (from_env)
			uipc__log(UIPC_LOG_WARNING, "UIPC_BACKEND=%s: unknown backend", name);
		return -EINVAL;
	}
	if (id == UIPC_BACKEND_AUTO) {
		*ret_id = auto_choice();
		return 0;
	}
	r = uipc_backend_probe(id, why, sizeof(why));
	if (r < 0) {
		/* The user asked for this backend by name: say why it cannot be
		 * (to the application's log function, or with UIPC_DEBUG). */
		uipc__log(from_env ? UIPC_LOG_WARNING : UIPC_LOG_INFO, "backend %s unavailable: %s",
		          name, why);
		return r;
	}
	*ret_id = id;
	return 0;
}

UIPC_API int uipc_ctx_new(const char *backend, uipc_ctx **ret_ctx)
{
	const char *env = NULL;
	enum uipc_backend id;
	uipc_ctx *ctx;
	int r;

	uipc_return_if(!ret_ctx, -EINVAL);
	if (!backend || strcmp(backend, "auto") == 0) {
		/* Not in a setuid or otherwise secure-execution program. */
		env = secure_getenv("UIPC_BACKEND");
		if (env && *env)
			backend = env;
		else
			env = NULL;
	}
	r = resolve(backend ? backend : "auto", env != NULL, &id);
	if (r < 0)
		return r;
	ctx = uipc__calloc(1, sizeof(*ctx));
	if (!ctx)
		return -ENOMEM;
	atomic_init(&ctx->refs, 1);
	ctx->backend = id;
	/* Chosen by the caller's argument. The environment only steers auto:
	 * a program that asks for a pollable receiver still gets one when
	 * UIPC_BACKEND names a backend without (src/rx.c). */
	ctx->forced = backend && strcmp(backend, "auto") != 0 && !env;
	ctx->ops = uipc__backend_get(id);
	*ret_ctx = ctx;
	return 0;
}

uipc_ctx *uipc__ctx_ref(uipc_ctx *ctx)
{
	atomic_fetch_add_explicit(&ctx->refs, 1, memory_order_relaxed);
	return ctx;
}

UIPC_API void uipc_ctx_free(uipc_ctx *ctx)
{
	if (!ctx)
		return;
	if (atomic_fetch_sub_explicit(&ctx->refs, 1, memory_order_acq_rel) == 1)
		free(ctx);
}

UIPC_API const char *uipc_ctx_backend_name(const uipc_ctx *ctx)
{
	if (!ctx)
		return NULL;
	return uipc_backend_name(ctx->backend);
}
