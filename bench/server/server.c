/* SPDX-License-Identifier: MIT */
/*
 * uipc-httpd: an HTTP/1.1 keep-alive server for measuring cross-thread
 * handoffs the way thread-pool servers do them (nginx `aio threads`, the
 * libuv threadpool).
 *
 * N I/O threads each run an epoll loop over their own SO_REUSEPORT listener
 * and connections. Every request is handed to a pool of M worker threads
 * (the "blocking" work: a CPU burn of W microseconds, or a pread() of one page
 * of a file that sits in the page cache); the worker writes the response into
 * the connection and hands it back to the connection's own I/O thread, which
 * writes it to the socket. Two handoffs per request.
 *
 * One source, two builds that differ in the handoff only (HANDOFF_UIPC):
 *   0  mutex + condvar queue to the workers (one queue, any idle worker takes
 *      the job), and per I/O thread a mutex queue + eventfd back to the loop.
 *      The eventfd is written only when the worker found that queue empty (the
 *      loop takes the whole queue after reading it): the waiter suppression
 *      real servers add; --notify-always writes it for every job, as nginx's
 *      thread pool does.
 *   1  uipc channels both ways: one MPSC channel per worker (the I/O threads
 *      deal jobs out round robin; workers block in uipc_chan_recv()), and one
 *      MPSC channel per I/O thread back, whose receiver sits in the epoll set
 *      through uipc_rx_fd() with uipc_rx_arm()/uipc_rx_drain().
 *
 *   uipc-httpd-{mutex,uipc} [-p port] [-t io_threads] [-w workers] [-W burn_us]
 *                           [-f file] [--notify-always] [--caps | --light] [--spin ns]
 *
 * Prints "listening on 127.0.0.1:PORT" on stdout once it accepts; SIGINT or
 * SIGTERM prints "requests N" and exits 0. GET /stats answers the number of
 * requests served so far from the I/O thread, without a handoff.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#if HANDOFF_UIPC
#include <uipc.h>
#define HANDOFF_NAME "uipc"
#else
#define HANDOFF_NAME "mutex"
#endif

#define MAX_IO      64
#define MAX_WORKERS 256
#define MAX_CONNS   4000  /* whole process: in-flight jobs never fill a queue */
#define QUEUE_SLOTS 4096u /* > MAX_CONNS */
#define IN_SIZE     8192
#define PAGE        4096
#define OUT_SIZE    (PAGE + 256)

struct io;

struct conn {
	int fd;
	struct io *io;
	struct conn *next; /* in exactly one handoff queue while busy */
	bool busy;         /* a worker owns `out` */
	bool closing;      /* peer gone while busy: free when the job returns */
	bool close_after;  /* "Connection: close" */
	bool want_out;     /* EPOLLOUT is on: a response did not fit the socket */
	size_t in_len, req_len;
	size_t out_len, out_off;
	uint64_t seq;
	char in[IN_SIZE];
	char out[OUT_SIZE];
};

/* The message both ways: the connection whose request or response moves. */
struct job {
	struct conn *c;
};

struct io {
	pthread_t thread;
	unsigned id;
	int ep, lfd;
	unsigned rr;
	uint64_t served;
#if HANDOFF_UIPC
	uipc_rx *rx;
	uipc_chan *done;           /* workers -> this loop */
	int done_cap[MAX_WORKERS]; /* one producer capability per worker */
	uipc_chan_tx **to_worker;  /* this loop -> each worker */
#else
	int efd;
	pthread_mutex_t lock;
	struct conn *head, *tail;
#endif
};

struct worker {
	pthread_t thread;
	unsigned id;
#if HANDOFF_UIPC
	uipc_rx *rx;
	uipc_chan *jobs;
	int jobs_cap[MAX_IO];
	uipc_chan_tx **to_io;
#endif
};

