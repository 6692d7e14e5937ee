/* SPDX-License-Identifier: MIT */
/*
 * The membarrier() fallback never settled. A channel's producers in the
 * consumer's process skip their fence while the consumer runs membarrier()
 * before it sleeps; when membarrier() started failing after set-up (here: a
 * seccomp filter entered later, as a sandbox does), the producers were
 * switched back to fencing, but every later sleep still asked for a
 * membarrier(), failed again and bounded itself to a millisecond: every
 * uipc_rx_arm() of an idle receiver said -EAGAIN (an epoll loop spun) and an
 * idle receive woke every millisecond. The fallback now happens once, for
 * good.
 */
#include <linux/filter.h>
#include <linux/membarrier.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "regress.h"

/* membarrier() fails with EPERM from now on; everything else is allowed. */
static int deny_membarrier(void)
{
	struct sock_filter f[] = {
	    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
	    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_membarrier, 0, 1),
	    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
	    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = {.len = sizeof(f) / sizeof(f[0]), .filter = f};

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -1;
	return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0);
}

static int run(void)
{
	struct uipc_chan_config cfg = {.msg_size = 8, .capacity = 8, .flags = UIPC_CHAN_LIGHT};
	uipc_chan_tx *p;
	uipc_chan *c;
	uipc_ctx *ctx;
	uipc_rx *rx;
	uint64_t v = 7, m, arms;
	int r, again = 0;

	t_check(uipc_ctx_new(NULL, &ctx) == 0);
	t_check(uipc_rx_new(ctx, UIPC_RX_POLLABLE, &rx) == 0);
	t_check(uipc_chan_new(rx, 5, &cfg, &c) == 0);
	t_check(uipc_chan_tx_new(c, &p) == 0);
	/* Fence-free producers need a working membarrier() at set-up. */
	if (syscall(SYS_membarrier, MEMBARRIER_CMD_QUERY, 0, 0) <= 0 || !rx->links ||
	    !rx->links->light(rx->links))
		return T_SKIP;
	t_check(deny_membarrier() == 0);

	/* An event loop on an idle receiver: the switch may cost one
	 * -EAGAIN, never more. */
	for (int i = 0; i < 20; i++) {
		r = uipc_rx_arm(rx);
		t_check(r == 0 || r == -EAGAIN);
		again += r == -EAGAIN;
		t_check(uipc_rx_drain(rx, &m) == 0);
	}
	if (again > 1)
		fprintf(stderr, "uipc_rx_arm(): %d of 20 said -EAGAIN\n", again);
	t_check(again <= 1);

	/* An idle receive sleeps through: not one wake a millisecond. */
	arms = rx->w.arms;
	t_check(uipc_chan_recv(c, &m, 8, 200000000) == -ETIMEDOUT);
	if (rx->w.arms - arms > 3)
		fprintf(stderr, "idle 200 ms receive armed %llu times\n",
		        (unsigned long long)(rx->w.arms - arms));
	t_check(rx->w.arms - arms <= 3);

	/* The producers fence now, and still deliver. */
	t_check(uipc_chan_send(p, &v, 8) == 0);
	t_check(uipc_chan_recv(c, &m, 8, -1) == 0 && m == 7);

	uipc_chan_tx_free(p);
	uipc_chan_free(c);
	uipc_rx_free(rx);
	uipc_ctx_free(ctx);
	return T_PASS;
}

int main(void)
{
	/* The filter stays with the process: keep it out of the parent. */
	return t_in_child(run, T_CHILD_MS, "the child never finished");
}
