#!/usr/bin/env python3
"""End to end: `dispatcher run --workers 8` drains 100,000 queued jobs against the local
keep-alive JSON-RPC stub; printed beside `wrk -c8` on the same stub in the same run, with the
connections the daemon opened and its peak RSS. The same drain over HTTPS (the stub serving the
test certificate, the daemon trusting the test CA) follows in the same run: TLS / HTTP jobs/s.
Then the idle daemon's enqueue-to-start latency:
the median, over 100 single enqueues, of the time from `dispatcher enqueue` returning to the
upstream receiving the call. Then the same drain against a local gRPC upstream (grpc://, JSON
params encoded through the codec fixtures' protoset, results decoded back to JSON), served by a
lean gRPC server on swift-nio-http2, and once more served by the tests' recording gRPC stub.

    scripts/bench-daemon.py [--grpc-only | --headers-only | --ordering-only | --adaptive-only] [--rounds N]

wrk, the HTTP drain and the same drain with metrics on take turns `--rounds` times (default 3)
and their medians are reported, with each round's daemon / wrk ratio beside them: on a shared
machine two identical drains minutes apart can differ by a fifth.
Each round also drains the same jobs with two configured headers (an `Authorization` bearer
token and an API key): they are built into each connection's request template, so the drain
should be no slower. --grpc-only runs just wrk, the HTTP drain and the two gRPC drains;
--headers-only just wrk and the drains without and with the headers. With DISPATCHER_BENCH_BIN=DIR
the binaries in DIR are measured as they are (nothing is built).

--ordering-only drains the jobs plainly, with 1,000 distinct ordering keys (job i has key
i mod 1,000) and with --max-in-flight 8 (the worker count: the one daemon leases every slot),
taking turns; then the plain drain once more with 1,000,000 jobs waiting behind one
ordering key in the same queue (their first job is due in an hour and holds the key), timed until
the 100,000 due jobs have succeeded: the claim must not pay for the waiting jobs.

--adaptive-only drains the jobs with 8 fixed workers and with --adaptive (up to the same 8),
taking turns, against the stub that answers at once: what the adaptive limit costs where there
is no knee to find."""
import argparse
import os
import re
import subprocess
import tempfile
import time

from benchlib import ROOT, Stub, binary, build, enqueue_latencies, median, table, wrk

JOBS = 100_000
HEADERS = ("--header", "Authorization: Bearer 0123456789abcdef0123456789abcdef",
           "--header", "X-Api-Key: k-0123456789abcdef")
WORKERS = 8
LATENCY_SAMPLES = 100
FIXTURES = os.path.join(ROOT, "Tests", "Fixtures", "TLS")
PROTOSET = os.path.join(ROOT, "Tests", "WorkerPoolTests", "Fixtures", "ProtoJSON", "kitchen.protoset")


ORDERING_KEYS = 1_000
WAITING = 1_000_000


def drain(directory, port, extra=(), scheme="http", name=None, keys=0):
    grpc = scheme == "grpc"
    db = os.path.join(directory, "drain-%s.db" % (name or ("admin" if extra else "plain")))
    batch = os.path.join(directory, "jobs.ndjson")
    with open(batch, "w") as f:
        for i in range(JOBS):
            if grpc:
                f.write('{"method":"fixtures.v1.KitchenService/Echo","params":{"text":"0x%040x","numbers":[%d]}}\n'
                        % (i, i))
            elif keys:
                f.write('{"method":"eth_getBalance","params":["0x%040x","latest"],"ordering_key":"k%d"}\n'
                        % (i, i % keys))
            else:
                f.write('{"method":"eth_getBalance","params":["0x%040x","latest"]}\n' % i)
    upstream = f"grpc://127.0.0.1:{port}" if grpc else f"{scheme}://127.0.0.1:{port}/"
    if grpc:
        extra = (*extra, "--protoset", PROTOSET)
    dispatcher = binary("dispatcher")
    subprocess.run([dispatcher, "enqueue", "--db", db, "--batch", batch, "--quiet"], check=True,
                   stdout=subprocess.DEVNULL)
    start = time.perf_counter()
    run = subprocess.run(
        ["/usr/bin/time", "-f", "peak_rss_kb=%M user_s=%U sys_s=%S", dispatcher, "run", "--db", db, "--upstream",
         upstream, "--workers", str(WORKERS), "--exit-when-idle", "--log-level", "info", *extra],
        capture_output=True, text=True, timeout=900, check=True)
    elapsed = time.perf_counter() - start
    succeeded = subprocess.run([dispatcher, "list", "--db", db, "--state", "succeeded", "--limit", "0"],
                               capture_output=True, text=True, check=True)
    stats = subprocess.run([dispatcher, "stats", "--db", db, "--json"], capture_output=True, text=True,
                           check=True).stdout
    done = int(re.search(r'"succeeded":(\d+)', stats).group(1))
    stopped = [line for line in run.stderr.splitlines() if "dispatcher stopped" in line]
    opened = re.search(r"connections_opened=(\d+)", stopped[-1]) if stopped else None
    rss = int(re.search(r"peak_rss_kb=(\d+)", run.stderr).group(1))
    cpu = sum(float(re.search(name + r"=([\d.]+)", run.stderr).group(1)) for name in ("user_s", "sys_s"))
    return JOBS / elapsed, done, int(opened.group(1)) if opened else -1, rss, cpu / JOBS * 1e6


