#!/usr/bin/env bash
# bench/imap/run.sh - Tern's IMAP server against Dovecot (Debian's dovecot-imapd), on loopback, in one run.
#
# Figures (each Tern figure next to Dovecot's, median [min-max] of REPS runs, runs alternating Tern/Dovecot):
#   1. mixed IMAP workload over TLS at 10 and 100 clients: ops/s, p50/p99 of all ops and per op type
#      (header sync FETCH of 50, UID FETCH BODY.PEEK[], UID SEARCH, UID STORE, APPEND + delete + UID EXPUNGE,
#      NOOP, fresh login), see imap_load.c for the exact mix. Goal: Tern >= 1.5x Dovecot's ops/s.
#   2. memory per idle session: IDLE_TERN (Tern) / IDLE_DOVE (Dovecot) sessions that did LOGIN, SELECT INBOX,
#      IDLE; PSS (and RSS) summed over every process of the server, growth over the baseline, per session.
#      Goal: Tern <= 30 KB per session.
#   3. APPEND -> "* N EXISTS" on a client in IDLE on the same account: NOTIFY_N samples, p50/p99.
# See bench/README.md for the setup of both servers and how to read the figures.
#
# Needs: gcc, libssl-dev, openssl (the command), dovecot-imapd (/usr/sbin/dovecot, doveadm), awk, and Swift
# to build ternd/ternctl unless TERND and TERNCTL are given. Installs nothing and changes no system setting; talks
# to 127.0.0.1 only; kills everything it started when it exits. Run it as root (Dovecot's master needs it; the
# mail is owned by the "mail" user) or set DOVECOT=skip. For IDLE_DOVE above ~120 sessions Dovecot needs
# `sysctl -w fs.inotify.max_user_instances=8192` (one inotify instance per imap process); the script says so
# and lowers IDLE_DOVE when the limit is lower.
#
# Environment:
#   TERND=/path/to/ternd TERNCTL=/path/to/ternctl   use these binaries instead of building them
#   TERND=skip / DOVECOT=skip                        measure only the other one
#   TERN_BLOCKING_THREADS=16  ternd's [server] blocking_threads (its default is 16)
#   REPS=5              repetitions of figure 1 at each client count
#   CLIENTS="10 100"    client counts of figure 1
#   DUR=4 WARM=1        measured and warm-up seconds of each figure 1 run
#   ACCOUNTS=20         accounts used by figure 1 (client i uses account i % ACCOUNTS: 100 clients = 5 per account)
#   SEARCHQ=3           search queries rotated by figure 1 (1 = only UNSEEN: no FROM/SUBJECT header search)
#   MSGS=500            messages put into each of those INBOXes (APPEND over IMAP, same messages in both servers)
#   IDLE_TERN=10000 IDLE_DOVE=3000   sessions of figure 2 (0 skips it); spread over IDLE_ACCOUNTS accounts
#   IDLE_ACCOUNTS=250   (Tern allows 50 sessions per account: 40 each) each with IDLE_MSGS=20 messages
#   NOTIFY_N=200        samples of figure 3 (0 skips it)
#   PORT_BASE=18500     first of the 2 loopback ports used
#   KEEP_TMP=1          keep the temporary directory (configs, logs, both servers' data)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BENCH=$(dirname "$HERE")
# shellcheck source=../lib.sh
. "$BENCH/lib.sh"
ROOT=$(dirname "$BENCH")
BIN=$BENCH/bin
OUT=$BENCH/out

REPS=${REPS:-5}
CLIENTS=${CLIENTS:-10 100}
DUR=${DUR:-4}
WARM=${WARM:-1}
ACCOUNTS=${ACCOUNTS:-20}
MSGS=${MSGS:-500}
SEARCHQ=${SEARCHQ:-3}
IDLE_TERN=${IDLE_TERN:-10000}
IDLE_DOVE=${IDLE_DOVE:-3000}
IDLE_ACCOUNTS=${IDLE_ACCOUNTS:-250}
IDLE_MSGS=${IDLE_MSGS:-20}
NOTIFY_N=${NOTIFY_N:-200}
PORT_BASE=${PORT_BASE:-18500}
DOVECOT=${DOVECOT:-/usr/sbin/dovecot}
PASSWORD=password1x
P_TERN=$PORT_BASE
P_DOVE=$((PORT_BASE + 1))


