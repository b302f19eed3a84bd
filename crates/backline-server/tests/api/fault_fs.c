/*
 * A fault-injecting layer under SQLite, for the store's I/O-error tests.
 * Preloaded into the real binary (LD_PRELOAD), it makes every write and
 * sync of a regular file fail with EIO while the file named by
 * BACKLINE_FAULT_FILE exists, as a failing disk would.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

static int failing(int fd) {
    const char *flag = getenv("BACKLINE_FAULT_FILE");
    struct stat st;
    if (flag == NULL || stat(flag, &st) != 0) return 0;
    return fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
}

#define REAL(name, ret, ...)                                      \
    static ret (*real)(__VA_ARGS__) = NULL;                       \
    if (real == NULL) real = (ret (*)(__VA_ARGS__))dlsym(RTLD_NEXT, name)

ssize_t pwrite64(int fd, const void *buf, size_t n, off_t offset) {
    REAL("pwrite64", ssize_t, int, const void *, size_t, off_t);
    if (failing(fd)) { errno = EIO; return -1; }
    return real(fd, buf, n, offset);
}

ssize_t pwrite(int fd, const void *buf, size_t n, off_t offset) {
    REAL("pwrite", ssize_t, int, const void *, size_t, off_t);
    if (failing(fd)) { errno = EIO; return -1; }
    return real(fd, buf, n, offset);
}

ssize_t write(int fd, const void *buf, size_t n) {
    REAL("write", ssize_t, int, const void *, size_t);
    if (failing(fd)) { errno = EIO; return -1; }
    return real(fd, buf, n);
}

int fsync(int fd) {
    REAL("fsync", int, int);
    if (failing(fd)) { errno = EIO; return -1; }
    return real(fd);
}

int fdatasync(int fd) {
    REAL("fdatasync", int, int);
    if (failing(fd)) { errno = EIO; return -1; }
    return real(fd);
}
