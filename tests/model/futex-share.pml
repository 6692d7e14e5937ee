/* SPDX-License-Identifier: MIT */
/*
 * Model of the futex backend's private/shared futex choice on one receiver
 * descriptor: a receiver whose senders are all in its own process sleeps on
 * a PRIVATE futex, and switches to the SHARED futex once a sender from
 * another process may exist. The notify/wait protocol itself is the one of
 * notify.pml (RXMODE 0); here it carries the mode. Each step is one atomic
 * access of the code, all seq_cst:
 *   shared:   the receiver's process-private flag (false at creation, only
 *             ever false -> true), an atomic in uipc_rx, never in the
 *             shared descriptor.
 *   receiver, uipc_rx_wait() -> uipc__wait() (src/wait.c), futex backend:
 *             take (exchange pir); wait_spin() (0 or 1 looks); then loop {
 *             uipc__rx_arm_status(): exchange(status, 0); look (take); on a
 *             hit uipc__rx_disarm() and return; futex_block(): load shared
 *             -> mode; FUTEX_WAIT(mode, status == 0) (compare and enqueue
 *             in one step, on the queue of that mode); uipc__rx_disarm()
 *             (exchange(status, SN)); -ETIMEDOUT/-EINTR: return; else look
 *             (take), return on a hit or when the deadline passed, else
 *             block again }.
 *   local sender (NL, a uipc_tx_new() sender in the receiver's process):
 *             uipc_tx_notify() -> uipc__desc_post() as in notify.pml
 *             (relaxed look, fence, look and status load for coalescing;
 *             fetch_or pir; load status, SN|ON: done; CAS s -> s|ON); the
 *             winner runs futex_kick(): load shared -> mode, then
 *             FUTEX_WAKE(mode) (all waiters of that queue). A kick may fail
 *             (FAILKICK in all): uipc__desc_unpost() (fetch_and ~ON), and
 *             the application notifies again.
 *   remote sender (NX, a capability's holder or a sender in a fork child):
 *             the same post; its futex_kick() always wakes the SHARED
 *             queue. It starts only once the exposure stored shared = true
 *             (the capability is made after the store; a fork child exists
 *             only after fork preparation ran the exposure).
 *   the exposure (a capability handed out, uipc_rx_futex(), or fork
 *             preparation; the uipc__rx_share()-like helper in
 *             backends/futex/futex.c), once, at any point, on any thread:
 *             shared already true: nothing; else store shared = true; load
 *             status; armed (no SN): fetch_or(status, ON), FUTEX_WAKE
 *             (private), FUTEX_WAKE(shared). A second exposure on another
 *             thread sees shared true and hands its capability out at once;
 *             the remote sender's start right after the store covers that.
 *
 * Kernel: two futex queues on the status word that never see each other's
 * wakes (a private key is the process's mm and address, a shared key the
 * mapping's inode and offset). FUTEX_WAIT compares the word and enqueues in
 * one step; FUTEX_WAKE dequeues every waiter of its own queue.
 *
 * BROKEN selects a variant that must be rejected:
 *   BROKEN 1: the exposure does not set ON, it only wakes both queues: a
 *             receiver that chose private just before the store sleeps
 *             after those wakes, and every later kick is shared;
 *   BROKEN 2: the exposure wakes only the private queue: a receiver that
 *             read shared = true and slept before the exposure's ON stays
 *             asleep with ON set, so later senders do not kick;
 *   BROKEN 3: the local sender reads the mode before its CAS, not after;
 *   BROKEN 4: the receiver reads the mode before it arms, not after.
 * The exposure's mark is a status bit of its own (XB: UIPC_DESC_MOVED in
 * src/layout.h, uipc__desc_moved()), which uipc__desc_unpost() leaves
 * alone; it passes with a failing kick (FAILKICK 1). XBIT 0 is the first
 * design, ON as the mark: a failing kick breaks it (the remote sender's
 * unpost clears ON, the exposure's mark with it, and the receiver that
 * read private sleeps after the exposure's wakes), checked to fail in the
 * broken suite.
 *
 * Properties (as notify.pml, RXMODE 0):
 *   - assertion "no kick while awake": a sender's CAS succeeds only while
 *     the receiver is between its arm and its disarm (ghost rx_window);
 *   - assertion at every disarm of an armed receiver: nobody wrote anything
 *     but ON into the status word (the exposure's OR included);
 *   - watchdog: when nothing can move any more, every posted bit was taken
 *     and all senders finished; the receiver may only be asleep (end
 *     label). Any other stuck state is an invalid end state;
 *   - ltl no_lost_wakeup: every posted bit is eventually taken (weak
 *     fairness, -a -f).
 *
 * Not modelled: the hostile peer of notify.pml (it stores into status, the
 * mode does not change what a forged word does), uipc_rx_wait_any()
 * (futex_waitv: every word would need its own mode, chosen after that
 * word's arm, as here), the io_uring wait of uipc_rx_futex() (the
 * application's, on the shared queue, after the exposure).
 */

