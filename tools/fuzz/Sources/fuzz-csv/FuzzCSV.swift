// Contact files: `ContactFileReader` (CSV.swift underneath) and the mapping of records by the header.
//
// Input: the file's bytes.
//
// Checked: reading ends (at most one result per byte, plus one); the header maps at most one column
// to the number, name and consent each, exactly one to the number, and attribute keys are letters,
// digits and `_`, at most 64, not starting with a digit, each once; records are numbered 2, 3, ...
// in order, errors included; a row's attributes are non-empty, in column order, with keys of its
// header; the byte count only grows; a second reader over the same bytes reads the same results.
import Foundation
import FuzzSupport
import WaqtorImport

func readAll(_ data: Data) -> (ContactFileHeader, [Result<ContactFileRow, ContactFileError>], Int)? {
    guard let reader = try? ContactFileReader(data: data) else { return nil }
    var results: [Result<ContactFileRow, ContactFileError>] = []
    var bytes = reader.bytesRead
    while let result = reader.next() {
        results.append(result)
        precondition(reader.bytesRead >= bytes, "the byte count went back")
        bytes = reader.bytesRead
        precondition(results.count <= data.count + 1, "more records than bytes")
    }
    return (reader.header, results, reader.bytesRead)
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCSV(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let data = Data(bytes: start, count: count)
    guard let (header, results, bytes) = readAll(data) else { return 0 }

    precondition(header.columns.count == header.names.count, "\(header.columns.count) columns for \(header.names.count) names")
    precondition(header.columns.filter { $0 == .phoneNumber }.count == 1, "not exactly one number column: \(header.columns)")
    precondition(header.columns.filter { $0 == .name }.count <= 1 && header.columns.filter { $0 == .optedOut }.count <= 1, "two name or consent columns")
    var keys = Set<String>()
    for case .attribute(let key)? in header.columns {
        let utf8 = Array(key.utf8)
        precondition(!utf8.isEmpty && utf8.count <= 64, "attribute key \(key.debugDescription)")
        precondition(utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A) || $0 == 0x5F }, "attribute key \(key.debugDescription)")
        precondition(!(utf8[0] >= 0x30 && utf8[0] <= 0x39), "attribute key \(key.debugDescription) starts with a digit")
        precondition(keys.insert(key).inserted, "attribute key \(key.debugDescription) twice")
    }
    for (index, result) in results.enumerated() {
        let expected = index + 2
        switch result {
        case .success(let row):
            precondition(row.rowNumber == expected, "row \(row.rowNumber) where \(expected) was due")
            precondition(row.attributes.allSatisfy { !$0.value.isEmpty && keys.contains($0.key) }, "row \(expected): attributes \(row.attributes)")
            let order = row.attributes.map(\.key)
            precondition(order == header.columns.compactMap { column -> String? in
                guard case .attribute(let key)? = column, order.contains(key) else { return nil }
                return key
            }, "row \(expected): attributes out of column order")
            if let name = row.name { precondition(!name.isEmpty && name.trimmingCharacters(in: .whitespaces) == name, "row \(expected): name \(name.debugDescription)") }
        case .failure(let error):
            precondition(error.row == expected, "error at row \(error.row) where \(expected) was due")
        }
    }
    guard let (_, again, againBytes) = readAll(data) else { preconditionFailure("a second reader refused the header") }
    precondition(again.count == results.count && againBytes == bytes, "a second reader read other results")
    for (a, b) in zip(again, results) {
        switch (a, b) {
        case (.success(let x), .success(let y)): precondition(x == y, "a second reader read \(x), not \(y)")
        case (.failure(let x), .failure(let y)): precondition(x == y, "a second reader reported \(x), not \(y)")
        default: preconditionFailure("a second reader read \(a), not \(b)")
        }
    }
    return 0
}

// libFuzzer's driver, from the `main` SwiftPM gives this executable (FuzzSupport).
@_cdecl("fuzz_csv_main")
func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv, { fuzzCSV($0, $1) })
}
