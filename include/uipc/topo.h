/* SPDX-License-Identifier: MIT */
/**
 * @file uipc/topo.h
 * @brief CPU topology, sender placement and NUMA memory placement.
 *
 * A wakeup is cheapest when the sender and the receiver share a cache. This
 * module answers how far apart two CPUs are (a distance class, and the NUMA
 * distance of their nodes), ranks the CPUs where the senders of a receiver
 * should run, pins threads there, and binds memory to a NUMA node.
 *
 * The topology comes from hwloc when the library was built with it, or from
 * sysfs otherwise; uipc_topo_get_info() says which, and its flags say what
 * the source could not tell (for instance sysfs without cache directories
 * knows nothing about shared L2/L3). Topologies can also be loaded from an
 * hwloc XML file or an hwloc synthetic description, to plan for (and test
 * on) machines other than this one.
 *
 * CPU numbers are operating-system CPU ids (as in taskset, sched_getcpu(),
 * /sys/devices/system/cpu/cpuN); node numbers are NUMA node ids.
 *
 * A topology object is immutable after creation except for
 * uipc_topo_restrict(); concurrent readers are fine.
 */
#ifndef UIPC_TOPO_H
#define UIPC_TOPO_H

#include <uipc/common.h>
#include <uipc/notify.h>

UIPC_BEGIN_DECLS

/** A machine's CPU topology (opaque). */
typedef struct uipc_topo uipc_topo;

/** Where a topology came from. */
enum uipc_topo_source {
	UIPC_TOPO_SOURCE_HWLOC = 1, /**< hwloc discovery of this machine */
	UIPC_TOPO_SOURCE_SYSFS,     /**< /sys/devices/system (no hwloc in this build) */
	UIPC_TOPO_SOURCE_XML,       /**< an hwloc XML file */
	UIPC_TOPO_SOURCE_SYNTHETIC, /**< an hwloc synthetic description */
};

/** What a topology knows (uipc_topo_info::flags). A missing flag means unknown, not absent. */
enum uipc_topo_flags {
	UIPC_TOPO_KNOWS_CORES = 1u << 0,     /**< which CPUs are SMT siblings of one core */
	UIPC_TOPO_KNOWS_L2 = 1u << 1,        /**< which CPUs share an L2 cache */
	UIPC_TOPO_KNOWS_L3 = 1u << 2,        /**< which CPUs share an L3 cache (CCX on AMD) */
	UIPC_TOPO_KNOWS_NUMA = 1u << 3,      /**< the NUMA node of each CPU */
	UIPC_TOPO_KNOWS_DISTANCES = 1u << 4, /**< NUMA distances between nodes */
	UIPC_TOPO_THIS_MACHINE = 1u << 5,    /**< describes the running machine (pinning applies) */
};

/**
 * How close two CPUs are, nearest first. Each class implies the ones after
 * it: CPUs on one core also share its L2 and L3. When the topology does not
 * know a level (see ::uipc_topo_flags), that level is never reported.
 */
enum uipc_topo_dist {
	UIPC_TOPO_DIST_SELF = 0, /**< the same CPU */
	UIPC_TOPO_DIST_SMT,      /**< SMT siblings: two hardware threads of one core */
	UIPC_TOPO_DIST_L2,       /**< different cores sharing an L2 cache */
	UIPC_TOPO_DIST_L3,       /**< sharing an L3 cache (one CCX on AMD) */
	UIPC_TOPO_DIST_NODE,     /**< same NUMA node, no shared cache known */
	UIPC_TOPO_DIST_REMOTE,   /**< different NUMA nodes */
};

/** Sender placement policy for uipc_topo_rank(). */
enum uipc_topo_policy {
	/** Closest first (class, then NUMA distance); within that, one CPU per core before SMT
	    siblings. */
	UIPC_TOPO_NEAREST = 0,
	/** One CPU per core everywhere (closest first) before any SMT sibling. */
	UIPC_TOPO_SPREAD,
	/** As NEAREST, but only CPUs on the NUMA node of the reference CPU. */
	UIPC_TOPO_SAME_NODE,
};

/** Flags for uipc_topo_rank(). */
enum uipc_topo_rank_flags {
	/**
	 * Also rank the reference CPU's own core: its SMT siblings (class
	 * ::UIPC_TOPO_DIST_SMT) and, last of all, the reference CPU itself.
	 * Without it they are never returned.
	 */
	UIPC_TOPO_RANK_OWN_CORE = 1u << 0,
};

/**
 * Summary of a topology (uipc_topo_get_info()).
 *
 * Growth: later releases append fields. Before the call, set `size` to
 * sizeof(struct uipc_topo_info) (UIPC_TOPO_INFO_INIT does), or to 0, which
 * means the layout of 0.2 (the first release with this field). The library
 * writes at most that many bytes, zeroes what it does not know, and sets
 * `size` to the bytes it filled. A size that is not 0 and smaller than the
 * 0.2 layout is -EINVAL. Programs built against 0.1 (no size field) call
 * the UIPC_0.1 version of uipc_topo_get_info(), which writes the 0.1 layout.
 */
