/* SPDX-License-Identifier: MIT */
/**
 * @file uipc.h
 * @brief uipc: user-interrupt IPC. Include this header only.
 *
 * All functions return 0 (or a non-negative count or fd) on success and a
 * negative errno value on failure; output parameters (named ret_*) are left
 * untouched on failure; every *_free() accepts NULL.
 */
#ifndef UIPC_H
#define UIPC_H

#include <uipc/version.h>
#include <uipc/common.h>
#include <uipc/notify.h>
#include <uipc/chan.h>
#include <uipc/topo.h>

#endif
