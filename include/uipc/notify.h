/* SPDX-License-Identifier: MIT */
/**
 * @file uipc/notify.h
 * @brief Contexts, receivers, senders: the notification core of uipc.
 *
 * A receiver (uipc_rx) owns a descriptor with 64 pending-vector bits, laid out
 * like the UINTR posted-interrupt descriptor. Senders (uipc_tx) are opened
 * on one vector of a receiver from a capability file descriptor, which may
 * be handed to another process (uipc_cap_send()/uipc_cap_recv()).
 *
 * Names and ownership follow doc/conventions.md: *_new() makes an object
 * from one in this process, *_open() from a capability fd; *_cap() returns
 * a new capability fd the caller owns, *_fd() a borrowed one; every object
 * holds a reference on what it uses, so *_free() may come in any order.
 *
 * Coalescing: several notifies of one vector before the receiver looks are one
 * pending bit. Use channels (uipc/chan.h) for counted or data-carrying delivery.
 *
 * Threading: a receiver is used by one thread at a time (its waits, polls and
 * arms); a sender may be shared by any number of threads and processes. On
 * futex and eventfd a receiver may move between threads (made on one, used
 * by another after a happens-before); signal's handler mode and uintr tie it
 * to the creating thread (uipc(7), Threads).
 *
 * Resources (uipc(7), RESOURCES): a receiver holds 1 fd (2 on eventfd and
 * signal) plus 1 per live capability (each is a socket pair of its own; on
 * uintr also the kernel's fd per vector in use); a sender 1 (2 on eventfd
 * and signal), none when made by uipc_tx_new() on futex and eventfd (nor a
 * capability); each capability is 1 fd until its holder closes it.
 *
 * Syscalls (uipc(7), SYSCALLS PER OPERATION): a notify to an awake receiver
 * makes none; a kick one; on eventfd its acknowledgement one, and a drain or
 * arm that finds nothing none (one drain read once a capability was handed
 * out).
 *
 * fork() (uipc(7), FORK): in a child, receivers, channel ends and producer
 * ends inherited from the parent return -ECHILD from every call but their
 * *_free(), which releases the child's copy only; senders and contexts work.
 */
#ifndef UIPC_NOTIFY_H
#define UIPC_NOTIFY_H

#include <uipc/common.h>

UIPC_BEGIN_DECLS

/** Library context: the backend choice and per-process state. */
typedef struct uipc_ctx uipc_ctx;
/** Receiver endpoint: 64 vectors, one descriptor. */
typedef struct uipc_rx uipc_rx;
/** Sender handle, bound to one vector of one receiver. */
typedef struct uipc_tx uipc_tx;

/**
 * How a blocked receiver is woken. Later releases may add backends:
 * iterate with uipc_backend_name(), which returns NULL past the last one.
 */
enum uipc_backend {
	UIPC_BACKEND_AUTO = 0, /**< uintr if usable, else futex (eventfd for pollable receivers) */
	UIPC_BACKEND_FUTEX,    /**< futex on the descriptor's status word */
	UIPC_BACKEND_EVENTFD,  /**< eventfd write/read; receivers have a pollable fd */
	UIPC_BACKEND_SIGNAL,   /**< real-time signal to the receiver thread (handler mode) */
	UIPC_BACKEND_UINTR,    /**< Intel user interrupts (SENDUIPI, uintr_wait) */
};

/**
 * Create a context.
 *
 * @param backend NULL or "auto" to let the library choose (the environment
 *        variable UIPC_BACKEND, when set, names the backend instead); otherwise
 *        a backend name ("futex", "eventfd", "signal", "uintr"), which takes
 *        precedence over the environment.
 * @return 0; -EINVAL for an unknown name; -EOPNOTSUPP when the named backend
 *         is not built or not usable on this machine (the reason goes to
 *         the log function, see uipc_set_log(), and is available from
 *         uipc_backend_probe()); -ENOMEM.
 *
 * The environment is read with secure_getenv(): a setuid program ignores
 * UIPC_BACKEND.
 */
UIPC_API int uipc_ctx_new(const char *backend, uipc_ctx **ret_ctx);

