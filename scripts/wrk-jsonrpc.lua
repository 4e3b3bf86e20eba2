-- wrk script: the same JSON-RPC POST the dispatcher sends, on keep-alive connections.
wrk.method = "POST"
wrk.body = '{"jsonrpc":"2.0","method":"bench","params":[1],"id":1}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Idempotency-Key"] = "1"
