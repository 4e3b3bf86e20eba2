#!/usr/bin/env bash
# Sets up and runs the whole test suite: unit tests, loopback WorkerPool tests, and end-to-end
# tests that drive the built `dispatcher` binary.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/ensure-sqlite.sh
swift build --build-tests
swift test --skip-build --disable-xctest "$@"
