#!/usr/bin/env bash
# bench/core/run.sh - Tern's event-loop core against references, on loopback, in one run.
#
# Figures (each Tern figure next to its reference, median of REPS runs with the
# spread [min-max], runs alternating Tern/reference):
#   1. accept rate: connect, one line, its echo, close      Tern echo  vs C epoll echo_server
#   2. round-trip latency p50/p99, 50 persistent conns        Tern echo  vs C epoll echo_server
#   3. full TLS handshakes/s, no resumption                   Tern echo_tls (event_loops=1)
#                                                              vs openssl s_server (single-threaded)
#      extra lines: Tern with 2 loops; C epoll+OpenSSL echo_server (the event-driven reference)
#   4. RSS per idle TLS connection (IDLE_N conns, handshake + one round trip, then idle)
#                                                              Tern vs C epoll+OpenSSL echo_server
#      (openssl s_server serves one connection at a time, so it has no figure here)
# See bench/README.md for what the figures mean and the goals.
#
# Needs: gcc, libssl-dev (OpenSSL headers), openssl (the command), bash, awk, and
# Swift to build ternd unless TERND is given. Installs nothing, needs no root,
# talks to 127.0.0.1 only, and kills everything it started when it exits.
#
# Environment:
#   TERND=/path/to/ternd  use this binary instead of building one
#   TERND=skip            measure the references only
#   REPS=5                repetitions of each throughput/latency figure
#   MEM_REPS=3            repetitions of the memory figure (fresh processes each time)
#   DUR=2 WARM=0.5        measured seconds and warm-up seconds of each run
#   IDLE_N=5000           idle connections for the memory figure
#   EXTRA=1               also the extra lines (2 loops/threads, C TLS reference, idle plain)
#   CERT_TYPE=ec|rsa      P-256 ECDSA (default) or RSA-2048 certificate
#   PORT_BASE=18400       first of the ~12 loopback ports used
#   KEEP_TMP=1            keep the temporary directory (configs, logs)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BENCH=$(dirname "$HERE")
# shellcheck source=../lib.sh
. "$BENCH/lib.sh"
ROOT=$(dirname "$BENCH")
BIN=$BENCH/bin
OUT=$BENCH/out

REPS=${REPS:-5}
MEM_REPS=${MEM_REPS:-3}
DUR=${DUR:-2}
WARM=${WARM:-0.5}
IDLE_N=${IDLE_N:-5000}
EXTRA=${EXTRA:-1}
CERT_TYPE=${CERT_TYPE:-ec}
PORT_BASE=${PORT_BASE:-18400}

# concurrency of each figure
ACCEPT_CONC=32      # connection slots in flight
LAT_CONC=50         # persistent connections
HS_CONC=8           # concurrent handshake workers
NSRC=16             # client source addresses 127.0.0.1..16 (avoids ephemeral-port exhaustion)

P_C_ECHO=$PORT_BASE                 # C echo_server, 1 thread
P_C_ECHO2=$((PORT_BASE + 1))        # C echo_server, 2 threads
P_C_TLS=$((PORT_BASE + 2))          # C echo_server TLS, 1 thread
P_SSERVER=$((PORT_BASE + 3))        # openssl s_server
P_T1=$((PORT_BASE + 4))             # ternd event_loops=1: echo
P_T1_TLS=$((PORT_BASE + 5))         #                      echo_tls
P_T2=$((PORT_BASE + 6))             # ternd event_loops=2: echo
P_T2_TLS=$((PORT_BASE + 7))         #                      echo_tls
P_MEM=$((PORT_BASE + 8))            # fresh processes for the memory figure
P_MEM_TLS=$((PORT_BASE + 9))


for tool in gcc openssl awk sort; do command -v "$tool" >/dev/null || die "needs $tool"; done

# ---- file descriptors: the idle figure holds IDLE_N sockets on each side ----
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt $((IDLE_N + 200)) ]; then
    ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
    if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt $((IDLE_N + 200)) ]; then
        IDLE_N=$(($(ulimit -n) - 200))
        log "run.sh: ulimit -n is $(ulimit -n); lowering IDLE_N to $IDLE_N"
    fi