for tool in gcc openssl awk sort; do command -v "$tool" >/dev/null || die "needs $tool"; done

# ---- limits: figure 2 holds thousands of sockets (client and server side) ----
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt 20000 ]; then ulimit -n "$(ulimit -Hn)" 2>/dev/null || true; fi
NOFILE=$(ulimit -n); [ "$NOFILE" = unlimited ] && NOFILE=1000000
if [ "$IDLE_TERN" -gt $((NOFILE - 200)) ]; then IDLE_TERN=$((NOFILE - 200)); log "run.sh: ulimit -n is $NOFILE; IDLE_TERN lowered to $IDLE_TERN"; fi
if [ "$IDLE_DOVE" -gt $(((NOFILE - 200) / 3)) ]; then IDLE_DOVE=$(((NOFILE - 200) / 3)); log "run.sh: ulimit -n is $NOFILE; IDLE_DOVE lowered to $IDLE_DOVE"; fi

# ---- build ----
mkdir -p "$BIN" "$OUT"
gcc -O2 -Wall -o "$BIN/imap_load" "$HERE/imap_load.c" -lssl -lcrypto -lpthread
LOAD=$BIN/imap_load

TERND=${TERND:-}
TERNCTL=${TERNCTL:-}
if [ -z "$TERND" ]; then
    log "building ternd and ternctl (swift build -c release --scratch-path .build-bench)..."
    (cd "$ROOT" && swift build -c release --scratch-path "$ROOT/.build-bench" --product ternd >&2 &&
        swift build -c release --scratch-path "$ROOT/.build-bench" --product ternctl >&2) ||
        die "swift build failed (set TERND/TERNCTL, or TERND=skip for Dovecot only)"
    TERND=$ROOT/.build-bench/release/ternd
    TERNCTL=$ROOT/.build-bench/release/ternctl
fi
HAVE_TERN=1
if [ "$TERND" = skip ]; then HAVE_TERN=0; else
    [ -x "$TERND" ] || die "TERND=$TERND is not an executable"
    [ -n "$TERNCTL" ] || TERNCTL=$(dirname "$TERND")/ternctl
    [ -x "$TERNCTL" ] || die "TERNCTL=$TERNCTL is not an executable"
fi
HAVE_DOVE=1
if [ "$DOVECOT" = skip ]; then HAVE_DOVE=0; else
    [ -x "$DOVECOT" ] || die "needs dovecot-imapd ($DOVECOT), or DOVECOT=skip"
    command -v doveadm >/dev/null || die "needs doveadm (dovecot-core)"
    [ "$(id -u)" = 0 ] || die "Dovecot's master must start as root here (or DOVECOT=skip)"
    id mail >/dev/null 2>&1 || die "needs the system user 'mail' (owner of Dovecot's mail here)"
    INOTIFY=$(cat /proc/sys/fs/inotify/max_user_instances)
    if [ "$IDLE_DOVE" -gt $((INOTIFY - 20)) ]; then
        log "run.sh: fs.inotify.max_user_instances is $INOTIFY: Dovecot cannot hold $IDLE_DOVE idling sessions;"
        log "        run 'sysctl -w fs.inotify.max_user_instances=8192' first. IDLE_DOVE lowered to $((INOTIFY - 20))."
        IDLE_DOVE=$((INOTIFY - 20))
    fi
fi

# ---- processes ----
TMP=$(mktemp -d /tmp/tern-bench-imap.XXXXXX)
chmod 755 "$TMP" # Dovecot's imap processes run as "mail" and must reach their folders


LOAD1=$(cut -d' ' -f1 /proc/loadavg)
if awk -v l="$LOAD1" 'BEGIN {exit !(l > 0.7)}'; then
    log "run.sh: warning: load average is $LOAD1; something else is using the CPUs and the figures will be noisy"
fi
for p in $P_TERN $P_DOVE; do port_open "$p" && die "port $p is already in use (set PORT_BASE)"; done

# one certificate for both servers (P-256 ECDSA, like bench/core)
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$TMP/key.pem" \
    -out "$TMP/cert.pem" -days 2 -subj /CN=localhost 2>/dev/null
chmod 644 "$TMP/key.pem"

ALL_USERS=()
for i in $(seq 0 $((ACCOUNTS - 1))); do ALL_USERS+=("user$i@example.com"); done
for i in $(seq 0 $((IDLE_ACCOUNTS - 1))); do ALL_USERS+=("idle$i@example.com"); done
ALL_USERS+=("notify0@example.com")

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
imaps = ["127.0.0.1:$P_TERN"]
submission = []
submissions = []
smtp = []
pop3 = []
pop3s = []

