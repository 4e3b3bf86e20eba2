-- wrk script: one job per POST to the dispatcher's enqueue API (POST /v1/jobs), on keep-alive
-- connections. The queue is one the benchmark's daemon does not serve, so the figure is the
-- API's and the store's alone.
wrk.method = "POST"
wrk.body = '{"method":"ping","params":[1],"queue":"bench"}'
wrk.headers["Content-Type"] = "application/json"
