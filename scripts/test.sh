#!/usr/bin/env bash
# Sets up and runs the whole test suite: unit tests, loopback WorkerPool tests, the store
# conformance suite and the end-to-end tests that drive the built `dispatcher` binary, against
# SQLite and against a throwaway PostgreSQL cluster on 127.0.0.1.
#
# PostgreSQL is installed from Debian when missing and started in a temporary folder on a free
# port (scripts/postgres-test-server.sh); it is stopped on exit. Under CI=true a PostgreSQL that
# cannot start fails the run; elsewhere its tests are skipped with a message. Set
# DISPATCHER_TEST_POSTGRES_URL yourself to use a server of your own instead.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/ensure-sqlite.sh

if [[ -z "${DISPATCHER_TEST_POSTGRES_URL:-}" ]]; then
    pg_dir=$(mktemp -d /tmp/dispatcher-test-pg.XXXXXX)
    server_script="$PWD/scripts/postgres-test-server.sh"
    trap '"$server_script" stop "$pg_dir" || true' EXIT
    trap 'exit 130' INT TERM
    if url=$(scripts/postgres-test-server.sh start "$pg_dir" fast); then
        export DISPATCHER_TEST_POSTGRES_URL="$url"
        echo "PostgreSQL test server: ${url/:dispatcher-test@/:***@}"
    elif [[ "${CI:-}" == "true" ]]; then
        echo "error: PostgreSQL could not be started, and CI=true requires its tests" >&2
        exit 1
    else
        echo "warning: PostgreSQL could not be started; its tests are skipped" >&2
    fi
fi

swift build --build-tests
swift test --skip-build --disable-xctest "$@"
