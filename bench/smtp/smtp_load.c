/*
 * smtp_load.c - SMTP submission load generator for bench/smtp (loopback, STARTTLS + AUTH PLAIN).
 *
 * Blocking sockets, one thread per client (fine at 1-50 clients). Bounded: every client stops after -n
 * messages or when -d seconds have passed since the start, whichever comes first, and every socket has a
 * send/receive timeout (-t), so a silent server costs an error, never a hang. Results go to stdout as
 * "key value" lines (read by bench/lib.sh's val); diagnostics go to stderr (the first 20 errors).
 *
 * A session: connect, read the 220 greeting, EHLO (STARTTLS must be advertised), STARTTLS (220), TLS
 * handshake (a fresh one: the client never offers a session), EHLO again (AUTH must be advertised), AUTH PLAIN
 * with the initial response (235). A transaction: MAIL FROM:<own address> (250), RCPT TO:<one local
 * recipient> (250), DATA (354), the message, dot-stuffed, then the final "." in its own write (250). No
 * PIPELINING: every command waits for its reply, like most mail programs. TCP_NODELAY, and TCP_QUICKACK before
 * every read (see quickack()). Every reply code is checked
 * (multi-line replies read to their last line); a wrong code or a lost connection is an error counted by
 * where it happened, and the session is dropped and a new one opened (after 10 ms) unless the client has
 * already had -E errors, then it gives up (dead_clients).
 *
 * Modes (-m):
 *   many  one session per client, -n transactions on it back to back (no RSET: each one starts after the
 *         previous 250), QUIT (221) at the end.
 *   one   a full session per message: connect, TLS, AUTH, one transaction, QUIT (221), close.
 *
 * Messages: about -s bytes (10240) each, header and body, as a mail program submits them: From, To, Subject,
 * Date, a unique Message-ID (<seed.client.n@domain>), MIME-Version, Content-Type text/plain UTF-8 (8bit),
 * X-Bench-Client; a body of text lines (some accented), among them lines that start with "." and a line that is
 * only "." so the dot-stuffing matters. MAIL FROM carries BODY=8BITMIME and SIZE= when the server offers them. The same -r seed gives the same messages (run.sh sends the same ones to
 * both servers). Client i authenticates as account (-o + i % A) and sends to account (-o + (i + 1) % A), one
 * recipient per message, so each acknowledged message is exactly one file in one mailbox.
 *
 * Output: msgs (acknowledged: 250 after the final dot), msgs_per_s (msgs / seconds from the common start to the
 * last client's end), seconds, dot_p50_us / dot_p99_us (final "." sent -> 250 read), txn_p50_us / txn_p99_us
 * (MAIL FROM sent -> final 250), setup_p50_us / setup_p99_us (connect -> 235 after AUTH), sessions, errors and
 * per kind err_connect err_greeting err_ehlo err_starttls err_tls err_auth err_mail err_rcpt err_data err_dot
 * err_quit err_io, unsure (the final "." was sent but its reply never came: the server may or may not have
 * taken the message), dead_clients. Exit status 0 when every client sent all its messages without error.
 *
 * Options: -p PORT (required) -a ADDR (127.0.0.1) -m many|one (many) -c clients (10) -n messages per client
 *   (100; 0 = until -d) -d max seconds (60) -s message size (10240) -U user prefix ("user") -D domain
 *   ("example.com") -P password ("password1x") -A accounts (50) -o first account (0) -r seed (1)
 *   -t socket timeout seconds (30) -E errors per client before it gives up (20) -H EHLO name ("client.example")
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static const char *addr = "127.0.0.1", *uprefix = "user", *domain = "example.com", *password = "password1x";
static const char *ehlo_name = "client.example";
static int port, nclients = 10, nmsgs = 100, naccounts = 50, first_acct = 0, msg_size = 10240, max_errors = 20;
static int one_per_conn = 0;
static double dur = 60, sock_timeout = 30;
static unsigned seed = 1;
static SSL_CTX *ctx;
static double t_start, t_deadline;

enum { E_CONNECT, E_GREETING, E_EHLO, E_STARTTLS, E_TLS, E_AUTH, E_MAIL, E_RCPT, E_DATA, E_DOT, E_QUIT, E_IO, NERR };
static const char *err_names[NERR] = {"connect", "greeting", "ehlo", "starttls", "tls", "auth",
                                      "mail",    "rcpt",     "data", "dot",      "quit", "io"};
static atomic_long g_err[NERR], g_errors, g_unsure, g_msgs, g_sessions;
static atomic_int g_err_printed, g_dead;

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void err_msg(int kind, const char *fmt, ...) {
    atomic_fetch_add(&g_err[kind], 1);
    atomic_fetch_add(&g_errors, 1);
    if (atomic_fetch_add(&g_err_printed, 1) >= 20) return;
    char buf[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    fprintf(stderr, "smtp_load: %s: %s\n", err_names[kind], buf);
}

/* ---------------- connection and replies ---------------- */