[limits]
max_connections = 20000
max_connections_per_ip = 20000
EOF
    log "creating ${#ALL_USERS[@]} Tern accounts..."
    "$TERNCTL" domain add --config "$TMP/tern/ternd.toml" example.com >"$TMP/ternctl.log" 2>&1 || { cat "$TMP/ternctl.log" >&2; die "ternctl domain add failed"; }
    printf '%s\n' "${ALL_USERS[@]}" | xargs -P 2 -I{} sh -c \
        'printf "%s\n" "$2" | "$0" user add --config "$1" "{}" --password-stdin >/dev/null' \
        "$TERNCTL" "$TMP/tern/ternd.toml" "$PASSWORD" 2>>"$TMP/ternctl.log" || { tail "$TMP/ternctl.log" >&2; die "ternctl user add failed"; }
    start tern "$TERND" --config "$TMP/tern/ternd.toml"; PID_TERN=$START_PID
    wait_port "$P_TERN" "$PID_TERN" tern
fi

# ---- Dovecot: everything under $TMP/dovecot, nothing system-wide ----
if [ "$HAVE_DOVE" = 1 ]; then
    D=$TMP/dovecot
    mkdir -p "$D/run" "$D/state" "$D/mail" "$D/home"
    chown mail:mail "$D/mail" "$D/home"
    HASH=$(doveadm pw -s SSHA512 -p "$PASSWORD")
    for u in "${ALL_USERS[@]}"; do printf '%s:%s\n' "$u" "$HASH"; done >"$D/passwd"
    DPROC=$((IDLE_DOVE + 500))
    cat >"$D/dovecot.conf" <<EOF
# generated by bench/imap/run.sh
base_dir = $D/run
state_dir = $D/state
log_path = $D/dovecot.log
# like Tern at log_level = "warning": no line per login
info_log_path = /dev/null
protocols = imap
listen = 127.0.0.1
ssl = required
ssl_cert = <$TMP/cert.pem
ssl_key = <$TMP/key.pem
disable_plaintext_auth = yes
auth_mechanisms = plain login
auth_failure_delay = 0
default_internal_user = dovecot
default_internal_group = dovecot
default_login_user = dovenull
default_client_limit = $((DPROC * 2))
default_process_limit = $DPROC
default_vsz_limit = 1G
first_valid_uid = 8
mail_uid = mail
mail_gid = mail
mail_location = maildir:$D/mail/%u
passdb {
  driver = passwd-file
  args = scheme=SSHA512 $D/passwd
}
userdb {
  driver = static
  args = uid=mail gid=mail home=$D/home/%u
}
protocol imap {
  mail_max_userip_connections = 20000
}
service imap-login {
  inet_listener imap {
    port = 0
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = $P_DOVE
    ssl = yes
  }
  # high-performance mode: long-lived login processes, each serving many TLS connections (proxying them to
  # one imap process per session), one per core like Tern's event loops
  service_count = 0
  process_min_avail = $(nproc)
  client_limit = $((DPROC * 2))
}
service imap {
  process_limit = $DPROC
}
service auth {
  client_limit = $((DPROC * 3))
}
service anvil {
  client_limit = $((DPROC * 3))
}
EOF
    start dovecot "$DOVECOT" -F -c "$D/dovecot.conf"; PID_DOVE=$START_PID
    wait_port "$P_DOVE" "$PID_DOVE" dovecot
fi

