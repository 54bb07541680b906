import Foundation
import WaqtorCore
import WaqtorPostgres
import WaqtorTenants

/// An upload (ChatService.CreateUpload).
public struct MediaUpload: Sendable, Hashable {
    public var id: UploadID
    public var kind: ChatKind
    public var mimeType: String
    public var fileName: String
    public var sizeBytes: Int64
    public var sha256: String
    public var receivedBytes: Int64
    public var completed: Bool
    public var expiresAt: Date

    init?(row: PostgresRow) {
        guard let id: UploadID = row["id"].id() else { return nil }
        self.id = id
        kind = ChatKind(rawValue: row["kind"].string ?? "") ?? .document
        mimeType = row["mime_type"].string ?? ""
        fileName = row["file_name"].string ?? ""
        sizeBytes = row["size_bytes"].int64 ?? 0
        sha256 = row["sha256"].string ?? ""
        receivedBytes = row["received_bytes"].int64 ?? 0
        completed = !row["completed_at"].isNull
        expiresAt = row["expires_at"].date ?? Date()
    }
}

extension ChatStore {
    /// Starts an upload, valid for `lifetime`.
    public func createUpload(tenantID: TenantID, kind: ChatKind, mimeType: String, fileName: String, size: Int64, sha256: String,
                             lifetime: Duration = .seconds(86_400)) async throws -> MediaUpload {
        try await pool.storeTransaction(tenant: tenantID) { tx in
            guard let row = try await tx.query("""
                INSERT INTO media_uploads (tenant_id, kind, mime_type, file_name, size_bytes, sha256, expires_at)
                VALUES ($1, $2, $3, $4, $5, $6, now() + $7::bigint * interval '1 second') RETURNING *
                """, [.id(tenantID), .text(kind.rawValue), .text(mimeType), .text(fileName), .int(size), .text(sha256),
                      .int(lifetime.components.seconds)]).first, let upload = MediaUpload(row: row) else {
                throw ChatError(.unavailable, "the upload could not be started; try again")
            }
            return upload
        }
    }

    /// One upload (nil: none, another tenant's, or expired before completion).
    public func upload(tenantID: TenantID, id: UploadID) async throws -> MediaUpload? {
        try await pool.storeTransaction(tenant: tenantID) { tx in
            try await tx.query("SELECT * FROM media_uploads WHERE id = $1", [.id(id)]).first.flatMap(MediaUpload.init(row:))
        }
    }

    /// Runs `body` with the upload locked (chunks of one upload are written one at a time), and
    /// records the bytes received it returns.
    public func withUpload(tenantID: TenantID, id: UploadID, _ body: (MediaUpload) async throws -> Int64) async throws -> Int64? {
        try await pool.storeTransaction(tenant: tenantID) { tx in
            guard let upload = try await tx.query("SELECT * FROM media_uploads WHERE id = $1 FOR UPDATE", [.id(id)]).first.flatMap(MediaUpload.init(row:)) else {
                return nil
            }
            let received = try await body(upload)
            if received != upload.receivedBytes {
                _ = try await tx.query("UPDATE media_uploads SET received_bytes = $2 WHERE id = $1", [.id(id), .int(received)])
            }
            return received
        }
    }

    /// Completes an upload once: with the row locked, `finish` stores the file (it returns the
    /// sniffed type), then the file is recorded and the upload marked complete. A completed
    /// upload is answered as it is. Nil when there is no such upload.
    public func completeUpload(tenantID: TenantID, id: UploadID, finish: (MediaUpload) async throws -> String) async throws -> MediaUpload? {
        try await pool.storeTransaction(tenant: tenantID) { tx in
            guard let upload = try await tx.query("SELECT * FROM media_uploads WHERE id = $1 FOR UPDATE", [.id(id)]).first.flatMap(MediaUpload.init(row:)) else {
                return nil
            }
            if upload.completed { return upload }
            let mime = try await finish(upload)
            _ = try await tx.query("""
                INSERT INTO media_files (tenant_id, sha256, mime_type, size_bytes) VALUES ($1, $2, $3, $4)
                ON CONFLICT (tenant_id, sha256) DO NOTHING
                """, [.id(tenantID), .text(upload.sha256), .text(mime), .int(upload.sizeBytes)])
            _ = try await tx.query("UPDATE media_uploads SET completed_at = now() WHERE id = $1", [.id(id)])
            var done = upload
            done.completed = true
            return done
        }
    }
}

extension ChatStore {
    /// A completed upload as a reply's media (the stored file's type), or nil when there is none
    /// to send (unknown, another tenant's, not completed, or expired).
    public func uploadedMedia(tenantID: TenantID, id: UploadID) async throws -> ReplyMedia? {
        try await pool.storeTransaction(tenant: tenantID) { tx in
            guard let row = try await tx.query("""
                SELECT u.kind, u.file_name, u.sha256, f.mime_type, f.size_bytes FROM media_uploads u
                JOIN media_files f ON f.tenant_id = u.tenant_id AND f.sha256 = u.sha256
                WHERE u.id = $1 AND u.completed_at IS NOT NULL AND u.expires_at > now()
                """, [.id(id)]).first else { return nil }
            return ReplyMedia(kind: ChatKind(rawValue: row["kind"].string ?? "") ?? .document, mimeType: row["mime_type"].string ?? "",
                              fileName: row["file_name"].string ?? "", sha256: row["sha256"].string, sizeBytes: row["size_bytes"].int64)
        }
    }
}
