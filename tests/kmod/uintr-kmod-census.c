/* SPDX-License-Identifier: MIT */
/*
 * Cost census of /dev/uintr with uipc_uintr_fake.ko loaded (the shim on
 * emulated UINTR hardware, CI only): for every operation a user can repeat
 * (each ioctl of the ABI and of the fake ABI with valid and with typical
 * failing arguments; open and close of the device and of vector fds; and
 * the lifecycle events the shim hooks: thread exit, fork, exec and CPU
 * migration of a thread with UINTR state), how many interrupts it makes
 * the kernel deliver to CPUs other than the caller's, and how much kernel
 * slab it leaves behind once everything it made is freed.
 *
 * The device is world-writable: no user may make the kernel do machine-wide
 * work (an IPI round, a TLB shootdown) at a rate the user chooses. One such
 * path was found by review (every UINTR_IOC_UNREGISTER_SENDER interrupted
 * every CPU: tests/regress/kmod-kick-storm.c); this program searches the
 * whole class instead of one path.
 *
 * How: the parent (root) stays on CPU 0. Each operation runs in a fresh
 * child on CPU 0 that drops to uid/gid 65534 before it opens the device,
 * sets up what the operation needs, then in one window runs it N times and
 * lets deferred work (RCU callbacks, the module's delayed works) run out,
 * reading /proc/interrupts before and after: every row (CAL, TLB, RES, the
 * numbered device lines, ...) summed over the CPUs other than 0, except LOC
 * (the local timer, which ticks whenever a CPU is busy at all) and the
 * single-count ERR and MIS. Then it sleeps a window of equal length and
 * reads the rows again: that idle baseline is subtracted. The parent reads
 * SUnreclaim in /proc/meminfo before the child and after it exited and the
 * kernel's deferred frees ran (bounded wait). For the whole census the
 * parent moves the unbound workqueues and every task that lets itself be
 * moved to CPU 0 (undone at the end): the kernel's own threads that the
 * calls wake (the RCU grace-period thread) would otherwise count as
 * wake-ups of CPU 1, at a rate set by grace periods, not by calls.
 *
 * Budget: BUDGET (0.1) remote interrupts per call, amortized. The fixed
 * module does no cross-CPU work on any of these paths except releasing
 * removed sender slots, which shares one IPI round among every slot whose
 * grace period is over, at most one round a jiffy (0.007 to 0.015 a
 * removal in the QEMU stage); a path that interrupts other CPUs once per
 * call costs 1 (the module before that fix: 0.80 to 1.0).
 * Listed with bounds of their own, each with the reason:
 *  - a send that wakes a receiver blocked on another CPU (that wake is what
 *    the send is for; the receiver handed its vector fd to the sender);
 *  - CPU migration, thread, fork and exec rows carry the kernel's own cost
 *    of that event: each is judged by its difference to a control row
 *    that does the same without UINTR state (control rows: not judged),
 *    with room for chance: the budget plus three standard deviations of
 *    the four windows' counts taken as Poisson (the kernel's idle-balance
 *    kicks, at most one a tick, are what varies), per call.
 * Slab: growth over SLAB_TOL_KB after a child fails, once confirmed by a
 * second child (a cache that grew once is not a leak; a leak grows again).
 * With N calls that detects leaks of about SLAB_TOL_KB / N and more per
 * call. Not judged under KASAN, whose quarantine holds freed objects.
 *
 * What it cannot see: the fake build posts SENDUIPI's notification in
 * software (no IPI goes out; a wake vector's handler runs on the sender's
 * CPU), so the hardware's own notification IPIs are not counted, only
 * what the kernel and the module send.
 *
 * Prints one table row per operation (calls, remote interrupts per call,
 * the rows they came in, slab delta) and one line per failure with its
 * reason. No timing thresholds: counts only; waits have generous bounds.
 * Runs as root in the CI VM (scripts/kmod-ci.sh, after the regressions);
 * built static with -pthread. On a KASAN kernel a quarter of the calls.
 * Usage: uintr-kmod-census [--op SUBSTRING] [--scale K]: only the rows
 * whose name (or whose judged row's name) contains it; K times the calls
 * (a leak of SLAB_TOL_KB / (K N) per call and more shows). Exit 0 if every
 * operation kept its budget, else 1.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <ctype.h>
#include <dirent.h>
#include <grp.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "fake-lib.h"

#define BUDGET      0.1 /* remote interrupts per call, amortized */
#define SLAB_TOL_KB 128 /* SUnreclaim growth tolerated (caches, partial slabs) */
#define DRAIN_MS    100 /* in the window after the calls: deferred work runs out */
#define MAXROWS     64
#define NOBODY      65534

/* ---- /proc/interrupts --------------------------------------------------- */

struct irqsnap {
	int n;
	char label[MAXROWS][32];
	long long v[MAXROWS]; /* summed over the CPUs other than 0 */
};

/* The column of each CPU from the header line ("CPU0 CPU1 ..."); offline ones are absent. */
static int irq_columns(const char *hdr, int *cpu_of, int max)
{
	int n = 0;
	const char *p = hdr;

	while ((p = strstr(p, "CPU")) && n < max) {
		cpu_of[n++] = atoi(p + 3);
		p += 3;
	}
	return n;
}

