/* SPDX-License-Identifier: MIT */
/*
 * Checks the /dev/uintr ioctl ABI of the uipc UINTR shim from user space.
 *
 * Without UINTR hardware (the CI VM: busybox initramfs, QEMU TCG) INFO must
 * say "no hardware", every other known ioctl must fail with EOPNOTSUPP
 * whatever its arguments, and unknown ones with ENOTTY. With the hardware,
 * the argument checks are exercised instead (flags, vector range, fd types,
 * calls without registration); none of them registers anything, so this
 * program never has UINTR state loaded.
 *
 * Usage: uintr-kmod-test [--expect-no-hw | --expect-hw] [device]
 * Without an --expect option and without the device, it skips (exit 77).
 * Prints one line per check and "N passed, N failed"; exit 0 only if all pass.
 * Built static for the initramfs (gcc -static).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../lib/t.h"
#include "uintr-abi.h"

static void check(int ok, const char *what)
{
	t_report(ok, "%s", what);
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

/* Returns whether the module reports the hardware. */
static int check_info(int fd)
{
	struct uintr_info info;
	int hw;

	memset(&info, 0xa5, sizeof(info));
	check(ioctl_errno(fd, UINTR_IOC_INFO, &info) == 0, "UINTR_IOC_INFO succeeds");
	check(info.abi_version == UINTR_ABI_VERSION, "INFO: abi_version is UINTR_ABI_VERSION");
	check_errno(fd, UINTR_IOC_INFO, NULL, EFAULT, "INFO with a NULL pointer");
	printf("INFO: flags %#x uinv %#x uitt_size %u wake_vector %#x poll_us %u wake_source %u "
	       "wake_why %u\n",
	       info.flags, info.uinv, info.uitt_size, info.wake_vector, info.poll_us,
	       info.wake_source, info.wake_why);
	hw = (info.flags & UINTR_INFO_HW) != 0;
	if (hw) {
		check((info.flags &
		       ~(UINTR_INFO_HW | UINTR_INFO_WAIT_POLLED | UINTR_INFO_WAIT_VECTOR)) == 0,
		      "INFO: only known flags");
		if (info.flags & UINTR_INFO_WAIT_VECTOR)
			check(!(info.flags & UINTR_INFO_WAIT_POLLED) && info.wake_vector >= 32 &&
			          info.wake_vector <= 255 && info.wake_vector != info.uinv &&
			          info.poll_us == 0,
			      "INFO: event-driven wait: a wake vector other than uinv, no poll "
			      "period");
		else
			check((info.flags & UINTR_INFO_WAIT_POLLED) && info.poll_us >= 10 &&
			          info.poll_us <= 10000 && info.wake_vector == 0,
			      "INFO: polled wait: its period, no wake vector");
		if (info.flags & UINTR_INFO_WAIT_VECTOR)
			check(info.wake_source == UINTR_WAKE_SRC_OWN ||
			          info.wake_source == UINTR_WAKE_SRC_KVM,
			      "INFO: event-driven wait: the own interrupt or KVM's vector");
		else
			check(info.wake_source == UINTR_WAKE_SRC_POLL,
			      "INFO: polled wait: source poll");
		check((info.wake_source == UINTR_WAKE_SRC_OWN) ==
		              (info.wake_why == UINTR_WAKE_WHY_NONE) &&
		          info.wake_why <= UINTR_WAKE_WHY_ALLOC,
		      "INFO: a reason exactly when the own interrupt is not the wake");
		check(info.uinv >= 32 && info.uinv <= 255, "INFO: uinv is a valid vector");
		check(info.uitt_size == UINTR_UITT_SIZE, "INFO: uitt_size is UINTR_UITT_SIZE");
	} else {
		check(info.flags == 0, "INFO: no flag without hardware");
		check(info.uinv == 0 && info.uitt_size == 0 && info.wake_vector == 0 &&
		          info.poll_us == 0 && info.wake_source == 0 && info.wake_why == 0,
		      "INFO: uinv, uitt_size, wake_vector, poll_us and the wake fields are 0 "
		      "without hardware");
	}
	return hw;
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
	check_errno(fd, UINTR_IOC_ATTACH_SENDER, &flags, EOPNOTSUPP, "ATTACH_SENDER");
}

