# Shared by postgres-test-server.sh and pgbouncer-test-server.sh (sourced, not run).

# Runs a command as the `postgres` user when we are root (neither server runs as root).
as_owner() {
    if [[ $(id -u) -eq 0 ]]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

# The server must not inherit our caller's descriptors: a test runner that waits for this
# script's output (or watches a pipe to see it exit) would otherwise wait for the server too.
close_inherited_fds() {
    local fd
    for fd in /proc/$$/fd/*; do
        fd=${fd##*/}
        if ((fd > 2 && fd != 255)); then eval "exec ${fd}>&-" 2>/dev/null || true; fi
    done
}
