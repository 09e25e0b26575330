#!/usr/bin/env bash
# bench/smtp/run.sh - Tern's SMTP submission against Postfix + Dovecot (Debian's postfix and dovecot-lmtpd), on
# loopback, in one run.
#
# What is measured: submission with STARTTLS + AUTH PLAIN of ~10 KB messages, each to one local mailbox, with 1, 10
# and 50 concurrent clients, "many" messages per session (back to back on one authenticated session) and "one"
# message per session (connect, TLS, AUTH, one message, QUIT, for every message). Every run lasts DUR seconds on
# the client side; then the script waits until every acknowledged message is a file in its recipient's mailbox
# (Postfix acknowledges once the message is safe in its queue and delivers it to Dovecot over LMTP afterwards).
# Figures, each Tern figure next to Postfix + Dovecot's, median [min-max] of REPS runs, alternating who goes first:
#   delivered msgs/s   acknowledged messages / (client seconds + the time until the last of them was in a mailbox)
#                      Goal: Tern >= 2x Postfix + Dovecot.
#   acked msgs/s       acknowledged messages / client seconds (what the clients saw)
#   dot p50/p99        final "." sent -> 250 read; setup p50 (connect -> 235 after AUTH)
#   CPU per message    utime+stime of every process of the server(s) over the run, the delivery and the work the
#                      server still did after it (until idle), / messages
# At the end it checks that each server's mailboxes hold exactly the messages it acknowledged (all runs and warm-ups).
# See bench/README.md for the setup of both sides and how to read the figures.
#
# Needs: gcc, libssl-dev, openssl (the command), postfix and dovecot-lmtpd (Debian packages; the script installs
# nothing and says what is missing), the system users postfix and mail, and Swift to build ternd/ternctl unless
# TERND and TERNCTL are given. Run it as root (Postfix's and Dovecot's masters must start as root). It changes no
# system setting: both references run as private instances whose configuration, queue, sockets, logs and mail are
# in a temporary directory, listening on 127.0.0.1 only; the system's own Postfix and Dovecot are not touched.
# Everything it started is killed when it exits.
#
# Environment:
#   TERND=/path/to/ternd TERNCTL=/path/to/ternctl   use these binaries instead of building them
#   TERND=skip / POSTFIX=skip                        measure only the other one
#   REPS=3              repetitions of every figure
#   TERN_BLOCKING_THREADS=16  ternd's [server] blocking_threads (its default is 16)
#   CLIENTS="1 10 50"   client counts
#   MODES="many one"    messages per session: many, one
#   DUR=4               seconds the clients send in each run
#   WARM=2              seconds of warm-up per server and mode before measuring (not counted)
#   DRAIN=60            at most this many seconds to wait for acknowledged messages to reach the mailboxes
#   SETTLE=120          at most this many seconds to wait, after that, until the server is idle (its work after the
#                       deliveries, e.g. Tern's full-text indexing, counts in its CPU and must not slow the next run)
#   SIZE=10240          message size in bytes
#   ACCOUNTS=50         accounts (client i sends as account i % ACCOUNTS to account (i + 1) % ACCOUNTS)
#   PORT_BASE=18600     first of the 2 loopback ports used (Tern, Postfix)
#   KEEP_TMP=1          keep the temporary directory (configs, logs, queues, both servers' mail)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BENCH=$(dirname "$HERE")
# shellcheck source=../lib.sh
. "$BENCH/lib.sh"
ROOT=$(dirname "$BENCH")
BIN=$BENCH/bin
OUT=$BENCH/out

REPS=${REPS:-3}
CLIENTS=${CLIENTS:-1 10 50}
MODES=${MODES:-many one}
DUR=${DUR:-4}
WARM=${WARM:-2}
DRAIN=${DRAIN:-60}
SETTLE=${SETTLE:-120}
SIZE=${SIZE:-10240}
ACCOUNTS=${ACCOUNTS:-50}
PORT_BASE=${PORT_BASE:-18600}
POSTFIX=${POSTFIX:-/usr/sbin/postfix}
DOVECOT=${DOVECOT:-/usr/sbin/dovecot}
PASSWORD=password1x
P_TERN=$PORT_BASE
P_POST=$((PORT_BASE + 1))