/** Severity of a message to the log function (the syslog(3) levels). */
enum uipc_log_level {
	UIPC_LOG_ERR = 3,     /**< an operation failed */
	UIPC_LOG_WARNING = 4, /**< a setting was ignored or refused (a bad UIPC_BACKEND) */
	UIPC_LOG_INFO = 6,    /**< why a backend cannot run here, ... */
	UIPC_LOG_DEBUG = 7,
};

/** A log function: msg is one line without its newline, valid during the call. */
typedef void (*uipc_log_fn)(int level, const char *msg, void *userdata);

/**
 * Where the library's messages for humans go. The library never writes to
 * stderr on its own: errors are reported by return values, and the reasons
 * behind some of them (a UIPC_BACKEND naming a backend that cannot run
 * here) go to fn, called with userdata on the thread that hit them, or,
 * with no function set, to stderr only when the environment variable
 * UIPC_DEBUG is set. NULL removes the function. Process-wide; any thread
 * may call it. Since 0.2.
 */
UIPC_API void uipc_set_log(uipc_log_fn fn, void *userdata);

/** Drop the caller's reference; receivers and senders keep the context alive. */
UIPC_API void uipc_ctx_free(uipc_ctx *ctx);

/** Name of the backend this context gives new receivers ("futex", ...). */
UIPC_API const char *uipc_ctx_backend_name(const uipc_ctx *ctx);

/** Name of a backend id, or NULL for an invalid id. */
UIPC_API const char *uipc_backend_name(enum uipc_backend backend);

/**
 * Is a backend built and usable here?
 *
 * @param why if not NULL, receives a one-line human-readable reason (always
 *        NUL-terminated, truncated to len).
 * @return 0 when usable; -EOPNOTSUPP (not built, or the machine lacks it),
 *         -EINVAL (bad id).
 */
UIPC_API int uipc_backend_probe(enum uipc_backend backend, char *why, size_t len);

/* ------------------------------------------------------------------------ */
/* Receivers                                                                */

/** Receiver flags for uipc_rx_new(). */
enum uipc_rx_flags {
	/** The receiver needs uipc_rx_fd() (epoll): auto picks the eventfd backend. */
	UIPC_RX_POLLABLE = 1u << 0,
};

/**
 * Create a receiver owned by the calling thread.
 *
 * The descriptor lives in a sealed memfd, so the receiver can be notified
 * from other processes. Returns -ENOMEM, -EMFILE/-ENFILE on resource
 * exhaustion (nothing is leaked), -EOPNOTSUPP if UIPC_RX_POLLABLE is asked of
 * a context forced to a backend without a pollable fd.
 */
UIPC_API int uipc_rx_new(uipc_ctx *ctx, unsigned flags, uipc_rx **ret_rx);

/**
 * Drop the caller's reference on a receiver. Channels on it hold their own
 * references: the receiver is destroyed when the last of them is freed
 * (before 0.2, a channel had to be freed first). Then senders opened on it
 * get -EPIPE from their next uipc_tx_notify() or uipc_tx_check(). Accepts
 * NULL.
 */
UIPC_API void uipc_rx_free(uipc_rx *rx);

/** Backend name of this receiver. */
UIPC_API const char *uipc_rx_backend_name(const uipc_rx *rx);

/** Spin policy before a receiver blocks. */
enum uipc_spin_mode {
	/**
	 * Default. The budget adapts to the observed gaps between wakeups, from
	 * 0 up to budget_ns (0 selects UIPC_SPIN_DEFAULT_MAX_NS): one wait never
	 * spins longer than that bound. The spin offers the CPU (sched_yield())
	 * after 2 us, and stops when that shows the CPU is shared with another
	 * runnable thread; it does not spin at all while more threads are
	 * runnable than the machine has CPUs (/proc/loadavg, read at most
	 * every 4 ms): it never holds a CPU the sender, or anyone, needs.
	 */
	UIPC_SPIN_ADAPTIVE = 0,
	/** Never spin: arm and block at once. */
	UIPC_SPIN_NONE,
	/** Always spin exactly budget_ns before blocking, never yielding: for a CPU of its own. */
	UIPC_SPIN_FIXED,
};

