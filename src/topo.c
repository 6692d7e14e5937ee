/* SPDX-License-Identifier: MIT */
/*
 * CPU topology and sender placement.
 *
 * Every source (hwloc discovery, hwloc XML or synthetic, sysfs) is reduced to
 * one flat table: per CPU, a key for each sharing level (core, L2, L3,
 * package; -1 when unknown) and its NUMA node, plus a node distance matrix.
 * Two CPUs share a level when their keys are equal, so distance classes and
 * ranking are computed the same way whatever the source was.
 */
#include <ctype.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "uipc-config.h"
#include "uipc-private.h"

#if UIPC_HAVE_HWLOC
#include <hwloc.h>
#endif

/* Bound on CPU ids (the kernel's largest NR_CPUS); keeps masks finite. */
#define TOPO_MAX_CPUS 8192
#define NODE_LOCAL    10
#define SYSFS_ROOT    "/sys/devices/system"

struct topo_cpu {
	int id;
	int core, l2, l3, pkg; /* sharing keys, -1 when unknown */
	int node;
	bool allowed;
};

struct uipc_topo {
	enum uipc_topo_source source;
	unsigned flags;
	size_t ncpus;
	struct topo_cpu *cpu; /* sorted by id */
	size_t nnodes;
	int *node; /* ids of the nodes that have CPUs, sorted */
	int *dist; /* nnodes x nnodes, NULL when unknown */
};

/* ------------------------------------------------------------------------ */
/* The table                                                                */

static uipc_topo *topo_alloc(size_t ncpus, enum uipc_topo_source source)
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

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;
	return (x > y) - (x < y);
}

static int cmp_cpu(const void *a, const void *b)
{
	return cmp_int(&((const struct topo_cpu *)a)->id, &((const struct topo_cpu *)b)->id);
}

static const struct topo_cpu *topo_cpu(const uipc_topo *t, int id)
{
	struct topo_cpu key = {.id = id};
	return bsearch(&key, t->cpu, t->ncpus, sizeof(key), cmp_cpu);
}

static int node_index(const uipc_topo *t, int node)
{
	const int *p = bsearch(&node, t->node, t->nnodes, sizeof(int), cmp_int);
	return p ? (int)(p - t->node) : -1;
}

/* Sort the CPUs, reject duplicates, list the nodes and make room for their
 * distances (all unknown, -1, until the source fills them in). */