static struct {
	unsigned n_io, n_workers, burn_us;
	int port, file_fd;
	off_t file_pages;
	bool notify_always, light, caps;
	long spin_ns;
	struct io io[MAX_IO];
	struct worker workers[MAX_WORKERS];
	pthread_barrier_t ready;
	_Atomic int conns;
	_Atomic uint64_t served;
#if HANDOFF_UIPC
	uipc_ctx *ctx;
#else
	pthread_mutex_t jlock;
	pthread_cond_t jcond;
	struct conn *jhead, *jtail;
#endif
} S = {.n_io = 1, .n_workers = 2, .file_fd = -1, .spin_ns = -1};

static void die(const char *what, int err)
{
	fprintf(stderr, "uipc-httpd: %s: %s\n", what, strerror(err));
	exit(1);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The work ----------------------------------------------------------------- */

static void respond(struct conn *c, const char *body, size_t len)
{
	int h = snprintf(c->out, OUT_SIZE,
	                 "HTTP/1.1 200 OK\r\nServer: uipc-httpd\r\nContent-Type: text/plain\r\n"
	                 "Content-Length: %zu\r\n%s\r\n",
	                 len, c->close_after ? "Connection: close\r\n" : "");

	memcpy(c->out + h, body, len);
	c->out_len = (size_t)h + len;
	c->out_off = 0;
}

static void do_work(struct conn *c)
{
	if (S.file_fd >= 0) {
		char page[PAGE];
		off_t off = (off_t)(c->seq % (uint64_t)S.file_pages) * PAGE;
		ssize_t n = pread(S.file_fd, page, PAGE, off);

		respond(c, page, n > 0 ? (size_t)n : 0);
		return;
	}
	if (S.burn_us) {
		uint64_t end = now_ns() + (uint64_t)S.burn_us * 1000u;

		while (now_ns() < end)
			;
	}
	respond(c, "ok\n", 3);
}

/* Handoff (a): mutex + condvar to the workers, mutex + eventfd back ------- */
#if !HANDOFF_UIPC

static void to_worker(struct io *io, struct conn *c)
{
	(void)io;
	c->next = NULL;
	pthread_mutex_lock(&S.jlock);
	if (S.jtail)
		S.jtail->next = c;
	else
		S.jhead = c;
	S.jtail = c;
	pthread_cond_signal(&S.jcond);
	pthread_mutex_unlock(&S.jlock);
}

static void to_io(struct worker *w, struct conn *c)
{
	struct io *io = c->io;
	bool was_empty;
	uint64_t one = 1;

	(void)w;
	c->next = NULL;
	pthread_mutex_lock(&io->lock);
	was_empty = io->head == NULL;
	if (io->tail)
		io->tail->next = c;
	else
		io->head = c;
	io->tail = c;
	pthread_mutex_unlock(&io->lock);
	/* The loop takes the whole queue after each read of the eventfd: a
	 * job that finds it non-empty is covered by the write of the job that
	 * found it empty. */
	if ((was_empty || S.notify_always) && write(io->efd, &one, sizeof(one)) < 0)
		die("eventfd write", errno);
}

static struct conn *worker_next(struct worker *w)
{
	struct conn *c;

	(void)w;
	pthread_mutex_lock(&S.jlock);
	while (!S.jhead)
		pthread_cond_wait(&S.jcond, &S.jlock);
	c = S.jhead;
	S.jhead = c->next;
	if (!S.jhead)
		S.jtail = NULL;
	pthread_mutex_unlock(&S.jlock);
	return c;
}

static void handoff_init_io(struct io *io)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};

	pthread_mutex_init(&io->lock, NULL);
	io->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (io->efd < 0 || epoll_ctl(io->ep, EPOLL_CTL_ADD, io->efd, &ev) < 0)
		die("eventfd", errno);
}

static void handoff_init_worker(struct worker *w)
{
	(void)w;
}

static void handoff_connect(void)
{
}

static void complete(struct io *io, struct conn *c);