struct uipc_topo_info {
	size_t size; /**< in: sizeof(struct uipc_topo_info) or 0; out: bytes filled */
	enum uipc_topo_source source;
	unsigned flags; /**< ::uipc_topo_flags */
	unsigned cpus;  /**< CPUs (hardware threads) described */
	unsigned
	    allowed; /**< of which this process may use (cpuset, affinity, uipc_topo_restrict()) */
	unsigned cores;    /**< cores (== cpus when cores are unknown) */
	unsigned l2;       /**< L2 domains (0 when unknown) */
	unsigned l3;       /**< L3 domains (0 when unknown) */
	unsigned packages; /**< sockets (0 when unknown) */
	unsigned nodes;    /**< NUMA nodes with CPUs (1 when unknown) */
};

/** Initializer for struct uipc_topo_info: the size this program was built with. */
#define UIPC_TOPO_INFO_INIT                                                                        \
	{                                                                                          \
		.size = sizeof(struct uipc_topo_info)                                              \
	}

/**
 * Topology of this machine.
 *
 * When the environment variable UIPC_TOPOLOGY_XML names a file, it is loaded
 * instead (as uipc_topo_new_from_xml()), to try placements for another machine.
 * Otherwise hwloc discovers the machine, or sysfs when hwloc is not built in.
 * The allowed CPUs are those of the calling thread's affinity mask (which the
 * kernel already limits to the cgroup cpuset): create the topology before
 * pinning the creating thread.
 *
 * @return 0; -ENOMEM; -ENOENT/-EIO when neither hwloc nor sysfs describe
 *         the machine; with UIPC_TOPOLOGY_XML set, as uipc_topo_new_from_xml().
 */
UIPC_API int uipc_topo_new(uipc_topo **ret_topo);

/**
 * Load an hwloc XML topology (as written by `lstopo file.xml`). CPUs outside
 * the XML's allowed cpuset are described but never ranked.
 *
 * @return 0; -EOPNOTSUPP without hwloc; -ENOENT/-EACCES when the file
 *         cannot be read; -EINVAL for a NULL path or a file hwloc cannot
 *         load; -ENOMEM.
 */
UIPC_API int uipc_topo_new_from_xml(const char *path, uipc_topo **ret_topo);

/**
 * Build a topology from an hwloc synthetic description, for example
 * "pack:2 [numa] l3:1 core:8 pu:2" (see hwloc's documentation; PU numbering
 * can be set with "pu:2(indexes=...)").
 *
 * @return 0; -EOPNOTSUPP without hwloc; -EINVAL for a NULL or invalid
 *         description; -ENOMEM.
 */
UIPC_API int uipc_topo_new_synthetic(const char *desc, uipc_topo **ret_topo);

/** Free a topology; NULL is fine. */
UIPC_API void uipc_topo_free(uipc_topo *topo);

/** Name of a source ("hwloc", "sysfs", "xml", "synthetic"), or NULL for an invalid value. */
UIPC_API const char *uipc_topo_source_name(enum uipc_topo_source source);

/**
 * Counts and flags of a topology. Set ret_info->size first (see struct
 * uipc_topo_info). @return 0; -EINVAL (NULL, or a size too small).
 */
UIPC_API int uipc_topo_get_info(const uipc_topo *topo, struct uipc_topo_info *ret_info);

/**
 * Human-readable summary, several lines ending in '\\n': source, counts,
 * what is unknown, the CPUs of each node, NUMA distances, allowed CPUs.
 *
 * @return the length of the full text (as snprintf(): the output is
 *         truncated but NUL-terminated when len is too small; buf may be
 *         NULL when len is 0); -EINVAL.
 */
UIPC_API int uipc_topo_describe(const uipc_topo *topo, char *buf, size_t len);

/**
 * Restrict the CPUs placement may use to those listed (intersected with
 * what was already allowed), as a cgroup cpuset or taskset would.
 *
 * @return the number of CPUs still allowed; -EINVAL for a NULL topology,
 *         NULL cpus with n > 0, or a CPU the topology does not have (the
 *         topology is then unchanged).
 */
UIPC_API int uipc_topo_restrict(uipc_topo *topo, const int *cpus, size_t n);

/**
 * The allowed CPUs, in increasing order.
 *
 * @return how many CPUs are allowed (may exceed n: only n are written;
 *         ret_cpus may be NULL when n is 0); -EINVAL.
 */
UIPC_API int uipc_topo_allowed_cpus(const uipc_topo *topo, int *ret_cpus, size_t n);

/**
 * Distance class of two CPUs.
 *
 * @return a ::uipc_topo_dist value; -EINVAL when either CPU is not in the topology.
 */
UIPC_API int uipc_topo_distance(const uipc_topo *topo, int cpu_a, int cpu_b);