def drain_beside_waiting(directory, port):
    """The plain drain's jobs/s with WAITING jobs held behind one ordering key in the same queue,
    timed from the daemon's start until `stats` counts every due job succeeded."""
    dispatcher = binary("dispatcher")
    db = os.path.join(directory, "waiting.db")
    batch = os.path.join(directory, "waiting.ndjson")
    with open(batch, "w") as f:
        f.write('{"method":"eth_getBalance","params":[],"ordering_key":"held","delay_ms":3600000}\n')
        for i in range(WAITING - 1):
            f.write('{"method":"eth_getBalance","params":[%d],"ordering_key":"held"}\n' % i)
        for i in range(JOBS):
            f.write('{"method":"eth_getBalance","params":["0x%040x","latest"]}\n' % i)
    subprocess.run([dispatcher, "enqueue", "--db", db, "--batch", batch, "--quiet"], check=True,
                   stdout=subprocess.DEVNULL)
    start = time.perf_counter()
    daemon = subprocess.Popen([dispatcher, "run", "--db", db, "--upstream", f"http://127.0.0.1:{port}/",
                               "--workers", str(WORKERS), "--log-level", "warning"])
    done = 0
    try:
        deadline = start + 600
        while time.perf_counter() < deadline:
            stats = subprocess.run([dispatcher, "stats", "--db", db, "--json"], capture_output=True, text=True,
                                   check=True).stdout
            found = re.search(r'"succeeded":(\d+)', stats)
            done = int(found.group(1)) if found else 0
            if done >= JOBS:
                break
            time.sleep(0.05)
        elapsed = time.perf_counter() - start
    finally:
        daemon.terminate()
        daemon.wait(timeout=60)
    return JOBS / elapsed, done


def ordering_rows(rounds, waiting):
    """Rows for (wrk, plain drain, keyed drain) rounds and the drain beside the waiting jobs."""
    plain = median([r[1][0] for r in rounds])
    keyed = median([r[2][0] for r in rounds])
    done = min(r[2][1] for r in rounds)
    ratios = sorted(r[2][0] / r[1][0] for r in rounds)
    return [
        (f"dispatcher run, {JOBS:,} jobs, median of {len(rounds)}", f"{plain:,.0f} jobs/s", "", ""),
        (f"same drain, {ORDERING_KEYS:,} ordering keys", f"{keyed:,.0f} jobs/s", "", ""),
        ("keyed / plain (medians)", f"{keyed / plain:.2f}", ">= 0.80",
         "met" if keyed >= 0.8 * plain and done == JOBS else "NOT met"),
        ("keyed / plain, each round", ", ".join(f"{r:.2f}" for r in ratios), "", ""),
        ("daemon CPU per job plain / keyed", f"{median([r[1][4] for r in rounds]):.1f} / "
         f"{median([r[2][4] for r in rounds]):.1f} us", "", ""),
        (f"same drain with --max-in-flight {WORKERS}", f"{median([r[3][0] for r in rounds]):,.0f} jobs/s", "", ""),
        ("limited / plain (medians)", f"{median([r[3][0] for r in rounds]) / plain:.2f}", ">= 0.80",
         "met" if median([r[3][0] for r in rounds]) >= 0.8 * plain and min(r[3][1] for r in rounds) == JOBS
         else "NOT met"),
        (f"plain drain beside {WAITING:,} jobs waiting on one key", f"{waiting[0]:,.0f} jobs/s "
         f"({waiting[0] / plain:.2f} x plain)", ">= 0.80 x plain",
         "met" if waiting[0] >= 0.8 * plain and waiting[1] >= JOBS else "NOT met"),
    ]