/* The loop's notification source fired (data.ptr == NULL). */
static void handoff_collect(struct io *io, bool fired)
{
	struct conn *c, *next;
	uint64_t v;

	if (!fired)
		return;
	if (read(io->efd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		die("eventfd read", errno);
	pthread_mutex_lock(&io->lock);
	c = io->head;
	io->head = io->tail = NULL;
	pthread_mutex_unlock(&io->lock);
	for (; c; c = next) {
		next = c->next;
		complete(io, c);
	}
}

static int loop_wait(struct io *io, struct epoll_event *evs, int max)
{
	return epoll_wait(io->ep, evs, max, -1);
}

#else
/* Handoff (b): uipc channels both ways ----------------------------------- */

static void to_worker(struct io *io, struct conn *c)
{
	struct job j = {.c = c};
	unsigned w = io->rr++ % S.n_workers;
	int r = uipc_chan_send_wait(io->to_worker[w], &j, sizeof(j), UIPC_TIMEOUT_INFINITE);

	if (r < 0)
		die("send to worker", -r);
}

static void to_io(struct worker *w, struct conn *c)
{
	struct job j = {.c = c};
	int r = uipc_chan_send_wait(w->to_io[c->io->id], &j, sizeof(j), UIPC_TIMEOUT_INFINITE);

	if (r < 0)
		die("send to loop", -r);
}

static struct conn *worker_next(struct worker *w)
{
	struct job j;
	int r;

	while ((r = uipc_chan_recv(w->jobs, &j, sizeof(j), UIPC_TIMEOUT_INFINITE)) == -EINTR)
		;
	if (r < 0)
		die("worker recv", -r);
	return j.c;
}

static void set_spin(uipc_rx *rx)
{
	int r;

	if (S.spin_ns < 0)
		return;
	r = uipc_rx_set_spin(rx, S.spin_ns ? UIPC_SPIN_FIXED : UIPC_SPIN_NONE, (uint64_t)S.spin_ns);
	if (r < 0)
		die("spin", -r);
}

static void new_chan(uipc_rx *rx, uipc_chan **ret, int *caps, unsigned ncaps)
{
	struct uipc_chan_config cfg = {.msg_size = sizeof(struct job),
	                               .capacity = QUEUE_SLOTS,
	                               .flags = UIPC_CHAN_MPSC | (S.light ? UIPC_CHAN_LIGHT : 0)};
	int r = uipc_chan_new(rx, 0, &cfg, ret);

	if (r < 0)
		die("channel", -r);
	for (unsigned i = 0; i < ncaps && S.caps; i++)
		if ((caps[i] = uipc_chan_cap(*ret)) < 0)
			die("channel capability", -caps[i]);
}

/* Runs on the receiver's thread: a receiver belongs to the thread that waits. */
static void handoff_init_io(struct io *io)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
	int r = uipc_rx_new(S.ctx, UIPC_RX_POLLABLE, &io->rx);

	if (r < 0)
		die("loop receiver", -r);
	set_spin(io->rx);
	new_chan(io->rx, &io->done, io->done_cap, S.n_workers);
	if (epoll_ctl(io->ep, EPOLL_CTL_ADD, uipc_rx_fd(io->rx), &ev) < 0)
		die("epoll_ctl", errno);
	io->to_worker = calloc(S.n_workers, sizeof(*io->to_worker));
}

static void handoff_init_worker(struct worker *w)
{
	int r = uipc_rx_new(S.ctx, 0, &w->rx);

	if (r < 0)
		die("worker receiver", -r);
	set_spin(w->rx);
	new_chan(w->rx, &w->jobs, w->jobs_cap, S.n_io);
	w->to_io = calloc(S.n_io, sizeof(*w->to_io));
}

/*
 * Attach every producer end, between the two barriers. By default with
 * uipc_chan_tx_new(), as a program whose threads are all in one process
 * would. --caps attaches through a capability fd, as a producer in another
 * process would: the receivers are then exposed (an eventfd kick checks the
 * fd's flags first, an empty drain reads once, the futex word is shared).
 * --light makes the channels UIPC_CHAN_LIGHT: producers skip their fence
 * and the consumer runs membarrier() whenever it finds its ring empty,
 * which an event loop does after every batch.
 */
static void attach(uipc_chan *ch, int cap, uipc_chan_tx **ret)
{
	int r = S.caps ? uipc_chan_tx_open(S.ctx, cap, ret) : uipc_chan_tx_new(ch, ret);

	if (r < 0)
		die("attach producer", -r);
	if (S.caps)
		close(cap);
}

static void handoff_connect(void)
{
	for (unsigned i = 0; i < S.n_io; i++)
		for (unsigned w = 0; w < S.n_workers; w++) {
			attach(S.workers[w].jobs, S.workers[w].jobs_cap[i], &S.io[i].to_worker[w]);
			attach(S.io[i].done, S.io[i].done_cap[w], &S.workers[w].to_io[i]);
		}
}

static void complete(struct io *io, struct conn *c);

static void handoff_collect(struct io *io, bool fired)
{
	struct job j[64];
	uint64_t mask;
	int n;

	(void)fired;
	uipc_rx_drain(io->rx, &mask);
	/* Always look: a message may be there with its notification taken by
	 * an earlier recv; an empty look is a few loads. */
	while ((n = uipc_chan_recv_n(io->done, j, 64, sizeof(j), 0)) > 0)
		for (int i = 0; i < n; i++)
			complete(io, j[i].c);
	if (n != -EAGAIN)
		die("loop recv", -n);
}

static int loop_wait(struct io *io, struct epoll_event *evs, int max)
{
	/* -EAGAIN: a completion is pending already, look at the sockets only. */
	int timeout = uipc_rx_arm(io->rx) == -EAGAIN ? 0 : -1;

	return epoll_wait(io->ep, evs, max, timeout);
}
#endif

/* Workers ------------------------------------------------------------------ */

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	handoff_init_worker(w);
	pthread_barrier_wait(&S.ready); /* every queue exists */
	pthread_barrier_wait(&S.ready); /* every producer is attached */
	for (;;) {
		struct conn *c = worker_next(w);

		do_work(c);
		to_io(w, c);
	}
	return NULL;
}

