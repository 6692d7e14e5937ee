/* SPDX-License-Identifier: GPL-2.0 */
/*
 * UIPC_UINTR_FAKE_HW: per-CPU stand-ins for the UINTR MSRs, CR4.UINTR and
 * UIF, so that uipc_uintr_fake.ko (CI only) runs the module's bookkeeping
 * on CPUs without UINTR. No MSR, CR4 or UINTR instruction is touched.
 * Included by uipc_uintr.c in place of the hardware accessors.
 */
struct fake_cpu {
	u64 msr[6];	/* MSR_UINTR_RR .. MSR_UINTR_TT */
	bool uif;
	bool cr4;
};

static DEFINE_PER_CPU(struct fake_cpu, fake_cpu);

/* Callers have IRQs off, as for the real MSRs; check that they do. */
static struct fake_cpu *fake_this(void)
{
	lockdep_assert_preemption_disabled();
	return this_cpu_ptr(&fake_cpu);
}

static void uwrmsr(u32 msr, u64 val)
{
	WARN_ON_ONCE(msr < MSR_UINTR_RR || msr > MSR_UINTR_TT);
	WARN_ON_ONCE(!fake_this()->cr4);
	fake_this()->msr[msr - MSR_UINTR_RR] = val;
}

/*
 * The CPU raises #GP on a non-canonical address in HANDLER, STACKADJUST, PD
 * or TT: 48 bits with 4-level paging, 57 with 5-level (QEMU's -cpu max).
 */
static int uwrmsr_safe(u32 msr, u64 val)
{
	unsigned int shift = 64 - (pgtable_l5_enabled() ? 57 : 48);

	if (msr != MSR_UINTR_RR && msr != MSR_UINTR_MISC && (u64)((s64)(val << shift) >> shift) != val)
		return -EIO;
	uwrmsr(msr, val);
	return 0;
}

static u64 urdmsr(u32 msr)
{
	WARN_ON_ONCE(msr < MSR_UINTR_RR || msr > MSR_UINTR_TT);
	return fake_this()->msr[msr - MSR_UINTR_RR];
}

static void ucr4(bool on)
{
	fake_this()->cr4 = on;
}

static bool uif_test(void)
{
	return fake_this()->uif;
}

static void uif_clear(void)
{
	fake_this()->uif = false;
}

static void uif_set(void)
{
	fake_this()->uif = true;
}

static bool cpu_has_uintr(void)
{
	return true;
}

/*
 * On a CPU that really has UINTR the library would trust this build and
 * execute SENDUIPI with no table loaded: refuse to load there.
 */
static bool fake_refused(void)
{
	unsigned int a, b, c, d;

	if (boot_cpu_data.cpuid_level < 7)
		return false;
	cpuid_count(7, 0, &a, &b, &c, &d);
	return d & BIT(UINTR_CPUID_EDX_BIT);
}

#define uintr_pti_on() false
