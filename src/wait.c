/* SPDX-License-Identifier: MIT */
/*
 * The waiter: the one implementation of "spin, arm, re-check, block, disarm
 * and acknowledge" that receivers (src/rx.c) and channel consumers
 * (src/chan-consumer.c) share.
 *
 * Who owns which transition of the status word. Only the receiver arms and
 * disarms: arming stores 0 (SN, ON and CLOSED all clear), disarming stores
 * SN. Senders only set ON, with a compare-and-swap from an armed status, and
 * the one that wins kicks. So whatever a peer scribbled into the word before
 * an arm is gone after it: a stale or forged ON cannot make the next
 * legitimate notify skip its kick (tests/regress/forged-on.c).
 *
 * Kicks that leave state behind. An eventfd kick is a write() that lands
 * after the sender's CAS, possibly after the receiver disarmed and looked.
 * The waiter counts the kicks whose ON it saw (owed) and the ones the
 * backend's ack consumed, and keeps acknowledging while any is owed, so a
 * late write is consumed by the next drain or wait instead of leaving the
 * fd readable for ever (an idle epoll loop spinning, tests/regress/
 * eventfd-late-kick.c). A wake with nothing pending is acknowledged too: it
 * may be a write no ON announced (a hostile peer's).
 *
 * Channels with fence-free producers in this process (src/chan.c) are
 * looked at once more, after one membarrier(), before every sleep: that is
 * the consumer's half of their asymmetric fence, paid once per sleep and
 * never on a drain that does not sleep.
 */
#include <fcntl.h>
#include <linux/membarrier.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "backend.h"

/* Spin policy --------------------------------------------------------------- */

void uipc__spin_init(struct uipc__spin *sp)
{
	sp->mode = UIPC_SPIN_ADAPTIVE;
	sp->max_ns = UIPC_SPIN_DEFAULT_MAX_NS;
	sp->budget_ns = UIPC_SPIN_DEFAULT_MAX_NS / 4;
	sp->blocks = 0;
	sp->probe_every = 8;
	sp->probe = sp->probing = sp->shared = false;
}

int uipc__spin_set(struct uipc__spin *sp, enum uipc_spin_mode mode, uint64_t budget_ns)
{
	if (budget_ns > UIPC_SPIN_MAX_NS)
		return -EINVAL;
	switch (mode) {
	case UIPC_SPIN_ADAPTIVE:
		sp->max_ns = budget_ns ? budget_ns : UIPC_SPIN_DEFAULT_MAX_NS;
		sp->budget_ns = sp->max_ns / 4;
		break;
	case UIPC_SPIN_NONE:
		sp->max_ns = sp->budget_ns = 0;
		break;
	case UIPC_SPIN_FIXED:
		sp->max_ns = sp->budget_ns = budget_ns;
		break;
	default:
		return -EINVAL;
	}
	sp->mode = mode;
	sp->blocks = 0;
	sp->probe_every = 8;
	sp->probe = sp->probing = sp->shared = false;
	return 0;
}

/*
 * Adaptive policy. A wait that ends during the spin keeps the budget at
 * least twice that gap (room for jitter). A wait that had to block halves
 * the budget: on an oversubscribed CPU the spin only steals time from the
 * thread we wait for, and an idle waiter stops burning CPU within a few
 * waits. Every probe_every-th block re-probes: if that wait's gap was short
 * enough that spinning could have covered it, the budget jumps back to
 * twice the gap; otherwise the next wait spins the full max_ns once. The
 * gap of a blocked wait includes the peer's own wakeup when both sides
 * block (a ping-pong), so it says little about what spinning would have
 * caught: without the full probe, such a pair stays blocked for good. A
 * probe that ends blocked doubles probe_every (up to 256), one that
 * succeeds sets it back to 8: a waiter whose probes never pay (its peer is
 * slow, or shares its CPU) spends at most max_ns / 256 per block on them.
 * One wait never spins longer than max_ns. A budget under a microsecond is
 * not worth the clock reads: it becomes 0.
 *
 * A spin never holds a CPU that another thread wants for long. After
 * UIPC__SPIN_YIELD_FIRST_NS, and then every UIPC__SPIN_YIELD_EVERY_NS, it
 * offers the CPU (sched_yield()); if another thread ran meanwhile
 * (uipc__spin_yielded() below), the CPU is shared, with the peer we wait
 * for (a process pinned to one CPU) or with others (more runnable threads
 * than CPUs), and spinning only delays them: the spin stops and the wait
 * blocks. While the CPU looks shared (sp->shared), the next spins yield at
 * their first clock reading instead of after UIPC__SPIN_YIELD_FIRST_NS, so
 * a peer on this CPU runs at once; a yield that comes back fast (a false
 * alarm: the vCPU was descheduled, say) costs one system call and the spin
 * goes on as usual.
 *
 * A yield sees only its own CPU. When the machine is crowded (more threads
 * runnable than CPUs online: uipc__spin_crowded()), a thread that waits for
 * a CPU may be on the other one, our sender among them, and a spin anywhere
 * takes capacity it needs: the adaptive wait blocks at once, leaving the
 * policy's state as it was (a probe asked for waits for a calmer moment).
 */
