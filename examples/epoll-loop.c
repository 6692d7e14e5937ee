/* SPDX-License-Identifier: MIT */
/*
 * An epoll-driven server loop whose cross-thread wakeups use uipc instead of
 * a raw eventfd.
 *
 * The loop thread serves a TCP listener on 127.0.0.1 and offloads each
 * request line to a pool of worker threads; a worker posts its reply to a
 * per-worker outbox and notifies the loop on the worker's own vector. The
 * loop's receiver is registered in epoll next to the sockets, with the
 * arm/drain pattern: while the loop is busy, workers' notifies cost no
 * syscall; only an armed (sleeping) loop is kicked, once.
 *
 *   epoll-loop [port]     then e.g.:  printf 'hello\n' | nc -q1 127.0.0.1 PORT
 *   epoll-loop --self-test   runs a client itself and exits
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <uipc.h>

#define WORKERS 2
#define LINE    256

struct job {
	int fd;
	size_t len;
	char buf[LINE];
};

/* One-slot mailboxes keep the example short; a real server would use a
 * uipc channel (uipc/chan.h) to queue many. */
struct worker {
	pthread_t thread;
	uipc_tx *to_loop; /* notifies the loop on vector = worker index */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct job in, out;
	bool has_in, has_out, stop;
};

static struct worker workers[WORKERS];

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	pthread_mutex_lock(&w->lock);
	for (;;) {
		while (!w->has_in && !w->stop)
			pthread_cond_wait(&w->cond, &w->lock);
		if (w->stop)
			break;
		w->out = w->in; /* the "work": upper-case the line */
		for (size_t i = 0; i < w->out.len; i++)
			w->out.buf[i] = (char)toupper((unsigned char)w->out.buf[i]);
		w->has_in = false;
		w->has_out = true;
		pthread_mutex_unlock(&w->lock);
		uipc_tx_notify(w->to_loop); /* no syscall unless the loop sleeps */
		pthread_mutex_lock(&w->lock);
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

static int listen_on(int port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 16) < 0) {
		perror("epoll-loop: listen");
		exit(1);
	}
	return fd;
}

static int local_port(int fd)
{
	struct sockaddr_in a;
	socklen_t l = sizeof(a);

	getsockname(fd, (struct sockaddr *)&a, &l);
	return ntohs(a.sin_port);
}

/* Hand a request to the next idle worker (round robin; busy: refuse). */
static void dispatch(int fd, const char *buf, size_t len)
{
	static unsigned next;

	for (unsigned i = 0; i < WORKERS; i++) {
		struct worker *w = &workers[(next + i) % WORKERS];

		pthread_mutex_lock(&w->lock);
		if (!w->has_in && !w->has_out) {
			w->in.fd = fd;
			w->in.len = len;
			memcpy(w->in.buf, buf, len);
			w->has_in = true;
			pthread_cond_signal(&w->cond);
			pthread_mutex_unlock(&w->lock);
			next++;
			return;
		}
		pthread_mutex_unlock(&w->lock);
	}
	if (write(fd, "busy\n", 5) < 0)
		perror("epoll-loop: write");
}

static void collect(uint64_t mask, long *replies)
{
	for (unsigned i = 0; i < WORKERS; i++) {
		struct worker *w = &workers[i];

		if (!(mask & (UINT64_C(1) << i)))
			continue;
		pthread_mutex_lock(&w->lock);
		if (w->has_out) {
			if (write(w->out.fd, w->out.buf, w->out.len) < 0)
				perror("epoll-loop: write");
			w->has_out = false;
			(*replies)++;
		}
		pthread_mutex_unlock(&w->lock);
	}
}

static void *self_test_client(void *arg)
{
	int port = *(int *)arg;
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	char buf[LINE];
	int fd = socket(AF_INET, SOCK_STREAM, 0), ok = 0;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0) {
		for (int i = 0; i < 1000; i++) {
			ssize_t n;

			if (write(fd, "ping\n", 5) != 5 || (n = read(fd, buf, sizeof(buf))) <= 0)
				break;
			ok += n == 5 && memcmp(buf, "PING\n", 5) == 0;
		}
	}
	printf("self-test client: %d/1000 replies correct\n", ok);
	close(fd);
	return (void *)(intptr_t)(ok == 1000);
}