static int topo_finish(uipc_topo *t)
{
	qsort(t->cpu, t->ncpus, sizeof(*t->cpu), cmp_cpu);
	for (size_t i = 0; i < t->ncpus; i++)
		if (t->cpu[i].id < 0 || t->cpu[i].id >= TOPO_MAX_CPUS ||
		    (i > 0 && t->cpu[i].id == t->cpu[i - 1].id))
			return -EINVAL;

	t->node = uipc__calloc(t->ncpus, sizeof(int));
	if (!t->node)
		return -ENOMEM;
	for (size_t i = 0; i < t->ncpus; i++)
		t->node[i] = t->cpu[i].node;
	qsort(t->node, t->ncpus, sizeof(int), cmp_int);
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

static void topo_set_dist(uipc_topo *t, int a, int b, int value)
{
	int i = node_index(t, a), j = node_index(t, b);

	if (i >= 0 && j >= 0 && value > 0)
		t->dist[(size_t)i * t->nnodes + (size_t)j] = value;
}

/* Distances are known only when the source gave all of them. */
static void topo_check_dist(uipc_topo *t)
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

static enum uipc_topo_dist cpu_dist(const struct topo_cpu *a, const struct topo_cpu *b)
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

static int node_dist(const uipc_topo *t, int a, int b)
{
	int i = node_index(t, a), j = node_index(t, b);

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

/* ------------------------------------------------------------------------ */
/* hwloc                                                                    */

#if UIPC_HAVE_HWLOC
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
			topo_set_dist(t, (int)d->objs[i]->os_index, (int)d->objs[j]->os_index,
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
	t = topo_alloc((size_t)npu, source);
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

	r = topo_finish(t);
	if (r == 0 && here)
		r = topo_apply_affinity(t);
	if (r < 0) {
		uipc_topo_free(t);
		return r;
	}
	hwloc_fill_dist(h, t);
	topo_check_dist(t);
	*ret = t;
	return 0;
}

/* Load with disallowed CPUs included, so that distances to them can be
 * asked, while ranking skips them. */
static int topo_load_hwloc(enum uipc_topo_source source, const char *arg, uipc_topo **ret)
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
#else
static int topo_load_hwloc(enum uipc_topo_source source, const char *arg, uipc_topo **ret)
{
	return -EOPNOTSUPP;
}
#endif

/* ------------------------------------------------------------------------ */
/* sysfs                                                                    */

/* Read a small sysfs file, without its trailing newline. */
static int __attribute__((format(printf, 3, 0)))
vread_text(char *buf, size_t len, const char *fmt, va_list ap)
{
	char path[PATH_MAX];
	ssize_t n = vsnprintf(path, sizeof(path), fmt, ap);
	int fd;

	if (n < 0 || (size_t)n >= sizeof(path))
		return -ENAMETOOLONG;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	uipc__close(fd);
	if (n < 0)
		return -EIO;
	while (n > 0 && isspace((unsigned char)buf[n - 1]))
		n--;
	buf[n] = '\0';
	return (int)n;
}

static int __attribute__((format(printf, 3, 4)))
read_text(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vread_text(buf, len, fmt, ap);
	va_end(ap);
	return r;
}

/* Walk a kernel CPU/node list ("0-3,8,10-11"). fn may stop the walk by
 * returning non-zero, which is passed on; a malformed list is -EINVAL. */
static int list_walk(const char *s, int (*fn)(int id, void *arg), void *arg)
{
	while (*s) {
		char *end;
		long a = strtol(s, &end, 10), b = a;

		if (end == s || a < 0 || a >= TOPO_MAX_CPUS)
			return -EINVAL;
		s = end;
		if (*s == '-') {
			b = strtol(s + 1, &end, 10);
			if (end == s + 1 || b < a || b >= TOPO_MAX_CPUS)
				return -EINVAL;
			s = end;
		}
		for (long i = a; i <= b; i++) {
			int r = fn((int)i, arg);
			if (r)
				return r;
		}
		if (*s == ',')
			s++;
		else if (*s)
			return -EINVAL;
	}
	return 0;
}

static int count_one(int id, void *arg)
{
	(*(size_t *)arg)++;
	return 0;
}

struct fill_arg {
	uipc_topo *t;
	size_t i;
};

static int fill_id(int id, void *arg)
{
	struct fill_arg *f = arg;

	f->t->cpu[f->i++].id = id;
	return 0;
}

/* The first id of a list: the key every member of a sharing group agrees on. */
static int __attribute__((format(printf, 1, 2))) list_first(const char *fmt, ...)
{
	char buf[4096];
	char *end;
	va_list ap;
	long v;
	int r;

	va_start(ap, fmt);
	r = vread_text(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (r <= 0)
		return -1;
	v = strtol(buf, &end, 10);
	return end == buf || v < 0 || v >= TOPO_MAX_CPUS ? -1 : (int)v;
}

/* Returns true when the CPU has cache information at all. */
static bool sysfs_caches(const char *root, struct topo_cpu *c)
{
	char buf[64];
	bool any = false;

	for (int k = 0; k < 16; k++) {
		int level;

		if (read_text(buf, sizeof(buf), "%s/cpu/cpu%d/cache/index%d/level", root, c->id,
		              k) <= 0)
			break;
		any = true;
		level = atoi(buf);
		if (read_text(buf, sizeof(buf), "%s/cpu/cpu%d/cache/index%d/type", root, c->id, k) >
		        0 &&
		    strcmp(buf, "Instruction") == 0)
			continue;
		if (level == 2)
			c->l2 = list_first("%s/cpu/cpu%d/cache/index%d/shared_cpu_list", root,
			                   c->id, k);
		else if (level == 3)
			c->l3 = list_first("%s/cpu/cpu%d/cache/index%d/shared_cpu_list", root,
			                   c->id, k);
	}
	return any;
}

struct node_arg {
	uipc_topo *t;
	const char *root;
	int node;
};

static int set_node(int id, void *arg)
{
	struct node_arg *n = arg;
	struct topo_cpu *c = (struct topo_cpu *)topo_cpu(n->t, id);

	if (c)
		c->node = n->node;
	return 0;
}

static int node_cpus(int node, void *arg)
{
	struct node_arg *n = arg;
	char buf[4096];

	if (read_text(buf, sizeof(buf), "%s/node/node%d/cpulist", n->root, node) < 0)
		return 0;
	n->node = node;
	return list_walk(buf, set_node, n) < 0 ? -EINVAL : 0;
}

/* Assign each CPU its node; t->cpu must already be sorted. */
static bool sysfs_nodes(const char *root, uipc_topo *t)
{
	char buf[4096];
	struct node_arg n = {.t = t, .root = root};

	if (read_text(buf, sizeof(buf), "%s/node/online", root) <= 0)
		return false;
	return list_walk(buf, node_cpus, &n) == 0;
}

struct dist_arg {
	uipc_topo *t;
	const char *root;
	int from;
	char *row; /* cursor in from's distance line */
};

static int dist_to(int to, void *arg)
{
	struct dist_arg *d = arg;
	char *end;
	long v = strtol(d->row, &end, 10);

	if (end == d->row)
		return 1;
	d->row = end;
	topo_set_dist(d->t, d->from, to, (int)v);
	return 0;
}

/* nodeN/distance lists the distances to every online node, in id order. */
static int dist_from(int from, void *arg)
{
	struct dist_arg *d = arg;
	char online[4096], row[4096];

	if (read_text(online, sizeof(online), "%s/node/online", d->root) <= 0 ||
	    read_text(row, sizeof(row), "%s/node/node%d/distance", d->root, from) <= 0)
		return 0;
	d->from = from;
	d->row = row;
	list_walk(online, dist_to, d);
	return 0;
}

static void sysfs_dist(const char *root, uipc_topo *t)
{
	char buf[4096];
	struct dist_arg d = {.t = t, .root = root};

	if (read_text(buf, sizeof(buf), "%s/node/online", root) > 0)
		list_walk(buf, dist_from, &d);
}

static int sysfs_cpus(const char *root, uipc_topo **ret)
{
	char buf[4096];
	size_t n = 0;
	struct fill_arg f;
	int r = read_text(buf, sizeof(buf), "%s/cpu/online", root);

	if (r < 0)
		return r;
	if (r == 0 || list_walk(buf, count_one, &n) < 0 || n == 0)
		return -EIO;
	f.t = topo_alloc(n, UIPC_TOPO_SOURCE_SYSFS);
	if (!f.t)
		return -ENOMEM;
	f.i = 0;
	list_walk(buf, fill_id, &f);
	*ret = f.t;
	return 0;
}

int uipc__topo_new_sysfs(const char *root, uipc_topo **ret_topo)
{
	bool here = !root;
	bool cores = true, caches = true;
	uipc_topo *t;
	int r;

	root = root ? root : SYSFS_ROOT;
	r = sysfs_cpus(root, &t);
	if (r < 0)
		return r;
	for (size_t i = 0; i < t->ncpus; i++) {
		struct topo_cpu *c = &t->cpu[i];

		c->allowed = true;
		c->core = list_first("%s/cpu/cpu%d/topology/thread_siblings_list", root, c->id);
		cores &= c->core >= 0;
		c->pkg = list_first("%s/cpu/cpu%d/topology/physical_package_id", root, c->id);
		caches &= sysfs_caches(root, c);
	}
	t->flags = (cores ? UIPC_TOPO_KNOWS_CORES : 0) |
	           (caches ? UIPC_TOPO_KNOWS_L2 | UIPC_TOPO_KNOWS_L3 : 0) |
	           (here ? UIPC_TOPO_THIS_MACHINE : 0);
	qsort(t->cpu, t->ncpus, sizeof(*t->cpu), cmp_cpu);
	if (sysfs_nodes(root, t))
		t->flags |= UIPC_TOPO_KNOWS_NUMA;
	r = topo_finish(t);
	if (r == 0 && here)
		r = topo_apply_affinity(t);
	if (r < 0) {
		uipc_topo_free(t);
		return r;
	}
	if (t->flags & UIPC_TOPO_KNOWS_NUMA)
		sysfs_dist(root, t);
	topo_check_dist(t);
	*ret_topo = t;
	return 0;
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
		int r = topo_load_hwloc(UIPC_TOPO_SOURCE_HWLOC, NULL, ret_topo);

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
	return topo_load_hwloc(UIPC_TOPO_SOURCE_XML, path, ret_topo);
}

int uipc_topo_new_synthetic(const char *desc, uipc_topo **ret_topo)
{
	uipc_return_if(!desc || !ret_topo, -EINVAL);
	return topo_load_hwloc(UIPC_TOPO_SOURCE_SYNTHETIC, desc, ret_topo);
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
	a = topo_cpu(topo, cpu_a);
	b = topo_cpu(topo, cpu_b);
	if (!a || !b)
		return -EINVAL;
	return (int)cpu_dist(a, b);
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
	c = topo_cpu(topo, cpu);
	return c ? c->node : -EINVAL;
}

int uipc_topo_node_distance(const uipc_topo *topo, int node_a, int node_b)
{
	uipc_return_if(!topo, -EINVAL);
	uipc_return_if(node_index(topo, node_a) < 0 || node_index(topo, node_b) < 0, -EINVAL);
	return node_dist(topo, node_a, node_b);
}

int uipc_topo_restrict(uipc_topo *topo, const int *cpus, size_t n)
{
	int allowed = 0;

	uipc_return_if(!topo || (!cpus && n > 0), -EINVAL);
	for (size_t i = 0; i < n; i++)
		if (!topo_cpu(topo, cpus[i]))
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
/* Ranking                                                                  */

struct cand {
	const struct topo_cpu *c;
	int key[4]; /* compared in order, then the CPU id */
	int self;   /* the reference CPU: always last */
	int sib;    /* rank among the candidate threads of its core */
};

static int cmp_cand(const void *a, const void *b)
{
	const struct cand *x = a, *y = b;

	if (x->self != y->self)
		return x->self - y->self;
	for (int i = 0; i < 4; i++)
		if (x->key[i] != y->key[i])
			return x->key[i] < y->key[i] ? -1 : 1;
	return cmp_int(&x->c->id, &y->c->id);
}

/* Group threads by core, the reference CPU first within its core (it is
 * busy with the receiver), so that sib counts the threads before each one. */
static int cmp_core(const void *a, const void *b)
{
	const struct cand *x = a, *y = b;
	int kx = x->c->core >= 0 ? x->c->core : -1 - x->c->id;
	int ky = y->c->core >= 0 ? y->c->core : -1 - y->c->id;

	if (kx != ky)
		return kx < ky ? -1 : 1;
	if (x->self != y->self)
		return y->self - x->self;
	return cmp_int(&x->c->id, &y->c->id);
}

static void cand_sib(struct cand *v, size_t k)
{
	qsort(v, k, sizeof(*v), cmp_core);
	for (size_t i = 0; i < k; i++)
		v[i].sib = i > 0 && v[i].c->core >= 0 && v[i].c->core == v[i - 1].c->core
		               ? v[i - 1].sib + 1
		               : 0;
}

static void cand_keys(const uipc_topo *t, const struct topo_cpu *ref, enum uipc_topo_policy policy,
                      struct cand *v, size_t k)
{
	for (size_t i = 0; i < k; i++) {
		int cls = (int)cpu_dist(ref, v[i].c);
		int nd = node_dist(t, ref->node, v[i].c->node);
		int *key = v[i].key;

		nd = nd < 0 ? 0 : nd;
		if (policy == UIPC_TOPO_SPREAD) {
			key[0] = v[i].sib;
			key[1] = cls;
			key[2] = nd;
		} else {
			key[0] = cls;
			key[1] = nd;
			key[2] = v[i].sib;
		}
		key[3] = 0;
	}
}

/* Candidates: allowed CPUs, minus the reference core unless asked, minus
 * other nodes for SAME_NODE. The reference CPU itself is included (last)
 * only with OWN_CORE. */
static size_t cand_collect(const uipc_topo *t, const struct topo_cpu *ref,
                           enum uipc_topo_policy policy, unsigned flags, struct cand *v)
{
	size_t k = 0;

	for (size_t i = 0; i < t->ncpus; i++) {
		const struct topo_cpu *c = &t->cpu[i];
		enum uipc_topo_dist cls = cpu_dist(ref, c);

		if (!c->allowed)
			continue;
		if (cls <= UIPC_TOPO_DIST_SMT && !(flags & UIPC_TOPO_RANK_OWN_CORE))
			continue;
		if (policy == UIPC_TOPO_SAME_NODE && c->node != ref->node)
			continue;
		v[k] = (struct cand){.c = c, .self = cls == UIPC_TOPO_DIST_SELF};
		k++;
	}
	return k;
}

int uipc_topo_rank(const uipc_topo *topo, int cpu, enum uipc_topo_policy policy, unsigned flags,
                   int *ret_cpus, size_t n)
{
	const struct topo_cpu *ref;
	struct cand *v;
	size_t k;

	uipc_return_if(!topo || (!ret_cpus && n > 0), -EINVAL);
	uipc_return_if((unsigned)policy > UIPC_TOPO_SAME_NODE, -EINVAL);
	uipc_return_if(flags & ~(unsigned)UIPC_TOPO_RANK_OWN_CORE, -EINVAL);
	ref = topo_cpu(topo, cpu);
	uipc_return_if(!ref, -EINVAL);

	v = uipc__calloc(topo->ncpus, sizeof(*v));
	if (!v)
		return -ENOMEM;
	k = cand_collect(topo, ref, policy, flags, v);
	cand_sib(v, k);
	cand_keys(topo, ref, policy, v, k);
	qsort(v, k, sizeof(*v), cmp_cand);
	for (size_t i = 0; i < k && i < n; i++)
		ret_cpus[i] = v[i].c->id;
	free(v);
	return (int)k;
}

int uipc_topo_place(const uipc_topo *topo, int cpu, enum uipc_topo_policy policy, unsigned flags,
                    unsigned index, int *ret_cpu)
{
	int *list;
	int k;

	uipc_return_if(!topo || !ret_cpu, -EINVAL);
	list = uipc__calloc(topo->ncpus, sizeof(int));
	if (!list)
		return -ENOMEM;
	k = uipc_topo_rank(topo, cpu, policy, flags, list, topo->ncpus);
	if (k == 0)
		k = -ENOENT;
	if (k > 0)
		*ret_cpu = list[index % (unsigned)k];
	free(list);
	return k < 0 ? k : 0;
}

const char *uipc_topo_policy_name(enum uipc_topo_policy policy)
{
	switch (policy) {
	case UIPC_TOPO_NEAREST:
		return "nearest";
	case UIPC_TOPO_SPREAD:
		return "spread";
	case UIPC_TOPO_SAME_NODE:
		return "same-node";
	}
	return NULL;
}

int uipc_topo_policy_parse(const char *name, enum uipc_topo_policy *ret_policy)
{
	uipc_return_if(!name || !ret_policy, -EINVAL);
	for (int p = UIPC_TOPO_NEAREST; p <= UIPC_TOPO_SAME_NODE; p++) {
		if (strcmp(name, uipc_topo_policy_name((enum uipc_topo_policy)p)) == 0) {
			*ret_policy = (enum uipc_topo_policy)p;
			return 0;
		}
	}
	return -EINVAL;
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

/* ------------------------------------------------------------------------ */
/* Threads                                                                  */

int uipc_topo_pin(int tid, int cpu)
{
	cpu_set_t *set;
	size_t size = CPU_ALLOC_SIZE(TOPO_MAX_CPUS);
	int r = 0;

	uipc_return_if(tid < 0 || cpu < 0 || cpu >= TOPO_MAX_CPUS, -EINVAL);
	set = CPU_ALLOC(TOPO_MAX_CPUS);
	if (!set)
		return -ENOMEM;
	CPU_ZERO_S(size, set);
	CPU_SET_S((size_t)cpu, size, set);
	if (sched_setaffinity(tid, size, set) < 0)
		r = -errno;
	CPU_FREE(set);
	return r;
}

/* Field 39 of /proc/<pid>/task/<tid>/stat: the CPU the thread last ran on.
 * The command name (field 2) may contain spaces and parentheses: count
 * fields from the last ')'. */
static int stat_cpu(const char *text, int *ret_cpu)
{
	const char *p = strrchr(text, ')');
	long v;
	char *end;

	if (!p)
		return -EIO;
	p++;
	for (int field = 3; field < 39; field++) {
		while (*p == ' ')
			p++;
		while (*p && *p != ' ')
			p++;
		if (!*p)
			return -EIO;
	}
	v = strtol(p, &end, 10);
	if (end == p || v < 0 || v >= TOPO_MAX_CPUS)
		return -EIO;
	*ret_cpu = (int)v;
	return 0;
}

int uipc_topo_thread_cpu(int pid, int tid, int *ret_cpu)
{
	char buf[1024];
	int r;

	uipc_return_if(!ret_cpu || pid < 0 || tid < 0 || (tid == 0 && pid != 0), -EINVAL);
	if (tid == 0) {
		r = sched_getcpu();
		if (r < 0)
			return -errno;
		*ret_cpu = r;
		return 0;
	}
	if (pid == 0)
		r = read_text(buf, sizeof(buf), "/proc/self/task/%d/stat", tid);
	else
		r = read_text(buf, sizeof(buf), "/proc/%d/task/%d/stat", pid, tid);
	if (r == -ENOENT)
		return -ESRCH;
	if (r < 0)
		return r;
	return stat_cpu(buf, ret_cpu);
}

int uipc_topo_rx_cpu(const uipc_rx *rx, int *ret_cpu)
{
	uipc_return_if(!rx || !ret_cpu || rx->magic != UIPC_RX_MAGIC, -EINVAL);
	/* Inherited through fork(): its owner thread is the parent's. */
	uipc_return_if(uipc__forked(&rx->fork), -ECHILD);
	uipc_return_if(rx->owner_tid <= 0, -ESRCH);
	return uipc_topo_thread_cpu(0, rx->owner_tid, ret_cpu);
}

int uipc_topo_tx_peer_cpu(const uipc_tx *tx, int *ret_cpu)
{
	uipc_return_if(!tx || !ret_cpu || tx->magic != UIPC_TX_MAGIC, -EINVAL);
	uipc_return_if(tx->pid <= 0 || tx->tid <= 0, -ESRCH);
	return uipc_topo_thread_cpu(tx->pid == getpid() ? 0 : tx->pid, tx->tid, ret_cpu);
}