/** Upper bound of the adaptive spin of one wait, in nanoseconds (50 us). */
#define UIPC_SPIN_DEFAULT_MAX_NS 50000u

/** Largest accepted spin budget (10 ms): longer budgets are -EINVAL. */
#define UIPC_SPIN_MAX_NS 10000000u

/** Set the receiver's spin policy; -EINVAL for an unknown mode or a budget too large. */
UIPC_API int uipc_rx_set_spin(uipc_rx *rx, enum uipc_spin_mode mode, uint64_t budget_ns);

/**
 * Create a capability for one vector, like uintr_create_fd(): whoever holds
 * the returned fd can open a sender on that vector (uipc_tx_open()), in
 * this process or, after uipc_cap_send(), in another one. The fd is
 * O_CLOEXEC and owned by the caller (close() it). Since 0.2; 0.1 called it
 * uipc_rx_vector_fd().
 *
 * uintr: the kernel ties a vector to the thread that registers it, so the
 * first capability of each vector must be made on the receiver's thread;
 * later ones may come from any thread.
 *
 * @return the fd; -EINVAL for vector >= 64; -EPERM (uintr: first one, not
 *         on the receiver's thread); -EMFILE/-ENFILE/-ENOMEM.
 */
UIPC_API int uipc_rx_cap(uipc_rx *rx, unsigned vector);

/** 0.1 name of uipc_rx_cap(). Deprecated; kept as an alias. */
UIPC_API int uipc_rx_vector_fd(uipc_rx *rx, unsigned vector) UIPC_DEPRECATED("use uipc_rx_cap()");

/**
 * Wait for notifications.
 *
 * Takes and clears every pending vector. Spins per the spin policy, then
 * blocks in the backend. Safe against lost wakeups: a notify that completes
 * before or during the wait is seen by it or by the next one.
 *
 * @param timeout_ns 0 polls, a negative value waits forever.
 * @param ret_mask receives the non-zero mask of vectors that were pending.
 * @return 0; -EAGAIN when nothing is pending and timeout_ns is 0 (0.1 said
 *         -ETIMEDOUT there: programs built against 0.1 still get that);
 *         -ETIMEDOUT when a wait with a timeout ran out; -EINTR when a
 *         signal interrupted the block; -EINVAL (NULL arguments); -EBUSY
 *         while a handler is installed, or when timeout_ns is not 0 and the
 *         receiver is armed for an event loop (uipc_rx_arm() without
 *         uipc_rx_drain() yet: the loop owns the arming; a poll is fine);
 *         -EPERM (uintr: not on the receiver's thread, which the kernel ties
 *         the vectors to); -ECHILD (a receiver inherited through fork()).
 */
UIPC_API int uipc_rx_wait(uipc_rx *rx, int64_t timeout_ns, uint64_t *ret_mask);

/** Most receivers one uipc_rx_wait_any() takes (futex_waitv()'s own limit is 128). */
#define UIPC_RX_WAIT_ANY_MAX 64

/**
 * Wait on several receivers at once: one thread, no fd of its own per
 * receiver. Since 0.3.
 *
 * Takes and clears what is pending on every receiver of the set, as
 * uipc_rx_wait() does on one, with the same guarantees: it spins (the spin
 * policy of rxs[0]), arms every receiver, looks at all of them again and
 * sleeps until one is kicked, then disarms and acknowledges them all; a
 * notify that completes before or during the wait is seen by it or by the
 * next wait that includes its receiver. The set may change freely from
 * one wait to the next: a receiver left out keeps its pending vectors.
 *
 * How it sleeps: futex receivers in one futex_waitv() (Linux 5.16 and
 * later), eventfd receivers in one ppoll() over their fds. A set of one
 * receiver is uipc_rx_wait() and works on every backend and kernel.
 *
 * @param rxs n distinct receivers of one backend (their contexts may
 *        differ), each usable by uipc_rx_wait() from this thread.
 * @param n 1 to UIPC_RX_WAIT_ANY_MAX.
 * @param timeout_ns 0 polls, a negative value waits forever; as
 *        uipc_rx_wait(), a notify that completed before the deadline is
 *        returned, never -ETIMEDOUT beside it.
 * @param ret_masks n masks: ret_masks[i] receives the vectors that were
 *        pending on rxs[i] (0 for a receiver with nothing). Untouched on
 *        failure.
 * @return the number of receivers with a non-zero mask (1 to n); -EAGAIN
 *         (nothing pending, timeout_ns 0); -ETIMEDOUT; -EINTR; -EINVAL
 *         (a NULL argument or receiver, n of 0 or above
 *         UIPC_RX_WAIT_ANY_MAX, a receiver twice, receivers of different
 *         backends); -ECHILD (a receiver inherited through fork()); -EBUSY
 *         (a receiver in handler mode, or, when timeout_ns is not 0, armed
 *         for an event loop); -EOPNOTSUPP (more than one receiver on the
 *         signal or uintr backend, which have no such wait; or futex
 *         receivers that would have to sleep on a kernel without
 *         futex_waitv(): what is pending is still returned, and a poll
 *         works); -EPERM (uintr, a set of one: as uipc_rx_wait()).
 */
