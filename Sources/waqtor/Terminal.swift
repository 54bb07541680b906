import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What the output may assume about where it goes: a terminal's width, and whether colours are
/// welcome. The decisions are pure functions of their inputs (a file descriptor's answers, the
/// environment), so that they read the same in every command.
enum Terminal {
    /// Whether `fd` is a terminal (a person is likely reading it).
    static func isTerminal(_ fd: Int32) -> Bool { isatty(fd) == 1 }

    /// The width of the terminal on `fd`, or nil when `fd` is not a terminal: output that goes to
    /// a pipe or a file keeps its full width, for scripts.
    static func columns(_ fd: Int32, environment: [String: String] = ProcessInfo.processInfo.environment) -> Int? {
        guard isTerminal(fd) else { return nil }
        var size = winsize()
        if ioctl(fd, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 { return Int(size.ws_col) }
        return columns(environment: environment)
    }

    /// `$COLUMNS` when it is a positive number, else 80 (a terminal that does not say its size).
    static func columns(environment: [String: String]) -> Int {
        if let text = environment["COLUMNS"], let value = Int(text), value > 0 { return value }
        return 80
    }

    /// Colours only for a terminal, never when `NO_COLOR` is set to anything but the empty string
    /// (https://no-color.org), and not for `TERM=dumb`, which cannot show them.
    static func colours(isTerminal: Bool, environment: [String: String]) -> Bool {
        guard isTerminal else { return false }
        if let value = environment["NO_COLOR"], !value.isEmpty { return false }
        if environment["TERM"] == "dumb" { return false }
        return true
    }

    /// Whether stdout, and stderr, get colours: decided once per process.
    static let stdoutColours = colours(isTerminal: isTerminal(1), environment: ProcessInfo.processInfo.environment)
    static let stderrColours = colours(isTerminal: isTerminal(2), environment: ProcessInfo.processInfo.environment)

    /// The width tables are cut to: stdout's terminal width, nil when stdout is not a terminal.
    static var stdoutColumns: Int? { columns(1) }

    // MARK: - Styles

    /// The few styles the CLI uses (SGR parameters).
    enum Style: String, Sendable {
        case red = "31", green = "32", yellow = "33", cyan = "36", boldRed = "1;31", bold = "1", dim = "2"
    }

    /// `text` in `style` when `enabled`, else `text` unchanged.
    static func paint(_ text: String, _ style: Style?, enabled: Bool) -> String {
        guard enabled, let style, !text.isEmpty else { return text }
        return "\u{1B}[\(style.rawValue)m\(text)\u{1B}[0m"
    }

    /// The colour of a state or status word (of an instance, a campaign, a recipient, a message,
    /// a tenant, an upgrade request, a health check): green when it went well, yellow while it is
    /// on its way or waiting, red when it failed or is refused. Other words stay plain.
    static func statusStyle(_ word: String) -> Style? {
        switch word.lowercased() {
        case "open", "active", "ready", "running", "completed", "sent", "delivered", "read", "granted", "stored", "received":
            .green
        case "connecting", "pending", "queued", "paused", "scheduled", "needs-repairing", "close", "cancelled":
            .yellow
        case "failed", "banned", "refused", "not ready", "suspended", "rejected", "too_large", "deleted":
            .red
        default:
            nil
        }
    }

    // MARK: - Widths

    /// How many columns `text` takes on a terminal: East Asian wide characters and emoji take two,
    /// combining marks and zero-width characters none, the rest one. An approximation of wcwidth(3)
    /// that needs no locale (chat texts are full of emoji).
    static func displayWidth(_ text: String) -> Int {
        text.reduce(0) { $0 + width(of: $1) }
    }

    static func width(of character: Character) -> Int {
        guard let first = character.unicodeScalars.first else { return 0 }
        let properties = first.properties
        if character.unicodeScalars.count > 1, character.unicodeScalars.contains(where: { $0.value == 0xFE0F }) { return 2 }
        if properties.isEmojiPresentation { return 2 }
        switch properties.generalCategory {
        case .nonspacingMark, .enclosingMark, .format, .control: return 0
        default: break
        }
        switch first.value {
        case 0x1100...0x115F, 0x2E80...0x303E, 0x3041...0x33FF, 0x3400...0x4DBF, 0x4E00...0x9FFF, 0xA000...0xA4CF,
             0xAC00...0xD7A3, 0xF900...0xFAFF, 0xFE30...0xFE4F, 0xFF00...0xFF60, 0xFFE0...0xFFE6, 0x20000...0x3FFFD:
            return 2
        default:
            return 1
        }
    }

    /// `text` cut to at most `width` columns, ending in `…` when it was cut.
    static func truncate(_ text: String, to width: Int) -> String {
        guard displayWidth(text) > width else { return text }
        guard width > 1 else { return width == 1 ? "…" : "" }
        var out = ""
        var used = 0
        for character in text {
            let w = self.width(of: character)
            if used + w > width - 1 { break }
            out.append(character)
            used += w
        }
        return out + "…"
    }

    /// `text` padded with spaces to `width` columns.
    static func pad(_ text: String, to width: Int) -> String {
        let missing = width - displayWidth(text)
        return missing > 0 ? text + String(repeating: " ", count: missing) : text
    }
}
