import CoreMetrics
import NIOConcurrencyHelpers
import Synchronization
import NIOCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The router's methods keyed by their UTF-8 bytes, so that looking up the method of a call does
/// not first build a `String` from the frame.
struct MethodTable: Sendable {
    /// A class, so that handing an entry around costs one reference count.
    final class Entry: Sendable {
        let name: String
        /// The name's UTF-8 bytes.
        let nameBytes: [UInt8]
        let handler: RPCMethodHandler
        /// The method's metrics; nil when the server records none.
        let metrics: MethodMetrics?

        init(name: String, handler: RPCMethodHandler, metrics: MethodMetrics?) {
            self.name = name
            self.nameBytes = Array(name.utf8)
            self.handler = handler
            self.metrics = metrics
        }

        /// Whether `length` bytes at `start` are this method's name.
        func isNamed(by start: UnsafeRawPointer, length: Int) -> Bool {
            guard length == nameBytes.count, length > 0 else { return false }
            return nameBytes.withUnsafeBytes { memcmp($0.baseAddress!, start, length) == 0 }
        }
    }

    private let entries: [ByteBuffer: Entry]
    /// The server's metrics; nil when it records none.
    let metrics: ServerMetrics?

    init(router: RPCRouter, metrics: ServerMetrics? = nil) {
        var entries: [ByteBuffer: Entry] = [:]
        for (name, handler) in router.handlers {
            entries[ByteBuffer(string: name)] = Entry(name: name, handler: handler, metrics: metrics?.method(name))
        }
        self.entries = entries
        self.metrics = metrics
    }

    func lookup(_ bytes: ByteBuffer) -> Entry? { entries[bytes] }
}

/// A process-wide counter (relaxed atomic increments: only uniqueness matters).
final class ManagedAtomicCounter: Sendable {
    private let value = Atomic<UInt64>(UInt64.random(in: 0..<(1 << 40)))
    func next() -> UInt64 { value.add(1, ordering: .relaxed).newValue }
}
