#!/usr/bin/env bash
# Installs the real third-party servers the end-to-end tests run against besides our own stubs,
# from Debian, when they are missing:
#   aria2 — a JSON-RPC 2.0 server over HTTP with basic auth (Tests/DispatcherTests/Daemon/Aria2Tests)
#   sqlite3 — SQLite's own shell, the "any program" that enqueues through the `enqueue` view
#             (Tests/DispatcherTests/Store/SQLiteEnqueueViewTests)
set -euo pipefail
missing=()
command -v aria2c >/dev/null 2>&1 || missing+=(aria2)
command -v sqlite3 >/dev/null 2>&1 || missing+=(sqlite3)
if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi
echo "installing test peers from Debian: ${missing[*]}" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