static int irq_snap(struct irqsnap *s)
{
	static char line[8192];
	int cpu_of[256], ncol, i;
	FILE *f = fopen("/proc/interrupts", "r");

	s->n = 0;
	if (!f)
		return -1;
	if (!fgets(line, sizeof(line), f)) {
		fclose(f);
		return -1;
	}
	ncol = irq_columns(line, cpu_of, 256);
	while (fgets(line, sizeof(line), f) && s->n < MAXROWS) {
		char *p = line, *colon, *end, *last;
		long long sum = 0;
		int digits = 1;

		while (*p == ' ')
			p++;
		colon = strchr(p, ':');
		if (!colon || colon - p >= 16)
			continue;
		*colon = 0;
		if (!strcmp(p, "LOC") || !strcmp(p, "ERR") || !strcmp(p, "MIS"))
			continue;
		for (end = p; *end; end++)
			digits &= isdigit((unsigned char)*end) != 0;
		last = colon + 1;
		for (i = 0; i < ncol; i++, last = end) {
			long long v = strtoll(last, &end, 10);

			if (end == last)
				break;
			if (cpu_of[i] != 0)
				sum += v;
		}
		if (digits) { /* a numbered line: its name is the last word */
			char *w = last + strlen(last);

			while (w > last && isspace((unsigned char)w[-1]))
				*--w = 0;
			while (w > last && !isspace((unsigned char)w[-1]))
				w--;
			snprintf(s->label[s->n], sizeof(s->label[0]), "%.12s(%.16s)", p, w);
		} else {
			snprintf(s->label[s->n], sizeof(s->label[0]), "%.16s", p);
		}
		s->v[s->n++] = sum;
	}
	fclose(f);
	return 0;
}

static long long irq_get(const struct irqsnap *s, const char *label)
{
	int i;

	for (i = 0; i < s->n; i++)
		if (!strcmp(s->label[i], label))
			return s->v[i];
	return 0;
}

/* ---- what a child reports ------------------------------------------------ */

struct result {
	int setup_ok;
	int calls;
	int unexpected;
	char why[200]; /* the first unexpected thing */
	double secs;
	int nrows;
	char label[MAXROWS][32];
	long long op[MAXROWS];   /* per row: the window with the calls */
	long long base[MAXROWS]; /* the idle window of equal length */
};

static struct result *R;

static void bad(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void bad(const char *fmt, ...)
{
	va_list ap;

	if (R->unexpected++)
		return;
	va_start(ap, fmt);
	vsnprintf(R->why, sizeof(R->why), fmt, ap);
	va_end(ap);
}

/* @r, the result of @what, must be @want. */
static void expect(long r, long want, const char *what)
{
	if (r != want)
		bad("%s returned %ld, not %ld", what, r, want);
}

/* ---- the operations ------------------------------------------------------- */

static int dev = -1;
static int scale = 1; /* --scale: every row makes K times its calls */
static int kasan;     /* a KASAN kernel: a quarter of the calls (slow; slab not judged) */

static char self_exe[256];

static void pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		bad("sched_setaffinity(CPU %d): %s", cpu, strerror(errno));
}

/* A receiver of the calling thread with vector @vector: its fd, or -1. */
static int own_receiver(unsigned vector)
{
	long r = fk_register(dev);

	if (r) {
		bad("REGISTER_HANDLER: %ld", r);
		return -1;
	}
	r = fk_vector_fd(dev, vector);
	if (r < 0)
		bad("VECTOR_FD(%u): %ld", vector, r);
	return (int)r;
}

/* Receiver, its vector fd and a sender slot to itself: the calling thread's full state. */
static int self_vfd = -1;
static long self_slot = -1;

static int setup_self(void)
{
	self_vfd = own_receiver(3);
	if (self_vfd < 0)
		return -1;
	self_slot = fk_sender(dev, self_vfd);
	if (self_slot < 0) {
		bad("REGISTER_SENDER to itself: %ld", self_slot);
		return -1;
	}
	return 0;
}

static int setup_handler(void)
{
	long r = fk_register(dev);

	if (r)
		bad("REGISTER_HANDLER: %ld", r);
	return r ? -1 : 0;
}

/* A receiver thread of this process (vector 5) to send to. */
static struct fk_receiver rcv;
static int rcv_vfd = -1;

static int setup_rcv(void)
{
	rcv_vfd = fk_receiver_start(&rcv, dev, 5);
	if (rcv_vfd < 0)
		bad("receiver thread: %d", rcv_vfd);
	return rcv_vfd < 0 ? -1 : 0;
}

static void op_open_close(int i)
{
	int fd = open(UINTR_DEVICE_PATH, O_RDWR | O_CLOEXEC);

	(void)i;
	if (fd < 0)
		bad("open: %s", strerror(errno));
	else
		close(fd);
}

static void op_info(int i)
{
	struct uintr_info info;

	(void)i;
	expect(fk_io(dev, UINTR_IOC_INFO, &info), 0, "INFO");
}

static void op_unknown(int i)
{
	(void)i;
	expect(fk_io(dev, _IO(UINTR_IOC_MAGIC, 0x30), NULL), -ENOTTY, "ioctl 0x30");
}

static void op_handler(int i)
{
	__u32 flags = 0;

	(void)i;
	expect(fk_register(dev), 0, "REGISTER_HANDLER");
	expect(fk_io(dev, UINTR_IOC_UNREGISTER_HANDLER, &flags), 0, "UNREGISTER_HANDLER");
}

