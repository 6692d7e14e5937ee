// SPDX-License-Identifier: GPL-2.0
/* uipc_uintr_fake.ko: the shim with emulated UINTR hardware, for CI only (see uipc_uintr_fake.h). */
#define UIPC_UINTR_FAKE_HW 1
#include "uipc_uintr.c"