def adaptive_rows(rounds):
    """Rows for (wrk, fixed drain, adaptive drain) rounds."""
    fixed = median([r[1][0] for r in rounds])
    adaptive = median([r[2][0] for r in rounds])
    ratios = sorted(r[2][0] / r[1][0] for r in rounds)
    return [
        (f"dispatcher run, {JOBS:,} jobs, {WORKERS} fixed workers, median of {len(rounds)}", f"{fixed:,.0f} jobs/s",
         "", ""),
        (f"same drain with --adaptive (up to {WORKERS})", f"{adaptive:,.0f} jobs/s", "", ""),
        ("adaptive / fixed (medians)", f"{adaptive / fixed:.2f}", "", ""),
        ("adaptive / fixed, each round", ", ".join(f"{r:.2f}" for r in ratios), "", ""),
    ]


def idle_latency(directory, stub):
    db = os.path.join(directory, "latency.db")
    dispatcher = binary("dispatcher")
    subprocess.run([dispatcher, "stats", "--db", db], check=True, stdout=subprocess.DEVNULL)
    daemon = subprocess.Popen([dispatcher, "run", "--db", db, "--upstream", f"http://127.0.0.1:{stub.port}/",
                               "--workers", str(WORKERS), "--log-level", "warning"])
    try:
        time.sleep(1)
        latencies = enqueue_latencies(dispatcher, db, stub, LATENCY_SAMPLES)
    finally:
        daemon.terminate()
        daemon.wait(timeout=60)
    return latencies


def grpc_drains(directory):
    """The gRPC drain against the lean server, then against the tests' recording stub."""
    results = []
    for kind, name in ((True, "grpc-lean"), ("grpc-stub", "grpc-stub")):
        stub = Stub(grpc=kind)
        try:
            results.append(drain(directory, stub.port, scheme="grpc", name=name))
        finally:
            stub.stop()
    return results


def grpc_rows(rate, http_cpu, lean, swift):
    grpc_rate, grpc_done, grpc_opened, grpc_rss, grpc_cpu = lean
    return [
        (f"gRPC drain (protoset), {JOBS:,} jobs, {WORKERS} workers", f"{grpc_rate:,.0f} jobs/s",
         f">= {0.7 * rate:,.0f} (0.7 x HTTP)", "met" if grpc_rate >= 0.7 * rate else "NOT met"),
        ("gRPC / HTTP", f"{grpc_rate / rate:.2f}", ">= 0.70", ""),
        ("gRPC jobs succeeded", f"{grpc_done:,}", f"{JOBS:,}", "met" if grpc_done == JOBS else "NOT met"),
        ("gRPC connections opened", str(grpc_opened), str(WORKERS), "met" if grpc_opened == WORKERS else "NOT met"),
        ("gRPC daemon peak RSS", f"{grpc_rss / 1024:.1f} MiB", "", ""),
        ("gRPC daemon CPU per job (user + sys)", f"{grpc_cpu:.1f} us ({grpc_cpu / http_cpu:.2f} x HTTP)",
         f"<= {2 * http_cpu:.1f} us (2 x HTTP)", "met" if grpc_cpu <= 2 * http_cpu else "NOT met"),
        ("same gRPC drain, tests' recording stub", f"{swift[0]:,.0f} jobs/s ({swift[0] / rate:.2f} x HTTP)", "",
         "" if swift[1] == JOBS else "NOT all succeeded"),
    ]


def alternate(directory, port, rounds, variants, keys=None):
    """wrk, then a drain per (name, extra flags) variant, taking turns `rounds` times: on a shared
    machine one drain can run 20 % faster than the next, so callers report medians. Returns one
    tuple per round: the wrk rate, then each variant's drain() result. `keys` gives each
    variant's number of ordering keys (none by default)."""
    results = []
    for index in range(rounds):
        row = [wrk(port, connections=WORKERS)]
        for position, (name, extra) in enumerate(variants):
            row.append(drain(directory, port, extra=extra, name=f"{name}-{index}",
                             keys=keys[position] if keys else 0))
        results.append(tuple(row))
    return results


