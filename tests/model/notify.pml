/* SPDX-License-Identifier: MIT */
/*
 * Model of the uipc notify/wait protocol on one receiver descriptor, with NS
 * senders and one receiver that keeps waiting. Each step is one atomic
 * access of the code, named after the function that does it:
 *   sender:   uipc_tx_notify() -> uipc__desc_post() (src/desc.c): relaxed
 *             look at pir; if the bit is set, fence(seq_cst) and look again,
 *             return if still set (coalesced, no shared write); fetch_or
 *             pir; load status, return on SN|ON|CLOSED; CAS status s ->
 *             s|ON; the winner kicks (tx_kick: futex_wake / eventfd write /
 *             signal).
 *   RXMODE 0, rx_wait_protocol() (src/rx.c) with the futex backend: take
 *             (exchange pir); spin_wait() (loads, take on a hit); then loop
 *             { uipc__desc_arm(): fetch_and ~SN, take, on a hit
 *             uipc__desc_disarm() (exchange status = SN) and return;
 *             futex_block(expect = old & ~SN); disarm; take, return if
 *             non-zero; return -ETIMEDOUT/-EINTR on those; else arm again }.
 *   RXMODE 1, handler mode (signal backend): uipc_rx_set_handler() clears
 *             SN and runs uipc__rx_dispatch() once; every signal runs
 *             uipc__rx_dispatch(): fetch_and ~ON, then take.
 *   RXMODE 2, epoll mode (eventfd backend): uipc_rx_arm() (desc_arm; on a
 *             hit put the mask back with fetch_or and return -EAGAIN);
 *             epoll_wait() on the eventfd; uipc_rx_drain() (disarm; read the
 *             eventfd when the old status had ON; take).
 * The application loop calls wait / arm+drain again forever; the block may
 * time out or be interrupted at most MAXTO times in all (finite timeouts,
 * EINTR), beyond that it is infinite.
 *
 * Memory model: every shared access here is a locked RMW, a fence, or a load
 * right after one, so on x86-TSO the only reordering that could matter is a
 * store passing a later load; the code has a full barrier at each such
 * place, which makes plain interleaving (SC) exact. BROKEN selects a variant
 * with one barrier removed, modelled with a store buffer drained at any time
 * (TSO; or a release-only RMW on weaker CPUs):
 *   BROKEN 1: the receiver's arm (fetch_and ~SN) without its barrier (a
 *             relaxed RMW or plain store on a weakly ordered CPU): the store
 *             is buffered and the take that re-checks pir runs before
 *             senders can see SN clear;
 *   BROKEN 2: the sender's pir OR is release-only (buffered), so its load of
 *             status can run before the receiver sees the bit;
 *   BROKEN 3 (handler mode): uipc__rx_dispatch() takes pir before clearing
 *             ON, so a notify in between sees ON, does not signal, and its
 *             bit stays pending.
 * All must be rejected: the lost wakeup shows up as a quiescent state with a
 * posted bit never taken (assertion in the watchdog) and as a violation of
 * the LTL property.
 *
 * Properties:
 *   - assertion "no kick while awake": a sender's CAS succeeds (it will kick)
 *     only while the receiver is between its arm (SN cleared) and its disarm
 *     (SN set again); the ghost rx_window follows the receiver's program
 *     counter, not the status word.
 *   - assertion at every disarm: while SN was clear senders wrote nothing but
 *     ON into the status word.
 *   - watchdog: when nothing can move any more, every posted bit was taken
 *     (owed == 0) and all senders finished; the receiver may only be asleep
 *     (end labels). Any other stuck state is an invalid end state (deadlock).
 *   - ltl no_lost_wakeup: every posted bit is eventually taken (run with
 *     weak fairness, -a -f).
 */

#define ON     1
#define SN     2
#define CLOSED 4