for tool in gcc openssl awk sort find; do command -v "$tool" >/dev/null || die "needs $tool"; done
for m in $MODES; do case $m in many | one) ;; *) die "MODES: unknown mode $m (many, one)" ;; esac; done

# ---- build ----
mkdir -p "$BIN" "$OUT"
gcc -O2 -Wall -Wextra -o "$BIN/smtp_load" "$HERE/smtp_load.c" -lssl -lcrypto -lpthread
LOAD=$BIN/smtp_load

TERND=${TERND:-}
TERNCTL=${TERNCTL:-}
if [ -z "$TERND" ]; then
    log "building ternd and ternctl (swift build -c release --scratch-path .build-bench)..."
    (cd "$ROOT" && swift build -c release --scratch-path "$ROOT/.build-bench" --product ternd >&2 &&
        swift build -c release --scratch-path "$ROOT/.build-bench" --product ternctl >&2) ||
        die "swift build failed (set TERND/TERNCTL, or TERND=skip for Postfix + Dovecot only)"
    TERND=$ROOT/.build-bench/release/ternd
    TERNCTL=$ROOT/.build-bench/release/ternctl
fi
HAVE_TERN=1
if [ "$TERND" = skip ]; then HAVE_TERN=0; else
    [ -x "$TERND" ] || die "TERND=$TERND is not an executable"
    [ -n "$TERNCTL" ] || TERNCTL=$(dirname "$TERND")/ternctl
    [ -x "$TERNCTL" ] || die "TERNCTL=$TERNCTL is not an executable"
fi
HAVE_POST=1
if [ "$POSTFIX" = skip ]; then HAVE_POST=0; else
    missing=()
    [ -x "$POSTFIX" ] && [ -x /usr/lib/postfix/sbin/master ] || missing+=(postfix)
    [ -x "$DOVECOT" ] || missing+=(dovecot-core)
    [ -x /usr/lib/dovecot/lmtp ] || missing+=(dovecot-lmtpd)
    if [ "${#missing[@]}" -gt 0 ]; then
        log "run.sh: Postfix + Dovecot need Debian packages that are not installed: ${missing[*]}"
        log "        apt-get install postfix dovecot-lmtpd   (choose \"No configuration\" for Postfix: this script runs"
        log "        its own instance; make sure the system's Postfix is not left running on port 25)"
        die "missing ${missing[*]} (or POSTFIX=skip for Tern only)"
    fi
    command -v doveadm >/dev/null || die "needs doveadm (dovecot-core)"
    [ "$(id -u)" = 0 ] || die "Postfix's and Dovecot's masters must start as root here (or POSTFIX=skip)"
    { id postfix >/dev/null 2>&1 && getent group postdrop >/dev/null; } || die "needs the user postfix and the group postdrop (package postfix)"
    id mail >/dev/null 2>&1 || die "needs the system user 'mail' (owner of Dovecot's mail here)"
fi

# ---- processes ----
TMP=$(mktemp -d /tmp/tern-bench-smtp.XXXXXX)
chmod 755 "$TMP" # Postfix's processes run as "postfix", Dovecot's lmtp as "mail": they must reach their folders

LOAD1=$(cut -d' ' -f1 /proc/loadavg)
if awk -v l="$LOAD1" 'BEGIN {exit !(l > 0.7)}'; then
    log "run.sh: warning: load average is $LOAD1; something else is using the CPUs and the figures will be noisy"
fi
for p in $P_TERN $P_POST; do port_open "$p" && die "port $p is already in use (set PORT_BASE)"; done

# one certificate for both servers (P-256 ECDSA, like bench/core and bench/imap)
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$TMP/key.pem" \
    -out "$TMP/cert.pem" -days 2 -subj /CN=localhost 2>/dev/null
chmod 644 "$TMP/key.pem"

show_logs() { local f; for f in "$@"; do if [ -s "$f" ]; then log "--- $f"; tail -20 "$f" >&2; fi; done; }

USERS=()
for i in $(seq 0 $((ACCOUNTS - 1))); do USERS+=("user$i@example.com"); done

# ---- Tern ----
if [ "$HAVE_TERN" = 1 ]; then
    mkdir -p "$TMP/tern"
    cat >"$TMP/tern/ternd.toml" <<EOF
