/* SPDX-License-Identifier: MIT */
/*
 * The library on the real uintr backend (/dev/uintr loaded, CPUID bit set),
 * in the emulated Sapphire Rapids of scripts/uintr-emu.sh: auto picks uintr,
 * handler mode keeps the interrupted code's SSE/AVX registers intact (the
 * XSAVE path), mask/unmask, cross-thread and blocked waits, receivers that
 * exit, exec or are SIGKILLed while senders post (the senders see -EPIPE,
 * never a fault), and CPU 1 going offline and online while a receiver waits
 * and senders post.
 *
 * Usage: uintr-emu-lib [case...]   (no case: all but "hotplug")
 * Prints one "ok:"/"FAIL:" line per check and "N passed, N failed";
 * exit 0 if all passed, 77 if uintr is not usable here.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <uipc.h>

#include "emu-check.h"

static uipc_ctx *ctx;

/* ---- auto ----------------------------------------------------------------- */

static void case_auto(void)
{
	char why[256] = "";
	uipc_ctx *c = NULL;
	int r;

	r = uipc_backend_probe(UIPC_BACKEND_UINTR, why, sizeof(why));
	t_report(r == 0, "uintr backend usable: %s", why);
	r = uipc_ctx_new(NULL, &c);
	t_report(r == 0 && c && !strcmp(uipc_ctx_backend_name(c), "uintr"), "auto picks uintr (%s)",
	         c ? uipc_ctx_backend_name(c) : "none");
	uipc_ctx_free(c);
}

/* ---- handler mode: the interrupted code's vector registers ---------------- */

struct hstate {
	_Atomic unsigned calls;
	_Atomic uint64_t seen;
	uipc_tx *tx;
	unsigned count, gap_us;
};

__attribute__((target("avx2"), noinline)) static void clobber_vector_regs(void)
{
	/* All-ones in every ymm register the interrupted code holds data in. */
	__asm__ __volatile__("vpcmpeqd %%ymm0, %%ymm0, %%ymm0\n\t"
	                     "vmovdqa %%ymm0, %%ymm1\n\tvmovdqa %%ymm0, %%ymm2\n\t"
	                     "vmovdqa %%ymm0, %%ymm3\n\tvmovdqa %%ymm0, %%ymm4\n\t"
	                     "vmovdqa %%ymm0, %%ymm5\n\tvmovdqa %%ymm0, %%ymm6\n\t"
	                     "vmovdqa %%ymm0, %%ymm7\n\tvmovdqa %%ymm0, %%ymm8\n\t"
	                     "vmovdqa %%ymm0, %%ymm9\n\tvmovdqa %%ymm0, %%ymm10\n\t"
	                     "vmovdqa %%ymm0, %%ymm11\n\tvmovdqa %%ymm0, %%ymm12\n\t"
	                     "vmovdqa %%ymm0, %%ymm13\n\tvmovdqa %%ymm0, %%ymm14\n\t"
	                     "vmovdqa %%ymm0, %%ymm15\n\t" ::
	                         : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7",
	                           "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14",
	                           "xmm15");
}

static void on_vector(uipc_rx *rx, uint64_t mask, void *arg)
{
	struct hstate *h = arg;
	volatile double x = 1.5;

	(void)rx;
	x = x * x + 0.25; /* SSE in the callback, too */
	clobber_vector_regs();
	atomic_fetch_or(&h->seen, mask);
	atomic_fetch_add(&h->calls, 1);
	(void)x;
}

static void *notifier(void *arg)
{
	struct hstate *h = arg;

	for (unsigned i = 0; i < h->count; i++) {
		if (uipc_tx_notify(h->tx))
			break;
		if (h->gap_us)
			usleep(h->gap_us);
	}
	return NULL;
}

/*
 * Hold a pattern in ymm0-15 while spinning until the handler ran @want
 * times (or ~2^32 iterations passed), then store the registers.
 */
