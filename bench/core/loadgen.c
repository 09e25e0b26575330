/*
 * loadgen.c - loopback load generator for bench/core.
 *
 * Every mode is bounded (a duration, or a count plus a hold time) and exits by
 * itself. Results go to stdout as "key value" lines; diagnostics go to stderr.
 *
 * Modes (-m):
 *   accept     each of -c connection slots loops: connect, send one line, read
 *              the reply line, close. Prints accept_rate (completed per second).
 *   latency    -c persistent connections, each doing sequential ping-pong of one
 *              -s byte line. Prints latency_p50_us / latency_p99_us / ...
 *   handshake  each of -c slots loops: connect, full TLS handshake (no session
 *              resumption), close_notify, close. Prints handshakes_per_s. With -e,
 *              one line round trip after the handshake before closing.
 *   idle       open -N connections (at most -c in progress at once), complete one
 *              line round trip on each, print "established N", then hold them
 *              until stdin reaches EOF or -H seconds pass. With -t the
 *              connections are TLS (handshake completed before the round trip).
 *   idle-tls   same as "idle -t".
 *
 * Options:
 *   -a ADDR     server address (default 127.0.0.1)
 *   -p PORT     server port (required)
 *   -c N        concurrency: connection slots / persistent connections (default 50)
 *   -T N        client threads, each with its own epoll loop (default 1)
 *   -d SECS     measured duration for accept/latency/handshake (default 5)
 *   -w SECS     warm-up before the measured window (default 1)
 *   -s BYTES    line size including the final "\r\n" (default 64)
 *   -N N        connections to open in idle mode (default 1000)
 *   -H SECS     maximum hold time in idle mode (default 60)
 *   -S N        spread client source addresses over 127.0.0.1..127.0.0.N
 *               (avoids ephemeral-port exhaustion at high connect rates)
 *   -t          use TLS (implied by handshake and idle-tls)
 *   -x          lenient reply check: any reply ending in '\n' is accepted
 *               (needed for `openssl s_server -rev`, which reverses lines);
 *               the default requires the reply to equal the line sent
 *   -v          print the negotiated TLS version/cipher once on stderr
 *   -e          handshake mode: do one line round trip before closing
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

enum mode { M_ACCEPT, M_LATENCY, M_HANDSHAKE, M_IDLE };
enum state { ST_FREE, ST_CONNECT, ST_HANDSHAKE, ST_WRITE, ST_READ, ST_IDLE };

/* ---- configuration ---- */
static enum mode mode;
static const char *addr_s = "127.0.0.1";
static int port;
static int conc = 50;
static int nthreads = 1;
static double duration = 5, warmup = 1, hold = 60;
static int line_size = 64;
static int idle_total = 1000;
static int nsrc = 1;
static int use_tls;
static int lenient;
static int verbose;
static int hs_echo;         /* handshake mode: one line round trip after the handshake */

static struct sockaddr_in server_sa;
static SSL_CTX *ssl_ctx;
static char *line;          /* the line sent, line_size bytes ending in "\r\n" */

static double t_begin;      /* when the workers start */
static double t_measure;    /* start of the measured window */
static double t_deadline;   /* end of the measured window */

static atomic_int stop_flag;
static atomic_int established; /* idle mode */
static atomic_int printed_tls_info;

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ---- per-thread state ---- */
struct conn {
    int fd;
    SSL *ssl;
    enum state st;
    uint32_t events;  /* current epoll interest */
    size_t woff;
    size_t rlen;
    double t_op;      /* start of the current operation (connect or request) */
    char *rbuf;
    size_t rcap;
};

struct worker {
    int id;
    int ep;
    int nconns;
    struct conn *conns;
    /* idle mode bookkeeping */
    int quota, done, inflight;
    /* results */
    uint64_t ops;         /* completed operations inside the measured window */
    uint64_t ops_total;
    uint64_t errors;
    uint64_t server_closed;
    uint32_t *samples;    /* operation latencies in ns (measured window only) */
    size_t nsamples, capsamples;
    int src_next;
    char first_error[160];
};

static void note_error(struct worker *w, const char *what, int err) {
    w->errors++;
    if (!w->first_error[0])
        snprintf(w->first_error, sizeof w->first_error, "%s: %s", what, err ? strerror(err) : "protocol");
}

