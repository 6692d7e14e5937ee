/* SPDX-License-Identifier: MIT */
/*
 * Drives uipc_uintr_fake.ko (the shim with emulated UINTR hardware, CI
 * only) through the whole ABI from several threads and processes:
 * registration and its errors, vector fds, a sender table shared by the
 * threads of a process, posting and waiting (immediate, timed out, and
 * blocked while the post arrives), a full table, receivers that unregister,
 * exit or exec without cleaning up, a blocked waiter on each CPU in turn
 * (the UPID's NDST read back as the CPU reads it, in xAPIC or x2APIC mode),
 * and in the end no module reference left.
 *
 * Runs in the CI VM (busybox initramfs); built static with -pthread.
 * Usage: uintr-kmod-fake <module name> [--pinned]
 *        (<name> for /sys/module/<name>/refcnt; --pinned adds the waiter
 *        pinned to each CPU; scripts/kmod-ci.sh passes it)
 * Prints one line per check and "N passed, N failed"; exit 0 only if all pass.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../lib/t.h"
#include "kmod/uintr-fake-abi.h"

#define RECEIVERS 4 /* x 64 vectors: one more than the table holds after one entry */

static int dev = -1;
static pthread_barrier_t bar;

static void check(int ok, const char *what)
{
	t_report(ok, "%s", what);
}

/* ioctl result: the return value, or -errno. */
static long io(unsigned long cmd, void *arg)
{
	long r = ioctl(dev, cmd, arg);

	return r < 0 ? -errno : r;
}

