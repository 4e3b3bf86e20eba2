#!/usr/bin/env python3
"""Long runs, two modes.

Soak (default): `--minutes N` (60 by default) of steady enqueue at `--rate R` jobs/s (small
batches through `dispatcher enqueue --batch`, one process per tick) while one daemon drains them
against the loopback stub. Every `--sample` seconds it records the daemon's RSS, its open file
descriptors (/proc/PID/fd), the WAL file's size, and the p50/p99 of enqueue -> start
(`started_at - created_at`) of the jobs started in that interval, prints the table, and says
whether each is flat (last third against first third, after the first sample).

Ten million (`--ten-million`, or `--jobs N` for another size): enqueue time of N jobs (batch
files of 1,000,000 through `dispatcher enqueue --batch`), then `dispatcher stats` time, then a
daemon started on the whole backlog: time to its first call, drain rate at the head of the
backlog, claim latency of top-priority probe jobs enqueued while it drains (`started_at -
created_at`, the backlog ahead of them being 10M jobs of lower priority), and its RSS.

Release binaries by default (built as the other benchmarks build them; `--no-build` takes
.build/release as it is); `--debug` uses the debug build in .build/debug as it is, for a quick
look (figures then are not comparable).
Everything runs in a temporary folder on loopback and stops by itself."""
import argparse
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time

import benchlib
from benchlib import ROOT, Stub, binary, build, median, table

WORKERS = 8
TICK = 0.25


def percentile(values, fraction):
    if not values:
        return None
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * fraction))]


def rss_kib(pid, field="VmRSS"):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def open_fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def file_size(path):
    try:
        return os.stat(path).st_size
    except FileNotFoundError:
        return 0


def start_daemon(db, port, log, extra=()):
    return subprocess.Popen(
        [binary("dispatcher"), "run", "--db", db, "--upstream", f"http://127.0.0.1:{port}/", "--workers",
         str(WORKERS), "--log-level", "warning", *extra], stdout=subprocess.DEVNULL, stderr=log)


def stop(process, timeout=120):
    process.send_signal(signal.SIGTERM)
    try:
        return process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        return None


def enqueue_batch(db, count, first):
    lines = "".join('{"method":"eth_getBalance","params":["0x%040x","latest"]}\n' % (first + i) for i in range(count))
    subprocess.run([binary("dispatcher"), "enqueue", "--db", db, "--batch", "--quiet"], input=lines, text=True,
                   check=True, stdout=subprocess.DEVNULL)