static void add_sample(struct worker *w, double seconds) {
    if (w->nsamples == w->capsamples) {
        w->capsamples = w->capsamples ? w->capsamples * 2 : 65536;
        w->samples = realloc(w->samples, w->capsamples * sizeof *w->samples);
        if (!w->samples) { perror("realloc"); exit(1); }
    }
    double ns = seconds * 1e9;
    if (ns > 4e9) ns = 4e9;
    w->samples[w->nsamples++] = (uint32_t)ns;
}

static void set_interest(struct worker *w, struct conn *c, uint32_t ev) {
    if (c->events == ev) return;
    struct epoll_event e = {.events = ev, .data.ptr = c};
    if (epoll_ctl(w->ep, EPOLL_CTL_MOD, c->fd, &e) < 0) { perror("epoll_ctl mod"); exit(1); }
    c->events = ev;
}

static void conn_close(struct worker *w, struct conn *c) {
    if (c->ssl) {
        if (c->st == ST_IDLE || c->st == ST_READ || c->st == ST_WRITE) SSL_shutdown(c->ssl); /* best effort close_notify */
        SSL_free(c->ssl);
        c->ssl = NULL;
    }
    if (c->fd >= 0) {
        epoll_ctl(w->ep, EPOLL_CTL_DEL, c->fd, NULL);
        close(c->fd);
    }
    c->fd = -1;
    c->st = ST_FREE;
    c->events = 0;
}

static void conn_drive(struct worker *w, struct conn *c);

/* Starts a new connection in slot c. Returns 0 on success. */
static int conn_start(struct worker *w, struct conn *c) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) { note_error(w, "socket", errno); return -1; }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (nsrc > 1) {
        struct sockaddr_in src = {0};
        src.sin_family = AF_INET;
        src.sin_addr.s_addr = htonl(0x7f000001u + (uint32_t)(w->src_next++ % nsrc));
        setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
        if (bind(fd, (struct sockaddr *)&src, sizeof src) < 0) {
            note_error(w, "bind", errno);
            close(fd);
            return -1;
        }
    }
    c->fd = fd;
    c->t_op = now();
    c->woff = c->rlen = 0;
    c->st = ST_CONNECT;
    c->events = EPOLLOUT;
    struct epoll_event e = {.events = EPOLLOUT, .data.ptr = c};
    if (epoll_ctl(w->ep, EPOLL_CTL_ADD, fd, &e) < 0) { perror("epoll_ctl add"); exit(1); }
    if (connect(fd, (struct sockaddr *)&server_sa, sizeof server_sa) < 0 && errno != EINPROGRESS) {
        note_error(w, "connect", errno);
        conn_close(w, c);
        return -1;
    }
    return 0;
}

static int in_window(double t) { return t >= t_measure && t <= t_deadline; }

/* Called when a connection failed; decides whether to replace it. */
static void conn_failed(struct worker *w, struct conn *c) {
    conn_close(w, c);
    if (mode == M_IDLE) {
        w->inflight--; /* the slot is free again and gets retried */
        return;
    }
    if (now() < t_deadline && !atomic_load(&stop_flag)) {
        if (conn_start(w, c) == 0) conn_drive(w, c);
    }
}

/* A reply line has been fully received on c. */
static void on_reply(struct worker *w, struct conn *c) {
    double t = now();
    if (!lenient && (c->rlen != (size_t)line_size || memcmp(c->rbuf, line, (size_t)line_size) != 0)) {
        note_error(w, "reply mismatch", 0);
        conn_failed(w, c);
        return;
    }
    switch (mode) {
    case M_LATENCY:
        if (in_window(c->t_op)) { w->ops++; add_sample(w, t - c->t_op); }
        w->ops_total++;
        if (t >= t_deadline) { conn_close(w, c); return; }
        c->st = ST_WRITE;
        c->woff = c->rlen = 0;
        c->t_op = t;
        return;
    case M_ACCEPT:
    case M_HANDSHAKE:
        if (in_window(t)) { w->ops++; add_sample(w, t - c->t_op); }
        w->ops_total++;
        conn_close(w, c);
        if (t < t_deadline && !atomic_load(&stop_flag)) {
            if (conn_start(w, c) == 0) conn_drive(w, c);
        }
        return;
    case M_IDLE:
        c->st = ST_IDLE;
        w->inflight--;
        w->done++;
        atomic_fetch_add(&established, 1);
        return;
    }
}

