/* SPDX-License-Identifier: MIT */
/*
 * Model of the uipc notify/wait protocol (src/tx.c, src/rx.c) on one
 * receiver descriptor, with NS senders and one receiver that waits forever.
 *
 * What is modelled, step by step as the code does it:
 *   sender  uipc_tx_notify():  a. fence + load pir, coalesce if the bit is
 *           pending; b. fetch_or pir; c. load status, stop on SN|ON|CLOSED;
 *           d. CAS status s -> s|ON, kick (futex_wake) only if it succeeded.
 *   receiver uipc_rx_wait():   1. exchange pir; 2. bounded spin on loads of
 *           pir; 3. arm: fetch_and ~SN, re-check pir (undo on hit);
 *           4. futex_wait(status, armed value with ON clear); 5. fetch_or SN,
 *           store status = SN (clears ON), timeout -> take pir and return.
 *   handler mode (RXMODE 1, signal backend): SN stays clear, the kick is a
 *           signal, the handler clears ON and then takes pir.
 *   epoll mode (RXMODE 2, eventfd backend): uipc_rx_arm() = step 3,
 *           epoll_wait() on the eventfd, uipc_rx_drain() = step 5 + exchange.
 *
 * Memory model: every operation here is a locked RMW, a seq_cst store
 * (xchg / mov+mfence) or a load, so on x86-TSO the only reordering that could
 * matter is a store passing a later load; the correct protocol has a full
 * barrier at each such place, which makes plain interleaving (SC) exact.
 * BROKEN selects a variant with one barrier removed, modelled with a store
 * buffer that drains at any time (TSO, or release-only RMW on weaker CPUs):
 *   BROKEN 1: the receiver's arm is a plain store (status &= ~SN buffered),
 *             so its re-check of pir can run before senders see SN clear;
 *   BROKEN 2: the sender's pir OR is release-only (buffered), so its load of
 *             status can run before the receiver sees the bit.
 *   BROKEN 3 (handler mode): the handler takes pir before clearing ON, so a
 *             notify in between sees ON, does not signal, and its bit stays.
 * Both must be rejected: the lost wakeup shows up as a quiescent state with a
 * posted bit never taken (assertion in the watchdog) and as a violation of
 * the LTL property.
 *
 * Properties:
 *   - assertion "no kick while awake": a sender's CAS succeeds (it will kick)
 *     only while the receiver is between its arm (SN cleared) and its wake
 *     (SN set again); the ghost rx_window follows the receiver's program
 *     counter, not the status word.
 *   - assertion on step 5: while SN is set no sender writes the status word,
 *     so the store status = SN only drops ON.
 *   - watchdog: when nothing can move any more, every posted bit was taken
 *     (owed == 0) and all senders finished; the receiver may only be asleep
 *     in futex_wait (end label). Any other stuck state is an invalid end
 *     state (deadlock).
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
byte done = 0;           /* senders finished */
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
		/* a. fence(seq_cst); if the vbit is still pending the receiver has
		 * not taken it yet and will: nothing to write. */
#if BROKEN == 2
		if
		:: ((pir | tsb[me]) & vbit) != 0 -> goto next /* store forwarding */
		:: else -> skip
		fi;
		/* b. release-only OR: buffered, drained by flusher() */
		atomic { tsb[me] = tsb[me] | vbit; owed = owed | vbit;
			 printf("S%d: OR pir |= %d (buffered)\n", me, vbit) };
#else
		if
		:: (pir & vbit) != 0 -> goto next
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
	done++
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

/* step 5: SN on (senders stop), then drop ON */
inline wake()
{
	rx_drain_sb();
	atomic { status = status | SN; rx_window = false };
	/* while SN is set no sender writes the word */
	assert((status & ~ON) == SN);
	status = SN
}

/* step 3, arm: SN off, then re-check pir. Sets hit when something is
 * pending (and SN is back on). armed is the value futex_wait expects. */
inline arm(hit, armed)
{
#if BROKEN == 1
	atomic { rsb = status & ~SN; rsb_valid = true; armed = rsb & ~ON; rx_window = true };
#else
	atomic { status = status & ~SN; armed = status & ~ON; rx_window = true };
#endif
	atomic {
		if
		:: pir != 0 -> hit = true
		:: else -> hit = false; printf("R: armed, re-check finds pir = 0\n")
		fi };
	if
	:: hit -> wake()
	:: else -> skip
	fi
}

#if RXMODE == 0
/* uipc_rx_wait(rx, timeout) called in a loop: the receiver keeps waiting */
active proctype receiver()
{
	byte m, spun, armed;
	bool hit, tmo;

	do
	:: true ->
		/* 1. take */
again:		take(m);
		if
		:: m != 0 -> goto out
		:: else -> skip
		fi;
		/* 2. spin: the budget can end after any number of loads */
		spun = 0;
		do
		:: spun < SPIN ->
			if
			:: pir != 0 -> goto again
			:: else -> spun++
			fi
		:: break
		od;
		/* 3. arm and re-check */
		arm(hit, armed);
		if
		:: hit -> goto again
		:: else -> skip
		fi;
		/* 4. futex_wait(&status, armed): compares and sleeps atomically */
		rx_drain_sb();
		tmo = false;
		atomic {
			if
			:: status == armed -> sleeping = true;
				printf("R: futex_wait(status == %d): sleeps\n", armed)
			:: else -> skip /* EAGAIN */
			fi
		};
end_block:	if
		:: !sleeping -> printf("R: awake\n")  /* woken, or never slept */
		:: atomic { sleeping && timeouts < MAXTO ->
			sleeping = false; timeouts++; tmo = true }
		fi;
		/* 5. wake */
		wake();
		if
		:: tmo -> take(m) /* 0 here is -ETIMEDOUT; the loop waits again */
		:: else -> goto again
		fi;
out:		skip
	od
}
#elif RXMODE == 1
/* handler mode: SN stays clear for good; the signal handler runs on the
 * receiver thread whenever a signal is pending (standard signals coalesce) */
active proctype receiver()
{
	byte m, s;

	/* uipc_rx_set_handler(): SN off, then one handler run for what was
	 * posted while SN was still set */
	atomic { status = status & ~SN; rx_window = true };
	goto handle;
end_idle:
	do
	:: atomic { sigpend -> sigpend = false };
		/* handler: clear ON first (a seq_cst store of the loaded value
		 * without ON), then take: a notify after the take sees ON clear
		 * and signals again */
#if BROKEN == 3
		/* wrong order: take, then clear ON */
handle:		take(m);
		s = status;
		status = s & ~ON
#else
handle:		s = status;
		status = s & ~ON;
		take(m)
#endif
	od
}
#else
/* epoll mode: uipc_rx_arm(); epoll_wait(); uipc_rx_drain() in a loop */
active proctype receiver()
{
	byte m, armed;
	bool hit;

	do
	:: true ->
		arm(hit, armed);
		if
		:: hit -> take(m); goto out   /* -EAGAIN: drain now */
		:: else -> skip
		fi;
		/* epoll_wait on the eventfd */
end_block:	if
		:: atomic { evfd != 0 -> evfd = 0 }  /* readable; drain reads it */
		:: atomic { timeouts < MAXTO -> timeouts++ }
		fi;
		/* uipc_rx_drain() */
		wake();
		take(m);
out:		skip
	od
}
#endif

/* When nothing can move any more: every posted vbit was taken. */
active proctype watchdog()
{
	timeout -> assert(owed == 0 && done == NS)
}

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