__attribute__((target("avx2"), noinline)) static void
hold_vector_regs(const uint8_t *in, uint8_t *out, _Atomic unsigned *calls, unsigned want)
{
	uint64_t limit = 1ull << 32;

	__asm__ __volatile__("vmovdqu 0(%[in]), %%ymm0\n\tvmovdqu 32(%[in]), %%ymm1\n\t"
	                     "vmovdqu 64(%[in]), %%ymm2\n\tvmovdqu 96(%[in]), %%ymm3\n\t"
	                     "vmovdqu 128(%[in]), %%ymm4\n\tvmovdqu 160(%[in]), %%ymm5\n\t"
	                     "vmovdqu 192(%[in]), %%ymm6\n\tvmovdqu 224(%[in]), %%ymm7\n\t"
	                     "vmovdqu 256(%[in]), %%ymm8\n\tvmovdqu 288(%[in]), %%ymm9\n\t"
	                     "vmovdqu 320(%[in]), %%ymm10\n\tvmovdqu 352(%[in]), %%ymm11\n\t"
	                     "vmovdqu 384(%[in]), %%ymm12\n\tvmovdqu 416(%[in]), %%ymm13\n\t"
	                     "vmovdqu 448(%[in]), %%ymm14\n\tvmovdqu 480(%[in]), %%ymm15\n\t"
	                     "1:\n\tpause\n\t"
	                     "cmpl %[want], (%[calls])\n\tjae 2f\n\t"
	                     "decq %[limit]\n\tjnz 1b\n"
	                     "2:\n\t"
	                     "vmovdqu %%ymm0, 0(%[out])\n\tvmovdqu %%ymm1, 32(%[out])\n\t"
	                     "vmovdqu %%ymm2, 64(%[out])\n\tvmovdqu %%ymm3, 96(%[out])\n\t"
	                     "vmovdqu %%ymm4, 128(%[out])\n\tvmovdqu %%ymm5, 160(%[out])\n\t"
	                     "vmovdqu %%ymm6, 192(%[out])\n\tvmovdqu %%ymm7, 224(%[out])\n\t"
	                     "vmovdqu %%ymm8, 256(%[out])\n\tvmovdqu %%ymm9, 288(%[out])\n\t"
	                     "vmovdqu %%ymm10, 320(%[out])\n\tvmovdqu %%ymm11, 352(%[out])\n\t"
	                     "vmovdqu %%ymm12, 384(%[out])\n\tvmovdqu %%ymm13, 416(%[out])\n\t"
	                     "vmovdqu %%ymm14, 448(%[out])\n\tvmovdqu %%ymm15, 480(%[out])\n\t"
	                     "vzeroupper\n\t"
	                     : [limit] "+r"(limit)
	                     : [in] "r"(in), [out] "r"(out), [calls] "r"(calls), [want] "r"(want)
	                     : "memory", "cc", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5",
	                       "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13",
	                       "xmm14", "xmm15");
}

static void case_handler_simd(void)
{
	struct hstate h = {.count = 50, .gap_us = 2000};
	uint8_t in[512], out[512];
	uipc_rx *rx = NULL;
	pthread_t th;
	unsigned calls;

	if (!__builtin_cpu_supports("avx2")) {
		t_report(0, "handler mode with AVX: the emulated CPU has no AVX2");
		return;
	}
	for (unsigned i = 0; i < sizeof(in); i++)
		in[i] = (uint8_t)(i * 7 + 1);
	memset(out, 0, sizeof(out));
	t_report(uipc_rx_new(ctx, 0, &rx) == 0, "handler mode: receiver");
	if (!rx)
		return;
	t_report(uipc_tx_new(rx, 9, &h.tx) == 0, "handler mode: sender for vector 9");
	t_report(uipc_rx_set_handler(rx, on_vector, &h) == 0, "handler mode on");
	pthread_create(&th, NULL, notifier, &h);
	hold_vector_regs(in, out, &h.calls, 20);
	calls = atomic_load(&h.calls);
	pthread_join(th, NULL);
	t_report(calls >= 20, "handler ran %u times while ymm0-15 held data", calls);
	t_report(atomic_load(&h.seen) == 1ull << 9, "handler saw vector 9 only");
	t_report(!memcmp(in, out, sizeof(in)),
	         "ymm0-15 of the interrupted code intact after handlers clobbered them");

	/* mask: notifies stay pending; unmask delivers them. */
	calls = atomic_load(&h.calls);
	t_report(uipc_rx_mask(rx) == 0, "mask");
	t_report(uipc_tx_notify(h.tx) == 0, "notify while masked");
	usleep(20000);
	t_report(atomic_load(&h.calls) == calls, "no handler call while masked");
	t_report(uipc_rx_unmask(rx) == 0, "unmask");
	for (int i = 0; i < 2000 && atomic_load(&h.calls) == calls; i++)
		usleep(1000);
	t_report(atomic_load(&h.calls) == calls + 1, "unmask delivered the pending vector once");
	t_report(uipc_rx_set_handler(rx, NULL, NULL) == 0, "handler mode off");
	uipc_tx_free(h.tx);
	uipc_rx_free(rx);
}

/* ---- wait mode: threads, blocked waits -------------------------------------- */

