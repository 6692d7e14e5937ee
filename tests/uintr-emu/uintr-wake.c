/* SPDX-License-Identifier: MIT */
/*
 * Blocked waits on the /dev/uintr shim: is a receiver asleep in uintr_wait
 * woken by the notification's own interrupt, once, without a poll? Runs in
 * the emulated Sapphire Rapids of scripts/uintr-emu.sh; its times are the
 * guest's virtual time (Bochs: ips instructions per guest second), so they
 * compare mechanisms in one run and say nothing about silicon.
 *
 *   uintr-wake measure own|kvm|vector|poll ROUNDS [busy]
 *       ROUNDS blocked wakes from a sender thread, then ROUNDS from a
 *       sender process. With "busy", a SCHED_IDLE thread spins on the
 *       receiver's CPU so that it never enters cpuidle (a comparison: is a
 *       late wake the idle state's?). Checks: the module reports that
 *       mechanism (own: its own interrupt, kvm: KVM's wakeup vector,
 *       vector: either); every wait ends with EINTR and one delivery (none
 *       lost); event-driven: the wake interrupts (own: the "uipc-wake" rows
 *       of /proc/interrupts, kvm: PIW) grow by exactly ROUNDS and the
 *       receiver sleeps once per wait; poll: neither moves. Prints the wake
 *       delay (sender's SENDUIPI to the receiver's return) and sleeps per
 *       wait.
 *   uintr-wake idle own|kvm|vector|poll SECONDS
 *       One receiver blocked for SECONDS with nothing sent. Event-driven:
 *       it sleeps once (no periodic wakeup) and no wake interrupt comes.
 *       Prints its wakeups per second, and the timer interrupts of its CPU.
 *   uintr-wake stress ROUNDS
 *       Two receiver threads, each with its own sender thread, ROUNDS
 *       blocked/woken cycles each, while CPU 1 goes offline and online
 *       every ROUNDS/8 cycles. Checks: no wait times out (10 s), each
 *       receiver's handler ran exactly once per round.
 *
 * Never executes a UINTR instruction unless CPUID.(7,0):EDX[5] is set and
 * /dev/uintr reports the hardware; otherwise it skips (77).
 * Build: gcc -O2 -muintr -pthread.
 */
#define _GNU_SOURCE
#include <cpuid.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <x86gprintrin.h>

#include "emu-check.h"

#define WAIT_US 10000000ull /* a wait that ends by timeout counts as a lost wake */

static int dev = -1;

static long xioctl(unsigned long cmd, void *arg)
{
	long r = ioctl(dev, cmd, arg);

	return r < 0 ? -errno : r;
}

static pid_t gettid_(void)
{
	return (pid_t)syscall(SYS_gettid);
}

static void pin(int cpu)
{
	cpu_set_t s;

	CPU_ZERO(&s);
	CPU_SET(cpu, &s);
	sched_setaffinity(0, sizeof(s), &s);
}

/* ---- the handler: per thread, general registers only ------------------ */

static __thread volatile unsigned delivered;

__attribute__((interrupt, target("general-regs-only"))) static void
handler(struct __uintr_frame *frame, unsigned long long vector)
{
	(void)frame;
	(void)vector;
	delivered = delivered + 1;
}

static int make_receiver(void)
{
	struct uintr_handler_args h = {.handler = (uintptr_t)handler};
	struct uintr_vector_args v = {.vector = 7};

	if (xioctl(UINTR_IOC_REGISTER_HANDLER, &h))
		return -1;
	return (int)xioctl(UINTR_IOC_VECTOR_FD, &v);
}

static void drop_receiver(int vfd)
{
	__u32 flags = 0;

	_clui();
	close(vfd);
	xioctl(UINTR_IOC_UNREGISTER_HANDLER, &flags);
}

static long uwait(uint64_t usec)
{
	struct uintr_wait_args a = {.usec = usec};

	return xioctl(UINTR_IOC_WAIT, &a);
}

/* ---- /proc readings ---------------------------------------------------- */

/* Sum over all CPUs of the /proc/interrupts rows whose action is @name (the own wake: one per CPU). */
static long long irq_count_named(const char *name)
{
	char line[4096];
	long long sum = 0;
	FILE *f = fopen("/proc/interrupts", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		char *p = line, *end;
		size_t n = strcspn(line, "\n");

		line[n] = 0;
		if (n < strlen(name) || strcmp(line + n - strlen(name), name) ||
		    line[n - strlen(name) - 1] != ' ')
			continue;
		p = strchr(line, ':');
		if (!p)
			continue;
		p++;
		for (;;) {
			long long v = strtoll(p, &end, 10);

			if (end == p)
				break;
			sum += v;
			p = end;
		}
	}
	fclose(f);
	return sum;
}

