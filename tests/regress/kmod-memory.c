/* SPDX-License-Identifier: MIT */
/*
 * Regression (uipc_uintr.ko): every allocation a user could make the shim
 * do was GFP_KERNEL without accounting, so one user of the world-writable
 * /dev/uintr could pin memory outside its memory cgroup, and one open file
 * took a sender table for every process that used it.
 *
 * In a memory cgroup of its own, the program opens 400 files of the device
 * and makes each create a sender table (6 KiB of kernel memory): the
 * cgroup's memory.current must grow by at least 1.5 MiB. Then 17 forked
 * children share one file: 16 get tables, the 17th -ENOSPC. Runs as root
 * in the QEMU stage (scripts/kmod-ci.sh) with cgroup2 at /sys/fs/cgroup.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "../kmod/fake-lib.h"

#define FILES           400
#define TABLES_PER_FILE 16
#define CG              "/sys/fs/cgroup/uipc-kmod-memory"

static long read_long(const char *path)
{
	char buf[64] = "";
	FILE *f = fopen(path, "r");

	if (!f)
		return -1;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = 0;
	fclose(f);
	return buf[0] ? atol(buf) : -1;
}

static int write_str(const char *path, const char *s)
{
	FILE *f = fopen(path, "w");
	int ok;

	if (!f)
		return -1;
	ok = fputs(s, f) >= 0;
	return fclose(f) == 0 && ok ? 0 : -1;
}

static long attach(int fd)
{
	__u32 flags = 0;

	return fk_io(fd, UINTR_IOC_ATTACH_SENDER, &flags);
}

int main(void)
{
	static int fds[FILES];
	long before, after, r;
	int i, ok = 1, dev, go[2], status, got = 0, nospc = 0;
	char what[160], pid[32];
	pid_t kids[TABLES_PER_FILE + 1];

	write_str("/sys/fs/cgroup/cgroup.subtree_control", "+memory");
	mkdir(CG, 0755);
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	fk_check(write_str(CG "/cgroup.procs", pid) == 0, "in a memory cgroup of its own");
	before = read_long(CG "/memory.current");
	for (i = 0; i < FILES; i++) {
		fds[i] = open(UINTR_DEVICE_PATH, O_RDWR | O_CLOEXEC);
		/* The first attaches; the others make their table, then -EBUSY (one table a thread). */
		r = fds[i] >= 0 ? attach(fds[i]) : -1;
		ok &= fds[i] >= 0 && (i == 0 ? r == 0 : r == -EBUSY);
	}
	fk_check(ok, "400 files, a sender table each");
	after = read_long(CG "/memory.current");
	snprintf(what, sizeof(what),
	         "the cgroup is charged for them (memory.current %ld -> %ld, +%ld KiB)", before,
	         after, (after - before) / 1024);
	fk_check(before >= 0 && after - before >= 1536 * 1024, what);
	for (i = 0; i < FILES; i++)
		close(fds[i]);

	/* One file, 17 processes: 16 tables, then -ENOSPC. */
	dev = open(UINTR_DEVICE_PATH, O_RDWR | O_CLOEXEC);
	if (dev < 0 || pipe(go) != 0)
		return fk_done();
	for (i = 0; i <= TABLES_PER_FILE; i++) {
		kids[i] = fork();
		if (kids[i] == 0) {
			char c;

			close(go[1]);
			r = attach(dev);
			if (read(go[0], &c, 1) <
			    0) /* stay alive: the table is the live process's */
				_exit(3);
			_exit(r == 0 ? 0 : r == -ENOSPC ? 1 : 2);
		}
		t_sleep_ms(20); /* in order */
	}
	close(go[1]);
	for (i = 0; i <= TABLES_PER_FILE; i++)
		if (kids[i] > 0 && waitpid(kids[i], &status, 0) == kids[i] && WIFEXITED(status)) {
			got += WEXITSTATUS(status) == 0;
			nospc += WEXITSTATUS(status) == 1;
		}
	snprintf(what, sizeof(what),
	         "one file holds %d tables, then -ENOSPC (%d tables, %d refused)", TABLES_PER_FILE,
	         got, nospc);
	fk_check(got == TABLES_PER_FILE && nospc == 1, what);
	close(dev);
	write_str("/sys/fs/cgroup/cgroup.procs", pid);
	rmdir(CG);
	return fk_done();
}
