/* SPDX-License-Identifier: MIT */
/*
 * CPU topology: the table every source is reduced to (topo-private.h), the
 * process's allowed CPUs, creation (which source answers) and queries.
 */
#include <limits.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "uipc-config.h"
#include "topo-private.h"

/* ------------------------------------------------------------------------ */
/* The table                                                                */

uipc_topo *uipc__topo_alloc(size_t ncpus, enum uipc_topo_source source)
{
	uipc_topo *t = uipc__calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->cpu = uipc__calloc(ncpus, sizeof(*t->cpu));
	if (!t->cpu) {
		free(t);
		return NULL;
	}
	t->source = source;
	t->ncpus = ncpus;
	for (size_t i = 0; i < ncpus; i++) {
		struct topo_cpu *c = &t->cpu[i];
		c->id = c->core = c->l2 = c->l3 = c->pkg = -1;
		c->node = 0;
	}
	return t;
}

void uipc_topo_free(uipc_topo *topo)
{
	if (!topo)
		return;
	free(topo->cpu);
	free(topo->node);
	free(topo->dist);
	free(topo);
}

int uipc__topo_cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;
	return (x > y) - (x < y);
}

int uipc__topo_cmp_cpu(const void *a, const void *b)
{
	return uipc__topo_cmp_int(&((const struct topo_cpu *)a)->id,
	                          &((const struct topo_cpu *)b)->id);
}

const struct topo_cpu *uipc__topo_cpu(const uipc_topo *t, int id)
{
	struct topo_cpu key = {.id = id};
	return bsearch(&key, t->cpu, t->ncpus, sizeof(key), uipc__topo_cmp_cpu);
}

int uipc__topo_node_index(const uipc_topo *t, int node)
{
	const int *p = bsearch(&node, t->node, t->nnodes, sizeof(int), uipc__topo_cmp_int);
	return p ? (int)(p - t->node) : -1;
}

/* Sort the CPUs, reject duplicates, list the nodes and make room for their
 * distances (all unknown, -1, until the source fills them in). */
static int topo_layout(uipc_topo *t)
{
	qsort(t->cpu, t->ncpus, sizeof(*t->cpu), uipc__topo_cmp_cpu);
	for (size_t i = 0; i < t->ncpus; i++)
		if (t->cpu[i].id < 0 || t->cpu[i].id >= TOPO_MAX_CPUS ||
		    (i > 0 && t->cpu[i].id == t->cpu[i - 1].id))
			return -EINVAL;

	t->node = uipc__calloc(t->ncpus, sizeof(int));
	if (!t->node)
		return -ENOMEM;
	for (size_t i = 0; i < t->ncpus; i++)
		t->node[i] = t->cpu[i].node;
	qsort(t->node, t->ncpus, sizeof(int), uipc__topo_cmp_int);
	t->nnodes = 0;
	for (size_t i = 0; i < t->ncpus; i++)
		if (t->nnodes == 0 || t->node[t->nnodes - 1] != t->node[i])
			t->node[t->nnodes++] = t->node[i];

	t->dist = uipc__calloc(t->nnodes * t->nnodes, sizeof(int));
	if (!t->dist)
		return -ENOMEM;
	for (size_t i = 0; i < t->nnodes * t->nnodes; i++)
		t->dist[i] = -1;
	/* One node is at the local distance from itself by definition. */
	if (t->nnodes == 1)
		t->dist[0] = NODE_LOCAL;
	return 0;
}

void uipc__topo_set_dist(uipc_topo *t, int a, int b, int value)
{
	int i = uipc__topo_node_index(t, a), j = uipc__topo_node_index(t, b);

	if (i >= 0 && j >= 0 && value > 0)
		t->dist[(size_t)i * t->nnodes + (size_t)j] = value;
}

/* Distances are known only when the source gave all of them. */
void uipc__topo_check_dist(uipc_topo *t)
{
	for (size_t i = 0; i < t->nnodes * t->nnodes; i++) {
		if (t->dist[i] < 0) {
			free(t->dist);
			t->dist = NULL;
			t->flags &= ~(unsigned)UIPC_TOPO_KNOWS_DISTANCES;
			return;
		}
	}
	t->flags |= UIPC_TOPO_KNOWS_DISTANCES;
}

