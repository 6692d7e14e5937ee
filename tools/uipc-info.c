/* SPDX-License-Identifier: MIT */
/*
 * uipc-info: what this machine offers to uipc. The CPUID UINTR bit, the
 * kernel interface for UINTR (shim, syscalls, none) and why, each backend's
 * status, what "auto" picks, and the CPU topology. Text or --json.
 *
 * Detection never executes a UINTR instruction or a UINTR syscall number.
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uipc.h>

#include "uipc-config.h"
#if UIPC_INFO_UINTR_DETECT
#include "backends/uintr/uintr-detect.h"
#endif

struct backend_status {
	const char *name;
	int r;
	char why[256];
};

struct info {
	struct backend_status be[16];
	unsigned nbe; /* be[1..nbe-1]: every backend id this library names */
	const char *auto_choice;
	int auto_r;
	const char *env_backend;
#if UIPC_INFO_UINTR_DETECT
	const struct uipc__uintr_detect *det;
#endif
#ifdef UIPC_TOPO_H
	int topo_r;
	struct uipc_topo_info topo;
	char topo_text[4096];
#endif
};

static const char *iface_name(int iface)
{
#if UIPC_INFO_UINTR_DETECT
	switch (iface) {
	case UIPC_UINTR_IFACE_SHIM:
		return "shim";
	case UIPC_UINTR_IFACE_SYSCALL:
		return "syscalls";
	default:
		break;
	}
#endif
	(void)iface;
	return "none";
}

static void collect(struct info *in)
{
	uipc_ctx *ctx;
	char *saved = NULL;

	in->nbe = UIPC_BACKEND_AUTO + 1;
	for (unsigned i = in->nbe; i < 16 && uipc_backend_name((enum uipc_backend)i); i++) {
		in->nbe = i + 1;
		in->be[i].name = uipc_backend_name((enum uipc_backend)i);
		in->be[i].r =
		    uipc_backend_probe((enum uipc_backend)i, in->be[i].why, sizeof(in->be[i].why));
	}
	/* What auto picks by itself: the environment is reported apart. */
	in->env_backend = getenv("UIPC_BACKEND");
	if (in->env_backend) {
		saved = strdup(in->env_backend);
		unsetenv("UIPC_BACKEND");
	}
	in->auto_r = uipc_ctx_new("auto", &ctx);
	in->auto_choice = in->auto_r == 0 ? uipc_ctx_backend_name(ctx) : NULL;
	if (in->auto_r == 0)
		uipc_ctx_free(ctx);
	if (saved) {
		setenv("UIPC_BACKEND", saved, 1);
		free(saved);
	}
	in->env_backend = getenv("UIPC_BACKEND");
#if UIPC_INFO_UINTR_DETECT
	in->det = uipc__uintr_detect();
#endif
#ifdef UIPC_TOPO_H
	{
		uipc_topo *t;

		in->topo_r = uipc_topo_new(&t);
		if (in->topo_r == 0) {
			in->topo.size = sizeof(in->topo);
			uipc_topo_get_info(t, &in->topo);
			uipc_topo_describe(t, in->topo_text, sizeof(in->topo_text));
			uipc_topo_free(t);
		}
	}
#endif
}

#if UIPC_INFO_UINTR_DETECT
/* How a receiver blocked in uintr_wait is woken, in words. */
static const char *wake_name(const struct uipc__uintr_detect *d, char *buf, size_t len)
{
	static const char *const why[] = {
	    [UINTR_WAKE_WHY_NONE] = " (shim)",
	    [UINTR_WAKE_WHY_PARAM] = " (chosen by the shim's wake= parameter)",
	    [UINTR_WAKE_WHY_KERNEL] = " (the shim's fallback: this kernel lacks an interface "
	                              "its own interrupt needs, see dmesg)",
	    [UINTR_WAKE_WHY_ALLOC] = " (the shim's fallback: the kernel gave it no interrupt, "
	                             "see dmesg)",
	};
	const char *w = d->shim_info.wake_why < sizeof(why) / sizeof(why[0])
	                    ? why[d->shim_info.wake_why]
	                    : " (the shim's fallback, see dmesg)";

	switch (d->wake) {
	case UIPC_UINTR_WAKE_VECTOR:
		if (d->shim_info.wake_source == UINTR_WAKE_SRC_OWN)
			snprintf(buf, len,
			         "by the notification: the shim's own interrupt (one per CPU, "
			         "vector %#x on this one)",
			         d->shim_info.wake_vector);
		else if (d->shim_info.wake_source == UINTR_WAKE_SRC_KVM)
			snprintf(buf, len,
			         "by the notification: KVM's wakeup vector %#x, borrowed%s",
			         d->shim_info.wake_vector, w);
		else
			snprintf(buf, len, "by the notification's own interrupt (shim, vector %#x)",
			         d->shim_info.wake_vector);
		break;
	case UIPC_UINTR_WAKE_POLL:
		snprintf(buf, len, "by a poll every %u us%s", d->wake_poll_us,
		         d->shim_info.wake_source == UINTR_WAKE_SRC_POLL ? w : " (shim)");
		break;
	case UIPC_UINTR_WAKE_KERNEL:
		snprintf(buf, len, "by the kernel's uintr_wait");
		break;
	default:
		snprintf(buf, len, "n/a");
	}
	return buf;
}
#endif