static int tls_want(struct worker *w, struct conn *c, int r, const char *what) {
    int e = SSL_get_error(c->ssl, r);
    if (e == SSL_ERROR_WANT_READ) { set_interest(w, c, EPOLLIN); return 1; }
    if (e == SSL_ERROR_WANT_WRITE) { set_interest(w, c, EPOLLOUT); return 1; }
    if (!w->first_error[0]) {
        unsigned long ec = ERR_peek_error();
        char buf[120];
        ERR_error_string_n(ec, buf, sizeof buf);
        snprintf(w->first_error, sizeof w->first_error, "%s: ssl error %d (%s) errno %s", what, e,
                 ec ? buf : "-", errno ? strerror(errno) : "0");
    }
    w->errors++;
    ERR_clear_error();
    return 0;
}

/* Runs the state machine of c until it would block. */
static void conn_drive(struct worker *w, struct conn *c) {
    for (;;) {
        switch (c->st) {
        case ST_FREE:
            return;
        case ST_CONNECT: {
            int err = 0;
            socklen_t len = sizeof err;
            getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
            if (err == EINPROGRESS) return;
            if (err) { note_error(w, "connect", err); conn_failed(w, c); return; }
            if (use_tls) {
                c->ssl = SSL_new(ssl_ctx);
                if (!c->ssl) { fprintf(stderr, "SSL_new failed\n"); exit(1); }
                SSL_set_fd(c->ssl, c->fd);
                SSL_set_tlsext_host_name(c->ssl, "localhost");
                SSL_set_connect_state(c->ssl);
                c->st = ST_HANDSHAKE;
            } else {
                c->st = ST_WRITE;
            }
            break;
        }
        case ST_HANDSHAKE: {
            ERR_clear_error();
            int r = SSL_connect(c->ssl);
            if (r == 1) {
                if (verbose && atomic_exchange(&printed_tls_info, 1) == 0)
                    fprintf(stderr, "tls: %s %s group %s\n", SSL_get_version(c->ssl), SSL_get_cipher_name(c->ssl),
                            OBJ_nid2sn(SSL_get_negotiated_group(c->ssl) & ~TLSEXT_nid_unknown));
                if (mode == M_HANDSHAKE && !hs_echo) {
                    /* handshake only: send close_notify and count it */
                    SSL_shutdown(c->ssl);
                    c->st = ST_FREE; /* so conn_close does not send a second close_notify */
                    c->rlen = (size_t)line_size;
                    memcpy(c->rbuf, line, (size_t)line_size);
                    on_reply(w, c);
                    return;
                }
                c->st = ST_WRITE;
                break;
            }
            if (!tls_want(w, c, r, "handshake")) { conn_failed(w, c); return; }
            return;
        }
        case ST_WRITE: {
            ssize_t n;
            if (c->ssl) {
                ERR_clear_error();
                int r = SSL_write(c->ssl, line + c->woff, line_size - (int)c->woff);
                if (r <= 0) {
                    if (!tls_want(w, c, r, "write")) { conn_failed(w, c); return; }
                    return;
                }
                n = r;
            } else {
                n = write(c->fd, line + c->woff, (size_t)line_size - c->woff);
                if (n < 0) {
                    if (errno == EINTR) continue;
                    if (errno == EAGAIN) { set_interest(w, c, EPOLLOUT); return; }
                    note_error(w, "write", errno);
                    conn_failed(w, c);
                    return;
                }
            }
            c->woff += (size_t)n;
            if (c->woff == (size_t)line_size) {
                c->st = ST_READ;
                c->rlen = 0;
                if (!c->ssl) { set_interest(w, c, EPOLLIN); return; } /* reply cannot be there yet */
            }
            break;
        }
        case ST_READ: {
            ssize_t n;
            if (c->rlen == c->rcap) { note_error(w, "reply too long", 0); conn_failed(w, c); return; }
            if (c->ssl) {
                ERR_clear_error();
                int r = SSL_read(c->ssl, c->rbuf + c->rlen, (int)(c->rcap - c->rlen));
                if (r <= 0) {
                    int e = SSL_get_error(c->ssl, r);
                    if (e == SSL_ERROR_ZERO_RETURN) { note_error(w, "read: tls close_notify before reply", 0); conn_failed(w, c); return; }
                    if (!tls_want(w, c, r, "read")) { conn_failed(w, c); return; }
                    return;
                }
                n = r;
            } else {
                n = read(c->fd, c->rbuf + c->rlen, c->rcap - c->rlen);
                if (n < 0) {
                    if (errno == EINTR) continue;
                    if (errno == EAGAIN) { set_interest(w, c, EPOLLIN); return; }
                    note_error(w, "read", errno);
                    conn_failed(w, c);
                    return;
                }
                if (n == 0) { note_error(w, "read: EOF before reply", 0); conn_failed(w, c); return; }
            }
            size_t old = c->rlen;
            c->rlen += (size_t)n;
            if (memchr(c->rbuf + old, '\n', (size_t)n)) {
                on_reply(w, c);
                if (c->st != ST_WRITE) return;
            }
            break;
        }
        case ST_IDLE: {
            /* Anything arriving on an idle connection (data, EOF, reset) means the server
               closed it or misbehaved; TLS session tickets are consumed silently. */
            char buf[512];
            if (c->ssl) {
                ERR_clear_error();
                int r = SSL_read(c->ssl, buf, sizeof buf);
                if (r <= 0) {
                    int e = SSL_get_error(c->ssl, r);
                    if (e == SSL_ERROR_WANT_READ) { set_interest(w, c, EPOLLIN); return; }
                    if (e == SSL_ERROR_WANT_WRITE) { set_interest(w, c, EPOLLOUT); return; }
                    ERR_clear_error();
                }
            } else {
                ssize_t n = read(c->fd, buf, sizeof buf);
                if (n < 0 && (errno == EAGAIN || errno == EINTR)) { set_interest(w, c, EPOLLIN); return; }
            }
            w->server_closed++;
            atomic_fetch_sub(&established, 1);
            conn_close(w, c);
            return;
        }
        }
    }
}

