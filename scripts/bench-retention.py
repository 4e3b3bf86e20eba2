#!/usr/bin/env python3
"""Retention and job counts at scale, three parts (each can be run alone, see --help):

  triggers  what the job-count triggers and the retention index cost per job on SQLite: the same
            SQL as the daemon (multi-row enqueue, claim batches of 64, completions, prune batches
            of 1,000) over 100,000 jobs, on the schema before and after migration 0003; CPU time
            of the process (steadier than wall time on a shared machine).
  stats     wall time of `dispatcher stats` at 1,000 and 10,000,000 jobs (SQLite; and PostgreSQL
            with --postgres URL), the rows made in bulk with SQL.
  prune     the daemon prunes 1,000,000 succeeded jobs past their retention while jobs keep
            arriving at a steady rate; the wait from due to claimed (started_at - run_at) of those
            jobs during the prune, beside the same with nothing to prune.

Binaries: release builds (as the other benchmarks), or --bin DIR (e.g. .build/debug) to reuse a
build; the SQL dominates every figure here."""
import argparse
import os
import sqlite3
import subprocess
import tempfile
import threading
import time

from benchlib import ROOT, Stub, binary, build, median, table

MIGRATIONS = os.path.join(ROOT, "migrations", "sqlite")
DAY_MS = 86_400_000


def now_ms():
    return int(time.time() * 1000)


def schema(upto):
    files = sorted(f for f in os.listdir(MIGRATIONS) if f.endswith(".sql"))
    return "\n".join(open(os.path.join(MIGRATIONS, f)).read() for f in files if int(f[:4]) <= upto)


# ---------------------------------------------------------------------------------------------
# triggers

CLAIM = """UPDATE jobs SET state = 'running', attempts = attempts + 1, lease_owner = 'o',
    lease_until = ?1 + 10000, started_at = ?1
WHERE id IN (SELECT id FROM jobs WHERE queue = 'default' AND state = 'pending' AND run_at <= ?1
    ORDER BY priority DESC, run_at, id LIMIT 64) RETURNING id"""
SUCCEED = """UPDATE jobs SET state = 'succeeded', result = '1', finished_at = ?2, lease_owner = NULL,
    lease_until = NULL WHERE id = ?1 AND state = 'running' AND lease_owner = 'o'"""
PRUNE = """DELETE FROM jobs WHERE id IN (SELECT id FROM jobs WHERE state = 'succeeded' AND queue = 'default'
    AND finished_at < ?1 ORDER BY finished_at LIMIT 1000)"""


def trigger_run(directory, upto, jobs):
    path = os.path.join(directory, "triggers-%d.db" % upto)
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(path + suffix):
            os.remove(path + suffix)
    c = sqlite3.connect(path, isolation_level=None)
    c.execute("PRAGMA journal_mode=WAL")
    c.execute("PRAGMA synchronous=NORMAL")
    c.executescript(schema(upto))
    times = {}
    now = now_ms()
    row = "('default', 'eth_getBalance', '[\"0x00000000000000000000000000000000000000aa\",\"latest\"]', 0, %d, %d)" % (
        now - 1, now)
    insert = "INSERT INTO jobs (queue, method, params, priority, run_at, created_at) VALUES " + ", ".join([row] * 64)
    start = time.process_time()
    for chunk in range(0, jobs, 6400):
        c.execute("BEGIN IMMEDIATE")
        for _ in range(100):
            c.execute(insert)
        c.execute("COMMIT")
    times["enqueue"] = time.process_time() - start
    start = time.process_time()
    claimed = []
    while True:
        c.execute("BEGIN IMMEDIATE")
        ids = [r[0] for r in c.execute(CLAIM, (now_ms(),)).fetchall()]
        c.execute("COMMIT")
        if not ids:
            break
        claimed.append(ids)
    times["claim"] = time.process_time() - start
    start = time.process_time()
    finished = now_ms() - 10 * DAY_MS
    for ids in claimed:
        c.execute("BEGIN IMMEDIATE")
        for job in ids:
            c.execute(SUCCEED, (job, finished))
        c.execute("COMMIT")
    times["complete"] = time.process_time() - start
    start = time.process_time()
    while True:
        c.execute("BEGIN IMMEDIATE")
        deleted = c.execute(PRUNE, (now_ms() - 7 * DAY_MS,)).rowcount
        c.execute("COMMIT")
        if deleted == 0:
            break
    times["prune"] = time.process_time() - start
    assert c.execute("SELECT count(*) FROM jobs").fetchone()[0] == 0
    c.close()
    return {phase: seconds / jobs * 1e6 for phase, seconds in times.items()}


def triggers(directory, jobs=100_000, rounds=3):
    rows = []
    results = {2: [], 3: []}
    for _ in range(rounds):
        for upto in (2, 3):
            results[upto].append(trigger_run(directory, upto, jobs))
    for phase in ("enqueue", "claim", "complete", "prune"):
        before = [r[phase] for r in results[2]]
        after = [r[phase] for r in results[3]]
        rows.append((phase + " CPU µs/job before (0002)", "%.2f (%.2f–%.2f)" % (median(before), min(before), max(before)),
                     "", ""))
        rows.append((phase + " CPU µs/job after (0003)", "%.2f (%.2f–%.2f)" % (median(after), min(after), max(after)),
                     "", ""))
    table(rows)


