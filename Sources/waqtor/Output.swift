import Foundation
import WaqtorProto
import WaqtorRPC

/// Printing: human text, JSON on stdout, errors on stderr.
enum Output {
    enum ExitStatus {
        /// The command's check failed (e.g. the server is not ready).
        static let checkFailed: Int32 = 1
        /// A call failed with an RPC error.
        static let rpcError: Int32 = 2
    }

    static func line(_ text: String) {
        print(text)
    }

    static func stderr(_ text: String) {
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }

    /// Prints `value` as one line of JSON on stdout.
    static func json<T: Encodable>(_ value: T) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        do {
            let data = try encoder.encode(value)
            print(String(decoding: data, as: UTF8.self))
        } catch {
            stderr("error: cannot encode JSON output: \(error)")
        }
    }

    struct ErrorBody: Encodable {
        struct Inner: Encodable {
            var code: Int
            var status: String
            var message: String
        }
        var error: Inner
    }

    /// `error: STATUS: message` on stderr; with --json also `{"error":{…}}` on stdout.
    static func reportError(_ error: RPCError, json: Bool) {
        stderr("error: \(error.code.name): \(error.message)")
        if json {
            Self.json(ErrorBody(error: .init(code: Int(error.code.rawValue), status: error.code.name, message: error.message)))
        }
    }

    /// RFC 3339 UTC with microseconds, e.g. `2025-01-31T12:34:56.123456Z`.
    static func rfc3339(_ timestamp: Google_Protobuf_Timestamp) -> String {
        var seconds = timestamp.seconds
        var nanos = Int64(timestamp.nanos)
        if nanos < 0 {
            seconds -= 1
            nanos += 1_000_000_000
        }
        let date = Date(timeIntervalSince1970: TimeInterval(seconds))
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        formatter.timeZone = TimeZone(identifier: "UTC")
        let base = formatter.string(from: date)  // ...:56Z
        let micros = String(nanos / 1000)
        return base.dropLast() + "." + String(repeating: "0", count: 6 - micros.count) + micros + "Z"
    }

    /// Microseconds with one decimal below 10 ms, e.g. `83.4 µs`, `12.345 ms`.
    static func duration(nanos: UInt64) -> String {
        if nanos < 10_000_000 {
            return String(format: "%.1f µs", Double(nanos) / 1000)
        }
        return String(format: "%.3f ms", Double(nanos) / 1_000_000)
    }
}