void uipc__spin_learn(struct uipc__spin *sp, bool spun_ok, uint64_t gap_ns)
{
	uint64_t want = gap_ns < sp->max_ns / 2 ? gap_ns * 2 : sp->max_ns;

	if (sp->mode != UIPC_SPIN_ADAPTIVE)
		return;
	if (sp->probing) {
		sp->probing = false;
		if (spun_ok)
			sp->probe_every = 8;
		else if (sp->probe_every < 256)
			sp->probe_every *= 2;
	}
	if (spun_ok) {
		if (want > sp->budget_ns)
			sp->budget_ns = want;
		sp->blocks = 0;
		return;
	}
	sp->budget_ns /= 2;
	if (sp->budget_ns < 1000)
		sp->budget_ns = 0;
	if (++sp->blocks >= sp->probe_every) {
		sp->blocks = 0;
		if (gap_ns <= sp->max_ns / 2)
			sp->budget_ns = want;
		else
			sp->probe = true;
	}
}

uint64_t uipc__spin_budget(struct uipc__spin *sp)
{
	if (sp->mode == UIPC_SPIN_NONE)
		return 0;
	if (sp->probe) {
		sp->probe = false;
		sp->probing = true;
		return sp->max_ns;
	}
	return sp->budget_ns;
}

/*
 * The fastest sched_yield() seen in this process: one that found nothing
 * else to run. A yield that takes UIPC__SPIN_YIELD_SWITCH_NS more than that
 * ran another thread; then the next spins yield at once (sp->shared), until
 * a yield comes back fast again. Only the spin's pace depends on it.
 */
static _Atomic uint64_t yield_floor_ns = UINT64_MAX;

void uipc__spin_yielded(struct uipc__spin *sp, uint64_t took_ns)
{
	uint64_t floor = atomic_load_explicit(&yield_floor_ns, memory_order_relaxed);

	if (took_ns < floor) {
		atomic_store_explicit(&yield_floor_ns, took_ns, memory_order_relaxed);
		floor = took_ns;
	}
	sp->shared = took_ns - floor > UIPC__SPIN_YIELD_SWITCH_NS;
}

long uipc__loadavg_running(const char *text)
{
	const char *p = text;
	char *end;
	long n;

	for (int field = 0; field < 3; field++) {
		p = strchr(p, ' ');
		if (!p)
			return -1;
		p++;
	}
	if (*p < '0' || *p > '9')
		return -1;
	n = strtol(p, &end, 10);
	return *end == '/' ? n : -1;
}

/* The last sample: when (0: never), and what it said. */
static _Atomic uint64_t crowd_sampled_ns;
static _Atomic bool crowd_seen;
static _Atomic long crowd_cpus;

static bool crowd_sample(void)
{
	char buf[128];
	long cpus = atomic_load_explicit(&crowd_cpus, memory_order_relaxed), running;
	ssize_t n;
	int fd;

	if (!cpus) {
		/* Online CPUs, once: hotplug is rare, and a stale count
		 * only moves the threshold by what changed. */
		cpus = sysconf(_SC_NPROCESSORS_ONLN);
		if (cpus < 1)
			cpus = -1;
		atomic_store_explicit(&crowd_cpus, cpus, memory_order_relaxed);
	}
	if (cpus < 1)
		return false;
	/* Under the fork hold: a fork() from another thread meanwhile would
	 * leave the child an fd the library never closes there. */
	uipc__fork_hold();
	fd = open("/proc/loadavg", O_RDONLY | O_CLOEXEC);
	n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
	if (fd >= 0)
		uipc__close(fd);
	uipc__fork_release();
	if (n <= 0)
		return false;
	buf[n] = '\0';
	running = uipc__loadavg_running(buf);
	/* The count includes the thread that reads it. */
	return running > cpus;
}