/* Every wake interrupt there is: the own ones and KVM's wakeup vector (PIW). */
static long long wake_irqs(void)
{
	long long own = irq_count_named("uipc-wake"), piw = t_irq_count("PIW", -1);

	return (own > 0 ? own : 0) + (piw > 0 ? piw : 0);
}

static long long task_field(pid_t pid, pid_t tid, const char *key)
{
	char path[64], line[256];
	long long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/status", pid, tid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, strlen(key)) && line[strlen(key)] == ':')
			v = strtoll(line + strlen(key) + 1, NULL, 10);
	fclose(f);
	return v;
}

/* Is the thread asleep (state S)? */
static int sleeping(pid_t pid, pid_t tid)
{
	char path[64], buf[512], *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", pid, tid);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	p = strrchr(buf, ')');
	return p && p[1] == ' ' && p[2] == 'S';
}

/* ---- one receiver, one sender (thread or process) ---------------------- */

/* Shared with a sender process: MAP_SHARED. */
struct pair {
	volatile int vfd;
	volatile pid_t pid, tid;   /* the receiver */
	volatile unsigned want;    /* round the receiver waits for (1-based) */
	volatile unsigned sent;    /* rounds posted */
	volatile unsigned t_round; /* the round t_send belongs to */
	volatile uint64_t t_send;  /* just before the last SENDUIPI */
	volatile int sender_err;
	volatile int stop;
	unsigned rounds;
	int block_first; /* the sender waits for state S before posting */
};

static int sender_loop(struct pair *pr)
{
	struct uintr_sender_args a = {.fd = pr->vfd};
	long idx = xioctl(UINTR_IOC_REGISTER_SENDER, &a);
	unsigned i;

	if (idx < 0) {
		pr->sender_err = (int)idx;
		return 1;
	}
	for (i = 1; i <= pr->rounds && !pr->stop; i++) {
		uint64_t give_up;

		while (pr->want != i && !pr->stop)
			sched_yield();
		if (pr->stop)
			break;
		/* Until the receiver is asleep (bounded: it may be woken and
		 * rearmed by CPU hotplug, and a post to a waiter that is not
		 * yet asleep is a case worth covering too). */
		give_up = t_now_ns() + 20000000u;
		while (pr->block_first && !sleeping(pr->pid, pr->tid) && t_now_ns() < give_up)
			sched_yield();
		pr->t_send = t_now_ns();
		__atomic_store_n(&pr->t_round, i, __ATOMIC_RELEASE);
		_senduipi((unsigned long long)idx);
		pr->sent = i;
	}
	return 0;
}

static void *sender_thread(void *arg)
{
	struct pair *pr = arg;

	if (pr->block_first == 2)
		pin(1);
	sender_loop(pr);
	return NULL;
}

#define MAX_ROUNDS 100000u

struct result {
	unsigned rounds, eintr, timeouts, other, bad_delivery;
	unsigned ndelay;
	uint64_t *delay; /* per round, ns */
	long long nvcsw;
};

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* "median 3.1 us, p90 ..., max ...": sorts res->delay. */
static const char *delays(struct result *res, char *buf, size_t len)
{
	unsigned n = res->ndelay, slow = 0;

	if (!n) {
		snprintf(buf, len, "no delay measured");
		return buf;
	}
	qsort(res->delay, n, sizeof(*res->delay), cmp_u64);
	for (unsigned i = 0; i < n; i++)
		slow += res->delay[i] > 1000000u;
	snprintf(buf, len, "median %.1f us, p90 %.1f us, p99 %.1f us, max %.1f us, %u over 1 ms",
	         res->delay[n / 2] / 1e3, res->delay[n * 9 / 10] / 1e3,
	         res->delay[n * 99 / 100] / 1e3, res->delay[n - 1] / 1e3, slow);
	return buf;
}

/* The receiver's side of the rounds, in the thread that registered; until
 * pr->rounds, or after a round once *halt is set. */
