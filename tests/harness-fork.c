/* SPDX-License-Identifier: MIT */
/*
 * Fork points (issue 23): the library built with -DUIPC_FORK_POINTS
 * (src/meson.build, libuipc_forkpt) numbers the steps of object creation,
 * capability creation, producer attach and detach, capability passing and
 * *_free() (src/hooks.h, enum uipc__fp), each calling our hook.
 *
 * A trial runs a worker thread through a fixed life of objects (a
 * receiver, a capability and a sender on it, an SPSC channel with a
 * producer that attaches and detaches and one that attaches through a
 * socket, an MPSC channel with a producer, a receiver freed under its
 * sender, a channel freed under its producer). When the worker reaches
 * point N for the (skip + 1)th time, the hook wakes a forking thread and
 * waits until its fork() happened, so the fork lands exactly there. At a
 * point inside uipc__fork_hold() the fork cannot land (fork preparation
 * takes that lock too): the hook waits until preparation began, lets the
 * worker go on, and stops it again just after it releases the hold, so the
 * fork lands at the first moment it may. Then:
 *
 *  - the child checks that every inherited receiver, channel and producer
 *    the worker had finished making returns -ECHILD (its senders work),
 *    frees them all, makes objects of its own and uses them (none of the
 *    library's locks came held); then stays alive and idle;
 *  - the parent, with the idle child alive, checks every liveness promise
 *    of uipc(7) FORK: its receiver still works; a freed receiver and a
 *    freed consumer are seen gone by their sender and producer; a freed
 *    SPSC producer's role is free again; every producer freed, both
 *    consumers see -EPIPE.
 *
 * Every wait has a bound that fails the trial; the child has an alarm.
 * First an unarmed trial counts how often each point passes; then each
 * point is tried at its first, middle and last pass; then random points
 * and passes until the time is up (UIPC_HARNESS_SECONDS, default 12; CI
 * runs it longer). On every backend this build has that starts here.
 * `harness-fork one BACKEND POINT SKIP` replays one trial.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "backend.h"
#include "lib/t.h"

#define WAIT_NS    INT64_C(5000000000) /* any wait longer than this is a hang */
#define CHILD_SECS 60                  /* a child alive this long is hung */

static const char *const fp_names[UIPC_FP_COUNT] = {
    [UIPC_FP_RX_NEW] = "rx-new",
    [UIPC_FP_RX_CAP_MADE] = "rx-cap-made",
    [UIPC_FP_RX_CAP_DONE] = "rx-cap-done",
    [UIPC_FP_RX_FREE_CLOSED] = "rx-free-closed",
    [UIPC_FP_RX_FREE_UNREG] = "rx-free-unreg",
    [UIPC_FP_RX_FREE_DONE] = "rx-free-done",
    [UIPC_FP_CHAN_NEW] = "chan-new",
    [UIPC_FP_CHAN_CAP_MADE] = "chan-cap-made",
    [UIPC_FP_CHAN_CAP_DONE] = "chan-cap-done",
    [UIPC_FP_TX_NEW_CAP] = "tx-new-cap",
    [UIPC_FP_CAP_SEND] = "cap-send",
    [UIPC_FP_FD_RECV] = "fd-recv",
    [UIPC_FP_ATTACH_RECVD] = "attach-recvd",
    [UIPC_FP_TX_DUP] = "tx-dup",
    [UIPC_FP_TX_LOCKED] = "tx-locked",
    [UIPC_FP_TX_ATTACHED] = "tx-attached",
    [UIPC_FP_TX_DETACH] = "tx-detach",
    [UIPC_FP_TX_DETACH_UNREG] = "tx-detach-unreg",
    [UIPC_FP_TX_DETACHED] = "tx-detached",
    [UIPC_FP_CHAN_FREE_CLOSED] = "chan-free-closed",
    [UIPC_FP_CHAN_FREE_UNREG] = "chan-free-unreg",
    [UIPC_FP_CHAN_FREED] = "chan-freed",
};

/* The worker's objects. A slot is filled once its object is made and
 * emptied before it is freed: the child touches only filled ones. */
struct objs {
	uipc_rx *r, *r2;
	uipc_tx *t, *t2;
	uipc_chan *c, *m, *c2;
	uipc_chan_tx *p2, *p3, *p4;
};

