#!/usr/bin/env python3
"""Enqueue from the application: SQL commit -> upstream call, on an idle daemon.

One `dispatcher run --workers 8` against the loopback JSON-RPC stub. A long-lived SQL session of
another program (psql for PostgreSQL, SQLite's sqlite3 shell for the SQLite file) enqueues one
job at a time, SAMPLES times, 30 ms apart:
  - PostgreSQL: `SELECT dispatcher.enqueue('ping', '[i]')` (autocommit: the statement's
    answer comes after its commit), woken by the jobs' insert trigger's NOTIFY;
  - SQLite: `INSERT INTO enqueue (method, params) VALUES ('ping', '[i]')`, then the new id,
    woken by the daemon's WAL watcher.
The latency is from the session printing its answer (the job is committed) to the stub
receiving the call; p50 and p90 are printed beside the target (PostgreSQL p50 <= 10 ms).

Usage: scripts/bench-app-enqueue.py [--db postgres://…]   (DISPATCHER_BENCH_BIN: prebuilt binaries)
"""
import os
import subprocess
import tempfile
import time

from benchlib import daemon_bench_setup, median, percentile, table

SAMPLES = int(os.environ.get("SAMPLES", "100"))


def session(db):
    """A long-lived SQL session and the statement that enqueues job `i` and prints its id."""
    if db.startswith("postgres"):
        process = subprocess.Popen(["psql", db.split("?")[0], "-At", "-q", "-v", "ON_ERROR_STOP=1"],
                                   stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
        return process, lambda i: f"SELECT dispatcher.enqueue('ping', '[{i}]');\n"
    process = subprocess.Popen(["sqlite3", "-bail", "-cmd", ".timeout 5000", db], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, text=True, bufsize=1)
    return process, lambda i: f"INSERT INTO enqueue (method, params) VALUES ('ping', '[{i}]'); SELECT max(id) FROM jobs;\n"


def main():
    arguments, dispatcher, stub = daemon_bench_setup(__doc__, log_arrivals=True)
    latencies = []
    try:
        with tempfile.TemporaryDirectory() as directory:
            db = arguments.db or os.path.join(directory, "app.db")
            subprocess.run([dispatcher, "stats", "--db", db], check=True, stdout=subprocess.DEVNULL)
            daemon = subprocess.Popen([dispatcher, "run", "--db", db, "--upstream", f"http://127.0.0.1:{stub.port}/",
                                       "--workers", "8", "--log-level", "warning"])
            sql, statement = session(db)
            try:
                time.sleep(1)
                for index in range(SAMPLES):
                    sql.stdin.write(statement(index))
                    sql.stdin.flush()
                    job_id = int(sql.stdout.readline())
                    committed = time.time()
                    while True:
                        arrived_id, arrived_at = stub.arrival()
                        if arrived_id == job_id:
                            latencies.append((arrived_at - committed) * 1000)
                            break
                    time.sleep(0.03)
            finally:
                sql.stdin.close()
                sql.wait(timeout=30)
                daemon.terminate()
                daemon.wait(timeout=60)
    finally:
        stub.stop()
    store = "PostgreSQL" if arguments.db else "SQLite"
    p50 = median(latencies)
    table([
        (f"{store}: SQL enqueue commit -> upstream, p50 of {len(latencies)}", f"{p50:.2f} ms",
         "<= 10 ms" if arguments.db else "(report)",
         ("met" if p50 <= 10 else "NOT met") if arguments.db else ""),
        (f"{store}: SQL enqueue commit -> upstream, p90", f"{percentile(latencies, 0.9):.2f} ms", "", ""),
    ])


if __name__ == "__main__":
    main()
