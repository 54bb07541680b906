import Foundation
import Testing
import WaqtorImport

@Suite("Contact files (CSV, pure)")
struct ContactFileTests {
    static func read(_ text: String, bom: Bool = false) throws -> (ContactFileReader, [Result<ContactFileRow, ContactFileError>]) {
        var data = Data(text.utf8)
        if bom { data = Data([0xEF, 0xBB, 0xBF]) + data }
        let reader = try ContactFileReader(data: data)
        var out: [Result<ContactFileRow, ContactFileError>] = []
        while let next = reader.next() { out.append(next) }
        return (reader, out)
    }

    @Test("quoted fields with commas, quotes and newlines; a byte-order mark; header names mapped")
    func quoting() throws {
        let text = "Phone Number,Nome,City,opt-out,Favourite Colour,\r\n"
            + "+55 11 98765-4321,\"Silva, Ana\",Recife,no,\"dark \"\"blue\"\"\",x\r\n"
            + "01199998888,\"Bia\nSecond line\",,yes,,\r\n"
        let (reader, rows) = try Self.read(text, bom: true)
        #expect(reader.header.columns == [.phoneNumber, .name, .attribute("city"), .optedOut, .attribute("favourite_colour"), nil])
        let first = try rows[0].get(), second = try rows[1].get()
        #expect(rows.count == 2)
        #expect(first == ContactFileRow(rowNumber: 2, phoneNumber: "+55 11 98765-4321", name: "Silva, Ana", optedOut: false,
                                        attributes: [("city", "Recife"), ("favourite_colour", "dark \"blue\"")]))
        #expect(second.rowNumber == 3 && second.name == "Bia\nSecond line" && second.optedOut == true && second.attributes.isEmpty)
    }

    @Test("a bad row is reported with its number and the reader goes on")
    func badRows() throws {
        let text = "phone,name,opted_out\n+5511987650001,Ana,maybe\n+5511987650002,Bia\n\n+5511987650003,\"Caio, Jr\",1\n"
        let (_, rows) = try Self.read(text)
        #expect(rows.count == 4)
        guard case .failure(let bad) = rows[0] else { Issue.record("row 2 should fail"); return }
        #expect(bad.row == 2 && bad.column == "opted_out" && bad.reason.contains("maybe"))
        guard case .failure(let short) = rows[1] else { Issue.record("row 3 should fail"); return }
        #expect(short.row == 3 && short.reason.contains("2 fields"))
        guard case .failure(let empty) = rows[2] else { Issue.record("row 4 should fail"); return }
        #expect(empty.row == 4 && empty.reason.contains("empty"))
        #expect(try rows[3].get().name == "Caio, Jr" && rows[3].get().rowNumber == 5 && rows[3].get().optedOut == true)
    }

    @Test("a header without a number column, or with two name columns, is refused")
    func headers() {
        #expect(throws: ContactFileError.self) { try ContactFileHeader(["name", "city"]) }
        #expect(throws: ContactFileError.self) { try ContactFileHeader(["phone", "name", "Nome"]) }
        #expect(throws: ContactFileError.self) { _ = try ContactFileReader(data: Data()) }
        let twoPhones = try? ContactFileHeader(["whatsapp", "phone", "2nd phone"])
        #expect(twoPhones?.columns == [.phoneNumber, .attribute("phone"), .attribute("_2nd_phone")])
    }

    @Test("a file of any size is read record by record; bytesRead tracks the position")
    func streaming() throws {
        var text = "phone_number,name,tier\n"
        for i in 0..<20_000 { text += "+55119\(String(format: "%08d", i)),Person \(i),\(i % 3)\n" }
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("contacts-\(UUID().uuidString).csv").path
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let reader = try ContactFileReader(stream: try #require(InputStream(fileAtPath: path)))
        var count = 0, last = 0
        while let next = reader.next() {
            let row = try next.get()
            #expect(row.rowNumber == count + 2)
            count += 1
            #expect(reader.bytesRead > last)
            last = reader.bytesRead
        }
        #expect(count == 20_000)
        #expect(reader.bytesRead == text.utf8.count, "every byte accounted for (no quotes or CR in this file)")
    }
}

@Suite("Contact files: bytes that are not UTF-8")
struct ContactFileEncodingTests {
    @Test("invalid UTF-8 ends the file with one error naming the row it cut")
    func invalidUTF8() throws {
        var data = Data("phone,name\n+5511987650001,Ana\n+5511987650002,".utf8)
        data.append(contentsOf: [0xC3, 0x28])  // an invalid two-byte sequence
        data.append(contentsOf: Data(",x\n+5511987650003,Caio\n".utf8))
        let reader = try ContactFileReader(data: data)
        var results: [Result<ContactFileRow, ContactFileError>] = []
        while let next = reader.next() { results.append(next) }
        #expect(try results.first?.get().name == "Ana")
        let failures = results.compactMap { if case .failure(let e) = $0 { e } else { nil } }
        #expect(failures.count == 1 && failures.first?.row == 3, "\(results)")
    }
}
