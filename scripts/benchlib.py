"""Helpers shared by the benchmark scripts: build, start the stub upstream, print tables."""
import argparse
import os
import queue
import signal
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# DISPATCHER_BENCH_BIN names a folder of already built binaries (e.g. `.build/release`) to measure
# as they are: nothing is built then.
PREBUILT = os.environ.get("DISPATCHER_BENCH_BIN")
RELEASE = PREBUILT or os.path.join(ROOT, ".build", "release")


def build(*products):
    """Release builds with the Swift runtime linked statically, as scripts/quickstart.sh builds."""
    if PREBUILT:
        return
    subprocess.run([os.path.join(ROOT, "scripts", "ensure-sqlite.sh")], check=True)
    for product in products:
        subprocess.run(["swift", "build", "-c", "release", "--static-swift-stdlib", "--manifest-cache", "none",
                        "--product", product], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)


def binary(name):
    return os.path.join(RELEASE, name)


class Stub:
    """The loopback JSON-RPC upstream (Benchmarks/UpstreamStubServer), stopped by its pid."""

    def __init__(self, threads=1, log_arrivals=False, tls=None, grpc=False, directory=None):
        """tls: (certificate PEM, key PEM) to serve HTTPS; grpc: serve gRPC (echo) instead, from the
        lean swift-nio-http2 server (True) or from the tests' recording stub ("grpc-stub");
        directory: where the stub binary is (default: the release build, or DISPATCHER_BENCH_BIN)."""
        executable = os.path.join(directory, "dispatcher-upstream-stub") if directory else binary(
            "dispatcher-upstream-stub")
        arguments = [executable, "0", str(threads)] + (["arrivals"] if log_arrivals else [])
        if tls:
            arguments += ["--tls", *tls]
        if grpc:
            arguments = [executable, "grpc-stub" if grpc == "grpc-stub" else "grpc", "0"]
        self.process = subprocess.Popen(arguments, stdout=subprocess.PIPE, text=True)
        self.port = int(self.process.stdout.readline())
        # Arrival lines are read by a thread, so a caller can wait for one with a time limit.
        self.lines = queue.Queue()
        if log_arrivals:
            threading.Thread(target=self._read_lines, daemon=True).start()

    def _read_lines(self):
        for line in self.process.stdout:
            self.lines.put(line)

    def arrival(self, timeout=60):
        """With log_arrivals: the next (job id, wall-clock seconds) the stub received; raises
        queue.Empty when none comes within `timeout` seconds."""
        job_id, micros = self.lines.get(timeout=timeout).split()
        return int(job_id), int(micros) / 1e6

    def stop(self):
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def wrk(port, connections=8, seconds=5, script="wrk-jsonrpc.lua", path="/"):
    """Requests/s of wrk POSTing `script`'s request on keep-alive connections (by default the
    dispatcher's JSON-RPC POST); fails when any answer was not a success."""
    if subprocess.run(["which", "wrk"], stdout=subprocess.DEVNULL).returncode != 0:
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], stdout=subprocess.DEVNULL, check=True)
    output = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "-s", os.path.join(ROOT, "scripts", script),
         f"http://127.0.0.1:{port}{path}"], capture_output=True, text=True, timeout=seconds + 30, check=True).stdout
    if "Non-2xx" in output or "Socket errors" in output:
        raise RuntimeError("wrk saw failed requests:\n" + output)
    for line in output.splitlines():
        if line.startswith("Requests/sec:"):
            return float(line.split()[1])
    raise RuntimeError("wrk printed no rate:\n" + output)


def table(rows):
    """Prints (name, value, target, verdict) rows as an aligned table."""
    header = ("measure", "value", "target", "")
    widths = [max(len(str(row[i])) for row in [header] + rows) for i in range(4)]
    for row in [header] + rows:
        print("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths)).rstrip())
    sys.stdout.flush()


def enqueue_until_called(dispatcher, db, stub, index):
    """Enqueues job `ping [index]` with `dispatcher enqueue` and waits for the stub (started with
    log_arrivals) to receive it; returns (launched, returned, arrived) wall-clock seconds: the
    command's start, its exit (the job is durable) and the call's arrival."""
    launched = time.time()
    out = subprocess.run([dispatcher, "enqueue", "--db", db, "--method", "ping", "--params", f"[{index}]"],
                         capture_output=True, text=True, check=True).stdout
    returned = time.time()
    job_id = int(out)
    while True:
        arrived_id, arrived_at = stub.arrival()
        if arrived_id == job_id:
            return launched, returned, arrived_at


def enqueue_latencies(dispatcher, db, stub, samples, spacing=0.03):
    """Milliseconds from `dispatcher enqueue` returning to the stub receiving the call, for
    `samples` single enqueues `spacing` seconds apart, against a daemon already running."""
    latencies = []
    for index in range(samples):
        _, returned, arrived_at = enqueue_until_called(dispatcher, db, stub, index)
        latencies.append((arrived_at - returned) * 1000)
        time.sleep(spacing)
    return latencies


def cpu_seconds(pid):
    """User + system CPU time a process has used so far, from /proc."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values, fraction):
    """The value below which `fraction` of `values` lie (nearest rank)."""
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * fraction))]


def median(values):
    values = sorted(values)
    middle = len(values) // 2
    return values[middle] if len(values) % 2 else (values[middle - 1] + values[middle]) / 2


def daemon_bench_setup(doc, log_arrivals=False):
    """The start of a benchmark of one daemon on a fresh SQLite file or `--db URL`: parses the
    command line (described by the script's `doc`), builds the release binaries, starts the
    stub; returns (arguments, the dispatcher binary, the stub)."""
    parser = argparse.ArgumentParser(description=doc.split("\n")[0])
    parser.add_argument("--db", help="a PostgreSQL URL instead of a fresh SQLite file")
    arguments = parser.parse_args()
    build("dispatcher", "dispatcher-upstream-stub")
    return arguments, binary("dispatcher"), Stub(log_arrivals=log_arrivals)
