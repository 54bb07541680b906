import NIOConcurrencyHelpers
import Synchronization
import NIOCore

/// The router's methods keyed by their UTF-8 bytes, so that looking up the method of a call does
/// not first build a `String` from the frame.
struct MethodTable: Sendable {
    /// A class, so that handing an entry around costs one reference count.
    final class Entry: Sendable {
        let name: String
        let handler: RPCMethodHandler

        init(name: String, handler: RPCMethodHandler) {
            self.name = name
            self.handler = handler
        }
    }

    private let entries: [ByteBuffer: Entry]

    init(router: RPCRouter) {
        var entries: [ByteBuffer: Entry] = [:]
        for (name, handler) in router.handlers {
            entries[ByteBuffer(string: name)] = Entry(name: name, handler: handler)
        }
        self.entries = entries
    }

    func lookup(_ bytes: ByteBuffer) -> Entry? { entries[bytes] }
}

/// A process-wide counter (relaxed atomic increments: only uniqueness matters).
final class ManagedAtomicCounter: Sendable {
    private let value = Atomic<UInt64>(UInt64.random(in: 0..<(1 << 40)))
    func next() -> UInt64 { value.add(1, ordering: .relaxed).newValue }
}