static void receive_rounds(struct pair *pr, struct result *res, volatile int *halt)
{
	long long cs0 = task_field(getpid(), gettid_(), "voluntary_ctxt_switches");
	unsigned i;

	free(res->delay);
	memset(res, 0, sizeof(*res));
	res->delay = calloc(pr->rounds, sizeof(*res->delay));
	for (i = 1; i <= pr->rounds && !(halt && *halt); i++) {
		unsigned before = delivered;
		uint64_t t;
		long r;

		_clui(); /* held in UIRR: the wait sees it, stui delivers it */
		pr->want = i;
		r = uwait(WAIT_US);
		t = t_now_ns();
		_stui();
		if (r == -EINTR)
			res->eintr++;
		else if (r == -ETIMEDOUT)
			res->timeouts++;
		else
			res->other++;
		if (r == -EINTR && __atomic_load_n(&pr->t_round, __ATOMIC_ACQUIRE) == i &&
		    t >= pr->t_send && res->delay)
			res->delay[res->ndelay++] = t - pr->t_send;
		while (delivered == before && t_now_ns() < t + 1000000000u)
			__builtin_ia32_pause();
		if (delivered != before + 1)
			res->bad_delivery++;
		res->rounds = i;
	}
	pr->stop = 1;
	pr->want = pr->rounds + 1;
	res->nvcsw = task_field(getpid(), gettid_(), "voluntary_ctxt_switches") - cs0;
}

static void report(const char *who, const char *mech, unsigned rounds, struct result *res,
                   long long piw)
{
	int vector = strcmp(mech, "poll") != 0;
	char buf[160];

	printf("%s, %s: %u rounds, wake delay (virtual time) %s; %.2f sleeps per wait, "
	       "wake interrupts %lld (own uipc-wake %lld, PIW %lld in all)\n",
	       who, mech, rounds, delays(res, buf, sizeof(buf)), (double)res->nvcsw / rounds, piw,
	       irq_count_named("uipc-wake"), t_irq_count("PIW", -1));
	t_report(res->eintr == rounds && !res->timeouts && !res->other,
	         "%s: every blocked wait ended by its post (EINTR %u, timeouts %u, other %u)", who,
	         res->eintr, res->timeouts, res->other);
	t_report(!res->bad_delivery, "%s: one delivery per post (%u rounds off)", who,
	         res->bad_delivery);
	if (vector) {
		t_report(piw == rounds, "%s: one wake interrupt per blocked wait (%lld for %u)",
		         who, piw, rounds);
		t_report(res->nvcsw <= 2ll * rounds,
		         "%s: the receiver slept about once per wait, not polled (%lld sleeps, %u "
		         "waits)",
		         who, res->nvcsw, rounds);
	} else {
		t_report(piw == 0, "%s: the wakeup vector is not used (%lld interrupts)", who, piw);
	}
}

