/* SPDX-License-Identifier: MIT */
/*
 * uipc_chan_new() accepted a receiver inherited through fork(): the child's
 * channel armed and disarmed the parent's status word, and the parent's
 * blocked wait missed its notify until its timeout, or for ever. Every
 * other call on an inherited receiver says -ECHILD; so must this one, and
 * uipc_topo_rx_cpu() (the owner thread it would name is the parent's).
 */
#include <sys/wait.h>

#include "regress.h"

static int child(uipc_rx *rx)
{
	struct uipc_chan_config cfg = {.msg_size = 8, .capacity = 8};
	uipc_chan *c = NULL;
	int cpu = -1, r;

	r = uipc_chan_new(rx, 5, &cfg, &c);
	if (r != -ECHILD) {
		fprintf(stderr, "child: uipc_chan_new() = %d\n", r);
		if (r == 0)
			uipc_chan_free(c);
		return T_FAIL;
	}
	r = uipc_topo_rx_cpu(rx, &cpu);
	if (r != -ECHILD) {
		fprintf(stderr, "child: uipc_topo_rx_cpu() = %d\n", r);
		return T_FAIL;
	}
	uipc_rx_free(rx);
	return T_PASS;
}

int main(void)
{
	struct uipc_chan_config cfg = {.msg_size = 8, .capacity = 8};
	uipc_chan *c;
	uipc_ctx *ctx;
	uipc_rx *rx;
	int cpu;
	pid_t pid;

	t_check(uipc_ctx_new(NULL, &ctx) == 0);
	t_check(uipc_rx_new(ctx, 0, &rx) == 0);
	pid = fork();
	t_check(pid >= 0);
	if (pid == 0)
		_exit(child(rx));
	t_check(t_child_ok(pid, T_CHILD_MS, "the child") == T_PASS);
	/* The parent's own calls still work. */
	t_check(uipc_topo_rx_cpu(rx, &cpu) == 0);
	t_check(uipc_chan_new(rx, 5, &cfg, &c) == 0);
	uipc_chan_free(c);
	uipc_rx_free(rx);
	uipc_ctx_free(ctx);
	return T_PASS;
}
