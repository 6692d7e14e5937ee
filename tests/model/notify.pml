/* SPDX-License-Identifier: MIT */
/*
 * Model of the uipc notify/wait protocol on one receiver descriptor, with NS
 * senders, one receiver that keeps waiting, and one hostile peer. Each step
 * is one atomic access of the code, named after the function that does it:
 *   sender:   uipc_tx_notify() (src/tx.c) -> uipc__desc_post() (src/desc.c;
 *             the sender runs its first step inline, uipc__desc_covered(),
 *             then uipc__desc_post_or()): relaxed look at pir; if the bit is set, fence(seq_cst), look
 *             again and load status: still set and SN|ON in status:
 *             coalesced, no shared write (armed without ON: go on);
 *             fetch_or pir; load status, return on SN|ON (CLOSED is only a
 *             hint); CAS status s -> s|ON; the winner kicks as a separate
 *             step (tx_kick: futex_wake / eventfd write / signal). A kick
 *             may fail (at most FAILKICK in all): the sender gives ON back
 *             with uipc__desc_unpost() (fetch_and ~ON) and the application
 *             notifies again.
 *   RXMODE 0, uipc_rx_wait() -> uipc__wait() (src/wait.c), futex backend:
 *             take (exchange pir); wait_spin() (loads, take on a hit); then
 *             loop { uipc__rx_arm_status(): exchange(status, 0); look (take);
 *             on a hit uipc__rx_disarm() and return; rx_block() =
 *             FUTEX_WAIT(status == 0); uipc__rx_disarm(); -ETIMEDOUT/-EINTR:
 *             return; else look (take), return on a hit, or when the
 *             deadline passed, else block again }.
 *   RXMODE 1, handler mode (signal backend): uipc_rx_set_handler() clears
 *             SN and runs uipc__rx_dispatch() once; every signal runs
 *             uipc__rx_dispatch(): fetch_and ~ON, then take.
 *   RXMODE 2, epoll mode (eventfd backend): uipc_rx_arm() (exchange(status,
 *             0); seq_cst load of pir; pending: uipc__rx_disarm(woken =
 *             false) and -EAGAIN, the bits stay in pir); epoll_wait() on the
 *             eventfd; uipc_rx_drain() (take; uipc__rx_disarm(woken = mask
 *             == 0); take).
 *   uipc__rx_disarm(woken): exchange(status, SN); with an ack (eventfd):
 *             owed++ when the old status had ON; if owed > 0 or woken, ack
 *             = read() of the eventfd, which returns and clears its count
 *             k; owed -= min(k, owed).
 *   peer:     a capability holder that scribbles: stores ON|CLOSED into
 *             status while the receiver is awake (a forged or stale ON
 *             before an arm), and in epoll mode writes the eventfd once.
 * The application loop calls wait / arm+drain again forever; the block may
 * time out or be interrupted at most MAXTO times in all (finite timeouts,
 * EINTR), beyond that it is infinite.
 *
 * Kernel: FUTEX_WAIT compares the word and sleeps in one step; FUTEX_WAKE
 * wakes the sleeper; the eventfd is a counter (a write adds 1, a read returns
 * the count and clears it, epoll_wait returns while it is non-zero); a
 * signal is a pending flag that runs the handler on the receiver thread.
 *
 * Memory model: every shared access here is a locked RMW, a fence, or a load
 * right after one, so on x86-TSO the only reordering that could matter is a
 * store passing a later load; the code has a full barrier at each such
 * place, which makes plain interleaving (SC) exact. BROKEN selects a variant
 * that must be rejected:
 *   BROKEN 1: the receiver's arm (the store of 0) without its barrier (a
 *             plain store on a weakly ordered CPU): the store is buffered
 *             and the take that re-checks pir runs before senders can see
 *             SN clear (store buffer drained at any time or at the next
 *             locked instruction / syscall);
 *   BROKEN 2: the sender's pir OR is release-only (buffered), so its load of
 *             status can run before the receiver sees the bit;
 *   BROKEN 3 (handler mode): uipc__rx_dispatch() takes pir before clearing
 *             ON, so a notify in between sees ON, does not signal, and its
 *             bit stays pending;
 *   BROKEN 4 (epoll mode): the drain of 0.x: disarm, read the eventfd only
 *             when that disarm saw ON, take; no owed count, no ack after a
 *             wake with nothing pending; arm's -EAGAIN path disarms without
 *             reading. A kick written after the drain that saw its ON (or a
 *             stray write) leaves the eventfd readable for ever;
 *   BROKEN 5: no uipc__desc_unpost() after a failed kick: ON stays, every
 *             later notify coalesces or sees ON and does not kick;
 *   BROKEN 6: arming keeps the other bits (fetch_and ~SN, as 0.x did): a
 *             forged ON before the arm survives it and silences the senders.
 *
 * Properties:
 *   - assertion "no kick while awake": a sender's CAS succeeds (it will kick)
 *     only while the receiver is between its arm and its disarm; the ghost
 *     rx_window follows the receiver's program counter, not the status word.
 *   - assertion at every disarm of an armed receiver: senders wrote nothing
 *     but ON into the status word.
 *   - watchdog: when nothing can move any more, every posted bit was taken
 *     (posted == 0) and all senders finished; the receiver may only be
 *     asleep (end labels). Any other stuck state is an invalid end state.
 *   - ltl no_lost_wakeup: every posted bit is eventually taken (run with
 *     weak fairness, -a -f).
 *   - no idle spin (non-progress cycles, -DNP, pan -l): senders and peer run
 *     a bounded number of steps, so every cycle of the state graph is the
 *     receiver looping alone while nobody posts; there must be none (in
 *     epoll mode: epoll_wait must not return at once for ever because the
 *     eventfd was left readable). No progress labels are needed.
 */

