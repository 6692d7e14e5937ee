/* SPDX-License-Identifier: MIT */
/*
 * The ABI that can grow: the runtime version, structures with a size, and
 * shared memory laid out by another release (-EPROTONOSUPPORT, apart from
 * -EINVAL for what is not a uipc object at all). Internals are used to
 * play the peer of another release. main() returns 0 pass, 1 fail.
 */
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "uipc-private.h"
#include "hooks.h"

#include "lib/t.h"

static void version(void)
{
	CHECK(uipc_version() == UIPC_VERSION_NUMBER);
	CHECK(strcmp(uipc_version_string(), UIPC_VERSION_STRING) == 0);
	CHECK(uipc_version_check(UIPC_VERSION_MAJOR, UIPC_VERSION_MINOR, UIPC_VERSION_MICRO) == 0);
	CHECK(uipc_version_check(0, 1, 0) == 0); /* 0.1 programs run on this library */
	CHECK(uipc_version_check(UIPC_VERSION_MAJOR, UIPC_VERSION_MINOR + 1, 0) ==
	      -EPROTONOSUPPORT);
	CHECK(uipc_version_check(UIPC_VERSION_MAJOR + 1, 0, 0) == -EPROTONOSUPPORT);
	CHECK(uipc_version_check(UIPC_VERSION_MAJOR, 0, 256) == -EPROTONOSUPPORT);
}

/* A receiver of another release: its descriptor says another layout. */
static void desc_of_another_release(uipc_ctx *ctx)
{
	uipc_rx *rx;
	uipc_tx *tx = (uipc_tx *)0x1;
	int cap;

	CHECK(uipc_rx_new(ctx, 0, &rx) == 0);
	cap = uipc_rx_vector_fd(rx, 3);
	CHECK(cap >= 0);
	rx->desc->abi = UIPC_DESC_ABI + 1;
	CHECK(uipc_tx_connect(ctx, cap, &tx) == -EPROTONOSUPPORT);
	CHECK(tx == (uipc_tx *)0x1);
	/* Not a uipc descriptor at all: still -EINVAL. */
	rx->desc->abi = UIPC_DESC_ABI;
	rx->desc->magic = ~UIPC_DESC_MAGIC;
	CHECK(uipc_tx_connect(ctx, cap, &tx) == -EINVAL);
	rx->desc->magic = UIPC_DESC_MAGIC;
	CHECK(uipc_tx_connect(ctx, cap, &tx) == 0);
	uipc_tx_free(tx);
	close(cap);
	uipc_rx_free(rx);
}

/* A channel of another release: the ring's header says another layout. */
static void chan_of_another_release(uipc_ctx *ctx)
{
	struct uipc_chan_config cfg = {.size = sizeof(cfg), .msg_size = 8, .capacity = 16};
	struct uipc__chan_layout l;
	uipc_chan_tx *tx = (uipc_chan_tx *)0x1;
	uipc_chan *chan;
	uipc_rx *rx;
	uint32_t *hdr, abi;

	CHECK(uipc_rx_new(ctx, 0, &rx) == 0);
	CHECK(uipc_chan_new(rx, 0, &cfg, &chan) == 0);
	uipc__chan_layout(chan, &l);
	hdr = l.map; /* magic, then the layout's version */
	abi = hdr[1];
	hdr[1] = abi + 1;
	CHECK(uipc_chan_tx_new(chan, &tx) == -EPROTONOSUPPORT);
	CHECK(tx == (uipc_chan_tx *)0x1);
	hdr[1] = abi;
	hdr[0] = ~hdr[0];
	CHECK(uipc_chan_tx_new(chan, &tx) == -EINVAL);
	hdr[0] = ~hdr[0];
	CHECK(uipc_chan_tx_new(chan, &tx) == 0);
	uipc_chan_tx_free(tx);
	uipc_chan_free(chan);
	uipc_rx_free(rx);
}

/* struct uipc_chan_config: 0 is this layout, a later one must not set
 * what this library cannot honour. */