/* With the hardware: argument checks that fail before anything is registered. */
static void check_args(int fd)
{
	struct uintr_handler_args h = {.handler = 0x401000, .flags = 1};
	struct uintr_handler_args hres = {.handler = 0x401000, .reserved = 1};
	struct uintr_handler_args hnull = {.handler = 0};
	struct uintr_vector_args v64 = {.vector = 64};
	struct uintr_vector_args vflags = {.vector = 1, .flags = 1};
	struct uintr_vector_args v = {.vector = 1};
	struct uintr_sender_args s = {.fd = -1};
	struct uintr_sender_args sflags = {.fd = fd, .flags = 1};
	struct uintr_unsender_args u = {.index = 0};
	struct uintr_unsender_args u256 = {.index = UINTR_UITT_SIZE};
	struct uintr_wait_args w = {.usec = 0};
	struct uintr_wait_args wbig = {.usec = 1000000001ull};
	__u32 flags = 1;

	check_errno(fd, UINTR_IOC_REGISTER_HANDLER, &h, EINVAL, "REGISTER_HANDLER, flags 1");
	check_errno(fd, UINTR_IOC_REGISTER_HANDLER, &hres, EINVAL, "REGISTER_HANDLER, reserved 1");
	check_errno(fd, UINTR_IOC_REGISTER_HANDLER, &hnull, EFAULT, "REGISTER_HANDLER, NULL");
	check_errno(fd, UINTR_IOC_UNREGISTER_HANDLER, &flags, EINVAL,
	            "UNREGISTER_HANDLER, flags 1");
	flags = 0;
	check_errno(fd, UINTR_IOC_UNREGISTER_HANDLER, &flags, EINVAL,
	            "UNREGISTER_HANDLER, not a receiver");
	check_errno(fd, UINTR_IOC_VECTOR_FD, &v64, ENOSPC, "VECTOR_FD, vector 64");
	check_errno(fd, UINTR_IOC_VECTOR_FD, &vflags, EINVAL, "VECTOR_FD, flags 1");
	check_errno(fd, UINTR_IOC_VECTOR_FD, &v, EINVAL, "VECTOR_FD, not a receiver");
	check_errno(fd, UINTR_IOC_REGISTER_SENDER, &s, EBADF, "REGISTER_SENDER, fd -1");
	check_errno(fd, UINTR_IOC_REGISTER_SENDER, &sflags, EINVAL, "REGISTER_SENDER, flags 1");
	s.fd = fd; /* /dev/uintr itself is not a vector fd */
	check_errno(fd, UINTR_IOC_REGISTER_SENDER, &s, EOPNOTSUPP,
	            "REGISTER_SENDER, not a vector fd");
	check_errno(fd, UINTR_IOC_UNREGISTER_SENDER, &u256, EINVAL, "UNREGISTER_SENDER, index 256");
	check_errno(fd, UINTR_IOC_UNREGISTER_SENDER, &u, EINVAL, "UNREGISTER_SENDER, not a sender");
	check_errno(fd, UINTR_IOC_WAIT, &wbig, EINVAL, "WAIT, usec > 1e9");
	check_errno(fd, UINTR_IOC_WAIT, &w, EINVAL, "WAIT, not a receiver");
	check_errno(fd, UINTR_IOC_WAIT, NULL, EFAULT, "WAIT, NULL pointer");
	flags = 1;
	check_errno(fd, UINTR_IOC_ATTACH_SENDER, &flags, EINVAL, "ATTACH_SENDER, flags 1");
	check_errno(fd, UINTR_IOC_ATTACH_SENDER, NULL, EFAULT, "ATTACH_SENDER, NULL pointer");
}

static void check_unknown(int fd)
{
	__u32 x = 0;

	check_errno(fd, _IO(UINTR_IOC_MAGIC, 0x08), NULL, ENOTTY, "unknown nr 0x08");
	check_errno(fd, _IOW(UINTR_IOC_MAGIC, 0x7f, __u32), &x, ENOTTY, "unknown nr 0x7f");
	check_errno(fd, _IOR(UINTR_IOC_MAGIC, 0x00, __u32), &x, ENOTTY,
	            "INFO encoded with a wrong size");
	check_errno(fd, _IOR('T', 0x00, struct uintr_info), &x, ENOTTY, "foreign magic");
	check_errno(fd, TCGETS, &x, ENOTTY, "TCGETS (not a tty)");
}

int main(int argc, char **argv)
{
	const char *path = UINTR_DEVICE_PATH;
	int expect = -1; /* -1: either, 0: no hardware, 1: hardware */
	struct uintr_vector_args v1 = {.vector = 1};
	struct stat st;
	int fd, fd2, hw, i;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--expect-no-hw"))
			expect = 0;
		else if (!strcmp(argv[i], "--expect-hw"))
			expect = 1;
		else
			path = argv[i];
	}
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0 && expect < 0) {
		printf("SKIP: cannot open %s (%s): the uipc_uintr module is not loaded\n", path,
		       strerror(errno));
		return 77;
	}
	check(fd >= 0, "open the device");
	if (fd < 0) {
		printf("open %s: %s\n", path, strerror(errno));
		return t_report_done();
	}
	check(fstat(fd, &st) == 0 && S_ISCHR(st.st_mode), "device is a character device");
	check((fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0, "O_CLOEXEC kept");
	hw = check_info(fd);
	if (expect >= 0)
		check(hw == expect, expect ? "hardware reported, as expected"
		                           : "no hardware reported, as expected");
	if (hw)
		check_args(fd);
	else
		check_no_hw(fd);
	check_unknown(fd);

	/* A second open works independently; closing in either order is fine. */
	fd2 = open(path, O_RDONLY | O_CLOEXEC);
	check(fd2 >= 0, "second open");
	check(close(fd) == 0, "close first fd");
	if (fd2 >= 0) {
		check_errno(fd2, UINTR_IOC_VECTOR_FD, &v1, hw ? EINVAL : EOPNOTSUPP,
		            "VECTOR_FD on the second fd");
		check(close(fd2) == 0, "close second fd");
	}
	return t_report_done();
}
