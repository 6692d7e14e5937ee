// SPDX-License-Identifier: GPL-2.0
/*
 * uipc UINTR shim: Intel user interrupts for a stock kernel (Linux >= 6.1,
 * x86-64), as a misc device /dev/uintr whose ioctls mirror the syscalls of
 * the UINTR RFC (ABI: backends/uintr/uintr-abi.h).
 *
 * Without the hardware (CPUID.(7,0):EDX[5] clear) or with page-table
 * isolation on, the device still appears, UINTR_IOC_INFO reports "no
 * hardware" and every other ioctl returns -EOPNOTSUPP.
 *
 * With the hardware:
 * - CR4.UINTR is set on every online CPU and on CPUs that come online
 *   later, and cleared on unload.
 * - Per-thread MSR state is switched by preempt notifiers. Switch-out sets
 *   SN in the UPID (senders stop sending IPIs), clears UINV first (a late
 *   notification IPI then reaches the kernel's handler of the borrowed
 *   vector, which only acknowledges it), saves UIRR and UIF and zeroes the
 *   MSRs. Switch-in reloads them, points NDST at the new CPU, clears ON and
 *   SN, and folds whatever was posted in PIR meanwhile into UIRR.
 * - A sender table (UITT) belongs to a process and an open file of
 *   /dev/uintr (a forked child gets its own) and is loaded into each thread
 *   that registers a sender through it or attaches to it
 *   (UINTR_IOC_ATTACH_SENDER); the TT MSR is switched like the others.
 * - UPIDs and UITTs are kernel memory that SENDUIPI and the notification
 *   microcode access with supervisor rights from user mode; this is why
 *   page-table isolation (which unmaps the kernel in user mode) must be off.
 * - The kernel cannot be given a new IDT vector from a module, so UINV
 *   borrows a KVM posted-interrupt vector whose handler only
 *   acknowledges (0xf0 by default, 0xf2 allowed; present when the kernel
 *   has KVM, checked in the IDT at load).
 * - uintr_wait blocks until the notification itself wakes the thread
 *   (UINTR_INFO_WAIT_VECTOR): the waiter's UPID is pointed at a wake
 *   vector and at a CPU on whose wait queue the thread is. A SENDUIPI to
 *   it then raises that vector there, and its handler wakes the queue's
 *   threads whose UPID has ON. The wake vector is, in this order of
 *   preference (wake=auto):
 *   - the module's own interrupt: one managed interrupt per CPU, allocated
 *     from the kernel's x86 vector domain (UINTR_WAKE_SRC_OWN); no KVM
 *     interface, and kvm_intel may come and go;
 *   - KVM's posted-interrupt wakeup vector (0xf1), whose kernel handler
 *     calls a settable function (UINTR_WAKE_SRC_KVM), only while kvm_intel
 *     is not loaded;
 *   - else uintr_wait is a timed poll of UIRR and PIR every poll_us
 *     (UINTR_INFO_WAIT_POLLED).
 *   The module says at load which one and why (dmesg, UINTR_IOC_INFO).
 *   See README.md, "Blocked waits", for the design and the alternatives.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/anon_inodes.h>
#include <linux/cpu.h>
#include <linux/binfmts.h>
#include <linux/cpuhotplug.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/hrtimer.h>
#include <linux/interrupt.h>
#include <linux/irq.h>
#include <linux/irqdomain.h>
#include <linux/kallsyms.h>
#include <linux/irq_work.h>
#include <linux/llist.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/pid.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/smp.h>
#include <linux/tracepoint.h>
#include <linux/uaccess.h>
#include <linux/workqueue.h>

#include <asm/apic.h>
#include <asm/cpufeature.h>
/* cpuid_count() moved from asm/processor.h to asm/cpuid/api.h (about 6.15). */
#if __has_include(<asm/cpuid/api.h>)
#include <asm/cpuid/api.h>
#endif
#include <asm/desc.h>
#include <asm/hw_irq.h>
#include <asm/irq.h>
#include <asm/irqdomain.h>
#include <asm/irq_vectors.h>
#include <asm/msr.h>
#include <asm/processor.h>
#include <asm/smp.h>
#include <asm/tlbflush.h>

#include "uintr-abi.h"
#include "uipc_uintr.h"
/* UIPC_HAVE_*: what the target kernel offers, probed by Kbuild (uipc_compat.c). */
#include "uipc_compat.h"
#ifdef UIPC_UINTR_FAKE_HW
#include "uintr-fake-abi.h"
#endif

/* Linux 6.12 made struct fd opaque and reads its file with fd_file(). */
#ifndef fd_file
#define fd_file(f) ((f).file)
#endif

/*
 * The KVM posted-interrupt vectors have kernel handlers exactly when the
 * kernel's idtentry.h declares them: under CONFIG_HAVE_KVM (always set on
 * x86-64) up to Linux 6.8, under IS_ENABLED(CONFIG_KVM) after
 * CONFIG_HAVE_KVM was removed (6.12 included). Both handlers of the
 * vectors the module may borrow only acknowledge. At load time the IDT
 * gate is checked as well (uintr_vector_ack_only()).
 */
#if defined(CONFIG_HAVE_KVM) || IS_ENABLED(CONFIG_KVM)
#define UIPC_HAVE_ACK_VECTORS 1
#else
#define UIPC_HAVE_ACK_VECTORS 0
#endif
/*
 * The real module takes KVM's wakeup handler where the kernel exports its
 * setter to any module (newer kernels export it to KVM's modules only);
 * the fake-hardware build runs the handler itself.
 */
#if UIPC_HAVE_ACK_VECTORS && UIPC_HAVE_KVM_WAKEUP && !defined(UIPC_UINTR_FAKE_HW)
#define UIPC_REAL_WAKE 1
#else
#define UIPC_REAL_WAKE 0
#endif
/*
 * The module's own wake interrupt (wake_irq_*): where the x86 vector
 * domain and the generic IRQ calls it needs are there for GPL modules.
 * The fake-hardware build has its own stand-in (per-CPU vectors that its
 * SENDUIPI dispatches).
 */
#if UIPC_HAVE_OWN_IRQ && UIPC_HAVE_VECTOR_DOMAIN && UIPC_HAVE_IRQ_DOMAIN_ALLOC && \
	UIPC_HAVE_IRQD_CFG && UIPC_HAVE_IRQ_SET_HANDLER && \
	(UIPC_HAVE_IRQ_DOMAIN_FREE || UIPC_HAVE_IRQ_DISPOSE) && !defined(UIPC_UINTR_FAKE_HW)
#define UIPC_OWN_WAKE 1
#else
#define UIPC_OWN_WAKE 0
#endif

#if !UIPC_OWN_WAKE && !defined(UIPC_UINTR_FAKE_HW)
/* Why this build has no own wake interrupt: what Kbuild found missing. */
static const char *own_wake_missing(void)
{
#if !UIPC_HAVE_OWN_IRQ
	return "this kernel's headers lack the x86 vector domain calls (probe OWN_IRQ)";
#elif !UIPC_HAVE_VECTOR_DOMAIN
	return UIPC_WHY_VECTOR_DOMAIN;
#elif !UIPC_HAVE_IRQ_DOMAIN_ALLOC
	return UIPC_WHY_IRQ_DOMAIN_ALLOC;
#elif !UIPC_HAVE_IRQD_CFG
	return UIPC_WHY_IRQD_CFG;
#elif !UIPC_HAVE_IRQ_SET_HANDLER
	return UIPC_WHY_IRQ_SET_HANDLER;
#else
	return UIPC_WHY_IRQ_DISPOSE;
#endif
}
#endif

static unsigned int uinv = 0xf0;
module_param(uinv, uint, 0444);
MODULE_PARM_DESC(uinv, "notification vector: 0xf0 (default) or 0xf2, KVM's acknowledge-only posted-interrupt vectors");

static unsigned int poll_us = 50;
module_param(poll_us, uint, 0444);
MODULE_PARM_DESC(poll_us, "uintr_wait poll period in microseconds (10..10000), with wake=poll");

static char *wake = "auto";
module_param(wake, charp, 0444);
MODULE_PARM_DESC(wake, "how a blocked uintr_wait is woken: auto (the module's own interrupt, else KVM's wakeup vector 0xf1 while kvm_intel is not loaded, else a poll), own or kvm (that one or UINTR stays off), vector (either or UINTR stays off), poll (every poll_us)");

static unsigned int wait_queue_max = 16;
module_param(wait_queue_max, uint, 0444);
MODULE_PARM_DESC(wait_queue_max, "blocked waiters per CPU woken by the wake vector (1..64); the wake handler looks at no more than this many, the next waiter polls");

/* Sender tables one open file of /dev/uintr holds (one per process that sends through it). */
#define UINTR_FILE_MAX_TABLES	16

/*
 * How blocked waits are woken (see the top of this file). wake_src is
 * chosen at load: UINTR_WAKE_SRC_OWN, _KVM or _POLL. Only _KVM changes
 * later, to _POLL and back (kvm_intel loading, or failing to), under
 * wake_mutex; readers use READ_ONCE and re-check under a queue lock. In
 * the real module, _KVM also means our function is KVM's wakeup handler.
 * wake_why says why it is not _OWN (UINTR_WAKE_WHY_*).
 */
static unsigned int wake_src = UINTR_WAKE_SRC_POLL;
static unsigned int wake_why = UINTR_WAKE_WHY_PARAM;
static DEFINE_MUTEX(wake_mutex);
static DEFINE_PER_CPU(struct uintr_waitq, uintr_waitq);
#ifdef POSTED_INTR_WAKEUP_VECTOR
#define UINTR_KVM_WAKE_VECTOR	POSTED_INTR_WAKEUP_VECTOR
#else
#define UINTR_KVM_WAKE_VECTOR	0xf1	/* the fake build's stand-in for it */
#endif

static bool wake_by_vector(void)
{
	return READ_ONCE(wake_src) != UINTR_WAKE_SRC_POLL;
}

/* The reaper's workqueue is per-CPU, which newer kernels want said (WQ_PERCPU). */
#if UIPC_HAVE_WQ_PERCPU
#define UIPC_WQ_FLAGS	WQ_PERCPU
#else
#define UIPC_WQ_FLAGS	0
#endif

static bool uintr_hw;			/* set once at init, read-only afterwards */
static atomic_t live_objects;		/* receivers + tables: checked at unload */
static enum cpuhp_state uintr_cpuhp_state;
static struct kmem_cache *upid_cache;
static struct workqueue_struct *uintr_wq;	/* reaper and slot releases */
static struct preempt_ops uintr_pn_ops;
static const struct file_operations uintr_vec_fops;

#ifndef UIPC_UINTR_FAKE_HW
/* ---- the hardware: MSRs, CR4, UIF (raw encodings: no -muintr here) ----- */

