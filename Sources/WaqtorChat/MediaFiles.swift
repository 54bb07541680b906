import Crypto
import Foundation
import NIOPosix
import WaqtorCore

/// The media files on the local file system: `<root>/<tenant>/<ab>/<sha256>`, one file per
/// content per tenant. Every file operation runs on a thread pool, never on an event loop or
/// Swift's cooperative pool.
public struct MediaFiles: Sendable {
    public let root: String
    let threads: NIOThreadPool

    public init(root: String, threads: NIOThreadPool = .singleton) {
        self.root = root
        self.threads = threads
    }

    /// The path of a tenant's file.
    public func path(tenantID: TenantID, sha256: String) -> String {
        "\(root)/\(tenantID.rawValue)/\(sha256.prefix(2))/\(sha256)"
    }

    /// The hex SHA-256 of bytes.
    public static func sha256(_ bytes: [UInt8]) -> String {
        SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
    }

    /// Writes bytes under their hash (atomically: a temporary file renamed; kept when the file is
    /// there already). Returns the hash.
    @discardableResult
    public func write(tenantID: TenantID, bytes: [UInt8]) async throws -> String {
        let hash = Self.sha256(bytes)
        let path = self.path(tenantID: tenantID, sha256: hash)
        try await threads.runIfActive {
            let manager = FileManager.default
            if manager.fileExists(atPath: path) { return }
            let directory = (path as NSString).deletingLastPathComponent
            try manager.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let temporary = directory + "/.tmp-" + UUID().uuidString
            guard manager.createFile(atPath: temporary, contents: Data(bytes)) else {
                throw ChatError(.unavailable, "the media file could not be written; try again")
            }
            if rename(temporary, path) != 0 {
                try? manager.removeItem(atPath: temporary)
                if !manager.fileExists(atPath: path) { throw ChatError(.unavailable, "the media file could not be stored; try again") }
            }
        }
        return hash
    }

    /// Reads a whole file.
    public func read(tenantID: TenantID, sha256: String) async throws -> [UInt8] {
        let path = self.path(tenantID: tenantID, sha256: sha256)
        return try await threads.runIfActive {
            guard let data = FileManager.default.contents(atPath: path) else {
                throw ChatError(.notFound, "the media file is missing on this server")
            }
            return [UInt8](data)
        }
    }

    /// Reads `count` bytes at `offset` of a file (fewer at its end).
    public func read(tenantID: TenantID, sha256: String, offset: Int64, count: Int) async throws -> [UInt8] {
        let path = self.path(tenantID: tenantID, sha256: sha256)
        return try await threads.runIfActive {
            guard let handle = FileHandle(forReadingAtPath: path) else { throw ChatError(.notFound, "the media file is missing on this server") }
            defer { try? handle.close() }
            try handle.seek(toOffset: UInt64(offset))
            return [UInt8](try handle.read(upToCount: count) ?? Data())
        }
    }

    /// Removes files (missing ones are fine).
    public func remove(tenantID: TenantID, sha256s: [String]) async {
        let paths = sha256s.map { path(tenantID: tenantID, sha256: $0) }
        _ = try? await threads.runIfActive {
            for path in paths { try? FileManager.default.removeItem(atPath: path) }
        }
    }
}

extension MediaFiles {
    /// Where an upload's bytes gather until it completes.
    public func uploadPath(tenantID: TenantID, upload: UploadID) -> String {
        "\(root)/\(tenantID.rawValue)/uploads/\(upload.rawValue)"
    }

    /// Writes a chunk at `offset` of an upload's file (created on the first chunk).
    public func writeChunk(tenantID: TenantID, upload: UploadID, offset: Int64, bytes: [UInt8]) async throws {
        let path = uploadPath(tenantID: tenantID, upload: upload)
        try await threads.runIfActive {
            let manager = FileManager.default
            if !manager.fileExists(atPath: path) {
                try manager.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
                guard manager.createFile(atPath: path, contents: nil) else { throw ChatError(.unavailable, "the upload could not be written; try again") }
            }
            guard let handle = FileHandle(forWritingAtPath: path) else { throw ChatError(.unavailable, "the upload could not be written; try again") }
            defer { try? handle.close() }
            try handle.truncate(atOffset: UInt64(offset))
            try handle.write(contentsOf: Data(bytes))
        }
    }

    /// Moves a finished upload into the store under its content hash, when that hash and size are
    /// the ones expected (else the bytes are discarded and an invalid-input error thrown). Returns
    /// the first bytes (for sniffing the type).
    public func finishUpload(tenantID: TenantID, upload: UploadID, sha256 expected: String, size expectedSize: Int64) async throws -> [UInt8] {
        let path = uploadPath(tenantID: tenantID, upload: upload)
        let (hash, head, size) = try await threads.runIfActive { () throws -> (String, [UInt8], Int64) in
            guard let handle = FileHandle(forReadingAtPath: path) else { throw ChatError(.failedPrecondition, "the upload's bytes are missing; upload it again") }
            defer { try? handle.close() }
            var hasher = SHA256()
            var head: [UInt8] = []
            var size: Int64 = 0
            while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty {
                if head.count < 64 { head += chunk.prefix(64 - head.count) }
                hasher.update(data: chunk)
                size += Int64(chunk.count)
            }
            return (hasher.finalize().map { String(format: "%02x", $0) }.joined(), head, size)
        }
        guard hash == expected, size == expectedSize else {
            await discardUpload(tenantID: tenantID, upload: upload)
            throw ChatError(.invalidInput, "the bytes received do not match sha256 and size_bytes (their SHA-256 is \(hash), their size \(size)); start a new upload")
        }
        let target = self.path(tenantID: tenantID, sha256: hash)
        try await threads.runIfActive {
            let manager = FileManager.default
            if manager.fileExists(atPath: target) {
                try? manager.removeItem(atPath: path)
                return
            }
            try manager.createDirectory(atPath: (target as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            if rename(path, target) != 0, !manager.fileExists(atPath: target) {
                throw ChatError(.unavailable, "the upload could not be stored; try again")
            }
        }
        return head
    }

    /// Removes an upload's partial file.
    public func discardUpload(tenantID: TenantID, upload: UploadID) async {
        let path = uploadPath(tenantID: tenantID, upload: upload)
        _ = try? await threads.runIfActive { try? FileManager.default.removeItem(atPath: path) }
    }
}
