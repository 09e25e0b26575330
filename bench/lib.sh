# bench/lib.sh - what every bench/*/run.sh shares: logging, the processes it starts (killed on exit), loopback
# ports, and the statistics of repeated runs (median [min-max], ratios, goal verdicts). Sourced, not run.
# Expects TMP (the run's temporary folder) to be set before anything is started.

log() { printf '%s\n' "$*" >&2; }
die() { log "run.sh: $*"; exit 1; }

PIDS=()
cleanup() {
    local p
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    if [ -n "${TMP:-}" ]; then
        if [ "${KEEP_TMP:-0}" = 1 ]; then log "kept $TMP"; else rm -rf "$TMP"; fi
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_port() { # port pid name: up to 15 s; the server's log is $TMP/name.log
    local i
    for i in $(seq 1 300); do
        port_open "$1" && return 0
        kill -0 "$2" 2>/dev/null || { tail -20 "$TMP/$3.log" >&2; die "$3 exited before listening on $1"; }
        sleep 0.05
    done
    tail -20 "$TMP/$3.log" >&2
    die "$3 is not listening on port $1 after 15 s"
}
START_PID=
start() { # name cmd... ; logs to $TMP/name.log, sets START_PID
    local name=$1; shift
    "$@" </dev/null >"$TMP/$name.log" 2>&1 &
    START_PID=$!
    PIDS+=("$START_PID")
}
stop() { kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }

# Results: R[key] is a space-separated series, one value per repetition.
declare -A R
val() { awk -v k="$1" '$1 == k {print $2}' "$2"; } # key file: the value on the line starting with key
add() { R["$1"]="${R["$1"]:-} $2"; }
stats() { # key -> "median min max"
    local v=${R["$1"]:-}
    [ -n "$v" ] || return 0
    printf '%s\n' $v | sort -g | awk '{a[NR] = $1} END {
        m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2
        printf "%s %s %s", m, a[1], a[NR] }'
}
fmt() { # "median min max" -> "median [min-max]" (just the median when all runs agree)
    [ -n "$1" ] || { printf 'n/a'; return; }
    awk -v s="$1" 'BEGIN { split(s, x, " "); d = (x[1] >= 1000 || x[1] == int(x[1])) ? 0 : 1
        if (x[2] == x[3]) printf "%.*f", d, x[1]; else printf "%.*f [%.*f-%.*f]", d, x[1], d, x[2], d, x[3] }'
}
med() { if [ -n "$1" ]; then echo "${1%% *}"; fi; }
ratio() { # tern-stats ref-stats -> "1.23x"
    local a b
    a=$(med "$1"); b=$(med "$2")
    if [ -n "$a" ] && [ -n "$b" ]; then awk -v a="$a" -v b="$b" 'BEGIN { if (b > 0) printf "%.2fx", a / b; else printf "n/a" }'
    else printf 'n/a'; fi
}
verdict() { # value op limit -> ok / MISSED
    [ -n "$1" ] || { printf -- '-'; return; }
    awk -v v="${1%x}" -v op="$2" -v l="$3" 'BEGIN { ok = (op == "<=") ? (v <= l) : (v >= l); printf "%s", ok ? "ok" : "MISSED" }'
}
