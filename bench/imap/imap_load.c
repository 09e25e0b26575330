/*
 * imap_load.c - IMAP load generator for bench/imap (loopback, implicit TLS).
 *
 * Blocking sockets, one thread per client (fine at 10-100 clients). Every mode
 * is bounded and exits by itself. Results go to stdout as "key value" lines;
 * diagnostics go to stderr. Responses are parsed properly: untagged lines,
 * literals {n} / {n+} inside responses (skipped or counted), and the tagged
 * completion of each command; NO/BAD completions count as errors.
 *
 * Modes (-m):
 *   populate  APPEND -n generated messages (plain, multipart/alternative,
 *             multipart/mixed with a base64 attachment; 2 of 3 \Seen) into the
 *             INBOX of accounts -o..-o+A-1, -c accounts at a time.
 *   mix       -c clients (client i logs in as account -o + i % A), each: LOGIN,
 *             SELECT INBOX, UID SEARCH ALL (to learn the UIDs), then loops a
 *             mixed workload for -w warm-up + -d measured seconds. Every IMAP
 *             command is one op with its latency (a fresh login is one op:
 *             connect + TLS + greeting + LOGIN + LOGOUT). The mix, per action:
 *               15% hdr     FETCH s:s+49 (UID FLAGS RFC822.SIZE
 *                           BODY.PEEK[HEADER.FIELDS (FROM TO SUBJECT DATE MESSAGE-ID)])
 *               25% body    UID FETCH <random uid> BODY.PEEK[]
 *               10% search  UID SEARCH UNSEEN | FROM "user3" | SUBJECT "topic7" (rotating)
 *               20% store   UID STORE <random uid> +FLAGS (\Seen) or -FLAGS (\Seen)
 *                8% append  APPEND INBOX {n}, then (ops "delete" and "expunge")
 *                           UID STORE <new uid> +FLAGS.SILENT (\Deleted), UID EXPUNGE <new uid>
 *               15% noop    NOOP
 *                7% login   fresh connection: TLS, LOGIN, LOGOUT
 *             Prints ops_per_s, p50/p99 of all ops, and per op type.
 *   idle      open -N sessions (accounts -o.. round robin over A, -T threads),
 *             each LOGIN, SELECT INBOX, IDLE (waits for the "+"); prints
 *             "established N" and holds them until stdin reaches EOF or -H
 *             seconds pass; then prints still_open (sessions the server kept).
 *   notify    one idler (account -o) in IDLE, one appender on the same account:
 *             -n samples of: timestamp, APPEND; the idler's thread timestamps the
 *             "* N EXISTS" it reads. Prints notify_p50_us/p99 (APPEND sent ->
 *             EXISTS read) and append_p50_us (APPEND sent -> tagged OK).
 *
 * Options: -p PORT (required) -a ADDR (127.0.0.1) -U user-prefix ("user")
 *   -D domain ("example.com") -P password ("password1x") -A accounts (10)
 *   -o first account index (0) -c clients (10) -n messages/samples (500)
 *   -N sessions (1000) -T threads (8) -d secs (5) -w warm-up secs (1)
 *   -H hold secs (120) -r seed (1) -Q search queries rotated (3; 1 = only UNSEEN, no header search)
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static const char *addr = "127.0.0.1", *uprefix = "user", *domain = "example.com", *password = "password1x";
static int port, naccounts = 10, first_acct = 0, nclients = 10, nmsgs = 500, nsessions = 1000, nthreads = 8;
static double dur = 5, warm = 1, hold = 120;
static unsigned seed = 1;
static int nsearchq = 3; /* -Q: search queries rotated (1 = UNSEEN only, 3 = also FROM and SUBJECT) */
static SSL_CTX *ctx;
static atomic_long g_errors;
static atomic_int g_err_printed;

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void err_msg(const char *fmt, ...) {
    atomic_fetch_add(&g_errors, 1);
    if (atomic_fetch_add(&g_err_printed, 1) >= 20) return;
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "imap_load: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
}

/* ---------------- connection and response parsing ---------------- */