/* I/O threads -------------------------------------------------------------- */

static void conn_free(struct io *io, struct conn *c)
{
	epoll_ctl(io->ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	free(c);
	atomic_fetch_sub(&S.conns, 1);
}

static void set_events(struct io *io, struct conn *c, uint32_t events)
{
	struct epoll_event ev = {.events = events, .data.ptr = c};

	epoll_ctl(io->ep, EPOLL_CTL_MOD, c->fd, &ev);
}

static bool header_has(const char *h, size_t len, const char *needle)
{
	size_t n = strlen(needle);

	for (size_t i = 0; i + n <= len; i++)
		if (strncasecmp(h + i, needle, n) == 0)
			return true;
	return false;
}

/* Answer the request at the start of c->in, if a whole one is there. */
static void next_request(struct io *io, struct conn *c)
{
	char *end;

	if (c->busy || c->out_len || c->in_len == 0)
		return;
	c->in[c->in_len] = '\0';
	end = strstr(c->in, "\r\n\r\n");
	if (!end) {
		if (c->in_len >= IN_SIZE - 1) /* a header too large: give up */
			conn_free(io, c);
		return;
	}
	c->req_len = (size_t)(end + 4 - c->in);
	c->close_after = header_has(c->in, c->req_len, "\r\nConnection: close");
	c->seq = io->served++;
	if (strncmp(c->in, "GET /stats ", 11) == 0) {
		char body[32];
		int n = snprintf(body, sizeof(body), "%llu\n",
		                 (unsigned long long)atomic_load(&S.served));

		respond(c, body, (size_t)n);
		complete(io, c);
		return;
	}
	c->busy = true;
	to_worker(io, c);
}

static void flush(struct io *io, struct conn *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = write(c->fd, c->out + c->out_off, c->out_len - c->out_off);

		if (n < 0 && errno == EAGAIN) {
			c->want_out = true;
			set_events(io, c, EPOLLIN | EPOLLOUT);
			return;
		}
		if (n <= 0) {
			conn_free(io, c);
			return;
		}
		c->out_off += (size_t)n;
	}
	c->out_len = c->out_off = 0;
	if (c->want_out) {
		c->want_out = false;
		set_events(io, c, EPOLLIN);
	}
	if (c->close_after) {
		conn_free(io, c);
		return;
	}
	memmove(c->in, c->in + c->req_len, c->in_len - c->req_len);
	c->in_len -= c->req_len;
	next_request(io, c); /* pipelined */
}

