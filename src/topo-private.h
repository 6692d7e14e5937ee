/* SPDX-License-Identifier: MIT */
/*
 * CPU topology, inside the library: the flat table every source is reduced
 * to, and what the source files share.
 *
 *   topo.c        the table, the process's allowed CPUs, creation, queries,
 *                 the description
 *   topo-hwloc.c  discovery, XML and synthetic topologies through hwloc
 *                 (topo-nohwloc.c when the build has no hwloc)
 *   topo-sysfs.c  discovery from /sys (always built: the fallback)
 *   topo-rank.c   ranking and placement of senders near a receiver, pinning,
 *                 where a thread last ran
 *
 * Per CPU, a key for each sharing level (core, L2, L3, package; -1 when
 * unknown) and its NUMA node, plus a node distance matrix. Two CPUs share a
 * level when their keys are equal, so distance classes and ranking are
 * computed the same way whatever the source was.
 */
#ifndef UIPC_TOPO_PRIVATE_H
#define UIPC_TOPO_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>

#include "uipc-private.h"

/* Bound on CPU ids (the kernel's largest NR_CPUS); keeps masks finite. */
#define TOPO_MAX_CPUS 8192
#define NODE_LOCAL    10

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

/* The table (topo.c). A source allocates it, fills the CPUs in, finishes
 * it (sorted, nodes listed, distances unknown; the process's affinity
 * applied when it describes this machine), sets the distances it knows and
 * checks them. */
UIPC_INTERNAL uipc_topo *uipc__topo_alloc(size_t ncpus, enum uipc_topo_source source);
UIPC_INTERNAL int uipc__topo_finish(uipc_topo *t, bool here);
UIPC_INTERNAL void uipc__topo_set_dist(uipc_topo *t, int a, int b, int value);
UIPC_INTERNAL void uipc__topo_check_dist(uipc_topo *t);

/* Lookups (topo.c): a CPU by id (NULL if absent), a node's index (-1), the
 * distance class of two CPUs, the distance of two nodes (-ENODATA when
 * unknown). */
UIPC_INTERNAL const struct topo_cpu *uipc__topo_cpu(const uipc_topo *t, int id);
UIPC_INTERNAL int uipc__topo_node_index(const uipc_topo *t, int node);
UIPC_INTERNAL enum uipc_topo_dist uipc__topo_cpu_dist(const struct topo_cpu *a,
                                                      const struct topo_cpu *b);
UIPC_INTERNAL int uipc__topo_node_dist(const uipc_topo *t, int a, int b);
/* qsort/bsearch orders: two ints; two CPUs by id. */
UIPC_INTERNAL int uipc__topo_cmp_int(const void *a, const void *b);
UIPC_INTERNAL int uipc__topo_cmp_cpu(const void *a, const void *b);

/* Sources: hwloc (topo-hwloc.c; -EOPNOTSUPP from topo-nohwloc.c) and sysfs
 * (topo-sysfs.c, root NULL for /sys; declared in uipc-private.h for the
 * tests). */
UIPC_INTERNAL int uipc__topo_load_hwloc(enum uipc_topo_source source, const char *arg,
                                        uipc_topo **ret);

/* A small /sys or /proc file, without its trailing newline, into buf
 * (topo-sysfs.c): its length, or -errno. */
UIPC_INTERNAL int __attribute__((format(printf, 3, 4)))
uipc__topo_read_text(char *buf, size_t len, const char *fmt, ...);

#endif
