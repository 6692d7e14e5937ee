/* SPDX-License-Identifier: MIT */
/*
 * chan-server: an acceptor thread hands connections to worker threads over
 * uipc channels, instead of a mutex-protected queue plus an eventfd.
 *
 * Each worker owns a receiver and one channel (SPSC: the acceptor is its
 * only producer). While a worker is busy, handing it a connection is a
 * store into its ring and no syscall; a worker that sleeps is woken with
 * one kick however many connections arrive before it runs.
 *
 * The protocol is a line echo: the server answers "worker <n>: <line>".
 *
 *   chan-server [port]        serve on 127.0.0.1:port (default 7070)
 *   chan-server --self-test   serve on a free port, run clients, check, exit
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <uipc.h>

#define WORKERS     2
#define QUEUE_SLOTS 64

/* One message: a connection to serve, or fd -1 to stop. */
struct request {
	int fd;
	uint32_t seq;
};

struct worker {
	unsigned id;
	pthread_t thread;
	uipc_ctx *ctx;
	uipc_chan *chan;         /* consumer end, created by the worker thread */
	uipc_chan_tx *feed;      /* producer end, used by the acceptor */
	_Atomic unsigned *ready; /* workers set up (or failed) so far */
	unsigned served;
};

static void serve(struct worker *w, int fd)
{
	char line[256], reply[300];
	ssize_t n = read(fd, line, sizeof(line) - 1);
	int len;

	if (n > 0) {
		line[n] = '\0';
		line[strcspn(line, "\r\n")] = '\0';
		len = snprintf(reply, sizeof(reply), "worker %u: %s\n", w->id, line);
		if (write(fd, reply, (size_t)len) != len)
			perror("write");
	}
	close(fd);
	w->served++;
}

static void *worker_main(void *arg)
{
	struct uipc_chan_config cfg = {.msg_size = sizeof(struct request), .capacity = QUEUE_SLOTS};
	struct worker *w = arg;
	struct request req;
	uipc_rx *rx;
	int r;

	/* The receiver belongs to the thread that waits on it. */
	r = uipc_rx_new(w->ctx, 0, &rx);
	if (r == 0)
		r = uipc_chan_new(rx, 0, &cfg, &w->chan);
	atomic_fetch_add(w->ready, 1);
	if (r < 0) {
		fprintf(stderr, "worker %u: %s\n", w->id, strerror(-r));
		return NULL;
	}
	for (;;) {
		r = uipc_chan_recv(w->chan, &req, sizeof(req), UIPC_TIMEOUT_INFINITE);
		if (r == -EINTR)
			continue;
		if (r < 0) { /* -EPIPE: the acceptor is gone */
			fprintf(stderr, "worker %u: %s\n", w->id, strerror(-r));
			break;
		}
		if (req.fd < 0)
			break;
		serve(w, req.fd);
	}
	uipc_chan_free(w->chan);
	uipc_rx_free(rx);
	return NULL;
}

static int start_workers(uipc_ctx *ctx, struct worker *w, unsigned n)
{
	static _Atomic unsigned ready;
	int r = 0;

	for (unsigned i = 0; i < n; i++) {
		w[i] = (struct worker){.id = i, .ctx = ctx, .ready = &ready};
		pthread_create(&w[i].thread, NULL, worker_main, &w[i]);
	}
	while (atomic_load(&ready) < n)
		sched_yield();
	for (unsigned i = 0; i < n && r == 0; i++)
		r = w[i].chan ? uipc_chan_tx_new(w[i].chan, &w[i].feed) : -ENOMEM;
	return r;
}

/* Hand a connection to the next worker; wait for space if its queue is full. */
static int dispatch(struct worker *w, unsigned n, int fd, uint32_t seq)
{
	struct request req = {.fd = fd, .seq = seq};

	return uipc_chan_send_wait(w[seq % n].feed, &req, sizeof(req), UIPC_TIMEOUT_INFINITE);
}

static void stop_workers(struct worker *w, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (w[i].feed)
			dispatch(w, n, -1, i);
	for (unsigned i = 0; i < n; i++) {
		pthread_join(w[i].thread, NULL);
		uipc_chan_tx_free(w[i].feed);
	}
}

static int listen_on(uint16_t port, uint16_t *ret_port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
	socklen_t len = sizeof(a);
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (s < 0 || setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(s, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(s, 128) < 0 ||
	    getsockname(s, (struct sockaddr *)&a, &len) < 0) {
		perror("listen");
		exit(1);
	}
	*ret_port = ntohs(a.sin_port);
	return s;
}

struct acceptor {
	int lsock;
	unsigned limit; /* connections to accept, 0: forever */
	struct worker *w;
	unsigned n;
};

static void *acceptor_main(void *arg)
{
	struct acceptor *a = arg;

	for (uint32_t seq = 0; a->limit == 0 || seq < a->limit; seq++) {
		int fd = accept4(a->lsock, NULL, NULL, SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EINTR)
				continue;
			perror("accept");
			break;
		}
		if (dispatch(a->w, a->n, fd, seq) < 0)
			close(fd);
	}
	return NULL;
}

/* A client: send a line, read the answer, check it came from a worker. */
static int client(uint16_t port, unsigned i)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
	char msg[64], reply[300] = {0};
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), len;
	ssize_t n, got = 0;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	len = snprintf(msg, sizeof(msg), "hello %u\n", i);
	if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    write(s, msg, (size_t)len) != len)
		return -1;
	while ((n = read(s, reply + got, sizeof(reply) - 1 - (size_t)got)) > 0)
		got += n;
	close(s);
	msg[len - 1] = '\0';
	return strncmp(reply, "worker ", 7) == 0 && strstr(reply, msg) ? 0 : -1;
}

int main(int argc, char **argv)
{
	bool self_test = argc > 1 && strcmp(argv[1], "--self-test") == 0;
	uint16_t port = argc > 1 && !self_test ? (uint16_t)atoi(argv[1]) : 7070;
	struct worker w[WORKERS] = {0};
	struct acceptor a = {.w = w, .n = WORKERS, .limit = self_test ? 200 : 0};
	pthread_t t;
	uipc_ctx *ctx;
	unsigned ok = 0;
	int r;

	r = uipc_ctx_new(NULL, &ctx);
	if (r < 0) {
		fprintf(stderr, "uipc_ctx_new: %s\n", strerror(-r));
		return 1;
	}
	r = start_workers(ctx, w, WORKERS);
	if (r < 0) {
		fprintf(stderr, "workers: %s\n", strerror(-r));
		return 1;
	}
	a.lsock = listen_on(self_test ? 0 : port, &port);
	printf("chan-server: %d workers on 127.0.0.1:%u (backend %s)\n", WORKERS, port,
	       uipc_ctx_backend_name(ctx));
	pthread_create(&t, NULL, acceptor_main, &a);
	if (self_test)
		for (unsigned i = 0; i < a.limit; i++)
			ok += client(port, i) == 0;
	pthread_join(t, NULL);
	stop_workers(w, WORKERS);
	close(a.lsock);
	uipc_ctx_free(ctx);
	if (self_test) {
		printf("chan-server: %u/%u requests answered (worker 0: %u, worker 1: %u)\n", ok,
		       a.limit, w[0].served, w[1].served);
		return ok == a.limit ? 0 : 1;
	}
	return 0;
}