# ---- measuring ----
TCK=$(getconf CLK_TCK)
RAW=$OUT/imap-$(date +%Y%m%d-%H%M%S).txt
: >"$RAW"
tree_pids() { echo "$1"; ps -o pid= --ppid "$1" 2>/dev/null | tr -d ' '; } # Dovecot's master forks every service
# CPU ticks of a server: its processes, plus the children it already reaped (cutime/cstime)
cpu_ticks() {
    local p t=0 x
    for p in $(tree_pids "$1"); do
        x=$(awk '{print $14 + $15 + $16 + $17}' "/proc/$p/stat" 2>/dev/null || echo 0)
        t=$((t + x))
    done
    echo "$t"
}
# memory of a server (KB): "pss rss nprocs", summed over its processes
mem_kb() {
    local p pss=0 rss=0 n=0 a b
    for p in $(tree_pids "$1"); do
        a=$(awk '/^Pss:/ {print $2}' "/proc/$p/smaps_rollup" 2>/dev/null || true)
        b=$(awk '/^VmRSS:/ {print $2}' "/proc/$p/status" 2>/dev/null || true)
        [ -n "$a" ] || continue
        pss=$((pss + a)); rss=$((rss + ${b:-0})); n=$((n + 1))
    done
    echo "$pss $rss $n"
}
SERVERS=()
[ "$HAVE_TERN" = 1 ] && SERVERS+=(tern)
[ "$HAVE_DOVE" = 1 ] && SERVERS+=(dove)
pid_of() { if [ "$1" = tern ]; then echo "$PID_TERN"; else echo "$PID_DOVE"; fi; }
port_of() { if [ "$1" = tern ]; then echo "$P_TERN"; else echo "$P_DOVE"; fi; }
alive() { kill -0 "$(pid_of "$1")" 2>/dev/null || die "$1 (pid $(pid_of "$1")) is gone; see $TMP (KEEP_TMP=1 keeps it)"; }

# ---- same mail in both ----
for s in "${SERVERS[@]}"; do
    log "$s: populating $ACCOUNTS x $MSGS messages, $IDLE_ACCOUNTS x $IDLE_MSGS, by APPEND..."
    f=$TMP/populate.out
    "$LOAD" -m populate -p "$(port_of "$s")" -U user -A "$ACCOUNTS" -n "$MSGS" -c "$ACCOUNTS" >"$f" 2>"$TMP/populate.err" ||
        { cat "$TMP/populate.err" >&2; die "populating $s failed"; }
    { echo "# populate $s users"; cat "$f"; } >>"$RAW"
    add "$s populate_aps" "$(val appends_per_s "$f")"
    if [ "$IDLE_MSGS" -gt 0 ] && [ "$IDLE_TERN$IDLE_DOVE" != 00 ]; then
        "$LOAD" -m populate -p "$(port_of "$s")" -U idle -A "$IDLE_ACCOUNTS" -n "$IDLE_MSGS" -c 20 >"$f" 2>"$TMP/populate.err" ||
            { cat "$TMP/populate.err" >&2; die "populating $s failed"; }
        { echo "# populate $s idle accounts"; cat "$f"; } >>"$RAW"
    fi
    alive "$s"
done

# ---- figure 1 ----
KEYS="ops_per_s all_p50_us all_p99_us hdr_p99_us body_p99_us search_p99_us store_p99_us append_p99_us delete_p99_us expunge_p99_us noop_p99_us login_p99_us hdr_p50_us body_p50_us search_p50_us store_p50_us append_p50_us delete_p50_us expunge_p50_us noop_p50_us login_p50_us"
run_mix() { # server clients rep
    local s=$1 c=$2 f=$TMP/mix.out pid c0 c1 k v
    pid=$(pid_of "$s")
    alive "$s"
    c0=$(cpu_ticks "$pid")
    "$LOAD" -m mix -p "$(port_of "$s")" -U user -A "$ACCOUNTS" -n "$MSGS" -c "$c" -d "$DUR" -w "$WARM" -r "$3" -Q "$SEARCHQ" \
        >"$f" 2>"$TMP/mix.err" || { cat "$TMP/mix.err" >&2; die "imap_load failed against $s"; }
    c1=$(cpu_ticks "$pid")
    alive "$s"
    { echo "# mix $s clients=$c rep=$3"; cat "$f"; echo "server_cpu_ticks $((c1 - c0))"; } >>"$RAW"
    for k in $KEYS; do v=$(val "$k" "$f"); [ -n "$v" ] && add "$s $c $k" "$v"; done
    v=$(val errors "$f"); add "$s $c errors" "${v:-0}"
    [ "${v:-0}" = 0 ] || log "  warning: $s, $c clients: $v errors: $(head -3 "$TMP/mix.err" | tr '\n' ' ')"
    v=$(val dead_clients "$f"); [ "${v:-0}" = 0 ] || log "  warning: $s, $c clients: $v clients lost their session for good"
    v=$(val ops "$f")
    [ "${v:-0}" -gt 0 ] && add "$s $c cpu_us" "$(awk -v t=$((c1 - c0)) -v hz="$TCK" -v n="$v" 'BEGIN {printf "%.1f", t * 1e6 / hz / n}')"
    return 0
}
for c in $CLIENTS; do
    log "figure 1: $c clients, $REPS repetitions of ${WARM}s + ${DUR}s per server..."
    for rep in $(seq 1 "$REPS"); do
        order=("${SERVERS[@]}")
        if ((rep % 2 == 0)) && [ "${#SERVERS[@]}" = 2 ]; then order=(dove tern); fi
        for s in "${order[@]}"; do run_mix "$s" "$c" "$rep"; done
    done
