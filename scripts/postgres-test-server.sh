#!/usr/bin/env bash
# A throwaway PostgreSQL cluster on 127.0.0.1 for the tests and benchmarks.
#
#   scripts/postgres-test-server.sh start DIR [fast]  prints the server's URL on stdout
#   scripts/postgres-test-server.sh restart DIR       restarts it (fast shutdown), same port
#   scripts/postgres-test-server.sh stop DIR          stops it and removes DIR
#
# Installs PostgreSQL from Debian when it is missing (apt-get update first). The cluster lives in
# DIR (a temporary folder), listens on a free port on 127.0.0.1 only, and asks for a password
# over TCP (so a wrong password is a real error). initdb refuses to run as root, so when root
# runs this, the cluster is created and run as the `postgres` user. `fast` turns fsync off
# (tests: a crash loses the throwaway cluster anyway); the benchmarks keep the defaults.
set -euo pipefail

command=${1:?start or stop}
dir=${2:?a directory}

find_bin() {
    local found
    found=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
    if [[ -z "$found" ]]; then
        echo "PostgreSQL is not installed; installing it from Debian" >&2
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq >&2
        apt-get install -y -qq postgresql >&2
        found=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
    fi
    [[ -n "$found" ]] || { echo "PostgreSQL could not be installed" >&2; exit 1; }
    echo "$found"
}

# as_owner and close_inherited_fds.
source "$(dirname "$0")/test-server-lib.sh"

case "$command" in
start)
    bin=$(find_bin)
    if [[ $(id -u) -eq 0 ]] && ! id postgres >/dev/null 2>&1; then
        useradd --system --home-dir /var/lib/postgresql --shell /bin/bash postgres
    fi
    mkdir -p "$dir"
    password=dispatcher-test
    echo "$password" > "$dir/pwfile"
    [[ $(id -u) -eq 0 ]] && chown -R postgres "$dir"
    chmod 700 "$dir"
    as_owner "$bin/initdb" -D "$dir/data" -U postgres --pwfile="$dir/pwfile" --auth-local=trust \
        --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
        || { cat "$dir/initdb.log" >&2; exit 1; }
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    options="-c listen_addresses=127.0.0.1 -p $port -k $dir -c max_connections=400"
    if [[ "${3:-}" == fast ]]; then
        options="$options -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    fi
    (close_inherited_fds && as_owner "$bin/pg_ctl" -D "$dir/data" -o "$options" -l "$dir/server.log" -w -t 60 \
        start </dev/null >/dev/null 2>&1) || { cat "$dir/server.log" >&2; exit 1; }
    echo "$port" > "$dir/port"
    echo "postgres://postgres:$password@127.0.0.1:$port/postgres?sslmode=disable"
    ;;
restart)
    bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
    (close_inherited_fds && as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w -t 60 restart </dev/null >/dev/null 2>&1)
    ;;
stop)
    if [[ -d "$dir/data" ]]; then
        bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
        as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$dir"
    ;;
*)
    echo "usage: $0 start|restart|stop DIR [fast]" >&2
    exit 2
    ;;
esac
