/* SPDX-License-Identifier: MIT */
/*
 * Syscalls per operation, counted with ptrace (tests/lib/syscount.h) and
 * asserted: the table in uipc(7) and the README ("SYSCALLS PER OPERATION")
 * is this test's expectations. Exact counts, never times. The backend comes
 * from UIPC_BACKEND, as in the core suite; `test-syscalls -v` prints the
 * counts without asserting them.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uipc/chan.h>

#include "backend.h"
#include "lib/syscount.h"
#include "lib/t.h"

#define REPS 64

enum seg {
	NOTIFY_AWAKE,   /* notify, receiver awake (not armed) */
	KICK,           /* notify, receiver asleep (armed): the kick */
	ACK,            /* drain (pollable) or poll after that kick */
	ARM_EMPTY,      /* arm that finds nothing (pollable) */
	DRAIN_EMPTY,    /* drain that finds nothing, after an arm (pollable) */
	POLL_EMPTY,     /* uipc_rx_poll() / uipc_rx_wait(0) with nothing */
	X_NOTIFY_AWAKE, /* the same, with a capability handed out */
	X_KICK,
	X_ACK,
	X_ARM_EMPTY,
	X_DRAIN_EMPTY,
	X_POLL_EMPTY,
	C_KICK,        /* a channel producer of this process (uipc_chan_tx_new()) */
	C_DRAIN_EMPTY, /* ... and the drain that finds nothing after it */
	SEGS
};

static const char *const seg_names[SEGS] = {
    "notify, receiver awake",  "kick, receiver asleep",         "ack of the kick",
    "arm, nothing pending",    "drain, nothing pending",        "poll, nothing pending",
    "(exposed) notify, awake", "(exposed) kick, asleep",        "(exposed) ack of the kick",
    "(exposed) arm, nothing",  "(exposed) drain, nothing",      "(exposed) poll, nothing",
    "(channel here) kick",     "(channel here) drain, nothing",
};

static bool pollable;

#define fail(...)                                                                                  \
	do {                                                                                       \
		fprintf(stderr, __VA_ARGS__);                                                      \
		_exit(2);                                                                          \
	} while (0)

/* One receiver and one sender; base is 0 (in-process sender, made by
 * uipc_tx_new) or X_NOTIFY_AWAKE (a sender connected from a capability
 * that was handed out, as for another process). */
static void patterns(uipc_ctx *ctx, enum seg base)
{
	uipc_rx *rx;
	uipc_tx *tx;
	uint64_t m;
	int cap;

	if (uipc_rx_new(ctx, pollable ? UIPC_RX_POLLABLE : 0, &rx) < 0)
		fail("rx_new\n");
	if (base == 0) {
		if (uipc_tx_new(rx, 3, &tx) < 0)
			fail("tx_new\n");
	} else {
		cap = uipc_rx_cap(rx, 3);
		if (cap < 0 || uipc_tx_open(ctx, cap, &tx) < 0)
			fail("connect\n");
		close(cap);
	}
	for (int i = 0; i < REPS; i++) {
		sc_begin(base + NOTIFY_AWAKE);
		if (uipc_tx_notify(tx) < 0)
			fail("notify\n");
		sc_end();
		if (uipc_rx_poll(rx, &m) < 0)
			fail("poll\n");

		sc_begin(base + POLL_EMPTY);
		if (uipc_rx_poll(rx, &m) != -EAGAIN || uipc_rx_wait(rx, 0, &m) != -EAGAIN)
			fail("poll empty\n");
		sc_end();

		if (pollable) {
			sc_begin(base + ARM_EMPTY);
			if (uipc_rx_arm(rx) != 0)
				fail("arm\n");
			sc_end();
			sc_begin(base + KICK);
			if (uipc_tx_notify(tx) < 0)
				fail("kick\n");
			sc_end();
			sc_begin(base + ACK);
			if (uipc_rx_drain(rx, &m) < 0 || m != 1u << 3)
				fail("drain\n");
			sc_end();

			if (uipc_rx_arm(rx) != 0)
				fail("arm\n");
			sc_begin(base + DRAIN_EMPTY);
			if (uipc_rx_drain(rx, &m) < 0 || m)
				fail("drain empty\n");
			sc_end();
		} else {
			/* What an arming wait leaves before it sleeps. */
			uipc__rx_arm_status(rx);
			sc_begin(base + KICK);
			if (uipc_tx_notify(tx) < 0)
				fail("kick\n");
			sc_end();
			uipc__rx_disarm(rx, true);
			sc_begin(base + ACK);
			if (uipc_rx_wait(rx, 0, &m) < 0 || m != 1u << 3)
				fail("wait\n");
			sc_end();
		}
	}
	uipc_tx_free(tx);
	uipc_rx_free(rx);
}

/* Every thread of the process but this one asleep (state S), as the
 * library's watcher thread is once it waits for hang-ups: its start-up
 * calls must not land in a counted segment (every thread is counted). */
static void settle(void)
{
	char path[64], buf[256];
	unsigned calm = 0;
	pid_t self = (pid_t)syscall(SYS_gettid);

	for (int i = 0; i < 2000 && calm < 3; i++) {
		DIR *d = opendir("/proc/self/task");
		struct dirent *e;
		bool asleep = d != NULL;

		while (d && (e = readdir(d))) {
			long tid = strtol(e->d_name, NULL, 10);
			FILE *f;
			char *p;

			if (tid <= 0 || tid == self)
				continue;
			snprintf(path, sizeof(path), "/proc/self/task/%ld/stat", tid);
			f = fopen(path, "r");
			if (!f)
				continue;
			p = fgets(buf, sizeof(buf), f) ? strrchr(buf, ')') : NULL;
			asleep &= p && p[1] == ' ' && p[2] == 'S';
			fclose(f);
		}
		if (d)
			closedir(d);
		calm = asleep ? calm + 1 : 0;
		usleep(1000);
	}
}

