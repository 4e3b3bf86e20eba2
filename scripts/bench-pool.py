#!/usr/bin/env python3
"""WorkerPool throughput: calls/s of a pool of 8 workers against the local keep-alive JSON-RPC
stub, beside wrk with the same connection count against the same stub, in one run."""
import subprocess

from benchlib import Stub, binary, build, table, wrk

CALLS = 200_000
WORKERS = 8


def main():
    build("dispatcher-upstream-stub", "dispatcher-pool-bench")
    stub = Stub()
    try:
        wrk_rate = wrk(stub.port, connections=WORKERS)
        output = subprocess.run([binary("dispatcher-pool-bench"), str(stub.port), str(WORKERS), str(CALLS)],
                                capture_output=True, text=True, check=True, timeout=600).stdout
    finally:
        stub.stop()
    fields = dict(item.split("=") for item in output.split())
    pool_rate = float(fields["calls_per_second"])
    ratio = pool_rate / wrk_rate
    table([
        (f"wrk -c{WORKERS} (same stub)", f"{wrk_rate:,.0f} req/s", "", ""),
        (f"WorkerPool W={WORKERS}, {CALLS:,} calls", f"{pool_rate:,.0f} calls/s", "", ""),
        ("pool / wrk", f"{ratio:.2f}", ">= 0.80", "met" if ratio >= 0.8 else "NOT met"),
        ("connections opened", fields["connections_opened"], str(WORKERS),
         "met" if int(fields["connections_opened"]) == WORKERS else "NOT met"),
        ("failed calls", fields["failures"], "0", ""),
    ])


if __name__ == "__main__":
    main()