fi

# ---- build ----
mkdir -p "$BIN" "$OUT"
gcc -O2 -Wall -o "$BIN/echo_server" "$HERE/echo_server.c" -lssl -lcrypto -lpthread
gcc -O2 -Wall -o "$BIN/loadgen" "$HERE/loadgen.c" -lssl -lcrypto -lpthread -lm
LOADGEN=$BIN/loadgen

TERND=${TERND:-}
if [ -z "$TERND" ]; then
    log "building ternd (swift build -c release --scratch-path .build-bench)..."
    (cd "$ROOT" && swift build -c release --scratch-path "$ROOT/.build-bench" --product ternd >&2) ||
        die "swift build failed (set TERND=/path/to/ternd, or TERND=skip for the references only)"
    TERND=$ROOT/.build-bench/release/ternd
fi
if [ "$TERND" = skip ]; then
    HAVE_TERN=0
else
    [ -x "$TERND" ] || die "TERND=$TERND is not an executable"
    HAVE_TERN=1
fi

# ---- processes ----
TMP=$(mktemp -d /tmp/tern-bench-core.XXXXXX)


LOAD1=$(cut -d' ' -f1 /proc/loadavg)
if awk -v l="$LOAD1" 'BEGIN {exit !(l > 0.7)}'; then
    log "run.sh: warning: load average is $LOAD1; something else is using the CPUs and the figures will be noisy"
fi

for p in $(seq "$PORT_BASE" $((PORT_BASE + 9))); do
    port_open "$p" && die "port $p is already in use (set PORT_BASE)"
done

# ---- certificate (one for every TLS server) ----
if [ "$CERT_TYPE" = rsa ]; then
    openssl req -x509 -newkey rsa:2048 -nodes -keyout "$TMP/key.pem" -out "$TMP/cert.pem" -days 2 \
        -subj /CN=localhost 2>/dev/null
else
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$TMP/key.pem" \
        -out "$TMP/cert.pem" -days 2 -subj /CN=localhost 2>/dev/null
fi

tern_config() { # name loops echo_port tls_port
    mkdir -p "$TMP/$1"
    cat >"$TMP/$1/ternd.toml" <<EOF
data_dir = "$TMP/$1/data"
hostname = "localhost"
user = "$(id -un)"
log_level = "warning"

[server]
event_loops = $2

[tls]
certificate = "$TMP/cert.pem"
key = "$TMP/key.pem"

[listeners]
imap = []
imaps = []
submission = []
submissions = []
smtp = []
pop3 = []
pop3s = []

[limits]
max_connections = 20000
max_connections_per_ip = 20000

[testing]
echo = ["127.0.0.1:$3"]
echo_tls = ["127.0.0.1:$4"]
EOF
}

# ---- servers for figures 1-3 ----
SSERVER_CMD=(openssl s_server -accept "127.0.0.1:$P_SSERVER" -cert "$TMP/cert.pem" -key "$TMP/key.pem"
    -rev -quiet -no-CAfile -no-CApath -no-CAstore)
start c_echo "$BIN/echo_server" -p "$P_C_ECHO" -t 1; PID_C_ECHO=$START_PID
start s_server "${SSERVER_CMD[@]}"; PID_SSERVER=$START_PID
start c_tls "$BIN/echo_server" -p "$P_C_TLS" -t 1 -C "$TMP/cert.pem" -K "$TMP/key.pem"; PID_C_TLS=$START_PID
wait_port "$P_C_ECHO" "$PID_C_ECHO" c_echo
wait_port "$P_SSERVER" "$PID_SSERVER" s_server
wait_port "$P_C_TLS" "$PID_C_TLS" c_tls
if [ "$EXTRA" = 1 ]; then
    start c_echo2 "$BIN/echo_server" -p "$P_C_ECHO2" -t 2; PID_C_ECHO2=$START_PID
    wait_port "$P_C_ECHO2" "$PID_C_ECHO2" c_echo2
