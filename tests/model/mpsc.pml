/* SPDX-License-Identifier: MIT */
/*
 * Model of an MPSC channel's claims and of the consumer passing the slots
 * of a dead producer (src/chan-producer.c: mpsc_claim(), ptx_publish();
 * src/chan-private.h: chan_avail(); src/chan-consumer.c: chan_pass_holes(),
 * chan_claimer_dead()).
 *
 * NPROD producers (2 or 3) each send NITEMS messages through a ring of CAP
 * slots. The last one, the victim, may die at any point (it stops for good:
 * SIGKILL), in particular between claiming a slot and publishing it. A producer claims
 * position pos when the slot's sequence says pos (free for this lap): it
 * records (pos, 1) in its claim entry, then compare-and-swaps the tail from
 * pos to pos + 1, writes the message and publishes the sequence pos + 1.
 * The consumer takes the head slot when it says head + 1 and frees it with
 * head + CAP. When the head slot says head (empty) while the tail is past
 * it, a producer claimed it: if every producer whose entry covers head is
 * dead (its ring lock released: here the ghost flag dead[]), and
 * at least one covers it, the consumer passes the slot with a
 * compare-and-swap of its sequence from head to head + CAP.
 *
 * Wakeups are out of this model (notify.pml and chan.pml check them): the
 * consumer blocks until something it looks at changes, so a hole it can
 * never pass shows up as an invalid end state.
 *
 * Properties: every sequence the consumer reads at head is head + 1, head
 * or (never, in the code an -EPROTO) anything else; each producer's
 * messages arrive exactly once and in order; every message published is
 * received, and all of the survivors'; no deadlock.
 *
 *   BROKEN 1: the claim entry is written after the compare-and-swap: a
 *             producer killed in between leaves a claimed slot no entry
 *             covers, which the consumer may never pass (deadlock). (With
 *             the rule "at least one entry covers it", a late entry can
 *             not make the consumer pass a live producer's slot.)
 *   BROKEN 2: a producer that lost the compare-and-swap leaves its entry
 *             covering the position it lost: alive, and then waiting for
 *             space behind the dead producer's hole, it keeps the consumer
 *             from passing the hole (deadlock).
 */

#ifndef CAP
#define CAP 2
#endif
#ifndef NITEMS
#define NITEMS 3
#endif
#ifndef NPROD
#define NPROD 2
#endif
#ifndef BROKEN
#define BROKEN 0
#endif
#define VICTIM (NPROD - 1)

byte seqs[CAP];         /* set up by init: slot i says i */
byte ring[CAP];         /* producer id * 16 + item */
byte tail = 0;
byte cpos[NPROD];       /* claim entries */
byte cn[NPROD];
bool dead[NPROD];       /* ring lock released (exited, killed) */
byte published[NPROD];  /* ghost: messages each producer published */
byte got[NPROD];        /* ghost: messages the consumer received from each */
bool pdone[NPROD];      /* ghost: the producer finished (or died) */

inline claim_record(id, p)
{
	cn[id] = 1;
	cpos[id] = p
}

/* the victim may be killed here */
inline may_die(id)
{
	if
	:: id == VICTIM -> dead[id] = true; goto gone
	:: true
	fi
}

proctype producer(byte id)
{
	byte v = 1, pos, s;
	bool won;

	do
	:: v > NITEMS -> break
	:: v <= NITEMS ->
		pos = tail;
		s = seqs[pos % CAP];
		if
		:: s == pos ->
#if BROKEN != 1
			claim_record(id, pos);
			may_die(id);
#endif
			atomic { if :: tail == pos -> tail = pos + 1; won = true :: else -> won = false fi };
			if
			:: won ->
#if BROKEN == 1
				may_die(id);
				claim_record(id, pos);
#endif
				/* killed between claiming and publishing */
				may_die(id);
				ring[pos % CAP] = id * 16 + v;
				seqs[pos % CAP] = pos + 1;
				published[id]++;
				v++;
				may_die(id)
			:: else ->
#if BROKEN != 2
				/* lost the race: claim nothing (mpsc_claim()) */
				cn[id] = 0
#else
				skip
#endif
			fi
		:: s != pos ->
			/* full (the previous lap's) or claimed by the other one:
			 * wait for the slot or the tail to move */
			(seqs[pos % CAP] != s || tail != pos)
		fi
	od;
gone:
	pdone[id] = true
}

/* chan_claimer_dead(): every entry covering h belongs to a dead producer,
 * and there is one */
#define COVERS(i, h)   (cn[i] != 0 && h >= cpos[i] && h - cpos[i] < cn[i])
#if NPROD == 2
#define ANY_COVERS(h)  (COVERS(0, h) || COVERS(1, h))
#define ALL_DEAD(h)    ((!COVERS(0, h) || dead[0]) && (!COVERS(1, h) || dead[1]))
#define ALL_DONE       (pdone[0] && pdone[1])
#else
#define ANY_COVERS(h)  (COVERS(0, h) || COVERS(1, h) || COVERS(2, h))
#define ALL_DEAD(h)    ((!COVERS(0, h) || dead[0]) && (!COVERS(1, h) || dead[1]) && \
                        (!COVERS(2, h) || dead[2]))
#define ALL_DONE       (pdone[0] && pdone[1] && pdone[2])
#endif
#define PASSABLE(h)    (tail > h && ANY_COVERS(h) && ALL_DEAD(h))

proctype consumer()
{
	byte hd = 0, s, val, id, e, i;
	byte next[NPROD];

	atomic {
		i = 0;
		do
		:: i < NPROD -> next[i] = 1; i++
		:: else -> break
		od
	};
	do
	:: ALL_DONE && tail == hd -> break
	:: else ->
		s = seqs[hd % CAP];
		if
		:: s == hd + 1 ->
			val = ring[hd % CAP];
			id = val / 16;
			assert(id < NPROD && val % 16 == next[id]); /* exactly once, in order */
			next[id]++;
			got[id]++;
			seqs[hd % CAP] = hd + CAP;
			hd++
		:: s == hd ->
			if
			:: atomic { PASSABLE(hd) ->
				/* the compare-and-swap of chan_pass_holes() */
				e = seqs[hd % CAP];
				if :: e == hd -> seqs[hd % CAP] = hd + CAP; hd++ :: else fi }
			:: else ->
				/* wait for anything that can change our view */
				(seqs[hd % CAP] != s || PASSABLE(hd) || (ALL_DONE && tail == hd))
			fi
		:: else -> assert(false) /* -EPROTO: a correct ring never says this */
		fi
	od;
	/* everything published was received; the survivors sent all */
	atomic {
		i = 0;
		do
		:: i < NPROD ->
			assert(got[i] == published[i] && (i == VICTIM || got[i] == NITEMS));
			i++
		:: else -> break
		od
	}
}

init
{
	byte i = 0;

	atomic {
		do
		:: i < CAP -> seqs[i] = i; i++
		:: else -> break
		od
	};
	atomic {
		i = 0;
		do
		:: i < NPROD -> run producer(i); i++
		:: else -> break
		od;
		run consumer()
	}
}
