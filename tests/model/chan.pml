/* SPDX-License-Identifier: MIT */
/*
 * Model of a uipc SPSC channel (src/chan-ring.h; the ends in
 * src/chan-consumer.c and src/chan-producer.c) on top of the notify/wait
 * protocol (see notify.pml for the protocol alone).
 *
 * A ring of CAP slots; NITEMS values 1..NITEMS are sent in order.
 * Data direction (empty -> non-empty): the producer writes the slot, stores
 * its sequence number (release: position + 1) and calls uipc_tx_notify()
 * (ptx_publish()) on the consumer's descriptor; the consumer (chan_wait())
 * loads the head slot's sequence number seq_cst (chan_avail()): position + 1
 * is a message, position + 1 - CAP (the previous lap's) an empty slot,
 * anything else is impossible (assertion); when it is empty, the consumer
 * waits with uipc__wait() (src/wait.c) and chan_look(): spin on the slot's
 * sequence, arm (exchange status 0), look (take pir, then the sequence,
 * seq_cst), FUTEX_WAIT(status == 0), disarm (exchange SN), look. The post
 * is uipc__desc_post() as in notify.pml (pending path with its look at
 * status). The tail index the producer also stores is only read by the
 * next producer to attach, so it is left out.
 * Space direction (full -> non-full): the producer (ptx_space_wait()) loads
 * space_seq, sets the space_waiters flag (seq_cst store), re-checks the
 * published head (ptx_has_space()) and futex-waits on space_seq; the
 * consumer (chan_consumed() / chan_publish()) stores its head seq_cst every
 * BATCH messages and before it waits, then loads space_waiters and, if set,
 * clears it, bumps space_seq and wakes all (space_wake()).
 * The code's wait slices (periodic timeouts for liveness checks) are left
 * out: a wakeup lost here would only be hidden by them, not prevented.
 * Fence-free producers in the consumer's process (membarrier() once per
 * consumer sleep) are not modelled: the producer here always fences.
 *
 * Memory model: as in notify.pml, plain interleaving is exact for the code
 * (the sequence store is followed by the post's fence or locked OR before
 * any later load; the head store is seq_cst). BROKEN removes one barrier and
 * models the index store as sitting in that thread's store buffer, drained
 * at any time or by the thread's next locked instruction, fence or syscall
 * (a newer store replaces the buffered one: the same as both draining back
 * to back):
 *   BROKEN 1: no fence in uipc__desc_post()'s coalescing path: the
 *             sequence store passes the second look at pir; when the bit
 *             is still pending the post returns, the consumer takes the
 *             bit, reads the old sequence and sleeps for ever;
 *   BROKEN 2: the consumer's head store is release only: the load of
 *             space_waiters passes it, the producer registered, saw the old
 *             head and sleeps, the consumer saw no waiter and never wakes it.
 *
 * Properties: exactly once and in order (assertion on every value
 * received); the run ends with everything sent and received: any state where
 * nothing can move before that (a side asleep for ever: lost wakeup, or
 * deadlock) is an invalid end state (no end labels on the sleeps); the "no
 * kick while awake" and disarm assertions of notify.pml; ltl all_received
 * under weak fairness.
 */

#define ON     1
#define SN     2
#define CLOSED 4

#ifndef CAP
#define CAP 2
#endif
#ifndef NITEMS
#define NITEMS 5
#endif
#ifndef BATCH
#define BATCH (CAP / 4) /* c->batch in uipc_chan_new() */
#endif
#ifndef SPIN
#define SPIN 1
#endif
#ifndef BROKEN
#define BROKEN 0
#endif

#define BIT 1

/* the consumer's descriptor */
byte status = SN;
byte pir = 0;
bool csleep = false;   /* consumer in futex_wait on status */
bool rx_window = false;

/* the ring: payloads and sequence numbers (set up by init) */
byte ring[CAP];
byte seqs[CAP];
byte head = 0;         /* published by the consumer */
byte space_seq = 0;    /* futex word of the space direction */
byte space_waiters = 0;
bool psleep = false;   /* producer in futex_wait on space_seq */

/* store buffer of the broken variants: one pending index store (BROKEN 1:
 * of seqs[sb_idx]) */
bool sb_valid = false;
byte sb_val = 0;
byte sb_idx = 0;

byte received = 0;     /* ghost */

ltl all_received { <> (received == NITEMS) }

/* BROKEN 1 buffers the producer's sequence store, BROKEN 2 the consumer's
 * head; drain at a locked instruction, fence or syscall of the owning side */
inline drain_seq()
{
#if BROKEN == 1
	atomic { if :: sb_valid -> seqs[sb_idx] = sb_val; sb_valid = false :: else fi }
#else
	skip
#endif
}

inline drain_head()
{
#if BROKEN == 2
	atomic { if :: sb_valid -> head = sb_val; sb_valid = false :: else fi }
#else
	skip
#endif
}

/* the consumer's take: exchange(pir, 0) (locked) */
inline take(m)
{
	drain_head();
	atomic { m = pir; pir = 0 }
}

/* uipc__desc_disarm() */
inline disarm()
{
	drain_head();
	atomic {
		assert((status & ~(ON | SN)) == 0 && (!rx_window || (status & SN) == 0));
		status = SN; rx_window = false }
}

