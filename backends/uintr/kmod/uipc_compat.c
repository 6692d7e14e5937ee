// SPDX-License-Identifier: GPL-2.0
/*
 * Feature probes of the uipc UINTR shim, not part of any module. Kbuild
 * compiles this file once per UIPC_PROBE_<NAME> below against the target
 * kernel, with the module's own flags and -Werror, and writes
 * "#define UIPC_HAVE_<NAME> 1" (compiled) or 0 into the generated
 * uipc_compat.h. UIPC_PROBE_NONE must always compile: it checks the probe
 * itself. Kernel exports are checked in Module.symvers instead (Kbuild).
 */
#include <linux/types.h>

int uipc_probe(void);

#ifdef UIPC_PROBE_NONE
int uipc_probe(void)
{
	return 0;
}
#endif

/* The 64-bit MSR accessors as named since about 6.16 (before: rdmsrl, wrmsrl, wrmsrl_safe). */
#ifdef UIPC_PROBE_MSRQ
#include <asm/msr.h>
int uipc_probe(void)
{
	u64 v;

	rdmsrq(0x10, v);
	wrmsrq(0x10, v);
	return wrmsrq_safe(0x10, v);
}
#endif

/* WQ_PERCPU: a workqueue bound to CPUs says so (newer kernels warn without it or WQ_UNBOUND). */
#ifdef UIPC_PROBE_WQ_PERCPU
#include <linux/workqueue.h>
int uipc_probe(void)
{
	return WQ_PERCPU;
}
#endif
