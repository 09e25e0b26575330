#!/usr/bin/env bash
# bench/migrate/run.sh - `ternctl migrate` against mbsync (isync), both copying the same account from the same
# private Dovecot into the same running ternd, on loopback, in one run.
#
# The old server: Debian's Dovecot (dovecot-imapd 2.3), imaps on 127.0.0.1, one account holding N generated
# messages (gen_maildir.py: varied sizes, ~11 KB on average, ~55 MB for the default 5,000; seven folders, flags,
# internal dates), its indexes built before anything is timed. The new server: ternd (release build), imaps.
# Each repetition copies the whole account twice, into two fresh accounts of the same ternd, alternating which
# tool goes first:
#   ternctl migrate   `ternctl migrate NEW --login old@example.com --from imaps://127.0.0.1:PORT --fingerprint FP
#                     --create`: reads the old server over IMAP, writes into the account's store itself (ternd runs
#                     meanwhile; the account is created by the command, as in a real move)
#   mbsync            isync 1.4 with an mbsyncrc generated here: both stores IMAPS (CertificateFile: the shared
#                     self-signed certificate), the old folders as Patterns, `Sync Pull`, `Create Near`,
#                     `CopyArrivalDate yes`, `Expunge None`, SyncState in the temporary folder; it reads the old
#                     server and APPENDs to ternd over IMAP (the account made before with `ternctl user add`, not
#                     timed)
# Timed: the whole command, from start to exit (connections, logins, listing, copying, durable commits). Reported:
# messages/s and MB/s (the old server's size of the messages, CRLF line ends, as copied over the wire), median
# [min-max] of REPS, and the ratio Tern/mbsync. Goal: Tern >= 1.5x mbsync. After each copy the target account is
# counted (`ternctl mailbox list`): every message must be there, or the run fails.
#
# Needs: dovecot-imapd (/usr/sbin/dovecot, doveadm), isync (mbsync), python3, openssl (the command), awk, the
# system user mail, and Swift to build ternd/ternctl unless TERND and TERNCTL are given. Run it as root (Dovecot's
# master must). Installs nothing and changes no system setting; everything (configs, both servers' mail, logs,
# mbsync's state) lives in a temporary folder; talks to 127.0.0.1 only; kills everything it started when it exits.
#
# Environment:
#   TERND=/path/to/ternd TERNCTL=/path/to/ternctl   use these binaries instead of building them
#   N=5000              messages in the old account
#   REPS=3              repetitions (each copies the account once with each tool)
#   SEED=1              of the generated mail
#   TIMEOUT=900         seconds at most for one copy
#   PORT_BASE=18700     first of the 2 loopback ports used (Dovecot, Tern)
#   KEEP_TMP=1          keep the temporary directory
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BENCH=$(dirname "$HERE")
# shellcheck source=../lib.sh
. "$BENCH/lib.sh"
ROOT=$(dirname "$BENCH")
OUT=$BENCH/out

N=${N:-5000}
REPS=${REPS:-3}
SEED=${SEED:-1}
TIMEOUT=${TIMEOUT:-900}
PORT_BASE=${PORT_BASE:-18700}
DOVECOT=${DOVECOT:-/usr/sbin/dovecot}
MBSYNC=${MBSYNC:-mbsync}
PASSWORD=Old-Password-1x
OLD=old@example.com
P_DOVE=$PORT_BASE
P_TERN=$((PORT_BASE + 1))

for tool in openssl awk python3 timeout doveadm; do command -v "$tool" >/dev/null || die "needs $tool"; done
command -v "$MBSYNC" >/dev/null || die "needs mbsync (Debian package isync)"
[ -x "$DOVECOT" ] || die "needs dovecot-imapd ($DOVECOT)"
[ "$(id -u)" = 0 ] || die "run it as root: Dovecot's master must start as root"
id mail >/dev/null 2>&1 || die "needs the system user 'mail' (owner of Dovecot's mail here)"

# ---- build ----
mkdir -p "$OUT"
TERND=${TERND:-}
TERNCTL=${TERNCTL:-}
if [ -z "$TERND" ]; then
    log "building ternd and ternctl (swift build -c release --scratch-path .build-bench)..."
    (cd "$ROOT" && swift build -c release --scratch-path "$ROOT/.build-bench" --product ternd >&2 &&
        swift build -c release --scratch-path "$ROOT/.build-bench" --product ternctl >&2) || die "swift build failed"
    TERND=$ROOT/.build-bench/release/ternd
    TERNCTL=$ROOT/.build-bench/release/ternctl
fi
[ -n "$TERNCTL" ] || TERNCTL=$(dirname "$TERND")/ternctl
[ -x "$TERND" ] || die "TERND=$TERND is not an executable"
[ -x "$TERNCTL" ] || die "TERNCTL=$TERNCTL is not an executable"

