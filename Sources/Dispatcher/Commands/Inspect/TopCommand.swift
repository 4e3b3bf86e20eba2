import ArgumentParser

/// `dispatcher top`: a live view of the queues, refreshed every second from the database.
struct TopCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "top",
        abstract: "Live view: jobs per state, last minute's throughput and latencies, recent failures.",
        discussion: "Reads the database only; works with or without a running daemon. q or Ctrl-C quits.")

    @OptionGroup var database: DatabaseOptions
    @Flag(help: "Print one frame and exit (for scripts).") var once = false
    @Option(help: "Seconds between refreshes.") var interval = 1.0

    func run() async throws {
        guard interval >= 0.1 && interval <= 3600 else {
            throw DispatcherError("--interval must be between 0.1 and 3600")
        }
        let location = try database.location()
        let (once, interval) = (self.once, self.interval)
        guard once || Terminal.isInteractive else {
            throw DispatcherError("top needs a terminal; use --once for a single frame")
        }
        try await location.withOperatorStore { store in
            if once {
                Output.write(
                    try await Self.frame(store: store, name: location.displayName, now: WallClock.nowMilliseconds()))
                return
            }
            try await Self.live(store: store, name: location.displayName, interval: interval)
        }
    }

    /// Redraws the frame every `interval` seconds until q, Ctrl-C or Ctrl-D.
    private static func live(store: any OperatorStore, name: String, interval: Double) async throws {
        let terminal = Terminal()
        try terminal.enter()
        defer { terminal.restore() }
        while true {
            let frame = try await Self.frame(store: store, name: name, now: WallClock.nowMilliseconds())
            // Redraw in place: home, each line cleared to its end, the rest of the screen cleared.
            let lines = frame.split(separator: "\n", omittingEmptySubsequences: false)
            Output.write(
                Terminal.Sequence.home + lines.joined(separator: Terminal.Sequence.clearLine + "\r\n")
                    + Terminal.Sequence.clearBelow)
            let deadline = WallClock.nowMilliseconds() + Int64(interval * 1000)
            while case let remaining = deadline - WallClock.nowMilliseconds(), remaining > 0 {
                switch terminal.readKey(timeoutMilliseconds: Int32(remaining)) {
                case UInt8(ascii: "q")?, UInt8(ascii: "Q")?, 3?, 4?: return  // q, Ctrl-C, Ctrl-D
                default: continue
                }
            }
        }
    }

    /// The running daemons per queue, from their `queue_slots` rows: the calls each may have in
    /// flight now (its adaptive limit or workers, cut to its slots), the slots it leases of the
    /// queue's `max_in_flight`, and its calls in flight plus workers waiting for a slot.
    static func daemonTable(_ rows: [QueueSlotRow]) -> String {
        guard !rows.isEmpty else { return "none running\n" }
        var table = TableFormatter(headers: ["QUEUE", "DAEMON", "CONCURRENCY", "SLOTS", "DEMAND"])
        for row in rows {
            table.append([
                row.queue, row.owner, String(row.concurrencyLimit),
                row.maxInFlight.map { "\(row.slots) of \($0)" } ?? "-", String(row.demand),
            ])
        }
        return table.render()
    }

    /// One screen: the stats table, the running daemons and the most recent failures.
    static func frame(store: any OperatorStore, name: String, now: Int64) async throws -> String {
        let report = StatsReport(now: now, statistics: try await store.statistics(now: now))
        var text = "dispatcher top — \(name) — \(Timestamp.format(now))   (q to quit)\n\n"
        text += report.queues.isEmpty ? "no jobs yet\n" : report.table()
        text += "\nDAEMONS\n" + daemonTable(try await store.queueSlots())
        let failures = try await store.recentFailures(limit: 5)
        text += "\nRECENT FAILURES\n"
        if failures.isEmpty {
            text += "none\n"
        } else {
            var table = TableFormatter(headers: ["ID", "QUEUE", "METHOD", "FINISHED", "ERROR"])
            for failure in failures {
                table.append([
                    String(failure.id), failure.queue, failure.method, Timestamp.format(failure.finishedAt),
                    failure.error,
                ])
            }
            text += table.render()
        }
        return text
    }
}
