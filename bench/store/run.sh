#!/usr/bin/env bash
# Store delivery rate against the disk's raw durable-write rate, same run; then SEARCH over 50,000 messages.
# Usage: bench/store/run.sh [SECONDS] [SEARCH_MESSAGES]
# BENCH_DIR chooses the file system measured (default: the temp folder).
set -euo pipefail
cd "$(dirname "$0")"
swift build -c release >&2
for repetition in 1 2 3; do
    echo "# repetition $repetition"
    .build/release/tern-bench-store "${1:-3}"
done
echo "# search"
.build/release/tern-bench-search "${2:-50000}" 200