/* The rendezvous between the worker's hook and the forking thread. */
enum { IDLE, GO, PREPARING, FORKED, STOP };

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int state;
static bool go_held;   /* the fork was asked for inside the hold */
static bool hook_fail; /* a wait in the hook ran out */
static int armed = -1;
static unsigned long armed_skip;
static unsigned long hits[UIPC_FP_COUNT];
static _Thread_local bool is_worker;

static struct objs o;
static uipc_ctx *ctx;
static const char *backend;
static int child_done[2] = {-1, -1}, child_go[2] = {-1, -1};
static pid_t child_pid;

/* Wait (mu held) until state is one of a or b; false on the bound. */
static bool wait_state(int a, int b)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += WAIT_NS / 1000000000;
	while (state != a && state != b)
		if (pthread_cond_timedwait(&cv, &mu, &ts) == ETIMEDOUT)
			return false;
	return true;
}

static void hook(int point, bool held)
{
	if (point == UIPC_FP_PREPARE) {
		/* The forking thread, in fork(): preparation begins. */
		pthread_mutex_lock(&mu);
		if (state == GO) {
			state = PREPARING;
			pthread_cond_broadcast(&cv);
		}
		pthread_mutex_unlock(&mu);
		return;
	}
	if (!is_worker)
		return;
	if (point == UIPC_FP_RELEASED) {
		/* Asked for inside the hold: the fork lands now, before we
		 * go on. */
		pthread_mutex_lock(&mu);
		if (go_held && (state == GO || state == PREPARING) && !wait_state(FORKED, STOP))
			hook_fail = true;
		pthread_mutex_unlock(&mu);
		return;
	}
	if (point < 0 || point >= UIPC_FP_COUNT)
		return;
	if (hits[point]++ != armed_skip || point != armed)
		return;
	pthread_mutex_lock(&mu);
	state = GO;
	go_held = held;
	pthread_cond_broadcast(&cv);
	/* Outside the hold, nothing stops the fork: it happens while we wait.
	 * Inside, it waits for our release: go on once it is on its way. */
	if (!wait_state(held ? PREPARING : FORKED, FORKED))
		hook_fail = true;
	pthread_mutex_unlock(&mu);
}

#define cfail(...)                                                                                 \
	do {                                                                                       \
		fprintf(stderr, "  child: " __VA_ARGS__);                                          \
		fputc('\n', stderr);                                                               \
		return 1;                                                                          \
	} while (0)

/* Wait for a bit on rx, bounded. */
static int wait_bit(uipc_rx *rx, uint64_t bit)
{
	uint64_t deadline = t_now_ns() + WAIT_NS, m = 0;
	int r;

	while (t_now_ns() < deadline) {
		r = uipc_rx_wait(rx, 100000000, &m);
		if (r == 0 && (m & bit))
			return 0;
		if (r < 0 && r != -ETIMEDOUT && r != -EINTR)
			return r;
	}
	return -ETIMEDOUT;
}

/* Receive on c until -EPIPE (every producer gone), bounded. */
static int until_epipe(uipc_chan *c)
{
	uint64_t deadline = t_now_ns() + WAIT_NS, buf[2];
	int r;

	while (t_now_ns() < deadline) {
		r = uipc_chan_recv(c, buf, sizeof(buf), 100000000);
		if (r == -EPIPE)
			return 0;
		if (r < 0 && r != -ETIMEDOUT && r != -EINTR)
			return r;
	}
	return -ETIMEDOUT;
}

