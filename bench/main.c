/* SPDX-License-Identifier: MIT */
/*
 * uipc-bench: what each way of waking a thread costs on this machine, uipc's
 * backends side by side with the raw mechanisms, in one run.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uipc.h>

#include "bench.h"

struct opts opts = {.cpu_a = -1, .cpu_b = -1, .use_tsc = true};

static bool in_list(const char *list, const char *name)
{
	size_t len = strlen(name);
	for (const char *p = list; p && *p;) {
		const char *end = strchr(p, ',');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		if (n == len && strncmp(p, name, n) == 0)
			return true;
		p = end ? end + 1 : NULL;
	}
	return false;
}

bool scenario_selected(const char *name)
{
	return !opts.only || in_list(opts.only, name);
}

bool mech_selected(const struct mech *m)
{
	return !opts.mechs || in_list(opts.mechs, m->name);
}

static void usage(FILE *f)
{
	fprintf(
	    f, "usage: uipc-bench [options]\n"
	       "  --quick            short runs (under 30 s on 2 cores)\n"
	       "  --json | --csv     machine-readable output (default: a table)\n"
	       "  --save-json FILE   also write the JSON document to FILE\n"
	       "  --only LIST        scenarios, comma-separated: pingpong-awake,\n"
	       "                     pingpong-blocked, oneway-awake, oneway-blocked,\n"
	       "                     notify-cost, notify-cost-eager, fanin (or fanin-N),\n"
	       "                     chan-throughput, chan-throughput-process,\n"
	       "                     chan-pingpong, uv-work (or uv-work-rtt, uv-work-tput),\n"
	       "                     matrix, syscalls (or syscalls-wake, syscalls-awake,\n"
	       "                     syscalls-idle), handler-pingpong, handler-oneway\n"
	       "  --mech LIST        mechanisms, comma-separated (shm-spin, futex, futex-ws,\n"
	       "                     eventfd, eventfd-ws, pipe, unix-socket, signal,\n"
	       "                     uring-msgring, uring-uipc-futex, uring-uipc-poll,\n"
	       "                     uring-eventfd, uv-async, ck-ring, mutex-condvar,\n"
	       "                     mutex-eventfd, uv-queue-work, uipc-pool, uipc-<backend>)\n"
	       "  --process          also ping-pong between two processes\n"
	       "  --reps N           repetitions (default 5)\n"
	       "  --run-ms N         duration of one run of one mechanism (default 200; quick 25)\n"
	       "  --cpus A,B         receiver CPU A, sender CPU B (default: the receiver on the\n"
	       "                     first allowed CPU, the sender where --place puts it)\n"
	       "  --place POLICY     sender placement: nearest (default), spread, same-node\n"
	       "  --no-tsc           time with clock_gettime instead of the TSC\n"
	       "  --list             list mechanisms and exit\n"
	       "  -v, --verbose      the duration of every run on stderr\n");
}

static int parse_cpus(const char *s)
{
	char *end;
	long a = strtol(s, &end, 10);
	if (end == s || *end != ',')
		return -EINVAL;
	const char *p = end + 1;
	long b = strtol(p, &end, 10);
	if (end == p || *end || a < 0 || b < 0 || a >= BENCH_MAX_CPUS || b >= BENCH_MAX_CPUS)
		return -EINVAL;
	opts.cpu_a = (int)a;
	opts.cpu_b = (int)b;
	return 0;
}

static int parse_uint(const char *s, unsigned min, unsigned max, unsigned *ret)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);
	if (end == s || *end || v < min || v > max)
		return -EINVAL;
	*ret = (unsigned)v;
	return 0;
}

static int parse_args(int argc, char **argv, bool *list)
{
	enum {
		O_ONLY = 256,
		O_MECH,
		O_PROCESS,
		O_REPS,
		O_RUNMS,
		O_CPUS,
		O_NOTSC,
		O_LIST,
		O_SAVE,
		O_PLACE
	};
	static const struct option lo[] = {
	    {"quick", no_argument, NULL, 'q'},
	    {"json", no_argument, NULL, 'j'},
	    {"csv", no_argument, NULL, 'c'},
	    {"help", no_argument, NULL, 'h'},
	    {"only", required_argument, NULL, O_ONLY},
	    {"mech", required_argument, NULL, O_MECH},
	    {"process", no_argument, NULL, O_PROCESS},
	    {"reps", required_argument, NULL, O_REPS},
	    {"run-ms", required_argument, NULL, O_RUNMS},
	    {"cpus", required_argument, NULL, O_CPUS},
	    {"place", required_argument, NULL, O_PLACE},
	    {"no-tsc", no_argument, NULL, O_NOTSC},
	    {"list", no_argument, NULL, O_LIST},
	    {"verbose", no_argument, NULL, 'v'},
	    {"save-json", required_argument, NULL, O_SAVE},
	    {NULL, 0, NULL, 0},
	};
	bool reps_set = false, run_set = false;
	int c;
	opts.reps = 5;
	int li = -1;
	while ((c = getopt_long(argc, argv, "qjchv", lo, &li)) != -1) {
		const char *accepted = "";
		int err = 0;
		switch (c) {
		case 'q':
			opts.quick = true;
			break;
		case 'j':
			opts.json = true;
			break;
		case 'c':
			opts.csv = true;
			break;
		case O_SAVE:
			opts.save = optarg;
			break;
		case 'v':
			opts.verbose = true;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		case O_ONLY:
			opts.only = optarg;
			break;
		case O_MECH:
			opts.mechs = optarg;
			break;
		case O_PROCESS:
			opts.process = true;
			break;
		case O_REPS:
			err = parse_uint(optarg, 1, 64, &opts.reps);
			reps_set = true;
			break;
		case O_RUNMS:
			err = parse_uint(optarg, 1, 60000, &opts.run_ms);
			run_set = true;
			break;
		case O_CPUS:
			err = parse_cpus(optarg);
			break;
		case O_PLACE: {
			enum uipc_topo_policy pol;
			err = uipc_topo_policy_parse(optarg, &pol);
			if (!err)
				opts.place = (int)pol;
			accepted = " (nearest, spread or same-node)";
			break;
		}
		case O_NOTSC:
			opts.use_tsc = false;
			break;
		case O_LIST:
			*list = true;
			break;
		default:
			usage(stderr);
			return -EINVAL;
		}
		if (err < 0) {
			fprintf(stderr, "uipc-bench: --%s: bad value '%s'%s\n",
			        li >= 0 ? lo[li].name : "?", optarg, accepted);
			return err;
		}
		li = -1;
	}
	if (optind < argc || (opts.json && opts.csv)) {
		usage(stderr);
		return -EINVAL;
	}
	if (!run_set)
		opts.run_ms = opts.quick ? 25 : 200;
	(void)reps_set;
	return 0;
}

/* Receiver on the first allowed CPU; the sender where the placement API
 * puts a receiver's first sender (--place, default nearest). */