/* A channel on the receiver and its producer in this process: the
 * producer's kick and the receiver's empty drain cost what uipc_tx_new()
 * senders' do (the receiver is not exposed for it). */
static void chan_patterns(uipc_ctx *ctx)
{
	struct uipc_chan_config cfg = {.size = sizeof(cfg), .msg_size = 8, .capacity = 64};
	uint64_t msg = 1, m;
	uipc_chan_tx *p;
	uipc_chan *ch;
	uipc_rx *rx;

	if (uipc_rx_new(ctx, pollable ? UIPC_RX_POLLABLE : 0, &rx) < 0 ||
	    uipc_chan_new(rx, 3, &cfg, &ch) < 0 || uipc_chan_tx_new(ch, &p) < 0)
		fail("channel\n");
	settle();
	for (int i = 0; i < REPS; i++) {
		if (pollable ? uipc_rx_arm(rx) != 0 : (uipc__rx_arm_status(rx), false))
			fail("arm\n");
		sc_begin(C_KICK);
		if (uipc_chan_send(p, &msg, sizeof(msg)) < 0)
			fail("send\n");
		sc_end();
		if (!pollable)
			uipc__rx_disarm(rx, true);
		/* The bit too, or the next send finds it pending and stops. */
		if ((pollable ? uipc_rx_drain(rx, &m) : uipc_rx_wait(rx, 0, &m)) < 0 ||
		    m != 1u << 3)
			fail("drain\n");
		if (uipc_chan_recv(ch, &msg, sizeof(msg), 0) < 0)
			fail("recv\n");
		if (pollable) {
			if (uipc_rx_arm(rx) != 0)
				fail("arm\n");
			sc_begin(C_DRAIN_EMPTY);
			if (uipc_rx_drain(rx, &m) < 0 || m)
				fail("drain empty\n");
			sc_end();
		}
	}
	uipc_chan_tx_free(p);
	uipc_chan_free(ch);
	uipc_rx_free(rx);
}

static void child(void *arg)
{
	uipc_ctx *ctx;

	(void)arg;
	if (uipc_ctx_new(NULL, &ctx) < 0)
		_exit(77);
	pollable = strcmp(uipc_ctx_backend_name(ctx), "eventfd") == 0;
	patterns(ctx, 0);
	patterns(ctx, X_NOTIFY_AWAKE);
	chan_patterns(ctx);
	uipc_ctx_free(ctx);
	_exit(0);
}

int main(int argc, char **argv)
{
	bool verbose = argc > 1 && strcmp(argv[1], "-v") == 0;
	long counts[SEGS];
	/* Expected syscalls per operation, by backend; -1: not measured. */
	static const struct {
		const char *backend;
		long want[SEGS];
	} table[] = {
	    {"eventfd", {0, 1, 1, 0, 0, 0, 0, 2, 1, 0, 1, 0, 1, 0}},
	    {"futex", {0, 1, 0, -1, -1, 0, 0, 1, 0, -1, -1, 0, 1, -1}},
	    /* The kick is tgkill() (another process: a liveness poll() and
	     * rt_tgsigqueueinfo()); here the receiver is this thread, which
	     * also takes the signal (rt_sigreturn): not asserted. */
	    {"signal", {0, -1, 0, -1, -1, 0, 0, -1, 0, -1, -1, 0, -1, -1}},
	    /* The model runs SENDUIPI in software: not asserted. */
	    {"uintr-sim", {-1, -1, 0, -1, -1, 0, -1, -1, 0, -1, -1, 0, -1, -1}},
	};
	const char *be = getenv("UIPC_BACKEND");
	int r, bad = 0;

	/* Under valgrind the child's system calls are the emulator's, and
	 * valgrind cannot see what ptrace writes: nothing to count. */
	if (t_under_valgrind()) {
		printf("SKIP: system calls are not counted under valgrind\n");
		return 77;
	}
	r = sc_run(child, NULL, counts, SEGS);
	if (r == 77) {
		printf("SKIP: backend %s is not usable on this machine\n", be ? be : "auto");
		return 77;
	}
	if (r < 0) {
		printf("SKIP: cannot trace a child here (ptrace: %s)\n", strerror(-r));
		return 77;
	}
	if (r != 0) {
		fprintf(stderr, "child failed: %d\n", r);
		return 1;
	}
	for (unsigned i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		if (!be || strcmp(be, table[i].backend) != 0)
			continue;
		for (int s = 0; s < SEGS; s++) {
			long want = table[i].want[s];
			double got = (double)counts[s] / REPS;

			if (verbose || (want >= 0 && counts[s] != want * REPS)) {
				fprintf(stderr, "%-9s %-28s %.2f syscalls/op (want %ld)\n",
				        table[i].backend, seg_names[s], got, want);
				bad += !verbose && want >= 0 && counts[s] != want * REPS;
			}
		}
		return bad ? 1 : 0;
	}
	for (int s = 0; s < SEGS; s++)
		fprintf(stderr, "%-9s %-28s %.2f syscalls/op\n", be ? be : "auto", seg_names[s],
		        (double)counts[s] / REPS);
	return 77;
}
