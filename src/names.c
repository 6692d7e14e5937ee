/* SPDX-License-Identifier: MIT */
/*
 * The names 0.1 gave functions that 0.2 renamed (doc/conventions.md): thin
 * forwarders to the current names, which hold the code. They stay exported
 * (UIPC_0.1) and behave the same. Here and not in compat.c, which only the
 * shared library builds: the static library keeps these names too.
 */
#include "uipc-private.h"

UIPC_API int uipc_rx_vector_fd(uipc_rx *rx, unsigned vector)
{
	return uipc_rx_cap(rx, vector);
}

UIPC_API int uipc_tx_connect(uipc_ctx *ctx, int cap_fd, uipc_tx **ret_tx)
{
	return uipc_tx_open(ctx, cap_fd, ret_tx);
}

UIPC_API int uipc_fd_send(int sock, int fd)
{
	return uipc_cap_send(sock, fd);
}

UIPC_API int uipc_fd_recv(int sock, int *ret_fd)
{
	return uipc_cap_recv(sock, ret_fd);
}

UIPC_API int uipc_chan_fd(uipc_chan *chan)
{
	return uipc_chan_cap(chan);
}

UIPC_API int uipc_chan_give(uipc_chan *chan, int sock)
{
	return uipc_chan_cap_send(chan, sock);
}

UIPC_API int uipc_chan_attach(uipc_ctx *ctx, int sock, uipc_chan_tx **ret_tx)
{
	return uipc_chan_tx_open_sock(ctx, sock, ret_tx);
}
