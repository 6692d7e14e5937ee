/* SPDX-License-Identifier: MIT */
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "uipc-private.h"
#include "hooks.h"

/* Seals every shared segment carries: a peer can neither shrink it (which
 * would turn our accesses into SIGBUS) nor grow it, nor change the seals. */
#define UIPC_SEALS (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL)

int uipc__shm_create(const char *name, size_t size, int *ret_fd, void **ret_map)
{
	void *map;
	int fd, r;

	if (uipc__fault(&uipc__faults.fd))
		return -EMFILE;
	fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)size) < 0 || fcntl(fd, F_ADD_SEALS, UIPC_SEALS) < 0) {
		r = -errno;
		goto fail;
	}
	map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED) {
		r = -errno;
		goto fail;
	}
	*ret_fd = fd;
	*ret_map = map;
	return 0;
fail:
	uipc__close(fd);
	return r;
}

int uipc__shm_map(int fd, size_t size, void **ret_map)
{
	struct stat st;
	void *map;
	int seals;

	seals = fcntl(fd, F_GET_SEALS);
	if (seals < 0)
		return errno == EBADF ? -EBADF : -EINVAL;
	if ((seals & (F_SEAL_SHRINK | F_SEAL_SEAL)) != (F_SEAL_SHRINK | F_SEAL_SEAL))
		return -EINVAL;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode) || st.st_size < 0 || (uint64_t)st.st_size < size)
		return -EINVAL;
	map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED)
		return -errno;
	*ret_map = map;
	return 0;
}