data_dir = "$TMP/tern/data"
hostname = "localhost"
local_domains = ["example.com"]
user = "$(id -un)"
log_level = "warning"

[server]
event_loops = 0
blocking_threads = ${TERN_BLOCKING_THREADS:-16}

[tls]
certificate = "$TMP/cert.pem"
key = "$TMP/key.pem"

[listeners]
imap = []
imaps = []
submission = ["127.0.0.1:$P_TERN"]
submissions = []
smtp = []

[limits]
max_connections = 20000
max_connections_per_ip = 20000
EOF
    log "creating ${#USERS[@]} Tern accounts..."
    "$TERNCTL" domain add --config "$TMP/tern/ternd.toml" example.com >"$TMP/ternctl.log" 2>&1 || { cat "$TMP/ternctl.log" >&2; die "ternctl domain add failed"; }
    printf '%s\n' "${USERS[@]}" | xargs -P 2 -I{} sh -c \
        'printf "%s\n" "$2" | "$0" user add --config "$1" "{}" --password-stdin >/dev/null' \
        "$TERNCTL" "$TMP/tern/ternd.toml" "$PASSWORD" 2>>"$TMP/ternctl.log" || { tail "$TMP/ternctl.log" >&2; die "ternctl user add failed"; }
    start tern "$TERND" --config "$TMP/tern/ternd.toml"; PID_TERN=$START_PID
    wait_port "$P_TERN" "$PID_TERN" tern
    # Until Tern's SMTP sessions exist its submission port answers "421 4.3.2 not available": measure Postfix only.
    GREETING=$(timeout 5 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1"; head -1 <&3' _ "$P_TERN" 2>/dev/null | tr -d '\r' || true)
    case $GREETING in
    220*) ;;
    *)
        log "run.sh: Tern's submission port greets with \"$GREETING\": this ternd has no SMTP submission yet;"
        log "        measuring Postfix + Dovecot only (rerun on a build whose submission answers 220)"
        stop "$PID_TERN"
        HAVE_TERN=0
        ;;
    esac
fi

# ---- Postfix + Dovecot: private instances, everything under $TMP/postfix and $TMP/dovecot ----
if [ "$HAVE_POST" = 1 ]; then
    D=$TMP/dovecot
    P=$TMP/postfix
    PQ=$P/queue
    mkdir -p "$D/run" "$D/state" "$D/mail" "$D/home" "$P/conf" "$PQ" "$P/data"
    chown mail:mail "$D/mail" "$D/home"
    chown postfix "$P/data"
    HASH=$(doveadm pw -s SSHA512 -p "$PASSWORD")
    # passdb and userdb in one passwd-file: user:password:uid:gid::home::
    for u in "${USERS[@]}"; do printf '%s:%s:%s:%s::%s::\n' "$u" "$HASH" "$(id -u mail)" "$(id -g mail)" "$D/home/$u"; done >"$D/passwd"
    for u in "${USERS[@]}"; do printf '%s OK\n' "$u"; done >"$P/vmailbox"
    cat >"$D/dovecot.conf" <<EOF
# generated by bench/smtp/run.sh: Dovecot as Postfix's SASL server and LMTP delivery agent, unix sockets only
base_dir = $D/run
state_dir = $D/state
log_path = $D/dovecot.log
info_log_path = /dev/null
protocols = lmtp
ssl = no
auth_mechanisms = plain login
auth_failure_delay = 0
default_internal_user = dovecot
default_internal_group = dovecot
default_login_user = dovenull
first_valid_uid = $(id -u mail)
mail_location = maildir:$D/mail/%u
passdb {
  driver = passwd-file
  args = scheme=SSHA512 $D/passwd
}
userdb {
  driver = passwd-file
  args = $D/passwd
}
service auth {
  unix_listener auth-postfix {
    mode = 0660
    user = postfix
    group = postfix
  }
}
service lmtp {
  unix_listener lmtp {
    mode = 0660
    user = postfix
    group = postfix
  }
}
EOF
    cat >"$P/conf/main.cf" <<EOF