#ifndef NS
#define NS 3          /* senders */
#endif
#ifndef NOTIFIES
#define NOTIFIES 2    /* notifies per sender */
#endif
#ifndef NBITS
#define NBITS 2       /* sender i posts vector i % NBITS: senders 0 and 2 share one */
#endif
#ifndef SPIN
#define SPIN 1        /* spin iterations at most (the budget may end earlier) */
#endif
#ifndef MAXTO
#define MAXTO 1       /* timeouts / spurious returns of the block, in total */
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
bool sleeping = false; /* receiver asleep in futex_wait / epoll_wait */
byte evfd = 0;          /* eventfd counter (RXMODE 2), saturates at 1 */
bool sigpend = false;  /* signal pending for the receiver thread (RXMODE 1) */

/* ghosts */
byte owed = 0;           /* bits posted by a finished OR and not yet taken */
bool rx_window = false;  /* receiver between arm and wake */
byte ndone = 0;          /* senders finished */
byte timeouts = 0;
byte kicks = 0;
byte taken = 0;          /* non-empty masks returned to the application */

#if BROKEN == 1
bool rsb_valid = false;  /* receiver's store buffer: one pending store to status */
byte rsb = 0;
#endif
#if BROKEN == 2
byte tsb[NS];            /* each sender's buffered pir OR (0: empty) */
#endif

ltl no_lost_wakeup { [] ((owed != 0) -> <> (owed == 0)) }

/* ---------------------------------------------------------------- */
/* kernel: futex and eventfd                                         */

/* futex_wake(&status, 1) */
inline futex_wake()
{
	atomic { if :: sleeping -> sleeping = false :: else -> skip fi }
}

