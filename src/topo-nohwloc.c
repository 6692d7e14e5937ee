/* SPDX-License-Identifier: MIT */
/*
 * CPU topology without hwloc: discovery falls back to sysfs (topo.c), and
 * XML or synthetic topologies are not supported.
 */
#include "topo-private.h"

int uipc__topo_load_hwloc(enum uipc_topo_source source, const char *arg, uipc_topo **ret)
{
	(void)source;
	(void)arg;
	(void)ret;
	return -EOPNOTSUPP;
}
