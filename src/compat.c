/* SPDX-License-Identifier: MIT */
/*
 * Earlier releases' versions of functions whose structures or contracts
 * changed, exported under their release's symbol version (src/libuipc.sym).
 * A program linked against libuipc.so.0 of that release keeps calling these;
 * programs built now get the current default versions (name@@UIPC_0.2).
 *
 * Built into libuipc.so only: versioned definitions have no meaning in a
 * static library or an executable.
 */
#include <string.h>

#include "uipc-private.h"

#define UIPC_COMPAT(fn, name_at_version) __asm__(".symver " #fn ", " name_at_version)

/* 0.1: struct uipc_chan_config without its size field. */
struct uipc_chan_config_v0_1 {
	size_t msg_size;
	size_t capacity;
	unsigned flags;
	int numa_node;
};

UIPC_API int uipc__chan_new_v0_1(uipc_rx *rx, unsigned vector,
                                 const struct uipc_chan_config_v0_1 *config, uipc_chan **ret_chan);
UIPC_COMPAT(uipc__chan_new_v0_1, "uipc_chan_new@UIPC_0.1");
UIPC_API int uipc__chan_new_v0_1(uipc_rx *rx, unsigned vector,
                                 const struct uipc_chan_config_v0_1 *config, uipc_chan **ret_chan)
{
	struct uipc_chan_config c = {.size = sizeof(c)};

	uipc_return_if(!config, -EINVAL);
	c.msg_size = config->msg_size;
	c.capacity = config->capacity;
	c.flags = config->flags;
	c.numa_node = config->numa_node;
	return uipc_chan_new(rx, vector, &c, ret_chan);
}

/* 0.1: struct uipc_topo_info without its size field. */
struct uipc_topo_info_v0_1 {
	enum uipc_topo_source source;
	unsigned flags, cpus, allowed, cores, l2, l3, packages, nodes;
};

UIPC_API int uipc__topo_get_info_v0_1(const uipc_topo *topo, struct uipc_topo_info_v0_1 *ret);
UIPC_COMPAT(uipc__topo_get_info_v0_1, "uipc_topo_get_info@UIPC_0.1");
UIPC_API int uipc__topo_get_info_v0_1(const uipc_topo *topo, struct uipc_topo_info_v0_1 *ret)
{
	struct uipc_topo_info i = UIPC_TOPO_INFO_INIT;
	int r;

	uipc_return_if(!ret, -EINVAL);
	r = uipc_topo_get_info(topo, &i);
	if (r < 0)
		return r;
	*ret = (struct uipc_topo_info_v0_1){i.source, i.flags, i.cpus,     i.allowed, i.cores,
	                                    i.l2,     i.l3,    i.packages, i.nodes};
	return 0;
}

/* 0.1: uipc_rx_wait() with timeout 0 said -ETIMEDOUT when nothing was
 * pending; since 0.2 it says -EAGAIN, as every other call that was asked
 * not to wait. */
UIPC_API int uipc__rx_wait_v0_1(uipc_rx *rx, int64_t timeout_ns, uint64_t *ret_mask);
UIPC_COMPAT(uipc__rx_wait_v0_1, "uipc_rx_wait@UIPC_0.1");
UIPC_API int uipc__rx_wait_v0_1(uipc_rx *rx, int64_t timeout_ns, uint64_t *ret_mask)
{
	int r = uipc_rx_wait(rx, timeout_ns, ret_mask);

	return r == -EAGAIN && timeout_ns == 0 ? -ETIMEDOUT : r;
}
