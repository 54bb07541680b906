import CSV
import Foundation

/// What a column of a contact file holds, from its header.
public enum ContactColumn: Sendable, Hashable {
    case phoneNumber
    case name
    case optedOut
    /// A custom attribute, under this key.
    case attribute(String)
}

/// A contact file's header row mapped to contact fields. Header names are matched after trimming,
/// lowercasing, and turning spaces and dashes into `_`:
/// - the number: `phone_number`, `phone`, `number`, `mobile`, `whatsapp`, `telefone`, `celular`,
///   `telefono`, `tel` (required; the first such column);
/// - the name: `name`, `full_name`, `nome`, `nombre`;
/// - consent: `opted_out`, `opt_out`, `unsubscribed`;
/// - any other column is a custom attribute under its normalised name (letters, digits and `_`;
///   a leading digit gets a `_`); a column with an empty header is ignored.
public struct ContactFileHeader: Sendable, Hashable {
    /// One entry per column; nil for an ignored column.
    public let columns: [ContactColumn?]
    /// The header row as written.
    public let names: [String]

    static let phoneNames: Set<String> = ["phone_number", "phone", "number", "mobile", "whatsapp", "telefone", "celular", "telefono", "tel"]
    static let nameNames: Set<String> = ["name", "full_name", "nome", "nombre"]
    static let optOutNames: Set<String> = ["opted_out", "opt_out", "unsubscribed"]

    public init(_ names: [String]) throws(ContactFileError) {
        var columns: [ContactColumn?] = []
        var seen: [ContactColumn: Int] = [:]
        for (index, raw) in names.enumerated() {
            let name = Self.normalized(raw.replacingOccurrences(of: "\u{FEFF}", with: ""))
            let column: ContactColumn?
            if name.isEmpty {
                column = nil
            } else if Self.phoneNames.contains(name) {
                column = seen[.phoneNumber] == nil ? .phoneNumber : .attribute(name)
            } else if Self.nameNames.contains(name) {
                column = .name
            } else if Self.optOutNames.contains(name) {
                column = .optedOut
            } else {
                column = .attribute(Self.attributeKey(name))
            }
            if let column {
                if let first = seen[column] {
                    throw ContactFileError(row: 1, column: raw, "the header has two columns for the same field (columns \(first + 1) and \(index + 1)); rename or remove one")
                }
                seen[column] = index
            }
            columns.append(column)
        }
        guard seen[.phoneNumber] != nil else {
            throw ContactFileError(row: 1, column: "", "the header has no phone number column; name one phone_number (or phone, number, mobile, whatsapp)")
        }
        self.columns = columns
        self.names = names
    }

    static func normalized(_ raw: String) -> String {
        raw.trimmingCharacters(in: .whitespaces).lowercased()
            .replacingOccurrences(of: " ", with: "_").replacingOccurrences(of: "-", with: "_")
    }

    /// Letters, digits and `_` (anything else becomes `_`), not starting with a digit, at most 64.
    static func attributeKey(_ name: String) -> String {
        var key = String(name.unicodeScalars.map { scalar -> Character in
            scalar.isASCII && (scalar.properties.isAlphabetic || ("0"..."9").contains(scalar)) ? Character(scalar) : "_"
        })
        if let first = key.unicodeScalars.first, ("0"..."9").contains(first) { key = "_" + key }
        return String(key.prefix(64))
    }
}

/// One record of a contact file, mapped by its header; values as written (the server parses the
/// number and checks every field).
public struct ContactFileRow: Sendable, Hashable {
    /// The record's number, the header being 1 (a quoted newline does not start a new record).
    public var rowNumber: Int
    public var phoneNumber: String
    /// nil when the file has no name column or the cell is empty.
    public var name: String?
    /// nil when the file has no consent column or the cell is empty.
    public var optedOut: Bool?
    /// Custom attributes with a value (empty cells are left out), in column order.
    public var attributes: [(key: String, value: String)]

    public init(rowNumber: Int, phoneNumber: String, name: String?, optedOut: Bool?, attributes: [(key: String, value: String)]) {
        self.rowNumber = rowNumber
        self.phoneNumber = phoneNumber
        self.name = name
        self.optedOut = optedOut
        self.attributes = attributes
    }

    public static func == (a: Self, b: Self) -> Bool {
        a.rowNumber == b.rowNumber && a.phoneNumber == b.phoneNumber && a.name == b.name && a.optedOut == b.optedOut
            && a.attributes.map(\.key) == b.attributes.map(\.key) && a.attributes.map(\.value) == b.attributes.map(\.value)
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(rowNumber)
        hasher.combine(phoneNumber)
    }
}

