/* SPDX-License-Identifier: MIT */
/**
 * @file uipc/chan.h
 * @brief Channels: bounded rings of fixed-size messages, paired with a wakeup.
 *
 * A channel is a ring of `capacity` slots of `msg_size` bytes in shared
 * memory, bound to one vector of a receiver (uipc_rx). The consumer end
 * (uipc_chan) belongs to the receiver's thread; producer ends (uipc_chan_tx)
 * are opened from a capability fd (uipc_chan_cap()), in this process or in
 * another one, or made in this process with uipc_chan_tx_new().
 *
 * A send writes the slot, publishes it (a sequence number at the slot's end,
 * so a waiting consumer polls the very cache line the message arrives in)
 * and notifies the vector with the core protocol: while the consumer is awake that is no syscall, and a
 * consumer that sleeps is kicked once however many messages arrive before it
 * wakes. A consumer that finds the ring empty waits through the receiver's
 * spin-then-block path.
 *
 * Variants: SPSC (one attached producer at a time) and MPSC (any number of
 * producers, which claim slots with a compare-and-swap). Messages are delivered exactly once,
 * in the order each producer sent them.
 *
 * Failure model: each side treats the shared memory as hostile. A corrupt
 * ring gives -EPROTO (and stays broken); a peer that closed or died gives
 * -EPIPE, within the caller's timeout. A consumer sees -EPIPE only after it
 * has drained every message, once every producer capability of the channel
 * is closed (all producers freed or dead, and every capability fd closed).
 *
 * A producer that dies between claiming a slot and publishing it (inside
 * uipc_chan_send(), or between uipc_chan_reserve() and uipc_chan_commit())
 * loses that message only. An attached producer holds an open-file-
 * description lock on the ring (its own, through /proc/self/fd), which the
 * kernel drops when it detaches, exits or is killed. SPSC: the next producer
 * to attach, through any capability, takes the role over at the same
 * position. MPSC: messages of other producers may already be behind the
 * empty slot; the consumer passes it once its claimer's lock is gone (it
 * looks after the slot has stayed claimed and empty for a millisecond, then
 * once a millisecond, a blocked consumer too), then delivers them. While a
 * live producer keeps a claimed slot at the head for long (a slow
 * zero-copy fill), a blocked consumer therefore wakes each millisecond.
 *
 * Costs: the consumer frees slots to producers every quarter ring and before
 * it sleeps (not per message), so a producer may see the ring full while up
 * to a quarter of it is already consumed. Producers attached in the
 * consumer's process with uipc_chan_tx_new() notify through a sender of
 * uipc_tx_new() (on futex and eventfd the receiver keeps the costs of one
 * whose senders are all here), share its mapping and, where the kernel has
 * membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED), send without a locked
 * instruction: the consumer pays one membarrier() when it goes to sleep
 * instead.
 *
 * Resources (uipc(7), RESOURCES): a consumer holds 1 fd (the ring) plus 1
 * per producer capability until every holder closed it, and from its first
 * capability on a sender of its own vector (1 fd, 2 on eventfd) that the
 * library's watcher thread notifies when producers leave; each producer
 * capability carries a vector capability of its own (1 more fd on the
 * receiver's side). A producer holds 3 (its own open of the ring for its
 * lock, a capability duplicate, its sender), 4 on the eventfd backend.
 * Every call on a channel or producer end inherited through fork() but its
 * *_free() returns -ECHILD.
 *
 * Threading: one thread at a time uses a given uipc_chan (the receiver's
 * thread) or a given uipc_chan_tx; several producer threads each open
 * their own uipc_chan_tx (MPSC). A channel holds a reference on its
 * receiver, so the two may be freed in any order (since 0.2).
 */
#ifndef UIPC_CHAN_H
#define UIPC_CHAN_H

#include <uipc/common.h>
#include <uipc/notify.h>

UIPC_BEGIN_DECLS

/** Consumer end of a channel. */
typedef struct uipc_chan uipc_chan;
/** Producer end of a channel. */
typedef struct uipc_chan_tx uipc_chan_tx;

