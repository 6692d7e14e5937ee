/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <string.h>

#include "uipc-config.h"
#include "backend.h"

/* The one place that knows which backends were compiled (meson decides). */
#if UIPC_HAVE_BACKEND_FUTEX
extern const struct uipc__backend_ops uipc__backend_futex;
#endif
#if UIPC_HAVE_BACKEND_EVENTFD
extern const struct uipc__backend_ops uipc__backend_eventfd;
#endif
#if UIPC_HAVE_BACKEND_SIGNAL
extern const struct uipc__backend_ops uipc__backend_signal;
#endif
#if UIPC_HAVE_BACKEND_UINTR
extern const struct uipc__backend_ops uipc__backend_uintr;
#endif
#if UIPC_HAVE_BACKEND_UINTR_SIM
extern const struct uipc__backend_ops uipc__backend_uintr_sim;
#endif

static const struct uipc__backend_ops *const backends[UIPC__BACKEND_COUNT] = {
#if UIPC_HAVE_BACKEND_FUTEX
    [UIPC_BACKEND_FUTEX] = &uipc__backend_futex,
#endif
#if UIPC_HAVE_BACKEND_EVENTFD
    [UIPC_BACKEND_EVENTFD] = &uipc__backend_eventfd,
#endif
#if UIPC_HAVE_BACKEND_SIGNAL
    [UIPC_BACKEND_SIGNAL] = &uipc__backend_signal,
#endif
#if UIPC_HAVE_BACKEND_UINTR
    [UIPC_BACKEND_UINTR] = &uipc__backend_uintr,
#endif
#if UIPC_HAVE_BACKEND_UINTR_SIM
    [UIPC_BACKEND_UINTR_SIM] = &uipc__backend_uintr_sim,
#endif
};

/* Names exist for every id, built or not, so errors can name what is missing. */
static const char *const names[UIPC__BACKEND_COUNT] = {
    [UIPC_BACKEND_AUTO] = "auto",           [UIPC_BACKEND_FUTEX] = "futex",
    [UIPC_BACKEND_EVENTFD] = "eventfd",     [UIPC_BACKEND_SIGNAL] = "signal",
    [UIPC_BACKEND_UINTR] = "uintr",
#if UIPC_HAVE_BACKEND_UINTR_SIM
    [UIPC_BACKEND_UINTR_SIM] = "uintr-sim",
#endif
};

const struct uipc__backend_ops *uipc__backend_get(enum uipc_backend id)
{
	if ((unsigned)id >= UIPC__BACKEND_COUNT)
		return NULL;
	return backends[id];
}

int uipc__backend_lookup(const char *name, enum uipc_backend *ret_id)
{
	for (unsigned i = 0; i < UIPC__BACKEND_COUNT; i++) {
		if (names[i] && strcmp(name, names[i]) == 0) {
			*ret_id = (enum uipc_backend)i;
			return 0;
		}
	}
	return -EINVAL;
}

UIPC_API const char *uipc_backend_name(enum uipc_backend backend)
{
	if ((unsigned)backend >= UIPC__BACKEND_COUNT)
		return NULL;
	return names[backend];
}

UIPC_API int uipc_backend_probe(enum uipc_backend backend, char *why, size_t len)
{
	const struct uipc__backend_ops *ops;
	char scratch[1];

	uipc_return_if((unsigned)backend >= UIPC__BACKEND_COUNT || !names[backend], -EINVAL);
	if (!why || !len) {
		why = scratch;
		len = sizeof(scratch);
	}
	why[0] = '\0';
	if (backend == UIPC_BACKEND_AUTO) {
		snprintf(why, len, "auto picks among the built backends");
		return 0;
	}
	ops = backends[backend];
	if (!ops) {
		snprintf(why, len, "%s backend not built into this library", names[backend]);
		return -EOPNOTSUPP;
	}
	if (!ops->probe) {
		snprintf(why, len, "available");
		return 0;
	}
	return ops->probe(why, len);
}
