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

/*
 * The own wake interrupt: a managed interrupt of one CPU allocated from the
 * x86 vector domain, with the edge flow of that domain's chip, and its
 * vector and destination read back (uipc_uintr.c, "wake interrupt").
 */
#ifdef UIPC_PROBE_OWN_IRQ
#include <linux/interrupt.h>
#include <linux/irq.h>
#include <linux/irqdomain.h>
#include <asm/hw_irq.h>
#include <asm/irqdomain.h>
int uipc_probe(void)
{
	struct irq_affinity_desc aff = { .is_managed = 1 };
	struct irq_alloc_info info = {};
	struct irq_data *d;
	int irq;

	irq = __irq_domain_alloc_irqs(x86_vector_domain, -1, 1, NUMA_NO_NODE, &info, false, &aff);
	irq_set_handler(irq, handle_edge_irq);
	d = irq_get_irq_data(irq);
	if (d && irqd_is_started(d) && irqd_affinity_is_managed(d))
		irq = irqd_cfg(d)->vector + irqd_cfg(d)->dest_apicid;
	irq_dispose_mapping(irq);
	return irq;
}
#endif