def flat(values, slack):
    """Last third's median against the first third's: within `slack(first)`."""
    if len(values) < 3:
        return "too short"
    third = max(1, len(values) // 3)
    first, last = median(values[:third]), median(values[-third:])
    return "flat" if last <= first + slack(first) else "GROWING"


def wal_bounded(sizes):
    """The WAL grows to about the daemon's checkpoint size (16 MiB) and is then reused
    from its start: bounded if the last third stays under the larger of that and the first
    third's largest, with a quarter to spare."""
    if len(sizes) < 3:
        return "too short"
    third = max(1, len(sizes) // 3)
    return "bounded" if max(sizes[-third:]) <= max(max(sizes[:third]), 16384) * 1.25 else "GROWING"


def soak(arguments, directory):
    db = os.path.join(directory, "soak.db")
    dispatcher = binary("dispatcher")
    subprocess.run([dispatcher, "stats", "--db", db], check=True, stdout=subprocess.DEVNULL)
    reader = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    stub = Stub()
    log = open(os.path.join(directory, "daemon.log"), "w")
    daemon = start_daemon(db, stub.port, log)
    samples = []
    enqueued = 0
    low_id = 1
    try:
        time.sleep(1)
        began = time.monotonic()
        deadline = began + arguments.minutes * 60
        next_sample = began + arguments.sample
        last_sample_ms = int(time.time() * 1000)
        while time.monotonic() < deadline:
            due = int(arguments.rate * (time.monotonic() - began)) - enqueued
            if due > 0:
                enqueue_batch(db, due, enqueued)
                enqueued += due
            if time.monotonic() >= next_sample:
                now_ms = int(time.time() * 1000)
                rows = reader.execute("SELECT id, created_at, started_at FROM jobs WHERE id >= ? ORDER BY id",
                                      (low_id,)).fetchall()
                waits = [started - created for _, created, started in rows
                         if started is not None and last_sample_ms < started <= now_ms]
                waiting = [job_id for job_id, _, started in rows if started is None]
                low_id = waiting[0] if waiting else (rows[-1][0] + 1 if rows else low_id)
                samples.append({
                    "t": time.monotonic() - began, "rss": rss_kib(daemon.pid) / 1024, "fds": open_fds(daemon.pid),
                    "wal": file_size(db + "-wal") / 1024, "p50": percentile(waits, 0.5),
                    "p99": percentile(waits, 0.99), "started": len(waits), "backlog": len(waiting),
                })
                last_sample_ms = now_ms
                sample = samples[-1]
                print("%7.0f s  rss %6.1f MiB  fds %3d  wal %7.0f KiB  p50 %5s ms  p99 %5s ms  started %6d  backlog %5d"
                      % (sample["t"], sample["rss"], sample["fds"], sample["wal"], sample["p50"], sample["p99"],
                         sample["started"], sample["backlog"]), flush=True)
                next_sample += arguments.sample
            time.sleep(TICK)
        # Let the last jobs drain, then stop the daemon as an operator would.
        drain_deadline = time.monotonic() + 60
        while time.monotonic() < drain_deadline:
            left = reader.execute("SELECT count(*) FROM jobs WHERE id >= ? AND state IN ('pending', 'running')",
                                  (low_id,)).fetchone()[0]
            if left == 0:
                break
            time.sleep(0.5)
        peak = rss_kib(daemon.pid, "VmHWM") / 1024
        status = stop(daemon)
    finally:
        if daemon.poll() is None:
            stop(daemon)
        stub.stop()
        log.close()
    states = dict(reader.execute("SELECT state, count(*) FROM jobs GROUP BY state").fetchall())
    reader.close()
    steady = samples[1:] or samples
    p99s = [s["p99"] for s in steady if s["p99"] is not None]
    rows = [
        ("duration", f"{arguments.minutes:g} min", "", ""),
        ("enqueue rate", f"{arguments.rate:g} jobs/s", "", ""),
        ("jobs enqueued / succeeded", f"{enqueued:,} / {states.get('succeeded', 0):,}", "all",
         "met" if states.get("succeeded", 0) == enqueued else "NOT met"),
        ("daemon exit status after SIGTERM", str(status), "0", "met" if status == 0 else "NOT met"),
        ("daemon RSS first → last sample", "%.1f → %.1f MiB (peak %.1f)" % (steady[0]["rss"], steady[-1]["rss"], peak),
         "flat", flat([s["rss"] for s in steady], lambda first: first * 0.10 + 2)),
        ("open fds min..max", "%d..%d" % (min(s["fds"] for s in steady), max(s["fds"] for s in steady)), "flat",
         flat([s["fds"] for s in steady], lambda first: 2)),
        ("WAL size min..max", "%.0f..%.0f KiB" % (min(s["wal"] for s in steady), max(s["wal"] for s in steady)),
         "bounded", wal_bounded([s["wal"] for s in steady])),
        ("p99 enqueue → start, per interval", "%s..%s ms" % (min(p99s, default="-"), max(p99s, default="-")), "flat",
         flat(p99s, lambda first: first + 5)),
    ]
    print()
    table(rows)


def ten_million(arguments, directory):
    jobs = arguments.jobs
    db = os.path.join(directory, "tenmillion.db")
    dispatcher = binary("dispatcher")
    chunk = min(jobs, 1_000_000)
    batch = os.path.join(directory, "chunk.ndjson")
    with open(batch, "w") as f:
        for i in range(chunk):
            f.write('{"method":"eth_getBalance","params":["0x%040x","latest"]}\n' % i)
    enqueue_times = []
    done = 0
    while done < jobs:
        count = min(chunk, jobs - done)
        path = batch
        if count != chunk:
            path = os.path.join(directory, "last.ndjson")
            with open(batch) as source, open(path, "w") as target:
                for _ in range(count):
                    target.write(source.readline())
        started = time.perf_counter()
        subprocess.run([dispatcher, "enqueue", "--db", db, "--batch", path, "--quiet"], check=True,
                       stdout=subprocess.DEVNULL)
        enqueue_times.append(time.perf_counter() - started)
        done += count
        print(f"enqueued {done:,} jobs ({enqueue_times[-1]:.1f} s for the last {count:,})", flush=True)
    enqueue_total = sum(enqueue_times)
    db_size = file_size(db) + file_size(db + "-wal")

    stats_times = []
    for _ in range(3):
        started = time.perf_counter()
        subprocess.run([dispatcher, "stats", "--db", db, "--json"], check=True, stdout=subprocess.DEVNULL)
        stats_times.append(time.perf_counter() - started)
    print(f"stats: {', '.join('%.2f s' % t for t in stats_times)}", flush=True)

    stub = Stub()
    log = open(os.path.join(directory, "daemon.log"), "w")
    reader = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    launched = time.perf_counter()
    daemon = start_daemon(db, stub.port, log)
    probes = []
    try:
        # The first outcome written (the partial index on finished_at makes this a lookup).
        first_done = None
        while first_done is None and time.perf_counter() - launched < 120:
            if reader.execute("SELECT 1 FROM jobs WHERE finished_at IS NOT NULL LIMIT 1").fetchone():
                first_done = time.perf_counter() - launched
            else:
                time.sleep(0.01)
        window_start_ms = int(time.time() * 1000)
        time.sleep(2)
        for index in range(arguments.probes):
            out = subprocess.run([dispatcher, "enqueue", "--db", db, "--method", "probe", "--params", f"[{index}]",
                                  "--priority", "1000"], capture_output=True, text=True, check=True).stdout
            probes.append(int(out))
            time.sleep(0.25)
        time.sleep(max(0.0, arguments.window - 2 - arguments.probes * 0.25))
        window_end_ms = int(time.time() * 1000)
        drained = reader.execute("SELECT count(*) FROM jobs WHERE finished_at IS NOT NULL AND finished_at >= ?",
                                 (window_start_ms,)).fetchone()[0]
        rss, peak = rss_kib(daemon.pid) / 1024, rss_kib(daemon.pid, "VmHWM") / 1024
        stop_started = time.perf_counter()
        status = stop(daemon)
        stop_time = time.perf_counter() - stop_started
    finally:
        if daemon.poll() is None:
            stop(daemon)
        stub.stop()
        log.close()
    latencies = [started - created for created, started in reader.execute(
        "SELECT created_at, started_at FROM jobs WHERE id IN (%s)" % ",".join(map(str, probes))).fetchall()
        if started is not None]
    reader.close()
    rate = drained / ((window_end_ms - window_start_ms) / 1000)
    table([
        ("jobs enqueued", f"{jobs:,}", "", ""),
        ("enqueue time", f"{enqueue_total:.1f} s ({jobs / enqueue_total:,.0f} jobs/s)", "", ""),
        ("database size", f"{db_size / 2**20:,.0f} MiB", "", ""),
        ("stats time (3 runs)", " / ".join("%.2f s" % t for t in stats_times), "<= 0.05 s",
         "met" if min(stats_times) <= 0.05 else "NOT met"),
        ("daemon start -> first outcome written", "%.0f ms" % (first_done * 1000) if first_done else "none", "", ""),
        (f"drain at the head of the backlog ({arguments.window:g} s)", f"{rate:,.0f} jobs/s", "", ""),
        (f"claim latency of top-priority probes (n={len(latencies)})",
         "p50 %s ms, max %s ms" % (percentile(latencies, 0.5), max(latencies, default="-")), "", ""),
        ("daemon RSS (now / peak)", f"{rss:.1f} / {peak:.1f} MiB", "", ""),
        ("SIGTERM -> exit", f"{stop_time:.2f} s (status {status})", "", ""),
    ])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=60, help="soak duration (default 60)")
    parser.add_argument("--rate", type=float, default=200, help="jobs enqueued per second (default 200)")
    parser.add_argument("--sample", type=float, default=10, help="seconds between samples (default 10)")
    parser.add_argument("--ten-million", action="store_true", help="the 10,000,000-job run instead of the soak")
    parser.add_argument("--jobs", type=int, default=10_000_000, help="jobs of the --ten-million run")
    parser.add_argument("--window", type=float, default=20, help="--ten-million: seconds the daemon drains")
    parser.add_argument("--probes", type=int, default=20, help="--ten-million: top-priority probe jobs")
    parser.add_argument("--debug", action="store_true", help="use .build/debug as it is (no release build)")
    parser.add_argument("--no-build", action="store_true", help="use .build/release as it is")
    parser.add_argument("--keep", metavar="DIR", help="work in DIR and keep it (default: a temporary folder)")
    arguments = parser.parse_args()
    if arguments.debug:
        benchlib.RELEASE = os.path.join(ROOT, ".build", "debug")
    elif not arguments.no_build:
        build("dispatcher", "dispatcher-upstream-stub")
    for name in ("dispatcher", "dispatcher-upstream-stub"):
        if not os.path.exists(binary(name)):
            sys.exit(f"no {binary(name)}: build it first")
    if arguments.keep:
        os.makedirs(arguments.keep, exist_ok=True)
        (ten_million if arguments.ten_million else soak)(arguments, arguments.keep)
    else:
        with tempfile.TemporaryDirectory() as directory:
            (ten_million if arguments.ten_million else soak)(arguments, directory)


if __name__ == "__main__":
    main()
