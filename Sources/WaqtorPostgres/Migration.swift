import WaqtorSecurity
import Foundation

/// One schema migration: a numbered SQL script applied once, in order, in its own transaction.
public struct Migration: Sendable, Hashable {
    /// The number from the file name (`0001_…` is 1). Unique, increasing.
    public let version: Int
    /// The rest of the file name (`foundation`).
    public let name: String
    /// The SQL script; may hold several statements, but none that cannot run inside a
    /// transaction block (e.g. `CREATE INDEX CONCURRENTLY`).
    public let sql: String
    /// SHA-256 of the script's UTF-8 bytes, lowercase hex. A migration whose recorded checksum
    /// differs from this one stops ``Migrator/migrate()``.
    public let checksum: String

    /// Creates a migration from its parts.
    public init(version: Int, name: String, sql: String) {
        self.version = version
        self.name = name
        self.sql = sql
        self.checksum = Hashing.sha256Hex(Array(sql.utf8))
    }

    /// Reads every `NNNN_name.sql` file of a folder, sorted by version. Other files are ignored.
    public static func load(from directory: URL) throws(MigrationError) -> [Migration] {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        } catch {
            throw MigrationError(.invalidMigration, context: "cannot list \(directory.path)")
        }
        var migrations = [Migration]()
        for file in names where file.hasSuffix(".sql") {
            let stem = file.dropLast(4)
            guard let underscore = stem.firstIndex(of: "_"),
                  let version = Int(stem[..<underscore]),
                  stem[..<underscore].count == 4
            else {
                throw MigrationError(.invalidMigration, context: "\(file): expected NNNN_name.sql")
            }
            guard let data = FileManager.default.contents(atPath: directory.appendingPathComponent(file).path),
                  let sql = String(data: data, encoding: .utf8)
            else {
                throw MigrationError(.invalidMigration, context: "\(file): unreadable or not UTF-8")
            }
            migrations.append(Migration(version: version, name: String(stem[stem.index(after: underscore)...]), sql: sql))
        }
        return try validated(migrations)
    }

    public static func validated(_ migrations: [Migration]) throws(MigrationError) -> [Migration] {
        let sorted = migrations.sorted { $0.version < $1.version }
        for (a, b) in zip(sorted, sorted.dropFirst()) where a.version == b.version {
            throw MigrationError(.invalidMigration, version: a.version, context: "two migrations share version \(a.version)")
        }
        return sorted
    }
}

/// Why migrating failed.
public struct MigrationError: Error, Sendable, CustomStringConvertible {
    /// What went wrong.
    public enum Kind: Sendable, Hashable {
        /// An applied migration's text changed since it was applied. Never edit an applied
        /// migration: add a new one.
        case checksumMismatch
        /// A migration file or list is malformed (bad name, duplicate version, bad identifier).
        case invalidMigration
        /// The database refused something; see ``MigrationError/underlying``.
        case database
    }

    /// What went wrong.
    public var kind: Kind
    /// The migration concerned, if any.
    public var version: Int?
    /// The database error, for ``Kind/database``.
    public var underlying: PostgresError?
    /// A log-safe explanation.
    public var context: String?

    /// Creates an error.
    public init(_ kind: Kind, version: Int? = nil, underlying: PostgresError? = nil, context: String? = nil) {
        self.kind = kind
        self.version = version
        self.underlying = underlying
        self.context = context
    }

    /// A log-safe description.
    public var description: String {
        var text: String
        switch kind {
        case .checksumMismatch: text = "migration checksum mismatch (an applied migration was edited; restore it and add a new migration instead)"
        case .invalidMigration: text = "invalid migration"
        case .database: text = "migration failed"
        }
        if let version { text += " at version \(version)" }
        if let context { text += ": \(context)" }
        if let underlying { text += ": \(underlying)" }
        return text
    }
}
