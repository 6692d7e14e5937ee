/* SPDX-License-Identifier: MIT */
/*
 * Topology-aware sender placement.
 *
 * The main thread is the receiver. It stays on the CPU it runs on, asks the
 * topology where its senders should run (nearest first, off its own core),
 * and starts N sender threads, each of which pins itself to its CPU and
 * notifies the receiver on its own vector. A buffer the receiver reads is
 * placed on the receiver's NUMA node.
 *
 *   placement [senders] [nearest|spread|same-node]
 *
 * Set UIPC_TOPOLOGY_XML to an hwloc XML file to see the plan for another
 * machine (the pinning then fails where this machine lacks the CPU).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <uipc.h>

struct sender {
	pthread_t thread;
	unsigned index;
	int cpu;        /* where the plan put it */
	int actual;     /* where it ran after pinning */
	int pin_result; /* 0 or -errno */
	uipc_tx *tx;
};

static void *sender_main(void *arg)
{
	struct sender *s = arg;

	/* Pin first, so that the notify already comes from the chosen CPU. */
	s->pin_result = uipc_topo_pin(0, s->cpu);
	if (uipc_topo_thread_cpu(0, 0, &s->actual) < 0)
		s->actual = -1;
	uipc_tx_notify(s->tx);
	return NULL;
}

static int die(const char *what, int err)
{
	fprintf(stderr, "placement: %s: %s\n", what, strerror(-err));
	return 1;
}

/* The receiver's memory (channel rings, tables) belongs on its node. */
static void place_memory(int node)
{
	size_t len = 1 << 20;
	void *buf = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int r, got = -1;

	if (buf == MAP_FAILED)
		return;
	r = uipc_topo_mem_bind(buf, len, node);
	if (r == 0) {
		memset(buf, 0, len); /* first touch allocates, on the node */
		uipc_topo_mem_node(buf, &got);
		printf("receiver memory: 1 MiB on node %d\n", got);
	} else {
		printf("receiver memory: not placed (%s)\n", strerror(-r));
	}
	munmap(buf, len);
}

static int run(uipc_topo *topo, unsigned n, enum uipc_topo_policy policy)
{
	struct sender senders[UIPC_VECTORS];
	int plan[UIPC_VECTORS];
	unsigned flags = 0;
	uipc_ctx *ctx = NULL;
	uipc_rx *rx = NULL;
	uint64_t seen = 0, all = n == 64 ? ~0ull : (1ull << n) - 1;
	int me, r, count;

	r = uipc_ctx_new(NULL, &ctx);
	if (r < 0)
		return die("context", r);
	r = uipc_rx_new(ctx, 0, &rx);
	if (r < 0)
		return die("receiver", r);

	/* Keep the receiver where it is, so the plan stays right. */
	r = uipc_topo_rx_cpu(rx, &me);
	if (r < 0)
		return die("receiver cpu", r);
	uipc_topo_pin(0, me);
	printf("receiver on cpu %d (node %d)\n", me, uipc_topo_cpu_node(topo, me));
	place_memory(uipc_topo_cpu_node(topo, me));

	count = uipc_topo_rank(topo, me, policy, flags, plan, n);
	if (count == 0) {
		/* One core (or a cpuset of one): share the receiver's core. */
		flags = UIPC_TOPO_RANK_OWN_CORE;
		count = uipc_topo_rank(topo, me, policy, flags, plan, n);
		printf("no CPU off the receiver's core: sharing it\n");
	}
	if (count <= 0)
		return die("rank", count < 0 ? count : -ENOENT);
	if (count > (int)n)
		count = (int)n; /* only n were written */

	for (unsigned i = 0; i < n; i++) {
		struct sender *s = &senders[i];

		s->index = i;
		/* More senders than CPUs: wrap around the list. */
		s->cpu = plan[i % (unsigned)count];
		r = uipc_tx_new(rx, i, &s->tx);
		if (r < 0)
			return die("sender", r);
		if (pthread_create(&s->thread, NULL, sender_main, s) != 0)
			return die("thread", -EAGAIN);
	}

	while (seen != all) {
		uint64_t mask = 0;

		r = uipc_rx_wait(rx, 5000000000ll, &mask);
		if (r < 0)
			return die("wait", r);
		seen |= mask;
	}

	for (unsigned i = 0; i < n; i++) {
		struct sender *s = &senders[i];
		int d;

		pthread_join(s->thread, NULL);
		d = uipc_topo_distance(topo, me, s->cpu);
		printf("sender %u: cpu %d (%s from the receiver), ran on %d%s\n", i, s->cpu,
		       d >= 0 ? uipc_topo_dist_name((enum uipc_topo_dist)d) : "?", s->actual,
		       s->pin_result < 0 ? " (pinning failed)" : "");
		uipc_tx_free(s->tx);
	}
	printf("receiver: heard all %u senders\n", n);
	uipc_rx_free(rx);
	uipc_ctx_free(ctx);
	return 0;
}

int main(int argc, char **argv)
{
	enum uipc_topo_policy policy = UIPC_TOPO_NEAREST;
	unsigned n = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 3;
	uipc_topo *topo = NULL;
	char summary[2048];
	int r;

	if (n == 0 || n > UIPC_VECTORS ||
	    (argc > 2 && uipc_topo_policy_parse(argv[2], &policy) < 0)) {
		fprintf(stderr, "usage: placement [1-64 senders] [nearest|spread|same-node]\n");
		return 2;
	}
	r = uipc_topo_new(&topo);
	if (r < 0)
		return die("topology", r);
	uipc_topo_describe(topo, summary, sizeof(summary));
	fputs(summary, stdout);
	printf("policy: %s, %u senders\n", uipc_topo_policy_name(policy), n);
	r = run(topo, n, policy);
	uipc_topo_free(topo);
	return r;
}