UIPC_API int uipc_rx_wait_any(uipc_rx *const *rxs, unsigned n, int64_t timeout_ns,
                              uint64_t *ret_masks);

/** Non-blocking wait: 0 and the mask, or -EAGAIN when nothing is pending. */
UIPC_API int uipc_rx_poll(uipc_rx *rx, uint64_t *ret_mask);

/* Event-loop integration --------------------------------------------------- */

/**
 * A file descriptor that polls readable (EPOLLIN) when an armed receiver is
 * notified. Borrowed: the receiver owns it, do not close it (names ending
 * in _fd return borrowed fds, names ending in _cap new owned ones).
 * @return the fd; -EOPNOTSUPP when the receiver's backend has none (create
 *         it with UIPC_RX_POLLABLE).
 */
UIPC_API int uipc_rx_fd(uipc_rx *rx);

/**
 * Arm before sleeping in epoll_wait(): from now on, notifies make uipc_rx_fd()
 * readable. Arming resets the whole status word, whatever a peer stored in
 * it. Until uipc_rx_drain(), blocking calls on the receiver (uipc_rx_wait()
 * with a timeout, a blocking channel receive) return -EBUSY; calling arm
 * again is a no-op.
 * @return 0; -EAGAIN when something is already pending (do not sleep: the
 *         fd may not fire for it; call uipc_rx_drain()); -EOPNOTSUPP (no pollable
 *         fd, and no uipc_rx_futex() asked on a futex receiver); -EBUSY
 *         (handler mode); -ECHILD (inherited through fork()).
 */
UIPC_API int uipc_rx_arm(uipc_rx *rx);

/**
 * Disarm after epoll_wait() and take what is pending (the mask may be 0 after
 * a spurious wakeup). Notifies are syscall-free again until the next arm.
 * The fd's readiness is consumed: a kick announced before the drain but
 * landing after it is consumed by the next drain, so an armed idle receiver
 * never leaves the fd readable (an event loop does not spin). Call it after
 * every sleep, whether the fd fired or not: a notify while the loop was
 * awake left its bit here without making the fd readable. No syscall when
 * nothing is pending and the receiver handed out no capability.
 * @return 0; -EOPNOTSUPP; -ECHILD (inherited through fork()).
 */
UIPC_API int uipc_rx_drain(uipc_rx *rx, uint64_t *ret_mask);