/** Channel flags (struct uipc_chan_config.flags). */
enum uipc_chan_flags {
	/** Any number of producers (default: single producer). */
	UIPC_CHAN_MPSC = 1u << 0,
	/** Place the ring on struct uipc_chan_config.numa_node (needs a NUMA kernel). */
	UIPC_CHAN_NUMA = 1u << 1,
	/**
	 * Fence-free producers (since 0.3): producers of uipc_chan_tx_new()
	 * send without a locked instruction, and the consumer runs one
	 * membarrier() (an interrupt to every CPU running a thread of the
	 * process) each time it would sleep on the channel's receiver. Worth
	 * it where sends far outnumber sleeps (a stream the consumer drains in
	 * batches); a request/response loop sleeps about once per message and
	 * pays more than the fence (bench/server, README). Without the
	 * kernel's MEMBARRIER_CMD_PRIVATE_EXPEDITED, producers fence anyway.
	 * Before 0.3 every channel was made so where the kernel allowed it.
	 */
	UIPC_CHAN_LIGHT = 1u << 2,
};

/** Largest message (slot payload) in bytes. */
#define UIPC_CHAN_MAX_MSG_SIZE 65536u
/** Largest capacity in slots. */
#define UIPC_CHAN_MAX_CAPACITY (1u << 24)
/** Largest shared mapping of one channel, in bytes (1 GiB). */
#define UIPC_CHAN_MAX_BYTES (UINT64_C(1) << 30)

/**
 * Geometry of a new channel.
 *
 * Growth: later releases append fields. `size` says which layout the caller
 * was compiled with: sizeof(struct uipc_chan_config), or 0, which means the
 * layout of 0.2 (the first release with this field), so designated
 * initializers that leave it out keep working. The library reads only the
 * fields the caller's size covers (newer ones count as 0), and refuses with
 * -E2BIG a larger structure whose fields it does not know unless they are
 * zero. Programs built against 0.1 (no size field) call the UIPC_0.1
 * version of uipc_chan_new(), which reads the 0.1 layout.
 */
struct uipc_chan_config {
	size_t size;     /**< sizeof(struct uipc_chan_config), or 0 (see above) */
	size_t msg_size; /**< bytes per message, 1..UIPC_CHAN_MAX_MSG_SIZE */
	size_t capacity; /**< slots, a power of two, 2..UIPC_CHAN_MAX_CAPACITY */
	unsigned flags;  /**< enum uipc_chan_flags */
	int numa_node;   /**< with UIPC_CHAN_NUMA: the node the ring's memory lives on */
};

/* Consumer ---------------------------------------------------------------- */

/**
 * Create a channel whose consumer is rx, announced on vector.
 *
 * The ring lives in a sealed memfd. The vector should be used for this
 * channel only (other vectors of rx stay free for other uses: a waiting
 * uipc_chan_recv() keeps their notifications pending for uipc_rx_wait()).
 *
 * @return 0; -EINVAL (bad geometry or flags, vector >= 64, a ring larger
 *         than UIPC_CHAN_MAX_BYTES, an unknown NUMA node, a config size
 *         that is not 0 and smaller than this release's); -E2BIG (a config
 *         of a later release that sets fields this one does not know);
 *         -EOPNOTSUPP
 *         (UIPC_CHAN_NUMA in a build without NUMA, -Dnuma=disabled, or on a
 *         kernel without NUMA);
 *         -ECHILD (rx was inherited through fork()); -ENOMEM, -EMFILE.
 */
UIPC_API int uipc_chan_new(uipc_rx *rx, unsigned vector, const struct uipc_chan_config *config,
                           uipc_chan **ret_chan);

/**
 * Close the consumer end. Producers get -EPIPE from their next send that
 * has to wait or notify, and blocked producers wake up. Accepts NULL.
 */
UIPC_API void uipc_chan_free(uipc_chan *chan);

/**
 * A new producer capability: whoever holds the fd can open a producer
 * (uipc_chan_tx_open()), here or in another process (uipc_cap_send()).
 * The fd is O_CLOEXEC and owned by the caller. At most 64 capabilities of
 * one channel are open at a time. Since 0.2; 0.1 called it uipc_chan_fd().
 * @return the fd; -EINVAL; -EMFILE (too many open capabilities, or fds); -ENOMEM.
 */
