#!/usr/bin/env python3
"""PostgreSQL store, end to end: a throwaway PostgreSQL cluster on 127.0.0.1 (default durability
settings), `dispatcher enqueue --batch` of 100,000 jobs, then 100,000 jobs drained by one daemon
and by two daemons at once (W=8 each) against the local keep-alive JSON-RPC stub, beside
`wrk -c8` on the same stub in the same run, with each daemon's peak RSS. Then the idle daemon's
enqueue-to-upstream latency: single enqueues spaced out (the daemon idle between them), the time
from `dispatcher enqueue` returning to the upstream receiving the call (median and p90), and the
CPU the daemon spent while idle (it must not busy-poll).

    scripts/bench-postgres.py [--idle-only | --two-only] [--samples N] [--spacing-ms MS]
    scripts/bench-postgres.py --through-pgbouncer session|transaction [--samples N]

With --through-pgbouncer, a pgbouncer with its default settings (scripts/pgbouncer-test-server.sh)
runs in front of the cluster in the given pool_mode, and the batch enqueue and the 2-daemon drain
are measured directly and through it in the same run (each on a fresh database), then the idle
latency through it; in transaction mode the daemons take ?pooling=transaction and --listen-db
naming the server directly.

With DISPATCHER_BENCH_BIN=DIR the binaries in DIR are measured as they are (nothing is built)."""
import argparse
import os
import re
import subprocess
import tempfile
import time

from benchlib import ROOT, Stub, binary, build, cpu_seconds, median, percentile, table, wrk

JOBS = 100_000
WORKERS = 8
SERVER = os.path.join(ROOT, "scripts", "postgres-test-server.sh")
POOLER = os.path.join(ROOT, "scripts", "pgbouncer-test-server.sh")


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