#define ON 1
#define SN 2
#define XB 8          /* XBIT: the exposure's bit of its own */

#ifndef NL
#define NL 1          /* local senders */
#endif
#ifndef NX
#define NX 1          /* remote senders */
#endif
#define NS (NL + NX)
#ifndef NOTIFIES
#define NOTIFIES 2    /* notifies per sender */
#endif
#ifndef SPIN
#define SPIN 1        /* spin looks at most */
#endif
#ifndef MAXTO
#define MAXTO 1       /* timeouts / spurious returns of the block, in total */
#endif
#ifndef FAILKICK
#define FAILKICK 0    /* kicks that fail, in total */
#endif
#ifndef BROKEN
#define BROKEN 0
#endif
#ifndef XBIT
#define XBIT 1        /* 0: the exposure ORs ON (the first design), not its own bit */
#endif
#if XBIT
#define XON XB        /* what the exposure ORs into status */
#else
#define XON ON
#endif

#define PRIV 0
#define SHRD 1

byte status = SN;      /* the descriptor's status word; receiver starts awake */
byte pir = 0;          /* pending vectors (all senders post vector 0) */
bool shared = false;   /* the receiver's process-private flag */

/* kernel: the receiver asleep on the private / the shared futex queue */
bool asleep[2];

/* ghosts */
byte posted = 0;         /* posted by a finished OR and not yet taken */
bool rx_window = false;  /* receiver between arm and disarm */
byte ndone = 0;          /* senders finished */
byte timeouts = 0;
byte kfail = 0;

ltl no_lost_wakeup { [] ((posted != 0) -> <> (posted == 0)) }

/* FUTEX_WAKE(mode, INT_MAX): every waiter of that queue */
inline futex_wake(mode)
{
	atomic { asleep[mode] = false }
}

/* uipc__desc_take(): exchange(pir, 0) */
inline take(m)
{
	atomic { m = pir; pir = 0; posted = posted & ~m;
		 printf("R: take pir -> %d\n", m) }
}

/* uipc_tx_notify(): uipc__desc_post(), then futex_kick() when it won ON */
proctype sender(byte me; bool remote)
{
	byte n = 0;
	byte s;
	bool won, mode;

	/* a remote sender exists only after the exposure stored shared */
	if :: remote -> shared :: else -> skip fi;
	do
	:: n < NOTIFIES ->
		/* still pending: relaxed look, fence, look, status load */
		if
		:: (pir & 1) != 0 ->
			if
			:: (pir & 1) != 0 ->
				s = status;
				if
				:: (s & (SN | ON)) != 0 -> goto next
				:: else -> skip
				fi
			:: else -> skip
			fi
		:: else -> skip
		fi;
		atomic { pir = pir | 1; posted = 1;
			 printf("S%d: OR pir\n", me) };
		atomic { s = status;
			 if
			 :: (s & (SN | ON)) != 0 ->
				printf("S%d: status %d has SN|ON: no kick\n", me, s)
			 :: else -> skip
			 fi };
		if
		:: (s & (SN | ON)) != 0 -> goto next
		:: else -> skip
		fi;
#if BROKEN == 3
		/* the mode read before the CAS */
		if
		:: remote -> mode = SHRD
		:: else -> atomic { mode = shared; printf("S%d: mode %d (before CAS)\n", me, mode) }
		fi;
#endif
		atomic {
			if
			:: status == s ->
				status = s | ON;
				won = true;
				printf("S%d: CAS ON won\n", me);
				assert(rx_window)
			:: else -> won = false
			fi
		};
		if
		:: won ->
			/* futex_kick(): the mode, then the wake */
#if BROKEN != 3
			if
			:: remote -> mode = SHRD
			:: else -> atomic { mode = shared; printf("S%d: mode %d\n", me, mode) }
			fi;
#endif
			if
			:: atomic { kfail < FAILKICK -> kfail++;
				printf("S%d: kick fails\n", me) };
				/* uipc__desc_unpost(): fetch_and(status, ~ON) */
				atomic { status = status & ~ON;
					printf("S%d: unpost\n", me) };
				goto again
			:: atomic { printf("S%d: FUTEX_WAKE(%d)\n", me, mode);
				futex_wake(mode) }
			fi
		:: else -> skip
		fi;
next:		n++;
again:		skip
	:: else -> break
	od;
	ndone++
}

