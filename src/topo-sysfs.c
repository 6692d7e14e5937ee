/* SPDX-License-Identifier: MIT */
/*
 * CPU topology from sysfs (/sys/devices/system/cpu and node): the fallback
 * where hwloc is absent or fails, and a root the tests can point at a copy.
 */
#include <ctype.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "topo-private.h"

#define SYSFS_ROOT "/sys/devices/system"

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

int __attribute__((format(printf, 3, 4)))
uipc__topo_read_text(char *buf, size_t len, const char *fmt, ...)
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

		if (uipc__topo_read_text(buf, sizeof(buf), "%s/cpu/cpu%d/cache/index%d/level", root,
		                         c->id, k) <= 0)
			break;
		any = true;
		level = atoi(buf);
		if (uipc__topo_read_text(buf, sizeof(buf), "%s/cpu/cpu%d/cache/index%d/type", root,
		                         c->id, k) > 0 &&
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
	struct topo_cpu *c = (struct topo_cpu *)uipc__topo_cpu(n->t, id);

	if (c)
		c->node = n->node;
	return 0;
}

static int node_cpus(int node, void *arg)
{
	struct node_arg *n = arg;
	char buf[4096];

	if (uipc__topo_read_text(buf, sizeof(buf), "%s/node/node%d/cpulist", n->root, node) < 0)
		return 0;
	n->node = node;
	return list_walk(buf, set_node, n) < 0 ? -EINVAL : 0;
}

/* Assign each CPU its node; t->cpu must already be sorted. */
static bool sysfs_nodes(const char *root, uipc_topo *t)
{
	char buf[4096];
	struct node_arg n = {.t = t, .root = root};

	if (uipc__topo_read_text(buf, sizeof(buf), "%s/node/online", root) <= 0)
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
	uipc__topo_set_dist(d->t, d->from, to, (int)v);
	return 0;
}

/* nodeN/distance lists the distances to every online node, in id order. */
static int dist_from(int from, void *arg)
{
	struct dist_arg *d = arg;
	char online[4096], row[4096];

	if (uipc__topo_read_text(online, sizeof(online), "%s/node/online", d->root) <= 0 ||
	    uipc__topo_read_text(row, sizeof(row), "%s/node/node%d/distance", d->root, from) <= 0)
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

	if (uipc__topo_read_text(buf, sizeof(buf), "%s/node/online", root) > 0)
		list_walk(buf, dist_from, &d);
}

static int sysfs_cpus(const char *root, uipc_topo **ret)
{
	char buf[4096];
	size_t n = 0;
	struct fill_arg f;
	int r = uipc__topo_read_text(buf, sizeof(buf), "%s/cpu/online", root);

	if (r < 0)
		return r;
	if (r == 0 || list_walk(buf, count_one, &n) < 0 || n == 0)
		return -EIO;
	f.t = uipc__topo_alloc(n, UIPC_TOPO_SOURCE_SYSFS);
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
	qsort(t->cpu, t->ncpus, sizeof(*t->cpu), uipc__topo_cmp_cpu);
	if (sysfs_nodes(root, t))
		t->flags |= UIPC_TOPO_KNOWS_NUMA;
	r = uipc__topo_finish(t, here);
	if (r < 0) {
		uipc_topo_free(t);
		return r;
	}
	if (t->flags & UIPC_TOPO_KNOWS_NUMA)
		sysfs_dist(root, t);
	uipc__topo_check_dist(t);
	*ret_topo = t;
	return 0;
}
