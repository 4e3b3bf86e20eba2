#!/usr/bin/env bash
# Installs PyPI's grpcio (gRPC C-core's Python server) when python3 cannot import it: the gRPC
# interop tests run the dispatcher against it (Tests/Fixtures/GRPC/grpcio_echo_server.py).
set -euo pipefail
if python3 -c "import grpc" 2>/dev/null; then
    exit 0
fi
echo "grpcio not found: installing it from PyPI" >&2
python3 -m pip install --quiet --disable-pip-version-check grpcio \
    || python3 -m pip install --quiet --disable-pip-version-check --break-system-packages grpcio
