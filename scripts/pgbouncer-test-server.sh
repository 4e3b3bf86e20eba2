#!/usr/bin/env bash
# A throwaway pgbouncer on 127.0.0.1 in front of the test PostgreSQL server, for the tests and
# benchmarks that run the dispatcher through a connection pooler.
#
#   scripts/pgbouncer-test-server.sh start DIR POSTGRES_URL session|transaction
#                                             prints the pooler's URL (same user, password and
#                                             database as POSTGRES_URL) on stdout
#   scripts/pgbouncer-test-server.sh stop DIR stops it and removes DIR
#
# Installs pgbouncer from Debian when it is missing (apt-get update first). Apart from where it
# listens, how it authenticates and its pool_mode, pgbouncer keeps its default settings — the
# ones a new user meets: no extra startup parameters allowed (ignore_startup_parameters empty),
# no prepared-statement support, default pool sizes. Every database name is passed through to
# the server (a `*` entry), so a test's fresh database is reachable through the pooler at once.
# pgbouncer refuses to run as root; then it runs as the `postgres` user.
set -euo pipefail

command=${1:?start or stop}
dir=${2:?a directory}

# as_owner and close_inherited_fds.
source "$(dirname "$0")/test-server-lib.sh"

case "$command" in
start)
    url=${3:?the PostgreSQL URL to pool}
    mode=${4:?session or transaction}
    [[ "$mode" == session || "$mode" == transaction ]] || { echo "mode must be session or transaction" >&2; exit 2; }
    if ! command -v pgbouncer >/dev/null 2>&1 && [[ ! -x /usr/sbin/pgbouncer ]]; then
        echo "pgbouncer is not installed; installing it from Debian" >&2
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq >&2
        apt-get install -y -qq pgbouncer >&2
    fi
    bin=$(command -v pgbouncer || echo /usr/sbin/pgbouncer)
    [[ -x "$bin" ]] || { echo "pgbouncer could not be installed" >&2; exit 1; }
    # postgres://USER:PASS@HOST:PORT/DB?…
    rest=${url#*://}
    credentials=${rest%%@*}
    user=${credentials%%:*}
    password=${credentials#*:}
    location=${rest#*@}
    hostport=${location%%/*}
    server_host=${hostport%:*}
    server_port=${hostport##*:}
    path=${location#*/}
    database=${path%%\?*}
    mkdir -p "$dir"
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    printf '"%s" "%s"\n' "$user" "$password" > "$dir/userlist.txt"
    cat > "$dir/pgbouncer.ini" <<EOF
[databases]
* = host=$server_host port=$server_port

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $port
unix_socket_dir =
auth_type = scram-sha-256
auth_file = $dir/userlist.txt
pool_mode = $mode
logfile = $dir/pgbouncer.log
pidfile = $dir/pgbouncer.pid
EOF
    [[ $(id -u) -eq 0 ]] && chown -R postgres "$dir"
    chmod 700 "$dir"
    (close_inherited_fds && as_owner "$bin" -d "$dir/pgbouncer.ini" </dev/null >/dev/null 2>&1) \
        || { cat "$dir/pgbouncer.log" >&2 2>/dev/null; exit 1; }
    # Up once it accepts connections (a bounded wait).
    for _ in $(seq 1 100); do
        if python3 -c "import socket,sys; socket.create_connection(('127.0.0.1', $port), 0.2)" 2>/dev/null; then
            echo "postgres://$user:$password@127.0.0.1:$port/$database?sslmode=disable"
            exit 0
        fi
        sleep 0.05
    done
    echo "pgbouncer did not start listening on 127.0.0.1:$port" >&2
    cat "$dir/pgbouncer.log" >&2 2>/dev/null || true
    exit 1
    ;;
stop)
    if [[ -f "$dir/pgbouncer.pid" ]]; then
        pid=$(cat "$dir/pgbouncer.pid")
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 1 100); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.05
        done
        kill -9 "$pid" 2>/dev/null || true
    fi
    rm -rf "$dir"
    ;;
*)
    echo "usage: $0 start DIR POSTGRES_URL session|transaction | stop DIR" >&2
    exit 2
    ;;
esac
