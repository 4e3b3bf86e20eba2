/// A small bar chart of jobs finished per minute, as inline SVG (no script, no external asset).
struct ThroughputChart {
    /// Counts per minute, oldest first.
    var perMinute: [Int64]
    var width = 120
    var height = 28

    func svg() -> String {
        let peak = max(perMinute.max() ?? 0, 1)
        let count = max(perMinute.count, 1)
        let slot = Double(width) / Double(count)
        let total = perMinute.reduce(0, +)
        var svg =
            "<svg class=\"chart\" width=\"\(width)\" height=\"\(height)\" viewBox=\"0 0 \(width) \(height)\" role=\"img\">"
        svg += "<title>\(total) jobs in the last \(perMinute.count) minutes; peak \(peak) per minute</title>"
        svg += "<rect class=\"frame\" x=\"0\" y=\"0\" width=\"\(width)\" height=\"\(height)\"/>"
        for (index, value) in perMinute.enumerated() where value > 0 {
            let barHeight = max(1.0, Double(height) * Double(value) / Double(peak))
            svg +=
                "<rect class=\"bar\" x=\"\(format(Double(index) * slot))\" y=\"\(format(Double(height) - barHeight))\""
            svg += " width=\"\(format(max(1.0, slot - 1)))\" height=\"\(format(barHeight))\"/>"
        }
        return svg + "</svg>"
    }

    private func format(_ value: Double) -> String {
        String(Double(Int(value * 10)) / 10)
    }
}
