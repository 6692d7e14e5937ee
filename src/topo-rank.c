/* SPDX-License-Identifier: MIT */
/*
 * Ranking and placement: the CPUs near a receiver's, nearest first, by the
 * distance classes of topo-private.h; pinning threads there, and where a
 * thread (a receiver's, a sender's peer) last ran.
 */
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "topo-private.h"

struct cand {
	const struct topo_cpu *c;
	int key[4]; /* compared in order, then the CPU id */
	int self;   /* the reference CPU: always last */
	int sib;    /* rank among the candidate threads of its core */
};

static int cmp_cand(const void *a, const void *b)
{
	const struct cand *x = a, *y = b;

	if (x->self != y->self)
		return x->self - y->self;
	for (int i = 0; i < 4; i++)
		if (x->key[i] != y->key[i])
			return x->key[i] < y->key[i] ? -1 : 1;
	return uipc__topo_cmp_int(&x->c->id, &y->c->id);
}

/* Group threads by core, the reference CPU first within its core (it is
 * busy with the receiver), so that sib counts the threads before each one. */
static int cmp_core(const void *a, const void *b)
{
	const struct cand *x = a, *y = b;
	int kx = x->c->core >= 0 ? x->c->core : -1 - x->c->id;
	int ky = y->c->core >= 0 ? y->c->core : -1 - y->c->id;

	if (kx != ky)
		return kx < ky ? -1 : 1;
	if (x->self != y->self)
		return y->self - x->self;
	return uipc__topo_cmp_int(&x->c->id, &y->c->id);
}

static void cand_sib(struct cand *v, size_t k)
{
	qsort(v, k, sizeof(*v), cmp_core);
	for (size_t i = 0; i < k; i++)
		v[i].sib = i > 0 && v[i].c->core >= 0 && v[i].c->core == v[i - 1].c->core
		               ? v[i - 1].sib + 1
		               : 0;
}

static void cand_keys(const uipc_topo *t, const struct topo_cpu *ref, enum uipc_topo_policy policy,
                      struct cand *v, size_t k)
{
	for (size_t i = 0; i < k; i++) {
		int cls = (int)uipc__topo_cpu_dist(ref, v[i].c);
		int nd = uipc__topo_node_dist(t, ref->node, v[i].c->node);
		int *key = v[i].key;

		nd = nd < 0 ? 0 : nd;
		if (policy == UIPC_TOPO_SPREAD) {
			key[0] = v[i].sib;
			key[1] = cls;
			key[2] = nd;
		} else {
			key[0] = cls;
			key[1] = nd;
			key[2] = v[i].sib;
		}
		key[3] = 0;
	}
}

/* Candidates: allowed CPUs, minus the reference core unless asked, minus
 * other nodes for SAME_NODE. The reference CPU itself is included (last)
 * only with OWN_CORE. */
static size_t cand_collect(const uipc_topo *t, const struct topo_cpu *ref,
                           enum uipc_topo_policy policy, unsigned flags, struct cand *v)
{
	size_t k = 0;

	for (size_t i = 0; i < t->ncpus; i++) {
		const struct topo_cpu *c = &t->cpu[i];
		enum uipc_topo_dist cls = uipc__topo_cpu_dist(ref, c);

		if (!c->allowed)
			continue;
		if (cls <= UIPC_TOPO_DIST_SMT && !(flags & UIPC_TOPO_RANK_OWN_CORE))
			continue;
		if (policy == UIPC_TOPO_SAME_NODE && c->node != ref->node)
			continue;
		v[k] = (struct cand){.c = c, .self = cls == UIPC_TOPO_DIST_SELF};
		k++;
	}
	return k;
}

int uipc_topo_rank(const uipc_topo *topo, int cpu, enum uipc_topo_policy policy, unsigned flags,
                   int *ret_cpus, size_t n)
{
	const struct topo_cpu *ref;
	struct cand *v;
	size_t k;

	uipc_return_if(!topo || (!ret_cpus && n > 0), -EINVAL);
	uipc_return_if((unsigned)policy > UIPC_TOPO_SAME_NODE, -EINVAL);
	uipc_return_if(flags & ~(unsigned)UIPC_TOPO_RANK_OWN_CORE, -EINVAL);
	ref = uipc__topo_cpu(topo, cpu);
	uipc_return_if(!ref, -EINVAL);

	v = uipc__calloc(topo->ncpus, sizeof(*v));
	if (!v)
		return -ENOMEM;
	k = cand_collect(topo, ref, policy, flags, v);
	cand_sib(v, k);
	cand_keys(topo, ref, policy, v, k);
	qsort(v, k, sizeof(*v), cmp_cand);
	for (size_t i = 0; i < k && i < n; i++)
		ret_cpus[i] = v[i].c->id;
	free(v);
	return (int)k;
}