static void op_handler_bad(int i)
{
	struct uintr_handler_args h = {.handler = (__u64)(unsigned long)fk_handler};

	switch (i % 5) {
	case 0:
		h.handler = 0;
		expect(fk_io(dev, UINTR_IOC_REGISTER_HANDLER, &h), -EFAULT, "handler 0");
		break;
	case 1:
		h.flags = 1;
		expect(fk_io(dev, UINTR_IOC_REGISTER_HANDLER, &h), -EINVAL, "flags 1");
		break;
	case 2:
		h.handler = 0xffff888000000000ULL; /* kernel half */
		expect(fk_io(dev, UINTR_IOC_REGISTER_HANDLER, &h), -EFAULT, "kernel handler");
		break;
	case 3:
		h.stack = 4096;
		h.stack_size = 1;
		expect(fk_io(dev, UINTR_IOC_REGISTER_HANDLER, &h), -EINVAL, "stack size 1");
		break;
	default:
		expect(fk_io(dev, UINTR_IOC_REGISTER_HANDLER, (void *)8), -EFAULT, "args at 8");
		break;
	}
}

static void op_unregister_none(int i)
{
	__u32 flags = (__u32)(i & 1);

	expect(fk_io(dev, UINTR_IOC_UNREGISTER_HANDLER, &flags), -EINVAL,
	       "UNREGISTER_HANDLER without one");
}

static void op_vector_fd(int i)
{
	long fd = fk_vector_fd(dev, (unsigned)(i % UINTR_MAX_VECTORS));

	if (fd < 0)
		bad("VECTOR_FD: %ld", fd);
	else
		close((int)fd);
}

static int vec0 = -1;

static int setup_vector_bad(void)
{
	if (setup_handler())
		return -1;
	vec0 = (int)fk_vector_fd(dev, 0);
	return vec0 < 0 ? -1 : 0;
}

static void op_vector_bad(int i)
{
	struct uintr_vector_args v = {.vector = 1, .flags = 1};

	switch (i % 3) {
	case 0:
		expect(fk_vector_fd(dev, UINTR_MAX_VECTORS), -ENOSPC, "VECTOR_FD(64)");
		break;
	case 1:
		expect(fk_vector_fd(dev, 0), -EBUSY, "VECTOR_FD(0) again");
		break;
	default:
		expect(fk_io(dev, UINTR_IOC_VECTOR_FD, &v), -EINVAL, "VECTOR_FD flags 1");
		break;
	}
}

static int full_waits;

static void op_sender_pair(int i)
{
	long s;
	int tries = 0;

	(void)i;
	/* Every slot waiting for its release: wait (not a call), bounded. */
	while ((s = fk_sender(dev, rcv_vfd)) == -ENOSPC && tries++ < 5000) {
		full_waits++;
		t_sleep_ms(1);
	}
	if (s < 0) {
		bad("REGISTER_SENDER: %ld", s);
		return;
	}
	expect(fk_unsender(dev, (__u32)s), 0, "UNREGISTER_SENDER");
}

static long held_slot = -1;

static int setup_sender_held(void)
{
	if (setup_rcv())
		return -1;
	held_slot = fk_sender(dev, rcv_vfd);
	if (held_slot < 0)
		bad("REGISTER_SENDER: %ld", held_slot);
	return held_slot < 0 ? -1 : 0;
}

static void op_sender_bad(int i)
{
	struct uintr_sender_args s = {.fd = rcv_vfd, .flags = 1};

	switch (i % 4) {
	case 0:
		expect(fk_sender(dev, -1), -EBADF, "REGISTER_SENDER fd -1");
		break;
	case 1:
		expect(fk_sender(dev, dev), -EOPNOTSUPP, "REGISTER_SENDER of the device fd");
		break;
	case 2:
		expect(fk_sender(dev, rcv_vfd), -EISCONN, "REGISTER_SENDER twice");
		break;
	default:
		expect(fk_io(dev, UINTR_IOC_REGISTER_SENDER, &s), -EINVAL,
		       "REGISTER_SENDER flags 1");
		break;
	}
}

static void op_unsender_bad(int i)
{
	struct uintr_unsender_args u = {.index = 0, .flags = 1};

	switch (i % 3) {
	case 0:
		expect(fk_unsender(dev, 200), -EINVAL, "UNREGISTER_SENDER of a free slot");
		break;
	case 1:
		expect(fk_unsender(dev, UINTR_UITT_SIZE), -EINVAL, "UNREGISTER_SENDER 256");
		break;
	default:
		expect(fk_io(dev, UINTR_IOC_UNREGISTER_SENDER, &u), -EINVAL,
		       "UNREGISTER_SENDER flags 1");
		break;
	}
}

static void op_attach(int i)
{
	__u32 flags = 0;

	(void)i;
	expect(fk_io(dev, UINTR_IOC_ATTACH_SENDER, &flags), 0, "ATTACH_SENDER");
}

static void op_wait0(int i)
{
	(void)i;
	expect(fk_wait(dev, 0), -ETIMEDOUT, "WAIT 0");
}

static void op_wait20(int i)
{
	(void)i;
	expect(fk_wait(dev, 20), -ETIMEDOUT, "WAIT 20 us");
}

