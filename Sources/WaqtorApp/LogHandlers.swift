import Foundation
import Logging
import NIOConcurrencyHelpers

/// Writes one line per log event to standard error: a JSON object (`log.format = json`) or
/// `time level label: message key=value…` (`text`). Metadata (`request-id`, `method`, `peer`, …)
/// goes into the line as fields.
public struct WaqtorLogHandler: LogHandler {
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    private let label: String
    private let format: WaqtorConfiguration.LogFormat

    private static let lock = NIOLock()

    public init(label: String, level: Logger.Level, format: WaqtorConfiguration.LogFormat) {
        self.label = label
        self.logLevel = level
        self.format = format
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { $1 } }
        if let extra = event.metadata { merged.merge(extra) { $1 } }
        let time = Self.timestamp()
        let line: String
        switch format {
        case .json:
            var object: [String: Any] = [
                "time": time, "level": event.level.rawValue, "logger": label, "message": event.message.description,
            ]
            for (key, value) in merged { object[key] = Self.json(value) }
            let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
            line = String(decoding: data, as: UTF8.self)
        case .text:
            let fields = merged.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
            line = "\(time) \(event.level.rawValue.uppercased()) \(label): \(event.message)\(fields.isEmpty ? "" : " " + fields)"
        }
        Self.lock.withLock {
            FileHandle.standardError.write(Data((line + "\n").utf8))
        }
    }

    private static func json(_ value: Logger.Metadata.Value) -> Any {
        switch value {
        case .string(let string): return string
        case .stringConvertible(let convertible): return convertible.description
        case .array(let array): return array.map(json)
        case .dictionary(let dictionary): return dictionary.mapValues(json)
        }
    }

    private static func timestamp() -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: Date())
    }
}

/// Installs the process-wide log handler once (swift-log allows a single bootstrap).
public enum WaqtorLogging {
    private static let done = NIOLockedValueBox(false)

    public static func bootstrap(level: String, format: WaqtorConfiguration.LogFormat) {
        let first = done.withLockedValue { done -> Bool in defer { done = true }; return !done }
        guard first else { return }
        let parsed = Logger.Level(rawValue: level) ?? .info
        LoggingSystem.bootstrap { label in WaqtorLogHandler(label: label, level: parsed, format: format) }
    }
}