# generated by bench/smtp/run.sh: a private Postfix instance (postfix -c $P/conf), submission only
compatibility_level = 3.6
queue_directory = $PQ
data_directory = $P/data
mail_owner = postfix
setgid_group = postdrop
maillog_file = $P/maillog
maillog_file_prefixes = $TMP
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
myhostname = postfix.bench.localhost
mydomain = bench.localhost
myorigin = \$myhostname
mydestination =
mynetworks = 127.0.0.0/8
relayhost =
alias_maps =
alias_database =
local_recipient_maps =
local_transport = error:5.1.1 no local delivery here
biff = no
virtual_mailbox_domains = example.com
virtual_mailbox_maps = texthash:$P/vmailbox
virtual_transport = lmtp:unix:$D/run/lmtp
smtpd_tls_cert_file = $TMP/cert.pem
smtpd_tls_key_file = $TMP/key.pem
smtpd_tls_security_level = may
smtpd_sasl_type = dovecot
smtpd_sasl_path = $D/run/auth-postfix
smtpd_relay_restrictions = permit_sasl_authenticated, reject
smtpd_recipient_restrictions = permit_sasl_authenticated, reject
EOF
    cat >"$P/conf/master.cf" <<EOF
# generated by bench/smtp/run.sh; service type private unpriv chroot wakeup maxproc command
127.0.0.1:$P_POST inet n - n - - smtpd
  -o syslog_name=postfix/submission
  -o smtpd_tls_security_level=encrypt
  -o smtpd_tls_auth_only=yes
  -o smtpd_sasl_auth_enable=yes
postlog   unix-dgram n - n -    1 postlogd
pickup    unix n - n 60   1 pickup
cleanup   unix n - n -    0 cleanup
qmgr      unix n - n 300  1 qmgr
tlsmgr    unix - - n 1000? 1 tlsmgr
rewrite   unix - - n -    - trivial-rewrite
bounce    unix - - n -    0 bounce
defer     unix - - n -    0 bounce
trace     unix - - n -    0 bounce
verify    unix - - n -    1 verify
flush     unix n - n 1000? 0 flush
proxymap  unix - - n -    - proxymap
proxywrite unix - - n -   1 proxymap
error     unix - - n -    - error
retry     unix - - n -    - error
discard   unix - - n -    - discard
lmtp      unix - - n -    - lmtp
anvil     unix - - n -    1 anvil
scache    unix - - n -    1 scache
EOF
    start dovecot "$DOVECOT" -F -c "$D/dovecot.conf"; PID_DOVE=$START_PID
    for i in $(seq 1 100); do [ -S "$D/run/lmtp" ] && [ -S "$D/run/auth-postfix" ] && break; sleep 0.1; done
    [ -S "$D/run/lmtp" ] || { show_logs "$TMP/dovecot.log" "$D/dovecot.log"; die "Dovecot did not start"; }
    "$POSTFIX" -c "$P/conf" check >"$TMP/postfix-check.log" 2>&1 ||
        { show_logs "$TMP/postfix-check.log" "$P/maillog"; die "postfix check failed"; }
    start postfix "$POSTFIX" -c "$P/conf" start-fg
    PID_POSTFIX_SCRIPT=$START_PID
    for i in $(seq 1 300); do
        port_open "$P_POST" && [ -s "$PQ/pid/master.pid" ] && break
        kill -0 "$PID_POSTFIX_SCRIPT" 2>/dev/null || break
        sleep 0.05
    done
    port_open "$P_POST" || { show_logs "$TMP/postfix.log" "$P/maillog"; die "Postfix is not listening on $P_POST"; }
    PID_POST=$(tr -d ' \n' <"$PQ/pid/master.pid")
    PIDS+=("$PID_POST") # postfix start-fg runs the master as a child of postfix-script: kill the master itself
fi

[ "$HAVE_TERN" = 1 ] || [ "$HAVE_POST" = 1 ] || die "nothing to measure"