/* The 64-bit MSR accessors were renamed rdmsrl -> rdmsrq and so on (about 6.16). */
#if UIPC_HAVE_MSRQ
#define uipc_rdmsr64(msr, val)	rdmsrq(msr, val)
#define uipc_wrmsr64(msr, val)	wrmsrq(msr, val)
#define uipc_wrmsr64_safe	wrmsrq_safe
#else
#define uipc_rdmsr64(msr, val)	rdmsrl(msr, val)
#define uipc_wrmsr64(msr, val)	wrmsrl(msr, val)
#define uipc_wrmsr64_safe	wrmsrl_safe
#endif

static __always_inline void uwrmsr(u32 msr, u64 val)
{
	uipc_wrmsr64(msr, val);
}

/* For values that come from user space: 0, or -EIO where the CPU raised #GP. */
static __always_inline int uwrmsr_safe(u32 msr, u64 val)
{
	return uipc_wrmsr64_safe(msr, val) ? -EIO : 0;
}

static __always_inline u64 urdmsr(u32 msr)
{
	u64 val;

	uipc_rdmsr64(msr, val);
	return val;
}

/*
 * CR4 goes through the kernel's shadow of it (cr4_update_irqsoff()), never
 * a raw write: the kernel rewrites CR4 from the shadow (global TLB flushes,
 * TSD and PCE switches) and would drop a bit set behind its back. Kernels
 * that export cr4_update_irqsoff() to KVM's modules only leave no way to
 * set CR4.UINTR from here: uintr_hw_usable() keeps UINTR off there.
 */
static __always_inline void ucr4(bool on)
{
#if UIPC_HAVE_CR4_UPDATE
	if (on)
		cr4_set_bits_irqsoff(UINTR_CR4_BIT);
	else
		cr4_clear_bits_irqsoff(UINTR_CR4_BIT);
#else
	WARN_ON_ONCE(on);
#endif
}

static __always_inline bool uif_test(void)
{
	bool uif;

	asm volatile(".byte 0xf3, 0x0f, 0x01, 0xed" /* testui */ : "=@ccc"(uif));
	return uif;
}

static __always_inline void uif_clear(void)
{
	asm volatile(".byte 0xf3, 0x0f, 0x01, 0xee" /* clui */ ::: "memory");
}

static __always_inline void uif_set(void)
{
	asm volatile(".byte 0xf3, 0x0f, 0x01, 0xef" /* stui */ ::: "memory");
}

static bool cpu_has_uintr(void)
{
	unsigned int a, b, c, d;

	if (boot_cpu_data.cpuid_level < 7)
		return false;
	cpuid_count(7, 0, &a, &b, &c, &d);
	return d & BIT(UINTR_CPUID_EDX_BIT);
}

#define uintr_pti_on() boot_cpu_has(X86_FEATURE_PTI)
#else
#include "uipc_uintr_fake.h"
#endif

/* ---- MSR helpers (IRQs off) ------------------------------------------ */

static void uintr_clear_msrs(void)
{
	/* UINV first: from here a notification IPI is an ordinary, acknowledged interrupt. */
	uwrmsr(MSR_UINTR_MISC, 0);
	uwrmsr(MSR_UINTR_TT, 0);
	uwrmsr(MSR_UINTR_HANDLER, 0);
	uwrmsr(MSR_UINTR_STACKADJUST, 0);
	uwrmsr(MSR_UINTR_PD, 0);
	uwrmsr(MSR_UINTR_RR, 0);
	uif_clear();
}

/* ---- wait queues of blocked waiters (wake vector) ------------------------ */

/*
 * Wake every waiter of @cpu's queue and take it off; the queue then takes
 * waiters with wake vector @vector (0: closed). Each waiter's UPID gets SN
 * first: from here its posts only land in PIR and send nothing to the old
 * vector and CPU (a vector given back, or reused once the CPU is back).
 * The woken threads re-check PIR and arm again (clearing SN) on a queue
 * that is open, or fall back to the poll if none is. IRQs off or not.
 */
static void waitq_flush(unsigned int cpu, unsigned int vector)
{
	struct uintr_waitq *q = per_cpu_ptr(&uintr_waitq, cpu);
	struct uintr_task *st, *tmp;
	unsigned long flags;

	raw_spin_lock_irqsave(&q->lock, flags);
	q->vector = vector;
	list_for_each_entry_safe(st, tmp, &q->list, wnode) {
		set_bit(1, (unsigned long *)&st->recv->upid->status);	/* SN */
		list_del_init(&st->wnode);
		q->n--;
		WRITE_ONCE(st->wcpu, -1);
		wake_up_process(st->task);
	}
	raw_spin_unlock_irqrestore(&q->lock, flags);
}

/*
 * The wake vector's handler (hard IRQ, on the CPU a waiter's UPID names).
 * SENDUIPI set ON in the UPID of the thread it woke us for, and ON stays
 * set until that thread runs again, so waking every waiter with ON is
 * exactly the right set: each post that found ON clear sent one IPI and
 * wakes its thread once; a thread already awake is not woken twice.
 * A thread leaves the queue only under the lock, so it is alive here.
 * The queue holds at most wait_queue_max waiters (waitq_join()), so the
 * time spent here with IRQs off does not grow with what users do.
 * Not built where nothing runs it (a real module with neither wake
 * interrupt: blocked waits only poll there).
 */
#if UIPC_REAL_WAKE || UIPC_OWN_WAKE || defined(UIPC_UINTR_FAKE_HW)
static void uintr_wake_cpu(struct uintr_waitq *q)
{
	struct uintr_task *st;

	raw_spin_lock(&q->lock);
	list_for_each_entry(st, &q->list, wnode)
		if (READ_ONCE(st->recv->upid->status) & UPID_ON)
			wake_up_process(st->task);
	raw_spin_unlock(&q->lock);
}
#endif

#if UIPC_REAL_WAKE
static void uintr_wake_handler(void)
{
	uintr_wake_cpu(this_cpu_ptr(&uintr_waitq));
}
#endif

/* ---- the own wake interrupt ------------------------------------------- */

/*
 * One interrupt per possible CPU, allocated from the x86 vector domain
 * (the domain under every MSI and IO-APIC interrupt) as a *managed*
 * interrupt whose affinity is that CPU alone, the way multiqueue drivers
 * get per-CPU queue interrupts. So the kernel reserves a vector for it on
 * that CPU, starts it when the CPU comes online (CPUHP_AP_IRQ_AFFINITY_ONLINE,
 * before our online callback), shuts it down when the CPU goes (after
 * our offline callback), and never moves it to another CPU; user space
 * cannot change its affinity. Its flow is the domain chip's edge flow,
 * whose ack is the local APIC's EOI. A SENDUIPI to a waiter's UPID
 * (NV = this vector, NDST = this CPU) raises it like any device interrupt:
 * it is counted in /proc/interrupts ("uipc-wake"), dispatched through the
 * vector table with FRED as without, and needs nothing of KVM.
 */
#if UIPC_OWN_WAKE
static DEFINE_PER_CPU(int, wake_irq);	/* 0: none */

static irqreturn_t wake_irq_handler(int irq, void *dev)
{
	uintr_wake_cpu(dev);
	return IRQ_HANDLED;	/* the vector is ours alone: never a stranger's */
}

static void wake_irq_free_one(int irq)
{
#if UIPC_HAVE_IRQ_DOMAIN_FREE
	irq_domain_free_irqs(irq, 1);
#else
	irq_dispose_mapping(irq);	/* frees through the hierarchy, as above */
#endif
}

static int wake_irq_alloc_one(unsigned int cpu)
{
	struct irq_alloc_info info;
	struct irq_affinity_desc *aff;
	int irq, ret;

	/* struct cpumask is NR_CPUS bits: not on the stack. */
	aff = kzalloc(sizeof(*aff), GFP_KERNEL);
	if (!aff)
		return -ENOMEM;
	cpumask_set_cpu(cpu, &aff->mask);
	aff->is_managed = 1;
	memset(&info, 0, sizeof(info));	/* no type, no mask: the affinity decides */
	irq = __irq_domain_alloc_irqs(x86_vector_domain, -1, 1, cpu_to_node(cpu), &info, false,
				      aff);
	kfree(aff);
	if (irq <= 0)
		return irq < 0 ? irq : -ENOSPC;
	irq_set_handler(irq, handle_edge_irq);
	/* Hard IRQ context even with threadirqs: it only takes a raw lock and wakes. */
	ret = request_irq(irq, wake_irq_handler, IRQF_NO_THREAD, "uipc-wake",
			  per_cpu_ptr(&uintr_waitq, cpu));
	if (ret) {
		wake_irq_free_one(irq);
		return ret;
	}
	per_cpu(wake_irq, cpu) = irq;
	return 0;
}

static void wake_irq_free(void)
{
	unsigned int cpu;

	for_each_possible_cpu(cpu) {
		int irq = per_cpu(wake_irq, cpu);

		if (!irq)
			continue;
		free_irq(irq, per_cpu_ptr(&uintr_waitq, cpu));	/* waits for a running handler */
		wake_irq_free_one(irq);
		per_cpu(wake_irq, cpu) = 0;
	}
}

static int wake_irq_alloc(void)
{
	unsigned int cpu;
	int ret;

	for_each_possible_cpu(cpu) {
		ret = wake_irq_alloc_one(cpu);
		if (ret) {
			pr_warn("no wake interrupt for CPU %u (%d)\n", cpu, ret);
			wake_irq_free();
			return ret;
		}
	}
	return 0;
}

/*
 * The vector of @cpu's interrupt, or 0 if it is not running there. Called
 * on @cpu once it is online (the kernel started the interrupt before) and
 * at load; nothing moves a managed interrupt meanwhile.
 */
static unsigned int wake_irq_vector(unsigned int cpu)
{
	int irq = per_cpu(wake_irq, cpu);
	struct irq_data *d = irq ? irq_get_irq_data(irq) : NULL;
	struct irq_cfg *cfg;

	if (!d || !irqd_is_started(d))
		return 0;
	cfg = irqd_cfg(d);
	if (!cfg || cfg->vector < FIRST_EXTERNAL_VECTOR || cfg->vector >= NR_VECTORS ||
	    cfg->dest_apicid != cpu_physical_id(cpu)) {
		pr_warn_once("wake interrupt %d: vector %#x on APIC %#x, not CPU %u's\n", irq,
			     cfg ? cfg->vector : 0, cfg ? cfg->dest_apicid : 0, cpu);
		return 0;
	}
	return cfg->vector;
}
#elif defined(UIPC_UINTR_FAKE_HW)
/* The fake build's own interrupt: a vector per CPU, dispatched by its SENDUIPI. */
static int wake_irq_alloc(void)
{
	return 0;
}

static void wake_irq_free(void)
{
}

