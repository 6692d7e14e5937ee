/* SPDX-License-Identifier: MIT */
/* Replays a fuzz corpus (files or directories of files) through a target's
 * LLVMFuzzerTestOneInput() without libFuzzer: linked with each fuzz-<name>.c,
 * it is how the corpora run in the normal test suite.
 *
 * Each input is handed over in a heap buffer of exactly its size, so a
 * sanitizer build catches a target reading past the end, and must leave as
 * many file descriptors open as it found (a target may keep state across
 * inputs, as libFuzzer allows: the first input is replayed once more at the
 * end, and only that second run is checked). Exit: 0, 1 on a failure, 77 when
 * there was nothing to replay. */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REPLAY_MAX_INPUT (1u << 20)

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

static char first[4096];

static int replay_file(const char *path, off_t size)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;
	size_t n;
	int before, after;

	if (!f) {
		perror(path);
		return -1;
	}
	if (size > REPLAY_MAX_INPUT)
		size = REPLAY_MAX_INPUT;
	buf = malloc(size ? (size_t)size : 1);
	n = buf ? fread(buf, 1, (size_t)size, f) : 0;
	fclose(f);
	if (!buf || n != (size_t)size) {
		fprintf(stderr, "%s: short read\n", path);
		free(buf);
		return -1;
	}
	before = count_fds();
	LLVMFuzzerTestOneInput(buf, n);
	after = count_fds();
	free(buf);
	if (!first[0]) {
		snprintf(first, sizeof(first), "%s", path);
		return 0;
	}
	if (before != after) {
		fprintf(stderr, "%s: %d fds open before, %d after\n", path, before, after);
		return -1;
	}
	return 0;
}

static int replay(const char *path, unsigned *count)
{
	struct stat st;
	struct dirent *e;
	char sub[4096];
	DIR *d;
	int r = 0;

	if (stat(path, &st) < 0) {
		perror(path);
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		(*count)++;
		return replay_file(path, st.st_size);
	}
	d = opendir(path);
	if (!d)
		return -1;
	while (r == 0 && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
		r = replay(sub, count);
	}
	closedir(d);
	return r;
}

int main(int argc, char **argv)
{
	unsigned count = 0;

	for (int i = 1; i < argc; i++)
		if (replay(argv[i], &count) < 0)
			return 1;
	if (first[0] && replay(first, &count) < 0)
		return 1;
	printf("replayed %u inputs\n", count);
	return count ? 0 : 77;
}
