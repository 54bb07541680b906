import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A child process for tests, started with `posix_spawn`: the part of Foundation's `Process` that
/// the tests use, without its hazards in a process running hundreds of tests at once.
///
/// Foundation's `Process.run()` on Linux emulates close-on-exec by listing the parent's open
/// descriptors and adding a close action for each. While other threads open and close descriptors,
/// that list goes stale: the spawn failed with EBADF, and once crashed the test process inside
/// `Process.run()`. Every descriptor it does not list (say, one opened a moment later) leaks into
/// the child, and a child that kept the test runner's standard output kept `swift test` waiting
/// for its end after the test process had died. Here the child gets exactly its three standard
/// descriptors: each is dup'ed from what is given (or /dev/null), then every descriptor from 3 up
/// is closed (glibc's `posix_spawn_file_actions_addclosefrom_np`).
///
/// `@unchecked Sendable`: the settings are written before ``run()`` only; `pid` and `status` are
/// under `condition`.
public final class ChildProcess: @unchecked Sendable {
    public var executableURL: URL?
    public var arguments: [String] = []
    /// The environment; nil: this process's.
    public var environment: [String: String]?
    public var currentDirectoryURL: URL?
    /// A `Pipe`, a `FileHandle`, or nil (or `FileHandle.nullDevice`) for /dev/null; unlike
    /// Foundation's, nil does not hand the child this process's own descriptor.
    public var standardInput: Any?
    public var standardOutput: Any?
    public var standardError: Any?
    /// Called once, on a thread of its own, when the child has exited.
    public var terminationHandler: (@Sendable (ChildProcess) -> Void)?

    private let condition = NSCondition()
    private var pid: pid_t = 0
    private var status: Int32?

    public init() {}

    private func locked<T>(_ body: () -> T) -> T {
        condition.lock()
        defer { condition.unlock() }
        return body()
    }

    public var processIdentifier: Int32 { locked { pid } }
    public var isRunning: Bool { locked { pid != 0 && status == nil } }

    /// The exit status, or 128 + the signal that ended it (as a shell says). Only once it ended.
    public var terminationStatus: Int32 {
        locked {
            guard let status else { preconditionFailure("the process has not ended") }
            return status
        }
    }

    public func terminate() { signal(SIGTERM) }

    public func signal(_ number: Int32) {
        let pid = locked { status == nil ? self.pid : 0 }
        if pid > 0 { kill(pid, number) }
    }

    /// Blocks the calling thread until the child has ended (call it off the cooperative pool).
    public func waitUntilExit() {
        condition.lock()
        while status == nil { condition.wait() }
        condition.unlock()
    }

    /// Starts the child in a process group of its own.
    public func run() throws {
        guard let executable = executableURL?.path else { throw TestSupportError("ChildProcess: no executableURL") }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        try check(posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP)), "posix_spawnattr_setflags")

        var opened: [Int32] = []
        defer { opened.forEach { close($0) } }
        func descriptor(_ setting: Any?, reading: Bool) throws -> Int32 {
            switch setting {
            case let pipe as Pipe:
                return reading ? pipe.fileHandleForReading.fileDescriptor : pipe.fileHandleForWriting.fileDescriptor
            case let handle as FileHandle where handle !== FileHandle.nullDevice:
                // (Foundation's null device handle has no descriptor of its own.)
                return handle.fileDescriptor
            default:
                let fd = open("/dev/null", reading ? O_RDONLY : O_WRONLY)
                guard fd >= 0 else { throw TestSupportError("cannot open /dev/null: errno \(errno)") }
                opened.append(fd)
                return fd
            }
        }
        let stdio = [
            try descriptor(standardInput, reading: true),
            try descriptor(standardOutput, reading: false),
            try descriptor(standardError, reading: false),
        ]
        // dup2 onto 0, 1 and 2 (a descriptor already in place is dup'ed to itself, which keeps it
        // open across exec), then everything from 3 up is closed.
        for (target, source) in stdio.enumerated() {
            try check(posix_spawn_file_actions_adddup2(&actions, source, Int32(target)), "adddup2")
        }
        try check(Self.addCloseFrom(&actions, 3), "addclosefrom_np")
        if let directory = currentDirectoryURL?.path {
            try check(directory.withCString { Self.addChdir(&actions, $0) }, "addchdir_np")
        }

        let environment = (self.environment ?? ProcessInfo.processInfo.environment).map { "\($0.key)=\($0.value)" }
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup($0) } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
        guard spawned == 0 else {
            throw TestSupportError("cannot start \(executable): \(String(cString: strerror(spawned)))")
        }
        locked { self.pid = pid }
        // As Foundation does: the parent's copies of the child's ends of pipes are closed, so that
        // a reader sees the end of the output when the child exits.
        if let pipe = standardInput as? Pipe { try? pipe.fileHandleForReading.close() }
        if let pipe = standardOutput as? Pipe { try? pipe.fileHandleForWriting.close() }
        if let pipe = standardError as? Pipe, (standardOutput as? Pipe) !== pipe { try? pipe.fileHandleForWriting.close() }

        let reaper = Thread { [self, pid] in
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
            let exitStatus = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
            condition.lock()
            self.status = exitStatus
            condition.broadcast()
            condition.unlock()
            terminationHandler?(self)
        }
        reaper.start()
    }

    private func check(_ result: Int32, _ what: String) throws {
        guard result == 0 else { throw TestSupportError("\(what): \(String(cString: strerror(result)))") }
    }

    // glibc's `_np` spawn actions (2.34 and 2.29), which the Glibc module does not import.
    private typealias AddCloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
    private typealias AddChdir = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, UnsafePointer<CChar>) -> Int32

    private static let addCloseFrom: AddCloseFrom = unsafeBitCast(symbol("posix_spawn_file_actions_addclosefrom_np"), to: AddCloseFrom.self)
    private static let addChdir: AddChdir = unsafeBitCast(symbol("posix_spawn_file_actions_addchdir_np"), to: AddChdir.self)

    private static func symbol(_ name: String) -> UnsafeMutableRawPointer {
        guard let pointer = dlsym(nil, name) else { fatalError("glibc has no \(name) (2.34 or later is needed)") }
        return pointer
    }
}