static void chan_config_size(uipc_ctx *ctx)
{
	struct {
		struct uipc_chan_config c;
		uint64_t later_field;
	} big = {{.size = sizeof(big), .msg_size = 8, .capacity = 16}, 0};
	struct uipc_chan_config cfg = {.msg_size = 8, .capacity = 16};
	uipc_chan *chan = (uipc_chan *)0x1;
	uipc_rx *rx;

	CHECK(uipc_rx_new(ctx, 0, &rx) == 0);
	CHECK(uipc_chan_new(rx, 0, &cfg, &chan) == 0); /* size 0 */
	uipc_chan_free(chan);
	cfg.size = sizeof(cfg);
	CHECK(uipc_chan_new(rx, 0, &cfg, &chan) == 0);
	uipc_chan_free(chan);
	chan = (uipc_chan *)0x1;
	cfg.size = sizeof(cfg) - 1;
	CHECK(uipc_chan_new(rx, 0, &cfg, &chan) == -EINVAL);
	CHECK(chan == (uipc_chan *)0x1);
	big.later_field = 1;
	CHECK(uipc_chan_new(rx, 0, &big.c, &chan) == -E2BIG);
	big.later_field = 0;
	CHECK(uipc_chan_new(rx, 0, &big.c, &chan) == 0);
	uipc_chan_free(chan);
	uipc_rx_free(rx);
}

/* struct uipc_topo_info: the library writes no more than the caller's size. */
static void topo_info_size(void)
{
	struct {
		struct uipc_topo_info i;
		unsigned char later[16];
	} big;
	struct uipc_topo_info info = UIPC_TOPO_INFO_INIT, zero = {0};
	uipc_topo *topo;

	if (uipc_topo_new(&topo) < 0)
		return;
	CHECK(uipc_topo_get_info(topo, &info) == 0);
	CHECK(info.size == sizeof(info) && info.cpus > 0);
	CHECK(uipc_topo_get_info(topo, &zero) == 0);
	CHECK(zero.size == sizeof(zero) && zero.cpus == info.cpus);
	memset(&big, 0xa5, sizeof(big));
	big.i.size = sizeof(big);
	CHECK(uipc_topo_get_info(topo, &big.i) == 0);
	CHECK(big.i.size == sizeof(big.i) && big.i.cpus == info.cpus);
	for (size_t k = 0; k < sizeof(big.later); k++)
		CHECK(big.later[k] == 0); /* fields this release does not know: zeroed */
	info.size = sizeof(info) - 1;
	info.cpus = 12345;
	CHECK(uipc_topo_get_info(topo, &info) == -EINVAL);
	CHECK(info.cpus == 12345);
	uipc_topo_free(topo);
}