/* In the child: the inherited objects, then objects of its own. */
static int child_checks(void)
{
	struct uipc_chan_config cfg = {.size = sizeof(cfg), .msg_size = 16, .capacity = 8};
	uint64_t msg[2] = {7, 7}, m;
	uipc_chan_tx *ptx;
	uipc_chan *ch;
	uipc_tx *tx;
	uipc_rx *rx;
	int r, fd;

	if (o.r) {
		if ((r = uipc_rx_cap(o.r, 9)) != -ECHILD)
			cfail("inherited rx_cap: %d", r);
		if ((r = uipc_rx_poll(o.r, &m)) != -ECHILD)
			cfail("inherited rx_poll: %d", r);
		if ((r = uipc_chan_new(o.r, 9, &cfg, &ch)) != -ECHILD)
			cfail("chan_new on an inherited rx: %d", r);
	}
	if (o.t && strncmp(backend, "uintr", 5) && (r = uipc_tx_notify(o.t)) < 0)
		cfail("inherited sender: %d", r);
	for (uipc_chan **c = (uipc_chan *[]){o.c, o.m, o.c2, NULL}; *c; c++) {
		if ((r = uipc_chan_cap(*c)) != -ECHILD)
			cfail("inherited chan_cap: %d", r);
		if ((r = uipc_chan_recv(*c, msg, sizeof(msg), 0)) != -ECHILD)
			cfail("inherited chan_recv: %d", r);
		if ((r = uipc_chan_tx_new(*c, &ptx)) != -ECHILD)
			cfail("inherited chan_tx_new: %d", r);
	}
	for (uipc_chan_tx **p = (uipc_chan_tx *[]){o.p2, o.p3, o.p4, NULL}; *p; p++) {
		if ((r = uipc_chan_send(*p, msg, sizeof(msg))) != -ECHILD)
			cfail("inherited chan_send: %d", r);
		if ((r = uipc_chan_tx_check(*p)) != -ECHILD)
			cfail("inherited chan_tx_check: %d", r);
	}
	/* Free every inherited one; the parent checks its own still work. */
	uipc_chan_tx_free(o.p2);
	uipc_chan_tx_free(o.p3);
	uipc_chan_tx_free(o.p4);
	uipc_chan_free(o.c);
	uipc_chan_free(o.m);
	uipc_chan_free(o.c2);
	uipc_tx_free(o.t);
	uipc_tx_free(o.t2);
	uipc_rx_free(o.r);
	uipc_rx_free(o.r2);

	/* Our own: every one of these takes the library's locks. */
	if ((r = uipc_rx_new(ctx, 0, &rx)) < 0)
		cfail("own rx_new: %d", r);
	if ((r = uipc_chan_new(rx, 1, &cfg, &ch)) < 0)
		cfail("own chan_new: %d", r);
	if ((r = uipc_chan_tx_new(ch, &ptx)) < 0)
		cfail("own chan_tx_new: %d", r);
	if ((r = uipc_chan_send(ptx, msg, sizeof(msg))) < 0)
		cfail("own chan_send: %d", r);
	if ((r = uipc_chan_recv(ch, msg, sizeof(msg), WAIT_NS)) < 0)
		cfail("own chan_recv: %d", r);
	uipc_chan_tx_free(ptx);
	if ((r = until_epipe(ch)) < 0)
		cfail("own channel, producer freed: %d, not -EPIPE", r);
	fd = uipc_rx_cap(rx, 2);
	if (fd < 0)
		cfail("own rx_cap: %d", fd);
	if ((r = uipc_tx_open(ctx, fd, &tx)) < 0)
		cfail("own tx_open: %d", r);
	close(fd);
	if ((r = uipc_tx_notify(tx)) < 0)
		cfail("own notify: %d", r);
	if ((r = wait_bit(rx, UINT64_C(1) << 2)) < 0)
		cfail("own rx_wait: %d", r);
	uipc_chan_free(ch);
	uipc_rx_free(rx);
	if ((r = uipc_tx_check(tx)) != -EPIPE)
		cfail("own rx freed: sender says %d, not -EPIPE", r);
	uipc_tx_free(tx);
	return 0;
}

static void *forker(void *arg)
{
	char c;
	int r;

	(void)arg;
	pthread_mutex_lock(&mu);
	while (state != GO && state != STOP)
		pthread_cond_wait(&cv, &mu);
	if (state == STOP) {
		pthread_mutex_unlock(&mu);
		return NULL;
	}
	pthread_mutex_unlock(&mu);
	child_pid = fork();
	if (child_pid == 0) {
		alarm(CHILD_SECS);
		c = (char)child_checks();
		if (write(child_done[1], &c, 1) != 1)
			_exit(3);
		/* Idle and alive until the parent has checked. */
		close(child_go[1]);
		while ((r = (int)read(child_go[0], &c, 1)) < 0 && errno == EINTR)
			;
		_exit(c ? 1 : 0);
	}
	pthread_mutex_lock(&mu);
	state = FORKED;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
	return NULL;
}

