#!/usr/bin/env python3
"""Scheduled jobs at scale: 1,000 schedules of `@every 1s` on one daemon.

One `dispatcher run` on a fresh SQLite database (or --db URL) against the loopback JSON-RPC
stub, with queue `default` (8 workers) for ordinary jobs and queue `scheduled` (8 workers) for
the 1,000 schedules' jobs, both delivered to the stub:
  - jobs created per second: scheduled jobs in the store, counted over RUN_SECONDS after a
    warm-up (1,000 a second is every slot);
  - daemon CPU while the schedules fire, and idle CPU of a daemon whose 1,000 schedules are
    yearly (`0 0 1 1 *`: nothing fires, the scheduler only sleeps), beside a daemon with none;
  - claim latency of ordinary jobs meanwhile: `dispatcher enqueue` exiting (and, as an upper
    bound, launching) → the stub receiving the call, for LATENCY_SAMPLES jobs spread over the
    run (p50, p90).

Usage: scripts/bench-schedules.py [--db postgres://…]   (DISPATCHER_BENCH_BIN: prebuilt binaries)
"""
import json
import os
import sqlite3
import subprocess
import tempfile
import time

from benchlib import cpu_seconds, daemon_bench_setup, enqueue_until_called, median, percentile, table

SCHEDULES = 1000
RUN_SECONDS = int(os.environ.get("RUN_SECONDS", "10"))
IDLE_SECONDS = int(os.environ.get("IDLE_SECONDS", "10"))
LATENCY_SAMPLES = 50


def config(directory, port, cron, count, name):
    path = os.path.join(directory, name)
    queues = [{"name": queue, "upstream": f"http://127.0.0.1:{port}/", "workers": 8}
              for queue in ("default", "scheduled")]
    schedules = [{"name": f"s{index:04}", "cron": cron, "queue": "scheduled", "method": "tick",
                  "params": {"n": index}} for index in range(count)]
    with open(path, "w") as f:
        json.dump({"queues": queues, "schedules": schedules}, f)
    return path


def scheduled_jobs(db):
    """Scheduled jobs in the store so far (SQLite read directly; PostgreSQL through psql)."""
    query = "SELECT count(*) FROM jobs WHERE idempotency_key LIKE 'schedule:%'"
    if db.startswith("postgres"):
        return int(subprocess.run(["psql", db.split("?")[0], "-Atc", query], capture_output=True, text=True,
                                  check=True).stdout)
    with sqlite3.connect(db, timeout=30) as connection:
        return connection.execute(query).fetchone()[0]


def idle_cpu(dispatcher, db, path):
    daemon = subprocess.Popen([dispatcher, "run", "--db", db, "--config", path, "--log-level", "warning"])
    try:
        time.sleep(2)
        before, start = cpu_seconds(daemon.pid), time.monotonic()
        time.sleep(IDLE_SECONDS)
        return (cpu_seconds(daemon.pid) - before) / (time.monotonic() - start) * 100
    finally:
        daemon.terminate()
        daemon.wait(timeout=60)


def main():
    arguments, dispatcher, stub = daemon_bench_setup(__doc__, log_arrivals=True)
    rows = []
    try:
        with tempfile.TemporaryDirectory() as directory:
            db = arguments.db or os.path.join(directory, "schedules.db")
            every = config(directory, stub.port, "@every 1s", SCHEDULES, "every.json")
            daemon = subprocess.Popen([dispatcher, "run", "--db", db, "--config", every, "--log-level", "warning"])
            latencies = []
            try:
                time.sleep(3)
                count_before, cpu_before, start = scheduled_jobs(db), cpu_seconds(daemon.pid), time.monotonic()
                interval = RUN_SECONDS / LATENCY_SAMPLES
                for index in range(LATENCY_SAMPLES):
                    launched, returned, arrived_at = enqueue_until_called(dispatcher, db, stub, index)
                    latencies.append(((arrived_at - returned) * 1000, (arrived_at - launched) * 1000))
                    time.sleep(max(0.0, start + (index + 1) * interval - time.monotonic()))
                elapsed = time.monotonic() - start
                created = (scheduled_jobs(db) - count_before) / elapsed
                firing_cpu = (cpu_seconds(daemon.pid) - cpu_before) / elapsed * 100
            finally:
                daemon.terminate()
                daemon.wait(timeout=60)
            rows += [
                (f"scheduled jobs created per second ({SCHEDULES} x @every 1s, {elapsed:.0f} s)", f"{created:,.0f}",
                 f"{SCHEDULES}", "met" if created >= SCHEDULES * 0.98 else "NOT met"),
                ("daemon CPU meanwhile (creating and delivering them)", f"{firing_cpu:.1f} % of a core", "", ""),
                # From the enqueue process's exit, which can come after the call arrived (its
                # connection closes after the commit), and from its launch (an upper bound).
                (f"ordinary job: enqueue exited -> upstream, p50 / p90 of {len(latencies)}",
                 f"{median([r for r, _ in latencies]):.2f} / {percentile([r for r, _ in latencies], 0.9):.2f} ms",
                 "(report)", ""),
                ("ordinary job: enqueue launched -> upstream, p50 / p90",
                 f"{median([l for _, l in latencies]):.2f} / {percentile([l for _, l in latencies], 0.9):.2f} ms", "",
                 ""),
            ]
            if not arguments.db:
                yearly = config(directory, stub.port, "0 0 1 1 *", SCHEDULES, "yearly.json")
                none = config(directory, stub.port, "0 0 1 1 *", 0, "none.json")
                idle_with = idle_cpu(dispatcher, os.path.join(directory, "yearly.db"), yearly)
                idle_without = idle_cpu(dispatcher, os.path.join(directory, "none.db"), none)
                rows += [
                    (f"idle CPU between slots, {SCHEDULES} yearly schedules, {IDLE_SECONDS} s",
                     f"{idle_with:.2f} % of a core", "(report)", ""),
                    (f"idle CPU, no schedule, {IDLE_SECONDS} s", f"{idle_without:.2f} % of a core", "", ""),
                ]
    finally:
        stub.stop()
    table(rows)


if __name__ == "__main__":
    main()
