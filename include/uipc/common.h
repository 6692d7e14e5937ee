/* SPDX-License-Identifier: MIT */
#ifndef UIPC_COMMON_H
#define UIPC_COMMON_H

#include <stdint.h>
#include <stddef.h>

#ifdef __cplusplus
#define UIPC_BEGIN_DECLS extern "C" {
#define UIPC_END_DECLS   }
#else
#define UIPC_BEGIN_DECLS
#define UIPC_END_DECLS
#endif

#if defined(UIPC_BUILDING) || defined(__GNUC__)
#define UIPC_API __attribute__((visibility("default")))
#else
#define UIPC_API
#endif

/*
 * Deprecated names (doc/conventions.md lists them with their replacements)
 * stay declared and exported, so nothing breaks. Define UIPC_WARN_DEPRECATED
 * before including <uipc.h> to have the compiler point at every use.
 */
#if defined(UIPC_WARN_DEPRECATED) && defined(__GNUC__)
#define UIPC_DEPRECATED(msg) __attribute__((deprecated(msg)))
#else
#define UIPC_DEPRECATED(msg)
#endif

/** Number of notification vectors of one receiver (as UINTR's 64 user vectors). */
#define UIPC_VECTORS 64u

/** Wait forever (any negative timeout means the same). */
#define UIPC_TIMEOUT_INFINITE ((int64_t)-1)

#endif