static int pick_cpus(void)
{
	int cpus[BENCH_MAX_CPUS];
	unsigned n = cpus_allowed(cpus, BENCH_MAX_CPUS);
	if (!n)
		return -ENODEV;
	if (opts.cpu_a < 0) {
		uipc_topo *topo = bench_topo();
		int b = -1;
		opts.cpu_a = cpus[0];
		if (topo &&
		    uipc_topo_place(topo, opts.cpu_a, (enum uipc_topo_policy)opts.place, 0, 0, &b) <
		        0 &&
		    uipc_topo_place(topo, opts.cpu_a, (enum uipc_topo_policy)opts.place,
		                    UIPC_TOPO_RANK_OWN_CORE, 0, &b) < 0)
			b = -1;
		opts.cpu_b = b >= 0 ? b : (n > 1 ? cpus[1] : cpus[0]);
	}
	if (opts.cpu_a == opts.cpu_b)
		fprintf(stderr,
		        "uipc-bench: warning: receiver and sender share CPU %d; "
		        "spinning results are meaningless\n",
		        opts.cpu_a);
	return 0;
}

int main(int argc, char **argv)
{
	const struct mech *t, *sel[64];
	struct machine mach;
	bool list = false;
	unsigned n, k = 0;
	sigset_t set;

	if (parse_args(argc, argv, &list) < 0)
		return 2;
	/* The signal peer's signal is taken with sigwaitinfo(): blocked in
	 * every thread, which inherit this mask. */
	sigemptyset(&set);
	sigaddset(&set, mech_signo());
	pthread_sigmask(SIG_BLOCK, &set, NULL);

	n = mech_table(&t);
#ifndef BENCH_HAVE_LIBCK
	mech_missing_add("ck-ring", "built without Concurrency Kit (meson -Dlibck=enabled)");
#endif
	if (chan_missing())
		mech_missing_add("uipc channels", chan_missing());
	if (list) {
		const char **names, **why;
		unsigned nm = mech_missing(&names, &why);
		for (unsigned i = 0; i < n; i++)
			printf("%s\n", t[i].name);
#ifdef BENCH_HAVE_LIBCK
		printf("ck-ring (channels only)\n");
#endif
		printf("mutex-condvar (channels only)\nmutex-eventfd (channels only)\n");
		printf("uv-queue-work (uv-work only)\nuipc-pool (uv-work only)\n");
		for (unsigned i = 0; i < nm; i++)
			printf("missing: %s: %s\n", names[i], why[i]);
		return 0;
	}
	if (pick_cpus() < 0) {
		fprintf(stderr, "uipc-bench: no CPU to run on\n");
		return 1;
	}
	for (unsigned i = 0; i < n && k < 64; i++)
		if (mech_selected(&t[i]))
			sel[k++] = &t[i];
	machine_probe(&mach);
	clock_init(opts.use_tsc, opts.quick ? 30 : 100);

	run_pingpong(sel, k, false, false);
	run_pingpong(sel, k, true, false);
	if (opts.process) {
		run_pingpong(sel, k, false, true);
		run_pingpong(sel, k, true, true);
	}
	run_oneway(sel, k);
	run_notify_cost(sel, k, false);
	run_notify_cost(sel, k, true);
	for (unsigned s = 1; s <= mach.ncpus_allowed && s <= BENCH_MAX_SENDERS; s++) {
		/* Beyond 8 senders, powers of two and the CPU count. */
		if (s > 8 && (s & (s - 1)) && s != mach.ncpus_allowed)
			continue;
		run_fanin(sel, k, s);
	}
	run_chan();
	run_uvwork();
	run_syscalls();
	run_handler();
	/* The matrix: the floor and the default uipc backend. */
	const struct mech *mm[2];
	unsigned nm = 0;
	uipc_ctx *ctx;
	if ((mm[nm] = mech_find("shm-spin")) && mech_selected(mm[nm]))
		nm++;
	if (uipc_ctx_new(NULL, &ctx) == 0) {
		char name[40];
		snprintf(name, sizeof(name), "uipc-%s", uipc_ctx_backend_name(ctx));
		uipc_ctx_free(ctx);
		if ((mm[nm] = mech_find(name)) && mech_selected(mm[nm]))
			nm++;
	}
	run_matrix(mm, nm);
	output_print(&mach);
	return 0;
}