typedef struct {
    int fd;
    SSL *ssl;
    char rbuf[65536];
    size_t rpos, rlen;
    char line[16384]; /* current line (literals removed, replaced by "{}") */
    unsigned tagn;
    char tag[16];
    char tagged[1024]; /* last tagged completion line */
    long exists;       /* last "* N EXISTS" */
    long appenduid;    /* from [APPENDUID v uid] */
    long lit_bytes;    /* literal bytes read in the last response */
    unsigned *search;  /* UIDs of the last "* SEARCH" */
    size_t nsearch, capsearch;
    int want_search;
} conn_t;

static int fill(conn_t *c) {
    int n = SSL_read(c->ssl, c->rbuf, sizeof c->rbuf);
    if (n <= 0) return -1;
    c->rpos = 0;
    c->rlen = (size_t)n;
    return 0;
}

/* read one raw line ending in LF into out (CRLF stripped); returns length or -1 */
static long read_raw_line(conn_t *c, char *out, size_t cap) {
    size_t o = 0;
    for (;;) {
        if (c->rpos == c->rlen && fill(c) < 0) return -1;
        char *p = c->rbuf + c->rpos;
        size_t avail = c->rlen - c->rpos;
        char *nl = memchr(p, '\n', avail);
        size_t take = nl ? (size_t)(nl - p) + 1 : avail;
        for (size_t i = 0; i < take; i++)
            if (o + 1 < cap) out[o++] = p[i];
        c->rpos += take;
        if (nl) break;
    }
    while (o > 0 && (out[o - 1] == '\n' || out[o - 1] == '\r')) o--;
    out[o] = 0;
    return (long)o;
}

static int skip_bytes(conn_t *c, long n) {
    while (n > 0) {
        if (c->rpos == c->rlen && fill(c) < 0) return -1;
        size_t avail = c->rlen - c->rpos;
        size_t take = (size_t)n < avail ? (size_t)n : avail;
        c->rpos += take;
        n -= (long)take;
    }
    return 0;
}

/* literal at the end of a line: "{123}" or "{123+}"; returns its size or -1 */
static long trailing_literal(const char *s, size_t len) {
    if (len < 3 || s[len - 1] != '}') return -1;
    size_t i = len - 2;
    if (s[i] == '+') i--;
    size_t end = i + 1;
    while (i > 0 && s[i] >= '0' && s[i] <= '9') i--;
    if (s[i] != '{' || i + 1 == end) return -1;
    return atol(s + i + 1);
}

/* one full response line, literals skipped (replaced by "{}"); -1 on I/O error */
static int read_response_line(conn_t *c) {
    size_t o = 0;
    char tmp[8192];
    for (;;) {
        long n = read_raw_line(c, tmp, sizeof tmp);
        if (n < 0) return -1;
        long lit = trailing_literal(tmp, (size_t)n);
        size_t keep = (size_t)n;
        if (lit >= 0) keep = (size_t)(strrchr(tmp, '{') - tmp);
        if (o + keep + 3 < sizeof c->line) {
            memcpy(c->line + o, tmp, keep);
            o += keep;
        }
        if (lit < 0) break;
        if (o + 3 < sizeof c->line) { memcpy(c->line + o, "{}", 2); o += 2; }
        if (skip_bytes(c, lit) < 0) return -1;
        c->lit_bytes += lit;
    }
    c->line[o] = 0;
    return 0;
}

static void handle_untagged(conn_t *c) {
    const char *l = c->line + 2;
    char *end;
    long n = strtol(l, &end, 10);
    if (end != l && !strncmp(end, " EXISTS", 7)) c->exists = n;
    if (c->want_search && !strncmp(l, "SEARCH", 6)) {
        const char *p = l + 6;
        while (*p) {
            while (*p == ' ') p++;
            unsigned long u = strtoul(p, &end, 10);
            if (end == p) break;
            if (c->nsearch == c->capsearch) {
                c->capsearch = c->capsearch ? c->capsearch * 2 : 1024;
                c->search = realloc(c->search, c->capsearch * sizeof *c->search);
            }
            c->search[c->nsearch++] = (unsigned)u;
            p = end;
        }
    }
}