/* A response is ready in c->out (from a worker, or /stats). */
static void complete(struct io *io, struct conn *c)
{
	c->busy = false;
	atomic_fetch_add_explicit(&S.served, 1, memory_order_relaxed);
	if (c->closing) {
		conn_free(io, c);
		return;
	}
	flush(io, c);
}

static void on_readable(struct io *io, struct conn *c)
{
	for (;;) {
		ssize_t n = read(c->fd, c->in + c->in_len, IN_SIZE - 1 - c->in_len);

		if (n > 0) {
			size_t room = IN_SIZE - 1 - c->in_len;

			c->in_len += (size_t)n;
			/* A short read took all there was: skip the read that
			 * would say EAGAIN (epoll is level-triggered). */
			if ((size_t)n < room)
				break;
			if (c->in_len < IN_SIZE - 1)
				continue;
			break;
		}
		if (n < 0 && errno == EAGAIN)
			break;
		/* EOF or error: free now, or when the worker hands it back. */
		if (c->busy) {
			c->closing = true;
			epoll_ctl(io->ep, EPOLL_CTL_DEL, c->fd, NULL);
		} else {
			conn_free(io, c);
		}
		return;
	}
	next_request(io, c); /* may free c */
}

static void on_accept(struct io *io)
{
	for (;;) {
		int fd = accept4(io->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC), one = 1;
		struct conn *c;
		struct epoll_event ev = {.events = EPOLLIN};

		if (fd < 0)
			return;
		if (atomic_fetch_add(&S.conns, 1) >= MAX_CONNS || !(c = calloc(1, sizeof(*c)))) {
			atomic_fetch_sub(&S.conns, 1);
			close(fd);
			continue;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		c->fd = fd;
		c->io = io;
		ev.data.ptr = c;
		if (epoll_ctl(io->ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
			close(fd);
			free(c);
			atomic_fetch_sub(&S.conns, 1);
		}
	}
}

static void *io_main(void *arg)
{
	struct io *io = arg;
	struct epoll_event evs[64];

	handoff_init_io(io);
	pthread_barrier_wait(&S.ready);
	pthread_barrier_wait(&S.ready);
	for (;;) {
		int n = loop_wait(io, evs, 64);
		bool fired = false;

		if (n < 0 && errno != EINTR)
			die("epoll_wait", errno);
		for (int i = 0; i < n; i++) {
			struct conn *c = evs[i].data.ptr;

			if (c == NULL)
				fired = true;
			else if (c == (struct conn *)io)
				on_accept(io);
			else if (evs[i].events & EPOLLOUT)
				flush(io, c);
			else
				on_readable(io, c);
		}
		handoff_collect(io, fired);
	}
	return NULL;
}

static int listen_on(int port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 1024) < 0)
		die("listen", errno);
	return fd;
}

static int local_port(int fd)
{
	struct sockaddr_in a;
	socklen_t l = sizeof(a);

	getsockname(fd, (struct sockaddr *)&a, &l);
	return ntohs(a.sin_port);
}