enum uipc_topo_dist uipc__topo_cpu_dist(const struct topo_cpu *a, const struct topo_cpu *b)
{
	if (a == b)
		return UIPC_TOPO_DIST_SELF;
	if (a->core >= 0 && a->core == b->core)
		return UIPC_TOPO_DIST_SMT;
	if (a->l2 >= 0 && a->l2 == b->l2)
		return UIPC_TOPO_DIST_L2;
	if (a->l3 >= 0 && a->l3 == b->l3)
		return UIPC_TOPO_DIST_L3;
	if (a->node == b->node)
		return UIPC_TOPO_DIST_NODE;
	return UIPC_TOPO_DIST_REMOTE;
}

int uipc__topo_node_dist(const uipc_topo *t, int a, int b)
{
	int i = uipc__topo_node_index(t, a), j = uipc__topo_node_index(t, b);

	if (!t->dist || i < 0 || j < 0)
		return -ENODATA;
	return t->dist[(size_t)i * t->nnodes + (size_t)j];
}

/* ------------------------------------------------------------------------ */
/* The process's allowed CPUs                                               */

/* Limit t's allowed CPUs to the calling thread's affinity (which the kernel
 * keeps inside the cgroup cpuset). */
static int topo_apply_affinity(uipc_topo *t)
{
	size_t size = CPU_ALLOC_SIZE(TOPO_MAX_CPUS);
	cpu_set_t *set = CPU_ALLOC(TOPO_MAX_CPUS);
	int r = 0;

	if (!set)
		return -ENOMEM;
	if (sched_getaffinity(0, size, set) < 0)
		r = -errno;
	for (size_t i = 0; r == 0 && i < t->ncpus; i++)
		if (!CPU_ISSET_S((size_t)t->cpu[i].id, size, set))
			t->cpu[i].allowed = false;
	CPU_FREE(set);
	return r;
}

int uipc__topo_finish(uipc_topo *t, bool here)
{
	int r = topo_layout(t);

	return r == 0 && here ? topo_apply_affinity(t) : r;
}

/* ------------------------------------------------------------------------ */
/* Creation                                                                 */

int uipc_topo_new(uipc_topo **ret_topo)
{
	const char *xml = secure_getenv("UIPC_TOPOLOGY_XML");

	uipc_return_if(!ret_topo, -EINVAL);
	if (xml && *xml)
		return uipc_topo_new_from_xml(xml, ret_topo);
	if (UIPC_HAVE_HWLOC) {
		int r = uipc__topo_load_hwloc(UIPC_TOPO_SOURCE_HWLOC, NULL, ret_topo);

		/* hwloc can fail where sysfs still answers (odd containers). */
		if (r != -EINVAL)
			return r;
	}
	return uipc__topo_new_sysfs(NULL, ret_topo);
}

int uipc_topo_new_from_xml(const char *path, uipc_topo **ret_topo)
{
	uipc_return_if(!path || !ret_topo, -EINVAL);
	if (!UIPC_HAVE_HWLOC)
		return -EOPNOTSUPP;
	if (access(path, R_OK) < 0)
		return -errno;
	return uipc__topo_load_hwloc(UIPC_TOPO_SOURCE_XML, path, ret_topo);
}

int uipc_topo_new_synthetic(const char *desc, uipc_topo **ret_topo)
{
	uipc_return_if(!desc || !ret_topo, -EINVAL);
	return uipc__topo_load_hwloc(UIPC_TOPO_SOURCE_SYNTHETIC, desc, ret_topo);
}

const char *uipc_topo_source_name(enum uipc_topo_source source)
{
	switch (source) {
	case UIPC_TOPO_SOURCE_HWLOC:
		return "hwloc";
	case UIPC_TOPO_SOURCE_SYSFS:
		return "sysfs";
	case UIPC_TOPO_SOURCE_XML:
		return "xml";
	case UIPC_TOPO_SOURCE_SYNTHETIC:
		return "synthetic";
	}
	return NULL;
}

