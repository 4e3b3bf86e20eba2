#!/usr/bin/env python3
"""WorkerPool throughput: calls/s of a pool of 8 workers against the local keep-alive JSON-RPC
stub, beside wrk with the same connection count against the same stub, in one run.

    scripts/bench-pool.py [--grpc]

--grpc adds the same pool over the gRPC transport (raw messages) against the lean gRPC echo
server."""
import argparse
import subprocess

from benchlib import Stub, binary, build, table, wrk

CALLS = 200_000
GRPC_CALLS = 50_000
WORKERS = 8


def pool_bench(*arguments):
    output = subprocess.run([binary("dispatcher-pool-bench"), *map(str, arguments)], capture_output=True, text=True,
                            check=True, timeout=600).stdout
    return dict(item.split("=") for item in output.split())


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--grpc", action="store_true", help="also the pool over the gRPC transport")
    arguments = parser.parse_args()
    build("dispatcher-upstream-stub", "dispatcher-pool-bench")
    stub = Stub()
    try:
        wrk_rate = wrk(stub.port, connections=WORKERS)
        fields = pool_bench(stub.port, WORKERS, CALLS)
    finally:
        stub.stop()
    pool_rate = float(fields["calls_per_second"])
    ratio = pool_rate / wrk_rate
    rows = [
        (f"wrk -c{WORKERS} (same stub)", f"{wrk_rate:,.0f} req/s", "", ""),
        (f"WorkerPool W={WORKERS}, {CALLS:,} calls", f"{pool_rate:,.0f} calls/s", "", ""),
        ("pool / wrk", f"{ratio:.2f}", ">= 0.80", "met" if ratio >= 0.8 else "NOT met"),
        ("connections opened", fields["connections_opened"], str(WORKERS),
         "met" if int(fields["connections_opened"]) == WORKERS else "NOT met"),
        ("failed calls", fields["failures"], "0", ""),
    ]
    if arguments.grpc:
        stub = Stub(grpc=True)
        try:
            transport = pool_bench("grpc", stub.port, WORKERS, GRPC_CALLS)
        finally:
            stub.stop()
        rows += [
            (f"WorkerPool W={WORKERS} over gRPC (raw), {GRPC_CALLS:,} calls",
             f"{float(transport['calls_per_second']):,.0f} calls/s", "",
             f"{transport['failures']} failed, {transport['connections_opened']} connections"),
            ("gRPC pool / HTTP pool", f"{float(transport['calls_per_second']) / pool_rate:.2f}", "", ""),
        ]
    table(rows)


if __name__ == "__main__":
    main()
