/* SPDX-License-Identifier: MIT */
/*
 * Kill points (issue 23): the library built with -DUIPC_KILL_POINTS
 * (src/meson.build, libuipc_kill) numbers every store of a producer's path
 * (SPSC attach and takeover, send, send_n, reserve/commit, MPSC claim and
 * publish, space wait, detach) and of the consumer's publish path
 * (src/hooks.h, enum uipc__kp). A trial forks a process that
 * SIGKILLs itself the (skip + 1)th time it reaches point N, then checks the
 * channel:
 *
 *  - producer points: the consumer (this process) takes every message in
 *    order, none twice, at least every one the library said it sent and
 *    none it was not handed; then sees -EPIPE (nothing hangs: every wait
 *    has a bound that fails the trial); then a next producer attaches
 *    (SPSC: takes the role over) and its messages come through. MPSC runs
 *    a surviving producer alongside, whose messages all come out behind
 *    the dead one's claims.
 *  - consumer points: the producer (this process) gets 0 or -EPIPE from
 *    every bounded send, never a timeout, and -EPIPE once the consumer is
 *    dead.
 *
 * First, an unarmed run of each configuration counts how often each point
 * passes; then each point is killed at its first, middle and last pass,
 * and at a random one; then random points and passes until the time is up
 * (UIPC_HARNESS_SECONDS, default 20; CI runs it longer). A failure names
 * the configuration, point, pass and seed: `harness-kill one MODE POINT
 * SKIP SEED` replays one trial.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "backend.h"
#include "lib/t.h"

#define CAP        8
#define MSGS       (4 * CAP)
#define WAIT_NS    INT64_C(10000000000) /* any wait longer than this is a hang */
#define CHILD_SECS 60                   /* a child alive this long is hung */

static const char *const kp_names[UIPC_KP_COUNT] = {
    [UIPC_KP_SPSC_LOCKED] = "spsc-locked",
    [UIPC_KP_MPSC_LOCKED] = "mpsc-locked",
    [UIPC_KP_MPSC_ENTRY] = "mpsc-entry",
    [UIPC_KP_CLAIM_N] = "claim-n",
    [UIPC_KP_CLAIM_POS] = "claim-pos",
    [UIPC_KP_CLAIM_TAIL] = "claim-tail",
    [UIPC_KP_CLAIM_LOST] = "claim-lost",
    [UIPC_KP_SEND_WRITTEN] = "send-written",
    [UIPC_KP_SEND_N_WRITTEN] = "send-n-written",
    [UIPC_KP_RESERVED] = "reserved",
    [UIPC_KP_COMMIT] = "commit",
    [UIPC_KP_PUBLISH_SEQ] = "publish-seq",
    [UIPC_KP_PUBLISH_TAIL] = "publish-tail",
    [UIPC_KP_NOTIFIED] = "notified",
    [UIPC_KP_SPACE_WAITER] = "space-waiter",
    [UIPC_KP_DETACH] = "detach",
    [UIPC_KP_HEAD] = "head",
    [UIPC_KP_FREE_SLOT] = "free-slot",
    [UIPC_KP_PASS_HOLE] = "pass-hole",
    [UIPC_KP_WAKE_CLEAR] = "wake-clear",
    [UIPC_KP_WAKE_SEQ] = "wake-seq",
    [UIPC_KP_GONE_CHECK] = "gone-check",
};

/* Where the consumer's points start: the rest are a producer's. */
#define KP_CONSUMER UIPC_KP_HEAD

enum mode { SPSC, MPSC, CONS_SPSC, CONS_MPSC, MODES };
static const char *const mode_names[MODES] = {"spsc", "mpsc", "consumer-spsc", "consumer-mpsc"};

struct msg {
	uint32_t id; /* producer: 0 the armed one, 1 the survivor, 2 the next */
	uint32_t trial;
	uint64_t n; /* per producer, from 0 */
};