static void op_wait_bad(int i)
{
	struct uintr_wait_args w = {.usec = 1, .flags = 1};

	switch (i % 3) {
	case 0:
		expect(fk_wait(dev, 1000000001ULL), -EINVAL, "WAIT over 1e9 us");
		break;
	case 1:
		expect(fk_io(dev, UINTR_IOC_WAIT, &w), -EINVAL, "WAIT flags 1");
		break;
	default:
		w.flags = 0;
		w.reserved = 1;
		expect(fk_io(dev, UINTR_IOC_WAIT, &w), -EINVAL, "WAIT reserved 1");
		break;
	}
}

static void op_wait_norecv(int i)
{
	(void)i;
	expect(fk_wait(dev, 0), -EINVAL, "WAIT without a receiver");
}

static void op_self_send(int i)
{
	__u64 pending = 0;

	(void)i;
	expect(fk_send(dev, (__u32)self_slot), 0, "FAKE_SEND to itself");
	expect(fk_io(dev, UINTR_IOC_FAKE_TAKE, &pending), 0, "FAKE_TAKE");
	if (pending != 1ULL << 3)
		bad("FAKE_TAKE gave %#llx", (unsigned long long)pending);
}

static void op_send_bad(int i)
{
	switch (i % 3) {
	case 0:
		expect(fk_send(dev, 0), -ENXIO, "FAKE_SEND without a table");
		break;
	case 1:
		expect(fk_send(dev, UINTR_UITT_SIZE), -ENXIO, "FAKE_SEND 256 without a table");
		break;
	default: {
		__u64 p;

		expect(fk_io(dev, UINTR_IOC_FAKE_TAKE, &p), -EINVAL, "FAKE_TAKE, no receiver");
		break;
	}
	}
}

static void op_send_bad_slot(int i)
{
	expect(fk_send(dev, (__u32)(i & 1 ? UINTR_UITT_SIZE : 100)), -EINVAL,
	       "FAKE_SEND to a free or out-of-range slot");
}

static void op_fake_misc(int i)
{
	struct uintr_fake_state st;
	struct uintr_fake_waitq w;

	switch (i % 4) {
	case 0:
		expect(fk_io(dev, UINTR_IOC_FAKE_STATE, &st), 0, "FAKE_STATE");
		break;
	case 1:
		expect(fk_stui(dev, 1), 0, "FAKE_STUI 1");
		break;
	case 2:
		expect(fk_stui(dev, 0), 0, "FAKE_STUI 0");
		break;
	default:
		expect(fk_io(dev, UINTR_IOC_FAKE_WAITQ, &w), 0, "FAKE_WAITQ");
		break;
	}
}

/*
 * A receiver thread pinned to @cpu (vector 7) that either waits in
 * UINTR_IOC_WAIT, taking what arrives, or sleeps on a pipe (switched out:
 * its posts land in PIR with SN set, no notification).
 */
struct remote {
	int cpu, blocked_in_wait, pipe[2];
	atomic_int stop, ready;
	atomic_long wakes;
	int vfd;
	long slot;
	pthread_t th;
};

static struct remote rem;

static void *remote_main(void *arg)
{
	struct remote *r = arg;
	__u64 pending;
	__u32 flags = 0;
	char c;

	pin(r->cpu);
	r->vfd = own_receiver(7);
	atomic_store(&r->ready, r->vfd >= 0 ? 1 : -1);
	if (r->vfd < 0)
		return NULL;
	if (!r->blocked_in_wait) {
		if (read(r->pipe[0], &c, 1) != 1)
			bad("remote receiver: pipe read");
	} else {
		while (!atomic_load(&r->stop)) {
			long w = fk_wait(dev, 1000000);

			if (w == -EINTR) {
				fk_io(dev, UINTR_IOC_FAKE_TAKE, &pending);
				atomic_fetch_add(&r->wakes, 1);
			} else if (w != -ETIMEDOUT) {
				bad("remote receiver: WAIT returned %ld", w);
				break;
			}
		}
	}
	fk_io(dev, UINTR_IOC_UNREGISTER_HANDLER, &flags);
	return NULL;
}

static int remote_start(int cpu, int in_wait)
{
	int i;

	memset(&rem, 0, sizeof(rem));
	rem.cpu = cpu;
	rem.blocked_in_wait = in_wait;
	rem.vfd = -1;
	if (pipe(rem.pipe) || pthread_create(&rem.th, NULL, remote_main, &rem)) {
		bad("remote receiver: %s", strerror(errno));
		return -1;
	}
	for (i = 0; i < 10000 && !atomic_load(&rem.ready); i++)
		t_sleep_ms(1);
	if (atomic_load(&rem.ready) != 1) {
		bad("remote receiver not ready");
		return -1;
	}
	rem.slot = fk_sender(dev, rem.vfd);
	if (rem.slot < 0) {
		bad("REGISTER_SENDER to the remote receiver: %ld", rem.slot);
		return -1;
	}
	t_sleep_ms(50); /* blocked by now */
	return 0;
}

static int setup_remote_cpu1_wait(void)
{
	return remote_start(1, 1);
}

static int setup_remote_cpu0_wait(void)
{
	return remote_start(0, 1);
}

static int setup_remote_cpu1_sleep(void)
{
	return remote_start(1, 0);
}

static void remote_stop(void)
{
	atomic_store(&rem.stop, 1);
	if (!rem.blocked_in_wait) {
		if (write(rem.pipe[1], "x", 1) != 1)
			bad("remote receiver: pipe write");
	} else {
		fk_send(dev, (__u32)rem.slot);
	}
	pthread_join(rem.th, NULL);
}