static void print_text(const struct info *in)
{
	printf("uipc %s\n\n", UIPC_VERSION_STRING);
	printf("UINTR\n");
#if UIPC_INFO_UINTR_DETECT
	printf("  CPUID.(7,0):EDX[5]   %s\n", in->det->cpuid ? "set (user interrupts)" : "clear");
	printf("  kernel interface     %s: %s\n", iface_name(in->det->iface), in->det->kernel_why);
	printf("  usable               %s\n", in->det->why);
	{
		char wb[192];

		printf("  blocked wait woken   %s\n", wake_name(in->det, wb, sizeof(wb)));
	}
#else
	printf("  not detected on this platform\n");
#endif
	printf("\nbackends\n");
	for (unsigned i = UIPC_BACKEND_AUTO + 1; i < in->nbe; i++)
		printf("  %-10s %-12s %s\n", in->be[i].name,
		       in->be[i].r == 0 ? "usable" : "unavailable", in->be[i].why);
	printf("\nauto picks           %s\n",
	       in->auto_choice ? in->auto_choice : strerror(-in->auto_r));
	if (in->env_backend)
		printf("UIPC_BACKEND         %s (overrides auto)\n", in->env_backend);
#ifdef UIPC_TOPO_H
	printf("\ntopology\n");
	if (in->topo_r < 0) {
		printf("  unavailable: %s\n", strerror(-in->topo_r));
	} else {
		const char *p = in->topo_text;

		while (*p) {
			const char *nl = strchr(p, '\n');
			int n = nl ? (int)(nl - p) : (int)strlen(p);

			printf("  %.*s\n", n, p);
			p += n + (nl ? 1 : 0);
		}
	}
#endif
}

/* JSON string: escapes quotes, backslashes and control characters. */
static void json_str(const char *s)
{
	putchar('"');
	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

static void print_json(const struct info *in)
{
	printf("{\n  \"version\": ");
	json_str(UIPC_VERSION_STRING);
	printf(",\n  \"uintr\": {");
#if UIPC_INFO_UINTR_DETECT
	printf("\"cpuid\": %s, \"cpuinfo_flag\": %s, \"kernel_interface\": ",
	       in->det->cpuid ? "true" : "false", in->det->cpuinfo_flag ? "true" : "false");
	json_str(iface_name(in->det->iface));
	printf(", \"shim\": ");
	json_str(in->det->shim == 0 ? "present" : strerror(-in->det->shim));
	printf(", \"kernel\": ");
	json_str(in->det->kernel_why);
	printf(", \"usable\": %s, \"why\": ", in->det->iface ? "true" : "false");
	json_str(in->det->why);
	printf(", \"blocked_wait\": ");
	json_str(in->det->wake == UIPC_UINTR_WAKE_VECTOR   ? "vector"
	         : in->det->wake == UIPC_UINTR_WAKE_POLL   ? "poll"
	         : in->det->wake == UIPC_UINTR_WAKE_KERNEL ? "kernel"
	                                                   : "none");
	if (in->det->wake == UIPC_UINTR_WAKE_VECTOR || in->det->wake == UIPC_UINTR_WAKE_POLL) {
		char wb[192];

		printf(", \"blocked_wait_source\": ");
		json_str(in->det->shim_info.wake_source == UINTR_WAKE_SRC_OWN ? "own-interrupt"
		         : in->det->shim_info.wake_source == UINTR_WAKE_SRC_KVM
		             ? "kvm-wakeup-vector"
		         : in->det->shim_info.wake_source == UINTR_WAKE_SRC_POLL ? "poll"
		                                                                 : "unknown");
		printf(", \"blocked_wait_how\": ");
		json_str(wake_name(in->det, wb, sizeof(wb)));
	}
#else
	printf("\"cpuid\": false, \"kernel_interface\": \"none\", \"usable\": false");
#endif
	printf("},\n  \"backends\": [\n");
	for (unsigned i = UIPC_BACKEND_AUTO + 1; i < in->nbe; i++) {
		printf("    {\"name\": ");
		json_str(in->be[i].name);
		printf(", \"usable\": %s, \"why\": ", in->be[i].r == 0 ? "true" : "false");
		json_str(in->be[i].why);
		printf("}%s\n", i + 1 < in->nbe ? "," : "");
	}
	printf("  ],\n  \"auto\": ");
	if (in->auto_choice)
		json_str(in->auto_choice);
	else
		printf("null");
	printf(",\n  \"env_backend\": ");
	if (in->env_backend)
		json_str(in->env_backend);
	else
		printf("null");
#ifdef UIPC_TOPO_H
	printf(",\n  \"topology\": ");
	if (in->topo_r < 0) {
		printf("null");
	} else {
		printf("{\"source\": ");
		json_str(uipc_topo_source_name(in->topo.source));
		printf(", \"cpus\": %u, \"allowed\": %u, \"cores\": %u, \"l2\": %u, \"l3\": %u, "
		       "\"packages\": %u, \"nodes\": %u}",
		       in->topo.cpus, in->topo.allowed, in->topo.cores, in->topo.l2, in->topo.l3,
		       in->topo.packages, in->topo.nodes);
	}
#endif
	printf("\n}\n");
}

static void usage(FILE *f)
{
	fprintf(f, "usage: uipc-info [--json] [--help]\n"
	           "Print what this machine offers to uipc: UINTR (CPUID bit, kernel\n"
	           "interface), each backend's status, the auto choice, the topology.\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"json", no_argument, NULL, 'j'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct info *in;
	bool json = false;
	int c;

	while ((c = getopt_long(argc, argv, "jh", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		usage(stderr);
		return 2;
	}
	in = calloc(1, sizeof(*in));
	if (!in) {
		fprintf(stderr, "uipc-info: out of memory\n");
		return 1;
	}
	collect(in);
	if (json)
		print_json(in);
	else
		print_text(in);
	free(in);
	return 0;
}
