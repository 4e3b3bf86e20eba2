"""Helpers shared by the benchmark scripts: build, start the stub upstream, print tables."""
import os
import signal
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RELEASE = os.path.join(ROOT, ".build", "release")


def build(*products):
    """Release builds with the Swift runtime linked statically, as scripts/quickstart.sh builds."""
    subprocess.run([os.path.join(ROOT, "scripts", "ensure-sqlite.sh")], check=True)
    for product in products:
        subprocess.run(["swift", "build", "-c", "release", "--static-swift-stdlib", "--product", product], cwd=ROOT,
                       check=True, stdout=subprocess.DEVNULL)


def binary(name):
    return os.path.join(RELEASE, name)


class Stub:
    """The loopback JSON-RPC upstream (Benchmarks/UpstreamStubServer), stopped by its pid."""

    def __init__(self, threads=1, log_arrivals=False, tls=None, grpc=False):
        """tls: (certificate PEM, key PEM) to serve HTTPS; grpc: serve gRPC (echo) instead."""
        arguments = [binary("dispatcher-upstream-stub"), "0", str(threads)] + (["arrivals"] if log_arrivals else [])
        if tls:
            arguments += ["--tls", *tls]
        if grpc:
            arguments = [binary("dispatcher-upstream-stub"), "grpc", "0"]
        self.process = subprocess.Popen(arguments, stdout=subprocess.PIPE, text=True)
        self.port = int(self.process.stdout.readline())

    def arrival(self):
        """With log_arrivals: the next (job id, wall-clock seconds) the stub received."""
        job_id, micros = self.process.stdout.readline().split()
        return int(job_id), int(micros) / 1e6

    def stop(self):
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def wrk(port, connections=8, seconds=5):
    """Requests/s of wrk with the dispatcher's JSON-RPC POST on keep-alive connections."""
    if subprocess.run(["which", "wrk"], stdout=subprocess.DEVNULL).returncode != 0:
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], stdout=subprocess.DEVNULL, check=True)
    output = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "-s", os.path.join(ROOT, "scripts", "wrk-jsonrpc.lua"),
         f"http://127.0.0.1:{port}/"], capture_output=True, text=True, timeout=seconds + 30, check=True).stdout
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


def median(values):
    values = sorted(values)
    middle = len(values) // 2
    return values[middle] if len(values) % 2 else (values[middle - 1] + values[middle]) / 2
