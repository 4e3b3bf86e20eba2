#!/usr/bin/env bash
# Sets up and runs the dispatcher on the embedded SQLite default.
#
#   scripts/quickstart.sh                       demo: a local JSON-RPC upstream, 1,000 jobs, run to completion
#   UPSTREAM=http://host:port/ scripts/quickstart.sh   run the daemon against your upstream (Ctrl-C stops it)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/ensure-sqlite.sh
# The Swift runtime is linked in statically: the binary runs where no toolchain is installed,
# and starts faster (single enqueues are dominated by process start-up). The manifest lists the
# migrations folders, so it is evaluated afresh: a cached evaluation would miss a new migration.
swift build -c release --static-swift-stdlib --manifest-cache none --product dispatcher
bin=.build/release/dispatcher
export DISPATCHER_DB="${DISPATCHER_DB:-$PWD/dispatcher.db}"

if [ -n "${UPSTREAM:-}" ]; then
    exec "$bin" run --upstream "$UPSTREAM" --workers "${WORKERS:-8}"
fi

swift build -c release --static-swift-stdlib --manifest-cache none --product dispatcher-upstream-stub
stub_out=$(mktemp)
.build/release/dispatcher-upstream-stub 0 1 > "$stub_out" &
stub_pid=$!
trap 'kill "$stub_pid" 2>/dev/null || true; rm -f "$stub_out"' EXIT
for _ in $(seq 1 100); do [ -s "$stub_out" ] && break; sleep 0.05; done
port=$(head -n1 "$stub_out")

echo "== enqueue 1,000 jobs into $DISPATCHER_DB"
seq 1 1000 | sed 's/.*/{"method":"demo_echo","params":[&]}/' | "$bin" enqueue --batch --quiet
echo "== dispatcher run --workers 8 --exit-when-idle (upstream http://127.0.0.1:$port/)"
"$bin" run --upstream "http://127.0.0.1:$port/" --workers 8 --exit-when-idle
echo "== dispatcher stats"
"$bin" stats
echo "== dispatcher list --limit 3"
"$bin" list --limit 3