static unsigned int wake_irq_vector(unsigned int cpu)
{
	return 0x40 + (cpu & 0x7f);
}
#endif

/* The vector @cpu's queue takes waiters with, for the wake in use; 0: none. */
static unsigned int waitq_vector(unsigned int cpu)
{
	switch (wake_src) {
#if UIPC_OWN_WAKE || defined(UIPC_UINTR_FAKE_HW)
	case UINTR_WAKE_SRC_OWN:
		return wake_irq_vector(cpu);
#endif
	case UINTR_WAKE_SRC_KVM:
		return UINTR_KVM_WAKE_VECTOR;
	default:
		return 0;
	}
}

/* ---- CPU enablement ---------------------------------------------------- */

/* Runs on the CPU coming online, before it is active for user tasks. */
static int uintr_cpu_online(unsigned int cpu)
{
	unsigned long flags;

	if (!cpu_has_uintr()) {
		pr_err("CPU %u lacks UINTR; refusing to online it with the shim loaded\n", cpu);
		return -EOPNOTSUPP;
	}
	local_irq_save(flags);
	ucr4(true);
	/* Known state: whatever firmware left, no thread's state is loaded here. */
	uintr_clear_msrs();
	local_irq_restore(flags);
	/* Under wake_mutex: a switch to the poll in between cannot leave this queue open. */
	mutex_lock(&wake_mutex);
	waitq_flush(cpu, waitq_vector(cpu));
	mutex_unlock(&wake_mutex);
	return 0;
}

/*
 * Runs on the CPU going down. Its waiters' UPIDs still name it: they are
 * woken to re-check PIR (a post whose IPI this CPU no longer takes is
 * there) and arm again on an online CPU's queue.
 */
static int uintr_cpu_offline(unsigned int cpu)
{
	unsigned long flags;

	waitq_flush(cpu, 0);
	local_irq_save(flags);
	ucr4(false);
	local_irq_restore(flags);
	return 0;
}

/* ---- MSR switching (IRQs off, current == the owner of @st) ------------- */

static u64 apic_ndst(int cpu)
{
	u32 id = cpu_physical_id(cpu);

	/* xAPIC takes the 8-bit id in NDST bits 15:8 (UPID bits 47:40). */
	return x2apic_mode ? id : (u64)(id & 0xff) << 8;
}

/*
 * Point a UPID at vector @nv on @cpu with ON and SN clear, in one locked
 * update (a sender may set ON or PIR bits meanwhile). A full barrier: the
 * caller's look at PIR comes after it.
 */
static void upid_point(struct uintr_upid *upid, unsigned int nv, int cpu)
{
	u64 old = READ_ONCE(upid->status), new;

	do {
		new = (old & ~(UPID_ON | UPID_SN | UPID_NV_MASK | UPID_NDST_MASK)) |
		      (u64)nv << UPID_NV_SHIFT | apic_ndst(cpu) << UPID_NDST_SHIFT;
	} while (!try_cmpxchg64(&upid->status, &old, new));
}

static u64 misc_value(const struct uintr_task *st)
{
	u64 misc = 0;

	if (st->uitt)
		misc |= UINTR_UITT_SIZE - 1;	/* UITTSZ is the highest valid index */
	/* Armed for a blocked wait, the thread takes no notification in UIRR:
	 * everything stays in PIR, where the waiter and the wake handler see it. */
	if (st->recv && !st->armed)
		misc |= (u64)uinv << UINTR_MISC_UINV_SHIFT;
	return misc;
}

/*
 * UIF is the thread's own: loaded both ways. The CPU's UIF is whatever the
 * thread that ran before left (any user thread may STUI once CR4.UINTR is
 * set), and a receiver inside a CLUI section must not find it set.
 */
static void uif_load(bool uif)
{
	if (uif)
		uif_set();
	else
		uif_clear();
}

/*
 * Load the whole state of @st: at switch-in, and at registration of a
 * receiver (when the live UIRR and UIF belong to no receiver yet). Loading
 * only the sender role is load_sender(). False when the CPU refused the
 * handler or stack (checked at registration, so never expected): the MSRs
 * are left clear and the caller drops the state.
 */
static bool uintr_load(struct uintr_task *st, int cpu)
{
	u64 pending;

	lockdep_assert_irqs_disabled();
	if (st->uitt)
		uwrmsr(MSR_UINTR_TT, (u64)(unsigned long)st->uitt->entries | 1);
	if (!st->recv) {
		uwrmsr(MSR_UINTR_MISC, misc_value(st));
		uif_clear();
		return true;
	}
	if (uwrmsr_safe(MSR_UINTR_HANDLER, st->handler) ||
	    uwrmsr_safe(MSR_UINTR_STACKADJUST, st->stack_adjust)) {
		set_bit(1, (unsigned long *)&st->recv->upid->status);	/* SN */
		uintr_clear_msrs();
		return false;
	}
	uwrmsr(MSR_UINTR_PD, (u64)(unsigned long)st->recv->upid);
	/* UINV live before SN clears: a notification from now on is consumed by the CPU. */
	uwrmsr(MSR_UINTR_MISC, misc_value(st));
	if (st->armed) {
		/*
		 * Back in uintr_wait, which re-checks PIR and disarms: the UPID
		 * keeps naming the wake vector, and its ON (set only with PIR)
		 * holds off further wake IPIs until then.
		 */
		uwrmsr(MSR_UINTR_RR, st->uirr);
		st->uirr = 0;
		uif_load(st->uif);
		return true;
	}

	/*
	 * Point NDST here and clear ON and SN in one locked update: while SN
	 * was set, senders posted into PIR without setting ON; an ON left over
	 * from an IPI that hit the old CPU after UINV was cleared would block
	 * every later notification.
	 */
	upid_point(st->recv->upid, uinv, cpu);
	/*
	 * Full barrier (the cmpxchg) before taking PIR: a post that saw SN
	 * clear sends an IPI that stays pending until IRQs are enabled and is
	 * then consumed; a post that saw SN set is in PIR and taken here.
	 */
	pending = xchg(&st->recv->upid->pir, 0);
	uwrmsr(MSR_UINTR_RR, st->uirr | pending);
	st->uirr = 0;
	uif_load(st->uif);
	return true;
}

/* Add the sender role to a running thread without touching its receiver state. */
static void load_sender(struct uintr_task *st)
{
	lockdep_assert_irqs_disabled();
	uwrmsr(MSR_UINTR_TT, (u64)(unsigned long)st->uitt->entries | 1);
	uwrmsr(MSR_UINTR_MISC, misc_value(st));
}

/* Drop the receiver role of a running thread, keeping its sender role. */
static void unload_receiver(struct uintr_task *st)
{
	lockdep_assert_irqs_disabled();
	/* Suppress, then UINV off: a late IPI becomes an acknowledged spurious one. */
	set_bit(1, (unsigned long *)&st->recv->upid->status);	/* SN */
	st->recv = NULL;
	uwrmsr(MSR_UINTR_MISC, misc_value(st));
	uwrmsr(MSR_UINTR_HANDLER, 0);
	uwrmsr(MSR_UINTR_STACKADJUST, 0);
	uwrmsr(MSR_UINTR_PD, 0);
	uwrmsr(MSR_UINTR_RR, 0);
	uif_clear();
}

static void uintr_save(struct uintr_task *st)
{
	u64 uirr;

	lockdep_assert_irqs_disabled();
	if (st->recv) {
		/*
		 * Suppress first: senders stop sending IPIs and only post into
		 * PIR. Not while armed for a blocked wait: then a post must
		 * send the wake vector.
		 */
		if (!st->armed)
			set_bit(1, (unsigned long *)&st->recv->upid->status);	/* SN */
		st->uif = uif_test();
		uwrmsr(MSR_UINTR_MISC, 0);
		uirr = urdmsr(MSR_UINTR_RR);
		st->uirr |= uirr;
	}
	uintr_clear_msrs();
}

/* ---- receivers --------------------------------------------------------- */

static void receiver_free(struct kref *ref)
{
	struct uintr_receiver *r = container_of(ref, struct uintr_receiver, ref);

	kmem_cache_free(upid_cache, r->upid);
	kfree(r);
	atomic_dec(&live_objects);
}

static void receiver_put(struct uintr_receiver *r)
{
	kref_put(&r->ref, receiver_free);
}

static void receiver_kill(struct uintr_receiver *r)
{
	unsigned long flags;

	/* SN stays set for good: remaining senders only post, never IPI. */
	set_bit(1, (unsigned long *)&r->upid->status);
	spin_lock_irqsave(&r->lock, flags);
	r->dead = true;
	spin_unlock_irqrestore(&r->lock, flags);
	receiver_put(r);
}

static struct uintr_receiver *receiver_new(void)
{
	struct uintr_receiver *r = kzalloc(sizeof(*r), GFP_KERNEL_ACCOUNT);

	if (!r)
		return NULL;
	r->upid = kmem_cache_zalloc(upid_cache, GFP_KERNEL_ACCOUNT);
	if (!r->upid) {
		kfree(r);
		return NULL;
	}
	r->upid->status = (u64)uinv << UPID_NV_SHIFT | UPID_SN;
	atomic_inc(&live_objects);
	kref_init(&r->ref);
	spin_lock_init(&r->lock);
	return r;
}

static void uitt_free(struct kref *ref)
{
	struct uintr_uitt *t = container_of(ref, struct uintr_uitt, ref);
	unsigned int i;

	/* No thread has it loaded any more (each held a reference): no SENDUIPI can read it. */
	for (i = 0; i < UINTR_UITT_SIZE; i++)
		if (t->recv[i])
			receiver_put(t->recv[i]);
	mutex_destroy(&t->lock);
	put_pid(t->owner);
	kfree(t->entries);
	kfree(t);
	atomic_dec(&live_objects);
}

static void uitt_put(struct uintr_uitt *t)
{
	kref_put(&t->ref, uitt_free);
}

static struct uintr_uitt *uitt_new(void)
{
	struct uintr_uitt *t = kzalloc(struct_size(t, recv, UINTR_UITT_SIZE), GFP_KERNEL_ACCOUNT);

	if (!t)
		return NULL;
	/* 4 KiB from kmalloc is page-aligned, so the 16-byte entries are aligned too. */
	t->entries = kzalloc(UINTR_UITT_SIZE * sizeof(*t->entries), GFP_KERNEL_ACCOUNT);
	if (!t->entries) {
		kfree(t);
		return NULL;
	}
	atomic_inc(&live_objects);
	kref_init(&t->ref);
	mutex_init(&t->lock);
	t->owner = get_pid(task_tgid(current));
	t->exec_id = READ_ONCE(current->self_exec_id);
	return t;
}

/* ---- per-thread state -------------------------------------------------- */

