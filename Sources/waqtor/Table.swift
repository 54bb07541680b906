/// Tables: left-aligned columns under a header, two spaces apart. Sent to a pipe or a file they
/// keep every cell whole (scripts cut them); on a terminal they are narrowed to its width, the
/// cells that do not fit cut with `…`, so that no line wraps.
enum Table {
    static let gap = 2

    /// The table's lines. `width` nil: full width. `colours`: state and status words coloured.
    static func lines(header: [String], rows: [[String]], width: Int?, colours: Bool) -> [String] {
        let count = header.count
        // A line break or tab in a cell would break the columns on a terminal.
        let cells = rows.map { row in (0..<count).map { index in index < row.count ? flatten(row[index], terminal: width != nil) : "" } }
        let natural = (0..<count).map { index in
            max(Terminal.displayWidth(header[index]), cells.map { Terminal.displayWidth($0[index]) }.max() ?? 0)
        }
        let widths = width.map { columnWidths(header: header, natural: natural, width: $0) } ?? natural
        let coloured = Set(header.indices.filter { ["STATE", "STATUS"].contains(header[$0]) })
        func render(_ row: [String], isHeader: Bool) -> String {
            var plain = "", painted = ""
            for index in 0..<count {
                let cell = Terminal.truncate(row[index], to: widths[index])
                let style: Terminal.Style? = isHeader ? nil : coloured.contains(index) ? Terminal.statusStyle(cell) : nil
                plain += cell
                painted += Terminal.paint(cell, style, enabled: colours)
                if index < count - 1 {
                    let padding = String(repeating: " ", count: widths[index] - Terminal.displayWidth(cell) + gap)
                    plain += padding
                    painted += padding
                }
            }
            // A terminal narrower than even the narrowest columns: cut the line itself (uncoloured,
            // so that no colour is cut in half).
            if let width, Terminal.displayWidth(plain) > width { return Terminal.truncate(plain, to: width) }
            return painted
        }
        return [render(header, isHeader: true)] + cells.map { render($0, isHeader: false) }
    }

    /// The columns' widths for a terminal of `width` columns. The widest columns give up space
    /// first; ids (a header ID or ending in " ID") keep theirs as long as possible, since they are
    /// what people copy into the next command.
    static func columnWidths(header: [String], natural: [Int], width: Int) -> [Int] {
        let budget = width - gap * max(0, header.count - 1)
        let isID = header.map { $0 == "ID" || $0.hasSuffix(" ID") }
        let headerWidths = header.map(Terminal.displayWidth)
        let roomy = natural.indices.map { isID[$0] ? natural[$0] : min(natural[$0], max(6, min(headerWidths[$0], 10))) }
        let narrow = natural.indices.map { isID[$0] ? natural[$0] : min(natural[$0], 3) }
        let narrowest = natural.map { min($0, 3) }
        for floors in [roomy, narrow, narrowest] {
            if let widths = fit(natural: natural, floors: floors, budget: budget) { return widths }
        }
        return narrowest
    }

    /// Widths between `floors` and `natural` that sum to at most `budget`: every column capped at
    /// the largest width that fits, the columns left over shared out from the left; nil when even
    /// the floors do not fit.
    static func fit(natural: [Int], floors: [Int], budget: Int) -> [Int]? {
        func widths(cap: Int) -> [Int] { natural.indices.map { max(floors[$0], min(natural[$0], cap)) } }
        func total(_ widths: [Int]) -> Int { widths.reduce(0, +) }
        guard total(widths(cap: 0)) <= budget else { return nil }
        var low = 0, high = natural.max() ?? 0
        if total(widths(cap: high)) <= budget { return natural }
        while low < high {
            let middle = (low + high + 1) / 2
            if total(widths(cap: middle)) <= budget { low = middle } else { high = middle - 1 }
        }
        var result = widths(cap: low)
        var left = budget - total(result)
        for index in result.indices where left > 0 && result[index] < natural[index] {
            result[index] += 1
            left -= 1
        }
        return result
    }

    /// On a terminal, line breaks and tabs become spaces.
    static func flatten(_ cell: String, terminal: Bool) -> String {
        guard terminal, cell.contains(where: { $0 == "\n" || $0 == "\r" || $0 == "\t" || $0 == "\r\n" }) else { return cell }
        return String(cell.map { $0 == "\n" || $0 == "\r" || $0 == "\t" || $0 == "\r\n" ? " " : $0 })
    }
}