struct pp {
	uipc_rx *rx;
	uipc_tx *tx;
	_Atomic uint64_t seq, ack;
	unsigned rounds;
	_Atomic int bad;
};

/* Sender: post a round, wait (bounded) until the receiver acknowledged it. */
static void *round_sender(void *arg)
{
	struct pp *p = arg;

	for (unsigned i = 1; i <= p->rounds; i++) {
		uint64_t end = t_now_ns() + 10000000000ull;

		atomic_store(&p->seq, i);
		if (uipc_tx_notify(p->tx)) {
			atomic_store(&p->bad, 1);
			break;
		}
		while (atomic_load(&p->ack) < i) {
			if (t_now_ns() > end) {
				atomic_store(&p->bad, 2);
				return NULL;
			}
			usleep(200);
		}
	}
	return NULL;
}

static void receive_rounds(struct pp *p, int64_t timeout_ns)
{
	uint64_t m;

	while (atomic_load(&p->ack) < p->rounds && !atomic_load(&p->bad)) {
		int r = uipc_rx_wait(p->rx, timeout_ns, &m);

		if (r == 0)
			atomic_store(&p->ack, atomic_load(&p->seq));
		else if (r != -ETIMEDOUT && r != -EINTR)
			atomic_store(&p->bad, 3);
	}
}

static void case_wait(void)
{
	struct pp p = {.rounds = 200};
	pthread_t th;

	t_report(uipc_rx_new(ctx, 0, &p.rx) == 0 && uipc_tx_new(p.rx, 1, &p.tx) == 0,
	         "wait mode: receiver and sender");
	if (!p.tx)
		return;
	/* Spinning receiver (default policy), then one that always blocks. */
	pthread_create(&th, NULL, round_sender, &p);
	receive_rounds(&p, 2000000000);
	pthread_join(th, NULL);
	t_report(!p.bad && p.ack == p.rounds, "200 rounds, adaptive spin (bad %d)", p.bad);
	uipc_rx_set_spin(p.rx, UIPC_SPIN_NONE, 0);
	p.seq = p.ack = 0;
	pthread_create(&th, NULL, round_sender, &p);
	receive_rounds(&p, -1);
	pthread_join(th, NULL);
	t_report(!p.bad && p.ack == p.rounds, "200 rounds, receiver always blocked (bad %d)",
	         p.bad);
	t_report(uipc_rx_wait(p.rx, 0, &(uint64_t){0}) == -EAGAIN,
	         "poll with nothing pending: -EAGAIN");
	t_report(uipc_rx_wait(p.rx, 5000000, &(uint64_t){0}) == -ETIMEDOUT, "5 ms wait times out");
	uipc_tx_free(p.tx);
	uipc_rx_free(p.rx);
}

/* ---- CPU hotplug ------------------------------------------------------------ */

struct hp {
	struct pp p;
	_Atomic int done;
	unsigned cycles;
};

/* CPU 1 offline and online 6 times, 20 ms apart. */
static void *hotplugger(void *arg)
{
	struct hp *h = arg;

	while (h->cycles < 6) {
		if (!cpu1_set_online(0) || !cpu1_set_online(1))
			break;
		h->cycles++;
		usleep(20000);
	}
	atomic_store(&h->done, 1);
	return NULL;
}

static void case_hotplug(void)
{
	struct hp h = {.p.rounds = 100};
	unsigned long long total = 0;
	pthread_t s1, hpth;

	t_report(uipc_rx_new(ctx, 0, &h.p.rx) == 0 && uipc_tx_new(h.p.rx, 2, &h.p.tx) == 0,
	         "hotplug: receiver and sender");
	if (!h.p.tx)
		return;
	uipc_rx_set_spin(h.p.rx, UIPC_SPIN_NONE, 0);
	pthread_create(&hpth, NULL, hotplugger, &h);
	/* Batches of 100 rounds for as long as CPU 1 keeps going away. */
	do {
		h.p.seq = h.p.ack = 0;
		pthread_create(&s1, NULL, round_sender, &h.p);
		receive_rounds(&h.p, -1);
		pthread_join(s1, NULL);
		total += h.p.ack;
	} while (!h.p.bad && !atomic_load(&h.done));
	pthread_join(hpth, NULL);
	cpu1_set_online(1);
	t_report(h.cycles == 6, "CPU 1 went offline and online %u times during the rounds",
	         h.cycles);
	t_report(!h.p.bad && total >= h.p.rounds && total % h.p.rounds == 0,
	         "%llu rounds across CPU hotplug, blocked receiver: none lost (bad %d)", total,
	         h.p.bad);
	uipc_tx_free(h.p.tx);
	uipc_rx_free(h.p.rx);
}