/* Drops what @st holds. Any context; @st is off every CPU already. */
static void task_release(struct uintr_task *st)
{
	if (st->recv)
		receiver_kill(st->recv);
	if (st->uitt)
		uitt_put(st->uitt);
	kfree(st);
	module_put(THIS_MODULE);
}

/*
 * Threads that died with state: pushed by their final switch-out, freed by
 * a work item. The scheduler holds the runqueue lock there, so nothing that
 * may wake a task (call_rcu, queue_work) can run in it; an irq_work bridges
 * to the work item once IRQs are back on, which is also after the scheduler
 * has finished walking the dead thread's notifier list.
 */
static LLIST_HEAD(dead_tasks);

static void reap_work_fn(struct work_struct *work)
{
	struct llist_node *list = llist_del_all(&dead_tasks);
	struct uintr_task *st, *tmp;

	if (!list)
		return;
	/*
	 * The CPU that ran a thread's final switch may still be walking its
	 * notifier list (our pn is in it) when this runs on another CPU: the
	 * irq_work may have been pending there already. The scheduler walks
	 * it with IRQs off, an RCU read-side section, so after a grace
	 * period no CPU is in such a walk.
	 */
	synchronize_rcu();
	llist_for_each_entry_safe(st, tmp, list, dead)
		task_release(st);
}

static DECLARE_WORK(reap_work, reap_work_fn);

static void reap_irq_fn(struct irq_work *iw)
{
	queue_work(uintr_wq, &reap_work);
}

static DEFINE_IRQ_WORK(reap_irq_work, reap_irq_fn);

/*
 * Is @st's state the running image's? Exec replaces the mm, and the new mm
 * can be allocated where an old one was freed (exec; exec): the exec count
 * tells them apart. The exec tracepoint drops the state before the new
 * image runs; this is the check for the switches in between.
 */
static bool task_same_image(const struct uintr_task *st)
{
	return current->mm == st->mm && READ_ONCE(current->self_exec_id) == st->exec_id;
}

static void uintr_sched_in(struct preempt_notifier *pn, int cpu)
{
	struct uintr_task *st = container_of(pn, struct uintr_task, pn);
	unsigned long flags;

	if (!st->active)
		goto untracked;
	if (!task_same_image(st)) {
		st->active = false;	/* exec'd or exiting: MSRs stay clear */
		goto untracked;
	}
	local_irq_save(flags);
	if (!uintr_load(st, cpu))
		st->active = false;
	local_irq_restore(flags);
	return;
untracked:
	local_irq_save(flags);
	uif_clear();
	local_irq_restore(flags);
}

static void uintr_sched_out(struct preempt_notifier *pn, struct task_struct *next)
{
	struct uintr_task *st = container_of(pn, struct uintr_task, pn);
	unsigned long flags;

	if (st->active) {
		local_irq_save(flags);
		uintr_save(st);
		local_irq_restore(flags);
		if (!task_same_image(st))
			st->active = false;
	}
	/* The final switch of a dying thread: it never runs again. */
	if (READ_ONCE(current->__state) == TASK_DEAD) {
		llist_add(&st->dead, &dead_tasks);
		irq_work_queue(&reap_irq_work);
	}
}

static struct preempt_ops uintr_pn_ops = {
	.sched_in = uintr_sched_in,
	.sched_out = uintr_sched_out,
};

/* Only the thread itself changes its notifier list, so walking it is safe here. */
static struct uintr_task *task_find(void)
{
	struct preempt_notifier *pn;

	hlist_for_each_entry(pn, &current->preempt_notifiers, link)
		if (pn->ops == &uintr_pn_ops)
			return container_of(pn, struct uintr_task, pn);
	return NULL;
}

static void task_teardown(struct uintr_task *st)
{
	preempt_disable();
	local_irq_disable();
	if (st->recv)
		set_bit(1, (unsigned long *)&st->recv->upid->status);	/* SN first */
	uintr_clear_msrs();
	local_irq_enable();
	preempt_notifier_unregister(&st->pn);
	preempt_enable();
	task_release(st);
}

/* The current thread's state, dropping one left over from before exec. */
static struct uintr_task *task_get(void)
{
	struct uintr_task *st = task_find();

	if (st && (!st->active || !task_same_image(st))) {
		task_teardown(st);
		st = NULL;
	}
	return st;
}

static struct uintr_task *task_get_or_create(void)
{
	struct uintr_task *st = task_get();

	if (st)
		return st;
	st = kzalloc(sizeof(*st), GFP_KERNEL_ACCOUNT);
	if (!st)
		return ERR_PTR(-ENOMEM);
	if (!try_module_get(THIS_MODULE)) {
		kfree(st);
		return ERR_PTR(-ENODEV);
	}
	st->mm = current->mm;
	st->exec_id = READ_ONCE(current->self_exec_id);
	st->active = true;
	st->task = current;
	st->wcpu = -1;
	INIT_LIST_HEAD(&st->wnode);
	preempt_notifier_init(&st->pn, &uintr_pn_ops);
	preempt_disable();
	preempt_notifier_register(&st->pn);
	preempt_enable();
	return st;
}

static void task_maybe_free(struct uintr_task *st)
{
	if (!st->recv && !st->uitt)
		task_teardown(st);
}

/* ---- exec -------------------------------------------------------------- */

static struct tracepoint *exec_tp;

static void exec_tp_find(struct tracepoint *tp, void *priv)
{
	if (!strcmp(tp->name, "sched_process_exec"))
		exec_tp = tp;
}

/*
 * sched_process_exec, in the exec'ing thread: the new image is mapped and
 * has not run an instruction. Whatever UINTR state the thread has belongs
 * to the old image (handler, stack, UIF, UIRR, sender table): drop it, so
 * the new image, setuid or not, starts with none. The other threads of the
 * old image are dead by now (de_thread()).
 */
static void uintr_exec_probe(void *data, struct task_struct *p, pid_t old_pid,
			     struct linux_binprm *bprm)
{
	struct uintr_task *st;

	if (p != current)
		return;
	st = task_find();
	if (st)
		task_teardown(st);
}

static int exec_hook_init(void)
{
	int ret;

	for_each_kernel_tracepoint(exec_tp_find, NULL);
	if (!exec_tp) {
		pr_warn("no sched_process_exec tracepoint (CONFIG_TRACEPOINTS off?): UINTR stays off\n");
		return -ENOENT;
	}
	ret = tracepoint_probe_register(exec_tp, uintr_exec_probe, NULL);
	if (ret)
		pr_warn("cannot hook exec (%d): UINTR stays off\n", ret);
	return ret;
}

static void exec_hook_exit(void)
{
	tracepoint_probe_unregister(exec_tp, uintr_exec_probe, NULL);
	tracepoint_synchronize_unregister();
}

/* ---- ioctls ------------------------------------------------------------ */

static long ioc_info(void __user *arg)
{
	struct uintr_info info = {
		.abi_version = UINTR_ABI_VERSION,
	};

	if (uintr_hw) {
		info.flags = UINTR_INFO_HW;
		info.uinv = uinv;
		info.uitt_size = UINTR_UITT_SIZE;
		info.wake_source = READ_ONCE(wake_src);
		info.wake_why = wake_why;
		if (info.wake_source != UINTR_WAKE_SRC_POLL) {
			info.flags |= UINTR_INFO_WAIT_VECTOR;
			/* The own interrupt's vector is per CPU: this CPU's (or, offline, none). */
			info.wake_vector = READ_ONCE(raw_cpu_ptr(&uintr_waitq)->vector);
			if (!info.wake_vector)
				info.wake_vector = waitq_vector(raw_smp_processor_id());
		} else {
			info.flags |= UINTR_INFO_WAIT_POLLED;
			info.poll_us = poll_us;
		}
	}
	return copy_to_user(arg, &info, sizeof(info)) ? -EFAULT : 0;
}

/* [@addr, @addr + @len) lies in the user half, below TASK_SIZE_MAX. */
static bool user_range_ok(u64 addr, u64 len)
{
	return addr < TASK_SIZE_MAX && len <= TASK_SIZE_MAX - addr &&
	       access_ok((void __user *)(unsigned long)addr, len);
}

static long ioc_register_handler(void __user *arg)
{
	struct uintr_handler_args a;
	struct uintr_receiver *r;
	struct uintr_task *st;
	u64 adjust = UINTR_RED_ZONE;

	if (copy_from_user(&a, arg, sizeof(a)))
		return -EFAULT;
	if (a.flags || a.reserved)
		return -EINVAL;
	/*
	 * User addresses, canonical: access_ok() alone accepts non-canonical
	 * ones on kernels with LAM support, and the MSR write would #GP at
	 * every switch-in.
	 */
	if (!a.handler || !user_range_ok(a.handler, 1))
		return -EFAULT;
	if (a.stack || a.stack_size) {
		if (!a.stack || a.stack_size < 64 || a.stack + a.stack_size < a.stack)
			return -EINVAL;
		if (!user_range_ok(a.stack, a.stack_size))
			return -EFAULT;
		/* Bit 0 selects "load this RSP"; the top is 16-byte aligned. */
		adjust = ((a.stack + a.stack_size) & ~15ULL) | 1;
	}
	st = task_get_or_create();
	if (IS_ERR(st))
		return PTR_ERR(st);
	if (st->recv)
		return -EBUSY;
	r = receiver_new();
	if (!r) {
		task_maybe_free(st);
		return -ENOMEM;
	}
	preempt_disable();
	local_irq_disable();
	st->recv = r;
	st->handler = a.handler;
	st->stack_adjust = adjust;
	st->uirr = 0;
	st->uif = false;
	if (!uintr_load(st, smp_processor_id())) {
		/* Checked above; the CPU refusing it anyway is a bug of ours. */
		WARN_ON_ONCE(1);
		st->recv = NULL;
		if (st->uitt)
			load_sender(st);
		local_irq_enable();
		preempt_enable();
		receiver_kill(r);
		task_maybe_free(st);
		return -EFAULT;
	}
	local_irq_enable();
	preempt_enable();
	return 0;
}

static long ioc_unregister_handler(void __user *arg)
{
	struct uintr_receiver *r;
	struct uintr_task *st;
	u32 flags;

	if (get_user(flags, (u32 __user *)arg))
		return -EFAULT;
	if (flags)
		return -EINVAL;
	st = task_get();
	if (!st || !st->recv)
		return -EINVAL;
	r = st->recv;
	preempt_disable();
	local_irq_disable();
	unload_receiver(st);	/* the sender role, if any, stays */
	local_irq_enable();
	preempt_enable();
	receiver_kill(r);
	task_maybe_free(st);
	return 0;
}

static void vec_free(struct uintr_vector *v)
{
	unsigned long flags;

	spin_lock_irqsave(&v->recv->lock, flags);
	v->recv->vectors_used &= ~BIT_ULL(v->vector);
	spin_unlock_irqrestore(&v->recv->lock, flags);
	receiver_put(v->recv);
	kfree(v);
}