int main(int argc, char **argv)
{
	bool self_test = argc > 1 && strcmp(argv[1], "--self-test") == 0;
	int port = argc > 1 && !self_test ? atoi(argv[1]) : 0;
	struct epoll_event ev, evs[16];
	uipc_ctx *ctx;
	uipc_rx *loop_rx;
	pthread_t client;
	long replies = 0, wakeups = 0;
	int ep, lfd, r, clients = 0;
	void *client_ok = NULL;

	/* UIPC_RX_POLLABLE: this receiver needs an fd for epoll. */
	if ((r = uipc_ctx_new(NULL, &ctx)) < 0 ||
	    (r = uipc_rx_new(ctx, UIPC_RX_POLLABLE, &loop_rx)) < 0) {
		fprintf(stderr, "epoll-loop: %s\n", strerror(-r));
		return 1;
	}
	for (unsigned i = 0; i < WORKERS; i++) {
		pthread_mutex_init(&workers[i].lock, NULL);
		pthread_cond_init(&workers[i].cond, NULL);
		if ((r = uipc_tx_new(loop_rx, i, &workers[i].to_loop)) < 0) {
			fprintf(stderr, "epoll-loop: sender: %s\n", strerror(-r));
			return 1;
		}
		pthread_create(&workers[i].thread, NULL, worker_main, &workers[i]);
	}

	lfd = listen_on(port);
	port = local_port(lfd);
	ep = epoll_create1(EPOLL_CLOEXEC);
	ev.events = EPOLLIN;
	ev.data.fd = uipc_rx_fd(loop_rx);
	epoll_ctl(ep, EPOLL_CTL_ADD, ev.data.fd, &ev);
	ev.data.fd = lfd;
	epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
	printf("epoll-loop: listening on 127.0.0.1:%d (%s backend)\n", port,
	       uipc_rx_backend_name(loop_rx));
	fflush(stdout);
	if (self_test)
		pthread_create(&client, NULL, self_test_client, &port);

	for (;;) {
		uint64_t mask = 0;
		int n;

		/* Arm before sleeping; -EAGAIN: something is pending, don't sleep. */
		n = uipc_rx_arm(loop_rx) == -EAGAIN ? 0 : epoll_wait(ep, evs, 16, 1000);
		wakeups++;
		uipc_rx_drain(loop_rx, &mask);
		collect(mask, &replies);
		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd;
			char buf[LINE];
			ssize_t len;

			if (fd == uipc_rx_fd(loop_rx))
				continue; /* handled by drain above */
			if (fd == lfd) {
				int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

				ev.events = EPOLLIN;
				ev.data.fd = c;
				if (c >= 0 && epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev) == 0)
					clients++;
				continue;
			}
			len = read(fd, buf, sizeof(buf));
			if (len <= 0) {
				epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
				close(fd);
				if (--clients == 0 && self_test)
					goto out;
				continue;
			}
			dispatch(fd, buf, (size_t)len);
		}
	}
out:
	pthread_join(client, &client_ok);
	printf("epoll-loop: %ld replies, %ld loop iterations\n", replies, wakeups);
	for (unsigned i = 0; i < WORKERS; i++) {
		pthread_mutex_lock(&workers[i].lock);
		workers[i].stop = true;
		pthread_cond_signal(&workers[i].cond);
		pthread_mutex_unlock(&workers[i].lock);
		pthread_join(workers[i].thread, NULL);
		uipc_tx_free(workers[i].to_loop);
	}
	close(ep);
	close(lfd);
	uipc_rx_free(loop_rx);
	uipc_ctx_free(ctx);
	return client_ok ? 0 : 1;
}
