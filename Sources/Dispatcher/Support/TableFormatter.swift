/// Renders rows as a left-aligned text table with a header, for people.
struct TableFormatter {
    var headers: [String]
    var rows: [[String]] = []
    /// Cells wider than this are cut and end with an ellipsis.
    var maximumCellWidth = 48

    init(headers: [String]) {
        self.headers = headers
    }

    mutating func append(_ row: [String]) {
        rows.append(
            row.map { cell in
                let flat = cell.replacingNewlines()
                return flat.count > maximumCellWidth ? String(flat.prefix(maximumCellWidth - 1)) + "…" : flat
            })
    }

    func render() -> String {
        var widths = headers.map(\.count)
        for row in rows {
            for (column, cell) in row.enumerated() where column < widths.count {
                widths[column] = max(widths[column], cell.count)
            }
        }
        func line(_ cells: [String]) -> String {
            var text = ""
            for (column, cell) in cells.enumerated() {
                let isLast = column == cells.count - 1
                text += isLast ? cell : cell + String(repeating: " ", count: widths[column] - cell.count + 2)
            }
            return text + "\n"
        }
        return line(headers) + rows.map(line).joined()
    }
}