static void *worker_main(void *arg) {
    struct worker *w = arg;
    struct epoll_event evs[256];
    if (mode == M_IDLE) {
        /* idle: slots = quota, but at most conc/nthreads in progress at once */
        int limit = conc / nthreads;
        if (limit < 1) limit = 1;
        int scan = 0;
        while (!atomic_load(&stop_flag)) {
            while (w->done + w->inflight < w->quota && w->inflight < limit) {
                while (w->conns[scan].st != ST_FREE) scan = (scan + 1) % w->quota;
                struct conn *c = &w->conns[scan];
                w->inflight++;
                if (conn_start(w, c) != 0) {
                    w->inflight--;
                    if (w->errors > 100000) { fprintf(stderr, "loadgen: too many failures: %s\n", w->first_error); exit(1); }
                    break;
                }
                conn_drive(w, c);
            }
            int n = epoll_wait(w->ep, evs, 256, 100);
            for (int i = 0; i < n; i++) conn_drive(w, evs[i].data.ptr);
            if (now() - t_begin > hold + 600) break; /* hard safety bound */
        }
    } else {
        for (int i = 0; i < w->nconns; i++)
            if (conn_start(w, &w->conns[i]) == 0) conn_drive(w, &w->conns[i]);
        for (;;) {
            double t = now();
            if (t >= t_deadline) break;
            int timeout = (int)((t_deadline - t) * 1000) + 1;
            if (timeout > 100) timeout = 100;
            int n = epoll_wait(w->ep, evs, 256, timeout);
            for (int i = 0; i < n; i++) conn_drive(w, evs[i].data.ptr);
            /* refill slots that failed to start */
            for (int i = 0; i < w->nconns && now() < t_deadline; i++)
                if (w->conns[i].st == ST_FREE) {
                    if (conn_start(w, &w->conns[i]) == 0) conn_drive(w, &w->conns[i]);
                    else break;
                }
        }
    }
    for (int i = 0; i < w->nconns; i++)
        if (w->conns[i].st != ST_FREE) conn_close(w, &w->conns[i]);
    return NULL;
}

