// SPDX-License-Identifier: GPL-2.0
/*
 * Test only, never install: a module named kvm_intel that loads and does
 * nothing. The uipc shim watches module loads by name, so with this one
 * live it takes the same paths as with the real kvm_intel live (which
 * cannot load under QEMU's TCG: no VMX). scripts/kmod-ci.sh loads it for
 * tests/regress/kmod-kvm-intel-live.c.
 */
#include <linux/init.h>
#include <linux/module.h>
#include <linux/printk.h>

static int __init standin_init(void)
{
	pr_info("stand-in (uipc test): a kvm_intel that does nothing is live\n");
	return 0;
}

static void __exit standin_exit(void)
{
}

module_init(standin_init);
module_exit(standin_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("uipc test stand-in named kvm_intel (does nothing)");
