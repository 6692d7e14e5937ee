/* SPDX-License-Identifier: MIT */
/*
 * Model of a uipc SPSC channel (src/chan.c) on top of the notify/wait
 * protocol (src/tx.c, src/rx.c; see notify.pml for the protocol alone).
 *
 * A ring of CAP slots, NITEMS values 1..NITEMS sent in order. Two
 * descriptors: C, the consumer's (the producer notifies it after publishing
 * the tail: empty -> non-empty), and P, the producer's (the consumer notifies
 * it after publishing the head: full -> non-full). Each side waits with the
 * receiver protocol (take, spin, arm + re-check, futex_wait, wake) and
 * re-checks the ring after every return of the wait.
 *
 * Memory model: the slot and index stores are plain (release) stores, each
 * followed by the notify's fence(seq_cst) before any later load, so plain
 * interleaving is exact for the correct code (see notify.pml). BROKEN removes
 * the fence of the notify's coalescing check (step a) on one side and models
 * the index store as sitting in that thread's store buffer, drained at any
 * time or by its next locked instruction or syscall (a newer store to the
 * index replaces the buffered one: the same as both draining back to back):
 *   BROKEN 1: the producer's tail store passes its load of the consumer's
 *             pir; when the bit is still pending it returns, the consumer
 *             takes the bit, reads the old tail and goes back to sleep;
 *   BROKEN 2: the same on the consumer's head store (full -> non-full).
 *
 * Properties: exactly once and in order (assertion on every value received);
 * the run ends with everything sent and received: any state where nothing
 * can move before that (a side asleep for ever: lost wakeup, or deadlock) is
 * an invalid end state (no end labels anywhere); the "no kick while awake"
 * assertion of notify.pml on both descriptors; ltl all_received under weak
 * fairness.
 */

#define ON     1
#define SN     2
#define CLOSED 4

#ifndef CAP
#define CAP 2
#endif
#ifndef NITEMS
#define NITEMS 4
#endif
#ifndef SPIN
#define SPIN 1
#endif
#ifndef BROKEN
#define BROKEN 0
#endif

#define DC 0 /* consumer's descriptor */
#define DP 1 /* producer's descriptor */
#define BIT 1

/* descriptors: both sides start awake */
byte status[2] = SN;
byte pir[2];
bool sleeping[2];
bool rx_window[2]; /* ghost: the owner is between arm and wake */

/* the ring */
byte ring[CAP];
byte tail = 0;     /* written by the producer */
byte head = 0;     /* written by the consumer */

/* store buffers of the broken variants: one pending index store */
bool sb_valid = false;
byte sb_val = 0;

byte received = 0; /* ghost */

ltl all_received { <> (received == NITEMS) }

/* Drain the calling side's store buffer: at a locked instruction, a fence or
 * a syscall. BROKEN 1 buffers the producer's tail, BROKEN 2 the consumer's
 * head; me says which side is calling. */
inline drain_sb(me)
{
#if BROKEN == 1
	if
	:: me == DP -> atomic { if :: sb_valid -> tail = sb_val; sb_valid = false :: else fi }
	:: else
	fi
#elif BROKEN == 2
	if
	:: me == DC -> atomic { if :: sb_valid -> head = sb_val; sb_valid = false :: else fi }
	:: else
	fi
#else
	skip
#endif
}

/* uipc_tx_notify() on descriptor d, called by side me */
inline notify(d, me)
{
	/* a. fence(seq_cst), then: bit still pending -> nothing to do */
#if BROKEN == 0
	drain_sb(me);
#endif
	if
	:: (pir[d] & BIT) != 0 -> skip
	:: else ->
		/* b. fetch_or (locked: drains the store buffer) */
		drain_sb(me);
		pir[d] = pir[d] | BIT;
		/* c. */
		s = status[d];
		if
		:: (s & (SN | ON | CLOSED)) != 0 -> skip
		:: else ->
			/* d. CAS, kick (futex_wake) if won */
			atomic {
				if
				:: status[d] == s ->
					status[d] = s | ON;
					assert(rx_window[d]);
					won = true
				:: else -> won = false
				fi
			};
			if
			:: won -> atomic { if :: sleeping[d] -> sleeping[d] = false :: else fi }
			:: else
			fi
		fi
	fi
}

/* step 5 of the wait */
inline wake(d)
{
	atomic { status[d] = status[d] | SN; rx_window[d] = false };
	assert((status[d] & ~ON) == SN);
	status[d] = SN
}

/* uipc_rx_wait(rx, infinite) on descriptor d owned by side me: returns when
 * the bit was taken */
inline rxwait(d, me)
{
	drain_sb(me); /* the exchange is locked */
	do
	:: atomic { m = pir[d]; pir[d] = 0 };             /* 1. take */
		if
		:: m != 0 -> break
		:: else
		fi;
		hit = false;                              /* 2. spin */
		spun = 0;
		do
		:: spun < SPIN ->
			if
			:: pir[d] != 0 -> hit = true; break
			:: else -> spun++
			fi
		:: break
		od;
		if
		:: hit -> skip                            /* back to 1 */
		:: else ->
			/* 3. arm, re-check */
			atomic { status[d] = status[d] & ~SN; armed = status[d] & ~ON;
				 rx_window[d] = true };
			if
			:: pir[d] != 0 -> wake(d)
			:: else ->
				/* 4. futex_wait(&status, armed) */
				atomic { if :: status[d] == armed -> sleeping[d] = true :: else fi };
				!sleeping[d];
				/* 5. */
				wake(d)
			fi
		fi
	od
}

active proctype producer()
{
	byte v = 1, tl = 0, h, s, m, armed, spun; /* tl: own copy of the tail */
	bool won, hit;

	do
	:: v <= NITEMS ->
		h = head; /* the cached head is refreshed only when the ring looks full */
		if
		:: tl - h >= CAP -> rxwait(DP, DP) /* full: wait, then look again */
		:: else ->
			ring[tl % CAP] = v;
			tl++;
#if BROKEN == 1
			/* publish the tail: a plain store, still in the store buffer */
			atomic { sb_val = tl; sb_valid = true };
#else
			tail = tl;
#endif
			notify(DC, DP);
			v++
		fi
	:: else -> break
	od
}

active proctype consumer()
{
	byte expect = 1, hd = 0, t, val, s, m, armed, spun; /* hd: own copy of the head */
	bool won, hit;

	do
	:: expect <= NITEMS ->
		t = tail;
		if
		:: t == hd -> rxwait(DC, DC) /* empty: wait, then look again */
		:: else ->
			val = ring[hd % CAP];
			/* exactly once, in order */
			assert(val == expect);
			expect++;
			received++;
			hd++;
#if BROKEN == 2
			atomic { sb_val = hd; sb_valid = true };
#else
			head = hd;
#endif
			notify(DP, DC)
		fi
	:: else -> break
	od
}

#if BROKEN
active proctype flusher()
{
end:	do
#if BROKEN == 1
	:: atomic { sb_valid -> tail = sb_val; sb_valid = false }
#else
	:: atomic { sb_valid -> head = sb_val; sb_valid = false }
#endif
	od
}
#endif