/* read until the tagged completion of c->tag; returns 0 for OK, 1 for NO/BAD, -1 on I/O error */
static int read_tagged(conn_t *c) {
    size_t tl = strlen(c->tag);
    c->lit_bytes = 0;
    for (;;) {
        if (read_response_line(c) < 0) return -1;
        if (c->line[0] == '*' && c->line[1] == ' ') { handle_untagged(c); continue; }
        if (c->line[0] == '+') continue; /* not expected here */
        if (!strncmp(c->line, c->tag, tl) && c->line[tl] == ' ') {
            snprintf(c->tagged, sizeof c->tagged, "%s", c->line + tl + 1);
            const char *a = strstr(c->tagged, "[APPENDUID ");
            if (a) {
                char *e;
                strtoul(a + 11, &e, 10);
                c->appenduid = strtol(e, NULL, 10);
            }
            return strncmp(c->tagged, "OK", 2) ? 1 : 0;
        }
    }
}

static int write_all(conn_t *c, const void *buf, size_t n) {
    const char *p = buf;
    while (n > 0) {
        int w = SSL_write(c->ssl, p, (int)n);
        if (w <= 0) return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* send "TAG <command>\r\n" */
static int send_cmd(conn_t *c, const char *fmt, ...) {
    char buf[4096];
    snprintf(c->tag, sizeof c->tag, "a%u", ++c->tagn);
    int o = snprintf(buf, sizeof buf, "%s ", c->tag);
    va_list ap;
    va_start(ap, fmt);
    o += vsnprintf(buf + o, sizeof buf - (size_t)o - 2, fmt, ap);
    va_end(ap);
    buf[o++] = '\r';
    buf[o++] = '\n';
    return write_all(c, buf, (size_t)o);
}

/* command and its tagged completion: 0 OK, 1 NO/BAD (counted as error), -1 I/O error */
static int cmd(conn_t *c, const char *what, const char *fmt, ...) {
    char buf[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (send_cmd(c, "%s", buf) < 0) { err_msg("%s: write failed", what); return -1; }
    int r = read_tagged(c);
    if (r < 0) err_msg("%s: connection lost", what);
    else if (r > 0) err_msg("%s: %s -> %s", what, buf, c->tagged);
    return r;
}

static void conn_close(conn_t *c) {
    if (!c) return;
    if (c->ssl) SSL_free(c->ssl);
    if (c->fd >= 0) close(c->fd);
    free(c->search);
    free(c);
}

/* connect, TLS, greeting */
static conn_t *conn_open(void) {
    conn_t *c = calloc(1, sizeof *c);
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, addr, &sa.sin_addr);
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(c->fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        err_msg("connect: %s", strerror(errno));
        conn_close(c);
        return NULL;
    }
    c->ssl = SSL_new(ctx);
    SSL_set_fd(c->ssl, c->fd);
    if (SSL_connect(c->ssl) != 1) {
        err_msg("TLS handshake failed");
        conn_close(c);
        return NULL;
    }
    if (read_response_line(c) < 0 || strncmp(c->line, "* OK", 4)) {
        err_msg("bad greeting: %s", c->line);
        conn_close(c);
        return NULL;
    }
    return c;
}

static void account_name(int i, char *out, size_t n) { snprintf(out, n, "%s%d@%s", uprefix, i, domain); }

static conn_t *conn_login(int acct, int select) {
    conn_t *c = conn_open();
    if (!c) return NULL;
    char user[256];
    account_name(acct, user, sizeof user);
    if (cmd(c, "login", "LOGIN \"%s\" \"%s\"", user, password) != 0 ||
        (select && cmd(c, "select", "SELECT INBOX") != 0)) {
        conn_close(c);
        return NULL;
    }
    return c;
}

/* ---------------- messages ---------------- */

static const char *words[] = {"alpha", "budget", "meeting", "report", "quarterly", "server", "invoice", "draft",
                              "review", "release", "notes", "agenda", "travel", "lunch", "update", "status"};

static size_t gen_text(char *o, unsigned *r, int lines) {
    size_t n = 0;
    for (int l = 0; l < lines; l++) {
        int w = 6 + (int)(rand_r(r) % 8);
        for (int i = 0; i < w; i++) n += (size_t)sprintf(o + n, "%s%s", i ? " " : "", words[rand_r(r) % 16]);
        n += (size_t)sprintf(o + n, "\r\n");
    }
    return n;
}

/* message number i (variant i % 3); returns its length. out must hold 64 KB. */
static size_t gen_message(char *o, long i, unsigned salt) {
    unsigned r = (unsigned)i * 2654435761u + salt;
    size_t n = 0;
    n += (size_t)sprintf(o + n,
                         "From: User %ld <user%ld@sender%ld.example>\r\n"
                         "To: Bench <bench@example.com>\r\n"
                         "Subject: %s about topic%ld (%ld)\r\n"
                         "Date: Mon, %ld Nov 2026 %02ld:%02ld:00 +0000\r\n"
                         "Message-ID: <%ld.%u@bench.example>\r\n"
                         "MIME-Version: 1.0\r\n",
                         i % 7, i % 7, i % 5, words[i % 16], i % 13, i, 1 + i % 28, i % 24, i % 60, i, salt);
    switch (i % 3) {
    case 0:
        n += (size_t)sprintf(o + n, "Content-Type: text/plain; charset=utf-8\r\n\r\n");
        n += gen_text(o + n, &r, 10 + (int)(rand_r(&r) % 50));
        break;
    case 1:
        n += (size_t)sprintf(o + n, "Content-Type: multipart/alternative; boundary=\"b1\"\r\n\r\n"
                                    "--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n");
        n += gen_text(o + n, &r, 10 + (int)(rand_r(&r) % 30));
        n += (size_t)sprintf(o + n, "--b1\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<html><body><p>\r\n");
        n += gen_text(o + n, &r, 10 + (int)(rand_r(&r) % 30));
        n += (size_t)sprintf(o + n, "</p></body></html>\r\n--b1--\r\n");
        break;
    default: {
        n += (size_t)sprintf(o + n, "Content-Type: multipart/mixed; boundary=\"b2\"\r\n\r\n"
                                    "--b2\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n");
        n += gen_text(o + n, &r, 5 + (int)(rand_r(&r) % 20));
        n += (size_t)sprintf(o + n, "--b2\r\nContent-Type: application/octet-stream; name=\"data%ld.bin\"\r\n"
                                    "Content-Disposition: attachment; filename=\"data%ld.bin\"\r\n"
                                    "Content-Transfer-Encoding: base64\r\n\r\n", i, i);
        static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        int lines = 30 + (int)(rand_r(&r) % 80); /* 76 chars a line: ~2-8 KB */
        for (int l = 0; l < lines; l++) {
            for (int k = 0; k < 76; k++) o[n++] = b64[rand_r(&r) % 64];
            o[n++] = '\r';
            o[n++] = '\n';
        }
        n += (size_t)sprintf(o + n, "--b2--\r\n");
    }
    }
    return n;
}

/* APPEND with a synchronizing literal; 0 OK, 1 NO/BAD, -1 I/O */
static int do_append(conn_t *c, const char *flags, const char *msg, size_t len) {
    if (send_cmd(c, "APPEND INBOX %s{%zu}", flags, len) < 0) { err_msg("append: write failed"); return -1; }
    for (;;) { /* wait for the continuation */
        if (read_response_line(c) < 0) { err_msg("append: connection lost"); return -1; }
        if (c->line[0] == '+') break;
        if (c->line[0] == '*') { handle_untagged(c); continue; }
        err_msg("append refused: %s", c->line);
        return 1;
    }
    if (write_all(c, msg, len) < 0 || write_all(c, "\r\n", 2) < 0) { err_msg("append: write failed"); return -1; }
    c->appenduid = -1;
    int r = read_tagged(c);
    if (r < 0) err_msg("append: connection lost");
    else if (r > 0) err_msg("append: %s", c->tagged);
    return r;
}

/* ---------------- populate ---------------- */

static atomic_int next_acct;
static atomic_long appended;

static void *populate_thread(void *arg) {
    (void)arg;
    char *msg = malloc(65536);
    for (;;) {
        int a = atomic_fetch_add(&next_acct, 1);
        if (a >= naccounts) break;
        conn_t *c = conn_login(first_acct + a, 0);
        if (!c) continue;
        for (long i = 0; i < nmsgs; i++) {
            size_t len = gen_message(msg, i, seed);
            if (do_append(c, i % 3 == 0 ? "" : "(\\Seen) ", msg, len) != 0) break;
            atomic_fetch_add(&appended, 1);
        }
        cmd(c, "logout", "LOGOUT");
        conn_close(c);
    }
    free(msg);
    return NULL;
}

/* ---------------- mix ---------------- */

enum { OP_HDR, OP_BODY, OP_SEARCH, OP_STORE, OP_APPEND, OP_DELETE, OP_EXPUNGE, OP_NOOP, OP_LOGIN, NOPS };
static const char *op_names[NOPS] = {"hdr", "body", "search", "store", "append", "delete", "expunge", "noop", "login"};

typedef struct {
    int id;
    pthread_t th;
    uint32_t *lat[NOPS]; /* microseconds */
    size_t n[NOPS], cap[NOPS];
    long body_bytes;
    int dead;
} client_t;

static double t_start, t_measure, t_end;
static pthread_barrier_t barrier;

static void record(client_t *cl, int op, double t0, double t1) {
    if (t0 < t_measure || t1 > t_end) return;
    if (cl->n[op] == cl->cap[op]) {
        cl->cap[op] = cl->cap[op] ? cl->cap[op] * 2 : 4096;
        cl->lat[op] = realloc(cl->lat[op], cl->cap[op] * sizeof(uint32_t));
    }
    double us = (t1 - t0) * 1e6;
    cl->lat[op][cl->n[op]++] = us > 4e9 ? 4000000000u : (uint32_t)us;
}

static void *mix_thread(void *arg) {
    client_t *cl = arg;
    unsigned r = seed * 7919u + (unsigned)cl->id * 104729u;
    int acct = first_acct + cl->id % naccounts;
    char *msg = malloc(65536);
    conn_t *c = conn_login(acct, 1);
    unsigned *uids = NULL;
    size_t nuids = 0;
    if (c) {
        c->want_search = 1;
        c->nsearch = 0;
        if (cmd(c, "uid search all", "UID SEARCH ALL") == 0 && c->nsearch > 0) {
            nuids = c->nsearch;
            uids = malloc(nuids * sizeof *uids);
            memcpy(uids, c->search, nuids * sizeof *uids);
        }
        c->want_search = 0;
        if (nuids == 0) { err_msg("client %d: empty INBOX", cl->id); conn_close(c); c = NULL; }
    }
    if (!c) cl->dead = 1;
    pthread_barrier_wait(&barrier); /* everyone logged in */
    pthread_barrier_wait(&barrier); /* the clock is set */
    if (!c) { free(msg); return NULL; }
    long base = nuids < (size_t)nmsgs ? (long)nuids : nmsgs; /* the populated messages hold seqs 1..base */
    int srot = cl->id;
    while (now() < t_end) {
        unsigned x = rand_r(&r) % 100;
        double t0 = now(), t1;
        int res;
        if (x < 15) {
            long s = 1 + (base > 50 ? (long)(rand_r(&r) % (unsigned)(base - 49)) : 0);
            long e = s + 49 > base ? base : s + 49;
            res = cmd(c, "hdr", "FETCH %ld:%ld (UID FLAGS RFC822.SIZE BODY.PEEK[HEADER.FIELDS (FROM TO SUBJECT DATE MESSAGE-ID)])", s, e);
            t1 = now();
            if (res == 0) record(cl, OP_HDR, t0, t1);
        } else if (x < 40) {
            res = cmd(c, "body", "UID FETCH %u BODY.PEEK[]", uids[rand_r(&r) % nuids]);
            t1 = now();
            if (res == 0) { record(cl, OP_BODY, t0, t1); cl->body_bytes += c->lit_bytes; }
        } else if (x < 50) {
            static const char *q[] = {"UNSEEN", "FROM \"user3\"", "SUBJECT \"topic7\""};
            res = cmd(c, "search", "UID SEARCH %s", q[srot++ % nsearchq]);
            t1 = now();
            if (res == 0) record(cl, OP_SEARCH, t0, t1);
        } else if (x < 70) {
            res = cmd(c, "store", "UID STORE %u %cFLAGS (\\Seen)", uids[rand_r(&r) % nuids], (rand_r(&r) & 1) ? '+' : '-');
            t1 = now();
            if (res == 0) record(cl, OP_STORE, t0, t1);
        } else if (x < 78) {
            size_t len = gen_message(msg, 100000 + (long)(rand_r(&r) % 1000000), seed + (unsigned)cl->id);
            res = do_append(c, "", msg, len);
            t1 = now();
            if (res == 0) {
                record(cl, OP_APPEND, t0, t1);
                if (c->appenduid <= 0) { err_msg("append: no APPENDUID in %s", c->tagged); }
                else {
                    t0 = now();
                    res = cmd(c, "delete", "UID STORE %ld +FLAGS.SILENT (\\Deleted)", c->appenduid);
                    t1 = now();
                    if (res == 0) {
                        record(cl, OP_DELETE, t0, t1);
                        t0 = now();
                        res = cmd(c, "expunge", "UID EXPUNGE %ld", c->appenduid);
                        t1 = now();
                        if (res == 0) record(cl, OP_EXPUNGE, t0, t1);
                    }
                }
            }
        } else if (x < 93) {
            res = cmd(c, "noop", "NOOP");
            t1 = now();
            if (res == 0) record(cl, OP_NOOP, t0, t1);
        } else {
            conn_t *f = conn_login(acct, 0);
            res = -2;
            if (f) {
                res = cmd(f, "logout", "LOGOUT");
                t1 = now();
                if (res == 0) record(cl, OP_LOGIN, t0, t1);
                conn_close(f);
            }
            if (res != 0) res = 1; /* a failed fresh login is an error, not a lost session */
        }
        if (res < 0) { /* session lost: reconnect */
            conn_close(c);
            c = conn_login(acct, 1);
            if (!c) { cl->dead = 1; break; }
        }
    }
    if (c) {
        send_cmd(c, "LOGOUT");
        conn_close(c);
    }
    free(uids);
    free(msg);
    return NULL;
}

static int cmp_u32(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static void print_stats(const char *name, uint32_t *v, size_t n) {
    if (n == 0) { printf("%s_count 0\n", name); return; }
    qsort(v, n, sizeof *v, cmp_u32);
    double sum = 0;
    for (size_t i = 0; i < n; i++) sum += v[i];
    printf("%s_count %zu\n%s_per_s %.1f\n%s_p50_us %u\n%s_p99_us %u\n%s_mean_us %.0f\n", name, n, name, n / dur, name,
           v[n / 2], name, v[(size_t)(n * 0.99)], name, sum / n);
}

static int run_mix(void) {
    client_t *cls = calloc((size_t)nclients, sizeof *cls);
    pthread_barrier_init(&barrier, NULL, (unsigned)nclients + 1);
    t_start = now() + 3600; /* set after the barrier */
    t_measure = t_end = t_start;
    for (int i = 0; i < nclients; i++) {
        cls[i].id = i;
        pthread_create(&cls[i].th, NULL, mix_thread, &cls[i]);
    }
    /* setup (logins, SELECT) happens before the first barrier; the clock starts after it */
    pthread_barrier_wait(&barrier);
    double t = now();
    t_measure = t + warm;
    t_end = t_measure + dur;
    pthread_barrier_wait(&barrier);
    for (int i = 0; i < nclients; i++) pthread_join(cls[i].th, NULL);
    size_t total = 0, dead = 0;
    long bytes = 0;
    for (int op = 0; op < NOPS; op++)
        for (int i = 0; i < nclients; i++) total += cls[i].n[op];
    uint32_t *all = malloc((total + 1) * sizeof *all);
    size_t k = 0;
    for (int i = 0; i < nclients; i++) {
        dead += (size_t)cls[i].dead;
        bytes += cls[i].body_bytes;
        for (int op = 0; op < NOPS; op++) {
            memcpy(all + k, cls[i].lat[op], cls[i].n[op] * sizeof *all);
            k += cls[i].n[op];
        }
    }
    printf("clients %d\nops %zu\nops_per_s %.1f\n", nclients, total, total / dur);
    print_stats("all", all, total);
    for (int op = 0; op < NOPS; op++) {
        size_t n = 0;
        for (int i = 0; i < nclients; i++) n += cls[i].n[op];
        uint32_t *v = malloc((n + 1) * sizeof *v);
        n = 0;
        for (int i = 0; i < nclients; i++) {
            memcpy(v + n, cls[i].lat[op], cls[i].n[op] * sizeof *v);
            n += cls[i].n[op];
        }
        print_stats(op_names[op], v, n);
        free(v);
    }
    printf("body_bytes %ld\ndead_clients %zu\nerrors %ld\n", bytes, dead, atomic_load(&g_errors));
    return 0;
}

/* ---------------- idle (memory) ---------------- */

static conn_t **idle_conns;
static atomic_int idle_next, idle_ok;

static void *idle_thread(void *arg) {
    (void)arg;
    for (;;) {
        int i = atomic_fetch_add(&idle_next, 1);
        if (i >= nsessions) break;
        conn_t *c = conn_login(first_acct + i % naccounts, 1);
        if (!c) continue;
        if (send_cmd(c, "IDLE") < 0 || read_response_line(c) < 0) { err_msg("idle: lost"); conn_close(c); continue; }
        while (c->line[0] == '*') {
            if (read_response_line(c) < 0) break;
        }
        if (c->line[0] != '+') { err_msg("idle refused: %s", c->line); conn_close(c); continue; }
        idle_conns[i] = c;
        atomic_fetch_add(&idle_ok, 1);
    }
    return NULL;
}

static int run_idle(void) {
    idle_conns = calloc((size_t)nsessions, sizeof *idle_conns);
    pthread_t *th = calloc((size_t)nthreads, sizeof *th);
    double t0 = now();
    for (int i = 0; i < nthreads; i++) pthread_create(&th[i], NULL, idle_thread, NULL);
    for (int i = 0; i < nthreads; i++) pthread_join(th[i], NULL);
    printf("setup_s %.2f\nerrors %ld\nestablished %d\n", now() - t0, atomic_load(&g_errors), atomic_load(&idle_ok));
    fflush(stdout);
    struct pollfd p = {.fd = 0, .events = POLLIN};
    double until = now() + hold;
    char b[256];
    while (now() < until) {
        int ms = (int)((until - now()) * 1000);
        if (poll(&p, 1, ms < 0 ? 0 : ms) > 0 && read(0, b, sizeof b) <= 0) break;
    }
    int open = 0;
    for (int i = 0; i < nsessions; i++) {
        conn_t *c = idle_conns[i];
        if (!c) continue;
        struct pollfd q = {.fd = c->fd, .events = POLLIN};
        char x;
        if (poll(&q, 1, 0) == 0 || recv(c->fd, &x, 1, MSG_PEEK | MSG_DONTWAIT) > 0) open++;
    }
    printf("still_open %d\n", open);
    return 0;
}

/* ---------------- notify (IDLE -> EXISTS latency) ---------------- */

static pthread_mutex_t nmu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t ncv = PTHREAD_COND_INITIALIZER;
static long n_exists = -1;
static double n_exists_t;
static int n_stop;

static void *idler_thread(void *arg) {
    conn_t *c = arg;
    for (;;) {
        if (read_response_line(c) < 0) break;
        double t = now();
        if (c->line[0] == '*') {
            char *e;
            long n = strtol(c->line + 2, &e, 10);
            if (e != c->line + 2 && !strncmp(e, " EXISTS", 7)) {
                pthread_mutex_lock(&nmu);
                n_exists = n;
                n_exists_t = t;
                pthread_cond_broadcast(&ncv);
                pthread_mutex_unlock(&nmu);
            }
        } else if (!strncmp(c->line, c->tag, strlen(c->tag))) {
            break; /* tagged OK after DONE */
        }
    }
    pthread_mutex_lock(&nmu);
    n_stop = 1;
    pthread_cond_broadcast(&ncv);
    pthread_mutex_unlock(&nmu);
    return NULL;
}

static int run_notify(void) {
    conn_t *idler = conn_login(first_acct, 1), *app = conn_login(first_acct, 0);
    if (!idler || !app) { fprintf(stderr, "imap_load: notify: login failed\n"); return 1; }
    long exists = idler->exists;
    if (send_cmd(idler, "IDLE") < 0 || read_response_line(idler) < 0 || idler->line[0] != '+') {
        fprintf(stderr, "imap_load: notify: IDLE refused: %s\n", idler->line);
        return 1;
    }
    pthread_t th;
    pthread_create(&th, NULL, idler_thread, idler);
    char *msg = malloc(65536);
    uint32_t *lat = calloc((size_t)nmsgs + 1, sizeof *lat), *alat = calloc((size_t)nmsgs + 1, sizeof *alat);
    int n = 0, timeouts = 0;
    unsigned r = seed;
    for (int i = 0; i < nmsgs; i++) {
        size_t len = gen_message(msg, 200000 + i, seed);
        double t0 = now();
        if (do_append(app, "", msg, len) != 0) break;
        double t1 = now();
        alat[i] = (uint32_t)((t1 - t0) * 1e6);
        struct timespec dl;
        clock_gettime(CLOCK_REALTIME, &dl);
        dl.tv_sec += 5;
        pthread_mutex_lock(&nmu);
        while (n_exists <= exists && !n_stop)
            if (pthread_cond_timedwait(&ncv, &nmu, &dl) == ETIMEDOUT) break;
        int got = n_exists > exists;
        double te = n_exists_t;
        if (got) exists = n_exists;
        pthread_mutex_unlock(&nmu);
        if (!got) { timeouts++; err_msg("notify: no EXISTS within 5 s"); if (n_stop) break; continue; }
        lat[n++] = (uint32_t)((te - t0) * 1e6);
        usleep(5000 + rand_r(&r) % 15000);
    }
    write_all(idler, "DONE\r\n", 6);
    pthread_join(th, NULL);
    cmd(idler, "logout", "LOGOUT");
    cmd(app, "logout", "LOGOUT");
    qsort(lat, (size_t)n, sizeof *lat, cmp_u32);
    qsort(alat, (size_t)n, sizeof *alat, cmp_u32);
    printf("samples %d\ntimeouts %d\n", n, timeouts);
    if (n > 0)
        printf("notify_p50_us %u\nnotify_p99_us %u\nnotify_max_us %u\nappend_p50_us %u\n", lat[n / 2],
               lat[(size_t)(n * 0.99)], lat[n - 1], alat[n / 2]);
    printf("errors %ld\n", atomic_load(&g_errors));
    return 0;
}

int main(int argc, char **argv) {
    const char *mode = NULL;
    int opt;
    while ((opt = getopt(argc, argv, "m:p:a:U:D:P:A:o:c:n:N:T:d:w:H:r:Q:")) != -1) {
        switch (opt) {
        case 'm': mode = optarg; break;
        case 'p': port = atoi(optarg); break;
        case 'a': addr = optarg; break;
        case 'U': uprefix = optarg; break;
        case 'D': domain = optarg; break;
        case 'P': password = optarg; break;
        case 'A': naccounts = atoi(optarg); break;
        case 'o': first_acct = atoi(optarg); break;
        case 'c': nclients = atoi(optarg); break;
        case 'n': nmsgs = atoi(optarg); break;
        case 'N': nsessions = atoi(optarg); break;
        case 'T': nthreads = atoi(optarg); break;
        case 'd': dur = atof(optarg); break;
        case 'w': warm = atof(optarg); break;
        case 'H': hold = atof(optarg); break;
        case 'r': seed = (unsigned)atoi(optarg); break;
        case 'Q': nsearchq = atoi(optarg) < 1 ? 1 : atoi(optarg) > 3 ? 3 : atoi(optarg); break;
        default: goto usage;
        }
    }
    if (!mode || !port) {
    usage:
        fprintf(stderr, "usage: %s -m populate|mix|idle|notify -p PORT [options; see the header of imap_load.c]\n", argv[0]);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    ctx = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
    if (!strcmp(mode, "populate")) {
        pthread_t *th = calloc((size_t)nclients, sizeof *th);
        double t0 = now();
        for (int i = 0; i < nclients; i++) pthread_create(&th[i], NULL, populate_thread, NULL);
        for (int i = 0; i < nclients; i++) pthread_join(th[i], NULL);
        double t = now() - t0;
        printf("appended %ld\nseconds %.2f\nappends_per_s %.1f\nerrors %ld\n", atomic_load(&appended), t,
               atomic_load(&appended) / t, atomic_load(&g_errors));
        return atomic_load(&appended) == (long)naccounts * nmsgs ? 0 : 1;
    }
    if (!strcmp(mode, "mix")) return run_mix();
    if (!strcmp(mode, "idle")) return run_idle();
    if (!strcmp(mode, "notify")) return run_notify();
    goto usage;
}