/* ---- receivers that go away while senders post ------------------------------ */

/* Child: a receiver; hands the capability over @sock, then ends as told. */
static void child_rx(int sock, int how, const char *self)
{
	uipc_ctx *c;
	uipc_rx *rx;
	uint64_t m;
	int cap;
	char b;

	if (uipc_ctx_new("uintr", &c) || uipc_rx_new(c, 0, &rx))
		_exit(10);
	cap = uipc_rx_cap(rx, 4);
	if (cap < 0 || uipc_cap_send(sock, cap))
		_exit(11);
	/* Take a first notification, then say so. */
	if (uipc_rx_wait(rx, 5000000000ll, &m) || m != 1ull << 4)
		_exit(12);
	if (write(sock, "r", 1) != 1)
		_exit(13);
	if (read(sock, &b, 1) != 1)
		_exit(14);
	if (how == 0)
		_exit(0); /* exit while registered and notified */
	if (how == 1) {
		execl(self, self, "--exit0", (char *)NULL);
		_exit(15);
	}
	for (;;) /* SIGKILLed while waiting */
		uipc_rx_wait(rx, -1, &m);
}

static void case_lifecycle(const char *self)
{
	static const char *const what[] = {"exits", "execs", "is SIGKILLed"};

	for (int how = 0; how < 3; how++) {
		int sv[2], cap = -1, st = -1, r, first_err = 0;
		unsigned ok = 0, n = 0;
		uipc_tx *tx = NULL;
		uint64_t end;
		pid_t pid;
		char b;

		socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv);
		pid = fork();
		if (pid == 0) {
			close(sv[0]);
			child_rx(sv[1], how, self);
		}
		close(sv[1]);
		r = uipc_cap_recv(sv[0], &cap);
		r = r ? r : uipc_tx_open(ctx, cap, &tx);
		t_report(r == 0, "lifecycle (%s): sender connected to a child receiver", what[how]);
		if (r) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			close(sv[0]);
			continue;
		}
		t_report(uipc_tx_notify(tx) == 0 && read(sv[0], &b, 1) == 1,
		         "lifecycle (%s): the child received a notification", what[how]);
		if (how == 2)
			kill(pid, SIGKILL);
		else
			(void)!write(sv[0], "x", 1);
		/* Keep posting while it goes away and after: 0 or -EPIPE, no fault. */
		end = t_now_ns() + 20000000000ull;
		for (;;) {
			r = uipc_tx_notify(tx);
			n++;
			if (r == 0)
				ok++;
			else if (!first_err)
				first_err = r;
			if (r && r != -EPIPE && r != -ESRCH)
				break;
			if (uipc_tx_check(tx) == -EPIPE && n > 100)
				break;
			if (t_now_ns() > end)
				break;
		}
		waitpid(pid, &st, 0);
		t_report(uipc_tx_check(tx) == -EPIPE,
		         "lifecycle (%s): uipc_tx_check says -EPIPE after %u notifies (%u ok)",
		         what[how], n, ok);
		t_report(!first_err || first_err == -EPIPE || first_err == -ESRCH,
		         "lifecycle (%s): notify gave only 0 or -EPIPE/-ESRCH (%d)", what[how],
		         first_err);
		r = uipc_tx_notify(tx);
		t_report(r == 0 || r == -EPIPE || r == -ESRCH,
		         "lifecycle (%s): notify after the receiver is gone: %d, no fault",
		         what[how], r);
		t_report(how == 2 ? WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL
		                  : WIFEXITED(st) && WEXITSTATUS(st) == 0,
		         "lifecycle (%s): the child ended as planned (status %#x)", what[how], st);
		uipc_tx_free(tx);
		close(cap);
		close(sv[0]);
	}
}

static int wanted(int argc, char **argv, const char *name)
{
	if (argc < 2)
		return strcmp(name, "hotplug") != 0; /* needs root and a CPU 1: only when named */
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], name))
			return 1;
	return 0;
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "--exit0"))
		return 0;
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (uipc_ctx_new("uintr", &ctx)) {
		printf("SKIP: the uintr backend is not usable here\n");
		return 77;
	}
	if (wanted(argc, argv, "auto"))
		case_auto();
	if (wanted(argc, argv, "handler"))
		case_handler_simd();
	if (wanted(argc, argv, "wait"))
		case_wait();
	if (wanted(argc, argv, "lifecycle"))
		case_lifecycle(argv[0]);
	if (wanted(argc, argv, "hotplug"))
		case_hotplug();
	uipc_ctx_free(ctx);
	return t_report_done();
}