/* Shared with the children (MAP_SHARED). */
struct ctl {
	_Atomic int filled;            /* the armed process filled the ring */
	_Atomic uint64_t attempted[2]; /* messages handed to the library */
	_Atomic uint64_t committed[2]; /* messages it said it sent */
	_Atomic unsigned long hits[UIPC_KP_COUNT];
};

static struct ctl *ctl;
static unsigned trial_no;
static unsigned long killed[MODES][UIPC_KP_COUNT];

static void save_hits(void)
{
	for (int i = 0; i < UIPC_KP_COUNT; i++)
		atomic_store(&ctl->hits[i], uipc__kill_hits(i));
}

#define child_fail(code, ...)                                                                      \
	do {                                                                                       \
		fprintf(stderr, "  child: " __VA_ARGS__);                                          \
		fputc('\n', stderr);                                                               \
		_exit(code);                                                                       \
	} while (0)

/* Producer id sends MSGS messages, mixing every way to send. */
static void producer(int id, int cap, int point, unsigned long skip, uint64_t seed, bool fill)
{
	struct msg m[CAP];
	uipc_chan_tx *p;
	uipc_ctx *ctx;
	uint64_t n = 0;
	void *slot;
	int r;

	alarm(CHILD_SECS);
	if (uipc_ctx_new(NULL, &ctx) < 0)
		child_fail(20, "ctx");
	uipc__kill_arm(point, skip);
	r = uipc_chan_tx_open(ctx, cap, &p);
	if (r < 0)
		child_fail(21, "producer %d: attach: %s", id, strerror(-r));
	close(cap);
#define MSG(k) ((struct msg){.id = (uint32_t)id, .trial = trial_no, .n = (k)})
	while (fill && n < MSGS) {
		m[0] = MSG(n);
		atomic_store(&ctl->attempted[id], n + 1);
		r = uipc_chan_send(p, &m[0], sizeof(m[0]));
		if (r == -EAGAIN)
			break;
		if (r < 0)
			child_fail(22, "producer %d: send: %s", id, strerror(-r));
		atomic_store(&ctl->committed[id], ++n);
	}
	if (fill)
		atomic_store(&ctl->filled, 1);
	while (n < MSGS) {
		unsigned op = (unsigned)(t_rand(&seed) % 4);
		uint64_t k = 1 + t_rand(&seed) % CAP;

		if (k > MSGS - n)
			k = MSGS - n;
		r = -EAGAIN;
		if (op == 1) {
			for (uint64_t i = 0; i < k; i++)
				m[i] = MSG(n + i);
			atomic_store(&ctl->attempted[id], n + k);
			r = uipc_chan_send_n(p, m, k);
			if (r > 0) {
				n += (uint64_t)r;
				r = 0;
			}
		} else if (op == 2) {
			atomic_store(&ctl->attempted[id], n + 1);
			r = uipc_chan_reserve(p, &slot);
			if (r == 0) {
				m[0] = MSG(n);
				memcpy(slot, &m[0], sizeof(m[0]));
				r = uipc_chan_commit(p);
				if (r < 0)
					child_fail(23, "producer %d: commit: %s", id, strerror(-r));
				n++;
			}
		} else if (op == 3) {
			m[0] = MSG(n);
			atomic_store(&ctl->attempted[id], n + 1);
			r = uipc_chan_send(p, &m[0], sizeof(m[0]));
			if (r == 0)
				n++;
		}
		if (r == -EAGAIN) { /* op 0, or the ring was full */
			m[0] = MSG(n);
			atomic_store(&ctl->attempted[id], n + 1);
			r = uipc_chan_send_wait(p, &m[0], sizeof(m[0]), WAIT_NS);
			if (r == 0)
				n++;
		}
		if (r < 0)
			child_fail(24, "producer %d: op %u: %s", id, op, strerror(-r));
		atomic_store(&ctl->committed[id], n);
	}
#undef MSG
	uipc_chan_tx_free(p);
	uipc_ctx_free(ctx);
	save_hits();
	_exit(0);
}

