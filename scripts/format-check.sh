#!/usr/bin/env bash
# Checks formatting with the toolchain's swift-format against .swift-format (lint only).
set -euo pipefail
cd "$(dirname "$0")/.."
swift format lint --recursive --strict Package.swift Sources Tests Benchmarks
