/*
 * echo_server.c - minimal non-blocking epoll echo server (reference for bench/core).
 *
 * Reads bytes and writes them back unchanged (raw echo: a client that sends
 * "line\r\n" gets "line\r\n" back). One epoll loop per thread; with -t N each
 * thread owns its own SO_REUSEPORT listener and epoll instance, and the kernel
 * spreads new connections over the threads.
 *
 * With -C CERT -K KEY it speaks implicit TLS instead (OpenSSL, non-blocking,
 * one SSL object per connection, SSL_MODE_RELEASE_BUFFERS so idle connections
 * hold no record buffers). That is the event-driven reference for the TLS
 * figures; `openssl s_server` is the other one, but it serves one connection at
 * a time with blocking I/O.
 *
 * Memory per connection is kept small on purpose (it is a reference for the
 * idle-connection figure): reads go into one per-thread buffer and only output
 * that could not be written at once is copied into a per-connection allocation.
 *
 *   echo_server [-a 127.0.0.1] -p PORT [-t THREADS] [-C CERT -K KEY]
 *
 * Prints "listening" on stderr when ready. Runs until killed.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define BUF_SIZE 65536
#define MAX_EVENTS 256

struct conn {
    int fd;
    SSL *ssl;
    int handshaking;
    uint32_t events;
    char *pend;       /* output not yet written, or NULL */
    size_t pend_len;
    size_t pend_off;
};

static const char *bind_addr = "127.0.0.1";
static int port = 0;
static SSL_CTX *ctx; /* NULL: plain TCP */

static int make_listener(void) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) { perror("socket"); exit(1); }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    struct sockaddr_in sa = {0};
    sa.sin_family = AF_INET;
    sa.sin_port = htons((unsigned short)port);
    if (inet_pton(AF_INET, bind_addr, &sa.sin_addr) != 1) { fprintf(stderr, "bad address %s\n", bind_addr); exit(1); }
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0) { perror("bind"); exit(1); }
    if (listen(fd, 4096) < 0) { perror("listen"); exit(1); }
    return fd;
}

static void set_interest(int ep, struct conn *c, uint32_t ev) {
    if (c->events == ev) return;
    struct epoll_event e = {.events = ev, .data.ptr = c};
    epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &e);
    c->events = ev;
}

static void close_conn(int ep, struct conn *c) {
    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
    if (c->ssl) SSL_free(c->ssl);
    close(c->fd);
    free(c->pend);
    free(c);
}

/* Writes buf (or, when pending output exists, that). Returns 1 when all is
   written, 0 when it would block (the rest is kept in c->pend), -1 on error. */
static int put(int ep, struct conn *c, const char *buf, size_t len) {
    if (c->pend) { buf = c->pend + c->pend_off; len = c->pend_len - c->pend_off; }
    size_t off = 0;
    while (off < len) {
        ssize_t n;
        int want = 0;
        if (c->ssl) {
            ERR_clear_error();
            int r = SSL_write(c->ssl, buf + off, (int)(len - off));
            if (r > 0) n = r;
            else {
                int e = SSL_get_error(c->ssl, r);
                if (e == SSL_ERROR_WANT_WRITE) want = EPOLLOUT;
                else if (e == SSL_ERROR_WANT_READ) want = EPOLLIN;
                else return -1;
                n = -1;
            }
        } else {
            n = write(c->fd, buf + off, len - off);
            if (n < 0) {
                if (errno == EINTR) continue;
                if (errno != EAGAIN && errno != EWOULDBLOCK) return -1;
                want = EPOLLOUT;
            }
        }
        if (n > 0) { off += (size_t)n; continue; }
        /* would block: keep the rest */
        if (c->pend) {
            c->pend_off += off;
        } else {
            c->pend = malloc(len - off);
            if (!c->pend) return -1;
            memcpy(c->pend, buf + off, len - off);
            c->pend_len = len - off;
            c->pend_off = 0;
        }
        set_interest(ep, c, (uint32_t)want);
        return 0;
    }
    free(c->pend);
    c->pend = NULL;
    return 1;
}