static int cmp_u32(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static double pct(uint32_t *s, size_t n, double p) {
    if (n == 0) return NAN;
    size_t i = (size_t)ceil(p * (double)n) - 1;
    if (i >= n) i = n - 1;
    return s[i] / 1000.0;
}

static void usage(const char *argv0) {
    fprintf(stderr,
            "usage: %s -m accept|latency|handshake|idle|idle-tls -p PORT [-a ADDR] [-c CONC] [-T THREADS]\n"
            "          [-d SECS] [-w SECS] [-s BYTES] [-N CONNS] [-H SECS] [-S NSRC] [-t] [-x] [-v] [-e]\n",
            argv0);
    exit(2);
}

int main(int argc, char **argv) {
    int opt;
    const char *mode_s = NULL;
    while ((opt = getopt(argc, argv, "m:a:p:c:T:d:w:s:N:H:S:txve")) != -1) {
        switch (opt) {
        case 'm': mode_s = optarg; break;
        case 'a': addr_s = optarg; break;
        case 'p': port = atoi(optarg); break;
        case 'c': conc = atoi(optarg); break;
        case 'T': nthreads = atoi(optarg); break;
        case 'd': duration = atof(optarg); break;
        case 'w': warmup = atof(optarg); break;
        case 's': line_size = atoi(optarg); break;
        case 'N': idle_total = atoi(optarg); break;
        case 'H': hold = atof(optarg); break;
        case 'S': nsrc = atoi(optarg); break;
        case 't': use_tls = 1; break;
        case 'x': lenient = 1; break;
        case 'v': verbose = 1; break;
        case 'e': hs_echo = 1; break;
        default: usage(argv[0]);
        }
    }
    if (!mode_s || port <= 0 || conc < 1 || nthreads < 1 || line_size < 3 || nsrc < 1 || nsrc > 250) usage(argv[0]);
    if (!strcmp(mode_s, "accept")) mode = M_ACCEPT;
    else if (!strcmp(mode_s, "latency")) mode = M_LATENCY;
    else if (!strcmp(mode_s, "handshake")) { mode = M_HANDSHAKE; use_tls = 1; }
    else if (!strcmp(mode_s, "idle")) mode = M_IDLE;
    else if (!strcmp(mode_s, "idle-tls")) { mode = M_IDLE; use_tls = 1; }
    else usage(argv[0]);
    if (nthreads > conc && mode != M_IDLE) nthreads = conc;

    signal(SIGPIPE, SIG_IGN);
    server_sa.sin_family = AF_INET;
    server_sa.sin_port = htons((unsigned short)port);
    if (inet_pton(AF_INET, addr_s, &server_sa.sin_addr) != 1) { fprintf(stderr, "bad address %s\n", addr_s); return 2; }

    /* The line: "bench....\r\n" of exactly line_size bytes, none of the server's special words. */
    line = malloc((size_t)line_size);
    for (int i = 0; i < line_size - 2; i++) line[i] = (char)('a' + i % 26);
    memcpy(line, "bench", line_size - 2 < 5 ? (size_t)(line_size - 2) : 5);
    line[line_size - 2] = '\r';
    line[line_size - 1] = '\n';

    if (use_tls) {
        ssl_ctx = SSL_CTX_new(TLS_client_method());
        if (!ssl_ctx) { ERR_print_errors_fp(stderr); return 1; }
        SSL_CTX_set_verify(ssl_ctx, SSL_VERIFY_NONE, NULL);
        SSL_CTX_set_session_cache_mode(ssl_ctx, SSL_SESS_CACHE_OFF); /* never resume */
        SSL_CTX_set_options(ssl_ctx, SSL_OP_NO_TICKET);
    }

    struct worker *ws = calloc((size_t)nthreads, sizeof *ws);
    for (int i = 0; i < nthreads; i++) {
        struct worker *w = &ws[i];
        w->id = i;
        w->ep = epoll_create1(EPOLL_CLOEXEC);
        w->src_next = i;
        if (mode == M_IDLE) {
            w->quota = idle_total / nthreads + (i < idle_total % nthreads);
            w->nconns = w->quota;
        } else {
            w->nconns = conc / nthreads + (i < conc % nthreads);
        }
        w->conns = calloc((size_t)w->nconns + 1, sizeof *w->conns);
        for (int j = 0; j < w->nconns; j++) {
            w->conns[j].fd = -1;
            w->conns[j].rcap = (size_t)line_size * 2 + 256;
            w->conns[j].rbuf = malloc(w->conns[j].rcap);
        }
    }

    t_begin = now();
    t_measure = t_begin + warmup;
    t_deadline = t_measure + duration;
    pthread_t *tids = calloc((size_t)nthreads, sizeof *tids);
    for (int i = 0; i < nthreads; i++) pthread_create(&tids[i], NULL, worker_main, &ws[i]);

    if (mode == M_IDLE) {
        /* wait until everything is established (or the hold time runs out) */
        double t0 = now();
        int ok = 0;
        while (now() - t0 < hold) {
            if (atomic_load(&established) >= idle_total) { ok = 1; break; }
            usleep(10000);
        }
        double t_est = now() - t0;
        if (ok) printf("established %d\nestablish_seconds %.3f\n", idle_total, t_est);
        else printf("established_partial %d\n", atomic_load(&established));
        fflush(stdout);
        /* hold until stdin EOF or the remaining hold time */
        double left = hold - t_est;
        while (ok && left > 0) {
            struct pollfd pfd = {.fd = 0, .events = POLLIN};
            int r = poll(&pfd, 1, (int)(left * 1000) > 200 ? 200 : (int)(left * 1000) + 1);
            if (r > 0) {
                char b[256];
                ssize_t n = read(0, b, sizeof b);
                if (n <= 0) break;
            } else if (r < 0 && errno != EINTR) break;
            left = hold - (now() - t0);
        }
        printf("still_open %d\n", atomic_load(&established));
        atomic_store(&stop_flag, 1);
    }
    for (int i = 0; i < nthreads; i++) pthread_join(tids[i], NULL);

    uint64_t ops = 0, errors = 0, closed = 0, total = 0;
    size_t ns = 0;
    for (int i = 0; i < nthreads; i++) {
        ops += ws[i].ops;
        total += ws[i].ops_total;
        errors += ws[i].errors;
        closed += ws[i].server_closed;
        ns += ws[i].nsamples;
        if (ws[i].first_error[0]) fprintf(stderr, "loadgen: first error (thread %d): %s\n", i, ws[i].first_error);
    }
    uint32_t *all = malloc((ns + 1) * sizeof *all);
    size_t k = 0;
    for (int i = 0; i < nthreads; i++) {
        if (ws[i].nsamples) memcpy(all + k, ws[i].samples, ws[i].nsamples * sizeof *all);
        k += ws[i].nsamples;
    }
    qsort(all, ns, sizeof *all, cmp_u32);
    double mean = 0;
    for (size_t i = 0; i < ns; i++) mean += all[i];
    mean = ns ? mean / (double)ns / 1000.0 : NAN;

    switch (mode) {
    case M_ACCEPT:
        printf("accept_rate %.1f\n", (double)ops / duration);
        printf("op_p50_us %.1f\nop_p99_us %.1f\n", pct(all, ns, 0.50), pct(all, ns, 0.99));
        break;
    case M_HANDSHAKE:
        printf("handshakes_per_s %.1f\n", (double)ops / duration);
        printf("op_p50_us %.1f\nop_p99_us %.1f\n", pct(all, ns, 0.50), pct(all, ns, 0.99));
        break;
    case M_LATENCY:
        printf("requests_per_s %.1f\n", (double)ops / duration);
        printf("latency_p50_us %.1f\nlatency_p90_us %.1f\nlatency_p99_us %.1f\nlatency_p999_us %.1f\n"
               "latency_mean_us %.1f\n",
               pct(all, ns, 0.50), pct(all, ns, 0.90), pct(all, ns, 0.99), pct(all, ns, 0.999), mean);
        break;
    case M_IDLE:
        printf("closed_by_server %llu\n", (unsigned long long)closed);
        break;
    }
    printf("completed %llu\nerrors %llu\n", (unsigned long long)(mode == M_IDLE ? (uint64_t)idle_total : total),
           (unsigned long long)errors);
    return 0;
}