static void check_io(unsigned long cmd, void *arg, long want, const char *what)
{
	long got = io(cmd, arg);
	char line[200];

	snprintf(line, sizeof(line), "%s -> %ld (want %ld)", what, got, want);
	check(got == want, line);
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

static void dummy_handler(void)
{
}

static long register_handler(void)
{
	struct uintr_handler_args h = {.handler = (__u64)(unsigned long)dummy_handler};

	return io(UINTR_IOC_REGISTER_HANDLER, &h);
}

static long vector_fd(unsigned vector)
{
	struct uintr_vector_args v = {.vector = vector};

	return io(UINTR_IOC_VECTOR_FD, &v);
}

static long wait_us(__u64 usec)
{
	struct uintr_wait_args w = {.usec = usec};

	return io(UINTR_IOC_WAIT, &w);
}

static long send_idx(__u32 index)
{
	return io(UINTR_IOC_FAKE_SEND, &index);
}

static long register_sender(int fd)
{
	struct uintr_sender_args s = {.fd = fd};

	return io(UINTR_IOC_REGISTER_SENDER, &s);
}

static __u64 take(void)
{
	__u64 m = ~0ull;

	return io(UINTR_IOC_FAKE_TAKE, &m) == 0 ? m : ~0ull;
}

/* ---- one receiver, the main thread as sender, a second sender thread ---- */

static int vfd3 = -1, vfd5 = -1;
static long idx3 = -1, idx5 = -1;

static void *receiver(void *unused)
{
	struct uintr_handler_args alt = {
	    .handler = (__u64)(unsigned long)dummy_handler, .stack = 0x10000, .stack_size = 16};
	__u32 flags = 0;

	(void)unused;
	check_io(UINTR_IOC_REGISTER_HANDLER, &alt, -EINVAL, "alternate stack of 16 bytes");
	check(register_handler() == 0, "register handler");
	check(register_handler() == -EBUSY, "second handler: -EBUSY");
	vfd3 = (int)vector_fd(3);
	check(vfd3 >= 0, "vector fd 3");
	check(vector_fd(3) == -EBUSY, "vector 3 again: -EBUSY");
	check(vector_fd(64) == -ENOSPC, "vector 64: -ENOSPC");
	vfd5 = (int)vector_fd(5);
	check(vfd5 >= 0, "vector fd 5");
	check(vfd3 >= 0 && (fcntl(vfd3, F_GETFD) & FD_CLOEXEC), "vector fd is O_CLOEXEC");
	check(wait_us(0) == -ETIMEDOUT, "wait 0 us, nothing pending: -ETIMEDOUT");
	check(wait_us(2000) == -ETIMEDOUT, "wait 2 ms, nothing pending: -ETIMEDOUT");
	check(take() == 0, "nothing pending");
	pthread_barrier_wait(&bar); /* 1: fds ready */
	pthread_barrier_wait(&bar); /* 2: vector 3 posted */
	check(wait_us(1000000) == -EINTR, "wait with vector 3 posted: -EINTR");
	check(take() == 1ull << 3, "pending is exactly vector 3");
	check(wait_us(1000) == -ETIMEDOUT, "taken: wait times out again");
	pthread_barrier_wait(&bar); /* 3: second thread sends vector 5 */
	pthread_barrier_wait(&bar); /* 4: posted */
	check(wait_us(1000000) == -EINTR, "wait with vector 5 posted from another thread: -EINTR");
	check(take() == 1ull << 5, "pending is exactly vector 5");
	pthread_barrier_wait(&bar); /* 5: block, the sender posts while we sleep */
	check(wait_us(5000000) == -EINTR, "blocked wait woken by a post: -EINTR");
	check(take() == 1ull << 3, "the post while blocked is vector 3");
	check_io(UINTR_IOC_UNREGISTER_HANDLER, &flags, 0, "unregister handler");
	check_io(UINTR_IOC_UNREGISTER_HANDLER, &flags, -EINVAL, "unregister again: -EINVAL");
	check(wait_us(0) == -EINVAL, "wait after unregister: -EINVAL");
	pthread_barrier_wait(&bar); /* 6: done */
	return NULL;
}

static void *second_sender(void *unused)
{
	__u32 flags = 0;

	(void)unused;
	check(send_idx((__u32)idx5) == -ENXIO, "send from a thread without the table: #UD");
	check_io(UINTR_IOC_ATTACH_SENDER, &flags, 0, "attach the process table");
	check_io(UINTR_IOC_ATTACH_SENDER, &flags, 0, "attach again: 0");
	check(send_idx((__u32)idx5) == 0, "send vector 5 from the attached thread");
	return NULL; /* exits with its state loaded: torn down by the final switch */
}

/* A child shares the open file but not the table: its registration of vector
 * 3 is its own (no -EISCONN), and its post reaches the parent's receiver. */
static int fork_child_sender(void)
{
	int status;
	pid_t pid = fork();

	if (pid == 0) {
		long i = register_sender(vfd3);

		if (i < 0)
			_exit(1);
		if (register_sender(vfd3) != -EISCONN)
			_exit(2);
		_exit(send_idx((__u32)i) == 0 ? 0 : 3);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

static void phase_threads(void)
{
	pthread_t r, s;
	int self;

	pthread_barrier_init(&bar, NULL, 2);
	pthread_create(&r, NULL, receiver, NULL);
	pthread_barrier_wait(&bar); /* 1 */
	idx3 = register_sender(vfd3);
	check(idx3 >= 0, "register sender for vector 3");
	check(register_sender(vfd3) == -EISCONN, "again: -EISCONN");
	idx5 = register_sender(vfd5);
	check(idx5 >= 0 && idx5 != idx3, "register sender for vector 5");
	self = dup(dev);
	check(register_sender(self) == -EOPNOTSUPP, "/dev/uintr is not a vector fd: -EOPNOTSUPP");
	close(self);
	check(register_sender(-1) == -EBADF, "fd -1: -EBADF");
	check(fork_child_sender() == 0, "forked child sharing the fd: a table of its own");
	check(send_idx((__u32)idx3) == 0, "send vector 3");
	check(send_idx(255) == -EINVAL, "send on an empty entry: #GP");
	check(send_idx(256) == -EINVAL, "send past the table: #GP");
	pthread_barrier_wait(&bar); /* 2 */
	pthread_barrier_wait(&bar); /* 3 */
	pthread_create(&s, NULL, second_sender, NULL);
	pthread_join(s, NULL);
	pthread_barrier_wait(&bar); /* 4 */
	pthread_barrier_wait(&bar); /* 5 */
	sleep_ms(50);               /* let the receiver block; correctness does not depend on it */
	check(send_idx((__u32)idx3) == 0, "send vector 3 to the blocked receiver");
	pthread_barrier_wait(&bar); /* 6 */
	pthread_join(r, NULL);
	pthread_barrier_destroy(&bar);

	struct uintr_unsender_args u = {.index = (__u32)idx3};
	check_io(UINTR_IOC_UNREGISTER_SENDER, &u, 0, "unregister sender of vector 3");
	check_io(UINTR_IOC_UNREGISTER_SENDER, &u, -EINVAL, "again: -EINVAL");
	check(send_idx((__u32)idx3) == -EINVAL, "send on the removed entry: #GP");
	check(register_sender(vfd3) == -ESHUTDOWN, "receiver unregistered: -ESHUTDOWN");
	check(close(vfd5) == 0 && close(vfd3) == 0, "close vector fds (reverse order)");
}

/* ---- a full table ------------------------------------------------------- */

static int many[RECEIVERS][64];

static void *many_receiver(void *arg)
{
	int *fds = arg;
	unsigned v;
	int ok = register_handler() == 0;

	for (v = 0; v < 64; v++) {
		fds[v] = (int)vector_fd(v);
		ok &= fds[v] >= 0;
	}
	check(ok, "receiver with 64 vector fds");
	pthread_barrier_wait(&bar); /* fds ready */
	pthread_barrier_wait(&bar); /* registered */
	return NULL;                /* dies registered */
}

static void phase_full(void)
{
	pthread_t t[RECEIVERS];
	int i, v, n = 0, nospc = 0, other = 0, shut = 0, tries;
	long r;

	pthread_barrier_init(&bar, NULL, RECEIVERS + 1);
	for (i = 0; i < RECEIVERS; i++)
		pthread_create(&t[i], NULL, many_receiver, many[i]);
	pthread_barrier_wait(&bar);
	for (i = 0; i < RECEIVERS; i++)
		for (v = 0; v < 64; v++) {
			r = register_sender(many[i][v]);
			if (r >= 0)
				n++;
			else if (r == -ENOSPC)
				nospc++;
			else
				other++;
		}
	printf("registered %d, -ENOSPC %d, other %d\n", n, nospc, other);
	/* One entry (vector 5 of the first receiver) is still in the table. */
	check(n == 255 && nospc == 1 && other == 0, "table holds 256 entries, then -ENOSPC");
	pthread_barrier_wait(&bar);
	for (i = 0; i < RECEIVERS; i++)
		pthread_join(t[i], NULL);
	pthread_barrier_destroy(&bar);
	/* The receivers died registered; their state goes when the reaper runs. */
	for (tries = 0; tries < 500 && !shut; tries++) {
		if (register_sender(many[RECEIVERS - 1][63]) == -ESHUTDOWN)
			shut = 1;
		else
			sleep_ms(10);
	}
	check(shut, "receiver that exited registered: -ESHUTDOWN");
	for (i = RECEIVERS - 1; i >= 0; i--)
		for (v = 0; v < 64; v++)
			close(many[i][v]);
}

/* ---- processes: exit and exec while registered -------------------------- */

static int child(int do_exec)
{
	int fd = open(UINTR_DEVICE_PATH, O_RDWR | O_CLOEXEC);
	struct uintr_handler_args h = {.handler = (__u64)(unsigned long)dummy_handler};
	struct uintr_vector_args v = {.vector = 7};
	struct uintr_sender_args s;

	if (fd < 0 || ioctl(fd, UINTR_IOC_REGISTER_HANDLER, &h) < 0)
		return 10;
	s.fd = ioctl(fd, UINTR_IOC_VECTOR_FD, &v);
	s.flags = 0;
	if (s.fd < 0 || ioctl(fd, UINTR_IOC_REGISTER_SENDER, &s) < 0)
		return 11;
	if (do_exec) {
		execl("/bin/true", "true", (char *)NULL);
		return 12;
	}
	return 0; /* exit with everything registered and open */
}

static void phase_processes(void)
{
	int mode, status;
	pid_t pid;

	for (mode = 0; mode < 2; mode++) {
		fflush(stdout);
		pid = fork();
		if (pid == 0)
			_exit(child(mode));
		check(pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
		          WEXITSTATUS(status) == 0,
		      mode ? "child registered, then exec" : "child registered, then exit");
	}
}

/* The sending side runs in its own thread: a thread keeps its state until it exits. */
static void *sender_main(void *unused)
{
	(void)unused;
	phase_threads();
	phase_full();
	return NULL;
}

/* ---- a blocked waiter on each CPU: the wake goes where NDST points ---- */
struct pinned {
	int cpu, vfd, pinned, on_cpu;
	long got;
	__u64 taken;
	double secs;
};

#define PINNED_WAIT_US 20000000ull /* a lost wake costs all of it */

static void *pinned_receiver(void *arg)
{
	struct pinned *p = arg;
	struct timespec t0, t1;
	cpu_set_t set;
	__u32 flags = 0;

	CPU_ZERO(&set);
	CPU_SET(p->cpu, &set);
	p->pinned = sched_setaffinity(0, sizeof(set), &set) == 0;
	p->vfd = register_handler() == 0 ? (int)vector_fd(9) : -1;
	pthread_barrier_wait(&bar); /* 1: fd ready */
	pthread_barrier_wait(&bar); /* 2: sender registered */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	p->got = wait_us(PINNED_WAIT_US);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	p->secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	p->on_cpu = sched_getcpu();
	p->taken = take();
	io(UINTR_IOC_UNREGISTER_HANDLER, &flags);
	return NULL;
}

/*
 * The fake SENDUIPI wakes the queue of the CPU whose APIC id the UPID's
 * NDST holds, decoded the way the CPU decodes it: an NDST the module
 * encoded for the wrong APIC mode wakes nobody, and the wait runs to its
 * deadline (the post is then found, so only the time tells). CPU 0 has
 * APIC id 0 in both layouts; CPU 1 is the one that tells them apart.
 * Runs in a thread of its own: the sender's state leaves with it.
 */
static void *phase_pinned(void *unused)
{
	long n = sysconf(_SC_NPROCESSORS_CONF);
	int full = dev;

	/* A table of its own: phase_full left the first one full. */
	dev = open(UINTR_DEVICE_PATH, O_RDWR | O_CLOEXEC);
	check(dev >= 0, "open " UINTR_DEVICE_PATH " again (a second sender table)");
	for (int cpu = 0; dev >= 0 && cpu < n && cpu < CPU_SETSIZE; cpu++) {
		struct pinned p = {.cpu = cpu, .vfd = -1};
		struct uintr_unsender_args u = {0};
		long idx, sent = -1;
		char line[240];
		pthread_t r;

		pthread_barrier_init(&bar, NULL, 2);
		pthread_create(&r, NULL, pinned_receiver, &p);
		pthread_barrier_wait(&bar); /* 1 */
		idx = p.vfd >= 0 ? register_sender(p.vfd) : -1;
		pthread_barrier_wait(&bar); /* 2 */
		sleep_ms(200);              /* let it block; correctness does not depend on it */
		if (idx >= 0)
			sent = send_idx((__u32)idx);
		pthread_join(r, NULL);
		pthread_barrier_destroy(&bar);
		if (!p.pinned) {
			printf("skip: CPU %d not online\n", cpu);
			continue;
		}
		snprintf(line, sizeof(line),
		         "blocked waiter on CPU %d (ran on %d) woken by the post: %ld, "
		         "vector mask %#llx, %.3f s of a %llu s wait (sender index %ld, send %ld)",
		         cpu, p.on_cpu, p.got, (unsigned long long)p.taken, p.secs,
		         PINNED_WAIT_US / 1000000, idx, sent);
		check(idx >= 0 && sent == 0 && p.got == -EINTR && p.taken == 1ull << 9 &&
		          p.secs < PINNED_WAIT_US / 2e6,
		      line);
		if (idx >= 0) {
			u.index = (__u32)idx;
			io(UINTR_IOC_UNREGISTER_SENDER, &u);
		}
		if (p.vfd >= 0)
			close(p.vfd);
	}
	if (dev >= 0)
		close(dev);
	dev = full;
	return unused;
}

static int refcnt(const char *mod)
{
	char path[128], buf[32] = "";
	FILE *f;

	snprintf(path, sizeof(path), "/sys/module/%s/refcnt", mod);
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = 0;
	fclose(f);
	return atoi(buf);
}

int main(int argc, char **argv)
{
	const char *mod = argc > 1 ? argv[1] : "uipc_uintr_fake";
	struct uintr_info info = {0};
	int tries, rc = -1;

	dev = open(UINTR_DEVICE_PATH, O_RDWR | O_CLOEXEC);
	check(dev >= 0, "open " UINTR_DEVICE_PATH);
	if (dev < 0)
		return 1;
	check(io(UINTR_IOC_INFO, &info) == 0 && (info.flags & UINTR_INFO_HW) &&
	          info.uitt_size == UINTR_UITT_SIZE && info.uinv == 0xf0,
	      "INFO: (emulated) hardware, 256 entries, vector 0xf0");
	/* The fake SENDUIPI runs the wake handler for the CPU the UPID names,
	 * so the blocked waits below go through the wait queues. */
	check((info.flags & UINTR_INFO_WAIT_VECTOR) && info.wake_source == UINTR_WAKE_SRC_OWN &&
	          info.wake_why == UINTR_WAKE_WHY_NONE && info.wake_vector >= 0x40 &&
	          info.wake_vector < 0xc0,
	      "INFO: blocked waits woken through the own wake interrupt (fake: vector 0x40 + CPU)");
	pthread_t t;

	pthread_create(&t, NULL, sender_main, NULL);
	pthread_join(t, NULL);
	phase_processes();
	/* A thread of its own, like sender_main: a sender's state goes with its thread. */
	if (argc > 2 && !strcmp(argv[2], "--pinned")) {
		pthread_create(&t, NULL, phase_pinned, NULL);
		pthread_join(t, NULL);
	}
	close(dev);
	/* Every thread's state and table released: no reference left on the module. */
	for (tries = 0; tries < 500 && (rc = refcnt(mod)) != 0; tries++)
		sleep_ms(10);
	printf("%s refcnt: %d\n", mod, rc);
	check(rc == 0, "no module reference left");
	return t_report_done();
}
