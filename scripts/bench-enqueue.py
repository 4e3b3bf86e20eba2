#!/usr/bin/env python3
"""Enqueue throughput: `dispatcher enqueue --batch` of 100,000 jobs, and the wall time of single
`dispatcher enqueue` processes; beside raw SQLite (Python's sqlite3) inserting the same rows
into the same schema in the same chunks, for scale."""
import json
import os
import sqlite3
import subprocess
import tempfile
import time

from benchlib import ROOT, binary, build, median, table

JOBS = 100_000
SINGLE_RUNS = 51


def fresh(directory, name):
    path = os.path.join(directory, name)
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(path + suffix):
            os.remove(path + suffix)
    return path


def main():
    build("dispatcher")
    dispatcher = binary("dispatcher")
    with tempfile.TemporaryDirectory() as directory:
        batch = os.path.join(directory, "jobs.ndjson")
        rows = [("eth_getBalance", json.dumps(["0x%040x" % i, "latest"])) for i in range(JOBS)]
        with open(batch, "w") as f:
            for method, params in rows:
                f.write('{"method":"%s","params":%s}\n' % (method, params))

        rates = []
        for _ in range(3):
            db = fresh(directory, "batch.db")
            start = time.perf_counter()
            subprocess.run([dispatcher, "enqueue", "--db", db, "--batch", batch, "--quiet"], check=True,
                           stdout=subprocess.DEVNULL)
            rates.append(JOBS / (time.perf_counter() - start))

        raw_rates = []
        schema = open(os.path.join(ROOT, "migrations", "sqlite", "0001_create_jobs.sql")).read()
        for _ in range(3):
            connection = sqlite3.connect(fresh(directory, "raw.db"), isolation_level=None)
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=FULL")
            connection.executescript(schema)
            start = time.perf_counter()
            for chunk in range(0, JOBS, 10_000):
                connection.execute("BEGIN IMMEDIATE")
                connection.executemany(
                    "INSERT INTO jobs (queue, method, params, run_at, created_at) VALUES ('default', ?, ?, 1, 1)",
                    rows[chunk:chunk + 10_000])
                connection.execute("COMMIT")
            raw_rates.append(JOBS / (time.perf_counter() - start))
            connection.close()

        db = fresh(directory, "single.db")
        subprocess.run([dispatcher, "stats", "--db", db], check=True, stdout=subprocess.DEVNULL)
        walls = []
        for index in range(SINGLE_RUNS):
            start = time.perf_counter()
            subprocess.run([dispatcher, "enqueue", "--db", db, "--method", "eth_call", "--params", f"[{index}]"],
                           check=True, stdout=subprocess.DEVNULL)
            walls.append((time.perf_counter() - start) * 1000)

    batch_rate = median(rates)
    single = median(walls)
    table([
        ("enqueue --batch, 100,000 jobs (median of 3)", f"{batch_rate:,.0f} jobs/s", ">= 300,000 jobs/s",
         "met" if batch_rate >= 300_000 else "NOT met"),
        ("raw SQLite, same rows and schema (Python sqlite3)", f"{median(raw_rates):,.0f} rows/s", "(scale)", ""),
        (f"single enqueue wall time (median of {SINGLE_RUNS})", f"{single:.1f} ms", "<= 15 ms",
         "met" if single <= 15 else "NOT met"),
        ("single enqueue wall time (max)", f"{max(walls):.1f} ms", "", ""),
    ])


if __name__ == "__main__":
    main()
