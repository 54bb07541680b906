import ArgumentParser
import Foundation
import Synchronization
import WaqtorImport
import WaqtorProto
import WaqtorRPC

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension ContactCommand {
    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "import",
            abstract: "Import a CSV file of contacts, of any size (CampaignService.ImportContacts).",
            discussion: """
                The file is UTF-8 CSV with a header row: a phone number column (phone_number, \
                phone, number, mobile, whatsapp, …), optionally name and opted_out (yes/no), and \
                any other column becomes an attribute (docs/CONTACTS.md). It is read as a stream \
                and sent in batches of --batch-size rows, so that the server's errors name the \
                file's rows (the header is row 1). Numbers already in your contacts are kept as \
                they are, or updated with --update-existing; an import opts contacts out (opted_out \
                yes) but never back in. Rows in error are reported and skipped; the rest are \
                imported, and the exit status is 0. A progress bar is drawn on stderr when it is \
                a terminal (not with --quiet or --json), and erased at the end.
                """)

        @OptionGroup var global: GlobalOptions
        @OptionGroup var auth: AuthOptions
        @Argument(help: ArgumentHelp("The CSV file.", valueName: "file.csv"), completion: .file(extensions: ["csv"])) var file: String
        @Option(help: ArgumentHelp("The region numbers without + are read in (e.g. BR). Default: the country of your account's time zone.", valueName: "region"))
        var region: String?
        @Option(name: .customLong("country-code"), help: ArgumentHelp("The country calling code for numbers without + (e.g. 55), instead of --region.", valueName: "code"))
        var countryCode: String?
        @Option(name: .customLong("list"), help: ArgumentHelp("Add every imported or updated contact to this list.", valueName: "list-id"))
        var listID: String?
        @Flag(name: .customLong("update-existing"), help: "Update contacts whose number is already known (name, attributes merged, opt-outs); default: keep them as they are.")
        var updateExisting = false
        @Option(name: .customLong("batch-size"), help: ArgumentHelp("Rows per call, 1 to 10000 (a call is also cut at about 2 MB).", valueName: "n"))
        var batchSize = 5000
        @Option(name: .customLong("errors-file"), help: ArgumentHelp("Write every row error to this CSV file (row,field,message).", valueName: "errors.csv"), completion: .file(extensions: ["csv"]))
        var errorsFile: String?

        func validate() throws {
            if let region { try ContactCommand.validateRegion(region) }
            if let countryCode {
                let digits = countryCode.hasPrefix("+") ? countryCode.dropFirst() : Substring(countryCode)
                guard (1...3).contains(digits.count), digits.allSatisfy({ $0.isASCII && $0.isNumber }) else {
                    throw ValidationError("--country-code must be a country calling code of 1 to 3 digits, e.g. 55 (got '\(countryCode)')")
                }
                if region != nil { throw ValidationError("--region and --country-code exclude each other") }
            }
            guard (1...ImportRun.maxRowsPerCall).contains(batchSize) else {
                throw ValidationError("--batch-size must be from 1 to \(ImportRun.maxRowsPerCall), got \(batchSize)")
            }
            if let listID, listID.trimmingCharacters(in: .whitespaces).isEmpty { throw ValidationError("--list is empty") }
            if let errorsFile, errorsFile.isEmpty { throw ValidationError("--errors-file is empty") }
        }

        func run() async throws {
            let global = self.global
            // Local failures (the file, the errors file) before any call: exit 64 or 1.
            let (reader, size) = try local { () throws(CLIFailure) in try ImportRun.open(file) }
            let errorsOut = try local { () throws(CLIFailure) in try errorsFile.map(ErrorsFile.init) }

            var template = Waqtor_V1_ImportContactsRequest()
            template.listID = listID ?? ""
            template.updateExisting = updateExisting
            template.defaultRegion = region?.uppercased() ?? ""
            template.defaultCountryCode = countryCode.map { $0.hasPrefix("+") ? String($0.dropFirst()) : $0 } ?? ""
            let progress = ProgressBar(enabled: global.showsProgress, fileSize: size)
            let run = ImportRun(reader: reader, template: template, batchSize: batchSize, progress: progress, errorsOut: errorsOut)
            do {
                try await global.withCampaignClient(auth) { campaigns, options in
                    try await run.run(campaigns: campaigns, options: options)
                }
            } catch {
                progress.clear()
                errorsOut?.close()
                if let stop = run.stoppedAt {
                    let before = run.rowsDone == 0
                        ? "no earlier call was made"
                        : "the rows before it were imported (imported \(run.imported), updated \(run.updated), skipped \(run.skipped))"
                    Output.stderr("import stopped: the call for rows \(stop.first)–\(stop.last) failed; \(before); "
                        + "the rows from \(stop.first) on were not imported")
                }
                throw error
            }
            errorsOut?.close()
            run.report(json: global.json, errorsFile: errorsFile)
        }

        /// Runs `body`; a ``CLIFailure`` is reported (and its exit status thrown).
        private func local<T>(_ body: () throws(CLIFailure) -> T) throws -> T {
            do {
                return try body()
            } catch {
                Output.reportFailure(error, json: global.json)
                throw ExitCode(error.status)
            }
        }
    }
}