#define ON     1
#define SN     2
#define CLOSED 4

#ifndef NS
#define NS 2          /* senders */
#endif
#ifndef NOTIFIES
#define NOTIFIES 2    /* notifies per sender */
#endif
#ifndef NBITS
#define NBITS 1       /* sender i posts vector i % NBITS (1: all share one) */
#endif
#ifndef SPIN
#define SPIN 1        /* spin iterations at most (the budget may end earlier) */
#endif
#ifndef MAXTO
#define MAXTO 1       /* timeouts / spurious returns of the block, in total */
#endif
#ifndef FAILKICK
#define FAILKICK 1    /* kicks that fail, in total */
#endif
#ifndef PEER
#define PEER 1        /* the scribbling peer (not in handler mode, see below) */
#endif
#if RXMODE == 1
/* Handler mode never re-arms: SN stays clear, and a peer's ON stays until
 * the next signal, which nobody sends. The code does not claim more there. */
#undef PEER
#define PEER 0
#endif
#ifndef RXMODE
#define RXMODE 0      /* 0 wait, 1 handler (signal), 2 epoll (eventfd) */
#endif
#ifndef BROKEN
#define BROKEN 0
#endif

#define ALLBITS ((1 << NBITS) - 1)

byte status = SN;     /* the descriptor's status word; receiver starts awake */
byte pir = 0;         /* pending vectors */

/* kernel objects */
bool sleeping = false; /* receiver asleep in futex_wait */
byte evfd = 0;         /* eventfd counter (RXMODE 2) */
bool sigpend = false;  /* signal pending for the receiver thread (RXMODE 1) */

/* receiver state */
byte owed = 0;         /* rx->w.owed: kicks whose ON the receiver saw, not yet read */

/* ghosts */
byte posted = 0;         /* bits posted by a finished OR and not yet taken */
bool rx_window = false;  /* receiver between arm and disarm */
byte ndone = 0;          /* senders finished */
byte timeouts = 0;
byte kfail = 0;          /* kicks that failed */

#if BROKEN == 1
bool rsb_valid = false;  /* receiver's store buffer: one pending store to status */
byte rsb = 0;
#endif
#if BROKEN == 2
byte tsb[NS];            /* each sender's buffered pir OR (0: empty) */
#endif