static int vec_release(struct inode *inode, struct file *file)
{
	vec_free(file->private_data);
	return 0;
}

static const struct file_operations uintr_vec_fops = {
	.owner = THIS_MODULE,
	.release = vec_release,
	.llseek = noop_llseek,
};

static long ioc_vector_fd(void __user *arg)
{
	struct uintr_vector_args a;
	struct uintr_receiver *r;
	struct uintr_vector *v;
	struct uintr_task *st;
	unsigned long flags;
	int fd;

	if (copy_from_user(&a, arg, sizeof(a)))
		return -EFAULT;
	if (a.flags)
		return -EINVAL;
	if (a.vector >= UINTR_MAX_VECTORS)
		return -ENOSPC;
	st = task_get();
	if (!st || !st->recv)
		return -EINVAL;
	r = st->recv;
	v = kzalloc(sizeof(*v), GFP_KERNEL_ACCOUNT);
	if (!v)
		return -ENOMEM;
	spin_lock_irqsave(&r->lock, flags);
	if (r->vectors_used & BIT_ULL(a.vector)) {
		spin_unlock_irqrestore(&r->lock, flags);
		kfree(v);
		return -EBUSY;
	}
	r->vectors_used |= BIT_ULL(a.vector);
	spin_unlock_irqrestore(&r->lock, flags);
	kref_get(&r->ref);
	v->recv = r;
	v->vector = a.vector;
	fd = anon_inode_getfd("[uintr-vector]", &uintr_vec_fops, v, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		vec_free(v);
	return fd;
}

/* ---- sender tables ----------------------------------------------------- */

/*
 * The calling process's table of an open /dev/uintr, created on first use;
 * the file keeps it alive. Tables of processes that are gone, or of the
 * caller's image before an exec, are dropped on the way (their threads, if any are left, hold their own references).
 * -EINVAL: none and !@create; -ENOSPC: the file holds UINTR_FILE_MAX_TABLES
 * of live processes already (forked children sharing it); -ENOMEM.
 */
static struct uintr_uitt *file_uitt(struct uintr_file *uf, bool create)
{
	struct pid *me = task_tgid(current);
	struct uintr_uitt *t, *tmp, *found = NULL;
	unsigned int n = 0;

	mutex_lock(&uf->lock);
	list_for_each_entry_safe(t, tmp, &uf->tables, node) {
		if (t->owner == me && t->exec_id == READ_ONCE(current->self_exec_id)) {
			found = t;
		} else if (t->owner == me || !pid_has_task(t->owner, PIDTYPE_TGID)) {
			/* Gone, or the image before an exec kept the fd: not the caller's. */
			list_del(&t->node);
			uitt_put(t);
			continue;
		}
		n++;
	}
	if (!found && !create)
		found = ERR_PTR(-EINVAL);
	else if (!found && n >= UINTR_FILE_MAX_TABLES)
		found = ERR_PTR(-ENOSPC);
	else if (!found) {
		found = uitt_new();
		if (found)
			list_add(&found->node, &uf->tables);
		else
			found = ERR_PTR(-ENOMEM);
	}
	mutex_unlock(&uf->lock);
	return found;
}

/* Load @t into the calling thread: from now on its SENDUIPI uses these indices. */
static int uitt_attach(struct uintr_task *st, struct uintr_uitt *t)
{
	if (st->uitt)
		return st->uitt == t ? 0 : -EBUSY;
	kref_get(&t->ref);
	preempt_disable();
	local_irq_disable();
	st->uitt = t;
	load_sender(st);
	local_irq_enable();
	preempt_enable();
	return 0;
}

static long uitt_add(struct uintr_uitt *t, struct uintr_vector *v)
{
	u64 ctl = UITT_VALID | (u64)v->vector << UITT_VECTOR_SHIFT;
	unsigned int i, slot = UINTR_UITT_SIZE;
	struct uintr_receiver *r = v->recv;

	mutex_lock(&t->lock);
	for (i = 0; i < UINTR_UITT_SIZE; i++) {
		if (t->recv[i] == r && t->entries[i].ctl == ctl) {
			mutex_unlock(&t->lock);
			return -EISCONN;
		}
		if (!t->recv[i] && slot == UINTR_UITT_SIZE)
			slot = i;
	}
	if (slot == UINTR_UITT_SIZE) {
		mutex_unlock(&t->lock);
		return -ENOSPC;
	}
	kref_get(&r->ref);
	t->recv[slot] = r;
	/* Other threads may run SENDUIPI on this table: the UPID before the valid bit. */
	WRITE_ONCE(t->entries[slot].upid, (u64)(unsigned long)r->upid);
	smp_wmb();
	WRITE_ONCE(t->entries[slot].ctl, ctl);
	mutex_unlock(&t->lock);
	return slot;
}

/*
 * A removed entry's slot: its valid bit is clear, but a SENDUIPI that read
 * the entry just before may still be using the UPID address. The slot
 * stays taken (t->recv[index] set) and the UPID alive until no CPU can be
 * inside such an instruction, then both are released: after a grace
 * period (which covers senders in the kernel, the fake build, and CPUs
 * that took a tick or switched), and an IPI to every CPU, which puts each
 * past an instruction boundary (a nohz_full CPU running user code passes
 * no quiescent state RCU waits for).
 *
 * The IPI is the costly part, and its count would be the caller's to
 * choose (one per removal, on every CPU of the machine, whoever runs
 * there). So releases whose grace period is over gather on one list, and
 * one work releases them all behind one IPI round, at most once a jiffy
 * (tests/regress/kmod-kick-storm.c).
 */
struct slot_release {
	struct rcu_head rcu;
	struct llist_node node;
	struct uintr_uitt *t;		/* one reference */
	unsigned int index;
};

static LLIST_HEAD(slots_ready);		/* grace period over, IPI not yet */

static void slots_release_fn(struct work_struct *work)
{
	struct llist_node *list = llist_del_all(&slots_ready);
	struct slot_release *d, *tmp;

	if (!list)
		return;
	kick_all_cpus_sync();
	llist_for_each_entry_safe(d, tmp, list, node) {
		struct uintr_uitt *t = d->t;
		struct uintr_receiver *r;

		mutex_lock(&t->lock);
		r = t->recv[d->index];
		WRITE_ONCE(t->entries[d->index].upid, 0);
		t->recv[d->index] = NULL;
		mutex_unlock(&t->lock);
		receiver_put(r);
		uitt_put(t);
		kfree(d);
	}
}

static DECLARE_DELAYED_WORK(slots_release_work, slots_release_fn);

/* RCU callback (softirq): the first on an empty list schedules the work. */
static void slot_release_rcu(struct rcu_head *rcu)
{
	struct slot_release *d = container_of(rcu, struct slot_release, rcu);

	if (llist_add(&d->node, &slots_ready))
		queue_delayed_work(uintr_wq, &slots_release_work, 1);
}

static struct uintr_vector *vector_of(struct file *file)
{
	return file->f_op == &uintr_vec_fops ? file->private_data : NULL;
}

static bool receiver_dead(struct uintr_receiver *r)
{
	unsigned long flags;
	bool dead;

	spin_lock_irqsave(&r->lock, flags);
	dead = r->dead;
	spin_unlock_irqrestore(&r->lock, flags);
	return dead;
}

static long ioc_register_sender(struct uintr_file *uf, void __user *arg)
{
	struct uintr_sender_args a;
	struct uintr_vector *v;
	struct uintr_task *st;
	struct uintr_uitt *t;
	struct fd f;
	long ret;

	if (copy_from_user(&a, arg, sizeof(a)))
		return -EFAULT;
	if (a.flags)
		return -EINVAL;
	f = fdget(a.fd);
	if (!fd_file(f))
		return -EBADF;
	ret = -EOPNOTSUPP;
	v = vector_of(fd_file(f));
	if (!v)
		goto out;
	ret = -ESHUTDOWN;
	if (receiver_dead(v->recv))
		goto out;
	t = file_uitt(uf, true);
	if (IS_ERR(t)) {
		ret = PTR_ERR(t);
		goto out;
	}
	st = task_get_or_create();
	if (IS_ERR(st)) {
		ret = PTR_ERR(st);
		goto out;
	}
	ret = st->uitt && st->uitt != t ? -EBUSY : uitt_add(t, v);
	if (ret >= 0) {
		uitt_attach(st, t);	/* cannot fail: same table or none */
	} else {
		task_maybe_free(st);
	}
out:
	fdput(f);
	return ret;
}

static long ioc_attach_sender(struct uintr_file *uf, void __user *arg)
{
	struct uintr_task *st;
	struct uintr_uitt *t;
	u32 flags;
	int ret;

	if (get_user(flags, (u32 __user *)arg))
		return -EFAULT;
	if (flags)
		return -EINVAL;
	t = file_uitt(uf, true);
	if (IS_ERR(t))
		return PTR_ERR(t);
	st = task_get_or_create();
	if (IS_ERR(st))
		return PTR_ERR(st);
	ret = uitt_attach(st, t);
	if (ret)
		task_maybe_free(st);
	return ret;
}

static long ioc_unregister_sender(struct uintr_file *uf, void __user *arg)
{
	struct uintr_unsender_args a;
	struct slot_release *d;
	struct uintr_uitt *t;

	if (copy_from_user(&a, arg, sizeof(a)))
		return -EFAULT;
	if (a.flags || a.index >= UINTR_UITT_SIZE)
		return -EINVAL;
	t = file_uitt(uf, false);
	if (IS_ERR(t))
		return PTR_ERR(t);
	d = kmalloc(sizeof(*d), GFP_KERNEL_ACCOUNT);
	if (!d)
		return -ENOMEM;
	mutex_lock(&t->lock);
	/* A slot still being released has its valid bit clear already. */
	if (!t->recv[a.index] || !(t->entries[a.index].ctl & UITT_VALID)) {
		mutex_unlock(&t->lock);
		kfree(d);
		return -EINVAL;
	}
	/* Only the valid bit: a SENDUIPI reading the entry now sees it clear, or a whole entry. */
	WRITE_ONCE(t->entries[a.index].ctl, 0);
	mutex_unlock(&t->lock);
	kref_get(&t->ref);
	d->t = t;
	d->index = a.index;
	call_rcu(&d->rcu, slot_release_rcu);
	return 0;
}

/* Anything posted for the current receiver: live UIRR or not yet folded PIR. */
static bool recv_pending(struct uintr_task *st)
{
	u64 uirr;

	preempt_disable();
	uirr = urdmsr(MSR_UINTR_RR);
	uirr |= READ_ONCE(st->recv->upid->pir);
	preempt_enable();
	return uirr != 0;
}

/* The timed poll: wake=poll, or no queue takes waiters. */
static long wait_polled(struct uintr_task *st, ktime_t deadline)
{
	ktime_t now, step;

	for (;;) {
		/*
		 * Checked after every sleep: a post either landed in UIRR while
		 * this thread ran or in PIR while it was switched out, so none is
		 * missed; the cost is up to poll_us of extra latency. The user
		 * interrupt itself is delivered on the way back to user mode.
		 */
		if (recv_pending(st) || signal_pending(current))
			return -EINTR;
		now = ktime_get();
		if (ktime_compare(now, deadline) >= 0)
			return -ETIMEDOUT;
		step = min(ktime_sub(deadline, now), ns_to_ktime((u64)poll_us * NSEC_PER_USEC));
		set_current_state(TASK_INTERRUPTIBLE);
		schedule_hrtimeout_range(&step, 10 * NSEC_PER_USEC, HRTIMER_MODE_REL);
	}
}

/*
 * Put the current thread on a queue that is open and has room: this CPU's,
 * else any. IRQs off. Returns the queue's CPU with its lock held, or -1 if
 * none (the caller polls).
 */
static int waitq_join(struct uintr_task *st)
{
	unsigned int cpu = smp_processor_id(), c;
	struct uintr_waitq *q = this_cpu_ptr(&uintr_waitq);

	raw_spin_lock(&q->lock);
	if (q->vector && q->n < wait_queue_max)
		goto found;
	raw_spin_unlock(&q->lock);
	for_each_online_cpu(c) {
		q = per_cpu_ptr(&uintr_waitq, c);
		raw_spin_lock(&q->lock);
		if (q->vector && q->n < wait_queue_max) {
			cpu = c;
			goto found;
		}
		raw_spin_unlock(&q->lock);
	}
	return -1;
found:
	q->n++;
	list_add_tail(&st->wnode, &q->list);
	st->wvec = q->vector;
	WRITE_ONCE(st->wcpu, cpu);
	return cpu;
}

/*
 * The queue the current thread is on, locked, or the one it joins now
 * (waitq_join()). IRQs off. -1: none.
 */
static int waitq_lock_own(struct uintr_task *st)
{
	int cpu = READ_ONCE(st->wcpu);

	if (cpu >= 0) {
		struct uintr_waitq *q = per_cpu_ptr(&uintr_waitq, cpu);

		raw_spin_lock(&q->lock);
		if (st->wcpu == cpu)
			return cpu;
		raw_spin_unlock(&q->lock);	/* CPU hotplug took it off meanwhile */
	}
	return waitq_join(st);
}

/*
 * Arm the running thread for a blocked wait: on a queue, UINV off (what is
 * posted from now on stays in PIR), and the UPID naming the wake vector
 * and the queue's CPU with ON and SN clear, so the next post sends the
 * wake vector there. The caller re-checks UIRR and PIR afterwards: a post
 * from before is there (a notification IPI still in flight meets UINV off
 * and only acknowledges; its bit is in PIR). False: no queue is up.
 */
static bool wait_arm(struct uintr_task *st)
{
	int cpu;

	preempt_disable();
	local_irq_disable();
	cpu = waitq_lock_own(st);
	if (cpu >= 0) {
		/*
		 * Under the queue's lock: CPU hotplug closing this queue comes
		 * before (the thread joins another) or after (it sets SN over
		 * what is written here, and wait_vector() sees wcpu < 0 before
		 * it sleeps), never in between.
		 */
		st->armed = true;
		uwrmsr(MSR_UINTR_MISC, misc_value(st));
		upid_point(st->recv->upid, st->wvec, cpu);
		raw_spin_unlock(&per_cpu_ptr(&uintr_waitq, cpu)->lock);
	}
	local_irq_enable();
	preempt_enable();
	return cpu >= 0;
}

/*
 * Leave the queue and restore the running receiver: UINV live, the UPID
 * naming UINV and this CPU with ON and SN clear, and PIR folded into UIRR
 * (as at switch-in), so what arrived meanwhile is delivered on the way
 * back to user mode.
 */
static void wait_disarm(struct uintr_task *st)
{
	struct uintr_waitq *q;
	u64 pending;
	int cpu;

	preempt_disable();
	local_irq_disable();
	cpu = READ_ONCE(st->wcpu);
	if (cpu >= 0) {
		q = per_cpu_ptr(&uintr_waitq, cpu);
		raw_spin_lock(&q->lock);
		if (st->wcpu == cpu) {	/* else CPU hotplug took it off */
			list_del_init(&st->wnode);
			q->n--;
			st->wcpu = -1;
		}
		raw_spin_unlock(&q->lock);
	}
	if (st->armed) {
		st->armed = false;
		uwrmsr(MSR_UINTR_MISC, misc_value(st));
		upid_point(st->recv->upid, uinv, smp_processor_id());
		pending = xchg(&st->recv->upid->pir, 0);
		if (pending)
			uwrmsr(MSR_UINTR_RR, urdmsr(MSR_UINTR_RR) | pending);
	}
	local_irq_enable();
	preempt_enable();
}

/*
 * Sleep until a post, a signal or @deadline. Every pass arms, then checks,
 * then sleeps (the Dekker pattern of the library's own waiter): a post
 * before the check is seen by it, a post after it finds ON clear and sends
 * the wake vector, whose handler wakes this thread (or makes schedule()
 * return at once). A wake with nothing pending (CPU hotplug, or a
 * spurious one) goes round again.
 */
static long wait_vector(struct uintr_task *st, ktime_t deadline)
{
	long ret;

	for (;;) {
		if (!wait_arm(st)) {
			wait_disarm(st);
			return wait_polled(st, deadline);
		}
		set_current_state(TASK_INTERRUPTIBLE);
		/*
		 * Taken off the queue (CPU hotplug) before the wake it sent
		 * could count: again, running (the next pass may poll, or
		 * return, and must not do so in TASK_INTERRUPTIBLE).
		 */
		if (READ_ONCE(st->wcpu) < 0) {
			__set_current_state(TASK_RUNNING);
			continue;
		}
		if (recv_pending(st) || signal_pending(current)) {
			ret = -EINTR;
			break;
		}
		if (ktime_compare(ktime_get(), deadline) >= 0) {
			ret = -ETIMEDOUT;
			break;
		}
		schedule_hrtimeout_range(&deadline, current->timer_slack_ns, HRTIMER_MODE_ABS);
	}
	__set_current_state(TASK_RUNNING);
	wait_disarm(st);
	return ret;
}

static long ioc_wait(void __user *arg)
{
	struct uintr_wait_args a;
	struct uintr_task *st;
	ktime_t deadline;

	if (copy_from_user(&a, arg, sizeof(a)))
		return -EFAULT;
	if (a.flags || a.reserved || a.usec > 1000000000ULL)
		return -EINVAL;
	st = task_get();
	if (!st || !st->recv)
		return -EINVAL;
	if (recv_pending(st) || signal_pending(current))
		return -EINTR;
	if (!a.usec)
		return -ETIMEDOUT;
	deadline = ktime_add_us(ktime_get(), a.usec);
	if (wake_by_vector())
		return wait_vector(st, deadline);
	return wait_polled(st, deadline);
}

#ifdef UIPC_UINTR_FAKE_HW
/*
 * The APIC id a notification goes to, read out of a UPID the way the CPU
 * reads it (SDM, "Posting a User Interrupt": the IPI's destination is
 * NDST[15:8] in xAPIC mode, all of NDST[31:0] in x2APIC mode), and not
 * with apic_ndst(): an encoding that the CPU would send elsewhere (the
 * wrong byte, or the xAPIC layout in x2APIC mode) then wakes nobody here
 * either, and the fake build's blocked waits time out.
 */
static u32 fake_ndst_apicid(u64 status)
{
	u32 ndst = (status & UPID_NDST_MASK) >> UPID_NDST_SHIFT;

	return x2apic_mode ? ndst : (ndst >> 8) & 0xff;
}

/* SENDUIPI as the CPU does it, on the calling thread's loaded table. */
static long ioc_fake_send(void __user *arg)
{
	struct uintr_uitt_entry *entries, e;
	struct uintr_upid *upid;
	u64 tt, misc, old;
	u32 index;
	long ret = 0;

	if (get_user(index, (u32 __user *)arg))
		return -EFAULT;
	/* Like one instruction: the table and UPID stay valid until this CPU is quiescent. */
	preempt_disable();
	tt = urdmsr(MSR_UINTR_TT);
	misc = urdmsr(MSR_UINTR_MISC);
	if (!(tt & 1)) {
		ret = -ENXIO;				/* #UD */
		goto out;
	}
	entries = (struct uintr_uitt_entry *)(unsigned long)(tt & ~1ULL);
	if (index > (u32)misc) {
		ret = -EINVAL;				/* #GP */
		goto out;
	}
	e.ctl = READ_ONCE(entries[index].ctl);
	smp_rmb();
	e.upid = READ_ONCE(entries[index].upid);
	if (!(e.ctl & UITT_VALID) || !e.upid) {
		ret = -EINVAL;				/* #GP */
		goto out;
	}
	upid = (struct uintr_upid *)(unsigned long)e.upid;
	set_bit((e.ctl >> UITT_VECTOR_SHIFT) & 63, (unsigned long *)&upid->pir);
	old = READ_ONCE(upid->status);
	do {
		if (old & (UPID_ON | UPID_SN))
			goto out;	/* no IPI */
	} while (!try_cmpxchg64(&upid->status, &old, old | UPID_ON));
	/*
	 * The IPI. For the notification vector nothing is to be done: the
	 * receiver finds the vector in PIR. For the wake vector of the CPU
	 * NDST names (that CPU's queue's), run its handler, as the interrupt
	 * would there. Any other vector, or an APIC id no online CPU has,
	 * reaches nobody (a stale one).
	 */
	{
		unsigned int cpu, nv = (old & UPID_NV_MASK) >> UPID_NV_SHIFT;
		unsigned long flags;

		for_each_online_cpu(cpu) {
			struct uintr_waitq *q = per_cpu_ptr(&uintr_waitq, cpu);

			if (cpu_physical_id(cpu) != fake_ndst_apicid(old))
				continue;
			if (nv && nv != uinv && nv == READ_ONCE(q->vector)) {
				local_irq_save(flags);
				uintr_wake_cpu(q);
				local_irq_restore(flags);
			}
			break;
		}
	}
out:
	preempt_enable();
	return ret;
}

/* What the calling thread's CPU holds now: the MSRs and UIF. */
static long ioc_fake_state(void __user *arg)
{
	struct uintr_fake_state fs = {};
	unsigned int i;

	preempt_disable();
	for (i = 0; i < ARRAY_SIZE(fs.msr); i++)
		fs.msr[i] = urdmsr(MSR_UINTR_RR + i);
	fs.uif = uif_test();
	preempt_enable();
	return copy_to_user(arg, &fs, sizeof(fs)) ? -EFAULT : 0;
}

/* STUI or CLUI, which any user thread may run. */
static long ioc_fake_stui(void __user *arg)
{
	u32 on;

	if (get_user(on, (u32 __user *)arg))
		return -EFAULT;
	preempt_disable();
	if (on)
		uif_set();
	else
		uif_clear();
	preempt_enable();
	return 0;
}

static long ioc_fake_waitq(void __user *arg)
{
	struct uintr_fake_waitq w = {};
	unsigned long flags;
	unsigned int cpu;

	for_each_possible_cpu(cpu) {
		struct uintr_waitq *q = per_cpu_ptr(&uintr_waitq, cpu);

		raw_spin_lock_irqsave(&q->lock, flags);
		w.longest = max(w.longest, q->n);
		w.total += q->n;
		raw_spin_unlock_irqrestore(&q->lock, flags);
	}
	return copy_to_user(arg, &w, sizeof(w)) ? -EFAULT : 0;
}

/* Delivery stand-in: take the calling receiver's pending vectors. */
static long ioc_fake_take(void __user *arg)
{
	struct uintr_task *st = task_get();
	u64 pending;

	if (!st || !st->recv)
		return -EINVAL;
	preempt_disable();
	pending = urdmsr(MSR_UINTR_RR) | xchg(&st->recv->upid->pir, 0);
	uwrmsr(MSR_UINTR_RR, 0);
	preempt_enable();
	return put_user(pending, (u64 __user *)arg);
}
#endif

static long uintr_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct uintr_file *uf = file->private_data;
	void __user *uarg = (void __user *)arg;

	switch (cmd) {
	case UINTR_IOC_INFO:
		return ioc_info(uarg);
	case UINTR_IOC_REGISTER_HANDLER:
	case UINTR_IOC_UNREGISTER_HANDLER:
	case UINTR_IOC_VECTOR_FD:
	case UINTR_IOC_REGISTER_SENDER:
	case UINTR_IOC_UNREGISTER_SENDER:
	case UINTR_IOC_WAIT:
	case UINTR_IOC_ATTACH_SENDER:
		break;
#ifdef UIPC_UINTR_FAKE_HW
	case UINTR_IOC_FAKE_SEND:
		return ioc_fake_send(uarg);
	case UINTR_IOC_FAKE_TAKE:
		return ioc_fake_take(uarg);
	case UINTR_IOC_FAKE_STATE:
		return ioc_fake_state(uarg);
	case UINTR_IOC_FAKE_STUI:
		return ioc_fake_stui(uarg);
	case UINTR_IOC_FAKE_WAITQ:
		return ioc_fake_waitq(uarg);
#endif
	default:
		return -ENOTTY;
	}
	if (!uintr_hw)
		return -EOPNOTSUPP;
	switch (cmd) {
	case UINTR_IOC_REGISTER_HANDLER:
		return ioc_register_handler(uarg);
	case UINTR_IOC_UNREGISTER_HANDLER:
		return ioc_unregister_handler(uarg);
	case UINTR_IOC_VECTOR_FD:
		return ioc_vector_fd(uarg);
	case UINTR_IOC_REGISTER_SENDER:
		return ioc_register_sender(uf, uarg);
	case UINTR_IOC_UNREGISTER_SENDER:
		return ioc_unregister_sender(uf, uarg);
	case UINTR_IOC_ATTACH_SENDER:
		return ioc_attach_sender(uf, uarg);
	default:
		return ioc_wait(uarg);
	}
}

