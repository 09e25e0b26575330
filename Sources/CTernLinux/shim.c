// Functions that need _GNU_SOURCE. Defined here, not in the header, so the header stays compatible with Swift's
// Glibc module (see CTernLinux.h).
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "CTernLinux.h"

int c_tern_accept4(int fd, struct sockaddr *address, socklen_t *length, int flags) {
    return accept4(fd, address, length, flags);
}

int c_tern_pthread_setname(pthread_t thread, const char *name) {
    char shortened[16];
    strncpy(shortened, name, sizeof shortened - 1);
    shortened[sizeof shortened - 1] = 0;
    return pthread_setname_np(thread, shortened);
}

int c_tern_set_thread_nice(int nice) {
    return setpriority(PRIO_PROCESS, (id_t)gettid(), nice);
}

int c_tern_syncfs(int fd) {
    return syncfs(fd);
}

int c_tern_open_unnamed(const char *directory) {
    return open(directory, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
}

int c_tern_open_direct_sync(const char *path) {
    return open(path, O_RDWR | O_DIRECT | O_DSYNC | O_CLOEXEC);
}

int c_tern_link_unnamed(int fd, const char *path) {
    char source[64];
    snprintf(source, sizeof source, "/proc/self/fd/%d", fd);
    return linkat(AT_FDCWD, source, AT_FDCWD, path, AT_SYMLINK_FOLLOW);
}
