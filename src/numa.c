/* SPDX-License-Identifier: MIT */
/*
 * NUMA memory placement: channel rings and descriptors go on the receiver's
 * node, because the receiver reads them on every wakeup while each sender
 * only writes a line or two.
 */
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <unistd.h>

#include "uipc-config.h"
#include "uipc-private.h"

#if UIPC_HAVE_NUMA
#include <numa.h>
#include <numaif.h>

static pthread_mutex_t numa_lock = PTHREAD_MUTEX_INITIALIZER;

/* numa_available() asks the kernel once; later calls are cheap. */
static bool numa_ok(void)
{
	return numa_available() >= 0;
}

int uipc__mem_bind(void *addr, size_t len, int node)
{
	uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
	uintptr_t start, end;
	unsigned long mask[64] = {0}; /* 4096 nodes */
	unsigned long bits = sizeof(mask) * 8;

	if (!addr || len == 0 || node < 0)
		return -EINVAL;
	if (!numa_ok())
		return -EOPNOTSUPP;
	if (node > numa_max_node() || (unsigned long)node >= bits ||
	    !numa_bitmask_isbitset(numa_nodes_ptr, (unsigned)node))
		return -EINVAL;
	start = (uintptr_t)addr & ~(page - 1);
	end = ((uintptr_t)addr + len + page - 1) & ~(page - 1);
	mask[node / (int)(8 * sizeof(long))] = 1ul << (node % (int)(8 * sizeof(long)));
	/* Preferred, not bind: a full node must not make the allocation fail;
	 * MOVE migrates pages some thread already touched. */
	if (mbind((void *)start, end - start, MPOL_PREFERRED, mask, bits, MPOL_MF_MOVE) < 0)
		return -errno;
	return 0;
}

int uipc__mem_node(const void *addr, int *ret_node)
{
	int node = -1;

	if (!addr || !ret_node)
		return -EINVAL;
	if (!numa_ok())
		return -EOPNOTSUPP;
	if (get_mempolicy(&node, NULL, 0, (void *)(uintptr_t)addr, MPOL_F_NODE | MPOL_F_ADDR) < 0)
		return -errno;
	*ret_node = node;
	return 0;
}

int uipc__cpu_node(int cpu)
{
	int node;

	if (cpu < 0)
		return -EINVAL;
	if (!numa_ok())
		return -EOPNOTSUPP;
	/* libnuma fills its per-node CPU mask cache on first use without a
	 * lock: two threads doing so at once leak one mask (LeakSanitizer saw
	 * it in the chan-server example, whose workers start together). */
	pthread_mutex_lock(&numa_lock);
	node = numa_node_of_cpu(cpu);
	pthread_mutex_unlock(&numa_lock);
	return node < 0 ? -EINVAL : node;
}
#else
int uipc__mem_bind(void *addr, size_t len, int node)
{
	if (!addr || len == 0 || node < 0)
		return -EINVAL;
	return -EOPNOTSUPP;
}

int uipc__mem_node(const void *addr, int *ret_node)
{
	if (!addr || !ret_node)
		return -EINVAL;
	return -EOPNOTSUPP;
}

int uipc__cpu_node(int cpu)
{
	return cpu < 0 ? -EINVAL : -EOPNOTSUPP;
}
#endif

int uipc__mem_bind_local(void *addr, size_t len, int *ret_node)
{
	int cpu = sched_getcpu();
	int node, r;

	if (!addr || len == 0)
		return -EINVAL;
	if (cpu < 0)
		return -errno;
	node = uipc__cpu_node(cpu);
	if (node < 0)
		return node;
	r = uipc__mem_bind(addr, len, node);
	if (r < 0)
		return r;
	if (ret_node)
		*ret_node = node;
	return 0;
}

int uipc_topo_mem_bind(void *addr, size_t len, int node)
{
	return uipc__mem_bind(addr, len, node);
}

int uipc_topo_mem_node(const void *addr, int *ret_node)
{
	return uipc__mem_node(addr, ret_node);
}