static pid_t spawn_producer(int id, int cap, int point, unsigned long skip, uint64_t seed,
                            bool fill)
{
	pid_t pid = fork();

	if (pid == 0)
		producer(id, cap, point, skip, seed, fill);
	return pid;
}

/* A child's end: 1 killed at its point, 0 exited 0, -1 anything else. */
static int child_end(pid_t pid, int *st)
{
	if (*st == -1 && waitpid(pid, st, 0) != pid)
		return -1;
	if (WIFSIGNALED(*st) && WTERMSIG(*st) == SIGKILL)
		return 1;
	if (WIFEXITED(*st) && WEXITSTATUS(*st) == 0)
		return 0;
	if (WIFSIGNALED(*st))
		fprintf(stderr, "  child %d: signal %d%s\n", (int)pid, WTERMSIG(*st),
		        WTERMSIG(*st) == SIGALRM ? " (hung)" : "");
	else
		fprintf(stderr, "  child %d: exit %d\n", (int)pid, WEXITSTATUS(*st));
	return -1;
}

#define fail(...)                                                                                  \
	do {                                                                                       \
		fprintf(stderr, "  " __VA_ARGS__);                                                 \
		fputc('\n', stderr);                                                               \
		goto out;                                                                          \
	} while (0)

/* Producer points: the armed producer in a child, we consume. */
static int trial_producer(uipc_chan *c, bool mpsc, int point, unsigned long skip, uint64_t seed)
{
	uint64_t next[3] = {0, 0, 0};
	int st[2] = {-1, -1}, end[2] = {0, 0}, ok = -1, cap, r;
	pid_t pid[2] = {-1, -1};
	uipc_chan_tx *p = NULL;
	uint64_t t0;
	struct msg m;

	memset(ctl, 0, sizeof(*ctl));
	cap = uipc_chan_cap(c);
	if (cap < 0)
		fail("uipc_chan_cap: %s", strerror(-cap));
	pid[0] = spawn_producer(0, cap, point, skip, seed, true);
	if (pid[0] < 0) {
		close(cap);
		fail("fork");
	}
	/* Consume only once the ring is full (the space wait is reached
	 * every time), or the producer died trying. */
	t0 = t_now_ns();
	while (!atomic_load(&ctl->filled)) {
		if (waitpid(pid[0], &st[0], WNOHANG) == pid[0])
			break;
		if (t_now_ns() - t0 > (uint64_t)WAIT_NS) {
			close(cap);
			fail("the producer neither filled the ring nor died (hang)");
		}
		t_sleep_us(100);
	}
	if (mpsc)
		pid[1] = spawn_producer(1, cap, -1, 0, seed ^ 0x5eed, false);
	close(cap);
	for (;;) {
		r = uipc_chan_recv(c, &m, sizeof(m), WAIT_NS);
		if (r == -EPIPE)
			break;
		if (r < 0)
			fail("recv: %s%s", strerror(-r), r == -ETIMEDOUT ? " (hang)" : "");
		if (m.trial != trial_no || m.id > (mpsc ? 1u : 0u))
			fail("a message of producer %u, trial %u (stale or foreign)", m.id,
			     m.trial);
		if (m.n != next[m.id])
			fail("producer %u: message %llu, %llu expected (%s)", m.id,
			     (unsigned long long)m.n, (unsigned long long)next[m.id],
			     m.n < next[m.id] ? "twice" : "lost");
		next[m.id]++;
	}
	for (int i = 0; i < (mpsc ? 2 : 1); i++) {
		end[i] = child_end(pid[i], &st[i]);
		pid[i] = -1;
		if (end[i] < 0)
			fail("producer %d did not end as it should", i);
		if (next[i] < atomic_load(&ctl->committed[i]) ||
		    next[i] > atomic_load(&ctl->attempted[i]))
			fail("producer %d: %llu messages delivered, %llu committed, %llu handed "
			     "over",
			     i, (unsigned long long)next[i],
			     (unsigned long long)atomic_load(&ctl->committed[i]),
			     (unsigned long long)atomic_load(&ctl->attempted[i]));
	}
	if (mpsc && end[1] != 0)
		fail("the survivor was killed");
	if (end[0] == 1)
		killed[mpsc ? MPSC : SPSC][point]++;
	/* The next producer: attaches (takes the role over), and works. */
	r = uipc_chan_tx_new(c, &p);
	if (r < 0)
		fail("the next producer: attach: %s", strerror(-r));
	for (uint64_t i = 0; i < CAP + 3; i++) {
		m = (struct msg){.id = 2, .trial = trial_no, .n = i};
		r = uipc_chan_send(p, &m, sizeof(m));
		if (r < 0)
			fail("the next producer: send: %s", strerror(-r));
		r = uipc_chan_recv(c, &m, sizeof(m), WAIT_NS);
		if (r < 0 || m.id != 2 || m.trial != trial_no || m.n != i)
			fail("the next producer's message %llu: %s", (unsigned long long)i,
			     r < 0 ? strerror(-r) : "another");
	}
	uipc_chan_tx_free(p);
	p = NULL;
	r = uipc_chan_recv(c, &m, sizeof(m), WAIT_NS);
	if (r != -EPIPE)
		fail("after the next producer: %s", r < 0 ? strerror(-r) : "a message");
	ok = 0;
out:
	uipc_chan_tx_free(p);
	for (int i = 0; i < 2; i++)
		if (pid[i] > 0) {
			kill(pid[i], SIGKILL);
			waitpid(pid[i], NULL, 0);
		}
	return ok;
}

