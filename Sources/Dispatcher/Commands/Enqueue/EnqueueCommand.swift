import ArgumentParser

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// `dispatcher enqueue`: one job from flags, or many from NDJSON with `--batch`.
struct EnqueueCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "enqueue",
        abstract: "Store RPC jobs durably; prints each job's id.",
        discussion: """
            One job from flags:   dispatcher enqueue --method eth_call --params '{"to":"0x1"}'
            Many from NDJSON:     dispatcher enqueue --batch jobs.ndjson   (or --batch - for stdin)
            A batch line is {"method":..., "params":..., "queue":..., "key":..., "ordering_key":...,
            "priority":..., "delay_ms":..., "max_attempts":..., "timeout_ms":...}. A bad line rejects the whole batch.
            """
    )

    @OptionGroup var database: DatabaseOptions

    @Option(help: "The JSON-RPC method to call.") var method: String?
    @Option(help: "Call parameters: a JSON object or array.") var params: String?
    @Option(help: "Read the call parameters from a file.") var paramsFile: String?
    @Option(help: "Queue name.") var queue: String = "default"
    @Option(help: "Idempotency key, unique per queue: a known key returns the existing job's id.") var key: String?
    @Option(
        help: "Ordering key: the queue's jobs with one key run one at a time, in the order they were enqueued.")
    var orderingKey: String?
    @Option(help: "Higher runs first.") var priority: Int64 = 0
    @Option(help: "Run no earlier than this long from now (e.g. 30s, 5m).") var delay: String?
    @Option(help: "Run no earlier than this RFC 3339 time (e.g. 2026-12-01T10:00:00Z).") var at: String?
    @Option(help: "Attempts before the job fails for good (default: the queue's).") var maxAttempts: Int64?
    @Option(help: "Per-call timeout (default: the queue's), e.g. 5s.") var timeout: String?

    @Flag(help: "Read NDJSON jobs from FILE, or stdin when FILE is - or absent.") var batch = false
    @Argument(help: "With --batch: the NDJSON file (- for stdin).") var file: String?
    @Flag(help: "With --batch: print only the number of jobs instead of their ids.") var quiet = false
    @Option(help: "With --batch: jobs per transaction.") var chunkSize = 10_000

    func run() async throws {
        if batch {
            try await runBatch()
        } else {
            try await runSingle()
        }
    }

    private func runSingle() async throws {
        guard file == nil else { throw DispatcherError("a FILE argument needs --batch") }
        guard let method else { throw DispatcherError("--method is required (or use --batch)") }
        let now = WallClock.nowMilliseconds()
        var job = NewJob(
            queue: try JobInput.validateName(queue, field: "queue"),
            method: try JobInput.validateName(method, field: "method"),
            idempotencyKey: try key.map { try JobInput.validateName($0, field: "key") },
            priority: try JobInput.validatePriority(priority),
            runAt: now,
            maxAttempts: try JobInput.validateMaxAttempts(maxAttempts),
            timeoutMilliseconds: try JobInput.validateTimeout(
                timeout.map { try DurationParser.milliseconds($0, what: "timeout") }),
            orderingKey: try orderingKey.map { try JobInput.validateName($0, field: "ordering key") }
        )
        switch (params, paramsFile) {
        case (let text?, nil): job.params = try JobInput.validateParams(text)
        case (nil, let path?):
            job.params = try JobInput.validateParams(String(decoding: try InputFile.contents(of: path), as: UTF8.self))
        case (nil, nil): break
        case (_?, _?): throw DispatcherError("use either --params or --params-file, not both")
        }
        switch (delay, at) {
        case (let text?, nil):
            job.runAt = now + (try JobInput.validateDelay(DurationParser.milliseconds(text, what: "delay")))
        case (nil, let text?): job.runAt = try Timestamp.parse(text)
        case (nil, nil): break
        case (_?, _?): throw DispatcherError("use either --delay or --at, not both")
        }
        let single = job
        let result = try await database.withStore { try await $0.enqueue([single], now: now)[0] }
        if !result.created {
            Output.error(
                "job \(result.id) already has key '\(job.idempotencyKey ?? "")' in queue '\(job.queue)'; nothing enqueued"
            )
        }
        Output.write("\(result.id)\n")
    }

    private func runBatch() async throws {
        let flagsForSingleJobs: [(String, Bool)] = [
            ("--method", method != nil), ("--params", params != nil), ("--params-file", paramsFile != nil),
            ("--key", key != nil), ("--ordering-key", orderingKey != nil), ("--delay", delay != nil),
            ("--at", at != nil),
            ("--max-attempts", maxAttempts != nil), ("--timeout", timeout != nil),
        ]
        if let flag = flagsForSingleJobs.first(where: \.1) {
            throw DispatcherError("\(flag.0) describes a single job; with --batch put it in each NDJSON line")
        }
        guard chunkSize >= 1 else { throw DispatcherError("--chunk-size must be at least 1") }
        let now = WallClock.nowMilliseconds()
        // The whole input is validated before anything is written, so one bad line rejects the
        // batch; the parsed jobs wait in a temporary file (stdin cannot be read twice, and a
        // million jobs in memory would cost hundreds of megabytes). Then each chunk commits on
        // its own, so a huge batch does not hold the write lock (and the daemon) for its whole
        // length: a running daemon claims and completes between chunks.
        let spool = try BatchSpool()
        try BatchParser(now: now).parse(contentsOf: file ?? "-") { try spool.append($0) }
        try spool.rewind()
        let total = spool.count
        let (chunkSize, quiet) = (self.chunkSize, self.quiet)
        let existing = try await database.withStore { store in
            var existing = 0
            var written = 0
            var out = [UInt8]()
            do {
                while true {
                    let chunk = try spool.next(chunkSize)
                    if chunk.isEmpty { break }
                    let results = try await store.enqueue(chunk, now: now)
                    written += results.count
                    out.removeAll(keepingCapacity: true)
                    for result in results {
                        if !result.created { existing += 1 }
                        if !quiet {
                            out.append(contentsOf: String(result.id).utf8)
                            out.append(UInt8(ascii: "\n"))
                        }
                    }
                    Output.write(out)
                }
            } catch  where written > 0 {
                throw DispatcherError(
                    "\(error) (\(written) of \(total) jobs were committed before the failure; their ids are printed)"
                )
            }
            return existing
        }
        if quiet {
            Output.write("\(total)\n")
        }
        if existing > 0 {
            Output.error(
                "\(existing) of \(total) jobs had an idempotency key already known; their existing ids are printed"
            )
        }
    }
}