/* Returns 0 to keep the connection, -1 to close it. */
static int service(int ep, struct conn *c, char *buf) {
    if (c->handshaking) {
        ERR_clear_error();
        int r = SSL_accept(c->ssl);
        if (r != 1) {
            int e = SSL_get_error(c->ssl, r);
            if (e == SSL_ERROR_WANT_READ) { set_interest(ep, c, EPOLLIN); return 0; }
            if (e == SSL_ERROR_WANT_WRITE) { set_interest(ep, c, EPOLLOUT); return 0; }
            return -1;
        }
        c->handshaking = 0;
    }
    if (c->pend) {
        int r = put(ep, c, NULL, 0);
        if (r <= 0) return r;
    }
    for (;;) {
        ssize_t n;
        if (c->ssl) {
            ERR_clear_error();
            int r = SSL_read(c->ssl, buf, BUF_SIZE);
            if (r > 0) n = r;
            else {
                int e = SSL_get_error(c->ssl, r);
                if (e == SSL_ERROR_WANT_READ) { set_interest(ep, c, EPOLLIN); return 0; }
                if (e == SSL_ERROR_WANT_WRITE) { set_interest(ep, c, EPOLLOUT); return 0; }
                return -1; /* close_notify, EOF or error */
            }
        } else {
            n = read(c->fd, buf, BUF_SIZE);
            if (n == 0) return -1;
            if (n < 0) {
                if (errno == EINTR) continue;
                if (errno == EAGAIN || errno == EWOULDBLOCK) { set_interest(ep, c, EPOLLIN); return 0; }
                return -1;
            }
        }
        int r = put(ep, c, buf, (size_t)n);
        if (r <= 0) return r;
        /* A short plain read drained the socket: wait for epoll (level-triggered) instead of
           paying for a read that returns EAGAIN. TLS may hold decrypted bytes, so it reads on. */
        if (!c->ssl && n < BUF_SIZE) return 0;
    }
}

static void *loop(void *arg) {
    int lfd = (int)(long)arg;
    char *buf = malloc(BUF_SIZE);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
    epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
    struct epoll_event evs[MAX_EVENTS];
    for (;;) {
        int n = epoll_wait(ep, evs, MAX_EVENTS, -1);
        if (n < 0) { if (errno == EINTR) continue; perror("epoll_wait"); exit(1); }
        for (int i = 0; i < n; i++) {
            struct conn *c = evs[i].data.ptr;
            if (c == NULL) {
                for (;;) {
                    int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
                    if (fd < 0) {
                        if (errno == EINTR || errno == ECONNABORTED) continue;
                        if (errno == EMFILE || errno == ENFILE) perror("accept4");
                        break;
                    }
                    int one = 1;
                    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    struct conn *nc = calloc(1, sizeof *nc);
                    if (!nc) { close(fd); continue; }
                    nc->fd = fd;
                    nc->events = EPOLLIN;
                    if (ctx) {
                        nc->ssl = SSL_new(ctx);
                        if (!nc->ssl) { close(fd); free(nc); continue; }
                        SSL_set_fd(nc->ssl, fd);
                        SSL_set_accept_state(nc->ssl);
                        nc->handshaking = 1;
                    }
                    struct epoll_event cev = {.events = EPOLLIN, .data.ptr = nc};
                    if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &cev) < 0) { close_conn(ep, nc); continue; }
                    /* the first bytes (ClientHello or a line) are usually not there yet */
                }
                continue;
            }
            if (service(ep, c, buf) < 0) close_conn(ep, c);
        }
    }
    return NULL;
}

static void usage(const char *argv0) {
    fprintf(stderr, "usage: %s [-a ADDR] -p PORT [-t THREADS] [-C CERT.pem -K KEY.pem]\n", argv0);
    exit(2);
}

int main(int argc, char **argv) {
    int threads = 1, opt;
    const char *cert = NULL, *key = NULL;
    while ((opt = getopt(argc, argv, "a:p:t:C:K:")) != -1) {
        switch (opt) {
        case 'a': bind_addr = optarg; break;
        case 'p': port = atoi(optarg); break;
        case 't': threads = atoi(optarg); break;
        case 'C': cert = optarg; break;
        case 'K': key = optarg; break;
        default: usage(argv[0]);
        }
    }
    if (port <= 0 || threads < 1 || (!cert) != (!key)) usage(argv[0]);
    signal(SIGPIPE, SIG_IGN);
    if (cert) {
        ctx = SSL_CTX_new(TLS_server_method());
        if (!ctx || SSL_CTX_use_certificate_chain_file(ctx, cert) != 1 ||
            SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 || SSL_CTX_check_private_key(ctx) != 1) {
            ERR_print_errors_fp(stderr);
            return 1;
        }
        SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                                  SSL_MODE_ENABLE_PARTIAL_WRITE);
        SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    }
    int *lfds = calloc((size_t)threads, sizeof *lfds);
    for (int i = 0; i < threads; i++) lfds[i] = make_listener();
    pthread_t tid;
    for (int i = 1; i < threads; i++) pthread_create(&tid, NULL, loop, (void *)(long)lfds[i]);
    fprintf(stderr, "echo_server listening on %s:%d with %d thread(s)%s\n", bind_addr, port, threads,
            ctx ? " (TLS)" : "");
    loop((void *)(long)lfds[0]);
    return 0;
}