static void usage(void)
{
	fprintf(stderr,
	        "usage: uipc-httpd-" HANDOFF_NAME " [-p port] [-t io_threads] [-w workers] "
	        "[-W burn_us] [-f file] [--notify-always] [--caps | --light] [--spin ns]\n");
	exit(2);
}

static long num_arg(const char *s, long lo, long hi)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (*s == '\0' || *end != '\0' || v < lo || v > hi)
		usage();
	return v;
}

static void parse_args(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(a, "--notify-always") == 0) {
			S.notify_always = true;
			continue;
		}
		if (strcmp(a, "--light") == 0 || strcmp(a, "--caps") == 0) {
			*(a[2] == 'l' ? &S.light : &S.caps) = true;
			if (S.light && S.caps)
				usage();
			continue;
		}
		if (!v)
			usage();
		i++;
		if (strcmp(a, "-p") == 0)
			S.port = (int)num_arg(v, 0, 65535);
		else if (strcmp(a, "-t") == 0)
			S.n_io = (unsigned)num_arg(v, 1, MAX_IO);
		else if (strcmp(a, "-w") == 0)
			S.n_workers = (unsigned)num_arg(v, 1, MAX_WORKERS);
		else if (strcmp(a, "-W") == 0)
			S.burn_us = (unsigned)num_arg(v, 0, 1000000);
		else if (strcmp(a, "--spin") == 0)
			S.spin_ns = num_arg(v, 0, 10000000);
		else if (strcmp(a, "-f") == 0) {
			struct stat st;

			S.file_fd = open(v, O_RDONLY | O_CLOEXEC);
			if (S.file_fd < 0 || fstat(S.file_fd, &st) < 0)
				die(v, errno);
			S.file_pages = st.st_size / PAGE;
			if (S.file_pages == 0)
				die(v, EINVAL);
		} else
			usage();
	}
}

int main(int argc, char **argv)
{
	sigset_t sigs;
	int sig;

	parse_args(argc, argv);
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL); /* every thread inherits it */
	signal(SIGPIPE, SIG_IGN);
#if HANDOFF_UIPC
	int r = uipc_ctx_new(NULL, &S.ctx);

	if (r < 0)
		die("context", -r);
#else
	pthread_mutex_init(&S.jlock, NULL);
	pthread_cond_init(&S.jcond, NULL);
#endif
	pthread_barrier_init(&S.ready, NULL, S.n_io + S.n_workers + 1);
	for (unsigned i = 0; i < S.n_io; i++) {
		struct io *io = &S.io[i];
		struct epoll_event ev = {.events = EPOLLIN, .data.ptr = io};

		io->id = i;
		io->lfd = listen_on(S.port);
		if (i == 0)
			S.port = local_port(io->lfd); /* -p 0: the others share it */
		io->ep = epoll_create1(EPOLL_CLOEXEC);
		if (io->ep < 0 || epoll_ctl(io->ep, EPOLL_CTL_ADD, io->lfd, &ev) < 0)
			die("epoll", errno);
		pthread_create(&io->thread, NULL, io_main, io);
	}
	for (unsigned w = 0; w < S.n_workers; w++) {
		S.workers[w].id = w;
		pthread_create(&S.workers[w].thread, NULL, worker_main, &S.workers[w]);
	}
	pthread_barrier_wait(&S.ready);
	handoff_connect();
	pthread_barrier_wait(&S.ready);
	printf("listening on 127.0.0.1:%d (%s handoff, %u I/O threads, %u workers, %s)\n", S.port,
	       HANDOFF_NAME, S.n_io, S.n_workers, S.file_fd >= 0 ? "pread" : "burn");
	fflush(stdout);
	sigwait(&sigs, &sig);
	printf("requests %llu\n", (unsigned long long)atomic_load(&S.served));
	fflush(stdout);
	/* The threads sit in their loops; the process ends them. */
	_exit(0);
}