/* ------------------------------------------------------------------------ */
/* Queries                                                                  */

/* Distinct non-negative values of one key (counts cores, caches, packages). */
static unsigned count_keys(const uipc_topo *t, size_t offset)
{
	unsigned n = 0;

	for (size_t i = 0; i < t->ncpus; i++) {
		int k = *(const int *)((const char *)&t->cpu[i] + offset);
		bool seen = k < 0;

		for (size_t j = 0; j < i && !seen; j++)
			seen = *(const int *)((const char *)&t->cpu[j] + offset) == k;
		n += !seen;
	}
	return n;
}

int uipc_topo_get_info(const uipc_topo *topo, struct uipc_topo_info *ret_info)
{
	struct uipc_topo_info info = {.size = sizeof(info)};
	size_t size;

	uipc_return_if(!topo || !ret_info, -EINVAL);
	/* 0: the 0.2 layout, this one; a later one is larger (its fields
	 * this library does not know are zeroed). */
	size = ret_info->size ? ret_info->size : sizeof(info);
	uipc_return_if(size < sizeof(info), -EINVAL);
	info.source = topo->source;
	info.flags = topo->flags;
	info.cpus = (unsigned)topo->ncpus;
	for (size_t i = 0; i < topo->ncpus; i++)
		info.allowed += topo->cpu[i].allowed;
	info.cores = topo->flags & UIPC_TOPO_KNOWS_CORES
	                 ? count_keys(topo, offsetof(struct topo_cpu, core))
	                 : info.cpus;
	info.l2 = count_keys(topo, offsetof(struct topo_cpu, l2));
	info.l3 = count_keys(topo, offsetof(struct topo_cpu, l3));
	info.packages = count_keys(topo, offsetof(struct topo_cpu, pkg));
	info.nodes = (unsigned)topo->nnodes;
	memset((char *)ret_info + sizeof(info), 0, size - sizeof(info));
	*ret_info = info;
	return 0;
}

int uipc_topo_distance(const uipc_topo *topo, int cpu_a, int cpu_b)
{
	const struct topo_cpu *a, *b;

	uipc_return_if(!topo, -EINVAL);
	a = uipc__topo_cpu(topo, cpu_a);
	b = uipc__topo_cpu(topo, cpu_b);
	if (!a || !b)
		return -EINVAL;
	return (int)uipc__topo_cpu_dist(a, b);
}

const char *uipc_topo_dist_name(enum uipc_topo_dist dist)
{
	static const char *const names[] = {"self", "smt", "l2", "l3", "node", "remote"};

	if ((unsigned)dist >= sizeof(names) / sizeof(names[0]))
		return NULL;
	return names[dist];
}

int uipc_topo_cpu_node(const uipc_topo *topo, int cpu)
{
	const struct topo_cpu *c;

	uipc_return_if(!topo, -EINVAL);
	c = uipc__topo_cpu(topo, cpu);
	return c ? c->node : -EINVAL;
}

int uipc_topo_node_distance(const uipc_topo *topo, int node_a, int node_b)
{
	uipc_return_if(!topo, -EINVAL);
	uipc_return_if(uipc__topo_node_index(topo, node_a) < 0 ||
	                   uipc__topo_node_index(topo, node_b) < 0,
	               -EINVAL);
	return uipc__topo_node_dist(topo, node_a, node_b);
}

int uipc_topo_restrict(uipc_topo *topo, const int *cpus, size_t n)
{
	int allowed = 0;

	uipc_return_if(!topo || (!cpus && n > 0), -EINVAL);
	for (size_t i = 0; i < n; i++)
		if (!uipc__topo_cpu(topo, cpus[i]))
			return -EINVAL;
	for (size_t i = 0; i < topo->ncpus; i++) {
		struct topo_cpu *c = &topo->cpu[i];
		bool listed = false;

		for (size_t j = 0; j < n && !listed; j++)
			listed = cpus[j] == c->id;
		c->allowed = c->allowed && listed;
		allowed += c->allowed;
	}
	return allowed;
}