def header_rows(rounds):
    """Rows for (wrk, plain drain, drain with HEADERS) rounds: medians and each round's ratio."""
    plain = median([r[1][0] for r in rounds])
    headers = median([r[2][0] for r in rounds])
    done = min(r[2][1] for r in rounds)
    ratios = sorted(r[2][0] / r[1][0] for r in rounds)
    plain_cpu = median([r[1][4] for r in rounds])
    headers_cpu = median([r[2][4] for r in rounds])
    return [
        (f"dispatcher run, {JOBS:,} jobs (HTTP), median of {len(rounds)}", f"{plain:,.0f} jobs/s", "", ""),
        (f"same drain with two headers, median of {len(rounds)}", f"{headers:,.0f} jobs/s", "", ""),
        ("with headers / without (medians)", f"{headers / plain:.2f}", ">= 1.00 (no slower)",
         "met" if headers >= plain and done == JOBS else "NOT met"),
        ("with headers / without, each round", ", ".join(f"{r:.2f}" for r in ratios), "", ""),
        # The stub parses the longer requests on the same cores: the daemon's own CPU says
        # whether the daemon pays for the headers.
        ("daemon CPU per job without / with headers", f"{plain_cpu:.1f} / {headers_cpu:.1f} us", "", ""),
    ]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--grpc-only", action="store_true", help="only wrk, the HTTP drain and the gRPC drains")
    parser.add_argument("--headers-only", action="store_true",
                        help="only wrk and the HTTP drain without and with two headers")
    parser.add_argument("--rounds", type=int, default=3,
                        help="rounds of wrk, the HTTP drain and the drain with metrics (medians are reported)")
    parser.add_argument("--ordering-only", action="store_true",
                        help="only the drain without and with ordering keys, and beside 1,000,000 waiting jobs")
    parser.add_argument("--adaptive-only", action="store_true",
                        help="only the drain with fixed workers and with --adaptive")
    arguments = parser.parse_args()
    build("dispatcher", "dispatcher-upstream-stub")
    if arguments.adaptive_only:
        with tempfile.TemporaryDirectory() as directory:
            stub = Stub()
            try:
                rounds = alternate(directory, stub.port, arguments.rounds, [("fixed", ()), ("adaptive", ("--adaptive",))])
            finally:
                stub.stop()
        table([
            (f"wrk -c{WORKERS} (same stub), median of {len(rounds)}", f"{median([r[0] for r in rounds]):,.0f} req/s",
             "", ""),
        ] + adaptive_rows(rounds))
        return
    if arguments.ordering_only:
        with tempfile.TemporaryDirectory() as directory:
            stub = Stub()
            try:
                rounds = alternate(directory, stub.port, arguments.rounds,
                                   [("plain", ()), ("keyed", ()), ("limited", ("--max-in-flight", str(WORKERS)))],
                                   keys=[0, ORDERING_KEYS, 0])
                waiting = drain_beside_waiting(directory, stub.port)
            finally:
                stub.stop()
        table([
            (f"wrk -c{WORKERS} (same stub), median of {len(rounds)}", f"{median([r[0] for r in rounds]):,.0f} req/s",
             "", ""),
        ] + ordering_rows(rounds, waiting))
        return
    if arguments.headers_only:
        with tempfile.TemporaryDirectory() as directory:
            stub = Stub()
            try:
                rounds = alternate(directory, stub.port, arguments.rounds, [("plain", ()), ("headers", HEADERS)])
            finally:
                stub.stop()
        table([
            (f"wrk -c{WORKERS} (same stub), median of {len(rounds)}", f"{median([r[0] for r in rounds]):,.0f} req/s",
             "", ""),
        ] + header_rows(rounds))
        return
    if arguments.grpc_only:
        with tempfile.TemporaryDirectory() as directory:
            stub = Stub()
            try:
                wrk_rate = wrk(stub.port, connections=WORKERS)
                rate, done, opened, rss, cpu_per_job = drain(directory, stub.port)
            finally:
                stub.stop()
            lean, swift = grpc_drains(directory)
        table([
            (f"wrk -c{WORKERS} (same stub)", f"{wrk_rate:,.0f} req/s", "", ""),
            (f"dispatcher run, {JOBS:,} jobs, {WORKERS} workers (HTTP)", f"{rate:,.0f} jobs/s", "", ""),
        ] + grpc_rows(rate, cpu_per_job, lean, swift))
        return
    with tempfile.TemporaryDirectory() as directory:
        stub = Stub()
        try:
            # The plain drain, the same with metrics exported (Prometheus registry, gauge
            # sampling) and the same with two headers.
            rounds = alternate(directory, stub.port, arguments.rounds,
                               [("plain", ()), ("admin", ("--admin", "127.0.0.1:0")), ("headers", HEADERS)])
        finally:
            stub.stop()
        wrk_rate = median([r[0] for r in rounds])
        rate = median([r[1][0] for r in rounds])
        admin_rate = median([r[2][0] for r in rounds])
        done = min(r[1][1] for r in rounds)
        admin_done = min(r[2][1] for r in rounds)
        opened = max(r[1][2] for r in rounds)
        rss = max(r[1][3] for r in rounds)
        cpu_per_job = median([r[1][4] for r in rounds])
        round_ratios = sorted(r[1][0] / r[0] for r in rounds)
        stub = Stub(tls=(os.path.join(FIXTURES, "server.pem"), os.path.join(FIXTURES, "server-key.pem")))
        try:
            tls_rate, tls_done, tls_opened, _, _ = drain(
                directory, stub.port, extra=("--ca-file", os.path.join(FIXTURES, "ca.pem")), scheme="https",
                name="tls")
        finally:
            stub.stop()
        stub = Stub(log_arrivals=True)
        try:
            latencies = idle_latency(directory, stub)
        finally:
            stub.stop()
        lean, swift = grpc_drains(directory)
    ratio = rate / wrk_rate
    latency = median(latencies)
    runs = f"median of {len(rounds)}"
    table([
        (f"wrk -c{WORKERS} (same stub), {runs}", f"{wrk_rate:,.0f} req/s", "", ""),
        (f"dispatcher run, {JOBS:,} jobs, {WORKERS} workers, {runs}", f"{rate:,.0f} jobs/s", ">= 50,000 jobs/s",
         "met" if rate >= 50_000 else "NOT met"),
        ("daemon / wrk (medians)", f"{ratio:.2f}", ">= 0.50", "met" if ratio >= 0.5 else "NOT met"),
        ("daemon / wrk, each round", ", ".join(f"{r:.2f}" for r in round_ratios), "", ""),
        (f"daemon CPU per job (user + sys), {runs}", f"{cpu_per_job:.1f} us", "<= 40 us",
         "met" if cpu_per_job <= 40 else "NOT met"),
        ("jobs succeeded", f"{done:,}", f"{JOBS:,}", "met" if done == JOBS else "NOT met"),
        ("upstream connections opened", str(opened), str(WORKERS), "met" if opened == WORKERS else "NOT met"),
        ("daemon peak RSS", f"{rss / 1024:.1f} MiB", "", ""),
        (f"same drain with --admin (metrics on), {runs}", f"{admin_rate:,.0f} jobs/s", "", ""),
        ("metrics overhead", f"{(1 - admin_rate / rate) * 100:.1f} %", "<= 5 %",
         "met" if admin_rate >= rate * 0.95 and admin_done == JOBS else "NOT met"),
        (f"same drain over HTTPS (TLS 1.3), {tls_opened} connections", f"{tls_rate:,.0f} jobs/s", "", ""),
        ("HTTPS / HTTP", f"{tls_rate / rate:.2f}", ">= 0.80",
         "met" if tls_rate >= rate * 0.8 and tls_done == JOBS and tls_opened == WORKERS else "NOT met"),
        (f"idle enqueue-to-start, median of {len(latencies)}", f"{latency:.1f} ms", "<= 10 ms",
         "met" if latency <= 10 else "NOT met"),
        ("idle enqueue-to-start, p90", f"{sorted(latencies)[int(len(latencies) * 0.9)]:.1f} ms", "", ""),
    ] + header_rows([(r[0], r[1], r[3]) for r in rounds]) + grpc_rows(rate, cpu_per_job, lean, swift))


if __name__ == "__main__":
    main()
