import Crypto
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `chat media`'s file: written as its chunks arrive to `PATH.part` (so that memory stays small and
/// an interrupted download never looks complete), checked against the server's SHA-256, then
/// renamed to `PATH`. One task; not thread-safe.
final class MediaDownload {
    let path: String
    private var handle: FileHandle?
    private var hasher = SHA256()
    private(set) var size: Int64 = 0

    init(path: String) { self.path = path }

    var partPath: String { path + ".part" }

    func open() throws(CLIFailure) {
        unlink(partPath)
        guard FileManager.default.createFile(atPath: partPath, contents: nil), let handle = FileHandle(forWritingAtPath: partPath) else {
            throw CLIFailure(message: "cannot write \(partPath): \(String(cString: strerror(errno)))", status: 1,
                             hint: "check that the directory exists and is writable, or choose another -o")
        }
        self.handle = handle
    }

    func append(_ bytes: [UInt8]) throws(CLIFailure) {
        guard let handle else { return }
        do {
            try handle.write(contentsOf: bytes)
        } catch {
            throw CLIFailure(message: "cannot write \(partPath): \(error.localizedDescription)", status: 1, hint: "is the disk full?")
        }
        hasher.update(data: bytes)
        size += Int64(bytes.count)
    }

    /// Closes the file, checks it against `sha256` (hex; empty: not checked) and renames it.
    func finish(sha256 expected: String) throws(CLIFailure) {
        if handle == nil { try open() }  // a stream without parts: an empty file
        try? handle?.close()
        handle = nil
        let actual = hasher.finalize().map { String(format: "%02x", $0) }.joined()
        guard expected.isEmpty || expected.lowercased() == actual else {
            discard()
            throw CLIFailure(message: "the downloaded file's SHA-256 is \(actual), not the server's \(expected); nothing was saved",
                             status: 1, hint: "download it again")
        }
        guard rename(partPath, path) == 0 else {
            let reason = String(cString: strerror(errno))
            discard()
            throw CLIFailure(message: "cannot write \(path): \(reason)", status: 1)
        }
    }

    /// Removes the partial file (after a failure).
    func discard() {
        try? handle?.close()
        handle = nil
        unlink(partPath)
    }
}
