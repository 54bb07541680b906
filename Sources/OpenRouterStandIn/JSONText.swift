import Foundation

/// A JSON value written with its object keys in the order given: answers come out in OpenRouter's
/// key order, byte for byte the same on every run, which a test reading a raw body (or a person
/// reading a recording) can rely on. `JSONSerialization` would reorder them.
enum JSONText: Sendable {
    case null
    case bool(Bool)
    case int(Int)
    /// Written in fixed notation, at most 12 decimals, trailing zeros dropped (`0.0000003`): how
    /// OpenRouter writes costs and prices, never with an exponent.
    case decimal(Double)
    case string(String)
    case array([JSONText])
    case object([(String, JSONText)])

    /// The compact text.
    var text: String {
        var out = ""
        write(into: &out)
        return out
    }

    /// The compact text as UTF-8.
    var bytes: [UInt8] { Array(text.utf8) }

    private func write(into out: inout String) {
        switch self {
        case .null: out += "null"
        case .bool(let value): out += value ? "true" : "false"
        case .int(let value): out += String(value)
        case .decimal(let value): out += Self.decimalText(value)
        case .string(let value): Self.writeString(value, into: &out)
        case .array(let values):
            out += "["
            for (index, value) in values.enumerated() {
                if index > 0 { out += "," }
                value.write(into: &out)
            }
            out += "]"
        case .object(let members):
            out += "{"
            for (index, (key, value)) in members.enumerated() {
                if index > 0 { out += "," }
                Self.writeString(key, into: &out)
                out += ":"
                value.write(into: &out)
            }
            out += "}"
        }
    }

    static func decimalText(_ value: Double) -> String {
        guard value.isFinite else { return "0" }
        var text = String(format: "%.12f", value)
        if text.contains(".") {
            while text.hasSuffix("0") { text.removeLast() }
            if text.hasSuffix(".") { text.removeLast() }
        }
        return text == "-0" ? "0" : text
    }

    /// Escapes what JSON requires (quote, backslash, control characters) and nothing else, so
    /// non-ASCII text stays readable in bodies and recordings.
    private static func writeString(_ value: String, into out: inout String) {
        out += "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
    }

    /// Parses a request body; nil when it is not JSON. Values are what `JSONSerialization` gives
    /// (dictionaries, arrays, strings, numbers, `NSNull`).
    static func parse(_ bytes: [UInt8]) -> Any? {
        guard !bytes.isEmpty else { return nil }
        return try? JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed])
    }
}