#define wfail(...)                                                                                 \
	do {                                                                                       \
		fprintf(stderr, "  parent: " __VA_ARGS__);                                         \
		fputc('\n', stderr);                                                               \
		return -1;                                                                         \
	} while (0)

/* Between a fork() and the child's fork handler, the child holds copies
 * of the producers' locks: an SPSC attach in that moment may see -EBUSY,
 * and retries (uipc(7) FORK). Only for that moment: bounded. */
static int tx_new_busy(uipc_chan *c, uipc_chan_tx **ret)
{
	uint64_t deadline = t_now_ns() + WAIT_NS;
	int r;

	while ((r = uipc_chan_tx_new(c, ret)) == -EBUSY && t_now_ns() < deadline)
		t_sleep_us(1000);
	return r;
}

/* The worker's life of objects: every point is on it. */
static int life(void)
{
	struct uipc_chan_config cfg = {.size = sizeof(cfg), .msg_size = 16, .capacity = 8};
	uint64_t msg[2] = {1, 2};
	uipc_chan_tx *p1;
	uipc_rx *rx;
	uipc_tx *tx;
	uipc_chan *ch;
	int r, fd, sv[2];

	if ((r = uipc_rx_new(ctx, 0, &rx)) < 0)
		wfail("rx_new: %d", r);
	o.r = rx;
	if ((fd = uipc_rx_cap(o.r, 1)) < 0)
		wfail("rx_cap: %d", fd);
	r = uipc_tx_open(ctx, fd, &tx);
	close(fd);
	if (r < 0)
		wfail("tx_open: %d", r);
	o.t = tx;
	if ((r = uipc_chan_new(o.r, 2, &cfg, &ch)) < 0)
		wfail("chan_new: %d", r);
	o.c = ch;
	if ((r = tx_new_busy(o.c, &p1)) < 0)
		wfail("chan_tx_new: %d", r);
	if ((r = uipc_chan_send(p1, msg, sizeof(msg))) < 0)
		wfail("chan_send: %d", r);
	uipc_chan_tx_free(p1);
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		wfail("socketpair: %d", -errno);
	for (uint64_t d = t_now_ns() + WAIT_NS;;) {
		r = uipc_chan_cap_send(o.c, sv[0]);
		if (r == 0)
			r = uipc_chan_tx_open_sock(ctx, sv[1], &o.p2);
		if (r != -EBUSY || t_now_ns() > d)
			break;
		t_sleep_us(1000);
	}
	close(sv[0]);
	close(sv[1]);
	if (r < 0)
		wfail("a second producer through a socket: %d", r);
	cfg.flags = UIPC_CHAN_MPSC;
	if ((r = uipc_chan_new(o.r, 3, &cfg, &ch)) < 0)
		wfail("chan_new mpsc: %d", r);
	o.m = ch;
	if ((r = uipc_chan_tx_new(o.m, &o.p3)) < 0)
		wfail("chan_tx_new mpsc: %d", r);
	/* A receiver freed under its sender. */
	if ((r = uipc_rx_new(ctx, 0, &rx)) < 0)
		wfail("rx_new: %d", r);
	o.r2 = rx;
	if ((fd = uipc_rx_cap(o.r2, 0)) < 0)
		wfail("rx_cap: %d", fd);
	r = uipc_tx_open(ctx, fd, &tx);
	close(fd);
	if (r < 0)
		wfail("tx_open: %d", r);
	o.t2 = tx;
	o.r2 = NULL;
	uipc_rx_free(rx);
	/* A consumer freed under its producer. */
	cfg.flags = 0;
	if ((r = uipc_chan_new(o.r, 4, &cfg, &ch)) < 0)
		wfail("chan_new: %d", r);
	o.c2 = ch;
	if ((fd = uipc_chan_cap(o.c2)) < 0)
		wfail("chan_cap: %d", fd);
	r = uipc_chan_tx_open(ctx, fd, &o.p4);
	close(fd);
	if (r < 0)
		wfail("chan_tx_open: %d", r);
	o.c2 = NULL;
	uipc_chan_free(ch);
	return 0;
}