UIPC_API int uipc_chan_cap(uipc_chan *chan);

/**
 * Hand a producer capability to the process at the other end of a
 * connected AF_UNIX socket: uipc_chan_cap(), uipc_cap_send() and close()
 * in one call. Since 0.2; 0.1 called it uipc_chan_give().
 * @return 0 or a negative errno of either.
 */
UIPC_API int uipc_chan_cap_send(uipc_chan *chan, int sock);

/** 0.1 name of uipc_chan_cap(). Deprecated; kept as an alias. */
UIPC_API int uipc_chan_fd(uipc_chan *chan) UIPC_DEPRECATED("use uipc_chan_cap()");
/** 0.1 name of uipc_chan_cap_send(). Deprecated; kept as an alias. */
UIPC_API int uipc_chan_give(uipc_chan *chan, int sock) UIPC_DEPRECATED("use uipc_chan_cap_send()");

/**
 * Receive one message (msg_size bytes) into buf.
 *
 * Takes a message if one is there; otherwise waits on the receiver (spin,
 * then block). Notifications of the receiver's other vectors that arrive
 * meanwhile stay pending for the next uipc_rx_wait().
 *
 * @param size size of buf: at least the channel's msg_size.
 * @param timeout_ns 0 does not wait; negative waits forever.
 * A blocked receive wakes only for a message, the departure of a producer
 * (the last holder of a producer capability closing it: detach, exit or
 * kill), its timeout or a signal: an idle consumer makes no periodic
 * wakeups. (While an MPSC slot at the head is claimed but not yet
 * published, it looks again each millisecond, to pass the slot if its
 * producer died.)
 *
 * @return 0; -EAGAIN (empty, timeout 0); -ETIMEDOUT; -EPIPE (empty and every
 *         producer is gone); -EPROTO (corrupt ring); -EINTR; -EBUSY (the
 *         receiver is in handler mode: its handler takes the notifications;
 *         or timeout_ns is not 0 and the receiver is armed for an event
 *         loop, see uipc_rx_arm()); -EPERM (uintr: not on the receiver's
 *         thread); -ECHILD (a channel inherited through fork()); -EINVAL.
 */
UIPC_API int uipc_chan_recv(uipc_chan *chan, void *buf, size_t size, int64_t timeout_ns);

/**
 * Receive up to n messages into buf, with one index update. Waits like
 * uipc_chan_recv() only when the ring is empty.
 * @param size the size of buf in bytes: at most size / msg_size messages
 *        are written, whatever n says (-EINVAL if not even one fits).
 * @return the number of messages received (1..min(n, size / msg_size));
 *         the errors of uipc_chan_recv().
 */
UIPC_API int uipc_chan_recv_n(uipc_chan *chan, void *buf, size_t n, size_t size,
                              int64_t timeout_ns);

/**
 * Zero-copy receive: point *ret_msg at the oldest message in the ring,
 * without taking it. It stays valid, and the same message is returned
 * again, until uipc_chan_release(). The bytes are shared with the producer:
 * copy what must not change under you before you validate it.
 * @return 0; the errors of uipc_chan_recv().
 */
UIPC_API int uipc_chan_peek(uipc_chan *chan, const void **ret_msg, int64_t timeout_ns);

/** Take the message uipc_chan_peek() returned. 0; -EINVAL if none is peeked; -EPROTO. */
UIPC_API int uipc_chan_release(uipc_chan *chan);

/**
 * Producer liveness: 0 while some producer capability is open, or none was
 * created yet; -EPIPE once all that were created are closed.
 */
UIPC_API int uipc_chan_check(uipc_chan *chan);

/** Message size of the channel (0 for an invalid handle). */
UIPC_API size_t uipc_chan_msg_size(const uipc_chan *chan);

/* Producer ---------------------------------------------------------------- */

/**
 * Attach a producer from a capability fd (not consumed). Validates
 * everything it reads from the fd and the ring.
 * @return 0; -EBADF; -EINVAL (not a channel capability, bad geometry);
 *         -EPROTONOSUPPORT (a channel or receiver of a uipc release with
 *         another shared-memory layout); -EBUSY (an SPSC channel that already has a producer, an MPSC
 *         one with 64 attached); -EPIPE (consumer gone); -EOPNOTSUPP (no
 *         /proc/self/fd, or the receiver's backend); -ENOMEM, -EMFILE.
 */