/** Short name of a distance class ("self", "smt", "l2", "l3", "node", "remote"), or NULL. */
UIPC_API const char *uipc_topo_dist_name(enum uipc_topo_dist dist);

/** NUMA node of a CPU. @return the node id; -EINVAL for an unknown CPU. */
UIPC_API int uipc_topo_cpu_node(const uipc_topo *topo, int cpu);

/**
 * NUMA distance between two nodes, in ACPI SLIT units (10 = local).
 *
 * @return the distance; -EINVAL for an unknown node; -ENODATA when the
 *         topology has no distances (see ::UIPC_TOPO_KNOWS_DISTANCES).
 */
UIPC_API int uipc_topo_node_distance(const uipc_topo *topo, int node_a, int node_b);

/**
 * Rank the CPUs where senders for a receiver on `cpu` should run.
 *
 * Only allowed CPUs are ranked, and never the reference CPU's core unless
 * ::UIPC_TOPO_RANK_OWN_CORE is given. Order: NEAREST and SAME_NODE sort by
 * distance class, then NUMA distance, then cores before SMT siblings (a CPU
 * whose core already has an earlier candidate comes after the single ones),
 * then CPU id; SPREAD sorts cores before SMT siblings first, then the same.
 * The reference CPU itself, when allowed by the flag, is always last.
 * Sender thread i takes ret_cpus[i % min(count, n)].
 *
 * @param cpu the receiver's CPU (see uipc_topo_rx_cpu()).
 * @param flags ::uipc_topo_rank_flags.
 * @return the number of CPUs that qualify (0 when none does, e.g. on a
 *         single-core machine without ::UIPC_TOPO_RANK_OWN_CORE); at most n
 *         are written, ret_cpus may be NULL when n is 0. -EINVAL for an
 *         unknown CPU, policy or flag.
 */
UIPC_API int uipc_topo_rank(const uipc_topo *topo, int cpu, enum uipc_topo_policy policy,
                            unsigned flags, int *ret_cpus, size_t n);

/**
 * The CPU for sender number `index` (0, 1, ...) of a receiver on `cpu`:
 * entry index % count of uipc_topo_rank()'s list.
 *
 * @return 0; -ENOENT when no CPU qualifies; as uipc_topo_rank() otherwise.
 */
UIPC_API int uipc_topo_place(const uipc_topo *topo, int cpu, enum uipc_topo_policy policy,
                             unsigned flags, unsigned index, int *ret_cpu);

/** Name of a policy ("nearest", "spread", "same-node"), or NULL. */
UIPC_API const char *uipc_topo_policy_name(enum uipc_topo_policy policy);

/** Parse a policy name as printed by uipc_topo_policy_name(). @return 0; -EINVAL. */
UIPC_API int uipc_topo_policy_parse(const char *name, enum uipc_topo_policy *ret_policy);

/**
 * Pin a thread of this process to one CPU (sched_setaffinity).
 *
 * @param tid a thread id (gettid()), or 0 for the calling thread.
 * @return 0; -EINVAL for a negative or too large CPU, or one this thread may
 *         not use (cpuset); -ESRCH for an unknown thread; -EPERM.
 */
UIPC_API int uipc_topo_pin(int tid, int cpu);

/**
 * The CPU a thread last ran on (its current CPU when it is running).
 *
 * @param pid a process id, or 0 for this process.
 * @param tid a thread id of that process, or 0 for the calling thread (then
 *        pid must be 0 too).
 * @return 0; -EINVAL; -ESRCH when the thread does not exist (or is not visible).
 */
UIPC_API int uipc_topo_thread_cpu(int pid, int tid, int *ret_cpu);

/**
 * The CPU the receiver's owner thread last ran on.
 * @return 0; -EINVAL; -ESRCH; -ECHILD (a receiver inherited through fork()).
 */
UIPC_API int uipc_topo_rx_cpu(const uipc_rx *rx, int *ret_cpu);

/**
 * The CPU the receiver a sender is connected to last ran on (also across
 * processes, when the receiver's process is visible in /proc).
 *
 * @return 0; -EINVAL; -ESRCH.
 */
UIPC_API int uipc_topo_tx_peer_cpu(const uipc_tx *tx, int *ret_cpu);

/**
 * Place memory on a NUMA node: the pages of [addr, addr + len) (rounded out
 * to pages) are preferably allocated on `node`, and pages already present are
 * moved there when possible. Call it before the memory is first touched.
 *
 * @return 0; -EOPNOTSUPP in a build without NUMA or on a kernel without it;
 *         -EINVAL for NULL, len 0 or a node that does not exist; -errno from mbind().
 */
UIPC_API int uipc_topo_mem_bind(void *addr, size_t len, int node);

/**
 * NUMA node holding the page at addr (faulting it in if needed).
 *
 * @return 0; -EOPNOTSUPP in a build or kernel without NUMA; -EINVAL; -EFAULT.
 */
UIPC_API int uipc_topo_mem_node(const void *addr, int *ret_node);

UIPC_END_DECLS

#endif