# ---- measuring ----
TCK=$(getconf CLK_TCK)
RAW=$OUT/smtp-$(date +%Y%m%d-%H%M%S).txt
: >"$RAW"
tree_pids() { echo "$1"; ps -o pid= --ppid "$1" 2>/dev/null | tr -d ' '; } # both masters fork every service
ticks_of() { # CPU ticks of a process, its children, and the children it already reaped (cutime/cstime)
    local p t=0 x
    for p in $(tree_pids "$1"); do
        x=$(awk '{print $14 + $15 + $16 + $17}' "/proc/$p/stat" 2>/dev/null || echo 0)
        t=$((t + x))
    done
    echo "$t"
}
# CPU time the hypervisor gave to other guests (all cores), in ticks: on a shared host it moves every figure
steal_ticks() { awk '/^cpu / {print $9}' /proc/stat; }
cpu_ticks() { if [ "$1" = tern ]; then ticks_of "$PID_TERN"; else echo $(($(ticks_of "$PID_POST") + $(ticks_of "$PID_DOVE"))); fi; }
settle() { # server since: waits until the server uses under 4% of a core for 0.5 s (at most SETTLE s); prints seconds
    local a b
    a=$(cpu_ticks "$1")
    while sleep 0.5; b=$(cpu_ticks "$1"); [ $((b - a)) -gt $((TCK / 50)) ]; do
        a=$b
        if awk -v a="$(now_s)" -v b="$2" -v l="$SETTLE" 'BEGIN {exit !(a - b > l)}'; then
            log "  warning: $1 still busy ${SETTLE}s after its deliveries"
            break
        fi
    done
    awk -v a="$(now_s)" -v b="$2" 'BEGIN {printf "%.1f", a - b - 0.5}'
}
# messages in the mailboxes: Dovecot's maildirs (new/ and cur/), Tern's store (cur/ of every mailbox folder)
count_mail() {
    if [ "$1" = tern ]; then { find "$TMP/tern/data/accounts" -type f -path '*/mail/*/cur/*' 2>/dev/null || true; } | wc -l
    else find "$D/mail" -type f \( -path '*/new/*' -o -path '*/cur/*' \) | wc -l; fi
}
queued() { find "$PQ/incoming" "$PQ/active" "$PQ/deferred" "$PQ/hold" "$PQ/maildrop" -type f 2>/dev/null | wc -l; }
SERVERS=()
[ "$HAVE_TERN" = 1 ] && SERVERS+=(tern)
[ "$HAVE_POST" = 1 ] && SERVERS+=(post)
port_of() { if [ "$1" = tern ]; then echo "$P_TERN"; else echo "$P_POST"; fi; }
# A server that died keeps the temporary directory: its log (a crash's backtrace), data and the others' logs.
# shellcheck disable=SC2034 # KEEP_TMP is read by lib.sh's cleanup
alive() {
    if [ "$1" = tern ]; then kill -0 "$PID_TERN" 2>/dev/null || { KEEP_TMP=1; die "ternd is gone; see $TMP/tern.log"; }
    else
        kill -0 "$PID_POST" 2>/dev/null || { KEEP_TMP=1; die "Postfix's master is gone; see $P/maillog"; }
        kill -0 "$PID_DOVE" 2>/dev/null || { KEEP_TMP=1; die "Dovecot is gone; see $D/dovecot.log"; }
    fi
}
declare -A ACKED UNSURE
for s in "${SERVERS[@]}"; do ACKED[$s]=0; UNSURE[$s]=0; done
now_s() { date +%s.%N; }