static void op_send_remote(int i)
{
	(void)i;
	expect(fk_send(dev, (__u32)rem.slot), 0, "FAKE_SEND to the remote receiver");
}

/* Send, then give the blocked receiver up to 2 s to be woken and wait again. */
static void op_send_wake(int i)
{
	long before = atomic_load(&rem.wakes);
	int n;

	(void)i;
	expect(fk_send(dev, (__u32)rem.slot), 0, "FAKE_SEND to the blocked receiver");
	for (n = 0; n < 20000 && atomic_load(&rem.wakes) == before; n++)
		t_sleep_us(100);
}

static void *thread_plain(void *arg)
{
	return arg;
}

static void *thread_state(void *arg)
{
	__u32 flags = 0;
	int vfd = own_receiver(1);

	if (vfd >= 0)
		close(vfd);
	expect(fk_io(dev, UINTR_IOC_ATTACH_SENDER, &flags), 0, "ATTACH_SENDER in the thread");
	expect(fk_stui(dev, 1), 0, "FAKE_STUI in the thread");
	return arg;
}

static void thread_once(void *(*fn)(void *))
{
	pthread_t th;

	if (pthread_create(&th, NULL, fn, NULL)) {
		bad("pthread_create: %s", strerror(errno));
		return;
	}
	pthread_join(th, NULL);
}

static void op_thread_plain(int i)
{
	(void)i;
	thread_once(thread_plain);
}

static void op_thread_state(int i)
{
	(void)i;
	thread_once(thread_state);
}

static void reap(pid_t pid, const char *what)
{
	int status;

	if (pid < 0) {
		bad("fork: %s", strerror(errno));
		return;
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status))
		bad("%s: child status %#x", what, status);
}

static void op_fork_plain(int i)
{
	pid_t pid = fork();

	(void)i;
	if (pid == 0)
		_exit(0);
	reap(pid, "fork");
}

/* The child shares the device file: it gets a sender table of its own there. */
static void op_fork_state(int i)
{
	pid_t pid = fork();

	(void)i;
	if (pid == 0)
		_exit(fk_sender(dev, self_vfd) < 0);
	reap(pid, "fork with state");
}

static void exec_exit(void)
{
	execl(self_exe, "uintr-kmod-census", "--exit", (char *)NULL);
	_exit(1);
}

static void op_exec_plain(int i)
{
	pid_t pid = fork();

	(void)i;
	if (pid == 0)
		exec_exit();
	reap(pid, "fork, exec");
}

/* Receiver, vector fd, sender slot, UIF and a pending vector, then exec: dropped there. */
static void op_exec_state(int i)
{
	pid_t pid = fork();

	(void)i;
	if (pid == 0) {
		if (setup_self() || fk_send(dev, (__u32)self_slot) || fk_stui(dev, 1))
			_exit(1);
		exec_exit();
	}
	reap(pid, "fork, state, exec");
}

static void op_migrate(int i)
{
	(void)i;
	pin(1);
	pin(0);
}

static void op_migrate_state(int i)
{
	(void)i;
	pin(1);
	expect(fk_send(dev, (__u32)self_slot), 0, "FAKE_SEND on CPU 1");
	pin(0);
}

struct op {
	const char *name;
	int calls;
	int (*setup)(void);
	void (*call)(int i);
	void (*teardown)(void);
	double bound; /* remote interrupts per call; 0: BUDGET */
	int kind;     /* OWN, CONTROL (not judged), or VS_ABOVE: judged less the row above */
};

enum { OWN, CONTROL, VS_ABOVE };

/*
 * The census. A row judged against a control (VS_ABOVE) follows it. Bounds
 * other than BUDGET, and why they are the caller's own business, inline.
 */