done

# ---- figure 3: APPEND -> EXISTS in IDLE ----
if [ "$NOTIFY_N" -gt 0 ]; then
    for s in "${SERVERS[@]}"; do
        log "figure 3: $s, $NOTIFY_N APPEND -> EXISTS samples..."
        f=$TMP/notify.out
        timeout 600 "$LOAD" -m notify -p "$(port_of "$s")" -U notify -A 1 -n "$NOTIFY_N" >"$f" 2>"$TMP/notify.err" ||
            log "  warning: notify against $s failed: $(head -3 "$TMP/notify.err" | tr '\n' ' ')"
        { echo "# notify $s"; cat "$f"; } >>"$RAW"
        for k in notify_p50_us notify_p99_us append_p50_us samples timeouts; do
            v=$(val "$k" "$f"); [ -n "$v" ] && add "$s $k" "$v"
        done
        alive "$s"
    done
fi

# ---- figure 2: memory of idle sessions ----
mem_run() { # server sessions
    local s=$1 n=$2 pid before after lpid i est open
    [ "$n" -gt 0 ] || return 0
    # a fresh server process, so memory freed by figures 1 and 3 (and kept by malloc) does not hide the growth
    restart "$s"
    pid=$(pid_of "$s")
    # warm-up: 64 sessions opened and closed, so lazy initialisation is not counted
    "$LOAD" -m idle -p "$(port_of "$s")" -U idle -A "$IDLE_ACCOUNTS" -N 64 -T 8 -H 0 </dev/null >/dev/null 2>&1 || true
    sleep 2
    before=$(mem_kb "$pid")
    rm -f "$TMP/hold"; mkfifo "$TMP/hold"
    "$LOAD" -m idle -p "$(port_of "$s")" -U idle -A "$IDLE_ACCOUNTS" -N "$n" -T 8 -H 300 <"$TMP/hold" >"$TMP/idle.out" 2>"$TMP/idle.err" &
    lpid=$!
    PIDS+=("$lpid")
    exec 9>"$TMP/hold"
    for i in $(seq 1 3000); do
        grep -q '^established' "$TMP/idle.out" && break
        kill -0 "$lpid" 2>/dev/null || break
        sleep 0.1
    done
    sleep 2 # let the servers settle
    after=$(mem_kb "$pid")
    exec 9>&-
    for i in $(seq 1 100); do kill -0 "$lpid" 2>/dev/null || break; sleep 0.1; done
    stop "$lpid"
    est=$(val established "$TMP/idle.out"); open=$(val still_open "$TMP/idle.out")
    { echo "# idle $s sessions=$n"; cat "$TMP/idle.out"; echo "before_pss_rss_nproc_kb $before"; echo "after_pss_rss_nproc_kb $after"; } >>"$RAW"
    [ "${est:-0}" = "$n" ] || log "  warning: $s: only ${est:-0} of $n sessions established: $(head -3 "$TMP/idle.err" | tr '\n' ' ')"
    [ "${open:-0}" = "${est:-0}" ] || log "  warning: $s: the server closed $((${est:-0} - ${open:-0})) idle sessions"
    if [ "${est:-0}" -gt 0 ]; then
        set -- $before; local pb=$1 rb=$2
        set -- $after; local pa=$1 ra=$2 np=$3
        add "$s idle_n" "$est"
        add "$s pss_kb" "$(awk -v a="$pa" -v b="$pb" -v n="$est" 'BEGIN {printf "%.1f", (a - b) / n}')"
        add "$s rss_kb" "$(awk -v a="$ra" -v b="$rb" -v n="$est" 'BEGIN {printf "%.1f", (a - b) / n}')"
        add "$s nproc" "$np"
    fi
    sleep 2 # sessions closing
}
restart() { # server
    if [ "$1" = tern ]; then
        stop "$PID_TERN"
        start tern "$TERND" --config "$TMP/tern/ternd.toml"; PID_TERN=$START_PID
        wait_port "$P_TERN" "$PID_TERN" tern
    else
        stop "$PID_DOVE"
        sleep 1 # its children exit after the master
        start dovecot "$DOVECOT" -F -c "$D/dovecot.conf"; PID_DOVE=$START_PID
        wait_port "$P_DOVE" "$PID_DOVE" dovecot
    fi
}
for s in "${SERVERS[@]}"; do
    n=$IDLE_TERN; [ "$s" = dove ] && n=$IDLE_DOVE
    [ "$n" -gt 0 ] && log "figure 2: $s, $n idle sessions..."
    mem_run "$s" "$n"