/* ptx_publish() -> uipc_tx_notify() -> uipc__desc_post(), by the producer */
inline post()
{
	if
	:: (pir & BIT) != 0 ->
		/* fence(seq_cst), look again, and at status: armed without
		 * ON is not covered by the pending bit */
#if BROKEN != 1
		drain_seq();
#endif
		pend = ((pir & BIT) != 0);
		if
		:: pend -> pend = ((status & (SN | ON)) != 0)
		:: else
		fi
	:: else -> pend = false
	fi;
	if
	:: pend -> skip /* coalesced */
	:: else ->
		drain_seq(); /* locked OR */
		pir = pir | BIT;
		s = status;
		if
		:: (s & (SN | ON)) != 0 -> skip
		:: else ->
			atomic {
				if
				:: status == s -> status = s | ON; won = true;
					/* no kick while the consumer is awake */
					assert(rx_window)
				:: else -> won = false
				fi
			};
			if
			:: won -> atomic { if :: csleep -> csleep = false :: else fi } /* futex_wake */
			:: else
			fi
		fi
	fi
}

/* chan_wait() -> uipc__wait() (src/wait.c) with chan_look(), by the
 * consumer, infinite: returns once the head slot holds a message */
inline rx_wait()
{
	/* wait_spin(): chan_avail() only */
	spun = 0;
	ready = false;
	do
	:: spun < SPIN ->
		if
		:: seqs[hd % CAP] == hd + 1 -> ready = true; break
		:: else -> spun++
		fi
	:: break
	od;
	do
	:: ready -> break
	:: else ->
		/* wait_block(): uipc__rx_arm_status() -> uipc__desc_arm(), exchange(status, 0) */
		drain_head();
		atomic { status = 0; rx_window = true };
		/* chan_look(): take pir, then chan_avail() (seq_cst) */
		take(m);
		ready = (seqs[hd % CAP] == hd + 1);
		if
		:: ready -> disarm()
		:: else ->
			/* rx_block(): FUTEX_WAIT(status == 0) */
			atomic { if :: status == 0 -> csleep = true :: else fi };
			!csleep;
			disarm();
			take(m);
			ready = (seqs[hd % CAP] == hd + 1)
		fi
	od;
	skip;
	d_step { m = 0; spun = 0; ready = false }
}

/* chan_publish(): store head (seq_cst), then look for space waiters */
inline publish()
{
#if BROKEN == 2
	atomic { sb_val = hd; sb_valid = true };
#else
	head = hd;
#endif
	published = hd;
	if
	:: space_waiters != 0 ->
		/* space_wake(): clear the flag, locked add, futex_wake all */
		space_waiters = 0;
		drain_head();
		space_seq++;
		atomic { if :: psleep -> psleep = false :: else fi }
	:: else
	fi
}

proctype producer()
{
	byte v = 1, tl = 0, hcache = 0, s, seq;
	bool pend, won;

	do
	:: v <= NITEMS ->
		/* spsc_space(): the cached head first, then the published one */
		if
		:: tl - hcache >= CAP -> hcache = head
		:: else
		fi;
		if
		:: tl - hcache >= CAP ->
			/* full: ptx_space_wait(), then try again */
			seq = space_seq;
			drain_seq();
			space_waiters = 1; /* a flag, seq_cst */
			/* ptx_has_space() */
			if
			:: tl - head >= CAP ->
				atomic { if :: space_seq == seq -> psleep = true :: else fi };
				!psleep
			:: else
			fi
		:: else ->
			ring[tl % CAP] = v;
#if BROKEN == 1
			/* the release store of the sequence, still in the store buffer */
			atomic { sb_idx = tl % CAP; sb_val = tl + 1; sb_valid = true };
#else
			seqs[tl % CAP] = tl + 1;
#endif
			tl++;
			post();
			v++
		fi
	:: else -> break
	od
}

proctype consumer()
{
	byte expect = 1, hd = 0, published = 0, val, m, spun, sq, emp;
	bool ready;

	do
	:: expect <= NITEMS ->
		/* chan_wait() / chan_avail() */
		sq = seqs[hd % CAP];
		emp = hd + 1 - CAP;
		assert(sq == hd + 1 || sq == emp);
		if
		:: sq == emp ->
			if
			:: hd != published -> publish()
			:: else
			fi;
			rx_wait()     /* then look again */
		:: else ->
			/* chan_take() of one message */
			val = ring[hd % CAP];
			assert(val == expect); /* exactly once, in order */
			expect++;
			received++;
			/* chan_consumed() */
			hd++;
			if
			:: hd - published >= BATCH -> publish()
			:: else
			fi
		fi
	:: else -> break
	od
}

#if BROKEN
proctype flusher()
{
end:	do
#if BROKEN == 1
	:: atomic { sb_valid -> seqs[sb_idx] = sb_val; sb_valid = false }
#else
	:: atomic { sb_valid -> head = sb_val; sb_valid = false }
#endif
	od
}
#endif

init
{
	byte i = 0;

	/* chan_shm_init(): slot i says i + 1 - CAP, "empty from the lap before" */
	d_step {
		do
		:: i < CAP -> seqs[i] = i + 1 - CAP; i++
		:: else -> break
		od
	};
	atomic {
		run producer();
		run consumer();
#if BROKEN
		run flusher()
#endif
	}
}