int uipc_topo_allowed_cpus(const uipc_topo *topo, int *ret_cpus, size_t n)
{
	size_t k = 0;

	uipc_return_if(!topo || (!ret_cpus && n > 0), -EINVAL);
	for (size_t i = 0; i < topo->ncpus; i++) {
		if (!topo->cpu[i].allowed)
			continue;
		if (k < n)
			ret_cpus[k] = topo->cpu[i].id;
		k++;
	}
	return (int)k;
}

/* ------------------------------------------------------------------------ */
/* Description                                                              */

struct out {
	char *buf;
	size_t len, pos; /* pos counts the full text, even past len */
};

static void __attribute__((format(printf, 2, 3))) out_printf(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(o->pos < o->len ? o->buf + o->pos : NULL,
	              o->pos < o->len ? o->len - o->pos : 0, fmt, ap);
	va_end(ap);
	if (n > 0)
		o->pos += (size_t)n;
}

/* CPUs matching (node, allowed) as a kernel-style list "0-3,8". */
static void out_cpulist(struct out *o, const uipc_topo *t, int node, bool allowed_only)
{
	int start = -1, prev = -2;
	bool first = true;

	for (size_t i = 0; i <= t->ncpus; i++) {
		const struct topo_cpu *c = i < t->ncpus ? &t->cpu[i] : NULL;
		bool take = c && (node < 0 || c->node == node) && (!allowed_only || c->allowed);

		if (take && c->id == prev + 1) {
			prev = c->id;
			continue;
		}
		if (start >= 0) {
			out_printf(o, first ? "%d" : ",%d", start);
			if (prev > start)
				out_printf(o, "-%d", prev);
			first = false;
		}
		start = take ? c->id : -1;
		prev = take ? c->id : -2;
	}
	if (first)
		out_printf(o, "none");
}

static void out_unknown(struct out *o, unsigned flags)
{
	static const struct {
		unsigned flag;
		const char *what;
	} levels[] = {
	    {UIPC_TOPO_KNOWS_CORES, " smt-siblings"},
	    {UIPC_TOPO_KNOWS_L2, " l2-sharing"},
	    {UIPC_TOPO_KNOWS_L3, " l3-sharing"},
	    {UIPC_TOPO_KNOWS_NUMA, " numa-nodes"},
	    {UIPC_TOPO_KNOWS_DISTANCES, " numa-distances"},
	};
	bool any = false;

	out_printf(o, "unknown:");
	for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
		if (!(flags & levels[i].flag)) {
			out_printf(o, "%s", levels[i].what);
			any = true;
		}
	}
	out_printf(o, "%s\n", any ? "" : " nothing");
}

int uipc_topo_describe(const uipc_topo *topo, char *buf, size_t len)
{
	struct out o = {.buf = buf, .len = len};
	struct uipc_topo_info info;

	uipc_return_if(!topo || (!buf && len > 0), -EINVAL);
	info.size = sizeof(info);
	uipc_topo_get_info(topo, &info);
	if (len > 0)
		buf[0] = '\0';
	out_printf(&o, "topology: %s%s\n", uipc_topo_source_name(topo->source),
	           topo->flags & UIPC_TOPO_THIS_MACHINE ? " (this machine)" : "");
	out_printf(
	    &o, "cpus: %u (%u allowed), cores: %u, l2: %u, l3: %u, packages: %u, nodes: %u\n",
	    info.cpus, info.allowed, info.cores, info.l2, info.l3, info.packages, info.nodes);
	out_unknown(&o, topo->flags);
	for (size_t i = 0; i < topo->nnodes; i++) {
		out_printf(&o, "node %d: cpus ", topo->node[i]);
		out_cpulist(&o, topo, topo->node[i], false);
		if (topo->dist) {
			out_printf(&o, ", distances");
			for (size_t j = 0; j < topo->nnodes; j++)
				out_printf(&o, " %d", topo->dist[i * topo->nnodes + j]);
		}
		out_printf(&o, "\n");
	}
	out_printf(&o, "allowed: ");
	out_cpulist(&o, topo, -1, true);
	out_printf(&o, "\n");
	return o.pos > INT_MAX ? -EOVERFLOW : (int)o.pos;
}
