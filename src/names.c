/* SPDX-License-Identifier: MIT */
/*
 * The names of 0.2 (doc/conventions.md) for functions that 0.1 named
 * otherwise. The 0.1 names stay exported (UIPC_0.1) and behave the same.
 */
#include "uipc-private.h"

UIPC_API int uipc_rx_cap(uipc_rx *rx, unsigned vector)
{
	return uipc_rx_vector_fd(rx, vector);
}

UIPC_API int uipc_tx_open(uipc_ctx *ctx, int cap_fd, uipc_tx **ret_tx)
{
	return uipc_tx_connect(ctx, cap_fd, ret_tx);
}

UIPC_API int uipc_cap_send(int sock, int cap_fd)
{
	return uipc_fd_send(sock, cap_fd);
}

UIPC_API int uipc_cap_recv(int sock, int *ret_cap_fd)
{
	return uipc_fd_recv(sock, ret_cap_fd);
}

UIPC_API int uipc_chan_cap(uipc_chan *chan)
{
	return uipc_chan_fd(chan);
}

UIPC_API int uipc_chan_cap_send(uipc_chan *chan, int sock)
{
	return uipc_chan_give(chan, sock);
}

UIPC_API int uipc_chan_tx_open_sock(uipc_ctx *ctx, int sock, uipc_chan_tx **ret_tx)
{
	return uipc_chan_attach(ctx, sock, ret_tx);
}