/*
 * Close of any /dev/uintr fd in the closing thread's context. During exec
 * (the library opens the device O_CLOEXEC) or exit, drop the thread's state
 * at once, before it can return to user mode with the old handler address.
 * The mm check in the notifiers is the backstop when no such fd is open.
 */
static int uintr_flush(struct file *file, fl_owner_t id)
{
	struct uintr_task *st;

	if (!uintr_hw || !(current->in_execve || (current->flags & PF_EXITING)))
		return 0;
	st = task_find();
	if (st)
		task_teardown(st);
	return 0;
}

static int uintr_open(struct inode *inode, struct file *file)
{
	struct uintr_file *uf = kzalloc(sizeof(*uf), GFP_KERNEL_ACCOUNT);

	if (!uf)
		return -ENOMEM;
	mutex_init(&uf->lock);
	INIT_LIST_HEAD(&uf->tables);
	file->private_data = uf;
	return 0;
}

/* Threads that have the table loaded keep it alive past the last close. */
static int uintr_release(struct inode *inode, struct file *file)
{
	struct uintr_file *uf = file->private_data;
	struct uintr_uitt *t, *tmp;

	list_for_each_entry_safe(t, tmp, &uf->tables, node) {
		list_del(&t->node);
		uitt_put(t);
	}
	mutex_destroy(&uf->lock);
	kfree(uf);
	return 0;
}

