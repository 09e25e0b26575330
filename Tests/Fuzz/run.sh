#!/usr/bin/env bash
# Builds the libFuzzer targets with coverage and AddressSanitizer and runs each for SECONDS (default 60) on its
# seed corpus in Fixtures/fuzz/<name>/ (new interesting inputs go to a scratch corpus, not into the repository).
# Usage: Tests/Fuzz/run.sh [SECONDS] ["framer sasl imap-command imap-response mime smtp-command pop3-command", or some of them]
set -euo pipefail
cd "$(dirname "$0")"
seconds=${1:-60}
targets=${2:-"framer sasl imap-command imap-response mime smtp-command pop3-command"}
swift build -c release -Xswiftc -sanitize=fuzzer,address >&2
for name in $targets; do
    scratch=$(mktemp -d)
    cp ../../Fixtures/fuzz/"$name"/* "$scratch"/ 2>/dev/null || true
    echo "== fuzz-$name for ${seconds}s"
    .build/release/fuzz-"$name" -max_total_time="$seconds" -max_len=4096 "$scratch" 2>&1 | tail -3
    rm -rf "$scratch"
done