done

# ---- report ----
ROWFMT='%-30s %-26s %-26s %-8s %s\n'
row() { # label key [goal-op goal-limit]
    local ts rs r goal=""
    ts=$(stats "tern $2"); rs=$(stats "dove $2")
    r=$(ratio "$ts" "$rs")
    if [ -n "${3:-}" ] && [ "$r" != n/a ]; then goal="goal $3 $4: $(verdict "$r" "$3" "$4")"; fi
    # shellcheck disable=SC2059
    printf "$ROWFMT" "$1" "$(fmt "$ts")" "$(fmt "$rs")" "$r" "$goal"
}

echo
echo "Tern IMAP vs Dovecot $("$DOVECOT" --version 2>/dev/null | cut -d' ' -f1) (imaps on loopback, $(nproc) cores; median [min-max] of $REPS runs, ${DUR}s each after ${WARM}s warm-up)"
echo "ternd: $([ "$HAVE_TERN" = 1 ] && echo "$TERND" || echo "not measured")"
echo "load average: $LOAD1 at the start, $(cut -d' ' -f1 /proc/loadavg) at the end (above ~0.5 something else shared the CPUs)"
echo "data: $ACCOUNTS accounts x $MSGS messages (same generated messages in both); populate by APPEND: Tern $(fmt "$(stats "tern populate_aps")")/s, Dovecot $(fmt "$(stats "dove populate_aps")")/s"
echo
# shellcheck disable=SC2059
printf "$ROWFMT" "figure" "Tern" "Dovecot" "ratio" "goal"
for c in $CLIENTS; do
    echo "1. mixed workload, $c clients ($(( c < ACCOUNTS ? 1 : (c + ACCOUNTS - 1) / ACCOUNTS )) per account)"
    row "   ops/s" "$c ops_per_s" ">=" 1.5
    row "   all ops p50 (us)" "$c all_p50_us"
    row "   all ops p99 (us)" "$c all_p99_us"
    row "   server CPU us per op" "$c cpu_us"
    for op in hdr body search store append delete expunge noop login; do
        row "   $op p50 / p99 (us)" "$c ${op}_p50_us" >/dev/null
        ts50=$(med "$(stats "tern $c ${op}_p50_us")"); ts99=$(med "$(stats "tern $c ${op}_p99_us")")
        ds50=$(med "$(stats "dove $c ${op}_p50_us")"); ds99=$(med "$(stats "dove $c ${op}_p99_us")")
        # shellcheck disable=SC2059
        printf "$ROWFMT" "   $op p50 / p99 (us)" "${ts50:-n/a} / ${ts99:-n/a}" "${ds50:-n/a} / ${ds99:-n/a}" \
            "$(ratio "$(stats "tern $c ${op}_p99_us")" "$(stats "dove $c ${op}_p99_us")")" "(ratio of p99)"
    done
    row "   client errors (per run)" "$c errors"
done
echo "2. memory per idle session (LOGIN, SELECT INBOX, IDLE); Tern $(med "$(stats "tern idle_n")") sessions, Dovecot $(med "$(stats "dove idle_n")")"
row "   PSS growth per session (KB)" "pss_kb"
row "   RSS growth per session (KB)" "rss_kb"
row "   server processes, all open" "nproc"
echo "   Tern goal: <= 30 KB per session: $(verdict "$(med "$(stats "tern pss_kb")")" "<=" 30)"
echo "3. APPEND -> '* N EXISTS' on an idling client, $NOTIFY_N samples"
row "   p50 (us)" "notify_p50_us"
row "   p99 (us)" "notify_p99_us"
row "   APPEND alone p50 (us)" "append_p50_us"
row "   missed (no EXISTS in 5 s)" "timeouts"
echo
echo "raw results: $RAW"
