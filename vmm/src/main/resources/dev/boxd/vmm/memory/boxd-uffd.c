/*
 * Preloaded into QEMU (LD_PRELOAD): gives the process one userfaultfd with asynchronous
 * write-protection and does nothing else. boxd takes a copy of it (pidfd_getfd) to find the guest
 * RAM pages written while a fork copies them ahead (UserfaultWp.java); with asynchronous
 * write-protection the kernel resolves the faults itself, so nothing in QEMU reads the fd.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Linux 6.7 and later; older headers lack them. */
#ifndef UFFD_FEATURE_WP_HUGETLBFS_SHMEM
#define UFFD_FEATURE_WP_HUGETLBFS_SHMEM (1 << 12)
#endif
#ifndef UFFD_FEATURE_WP_UNPOPULATED
#define UFFD_FEATURE_WP_UNPOPULATED (1 << 13)
#endif
#ifndef UFFD_FEATURE_WP_ASYNC
#define UFFD_FEATURE_WP_ASYNC (1 << 15)
#endif

__attribute__((constructor)) static void boxd_uffd(void) {
  /* Not for the programs QEMU runs (exec: migration helpers). */
  unsetenv("LD_PRELOAD");
  int fd = syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    return;
  }
  struct uffdio_api api = {
      .api = UFFD_API,
      .features = UFFD_FEATURE_WP_ASYNC | UFFD_FEATURE_WP_UNPOPULATED | UFFD_FEATURE_WP_HUGETLBFS_SHMEM,
  };
  if (ioctl(fd, UFFDIO_API, &api) < 0) {
    close(fd);
  }
}
