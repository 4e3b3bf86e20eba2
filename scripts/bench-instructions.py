#!/usr/bin/env python3
"""The yardstick: instructions per job of a daemon drain, split by component.

Timed figures on a shared machine wander by tens of percent; instruction counts do not. This
script drains JOBS jobs (default 10,000) through the release `dispatcher run --exit-when-idle
--workers 8` against the loopback JSON-RPC stub under `valgrind --tool=callgrind`, and prints the
instructions the daemon executed per job, split by component. (`perf stat -e instructions` would
be cheaper, but this machine's virtual CPU has no instruction counter: perf says "not supported".)

What is counted: a drain of N jobs minus a drain of 0 jobs (same flags, same empty-queue
checks), divided by N, so start-up, migrations and shutdown are not charged to the jobs.
Callgrind counts every thread of the daemon process; the stub runs outside valgrind.

How instructions are split. Each function's own (self) instructions go to one component:
  1. a function that matches a component's pattern (table below; first match wins) is that
     component: SQLite's library code, the channel, the completer, the claim side, ...;
  2. any other function (malloc, swift_retain, memcpy, the Swift runtime, NIO's buffers called
     from a worker) takes the components of its callers, weighted by the inclusive instructions
     of each call edge callgrind recorded: malloc called from the completer counts as completer,
     malloc called from SQLite as SQLite. A helper shared by two callers splits its callees'
     costs in the ratio of its own callers (callgrind keeps one level of caller per edge);
  3. functions nobody calls (thread entry points) are "other".
SQLite is further split by the component its callers belong to (claim / complete / background).

Caveat: under callgrind the daemon runs some 50 times slower, but its time-based batching (the
completer flushes after 2 ms) does not stretch, so its transactions hold fewer jobs than in a
native run, and per-transaction costs (BEGIN/COMMIT, WAL frames) weigh more. The script prints
the jobs per claim and per complete transaction it saw; compare runs of this script with each
other, not with native CPU figures.
Async Swift functions run as partial functions called by the executor; their demangled names
("await resume partial function for Dispatcher.Completer.write…") still name their function,
so they match the patterns like synchronous code. Executor and task-switch code itself is
"scheduling".

Usage: scripts/bench-instructions.py [--jobs N] [--build-dir .build/release] [--skip-build]
                                      [--keep DIR | --analyze DIR]
"""
import argparse
import collections
import os
import re
import shutil
import subprocess
import sys
import tempfile

from benchlib import RELEASE, Stub, build

# (component, regular expression on the entity name: the demangled function a closure,
# partial function or specialization belongs to, without its parameter list). First match wins.
COMPONENTS = [
    ("channel", r"^WorkerPool\.(BoundedChannel|WorkerPool\.submit|WorkerPool\.receive)"),
    ("completer", r"^Dispatcher\.(Completer|SQLiteJobStore\.complete|SQLiteStore\.complete|DaemonStore\.complete|HeldJobs\.remove"
                  r"|DaemonMetrics\.recordCompletions|PostgresStore\.complete)"),
    ("claim", r"^Dispatcher\.(Feeder|SQLiteJobStore\.claim|SQLiteStore\.claim|DaemonStore\.claim|HeldJobs\.insert"
              r"|DaemonMetrics\.recordClaimed|PostgresStore\.claim|ClaimedJob)"),
    ("background", r"^Dispatcher\.(WALWatcher|SQLiteChangeNotifier|ChangeBroadcast|LeaseKeeper|GaugeSampler"
                   r"|SQLiteCheckpointer"
                   r"|SQLiteStore\.(renewLeases|reapExpiredLeases|nextDue|unfinishedCount|pendingAndRunning"
                   r"|changeCounter)|SQLiteJobStore\.(renewLeases|reapExpiredLeases|nextRunAt|unfinishedCount"
                   r"|pendingAndRunning|dataVersion))"),
    ("scheduling", r"^(swift_task|swift_job|swift_continuation|swift::(runJob|.*Executor|.*Task|.*Actor|.*Job)"
                   r"|_dispatch|dispatch_|NIOPosix\.(Selectable"
                   r"EventLoop|MultiThreadedEventLoopGroup|Selector|NIOThread|ThreadOps)|Swift\.AsyncStream"
                   r"|Swift\.CheckedContinuation|Swift\.(With)?TaskGroup|Swift\.Task|\(anonymous namespace\)"
                   r"::(DefaultActor|Task|Job))"),
    ("worker+transport", r"^(WorkerPool\.|NIOCore\.|NIOPosix\.|NIOHTTP1\.|NIOSSL\.|NIOTLS\.|GRPC)"),
]
ORDER = ["claim", "channel", "worker+transport", "completer", "SQLite", "background", "scheduling", "other"]


