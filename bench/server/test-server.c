/* SPDX-License-Identifier: MIT */
/*
 * Functional test of uipc-httpd (either handoff): start the server binary on
 * an ephemeral loopback port and check that its answers are correct HTTP/1.1:
 * keep-alive, pipelining, several connections with jobs in flight at once,
 * Connection: close, the pread mode's file contents, and a clean exit on
 * SIGTERM. No timing is asserted.
 *
 *   test-server PATH-TO-uipc-httpd-{mutex,uipc} [server option [value]]
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "test-server: %s:%d: %s\n", __FILE__, __LINE__, #cond);    \
			return false;                                                              \
		}                                                                                  \
	} while (0)

extern char **environ;

struct server {
	pid_t pid;
	FILE *out;
	int port;
};

static bool start(struct server *s, char *const argv[])
{
	posix_spawn_file_actions_t fa;
	char line[256];
	int p[2];

	if (pipe(p) < 0)
		return false;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, p[1], 1);
	posix_spawn_file_actions_addclose(&fa, p[0]);
	if (posix_spawn(&s->pid, argv[0], &fa, NULL, argv, environ) != 0)
		return false;
	posix_spawn_file_actions_destroy(&fa);
	close(p[1]);
	s->out = fdopen(p[0], "r");
	CHECK(s->out && fgets(line, sizeof(line), s->out));
	fprintf(stderr, "server: %s", line);
	CHECK(sscanf(line, "listening on 127.0.0.1:%d", &s->port) == 1 && s->port > 0);
	return true;
}

static bool stop(struct server *s)
{
	char line[256];
	int status;

	CHECK(kill(s->pid, SIGTERM) == 0);
	CHECK(waitpid(s->pid, &status, 0) == s->pid);
	CHECK(fgets(line, sizeof(line), s->out) && strncmp(line, "requests ", 9) == 0);
	fclose(s->out);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	return true;
}

static int dial(int port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	struct timeval tv = {.tv_sec = 20};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	/* A hung server fails the test instead of hanging it. */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static bool send_all(int fd, const char *s)
{
	size_t len = strlen(s);

	CHECK(write(fd, s, len) == (ssize_t)len);
	return true;
}

/* Per-connection read buffer: responses may arrive together. */
struct rbuf {
	char b[16384];
	size_t len;
};

/* Read one response; its body (NUL-terminated) into body. */
static bool read_response(int fd, struct rbuf *r, char *body, size_t body_size, bool *closes)
{
	char *end;
	size_t hlen, clen;
	const char *cl;

	for (;;) {
		r->b[r->len] = '\0';
		end = strstr(r->b, "\r\n\r\n");
		if (end) {
			hlen = (size_t)(end + 4 - r->b);
			cl = strstr(r->b, "Content-Length: ");
			CHECK(cl && cl < end);
			clen = strtoul(cl + 16, NULL, 10);
			if (r->len >= hlen + clen)
				break;
		}
		ssize_t n = read(fd, r->b + r->len, sizeof(r->b) - 1 - r->len);

		CHECK(n > 0);
		r->len += (size_t)n;
	}
	CHECK(strncmp(r->b, "HTTP/1.1 200 OK\r\n", 17) == 0);
	CHECK(clen < body_size);
	memcpy(body, r->b + hlen, clen);
	body[clen] = '\0';
	if (closes)
		*closes = strstr(r->b, "Connection: close\r\n") &&
		          strstr(r->b, "Connection: close\r\n") < end;
	memmove(r->b, r->b + hlen + clen, r->len - hlen - clen);
	r->len -= hlen + clen;
	return true;
}

#define GET "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"

