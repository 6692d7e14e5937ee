/* SPDX-License-Identifier: MIT */
/*
 * Helpers of the programs that run against uipc_uintr_fake.ko in the QEMU
 * stage (scripts/kmod-ci.sh): the shim's regression programs under
 * tests/regress/kmod-*.c. Static, no library: each prints one line per check
 * and "N passed, N failed", and exits 1 on any failure.
 */
#ifndef UIPC_KMOD_FAKE_LIB_H
#define UIPC_KMOD_FAKE_LIB_H

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "../lib/t.h"
#include "kmod/uintr-fake-abi.h"

static inline void fk_check(int ok, const char *what)
{
	t_report(ok, "%s", what);
}

static inline int fk_done(void)
{
	return t_report_done();
}

/* ioctl on @fd: the return value, or -errno. */
static inline long fk_io(int fd, unsigned long cmd, void *arg)
{
	long r = ioctl(fd, cmd, arg);

	return r < 0 ? -errno : r;
}

static inline void fk_handler(void)
{
}

static inline long fk_register(int fd)
{
	struct uintr_handler_args h = {.handler = (__u64)(unsigned long)fk_handler};

	return fk_io(fd, UINTR_IOC_REGISTER_HANDLER, &h);
}

static inline long fk_vector_fd(int fd, unsigned vector)
{
	struct uintr_vector_args v = {.vector = vector};

	return fk_io(fd, UINTR_IOC_VECTOR_FD, &v);
}

static inline long fk_sender(int fd, int vfd)
{
	struct uintr_sender_args s = {.fd = vfd};

	return fk_io(fd, UINTR_IOC_REGISTER_SENDER, &s);
}

static inline long fk_unsender(int fd, __u32 index)
{
	struct uintr_unsender_args u = {.index = index};

	return fk_io(fd, UINTR_IOC_UNREGISTER_SENDER, &u);
}

/*
 * A receiver on a thread of its own that holds vector @vector's fd (vfd,
 * -1 if registering failed) until fk_receiver_stop(): what a sender
 * registers against.
 */
struct fk_receiver {
	int dev;
	unsigned vector;
	int vfd;
	pthread_barrier_t bar;
	pthread_t thread;
};

static inline void *fk_receiver_main(void *arg)
{
	struct fk_receiver *r = arg;

	if (fk_register(r->dev) == 0)
		r->vfd = (int)fk_vector_fd(r->dev, r->vector);
	pthread_barrier_wait(&r->bar);
	pthread_barrier_wait(&r->bar); /* keeps its registration until stopped */
	return NULL;
}

static inline int fk_receiver_start(struct fk_receiver *r, int dev, unsigned vector)
{
	r->dev = dev;
	r->vector = vector;
	r->vfd = -1;
	pthread_barrier_init(&r->bar, NULL, 2);
	if (pthread_create(&r->thread, NULL, fk_receiver_main, r))
		return -1;
	pthread_barrier_wait(&r->bar);
	return r->vfd;
}

static inline void fk_receiver_stop(struct fk_receiver *r)
{
	pthread_barrier_wait(&r->bar);
	pthread_join(r->thread, NULL);
	pthread_barrier_destroy(&r->bar);
}

static inline long fk_send(int fd, __u32 index)
{
	return fk_io(fd, UINTR_IOC_FAKE_SEND, &index);
}

static inline long fk_wait(int fd, __u64 usec)
{
	struct uintr_wait_args w = {.usec = usec};

	return fk_io(fd, UINTR_IOC_WAIT, &w);
}

static inline struct uintr_fake_state fk_state(int fd)
{
	struct uintr_fake_state s;

	memset(&s, 0xff, sizeof(s));
	if (fk_io(fd, UINTR_IOC_FAKE_STATE, &s))
		memset(&s, 0xff, sizeof(s));
	return s;
}

static inline long fk_stui(int fd, __u32 on)
{
	return fk_io(fd, UINTR_IOC_FAKE_STUI, &on);
}

/* On CPU 0 only: the fake build's registers are per CPU. */
static inline void fk_pin_cpu0(void)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(0, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

#endif