# one run: server mode clients seconds seed label; adds the figures to R unless label is "warm"
run_one() {
    local s=$1 m=$2 c=$3 d=$4 seed=$5 label=$6 f=$TMP/load.out
    local before c0 c1 t1 t2 acked unsure want n secs drain busy rc=0
    alive "$s"
    before=$(count_mail "$s")
    c0=$(cpu_ticks "$s")
    local st0 st1; st0=$(steal_ticks)
    "$LOAD" -p "$(port_of "$s")" -m "$m" -c "$c" -n 0 -d "$d" -s "$SIZE" -A "$ACCOUNTS" -P "$PASSWORD" -r "$seed" \
        >"$f" 2>"$TMP/load.err" || rc=$?
    t1=$(now_s)
    [ "$rc" -le 1 ] || { cat "$TMP/load.err" >&2; die "smtp_load failed against $s (exit $rc)"; }
    acked=$(val msgs "$f"); acked=${acked:-0}
    unsure=$(val unsure "$f"); unsure=${unsure:-0}
    ACKED[$s]=$((ACKED[$s] + acked)); UNSURE[$s]=$((UNSURE[$s] + unsure))
    want=$((before + acked))
    # wait until every acknowledged message is in a mailbox (Postfix delivers from its queue after the 250)
    n=$(count_mail "$s")
    while [ "$n" -lt "$want" ]; do
        if awk -v a="$(now_s)" -v b="$t1" -v l="$DRAIN" 'BEGIN {exit !(a - b > l)}'; then
            log "  warning: $s: only $((n - before)) of $acked acknowledged messages in the mailboxes after ${DRAIN}s"
            break
        fi
        sleep 0.02
        n=$(count_mail "$s")
    done
    t2=$(now_s)
    busy=$(settle "$s" "$t2")
    c1=$(cpu_ticks "$s")
    st1=$(steal_ticks)
    alive "$s"
    secs=$(val seconds "$f")
    drain=$(awk -v a="$t2" -v b="$t1" 'BEGIN {printf "%.3f", a - b}')
    { echo "# $label $s mode=$m clients=$c seed=$seed"; cat "$f"; echo "delivered $((n - before))"
      echo "drain_seconds $drain"; echo "busy_after_seconds $busy"; echo "server_cpu_ticks $((c1 - c0))"
      echo "steal_ticks $((st1 - st0))"; } >>"$RAW"
    local errors; errors=$(val errors "$f")
    [ "${errors:-0}" = 0 ] || log "  warning: $s, $m, $c clients: $errors errors: $(head -3 "$TMP/load.err" | tr '\n' ' ')"
    [ "$label" = warm ] && return 0
    local k="$s $m $c" v
    for v in msgs_per_s dot_p50_us dot_p99_us txn_p50_us setup_p50_us setup_p99_us errors; do
        add "$k $v" "$(val "$v" "$f")"
    done
    add "$k drain_s" "$drain"
    add "$k busy_s" "$busy"
    add "$k steal_s" "$(awk -v t=$((st1 - st0)) -v hz="$TCK" 'BEGIN {printf "%.1f", t / hz}')"
    add "$k delivered_per_s" "$(awk -v n="$acked" -v s="$secs" -v d="$drain" 'BEGIN {printf "%.1f", (s + d > 0) ? n / (s + d) : 0}')"
    [ "$acked" -gt 0 ] && add "$k cpu_us" "$(awk -v t=$((c1 - c0)) -v hz="$TCK" -v n="$acked" 'BEGIN {printf "%.0f", t * 1e6 / hz / n}')"
    return 0
}

# warm-up: processes spawned, first logins done (Tern's verified-login cache, Postfix's smtpd and lmtp processes)
# Seeds make the messages: the same seed for both servers in a cell, a new one (new Message-IDs) for every cell.
for s in "${SERVERS[@]}"; do
    seed=1
    for m in $MODES; do
        log "warm-up: $s, $m per session, 10 clients, ${WARM}s..."
        run_one "$s" "$m" 10 "$WARM" "$seed" warm
        seed=$((seed + 1))
    done
done

SEED=100
for c in $CLIENTS; do
    for m in $MODES; do
        log "$c clients, $m per session: $REPS x ${DUR}s per server..."
        for rep in $(seq 1 "$REPS"); do
            SEED=$((SEED + 1))
            order=("${SERVERS[@]}")
            if ((rep % 2 == 0)) && [ "${#SERVERS[@]}" = 2 ]; then order=(post tern); fi
            for s in "${order[@]}"; do run_one "$s" "$m" "$c" "$DUR" "$SEED" run; done
        done
    done
done

# ---- every acknowledged message, and nothing else, is in a mailbox ----
VERIFY=()
for s in "${SERVERS[@]}"; do
    n=$(count_mail "$s")
    extra=""
    if [ "$s" = post ]; then extra="; Postfix queue: $(queued) left"; fi
    if [ "$s" = tern ]; then
        st=$("$TERNCTL" stats --config "$TMP/tern/ternd.toml" 2>/dev/null | awk '/^total:/ {print $4}' || true)
        extra="; ternctl stats: ${st:-?} messages"
    fi
    if [ "$n" -ge "${ACKED[$s]}" ] && [ "$n" -le $((ACKED[$s] + UNSURE[$s])) ]; then verdict_s=ok; else verdict_s=MISMATCH; fi
    VERIFY+=("$s: ${ACKED[$s]} acknowledged (+${UNSURE[$s]} unsure), $n in the mailboxes$extra: $verdict_s")
    echo "# verify $s acked=${ACKED[$s]} unsure=${UNSURE[$s]} in_mailboxes=$n$extra" >>"$RAW"
