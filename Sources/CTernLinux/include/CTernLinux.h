// C shim for the Linux syscalls that `import Glibc` does not expose (epoll, eventfd, timerfd, signalfd).
// Only TernPosix imports this module.
//
// This header must not define _GNU_SOURCE: the system headers it includes are also part of Swift's Glibc module,
// and a different feature macro here makes clang see two different definitions of the same types (fd_set,
// rusage). Calls that need _GNU_SOURCE (accept4, pthread_setname_np) are real functions in shim.c instead.
#ifndef C_TERN_LINUX_H
#define C_TERN_LINUX_H

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

/// Reads errno right after a failing call, before Swift code can clobber it.
static inline int c_tern_errno(void) { return errno; }

/// sigset helpers: the glibc versions are macros in some configurations.
static inline int c_tern_sigemptyset(sigset_t *set) { return sigemptyset(set); }
static inline int c_tern_sigaddset(sigset_t *set, int sig) { return sigaddset(set, sig); }

/// epoll_event is packed on x86_64; these accessors keep Swift away from its layout.
static inline void c_tern_epoll_event_set(struct epoll_event *ev, uint32_t events, uint64_t data) {
    ev->events = events;
    ev->data.u64 = data;
}
static inline uint32_t c_tern_epoll_event_events(const struct epoll_event *ev) { return ev->events; }
static inline uint64_t c_tern_epoll_event_data(const struct epoll_event *ev) { return ev->data.u64; }

/// accept4(2); needs _GNU_SOURCE, so it is defined in shim.c.
int c_tern_accept4(int fd, struct sockaddr *address, socklen_t *length, int flags);

/// syncfs(2): flush every pending write of the file system holding `fd`; needs _GNU_SOURCE (shim.c).
int c_tern_syncfs(int fd);

/// Opens an unnamed file in `directory` for writing (O_TMPFILE, 0600); -1 with errno if the file system cannot.
int c_tern_open_unnamed(const char *directory);

/// Opens an existing file for writes that bypass the page cache and are durable when they return (O_DIRECT |
/// O_DSYNC: the data goes with FUA where the device has it, so it need not wait for other writes queued in the
/// device's cache the way a cache flush does); -1 with errno where the file system cannot (tmpfs).
int c_tern_open_direct_sync(const char *path);

/// Gives the unnamed file `fd` the name `path` (linkat through /proc/self/fd); fails with EEXIST if taken.
int c_tern_link_unnamed(int fd, const char *path);

/// pthread_setname_np(3); needs _GNU_SOURCE, so it is defined in shim.c. Names longer than 15 bytes are cut.
int c_tern_pthread_setname(pthread_t thread, const char *name);

/// setpriority(2) for the calling thread only (Linux: a thread id is a PRIO_PROCESS target). 0 or -1 with errno.
int c_tern_set_thread_nice(int nice);

#endif