/// One import: reads the file, sends batches (reading the next batch while the previous call is
/// in flight), gathers counts and errors. One task; not thread-safe.
final class ImportRun {
    /// The server's limit of rows per ImportContacts call.
    static let maxRowsPerCall = 10_000
    /// A batch is also cut at about this many bytes, well under the server's frame limit (4 MiB).
    static let maxBatchBytes = 2_000_000
    /// Errors kept for the report (every error goes to --errors-file).
    static let maxReportedErrors = 1000
    /// The server lists at most this many errors per call (the rest are only counted).
    static let serverErrorLimit = 1000

    struct RowError: Encodable {
        var row: Int
        var field: String
        var message: String
    }

    /// A batch: its rows (a row the reader refused is a placeholder without a number, so that the
    /// server numbers the rows after it right; its error from the server is dropped), and the
    /// errors found here.
    struct Batch {
        var firstRow = 0
        var lastRow = 0
        var contacts: [Waqtor_V1_Contact] = []
        var bytes = 0
        var localErrors: [RowError] = []
        var placeholderRows: Set<Int> = []
    }

    let reader: ContactFileReader
    let template: Waqtor_V1_ImportContactsRequest
    let batchSize: Int
    let progress: ProgressBar
    let errorsOut: ErrorsFile?
    let start = ContinuousClock.now

    private(set) var rows = 0
    private(set) var rowsDone = 0
    private(set) var imported = 0
    private(set) var updated = 0
    private(set) var skipped = 0
    private(set) var errorCount = 0
    private(set) var errors: [RowError] = []
    /// Calls whose error list the server cut at its limit: rows (first, last).
    private(set) var truncatedCalls: [(Int, Int)] = []
    /// The rows of the call that failed, if one did.
    private(set) var stoppedAt: (first: Int, last: Int)?
    private(set) var seconds = 0.0

    init(reader: ContactFileReader, template: Waqtor_V1_ImportContactsRequest, batchSize: Int, progress: ProgressBar, errorsOut: ErrorsFile?) {
        self.reader = reader
        self.template = template
        self.batchSize = batchSize
        self.progress = progress
        self.errorsOut = errorsOut
    }

