/* SPDX-License-Identifier: MIT */
/* Version of the running library (uipc/version.h). */
#include <stddef.h>

#include "uipc-private.h"

UIPC_API unsigned uipc_version(void)
{
	return UIPC_VERSION_NUMBER;
}

UIPC_API const char *uipc_version_string(void)
{
	return UIPC_VERSION_STRING;
}

UIPC_API int uipc_version_check(unsigned major, unsigned minor, unsigned micro)
{
	unsigned want = (major << 16) | (minor << 8) | micro;

	if (major != UIPC_VERSION_MAJOR || minor > 255 || micro > 255 || want > uipc_version())
		return -EPROTONOSUPPORT;
	return 0;
}

int uipc__struct_size_check(const void *s, size_t size, size_t known)
{
	const unsigned char *p = s;

	if (size == 0)
		return 0;
	if (size < known)
		return -EINVAL;
	for (size_t i = known; i < size; i++)
		if (p[i])
			return -E2BIG;
	return 0;
}
