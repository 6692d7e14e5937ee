/* SPDX-License-Identifier: MIT */
/*
 * Random-ioctl fuzzer for /dev/uintr with uipc_uintr_fake.ko loaded (the
 * shim on emulated UINTR hardware, CI only). P worker processes of a few
 * threads each issue every ioctl of the ABI and of the fake ABI, plus
 * unknown numbers of the same magic, with arguments mixed between valid
 * (vector fds and UITT indices they got, short waits, a real handler) and
 * hostile (NULL, unmapped, kernel and non-canonical addresses, structs that
 * run into a PROT_NONE page, flags != 0, bad fds, out-of-range vectors and
 * indices). Meanwhile they close, reopen and dup the device, close vector
 * fds, fork, exec themselves (device fd with and without O_CLOEXEC), let
 * registered threads exit, move threads between CPUs; the parent SIGKILLs
 * random workers (and respawns them) and takes CPU 1 offline and online.
 *
 * Judged: every ioctl returns >= 0 or fails with an errno the module can
 * return; no worker dies of a signal the fuzzer did not send; the run ends
 * in time (a watchdog fails it 30 s late). The kernel side (warnings,
 * leaked references at rmmod) is judged by scripts/kmod-ci.sh.
 *
 * Runs as root in the CI VM (busybox initramfs); built static with -pthread.
 * Usage: uintr-kmod-fuzz [--seconds N] [--seed S] [--procs P]
 * (defaults 20 s, a seed from the clock, 4 workers). The seed is printed;
 * timing makes runs differ anyway. For a longer soak by hand:
 *   insmod uipc_uintr_fake.ko && uintr-kmod-fuzz --seconds 600
 * Exit 0 if nothing unexpected was seen, else 1.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../lib/t.h"
#include "kmod/uintr-fake-abi.h"

#define MAX_PROCS   32
#define POOL        16 /* vector fds and UITT indices a worker keeps at hand */
#define CPU1_ONLINE "/sys/devices/system/cpu/cpu1/online"
#define MAX_REPORTS 30

/* Counters of all processes, in a shared memfd mapping (exec children map it again). */
struct stats {
	atomic_ulong ioctls, failed, forks, execs, kills, cycles, threads;
	atomic_ulong unexpected, reports;
	atomic_ulong ok[13], wait_eintr; /* successes per ABI ioctl (known_cmds order) */
	atomic_llong deadline_ns;
};

static struct stats *S;
static int stats_fd = -1;

/* ---- small helpers -------------------------------------------------------- */

static int stopping(void)
{
	return (long long)t_now_ns() >= atomic_load(&S->deadline_ns);
}

static void sleep_us(long us)
{
	struct timespec ts = {us / 1000000, (us % 1000000) * 1000};

	nanosleep(&ts, NULL);
}

/* xorshift64*: per thread, seeded from the run's seed. */
static unsigned long long rnd(unsigned long long *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ULL;
}

static unsigned pick(unsigned long long *s, unsigned n)
{
	return (unsigned)(rnd(s) % n);
}

static unsigned long long mix(unsigned long long a, unsigned long long b)
{
	unsigned long long s = a ^ (b * 0x9E3779B97F4A7C15ULL) ^ 0x2545F4914F6CDD1DULL;

	rnd(&s);
	return s ? s : 1;
}

/* One line to stderr with write(): also fine in forked children. */
static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	char line[300];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (n > (int)sizeof(line) - 2)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	if (write(2, line, n) < 0) {
		/* nowhere else to say it */
	}
}