/**
 * The futex word of a futex receiver, for an event loop that sleeps on a
 * futex itself instead of an fd: io_uring's IORING_OP_FUTEX_WAIT (Linux
 * 6.7 and later), examples/uring-uipc.h. Since 0.3.
 *
 * After this call uipc_rx_arm() and uipc_rx_drain() take the receiver
 * (before it they say -EOPNOTSUPP on the futex backend, as in 0.2). The
 * loop arms with uipc_rx_arm() (-EAGAIN: do not sleep, drain), waits on
 * *ret_word while it holds *ret_armed, and drains after every wake or
 * sleep, as with uipc_rx_fd(). The word is a shared 32-bit futex (senders
 * in other processes wake it): wait without FUTEX_PRIVATE_FLAG or
 * FUTEX2_PRIVATE. Never write it. A notify to an armed receiver changes
 * the word and wakes its waiters; one to a drained receiver costs no
 * syscall. Before a blocking uipc_rx_wait() on the receiver, cancel such
 * a wait.
 *
 * @param ret_word the word (in the receiver's shared descriptor; valid
 *        until uipc_rx_free()).
 * @param ret_armed the value the word holds while the receiver is armed
 *        and nothing came.
 * @return 0; -EOPNOTSUPP (the receiver's backend does not sleep on a futex:
 *         eventfd, signal, uintr; use uipc_rx_fd()); -EINVAL (NULL
 *         arguments); -ECHILD (inherited through fork()).
 */
UIPC_API int uipc_rx_futex(uipc_rx *rx, const uint32_t **ret_word, uint32_t *ret_armed);

/* Handler mode --------------------------------------------------------------- */

/**
 * Handler called with the vectors that were pending. It runs on the receiver
 * thread asynchronously, interrupting whatever that thread was doing (a
 * user-interrupt or signal handler): it may only call async-signal-safe
 * functions and uipc_tx_notify(); it must not call into the same receiver
 * except uipc_rx_mask()/uipc_rx_unmask().
 */
typedef void (*uipc_handler_fn)(uipc_rx *rx, uint64_t mask, void *userdata);

/**
 * Enter handler mode (fn != NULL) or leave it (fn == NULL). Call it from the
 * thread that created the receiver: that thread is the one interrupted.
 * @return 0; -EOPNOTSUPP when the backend has no handler mode (futex,
 *         eventfd: use the signal or uintr backend); -EPERM from another
 *         thread; -ENOSPC (signal) when every handler slot of the process
 *         is taken; -EINVAL.
 */
UIPC_API int uipc_rx_set_handler(uipc_rx *rx, uipc_handler_fn fn, void *userdata);

/** Defer handler delivery (clui / a flag the signal handler obeys); notifies stay pending. */
UIPC_API int uipc_rx_mask(uipc_rx *rx);
/** Resume handler delivery (stui / clear the flag); pending vectors are delivered now. */
UIPC_API int uipc_rx_unmask(uipc_rx *rx);

/* ------------------------------------------------------------------------ */
/* Senders                                                                  */

/**
 * Open a sender on the vector a capability fd names. The fd is not
 * consumed (close it when done). Validates everything it reads from the fd
 * and the shared descriptor. Since 0.2; 0.1 called it uipc_tx_connect().
 *
 * @return 0; -EBADF (not an open fd); -EINVAL (an fd that is not a uipc
 *         vector capability); -EPROTONOSUPPORT (the capability of a
 *         receiver whose uipc release lays out shared memory differently);
 *         -EPIPE (the receiver is gone); -EOPNOTSUPP (the receiver's
 *         backend is not built here); -EMFILE/-ENOMEM.
 */
UIPC_API int uipc_tx_open(uipc_ctx *ctx, int cap_fd, uipc_tx **ret_tx);

/** 0.1 name of uipc_tx_open(). Deprecated; kept as an alias. */
UIPC_API int uipc_tx_connect(uipc_ctx *ctx, int cap_fd, uipc_tx **ret_tx)
    UIPC_DEPRECATED("use uipc_tx_open()");

/** Same-process shortcut: a sender for one vector of rx. On futex and
 * eventfd it holds no fd and no capability: it shares the receiver's state
 * (and, on eventfd, kicks without the O_NONBLOCK check while the receiver
 * has handed out no capability); it learns the receiver's free from a flag
 * in a shared anonymous page only the receiver's process and its fork
 * children map, and in a fork child also the receiver's process' exit. uintr: see uipc_rx_cap() for the first
 * sender of a vector (-EPERM). */
UIPC_API int uipc_tx_new(uipc_rx *rx, unsigned vector, uipc_tx **ret_tx);

/** Disconnect and free a sender. Accepts NULL. */
UIPC_API void uipc_tx_free(uipc_tx *tx);