ltl no_lost_wakeup { [] ((posted != 0) -> <> (posted == 0)) }

/* ---------------------------------------------------------------- */
/* kernel: futex                                                     */

/* futex_wake(&status, 1) */
inline futex_wake()
{
	atomic { if :: sleeping -> sleeping = false :: else -> skip fi }
}

/* uipc__desc_take(): exchange(pir, 0) (the load before it is a shortcut) */
inline take(m)
{
	atomic { m = pir; pir = 0; posted = posted & ~m;
		 printf("R: take pir -> %d\n", m) }
}

/* ---------------------------------------------------------------- */
/* sender: uipc_tx_notify()                                          */

proctype sender(byte me)
{
	byte vbit = 1 << (me % NBITS);
	byte n = 0;
	byte s;
	bool won;

	do
	:: n < NOTIFIES ->
		/* a. uipc__desc_post(): still pending from an earlier notify?
		 * A relaxed look, then fence(seq_cst), a second look and a look
		 * at status: the receiver has not taken the bit yet and is
		 * awake (SN) or a kick is on its way (ON): no shared write.
		 * (SC: the fence is the point between the loads.) */
#if BROKEN == 2
		if
		:: ((pir | tsb[me]) & vbit) != 0 -> /* store forwarding */
			if
			:: ((pir | tsb[me]) & vbit) != 0 && (status & (SN | ON)) != 0 -> goto next
			:: else -> skip
			fi
		:: else -> skip
		fi;
		/* b. release-only OR: buffered, drained by flusher() */
		atomic { tsb[me] = tsb[me] | vbit; posted = posted | vbit;
			 printf("S%d: OR pir |= %d (buffered)\n", me, vbit) };
#else
		if
		:: (pir & vbit) != 0 ->
			if
			:: (pir & vbit) != 0 ->
				s = status;
				if
				:: (s & (SN | ON)) != 0 -> goto next
				:: else -> skip /* armed without ON: kick */
				fi
			:: else -> skip
			fi
		:: else -> skip
		fi;
		/* b. fetch_or(pir, vbit), seq_cst: a full barrier on x86 */
		atomic { pir = pir | vbit; posted = posted | vbit;
			 printf("S%d: OR pir |= %d\n", me, vbit) };
#endif
		/* c. the receiver is awake (SN) or a kick is outstanding (ON):
		 * done, no shared write. CLOSED is a hint only. */
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
		/* d. CAS(status, s, s | ON); only the winner kicks */
		atomic {
			if
			:: status == s ->
				status = s | ON;
				won = true;
				printf("S%d: CAS ON won\n", me);
				/* no kick while the receiver is awake */
				assert(rx_window)
			:: else -> won = false
			fi
		};
		if
		:: won ->
			/* e. tx_kick(), a step of its own: the receiver may run
			 * between the CAS and the kick */
			if
			:: atomic { kfail < FAILKICK -> kfail++;
				printf("S%d: kick fails\n", me) };
#if BROKEN != 5
				/* uipc__desc_unpost(): fetch_and(status, ~ON) */
				atomic { status = status & ~ON;
					printf("S%d: unpost: ON cleared\n", me) };
#endif
				goto again /* the application notifies again */
			:: printf("S%d: kick\n", me);
#if RXMODE == 0
				futex_wake()
#elif RXMODE == 1
				sigpend = true   /* tgkill */
#else
				evfd++           /* eventfd write */
#endif
			fi
		:: else -> skip
		fi;
next:		n++;
again:		skip
	:: else -> break
	od;
	ndone++
}

#if PEER
/* a capability holder that scribbles on the descriptor (once each) */
active proctype peer()
{
	/* a forged or stale ON (with CLOSED) stored while the receiver is
	 * awake: the next arm must not keep it */
end_forge:
#if BROKEN == 6
#define FORGED ON          /* so that the lost wakeup, not the disarm assertion, shows */
#else
#define FORGED (ON | CLOSED)
#endif
	atomic { !rx_window && (status & ON) == 0 -> status = status | FORGED;
		 printf("P: forges status |= %d -> %d\n", FORGED, status) };
#if RXMODE == 2
	/* a write to the eventfd no ON announced */
end_write:
	atomic { evfd++; printf("P: stray eventfd write\n") }
#endif
}
#endif