/* the receiver's take: exchange(pir, 0) */
inline take(m)
{
	atomic { m = pir; pir = 0; owed = owed & ~m; if :: m != 0 -> taken++ :: else -> skip fi;
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
		 * A relaxed look, then fence(seq_cst) and a second look: the
		 * receiver has not taken the bit yet and will: no shared write.
		 * (SC: the fence is the point between the two loads.) */
#if BROKEN == 2
		if
		:: ((pir | tsb[me]) & vbit) != 0 -> /* store forwarding */
			if
			:: ((pir | tsb[me]) & vbit) != 0 -> goto next
			:: else -> skip
			fi
		:: else -> skip
		fi;
		/* b. release-only OR: buffered, drained by flusher() */
		atomic { tsb[me] = tsb[me] | vbit; owed = owed | vbit;
			 printf("S%d: OR pir |= %d (buffered)\n", me, vbit) };
#else
		if
		:: (pir & vbit) != 0 ->
			if
			:: (pir & vbit) != 0 -> goto next
			:: else -> skip
			fi
		:: else -> skip
		fi;
		/* b. fetch_or(pir, vbit), seq_cst: a full barrier on x86 */
		atomic { pir = pir | vbit; owed = owed | vbit;
			 printf("S%d: OR pir |= %d\n", me, vbit) };
#endif
		/* c. the receiver is awake (SN), a kick is outstanding (ON) or it
		 * is gone (CLOSED): done, no shared write */
		atomic { s = status;
			 if
			 :: (s & (SN | ON | CLOSED)) != 0 ->
				printf("S%d: status %d has SN|ON: no kick\n", me, s)
			 :: else -> skip
			 fi };
		if
		:: (s & (SN | ON | CLOSED)) != 0 -> goto next
		:: else -> skip
		fi;
		/* d. CAS(status, s, s | ON); only the winner kicks */
		atomic {
			if
			:: status == s ->
				status = s | ON;
				won = true;
				printf("S%d: CAS ON won: kick\n", me);
				/* no kick while the receiver is awake */
				assert(rx_window);
				kicks++
			:: else -> won = false
			fi
		};
		if
		:: won ->
#if RXMODE == 0
			futex_wake()
#elif RXMODE == 1
			sigpend = true   /* tgkill */
#else
			evfd = 1          /* eventfd write */
#endif
		:: else -> skip
		fi;
next:		n++
	:: else -> break
	od;
	ndone++
}

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

/* uipc__desc_disarm(): exchange(status, SN); old is the value before */
inline disarm(old)
{
	rx_drain_sb();
	atomic {
		/* while SN was clear, senders wrote nothing but ON (a drain
		 * after an arm that said -EAGAIN finds SN already set) */
		assert((status & ~(ON | SN)) == 0 && (!rx_window || (status & SN) == 0));
		old = status; status = SN; rx_window = false }
}

/* uipc__desc_arm(): fetch_and(status, ~SN), then take pir; on a hit disarm
 * and hand back the mask (-EAGAIN). expect: what futex_block() waits for. */
inline desc_arm(m, expect)
{
#if BROKEN == 1
	/* plain store: sits in the store buffer; our own reads forward */
	atomic { expect = (rsb_valid -> rsb : status) & ~SN; rsb = expect; rsb_valid = true;
		 rx_window = true };
	/* the take is a plain load + store here: it does not drain */
	atomic { m = pir; pir = 0; owed = owed & ~m; if :: m != 0 -> taken++ :: else -> skip fi;
		 printf("R: armed, take pir -> %d\n", m) };
#else
	atomic { expect = status & ~SN; status = expect; rx_window = true };
	atomic { m = pir; pir = 0; owed = owed & ~m; if :: m != 0 -> taken++ :: else -> skip fi;
		 printf("R: armed, take pir -> %d\n", m) };
#endif
	if
	:: m != 0 -> disarm(old)
	:: else -> skip
	fi
}

#if RXMODE == 0
/* uipc_rx_wait(rx, timeout) called in a loop: the receiver keeps waiting */
active proctype receiver()
{
	byte m, old, spun, expect;
	bool tmo;

	do
	:: true ->
		/* rx_wait_protocol(): take */
		take(m);
		if
		:: m != 0 -> goto out
		:: else -> skip
		fi;
		/* spin_wait(): the budget can end after any number of loads */
		spun = 0;
		do
		:: spun < SPIN ->
			if
			:: pir != 0 -> take(m); goto out
			:: else -> spun++
			fi
		:: break
		od;
		do
		:: true ->
			desc_arm(m, expect);
			if
			:: m != 0 -> goto out /* -EAGAIN: arrived before we blocked */
			:: else -> skip
			fi;
			/* futex_block(): FUTEX_WAIT compares and sleeps atomically */
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
			:: atomic { !sleeping && timeouts < MAXTO -> timeouts++; tmo = true }
			fi;
			disarm(old);
			take(m);
			if
			:: m != 0 -> goto out
			:: else -> skip
			fi;
			if
			:: tmo -> goto out /* returns -ETIMEDOUT / -EINTR; called again */
			:: else -> skip    /* a stray kick: block again */
			fi
		od;
out:		skip
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
		/* uipc__rx_dispatch(): fetch_and(status, ~ON) first, then take: a
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
	byte m, old, expect;

	do
	:: true ->
		desc_arm(m, expect);
		if
		:: m != 0 ->
			/* uipc_rx_arm(): put back what arm took, -EAGAIN */
			atomic { pir = pir | m; owed = owed | m };
			goto drain
		:: else -> skip
		fi;
		/* epoll_wait() on the eventfd: readable, or a timeout */
		rx_drain_sb();
end_block:	if
		:: evfd != 0 -> skip
		:: atomic { timeouts < MAXTO -> timeouts++ }
		fi;
drain:		/* uipc_rx_drain(): disarm; read the eventfd if a kick was sent */
		disarm(old);
		if
		:: (old & ON) != 0 -> evfd = 0 /* non-blocking read */
		:: else -> skip
		fi;
		take(m)
	od
}
#endif

/* When nothing can move any more: every posted bit was taken. (Left out
 * of the liveness runs, so that the LTL property alone must catch it.) */
#ifndef NOWATCHDOG
active proctype watchdog()
{
	timeout -> assert(owed == 0 && ndone == NS)
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