typedef struct {
    int fd;
    SSL *ssl; /* NULL before STARTTLS */
    char rbuf[16384];
    size_t rpos, rlen;
    char line[1024];  /* last line of the last reply (CRLF stripped) */
    char ehlo[4096];  /* the keyword lines of the last EHLO reply, upper case, '\n' separated */
    int code;         /* code of the last reply */
    int has_8bit, has_size; /* the server advertised 8BITMIME, SIZE (after STARTTLS) */
} conn_t;

/* Acknowledge what arrived at once (TCP_QUICKACK, which Linux turns off again by itself, so before every read).
 * Otherwise, on loopback, the client's delayed ACK (40 ms) meets a server that leaves Nagle on: Postfix's smtpd
 * sends its TLS 1.3 session tickets, then holds its EHLO reply until the tickets are acknowledged, and about half
 * of the sessions would measure Linux's delayed-ACK timer instead of the server. */
static void quickack(int fd) {
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof one);
}

static int fill(conn_t *c) {
    long n;
    quickack(c->fd);
    if (c->ssl) {
        n = SSL_read(c->ssl, c->rbuf, sizeof c->rbuf);
    } else {
        do n = read(c->fd, c->rbuf, sizeof c->rbuf); while (n < 0 && errno == EINTR);
    }
    if (n <= 0) return -1;
    c->rpos = 0;
    c->rlen = (size_t)n;
    return 0;
}