fi
if [ "$HAVE_TERN" = 1 ]; then
    tern_config tern1 1 "$P_T1" "$P_T1_TLS"
    start tern1 "$TERND" --config "$TMP/tern1/ternd.toml"; PID_T1=$START_PID
    wait_port "$P_T1" "$PID_T1" tern1
    wait_port "$P_T1_TLS" "$PID_T1" tern1
    if [ "$EXTRA" = 1 ]; then
        tern_config tern2 2 "$P_T2" "$P_T2_TLS"
        start tern2 "$TERND" --config "$TMP/tern2/ternd.toml"; PID_T2=$START_PID
        wait_port "$P_T2" "$PID_T2" tern2
        wait_port "$P_T2_TLS" "$PID_T2" tern2
    fi
fi

# what each TLS server negotiates with the client (printed in the report)
tls_info() { # port
    "$LOADGEN" -m handshake -p "$1" -c 1 -d 0.2 -w 0 -x -v 2>&1 >/dev/null </dev/null | awk '/^tls:/ {sub(/^tls: /, ""); print; exit}'
}
TLS_SSERVER=$(tls_info "$P_SSERVER")
TLS_C=$(tls_info "$P_C_TLS")
TLS_TERN=n/a
[ "$HAVE_TERN" = 1 ] && TLS_TERN=$(tls_info "$P_T1_TLS")

# ---- measuring ----
TCK=$(getconf CLK_TCK)
RAW=$OUT/core-$(date +%Y%m%d-%H%M%S).txt
: >"$RAW"

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# run_load series pid loadgen-args... : one loadgen run against the server with that pid
run_load() {
    local series=$1 pid=$2; shift 2
    local f=$TMP/run.out c0 c1 k
    kill -0 "$pid" 2>/dev/null || die "server of $series (pid $pid) is gone; see $TMP"
    c0=$(cpu_ticks "$pid")
    "$LOADGEN" "$@" >"$f" 2>"$TMP/run.err" || { cat "$TMP/run.err" >&2; die "loadgen failed for $series"; }
    c1=$(cpu_ticks "$pid")
    kill -0 "$pid" 2>/dev/null || die "server of $series (pid $pid) died during the run; see $TMP"
    local ndone errors
    ndone=$(val completed "$f"); errors=$(val errors "$f")
    { echo "# $series: loadgen $*"; cat "$f"; echo "server_cpu_ticks $((c1 - c0))"; } >>"$RAW"
    if [ "${errors:-0}" != 0 ]; then
        log "  warning: $series: $errors errors ($(head -1 "$TMP/run.err"))"
    fi
    for k in accept_rate handshakes_per_s requests_per_s latency_p50_us latency_p99_us; do
        local v
        v=$(val "$k" "$f")
        [ -n "$v" ] && add "$series $k" "$v"
    done
    add "$series errors" "${errors:-0}"
    if [ "${ndone:-0}" -gt 0 ]; then
        add "$series cpu_us" "$(awk -v t=$((c1 - c0)) -v hz="$TCK" -v n="$ndone" 'BEGIN {printf "%.1f", t * 1e6 / hz / n}')"
    fi
}

ACCEPT_ARGS=(-m accept -c $ACCEPT_CONC -S $NSRC -d "$DUR" -w "$WARM")
LAT_ARGS=(-m latency -c $LAT_CONC -d "$DUR" -w "$WARM")
LAT1_ARGS=(-m latency -c 1 -d "$DUR" -w "$WARM")
HS_ARGS=(-m handshake -c $HS_CONC -S $NSRC -d "$DUR" -w "$WARM")

