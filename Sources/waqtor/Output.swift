import Foundation
import WaqtorProto
import WaqtorRPC

/// Printing: human text, JSON on stdout, errors (with a hint of what to do) on stderr.
enum Output {
    enum ExitStatus {
        /// The command's check failed (e.g. the server is not ready).
        static let checkFailed: Int32 = 1
        /// A call failed with an RPC error.
        static let rpcError: Int32 = 2
        /// No credential to call with (not logged in, saved session expired, or saved for another server).
        static let notLoggedIn: Int32 = 3
        /// Invalid command line or input (e.g. no terminal to prompt for a password).
        static let usage: Int32 = 64
    }

    static func line(_ text: String) {
        print(text)
    }

    /// A line on stderr (after erasing a progress bar drawn there).
    static func stderr(_ text: String) {
        // What stdout holds goes first, so that `2>&1` keeps the order they were printed in.
        fflush(nil)
        ProgressBar.erase()
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
            self.error("cannot encode JSON output: \(error)")
        }
    }

    /// `error: …` on stderr, the word in red on a terminal (not with NO_COLOR).
    static func error(_ text: String) {
        stderr(Terminal.paint("error:", .boldRed, enabled: Terminal.stderrColours) + " " + text)
    }

    /// `hint: …` on stderr: what to do about the error just printed.
    static func hint(_ text: String) {
        stderr(Terminal.paint("hint:", .cyan, enabled: Terminal.stderrColours) + " " + text)
    }

    /// `warning: …` on stderr.
    static func warning(_ text: String) {
        stderr(Terminal.paint("warning:", .yellow, enabled: Terminal.stderrColours) + " " + text)
    }

    struct ErrorBody: Encodable {
        struct Inner: Encodable {
            var code: Int
            var status: String
            var message: String
            var hint: String?
            var retryAfterMilliseconds: Int64?
            var limit: String?
            enum CodingKeys: String, CodingKey {
                case code, status, message, hint, limit
                case retryAfterMilliseconds = "retry_after_ms"
            }
        }
        var error: Inner
    }

    /// `error: STATUS: message` on stderr, then `hint: …` saying what to do (``Hints``); with
    /// --json also `{"error":{…,"hint":…}}` on stdout.
    static func reportError(_ error: RPCError, json: Bool) {
        let retryAfter = Hints.retryAfter(error)
        let hint = Hints.hint(for: error, context: Hints.context)
        self.error("\(error.code.name): \(error.message)")
        if let hint { self.hint(hint) }
        if json {
            Self.json(ErrorBody(error: .init(
                code: Int(error.code.rawValue), status: error.code.name, message: error.message, hint: hint,
                retryAfterMilliseconds: retryAfter, limit: error.metadata["limit"])))
        }
    }

    /// A failure of the CLI itself: `error: message` (and `hint: …` when it has one) on stderr;
    /// with --json also `{"error":{"message":…,"exit_status":…,"hint":…}}` on stdout.
    static func reportFailure(_ failure: CLIFailure, json: Bool) {
        error(failure.message)
        if let hint = failure.hint { self.hint(hint) }
        if json {
            struct Body: Encodable {
                struct Inner: Encodable { var message: String; var exit_status: Int32; var hint: String? }
                var error: Inner
            }
            Self.json(Body(error: .init(message: failure.message, exit_status: failure.status, hint: failure.hint)))
        }
    }

    /// `850 ms`, `12 s`, `3 min 20 s`, `5 h 12 min` (rounded up to the second).
    static func retryDescription(milliseconds: Int64) -> String {
        if milliseconds < 1000 { return "\(max(0, milliseconds)) ms" }
        let seconds = (milliseconds + 999) / 1000
        if seconds < 60 { return "\(seconds) s" }
        if seconds >= 3600 {
            let minutes = (seconds % 3600) / 60
            return minutes == 0 ? "\(seconds / 3600) h" : "\(seconds / 3600) h \(minutes) min"
        }
        return seconds % 60 == 0 ? "\(seconds / 60) min" : "\(seconds / 60) min \(seconds % 60) s"
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
