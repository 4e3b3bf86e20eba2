#!/usr/bin/env python3
"""A real third-party gRPC server for the interop tests: gRPC C-core through PyPI's `grpcio`
(which, like grpc-go, sends a bandwidth-estimation PING with the responses it writes).

    grpcio_echo_server.py STATS_FILE [--max-connection-age-ms N]

Serves `stub.v1.Stub/Call` and `fixtures.v1.KitchenService/Echo` on 127.0.0.1 (a free port,
printed on the first line of stdout): each call's request bytes are sent back unchanged (a
generic handler: no generated code, no protoc). With --max-connection-age-ms the server retires
each connection with GOAWAY after about that long, as a production server configured with
MaxConnectionAge does. When its stdin closes (the test is done, or gone) it writes to STATS_FILE,
as JSON: calls run, the largest number
of times one `idempotency-key` arrived, distinct keys, and the distinct client addresses seen
(one per TCP connection that made a call)."""
import json
import sys
import threading
from concurrent import futures

import grpc

lock = threading.Lock()
calls = 0
seen = {}
peers = set()


def echo(request, context):
    global calls
    key = dict(context.invocation_metadata()).get("idempotency-key")
    with lock:
        calls += 1
        seen[key] = seen.get(key, 0) + 1
        peers.add(context.peer())
    return request


def main():
    stats_file = sys.argv[1]
    options = []
    if "--max-connection-age-ms" in sys.argv:
        age = int(sys.argv[sys.argv.index("--max-connection-age-ms") + 1])
        options += [("grpc.max_connection_age_ms", age), ("grpc.max_connection_age_grace_ms", 60_000)]
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8), options=options)
    handler = grpc.unary_unary_rpc_method_handler(echo)
    server.add_generic_rpc_handlers((
        grpc.method_handlers_generic_handler("stub.v1.Stub", {"Call": handler}),
        grpc.method_handlers_generic_handler("fixtures.v1.KitchenService", {"Echo": handler}),
    ))
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    print(port, flush=True)
    # Stdin rather than a signal: a child of the test process may start with signals blocked, and
    # a test that dies closes the pipe too, so the server never outlives it.
    sys.stdin.read()
    server.stop(0)
    with lock:
        stats = {"calls": calls, "max_times_seen": max(seen.values(), default=0), "distinct_keys": len(seen),
                 "peers": len(peers)}
    with open(stats_file, "w") as f:
        json.dump(stats, f)


if __name__ == "__main__":
    main()
