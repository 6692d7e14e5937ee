/* SPDX-License-Identifier: MIT */
/*
 * NUMA memory placement: channel rings and descriptors go on the receiver's
 * node, because the receiver reads them on every wakeup while each sender
 * only writes a line or two.
 */
#include <dirent.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "uipc-config.h"
#include "uipc-private.h"

#if UIPC_HAVE_NUMA
/*
 * The kernel's NUMA calls directly (mbind(2), get_mempolicy(2)) and sysfs,
 * not libnuma: a wakeup library should not pull in a NUMA library for two
 * system calls (doc/placement.md).
 */
#include <linux/mempolicy.h>

#define NODE_BITS 4096 /* nodes a mask can name */

/* Does the kernel have NUMA? (get_mempolicy() is ENOSYS without it.) */
static bool numa_ok(void)
{
	int mode;

	return syscall(SYS_get_mempolicy, &mode, NULL, 0UL, NULL, 0UL) == 0;
}

static bool node_exists(int node)
{
	char path[64];

	snprintf(path, sizeof(path), "/sys/devices/system/node/node%d", node);
	return access(path, F_OK) == 0;
}

int uipc__mem_bind(void *addr, size_t len, int node)
{
	uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
	uintptr_t start, end;
	unsigned long mask[NODE_BITS / (8 * sizeof(long))] = {0};

	if (!addr || len == 0 || node < 0)
		return -EINVAL;
	if (!numa_ok())
		return -EOPNOTSUPP;
	if (node >= NODE_BITS || !node_exists(node))
		return -EINVAL;
	start = (uintptr_t)addr & ~(page - 1);
	end = ((uintptr_t)addr + len + page - 1) & ~(page - 1);
	mask[node / (int)(8 * sizeof(long))] = 1ul << (node % (int)(8 * sizeof(long)));
	/* Preferred, not bind: a full node must not make the allocation fail;
	 * MOVE migrates pages some thread already touched. */
	if (syscall(SYS_mbind, start, end - start, (unsigned long)MPOL_PREFERRED, mask,
	            (unsigned long)NODE_BITS, (unsigned long)MPOL_MF_MOVE) < 0)
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
	if (syscall(SYS_get_mempolicy, &node, NULL, 0UL, addr,
	            (unsigned long)(MPOL_F_NODE | MPOL_F_ADDR)) < 0)
		return -errno;
	*ret_node = node;
	return 0;
}

/* /sys/devices/system/cpu/cpuN/ has a nodeM link for its node. */
int uipc__cpu_node(int cpu)
{
	char path[64];
	struct dirent *e;
	int node = -EINVAL;
	DIR *d;

	if (cpu < 0)
		return -EINVAL;
	if (!numa_ok())
		return -EOPNOTSUPP;
	snprintf(path, sizeof(path), "/sys/devices/system/cpu/cpu%d", cpu);
	d = opendir(path);
	if (!d)
		return -EINVAL;
	while ((e = readdir(d))) {
		char *end;
		long v;

		if (strncmp(e->d_name, "node", 4) != 0 || !e->d_name[4])
			continue;
		v = strtol(e->d_name + 4, &end, 10);
		if (!*end && v >= 0 && v < NODE_BITS) {
			node = (int)v;
			break;
		}
	}
	closedir(d);
	return node;
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
