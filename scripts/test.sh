#!/usr/bin/env bash
# Sets up and runs the whole test suite: unit tests, loopback WorkerPool tests, the store
# conformance suite and the end-to-end tests that drive the built `dispatcher` binary, against
# SQLite and against a throwaway PostgreSQL cluster on 127.0.0.1, and the dashboard in headless
# Chromium (installed from Debian when missing, driven over WebDriver by chromedriver).
#
# PostgreSQL is installed from Debian when missing and started in a temporary folder on a free
# port (scripts/postgres-test-server.sh), with two pgbouncers in front of it, in session and in
# transaction mode (scripts/pgbouncer-test-server.sh); all are stopped on exit. Under CI=true a PostgreSQL that
# cannot start fails the run; elsewhere its tests are skipped with a message. Set
# DISPATCHER_TEST_POSTGRES_URL yourself to use a server of your own instead. The same holds for
# the browser: under CI=true a missing Chromium fails its test. The dashboard's screenshot lands
# in .build/test-artifacts/.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/ensure-sqlite.sh
# Real servers of other projects (aria2's JSON-RPC): under CI=true their tests fail without them.
if ! scripts/ensure-test-peers.sh && [[ "${CI:-}" == "true" ]]; then
    echo "error: the third-party test servers could not be installed, and CI=true requires them" >&2
    exit 1
fi
if ! scripts/ensure-grpcio.sh; then
    if [[ "${CI:-}" == "true" ]]; then
        echo "error: grpcio could not be installed, and CI=true requires the gRPC interop tests" >&2
        exit 1
    fi
    echo "warning: grpcio could not be installed; the gRPC interop tests are skipped" >&2
fi
if ! scripts/ensure-browser.sh; then
    if [[ "${CI:-}" == "true" ]]; then
        echo "error: Chromium could not be installed, and CI=true requires the browser test" >&2
        exit 1
    fi
    echo "warning: Chromium could not be installed; the browser test is skipped" >&2
fi
export DISPATCHER_TEST_ARTIFACTS="${DISPATCHER_TEST_ARTIFACTS:-$PWD/.build/test-artifacts}"

pg_dir=""
bouncer_dirs=()
cleanup() {
    local dir
    for dir in "${bouncer_dirs[@]}"; do scripts/pgbouncer-test-server.sh stop "$dir" || true; done
    if [[ -n "$pg_dir" ]]; then scripts/postgres-test-server.sh stop "$pg_dir" || true; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
if [[ -z "${DISPATCHER_TEST_POSTGRES_URL:-}" ]]; then
    pg_dir=$(mktemp -d /tmp/dispatcher-test-pg.XXXXXX)
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
# pgbouncer (from Debian) in front of it, once in session and once in transaction mode, with its
# default settings: the conformance suite and a subset of the end-to-end tests run through both
# (README, "Behind a connection pooler").
if [[ -n "${DISPATCHER_TEST_POSTGRES_URL:-}" && -z "${DISPATCHER_TEST_PGBOUNCER_SESSION_URL:-}" ]]; then
    for mode in session transaction; do
        dir=$(mktemp -d /tmp/dispatcher-test-pgbouncer.XXXXXX)
        bouncer_dirs+=("$dir")
        if url=$(scripts/pgbouncer-test-server.sh start "$dir" "$DISPATCHER_TEST_POSTGRES_URL" "$mode"); then
            export "DISPATCHER_TEST_PGBOUNCER_${mode^^}_URL=$url"
            echo "pgbouncer ($mode mode): ${url/:dispatcher-test@/:***@}"
        elif [[ "${CI:-}" == "true" ]]; then
            echo "error: pgbouncer could not be started, and CI=true requires its tests" >&2
            exit 1
        else
            echo "warning: pgbouncer could not be started; the tests through it are skipped" >&2
        fi
    done
fi

# The manifest reads the migrations folders, so it is evaluated afresh every time: a cached
# evaluation keeps the old list of migrations after a new file arrives (Package.swift itself is
# unchanged), and the build then misses the new migration's embedded resource.
swift build --build-tests --manifest-cache none
# Two passes. Most of an end-to-end test's time is waiting (for daemons, stubs, PostgreSQL,
# Chromium, a lease), so the suites run four at a time (the CHANGELOG has the times). The suites
# that assert rates, throughput or timeouts run afterwards one at a time: under the parallel load
# a fresh-clone CI run saw the adaptive drain, a fleet rate floor and a pooler's connect timeout
# miss (all held one at a time). With arguments (a --filter, say) everything runs one at a time.
timed='AdaptiveConcurrencyTests|FleetRateTests|RateLimitTests|PoolerTests|MaxInFlightTests|IdleWakeUpTests|ScheduleTests'
if [[ $# -gt 0 ]]; then
    swift test --skip-build --disable-xctest --manifest-cache none --no-parallel "$@"
else
    SWT_EXPERIMENTAL_MAXIMUM_PARALLELIZATION_WIDTH="${DISPATCHER_TEST_WIDTH:-4}" \
        swift test --skip-build --disable-xctest --manifest-cache none --parallel --skip "$timed"
    swift test --skip-build --disable-xctest --manifest-cache none --no-parallel --filter "$timed"
fi
