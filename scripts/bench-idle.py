#!/usr/bin/env python3
"""The idle daemon: CPU it uses while nothing happens, and how soon it starts a job enqueued then.

`dispatcher run --workers 8` on an empty SQLite database against the loopback JSON-RPC stub:
  - idle CPU: user+system time of the daemon over IDLE_SECONDS, read from /proc, after a second
    to settle (repeated IDLE_ROUNDS times; min, median and max printed);
  - enqueue-to-start: over LATENCY_SAMPLES single `dispatcher enqueue` runs, the time from the
    command returning (the job is durable) to the stub receiving the call; median and p90.

Usage: scripts/bench-idle.py [--build-dir .build/release] [--skip-build]
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time

from benchlib import RELEASE, Stub, build, cpu_seconds, enqueue_latencies, median, table

IDLE_SECONDS = int(os.environ.get("IDLE_SECONDS", "10"))
IDLE_ROUNDS = 3
LATENCY_SAMPLES = 100
WORKERS = 8


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--build-dir", default=RELEASE)
    parser.add_argument("--skip-build", action="store_true")
    arguments = parser.parse_args()
    if not arguments.skip_build:
        build("dispatcher-upstream-stub", "dispatcher")
    dispatcher = os.path.join(arguments.build_dir, "dispatcher")
    stub = Stub(log_arrivals=True, directory=arguments.build_dir)
    idle = []
    with tempfile.TemporaryDirectory() as directory:
        db = os.path.join(directory, "idle.db")
        subprocess.run([dispatcher, "stats", "--db", db], check=True, stdout=subprocess.DEVNULL)
        daemon = subprocess.Popen([dispatcher, "run", "--db", db, "--upstream", f"http://127.0.0.1:{stub.port}/",
                                   "--workers", str(WORKERS), "--log-level", "warning"])
        try:
            time.sleep(2)
            for _ in range(IDLE_ROUNDS):
                before, start = cpu_seconds(daemon.pid), time.monotonic()
                time.sleep(IDLE_SECONDS)
                idle.append((cpu_seconds(daemon.pid) - before) / (time.monotonic() - start) * 100)
            latencies = enqueue_latencies(dispatcher, db, stub, LATENCY_SAMPLES)
        finally:
            daemon.terminate()
            daemon.wait(timeout=60)
            stub.stop()
    if daemon.returncode != 0:
        sys.exit(f"the daemon exited with {daemon.returncode}")
    latency = median(latencies)
    table([
        (f"idle daemon CPU, {IDLE_ROUNDS} x {IDLE_SECONDS} s (min / median / max)",
         " / ".join(f"{value:.2f}" for value in (min(idle), median(idle), max(idle))) + " % of a core",
         "<= 0.3 %", "met" if median(idle) <= 0.3 else "NOT met"),
        (f"idle enqueue-to-start, median of {len(latencies)}", f"{latency:.2f} ms", "<= 2 ms",
         "met" if latency <= 2 else "NOT met"),
        ("idle enqueue-to-start, p90", f"{sorted(latencies)[int(len(latencies) * 0.9)]:.2f} ms", "", ""),
    ])


if __name__ == "__main__":
    main()