/* Consumer points: the armed consumer in a child, we produce. */
static void consumer(int sock, bool mpsc, int point, unsigned long skip)
{
	struct uipc_chan_config cfg = {.size = sizeof(cfg),
	                               .msg_size = sizeof(struct msg),
	                               .capacity = CAP,
	                               .flags = mpsc ? UIPC_CHAN_MPSC : 0};
	uipc_chan *c;
	uipc_ctx *ctx;
	uipc_rx *rx;
	struct msg m;
	int r;

	alarm(CHILD_SECS);
	if (uipc_ctx_new(NULL, &ctx) < 0 || uipc_rx_new(ctx, 0, &rx) < 0 ||
	    uipc_chan_new(rx, 1, &cfg, &c) < 0)
		child_fail(30, "consumer: set-up");
	uipc__kill_arm(point, skip);
	if (uipc_chan_cap_send(c, sock) < 0)
		child_fail(31, "consumer: cap_send");
	while (!atomic_load(&ctl->filled))
		t_sleep_us(100);
	for (uint64_t n = 0; n < MSGS; n++) {
		r = uipc_chan_recv(c, &m, sizeof(m), WAIT_NS);
		if (r < 0)
			child_fail(32, "consumer: recv: %s", strerror(-r));
		if (m.n != n || m.trial != trial_no)
			child_fail(33, "consumer: message %llu, %llu expected",
			           (unsigned long long)m.n, (unsigned long long)n);
	}
	uipc_chan_free(c);
	uipc_rx_free(rx);
	uipc_ctx_free(ctx);
	save_hits();
	_exit(0);
}