bool uipc__spin_crowded(uint64_t now_ns)
{
	uint64_t last = atomic_load_explicit(&crowd_sampled_ns, memory_order_relaxed);
	bool crowded;

	if (last && now_ns - last < UIPC__SPIN_CROWD_EVERY_NS)
		return atomic_load_explicit(&crowd_seen, memory_order_relaxed);
	/* One sampler at a time; the others use the last answer. */
	if (!atomic_compare_exchange_strong_explicit(&crowd_sampled_ns, &last, now_ns ? now_ns : 1,
	                                             memory_order_relaxed, memory_order_relaxed))
		return atomic_load_explicit(&crowd_seen, memory_order_relaxed);
	crowded = crowd_sample();
	atomic_store_explicit(&crowd_seen, crowded, memory_order_relaxed);
	return crowded;
}

/* Arm and disarm --------------------------------------------------------------- */

void uipc__rx_arm_status(uipc_rx *rx)
{
	/* The store half of the receiver's Dekker pattern (src/desc.h); the
	 * caller's re-check is the load half. */
	uipc__desc_arm(rx->desc);
	rx->w.arms++;
}

void uipc__rx_disarm(uipc_rx *rx, bool woken)
{
	bool kicked = uipc__desc_disarm(rx->desc);
	uint64_t k;

	if (!rx->ops->rx_ack)
		return;
	if (kicked)
		rx->w.owed++;
	if (!rx->w.owed && !woken)
		return;
	k = rx->ops->rx_ack(rx);
	rx->w.owed = k >= rx->w.owed ? 0 : rx->w.owed - k;
}

/* Fence-free channel producers ------------------------------------------------ */

void uipc__rx_link(uipc_rx *rx, struct uipc__rx_link *l)
{
	l->next = rx->links;
	rx->links = l;
}

void uipc__rx_unlink(uipc_rx *rx, struct uipc__rx_link *l)
{
	for (struct uipc__rx_link **p = &rx->links; *p; p = &(*p)->next) {
		if (*p == l) {
			*p = l->next;
			return;
		}
	}
}

/* Once membarrier() failed (a seccomp filter entered after set-up, say),
 * it is not tried again in this process. */
static _Atomic bool membarrier_failed;

static bool membarrier_run(void)
{
	if (atomic_load_explicit(&membarrier_failed, memory_order_relaxed))
		return false;
	if (syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0) == 0)
		return true;
	atomic_store_explicit(&membarrier_failed, true, memory_order_relaxed);
	return false;
}

/*
 * Before a sleep: run the consumers' half of the asymmetric fence once, if
 * any linked channel has fence-free producers, then look at those channels'
 * rings. Returns the vectors of the ready ones.
 *
 * If membarrier() fails, the fallback settles in one step: the channels
 * with fence-free producers are told to make them fence again, for good
 * (the link is marked fenced and never asks for a membarrier() again), and
 * only this once is *bounded set: a message a producer published just
 * before it saw the switch, unannounced, is caught by one short sleep (or,
 * from uipc_rx_arm(), one -EAGAIN). Every later sleep is an ordinary one:
 * an idle receiver neither wakes each millisecond nor makes an event loop
 * spin (tests/regress/membarrier-settles.c).
 */
uint64_t uipc__rx_links_ready(uipc_rx *rx, bool *bounded)
{
	uint64_t m = 0;
	bool any = false;

	for (struct uipc__rx_link *l = rx->links; l; l = l->next)
		any |= !l->fenced && l->light(l);
	if (!any)
		return 0;
	if (!membarrier_run()) {
		for (struct uipc__rx_link *l = rx->links; l; l = l->next) {
			if (l->fenced)
				continue;
			l->heavy(l);
			l->fenced = true;
		}
		*bounded = true;
	}
	for (struct uipc__rx_link *l = rx->links; l; l = l->next)
		if (l->ready(l))
			m |= l->bit;
	return m;
}

/* The wait -------------------------------------------------------------------- */

/* Spin on w->look until it says something or the budget is spent. *now is
 * the last clock reading (the moment the spin started, if it never read).
 * The adaptive spin offers the CPU now and then (uipc__spin_yielded()); a
 * fixed spin is the caller's choice for a CPU of its own, and never does. */
static int wait_spin(struct uipc__wait *w, uint64_t end, uint64_t *now)
{
	struct uipc__spin *sp = w->spin;
	bool yields = sp->mode == UIPC_SPIN_ADAPTIVE;
	uint64_t next = *now + (sp->shared ? 0 : UIPC__SPIN_YIELD_FIRST_NS);
	int r;

	for (;;) {
		for (unsigned i = 0; i < 64; i++) {
			r = w->look(w->arg, UIPC_LOOK_SPIN);
			if (r != 0)
				return r;
			uipc__cpu_relax();
		}
		*now = uipc__now_ns();
		if (*now >= end)
			return 0;
		if (yields && *now >= next) {
			uint64_t before = *now;

			sched_yield();
			*now = uipc__now_ns();
			uipc__spin_yielded(sp, *now - before);
			if (sp->shared)
				return w->look(w->arg, UIPC_LOOK_SPIN);
			next = *now + UIPC__SPIN_YIELD_EVERY_NS;
		}
	}
}