static const struct op ops[] = {
    {"open+close /dev/uintr", 4000, NULL, op_open_close, NULL, 0, OWN},
    {"INFO", 4000, NULL, op_info, NULL, 0, OWN},
    {"unknown ioctl (ENOTTY)", 4000, NULL, op_unknown, NULL, 0, OWN},
    {"REGISTER_HANDLER+UNREGISTER_HANDLER", 4000, NULL, op_handler, NULL, 0, OWN},
    {"REGISTER_HANDLER bad args (EFAULT, EINVAL)", 4000, NULL, op_handler_bad, NULL, 0, OWN},
    {"UNREGISTER_HANDLER without one (EINVAL)", 4000, NULL, op_unregister_none, NULL, 0, OWN},
    {"VECTOR_FD+close", 4000, setup_handler, op_vector_fd, NULL, 0, OWN},
    {"VECTOR_FD bad (ENOSPC, EBUSY, EINVAL)", 4000, setup_vector_bad, op_vector_bad, NULL, 0, OWN},
    {"REGISTER_SENDER+UNREGISTER_SENDER", 4000, setup_rcv, op_sender_pair, NULL, 0, OWN},
    {"REGISTER_SENDER bad (EBADF, EOPNOTSUPP, EISCONN, EINVAL)", 4000, setup_sender_held,
     op_sender_bad, NULL, 0, OWN},
    {"UNREGISTER_SENDER bad (EINVAL)", 4000, setup_sender_held, op_unsender_bad, NULL, 0, OWN},
    {"ATTACH_SENDER (attached already)", 4000, setup_sender_held, op_attach, NULL, 0, OWN},
    {"WAIT 0 us (ETIMEDOUT)", 4000, setup_handler, op_wait0, NULL, 0, OWN},
    {"WAIT 20 us (ETIMEDOUT)", 500, setup_handler, op_wait20, NULL, 0, OWN},
    {"WAIT bad (EINVAL)", 4000, setup_handler, op_wait_bad, NULL, 0, OWN},
    {"WAIT without a receiver (EINVAL)", 4000, NULL, op_wait_norecv, NULL, 0, OWN},
    {"FAKE_SEND to itself+FAKE_TAKE", 4000, setup_self, op_self_send, NULL, 0, OWN},
    {"FAKE_SEND/TAKE without state (ENXIO, EINVAL)", 4000, NULL, op_send_bad, NULL, 0, OWN},
    {"FAKE_SEND to a free slot (EINVAL)", 4000, setup_self, op_send_bad_slot, NULL, 0, OWN},
    {"FAKE_STATE, FAKE_STUI, FAKE_WAITQ", 4000, NULL, op_fake_misc, NULL, 0, OWN},
    /* Switched out on CPU 1, SN set: the post stays in PIR, nothing is sent. */
    {"FAKE_SEND to a receiver asleep on CPU 1", 4000, setup_remote_cpu1_sleep, op_send_remote,
     remote_stop, 0, OWN},
    {"FAKE_SEND to a receiver in WAIT on CPU 0", 500, setup_remote_cpu0_wait, op_send_wake,
     remote_stop, 0, OWN},
    /*
     * Waking a receiver blocked on another CPU is what the send is for:
     * one wake-up (an IPI unless that CPU polls) per send that finds it
     * armed. The receiver gave its vector fd to this sender; the cost
     * falls on the CPU that receiver runs on, not on every CPU.
     */
    {"FAKE_SEND to a receiver in WAIT on CPU 1", 500, setup_remote_cpu1_wait, op_send_wake,
     remote_stop, 2.0, OWN},
    {"thread create+exit", 300, NULL, op_thread_plain, NULL, 0, CONTROL},
    {"thread with receiver, sender, UIF: create+exit", 300, NULL, op_thread_state, NULL, 0,
     VS_ABOVE},
    {"fork+exit", 200, NULL, op_fork_plain, NULL, 0, CONTROL},
    {"fork of a receiver+sender, child registers a sender", 200, setup_self, op_fork_state, NULL, 0,
     VS_ABOVE},
    {"fork+exec+exit", 100, NULL, op_exec_plain, NULL, 0, CONTROL},
    {"fork+state+exec+exit", 100, NULL, op_exec_state, NULL, 0, VS_ABOVE},
    /*
     * Moving itself to CPU 1 and back interrupts CPU 1 (the wake-up of
     * its runqueue) whatever the module does: the control row counts
     * that, and the difference is judged.
     */
    {"CPU migration 0->1->0", 300, NULL, op_migrate, NULL, 0, CONTROL},
    {"CPU migration 0->1->0 of a receiver+sender, sending on CPU 1", 300, setup_self,
     op_migrate_state, NULL, 0, VS_ABOVE},
};

#define NOPS ((int)(sizeof(ops) / sizeof(ops[0])))

static int op_calls(const struct op *op)
{
	int n = op->calls * scale;

	if (!kasan || n <= 50)
		return n;
	return n / 4 > 50 ? n / 4 : 50;
}

/* ---- one operation in a child ------------------------------------------- */

static int run_child(const struct op *op)
{
	struct irqsnap a, b, c;
	uint64_t t0, t1;
	int i;

	if (geteuid() == 0 && (setgroups(0, NULL) || setgid(NOBODY) || setuid(NOBODY))) {
		bad("cannot become uid %d: %s", NOBODY, strerror(errno));
		return 1;
	}
	dev = open(UINTR_DEVICE_PATH, O_RDWR | O_CLOEXEC);
	if (dev < 0) {
		bad("open %s as uid %d: %s", UINTR_DEVICE_PATH, (int)getuid(), strerror(errno));
		return 1;
	}
	if (op->setup && op->setup())
		return 1;
	R->setup_ok = 1;
	t_sleep_ms(20);
	if (irq_snap(&a) || a.n == 0) {
		bad("no rows read from /proc/interrupts");
		return 1;
	}
	t0 = t_now_ns();
	for (i = 0; i < op_calls(op); i++) {
		op->call(i);
		R->calls++;
	}
	if (op->teardown)
		op->teardown();
	t_sleep_ms(DRAIN_MS);
	irq_snap(&b);
	t1 = t_now_ns();
	t_sleep_ns(t1 - t0);
	irq_snap(&c);
	R->secs = (double)(t1 - t0) / 1e9;
	/* Rows by name: a row that appears meanwhile counts from 0. */
	R->nrows = b.n;
	for (i = 0; i < b.n; i++) {
		snprintf(R->label[i], sizeof(R->label[i]), "%s", b.label[i]);
		R->op[i] = b.v[i] - irq_get(&a, b.label[i]);
		R->base[i] = irq_get(&c, b.label[i]) - b.v[i];
	}
	return 0;
}

/* ---- the parent ---------------------------------------------------------- */

