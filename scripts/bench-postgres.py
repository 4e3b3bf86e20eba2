#!/usr/bin/env python3
"""PostgreSQL store, end to end: a throwaway PostgreSQL cluster on 127.0.0.1 (default durability
settings), `dispatcher enqueue --batch` of 100,000 jobs, then 100,000 jobs drained by one daemon
and by two daemons at once (W=8 each) against the local keep-alive JSON-RPC stub, beside
`wrk -c8` on the same stub in the same run, with each daemon's peak RSS."""
import os
import re
import subprocess
import tempfile
import time

from benchlib import ROOT, Stub, binary, build, table, wrk

JOBS = 100_000
WORKERS = 8
SERVER = os.path.join(ROOT, "scripts", "postgres-test-server.sh")


def psql_url(url, database):
    return re.sub(r"/[^/?]+(\?|$)", "/%s\\1" % database, url, count=1)


def create_database(dispatcher, server_url, name, directory):
    # The server's own database takes the CREATE DATABASE; psql is not needed.
    subprocess.run(["psql", server_url.replace("?sslmode=disable", ""), "-qc", f"CREATE DATABASE {name}"],
                   check=True, stdout=subprocess.DEVNULL)
    return psql_url(server_url, name)


def enqueue(dispatcher, url, batch):
    start = time.perf_counter()
    subprocess.run([dispatcher, "enqueue", "--db", url, "--batch", batch, "--quiet"], check=True,
                   stdout=subprocess.DEVNULL)
    return JOBS / (time.perf_counter() - start)


def drain(dispatcher, url, port, daemons):
    start = time.perf_counter()
    runs = [subprocess.Popen(
        ["/usr/bin/time", "-f", "peak_rss_kb=%M", dispatcher, "run", "--db", url, "--upstream",
         f"http://127.0.0.1:{port}/", "--workers", str(WORKERS), "--exit-when-idle", "--log-level", "warning"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True) for _ in range(daemons)]
    rss = []
    for run in runs:
        _, stderr = run.communicate(timeout=1800)
        if run.returncode != 0:
            raise RuntimeError("daemon failed:\n" + stderr[-2000:])
        rss.append(int(re.search(r"peak_rss_kb=(\d+)", stderr).group(1)) / 1024)
    elapsed = time.perf_counter() - start
    stats = subprocess.run([dispatcher, "stats", "--db", url, "--json"], capture_output=True, text=True,
                           check=True).stdout
    done = int(re.search(r'"succeeded":(\d+)', stats).group(1))
    return JOBS / elapsed, done, max(rss)


def main():
    build("dispatcher", "dispatcher-upstream-stub")
    dispatcher = binary("dispatcher")
    with tempfile.TemporaryDirectory() as directory:
        batch = os.path.join(directory, "jobs.ndjson")
        with open(batch, "w") as f:
            for i in range(JOBS):
                f.write('{"method":"eth_getBalance","params":["0x%040x","latest"]}\n' % i)
        server_dir = tempfile.mkdtemp(prefix="dispatcher-bench-pg.")
        server_url = subprocess.run([SERVER, "start", server_dir], capture_output=True, text=True,
                                    check=True).stdout.strip()
        os.environ["PGPASSWORD"] = "dispatcher-test"
        stub = Stub()
        try:
            wrk_rate = wrk(stub.port, connections=WORKERS)
            one = create_database(dispatcher, server_url, "bench_one", directory)
            enqueue_rate = enqueue(dispatcher, one, batch)
            one_rate, one_done, one_rss = drain(dispatcher, one, stub.port, 1)
            two = create_database(dispatcher, server_url, "bench_two", directory)
            enqueue(dispatcher, two, batch)
            two_rate, two_done, two_rss = drain(dispatcher, two, stub.port, 2)
        finally:
            stub.stop()
            subprocess.run([SERVER, "stop", server_dir], check=False)
    rss = max(one_rss, two_rss)
    table([
        (f"wrk -c{WORKERS} (same stub)", f"{wrk_rate:,.0f} req/s", "", ""),
        (f"enqueue --batch, {JOBS:,} jobs", f"{enqueue_rate:,.0f} jobs/s", ">= 100,000 jobs/s",
         "met" if enqueue_rate >= 100_000 else "NOT met"),
        (f"drain {JOBS:,} jobs, 1 daemon x {WORKERS} workers", f"{one_rate:,.0f} jobs/s", "", ""),
        (f"drain {JOBS:,} jobs, 2 daemons x {WORKERS} workers", f"{two_rate:,.0f} jobs/s", ">= 15,000 jobs/s",
         "met" if two_rate >= 15_000 else "NOT met"),
        ("jobs succeeded (1 daemon / 2 daemons)", f"{one_done:,} / {two_done:,}", f"{JOBS:,} each",
         "met" if one_done == JOBS and two_done == JOBS else "NOT met"),
        ("daemon peak RSS (largest)", f"{rss:.1f} MiB", "<= 60 MiB", "met" if rss <= 60 else "NOT met"),
    ])


if __name__ == "__main__":
    main()