# pairs: each is "series pid loadgen-args"; the order alternates between repetitions
one_rep() { # rep
    local rep=$1
    local -a jobs=()
    if [ "$HAVE_TERN" = 1 ]; then
        jobs+=("tern_accept|$PID_T1|${ACCEPT_ARGS[*]} -p $P_T1")
        jobs+=("c_accept|$PID_C_ECHO|${ACCEPT_ARGS[*]} -p $P_C_ECHO")
        jobs+=("tern_lat|$PID_T1|${LAT_ARGS[*]} -p $P_T1")
        jobs+=("c_lat|$PID_C_ECHO|${LAT_ARGS[*]} -p $P_C_ECHO")
        jobs+=("tern_hs|$PID_T1|${HS_ARGS[*]} -p $P_T1_TLS")
        jobs+=("ssl_hs|$PID_SSERVER|${HS_ARGS[*]} -x -p $P_SSERVER")
    else
        jobs+=("c_accept|$PID_C_ECHO|${ACCEPT_ARGS[*]} -p $P_C_ECHO")
        jobs+=("c_lat|$PID_C_ECHO|${LAT_ARGS[*]} -p $P_C_ECHO")
        jobs+=("ssl_hs|$PID_SSERVER|${HS_ARGS[*]} -x -p $P_SSERVER")
    fi
    if [ "$EXTRA" = 1 ]; then
        jobs+=("ctls_hs|$PID_C_TLS|${HS_ARGS[*]} -p $P_C_TLS")
        if [ "$HAVE_TERN" = 1 ]; then
            jobs+=("tern_lat1|$PID_T1|${LAT1_ARGS[*]} -p $P_T1")
            jobs+=("c_lat1|$PID_C_ECHO|${LAT1_ARGS[*]} -p $P_C_ECHO")
            jobs+=("tern2_hs|$PID_T2|${HS_ARGS[*]} -p $P_T2_TLS")
            jobs+=("tern2_accept|$PID_T2|${ACCEPT_ARGS[*]} -p $P_T2")
            jobs+=("c2_accept|$PID_C_ECHO2|${ACCEPT_ARGS[*]} -p $P_C_ECHO2")
            jobs+=("tern2_lat|$PID_T2|${LAT_ARGS[*]} -p $P_T2")
            jobs+=("c2_lat|$PID_C_ECHO2|${LAT_ARGS[*]} -p $P_C_ECHO2")
        else
            jobs+=("c_lat1|$PID_C_ECHO|${LAT1_ARGS[*]} -p $P_C_ECHO")
            jobs+=("c2_accept|$PID_C_ECHO2|${ACCEPT_ARGS[*]} -p $P_C_ECHO2")
            jobs+=("c2_lat|$PID_C_ECHO2|${LAT_ARGS[*]} -p $P_C_ECHO2")
        fi
    fi
    local n=${#jobs[@]} i j
    for ((i = 0; i < n; i += 2)); do
        local a=${jobs[i]} b=${jobs[i + 1]:-}
        if ((rep % 2 == 0)) && [ -n "$b" ]; then local t=$a; a=$b; b=$t; fi
        for j in "$a" "$b"; do
            [ -n "$j" ] || continue
            local series=${j%%|*} rest=${j#*|}
            local pid=${rest%%|*} args=${rest#*|}
            # shellcheck disable=SC2086
            run_load "$series" "$pid" $args
        done
    done
}

log "figures 1-3: $REPS repetitions of ${WARM}s warm-up + ${DUR}s each..."
for rep in $(seq 1 "$REPS"); do
    log "  repetition $rep/$REPS"
    one_rep "$rep"
done

# ---- figure 4: memory per idle connection (fresh server per repetition) ----
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }

# mem_one series tls(0/1) cmd... : start a fresh server, warm it up, open IDLE_N idle conns
mem_one() {
    local series=$1 tls=$2; shift 2
    local port=$P_MEM mode=idle
    if [ "$tls" = 1 ]; then port=$P_MEM_TLS; mode=idle-tls; fi
    start "mem_$series" "$@"
    local pid=$START_PID
    wait_port "$port" "$pid" "mem_$series"
    # warm-up: a few connections opened and closed, so lazy initialisation is not counted
    "$LOADGEN" -m "$mode" -p "$port" -N 64 -c 16 -H 0.5 >/dev/null 2>&1 </dev/null || true
    sleep 0.3
    local before after lpid i
    before=$(rss_kb "$pid")
    # the client holds its connections until its stdin (a fifo held open here) reaches EOF
    rm -f "$TMP/hold"
    mkfifo "$TMP/hold"
    "$LOADGEN" -m "$mode" -p "$port" -N "$IDLE_N" -c 64 -S 4 -H 120 <"$TMP/hold" >"$TMP/idle.out" 2>"$TMP/idle.err" &
    lpid=$!
    PIDS+=("$lpid")
    exec 9>"$TMP/hold"
    for i in $(seq 1 1200); do
        grep -q '^established' "$TMP/idle.out" && break
        kill -0 "$lpid" 2>/dev/null || break
        sleep 0.1
    done
    sleep 1 # let the server settle
    after=$(rss_kb "$pid")
    exec 9>&- # EOF: the client closes its connections, reports and exits
    for i in $(seq 1 100); do kill -0 "$lpid" 2>/dev/null || break; sleep 0.1; done
    stop "$lpid"
    stop "$pid"
    local est open
    est=$(awk '$1 == "established" {print $2}' "$TMP/idle.out")
    open=$(awk '$1 == "still_open" {print $2}' "$TMP/idle.out")
    if [ -n "$est" ] && [ "${open:-0}" != "$est" ]; then
        log "  warning: $series: the server closed $((est - ${open:-0})) of the idle connections"
    fi
    { echo "# mem $series tls=$tls"; cat "$TMP/idle.out"; echo "rss_before_kb $before"; echo "rss_after_kb $after"; } >>"$RAW"
    if [ "${est:-0}" != "$IDLE_N" ]; then
        log "  warning: $series: only $(cat "$TMP/idle.out" | tr '\n' ' ') ($(head -1 "$TMP/idle.err"))"
        add "$series kb" nan
        return
    fi
    add "$series kb" "$(awk -v a="$after" -v b="$before" -v n="$IDLE_N" 'BEGIN {printf "%.2f", (a - b) / n}')"
    add "$series rss_mb" "$(awk -v a="$after" 'BEGIN {printf "%.1f", a / 1024}')"
}

log "figure 4: $MEM_REPS repetitions of $IDLE_N idle connections..."
for rep in $(seq 1 "$MEM_REPS"); do
    log "  repetition $rep/$MEM_REPS"
    if [ "$HAVE_TERN" = 1 ]; then
        tern_config tern_mem 1 "$P_MEM" "$P_MEM_TLS"
        mem_one tern_idle_tls 1 "$TERND" --config "$TMP/tern_mem/ternd.toml"
    fi
    mem_one c_idle_tls 1 "$BIN/echo_server" -p "$P_MEM_TLS" -C "$TMP/cert.pem" -K "$TMP/key.pem"
    if [ "$EXTRA" = 1 ]; then
        if [ "$HAVE_TERN" = 1 ]; then
            rm -rf "$TMP/tern_mem/data"
            mem_one tern_idle 0 "$TERND" --config "$TMP/tern_mem/ternd.toml"
        fi
        mem_one c_idle 0 "$BIN/echo_server" -p "$P_MEM"
    fi
done

# ---- report ----
# stats "series key" -> "median min max" (or empty)
ROWFMT='%-34s %-24s %-24s %-8s %s\n'
row() { # label tern-series ref-series key goal-op goal-limit goal-text
    local ts rs r
    ts=$(stats "$2 $4"); rs=$(stats "$3 $4")
    r=$(ratio "$ts" "$rs")
    [ "$4" = rss_mb ] && r=- # different baselines: the ratio means nothing
    local goal=""
    if [ -n "${5:-}" ] && [ "$r" != n/a ]; then goal="goal $5 $6: $(verdict "$r" "$5" "$6")"; fi
    # shellcheck disable=SC2059
    printf "$ROWFMT" "$1" "$(fmt "$ts")" "$(fmt "$rs")" "$r" "$goal"
}

echo
echo "Tern event-loop core vs references (loopback, $(nproc) cores; median [min-max] of $REPS runs, memory of $MEM_REPS)"
echo "ternd: $([ "$HAVE_TERN" = 1 ] && echo "$TERND" || echo "not measured (TERND=skip)")"
echo "load average: $LOAD1 at the start, $(cut -d' ' -f1 /proc/loadavg) at the end (above ~0.5 something else shared the CPUs)"
echo "certificate: $CERT_TYPE; $ACCEPT_CONC accept slots, $LAT_CONC latency conns, $HS_CONC handshake workers; ${DUR}s per run"
echo
# shellcheck disable=SC2059
printf "$ROWFMT" "figure" "Tern" "reference" "ratio" "goal"
echo "1. accept rate (conn/s)            [Tern event_loops=1 vs C epoll echo_server, 1 thread]"
row "   connect+line+echo+close /s" tern_accept c_accept accept_rate
row "   server CPU us per connection" tern_accept c_accept cpu_us
echo "2. round trip, $LAT_CONC conns x 64-byte line  [Tern event_loops=1 vs C epoll echo_server, 1 thread]"
row "   latency p50 (us)" tern_lat c_lat latency_p50_us "<=" 1.2
row "   latency p99 (us)" tern_lat c_lat latency_p99_us "<=" 1.2
row "   requests/s" tern_lat c_lat requests_per_s
row "   server CPU us per request" tern_lat c_lat cpu_us
if [ "$EXTRA" = 1 ]; then
    row "   extra: 1 conn, latency p50 (us)" tern_lat1 c_lat1 latency_p50_us
    row "   extra: 1 conn, latency p99 (us)" tern_lat1 c_lat1 latency_p99_us
fi
echo "3. full TLS handshakes/s           [Tern echo_tls event_loops=1 vs openssl s_server]"
echo "   negotiated: Tern $TLS_TERN; s_server $TLS_SSERVER; C epoll+OpenSSL $TLS_C"
row "   handshakes/s" tern_hs ssl_hs handshakes_per_s ">=" 0.9
row "   server CPU us per handshake" tern_hs ssl_hs cpu_us
if [ "$EXTRA" = 1 ]; then
    row "   Tern 2 loops vs s_server" tern2_hs ssl_hs handshakes_per_s
    row "   Tern 1 loop vs C epoll+OpenSSL" tern_hs ctls_hs handshakes_per_s
    row "   CPU us/hs vs C epoll+OpenSSL" tern_hs ctls_hs cpu_us
fi
echo "4. memory per idle TLS connection  [$IDLE_N conns; Tern event_loops=1 vs C epoll+OpenSSL echo_server]"
row "   RSS growth per connection (KB)" tern_idle_tls c_idle_tls kb
row "   RSS with all open (MB)" tern_idle_tls c_idle_tls rss_mb
echo "   Tern goal: <= 40 KB per connection: $(verdict "$(med "$(stats "tern_idle_tls kb")")" "<=" 40)" \
    "(openssl s_server serves one connection at a time: no figure)"
if [ "$EXTRA" = 1 ]; then
    echo "extra: 2 loops / 2 threads         [Tern event_loops=2 vs C epoll echo_server -t 2]"
    row "   accept rate (conn/s)" tern2_accept c2_accept accept_rate
    row "   latency p50 (us)" tern2_lat c2_lat latency_p50_us
    row "   latency p99 (us)" tern2_lat c2_lat latency_p99_us
    row "   requests/s" tern2_lat c2_lat requests_per_s
    echo "extra: memory per idle plain TCP connection"
    row "   RSS growth per connection (KB)" tern_idle c_idle kb
fi
errs=0
for k in "${!R[@]}"; do
    case $k in *" errors") for v in ${R[$k]}; do errs=$((errs + v)); done ;; esac
done
echo
echo "client errors over all runs: $errs; raw results: $RAW"
