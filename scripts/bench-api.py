#!/usr/bin/env python3
"""The HTTP enqueue API: single POSTs over keep-alive connections, and one large batch.

One `dispatcher run --api` on a fresh SQLite file (or `--db URL`), its queue `default` served
against the loopback JSON-RPC stub; the benchmark's jobs go to queue `bench`, which it does not
serve, so the figures are the API's and the store's (every job durable before its answer):
  - single: wrk, 2 threads, 8 keep-alive connections, SECONDS seconds of
    `POST /v1/jobs {"method":"ping","params":[1],"queue":"bench"}`; jobs/s is wrk's requests/s,
    checked against the rows stored (target >= 10,000 jobs/s);
  - batch: `POST /v1/jobs/batch` of 100,000 NDJSON lines, from the first byte sent to the
    answer, ROUNDS times (median; target >= 200,000 jobs/s).

Usage: scripts/bench-api.py [--db postgres://…]   (DISPATCHER_BENCH_BIN: prebuilt binaries)
"""
import http.client
import json
import os
import socket
import subprocess
import tempfile
import time

from benchlib import daemon_bench_setup, median, table, wrk

SECONDS = int(os.environ.get("SECONDS_PER_RUN", "10"))
ROUNDS = int(os.environ.get("ROUNDS", "3"))
BATCH = 100_000


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(port, deadline=30):
    """Waits (bounded) until the API answers its document."""
    until = time.time() + deadline
    while time.time() < until:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("GET", "/v1/openapi.json")
            if connection.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError("the API did not come up")


def bench_jobs(dispatcher, db):
    output = subprocess.run([dispatcher, "stats", "--json", "--db", db], capture_output=True, text=True,
                            check=True).stdout
    for line in output.splitlines():
        queue = json.loads(line)
        if queue["queue"] == "bench":
            return sum(queue["counts"].values())
    return 0


def main():
    arguments, dispatcher, stub = daemon_bench_setup(__doc__)
    rows = []
    try:
        with tempfile.TemporaryDirectory() as directory:
            db = arguments.db or os.path.join(directory, "api.db")
            port = free_port()
            daemon = subprocess.Popen([dispatcher, "run", "--db", db, "--upstream", f"http://127.0.0.1:{stub.port}/",
                                       "--api", f"127.0.0.1:{port}", "--log-level", "warning"])
            try:
                wait_for(port)
                before = bench_jobs(dispatcher, db)
                rate = wrk(port, connections=8, seconds=SECONDS, script="wrk-enqueue.lua", path="/v1/jobs")
                stored = bench_jobs(dispatcher, db) - before
                rows.append((f"single POST /v1/jobs, 8 keep-alive connections, {SECONDS} s", f"{rate:,.0f} jobs/s",
                             ">= 10,000 jobs/s", "met" if rate >= 10_000 else "NOT met"))
                rows.append(("  jobs stored by it (wrk's requests ≈ rows)", f"{stored:,}", "", ""))
                body = "".join(f'{{"method":"ping","params":[{i}],"queue":"bench"}}\n' for i in range(BATCH)).encode()
                rates = []
                for _ in range(ROUNDS):
                    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
                    started = time.perf_counter()
                    connection.request("POST", "/v1/jobs/batch", body=body,
                                       headers={"Content-Type": "application/x-ndjson"})
                    response = connection.getresponse()
                    answer = response.read()
                    elapsed = time.perf_counter() - started
                    if response.status != 201 or len(json.loads(answer)["ids"]) != BATCH:
                        raise RuntimeError(f"batch answered {response.status}: {answer[:200]!r}")
                    rates.append(BATCH / elapsed)
                rate = median(rates)
                rows.append((f"POST /v1/jobs/batch of {BATCH:,}, median of {ROUNDS}", f"{rate:,.0f} jobs/s",
                             ">= 200,000 jobs/s", "met" if rate >= 200_000 else "NOT met"))
            finally:
                daemon.terminate()
                daemon.wait(timeout=60)
    finally:
        stub.stop()
    table(rows)


if __name__ == "__main__":
    main()