static int trial_consumer(uipc_ctx *ctx, bool mpsc, int point, unsigned long skip)
{
	int sv[2], st = -1, end, ok = -1, r = 0;
	uipc_chan_tx *p = NULL;
	bool gone = false;
	struct msg m;
	uint64_t n;
	pid_t pid;

	memset(ctl, 0, sizeof(*ctl));
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		close(sv[0]);
		consumer(sv[1], mpsc, point, skip);
	}
	close(sv[1]);
	if (pid < 0) {
		close(sv[0]);
		return -1;
	}
	r = uipc_chan_tx_open_sock(ctx, sv[0], &p);
	close(sv[0]);
	if (r == -EPIPE || r == -ECONNRESET || r == -ENOTCONN || r == -EPROTO) {
		/* Killed before it handed the capability over. */
		p = NULL;
		gone = true;
	} else if (r < 0) {
		fail("attach: %s", strerror(-r));
	}
	for (n = 0; !gone && n < MSGS; n++) {
		m = (struct msg){.trial = trial_no, .n = n};
		r = uipc_chan_send(p, &m, sizeof(m));
		if (r == -EAGAIN)
			break;
		if (r < 0 && r != -EPIPE)
			fail("send: %s", strerror(-r));
		if (r < 0)
			gone = true;
	}
	atomic_store(&ctl->filled, 1);
	for (; !gone && n < MSGS; n++) {
		m = (struct msg){.trial = trial_no, .n = n};
		r = uipc_chan_send_wait(p, &m, sizeof(m), WAIT_NS);
		if (r == -EPIPE)
			gone = true;
		else if (r < 0)
			fail("send_wait: %s%s", strerror(-r), r == -ETIMEDOUT ? " (hang)" : "");
	}
	end = child_end(pid, &st);
	pid = -1;
	if (end < 0)
		fail("the consumer did not end as it should");
	if (end == 1)
		killed[mpsc ? CONS_MPSC : CONS_SPSC][point]++;
	if (p) {
		/* The consumer is gone now, either way: sends may still find
		 * room (liveness is looked at on a full ring), but within a
		 * ring's worth a bounded send says -EPIPE. */
		r = 0;
		for (int i = 0; i <= CAP && r == 0; i++) {
			m = (struct msg){.trial = trial_no, .n = n + (uint64_t)i};
			r = uipc_chan_send_wait(p, &m, sizeof(m), WAIT_NS);
		}
		if (r != -EPIPE)
			fail("a send to a dead consumer: %s", r < 0 ? strerror(-r) : "sent");
		if (uipc_chan_tx_check(p) != -EPIPE)
			fail("tx_check does not see the consumer gone");
	}
	ok = 0;
out:
	uipc_chan_tx_free(p);
	if (pid > 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	return ok;
}

struct harness {
	uipc_ctx *ctx;
	uipc_rx *rx;
	uipc_chan *chan[2]; /* SPSC, MPSC: kept across trials */
	unsigned long hits[MODES][UIPC_KP_COUNT];
	unsigned trials, failures;
};

static int trial(struct harness *h, enum mode mode, int point, unsigned long skip, uint64_t seed)
{
	int r;

	trial_no++;
	h->trials++;
	if (mode == SPSC || mode == MPSC)
		r = trial_producer(h->chan[mode], mode == MPSC, point, skip, seed);
	else
		r = trial_consumer(h->ctx, mode == CONS_MPSC, point, skip);
	if (r < 0) {
		h->failures++;
		fprintf(stderr,
		        "FAIL: %s, point %s (%d), pass %lu, seed %llu: replay with "
		        "`harness-kill one %d %d %lu %llu`\n",
		        mode_names[mode], point >= 0 ? kp_names[point] : "none", point, skip,
		        (unsigned long long)seed, (int)mode, point, skip, (unsigned long long)seed);
	}
	return r;
}

static bool point_of(enum mode mode, int point)
{
	return mode < CONS_SPSC ? point < KP_CONSUMER : point >= KP_CONSUMER;
}