#if BROKEN == 1 || BROKEN == 2
/* drains store buffers at any time (TSO: eventually) */
active proctype flusher()
{
end:	do
#if BROKEN == 1
	:: atomic { rsb_valid -> status = rsb; rsb_valid = false;
		printf("R: store buffer drains: status = %d\n", status) }
#else
	:: atomic { tsb[0] != 0 -> pir = pir | tsb[0]; tsb[0] = 0;
		printf("S0: store buffer drains: pir = %d\n", pir) }
	:: atomic { tsb[1] != 0 -> pir = pir | tsb[1]; tsb[1] = 0;
		printf("S1: store buffer drains: pir = %d\n", pir) }
#if NS > 2
	:: atomic { tsb[2] != 0 -> pir = pir | tsb[2]; tsb[2] = 0;
		printf("S2: store buffer drains: pir = %d\n", pir) }
#endif
#endif
	od
}
#endif

/* a locked RMW or a syscall by the receiver drains its store buffer first */
inline rx_drain_sb()
{
#if BROKEN == 1
	atomic { if :: rsb_valid -> status = rsb; rsb_valid = false :: else -> skip fi }
#else
	skip
#endif
}

/* uipc__rx_arm_status() -> uipc__desc_arm() (src/desc.h): exchange(status, 0), seq_cst */
inline arm()
{
#if BROKEN == 1
	/* plain store: sits in the store buffer; our own reads forward */
	atomic { rsb = 0; rsb_valid = true; rx_window = true; printf("R: arm (buffered)\n") }
#elif BROKEN == 6
	/* 0.x: fetch_and ~SN; futex_block() waited for that value */
	atomic { status = status & ~SN; expect = status; rx_window = true;
		 printf("R: arm, status = %d\n", status) }
#else
	atomic { status = 0; rx_window = true; printf("R: arm\n") }
#endif
}

/* uipc__rx_disarm(woken) -> uipc__desc_disarm(): exchange(status, SN); with an ack (eventfd),
 * count ON as owed and read while owed or after a wake */
inline rx_disarm(woken)
{
	rx_drain_sb();
	atomic {
		/* while the receiver was armed, senders wrote nothing but ON */
		assert(!rx_window || (status & ~ON) == 0);
		old = status; status = SN; rx_window = false;
		printf("R: disarm, old status %d\n", old);
#if RXMODE == 2 && BROKEN != 4
		/* (owed is the receiver's own: counted in the same step) */
		if :: (old & ON) != 0 -> owed++ :: else -> skip fi;
#endif
#if RXMODE != 2 || BROKEN != 4
		old = 0
#endif
	};
#if RXMODE == 2
#if BROKEN == 4
	/* 0.x: read when this disarm saw ON, and only in the drain */
	atomic { if
		 :: (old & ON) != 0 && !inarm -> evfd = 0; printf("R: read eventfd\n")
		 :: else -> skip
		 fi;
		 old = 0 }
#else
	if
	:: owed != 0 || woken ->
		/* rx_ack(): read() returns the count and clears it */
		atomic { k = evfd; evfd = 0;
			 if :: k >= owed -> owed = 0 :: else -> owed = owed - k fi;
			 printf("R: ack reads %d, owed %d\n", k, owed); k = 0 }
	:: else -> skip
	fi
#endif
#endif
}