    /// Opens the file: a reader over its records and its size in bytes.
    static func open(_ path: String) throws(CLIFailure) -> (ContactFileReader, Int64) {
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw CLIFailure(message: "cannot read \(path): \(String(cString: strerror(errno)))", status: Output.ExitStatus.usage)
        }
        guard info.st_mode & S_IFMT != S_IFDIR else {
            throw CLIFailure(message: "\(path) is a directory, not a CSV file", status: Output.ExitStatus.usage)
        }
        guard access(path, R_OK) == 0, let stream = InputStream(fileAtPath: path) else {
            throw CLIFailure(message: "cannot read \(path): \(String(cString: strerror(errno)))", status: Output.ExitStatus.usage)
        }
        do {
            return (try ContactFileReader(stream: stream), Int64(info.st_size))
        } catch {
            throw CLIFailure(message: "\(path): \(error.description)", status: Output.ExitStatus.usage)
        }
    }

    func run(campaigns: Waqtor_V1_CampaignServiceClient, options: CallOptions) async throws {
        progress.draw(rows: 0, errors: 0, fraction: 0, elapsed: 0, force: true)
        var pending: (task: Task<Waqtor_V1_ImportContactsResponse, any Error>, batch: Batch, bytesRead: Int)?
        // Waits for the call in flight and takes in its answer.
        func settle() async throws {
            guard let (task, batch, bytesRead) = pending else { return }
            pending = nil
            let response: Waqtor_V1_ImportContactsResponse
            do {
                response = try await task.value
            } catch {
                stoppedAt = (batch.firstRow, batch.lastRow)
                throw error
            }
            take(response, of: batch)
            progress.draw(rows: rowsDone, errors: errorCount, fraction: fraction(bytesRead), elapsed: elapsed)
        }
        // Sends `batch` once the previous call has answered.
        func send(_ batch: Batch) async throws {
            try await settle()
            guard !batch.contacts.isEmpty else {
                take(nil, of: batch)
                return
            }
            var request = template
            request.rows = { var rows = Waqtor_V1_ContactRows(); rows.contacts = batch.contacts; return rows }()
            request.firstRowNumber = Int32(clamping: batch.firstRow)
            let sent = request
            pending = (Task { try await campaigns.importContacts(sent, options: options) }, batch, reader.bytesRead)
        }

        var batch = Batch()
        do {
            while let next = reader.next() {
                rows += 1
                let contact: Waqtor_V1_Contact
                let rowNumber: Int
                switch next {
                case .success(let row):
                    rowNumber = row.rowNumber
                    contact = Self.contact(row)
                case .failure(let error):
                    rowNumber = error.row
                    contact = Waqtor_V1_Contact()
                    batch.localErrors.append(RowError(row: error.row, field: error.column, message: error.reason))
                    batch.placeholderRows.insert(error.row)
                }
                if batch.contacts.isEmpty { batch.firstRow = rowNumber }
                batch.lastRow = rowNumber
                batch.contacts.append(contact)
                batch.bytes += Self.size(contact)
                if batch.contacts.count >= batchSize || batch.bytes >= Self.maxBatchBytes {
                    try await send(batch)
                    batch = Batch()
                }
            }
            if !batch.contacts.isEmpty { try await send(batch) }
            try await settle()
        } catch {
            pending?.task.cancel()
            seconds = elapsed
            throw error
        }
        seconds = elapsed
        progress.finish()
    }

    /// A file row as the proto's contact: the number as written, consent only when it says yes
    /// (an import never opts a contact back in).
    static func contact(_ row: ContactFileRow) -> Waqtor_V1_Contact {
        var contact = Waqtor_V1_Contact()
        contact.phoneNumber = row.phoneNumber
        contact.name = row.name ?? ""
        contact.attributes = row.attributes.map { key, value in
            var pair = Waqtor_V1_KeyValue()
            pair.key = key
            pair.value = value
            return pair
        }
        contact.optedOut = row.optedOut == true
        return contact
    }

    /// About the contact's encoded size (text plus a few bytes of framing per field).
    static func size(_ contact: Waqtor_V1_Contact) -> Int {
        contact.phoneNumber.utf8.count + contact.name.utf8.count + 12
            + contact.attributes.reduce(0) { $0 + $1.key.utf8.count + $1.value.utf8.count + 8 }
    }

    /// Adds an answer (nil: a batch of placeholders only, not sent) to the totals.
    private func take(_ response: Waqtor_V1_ImportContactsResponse?, of batch: Batch) {
        var batchErrors = batch.localErrors
        if let response {
            imported += Int(response.importedCount)
            updated += Int(response.updatedCount)
            // The placeholders were skipped as errors by the server; they are counted below.
            skipped += Int(response.skippedCount) - batch.placeholderRows.count
            for error in response.errors where !batch.placeholderRows.contains(Int(error.rowNumber)) {
                batchErrors.append(RowError(row: Int(error.rowNumber), field: error.field, message: error.message))
            }
            if response.errors.count >= Self.serverErrorLimit { truncatedCalls.append((batch.firstRow, batch.lastRow)) }
        }
        skipped += batch.localErrors.count
        batchErrors.sort { $0.row < $1.row }
        errorCount += batchErrors.count
        errors += batchErrors.prefix(Self.maxReportedErrors - errors.count)
        errorsOut?.write(batchErrors)
        rowsDone += batch.contacts.count
    }

    private var elapsed: Double {
        let d = ContinuousClock.now - start
        return Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }

    private func fraction(_ bytesRead: Int) -> Double {
        progress.fileSize > 0 ? min(1, Double(bytesRead) / Double(progress.fileSize)) : 0
    }

    var rate: Double { seconds > 0 ? Double(rows) / seconds : 0 }

    func report(json: Bool, errorsFile: String?) {
        for (first, last) in truncatedCalls {
            Output.warning("the server listed only its first \(Self.serverErrorLimit) errors for rows \(first)–\(last); "
                + "the others are counted in skipped but not listed (import that part again with a smaller --batch-size to see them)")
        }
        if json {
            struct Body: Encodable {
                var imported, updated, skipped, errorCount: Int
                var errors: [ImportRun.RowError]
                var rows: Int
                var seconds: Double
                enum CodingKeys: String, CodingKey {
                    case imported, updated, skipped, errors, rows, seconds
                    case errorCount = "error_count"
                }
            }
            Output.json(Body(imported: imported, updated: updated, skipped: skipped, errorCount: errorCount, errors: errors,
                             rows: rows, seconds: (seconds * 1000).rounded() / 1000))
            return
        }
        Output.fields([
            ("imported", Self.grouped(imported)), ("updated", Self.grouped(updated)), ("skipped", Self.grouped(skipped)),
            ("errors", Self.grouped(errorCount)), ("rows", Self.grouped(rows)),
            ("duration", String(format: "%.1f s", seconds)), ("rate", "\(Self.grouped(Int(rate.rounded()))) rows/s"),
        ])
        guard !errors.isEmpty else { return }
        let shown = 10
        for error in errors.prefix(shown) {
            Output.stderr("row \(error.row)\(error.field.isEmpty ? "" : ", \(error.field)"): \(error.message)")
        }
        if errorCount > shown {
            let more = errorsFile.map { "; all of them are in \($0)" } ?? "; use --errors-file FILE (or --json) to get them all"
            Output.stderr("… and \(Self.grouped(errorCount - shown)) more\(more)")
        }
    }

    /// `200000` → `200,000`.
    static func grouped(_ value: Int) -> String {
        let digits = String(value.magnitude)
        var out = ""
        for (index, digit) in digits.enumerated() {
            if index > 0, (digits.count - index) % 3 == 0 { out.append(",") }
            out.append(digit)
        }
        return (value < 0 ? "-" : "") + out
    }
}