/* the exposure, once, at any point */
active proctype exposure()
{
	byte s;

	atomic { shared = true; printf("E: shared = true\n") };
	atomic { s = status; printf("E: status %d\n", s) };
	if
	:: (s & SN) == 0 ->
#if BROKEN != 1
		atomic { status = status | XON; printf("E: status |= %d\n", XON) };
#endif
		atomic { futex_wake(PRIV); printf("E: FUTEX_WAKE(private)\n") };
#if BROKEN != 2
		atomic { futex_wake(SHRD); printf("E: FUTEX_WAKE(shared)\n") }
#else
		skip
#endif
	:: else -> skip
	fi
}

/* uipc_rx_wait() called in a loop */
active proctype receiver()
{
	byte m, spun;
	bool tmo, mode;

	do
	:: true ->
		take(m);
		if
		:: m != 0 -> goto out
		:: else -> skip
		fi;
		spun = 0;
		do
		:: spun < SPIN ->
			take(m);
			if
			:: m != 0 -> goto out
			:: else -> spun++
			fi
		:: break
		od;
		do
		:: true ->
#if BROKEN == 4
			atomic { mode = shared; printf("R: mode %d (before arm)\n", mode) };
#endif
			/* uipc__rx_arm_status(): exchange(status, 0) */
			atomic { status = 0; rx_window = true; printf("R: arm\n") };
			take(m);
			if
			:: m != 0 ->
				atomic { assert((status & ~(ON | XON)) == 0);
					 status = SN; rx_window = false };
				goto out
			:: else -> skip
			fi;
			/* futex_block(): the mode, then FUTEX_WAIT(mode, status == 0) */
#if BROKEN != 4
			atomic { mode = shared; printf("R: mode %d\n", mode) };
#endif
			tmo = false;
			atomic {
				if
				:: status == 0 -> asleep[mode] = true;
					printf("R: FUTEX_WAIT(%d): sleeps\n", mode)
				:: else -> skip /* EAGAIN */
				fi
			};
end_block:		if
			:: !asleep[mode] -> printf("R: awake\n")
			:: atomic { asleep[mode] && timeouts < MAXTO ->
				asleep[mode] = false; timeouts++; tmo = true }
			fi;
			/* uipc__rx_disarm(): exchange(status, SN) */
			atomic { assert((status & ~(ON | XON)) == 0);
				 status = SN; rx_window = false; printf("R: disarm\n") };
			if
			:: tmo -> goto out
			:: else -> skip
			fi;
			take(m);
			if
			:: m != 0 -> goto out
			:: atomic { m == 0 && timeouts < MAXTO -> timeouts++ }; goto out
			:: m == 0 -> skip
			fi
		od;
out:		skip;
		d_step { m = 0; spun = 0; tmo = false; mode = 0 }
	od
}

#ifndef NOWATCHDOG
active proctype watchdog()
{
	timeout -> assert(posted == 0 && ndone == NS)
}
#endif

init
{
	byte i = 0;

	atomic {
		do
		:: i < NS -> run sender(i, i >= NL); i++
		:: else -> break
		od
	}
}