def entity(name):
    """The function a demangled symbol belongs to, without parameters: 'closure #1 in
    Dispatcher.Feeder.run() async -> ()' -> 'Dispatcher.Feeder.run'."""
    name = name.replace("->", "=>")
    if " in conformance " in name:
        name = name.split(" in conformance ", 1)[0]
    while True:
        stripped = re.sub(r"<[^<>]*>", "", name)
        if stripped == name:
            break
        name = stripped
    index = name.rfind(" in ")
    if index >= 0:
        name = name[index + 4:]
    for marker in ("partial function for ", "specialization of ", " of ", "witness for "):
        index = name.find(marker)
        if index >= 0:
            name = name[index + len(marker):]
    name = re.sub(r"^((merged|static|async|dispatch thunk of|implicit closure #\d+) )+", "", name)
    return name.split("(", 1)[0].strip()


def demangle(names):
    mangled = [n for n in names if n.startswith(("$s", "_$s", "$S", "_$S"))]
    if not mangled:
        return {}
    output = subprocess.run(["swift", "demangle", "--compact"], input="\n".join(mangled) + "\n",
                            capture_output=True, text=True, check=True).stdout.splitlines()
    return dict(zip(mangled, output))


def parse(path):
    """Self cost per function and inclusive cost per call edge, from a callgrind.out file."""
    names = {"ob": {}, "fn": {}, "fl": {}}
    self_cost = collections.Counter()
    edges = collections.Counter()
    calls = collections.Counter()
    current_ob = current_fn = None
    call_target = None
    pending_call = False
    cob = None

    def resolve(kind, value):
        match = re.match(r"\((\d+)\)(?: (.*))?", value)
        if not match:
            return value
        if match.group(2) is not None:
            names[kind][match.group(1)] = match.group(2)
        return names[kind].get(match.group(1), value)

    with open(path, errors="replace") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line:
                continue
            head = line[0]
            if head.isdigit() or head in "+-*":
                parts = line.split()
                cost = int(parts[1]) if len(parts) > 1 else 0
                if pending_call:
                    edges[((current_ob, current_fn), call_target)] += cost
                    pending_call = False
                else:
                    self_cost[(current_ob, current_fn)] += cost
                continue
            key, _, value = line.partition("=")
            if key == "ob":
                current_ob = resolve("ob", value)
            elif key == "fn":
                current_fn = resolve("fn", value)
                cob = None
            elif key in ("fl", "fi", "fe"):
                resolve("fl", value)
            elif key == "cob":
                cob = resolve("ob", value)
            elif key in ("cfi", "cfl"):
                resolve("fl", value)
            elif key == "cfn":
                call_target = (cob or current_ob, resolve("fn", value))
                cob = None
            elif key == "calls":
                pending_call = True
                calls[call_target] += int(value.split()[0])
    return self_cost, edges, calls


def attribute(self_cost, edges, calls):
    """Instructions per component (see the module's doc comment), and how often the store's
    claim and complete ran."""
    functions = set(self_cost) | {caller for caller, _ in edges} | {callee for _, callee in edges}
    demangled = demangle({fn for _, fn in functions})
    # Calls of the store's claim and complete (whichever of the actor's method or the SQL
    # layer's the optimizer left as a function: the larger count).
    transactions = collections.Counter()
    for function, count in calls.items():
        name = demangled.get(function[1], function[1])
        if not name.startswith(("closure", "(")) and " in " not in name and "partial" not in name:
            for kind in ("claim", "complete"):
                if entity(name) in (f"Dispatcher.SQLiteJobStore.{kind}", f"Dispatcher.SQLiteStore.{kind}"):
                    transactions[kind, entity(name)] += count
    transactions = collections.Counter({
        kind: max([count for (k, _), count in transactions.items() if k == kind] or [0])
        for kind in ("claim", "complete")})
    patterns = [(name, re.compile(pattern)) for name, pattern in COMPONENTS]

    def own_component(function):
        ob, fn = function
        if "libsqlite3" in (ob or "") or fn.startswith("sqlite3"):
            return "SQLite"
        name = entity(demangled.get(fn, fn))
        for component, pattern in patterns:
            if pattern.search(name):
                return component
        return None

    own = {f: own_component(f) for f in functions}
    callers = collections.defaultdict(list)
    for (caller, callee), cost in edges.items():
        if caller != callee and cost > 0:
            callers[callee].append((caller, cost))

    # Two distributions per function: `share` (innermost component, SQLite included) and
    # `context` (the same with SQLite transparent, to split SQLite by who called it).
    def propagate(transparent):
        distribution = {}
        for f in functions:
            component = own[f] if own[f] not in transparent else None
            if component is not None:
                distribution[f] = {component: 1.0}
            else:
                distribution[f] = {"other": 1.0}
        fixed = {f for f in functions if own[f] is not None and own[f] not in transparent}
        for _ in range(60):
            changed = 0.0
            for f in functions:
                if f in fixed or not callers.get(f):
                    continue
                total = sum(cost for _, cost in callers[f])
                mix = collections.Counter()
                for caller, cost in callers[f]:
                    for component, fraction in distribution[caller].items():
                        mix[component] += fraction * cost / total
                old = distribution[f]
                changed += sum(abs(mix[c] - old.get(c, 0.0)) for c in set(mix) | set(old))
                distribution[f] = dict(mix)
            if changed < 1e-6:
                break
        return distribution

    share = propagate(transparent=set())
    context = propagate(transparent={"SQLite"})
    totals = collections.Counter()
    sqlite_by_caller = collections.Counter()
    for f, cost in self_cost.items():
        for component, fraction in share[f].items():
            totals[component] += cost * fraction
            if component == "SQLite":
                for caller_component, caller_fraction in context[f].items():
                    sqlite_by_caller[caller_component] += cost * fraction * caller_fraction
    return totals, sqlite_by_caller, transactions


