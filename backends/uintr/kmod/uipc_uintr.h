/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Internal declarations of the uipc UINTR kernel shim (/dev/uintr).
 *
 * Hardware layout (Intel SDM, UINTR chapter): MSRs, UPID and UITT entry.
 * Linux 6.1 defines none of these, so they live here.
 */
#ifndef UIPC_UINTR_KMOD_H
#define UIPC_UINTR_KMOD_H

#include <linux/types.h>
#include <linux/kref.h>
#include <linux/preempt.h>
#include <linux/llist.h>
#include <linux/mutex.h>
#include <linux/spinlock.h>

#define UINTR_CPUID_EDX_BIT	5	/* CPUID.(EAX=7,ECX=0):EDX[5] */
#define UINTR_CR4_BIT		(1UL << 25)

#define MSR_UINTR_RR		0x985	/* UIRR: 64 pending user vectors */
#define MSR_UINTR_HANDLER	0x986
#define MSR_UINTR_STACKADJUST	0x987
#define MSR_UINTR_MISC		0x988	/* 39:32 UINV, 31:0 UITTSZ */
#define MSR_UINTR_PD		0x989	/* UPID address */
#define MSR_UINTR_TT		0x98a	/* UITT address | valid */

#define UINTR_MISC_UINV_SHIFT	32
#define UINTR_RED_ZONE		128	/* STACKADJUST when no alternate stack */

/* UPID status word (first 8 bytes). */
#define UPID_ON			BIT_ULL(0)
#define UPID_SN			BIT_ULL(1)
#define UPID_NV_SHIFT		16
#define UPID_NV_MASK		(0xffULL << UPID_NV_SHIFT)
#define UPID_NDST_SHIFT		32
#define UPID_NDST_MASK		(0xffffffffULL << UPID_NDST_SHIFT)

/* The architectural posted-interrupt descriptor; 64-byte aligned. */
struct uintr_upid {
	u64 status;	/* ON, SN, NV, NDST */
	u64 pir;	/* posted user vectors */
} __aligned(64);

/* One UITT entry: bit 0 valid, bits 15:8 user vector; then the UPID address. */
struct uintr_uitt_entry {
	u64 ctl;
	u64 upid;
};

#define UITT_VALID		BIT_ULL(0)
#define UITT_VECTOR_SHIFT	8

/*
 * A receiver's UPID with its lifetime. References: the receiving task while
 * registered, every vector fd, every UITT entry that targets it. The
 * hardware may write the UPID until the last of them is gone, so it is freed
 * only then.
 */
struct uintr_receiver {
	struct kref ref;
	struct uintr_upid *upid;
	spinlock_t lock;	/* vectors_used, dead */
	u64 vectors_used;	/* vectors handed out as fds */
	bool dead;		/* receiver unregistered or gone */
};

/*
 * A sender table (UITT), one per process and open file of /dev/uintr, so
 * every thread of a process that uses the fd sends through the same indices,
 * and a forked child (sharing the open file) starts with a table of its own,
 * as it would with the RFC's syscalls. References: the open file, and every
 * thread that has it loaded in its TT MSR.
 */
struct uintr_uitt {
	struct kref ref;
	struct list_head node;			/* in uintr_file.tables */
	struct pid *owner;			/* thread group it belongs to */
	u64 exec_id;				/* and its image (self_exec_id) */
	struct mutex lock;			/* entries and recv */
	struct uintr_uitt_entry *entries;	/* UINTR_UITT_SIZE, page-aligned */
	struct uintr_receiver *recv[];		/* reference held per valid entry */
};

/* An open file of /dev/uintr. */
struct uintr_file {
	struct mutex lock;		/* tables */
	struct list_head tables;	/* one per process that registered senders */
};

/* The anon-inode file behind a vector fd. */
struct uintr_vector {
	struct uintr_receiver *recv;	/* one reference */
	u32 vector;
};

/*
 * Per-thread state. Found through the thread's own preempt-notifier list
 * (no global list); touched only by its thread, except the notifier
 * callbacks which the scheduler runs on that thread's behalf, and the
 * blocked-wait fields below, which the wake handler and CPU hotplug read
 * under the lock of the CPU's wait queue.
 */
struct uintr_task {
	struct preempt_notifier pn;
	struct mm_struct *mm;		/* compared only, with exec_id: exec/exit detection */
	u64 exec_id;			/* the thread's self_exec_id at creation */
	bool active;			/* false once exec or exit was seen */

	/* receiver role */
	struct uintr_receiver *recv;	/* NULL: not a receiver */
	u64 handler;
	u64 stack_adjust;
	u64 uirr;			/* saved UIRR while switched out */
	bool uif;			/* saved UIF while switched out */

	/* sender role */
	struct uintr_uitt *uitt;	/* one reference; NULL: not a sender */

	/*
	 * Blocked in uintr_wait with the wake vector (wait_vector()). While
	 * armed, the UPID names the wake vector and the CPU wcpu, SN stays
	 * clear even when the thread is switched out, and UINV is off in
	 * the MSRs. The thread is on wcpu's wait queue while wcpu >= 0; only
	 * the thread puts itself on a queue, and it or CPU hotplug takes it
	 * off (hotplug sets wcpu to -1 and wakes it).
	 */
	bool armed;
	int wcpu;
	unsigned int wvec;		/* the queue's wake vector, while wcpu >= 0 */
	struct list_head wnode;		/* in uintr_waitq.list */
	struct task_struct *task;	/* the thread, for the wake handler */

	struct llist_node dead;		/* on the reap list after the thread died */
};

/*
 * The waiters of one CPU: threads blocked in uintr_wait whose UPID sends
 * the wake vector to this CPU. The wake handler walks only this list.
 */
struct uintr_waitq {
	raw_spinlock_t lock;
	struct list_head list;
	unsigned int n;		/* on the list: at most wait_queue_max */
	/*
	 * The vector its waiters' UPIDs name (NV), with this CPU as NDST; 0:
	 * the queue takes no waiters (CPU offline, no wake interrupt here,
	 * or the poll). The own interrupt's vector differs between CPUs.
	 */
	unsigned int vector;
};

#endif