static struct pair *pair_new(unsigned rounds, int block_first)
{
	struct pair *pr =
	    mmap(NULL, sizeof(*pr), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (pr == MAP_FAILED)
		return NULL;
	memset(pr, 0, sizeof(*pr));
	pr->rounds = rounds;
	pr->block_first = block_first;
	pr->pid = getpid();
	pr->tid = gettid_();
	return pr;
}

static int check_mechanism(const char *mech)
{
	struct uintr_info info;

	memset(&info, 0, sizeof(info));
	if (xioctl(UINTR_IOC_INFO, &info))
		return 0;
	printf("INFO: flags %#x wake_vector %#x poll_us %u wake_source %u wake_why %u\n",
	       info.flags, info.wake_vector, info.poll_us, info.wake_source, info.wake_why);
	if (strcmp(mech, "poll")) {
		if (!(info.flags & UINTR_INFO_WAIT_VECTOR) ||
		    (info.flags & UINTR_INFO_WAIT_POLLED) || info.poll_us != 0 ||
		    info.wake_vector < 32 || info.wake_vector > 255)
			return 0;
		if (!strcmp(mech, "own"))
			return info.wake_source == UINTR_WAKE_SRC_OWN && !info.wake_why;
		if (!strcmp(mech, "kvm"))
			return info.wake_source == UINTR_WAKE_SRC_KVM && info.wake_vector == 0xf1;
		return !strcmp(mech, "vector");
	}
	return (info.flags & UINTR_INFO_WAIT_POLLED) && !(info.flags & UINTR_INFO_WAIT_VECTOR) &&
	       info.poll_us >= 10 && info.wake_vector == 0;
}

static void *idle_spinner(void *arg)
{
	struct sched_param sp = {0};

	pin(0);
	pthread_setschedparam(pthread_self(), SCHED_IDLE, &sp);
	while (!*(volatile int *)arg)
		__builtin_ia32_pause();
	return NULL;
}

static int measure(const char *mech, unsigned rounds, int busy)
{
	volatile int spin_stop = 0;
	pthread_t spinner;
	struct result res = {0};
	struct pair *pr;
	pthread_t t;
	long long piw;
	pid_t pid;
	int st;

	t_report(check_mechanism(mech), "the module reports the %s wake", mech);
	{
		char drv[64] = "?";
		FILE *f = fopen("/sys/devices/system/cpu/cpuidle/current_driver", "r");

		if (f) {
			if (fgets(drv, sizeof(drv), f))
				drv[strcspn(drv, "\n")] = 0;
			fclose(f);
		}
		printf("cpuidle driver: %s\n", drv);
	}
	pin(0);
	if (busy)
		pthread_create(&spinner, NULL, idle_spinner, (void *)&spin_stop);

	/* Sender thread on CPU 1. */
	pr = pair_new(rounds, 2);
	pr->vfd = make_receiver();
	t_report(pr->vfd >= 0, "receiver registered, vector fd");
	if (pr->vfd < 0)
		return 1;
	piw = wake_irqs();
	pthread_create(&t, NULL, sender_thread, pr);
	receive_rounds(pr, &res, NULL);
	pthread_join(t, NULL);
	t_report(!pr->sender_err, "sender thread registered (%d)", pr->sender_err);
	report("threads", mech, rounds, &res, wake_irqs() - piw);

	/* Sender process on CPU 1: the child registers the inherited vector fd in its own table. */
	memset((void *)&pr->want, 0, sizeof(*pr) - offsetof(struct pair, want));
	pr->rounds = rounds;
	pr->block_first = 1;
	piw = wake_irqs();
	pid = fork();
	if (pid == 0) {
		pin(1);
		_exit(sender_loop(pr));
	}
	receive_rounds(pr, &res, NULL);
	t_report(pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) && !WEXITSTATUS(st),
	         "sender process ran and exited 0 (%d)", pr->sender_err);
	report("processes", mech, rounds, &res, wake_irqs() - piw);
	drop_receiver(pr->vfd);
	if (busy) {
		spin_stop = 1;
		pthread_join(spinner, NULL);
	}
	return 0;
}

static int idle(const char *mech, unsigned seconds)
{
	long long cs0, loc0, piw0, cs, loc, piw;
	uint64_t t0, t1;
	int vfd;
	long r;

	t_report(check_mechanism(mech), "the module reports the %s wake", mech);
	pin(0);
	vfd = make_receiver();
	t_report(vfd >= 0, "receiver registered");
	if (vfd < 0)
		return 1;
	_clui();
	cs0 = task_field(getpid(), gettid_(), "voluntary_ctxt_switches");
	loc0 = t_irq_count("LOC", 0);
	piw0 = wake_irqs();
	t0 = t_now_ns();
	r = uwait((uint64_t)seconds * 1000000u);
	t1 = t_now_ns();
	cs = task_field(getpid(), gettid_(), "voluntary_ctxt_switches") - cs0;
	loc = t_irq_count("LOC", 0) - loc0;
	piw = wake_irqs() - piw0;
	_stui();
	printf("idle, %s: blocked %.2f s (virtual), %lld sleeps (%.1f wakeups/s), "
	       "%lld timer interrupts on its CPU (%.1f/s), wake interrupts %lld\n",
	       mech, (t1 - t0) / 1e9, cs, cs / ((t1 - t0) / 1e9), loc, loc / ((t1 - t0) / 1e9),
	       piw);
	t_report(r == -ETIMEDOUT, "idle wait times out (%ld)", r);
	t_report(t1 - t0 >= (uint64_t)seconds * 1000000000u, "and not before its time");
	if (strcmp(mech, "poll")) {
		t_report(cs <= 2, "no periodic wakeup: %lld sleeps in %u s", cs, seconds);
		t_report(piw == 0, "no wake interrupt (%lld)", piw);
	} else {
		t_report(cs > (long long)seconds * 100,
		         "the poll wakes the receiver (%lld in %u s)", cs, seconds);
	}
	drop_receiver(vfd);
	return 0;
}

