/// The figures of the overview page.
struct DashboardOverview: Sendable {
    var report: StatsReport
    /// Per queue, jobs finished (succeeded or failed) in each of the last 60 minutes, oldest first.
    var lastHour: [String: [Int64]]
}
