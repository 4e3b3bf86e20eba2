extension DashboardPages {
    /// The Schedules page: what `dispatcher schedules` shows, with each last job linked and the
    /// queues that are paused marked (their scheduled jobs are enqueued, not delivered).
    func schedules(_ report: ScheduleReport, paused: Set<String>) -> String {
        var html = HTML()
        html.raw("<h1>Schedules</h1>")
        if report.rows.isEmpty {
            html.raw("<p class=\"muted\">No schedule yet: add <code>schedules</code> to a daemon's config file.</p>")
            return page(title: "Schedules", notice: nil, html.text)
        }
        html.raw("<table class=\"schedules\"><thead><tr>")
        for header in ["Name", "Cron", "Time zone", "Queue", "Method", "Next slot", "Last slot", "Last job", "State"] {
            html.element("th", [], header)
        }
        html.raw("</tr></thead><tbody>")
        for row in report.rows {
            html.open("tr", [("data-schedule", row.name)])
            html.element("td", [], row.name)
            html.element("td", [], row.cron)
            html.element("td", [], row.timezone)
            html.raw("<td>")
            html.text(row.queue)
            if paused.contains(row.queue) {
                html.element("span", [("class", "badge warn"), ("title", "enqueued, not delivered")], "paused")
            }
            html.raw("</td>")
            html.element("td", [], row.method)
            html.element("td", [("data-field", "next")], row.nextSlot.map(Timestamp.format) ?? "–")
            html.element("td", [("data-field", "last")], row.lastSlot.map(Timestamp.format) ?? "–")
            html.raw("<td>")
            if let id = row.lastJobID {
                html.element("a", [("href", "/jobs/\(id)")], String(id))
            } else {
                html.text("–")
            }
            html.raw("</td>")
            html.element("td", [("data-field", "state")], row.lastJobState ?? "–")
            html.raw("</tr>")
        }
        html.raw("</tbody></table>")
        return page(title: "Schedules", notice: nil, html.text)
    }
}