def profile(dispatcher, stub_port, jobs, directory, tag, reuse=False):
    out = os.path.join(directory, f"callgrind.{tag}.out")
    if reuse:
        return attribute(*parse(out))
    db = os.path.join(directory, f"{tag}.db")
    batch = os.path.join(directory, f"{tag}.ndjson")
    with open(batch, "w") as f:
        for i in range(jobs):
            f.write('{"method":"eth_getBalance","params":["0x%040x","latest"]}\n' % i)
    subprocess.run([dispatcher, "stats", "--db", db], check=True, stdout=subprocess.DEVNULL)
    if jobs:
        subprocess.run([dispatcher, "enqueue", "--db", db, "--batch", batch, "--quiet"], check=True,
                       stdout=subprocess.DEVNULL)
    # Valgrind 3.19 cannot read the toolchain's DWARF 5 and gives up; the symbol table is all
    # this needs, so it runs a copy without debug information.
    stripped = os.path.join(directory, "dispatcher-no-debug-info")
    if not os.path.exists(stripped):
        shutil.copy(dispatcher, stripped)
        subprocess.run(["strip", "--strip-debug", stripped], check=True)
    subprocess.run(
        ["valgrind", "--tool=callgrind", "--dump-instr=no", "--dump-line=no", f"--callgrind-out-file={out}",
         stripped, "run", "--db", db, "--upstream", f"http://127.0.0.1:{stub_port}/", "--workers", "8",
         "--exit-when-idle", "--log-level", "warning"],
        check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=1800)
    stats = subprocess.run([dispatcher, "stats", "--db", db, "--json"], capture_output=True, text=True,
                           check=True).stdout
    succeeded = int(re.search(r'"succeeded":(\d+)', stats).group(1)) if jobs else 0
    if succeeded != jobs:
        sys.exit(f"only {succeeded} of {jobs} jobs succeeded under valgrind")
    return attribute(*parse(out))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--build-dir", default=RELEASE)
    parser.add_argument("--skip-build", action="store_true")
    parser.add_argument("--keep", help="keep the callgrind files in this folder")
    parser.add_argument("--analyze", help="only analyze the callgrind files kept earlier in this folder")
    arguments = parser.parse_args()
    if arguments.analyze:
        arguments.keep = arguments.analyze
        arguments.skip_build = True
    if shutil.which("valgrind") is None:
        subprocess.run(["apt-get", "install", "-y", "-qq", "valgrind"], stdout=subprocess.DEVNULL, check=True)
    if not arguments.skip_build:
        build("dispatcher-upstream-stub", "dispatcher")
    dispatcher = os.path.join(arguments.build_dir, "dispatcher")
    directory = arguments.keep or tempfile.mkdtemp()
    os.makedirs(directory, exist_ok=True)
    reuse = arguments.analyze is not None
    stub = Stub(directory=arguments.build_dir)
    try:
        empty, empty_sqlite, _ = profile(dispatcher, stub.port, 0, directory, "empty", reuse)
        full, full_sqlite, transactions = profile(dispatcher, stub.port, arguments.jobs, directory, "drain", reuse)
    finally:
        stub.stop()
        if not arguments.keep:
            shutil.rmtree(directory, ignore_errors=True)
    jobs = arguments.jobs
    per_job = {c: (full[c] - empty[c]) / jobs for c in ORDER}
    total = sum(per_job.values())
    rows = [("component", "instructions/job", "share")]
    for component in ORDER:
        rows.append((component, f"{per_job[component]:,.0f}", f"{per_job[component] / total * 100:.1f} %"))
        if component == "SQLite":
            for caller in ORDER:
                value = (full_sqlite[caller] - empty_sqlite[caller]) / jobs
                if abs(value) >= 1:
                    rows.append((f"  SQLite under {caller}", f"{value:,.0f}", ""))
    rows.append(("total", f"{total:,.0f}", "100 %"))
    rows.append(("start-up + shutdown (0-job run)", f"{sum(empty.values()):,.0f}", "(not per job)"))
    for kind in ("claim", "complete"):
        if transactions[kind]:
            rows.append((f"jobs per {kind} transaction", f"{jobs / transactions[kind]:,.1f}",
                         f"({transactions[kind]:,} calls)"))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    print(f"dispatcher run --workers 8 --exit-when-idle, {jobs:,} jobs, release build, callgrind")
    for row in rows:
        print(f"{row[0].ljust(widths[0])}  {row[1].rjust(widths[1])}  {row[2].rjust(widths[2])}")


if __name__ == "__main__":
    main()