/* Block once: arm, look again, sleep, disarm. > 0 when the look found
 * something (*slept false: it came before we slept), 0 when woken or the
 * sleep ended, or -errno. */
static int wait_block(uipc_rx *rx, struct uipc__wait *w, bool *slept)
{
	uint64_t deadline;
	struct timespec ts;
	bool bounded = false;
	int r, b;

	uipc__rx_arm_status(rx);
	r = w->look(w->arg, UIPC_LOOK_ARMED);
	if (r == 0 && rx->links) {
		uint64_t m = uipc__rx_links_ready(rx, &bounded);

		if (m) {
			uipc__desc_repost(rx->desc, m);
			r = w->look(w->arg, UIPC_LOOK_ARMED);
		}
	}
	if (r != 0) {
		uipc__rx_disarm(rx, false);
		return r;
	}
	*slept = true;
	deadline = w->deadline; /* the look may have brought it forward */
	if (bounded && deadline - uipc__now_ns() > UIPC__MEMBARRIER_FALLBACK_NS)
		deadline = uipc__now_ns() + UIPC__MEMBARRIER_FALLBACK_NS;
	if (deadline != UINT64_MAX)
		ts = uipc__ns_to_ts(deadline);
	b = rx->ops->rx_block(rx, 0, deadline != UINT64_MAX ? &ts : NULL);
	uipc__rx_disarm(rx, b == 0);
	if (b == -ETIMEDOUT && deadline != w->deadline)
		b = 0; /* our own short sleep, not the caller's timeout */
	return b > 0 ? 0 : b;
}

int uipc__wait(uipc_rx *rx, struct uipc__wait *w)
{
	uint64_t start, seen, budget;
	int r;

	/* A first round of looks before any clock read: a message or bit
	 * about to land (a ping-pong) is caught without a clock read (tens of
	 * ns in a VM) in its way. Not while the last sample said crowded
	 * (below): that is a spin too. */
	if (w->spin->mode != UIPC_SPIN_NONE && (w->spin->budget_ns || w->spin->probe) &&
	    !(w->spin->mode == UIPC_SPIN_ADAPTIVE &&
	      atomic_load_explicit(&crowd_seen, memory_order_relaxed))) {
		for (unsigned i = 0; i < 64; i++) {
			r = w->look(w->arg, UIPC_LOOK_SPIN);
			if (r != 0) {
				uipc__spin_learn(w->spin, true, 0);
				return r;
			}
			uipc__cpu_relax();
		}
	}
	start = seen = uipc__now_ns();
	if (w->timeout_ns >= 0)
		w->deadline = start + (uint64_t)w->timeout_ns;

	/* A crowded machine: a spin would only hold a CPU another thread is
	 * waiting for. Block at once, and leave the policy's state (a probe
	 * asked for stays asked for) to when spinning is worth it again. */
	if (w->spin->mode == UIPC_SPIN_ADAPTIVE && uipc__spin_crowded(start))
		budget = 0;
	else
		budget = uipc__spin_budget(w->spin);
	if (budget > w->deadline - start)
		budget = w->deadline - start;
	if (budget) {
		r = wait_spin(w, start + budget, &seen);
		if (r != 0) {
			uipc__spin_learn(w->spin, true, seen - start);
			return r;
		}
	}
	for (;;) {
		bool slept = false;

		r = w->block ? w->block(w->arg, w, &slept) : wait_block(rx, w, &slept);
		/* After every sleep, the deadline's included: whatever the
		 * backend reports, a notify that completed before we woke
		 * (its kick lost in a race with the timeout, or landing late)
		 * is returned, never a -ETIMEDOUT beside a pending bit
		 * (tests/regress/deadline-look.c). */
		if (r == 0 || r == -ETIMEDOUT) {
			int t = r;

			r = w->look(w->arg, UIPC_LOOK_WOKEN);
			if (r == 0)
				r = t;
		}
		if (r > 0) {
			uipc__spin_learn(w->spin, !slept, uipc__now_ns() - start);
			return r;
		}
		if (r == -ETIMEDOUT || (r == 0 && uipc__now_ns() >= w->deadline)) {
			uipc__spin_learn(w->spin, false, UINT64_MAX);
			return -ETIMEDOUT;
		}
		if (r < 0)
			return r;
		/* Woken with nothing for us (a stray kick, another vector
		 * given back, our own short sleep): block again. */
	}
}