def server_cpu_seconds(server_dir):
    """CPU time the PostgreSQL server has used so far: the postmaster, its children that still
    run, and (through the postmaster's cutime/cstime) the ones that already exited."""
    with open(os.path.join(server_dir, "data", "postmaster.pid")) as f:
        postmaster = int(f.readline())
    with open(f"/proc/{postmaster}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = sum(int(fields[i]) for i in (11, 12, 13, 14))
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                child = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(child[1]) == postmaster:
            ticks += int(child[11]) + int(child[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def drain(dispatcher, url, stub, daemons, server_dir, extra=()):
    """Jobs/s, jobs succeeded, the largest peak RSS (MiB), and CPU µs per job of the daemons,
    the PostgreSQL server and the stub."""
    server_cpu, stub_cpu = server_cpu_seconds(server_dir), cpu_seconds(stub.process.pid)
    start = time.perf_counter()
    runs = [subprocess.Popen(
        ["/usr/bin/time", "-f", "peak_rss_kb=%M cpu=%U+%S", dispatcher, "run", "--db", url, "--upstream",
         f"http://127.0.0.1:{stub.port}/", "--workers", str(WORKERS), "--exit-when-idle", "--log-level", "warning",
         *extra],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True) for _ in range(daemons)]
    rss = []
    daemon_cpu = 0.0
    for run in runs:
        _, stderr = run.communicate(timeout=1800)
        if run.returncode != 0:
            raise RuntimeError("daemon failed:\n" + stderr[-2000:])
        rss.append(int(re.search(r"peak_rss_kb=(\d+)", stderr).group(1)) / 1024)
        user, system = re.search(r"cpu=([\d.]+)\+([\d.]+)", stderr).groups()
        daemon_cpu += float(user) + float(system)
    elapsed = time.perf_counter() - start
    cpu = {"daemons": daemon_cpu, "postgres": server_cpu_seconds(server_dir) - server_cpu,
           "stub": cpu_seconds(stub.process.pid) - stub_cpu}
    stats = subprocess.run([dispatcher, "stats", "--db", url, "--json"], capture_output=True, text=True,
                           check=True).stdout
    done = int(re.search(r'"succeeded":(\d+)', stats).group(1))
    return JOBS / elapsed, done, max(rss), {name: seconds * 1e6 / JOBS for name, seconds in cpu.items()}


def idle_latency(dispatcher, url, samples, spacing, extra=()):
    """Enqueue-to-upstream latencies (ms) of `samples` single enqueues `spacing` seconds apart,
    and the daemon's CPU per second of wall time over the whole run."""
    stub = Stub(log_arrivals=True)
    daemon = subprocess.Popen([dispatcher, "run", "--db", url, "--upstream", f"http://127.0.0.1:{stub.port}/",
                               "--workers", str(WORKERS), "--log-level", "warning", *extra])
    latencies = []
    try:
        time.sleep(2)
        cpu_start, wall_start = cpu_seconds(daemon.pid), time.perf_counter()
        # One call first so the worker's connection is open, as on a daemon that has run before.
        for index in range(-1, samples):
            out = subprocess.run([dispatcher, "enqueue", "--db", url, "--method", "ping", f"--params=[{index}]"],
                                 capture_output=True, text=True, check=True).stdout
            returned = time.time()
            job_id = int(out)
            while True:
                arrived_id, arrived_at = stub.arrival(timeout=30)
                if arrived_id == job_id:
                    break
            if index >= 0:
                latencies.append((arrived_at - returned) * 1000)
            time.sleep(spacing)
        cpu = (cpu_seconds(daemon.pid) - cpu_start) / (time.perf_counter() - wall_start)
    finally:
        daemon.terminate()
        daemon.wait(timeout=60)
        stub.stop()
    return latencies, cpu


def parse_arguments():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--idle-only", action="store_true", help="measure only the idle enqueue-to-upstream latency")
    parser.add_argument("--two-only", action="store_true",
                        help="only the 2-daemon drain (with its enqueue), for repeated measurements")
    parser.add_argument("--samples", type=int, default=100, help="single enqueues for the idle latency")
    parser.add_argument("--spacing-ms", type=int, default=200, help="pause after each single enqueue")
    parser.add_argument("--jobs", type=int, default=JOBS, help="jobs per enqueue and drain (default 100,000)")
    parser.add_argument("--through-pgbouncer", choices=["session", "transaction"],
                        help="enqueue and 2-daemon drain directly and through pgbouncer in this pool_mode")
    return parser.parse_args()


def write_batch(directory):
    """Writes the JOBS plain jobs every drain here enqueues; returns the file's path."""
    batch = os.path.join(directory, "jobs.ndjson")
    with open(batch, "w") as f:
        for i in range(JOBS):
            f.write('{"method":"eth_getBalance","params":["0x%040x","latest"]}\n' % i)
    return batch


def start_server(server_dir):
    """Starts the tests' PostgreSQL server in `server_dir` and returns its URL."""
    server_url = subprocess.run([SERVER, "start", server_dir], capture_output=True, text=True,
                                check=True).stdout.strip()
    os.environ["PGPASSWORD"] = "dispatcher-test"
    return server_url


def through_pgbouncer(dispatcher, mode, samples, spacing):
    """The batch enqueue and the 2-daemon drain, directly and through pgbouncer in `mode`, then
    the idle latency through it."""
    with tempfile.TemporaryDirectory() as directory:
        batch = write_batch(directory)
        server_dir = tempfile.mkdtemp(prefix="dispatcher-bench-pg.")
        pooler_dir = tempfile.mkdtemp(prefix="dispatcher-bench-pgbouncer.")
        server_url = start_server(server_dir)
        stub = Stub()
        try:
            pooler_url = subprocess.run([POOLER, "start", pooler_dir, server_url, mode], capture_output=True,
                                        text=True, check=True).stdout.strip()

            def pooled(name):
                direct = create_database(dispatcher, server_url, name, directory)
                url = psql_url(pooler_url, name) + ("&pooling=transaction" if mode == "transaction" else "")
                return url, (["--listen-db", direct] if mode == "transaction" else [])

            direct = create_database(dispatcher, server_url, "bench_direct", directory)
            direct_enqueue = enqueue(dispatcher, direct, batch)
            direct_rate, direct_done, _, direct_cpu = drain(dispatcher, direct, stub, 2, server_dir)
            url, extra = pooled("bench_pooled")
            pooled_enqueue = enqueue(dispatcher, url, batch)
            pooled_rate, pooled_done, _, pooled_cpu = drain(dispatcher, url, stub, 2, server_dir, extra)
            idle_url, idle_extra = pooled("bench_pooled_idle")
            latencies, cpu = idle_latency(dispatcher, idle_url, samples, spacing, idle_extra)
        finally:
            stub.stop()
            subprocess.run([POOLER, "stop", pooler_dir], check=False)
            subprocess.run([SERVER, "stop", server_dir], check=False)
    ratio = lambda pooled, direct: f"{pooled / direct:.2f} x direct"
    table([
        (f"enqueue --batch, {JOBS:,} jobs, direct", f"{direct_enqueue:,.0f} jobs/s", "", ""),
        (f"enqueue --batch, {JOBS:,} jobs, pgbouncer {mode}", f"{pooled_enqueue:,.0f} jobs/s",
         ratio(pooled_enqueue, direct_enqueue), "met" if pooled_enqueue >= 0.8 * direct_enqueue else "NOT met"),
        (f"drain {JOBS:,} jobs, 2 daemons x {WORKERS} workers, direct", f"{direct_rate:,.0f} jobs/s", "", ""),
        (f"drain {JOBS:,} jobs, 2 daemons x {WORKERS} workers, pgbouncer {mode}", f"{pooled_rate:,.0f} jobs/s",
         ratio(pooled_rate, direct_rate), "met" if pooled_rate >= 0.8 * direct_rate else "NOT met"),
        ("CPU per job, direct: daemons / PostgreSQL / stub", cpu_row(direct_cpu), "", ""),
        (f"CPU per job, pgbouncer {mode}: daemons / PostgreSQL / stub", cpu_row(pooled_cpu), "", ""),
        ("jobs succeeded (direct / pgbouncer)", f"{direct_done:,} / {pooled_done:,}", f"{JOBS:,} each",
         "met" if direct_done == JOBS and pooled_done == JOBS else "NOT met"),
    ] + [(f"pgbouncer {mode}: " + row[0],) + row[1:] for row in idle_rows(latencies, cpu)])


def main():
    arguments = parse_arguments()
    global JOBS
    JOBS = arguments.jobs
    build("dispatcher", "dispatcher-upstream-stub")
    dispatcher = binary("dispatcher")
    if arguments.through_pgbouncer:
        through_pgbouncer(dispatcher, arguments.through_pgbouncer, arguments.samples, arguments.spacing_ms / 1000)
        return
    if arguments.idle_only:
        server_dir = tempfile.mkdtemp(prefix="dispatcher-bench-pg.")
        server_url = start_server(server_dir)
        try:
            latencies, cpu = idle_latency(dispatcher, create_database(dispatcher, server_url, "bench_idle", None),
                                          arguments.samples, arguments.spacing_ms / 1000)
        finally:
            subprocess.run([SERVER, "stop", server_dir], check=False)
        table(idle_rows(latencies, cpu))
        return
    with tempfile.TemporaryDirectory() as directory:
        batch = write_batch(directory)
        server_dir = tempfile.mkdtemp(prefix="dispatcher-bench-pg.")
        server_url = start_server(server_dir)
        stub = Stub()
        try:
            if arguments.two_only:
                two = create_database(dispatcher, server_url, "bench_two", directory)
                enqueue_rate = enqueue(dispatcher, two, batch)
                two_rate, two_done, two_rss, two_cpu = drain(dispatcher, two, stub, 2, server_dir)
                table([
                    (f"enqueue --batch, {JOBS:,} jobs", f"{enqueue_rate:,.0f} jobs/s", "", ""),
                    (f"drain {JOBS:,} jobs, 2 daemons x {WORKERS} workers", f"{two_rate:,.0f} jobs/s",
                     ">= 15,000 jobs/s", "met" if two_rate >= 15_000 else "NOT met"),
                    ("CPU per job, 2 daemons: daemons / PostgreSQL / stub", cpu_row(two_cpu), "", ""),
                    ("jobs succeeded", f"{two_done:,}", f"{JOBS:,}", "met" if two_done == JOBS else "NOT met"),
                    ("daemon peak RSS (largest)", f"{two_rss:.1f} MiB", "<= 60 MiB", ""),
                ])
                return
            wrk_rate = wrk(stub.port, connections=WORKERS)
            one = create_database(dispatcher, server_url, "bench_one", directory)
            enqueue_rate = enqueue(dispatcher, one, batch)
            one_rate, one_done, one_rss, one_cpu = drain(dispatcher, one, stub, 1, server_dir)
            two = create_database(dispatcher, server_url, "bench_two", directory)
            enqueue(dispatcher, two, batch)
            two_rate, two_done, two_rss, two_cpu = drain(dispatcher, two, stub, 2, server_dir)
            latencies, cpu = idle_latency(dispatcher, create_database(dispatcher, server_url, "bench_idle", directory),
                                          arguments.samples, arguments.spacing_ms / 1000)
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
        ("CPU per job, 1 daemon: daemon / PostgreSQL / stub", cpu_row(one_cpu), "", ""),
        ("CPU per job, 2 daemons: daemons / PostgreSQL / stub", cpu_row(two_cpu), "", ""),
        ("jobs succeeded (1 daemon / 2 daemons)", f"{one_done:,} / {two_done:,}", f"{JOBS:,} each",
         "met" if one_done == JOBS and two_done == JOBS else "NOT met"),
        ("daemon peak RSS (largest)", f"{rss:.1f} MiB", "<= 60 MiB", "met" if rss <= 60 else "NOT met"),
    ] + idle_rows(latencies, cpu))


def cpu_row(cpu):
    return " / ".join(f"{cpu[name]:.0f}" for name in ("daemons", "postgres", "stub")) + " µs"


def idle_rows(latencies, cpu):
    latency = median(latencies)
    return [
        (f"idle enqueue-to-upstream, median of {len(latencies)}", f"{latency:.1f} ms", "<= 50 ms",
         "met" if latency <= 50 else "NOT met"),
        ("idle enqueue-to-upstream, p90", f"{percentile(latencies, 0.9):.1f} ms", "", ""),
        ("idle daemon CPU (no busy polling)", f"{cpu * 100:.1f} % of a core", "", ""),
    ]


if __name__ == "__main__":
    main()