static void unexpected(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void unexpected(const char *fmt, ...)
{
	char line[260];
	va_list ap;

	atomic_fetch_add(&S->unexpected, 1);
	if (atomic_fetch_add(&S->reports, 1) >= MAX_REPORTS)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	say("uintr-fuzz: FAIL (pid %d): %s", (int)getpid(), line);
}

/* ---- per-process state shared by a worker's threads ----------------------- */

static atomic_int devfd = -1, devfd2 = -1; /* two open files of /dev/uintr */
static atomic_int vfds[POOL];              /* vector fds, -1: none */
static atomic_int idxs[POOL];              /* UITT indices seen, -1: none */
static int nullfd = -1, pipefd[2] = {-1, -1};
static char *page; /* one RW page, then a PROT_NONE one */
static char altstack[8192] __attribute__((aligned(64)));
static atomic_int live; /* fuzz threads running */
static unsigned long long proc_seed;
static atomic_uint thread_no;

static void handler(void)
{
}

static void pool_reset(void)
{
	for (int i = 0; i < POOL; i++) {
		atomic_store(&vfds[i], -1);
		atomic_store(&idxs[i], -1);
	}
}

/* The pool owns its fds: whoever swaps one out closes it, exactly once. */
static void pool_put_fd(unsigned long long *s, int fd)
{
	int old = atomic_exchange(&vfds[pick(s, POOL)], fd);

	if (old >= 0)
		close(old);
}

static int open_dev(unsigned long long *s)
{
	return open(UINTR_DEVICE_PATH, O_RDWR | (pick(s, 2) ? O_CLOEXEC : 0));
}

static void replace_dev(atomic_int *slot, int fd)
{
	int old = atomic_exchange(slot, fd);

	if (old >= 0)
		close(old);
}

/* ---- argument generation --------------------------------------------------- */

/* An address user space must never be able to hand the kernel. */
static unsigned long long bad_addr(unsigned long long *s)
{
	switch (pick(s, 8)) {
	case 0:
		return 0;
	case 1:
		return pick(s, 0x10000); /* below mmap_min_addr */
	case 2:
		return 0xffff888000000000ULL + (rnd(s) & 0xffffff); /* direct map */
	case 3:
		return 0xffffffff81000000ULL; /* kernel text */
	case 4:
		return 0x0000800000000000ULL; /* first non-canonical */
	case 5:
		return 0x8000000000000000ULL;
	case 6:
		return rnd(s) | (1ULL << 47); /* above user space */
	default:
		return (unsigned long long)(unsigned long)(page + 4096) + pick(s, 4096);
	}
}

/* Mostly valid, sometimes hostile. */
static __u32 flags_val(unsigned long long *s)
{
	return pick(s, 8) ? 0 : (__u32)rnd(s) | 1u << pick(s, 32);
}

static int fd_val(unsigned long long *s)
{
	switch (pick(s, 10)) {
	case 0:
		return -1;
	case 1:
		return atomic_load(&devfd);
	case 2:
		return nullfd;
	case 3:
		return pipefd[pick(s, 2)];
	case 4:
		return (int)rnd(s);
	case 5:
		return 3 + pick(s, 40); /* whatever is there, or closed */
	default:
		return atomic_load(&vfds[pick(s, POOL)]);
	}
}

static __u32 index_val(unsigned long long *s)
{
	switch (pick(s, 6)) {
	case 0:
		return pick(s, UINTR_UITT_SIZE);
	case 1:
		return UINTR_UITT_SIZE + pick(s, 1000);
	case 2:
		return (__u32)rnd(s);
	default: {
		int i = atomic_load(&idxs[pick(s, POOL)]);

		return i >= 0 ? (__u32)i : pick(s, 8);
	}
	}
}

static const unsigned long known_cmds[] = {
    UINTR_IOC_INFO,       UINTR_IOC_REGISTER_HANDLER, UINTR_IOC_UNREGISTER_HANDLER,
    UINTR_IOC_VECTOR_FD,  UINTR_IOC_REGISTER_SENDER,  UINTR_IOC_UNREGISTER_SENDER,
    UINTR_IOC_WAIT,       UINTR_IOC_ATTACH_SENDER,    UINTR_IOC_FAKE_SEND,
    UINTR_IOC_FAKE_TAKE,  UINTR_IOC_FAKE_STATE,       UINTR_IOC_FAKE_STUI,
    UINTR_IOC_FAKE_WAITQ,
};
#define N_KNOWN (sizeof(known_cmds) / sizeof(known_cmds[0]))

static const char *const known_names[] = {"info",     "handler", "unhandler", "vector", "sender",
                                          "unsender", "wait",    "attach",    "send",   "take",
                                          "state",    "stui",    "waitq"};

_Static_assert(sizeof(known_names) / sizeof(known_names[0]) == N_KNOWN &&
                   sizeof(((struct stats *)0)->ok) / sizeof(atomic_ulong) == N_KNOWN,
               "one name and one counter per ABI ioctl");

/* Index in known_cmds, or -1. */
static int known(unsigned long cmd)
{
	for (unsigned i = 0; i < N_KNOWN; i++)
		if (known_cmds[i] == cmd)
			return (int)i;
	return -1;
}

/*
 * Fill @buf with arguments for @cmd. Waits stay short: usec is <= 2000, or
 * above the 1e9 limit (-EINVAL at once). Hostile pointers never point at
 * mapped memory, except across the end of the RW page into the PROT_NONE one.
 */
static void fill_args(unsigned long long *s, unsigned long cmd, void *buf)
{
	memset(buf, 0, 64);
	if (cmd == UINTR_IOC_REGISTER_HANDLER) {
		struct uintr_handler_args *a = buf;

		a->handler = pick(s, 4) ? (__u64)(unsigned long)handler : bad_addr(s);
		switch (pick(s, 6)) {
		case 0:
			a->stack = (__u64)(unsigned long)altstack;
			a->stack_size = pick(s, 2) ? sizeof(altstack) : pick(s, 128);
			break;
		case 1:
			a->stack = pick(s, 2) ? bad_addr(s) : (__u64)(unsigned long)altstack;
			a->stack_size = pick(s, 2) ? rnd(s) : ~0ULL - pick(s, 100);
			break;
		default:
			break; /* no alternate stack */
		}
		a->flags = flags_val(s);
		a->reserved = pick(s, 10) ? 0 : (__u32)rnd(s);
	} else if (cmd == UINTR_IOC_VECTOR_FD) {
		struct uintr_vector_args *a = buf;

		a->vector = pick(s, 5) ? pick(s, UINTR_MAX_VECTORS)
		                       : UINTR_MAX_VECTORS + (__u32)pick(s, 0x7fffffff);
		a->flags = flags_val(s);
	} else if (cmd == UINTR_IOC_REGISTER_SENDER) {
		struct uintr_sender_args *a = buf;

		a->fd = fd_val(s);
		a->flags = flags_val(s);
	} else if (cmd == UINTR_IOC_UNREGISTER_SENDER) {
		struct uintr_unsender_args *a = buf;

		a->index = index_val(s);
		a->flags = flags_val(s);
	} else if (cmd == UINTR_IOC_WAIT) {
		struct uintr_wait_args *a = buf;

		a->usec = pick(s, 8) ? pick(s, 2001) : 1000000001ULL + pick(s, 2) * (rnd(s) >> 2);
		a->flags = flags_val(s);
		a->reserved = pick(s, 10) ? 0 : (__u32)rnd(s);
	} else if (cmd == UINTR_IOC_FAKE_SEND) {
		*(__u32 *)buf = index_val(s);
	} else if (cmd == UINTR_IOC_FAKE_STUI) {
		*(__u32 *)buf = (__u32)pick(s, 2); /* STUI or CLUI, as any thread may */
	} else if (cmd == UINTR_IOC_INFO || cmd == UINTR_IOC_FAKE_TAKE ||
	           cmd == UINTR_IOC_FAKE_STATE || cmd == UINTR_IOC_FAKE_WAITQ) {
		memset(buf, 0xa5, 64); /* output only */
	} else {
		*(__u32 *)buf = flags_val(s); /* UNREGISTER_HANDLER, ATTACH_SENDER, unknown */
	}
}

/* ---- one ioctl ------------------------------------------------------------- */

static int allowed_errno(int e)
{
	switch (e) {
	case EINVAL:
	case EFAULT:
	case EBADF:
	case EBUSY:
	case ENOSPC:
	case ENOMEM:
	case EOPNOTSUPP:
	case ENOTTY:
	case ETIMEDOUT:
	case EINTR:
	case EISCONN:
	case ESHUTDOWN:
	case ENXIO:
	case ENODEV:
	case EMFILE:
	case ENFILE:
		return 1;
	default:
		return 0;
	}
}

static unsigned long random_cmd(unsigned long long *s)
{
	unsigned long nr = pick(s, 3) ? pick(s, 8) : pick(s, 256);

	return _IOC(pick(s, 4), UINTR_IOC_MAGIC, nr, pick(s, 2) ? pick(s, 64) : pick(s, 1 << 14));
}

/* One random ioctl on @fd (or, now and then, on another fd); judges and books the result. */
static void fuzz_one(unsigned long long *s, int fd)
{
	union {
		char raw[64];
		__u64 align;
	} buf;
	unsigned long cmd = pick(s, 6) ? known_cmds[pick(s, N_KNOWN)] : random_cmd(s);
	unsigned long long arg;
	long r;
	int e;

	if (!pick(s, 50))
		fd = fd_val(s); /* a vector fd, /dev/null, a pipe, -1, ... */
	fill_args(s, cmd, buf.raw);
	switch (pick(s, 10)) {
	case 0:
		arg = bad_addr(s);
		break;
	case 1: { /* the struct runs into the PROT_NONE page */
		unsigned size = _IOC_SIZE(cmd) < sizeof(buf) ? _IOC_SIZE(cmd) : sizeof(buf);
		unsigned off = 1 + pick(s, size > 1 ? size - 1 : 1);

		arg = (unsigned long long)(unsigned long)(page + 4096 - off);
		memcpy(page + 4096 - off, buf.raw, off);
		break;
	}
	default:
		arg = (unsigned long long)(unsigned long)buf.raw;
	}
	r = ioctl(fd, cmd, (unsigned long)arg);
	e = errno;
	atomic_fetch_add(&S->ioctls, 1);
	if (r < 0) {
		atomic_fetch_add(&S->failed, 1);
		if (cmd == UINTR_IOC_WAIT && e == EINTR)
			atomic_fetch_add(&S->wait_eintr, 1); /* something was posted */
		if (!allowed_errno(e) || (known(cmd) < 0 && e != ENOTTY && e != EBADF)) {
			__u64 w[3];

			memcpy(w, buf.raw, sizeof(w)); /* what was passed, if arg pointed there */
			unexpected(
			    "ioctl(%d, %s %#lx, %#llx = {%#llx %#llx %#llx}) -> errno %d (%s)", fd,
			    known(cmd) < 0 ? "unknown" : known_names[known(cmd)], cmd, arg,
			    (unsigned long long)w[0], (unsigned long long)w[1],
			    (unsigned long long)w[2], e, strerror(e));
		}
		return;
	}
	if (known(cmd) < 0) {
		unexpected("unknown ioctl(%d, %#lx, %#llx) succeeded: %ld", fd, cmd, arg, r);
		return;
	}
	atomic_fetch_add(&S->ok[known(cmd)], 1);
	if (cmd == UINTR_IOC_VECTOR_FD) {
		pool_put_fd(s, (int)r);
	} else if (cmd == UINTR_IOC_REGISTER_SENDER) {
		if (r >= UINTR_UITT_SIZE)
			unexpected("REGISTER_SENDER returned index %ld", r);
		else
			atomic_store(&idxs[pick(s, POOL)], (int)r);
	} else if (r != 0) {
		unexpected("ioctl(%d, %#lx, %#llx) returned %ld, not 0", fd, cmd, arg, r);
	} else if (cmd == UINTR_IOC_INFO && arg == (unsigned long long)(unsigned long)buf.raw) {
		struct uintr_info *in = (void *)buf.raw;

		if (in->abi_version != UINTR_ABI_VERSION || !(in->flags & UINTR_INFO_HW))
			unexpected("INFO: abi %u flags %#x (want %u, HW)", in->abi_version,
			           in->flags, UINTR_ABI_VERSION);
	}
}

/* ---- events ---------------------------------------------------------------- */

static void exec_self(unsigned long long *s, int fd)
{
	char a_stats[16], a_fd[16], a_seed[24];
	char *argv[] = {"uintr-kmod-fuzz", "--exec-child", a_stats, a_fd, a_seed, NULL};

	snprintf(a_stats, sizeof(a_stats), "%d", stats_fd);
	snprintf(a_fd, sizeof(a_fd), "%d", fd);
	snprintf(a_seed, sizeof(a_seed), "%llu", rnd(s));
	execv("/proc/self/exe", argv);
	unexpected("exec /proc/self/exe: %s", strerror(errno));
}

/* fork; the child does a few ioctls on what it inherited (or execs first), then exits. */
static void fork_child(unsigned long long *s, int do_exec)
{
	unsigned long long cs = rnd(s) | 1;
	int st;
	pid_t pid;

	pid = fork();
	if (pid < 0)
		return;
	if (pid == 0) {
		if (do_exec)
			exec_self(&cs, atomic_load(&devfd));
		for (unsigned n = 1 + pick(&cs, 8); n; n--)
			fuzz_one(&cs, atomic_load(&devfd));
		_exit(0);
	}
	atomic_fetch_add(do_exec ? &S->execs : &S->forks, 1);
	if (waitpid(pid, &st, 0) == pid && WIFSIGNALED(st))
		unexpected("child %d died of signal %d", (int)pid, WTERMSIG(st));
}

static void move_cpu(unsigned long long *s)
{
	cpu_set_t set;
	unsigned which = pick(s, 3);

	CPU_ZERO(&set);
	if (which != 1)
		CPU_SET(0, &set);
	if (which != 0)
		CPU_SET(1, &set);
	sched_setaffinity(0, sizeof(set), &set); /* fails while CPU 1 is offline: fine */
}

static void *fuzz_thread(void *arg);

static void spawn_thread(void)
{
	pthread_attr_t at;
	pthread_t t;

	pthread_attr_init(&at);
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	atomic_fetch_add(&live, 1);
	if (pthread_create(&t, &at, fuzz_thread, NULL) == 0)
		atomic_fetch_add(&S->threads, 1);
	else
		atomic_fetch_sub(&live, 1);
	pthread_attr_destroy(&at);
}

/* Returns 1 if the calling thread should exit (a replacement was started). */
static int event(unsigned long long *s, int may_exit)
{
	int fd, i;

	switch (pick(s, 12)) {
	case 0: /* close and reopen the device */
		replace_dev(pick(s, 3) ? &devfd : &devfd2, open_dev(s));
		break;
	case 1: /* dup it: the same open file under another number */
		fd = dup(atomic_load(&devfd));
		if (fd >= 0)
			replace_dev(&devfd, fd);
		break;
	case 2: /* close a vector fd */
		i = atomic_exchange(&vfds[pick(s, POOL)], -1);
		if (i >= 0)
			close(i);
		break;
	case 3:
	case 4:
		fork_child(s, 0);
		break;
	case 5:
		fork_child(s, 1);
		break;
	case 6:
		move_cpu(s);
		break;
	case 7: /* a registered thread exits; another takes its place */
		if (!may_exit)
			break;
		if (pick(s, 2)) {
			struct uintr_handler_args h = {.handler = (__u64)(unsigned long)handler};

			ioctl(atomic_load(&devfd), UINTR_IOC_REGISTER_HANDLER, &h);
		}
		spawn_thread();
		return 1;
	case 8: /* exec in place: the other threads die in the middle of whatever they do */
		if (may_exit && !pick(s, 40)) {
			atomic_fetch_add(&S->execs, 1);
			exec_self(s, atomic_load(&devfd));
		}
		break;
	default: /* the other device file does something too */
		fuzz_one(s, atomic_load(&devfd2));
		break;
	}
	return 0;
}

static void *fuzz_thread(void *arg)
{
	int may_exit = arg == NULL;
	unsigned long long s = mix(proc_seed, atomic_fetch_add(&thread_no, 1) + 1);

	if (!pick(&s, 4))
		move_cpu(&s);
	while (!stopping()) {
		if (pick(&s, 60)) {
			fuzz_one(&s, atomic_load(&devfd));
		} else if (event(&s, may_exit)) {
			break;
		}
	}
	atomic_fetch_sub(&live, 1);
	return NULL;
}

/* ---- processes ------------------------------------------------------------- */

static void proc_setup(unsigned long long *s)
{
	pool_reset();
	nullfd = open("/dev/null", O_RDWR);
	if (pipe(pipefd) < 0)
		pipefd[0] = pipefd[1] = -1;
	page = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (page == MAP_FAILED || mprotect(page + 4096, 4096, PROT_NONE)) {
		say("uintr-fuzz: mmap: %s", strerror(errno));
		_exit(2);
	}
	atomic_store(&devfd, open_dev(s));
	atomic_store(&devfd2, open_dev(s));
}

static void worker(unsigned long long seed)
{
	unsigned long long s = seed;
	unsigned n = 2 + pick(&s, 3); /* 3 or 4 threads, this one included */

	proc_seed = seed;
	proc_setup(&s);
	for (unsigned i = 1; i < n; i++)
		spawn_thread();
	atomic_fetch_add(&live, 1);
	fuzz_thread((void *)1); /* this thread stays: it ends the process */
	for (int i = 0; i < 2000 && atomic_load(&live) > 0; i++)
		sleep_us(1000);
	_exit(0); /* threads still in an ioctl are killed in it: fine */
}

/* Re-executed by a worker or its child: map the counters again, a few ioctls, exit. */
static int exec_child(char **argv)
{
	unsigned long long s = strtoull(argv[2], NULL, 10) | 1;
	int fd = atoi(argv[1]); /* the worker's device fd: closed at exec if it was O_CLOEXEC */
	int inherited = fd >= 0 && fcntl(fd, F_GETFD) >= 0;
	int use_old = pick(&s, 2);

	stats_fd = atoi(argv[0]);
	S = mmap(NULL, sizeof(*S), PROT_READ | PROT_WRITE, MAP_SHARED, stats_fd, 0);
	if (S == MAP_FAILED)
		return 2;
	proc_seed = s;
	proc_setup(&s);
	if (inherited && use_old)
		replace_dev(&devfd, fd);
	for (unsigned n = 2 + pick(&s, 10); n; n--)
		fuzz_one(&s, use_old ? fd : atomic_load(&devfd)); /* a stale number: EBADF */
	return 0; /* registered or not: exit cleans up */
}

/* ---- the parent ------------------------------------------------------------ */

static pid_t workers[MAX_PROCS];
static int killed[MAX_PROCS];
static unsigned long long gen[MAX_PROCS];
static int nprocs = 4;
static unsigned long long seed;

static void set_cpu1(const char *v)
{
	int fd = open(CPU1_ONLINE, O_WRONLY);

	if (fd >= 0) {
		if (write(fd, v, 1) != 1)
			say("uintr-fuzz: note: writing %s to " CPU1_ONLINE ": %s", v,
			    strerror(errno));
		close(fd);
	}
}

static void *hotplug(void *unused)
{
	unsigned long long s = mix(seed, 999);

	(void)unused;
	while (!stopping()) {
		for (long t = 1000 + pick(&s, 1000); t > 0 && !stopping(); t -= 50)
			sleep_us(50000);
		if (stopping())
			break;
		set_cpu1("0");
		sleep_us(50000 + pick(&s, 200000));
		set_cpu1("1");
		atomic_fetch_add(&S->cycles, 1);
	}
	set_cpu1("1");
	return NULL;
}

static void watchdog(int sig)
{
	static const char msg[] =
	    "uintr-fuzz: FAIL: still running 30 s after the deadline, killing it\n";

	(void)sig;
	if (write(2, msg, sizeof(msg) - 1) < 0) {
		/* still fail */
	}
	for (int i = 0; i < nprocs; i++)
		if (workers[i] > 0)
			kill(workers[i], SIGKILL);
	set_cpu1("1"); /* open and write: async-signal-safe */
	_exit(1);
}

static void start_worker(int i)
{
	unsigned long long ws = mix(seed, (unsigned long long)i << 32 | gen[i]++);
	pid_t pid = fork();

	if (pid == 0)
		worker(ws);
	workers[i] = pid;
	killed[i] = 0;
	if (pid < 0)
		unexpected("fork of worker %d: %s", i, strerror(errno));
}

static int slot_of(pid_t pid)
{
	for (int i = 0; i < nprocs; i++)
		if (workers[i] == pid)
			return i;
	return -1;
}

/* Reap what has ended: respawn workers while time is left, judge how they ended. */
static int reap(int block)
{
	int st, n = 0;
	pid_t pid;

	while ((pid = waitpid(-1, &st, block ? 0 : WNOHANG)) > 0) {
		int i = slot_of(pid);

		n++;
		if (WIFSIGNALED(st) && !(i >= 0 && killed[i] && WTERMSIG(st) == SIGKILL))
			unexpected("%s %d died of signal %d", i >= 0 ? "worker" : "orphan",
			           (int)pid, WTERMSIG(st));
		else if (WIFEXITED(st) && WEXITSTATUS(st) != 0)
			unexpected("%s %d exited with %d", i >= 0 ? "worker" : "orphan", (int)pid,
			           WEXITSTATUS(st));
		if (i >= 0) {
			workers[i] = 0;
			if (!stopping())
				start_worker(i);
		}
		if (block)
			break;
	}
	return n;
}

static void usage(void)
{
	fprintf(stderr, "usage: uintr-kmod-fuzz [--seconds N] [--seed S] [--procs P]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	long long t0 = (long long)t_now_ns();
	double seconds = 20;
	pthread_t hp;
	int have_hp = 0;

	if (argc == 5 && !strcmp(argv[1], "--exec-child"))
		return exec_child(argv + 2);
	seed = (unsigned long long)time(NULL) ^ (unsigned long long)getpid() << 20;
	for (int i = 1; i < argc; i++) {
		if (i + 1 >= argc)
			usage();
		if (!strcmp(argv[i], "--seconds"))
			seconds = atof(argv[++i]);
		else if (!strcmp(argv[i], "--seed"))
			seed = strtoull(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "--procs"))
			nprocs = atoi(argv[++i]);
		else
			usage();
	}
	if (seconds <= 0 || nprocs < 1 || nprocs > MAX_PROCS)
		usage();
	printf("uintr-fuzz: seed %llu, %d processes, %.0f s (replay: --seed %llu --procs %d)\n",
	       seed, nprocs, seconds, seed, nprocs);
	fflush(stdout);

	stats_fd = memfd_create("uintr-fuzz-stats", 0); /* no CLOEXEC: exec children map it */
	if (stats_fd < 0 || ftruncate(stats_fd, sizeof(*S)) < 0 ||
	    (S = mmap(NULL, sizeof(*S), PROT_READ | PROT_WRITE, MAP_SHARED, stats_fd, 0)) ==
	        MAP_FAILED) {
		perror("uintr-fuzz: stats mapping");
		return 1;
	}
	atomic_store(&S->deadline_ns, t0 + (long long)(seconds * 1e9));
	int probe = open(UINTR_DEVICE_PATH, O_RDWR);
	if (probe < 0) {
		perror("uintr-fuzz: " UINTR_DEVICE_PATH);
		return 1;
	}
	close(probe);
	/* Children of killed workers come back here to be reaped and judged. */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	signal(SIGALRM, watchdog);
	alarm((unsigned)seconds + 30);

	for (int i = 0; i < nprocs; i++)
		start_worker(i);
	if (access(CPU1_ONLINE, W_OK) == 0)
		have_hp = pthread_create(&hp, NULL, hotplug, NULL) == 0;

	unsigned long long s = mix(seed, 777);
	while (!stopping()) {
		for (long t = 100000 + pick(&s, 400000); t > 0 && !stopping(); t -= 10000) {
			reap(0);
			sleep_us(10000);
		}
		if (stopping())
			break;
		int i = pick(&s, nprocs);
		if (workers[i] > 0 && kill(workers[i], SIGKILL) == 0) {
			killed[i] = 1;
			atomic_fetch_add(&S->kills, 1);
		}
	}
	/* Workers stop on their own at the deadline; then the orphans they left. */
	while (reap(1) > 0)
		;
	if (have_hp)
		pthread_join(hp, NULL);
	alarm(0);

	printf(
	    "uintr-fuzz: %lu ioctls (%lu failed, as most should), %lu forks, %lu execs, %lu kills, "
	    "%lu threads, %lu CPU 1 cycles, %.1f s\n",
	    atomic_load(&S->ioctls), atomic_load(&S->failed), atomic_load(&S->forks),
	    atomic_load(&S->execs), atomic_load(&S->kills), atomic_load(&S->threads),
	    atomic_load(&S->cycles), ((long long)t_now_ns() - t0) / 1e9);
	/* Proof that the valid paths are reached, not only the argument checks. */
	printf("uintr-fuzz: succeeded:");
	for (unsigned i = 0; i < N_KNOWN; i++)
		printf(" %s %lu", known_names[i], atomic_load(&S->ok[i]));
	printf("; waits ended by a post %lu\n", atomic_load(&S->wait_eintr));
	if (atomic_load(&S->unexpected)) {
		printf("uintr-fuzz: FAIL: %lu unexpected results (seed %llu)\n",
		       atomic_load(&S->unexpected), seed);
		return 1;
	}
	return 0;
}