static bool check_burn(int port)
{
	struct rbuf r[4] = {0};
	char body[8192];
	int fd[4];
	bool closes;

	/* Keep-alive: several requests on one connection, one at a time. */
	fd[0] = dial(port);
	CHECK(fd[0] >= 0);
	for (int i = 0; i < 5; i++) {
		CHECK(send_all(fd[0], GET));
		CHECK(read_response(fd[0], &r[0], body, sizeof(body), &closes));
		CHECK(strcmp(body, "ok\n") == 0 && !closes);
	}
	/* Pipelined: three requests in one write, three responses in order. */
	CHECK(send_all(fd[0], GET GET "GET /stats HTTP/1.1\r\n\r\n"));
	CHECK(read_response(fd[0], &r[0], body, sizeof(body), NULL) && strcmp(body, "ok\n") == 0);
	CHECK(read_response(fd[0], &r[0], body, sizeof(body), NULL) && strcmp(body, "ok\n") == 0);
	CHECK(read_response(fd[0], &r[0], body, sizeof(body), NULL));
	CHECK(strtoul(body, NULL, 10) >= 7);
	/* Several connections with jobs in flight together. */
	for (int i = 1; i < 4; i++)
		CHECK((fd[i] = dial(port)) >= 0);
	for (int round = 0; round < 20; round++) {
		for (int i = 0; i < 4; i++)
			CHECK(send_all(fd[i], GET));
		for (int i = 0; i < 4; i++) {
			CHECK(read_response(fd[i], &r[i], body, sizeof(body), NULL));
			CHECK(strcmp(body, "ok\n") == 0);
		}
	}
	for (int i = 1; i < 4; i++)
		close(fd[i]);
	/* Connection: close is honoured: the answer says so, then EOF. */
	CHECK(send_all(fd[0], "GET / HTTP/1.1\r\nConnection: close\r\n\r\n"));
	CHECK(read_response(fd[0], &r[0], body, sizeof(body), &closes) && closes);
	CHECK(read(fd[0], body, sizeof(body)) == 0);
	close(fd[0]);
	/* A connection that goes away with a job in flight leaves the server well. */
	fd[0] = dial(port);
	CHECK(fd[0] >= 0 && send_all(fd[0], GET));
	close(fd[0]);
	fd[0] = dial(port);
	CHECK(fd[0] >= 0 && send_all(fd[0], GET));
	CHECK(read_response(fd[0], &r[0], body, sizeof(body), NULL) && strcmp(body, "ok\n") == 0);
	close(fd[0]);
	return true;
}

static bool check_pread(int port, const char *page)
{
	struct rbuf r = {0};
	char body[8192];
	int fd = dial(port);

	CHECK(fd >= 0);
	for (int i = 0; i < 4; i++) {
		CHECK(send_all(fd, GET));
		CHECK(read_response(fd, &r, body, sizeof(body), NULL));
		CHECK(strlen(body) == 4096 && memcmp(body, page, 4096) == 0);
	}
	close(fd);
	return true;
}

/* More server options (--light, --spin 0...), NULL-terminated. */
static char *extra[3];

static bool run(char *bin)
{
	char tmpl[] = "/tmp/uipc-httpd-test-XXXXXX", page[4097];
	struct server s;
	int fd;

	{
		char *argv[] = {bin, "-p", "0", "-t",     "2",      "-w",
		                "2", "-W", "5", extra[0], extra[1], NULL};

		CHECK(start(&s, argv));
		if (!check_burn(s.port)) {
			kill(s.pid, SIGKILL);
			return false;
		}
		CHECK(stop(&s));
	}
	/* pread mode: a one-page file, so every answer is that page. */
	for (int i = 0; i < 4096; i++)
		page[i] = (char)('a' + i % 26);
	page[4096] = '\0';
	fd = mkstemp(tmpl);
	CHECK(fd >= 0 && write(fd, page, 4096) == 4096);
	close(fd);
	{
		char *argv[] = {bin, "-p", "0", "-w", "3", "-f", tmpl, extra[0], extra[1], NULL};
		bool ok;

		if (!start(&s, argv)) {
			unlink(tmpl);
			return false;
		}
		ok = check_pread(s.port, page);
		if (!ok)
			kill(s.pid, SIGKILL);
		unlink(tmpl);
		CHECK(ok && stop(&s));
	}
	return true;
}

int main(int argc, char **argv)
{
	if (argc < 2 || argc > 4) {
		fprintf(stderr, "usage: test-server PATH-TO-SERVER [server option [value]]\n");
		return 2;
	}
	for (int i = 2; i < argc; i++)
		extra[i - 2] = argv[i];
	signal(SIGPIPE, SIG_IGN);
	if (!run(argv[1]))
		return 1;
	printf("test-server: %s ok\n", argv[1]);
	return 0;
}