static long read_line(conn_t *c, char *out, size_t cap) {
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

/* reads one reply (all its lines); returns its code, or -1 on I/O error or a malformed reply */
static int read_reply(conn_t *c, int keep_ehlo) {
    int code = -1;
    size_t eo = 0;
    if (keep_ehlo) c->ehlo[0] = 0;
    for (int lines = 0; lines < 1000; lines++) {
        if (read_line(c, c->line, sizeof c->line) < 0) return -1;
        size_t n = strlen(c->line);
        if (n < 3 || c->line[0] < '2' || c->line[0] > '5' || c->line[1] < '0' || c->line[1] > '9' ||
            c->line[2] < '0' || c->line[2] > '9' || (n > 3 && c->line[3] != ' ' && c->line[3] != '-'))
            return -1;
        int this_code = atoi(c->line);
        if (code >= 0 && this_code != code) return -1; /* every line of a reply has the same code */
        code = this_code;
        if (keep_ehlo && n > 4 && eo + n < sizeof c->ehlo) {
            for (size_t i = 4; i < n; i++) c->ehlo[eo++] = (char)(c->line[i] >= 'a' && c->line[i] <= 'z' ? c->line[i] - 32 : c->line[i]);
            c->ehlo[eo++] = '\n';
            c->ehlo[eo] = 0;
        }
        if (n == 3 || c->line[3] == ' ') {
            c->code = code;
            return code;
        }
    }
    return -1;
}

static int write_all(conn_t *c, const void *buf, size_t n) {
    const char *p = buf;
    while (n > 0) {
        long w;
        if (c->ssl) {
            w = SSL_write(c->ssl, p, (int)n);
        } else {
            do w = write(c->fd, p, n); while (w < 0 && errno == EINTR);
        }
        if (w <= 0) return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* sends a command line and checks the reply code; 0 when it is `want`, else counts an error of `kind` */
static int command(conn_t *c, int kind, int want, int keep_ehlo, const char *fmt, ...) {
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf - 2, fmt, ap);
    va_end(ap);
    if (n < 0 || n > (int)sizeof buf - 3) n = (int)sizeof buf - 3; /* truncated (never with our commands) */
    memcpy(buf + n, "\r\n", 2);
    if (write_all(c, buf, (size_t)n + 2) < 0) { err_msg(E_IO, "%s: write failed", err_names[kind]); return -1; }
    int code = read_reply(c, keep_ehlo);
    if (code < 0) { err_msg(E_IO, "%s: connection lost or bad reply (%s)", err_names[kind], c->line); return -1; }
    if (code != want) {
        /* AUTH's command line holds the password: show only the verb */
        err_msg(kind, "%.*s -> %s", kind == E_AUTH ? 10 : n, buf, c->line);
        return -1;
    }
    return 0;
}

static void conn_close(conn_t *c) {
    if (!c) return;
    if (c->ssl) SSL_free(c->ssl);
    if (c->fd >= 0) close(c->fd);
    free(c);
}

static int has_keyword(const conn_t *c, const char *kw) {
    size_t k = strlen(kw);
    for (const char *p = c->ehlo; *p;) {
        if (!strncmp(p, kw, k) && (p[k] == '\n' || p[k] == ' ' || p[k] == '=')) return 1;
        const char *nl = strchr(p, '\n');
        if (!nl) break;
        p = nl + 1;
    }
    return 0;
}

static void account_name(int i, char *out, size_t n) { snprintf(out, n, "%s%d@%s", uprefix, i, domain); }

/* connect, greeting, EHLO, STARTTLS, TLS, EHLO, AUTH PLAIN; NULL (error counted) on failure */
static conn_t *session_open(int acct) {
    conn_t *c = calloc(1, sizeof *c);
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, addr, &sa.sin_addr);
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct timeval tv = {.tv_sec = (long)sock_timeout, .tv_usec = (long)((sock_timeout - (long)sock_timeout) * 1e6)};
    setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (connect(c->fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        err_msg(E_CONNECT, "%s", strerror(errno));
        goto fail;
    }
    int code = read_reply(c, 0);
    if (code != 220) { err_msg(E_GREETING, "%s", code < 0 ? "connection lost" : c->line); goto fail; }
    if (command(c, E_EHLO, 250, 1, "EHLO %s", ehlo_name) < 0) goto fail;
    if (!has_keyword(c, "STARTTLS")) { err_msg(E_EHLO, "STARTTLS not advertised"); goto fail; }
    if (command(c, E_STARTTLS, 220, 0, "STARTTLS") < 0) goto fail;
    if (c->rpos != c->rlen) { err_msg(E_STARTTLS, "bytes after the 220 before the handshake"); goto fail; }
    c->ssl = SSL_new(ctx);
    SSL_set_fd(c->ssl, c->fd);
    if (SSL_connect(c->ssl) != 1) {
        unsigned long e = ERR_get_error();
        char eb[256];
        ERR_error_string_n(e, eb, sizeof eb);
        err_msg(E_TLS, "handshake failed: %s", e ? eb : strerror(errno));
        ERR_clear_error();
        goto fail;
    }
    quickack(c->fd); /* the server's tickets may have arrived during the handshake */
    if (command(c, E_EHLO, 250, 1, "EHLO %s", ehlo_name) < 0) goto fail;
    if (!has_keyword(c, "AUTH")) { err_msg(E_EHLO, "AUTH not advertised after STARTTLS"); goto fail; }
    c->has_8bit = has_keyword(c, "8BITMIME");
    c->has_size = has_keyword(c, "SIZE");
    char user[256], plain[600], b64[900];
    account_name(acct, user, sizeof user);
    int pl = snprintf(plain, sizeof plain, "%c%s%c%s", 0, user, 0, password);
    if (pl < 0 || pl >= (int)sizeof plain) { err_msg(E_AUTH, "user name and password too long"); goto fail; }
    EVP_EncodeBlock((unsigned char *)b64, (const unsigned char *)plain, pl);
    if (command(c, E_AUTH, 235, 0, "AUTH PLAIN %s", b64) < 0) goto fail;
    atomic_fetch_add(&g_sessions, 1);
    return c;
fail:
    conn_close(c);
    return NULL;
}

/* QUIT and close; a missing 221 counts as an error (of the session, not of the messages it took) */
static void session_quit(conn_t *c) {
    command(c, E_QUIT, 221, 0, "QUIT");
    conn_close(c);
}

/* ---------------- messages ---------------- */

static const char *words[] = {"alpha",  "budget",  "meeting", "report",  "quarterly", "server",  "invoice",
                              "draft",  "review",  "release", "notes",   "agenda",    "travel",  "lunch",
                              "update", "status",  "déjà",    "naïve",   "façade",    "Zürich",  "crème",
                              "brûlée", "numbers", "figures", "planning", "customer", "delivery", "schedule"};
#define NWORDS (sizeof words / sizeof *words)

/* The dot-stuffed body of a client's messages (the same for all its messages; the headers differ). Lines of
 * text; every 17th line starts with "." (stuffed to ".."), and one line is a lone "." (sent as ".."). */
static char *make_body(unsigned r, size_t target, size_t *len) {
    char *o = malloc(target + 4096);
    size_t n = 0;
    int line = 0;
    while (n < target) {
        line++;
        if (line == 40) {
            n += (size_t)sprintf(o + n, "..\r\n"); /* the line "." */
            continue;
        }
        if (line % 17 == 0) n += (size_t)sprintf(o + n, ".."); /* a line starting with "." */
        int w = 5 + (int)(rand_r(&r) % 9);
        for (int i = 0; i < w; i++) n += (size_t)sprintf(o + n, "%s%s", i ? " " : "", words[rand_r(&r) % NWORDS]);
        n += (size_t)sprintf(o + n, "\r\n");
    }
    *len = n;
    return o;
}

/* the header block of message `seq` of client `client`; returns its length */
static size_t make_header(char *o, size_t cap, int client, long seq, const char *from, const char *to) {
    static const char *days[] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
    return (size_t)snprintf(o, cap,
                            "From: Bench Sender %d <%s>\r\n"
                            "To: Bench Recipient <%s>\r\n"
                            "Subject: %s %s, message %ld of client %d\r\n"
                            "Date: %s, %ld Nov 2026 %02ld:%02ld:%02ld +0000\r\n"
                            "Message-ID: <%u.%d.%ld@%s>\r\n"
                            "MIME-Version: 1.0\r\n"
                            "Content-Type: text/plain; charset=utf-8; format=flowed\r\n"
                            "Content-Transfer-Encoding: 8bit\r\n"
                            "X-Bench-Client: %d\r\n"
                            "\r\n",
                            client, from, to, words[seq % NWORDS], words[(seq + client) % NWORDS], seq, client,
                            days[seq % 7], 1 + seq % 28, seq % 24, seq % 60, (seq * 7) % 60, seed, client, seq,
                            domain, client);
}

/* ---------------- clients ---------------- */

typedef struct {
    int id;
    double *dot, *txn, *setup; /* latencies in us */
    size_t ndot, ntxn, nsetup, capdot, captxn, capsetup;
    long sent;
    double end;
    int failed;
} client_t;

static pthread_barrier_t barrier;

static void push(double **a, size_t *n, size_t *cap, double v) {
    if (*n == *cap) {
        *cap = *cap ? *cap * 2 : 1024;
        *a = realloc(*a, *cap * sizeof **a);
    }
    (*a)[(*n)++] = v;
}

/* one transaction; 0 on 250 after the final dot */
static int transaction(conn_t *c, client_t *cl, long seq, const char *from, const char *to, const char *body,
                       size_t blen) {
    char hdr[2048];
    size_t hl = make_header(hdr, sizeof hdr, cl->id, seq, from, to);
    if (hl >= sizeof hdr) hl = sizeof hdr - 1; /* truncated: only with absurd -D/-U */
    double t0 = now();
    /* the body is 8-bit UTF-8 text: declared as such where the server allows it, with its size, as mail
     * programs do */
    char params[64] = "";
    if (c->has_8bit) strcat(params, " BODY=8BITMIME");
    if (c->has_size) snprintf(params + strlen(params), sizeof params - strlen(params), " SIZE=%zu", hl + blen);
    if (command(c, E_MAIL, 250, 0, "MAIL FROM:<%s>%s", from, params) < 0) return -1;
    if (command(c, E_RCPT, 250, 0, "RCPT TO:<%s>", to) < 0) return -1;
    if (command(c, E_DATA, 354, 0, "DATA") < 0) return -1;
    if (write_all(c, hdr, hl) < 0 || write_all(c, body, blen) < 0) { err_msg(E_IO, "data: write failed"); return -1; }
    double t1 = now();
    if (write_all(c, ".\r\n", 3) < 0) {
        atomic_fetch_add(&g_unsure, 1);
        err_msg(E_IO, "final dot: write failed");
        return -1;
    }
    int code = read_reply(c, 0);
    double t2 = now();
    if (code < 0) {
        atomic_fetch_add(&g_unsure, 1);
        err_msg(E_IO, "final dot: connection lost or bad reply (%s)", c->line);
        return -1;
    }
    if (code != 250) { err_msg(E_DOT, "message %ld of client %d -> %s", seq, cl->id, c->line); return -1; }
    atomic_fetch_add(&g_msgs, 1);
    push(&cl->dot, &cl->ndot, &cl->capdot, (t2 - t1) * 1e6);
    push(&cl->txn, &cl->ntxn, &cl->captxn, (t2 - t0) * 1e6);
    return 0;
}

static void *client_thread(void *arg) {
    client_t *cl = arg;
    char from[256], to[256];
    account_name(first_acct + cl->id % naccounts, from, sizeof from);
    account_name(first_acct + (cl->id + 1) % naccounts, to, sizeof to);
    size_t hdr_estimate = 400; /* make_header's length, give or take a few bytes */
    size_t blen;
    char *body = make_body(seed * 7919u + (unsigned)cl->id, (size_t)msg_size > hdr_estimate ? (size_t)msg_size - hdr_estimate : 64, &blen);
    int errors = 0;
    conn_t *c = NULL;
    pthread_barrier_wait(&barrier);
    long seq = 0;
    while ((nmsgs == 0 || seq < nmsgs) && now() < t_deadline) {
        if (!c) {
            double t0 = now();
            c = session_open(first_acct + cl->id % naccounts);
            if (!c) {
                if (++errors >= max_errors) { cl->failed = 1; atomic_fetch_add(&g_dead, 1); break; }
                usleep(10000);
                continue;
            }
            push(&cl->setup, &cl->nsetup, &cl->capsetup, (now() - t0) * 1e6);
        }
        if (transaction(c, cl, seq, from, to, body, blen) < 0) {
            conn_close(c); /* a session in an unknown state is dropped, not reused */
            c = NULL;
            seq++; /* a message is tried once; the count of acknowledged ones is what matters */
            if (++errors >= max_errors) { cl->failed = 1; atomic_fetch_add(&g_dead, 1); break; }
            usleep(10000);
            continue;
        }
        cl->sent++;
        seq++;
        if (one_per_conn) { session_quit(c); c = NULL; }
    }
    if (c) session_quit(c);
    cl->end = now();
    free(body);
    return NULL;
}

static int cmp_d(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void print_pct(const char *name, double *v, size_t n) {
    if (n == 0) return;
    qsort(v, n, sizeof *v, cmp_d);
    size_t i99 = (size_t)((double)n * 0.99);
    if (i99 >= n) i99 = n - 1;
    printf("%s_p50_us %.0f\n%s_p99_us %.0f\n", name, v[n / 2], name, v[i99]);
}

int main(int argc, char **argv) {
    const char *mode = "many";
    int opt;
    while ((opt = getopt(argc, argv, "p:a:m:c:n:d:s:U:D:P:A:o:r:t:E:H:")) != -1) {
        switch (opt) {
        case 'p': port = atoi(optarg); break;
        case 'a': addr = optarg; break;
        case 'm': mode = optarg; break;
        case 'c': nclients = atoi(optarg); break;
        case 'n': nmsgs = atoi(optarg); break;
        case 'd': dur = atof(optarg); break;
        case 's': msg_size = atoi(optarg); break;
        case 'U': uprefix = optarg; break;
        case 'D': domain = optarg; break;
        case 'P': password = optarg; break;
        case 'A': naccounts = atoi(optarg); break;
        case 'o': first_acct = atoi(optarg); break;
        case 'r': seed = (unsigned)atoi(optarg); break;
        case 't': sock_timeout = atof(optarg); break;
        case 'E': max_errors = atoi(optarg); break;
        case 'H': ehlo_name = optarg; break;
        default: goto usage;
        }
    }
    if (!port || nclients < 1 || naccounts < 1 || nmsgs < 0 || dur <= 0 || sock_timeout <= 0 ||
        (strcmp(mode, "many") && strcmp(mode, "one"))) {
    usage:
        fprintf(stderr, "usage: %s -p PORT [-m many|one] [-c clients] [-n msgs per client] [-d max secs] "
                        "[options; see the header of smtp_load.c]\n", argv[0]);
        return 2;
    }
    one_per_conn = !strcmp(mode, "one");
    signal(SIGPIPE, SIG_IGN);
    ctx = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);

    client_t *cls = calloc((size_t)nclients, sizeof *cls);
    pthread_t *th = calloc((size_t)nclients, sizeof *th);
    pthread_barrier_init(&barrier, NULL, (unsigned)nclients + 1);
    for (int i = 0; i < nclients; i++) {
        cls[i].id = i;
        if (pthread_create(&th[i], NULL, client_thread, &cls[i]) != 0) { perror("pthread_create"); return 2; }
    }
    t_start = now();
    t_deadline = t_start + dur;
    pthread_barrier_wait(&barrier);
    for (int i = 0; i < nclients; i++) pthread_join(th[i], NULL);
    double t_end = t_start;
    size_t ndot = 0, nsetup = 0;
    for (int i = 0; i < nclients; i++) {
        if (cls[i].end > t_end) t_end = cls[i].end;
        ndot += cls[i].ndot;
        nsetup += cls[i].nsetup;
    }
    double *dot = malloc((ndot + 1) * sizeof *dot), *txn = malloc((ndot + 1) * sizeof *txn),
           *setup = malloc((nsetup + 1) * sizeof *setup);
    size_t a = 0, b = 0;
    for (int i = 0; i < nclients; i++) {
        if (cls[i].ndot) {
            memcpy(dot + a, cls[i].dot, cls[i].ndot * sizeof *dot);
            memcpy(txn + a, cls[i].txn, cls[i].ntxn * sizeof *txn);
            a += cls[i].ndot;
        }
        if (cls[i].nsetup) {
            memcpy(setup + b, cls[i].setup, cls[i].nsetup * sizeof *setup);
            b += cls[i].nsetup;
        }
    }
    double secs = t_end - t_start;
    long msgs = atomic_load(&g_msgs);
    printf("mode %s\nclients %d\nmsgs %ld\nseconds %.3f\nmsgs_per_s %.1f\nsessions %ld\n", mode, nclients, msgs,
           secs, secs > 0 ? msgs / secs : 0.0, atomic_load(&g_sessions));
    print_pct("dot", dot, ndot);
    print_pct("txn", txn, ndot);
    print_pct("setup", setup, nsetup);
    printf("errors %ld\n", atomic_load(&g_errors));
    for (int k = 0; k < NERR; k++) printf("err_%s %ld\n", err_names[k], atomic_load(&g_err[k]));
    printf("unsure %ld\ndead_clients %d\n", atomic_load(&g_unsure), atomic_load(&g_dead));
    fflush(stdout);
    for (int i = 0; i < nclients; i++) { free(cls[i].dot); free(cls[i].txn); free(cls[i].setup); }
    free(cls); free(th); free(dot); free(txn); free(setup);
    SSL_CTX_free(ctx);
    long expected = (long)nmsgs * nclients;
    int complete = nmsgs == 0 || msgs == expected;
    if (!complete && atomic_load(&g_errors) == 0)
        fprintf(stderr, "smtp_load: %ld of %ld messages sent within %.0f s (the -d bound)\n", msgs, expected, dur);
    return atomic_load(&g_errors) == 0 && complete ? 0 : 1;
}