/// A problem with one record (or the header), to report and go on.
public struct ContactFileError: Error, Sendable, Hashable, CustomStringConvertible {
    public var row: Int
    /// The column's header as written ("" when the whole row is concerned).
    public var column: String
    public var reason: String

    public init(row: Int, column: String, _ reason: String) {
        self.row = row
        self.column = column
        self.reason = reason
    }

    public var description: String { "row \(row)\(column.isEmpty ? "" : ", \(column)"): \(reason)" }
}

/// Reads a contact file (UTF-8 CSV with a header row: RFC 4180 quoting, commas and newlines
/// inside quotes, an optional byte-order mark) record by record, through CSV.swift. Not
/// thread-safe: one reader, one task.
public final class ContactFileReader {
    private let reader: CSVReader
    public let header: ContactFileHeader
    private var rowNumber = 1
    private var reportedDecodingError = false
    /// Bytes of the records read so far (field bytes, separators and newlines; an estimate of the
    /// position in the file, for progress).
    public private(set) var bytesRead: Int

    /// A reader over a stream (a file: `InputStream(fileAtPath:)`).
    public convenience init(stream: InputStream) throws(ContactFileError) {
        let reader: CSVReader
        do {
            reader = try CSVReader(stream: stream, hasHeaderRow: true)
        } catch {
            throw ContactFileError(row: 1, column: "", "the file has no header row, or it is not UTF-8 CSV")
        }
        try self.init(reader: reader)
    }

    /// A reader over bytes in memory.
    public convenience init(data: Data) throws(ContactFileError) {
        try self.init(stream: InputStream(data: data))
    }

    init(reader: CSVReader) throws(ContactFileError) {
        self.reader = reader
        let names = reader.headerRow ?? []
        header = try ContactFileHeader(names)
        bytesRead = names.reduce(names.count) { $0 + $1.utf8.count }
    }

    /// The next record: a row, or a ``ContactFileError`` for a record that cannot be mapped (the
    /// reader goes on after it); nil at the end of the file.
    public func next() -> Result<ContactFileRow, ContactFileError>? {
        // After a decoding error nothing more is read: the decoder cannot find the next record.
        if reportedDecodingError { return nil }
        guard let fields = reader.next() else {
            // CSV.swift reports the end of a file stream as `cannotReadFile`; a decoding error
            // ends the file early and is reported once.
            if let error = reader.error as? CSVError, case .unicodeDecoding = error, !reportedDecodingError {
                reportedDecodingError = true
                rowNumber += 1
                return .failure(ContactFileError(row: rowNumber, column: "", "the file is not valid UTF-8 from here on; save it as UTF-8 CSV"))
            }
            return nil
        }
        rowNumber += 1
        bytesRead += fields.reduce(fields.count) { $0 + $1.utf8.count }
        if let error = reader.error as? CSVError, case .unicodeDecoding = error {
            // The decoder stopped inside this record: what it holds is cut short.
            reportedDecodingError = true
            return .failure(ContactFileError(row: rowNumber, column: "", "the file is not valid UTF-8 from here on; save it as UTF-8 CSV"))
        }
        return map(fields)
    }

    func map(_ fields: [String]) -> Result<ContactFileRow, ContactFileError> {
        if fields.count == 1, fields[0].isEmpty {
            return .failure(ContactFileError(row: rowNumber, column: "", "the row is empty"))
        }
        guard fields.count == header.columns.count else {
            return .failure(ContactFileError(row: rowNumber, column: "", "the row has \(fields.count) fields and the header \(header.columns.count); quote fields that hold commas"))
        }
        var row = ContactFileRow(rowNumber: rowNumber, phoneNumber: "", name: nil, optedOut: nil, attributes: [])
        for (index, column) in header.columns.enumerated() {
            let value = fields[index]
            switch column {
            case .phoneNumber: row.phoneNumber = value
            case .name:
                // An empty cell gives no name (an update keeps the contact's).
                let name = value.trimmingCharacters(in: .whitespaces)
                row.name = name.isEmpty ? nil : name
            case .optedOut:
                switch value.trimmingCharacters(in: .whitespaces).lowercased() {
                case "": row.optedOut = nil
                case "true", "yes", "y", "1", "sim", "si", "sí": row.optedOut = true
                case "false", "no", "n", "0", "não", "nao": row.optedOut = false
                default:
                    return .failure(ContactFileError(row: rowNumber, column: header.names[index], "'\(value)' is not yes or no (true/false, 1/0)"))
                }
            case .attribute(let key):
                if !value.isEmpty { row.attributes.append((key, value)) }
            case nil:
                break
            }
        }
        return .success(row)
    }
}