static long meminfo_kb(const char *key)
{
	char line[256];
	size_t n = strlen(key);
	long v = -1;
	FILE *f = fopen("/proc/meminfo", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, n) && line[n] == ':') {
			v = atol(line + n + 1);
			break;
		}
	fclose(f);
	return v;
}

/*
 * Did KASAN build this kernel? Its quarantine keeps freed objects in the
 * slabs. (Printed in lower case: kmod-ci.sh fails a console log that says
 * KASAN, for the kernel's reports.)
 */
static int kernel_has_kasan(void)
{
	char line[512];
	int found = 0;
	FILE *f = fopen("/proc/kallsyms", "r");

	if (!f)
		return 0;
	while (!found && fgets(line, sizeof(line), f))
		found = strstr(line, " kasan_") != NULL;
	fclose(f);
	return found;
}

/*
 * Quiet the other CPUs for the census (root only; undone at the end): the
 * unbound workqueues and every task that lets itself be moved go to CPU 0.
 * Else the kernel's own threads (the RCU grace-period thread, unbound
 * kworkers) that the calls wake wherever there is an idle CPU show up as
 * wake-ups of CPU 1, at a rate set by grace periods and ticks, not calls.
 * Per-CPU kthreads refuse (EINVAL) and stay.
 */
#define WQ_CPUMASK "/sys/devices/virtual/workqueue/cpumask"
#define MAXTASKS   512

static struct {
	pid_t pid;
	cpu_set_t set;
} moved[MAXTASKS];
static int nmoved;
static char wq_mask[64];

static void quiet_others(void)
{
	cpu_set_t zero;
	DIR *d = opendir("/proc");
	struct dirent *e;
	FILE *f;

	CPU_ZERO(&zero);
	CPU_SET(0, &zero);
	f = fopen(WQ_CPUMASK, "r");
	if (f) {
		if (!fgets(wq_mask, sizeof(wq_mask), f))
			wq_mask[0] = 0;
		fclose(f);
		f = fopen(WQ_CPUMASK, "w");
		if (f) {
			fputs("1\n", f);
			if (fclose(f))
				wq_mask[0] = 0;
		}
	}
	while (d && (e = readdir(d)) && nmoved < MAXTASKS) {
		pid_t pid = (pid_t)atoi(e->d_name);

		if (pid <= 0 || pid == getpid())
			continue;
		if (sched_getaffinity(pid, sizeof(cpu_set_t), &moved[nmoved].set) ||
		    CPU_EQUAL(&moved[nmoved].set, &zero))
			continue;
		if (sched_setaffinity(pid, sizeof(zero), &zero) == 0)
			moved[nmoved++].pid = pid;
	}
	if (d)
		closedir(d);
}

static void quiet_undo(void)
{
	FILE *f;
	int i;

	for (i = 0; i < nmoved; i++)
		sched_setaffinity(moved[i].pid, sizeof(cpu_set_t), &moved[i].set);
	if (wq_mask[0] && (f = fopen(WQ_CPUMASK, "w"))) {
		fputs(wq_mask, f);
		fclose(f);
	}
}

struct verdict {
	double per_call;  /* remote interrupts per call, baseline (and control) taken off */
	double raw;       /* before the control's is taken off */
	long long counts; /* both windows' counts, summed: their Poisson variance */
	long slab_kb;
};

static struct verdict verdicts[NOPS];

/* The square root, by Newton's method (no libm in the static link). */
static double root(double x)
{
	double r = x > 1 ? x : 1;
	int i;

	if (x <= 0)
		return 0;
	for (i = 0; i < 64; i++)
		r = (r + x / r) / 2;
	return r;
}

/* Run @op in a child; its slab growth once its exit has settled (bounded wait). */
static int run_op(const struct op *op, long *slab_kb)
{
	long before, after = -1;
	pid_t pid;
	int status, i;

	t_sleep_ms(200);
	before = meminfo_kb("SUnreclaim");
	memset(R, 0, sizeof(*R));
	fflush(stdout);
	pid = fork();
	if (pid == 0)
		_exit(run_child(op));
	if (pid < 0 || waitpid(pid, &status, 0) != pid) {
		printf("FAIL: %s: fork or wait: %s\n", op->name, strerror(errno));
		return -1;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		printf("FAIL: %s: the child failed (status %#x): %s\n", op->name, status,
		       R->unexpected ? R->why : "no reason given");
		return -1;
	}
	/* Deferred frees: RCU, the module's reaper. Up to 3 s. */
	for (i = 0; i < 30; i++) {
		t_sleep_ms(100);
		after = meminfo_kb("SUnreclaim");
		if (after - before <= SLAB_TOL_KB && i >= 2)
			break;
	}
	*slab_kb = before < 0 || after < 0 ? 0 : after - before;
	return 0;
}