/* In the parent, the child alive and idle: uipc(7) FORK's promises. */
static int parent_checks(void)
{
	uint64_t deadline, msg[2] = {3, 4};
	uipc_chan_tx *p;
	int r;

	/* Our receiver works, whatever the child freed. */
	if ((r = uipc_tx_notify(o.t)) < 0)
		wfail("notify our receiver: %d", r);
	if ((r = wait_bit(o.r, UINT64_C(1) << 1)) < 0)
		wfail("our receiver's wait: %d", r);
	/* A freed receiver is seen gone by its sender. */
	if ((r = uipc_tx_check(o.t2)) != -EPIPE)
		wfail("receiver freed: its sender says %d, not -EPIPE", r);
	if ((r = uipc_tx_notify(o.t2)) != -EPIPE)
		wfail("receiver freed: notify says %d, not -EPIPE", r);
	/* A freed consumer is seen gone by its producer. */
	if ((r = uipc_chan_tx_check(o.p4)) != -EPIPE)
		wfail("consumer freed: its producer says %d, not -EPIPE", r);
	if ((r = uipc_chan_send(o.p4, msg, sizeof(msg))) != -EPIPE)
		wfail("consumer freed: send says %d, not -EPIPE", r);
	/* A freed SPSC producer's role is free again. */
	uipc_chan_tx_free(o.p2);
	o.p2 = NULL;
	deadline = t_now_ns() + WAIT_NS;
	while ((r = uipc_chan_tx_new(o.c, &p)) == -EBUSY && t_now_ns() < deadline)
		t_sleep_us(1000);
	if (r < 0)
		wfail("spsc role after its producer's free: %d", r);
	if ((r = uipc_chan_send(p, msg, sizeof(msg))) < 0)
		wfail("spsc send by the next producer: %d", r);
	uipc_chan_tx_free(p);
	/* Every producer freed: both consumers see them gone. */
	if ((r = until_epipe(o.c)) < 0)
		wfail("spsc, every producer freed: recv %d, not -EPIPE", r);
	uipc_chan_tx_free(o.p3);
	o.p3 = NULL;
	if ((r = until_epipe(o.m)) < 0)
		wfail("mpsc, every producer freed: recv %d, not -EPIPE", r);
	if ((r = uipc_chan_tx_new(o.m, &p)) < 0)
		wfail("mpsc attach after: %d", r);
	uipc_chan_tx_free(p);
	return 0;
}

static void free_all(void)
{
	uipc_chan_tx_free(o.p2);
	uipc_chan_tx_free(o.p3);
	uipc_chan_tx_free(o.p4);
	uipc_chan_free(o.c);
	uipc_chan_free(o.m);
	uipc_chan_free(o.c2);
	uipc_tx_free(o.t);
	uipc_tx_free(o.t2);
	uipc_rx_free(o.r);
	uipc_rx_free(o.r2);
	memset(&o, 0, sizeof(o));
}

struct result {
	int r;
	bool forked;
};

static void *worker(void *arg)
{
	struct result *res = arg;
	struct pollfd pf;
	char c = 1;

	is_worker = true;
	res->r = life();
	pthread_mutex_lock(&mu);
	armed = -1;
	res->forked = state == FORKED;
	if (state != FORKED) {
		state = STOP;
		pthread_cond_broadcast(&cv);
	}
	pthread_mutex_unlock(&mu);
	if (hook_fail) {
		fprintf(stderr, "  parent: the fork did not happen at the point\n");
		res->r = -1;
	}
	if (res->forked) {
		/* The child's checks first, then ours while it idles. */
		uint64_t end = t_now_ns() + (uint64_t)(CHILD_SECS - 10) * 1000000000u;
		int n;

		/* A signal (uintr-sim's late notification, say) ends a poll
		 * early: poll again until the bound. */
		pf = (struct pollfd){.fd = child_done[0], .events = POLLIN};
		do {
			uint64_t now = t_now_ns();

			n = now < end ? poll(&pf, 1, (int)((end - now) / 1000000u) + 1) : 0;
		} while (n < 0 && errno == EINTR);
		if (n != 1 || read(child_done[0], &c, 1) != 1) {
			fprintf(stderr, "  parent: no word from the child (poll %d, errno %d)\n", n,
			        n < 0 ? errno : 0);
			res->r = -1;
		} else if (c) {
			res->r = -1;
		}
		if (res->r == 0)
			res->r = parent_checks();
	}
	free_all();
	return NULL;
}

static unsigned trials, failures;