/* ---- stress with CPU hotplug --------------------------------------------- */

struct stress_rx {
	struct pair *pr;
	struct result res;
	unsigned delivered;
	int vfd_ok;
	pthread_barrier_t *ready;
	volatile int *halt;
};

static void *stress_receiver(void *arg)
{
	struct stress_rx *s = arg;
	pthread_t t;

	s->pr->pid = getpid();
	s->pr->tid = gettid_();
	s->pr->vfd = make_receiver();
	s->vfd_ok = s->pr->vfd >= 0;
	pthread_barrier_wait(s->ready);
	if (!s->vfd_ok)
		return NULL;
	pthread_create(&t, NULL, sender_thread, s->pr);
	receive_rounds(s->pr, &s->res, s->halt);
	pthread_join(t, NULL);
	s->delivered = delivered;
	drop_receiver(s->pr->vfd);
	return NULL;
}

/* At least @rounds blocked/woken cycles per receiver, and at least 8 CPU 1
 * offline/online cycles during them. */
static int stress(unsigned rounds)
{
	struct stress_rx rx[2];
	pthread_barrier_t ready;
	pthread_t t[2];
	volatile int halt = 0;
	unsigned cycles = 0, fails = 0, i;

	pthread_barrier_init(&ready, NULL, 3);
	for (i = 0; i < 2; i++) {
		memset(&rx[i], 0, sizeof(rx[i]));
		rx[i].pr = pair_new(MAX_ROUNDS, 1);
		rx[i].ready = &ready;
		rx[i].halt = &halt;
		pthread_create(&t[i], NULL, stress_receiver, &rx[i]);
	}
	pthread_barrier_wait(&ready);
	while (rx[0].vfd_ok && rx[1].vfd_ok && cycles < 1000 &&
	       (cycles < 8 || __atomic_load_n(&rx[0].res.rounds, __ATOMIC_RELAXED) < rounds ||
	        __atomic_load_n(&rx[1].res.rounds, __ATOMIC_RELAXED) < rounds) &&
	       !rx[0].pr->stop && !rx[1].pr->stop) {
		if (!cpu1_set_online(0) || !cpu1_set_online(1))
			fails++;
		cycles++;
	}
	halt = 1;
	for (i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	t_report(rx[0].vfd_ok && rx[1].vfd_ok, "two receivers registered");
	t_report(cycles >= 8 && !fails, "CPU 1 went offline and online %u times (%u failed)",
	         cycles, fails);
	for (i = 0; i < 2; i++) {
		struct result *r = &rx[i].res;
		char buf[160];

		printf("receiver %u: %u rounds, EINTR %u, timeouts %u, other %u, %lld sleeps, "
		       "delay %s\n",
		       i, r->rounds, r->eintr, r->timeouts, r->other, r->nvcsw,
		       delays(r, buf, sizeof(buf)));
		t_report(r->rounds >= rounds && r->eintr == r->rounds && !r->timeouts && !r->other,
		         "receiver %u: no lost wake in %u blocked/woken cycles", i, r->rounds);
		t_report(!r->bad_delivery && rx[i].delivered == r->rounds,
		         "receiver %u: handler ran once per post (%u for %u)", i, rx[i].delivered,
		         r->rounds);
	}
	return 0;
}

static int have_uintr(void)
{
	dev = uintr_dev_open();
	return dev >= 0;
}

int main(int argc, char **argv)
{
	unsigned n = argc > 3 ? (unsigned)strtoul(argv[3], NULL, 0) : 0;

	if (argc < 3 || (strcmp(argv[1], "stress") && argc < 4)) {
		fprintf(stderr, "usage: %s measure|idle own|kvm|vector|poll N, or %s stress N\n",
		        argv[0], argv[0]);
		return 2;
	}
	if (!have_uintr()) {
		printf("SKIP: no UINTR in CPUID or /dev/uintr without hardware\n");
		return 77;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!strcmp(argv[1], "measure") && n)
		measure(argv[2], n, argc > 4 && !strcmp(argv[4], "busy"));
	else if (!strcmp(argv[1], "idle") && n)
		idle(argv[2], n);
	else if (!strcmp(argv[1], "stress") && strtoul(argv[2], NULL, 0))
		stress((unsigned)strtoul(argv[2], NULL, 0));
	else
		return 2;
	return t_report_done();
}
