import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One profile of the credentials file: a server and, while logged in, the session on it.
struct StoredCredentials: Codable, Equatable {
    var server: String
    /// The session token; nil once logged out.
    var token: String?
    var expireTime: String?
    var email: String?

    enum CodingKeys: String, CodingKey {
        case server, token, email
        case expireTime = "expire_time"
    }

    /// Whether `expire_time` is set and already passed.
    var isExpired: Bool {
        guard let expireTime else { return false }
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let plain = ISO8601DateFormatter()
        guard let date = formatter.date(from: expireTime) ?? plain.date(from: expireTime) else { return false }
        return date <= Date()
    }

    var isLoggedIn: Bool { !(token ?? "").isEmpty }

    /// `active`, `expired` or `logged out`.
    var sessionState: String { !isLoggedIn ? "logged out" : isExpired ? "expired" : "active" }
}

/// The credentials file's content: profiles by name, and the current one.
///
/// Version 2 (written since profiles exist):
/// `{"current_profile":"default","profiles":{"default":{"server":…,"token":…,…}},"version":2}`.
/// Version 1, one login without a name (`{"server":…,"token":…,"email":…,"expire_time":…}`), is
/// still read, as the profile `default`; it is rewritten as version 2 on the next change.
struct CredentialFile: Equatable {
    static let defaultProfile = "default"

    var currentProfile: String?
    var profiles: [String: StoredCredentials] = [:]

    private struct Version2: Codable {
        var version: Int?
        var currentProfile: String?
        var profiles: [String: StoredCredentials]
        enum CodingKeys: String, CodingKey { case version, profiles, currentProfile = "current_profile" }
    }

    static func decode(_ data: Data) throws -> CredentialFile {
        let decoder = JSONDecoder()
        if let file = try? decoder.decode(Version2.self, from: data) {
            return CredentialFile(currentProfile: file.currentProfile, profiles: file.profiles)
        }
        let single = try decoder.decode(StoredCredentials.self, from: data)
        return CredentialFile(currentProfile: defaultProfile, profiles: [defaultProfile: single])
    }

    func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        return try encoder.encode(Version2(version: 2, currentProfile: currentProfile, profiles: profiles)) + Data("\n".utf8)
    }

    /// Profile names: a letter or digit, then letters, digits, `.`, `_` or `-`; at most 64.
    static func isValidName(_ name: String) -> Bool {
        guard let first = name.first, first.isASCII, first.isLetter || first.isNumber, name.count <= 64 else { return false }
        return name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "." || $0 == "_" || $0 == "-") }
    }
}

/// A failure of the CLI itself (not of a call): printed as `error: …` (and `hint: …`), exits
/// with `status`.
struct CLIFailure: Error {
    var message: String
    var status: Int32
    var hint: String? = nil
}

/// The credentials file: `$WAQTOR_CONFIG_DIR/credentials.json`, else
/// `$XDG_CONFIG_HOME/waqtor/credentials.json`, else `~/.config/waqtor/credentials.json`.
/// The directory is created with mode 0700 and the file with mode 0600 (set when they are created,
/// never loosened afterwards); the file is replaced atomically, and changes hold a lock so that two
/// commands changing different profiles at once both keep their change.
enum CredentialStore {
    static let configDirectoryVariable = "WAQTOR_CONFIG_DIR"
    static let fileName = "credentials.json"
    private static let warned = Mutex(false)

    static var directory: String {
        let environment = ProcessInfo.processInfo.environment
        if let dir = environment[configDirectoryVariable], !dir.isEmpty { return dir }
        if let xdg = environment["XDG_CONFIG_HOME"], !xdg.isEmpty { return xdg + "/waqtor" }
        let home = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()
        return home + "/.config/waqtor"
    }

    static var path: String { directory + "/" + fileName }

    /// The file's content, or nil when there is no file. A file readable by others is warned about
    /// (once per command).
    static func read() throws(CLIFailure) -> CredentialFile? {
        let path = self.path
        guard let data = FileManager.default.contents(atPath: path) else {
            if FileManager.default.fileExists(atPath: path) {
                throw CLIFailure(message: "cannot read \(path)", status: Output.ExitStatus.notLoggedIn)
            }
            return nil
        }
        var info = stat()
        if stat(path, &info) == 0, info.st_mode & 0o077 != 0, !warned.withLock({ let was = $0; $0 = true; return was }) {
            Output.warning("\(path) is readable by other users; run `chmod 600 \(path)`")
        }
        do {
            return try CredentialFile.decode(data)
        } catch {
            throw CLIFailure(
                message: "\(path) is not a valid credentials file: run `waqtor login` again",
                status: Output.ExitStatus.notLoggedIn,
                hint: "move it away (mv \(path) \(path).broken), then log in again: waqtor login")
        }
    }

    /// The file without failing: nil when it is missing or unreadable (for defaults and completions).
    static func peek() -> CredentialFile? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        return try? CredentialFile.decode(data)
    }

    /// Reads the file (empty when missing), lets `body` change it, and writes it back, holding the
    /// lock throughout.
    @discardableResult
    static func modify<T>(_ body: (inout CredentialFile) throws(CLIFailure) -> T) throws(CLIFailure) -> T {
        let directory = self.directory
        try makeDirectory(directory)
        let lock = open(directory + "/.credentials.lock", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard lock >= 0 else { throw failure("cannot create \(directory)/.credentials.lock") }
        defer { close(lock) }
        while flock(lock, LOCK_EX) != 0 {
            if errno != EINTR { throw failure("cannot lock \(directory)/.credentials.lock") }
        }
        var file = try read() ?? CredentialFile()
        let result = try body(&file)
        try replace(with: file)
        return result
    }

    /// Writes `file` to a new file created with mode 0600 and renames it over the old one.
    private static func replace(with file: CredentialFile) throws(CLIFailure) {
        let data: Data
        do { data = try file.encoded() } catch {
            throw CLIFailure(message: "cannot encode the credentials: \(error)", status: 1)
        }
        let temporary = "\(directory)/.\(fileName).\(getpid()).tmp"
        unlink(temporary)
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw failure("cannot create \(temporary)") }
        var ok = fchmod(fd, 0o600) == 0
        data.withUnsafeBytes { buffer in
            var offset = 0
            while ok, offset < buffer.count {
                let written = write(fd, buffer.baseAddress! + offset, buffer.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    ok = false
                } else {
                    offset += written
                }
            }
        }
        ok = ok && fsync(fd) == 0
        let writeErrno = errno
        close(fd)
        guard ok, rename(temporary, path) == 0 else {
            errno = ok ? errno : writeErrno
            let error = failure("cannot write \(path)")
            unlink(temporary)
            throw error
        }
    }

    private static func makeDirectory(_ directory: String) throws(CLIFailure) {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else {
                throw CLIFailure(message: "\(directory) exists and is not a directory", status: 1)
            }
            return
        }
        // mkdir -p, each missing directory created with mode 0700 (never wider, even briefly).
        var path = directory.hasPrefix("/") ? "" : "."
        for component in directory.split(separator: "/", omittingEmptySubsequences: true) {
            path += "/" + component
            if mkdir(path, 0o700) != 0, errno != EEXIST { throw failure("cannot create \(path)") }
        }
    }

    private static func failure(_ what: String) -> CLIFailure {
        CLIFailure(message: "\(what): \(String(cString: strerror(errno)))", status: 1)
    }
}
