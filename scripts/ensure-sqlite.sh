#!/usr/bin/env bash
# Installs SQLite's development files (the CSQLite module's header) when they are missing.
set -euo pipefail
if [ -f /usr/include/sqlite3.h ]; then
    exit 0
fi
echo "sqlite3.h not found: installing libsqlite3-dev" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
$SUDO apt-get update
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y libsqlite3-dev