/// `--errors-file`: every row error as CSV (`row,field,message`), written as batches answer.
final class ErrorsFile {
    let path: String
    private let handle: FileHandle

    init(_ path: String) throws(CLIFailure) {
        self.path = path
        guard FileManager.default.createFile(atPath: path, contents: Data("row,field,message\n".utf8)),
              let handle = FileHandle(forWritingAtPath: path)
        else {
            throw CLIFailure(message: "cannot create \(path): \(String(cString: strerror(errno)))", status: 1)
        }
        handle.seekToEndOfFile()
        self.handle = handle
    }

    func write(_ errors: [ImportRun.RowError]) {
        guard !errors.isEmpty else { return }
        var text = ""
        for error in errors {
            text += "\(error.row),\(Self.field(error.field)),\(Self.field(error.message))\n"
        }
        handle.write(Data(text.utf8))
    }

    func close() { try? handle.close() }

    /// RFC 4180: quoted when it holds a comma, a quote or a line break; quotes doubled.
    static func field(_ text: String) -> String {
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}

/// A one-line progress bar on stderr, redrawn in place (`\r`, then erase to the end of the line)
/// at most 10 times a second. Draws nothing when disabled.
final class ProgressBar {
    let enabled: Bool
    let fileSize: Int64
    private var lastDraw: ContinuousClock.Instant?
    private var visible = false

