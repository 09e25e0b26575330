#!/usr/bin/env bash
# Logins/s with and without Tern's verified-login cache. Builds a release binary in bench/auth/.build (git-ignored).
# Usage: bench/auth/run.sh [SECONDS_PER_MEASUREMENT]
set -euo pipefail
cd "$(dirname "$0")"
swift build -c release >&2
for repetition in 1 2 3; do
    echo "# repetition $repetition"
    .build/release/tern-bench-auth "${1:-3}"
done