static const struct file_operations uintr_fops = {
	.owner = THIS_MODULE,
	.open = uintr_open,
	.release = uintr_release,
	.unlocked_ioctl = uintr_ioctl,
	.flush = uintr_flush,
	.llseek = noop_llseek,
};

static struct miscdevice uintr_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "uintr",
	.fops = &uintr_fops,
	.mode = 0666,
};

/* ---- module ------------------------------------------------------------ */

#if UIPC_HAVE_ACK_VECTORS
/*
 * Does the IDT gate of @vec lead to the kernel's acknowledge-only handler?
 * Confirms at run time what the headers promised at build time. With FRED
 * there is no IDT to read; the build-time condition decides alone.
 */
static bool uintr_idt_is(unsigned int vec, const char *want)
{
	char name[KSYM_SYMBOL_LEN];
	struct desc_ptr idt;
	const gate_desc *g;

#ifdef UIPC_UINTR_FAKE_HW
	return true;	/* the test build never uses the vector */
#endif
#ifdef X86_FEATURE_FRED
	if (cpu_feature_enabled(X86_FEATURE_FRED))
		return true;
#endif
	store_idt(&idt);
	g = (const gate_desc *)idt.address + vec;
	sprint_symbol_no_offset(name, gate_offset(g));
	if (strcmp(name, want)) {
		pr_warn("IDT vector %#x leads to %s, not %s\n", vec, name, want);
		return false;
	}
	return true;
}

static bool uintr_vector_ack_only(unsigned int vec)
{
	if (uintr_idt_is(vec, vec == POSTED_INTR_NESTED_VECTOR ?
			 "asm_sysvec_kvm_posted_intr_nested_ipi" : "asm_sysvec_kvm_posted_intr_ipi"))
		return true;
	pr_warn("UINTR stays off\n");
	return false;
}
#endif

/*
 * What this kernel lacks, said at every load, with or without the
 * hardware: the interfaces Kbuild found missing (uipc_compat.h) and what
 * the module does instead.
 */
static void uintr_kernel_report(void)
{
#ifndef UIPC_UINTR_FAKE_HW
#if !UIPC_HAVE_CR4_UPDATE
	pr_warn("%s: CR4.UINTR cannot be set, UINTR stays off on this kernel\n",
		UIPC_WHY_CR4_UPDATE);
#endif
#if UIPC_OWN_WAKE
	pr_info("this kernel has what the own wake interrupt needs (x86 vector domain)%s%s\n",
		UIPC_HAVE_KVM_WAKEUP ? "" : "; no KVM wakeup vector fallback: ",
		UIPC_HAVE_KVM_WAKEUP ? "" : UIPC_WHY_KVM_WAKEUP);
#else
	pr_warn("no own wake interrupt on this kernel: %s\n", own_wake_missing());
#if UIPC_HAVE_ACK_VECTORS && !UIPC_HAVE_KVM_WAKEUP
	pr_warn("%s: no wakeup vector, blocked waits poll (wake=auto; wake=vector is refused)\n",
		UIPC_WHY_KVM_WAKEUP);
#endif
#endif
#endif
}

static bool uintr_hw_usable(void)
{
	if (!cpu_has_uintr()) {
		pr_info("no UINTR in CPUID.(7,0):EDX[5]; ioctls return -EOPNOTSUPP\n");
		return false;
	}
	if (uintr_pti_on()) {
		pr_warn("page-table isolation is on (boot with pti=off); UINTR stays off\n");
		return false;
	}
#if !UIPC_HAVE_CR4_UPDATE && !defined(UIPC_UINTR_FAKE_HW)
	return false;	/* said by uintr_kernel_report() */
#endif
#if UIPC_HAVE_ACK_VECTORS
	if (uinv != POSTED_INTR_NESTED_VECTOR && uinv != POSTED_INTR_VECTOR) {
		pr_warn("uinv=%#x is not %#x or %#x; UINTR stays off\n", uinv,
			POSTED_INTR_NESTED_VECTOR, POSTED_INTR_VECTOR);
		return false;
	}
	return uintr_vector_ack_only(uinv);
#else
	pr_warn("kernel without KVM's posted-interrupt vectors (CONFIG_KVM off): no acknowledge-only vector to borrow\n");
	return false;
#endif
}

/* ---- choosing how blocked waits are woken ------------------------------ */

#if UIPC_REAL_WAKE
/* Is kvm_intel loaded or built in? Its /sys/module entry, found without sysfs mounted. */
static bool kvm_intel_present(void)
{
	struct kobject *k = kset_find_obj(THIS_MODULE->mkobj.kobj.kset, "kvm_intel");

	if (!k)
		return false;
	kobject_put(k);
	return true;
}
#endif

/*
 * The wakeup vector was handed to a kvm_intel that is loading and not live
 * yet: if its init fails, the vector is taken back (wake_retake()). Under
 * wake_mutex.
 */
static bool wake_lent;

/*
 * Switch from KVM's vector to the poll: close every queue (waking its
 * waiters, who re-check and poll) and, when @release, hand KVM's wakeup
 * handler back before kvm_intel's init installs its own. kvm_intel never
 * finds ours. Nothing to do with the own interrupt: it is not KVM's.
 */
static void wake_give_up(bool release, const char *why)
{
	unsigned int cpu;

	mutex_lock(&wake_mutex);
	if (wake_src == UINTR_WAKE_SRC_KVM) {
		wake_lent = release;
		WRITE_ONCE(wake_src, UINTR_WAKE_SRC_POLL);
		for_each_possible_cpu(cpu)
			waitq_flush(cpu, 0);
#if UIPC_REAL_WAKE
		if (release)
			kvm_set_posted_intr_wakeup_handler(NULL);
#endif
		pr_warn("%s: blocked waits now poll every %u us\n", why, poll_us);
	}
	mutex_unlock(&wake_mutex);
}

/*
 * A kvm_intel whose init failed (VMX off in firmware, a udev coldplug
 * attempt on a machine without VMX) is going away without ever having been
 * live: its init has returned and nothing of it runs again, so the vector
 * is ours again. Not after a live kvm_intel: its exit, which runs after
 * this notification, hands the handler back; reload the shim then.
 */