    init(enabled: Bool, fileSize: Int64) {
        self.enabled = enabled
        self.fileSize = fileSize
    }

    /// `importing  42% [###########·················]  84,000 rows  21,300 rows/s  3 errors  ETA 0:07`
    func draw(rows: Int, errors: Int, fraction: Double, elapsed: Double, force: Bool = false) {
        guard enabled else { return }
        let now = ContinuousClock.now
        if !force, let lastDraw, now - lastDraw < .milliseconds(100) { return }
        lastDraw = now
        let rate = elapsed > 0 ? Double(rows) / elapsed : 0
        var eta = "ETA --:--"
        if fraction > 0.001, fraction < 1, elapsed > 0.5 {
            eta = "ETA " + Self.clock(elapsed * (1 - fraction) / fraction)
        } else if fraction >= 1 {
            eta = "ETA 0:00"
        }
        let percent = String(format: "%3d%%", Int((fraction * 100).rounded(.down)))
        let tail = "  \(ImportRun.grouped(rows)) rows  \(ImportRun.grouped(Int(rate.rounded()))) rows/s  "
            + "\(ImportRun.grouped(errors)) error\(errors == 1 ? "" : "s")  \(eta)"
        render(percent: percent, fraction: fraction, tail: tail)
    }

    /// The end: the bar is erased, so that the summary that follows stands alone (it has the
    /// counts, the time and the rate).
    func finish() {
        clear()
    }

    /// Erases the bar (before an error message).
    func clear() {
        guard enabled, visible else { return }
        Self.write("\r\u{1B}[K")
        visible = false
    }

    private func render(percent: String, fraction: Double, tail: String) {
        let width = Self.columns() - 1
        let head = "importing \(percent) "
        // A bar of fixed width (as the terminal allows, reserving room for the tail to grow),
        // so that it does not shrink as the numbers get longer.
        let room = width - head.count - 2 - 50
        var line = head
        if room >= 10 {
            let barWidth = min(room, 30)
            let filled = Int((Double(barWidth) * min(max(fraction, 0), 1)).rounded(.down))
            line += "[" + String(repeating: "#", count: filled) + String(repeating: ".", count: barWidth - filled) + "]"
        }
        line += tail
        if line.count > width { line = String(line.prefix(max(width, 1))) }
        Self.write("\r" + line + "\u{1B}[K")
        visible = true
    }

    /// `m:ss`, or `h:mm:ss` from an hour.
    static func clock(_ seconds: Double) -> String {
        let total = Int(seconds.rounded())
        let h = total / 3600, m = (total % 3600) / 60, s = total % 60
        let ss = (s < 10 ? "0" : "") + String(s)
        if h > 0 { return "\(h):" + (m < 10 ? "0" : "") + "\(m):" + ss }
        return "\(m):" + ss
    }

    /// The terminal's width (stderr's), else $COLUMNS, else 80.
    static func columns() -> Int {
        var size = winsize()
        if ioctl(2, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 { return Int(size.ws_col) }
        if let text = ProcessInfo.processInfo.environment["COLUMNS"], let value = Int(text), value > 0 { return value }
        return 80
    }

    /// Writes to stderr, remembering whether a bar is left on its last line, so that a message
    /// printed meanwhile (``erase()``) does not land at the end of the bar.
    static func write(_ text: String) {
        drawn.withLock { drawn in
            FileHandle.standardError.write(Data(text.utf8))
            drawn = text != erasure && !text.hasSuffix("\n")
        }
    }

    /// Erases a bar left on stderr's last line, if any (before an error, a warning or a hint).
    static func erase() {
        drawn.withLock { drawn in
            if drawn { FileHandle.standardError.write(Data(erasure.utf8)) }
            drawn = false
        }
    }

    private static let erasure = "\r\u{1B}[K"
    private static let drawn = Mutex(false)
}
