import Foundation

/// The complete result of one statement, copied out of libpq (no C memory is kept).
public struct PostgresRows: Sendable, RandomAccessCollection {
    /// Column names, in order.
    public let columns: [String]
    /// The rows.
    public let rows: [PostgresRow]
    /// Rows inserted, updated or deleted (the command tag's count); 0 for other statements.
    public let rowsAffected: Int

    /// The first row, if any.
    public var first: PostgresRow? { rows.first }
    public var startIndex: Int { rows.startIndex }
    public var endIndex: Int { rows.endIndex }
    public subscript(position: Int) -> PostgresRow { rows[position] }
}

/// One row; cells are reached by column name or index.
public struct PostgresRow: Sendable {
    let columnIndex: [String: Int]
    let typeOIDs: [UInt32]
    /// Text-format bytes per column; nil is SQL NULL.
    let values: [[UInt8]?]

    /// The cell of the named column. An unknown name gives a NULL cell; check ``contains(_:)``
    /// when a typo would matter.
    public subscript(_ column: String) -> PostgresCell {
        guard let index = columnIndex[column] else { return PostgresCell(raw: nil, typeOID: 0) }
        return self[index]
    }

    /// The cell at a column index (0-based). Out of range traps, like an array.
    public subscript(_ index: Int) -> PostgresCell {
        PostgresCell(raw: values[index], typeOID: typeOIDs[index])
    }

    /// Whether the row has a column of that name.
    public func contains(_ column: String) -> Bool { columnIndex[column] != nil }

    /// The number of columns.
    public var count: Int { values.count }
}

/// One value of a row, with typed accessors. Each accessor returns nil for NULL and for a value
/// that does not read as that type.
public struct PostgresCell: Sendable {
    let raw: [UInt8]?
    /// The column's type OID (e.g. 25 text, 20 int8, 17 bytea, 1184 timestamptz).
    public let typeOID: UInt32

    /// True for SQL NULL.
    public var isNull: Bool { raw == nil }
    /// The value's text form (any type).
    public var string: String? { raw.map { String(decoding: $0, as: UTF8.self) } }
    /// int2/int4/int8 (or any text that reads as an integer).
    public var int64: Int64? { string.flatMap { Int64($0) } }
    /// The value as `Int`.
    public var int: Int? { int64.flatMap { Int(exactly: $0) } }
    /// bool (`t`/`f`).
    public var bool: Bool? {
        switch string {
        case "t", "true": true
        case "f", "false": false
        default: nil
        }
    }
    /// float4/float8/numeric.
    public var double: Double? {
        guard let s = string else { return nil }
        switch s {
        case "NaN": return .nan
        case "Infinity": return .infinity
        case "-Infinity": return -.infinity
        default: return Double(s)
        }
    }
    /// timestamptz (the session runs in UTC with ISO DateStyle).
    public var date: Date? { string.flatMap(PostgresTimestamp.parse) }
    /// bytea (decoded from the `\x…` hex text form).
    public var bytes: [UInt8]? {
        guard let raw else { return nil }
        return Self.decodeHex(raw)
    }
    /// uuid, as text.
    public var uuid: String? { string }

    static func decodeHex(_ raw: [UInt8]) -> [UInt8]? {
        guard raw.count >= 2, raw[0] == UInt8(ascii: "\\"), raw[1] == UInt8(ascii: "x"), raw.count % 2 == 0 else { return nil }
        func nibble(_ c: UInt8) -> UInt8? {
            switch c {
            case 48...57: c - 48
            case 97...102: c - 87
            case 65...70: c - 55
            default: nil
            }
        }
        var out = [UInt8]()
        out.reserveCapacity((raw.count - 2) / 2)
        var i = 2
        while i < raw.count {
            guard let hi = nibble(raw[i]), let lo = nibble(raw[i + 1]) else { return nil }
            out.append(hi << 4 | lo)
            i += 2
        }
        return out
    }
}