/** The vector this sender posts. */
UIPC_API unsigned uipc_tx_vector(const uipc_tx *tx);

/**
 * Post the sender's vector. While the receiver is awake this is one atomic
 * OR and no syscall; a blocked receiver is kicked exactly once. A vector
 * that is still pending writes no shared memory, but costs a full fence
 * and two loads of the descriptor line (see below): not a single load.
 * Async-signal-safe.
 *
 * Memory ordering (uipc(7), MEMORY ORDERING): what the caller stored before
 * the notify is visible to the receiving thread after the call that returns
 * this vector's bit (uipc_rx_wait(), uipc_rx_poll(), uipc_rx_drain(), the
 * handler's mask):
 *  - the notify sets the bit: its OR is a seq_cst read-modify-write and the
 *    receiver's take a seq_cst exchange that reads it, so the notify
 *    synchronizes with the take and every earlier store of the sender,
 *    atomic or plain, happens before the receiver's later reads;
 *  - the bit is still pending: the notify writes nothing to synchronize
 *    with. It issues atomic_thread_fence(memory_order_seq_cst) and loads
 *    the pending word again; the fence keeps the earlier stores from being
 *    passed by that load (without it a store buffer would let the receiver
 *    take the bit, miss the data and sleep), and since the load still sees
 *    the bit, the receiver's take, and its reads after it, come later in
 *    the single seq_cst order.
 * A counter or flag of the caller's own is covered on both paths by the C11
 * model when it is an atomic object, written before the notify with any
 * memory order and read by the receiver with memory_order_seq_cst (or
 * after atomic_thread_fence(memory_order_seq_cst)). Plain data is covered
 * on the pending path on x86 (the receiver's exchange is a full barrier);
 * elsewhere read it after such a fence.
 *
 * @return 0; -EPIPE when the capability's socket hung up: the receiver was
 *         freed or its process died (the CLOSED bit in the descriptor is
 *         only a hint, which any holder can store; a uipc_tx_new() sender
 *         on futex or eventfd asks the receiver's private state, see
 *         uipc_tx_new()); -EINVAL (NULL); a
 *         backend error
 *         from the kick: -ESRCH when the receiver thread is gone (signal,
 *         uintr), -EAGAIN or -EPERM from the signal queue (signal).
 */
UIPC_API int uipc_tx_notify(uipc_tx *tx);

/**
 * Liveness check: 0 while the receiver exists, -EPIPE once it was freed or
 * its process died (detected through the capability's socket).
 */
UIPC_API int uipc_tx_check(uipc_tx *tx);

/* ------------------------------------------------------------------------ */
/* Handing capabilities to other processes                                    */

/**
 * Send one capability fd (of a vector or a channel) over a connected
 * AF_UNIX socket, with SCM_RIGHTS, in one call. The caller keeps its fd.
 * Since 0.2; 0.1 called it uipc_fd_send().
 * @return 0; -EBADF; -ENOTSOCK; -EPIPE; other -errno from sendmsg().
 */
UIPC_API int uipc_cap_send(int sock, int cap_fd);

/**
 * Receive one capability fd sent by uipc_cap_send(). The new fd is
 * O_CLOEXEC and owned by the caller. Since 0.2; 0.1 called it
 * uipc_fd_recv().
 * Works on sockets with SO_PASSCRED (the credentials are ignored).
 * @return 0; -EPIPE when the peer closed; -EPROTO for a message that is not
 *         exactly one uipc handle (any fds it carried are closed); -EMFILE
 *         (or -ENFILE) out of descriptors: the capability stays queued and a
 *         retry receives it; -errno.
 */
UIPC_API int uipc_cap_recv(int sock, int *ret_cap_fd);

/** 0.1 name of uipc_cap_send(). Deprecated; kept as an alias. */
UIPC_API int uipc_fd_send(int sock, int fd) UIPC_DEPRECATED("use uipc_cap_send()");
/** 0.1 name of uipc_cap_recv(). Deprecated; kept as an alias. */
UIPC_API int uipc_fd_recv(int sock, int *ret_fd) UIPC_DEPRECATED("use uipc_cap_recv()");

UIPC_END_DECLS

#endif