static void wake_retake(void)
{
	unsigned int cpu;

	cpus_read_lock();	/* before wake_mutex, as in CPU online */
	mutex_lock(&wake_mutex);
	if (wake_lent && wake_src == UINTR_WAKE_SRC_POLL) {
		wake_lent = false;
#if UIPC_REAL_WAKE
		kvm_set_posted_intr_wakeup_handler(uintr_wake_handler);
#endif
		WRITE_ONCE(wake_src, UINTR_WAKE_SRC_KVM);
		for_each_online_cpu(cpu)
			waitq_flush(cpu, UINTR_KVM_WAKE_VECTOR);
		pr_info("kvm_intel did not load: blocked waits are woken by KVM's wakeup vector again\n");
	}
	mutex_unlock(&wake_mutex);
	cpus_read_unlock();
}

static int uintr_module_event(struct notifier_block *nb, unsigned long action, void *data)
{
	struct module *mod = data;

	if (strcmp(mod->name, "kvm_intel"))
		return NOTIFY_DONE;
	if (action == MODULE_STATE_COMING) {
		wake_give_up(true, "kvm_intel is loading and takes the wakeup vector");
	} else if (action == MODULE_STATE_LIVE) {
		wake_give_up(false, "kvm_intel has the wakeup vector");
		mutex_lock(&wake_mutex);
		wake_lent = false;	/* for good */
		mutex_unlock(&wake_mutex);
	} else if (action == MODULE_STATE_GOING) {
		wake_retake();
	}
	return NOTIFY_OK;
}

static struct notifier_block uintr_module_nb = {
	.notifier_call = uintr_module_event,
};

/*
 * The own interrupt: NULL when it is set up (one per possible CPU), else
 * why not, and its UINTR_WAKE_WHY_* in *@code.
 */
static const char *wake_own_setup(unsigned int *code)
{
#if UIPC_OWN_WAKE || defined(UIPC_UINTR_FAKE_HW)
	int ret = wake_irq_alloc();

	if (!ret)
		return NULL;
	*code = UINTR_WAKE_WHY_ALLOC;
	return "the kernel gave no wake interrupt for every CPU";
#else
	*code = UINTR_WAKE_WHY_KERNEL;
	return own_wake_missing();
#endif
}

/* KVM's wakeup vector: NULL when it is ours now, else why not. */
static const char *wake_kvm_setup(void)
{
#if UIPC_REAL_WAKE
	if (kvm_intel_present())
		return "kvm_intel is loaded and owns KVM's wakeup vector";
	if (!uintr_idt_is(UINTR_KVM_WAKE_VECTOR, "asm_sysvec_kvm_posted_intr_wakeup_ipi"))
		return "KVM's wakeup vector's IDT entry is not KVM's";
	kvm_set_posted_intr_wakeup_handler(uintr_wake_handler);
	return NULL;
#elif defined(UIPC_UINTR_FAKE_HW)
	return NULL;
#else
	return UIPC_HAVE_ACK_VECTORS ? UIPC_WHY_KVM_WAKEUP : "no KVM wakeup vector in this kernel";
#endif
}

/*
 * Pick the wake of blocked waits (the wake parameter), in the order own
 * interrupt, KVM's vector, poll, and say which and why. 0, or -EBUSY when
 * the parameter asks for an event-driven wake that cannot be had.
 */
static int wake_setup(void)
{
	bool want_own = strcmp(wake, "kvm") && strcmp(wake, "poll");
	bool want_kvm = strcmp(wake, "own") && strcmp(wake, "poll");
	const char *own_why = "wake=", *kvm_why = NULL;

	wake_why = UINTR_WAKE_WHY_PARAM;
	if (want_own) {
		own_why = wake_own_setup(&wake_why);
		if (!own_why) {
			wake_why = UINTR_WAKE_WHY_NONE;
			WRITE_ONCE(wake_src, UINTR_WAKE_SRC_OWN);
			pr_info("blocked waits are woken by the notification (own interrupt, one per CPU: uipc-wake)\n");
			return 0;
		}
		pr_warn("own wake interrupt: %s\n", own_why);
	}
	if (want_kvm) {
		kvm_why = wake_kvm_setup();
		if (!kvm_why) {
			WRITE_ONCE(wake_src, UINTR_WAKE_SRC_KVM);
			pr_info("blocked waits are woken by the notification (KVM's wakeup vector %#x; fallback: %s%s)\n",
				UINTR_KVM_WAKE_VECTOR, own_why, want_own ? "" : wake);
			return 0;
		}
		pr_warn("KVM's wakeup vector: %s\n", kvm_why);
	}
	if (strcmp(wake, "auto") && strcmp(wake, "poll")) {
		pr_warn("wake=%s: no such wake here; UINTR stays off\n", wake);
		return -EBUSY;
	}
	WRITE_ONCE(wake_src, UINTR_WAKE_SRC_POLL);
	if (!strcmp(wake, "poll"))
		pr_info("blocked waits poll every %u us (wake=poll)\n", poll_us);
	else
		pr_warn("blocked waits poll every %u us (fallback: no wake interrupt)\n", poll_us);
	return 0;
}

static void wake_teardown(void)
{
	mutex_lock(&wake_mutex);
#if UIPC_REAL_WAKE
	if (wake_src == UINTR_WAKE_SRC_KVM)
		kvm_set_posted_intr_wakeup_handler(NULL);
#endif
#if UIPC_OWN_WAKE || defined(UIPC_UINTR_FAKE_HW)
	if (wake_src == UINTR_WAKE_SRC_OWN)
		wake_irq_free();
#endif
	wake_src = UINTR_WAKE_SRC_POLL;
	mutex_unlock(&wake_mutex);
	synchronize_rcu();	/* a handler still running on another CPU has returned */
}

static int uintr_hw_init(void)
{
	unsigned int cpu;
	int ret;

	if (poll_us < 10 || poll_us > 10000)
		poll_us = 50;
	wait_queue_max = clamp(wait_queue_max, 1U, 64U);
	for_each_possible_cpu(cpu) {
		struct uintr_waitq *q = per_cpu_ptr(&uintr_waitq, cpu);

		raw_spin_lock_init(&q->lock);
		INIT_LIST_HEAD(&q->list);
		q->n = 0;
		q->vector = 0;
	}
	uintr_wq = alloc_workqueue("uipc_uintr", UIPC_WQ_FLAGS, 0);
	if (!uintr_wq)
		return -ENOMEM;
	ret = exec_hook_init();
	if (ret) {
		destroy_workqueue(uintr_wq);
		return ret;
	}
	ret = register_module_notifier(&uintr_module_nb);
	if (ret) {
		exec_hook_exit();
		destroy_workqueue(uintr_wq);
		return ret;
	}
	mutex_lock(&wake_mutex);
	ret = wake_setup();
	mutex_unlock(&wake_mutex);
	if (ret) {
		unregister_module_notifier(&uintr_module_nb);
		exec_hook_exit();
		destroy_workqueue(uintr_wq);
		return ret;
	}
	upid_cache = kmem_cache_create("uipc_uintr_upid", sizeof(struct uintr_upid), 64,
				       SLAB_ACCOUNT, NULL);
	if (!upid_cache) {
		ret = -ENOMEM;
		goto fail;
	}
	ret = cpuhp_setup_state(CPUHP_AP_ONLINE_DYN, "uipc/uintr:online", uintr_cpu_online,
				uintr_cpu_offline);
	if (ret < 0) {
		kmem_cache_destroy(upid_cache);
		goto fail;
	}
	uintr_cpuhp_state = ret;
	preempt_notifier_inc();
	return 0;
fail:
	unregister_module_notifier(&uintr_module_nb);
	wake_teardown();
	exec_hook_exit();
	destroy_workqueue(uintr_wq);
	return ret;
}

static void uintr_hw_exit(void)
{
	/* No thread holds state any more (each held a module reference); let the reaper finish. */
	irq_work_sync(&reap_irq_work);
	flush_work(&reap_work);
	rcu_barrier();		/* slot releases still waiting for their grace period */
	flush_delayed_work(&slots_release_work);	/* and those past it */
	destroy_workqueue(uintr_wq);	/* runs what is queued: the reaper */
	if (atomic_read(&live_objects))
		pr_err("leaked %d receivers/tables\n", atomic_read(&live_objects));
	preempt_notifier_dec();
	unregister_module_notifier(&uintr_module_nb);
	wake_teardown();
	cpuhp_remove_state(uintr_cpuhp_state);
	exec_hook_exit();
	kmem_cache_destroy(upid_cache);
}

static int __init uintr_init(void)
{
	int ret;

#ifdef UIPC_UINTR_FAKE_HW
	if (fake_refused()) {
		pr_err("this CPU has UINTR: load uipc_uintr, not the fake-hardware test build\n");
		return -ENODEV;
	}
#endif
	BUILD_BUG_ON(sizeof(struct uintr_upid) != 64);
	if (strcmp(wake, "auto") && strcmp(wake, "own") && strcmp(wake, "kvm") &&
	    strcmp(wake, "vector") && strcmp(wake, "poll")) {
		pr_err("wake=%s: expected auto, own, kvm, vector or poll\n", wake);
		return -EINVAL;
	}
	BUILD_BUG_ON(sizeof(struct uintr_uitt_entry) != 16);
#if UIPC_HAVE_ACK_VECTORS
	/* The default of the uinv parameter; re-check the handlers if this moves. */
	BUILD_BUG_ON(POSTED_INTR_NESTED_VECTOR != 0xf0);
	BUILD_BUG_ON(UINTR_KVM_WAKE_VECTOR != 0xf1);
#endif
	uintr_kernel_report();
	if (uintr_hw_usable()) {
		ret = uintr_hw_init();
		if (ret)
			pr_warn("enabling UINTR failed (%d); ioctls return -EOPNOTSUPP\n", ret);
		uintr_hw = !ret;
	}
	ret = misc_register(&uintr_misc);
	if (ret) {
		if (uintr_hw)
			uintr_hw_exit();
		return ret;
	}
#ifdef UIPC_UINTR_FAKE_HW
	pr_warn("TEST BUILD: UINTR hardware emulated by per-CPU variables; never use in production\n");
#endif
	pr_info("/dev/uintr ready (ABI %u, hardware %s)\n", UINTR_ABI_VERSION,
		uintr_hw ? "enabled" : "absent");
	return 0;
}

static void __exit uintr_exit(void)
{
	misc_deregister(&uintr_misc);
	if (uintr_hw)
		uintr_hw_exit();
}

module_init(uintr_init);
module_exit(uintr_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("uipc: Intel user interrupts (UINTR) for stock kernels via /dev/uintr");
MODULE_AUTHOR("uipc project");
