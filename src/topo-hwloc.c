/* SPDX-License-Identifier: MIT */
/*
 * CPU topology from hwloc: discovery of this machine, an XML file, or a
 * synthetic description, reduced to the table of topo-private.h. Built when hwloc
 * is (meson picks topo-nohwloc.c otherwise).
 */
#include <hwloc.h>
#include <stdlib.h>

#include "topo-private.h"

static void hwloc_fill_cpu(hwloc_obj_t pu, hwloc_const_cpuset_t allowed, struct topo_cpu *c)
{
	c->id = (int)pu->os_index;
	c->allowed = hwloc_bitmap_isset(allowed, pu->os_index);
	/* The first (lowest) node of the PU's locality is its DRAM node;
	 * memory-only nodes (HBM, CXL) come after it. */
	c->node = hwloc_bitmap_first(pu->nodeset);
	if (c->node < 0)
		c->node = 0;
	for (hwloc_obj_t p = pu->parent; p; p = p->parent) {
		int *key = NULL;

		if (p->type == HWLOC_OBJ_CORE)
			key = &c->core;
		else if (p->type == HWLOC_OBJ_L2CACHE)
			key = &c->l2;
		else if (p->type == HWLOC_OBJ_L3CACHE)
			key = &c->l3;
		else if (p->type == HWLOC_OBJ_PACKAGE)
			key = &c->pkg;
		if (key && *key < 0)
			*key = (int)p->logical_index;
	}
}

static void hwloc_fill_dist(hwloc_topology_t h, uipc_topo *t)
{
	struct hwloc_distances_s *d = NULL;
	unsigned nr = 1;

	if (hwloc_distances_get_by_type(h, HWLOC_OBJ_NUMANODE, &nr, &d,
	                                HWLOC_DISTANCES_KIND_MEANS_LATENCY, 0) < 0 ||
	    nr < 1)
		return;
	for (unsigned i = 0; i < d->nbobjs; i++)
		for (unsigned j = 0; j < d->nbobjs; j++)
			uipc__topo_set_dist(t, (int)d->objs[i]->os_index, (int)d->objs[j]->os_index,
			                    (int)d->values[(size_t)i * d->nbobjs + j]);
	hwloc_distances_release(h, d);
}

static int topo_from_hwloc(hwloc_topology_t h, enum uipc_topo_source source, uipc_topo **ret)
{
	int npu = hwloc_get_nbobjs_by_type(h, HWLOC_OBJ_PU);
	bool here = source == UIPC_TOPO_SOURCE_HWLOC;
	uipc_topo *t;
	int r;

	if (npu <= 0 || npu > TOPO_MAX_CPUS)
		return -EINVAL;
	t = uipc__topo_alloc((size_t)npu, source);
	if (!t)
		return -ENOMEM;
	for (int i = 0; i < npu; i++)
		hwloc_fill_cpu(hwloc_get_obj_by_type(h, HWLOC_OBJ_PU, (unsigned)i),
		               hwloc_topology_get_allowed_cpuset(h), &t->cpu[i]);

	/* hwloc always knows the nodes (one when the machine is not NUMA);
	 * it knows the caches when it reported any at all. */
	t->flags = UIPC_TOPO_KNOWS_NUMA | (here ? UIPC_TOPO_THIS_MACHINE : 0);
	if (hwloc_get_nbobjs_by_type(h, HWLOC_OBJ_CORE) > 0)
		t->flags |= UIPC_TOPO_KNOWS_CORES;
	if (hwloc_get_nbobjs_by_type(h, HWLOC_OBJ_L1CACHE) > 0 ||
	    hwloc_get_nbobjs_by_type(h, HWLOC_OBJ_L2CACHE) > 0 ||
	    hwloc_get_nbobjs_by_type(h, HWLOC_OBJ_L3CACHE) > 0)
		t->flags |= UIPC_TOPO_KNOWS_L2 | UIPC_TOPO_KNOWS_L3;

	r = uipc__topo_finish(t, here);
	if (r < 0) {
		uipc_topo_free(t);
		return r;
	}
	hwloc_fill_dist(h, t);
	uipc__topo_check_dist(t);
	*ret = t;
	return 0;
}

/* Load with disallowed CPUs included, so that distances to them can be
 * asked, while ranking skips them. */
int uipc__topo_load_hwloc(enum uipc_topo_source source, const char *arg, uipc_topo **ret)
{
	hwloc_topology_t h;
	int r = -EINVAL;

	if (hwloc_topology_init(&h) < 0)
		return -ENOMEM;
	if (hwloc_topology_set_flags(h, HWLOC_TOPOLOGY_FLAG_INCLUDE_DISALLOWED) < 0)
		goto out;
	if (source == UIPC_TOPO_SOURCE_XML && hwloc_topology_set_xml(h, arg) < 0)
		goto out;
	if (source == UIPC_TOPO_SOURCE_SYNTHETIC && hwloc_topology_set_synthetic(h, arg) < 0)
		goto out;
	if (hwloc_topology_load(h) < 0)
		goto out;
	r = topo_from_hwloc(h, source, ret);
out:
	hwloc_topology_destroy(h);
	return r;
}