# ---- processes ----
TMP=$(mktemp -d /tmp/tern-bench-migrate.XXXXXX)
chmod 755 "$TMP" # Dovecot's imap processes run as "mail" and must reach their folders
LOAD1=$(cut -d' ' -f1 /proc/loadavg)
if awk -v l="$LOAD1" 'BEGIN {exit !(l > 0.7)}'; then
    log "run.sh: warning: load average is $LOAD1; something else is using the CPUs and the figures will be noisy"
fi
for p in $P_DOVE $P_TERN; do port_open "$p" && die "port $p is already in use (set PORT_BASE)"; done

# one self-signed certificate for both servers; ternctl pins it, mbsync trusts it through CertificateFile and checks
# its name against the host it connects to, hence 127.0.0.1
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$TMP/key.pem" \
    -out "$TMP/cert.pem" -days 2 -subj /CN=127.0.0.1 -addext subjectAltName=DNS:127.0.0.1,IP:127.0.0.1 2>/dev/null
chmod 644 "$TMP/key.pem"
FINGERPRINT=$(openssl x509 -noout -fingerprint -sha256 -in "$TMP/cert.pem" | cut -d= -f2)

# ---- the old server: Dovecot, everything under $TMP/dovecot ----
D=$TMP/dovecot
mkdir -p "$D/run" "$D/state" "$D/mail"
log "generating $N messages into the old account..."
python3 "$HERE/gen_maildir.py" "$D/mail/$OLD/Maildir" "$N" "$SEED" >"$TMP/generated.txt"
chown -R mail:mail "$D/mail"
cat >"$D/dovecot.conf" <<EOF
# generated by bench/migrate/run.sh
base_dir = $D/run
state_dir = $D/state
log_path = $D/dovecot.log
info_log_path = /dev/null
protocols = imap
listen = 127.0.0.1
ssl = required
ssl_cert = <$TMP/cert.pem
ssl_key = <$TMP/key.pem
disable_plaintext_auth = yes
auth_mechanisms = plain login
default_internal_user = dovecot
default_internal_group = dovecot
default_login_user = dovenull
first_valid_uid = 8
mail_location = maildir:~/Maildir
namespace inbox {
  inbox = yes
  separator = /
}
passdb {
  driver = passwd-file
  args = $D/passwd
}
userdb {
  driver = static
  args = uid=mail gid=mail home=$D/mail/%u
}
protocol imap {
  mail_max_userip_connections = 100
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
}
EOF
printf '%s:{PLAIN}%s\n' "$OLD" "$PASSWORD" >"$D/passwd"
start dovecot "$DOVECOT" -F -c "$D/dovecot.conf"; PID_DOVE=$START_PID
wait_port "$P_DOVE" "$PID_DOVE" dovecot
# Dovecot's indexes and caches, built now rather than by the first copy: "messages vsize" reads every message.
doveadm -c "$D/dovecot.conf" mailbox status -u "$OLD" "messages vsize" '*' >"$TMP/old-status.txt" ||
    die "doveadm mailbox status failed"
total() { # field -> its sum over the folders doveadm listed ("messages=12 vsize=3456" per line)
    awk -v k="$1=" '{for (i = 1; i <= NF; i++) if (index($i, k) == 1) s += substr($i, length(k) + 1)} END {print s + 0}' \
        "$TMP/old-status.txt"
}
OLD_MESSAGES=$(total messages)
OLD_BYTES=$(total vsize)
[ "$OLD_MESSAGES" = "$N" ] || { cat "$TMP/old-status.txt" >&2; die "the old account holds $OLD_MESSAGES messages, not $N"; }

# ---- the new server: ternd ----
mkdir -p "$TMP/tern"
CONF=$TMP/tern/ternd.toml
cat >"$CONF" <<EOF
data_dir = "$TMP/tern/data"
hostname = "localhost"
user = "$(id -un)"
log_level = "warning"

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
EOF
"$TERNCTL" domain add --config "$CONF" example.com >"$TMP/ternctl.log" 2>&1 ||
    { cat "$TMP/ternctl.log" >&2; die "ternctl domain add failed"; }
start tern "$TERND" --config "$CONF"; PID_TERN=$START_PID
wait_port "$P_TERN" "$PID_TERN" tern

# mbsync copies the old folders by name: with "Patterns *" it would also take Tern's own Junk and Trash for boxes
# to sync, and fail because they are missing on the old side (Create Far is not wanted)
FOLDERS=$(awk '$1 == "folder" {printf "%s%s", sep, $2; sep = " "}' "$TMP/generated.txt")