done

# the same message (the first one of the last cell) reads the same in both stores, trace headers and CRs aside
if [ "${#SERVERS[@]}" = 2 ]; then
    mid="Message-ID: <$SEED.0.0@example.com>"
    # Only the maildir files: the index (cached headers) and its WAL hold the Message-ID too.
    ft=$(grep -rlF -m1 "$mid" --include="*:2,*" "$TMP/tern/data/accounts" 2>/dev/null | head -1 || true)
    fd=$(grep -rlF -m1 "$mid" "$D/mail" 2>/dev/null | head -1 || true)
    body() { sed -n '/^From: Bench/,$p' "$1" | tr -d '\r'; }
    if [ -z "$ft" ] || [ -z "$fd" ]; then VERIFY+=("same message in both stores: $mid not found in both")
    elif cmp -s <(body "$ft") <(body "$fd"); then VERIFY+=("same message in both stores ($mid, $(body "$fd" | wc -c) bytes from From: on): identical")
    else VERIFY+=("same message in both stores ($mid): DIFFERENT ($ft, $fd)"); fi
fi

# ---- report ----
ROWFMT='%-34s %-24s %-24s %-8s %s\n'
row() { # label key [goal-op goal-limit]
    local ts rs r goal=""
    ts=$(stats "tern $2"); rs=$(stats "post $2")
    r=$(ratio "$ts" "$rs")
    if [ -n "${3:-}" ] && [ "$r" != n/a ]; then goal="goal $3 $4: $(verdict "$r" "$3" "$4")"; fi
    # shellcheck disable=SC2059
    printf "$ROWFMT" "$1" "$(fmt "$ts")" "$(fmt "$rs")" "$r" "$goal"
}
PV=$(postconf -h mail_version 2>/dev/null || echo '?')
DV=$("$DOVECOT" --version 2>/dev/null | cut -d' ' -f1 || echo '?')
echo
echo "Tern SMTP submission vs Postfix $PV + Dovecot $DV LMTP (STARTTLS + AUTH PLAIN, $SIZE-byte messages, one recipient each;"
echo "loopback, $(nproc) cores; median [min-max] of $REPS runs of ${DUR}s, alternating who goes first)"
echo "ternd: $([ "$HAVE_TERN" = 1 ] && echo "$TERND" || echo "not measured")"
echo "load average: $LOAD1 at the start, $(cut -d' ' -f1 /proc/loadavg) at the end (above ~0.5 something else shared the CPUs)"
echo
# shellcheck disable=SC2059
printf "$ROWFMT" "figure" "Tern" "Postfix+Dovecot" "ratio" "goal"
for m in $MODES; do
    for c in $CLIENTS; do
        if [ "$m" = many ]; then echo "many messages per session, $c client(s)"; else echo "one message per session (connect, TLS, AUTH, QUIT), $c client(s)"; fi
        row "   delivered msgs/s" "$m $c delivered_per_s" ">=" 2
        row "   acknowledged msgs/s" "$m $c msgs_per_s"
        row "   wait for the last delivery (s)" "$m $c drain_s"
        row "   busy after the last delivery (s)" "$m $c busy_s"
        row "   CPU stolen by the host (s)" "$m $c steal_s"
        row "   final dot -> 250 p50 (us)" "$m $c dot_p50_us"
        row "   final dot -> 250 p99 (us)" "$m $c dot_p99_us"
        row "   MAIL FROM -> final 250 p50 (us)" "$m $c txn_p50_us"
        row "   session setup p50 (us)" "$m $c setup_p50_us"
        row "   server CPU per message (us)" "$m $c cpu_us"
        row "   client errors (per run)" "$m $c errors"
    done
done
echo
echo "delivered = in the recipient's mailbox; every server, all runs and warm-ups:"
for v in "${VERIFY[@]}"; do echo "   $v"; done
echo
echo "raw results: $RAW"
