/* SPDX-License-Identifier: MIT */
/*
 * Runs inside a VM (busybox initramfs) with the uipc UINTR shim loaded on a
 * CPU without UINTR: /dev/uintr must exist, UINTR_IOC_INFO must say "no
 * hardware", every other known ioctl must fail with EOPNOTSUPP (whatever
 * its arguments), and unknown ones with ENOTTY. Built static (gcc -static).
 *
 * Usage: uintr-kmod-test [device]   (default /dev/uintr)
 * Prints one line per check and "N passed, N failed"; exit 0 only if all pass.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "uintr-abi.h"

static int passed, failed;

static void check(int ok, const char *what)
{
	printf("%s: %s\n", ok ? "ok" : "FAIL", what);
	if (ok)
		passed++;
	else
		failed++;
}

/* The ioctl's errno, or 0 if it succeeded. */
static int ioctl_errno(int fd, unsigned long cmd, void *arg)
{
	return ioctl(fd, cmd, arg) < 0 ? errno : 0;
}

static void check_errno(int fd, unsigned long cmd, void *arg, int want, const char *what)
{
	int got = ioctl_errno(fd, cmd, arg);
	char line[160];

	snprintf(line, sizeof(line), "%s -> %s (want %s)", what, got ? strerror(got) : "success",
	         strerror(want));
	check(got == want, line);
}

static void check_info(int fd)
{
	struct uintr_info info;

	memset(&info, 0xa5, sizeof(info));
	check(ioctl_errno(fd, UINTR_IOC_INFO, &info) == 0, "UINTR_IOC_INFO succeeds");
	check(info.abi_version == UINTR_ABI_VERSION, "INFO: abi_version is UINTR_ABI_VERSION");
	check(!(info.flags & UINTR_INFO_HW), "INFO: no hardware (UINTR_INFO_HW clear)");
	check(info.flags == 0, "INFO: no other flag without hardware");
	check(info.uinv == 0 && info.uitt_size == 0,
	      "INFO: uinv and uitt_size are 0 without hardware");
	check(info.reserved[0] == 0 && info.reserved[1] == 0, "INFO: reserved fields zeroed");
	check_errno(fd, UINTR_IOC_INFO, NULL, EFAULT, "INFO with a NULL pointer");
}

/* Valid and invalid arguments alike: without hardware the answer is EOPNOTSUPP. */
static void check_no_hw(int fd)
{
	struct uintr_handler_args h = {.handler = 0x401000};
	struct uintr_handler_args hbad = {.handler = 0, .flags = 1};
	struct uintr_vector_args v = {.vector = 3};
	struct uintr_vector_args vbad = {.vector = 64};
	struct uintr_sender_args s = {.fd = 0};
	struct uintr_sender_args sbad = {.fd = -1};
	struct uintr_unsender_args u = {.index = 0};
	struct uintr_wait_args w = {.usec = 0};
	struct uintr_wait_args wbad = {.usec = 2000000000ull};
	__u32 flags = 0;

	check_errno(fd, UINTR_IOC_REGISTER_HANDLER, &h, EOPNOTSUPP, "REGISTER_HANDLER");
	check_errno(fd, UINTR_IOC_REGISTER_HANDLER, &hbad, EOPNOTSUPP,
	            "REGISTER_HANDLER, bad args");
	check_errno(fd, UINTR_IOC_UNREGISTER_HANDLER, &flags, EOPNOTSUPP, "UNREGISTER_HANDLER");
	check_errno(fd, UINTR_IOC_VECTOR_FD, &v, EOPNOTSUPP, "VECTOR_FD");
	check_errno(fd, UINTR_IOC_VECTOR_FD, &vbad, EOPNOTSUPP, "VECTOR_FD, vector 64");
	check_errno(fd, UINTR_IOC_REGISTER_SENDER, &s, EOPNOTSUPP, "REGISTER_SENDER");
	check_errno(fd, UINTR_IOC_REGISTER_SENDER, &sbad, EOPNOTSUPP, "REGISTER_SENDER, fd -1");
	check_errno(fd, UINTR_IOC_UNREGISTER_SENDER, &u, EOPNOTSUPP, "UNREGISTER_SENDER");
	check_errno(fd, UINTR_IOC_WAIT, &w, EOPNOTSUPP, "WAIT");
	check_errno(fd, UINTR_IOC_WAIT, &wbad, EOPNOTSUPP, "WAIT, usec > 1e9");
	check_errno(fd, UINTR_IOC_WAIT, NULL, EOPNOTSUPP, "WAIT, NULL pointer");
}

static void check_unknown(int fd)
{
	__u32 x = 0;

	check_errno(fd, _IO(UINTR_IOC_MAGIC, 0x07), NULL, ENOTTY, "unknown nr 0x07");
	check_errno(fd, _IOW(UINTR_IOC_MAGIC, 0x7f, __u32), &x, ENOTTY, "unknown nr 0x7f");
	check_errno(fd, _IOR(UINTR_IOC_MAGIC, 0x00, __u32), &x, ENOTTY,
	            "INFO encoded with a wrong size");
	check_errno(fd, _IOR('T', 0x00, struct uintr_info), &x, ENOTTY, "foreign magic");
	check_errno(fd, TCGETS, &x, ENOTTY, "TCGETS (not a tty)");
}

int main(int argc, char **argv)
{
	const char *path = argc > 1 ? argv[1] : UINTR_DEVICE_PATH;
	struct stat st;
	int fd, fd2;

	fd = open(path, O_RDWR | O_CLOEXEC);
	check(fd >= 0, "open " UINTR_DEVICE_PATH);
	if (fd < 0) {
		printf("open %s: %s\n", path, strerror(errno));
		printf("%d passed, %d failed\n", passed, failed);
		return 1;
	}
	check(fstat(fd, &st) == 0 && S_ISCHR(st.st_mode), "device is a character device");
	check((fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0, "O_CLOEXEC kept");
	check_info(fd);
	check_no_hw(fd);
	check_unknown(fd);

	/* A second open works independently; closing in either order is fine. */
	fd2 = open(path, O_RDONLY | O_CLOEXEC);
	check(fd2 >= 0, "second open");
	check(close(fd) == 0, "close first fd");
	if (fd2 >= 0) {
		check_errno(fd2, UINTR_IOC_VECTOR_FD, &(struct uintr_vector_args){.vector = 1},
		            EOPNOTSUPP, "VECTOR_FD on the second fd");
		check(close(fd2) == 0, "close second fd");
	}
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