#if RXMODE == 0
/* uipc_rx_wait(rx, timeout) called in a loop: the receiver keeps waiting */
active proctype receiver()
{
	byte m, old, spun;
	byte expect = 0; /* rx_block(rx, 0, ...): the armed status is 0 */
	bool tmo;

	do
	:: true ->
		/* uipc_rx_wait(): take */
		take(m);
		if
		:: m != 0 -> goto out
		:: else -> skip
		fi;
		/* wait_spin(): the budget can end after any number of looks */
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
			/* wait_block() */
			arm();
			take(m);
			if
			:: m != 0 -> rx_disarm(false); goto out /* came before we slept */
			:: else -> skip
			fi;
			/* rx_block(): FUTEX_WAIT compares and sleeps atomically */
			rx_drain_sb();
			tmo = false;
			atomic {
				if
				:: status == expect -> sleeping = true;
					printf("R: futex_wait(status == %d): sleeps\n", expect)
				:: else -> skip /* EAGAIN: returns 0 */
				fi
			};
end_block:		if
			:: !sleeping -> printf("R: awake\n") /* woken, or never slept */
			:: atomic { sleeping && timeouts < MAXTO ->
				sleeping = false; timeouts++; tmo = true } /* -ETIMEDOUT / -EINTR */
			fi;
			rx_disarm(!tmo);
			if
			:: tmo -> goto out /* returns -ETIMEDOUT / -EINTR; called again */
			:: else -> skip
			fi;
			take(m);
			if
			:: m != 0 -> goto out
			:: atomic { m == 0 && timeouts < MAXTO -> timeouts++ }; goto out /* deadline passed */
			:: m == 0 -> skip    /* a stray kick: block again */
			fi
		od;
out:		skip;
		d_step { m = 0; spun = 0; tmo = false; expect = 0 }
	od
}
#elif RXMODE == 1
/* handler mode: SN stays clear for good; the signal handler runs on the
 * receiver thread whenever a signal is pending (a real-time signal queues,
 * but one pending signal already guarantees a later dispatch) */
active proctype receiver()
{
	byte m;

	/* uipc_rx_set_handler(): SN off, then one dispatch for what was posted
	 * while SN was still set */
	atomic { status = status & ~SN; rx_window = true };
	goto handle;
end_idle:
	do
	:: atomic { sigpend -> sigpend = false };
handle:
#if BROKEN == 3
		/* wrong order: take, then clear ON */
		take(m);
		status = status & ~ON
#else
		/* uipc__rx_dispatch() -> uipc__desc_dispatch_take(): fetch_and(status, ~ON) first, then take: a
		 * notify after the take sees ON clear and signals again */
		status = status & ~ON;
		take(m)
#endif
	od
}
#else
/* epoll mode: uipc_rx_arm(); epoll_wait(); uipc_rx_drain() in a loop */
active proctype receiver()
{
	byte m, old, k, expect;
#if BROKEN == 4
	bool inarm;
#endif

	do
	:: true ->
		/* uipc_rx_arm() */
		m = 0;
		arm();
#if BROKEN == 4
		inarm = true;
#endif
#if BROKEN == 4
		/* 0.x: arm took pir; on a hit: disarm, put the bits back */
		take(m);
		if
		:: m != 0 ->
			rx_disarm(false);
			atomic { pir = pir | m; posted = posted | m };
			goto drain
		:: else -> skip
		fi;
#else
		/* the re-check, a seq_cst load: bits stay in pir for the drain */
		if
		:: pir != 0 -> rx_disarm(false); goto drain /* -EAGAIN */
		:: else -> skip
		fi;
#endif
		/* epoll_wait() on the eventfd: readable, or a timeout */
		rx_drain_sb();
end_block:	if
		:: evfd != 0 -> printf("R: epoll_wait: readable\n")
		:: atomic { timeouts < MAXTO -> timeouts++ }
		fi;
drain:		/* uipc_rx_drain() */
#if BROKEN == 4
		inarm = false;
		rx_disarm(false);
		take(m)
#else
		take(m);
		rx_disarm(m == 0);
		take(m)
#endif
	od
}
#endif

/* When nothing can move any more: every posted bit was taken. (Left out
 * of the liveness runs, so that the LTL property alone must catch it.) */
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
		:: i < NS -> run sender(i); i++
		:: else -> break
		od
	}
}