UIPC_API int uipc_chan_tx_open(uipc_ctx *ctx, int cap_fd, uipc_chan_tx **ret_tx);

/** Same-process shortcut: attach a producer to chan. Errors as uipc_chan_tx_open(). */
UIPC_API int uipc_chan_tx_new(uipc_chan *chan, uipc_chan_tx **ret_tx);

/**
 * Receive a producer capability sent with uipc_chan_cap_send() and open a
 * producer from it: uipc_cap_recv(), uipc_chan_tx_open() and close() in one
 * call. Since 0.2; 0.1 called it uipc_chan_attach().
 * @return 0; the errors of uipc_cap_recv() and uipc_chan_tx_open().
 */
UIPC_API int uipc_chan_tx_open_sock(uipc_ctx *ctx, int sock, uipc_chan_tx **ret_tx);

/** 0.1 name of uipc_chan_tx_open_sock(). Deprecated; kept as an alias. */
UIPC_API int uipc_chan_attach(uipc_ctx *ctx, int sock, uipc_chan_tx **ret_tx)
    UIPC_DEPRECATED("use uipc_chan_tx_open_sock()");

/**
 * Detach and free a producer end. An SPSC channel accepts a new producer
 * after. A pending reservation is abandoned (the slot is passed, see
 * above). Accepts NULL.
 */
UIPC_API void uipc_chan_tx_free(uipc_chan_tx *tx);

/**
 * Send one message without waiting. size bytes are copied (the rest of the
 * slot is zeroed).
 * @param size 1..msg_size.
 * @return 0; -EAGAIN when the ring is full; -EBUSY (MPSC: other producers
 *         kept winning the claim for a millisecond, or a peer keeps moving
 *         the tail; retry); -EPIPE (consumer gone: its capability hung up,
 *         not merely the ring's closed flag, which any producer can store);
 *         -EPROTO (corrupt ring); -ECHILD (a producer end inherited through
 *         fork()); -EINVAL.
 */
UIPC_API int uipc_chan_send(uipc_chan_tx *tx, const void *msg, size_t size);

/**
 * Send one message, waiting up to timeout_ns for space (negative: forever).
 * A blocked producer sleeps until the consumer frees slots (a futex in the
 * ring; the consumer wakes sleepers only when one is armed).
 * @return 0; -ETIMEDOUT; -EPIPE; -EPROTO; -EINTR; -EINVAL.
 */
UIPC_API int uipc_chan_send_wait(uipc_chan_tx *tx, const void *msg, size_t size,
                                 int64_t timeout_ns);

/**
 * Send up to n messages of msg_size bytes each from msgs, as many as fit,
 * with one index update and at most one notification. msgs must hold n *
 * msg_size bytes; at most min(n, capacity) messages are read from it.
 * @return the number sent (1..n); -EAGAIN when none fit; the errors of
 *         uipc_chan_send().
 */
UIPC_API int uipc_chan_send_n(uipc_chan_tx *tx, const void *msgs, size_t n);

/**
 * Zero-copy send: reserve the next slot and point *ret_slot at its msg_size
 * bytes (8-byte aligned). Publish it with uipc_chan_commit(). One
 * reservation at a time per producer end; in an MPSC channel the consumer
 * waits at a reserved slot, so commit promptly.
 * @return 0; -EAGAIN (full); -EBUSY (a reservation is pending); -EPIPE; -EPROTO.
 */
UIPC_API int uipc_chan_reserve(uipc_chan_tx *tx, void **ret_slot);

/** Publish the reserved slot. 0; -EINVAL if nothing is reserved; -EPIPE. */
UIPC_API int uipc_chan_commit(uipc_chan_tx *tx);

/** Consumer liveness: 0 while it exists, -EPIPE once it was freed or died. */
UIPC_API int uipc_chan_tx_check(uipc_chan_tx *tx);

/** Message size of the channel (0 for an invalid handle). */
UIPC_API size_t uipc_chan_tx_msg_size(const uipc_chan_tx *tx);

UIPC_END_DECLS

#endif