# ---------------------------------------------------------------------------------------------
# stats

def sqlite_database(dispatcher, path, jobs):
    """`jobs` jobs: 0.5% pending (three priorities), 0.5% failed, the rest succeeded over a week."""
    subprocess.run([dispatcher, "stats", "--db", path], check=True, stdout=subprocess.DEVNULL)
    c = sqlite3.connect(path, isolation_level=None)
    now = now_ms()
    c.execute("BEGIN IMMEDIATE")
    c.execute(
        """WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1)
        INSERT INTO jobs (queue, method, state, attempts, priority, run_at, created_at, started_at, finished_at)
        SELECT CASE i % 3 WHEN 0 THEN 'default' WHEN 1 THEN 'mail' ELSE 'chain' END, 'm',
            CASE WHEN i % 200 = 0 THEN 'pending' WHEN i % 200 = 1 THEN 'failed' ELSE 'succeeded' END,
            CASE WHEN i % 200 = 0 THEN 0 ELSE 1 END, (i / 3) % 3 - 1,
            ?2 - (?1 - i) * 60, ?2 - (?1 - i) * 60, ?2 - (?1 - i) * 60 + 5,
            CASE WHEN i % 200 = 0 THEN NULL ELSE ?2 - (?1 - i) * 60 + 20 END
        FROM n""", (jobs, now))
    c.execute("COMMIT")
    c.close()


def postgres_database(url, name, jobs):
    admin = ["psql", url, "-q", "-v", "ON_ERROR_STOP=1"]
    subprocess.run(admin + ["-c", "DROP DATABASE IF EXISTS %s" % name], check=True)
    subprocess.run(admin + ["-c", "CREATE DATABASE %s" % name], check=True)
    target = url.rsplit("/", 1)[0] + "/" + name + ("?" + url.split("?", 1)[1] if "?" in url else "")
    return target


def time_stats(dispatcher, db, runs=7):
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([dispatcher, "stats", "--db", db], check=True, stdout=subprocess.DEVNULL)
        samples.append((time.perf_counter() - start) * 1000)
    return "%.0f ms (%.0f–%.0f)" % (median(samples), min(samples), max(samples))


def stats(directory, dispatcher, postgres, sizes):
    rows = []
    for jobs in sizes:
        path = os.path.join(directory, "stats-%d.db" % jobs)
        start = time.perf_counter()
        sqlite_database(dispatcher, path, jobs)
        made = time.perf_counter() - start
        rows.append(("sqlite stats, %d jobs (made in %.0f s)" % (jobs, made), time_stats(dispatcher, path), "≤ 50 ms",
                     ""))
        os.remove(path)
        for suffix in ("-wal", "-shm"):
            if os.path.exists(path + suffix):
                os.remove(path + suffix)
        if postgres:
            db = postgres_database(postgres, "bench_stats_%d" % jobs, jobs)
            subprocess.run([dispatcher, "stats", "--db", db], check=True, stdout=subprocess.DEVNULL)
            start = time.perf_counter()
            now = now_ms()
            subprocess.run(["psql", db, "-q", "-v", "ON_ERROR_STOP=1", "-c", """
                INSERT INTO dispatcher.jobs (queue, method, state, attempts, priority, run_at, created_at, started_at, finished_at)
                SELECT CASE i %% 3 WHEN 0 THEN 'default' WHEN 1 THEN 'mail' ELSE 'chain' END, 'm',
                    CASE WHEN i %% 200 = 0 THEN 'pending' WHEN i %% 200 = 1 THEN 'failed' ELSE 'succeeded' END,
                    CASE WHEN i %% 200 = 0 THEN 0 ELSE 1 END, (i / 3) %% 3 - 1,
                    %d - (%d - i) * 60, %d - (%d - i) * 60, %d - (%d - i) * 60 + 5,
                    CASE WHEN i %% 200 = 0 THEN NULL ELSE %d - (%d - i) * 60 + 20 END
                FROM generate_series(1, %d) AS i""" % (now, jobs, now, jobs, now, jobs, now, jobs, jobs)], check=True)
            subprocess.run(["psql", db, "-q", "-c", "VACUUM ANALYZE dispatcher.jobs"], check=True)
            made = time.perf_counter() - start
            rows.append(("postgres stats, %d jobs (made in %.0f s)" % (jobs, made), time_stats(dispatcher, db),
                         "≤ 50 ms", ""))
            subprocess.run(["psql", postgres, "-q", "-c", "DROP DATABASE bench_stats_%d" % jobs], check=True)
    table(rows)


# ---------------------------------------------------------------------------------------------
# prune