int uipc_topo_place(const uipc_topo *topo, int cpu, enum uipc_topo_policy policy, unsigned flags,
                    unsigned index, int *ret_cpu)
{
	int *list;
	int k;

	uipc_return_if(!topo || !ret_cpu, -EINVAL);
	list = uipc__calloc(topo->ncpus, sizeof(int));
	if (!list)
		return -ENOMEM;
	k = uipc_topo_rank(topo, cpu, policy, flags, list, topo->ncpus);
	if (k == 0)
		k = -ENOENT;
	if (k > 0)
		*ret_cpu = list[index % (unsigned)k];
	free(list);
	return k < 0 ? k : 0;
}

const char *uipc_topo_policy_name(enum uipc_topo_policy policy)
{
	switch (policy) {
	case UIPC_TOPO_NEAREST:
		return "nearest";
	case UIPC_TOPO_SPREAD:
		return "spread";
	case UIPC_TOPO_SAME_NODE:
		return "same-node";
	}
	return NULL;
}

int uipc_topo_policy_parse(const char *name, enum uipc_topo_policy *ret_policy)
{
	uipc_return_if(!name || !ret_policy, -EINVAL);
	for (int p = UIPC_TOPO_NEAREST; p <= UIPC_TOPO_SAME_NODE; p++) {
		if (strcmp(name, uipc_topo_policy_name((enum uipc_topo_policy)p)) == 0) {
			*ret_policy = (enum uipc_topo_policy)p;
			return 0;
		}
	}
	return -EINVAL;
}

/* ------------------------------------------------------------------------ */
/* Threads                                                                  */

int uipc_topo_pin(int tid, int cpu)
{
	cpu_set_t *set;
	size_t size = CPU_ALLOC_SIZE(TOPO_MAX_CPUS);
	int r = 0;

	uipc_return_if(tid < 0 || cpu < 0 || cpu >= TOPO_MAX_CPUS, -EINVAL);
	set = CPU_ALLOC(TOPO_MAX_CPUS);
	if (!set)
		return -ENOMEM;
	CPU_ZERO_S(size, set);
	CPU_SET_S((size_t)cpu, size, set);
	if (sched_setaffinity(tid, size, set) < 0)
		r = -errno;
	CPU_FREE(set);
	return r;
}

/* Field 39 of /proc/<pid>/task/<tid>/stat: the CPU the thread last ran on.
 * The command name (field 2) may contain spaces and parentheses: count
 * fields from the last ')'. */
static int stat_cpu(const char *text, int *ret_cpu)
{
	const char *p = strrchr(text, ')');
	long v;
	char *end;

	if (!p)
		return -EIO;
	p++;
	for (int field = 3; field < 39; field++) {
		while (*p == ' ')
			p++;
		while (*p && *p != ' ')
			p++;
		if (!*p)
			return -EIO;
	}
	v = strtol(p, &end, 10);
	if (end == p || v < 0 || v >= TOPO_MAX_CPUS)
		return -EIO;
	*ret_cpu = (int)v;
	return 0;
}

int uipc_topo_thread_cpu(int pid, int tid, int *ret_cpu)
{
	char buf[1024];
	int r;

	uipc_return_if(!ret_cpu || pid < 0 || tid < 0 || (tid == 0 && pid != 0), -EINVAL);
	if (tid == 0) {
		r = sched_getcpu();
		if (r < 0)
			return -errno;
		*ret_cpu = r;
		return 0;
	}
	if (pid == 0)
		r = uipc__topo_read_text(buf, sizeof(buf), "/proc/self/task/%d/stat", tid);
	else
		r = uipc__topo_read_text(buf, sizeof(buf), "/proc/%d/task/%d/stat", pid, tid);
	if (r == -ENOENT)
		return -ESRCH;
	if (r < 0)
		return r;
	return stat_cpu(buf, ret_cpu);
}

int uipc_topo_rx_cpu(const uipc_rx *rx, int *ret_cpu)
{
	uipc_return_if(!rx || !ret_cpu || rx->magic != UIPC_RX_MAGIC, -EINVAL);
	/* Inherited through fork(): its owner thread is the parent's. */
	uipc_return_if(uipc__forked(&rx->fork), -ECHILD);
	uipc_return_if(rx->owner_tid <= 0, -ESRCH);
	return uipc_topo_thread_cpu(0, rx->owner_tid, ret_cpu);
}

int uipc_topo_tx_peer_cpu(const uipc_tx *tx, int *ret_cpu)
{
	uipc_return_if(!tx || !ret_cpu || tx->magic != UIPC_TX_MAGIC, -EINVAL);
	uipc_return_if(tx->pid <= 0 || tx->tid <= 0, -ESRCH);
	return uipc_topo_thread_cpu(tx->pid == getpid() ? 0 : tx->pid, tx->tid, ret_cpu);
}