# ---- measuring ----
RAW=$OUT/migrate-$(date +%Y%m%d-%H%M%S).txt
{ cat "$TMP/generated.txt"; echo "old_messages $OLD_MESSAGES"; echo "old_vsize $OLD_BYTES"; } >"$RAW"
now() { date +%s.%N; }
# shellcheck disable=SC2034 # read by cleanup in lib.sh
fail() { KEEP_TMP=1; die "$* (kept $TMP)"; }
count_messages() { # account -> messages in its store
    "$TERNCTL" mailbox list --config "$CONF" --json "$1" |
        python3 -c 'import json, sys; print(sum(row["messages"] for row in json.load(sys.stdin)))'
}
alive() { kill -0 "$1" 2>/dev/null || fail "$2 (pid $1) is gone"; }
record() { # tool seconds account
    local got
    got=$(count_messages "$3")
    [ "$got" = "$N" ] || fail "$1 left $got of $N messages in $3"
    add "$1 seconds" "$2"
    add "$1 msgs_per_s" "$(awk -v n="$N" -v s="$2" 'BEGIN {printf "%.1f", n / s}')"
    add "$1 mb_per_s" "$(awk -v b="$OLD_BYTES" -v s="$2" 'BEGIN {printf "%.2f", b / 1e6 / s}')"
    echo "# $1 rep=$rep account=$3 seconds $2 messages $got" >>"$RAW"
}
run_tern() {
    local account=tm$rep@example.com t0 t1
    t0=$(now)
    printf '%s\n' "$PASSWORD" | timeout "$TIMEOUT" "$TERNCTL" migrate --config "$CONF" "$account" --login "$OLD" \
        --from "imaps://127.0.0.1:$P_DOVE" --fingerprint "$FINGERPRINT" --password-stdin --create --json \
        >"$TMP/migrate.json" 2>"$TMP/migrate.err" || { cat "$TMP/migrate.err" >&2; fail "ternctl migrate failed"; }
    t1=$(now)
    cat "$TMP/migrate.json" >>"$RAW"
    record tern "$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.3f", b - a}')" "$account"
}
run_mbsync() {
    local account=mb$rep@example.com t0 t1
    printf '%s\n' "$PASSWORD" | "$TERNCTL" user add --config "$CONF" "$account" --password-stdin >/dev/null \
        2>>"$TMP/ternctl.log" || die "ternctl user add $account failed"
    mkdir -p "$TMP/mbsync/$rep"
    cat >"$TMP/mbsync/rc$rep" <<EOF
IMAPAccount old
Host 127.0.0.1
Port $P_DOVE
User $OLD
Pass $PASSWORD
SSLType IMAPS
CertificateFile $TMP/cert.pem

IMAPStore old
Account old

IMAPAccount tern
Host 127.0.0.1
Port $P_TERN
User $account
Pass $PASSWORD
SSLType IMAPS
CertificateFile $TMP/cert.pem

IMAPStore tern
Account tern

Channel copy
Far :old:
Near :tern:
Patterns $FOLDERS
Create Near
Sync Pull
Expunge None
CopyArrivalDate yes
SyncState $TMP/mbsync/$rep/
EOF
    t0=$(now)
    timeout "$TIMEOUT" "$MBSYNC" -c "$TMP/mbsync/rc$rep" -q copy >"$TMP/mbsync.out" 2>&1 ||
        { cat "$TMP/mbsync.out" >&2; fail "mbsync failed"; }
    t1=$(now)
    record mbsync "$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.3f", b - a}')" "$account"
}
for rep in $(seq 1 "$REPS"); do
    order=(tern mbsync)
    if ((rep % 2 == 0)); then order=(mbsync tern); fi
    for tool in "${order[@]}"; do
        log "repetition $rep/$REPS: $tool copies $N messages..."
        "run_$tool"
        alive "$PID_TERN" ternd
        alive "$PID_DOVE" dovecot
    done
done

# ---- report ----
ROWFMT='%-22s %-24s %-24s %-8s %s\n'
row() { # label key [goal-op goal-limit]
    local ts ms r goal=""
    ts=$(stats "tern $2"); ms=$(stats "mbsync $2")
    r=$(ratio "$ts" "$ms")
    if [ -n "${3:-}" ] && [ "$r" != n/a ]; then goal="goal $3 $4: $(verdict "$r" "$3" "$4")"; fi
    # shellcheck disable=SC2059
    printf "$ROWFMT" "$1" "$(fmt "$ts")" "$(fmt "$ms")" "$r" "$goal"
}
echo
MBSYNC_VERSION=$("$MBSYNC" --version 2>/dev/null | awk '{print $2}')
DOVECOT_VERSION=$("$DOVECOT" --version | cut -d' ' -f1)
echo "ternctl migrate vs mbsync $MBSYNC_VERSION: one account from Dovecot $DOVECOT_VERSION into ternd, imaps on" \
    "loopback, $(nproc) cores"
echo "old account: $N messages, $(awk -v b="$OLD_BYTES" 'BEGIN {printf "%.1f", b / 1e6}') MB (CRLF)," \
    "$(grep -c '^folder' "$TMP/generated.txt") folders; median [min-max] of $REPS runs, alternating who goes first"
echo "ternd: $TERND"
echo "load average: $LOAD1 at the start, $(cut -d' ' -f1 /proc/loadavg) at the end (above ~0.5 something else shared the CPUs)"
echo
# shellcheck disable=SC2059
printf "$ROWFMT" "figure" "ternctl migrate" "mbsync" "ratio" "goal"
row "messages/s" "msgs_per_s" ">=" 1.5
row "MB/s" "mb_per_s"
row "seconds (lower wins)" "seconds"
echo
echo "raw results: $RAW"
