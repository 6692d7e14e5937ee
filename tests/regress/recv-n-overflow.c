/* SPDX-License-Identifier: MIT */
/*
 * uipc_chan_recv_n() wrote n * msg_size bytes whatever the buffer's size
 * said (it was checked against one message only). Here the buffer ends at a
 * guard page: the receive must stop at what fits.
 */
#include <sys/mman.h>

#include "regress.h"

int main(void)
{
	struct uipc_chan_config cfg = {.msg_size = 8, .capacity = 16};
	long page = sysconf(_SC_PAGESIZE);
	unsigned char *area, *buf;
	uipc_chan_tx *p;
	uipc_chan *c;
	uipc_ctx *ctx;
	uipc_rx *rx;
	uint64_t v[4] = {1, 2, 3, 4};

	area = mmap(NULL, (size_t)page * 2, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
	            0);
	t_check(area != MAP_FAILED);
	t_check(mprotect(area + page, (size_t)page, PROT_NONE) == 0);
	buf = area + page - 16; /* room for two messages */

	t_check(uipc_ctx_new(NULL, &ctx) == 0);
	t_check(uipc_rx_new(ctx, 0, &rx) == 0);
	t_check(uipc_chan_new(rx, 0, &cfg, &c) == 0);
	t_check(uipc_chan_tx_new(c, &p) == 0);
	t_check(uipc_chan_send_n(p, v, 4) == 4);
	t_check(uipc_chan_recv_n(c, buf, 4, 16, 0) == 2);
	t_check(memcmp(buf, v, 16) == 0);
	t_check(uipc_chan_recv_n(c, buf, 4, 16, 0) == 2);
	t_check(memcmp(buf, v + 2, 16) == 0);
	/* Not even one message fits: refused. */
	t_check(uipc_chan_recv_n(c, buf, 4, 7, 0) == -EINVAL);

	uipc_chan_tx_free(p);
	uipc_chan_free(c);
	uipc_rx_free(rx);
	uipc_ctx_free(ctx);
	munmap(area, (size_t)page * 2);
	return T_PASS;
}