static int trial(int point, unsigned long skip)
{
	pthread_t w, f;
	struct result res = {0};
	int st = 0, ok;

	memset(hits, 0, sizeof(hits));
	state = IDLE;
	go_held = hook_fail = false;
	armed = point;
	armed_skip = skip;
	child_pid = -1;
	if (pipe(child_done) < 0 || pipe(child_go) < 0)
		return -1;
	pthread_create(&f, NULL, forker, NULL);
	pthread_create(&w, NULL, worker, &res);
	pthread_join(w, NULL);
	pthread_join(f, NULL);
	close(child_go[1]); /* the child may go */
	ok = res.r == 0;
	if (child_pid > 0) {
		if (waitpid(child_pid, &st, 0) != child_pid || !WIFEXITED(st) ||
		    WEXITSTATUS(st) != 0) {
			fprintf(stderr, "  child: %s %d\n", WIFSIGNALED(st) ? "signal" : "exit",
			        WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
			ok = 0;
		}
	}
	close(child_done[0]);
	close(child_done[1]);
	close(child_go[0]);
	trials++;
	if (!ok) {
		failures++;
		fprintf(stderr, "FAIL %s: fork at %s, pass %lu (harness-fork one %s %d %lu)\n",
		        backend, point >= 0 ? fp_names[point] : "none", skip, backend, point, skip);
		return -1;
	}
	return res.forked;
}

static int run_backend(const char *name, double secs, uint64_t *rs)
{
	unsigned long n[UIPC_FP_COUNT], forked[UIPC_FP_COUNT] = {0};
	unsigned before = failures, t0 = trials;
	uint64_t deadline;

	backend = name;
	if (uipc_ctx_new(name, &ctx) < 0) {
		printf("%s: not here, skipped\n", name);
		return 0;
	}
	if (trial(-1, 0) < 0)
		goto out;
	memcpy(n, hits, sizeof(n));
	for (int i = 0; i < UIPC_FP_COUNT; i++) {
		unsigned long skips[3] = {0, n[i] / 2, n[i] ? n[i] - 1 : 0};

		for (int k = 0; k < 3 && n[i]; k++) {
			if (k && skips[k] <= skips[k - 1])
				continue;
			if (trial(i, skips[k]) > 0)
				forked[i]++;
		}
	}
	deadline = t_now_ns() + (uint64_t)(secs * 1e9);
	while (t_now_ns() < deadline && failures - before < 10) {
		int i = (int)(t_rand(rs) % UIPC_FP_COUNT);

		if (n[i] && trial(i, t_rand(rs) % n[i]) > 0)
			forked[i]++;
	}
	printf("%s: %u trials, %u failed; forked at:", name, trials - t0, failures - before);
	for (int i = 0; i < UIPC_FP_COUNT; i++)
		printf(" %s x%lu", fp_names[i], forked[i]);
	printf("\n");
	for (int i = 0; i < UIPC_FP_COUNT; i++)
		if (!n[i])
			printf("  %s: never reached\n", fp_names[i]);
out:
	uipc_ctx_free(ctx);
	ctx = NULL;
	return 0;
}

int main(int argc, char **argv)
{
	static const char *const backends[] = {"futex", "eventfd", "signal", "uintr-sim"};
	const char *env = getenv("UIPC_HARNESS_SECONDS");
	double secs = env ? atof(env) : 12;
	uint64_t seed = env && getenv("UIPC_HARNESS_SEED")
	                    ? strtoull(getenv("UIPC_HARNESS_SEED"), NULL, 0)
	                    : (uint64_t)t_now_ns() | 1;
	size_t nb = sizeof(backends) / sizeof(backends[0]);

	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	uipc__fork_point_fn = hook;
	if (argc == 5 && !strcmp(argv[1], "one")) {
		backend = argv[2];
		if (uipc_ctx_new(backend, &ctx) < 0)
			return 77;
		if (trial(atoi(argv[3]), strtoul(argv[4], NULL, 0)) < 0)
			return 1;
		uipc_ctx_free(ctx);
		return 0;
	}
	printf("fork points: seed %llu, %.0f s of random trials after the sweeps\n",
	       (unsigned long long)seed, secs);
	for (size_t i = 0; i < nb; i++)
		run_backend(backends[i], secs / (double)nb, &seed);
	printf("%u trials, %u failed\n", trials, failures);
	return failures ? 1 : 0;
}