def start_delays(path, since, until):
    c = sqlite3.connect(path)
    waits = sorted(r[0] for r in c.execute(
        "SELECT started_at - run_at FROM jobs WHERE method = 'live' AND run_at >= ? AND run_at < ? "
        "AND started_at IS NOT NULL", (since, until)))
    c.close()
    if not waits:
        return "no jobs"
    pick = lambda q: waits[min(len(waits) - 1, int(q * len(waits)))]
    return "p50 %d ms, p99 %d ms, max %d ms (%d jobs)" % (pick(0.5), pick(0.99), waits[-1], len(waits))


def prune(directory, dispatcher, old=1_000_000, rate=200):
    path = os.path.join(directory, "prune.db")
    subprocess.run([dispatcher, "stats", "--db", path], check=True, stdout=subprocess.DEVNULL)
    c = sqlite3.connect(path, isolation_level=None, timeout=30)
    now = now_ms()
    c.execute("BEGIN IMMEDIATE")
    c.execute("""WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1)
        INSERT INTO jobs (queue, method, state, attempts, run_at, created_at, started_at, finished_at, result)
        SELECT 'default', 'old', 'succeeded', 1, ?2 - i, ?2 - i, ?2 - i, ?2 - i, '1' FROM n""",
              (old, now - 10 * DAY_MS))
    c.execute("COMMIT")
    stub = Stub()
    stop = threading.Event()

    def feed():
        # Steady arrivals, one job per insert, as many small enqueues would.
        feeder = sqlite3.connect(path, isolation_level=None, timeout=30)
        interval = 1.0 / rate
        next_at = time.perf_counter()
        while not stop.is_set():
            t = now_ms()
            feeder.execute("INSERT INTO jobs (method, params, run_at, created_at) VALUES ('live', '[]', ?, ?)", (t, t))
            next_at += interval
            time.sleep(max(0, next_at - time.perf_counter()))
        feeder.close()

    daemon = None
    try:
        thread = threading.Thread(target=feed)
        thread.start()
        baseline_start = now_ms()
        daemon = subprocess.Popen(
            [dispatcher, "run", "--db", path, "--upstream", "http://127.0.0.1:%d/" % stub.port, "--workers", "8",
             "--retain-succeeded", "forever", "--log-level", "warning"], stderr=subprocess.DEVNULL)
        time.sleep(15)
        baseline_end = now_ms()
        daemon.send_signal(15)
        daemon.wait(timeout=60)
        prune_start = now_ms()
        daemon = subprocess.Popen(
            [dispatcher, "run", "--db", path, "--upstream", "http://127.0.0.1:%d/" % stub.port, "--workers", "8",
             "--retain-succeeded", "7d", "--prune-interval", "1h", "--log-level", "info"],
            stderr=subprocess.PIPE, text=True)
        deadline = time.time() + 1800
        left = old
        while time.time() < deadline:
            time.sleep(1)
            left = c.execute("SELECT count(*) FROM jobs WHERE method = 'old'").fetchone()[0]
            if left == 0:
                break
        prune_end = now_ms()
        stop.set()
        thread.join()
        daemon.send_signal(15)
        daemon.wait(timeout=60)
        daemon = None
    finally:
        stop.set()
        if daemon:
            daemon.kill()
        stub.stop()
    size = os.path.getsize(path)
    free = c.execute("PRAGMA freelist_count").fetchone()[0] * c.execute("PRAGMA page_size").fetchone()[0]
    table([
        ("prune of %d succeeded jobs" % old, "%.1f s (%d left)" % ((prune_end - prune_start) / 1000, left), "", ""),
        ("due→claimed, no prune (%d/s arriving)" % rate, start_delays(path, baseline_start + 2000, baseline_end), "",
         ""),
        ("due→claimed, during the prune", start_delays(path, prune_start + 2000, prune_end), "", ""),
        ("database file / free pages after", "%d MB / %d MB" % (size >> 20, free >> 20), "", ""),
    ])
    c.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("parts", nargs="*", default=["triggers", "stats", "prune"])
    parser.add_argument("--bin", help="folder of already built binaries (default: build release)")
    parser.add_argument("--postgres", help="a PostgreSQL server URL for the stats part (a database is made)")
    parser.add_argument("--sizes", default="1000,10000000", help="job counts for the stats part")
    arguments = parser.parse_args()
    if arguments.bin:
        import benchlib
        benchlib.RELEASE = os.path.abspath(arguments.bin)
        global binary
        binary = lambda name: os.path.join(benchlib.RELEASE, name)
    elif set(arguments.parts) & {"stats", "prune"}:
        build("dispatcher", "dispatcher-upstream-stub")
    dispatcher = binary("dispatcher")
    with tempfile.TemporaryDirectory() as directory:
        if "triggers" in arguments.parts:
            triggers(directory)
        if "stats" in arguments.parts:
            stats(directory, dispatcher, arguments.postgres, [int(s) for s in arguments.sizes.split(",")])
        if "prune" in arguments.parts:
            prune(directory, dispatcher)


if __name__ == "__main__":
    main()