/* Run and judge row @i; prints its line of the table. 1 if it failed. */
static int census_row(int i)
{
	static char cell[MAXROWS * 48];
	const struct op *op = &ops[i];
	struct verdict *v = &verdicts[i];
	double bound = op->bound > 0 ? op->bound : BUDGET;
	long long total = 0;
	int j, len = 0, attempt, r = 0;
	char b[32];

	for (attempt = 0;; attempt++) {
		if (run_op(op, &v->slab_kb))
			return 1;
		/* A cache that grew once is no leak: a second child must grow it again. */
		if (kasan || v->slab_kb <= SLAB_TOL_KB || attempt == 1)
			break;
		printf("census: %s: slab +%ld KiB, once more\n", op->name, v->slab_kb);
	}
	cell[0] = 0;
	for (j = 0; j < R->nrows; j++) {
		long long d = R->op[j] - R->base[j];

		total += d;
		if ((R->op[j] || R->base[j]) && len < (int)sizeof(cell) - 48)
			len += snprintf(cell + len, sizeof(cell) - len, "%s%s%+lld(%lld-%lld)",
			                len ? " " : "", R->label[j], d, R->op[j], R->base[j]);
	}
	v->raw = R->calls ? (double)total / R->calls : 0;
	v->per_call = v->raw;
	v->counts = 0;
	for (j = 0; j < R->nrows; j++)
		v->counts += R->op[j] + R->base[j];
	if (op->kind == VS_ABOVE) {
		/*
		 * Two rows' counts of the kernel's own interrupts (idle-balance
		 * kicks, at most one a tick) differ by chance: room for three
		 * standard deviations of the four windows' counts, taken as
		 * Poisson. An interrupt a call still shows: 50 calls, 50 more.
		 */
		v->per_call -= verdicts[i - 1].raw;
		if (R->calls)
			bound += 3 * root((double)(v->counts + verdicts[i - 1].counts)) / R->calls;
	}
	snprintf(b, sizeof(b), op->kind == CONTROL ? "control" : "%.2f", bound);
	printf("%-62s %6d %8.3f %8s %+9ld  %s\n", op->name, R->calls, v->raw, b, v->slab_kb,
	       len ? cell : "-");
	if (op->kind == VS_ABOVE)
		printf("%-62s %6s %8.3f   (net of the control row above: %.3f a call)\n", "", "",
		       v->per_call, verdicts[i - 1].raw);
	if (R->unexpected) {
		printf("FAIL: %s: %d unexpected results, the first: %s\n", op->name, R->unexpected,
		       R->why);
		r = 1;
	}
	if (R->calls != op_calls(op)) {
		printf("FAIL: %s: %d calls of %d\n", op->name, R->calls, op_calls(op));
		r = 1;
	}
	if (op->kind != CONTROL && v->per_call > bound) {
		printf("FAIL: %s: %.3f interrupts on other CPUs a call (bound %.2f): %lld over %d "
		       "calls in %.2f s, the idle window's taken off%s\n",
		       op->name, v->per_call, bound, total, R->calls, R->secs,
		       op->kind == VS_ABOVE ? ", and the control row's per call" : "");
		r = 1;
	}
	if (!kasan && v->slab_kb > SLAB_TOL_KB) {
		printf("FAIL: %s: kernel slab (SUnreclaim) grew %ld KiB over %d calls, in two "
		       "children, and stayed after everything was freed (about %ld bytes a call)\n",
		       op->name, v->slab_kb, R->calls,
		       v->slab_kb * 1024 / (R->calls ? R->calls : 1));
		r = 1;
	}
	return r;
}

int main(int argc, char **argv)
{
	const char *only = NULL;
	int i, fails = 0, ran = 0;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	ssize_t n;

	if (argc == 2 && !strcmp(argv[1], "--exit"))
		return 0;
	for (i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--op")) {
			only = argv[i + 1];
		} else if (!strcmp(argv[i], "--scale") && atoi(argv[i + 1]) > 0) {
			scale = atoi(argv[i + 1]);
		} else {
			printf("usage: uintr-kmod-census [--op SUBSTRING] [--scale K]\n");
			return 1;
		}
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	n = readlink("/proc/self/exe", self_exe, sizeof(self_exe) - 1);
	if (n <= 0) {
		printf("FAIL: readlink /proc/self/exe: %s\n", strerror(errno));
		return 1;
	}
	self_exe[n] = 0;
	if (ncpu < 2) {
		printf("FAIL: %ld CPU online: the census needs another CPU to watch\n", ncpu);
		return 1;
	}
	R = mmap(NULL, sizeof(*R), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (R == MAP_FAILED) {
		printf("FAIL: mmap: %s\n", strerror(errno));
		return 1;
	}
	fk_pin_cpu0();
	kasan = kernel_has_kasan();
	if (geteuid() == 0)
		quiet_others();
	printf(
	    "census: %ld CPUs; every operation from CPU 0 as uid %d; remote = interrupts on CPUs "
	    "1..%ld, every row but LOC, minus an idle window of equal length; budget %.2f a "
	    "call; slab = SUnreclaim after the child exited (tolerance %d KiB%s)\n",
	    ncpu, geteuid() == 0 ? NOBODY : (int)geteuid(), ncpu - 1, BUDGET, SLAB_TOL_KB,
	    kasan ? "; a kasan kernel: a quarter of the calls; slab shown, not judged" : "");
	printf("%-62s %6s %8s %8s %9s  %s\n", "operation", "calls", "remote/c", "bound", "slab KiB",
	       "rows (calls window - idle window)");
	for (i = 0; i < NOPS; i++) {
		if (only && !strstr(ops[i].name, only) &&
		    !(i + 1 < NOPS && ops[i + 1].kind == VS_ABOVE && strstr(ops[i + 1].name, only)))
			continue;
		ran++;
		fails += census_row(i);
	}
	quiet_undo();
	printf("census: %d operations, %d failed\n", ran, fails);
	return fails ? 1 : 0;
}
