import Foundation
import WaqtorPostgres

/// The product's database schema: every domain's SQL migrations, in one ordered list
/// (`Sources/WaqtorSchema/Migrations/NNNN_name.sql`), applied by the driver's `Migrator`. A
/// domain adds a file here with the next free number; an applied file is never edited (its
/// checksum is recorded).
public enum WaqtorSchema {
    /// Every migration, sorted by version.
    public static func migrations() throws(MigrationError) -> [Migration] {
        guard let directory = Bundle.module.url(forResource: "Migrations", withExtension: nil) else {
            throw MigrationError(.invalidMigration, context: "the Migrations resource folder is missing from the bundle")
        }
        return try Migration.load(from: directory)
    }
}
