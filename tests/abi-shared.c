/* SPDX-License-Identifier: MIT */
/*
 * Linked against libuipc.so, as an application is:
 *  - the test-only UINTR model is not in it: "uintr-sim" is an unknown
 *    backend, by name and through UIPC_BACKEND;
 *  - programs built against 0.1 keep their behaviour through the UIPC_0.1
 *    symbol versions (struct layouts without size, uipc_rx_wait(0) saying
 *    -ETIMEDOUT);
 *  - 0.3's additions are exported under the UIPC_0.3 node.
 * main() returns 0 pass, 1 fail.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uipc.h>

#include "lib/t.h"

/* What a program compiled against 0.1's headers calls. */
struct chan_config_0_1 {
	size_t msg_size, capacity;
	unsigned flags;
	int numa_node;
};
struct topo_info_0_1 {
	enum uipc_topo_source source;
	unsigned flags, cpus, allowed, cores, l2, l3, packages, nodes;
};
int chan_new_0_1(uipc_rx *, unsigned, const struct chan_config_0_1 *, uipc_chan **);
int rx_wait_0_1(uipc_rx *, int64_t, uint64_t *);
int topo_get_info_0_1(const uipc_topo *, struct topo_info_0_1 *);
__asm__(".symver chan_new_0_1, uipc_chan_new@UIPC_0.1");
__asm__(".symver rx_wait_0_1, uipc_rx_wait@UIPC_0.1");
__asm__(".symver topo_get_info_0_1, uipc_topo_get_info@UIPC_0.1");
/* 0.3's addition, under its own node. */
int wait_any_0_3(uipc_rx *const *, unsigned, int64_t, uint64_t *);
__asm__(".symver wait_any_0_3, uipc_rx_wait_any@UIPC_0.3");

static void no_model(void)
{
	uipc_ctx *ctx = NULL;

	CHECK(uipc_ctx_new("uintr-sim", &ctx) == -EINVAL);
	setenv("UIPC_BACKEND", "uintr-sim", 1);
	CHECK(uipc_ctx_new(NULL, &ctx) == -EINVAL);
	unsetenv("UIPC_BACKEND");
	CHECK(ctx == NULL);
	for (int id = UIPC_BACKEND_AUTO; uipc_backend_name((enum uipc_backend)id); id++)
		CHECK(strstr(uipc_backend_name((enum uipc_backend)id), "sim") == NULL);
}

static void compat_0_1(void)
{
	struct chan_config_0_1 cfg = {.msg_size = 8, .capacity = 16};
	struct topo_info_0_1 old;
	struct uipc_topo_info now = UIPC_TOPO_INFO_INIT;
	uipc_topo *topo;
	uipc_ctx *ctx;
	uipc_rx *rx;
	uipc_chan *chan;
	uint64_t m;

	CHECK(uipc_ctx_new("futex", &ctx) == 0);
	CHECK(uipc_rx_new(ctx, 0, &rx) == 0);
	CHECK(rx_wait_0_1(rx, 0, &m) == -ETIMEDOUT);
	CHECK(uipc_rx_wait(rx, 0, &m) == -EAGAIN);
	CHECK(chan_new_0_1(rx, 1, &cfg, &chan) == 0);
	CHECK(uipc_chan_msg_size(chan) == 8);
	uipc_chan_free(chan);
	cfg.capacity = 3;
	CHECK(chan_new_0_1(rx, 1, &cfg, &chan) == -EINVAL);
	uipc_rx_free(rx);
	uipc_ctx_free(ctx);
	if (uipc_topo_new(&topo) == 0) {
		CHECK(topo_get_info_0_1(topo, &old) == 0);
		CHECK(uipc_topo_get_info(topo, &now) == 0);
		CHECK(old.cpus == now.cpus && old.nodes == now.nodes && old.source == now.source);
		uipc_topo_free(topo);
	}
}

/* uipc_rx_wait_any@UIPC_0.3 is the function the headers declare. */
static void added_0_3(void)
{
	uipc_ctx *ctx;
	uipc_rx *rx[2];
	uipc_tx *tx;
	uint64_t m[2] = {0, 0};

	CHECK(uipc_ctx_new("eventfd", &ctx) == 0);
	CHECK(uipc_rx_new(ctx, 0, &rx[0]) == 0);
	CHECK(uipc_rx_new(ctx, 0, &rx[1]) == 0);
	CHECK(uipc_tx_new(rx[1], 7, &tx) == 0);
	CHECK(wait_any_0_3(rx, 2, 0, m) == -EAGAIN);
	CHECK(uipc_tx_notify(tx) == 0);
	CHECK(wait_any_0_3(rx, 2, 0, m) == 1);
	CHECK(m[0] == 0 && m[1] == 1u << 7);
	uipc_tx_free(tx);
	uipc_rx_free(rx[1]);
	uipc_rx_free(rx[0]);
	uipc_ctx_free(ctx);
}

int main(void)
{
	no_model();
	compat_0_1();
	added_0_3();
	return t_failed;
}
