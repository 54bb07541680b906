import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reading passwords: from stdin lines with `--password-stdin`, else prompted on the terminal with
/// echo off. Never from a command-line flag (it would show in `ps` and shell history).
enum PasswordInput {
    /// The next line of stdin, without its newline. Missing line: a failure naming `what`.
    static func stdinLine(_ what: String) throws(CLIFailure) -> String {
        guard let line = readLine(strippingNewline: true) else {
            throw CLIFailure(message: "--password-stdin: stdin ended before the \(what)", status: Output.ExitStatus.usage)
        }
        let value = line.hasSuffix("\r") ? String(line.dropLast()) : line
        guard !value.isEmpty else {
            throw CLIFailure(message: "--password-stdin: the \(what) is empty", status: Output.ExitStatus.usage)
        }
        return value
    }

    /// Prompts on /dev/tty with echo off. No terminal: a failure pointing to --password-stdin.
    static func prompt(_ prompt: String) throws(CLIFailure) -> String {
        let fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC)
        guard fd >= 0 else {
            throw CLIFailure(
                message: "no terminal to ask for the password: pipe it in with --password-stdin",
                status: Output.ExitStatus.usage)
        }
        defer { close(fd) }
        var original = termios()
        let haveTermios = tcgetattr(fd, &original) == 0
        if haveTermios {
            var silent = original
            silent.c_lflag &= ~tcflag_t(ECHO)
            silent.c_lflag |= tcflag_t(ECHONL)
            TerminalRestore.install(fd: fd, original: original)
            _ = tcsetattr(fd, TCSAFLUSH, &silent)
        }
        defer {
            if haveTermios {
                _ = tcsetattr(fd, TCSAFLUSH, &original)
                TerminalRestore.uninstall()
            }
        }
        _ = prompt.withCString { write(fd, $0, strlen($0)) }
        var bytes: [UInt8] = []
        var byte: UInt8 = 0
        while true {
            let n = read(fd, &byte, 1)
            if n < 0, errno == EINTR { continue }
            if n <= 0 || byte == UInt8(ascii: "\n") { break }
            bytes.append(byte)
        }
        if bytes.last == UInt8(ascii: "\r") { bytes.removeLast() }
        let value = String(decoding: bytes, as: UTF8.self)
        bytes.withUnsafeMutableBufferPointer { buffer in
            for index in buffer.indices { buffer[index] = 0 }
        }
        guard !value.isEmpty else { throw CLIFailure(message: "empty password", status: Output.ExitStatus.usage) }
        return value
    }

    /// A new password: prompted twice (they must match), or one stdin line.
    static func newPassword(fromStdin: Bool, what: String = "password") throws(CLIFailure) -> String {
        if fromStdin { return try stdinLine(what) }
        let first = try prompt("\(what.prefix(1).uppercased() + what.dropFirst()): ")
        let second = try prompt("Repeat the \(what): ")
        guard first == second else { throw CLIFailure(message: "the passwords do not match", status: Output.ExitStatus.usage) }
        return first
    }

    /// An existing password: prompted once, or one stdin line.
    static func existingPassword(fromStdin: Bool, what: String = "password") throws(CLIFailure) -> String {
        if fromStdin { return try stdinLine(what) }
        return try prompt("\(what.prefix(1).uppercased() + what.dropFirst()): ")
    }
}

/// Puts the terminal's echo back when Ctrl-C interrupts a password prompt.
private enum TerminalRestore {
    nonisolated(unsafe) static var fd: Int32 = -1
    nonisolated(unsafe) static var original = termios()

    static func install(fd: Int32, original: termios) {
        Self.original = original
        Self.fd = fd
        signal(SIGINT) { signalNumber in
            if TerminalRestore.fd >= 0 { _ = tcsetattr(TerminalRestore.fd, TCSAFLUSH, &TerminalRestore.original) }
            signal(signalNumber, SIG_DFL)
            raise(signalNumber)
        }
    }

    static func uninstall() {
        fd = -1
        signal(SIGINT, SIG_DFL)
    }
}