/* The names of 0.2 and the 0.1 aliases do the same thing. */
static void names(uipc_ctx *ctx)
{
	struct uipc_chan_config cfg = {.msg_size = 8, .capacity = 16};
	uipc_chan_tx *p1 = NULL, *p2 = NULL;
	uipc_tx *t1 = NULL, *t2 = NULL;
	uipc_chan *chan;
	uipc_rx *rx;
	uint64_t m, v = 7;
	int sv[2], cap, got = -1;

	CHECK(uipc_rx_new(ctx, 0, &rx) == 0);
	cap = uipc_rx_cap(rx, 2);
	CHECK(cap >= 0 && uipc_rx_cap(rx, 64) == -EINVAL && uipc_rx_vector_fd(rx, 64) == -EINVAL);
	CHECK(uipc_tx_open(ctx, cap, &t1) == 0 && uipc_tx_connect(ctx, cap, &t2) == 0);
	CHECK(uipc_tx_open(ctx, -1, &t1) == -EBADF);
	CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == 0);
	CHECK(uipc_cap_send(sv[0], cap) == 0 && uipc_cap_recv(sv[1], &got) == 0);
	CHECK(got >= 0 && got != cap);
	close(got);
	CHECK(uipc_fd_send(sv[0], cap) == 0 && uipc_fd_recv(sv[1], &got) == 0);
	close(got);
	CHECK(uipc_tx_notify(t1) == 0 && uipc_rx_poll(rx, &m) == 0 && m == 1u << 2);
	CHECK(uipc_tx_notify(t2) == 0 && uipc_rx_poll(rx, &m) == 0 && m == 1u << 2);
	uipc_tx_free(t1);
	uipc_tx_free(t2);
	close(cap);

	CHECK(uipc_chan_new(rx, 0, &cfg, &chan) == 0);
	cap = uipc_chan_cap(chan);
	CHECK(cap >= 0);
	close(cap);
	CHECK(uipc_chan_cap(NULL) == -EINVAL && uipc_chan_fd(NULL) == -EINVAL);
	CHECK(uipc_chan_cap_send(chan, sv[0]) == 0 && uipc_chan_tx_open_sock(ctx, sv[1], &p1) == 0);
	CHECK(uipc_chan_send(p1, &v, 8) == 0);
	uipc_chan_tx_free(p1);
	CHECK(uipc_chan_give(chan, sv[0]) == 0 && uipc_chan_attach(ctx, sv[1], &p2) == 0);
	uipc_chan_tx_free(p2);
	CHECK(uipc_chan_recv(chan, &v, 8, 0) == 0 && v == 7);
	CHECK(uipc_chan_recv(chan, &v, 8, 0) == -EAGAIN);
	close(sv[0]);
	close(sv[1]);
	uipc_chan_free(chan);
	uipc_rx_free(rx);
}

/* "Nothing pending" is -EAGAIN whenever the call was asked not to wait. */
static void nothing_pending(uipc_ctx *ctx)
{
	uipc_rx *rx;
	uint64_t m = 99;

	CHECK(uipc_rx_new(ctx, 0, &rx) == 0);
	CHECK(uipc_rx_wait(rx, 0, &m) == -EAGAIN);
	CHECK(uipc_rx_poll(rx, &m) == -EAGAIN);
	CHECK(uipc_rx_wait(rx, 1000, &m) == -ETIMEDOUT);
	CHECK(m == 99);
	uipc_rx_free(rx);
}

/* A channel holds a reference on its receiver: free them in any order. */
static void ownership(uipc_ctx *ctx)
{
	struct uipc_chan_config cfg = {.msg_size = 8, .capacity = 16};
	uipc_chan_tx *p;
	uipc_chan *chan, *chan2;
	uipc_tx *tx;
	uipc_rx *rx;
	uint64_t v = 5;

	CHECK(uipc_rx_new(ctx, 0, &rx) == 0);
	CHECK(uipc_tx_new(rx, 9, &tx) == 0);
	CHECK(uipc_chan_new(rx, 0, &cfg, &chan) == 0);
	CHECK(uipc_chan_new(rx, 1, &cfg, &chan2) == 0);
	CHECK(uipc_chan_tx_new(chan, &p) == 0);
	uipc_rx_free(rx); /* the channels keep it */
	CHECK(uipc_tx_check(tx) == 0);
	CHECK(uipc_chan_send(p, &v, 8) == 0);
	v = 0;
	CHECK(uipc_chan_recv(chan, &v, 8, 1000000000) == 0 && v == 5);
	uipc_chan_free(chan);
	CHECK(uipc_tx_check(tx) == 0); /* chan2 still holds it */
	uipc_chan_free(chan2);
	CHECK(uipc_tx_check(tx) == -EPIPE); /* the last one destroyed it */
	CHECK(uipc_tx_notify(tx) == -EPIPE);
	uipc_chan_tx_free(p);
	uipc_tx_free(tx);
}

int main(void)
{
	uipc_ctx *ctx;

	version();
	if (uipc_ctx_new("futex", &ctx) < 0) {
		printf("SKIP: no futex backend\n");
		return 77;
	}
	desc_of_another_release(ctx);
	chan_of_another_release(ctx);
	chan_config_size(ctx);
	topo_info_size();
	names(ctx);
	nothing_pending(ctx);
	ownership(ctx);
	uipc_ctx_free(ctx);
	return t_failed;
}