int main(int argc, char **argv)
{
	struct uipc_chan_config cfg = {
	    .size = sizeof(cfg), .msg_size = sizeof(struct msg), .capacity = CAP};
	const char *env = getenv("UIPC_HARNESS_SECONDS");
	double secs = env ? atof(env) : 20;
	uint64_t seed = env && getenv("UIPC_HARNESS_SEED")
	                    ? strtoull(getenv("UIPC_HARNESS_SEED"), NULL, 0)
	                    : (uint64_t)t_now_ns() | 1;
	struct harness h = {0};
	uint64_t deadline, rs;
	unsigned random_trials = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	ctl = mmap(NULL, sizeof(*ctl), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (ctl == MAP_FAILED)
		return 1;
	if (uipc_ctx_new(NULL, &h.ctx) < 0 || uipc_rx_new(h.ctx, 0, &h.rx) < 0 ||
	    uipc_chan_new(h.rx, 3, &cfg, &h.chan[SPSC]) < 0)
		return 1;
	cfg.flags = UIPC_CHAN_MPSC;
	if (uipc_chan_new(h.rx, 4, &cfg, &h.chan[MPSC]) < 0)
		return 1;

	if (argc == 6 && !strcmp(argv[1], "one")) {
		int mode = atoi(argv[2]), point = atoi(argv[3]);

		if (mode < 0 || mode >= MODES || point < -1 || point >= UIPC_KP_COUNT)
			return 2;
		return trial(&h, (enum mode)mode, point, strtoul(argv[4], NULL, 0),
		             strtoull(argv[5], NULL, 0)) < 0;
	}

	printf("kill points: seed %llu, %.0f s of random trials after the sweep\n",
	       (unsigned long long)seed, secs);
	/* How often each point passes, unarmed. */
	for (int mode = 0; mode < MODES; mode++) {
		if (trial(&h, (enum mode)mode, -1, 0, seed) < 0)
			continue;
		for (int i = 0; i < UIPC_KP_COUNT; i++)
			h.hits[mode][i] = atomic_load(&ctl->hits[i]);
	}
	/* Each point at its first, middle, last pass and a random one. */
	rs = seed;
	for (int mode = 0; mode < MODES; mode++) {
		for (int i = 0; i < UIPC_KP_COUNT; i++) {
			unsigned long n = h.hits[mode][i], skips[4];

			if (!n || !point_of((enum mode)mode, i))
				continue;
			skips[0] = 0;
			skips[1] = n / 2;
			skips[2] = n - 1;
			skips[3] = t_rand(&rs) % n;
			for (int k = 0; k < 4; k++) {
				if ((k == 1 && skips[1] == 0) || (k == 2 && skips[2] <= skips[1]))
					continue;
				trial(&h, (enum mode)mode, i, skips[k], seed);
			}
		}
	}
	printf("sweep: %u trials, %u failed\n", h.trials, h.failures);
	/* Then random ones. */
	deadline = t_now_ns() + (uint64_t)(secs * 1e9);
	while (t_now_ns() < deadline && h.failures < 20) {
		enum mode mode = (enum mode)(t_rand(&rs) % MODES);
		int i = (int)(t_rand(&rs) % UIPC_KP_COUNT);
		unsigned long n = h.hits[mode][i];
		uint64_t s = t_rand(&rs);

		if (!n || !point_of(mode, i))
			continue;
		trial(&h, mode, i, t_rand(&rs) % (n + n / 2 + 1), s);
		random_trials++;
	}
	printf("random: %u trials; %u trials in all, %u failed\n", random_trials, h.trials,
	       h.failures);
	for (int mode = 0; mode < MODES; mode++) {
		printf("  %-14s killed at:", mode_names[mode]);
		for (int i = 0; i < UIPC_KP_COUNT; i++)
			if (killed[mode][i])
				printf(" %s x%lu", kp_names[i], killed[mode][i]);
		printf("\n  %-14s never killed at (reached unarmed):", "");
		for (int i = 0; i < UIPC_KP_COUNT; i++)
			if (!killed[mode][i] && h.hits[mode][i] && point_of((enum mode)mode, i))
				printf(" %s", kp_names[i]);
		printf("\n");
	}
	uipc_chan_free(h.chan[SPSC]);
	uipc_chan_free(h.chan[MPSC]);
	uipc_rx_free(h.rx);
	uipc_ctx_free(h.ctx);
	return h.failures ? 1 : 0;
}
